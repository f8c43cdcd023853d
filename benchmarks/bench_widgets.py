"""Time the lesson panels' sliders: value change -> updated image and counts.

Runs a whole lesson headless on the default cohort (embedded, 16 subjects: fetch, mask,
t-test, the exact 32,768-flip null, all four panels), then sets each slider's value
programmatically the way a learner's browser does and times until the panel's PNG and
counts are updated. nilearn's ``plot_glass_brain`` (what a panel would otherwise redraw) is
timed in the same run. Peak memory (``resource.getrusage``) is printed; the medians and the
ratio come last.

    python benchmarks/bench_widgets.py [--repeats 15] [--save DIR]
"""

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def peak_rss_mb():
    """Peak resident memory of this process in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def time_setting(widget, values):
    """Seconds for each ``widget.value = v`` (observers redraw synchronously)."""
    times = []
    for value in values:
        start = time.perf_counter()
        widget.value = value
        times.append(time.perf_counter() - start)
    return times


def slider_values(repeats):
    rng = np.random.default_rng(0)
    return {
        "fetch: display |t| threshold": rng.uniform(1.5, 5.0, repeats).round(1),
        "t-test: uncorrected p": 10 ** rng.uniform(-6, -1.3, repeats).round(1),
        "comparison: alpha": rng.choice(np.arange(1, 21) / 100, repeats),
    }


def time_cursor(state, ttest, repeats):
    """Seconds per click on the t map at random in-mask voxels (what the browser sends:
    pixels of the picture), and per arrow key; every view of the cursor redraws: the
    slices, the readout and its strip plot, the crosshairs on every projection."""
    from glmteach import picking
    from glmteach.render.slices import projection_marks

    rng = np.random.default_rng(2)
    ijk = np.argwhere(state.masked.mask)
    width, height = picking.png_size(ttest.map_image.value)
    clicks = []
    for column in rng.choice(len(ijk), repeats, replace=False):
        marks = projection_marks(ttest._map, tuple(ijk[column]))
        fx, fy = marks[int(rng.integers(len(marks)))]
        start = time.perf_counter()
        ttest.map_image.click(fx * width, fy * height)
        clicks.append(time.perf_counter() - start)
    keys = []
    for key in rng.choice(list(picking.KEY_STEPS), repeats):
        start = time.perf_counter()
        ttest.map_image.press(str(key))
        keys.append(time.perf_counter() - start)
    return clicks, keys


def time_nilearn_glass_brain(img, repeats):
    from nilearn import plotting
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    times = []
    for threshold in np.linspace(3.0, 5.0, repeats):
        start = time.perf_counter()
        display = plotting.plot_glass_brain(img, threshold=threshold, plot_abs=False,
                                            colorbar=True)
        display.savefig(str(Path("/tmp") / "bench_glass_brain.png"), dpi=72)
        display.close()
        times.append(time.perf_counter() - start)
    plt.close("all")
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--save", type=Path, help="write every panel's PNGs there")
    parser.add_argument("--screenshot", type=Path,
                        help="compose a picture of the comparison panel (README) there")
    args = parser.parse_args()

    from glmteach.widgets import ComparisonPanel, FetchPanel, MaskPanel, TTestPanel
    from glmteach.widgets.state import LessonState

    state = LessonState(source="embedded", n_subjects=16)
    start = time.perf_counter()
    state.fetch()
    t_fetch = time.perf_counter() - start
    start = time.perf_counter()
    state.permute()
    t_perm = time.perf_counter() - start
    start = time.perf_counter()
    panels = [FetchPanel(state, False), MaskPanel(state, False), TTestPanel(state, False),
              ComparisonPanel(state, False)]
    t_panels = time.perf_counter() - start
    fetch, _, ttest, comparison = panels
    print(f"cohort: {state.maps.description}")
    print(f"fetch + mask + t-test: {t_fetch:.2f} s; permutations "
          f"({state.permutation.n_flips:,} flips, exact={state.permutation.exact}): "
          f"{t_perm:.2f} s; four panels drawn: {t_panels:.2f} s")

    values = slider_values(args.repeats)
    sliders = {"fetch: display |t| threshold": fetch.threshold_slider,
               "t-test: uncorrected p": ttest.p_slider,
               "comparison: alpha": comparison.alpha_slider}
    medians = {}
    for name, widget in sliders.items():
        medians[name] = statistics.median(time_setting(widget, values[name]))
    stops = [v for _, v in comparison.n_perm_slider.options]
    order = list(np.random.default_rng(1).permutation(stops * max(1, args.repeats // 4)))
    medians["comparison: n_perm"] = statistics.median(
        time_setting(comparison.n_perm_slider, [int(v) for v in order]))
    clicks, keys = time_cursor(state, ttest, args.repeats)
    medians["cursor: click on the t map"] = statistics.median(clicks)
    medians["cursor: arrow key"] = statistics.median(keys)

    if args.save:  # at the lesson's default settings, as a learner first sees them
        fetch.threshold_slider.value, ttest.p_slider.value = 2.0, 0.001
        comparison.alpha_slider.value, comparison.n_perm_slider.value = 0.10, stops[-1]
        save_pngs(panels, args.save)
    if args.screenshot:
        comparison.alpha_slider.value = 0.10
        comparison.n_perm_slider.value = stops[-1]
        compose_screenshot(comparison, args.screenshot)
    nilearn_times = time_nilearn_glass_brain(state.masked.to_img(state.ttest.z),
                                             max(3, args.repeats // 3))
    rss = peak_rss_mb()
    print(f"peak RSS of the whole lesson: {rss:,.0f} MiB (budget 1,024 MiB)")
    print(f"nilearn plot_glass_brain (one figure, PNG): median "
          f"{1000 * statistics.median(nilearn_times):.0f} ms")
    print("medians, value change -> updated image and counts (target <= 100 ms):")
    for name, seconds in medians.items():
        print(f"  {name:32s} {1000 * seconds:6.1f} ms")
    slowest = max(medians.values())
    print(f"ratio nilearn plot_glass_brain / slowest slider: "
          f"{statistics.median(nilearn_times) / slowest:.1f}x")


def save_pngs(panels, folder):
    """Every Image widget's bytes -> folder/<panel>_<image>.png."""
    folder.mkdir(parents=True, exist_ok=True)
    import ipywidgets

    for panel in panels:
        prefix = type(panel).__name__.replace("Panel", "").lower()
        for name, value in vars(panel).items():
            if isinstance(value, ipywidgets.Image) and value.value:
                (folder / f"{prefix}_{name}.png").write_bytes(value.value)


def compose_screenshot(panel, path):
    """A screenshot-like PNG of the comparison panel: controls, maps, null, table."""
    import re
    import textwrap
    from io import BytesIO

    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle
    from PIL import Image

    from glmteach.render import new_figure

    maps = Image.open(BytesIO(panel.maps_image.value))
    null = Image.open(BytesIO(panel.null_image.value))
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row) for row in
             re.findall(r"<tr>(.*?)</tr>", panel.table.value)]
    cells = [[re.sub(r"<[^>]+>", "", c).replace("&plusmn;", "±") for c in row] for row in cells]
    width = maps.width + null.width + 30
    note = textwrap.wrap(re.sub(r"<[^>]+>", "", panel.table.value.split("</table>")[1])
                         .replace("&lt;", "<").replace("&plusmn;", "±"), 150)
    top, table_h = 70, 22 * len(cells) + 16 * len(note) + 16
    height = top + maps.height + table_h
    fig = new_figure(width / 72, height / 72)
    state = panel.state

    def place(image, x, y):
        ax = fig.add_axes([x / width, 1 - (y + image.height) / height,
                           image.width / width, image.height / height])
        ax.imshow(np.asarray(image), interpolation="nearest")
        ax.set_axis_off()

    def slider(y, label, fraction, readout, extra=""):
        fy = 1 - y / height
        fig.text(15 / width, fy, label, fontsize=10, va="center")
        x0, x1 = 75 / width, 300 / width
        fig.add_artist(Line2D([x0, x1], [fy, fy], color="0.75", lw=4, solid_capstyle="round"))
        fig.add_artist(Line2D([x0, x0 + fraction * (x1 - x0)], [fy, fy], color="#1a73e8",
                              lw=4))
        fig.add_artist(Circle((x0 + fraction * (x1 - x0), fy), 6 / width, color="#1a73e8"))
        fig.text(310 / width, fy, readout, fontsize=10, va="center")
        if extra:
            fig.text(400 / width, fy, extra, fontsize=10, va="center", weight="bold")

    alpha_fraction = (state.alpha - 0.01) / 0.19
    slider(20, "alpha", alpha_fraction, f"{state.alpha:.2f}", f"FWER < {state.alpha:.0%}")
    labels = [label for label, _ in panel.n_perm_slider.options]
    index = labels.index(panel.n_perm_slider.label)
    slider(50, "n_perm", index / (len(labels) - 1), panel.n_perm_slider.label)
    fig.text(560 / width, 1 - 50 / height, " Run permutations ", fontsize=10,
             va="center", color="white", bbox=dict(facecolor="#1a73e8", edgecolor="none"))
    place(maps, 10, top)
    place(null, 20 + maps.width, top + (maps.height - null.height) // 2)
    y = top + maps.height + 16
    columns = [15, 175, 305, 420, 570]
    for r, row in enumerate(cells):
        for x, text in zip(columns, row):
            fig.text(x / width, 1 - (y + 22 * r) / height, text, fontsize=9, va="center",
                     weight="bold" if r == 0 else "normal")
    y += 22 * len(cells)
    for line in note:
        fig.text(15 / width, 1 - y / height, line, fontsize=8, va="center")
        y += 16
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=72)


if __name__ == "__main__":
    main()
