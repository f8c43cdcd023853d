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
# # Start here: why group fMRI needs family-wise error control
#
# **The question of this lesson.** Sixteen people pressed a button, sometimes with the left
# hand, sometimes with the right. For each person we have a brain map of *left minus right*.
# Which brain regions respond **in the group**? We will test every voxel (a 3 mm cube of
# brain): about 68,000 tests at once.
#
# **The problem.** A test at p < 0.05 is wrong 5% of the time when there is no effect. One
# test: a 5% risk of a false positive. 68,000 tests: thousands of false positives, and a
# near-certain risk of at least one. Run the next cell: it shows the chance of *at least
# one* false positive among *m* independent tests, each at p < 0.05, when nothing happens.

# %%
from glmteach.widgets import check_answer

[(m, f"{1 - 0.95 ** m:.1%}") for m in (1, 10, 100, 1_000, 68_000)]

# %% [markdown]
# That chance is the **family-wise error rate (FWER)**: the probability that the *family*
# of all tests contains at least one false positive. A map "corrected for multiple
# comparisons at FWER 5%" promises: if nothing happened anywhere, at most a 5% chance that
# any voxel lights up. Three ways to keep that promise, which the lesson compares:
#
# | method | idea | assumes |
# |---|---|---|
# | **Bonferroni** | test each voxel at 0.05 / number of voxels | nothing: it is a bound (with independent voxels its FWER is 1 - (1 - 0.05/m)^m = 4.9%; the exact correction there is Sidak's); conservative when neighbouring voxels are dependent |
# | **Random field theory (RFT)** | the expected Euler characteristic of a smooth t field above the threshold, from the smoothness (resels) and the degrees of freedom | a smooth Gaussian-like field, enough smoothness and subjects |
# | **Permutation max-t** | flip the sign of subjects' maps at random; the largest t over the brain in each flip gives the null of the maximum | independent subjects, and each subject's whole map as likely as its negative under the null (symmetric jointly over voxels, not only voxel by voxel) |
#
# The key idea: all three control the **maximum** statistic over the brain. If the
# largest |t| of a null brain is below the threshold 95% of the time, then 95% of the time
# *no* voxel passes it. All three give **strong** control: the 5% holds whichever voxels
# are truly null, even when others are active, so each voxel that survives can be claimed
# on its own (weak control, only when nothing is active anywhere, would not allow that).

# %% [markdown]
# ## How to use the panels
#
# The lesson notebooks (01, 02, 03, 04) each show a **panel**: pictures and sliders that
# call glmteach. You never need to edit code except where a cell says `my_answer = None`.
#
# - **Run the cells from the top** (menu *Run > Run All Cells*, or Shift+Enter cell by cell).
# - **Sliders** (threshold, smoothing, alpha, number of permutations) redraw at once:
#   they never recompute the statistics, only re-threshold them.
# - **Buttons** (*Fetch*, *Run permutations*) start longer work with a progress bar and a
#   **Stop** button.
# - **SIMULATED data**: without internet (and no copy prepared by your instructor) the
#   lessons use a simulated cohort built from a real group map. It is always labelled
#   SIMULATED; the statistics work the same way.
# - Each notebook ends with a **question** and a **self-check**: put your answer in place of
#   `None` and run the cell.
# - The whole lesson is also an app with *Back / Next* buttons: `app.ipynb`.

# %% [markdown]
# ## Check yourself
#
# With 100 independent voxels and no effect anywhere, each tested at p < 0.05, what is the
# chance of at least one false positive? Replace `None` with one of the choices (e.g.
# `"about 5%"`), or a percentage such as `"42%"` or `0.42` (accepted within 2 percentage
# points of a choice), and run the cell.

# %%
question = {"question": "Chance of at least one false positive among 100 null tests at 0.05?",
            "choices": ["about 5%", "about 50%", "about 99%"], "values": [5, 50, 99],
            "answer": 2,
            "why": {0: "5% is the risk of ONE test; the family has 100 chances to err.",
                    1: "Compute 1 - 0.95 ** 100 (the table above)."}}
my_answer = None
check_answer(question, my_answer)

# %% [markdown]
# Next: **01_fetch_and_mask.ipynb** - the subjects' maps and the group mask.
