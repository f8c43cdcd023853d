"""Noise models of the null-world lab: how each subject's smooth null map is made.

- ``"gaussian"``: white noise smoothed with one Gaussian kernel of ``smoothing_fwhm``. Its
  spatial autocorrelation function (ACF) is Gaussian, the shape random field theory
  assumes.
- ``"long_tailed"``: the sum of two independent smooth fields, a narrow one and a wide
  one (``LONG_TAIL_WEIGHT`` of the variance, ``LONG_TAIL_WIDTH`` times the nominal FWHM).
  Its ACF falls fast near zero and then has a long tail, in the spirit of the mixed
  Gaussian-plus-exponential ACF that AFNI fits to real resting-state residuals (Cox et al.
  2017, Brain Connectivity 7:152; the reason Eklund et al. 2016 found parametric cluster
  inference too liberal). The narrow component's width is chosen so that the correlation
  of neighbouring voxels, and so the FWHM that SPM / FSL / glmteach estimate from the
  residuals, is the nominal one: the same "smoothness", a different tail.

The two weights below were fixed from that description before any FWER was measured;
they are not tuned to make a method fail.
"""

from dataclasses import dataclass

import numpy as np

NOISE_MODELS = ("gaussian", "long_tailed")
NOISE_LABELS = {"gaussian": "Gaussian ACF", "long_tailed": "long-tailed ACF"}
LONG_TAIL_WEIGHT = 0.3  # share of the variance in the wide component
LONG_TAIL_WIDTH = 3.0  # wide component's FWHM / nominal FWHM
_TRUNCATE = 4.0  # Gaussian kernel radius in standard deviations (scipy's default)
_SIGMA_PER_FWHM = 1.0 / np.sqrt(8.0 * np.log(2.0))
_LN2 = np.log(2.0)


@dataclass(frozen=True)
class NoiseModel:
    """A smooth unit-variance noise field as independent smoothed components.

    Attributes
    ----------
    name : str
        One of ``NOISE_MODELS``.
    smoothing_fwhm : float
        Nominal FWHM (mm): what a Gaussian-ACF estimator reports for this noise.
    amplitudes : tuple of float
        Per component, the factor on its unit-variance field (squares sum to 1).
    fwhm_mm : tuple of ndarray, shape (3,)
        Per component, the Gaussian kernel's FWHM (mm) along each axis.
    """

    name: str
    smoothing_fwhm: float
    amplitudes: tuple
    fwhm_mm: tuple

    def acf(self, distance_mm, axis=0):
        """Correlation of two voxels ``distance_mm`` apart along ``axis`` (continuum).

        White noise smoothed by a Gaussian kernel of FWHM ``f`` has the ACF
        ``exp(-2 ln 2 d**2 / f**2)``; independent components add, weighted by variance.
        """
        d = np.asarray(distance_mm, dtype=np.float64)
        out = np.zeros_like(d)
        for amplitude, fwhm in zip(self.amplitudes, self.fwhm_mm):
            f = fwhm[axis]
            out += amplitude**2 * (np.exp(-2.0 * _LN2 * d**2 / f**2) if f > 0 else d == 0)
        return out

    def gaussian_acf(self, distance_mm, axis=0):
        """The ACF a Gaussian field of the nominal FWHM would have (RFT's assumption)."""
        d = np.asarray(distance_mm, dtype=np.float64)
        f = self.smoothing_fwhm
        return np.exp(-2.0 * _LN2 * d**2 / f**2) if f > 0 else (d == 0).astype(float)

    def describe(self):
        """One line: what the noise is made of."""
        if self.name == "gaussian":
            return f"Gaussian ACF: white noise smoothed at {self.smoothing_fwhm:g} mm FWHM"
        narrow, wide = (float(np.mean(f)) for f in self.fwhm_mm)
        share = self.amplitudes[1] ** 2
        return (f"long-tailed ACF: {1 - share:.0%} of the variance smoothed at "
                f"{narrow:.1f} mm, {share:.0%} at {wide:.0f} mm (neighbouring voxels "
                f"correlate as at {self.smoothing_fwhm:g} mm)")


def noise_model(name, smoothing_fwhm, voxel_size_mm):
    """The :class:`NoiseModel` called ``name`` at nominal FWHM ``smoothing_fwhm`` (mm)."""
    if name not in NOISE_MODELS:
        raise ValueError(f"noise must be one of {', '.join(NOISE_MODELS)}, got {name!r}; "
                         "try noise='long_tailed'.")
    voxel = np.asarray(voxel_size_mm, dtype=np.float64)
    nominal = np.full(3, float(smoothing_fwhm))
    if name == "gaussian" or smoothing_fwhm == 0:
        return NoiseModel(name, float(smoothing_fwhm), (1.0,), (nominal,))
    w = LONG_TAIL_WEIGHT
    wide = LONG_TAIL_WIDTH * nominal
    # neighbour correlation of a component of FWHM f voxels: r = exp(-2 ln 2 / f**2);
    # choose the narrow one so that the mixture's r is the nominal r on every axis.
    r_target = np.exp(-2.0 * _LN2 / (nominal / voxel) ** 2)
    r_wide = np.exp(-2.0 * _LN2 / (wide / voxel) ** 2)
    r_narrow = (r_target - w * r_wide) / (1.0 - w)
    with np.errstate(divide="ignore", invalid="ignore"):
        narrow = np.where(r_narrow > 1e-12,
                          voxel * np.sqrt(-2.0 * _LN2 / np.log(np.maximum(r_narrow, 1e-12))),
                          0.0)  # too little smoothing to match: the narrow part stays white
    return NoiseModel(name, float(smoothing_fwhm), (np.sqrt(1.0 - w), np.sqrt(w)),
                      (narrow, wide))


def gaussian_weights(fwhm_mm, voxel_size_mm):
    """1D Gaussian kernels (one per axis) of unit L2 norm, truncated at 4 sigma.

    Unit L2 norm keeps smoothed white noise at unit variance. ``fwhm_mm`` is one FWHM or
    one per axis; 0 gives ``[1.0]`` (no smoothing).

    Returns
    -------
    tuple of 3 ndarray of float32, each shape (2 r + 1,)
    """
    fwhm = np.broadcast_to(np.asarray(fwhm_mm, dtype=np.float64), (3,))
    out = []
    for f, size in zip(fwhm, voxel_size_mm):
        sigma = f * _SIGMA_PER_FWHM / size
        radius = int(_TRUNCATE * sigma + 0.5)
        x = np.arange(-radius, radius + 1, dtype=np.float64)
        w = np.exp(-0.5 * (x / sigma) ** 2) if sigma > 0 else np.ones(1)
        out.append((w / np.sqrt((w**2).sum())).astype(np.float32))
    return tuple(out)
