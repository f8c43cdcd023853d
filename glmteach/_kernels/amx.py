"""The GLM screen's matrix products on Intel AMX tiles (bfloat16), where the CPU has them.

:func:`glmteach._kernels.glm.screen` multiplies rearranged rows by unit residuals in
float32 on the vector units. Recent Intel Xeons (Sapphire Rapids and later) also have AMX:
eight 1 KB tile registers and an instruction (``TDPBF16PS``) that multiplies a 16 x 32
bfloat16 tile by a 32 x 16 one into 16 x 16 float32 sums, up to 16 times the float32
rate (on this project's 2-core Sapphire Rapids machine, ``benchmarks/bench_glm.py``'s
covariate design takes 0.39 s instead of 0.60 s).
:func:`screen` here does the same screen with those products: bfloat16 keeps 8 significant
bits, so each projection is off by up to :func:`projection_error` (~0.006 on the lesson's
data, instead of ~4e-6) and the bounds are looser (about 2.1 segments of 64 voxels are
refined per rearrangement instead of 1.2), but they remain upper bounds, and the float64
refinement gives the same maximum, bit for bit, as the float32 screen.

:func:`available` says whether this path may run: x86-64 Linux, a CPU that LLVM (numba's
compiler) reports with ``amx-tile`` and ``amx-bf16``, numba compiling for this CPU, the
operating system granting the process the tile state (``arch_prctl``), at most 32
residual dimensions (one tile of 32 bfloat16), and ``GLMTEACH_AMX`` not set to ``0``.
Nothing here is compiled unless it is: LLVM stops the process when asked for AMX
instructions on a CPU without them.
"""

import ctypes
import functools
import os
import platform
import sys

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .._jit import jit, jit_parallel
from .glm import SEGMENT, _bits, _float, one_minus_slack, screen_tile

K = 32  # bfloat16 values per tile row: the largest residual dimension on this path
TILE = 16  # rows of a tile (rearranged rows, or pairs of residual dimensions)
_ARCH_REQ_XCOMP_PERM, _XFEATURE_XTILEDATA, _SYS_ARCH_PRCTL = 0x1023, 18, 158


@functools.lru_cache(maxsize=None)
def available(m=K):
    """True if :func:`screen` may run here for residuals of dimension ``m`` (decided once
    per process, at the first call: set ``GLMTEACH_AMX=0`` before it to use float32)."""
    if m > K or os.environ.get("GLMTEACH_AMX", "").strip() == "0":
        return False
    if sys.platform != "linux" or platform.machine() != "x86_64":
        return False
    try:
        import llvmlite.binding as llvm
        import numba

        if numba.config.CPU_NAME or numba.config.CPU_FEATURES or numba.config.DISABLE_JIT:
            return False  # compiling for another CPU (a portable cache), or not compiling
        features = llvm.get_host_cpu_features()
        if not (features.get("amx-tile") and features.get("amx-bf16")):
            return False
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syscall(_SYS_ARCH_PRCTL, _ARCH_REQ_XCOMP_PERM, _XFEATURE_XTILEDATA) == 0
    except (OSError, AttributeError, RuntimeError):
        return False


def projection_error(row_error, row_norm, voxel_error, voxel_norm):
    """Bound on ``|(A @ e) computed on the tiles - A @ e|`` for every row and voxel.

    With ``A'``, ``e'`` the bfloat16 values, ``A' e' - A e = (A' - A) e' + A (e' - e)``:
    at most ``row_error voxel_norm + row_norm voxel_error`` (largest norms of the rows'
    and voxels' rounding errors and of the rows and rounded voxels, measured by
    :func:`row_tiles` and :func:`residual_tiles`, not assumed: 0.0059 on the lesson's
    data, three quarters of the worst case ``2 * 2**-8``). The tile sums the 32 exact products in float32 (``34 u`` of
    ``row_norm voxel_norm`` more) and flushes values below 2**-126 to zero; 5% added for
    margin.
    """
    rounding = row_error * voxel_norm + row_norm * voxel_error
    summing = 34 * 2.0**-24 * (row_norm + row_error) * voxel_norm
    return 1.05 * (rounding + summing) + 2.0**-100


def to_bf16(x):
    """float array -> bfloat16 bit patterns (uint16), rounded to nearest even (through
    float32: 8 significant bits, a relative error of at most 2**-8)."""
    out = np.empty(np.shape(x), np.uint16)
    _round_all(np.ascontiguousarray(x, np.float64).ravel(), out.ravel())
    return out


def from_bf16(bits):
    """bfloat16 bit patterns -> float64 values (exact)."""
    return (np.asarray(bits, np.uint16).astype(np.uint32) << 16).view(np.float32).astype(
        np.float64)


def residual_tiles(E, block):
    """Unit residuals ``E`` (m <= 32, n_pad), n_pad a multiple of ``block``, as bfloat16
    tiles: shape (n_blocks, block // 16, 16, 32), tile ``[b, t]`` holding voxels
    ``b block + 16 t ..`` with row ``kk`` = dimensions ``2 kk, 2 kk + 1`` of each voxel in
    turn (the pair layout TDPBF16PS reads). Also returns the largest norm of a voxel's
    rounding error and of a rounded voxel (:func:`projection_error`)."""
    m, n_pad = E.shape
    tiles = np.zeros((n_pad // block, block // TILE, TILE, 2 * TILE), np.uint16)
    error2, norm2 = np.zeros(n_pad), np.zeros(n_pad)
    _fill_residual_tiles(np.ascontiguousarray(E, np.float64), tiles, error2, norm2)
    return tiles, float(np.sqrt(error2.max())), float(np.sqrt(norm2.max()))


def row_tiles(A):
    """Rearranged rows ``A`` (n_chunk, r, m) as bfloat16, shape
    (ceil(n_chunk / 16) 16 r, 32): zero rows complete the last group of 16 rearrangements,
    zero columns the 32. Also returns the largest norm of a row's rounding error and of
    a row (:func:`projection_error`)."""
    n_chunk, r, m = A.shape
    rows = np.zeros((-(-n_chunk // TILE) * TILE * r, K), np.uint16)
    error2, norm2 = _fill_row_tiles(np.ascontiguousarray(A, np.float64).reshape(-1, m), rows)
    return rows, float(np.sqrt(error2)), float(np.sqrt(norm2))


@jit
def _round(x):
    """float64 ``x`` -> (bfloat16 bits, their value): through float32, to nearest even."""
    bits = np.int64(_bits(np.float32(x))) & 0xFFFFFFFF
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) & 0xFFFF
    return np.uint16(rounded), np.float64(_float(rounded << 16))


@jit
def _round_all(x, out):
    for i in range(x.shape[0]):
        out[i] = _round(x[i])[0]


@jit
def _fill_residual_tiles(E, tiles, error2, norm2):
    """:func:`residual_tiles` in one pass: tiles, and per voxel the squared norms of its
    rounding error and of its rounded values."""
    block = tiles.shape[1] * TILE
    for k in range(E.shape[0]):
        kk, pair = k // 2, k % 2
        for v in range(E.shape[1]):
            bits, value = _round(E[k, v])
            rest = v % block
            tiles[v // block, rest // TILE, kk, 2 * (rest % TILE) + pair] = bits
            error2[v] += (value - E[k, v]) ** 2
            norm2[v] += value * value


@jit
def _fill_row_tiles(A, rows):
    """:func:`row_tiles`' values; returns the largest squared norms of a row's rounding
    error and of an (exact) row."""
    error2, norm2 = 0.0, 0.0
    for i in range(A.shape[0]):
        e2, n2 = 0.0, 0.0
        for k in range(A.shape[1]):
            bits, value = _round(A[i, k])
            rows[i, k] = bits
            e2 += (value - A[i, k]) ** 2
            n2 += A[i, k] ** 2
        error2, norm2 = max(error2, e2), max(norm2, n2)
    return error2, norm2


def tile_config():
    """The 64-byte tile configuration: palette 1, tiles 0..7 of 16 rows x 64 bytes.

    Only where :func:`available` (which asks the OS for the tile state: without it the
    first tile instruction kills the process with SIGILL); RuntimeError otherwise.
    """
    if not available():
        raise RuntimeError("AMX tiles are not available here; use the float32 screen "
                           "(glmteach._kernels.glm.screen).")
    config = np.zeros(64, np.uint8)
    config[0] = 1
    config[16:32].view(np.uint16)[:8] = 2 * K
    config[48:56] = TILE
    return config


# -------------------------------------------------------------- tile instructions (numba)
_I8, _I64 = ir.IntType(8), ir.IntType(64)
_PTR = ir.IntType(8).as_pointer()


def _call(builder, name, argtypes, args):
    function = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), argtypes), name)
    builder.call(function, args)


def _address(context, builder, array_type, array, offset):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.bitcast(builder.gep(data, [offset]), _PTR)


@intrinsic
def _configure(typingctx, config):
    """Load the tile configuration (``config``: uint8, 64 bytes) for this thread."""
    def codegen(context, builder, signature, args):
        _call(builder, "llvm.x86.ldtilecfg", [_PTR],
              [_address(context, builder, signature.args[0], args[0], _I64(0))])
        return context.get_dummy_value()
    return types.void(config), codegen


@intrinsic
def _release(typingctx):
    """Give the tile state back (this thread's tiles are zeroed)."""
    def codegen(context, builder, signature, args):
        _call(builder, "llvm.x86.tilerelease", [], [])
        return context.get_dummy_value()
    return types.void(), codegen


def _tile_loader(tile):
    """An intrinsic ``load(array, offset)``: tile ``tile`` <- 16 rows of 64 bytes from
    element ``offset`` of ``array`` (rows 64 bytes apart)."""
    @intrinsic
    def load(typingctx, array, offset):
        def codegen(context, builder, signature, args):
            _call(builder, "llvm.x86.tileloadd64", [_I8, _PTR, _I64],
                  [_I8(tile), _address(context, builder, signature.args[0], args[0], args[1]),
                   _I64(2 * K)])
            return context.get_dummy_value()
        return types.void(array, types.int64), codegen
    return load


_load_rows = _tile_loader(4)  # 16 rearranged rows of 32 bfloat16 (uint16 bit patterns)
_load_voxels = _tile_loader(5)  # one residual tile (16 pairs of dimensions x 16 voxels)


@intrinsic
def _product(typingctx, out, offset, stride):
    """``out`` (float32) from element ``offset``, rows ``stride`` bytes apart <- tile 4 @
    tile 5 (16 x 16 float32 sums of 32 bfloat16 products)."""
    def codegen(context, builder, signature, args):
        _call(builder, "llvm.x86.tilezero", [_I8], [_I8(0)])
        _call(builder, "llvm.x86.tdpbf16ps", [_I8, _I8, _I8], [_I8(0), _I8(4), _I8(5)])
        _call(builder, "llvm.x86.tilestored64", [_I8, _PTR, _I64],
              [_I8(0), _address(context, builder, signature.args[0], args[0], args[1]),
               args[2]])
        return context.get_dummy_value()
    return types.void(out, types.int64, types.int64), codegen


@jit_parallel
def screen(config, rows, tiles, r, two_sided, delta, n_voxels, out):
    """:func:`glmteach._kernels.glm.screen` with the products on AMX tiles.

    Parameters
    ----------
    config : ndarray of uint8, shape (64,)
        :func:`tile_config`.
    rows : ndarray of uint16, shape (>= ceil(n_chunk / 16) 16 r, 32)
        :func:`row_tiles` of the chunk's rearranged rows.
    tiles : ndarray of uint16, shape (n_blocks, width // 16, 16, 32)
        :func:`residual_tiles`; ``width`` is a multiple of :data:`SEGMENT`.
    r, two_sided, n_voxels, out :
        As :func:`glmteach._kernels.glm.screen`.
    delta : float
        :func:`projection_error`.

    Each thread takes whole blocks of voxels and, per group of 16 rearrangements, fills a
    (16 r, width) float32 buffer tile by tile, then bounds it with
    :func:`~glmteach._kernels.glm.screen_tile`.
    """
    n_chunk = out.shape[1]
    n_tiles = tiles.shape[1]
    width = n_tiles * TILE
    per_block = width // SEGMENT
    tile_size = TILE * K  # uint16 values per residual tile
    d32, one_minus = np.float32(delta), one_minus_slack(r, delta)
    for b in prange(tiles.shape[0]):
        buffer = np.empty((TILE * r, per_block, SEGMENT), np.float32)
        work = np.empty(SEGMENT, np.float32)
        first = b * per_block
        n_seg = min(per_block, -(-n_voxels // SEGMENT) - first)
        _configure(config)
        for k0 in range(0, n_chunk, TILE):
            for j in range(r):
                _load_rows(rows, (k0 * r + TILE * j) * K)
                for t in range(n_tiles):
                    _load_voxels(tiles, (b * n_tiles + t) * tile_size)
                    _product(buffer, TILE * j * width + TILE * t, 4 * width)
            screen_tile(buffer, min(TILE, n_chunk - k0), n_seg, r, two_sided, d32,
                        one_minus, out[:, k0:], first, work)
        _release()
