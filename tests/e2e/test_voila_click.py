"""Point at a voxel in the Voila app: click the t map, read the readout, move with the keys.

The expected voxel is computed headlessly from the same cohort and the same picture code
(the app's default: the simulated 16-subject cohort, GLMTEACH_OFFLINE=1): the positive
peak of the t map (the right motor cortex: left-hand presses) and where the axial
projection draws it. The sign-flip explainer is not part of the app: that it follows the
cursor is tested headlessly (tests/test_cursor.py).
"""

import re

import numpy as np
import pytest

from . import _ui
from ._ui import REACT_TIMEOUT
from .test_voila import open_app

pytestmark = pytest.mark.e2e

_READOUT = re.compile(r"\((-?\d+), (-?\d+), (-?\d+)\) mm.*?t = (-?\d+\.\d+)", re.S)


@pytest.fixture(scope="module")
def expected():
    """The positive t peak's voxel, its mm and where it is on the t-test step's picture."""
    from glmteach import picking
    from glmteach.render.slices import projection_marks, projection_voxel
    from glmteach.widgets import ComparisonPanel, LessonState, TTestPanel

    state = LessonState(source="embedded", n_subjects=16)
    state.fetch()
    panel = TTestPanel(state, background=False)
    masked, t = state.masked, state.ttest.t
    peak = np.argwhere(masked.mask)[int(np.argmax(t))]  # the positive peak
    figure = panel._map
    width, height = picking.png_size(panel.map_image.value)
    fx, fy = projection_marks(figure, tuple(peak))[2]  # its place on the axial view
    trough = np.argwhere(masked.mask)[int(np.argmin(t))]  # left motor cortex (t < 0)
    shown, _, _ = projection_voxel(figure, fx * width, fy * height)
    # the comparison step's maps (same layout with or without the permutations): the first
    # method's axial view
    comparison = ComparisonPanel(state, background=False)
    first_axial = projection_marks(comparison._maps, tuple(peak))[2]
    return dict(xyz=picking.voxel_to_mm(masked.affine, shown), fraction=(fx, fy),
                trough_fraction=projection_marks(figure, tuple(trough))[2],
                comparison_fraction=first_axial,
                voxel_mm=np.abs(np.diag(masked.affine)[:3]),
                peak_xyz=picking.voxel_to_mm(masked.affine, peak))


def go_to_step(page, title, max_clicks=6):
    """Click Next until the step titled ``title`` shows."""
    for _ in range(max_clicks + 1):
        _ui.assert_no_errors(page)
        if page.get_by_text(title, exact=False).locator("visible=true").count():
            return
        _ui.button(page, "Next").first.click()
        page.wait_for_timeout(800)
    raise AssertionError(f"no step titled {title!r} after {max_clicks} clicks on Next")


def readout(page):
    """(x, y, z) mm and t shown by the visible readout, or None."""
    node = _ui.visible(page.locator(".gt-readout"))
    if not node.count():
        return None
    match = _READOUT.search(node.first.inner_text())
    if match is None:
        return None
    x, y, z, t = match.groups()
    return (int(x), int(y), int(z)), float(t)


def settled_readout(page):
    """The readout once it stopped changing (each key press or click updates it)."""
    return _ui.wait_until_settled(lambda: readout(page), REACT_TIMEOUT, "the readout",
                                  quiet=1.0, page=page)


def click_fraction(image, fraction):
    box = image.bounding_box()
    image.click(position={"x": fraction[0] * box["width"], "y": fraction[1] * box["height"]})


def test_click_t_map_then_comparison_maps(voila_server, page, expected):
    """Step 3: click the t map, read the readout, move with a key; step 4: click a
    method's map (one app load for both: the app takes ~30 s to start)."""
    open_app(page, voila_server)
    go_to_step(page, "3. The one-sample t-test")
    image = _ui.visible(page.locator("img[alt^='Glass brain of the group z map']")).first
    _ui.wait_until(lambda: image.get_attribute("src"), REACT_TIMEOUT, "the t map picture",
                   page=page)
    _ui.wait_until(lambda: readout(page), REACT_TIMEOUT, "the voxel readout", page=page)
    # first the left motor cortex (negative t), then the right one (positive t)
    click_fraction(image, expected["trough_fraction"])
    before = _ui.wait_until(lambda: (r := readout(page)) and r[1] < 0 and r, REACT_TIMEOUT,
                            "a negative t after a click on the left motor cortex", page=page)
    click_fraction(image, expected["fraction"])
    _ui.wait_until(lambda: (r := readout(page)) and r != before, REACT_TIMEOUT,
                   f"the readout to move from {before}", page=page)
    xyz, t = settled_readout(page)
    assert t > 0, f"the right motor cortex has a positive t; the readout says t = {t}"
    assert xyz[0] > 0, f"right hemisphere: x > 0, got {xyz}"
    # a pixel is about a voxel here: the browser's click may land on a neighbour
    assert np.all(np.abs(np.array(xyz) - expected["xyz"]) <= expected["voxel_mm"]), (
        f"clicked the t peak's pixel ({expected['xyz']} mm), the readout shows {xyz}")
    # the keyboard: the clicked picture has the focus; ArrowRight moves x one voxel
    page.keyboard.press("ArrowRight")
    _ui.wait_until(lambda: (r := readout(page)) and r[0] != xyz, REACT_TIMEOUT,
                   "the readout to move with ArrowRight", page=page)
    moved, _ = settled_readout(page)
    assert moved[0] - xyz[0] == pytest.approx(expected["voxel_mm"][0], abs=1), (xyz, moved)
    assert moved[1:] == xyz[1:]
    # the slices show the cursor too
    slices = _ui.visible(page.locator("img[alt^='slices through the cursor']"))
    assert slices.count() == 1
    _ui.assert_no_errors(page)
    _ui.save_screenshot(page, "voila_click_ttest.png", height=1600)
    page.set_viewport_size({"width": 1400, "height": 1000})
    check_comparison_step(page, expected)


def check_comparison_step(page, expected):
    """Step 4: click a method's map at the peak; the readout lists every method there."""
    go_to_step(page, "4. Family-wise error")
    counts = _ui.wait_for_permutation_counts(page)
    assert counts
    image = _ui.visible(page.locator("img[alt^='Glass brains of -log10 corrected p']")).first
    _ui.wait_until(lambda: readout(page), REACT_TIMEOUT, "the readout", page=page)
    start = settled_readout(page)
    image.focus()  # keyboard first: four voxels down, away from wherever the cursor was
    for _ in range(4):
        page.keyboard.press("PageDown")
    _ui.wait_until(lambda: (r := readout(page)) and r[0][2] < start[0][2], REACT_TIMEOUT,
                   "Page Down to move the cursor down", page=page)
    before = settled_readout(page)
    assert before[0][2] == start[0][2] - 4 * expected["voxel_mm"][2], (start, before)
    click_fraction(image, expected["comparison_fraction"])  # the t peak, Bonferroni's map
    _ui.wait_until(lambda: (r := readout(page)) and r != before, REACT_TIMEOUT,
                   f"the readout to move from {before}", page=page)
    xyz, t = settled_readout(page)
    assert t > 0 and np.all(np.abs(np.array(xyz) - expected["peak_xyz"])
                            <= expected["voxel_mm"]), (xyz, t, expected["peak_xyz"])
    text = _ui.visible(page.locator(".gt-readout")).first.inner_text()
    for method in ("Bonferroni", "Random field theory", "Permutation max-t", "FDR"):
        assert method in text, f"{method} missing from the readout: {text}"
    _ui.assert_no_errors(page)
    _ui.save_screenshot(page, "voila_click_comparison.png", height=1700)
