"""glm: one-sample and OLS contrast t-tests against SciPy and statsmodels."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from glmteach.glm import glm_ttest, one_sample_ttest


@pytest.fixture
def Y():
    rng = np.random.default_rng(42)
    return rng.standard_normal((12, 500)) + np.linspace(-1, 1, 500)


@pytest.mark.parametrize("two_sided", [True, False])
def test_one_sample_matches_scipy(Y, two_sided):
    tt = one_sample_ttest(Y, two_sided=two_sided)
    ref = stats.ttest_1samp(Y, 0.0, alternative="two-sided" if two_sided else "greater")
    np.testing.assert_allclose(tt.t, ref.statistic, rtol=1e-10)
    np.testing.assert_allclose(tt.p, ref.pvalue, rtol=1e-9, atol=1e-300)
    assert tt.df == Y.shape[0] - 1
    if two_sided:  # same two-sided p, sign of t
        z_ref = np.sign(ref.statistic) * stats.norm.isf(ref.pvalue / 2)
    else:  # same upper-tail p
        z_ref = stats.norm.isf(ref.pvalue)
    np.testing.assert_allclose(tt.z, z_ref, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("df", [5, 15, 100, 10_000])
def test_z_finite_and_accurate_far_in_the_tail(df):
    t = np.array([-40.0, -12.0, 3.0, 12.0, 25.0, 40.0])
    n = df + 1
    rng = np.random.default_rng(0)
    base = rng.standard_normal(n)
    base -= base.mean()
    base /= base.std(ddof=1)
    Y = t / np.sqrt(n) + base[:, None]  # mean t/sqrt(n), sd 1 -> exactly these t
    tt = one_sample_ttest(Y)
    np.testing.assert_allclose(tt.t, t, rtol=1e-9)
    assert np.isfinite(tt.z).all()
    assert np.all(np.sign(tt.z) == np.sign(t))
    logsf = stats.t.logsf(np.abs(t), df)
    representable = logsf > -700
    z_ref = stats.norm.isf(np.exp(logsf[representable]))
    np.testing.assert_allclose(np.abs(tt.z[representable]), z_ref, rtol=1e-8)
    # beyond double range: z still increases with t and stays below |t| (heavier t tail)
    assert np.all(np.diff(np.abs(tt.z[3:])) > 0)
    assert np.all(np.abs(tt.z) <= np.abs(t) + 1e-9)


def test_constant_voxels_reported_not_nan(Y):
    Y = Y.copy()
    Y[:, 0] = 0.0
    Y[:, 1] = 3.7
    tt = one_sample_ttest(Y)
    assert tt.n_constant == 2 and tt.constant[:2].all() and not tt.constant[2:].any()
    assert tt.t[0] == 0 and tt.t[1] == 0 and tt.p[1] == 1 and tt.z[1] == 0
    assert np.isfinite(tt.t).all() and np.isfinite(tt.z).all() and np.isfinite(tt.p).all()


def _ols_reference(Y, X, c):
    out = np.empty(Y.shape[1])
    for v in range(Y.shape[1]):
        out[v] = sm.OLS(Y[:, v], X).fit().t_test(c).tvalue.item()
    return out


def test_glm_matches_statsmodels_with_covariate(Y):
    rng = np.random.default_rng(3)
    age = rng.uniform(20, 40, Y.shape[0])
    X = np.column_stack([np.ones(Y.shape[0]), age])
    Yc = Y[:, :60] + 0.05 * age[:, None]
    for c in ([1.0, 0.0], [0.0, 1.0]):
        tt = glm_ttest(Yc, X, c)
        np.testing.assert_allclose(tt.t, _ols_reference(Yc, X, np.array(c)), rtol=1e-9)
        assert tt.df == Y.shape[0] - 2
        ref_p = 2 * stats.t.sf(np.abs(tt.t), tt.df)
        np.testing.assert_allclose(tt.p, ref_p, rtol=1e-9)


def test_glm_dataframe_and_column_name(Y):
    age = np.arange(Y.shape[0], dtype=float)
    design = pd.DataFrame({"intercept": 1.0, "age": age})
    by_name = glm_ttest(Y, design, "age", two_sided=False)
    by_vector = glm_ttest(Y, design.to_numpy(), [0, 1], two_sided=False)
    np.testing.assert_array_equal(by_name.t, by_vector.t)
    assert not by_name.two_sided


def test_glm_intercept_only_equals_one_sample(Y):
    tt = glm_ttest(Y, np.ones((Y.shape[0], 1)), [1.0])
    np.testing.assert_allclose(tt.t, one_sample_ttest(Y).t, rtol=1e-10)


@pytest.mark.parametrize("bad, match", [
    (np.ones((1, 10)), "at least 2 subjects"),
    (np.ones(10), "must be 2D"),
    (np.ones((3, 4, 5)), "must be 2D"),
    (np.array([[1.0, np.nan], [2.0, 3.0]]), "NaN"),
    ("abc", "Y must be an array"),
])
def test_bad_Y(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        one_sample_ttest(bad)


def test_bad_design_and_contrast(Y):
    n = Y.shape[0]
    X = np.column_stack([np.ones(n), np.arange(n)])
    with pytest.raises(ValueError, match="one row per subject"):
        glm_ttest(Y, X[:-1], [0, 1])
    with pytest.raises(ValueError, match="one weight per design column"):
        glm_ttest(Y, X, [0, 1, 0])
    with pytest.raises(ValueError, match="not a column name"):
        glm_ttest(Y, X, "age")
    with pytest.raises(ValueError, match="rank deficient"):
        glm_ttest(Y, np.column_stack([X, 2 * X[:, 1]]), [0, 1, 0])
    with pytest.raises(ValueError, match="no degrees of freedom"):
        glm_ttest(Y[:, :5], np.eye(n), np.ones(n))
    with pytest.raises(ValueError, match="all zeros"):
        glm_ttest(Y, X, [0, 0])
    with pytest.raises(TypeError, match="numbers only"):
        glm_ttest(Y, pd.DataFrame({"group": ["a", "b"] * (n // 2)}), "group")
