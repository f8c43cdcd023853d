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
# # 4. Clusters and TFCE: inference on blobs
#
# Max-t asks of every voxel "is *this voxel* active?". Real effects are blobs spread over
# many voxels, each a little above the noise. **Cluster inference** asks instead "is this
# *blob* bigger than blobs in null brains?":
#
# 1. Threshold the t map at a *cluster-forming threshold* (here uncorrected p < 0.001) and
#    group neighbouring supra-threshold voxels into clusters.
# 2. With the same sign flips as before, record the **largest cluster** (its size in voxels,
#    or its *mass*: the sum over its voxels of |t| minus the cluster-forming threshold)
#    of each flipped map.
# 3. A cluster's FWER-corrected p is the share of flips whose largest cluster is at least as
#    big.
#
# **TFCE** (threshold-free cluster enhancement) avoids choosing the cluster-forming
# threshold: each voxel's score integrates extent^E x height^H over the heights h from 0
# up to its |t|, where extent is the size of the cluster holding the voxel at height h
# (here E = 0.5, H = 2, in 100 steps, as nilearn). Its max over the brain gets the same
# permutation treatment.
#
# This notebook uses the package directly (no panel), as you would in your own analysis.

# %%
import glmteach as gt
from glmteach.render import static_glass_brain
from glmteach.report import signed_neg_log10
from glmteach.widgets import check_answer

maps = gt.load_localizer(n_subjects=16, source="auto")
masked = gt.mask_maps(maps, smoothing_fwhm=8.0)
print(maps.description)

# %% [markdown]
# ## The permutations
#
# Cluster labelling and TFCE are recomputed for every flip, so this is slower than max-t.
# 500 flips take about 15 s here; in class use 5,000 for steadier p-values (a few minutes).

# %%
N_PERM = 500
clusters = gt.cluster_permutation_test(masked.Y, masked.mask, masked.affine, n_perm=N_PERM,
                                       cluster_threshold=0.001, random_state=0)
maxt = gt.permutation_test(masked.Y, n_perm=N_PERM, random_state=0)
print(f"{clusters.n_clusters} clusters at |t| > {clusters.t_threshold:.2f}")

# %% [markdown]
# ## The clusters, largest first
#
# `p_size` and `p_mass` are FWER-corrected: compare them with 0.05. Peak coordinates are
# in mm (MNI space).

# %%
clusters.cluster_table().head(10)

# %% [markdown]
# ## Voxels surviving FWER 5%, method by method
#
# The same sign flips (same seed) were used for all four, so the differences come from the
# statistic, not from chance.

# %%
{"max-t (voxel)": maxt.n_survivors(0.05),
 "cluster size": int((clusters.cluster_p("size") <= 0.05).sum()),
 "cluster mass": int((clusters.cluster_p("mass") <= 0.05).sum()),
 "TFCE": int((clusters.tfce_p() <= 0.05).sum())}

# %% [markdown]
# ## The maps
#
# Colour: sign(t) x -log10(corrected p), shown where p <= 0.05 (red: left > right press).

# %%
static_glass_brain(masked.to_img(signed_neg_log10(clusters.cluster_p("size"), clusters.t)),
                   threshold=1.3, vmax=3, title="cluster size, FWER 5%");

# %%
static_glass_brain(masked.to_img(signed_neg_log10(clusters.tfce_p(), clusters.t)),
                   threshold=1.3, vmax=3, title="TFCE, FWER 5%");

# %%
static_glass_brain(masked.to_img(signed_neg_log10(maxt.corrected_p(), maxt.t)),
                   threshold=1.3, vmax=3, title="max-t (voxel), FWER 5%");

# %% [markdown]
# Compare the counts above: cluster inference usually finds more voxels, because it pools
# weak evidence over a blob. The price is
# **spatial specificity**: a significant cluster says "somewhere in this blob there is
# signal", not "every voxel of it is active". A large cluster can reach from the motor
# cortex into regions that are not active at all.
#
# ## Question
#
# A cluster of 2,000 voxels has FWER-corrected p = 0.01. What may you conclude?

# %%
question = {"question": "A 2,000-voxel cluster has corrected p = 0.01. You may conclude:",
            "choices": ["every voxel in the cluster is active",
                        "the cluster contains signal somewhere",
                        "its peak voxel survives max-t"],
            "answer": 1,
            "why": {0: "Cluster inference controls the error of the cluster as a whole, "
                       "not of each voxel in it.",
                    2: "Not necessarily: the cluster may be big but none of its voxels "
                       "high enough for the voxelwise max-t threshold."}}
my_answer = None
check_answer(question, my_answer)
