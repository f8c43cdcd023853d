"""Time the lesson's sliders in the browser: key press -> updated picture and counts.

Starts ``voila notebooks/app.ipynb`` (simulated cohort, offline), drives it in Chromium
with Playwright at 1366 x 768 and, for each slider, presses an arrow key on its handle
the way a learner does: a sweep, ``--repeats / 2`` presses one way (values the lesson has
not shown yet: nothing cached for them) then as many back (values seen on the way). In
the page, the key press and every later change (an image's new bytes loaded, a count or
title updated) are time-stamped with ``performance.now()``;
the update is done when nothing has changed for ``--quiet`` ms, and its time is that of
the last change. Also counted per move: the widget messages the kernel sent and their
bytes (what the browser had to receive and decode).

The in-kernel time of the same slider (value set -> PNG and counts ready, as
benchmarks/bench_widgets.py measures) and nilearn's ``plot_glass_brain`` are timed in
the same run; the ratio comes last.

    python benchmarks/bench_browser.py [--repeats 20] [--chromium /usr/bin/chromium]
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# Time-stamps in the page: the last key press and every change after it.
_PROBE_JS = """
() => {
  if (window.__probe) return;
  const probe = window.__probe = window.__probe_ws || {};
  Object.assign(probe, {key: 0, last: 0, changes: 0, first_message: 0, last_message: 0,
                        timeline: []});
  const touch = what => {
    probe.last = performance.now(); probe.changes += 1;
    probe.timeline.push([what, probe.last - probe.key, 0]);
  };
  document.addEventListener('keydown', () => {
    Object.assign(probe, {key: performance.now(), changes: 0, first_message: 0,
                          last_message: 0, timeline: []});
    probe.last = probe.key;
  }, true);
  document.addEventListener('load', event => {
    if (event.target.tagName === 'IMG') touch('picture ' + event.target.naturalWidth);
  }, true);
  new MutationObserver(records => {
    if (records.some(r => r.type !== 'attributes' || r.attributeName !== 'src')) {
      touch('text');
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true,
                             attributes: true, attributeFilter: ['src', 'title']});
}
"""

# Before the page's scripts: time-stamp each message from the kernel as it arrives (a
# listener added in the constructor runs before the page's own ``onmessage``).
_WEBSOCKET_JS = """
(() => {
  const probe = window.__probe_ws = {first_message: 0, last_message: 0};
  const Original = window.WebSocket;
  window.WebSocket = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', event => {
        const p = window.__probe || probe, now = performance.now();
        if (p.key && !p.first_message) p.first_message = now;
        p.last_message = now;
        const size = event.data.byteLength || event.data.size || event.data.length || 0;
        if (p.timeline) p.timeline.push(['message', now - p.key, size]);
      });
    }
  };
})();
"""

SLIDERS = [  # (step, slider description, keys to alternate)
    (1, "show |t| >", ("ArrowRight", "ArrowLeft")),
    (3, "p <", ("ArrowRight", "ArrowLeft")),
    (4, "alpha", ("ArrowRight", "ArrowLeft")),
    (4, "n_perm", ("ArrowLeft", "ArrowRight")),
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_voila(workdir):
    """``voila app.ipynb`` on a free port with empty nilearn/Jupyter dirs (offline cohort);
    also used by bench_click_browser.py."""
    env = dict(os.environ, GLMTEACH_OFFLINE="1", NILEARN_DATA=str(workdir / "nilearn"),
               JUPYTER_RUNTIME_DIR=str(workdir / "runtime"), MPLBACKEND="Agg",
               JUPYTER_CONFIG_DIR=str(workdir / "config"), JUPYTER_PLATFORM_DIRS="1",
               JUPYTER_DATA_DIR=str(workdir / "jupyter"),
               PATH=os.pathsep.join([str(Path(sys.executable).parent),  # this venv's kernel
                                     os.environ.get("PATH", "")]))
    port = free_port()
    log = open(workdir / "voila.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "voila", "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", str(REPO / "notebooks" / "app.ipynb")],
        cwd=REPO / "notebooks", env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError(f"voila did not start; see {workdir / 'voila.log'}")


def handle_of(page, description):
    label = page.locator(".widget-label", has_text=re.compile(
        rf"^\s*{re.escape(description)}\s*$"))
    slider = page.locator(".widget-slider").filter(has=label).locator("visible=true")
    return slider.first.locator(".noUi-handle").first


def go_to_step(page, step):
    for _ in range(step - 1):
        page.locator("button", has_text=re.compile(r"^\W*Next\s*$")).first.click()
        page.wait_for_timeout(1500)


def measure_moves(page, frames, description, keys, repeats, quiet_ms, timeline=0):
    """Per move: (ms from key press to the last change, messages, bytes received,
    ms to the first message, ms from the last message to the last change, whether the
    value is shown for the first time)."""
    handle = handle_of(page, description)
    handle.focus()
    out = []
    for k in range(repeats):
        frames.clear()
        handle.press(keys[0] if k < repeats // 2 else keys[1])  # a sweep and back
        while True:  # done when nothing changed for quiet_ms
            page.wait_for_timeout(quiet_ms / 2)
            probe = page.evaluate("() => ({...window.__probe, now: performance.now()})")
            if probe["now"] - probe["last"] >= quiet_ms:
                break
        if k < timeline:  # what arrived and changed when, ms after the key press
            print(f"  {description} move {k}: " + ", ".join(
                f"{what} {ms:.0f}" + (f" ({size / 1000:.0f} kB)" if size > 2000 else "")
                for what, ms, size in probe["timeline"]))
        if probe["changes"]:
            first = probe["first_message"] or probe["last"]
            last = max(probe["last_message"] or first, first)
            out.append((probe["last"] - probe["key"], len(frames), sum(frames),
                        first - probe["key"], probe["last"] - last, k < repeats // 2))
    return out


def browser_times(url, chromium, repeats, quiet_ms, timeline=0):
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.add_init_script(_WEBSOCKET_JS)
        frames = []
        page.on("websocket", lambda ws: ws.on(
            "framereceived", lambda payload: frames.append(len(payload))))
        page.goto(url, timeout=600_000)
        page.locator("button", has_text="Next").first.wait_for(timeout=600_000)
        page.evaluate(_PROBE_JS)
        step = 1
        for target, description, keys in SLIDERS:
            go_to_step(page, target - step + 1)
            step = target
            if target == 4:  # the permutations start on arrival: wait for them
                page.locator("td", has_text=re.compile("^Permutation max-t$")).first.wait_for(
                    timeout=600_000)
                page.wait_for_function(
                    "() => !/press Run permutations/.test(document.body.innerText)",
                    timeout=600_000)
                page.wait_for_timeout(3000)
            results[description] = measure_moves(page, frames, description, keys, repeats,
                                                 quiet_ms, timeline)
        browser.close()
    return results


def kernel_times(repeats):
    """In-kernel ms per slider value change (bench_widgets' measure) and nilearn's figure."""
    sys.path.insert(0, str(Path(__file__).parent))
    import bench_widgets as bw
    from glmteach.widgets import ComparisonPanel, FetchPanel, TTestPanel
    from glmteach.widgets.state import LessonState

    state = LessonState(source="embedded", n_subjects=16)
    state.fetch()
    fetch, ttest = FetchPanel(state, background=False), TTestPanel(state, background=False)
    comparison = ComparisonPanel(state, background=False)
    comparison.start("permute")
    values = bw.slider_values(repeats)
    n_perms = [v for _, v in comparison.n_perm_slider.options]
    out = {
        "show |t| >": bw.time_setting(fetch.threshold_slider,
                                      values["fetch: display |t| threshold"]),
        "p <": bw.time_setting(ttest.p_slider, values["t-test: uncorrected p"]),
        "alpha": bw.time_setting(comparison.alpha_slider, values["comparison: alpha"]),
        "n_perm": bw.time_setting(comparison.n_perm_slider,
                                  [n_perms[k % len(n_perms)] for k in range(repeats)]),
    }
    nilearn = bw.time_nilearn_glass_brain(state.masked.to_img(state.ttest.z), 5)
    return {k: 1000 * np.array(v) for k, v in out.items()}, 1000 * statistics.median(nilearn)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quiet", type=float, default=400.0,
                        help="ms without change that end an update")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--timeline", type=int, default=0, metavar="N",
                        help="print what arrived and changed when, for N moves per slider")
    args = parser.parse_args()

    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_voila(Path(tmp))
        try:
            browser = browser_times(url, args.chromium, args.repeats, args.quiet,
                                    args.timeline)
        finally:
            process.terminate()
            process.wait(15)
    kernel, nilearn_ms = kernel_times(args.repeats)
    print("where the browser time goes (medians): key press -> first message from the "
          "kernel (kernel + server), last message -> last change on the page (browser)")
    for description, moves in browser.items():
        print(f"  {description:<14} first message {np.median([m[3] for m in moves]):5.0f} ms"
              f", after the last message {np.median([m[4] for m in moves]):5.0f} ms")
    print("slider          browser median   p95   (n)   first visits   kernel median   "
          "messages   kB/move")
    worst = 0.0
    for description, moves in browser.items():
        ms = np.array([m[0] for m in moves])
        median, p95 = np.median(ms), np.percentile(ms, 95)
        worst = max(worst, median)
        fresh = [m[0] for m in moves if m[5]]
        print(f"{description:<14} {median:10.0f} ms {p95:6.0f} ms ({len(ms):2d}) "
              f"{np.median(fresh) if fresh else np.nan:9.0f} ms "
              f"{np.median(kernel[description]):10.0f} ms "
              f"{np.median([m[1] for m in moves]):10.0f} "
              f"{np.median([m[2] for m in moves]) / 1000:9.0f}")
    print(f"targets: median <= 100 ms, p95 <= 150 ms; load now {os.getloadavg()[0]:.2f}")
    print(f"nilearn plot_glass_brain (one figure, PNG): median {nilearn_ms:.0f} ms")
    print(f"ratio nilearn plot_glass_brain / slowest browser median: {nilearn_ms / worst:.1f}x")


if __name__ == "__main__":
    main()
