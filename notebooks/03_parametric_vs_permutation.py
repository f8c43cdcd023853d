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
# - **Bonferroni**: p x number of voxels (as in the nilearn example). Exact for independent
#   voxels, conservative for smooth maps whose neighbours are strongly correlated.
# - **Random field theory**: estimates the smoothness and counts *resels* instead of
#   voxels. Needs smooth data and enough degrees of freedom; known to be conservative with
#   few subjects.
# - **Sign-flip permutations (max-t)**: if nothing happened, each subject's map is as
#   likely as its negative. Flip the signs of some subjects, recompute the t map and keep
#   its largest |t|; repeat. These maxima form the null distribution of the maximum, and
#   its (1 - alpha) quantile is the threshold. 16 subjects give 2^15 = 32,768 distinct
#   flips: glmteach can use them all (an exact test).

# %%
from glmteach.widgets import STEPS, ComparisonPanel, LessonState, check_answer

state = LessonState(source="auto", n_subjects=16)
state.start("fetch", background=False)
print(state.maps.description)

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
#   all 32,768 it is exact.

# %%
ComparisonPanel(state)

# %%
state.start("permute", background=False)
print(f"{state.permutation.n_flips:,} sign flips, exact test: {state.permutation.exact}")

# %% [markdown]
# ## The numbers behind the panel

# %%
results = state.comparison(alpha=0.05)
{name: (round(r.threshold, 2), r.n_survivors) for name, r in results.items()}

# %% [markdown]
# ## Question
#
# Which threshold is the lowest (it finds the most voxels) on these data? Choices:
# `"Bonferroni"`, `"Random field theory"`, `"Permutation max-t"`.

# %%
print(STEPS[3]["question"])
my_answer = None
check_answer(STEPS[3], my_answer, state)

# %% [markdown]
# To think about: why is the permutation threshold lower than Bonferroni's? (Hint: the
# smoothness. Go back to notebook 01, set the smoothing to 0 mm and compare again.)
#
# Next: **04_clusters_and_tfce.ipynb** - inference on blobs rather than voxels.
