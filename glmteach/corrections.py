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

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .rft import RandomField, ec_densities, random_field, resel_counts  # noqa: F401 (moved)

# Random field theory lives in glmteach.rft; its names stay importable from here.
__all__ = ["Correction", "correct", "bonferroni_threshold", "RandomField", "random_field",
           "ec_densities"]

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
