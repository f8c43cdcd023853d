"""Agg figures rendered to PNG bytes, and the blitting base class of live figures.

Figures use the Agg canvas directly (``Figure`` + ``FigureCanvasAgg``), never pyplot: nothing
pops up and nothing is kept in pyplot's registry.
"""

import struct
import zlib
from io import BytesIO

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PNG_DPI = 72  # one point = one pixel: font sizes are pixel sizes in the browser
FONT_SIZE = 12  # the smallest text in a live figure (legible on a projector)
_PNG_OPTIONS = dict(format="png", pil_kwargs={"compress_level": 1})


def figure_png(fig, dpi=PNG_DPI):
    """Render an Agg figure to PNG bytes (fast zlib level: pictures change often)."""
    buffer = BytesIO()
    fig.savefig(buffer, dpi=dpi, **_PNG_OPTIONS)
    return buffer.getvalue()


def rgba_png(rgba):
    """PNG bytes of an RGB(A) buffer, shape (height, width, 3 or 4), uint8.

    Figures are opaque, so the alpha channel is dropped. Written here rather than by PIL:
    no row filters and zlib's fastest level encode a projector-sized picture about three
    times faster (pictures change on every slider step; they are sent once, locally).
    """
    rgba = np.asarray(rgba)
    height, width, _ = rgba.shape
    raw = np.empty((height, width * 3 + 1), dtype=np.uint8)
    raw[:, 0] = 0  # each row's filter byte: none
    pixels = raw[:, 1:].reshape(height, width, 3)
    for channel in range(3):  # a channel at a time: 3x faster than copying [..., :3]
        pixels[..., channel] = rgba[..., channel]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"".join([b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header),
                     _chunk(b"IDAT", zlib.compress(raw, 1)), _chunk(b"IEND", b"")])


def _chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


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

    Typesetting a text costs 2-7 ms (matplotlib 3.11), more than the rest of a slider
    step: a dynamic text seen before is not typeset again but pasted back, as pixels
    (:meth:`_set_stamped`, texts apart from the others) or as a transparent sprite
    composited in drawing order (:meth:`_set_sprited`, texts over bars and lines).
    """

    fig = None
    _dynamic = ()
    _background = None
    _stamps = None  # id(text) -> {text's look: (rows, cols, pixels)}, see _set_stamped
    _sprites = None  # id(text) -> {text's look: (rows, cols, RGBA pixels)}, _set_sprited
    _scratch = None  # a transparent Agg renderer of the figure's size (sprites' first draw)
    _STAMPS_PER_TEXT = 32

    def _set_dynamic(self, artists):
        # in z-order, as a full draw (``savefig``) stacks them
        self._dynamic = sorted(artists, key=lambda artist: artist.get_zorder())
        for artist in self._dynamic:
            artist.set_animated(True)
        self.invalidate()

    def _set_stamped(self, texts):
        """Dynamic texts that overlap no other dynamic artist: their pixels are kept per
        string, so that a title seen before is pasted back instead of typeset again."""
        self._stamps = {id(text): {} for text in texts}

    def _set_sprited(self, texts):
        """Dynamic texts drawn over other dynamic artists (a value label over the bars):
        their ink and box are drawn once per string on a transparent canvas, then
        composited in their place and drawing order (within 2/255 of a direct draw)."""
        self._sprites = {id(text): {} for text in texts}

    def invalidate(self):
        self._background = None
        for cache in (self._stamps or {}, self._sprites or {}):
            for stamps in cache.values():
                stamps.clear()

    @staticmethod
    def _look(text):
        return (text.get_text(), text.get_color(), text.get_position(), text.get_fontsize(),
                text.get_ha(), text.get_va())

    def _box(self, text, renderer, shape):
        """Pixel rows and columns of a text's ink (one pixel of margin for anti-aliasing)."""
        return self._box_of(text.get_window_extent(renderer), shape, margin=2)

    def to_png(self):
        """PNG bytes of the current picture."""
        return rgba_png(self._render())

    def to_rgb(self):
        """The current picture, shape (height, width, 3), uint8 (a copy)."""
        return np.array(self._render()[..., :3])

    def _render(self):
        """The current picture in the Agg buffer, RGBA (a view: valid until the next
        render, which restores the background over it)."""
        canvas = self.fig.canvas
        if self._background is None:
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        stamps, sprites = self._stamps or {}, self._sprites or {}
        pasted, drawn = [], []
        for artist in self._dynamic:
            if not artist.get_visible():
                continue
            cache = sprites.get(id(artist))
            if cache is not None:
                self._composite(canvas, self._sprite(cache, artist))
                continue
            cache = stamps.get(id(artist))
            if cache is not None:
                look = self._look(artist)
                if look in cache:
                    pasted.append(cache[look])
                    continue
                drawn.append((cache, look, artist))
            artist.draw(renderer)
        rgba = np.asarray(canvas.buffer_rgba())
        rgb = rgba[..., :3]  # drawn on in place: the next render restores the background
        for cache, look, artist in drawn:
            if len(cache) >= self._STAMPS_PER_TEXT:
                cache.clear()
            rows, cols = self._box(artist, renderer, rgb.shape)
            cache[look] = (rows, cols, rgb[rows, cols].copy())
        for rows, cols, pixels in pasted:
            rgb[rows, cols] = pixels
        self._paint(rgb)
        return rgba

    def _sprite(self, cache, text):
        """(rows, cols, straight RGBA uint8) of a text as drawn alone, cached per look."""
        look = self._look(text)
        sprite = cache.get(look)
        if sprite is not None:
            return sprite
        from matplotlib.backends.backend_agg import RendererAgg

        width, height = (int(v) for v in self.fig.bbox.size)
        if self._scratch is None or (self._scratch.width, self._scratch.height) != (
                width, height):
            self._scratch = RendererAgg(width, height, self.fig.dpi)
        scratch = self._scratch
        scratch.clear()  # transparent
        text.draw(scratch)
        box = text.get_window_extent(scratch)
        patch = text.get_bbox_patch()
        if patch is not None:
            box = type(box).union([box, patch.get_window_extent(scratch)])
        rows, cols = self._box_of(box, (height, width), margin=3)
        if len(cache) >= self._STAMPS_PER_TEXT:
            cache.clear()
        cache[look] = sprite = (rows, cols,
                                np.array(np.asarray(scratch.buffer_rgba())[rows, cols]))
        return sprite

    @staticmethod
    def _composite(canvas, sprite):
        """Paint a sprite (straight RGBA) over the Agg buffer in place (it is opaque)."""
        rows, cols, rgba = sprite
        alpha = rgba[..., 3:] * np.float32(1 / 255)
        region = np.asarray(canvas.buffer_rgba())[rows, cols, :3]
        region[...] = region * (1 - alpha) + rgba[..., :3] * alpha + 0.5

    @staticmethod
    def _box_of(box, shape, margin):
        """Pixel rows and columns (row 0 at the top) of a display box, plus a margin."""
        height, width = shape[:2]
        top = max(0, int(height - box.y1) - margin)
        bottom = min(height, int(height - box.y0) + margin)
        left, right = max(0, int(box.x0) - margin), min(width, int(box.x1) + margin)
        return slice(top, max(top, bottom)), slice(left, max(left, right))

    def _paint(self, rgb):
        """What subclasses add with NumPy over the Agg picture, in place (``rgb``, a view
        of the Agg buffer, is restored from the background before the next render)."""

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
