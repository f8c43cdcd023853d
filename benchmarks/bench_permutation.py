"""Time glmteach's sign-flip max-t null against nilearn's permuted_ols, in one run.

The embedded cohort (16 subjects, 8 mm smoothing, default group mask, 3 mm grid) and the
same maps resampled to 2 mm. Every figure is the median of several runs after a warm-up
(numba's compile time is measured separately, in fresh subprocesses: cold, with an empty
``NUMBA_CACHE_DIR``, then warm, with the cache it left). The last line is the ratio.

    python benchmarks/bench_permutation.py           # full (~2-3 minutes on 2 cores)
    python benchmarks/bench_permutation.py --quick   # smoke test (nilearn 1,000 perms, scaled)
"""

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

N_PERM = 10_000

FIRST_CALL = """
import time
t0 = time.perf_counter()
import numpy as np
import glmteach as gt
import glmteach.permutation
t1 = time.perf_counter()
Y = np.random.default_rng(0).standard_normal((16, 500))
gt.permutation_test(Y, n_perm=100)             # two-sided kernels
gt.permutation_test(Y, n_perm=100, two_sided=False)
print(t1 - t0, time.perf_counter() - t1)
"""


def _median_time(func, repeats, warm_up=None):
    (warm_up or func)()  # compilation, caches, thread pool, imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _compile_times():
    """((import, first calls) cold, (import, first calls) warm) in seconds.

    Fresh subprocesses sharing an empty ``NUMBA_CACHE_DIR``: the first compiles every
    kernel (one- and two-sided) and fills the cache, the second loads from it.
    """
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        run = [sys.executable, "-c", FIRST_CALL]
        times = []
        for _ in range(2):
            out = subprocess.run(run, env=env, check=True, capture_output=True, text=True)
            times.append(tuple(float(x) for x in out.stdout.split()[-2:]))
    return times


def _load(voxel_mm=None):
    import glmteach as gt

    maps = gt.load_localizer(source="embedded", verbose=0)
    if voxel_mm is not None:
        from nilearn import image

        affine = maps.imgs[0].affine.copy()
        affine[:3, :3] *= voxel_mm / np.sqrt((affine[:3, :3] ** 2).sum(axis=0))  # keep flips
        imgs = [image.resample_img(img, target_affine=affine, interpolation="linear",
                                   force_resample=True, copy_header=True)
                for img in maps.imgs]
        maps = dataclasses.replace(maps, imgs=imgs)
    return gt.mask_maps(maps, smoothing_fwhm=8.0).Y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats; nilearn with 1,000 permutations, scaled x10")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    nilearn_perm = 1_000 if args.quick else N_PERM

    import glmteach as gt
    from nilearn.mass_univariate import permuted_ols

    (import_cold, cold), (import_warm, warm) = _compile_times()
    print(f"numba_first_calls_cold_cache_s: {cold:.2f} (compiles all kernels; "
          f"import glmteach {import_cold:.2f})")
    print(f"numba_first_calls_warm_cache_s: {warm:.2f} (import glmteach {import_warm:.2f})")

    Y = _load()
    n_subjects, n_voxels = Y.shape
    print(f"data: embedded cohort, {n_subjects} subjects x {n_voxels:,} voxels (3 mm)")

    ours = _median_time(lambda: gt.permutation_test(Y, n_perm=N_PERM, n_jobs=2), repeats)
    print(f"glmteach_random_{N_PERM}_s: {ours:.3f}")
    n_distinct = 2 ** (n_subjects - 1)
    exact = _median_time(lambda: gt.permutation_test(Y, n_perm=n_distinct, n_jobs=2), repeats)
    print(f"glmteach_exact_{n_distinct}_s: {exact:.3f}")

    def nilearn_run(n_perm=nilearn_perm):
        permuted_ols(np.ones((n_subjects, 1)), Y, model_intercept=False,
                     n_perm=n_perm, two_sided_test=True, n_jobs=2, random_state=0,
                     verbose=0)

    theirs = _median_time(nilearn_run, repeats, warm_up=lambda: nilearn_run(200))
    theirs *= N_PERM / nilearn_perm
    scaled = f" (measured at n_perm={nilearn_perm}, scaled)" if args.quick else ""
    print(f"nilearn_permuted_ols_{N_PERM}_n_jobs2_s: {theirs:.3f}{scaled}")

    Y2 = _load(voxel_mm=2.0)
    print(f"data: 2 mm grid, {Y2.shape[1]:,} voxels")
    fine = _median_time(lambda: gt.permutation_test(Y2, n_perm=N_PERM, n_jobs=2), repeats)
    print(f"glmteach_2mm_random_{N_PERM}_s: {fine:.3f}")
    print(f"speedup_vs_nilearn_10k: {theirs / ours:.1f}")


if __name__ == "__main__":
    main()
