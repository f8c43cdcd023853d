"""glm_permutation: the GLM max-t null against textbook brute force (every rearrangement
refitted with NumPy), statsmodels, the one-sample sign-flip test, and simulated null worlds."""

import itertools
from math import comb, factorial

import numpy as np
import pytest
from scipy import stats

import glmteach as gt
from glmteach.glm_permutation import partition


# ----------------------------------------------------------------------------- references


def textbook_null(Y, X, j, method, perms, signs, two_sided):
    """Max t over voxels for each (data permutation, sign flip), written as Winkler et al.
    (2014) table 2 reads: nuisance = every column but j; Y* = S P E + fitted values; refit."""
    Z = np.delete(X, j, axis=1)
    H_Z = Z @ np.linalg.pinv(Z)
    H_X = X @ np.linalg.pinv(X)
    E, fitted = {"freedman_lane": (Y - H_Z @ Y, H_Z @ Y),
                 "ter_braak": (Y - H_X @ Y, H_X @ Y),
                 "manly": (Y, 0.0 * Y)}[method]
    pinv = np.linalg.pinv(X)
    shift = (pinv @ Y)[j] if method == "ter_braak" else 0.0
    df = X.shape[0] - X.shape[1]
    scale = np.sqrt(np.linalg.inv(X.T @ X)[j, j])
    out = []
    for perm in perms:
        for s in signs:
            Ystar = s[:, None] * E[list(perm)] + fitted
            beta = pinv @ Ystar
            rss = ((Ystar - X @ beta) ** 2).sum(axis=0)
            t = (beta[j] - shift) / (np.sqrt(rss / df) * scale)
            out.append(np.abs(t).max() if two_sided else t.max())
    return np.array(out)


def all_signs(n):
    return [np.array(s) for s in itertools.product((1.0, -1.0), repeat=n)]


def covariate_design(n, seed=0, r=0.6):
    rng = np.random.default_rng(seed)
    age = rng.standard_normal(n)
    nuisance = r * age + np.sqrt(1 - r**2) * rng.standard_normal(n)
    return np.column_stack([np.ones(n), age, nuisance])


# ----------------------------------------------------------------------------- t statistic


@pytest.fixture(params=["amx", "float32"])
def screen_path(request, monkeypatch):
    """Run a test with the screen's products on AMX tiles (bfloat16), then on the vector
    units (float32): the results must not depend on which one the CPU offers."""
    from glmteach._kernels import amx

    if request.param == "float32":
        monkeypatch.setattr(amx, "available", lambda m=amx.K: False)
    elif not amx.available():
        pytest.skip("this CPU (or its OS) offers no AMX tiles; the float32 screen runs")
    return request.param


def test_t_equals_statsmodels_and_glm_ttest():
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    X = covariate_design(14, seed=1)
    Y = rng.standard_normal((14, 30)) + X[:, 1:2] * 0.8
    res = gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=50)
    ref = np.array([sm.OLS(Y[:, v], X).fit().t_test([0, 1, 0]).tvalue.item()
                    for v in range(Y.shape[1])])
    np.testing.assert_allclose(res.t, ref, rtol=1e-10)
    np.testing.assert_array_equal(res.t, gt.glm_ttest(Y, X, [0, 1, 0]).t)
    assert res.df == 11 and isinstance(res, gt.PermutationResult)


def test_partition_keeps_the_contrast_and_spans_the_null_model():
    X = np.column_stack([covariate_design(12, seed=2), np.arange(12.0)])
    c = np.array([0.0, 1.0, -1.0, 0.5])
    x, Z = partition(X, c)
    Y = np.random.default_rng(3).standard_normal((12, 5))
    np.testing.assert_allclose(gt.glm_ttest(Y, np.column_stack([x, Z]), [1, 0, 0, 0]).t,
                               gt.glm_ttest(Y, X, c).t, rtol=1e-9)
    np.testing.assert_allclose(x @ Z, 0.0, atol=1e-9)  # interest orthogonal to nuisance
    # Z spans {X b : c'b = 0}, the model under the null hypothesis
    null_space = np.linalg.svd(c[None, :])[2][1:].T
    both = np.column_stack([Z, X @ null_space])
    assert np.linalg.matrix_rank(both, tol=1e-8) == Z.shape[1] == 3


# ----------------------------------------------------------------------------- brute force


@pytest.mark.parametrize("method", ["freedman_lane", "ter_braak", "manly"])
@pytest.mark.parametrize("errors", ["exchangeable", "symmetric", "both"])
@pytest.mark.parametrize("two_sided", [True, False])
def test_full_null_equals_textbook_bruteforce(method, errors, two_sided, screen_path):
    n = 6
    rng = np.random.default_rng(4)
    X = covariate_design(n, seed=4)
    Y = rng.standard_normal((n, 40)) + np.outer(X[:, 2], rng.random(40))
    res = gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=100_000, two_sided=two_sided,
                                  method=method, errors=errors, random_state=5)
    perms = itertools.permutations(range(n)) if errors != "symmetric" else [range(n)]
    signs = all_signs(n) if errors != "exchangeable" else [np.ones(n)]
    ref = np.sort(textbook_null(Y, X, 1, method, list(perms), signs, two_sided))
    n_rearrangements = {"exchangeable": factorial(n), "symmetric": 2**n,
                        "both": factorial(n) * 2**n}[errors]
    if two_sided and errors != "exchangeable":
        n_rearrangements //= 2  # flipping every sign only negates t
        ref = ref[::2]
    assert res.exact and res.n_flips == n_rearrangements == len(ref)
    observed = np.abs(res.t).max() if two_sided else res.t.max()
    assert res.max_null[0] == observed
    ours = res.max_null.copy()
    if method == "ter_braak":  # the identity tests b = b_hat (t = 0); flip 0 is observed
        ours[0] = textbook_null(Y, X, 1, method, [range(n)], [np.ones(n)], two_sided)[0]
    np.testing.assert_allclose(np.sort(ours), ref, rtol=1e-9, atol=1e-12)


def test_ties_count_once_two_groups():
    # two groups of 3: C(6, 3) = 20 distinct relabellings, each of the 720 permutations
    # of the data is one of them 36 times
    rng = np.random.default_rng(6)
    group = np.repeat([1.0, 0.0], 3)
    X = np.column_stack([np.ones(6), group])
    Y = rng.standard_normal((6, 25))
    res = gt.glm_permutation_test(Y, X, [0, 1], n_perm=10_000, random_state=1)
    assert res.exact and res.n_flips == comb(6, 3) == 20
    ref = np.sort(textbook_null(Y, X, 1, "freedman_lane", itertools.permutations(range(6)),
                                [np.ones(6)], True))
    np.testing.assert_allclose(np.repeat(np.sort(res.max_null), 36), ref, rtol=1e-9)
    big = gt.glm_permutation_test(np.random.default_rng(0).standard_normal((16, 3)),
                                  np.column_stack([np.ones(16), np.repeat([1, 0], 8)]), [0, 1],
                                  n_perm=20_000)
    assert big.exact and big.n_flips == comb(16, 8) == 12_870


def test_two_groups_with_a_covariate_equals_bruteforce(screen_path):
    # same ties, but a covariate makes the general (screened) kernel run
    rng = np.random.default_rng(7)
    n = 7
    X = np.column_stack([np.ones(n), np.r_[np.ones(3), np.zeros(4)], rng.standard_normal(n)])
    Y = rng.standard_normal((n, 30))
    res = gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=10_000)
    ref = np.sort(textbook_null(Y, X, 1, "freedman_lane", itertools.permutations(range(n)),
                                [np.ones(n)], True))
    assert res.exact and res.n_flips == factorial(n)
    np.testing.assert_allclose(np.sort(res.max_null), ref, rtol=1e-9)


@pytest.mark.parametrize("errors", ["symmetric", "exchangeable"])
def test_many_nuisance_regressors_equal_bruteforce(errors, screen_path):
    # 1 + 3 nuisance rows move with sign flips, 1 + 2 with permutations (intercept fixed)
    rng = np.random.default_rng(13)
    n = 7
    X = np.column_stack([np.ones(n), rng.standard_normal((n, 3))])
    Y = rng.standard_normal((n, 30)) + np.outer(X[:, 3], rng.random(30))
    res = gt.glm_permutation_test(Y, X, [0, 1, 0, 0], n_perm=10_000, errors=errors)
    perms = itertools.permutations(range(n)) if errors == "exchangeable" else [range(n)]
    signs = all_signs(n)[: 2 ** (n - 1)] if errors == "symmetric" else [np.ones(n)]
    ref = textbook_null(Y, X, 1, "freedman_lane", list(perms), signs, True)
    assert res.exact and res.n_flips == len(ref)
    np.testing.assert_allclose(np.sort(res.max_null), np.sort(ref), rtol=1e-9)


@pytest.mark.parametrize("two_sided, n_jobs", [(True, 2), (False, 2), (True, 1)])
def test_float32_screen_then_exact_maximum(two_sided, n_jobs, screen_path):
    # near-duplicate voxels in different screening segments, differing by less than float32
    # resolution: the result is still the float64 maximum, with one thread or several
    # (5,000 voxels: several blocks of voxels, each screened by its own task)
    rng = np.random.default_rng(12)
    X = covariate_design(7, seed=12)
    base = rng.standard_normal((7, 10))
    Y = base[:, np.arange(5000) % 10] + 1e-9 * rng.standard_normal((7, 5000))
    res = gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=10_000, two_sided=two_sided,
                                  n_jobs=n_jobs)
    ref = textbook_null(Y, X, 1, "freedman_lane", itertools.permutations(range(7)),
                        [np.ones(7)], two_sided)
    np.testing.assert_allclose(np.sort(res.max_null), np.sort(ref), rtol=1e-12)


@pytest.mark.parametrize("r", [1, 2, 3, 5])
@pytest.mark.parametrize("two_sided", [True, False])
def test_screen_bounds_every_segment_from_above(r, two_sided, screen_path):
    # the float32 screen may only overestimate: its bound of each segment (with refine's
    # 1e-5 allowance) reaches that segment's exact float64 maximum, also for voxels that
    # the refitted model explains almost entirely (denominator near 0) and for the
    # padding after the last voxel (never a voxel, never a maximum)
    from glmteach import glm_permutation as gp
    from glmteach._kernels import amx
    from glmteach._kernels import glm as kernels

    rng = np.random.default_rng(r)
    m, n_voxels, n_rows = 12, 1000, 40
    A = np.stack([np.linalg.qr(rng.standard_normal((m, r)))[0].T for _ in range(n_rows)])
    E = rng.standard_normal((m, n_voxels))
    E[:, :40] = A[:40, 0].T + 0.1 * E[:, :40]  # large |a|: each row's own voxel
    E[:, 40:80] = A[:40].sum(axis=1).T + 1e-4 * E[:, 40:80]  # explained share ~ 1
    E /= np.linalg.norm(E, axis=0)
    padded = gp._padded(E)
    n_segments = -(-n_voxels // kernels.SEGMENT)
    screen = np.empty((n_segments, n_rows), np.float32)
    if screen_path == "amx":
        tiles, voxel_error, voxel_norm = amx.residual_tiles(padded, gp.BLOCK)
        rows, row_error, row_norm = amx.row_tiles(A)
        delta = amx.projection_error(row_error, row_norm, voxel_error, voxel_norm)
        amx.screen(amx.tile_config(), rows, tiles, r, two_sided, delta, n_voxels, screen)
    else:
        delta = kernels.projection_error(m)
        blocks = np.ascontiguousarray(
            padded.reshape(m, -1, gp.BLOCK).transpose(1, 0, 2), dtype=np.float32)
        kernels.screen(A.reshape(-1, m).astype(np.float32), blocks, r, 3, two_sided, delta,
                       n_voxels, screen)
    P = np.einsum("frm,mv->frv", A, E)
    a, explained = P[:, 0], (P**2).sum(axis=1)
    q = (a * a if two_sided else a * np.abs(a)) / np.maximum(1 - explained, kernels.FLOOR)
    q = np.pad(q, ((0, 0), (0, n_segments * kernels.SEGMENT - n_voxels)),
               constant_values=-np.inf)
    exact = q.reshape(n_rows, n_segments, kernels.SEGMENT).max(axis=2).T
    assert (screen.astype(np.float64) * (1 + 1e-5) >= exact).all()
    # ... and no looser than documented: (largest |a| + delta)**2 over 1 - slack - largest
    # explained share, slack = 2 delta (sqrt(r) + r delta) + r delta**2 (+ float32's own),
    # from projections that are themselves off by up to delta (so 2 delta and 2 slack
    # from the exact values), wherever that denominator is not tiny
    side = np.abs(a) if two_sided else np.maximum(a, 0)
    pad = n_segments * kernels.SEGMENT - n_voxels
    segments = np.pad(np.stack([side, explained]), ((0, 0), (0, 0), (0, pad)))
    top = segments.reshape(2, n_rows, n_segments, kernels.SEGMENT).max(axis=3)
    slack = 2 * delta * (np.sqrt(r) + r * delta) + r * delta**2
    denominator = (1 - 2 * slack - top[1]).T
    documented = ((top[0] + 2 * delta) ** 2).T / denominator
    fine = denominator > 1e-2
    assert fine.mean() > 0.5
    assert (screen[fine] <= documented[fine] * (1 + 1e-3)).all()
    best = np.empty(n_rows)
    kernels.refine(A, padded.reshape(m, -1, kernels.SEGMENT), screen, two_sided, n_voxels,
                   best)
    # (q ~ 1e7 where 1 - explained ~ 1e-7: two float64 summation orders differ by ~1e-9)
    np.testing.assert_allclose(best, q.max(axis=1), rtol=1e-7)


# ----------------------------------------------------------------------------- special designs


def test_paired_design_with_blocks_equals_sign_flips_of_differences():
    rng = np.random.default_rng(8)
    n = 8
    a = rng.standard_normal((n, 40)) + 0.5
    b = rng.standard_normal((n, 40)) + rng.random(40)
    Y = np.concatenate([a, b])
    condition = np.r_[np.ones(n), -np.ones(n)]
    subjects = np.concatenate([np.eye(n), np.eye(n)])
    X = np.column_stack([condition, subjects])
    res = gt.glm_permutation_test(Y, X, np.r_[1.0, np.zeros(n)], n_perm=10_000,
                                  blocks=np.r_[np.arange(n), np.arange(n)])
    flips = gt.permutation_test(a - b, n_perm=10_000)
    assert res.flips.errors == "exchangeable" and res.exact and res.n_flips == 2**n
    np.testing.assert_allclose(res.t, flips.t, rtol=1e-10)
    # swapping a pair = flipping the sign of its difference; swapping every pair negates t
    np.testing.assert_allclose(np.sort(res.max_null), np.repeat(np.sort(flips.max_null), 2),
                               rtol=1e-10)
    # p-values agree up to one count: the observed value is recomputed from the reported t,
    # its mirror (every pair swapped) by the kernel, equal up to rounding
    np.testing.assert_allclose(res.corrected_p(), flips.corrected_p(), atol=1.01 / 2**n)


@pytest.mark.parametrize("n_subjects,n_perm", [(9, 10_000), (20, 500)])  # exact, random
@pytest.mark.parametrize("two_sided", [True, False])
def test_intercept_only_is_the_one_sample_sign_flip_test(n_subjects, n_perm, two_sided):
    Y = np.random.default_rng(9).standard_normal((n_subjects, 60)) + 0.3
    one = gt.permutation_test(Y, n_perm=n_perm, two_sided=two_sided, random_state=3)
    glm = gt.glm_permutation_test(Y, np.ones((n_subjects, 1)), [1], n_perm=n_perm,
                                  two_sided=two_sided, random_state=3)
    np.testing.assert_array_equal(glm.max_null, one.max_null)
    np.testing.assert_array_equal(glm.flips.signs, one.flips.signs)
    assert glm.exact == one.exact and glm.flips.errors == "symmetric"
    np.testing.assert_allclose(glm.t, gt.glm_ttest(Y, np.ones((n_subjects, 1)), [1]).t,
                               rtol=1e-12)


def test_auto_errors_follow_the_tested_effect():
    n = 10
    X = covariate_design(n)
    Y = np.random.default_rng(0).standard_normal((n, 5))
    assert gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=20).flips.errors == "exchangeable"
    assert gt.glm_permutation_test(Y, X, [1, 0, 0], n_perm=20).flips.errors == "symmetric"


@pytest.mark.parametrize("n_subjects", [8, 12])  # every one shuffled / random draws
def test_prefix_and_seed(n_subjects):
    X = covariate_design(n_subjects, seed=1)
    Y = np.random.default_rng(1).standard_normal((n_subjects, 20))
    small = gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=300, random_state=4)
    large = gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=2000, random_state=4)
    again = gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=2000, random_state=4)
    other = gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=2000, random_state=5)
    np.testing.assert_array_equal(large.max_null[:300], small.max_null)
    np.testing.assert_array_equal(large.flips.rows[:300], small.flips.rows)
    np.testing.assert_array_equal(large.max_null, again.max_null)
    assert not np.array_equal(large.max_null, other.max_null)
    rows = large.flips.rows
    assert (rows[0] == np.arange(n_subjects)).all() and not large.exact
    assert len({row.tobytes() for row in rows}) == len(rows)  # no repeats
    assert all(sorted(row) == list(range(n_subjects)) for row in rows)


def test_permutations_stay_within_blocks():
    blocks = np.array([0, 1, 0, 1, 2, 2, 0, 1, 2, 0] * 2)
    X = np.column_stack([np.ones(20), np.random.default_rng(2).standard_normal(20)])
    Y = np.random.default_rng(3).standard_normal((20, 8))
    res = gt.glm_permutation_test(Y, X, [0, 1], n_perm=500, blocks=blocks)
    assert (blocks[res.flips.rows] == blocks[None, :]).all()
    assert len({row.tobytes() for row in res.flips.rows}) == 500


# ----------------------------------------------------------------------------- null worlds


def null_world_fwer(method, n_studies=240, n=16, n_voxels=20, n_perm=100, alpha=0.05):
    """Number of null studies (no effect of interest; a nuisance correlated r = 0.6 with it
    and with a real effect, 3 noise SDs per SD, shared by every voxel) in which any voxel
    has corrected p <= alpha."""
    hits = 0
    for study in range(n_studies):
        rng = np.random.default_rng(study)
        X = covariate_design(n, seed=10_000 + study, r=0.6)
        Y = rng.standard_normal((n, n_voxels)) + 3.0 * np.outer(X[:, 2], np.ones(n_voxels))
        res = gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=n_perm, method=method,
                                      random_state=study, n_jobs=1)
        hits += res.n_survivors(alpha) > 0
    return hits, n_studies


@pytest.mark.slow
def test_freedman_lane_keeps_fwer_and_manly_does_not():
    hits, n_studies = null_world_fwer("freedman_lane")
    lo, hi = stats.binom.interval(0.99, n_studies, 0.05)
    assert lo <= hits <= hi, f"Freedman-Lane FWER {hits}/{n_studies}"
    # Manly shuffles the nuisance effect too: shared by every voxel, it makes the shuffled
    # maps alike, their maximum smaller, the threshold too low
    manly, _ = null_world_fwer("manly")
    assert manly > hi, f"Manly FWER {manly}/{n_studies} should exceed alpha"


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("design,contrast,kwargs,words", [
    (np.column_stack([np.ones(6), np.arange(6), 2 * np.arange(6)]), [0, 1, 0], {},
     "rank deficient"),
    (np.random.default_rng(0).standard_normal((6, 6)), [1, 0, 0, 0, 0, 0], {},
     "regressors for 6 subjects"),
    (np.column_stack([np.ones(6), np.arange(6)]), [0, 1], {"blocks": [0, 0, 1, 1, 1, 2]},
     "single row"),
    (np.column_stack([np.r_[1, 1, 1, 0, 0, 0], np.r_[0, 0, 0, 1, 1, 1]]), [1, 1],
     {"blocks": [0, 0, 0, 1, 1, 1], "errors": "exchangeable"},
     "permuting rows cannot change"),
    (np.ones((6, 1)), [1], {"errors": "exchangeable"}, "permuting rows cannot change"),
    (np.column_stack([np.ones(6), np.arange(6)]), [0, 1], {"method": "kennedy"},
     "method must be one of"),
    (np.column_stack([np.ones(6), np.arange(6)]), [0, 1], {"errors": "iid"},
     "errors must be one of"),
])
def test_bad_input_gets_a_one_line_error(design, contrast, kwargs, words):
    Y = np.random.default_rng(0).standard_normal((6, 4))
    with pytest.raises(ValueError) as info:
        gt.glm_permutation_test(Y, design, contrast, n_perm=10, **kwargs)
    message = str(info.value)
    assert words in message and "\n" not in message


# ----------------------------------------------------------------------------- clusters


def test_two_sample_cluster_and_tfce_nulls_equal_bruteforce():
    """Every relabelling of 4 vs 4 subjects, refitted with NumPy, labelled with scipy and
    scored with nilearn's TFCE, gives the same three nulls."""
    from test_clusters import nilearn_tfce, scipy_clusters, smooth_data

    Y, mask = smooth_data(shape=(7, 8, 6), n_subjects=8, seed=3)
    Y[:4] += 0.8
    group = np.r_[np.ones(4), np.zeros(4)]
    X = np.column_stack([group, np.ones(8)])
    res = gt.cluster_permutation_test(Y, mask, n_perm=1000, design=X, contrast=[1, 0],
                                      cluster_threshold=0.05)
    assert res.exact and res.n_flips == comb(8, 4) and res.df == 6
    np.testing.assert_allclose(res.t, gt.glm_ttest(Y, X, [1, 0]).t)
    assert res.t_threshold == pytest.approx(stats.t.isf(0.025, 6))
    E = Y - Y.mean(axis=0)  # Freedman-Lane residuals of the intercept-only null model
    sizes, masses, tfces = [], [], []
    for chosen in itertools.combinations(range(8), 4):
        relabelled = np.column_stack([np.isin(np.arange(8), chosen), np.ones(8)])
        t = gt.glm_ttest(E, relabelled.astype(float), [1, 0]).t
        clusters = scipy_clusters(t, mask, res.t_threshold, 6) or [(0, 0.0)]
        sizes.append(max(s for s, _ in clusters))
        masses.append(max(m for _, m in clusters))
        tfces.append(np.abs(nilearn_tfce(t, mask)).max())
    np.testing.assert_array_equal(np.sort(res.max_size_null), np.sort(sizes))
    np.testing.assert_allclose(np.sort(res.max_mass_null), np.sort(masses), rtol=1e-9)
    np.testing.assert_allclose(np.sort(res.max_tfce_null), np.sort(tfces), rtol=1e-9)
    assert res.max_tfce_null[0] == np.abs(res.tfce).max()


def test_cluster_design_errors():
    Y = np.random.default_rng(0).standard_normal((6, 8))
    mask = np.ones((2, 2, 2), bool)
    with pytest.raises(ValueError, match="contrast needs a design"):
        gt.cluster_permutation_test(Y, mask, contrast=[1])
    with pytest.raises(ValueError, match="rank deficient"):
        gt.cluster_permutation_test(Y, mask, design=np.ones((6, 2)), contrast=[1, 0])


def test_progress_reports_and_an_exception_stops_cleanly():
    import numba

    X = covariate_design(10)
    Y = np.random.default_rng(0).standard_normal((10, 3000))
    seen = []
    gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=5000, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 2
    threads = numba.get_num_threads()

    def stop(fraction):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=5000, progress=stop, n_jobs=1)
    assert numba.get_num_threads() == threads
    with pytest.raises(TypeError, match="progress must be callable"):
        gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=10, progress="bar")


def test_both_errors_draws_distinct_rearrangements_with_prefixes():
    X = covariate_design(9)
    Y = np.random.default_rng(1).standard_normal((9, 10))
    small = gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=100, errors="both")
    large = gt.glm_permutation_test(Y, X, [0, 1, 0], n_perm=400, errors="both")
    np.testing.assert_array_equal(large.max_null[:100], small.max_null)
    keys = {r.tobytes() + s.tobytes() for r, s in zip(large.flips.rows, large.flips.signs)}
    assert len(keys) == 400 and (large.flips.signs[:, 0] == 1).all()  # two-sided: s_0 = +1
    assert large.flips.n_distinct == factorial(9) * 2**8 and not large.exact


def test_blas_runs_one_thread_during_the_screen_and_gets_its_threads_back(monkeypatch):
    # each numba thread runs its own small products: BLAS threads on top would oversubscribe
    from threadpoolctl import threadpool_info

    from glmteach import glm_permutation as gp
    from glmteach._kernels import amx
    from glmteach._kernels import glm as kernels

    def blas_threads():
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    seen = []
    for module in (kernels, amx):
        original = module.screen

        def recording(*args, original=original):
            seen.append(blas_threads())
            return original(*args)

        monkeypatch.setattr(module, "screen", recording)
    before = blas_threads()
    rng = np.random.default_rng(9)
    X = covariate_design(10, seed=9)
    gt.glm_permutation_test(rng.standard_normal((10, 3 * gp.BLOCK)), X, [0, 1, 0],
                            n_perm=300)
    assert seen and all(threads == {1} for threads in seen)
    assert blas_threads() == before
