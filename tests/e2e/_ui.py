"""What a learner sees and does in the browser, for ipywidgets 8 pages (Voila, JupyterLab).

Widgets are found by what the learner reads (a slider's description, a button's text),
never by model ids. Only visible elements count: a lesson keeps hidden steps in the page.
"""

import re
import time
from pathlib import Path

#: Screenshots, server logs and browser logs (git-ignored).
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
RENDER_TIMEOUT = 180  # s for a lesson to render (cold numba cache: 20-60 s of compiling)
REACT_TIMEOUT = 60  # s for a slider move to show (the budget is 100 ms; CI machines are slow)

#: Text that means a widget could not be shown.
WIDGET_ERRORS = ("Error displaying widget", "model not found", "Failed to load model class",
                 "There was an error when executing cell")

# Per visible <img>: a hash of the bytes it shows (blob: URLs change on every update, even
# for the same picture, so the bytes are compared, not the src).
_IMAGE_DIGESTS_JS = """
async (root) => {
  const out = [];
  for (const img of root.querySelectorAll('img')) {
    if (!img.getClientRects().length || !img.src) continue;
    let bytes = null;
    for (let attempt = 0; bytes === null; attempt++) {
      try {  // an update may revoke the blob: URL meanwhile: read the new src again
        bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise(resolve => setTimeout(resolve, 100));
      }
    }
    let h = 2166136261 >>> 0;
    for (let i = 0; i < bytes.length; i++) { h ^= bytes[i]; h = Math.imul(h, 16777619) >>> 0; }
    out.push(bytes.length + ':' + h.toString(16));
  }
  return out;
}
"""

# Error outputs (tracebacks and stderr are rendered with this mime type) with a traceback.
_TRACEBACKS_JS = """
() => Array.from(document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
  .map(node => node.textContent)
  .filter(text => /Traceback|Error:/.test(text))
  .map(text => text.slice(0, 3000))
"""

# Per visible table with a "surviv..." column: {row label: number in that column}.
_SURVIVORS_JS = """
(root) => {
  const out = {};
  for (const table of root.querySelectorAll('table')) {
    if (!table.getClientRects().length) continue;
    const rows = Array.from(table.querySelectorAll('tr'));
    if (!rows.length) continue;
    const head = Array.from(rows[0].children).map(c => c.textContent);
    const col = head.findIndex(t => /surviv/i.test(t));
    if (col < 0) continue;
    for (const row of rows.slice(1)) {
      const cells = Array.from(row.children);
      if (cells.length <= col) continue;
      const digits = cells[col].textContent.replace(/[,\\s]/g, '').match(/^\\d+/);
      if (digits) out[cells[0].textContent.trim()] = parseInt(digits[0], 10);
    }
  }
  return out;
}
"""


def wait_until(condition, timeout, what, interval=0.25, page=None):
    """Poll ``condition()`` until it is truthy; its value, or AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        if page is not None:
            page.wait_for_timeout(interval * 1000)
        else:
            time.sleep(interval)


def wait_until_settled(read, timeout, what, quiet=1.5, page=None):
    """Wait until ``read()`` gives the same value for ``quiet`` seconds; return it.

    Key presses reach the kernel one by one: the page changes several times per move.
    """
    state = {"value": read(), "since": time.monotonic()}

    def settled():
        value = read()
        if value != state["value"]:
            state.update(value=value, since=time.monotonic())
        return time.monotonic() - state["since"] >= quiet

    wait_until(settled, timeout, f"{what} to settle", page=page)
    return state["value"]


def _element(scope):
    """A Locator as is; a Page as its body (JS functions get an element)."""
    return scope if hasattr(scope, "page") else scope.locator("body")


def visible(locator):
    return locator.locator("visible=true")


def slider(scope, description):
    """The visible ipywidgets slider whose description is ``description``."""
    page = getattr(scope, "page", scope)  # a Locator knows its page; a Page is one
    label = page.locator(".widget-label",
                         has_text=re.compile(rf"^\s*{re.escape(description)}\s*$"))
    return visible(scope.locator(".widget-slider").filter(has=label))


def comparison_sliders(scope):
    """(alpha, n_perm) sliders of the visible comparison panel (the one with a *Run
    permutations* button; other panels, e.g. the null world, have alpha sliders too)."""
    page = getattr(scope, "page", scope)
    run = page.locator("button", has_text=re.compile(r"^\W*Run permutations\s*$"))
    panel = visible(scope.locator(".widget-vbox").filter(has=slider(page, "alpha"))
                    .filter(has=run)).last
    return slider(panel, "alpha").first, slider(panel, "n_perm").first


def readout(slider_):
    """The value shown next to a slider (its readout text)."""
    return slider_.locator(".widget-readout").first.inner_text().strip()


def press_on_slider(slider_, key, times=1):
    """Focus the slider's handle (as Tab would) and press ``key`` ``times`` times."""
    handle = slider_.locator(".noUi-handle").first
    handle.focus()
    for _ in range(times):
        handle.press(key)


def button(scope, text):
    """Visible buttons whose text is ``text`` (an icon may come with it)."""
    return visible(scope.locator("button.jupyter-button, button.widget-button").filter(
        has_text=re.compile(rf"^\W*{re.escape(text)}\s*$")))


def idle(scope):
    """True when no progress row is running (every visible Stop button is disabled)."""
    stops = button(scope, "Stop")
    return all(not stops.nth(i).is_enabled() for i in range(stops.count()))


def wait_for_permutation_counts(scope, timeout=RENDER_TIMEOUT):
    """Survivor counts of every method, permutation max-t included, once nothing runs.

    If the permutations were not run, press *Run permutations* once, as a learner would.
    """
    page = getattr(scope, "page", scope)
    deadline = time.monotonic() + timeout
    clicked = False
    while True:
        counts = survivor_counts(scope)
        if any(re.search("permutation", name, re.I) for name in counts) and idle(scope):
            return counts
        run = button(scope, "Run permutations")
        if not clicked and run.count() and run.first.is_enabled() and idle(scope) and \
                "press Run permutations" in _element(scope).inner_text():
            run.first.click()
            clicked = True
        if time.monotonic() > deadline:
            raise AssertionError(f"no permutation survivor count within {timeout} s "
                                 f"(pressed Run permutations: {clicked}); table: {counts}")
        page.wait_for_timeout(500)


def permutation_count(counts):
    return next(n for name, n in counts.items() if re.search("permutation", name, re.I))


def survivor_counts(scope):
    """``{method: voxels surviving}`` read from the visible results table(s)."""
    return _element(scope).evaluate(_SURVIVORS_JS)


def image_digests(scope):
    """Digests of the visible pictures' bytes, in page order."""
    return _element(scope).evaluate(_IMAGE_DIGESTS_JS)


def view(scope):
    """What the learner sees of the results: (survivor counts, picture digests)."""
    return survivor_counts(scope), image_digests(scope)


def settled_view(scope, timeout=REACT_TIMEOUT):
    page = getattr(scope, "page", scope)
    return wait_until_settled(lambda: view(scope), timeout, "the results", page=page)


def move_slider(scope, slider_, key, times, changed):
    """Press ``key`` on the slider; wait until ``changed(before, after)`` and for the page
    to settle. Returns ``(old readout, new readout, before, after)`` (views)."""
    page = getattr(scope, "page", scope)
    before, old = settled_view(scope), readout(slider_)
    press_on_slider(slider_, key, times)
    new = readout(slider_)
    assert new != old, f"the slider did not move with {key} (still {old})"
    wait_until(lambda: changed(before, view(scope)), REACT_TIMEOUT,
               f"the results to change after {old} -> {new}", page=page)
    return old, new, before, settled_view(scope)


def widget_errors(page):
    """Visible texts that say a widget or a cell failed."""
    text = page.locator("body").inner_text()
    return [error for error in WIDGET_ERRORS if error.lower() in text.lower()]


def tracebacks(page):
    """Texts of the error outputs that hold a traceback."""
    return page.evaluate(_TRACEBACKS_JS)


def assert_no_errors(page):
    errors = widget_errors(page) + tracebacks(page)
    assert not errors, "the page shows errors:\n" + "\n---\n".join(errors)


def save_screenshot(page, name, height=2200, top=None):
    """``artifacts/<name>``: a tall viewport so the whole step shows (Lab and Voila scroll
    inside the page, so ``full_page`` would not help); ``top`` is scrolled to the top."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": height})
    if top is not None:
        top.evaluate("node => node.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / name))
