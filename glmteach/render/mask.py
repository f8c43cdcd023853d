"""Orthogonal slices of the MNI template with the group mask drawn over it."""

import numpy as np
from matplotlib import colors

from .. import palette
from ._canvas import FONT_SIZE, PNG_DPI, figure_png, new_figure
from .grid import _AXIS, VIEWS, mni_template


class MaskFigure:
    """Orthogonal slices of the MNI template with a mask drawn over it.

    Parameters
    ----------
    grid : BrainGrid
        Grid of the mask (its ``mask`` is shown).
    template : ndarray, shape grid's original (nx, ny, nz), optional
        Background (default: the MNI152 template resampled to the grid).
    """

    def __init__(self, grid, template=None, panel_height=2.0):
        self.fig = new_figure(1.0, 1.0)
        self._grid = grid
        self._height = panel_height
        self._axes = {}
        self.set_mask(grid, template)

    def set_mask(self, grid, template=None):
        """Redraw for a (new) mask; slices cut through the mask's centre of mass."""
        self._grid = grid
        if template is None:
            try:
                template = mni_template(grid.original_shape, grid.affine)
            except Exception:  # no template: draw the mask alone
                template = None
        background = None if template is None else grid.canonical(template)
        centre = np.round(np.argwhere(grid.mask).mean(axis=0)).astype(int)
        self.fig.clear()
        mm = [(e[1] - e[0], e[3] - e[2]) for e in (grid.extents[v] for v in VIEWS)]
        scale = self._height / max(h for _, h in mm)  # one mm scale for the three views
        fig_w = sum(w for w, _ in mm) * scale + 0.3
        fig_h = self._height + 0.1
        self.fig.set_size_inches(fig_w, fig_h)
        left = 0.05
        for view, (w, h), cut in zip(VIEWS, mm, centre):
            ax = self.fig.add_axes([left / fig_w, (0.05 + (self._height - h * scale) / 2) / fig_h,
                                    w * scale / fig_w, h * scale / fig_h])
            left += w * scale + 0.1
            self._draw_slice(ax, view, cut, background)

    def _draw_slice(self, ax, view, cut, background):
        ax.set_axis_off()
        ax.set_facecolor("black")
        extent = self._grid.extents[view]
        take = [slice(None)] * 3
        take[_AXIS[view]] = cut
        mask = self._grid.mask[tuple(take)].T
        if background is not None:
            ax.imshow(background[tuple(take)].T, origin="lower", extent=extent, cmap="gray",
                      interpolation="bilinear")
        overlay = np.ma.masked_array(np.ones(mask.shape), mask=~mask)
        ax.imshow(overlay, origin="lower", extent=extent, alpha=0.45, interpolation="nearest",
                  cmap=colors.ListedColormap([palette.MASK]))
        ax.contour(mask.astype(np.float32), levels=[0.5], colors=[palette.MASK], linewidths=0.8,
                   origin="lower", extent=extent)
        if view in "yz":
            for x, label in ((0.02, "L"), (0.98, "R")):
                ax.text(x, 0.02, label, transform=ax.transAxes, fontsize=FONT_SIZE,
                        color="white",
                        ha="left" if label == "L" else "right", va="bottom")

    def to_png(self, dpi=PNG_DPI):
        return figure_png(self.fig, dpi)
