"""mask_maps against nilearn's own second-level machinery."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

import glmteach as gt

from conftest import small_maps


def _second_level(imgs, fwhm):
    from nilearn.glm.second_level import SecondLevelModel

    design = pd.DataFrame({"intercept": np.ones(len(imgs))})
    return SecondLevelModel(smoothing_fwhm=fwhm).fit(imgs, design_matrix=design)


def test_mask_and_t_equal_nilearn_second_level_model():
    imgs = small_maps(8, seed=3)
    masked = gt.mask_maps(gt.GroupMaps(imgs, [str(i) for i in range(8)], "user", "test"),
                          smoothing_fwhm=6.0)
    model = _second_level(imgs, 6.0)
    nilearn_mask = np.asarray(model.masker_.mask_img_.dataobj) > 0
    np.testing.assert_array_equal(masked.mask, nilearn_mask)
    t_nilearn = model.compute_contrast("intercept", output_type="stat").get_fdata()[nilearn_mask]
    t_ours = masked.Y.mean(0) / (masked.Y.std(0, ddof=1) / np.sqrt(8))
    np.testing.assert_allclose(t_ours, np.ravel(t_nilearn), rtol=1e-4)


def test_masked_maps_layout_and_round_trip(map_files):
    masked = gt.mask_maps(gt.load_maps(map_files), smoothing_fwhm=None)
    Y = masked.Y
    assert Y.dtype == np.float64 and Y.flags.c_contiguous and Y.shape == (6, masked.mask.sum())
    first = nib.load(map_files[0]).get_fdata()
    np.testing.assert_allclose(Y[0], first[masked.mask], rtol=1e-6)  # C order, no smoothing
    back = masked.to_img(Y[2]).get_fdata()
    np.testing.assert_allclose(back[masked.mask], Y[2], rtol=1e-6)
    assert np.all(back[~masked.mask] == 0)
    assert masked.voxel_size_mm == (4.0, 4.0, 4.0)
    assert f"{masked.n_voxels:,} voxels" in masked.summary()


def test_default_cohort_has_tens_of_thousands_of_voxels(embedded16):
    _, masked = embedded16
    assert masked.Y.shape[0] == 16 and 30_000 < masked.Y.shape[1] < 100_000


def test_nan_voxels_are_masked_out_and_counted(tmp_path):
    imgs = small_maps(5, seed=4)
    data = np.asarray(imgs[2].dataobj).copy()
    data[5:7, 6:8, 4:6] = np.nan  # 8 voxels inside the brain, in one subject only
    imgs[2] = nib.Nifti1Image(data, imgs[2].affine)
    masked = gt.mask_maps(gt.GroupMaps(imgs, list("abcde"), "user", "test"), smoothing_fwhm=4.0)
    assert masked.n_nan_voxels == 8
    assert not masked.mask[5:7, 6:8, 4:6].any()
    assert np.isfinite(masked.Y).all()
    assert "NaN" in masked.summary()


def test_user_mask_on_another_grid_is_resampled(map_files, tmp_path):
    maps = gt.load_maps(map_files)
    ref = maps.imgs[0]
    box = np.zeros((24, 28, 20), np.uint8)
    box[6:18, 6:22, 4:16] = 1
    affine = ref.affine.copy()
    affine[:3, :3] /= 2
    masked = gt.mask_maps(maps, mask_img=nib.Nifti1Image(box, affine))
    assert masked.mask.shape == ref.shape and 0 < masked.n_voxels < np.prod(ref.shape)


def test_empty_mask_is_explained(map_files):
    maps = gt.load_maps(map_files)
    empty = nib.Nifti1Image(np.zeros(maps.imgs[0].shape, np.uint8), maps.imgs[0].affine)
    with pytest.raises(ValueError, match="group mask is empty") as err:
        gt.mask_maps(maps, mask_img=empty)
    assert "\n" not in str(err.value)


def test_blank_maps_give_empty_mask_error():
    blank = [nib.Nifti1Image(np.zeros((6, 6, 6), np.float32), np.eye(4)) for _ in range(3)]
    with pytest.raises(ValueError, match="group mask is empty"):
        gt.mask_maps(gt.GroupMaps(blank, list("abc"), "user", "blank"))


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), 50.5, 1e6, 1e300, "x"])
def test_bad_smoothing(map_files, bad):
    with pytest.raises(ValueError, match="smoothing_fwhm must be between 0 and 50 mm"):
        gt.mask_maps(gt.load_maps(map_files), smoothing_fwhm=bad)


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_inf_voxels_are_treated_like_nan(value):
    imgs = small_maps(5, seed=4)
    data = np.asarray(imgs[2].dataobj).copy()
    data[5:7, 6:8, 4:6] = value  # 8 voxels inside the brain, in one subject only
    imgs[2] = nib.Nifti1Image(data, imgs[2].affine)
    maps = gt.GroupMaps(imgs, list("abcde"), "user", "test")
    masked = gt.mask_maps(maps, smoothing_fwhm=4.0)
    assert masked.n_nan_voxels == 8 and not masked.mask[5:7, 6:8, 4:6].any()
    assert np.isfinite(masked.Y).all() and "NaN or infinite" in masked.summary()
    # the same mask and values as with NaN there (reference: the NaN path)
    data[5:7, 6:8, 4:6] = np.nan
    imgs[2] = nib.Nifti1Image(data, imgs[2].affine)
    reference = gt.mask_maps(gt.GroupMaps(imgs, list("abcde"), "user", "test"),
                             smoothing_fwhm=4.0)
    np.testing.assert_array_equal(masked.mask, reference.mask)
    np.testing.assert_allclose(masked.Y, reference.Y)


def test_wrong_input_type():
    with pytest.raises(TypeError, match="GroupMaps"):
        gt.mask_maps(["a.nii.gz", "b.nii.gz"])


def test_to_img_checks_length(map_files):
    masked = gt.mask_maps(gt.load_maps(map_files))
    with pytest.raises(ValueError, match="one per mask voxel"):
        masked.to_img(np.zeros(3))
