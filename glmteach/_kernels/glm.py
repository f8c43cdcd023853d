"""GLM permutation null: the largest contrast t over voxels for each rearrangement.

Everything is written in the orthonormal coordinates of :mod:`glmteach.glm_permutation`:
a voxel's residuals are a unit vector ``e`` (``m`` values), a rearrangement is a matrix
``A`` of ``r`` rows (the rearranged regressor of interest, then the rearranged nuisance
directions that the rearrangement moves), and with ``a = A[0] @ e``,
``b2 = sum_j (A[j] @ e) ** 2`` the refitted model's t is::

    t = a * sqrt(df / max(1 - a**2 - b2, FLOOR))

The kernels track ``q = a |a| / max(1 - a**2 - b2, FLOOR)`` (``a**2 / ...`` two-sided), which
is increasing in ``t`` (``|t|``): ``t = sign(q) sqrt(df |q|)``.

Speed and exactness: the projections ``A @ e`` of a tile of rearrangements and voxels are
one float32 matrix product (BLAS); :func:`screen_tile` turns them into an upper bound of
``q`` per segment of voxels (largest numerator over smallest denominator) that holds
whatever the rounding (``delta`` bounds the error of every float32 projection).
:func:`refine` then
recomputes ``q`` in float64 only in the segments whose bound reaches the largest exact
value found: the result is the float64 maximum, as if every voxel had been computed so.
"""

import numpy as np
from numba import prange

from .._jit import jit, jit_parallel
from .clusters import _max_cluster, _max_tfce
from .signflip import _max_bits


FLOOR = 1e-14  # relative residual variance below which t is capped (a perfect refit)
UNIT_ROUNDOFF32 = 2.0**-24


def projection_error(m):
    """Bound on ``|float32 (A @ e) - A @ e|`` for unit ``e`` and rows of norm <= 1.

    Rounding of both inputs to float32 and of the ``m``-term dot product in any order
    (``(m + 2) u``), doubled for margin.
    """
    return 2.0 * (m + 3) * UNIT_ROUNDOFF32


@jit
def screen_tile(P, w, r, two_sided, d32, one_minus, segment, out, first, work, pair):
    """Per segment of voxels, an upper bound of ``q`` for each rearrangement of a tile.

    The bound of a segment is its largest numerator over its smallest denominator
    (``1 - slack`` minus its largest explained share ``a**2 + b2``), each bounded for
    rounding voxel by voxel: one division per segment, not one per voxel (the division was
    the screen's slowest instruction). It is looser than the largest ratio, but rarely
    where it matters: on the lesson's data 1.17 segments of 64 voxels are refined per
    rearrangement instead of 1.0.

    Parameters
    ----------
    P : ndarray of float32, shape (n_tile * r, >= w)
        Projections: rows ``k r .. k r + r - 1`` are rearrangement ``k``'s ``A @ e``.
    w : int
        Voxels to screen: the first ``w`` columns of ``P``.
    r : int
    two_sided : bool
    d32, one_minus : float32
        :func:`projection_error` and :func:`one_minus_slack` (see :func:`screen`).
    segment : int
    out : ndarray of int32, shape (n_segments, >= n_tile)
        Receives the float32 bit patterns of the bounds (all >= 0) in rows ``first ..``
        (one row a segment: a tile writes a few consecutive values a row); view it as
        float32.
    first : int
    work : ndarray of float32, shape (3, >= w)
    pair : ndarray of int32, shape (2,)
        Scratch space (the caller's, reused from tile to tile).
    """
    b2, num, explained = work[0], work[1], work[2]
    # both are floats >= 0: their bit patterns order as the values do
    num_bits, explained_bits = num.view(np.int32), explained.view(np.int32)
    pair_values = pair.view(np.float32)
    for k in range(P.shape[0] // r):
        a = P[k * r]
        if r == 2:  # one or two nuisance rows: one pass (the common designs)
            _sides_one(a, P[k * r + 1], w, two_sided, d32, num, explained)
        elif r == 3:
            _sides_two(a, P[k * r + 1], P[k * r + 2], w, two_sided, d32, num, explained)
        else:
            b2[:w] = 0.0
            for j in range(1, r):
                row = P[k * r + j]
                for v in range(w):
                    b2[v] += row[v] * row[v]
            _sides(a, b2, w, two_sided, d32, num, explained)
        for s in range(-(-w // segment)):
            v0, v1 = s * segment, min((s + 1) * segment, w)
            pair[0] = _max_bits(num_bits[v0:v1], True)
            pair[1] = _max_bits(explained_bits[v0:v1], True)
            low = max(one_minus - pair_values[1], np.float32(FLOOR))
            pair_values[0] /= low
            out[first + s, k] = pair[0]


@jit
def one_minus_slack(r, delta):
    """``1 -`` every rounding slack of a bound's denominator, in float32, rounded down.

    The nuisance rows' rounding, ``2 delta sum|b| + (r - 1) delta**2`` with
    ``sum|b| <= sqrt(r - 1)`` (unit rows, unit ``e``), plus the float32 arithmetic's own.
    """
    slack = (8.0 * (r + 3) * UNIT_ROUNDOFF32
             + 2.0 * delta * (np.sqrt(r - 1.0) + (r - 1) * delta))
    return np.float32((1.0 - slack) * (1.0 - 1e-7))  # rounded down, whatever the mode


@jit
def _side_bounds(a, b2, two_sided, d32):
    """Upper bounds of ``q``'s numerator and of the share of ``e`` that the refitted model
    explains (``a**2 + b2``, so that ``1 - slack - explained`` bounds the denominator from
    below) from float32 projections ``a`` and ``b`` (``b2 = sum b**2``), each within
    ``d32`` of the exact value."""
    a_up = abs(a) + d32
    num = a_up * a_up
    explained = b2 + num
    if not two_sided:
        pos = max(a + d32, np.float32(0.0))
        num = pos * pos
    return num, explained


@jit
def _sides(a, b2, w, two_sided, d32, num, explained):
    for v in range(w):
        num[v], explained[v] = _side_bounds(a[v], b2[v], two_sided, d32)


@jit
def _sides_one(a, b, w, two_sided, d32, num, explained):
    for v in range(w):
        num[v], explained[v] = _side_bounds(a[v], b[v] * b[v], two_sided, d32)


@jit
def _sides_two(a, b, c, w, two_sided, d32, num, explained):
    for v in range(w):
        num[v], explained[v] = _side_bounds(a[v], b[v] * b[v] + c[v] * c[v], two_sided, d32)


@jit_parallel
def screen(A32, blocks, r, tile, two_sided, delta, segment, n_voxels, out):
    """The float32 screen of a chunk of rearrangements: products and bounds per block.

    Parameters
    ----------
    A32 : ndarray of float32, shape (n_chunk * r, m)
        The rearranged rows, rearrangement ``k`` in rows ``k r .. k r + r - 1``.
    blocks : ndarray of float32, shape (n_blocks, m, width)
        Unit residuals, ``width`` voxels per block (the last block padded with zeros);
        ``width`` is a multiple of ``segment``.
    r, tile : int
        Rows per rearrangement; rearrangements per matrix product.
    two_sided, segment :
        As :func:`screen_tile`.
    delta : float
        :func:`projection_error` of the residuals' dimension.
    n_voxels : int
        Real voxels (the padding gets no segment).
    out : ndarray of int32, shape (n_segments, n_chunk)
        :func:`screen_tile`'s bounds, every segment of every rearrangement.

    Each thread takes whole blocks; the products ``tile r x m`` by ``m x width`` are small
    enough for BLAS's small-matrix kernels (no packing) and stay in cache for the bounds.
    """
    n_chunk = A32.shape[0] // r
    width = blocks.shape[2]
    d32, one_minus = np.float32(delta), one_minus_slack(r, delta)
    for b in prange(blocks.shape[0]):
        buffer = np.empty((tile * r, width), np.float32)
        work = np.empty((3, width), np.float32)
        pair = np.empty(2, np.int32)
        E = blocks[b]
        first = b * (width // segment)
        n_seg = min(width // segment, -(-n_voxels // segment) - first)
        for k0 in range(0, n_chunk, tile):
            k1 = min(k0 + tile, n_chunk)
            P = buffer[: (k1 - k0) * r]
            np.dot(A32[k0 * r : k1 * r], E, P)
            screen_tile(P, min(n_seg * segment, n_voxels - first * segment), r, two_sided,
                        d32, one_minus, segment, out[:, k0:k1], first, work, pair)


@jit
def _segment_q(A, E, f, v0, v1, two_sided, acc):
    """Exact (float64) largest ``q`` of rearrangement ``f`` over voxels ``v0 .. v1 - 1``."""
    r, m = A.shape[1], A.shape[2]
    w = v1 - v0
    b2 = acc[r]
    b2[:w] = 0.0
    for j in range(r):
        row = acc[j]
        row[:w] = 0.0
        for i in range(m):
            coef = A[f, j, i]
            for v in range(w):
                row[v] += coef * E[i, v0 + v]
        if j > 0:
            for v in range(w):
                b2[v] += row[v] * row[v]
    best = -np.inf
    a = acc[0]
    for v in range(w):
        den = max(1.0 - a[v] * a[v] - b2[v], FLOOR)
        q = (a[v] * a[v] if two_sided else a[v] * abs(a[v])) / den
        best = q if q > best else best
    return best


@jit_parallel
def refine(A, E, screen, two_sided, segment, best):
    """Exact largest ``q`` per rearrangement from the screen of :func:`screen_tile`.

    Parameters
    ----------
    A : ndarray of float64, shape (n_chunk, r, m)
    E : ndarray of float64, shape (m, n_voxels)
        Unit residual vectors (columns), zero for voxels left out.
    screen : ndarray of float32, shape (n_segments, n_chunk)
        Bounds, segment-major as :func:`screen` writes them.
    two_sided : bool
    segment : int
    best : ndarray of float64, shape (n_chunk,)
        Filled in place.

    Per rearrangement, the segment with the largest bound is computed exactly, then every
    other segment whose bound reaches that value (a bound is float32 arithmetic: a
    relative 1e-5 covers its few roundings). The screen is read row by row, in the order it
    is stored, by groups of rearrangements (one group a thread).
    """
    n_segments, n_chunk = screen.shape
    group = 64
    for g in prange(-(-n_chunk // group)):
        f0, f1 = g * group, min((g + 1) * group, n_chunk)
        top = np.zeros(f1 - f0, np.int64)
        top_bound = screen[0, f0:f1].copy()
        for s in range(1, n_segments):
            row = screen[s]
            for f in range(f0, f1):
                if row[f] > top_bound[f - f0]:
                    top_bound[f - f0] = row[f]
                    top[f - f0] = s
        acc = np.empty((A.shape[1] + 1, segment))
        for f in range(f0, f1):
            best[f] = _segment_at(A, E, f, top[f - f0], segment, two_sided, acc)
        for s in range(n_segments):
            row = screen[s]
            for f in range(f0, f1):
                if s != top[f - f0] and np.float64(row[f]) * (1.0 + 1e-5) >= best[f]:
                    q = _segment_at(A, E, f, s, segment, two_sided, acc)
                    best[f] = q if q > best[f] else best[f]


@jit
def _segment_at(A, E, f, s, segment, two_sided, acc):
    return _segment_q(A, E, f, s * segment, min((s + 1) * segment, E.shape[1]), two_sided,
                      acc)


@jit
def q_to_t(q, df, out):
    """``t = sign(q) sqrt(df |q|)`` elementwise (1D)."""
    for k in range(q.shape[0]):
        out[k] = np.sign(q[k]) * np.sqrt(df * abs(q[k]))


# ---------------------------------------------------------------- t maps for cluster nulls
@jit
def t_map(A, E, f, df, acc, t):
    """Whole t map of rearrangement ``f`` (float64), written into ``t`` (n_voxels,)."""
    r, m = A.shape[1], A.shape[2]
    n_voxels = E.shape[1]
    b2 = acc[r]
    b2[:] = 0.0
    for j in range(r):
        row = acc[j]
        row[:] = 0.0
        for i in range(m):
            coef = A[f, j, i]
            for v in range(n_voxels):
                row[v] += coef * E[i, v]
        if j > 0:
            for v in range(n_voxels):
                b2[v] += row[v] * row[v]
    a = acc[0]
    for v in range(n_voxels):
        t[v] = a[v] * np.sqrt(df / max(1.0 - a[v] * a[v] - b2[v], FLOOR))


@jit_parallel
def cluster_null_chunk(A, E, df, start, n_blocks, threshold, two_sided, do_tfce,
                       extent_weight, H, n_steps, neighbours, max_size, max_mass, max_tfce):
    """Max cluster size, mass and |TFCE| of the rearrangements ``A`` (flips ``start ..``).

    ``A`` : (n_chunk, r, m) rearranged rows, ``E`` : (m, n_voxels) unit residuals; results
    go to ``max_size[start + f]`` etc. Conventions of :mod:`glmteach._kernels.clusters`.
    """
    n_voxels = E.shape[1]
    for b in prange(n_blocks):
        acc = np.empty((A.shape[1] + 1, n_voxels))
        t = np.empty(n_voxels)
        side = np.empty(n_voxels + 1, np.int8)
        order = np.empty(n_voxels, np.int32)
        parent = np.empty(n_voxels, np.int32)
        size = np.empty(n_voxels, np.int64)
        values = np.empty(n_voxels)
        level = np.empty(n_voxels + 1, np.int32)
        since = np.empty(n_voxels, np.int32)
        heights = np.empty(n_steps + 1)
        cum_weight = np.empty(n_steps + 1)
        for f in range(b, A.shape[0], n_blocks):
            t_map(A, E, f, df, acc, t)
            max_size[start + f], max_mass[start + f] = _max_cluster(
                t, threshold, two_sided, neighbours, side, order, parent, size, values)
            if do_tfce:
                max_tfce[start + f] = _max_tfce(
                    t, two_sided, extent_weight, H, n_steps, neighbours,
                    level, order, parent, size, values, since, heights, cum_weight)
