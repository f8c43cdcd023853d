"""The null-world lab: does each correction really keep the family-wise error at alpha?

A small experiment in the spirit of Eklund, Nichols & Knutsson (2016, PNAS): simulate many
group studies in which nothing happens (every subject's map is smooth Gaussian noise
inside the lesson's mask), analyse each one as a learner would (one-sample t-test, then
each correction, with random field theory's smoothness estimated from that study's own
data) and count the studies with at least one false positive anywhere in the brain. A
method that controls the family-wise error rate (FWER) at alpha should find something in
about alpha of the studies, no more.

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
from dataclasses import dataclass, replace

import numba
import numpy as np
from scipy import stats

from ._flips import check_n_perm, sign_flips
from ._kernels import nullworld as _k
from ._kernels.signflip import pattern_codes, split_groups

METHODS = ("uncorrected", "bonferroni", "rft", "permutation", "cluster", "tfce")
DEFAULT_METHODS = ("uncorrected", "bonferroni", "rft", "permutation")
LABELS = {
    "uncorrected": "uncorrected p",
    "bonferroni": "Bonferroni",
    "rft": "random field theory",
    "permutation": "permutation max-t",
    "cluster": "permutation cluster size",
    "tfce": "permutation TFCE",
}
MAX_NULL_VALUES = 50_000_000  # n_experiments * n_perm kept in memory (float32: 200 MB)
_TRUNCATE = 4.0  # Gaussian kernel radius in standard deviations (scipy's default)
_SIGMA_PER_FWHM = 1.0 / np.sqrt(8.0 * np.log(2.0))


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
        Smoothness estimated from each study's residuals (what RFT used; NaN without
        "rft").
    resels : ndarray, shape (n_done, 4)
        Each study's resel counts ``R0..R3`` at that smoothness (NaN without "rft").
    n_experiments : int
        Studies planned (``n_done`` of them are in the records).
    n_subjects, n_voxels, n_perm : int
    smoothing_fwhm : float
        FWHM (mm) of the Gaussian kernel that smoothed the white noise.
    voxel_size_mm : tuple of 3 floats
    two_sided : bool
    alpha : float
        Default level of :meth:`fwer`.
    random_state : int
        The seed (drawn at random and recorded when ``None`` was given).
    elapsed : float
        Seconds spent so far.
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
        rows = [dict(method=m, label=LABELS[m], fwer=e.rate, ci_low=e.lo, ci_high=e.hi,
                     false_positives=e.n_false, experiments=e.n_experiments,
                     threshold=thresholds[m])
                for m, e in self.fwer(alpha, level).items()]
        return pd.DataFrame(rows)

    def summary(self, alpha=None):
        """A few lines for learners: each method's FWER against alpha."""
        alpha = self.alpha if alpha is None else alpha
        lines = [f"{self.n_done} null studies of {self.n_subjects} subjects "
                 f"(noise smoothed at {self.smoothing_fwhm:g} mm), target FWER {alpha:.0%}:"]
        for method, e in self.fwer(alpha).items():
            lines.append(f"  {LABELS[method]:<26} {e.rate:6.1%}  "
                         f"(95% CI {e.lo:.1%} - {e.hi:.1%}; {e.n_false} studies)")
        return "\n".join(lines)


def _check_alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) \
            or not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}; try alpha=0.05.")
    return float(alpha)


# ------------------------------------------------------------------------------ simulation
@dataclass(frozen=True, eq=False)
class _Plan:
    """What every study shares: the cropped mask, the kernels, the flips' layout."""

    mask: np.ndarray  # bool, cropped to the bounding box of the mask
    weights: tuple  # three float32 1D kernels of unit L2 norm
    n_subjects: int
    n_perm: int
    two_sided: bool
    entropy: int
    voxel_size: np.ndarray
    methods: tuple
    support: np.ndarray = None  # flat indices (padded box) of noise reaching the mask
    mask_index: np.ndarray = None  # flat indices of the mask voxels in the box
    block: int = 1024  # voxels per table block: 2 x 256 rows x 4 KB = 2 MB, an L2

    @property
    def n_voxels(self):
        return int(self.mask.sum())

    def padded_shape(self):
        return tuple(s + w.size - 1 for s, w in zip(self.mask.shape, self.weights))

    def with_support(self):
        """Only noise within the kernel's reach of the mask is drawn (a third less)."""
        from scipy import ndimage

        radii = [(w.size - 1) // 2 for w in self.weights]
        support = np.pad(self.mask, [(r, r) for r in radii]).astype(np.uint8)
        for axis, r in enumerate(radii):  # a box dilation is three 1D ones
            support = ndimage.maximum_filter1d(support, 2 * r + 1, axis=axis, mode="constant")
        return replace(self, support=np.flatnonzero(support),
                       mask_index=np.flatnonzero(self.mask))


def gaussian_weights(fwhm_mm, voxel_size_mm):
    """1D Gaussian kernels (one per axis) of unit L2 norm, truncated at 4 sigma.

    Unit L2 norm keeps smoothed white noise at unit variance. ``fwhm_mm = 0`` gives
    ``[1.0]`` (no smoothing).

    Returns
    -------
    tuple of 3 ndarray of float32, each shape (2 r + 1,)
    """
    out = []
    for size in voxel_size_mm:
        sigma = fwhm_mm * _SIGMA_PER_FWHM / size
        radius = int(_TRUNCATE * sigma + 0.5)
        x = np.arange(-radius, radius + 1, dtype=np.float64)
        w = np.exp(-0.5 * (x / sigma) ** 2) if sigma > 0 else np.ones(1)
        out.append((w / np.sqrt((w**2).sum())).astype(np.float32))
    return tuple(out)


def _make_plan(mask, n_subjects, smoothing_fwhm, n_perm, two_sided, random_state,
               voxel_size_mm, methods):
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
    return _Plan(mask=box, weights=gaussian_weights(float(smoothing_fwhm), voxel_size),
                 n_subjects=int(n_subjects), n_perm=n_perm, two_sided=bool(two_sided),
                 entropy=int(random_state), voxel_size=voxel_size,
                 methods=methods).with_support()


def _study_seeds(plan, k):
    """(noise generator, flip seed) of study ``k``: independent of the number of studies."""
    noise = np.random.default_rng(np.random.SeedSequence(plan.entropy, spawn_key=(k, 0)))
    flip_seed = int(np.random.SeedSequence(plan.entropy, spawn_key=(k, 1))
                    .generate_state(1, np.uint64)[0] % 2**63)
    return noise, flip_seed


def _simulate_box(plan, rng):
    """Smooth unit-variance noise on the mask's bounding box, shape (n_subjects, *box)."""
    noise = np.zeros((plan.n_subjects,) + plan.padded_shape(), np.float32)
    values = rng.standard_normal((plan.n_subjects, plan.support.size), dtype=np.float32)
    _k.scatter_noise(values, plan.support, noise.reshape(plan.n_subjects, -1))
    volumes = np.empty((plan.n_subjects,) + plan.mask.shape, np.float32)
    _k.smooth_valid(noise, *plan.weights, volumes)
    return volumes


def simulate_null_cohort(mask, n_subjects=16, smoothing_fwhm=8.0, voxel_size_mm=(3, 3, 3),
                         random_state=0, study=0):
    """One null study: every subject's map is smooth Gaussian noise, no effect anywhere.

    White noise is smoothed with a Gaussian kernel of ``smoothing_fwhm`` (so the field
    has that FWHM and unit variance) on a box padded by the kernel radius, so the noise
    is stationary up to the mask's edge.

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

    Returns
    -------
    ndarray of float64, shape (n_subjects, n_voxels)
        Voxels in nilearn's order (C-order of ``np.nonzero(mask)``).
    """
    plan = _make_plan(mask, n_subjects, smoothing_fwhm, 1, True, random_state,
                      voxel_size_mm, ())
    volumes = _simulate_box(plan, _study_seeds(plan, int(study))[0])
    return volumes[:, plan.mask].astype(np.float64)


def run_null_world(mask, n_subjects=16, smoothing_fwhm=8.0, n_experiments=200, n_perm=1000,
                   alpha=0.05, methods=DEFAULT_METHODS, random_state=0, progress=None,
                   voxel_size_mm=(3.0, 3.0, 3.0), two_sided=True, n_jobs=None):
    """Simulate null studies and measure each method's family-wise error rate.

    Parameters
    ----------
    mask : ndarray of bool, shape (nx, ny, nz)
        The search volume (``MaskedMaps.mask``); noise is generated inside it.
    n_subjects : int
        Subjects per study (3 .. 200).
    smoothing_fwhm : float
        FWHM in mm of the Gaussian kernel applied to white noise (0 .. 30).
    n_experiments : int
        Number of null studies (1 .. 100,000).
    n_perm : int
        Sign flips per study for the permutation methods, the observed one included.
    alpha : float
        Default level of the result's :meth:`NullWorldResult.fwer` (any level can be
        asked later without re-simulating).
    methods : sequence of str
        Any of ``METHODS``: "uncorrected", "bonferroni", "rft" (smoothness estimated per
        study from its residuals), "permutation" (max-t), "cluster" (cluster size at
        uncorrected p < 0.001) and "tfce" (both slow on a whole-brain mask).
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
    if "permutation" in methods and n_experiments * n_perm > MAX_NULL_VALUES:
        raise ValueError(f"n_experiments * n_perm = {n_experiments * n_perm:,} null values "
                         f"is more than {MAX_NULL_VALUES:,}; lower n_perm or n_experiments.")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}; pass "
                        "e.g. lambda fraction, partial: print(fraction).")
    plan = _make_plan(mask, n_subjects, smoothing_fwhm, n_perm, two_sided, random_state,
                      voxel_size_mm, methods)
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
        self.tic = time.perf_counter()

    def add(self, k, study):
        self.max_stat[k] = study["max_stat"]
        self.fwhm_mm[k] = study["fwhm_mm"]
        self.resels[k] = study["resels"]
        for method in self.plan.methods:
            self.min_p[method][k] = study[method]
        if self.max_null is not None:
            self.max_null[k] = study["max_null"]

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
            elapsed=time.perf_counter() - self.tic)


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
    study = {"max_stat": stat, "fwhm_mm": np.full(3, np.nan), "resels": np.full(4, np.nan),
             "uncorrected": p, "bonferroni": min(1.0, p * plan.n_voxels)}
    if "rft" in plan.methods:
        field = _random_field(plan, volumes, df)
        study["fwhm_mm"], study["resels"] = field.fwhm_mm, field.resels
        study["rft"] = float(field.corrected_p(stat, df, plan.two_sided))
    if "permutation" in plan.methods:
        null = _max_null(plan, Ys, flip_seed)
        study["max_null"] = null
        study["permutation"] = float(np.mean(null >= null[0]))
    if "cluster" in plan.methods or "tfce" in plan.methods:
        Y = volumes[:, plan.mask].astype(np.float64)
        study.update(_cluster_min_p(plan, Y, flip_seed))
    return study


def _random_field(plan, volumes, df):
    """RFT's view of one study: smoothness from its residuals (``random_field``'s estimator)."""
    from .rft import RandomField, resel_counts

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


def _cluster_min_p(plan, Y, flip_seed):
    from .clusters import cluster_permutation_test

    result = cluster_permutation_test(
        Y, plan.mask, None, n_perm=plan.n_perm, two_sided=plan.two_sided,
        tfce="tfce" in plan.methods, random_state=flip_seed, n_jobs=1)  # one study per thread
    out = {"cluster": float(np.mean(result.max_size_null >= result.max_size_null[0]))}
    if result.max_tfce_null is not None:
        out["tfce"] = float(np.mean(result.max_tfce_null >= result.max_tfce_null[0]))
    return out


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
