"""Two labs beside the lesson: the null world and the sign-flip explainer.

- :class:`NullWorldPanel` runs :func:`glmteach.nullworld.run_null_world` in the lesson's
  mask and plots each method's empirical family-wise error rate with its binomial interval
  as the studies finish; the alpha slider re-scores stored results (no re-simulation).
- :class:`SignFlipExplainer` walks through the permutation test's sign flips at one voxel
  (:class:`glmteach.explainer.FlipExplainer`): the subjects' values, which ones a flip
  negates, and the voxel and max-|t| nulls building up.

Both observe a :class:`~glmteach.widgets.state.LessonState` for the data and follow the
panels' habits: figures created once and updated in place, PNG bytes in
``ipywidgets.Image``, errors as one line in the panel, ``background=False`` for tests.
"""

import html
import textwrap
import threading
import time

import ipywidgets as widgets
import numpy as np

from .. import nullworld, palette, render
from .._memory import release_freed_memory
from .._noise import noise_model
from ..rft import CDT_CHOICES, cdt_from_p, check_cdt_p
from ._helpers import Panel, png_image
from .state import error_message

COLORS = {m: palette.color(m) for m in nullworld.METHODS}
NOISE_OPTIONS = [("Gaussian ACF", "gaussian"), ("long-tailed ACF", "long_tailed")]
CDT_OPTIONS = [(f"p < {p:g}", p) for p in CDT_CHOICES]
_REDRAW_SECONDS = 0.3  # at most ~3 pictures a second while a run streams results


class _Stopped(Exception):
    """Raised in a progress callback when the learner pressed Stop."""


class _Worker:
    """Runs one job at a time (in a thread when ``background``); Stop sets a flag."""

    def __init__(self, background):
        self.background, self.thread = background, None
        self.stop_flag = threading.Event()
        self.draw_lock = threading.Lock()  # the worker and the sliders both redraw

    @property
    def busy(self):
        return self.thread is not None and self.thread.is_alive()

    def run(self, job):
        self.stop_flag.clear()
        def job_then_release():
            try:
                job()
            finally:
                release_freed_memory()  # the run's temporaries: back to the class server

        if not self.background:
            job_then_release()
            return
        self.thread = threading.Thread(target=job_then_release, daemon=True,
                                       name="glmteach-lab")
        self.thread.start()

    def wait(self, timeout=None):
        if self.thread is not None:
            self.thread.join(timeout)


# ====================================================================== the null world
class NullWorldPanel(Panel):
    """Does each method really keep the family-wise error rate at alpha?

    Parameters
    ----------
    state : LessonState, optional
        Gives the mask (``state.masked``; masked on first run if needed) and the seed.
    n_experiments, n_perm : int
        Starting values of the sliders (200 studies x 1,000 flips on the lesson's mask:
        ~15-20 s on 2 cores).
    methods : sequence of str
        Methods of :func:`glmteach.nullworld.run_null_world`.
    background : bool
        Run in a thread (False: in the calling thread, for tests and scripts).
    noise : {"gaussian", "long_tailed"}
        Starting noise model (:mod:`glmteach._noise`).
    cdt_p : {0.01, 0.005, 0.001}
        Starting cluster-defining threshold, an uncorrected p (a t is refused).
    """

    title = "Lab: the null world"

    def __init__(self, state=None, n_experiments=200, n_perm=1000,
                 methods=nullworld.DEFAULT_METHODS, background=True, noise="gaussian",
                 cdt_p=0.001):
        super().__init__(state, background)
        s = self.state
        self.methods = nullworld._check_methods(methods)
        noise_model(noise, 8.0, (3.0, 3.0, 3.0))  # a one-line error for an unknown model
        if check_cdt_p(cdt_p) not in CDT_CHOICES:  # a t is refused with its own message
            raise ValueError(f"cdt_p must be one of {', '.join(map(str, CDT_CHOICES))}, got "
                             f"{cdt_p!r}; try cdt_p=0.001.")
        self.noise_buttons = widgets.ToggleButtons(options=NOISE_OPTIONS, value=noise,
                                                   description="noise",
                                                   style={"button_width": "130px"})
        self.cdt_dropdown = widgets.Dropdown(options=CDT_OPTIONS, value=cdt_p,
                                             description="cluster CDT",
                                             layout=widgets.Layout(width="200px"))
        self.cdt_label = widgets.HTML()
        self.acf_image = png_image()
        self.acf_figure = ACFFigure()
        self.smoothing_slider = widgets.FloatSlider(
            value=s.smoothing_fwhm, min=0.0, max=24.0, step=1.0, description="FWHM (mm)",
            continuous_update=False)
        self.alpha_slider = widgets.FloatSlider(value=0.05, min=0.01, max=0.20, step=0.01,
                                                description="alpha", readout_format=".2f")
        self.experiments_slider = widgets.IntSlider(
            value=n_experiments, min=10, max=1000, step=10, description="studies",
            continuous_update=False)
        self.n_perm_slider = widgets.SelectionSlider(
            options=[100, 200, 500, 1000, 2000], value=n_perm, description="n_perm")
        self.run_button = widgets.Button(description="Run null studies", icon="play",
                                         button_style="primary",
                                         layout=widgets.Layout(width="180px"))
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True,
                                          layout=widgets.Layout(width="80px"))
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="studies",
                                         layout=widgets.Layout(width="320px"))
        self.extra = {m: widgets.Checkbox(value=m in self.methods, indent=False,
                                          description=label,
                                          layout=widgets.Layout(width="auto"))
                      for m, label in (("rft_cluster", "RFT cluster extent"),
                                       ("cluster", "permutation cluster size (slower)"),
                                       ("tfce", "permutation TFCE (much slower)"))}
        self.status, self.explanation = widgets.HTML(), widgets.HTML()
        self.image = png_image()
        self.result = None
        self._worker = _Worker(background)
        self._last_draw = 0.0
        self.figure = FWERFigure(self.methods)
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self._worker.stop_flag.set())
        self.alpha_slider.observe(lambda _: self.redraw(), names="value")
        for slider in (self.smoothing_slider, self.experiments_slider, self.n_perm_slider,
                       self.noise_buttons, self.cdt_dropdown):
            slider.observe(self._on_settings, names="value")
        for control in (self.smoothing_slider, self.noise_buttons, self.cdt_dropdown):
            control.observe(lambda _: self._draw_noise(), names="value")
        self.widget.children = [
            widgets.HBox([self.smoothing_slider, self.alpha_slider]),
            widgets.HBox([self.noise_buttons]),
            widgets.HBox([self.experiments_slider, self.n_perm_slider]),
            widgets.HBox([widgets.HTML("also cluster inference:"), *self.extra.values()]),
            widgets.HBox([self.cdt_dropdown, self.cdt_label]),
            widgets.HBox([self.run_button, self.bar, self.stop_button]),
            self.message, self.status, self.image, self.explanation, self.acf_image]
        self._draw_noise()
        self.redraw()

    def _draw_noise(self):
        """The CDT as the t it means, and the chosen noise's autocorrelation (no simulation)."""
        n_subjects = self._n_subjects()
        df = n_subjects - 1
        cdt_p = float(self.cdt_dropdown.value)
        stat = "|t|" if self.state.two_sided else "t"
        self.cdt_label.value = (f"<span style='font-size:13px'>clusters: voxels with "
                                f"uncorrected p &lt; {cdt_p:g}, i.e. {stat} &gt; "
                                f"{cdt_from_p(cdt_p, df, self.state.two_sided):.2f} "
                                f"(df = {df})</span>")
        model = noise_model(self.noise_buttons.value, float(self.smoothing_slider.value),
                            (3.0, 3.0, 3.0) if self.state.masked is None
                            else self.state.masked.voxel_size_mm)
        with self._worker.draw_lock:
            self.acf_figure.update(model)
            self.acf_image.value = self.acf_figure.to_png()

    def _n_subjects(self):
        masked = self.state.masked
        return int(masked.n_subjects) if masked is not None else 16

    # -------------------------------------------------------------- running
    def run(self):
        """What the Run button does: simulate with the sliders' settings."""
        if self._worker.busy:
            self.show("null studies are still running; wait or press Stop.", "warning")
            return
        self.show("")
        methods = nullworld._check_methods(
            [m for m in self.methods if m not in self.extra]
            + [m for m, box in self.extra.items() if box.value])
        if methods != self.methods:
            self.methods, self.figure = methods, FWERFigure(methods)
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.bar.value, self.bar.bar_style = 0.0, "info"
        self._worker.run(self._job)

    def wait(self, timeout=None):
        """Block until a background run has finished."""
        self._worker.wait(timeout)

    def _job(self):
        try:
            masked = self.state.masked if self.state.masked is not None else self.state.mask()
            self.result = None
            nullworld.run_null_world(
                masked.mask, n_subjects=masked.n_subjects,
                smoothing_fwhm=float(self.smoothing_slider.value),
                n_experiments=int(self.experiments_slider.value),
                n_perm=int(self.n_perm_slider.value), alpha=float(self.alpha_slider.value),
                methods=self.methods, random_state=self.state.random_state,
                progress=self._progress, voxel_size_mm=masked.voxel_size_mm,
                two_sided=self.state.two_sided, noise=self.noise_buttons.value,
                cdt_p=float(self.cdt_dropdown.value))
        except _Stopped:
            self.show(f"stopped after {self.result.n_done} studies; the plot shows those.",
                      "warning")
        except Exception as exc:  # the learner sees one line, never a traceback
            self.show(error_message(exc), "error")
        finally:
            self.run_button.disabled, self.stop_button.disabled = False, True
            self.bar.bar_style = ""
            self.redraw()

    def _progress(self, fraction, partial):
        self.result = partial
        self.bar.value = fraction
        if time.perf_counter() - self._last_draw > _REDRAW_SECONDS or fraction >= 1.0:
            self.redraw()
        if self._worker.stop_flag.is_set():
            raise _Stopped()

    def _on_settings(self, change):
        if self.result is not None and not self._worker.busy:
            self.show("settings changed: press Run to simulate new studies "
                      "(the plot still shows the last run).", "info")

    # -------------------------------------------------------------- drawing
    def redraw(self):
        """Re-score the stored studies at the slider's alpha and redraw (no simulation)."""
        alpha = float(self.alpha_slider.value)
        with self._worker.draw_lock:
            self.figure.update(self.result, alpha)
            self.image.value = self.figure.to_png()
        self._last_draw = time.perf_counter()
        self.status.value = _status_html(self.result, alpha)
        self.explanation.value = _lesson_html(self.result, alpha)


def _status_html(result, alpha):
    if result is None:
        return "<i>Press Run: each study is 16 subjects of pure noise (no effect anywhere).</i>"
    rate = result.n_done / max(result.elapsed, 1e-9)
    thresholds = result.thresholds(alpha)
    sizes = {m: float(np.median(v)) if v.size else np.nan
             for m, v in result.cluster_thresholds(alpha).items()}
    rows = "".join(
        f"<tr><td>{nullworld.LABELS[m]}</td><td><b>{e.rate:.1%}</b></td>"
        f"<td>[{e.lo:.1%}, {e.hi:.1%}]</td><td>{e.n_false} / {e.n_experiments}</td>"
        f"<td>{_threshold_text(thresholds[m], sizes.get(m, np.nan))}</td></tr>"
        for m, e in result.fwer(alpha).items())
    smooth = result.estimated_fwhm()
    estimate = (f"; estimated FWHM {np.mean(smooth):.1f} mm (assuming a Gaussian ACF, as "
                f"RFT does)" if np.isfinite(smooth).all() else "")
    clusters = (f"; clusters at p &lt; {result.cdt_p:g} ({'|t|' if result.two_sided else 't'}"
                f" &gt; {result.cdt_t:.2f})"
                if any(m in result.methods for m in nullworld.CLUSTER_METHODS) else "")
    noise = html.escape(result.noise_description or
                        f"noise smoothed at {result.smoothing_fwhm:g} mm")
    return (f"<div style='font-size:13px'>{result.n_done} of {result.n_experiments} null "
            f"studies ({result.n_subjects} subjects, {result.n_voxels:,} voxels, {noise}"
            f"{estimate}{clusters}; {result.n_perm:,} flips each) in {result.elapsed:.1f} s "
            f"({rate:.1f} studies/s).</div>"
            "<table class='gt-table'><tr><th>method</th><th>FWER</th><th>95% CI</th>"
            "<th>studies with a false positive</th><th>typical threshold: |t|, or "
            "cluster size</th></tr>"
            f"{rows}</table>")


def _threshold_text(value, size=np.nan):
    if np.isfinite(size):
        return f"{size:.0f} voxels"
    return f"{value:.2f}" if np.isfinite(value) else "-"


def _lesson_html(result, alpha):
    if result is None or result.n_done < 10:
        return ""
    fwer = result.fwer(alpha)
    lines = []
    if "uncorrected" in fwer:
        lines.append(f"Uncorrected p &lt; {alpha:g} at {result.n_voxels:,} voxels finds "
                     f"something in {fwer['uncorrected'].rate:.0%} of studies of pure noise.")
    from .. import narrative  # data claims are generated from the studies run

    if "bonferroni" in fwer:
        lines.append("Bonferroni needs no assumption (alpha / number of voxels bounds the "
                     "FWER); on smooth data it is conservative. "
                     + narrative.fwer_verdict("Bonferroni", fwer["bonferroni"], alpha))
    if "rft" in fwer:
        lines.append("Random field theory uses the smoothness (resels) and df; with few "
                     "subjects its threshold can be above Bonferroni's (compare the "
                     "thresholds at 4, 12 and 24 mm). "
                     + narrative.fwer_verdict("random field theory", fwer["rft"], alpha))
    if "permutation" in fwer:
        lines.append("Permutation max-t makes no smoothness assumption. "
                     + narrative.fwer_verdict("permutation max-t", fwer["permutation"],
                                              alpha))
    sentence = nullworld.cluster_failure_sentence(result, alpha)
    if sentence:
        lines.append(html.escape(sentence))
    return "<div style='font-size:12px'>" + "<br>".join(lines) + "</div>"


class ACFFigure:
    """The noise's spatial autocorrelation against a Gaussian one of the same FWHM.

    What random field theory assumes (dashed) and what the noise has (solid), along the
    first axis; with the long-tailed model the two agree between neighbours (so the
    FWHM estimate agrees) and part ways further out.
    """

    def __init__(self):
        self.fig = render.new_figure(6.4, 2.6)
        self.ax = ax = self.fig.add_axes([0.09, 0.18, 0.88, 0.56])
        self._noise, = ax.plot([], [], color="k", lw=2, label="the noise")
        self._gauss, = ax.plot([], [], color="0.45", lw=1.5, ls="--",
                               label="Gaussian ACF of the same FWHM (RFT's assumption)")
        ax.set_xlim(0, 40)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("distance between two voxels (mm)", fontsize=8)
        ax.set_ylabel("correlation", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(fontsize=7, frameon=False, loc="upper right")
        self._title = self.fig.text(0.01, 0.97, "", fontsize=8, va="top")

    def update(self, model):
        d = np.linspace(0.0, 40.0, 161)
        self._noise.set_data(d, model.acf(d))
        self._gauss.set_data(d, model.gaussian_acf(d))
        far = 3 * max(model.smoothing_fwhm, 1.0)
        self._title.set_text(
            f"{textwrap.fill(model.describe(), 95)}\ncorrelation {far:.0f} mm apart: "
            f"{float(model.acf(far)):.3f} (a Gaussian ACF: {float(model.gaussian_acf(far)):.3f})")

    def to_png(self):
        return render.figure_png(self.fig)


class FWERFigure:
    """Empirical FWER per method (points + binomial CI bars + the alpha line) and the
    running FWER as studies accumulate. Artists are created once and updated in place.
    """

    def __init__(self, methods):
        self.methods = list(methods)
        self.fig = render.new_figure(8.6, 3.2)
        self.ax = ax = self.fig.add_axes([0.24, 0.15, 0.33, 0.66])
        self.run_ax = run_ax = self.fig.add_axes([0.66, 0.15, 0.32, 0.66])
        ys = np.arange(len(self.methods))[::-1]
        self._y = dict(zip(self.methods, ys))
        ax.set_yticks(ys, [nullworld.LABELS[m] for m in self.methods], fontsize=9)
        ax.set_ylim(-0.6, len(self.methods) - 0.4)
        self._band = ax.axvspan(0, 0, color="0.9", lw=0,
                                label="95% range of a method exactly at alpha")
        self._alpha_line = ax.axvline(0.05, color="k", ls="--", lw=1.2, label="alpha")
        self._bars, self._points, self._labels = {}, {}, {}
        for m in self.methods:
            self._bars[m], = ax.plot([], [], color=COLORS[m], lw=3, alpha=0.5,
                                     solid_capstyle="butt")
            self._points[m], = ax.plot([], [], "o", color=COLORS[m], ms=7)
            self._labels[m] = ax.text(0.005, self._y[m] + 0.18, "", fontsize=8, ha="left",
                                      va="bottom", color=palette.style(m).text,
                                      transform=ax.get_yaxis_transform())
        ax.set_xlabel("family-wise error rate (studies with >= 1 false positive)",
                      fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(loc="lower left", bbox_to_anchor=(-0.02, 1.0), fontsize=7, frameon=False,
                  ncol=2)
        self._title = self.fig.text(0.01, 0.97, "", fontsize=10, va="top")
        self._off_scale = run_ax.text(0.98, 0.98, "", transform=run_ax.transAxes, fontsize=7,
                                      ha="right", va="top", color=palette.style("uncorrected").text)
        self._runs = {m: run_ax.plot([], [], color=COLORS[m], lw=1.5)[0] for m in self.methods}
        self._run_alpha = run_ax.axhline(0.05, color="k", ls="--", lw=1.0)
        run_ax.set_xlabel("studies done", fontsize=9)
        run_ax.set_ylabel("running FWER", fontsize=9)
        run_ax.tick_params(labelsize=8)
        run_ax.spines[["top", "right"]].set_visible(False)

    def update(self, result, alpha):
        """Redraw for ``result`` (None: empty axes) re-scored at ``alpha``."""
        top = max(0.2, 4 * alpha)
        self.ax.set_xlim(0, top)
        self._alpha_line.set_xdata([alpha, alpha])
        self._run_alpha.set_ydata([alpha, alpha])
        if result is None or result.n_done == 0:
            self._title.set_text("no null studies yet")
            for m in self.methods:
                for artist in (self._bars[m], self._points[m], self._runs[m]):
                    artist.set_data([], [])
                self._labels[m].set_text("")
            self._band.set_x(0)
            self._band.set_width(0)
            self._off_scale.set_text("")
            return
        from scipy import stats

        n = result.n_done

        # 95% of exact-alpha methods' counts fall between these rates
        self._band.set_x(stats.binom.ppf(0.025, n, alpha) / n)
        self._band.set_width((stats.binom.ppf(0.975, n, alpha) - stats.binom.ppf(0.025, n,
                                                                                 alpha)) / n)
        fwer = result.fwer(alpha)
        runs_top = alpha * 2
        steps = np.arange(1, n + 1)
        for m in self.methods:
            e, y = fwer[m], self._y[m]
            shown = min(e.rate, top * 0.985)
            self._bars[m].set_data([e.lo, min(e.hi, top)], [y, y])
            self._points[m].set_data([shown], [y])
            self._points[m].set_marker(">" if e.rate > top else "o")
            self._labels[m].set_text(f"{e.rate:.1%} [{e.lo:.1%}, {e.hi:.1%}]")
            running = np.cumsum(result.false_positives(m, alpha)) / steps
            self._runs[m].set_data(steps, running)
            if m != "uncorrected":
                runs_top = max(runs_top, float(running[min(n - 1, 9):].max(initial=0)) * 1.1)
        self.run_ax.set_xlim(0, result.n_experiments)
        self.run_ax.set_ylim(0, min(1.02, runs_top))
        hidden = [nullworld.LABELS[m] for m in self.methods if fwer[m].rate > runs_top]
        self._off_scale.set_text("off the scale: " + ", ".join(hidden) if hidden else "")
        noise = "long-tailed noise" if result.noise == "long_tailed" else "smoothing"
        cdt = (f", clusters at p < {result.cdt_p:g}"
               if any(m in self.methods for m in nullworld.CLUSTER_METHODS) else "")
        self._title.set_text(f"{n} null studies, {noise} {result.smoothing_fwhm:g} mm{cdt}, "
                             f"alpha = {alpha:g}")

    def to_png(self):
        return render.figure_png(self.fig)


# ====================================================================== the explainer
class SignFlipExplainer(Panel):
    """What is a permutation null, at one voxel? Flip the subjects' signs and watch.

    Parameters
    ----------
    state : LessonState, optional
        Gives the data (``state.masked``), the seed and, when computed, the permutation
        test whose flips (and max null) are shown.
    n_perm : int, optional
        Flips (default: the lesson's, ``state.n_perm_max``, so that the histograms agree
        with the comparison panel).
    background : bool
    """

    title = "Lab: what is a permutation null?"

    def __init__(self, state=None, n_perm=None, background=True):
        super().__init__(state, background)
        self._n_perm = n_perm
        self.explainer = None
        self._worker = _Worker(background)
        self.peak_dropdown = widgets.Dropdown(description="voxel",
                                              layout=widgets.Layout(width="420px"))
        self.xyz = [widgets.FloatText(description=axis, layout=widgets.Layout(width="130px"))
                    for axis in ("x mm", "y mm", "z mm")]
        self.go_button = widgets.Button(description="Go to x, y, z",
                                        layout=widgets.Layout(width="120px"))
        self.flip_buttons = {n: widgets.Button(description=f"flip {n}" if n > 1 else "Flip",
                                               button_style="primary" if n == 1 else "",
                                               layout=widgets.Layout(width="90px"))
                             for n in (1, 10, 100)}
        self.all_button = widgets.Button(description="flip all",
                                         layout=widgets.Layout(width="90px"))
        self.reset_button = widgets.Button(description="Reset", icon="undo",
                                           layout=widgets.Layout(width="90px"))
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="flips",
                                         layout=widgets.Layout(width="320px"))
        self.status, self.pvalues = widgets.HTML(), widgets.HTML()
        self.image = png_image()
        for n, button in self.flip_buttons.items():
            button.on_click(lambda _, n=n: self.flip(n))
        self.all_button.on_click(lambda _: self.flip_all())
        self.reset_button.on_click(lambda _: self.reset())
        self.go_button.on_click(lambda _: self.go_to(tuple(w.value for w in self.xyz)))
        self.peak_dropdown.observe(self._on_peak, names="value")
        self.state.observe(self._on_data, names=["masked", "permutation"])
        self.state.observe(self._on_cursor, names="cursor")  # its voxel is the lesson's cursor
        self._pending_voxel = None
        self.widget.children = [
            widgets.HBox([self.peak_dropdown]), widgets.HBox([*self.xyz, self.go_button]),
            widgets.HBox([*self.flip_buttons.values(), self.all_button, self.reset_button]),
            self.bar, self.message, self.status, self.image, self.pvalues]
        self.figure = None
        self._on_data()

    # -------------------------------------------------------------- data
    def _on_data(self, change=None):
        s = self.state
        if s.masked is None:
            self.explainer = None
            self.status.value = "<i>No data yet: fetch the maps first (step 1).</i>"
            return
        if change is not None and change["name"] == "permutation" and self.explainer is not \
                None and change["new"] is None:
            return  # a reset upstream: keep walking the same flips until new data come
        from ..explainer import FlipExplainer

        n_perm = self._n_perm or s.n_perm_max
        perm = s.permutation
        if perm is not None and perm.n_flips != n_perm:
            perm = None
        try:
            self.explainer = FlipExplainer(
                s.masked.Y, n_perm=n_perm, two_sided=s.two_sided,
                random_state=s.random_state, mask=s.masked.mask, affine=s.masked.affine,
                permutation=perm, voxel=s.cursor_column)
        except ValueError as exc:
            self.show(error_message(exc), "error")
            return
        ex = self.explainer
        self.figure = FlipFigure(ex)
        options = [(f"peak {k + 1}: ({x:.0f}, {y:.0f}, {z:.0f}) mm, t = {t:.2f}", column)
                   for k, (column, (x, y, z), t) in enumerate(ex.peaks(n=8))]
        self.peak_dropdown.options = options
        self._sync_controls()
        self.redraw()

    def _on_peak(self, change):
        if self.explainer is not None and change["new"] is not None \
                and change["new"] != self.explainer.voxel:
            self._point_at_column(change["new"], "peak")

    def _point_at_column(self, column, source):
        """Move the lesson's cursor to a column of Y (the explainer follows the cursor)."""
        s = self.state
        if s.masked is not None and s.masked.mask.sum() == self.explainer.Y.shape[1]:
            s.point_at_voxel(np.argwhere(s.masked.mask)[column], source)
            if self.explainer.voxel == column or self._worker.busy:
                return
        self.set_voxel(column)

    def _on_cursor(self, change):
        column = self.state.cursor_column
        if self.explainer is None or column is None or column == self.explainer.voxel:
            return
        if self._worker.busy:  # after the running flips (see _flip_job)
            self._pending_voxel = column
            return
        self.set_voxel(column)

    def set_voxel(self, column):
        """Follow another voxel (its null is recomputed for the flips done)."""
        if self._worker.busy:
            self.show("flips are still being computed; choose the voxel when they are done.",
                      "warning")
            return
        try:
            self.explainer.set_voxel(column)
        except ValueError as exc:
            self.show(error_message(exc), "error")
            return
        self.figure.new_voxel()
        self._sync_controls()
        self.redraw()

    def go_to(self, xyz_mm):
        """Follow the in-mask voxel nearest to ``xyz_mm``."""
        try:
            column = self.explainer.nearest_voxel(xyz_mm)
        except (ValueError, AttributeError) as exc:
            self.show(error_message(exc), "error")
            return
        self.show("")
        self._point_at_column(column, "mm")

    def _sync_controls(self):
        ex = self.explainer
        for widget, value in zip(self.xyz, ex.coordinates()):
            widget.value = round(value, 1)
        peaks = [value for _, value in self.peak_dropdown.options]
        self.peak_dropdown.value = ex.voxel if ex.voxel in peaks else None

    # -------------------------------------------------------------- flipping
    def flip(self, n=1):
        """Do the next ``n`` flips (what the Flip / flip 10 / flip 100 buttons do)."""
        if self.explainer is None or self._worker.busy:
            return
        self.show("")
        if n > 500:  # long: in the background, with the progress bar
            self._set_buttons(False)
            self._worker.run(lambda: self._flip_job(n))
            return
        self.explainer.step(n)
        self.redraw()

    def flip_all(self):
        if self.explainer is not None:
            self.flip(max(1, self.explainer.n_flips - self.explainer.n_done))

    def _flip_job(self, n):
        try:
            self.explainer.step(n, progress=self._progress)
        except Exception as exc:
            self.show(error_message(exc), "error")
        finally:
            self._set_buttons(True)
            self.bar.value = 1.0
            pending, self._pending_voxel = self._pending_voxel, None
            if pending is not None and pending != self.explainer.voxel:
                self.set_voxel(pending)
            else:
                self.redraw()

    def _progress(self, fraction):
        self.bar.value = fraction

    def reset(self):
        if self.explainer is not None and not self._worker.busy:
            self.explainer.reset()
            self.redraw()

    def wait(self, timeout=None):
        self._worker.wait(timeout)

    def _set_buttons(self, enabled):
        for button in (*self.flip_buttons.values(), self.all_button, self.reset_button):
            button.disabled = not enabled

    # -------------------------------------------------------------- drawing
    def redraw(self):
        ex = self.explainer
        with self._worker.draw_lock:
            self.figure.update()
            self.image.value = self.figure.to_png()
        self.bar.value = ex.n_done / ex.n_flips
        negated = np.flatnonzero(ex.flipped()) + 1
        which = ("none: the observed data" if negated.size == 0
                 else "subjects " + ", ".join(str(k) for k in negated))
        self.status.value = (
            f"<b>flip {ex.last:,}</b> of {ex.n_flips - 1:,} "
            f"({'all distinct flips: exact' if ex.exact else 'random flips'}). "
            f"Negated: {which}. t at the voxel = <b>{ex.voxel_null[-1]:.2f}</b>, "
            f"max |t| over the brain = <b>{ex.max_null[-1]:.2f}</b>.")
        self.pvalues.value = _explainer_p_html(ex)


def _explainer_p_html(ex):
    p_voxel, p_fwer = ex.voxel_p(), ex.fwer_p()
    return (f"<div style='font-size:13px'>Observed |t| = {ex.observed:.2f} at "
            f"({', '.join(f'{c:.0f}' for c in ex.coordinates())}) mm. From {ex.n_done:,} "
            f"flips (the observed one counts): uncorrected permutation p = "
            f"<b>{p_voxel:.4f}</b> &plusmn; {ex.p_error(p_voxel):.4f} (t distribution: "
            f"{ex.parametric_p():.2g}); FWER-corrected p = <b>{p_fwer:.4f}</b> &plusmn; "
            f"{ex.p_error(p_fwer):.4f}: the fraction of flips whose max |t| anywhere "
            f"reaches {ex.observed:.2f}.</div>")


class FlipFigure:
    """Strip plot of one voxel's subject values, the voxel null and the max null."""

    def __init__(self, explainer):
        self.ex = ex = explainer
        self.fig = render.new_figure(10.5, 2.9)
        self.strip = self.fig.add_axes([0.055, 0.17, 0.15, 0.7])
        self.vox_ax = self.fig.add_axes([0.33, 0.17, 0.3, 0.7])
        self.max_ax = self.fig.add_axes([0.69, 0.17, 0.3, 0.7])
        self._observed, = self.strip.plot([], [], "o", mfc="none", mec="0.75", ms=6,
                                          label="observed")
        self._kept, = self.strip.plot([], [], "o", color="tab:blue", ms=6, label="kept")
        self._negated, = self.strip.plot([], [], "o", color="tab:orange", ms=6,
                                         label="sign flipped")
        self._mean, = self.strip.plot([], [], color="k", lw=2, label="mean")
        self.strip.axhline(0, color="0.6", lw=0.8)
        self.strip.set_xticks([])
        self.strip.set_ylabel("subject's value", fontsize=9)
        self.strip.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                          frameon=False)
        self._strip_title = self.strip.set_title("", fontsize=9, loc="left")
        top = max(8.0, 1.08 * float(ex.stat.max()))
        self.max_edges = np.linspace(0.0, top, 81)
        self._max_bars = self.max_ax.stairs(np.zeros(80), self.max_edges, fill=True,
                                            color="0.6")
        self._max_obs = self.max_ax.axvline(0, color="tab:red", lw=1.8,
                                            label="observed |t| at the voxel")
        self._max_last = self.max_ax.axvline(0, color="tab:orange", lw=1.2, ls=":",
                                             label="this flip")
        self.max_ax.set_xlabel("max |t| over the brain, per flip", fontsize=9)
        self.max_ax.legend(fontsize=7, frameon=False, loc="upper right")
        self._vox_bars = self.vox_ax.stairs(np.zeros(80), np.linspace(-1, 1, 81),
                                            fill=True, color="0.6")
        self._vox_obs = [self.vox_ax.axvline(0, color="tab:red", lw=1.8,
                                             label="observed t (and -t)"),
                         self.vox_ax.axvline(0, color="tab:red", lw=1.8, ls="--")]
        self._vox_last = self.vox_ax.axvline(0, color="tab:orange", lw=1.2, ls=":",
                                             label="this flip")
        self.vox_ax.set_xlabel("t at the voxel, per flip", fontsize=9)
        self.vox_ax.legend(fontsize=7, frameon=False, loc="upper right")
        self._vox_title = self.vox_ax.set_title("", fontsize=9, loc="left")
        self._max_title = self.max_ax.set_title("", fontsize=9, loc="left")
        from matplotlib.ticker import MaxNLocator

        for ax in (self.strip, self.vox_ax, self.max_ax):
            ax.tick_params(labelsize=8)
            if ax is not self.strip:
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.spines[["top", "right"]].set_visible(False)
        self.new_voxel()

    def new_voxel(self):
        ex = self.ex
        limit = max(6.0, 1.1 * abs(ex.t[ex.voxel]))
        self.vox_edges = np.linspace(-limit, limit, 81)
        values = np.abs(ex.values())
        self.strip.set_ylim(-1.15 * values.max(), 1.15 * values.max())
        self.strip.set_xlim(-1, 1)
        self._jitter = np.random.default_rng(0).uniform(-0.5, 0.5, ex.n_subjects)
        self._observed.set_data(self._jitter, ex.values())

    def update(self):
        ex = self.ex
        signs = ex.signs[ex.last].astype(float)
        flipped_values = ex.values() * signs
        negated = signs < 0
        self._kept.set_data(self._jitter[~negated], flipped_values[~negated])
        self._negated.set_data(self._jitter[negated], flipped_values[negated])
        self._mean.set_data([-0.8, 0.8], [flipped_values.mean()] * 2)
        self._strip_title.set_text(f"flip {ex.last:,}: {int(negated.sum())} of "
                                   f"{ex.n_subjects} negated")
        counts, _ = np.histogram(np.clip(ex.voxel_null, self.vox_edges[0],
                                         self.vox_edges[-1]), self.vox_edges)
        self._vox_bars.set_data(counts, self.vox_edges)
        self.vox_ax.set_xlim(self.vox_edges[0], self.vox_edges[-1])
        self.vox_ax.set_ylim(0, max(1, counts.max()) * 1.15)
        t_obs = ex.t[ex.voxel]
        self._vox_obs[0].set_xdata([t_obs, t_obs])
        self._vox_obs[1].set_xdata([-t_obs, -t_obs])
        self._vox_obs[1].set_visible(ex.two_sided)
        self._vox_last.set_xdata([ex.voxel_null[-1]] * 2)
        self._vox_title.set_text(f"this voxel's null: {ex.n_done:,} flips, "
                                 f"p = {ex.voxel_p():.4f}")
        counts, _ = np.histogram(np.clip(ex.max_null, 0, self.max_edges[-1]), self.max_edges)
        self._max_bars.set_data(counts, self.max_edges)
        self.max_ax.set_xlim(0, self.max_edges[-1])
        self.max_ax.set_ylim(0, max(1, counts.max()) * 1.15)
        self._max_obs.set_xdata([ex.observed] * 2)
        self._max_last.set_xdata([ex.max_null[-1]] * 2)
        self._max_title.set_text(f"max null: FWER p = {ex.fwer_p():.4f}")

    def to_png(self):
        return render.figure_png(self.fig)
