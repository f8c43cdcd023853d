"""Time the null-world lab on the default mask: glmteach against a nilearn reference.

glmteach runs the whole lab: ``run_null_world`` with 200 null studies of 16 subjects on the
embedded cohort's mask (~68k voxels), 1,000 sign flips each, uncorrected + Bonferroni +
random field theory (smoothness estimated per study) + permutation max-t. The goal is
<= 30 s on a 2-core machine.

The reference does what a learner would write with SciPy and nilearn for a few studies:
white noise smoothed per subject with ``scipy.ndimage.gaussian_filter``, masked, then
``nilearn.mass_univariate.permuted_ols`` (sign flips of the intercept, same n_perm, same
number of jobs). Per-study times are printed, the ratio last. ``--quick`` runs 20 studies.

The cluster line (the cluster-failure lab): 100 null studies x 1,000 sign flips with
permutation cluster size at CDT p < 0.001 (two-sided, 6-connected as nilearn) plus random
field theory's cluster extent p, against nilearn's ``non_parametric_inference`` with
``threshold=0.001`` (cluster size and mass, same flips count, same jobs) on the smoothed
noise images. nilearn is timed on ``--n-cluster-reference`` studies (default 2) and scaled
to 100, as printed; nilearn has no parametric cluster method, so its time covers less work.
Its ratio is printed last.

    python benchmarks/bench_nullworld.py [--quick] [--n-jobs 2] [--clusters-only]
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


def time_glmteach_clusters(mask, voxel_size, n_experiments, n_perm, n_jobs):
    methods = ("rft_cluster", "cluster")
    nullworld.run_null_world(mask, n_experiments=2, n_perm=50, voxel_size_mm=voxel_size,
                             n_jobs=n_jobs, methods=methods)  # compile / load the cache
    tic, cpu = time.perf_counter(), time.process_time()
    result = nullworld.run_null_world(mask, n_experiments=n_experiments, n_perm=n_perm,
                                      voxel_size_mm=voxel_size, n_jobs=n_jobs,
                                      methods=methods, cdt_p=0.001)
    return time.perf_counter() - tic, time.process_time() - cpu, result


def reference_cluster_study(mask, affine, voxel_size, n_perm, n_jobs, seed, fwhm=8.0):
    """One null study with nilearn's cluster-size permutation (non_parametric_inference)."""
    import nibabel as nib
    import pandas as pd
    from nilearn.glm.second_level import non_parametric_inference

    rng = np.random.default_rng(seed)
    sigma = [fwhm / np.sqrt(8 * np.log(2)) / v for v in voxel_size]
    imgs = [nib.Nifti1Image(ndimage.gaussian_filter(rng.standard_normal(mask.shape), sigma)
                            .astype(np.float32), affine) for _ in range(16)]
    mask_img = nib.Nifti1Image(mask.astype(np.uint8), affine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return non_parametric_inference(
            imgs, design_matrix=pd.DataFrame({"intercept": np.ones(16)}), mask=mask_img,
            n_perm=n_perm, two_sided_test=True, random_state=seed, n_jobs=n_jobs,
            threshold=0.001, tfce=False)


def cluster_benchmark(mask, affine, voxel_size, args):
    n_experiments, n_perm = (20 if args.quick else 100), 1000
    seconds, cpu, result = time_glmteach_clusters(mask, voxel_size, n_experiments, n_perm,
                                                  args.n_jobs)
    per_study = seconds / n_experiments
    print(f"glmteach run_null_world, clusters (RFT cluster extent + permutation cluster "
          f"size, CDT p < 0.001): {n_experiments} studies x {n_perm:,} flips in "
          f"{seconds:.1f} s wall ({per_study * 1000:.0f} ms per study; {per_study * 100:.1f} "
          f"s for 100, target <= 60 s), {cpu:.1f} s CPU; load average now "
          f"{os.getloadavg()[0]:.1f}")
    print(result.summary())
    times = []
    for seed in range(args.n_cluster_reference):
        tic = time.perf_counter()
        out = reference_cluster_study(mask, affine, voxel_size, n_perm, args.n_jobs, seed)
        times.append(time.perf_counter() - tic)
        p = 10 ** -float(np.asarray(out["logp_max_size"].dataobj).max())
        print(f"nilearn cluster study {seed}: {times[-1]:.1f} s (cluster-size FWER p of the "
              f"largest cluster = {p:.3f})")
    reference = statistics.median(times)
    print(f"nilearn non_parametric_inference (threshold=0.001, scipy smoothing): "
          f"{reference:.1f} s per study (median of {len(times)}), so {reference * 100:.0f} s "
          f"for 100 studies (scaled)")
    return reference / per_study


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--n-reference", type=int, default=3)
    parser.add_argument("--n-cluster-reference", type=int, default=2)
    parser.add_argument("--clusters-only", action="store_true")
    args = parser.parse_args()
    n_experiments, n_perm = (20 if args.quick else 200), 1000
    mask, voxel_size, affine = default_mask()
    if args.clusters_only:
        ratio = cluster_benchmark(mask, affine, voxel_size, args)
        print(f"clusters: speed-up vs nilearn non_parametric_inference: {ratio:.1f}x")
        return
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
    ratio = cluster_benchmark(mask, affine, voxel_size, args)
    print(f"max-t: speed-up vs nilearn permuted_ols: {reference / per_study:.1f}x")
    print(f"clusters: speed-up vs nilearn non_parametric_inference: {ratio:.1f}x")


if __name__ == "__main__":
    main()
