"""Live glass-brain panels: maximum-intensity projections updated in place.

nilearn's ``plot_glass_brain`` (0.35-0.5 s per figure) is too slow for a slider. Here the
three projections of a map are computed once; a threshold change only re-masks them,
updates the existing image artists and renders the figure to PNG bytes.
"""

import numpy as np
from matplotlib import colors
from matplotlib.cm import ScalarMappable

from .. import palette
from ._canvas import _LiveFigure, new_figure
from .grid import _empty

_OUTLINE_FILL = colors.to_rgb(palette.OUTLINE_FILL)
_OUTLINE_EDGE = colors.to_rgb(palette.OUTLINE_EDGE)


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
    """

    def __init__(self, grid, names, display_mode="xyz", n_cols=1, signed=True, vmax=3.0,
                 colorbar_label="", panel_height=1.7, stack="row", title_lines=1):
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
        self._projections = {name: None for name in self.names}
        self.volumes = {}  # canonical volumes shown: what a click on a projection picks from
        self._images, self._titles = {}, {}
        self.fig = self._layout(n_cols, panel_height, colorbar_label)
        self._set_dynamic([*self._images.values(), *self._titles.values()])

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
        sizes, gap, pad = self._view_sizes(height), 0.05, 0.15
        title_h = 0.2 + 0.17 * self.title_lines
        offsets, (panel_w, panel_h) = self._panel_boxes(sizes, gap)
        n_rows = -(-len(self.names) // n_cols)
        bar_w = 0.0 if colorbar_label is None else 0.9
        fig_w = n_cols * (panel_w + pad) + 0.1 + bar_w
        fig_h = n_rows * (panel_h + title_h) + 0.1
        fig = new_figure(fig_w, fig_h)
        for k, name in enumerate(self.names):
            row, col = divmod(k, n_cols)
            left = 0.1 + col * (panel_w + pad)
            bottom = fig_h - (row + 1) * (panel_h + title_h)
            self._titles[name] = fig.text(left / fig_w, (bottom + panel_h + 0.05) / fig_h,
                                          name, fontsize=10, ha="left", va="bottom")
            for view, (dx, dy), (w, h) in zip(self.display_mode, offsets, sizes):
                ax = fig.add_axes([(left + dx) / fig_w, (bottom + dy) / fig_h, w / fig_w,
                                   h / fig_h])
                self._images[name, view] = self._draw_view(ax, view)
        if colorbar_label is not None:
            bar_h = min(2.0, fig_h - 0.3)
            cax = fig.add_axes([(fig_w - bar_w + 0.1) / fig_w, 0.15 / fig_h, 0.15 / fig_w,
                                bar_h / fig_h])
            bar = fig.colorbar(ScalarMappable(self.norm, self.cmap), cax=cax)
            short = len(colorbar_label) <= 3  # "t", "z": upright, above the bar
            bar.set_label(colorbar_label, fontsize=9, rotation=0 if short else 90,
                          labelpad=2 if short else 4)
            bar.ax.tick_params(labelsize=8)
        return fig

    def _draw_view(self, ax, view):
        ax.set_axis_off()
        extent = self.grid.extents[view]
        silhouette = self.grid.silhouettes[view]
        fill = np.zeros(silhouette.shape + (4,), dtype=np.float32)
        fill[silhouette] = (*_OUTLINE_FILL, 1.0)
        ax.imshow(fill, origin="lower", extent=extent, interpolation="nearest")
        ax.contour(silhouette.astype(np.float32), levels=[0.5], colors=[_OUTLINE_EDGE],
                   linewidths=0.8, origin="lower", extent=extent)
        image = ax.imshow(_empty(silhouette.shape), origin="lower", extent=extent,
                          cmap=self.cmap, norm=self.norm, interpolation="nearest")
        if view in "yz":
            for x, label in ((0.02, "L"), (0.98, "R")):
                ax.text(x, 0.02, label, transform=ax.transAxes, fontsize=9, color="0.3",
                        ha="left" if label == "L" else "right", va="bottom")
        ax.set_xlim(extent[:2])
        ax.set_ylim(extent[2:])
        return image

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
            image = self._images[name, view]
            if projections is None:
                image.set_data(_empty(image.get_array().shape))
                continue
            data = projections[view]
            magnitude = np.abs(data) if self.signed else data
            hidden = (magnitude < self.threshold) | (data == 0)
            image.set_data(np.ma.masked_array(data, mask=hidden))
