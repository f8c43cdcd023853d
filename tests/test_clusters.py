"""Cluster-size, cluster-mass and TFCE permutation inference against SciPy and nilearn."""

import warnings

import nibabel as nib
import numba
import numpy as np
import pytest
from nilearn.maskers import NiftiMasker
from nilearn.mass_univariate import permuted_ols
from nilearn.mass_univariate._utils import calculate_tfce
from scipy import ndimage, stats

from glmteach._flips import sign_flips
from glmteach.clusters import ClusterResult, cluster_permutation_test

STRUCTURE = {6: 1, 18: 2, 26: 3}  # connectivity -> generate_binary_structure rank


def smooth_data(shape=(12, 13, 10), n_subjects=10, effect=0.0, sigma=1.2, seed=0,
                mask=None):
    """Smooth Gaussian maps inside a mask: (Y (n_subjects, n_voxels), mask)."""
    rng = np.random.default_rng(seed)
    if mask is None:
        mask = np.zeros(shape, bool)
        mask[1:-1, 1:-1, 1:-1] = True
        mask &= rng.random(shape) > 0.03
    maps = [ndimage.gaussian_filter(rng.standard_normal(mask.shape), sigma)[mask]
            for _ in range(n_subjects)]
    Y = np.array(maps)
    return Y / Y.std() + effect, mask


def volume(values, mask):
    out = np.zeros(mask.shape)
    out[mask] = values
    return out


def scipy_clusters(t, mask, threshold, connectivity, two_sided=True):
    """Sorted (size, mass) of every cluster, by scipy.ndimage.label."""
    structure = ndimage.generate_binary_structure(3, STRUCTURE[connectivity])
    t3 = volume(t, mask)
    found = []
    for side in ([1, -1] if two_sided else [1]):
        labels, n = ndimage.label(side * t3 > threshold, structure)
        for c in range(1, n + 1):
            found.append((int((labels == c).sum()), (np.abs(t3[labels == c]) - threshold).sum()))
    return sorted(found)


def nilearn_tfce(t, mask, two_sided=True, connectivity=6):
    t3 = volume(t, mask)[..., None]
    structure = ndimage.generate_binary_structure(3, STRUCTURE[connectivity])
    return calculate_tfce(t3, structure, two_sided_test=two_sided)[..., 0][mask]


@pytest.fixture(scope="module")
def data():
    return smooth_data(effect=0.45)


@pytest.fixture(scope="module")
def result(data):
    Y, mask = data
    return cluster_permutation_test(Y, mask, n_perm=200, cluster_threshold=0.01)


def test_t_and_threshold_match_scipy(data, result):
    Y, _ = data
    np.testing.assert_allclose(result.t, stats.ttest_1samp(Y, 0).statistic, rtol=1e-10)
    assert result.df == Y.shape[0] - 1
    assert result.t_threshold == pytest.approx(stats.t.isf(0.005, Y.shape[0] - 1))
    one_sided = cluster_permutation_test(Y, data[1], n_perm=4, two_sided=False, tfce=False,
                                         cluster_threshold=0.01)
    assert one_sided.t_threshold == pytest.approx(stats.t.isf(0.01, Y.shape[0] - 1))


def test_constant_voxels_get_t_zero_in_every_flip(data):
    Y, mask = data
    Y = Y.copy()
    Y[:, :40] = 7.0  # constant: untestable, like glm.one_sample_ttest's `constant`
    res = cluster_permutation_test(Y, mask, n_perm=50, t_threshold=1e-3)
    assert (res.t[:40] == 0).all() and (res.labels[:40] == 0).all()
    assert (res.tfce[:40] == 0).all()
    signs = sign_flips(Y.shape[0], 50, random_state=0).signs
    for f in [1, 2]:  # left out of every flip, as permutation_test does
        t = stats.ttest_1samp(signs[f][:, None] * Y, 0).statistic
        t[:40] = 0
        assert res.max_size_null[f] == max(s for s, _ in scipy_clusters(t, mask, 1e-3, 6))


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_observed_clusters_match_scipy_label(data, connectivity):
    Y, mask = data
    Y = Y - 0.45 + np.where(np.arange(Y.shape[1]) % 2, 0.45, -0.45)  # both signs
    res = cluster_permutation_test(Y, mask, n_perm=2, t_threshold=2.0,
                                   connectivity=connectivity, tfce=False)
    expected = scipy_clusters(res.t, mask, 2.0, connectivity)
    assert len(expected) > 5 and res.n_clusters == len(expected)
    ours = sorted(zip(res.cluster_sizes().tolist(), res.cluster_masses()))
    assert [s for s, _ in ours] == [s for s, _ in expected]
    np.testing.assert_allclose([m for _, m in ours], [m for _, m in expected], rtol=1e-10)
    # labels: 1 = largest, every cluster one sign, 0 exactly below the threshold
    assert (np.diff(res.cluster_sizes()) <= 0).all()
    assert ((res.labels > 0) == (np.abs(res.t) > 2.0)).all()
    assert (res.max_size_null[0], res.max_mass_null[0]) == (
        max(s for s, _ in expected), pytest.approx(max(m for _, m in expected)))


@pytest.mark.parametrize("two_sided", [True, False])
def test_observed_tfce_matches_nilearn(data, two_sided):
    Y, mask = data
    Y = Y - 0.45 + np.where(np.arange(Y.shape[1]) % 3, 0.45, -0.6)
    res = cluster_permutation_test(Y, mask, n_perm=2, two_sided=two_sided)
    expected = nilearn_tfce(res.t, mask, two_sided)
    assert (expected < 0).any() == two_sided and (expected > 0).any()
    np.testing.assert_allclose(res.tfce, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
    assert res.max_tfce_null[0] == np.abs(res.tfce).max()


def test_each_null_flip_matches_brute_force(data, result):
    """Flip f of the nulls = scipy labels / nilearn TFCE of the t map of flip f."""
    Y, mask = data
    signs = sign_flips(Y.shape[0], 200, random_state=0).signs
    for f in [1, 2, 3, 57, 199]:
        t = stats.ttest_1samp(signs[f][:, None] * Y, 0).statistic
        clusters = scipy_clusters(t, mask, result.t_threshold, 6) or [(0, 0.0)]
        assert result.max_size_null[f] == max(s for s, _ in clusters)
        assert result.max_mass_null[f] == pytest.approx(max(m for _, m in clusters), rel=1e-10)
        tfce = np.abs(nilearn_tfce(t, mask)).max()
        assert result.max_tfce_null[f] == pytest.approx(tfce, rel=1e-9)


def test_nulls_match_nilearn_permuted_ols_in_distribution():
    Y, mask = smooth_data(shape=(10, 11, 9), n_subjects=12, seed=3)
    masker = NiftiMasker(nib.Nifti1Image(mask.astype(np.uint8), np.eye(4))).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = permuted_ols(np.ones((Y.shape[0], 1)), Y, model_intercept=False,
                              two_sided_test=True, threshold=0.01, tfce=True,
                              masker=masker, n_perm=300, n_jobs=1, random_state=1,
                              output_type="dict", verbose=0)
    ours = cluster_permutation_test(Y, mask, n_perm=301, cluster_threshold=0.01,
                                    random_state=1)
    np.testing.assert_allclose(ours.t, theirs["t"][0], rtol=1e-9)
    np.testing.assert_allclose(ours.tfce, theirs["tfce"][0], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(ours.cluster_sizes()[ours.labels - 1] * (ours.labels > 0),
                                  theirs["size"][0])
    for mine, key in [(ours.max_size_null, "h0_max_size"), (ours.max_mass_null, "h0_max_mass"),
                      (ours.max_tfce_null, "h0_max_tfce")]:
        assert stats.ks_2samp(mine[1:], theirs[key][0]).pvalue > 0.01, key


def test_p_values_and_prefixes(result):
    for kind, null, observed in [("size", result.max_size_null, result.cluster_sizes()),
                                 ("mass", result.max_mass_null, result.cluster_masses())]:
        for n_perm in [None, 1, 37, 200]:
            head = null[: n_perm or None]
            p = result.cluster_p(kind, n_perm=n_perm)
            expected = [(head >= x).mean() for x in observed]
            np.testing.assert_allclose(p[result.labels > 0],
                                       np.take(expected, result.labels[result.labels > 0] - 1))
            assert (p[result.labels == 0] == 1).all()
            assert p.min() >= 1 / head.size
    for n_perm in [None, 50]:
        head = result.max_tfce_null[: n_perm or None]
        expected = (head[None, :] >= np.abs(result.tfce)[:, None]).mean(axis=1)
        np.testing.assert_allclose(result.tfce_p(n_perm=n_perm), expected)
    assert result.n_flips == 200 and not result.exact


def test_cluster_table(data, result):
    Y, mask = data
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = [-10, 20, 5]
    res = cluster_permutation_test(Y, mask, affine=affine, n_perm=50, tfce=False,
                                   cluster_threshold=0.01)
    table = res.cluster_table("mass", n_perm=20)
    assert len(table) == res.n_clusters > 1
    assert (np.diff(table["mass"]) <= 0).all()
    row = table.set_index("cluster_id").loc[1]
    members = np.flatnonzero(res.labels == 1)
    peak = members[np.argmax(np.abs(res.t[members]))]
    ijk = np.argwhere(mask)[peak]
    np.testing.assert_allclose(row[["peak_x", "peak_y", "peak_z"]].to_numpy(float),
                               3 * ijk + [-10, 20, 5])
    assert row["peak_t"] == res.t[peak] and row["sign"] == np.sign(res.t[peak])
    assert row["size"] == members.size and row["size_mm3"] == pytest.approx(27 * members.size)
    assert row["p_size"] == (res.max_size_null[:20] >= members.size).mean()
    assert row["mass"] == pytest.approx(res.cluster_masses()[0])


def test_same_seed_same_result_any_n_jobs(data):
    Y, mask = data
    runs = [cluster_permutation_test(Y, mask, n_perm=70, n_jobs=j, random_state=5)
            for j in (1, 2, 1)]
    for other in runs[1:]:
        for name in ["max_size_null", "max_mass_null", "max_tfce_null", "tfce", "t"]:
            np.testing.assert_array_equal(getattr(other, name), getattr(runs[0], name))


def test_exact_enumeration_with_few_subjects():
    Y, mask = smooth_data(n_subjects=5, effect=0.5)
    res = cluster_permutation_test(Y, mask, n_perm=1000, t_threshold=2.0)
    assert res.exact and res.n_flips == 16


def test_no_cluster_above_threshold(data):
    Y, mask = data
    res = cluster_permutation_test(Y, mask, n_perm=20, t_threshold=1e6)
    assert res.n_clusters == 0 and (res.max_size_null == 0).all()
    assert (res.max_mass_null == 0).all()
    assert (res.cluster_p("size") == 1).all() and (res.cluster_p("mass") == 1).all()
    assert res.cluster_table().empty


def test_single_voxel_mask():
    mask = np.zeros((3, 3, 3), bool)
    mask[1, 1, 1] = True
    Y = np.random.default_rng(0).standard_normal((8, 1)) + 3
    res = cluster_permutation_test(Y, mask, n_perm=30, t_threshold=2.0)
    assert res.n_clusters == 1 and res.cluster_sizes().tolist() == [1]
    np.testing.assert_allclose(res.tfce, nilearn_tfce(res.t, mask))
    assert set(res.max_size_null) <= {0, 1}


def test_clusters_touching_the_border():
    rng = np.random.default_rng(2)
    mask = np.ones((6, 7, 5), bool)  # every voxel, so clusters reach every face
    Y = rng.standard_normal((8, mask.size)) + 0.8
    for connectivity in (6, 26):
        res = cluster_permutation_test(Y, mask, n_perm=10, t_threshold=1.0,
                                       connectivity=connectivity)
        expected = scipy_clusters(res.t, mask, 1.0, connectivity)
        assert sorted(res.cluster_sizes().tolist()) == [s for s, _ in expected]
        edge = np.zeros(mask.shape, bool)
        edge[[0, -1]] = edge[:, [0, -1]] = edge[:, :, [0, -1]] = True
        assert (res.labels[edge[mask]] > 0).any()
        np.testing.assert_allclose(res.tfce, nilearn_tfce(res.t, mask, True, connectivity),
                                   rtol=1e-9)


def test_negative_only_effect(data):
    Y, mask = data
    two = cluster_permutation_test(-Y, mask, n_perm=100, cluster_threshold=0.01)
    assert two.n_clusters > 0 and (two.t[two.labels > 0] < 0).all()
    assert (two.cluster_table()["sign"] == -1).all()
    assert (two.tfce * two.t >= 0).all() and two.tfce[np.argmax(np.abs(two.tfce))] < 0
    assert two.tfce_p().min() < 0.05 and two.cluster_p("mass").min() < 0.05
    one = cluster_permutation_test(-Y, mask, n_perm=100, two_sided=False,
                                   cluster_threshold=0.01)
    assert (one.tfce >= 0).all() and (one.tfce[one.t <= 0] == 0).all()
    assert one.tfce_p().min() > 0.05 and one.cluster_p("mass").min() > 0.05


def test_progress_and_clean_interrupt(data):
    Y, mask = data
    seen = []
    full = cluster_permutation_test(Y, mask, n_perm=150, progress=seen.append)
    assert seen[-1] == 1.0 and (np.diff(seen) > 0).all() and seen[0] > 0

    def stop(fraction):
        raise KeyboardInterrupt

    threads = numba.get_num_threads()
    with pytest.raises(KeyboardInterrupt):
        cluster_permutation_test(Y, mask, n_perm=150, n_jobs=1, progress=stop)
    assert numba.get_num_threads() == threads
    again = cluster_permutation_test(Y, mask, n_perm=150)
    np.testing.assert_array_equal(again.max_tfce_null, full.max_tfce_null)


def test_tfce_off(data, result):
    Y, mask = data
    res = cluster_permutation_test(Y, mask, n_perm=200, tfce=False, cluster_threshold=0.01)
    assert res.tfce is None and res.max_tfce_null is None
    np.testing.assert_array_equal(res.max_size_null, result.max_size_null)
    with pytest.raises(ValueError, match="tfce=True"):
        res.tfce_p()


@pytest.mark.parametrize("kwargs, match", [
    (dict(connectivity=8), "connectivity must be 6, 18 or 26"),
    (dict(connectivity=True), "connectivity must be 6, 18 or 26"),
    (dict(cluster_threshold=0.01, t_threshold=3.0), "not both"),
    (dict(cluster_threshold=1.5), "uncorrected p in"),
    (dict(t_threshold=-1.0), "t_threshold must be a positive number"),
    (dict(t_threshold="3"), "t_threshold must be a positive number"),
    (dict(affine=np.eye(3)), "affine must be a finite 4x4"),
    (dict(progress=5), "progress must be callable"),
    (dict(n_perm=0), "n_perm must be at least 1"),
])
def test_bad_arguments(data, kwargs, match):
    Y, mask = data
    with pytest.raises((ValueError, TypeError), match=match):
        cluster_permutation_test(Y, mask, **kwargs)


def test_bad_mask_and_data(data, result):
    Y, mask = data
    with pytest.raises(ValueError, match="mask has .* voxels but Y has"):
        cluster_permutation_test(Y[:, :-1], mask)
    with pytest.raises(ValueError, match="mask must be a 3D array"):
        cluster_permutation_test(Y, mask.reshape(mask.shape[0], -1))
    with pytest.raises(ValueError, match="mask must be boolean"):
        cluster_permutation_test(Y, mask * 2.5)
    with pytest.raises(ValueError, match="NaN"):
        cluster_permutation_test(np.where(Y > 2, np.nan, Y), mask)
    with pytest.raises(ValueError, match="kind must be 'size' or 'mass'"):
        result.cluster_p("peak")
    with pytest.raises(ValueError, match="more than the 200 flips"):
        result.tfce_p(n_perm=201)
    assert isinstance(result, ClusterResult)


def test_cluster_and_tfce_p_carry_their_monte_carlo_error():
    """sqrt(p (1 - p) / n_perm) next to every permutation p, as for max-t."""
    rng = np.random.default_rng(11)
    mask = np.ones((8, 8, 6), bool)
    Y = ndimage.gaussian_filter(rng.standard_normal((10,) + mask.shape), (0, 1, 1, 1))
    Y = Y.reshape(10, -1)
    Y[:, :60] += 1.0
    res = cluster_permutation_test(Y, mask, n_perm=200, t_threshold=2.5, random_state=0)
    for n_perm in (None, 50):
        n = n_perm or res.n_flips
        p = res.cluster_p("mass", n_perm)
        np.testing.assert_allclose(res.cluster_p_error("mass", n_perm), np.sqrt(p * (1 - p) / n))
        q = res.tfce_p(n_perm)
        np.testing.assert_allclose(res.tfce_p_error(n_perm), np.sqrt(q * (1 - q) / n))
    # the size a cluster must exceed agrees with the corrected p of the observed clusters
    limit = res.cluster_threshold("size", alpha=0.05)
    sizes = res.cluster_sizes()
    np.testing.assert_array_equal(sizes > limit, res.cluster_table("size").sort_values(
        "cluster_id")["p_size"].to_numpy() <= 0.05)
