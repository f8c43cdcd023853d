"""Time glmteach's GLM permutation test against nilearn's permuted_ols, in one run.

Data: the embedded (SIMULATED) cohort of 32 subjects, 8 mm smoothing, default group mask on
the 3 mm grid. Two designs, 10,000 permutations, two-sided max |t|, 2 threads each:

- covariate: a subject covariate of interest plus two nuisance regressors and the
  intercept (nilearn: ``confounding_vars`` + ``model_intercept=True``), Freedman-Lane;
- two-sample: 16 vs 16 (group column + intercept).

On a CPU with Intel AMX tiles (Sapphire Rapids and later, like this machine) glmteach's
screen runs its products there in bfloat16 (:mod:`glmteach._kernels.amx`); the covariate
design is then also timed with the float32 screen that every other CPU runs, and both
ratios are printed. The maximum is the same float64 value either way.

nilearn runs the same 10,000 permutations (about 20 s a run here). ``--nilearn-perm N``
runs N instead and scales its time per permutation to 10,000 (said on its line): quicker,
but it counts nilearn's fixed start-up cost 10,000 / N times, so it flatters glmteach
(by ~12% at N = 500 on this machine). Every figure is the median of several runs after a
warm-up. The last lines are the ratios.

    python benchmarks/bench_glm.py            # ~3 minutes on 2 cores
    python benchmarks/bench_glm.py --quick    # smoke test (nilearn 100 perms, scaled)
"""

import argparse
import os
import time

import numpy as np

N_PERM = 10_000


def _median_time(func, repeats, warm_up=None):
    (warm_up or func)()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _designs(n_subjects, seed=0):
    rng = np.random.default_rng(seed)
    covariate = rng.standard_normal(n_subjects)
    nuisance = np.column_stack([0.6 * covariate + 0.8 * rng.standard_normal(n_subjects),
                                rng.standard_normal(n_subjects)])
    group = np.repeat([1.0, 0.0], n_subjects // 2)
    return covariate, nuisance, group


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat, nilearn 100 perms")
    parser.add_argument("--nilearn-perm", type=int, default=None,
                        help="permutations nilearn really runs (its time is scaled to "
                             "10,000; default: 10,000, nothing scaled)")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    nilearn_perm = args.nilearn_perm or (100 if args.quick else N_PERM)

    import glmteach as gt
    from glmteach._kernels import amx
    from nilearn.mass_univariate import permuted_ols

    maps = gt.load_localizer(n_subjects=32, source="embedded", verbose=0)
    Y = gt.mask_maps(maps, smoothing_fwhm=8.0).Y
    n, n_voxels = Y.shape
    print(f"data: embedded SIMULATED cohort, {n} subjects x {n_voxels:,} voxels (3 mm)")
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average, {os.cpu_count()} cores)")
    covariate, nuisance, group = _designs(n)
    ones = np.ones((n, 1))
    X_cov = np.column_stack([covariate, nuisance, ones])
    X_two = np.column_stack([group, ones])
    results = {}

    for name, X, tested, confounds in (("covariate", X_cov, covariate, nuisance),
                                        ("two_sample", X_two, group, None)):
        c = np.r_[1.0, np.zeros(X.shape[1] - 1)]

        def ours():
            return gt.glm_permutation_test(Y, X, c, n_perm=N_PERM, n_jobs=2)

        def theirs(n_perm=nilearn_perm):
            return permuted_ols(tested[:, None], Y, confounding_vars=confounds,
                                model_intercept=True, n_perm=n_perm, two_sided_test=True,
                                n_jobs=2, random_state=0, verbose=0, output_type="dict")

        result = ours()
        t_nilearn = np.asarray(theirs(10)["t"]).ravel()
        t_ours = _median_time(ours, repeats)
        t_theirs = (_median_time(theirs, repeats, warm_up=lambda: theirs(20))
                    * N_PERM / nilearn_perm)
        results[name] = t_theirs / t_ours
        print(f"{name}: design {X.shape[1]} columns, {result.flips.errors} errors, "
              f"{result.n_flips:,} rearrangements (exact: {result.exact}), "
              f"max |t - t_nilearn| = {np.abs(result.t - t_nilearn).max():.1e}")
        screened = name == "covariate"  # (two-sample: the sign-flip table kernel, no screen)
        tiles = screened and amx.available(n - X.shape[1] + 1)
        how = (" (screen: AMX bfloat16 tiles)" if tiles else
               " (screen: float32)" if screened else "")
        print(f"glmteach_{name}_{N_PERM}_n_jobs2_s: {t_ours:.3f}{how}")
        if tiles:  # the same test with the float32 screen, as on CPUs without AMX
            available = amx.available
            amx.available = lambda m=amx.K: False
            try:
                vector = ours()
                assert np.array_equal(vector.max_null, result.max_null)
                t_vector = _median_time(ours, repeats)
            finally:
                amx.available = available
            results[name + "_float32"] = t_theirs / t_vector
            print(f"glmteach_{name}_{N_PERM}_n_jobs2_float32_s: {t_vector:.3f} "
                  "(screen: float32, as on CPUs without AMX; the same max null)")
        how = ("the same permutations" if nilearn_perm == N_PERM else
               f"measured at n_perm={nilearn_perm}, scaled per permutation to {N_PERM:,}: "
               "flattering glmteach")
        print(f"nilearn_permuted_ols_{name}_{N_PERM}_n_jobs2_s: {t_theirs:.1f} ({how})")
    # a yardstick for a busy machine: the one-sample sign-flip test on the first 16 subjects
    # (0.11 s on this 2-core machine when quiet, README, 2026-11-30) measured in the same run
    Y16 = Y[:16]
    reference = _median_time(lambda: gt.permutation_test(Y16, n_perm=N_PERM, n_jobs=2),
                             repeats)
    print(f"reference_permutation_test_16_subjects_{N_PERM}_s: {reference:.3f} "
          "(0.11 s on a quiet machine: divide the times above by "
          f"{reference / 0.11:.1f} for a rough quiet-machine estimate)")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    print(f"speedup_two_sample_vs_nilearn: {results['two_sample']:.1f}")
    if "covariate_float32" in results:
        print(f"speedup_covariate_float32_screen_vs_nilearn: "
              f"{results['covariate_float32']:.1f}")
    print(f"speedup_covariate_vs_nilearn: {results['covariate']:.1f}")


if __name__ == "__main__":
    main()
