"""The voxel under the cursor: its numbers under every method, and slices through it.

- :func:`voxel_numbers`: what the statistics API says at the cursor's voxel (t, uncorrected
  p, each method's corrected p and whether the voxel survives, the size of its cluster,
  the subjects' values), read from the lesson's results, never recomputed differently.
- :class:`VoxelReadout`: those numbers as a table and the subjects' values as a strip
  plot (the points the t-test sees), redrawn on every cursor move.
- :class:`SliceView`: sagittal, coronal and axial slices through the cursor (the t map or
  one method's surviving voxels, chosen in the panel); click a slice to move the cursor.

One readout and one slice view serve a lesson (:func:`cursor_views`): panels show the same
widgets, so a cursor move redraws them once.
"""

import html
import threading
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np

from .. import palette, render
from ..render import slices as slice_pictures
from ._methods import METHODS
from .clickable import ClickableImage

#: What the readout says about how the cursor got where it is.
SOURCES = {
    "projection": "picked on a projection: the voxel whose value the picture shows at that "
                  "pixel (the strongest along the line of sight)",
    "slice": "picked on a slice",
    "key": "moved with the keyboard",
    "peak": "the peak |t| (click any brain picture to move)",
    "mm": "typed coordinates",
}
_HINT = ("<span style='font-size:12px'>Click any brain picture to point at a voxel; on a "
         "picture, the arrow keys move the cursor along x (left/right) and y (up/down), "
         "Page Up/Down along z.</span>")
_CLUSTER_KINDS = (("size", "Cluster size (perm.)"), ("mass", "Cluster mass (perm.)"))


# ====================================================================== numbers
@dataclass
class MethodAtVoxel:
    """One method's verdict at the cursor's voxel."""

    name: str
    label: str
    p: float
    survives: bool
    p_error: float = None
    note: str = ""


@dataclass
class VoxelNumbers:
    """Everything the readout shows (``column`` is None outside the mask)."""

    xyz: tuple
    ijk: tuple
    source: str
    column: int = None
    t: float = None
    df: float = None
    p: float = None
    values: np.ndarray = None
    alpha: float = None
    methods: list = field(default_factory=list)


def method_p_values(state, name, n_perm=None):
    """Corrected p of every voxel, shape (n_voxels,), for a method of the lesson (cached).

    ``name``: a key of ``_methods.METHODS``, ``"mass"`` (cluster mass) or ``"fdr_bh"``
    (Benjamini-Hochberg adjusted p, i.e. q values). Same numbers as the statistics API:
    ``corrections.correct``, ``PermutationResult.corrected_p``, ``ClusterResult.cluster_p``
    / ``tfce_p`` (cluster nulls use at most their own number of flips, as the panel does).
    """
    from .. import corrections

    tt = state.ttest
    if name in ("bonferroni", "rft", "fdr_bh"):
        key = ("ttest", name, "p_corrected")  # shared with _methods' own cache
        if key not in state._cache:
            field_ = state.field if name == "rft" else None
            state._cache[key] = np.asarray(corrections.correct(
                tt, name, alpha=0.05, field=field_).p_corrected, dtype=float)
        return state._cache[key]
    n_perm = state.effective_n_perm(n_perm)
    if name == "permutation":
        key = ("permutation", "p", n_perm)
        if key not in state._cache:
            state._cache[key] = state.permutation.corrected_p(n_perm=n_perm)
        return state._cache[key]
    clusters = state.clusters
    if name == "rft_cluster":  # random field theory's p of each voxel's cluster (spm_P_RF)
        key = ("clusters", name, "p")
        if key not in state._cache:
            p_cluster = np.ones(clusters.n_clusters + 1)
            p_cluster[1:] = state.field.cluster_p(clusters.cluster_sizes(),
                                                  clusters.t_threshold, clusters.df,
                                                  clusters.two_sided)
            state._cache[key] = p_cluster[clusters.labels]
        return state._cache[key]
    n_perm = min(n_perm, clusters.n_flips)
    key = ("clusters", name, n_perm)
    if key not in state._cache:
        state._cache[key] = (clusters.tfce_p(n_perm) if name == "tfce"
                             else clusters.cluster_p(name, n_perm))
    return state._cache[key]


def _available(state, name):
    if name in ("bonferroni", "rft", "fdr_bh"):
        return state.ttest is not None and (name != "rft" or state.field is not None)
    if name == "permutation":
        return state.permutation is not None
    if name == "rft_cluster":
        return state.clusters is not None and state.field is not None
    return state.clusters is not None and (name != "tfce" or state.clusters.tfce is not None)


def voxel_numbers(state, alpha=None, n_perm=None):
    """The cursor's voxel under every computed method: a :class:`VoxelNumbers` or None.

    Survival is ``p <= alpha`` for every method (FWER; FDR for Benjamini-Hochberg), the rule
    the comparison panel counts survivors with.
    """
    cursor = state.cursor
    if cursor is None:
        return None
    out = VoxelNumbers(cursor.xyz, cursor.ijk, cursor.source)
    column = state.cursor_column
    tt = state.ttest
    if column is None or tt is None:
        return out
    alpha = state.alpha if alpha is None else float(alpha)
    out.column, out.alpha = column, alpha
    out.t, out.df, out.p = float(tt.t[column]), float(tt.df), float(tt.p[column])
    out.values = state.masked.Y[:, column]
    names = [m for m in state.methods if m in METHODS and METHODS[m].depends_on != "clusters"]
    for name in names:
        if _available(state, name):
            out.methods.append(_at_voxel(state, name, METHODS[name].label, column, alpha,
                                         n_perm))
            if name == "rft" and _available(state, "bonferroni"):
                out.methods.append(_spm_at_voxel(state, column, alpha))
    if _available(state, "fdr_bh"):
        out.methods.append(_at_voxel(state, "fdr_bh", "FDR (Benjamini-Hochberg q)", column,
                                     alpha, n_perm,
                                     note="controls the false discovery rate, not the FWER"))
    if state.clusters is not None:
        out.methods += _cluster_rows(state, column, alpha, n_perm)
    return out


def _at_voxel(state, name, label, column, alpha, n_perm, note=""):
    p = float(method_p_values(state, name, n_perm)[column])
    error = None
    if name == "permutation":  # the statistics API's Monte-Carlo error (finite population)
        n = state.effective_n_perm(n_perm)
        perm = state.permutation
        error = float(perm._null.p_error(perm.stat[column:column + 1], n)[0])
        note = f"{n:,} flips"
    elif name == "rft":
        note = "smooth Gaussian field (expected Euler characteristic)"
    elif name == "bonferroni":
        note = f"p x {state.ttest.t.size:,} tests"
    return MethodAtVoxel(name, label, p, p <= alpha, error, note)


def _spm_at_voxel(state, column, alpha):
    """SPM's voxel-level FWE rule (``spm_uc``, the lower of the RFT and Bonferroni
    thresholds) at one voxel: it survives when either method's p is <= alpha, so its p is
    the smaller of the two (the comparison panel's SPM row, voxel by voxel)."""
    p = min(float(method_p_values(state, "rft")[column]),
            float(method_p_values(state, "bonferroni")[column]))
    return MethodAtVoxel("spm", palette.label("spm"), p, p <= alpha, None,
                         "the lower of the RFT and Bonferroni thresholds (spm_uc)")


def _cluster_rows(state, column, alpha, n_perm):
    clusters = state.clusters
    n = min(state.effective_n_perm(n_perm), clusters.n_flips)
    label = int(clusters.labels[column])
    threshold = clusters.t_threshold
    if label:
        size = int(clusters.cluster_sizes()[label - 1])
        mass = float(clusters.cluster_masses()[label - 1])
        where = {"size": f"its cluster: {size:,} voxels with |t| > {threshold:.2f}",
                 "mass": f"its cluster's mass: {mass:,.1f}"}
    else:
        where = {kind: f"not in a cluster (|t| < {threshold:.2f} here)"
                 for kind, _ in _CLUSTER_KINDS}
    errors = {"size": lambda: clusters.cluster_p_error("size", n)[column],
              "mass": lambda: clusters.cluster_p_error("mass", n)[column],
              "tfce": lambda: clusters.tfce_p_error(n)[column]}
    rows = []
    if "rft_cluster" in state.methods and _available(state, "rft_cluster"):
        p = float(method_p_values(state, "rft_cluster", n_perm)[column])
        rows.append(MethodAtVoxel("rft_cluster", METHODS["rft_cluster"].label, p,
                                  p <= alpha, None, f"{where['size']}; smoothness of the "
                                                    "data, no flips"))
    for kind, label_ in _CLUSTER_KINDS:
        p = float(method_p_values(state, kind, n_perm)[column])
        rows.append(MethodAtVoxel(kind, label_, p, p <= alpha, float(errors[kind]()),
                                  f"{where[kind]}; {n:,} flips"))
    if clusters.tfce is not None:
        p = float(method_p_values(state, "tfce", n_perm)[column])
        rows.append(MethodAtVoxel("tfce", "TFCE (perm.)", p, p <= alpha, float(errors["tfce"]()),
                                  f"TFCE = {abs(float(clusters.tfce[column])):,.1f}; "
                                  f"{n:,} flips"))
    return rows


def readout_html(numbers):
    """The readout's text and table (HTML)."""
    if numbers is None:
        return "<i>Click a brain picture to point at a voxel.</i>"
    x, y, z = numbers.xyz
    where = (f"<b>({x:.0f}, {y:.0f}, {z:.0f}) mm</b> &nbsp;voxel "
             f"[{', '.join(str(v) for v in numbers.ijk)}]")
    how = SOURCES.get(numbers.source, "")
    head = f"<div>{where}<br><span style='font-size:12px'>{html.escape(how)}</span></div>"
    if numbers.column is None:
        return head + "<div><i>Outside the group mask: no test here.</i></div>"
    lines = [head, f"<div>t = <b>{numbers.t:.2f}</b> (df = {numbers.df:g}), uncorrected "
                   f"p = <b>{_p(numbers.p)}</b></div>"]
    if numbers.methods:
        rows = "".join(
            f"<tr><td>{html.escape(m.label)}</td><td>{_p(m.p)}"
            f"{'' if m.p_error is None else f' &plusmn; {m.p_error:.1g}'}</td>"
            f"<td><b>{'yes' if m.survives else 'no'}</b></td>"
            f"<td style='font-size:11px'>{html.escape(m.note)}</td></tr>"
            for m in numbers.methods)
        lines.append(
            "<table class='gt-table gt-readout'><tr><th>method</th><th>corrected p</th>"
            f"<th>survives at {numbers.alpha:g}?</th><th>note</th></tr>{rows}</table>")
    return "".join(lines)


def _p(p):
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


# ====================================================================== widgets
def strip_svg(values, width=180, height=200):
    """An SVG strip plot of the subjects' values at one voxel: a point each, the mean, zero.

    Drawn by the browser (no PNG): a cursor move only sends this text. The scale is
    symmetric around 0, to a "nice" bound (1, 2, 2.5, 5 x 10^k).
    """
    values = np.asarray(values, dtype=float)
    top = _nice(1.1 * max(float(np.abs(values).max()), 1e-6))
    left, right, upper, lower = 44, width - 8, 24, height - 10

    def y(value):
        return upper + (top - value) / (2 * top) * (lower - upper)

    jitter = np.random.default_rng(0).uniform(-0.5, 0.5, values.size)
    middle, spread = (left + right) / 2, (right - left) * 0.35
    ticks = "".join(
        f"<line x1='{left - 4}' x2='{left}' y1='{y(v):.1f}' y2='{y(v):.1f}' stroke='#444'/>"
        f"<text x='{left - 6}' y='{y(v) + 3.5:.1f}' text-anchor='end'>{v:g}</text>"
        for v in (-top, -top / 2, 0.0, top / 2, top))
    points = "".join(f"<circle cx='{middle + j * 2 * spread:.1f}' cy='{y(v):.2f}' r='4' "
                     "fill='#333' fill-opacity='0.75'/>" for j, v in zip(jitter, values))
    mean = float(values.mean())
    above = int((values > 0).sum())
    label = (f"values of the {values.size} subjects at this voxel: mean {mean:.2f}, "
             f"{above} above zero")
    return (f"<svg class='gt-strip' role='img' aria-label='{label}' width='{width}' "
            f"height='{height}' font-size='10' font-family='sans-serif'>"
            f"<title>{label}</title>"
            f"<text x='2' y='12' font-size='11'>{values.size} subjects: mean {mean:.2f}</text>"
            f"<line x1='{left}' x2='{left}' y1='{upper}' y2='{lower}' stroke='#444'/>{ticks}"
            f"<line x1='{left}' x2='{right}' y1='{y(0):.1f}' y2='{y(0):.1f}' stroke='#999'/>"
            f"{points}<line x1='{middle - 1.15 * spread:.1f}' x2='{middle + 1.15 * spread:.1f}'"
            f" y1='{y(mean):.2f}' y2='{y(mean):.2f}' stroke='black' stroke-width='2.5'/>"
            "</svg>")


class VoxelReadout:
    """The cursor's numbers (table) and its subjects' values (strip plot)."""

    def __init__(self, state):
        self.state = state
        self.html = widgets.HTML(layout=widgets.Layout(max_width="560px"))
        self.strip = widgets.HTML()
        self.widget = widgets.HBox([self.strip, self.html],
                                   layout=widgets.Layout(align_items="flex-start"))
        self.widget.add_class("gt-readout")
        self._lock = threading.RLock()
        state.observe(self.redraw, names=["cursor", "alpha", "n_perm", "ttest", "permutation",
                                          "clusters", "methods", "masked"])
        self.redraw()

    def redraw(self, change=None):
        with self._lock:
            try:
                numbers = voxel_numbers(self.state)
            except Exception as exc:  # the readout never breaks a panel
                from .state import error_message

                self.html.value = f"<i>{html.escape(error_message(exc))}</i>"
                return
            self.numbers = numbers
            self.html.value = readout_html(numbers)
            if numbers is None or numbers.column is None:
                self.strip.layout.display = "none"
                return
            self.strip.layout.display = None
            self.strip.value = strip_svg(numbers.values)


def _never_raises(method):
    """A slice view's redraw never breaks the task that changed the state: one line instead."""
    import functools

    @functools.wraps(method)
    def safe(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            from .state import error_message

            self.caption.value = f"<i>{html.escape(error_message(exc))}</i>"
    return safe


class CursorSlices:
    """Base of the pictures that show a ``SliceFigure`` through the lesson's cursor: they
    follow it (subclasses define ``_redraw``, and set ``state``, ``_figure``, ``_grid``,
    ``_lock`` and ``caption``)."""

    def _abc(self, cursor):
        from ..picking import to_canonical

        return to_canonical(cursor.ijk, self._grid._ornt, self._grid.original_shape)

    @_never_raises
    def _on_cursor(self, change):
        with self._lock:
            if self._figure is None or change["new"] is None:
                return
            self._figure.set_cursor(self._abc(change["new"]))
            self._redraw()


class SliceView(CursorSlices):
    """Slices through the cursor of the t map or of one method's surviving voxels."""

    def __init__(self, state):
        self.state = state
        self.choice = widgets.Dropdown(description="slices of",
                                       layout=widgets.Layout(width="360px"))
        self.image = ClickableImage(alt="slices through the cursor: click to move it; arrow "
                                        "keys and Page Up/Down move it one voxel")
        self.caption = widgets.HTML(_HINT, layout=widgets.Layout(max_width="470px"))
        self.widget = widgets.VBox([self.choice, self.image, self.caption])
        self._figure = self._grid = None
        self._shows = ""
        self._lock = threading.RLock()
        self.image.on_click(self._on_click)
        self.image.on_key(self._on_key)
        self.choice.observe(lambda _: self._draw_map(), names="value")
        state.observe(self._on_results, names=["ttest", "permutation", "clusters", "methods"])
        state.observe(self._on_threshold, names=["alpha", "n_perm", "p_threshold"])
        state.observe(self._on_cursor, names="cursor")
        self._on_results()

    def _options(self):
        s = self.state
        options = [("t map, |t| above the uncorrected threshold", "t")]
        for name in s.methods:
            if name in METHODS and _available(s, name):
                options.append((f"{METHODS[name].label}: surviving voxels", name))
        return options

    @_never_raises
    def _on_results(self, change=None):
        with self._lock:
            s = self.state
            if s.ttest is None:
                self._figure = None
                self.caption.value = "<i>No t-test yet: fetch the maps first.</i>"
                return
            if change is None or change["name"] == "ttest" or self._figure is None:
                self._grid = render.BrainGrid(s.masked.mask, s.masked.affine)
                vmax = _nice(np.percentile(np.abs(s.ttest.t), 99.9))
                self._figure = slice_pictures.SliceFigure(self._grid, vmax=vmax,
                                                          with_title=False)
            options = self._options()
            current = self.choice.value
            self.choice.options = options
            self.choice.value = current if current in [v for _, v in options] else "t"
            self._draw_map(cursor_too=True)

    @_never_raises
    def _draw_map(self, cursor_too=False):
        with self._lock:
            s = self.state
            if self._figure is None or s.ttest is None:
                return
            name = self.choice.value or "t"
            t = s.ttest.t
            if name == "t" or not _available(s, name):
                _, threshold, _ = s.uncorrected()
                values, title = t, (f"t map, uncorrected p < {s.p_threshold:.1e} "
                                    f"(|t| > {threshold:.2f})")
            else:
                survives = method_p_values(s, name) <= s.alpha
                values, threshold = np.where(survives, t, 0.0), 0.0
                title = (f"{METHODS[name].label}: {int(survives.sum()):,} voxels survive "
                         f"at FWER < {s.alpha:g} (t shown)")
            # the description goes under the picture: the figure's frame stays as drawn
            self._figure.set_volume(self._grid.volume(values), threshold)
            self._shows = title
            if cursor_too and s.cursor is not None:
                self._figure.set_cursor(self._abc(s.cursor))
            self.image.value = self._figure.to_png()
            self.caption.value = self._caption()

    def _caption(self):
        x, y, z = self._figure.cut_mm()
        return (f"<div style='font-size:12px'><b>{html.escape(self._shows)}</b>; cut through "
                f"x = {x:.0f}, y = {y:.0f}, z = {z:.0f} mm.</div>{_HINT}")

    def _on_threshold(self, change):
        """The t map follows the p threshold; survivors follow alpha and n_perm."""
        showing_t = (self.choice.value or "t") == "t"
        if showing_t == (change["name"] == "p_threshold"):
            self._draw_map()

    def _redraw(self):
        self.image.value = self._figure.to_png()
        self.caption.value = self._caption()

    def _on_click(self, px, py):
        if self._figure is None:
            return
        ijk = self._figure.pick(px, py)
        if ijk is not None:
            self.state.point_at_voxel(ijk, "slice")

    def _on_key(self, key):
        self.state.move_cursor(key)


def _nice(value):
    from .panels import _nice as nice

    return nice(value)


class CursorViews:
    """The slice view and the readout side by side (wrapping on narrow screens)."""

    def __init__(self, state):
        self.readout = VoxelReadout(state)  # first: the numbers reach the page first
        self.slices = SliceView(state)
        self.widget = widgets.HBox([self.slices.widget, self.readout.widget],
                                   layout=widgets.Layout(flex_flow="row wrap",
                                                         align_items="flex-start"))


def cursor_views(state):
    """The lesson's one :class:`CursorViews`, created on first use (panels share it)."""
    views = getattr(state, "_cursor_views", None)
    if views is None:
        views = state._cursor_views = CursorViews(state)
    return views
