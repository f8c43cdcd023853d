"""Sign-flip null distribution of the maximum one-sample statistic over voxels.

Under a sign flip the sum of squares ``SS = sum_i y_i**2`` of a voxel does not change, only
the signed sum ``S = sum_i s_i y_i`` does, and ``t**2 = (n - 1) S**2 / (n SS - S**2)`` is
increasing in ``S**2 / SS``. So the kernels work on columns pre-scaled by ``1 / sqrt(SS)``
and track the largest ``|S|`` (two-sided) or ``S`` (one-sided) per flip; the caller turns
that into a t value once per flip.

Speed: subjects are split into groups of at most 8. For a block of voxels, a table holds the
partial signed sum of every sign pattern of each group (``2**k`` rows, built by doubling:
one add per entry). A flip is then one table row per group: ``S = T0[c0] + T1[c1]`` for
16 subjects, i.e. one add per voxel instead of 16 multiply-adds. Blocks of voxels are
independent (``prange``); each writes its own segments of ``out`` (no races).

Exactness: that scan runs in float32 (half the cache traffic, twice the SIMD width) and
gives, per flip and segment of voxels, a maximum within ``tol`` of the exact one (a
rounding bound, :func:`float32_tolerance`). :func:`refine_max` then recomputes in float64,
from the data, only the segments (a few hundred voxels) whose float32 maximum is within
``2 tol`` of the flip's largest; they always contain the exact maximiser, so the result is
the float64 maximum.
"""

import numpy as np
from numba import prange

from .._jit import jit, jit_parallel

MAX_GROUP = 8  # 2**8 table rows per group


def split_groups(n_subjects):
    """Group the subjects into runs of at most MAX_GROUP; returns (starts, sizes) int64."""
    n_groups = -(-n_subjects // MAX_GROUP)
    sizes = np.full(n_groups, n_subjects // n_groups, dtype=np.int64)
    sizes[: n_subjects % n_groups] += 1
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return starts, sizes


def pattern_codes(signs, starts, sizes):
    """Table row of each group for each flip: bit j set when the group's j-th sign is -1.

    Parameters
    ----------
    signs : ndarray of int8, shape (n_flips, n_subjects)

    Returns
    -------
    ndarray of int64, shape (n_groups, n_flips)
    """
    codes = np.empty((len(starts), signs.shape[0]), dtype=np.int64)
    for g, (start, size) in enumerate(zip(starts, sizes)):
        bits = (signs[:, start : start + size] < 0).astype(np.int64)
        codes[g] = bits @ (np.int64(1) << np.arange(size, dtype=np.int64))
    return codes


def float32_tolerance(n_subjects, n_groups):
    """Bound on ``|S_float32 - S_exact|`` for unit-norm columns (``|S| <= sqrt(n)``).

    Rounding of the n inputs, of the <= 2 * 8 table operations per group and of the group
    sums, each at most ``2**-24 * sqrt(n)``; doubled for margin.
    """
    n_ops = n_subjects + 2 * n_subjects + n_groups + 1
    return 2.0 * n_ops * np.sqrt(n_subjects) * 2.0**-24


@jit
def _build_table(Ys, start, size, v0, table):
    w = table.shape[1]
    for v in range(w):
        acc = Ys[start, v0 + v]
        for j in range(1, size):
            acc += Ys[start + j, v0 + v]
        table[0, v] = acc
    for j in range(size):
        half = 1 << j
        for c in range(half):
            for v in range(w):
                y = Ys[start + j, v0 + v]
                table[c + half, v] = table[c, v] - (y + y)


# The running maximum is taken on the IEEE bit patterns viewed as int32: for floats >= 0
# their order is the integer order, and ``bits ^ ((bits >> 31) & _LOW31)`` extends that to
# negative values (one-sided). Integer max reductions vectorise (SIMD) without fastmath,
# float ones do not; the result is bit-for-bit the float maximum.
_LOW31 = np.int32(0x7FFFFFFF)
_INT32_MIN = np.int32(-0x80000000)


@jit
def _max_bits(bits, two_sided):
    m = _INT32_MIN
    if two_sided:  # all values >= 0
        for v in range(bits.shape[0]):
            m = max(m, bits[v])
        return m
    for v in range(bits.shape[0]):
        x = bits[v]
        m = max(m, x ^ ((x >> 31) & _LOW31))
    return m ^ ((m >> 31) & _LOW31)


@jit
def _scan_block(tables, codes, two_sided, segment, out, first, buf):
    n_groups = tables.shape[0]
    w = buf.shape[0]
    buf_bits = buf.view(np.int32)
    for f in range(codes.shape[1]):
        row = tables[0, codes[0, f]]
        if n_groups == 1:
            buf[:] = row
        elif n_groups == 2 and two_sided:  # the common case, in one pass
            other = tables[1, codes[1, f]]
            for v in range(w):
                buf[v] = abs(row[v] + other[v])
        else:
            other = tables[1, codes[1, f]]
            for v in range(w):
                buf[v] = row[v] + other[v]
            for g in range(2, n_groups):
                other = tables[g, codes[g, f]]
                for v in range(w):
                    buf[v] += other[v]
        if two_sided and (n_groups != 2):
            for v in range(w):
                buf[v] = abs(buf[v])
        for k in range(-(-w // segment)):
            stop = min((k + 1) * segment, w)
            out[f, first + k] = _max_bits(buf_bits[k * segment : stop], two_sided)


@jit_parallel
def max_null_blocks(Ys32, starts, sizes, codes, two_sided, block, segment, out):
    """Per segment of voxels, the largest scaled signed sum of each flip (float32 screen).

    Parameters
    ----------
    Ys32 : ndarray of float32, shape (n_subjects, n_voxels)
        Columns scaled to unit sum of squares (constant voxels all zero).
    starts, sizes : ndarray of int64, shape (n_groups,)
    codes : ndarray of int64, shape (n_groups, n_chunk)
    two_sided : bool
        Largest ``|S|`` if True, else largest ``S``.
    block : int
        Voxels per block (one set of tables); a multiple of ``segment``.
    segment : int
        Voxels per screened maximum.
    out : ndarray of int32, shape (n_chunk, n_segments)
        Filled in place with the float32 bit patterns of the maxima (view it as float32);
        ``n_segments = ceil(n_voxels / segment)``.
    """
    for b in prange(-(-Ys32.shape[1] // block)):  # a tiny parallel body compiles fast
        _one_block(Ys32, starts, sizes, codes, two_sided, block, segment, out, b)


@jit
def _one_block(Ys32, starts, sizes, codes, two_sided, block, segment, out, b):
    v0 = b * block
    w = min(block, Ys32.shape[1] - v0)
    tables = np.empty((starts.shape[0], 1 << sizes.max(), w), dtype=np.float32)
    for g in range(starts.shape[0]):
        _build_table(Ys32, starts[g], sizes[g], v0, tables[g])
    _scan_block(tables, codes, two_sided, segment, out, b * (block // segment),
                np.empty(w, dtype=np.float32))


@jit_parallel
def refine_max(Ys, signs, screen, two_sided, segment, tol, best):
    """Exact (float64) maximum per flip from the float32 screen of :func:`max_null_blocks`.

    Parameters
    ----------
    Ys : ndarray of float64, shape (n_subjects, n_voxels)
        The same unit-norm columns in float64.
    signs : ndarray of int8, shape (n_chunk, n_subjects)
    screen : ndarray of float32, shape (n_chunk, n_segments)
    two_sided : bool
    segment : int
    tol : float
        :func:`float32_tolerance`.
    best : ndarray of float64, shape (n_chunk,)
        Filled in place with the largest ``|S|`` (or ``S``) over all voxels.
    """
    for f in prange(screen.shape[0]):
        best[f] = _refine_one(Ys, signs, screen, two_sided, segment, tol, f)


@jit
def _refine_one(Ys, signs, screen, two_sided, segment, tol, f):
    """Exact maximum of flip ``f`` over the segments that may hold it."""
    n_subjects, n_voxels = Ys.shape
    top = -np.inf
    for b in range(screen.shape[1]):
        top = max(top, np.float64(screen[f, b]))
    acc = np.empty(segment)
    m = -np.inf
    for b in range(screen.shape[1]):
        if np.float64(screen[f, b]) < top - 2.0 * tol:
            continue
        v0 = b * segment
        w = min(segment, n_voxels - v0)
        acc[:w] = 0.0
        for i in range(n_subjects):
            sign = np.float64(signs[f, i])
            for v in range(w):
                acc[v] += sign * Ys[i, v0 + v]
        for v in range(w):
            x = abs(acc[v]) if two_sided else acc[v]
            m = x if x > m else m
    return m
