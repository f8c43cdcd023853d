"""A live histogram with named vertical lines (method thresholds) and a shaded band."""

import numpy as np

from .. import palette
from ._canvas import _LiveFigure, new_figure


class HistogramFigure(_LiveFigure):
    """A histogram with named vertical lines and one shaded band, updated in place.

    Parameters
    ----------
    lines : dict
        name -> matplotlib line style dict (``color``, ``linestyle``); the legend uses the
        names.
    xlabel, title : str
    band_label : str or None
        Legend text of the shaded band (None: no band).
    size : tuple of float
        Width, height in inches.
    """

    def __init__(self, lines, xlabel, title="", band_label=None, size=(6.0, 2.6)):
        self.fig = new_figure(*size)
        left, right = 0.6 / size[0], 2.3 / size[0]  # inches: y labels, legend
        self.ax = ax = self.fig.add_axes([left, 0.2, 1 - left - right, 0.68])
        self._bars = ax.stairs([0.0], [0.0, 1.0], fill=True, color=palette.BARS, label="_bars")
        transform = ax.get_xaxis_transform()
        self._lines = {name: ax.plot([], [], transform=transform, lw=1.8, label=name,
                                     **style)[0] for name, style in lines.items()}
        self._band = None
        if band_label is not None:
            self._band = ax.axvspan(0, 0, color=palette.BAND, alpha=0.25, lw=0, label=band_label)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel("count", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        self._title = ax.set_title(title, fontsize=10, loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
        dynamic = [self._bars, *self._lines.values(), self._title]
        self._set_dynamic(dynamic + ([self._band] if self._band is not None else []))

    def set_counts(self, counts, edges, ylim=None):
        """New bar heights; a new ``ylim`` (default: from the counts) redraws the axes."""
        self._bars.set_data(np.asarray(counts, float), np.asarray(edges, float))
        if ylim is None:
            ylim = (0, max(1.0, float(np.max(counts))) * 1.1)
        if tuple(ylim) != self.ax.get_ylim() or (edges[0], edges[-1]) != self.ax.get_xlim():
            self.ax.set_ylim(*ylim)
            self.ax.set_xlim(edges[0], edges[-1])
            self.invalidate()

    def set_ylabel(self, text):
        self.ax.set_ylabel(text, fontsize=9)
        self.invalidate()

    def set_line(self, name, positions):
        """Draw line ``name`` at each x in ``positions`` (non-finite ones are skipped)."""
        xs, ys = [], []
        for x in np.atleast_1d(positions):
            if np.isfinite(x):
                xs += [x, x, np.nan]
                ys += [0, 1, np.nan]
        self._lines[name].set_data(xs, ys)

    def set_curve(self, name, x, y):
        """Draw line ``name`` as a curve in data coordinates (e.g. an expected density)."""
        line = self._lines[name]
        line.set_transform(self.ax.transData)
        line.set_data(x, y)

    def set_band(self, lo, hi):
        self._band.set_x(lo)
        self._band.set_width(max(0.0, hi - lo))

    def set_title(self, text):
        self._title.set_text(text)
