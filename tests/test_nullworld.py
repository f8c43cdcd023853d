"""The null-world lab against the statistics API, SciPy and brute-force NumPy."""

import numpy as np
import pytest
from scipy import ndimage, stats

import glmteach as gt
from glmteach import corrections, nullworld as nw
from glmteach._flips import sign_flips
from glmteach._kernels import nullworld as k
from glmteach._kernels.signflip import pattern_codes, split_groups
from reference import max_null_bruteforce

VOXEL = (3.0, 3.0, 3.0)


def ball(size=16, radius=7.5):
    grid = np.indices((size,) * 3) - (size - 1) / 2
    return (grid**2).sum(axis=0) <= radius**2


@pytest.fixture(scope="module")
def lab():
    """200 null studies on a small ball: the FWER claims of the lesson."""
    return nw.run_null_world(ball(), n_subjects=16, smoothing_fwhm=8.0, n_experiments=200,
                             n_perm=200, random_state=0, voxel_size_mm=VOXEL)


def test_fwer_of_each_method(lab):
    alpha = 0.05
    fwer = lab.fwer(alpha)
    # permutation max-t is exact: its count is a Binomial(200, alpha) draw
    n_false = fwer["permutation"].n_false
    assert stats.binomtest(n_false, 200, alpha).pvalue > 0.01
    assert lab.fwer(alpha, level=0.99)["permutation"].lo <= alpha \
        <= lab.fwer(alpha, level=0.99)["permutation"].hi
    assert fwer["uncorrected"].rate > 10 * alpha  # thousands of tests at p < 0.05
    assert fwer["bonferroni"].rate < alpha  # conservative for smooth data
    assert fwer["bonferroni"].rate <= fwer["permutation"].rate


def test_rescoring_alpha_needs_no_simulation(lab):
    for alpha in (0.01, 0.1, 0.2):
        fwer = lab.fwer(alpha)
        for method in lab.methods:
            assert fwer[method].n_false == int((lab.min_p[method] <= alpha).sum())
    assert lab.fwer(0.2)["permutation"].rate >= lab.fwer(0.05)["permutation"].rate
    # a study has a permutation false positive iff its max |t| exceeds its threshold
    for alpha in (0.05, 0.1):
        above = lab.max_null[:, 0] > lab.permutation_thresholds(alpha)
        np.testing.assert_array_equal(above, lab.false_positives("permutation", alpha))


def test_typical_thresholds():
    mask = ball(12, 5.5)
    one = nw.run_null_world(mask, n_experiments=1, n_perm=100, random_state=2)
    Y = nw.simulate_null_cohort(mask, random_state=2)
    perm = gt.permutation_test(Y, n_perm=100, random_state=nw._study_seeds(
        nw._make_plan(mask, 16, 8.0, 100, True, 2, VOXEL, ()), 0)[1])
    for alpha in (0.05, 0.1):
        thresholds = one.thresholds(alpha)
        tt = gt.one_sample_ttest(Y)
        assert thresholds["uncorrected"] == pytest.approx(stats.t.isf(alpha / 2, 15))
        assert thresholds["bonferroni"] == pytest.approx(
            corrections.bonferroni_threshold(alpha, int(mask.sum()), tt.df))
        field = corrections.random_field(Y, mask, VOXEL)
        assert thresholds["rft"] == pytest.approx(field.threshold(alpha, tt.df), rel=1e-6)
        assert thresholds["permutation"] == pytest.approx(perm.threshold(alpha), rel=2e-5)


def test_intervals_are_clopper_pearson(lab):
    for level in (0.95, 0.99):
        for est in lab.fwer(0.05, level=level).values():
            ci = stats.binomtest(est.n_false, est.n_experiments).proportion_ci(level, "exact")
            np.testing.assert_allclose([est.lo, est.hi], [ci.low, ci.high], rtol=1e-9,
                                       atol=1e-12)
    assert nw.clopper_pearson(0, 10) == (0.0, pytest.approx(stats.beta.ppf(0.975, 1, 10)))


@pytest.mark.parametrize("study", [0, 7])
def test_records_match_the_statistics_api(lab, study):
    mask = ball()
    Y = nw.simulate_null_cohort(mask, 16, 8.0, VOXEL, random_state=0, study=study)
    tt = gt.one_sample_ttest(Y)
    assert lab.max_stat[study] == pytest.approx(np.abs(tt.t).max(), rel=1e-12)
    for method in ("uncorrected", "bonferroni"):
        expected = corrections.correct(tt, method).p_corrected.min()
        assert lab.min_p[method][study] == pytest.approx(expected, rel=1e-9)
    field = corrections.random_field(Y, mask, VOXEL)
    np.testing.assert_allclose(lab.fwhm_mm[study], field.fwhm_mm, rtol=1e-6)
    expected = corrections.correct(tt, "rft", field=field).p_corrected.min()
    assert lab.min_p["rft"][study] == pytest.approx(expected, rel=1e-6)
    _, flip_seed = nw._study_seeds(nw._make_plan(mask, 16, 8.0, 200, True, 0, VOXEL, ()),
                                   study)
    perm = gt.permutation_test(Y, n_perm=200, random_state=flip_seed)
    np.testing.assert_allclose(lab.max_null[study], perm.max_null, rtol=2e-5)
    assert lab.min_p["permutation"][study] == perm.corrected_p().min()


def test_max_null_kernel_against_brute_force():
    rng = np.random.default_rng(3)
    Y = rng.standard_normal((11, 700))
    flips = sign_flips(11, 64, two_sided=False, random_state=2)
    starts, sizes = split_groups(11)
    codes = pattern_codes(flips.signs, starts, sizes)
    Ys = (Y / np.sqrt((Y**2).sum(axis=0))).astype(np.float32)
    for two_sided in (True, False):
        out = np.empty((-(-700 // 128), 64), np.int32)
        k.max_null_f32(Ys, starts, sizes, codes, two_sided, 128, out)
        s_hat = k.decode_keys(out.max(axis=0)).astype(float)
        t = s_hat * np.sqrt(10 / (11 - s_hat**2))
        expected = max_null_bruteforce(Y, flips.signs, two_sided)
        np.testing.assert_allclose(t, expected, rtol=1e-5)


def test_decode_keys_orders_like_floats():
    values = np.array([-np.inf, -3.5, -1.0, -0.0, 0.0, 1e-30, 2.0, np.inf], np.float32)
    keys = values.view(np.int32) ^ ((values.view(np.int32) >> 31) & 0x7FFFFFFF)
    assert (np.diff(keys) >= 0).all()
    np.testing.assert_array_equal(k.decode_keys(keys), values)


@pytest.mark.parametrize("fwhm", [0.0, 5.0, 8.0])
def test_smoothing_is_scipy_gaussian_filter_inside(fwhm):
    weights = nw.gaussian_weights(fwhm, (2.0, 3.0, 4.0))
    radii = [(w.size - 1) // 2 for w in weights]
    noise = np.random.default_rng(1).standard_normal((2, 14, 15, 16)).astype(np.float32)
    out = np.empty((2,) + tuple(s - 2 * r for s, r in zip(noise.shape[1:], radii)),
                   np.float32)
    k.smooth_valid(noise, *weights, out)
    sigma = [fwhm / np.sqrt(8 * np.log(2)) / size for size in (2.0, 3.0, 4.0)]
    inside = tuple(slice(r, s - r) for r, s in zip(radii, noise.shape[1:]))
    for i in range(2):
        expected = ndimage.gaussian_filter(noise[i].astype(np.float64), sigma, truncate=4.0)
        norm = np.prod([np.sqrt((np.asarray(w, float) ** 2).sum() / np.asarray(w, float)
                                .sum() ** 2) for w in weights])
        np.testing.assert_allclose(out[i], expected[inside] / norm, rtol=1e-4, atol=1e-5)


def test_simulated_noise_has_unit_variance_and_the_asked_smoothness():
    mask = np.ones((24, 24, 24), bool)
    Y = nw.simulate_null_cohort(mask, 16, 9.0, VOXEL, random_state=5)
    assert abs(Y.var() - 1.0) < 0.1
    field = corrections.random_field(Y, mask, VOXEL)
    np.testing.assert_allclose(field.fwhm_mm, 9.0, rtol=0.1)


def test_same_seed_same_studies_and_prefixes():
    mask = ball(10, 4.5)
    a = nw.run_null_world(mask, n_experiments=6, n_perm=50, random_state=3)
    b = nw.run_null_world(mask, n_experiments=4, n_perm=50, random_state=3)
    c = nw.run_null_world(mask, n_experiments=4, n_perm=50, random_state=4)
    np.testing.assert_array_equal(a.max_null[:4], b.max_null)
    np.testing.assert_array_equal(a.max_stat[:4], b.max_stat)
    assert not np.array_equal(c.max_stat, b.max_stat)
    assert a.random_state == 3 and a.complete and a.n_done == 6


def test_progress_gets_growing_partial_results_and_can_stop():
    seen = []

    def progress(fraction, partial):
        seen.append((fraction, partial.n_done, partial.fwer()["permutation"].n_experiments))
        if partial.n_done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        nw.run_null_world(ball(10, 4.5), n_experiments=5, n_perm=20, progress=progress)
    assert seen == [(0.2, 1, 1), (0.4, 2, 2), (0.6, 3, 3)]


def test_one_sided_uses_max_t():
    mask = ball(10, 4.5)
    res = nw.run_null_world(mask, n_experiments=3, n_perm=40, two_sided=False,
                            methods=["uncorrected", "permutation"])
    for study in range(3):
        Y = nw.simulate_null_cohort(mask, study=study)
        tt = gt.one_sample_ttest(Y, two_sided=False)
        assert res.max_stat[study] == pytest.approx(tt.t.max(), rel=1e-12)
        assert res.min_p["uncorrected"][study] == pytest.approx(tt.p.min(), rel=1e-9)
    assert res.methods == ("uncorrected", "permutation")


def test_cluster_and_tfce_methods_match_cluster_permutation_test():
    pytest.importorskip("glmteach.clusters")
    from glmteach.clusters import cluster_permutation_test

    mask = ball(12, 5.5)
    res = nw.run_null_world(mask, n_experiments=2, n_perm=30, random_state=1,
                            methods=["cluster", "tfce"], smoothing_fwhm=10.0)
    plan = nw._make_plan(mask, 16, 10.0, 30, True, 1, VOXEL, ())
    for study in range(2):
        Y = nw.simulate_null_cohort(mask, 16, 10.0, random_state=1, study=study)
        ref = cluster_permutation_test(Y, mask, n_perm=30,
                                       random_state=nw._study_seeds(plan, study)[1])
        assert res.min_p["cluster"][study] == pytest.approx(
            ref.cluster_p("size").min(initial=1.0))
        assert res.min_p["tfce"][study] == pytest.approx(ref.tfce_p().min())


def test_summary_and_table(lab):
    table = lab.table(0.05)
    assert list(table.method) == list(lab.methods)
    assert "permutation max-t" in lab.summary()


@pytest.mark.parametrize("kwargs, match", [
    (dict(mask=np.ones((4, 4)), ), "3D boolean"),
    (dict(mask=np.zeros((4, 4, 4), bool)), "fewer than 2 voxels"),
    (dict(n_subjects=2), "n_subjects"),
    (dict(smoothing_fwhm=-1.0), "smoothing_fwhm"),
    (dict(smoothing_fwhm="8"), "smoothing_fwhm"),
    (dict(smoothing_fwhm=np.nan), "smoothing_fwhm"),
    (dict(n_experiments=0), "n_experiments"),
    (dict(n_perm=0), "n_perm"),
    (dict(alpha=1.5), "alpha"),
    (dict(methods=["bonferoni"]), "unknown methods"),
    (dict(methods=[]), "unknown methods"),
    (dict(random_state=-1), "random_state"),
    (dict(voxel_size_mm=(3, 0, 3)), "voxel_size_mm"),
    (dict(n_experiments=100_000, n_perm=10_000), "lower n_perm"),
])
def test_bad_input_says_what_to_do(kwargs, match):
    args = dict(mask=ball(6, 2.5), n_experiments=2, n_perm=10) | kwargs
    with pytest.raises(ValueError, match=match):
        nw.run_null_world(**args)


def test_bad_progress_and_bad_queries():
    with pytest.raises(TypeError, match="progress must be callable"):
        nw.run_null_world(ball(6, 2.5), n_experiments=1, n_perm=10, progress=3)
    res = nw.run_null_world(ball(6, 2.5), n_experiments=1, n_perm=10,
                            methods=["bonferroni"])
    with pytest.raises(ValueError, match="was not run"):
        res.false_positives("rft")
    with pytest.raises(ValueError, match="permutation was not run"):
        res.permutation_thresholds()
    with pytest.raises(ValueError, match="alpha"):
        res.fwer(alpha=0)
    with pytest.raises(ValueError, match="level"):
        res.fwer(level=1.0)


# ---------------------------------------------------------------- the panel, headless
def _lesson(mask, n_subjects=16):
    from types import SimpleNamespace

    from glmteach.widgets.state import LessonState

    state = LessonState(source="embedded")
    state.masked = SimpleNamespace(mask=mask, n_subjects=n_subjects, voxel_size_mm=VOXEL)
    return state


def test_panel_runs_and_rescores_alpha_without_simulating():
    from glmteach.widgets.labs import NullWorldPanel

    panel = NullWorldPanel(_lesson(ball(10, 4.5)), n_experiments=30, n_perm=100,
                           background=False)
    empty = panel.image.value
    panel.run_button.click()
    result = panel.result
    assert result.complete and result.n_done == 30
    assert panel.image.value != empty and "30 of 30" in panel.status.value
    drawn = panel.image.value
    panel.alpha_slider.value = 0.2
    assert panel.result is result  # re-scored, not re-simulated
    assert panel.image.value != drawn
    rate = result.fwer(0.2)["permutation"].rate
    assert f"<b>{rate:.1%}</b>" in panel.status.value
    direct = nw.run_null_world(ball(10, 4.5), n_experiments=30, n_perm=100, random_state=0)
    np.testing.assert_array_equal(direct.max_null, result.max_null)
    panel.smoothing_slider.value = 4.0
    assert "press Run" in panel.message.value


def test_panel_adds_cluster_inference_on_request():
    pytest.importorskip("glmteach.clusters")
    from glmteach.widgets.labs import NullWorldPanel

    panel = NullWorldPanel(_lesson(ball(10, 4.5)), n_experiments=10, n_perm=100,
                           background=False)
    panel.extra["cluster"].value = True
    panel.run_button.click()
    assert panel.result.methods == nw.DEFAULT_METHODS + ("cluster",)
    assert "permutation cluster size" in panel.status.value


def test_panel_stop_keeps_the_studies_done():
    from glmteach.widgets.labs import NullWorldPanel

    panel = NullWorldPanel(_lesson(ball(10, 4.5)), n_experiments=1000, n_perm=100,
                           background=True)
    panel.run_button.click()
    panel.stop_button.click()
    panel.wait(60)
    assert panel.result is not None and 0 < panel.result.n_done < 1000
    assert "stopped after" in panel.message.value
    assert not panel.run_button.disabled


def test_panel_shows_errors_in_one_line():
    from glmteach.widgets.labs import NullWorldPanel

    panel = NullWorldPanel(_lesson(ball(10, 4.5), n_subjects=2), background=False)
    panel.run_button.click()
    assert "n_subjects must be" in panel.message.value
    assert "Traceback" not in panel.message.value
