"""Time the null-world lab on the default mask: glmteach against a nilearn reference.

glmteach runs the whole lab: ``run_null_world`` with 200 null studies of 16 subjects on the
embedded cohort's mask (~68k voxels), 1,000 sign flips each, uncorrected + Bonferroni +
random field theory (smoothness estimated per study) + permutation max-t. The goal is
<= 30 s on a 2-core machine.

The reference does what a learner would write with SciPy and nilearn for a few studies:
white noise smoothed per subject with ``scipy.ndimage.gaussian_filter``, masked, then
``nilearn.mass_univariate.permuted_ols`` (sign flips of the intercept, same n_perm, same
number of jobs). Per-study times are printed, the ratio last. ``--quick`` runs 20 studies.

    python benchmarks/bench_nullworld.py [--quick] [--n-jobs 2]
"""

import argparse
import os
import statistics
import time
import warnings

import numpy as np
from scipy import ndimage

import glmteach as gt
from glmteach import nullworld


def default_mask():
    masked = gt.mask_maps(gt.load_localizer(n_subjects=16, source="embedded"))
    return masked.mask, masked.voxel_size_mm, masked.affine


def time_glmteach(mask, voxel_size, n_experiments, n_perm, n_jobs):
    nullworld.run_null_world(mask, n_experiments=2, n_perm=50, voxel_size_mm=voxel_size,
                             n_jobs=n_jobs)  # compile / load the numba cache first
    tic, cpu = time.perf_counter(), time.process_time()
    result = nullworld.run_null_world(mask, n_experiments=n_experiments, n_perm=n_perm,
                                      voxel_size_mm=voxel_size, n_jobs=n_jobs)
    return time.perf_counter() - tic, time.process_time() - cpu, result


def reference_study(mask, voxel_size, n_perm, n_jobs, seed, fwhm=8.0):
    """One null study the plain way: SciPy smoothing + nilearn permuted_ols."""
    from nilearn.mass_univariate import permuted_ols

    rng = np.random.default_rng(seed)
    sigma = [fwhm / np.sqrt(8 * np.log(2)) / v for v in voxel_size]
    Y = np.array([ndimage.gaussian_filter(rng.standard_normal(mask.shape), sigma)[mask]
                  for _ in range(16)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = permuted_ols(np.ones((16, 1)), Y, model_intercept=False, n_perm=n_perm,
                           two_sided_test=True, random_state=seed, n_jobs=n_jobs,
                           output_type="dict", verbose=0)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--n-reference", type=int, default=3)
    args = parser.parse_args()
    n_experiments, n_perm = (20 if args.quick else 200), 1000
    mask, voxel_size, _ = default_mask()
    print(f"mask: {int(mask.sum()):,} voxels, 16 subjects, FWHM 8 mm, {n_perm:,} flips per "
          f"study, n_jobs={args.n_jobs}")

    seconds, cpu, result = time_glmteach(mask, voxel_size, n_experiments, n_perm,
                                         args.n_jobs)
    per_study = seconds / n_experiments
    print(f"glmteach run_null_world: {n_experiments} studies in {seconds:.1f} s wall "
          f"({per_study * 1000:.0f} ms per study; target for 200: <= 30 s), "
          f"{cpu:.1f} s CPU ({cpu / n_experiments * 1000:.0f} ms per study: "
          f"~{cpu / n_experiments * 200 / args.n_jobs:.0f} s for 200 on {args.n_jobs} "
          f"idle cores; load average now {os.getloadavg()[0]:.1f})")
    print(result.summary())

    times = []
    for seed in range(args.n_reference):
        tic = time.perf_counter()
        out = reference_study(mask, voxel_size, n_perm, args.n_jobs, seed)
        times.append(time.perf_counter() - tic)
        p_max = 10 ** -out["logp_max_t"].max()
        print(f"reference study {seed}: {times[-1]:.2f} s (nilearn max-t FWER p of the "
              f"study's peak = {p_max:.3f})")
    reference = statistics.median(times)
    print(f"reference (scipy smoothing + nilearn permuted_ols, no RFT): {reference:.2f} s "
          f"per study, so {reference * 200:.0f} s for 200 studies")
    print(f"glmteach: {per_study:.3f} s per study, {per_study * 200:.1f} s for 200 studies")
    print(f"speed-up vs nilearn reference: {reference / per_study:.1f}x")


if __name__ == "__main__":
    main()
