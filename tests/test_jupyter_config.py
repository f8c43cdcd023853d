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


def test_jupyter_env_puts_the_folder_first_once():
    env = jupyter_config.jupyter_env({"JUPYTER_CONFIG_PATH": os.pathsep.join(["/a", "/b"])})
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(CONFIG_DIR), "/a", "/b"]
    again = jupyter_config.jupyter_env(env)
    assert again["JUPYTER_CONFIG_PATH"] == env["JUPYTER_CONFIG_PATH"]
    assert jupyter_config.jupyter_env({})["JUPYTER_CONFIG_PATH"] == str(CONFIG_DIR)


def test_install_writes_ours_and_keeps_someone_elses_voila_json(tmp_path):
    written = jupyter_config.install(tmp_path)
    etc = tmp_path / "etc" / "jupyter"
    assert sorted(written) == sorted([etc / "jupyter_server_config.d" / "glmteach.json",
                                      etc / "voila.json"])
    (etc / "voila.json").write_text('{"VoilaConfiguration": {"theme": "dark"}}')
    assert jupyter_config.install(tmp_path) == [etc / "jupyter_server_config.d" / "glmteach.json"]
    assert "dark" in (etc / "voila.json").read_text()
