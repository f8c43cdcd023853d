"""Plain NumPy / SciPy brute-force references for the statistics tests (slow, obvious)."""

import itertools

import numpy as np
from scipy import ndimage


def one_sample_t(Y):
    """t per voxel from the textbook formula, shape (n_voxels,)."""
    n = Y.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):  # constant voxels: inf / nan
        return Y.mean(axis=0) / (Y.std(axis=0, ddof=1) / np.sqrt(n))


def max_null_bruteforce(Y, signs, two_sided=True):
    """Max t over voxels for each flip, recomputing the t-test on the flipped data.

    Voxels constant in the observed data (t reported as 0) are left out of the maximum.
    """
    Y = Y[:, ~(Y == Y[0]).all(axis=0)]
    out = np.empty(signs.shape[0])
    for k, s in enumerate(signs):
        t = one_sample_t(Y * s[:, None])
        out[k] = np.abs(t).max() if two_sided else t.max()
    return out


def all_signs(n_subjects, two_sided=True):
    """Every distinct labelling via itertools.product (subject 0 fixed at +1 two-sided)."""
    n_free = n_subjects - 1 if two_sided else n_subjects
    rows = [((1,) if two_sided else ()) + combo
            for combo in itertools.product((1, -1), repeat=n_free)]
    return np.array(rows, dtype=np.int8)


def smooth_noise(n_subjects, shape, sigma_vox, rng, pad=None):
    """Gaussian white noise smoothed with a Gaussian kernel, cropped away from the edges.

    Returns
    -------
    ndarray, shape (n_subjects,) + shape
    """
    pad = int(np.ceil(4 * sigma_vox)) if pad is None else pad
    big = tuple(s + 2 * pad for s in shape)
    crop = tuple(slice(pad, pad + s) for s in shape)
    out = np.empty((n_subjects,) + tuple(shape))
    for i in range(n_subjects):
        field = ndimage.gaussian_filter(rng.standard_normal(big), sigma_vox)
        out[i] = field[crop]
    return out / out.std()


def box_resels(lengths_vox, fwhm_vox):
    """Closed-form resel counts (R0..R3) of a box with edge lengths in voxels."""
    a, b, c = (length / f for length, f in zip(lengths_vox, fwhm_vox))
    return np.array([1.0, a + b + c, a * b + a * c + b * c, a * b * c])


def ball_resels(radius_vox, fwhm_vox):
    """Closed-form resel counts of a ball (isotropic FWHM), Worsley 1996 table 2."""
    r = radius_vox / fwhm_vox
    return np.array([1.0, 4 * r, 2 * np.pi * r**2, 4 / 3 * np.pi * r**3])
