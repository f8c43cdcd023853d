"""What is a permutation null, at one voxel? The logic of the sign-flip explainer panel.

:class:`FlipExplainer` walks through the sign flips of :func:`glmteach.permutation_test`
one at a time (the same flips, in the same order, for the same ``n_perm`` and
``random_state``). After each flip it knows which subjects were negated, the t value the
flipped data give at one chosen voxel (that voxel's null) and the largest ``|t|`` over the
whole brain (the max null, identical to ``PermutationResult.max_null``). The p-values built
from the flips done so far converge to the permutation test's:

- uncorrected p at the voxel: ``#{voxel null >= observed} / n_done``;
- FWER-corrected p: ``#{max null >= observed} / n_done``;

with the observed labelling (flip 0) counted, as everywhere in glmteach. Arrays in, arrays
out: the widget lives in :mod:`glmteach.widgets.labs`.
"""

import numpy as np

from ._flips import check_n_perm, sign_flips
from .glm import check_Y, one_sample_ttest


class FlipExplainer:
    """Sign flips one by one, at one voxel and over the brain.

    Parameters
    ----------
    Y : array-like, shape (n_subjects, n_voxels)
        One row per subject (``MaskedMaps.Y``).
    n_perm : int
        Flips, the observed one included (as :func:`glmteach.permutation_test`).
    two_sided : bool
        ``|t|`` (default) or ``t``.
    random_state : int
        Seed of the flips (the same as the permutation test's gives the same flips).
    voxel : int, optional
        Column of ``Y`` to follow (default: the peak ``|t|``).
    mask : ndarray of bool, shape (nx, ny, nz), optional
    affine : ndarray, shape (4, 4), optional
        Where the voxels are (``MaskedMaps.mask`` / ``.affine``): needed for mm coordinates.
    permutation : PermutationResult, optional
        A finished test with the same flips: its max null is reused instead of recomputed.

    Attributes
    ----------
    t : ndarray, shape (n_voxels,)
        Observed t.
    signs : ndarray of int8, shape (n_flips, n_subjects)
        The flips (row 0 = observed).
    n_done : int
        Flips shown so far (starts at 1: the observed labelling).
    voxel : int
    """

    def __init__(self, Y, n_perm=10000, two_sided=True, random_state=0, voxel=None,
                 mask=None, affine=None, permutation=None):
        self.Y = check_Y(Y)
        n_perm = check_n_perm(n_perm)
        self.two_sided = bool(two_sided)
        tt = one_sample_ttest(self.Y, two_sided=self.two_sided)
        self.t, self.df, self.p = tt.t, tt.df, tt.p
        self._keep = ~tt.constant
        flips = sign_flips(self.Y.shape[0], n_perm, two_sided=self.two_sided,
                           random_state=random_state)
        self.signs, self.exact = flips.signs, flips.exact
        self._n_distinct = flips.n_distinct
        self._max_null = np.full(flips.n_flips, np.nan)
        self._max_null[0] = self.stat.max()
        if permutation is not None:
            self._adopt(permutation)
        self.mask = None if mask is None else np.asarray(mask, dtype=bool)
        self.affine = None if affine is None else np.asarray(affine, dtype=float)
        if self.mask is not None and int(self.mask.sum()) != self.Y.shape[1]:
            raise ValueError(f"mask has {int(self.mask.sum())} voxels but Y has "
                             f"{self.Y.shape[1]} columns; pass the mask that produced Y.")
        self.n_done = 1
        self.set_voxel(self.peak if voxel is None else voxel)

    def _adopt(self, permutation):
        same = (permutation.two_sided == self.two_sided
                and permutation.flips.signs.shape == self.signs.shape
                and np.array_equal(permutation.flips.signs, self.signs))
        if not same:
            raise ValueError("permutation was run with other flips; use the same n_perm, "
                             "two_sided and random_state, or leave permutation out.")
        self._max_null[:] = permutation.max_null

    # ------------------------------------------------------------------ the data
    @property
    def n_flips(self):
        return self.signs.shape[0]

    @property
    def n_subjects(self):
        return self.signs.shape[1]

    @property
    def stat(self):
        """Observed statistic per voxel: ``|t|`` two-sided, ``t`` one-sided."""
        return np.abs(self.t) if self.two_sided else self.t

    @property
    def peak(self):
        """Column of the largest observed statistic."""
        return int(np.argmax(self.stat))

    def set_voxel(self, voxel):
        """Follow column ``voxel`` of Y (its null is recomputed for every flip: cheap)."""
        if isinstance(voxel, bool) or not isinstance(voxel, (int, np.integer)) \
                or not 0 <= voxel < self.Y.shape[1]:
            raise ValueError(f"voxel must be a column index 0..{self.Y.shape[1] - 1}, got "
                             f"{voxel!r}; use explainer.peak or nearest_voxel(xyz_mm).")
        self.voxel = int(voxel)
        self._voxel_null = voxel_t_null(self.Y[:, self.voxel], self.signs)
        self._voxel_null[0] = self.t[self.voxel]  # flip 0 is the data: same bits as t

    def values(self):
        """The followed voxel's values, one per subject, shape (n_subjects,)."""
        return self.Y[:, self.voxel]

    # ------------------------------------------------------------------ stepping
    def step(self, n=1, progress=None):
        """Do the next ``n`` flips (clipped at the last one); returns the flips done.

        ``progress(fraction)`` is called between chunks when many flips are computed.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive whole number of flips, got {n!r}; "
                             "try n=1, 10 or 100.")
        stop = min(self.n_flips, self.n_done + int(n))
        self._compute_max_null(self.n_done, stop, progress)
        self.n_done = stop
        return self.n_done

    def step_all(self, progress=None):
        """Do every remaining flip."""
        return self.step(max(1, self.n_flips - self.n_done), progress)

    def reset(self):
        """Back to the observed labelling only (computed max-null values are kept)."""
        self.n_done = 1

    def _compute_max_null(self, start, stop, progress):
        from .permutation import max_null_t

        todo = np.arange(start, stop)
        todo = todo[np.isnan(self._max_null[todo])]
        if todo.size:
            lo, hi = int(todo[0]), int(todo[-1]) + 1
            self._max_null[lo:hi] = max_null_t(self.Y, self.signs[lo:hi], self._keep,
                                               self.two_sided, progress=progress)

    # ------------------------------------------------------------------ what to show
    @property
    def last(self):
        """Index of the last flip done (0 = observed)."""
        return self.n_done - 1

    def flipped(self, flip=None):
        """Which subjects the flip negates, bool shape (n_subjects,)."""
        return self.signs[self.last if flip is None else flip] < 0

    @property
    def voxel_null(self):
        """t at the voxel for each flip done, shape (n_done,) (flip 0 = observed t)."""
        return self._voxel_null[: self.n_done]

    @property
    def max_null(self):
        """Max ``|t|`` (or t) over the brain for each flip done, shape (n_done,).

        Identical to ``PermutationResult.max_null[:n_done]`` for the same flips.
        """
        return self._max_null[: self.n_done]

    @property
    def observed(self):
        """Observed statistic at the voxel (``|t|`` two-sided)."""
        return float(self.stat[self.voxel])

    def voxel_p(self):
        """Uncorrected permutation p at the voxel from the flips done."""
        null = np.abs(self.voxel_null) if self.two_sided else self.voxel_null
        return float(np.mean(null >= self.observed))

    def fwer_p(self):
        """FWER-corrected (max-t) p at the voxel from the flips done."""
        return float(np.mean(self.max_null >= self.observed))

    def p_error(self, p):
        """Monte-Carlo standard error ``sqrt(p (1 - p) / n_done)`` times the
        finite-population factor ``sqrt((N - n_done) / (N - 1))`` of flips drawn without
        repeats from ``N`` distinct ones (0 for a full exact run)."""
        from ._nulls import finite_population_factor

        if self.exact and self.n_done == self.n_flips:
            return 0.0
        return float(np.sqrt(p * (1.0 - p) / self.n_done)
                     * finite_population_factor(self.n_done, self._n_distinct))

    def parametric_p(self):
        """The t-distribution p at the voxel (what the t-test reports), for comparison."""
        return float(self.p[self.voxel])

    # ------------------------------------------------------------------ where
    def coordinates(self, voxel=None):
        """mm coordinates (x, y, z) of a column (default: the followed voxel)."""
        ijk = self._ijk()[self.voxel if voxel is None else voxel]
        return tuple(float(c) for c in self.affine[:3, :3] @ ijk + self.affine[:3, 3])

    def nearest_voxel(self, xyz_mm):
        """Column of the in-mask voxel nearest to ``xyz_mm`` (3 numbers, mm)."""
        xyz = np.asarray(xyz_mm, dtype=float)
        if xyz.shape != (3,) or not np.isfinite(xyz).all():
            raise ValueError(f"xyz_mm must be 3 finite numbers (mm), got {xyz_mm!r}; "
                             "e.g. (-38, -22, 56).")
        world = self._ijk() @ self.affine[:3, :3].T + self.affine[:3, 3]
        return int(np.argmin(((world - xyz) ** 2).sum(axis=1)))

    def closest_to_t(self, value):
        """Column whose observed statistic (``|t|`` two-sided) is closest to ``value``.

        E.g. ``closest_to_t(4.5)``: a voxel that is "significant" uncorrected but not
        after family-wise correction.
        """
        if isinstance(value, bool) or not np.isfinite(value):
            raise ValueError(f"value must be a finite t value, got {value!r}; e.g. 4.5.")
        return int(np.argmin(np.abs(self.stat - value)))

    def peaks(self, n=8, min_distance_mm=20.0):
        """Up to ``n`` peak columns of the statistic, at least ``min_distance_mm`` apart.

        Returns
        -------
        list of (column, (x, y, z) mm, t)
        """
        world = self._ijk() @ self.affine[:3, :3].T + self.affine[:3, 3]
        order = np.argsort(-self.stat, kind="stable")
        chosen = []
        for column in order:
            if all(((world[column] - world[c]) ** 2).sum() >= min_distance_mm**2
                   for c in chosen):
                chosen.append(int(column))
                if len(chosen) == n:
                    break
        return [(c, self.coordinates(c), float(self.t[c])) for c in chosen]

    def _ijk(self):
        if self.mask is None or self.affine is None:
            raise ValueError("coordinates need the grid; pass mask=masked.mask and "
                             "affine=masked.affine.")
        if not hasattr(self, "_ijk_cache"):
            self._ijk_cache = np.argwhere(self.mask).astype(float)
        return self._ijk_cache


def voxel_t_null(values, signs):
    """One-sample t of ``values * signs[f]`` for every flip ``f``.

    Parameters
    ----------
    values : ndarray, shape (n_subjects,)
    signs : ndarray of int8, shape (n_flips, n_subjects)

    Returns
    -------
    ndarray, shape (n_flips,)
        Signed t (0 if the values are constant).
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    sums = signs.astype(np.float64) @ values
    sum_squares = float(values @ values)
    mean = sums / n
    var = (sum_squares - sums * mean) / (n - 1)
    if not np.any(values - values[0]):
        return np.zeros(signs.shape[0])
    return mean / np.sqrt(np.maximum(var, 1e-300) / n)
