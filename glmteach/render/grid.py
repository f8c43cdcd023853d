"""The voxel grid of a map in canonical (RAS) order, its projections and a brain outline.

Conventions (nilearn's):

- Views: ``"x"`` sagittal (anterior to the right), ``"y"`` coronal and ``"z"`` axial, both
  with the left hemisphere on the left of the picture (labelled "L" / "R").
- Signed MIP: along each ray the value of largest magnitude is kept, with its sign, so that
  positive and negative effects both show (nilearn's ``plot_abs=False``).
"""

from functools import lru_cache

import numpy as np
from nibabel.orientations import io_orientation

VIEWS = {"x": "sagittal", "y": "coronal", "z": "axial"}


class BrainGrid:
    """A voxel grid in canonical (RAS) order, with projections and a brain outline.

    Parameters
    ----------
    mask : ndarray of bool, shape (nx, ny, nz)
        Voxels that carry values (nilearn's order of masked values = C-order of
        ``np.nonzero(mask)``).
    affine : ndarray, shape (4, 4)
        Voxel -> MNI mm. Axes may be flipped or permuted (e.g. the localizer's x = -3 mm);
        pictures are always shown in RAS order.
    outline : ndarray of bool, shape (nx, ny, nz), optional
        Brain used for the grey silhouette (default: the MNI152 brain mask resampled to this
        grid, else ``mask``).
    """

    def __init__(self, mask, affine, outline=None):
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim != 3 or not mask.any():
            raise ValueError(
                f"mask must be a non-empty 3D boolean array, got shape {mask.shape}; "
                "pass MaskedMaps.mask."
            )
        self.affine = np.asarray(affine, dtype=float)
        self.original_shape = mask.shape
        self._ornt = io_orientation(self.affine)
        self.shape = tuple(int(self._ornt_shape(mask.shape)[k]) for k in range(3))
        self.mask = self.canonical(mask)
        self._flat_index = self._canonical_flat(mask)
        self.extents = self._extents(mask.shape)
        self.in_mni = False  # whether the MNI brain outlines the data (glass-brain outline)
        if outline is None:
            outline = mni_brain_mask(mask.shape, self.affine)
            self.in_mni = _fits(outline, mask)
            if not self.in_mni:  # not in MNI space: outline the data instead
                outline = mask
        outline = self.canonical(np.asarray(outline, dtype=bool)) | self.mask
        self.silhouettes = {view: outline.any(axis=_AXIS[view]).T for view in VIEWS}

    @classmethod
    def from_img(cls, img):
        """Grid of a 3D image; values = finite non-zero voxels."""
        data = np.asarray(img.dataobj, dtype=np.float32)
        return cls(np.isfinite(data) & (data != 0), img.affine)

    def _ornt_shape(self, shape):
        out = [0, 0, 0]
        for axis, (target, _) in enumerate(self._ornt.astype(int)):
            out[target] = shape[axis]
        return out

    def canonical(self, volume):
        """Reorder a volume given on the original grid to RAS order (a view, no copy)."""
        volume = np.asarray(volume)
        order = np.argsort(self._ornt[:, 0])
        flips = [axis for axis in range(3) if self._ornt[axis, 1] < 0]
        return np.transpose(np.flip(volume, axis=flips), order)

    def _canonical_flat(self, mask):
        """Flat canonical indices of ``mask``'s voxels, in nilearn's (original C) order."""
        ijk = np.array(np.nonzero(mask))
        out = np.empty_like(ijk)
        for axis, (target, flip) in enumerate(self._ornt.astype(int)):
            idx = ijk[axis] if flip > 0 else mask.shape[axis] - 1 - ijk[axis]
            out[target] = idx
        return np.ravel_multi_index(tuple(out), self.shape)

    def _extents(self, shape):
        """imshow extents in mm (world axes = canonical axes for near-diagonal affines)."""
        last = np.array(shape) - 1
        corners = np.array([[i, j, k] for i in (0, last[0]) for j in (0, last[1])
                            for k in (0, last[2])], dtype=float)
        world = corners @ self.affine[:3, :3].T + self.affine[:3, 3]
        half_voxel = np.abs(self.affine[:3, :3]).sum(axis=1) / 2
        lo, hi = world.min(axis=0) - half_voxel, world.max(axis=0) + half_voxel
        return {
            "x": (lo[1], hi[1], lo[2], hi[2]),
            "y": (lo[0], hi[0], lo[2], hi[2]),
            "z": (lo[0], hi[0], lo[1], hi[1]),
        }

    def volume(self, values):
        """Masked values, shape (n_voxels,), -> canonical float32 volume (0 outside)."""
        values = np.asarray(values, dtype=np.float32).ravel()
        if values.size != self._flat_index.size:
            raise ValueError(
                f"got {values.size} values for a mask of {self._flat_index.size} voxels; "
                "pass one value per mask voxel (MaskedMaps.Y columns)."
            )
        out = np.zeros(int(np.prod(self.shape)), dtype=np.float32)
        out[self._flat_index] = values
        return out.reshape(self.shape)

    def projections(self, volume, signed=True):
        """The three MIPs of a canonical volume, each ready for ``imshow(origin="lower")``.

        Returns
        -------
        dict
            ``{"x": (nz, ny), "y": (nz, nx), "z": (ny, nx)}`` float32 arrays; signed MIPs keep
            the value of largest magnitude along each ray.
        """
        return {view: signed_mip(volume, _AXIS[view], signed).T for view in VIEWS}


_AXIS = {"x": 0, "y": 1, "z": 2}


def _empty(shape):
    """A fully masked (transparent) picture."""
    return np.ma.masked_array(np.zeros(shape, dtype=np.float32), mask=True)


def _fits(outline, mask):
    """Whether a template brain outlines the data (most voxels inside, similar size)."""
    if outline is None:
        return False
    inside, n_mask, n_outline = (outline & mask).sum(), mask.sum(), outline.sum()
    return inside >= 0.8 * n_mask and n_outline <= 3 * n_mask


def signed_mip(volume, axis, signed=True):
    """Maximum-intensity projection keeping the sign of the largest-magnitude value."""
    volume = np.nan_to_num(np.asarray(volume, dtype=np.float32))
    if not signed:
        return volume.max(axis=axis)
    idx = np.expand_dims(np.abs(volume).argmax(axis=axis), axis)
    return np.take_along_axis(volume, idx, axis=axis).squeeze(axis)


@lru_cache(maxsize=8)
def _mni_resampled(kind, shape, affine_bytes):
    """nilearn's 2 mm MNI152 brain mask or T1 template on a grid (read and resampled once)."""
    from nilearn import datasets, image

    loader, interpolation = {
        "mask": (datasets.load_mni152_brain_mask, "nearest"),
        "template": (datasets.load_mni152_template, "continuous"),
    }[kind]
    resampled = image.resample_img(
        loader(resolution=2), target_affine=np.frombuffer(affine_bytes).reshape(4, 4),
        target_shape=shape, interpolation=interpolation, force_resample=True,
        copy_header=True,
    )
    return np.asarray(resampled.dataobj, dtype=np.float32)


def _grid_key(shape, affine):
    return tuple(int(s) for s in shape), np.asarray(affine, float).tobytes()


def mni_brain_mask(shape, affine):
    """MNI152 brain mask on the given grid (cached), or None if nilearn cannot provide it."""
    try:
        return _mni_resampled("mask", *_grid_key(shape, affine)) > 0
    except Exception:  # a missing template only costs the outline, never the panel
        return None


def mni_template(shape, affine):
    """MNI152 T1 template (2 mm, ships with nilearn) resampled to a grid (cached)."""
    return _mni_resampled("template", *_grid_key(shape, affine))
