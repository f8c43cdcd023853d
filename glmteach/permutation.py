"""Sign-flip permutation test with max-statistic family-wise error control.

Each flip negates the maps of some subjects. Under the null hypothesis (each subject's map is
symmetric around zero) every flip is as likely as the observed data, so the largest t over
voxels, recomputed for every flip, gives the null distribution of the maximum. A voxel's
corrected p is the fraction of flips whose maximum reaches its t: it controls the
family-wise error rate without assuming smoothness or Gaussian data.
"""

from dataclasses import dataclass

import numba
import numpy as np

from ._flips import SignFlips, check_n_perm, sign_flips
from ._jit import set_n_jobs
from ._nulls import MaxNull
from ._kernels.signflip import (
    float32_tolerance, max_null_blocks, pattern_codes, refine_max, split_groups,
)
from ._kernels.ttest import scaled_sum_to_t, unit_columns
from .glm import check_Y, one_sample_t

CHUNK = 2048  # flips per kernel call: progress and Ctrl-C are handled between chunks
SERIAL_WORK = 2 * 10**7  # voxels x flips below which one thread is faster
TABLE_BYTES = 2**20  # per voxel block, float32 sign-pattern tables (half an L2 cache)
SEGMENT = 256  # voxels per float32 screened maximum (the float64 refinement unit)


@dataclass(frozen=True, eq=False)
class PermutationResult:
    """Sign-flip max-statistic null and the corrected inference it gives.

    Attributes
    ----------
    t : ndarray, shape (n_voxels,)
        Observed one-sample t (a GLM contrast's t for ``glm_permutation_test``).
    df : float
        ``n_subjects - 1`` (``n_subjects - n_regressors`` for a GLM).
    max_null : ndarray, shape (n_flips,)
        Largest ``|t|`` over voxels (two-sided) or largest ``t`` (one-sided) for each flip,
        in flip order; ``max_null[0]`` is the observed labelling.
    exact : bool
        True when every distinct flip was enumerated (then p-values have no Monte-Carlo
        error when all flips are used).
    n_flips : int
    two_sided : bool
    flips : SignFlips
        The labellings used (shared with clusters, TFCE and the explainer panel); for a GLM
        the :class:`~glmteach._rearrange.Rearrangements` (row permutations and/or flips).

    Notes
    -----
    Every query takes ``n_perm`` (default: all flips) and then uses the first ``n_perm``
    flips only, a random sample without repeats that includes the observed labelling.
    Conventions, with ``null`` those ``n_perm`` maxima and ``stat = |t|`` (two-sided) or
    ``t`` (one-sided):

    - ``corrected_p = #{null >= stat} / n_perm``; the observed flip counts, so the smallest
      p is ``1 / n_perm``.
    - ``threshold(alpha)`` is the value at rank ``k = ceil((1 - alpha) n_perm)`` of the
      null sorted ascending (1-based), i.e. ``n_perm - floor(alpha n_perm)``. A voxel
      survives when ``stat > threshold`` strictly, which is exactly ``corrected_p <= alpha``
      (ties included); so the threshold is the infimum of the surviving statistics. When
      ``floor(alpha n_perm) == 0`` nothing can survive and the threshold is ``inf``.
    """

    t: np.ndarray
    df: float
    max_null: np.ndarray
    exact: bool
    n_flips: int
    two_sided: bool
    flips: SignFlips
    def __post_init__(self):
        n_distinct = getattr(self.flips, "n_distinct", None)
        object.__setattr__(self, "_null", MaxNull(self.max_null, self.exact, n_distinct))

    @property
    def stat(self):
        """The statistic compared with the null: ``|t|`` two-sided, ``t`` one-sided."""
        return np.abs(self.t) if self.two_sided else self.t

    def corrected_p(self, n_perm=None):
        """FWER-corrected p per voxel from the first ``n_perm`` flips, shape (n_voxels,)."""
        return self._null.corrected_p(self.stat, n_perm)

    def corrected_p_error(self, n_perm=None):
        """Monte-Carlo standard error of ``corrected_p``.

        ``sqrt(p (1 - p) / n_perm) * sqrt((N - n_perm) / (N - 1))``, with ``N`` the number
        of distinct flips (they are drawn without repeats: finite-population correction).
        Zero when the flips are an exact enumeration used in full (no sampling error).
        """
        return self._null.p_error(self.stat, n_perm)

    def threshold(self, alpha=0.05, n_perm=None):
        """Statistic a voxel must exceed (strictly) to have ``corrected_p <= alpha``."""
        return self._null.threshold(alpha, n_perm)

    def threshold_interval(self, alpha=0.05, n_perm=None, level=0.95):
        """Monte-Carlo confidence interval ``(lo, hi)`` of the threshold.

        Distribution-free interval for the ``1 - alpha`` quantile of the full null from
        order statistics: ranks at the ``(1 -+ level) / 2`` quantiles of
        Binomial(n_perm, 1 - alpha). Collapses to the threshold itself for a full exact
        enumeration.
        """
        return self._null.threshold_interval(alpha, n_perm, level)

    def survivors(self, alpha=0.05, n_perm=None):
        """Boolean mask of voxels with ``corrected_p <= alpha``, shape (n_voxels,)."""
        return self.stat > self.threshold(alpha, n_perm)

    def n_survivors(self, alpha=0.05, n_perm=None):
        """Number of voxels with ``corrected_p <= alpha``."""
        return int(self.survivors(alpha, n_perm).sum())


def permutation_test(Y, n_perm=10000, two_sided=True, random_state=0, n_jobs=None,
                     progress=None):
    """Sign-flip permutation test of the group mean with max-t FWER correction.

    Parameters
    ----------
    Y : array-like, shape (n_subjects, n_voxels)
        One row per subject, at least 2 subjects, no NaN.
    n_perm : int
        Number of flips, the observed labelling included (1 .. 1,000,000). If it is at
        least the number of distinct flips (``2 ** (n_subjects - 1)`` two-sided,
        ``2 ** n_subjects`` one-sided; 32,768 for 16 subjects two-sided), all of them are
        enumerated and the test is exact. Otherwise ``n_perm - 1`` distinct non-observed
        flips are drawn at random without repeats. In both cases flip 0 is the observed
        labelling and the rest come in random order, so any prefix is a random sample.
    two_sided : bool
        Max ``|t|`` (default) or max ``t`` (one-sided, H1: mean > 0).
    random_state : int, numpy.random.Generator or None
        Same value, same flips (shared with every other permutation procedure).
    n_jobs : int or None
        Threads (``None``: all cores); see ``glmteach._jit.set_n_jobs``.
    progress : callable or None
        Called as ``progress(fraction_done)`` between chunks of ~2,000 flips.

    Returns
    -------
    PermutationResult
    """
    Y = check_Y(Y)
    n_perm = check_n_perm(n_perm)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}; "
                        "pass e.g. lambda fraction: bar.update(fraction).")
    t, constant = one_sample_t(Y)  # the same t as one_sample_ttest, without p and z
    flips = sign_flips(Y.shape[0], n_perm, two_sided=two_sided, random_state=random_state)
    max_null = max_null_t(Y, flips.signs, ~constant, two_sided, n_jobs, progress)
    stat = np.abs(t) if two_sided else t
    max_null[0] = stat.max()  # the observed flip, bit-identical to the reported t
    return PermutationResult(
        t=t, df=float(Y.shape[0] - 1), max_null=max_null, exact=flips.exact,
        n_flips=flips.n_flips, two_sided=bool(two_sided), flips=flips,
    )


def max_null_t(Y, signs, keep, two_sided=True, n_jobs=None, progress=None):
    """Largest t over the ``keep`` voxels for each sign flip (the numba fast path).

    Parameters
    ----------
    Y : ndarray of float64, shape (n_subjects, n_voxels)
    signs : ndarray of int8, shape (n_flips, n_subjects)
    keep : ndarray of bool, shape (n_voxels,)
        Voxels that count (others, e.g. constant ones, have t = 0).
    two_sided : bool
    n_jobs, progress : see :func:`permutation_test`

    Returns
    -------
    ndarray, shape (n_flips,)
    """
    Ys = np.empty_like(Y)
    unit_columns(Y, keep, Ys)
    best = max_scaled_sum(Ys, signs, two_sided, n_jobs, progress)
    t = np.empty_like(best)
    scaled_sum_to_t(best, Y.shape[0], t)
    return t


def max_scaled_sum(Ys, signs, two_sided=True, n_jobs=None, progress=None):
    """Largest ``|sum_i s_i Ys[i, v]|`` (or signed sum, one-sided) over voxels, per flip.

    Parameters
    ----------
    Ys : ndarray of float64, shape (n_subjects, n_voxels)
        Columns of unit Euclidean norm (or zero: left out).
    signs : ndarray of int8, shape (n_flips, n_subjects)
    two_sided, n_jobs, progress : see :func:`permutation_test`

    Returns
    -------
    ndarray, shape (n_flips,)
        The exact float64 maximum (float32 screen, float64 refinement).
    """
    Ys32 = Ys.astype(np.float32)
    starts, sizes = split_groups(Ys.shape[0])
    block = int(np.clip(TABLE_BYTES // (4 * len(sizes) * 2 ** sizes.max()), 256, 8192))
    block -= block % SEGMENT
    n_segments = -(-Ys.shape[1] // SEGMENT)
    tol = float32_tolerance(Ys.shape[0], len(sizes))
    best = np.empty(signs.shape[0])
    previous = numba.get_num_threads()
    set_n_jobs(n_jobs)
    if Ys.shape[1] * signs.shape[0] < SERIAL_WORK:
        numba.set_num_threads(1)  # tiny problem: waking threads would cost more
    try:
        for start in range(0, signs.shape[0], CHUNK):
            chunk = np.ascontiguousarray(signs[start : start + CHUNK])
            codes = pattern_codes(chunk, starts, sizes)
            screen = np.empty((chunk.shape[0], n_segments), dtype=np.int32)
            max_null_blocks(Ys32, starts, sizes, codes, bool(two_sided), block, SEGMENT,
                            screen)
            refine_max(Ys, chunk, screen.view(np.float32), bool(two_sided), SEGMENT, tol,
                       best[start : start + chunk.shape[0]])
            if progress is not None:
                progress((start + chunk.shape[0]) / signs.shape[0])
    finally:
        numba.set_num_threads(previous)
    return best
