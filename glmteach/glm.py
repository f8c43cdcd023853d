"""Voxelwise group-level t-tests: one-sample and general linear model contrasts.

Both functions return a :class:`TTest` with the t statistic, its degrees of freedom, the
p-value and the equivalent z score per voxel. Voxels whose data have zero (residual)
variance cannot be tested; they get ``t = 0``, ``p = 1``, ``z = 0`` and are counted in
``n_constant`` and flagged in ``constant`` - never NaN or inf.
"""

from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats


@dataclass(frozen=True)
class TTest:
    """Voxelwise t-test result.

    Attributes
    ----------
    t : ndarray, shape (n_voxels,)
        t statistic (0 where the data have zero variance).
    df : float
        Degrees of freedom (``n_subjects - rank(design)``; ``n_subjects - 1`` one-sample).
    p : ndarray, shape (n_voxels,)
        Uncorrected p-value, two-sided (``P(|T| >= |t|)``) or one-sided (``P(T >= t)``).
    z : ndarray, shape (n_voxels,)
        z score with the same tail probability as ``t`` (signed like ``t``), computed in
        log space so that it stays finite and accurate for large ``|t|``.
    two_sided : bool
    n_constant : int
        Number of voxels with zero variance (not testable).
    constant : ndarray of bool, shape (n_voxels,)
        Mask of those voxels.
    """

    t: np.ndarray
    df: float
    p: np.ndarray
    z: np.ndarray
    two_sided: bool
    n_constant: int
    constant: np.ndarray

    @property
    def n_voxels(self):
        return self.t.shape[0]


def check_Y(Y, min_subjects=2):
    """Validate group data and return it as a float64 C-contiguous array.

    Parameters
    ----------
    Y : array-like, shape (n_subjects, n_voxels)

    Returns
    -------
    ndarray of float64, shape (n_subjects, n_voxels)
    """
    if not hasattr(Y, "shape") and not isinstance(Y, (list, tuple)):
        raise TypeError(
            f"Y must be an array of shape (n_subjects, n_voxels), got {type(Y).__name__}; "
            "use MaskedMaps.Y."
        )
    Y = np.asarray(Y)
    if Y.dtype.kind not in "biuf":
        raise TypeError(f"Y must hold numbers, got dtype {Y.dtype}; use MaskedMaps.Y.")
    if Y.ndim != 2:
        raise ValueError(
            f"Y must be 2D (n_subjects, n_voxels), got shape {Y.shape}; "
            "mask the images first (gt.mask_maps) or reshape to one row per subject."
        )
    if Y.shape[0] < min_subjects:
        raise ValueError(
            f"a group test needs at least {min_subjects} subjects, got {Y.shape[0]}; "
            "load more maps (Y has one row per subject)."
        )
    if Y.shape[1] < 1:
        raise ValueError("Y has no voxels; check the mask (it selected nothing).")
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    if not np.isfinite(Y).all():
        bad = int((~np.isfinite(Y)).any(axis=0).sum())
        raise ValueError(
            f"Y contains NaN or inf in {bad} voxels; mask them out "
            "(gt.mask_maps drops them) or replace them before testing."
        )
    return Y


def one_sample_ttest(Y, two_sided=True):
    """Voxelwise one-sample t-test of the mean against zero.

    Parameters
    ----------
    Y : array-like, shape (n_subjects, n_voxels)
        One row per subject (e.g. ``MaskedMaps.Y``), at least 2 subjects, no NaN.
    two_sided : bool
        Two-sided p (``H1: mean != 0``) or one-sided (``H1: mean > 0``).

    Returns
    -------
    TTest
        ``t = mean / (sd / sqrt(n))`` with ``sd`` the unbiased standard deviation,
        ``df = n - 1``; equal to :func:`scipy.stats.ttest_1samp` where defined.
    """
    Y = check_Y(Y)
    t, constant = one_sample_t(Y)
    return _make_ttest(t, float(Y.shape[0] - 1), two_sided, constant)


def one_sample_t(Y):
    """t per voxel and the zero-variance mask, for a checked ``Y`` (no p, no z).

    Returns
    -------
    t : ndarray, shape (n_voxels,)
        0 where the voxel is constant.
    constant : ndarray of bool, shape (n_voxels,)
    """
    n = Y.shape[0]
    mean = Y.mean(axis=0)
    ss = ((Y - mean) ** 2).sum(axis=0)
    constant = (Y == Y[0]).all(axis=0) | (ss <= 1e-28 * (Y**2).sum(axis=0))
    safe = np.where(constant, 1.0, ss)
    t = np.where(constant, 0.0, mean / np.sqrt(safe / (n - 1) / n))
    return t, constant


def glm_ttest(Y, design, contrast, two_sided=True):
    """Voxelwise t-test of a contrast in an ordinary least squares model.

    Parameters
    ----------
    Y : array-like, shape (n_subjects, n_voxels)
    design : ndarray, shape (n_subjects, n_regressors), or pandas.DataFrame
        Design matrix (include an intercept column yourself, e.g. ones); full column rank.
    contrast : array-like, shape (n_regressors,), or str
        Contrast weights, or the name of a DataFrame column (weight 1 on that column).
    two_sided : bool

    Returns
    -------
    TTest
        ``t = c'b / sqrt(s^2 c'(X'X)^-1 c)`` with ``s^2 = RSS / df`` and
        ``df = n_subjects - n_regressors``; equal to statsmodels OLS ``t_test``.
    """
    Y = check_Y(Y)
    X, c = _check_design(design, contrast, Y.shape[0])
    t, df, constant = _ols_t(Y, X, c)
    return _make_ttest(t, df, two_sided, constant)


def _ols_t(Y, X, c):
    """``(t, df, constant)`` of :func:`glm_ttest` for checked inputs, without p and z."""
    df = X.shape[0] - X.shape[1]
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ (X.T @ Y)
    resid = Y - X @ beta
    rss = (resid**2).sum(axis=0)
    constant = rss <= 1e-28 * (Y**2).sum(axis=0)
    safe = np.where(constant, 1.0, rss)
    se = np.sqrt(safe / df * float(c @ xtx_inv @ c))
    t = np.where(constant, 0.0, (c @ beta) / se)
    return t, float(df), constant


def _check_design(design, contrast, n_subjects):
    columns = None
    if hasattr(design, "columns") and hasattr(design, "to_numpy"):
        columns = [str(col) for col in design.columns]
        design = design.to_numpy()
    try:
        X = np.asarray(design, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("design must hold numbers only; encode categories as 0/1 columns "
                        "(e.g. pandas.get_dummies).") from None
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] != n_subjects:
        raise ValueError(
            f"design must have one row per subject, shape ({n_subjects}, n_regressors), "
            f"got {X.shape}; build it from the subjects in Y's order."
        )
    if not np.isfinite(X).all():
        raise ValueError("design contains NaN or inf; fill in the missing covariates.")
    if X.shape[1] >= n_subjects:
        raise ValueError(
            f"design has {X.shape[1]} regressors for {n_subjects} subjects, leaving no "
            "degrees of freedom; use fewer regressors."
        )
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(
            "design is rank deficient (some columns are linear combinations of others); "
            "drop the redundant columns."
        )
    if contrast is None:  # only the design is needed (residuals)
        return X, None
    if isinstance(contrast, str):
        if columns is None or contrast not in columns:
            raise ValueError(
                f"contrast {contrast!r} is not a column name of the design "
                f"(columns: {columns}); pass a DataFrame with that column or a weight vector."
            )
        c = np.zeros(X.shape[1])
        c[columns.index(contrast)] = 1.0
        return X, c
    c = np.asarray(contrast, dtype=np.float64).ravel()
    if c.shape[0] != X.shape[1]:
        raise ValueError(
            f"contrast has {c.shape[0]} weights but the design has {X.shape[1]} columns; "
            "give one weight per design column."
        )
    if not np.any(c):
        raise ValueError("contrast is all zeros; put a non-zero weight on the tested column.")
    return X, c


def _make_ttest(t, df, two_sided, constant):
    logp_tail = t_logsf(np.abs(t), df)  # log P(T >= |t|), fine far in the tail
    z = np.sign(t) * -special.ndtri_exp(logp_tail)
    if two_sided:
        p = np.minimum(1.0, 2.0 * np.exp(logp_tail))
    else:
        p = special.stdtr(df, -t)
    p = np.where(constant, 1.0, p)
    z = np.where(constant, 0.0, z)
    return TTest(
        t=t, df=df, p=p, z=z, two_sided=bool(two_sided),
        n_constant=int(constant.sum()), constant=constant,
    )


def t_logsf(t, df):
    """``log P(T >= t)`` for Student's t, finite even where the tail underflows.

    Parameters
    ----------
    t : ndarray
    df : float

    Returns
    -------
    ndarray, same shape as ``t``
    """
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = np.log(special.stdtr(df, -t))
    deep = ~(out > -650.0)  # sf underflows (very large df and t)
    for index in zip(*np.nonzero(deep)):
        out[index] = _t_logsf_quad(float(t[index]), df)
    return out


def _t_logsf_quad(t, df):
    # log of the tail integral, written relative to the density at t so nothing underflows
    logpdf_t = stats.t.logpdf(t, df)
    ratio, _ = integrate.quad(
        lambda u: np.exp(stats.t.logpdf(t + u, df) - logpdf_t), 0.0, np.inf, epsabs=0.0,
        epsrel=1e-12, limit=200,
    )
    return float(logpdf_t + np.log(ratio))
