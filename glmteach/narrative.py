"""Every sentence that compares methods or quotes a number, generated from results.

Panels, the report, ``glmteach demo``, :meth:`RandomField.summary`, the null-world labs
and the notebooks all take their comparison text from here, so that they say the same
thing and the thing they say is true for the learner's own numbers (which threshold is
lowest, which method finds more, where random field theory stands against Bonferroni,
what SPM would use, which methods kept the FWER in the learner's null studies).

The functions take plain numbers or small result objects (anything with ``threshold`` and
``n_survivors`` attributes, e.g. a :class:`~glmteach.widgets._methods.MethodResult`, a
:class:`~glmteach.corrections.Correction` or a :class:`Outcome`) or null-world results
(whose own methods give their rates and intervals); they never compute statistics
themselves, except the one-voxel tail probabilities used to explain a number.
"""

from dataclasses import dataclass
import math

import numpy as np

from ._nulls import finite_population_factor

__all__ = ["Outcome", "threshold_text", "lowest_thresholds", "most_survivors",
           "spm_threshold", "spm_outcome", "spm_sentence", "rft_vs_bonferroni",
           "comparison_sentences", "comparison_paragraph", "mc_error_note",
           "finite_population_factor", "smoothness_sentence", "noise_share",
           "count_text", "interval_verdict", "fwer_verdict", "cluster_failure_sentence",
           "glm_null_world_sentence", "LABELS"]

#: Names shown to learners, per method name.
LABELS = {"bonferroni": "Bonferroni", "rft": "random field theory",
          "permutation": "permutation max-t", "spm": "SPM (min of RFT, Bonferroni)",
          "size": "cluster size", "mass": "cluster mass", "tfce": "TFCE",
          "sidak": "Sidak", "holm": "Holm", "fdr_bh": "FDR (Benjamini-Hochberg)"}

#: Two thresholds closer than this (relative) are called "close".
CLOSE = 0.01
#: Thresholds are shown with 2 decimals: closer than this they are "equal" on screen.
TIE = 0.005


@dataclass(frozen=True)
class Outcome:
    """One method's result as the sentences need it."""

    name: str
    threshold: float
    n_survivors: int
    label: str = ""

    @property
    def shown(self):
        return self.label or LABELS.get(self.name, self.name)


def _outcomes(results):
    """``{name: Outcome}`` from ``{name: result}`` (results with threshold, n_survivors)."""
    out = {}
    for name, result in results.items():
        if result is None:
            continue
        threshold = float(getattr(result, "threshold", math.nan))
        out[name] = Outcome(name, threshold, int(result.n_survivors),
                            LABELS.get(name, getattr(result, "label", name)))
    return out


def count_text(value):
    """A count with thousands separators: ``68,223``."""
    return f"{int(round(value)):,}"


def threshold_text(threshold):
    """``8.27``, or "none (no voxel can survive)" for an infinite threshold."""
    if threshold is None or math.isnan(threshold):
        return "-"
    return f"{threshold:.2f}" if math.isfinite(threshold) else "none (no voxel can survive)"


def lowest_thresholds(results, names=None):
    """Names whose finite |t| threshold is the lowest (ties within :data:`TIE`); [] if none.

    Only voxelwise methods (a finite, non-NaN threshold) compete; ``names`` restricts them.
    """
    outcomes = _outcomes(results)
    finite = {n: o.threshold for n, o in outcomes.items()
              if (names is None or n in names) and math.isfinite(o.threshold)}
    if not finite:
        return []
    best = min(finite.values())
    return [n for n, t in finite.items() if t - best <= TIE]


def most_survivors(results, names=None):
    """Names that keep the most voxels (all of them if tied)."""
    outcomes = {n: o for n, o in _outcomes(results).items() if names is None or n in names}
    if not outcomes:
        return []
    best = max(o.n_survivors for o in outcomes.values())
    return [n for n, o in outcomes.items() if o.n_survivors == best]


def spm_threshold(rft_threshold, bonferroni_threshold):
    """SPM's voxel-level FWE threshold (``spm_uc``): the lower of RFT's and Bonferroni's."""
    return float(min(rft_threshold, bonferroni_threshold))


def spm_outcome(rft, bonferroni):
    """The SPM row: the method with the lower threshold (``spm_uc``) and its survivors.

    Both methods' corrected p fall as ``|t|`` grows, so the survivors at the lower
    threshold are the union of the two methods' survivors.
    """
    pick = rft if float(rft.threshold) < float(bonferroni.threshold) else bonferroni
    return Outcome("spm", float(pick.threshold), int(pick.n_survivors))


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


def spm_sentence(rft_threshold, bonferroni_threshold):
    """Which threshold SPM's ``spm_uc`` would use here, in one sentence."""
    r, b = float(rft_threshold), float(bonferroni_threshold)
    if not math.isfinite(r) and not math.isfinite(b):
        return "Neither random field theory nor Bonferroni gives a threshold here."
    if abs(r - b) <= TIE:
        return (f"SPM uses the lower of the random-field and Bonferroni thresholds; here "
                f"both are {b:.2f}.")
    if b < r:
        return (f"SPM would use Bonferroni's threshold here ({b:.2f}): it takes the lower "
                f"of the random-field ({threshold_text(r)}) and Bonferroni thresholds.")
    return (f"SPM would use random field theory's threshold here ({r:.2f}): it takes the "
            f"lower of the random-field and Bonferroni ({b:.2f}) thresholds.")


def rft_vs_bonferroni(rft_threshold, bonferroni_threshold, df, field=None, alpha=None,
                      two_sided=True):
    """Where random field theory stands against Bonferroni, and why, in one or two sentences.

    ``field`` (a :class:`~glmteach.corrections.RandomField`) lets the sentence quote the
    smoothness and what RFT's own formula says at Bonferroni's threshold.
    """
    r, b = float(rft_threshold), float(bonferroni_threshold)
    if not math.isfinite(r):
        return (f"Random field theory gives no threshold here: with df = {df:g} the "
                "expected Euler characteristic of the t field never falls to alpha.")
    if _rel(r, b) <= CLOSE:
        return (f"Random field theory's threshold ({r:.2f}) is close to Bonferroni's "
                f"({b:.2f}).")
    if r < b:
        text = (f"Random field theory's threshold ({r:.2f}) is below Bonferroni's "
                f"({b:.2f}): ")
        if field is not None:
            text += (f"the maps are smooth (FWHM about {_mean_fwhm_vox(field):.1f} voxels), "
                     f"so {field.n_resels:,.0f} resels stand for {field.n_voxels:,} voxels "
                     "and the expected Euler characteristic of the t field is below "
                     "Bonferroni's bound.")
        else:
            text += "the maps are smooth enough for the random-field formula to pay off."
        return text
    text = f"Random field theory's threshold ({r:.2f}) is above Bonferroni's ({b:.2f})"
    if field is not None and alpha is not None:
        p_at_b = float(field.corrected_p(b, df, two_sided))
        text += (f": with df = {df:g} and a smoothness of about "
                 f"{_mean_fwhm_vox(field):.1f} voxels FWHM, the Euler-characteristic density of a t field "
                 f"with few degrees of freedom falls more slowly at high t than one "
                 f"voxel's tail probability, so at Bonferroni's "
                 f"threshold the random-field formula still gives a family-wise error of "
                 f"{p_at_b:.3f}, above alpha = {alpha:g}.")
    else:
        text += (f": with df = {df:g} and little smoothness, the Euler-characteristic "
                 "density of a t field falls more slowly at high t than one voxel's tail "
                 "probability, so the random-field formula "
                 "is more conservative than Bonferroni's bound.")
    return text


def _mean_fwhm_vox(field):
    values = np.asarray(field.fwhm_vox, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.exp(np.log(values).mean())) if values.size else math.nan


def comparison_sentences(results, alpha, df=None, field=None, two_sided=True,
                         n_perm=None):
    """The sentences that compare the methods in ``results`` (``{name: result}``).

    Every number comes from ``results``: the lowest threshold, who keeps the most voxels,
    random field theory against Bonferroni and SPM's choice, and a note when a permutation
    threshold is infinite (too few flips for alpha).
    """
    outcomes = _outcomes(results)
    sentences = []
    voxelwise = [n for n, o in outcomes.items() if not math.isnan(o.threshold)
                 and n != "spm"]
    lowest = lowest_thresholds(results, voxelwise)
    if lowest:
        names = _join([outcomes[n].shown for n in lowest])
        t = outcomes[lowest[0]].threshold
        verb = "have" if len(lowest) > 1 else "has"
        if len(voxelwise) > 1:
            sentences.append(f"At alpha = {alpha:g}, {names} {verb} the lowest |t| "
                             f"threshold ({t:.2f}).")
    elif voxelwise:
        sentences.append(f"At alpha = {alpha:g}, no voxelwise method can declare any voxel.")
    most = most_survivors(results, [n for n in outcomes if n != "spm"])
    if most and len(outcomes) > 1:
        n = outcomes[most[0]].n_survivors
        if len(most) == len([k for k in outcomes if k != "spm"]):
            sentences.append("No method keeps any voxel." if n == 0 else
                             f"All methods keep the same number of voxels ({n:,}).")
        else:
            sentences.append(f"{_cap(_join([outcomes[k].shown for k in most]))} "
                             f"{'keep' if len(most) > 1 else 'keeps'} the most voxels "
                             f"({n:,}).")
    perm = outcomes.get("permutation")
    if perm is not None and not math.isfinite(perm.threshold):
        if n_perm:
            sentences.append(f"The permutation threshold is infinite: with {n_perm:,} "
                             f"flips the smallest possible p is 1/{n_perm:,} = "
                             f"{1 / n_perm:.3g}, above alpha = {alpha:g}, so no voxel can "
                             "survive.")
        else:
            sentences.append(f"The permutation threshold is infinite: with so few flips "
                             f"no p can be as small as alpha = {alpha:g}.")
    rft, bonf = outcomes.get("rft"), outcomes.get("bonferroni")
    if rft is not None and bonf is not None:
        sentences.append(rft_vs_bonferroni(rft.threshold, bonf.threshold,
                                           df if df is not None else math.nan, field,
                                           alpha, two_sided))
        sentences.append(spm_sentence(rft.threshold, bonf.threshold))
    return sentences


def comparison_paragraph(results, alpha, df=None, field=None, two_sided=True,
                         n_perm=None):
    """:func:`comparison_sentences` joined into one paragraph."""
    return " ".join(comparison_sentences(results, alpha, df, field, two_sided, n_perm))


def _join(words):
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _cap(text):
    return text[:1].upper() + text[1:]


def mc_error_note(n_perm=None, n_distinct=None):
    """What the +/- next to a permutation p means, in one sentence."""
    text = ("&plusmn; is one Monte-Carlo standard error of p, sqrt(p(1-p)/n_perm) "
            "times the finite-population factor sqrt((N-n_perm)/(N-1)) for flips drawn "
            "without repeats from N distinct ones (about 2 standard errors give a 95% "
            "interval)")
    if n_perm is not None and n_distinct is not None and n_perm >= n_distinct:
        return (f"All {int(n_distinct):,} distinct flips are used (an exact test): the "
                "permutation p has no Monte-Carlo error.")
    if n_perm is not None and n_distinct is not None:
        factor = finite_population_factor(n_perm, n_distinct)
        text += (f"; here N = {int(n_distinct):,} and n_perm = {int(min(n_perm, n_distinct)):,}"
                 f", factor {factor:.2f}")
    return text + "."


def smoothness_sentence(field):
    """One line about a :class:`~glmteach.corrections.RandomField` (no comparison)."""
    fx, fy, fz = field.fwhm_mm
    vx, vy, vz = field.fwhm_vox
    return (f"FWHM {fx:.1f} x {fy:.1f} x {fz:.1f} mm ({vx:.1f} x {vy:.1f} x {vz:.1f} "
            f"voxels): the search volume holds {field.n_resels:,.0f} resels (resolution "
            f"elements, blocks of one FWHM per side) and {field.n_voxels:,} voxels. "
            "Random field theory uses the resel counts; Bonferroni uses the voxel count.")


def noise_share(threshold, df, two_sided=True):
    """P(|T| > threshold) for a t variable with ``df`` degrees of freedom (a fraction)."""
    from scipy import stats

    p = stats.t.sf(threshold, df)
    return float(2 * p if two_sided else p)


def interval_verdict(lo, hi, alpha):
    """Where a false-positive rate's confidence interval ``[lo, hi]`` stands against
    ``alpha``, in the words every null-world text of the lesson uses.

    "above" or "below" only when the whole interval is; "too few studies to tell" when
    the interval holds alpha but is more than 10 percentage points wide (it would hold
    twice alpha too); else "consistent with".
    """
    level = f"alpha = {alpha:g}"
    if lo > alpha:
        return f"above {level}"
    if hi < alpha:
        return f"below {level} (conservative)"
    if hi - lo > 0.1:
        return f"too few studies to tell it from {level}"
    return f"consistent with {level}"


def fwer_verdict(label, estimate, alpha):
    """One sentence on an empirical FWER (a ``nullworld.FWEREstimate``) against alpha
    (:func:`interval_verdict`)."""
    return (f"{_cap(label)}: a false positive in {estimate.rate:.0%} of "
            f"{estimate.n_experiments:,} null studies ({estimate.level:.0%} interval "
            f"{estimate.lo:.1%} to {estimate.hi:.1%}), "
            f"{interval_verdict(estimate.lo, estimate.hi, alpha)}.")


def cluster_failure_sentence(result, alpha=None):
    """A few sentences comparing the cluster methods, generated from ``result``'s numbers.

    Says, for each cluster method that was run, how many null studies had a false
    positive and whether the Clopper-Pearson interval lies above, below or around
    ``alpha``; then, when both RFT and permutation cluster inference ran, the cluster size
    each needed (median over studies), which is where a difference comes from.
    Returns "" when no cluster method was run or no study is done.
    """
    from ._noise import NOISE_LABELS
    from .nullworld import CLUSTER_METHODS, LABELS as METHOD_LABELS, _check_alpha

    alpha = _check_alpha(result.alpha if alpha is None else alpha)
    methods = [m for m in CLUSTER_METHODS if m in result.methods]
    if not methods or not result.n_done:
        return ""
    fwer = result.fwer(alpha)
    noise = NOISE_LABELS.get(result.noise, result.noise)
    stat = "|t|" if result.two_sided else "t"
    parts = []
    for method in methods:
        e = fwer[method]
        parts.append(f"{METHOD_LABELS[method]} found a false positive in {e.n_false} of "
                     f"{e.n_experiments} null studies ({e.rate:.0%}, 95% CI {e.lo:.0%} to "
                     f"{e.hi:.0%}): {interval_verdict(e.lo, e.hi, alpha)}")
    text = (f"With {noise} noise and clusters formed at p < {result.cdt_p:g} "
            f"({stat} > {result.cdt_t:.2f}), " + "; ".join(parts) + ".")
    sizes = result.cluster_thresholds(alpha)
    if "rft_cluster" in sizes and "cluster" in sizes:
        rft, perm = float(np.median(sizes["rft_cluster"])), float(np.median(sizes["cluster"]))
        if np.isfinite(rft) and np.isfinite(perm):
            text += (f" A cluster needed {perm:.0f} voxels to be significant by permutation "
                     f"(median over studies) and {rft:.0f} by random field theory")
            if perm > rft:
                span = f"{rft:.0f}" if perm - 1 <= rft else f"{rft:.0f} to {perm - 1:.0f}"
                text += (f": a chance cluster of {span} voxels is significant for random "
                         f"field theory and not for permutation.")
            elif rft > perm:
                text += ": random field theory asks for larger clusters than permutation."
            else:
                text += ": the same."
    return text


def glm_null_world_sentence(result, alpha=0.05):
    """What the learner's own null studies with a nuisance regressor show (a
    :class:`~glmteach.glm_nullworld.GLMNullWorldResult`), generated from its table."""
    table = result.table(alpha)
    parts = [f"In {result.n_studies} simulated studies with no effect of interest, a "
             f"nuisance regressor correlated r = {result.correlation:.2f} with the tested "
             f"one and an effect of {result.nuisance_effect:g} noise SDs per SD in every "
             f"voxel ({result.n_subjects} subjects, {result.n_voxels} voxels, "
             f"{result.n_perm} permutations):"]
    for row in table.itertuples(index=False):
        parts.append(f"{row.method} found a false positive in {row[1]} "
                     f"(FWER {row.FWER:.3f}, 95% CI {row[4]:.3f} to {row[5]:.3f}: "
                     f"{row.verdict}).")
    above = table[table["CI low"] > alpha]["method"].tolist()  # interval_verdict's "above"
    if "Manly" in above:
        parts.append("Manly shuffles the data with the nuisance effect still in them; "
                     "that shuffled effect is shared by every voxel, so the shuffled "
                     "maps look alike, their maximum is smaller than a real null "
                     "study's, and the threshold comes out too low.")
    return " ".join(parts)
