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
# # 3. Family-wise error: Bonferroni, random field theory, permutations
#
# To keep the chance of **any** false positive below alpha, a threshold must be exceeded
# by the **largest** |t| of a null brain with probability alpha. Three ways to find it:
#
# - **Bonferroni**: p x number of voxels (as in the nilearn example). It needs no
#   assumption: the FWER is at most alpha whatever the dependence. With independent
#   voxels its FWER is 1 - (1 - alpha/m)^m (0.0488 at alpha 0.05), just below alpha (the
#   exact correction for independent voxels is Sidak's); with smooth maps, whose
#   neighbours are strongly correlated, it is conservative.
# - **Random field theory**: estimates the smoothness and turns the expected Euler
#   characteristic of a smooth t field (its EC densities times the resel counts) into a
#   corrected p. Needs smooth data and enough degrees of freedom; with few subjects its
#   threshold can even be above Bonferroni's (the text under the table says where it
#   stands on your data). SPM uses the lower of the two thresholds.
# - **Sign-flip permutations (max-t)**: if nothing happened, and subjects are independent
#   with maps symmetric around zero **jointly over voxels** (the whole map as likely as its
#   negative, not only each voxel), flipping whole maps changes nothing in distribution.
#   Flip the signs of some subjects, recompute the t map and keep its largest |t|;
#   repeat. These maxima form the null distribution of the maximum, and its (1 - alpha)
#   quantile is the threshold. 16 subjects give 2^15 = 32,768 distinct flips: glmteach
#   can use them all (an exact test).
#
# All three give **strong** family-wise error control (max-t does because the maximum
# over any subset of truly null voxels is at most the maximum over all of them): the error
# rate holds whichever voxels are active, so each surviving voxel can be reported on its
# own. Weak control (only when nothing is active anywhere) would only say "something,
# somewhere".

# %%
from glmteach.widgets import STEPS, ComparisonPanel, LessonState, check_answer

state = LessonState(source="auto", n_subjects=16)
state.start("fetch", background=False)
print(state.summary())

# %% [markdown]
# ## The comparison panel
#
# Run the panel, then the permutations (next cell, or the *Run permutations* button; the
# progress bar shows the flips). The maps show -log10 of each method's corrected p where
# it is below alpha; the histogram is the max-|t| null with each method's threshold; the
# table counts the surviving voxels.
#
# Then play:
#
# - **alpha**: only the thresholds move, nothing is recomputed.
# - **n_perm**: uses the first n_perm flips of the one null computed. With 100 flips the
#   permutation threshold is noisy (see its 95% Monte-Carlo interval in the table); with
#   all 32,768 it is exact. The +/- next to a permutation p is one Monte-Carlo standard
#   error, with the finite-population correction sqrt((N - n)/(N - 1)) because flips are
#   drawn without repeats from N distinct ones (about 2 of them make a 95% interval).

# %%
ComparisonPanel(state)

# %%
state.start("permute", background=False)
print(state.summary() if state.permutation is None else
      f"{state.permutation.n_flips:,} sign flips computed; the panel uses {state.settings_text()}")

# %% [markdown]
# ## The numbers behind the panel
#
# At the panel's settings (move a slider and run this cell again):

# %%
print(state.settings_text())
results = state.comparison()
print({name: (round(r.threshold, 2), r.n_survivors) for name, r in results.items()})
print(state.comparison_text())

# %% [markdown]
# ## Question
#
# Which threshold is the lowest (it finds the most voxels) on these data, at the panel's
# alpha? Choices: `"Bonferroni"`, `"Random field theory"`, `"Permutation max-t"` (any
# case). The answer is computed from your results.

# %%
print(STEPS[3]["question"])
my_answer = None
check_answer(STEPS[3], my_answer, state)

# %% [markdown]
# To think about: where is the permutation threshold compared with Bonferroni's, and
# why? (Hint: the smoothness. Try it here: run `state.smoothing_fwhm = 0` and then
# `state.start("remask", background=False)` and `state.start("permute", background=False)`
# in a new cell; the panel above updates, then compare again.)
#
# Next: **04_clusters_and_tfce.ipynb** - inference on blobs rather than voxels.
