"""The Voila app for every learner: axe-core at each step, the whole lesson by keyboard,
and what a projector shows at 1366 x 768 (screenshots of the four steps).

axe-core must find no critical or serious violation in glmteach's own widgets and HTML
(the page around them belongs to Voila and is only recorded, in artifacts/axe_summary.json).
"""

import re

import pytest

from . import _axe, _ui
from .test_voila import open_app

pytestmark = pytest.mark.e2e

PROJECTOR = {"width": 1366, "height": 768}

# What has the keyboard focus: tag, text, role, accessible name, and whether it is shown.
_FOCUS_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
               || (style.boxShadow && style.boxShadow !== 'none');
  return {tag: el.tagName.toLowerCase(), text: (el.textContent || '').trim().slice(0, 60),
          role: el.getAttribute('role') || '', name: el.getAttribute('aria-label') || '',
          type: el.getAttribute('type') || '', placeholder: el.getAttribute('placeholder') || '',
          value: el.value || '', ring: ring};
}
"""


def focused(page):
    return page.evaluate(_FOCUS_JS)


def tab_to(page, wanted, what, limit=120):
    """Press Tab until ``wanted(focus)``; every stop on the way must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = focused(page)
        if focus is None:
            continue
        assert focus["ring"], f"no visible focus indicator on {focus}"
        if wanted(focus):
            return focus
    raise AssertionError(f"{limit} Tabs and no {what}")


def is_button(text):
    return lambda f: f["tag"] == "button" and re.fullmatch(rf"\W*{re.escape(text)}", f["text"])


def feedback(page):
    return page.locator(".widget-html", has_text=re.compile("Right|Not quite|Pick|Type"))


def check_answer(page, expected_text="Right"):
    tab_to(page, is_button("Check"), "Check button")
    page.keyboard.press("Enter")
    _ui.wait_until(lambda: visible_text(page, expected_text), _ui.REACT_TIMEOUT,
                   f"the feedback '{expected_text}'", page=page)


def visible_text(page, text):
    return any(text in t for t in _ui.visible(page.locator(".widget-html")).all_inner_texts())


def answer_choice(page, index):
    """Tab into the radio group, then arrows (Space selects the first)."""
    tab_to(page, lambda f: f["tag"] == "input" and f["type"] == "radio", "an answer choice")
    page.keyboard.press("Space")
    for _ in range(index):
        page.keyboard.press("ArrowDown")
    page.wait_for_timeout(1000)  # the choice reaches the kernel before Check does


def answer_number(page, value):
    tab_to(page, lambda f: f["tag"] == "input" and f["placeholder"].startswith("your answer"),
           "the answer box")
    page.keyboard.type(f"{value}")
    page.wait_for_timeout(500)


def next_step(page):
    tab_to(page, is_button("Next"), "Next button")
    page.keyboard.press("Enter")
    page.wait_for_timeout(1500)


def audit_step(page, name):
    found = _axe.audit(page, name)
    severe = _axe.severe_ours(found)
    assert not severe, f"axe-core at {name}:\n{_axe.describe(severe)}"


def n_mask_voxels(page):
    text = " ".join(_ui.visible(page.locator(".widget-html")).all_inner_texts())
    return int(re.search(r"([\d,]+) voxels in the group mask", text).group(1).replace(",", ""))


def test_lesson_by_keyboard_alone_with_axe_at_every_step(voila_server, page):
    page.set_viewport_size(PROJECTOR)
    open_app(page, voila_server)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(_ui.ARTIFACTS / "voila_step1_1366x768.png"))
    audit_step(page, "voila step 1")
    answer_choice(page, 1)  # about 5%
    check_answer(page)
    next_step(page)

    page.screenshot(path=str(_ui.ARTIFACTS / "voila_step2_1366x768.png"))
    audit_step(page, "voila step 2")
    n_voxels = n_mask_voxels(page)
    answer_number(page, n_voxels)
    check_answer(page)
    next_step(page)

    page.screenshot(path=str(_ui.ARTIFACTS / "voila_step3_1366x768.png"))
    audit_step(page, "voila step 3")
    answer_number(page, f"{0.001 * n_voxels:.1f}")
    check_answer(page)
    next_step(page)

    counts = _ui.wait_for_permutation_counts(page)
    page.screenshot(path=str(_ui.ARTIFACTS / "voila_step4_1366x768.png"))
    audit_step(page, "voila step 4")
    tab_to(page, lambda f: f["role"] == "slider" and f["name"] == "alpha", "the alpha slider")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    _ui.wait_until(lambda: _ui.survivor_counts(page) != counts, _ui.REACT_TIMEOUT,
                   "the counts to follow the alpha slider", page=page)
    page.set_viewport_size({"width": 1366, "height": 1750})  # the whole step: README picture
    page.wait_for_timeout(1000)
    page.screenshot(path=str(_ui.ARTIFACTS / "voila_comparison_1366.png"))
    page.set_viewport_size(PROJECTOR)
    answer_choice(page, 2)
    tab_to(page, is_button("Check"), "Check button")
    page.keyboard.press("Enter")
    _ui.wait_until(lambda: visible_text(page, "Right") or visible_text(page, "Not quite"),
                   _ui.REACT_TIMEOUT, "feedback on the last question", page=page)
    _ui.assert_no_errors(page)


def test_report_is_legible_and_accessible(page, tmp_path):
    """``glmteach demo``'s report in Chromium: axe-core finds nothing critical or serious;
    a screenshot of the whole page is saved for the record."""
    import sys

    from glmteach import cli

    from .conftest import Server, free_port

    out = tmp_path / "report"
    assert cli.main(["demo", "--source", "embedded", "--out", str(out), "--n-perm",
                     "1000"]) == 0
    port = free_port()
    server = Server("report", [sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1"], port, out, None,
                    _ui.ARTIFACTS / "report_server.log").start()
    try:
        page.set_viewport_size({"width": 1366, "height": 768})
        page.goto(f"{server.url}/report.html")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(_ui.ARTIFACTS / "report_1366.png"), full_page=True)
        found = _axe.audit(page, "report")
        severe = [v for v in found if v["impact"] in _axe.SEVERE]
        assert not severe, f"axe-core on the report:\n{_axe.describe(severe)}"
    finally:
        server.stop()
