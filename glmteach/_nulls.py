"""One max-statistic null, and the family-wise error inference every permutation method
draws from it (max-t, cluster size, cluster mass, TFCE).

Conventions, with ``null`` the first ``n_perm`` values (flip 0, the observed labelling,
always among them) and ``stat`` the statistic of a voxel or a cluster:

- ``corrected_p = #{null >= stat} / n_perm``, so the smallest p is ``1 / n_perm``;
- its Monte-Carlo standard error is ``sqrt(p (1 - p) / n_perm) * sqrt((N - n_perm) /
  (N - 1))``: the flips are drawn without repeats from the ``N`` distinct ones, so the
  finite-population correction applies (it is ~0.83 for 10,000 of 32,768 flips and 0 for
  an exact enumeration used in full; 1 when ``N`` is not given);
- ``threshold(alpha)`` is the value at rank ``n_perm - floor(alpha n_perm)`` of the sorted
  null (1-based): a statistic survives when it is strictly above it, which is exactly
  ``corrected_p <= alpha``; ``inf`` when ``floor(alpha n_perm) == 0``.
"""

import numpy as np
from scipy import stats

from ._flips import check_n_perm

_MAX_CACHED_PREFIXES = 32  # slider positions: keep memory bounded


class MaxNull:
    """A null distribution of a maximum, in flip order, answering prefix queries instantly.

    Parameters
    ----------
    values : ndarray, shape (n_flips,)
        The maximum statistic of each flip; ``values[0]`` is the observed labelling.
    exact : bool
        Whether the flips are a complete enumeration.
    n_distinct : int, optional
        How many distinct flips there are (the finite population the flips are drawn
        from without repeats); ``None``: treat it as infinite.
    """

    def __init__(self, values, exact, n_distinct=None):
        self.values = values
        self.exact = bool(exact)
        self.n_distinct = None if n_distinct is None else int(n_distinct)
        if self.exact:
            self.n_distinct = self.n_flips
        self._sorted = {}

    @property
    def n_flips(self):
        return self.values.shape[0]

    def sorted_prefix(self, n_perm=None):
        """``(n, sorted first n values)``; ``n_perm=None`` means all flips."""
        n = self.n_flips if n_perm is None else check_n_perm(n_perm)
        if n > self.n_flips:
            raise ValueError(
                f"n_perm={n} is more than the {self.n_flips} flips computed; "
                f"use n_perm <= {self.n_flips} or rerun the test with more."
            )
        if n not in self._sorted:
            if len(self._sorted) > _MAX_CACHED_PREFIXES:
                self._sorted.clear()
            self._sorted[n] = np.sort(self.values[:n])
        return n, self._sorted[n]

    def corrected_p(self, stat, n_perm=None):
        """FWER p of each statistic in ``stat`` (any shape)."""
        n, null = self.sorted_prefix(n_perm)
        return (n - np.searchsorted(null, stat, side="left")) / n

    def p_error(self, stat, n_perm=None):
        """Monte-Carlo standard error of :meth:`corrected_p` (0 for a full exact test).

        ``sqrt(p (1 - p) / n) * sqrt((N - n) / (N - 1))`` with ``N`` the distinct flips
        (the finite-population correction of sampling without repeats).
        """
        n, _ = self.sorted_prefix(n_perm)
        p = self.corrected_p(stat, n)
        if self.exact and n == self.n_flips:
            return np.zeros_like(p)
        return np.sqrt(p * (1.0 - p) / n) * finite_population_factor(n, self.n_distinct)

    def threshold(self, alpha=0.05, n_perm=None):
        """Statistic to exceed (strictly) for ``corrected_p <= alpha``; ``inf`` if none can."""
        n, null = self.sorted_prefix(n_perm)
        allowed = n_exceedances_allowed(alpha, n)
        return float(null[n - allowed - 1]) if allowed else np.inf

    def threshold_interval(self, alpha=0.05, n_perm=None, level=0.95):
        """Monte-Carlo confidence interval ``(lo, hi)`` of :meth:`threshold`.

        Distribution-free, from order statistics: the ranks at the ``(1 -+ level) / 2``
        quantiles of Binomial(n_perm, 1 - alpha). Collapses to the threshold for a full
        exact enumeration.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, got {level!r}; try 0.95.")
        n, null = self.sorted_prefix(n_perm)
        threshold = self.threshold(alpha, n)
        if not np.isfinite(threshold) or (self.exact and n == self.n_flips):
            return threshold, threshold
        q = 1.0 - alpha
        lo = int(stats.binom.ppf((1 - level) / 2, n, q))
        hi = int(stats.binom.ppf((1 + level) / 2, n, q)) + 1
        return float(null[max(lo, 1) - 1]), float(null[min(hi, n) - 1])


def finite_population_factor(n_perm, n_distinct):
    """``sqrt((N - n) / (N - 1))`` for ``n`` of ``N`` distinct flips; 1 if ``N`` is None."""
    if n_distinct is None or n_distinct <= 1:
        return 1.0
    n = min(float(n_perm), float(n_distinct))
    return float(np.sqrt(max(n_distinct - n, 0.0) / (n_distinct - 1.0)))


def n_exceedances_allowed(alpha, n):
    """Largest count c with ``c / n <= alpha`` in floating point (as corrected_p computes)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}; try alpha=0.05.")
    c = int(np.floor(alpha * n))
    while (c + 1) / n <= alpha:
        c += 1
    while c > 0 and c / n > alpha:
        c -= 1
    return c
