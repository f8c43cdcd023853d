"""corrections: step procedures against statsmodels, RFT pieces against closed forms,
and FWER calibration of Bonferroni, RFT and permutation on null smooth noise."""

import numpy as np
import pytest
from scipy import ndimage, stats
from statsmodels.stats.multitest import multipletests

from glmteach.corrections import (
    bonferroni_threshold, correct, ec_densities, random_field, resel_counts,
)
from glmteach.glm import one_sample_ttest
from glmteach.permutation import permutation_test

from reference import ball_resels, box_resels, smooth_noise

STEP_METHODS = ["bonferroni", "sidak", "holm", "fdr_bh"]


@pytest.fixture(scope="module")
def tt():
    rng = np.random.default_rng(7)
    Y = rng.standard_normal((14, 3000))
    Y[:, :150] += 1.6  # some true effects so that the step procedures reject
    return one_sample_ttest(Y)


@pytest.mark.parametrize("method", STEP_METHODS)
def test_p_corrected_matches_statsmodels(tt, method):
    c = correct(tt, method, alpha=0.05)
    reject, p_ref, _, _ = multipletests(tt.p, alpha=0.05, method=method)
    np.testing.assert_allclose(c.p_corrected, p_ref, rtol=1e-10, atol=1e-15)
    np.testing.assert_array_equal(c.survivors, reject)
    assert c.n_survivors == reject.sum() > 0


def test_bonferroni_as_the_seed_example(tt):
    c = correct(tt, "bonferroni")
    np.testing.assert_array_equal(c.p_corrected, np.minimum(1, tt.p * tt.p.size))
    np.testing.assert_allclose(c.neg_log10_p, -np.log10(c.p_corrected))
    thr = bonferroni_threshold(0.05, tt.p.size, tt.df)
    assert c.threshold == thr
    np.testing.assert_allclose(2 * stats.t.sf(thr, tt.df) * tt.p.size, 0.05, rtol=1e-10)


@pytest.mark.parametrize("method", ["uncorrected"] + STEP_METHODS)
def test_threshold_separates_survivors(tt, method):
    c = correct(tt, method, alpha=0.05)
    np.testing.assert_array_equal(c.survivors, np.abs(tt.t) >= c.threshold)


def test_one_sided_threshold():
    rng = np.random.default_rng(1)
    tt = one_sample_ttest(rng.standard_normal((10, 400)) + 0.8, two_sided=False)
    c = correct(tt, "bonferroni")
    np.testing.assert_array_equal(c.survivors, tt.t >= c.threshold)
    assert c.threshold == pytest.approx(stats.t.isf(0.05 / 400, 9))


def test_ec_densities_reach_the_gaussian_limit():
    t = np.linspace(-1, 6, 15)
    a = 4 * np.log(2)
    g = np.exp(-t**2 / 2)
    gaussian = np.column_stack([stats.norm.sf(t), np.sqrt(a) / (2 * np.pi) * g,
                                a / (2 * np.pi) ** 1.5 * t * g,
                                a**1.5 / (2 * np.pi) ** 2 * (t**2 - 1) * g])
    # t densities are O(t**4 / df) away from the Gaussian ones
    np.testing.assert_allclose(ec_densities(t, 1e7), gaussian, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(ec_densities(t, 9.0)[:, 0], stats.t.sf(t, 9.0))
    assert np.isfinite(ec_densities(np.array([40.0, 400.0]), 15.0)).all()


def test_resels_of_a_box_and_a_ball():
    mask = np.zeros((30, 30, 30), bool)
    mask[2:12, 3:20, 5:25] = True
    np.testing.assert_allclose(resel_counts(mask, [2.0, 3.0, 4.5]),
                               box_resels([9, 16, 19], [2.0, 3.0, 4.5]), rtol=1e-12)
    tunnel = mask.copy()
    tunnel[5:8, 8:12, :] = False  # a hole through the box: Euler characteristic 0
    assert resel_counts(tunnel, [2, 2, 2])[0] == 0
    grid = np.indices((41, 41, 41)) - 20
    ball = (grid**2).sum(axis=0) <= 15**2
    r = resel_counts(ball, [3.0] * 3)
    assert r[0] == 1
    assert r[3] == pytest.approx(ball_resels(15, 3.0)[3], rel=0.15)


@pytest.mark.parametrize("sigma", [(1.2, 1.2, 1.2), (2.5, 1.5, 3.0)])
def test_fwhm_estimate_of_gaussian_smoothed_noise(sigma):
    rng = np.random.default_rng(11)
    pad = 12
    fields = np.stack([ndimage.gaussian_filter(rng.standard_normal((52, 52, 52)), sigma)
                       [pad:-pad, pad:-pad, pad:-pad] for _ in range(12)])
    mask = np.ones(fields.shape[1:], bool)
    mask[:3, :3] = False  # not a box, to exercise nilearn's voxel order
    Y = fields[:, mask]
    rf = random_field(Y, mask, voxel_size_mm=(2.0, 2.0, 3.0))
    expected = np.array(sigma) * np.sqrt(8 * np.log(2))
    np.testing.assert_allclose(rf.fwhm_vox, expected, rtol=0.12)
    np.testing.assert_allclose(rf.fwhm_mm, rf.fwhm_vox * [2.0, 2.0, 3.0])
    np.testing.assert_allclose(rf.resels, resel_counts(mask, rf.fwhm_vox))
    assert f"{rf.n_resels:,.0f} resels" in rf.summary() and "FWHM" in rf.summary()


def test_smoothness_from_glm_residuals_ignores_the_covariate():
    rng = np.random.default_rng(9)
    fields = smooth_noise(12, (16, 16, 16), 1.5, rng).reshape(12, -1)
    age = np.linspace(-1, 1, 12)
    pattern = rng.standard_normal(fields.shape[1])  # white: would bias the FWHM down
    Y = fields + 50 * age[:, None] * pattern
    mask = np.ones((16, 16, 16), bool)
    design = np.column_stack([np.ones(12), age])
    with_design = random_field(Y, mask, 2.0, design=design)
    clean = random_field(fields, mask, 2.0)
    np.testing.assert_allclose(with_design.fwhm_vox, clean.fwhm_vox, rtol=0.05)
    assert with_design.df_residuals == 10
    assert random_field(Y, mask, 2.0).fwhm_vox.mean() < 0.8 * clean.fwhm_vox.mean()


def test_rft_p_and_threshold_are_consistent():
    rng = np.random.default_rng(5)
    fields = smooth_noise(10, (20, 20, 20), 2.0, rng)
    mask = np.ones((20, 20, 20), bool)
    Y = fields.reshape(10, -1) + 0.3
    rf = random_field(Y, mask, 3.0)
    tt = one_sample_ttest(Y)
    c = correct(tt, "rft", field=rf)
    thr = rf.threshold(0.05, tt.df)
    assert c.threshold == thr
    assert rf.corrected_p(thr, tt.df) == pytest.approx(0.05, rel=1e-8)
    np.testing.assert_array_equal(c.survivors, np.abs(tt.t) >= thr)
    grid = np.linspace(0, 12, 400)
    p = rf.corrected_p(grid, tt.df)
    assert np.all(np.diff(p) <= 1e-15) and p.min() >= 0 and p.max() <= 1
    # one-sided: half the expected EC of two-sided far in the tail
    np.testing.assert_allclose(rf.expected_ec(6.0, tt.df, False) * 2,
                               rf.expected_ec(6.0, tt.df, True))


def test_bad_input(tt):
    with pytest.raises(ValueError, match="unknown method"):
        correct(tt, "bonf")
    with pytest.raises(ValueError, match="needs the smoothness"):
        correct(tt, "rft")
    with pytest.raises(ValueError, match="alpha"):
        correct(tt, "holm", alpha=5)
    with pytest.raises(TypeError, match="TTest"):
        correct(np.ones(3), "holm")
    Y = np.random.default_rng(0).standard_normal((5, 27))
    with pytest.raises(ValueError, match="mask has 8 voxels"):
        random_field(Y, np.ones((2, 2, 2), bool), 2.0)
    with pytest.raises(ValueError, match="3D"):
        random_field(Y, np.ones((27,), bool), 2.0)
    with pytest.raises(ValueError, match="voxel_size_mm"):
        random_field(Y, np.ones((3, 3, 3), bool), (2.0, -1.0, 2.0))
    with pytest.raises(ValueError, match="n_voxels"):
        bonferroni_threshold(0.05, 0, 10)


def _periodic_smooth_noise(rng, n_datasets, n_subjects, size, fwhm_vox):
    """Stationary Gaussian-smoothed noise on a periodic grid (FFT), unit variance."""
    sigma = fwhm_vox / np.sqrt(8 * np.log(2))
    k = np.fft.fftfreq(size)
    kz = np.fft.rfftfreq(size)
    k2 = k[:, None, None] ** 2 + k[None, :, None] ** 2 + kz[None, None, :] ** 2
    transfer = np.exp(-2 * np.pi**2 * sigma**2 * k2)
    white = rng.standard_normal((n_datasets, n_subjects, size, size, size))
    fields = np.fft.irfftn(np.fft.rfftn(white, axes=(2, 3, 4)) * transfer,
                           s=(size, size, size), axes=(2, 3, 4))
    return fields / fields.std(axis=(2, 3, 4), keepdims=True)


@pytest.mark.slow
def test_fwer_calibration_on_null_smooth_noise():
    rng = np.random.default_rng(2026)
    n_datasets, n_subjects, size, alpha = 200, 16, 20, 0.05
    mask = np.ones((size,) * 3, bool)
    rejections = {}
    mean_thresholds = {}
    for fwhm in (1.5, 6.0):
        fields = _periodic_smooth_noise(rng, n_datasets, n_subjects, size, fwhm)
        counts = dict(permutation=0, bonferroni=0, rft=0)
        thresholds = dict(permutation=[], rft=[])
        for d in range(n_datasets):
            Y = fields[d].reshape(n_subjects, -1)
            tt = one_sample_ttest(Y)
            perm = permutation_test(Y, n_perm=500, random_state=d)
            rf = random_field(Y, mask, 2.0)
            counts["permutation"] += perm.n_survivors(alpha) > 0
            counts["bonferroni"] += correct(tt, "bonferroni", alpha).n_survivors > 0
            counts["rft"] += correct(tt, "rft", alpha, field=rf).n_survivors > 0
            thresholds["permutation"].append(perm.threshold(alpha))
            thresholds["rft"].append(rf.threshold(alpha, tt.df))
        rejections[fwhm] = {k: v / n_datasets for k, v in counts.items()}
        mean_thresholds[fwhm] = {k: float(np.mean(v)) for k, v in thresholds.items()}
    print("\nFWER at alpha 0.05 over", n_datasets, "null datasets:", rejections,
          "\nmean thresholds:", mean_thresholds)
    lo, hi = stats.binom.ppf([0.005, 0.995], 2 * n_datasets, alpha) / (2 * n_datasets)
    pooled = np.mean([rejections[f]["permutation"] for f in rejections])
    assert lo <= pooled <= hi
    upper = stats.binom.ppf(0.995, n_datasets, alpha) / n_datasets
    for fwhm in rejections:
        assert rejections[fwhm]["bonferroni"] <= upper
        assert rejections[fwhm]["rft"] <= upper
    # RFT is conservative at low smoothness (threshold above the exact permutation one)
    # and close to it at high smoothness.
    low, high = mean_thresholds[1.5], mean_thresholds[6.0]
    assert low["rft"] > 1.05 * low["permutation"]
    assert abs(high["rft"] / high["permutation"] - 1) < 0.10


def test_rft_with_too_few_subjects_has_no_finite_threshold():
    """df = 3: E[EC] tends to a positive constant, so RFT cannot control alpha at any t."""
    from glmteach.corrections import RandomField, ec_densities

    assert ec_densities(1e4, 3.0)[3] > 0.01  # the density does not decay (closed form)
    field = RandomField(fwhm_vox=np.array([3.0, 3, 3]), fwhm_mm=np.array([9.0, 9, 9]),
                        resels=np.array([1.0, 10.0, 50.0, 100.0]), n_voxels=5000,
                        df_residuals=3.0)
    assert field.threshold(0.05, df=3.0) == np.inf
    assert np.isfinite(field.threshold(0.05, df=10.0))
