"""Agg figures rendered to PNG bytes, and the blitting base class of live figures.

Figures use the Agg canvas directly (``Figure`` + ``FigureCanvasAgg``), never pyplot: nothing
pops up and nothing is kept in pyplot's registry.
"""

from io import BytesIO

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PNG_DPI = 72
_PNG_OPTIONS = dict(format="png", pil_kwargs={"compress_level": 1})


def figure_png(fig, dpi=PNG_DPI):
    """Render an Agg figure to PNG bytes (fast zlib level: pictures change often)."""
    buffer = BytesIO()
    fig.savefig(buffer, dpi=dpi, **_PNG_OPTIONS)
    return buffer.getvalue()


def rgba_png(rgba):
    """PNG bytes of an RGBA buffer, shape (height, width, 4), uint8.

    Figures are opaque, so the alpha channel is dropped (a third faster to encode).
    """
    from PIL import Image

    buffer = BytesIO()
    rgb = np.ascontiguousarray(np.asarray(rgba)[..., :3])
    Image.fromarray(rgb).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def new_figure(width, height):
    """A matplotlib Figure on its own Agg canvas (no pyplot), size in inches."""
    fig = Figure(figsize=(width, height), facecolor="white", dpi=PNG_DPI)
    FigureCanvasAgg(fig)
    return fig


class _LiveFigure:
    """A figure whose static part (outlines, axes, labels, legend) is drawn once.

    The artists that change (images, threshold lines, titles) are "animated": a redraw
    restores the cached background and draws only them (matplotlib's blitting), then
    encodes the Agg buffer as PNG. Anything that changes the static part calls
    :meth:`invalidate` so that the next :meth:`to_png` draws everything again.
    """

    fig = None
    _dynamic = ()
    _background = None

    def _set_dynamic(self, artists):
        self._dynamic = list(artists)
        for artist in self._dynamic:
            artist.set_animated(True)
        self.invalidate()

    def invalidate(self):
        self._background = None

    def to_png(self):
        """PNG bytes of the current picture."""
        canvas = self.fig.canvas
        if self._background is None:
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        for artist in self._dynamic:
            if artist.get_visible():
                artist.draw(renderer)
        return rgba_png(canvas.buffer_rgba())

    def savefig(self, path, dpi=150):
        """Save a full-quality copy (any format matplotlib knows) for reports."""
        for artist in self._dynamic:
            artist.set_animated(False)
        try:
            self.fig.savefig(path, dpi=dpi)
        finally:
            for artist in self._dynamic:
                artist.set_animated(True)
            self.invalidate()
