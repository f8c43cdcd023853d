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
# # 6. Groups and covariates: paired, two-sample, and nuisance regressors
#
# So far every subject gave one map and we asked whether the group mean is zero: a sign
# flip was the whole permutation story. Real studies compare **conditions** (each subject
# saw vertical and horizontal checkerboards), **groups**, and adjust for **covariates**
# (age, head motion). All of these are a second-level general linear model (GLM): a design
# matrix and a contrast. This notebook follows nilearn's "two-sample test, unpaired and
# paired" example and adds covariates.
#
# With a design the permutation test needs one more idea. The contrast splits the design
# into the regressor of interest and **nuisance** regressors (Winkler et al. 2014,
# appendix A). Under the null hypothesis the nuisance effects are still there, so we may
# not simply shuffle the data: **Freedman-Lane** shuffles the residuals of the
# nuisance-only model instead (FSL randomise and PALM do the same). Row permutations are
# used when the nuisance model contains a constant (two groups, a correlation with a
# covariate), sign flips when the tested effect is a mean.

# %%
import glmteach as gt
from glmteach.designs import KINDS, compare_with_parametric
from glmteach.widgets.groups import ConfoundLab, GroupsPanel, design_picture

maps = gt.load_checkerboards(n_subjects=16, source="auto")
masked = gt.mask_maps(maps.stacked(), smoothing_fwhm=8.0)
print(maps.description)
maps.covariates.head()

# %% [markdown]
# `maps.stacked()` puts all 16 "vertical" maps first, then the 16 "horizontal" maps, so
# that one group mask serves both. `masked.Y` has 32 rows.
#
# ## Four designs
#
# - **paired**: one row per map, a column for the condition (+1/2, -1/2) and one column per
#   subject. Rows are permuted only within each subject (exchangeability blocks), which is
#   the same as flipping the sign of that subject's difference.
# - **two-sample**: the same 32 maps treated as two independent groups (what you would do
#   with two groups of different people). It ignores that each subject appears twice.
# - **one-sample + age**: the 16 differences (vertical - horizontal), an intercept and the
#   subjects' centred age: is the mean difference non-zero, age held constant? (sign flips)
# - **age effect**: the same design, testing the age column (row permutations).

# %%
paired = gt.group_design("paired", maps.covariates)
print(paired.question)
design_picture(paired)

# %%
two_sample = gt.group_design("two-sample", maps.covariates)
print(two_sample.question)
design_picture(two_sample)

# %% [markdown]
# ## The panel
#
# Pick a design, press **Run permutation test**: you see its design matrix, the voxels above
# the permutation max-t threshold and a comparison with Bonferroni (parametric: Student's
# t with the design's degrees of freedom), with the number of voxels each keeps. Change
# **alpha**: nothing is recomputed. The first run of a design compiles numba's kernels.

# %%
panel = GroupsPanel(maps, masked, n_perm=2000)
panel.run()
panel.wait()
panel

# %% [markdown]
# The same comparison for every design, without the panel. Read the sentences: which
# design finds more? Why does pairing matter here? (The simulated subjects differ a lot in
# their overall response to checkerboards; the paired design removes each subject's own
# level, the two-sample design cannot.)

# %%
results = {kind: gt.group_design(kind, maps.covariates).test(masked.Y, n_perm=2000)
           for kind in KINDS}
for kind, result in results.items():
    print(compare_with_parametric(gt.group_design(kind, maps.covariates), result)["sentence"])
    print()

# %% [markdown]
# ## Why not just shuffle? A null world with a nuisance regressor
#
# Simulate studies in which the tested regressor has **no** effect, but a nuisance
# regressor correlated r = 0.6 with it has a real one (3 noise SDs per SD, in every
# voxel, like a global effect of age or motion). Analyse each study with the three
# methods and count the studies with a false positive anywhere:
#
# - **Freedman-Lane** shuffles the residuals of the nuisance model;
# - **ter Braak** shuffles the residuals of the full model;
# - **Manly** shuffles the data themselves, nuisance effect included.
#
# A method that controls the family-wise error rate finds something in about alpha of the
# studies (the 95% Clopper-Pearson interval should contain alpha).

# %%
lab = ConfoundLab(n_studies=150, n_perm=100)
lab.run()
lab.wait()
lab

# %%
print(lab.result.sentence(alpha=0.05))
lab.result.table(alpha=0.05).round(3)

# %% [markdown]
# Now play with the lab's sliders (every sentence is computed from your own run):
#
# 1. Set the **nuisance effect** to 0. Does Manly keep alpha now? Why?
# 2. Put the effect back to 3 and set the **correlation** to 0. Is the correlation what
#    breaks Manly, or the shuffled nuisance effect?
# 3. With 16 subjects, Freedman-Lane and ter Braak are approximate tests. Do their
#    intervals contain alpha at every setting you tried?
