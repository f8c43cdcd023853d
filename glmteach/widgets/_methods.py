"""The family-wise error methods the comparison panel shows, one entry each.

Adding a method is one line in :data:`METHODS`: a :class:`Method` with a function
``compute(state, alpha, n_perm) -> MethodResult``. Every method gives a -log10 corrected p
per voxel (the maps share one colour scale), a |t| threshold when it has one (a line on the
null histogram) and its survivors (counted by the statistics API itself).
"""

from dataclasses import dataclass, field
from importlib import import_module

import numpy as np


@dataclass(frozen=True, eq=False)
class MethodResult:
    """One method's answer at one (alpha, n_perm).

    Attributes
    ----------
    name, label : str
    neg_log10_p : ndarray, shape (n_voxels,)
        -log10 of the FWER-corrected p.
    threshold : float
        |t| above which voxels survive (inf if none can; nan if the method has no single
        t threshold, e.g. cluster inference).
    n_survivors : int
    min_p : float
        Smallest corrected p.
    min_p_error : float or None
        Monte-Carlo standard error of ``min_p`` (permutation methods).
    interval : tuple of float or None
        Monte-Carlo interval of the threshold (permutation max-t).
    note : str
        What the learner should know (RFT smoothness, flips used...).
    """

    name: str
    label: str
    neg_log10_p: np.ndarray
    threshold: float
    n_survivors: int
    min_p: float
    min_p_error: float = None
    interval: tuple = None
    note: str = ""


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    compute: object = field(repr=False)
    depends_on: str = "ttest"  # the state result whose change invalidates the cache
    uses_n_perm: bool = False

    def available(self, state):
        return getattr(state, self.depends_on) is not None and (
            self.depends_on != "ttest" or _module("corrections") is not None)


def _module(name):
    try:
        return import_module(f"glmteach.{name}")
    except ImportError:
        return None


def neg_log10(p):
    return -np.log10(np.clip(np.asarray(p, dtype=float), 1e-300, 1.0))


def random_field(masked):
    """RFT smoothness of the masked maps, or None while corrections.py is missing."""
    corrections = _module("corrections")
    if corrections is None:
        return None
    return corrections.random_field(masked.Y, masked.mask, masked.voxel_size_mm)


def _parametric(method):
    """Bonferroni / RFT: the p map does not depend on alpha, so it is computed once."""
    def compute(state, alpha, n_perm):
        corrections = _module("corrections")
        tt, field_ = state.ttest, state.field
        key = ("ttest", method, "p_corrected")
        if key not in state._cache:
            state._cache[key] = np.asarray(corrections.correct(
                tt, method, alpha=0.05, field=field_ if method == "rft" else None
            ).p_corrected, dtype=float)
        p = state._cache[key]
        shown = ("ttest", method, "neg_log10_p")  # one array for every alpha (memory; the
        if shown not in state._cache:             # panels redraw a map only if it changed)
            state._cache[shown] = neg_log10(p)
        if method == "rft":
            threshold = field_.threshold(alpha, tt.df, two_sided=tt.two_sided)
            note = (f"smoothness FWHM {_fmt_fwhm(field_.fwhm_mm)} mm, "
                    f"{field_.n_resels:,.0f} resels")
        else:
            threshold = corrections.bonferroni_threshold(alpha, tt.t.size, tt.df,
                                                         two_sided=tt.two_sided)
            note = f"{tt.t.size:,} tests"
        return MethodResult(method, METHODS[method].label, state._cache[shown],
                            float(threshold), int((p <= alpha).sum()), float(p.min()),
                            note=note)
    return compute


def _fmt_fwhm(fwhm):
    values = np.atleast_1d(fwhm)
    return " x ".join(f"{v:.1f}" for v in values)


def _permutation_maxt(state, alpha, n_perm):
    perm = state.permutation
    key = ("permutation", "maps", n_perm)  # p maps depend on n_perm, not on alpha
    if key not in state._cache:
        p = perm.corrected_p(n_perm=n_perm)
        best = int(np.argmin(p))
        error = float(np.asarray(perm.corrected_p_error(n_perm=n_perm))[best])
        state._cache[key] = (neg_log10(p), float(p[best]), error)
    neg_log10_p, min_p, error = state._cache[key]
    exact = perm.exact and n_perm >= perm.n_flips
    note = f"{n_perm:,} flips" + (" (all: exact)" if exact else " (random sample)")
    return MethodResult(
        "permutation", METHODS["permutation"].label, neg_log10_p,
        float(perm.threshold(alpha=alpha, n_perm=n_perm)),
        perm.n_survivors(alpha, n_perm=n_perm), min_p, min_p_error=error,
        interval=tuple(float(v) for v in perm.threshold_interval(alpha, n_perm=n_perm)),
        note=note)


def _cluster(kind):
    def compute(state, alpha, n_perm):
        clusters = state.clusters
        n_perm = min(n_perm, clusters.n_flips)  # cluster nulls are shorter (slow to compute)
        p = clusters.tfce_p(n_perm) if kind == "tfce" else clusters.cluster_p(kind, n_perm)
        from .._nulls import finite_population_factor

        error = float(np.sqrt(p.min() * (1 - p.min()) / n_perm)
                      * finite_population_factor(n_perm, state.n_distinct))
        note = (f"clusters at |t| > {clusters.t_threshold:.2f}" if kind != "tfce"
                else "E = 0.5, H = 2") + f", {n_perm:,} flips"
        return MethodResult(kind, METHODS[kind].label, neg_log10(p), float("nan"),
                            int((p <= alpha).sum()), float(p.min()), min_p_error=error,
                            note=note)
    return compute


def _rft_cluster(state, alpha, n_perm):
    """Random field theory's cluster extent p (spm_P_RF) of the permutation run's clusters."""
    clusters, field_ = state.clusters, state.field
    p_cluster = np.ones(clusters.n_clusters + 1)
    p_cluster[1:] = field_.cluster_p(clusters.cluster_sizes(), clusters.t_threshold,
                                     clusters.df, clusters.two_sided)
    p = p_cluster[clusters.labels]
    k = field_.cluster_threshold(clusters.t_threshold, alpha, clusters.df, clusters.two_sided)
    note = (f"clusters at |t| > {clusters.t_threshold:.2f}: significant from {k:,} voxels, "
            f"FWHM {_fmt_fwhm(field_.fwhm_mm)} mm")
    return MethodResult("rft_cluster", METHODS["rft_cluster"].label, neg_log10(p),
                        float("nan"), int((p <= alpha).sum()), float(p.min(initial=1.0)),
                        note=note)


METHODS = {m.name: m for m in [
    Method("bonferroni", "Bonferroni", _parametric("bonferroni")),
    Method("rft", "Random field theory", _parametric("rft")),
    Method("permutation", "Permutation max-t", _permutation_maxt, "permutation", True),
    Method("rft_cluster", "Cluster extent (RFT)", _rft_cluster, "clusters"),
    Method("size", "Cluster size (perm.)", _cluster("size"), "clusters", True),
    Method("tfce", "TFCE (perm.)", _cluster("tfce"), "clusters", True),
]}
DEFAULT_METHODS = ("bonferroni", "rft", "permutation")
