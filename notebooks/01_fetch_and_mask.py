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
# # 1. Fetch the maps and build the group mask
#
# We follow nilearn's example *Second-level fMRI model: one sample test*. Its data: the
# Brainomics/Localizer study, contrast **left vs right button press**, 16 subjects. Each
# subject's first-level analysis already gave a map of the effect (and a t-map); our job
# is the **second level**: which voxels show an effect consistent across subjects?
#
# All panels of a notebook share one `LessonState`: the data, the results and your choices.
# `source="auto"` uses the real maps when they are cached or downloadable, and otherwise a
# clearly labelled SIMULATED cohort, so this notebook also works offline.

# %%
from glmteach.widgets import STEPS, FetchPanel, LessonState, MaskPanel, check_answer

state = LessonState(source="auto", n_subjects=16)

# %% [markdown]
# ## The subjects' maps
#
# Run the next two cells: the first shows the panel, the second fetches the maps (the
# *Fetch* button does the same). Each small brain is one subject's t-map seen from above,
# shown where |t| > 2 (a display threshold only). Move the slider. A glass brain is a
# maximum-intensity projection: each pixel shows the most extreme voxel along its line of
# sight, so a few scattered voxels cover much of the picture.
#
# Pressing with the **left** hand activates the **right** motor cortex (red, positive) and
# the right hand the left one (blue, negative). Notice how much the subjects differ, and
# how many scattered specks pass |t| > 2 by chance.

# %%
FetchPanel(state)

# %%
state.start("fetch", background=False)
print(state.summary())

# %% [markdown]
# ## The group mask and smoothing
#
# The group mask keeps the voxels that are inside the brain in every map: each one will
# be a separate test. Each map is smoothed with a Gaussian kernel (FWHM 8 mm, like the
# nilearn example) before testing. Move the smoothing slider and watch the first
# subject's map: more smoothing, smoother blobs, more strongly dependent neighbours. The
# number of voxels does not change: the mask is computed from the unsmoothed maps.

# %%
MaskPanel(state)

# %%
print(state.summary())

# %% [markdown]
# ## Question
#
# How many tests will the t-test make, i.e. how many voxels are in the mask? Read it in
# the panel, replace `None` with the number (`68223` or `"68,223"` both work) and run.

# %%
print(STEPS[1]["question"])
my_answer = None
check_answer(STEPS[1], my_answer, state)

# %% [markdown]
# And one about the first picture: with |t| > 2, what share of the *voxels* (not of the
# projected picture) of a pure-noise map would show up? (Choices: `"none"`,
# `"about 5%"`, `"about half"`; a percentage such as `"5%"` works too.)

# %%
print(STEPS[0]["question"])
my_answer = None
check_answer(STEPS[0], my_answer, state)

# %% [markdown]
# Next: **02_one_sample_ttest.ipynb** - the voxelwise one-sample t-test.
