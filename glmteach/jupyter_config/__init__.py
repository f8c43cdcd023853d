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

    Returns the files written. An existing ``voila.json`` there is kept (it is a single file
    that someone else may own); ``jupyter_server_config.d/glmteach.json`` is ours.
    """
    import shutil

    target = Path(prefix) / "etc" / "jupyter"
    written = []
    lab = Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.d"
    for source in (SERVER_CONFIG, CONFIG_DIR / "voila.json", LAB_OVERRIDES):
        destination = (lab / source.name if source == LAB_OVERRIDES
                       else target / source.relative_to(CONFIG_DIR))
        if destination.name == "voila.json" and destination.exists():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        written.append(destination)
    return written
