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
# # 2. The voxelwise one-sample t-test
#
# At every voxel we ask: is the mean effect over the 16 subjects different from zero?
# The one-sample t statistic is
#
# $$ t = \frac{\bar{x}}{s / \sqrt{n}}, \qquad \text{df} = n - 1 = 15, $$
#
# with $\bar{x}$ the mean and $s$ the standard deviation over subjects. It is the same
# test as nilearn's `SecondLevelModel` with an intercept-only design; glmteach computes it
# for all voxels at once.

# %%
import glmteach as gt
from glmteach.widgets import STEPS, LessonState, TTestPanel, check_answer

state = LessonState(source="auto", n_subjects=16)
state.start("fetch", background=False)
print(state.summary())

# %% [markdown]
# ## Thresholding without correction
#
# The panel shows the z map (the t values converted to the normal scale) where the
# **uncorrected** p is below the slider's value, and the histogram of all t values with
# the t distribution expected if nothing happened (dotted). Move the slider from 1e-2 to
# 1e-6: how many voxels pass, and how many would pass *by chance alone* (p x number of
# voxels)?

# %%
TTestPanel(state)

# %% [markdown]
# The same numbers from the package, for p < 0.001 (the nilearn example's threshold):

# %%
tt = state.ttest
uncorrected = gt.correct(tt, "uncorrected", alpha=0.001)
print(f"{uncorrected.n_survivors:,} of {tt.n_voxels:,} voxels have p < 0.001 "
      f"(|t| > {uncorrected.threshold:.2f}, df = {tt.df:g}); "
      f"about {0.001 * tt.n_voxels:.0f} would by chance if there were no effect at all.")

# %% [markdown]
# Uncorrected p < 0.001 controls the error **per voxel**: with the number of voxels
# printed above, 0.001 times that many false positives are expected even if nothing
# happened (dozens for ~68,000 voxels). Where are they on the map? You
# cannot tell: that is why we need family-wise error control (next notebook).
#
# ## Question
#
# At p < 0.001, how many false positives do you expect among all voxels if there were no
# effect at all? Replace `None` with the number and run.

# %%
print(STEPS[2]["question"])
my_answer = None
check_answer(STEPS[2], my_answer, state)

# %% [markdown]
# Next: **03_parametric_vs_permutation.ipynb** - Bonferroni, random field theory and
# permutations.
