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
one float32 matrix product (BLAS, ~90% of the cores' peak); :func:`screen_tile` turns them,
in one vectorised pass, into an upper bound of ``q`` per segment of voxels (largest
numerator over smallest denominator) that holds whatever the rounding (``delta`` bounds
the error of every float32 projection). :func:`refine` then recomputes ``q`` in float64
only in the segments whose bound reaches the largest exact value found: the result is the
float64 maximum, as if every voxel had been computed so.
"""

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic

from .._jit import jit, jit_parallel
from .clusters import _max_cluster, _max_tfce


FLOOR = 1e-14  # relative residual variance below which t is capped (a perfect refit)
UNIT_ROUNDOFF32 = 2.0**-24


def projection_error(m):
    """Bound on ``|float32 (A @ e) - A @ e|`` for unit ``e`` and rows of norm <= 1.

    Rounding of both inputs to float32 and of the ``m``-term dot product in any order
    (``(m + 2) u``), doubled for margin.
    """
    return 2.0 * (m + 3) * UNIT_ROUNDOFF32


SEGMENT = 64  # voxels per screened bound (the float64 refinement unit); a constant, so
# that the screen's loops have a known trip count and vectorise


@intrinsic
def _bits(typingctx, x):
    """The IEEE bit pattern of a float32, as an int32 (no conversion)."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def _float(typingctx, x):
    """The float32 whose bit pattern is the low 32 bits of the integer ``x`` (inverse of
    :func:`_bits`)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = args[0]
        if x.bitwidth > 32:
            value = builder.trunc(value, ir.IntType(32))
        elif x.bitwidth < 32:
            value = builder.zext(value, ir.IntType(32))
        return builder.bitcast(value, ir.FloatType())

    return types.float32(x), codegen


@jit
def _side(a, two_sided):
    """Bits of the numerator's side of ``a``: ``|a|`` (two-sided) or ``max(a, 0)``, a
    float32 >= 0 whose bit pattern orders as its value."""
    if two_sided:
        return np.int32(_bits(a) & np.int32(0x7FFFFFFF))
    return _bits(max(a, np.float32(0.0)))


@jit
def screen_tile(P, n_tile, n_seg, r, two_sided, d32, one_minus, out, first, work):
    """Per segment of voxels, an upper bound of ``q`` for each rearrangement of a tile.

    The bound of a segment is its largest numerator over its smallest denominator
    (``1 - slack`` minus its largest explained share ``a**2 + b2``): one division per
    segment, not one per voxel (the division was the screen's slowest instruction). It is
    looser than the largest ratio, but rarely where it matters: on the lesson's data 1.17
    segments of 64 voxels are refined per rearrangement instead of 1.0. Both maxima are
    taken in one pass over the segment, on the float32 bit patterns (the values are >= 0:
    their integer order is their order, and integer maxima vectorise without fastmath).

    Parameters
    ----------
    P : ndarray of float32, shape (>= n_tile * r, >= n_seg, SEGMENT)
        Projections: rows ``k r .. k r + r - 1`` are rearrangement ``k``'s ``A @ e``, one
        segment of voxels per ``P[row, s]`` (voxels past the map's end are zero).
    n_tile, n_seg : int
        Rearrangements and segments to screen.
    r : int
    two_sided : bool
    d32, one_minus : float32
        :func:`projection_error` and :func:`one_minus_slack` (see :func:`screen`).
    out : ndarray of float32, shape (n_segments, >= n_tile)
        Receives the bounds (all >= 0) in rows ``first ..`` (one row a segment: a tile
        writes a few consecutive values a row).
    first : int
    work : ndarray of float32, shape (SEGMENT,)
        Scratch space (the caller's), used when ``r > 3``.
    """
    for k in range(n_tile):
        i = k * r
        for s in range(n_seg):
            top_a = np.int32(0)  # bits of max |a| (two-sided) or max(a, 0) (one-sided)
            top_e = np.int32(0)  # bits of the largest explained share a**2 + sum b**2
            if r == 1:
                for v in range(SEGMENT):
                    a = P[i, s, v]
                    top_a = max(top_a, _side(a, two_sided))
                    top_e = max(top_e, _bits(a * a))
            elif r == 2:
                for v in range(SEGMENT):
                    a, b = P[i, s, v], P[i + 1, s, v]
                    top_a = max(top_a, _side(a, two_sided))
                    top_e = max(top_e, _bits(a * a + b * b))
            elif r == 3:  # two moving nuisance directions: the covariate design
                for v in range(SEGMENT):
                    a, b, c = P[i, s, v], P[i + 1, s, v], P[i + 2, s, v]
                    top_a = max(top_a, _side(a, two_sided))
                    top_e = max(top_e, _bits(a * a + b * b + c * c))
            else:
                for v in range(SEGMENT):
                    a = P[i, s, v]
                    top_a = max(top_a, _side(a, two_sided))
                    work[v] = a * a
                for j in range(1, r):
                    for v in range(SEGMENT):
                        b = P[i + j, s, v]
                        work[v] += b * b
                for v in range(SEGMENT):
                    top_e = max(top_e, _bits(work[v]))
            num = _float(top_a) + d32
            low = max(one_minus - _float(top_e), np.float32(FLOOR))
            out[first + s, k] = num * num / low


@jit
def one_minus_slack(r, delta):
    """``1 -`` every rounding slack of a bound's denominator, in float32, rounded down.

    The explained share is computed from float32 projections ``x_j``, each within
    ``delta`` of its exact value, whose exact squares sum to at most 1 (orthonormal rows,
    unit ``e``): the exact share is at most the computed one plus
    ``2 delta sum|x_j| + r delta**2 <= 2 delta (sqrt(r) + r delta) + r delta**2``; plus
    the float32 arithmetic's own roundings.
    """
    slack = (8.0 * (r + 3) * UNIT_ROUNDOFF32
             + 2.0 * delta * (np.sqrt(1.0 * r) + r * delta) + r * delta * delta)
    return np.float32((1.0 - slack) * (1.0 - 1e-7))  # rounded down, whatever the mode


@jit_parallel
def screen(A32, blocks, r, tile, two_sided, delta, n_voxels, out):
    """The float32 screen of a chunk of rearrangements: products and bounds per block.

    Parameters
    ----------
    A32 : ndarray of float32, shape (n_chunk * r, m)
        The rearranged rows, rearrangement ``k`` in rows ``k r .. k r + r - 1``.
    blocks : ndarray of float32, shape (n_blocks, m, width)
        Unit residuals, ``width`` voxels per block (the last block padded with zeros);
        ``width`` is a multiple of :data:`SEGMENT`.
    r, tile : int
        Rows per rearrangement; rearrangements per matrix product.
    two_sided : bool
        As :func:`screen_tile`.
    delta : float
        :func:`projection_error` of the residuals' dimension.
    n_voxels : int
        Real voxels (the padding gets no segment).
    out : ndarray of float32, shape (n_segments, n_chunk)
        :func:`screen_tile`'s bounds, every segment of every rearrangement.

    Each thread takes whole blocks; the products ``tile r x m`` by ``m x width`` are small
    enough for BLAS's small-matrix kernels (no packing) and stay in cache for the bounds.
    """
    n_chunk = A32.shape[0] // r
    width = blocks.shape[2]
    per_block = width // SEGMENT
    d32, one_minus = np.float32(delta), one_minus_slack(r, delta)
    for b in prange(blocks.shape[0]):
        buffer = np.empty((tile * r, per_block, SEGMENT), np.float32)
        flat = buffer.reshape((tile * r, width))
        work = np.empty(SEGMENT, np.float32)
        E = blocks[b]
        first = b * per_block
        n_seg = min(per_block, -(-n_voxels // SEGMENT) - first)
        for k0 in range(0, n_chunk, tile):
            k1 = min(k0 + tile, n_chunk)
            np.dot(A32[k0 * r : k1 * r], E, flat[: (k1 - k0) * r])
            screen_tile(buffer, k1 - k0, n_seg, r, two_sided, d32, one_minus,
                        out[:, k0:k1], first, work)


@jit
def _segment_q(A, E, f, s, n_voxels, two_sided, acc):
    """Exact (float64) largest ``q`` of rearrangement ``f`` over segment ``s``'s voxels
    (those before ``n_voxels``: the last segment's padding is left out)."""
    r, m = A.shape[1], A.shape[2]
    b2 = acc[r]
    for v in range(SEGMENT):
        b2[v] = 0.0
    for j in range(r):
        row = acc[j]
        for v in range(SEGMENT):
            row[v] = 0.0
        for i in range(m):
            coef = A[f, j, i]
            for v in range(SEGMENT):
                row[v] += coef * E[i, s, v]
        if j > 0:
            for v in range(SEGMENT):
                b2[v] += row[v] * row[v]
    best = -np.inf
    a = acc[0]
    for v in range(min(SEGMENT, n_voxels - s * SEGMENT)):
        den = max(1.0 - a[v] * a[v] - b2[v], FLOOR)
        q = (a[v] * a[v] if two_sided else a[v] * abs(a[v])) / den
        best = q if q > best else best
    return best


@jit_parallel
def refine(A, E, screen, two_sided, n_voxels, best):
    """Exact largest ``q`` per rearrangement from the screen of :func:`screen_tile`.

    Parameters
    ----------
    A : ndarray of float64, shape (n_chunk, r, m)
    E : ndarray of float64, shape (m, >= n_segments, SEGMENT)
        Unit residual vectors, one segment of voxels per ``E[:, s]``; zero for voxels left
        out and for the padding after the last voxel.
    screen : ndarray of float32, shape (n_segments, n_chunk)
        Bounds, segment-major as :func:`screen` writes them.
    two_sided : bool
    n_voxels : int
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
        acc = np.empty((A.shape[1] + 1, SEGMENT))
        for f in range(f0, f1):
            best[f] = _segment_q(A, E, f, top[f - f0], n_voxels, two_sided, acc)
        for s in range(n_segments):
            row = screen[s]
            for f in range(f0, f1):
                if s != top[f - f0] and np.float64(row[f]) * (1.0 + 1e-5) >= best[f]:
                    q = _segment_q(A, E, f, s, n_voxels, two_sided, acc)
                    best[f] = q if q > best[f] else best[f]


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
