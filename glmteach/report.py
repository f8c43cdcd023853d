"""A static HTML report of the seed example's analysis (what ``glmteach demo`` writes).

The figures are the seed example's (nilearn's "Second-level fMRI model: one sample test"):
the subjects' t-maps at t = 2, the group map at uncorrected p < 0.001, the family-wise
error maps of Bonferroni, random field theory and sign-flip permutation max-t (signed
``-log10`` corrected p, vmax 3, shown where ``p <= alpha``) and the max-t null distribution
with every method's threshold. They are drawn with nilearn's glass brains on matplotlib
``Figure`` objects (Agg canvas, never pyplot) and saved as PNG files next to
``report.html``, which refers to them by relative paths.
"""

from dataclasses import dataclass, field
import html
import warnings
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import __version__, palette

REPORT_MARKER = ".glmteach-report"
REPORT_FILE = "report.html"
NEG_LOG10_VMAX = 3.0
FIGURE_DPI = 90


@dataclass
class MethodRow:
    """One line of the comparison table.

    Attributes
    ----------
    method : str
        Name shown to learners.
    threshold : float
        ``|t|`` a voxel must reach (``inf`` when nothing can survive).
    n_survivors : int
        Voxels surviving.
    controls : str
        What the method controls, e.g. "FWER 5%" or "nothing (per voxel)".
    note : str
        Extra detail (e.g. the Monte-Carlo interval of a permutation threshold).
    available : bool
        False when the method could not be applied to these data (``note`` says why).
    """

    method: str
    threshold: float
    n_survivors: int
    controls: str
    note: str = ""
    available: bool = True
    key: str = ""       # palette key ("bonferroni"...); guessed from ``method`` if empty

    def style(self):
        """The palette style of this row's method (``key``, else guessed from the name)."""
        if self.key:
            return palette.style(self.key)
        name = self.method.lower()
        for style in palette.METHOD_STYLES.values():
            if name.startswith(style.label.lower()) or name.startswith(style.name):
                return style
        return palette.style("observed")

    def cells(self):
        """(threshold, survivors) as display text."""
        if not self.available:
            return "n/a", "n/a"
        threshold = f"{self.threshold:.2f}" if np.isfinite(self.threshold) else "none can"
        return threshold, f"{self.n_survivors:,}"


@dataclass
class DemoResults:
    """Everything the report shows; built by ``glmteach demo`` (see :mod:`glmteach.cli`)."""

    maps: object        # GroupMaps
    masked: object      # MaskedMaps
    tt: object          # TTest
    corrections: dict   # "uncorrected" / "bonferroni" / "rft" -> Correction (rft: or None)
    field: object       # RandomField
    perm: object        # PermutationResult
    alpha: float
    rows: list          # of MethodRow
    settings: dict
    timings: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- table


def format_table(rows, n_voxels):
    """The comparison as fixed-width text lines (what the terminal shows)."""
    header = f"{'method':<34} {'|t| threshold':>13} {'voxels surviving':>18}"
    lines = [header, "-" * len(header)]
    for row in rows:
        threshold, count = row.cells()
        lines.append(f"{row.method:<34} {threshold:>13} {count:>9} / {n_voxels:,}")
    return lines


# ----------------------------------------------------------------------------- figures


def _new_figure(width, height):
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def subjects_figure(maps, path, threshold=2.0):
    """The seed's grid of subjects' first-level t-maps (4 per row, axial glass brains)."""
    from nilearn import plotting

    imgs = maps.tmaps if maps.tmaps is not None else maps.imgs
    n_cols = 4
    n_rows = -(-len(imgs) // n_cols)
    fig = _new_figure(8.0, 2.0 * n_rows + 0.4)
    axes = np.atleast_2d(fig.subplots(n_rows, n_cols))
    for ax, img, subject in zip(axes.flat, imgs, maps.subjects):
        plotting.plot_glass_brain(img, colorbar=False, threshold=threshold, title=subject,
                                  axes=ax, plot_abs=False, display_mode="z",
                                  cmap=palette.signed_cmap())
    for ax in axes.flat[len(imgs):]:
        ax.set_axis_off()
    kind = "t-maps" if maps.tmaps is not None else "contrast maps"
    title = f"subjects' {kind}, left - right button press (|t| > {threshold:g})"
    fig.suptitle(("SIMULATED " if maps.is_simulated else "") + title)
    fig.savefig(path, dpi=FIGURE_DPI)


def glass_brain_figure(img, path, title, threshold, vmax=None, colorbar_label=None):
    """One signed glass brain (sagittal, coronal, axial) saved as a PNG."""
    from nilearn import plotting

    if not (np.abs(np.asarray(img.dataobj)) >= threshold).any():
        title += " - no voxel survives"
    fig = _new_figure(7.5, 2.9)
    with warnings.catch_warnings():  # nilearn warns about the empty map we mean to show
        warnings.filterwarnings("ignore", message="empty mask")
        display = plotting.plot_glass_brain(
            img, threshold=threshold, vmax=vmax, plot_abs=False, colorbar=True,
            display_mode="ortho", title=title, figure=fig,
            cmap=palette.signed_cmap())
    if colorbar_label and getattr(display, "_cbar", None) is not None:
        display._cbar.set_label(colorbar_label)
    fig.savefig(path, dpi=FIGURE_DPI)


def signed_neg_log10(p, t):
    """``sign(t) * -log10(p)``: large where significant, red for t > 0, blue for t < 0."""
    return np.sign(t) * -np.log10(np.maximum(np.asarray(p, dtype=float), 1e-300))


def null_histogram_figure(results, path):
    """Histogram of the permutation max-|t| null with every method's threshold."""
    perm, rows = results.perm, results.rows
    fig = _new_figure(9.5, 3.2)
    ax = fig.add_subplot()
    observed = float(np.max(perm.stat))
    finite = [row.threshold for row in rows if row.available and np.isfinite(row.threshold)]
    right = 1.08 * max([observed, np.quantile(perm.max_null, 0.999)] + finite)
    beyond = int((perm.max_null > right).sum())
    ax.hist(np.minimum(perm.max_null, right), bins=80, range=(0, right), color=palette.BARS,
            edgecolor=palette.BAR_EDGE, linewidth=0.3)
    for row in rows:
        if row.available and np.isfinite(row.threshold):
            ax.axvline(row.threshold, linewidth=1.8, label=f"{row.method}: {row.threshold:.2f}",
                       **row.style().line)
    ax.axvline(observed, linewidth=1.4, label=f"observed max |t| = {observed:.2f}",
               **palette.line("observed"))
    ax.set_xlabel("largest |t| over the brain, one value per sign flip")
    ax.set_ylabel("number of flips")
    kind = "all flips (exact)" if perm.exact else "random flips"
    more = f" ({beyond} beyond the right edge)" if beyond else ""
    ax.set_title(f"Null distribution of the maximum: {perm.n_flips:,} {kind}{more}",
                 fontsize=10)
    ax.set_xlim(left=max(0.0, 0.9 * min(finite + [np.min(perm.max_null)])), right=right)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=FIGURE_DPI)


def make_figures(results, out_dir):
    """Draw every figure into ``out_dir``; return ``{name: file name}`` in report order."""
    out_dir = Path(out_dir)
    masked, tt, alpha = results.masked, results.tt, results.alpha
    corrections, perm = results.corrections, results.perm
    files = {}
    files["subjects"] = "subjects_tmaps.png"
    subjects_figure(results.maps, out_dir / files["subjects"])
    files["uncorrected"] = "uncorrected_p001.png"
    glass_brain_figure(masked.to_img(tt.t), out_dir / files["uncorrected"],
                       "group t, uncorrected p < 0.001",
                       threshold=corrections["uncorrected"].threshold, colorbar_label="t")
    cutoff = -np.log10(alpha)
    fwer_maps = {"bonferroni": corrections["bonferroni"], "rft": corrections["rft"],
                 "permutation": perm}
    for name, result in fwer_maps.items():
        if result is None:  # the method could not be applied (the table says why)
            continue
        p = result.corrected_p() if name == "permutation" else result.p_corrected
        files[name] = f"{name}_fwer.png"
        glass_brain_figure(masked.to_img(signed_neg_log10(p, tt.t)), out_dir / files[name],
                           f"{_LABELS[name]}: signed -log10 p (FWER), p <= {alpha:g}",
                           threshold=cutoff * (1 - 1e-9), vmax=NEG_LOG10_VMAX,
                           colorbar_label="-log10 p")
    files["null"] = "null_histogram.png"
    null_histogram_figure(results, out_dir / files["null"])
    return files


_LABELS = {"bonferroni": "Bonferroni", "rft": "Random field theory",
           "permutation": "Permutation max-t"}


# ----------------------------------------------------------------------------- HTML


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
.simulated { background: #b00020; color: white; font-size: 1.3rem; font-weight: bold;
             padding: 0.8rem 1rem; border-radius: 6px; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ccc; padding: 0.3rem 0.8rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; }
figcaption { color: #444; font-size: 0.95rem; }
code { background: #f3f3f3; padding: 0 0.2rem; }
"""

_CAPTIONS = {
    "subjects": "Each subject's first-level t-map, thresholded at |t| = 2 for display only "
                "(as in nilearn's example). Red: left > right press; blue: right > left.",
    "uncorrected": "The group t-map where the uncorrected two-sided p < 0.001. Every voxel "
                   "is tested at 0.1%: with tens of thousands of voxels, dozens of false "
                   "positives are expected where nothing happens.",
    "bonferroni": "Bonferroni: p &times; number of voxels. Colour = sign(t) &times; "
                  "-log10(corrected p), shown where corrected p &le; &alpha;.",
    "rft": "Random field theory: the same idea, but it counts resolution elements (resels) "
           "of the smooth map instead of voxels.",
    "permutation": "Sign-flip permutation max-t: corrected p = share of flips whose largest "
                   "|t| reaches the voxel's |t|. No assumption about smoothness.",
    "null": "Each bar counts sign flips by the largest |t| they produce anywhere in the "
            "brain. The permutation threshold is the (1 - &alpha;) quantile of this "
            "distribution; the lines show where each method puts its threshold.",
}


def _table_html(rows, n_voxels):
    body = []
    for row in rows:
        threshold, count = row.cells()
        body.append(
            f"<tr><td>{html.escape(row.method)}</td><td>{html.escape(row.controls)}</td>"
            f"<td class='num'>{threshold}</td><td class='num'>{count}</td>"
            f"<td>{html.escape(row.note)}</td></tr>")
    return ("<table><tr><th>method</th><th>controls</th><th>|t| threshold</th>"
            f"<th>voxels surviving (of {n_voxels:,})</th><th>note</th></tr>"
            + "".join(body) + "</table>")


def _header_html(results):
    maps, masked = results.maps, results.masked
    parts = ["<h1>glmteach: group one-sample t-test, left vs right button press</h1>"]
    if maps.is_simulated:
        parts.append(
            "<p class='simulated'>SIMULATED DATA: these maps are a simulated cohort built "
            "from nilearn's packaged group map, not real subjects. Run <code>glmteach "
            "fetch</code> where there is internet to use the real localizer maps.</p>")
    parts.append(f"<p><b>Data:</b> {html.escape(maps.description)}</p>")
    if maps.notice:
        parts.append(f"<p>{html.escape(maps.notice)}</p>")
    parts.append(f"<p><b>Mask:</b> {html.escape(masked.summary())}</p>")
    parts.append(f"<p><b>Smoothness (random field theory):</b> "
                 f"{html.escape(results.field.summary())}</p>")
    return parts


def _settings_html(results):
    items = "".join(f"<li>{html.escape(str(k))}: <code>{html.escape(str(v))}</code></li>"
                    for k, v in results.settings.items())
    times = ", ".join(f"{k} {v:.1f} s" for k, v in results.timings.items())
    return (f"<h2>Settings</h2><ul>{items}</ul><p>Timings: {html.escape(times)}.</p>"
            f"<p>Made by glmteach {__version__}.</p>")


def write_html(results, out_dir, files):
    """Write ``out_dir/report.html`` referring to ``files`` by relative paths."""
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             "<title>glmteach report</title>", f"<style>{_CSS}</style></head><body>"]
    parts += _header_html(results)
    parts.append(f"<h2>Which voxels survive (&alpha; = {results.alpha:g})?</h2>")
    parts.append(_table_html(results.rows, results.masked.n_voxels))
    for name, filename in files.items():
        parts.append(f"<figure><img src='{html.escape(filename)}' alt='{name} figure'>"
                     f"<figcaption>{_CAPTIONS[name]}</figcaption></figure>")
    parts.append(_settings_html(results))
    parts.append("</body></html>")
    path = Path(out_dir) / REPORT_FILE
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def write_report(results, out_dir):
    """Draw the figures and write the HTML report into ``out_dir`` (which must exist).

    Parameters
    ----------
    results : DemoResults
    out_dir : str or Path

    Returns
    -------
    Path of ``report.html``.
    """
    files = make_figures(results, out_dir)
    return write_html(results, out_dir, files)
