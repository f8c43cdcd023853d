"""The lesson notebooks: paired with their py:percent scripts, stored clean, thin, and each
one runs top to bottom offline (simulated cohort) without an error or a warning."""

from pathlib import Path
import re

import nbformat
import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = ["00_start_here", "01_fetch_and_mask", "02_one_sample_ttest",
            "03_parametric_vs_permutation", "04_clusters_and_tfce",
            "06_groups_and_covariates", "07_cluster_failure", "app"]
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
NOTEBOOK_TIMEOUT = 120  # s for a whole notebook, kernel start included

# Appended to each executed notebook: the lesson ran on the simulated cohort and the
# LessonState's background tasks reported no error (they show errors in panels, not as
# tracebacks, so a failure would otherwise pass unnoticed).
CHECK_CELL = """
_data = state.maps if "state" in dir() else maps
assert _data is not None and _data.is_simulated, _data
assert "state" not in dir() or not state.error, state.error
"""


def cells(notebook):
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_every_lesson_notebook_is_there():
    missing = set(EXPECTED) - {path.stem for path in NOTEBOOKS}
    assert not missing, f"missing notebooks: {sorted(missing)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_in_sync_with_its_script(path):
    script = path.with_suffix(".py")
    assert script.is_file(), f"{path.name} has no paired {script.name}"
    from_script = jupytext.read(script, fmt="py:percent")
    stored = jupytext.read(path)
    assert cells(stored) == cells(from_script), (
        f"{path.name} and {script.name} differ: run `jupytext --sync notebooks/*.py`")
    assert stored.metadata["kernelspec"]["name"] == "python3"


def test_pairing_is_declared():
    text = (NOTEBOOKS_DIR / "jupytext.toml").read_text()
    formats = re.search(r'^formats\s*=\s*"([^"]+)"', text, re.M)
    assert formats and set(formats[1].split(",")) == {"ipynb", "py:percent"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert "widgets" not in notebook.metadata  # no saved widget state either


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin(path):
    """Cells call glmteach: no function or class is defined in a notebook."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not re.search(r"^\s*(async\s+)?(def|class)\s", cell.source, re.M), \
                cell.source
            assert len(cell.source.splitlines()) <= 12, cell.source


@pytest.fixture
def offline_kernel_env(tmp_path, monkeypatch):
    """Kernels inherit this: an empty nilearn cache and no reachable network."""
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "nilearn_data"))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # a closed port: fails at once
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    return tmp_path


@pytest.mark.slow
@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_offline_without_errors(path, offline_kernel_env):
    notebook = nbformat.read(path, as_version=4)
    if "state =" in path.read_text() or "maps =" in path.read_text():
        notebook.cells.append(nbformat.v4.new_code_cell(CHECK_CELL))
    client = nbclient.NotebookClient(
        notebook, timeout=NOTEBOOK_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(offline_kernel_env)}})
    client.execute()  # raises CellExecutionError on the first error
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", cell.source
            assert not (output.output_type == "stream" and output.name == "stderr"), (
                f"stderr in cell {cell.source[:60]!r}: {output.text[:500]}")


BROKEN_CACHE_NOTEBOOKS = ["01_fetch_and_mask", "04_clusters_and_tfce", "app"]


@pytest.fixture
def broken_cache_kernel_env(offline_kernel_env):
    """A nilearn cache of 16 subjects whose index file is corrupt (and no network)."""
    from conftest import write_localizer_cache

    root = write_localizer_cache(offline_kernel_env / "nilearn_data", n_subjects=16)
    (root / "download").write_text("{corrupt")
    return offline_kernel_env


@pytest.mark.slow
@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
@pytest.mark.parametrize("name", BROKEN_CACHE_NOTEBOOKS)
def test_notebook_with_a_broken_cache_falls_back_without_errors(name, broken_cache_kernel_env):
    """Loading is the same code in every notebook: these cover the panel, the API and the
    app; the notice says why the SIMULATED cohort is used."""
    path = NOTEBOOKS_DIR / f"{name}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        CHECK_CELL + '\nprint("NOTICE:", _data.notice)'))
    client = nbclient.NotebookClient(
        notebook, timeout=NOTEBOOK_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(broken_cache_kernel_env)}})
    client.execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", cell.source
            assert not (output.output_type == "stream" and output.name == "stderr"), (
                f"stderr in cell {cell.source[:60]!r}: {output.text[:500]}")
            texts.append(output.get("text", ""))
    assert any("NOTICE:" in t and "cannot be read" in t for t in texts)
