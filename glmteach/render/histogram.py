"""A live histogram with named vertical lines (method thresholds) and a shaded band."""

import numpy as np

from .. import palette
from ._canvas import FONT_SIZE, _LiveFigure, new_figure


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
        Width, height in inches (72 pixels each in the panels).
    font_size : float
        Points (= pixels at 72 dpi) of every text; the title is one point larger.
    value_labels : sequence of str
        Names of the lines whose value is written beside them (see :meth:`set_line`).
    """

    def __init__(self, lines, xlabel, title="", band_label=None, size=(6.0, 2.6),
                 font_size=FONT_SIZE, value_labels=()):
        self.fig = new_figure(*size)
        self.font_size = font_size
        inch = font_size / 72  # one line of text, in inches
        left, right = 4.5 * inch / size[0], 21 * inch / size[0]  # y labels, legend
        bottom, top = 3.2 * inch / size[1], 2.0 * inch / size[1]  # x label, title
        self.ax = ax = self.fig.add_axes([left, bottom, 1 - left - right, 1 - bottom - top])
        self._bars = ax.stairs([0.0], [0.0, 1.0], fill=True, color=palette.BARS, label="_bars")
        transform = ax.get_xaxis_transform()
        self._lines = {name: ax.plot([], [], transform=transform, lw=2.2, label=name,
                                     **style)[0] for name, style in lines.items()}
        self._values = {}  # a line's value written beside it, one row per line
        for row, name in enumerate(value_labels):
            color = palette.text_color(lines[name].get("color", palette.TEXT))
            self._values[name] = ax.text(
                0, 0.96 - 0.13 * row, "", transform=transform, fontsize=font_size,
                color=color, ha="left", va="top",
                bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=1))
        self._band = None
        if band_label is not None:
            self._band = ax.axvspan(0, 0, color=palette.BAND, alpha=0.25, lw=0, label=band_label)
        ax.set_xlabel(xlabel, fontsize=font_size)
        ax.set_ylabel("count", fontsize=font_size)
        ax.tick_params(labelsize=font_size)
        ax.spines[["top", "right"]].set_visible(False)
        self._title = ax.set_title(title, fontsize=font_size + 1, loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=font_size,
                  frameon=False, handlelength=3.0)
        dynamic = [self._bars, *self._lines.values(), *self._values.values(), self._title]
        self._set_dynamic(dynamic + ([self._band] if self._band is not None else []))
        self._set_sprited(self._values.values())  # over the bars and lines
        self._set_stamped([self._title])  # above the axes, apart

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
        self.ax.set_ylabel(text, fontsize=self.font_size)
        self.invalidate()

    def set_line(self, name, positions, value_text=None):
        """Draw line ``name`` at each x in ``positions`` (non-finite ones are skipped).

        Lines listed in ``value_labels`` also write ``value_text`` (default: the first
        position, ``"name: 4.21"``) beside the line, each on its own row: lines that
        coincide stay readable.
        """
        xs, ys = [], []
        finite = [float(x) for x in np.atleast_1d(positions) if np.isfinite(x)]
        for x in finite:
            xs += [x, x, np.nan]
            ys += [0, 1, np.nan]
        self._lines[name].set_data(xs, ys)
        label = self._values.get(name)
        if label is not None:
            if value_text is None:
                value_text = f"{name}: {finite[0]:.2f}" if finite else ""
            label.set_text(value_text if finite else "")
            if finite:
                label.set_x(finite[0])
                label.set_horizontalalignment(self._side(finite[0]))

    def _side(self, x):
        """Labels sit right of their line, or left of it in the right third of the axes."""
        lo, hi = self.ax.get_xlim()
        return "right" if x > lo + 0.66 * (hi - lo) else "left"

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
