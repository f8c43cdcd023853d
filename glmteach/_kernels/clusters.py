"""Cluster labelling and TFCE kernels on a masked voxel grid (arrays in, arrays out).

Voxels are the in-mask voxels in nilearn's order; the grid is given once per mask as
``neighbours`` (n_voxels, n_neighbours) int32, the in-mask neighbours of each voxel padded
with ``n_voxels``: a sentinel voxel whose ``side`` / ``level`` (arrays of n_voxels + 1) is
0, so it never joins a cluster. Clusters are found by union-find (union by size, path
halving) over only the voxels that need it.

Conventions follow nilearn (``nilearn/mass_univariate/_utils.py``):

- cluster-forming: ``t > threshold`` (and ``t < -threshold`` two-sided, labelled apart);
  mass = sum over the cluster of ``|t| - threshold``;
- TFCE: heights ``h_k = linspace(0, max, n_steps + 1)[1:]`` with ``max`` the map's max |t|
  (two-sided) or max(t, 0); a voxel with ``|t| >= h_k`` gains ``size ** E * h_k ** H`` from
  its cluster at that height (no ``dh`` factor, as fslmaths); negative clusters give
  negative values.
"""

import numpy as np
from numba import prange

from .._jit import jit, jit_parallel

FLIP_GROUP = 8  # flips whose t maps are computed in one pass over Y (Y stays in cache)
_VOXEL_BLOCK = 512


# ---------------------------------------------------------------- t maps
@jit
def t_maps(Y, sum_squares, signs, first, n_maps, t_out):
    """One-sample t maps of ``n_maps`` sign-flipped copies of ``Y``.

    Parameters
    ----------
    Y : ndarray, shape (n_subjects, n_voxels)
    sum_squares : ndarray, shape (n_voxels,)
        ``(Y ** 2).sum(0)``, unchanged by sign flips; 0 marks a constant voxel (its
        variance then comes out <= 0, so its t is 0 in every flip).
    signs : ndarray of int8, shape (n_flips, n_subjects)
    first, n_maps : int
        Flips ``first .. first + n_maps - 1`` are computed.
    t_out : ndarray, shape (>= n_maps, n_voxels)
        Receives the t maps (df = n_subjects - 1; 0 where the variance is 0).
    """
    n, n_voxels = Y.shape
    sums = np.empty(_VOXEL_BLOCK)  # a local buffer: lets LLVM vectorise the inner loop
    for v0 in range(0, n_voxels, _VOXEL_BLOCK):
        m = min(_VOXEL_BLOCK, n_voxels - v0)
        for q in range(n_maps):
            sums[:m] = 0.0
            for s in range(n):
                w = float(signs[first + q, s])
                y = Y[s, v0:v0 + m]
                for v in range(m):
                    sums[v] += w * y[v]
            row = t_out[q]
            for v in range(m):
                mean = sums[v] / n
                var = (sum_squares[v0 + v] - sums[v] * mean) / (n - 1)
                row[v0 + v] = mean / np.sqrt(var / n) if var > 0 else 0.0


# ---------------------------------------------------------------- union-find
@jit
def _find(parent, v):
    while parent[v] != v:
        parent[v] = parent[parent[v]]
        v = parent[v]
    return v


@jit
def _union(parent, size, v, j):
    """Merge the sets of ``v`` and ``j``, union by size: ``(root, absorbed root)``.

    ``absorbed`` is -1 when they were already one set.
    """
    a = _find(parent, v)
    b = _find(parent, j)
    if a == b:
        return a, -1
    if size[a] < size[b]:
        a, b = b, a
    parent[b] = a
    size[a] += size[b]
    return a, b


@jit
def _side(x, threshold, two_sided):
    """+1 above the threshold, -1 below -threshold (two-sided), else 0."""
    if x > threshold:
        return 1
    if two_sided and x < -threshold:
        return -1
    return 0


@jit
def _link_clusters(t, threshold, two_sided, neighbours, side, supra, parent, size, mass):
    """Label supra-threshold voxels; return how many. Roots hold cluster size and mass."""
    n_supra = 0
    side[t.size] = 0  # the padding voxel
    for v in range(t.size):
        s = _side(t[v], threshold, two_sided)
        side[v] = s
        if s != 0:
            supra[n_supra] = v
            n_supra += 1
            parent[v] = v
            size[v] = 1
            mass[v] = abs(t[v]) - threshold
    for i in range(n_supra):
        v = supra[i]
        for p in range(neighbours.shape[1]):
            j = neighbours[v, p]
            if j > v and side[j] == side[v]:
                a, b = _union(parent, size, v, j)
                if b >= 0:
                    mass[a] += mass[b]
    return n_supra


@jit
def label_clusters(t, threshold, two_sided, neighbours):
    """Cluster of each voxel: the index of its root voxel, -1 below the threshold.

    Returns
    -------
    roots : ndarray of int32, shape (n_voxels,)
    """
    n_voxels = t.size
    side = np.empty(n_voxels + 1, np.int8)
    supra = np.empty(n_voxels, np.int32)
    parent = np.empty(n_voxels, np.int32)
    size = np.empty(n_voxels, np.int64)
    mass = np.empty(n_voxels)
    n_supra = _link_clusters(t, threshold, two_sided, neighbours,
                             side, supra, parent, size, mass)
    roots = np.full(n_voxels, -1, np.int32)
    for i in range(n_supra):
        roots[supra[i]] = _find(parent, supra[i])
    return roots


@jit
def _max_cluster(t, threshold, two_sided, neighbours, side, supra, parent, size, mass):
    """Largest cluster size and largest cluster mass of one map (0, 0.0 if none)."""
    n_supra = _link_clusters(t, threshold, two_sided, neighbours,
                             side, supra, parent, size, mass)
    max_size, max_mass = 0, 0.0
    for i in range(n_supra):
        v = supra[i]
        if parent[v] == v:
            max_size = max(max_size, size[v])
            max_mass = max(max_mass, mass[v])
    return max_size, max_mass


# ---------------------------------------------------------------- TFCE
@jit
def _tfce_levels(t, two_sided, n_steps, H, level, order, heights, cum_weight):
    """Height index of every voxel and the voxels sorted by descending height.

    ``level[v]`` = sign * k with k the number of heights <= |t_v| (0: never in a cluster).
    ``order[:n_active]`` lists the voxels with k >= 1, highest k first.
    ``cum_weight[k] = sum_{j <= k} heights[j] ** H``. Returns ``n_active``.
    """
    level[t.size] = 0  # the padding voxel
    top = 0.0
    for v in range(t.size):
        x = abs(t[v]) if two_sided else t[v]
        top = max(top, x)
    if not top > 0:
        return 0
    step = top / n_steps  # the heights of np.linspace(0, top, n_steps + 1)
    heights[0] = 0.0
    cum_weight[0] = 0.0
    for k in range(1, n_steps + 1):
        heights[k] = k * step if k < n_steps else top
        cum_weight[k] = cum_weight[k - 1] + heights[k] ** H
    counts = np.zeros(n_steps + 1, np.int64)
    for v in range(t.size):
        x, sign = t[v], 1
        if x < 0:
            x, sign = -x, -1
        k = 0
        if x > 0 and (sign > 0 or two_sided):
            k = min(int(x / step), n_steps)
            while k < n_steps and heights[k + 1] <= x:
                k += 1
            while k > 0 and heights[k] > x:
                k -= 1
        level[v] = sign * k
        counts[k] += 1
    position = 0
    for k in range(n_steps, 0, -1):  # counts -> first slot of each height, highest first
        count = counts[k]
        counts[k] = position
        position += count
    for v in range(t.size):
        k = abs(level[v])
        if k > 0:
            order[counts[k]] = v
            counts[k] += 1
    return position


@jit
def _max_tfce(t, two_sided, extent_weight, H, n_steps, neighbours,
              level, order, parent, size, best, since, heights, cum_weight):
    """Max |TFCE| of one map in O(n_voxels) (independent of n_steps).

    Voxels join clusters from the highest height down. A root keeps ``best``, the largest
    TFCE so far among its voxels (all gain the same at every height, so the order among
    them never changes), and ``since``, the height from which its size has been constant;
    its gains are added lazily when it changes or at the end.
    ``extent_weight[s] = s ** E`` (a table: ``pow`` per union would dominate the cost).
    (The gain updates are written inline: a call passing these arrays costs more than them.)
    """
    n_active = _tfce_levels(t, two_sided, n_steps, H, level, order, heights, cum_weight)
    for v in range(t.size):  # in voxel order: sequential writes
        if level[v] != 0:
            parent[v] = v
            size[v] = 1
            best[v] = 0.0
            since[v] = abs(level[v])
    for i in range(n_active):
        v = order[i]
        sign = 1 if level[v] > 0 else -1
        k = sign * level[v]
        a = _find(parent, v)
        for p in range(neighbours.shape[1]):
            j = neighbours[v, p]
            if sign * level[j] < k:  # not (yet) in a cluster of v's sign at height k
                continue
            b = _find(parent, j)
            if a == b:
                continue
            for r in (a, b):  # add the gains of heights since[r] .. k + 1 (constant size)
                if since[r] > k:
                    best[r] += extent_weight[size[r]] * (cum_weight[since[r]] - cum_weight[k])
                    since[r] = k
            if size[a] < size[b]:
                a, b = b, a
            parent[b] = a
            size[a] += size[b]
            best[a] = max(best[a], best[b])
    result = 0.0
    for i in range(n_active):
        v = order[i]
        if parent[v] == v:
            best[v] += extent_weight[size[v]] * cum_weight[since[v]]
            result = max(result, best[v])
    return result


@jit
def tfce_map(t, two_sided, E, H, n_steps, neighbours):
    """TFCE value of every voxel (nilearn's ``calculate_tfce`` on a masked map).

    Returns
    -------
    tfce : ndarray, shape (n_voxels,)
        Positive for positive clusters, negative for negative ones (two-sided).
    """
    n_voxels = t.size
    level = np.empty(n_voxels + 1, np.int32)
    order = np.empty(n_voxels, np.int32)
    parent = np.empty(n_voxels, np.int32)
    size = np.empty(n_voxels, np.int64)
    heights = np.empty(n_steps + 1)
    cum_weight = np.empty(n_steps + 1)
    tfce = np.zeros(n_voxels)
    extent_weight = np.arange(n_voxels + 1).astype(np.float64) ** E
    n_active = _tfce_levels(t, two_sided, n_steps, H, level, order, heights, cum_weight)
    for i in range(n_active):
        parent[order[i]] = order[i]
        size[order[i]] = 1
    i = 0
    for k in range(n_steps, 0, -1):
        while i < n_active and abs(level[order[i]]) == k:
            v = order[i]
            sign = 1 if level[v] > 0 else -1
            for p in range(neighbours.shape[1]):
                j = neighbours[v, p]
                if sign * level[j] >= k:  # same sign, at height k or above
                    _union(parent, size, v, j)
            i += 1
        weight = heights[k] ** H
        for m in range(i):
            v = order[m]
            gain = extent_weight[size[_find(parent, v)]] * weight
            tfce[v] += gain if level[v] > 0 else -gain
    return tfce


# ---------------------------------------------------------------- the null
@jit_parallel
def null_chunk(Y, sum_squares, signs, start, stop, n_blocks, threshold, two_sided,
               do_tfce, extent_weight, H, n_steps, neighbours,
               max_size, max_mass, max_tfce):
    """Max cluster size, max cluster mass and max |TFCE| of flips ``start .. stop - 1``.

    Flips go to ``n_blocks`` threads in groups of ``FLIP_GROUP``; each thread owns its
    buffers. Results are written at the flips' indices of ``max_size`` (int64),
    ``max_mass`` and ``max_tfce`` (float64), shape (n_flips,). ``extent_weight`` is
    ``arange(n_voxels + 1) ** E``.
    """
    n_voxels = Y.shape[1]
    n_groups = (stop - start + FLIP_GROUP - 1) // FLIP_GROUP
    for b in prange(n_blocks):
        t_buf = np.empty((FLIP_GROUP, n_voxels))
        side = np.empty(n_voxels + 1, np.int8)
        order = np.empty(n_voxels, np.int32)
        parent = np.empty(n_voxels, np.int32)
        size = np.empty(n_voxels, np.int64)
        values = np.empty(n_voxels)  # cluster mass, or TFCE best so far
        level = np.empty(n_voxels + 1, np.int32)
        since = np.empty(n_voxels, np.int32)
        heights = np.empty(n_steps + 1)
        cum_weight = np.empty(n_steps + 1)
        for group in range(b, n_groups, n_blocks):
            first = start + group * FLIP_GROUP
            n_maps = min(FLIP_GROUP, stop - first)
            t_maps(Y, sum_squares, signs, first, n_maps, t_buf)
            for q in range(n_maps):
                t = t_buf[q]
                max_size[first + q], max_mass[first + q] = _max_cluster(
                    t, threshold, two_sided, neighbours, side, order, parent, size, values)
                if do_tfce:
                    max_tfce[first + q] = _max_tfce(
                        t, two_sided, extent_weight, H, n_steps, neighbours,
                        level, order, parent, size, values, since, heights, cum_weight)
