"""Pixels of a live brain view, computed with NumPy (no matplotlib on a slider move).

A view's projection (a few thousand voxels) is upsampled to its place on screen (a few
hundred pixels a side) by separable linear interpolation. What is shown is decided on the
voxels (``|value| >= threshold``, exactly what the counts say), then that 0/1 indicator is
interpolated and cut at 0.5: the edge runs half-way between a shown and a hidden voxel, as
with square voxels, but with rounded corners and anti-aliased. Colours are the shown
voxels' values, interpolated among shown voxels only (normalised interpolation), so an
edge never fades towards the hidden neighbours' values.
"""

import numpy as np


def _axis_weights(n_in, n_out):
    """Indices and weights of linear interpolation from n_in cells to n_out pixels."""
    centres = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    centres = np.clip(centres, 0, n_in - 1)
    lo = np.floor(centres).astype(np.intp)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (centres - lo).astype(np.float32)


class Upsampler:
    """Linear upsampling of (h, w) arrays to (H, W) pixels (rows = top to bottom)."""

    def __init__(self, shape_in, shape_out):
        self.shape_in, self.shape_out = tuple(shape_in), tuple(shape_out)
        self._axes = (_axis_weights(shape_in[0], shape_out[0]),
                      _axis_weights(shape_in[1], shape_out[1]))

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
    box : tuple of int
        (top, bottom, left, right) pixel rows/columns of the data extent in the figure.
    shape : tuple of int
        (rows, cols) of the projection as drawn (row 0 at the top).
    """

    def __init__(self, box, shape):
        self.box = box
        top, bottom, left, right = box
        self.up = Upsampler(shape, (bottom - top, right - left))

    def paint(self, rgb, values, shown, lut, vmin, vmax, glass=None):
        """Paint shown voxels of ``values`` over ``rgb`` (the figure, uint8, in place).

        ``values`` and ``shown`` have the projection's shape (row 0 at the top); ``lut`` is
        (n, 3) uint8 colours for [vmin, vmax]; ``glass`` (H, W) darkens outline pixels so
        that the outline shows through the colours.
        """
        if not shown.any():
            return
        window = self.up.window(shown)
        weight = self.up(shown, window)
        drawn = weight > 0.375  # alpha > 0
        if not drawn.any():
            return
        weight = weight[drawn]
        smooth = self.up(np.where(shown, values, 0.0), window)[drawn] / weight
        alpha = np.minimum((weight - 0.5) * 4.0 + 0.5, 1.0)[:, None]  # a quarter-voxel edge
        scale = (len(lut) - 1) / (vmax - vmin)
        index = np.clip((smooth - vmin) * scale, 0, len(lut) - 1).astype(np.intp)
        colour = lut[index].astype(np.float32)
        top, _, left, _ = self.box
        rows, cols = window
        rows = slice(top + rows.start, top + rows.stop)
        cols = slice(left + cols.start, left + cols.stop)
        if glass is not None:
            colour *= glass[rows.start - top:rows.stop - top,
                            cols.start - left:cols.stop - left][drawn][:, None]
        region = rgb[rows, cols]
        region[drawn] = (region[drawn] * (1 - alpha) + colour * alpha + 0.5).astype(np.uint8)
