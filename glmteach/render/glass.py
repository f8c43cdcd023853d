"""Live glass-brain panels: maximum-intensity projections updated in place.

nilearn's ``plot_glass_brain`` (0.35-0.5 s per figure) is too slow for a slider. Here the
three projections of a map are computed once; a threshold change only re-masks them,
updates the existing image artists and renders the figure to PNG bytes.
"""

from collections import namedtuple

import numpy as np
from matplotlib import colors
from matplotlib.cm import ScalarMappable

from .. import palette
from ._canvas import FONT_SIZE, _LiveFigure, new_figure
from ._raster import ViewRaster

_OUTLINE_FILL = colors.to_rgb(palette.OUTLINE_FILL)
_OUTLINE_EDGE = colors.to_rgb(palette.OUTLINE_EDGE)


_View = namedtuple("_View", "axes")  # where a view is drawn (its mm -> pixel transform)


def _schematic(ax, view):
    """nilearn's glass-brain outline (MNI mm) in ``ax``: its bounds, or None if unavailable."""
    try:
        from ._schematics import plot_brain_schematics  # one artist a view (memory)

        return plot_brain_schematics(ax, view, linewidth=0.6)
    except Exception:  # a nilearn without the schematics: the silhouette's contour instead
        return None


class GlassBrainFigure(_LiveFigure):
    """Panels of glass-brain projections on one colour scale, updated in place.

    The figure and its artists are created once; :meth:`set_volume` recomputes the MIPs of one
    panel (a few ms), :meth:`set_threshold` only re-masks them, :meth:`to_png` renders.

    Parameters
    ----------
    grid : BrainGrid
    names : list of str
        One panel per name (e.g. subjects, or correction methods), filled row by row.
    display_mode : str
        Views of each panel, any of ``"x"``, ``"y"``, ``"z"`` (default ``"xyz"``: ortho).
    n_cols : int
        Panels per row.
    signed : bool
        Signed maps use a diverging map on [-vmax, vmax]; unsigned (-log10 p) a sequential map
        on [0, vmax].
    vmax : float
    colorbar_label : str or None
        None draws no colour bar.
    panel_height : float
        Height of the tallest view in inches (all views share one mm scale).
    stack : {"row", "column"}
        Views of a panel side by side, or one above the other (panels side by side).
    title_lines : int
        Lines reserved for each panel's title.
    view_width : float, optional
        Width in inches of the narrowest view (overrides ``panel_height``): at
        ``render.PNG_DPI`` = 72 an inch is 72 pixels, so 300 px is ``300 / 72``.
    font_size : float
        Size of every text in points (= pixels at 72 dpi); titles are one point larger.
    """

    def __init__(self, grid, names, display_mode="xyz", n_cols=1, signed=True, vmax=3.0,
                 colorbar_label="", panel_height=1.7, stack="row", title_lines=1,
                 view_width=None, font_size=FONT_SIZE):
        if not names:
            raise ValueError("names must list at least one panel; pass e.g. ['t map'].")
        self.grid, self.names, self.signed = grid, list(names), signed
        self.display_mode = display_mode
        if stack not in ("row", "column"):
            raise ValueError(f"stack must be 'row' or 'column', got {stack!r}.")
        self.stack, self.title_lines = stack, title_lines
        self.cmap = palette.signed_cmap() if signed else palette.sequential_cmap()
        self.norm = colors.Normalize(-vmax if signed else 0.0, vmax)
        self.threshold = 0.0
        self.font_size = font_size
        self._projections = {name: None for name in self.names}
        self.volumes = {}  # canonical volumes shown: what a click on a projection picks from
        self._rasters, self._layers, self._titles = {}, {}, {}
        self._images = {}  # (name, view) -> its axes (``.axes``), for picking a clicked voxel
        self._lut = (self.cmap(np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
        if view_width is not None:
            widths = [w / h for w, h in self._view_sizes(1.0)]
            panel_height = view_width / min(widths)
        self.fig = self._layout(n_cols, panel_height, colorbar_label)
        self._set_dynamic(self._titles.values())
        self._set_stamped(self._titles.values())  # one title per panel, apart

    def _view_sizes(self, height):
        """(width, height) in inches of each view, all at one mm scale (tallest = height)."""
        mm = [(e[1] - e[0], e[3] - e[2]) for e in (self.grid.extents[v] for v in
                                                   self.display_mode)]
        scale = height / max(h for _, h in mm)
        return [(w * scale, h * scale) for w, h in mm]

    def _panel_boxes(self, sizes, gap):
        """Each view's (left, bottom) offset in its panel, and the panel's size."""
        if self.stack == "row":
            panel = (sum(w for w, _ in sizes) + gap * (len(sizes) - 1), max(h for _, h in sizes))
            lefts = np.cumsum([0.0] + [w + gap for w, _ in sizes[:-1]])
            return [(x, (panel[1] - h) / 2) for x, (_, h) in zip(lefts, sizes)], panel
        panel = (max(w for w, _ in sizes), sum(h for _, h in sizes) + gap * (len(sizes) - 1))
        tops = np.cumsum([0.0] + [h + gap for _, h in sizes[:-1]])
        return [((panel[0] - w) / 2, panel[1] - t - h) for t, (w, h) in zip(tops, sizes)], panel

    def _layout(self, n_cols, height, colorbar_label):
        sizes, gap, pad = self._view_sizes(height), 0.05, 0.2
        title_h = 0.1 + 1.3 * (self.font_size + 1) / 72 * self.title_lines
        offsets, (panel_w, panel_h) = self._panel_boxes(sizes, gap)
        n_rows = -(-len(self.names) // n_cols)
        bar_w = 0.0 if colorbar_label is None else 0.4 + 3.5 * self.font_size / 72
        fig_w = n_cols * (panel_w + pad) + 0.1 + bar_w
        fig_h = n_rows * (panel_h + title_h) + 0.1
        fig = new_figure(fig_w, fig_h)
        for k, name in enumerate(self.names):
            row, col = divmod(k, n_cols)
            left = 0.1 + col * (panel_w + pad)
            bottom = fig_h - (row + 1) * (panel_h + title_h)
            self._titles[name] = fig.text(left / fig_w, (bottom + panel_h + 0.05) / fig_h,
                                          name, fontsize=self.font_size + 1, ha="left",
                                          va="bottom")
            for view, (dx, dy), (w, h) in zip(self.display_mode, offsets, sizes):
                ax = fig.add_axes([(left + dx) / fig_w, (bottom + dy) / fig_h, w / fig_w,
                                   h / fig_h])
                self._images[name, view] = _View(self._draw_view(ax, view))
                self._rasters[name, view] = self._raster(ax, view)
        if colorbar_label is not None:
            bar_h = min(max(2.0, fig_h / 2), fig_h - 0.3)
            cax = fig.add_axes([(fig_w - bar_w + 0.1) / fig_w, 0.15 / fig_h, 0.18 / fig_w,
                                bar_h / fig_h])
            bar = fig.colorbar(ScalarMappable(self.norm, self.cmap), cax=cax)
            short = len(colorbar_label) <= 3  # "t", "z": upright, above the bar
            bar.set_label(colorbar_label, fontsize=self.font_size, rotation=0 if short else 90,
                          labelpad=2 if short else 4)
            bar.ax.tick_params(labelsize=self.font_size)
        return fig

    def _draw_view(self, ax, view):
        """The static part of a view (silhouette, outline, L/R); its pixels for the data."""
        ax.set_axis_off()
        extent = self.grid.extents[view]
        silhouette = self.grid.silhouettes[view]
        bounds = _schematic(ax, view) if self.grid.in_mni else None
        if bounds is None:  # no glass-brain outline: the brain's silhouette instead
            fill = np.zeros(silhouette.shape + (4,), dtype=np.float32)
            fill[silhouette] = (*_OUTLINE_FILL, 1.0)
            ax.imshow(fill, origin="lower", extent=extent, interpolation="nearest")
            ax.contour(silhouette.astype(np.float32), levels=[0.5], colors=[_OUTLINE_EDGE],
                       linewidths=0.8, origin="lower", extent=extent)
            bounds = extent
        if view in "yz":
            for x, label in ((0.02, "L"), (0.98, "R")):
                ax.text(x, 0.02, label, transform=ax.transAxes, fontsize=self.font_size,
                        color=palette.MUTED_TEXT,
                        ha="left" if label == "L" else "right", va="bottom")
        ax.set_xlim(min(extent[0], bounds[0]), max(extent[1], bounds[1]))
        ax.set_ylim(min(extent[2], bounds[2]), max(extent[3], bounds[3]))
        return ax

    def _raster(self, ax, view):
        """Pixel box of the view's data extent in the figure (row 0 at the top)."""
        extent = self.grid.extents[view]
        (x0, y0), (x1, y1) = ax.transData.transform([(extent[0], extent[2]),
                                                      (extent[1], extent[3])])
        height = ax.figure.bbox.height
        box = (height - y1, height - y0, x0, x1)
        return ViewRaster(box, self.grid.silhouettes[view].shape)

    def set_volume(self, name, volume):
        """Give panel ``name`` a canonical volume (``BrainGrid.volume`` / ``.canonical``)."""
        self.volumes[name] = volume
        self._projections[name] = self.grid.projections(volume, signed=self.signed)
        self._update(name)

    def set_values(self, name, values):
        """Give panel ``name`` masked values, shape (n_voxels,)."""
        self.set_volume(name, self.grid.volume(values))

    def set_title(self, name, text):
        self._titles[name].set_text(text)

    def set_threshold(self, threshold):
        """Show only |value| >= threshold (value >= threshold for unsigned maps)."""
        self.threshold = float(threshold)
        for name in self.names:
            self._update(name)

    def _update(self, name):
        projections = self._projections[name]
        for view in self.display_mode:
            if projections is None:
                self._layers[name, view] = None
                continue
            data = projections[view][::-1]  # row 0 at the top, as in the picture
            magnitude = np.abs(data) if self.signed else data
            self._layers[name, view] = (data, (magnitude >= self.threshold) & (data != 0))

    def _paint(self, rgb):
        vmin, vmax = self.norm.vmin, self.norm.vmax
        for key, raster in self._rasters.items():
            layer = self._layers.get(key)
            if layer is not None:
                raster.paint(rgb, layer[0], layer[1], self._lut, vmin, vmax)

    def savefig(self, path, dpi=None):
        """Save the picture as PNG (what the panel shows, 72 dpi)."""
        with open(path, "wb") as out:
            out.write(self.to_png())
