"""The Voila app as a learner uses it: Next to the comparison, then move alpha and n_perm."""

import time

import pytest

from . import _ui
from ._ui import RENDER_TIMEOUT

pytestmark = pytest.mark.e2e


def open_app(page, server):
    """Load the app; Voila runs the notebook before it answers (cold numba cache: slow)."""
    start = time.monotonic()
    page.goto(server.url + "/", timeout=RENDER_TIMEOUT * 1000, wait_until="domcontentloaded")
    left = RENDER_TIMEOUT - (time.monotonic() - start)
    _ui.wait_until(lambda: _ui.button(page, "Next").count() or _ui.widget_errors(page)
                   or _ui.tracebacks(page), left, "the lesson to render (a Next button)",
                   page=page)
    _ui.assert_no_errors(page)


def go_to_comparison(page, max_clicks=8):
    """Click Next, as a learner does, until the comparison's sliders show."""
    for clicks in range(max_clicks + 1):
        _ui.assert_no_errors(page)
        alpha, n_perm = _ui.comparison_sliders(page)
        if alpha.count() and n_perm.count():
            return alpha, n_perm
        next_ = _ui.button(page, "Next")
        if next_.count() and next_.first.is_enabled():
            next_.first.click()
        page.wait_for_timeout(1000)
    raise AssertionError(f"clicked Next {max_clicks} times and no comparison step (alpha and "
                         "n_perm sliders, a Run permutations button) showed")


def test_voila_comparison_sliders_update_counts_and_maps(voila_server, page):
    open_app(page, voila_server)
    alpha, n_perm = go_to_comparison(page)
    counts = _ui.wait_for_permutation_counts(page)
    assert any("Bonferroni" in name for name in counts), counts
    assert _ui.image_digests(page), "the comparison step shows no picture"
    _ui.save_screenshot(page, "voila_comparison_default.png", height=1100)  # README picture

    # alpha 0.10 -> 0.15 with the keyboard: every threshold drops, more voxels survive.
    old, new, (before, _), (after, _) = _ui.move_slider(
        page, alpha, "ArrowRight", 5,
        changed=lambda a, b: b[0] != a[0] and b[1] != a[1])
    assert all(after[m] >= before[m] for m in before), (
        f"alpha {old} -> {new}: a larger alpha cannot make fewer voxels survive: "
        f"{before} -> {after}")

    # n_perm six stops down (e.g. 10,000 -> 100 flips): only the permutation result moves.
    old, new, (before, _), (after, _) = _ui.move_slider(
        page, n_perm, "ArrowLeft", 6,
        changed=lambda a, b: (_ui.permutation_count(b[0]) != _ui.permutation_count(a[0])
                              and b[1] != a[1]))
    parametric = {m: n for m, n in before.items() if "ermutation" not in m}
    assert {m: after[m] for m in parametric} == parametric, (
        f"n_perm {old} -> {new} changed a parametric count: {before} -> {after}")
    _ui.assert_no_errors(page)
    _ui.save_screenshot(page, "voila_comparison.png", height=2000)
