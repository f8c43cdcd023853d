"""Slices through the cursor, and what a click on a picture points at.

- :class:`SliceFigure`: three orthogonal slices (sagittal, coronal, axial) of one map over
  the MNI template, cut through the cursor, with a crosshair; updated in place (a cursor
  move redraws only the six images, the crosshairs and the titles).
- :func:`projection_voxel` / :func:`projection_marks`: the voxel a click on a
  :class:`~glmteach.render.GlassBrainFigure` points at (on a projection: the voxel whose
  value the picture shows at that pixel) and where the cursor is drawn on it.

The geometry (pixels <-> mm <-> voxels) is :mod:`glmteach.picking`'s; pictures follow
:mod:`glmteach.render`'s conventions (RAS order, left hemisphere on the left).
"""

import numpy as np
from matplotlib import colormaps, colors
from matplotlib.cm import ScalarMappable

from .. import picking
from ..palette import signed_cmap
from ._canvas import FONT_SIZE, new_figure, rgba_png
from .grid import mni_template

_VIEWS = ("x", "y", "z")
_NAMES = {"x": "sagittal", "y": "coronal", "z": "axial"}


class SliceFigure:
    """Three orthogonal slices of a map through a cursor, over the MNI template.

    matplotlib draws the static part once (colour bar, titles, labels); a cursor move only
    composites the three slices with numpy (template in grey, the map in colour, a
    crosshair), pixel by pixel from the same transforms matplotlib uses, and encodes the
    PNG: a few milliseconds instead of a matplotlib redraw.

    Parameters
    ----------
    grid : BrainGrid
    vmax : float
        Colour scale [-vmax, vmax] (signed maps, the t map's diverging colour map).
    panel_height : float
        Height of the tallest slice in inches (all slices share one mm scale).
    colorbar_label : str
    template : ndarray, shape grid's original (nx, ny, nz), optional
        Background (default: the MNI152 template resampled to the grid; the grid's own
        outline if nilearn cannot provide it).
    with_title : bool
        Room for the title of :meth:`set_volume` (False: the caller writes it elsewhere,
        and a new map never redraws the frame).
    cmap : matplotlib colormap, optional
        Colours of the map (default: the t map's diverging one).
    colorbar : bool
        Draw the colour bar (False: a one-colour overlay such as a mask needs none).
    opacity : float
        How much of the map's colour covers the template (1: opaque).
    """

    def __init__(self, grid, vmax=6.0, panel_height=2.0, colorbar_label="t", template=None,
                 with_title=True, cmap=None, colorbar=True, opacity=1.0):
        self.grid = grid
        self.cmap = signed_cmap() if cmap is None else cmap
        self.norm = colors.Normalize(-vmax, vmax)
        self.opacity = float(opacity)
        self._colorbar = colorbar
        self.volume, self.threshold = None, 0.0
        self.cut = tuple(int(n) // 2 for n in grid.shape)  # canonical indices
        if template is None:
            try:
                template = mni_template(grid.original_shape, grid.affine)
            except Exception:  # no template: the brain's outline is the background
                template = None
        if template is None:
            self.background = np.where(grid.mask, 0.6, 0.0).astype(np.float32)
        else:
            self.background = np.asarray(grid.canonical(template), dtype=np.float32)
        self._bg_norm = colors.Normalize(0.0, float(np.percentile(self.background, 99.5)) or 1)
        self._gray = colormaps["gray"]
        self._lut = (self.cmap(np.linspace(0, 1, 256)) * 255).astype(np.uint8)
        self.axes = {}
        self.fig = self._layout(panel_height, colorbar_label, 0.3 if with_title else 0.1)
        self._title = self.fig.text(0.01, 0.985, "", fontsize=FONT_SIZE, ha="left", va="top")
        self._base = None  # the static part, rendered (H, W, 4) uint8
        self._pixels = {view: self._pixel_grid(view) for view in _VIEWS}

    def _layout(self, height, colorbar_label, top):
        extents = self.grid.extents
        mm = [(extents[v][1] - extents[v][0], extents[v][3] - extents[v][2]) for v in _VIEWS]
        scale = height / max(h for _, h in mm)
        gap, bottom, bar_w = 0.08, 0.25, (0.8 if self._colorbar else 0.0)
        fig_w = sum(w for w, _ in mm) * scale + gap * 4 + bar_w
        fig_h = height + top + bottom
        fig = new_figure(fig_w, fig_h)
        left = gap
        for view, (w, h) in zip(_VIEWS, mm):
            ax = fig.add_axes([left / fig_w, (bottom + (height - h * scale) / 2) / fig_h,
                               w * scale / fig_w, h * scale / fig_h])
            left += w * scale + gap
            self._draw_view(ax, view)
        if not self._colorbar:
            return fig
        cax = fig.add_axes([(fig_w - bar_w + 0.12) / fig_w, bottom / fig_h, 0.13 / fig_w,
                            height / fig_h])
        bar = fig.colorbar(ScalarMappable(self.norm, self.cmap), cax=cax)
        bar.set_label(colorbar_label, fontsize=FONT_SIZE, rotation=0, labelpad=4)
        bar.ax.tick_params(labelsize=FONT_SIZE)
        return fig

    def _draw_view(self, ax, view):
        ax.set_axis_off()
        extent = self.grid.extents[view]
        self.axes[view] = ax
        ax.text(0.5, -0.02, _NAMES[view], transform=ax.transAxes, fontsize=FONT_SIZE,
                ha="center", va="top")
        if view in "yz":  # below the picture: the slices are pasted over the axes
            for x, label in ((0.0, "L"), (1.0, "R")):
                ax.text(x, -0.02, label, transform=ax.transAxes, fontsize=FONT_SIZE,
                        color="0.3", ha="left" if label == "L" else "right", va="top")
        ax.set_xlim(extent[:2])
        ax.set_ylim(extent[2:])

    def _pixel_grid(self, view):
        """The PNG pixels of a view and the canonical voxel each one shows.

        Returns (rows, cols, row_index, col_index): pixel ranges (from the top-left of the
        PNG) of the view's axes, and for each pixel row / column the voxel index along the
        view's vertical / horizontal axis (-1 outside the grid), found from the pixel's
        centre with the axes' own transform (as :meth:`pick` does).
        """
        ax, grid = self.axes[view], self.grid
        height = self.fig.bbox.height
        box = ax.get_window_extent()
        cols = np.arange(int(np.floor(box.x0)), int(np.ceil(box.x1)))
        rows = np.arange(int(np.floor(height - box.y1)), int(np.ceil(height - box.y0)))
        inverse = ax.transData.inverted()
        u = inverse.transform(np.column_stack([cols + 0.5, np.full(cols.size, box.y0)]))[:, 0]
        v = inverse.transform(np.column_stack([np.full(rows.size, box.x0),
                                               height - (rows + 0.5)]))[:, 1]
        h, w = picking.PLANE_AXES[view]
        extent = grid.extents[view]
        col_index = np.array([-1 if (i := picking.plane_index(x, *extent[:2], grid.shape[h]))
                              is None else i for x in u])
        row_index = np.array([-1 if (i := picking.plane_index(y, *extent[2:], grid.shape[w]))
                              is None else i for y in v])
        return rows, cols, row_index, col_index

    def _slice_shape(self, view):
        h, v = picking.PLANE_AXES[view]
        return self.grid.shape[v], self.grid.shape[h]

    def _take(self, volume, view):
        take = [slice(None)] * 3
        take[picking.DEPTH_AXIS[view]] = self.cut[picking.DEPTH_AXIS[view]]
        return volume[tuple(take)].T

    # ------------------------------------------------------------------ updates
    def set_volume(self, volume, threshold=0.0, title=""):
        """Show a canonical volume (``BrainGrid.volume``) where ``|value| >= threshold``."""
        self.volume, self.threshold = volume, float(threshold)
        if title != self._title.get_text():
            self._title.set_text(title)
            self._base = None

    def set_cursor(self, abc):
        """Cut through canonical voxel ``abc`` (a cursor outside the grid is clipped)."""
        self.cut = tuple(int(np.clip(v, 0, n - 1)) for v, n in zip(abc, self.grid.shape))

    def _slice_rgba(self, view):
        """The view's slice as RGBA uint8 (rows = vertical voxel index, bottom first)."""
        gray = np.clip(self._bg_norm(self._take(self.background, view)), 0, 1)
        rgba = np.empty(gray.shape + (4,), dtype=np.uint8)
        rgba[..., :3] = (gray * 255).astype(np.uint8)[..., None]
        rgba[..., 3] = 255
        if self.volume is not None:
            data = self._take(self.volume, view)
            shown = (np.abs(data) >= self.threshold) & (data != 0)
            levels = np.clip(self.norm(data[shown]), 0, 1)
            colour = self._lut[(levels * 255).astype(int)]
            if self.opacity < 1:
                colour[:, :3] = (self.opacity * colour[:, :3]
                                 + (1 - self.opacity) * rgba[shown, :3] + 0.5)
            rgba[shown] = colour
        return rgba

    def to_png(self):
        """PNG bytes of the current picture."""
        if self._base is None:
            self.fig.canvas.draw()
            self._base = np.array(self.fig.canvas.buffer_rgba())
        out = self._base.copy()
        green = np.array([0, 166, 81, 255], dtype=np.uint8)
        for view in _VIEWS:
            rows, cols, row_index, col_index = self._pixels[view]
            rgba = self._slice_rgba(view)
            inside_r, inside_c = row_index >= 0, col_index >= 0
            block = rgba[row_index[inside_r]][:, col_index[inside_c]]
            out[np.ix_(rows[inside_r], cols[inside_c])] = block
            # crosshair: the pixel rows / columns of the cursor's voxel centre
            h, v = picking.PLANE_AXES[view]
            r = rows[inside_r][row_index[inside_r] == self.cut[v]]
            c = cols[inside_c][col_index[inside_c] == self.cut[h]]
            if r.size:
                out[r[r.size // 2], cols[inside_c]] = green
            if c.size:
                out[rows[inside_r], c[c.size // 2]] = green
        return rgba_png(out)

    def cut_mm(self):
        """mm coordinates (x, y, z) of the voxel the slices cut through."""
        ijk = picking.from_canonical(self.cut, self.grid._ornt, self.grid.original_shape)
        return tuple(float(v) for v in picking.voxel_to_mm(self.grid.affine, ijk))

    # ------------------------------------------------------------------ pointing
    def pick(self, px, py):
        """Voxel indices (original grid) under pixel (px, py) of the PNG, or None.

        A slice shows one voxel per pixel: the one in the slice's plane, so the depth is
        the current cut.
        """
        for view, ax in self.axes.items():
            point = picking.axes_point(ax, px, py)
            if point is None:
                continue
            in_plane = picking.view_to_canonical(view, *point, self.grid.extents[view],
                                                 self.grid.shape)
            if in_plane is None:
                return None
            abc = list(self.cut)
            for axis, index in in_plane.items():
                abc[axis] = index
            return picking.from_canonical(abc, self.grid._ornt, self.grid.original_shape)
        return None


def projection_voxel(figure, px, py, current=None, tiebreak=None):
    """What a click at pixel (px, py) of a glass-brain figure's PNG points at.

    Parameters
    ----------
    figure : GlassBrainFigure
    px, py : float
        Pixels from the PNG's top-left corner.
    current : tuple of 3 int, optional
        Voxel (original grid) of the cursor: its depth is kept when the ray under the pixel
        holds no value.
    tiebreak : ndarray, canonical volume, optional
        Among the voxels of a ray that share the shown value, pick the one with the largest
        tiebreak (e.g. ``|t|`` on a plateau of corrected p).

    Returns
    -------
    (ijk, name, view) or None
        ``ijk`` on the figure's grid; ``name`` the panel clicked; None outside every view.
    """
    grid = figure.grid
    for (name, view), image in figure._images.items():
        point = picking.axes_point(image.axes, px, py)
        if point is None:
            continue
        in_plane = picking.view_to_canonical(view, *point, grid.extents[view], grid.shape)
        if in_plane is None:
            return None
        depth_axis = picking.DEPTH_AXIS[view]
        volume = getattr(figure, "volumes", {}).get(name)
        depth = None
        if volume is not None:
            ties = None if tiebreak is None else picking.ray(tiebreak, view, in_plane)
            depth = picking.ray_voxel(picking.ray(volume, view, in_plane), figure.signed,
                                      ties)
        if depth is None:  # nothing along this ray: keep the cursor's depth
            if current is not None:
                depth = picking.to_canonical(current, grid._ornt, grid.original_shape)[
                    depth_axis]
            else:
                depth = grid.shape[depth_axis] // 2
        abc = [0, 0, 0]
        for axis, index in in_plane.items():
            abc[axis] = index
        abc[depth_axis] = depth
        return picking.from_canonical(abc, grid._ornt, grid.original_shape), name, view
    return None


def projection_marks(figure, ijk):
    """Where voxel ``ijk`` (figure's grid) is drawn in each view: [(fx, fy)] fractions of
    the PNG's width and height (for :class:`~glmteach.widgets.clickable.ClickableImage`)."""
    grid = figure.grid
    if ijk is None or not all(0 <= v < n for v, n in zip(ijk, grid.original_shape)):
        return []
    abc = picking.to_canonical(ijk, grid._ornt, grid.original_shape)
    width, height = figure.fig.bbox.width, figure.fig.bbox.height
    marks = []
    for (_, view), image in figure._images.items():
        u, v = picking.canonical_to_view(view, abc, grid.extents[view], grid.shape)
        px, py = picking.axes_pixel(image.axes, u, v)
        marks.append((round(px / width, 5), round(py / height, 5)))
    return marks

