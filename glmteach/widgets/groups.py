"""Groups and covariates: pick a design, see its matrix, permute, compare; and the null
world of nuisance regressors (notebook 06).

::

    maps = gt.load_checkerboards(16)
    masked = gt.mask_maps(maps.stacked())
    GroupsPanel(maps, masked)      # paired, two-sample, one-sample + age, age effect
    ConfoundLab()                  # Freedman-Lane vs ter Braak vs Manly in null studies
"""

import html
import threading
import warnings
from io import BytesIO

import ipywidgets as widgets
import numpy as np

from .. import palette
from ..designs import KINDS, compare_with_parametric, group_design
from ..glm_nullworld import LABELS, run_glm_null_world
from ..render._canvas import figure_png, new_figure
from ._a11y import page_helper
from ._helpers import describe, message_html, png_image


class _Stopped(Exception):
    """Raised from a progress callback when the learner presses Stop."""


class _Worker:
    """Runs one job at a time (in a thread when ``background``) with progress and Stop."""

    def __init__(self, label, background):
        self.background = background
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description=label,
                                         layout=widgets.Layout(width="320px"))
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True,
                                          layout=widgets.Layout(width="80px"))
        self.stop_button.on_click(lambda _: self._stop.set())
        self.widget = widgets.HBox([self.bar, self.stop_button])
        self._stop = threading.Event()
        self._thread = None

    @property
    def busy(self):
        return self._thread is not None and self._thread.is_alive()

    def progress(self, fraction):
        self.bar.value = max(float(fraction), 0.02)
        if self._stop.is_set():
            raise _Stopped

    def start(self, job, done):
        """Run ``job()`` then ``done(result, error_text)``; False if a job is running."""
        if self.busy:
            return False
        self._stop.clear()
        self.bar.value, self.bar.bar_style = 0.02, "info"
        self.stop_button.disabled = False

        def run():
            result, error = None, ""
            try:
                result = job()
            except _Stopped:
                error = "Stopped: press Run again to start over."
            except Exception as exc:  # shown in the panel, never as a traceback
                error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            self.stop_button.disabled = True
            self.bar.bar_style = "" if not error else "warning"
            self.bar.value = 1.0 if not error else 0.0
            try:
                done(result, error)
            except Exception as exc:  # drawing failed: say so in the panel
                done(None, f"{type(exc).__name__}: {exc}".splitlines()[0])

        if self.background:
            self._thread = threading.Thread(target=run, daemon=True)
            self._thread.start()
        else:
            run()
        return True

    def wait(self, timeout=None):
        if self._thread is not None:
            self._thread.join(timeout)


class GroupsPanel:
    """Choose a second-level design for two conditions per subject and test it.

    Parameters
    ----------
    maps : glmteach.data.TwoConditionMaps
    masked : glmteach.masking.MaskedMaps
        ``gt.mask_maps(maps.stacked())``: both conditions, first condition first.
    n_perm : int
        Permutations of each run (the first run of a design compiles the kernels).
    background : bool
        Run in a thread (False: in the calling thread, for scripts and tests).
    """

    def __init__(self, maps, masked, n_perm=5000, alpha=0.05, background=True):
        if masked.Y.shape[0] != 2 * maps.n_subjects:
            raise ValueError("masked must hold both conditions: use "
                             "gt.mask_maps(maps.stacked()).")
        self.maps, self.masked = maps, masked
        self.results = {}
        self.kind = widgets.ToggleButtons(options=KINDS, value="paired",
                                          description="design")
        self.n_perm = widgets.SelectionSlider(options=[1000, 2000, 5000, 10000],
                                              value=n_perm, description="permutations")
        self.alpha = widgets.SelectionSlider(options=[0.01, 0.05, 0.1], value=alpha,
                                             description="alpha")
        self.run_button = widgets.Button(description="Run permutation test", icon="play",
                                         button_style="primary",
                                         layout=widgets.Layout(width="220px"))
        self.worker = _Worker("permuting", background)
        self.design_image = png_image("420px")
        self.brain_image = png_image("640px")
        self.text = widgets.HTML()
        self.message = widgets.HTML()
        self.run_button.on_click(lambda _: self.run())
        self.kind.observe(self._on_kind, names="value")
        self.alpha.observe(lambda _: self._show_result(), names="value")
        self.widget = widgets.VBox([
            widgets.HTML(f"<b>Groups and covariates</b> &mdash; {html.escape(maps.description)}"),
            self.kind, widgets.HBox([self.design_image, widgets.VBox([
                self.n_perm, self.alpha, self.run_button, self.worker.widget, self.message])]),
            self.text, self.brain_image])
        self._on_kind()

    def _repr_mimebundle_(self, **kwargs):
        # the page helper names the sliders and shows keyboard focus (see _a11y)
        return widgets.VBox([self.widget, page_helper()])._repr_mimebundle_(**kwargs)

    @property
    def design(self):
        return group_design(self.kind.value, self.maps.covariates,
                            [c.split()[0] for c in self.maps.conditions])

    @property
    def result(self):
        """The last result of the selected design (None before its first run)."""
        return self.results.get(self.kind.value)

    def _on_kind(self, change=None):
        try:
            self.design_image.value = design_matrix_png(self.design)
            describe(self.design_image, design_alt(self.design))
        except ValueError as exc:  # e.g. no age in these data
            self.message.value = message_html(str(exc), "warning")
            return
        self.message.value = message_html(f"Question: {self.design.question}")
        self._show_result()

    def run(self):
        """Run the permutation test of the selected design (in the background)."""
        design, n_perm = self.design, self.n_perm.value

        def job():
            return design.test(self.masked.Y, n_perm=n_perm, progress=self.worker.progress)

        def done(result, error):
            if error:
                self.message.value = message_html(error, "warning")
                return
            self.results[design.kind] = result
            if design.kind == self.kind.value:
                self._show_result()

        if not self.worker.start(job, done):
            self.message.value = message_html("A test is still running: wait or press Stop.",
                                              "warning")

    def wait(self, timeout=None):
        self.worker.wait(timeout)

    def _show_result(self):
        result = self.result
        if result is None:
            self.text.value = ("<i>Press <b>Run permutation test</b> to compare permutation "
                               "max-t with Bonferroni for this design.</i>")
            self.brain_image.value = b""
            describe(self.brain_image, "No result yet: press Run permutation test.")
            return
        summary = compare_with_parametric(self.design, result, self.alpha.value)
        self.text.value = f"<p style='max-width:900px'>{html.escape(summary['sentence'])}</p>"
        title = f"{self.design.kind}: {self.design.contrast}"
        if self.maps.is_simulated:
            title += " (SIMULATED data)"
        self.brain_image.value = glass_brain_png(self.masked, result.t,
                                                 summary["permutation_threshold"], title)
        describe(self.brain_image, f"Glass brain of the {title} t map above the permutation "
                                   f"max-t threshold. {summary['sentence']}")


class ConfoundLab:
    """Null studies with a correlated nuisance effect: FWER of each permutation method."""

    def __init__(self, n_studies=200, n_perm=100, correlation=0.6, nuisance_effect=3.0,
                 alpha=0.05, background=True):
        self.result = None
        self.n_studies = widgets.IntSlider(value=n_studies, min=50, max=1000, step=50,
                                           description="studies")
        self.correlation = widgets.FloatSlider(value=correlation, min=0.0, max=0.9,
                                               step=0.1, description="r (tested, nuisance)")
        self.effect = widgets.FloatSlider(value=nuisance_effect, min=0.0, max=5.0, step=0.5,
                                          description="nuisance effect")
        self.alpha = widgets.SelectionSlider(options=[0.01, 0.05, 0.1], value=alpha,
                                             description="alpha")
        self.n_perm = n_perm
        self.run_button = widgets.Button(description="Run null studies", icon="play",
                                         button_style="primary",
                                         layout=widgets.Layout(width="200px"))
        self.worker = _Worker("studies", background)
        self.plot = png_image("520px")
        self.table = widgets.HTML()
        self.text = widgets.HTML()
        self.message = widgets.HTML()
        self.run_button.on_click(lambda _: self.run())
        self.alpha.observe(lambda _: self._show(), names="value")  # re-scored, not re-run
        self.widget = widgets.VBox([
            widgets.HTML("<b>Null world with a nuisance regressor</b> (no effect of "
                         "interest; the nuisance has a real effect)"),
            widgets.HBox([widgets.VBox([self.n_studies, self.correlation, self.effect,
                                        self.alpha]),
                          widgets.VBox([self.run_button, self.worker.widget, self.message])]),
            widgets.HBox([self.plot, self.table]), self.text])

    def _repr_mimebundle_(self, **kwargs):
        # the page helper names the sliders and shows keyboard focus (see _a11y)
        return widgets.VBox([self.widget, page_helper()])._repr_mimebundle_(**kwargs)

    def run(self):
        settings = dict(n_studies=self.n_studies.value, correlation=self.correlation.value,
                        nuisance_effect=self.effect.value, n_perm=self.n_perm)

        def done(result, error):
            if error:
                self.message.value = message_html(error, "warning")
                return
            self.result = result
            self.message.value = ""
            self._show()

        if not self.worker.start(lambda: run_glm_null_world(progress=self.worker.progress,
                                                            **settings), done):
            self.message.value = message_html("Still running: wait or press Stop.", "warning")

    def wait(self, timeout=None):
        self.worker.wait(timeout)

    def _show(self):
        if self.result is None:
            return
        alpha = self.alpha.value
        table = self.result.table(alpha)
        self.table.value = table.round(3).to_html(index=False)
        self.text.value = (f"<p style='max-width:900px'>"
                           f"{html.escape(self.result.sentence(alpha))}</p>")
        self.plot.value = fwer_png(table, alpha)
        describe(self.plot, "Family-wise error rate of each method with its 95% interval, "
                            f"against alpha = {alpha:g}. {self.result.sentence(alpha)}")


# ----------------------------------------------------------------------------- pictures


def design_alt(design):
    """Text alternative of a design matrix picture: its size, columns and contrast."""
    columns = [str(c) for c in design.matrix.columns]
    shown = ", ".join(columns[:6]) + (f" and {len(columns) - 6} more" if len(columns) > 6
                                      else "")
    return (f"Design matrix of the {design.kind} design: {design.matrix.shape[0]} rows "
            f"(maps) x {len(columns)} columns ({shown}); the contrast tests "
            f"{design.contrast}.")


def design_picture(design):
    """The design matrix as a picture with its text alternative (for notebooks)."""
    picture = png_image()
    picture.value = design_matrix_png(design)
    describe(picture, design_alt(design))
    return picture


def design_matrix_png(design):
    """nilearn's ``plot_design_matrix`` of a :class:`~glmteach.designs.GroupDesign`."""
    from nilearn.plotting import plot_design_matrix

    fig = new_figure(5.5, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    plot_design_matrix(design.matrix, axes=ax)
    ax.set_xlabel(f"{design.kind}: tested column '{design.contrast}'", fontsize=10)
    ax.set_ylabel("row (one map)")
    if design.matrix.shape[1] > 12:  # subject columns: their labels would overlap
        ax.set_xticks([0])
    fig.tight_layout()
    return figure_png(fig, dpi=80)


def glass_brain_png(masked, t, threshold, title):
    """Glass brain of the t map above the permutation threshold (nilearn, signed)."""
    from ..render.static import static_glass_brain

    top = float(np.abs(t).max())
    if not top > threshold:
        title += " (no voxel survives)"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="empty mask")  # nothing above threshold
        display = static_glass_brain(masked.to_img(t), threshold=min(threshold, top),
                                     title=title, vmax=top)
    buffer = BytesIO()
    display.frame_axes.figure.savefig(buffer, dpi=60, format="png")
    display.close()
    return buffer.getvalue()


def fwer_png(table, alpha):
    """FWER of each method with its 95% interval, against alpha."""
    fig = new_figure(6.0, 0.9 + 0.55 * len(table))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(table))[::-1]
    low = table["FWER"] - table["CI low"]
    high = table["CI high"] - table["FWER"]
    ax.errorbar(table["FWER"], y, xerr=[low, high], fmt="o", color=palette.TEXT, capsize=4)
    ax.axvline(alpha, **palette.line("observed"))
    ax.set_yticks(y, table["method"])
    ax.set_ylim(-0.6, len(table) - 0.4)
    ax.set_xlim(0, max(0.3, float(table["CI high"].max()) + 0.05))
    ax.set_xlabel("FWER: share of null studies with a false positive (95% interval)",
                  color=palette.MUTED_TEXT)
    ax.set_title(f"dotted line: alpha = {alpha:g}", fontsize=10, color=palette.MUTED_TEXT)
    fig.tight_layout()
    return figure_png(fig, dpi=80)


__all__ = ["GroupsPanel", "ConfoundLab", "design_matrix_png", "glass_brain_png", "fwer_png",
           "LABELS"]
