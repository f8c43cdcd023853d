"""The sign-flip explainer against permutation_test and brute-force NumPy."""

import numpy as np
import pytest

import glmteach as gt
from glmteach.explainer import FlipExplainer, voxel_t_null
from reference import one_sample_t


@pytest.fixture(scope="module")
def small():
    """Smooth-ish data with an effect: 12 subjects, 600 voxels on a 10x10x6 grid."""
    rng = np.random.default_rng(4)
    mask = np.ones((10, 10, 6), bool)
    Y = rng.standard_normal((12, 600)) + np.linspace(0, 1.2, 600)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = [-15, -15, -9]
    return Y, mask, affine


def test_nulls_after_all_flips_equal_permutation_test(small):
    Y, mask, affine = small
    perm = gt.permutation_test(Y, n_perm=300, random_state=5)
    ex = FlipExplainer(Y, n_perm=300, random_state=5, mask=mask, affine=affine)
    for n in (1, 10, 100):
        ex.step(n)
    ex.step_all()
    assert ex.n_done == 300
    np.testing.assert_array_equal(ex.max_null, perm.max_null)
    assert ex.fwer_p() == perm.corrected_p()[ex.voxel]
    # the voxel null: the textbook t of the flipped data, flip by flip
    brute = np.array([one_sample_t(Y[:, [ex.voxel]] * s[:, None])[0] for s in ex.signs])
    np.testing.assert_allclose(ex.voxel_null, brute, rtol=1e-12)
    observed = np.abs(perm.t[ex.voxel])
    assert ex.voxel_p() == np.mean(np.abs(brute) >= observed * (1 - 1e-12))
    assert ex.voxel_p() >= 1 / 300  # the observed flip counts


def test_default_cohort_same_flips_as_the_comparison(embedded16):
    _, masked = embedded16
    perm = gt.permutation_test(masked.Y, n_perm=200, random_state=0)
    ex = FlipExplainer(masked.Y, n_perm=200, mask=masked.mask, affine=masked.affine)
    ex.step(37)  # flips 1..37 after the observed flip 0
    np.testing.assert_array_equal(ex.max_null, perm.max_null[:38])
    ex.step_all()
    np.testing.assert_array_equal(ex.max_null, perm.max_null)
    np.testing.assert_array_equal(ex.signs, perm.flips.signs)
    assert ex.voxel == int(np.argmax(np.abs(perm.t)))


def test_fewer_flips_are_a_prefix_of_the_lessons_null(small):
    Y, mask, affine = small
    perm = gt.permutation_test(Y, n_perm=2 ** 11, random_state=6)  # exact: all flips
    ex = FlipExplainer(Y, n_perm=150, random_state=6)
    ex.step_all()
    np.testing.assert_array_equal(ex.max_null, perm.max_null[:150])
    assert ex.fwer_p() == perm.corrected_p(n_perm=150)[ex.voxel]


def test_each_flip_shows_its_signs_and_values(small):
    Y, mask, affine = small
    ex = FlipExplainer(Y, n_perm=50, random_state=1)
    assert ex.n_done == 1 and not ex.flipped().any()  # flip 0: the observed data
    assert ex.voxel_null[0] == pytest.approx(ex.t[ex.voxel])
    ex.step()
    np.testing.assert_array_equal(ex.flipped(), ex.signs[1] < 0)
    assert ex.flipped().any()
    flipped_t = one_sample_t((Y[:, [ex.voxel]] * ex.signs[1][:, None]))[0]
    assert ex.voxel_null[-1] == pytest.approx(flipped_t, rel=1e-12)
    ex.step(10_000)  # clipped at the last flip
    assert ex.n_done == 50
    ex.reset()
    assert ex.n_done == 1 and ex.max_null.size == 1


def test_changing_voxel_keeps_the_max_null(small):
    Y, mask, affine = small
    ex = FlipExplainer(Y, n_perm=40, random_state=2)
    ex.step(20)
    before = ex.max_null.copy()
    ex.set_voxel(3)
    np.testing.assert_array_equal(ex.max_null, before)
    np.testing.assert_allclose(ex.voxel_null, voxel_t_null(Y[:, 3], ex.signs[:ex.n_done]))


def test_one_sided(small):
    Y, mask, affine = small
    perm = gt.permutation_test(Y, n_perm=64, two_sided=False, random_state=3)
    ex = FlipExplainer(Y, n_perm=64, two_sided=False, random_state=3)
    ex.step_all()
    np.testing.assert_array_equal(ex.max_null, perm.max_null)
    assert ex.voxel == int(np.argmax(perm.t))


def test_reuses_a_finished_permutation_test(small):
    Y, mask, affine = small
    perm = gt.permutation_test(Y, n_perm=100, random_state=7)
    ex = FlipExplainer(Y, n_perm=100, random_state=7, permutation=perm)
    ex.step_all()
    np.testing.assert_array_equal(ex.max_null, perm.max_null)
    with pytest.raises(ValueError, match="other flips"):
        FlipExplainer(Y, n_perm=100, random_state=8, permutation=perm)


def test_p_values_and_their_error(small):
    Y, mask, affine = small
    ex = FlipExplainer(Y, n_perm=2 ** 11, random_state=0)  # 12 subjects: exact
    assert ex.exact
    ex.step(100)
    p = ex.fwer_p()
    fpc = np.sqrt((2 ** 11 - 101) / (2 ** 11 - 1))  # drawn without repeats from 2,048
    assert ex.n_done == 101 and ex.p_error(p) == pytest.approx(np.sqrt(p * (1 - p) / 101) * fpc)
    ex.step_all()
    assert ex.p_error(ex.fwer_p()) == 0.0
    assert ex.parametric_p() == pytest.approx(gt.one_sample_ttest(Y).p[ex.voxel])


def test_coordinates_and_peaks(small):
    Y, mask, affine = small
    ex = FlipExplainer(Y, n_perm=10, mask=mask, affine=affine)
    xyz = ex.coordinates(123)
    assert ex.nearest_voxel(xyz) == 123
    assert ex.nearest_voxel(np.add(xyz, 1.0)) == 123  # within half a voxel
    peaks = ex.peaks(n=4, min_distance_mm=9.0)
    assert peaks[0][0] == ex.peak
    stats_ = [abs(t) for _, _, t in peaks]
    assert stats_ == sorted(stats_, reverse=True)
    for a in range(len(peaks)):
        for b in range(a):
            assert np.linalg.norm(np.subtract(peaks[a][1], peaks[b][1])) >= 9.0


def test_closest_to_t(small):
    Y, mask, affine = small
    ex = FlipExplainer(Y, n_perm=10)
    column = ex.closest_to_t(2.5)
    assert np.abs(np.abs(ex.t) - 2.5).min() == abs(abs(ex.t[column]) - 2.5)


@pytest.mark.parametrize("call, match", [
    (lambda ex: ex.closest_to_t(np.nan), "finite t value"),
    (lambda ex: ex.set_voxel(10_000), "voxel must be a column index"),
    (lambda ex: ex.set_voxel(1.5), "voxel must be a column index"),
    (lambda ex: ex.step(0), "positive whole number"),
    (lambda ex: ex.nearest_voxel((1, 2)), "3 finite numbers"),
])
def test_bad_input_says_what_to_do(small, call, match):
    Y, mask, affine = small
    ex = FlipExplainer(Y, n_perm=10, mask=mask, affine=affine)
    with pytest.raises(ValueError, match=match):
        call(ex)


def test_bad_construction(small):
    Y, mask, affine = small
    with pytest.raises(ValueError, match="coordinates need the grid"):
        FlipExplainer(Y, n_perm=10).peaks()
    with pytest.raises(ValueError, match="mask has"):
        FlipExplainer(Y, n_perm=10, mask=np.ones((3, 3, 3), bool), affine=affine)
    with pytest.raises(ValueError, match="n_perm"):
        FlipExplainer(Y, n_perm=0)


# ---------------------------------------------------------------- the panel, headless
@pytest.fixture
def lesson(embedded16):
    from glmteach.widgets.state import LessonState

    maps, masked = embedded16
    state = LessonState(source="embedded")
    state.maps, state.masked = maps, masked
    return state


def test_panel_flips_update_state_and_pictures(lesson):
    from glmteach.widgets.labs import SignFlipExplainer

    panel = SignFlipExplainer(lesson, n_perm=200, background=False)
    ex = panel.explainer
    first = panel.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    panel.flip_buttons[1].click()
    assert ex.n_done == 2 and panel.image.value != first
    assert "flip 1</b>" in panel.status.value
    panel.flip_buttons[10].click()
    panel.flip_buttons[100].click()
    assert ex.n_done == 112
    panel.all_button.click()
    assert ex.n_done == 200 and panel.bar.value == 1.0
    perm = gt.permutation_test(lesson.masked.Y, n_perm=200, random_state=0)
    np.testing.assert_array_equal(ex.max_null, perm.max_null)
    assert f"{perm.corrected_p()[ex.voxel]:.4f}" in panel.pvalues.value
    before = panel.image.value
    panel.reset_button.click()
    assert ex.n_done == 1 and panel.image.value != before


def test_panel_chooses_voxels_by_peak_and_by_mm(lesson):
    from glmteach.widgets.labs import SignFlipExplainer

    panel = SignFlipExplainer(lesson, n_perm=50, background=False)
    ex = panel.explainer
    assert panel.peak_dropdown.value == ex.peak
    before = panel.image.value
    second = panel.peak_dropdown.options[1][1]
    panel.peak_dropdown.value = second
    assert ex.voxel == second and panel.image.value != before
    target = ex.coordinates(1234)
    for widget, value in zip(panel.xyz, target):
        widget.value = value
    panel.go_button.click()
    assert ex.voxel == 1234
    assert [w.value for w in panel.xyz] == [round(v, 1) for v in target]


def test_panel_flip_all_in_the_background(lesson):
    from glmteach.widgets.labs import SignFlipExplainer

    panel = SignFlipExplainer(lesson, n_perm=1000, background=True)
    panel.all_button.click()
    panel.wait(60)
    assert panel.explainer.n_done == 1000
    assert not panel.all_button.disabled


def test_panel_without_data_says_so():
    from glmteach.widgets.labs import SignFlipExplainer
    from glmteach.widgets.state import LessonState

    panel = SignFlipExplainer(LessonState(), background=False)
    assert panel.explainer is None and "fetch the maps first" in panel.status.value
    panel.flip_buttons[1].click()  # nothing to flip: no error
