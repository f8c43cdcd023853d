"""Parametric multiple-comparison corrections of a voxelwise t-test.

``correct(tt, method)`` gives corrected p-values, the t threshold for ``alpha`` and the
survivors for: ``"uncorrected"``, ``"bonferroni"`` (``min(1, p * n_voxels)``), ``"sidak"``,
``"holm"`` (step-down), ``"fdr_bh"`` (Benjamini-Hochberg, controls the false discovery rate
not the family-wise error) and ``"rft"`` (random field theory as SPM does it, which needs
the smoothness: ``field=random_field(Y, mask, voxel_size_mm)``).

Thresholds are on ``|t|`` for two-sided tests and on ``t`` for one-sided ones; a voxel
survives when its corrected p is ``<= alpha``, i.e. when its statistic reaches the
threshold. For the data-dependent step procedures (Holm, BH) the threshold is the p level
that separates survivors from the rest (``alpha / (n_voxels - n_survivors)`` for Holm,
``n_survivors * alpha / n_voxels`` for BH, the Bonferroni level when none survive).
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

from .glm import _check_design, check_Y

__all__ = ["Correction", "correct", "bonferroni_threshold", "RandomField", "random_field"]

METHODS = ("uncorrected", "bonferroni", "sidak", "holm", "fdr_bh", "rft")


@dataclass(frozen=True)
class Correction:
    """Result of one correction method.

    Attributes
    ----------
    method : str
    alpha : float
    p_corrected : ndarray, shape (n_voxels,)
    threshold : float
        ``|t|`` (two-sided) or ``t`` (one-sided) needed to survive; ``inf`` if nothing can.
    n_survivors : int
    survivors : ndarray of bool, shape (n_voxels,)
        ``p_corrected <= alpha``.
    """

    method: str
    alpha: float
    p_corrected: np.ndarray
    threshold: float
    n_survivors: int
    survivors: np.ndarray

    @property
    def neg_log10_p(self):
        """``-log10(p_corrected)`` for display (finite: p is floored at 1e-300)."""
        return -np.log10(np.maximum(self.p_corrected, 1e-300))


def correct(tt, method, alpha=0.05, field=None):
    """Correct a voxelwise t-test for multiple comparisons.

    Parameters
    ----------
    tt : TTest
        From :func:`glmteach.glm.one_sample_ttest` or :func:`glmteach.glm.glm_ttest`.
    method : {"uncorrected", "bonferroni", "sidak", "holm", "fdr_bh", "rft"}
    alpha : float
        Error rate to control (FWER; FDR for ``"fdr_bh"``).
    field : RandomField, optional
        Required for ``"rft"``: ``random_field(Y, mask, voxel_size_mm)``.

    Returns
    -------
    Correction
    """
    if not all(hasattr(tt, name) for name in ("t", "p", "df", "two_sided")):
        raise TypeError(f"tt must be a TTest, got {type(tt).__name__}; "
                        "use glmteach.one_sample_ttest(Y) first.")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}; try alpha=0.05.")
    if method == "rft":
        if not isinstance(field, RandomField):
            raise ValueError("method 'rft' needs the smoothness: pass "
                             "field=glmteach.random_field(Y, mask, voxel_size_mm).")
        p_corr = field.corrected_p(tt.t, tt.df, tt.two_sided)
        threshold = field.threshold(alpha, tt.df, tt.two_sided)
    else:
        p_corr, p_level = _P_CORRECTIONS[method](np.asarray(tt.p, dtype=np.float64), alpha)
        threshold = _t_at_p(p_level, tt.df, tt.two_sided)
    survivors = p_corr <= alpha
    return Correction(method=method, alpha=float(alpha), p_corrected=p_corr,
                      threshold=float(threshold), n_survivors=int(survivors.sum()),
                      survivors=survivors)


def bonferroni_threshold(alpha, n_voxels, df, two_sided=True):
    """t (``|t|`` if two-sided) with Bonferroni-corrected p equal to ``alpha``."""
    if n_voxels < 1:
        raise ValueError(f"n_voxels must be at least 1, got {n_voxels}; count the mask.")
    return _t_at_p(alpha / n_voxels, df, two_sided)


def _t_at_p(p_level, df, two_sided):
    if p_level >= 1:
        return 0.0 if two_sided else -np.inf
    return float(stats.t.isf(p_level / 2 if two_sided else p_level, df))


# Each takes uncorrected p (n_voxels,) and alpha; returns (p_corrected, p level of threshold).
def _uncorrected(p, alpha):
    return p.copy(), alpha


def _bonferroni(p, alpha):
    return np.minimum(1.0, p * p.size), alpha / p.size


def _sidak(p, alpha):
    m = p.size
    return -np.expm1(m * np.log1p(-np.minimum(p, 1.0))), -np.expm1(np.log1p(-alpha) / m)


def _holm(p, alpha):
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    p_corr = np.empty(m)
    p_corr[order] = adjusted
    n_reject = int((p_corr <= alpha).sum())
    return p_corr, (alpha / (m - n_reject) if n_reject < m else 1.0)


def _fdr_bh(p, alpha):
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    p_corr = np.empty(m)
    p_corr[order] = adjusted
    n_reject = int((p_corr <= alpha).sum())
    return p_corr, (n_reject * alpha / m if n_reject else alpha / m)


_P_CORRECTIONS = {"uncorrected": _uncorrected, "bonferroni": _bonferroni, "sidak": _sidak,
                  "holm": _holm, "fdr_bh": _fdr_bh}


# ---------------------------------------------------------------------------------------
# Random field theory (Worsley et al. 1996; SPM's spm_est_smoothness, spm_resels_vol,
# spm_ECdensity and spm_P_RF for a single peak).


@dataclass(frozen=True)
class RandomField:
    """Smoothness and search volume of a statistic image, for random field theory.

    Attributes
    ----------
    fwhm_vox : ndarray, shape (3,)
        Estimated smoothness per axis in voxels.
    fwhm_mm : ndarray, shape (3,)
        The same in millimetres.
    resels : ndarray, shape (4,)
        Resel counts ``R0..R3`` of the search volume (Euler characteristic, then 1D, 2D
        and 3D intrinsic volumes in resolution elements).
    n_voxels : int
    df_residuals : float
        Degrees of freedom of the residuals the smoothness came from.
    """

    fwhm_vox: np.ndarray
    fwhm_mm: np.ndarray
    resels: np.ndarray
    n_voxels: int
    df_residuals: float
    _peaks: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def n_resels(self):
        """``R3``, the number of resolution elements in the 3D search volume."""
        return float(self.resels[3])

    def expected_ec(self, t, df, two_sided=True):
        """Expected Euler characteristic of the excursion set above ``t``.

        Two-sided: above ``|t|`` plus below ``-|t|`` (twice the one-sided value).
        """
        t = np.asarray(t, dtype=np.float64)
        u = np.abs(t) if two_sided else t
        ec = ec_densities(u, df) @ self.resels if u.ndim else self.resels @ ec_densities(u, df)
        return 2.0 * ec if two_sided else ec

    def corrected_p(self, t, df, two_sided=True):
        """FWER p per voxel, ``1 - exp(-E[EC](t))``, shape of ``t``.

        Below the statistic where ``E[EC]`` peaks (where the approximation breaks down,
        ``E[EC]`` can fall and even go negative) p is held at its peak value, close to 1,
        so that it never increases with ``t``.
        """
        t = np.asarray(t, dtype=np.float64)
        u = np.abs(t) if two_sided else t
        u_peak, p_peak = self._peak(df, two_sided)
        p = -np.expm1(-self.expected_ec(np.maximum(u, u_peak), df, two_sided))
        return np.clip(np.where(u <= u_peak, p_peak, p), 0.0, 1.0)

    def threshold(self, alpha=0.05, df=None, two_sided=True):
        """``|t|`` (two-sided) or ``t`` with RFT FWER p equal to ``alpha``.

        ``inf`` when no statistic reaches ``alpha``: with 4 subjects or fewer (df <= 3)
        the expected Euler characteristic of a t field does not fall to zero.
        """
        if df is None or not df > 0:
            raise ValueError(f"df must be positive, got {df!r}; pass the t-test's tt.df.")
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}; try 0.05.")
        u_peak, p_peak = self._peak(df, two_sided)
        if p_peak <= alpha:
            return u_peak
        hi = max(2.0 * u_peak, 10.0)
        while self.corrected_p(hi, df, two_sided) > alpha and hi < 1e6:
            hi *= 2.0
        if self.corrected_p(hi, df, two_sided) > alpha:
            # df <= 3: the EC density of the t field does not decay, so no t reaches alpha
            return np.inf
        return float(optimize.brentq(
            lambda u: float(self.corrected_p(u, df, two_sided)) - alpha, u_peak, hi,
            xtol=1e-10))

    def summary(self):
        """One line: estimated smoothness and resels against voxels."""
        fx, fy, fz = self.fwhm_mm
        vx, vy, vz = self.fwhm_vox
        return (f"FWHM {fx:.1f} x {fy:.1f} x {fz:.1f} mm ({vx:.1f} x {vy:.1f} x {vz:.1f} "
                f"voxels), {self.n_resels:,.0f} resels vs {self.n_voxels:,} voxels: random "
                f"field theory counts ~{self.n_resels:,.0f} independent 'resolution "
                f"elements' where Bonferroni counts every voxel.")

    def _peak(self, df, two_sided):
        key = (float(df), bool(two_sided))
        if key not in self._peaks:
            self._peaks[key] = self._find_peak(*key)
        return self._peaks[key]

    def _find_peak(self, df, two_sided):
        grid = np.linspace(0.0 if two_sided else -2.0, 8.0, 1601)
        ec = self.expected_ec(grid, df, two_sided)
        k = int(np.argmax(ec))
        return float(grid[k]), float(np.clip(-np.expm1(-ec[k]), 0.0, 1.0))


def ec_densities(t, df):
    """Euler characteristic densities ``rho_0..rho_3`` of a t field (Worsley 1996).

    In resel units (FWHM = 1), as SPM's ``spm_ECdensity('T', t, df)``; computed in log
    space so that they stay finite for large ``t``.

    Parameters
    ----------
    t : ndarray, shape (n,) or scalar
    df : float

    Returns
    -------
    ndarray, shape (n, 4) (or (4,) for a scalar ``t``)
    """
    t = np.asarray(t, dtype=np.float64)
    a = 4.0 * np.log(2.0)
    tail = np.exp((1.0 - df) / 2.0 * np.log1p(t**2 / df))  # (1 + t^2/df)^((1-df)/2)
    gamma_ratio = np.exp(special.gammaln((df + 1) / 2) - special.gammaln(df / 2))
    rho = np.stack([
        special.stdtr(df, -t),
        np.sqrt(a) / (2 * np.pi) * tail,
        a / (2 * np.pi) ** 1.5 * tail * t / np.sqrt(df / 2) * gamma_ratio,
        a**1.5 / (2 * np.pi) ** 2 * tail * ((df - 1) * t**2 / df - 1.0),
    ], axis=-1)
    return rho


def resel_counts(mask, fwhm_vox):
    """Resel counts ``R0..R3`` of a 3D mask (SPM's ``spm_resels_vol``, Worsley 1996).

    Voxels are lattice points; edges, faces and cubes between in-mask points are counted
    and the intrinsic volumes weighted by ``1 / FWHM`` per axis.

    Parameters
    ----------
    mask : ndarray of bool, shape (nx, ny, nz)
    fwhm_vox : array-like, shape (3,)

    Returns
    -------
    ndarray, shape (4,)
    """
    m = np.asarray(mask, dtype=bool)
    fx, fy, fz = (float(f) for f in fwhm_vox)
    ex, ey, ez = (m[1:] & m[:-1]).sum(), (m[:, 1:] & m[:, :-1]).sum(), \
        (m[:, :, 1:] & m[:, :, :-1]).sum()
    sq = m[1:, 1:] & m[:-1, 1:] & m[1:, :-1] & m[:-1, :-1]  # faces in the xy plane
    fxy = sq.sum()
    sq_xz = m[1:, :, 1:] & m[:-1, :, 1:] & m[1:, :, :-1] & m[:-1, :, :-1]
    fxz = sq_xz.sum()
    sq_yz = m[:, 1:, 1:] & m[:, :-1, 1:] & m[:, 1:, :-1] & m[:, :-1, :-1]
    fyz = sq_yz.sum()
    cubes = (sq[:, :, 1:] & sq[:, :, :-1]).sum()
    p = m.sum()
    r0 = p - (ex + ey + ez) + (fxy + fxz + fyz) - cubes
    r1 = (ex - fxy - fxz + cubes) / fx + (ey - fxy - fyz + cubes) / fy \
        + (ez - fxz - fyz + cubes) / fz
    r2 = (fxy - cubes) / (fx * fy) + (fxz - cubes) / (fx * fz) + (fyz - cubes) / (fy * fz)
    r3 = cubes / (fx * fy * fz)
    return np.array([r0, r1, r2, r3], dtype=np.float64)


def random_field(Y, mask, voxel_size_mm, design=None):
    """Estimate the smoothness and resel counts needed by random field theory.

    The smoothness comes from the normalised residuals (each voxel's residuals scaled to
    unit sum of squares, as SPM's ``spm_est_smoothness`` and FSL's ``smoothest``): for
    neighbouring in-mask voxels along each axis the mean of ``sum_i (u_i(a) - u_i(b))**2``
    is ``2 (1 - r)``, with ``r`` their correlation. ``r`` is corrected for the finite
    residual degrees of freedom (``r (1 + (1 - r**2) / (2 df))``) and turned into a FWHM
    assuming a Gaussian autocorrelation, ``FWHM = sqrt(-2 ln 2 / ln r)`` voxels (exact on
    the lattice, unlike the derivative approximation, at low smoothness).

    Parameters
    ----------
    Y : array-like, shape (n_subjects, n_voxels)
        In nilearn's voxel order: the C order of ``np.nonzero(mask)``.
    mask : ndarray of bool, shape (nx, ny, nz)
        The search volume; ``mask.sum() == n_voxels``.
    voxel_size_mm : float or sequence of 3 floats
    design : ndarray, shape (n_subjects, n_regressors), or DataFrame, optional
        Residuals from this OLS model (default: one-sample, i.e. ``Y - mean``).

    Returns
    -------
    RandomField
    """
    Y = check_Y(Y)
    mask = _check_mask(mask, Y.shape[1])
    voxel_size = _check_voxel_size(voxel_size_mm)
    if design is None:
        resid, df = Y - Y.mean(axis=0), Y.shape[0] - 1.0
    else:
        X, _ = _check_design(design, None, Y.shape[0])
        resid = Y - X @ np.linalg.lstsq(X, Y, rcond=None)[0]
        df = float(X.shape[0] - X.shape[1])
    ss = (resid**2).sum(axis=0)
    valid = ss > 1e-28 * np.maximum((Y**2).sum(axis=0), 1e-300)
    u = np.where(valid, resid / np.sqrt(np.where(valid, ss, 1.0)), 0.0)
    fwhm_vox = np.array([_axis_fwhm(u, mask, valid, axis, df) for axis in range(3)])
    return RandomField(fwhm_vox=fwhm_vox, fwhm_mm=fwhm_vox * voxel_size,
                       resels=resel_counts(mask, fwhm_vox), n_voxels=int(Y.shape[1]),
                       df_residuals=df)


def _axis_fwhm(u, mask, valid, axis, df):
    valid_vol = np.zeros(mask.shape, dtype=bool)
    valid_vol[mask] = valid
    lo = [slice(None)] * 3
    hi = [slice(None)] * 3
    lo[axis], hi[axis] = slice(None, -1), slice(1, None)
    pairs = valid_vol[tuple(lo)] & valid_vol[tuple(hi)]
    n_pairs = int(pairs.sum())
    if n_pairs == 0:
        return np.inf  # a flat search volume: no information (and no extent) on this axis
    total = 0.0
    vol = np.zeros(mask.shape)
    for row in u:  # one subject at a time keeps memory at one volume
        vol[mask] = row
        diff = vol[tuple(hi)][pairs] - vol[tuple(lo)][pairs]
        total += float(diff @ diff)
    r = 1.0 - total / n_pairs / 2.0
    r = r * (1.0 + (1.0 - r**2) / (2.0 * df))
    r = float(np.clip(r, 1e-6, 1.0 - 1e-12))
    return float(np.sqrt(-2.0 * np.log(2.0) / np.log(r)))


def _check_mask(mask, n_voxels):
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"mask must be a 3D boolean array, got shape {mask.shape}; "
                         "use MaskedMaps.mask.")
    mask = mask.astype(bool)
    if int(mask.sum()) != n_voxels:
        raise ValueError(f"mask has {int(mask.sum())} voxels but Y has {n_voxels} columns; "
                         "pass the mask that produced Y.")
    return mask


def _check_voxel_size(voxel_size_mm):
    size = np.broadcast_to(np.asarray(voxel_size_mm, dtype=np.float64), (3,)).copy()
    if not (np.isfinite(size).all() and (size > 0).all()):
        raise ValueError(f"voxel_size_mm must be 3 positive numbers, got {voxel_size_mm!r}; "
                         "use MaskedMaps.voxel_size_mm.")
    return size
