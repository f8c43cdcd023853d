"""rft: cluster-level random field theory against formulas written out here (Friston et al.
1994 for a Gaussian field; SPM's spm_P_RF in its own matrix form), against simulated
smooth fields, and against the properties any cluster p must have."""

import numpy as np
import pytest
from scipy import linalg, ndimage, special, stats

import glmteach as gt
from glmteach import rft
from glmteach.rft import RandomField, cdt_from_p, ec_densities, resel_counts

from reference import box_resels


def field_of(resels, fwhm_vox=(3.0, 3.0, 3.0), n_voxels=10_000):
    fwhm = np.asarray(fwhm_vox, dtype=float)
    return RandomField(fwhm_vox=fwhm, fwhm_mm=3 * fwhm, resels=np.asarray(resels, float),
                       n_voxels=n_voxels, df_residuals=15.0)


def friston_1994(sizes, u, n_voxels, fwhm):
    """Friston et al. 1994 (Hum Brain Mapp 1:210), eqs. for a 3D Gaussian field, in voxels.

    S voxels, smoothness W = FWHM / sqrt(4 ln 2): E[N] = S Phi(-u),
    E[m] = S (2 pi)^-2 W^-3 (u^2 - 1) exp(-u^2 / 2), beta = (Gamma(5/2) E[m] / E[N])^(2/3),
    P(n_max >= k) = 1 - exp(-E[m] exp(-beta k^(2/3))).
    """
    W = fwhm / np.sqrt(4 * np.log(2))
    expected_voxels = n_voxels * stats.norm.sf(u)
    expected_clusters = n_voxels * (2 * np.pi) ** -2 * W**-3 * (u**2 - 1) * np.exp(-u**2 / 2)
    beta = (special.gamma(2.5) * expected_clusters / expected_voxels) ** (2 / 3)
    sizes = np.asarray(sizes, float)
    return -np.expm1(-expected_clusters * np.exp(-beta * sizes ** (2 / 3))), \
        expected_clusters, expected_voxels / expected_clusters


def spm_p_rf(k_resels, u, df, resels):
    """spm_P_RF(1, k, u, df, 'T', R, 1) of SPM12, transcribed with its G and Toeplitz."""
    D = int(np.flatnonzero(resels)[-1]) + 1
    R = np.asarray(resels[:D], float)
    G = np.sqrt(np.pi) / special.gamma(np.arange(1, D + 1) / 2)
    EC = np.maximum(ec_densities(u, df)[:D], np.finfo(float).eps)
    P = np.triu(linalg.toeplitz(EC * G))[0, :]  # matrix power n = 1
    EM = R / G * P
    Ec = EM.sum()
    EN = P[0] * R[D - 1]
    Ek = EN / EM[D - 1]
    D -= 1
    beta = (special.gamma(D / 2 + 1) / Ek) ** (2 / D)
    p = np.exp(-beta * np.asarray(k_resels) ** (2 / D))
    return 1 - stats.poisson.cdf(0, (Ec + np.finfo(float).eps) * p)


@pytest.mark.parametrize("u", [2.5, 3.1, 4.0])
def test_gaussian_field_matches_friston_1994(u):
    fwhm, n_voxels = 4.0, 200_000
    field = field_of([0, 0, 0, n_voxels / fwhm**3], (fwhm,) * 3, n_voxels)
    sizes = np.array([0, 1, 5, 20, 60, 200])
    expected, clusters, size = friston_1994(sizes, u, n_voxels, fwhm)
    got_clusters, got_size = field.cluster_expectations(u, np.inf, two_sided=False)
    assert got_clusters == pytest.approx(clusters, rel=1e-12)
    assert got_size == pytest.approx(size, rel=1e-12)
    np.testing.assert_allclose(field.cluster_p(sizes, u, np.inf, two_sided=False),
                               expected, rtol=1e-10)
    # a t field with huge df is the Gaussian one
    np.testing.assert_allclose(field.cluster_p(sizes, u, 1e9, two_sided=False), expected,
                               rtol=1e-6)


@pytest.mark.parametrize("df", [9.0, 15.0, 40.0])
@pytest.mark.parametrize("p_cdt", [0.01, 0.001])
def test_t_field_matches_spm_p_rf(df, p_cdt):
    mask = np.zeros((40, 44, 36), bool)
    mask[3:37, 2:40, 4:30] = True
    fwhm = np.array([2.7, 3.1, 2.4])
    field = RandomField(fwhm_vox=fwhm, fwhm_mm=3 * fwhm, resels=resel_counts(mask, fwhm),
                        n_voxels=int(mask.sum()), df_residuals=df)
    np.testing.assert_allclose(field.resels, box_resels([33, 37, 25], fwhm))
    u = stats.t.isf(p_cdt, df)
    sizes = np.array([1, 3, 10, 30, 100, 400])
    expected = spm_p_rf(sizes / np.prod(fwhm), u, df, field.resels)  # SPM takes resels
    np.testing.assert_allclose(field.cluster_p(sizes, u, df, two_sided=False), expected,
                               rtol=1e-9, atol=1e-15)  # 1 - cdf loses digits


def test_two_sided_counts_clusters_of_both_signs():
    field = field_of([1, 30, 300, 2000])
    clusters1, size1 = field.cluster_expectations(3.5, 15, two_sided=False)
    clusters2, size2 = field.cluster_expectations(3.5, 15, two_sided=True)
    assert clusters2 == pytest.approx(2 * clusters1) and size2 == size1
    k = np.array([5.0, 40.0])
    one = field.cluster_p(k, 3.5, 15, two_sided=False)
    two = field.cluster_p(k, 3.5, 15, two_sided=True)
    np.testing.assert_allclose(-np.log1p(-two), -2 * np.log1p(-one), rtol=1e-12)


@pytest.mark.parametrize("u", [2.9, 3.5, 4.5])
def test_properties_decreasing_in_size_and_at_zero(u):
    field = field_of([1, 40, 500, 3000])
    k = np.arange(0, 500)
    p = field.cluster_p(k, u, 15)
    assert np.all(np.diff(p) <= 0) and p[-1] < 1e-6 and 0 <= p.min() and p.max() <= 1
    below_one = p[:-1] < 1 - 1e-9  # where floating point can tell p from 1
    assert below_one.sum() > 100 and np.all(np.diff(p)[below_one] < 0)
    # k = 0: P(at least one cluster) = 1 - exp(-E[EC]), the peak-level RFT p at u
    assert p[0] == pytest.approx(1 - np.exp(-field.expected_ec(u, 15)), rel=1e-10)
    assert p[0] == pytest.approx(float(field.corrected_p(u, 15)), rel=1e-10)
    # a higher CDT: fewer clusters, so the same size is rarer
    higher = field.cluster_p(k, u + 0.5, 15)
    assert np.all(higher <= p) and np.all(higher[:-1][below_one] < p[:-1][below_one])


@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_cluster_threshold_is_the_smallest_surviving_size(alpha):
    field = field_of([1, 40, 500, 3000])
    for u in (2.9, 3.3, 3.9):
        k = field.cluster_threshold(u, alpha, 15)
        assert field.cluster_p(k, u, 15) <= alpha < field.cluster_p(k - 1, u, 15)
    # where clusters are rare, any cluster survives
    tiny = field_of([1, 0.1, 0.01, 0.001])
    assert tiny.cluster_threshold(4.0, 0.05, 15) == 1


def test_expected_clusters_and_sizes_on_simulated_gaussian_fields():
    """E[number of clusters] and E[size] against smooth Gaussian noise (a lattice, so loose)."""
    rng = np.random.default_rng(3)
    n_fields, shape, fwhm, u = 12, (60, 60, 60), 6.0, 2.8
    pad = 16
    sigma = fwhm / np.sqrt(8 * np.log(2))
    counts, sizes = [], []
    for _ in range(n_fields):
        z = ndimage.gaussian_filter(rng.standard_normal(tuple(s + 2 * pad for s in shape)),
                                    sigma)[pad:-pad, pad:-pad, pad:-pad]
        z /= z.std()
        labels, n = ndimage.label(z > u, ndimage.generate_binary_structure(3, 3))
        counts.append(n)
        sizes.extend(np.bincount(labels.ravel())[1:])
    mask = np.ones(shape, bool)
    field = RandomField(fwhm_vox=np.full(3, fwhm), fwhm_mm=np.full(3, fwhm),
                        resels=resel_counts(mask, [fwhm] * 3), n_voxels=mask.size,
                        df_residuals=np.inf)
    clusters, size = field.cluster_expectations(u, np.inf, two_sided=False)
    assert np.mean(counts) == pytest.approx(clusters, rel=0.15)
    assert np.mean(sizes) == pytest.approx(size, rel=0.15)


def test_cdt_from_p_and_refusing_a_t_where_a_p_is_expected():
    assert cdt_from_p(0.001, 15) == pytest.approx(stats.t.isf(0.0005, 15))
    assert cdt_from_p(0.01, 15, two_sided=False) == pytest.approx(stats.t.isf(0.01, 15))
    with pytest.raises(ValueError, match="looks like a t value.*cdt_p=0.001"):
        cdt_from_p(3.1, 15)
    with pytest.raises(ValueError, match="between 0 and 1"):
        cdt_from_p(0.0, 15)
    field = field_of([1, 40, 500, 3000])
    with pytest.raises(ValueError, match=r"looks like a p.*cdt_from_p\(0.001, df\)"):
        field.cluster_p(10, 0.001, 15)
    with pytest.raises(ValueError, match="sizes must be cluster sizes"):
        field.cluster_p(-1, 3.5, 15)
    with pytest.raises(ValueError, match="df must be positive"):
        field.cluster_threshold(3.5, 0.05, None)
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        field.cluster_threshold(3.5, 5, 15)
    assert rft.CDT_CHOICES == (0.01, 0.005, 0.001)


def test_old_import_paths_and_public_api_still_work():
    import glmteach.rft  # noqa: F401  (importing the module must not shadow gt.random_field)
    from glmteach.corrections import RandomField as Moved, ec_densities as moved_ec, \
        random_field as moved_rf

    assert Moved is RandomField and moved_ec is ec_densities and moved_rf is rft.random_field
    assert gt.random_field is rft.random_field and gt.RandomField is RandomField


def test_cluster_table_collects_the_cluster_numbers():
    field = field_of([1, 40, 500, 3000])
    table = field.cluster_table(15, alpha=0.05)
    assert list(table.cdt_p) == [0.01, 0.005, 0.001]
    for row in table.itertuples():
        assert row.cdt_t == pytest.approx(stats.t.isf(row.cdt_p / 2, 15))
        assert (row.expected_clusters, row.expected_size) == field.cluster_expectations(
            row.cdt_t, 15)
        assert row.cluster_threshold == field.cluster_threshold(row.cdt_t, 0.05, 15)
    # a stricter CDT: fewer and smaller clusters expected
    assert table.expected_clusters.is_monotonic_decreasing
    assert table.expected_size.is_monotonic_decreasing
