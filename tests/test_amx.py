"""The AMX (bfloat16 tile) screen: when it may run, its rounding and layouts against NumPy,
and the GLM permutation null bit for bit equal to the float32 screen's."""

import numpy as np
import pytest

import glmteach as gt
from glmteach._kernels import amx

needs_amx = pytest.mark.skipif(not amx.available(),
                               reason="this CPU (or its OS) offers no AMX tiles")


def test_availability_follows_the_switch_the_size_and_the_cpu_override(monkeypatch):
    check = amx.available.__wrapped__  # not the cached answer
    assert check() == amx.available()
    assert not check(amx.K + 1)  # more than one tile row of residual dimensions
    monkeypatch.setenv("GLMTEACH_AMX", "0")
    assert not check()
    monkeypatch.delenv("GLMTEACH_AMX")
    import numba

    monkeypatch.setattr(numba.config, "CPU_NAME", "generic")  # a portable cache
    assert not check()
    monkeypatch.setattr(numba.config, "CPU_NAME", None)
    monkeypatch.setattr(numba.config, "DISABLE_JIT", True)  # Python, not machine code
    assert not check()


def test_no_tile_configuration_without_the_tiles(monkeypatch):
    monkeypatch.setattr(amx, "available", lambda m=amx.K: False)
    with pytest.raises(RuntimeError, match="float32 screen"):
        amx.tile_config()


def test_bf16_rounds_to_nearest_even():
    rng = np.random.default_rng(0)
    ties = np.float32([1.0, 1.0 + 2.0**-7]) + np.float32(2.0**-8)
    x = np.concatenate([rng.standard_normal(10_000).astype(np.float32), ties])
    down = (x.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32).astype(np.float64)
    up = ((x.view(np.uint32) & np.uint32(0xFFFF0000)) + np.uint32(0x10000)).view(
        np.float32).astype(np.float64)  # the two bfloat16 values around x
    got = amx.from_bf16(amx.to_bf16(x))
    assert ((got == down) | (got == up)).all()
    distance = np.abs(got - x)
    assert (distance <= np.minimum(np.abs(down - x), np.abs(up - x))).all()
    assert (distance <= 2.0**-8 * np.abs(x)).all()  # 8 significant bits
    # a tie goes to the even neighbour: 1 + 2**-8 down to 1, 1 + 3 * 2**-8 up to 1 + 2**-6
    assert got[-2] == 1.0 and got[-1] == 1.0 + 2.0**-6


def test_measured_rounding_bounds_every_projection():
    # projection_error from the measured errors covers the worst row x voxel difference
    rng = np.random.default_rng(4)
    m, n_pad, r = 29, 512, 3
    E = rng.standard_normal((m, n_pad))
    E /= np.linalg.norm(E, axis=0)
    A = np.stack([np.linalg.qr(rng.standard_normal((m, r)))[0].T for _ in range(50)])
    tiles, voxel_error, voxel_norm = amx.residual_tiles(E, 256)
    rows, row_error, row_norm = amx.row_tiles(A)
    delta = amx.projection_error(row_error, row_norm, voxel_error, voxel_norm)
    exact = A.reshape(-1, m) @ E
    rounded = amx.from_bf16(rows[: 50 * r, :m]) @ amx.from_bf16(amx.to_bf16(E))
    assert np.abs(rounded - exact).max() <= delta
    assert 2.0**-9 < delta < 2 * 2.0**-8  # measured: below the worst case 2 * 2**-8


@needs_amx
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_glm_null_is_the_float32_screens_bit_for_bit(monkeypatch, n_jobs):
    # smooth maps (neighbours alike, as after smoothing), several blocks of voxels, a
    # covariate with two nuisance regressors: the lesson's case, both screens
    rng = np.random.default_rng(2)
    n, n_voxels = 20, 3000
    raw = rng.standard_normal((n, n_voxels + 20))
    Y = np.stack([np.convolve(row, np.ones(20) / 20, mode="valid")[:n_voxels] for row in raw])
    X = np.column_stack([rng.standard_normal((n, 3)), np.ones(n)])
    tiles = gt.glm_permutation_test(Y, X, [1, 0, 0, 0], n_perm=3000, n_jobs=n_jobs)
    monkeypatch.setattr(amx, "available", lambda m=amx.K: False)
    vector = gt.glm_permutation_test(Y, X, [1, 0, 0, 0], n_perm=3000, n_jobs=n_jobs)
    np.testing.assert_array_equal(tiles.max_null, vector.max_null)


@needs_amx
def test_more_than_32_residual_dimensions_use_the_float32_screen(monkeypatch):
    calls = []
    monkeypatch.setattr(amx, "screen", lambda *args: calls.append(args))
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.standard_normal(40), np.ones(40)])
    res = gt.glm_permutation_test(rng.standard_normal((40, 300)), X, [1, 0], n_perm=200)
    assert not calls and res.n_flips == 200


def test_bit_casts_round_trip_whatever_the_integer_width():
    from numba import njit

    from glmteach._kernels.glm import _bits, _float

    @njit
    def casts(x):
        bits = _bits(x)
        return bits, _float(bits), _float(np.int64(bits) & 0xFFFFFFFF), _float(np.uint16(1))

    for value in (1.0, -2.5, 0.0, 3.0e-39):  # the last one denormal
        bits, same, from_wide, smallest = casts(np.float32(value))
        assert bits == np.float32(value).view(np.int32)
        assert same == from_wide == np.float32(value)
        assert smallest == np.uint32(1).view(np.float32)  # zero-extended, not truncated
