"""Kernels of the null-world lab: smooth noise, its smoothness, and float32 max-t nulls.

The lab runs hundreds of simulated studies. The kernels are serial and release the GIL
(``nogil``): the caller runs one study per thread, which keeps both cores busy without a
thread barrier per kernel (costly on a shared, oversubscribed machine and for small
masks). They work on float32 volumes cropped to the mask's bounding box:

- :func:`smooth_valid`: separable Gaussian smoothing as a "valid" convolution (the input is
  padded by the kernel radius, so the output is exactly stationary noise, no edge effects);
- :func:`roughness_sums`: the residual sums behind random field theory's smoothness
  estimate (the same estimator as :func:`glmteach.corrections.random_field`);
- :func:`max_null_f32`: the sign-flip max-statistic null of
  :mod:`glmteach._kernels.signflip` with float32 tables (half the memory traffic; the
  null world only needs each experiment's p-values, not bit-identity with
  ``permutation_test``).
"""

import numpy as np
from .._jit import jit
from .clusters import _union
from .signflip import _build_table


@jit
def smooth_valid(noise, w0, w1, w2, out):
    """Separable 3D convolution keeping only fully covered output voxels.

    Parameters
    ----------
    noise : ndarray of float32, shape (n, X + 2 r0, Y + 2 r1, Z + 2 r2)
    w0, w1, w2 : ndarray of float32, shape (2 r + 1,)
        1D kernels along each axis.
    out : ndarray of float32, shape (n, X, Y, Z)
    """
    n, nx, ny, nz = out.shape
    py, pz = noise.shape[2], noise.shape[3]
    tmp0 = np.empty((nx, py, pz), np.float32)
    tmp1 = np.empty((nx, ny, pz), np.float32)
    for i in range(n):
        a = noise[i]
        tmp0[:] = 0.0
        for x in range(nx):
            for k in range(w0.size):
                w = w0[k]
                for y in range(py):
                    src, dst = a[x + k, y], tmp0[x, y]
                    for z in range(pz):
                        dst[z] += w * src[z]
        tmp1[:] = 0.0
        for x in range(nx):
            for y in range(ny):
                dst = tmp1[x, y]
                for k in range(w1.size):
                    w, src = w1[k], tmp0[x, y + k]
                    for z in range(pz):
                        dst[z] += w * src[z]
        for x in range(nx):
            for y in range(ny):
                dst, src = out[i, x, y], tmp1[x, y]
                dst[:] = 0.0
                for k in range(w2.size):
                    w = w2[k]
                    for z in range(nz):
                        dst[z] += w * src[z + k]


@jit
def scatter_noise(values, index, out):
    """``out[i, index] = values[i]`` for every subject ``i``; out shape (n, n_flat)."""
    for i in range(values.shape[0]):
        for j in range(index.shape[0]):
            out[i, index[j]] = values[i, j]


@jit
def unit_columns_t(volumes, index, Ys, t):
    """In-mask columns scaled to unit sum of squares, and the one-sample t per voxel.

    Parameters
    ----------
    volumes : ndarray of float32, shape (n, X * Y * Z)
        Flattened volumes.
    index : ndarray of int64, shape (n_voxels,)
        Flat indices of the mask voxels (nilearn order).
    Ys : ndarray of float32, shape (n, n_voxels)
        Receives ``y / sqrt(sum(y ** 2))`` (zeros for an all-zero column).
    t : ndarray of float64, shape (n_voxels,)
        Receives ``mean / (sd / sqrt(n))`` (0 where the variance is 0).
    """
    n = volumes.shape[0]
    y = np.empty(n)
    for v in range(index.shape[0]):
        mean = 0.0
        for i in range(n):
            y[i] = volumes[i, index[v]]
            mean += y[i]
        mean /= n
        ss = 0.0
        sq = 0.0
        for i in range(n):
            ss += (y[i] - mean) ** 2
            sq += y[i] * y[i]
        t[v] = mean / np.sqrt(ss / (n - 1) / n) if ss > 0.0 else 0.0
        scale = 1.0 / np.sqrt(sq) if sq > 0.0 else 0.0
        for i in range(n):
            Ys[i, v] = y[i] * scale


@jit
def roughness_sums(field, mask):
    """Per axis, the sum over neighbour pairs of ``sum_i (u_i(a) - u_i(b)) ** 2``.

    ``u`` are the normalised residuals of a one-sample model (each voxel's residuals
    ``y - mean`` scaled to unit sum of squares), as in SPM's ``spm_est_smoothness`` and
    :func:`glmteach.corrections.random_field`. With unit-norm ``u`` that sum is
    ``2 - 2 rho(a, b)``, ``rho`` the correlation over subjects, which needs only per-voxel
    means and sums of squares and per-pair cross products: loops over the contiguous last
    axis, with float64 accumulators. Voxels with zero variance are left out.

    Parameters
    ----------
    field : ndarray of float32, shape (n, X, Y, Z)
    mask : ndarray of bool, shape (X, Y, Z)

    Returns
    -------
    sums : ndarray of float64, shape (3,)
    pairs : ndarray of int64, shape (3,)
        Number of neighbour pairs (both in the mask, both with variance) per axis.
    """
    n, nx, ny, nz = field.shape
    mean = np.zeros((nx, ny, nz))
    ss = np.zeros((nx, ny, nz))
    for x in range(nx):
        for y in range(ny):
            m, q = mean[x, y], ss[x, y]
            for i in range(n):
                row = field[i, x, y]
                for z in range(nz):
                    v = np.float64(row[z])
                    m[z] += v
                    q[z] += v * v
            for z in range(nz):
                m[z] /= n
                q[z] -= n * m[z] * m[z]
    partial = np.zeros((nx, 3))
    count = np.zeros((nx, 3), np.int64)
    for x in range(nx):
        cross = np.zeros((3, nz))
        x2 = min(x + 1, nx - 1)
        for y in range(ny):
            y2 = min(y + 1, ny - 1)
            cross[:] = 0.0
            for i in range(n):
                a, bx, by = field[i, x, y], field[i, x2, y], field[i, x, y2]
                for z in range(nz):
                    va = np.float64(a[z])
                    cross[0, z] += va * bx[z]
                    cross[1, z] += va * by[z]
                for z in range(nz - 1):
                    cross[2, z] += np.float64(a[z]) * a[z + 1]
            for z in range(nz):
                if not mask[x, y, z] or ss[x, y, z] <= 0.0:
                    continue
                if x + 1 < nx:
                    _pair(mask, mean, ss, cross[0, z], n, x, y, z, x + 1, y, z,
                          partial[x], count[x], 0)
                if y + 1 < ny:
                    _pair(mask, mean, ss, cross[1, z], n, x, y, z, x, y + 1, z,
                          partial[x], count[x], 1)
                if z + 1 < nz:
                    _pair(mask, mean, ss, cross[2, z], n, x, y, z, x, y, z + 1,
                          partial[x], count[x], 2)
    return partial.sum(axis=0), count.sum(axis=0)


@jit
def _pair(mask, mean, ss, cross, n, x, y, z, xb, yb, zb, partial, count, axis):
    if mask[xb, yb, zb] and ss[xb, yb, zb] > 0.0:
        cov = cross - n * mean[x, y, z] * mean[xb, yb, zb]
        partial[axis] += 2.0 - 2.0 * cov / np.sqrt(ss[x, y, z] * ss[xb, yb, zb])
        count[axis] += 1


@jit
def _max_key(a, b, two_sided, buf):
    """Largest ``|a + b|`` (or ``a + b``) as a sortable int32 key (see :func:`decode_keys`).

    Non-negative IEEE floats order like their bit patterns read as integers, and integer
    max reductions vectorise (float ones do not without fastmath, because of NaN rules).
    """
    w = a.shape[0]
    if two_sided:
        for v in range(w):
            buf[v] = abs(a[v] + b[v])
    else:
        for v in range(w):
            buf[v] = a[v] + b[v]
    bits = buf.view(np.int32)
    m = np.int32(-2147483648)
    if two_sided:
        for v in range(w):
            x = bits[v]
            m = x if x > m else m
    else:
        for v in range(w):
            x = bits[v] ^ ((bits[v] >> 31) & 0x7FFFFFFF)  # negatives: reverse their order
            m = x if x > m else m
    return m


def decode_keys(keys):
    """float32 values of sortable int32 keys (the transform is its own inverse)."""
    keys = np.asarray(keys, dtype=np.int32)
    return (keys ^ ((keys >> 31) & 0x7FFFFFFF)).view(np.float32)


@jit
def max_null_f32(Ys, starts, sizes, codes, two_sided, block, out):
    """Per voxel block, the largest scaled signed sum of each flip (float32 tables).

    Same contract as :func:`glmteach._kernels.signflip.max_null_blocks` with ``Ys``
    float32, except that ``out`` receives sortable int32 keys (:func:`decode_keys`).

    Parameters
    ----------
    Ys : ndarray of float32, shape (n_subjects, n_voxels)
        Columns scaled to unit sum of squares.
    starts, sizes : ndarray of int64, shape (n_groups,)
    codes : ndarray of int64, shape (n_groups, n_flips)
    two_sided : bool
    block : int
    out : ndarray of int32, shape (n_blocks, n_flips)
    """
    n_voxels = Ys.shape[1]
    n_groups = starts.shape[0]
    n_rows = 1 << sizes.max()
    for b in range(out.shape[0]):
        v0 = b * block
        w = min(block, n_voxels - v0)
        tables = np.empty((n_groups, n_rows, w), np.float32)
        for g in range(n_groups):
            _build_table(Ys, starts[g], sizes[g], v0, tables[g])  # float32 here
        buf = np.empty(w, np.float32)
        first = np.zeros(w, np.float32)
        for f in range(codes.shape[1]):
            if n_groups == 1:
                out[b, f] = _max_key(tables[0, codes[0, f]], first, two_sided, buf)
                continue
            if n_groups > 2:
                first[:] = tables[0, codes[0, f]]
                for g in range(1, n_groups - 1):
                    first += tables[g, codes[g, f]]
                a = first
            else:
                a = tables[0, codes[0, f]]
            last = tables[n_groups - 1, codes[n_groups - 1, f]]
            out[b, f] = _max_key(a, last, two_sided, buf)


# ---------------------------------------------------------------- cluster-size null
@jit
def _supra_bits(tables, codes, f, s_threshold, two_sided, n_groups, acc, pos, neg, word0):
    """Signed sums of flip ``f`` on one block -> bit words of ``s > thr`` / ``s < -thr``."""
    acc[:] = tables[0, codes[0, f]]
    for g in range(1, n_groups):
        acc += tables[g, codes[g, f]]
    w = acc.shape[0]
    for k in range(0, w, 64):
        word_p = np.uint64(0)
        word_n = np.uint64(0)
        for bit in range(min(64, w - k)):
            x = acc[k + bit]
            if x > s_threshold:
                word_p |= np.uint64(1) << np.uint64(bit)
            elif two_sided and x < -s_threshold:
                word_n |= np.uint64(1) << np.uint64(bit)
        pos[f, word0 + k // 64] = word_p
        neg[f, word0 + k // 64] = word_n


@jit
def _largest_cluster(plane, f, neighbours, n_voxels, parent, size, supra):
    """Largest cluster of the voxels whose bit is set in ``plane[f]`` (union-find)."""
    n_supra = 0
    for wi in range(plane.shape[1]):
        word = plane[f, wi]
        if word == 0:
            continue
        for bit in range(64):
            if (word >> np.uint64(bit)) & np.uint64(1):
                v = wi * 64 + bit
                supra[n_supra] = v
                parent[v] = v
                size[v] = 1
                n_supra += 1
    best = 1 if n_supra > 0 else 0
    for i in range(n_supra):
        v = supra[i]
        for p in range(neighbours.shape[1]):
            j = neighbours[v, p]
            if j <= v or j >= n_voxels:
                continue
            if (plane[f, j >> 6] >> np.uint64(j & 63)) & np.uint64(1):
                a, b = _union(parent, size, v, j)
                if b >= 0 and size[a] > best:
                    best = size[a]
    return best


@jit
def cluster_null_f32(Ys, starts, sizes, codes, s_threshold, two_sided, block, neighbours,
                     out):
    """Largest cluster size of every sign flip, from float32 tables of signed sums.

    A voxel is in a cluster when its signed sum ``s = sum_i e_i y_i`` (columns of unit
    sum of squares) passes ``s_threshold``: ``t > u`` is ``s > u sqrt(n / (n - 1 + u**2))``
    (and the same below ``-s_threshold``, two-sided, labelled apart). Per voxel block
    (``block`` a multiple of 64) the tables of :mod:`glmteach._kernels.signflip` give every
    flip's sums with one add per voxel; the above-threshold voxels are kept as bits, then
    each flip's clusters are joined by union-find over those voxels only.

    Parameters
    ----------
    Ys : ndarray of float32, shape (n_subjects, n_voxels)
    starts, sizes : ndarray of int64, shape (n_groups,)
    codes : ndarray of int64, shape (n_groups, n_flips)
    s_threshold : float32
    two_sided : bool
    block : int
    neighbours : ndarray of int32, shape (n_voxels, n_neighbours)
        In-mask neighbours, padded with ``n_voxels``.
    out : ndarray of int32, shape (n_flips,)
        Receives the largest cluster size (voxels) of each flip (0: no cluster).
    """
    n_voxels = Ys.shape[1]
    n_groups = starts.shape[0]
    n_flips = codes.shape[1]
    n_words = (n_voxels + 63) // 64
    pos = np.zeros((n_flips, n_words), np.uint64)
    neg = np.zeros((n_flips, n_words), np.uint64)
    n_rows = 1 << sizes.max()
    tables = np.empty((n_groups, n_rows, block), np.float32)
    acc = np.empty(block, np.float32)
    for v0 in range(0, n_voxels, block):
        w = min(block, n_voxels - v0)
        view = tables[:, :, :w]
        for g in range(n_groups):
            _build_table(Ys, starts[g], sizes[g], v0, view[g])
        for f in range(n_flips):
            _supra_bits(view, codes, f, s_threshold, two_sided, n_groups, acc[:w], pos, neg,
                        v0 // 64)
    parent = np.empty(n_voxels, np.int32)
    size = np.empty(n_voxels, np.int64)
    supra = np.empty(n_voxels, np.int32)
    for f in range(n_flips):
        best = _largest_cluster(pos, f, neighbours, n_voxels, parent, size, supra)
        if two_sided:
            best = max(best, _largest_cluster(neg, f, neighbours, n_voxels, parent, size,
                                              supra))
        out[f] = best
