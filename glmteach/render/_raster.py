"""Pixels of a live brain view, computed with NumPy (no matplotlib on a slider move).

A view's projection (a few thousand voxels) is upsampled to its place on screen (a few
hundred pixels a side) by separable linear interpolation. What is shown is decided on the
voxels (``|value| >= threshold``, exactly what the counts say), then that 0/1 indicator is
interpolated and cut at 0.5: the edge runs half-way between a shown and a hidden voxel, as
with square voxels, but with rounded corners (and anti-aliased just outside it). Colours are the shown
voxels' values, interpolated among shown voxels only (normalised interpolation), so an
edge never fades towards the hidden neighbours' values.
"""

import numpy as np


def _axis_weights(n_in, n_out, first=0.0, span=None):
    """Indices and weights of linear interpolation from n_in cells to n_out pixels.

    The cells span ``span`` pixels (default n_out) starting ``first`` pixels before
    pixel 0's left edge (sub-pixel placement: pixel centres sample the exact positions).
    """
    span = n_out if span is None else span
    centres = (np.arange(n_out) + 0.5 + first) * n_in / span - 0.5
    centres = np.clip(centres, 0, n_in - 1)
    lo = np.floor(centres).astype(np.intp)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (centres - lo).astype(np.float32)


class Upsampler:
    """Linear upsampling of (h, w) arrays to (H, W) pixels (rows = top to bottom)."""

    def __init__(self, shape_in, shape_out, first=(0.0, 0.0), span=(None, None)):
        self.shape_in, self.shape_out = tuple(shape_in), tuple(shape_out)
        self._axes = tuple(_axis_weights(shape_in[k], shape_out[k], first[k], span[k])
                           for k in range(2))

    def window(self, cells):
        """Pixel slices that cells (a boolean (h, w) array) can reach."""
        out = []
        for axis, (lo, hi, _) in enumerate(self._axes):
            index = np.flatnonzero(cells.any(axis=1 - axis))
            reach = np.flatnonzero((hi >= index[0]) & (lo <= index[-1]))
            out.append(slice(reach[0], reach[-1] + 1))
        return tuple(out)

    def __call__(self, values, window=(slice(None), slice(None))):
        values = np.asarray(values, dtype=np.float32)
        (lo, hi, f), (clo, chi, cf) = [tuple(a[w] for a in axis)
                                       for axis, w in zip(self._axes, window)]
        rows = values[lo] * (1 - f)[:, None] + values[hi] * f[:, None]
        return rows[:, clo] * (1 - cf) + rows[:, chi] * cf


class ViewRaster:
    """One brain view: where it sits in the figure's pixels and how to paint it.

    Parameters
    ----------
    box : tuple of float
        (top, bottom, left, right) edges of the data extent in the figure, in pixels from
        the top-left corner (need not be whole pixels).
    shape : tuple of int
        (rows, cols) of the projection as drawn (row 0 at the top).
    """

    def __init__(self, box, shape):
        top, bottom, left, right = (float(v) for v in box)
        self.box = (int(np.floor(top)), int(np.ceil(bottom)), int(np.floor(left)),
                    int(np.ceil(right)))
        t, b, l, r = self.box
        self.up = Upsampler(shape, (b - t, r - l), first=(t - top, l - left),
                            span=(bottom - top, right - left))
        self.pixels_per_voxel = max(1.0, min((bottom - top) / shape[0],
                                             (right - left) / shape[1]))

    def paint(self, rgb, values, shown, lut, vmin, vmax):
        """Paint shown voxels of ``values`` over ``rgb`` (the figure, uint8, in place).

        ``values`` and ``shown`` have the projection's shape (row 0 at the top); ``lut`` is
        (n, 3) uint8 colours for [vmin, vmax]: inside a shown region the colour is exactly
        the colour bar's (the outline stays under it).
        """
        if not shown.any():
            return
        window = self.up.window(shown)
        weight = self.up(shown, window)
        # opaque (the colour bar's colour) up to half a pixel outside the 0.5 contour, then
        # a pixel of anti-aliasing (the weight falls by 1 / pixels-per-voxel per pixel)
        drawn = weight > max(0.5 - 1.5 / self.pixels_per_voxel, 0.01)
        if not drawn.any():
            return
        weight = weight[drawn]
        smooth = self.up(np.where(shown, values, 0.0), window)[drawn] / weight
        alpha = np.clip(1.5 + (weight - 0.5) * self.pixels_per_voxel, 0.0, 1.0)[:, None]
        scale = (len(lut) - 1) / (vmax - vmin)
        index = np.clip((smooth - vmin) * scale, 0, len(lut) - 1).astype(np.intp)
        colour = lut[index].astype(np.float32)
        top, _, left, _ = self.box
        rows, cols = window
        rows = slice(top + rows.start, top + rows.stop)
        cols = slice(left + cols.start, left + cols.stop)
        region = rgb[rows, cols]
        region[drawn] = (region[drawn] * (1 - alpha) + colour * alpha + 0.5).astype(np.uint8)
