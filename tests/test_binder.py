"""Binder: postBuild survives an offline build and warms numba's cache; the repo installs."""

import os
from pathlib import Path
import re
import subprocess
import sys

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = None

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def offline_env(tmp_path):
    """A fresh, network-less environment: temporary HOME, nilearn data and numba cache."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    for name in ("home", "nilearn_data", "numba_cache", "mpl"):
        (tmp_path / name).mkdir()
    env.update(
        HOME=str(tmp_path / "home"),
        NILEARN_DATA=str(tmp_path / "nilearn_data"),
        NUMBA_CACHE_DIR=str(tmp_path / "numba_cache"),
        MPLCONFIGDIR=str(tmp_path / "mpl"),
        NB_PYTHON_PREFIX=str(tmp_path / "prefix"),  # where repo2docker's Python lives
        # every HTTP(S) request goes to a closed local port: fails at once, like no network
        HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
        http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", NO_PROXY="",
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    )
    return env


NOTEBOOK_06_DESIGNS = """
import numpy as np
import pandas as pd
from glmteach.designs import KINDS, group_design
covariates = pd.DataFrame({"subject": [f"S{i:02d}" for i in range(16)],
                           "age": np.linspace(20.0, 50.0, 16)})
Y = np.random.default_rng(1).standard_normal((32, 300))
for kind in KINDS:
    group_design(kind, covariates).test(Y, n_perm=300, progress=lambda fraction: None)
"""


@pytest.mark.slow
def test_postbuild_offline_continues_and_warms_numba_cache(tmp_path):
    env = offline_env(tmp_path)
    result = subprocess.run(["bash", str(BINDER / "postBuild")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    fetch_errors = [line for line in result.stderr.splitlines()
                    if line.startswith("glmteach: error: ")]
    assert len(fetch_errors) == 1 and "localizer" in fetch_errors[0]
    assert "could not fetch the real maps" in result.stdout
    assert "SIMULATED embedded cohort" in result.stdout
    assert "numba cache warm" in result.stdout, result.stderr
    cached = list((tmp_path / "numba_cache").rglob("*.nbi"))
    assert cached, "postBuild left numba's cache empty"
    kernels = {path.name.split("-")[0] for path in cached}
    from glmteach._kernels import amx

    screen = "amx.screen" if amx.available() else "glm.screen"  # the one this CPU runs
    assert {screen, "glm.refine", "glm.q_to_t", "_rearrange._unrank_rows",
            "signflip.max_null_blocks"} <= kernels, sorted(kernels)
    # notebook 06's designs at the lesson's size (16 subjects) then compile nothing new
    lesson = subprocess.run(
        [sys.executable, "-c", NOTEBOOK_06_DESIGNS], cwd=ROOT, capture_output=True, text=True,
        env={**env, "NUMBA_DEBUG_CACHE": "1"}, timeout=300)
    assert lesson.returncode == 0, lesson.stderr
    assert "[cache] data loaded" in lesson.stdout + lesson.stderr
    assert "[cache] data saved" not in lesson.stdout + lesson.stderr, lesson.stdout
    assert not (tmp_path / "nilearn_data" / "brainomics_localizer" / "brainomics_data").exists()
    from glmteach.jupyter_config import CONFIG_DIR, LAB_OVERRIDES, SERVER_CONFIG
    installed = tmp_path / "prefix" / "etc" / "jupyter"
    assert (installed / "jupyter_server_config.d" / "glmteach.json").read_text() == \
        SERVER_CONFIG.read_text()
    assert (installed / "voila.json").read_text() == (CONFIG_DIR / "voila.json").read_text()
    lab = tmp_path / "prefix" / "share" / "jupyter" / "lab" / "settings" / "overrides.d"
    assert (lab / "glmteach.json").read_text() == LAB_OVERRIDES.read_text()


def test_postbuild_is_an_executable_bash_script():
    script = BINDER / "postBuild"
    assert script.read_text().startswith("#!/bin/bash\n")
    assert os.access(script, os.X_OK)
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_requirements_install_the_repository_with_the_app_extra():
    lines = [line.split("#")[0].strip() for line in
             (BINDER / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    local = [line for line in lines if re.match(r"^(-e\s+)?\.(\[|$)", line)]
    assert len(local) == 1, lines
    extras = re.findall(r"\[([^\]]+)\]", local[0])
    assert extras and "app" in extras[0].split(",")
    if tomllib is not None:
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        assert any(dep.startswith("voila") for dep in project["optional-dependencies"]["app"])


def test_runtime_python_satisfies_the_package():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)", runtime)
    assert match, runtime
    if tomllib is not None:
        requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
            "requires-python"]
        low = tuple(int(x) for x in re.search(r">=\s*(\d+)\.(\d+)", requires).groups())
        assert (int(match[1]), int(match[2])) >= low
