"""axe-core on every lesson notebook's rendered outputs in JupyterLab, as a learner runs it.

``test_jupyterlab.py`` audits notebook 03 after moving its sliders; here each other notebook
(the app included) is opened in one JupyterLab server, run top to bottom with Run All Cells,
checked for errors and audited with axe-core. Its kernel is shut down before the next one
opens, as the lesson's own JupyterLab setting does when a tab is closed. Violations in
JupyterLab's own interface are recorded (``artifacts/axe_summary.json``), not failed on:
glmteach does not control them.
"""

import pytest

from . import _axe, _ui
from .conftest import NOTEBOOKS
from ._ui import RENDER_TIMEOUT
from .test_jupyterlab import NOTEBOOK as AUDITED_WITH_SLIDERS
from .test_jupyterlab import kernel_idle, run_all_cells

pytestmark = pytest.mark.e2e

LESSON_NOTEBOOKS = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")
                          if path.name != AUDITED_WITH_SLIDERS)


def open_notebook(page, server, name):
    page.goto(f"{server.url}/lab/tree/{name}?reset&token={server.token}",
              timeout=RENDER_TIMEOUT * 1000, wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(
        state="visible", timeout=RENDER_TIMEOUT * 1000)
    _ui.wait_until(lambda: kernel_idle(page), RENDER_TIMEOUT,
                   f"{name}'s kernel to start and be idle", page=page)


def shut_down_kernels(page, server):
    """Every running session's kernel, through JupyterLab's REST API (as closing a tab)."""
    auth = {"Authorization": f"token {server.token}"}
    sessions = page.request.get(f"{server.url}/api/sessions", headers=auth).json()
    for session in sessions:
        page.request.delete(f"{server.url}/api/sessions/{session['id']}", headers=auth)


def test_every_notebook_has_no_severe_axe_violation_in_its_outputs(lab_server, page):
    assert LESSON_NOTEBOOKS, f"no notebooks found in {NOTEBOOKS}"
    problems = []
    for name in LESSON_NOTEBOOKS:
        open_notebook(page, lab_server, name)
        run_all_cells(page)
        _ui.assert_no_errors(page)
        assert page.locator(".jp-OutputArea-output").count(), f"{name} shows no output"
        severe = _axe.severe_ours(_axe.audit(page, f"jupyterlab {name}"))
        if severe:
            problems.append(f"{name}:\n{_axe.describe(severe)}")
        shut_down_kernels(page, lab_server)
    assert not problems, "axe-core, critical or serious, in glmteach's outputs:\n" + \
        "\n".join(problems)
