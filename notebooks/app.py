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
# # Group fMRI: how many voxels are really active?
#
# Sixteen subjects, the contrast *left vs right button press*: step through the analysis
# with **Next**, move the sliders, answer the questions.

# %%
from glmteach.widgets import Lesson, LessonState

state = LessonState(source="auto", n_subjects=16)
state.start("fetch", background=False)
Lesson(state)
