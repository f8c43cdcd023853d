"""Reading 3D maps safely: every failure becomes a one-line error that names the fix."""

import gzip
import os
import warnings
from pathlib import Path
import zlib

import nibabel as nib
import numpy as np


def subject_name(path):
    """'sub-01_con' from '.../sub-01_con.nii.gz' (or the image's position for in-memory)."""
    if not isinstance(path, (str, Path)):
        return "map"
    name = Path(path).name
    for ext in (".nii.gz", ".nii", ".img", ".hdr"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def load_3d_maps(paths, cache=False):
    """Load each path (or image) as a 3D float32 in-memory Nifti1Image.

    The data are read at once so that a truncated file fails here, with its name, and not
    later deep inside nibabel or nilearn. ``cache`` only changes the advice given.
    """
    return [_load_one(p, cache) for p in paths]


def load_volumes(paths):
    """``(imgs, names)``: each path's 3D map, or one map per volume of a 4D image.

    A 4D image counts as one subject per volume, as in nilearn's ``SecondLevelModel``; its
    volumes are named ``"<file>[0]"``, ``"<file>[1]"``...
    """
    imgs, names = [], []
    for path in paths:
        volumes = _load_one(path, False, split_4d=True)
        imgs += volumes
        names += ([f"{subject_name(path)}[{i}]" for i in range(len(volumes))]
                  if len(volumes) > 1 else [subject_name(path)])
    return imgs, names


def _load_one(path, cache, split_4d=False):
    if isinstance(path, nib.spatialimages.SpatialImage):
        img, label = path, "an in-memory image"
    else:
        path = os.fspath(path)
        label = path
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"no such file: {path} (working directory {os.getcwd()}); check the path."
            )
        if os.path.isdir(path):
            raise ValueError(f"{path} is a folder; pass the NIfTI files inside it (or a glob).")
        try:
            img = nib.load(path)
        except nib.filebasedimages.ImageFileError:
            raise ValueError(
                f"{path} is not a NIfTI image; export each subject's map as .nii or .nii.gz."
            ) from None
        except (EOFError, OSError, zlib.error, gzip.BadGzipFile, ValueError) as exc:
            raise _corrupt(path, exc, cache) from None
    data = _read_data(img, label, cache)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if split_4d and data.ndim == 4:
        volumes = []
        for k in range(data.shape[3]):
            volumes.append(nib.Nifti1Image(np.asarray(data[..., k], dtype=np.float32),
                                           img.affine))
        return volumes
    if data.ndim != 3:
        raise ValueError(
            f"{label} is {data.ndim}D with shape {data.shape}; pass one 3D map per subject "
            "(nilearn.image.index_img(img, i) takes volume i of a 4D image)."
        )
    out = nib.Nifti1Image(data.astype(np.float32, copy=False), img.affine)
    return [out] if split_4d else out


def _read_data(img, label, cache):
    try:
        return np.asanyarray(img.dataobj)
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile, ValueError) as exc:
        raise _corrupt(label, exc, cache) from None


def _corrupt(path, exc, cache):
    fix = ("re-download it with `glmteach fetch` or use source='embedded'" if cache
           else "export or copy it again")
    return ValueError(f"{path} is truncated or corrupt ({type(exc).__name__}); {fix}.")


def check_same_grid(imgs, names, resample=False):
    """Return ``imgs`` if all share the first map's shape and affine; else resample or raise."""
    ref = imgs[0]
    out = [ref]
    for img, name in zip(imgs[1:], names[1:]):
        same = img.shape == ref.shape and np.allclose(img.affine, ref.affine, atol=1e-4)
        if same:
            out.append(img)
        elif resample:
            from nilearn.image import resample_to_img

            with warnings.catch_warnings():  # a map with few distinct values is still a map
                warnings.filterwarnings("ignore", message="Resampling binary images")
                out.append(resample_to_img(img, ref, interpolation="continuous",
                                           force_resample=True, copy_header=True))
        else:
            raise ValueError(
                f"maps are on different grids: {name} has shape {img.shape} and voxel size "
                f"{_voxel(img)} mm, the first map {ref.shape} and {_voxel(ref)} mm; pass "
                "resample=True to resample every map onto the first map's grid."
            )
    return out


def _voxel(img):
    return "x".join(f"{v:g}" for v in np.round(np.sqrt((img.affine[:3, :3] ** 2).sum(0)), 2))
