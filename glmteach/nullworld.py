"""The null-world lab: does each correction really keep the family-wise error at alpha?

A small experiment in the spirit of Eklund, Nichols & Knutsson (2016, PNAS): simulate many
group studies in which nothing happens (every subject's map is smooth noise inside the
lesson's mask), analyse each one as a learner would (one-sample t-test, then
each correction, with random field theory's smoothness estimated from that study's own
data) and count the studies with at least one false positive anywhere in the brain. A
method that controls the family-wise error rate (FWER) at alpha should find something in
about alpha of the studies, no more.

The noise can have a Gaussian autocorrelation (what random field theory assumes) or a
long-tailed one with the same estimated smoothness (:mod:`glmteach._noise`), and the
cluster methods form clusters at a cluster-defining threshold given as an uncorrected p
(``cdt_p``): with long tails and a liberal CDT, parametric cluster inference lets through
more false positives than it promises (Eklund et al. 2016; Cox et al. 2017, Brain
Connectivity 7:152), while permutation keeps alpha. :func:`cluster_failure_sentence` says
what a run measured.

Per study and method we store the **smallest corrected p-value over the brain** (every
correction is monotone in |t|, so this is the corrected p of the study's max |t|, or of its
largest cluster): the study has a false positive at level alpha exactly when that p is
<= alpha. Changing alpha re-scores these numbers; nothing is simulated again.

Each study's seed is derived from ``random_state`` and the study's index
(``numpy.random.SeedSequence(random_state, spawn_key=(k,))``), so the same seed gives the
same studies, and the first 50 studies of a run of 200 are those of a run of 50.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
from scipy import stats

from ._flips import check_n_perm, sign_flips
from ._kernels import clusters as _kc
from ._kernels import nullworld as _k
from ._kernels.signflip import pattern_codes, split_groups
from ._noise import NOISE_LABELS, NOISE_MODELS, NoiseModel, gaussian_weights, noise_model
from .narrative import cluster_failure_sentence  # noqa: F401 (was defined here)
from .rft import RandomField, cdt_from_p, check_cdt_p, resel_counts

__all__ = ["run_null_world", "NullWorldResult", "FWEREstimate", "simulate_null_cohort",
           "clopper_pearson", "cluster_failure_sentence", "fwer_table", "NOISE_MODELS",
           "gaussian_weights"]

METHODS = ("uncorrected", "bonferroni", "rft", "permutation", "rft_cluster", "cluster",
           "tfce")
DEFAULT_METHODS = ("uncorrected", "bonferroni", "rft", "permutation")
CLUSTER_METHODS = ("rft_cluster", "cluster", "tfce")
LABELS = {
    "uncorrected": "uncorrected p",
    "bonferroni": "Bonferroni",
    "rft": "random field theory",
    "permutation": "permutation max-t",
    "rft_cluster": "RFT cluster extent",
    "cluster": "permutation cluster size",
    "tfce": "permutation TFCE",
}
MAX_NULL_VALUES = 50_000_000  # n_experiments * n_perm kept in memory (float32: 200 MB)


@dataclass(frozen=True)
class FWEREstimate:
    """Empirical family-wise error rate of one method, with its binomial interval.

    Attributes
    ----------
    method : str
    rate : float
        Fraction of null studies with at least one false positive.
    lo, hi : float
        Clopper-Pearson (exact binomial) confidence interval of the rate.
    n_false : int
        Studies with a false positive.
    n_experiments : int
        Studies scored.
    level : float
        Confidence level of ``(lo, hi)``.
    """

    method: str
    rate: float
    lo: float
    hi: float
    n_false: int
    n_experiments: int
    level: float


def clopper_pearson(k, n, level=0.95):
    """Exact binomial confidence interval ``(lo, hi)`` for ``k`` successes in ``n`` trials."""
    if n == 0:
        return 0.0, 1.0
    tail = (1.0 - level) / 2.0
    lo = 0.0 if k == 0 else float(stats.beta.ppf(tail, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1.0 - tail, k + 1, n - k))
    return lo, hi


@dataclass(frozen=True, eq=False)
class NullWorldResult:
    """Per-study records of a null-world run (complete, or partial while it runs).

    Attributes
    ----------
    methods : tuple of str
    min_p : dict of str -> ndarray, shape (n_done,)
        Per method and study, the smallest corrected p over the brain (for "uncorrected",
        the smallest uncorrected p). A false positive at level alpha is ``min_p <= alpha``.
    max_stat : ndarray, shape (n_done,)
        Largest ``|t|`` (two-sided) or ``t`` of each study.
    max_null : ndarray of float32, shape (n_done, n_flips) or None
        Each study's sign-flip max-statistic null (flip 0 = the study's own data);
        None when "permutation" was not run.
    fwhm_mm : ndarray, shape (n_done, 3)
        Smoothness estimated from each study's residuals (what RFT uses), assuming a
        Gaussian ACF as SPM and FSL do: for the long-tailed noise it is the nominal FWHM
        although the noise is not Gaussian.
    resels : ndarray, shape (n_done, 4)
        Each study's resel counts ``R0..R3`` at that smoothness.
    n_experiments : int
        Studies planned (``n_done`` of them are in the records).
    n_subjects, n_voxels, n_perm : int
    smoothing_fwhm : float
        Nominal FWHM (mm) of the noise (for "gaussian" noise, of the kernel that smoothed
        the white noise).
    voxel_size_mm : tuple of 3 floats
    two_sided : bool
    alpha : float
        Default level of :meth:`fwer`.
    random_state : int
        The seed (drawn at random and recorded when ``None`` was given).
    elapsed : float
        Seconds spent so far.
    noise : str
        The noise model, one of ``NOISE_MODELS``; ``noise_description`` says what it is.
    cdt_p : float
        Cluster-defining threshold of the cluster methods, an uncorrected p
        (:attr:`cdt_t` is the same as a t).
    connectivity : int
        Neighbours that join a cluster (6: faces, as nilearn).
    max_cluster : ndarray, shape (n_done,) or None
        Each study's largest cluster (voxels) at the CDT; None without cluster methods.
    cluster_null : ndarray of int32, shape (n_done, n_flips) or None
        Each study's sign-flip null of the largest cluster size (flip 0 = its own data);
        None without "cluster".
    """

    methods: tuple
    min_p: dict
    max_stat: np.ndarray
    max_null: np.ndarray
    fwhm_mm: np.ndarray
    resels: np.ndarray
    n_experiments: int
    n_subjects: int
    n_voxels: int
    n_perm: int
    smoothing_fwhm: float
    voxel_size_mm: tuple
    two_sided: bool
    alpha: float
    random_state: int
    elapsed: float = 0.0
    noise: str = "gaussian"
    noise_description: str = ""
    cdt_p: float = 0.001
    connectivity: int = 6
    max_cluster: np.ndarray = None
    cluster_null: np.ndarray = None

    @property
    def n_done(self):
        """Studies finished (and recorded)."""
        return int(self.max_stat.shape[0])

    @property
    def complete(self):
        return self.n_done == self.n_experiments

    @property
    def df(self):
        return self.n_subjects - 1

    @property
    def cdt_t(self):
        """The cluster-defining threshold as ``|t|`` (two-sided) or ``t``."""
        return cdt_from_p(self.cdt_p, self.df, self.two_sided)

    def fields(self):
        """Each study's :class:`~glmteach.rft.RandomField` (its estimated smoothness)."""
        voxel = np.asarray(self.voxel_size_mm)
        return [RandomField(fwhm_vox=f / voxel, fwhm_mm=f, resels=r, n_voxels=self.n_voxels,
                            df_residuals=float(self.df))
                for f, r in zip(self.fwhm_mm, self.resels)]

    def cluster_thresholds(self, alpha=None):
        """Per study, the smallest cluster (voxels) each cluster method calls significant.

        ``"rft_cluster"``: :meth:`RandomField.cluster_threshold` at the study's estimated
        smoothness; ``"cluster"``: from the study's permutation null, the smallest size
        ``k`` with ``#{null >= k} <= floor(alpha n_flips)`` (``inf`` if none).

        Returns
        -------
        dict of str -> ndarray, shape (n_done,)
        """
        alpha = _check_alpha(self.alpha if alpha is None else alpha)
        out = {}
        if "rft_cluster" in self.methods:
            out["rft_cluster"] = np.array(
                [f.cluster_threshold(self.cdt_t, alpha, self.df, self.two_sided)
                 for f in self.fields()], dtype=np.float64)
        if self.cluster_null is not None:
            n = self.cluster_null.shape[1]
            allowed = int(np.floor(alpha * n + 1e-9))
            if allowed == 0:
                out["cluster"] = np.full(self.n_done, np.inf)
            else:
                ranked = np.sort(self.cluster_null, axis=1)[:, n - allowed - 1]
                out["cluster"] = ranked.astype(np.float64) + 1.0
        return out

    def false_positives(self, method, alpha=None):
        """Which studies have >= 1 false positive with ``method``, bool shape (n_done,)."""
        if method not in self.min_p:
            raise ValueError(f"method {method!r} was not run; choose one of "
                             f"{', '.join(self.methods)}.")
        return self.min_p[method] <= _check_alpha(self.alpha if alpha is None else alpha)

    def fwer(self, alpha=None, level=0.95):
        """Empirical FWER per method at ``alpha``: ``{method: FWEREstimate}``."""
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, got {level!r}; try 0.95.")
        out = {}
        for method in self.methods:
            k = int(self.false_positives(method, alpha).sum())
            lo, hi = clopper_pearson(k, self.n_done, level)
            rate = k / self.n_done if self.n_done else np.nan
            out[method] = FWEREstimate(method, rate, lo, hi, k, self.n_done, level)
        return out

    def permutation_thresholds(self, alpha=None):
        """Each study's permutation max-t threshold at ``alpha``, shape (n_done,).

        The value at rank ``n_perm - floor(alpha n_perm)`` of the study's sorted null
        (``PermutationResult.threshold``'s convention); ``inf`` if nothing can survive.
        """
        if self.max_null is None:
            raise ValueError("permutation was not run; add 'permutation' to methods.")
        alpha = _check_alpha(self.alpha if alpha is None else alpha)
        n = self.max_null.shape[1]
        allowed = int(np.floor(alpha * n + 1e-9))
        if allowed == 0:
            return np.full(self.n_done, np.inf)
        return np.sort(self.max_null, axis=1)[:, n - allowed - 1].astype(np.float64)

    def thresholds(self, alpha=None):
        """A typical ``|t|`` (two-sided) or ``t`` threshold per method at ``alpha``.

        Uncorrected and Bonferroni thresholds are the same in every study; RFT's is at
        the studies' average estimated smoothness (one ``RandomField``); permutation's is
        the median over studies of each study's own threshold. Cluster and TFCE have no
        voxel threshold (NaN).

        Returns
        -------
        dict of str -> float
        """
        from .rft import RandomField

        alpha = _check_alpha(self.alpha if alpha is None else alpha)
        tail = alpha / 2 if self.two_sided else alpha
        out = {}
        for method in self.methods:
            if method == "uncorrected":
                out[method] = float(stats.t.isf(tail, self.df))
            elif method == "bonferroni":
                out[method] = float(stats.t.isf(tail / self.n_voxels, self.df))
            elif method == "rft" and self.n_done:
                fwhm = np.nanmean(self.fwhm_mm / np.asarray(self.voxel_size_mm), axis=0)
                field = RandomField(fwhm_vox=fwhm, fwhm_mm=fwhm * self.voxel_size_mm,
                                    resels=np.nanmean(self.resels, axis=0),
                                    n_voxels=self.n_voxels, df_residuals=float(self.df))
                out[method] = field.threshold(alpha, float(self.df), self.two_sided)
            elif method == "permutation" and self.n_done:
                out[method] = float(np.median(self.permutation_thresholds(alpha)))
            else:
                out[method] = np.nan
        return out

    def table(self, alpha=None, level=0.95):
        """One row per method: FWER, interval, false positives (pandas DataFrame)."""
        import pandas as pd

        thresholds = self.thresholds(alpha)
        sizes = {m: float(np.median(v)) if v.size else np.nan
                 for m, v in self.cluster_thresholds(alpha).items()}
        rows = [dict(method=m, label=LABELS[m], fwer=e.rate, ci_low=e.lo, ci_high=e.hi,
                     false_positives=e.n_false, experiments=e.n_experiments,
                     threshold=thresholds[m], cluster_threshold=sizes.get(m, np.nan))
                for m, e in self.fwer(alpha, level).items()]
        return pd.DataFrame(rows)

    def estimated_fwhm(self):
        """Mean estimated FWHM (mm) per axis over the studies, shape (3,) (NaN if none)."""
        if not self.n_done:
            return np.full(3, np.nan)
        return np.nanmean(self.fwhm_mm, axis=0)

    def summary(self, alpha=None):
        """A few lines for learners: each method's FWER against alpha."""
        alpha = self.alpha if alpha is None else alpha
        noise = self.noise_description or f"noise smoothed at {self.smoothing_fwhm:g} mm"
        lines = [f"{self.n_done} null studies of {self.n_subjects} subjects ({noise}), "
                 f"target FWER {alpha:.0%}:"]
        if self.n_done:
            fx, fy, fz = self.estimated_fwhm()
            lines.append(f"  estimated FWHM (Gaussian ACF assumed, what RFT uses): "
                         f"{fx:.1f} x {fy:.1f} x {fz:.1f} mm")
        if any(m in self.methods for m in CLUSTER_METHODS):
            lines.append(f"  clusters formed at uncorrected p < {self.cdt_p:g} "
                         f"({'|t|' if self.two_sided else 't'} > {self.cdt_t:.2f}), "
                         f"{self.connectivity}-connected")
        for method, e in self.fwer(alpha).items():
            lines.append(f"  {LABELS[method]:<26} {e.rate:6.1%}  "
                         f"(95% CI {e.lo:.1%} - {e.hi:.1%}; {e.n_false} of "
                         f"{e.n_experiments} studies)")
        return "\n".join(lines)


def _check_alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) \
            or not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}; try alpha=0.05.")
    return float(alpha)


# ------------------------------------------------------------------------------ simulation
@dataclass(frozen=True, eq=False)
class _Component:
    """One smoothed white-noise field of a noise model, scaled by ``amplitude``."""

    amplitude: float
    weights: tuple  # three float32 1D kernels of unit L2 norm
    support: np.ndarray  # flat indices (padded box) of noise reaching the mask

    def padded_shape(self, shape):
        return tuple(s + w.size - 1 for s, w in zip(shape, self.weights))


@dataclass(frozen=True, eq=False)
class _Plan:
    """What every study shares: the cropped mask, the noise, the flips' layout."""

    mask: np.ndarray  # bool, cropped to the bounding box of the mask
    components: tuple  # _Component per independent part of the noise
    n_subjects: int
    n_perm: int
    two_sided: bool
    entropy: int
    voxel_size: np.ndarray
    methods: tuple
    noise: NoiseModel = None
    cdt_p: float = 0.001  # cluster-defining threshold, uncorrected p
    connectivity: int = 6
    mask_index: np.ndarray = None  # flat indices of the mask voxels in the box
    neighbours: np.ndarray = None  # in-mask neighbours (for labelling observed clusters)
    block: int = 1024  # voxels per table block: 2 x 256 rows x 4 KB = 2 MB, an L2

    @property
    def n_voxels(self):
        return int(self.mask.sum())

    @property
    def cdt_t(self):
        """The CDT as ``|t|`` (two-sided) or ``t``, df = n_subjects - 1."""
        return cdt_from_p(self.cdt_p, self.n_subjects - 1, self.two_sided)

    @property
    def clusters(self):
        return any(m in self.methods for m in CLUSTER_METHODS)


def _support(mask, weights):
    """Flat indices of the padded box within the kernel's reach of the mask."""
    from scipy import ndimage

    radii = [(w.size - 1) // 2 for w in weights]
    support = np.pad(mask, [(r, r) for r in radii]).astype(np.uint8)
    for axis, r in enumerate(radii):  # a box dilation is three 1D ones
        support = ndimage.maximum_filter1d(support, 2 * r + 1, axis=axis, mode="constant")
    return np.flatnonzero(support)


def _make_plan(mask, n_subjects, smoothing_fwhm, n_perm, two_sided, random_state,
               voxel_size_mm, methods, noise="gaussian", cdt_p=0.001, connectivity=6):
    from .clusters import CONNECTIVITIES, mask_neighbours

    mask = _check_mask(mask)
    lo = [int(i.min()) for i in np.nonzero(mask)]
    hi = [int(i.max()) + 1 for i in np.nonzero(mask)]
    box = np.ascontiguousarray(mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]])
    voxel_size = _check_voxel_size(voxel_size_mm)
    if isinstance(smoothing_fwhm, bool) \
            or not isinstance(smoothing_fwhm, (int, float, np.integer, np.floating)) \
            or not 0 <= smoothing_fwhm <= 30:
        raise ValueError(f"smoothing_fwhm must be between 0 and 30 mm, got "
                         f"{smoothing_fwhm!r}; try smoothing_fwhm=8.0.")
    if isinstance(n_subjects, bool) or not isinstance(n_subjects, (int, np.integer)) \
            or not 3 <= n_subjects <= 200:
        raise ValueError(f"n_subjects must be a whole number between 3 and 200, got "
                         f"{n_subjects!r}; try n_subjects=16.")
    if random_state is None:
        random_state = int(np.random.SeedSequence().entropy % 2**63)
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) \
            or random_state < 0:
        raise ValueError(f"random_state must be a non-negative int or None, got "
                         f"{random_state!r}; try random_state=0.")
    cdt_p = check_cdt_p(cdt_p)
    if isinstance(connectivity, bool) or connectivity not in CONNECTIVITIES:
        raise ValueError(f"connectivity must be 6, 18 or 26 neighbours, got "
                         f"{connectivity!r}; try connectivity=6 (faces, as nilearn).")
    model = noise_model(noise, float(smoothing_fwhm), voxel_size)
    components = []
    for amplitude, fwhm in zip(model.amplitudes, model.fwhm_mm):
        weights = gaussian_weights(fwhm, voxel_size)
        components.append(_Component(float(amplitude), weights, _support(box, weights)))
    clusters = any(m in methods for m in CLUSTER_METHODS)
    return _Plan(mask=box, components=tuple(components), n_subjects=int(n_subjects),
                 n_perm=n_perm, two_sided=bool(two_sided), entropy=int(random_state),
                 voxel_size=voxel_size, methods=methods, noise=model, cdt_p=cdt_p,
                 connectivity=int(connectivity), mask_index=np.flatnonzero(box),
                 neighbours=mask_neighbours(box, connectivity) if clusters else None)


def _study_seeds(plan, k):
    """(noise generator, flip seed) of study ``k``: independent of the number of studies."""
    noise = np.random.default_rng(np.random.SeedSequence(plan.entropy, spawn_key=(k, 0)))
    flip_seed = int(np.random.SeedSequence(plan.entropy, spawn_key=(k, 1))
                    .generate_state(1, np.uint64)[0] % 2**63)
    return noise, flip_seed


def _simulate_box(plan, rng):
    """Smooth unit-variance noise on the mask's bounding box, shape (n_subjects, *box).

    Components are drawn one after the other from ``rng`` (Gaussian noise: one).
    """
    n = plan.n_subjects
    volumes = np.empty((n,) + plan.mask.shape, np.float32)
    part = np.empty_like(volumes) if len(plan.components) > 1 else volumes
    for c, component in enumerate(plan.components):
        noise = np.zeros((n,) + component.padded_shape(plan.mask.shape), np.float32)
        values = rng.standard_normal((n, component.support.size), dtype=np.float32)
        _k.scatter_noise(values, component.support, noise.reshape(n, -1))
        _k.smooth_valid(noise, *component.weights, part)
        if part is not volumes:
            if c == 0:
                np.multiply(part, np.float32(component.amplitude), out=volumes)
            else:
                volumes += np.float32(component.amplitude) * part
    return volumes


def simulate_null_cohort(mask, n_subjects=16, smoothing_fwhm=8.0, voxel_size_mm=(3, 3, 3),
                         random_state=0, study=0, noise="gaussian"):
    """One null study: every subject's map is smooth noise, no effect anywhere.

    White noise is smoothed with a Gaussian kernel of ``smoothing_fwhm`` (so the field
    has that FWHM and unit variance) on a box padded by the kernel radius, so the noise
    is stationary up to the mask's edge. ``noise="long_tailed"`` adds two such fields,
    a narrow and a wide one, with the same neighbour correlation (see
    :mod:`glmteach._noise`).

    Parameters
    ----------
    mask : ndarray of bool, shape (nx, ny, nz)
        The search volume (``MaskedMaps.mask``).
    n_subjects : int
    smoothing_fwhm : float
        In mm (0 = white noise).
    voxel_size_mm : float or sequence of 3 floats
    random_state : int
    study : int
        Which study of the run seeded by ``random_state`` (the ``k`` of
        :func:`run_null_world`'s records).
    noise : {"gaussian", "long_tailed"}

    Returns
    -------
    ndarray of float64, shape (n_subjects, n_voxels)
        Voxels in nilearn's order (C-order of ``np.nonzero(mask)``).
    """
    plan = _make_plan(mask, n_subjects, smoothing_fwhm, 1, True, random_state,
                      voxel_size_mm, (), noise=noise)
    volumes = _simulate_box(plan, _study_seeds(plan, int(study))[0])
    return volumes[:, plan.mask].astype(np.float64)


def run_null_world(mask, n_subjects=16, smoothing_fwhm=8.0, n_experiments=200, n_perm=1000,
                   alpha=0.05, methods=DEFAULT_METHODS, random_state=0, progress=None,
                   voxel_size_mm=(3.0, 3.0, 3.0), two_sided=True, n_jobs=None,
                   noise="gaussian", cdt_p=0.001, connectivity=6):
    """Simulate null studies and measure each method's family-wise error rate.

    Parameters
    ----------
    mask : ndarray of bool, shape (nx, ny, nz)
        The search volume (``MaskedMaps.mask``); noise is generated inside it.
    n_subjects : int
        Subjects per study (3 .. 200).
    smoothing_fwhm : float
        FWHM in mm of the noise (0 .. 30): of the Gaussian kernel applied to white noise,
        or for ``noise="long_tailed"`` the FWHM that the usual estimate reports.
    n_experiments : int
        Number of null studies (1 .. 100,000).
    n_perm : int
        Sign flips per study for the permutation methods, the observed one included.
    alpha : float
        Default level of the result's :meth:`NullWorldResult.fwer` (any level can be
        asked later without re-simulating).
    methods : sequence of str
        Any of ``METHODS``: "uncorrected", "bonferroni", "rft" (peak height; smoothness
        estimated per study from its residuals), "permutation" (max-t), "rft_cluster"
        (random field theory's cluster extent p of the largest cluster, as SPM),
        "cluster" (permutation cluster size) and "tfce" (permutation; slow on a
        whole-brain mask: use fewer studies).
    random_state : int or None
        Seed of the whole run (``None``: a fresh one, recorded in the result).
    progress : callable or None
        Called after each study as ``progress(fraction_done, partial_result)``; raising
        an exception in it stops the run (keep the last partial result).
    voxel_size_mm : float or sequence of 3 floats
    two_sided : bool
        Max |t| (default) or max t.
    n_jobs : int or None
        Studies run at the same time, one per thread (``None``: one per core).
    noise : {"gaussian", "long_tailed"}
        Gaussian autocorrelation (RFT's assumption) or a long-tailed one with the same
        estimated FWHM (:mod:`glmteach._noise`).
    cdt_p : float
        Cluster-defining threshold of the cluster methods as an uncorrected p (0.01,
        0.005, 0.001); converted to ``|t|`` with df = n_subjects - 1. A t is refused.
    connectivity : {6, 18, 26}
        Neighbours that join a cluster (6: faces, nilearn's choice; SPM uses 18).

    Returns
    -------
    NullWorldResult
    """
    methods = _check_methods(methods)
    n_perm = check_n_perm(n_perm)
    alpha = _check_alpha(alpha)
    if isinstance(n_experiments, bool) or not isinstance(n_experiments, (int, np.integer)) \
            or not 1 <= n_experiments <= 100_000:
        raise ValueError(f"n_experiments must be a whole number between 1 and 100,000, got "
                         f"{n_experiments!r}; try n_experiments=200.")
    if ("permutation" in methods or "cluster" in methods) \
            and n_experiments * n_perm > MAX_NULL_VALUES:
        raise ValueError(f"n_experiments * n_perm = {n_experiments * n_perm:,} null values "
                         f"is more than {MAX_NULL_VALUES:,}; lower n_perm or n_experiments.")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}; pass "
                        "e.g. lambda fraction, partial: print(fraction).")
    plan = _make_plan(mask, n_subjects, smoothing_fwhm, n_perm, two_sided, random_state,
                      voxel_size_mm, methods, noise=noise, cdt_p=cdt_p,
                      connectivity=connectivity)
    records = _Records(plan, int(n_experiments), float(smoothing_fwhm), alpha)
    n_workers = _n_workers(n_jobs)
    with ThreadPoolExecutor(n_workers, thread_name_prefix="glmteach-null") as pool:
        pending = {}
        try:
            for k in range(records.n_experiments):
                # studies run n_workers at a time (kernels release the GIL); results are
                # recorded in order, so partial results are always the first n_done studies
                while len(pending) < 2 * n_workers and k + len(pending) < records.n_experiments:
                    j = k + len(pending)
                    pending[j] = pool.submit(_run_study, plan, j)
                records.add(k, pending.pop(k).result())
                if progress is not None:
                    progress((k + 1) / records.n_experiments, records.result(k + 1))
        finally:
            for future in pending.values():
                future.cancel()
    return records.result(records.n_experiments)


def _n_workers(n_jobs):
    """Threads for ``n_jobs`` (scikit-learn style: None or -1 = every core numba may use)."""
    available = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None or n_jobs == 0:
        return available
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)):
        raise ValueError(f"n_jobs must be an int or None, got {n_jobs!r}; try n_jobs=None.")
    return max(1, available + 1 + int(n_jobs)) if n_jobs < 0 else min(int(n_jobs), available)


class _Records:
    """Preallocated per-study arrays; results are views of the first ``n_done`` rows."""

    def __init__(self, plan, n_experiments, smoothing_fwhm, alpha):
        self.plan, self.n_experiments = plan, n_experiments
        self.smoothing_fwhm, self.alpha = smoothing_fwhm, alpha
        self.min_p = {m: np.full(n_experiments, np.nan) for m in plan.methods}
        self.max_stat = np.full(n_experiments, np.nan)
        self.fwhm_mm = np.full((n_experiments, 3), np.nan)
        self.resels = np.full((n_experiments, 4), np.nan)
        flips = sign_flips(plan.n_subjects, plan.n_perm, plan.two_sided, 0).n_flips
        self.max_null = (np.zeros((n_experiments, flips), np.float32)
                         if "permutation" in plan.methods else None)
        self.max_cluster = np.full(n_experiments, np.nan) if plan.clusters else None
        self.cluster_null = (np.zeros((n_experiments, flips), np.int32)
                             if "cluster" in plan.methods else None)
        self.tic = time.perf_counter()

    def add(self, k, study):
        self.max_stat[k] = study["max_stat"]
        self.fwhm_mm[k] = study["fwhm_mm"]
        self.resels[k] = study["resels"]
        for method in self.plan.methods:
            self.min_p[method][k] = study[method]
        if self.max_null is not None:
            self.max_null[k] = study["max_null"]
        if self.max_cluster is not None:
            self.max_cluster[k] = study["max_cluster"]
        if self.cluster_null is not None:
            self.cluster_null[k] = study["cluster_null"]

    def result(self, n_done):
        plan = self.plan
        return NullWorldResult(
            methods=plan.methods, min_p={m: v[:n_done] for m, v in self.min_p.items()},
            max_stat=self.max_stat[:n_done], fwhm_mm=self.fwhm_mm[:n_done],
            resels=self.resels[:n_done],
            max_null=None if self.max_null is None else self.max_null[:n_done],
            n_experiments=self.n_experiments, n_subjects=plan.n_subjects,
            n_voxels=plan.n_voxels, n_perm=plan.n_perm, smoothing_fwhm=self.smoothing_fwhm,
            voxel_size_mm=tuple(float(v) for v in plan.voxel_size), two_sided=plan.two_sided,
            alpha=self.alpha, random_state=plan.entropy,
            elapsed=time.perf_counter() - self.tic, noise=plan.noise.name,
            noise_description=plan.noise.describe(), cdt_p=plan.cdt_p,
            connectivity=plan.connectivity,
            max_cluster=None if self.max_cluster is None else self.max_cluster[:n_done],
            cluster_null=None if self.cluster_null is None else self.cluster_null[:n_done])


def _run_study(plan, k):
    """Simulate study ``k`` and score every method: a dict of per-study numbers."""
    from .glm import t_logsf

    rng, flip_seed = _study_seeds(plan, k)
    volumes = _simulate_box(plan, rng)
    df = plan.n_subjects - 1.0
    Ys = np.empty((plan.n_subjects, plan.n_voxels), np.float32)
    t = np.empty(plan.n_voxels)
    _k.unit_columns_t(volumes.reshape(plan.n_subjects, -1), plan.mask_index, Ys, t)
    stat = float(np.abs(t).max() if plan.two_sided else t.max())
    p = float(np.exp(t_logsf(np.array([abs(stat)]), df)[0]))
    p = min(1.0, 2.0 * p) if plan.two_sided else (p if stat >= 0 else 1.0 - p)
    field = _random_field(plan, volumes, df)  # the smoothness is shown for every method
    study = {"max_stat": stat, "fwhm_mm": field.fwhm_mm, "resels": field.resels,
             "uncorrected": p, "bonferroni": min(1.0, p * plan.n_voxels)}
    if "rft" in plan.methods:
        study["rft"] = float(field.corrected_p(stat, df, plan.two_sided))
    if "permutation" in plan.methods:
        null = _max_null(plan, Ys, flip_seed)
        study["max_null"] = null
        study["permutation"] = float(np.mean(null >= null[0]))
    if plan.clusters:
        roots = _kc.label_clusters(t, plan.cdt_t, plan.two_sided, plan.neighbours)
        inside = roots[roots >= 0]
        study["max_cluster"] = float(np.bincount(inside).max()) if inside.size else 0.0
    if "rft_cluster" in plan.methods:
        study["rft_cluster"] = (float(field.cluster_p(study["max_cluster"], plan.cdt_t, df,
                                                      plan.two_sided))
                                if study["max_cluster"] > 0 else 1.0)
    if "cluster" in plan.methods:
        null = _cluster_null(plan, Ys, flip_seed, int(study["max_cluster"]))
        study["cluster_null"] = null
        study["cluster"] = float(np.mean(null >= null[0]))
    if "tfce" in plan.methods:
        Y = volumes[:, plan.mask].astype(np.float64)
        study["tfce"] = _tfce_min_p(plan, Y, flip_seed)
    return study


def _random_field(plan, volumes, df):
    """RFT's view of one study: smoothness from its residuals (``random_field``'s estimator)."""
    sums, pairs = _k.roughness_sums(volumes, plan.mask)
    fwhm_vox = np.full(3, np.inf)
    for axis in range(3):
        if pairs[axis]:
            r = 1.0 - sums[axis] / pairs[axis] / 2.0
            r = float(np.clip(r * (1.0 + (1.0 - r**2) / (2.0 * df)), 1e-6, 1.0 - 1e-12))
            fwhm_vox[axis] = np.sqrt(-2.0 * np.log(2.0) / np.log(r))
    return RandomField(fwhm_vox=fwhm_vox, fwhm_mm=fwhm_vox * plan.voxel_size,
                       resels=resel_counts(plan.mask, fwhm_vox), n_voxels=plan.n_voxels,
                       df_residuals=df)


def _max_null(plan, Ys, flip_seed):
    """Sign-flip max-statistic null of one study (float32 kernel), shape (n_flips,).

    ``Ys`` are the study's columns scaled to unit sum of squares (flip-invariant).
    """
    flips = sign_flips(plan.n_subjects, plan.n_perm, plan.two_sided, flip_seed)
    starts, sizes = split_groups(plan.n_subjects)
    codes = pattern_codes(flips.signs, starts, sizes)
    out = np.empty((-(-Ys.shape[1] // plan.block), codes.shape[1]), np.int32)
    _k.max_null_f32(Ys, starts, sizes, codes, plan.two_sided, plan.block, out)
    s_hat = _k.decode_keys(out.max(axis=0)).astype(np.float64)
    n = float(plan.n_subjects)
    return (s_hat * np.sqrt((n - 1.0) / np.maximum(n - s_hat**2, n * 1e-14))).astype(
        np.float32)


def _cluster_null(plan, Ys, flip_seed, observed):
    """Sign-flip null of the largest cluster size of one study (float32 kernel), int32.

    The flips are those of :func:`glmteach.cluster_permutation_test` with the same seed;
    flip 0 is the study's own largest cluster (``observed``, labelled in float64).
    """
    flips = sign_flips(plan.n_subjects, plan.n_perm, plan.two_sided, flip_seed)
    starts, sizes = split_groups(plan.n_subjects)
    codes = pattern_codes(flips.signs, starts, sizes)
    n, u = float(plan.n_subjects), plan.cdt_t
    s_threshold = np.float32(u * np.sqrt(n / (n - 1.0 + u * u)))  # t > u  <=>  s > this
    out = np.empty(codes.shape[1], np.int32)
    _k.cluster_null_f32(Ys, starts, sizes, codes, s_threshold, plan.two_sided, plan.block,
                        plan.neighbours, out)
    out[0] = observed
    return out


def _tfce_min_p(plan, Y, flip_seed):
    from .clusters import cluster_permutation_test

    result = cluster_permutation_test(
        Y, plan.mask, None, n_perm=plan.n_perm, two_sided=plan.two_sided,
        cluster_threshold=plan.cdt_p, connectivity=plan.connectivity, tfce=True,
        random_state=flip_seed, n_jobs=1)  # one study per thread
    return float(np.mean(result.max_tfce_null >= result.max_tfce_null[0]))


def _check_methods(methods):
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"unknown methods {unknown or methods!r}; choose among "
                         f"{', '.join(METHODS)}.")
    return tuple(m for m in METHODS if m in methods)  # canonical order, no repeats


def _check_mask(mask):
    mask = np.asarray(mask)
    if mask.ndim != 3 or mask.dtype.kind not in "biu":
        raise ValueError(f"mask must be a 3D boolean array, got shape {mask.shape} and "
                         f"dtype {mask.dtype}; pass MaskedMaps.mask.")
    mask = mask.astype(bool)
    if mask.sum() < 2:
        raise ValueError("mask selects fewer than 2 voxels; pass MaskedMaps.mask.")
    return mask


def _check_voxel_size(voxel_size_mm):
    try:
        size = np.broadcast_to(np.asarray(voxel_size_mm, dtype=np.float64), (3,)).copy()
    except (TypeError, ValueError):
        size = np.full(3, np.nan)
    if not (np.isfinite(size).all() and (size > 0).all()):
        raise ValueError(f"voxel_size_mm must be 3 positive numbers, got {voxel_size_mm!r}; "
                         "use MaskedMaps.voxel_size_mm.")
    return size


def fwer_table(results, alpha=None, level=0.95):
    """One row per run and method: noise, CDT, FWER with its interval (pandas DataFrame).

    ``results`` is a sequence (or a dict's values) of :class:`NullWorldResult`, e.g. the
    same study design run at two CDTs and two noise models.
    """
    import pandas as pd

    results = list(results.values()) if isinstance(results, dict) else list(results)
    rows = []
    for result in results:
        level_alpha = result.alpha if alpha is None else alpha
        for method, e in result.fwer(level_alpha, level).items():
            rows.append(dict(noise=result.noise, cdt_p=result.cdt_p, method=method,
                             label=LABELS[method], fwer=e.rate, ci_low=e.lo, ci_high=e.hi,
                             false_positives=e.n_false, studies=e.n_experiments,
                             n_perm=result.n_perm))
    return pd.DataFrame(rows)
