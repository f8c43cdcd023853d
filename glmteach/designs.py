"""Second-level designs for two conditions per subject: paired, two-sample, covariates.

Each builder returns a :class:`GroupDesign`: the design matrix (a DataFrame whose column
names nilearn's ``plot_design_matrix`` shows), the tested column, the exchangeability
blocks, and which rows of the data it models. The data are the stacked maps of
:meth:`glmteach.data.TwoConditionMaps.stacked` (all subjects' first condition, then all
subjects' second condition), or their differences (first minus second).
"""

from dataclasses import dataclass

import numpy as np

KINDS = ("paired", "two-sample", "one-sample + age", "age effect")


@dataclass(frozen=True)
class GroupDesign:
    """A design ready for :func:`glmteach.glm_permutation_test`.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    matrix : pandas.DataFrame, shape (n_rows, n_regressors)
    contrast : str
        The tested column.
    blocks : ndarray or None
        Exchangeability block of each row (the subject, for the paired design).
    rows : {"stacked", "difference"}
        Whether the design models both conditions' maps or their differences.
    question : str
        What the contrast asks, in words.
    """

    kind: str
    matrix: object
    contrast: str
    blocks: np.ndarray
    rows: str
    question: str

    def data(self, Y_stacked):
        """The rows this design models, from the stacked (2 n, n_voxels) data."""
        Y_stacked = np.asarray(Y_stacked)
        if Y_stacked.ndim != 2 or Y_stacked.shape[0] % 2:
            raise ValueError("expected both conditions stacked: shape (2 * n_subjects, "
                             f"n_voxels), got {Y_stacked.shape}; use maps.stacked().")
        if self.rows == "stacked":
            return Y_stacked
        n = Y_stacked.shape[0] // 2
        return Y_stacked[:n] - Y_stacked[n:]

    def test(self, Y_stacked, **kwargs):
        """:func:`glmteach.glm_permutation_test` of this design on the stacked data."""
        from .glm_permutation import glm_permutation_test

        return glm_permutation_test(self.data(Y_stacked), self.matrix, self.contrast,
                                    blocks=self.blocks, **kwargs)


def group_design(kind, covariates, conditions=("vertical", "horizontal")):
    """Build one of the lesson's designs.

    Parameters
    ----------
    kind : {"paired", "two-sample", "one-sample + age", "age effect"}
    covariates : pandas.DataFrame
        ``subject`` and ``age`` per subject (``TwoConditionMaps.covariates``).
    conditions : tuple of str
        Short names of the two conditions (column labels).

    Returns
    -------
    GroupDesign
    """
    import pandas as pd

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}.")
    subjects = [str(s) for s in covariates["subject"]]
    n = len(subjects)
    a, b = (str(c).split()[0] for c in conditions)
    effect = f"{a} - {b}"
    if kind in ("paired", "two-sample"):
        condition = np.r_[np.ones(n), -np.ones(n)] / 2  # +1/2 first, -1/2 second
        if kind == "paired":
            dummies = np.vstack([np.eye(n), np.eye(n)])
            matrix = pd.DataFrame(dummies, columns=subjects)
            matrix.insert(0, effect, condition)
            return GroupDesign(kind, matrix, effect, np.r_[np.arange(n), np.arange(n)],
                               "stacked", f"does {a} differ from {b} within subjects?")
        matrix = pd.DataFrame({effect: condition, "intercept": np.ones(2 * n)})
        return GroupDesign(kind, matrix, effect, None, "stacked",
                           f"does {a} differ from {b}, ignoring that the maps are paired?")
    age = np.asarray(covariates["age"], dtype=float)
    if not np.isfinite(age).all():
        raise ValueError("these maps have no age for every subject; use the paired or "
                         "two-sample design.")
    matrix = pd.DataFrame({effect: np.ones(n), "age (centred)": age - age.mean()})
    if kind == "one-sample + age":
        return GroupDesign(kind, matrix, effect, None, "difference",
                           f"is the mean {effect} difference non-zero, age held constant?")
    return GroupDesign(kind, matrix, "age (centred)", None, "difference",
                       f"does the {effect} difference change with age?")


def compare_with_parametric(design, result, alpha=0.05, n_perm=None):
    """Permutation max-t against Bonferroni (parametric, Student t) for one GLM result.

    Returns
    -------
    dict
        ``permutation_threshold``, its Monte-Carlo ``interval``, ``bonferroni_threshold``,
        the surviving voxel counts of both, and ``sentence``: the comparison in words,
        generated from these numbers.
    """
    from .corrections import bonferroni_threshold

    n_voxels = result.t.shape[0]
    perm = result.threshold(alpha, n_perm)
    lo, hi = result.threshold_interval(alpha, n_perm)
    bonf = bonferroni_threshold(alpha, n_voxels, result.df, result.two_sided)
    stat = result.stat
    n_perm_used = result.n_flips if n_perm is None else n_perm
    kept_perm, kept_bonf = int((stat > perm).sum()), int((stat > bonf).sum())
    how = ("every distinct rearrangement" if result.exact and n_perm_used == result.n_flips
           else f"{n_perm_used:,} random rearrangements")
    bar = "|t|" if result.two_sided else "t"
    interval = "" if lo == hi else f" (Monte-Carlo 95% interval {lo:.2f} to {hi:.2f})"
    if lo <= bonf <= hi:
        verdict = ("Bonferroni's threshold lies inside the permutation threshold's "
                   "Monte-Carlo interval: more permutations would tell which is stricter")
    elif perm < bonf:
        verdict = "Permutation is less strict than Bonferroni here"
    else:
        verdict = "Permutation is stricter than Bonferroni here"
    sentence = (
        f"{design.kind[0].upper() + design.kind[1:]} design ({design.question}) at "
        f"alpha = {alpha:g}: "
        f"permutation max-t over {how} needs {bar} > {perm:.2f}{interval} and keeps "
        f"{kept_perm:,} voxels; Bonferroni with Student's t (df = {result.df:g}) needs "
        f"{bar} > {bonf:.2f} and keeps {kept_bonf:,}. {verdict}.")
    return {"permutation_threshold": perm, "interval": (lo, hi), "bonferroni_threshold": bonf,
            "permutation_voxels": kept_perm, "bonferroni_voxels": kept_bonf,
            "sentence": sentence}
