"""JupyterLab: the sign-flip explainer follows the cursor set by a click on the t map.

The explainer is not one of the Voila app's steps, so this runs a three-cell notebook
(the t-test panel and the explainer sharing one lesson state) in JupyterLab: a click on
the t map and an arrow key move the explainer's voxel, as they move the readout's.
"""

import re

import nbformat
import numpy as np
import pytest

from . import _ui
from ._ui import REACT_TIMEOUT, RENDER_TIMEOUT
from .test_jupyterlab import kernel_idle, run_all_cells
from .test_voila_click import click_fraction, expected  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e

NOTEBOOK = "click_explainer.ipynb"
CELLS = [
    "from glmteach.widgets import LessonState, TTestPanel\n"
    "from glmteach.widgets.labs import SignFlipExplainer\n"
    "state = LessonState(source='auto', n_subjects=16)\n"
    "state.start('fetch', background=False)",
    "TTestPanel(state)",
    "SignFlipExplainer(state, n_perm=200)",
]
_EXPLAINER = re.compile(r"Observed \|t\| = (\d+\.\d+) at \((-?\d+), (-?\d+), (-?\d+)\) mm")


def explainer_voxel(page):
    """(x, y, z) mm and |t| of the explainer's voxel, as its text says."""
    match = _EXPLAINER.search(page.locator("body").inner_text())
    if match is None:
        return None
    t, x, y, z = match.groups()
    return (int(x), int(y), int(z)), float(t)


def test_explainer_follows_clicks_and_keys(lab_server, page, expected):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, str(lab_server.root / NOTEBOOK))
    page.goto(f"{lab_server.url}/lab/tree/{NOTEBOOK}?reset&token={lab_server.token}",
              timeout=RENDER_TIMEOUT * 1000, wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(
        state="visible", timeout=RENDER_TIMEOUT * 1000)
    _ui.wait_until(lambda: kernel_idle(page), RENDER_TIMEOUT, "the kernel to be idle",
                   page=page)
    run_all_cells(page)
    _ui.assert_no_errors(page)
    start = _ui.wait_until(lambda: explainer_voxel(page), RENDER_TIMEOUT,
                           "the explainer's voxel", page=page)
    image = _ui.visible(page.locator("img[alt^='Glass brain of the group z map']")).first
    image.scroll_into_view_if_needed()
    # the cursor starts at the peak |t| (the left motor cortex, t < 0): click the right one
    click_fraction(image, expected["fraction"])
    clicked, _ = _ui.wait_until(lambda: (v := explainer_voxel(page)) and v != start and v,
                                REACT_TIMEOUT, f"the explainer to leave {start}", page=page)
    assert clicked[0] > 0, f"the right motor cortex has x > 0; the explainer is at {clicked}"
    assert np.all(np.abs(np.array(clicked) - expected["xyz"]) <= expected["voxel_mm"])
    page.keyboard.press("ArrowRight")
    moved, _ = _ui.wait_until(lambda: (v := explainer_voxel(page)) and v[0] != clicked and v,
                              REACT_TIMEOUT, "the explainer to move with ArrowRight", page=page)
    assert moved[0] - clicked[0] == pytest.approx(expected["voxel_mm"][0], abs=1)
    assert moved[1:] == clicked[1:]
    readout = _ui.visible(page.locator(".gt-readout")).first.inner_text()
    assert "({}, {}, {}) mm".format(*moved) in readout, (moved, readout)
    _ui.assert_no_errors(page)
