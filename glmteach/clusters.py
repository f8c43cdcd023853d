"""Cluster-level and TFCE inference by sign-flip permutation (arrays in, arrays out).

For every sign flip (the same flips as the max-t test, :mod:`glmteach._flips`) the t map
is thresholded and cut into clusters of neighbouring voxels; the null distributions of the
largest cluster size, the largest cluster mass and the largest |TFCE| give family-wise
error corrected p-values. Conventions are nilearn's ``permuted_ols`` ones (clusters at
``|t| > t_threshold``, positive and negative apart; mass = sum of ``|t| - t_threshold``;
TFCE with E = 0.5, H = 2 and 100 heights up to the map's max |t|), so the numbers compare.
"""

import time
from dataclasses import dataclass

import numba
import numpy as np
from scipy import stats

from . import _jit
from ._flips import sign_flips
from ._kernels import clusters as _k
from ._nulls import MaxNull
from .glm import check_Y

CONNECTIVITIES = {6: 1, 18: 2, 26: 3}  # neighbours -> max |offset| sum (faces, edges, corners)
TFCE_E, TFCE_H, TFCE_STEPS = 0.5, 2.0, 100  # nilearn's calculate_tfce defaults
_CHUNK_SECONDS = 0.25  # time between progress calls (and chances to interrupt)


@dataclass(frozen=True, eq=False)
class ClusterResult:
    """Cluster-size, cluster-mass and TFCE permutation nulls of a one-sample t-test.

    Attributes
    ----------
    t : ndarray, shape (n_voxels,)
        Observed t map (df = n_subjects - 1).
    df : int
    t_threshold : float
        Cluster-forming threshold: clusters are ``t > t_threshold`` (and, two-sided,
        ``t < -t_threshold``).
    two_sided : bool
    connectivity : int
        6, 18 or 26 neighbours.
    labels : ndarray of int, shape (n_voxels,)
        Observed cluster of each voxel (1 = largest, 2 = next...), 0 outside clusters.
    max_size_null, max_mass_null : ndarray, shape (n_flips,)
        Largest cluster size (voxels) and mass of each flip; flip 0 is the observed map.
    max_tfce_null : ndarray, shape (n_flips,) or None
        Largest |TFCE| of each flip (None when run with ``tfce=False``).
    tfce : ndarray, shape (n_voxels,) or None
        Observed TFCE map, negative for negative clusters (like nilearn).
    exact : bool
        True when every distinct sign flip was used.
    mask : ndarray of bool, shape (X, Y, Z)
    affine : ndarray, shape (4, 4)
    """

    t: np.ndarray
    df: int
    t_threshold: float
    two_sided: bool
    connectivity: int
    labels: np.ndarray
    max_size_null: np.ndarray
    max_mass_null: np.ndarray
    max_tfce_null: np.ndarray
    tfce: np.ndarray
    exact: bool
    mask: np.ndarray
    affine: np.ndarray

    def __post_init__(self):
        nulls = {"size": MaxNull(self.max_size_null, self.exact),
                 "mass": MaxNull(self.max_mass_null, self.exact)}
        if self.max_tfce_null is not None:
            nulls["tfce"] = MaxNull(self.max_tfce_null, self.exact)
        object.__setattr__(self, "_nulls", nulls)

    @property
    def n_flips(self):
        return self.max_size_null.shape[0]

    @property
    def n_clusters(self):
        return int(self.labels.max(initial=0))

    def cluster_sizes(self):
        """Size in voxels of observed clusters 1..n_clusters, shape (n_clusters,)."""
        return np.bincount(self.labels, minlength=self.n_clusters + 1)[1:]

    def cluster_masses(self):
        """Mass (sum of ``|t| - t_threshold``) of clusters 1..n_clusters."""
        excess = np.where(self.labels > 0, np.abs(self.t) - self.t_threshold, 0.0)
        return np.bincount(self.labels, excess, minlength=self.n_clusters + 1)[1:]

    def cluster_p(self, kind="size", n_perm=None):
        """FWER-corrected p of each voxel's cluster (1 outside clusters), shape (n_voxels,).

        ``kind`` is "size" or "mass"; ``n_perm`` uses the first n_perm flips (default all).
        p = #{null >= cluster's statistic} / n_perm, the observed flip included.
        """
        null, observed = self._kind(kind)
        p = np.ones(self.n_clusters + 1)
        p[1:] = null.corrected_p(observed, n_perm)
        return p[self.labels]

    def cluster_p_error(self, kind="size", n_perm=None):
        """Monte-Carlo standard error of :meth:`cluster_p` (0 outside clusters)."""
        null, observed = self._kind(kind)
        error = np.zeros(self.n_clusters + 1)
        error[1:] = null.p_error(observed, n_perm)
        return error[self.labels]

    def cluster_threshold(self, kind="size", alpha=0.05, n_perm=None):
        """Cluster size (voxels) or mass a cluster must exceed for FWER p <= alpha."""
        return self._kind(kind)[0].threshold(alpha, n_perm)

    def tfce_p(self, n_perm=None):
        """FWER-corrected p of the TFCE map, shape (n_voxels,), from the first n_perm flips."""
        return self._tfce_null().corrected_p(np.abs(self.tfce), n_perm)

    def tfce_p_error(self, n_perm=None):
        """Monte-Carlo standard error of :meth:`tfce_p`, shape (n_voxels,)."""
        return self._tfce_null().p_error(np.abs(self.tfce), n_perm)

    def _tfce_null(self):
        if self.tfce is None:
            raise ValueError("no TFCE null was computed; rerun with tfce=True.")
        return self._nulls["tfce"]

    def cluster_table(self, kind="size", n_perm=None):
        """One row per observed cluster, sorted by ``kind`` ("size" or "mass"), largest first.

        Columns: cluster_id, sign (+1/-1), peak_t, peak_x/y/z (mm), size (voxels),
        size_mm3, mass, p_size, p_mass (FWER-corrected from the first n_perm flips).
        """
        import pandas as pd

        self._kind(kind)
        ids = np.arange(1, self.n_clusters + 1)
        peaks = _cluster_peaks(self.labels, np.abs(self.t), self.n_clusters)
        ijk = np.argwhere(self.mask)[peaks]
        xyz = ijk @ self.affine[:3, :3].T + self.affine[:3, 3]
        sizes, masses = self.cluster_sizes(), self.cluster_masses()
        table = pd.DataFrame({
            "cluster_id": ids,
            "sign": np.sign(self.t[peaks]).astype(int),
            "peak_t": self.t[peaks],
            "peak_x": xyz[:, 0], "peak_y": xyz[:, 1], "peak_z": xyz[:, 2],
            "size": sizes,
            "size_mm3": sizes * abs(np.linalg.det(self.affine[:3, :3])),
            "mass": masses,
            "p_size": self._nulls["size"].corrected_p(sizes, n_perm),
            "p_mass": self._nulls["mass"].corrected_p(masses, n_perm),
        })
        order = np.lexsort((ids, -table[kind].to_numpy()))
        return table.iloc[order].reset_index(drop=True)

    def _kind(self, kind):
        if kind == "size":
            return self._nulls["size"], self.cluster_sizes()
        if kind == "mass":
            return self._nulls["mass"], self.cluster_masses()
        raise ValueError(f"kind must be 'size' or 'mass', got {kind!r}.")


def cluster_permutation_test(Y, mask, affine=None, n_perm=10000, two_sided=True,
                             cluster_threshold=None, t_threshold=None, connectivity=6,
                             tfce=True, random_state=0, n_jobs=None, progress=None,
                             design=None, contrast=None, method="freedman_lane",
                             errors="auto", blocks=None):
    """Permutation test of cluster size, cluster mass and TFCE (one-sample or any GLM).

    Parameters
    ----------
    Y : ndarray, shape (n_subjects, n_voxels)
        One row per subject, voxels in nilearn order (C-order of ``np.nonzero(mask)``).
    mask : ndarray of bool, shape (X, Y, Z)
        The voxels of ``Y`` on their grid (``MaskedMaps.mask``).
    affine : ndarray, shape (4, 4), optional
        Voxel -> mm (``MaskedMaps.affine``); default identity (1 mm voxels).
    n_perm : int
        Number of sign flips, the observed one included (all distinct ones if fewer).
    two_sided : bool
        Positive and negative clusters (True) or positive only.
    cluster_threshold : float, optional
        Cluster-forming threshold as an uncorrected p (default 0.001), converted to t with
        df = n_subjects - 1 (two-sided: ``t.isf(p / 2)``, as nilearn).
    t_threshold : float, optional
        The cluster-forming threshold as a t value instead of ``cluster_threshold``.
    connectivity : {6, 18, 26}
        Neighbours sharing a face (6, nilearn's choice), also an edge (18), or a corner (26).
    tfce : bool
        Also compute the TFCE map and its null (E = 0.5, H = 2, 100 heights).
    random_state : int or None
        Seed of the sign flips (the same seed gives the flips of ``permutation_test``).
    n_jobs : int or None
        Threads (None: all).
    progress : callable, optional
        Called as ``progress(fraction_done)`` between chunks of flips; Ctrl-C (or an
        exception raised by ``progress``) stops the run cleanly.
    design, contrast : optional
        A GLM instead of the one-sample test (two-sample, paired, covariates), as
        :func:`glmteach.glm_permutation_test`: the t maps are the contrast's, df is
        ``n_subjects - n_regressors`` and the flips are its rearrangements.
    method, errors, blocks : optional
        As :func:`glmteach.glm_permutation_test` (used only with ``design``).

    Returns
    -------
    ClusterResult
    """
    Y = check_Y(Y)
    mask, affine = _check_grid(mask, affine, Y.shape[1])
    connectivity = _check_connectivity(connectivity)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}.")
    neighbours = mask_neighbours(mask, connectivity)
    if design is None:
        if contrast is not None:
            raise ValueError("contrast needs a design; pass design=... too (or neither for "
                             "the one-sample test).")
        df = Y.shape[0] - 1
        flips = sign_flips(Y.shape[0], n_perm, two_sided=two_sided, random_state=random_state)
        sum_squares = _flip_invariant_sum_squares(Y)
        t = np.empty((1, Y.shape[1]))
        _k.t_maps(Y, sum_squares, flips.signs, 0, 1, t)
        t = t[0]

        def compute(start, stop, n_blocks, weight, max_size, max_mass, max_tfce):
            _k.null_chunk(Y, sum_squares, flips.signs, start, stop, n_blocks, threshold,
                          two_sided, tfce, weight, TFCE_H, TFCE_STEPS, neighbours,
                          max_size, max_mass, max_tfce)
    else:
        from ._kernels.glm import cluster_null_chunk
        from .glm_permutation import glm_setup

        model, flips, tt = glm_setup(Y, design, contrast, n_perm, two_sided, method, errors,
                                     blocks, random_state)
        df, t = model.df, tt.t
        E = np.ascontiguousarray(model.residuals(Y, ~tt.constant))

        def compute(start, stop, n_blocks, weight, max_size, max_mass, max_tfce):
            cluster_null_chunk(model.rearranged_rows(flips, start, stop), E, float(df), start,
                               n_blocks, threshold, two_sided, tfce, weight, TFCE_H,
                               TFCE_STEPS, neighbours, max_size, max_mass, max_tfce)
    threshold = _t_threshold(cluster_threshold, t_threshold, df, two_sided)
    roots = _k.label_clusters(t, threshold, two_sided, neighbours)
    labels = _relabel_by_size(roots, np.abs(t))
    tfce_obs = None
    if tfce:
        tfce_obs = _k.tfce_map(t, two_sided, TFCE_E, TFCE_H, TFCE_STEPS, neighbours)
    nulls = _run_null(flips.n_flips, Y.shape[1], compute, n_jobs, progress)
    result = ClusterResult(
        t=t, df=df, t_threshold=threshold, two_sided=two_sided, connectivity=connectivity,
        labels=labels, max_size_null=nulls[0], max_mass_null=nulls[1],
        max_tfce_null=nulls[2] if tfce else None, tfce=tfce_obs, exact=flips.exact,
        mask=mask, affine=affine)
    # Flip 0 from the observed statistics themselves, so that the largest observed value
    # is always counted (summation order differs between the two paths by rounding).
    result.max_size_null[0] = result.cluster_sizes().max(initial=0)
    result.max_mass_null[0] = result.cluster_masses().max(initial=0.0)
    if tfce:
        result.max_tfce_null[0] = np.abs(tfce_obs).max()
    return result


def mask_neighbours(mask, connectivity=6):
    """In-mask neighbours of every in-mask voxel (voxels in nilearn order).

    Returns
    -------
    neighbours : ndarray of int32, shape (n_voxels, connectivity)
        Indices of each voxel's in-mask neighbours, padded with ``n_voxels`` (no voxel).
    """
    reach = CONNECTIVITIES[connectivity]
    n_voxels = np.count_nonzero(mask)
    index = np.full(mask.shape, n_voxels, np.int32)
    index[mask] = np.arange(n_voxels, dtype=np.int32)
    ijk = np.array(np.nonzero(mask))
    steps = [d for d in np.ndindex(3, 3, 3) if 0 < np.abs(np.subtract(d, 1)).sum() <= reach]
    neighbours = np.full((n_voxels, len(steps)), n_voxels, np.int32)
    for column, step in enumerate(steps):
        moved = ijk + (np.array(step) - 1)[:, None]
        inside = ((moved >= 0) & (moved < np.array(mask.shape)[:, None])).all(axis=0)
        neighbours[inside, column] = index[tuple(moved[:, inside])]
    return neighbours


def _run_null(n_flips, n_voxels, compute, n_jobs, progress):
    """The three max-statistic nulls, computed in chunks timed to ~_CHUNK_SECONDS.

    ``compute(start, stop, n_blocks, extent_weight, max_size, max_mass, max_tfce)`` fills
    flips ``start .. stop - 1`` with ``n_blocks`` threads.
    """
    max_size = np.zeros(n_flips, np.int64)
    max_mass, max_tfce = np.zeros(n_flips), np.zeros(n_flips)
    extent_weight = np.arange(n_voxels + 1, dtype=float) ** TFCE_E
    previous = numba.get_num_threads()
    try:
        n_blocks = _jit.set_n_jobs(n_jobs)
        unit = n_blocks * _k.FLIP_GROUP
        start, chunk = 0, unit
        while start < n_flips:
            stop = min(n_flips, start + chunk)
            tic = time.perf_counter()
            compute(start, stop, n_blocks, extent_weight, max_size, max_mass, max_tfce)
            elapsed = max(time.perf_counter() - tic, 1e-6)
            chunk = unit * max(1, int(chunk * _CHUNK_SECONDS / elapsed / unit))
            start = stop
            if progress is not None:
                progress(start / n_flips)
    finally:
        numba.set_num_threads(previous)
    return max_size, max_mass, max_tfce


def _flip_invariant_sum_squares(Y):
    """Per-voxel sum of squares; 0 for constant voxels so that their t is 0 in every flip."""
    sum_squares = (Y**2).sum(axis=0)
    centred = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    constant = (Y == Y[0]).all(axis=0) | (centred <= 1e-28 * sum_squares)
    sum_squares[constant] = 0.0
    return sum_squares


def _relabel_by_size(roots, abs_t):
    """Cluster ids 1..n by decreasing size (then peak |t|); 0 outside clusters."""
    labels = np.zeros(roots.size, np.int64)
    inside = roots >= 0
    if not inside.any():
        return labels
    uniq, member = np.unique(roots[inside], return_inverse=True)
    sizes = np.bincount(member)
    peak = np.zeros(uniq.size)
    np.maximum.at(peak, member, abs_t[inside])
    rank = np.empty(uniq.size, np.int64)
    rank[np.lexsort((uniq, -peak, -sizes))] = np.arange(1, uniq.size + 1)
    labels[inside] = rank[member]
    return labels


def _cluster_peaks(labels, abs_t, n_clusters):
    """Voxel index of the largest |t| of each cluster 1..n_clusters."""
    order = np.lexsort((-abs_t, labels))
    sorted_labels = labels[order]
    first = np.searchsorted(sorted_labels, np.arange(1, n_clusters + 1))
    return order[first]


def _check_grid(mask, affine, n_voxels):
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"mask must be a 3D array, got shape {mask.shape}; use MaskedMaps.mask.")
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("mask must be boolean (or 0/1); use MaskedMaps.mask.")
        mask = mask.astype(bool)
    if np.count_nonzero(mask) != n_voxels:
        raise ValueError(
            f"mask has {np.count_nonzero(mask)} voxels but Y has {n_voxels} columns; "
            "pass the mask that Y was extracted with (MaskedMaps.mask)."
        )
    affine = np.eye(4) if affine is None else np.asarray(affine, dtype=float)
    if affine.shape != (4, 4) or not np.isfinite(affine).all():
        raise ValueError(
            f"affine must be a finite 4x4 array, got shape {affine.shape}; "
            "use MaskedMaps.affine or None."
        )
    return mask, affine


def _check_connectivity(connectivity):
    if isinstance(connectivity, bool) or connectivity not in CONNECTIVITIES:
        raise ValueError(
            f"connectivity must be 6, 18 or 26 neighbours, got {connectivity!r}; "
            "use 6 (faces, as nilearn)."
        )
    return int(connectivity)


def _t_threshold(cluster_threshold, t_threshold, df, two_sided):
    """The cluster-forming threshold in t units."""
    if t_threshold is not None:
        if cluster_threshold is not None:
            raise ValueError("give cluster_threshold (a p) or t_threshold (a t), not both.")
        if (isinstance(t_threshold, bool) or not isinstance(t_threshold, (int, float, np.number))
                or not np.isfinite(t_threshold) or t_threshold <= 0):
            raise ValueError(f"t_threshold must be a positive number, got {t_threshold!r}.")
        return float(t_threshold)
    p = 0.001 if cluster_threshold is None else cluster_threshold
    if not 0 < p < 1:
        raise ValueError(
            f"cluster_threshold is an uncorrected p in (0, 1), got {p!r}; "
            "try 0.001, or pass t_threshold=3.5 for a t value."
        )
    return float(stats.t.isf(p / 2 if two_sided else p, df))
