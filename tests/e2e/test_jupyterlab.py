"""The comparison notebook in JupyterLab: Run All Cells, the widgets show and react."""

import re

import pytest

from . import _axe, _ui
from ._ui import REACT_TIMEOUT, RENDER_TIMEOUT

pytestmark = pytest.mark.e2e

NOTEBOOK = "03_parametric_vs_permutation.ipynb"

# Code cells with source whose prompt is not "[n]:" (still queued, running or never run).
_UNFINISHED_CELLS_JS = """
() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell'))
  .filter(cell => (cell.querySelector('.cm-content')?.textContent || '').trim())
  .map(cell => (cell.querySelector('.jp-InputPrompt')?.textContent || '').trim())
  .filter(prompt => !/^\\[\\d+\\]:?$/.test(prompt))
"""


def open_notebook(page, server):
    """Open the notebook and wait until its kernel is idle."""
    page.goto(f"{server.url}/lab/tree/{NOTEBOOK}?reset&token={server.token}",
              timeout=RENDER_TIMEOUT * 1000, wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(
        state="visible", timeout=RENDER_TIMEOUT * 1000)
    _ui.wait_until(lambda: kernel_idle(page), RENDER_TIMEOUT,
                   "the notebook's kernel to start and be idle", page=page)


def kernel_idle(page):
    """True when the kernel is up and idle ("Python 3 (ipykernel) | Idle" in the status bar).

    A "Select Kernel" dialog, if any, is answered with the default kernel; any other
    dialog (e.g. an error opening the notebook) fails the test with its text.
    """
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and dialog.first.is_visible():
        text = dialog.first.inner_text()
        assert "Select Kernel" in text, f"JupyterLab shows a dialog: {text}"
        dialog.first.locator(".jp-mod-accept").click()
        return False
    status = page.locator(".jp-StatusBar-Widget").all_inner_texts()
    return any(re.search(r"\|\s*Idle\b", text) for text in status) and not page.locator(
        '.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="busy"]').count()


def run_all_cells(page):
    """Menu Run > Run All Cells, as a learner would, then wait for every cell to finish."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu .lm-Menu-itemLabel",
                 has_text=re.compile(r"^Run All Cells$")).first.click()
    _ui.wait_until(lambda: not page.evaluate(_UNFINISHED_CELLS_JS) and kernel_idle(page),
                   RENDER_TIMEOUT, "all cells to finish (every prompt [n], kernel idle)",
                   page=page)


def test_jupyterlab_run_all_renders_widgets_that_react(lab_server, page):
    open_notebook(page, lab_server)
    run_all_cells(page)
    _ui.assert_no_errors(page)

    alpha, _ = _ui.comparison_sliders(page)
    _ui.wait_until(lambda: alpha.count() or _ui.widget_errors(page), RENDER_TIMEOUT,
                   "the comparison panel's alpha slider to render", page=page)
    _ui.assert_no_errors(page)
    panel = page.locator(".jp-OutputArea-output").filter(has=alpha).last
    _ui.wait_for_permutation_counts(panel)
    assert _ui.image_digests(panel), "the comparison panel shows no picture"

    old, new, (before, _), (after, _) = _ui.move_slider(
        panel, alpha, "ArrowRight", 5, changed=lambda a, b: b[0] != a[0] and b[1] != a[1])
    assert all(after[m] >= before[m] for m in before), (
        f"alpha {old} -> {new}: a larger alpha cannot make fewer voxels survive: "
        f"{before} -> {after}")
    _ui.wait_until(lambda: kernel_idle(page), REACT_TIMEOUT, "the kernel to be idle",
                   page=page)
    _ui.assert_no_errors(page)
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has=alpha)
    _ui.save_screenshot(page, "jupyterlab_comparison.png", height=1800, top=cell)

    # axe-core on the notebook's rendered outputs (JupyterLab's own chrome is only recorded)
    severe = _axe.severe_ours(_axe.audit(page, f"jupyterlab {NOTEBOOK}"))
    assert not severe, f"axe-core in {NOTEBOOK}:\n{_axe.describe(severe)}"
