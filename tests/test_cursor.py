"""The lesson's cursor, headless: clicks, keys, slices and the readout's numbers."""

import numpy as np
import pytest
from conftest import LESSON_SUBJECTS, lesson_reference, lesson_state
from nibabel.affines import apply_affine

from glmteach import corrections, narrative, permutation, picking
from glmteach.clusters import cluster_permutation_test
from glmteach.widgets import (ComparisonPanel, FetchPanel, LessonState, MaskPanel,
                              TTestPanel)
from glmteach.widgets.readout import cursor_views, method_p_values, voxel_numbers

N_SUBJECTS = LESSON_SUBJECTS


@pytest.fixture(scope="module")
def state():
    return lesson_state()


@pytest.fixture(scope="module")
def reference(state):
    return lesson_reference(state)


def column_of(masked, ijk):
    matches = np.flatnonzero((np.argwhere(masked.mask) == np.asarray(ijk)).all(axis=1))
    return int(matches[0]) if matches.size else None


def test_cursor_starts_at_the_peak_and_keys_move_one_voxel(state, reference):
    masked, tt, _, _ = reference
    fresh = LessonState(source="embedded", n_subjects=N_SUBJECTS)
    fresh.fetch()
    peak = int(np.argmax(np.abs(tt.t)))
    assert fresh.cursor.source == "peak"
    assert fresh.cursor_column == peak == column_of(masked, fresh.cursor.ijk)
    np.testing.assert_allclose(fresh.cursor.xyz, apply_affine(masked.affine, fresh.cursor.ijk))
    start = np.array(fresh.cursor.xyz)
    size = np.abs(np.diag(masked.affine)[:3])
    for key, (axis, step) in picking.KEY_STEPS.items():
        before = np.array(fresh.cursor.xyz)
        fresh.move_cursor(key)
        expected = before.copy()
        expected[axis] += step * size[axis]
        np.testing.assert_allclose(fresh.cursor.xyz, expected)
        assert fresh.cursor.source == "key"
    np.testing.assert_allclose(fresh.cursor.xyz, start)  # the six keys cancel out
    fresh.point_at((40.0, -20.0, 50.0))
    ijk = np.round(np.linalg.solve(masked.affine[:3, :3],
                                   np.array([40.0, -20.0, 50.0]) - masked.affine[:3, 3]))
    assert fresh.cursor.ijk == tuple(int(v) for v in ijk)
    assert fresh.cursor_column == column_of(masked, fresh.cursor.ijk)
    with pytest.raises(ValueError, match="fetch the maps"):
        LessonState().point_at((0, 0, 0))


def test_click_on_the_t_map_picks_the_voxel_its_projection_shows(state, reference):
    masked, tt, _, _ = reference
    panel = TTestPanel(state, background=False)
    figure = panel._map
    mask = masked.mask
    z_volume = np.zeros(mask.shape)
    z_volume[mask] = tt.z
    rng = np.random.default_rng(0)
    for column in rng.choice(tt.z.size, 6, replace=False):
        ijk = tuple(np.argwhere(mask)[column])
        marks = picking_marks(figure, ijk)
        width, height = picking.png_size(panel.map_image.value)
        for view, (fx, fy) in zip("xyz", marks):
            panel.map_image.click(fx * width, fy * height)
            got = state.cursor
            assert state.cursor.source == "projection"
            # brute force: along the ray through ijk (fixed in-plane, vary depth), the
            # cursor's voxel holds the largest |z| (the value the projection shows)
            axis = picking.DEPTH_AXIS[view]
            take = list(ijk)
            take[axis] = slice(None)
            ray = z_volume[tuple(take)]
            assert got.ijk[:axis] + got.ijk[axis + 1:] == ijk[:axis] + ijk[axis + 1:]
            assert abs(z_volume[got.ijk]) == np.abs(ray).max()
        # the marks follow the cursor
        assert panel.map_image.marks == [list(m) for m in picking_marks(figure, state.cursor.ijk)]


def picking_marks(figure, ijk):
    from glmteach.render.slices import projection_marks

    return projection_marks(figure, ijk)


def picking_pixels(png):
    from io import BytesIO

    from PIL import Image

    return np.asarray(Image.open(BytesIO(png)).convert("RGB")).astype(int)


def test_click_on_a_subject_map_and_on_the_comparison_maps(state, reference):
    masked, tt, _, _ = reference
    fetch = FetchPanel(state, background=False)
    target = tuple(np.argwhere(masked.mask)[int(np.argmax(tt.t))])
    fx, fy = picking_marks(fetch.figure, target)[0]  # first subject's axial view
    width, height = picking.png_size(fetch.image.value)
    fetch.image.click(fx * width, fy * height)
    assert state.cursor.ijk[:2] == target[:2]  # axial: x and y under the pointer
    comparison = ComparisonPanel(state, background=False)
    figure = comparison._maps
    width, height = picking.png_size(comparison.maps_image.value)
    for fx, fy in picking_marks(figure, target):
        comparison.maps_image.click(fx * width, fy * height)
        assert state.cursor_column is not None
        assert state.cursor.ijk != ()


def test_readout_numbers_equal_the_statistics_api(state, reference):
    masked, tt, field, perm = reference
    rng = np.random.default_rng(1)
    n_perm = state.effective_n_perm()
    bonferroni = corrections.correct(tt, "bonferroni").p_corrected
    rft = corrections.correct(tt, "rft", field=field).p_corrected
    fdr = corrections.correct(tt, "fdr_bh").p_corrected
    perm_p = perm.corrected_p(n_perm=n_perm)
    perm_p_error = perm.corrected_p_error(n_perm=n_perm)
    for column in [int(np.argmax(tt.t)), *rng.choice(tt.t.size, 5, replace=False)]:
        state.point_at_voxel(np.argwhere(masked.mask)[column], "slice")
        numbers = voxel_numbers(state)
        assert numbers.column == column
        assert numbers.t == tt.t[column] and numbers.p == tt.p[column]
        np.testing.assert_array_equal(numbers.values, masked.Y[:, column])
        by_name = {m.name: m for m in numbers.methods}
        assert by_name["bonferroni"].p == bonferroni[column]
        assert by_name["rft"].p == pytest.approx(rft[column], rel=1e-12)
        assert by_name["fdr_bh"].p == fdr[column]
        assert by_name["permutation"].p == perm_p[column]
        assert by_name["permutation"].p_error == perm_p_error[column]
        # SPM's row (spm_uc: the lower threshold) survives when either method does
        assert by_name["spm"].p == min(by_name["rft"].p, by_name["bonferroni"].p)
        names = [m.name for m in numbers.methods]
        assert names.index("spm") == names.index("rft") + 1
        for m in numbers.methods:
            assert m.survives == (m.p <= state.alpha)
        text = cursor_views(state).readout.html.value
        assert f"{tt.t[column]:.2f}" in text
    # a prefix of the flips (a sample: a non-zero Monte-Carlo error, finite population)
    p100 = perm.corrected_p(n_perm=100)
    column = int(np.flatnonzero((p100 > 0.05) & (p100 < 0.9))[0])
    state.point_at_voxel(np.argwhere(masked.mask)[column], "slice")
    row = {m.name: m for m in voxel_numbers(state, n_perm=100).methods}["permutation"]
    assert row.p == perm.corrected_p(n_perm=100)[column]
    assert row.p_error == perm.corrected_p_error(n_perm=100)[column] > 0
    # survivors counted from the readout's p maps = the comparison panel's counts
    results = state.comparison()
    for name, result in results.items():
        assert int((method_p_values(state, name) <= state.alpha).sum()) == result.n_survivors
    spm_p = np.minimum(method_p_values(state, "rft"), method_p_values(state, "bonferroni"))
    assert int((spm_p <= state.alpha).sum()) == narrative.spm_outcome(
        results["rft"], results["bonferroni"]).n_survivors
    outside = np.argwhere(~masked.mask)[0]
    state.point_at_voxel(outside, "key")
    assert voxel_numbers(state).column is None
    assert "Outside the group mask" in cursor_views(state).readout.html.value


def test_readout_cluster_rows_equal_the_cluster_api(state, reference):
    masked, tt, field, _ = reference
    state.methods = ["bonferroni", "rft", "permutation", "rft_cluster", "size", "tfce"]
    try:
        state.cluster_test()
        direct = cluster_permutation_test(masked.Y, masked.mask, masked.affine, n_perm=128,
                                          cluster_threshold=state.cluster_cdt_p)
        n_perm = min(state.effective_n_perm(), direct.n_flips)
        peak = int(np.argmax(tt.t))
        state.point_at_voxel(np.argwhere(masked.mask)[peak], "slice")
        by_name = {m.name: m for m in voxel_numbers(state).methods}
        assert by_name["size"].p == direct.cluster_p("size", n_perm)[peak]
        assert by_name["mass"].p == direct.cluster_p("mass", n_perm)[peak]
        assert by_name["tfce"].p == direct.tfce_p(n_perm)[peak]
        assert by_name["size"].p_error == direct.cluster_p_error("size", n_perm)[peak]
        assert by_name["tfce"].p_error == direct.tfce_p_error(n_perm)[peak]
        size = int(direct.cluster_sizes()[direct.labels[peak] - 1])
        assert f"{size:,} voxels" in by_name["size"].note
        # random field theory's cluster p (spm_P_RF) of the peak's cluster
        rft_p = field.cluster_p(direct.cluster_sizes(), direct.t_threshold, direct.df,
                                direct.two_sided)[direct.labels[peak] - 1]
        assert by_name["rft_cluster"].p == pytest.approx(rft_p, rel=1e-12)
        assert [m.name for m in voxel_numbers(state).methods] == [
            "bonferroni", "rft", "spm", "permutation", "fdr_bh", "rft_cluster", "size", "mass",
            "tfce"]
        for name in ("rft_cluster", "size", "tfce"):  # slices of each method's survivors
            views = cursor_views(state).slices
            assert name in [v for _, v in views.choice.options]
    finally:
        state.methods = ["bonferroni", "rft", "permutation"]


def test_slice_view_follows_the_cursor_and_its_clicks_move_it(state, reference):
    masked, tt, _, _ = reference
    views = cursor_views(state)
    assert cursor_views(state) is views  # one per lesson
    slices = views.slices
    column = int(np.argmax(tt.t))
    target = tuple(np.argwhere(masked.mask)[column])
    state.point_at_voxel(target, "peak")
    before = slices.image.value
    assert np.allclose(slices._figure.cut_mm(), apply_affine(masked.affine, target))
    # click the sagittal slice 3 voxels above the cursor: same x, z + 3 voxels
    xyz = apply_affine(masked.affine, target)
    ax = slices._figure.axes["x"]
    px, py = picking.axes_pixel(ax, xyz[1], xyz[2] + 3 * abs(masked.affine[2, 2]))
    slices.image.click(px, py)
    assert state.cursor.source == "slice"
    np.testing.assert_allclose(state.cursor.xyz, xyz + [0, 0, 3 * abs(masked.affine[2, 2])])
    assert slices.image.value != before
    # the survivors' choice shows only surviving voxels
    options = [v for _, v in slices.choice.options]
    assert options[0] == "t" and "permutation" in options
    slices.choice.value = "permutation"
    shown = slices._figure.volume
    survives = method_p_values(state, "permutation") <= state.alpha
    assert int((shown != 0).sum()) == int(survives.sum())
    slices.choice.value = "t"
    slices.image.press("ArrowRight")
    assert state.cursor.source == "key"


def test_mask_slices_follow_the_cursor_and_say_whether_it_is_tested(state, reference):
    masked = reference[0]
    panel = MaskPanel(state, background=False)
    slices, figure = panel.mask_slices, panel.mask_slices._figure
    size = abs(masked.affine[2, 2])
    # in the mask: the peak; a click on the axial slice 2 voxels to its right keeps z
    column = int(np.argmax(reference[1].t))
    target = tuple(np.argwhere(masked.mask)[column])
    state.point_at_voxel(target, "peak")
    xyz = apply_affine(masked.affine, target)
    assert np.allclose(figure.cut_mm(), xyz)
    assert "is in the group mask" in slices.caption.value
    assert f"one of the {masked.n_voxels:,} tests" in slices.image.alt
    px, py = picking.axes_pixel(figure.axes["z"], xyz[0] + 2 * size, xyz[1])
    slices.image.click(px, py)
    assert state.cursor.source == "mask"
    np.testing.assert_allclose(state.cursor.xyz, xyz + [2 * size, 0, 0])
    # each position's caption agrees with the mask, inside and outside the brain
    for key in ("PageUp", "ArrowLeft"):
        slices.image.press(key)
        assert state.cursor.source == "key"
        inside = bool(masked.mask[state.cursor.ijk])
        assert ("is in the group mask" in slices.caption.value) == inside
    corner = picking.axes_pixel(figure.axes["z"], *(figure.grid.extents["z"][i] + 1.0
                                                    for i in (0, 2)))
    slices.image.click(*corner)
    assert not masked.mask[state.cursor.ijk]
    assert "outside the group mask: no test at this voxel" in slices.caption.value
    # the picture: the mask's voxels tinted orange at the cursor's axial slice, others grey
    state.point_at_voxel(target, "peak")
    pixels = picking_pixels(slices.image.value)
    orange = lambda rgb: int(rgb[0]) - int(rgb[2]) > 40
    for ijk in ((target[0] + 3, target[1], target[2]), (1, 1, target[2])):
        point = apply_affine(masked.affine, ijk)
        px, py = picking.axes_pixel(figure.axes["z"], point[0], point[1])
        assert orange(pixels[int(py), int(px)]) == bool(masked.mask[ijk])


def test_sign_flip_explainer_follows_the_cursor(state, reference):
    from glmteach.widgets.labs import SignFlipExplainer

    masked, tt, _, _ = reference
    lab = SignFlipExplainer(state, background=False)
    assert lab.explainer.voxel == state.cursor_column  # starts where the cursor is
    lab.flip(20)
    rng = np.random.default_rng(4)
    for column in rng.choice(tt.t.size, 3, replace=False):
        state.point_at_voxel(np.argwhere(masked.mask)[column], "projection")
        ex = lab.explainer
        assert ex.voxel == column
        # its own null, brute force: the one-sample t of the flipped values, flip by flip
        values = masked.Y[:, column]
        flipped = ex.signs[:ex.n_done] * values
        brute = flipped.mean(1) / (flipped.std(1, ddof=1) / np.sqrt(values.size))
        np.testing.assert_allclose(ex.voxel_null, brute, rtol=1e-10)
        assert ex.voxel_null[0] == tt.t[column]
        xyz = ", ".join(f"{c:.0f}" for c in state.cursor.xyz)
        assert f"({xyz}) mm" in lab.pvalues.value
    # choosing a peak in the lab moves the lesson's cursor too
    column = lab.peak_dropdown.options[1][1]
    lab.peak_dropdown.value = column
    assert state.cursor_column == column == lab.explainer.voxel
    lab.go_to(state.cursor.xyz)
    assert lab.explainer.voxel == state.cursor_column


def test_failures_show_one_line_not_a_traceback(state, monkeypatch):
    from glmteach.render.slices import SliceFigure
    from glmteach.widgets.clickable import ClickableImage

    views = cursor_views(state)
    mask = MaskPanel(state, background=False).mask_slices

    def broken(*args, **kwargs):
        raise RuntimeError("slice drawing failed\nsecond line")

    monkeypatch.setattr(SliceFigure, "set_cursor", broken)
    state.move_cursor("ArrowUp")  # the state change itself goes through
    assert state.cursor.source == "key"
    assert views.slices.caption.value == "<i>slice drawing failed</i>"
    assert mask.caption.value == "<i>slice drawing failed</i>"
    image = ClickableImage()
    image.on_click(lambda px, py: broken())
    image.click(3, 4)  # logged, not raised


def test_strip_plot_shows_each_subjects_value_on_one_linear_scale(state, reference):
    import re

    from glmteach.widgets.readout import strip_svg

    masked = reference[0]
    values = masked.Y[:, int(np.argmax(reference[1].t))]
    svg = strip_svg(values)
    cy = np.array([float(v) for v in re.findall(r"<circle [^>]*cy='([-\d.]+)'", svg)])
    assert cy.size == values.size
    slope, intercept = np.polyfit(values, cy, 1)
    np.testing.assert_allclose(cy, slope * values + intercept, atol=0.01)  # one scale
    assert slope < 0  # larger values higher up
    lines = re.findall(r"y1='([-\d.]+)' y2='([-\d.]+)' stroke='(black|#999)'", svg)
    found = {colour: float(y1) for y1, _, colour in lines}
    assert found["black"] == pytest.approx(slope * values.mean() + intercept, abs=0.01)
    assert found["#999"] == pytest.approx(intercept, abs=0.05)  # the zero line
    assert f"mean {values.mean():.2f}" in svg
    assert cursor_views(state).readout.strip.value.startswith("<svg")
