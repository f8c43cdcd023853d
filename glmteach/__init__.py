"""glmteach: learn how group-level fMRI statistics control false positives.

The lesson, step by step (see ``notebooks/``)::

    import glmteach as gt
    maps = gt.load_localizer(n_subjects=16, source="auto")   # real data, else simulated
    masked = gt.mask_maps(maps, smoothing_fwhm=8.0)          # images -> Y (n_subjects, n_voxels)
    tt = gt.one_sample_ttest(masked.Y)                        # t, df, p, z per voxel
    perm = gt.permutation_test(masked.Y, n_perm=10000)        # sign-flip max-|t| null

Names are imported on first use so that ``import glmteach`` stays fast (numba compiles
nothing until a statistic is asked for).
"""

from importlib import import_module

from . import _jit  # noqa: F401  sizes numba's thread pool (before numba is imported)

__version__ = "0.1.0"

# public name -> module that defines it
_API = {
    "GroupMaps": "data",
    "load_localizer": "data",
    "load_maps": "data",
    "load_checkerboards": "data",
    "TwoConditionMaps": "data",
    "group_design": "designs",
    "GroupDesign": "designs",
    "run_glm_null_world": "glm_nullworld",
    "MaskedMaps": "masking",
    "mask_maps": "masking",
    "TTest": "glm",
    "one_sample_ttest": "glm",
    "glm_ttest": "glm",
    "PermutationResult": "permutation",
    "permutation_test": "permutation",
    "glm_permutation_test": "glm_permutation",
    "Correction": "corrections",
    "correct": "corrections",
    "bonferroni_threshold": "corrections",
    "RandomField": "rft",
    "random_field": "rft",
    "ClusterResult": "clusters",
    "cluster_permutation_test": "clusters",
    "run_null_world": "nullworld",
    "NullWorldResult": "nullworld",
    "simulate_null_cohort": "nullworld",
    "FlipExplainer": "explainer",
}

__all__ = sorted(_API)


def __getattr__(name):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'glmteach' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
