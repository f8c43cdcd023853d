"""Permutation inference for any second-level GLM contrast, with max-t FWER control.

A contrast splits the design into the regressor of interest and nuisance regressors
(Winkler et al. 2014, NeuroImage 92:381, appendix A, after Beckmann et al. 2001), so that a
contrast on one column of a design with an intercept and covariates tests that column with
the others as nuisance. Under the null hypothesis the nuisance model still holds, and:

``"freedman_lane"`` (default, as FSL randomise and PALM)
    rearranges the residuals of the nuisance-only model, adds back its fitted values and
    refits the full model. Exact with no nuisance; very close otherwise.
``"ter_braak"``
    rearranges the residuals of the full model (and tests ``c'b = c'b_hat``).
``"manly"``
    rearranges the data themselves, ignoring the nuisance: kept to show what goes wrong
    when a nuisance regressor with a real effect is correlated with the tested one.

The rearrangements (:mod:`glmteach._rearrange`) are row permutations when the errors are
exchangeable (within blocks), sign flips when they are symmetric, or both. The maximum of
the refitted t over voxels, for each rearrangement, is the null distribution of the
maximum; the result is the :class:`~glmteach.permutation.PermutationResult` of the
one-sample test, with the same conventions (observed first, prefixes, exact enumeration).
"""

import functools
from contextlib import contextmanager
from types import SimpleNamespace

import numba
import numpy as np

from ._jit import set_n_jobs
from ._kernels import amx as _amx
from ._kernels import glm as _k
from ._rearrange import ERRORS, rearrangements
from .glm import _check_design, _ols_t, check_Y, one_sample_t
from .permutation import PermutationResult, max_null_t, max_scaled_sum

METHODS = ("freedman_lane", "ter_braak", "manly")
CHUNK = 2048  # rearrangements between progress calls
ROWS = 24  # rows of rearrangements per float32 product: with BLOCK voxels and m < ~60
BLOCK = 256  # ... the product is small enough for BLAS's small-matrix (unpacked) kernels
SEGMENT = _k.SEGMENT  # voxels per screened bound (the float64 refinement unit)
_TOL = 1e-9  # relative tolerance for "the same subspace" / "the same value"


def glm_permutation_test(Y, design, contrast, n_perm=10000, two_sided=True,
                         method="freedman_lane", errors="auto", blocks=None, random_state=0,
                         n_jobs=None, progress=None):
    """Permutation test of a GLM contrast with max-t family-wise error control.

    Parameters
    ----------
    Y : array-like, shape (n_subjects, n_voxels)
        One row per subject (or per subject and condition), no NaN.
    design : ndarray, shape (n_subjects, n_regressors), or pandas.DataFrame
        Full-rank design, as :func:`glmteach.glm_ttest` (include the intercept yourself).
    contrast : array-like, shape (n_regressors,), or str
        One contrast (a t-test): weights, or the name of a DataFrame column.
    n_perm : int
        Rearrangements, the observed one included (1 .. 1,000,000). If there are at most
        that many distinct ones (ties in the design count once: two groups of 8 have
        C(16, 8) = 12,870), all are enumerated and the test is exact; otherwise
        ``n_perm - 1`` distinct ones are drawn at random without repeats. Any prefix is a
        random sample, so a smaller ``n_perm`` is the start of a larger one.
    two_sided : bool
        Max ``|t|`` (default) or max ``t`` (H1: ``c'b > 0``).
    method : {"freedman_lane", "ter_braak", "manly"}
        How nuisance regressors are handled (module docstring).
    errors : {"auto", "exchangeable", "symmetric", "both"}
        Row permutations, sign flips or both. "auto": row permutations when the nuisance
        model contains a constant (two-sample, paired, correlation with a covariate), sign
        flips otherwise (the tested effect is a mean: one-sample, with or without
        covariates).
    blocks : array-like, shape (n_subjects,), optional
        Exchangeability block of each row (e.g. the subject of a paired design): rows are
        permuted only within their block; every block needs at least 2 rows. Sign flips
        are per row and ignore blocks.
    random_state : int, numpy.random.Generator or None
        Same value, same rearrangements (pure sign flips are those of
        :func:`glmteach.permutation_test`).
    n_jobs : int or None
        Threads (``None``: all cores).
    progress : callable or None
        Called as ``progress(fraction_done)`` between chunks of ~2,000 rearrangements.

    Returns
    -------
    PermutationResult
        ``t`` is ``glm_ttest(Y, design, contrast).t``, ``df = n_subjects - n_regressors``,
        ``flips`` the :class:`~glmteach._rearrange.Rearrangements` used.
    """
    Y = check_Y(Y)
    model, arrangement, tt = glm_setup(Y, design, contrast, n_perm, two_sided, method,
                                       errors, blocks, random_state)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}; "
                        "pass e.g. lambda fraction: bar.update(fraction).")
    t = tt.t
    if model.is_one_sample and method != "ter_braak":
        t, constant = one_sample_t(Y)  # bit for bit the sign-flip test of permutation_test
        t = t * model.mean_sign
        max_null = max_null_t(Y, arrangement.signs, ~constant, two_sided, n_jobs, progress)
    else:
        max_null = model.max_null(Y, arrangement, ~tt.constant, two_sided, n_jobs, progress)
    stat = np.abs(t) if two_sided else t
    max_null[0] = stat.max()  # the observed arrangement, bit-identical to the reported t
    return PermutationResult(
        t=t, df=float(tt.df), max_null=max_null, exact=arrangement.exact,
        n_flips=arrangement.n_flips, two_sided=bool(two_sided), flips=arrangement,
    )


def glm_setup(Y, design, contrast, n_perm, two_sided, method, errors, blocks, random_state):
    """Check the inputs; return the partitioned model, its rearrangements and the observed
    ``t`` (``t``, ``df``, ``constant`` of :func:`~glmteach.glm_ttest`, without its p
    and z values, which no permutation needs; shared with cluster and TFCE inference)."""
    X, c = _check_design(design, contrast, Y.shape[0])
    method = _check_choice("method", method, METHODS, "freedman_lane")
    errors = _check_choice("errors", errors, ("auto",) + ERRORS, "auto")
    block_ids = _check_blocks(blocks, X.shape[0])
    model = _Model(X, c, block_ids, method, errors)
    arrangement = rearrangements(X, n_perm, model.errors, block_ids, two_sided, random_state)
    t, df, constant = _ols_t(Y, X, c)
    return model, arrangement, SimpleNamespace(t=t, df=df, constant=constant)


class _Model:
    """The partitioned design in orthonormal coordinates.

    ``u``: unit regressor of interest (orthogonal to the nuisance); ``moving``: orthonormal
    nuisance directions that rearrangements change; ``W``: orthonormal basis of the space
    the rearranged residuals live in (the complement of what the method removes).
    """

    def __init__(self, X, c, blocks, method, errors):
        n, p = X.shape
        self.df = n - p
        x, Z = partition(X, c)
        self.u = x / np.linalg.norm(x)
        Qz = _orthonormal(Z)
        Qb = _block_indicators(blocks, n)
        if errors == "auto":
            errors = "exchangeable" if _contains(Qz, np.ones(n)) else "symmetric"
        if errors == "exchangeable" and _contains(Qb, self.u):
            raise ValueError(
                "the contrast tests an effect that permuting rows cannot change (it is "
                "constant within every exchangeability block, like a mean or a subject "
                "effect); use errors='symmetric' (sign flips) or test another column.")
        self.errors = errors
        fixed, self.moving = _split_invariant(Qz, Qb if errors == "exchangeable" else None)
        removed = {"freedman_lane": Qz, "ter_braak": _orthonormal(X), "manly": fixed}[method]
        self.W = _complement(removed, n)
        self.M = np.column_stack([self.u, self.moving])
        self.is_one_sample = p == 1 and np.ptp(X[:, 0]) == 0 and errors == "symmetric"
        self.mean_sign = float(np.sign(c[0] * X[0, 0])) if self.is_one_sample else 1.0
        self.sums_to_zero = np.linalg.norm(self.W.T @ np.ones(n)) < _TOL * np.sqrt(n)

    def residuals(self, Y, keep):
        """Unit residual vectors in W coordinates, shape (m, n_voxels); zero if not kept."""
        E = self.W.T @ Y
        norm2 = (E**2).sum(axis=0)
        keep = keep & (norm2 > 1e-28 * (Y**2).sum(axis=0))
        E /= np.sqrt(np.where(keep, norm2, 1.0))  # in place: E is ours
        E[:, ~keep] = 0.0
        return E

    def max_null(self, Y, arrangement, keep, two_sided, n_jobs, progress):
        E = np.ascontiguousarray(self.residuals(Y, keep))
        levels = self._two_levels(arrangement)
        if levels is not None:  # the sign-flip table kernel: sums of +-e per voxel
            scale, signs = levels
            best = max_scaled_sum(np.ascontiguousarray(self.W @ E), signs, two_sided,
                                  n_jobs, progress)
            a = scale * best
            q = (a * np.abs(a)) / np.maximum(1.0 - a * a, _k.FLOOR)
        else:
            n_voxels = E.shape[1]
            E = _padded(E)  # (the unpadded copy is freed here, not after the long part)
            q = _screened_null(E, n_voxels, self.M, self.W, arrangement, two_sided, n_jobs,
                               progress)
        t = np.empty_like(q)
        _k.q_to_t(q, float(self.df), t)
        return t

    def rearranged_rows(self, arrangement, start, stop):
        """Rearrangements ``start .. stop - 1`` as matrices, shape (stop - start, r, m)."""
        return _rearranged_rows(self.M, self.W, arrangement, start, stop)

    def _two_levels(self, arrangement):
        """``(k, signs)`` with rearranged ``u`` = const + k * signs, when that const drops
        out (or None): sign flips of a constant ``u``, or row permutations of a two-valued
        ``u`` whose residuals sum to zero, and no moving nuisance."""
        if self.moving.shape[1]:
            return None
        if arrangement.rows is None:
            if np.ptp(self.u) > _TOL:
                return None
            return abs(self.u[0]), (arrangement.signs * np.sign(self.u[0])).astype(np.int8)
        values = np.unique(np.round(self.u / _TOL) * _TOL)
        if arrangement.errors != "exchangeable" or len(values) != 2 or not self.sums_to_zero:
            return None
        hi, lo = self.u.max(), self.u.min()
        high = self.u[arrangement.rows] > (hi + lo) / 2
        return (hi - lo) / 2, np.where(high, 1, -1).astype(np.int8)


def partition(X, c):
    """Split a design into the regressor of interest and nuisance (Winkler 2014, app. A).

    Parameters
    ----------
    X : ndarray, shape (n_subjects, n_regressors)
    c : ndarray, shape (n_regressors,)

    Returns
    -------
    x : ndarray, shape (n_subjects,)
        ``X D c (c' D c)^-1`` with ``D = (X'X)^-1``: its coefficient in ``[x, Z]`` is
        ``c'b``, with the same standard error.
    Z : ndarray, shape (n_subjects, n_regressors - 1)
        ``X D Cv (Cv' D Cv)^-1`` with ``Cv = Cu - c (c'Dc)^-1 c' D Cu`` and ``Cu`` a basis
        of the null space of ``c'``: the null model, orthogonal to ``x``.
    """
    D = np.linalg.inv(X.T @ X)
    cDc = float(c @ D @ c)
    x = X @ D @ c / cDc
    Cu = np.linalg.svd(c[None, :])[2][1:].T  # orthonormal basis of null(c')
    Cv = Cu - np.outer(c, c @ D @ Cu) / cDc
    if Cv.shape[1] == 0:
        return x, np.zeros((X.shape[0], 0))
    return x, X @ D @ Cv @ np.linalg.inv(Cv.T @ D @ Cv)


def _screened_null(E, n_voxels, M, W, arrangement, two_sided, n_jobs, progress):
    """Largest ``q`` per rearrangement: a screen by threads (its products on AMX tiles in
    bfloat16 where the CPU has them, :mod:`glmteach._kernels.amx`, else float32 BLAS),
    then the float64 refinement; the result does not depend on which screen ran.

    ``E``: the unit residuals of ``n_voxels`` voxels followed by zero columns up to whole
    blocks of voxels, shape (m, n_blocks * BLOCK) (:func:`_padded`).
    """
    n_flips, r = arrangement.n_flips, M.shape[1]
    m = E.shape[0]
    n_blocks = E.shape[1] // BLOCK
    amx = _amx.available(m)
    if amx:  # the products on AMX tiles, in bfloat16
        config = _amx.tile_config()
        blocks, voxel_error, voxel_norm = _amx.residual_tiles(E, BLOCK)
    else:  # ... or in float32 on the vector units (BLAS)
        delta = _k.projection_error(m)
        blocks = np.ascontiguousarray(
            E.reshape(m, n_blocks, BLOCK).transpose(1, 0, 2), dtype=np.float32)
    segments = E.reshape(m, -1, SEGMENT)
    tile = max(1, ROWS // r)
    n_segments = -(-n_voxels // SEGMENT)
    best = np.empty(n_flips)
    previous = numba.get_num_threads()
    set_n_jobs(n_jobs)
    try:
        with _single_threaded_blas(n_blocks > 1):
            for start in range(0, n_flips, CHUNK):
                stop = min(start + CHUNK, n_flips)
                A = _rearranged_rows(M, W, arrangement, start, stop)
                screen = np.empty((n_segments, stop - start), np.float32)
                if amx:
                    rows, row_error, row_norm = _amx.row_tiles(A)
                    delta = _amx.projection_error(row_error, row_norm, voxel_error,
                                                  voxel_norm)
                    _amx.screen(config, rows, blocks, r, bool(two_sided), delta, n_voxels,
                                screen)
                else:
                    A32 = A.reshape(-1, m).astype(np.float32)
                    _k.screen(A32, blocks, r, tile, bool(two_sided), delta, n_voxels,
                              screen)
                _k.refine(A, segments, screen, bool(two_sided), n_voxels, best[start:stop])
                if progress is not None:
                    progress(stop / n_flips)
    finally:
        numba.set_num_threads(previous)
    return best


def _padded(E):
    """``E`` (m, n_voxels) followed by zero columns up to a whole number of BLOCKs."""
    m, n_voxels = E.shape
    out = np.zeros((m, -(-n_voxels // BLOCK) * BLOCK))
    out[:, :n_voxels] = E
    return out


@contextmanager
def _single_threaded_blas(needed):
    """Each numba thread runs its own small products: BLAS must not start threads too.
    (Skipped for one block of voxels, one thread's work, where it would cost more than the
    products: a null-world study of a small map.)"""
    if not needed:
        yield
        return
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield


@functools.lru_cache(maxsize=None)
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries, found once (finding them takes
    ~3 ms, about 1% of a 10,000-permutation test on AMX tiles)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _rearranged_rows(M, W, arrangement, start, stop):
    """``A[k] = (signs_k * M[rows_k])' W``, shape (stop - start, r, m)."""
    signs = arrangement.signs[start:stop, :, None].astype(np.float64)
    G = (M[None] if arrangement.rows is None else M[arrangement.rows[start:stop]]) * signs
    return np.ascontiguousarray(np.matmul(G.transpose(0, 2, 1), W))


# ----------------------------------------------------------------------------- geometry


def _orthonormal(Z):
    if Z.shape[1] == 0:
        return Z
    q, _ = np.linalg.qr(Z)
    return q


def _complement(Q, n):
    """Orthonormal basis (n, n - k) of the orthogonal complement of Q's columns."""
    if Q.shape[1] == 0:
        return np.eye(n)
    full, _ = np.linalg.qr(Q, mode="complete")
    return full[:, Q.shape[1]:]


def _block_indicators(blocks, n):
    if blocks is None:
        return np.ones((n, 1)) / np.sqrt(n)
    B = (blocks[:, None] == np.arange(blocks.max() + 1)[None, :]).astype(float)
    return B / np.sqrt(B.sum(axis=0))


def _contains(Q, v):
    """Whether v lies in the span of the orthonormal columns of Q."""
    if Q.shape[1] == 0:
        return False
    return np.linalg.norm(v - Q @ (Q.T @ v)) <= _TOL * np.linalg.norm(v)


def _split_invariant(Qz, Qb):
    """Nuisance directions that row permutations within blocks leave unchanged (in the
    span of the block indicators), and the orthonormal rest."""
    if Qz.shape[1] == 0 or Qb is None:
        return Qz[:, :0], Qz
    U, s, _ = np.linalg.svd(Qz.T @ Qb, full_matrices=True)
    s = np.concatenate([s, np.zeros(Qz.shape[1] - len(s))])
    fixed = s > 1 - _TOL
    return Qz @ U[:, fixed], Qz @ U[:, ~fixed]


# ----------------------------------------------------------------------------- checks


def _check_choice(name, value, allowed, default):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got "
                         f"{value!r}; the default is {default!r}.")
    return value


def _check_blocks(blocks, n):
    if blocks is None:
        return None
    labels = np.asarray(blocks)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"blocks must give one label per row of the design ({n}), got "
                         f"shape {labels.shape}; e.g. the subject of each row.")
    names, ids = np.unique(labels, return_inverse=True)
    sizes = np.bincount(ids)
    if sizes.min() < 2:
        alone = names[np.argmin(sizes)]
        raise ValueError(f"block {alone!r} has a single row, which no permutation can move; "
                         "every block needs at least 2 rows (or pass blocks=None).")
    return ids.astype(np.int64)
