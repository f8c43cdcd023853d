"""Pixels <-> voxels, checked against nibabel's apply_affine on the pictures themselves."""

from io import BytesIO

import numpy as np
import pytest
from nibabel.affines import apply_affine
from nibabel.orientations import io_orientation
from PIL import Image

from glmteach import picking, render
from glmteach.render import slices

# the packaged map's grid (nilearn's sample motor image: x flipped), a permuted one, a plain one
PACKAGED = (np.array([[-3.0, 0, 0, 78], [0, 3, 0, -112], [0, 0, 3, -50], [0, 0, 0, 1]]),
            (53, 63, 46))
PERMUTED = (np.array([[0, 0, 4.0, -30], [-4.0, 0, 0, 40], [0, 4.0, 0, -20], [0, 0, 0, 1]]),
            (13, 11, 15))
PLAIN = (np.diag([2.0, 2.0, 2.0, 1.0]) + np.array([[0, 0, 0, -20], [0, 0, 0, -24],
                                                  [0, 0, 0, -16], [0, 0, 0, 0]]), (21, 25, 17))
GRIDS = {"packaged (x flipped)": PACKAGED, "permuted axes": PERMUTED, "plain": PLAIN}


def random_voxels(shape, n=40, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, n) for s in shape], axis=1)


def brain_grid(affine, shape):
    mask = np.zeros(shape, bool)
    mask[1:-1, 1:-1, 1:-1] = True
    return render.BrainGrid(mask, affine, outline=mask)


@pytest.mark.parametrize("name", GRIDS)
def test_mm_voxel_round_trip_matches_apply_affine(name):
    affine, shape = GRIDS[name]
    for ijk in random_voxels(shape):
        xyz = apply_affine(affine, ijk)
        np.testing.assert_allclose(picking.voxel_to_mm(affine, ijk), xyz)
        assert picking.mm_to_voxel(affine, xyz, shape) == tuple(ijk)
        # anywhere inside the voxel (less than half a voxel away) finds it too
        assert picking.mm_to_voxel(affine, xyz + 0.45 * np.abs(np.diag(affine)[:3]).max()
                                   * np.array([1, -1, 1]) / 2, shape) == tuple(ijk)
    assert picking.mm_to_voxel(affine, apply_affine(affine, [-5, 0, 0]), shape) is None
    with pytest.raises(ValueError, match="3 finite numbers"):
        picking.mm_to_voxel(affine, [1, 2])


@pytest.mark.parametrize("name", GRIDS)
def test_canonical_indices_are_where_brain_grid_puts_the_voxel(name):
    affine, shape = GRIDS[name]
    grid = brain_grid(affine, shape)
    ornt = io_orientation(affine)
    assert picking.canonical_shape(ornt, shape) == grid.shape
    for ijk in random_voxels(shape, 10):
        volume = np.zeros(shape)
        volume[tuple(ijk)] = 1
        abc = picking.to_canonical(ijk, ornt, shape)
        assert tuple(np.argwhere(grid.canonical(volume))[0]) == abc
        assert picking.from_canonical(abc, ornt, shape) == tuple(ijk)


@pytest.mark.parametrize("name", GRIDS)
@pytest.mark.parametrize("view", ["x", "y", "z"])
def test_view_points_round_trip_through_apply_affine(name, view):
    """A voxel's mm coordinates in a view's plane land on its pixel, and back."""
    affine, shape = GRIDS[name]
    grid = brain_grid(affine, shape)
    ornt = io_orientation(affine)
    h, v = picking.PLANE_AXES[view]
    for ijk in random_voxels(shape):
        xyz = apply_affine(affine, ijk)
        abc = picking.to_canonical(ijk, ornt, shape)
        found = picking.view_to_canonical(view, xyz[h], xyz[v], grid.extents[view], grid.shape)
        assert found == {h: abc[h], v: abc[v]}
        np.testing.assert_allclose(
            picking.canonical_to_view(view, abc, grid.extents[view], grid.shape),
            (xyz[h], xyz[v]))
    assert picking.view_to_canonical(view, 1e4, 0.0, grid.extents[view], grid.shape) is None


def test_ray_voxel_is_the_projected_value_with_ties_broken():
    ray = np.array([0.0, 2.0, -5.0, 4.0, 0.0])
    assert picking.ray_voxel(ray, signed=True) == 2
    assert picking.ray_voxel(ray, signed=False) == 3
    assert picking.ray_voxel(np.zeros(4)) is None
    plateau = np.array([1.0, 3.0, 3.0, 3.0, 2.0])
    assert picking.ray_voxel(plateau, signed=False) == 1  # argmax's first
    tiebreak = np.array([9.0, 4.0, 7.0, 5.0, 8.0])
    assert picking.ray_voxel(plateau, signed=False, tiebreak=tiebreak) == 2
    # on random volumes the picked voxel's value is the signed MIP's, view by view
    rng = np.random.default_rng(1)
    volume = rng.standard_normal((6, 7, 5)).astype(np.float32)
    for view, axis in picking.DEPTH_AXIS.items():
        mip = render.signed_mip(volume, axis)
        for a in range(mip.shape[0]):
            for b in range(mip.shape[1]):
                in_plane = dict(zip([k for k in range(3) if k != axis], (a, b)))
                depth = picking.ray_voxel(picking.ray(volume, view, in_plane))
                assert picking.ray(volume, view, in_plane)[depth] == mip[a, b]


def test_cursor_keys_move_one_voxel_along_world_axes():
    affine, shape = PACKAGED
    ornt = io_orientation(affine)
    start = (20, 30, 25)
    for key, (axis, step) in picking.KEY_STEPS.items():
        moved = picking.step_voxel(start, key, ornt, shape)
        delta = apply_affine(affine, moved) - apply_affine(affine, start)
        expected = np.zeros(3)
        expected[axis] = 3.0 * step
        np.testing.assert_allclose(delta, expected)  # x grows to the right, though i falls
    edge = (0, 0, 0)  # i = 0 is the rightmost column (x = 78): ArrowRight stays
    assert picking.step_voxel(edge, "ArrowRight", ornt, shape) == edge


def png_pixels(png):
    return np.asarray(Image.open(BytesIO(png)).convert("RGB")).astype(int)


@pytest.mark.parametrize("name", ["packaged (x flipped)", "permuted axes"])
def test_click_on_a_projection_picks_the_voxel_it_shows(name):
    """Render one hot voxel behind weaker ones; its coloured pixel picks it, in every view."""
    affine, shape = GRIDS[name]
    grid = brain_grid(affine, shape)
    ornt = io_orientation(affine)
    rng = np.random.default_rng(3)
    for ijk in random_voxels(np.array(shape) - 4, 4, seed=5) + 2:
        volume = np.zeros(shape, np.float32)
        abc = picking.to_canonical(ijk, ornt, shape)
        volume[tuple(ijk)] = 5.0
        # weaker voxels on the same rays (they must not be picked)
        for axis in range(3):
            other = list(ijk)
            other[axis] = (ijk[axis] + 2) % shape[axis]
            volume[tuple(other)] = rng.uniform(1.0, 2.0)
        figure = render.GlassBrainFigure(grid, ["map"], vmax=5.0, colorbar_label=None)
        figure.volumes = {"map": grid.canonical(volume)}
        figure.set_volume("map", grid.canonical(volume))
        figure.set_threshold(4.0)
        png = figure.to_png()
        pixels = png_pixels(png)
        marks = slices.projection_marks(figure, tuple(ijk))
        width, height = picking.png_size(png)
        assert len(marks) == 3
        for (fx, fy), view in zip(marks, "xyz"):
            px, py = fx * width, fy * height
            # the picture shows the hot voxel's colour (value 5) where the mark is
            expected = 255 * np.asarray(figure.cmap(figure.norm(5.0)))[:3]
            assert np.abs(pixels[int(py), int(px)] - expected).max() <= 3, view
            found, panel, found_view = slices.projection_voxel(figure, px, py)
            assert (found, panel, found_view) == (tuple(ijk), "map", view)
            assert np.allclose(apply_affine(affine, found), apply_affine(affine, ijk))
        # an empty ray keeps the cursor's depth
        figure.volumes = {"map": np.zeros(grid.shape, np.float32)}
        fx, fy = marks[2]  # axial view: looks along z
        current = (3, 4, 5)
        found, _, _ = slices.projection_voxel(figure, fx * width, fy * height, current)
        found_abc = picking.to_canonical(found, ornt, shape)
        assert found_abc[:2] == abc[:2]
        assert found_abc[2] == picking.to_canonical(current, ornt, shape)[2]
    assert slices.projection_voxel(figure, -5, -5) is None


@pytest.mark.parametrize("name", ["packaged (x flipped)", "permuted axes", "plain"])
def test_click_on_a_slice_picks_the_voxel_in_its_plane(name):
    affine, shape = GRIDS[name]
    grid = brain_grid(affine, shape)
    ornt = io_orientation(affine)
    figure = slices.SliceFigure(grid, template=np.ones(shape, np.float32))
    voxels = random_voxels(np.array(shape) - 2, 6, seed=9) + 1
    cursor = tuple(voxels[0])
    figure.set_cursor(picking.to_canonical(cursor, ornt, shape))
    assert np.allclose(figure.cut_mm(), apply_affine(affine, cursor))
    png = figure.to_png()
    width, height = picking.png_size(png)
    for view, ax in figure.axes.items():
        h, v = picking.PLANE_AXES[view]
        depth = picking.DEPTH_AXIS[view]
        # the crosshair's centre picks the cursor
        xyz = apply_affine(affine, cursor)
        px, py = picking.axes_pixel(ax, xyz[h], xyz[v])
        assert 0 <= px < width and 0 <= py < height
        assert figure.pick(px, py) == cursor
        # another voxel's position in this plane picks it, at the slice's depth
        for target in voxels[1:]:
            target_xyz = apply_affine(affine, target)
            found = figure.pick(*picking.axes_pixel(ax, target_xyz[h], target_xyz[v]))
            found_xyz = apply_affine(affine, found)
            np.testing.assert_allclose(found_xyz[[h, v]], target_xyz[[h, v]])
            assert found_xyz[depth] == pytest.approx(xyz[depth])
    assert figure.pick(1, 1) is None


def test_slice_crosshair_is_drawn_through_the_cursor():
    affine, shape = PACKAGED
    grid = brain_grid(affine, shape)
    figure = slices.SliceFigure(grid, template=np.zeros(shape, np.float32))
    cursor = (20, 30, 25)
    figure.set_cursor(picking.to_canonical(cursor, io_orientation(affine), shape))
    pixels = png_pixels(figure.to_png())
    xyz = apply_affine(affine, cursor)
    for view, ax in figure.axes.items():
        h, v = picking.PLANE_AXES[view]
        px, py = picking.axes_pixel(ax, xyz[h], xyz[v])
        # green crosshair pixels left and above the centre (a 1-pixel line: +-1 pixel)
        row, col = int(py), int(px)
        for patch in (pixels[row - 1:row + 2, col - 6], pixels[row - 6, col - 1:col + 2]):
            green = (patch[:, 1] > 120) & (patch[:, 0] < 80)
            assert green.any(), (view, patch)


def test_png_size_reads_the_header():
    figure = render.new_figure(3.0, 2.0)
    png = render.figure_png(figure)
    assert picking.png_size(png) == Image.open(BytesIO(png)).size
    with pytest.raises(ValueError, match="not PNG"):
        picking.png_size(b"GIF89a")
