"""The culling configuration a deployment copies: what it says, where it is installed."""

import json
import os

from glmteach import jupyter_config
from glmteach.jupyter_config import CONFIG_DIR, SERVER_CONFIG


def test_server_and_voila_files_cull_the_same_idle_disconnected_kernels():
    server = json.loads(SERVER_CONFIG.read_text())
    voila = json.loads((CONFIG_DIR / "voila.json").read_text())
    assert server == voila
    cull = jupyter_config.culling()
    assert cull == server["MappingKernelManager"]
    assert 0 < cull["cull_interval"] <= cull["cull_idle_timeout"] <= 3600
    assert cull["cull_connected"] is False and cull["cull_busy"] is False


def test_lab_override_names_a_real_jupyterlab_setting():
    """The override must match JupyterLab's own schema, or JupyterLab ignores it."""
    import sys
    from pathlib import Path

    schema = Path(sys.prefix, "share", "jupyter", "lab", "schemas", "@jupyterlab",
                  "notebook-extension", "tracker.json")
    properties = json.loads(schema.read_text())["properties"]
    override = json.loads(jupyter_config.LAB_OVERRIDES.read_text())
    (settings,) = override.values()
    for name, value in settings.items():
        assert properties[name]["type"] == "boolean" and value is True


def test_jupyter_env_puts_the_folder_first_once():
    env = jupyter_config.jupyter_env({"JUPYTER_CONFIG_PATH": os.pathsep.join(["/a", "/b"])})
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(CONFIG_DIR), "/a", "/b"]
    again = jupyter_config.jupyter_env(env)
    assert again["JUPYTER_CONFIG_PATH"] == env["JUPYTER_CONFIG_PATH"]
    assert jupyter_config.jupyter_env({})["JUPYTER_CONFIG_PATH"] == str(CONFIG_DIR)


def test_install_writes_ours_and_keeps_someone_elses_voila_json(tmp_path):
    written = jupyter_config.install(tmp_path)
    etc = tmp_path / "etc" / "jupyter"
    lab = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "glmteach.json"
    assert sorted(written) == sorted([etc / "jupyter_server_config.d" / "glmteach.json",
                                      etc / "voila.json", lab, etc / "voila.py",
                                      etc / "jupyter_server_config.py"])
    assert json.loads(lab.read_text()) == {
        "@jupyterlab/notebook-extension:tracker": {"kernelShutdown": True}}
    (etc / "voila.json").write_text('{"VoilaConfiguration": {"theme": "dark"}}')
    (etc / "voila.py").write_text("# theirs\n")
    assert sorted(jupyter_config.install(tmp_path)) == sorted(
        [etc / "jupyter_server_config.d" / "glmteach.json", lab])
    assert "dark" in (etc / "voila.json").read_text()
    assert (etc / "voila.py").read_text() == "# theirs\n"


def test_python_config_files_set_the_xsrf_hook_for_voila():
    """Run each file as Jupyter's loader does; the hook reads the handler's xsrf_token."""
    from traitlets.config import Config

    for name in ("voila.py", "jupyter_server_config.py"):
        config = Config()
        source = (CONFIG_DIR / name).read_text()
        exec(compile(source, name, "exec"), {"get_config": lambda: config})
        assert config.VoilaConfiguration.prelaunch_hook is jupyter_config.set_xsrf_cookie

    class Handler:
        reads = 0

        @property
        def xsrf_token(self):
            Handler.reads += 1
            return b"token"

    assert jupyter_config.set_xsrf_cookie(Handler(), notebook={"cells": []}, cwd=".") is None
    assert Handler.reads == 1  # None: Voila keeps the notebook as it is


def test_release_freed_memory_gives_pages_back():
    """After a big temporary is freed, malloc_trim returns its pages (glibc Linux)."""
    import sys

    import psutil
    import pytest

    from glmteach._memory import release_freed_memory

    if not sys.platform.startswith("linux"):
        assert release_freed_memory() is False
        return
    process = psutil.Process()
    # many mid-size blocks (below mmap's threshold: they stay in malloc's heap when freed)
    blocks = [bytearray(64 * 1024) for _ in range(1500)]  # ~94 MB
    pin = blocks[-1]  # a live block at the top: free() alone cannot shrink the heap
    peak = process.memory_full_info().uss
    del blocks
    assert process.memory_full_info().uss > peak - 10 * 1024 * 1024  # still held
    if not release_freed_memory():
        pytest.skip("this C library has no malloc_trim (not glibc)")
    assert process.memory_full_info().uss < peak - 60 * 1024 * 1024
    del pin
