"""Jupyter configuration a class deployment can copy: idle-kernel culling.

This folder is a Jupyter configuration directory. ``glmteach lab``, the Binder image
(``binder/postBuild``) and the class load test (``benchmarks/bench_classroom.py``) put it on
``JUPYTER_CONFIG_PATH``, so that Jupyter Server (JupyterLab, and Voila as a server
extension, as on a JupyterHub or Binder) reads ``jupyter_server_config.d/glmteach.json``
and stand-alone ``voila`` reads ``voila.json``. Both hold the same kernel culling:

- a kernel that no browser tab is connected to (a closed notebook, a reloaded or closed
  Voila page: Voila's own shutdown request on unload fails, so every reload used to leave
  a 400-500 MB kernel behind) is shut down after ``cull_idle_timeout`` seconds without
  activity, checked every ``cull_interval`` seconds;
- a kernel with an open tab (``cull_connected: false``) or one that is computing
  (``cull_busy: false``) is never culled: a learner reading a page keeps their work.

A user's own ``~/.jupyter`` configuration still wins over these files.

Voila's own fix for the leak: when its page is closed or reloaded it asks the server to
shut the kernel down (a POST carrying the ``_xsrf`` cookie's value), but Voila never sets
that cookie, so the request fails ("'_xsrf' argument missing from POST") and the kernel
stays. ``jupyter_server_config.py`` (Voila as a server extension: JupyterHub, Binder) and
``voila.py`` (stand-alone ``voila``) set :func:`set_xsrf_cookie` as Voila's
``prelaunch_hook``: the page then gets the cookie, and the shutdown works.

``lab/overrides.d/glmteach.json`` is a JupyterLab setting: closing a notebook's tab shuts
its kernel down (JupyterLab's default keeps it running). :func:`install` puts it where
JupyterLab reads it (``PREFIX/share/jupyter/lab/settings``); with it and the culling, the
notebooks 00 -> 05 taken one after the other fit in Binder's 2 GB.
"""

import json
import os
from pathlib import Path

#: This folder (a Jupyter configuration directory).
CONFIG_DIR = Path(__file__).resolve().parent
#: The server configuration file that holds the culling settings.
SERVER_CONFIG = CONFIG_DIR / "jupyter_server_config.d" / "glmteach.json"
#: JupyterLab settings overrides (closing a notebook shuts its kernel down).
LAB_OVERRIDES = CONFIG_DIR / "lab" / "overrides.d" / "glmteach.json"


def set_xsrf_cookie(req_handler, notebook=None, cwd=None):
    """Voila ``prelaunch_hook``: give the page its ``_xsrf`` cookie (so that the page's
    shutdown request on unload is accepted); the notebook is left as it is."""
    req_handler.xsrf_token  # noqa: B018  (reading it sets the cookie on the response)


def culling():
    """The culling settings (``MappingKernelManager`` traits) as a dict."""
    return dict(json.loads(SERVER_CONFIG.read_text())["MappingKernelManager"])


def jupyter_env(environ=None):
    """A copy of ``environ`` (default: ``os.environ``) with this folder first on
    ``JUPYTER_CONFIG_PATH``. Settings given on a command line still override it."""
    env = dict(os.environ if environ is None else environ)
    old = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep)
           if p and p != str(CONFIG_DIR)]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(CONFIG_DIR)] + old)
    return env


def install(prefix):
    """Copy the configuration into ``prefix/etc/jupyter`` (an environment's own Jupyter
    configuration, read by every server started from it: what ``binder/postBuild`` does)
    and the JupyterLab override into ``prefix/share/jupyter/lab/settings/overrides.d``.

    Returns the files written. Existing ``voila.json``, ``voila.py`` or
    ``jupyter_server_config.py`` there are kept (single files that someone else may own);
    ``jupyter_server_config.d/glmteach.json`` and the JupyterLab override are ours.
    """
    import shutil

    target = Path(prefix) / "etc" / "jupyter"
    written = []
    lab = Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.d"
    for source in (SERVER_CONFIG, CONFIG_DIR / "voila.json", LAB_OVERRIDES,
                   CONFIG_DIR / "jupyter_server_config.py", CONFIG_DIR / "voila.py"):
        destination = (lab / source.name if source == LAB_OVERRIDES
                       else target / source.relative_to(CONFIG_DIR))
        if destination.parent == target and destination.exists():
            continue  # single files someone else may own: keep theirs
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        written.append(destination)
    return written
