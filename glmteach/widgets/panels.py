"""One panel per lesson step, all observing one :class:`~glmteach.widgets.LessonState`.

Each panel is usable alone in a notebook cell (``FetchPanel(state)``) and exposes its
controls as attributes (``panel.threshold_slider``...) so that tests and benchmarks can set
them like a learner does. Pictures are PNG bytes in ``ipywidgets.Image`` widgets, drawn by
:mod:`glmteach.render` with figures created once and updated in place.
"""

import html
import threading

import ipywidgets as widgets
import numpy as np
from matplotlib import colors
from traitlets import link

from .. import narrative, palette, render
from ..render import slices as slice_pictures
from ._helpers import Panel, ProgressRow, describe, drawing, message_html, png_image
from .clickable import ClickableImage
from .cursor import abs_t_volume, clickable_projection
from .readout import CursorSlices, _never_raises, cursor_views


# Picture sizes in pixels (figures are drawn at 72 dpi, shown at their own size): a
# projector at 1366 x 768 gives the lesson about 1,330 px; steps 1-3 share it with the
# text column (about 950 px left), step 4 has all of it.
PX = render.PNG_DPI
SUBJECT_COLUMNS, SUBJECT_VIEW_PX = 8, 84  # step 1: 16 subjects in two rows
SIDE_VIEW_PX = 220  # steps 2-3: three views beside the text column
COMPARISON_VIEW_PX = 300  # step 4: each view of each method
SIDE_WIDTH_PX, WIDE_WIDTH_PX = 900, 1180  # histograms


def _grid_of(masked):
    return render.BrainGrid(masked.mask, masked.affine)


class FetchPanel(Panel):
    """Step 1: fetch the subjects' maps and look at each one thresholded at t = 2.

    ``allow_user_paths=False`` hides "Load my maps" (the Voila app: learners must not type
    paths of the server's files); notebooks keep it.
    """

    title = "1. Fetch the subjects' maps"
    tasks = ("fetch", "fetch_maps")

    def __init__(self, state=None, background=True, allow_user_paths=True):
        super().__init__(state, background)
        self.allow_user_paths = bool(allow_user_paths)
        s = self.state
        self.source = widgets.Dropdown(options=["auto", "nilearn", "embedded"],
                                       description="source")
        self.n_subjects = widgets.IntSlider(min=2, max=40, description="subjects")
        self.fetch_button = widgets.Button(description="Fetch", icon="download",
                                           button_style="primary")
        self.paths = widgets.Text(placeholder="or your own maps: /data/sub-*_con.nii.gz",
                                  layout=widgets.Layout(width="420px"))
        self.load_button = widgets.Button(description="Load my maps", icon="folder-open")
        self.load_button.on_click(self._on_load)
        self.progress = ProgressRow(s, ["fetch", "fetch_maps"], "loading", stoppable=False)
        self.threshold_slider = widgets.FloatSlider(min=0.0, max=6.0, step=0.1,
                                                    description="show |t| >",
                                                    readout_format=".1f")
        self.origin = widgets.HTML()
        self.image = clickable_projection(s, lambda: self.figure, alt="each subject's map")
        link((s, "source"), (self.source, "value"))
        link((s, "n_subjects"), (self.n_subjects, "value"))
        link((s, "display_threshold"), (self.threshold_slider, "value"))
        self.fetch_button.on_click(lambda _: self.start("fetch"))
        s.observe(self._on_busy, names="busy")
        s.observe(self._on_maps, names="maps")
        s.observe(self._on_threshold, names="display_threshold")
        self.load_button.disabled = not self.allow_user_paths
        self.widget.children = [
            widgets.HBox([self.source, self.n_subjects, self.fetch_button]),
            *([widgets.HBox([self.paths, self.load_button])] if self.allow_user_paths else []),
            self.progress.widget, self.message, self.origin, self.threshold_slider, self.image]
        self.figure = None
        self._on_maps()

    def _on_load(self, _):
        if self.allow_user_paths:  # (the button is not shown otherwise)
            self.start("fetch_maps", self.paths.value)

    def _on_busy(self, change):
        self.fetch_button.disabled = bool(change["new"])
        self.load_button.disabled = bool(change["new"]) or not self.allow_user_paths

    @drawing
    def _on_maps(self, change=None):
        maps = self.state.maps
        if maps is None:
            self.origin.value = "<i>Press Fetch to load the maps.</i>"
            return
        kind = "warning" if maps.is_simulated else "info"
        origin = ("SIMULATED data (no download needed): " if maps.is_simulated
                  else f"Real data ({maps.source}): ")
        notice = f" {maps.notice}" if getattr(maps, "notice", "") else ""
        self.origin.value = message_html(origin + maps.description + notice, kind)
        imgs, unit = (maps.tmaps, "t") if maps.tmaps is not None else (maps.imgs, "value")
        grid = render.BrainGrid.from_img(_mean_abs_img(imgs))
        volumes = [grid.canonical(_finite32(img)) for img in imgs]
        vmax = float(np.percentile(np.abs(np.concatenate([v[grid.mask] for v in volumes])),
                                   99.5))
        self.figure = render.GlassBrainFigure(
            grid, maps.subjects, display_mode="z", n_cols=min(SUBJECT_COLUMNS, len(imgs)),
            vmax=_nice(vmax), colorbar_label=unit, view_width=SUBJECT_VIEW_PX / PX)
        for name, volume in zip(maps.subjects, volumes):
            self.figure.set_volume(name, volume)
        self._unit, self._values = unit, [v[grid.mask] for v in volumes]
        self.threshold_slider.description = f"show |{unit}| >"
        self._on_threshold()

    @drawing
    def _on_threshold(self, change=None):
        if self.figure is None:
            return
        threshold = self.state.display_threshold
        self.figure.set_threshold(threshold)
        shown = "; ".join(f"{name} {int((np.abs(v) >= threshold).sum()):,}"
                          for name, v in zip(self.figure.names, self._values))
        with self.image.hold_sync():  # picture and its text in one message
            self.image.value = self.figure.to_png()
            describe(self.image, (
                f"Glass brains seen from above, one per subject, showing |{self._unit}| > "
                f"{threshold:.1f}: red {self._unit} > 0, blue {self._unit} < 0, colour "
                f"scale {-self.figure.norm.vmax:g} to {self.figure.norm.vmax:g}. Voxels "
                f"shown: {shown}."))


def _finite32(img):
    """An image's values as float32, NaN -> 0 (its own array when already so: no copy)."""
    data = np.asarray(img.dataobj, dtype=np.float32)
    return data if np.isfinite(data).all() else np.nan_to_num(data)


def _mean_abs_img(imgs):
    """An image whose non-zero voxels are those of any map (the grid's value support)."""
    import nibabel as nib

    support = sum(np.abs(np.nan_to_num(np.asarray(img.dataobj, dtype=np.float32)))
                  for img in imgs)
    return nib.Nifti1Image(support, imgs[0].affine)


def _nice(value):
    """Round a colour-scale maximum up to 1, 2, 2.5 or 5 x 10^k."""
    if not np.isfinite(value) or value <= 0:
        return 1.0
    exponent = 10.0 ** np.floor(np.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return float(step * exponent)


class MaskSlices(CursorSlices):
    """The group mask on three slices of the MNI template, through the lesson's cursor.

    A click on a slice points the cursor at that voxel (the slice's depth stays), and the
    cursor keys move it one voxel: the slices follow, and the caption says whether the
    cursor's voxel is one of the tested voxels. Before the first click the slices cut
    through the mask's centre.
    """

    def __init__(self, state):
        self.state = state
        self.image = ClickableImage(alt="slices of the group mask")
        self.image.cursor = self  # (describe: a clickable picture says what clicks do)
        self.caption = widgets.HTML(layout=widgets.Layout(max_width="700px"))
        self.widget = widgets.VBox([self.image, self.caption])
        self._figure = self._grid = self._masked = None
        self._lock = threading.RLock()
        self.image.on_click(self.click)
        self.image.on_key(state.move_cursor)
        state.observe(self._on_cursor, names="cursor")

    @_never_raises
    def set_masked(self, masked, grid):
        """Draw a (new) group mask; the cut stays at the cursor, else the mask's centre."""
        with self._lock:
            self._masked, self._grid = masked, grid
            self._figure = slice_pictures.SliceFigure(
                grid, vmax=1.0, panel_height=240 / PX, with_title=False, colorbar=False,
                cmap=colors.ListedColormap([palette.MASK]), opacity=0.55)
            self._figure.set_volume(grid.volume(np.ones(masked.n_voxels)), threshold=0.5)
            cursor = self.state.cursor
            if cursor is not None:
                self._figure.set_cursor(self._abc(cursor))
            else:
                self._figure.set_cursor(np.round(np.argwhere(grid.mask).mean(axis=0)))
            self._redraw()

    def click(self, px, py):
        """Point the cursor at the voxel under pixel (px, py) of the picture."""
        if self._figure is None:
            return None
        ijk = self._figure.pick(px, py)
        return None if ijk is None else self.state.point_at_voxel(ijk, "mask")

    def _redraw(self):
        x, y, z = self._figure.cut_mm()
        n = self._masked.n_voxels
        where = f"x = {x:.0f}, y = {y:.0f}, z = {z:.0f} mm"
        cursor = self.state.cursor
        if cursor is None:
            said = f"Slices through the mask's centre ({where})."
        elif self.state.cursor_column is not None:
            said = (f"The cursor ({where}) is in the group mask: this voxel is one of the "
                    f"{n:,} tests.")
        else:
            said = (f"The cursor ({where}) is outside the group mask: no test at this "
                    "voxel.")
        self.image.value = self._figure.to_png()
        self.caption.value = f"<div style='font-size:12px'>{html.escape(said)}</div>"
        describe(self.image, f"The group mask ({n:,} voxels) in orange over three slices of "
                             f"the MNI template, with the cursor's crosshair in green. {said}")


class MaskPanel(Panel):
    """Step 2: smoothing and the group mask over the MNI template."""

    title = "2. Mask and smooth"
    tasks = ("remask",)

    def __init__(self, state=None, background=True):
        super().__init__(state, background)
        s = self.state
        self.smoothing_slider = widgets.FloatSlider(min=0.0, max=16.0, step=1.0,
                                                    description="FWHM (mm)",
                                                    continuous_update=False,
                                                    style={"description_width": "initial"})
        self.progress = ProgressRow(s, ["remask"], "masking", stoppable=False)
        self.count = widgets.HTML()
        self.mask_slices = MaskSlices(s)
        self.mask_image, self.subject_image = self.mask_slices.image, png_image()
        # not a traitlets link: a refused change must be able to snap both back
        self.smoothing_slider.value = s.smoothing_fwhm
        self.smoothing_slider.observe(self._on_slider, names="value")
        s.observe(self._on_smoothing, names="smoothing_fwhm")
        s.observe(self._on_masked, names="masked")
        self.widget.children = [self.smoothing_slider, self.progress.widget, self.message,
                                self.count, self.mask_slices.widget, self.subject_image]
        self._subject_figure = None
        self._snapping = False
        self._on_masked()

    def _on_slider(self, change):
        s = self.state
        if s.smoothing_fwhm == change["new"]:
            return
        if s.busy and s.maps is not None:  # refused here: the slider snaps back at once
            self._refused = True
            self.show(f"'{s.busy}' is still running: wait for it to finish, then move the "
                      "smoothing again.", "warning")
            self.smoothing_slider.value = s.smoothing_fwhm
            return
        s.smoothing_fwhm = change["new"]

    def _on_smoothing(self, change):
        s = self.state
        if change["new"] != s.smoothing_fwhm:
            return  # a stale notice: a later change was handled already
        if self.smoothing_slider.value != s.smoothing_fwhm:
            self.smoothing_slider.value = s.smoothing_fwhm
        if s.maps is None or self._snapping:
            return
        if s.masked is not None and (s.masked.smoothing_fwhm or 0.0) == s.smoothing_fwhm \
                and s.busy != "fetch":
            return  # the results on screen already have this smoothing
        if not self.start("remask") and s.masked is not None:
            # refused (a task runs): the slider shows the smoothing of the results on screen
            self._snapping = True
            try:
                s.smoothing_fwhm = float(s.masked.smoothing_fwhm or 0.0)
            finally:
                self._snapping = False

    @drawing
    def _on_masked(self, change=None):
        masked = self.state.masked
        if masked is None:
            self.count.value = "<i>No mask yet: fetch the maps first.</i>"
            return
        grid = _grid_of(masked)
        self.count.value = (f"<b>{masked.n_voxels:,}</b> voxels in the group mask "
                            f"(= {masked.n_voxels:,} tests). {html.escape(masked.summary())}")
        self.mask_slices.set_masked(masked, grid)
        first = masked.Y[0]
        figure = render.GlassBrainFigure(
            grid, [f"{masked.subjects[0]} after smoothing (FWHM "
                   f"{masked.smoothing_fwhm or 0:g} mm)"],
            vmax=_nice(np.percentile(np.abs(first), 99)), colorbar_label="effect",
            view_width=SIDE_VIEW_PX / PX)
        figure.set_values(figure.names[0], first)
        self._subject_figure = figure
        self.subject_image.value = figure.to_png()
        describe(self.subject_image, (
            f"Glass brain of {figure.names[0]}: every voxel's value, red > 0, blue < 0, "
            f"colour scale {-figure.norm.vmax:g} to {figure.norm.vmax:g}."))


class TTestPanel(Panel):
    """Step 3: the voxelwise one-sample t-test at an uncorrected threshold."""

    title = "3. One-sample t-test"

    def __init__(self, state=None, background=True):
        super().__init__(state, background)
        s = self.state
        self.p_slider = widgets.FloatLogSlider(base=10, min=-6, max=-1, step=0.1,
                                               description="p <", readout_format=".1e")
        self.count = widgets.HTML()
        self.map_image = clickable_projection(s, lambda: self._map, alt="z map")
        self.hist_image = png_image()
        link((s, "p_threshold"), (self.p_slider, "value"))
        s.observe(self._on_ttest, names="ttest")
        s.observe(self._on_threshold, names="p_threshold")
        self.widget.children = [self.p_slider, self.message, self.count, self.map_image,
                                cursor_views(s).widget, self.hist_image]
        self._map = self._hist = None
        self._on_ttest()

    @drawing
    def _on_ttest(self, change=None):
        tt, masked = self.state.ttest, self.state.masked
        if tt is None:
            self.count.value = "<i>No t-test yet: fetch the maps first.</i>"
            self._map = None
            return
        self._map = render.GlassBrainFigure(
            _grid_of(masked), ["z map (one-sample t-test)"],
            vmax=_nice(np.percentile(np.abs(tt.z), 99.9)), colorbar_label="z",
            view_width=SIDE_VIEW_PX / PX)
        self._map.set_values(self._map.names[0], tt.z)
        self._hist = _t_histogram(tt)
        self._on_threshold()

    @drawing
    def _on_threshold(self, change=None):
        if self._map is None:
            return
        survivors, t_threshold, z_threshold = self.state.uncorrected()
        n, p = int(survivors.sum()), self.state.p_threshold
        self._map.set_threshold(z_threshold)
        self._map.set_title(self._map.names[0], f"z map, uncorrected p < {p:.1e} "
                                                f"(|z| > {z_threshold:.2f})")
        self._hist.set_line("threshold", [-t_threshold, t_threshold])
        self._hist.set_title(f"t values of {survivors.size:,} voxels; |t| > "
                             f"{t_threshold:.2f} is p < {p:.1e}")
        self.count.value = (
            f"<b>{n:,}</b> voxels with uncorrected p < {p:.1e} (|t| > {t_threshold:.2f}, "
            f"df = {self.state.ttest.df:g}). If no voxel had an effect, about "
            f"<b>{p * survivors.size:,.1f}</b> would pass by chance.")
        # each picture leaves with its text when ready, the smaller first (the browser
        # decodes it while the kernel draws the map)
        with self.hist_image.hold_sync():
            self.hist_image.value = self._hist.to_png()
            describe(self.hist_image, (
                f"Histogram of the t values of {survivors.size:,} voxels with threshold "
                f"lines at t = -{t_threshold:.2f} and +{t_threshold:.2f} ({n:,} voxels "
                f"beyond them); dotted curve: the t({self.state.ttest.df:g}) density if no "
                "voxel had an effect."))
        with self.map_image.hold_sync():
            self.map_image.value = self._map.to_png()
            describe(self.map_image, (
                f"Glass brain of the group z map: {n:,} voxels shown, those with "
                f"uncorrected p < {p:.1e} (|z| > {z_threshold:.2f}); red z > 0, blue z < 0."))


def _t_histogram(tt):
    from scipy import stats

    hist = render.HistogramFigure(
        {"threshold": palette.line("uncorrected"),
         f"null t({tt.df:g}) density": dict(color=palette.TEXT, linestyle=":")}, "t",
        size=(SIDE_WIDTH_PX / PX, 240 / PX))
    limit = max(np.abs(tt.t).max(), stats.t.isf(0.5e-6, tt.df)) * 1.05
    counts, edges = np.histogram(tt.t, bins=120, range=(-limit, limit))
    centres = (edges[:-1] + edges[1:]) / 2
    expected = tt.t.size * stats.t.pdf(centres, tt.df) * (edges[1] - edges[0])
    hist.set_counts(counts, edges, ylim=(0, 1.1 * max(counts.max(), expected.max())))
    hist.set_curve(f"null t({tt.df:g}) density", centres, expected)
    return hist


_LINE_STYLES = {name: palette.line(name) for name in ("bonferroni", "rft", "permutation")}

CLUSTER_METHODS = ("rft_cluster", "size", "tfce")  # see _methods.METHODS
_LINE_LABELS = {"bonferroni": "Bonferroni threshold", "rft": "RFT threshold",
                "permutation": "permutation threshold"}


class CDTControl:
    """The cluster-defining threshold as a p (0.01, 0.005, 0.001) and the t it means."""

    def __init__(self, state):
        from ..rft import CDT_CHOICES

        self.state = state
        self.dropdown = widgets.Dropdown(
            options=[(f"p < {p:g}", p) for p in CDT_CHOICES], description="clusters at",
            value=min(CDT_CHOICES, key=lambda p: abs(p - state.cluster_cdt_p)),
            layout=widgets.Layout(width="190px"))
        self.label = widgets.HTML()
        self.dropdown.observe(self._on_dropdown, names="value")
        state.observe(self._update, names=["cluster_cdt_p", "ttest"])
        self.widget = widgets.HBox([self.dropdown, self.label])
        self._update()

    def _on_dropdown(self, change):
        self.state.cluster_cdt_p = float(change["new"])

    def _update(self, change=None):
        from ..rft import cdt_from_p

        if self.state.cluster_cdt_p in [v for _, v in self.dropdown.options]:
            self.dropdown.value = self.state.cluster_cdt_p  # (set from code: follow it)
        tt = self.state.ttest
        if tt is None:
            self.label.value = ""
            return
        t = cdt_from_p(self.state.cluster_cdt_p, tt.df, tt.two_sided)
        self.label.value = (f"<span style='font-size:12px'>uncorrected, i.e. "
                            f"{'|t|' if tt.two_sided else 't'} &gt; {t:.2f}</span>")


class ComparisonPanel(Panel):
    """Step 4: Bonferroni and random field theory against sign-flip permutation max-t.

    The permutation null is computed once at ``state.n_perm_max`` flips (all of them when
    the cohort allows: 16 subjects give 32,768); the n_perm slider takes prefixes, the alpha
    slider only moves thresholds: neither recomputes a statistic.
    """

    title = "4. Parametric vs permutation"
    tasks = ("permute",)

    def __init__(self, state=None, background=True):
        super().__init__(state, background)
        s = self.state
        self.alpha_slider = widgets.FloatSlider(min=0.01, max=0.20, step=0.01,
                                                description="alpha", readout_format=".2f")
        self.alpha_text = widgets.HTML()
        self.n_perm_slider = widgets.SelectionSlider(options=[("10,000", 10000)],
                                                     description="n_perm",
                                                     layout=widgets.Layout(width="420px"))
        self.run_button = widgets.Button(description="Run permutations", icon="play",
                                         button_style="primary",
                                         layout=widgets.Layout(width="180px"))
        self.clusters_box = widgets.Checkbox(
            description="also cluster inference: RFT extent, permutation size and TFCE "
                        "(1,000 flips, slower)", indent=False,
            value=any(m in s.methods for m in CLUSTER_METHODS),
            layout=widgets.Layout(width="auto"))
        self.clusters_box.observe(self._on_clusters_box, names="value")
        self.cdt = CDTControl(s)
        self.progress = ProgressRow(s, ["permute"], "flips")
        self.maps_image = clickable_projection(
            s, lambda: self._maps, alt="each method's corrected p map",
            tiebreak=lambda: self._maps and abs_t_volume(s, self._maps.grid))
        self.null_image = png_image()
        self.table = widgets.HTML()
        link((s, "alpha"), (self.alpha_slider, "value"))
        self.run_button.on_click(lambda _: self.start("permute"))
        self.n_perm_slider.observe(self._on_n_perm_slider, names="value")
        s.observe(self._on_results, names=["ttest", "permutation", "clusters", "methods"])
        s.observe(self._on_settings, names=["alpha", "n_perm"])
        s.observe(self._on_busy, names="busy")
        self.widget.children = [
            widgets.HBox([self.alpha_slider, self.alpha_text]),
            widgets.HBox([self.n_perm_slider, self.run_button]),
            widgets.HBox([self.clusters_box, self.cdt.widget]),
            self.progress.widget,
            self.message,
            widgets.HBox([self.maps_image, self.null_image],  # wraps on narrow screens
                         layout=widgets.Layout(flex_flow="row wrap", align_items="center")),
            self.table, cursor_views(s).widget]
        self._maps = self._null = None
        self._syncing = False
        self._on_results()

    # -------------------------------------------------------------- events
    def _on_busy(self, change):
        self.run_button.disabled = bool(change["new"])

    def _on_clusters_box(self, change):
        base = [m for m in self.state.methods if m not in CLUSTER_METHODS]
        self.state.methods = base + (list(CLUSTER_METHODS) if change["new"] else [])

    def _on_n_perm_slider(self, change):
        if not self._syncing:
            self.state.n_perm = int(change["new"])

    @drawing
    def _on_results(self, change=None):
        s = self.state
        if s.ttest is None:
            self._maps = None
            self.table.value = "<i>No t-test yet: fetch the maps first.</i>"
            return
        self._sync_n_perm_options()
        labels = [f"{m}" for m in s.methods]
        self._maps = render.GlassBrainFigure(
            _grid_of(s.masked), labels, n_cols=min(3, len(labels)), signed=False, vmax=3.0,
            view_width=COMPARISON_VIEW_PX / PX, stack="column", title_lines=2,
            colorbar_label="-log10 corrected p")
        self._null = _null_histogram(s)
        self._values_for, self._null_drawn = {}, None
        self._on_settings()

    def _sync_n_perm_options(self):
        s = self.state
        options = s.n_perm_options()
        values = [v for _, v in options]
        wanted = s.effective_n_perm()
        if wanted not in values:
            wanted = min(values, key=lambda v: abs(np.log(v / wanted)))
        self._syncing = True  # the slider's own events must not redraw half-built figures
        try:
            self.n_perm_slider.options = options
            self.n_perm_slider.value = wanted
        finally:
            self._syncing = False
        s.n_perm = wanted

    @drawing
    def _on_settings(self, change=None):
        if self._maps is None:
            return
        s = self.state
        alpha, n_perm = s.alpha, s.effective_n_perm()
        if self.n_perm_slider.value != n_perm and n_perm in [v for _, v in
                                                             self.n_perm_slider.options]:
            self.n_perm_slider.value = n_perm
        self.alpha_text.value = f"<b>FWER &lt; {alpha:.0%}</b>: show -log10 p &gt; " \
                                f"{-np.log10(alpha):.2f}"
        results = s.comparison(alpha=alpha, n_perm=n_perm)
        self.table.value = comparison_table(s, results, alpha, n_perm)
        # each picture leaves with its text as soon as it is ready, the small one first:
        # the browser decodes it while the kernel draws the maps
        self._draw_null(results, alpha, n_perm)
        with self.null_image.hold_sync():
            self.null_image.value = self._null.to_png()
            self._describe_null(results, n_perm)
        self._draw_maps(results, alpha)
        with self.maps_image.hold_sync():
            self.maps_image.value = self._maps.to_png()
            self._describe_maps(results, alpha)

    def _describe_maps(self, results, alpha):
        from ._methods import METHODS

        found = []
        for name in self.state.methods:
            r = results.get(name)
            if r is None:
                found.append(f"{METHODS[name].label}: not computed yet")
                continue
            found.append(f"{r.label}: {r.n_survivors:,} voxels" + (
                f" (|t| > {r.threshold:.2f})" if np.isfinite(r.threshold) else ""))
        describe(self.maps_image, (
            f"Glass brains of -log10 corrected p, one column per method, showing the voxels "
            f"with corrected p <= alpha = {alpha:.2f}; darker is smaller p. "
            + "; ".join(found) + "."))

    def _describe_null(self, results, n_perm):
        from ._methods import METHODS

        lines = [f"{METHODS[m].label} {results[m].threshold:.2f}" for m in _LINE_STYLES
                 if results.get(m) is not None and np.isfinite(results[m].threshold)]
        perm = self.state.permutation
        null = (f"Histogram of the largest |t| over the brain in {n_perm:,} sign flips"
                if perm is not None else "Null histogram, empty until the permutations run")
        observed = (f"; observed max |t| {abs(perm.max_null[0]):.2f}" if perm is not None
                    else "")
        interval = results.get("permutation")
        interval = (f" (Monte-Carlo interval {interval.interval[0]:.2f} to "
                    f"{interval.interval[1]:.2f})" if interval is not None else "")
        describe(self.null_image, f"{null}. Thresholds: {', '.join(lines)}{interval}"
                                  f"{observed}.")

    # -------------------------------------------------------------- drawing
    def _draw_maps(self, results, alpha):
        from ._methods import METHODS

        for name in self.state.methods:
            result = results.get(name)
            label = METHODS[name].label
            if result is None:
                self._maps.set_title(name, f"{label}\npress Run permutations")
                continue
            if self._values_for.get(name) is not result.neg_log10_p:
                self._maps.set_values(name, result.neg_log10_p)
                self._values_for[name] = result.neg_log10_p
            above = (f", |t| > {result.threshold:.2f}" if np.isfinite(result.threshold)
                     else "")
            self._maps.set_title(name, f"{label}\n{result.n_survivors:,} voxels{above}")
        self._maps.set_threshold(-np.log10(alpha))

    def _draw_null(self, results, alpha, n_perm):
        perm = self.state.permutation
        if perm is not None and self._null_drawn != (perm, n_perm):
            self._null_drawn = (perm, n_perm)  # bars change with n_perm only
            null = np.abs(perm.max_null[:n_perm])
            counts, _ = np.histogram(null, bins=self._null.edges)
            # fractions on a fixed y range: a new n_perm only redraws the bars
            self._null.set_counts(counts / n_perm, self._null.edges, ylim=self._null.ylim)
            self._null.set_line("observed max |t|", [abs(perm.max_null[0])])
            self._null.set_title(f"max |t| of {n_perm:,} sign flips (flip 0 = observed)")
        for name in _LINE_STYLES:
            result = results.get(name)
            self._null.set_line(_LINE_LABELS[name],
                                [result.threshold] if result is not None else [])
        perm_result = results.get("permutation")
        if perm_result is not None:
            self._null.set_band(*perm_result.interval)


def _null_histogram(state):
    """The max-|t| null histogram with the methods' thresholds (x range fixed per data)."""
    from scipy import stats

    lines = {_LINE_LABELS[name]: style for name, style in _LINE_STYLES.items()}
    lines["observed max |t|"] = palette.line("observed")
    hist = render.HistogramFigure(lines, "max |t| over the brain",
                                  size=(WIDE_WIDTH_PX / PX, 300 / PX),
                                  band_label="permutation threshold:\n95% Monte-Carlo interval",
                                  value_labels=list(lines))
    tt = state.ttest
    bonferroni_top = stats.t.isf(0.005 / tt.t.size, tt.df)  # alpha = 0.01 two-sided
    top = max(bonferroni_top, np.abs(tt.t).max())
    if state.permutation is not None:  # the far tail (flips near the observed) is cut
        top = max(top, np.quantile(np.abs(state.permutation.max_null), 0.995))
    # the axis starts near the data: the lowest threshold or the bulk of the null
    low = min(stats.t.isf(0.1 / tt.t.size, tt.df), np.abs(tt.t).max())
    if state.field is not None:  # random field theory's lowest threshold (alpha = 0.2)
        low = min(low, state.field.threshold(0.2, tt.df, two_sided=tt.two_sided))
    if state.permutation is not None:
        low = min(low, np.quantile(np.abs(state.permutation.max_null), 0.001))
    hist.edges = np.linspace(0.9 * low, top * 1.05, 81)
    hist.ylim = (0.0, 0.1)
    if state.permutation is not None:
        counts, _ = np.histogram(np.abs(state.permutation.max_null), bins=hist.edges)
        hist.ylim = (0.0, 1.5 * counts.max() / counts.sum())
    hist.set_ylabel("fraction of flips")
    hist.set_counts(np.zeros(80), hist.edges, ylim=hist.ylim)
    hist.set_title("max |t| null: press Run permutations")
    return hist


def comparison_table(state, results, alpha, n_perm):
    """HTML table: method, |t| threshold, survivors, smallest corrected p (+/- MC error)."""
    from ._methods import METHODS

    rows = []
    for name in state.methods:
        result = results.get(name)
        if result is None:
            rows.append(f"<tr><td>{METHODS[name].label}</td><td colspan=4>"
                        "<i>press Run permutations</i></td></tr>")
            continue
        threshold = narrative.threshold_text(result.threshold)
        if result.interval is not None:
            threshold += f" [{result.interval[0]:.2f}, {result.interval[1]:.2f}]"
        p = f"{result.min_p:.2g}"
        if result.min_p_error is not None:
            p += f" &plusmn; {result.min_p_error:.1g}"
        rows.append(f"<tr><td>{result.label}</td><td>{threshold}</td>"
                    f"<td><b>{result.n_survivors:,}</b></td><td>{p}</td>"
                    f"<td>{html.escape(result.note)}</td></tr>")
    if "rft" in state.methods:  # SPM's row right after random field theory's
        at = state.methods.index("rft") + 1
        rows[at:at] = _spm_row(results)
    head = ("<tr><th>method</th><th>|t| threshold</th><th>voxels surviving</th>"
            "<th>smallest corrected p</th><th>notes</th></tr>")
    style = ("<style>.gt-table td,.gt-table th{padding:2px 10px;text-align:left}"
             "</style>")
    return (f"{style}<table class='gt-table'>{head}{''.join(rows)}</table>"
            f"<div style='font-size:12px'>{_why_they_differ(state, results, alpha)}</div>")


def _spm_row(results):
    """SPM's ``spm_uc``: the lower of the RFT and Bonferroni thresholds (a table row)."""
    from .. import narrative

    rft, bonferroni = results.get("rft"), results.get("bonferroni")
    if rft is None or bonferroni is None:
        return []
    spm = narrative.spm_outcome(rft, bonferroni)
    which = "Bonferroni" if bonferroni.threshold <= rft.threshold else "random field theory"
    return [f"<tr><td>{html.escape(palette.label('spm'))}</td>"
            f"<td>{narrative.threshold_text(spm.threshold)}</td>"
            f"<td>{spm.n_survivors:,}</td><td>-</td>"
            f"<td>uses {which}'s threshold here</td></tr>"]


def _why_they_differ(state, results, alpha):
    """The comparison sentences (generated from ``results``) and what each method assumes."""
    from .. import narrative

    tt = state.ttest
    text = html.escape(narrative.comparison_paragraph(
        results, alpha, df=tt.df, field=state.field, two_sided=tt.two_sided,
        n_perm=state.effective_n_perm()))
    text += (f"<br>All three control the family-wise error rate (FWER) at {alpha:g}: "
             "Bonferroni needs no assumption (it is a bound, conservative when voxels "
             "are dependent); random field theory assumes a smooth Gaussian-like field; "
             "permutation max-t assumes only that, under the null, each subject's whole "
             "map is as likely as its negative (symmetric jointly over voxels) and "
             "subjects are independent.")
    if "permutation" in results:
        n_perm = state.effective_n_perm()
        text += "<br>" + narrative.mc_error_note(n_perm, state.n_distinct)
    return text


def _fwhm_text(fwhm):
    return " x ".join(f"{v:.1f}" for v in np.atleast_1d(fwhm))
