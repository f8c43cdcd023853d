"""The embedded SIMULATED cohort: the seed example's story with no network at all.

Subject ``i`` (first-level contrast map, arbitrary units, noise SD 1)::

    cmap_i = EFFECT * gain_i * pattern + smooth_noise_i        inside the brain, 0 outside
    tmap_i = cmap_i / FIRST_LEVEL_SE                             (its first-level t-map)

``pattern`` is nilearn's packaged group map of "left vs right button press" (NeuroVault
10426): positive in the right motor cortex, negative in the left. That map is itself a
noisy group t-map, so values below PATTERN_FLOOR are treated as noise (soft threshold)
and the rest is scaled to a peak of 1. ``gain_i`` varies between subjects (log-normal: some
respond weakly, as in real cohorts), which is what limits the group t; the noise is
Gaussian, smoothed to NOISE_FWHM_MM and scaled to unit SD. The brain is nilearn's MNI152
brain mask on the map's own 3 mm grid. Each subject has its own random stream derived from
``(random_state, i)``, so subject 3 is the same whether 4 or 40 subjects are asked for.

Calibration (16 subjects, 8 mm smoothing, see tests/test_data.py): the uncorrected
p < 0.001 map shows bilateral motor cortex with the right/left signs (about 4,800 voxels),
Bonferroni keeps only the motor peaks, and every subject's t-map thresholded at t = 2
shows the effect (several times more supra-threshold voxels in motor cortex than elsewhere).
"""

from dataclasses import dataclass
from functools import lru_cache

import nibabel as nib
import numpy as np
from scipy.ndimage import gaussian_filter

EFFECT = 6.0         # peak effect of an average subject, in noise SDs (= its peak t)
GAIN_SD = 0.50       # log-SD of the subject gains (some respond weakly)
NOISE_FWHM_MM = 12.0  # smoothness of the between-subject noise
PATTERN_FLOOR = 2.5  # |t| of the packaged group map below which it is treated as noise
FIRST_LEVEL_SE = 1.0  # a subject's first-level standard error, same units as the noise SD
_FWHM_TO_SIGMA = 1.0 / np.sqrt(8.0 * np.log(2.0))


@dataclass
class Cohort:
    imgs: list
    tmaps: list
    subjects: list
    gains: np.ndarray


@lru_cache(maxsize=4)
def _template(floor=None):
    """(pattern, brain mask, affine) on the packaged map's 3 mm grid; read once."""
    from nilearn import datasets, image

    group = nib.load(datasets.load_sample_motor_activation_image())
    values = np.asarray(group.dataobj, dtype=np.float64)
    mni = image.resample_to_img(
        datasets.load_mni152_brain_mask(resolution=2), group, interpolation="nearest",
        force_resample=True, copy_header=True,
    )
    brain = (np.asarray(mni.dataobj) > 0) | (values != 0)
    # The packaged map is itself a noisy group t-map: its low values are mostly noise.
    # The "true" effect keeps the clearly active regions (soft threshold at PATTERN_FLOOR).
    floor = PATTERN_FLOOR if floor is None else floor
    shrunk = np.sign(values) * np.maximum(np.abs(values) - floor, 0.0)
    pattern = shrunk / np.abs(shrunk).max()
    pattern.setflags(write=False)
    brain.setflags(write=False)
    return pattern, brain, group.affine.copy()


def _subject_rng(random_state, index):
    return np.random.default_rng(np.random.SeedSequence(random_state, spawn_key=(index,)))


def simulate_localizer_cohort(n_subjects, random_state=0):
    """Build the SIMULATED cohort (deterministic for a given ``random_state``)."""
    pattern, brain, affine = _template(PATTERN_FLOOR)
    voxel_mm = float(np.sqrt((affine[:3, :3] ** 2).sum(0)).mean())
    sigma_vox = NOISE_FWHM_MM * _FWHM_TO_SIGMA / voxel_mm
    imgs, tmaps, gains = [], [], []
    for i in range(n_subjects):
        rng = _subject_rng(random_state, i)
        gain = np.exp(GAIN_SD * rng.standard_normal())  # positive, right-skewed
        noise = gaussian_filter(rng.standard_normal(pattern.shape), sigma_vox, mode="constant")
        noise /= noise[brain].std()
        cmap = np.where(brain, EFFECT * gain * pattern + noise, 0.0).astype(np.float32)
        imgs.append(nib.Nifti1Image(cmap, affine))
        tmaps.append(nib.Nifti1Image(cmap / np.float32(FIRST_LEVEL_SE), affine))
        gains.append(gain)
    subjects = [f"sim-{i + 1:02d}" for i in range(n_subjects)]
    return Cohort(imgs=imgs, tmaps=tmaps, subjects=subjects, gains=np.array(gains))


# ----------------------------------------------------------------------------- two conditions
# The SIMULATED stand-in for the localizer's "vertical checkerboard" and "horizontal
# checkerboard" maps (nilearn's paired / two-sample example). Subject i, age a_i::
#
#     vertical_i   = gain_i * RESPONSE * visual + g_i * DIFFERENCE * m(a_i) * meridian
#                    + subject_i + noise_i,v
#     horizontal_i = gain_i * RESPONSE * visual + subject_i + noise_i,h
#
# ``visual``: Gaussian blobs (peak 1) on both calcarine sulci; ``meridian``: smaller blobs
# next to them (the vertical-minus-horizontal effect); m(a) = 1 - AGE_SLOPE (a - 40) / 10
# makes the effect shrink with age; gain_i and g_i are log-normal subject gains. ``subject_i`` is smooth noise shared by the subject's
# two maps (why pairing helps), ``noise`` is smooth noise per map. Not real anatomy of
# retinotopy: blobs placed by hand, labelled SIMULATED wherever shown.
VISUAL_PEAKS_MM = ((12.0, -88.0, 2.0), (-12.0, -88.0, 2.0))
MERIDIAN_PEAKS_MM = ((20.0, -80.0, -8.0), (-20.0, -80.0, -8.0))
BLOB_FWHM_MM = 16.0
RESPONSE = 5.0          # peak response to either checkerboard (noise SDs)
DIFFERENCE = 3.0        # peak vertical - horizontal effect at age 40 (noise SDs)
AGE_SLOPE = 0.15        # relative change of that effect per decade of age
DIFFERENCE_GAIN_SD = 0.25  # log-SD of the subjects' gains of that effect
SUBJECT_SD = 1.0        # SD of the smooth subject effect shared by both maps
MAP_NOISE_SD = 0.7      # SD of each map's own smooth noise
AGE_RANGE = (20.0, 60.0)


@dataclass
class TwoConditionCohort:
    vertical: list
    horizontal: list
    subjects: list
    ages: np.ndarray
    gains: np.ndarray


def _blobs(peaks_mm, affine, shape):
    ijk = np.indices(shape).reshape(3, -1)
    xyz = (affine[:3, :3] @ ijk + affine[:3, 3:4]).T
    sigma = BLOB_FWHM_MM * _FWHM_TO_SIGMA
    out = sum(np.exp(-((xyz - peak) ** 2).sum(axis=1) / (2 * sigma**2)) for peak in peaks_mm)
    return (out / out.max()).reshape(shape)


def simulate_checkerboard_cohort(n_subjects, random_state=0):
    """Build the SIMULATED two-condition cohort (deterministic for ``random_state``)."""
    _, brain, affine = _template(PATTERN_FLOOR)
    visual = _blobs(VISUAL_PEAKS_MM, affine, brain.shape)
    meridian = _blobs(MERIDIAN_PEAKS_MM, affine, brain.shape)
    voxel_mm = float(np.sqrt((affine[:3, :3] ** 2).sum(0)).mean())
    sigma_vox = NOISE_FWHM_MM * _FWHM_TO_SIGMA / voxel_mm

    def smooth(rng, sd):
        field = gaussian_filter(rng.standard_normal(brain.shape), sigma_vox, mode="constant")
        return field * (sd / field[brain].std())

    vertical, horizontal, ages, gains = [], [], [], []
    for i in range(n_subjects):
        rng = _subject_rng(random_state, 1000 + i)  # streams apart from the motor cohort
        age = rng.uniform(*AGE_RANGE)
        gain = np.exp(GAIN_SD * rng.standard_normal())
        effect = np.exp(DIFFERENCE_GAIN_SD * rng.standard_normal()) * DIFFERENCE
        shared = smooth(rng, SUBJECT_SD)
        modulation = 1.0 - AGE_SLOPE * (age - 40.0) / 10.0
        v = gain * RESPONSE * visual + effect * modulation * meridian + shared
        h = gain * RESPONSE * visual + shared
        for maps, values in ((vertical, v + smooth(rng, MAP_NOISE_SD)),
                             (horizontal, h + smooth(rng, MAP_NOISE_SD))):
            maps.append(nib.Nifti1Image(np.where(brain, values, 0.0).astype(np.float32),
                                        affine))
        ages.append(age)
        gains.append(gain)
    subjects = [f"sim-{i + 1:02d}" for i in range(n_subjects)]
    return TwoConditionCohort(vertical, horizontal, subjects, np.round(ages, 1),
                              np.array(gains))
