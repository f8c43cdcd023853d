"""permutation: the fast sign-flip max-t null against brute force, itertools and nilearn."""

import numba
import numpy as np
import pytest
from scipy import stats

from glmteach._flips import MAX_N_PERM
from glmteach.permutation import permutation_test

from reference import all_signs, max_null_bruteforce, one_sample_t


def _data(n_subjects, n_voxels=300, seed=0, effect=0.3):
    rng = np.random.default_rng(seed)
    Y = rng.standard_normal((n_subjects, n_voxels)) + effect * rng.random(n_voxels)
    Y[:, 5] = 2.5  # a constant voxel: t = 0, left out of the maximum
    return Y


@pytest.mark.parametrize("n_subjects", [3, 7, 12, 16, 21])  # 1, 1, 2, 2 and 3 groups
@pytest.mark.parametrize("two_sided", [True, False])
def test_max_null_equals_bruteforce(n_subjects, two_sided):
    Y = _data(n_subjects)
    perm = permutation_test(Y, n_perm=300, two_sided=two_sided, random_state=1)
    ref = max_null_bruteforce(Y, perm.flips.signs, two_sided)
    np.testing.assert_allclose(perm.max_null, ref, rtol=1e-10)
    t_ref = one_sample_t(Y)
    t_ref[5] = 0.0
    np.testing.assert_allclose(perm.t, t_ref, rtol=1e-10)
    assert perm.df == n_subjects - 1 and perm.two_sided == two_sided


@pytest.mark.parametrize("two_sided", [True, False])
def test_float32_screen_then_exact_maximum(two_sided):
    # Near-duplicate voxels far apart (different screening segments), differing by less than
    # float32 resolution: the result must still be the float64 maximum, not the screen's.
    # (Checked: with the screening tolerance set to 0 this fails at rtol ~1e-9.)
    rng = np.random.default_rng(12)
    base = rng.standard_normal((16, 10))
    Y = base[:, np.arange(6000) % 10] + 1e-9 * rng.standard_normal((16, 6000))
    perm = permutation_test(Y, n_perm=200, two_sided=two_sided, random_state=2)
    ref = max_null_bruteforce(Y, perm.flips.signs, two_sided)
    np.testing.assert_allclose(perm.max_null, ref, rtol=1e-13)


@pytest.mark.parametrize("n_subjects", [5, 6])
@pytest.mark.parametrize("two_sided", [True, False])
def test_exact_enumeration_equals_itertools(n_subjects, two_sided):
    Y = _data(n_subjects, effect=1.0)
    perm = permutation_test(Y, n_perm=10_000, two_sided=two_sided)
    signs = all_signs(n_subjects, two_sided)
    assert perm.exact and perm.n_flips == len(signs)
    assert {row.tobytes() for row in perm.flips.signs} == {row.tobytes() for row in signs}
    np.testing.assert_allclose(np.sort(perm.max_null),
                               np.sort(max_null_bruteforce(Y, signs, two_sided)), rtol=1e-10)
    np.testing.assert_array_equal(perm.corrected_p_error(), 0.0)
    lo, hi = perm.threshold_interval(0.1)
    assert lo == hi == perm.threshold(0.1)


def test_matches_nilearn_permuted_ols():
    from nilearn.mass_univariate import permuted_ols

    rng = np.random.default_rng(2024)
    Y = rng.standard_normal((16, 2000)) * rng.uniform(0.5, 2.0, 2000)
    n_perm = 1000
    ours = permutation_test(Y, n_perm=n_perm, random_state=3)
    theirs = permuted_ols(np.ones((16, 1)), Y, model_intercept=False, n_perm=n_perm,
                          two_sided_test=True, random_state=3, n_jobs=1, verbose=0)
    h0 = np.asarray(theirs["h0_max_t"]).ravel()
    assert stats.ks_2samp(ours.max_null[1:], h0).pvalue > 0.01
    np.testing.assert_allclose(ours.t, np.asarray(theirs["t"]).ravel(), rtol=1e-8)
    # 95th percentiles within Monte-Carlo error (order-statistic intervals as sd proxies)
    q_ours = np.quantile(ours.max_null, 0.95)
    q_theirs = np.quantile(h0, 0.95)
    lo, hi = ours.threshold_interval(0.05, level=0.95)
    sd = (hi - lo) / (2 * 1.96)
    assert abs(q_ours - q_theirs) < 3 * np.sqrt(2) * sd


@pytest.fixture(scope="module")
def perm():
    return permutation_test(_data(14, 2000, effect=0.8), n_perm=2000, random_state=4)


@pytest.mark.parametrize("n_perm", [None, 1, 19, 20, 333, 1000])
def test_corrected_p_definition_on_prefixes(perm, n_perm):
    n = n_perm or perm.n_flips
    null = perm.max_null[:n]
    expected = (null[None, :] >= np.abs(perm.t)[:, None]).sum(axis=1) / n
    np.testing.assert_array_equal(perm.corrected_p(n_perm), expected)
    assert perm.corrected_p(n_perm).min() >= 1 / n  # the observed flip always counts
    big_n = perm.flips.n_distinct  # flips drawn without repeats: finite-population factor
    fpc = 0.0 if (perm.exact and n == perm.n_flips) else np.sqrt((big_n - n) / (big_n - 1))
    np.testing.assert_allclose(perm.corrected_p_error(n_perm),
                               np.sqrt(expected * (1 - expected) / n) * fpc)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.29, 0.5])
@pytest.mark.parametrize("n_perm", [None, 20, 100, 1001])
def test_threshold_and_survivors_agree_with_corrected_p(perm, alpha, n_perm):
    n = n_perm or perm.n_flips
    p = perm.corrected_p(n_perm)
    thr = perm.threshold(alpha, n_perm)
    assert perm.n_survivors(alpha, n_perm) == (p <= alpha).sum()
    np.testing.assert_array_equal(perm.survivors(alpha, n_perm), p <= alpha)
    if alpha * n < 1:
        assert thr == np.inf
    else:
        rank = int(np.ceil(round((1 - alpha) * n, 9)))  # 1-based rank in the sorted null
        assert thr == np.sort(perm.max_null[:n])[rank - 1]
        # a statistic just above the threshold survives, the threshold itself does not
        null = perm.max_null[:n]
        assert (null >= np.nextafter(thr, np.inf)).mean() <= alpha < (null >= thr).mean()
        lo, hi = perm.threshold_interval(alpha, n_perm)
        assert lo <= thr <= hi


def test_same_seed_same_null_and_different_seed_differs():
    Y = _data(16, 500)
    a = permutation_test(Y, n_perm=500, random_state=8)
    b = permutation_test(Y, n_perm=500, random_state=8, n_jobs=1)
    c = permutation_test(Y, n_perm=500, random_state=9)
    np.testing.assert_array_equal(a.max_null, b.max_null)
    assert not np.array_equal(a.max_null, c.max_null)


def test_progress_and_keyboard_interrupt():
    Y = _data(16, 20_000)
    seen = []
    permutation_test(Y, n_perm=5000, progress=seen.append)
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 1.0
    threads = numba.get_num_threads()

    def interrupt(fraction):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        permutation_test(Y, n_perm=5000, progress=interrupt, n_jobs=1)
    assert numba.get_num_threads() == threads  # nothing left half-set
    again = permutation_test(Y, n_perm=300)
    np.testing.assert_allclose(again.max_null, max_null_bruteforce(Y, again.flips.signs),
                               rtol=1e-10)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(Y=np.ones((1, 5))), ValueError, "at least 2 subjects"),
    (dict(Y=np.ones(5)), ValueError, "2D"),
    (dict(Y=np.array([[1.0, np.nan], [0.0, 1.0]])), ValueError, "NaN"),
    (dict(n_perm=0), ValueError, "at least 1"),
    (dict(n_perm=MAX_N_PERM + 1), ValueError, "limit"),
    (dict(n_perm=100.5), ValueError, "whole number"),
    (dict(progress="bar"), TypeError, "callable"),
])
def test_bad_input(kwargs, error, match):
    args = dict(Y=np.random.default_rng(0).standard_normal((6, 10)), n_perm=100)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        permutation_test(args.pop("Y"), **args)


def test_bad_queries(perm):
    with pytest.raises(ValueError, match="more than the 2000 flips"):
        perm.corrected_p(n_perm=5000)
    with pytest.raises(ValueError, match="alpha"):
        perm.threshold(alpha=1.5)
    with pytest.raises(ValueError, match="level"):
        perm.threshold_interval(level=95)
