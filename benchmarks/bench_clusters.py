"""Time cluster-size/mass and TFCE permutation inference: glmteach against nilearn.

Both run on the same cohort (the embedded 16-subject localizer, masked) with the same
number of jobs, nilearn through ``permuted_ols`` as its one-sample example does. Per-flip
times are printed, the speed-up ratios last. ``--quick`` runs a few flips only.

    python benchmarks/bench_clusters.py [--quick] [--n-jobs 2]
"""

import argparse
import statistics
import time
import warnings

import numpy as np

import glmteach as gt
from glmteach.clusters import cluster_permutation_test


def load_cohort():
    """(Y, mask, affine, masker, description): the embedded cohort, else synthetic data."""
    try:
        masked = gt.mask_maps(gt.load_localizer(source="embedded"))
        return masked.Y, masked.mask, masked.affine, masked.masker, "embedded localizer cohort"
    except (ImportError, AttributeError) as error:  # masking.py not there yet
        return (*synthetic_cohort(), f"synthetic cohort ({error.__class__.__name__}: {error})")


def synthetic_cohort(n_subjects=16, shape=(53, 63, 46), seed=0):
    import nibabel as nib
    from nilearn.maskers import NiftiMasker
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    ijk = np.indices(shape)
    radii = ((ijk - np.array([26, 31, 22])[:, None, None, None]) / np.array(
        [22, 28, 20])[:, None, None, None]) ** 2
    mask = radii.sum(axis=0) < 1
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    Y = np.array([ndimage.gaussian_filter(rng.standard_normal(shape), 2.5)[mask]
                  for _ in range(n_subjects)])
    Y = Y / Y.std() + 0.25
    masker = NiftiMasker(nib.Nifti1Image(mask.astype(np.uint8), affine)).fit()
    return np.ascontiguousarray(Y), mask, affine, masker


def time_nilearn(Y, masker, n_perm, n_jobs, **kwargs):
    from nilearn.mass_univariate import permuted_ols

    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = permuted_ols(np.ones((Y.shape[0], 1)), Y, model_intercept=False,
                           two_sided_test=True, masker=masker, n_perm=n_perm, n_jobs=n_jobs,
                           output_type="dict", verbose=0, **kwargs)
    return (time.perf_counter() - tic) / n_perm, out


def time_glmteach(Y, mask, affine, n_perm, n_jobs, repeats, **kwargs):
    cluster_permutation_test(Y, mask, affine, n_perm=8, n_jobs=n_jobs, **kwargs)  # warm-up
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        res = cluster_permutation_test(Y, mask, affine, n_perm=n_perm, n_jobs=n_jobs, **kwargs)
        times.append(time.perf_counter() - tic)
    return statistics.median(times) / res.n_flips, res


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few flips only")
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    n_cluster, n_tfce_nilearn, n_tfce = (100, 10, 1000) if args.quick else (1000, 200, 10000)
    repeats = 1 if args.quick else 3

    Y, mask, affine, masker, description = load_cohort()
    print(f"cohort: {description}: {Y.shape[0]} subjects x {Y.shape[1]} voxels; "
          f"n_jobs={args.n_jobs}")

    nl_cluster, nl_out = time_nilearn(Y, masker, n_cluster, args.n_jobs, threshold=0.001)
    gt_cluster, res = time_glmteach(Y, mask, affine, n_cluster, args.n_jobs, repeats,
                                    tfce=False)
    print(f"cluster size+mass, {n_cluster} flips: nilearn {1e3 * nl_cluster:.2f} ms/flip, "
          f"glmteach {1e3 * gt_cluster:.3f} ms/flip")
    nl_sizes = nl_out["size"][0]
    print(f"  same observed clusters: largest {res.cluster_sizes().max(initial=0)} vs "
          f"{int(nl_sizes.max())} voxels, per-voxel sizes equal: "
          f"{np.array_equal(res.cluster_sizes()[res.labels - 1] * (res.labels > 0), nl_sizes)}")

    nl_tfce, nl_out = time_nilearn(Y, masker, n_tfce_nilearn, args.n_jobs, tfce=True)
    gt_tfce, res = time_glmteach(Y, mask, affine, n_tfce, args.n_jobs, 1, tfce=True)
    print(f"TFCE (+ clusters in glmteach): nilearn {1e3 * nl_tfce:.1f} ms/flip "
          f"({n_tfce_nilearn} flips), glmteach {1e3 * gt_tfce:.2f} ms/flip "
          f"({n_tfce} flips: {gt_tfce * n_tfce:.1f} s)")
    gap = np.abs(res.tfce - nl_out["tfce"][0]).max() / np.abs(nl_out["tfce"]).max()
    print(f"  observed TFCE map vs nilearn: max relative difference {gap:.1e}")

    print(f"ratio cluster (nilearn / glmteach): {nl_cluster / gt_cluster:.0f}x")
    print(f"ratio TFCE (nilearn / glmteach): {nl_tfce / gt_tfce:.0f}x")


if __name__ == "__main__":
    main()
