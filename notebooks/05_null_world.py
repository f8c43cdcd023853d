# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Labs: the null world, and a permutation null at one voxel
#
# Two experiments to *see* what family-wise error control means.
#
# 1. **The null world.** Simulate many group studies in which nothing happens: every
#    subject's map is smooth Gaussian noise inside the lesson's brain mask. Analyse each
#    study as you would a real one and count the studies with **at least one** false
#    positive anywhere. A method that controls the family-wise error rate (FWER) at alpha
#    finds something in about alpha of them, no more. (The design of Eklund, Nichols &
#    Knutsson, 2016, *PNAS* 113:7900, "Cluster failure", who used real resting-state data
#    as their null studies; notebook 07 asks their question about cluster inference, with
#    the panel's noise and cluster-defining threshold controls.)
# 2. **The sign-flip explainer.** Where does a permutation null come from? Flip the signs
#    of some subjects at one voxel, recompute t, and watch two histograms grow.

# %%
from glmteach import run_null_world
from glmteach.widgets import LessonState
from glmteach.widgets.labs import NullWorldPanel, SignFlipExplainer

state = LessonState(source="auto", n_subjects=16)
state.start("fetch", background=False)
print(state.summary())

# %% [markdown]
# ## The null world
#
# Press **Run null studies** (or run the next cell). Each point is a method's empirical
# FWER with its 95% Clopper-Pearson interval; the dashed line is alpha and the grey band
# is where a method that is exactly at alpha lands 95% of the time with this many studies.
# The right plot shows the FWER as studies accumulate.
#
# Then play:
#
# - **alpha**: the stored studies are re-scored at once, nothing is simulated again.
# - **FWHM**: smoother noise makes neighbouring voxels more dependent, so the maximum
#   |t| of a null map tends to be lower. Bonferroni's threshold stays put (it counts
#   voxels) while the permutation threshold comes down: compare the typical |t| thresholds
#   in the table at 4, 12 and 24 mm, and whether each method's FWER interval lies below,
#   around or above alpha. With a few dozen studies the intervals are wide: a point below
#   the dashed line is only evidence of conservativeness when its whole interval is.
# - **studies**: more studies, narrower intervals (and a longer wait: 200 studies with
#   1,000 flips each take about half a minute).

# %%
null_panel = NullWorldPanel(state, n_experiments=50, n_perm=200)
null_panel

# %%
null_panel.run()
null_panel.wait()
print(null_panel.result.summary())

# %% [markdown]
# The same experiment without a panel, with rougher noise (FWHM 4 mm): does random field
# theory still reach alpha?

# %%
rough = run_null_world(state.masked.mask, smoothing_fwhm=4.0, n_experiments=30, n_perm=100,
                       voxel_size_mm=state.masked.voxel_size_mm)
rough.table(alpha=0.05).round(3)

# %% [markdown]
# ## What is a permutation null, at one voxel?
#
# The explainer follows one voxel (the peak by default; pick another peak or type mm
# coordinates). Its subjects' values are the points: blue kept, orange sign-flipped.
# Each **Flip** negates a new set of subjects (the same flips, in the same order, as the
# permutation test of notebook 03) and adds two numbers to the histograms:
#
# - the t of the flipped data **at this voxel** (its own null: uncorrected p);
# - the largest |t| **anywhere in the brain** (the max null: FWER-corrected p).
#
# The red line is the observed t. Watch both p-values settle as flips accumulate.

# %%
explainer = SignFlipExplainer(state, n_perm=2000)
explainer

# %%
explainer.flip(1)
explainer.flip(10)
explainer.flip_all()
explainer.wait()
ex = explainer.explainer
print(f"{ex.n_done:,} flips: uncorrected p = {ex.voxel_p():.4f}, FWER p = {ex.fwer_p():.4f}; "
      f"{round(ex.fwer_p() * ex.n_done):,} of them (the observed one included) reach the "
      f"peak's |t| anywhere in the brain")

# %% [markdown]
# The line above counts the flips whose brain-wide maximum reaches the peak's |t|: the
# observed labelling always does, so the FWER p is at least 1 / number of flips. Now a
# voxel with |t| about 4.5: "significant" at p < 0.001 uncorrected, but is it after
# family-wise correction? Flip and watch the two p-values part ways.

# %%
explainer.set_voxel(ex.closest_to_t(4.5))
explainer.reset()
explainer.flip(100)
explainer.flip_all()
explainer.wait()
print(f"|t| = {ex.observed:.2f}: uncorrected p = {ex.voxel_p():.4f}, FWER p = {ex.fwer_p():.4f}")

# %% [markdown]
# ## To think about
#
# - Why is the max null (right) so much further to the right than the voxel's null
#   (middle)? What does that cost a voxel that wants to be declared active?
# - With smooth data Bonferroni's threshold is above the permutation one, so in the null
#   world its FWER should come out below alpha (run more studies to see it beyond the
#   Monte-Carlo interval). Is that good news or bad news for finding real effects?
# - The observed labelling counts as one of the flips. Why can the smallest permutation p
#   never be 0?
