"""Pictures: fast "glass brain" projections for live panels, nilearn figures for reports.

Live panels must redraw in well under 100 ms, which nilearn's ``plot_glass_brain``
(0.35-0.5 s per figure) cannot do. Here the three maximum-intensity projections (MIPs) of a
map are computed once; a threshold change only re-masks them, updates the existing image
artists and renders the figure to PNG bytes (for ``ipywidgets.Image``).

Conventions (nilearn's):

- Views: ``"x"`` sagittal (anterior to the right), ``"y"`` coronal and ``"z"`` axial, both
  with the left hemisphere on the left of the picture (labelled "L" / "R").
- Signed MIP: along each ray the value of largest magnitude is kept, with its sign, so that
  positive (red) and negative (blue) effects both show (nilearn's ``plot_abs=False``).
- Figures use the Agg canvas directly (``Figure`` + ``FigureCanvasAgg``), never pyplot: nothing
  pops up and nothing is kept in pyplot's registry.
"""

from functools import lru_cache
from io import BytesIO

import numpy as np
from matplotlib import colormaps, colors
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from nibabel.orientations import io_orientation

VIEWS = {"x": "sagittal", "y": "coronal", "z": "axial"}
PNG_DPI = 72
_PNG_OPTIONS = dict(format="png", pil_kwargs={"compress_level": 1})
_OUTLINE_FILL = (0.84, 0.84, 0.84)
_OUTLINE_EDGE = (0.4, 0.4, 0.4)


def signed_cmap():
    """Diverging colour map for signed maps (nilearn's ``cold_hot``): blue < 0 < red."""
    from nilearn.plotting.cm import cold_hot

    # cold_hot's white ends vanish on the grey brain: keep cyan ... yellow
    listed = colors.ListedColormap(cold_hot(np.linspace(0.15, 0.85, 256)), name="cold_hot_mid")
    return listed.with_extremes(bad=(0, 0, 0, 0))


def sequential_cmap():
    """Sequential colour map for -log10 p maps: dark red (weak) to yellow (strong)."""
    hot = colormaps["hot"]
    listed = colors.ListedColormap(hot(np.linspace(0.25, 0.85, 256)), name="hot_mid")
    return listed.with_extremes(bad=(0, 0, 0, 0))


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


class BrainGrid:
    """A voxel grid in canonical (RAS) order, with projections and a brain outline.

    Parameters
    ----------
    mask : ndarray of bool, shape (nx, ny, nz)
        Voxels that carry values (nilearn's order of masked values = C-order of
        ``np.nonzero(mask)``).
    affine : ndarray, shape (4, 4)
        Voxel -> MNI mm. Axes may be flipped or permuted (e.g. the localizer's x = -3 mm);
        pictures are always shown in RAS order.
    outline : ndarray of bool, shape (nx, ny, nz), optional
        Brain used for the grey silhouette (default: the MNI152 brain mask resampled to this
        grid, else ``mask``).
    """

    def __init__(self, mask, affine, outline=None):
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim != 3 or not mask.any():
            raise ValueError(
                f"mask must be a non-empty 3D boolean array, got shape {mask.shape}; "
                "pass MaskedMaps.mask."
            )
        self.affine = np.asarray(affine, dtype=float)
        self.original_shape = mask.shape
        self._ornt = io_orientation(self.affine)
        self.shape = tuple(int(self._ornt_shape(mask.shape)[k]) for k in range(3))
        self.mask = self.canonical(mask)
        self._flat_index = self._canonical_flat(mask)
        self.extents = self._extents(mask.shape)
        if outline is None:
            outline = mni_brain_mask(mask.shape, self.affine)
            if not _fits(outline, mask):  # not in MNI space: outline the data instead
                outline = mask
        outline = self.canonical(np.asarray(outline, dtype=bool)) | self.mask
        self.silhouettes = {view: outline.any(axis=_AXIS[view]).T for view in VIEWS}

    @classmethod
    def from_img(cls, img):
        """Grid of a 3D image; values = finite non-zero voxels."""
        data = np.asarray(img.dataobj, dtype=np.float32)
        return cls(np.isfinite(data) & (data != 0), img.affine)

    def _ornt_shape(self, shape):
        out = [0, 0, 0]
        for axis, (target, _) in enumerate(self._ornt.astype(int)):
            out[target] = shape[axis]
        return out

    def canonical(self, volume):
        """Reorder a volume given on the original grid to RAS order (a view, no copy)."""
        volume = np.asarray(volume)
        order = np.argsort(self._ornt[:, 0])
        flips = [axis for axis in range(3) if self._ornt[axis, 1] < 0]
        return np.transpose(np.flip(volume, axis=flips), order)

    def _canonical_flat(self, mask):
        """Flat canonical indices of ``mask``'s voxels, in nilearn's (original C) order."""
        ijk = np.array(np.nonzero(mask))
        out = np.empty_like(ijk)
        for axis, (target, flip) in enumerate(self._ornt.astype(int)):
            idx = ijk[axis] if flip > 0 else mask.shape[axis] - 1 - ijk[axis]
            out[target] = idx
        return np.ravel_multi_index(tuple(out), self.shape)

    def _extents(self, shape):
        """imshow extents in mm (world axes = canonical axes for near-diagonal affines)."""
        last = np.array(shape) - 1
        corners = np.array([[i, j, k] for i in (0, last[0]) for j in (0, last[1])
                            for k in (0, last[2])], dtype=float)
        world = corners @ self.affine[:3, :3].T + self.affine[:3, 3]
        half_voxel = np.abs(self.affine[:3, :3]).sum(axis=1) / 2
        lo, hi = world.min(axis=0) - half_voxel, world.max(axis=0) + half_voxel
        return {
            "x": (lo[1], hi[1], lo[2], hi[2]),
            "y": (lo[0], hi[0], lo[2], hi[2]),
            "z": (lo[0], hi[0], lo[1], hi[1]),
        }

    def volume(self, values):
        """Masked values, shape (n_voxels,), -> canonical float32 volume (0 outside)."""
        values = np.asarray(values, dtype=np.float32).ravel()
        if values.size != self._flat_index.size:
            raise ValueError(
                f"got {values.size} values for a mask of {self._flat_index.size} voxels; "
                "pass one value per mask voxel (MaskedMaps.Y columns)."
            )
        out = np.zeros(int(np.prod(self.shape)), dtype=np.float32)
        out[self._flat_index] = values
        return out.reshape(self.shape)

    def projections(self, volume, signed=True):
        """The three MIPs of a canonical volume, each ready for ``imshow(origin="lower")``.

        Returns
        -------
        dict
            ``{"x": (nz, ny), "y": (nz, nx), "z": (ny, nx)}`` float32 arrays; signed MIPs keep
            the value of largest magnitude along each ray.
        """
        return {view: signed_mip(volume, _AXIS[view], signed).T for view in VIEWS}


_AXIS = {"x": 0, "y": 1, "z": 2}


def _empty(shape):
    """A fully masked (transparent) picture."""
    return np.ma.masked_array(np.zeros(shape, dtype=np.float32), mask=True)


def _fits(outline, mask):
    """Whether a template brain outlines the data (most voxels inside, similar size)."""
    if outline is None:
        return False
    inside, n_mask, n_outline = (outline & mask).sum(), mask.sum(), outline.sum()
    return inside >= 0.8 * n_mask and n_outline <= 3 * n_mask


def signed_mip(volume, axis, signed=True):
    """Maximum-intensity projection keeping the sign of the largest-magnitude value."""
    volume = np.nan_to_num(np.asarray(volume, dtype=np.float32))
    if not signed:
        return volume.max(axis=axis)
    idx = np.expand_dims(np.abs(volume).argmax(axis=axis), axis)
    return np.take_along_axis(volume, idx, axis=axis).squeeze(axis)


@lru_cache(maxsize=8)
def _mni_resampled(kind, shape, affine_bytes):
    """nilearn's 2 mm MNI152 brain mask or T1 template on a grid (read and resampled once)."""
    from nilearn import datasets, image

    loader, interpolation = {
        "mask": (datasets.load_mni152_brain_mask, "nearest"),
        "template": (datasets.load_mni152_template, "continuous"),
    }[kind]
    resampled = image.resample_img(
        loader(resolution=2), target_affine=np.frombuffer(affine_bytes).reshape(4, 4),
        target_shape=shape, interpolation=interpolation, force_resample=True,
        copy_header=True,
    )
    return np.asarray(resampled.dataobj, dtype=np.float32)


def _grid_key(shape, affine):
    return tuple(int(s) for s in shape), np.asarray(affine, float).tobytes()


def mni_brain_mask(shape, affine):
    """MNI152 brain mask on the given grid (cached), or None if nilearn cannot provide it."""
    try:
        return _mni_resampled("mask", *_grid_key(shape, affine)) > 0
    except Exception:  # a missing template only costs the outline, never the panel
        return None


def mni_template(shape, affine):
    """MNI152 T1 template (2 mm, ships with nilearn) resampled to a grid (cached)."""
    return _mni_resampled("template", *_grid_key(shape, affine))


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
        self.cmap = signed_cmap() if signed else sequential_cmap()
        self.norm = colors.Normalize(-vmax if signed else 0.0, vmax)
        self.threshold = 0.0
        self._projections = {name: None for name in self.names}
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
        self._bars = ax.stairs([0.0], [0.0, 1.0], fill=True, color="0.65", label="_bars")
        transform = ax.get_xaxis_transform()
        self._lines = {name: ax.plot([], [], transform=transform, lw=1.8, label=name,
                                     **style)[0] for name, style in lines.items()}
        self._band = None
        if band_label is not None:
            self._band = ax.axvspan(0, 0, color="tab:green", alpha=0.25, lw=0, label=band_label)
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
        ax.imshow(overlay, origin="lower", extent=extent, cmap=colors.ListedColormap(["tab:red"]),
                  alpha=0.45, interpolation="nearest")
        ax.contour(mask.astype(np.float32), levels=[0.5], colors=["tab:red"], linewidths=0.8,
                   origin="lower", extent=extent)
        if view in "yz":
            for x, label in ((0.02, "L"), (0.98, "R")):
                ax.text(x, 0.02, label, transform=ax.transAxes, fontsize=9, color="white",
                        ha="left" if label == "L" else "right", va="bottom")

    def to_png(self, dpi=PNG_DPI):
        return figure_png(self.fig, dpi)


def static_glass_brain(img, threshold=None, title=None, output_file=None, vmax=None,
                       display_mode="ortho", colorbar=True, **kwargs):
    """nilearn's ``plot_glass_brain`` with this package's conventions (for static reports).

    Signed (``plot_abs=False``), cold-hot colours. Slow (~0.4 s): not for live panels.

    Parameters
    ----------
    img : Nifti1Image or str
    threshold, vmax : float, optional
    title : str, optional
    output_file : str or Path, optional
        Save there (PNG/SVG/PDF by suffix) and close; else return the display.
    """
    from nilearn import plotting

    return plotting.plot_glass_brain(
        img, threshold=threshold, title=title, output_file=output_file, vmax=vmax,
        display_mode=display_mode, colorbar=colorbar, plot_abs=False, **kwargs,
    )
