"""Null world for nuisance regressors: does each permutation method keep the FWER at alpha?

Every simulated study has no effect of interest, and a nuisance regressor (think age, or
head motion) whose sample correlation with the tested regressor is exactly
``correlation`` and which has a real effect, the same in every voxel. Each study is
analysed with each method; a study "finds something" when any voxel has corrected
p <= alpha. A method that controls the family-wise error rate finds something in about
alpha of the studies.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from .glm_permutation import METHODS, glm_permutation_test

LABELS = {"freedman_lane": "Freedman-Lane", "ter_braak": "ter Braak", "manly": "Manly"}


@dataclass(frozen=True, eq=False)
class GLMNullWorldResult:
    """The smallest corrected p of every study under each method.

    Attributes
    ----------
    min_p : dict of str to ndarray, shape (n_studies,)
        Per method, each study's smallest voxelwise corrected p.
    correlation, nuisance_effect : float
    n_subjects, n_voxels, n_perm : int
    """

    min_p: dict
    correlation: float
    nuisance_effect: float
    n_subjects: int
    n_voxels: int
    n_perm: int
    settings: dict = field(default_factory=dict)

    @property
    def n_studies(self):
        return len(next(iter(self.min_p.values())))

    def table(self, alpha=0.05, level=0.95):
        """One row per method: studies with a false positive, FWER, its Clopper-Pearson
        interval and where alpha stands (:func:`glmteach.narrative.interval_verdict`)."""
        import pandas as pd

        from .narrative import interval_verdict

        rows = []
        for method, p in self.min_p.items():
            hits = int((p <= alpha).sum())
            ci = stats.binomtest(hits, len(p)).proportion_ci(level, method="exact")
            verdict = interval_verdict(ci.low, ci.high, alpha)
            rows.append({"method": LABELS[method], "studies with a false positive": hits,
                         "studies": len(p), "FWER": hits / len(p), "CI low": ci.low,
                         "CI high": ci.high, "verdict": verdict})
        return pd.DataFrame(rows)

    def sentence(self, alpha=0.05):
        """What the learner's own studies show, in words generated from the table
        (:func:`glmteach.narrative.glm_null_world_sentence`)."""
        from .narrative import glm_null_world_sentence

        return glm_null_world_sentence(self, alpha)


def run_glm_null_world(methods=METHODS, n_studies=200, n_subjects=16, n_voxels=20,
                       correlation=0.6, nuisance_effect=3.0, n_perm=100, random_state=0,
                       progress=None):
    """Simulate null studies with a correlated nuisance effect; score every method.

    Parameters
    ----------
    methods : sequence of {"freedman_lane", "ter_braak", "manly"}
    n_studies, n_subjects, n_voxels, n_perm : int
        Voxels are independent standard Gaussian noise (smoothness is not the point here).
    correlation : float
        Sample correlation between the tested regressor and the nuisance (-1 < r < 1).
    nuisance_effect : float
        Effect of the nuisance, in noise SDs per SD of the nuisance, in every voxel.
    random_state : int
    progress : callable, optional
        ``progress(fraction_done)`` after each study; raise in it to stop.

    Returns
    -------
    GLMNullWorldResult
    """
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; use some of {METHODS}.")
    if not -1 < correlation < 1:
        raise ValueError(f"correlation must be between -1 and 1, got {correlation}.")
    if n_studies < 1 or n_subjects < 5 or n_voxels < 1:
        raise ValueError("need at least 1 study, 5 subjects and 1 voxel.")
    min_p = {method: np.ones(n_studies) for method in methods}
    seeds = np.random.SeedSequence(random_state).spawn(n_studies)
    for study, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        X = confounded_design(n_subjects, correlation, rng)
        Y = rng.standard_normal((n_subjects, n_voxels)) + nuisance_effect * X[:, [2]]
        for method in methods:
            res = glm_permutation_test(Y, X, [0, 1, 0], n_perm=n_perm, method=method,
                                       random_state=study, n_jobs=1)
            min_p[method][study] = res.corrected_p().min()
        if progress is not None:
            progress((study + 1) / n_studies)
    return GLMNullWorldResult(min_p, correlation, nuisance_effect, n_subjects, n_voxels,
                              n_perm)


def confounded_design(n_subjects, correlation, rng):
    """``[intercept, tested, nuisance]`` with standardized columns whose sample
    correlation is exactly ``correlation``."""
    raw = rng.standard_normal((n_subjects, 2))
    raw -= raw.mean(axis=0)
    tested = raw[:, 0] / np.linalg.norm(raw[:, 0])
    other = raw[:, 1] - tested * (tested @ raw[:, 1])
    other /= np.linalg.norm(other)
    nuisance = correlation * tested + np.sqrt(1 - correlation**2) * other
    scale = np.sqrt(n_subjects - 1)  # unit sample SD
    return np.column_stack([np.ones(n_subjects), tested * scale, nuisance * scale])
