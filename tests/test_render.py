"""Fast glass-brain pictures: orientation, signed MIPs, in-place updates, PNG output."""

from io import BytesIO

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from glmteach import render

AFFINE_LAS = np.array([[-3.0, 0, 0, 78], [0, 3, 0, -112], [0, 0, 3, -50], [0, 0, 0, 1]])
SHAPE = (20, 24, 18)


def _brain(shape=SHAPE):
    grid = np.indices(shape).astype(float)
    centre = (np.array(shape) - 1) / 2
    return (((grid - centre[:, None, None, None]) / (centre[:, None, None, None] + 0.5)) ** 2
            ).sum(0) < 1


def _world_x(affine, shape):
    """World x (mm) of every voxel, shape ``shape``."""
    ijk = np.indices(shape).reshape(3, -1).T
    return (ijk @ affine[:3, :3].T + affine[:3, 3])[:, 0].reshape(shape)


def _lateral_volume(affine, shape=SHAPE):
    """+5 in the right hemisphere (x > 0 mm), -5 in the left one, inside the brain."""
    brain = _brain(shape)
    x = _world_x(affine, shape)
    return brain, np.where(brain, np.where(x > 8, 5.0, np.where(x < -8, -5.0, 0.0)), 0.0)


def _pixels(png):
    return np.asarray(Image.open(BytesIO(png)).convert("RGB")).astype(int)


@pytest.mark.parametrize("affine", [AFFINE_LAS, np.diag([2.0, 2.5, 3.0, 1.0])])
def test_canonical_matches_nibabel(affine):
    data = np.random.default_rng(0).standard_normal(SHAPE)
    grid = render.BrainGrid(_brain(), affine, outline=_brain())
    expected = nib.as_closest_canonical(nib.Nifti1Image(data, affine)).get_fdata()
    np.testing.assert_array_equal(grid.canonical(data), expected)


def test_volume_puts_values_where_nilearn_order_says():
    brain = _brain()
    values = np.random.default_rng(1).standard_normal(brain.sum())
    grid = render.BrainGrid(brain, AFFINE_LAS, outline=brain)
    original = np.zeros(SHAPE)
    original[brain] = values  # nilearn's order: C-order of np.nonzero(mask)
    np.testing.assert_allclose(grid.volume(values), grid.canonical(original), rtol=1e-6)


def test_signed_mip_against_brute_force():
    volume = np.random.default_rng(2).standard_normal((5, 6, 7))
    for axis in range(3):
        moved = np.moveaxis(volume, axis, -1)
        expected = np.empty(moved.shape[:2])
        for i in range(moved.shape[0]):
            for j in range(moved.shape[1]):
                ray = moved[i, j]
                expected[i, j] = ray[np.argmax(np.abs(ray))]
        np.testing.assert_allclose(render.signed_mip(volume, axis), expected, rtol=1e-6)
        np.testing.assert_allclose(render.signed_mip(volume, axis, signed=False),
                                   volume.max(axis=axis), rtol=1e-6)


def _hemisphere_colours(figure, png, view):
    """Mean (red - blue) of coloured pixels in the left and right halves of one view."""
    top, bottom, left, right = figure._rasters[figure.names[0], view].box
    pixels = _pixels(png)[top:bottom, left:right]
    warmth = pixels[..., 0] - pixels[..., 2]
    middle = pixels.shape[1] // 2
    return warmth[:, :middle].mean(), warmth[:, middle:].mean()


@pytest.mark.parametrize("affine", [AFFINE_LAS, np.diag([3.0, 3.0, 3.0, 1.0])])
@pytest.mark.parametrize("view", ["y", "z"])
def test_right_hemisphere_is_on_the_right_and_red(affine, view):
    affine = affine.copy()
    affine[:3, 3] = -affine[:3, :3] @ ((np.array(SHAPE) - 1) / 2)  # centre the brain at 0
    brain, volume = _lateral_volume(affine)
    grid = render.BrainGrid(brain, affine, outline=brain)
    figure = render.GlassBrainFigure(grid, ["map"], vmax=6.0)
    figure.set_values("map", volume[brain])
    left, right = _hemisphere_colours(figure, figure.to_png(), view)
    assert right > 20 and left < -20  # red (warm) on the right, blue (cold) on the left


def test_threshold_changes_picture_and_blitting_matches_full_redraw():
    brain = _brain()
    rng = np.random.default_rng(3)
    grid = render.BrainGrid(brain, AFFINE_LAS, outline=brain)
    figure = render.GlassBrainFigure(grid, ["a", "b"], n_cols=2, colorbar_label="z")
    figure.set_values("a", rng.standard_normal(brain.sum()) * 2)
    figure.set_values("b", rng.standard_normal(brain.sum()) * 2)
    low = figure.to_png()
    figure.set_threshold(3.0)
    high = figure.to_png()  # blitted: only the images were redrawn
    assert low != high
    figure.invalidate()
    full = figure.to_png()  # everything drawn again
    np.testing.assert_array_equal(_pixels(high), _pixels(full))
    coloured = lambda png: (np.ptp(_pixels(png), axis=-1) > 60).sum()
    assert coloured(high) < coloured(low)


def test_histogram_lines_and_band_move():
    hist = render.HistogramFigure({"thr": dict(color="r")}, "t", band_label="band")
    counts, edges = np.histogram(np.random.default_rng(4).standard_normal(1000), 30)
    hist.set_counts(counts, edges)
    hist.set_line("thr", [-2, 2])
    hist.set_band(1.5, 2.5)
    first = hist.to_png()
    hist.set_line("thr", [-3, 3])
    assert hist.to_png() != first
    x, _ = hist._lines["thr"].get_data()
    assert [v for v in x if np.isfinite(v)] == [-3, -3, 3, 3]


def test_bad_inputs_say_what_to_do():
    with pytest.raises(ValueError, match="non-empty 3D"):
        render.BrainGrid(np.zeros(SHAPE, bool), AFFINE_LAS)
    grid = render.BrainGrid(_brain(), AFFINE_LAS, outline=_brain())
    with pytest.raises(ValueError, match="one value per mask voxel"):
        grid.volume(np.ones(3))
    with pytest.raises(ValueError, match="at least one panel"):
        render.GlassBrainFigure(grid, [])


def test_static_glass_brain(tmp_path):
    brain, volume = _lateral_volume(AFFINE_LAS)
    out = tmp_path / "glass.png"
    render.static_glass_brain(nib.Nifti1Image(volume, AFFINE_LAS), threshold=1.0,
                              output_file=out)
    assert Image.open(out).size[0] > 100


def test_painted_pixels_are_the_shown_voxels():
    """At each voxel's centre pixel the picture is coloured iff the voxel is shown, in the
    voxel's own colour (brute force over the projection; edges fall half-way between)."""
    from glmteach.render._raster import ViewRaster

    rng = np.random.default_rng(7)
    values = rng.uniform(0, 3, (12, 15)).astype(np.float32)
    shown = values > 1.5
    factor = 20  # pixels per voxel: voxel (i, j)'s centre is pixel (20 i + 10, 20 j + 10)
    raster = ViewRaster((5, 5 + 12 * factor, 7, 7 + 15 * factor), values.shape)
    rgb = np.full((12 * factor + 10, 15 * factor + 14, 3), 255, np.uint8)
    lut = (render.sequential_cmap()(np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    raster.paint(rgb, values, shown, lut, 0.0, 3.0)
    for i in range(12):
        for j in range(15):
            pixel = rgb[5 + factor * i + factor // 2, 7 + factor * j + factor // 2].astype(int)
            if shown[i, j]:
                expected = lut[int(np.clip(values[i, j] / 3.0 * 255, 0, 255))]
                assert np.abs(pixel - expected).max() <= 25, (i, j)
            else:
                assert (pixel == 255).all(), (i, j)


def test_png_is_the_picture():
    from io import BytesIO

    from PIL import Image

    rgb = np.random.default_rng(8).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    decoded = np.asarray(Image.open(BytesIO(render.rgba_png(rgb))).convert("RGB"))
    np.testing.assert_array_equal(decoded, rgb)


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def test_projector_sizes_of_the_comparison_figure(embedded16):
    """At 72 dpi a point is a pixel: each view >= 300 px wide, each text >= 12 px, and the
    picture fits the ~1,330 px a 1366-px-wide projector leaves to the lesson."""
    from glmteach.widgets import panels

    _, masked = embedded16
    grid = render.BrainGrid(masked.mask, masked.affine)
    figure = render.GlassBrainFigure(
        grid, ["Bonferroni", "RFT", "Permutation"], n_cols=3, signed=False,
        view_width=panels.COMPARISON_VIEW_PX / panels.PX, stack="column", title_lines=2,
        colorbar_label="-log10 corrected p")
    for name in figure.names:
        figure.set_values(name, np.abs(np.random.default_rng(0).standard_normal(
            masked.n_voxels)) * 2)
    figure.set_threshold(1.3)
    rgb = figure.to_rgb()
    assert rgb.shape[1] <= 1330
    for (_, _), raster in figure._rasters.items():
        top, bottom, left, right = raster.box
        assert right - left >= 300
    sizes = [t.get_fontsize() for t in _texts(figure.fig)]
    assert sizes and min(sizes) >= 12
    assert render.PNG_DPI == 72 and figure.fig.dpi == 72


def test_histogram_value_labels_have_rows_and_legible_text():
    lines = {"Bonferroni": dict(color="#aa3377"), "RFT": dict(color="#b86e00")}
    hist = render.HistogramFigure(lines, "max |t|", value_labels=list(lines))
    hist.set_counts([1, 2, 3], [4.0, 5.0, 6.0, 7.0])
    hist.set_line("Bonferroni", [5.5])
    hist.set_line("RFT", [5.5])  # the same value: both labels readable, one row each
    labels = [hist._values[name] for name in lines]
    assert [t.get_text() for t in labels] == ["Bonferroni: 5.50", "RFT: 5.50"]
    assert labels[0].get_position()[1] != labels[1].get_position()[1]
    hist.to_png()
    assert min(t.get_fontsize() for t in _texts(hist.fig)) >= 12


@pytest.mark.parametrize("with_title", [True, False])
def test_slice_figure_text_is_legible_and_inside_the_picture(embedded16, with_title):
    """The cursor's slices: every text >= 12 px at 72 dpi (a point is a pixel, the picture
    is shown at its own size) and no text cut by the picture's edges."""
    from glmteach.render.slices import SliceFigure

    _, masked = embedded16
    grid = render.BrainGrid(masked.mask, masked.affine)
    figure = SliceFigure(grid, vmax=6.0, with_title=with_title)
    figure.set_volume(grid.volume(np.linspace(-6, 6, masked.n_voxels)), 2.0)
    png = figure.to_png()
    width, height = Image.open(BytesIO(png)).size
    texts = [t for t in _texts(figure.fig) if t.get_text()]
    assert texts and min(t.get_fontsize() for t in texts) >= 12
    renderer = figure.fig.canvas.get_renderer()
    for text in texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, (
            text.get_text(), box, (width, height))


def test_glass_titles_seen_before_are_pasted_back_pixel_for_pixel(embedded16):
    """A title typeset once is pasted back when it returns (a slider moved back): the
    picture must equal the one drawn from scratch, whatever came in between."""
    _, masked = embedded16
    grid = render.BrainGrid(masked.mask, masked.affine)
    values = np.abs(np.random.default_rng(3).standard_normal(masked.n_voxels)) * 2

    def fresh(titles):
        figure = render.GlassBrainFigure(grid, ["a", "b"], n_cols=2, signed=False)
        for name, title in zip(figure.names, titles):
            figure.set_values(name, values)
            figure.set_title(name, title)
        figure.set_threshold(1.3)
        return figure

    first, second = ["a\n12 voxels", "b\n3 voxels"], ["a\n1,234 voxels", "b\n3 voxels"]
    figure = fresh(first)
    shown = []
    for titles in (first, second, first, second, first):
        for name, title in zip(figure.names, titles):
            figure.set_title(name, title)
        shown.append(figure.to_rgb())
    reference = {0: fresh(first).to_rgb(), 1: fresh(second).to_rgb()}
    assert not np.array_equal(reference[0], reference[1])
    for k, rgb in enumerate(shown):
        np.testing.assert_array_equal(rgb, reference[k % 2])
    assert sorted(len(s) for s in figure._stamps.values()) == [1, 2]  # b's title: one


def test_histogram_value_labels_composited_match_matplotlib_drawing_them():
    """Value labels over the bars are composited from sprites (drawn once per string):
    within 2/255 of matplotlib drawing them in place, whatever came in between, and their
    ink is there (the label's pixels differ from the picture without the label)."""
    lines = {"Bonferroni": dict(color="#aa3377"), "RFT": dict(color="#b86e00")}

    def figure(sprites=True):
        hist = render.HistogramFigure(lines, "max |t|", value_labels=list(lines),
                                      band_label="band")
        if not sprites:
            hist._sprites = None
        hist.set_counts(np.arange(30) % 7, np.linspace(4.0, 7.0, 31), ylim=(0, 8))
        hist.set_band(5.0, 5.4)
        hist.set_line("RFT", [4.8])
        return hist

    hist = figure()
    for x in (5.2, 6.5, 5.2, 4.3, 6.5):  # new strings, then strings seen before
        hist.set_line("Bonferroni", [x])
        shown = hist.to_rgb().astype(int)
        direct = figure(sprites=False)
        direct.set_line("Bonferroni", [x])
        reference = direct.to_rgb().astype(int)
        assert np.abs(shown - reference).max() <= 2
        direct.set_line("Bonferroni", [])
        without = direct.to_rgb().astype(int)
        label = hist._values["Bonferroni"].get_window_extent(hist.fig.canvas.get_renderer())
        rows = slice(int(shown.shape[0] - label.y1), int(shown.shape[0] - label.y0))
        cols = slice(int(label.x0), int(label.x1))
        assert np.abs(shown[rows, cols] - without[rows, cols]).max() > 100  # the text's ink
    assert len(hist._sprites[id(hist._values["Bonferroni"])]) == 3


@pytest.mark.parametrize("view", ["x", "y", "z"])
def test_glass_brain_outline_is_nilearns_pixel_for_pixel_in_one_artist(view):
    """The outline (one PathCollection a view, for memory) draws exactly the pixels of
    nilearn's plot_brain_schematics (one PathPatch per curve), and its bounds."""
    from nilearn.plotting.glass_brain import plot_brain_schematics as nilearn_outline

    from glmteach.render._canvas import new_figure
    from glmteach.render._schematics import plot_brain_schematics

    pictures, bounds = [], []
    for draw in (nilearn_outline, plot_brain_schematics):
        fig = new_figure(3.0, 3.0)
        ax = fig.add_axes([0.05, 0.05, 0.9, 0.9])
        bounds.append(draw(ax, view, linewidth=0.6))
        ax.set_xlim(bounds[-1][:2])
        ax.set_ylim(bounds[-1][2:])
        fig.canvas.draw()
        pictures.append(np.asarray(fig.canvas.buffer_rgba()).copy())
        n_artists = len(ax.patches) + len(ax.collections)
    assert n_artists == 1  # ours: one artist for the whole view
    assert bounds[0] == pytest.approx(bounds[1])
    assert (pictures[0] < 250).any()  # the outline is drawn at all
    np.testing.assert_array_equal(pictures[0], pictures[1])
