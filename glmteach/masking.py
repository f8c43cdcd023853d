"""From images to the data matrix of a group analysis, and back.

``mask_maps`` computes the group mask as nilearn's ``SecondLevelModel`` does (a
``NiftiMasker`` fitted on the mean of the subjects' maps, "background" strategy), smooths
each map and returns ``Y`` of shape (n_subjects, n_voxels). Every statistic in glmteach
works on ``Y``; ``MaskedMaps.to_img`` turns a per-voxel result back into a brain image.
"""

from dataclasses import dataclass
import warnings

import nibabel as nib
import numpy as np

from .data import GroupMaps


@dataclass
class MaskedMaps:
    """The subjects' maps inside the group mask.

    Attributes
    ----------
    Y : ndarray of float64, shape (n_subjects, n_voxels), C-contiguous
        One row per subject, one column per in-mask voxel, after smoothing.
    mask_img : nibabel.Nifti1Image
        The group mask (uint8, 1 inside).
    masker : nilearn.maskers.NiftiMasker
        Fitted; ``masker.inverse_transform`` is what ``to_img`` uses.
    mask : ndarray of bool, shape (nx, ny, nz)
        The mask as an array; voxel ``j`` of ``Y`` is the ``j``-th True voxel in C order.
    affine : ndarray, shape (4, 4)
    voxel_size_mm : tuple of 3 floats
    smoothing_fwhm : float or None
        Gaussian smoothing applied to every map, in mm.
    subjects : list of str
    n_nan_voxels : int
        Voxels left out of the mask because some (not all) maps were NaN or +/-inf there.
    """

    Y: np.ndarray
    mask_img: nib.Nifti1Image
    masker: object
    mask: np.ndarray
    affine: np.ndarray
    voxel_size_mm: tuple
    smoothing_fwhm: float
    subjects: list
    n_nan_voxels: int = 0

    @property
    def n_subjects(self):
        return self.Y.shape[0]

    @property
    def n_voxels(self):
        return self.Y.shape[1]

    def to_img(self, values):
        """A 3D image of ``values`` (shape (n_voxels,)); 0 outside the mask."""
        values = np.asarray(values)
        if values.shape != (self.n_voxels,):
            raise ValueError(
                f"values must have shape ({self.n_voxels},) (one per mask voxel), "
                f"got {values.shape}."
            )
        data = np.zeros(self.mask.shape, dtype=np.float32)
        data[self.mask] = values
        return nib.Nifti1Image(data, self.affine)

    def summary(self):
        """One line for learners: voxels, grid, smoothing, NaNs."""
        size = "x".join(f"{v:g}" for v in self.voxel_size_mm)
        line = (f"{self.n_voxels:,} voxels in the group mask ({size} mm grid), "
                f"{self.n_subjects} subjects")
        line += (f", maps smoothed with FWHM {self.smoothing_fwhm:g} mm"
                 if self.smoothing_fwhm else ", no smoothing")
        if self.n_nan_voxels:
            line += (f"; {self.n_nan_voxels:,} voxels left out because some maps are NaN or "
                     "infinite there")
        return line


def mask_maps(maps, smoothing_fwhm=8.0, mask_img=None):
    """Mask and smooth the subjects' maps.

    Parameters
    ----------
    maps : GroupMaps
        From :func:`glmteach.load_localizer` or :func:`glmteach.load_maps`.
    smoothing_fwhm : float or None
        Full width at half maximum of the Gaussian smoothing, in mm (the seed uses 8);
        0 .. :data:`MAX_SMOOTHING_FWHM` mm.
    mask_img : Nifti1Image or path, optional
        Your own mask (resampled to the maps' grid if needed); default: computed from the
        maps as ``SecondLevelModel`` does.

    Returns
    -------
    MaskedMaps
    """
    from nilearn.maskers import NiftiMasker

    if not isinstance(maps, GroupMaps):
        raise TypeError(
            f"mask_maps takes the GroupMaps of load_localizer or load_maps, got "
            f"{type(maps).__name__}; try gt.mask_maps(gt.load_maps(paths))."
        )
    if maps.n_subjects < 2:
        raise ValueError(
            f"a group analysis needs at least 2 maps, got {maps.n_subjects}; add more subjects."
        )
    check_smoothing_fwhm(smoothing_fwhm)
    smoothing_fwhm = float(smoothing_fwhm) if smoothing_fwhm else None
    ref = maps.imgs[0]
    stack = np.stack([np.asarray(img.dataobj, dtype=np.float32) for img in maps.imgs])
    bad = ~np.isfinite(stack)  # NaN and +/-inf alike: dropped from the mask and counted
    nan_any, nan_all = bad.any(0), bad.all(0)
    stack[bad] = 0.0  # smoothing must not spread them (nilearn zeroes NaNs too)
    imgs = [nib.Nifti1Image(vol, ref.affine) for vol in stack]
    in_brain = _group_mask(imgs, mask_img, ref)
    mask = in_brain & ~nan_any
    n_nan = int((nan_any & ~nan_all & in_brain).sum())
    if not mask.any():
        raise ValueError(
            "the group mask is empty: no voxel is inside the brain in every map (all 0 or "
            "NaN); check that the maps are not blank, or pass mask_img= with your own mask."
        )
    final_mask = nib.Nifti1Image(mask.astype(np.uint8), ref.affine)
    masker = NiftiMasker(mask_img=final_mask, smoothing_fwhm=smoothing_fwhm,
                         standardize=None).fit()
    Y = np.ascontiguousarray(masker.transform(imgs), dtype=np.float64)
    voxel = tuple(float(v) for v in np.sqrt((ref.affine[:3, :3] ** 2).sum(0)))
    return MaskedMaps(Y=Y, mask_img=final_mask, masker=masker, mask=mask,
                      affine=ref.affine.copy(), voxel_size_mm=voxel,
                      smoothing_fwhm=smoothing_fwhm, subjects=list(maps.subjects),
                      n_nan_voxels=n_nan)


#: Largest smoothing accepted, in mm (wider kernels take minutes and blur the whole brain).
MAX_SMOOTHING_FWHM = 50.0


def check_smoothing_fwhm(smoothing_fwhm):
    """Raise a one-line ValueError unless ``smoothing_fwhm`` is None or in [0, 50] mm."""
    if smoothing_fwhm is None:
        return
    try:
        value = float(smoothing_fwhm)
    except (TypeError, ValueError):
        value = np.nan
    if not (np.isfinite(value) and 0 <= value <= MAX_SMOOTHING_FWHM):
        raise ValueError(f"smoothing_fwhm must be between 0 and {MAX_SMOOTHING_FWHM:g} mm "
                         f"(or None), got {smoothing_fwhm!r}.")


def _group_mask(imgs, mask_img, ref):
    """Boolean mask on the maps' grid: the user's, or nilearn's background mask of the mean."""
    from nilearn.image import mean_img, resample_to_img
    from nilearn.masking import compute_background_mask

    if mask_img is None:
        with warnings.catch_warnings():  # an empty mask gets our own, clearer error
            warnings.simplefilter("ignore")
            background = compute_background_mask(mean_img(imgs, copy_header=True))
        return np.asarray(background.dataobj) > 0
    from ._images import load_3d_maps

    user = load_3d_maps([mask_img])[0]
    if user.shape != ref.shape or not np.allclose(user.affine, ref.affine, atol=1e-4):
        user = resample_to_img(user, ref, interpolation="nearest",
                               force_resample=True, copy_header=True)
    return np.asarray(user.dataobj) > 0
