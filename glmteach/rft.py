"""Random field theory: smoothness, resels, and FWER p-values for peaks and clusters.

What SPM does, in NumPy (SPM12's ``spm_est_smoothness``, ``spm_resels_vol``,
``spm_ECdensity`` and ``spm_P_RF``):

- :func:`random_field` estimates the smoothness (FWHM) of the residuals and counts the
  search volume in resolution elements (resels), :func:`resel_counts`;
- :meth:`RandomField.corrected_p` is the peak-level FWER p, ``1 - exp(-E[EC](t))``, the
  expected Euler characteristic of the excursion set (Worsley et al. 1996, Hum Brain Mapp
  4:58, their EC densities of a t field, :func:`ec_densities`);
- :meth:`RandomField.cluster_p` is the cluster-level FWER p of a cluster of ``k`` voxels
  formed at a cluster-defining threshold (CDT), as ``spm_P_RF(1, k, u, df, 'T', R, 1)``
  (Friston et al. 1994, Hum Brain Mapp 1:210; the formulas are written out there).

Thresholds are ``|t|`` for two-sided questions (positive and negative excursions both
count) and ``t`` for one-sided ones. People think of a CDT as an uncorrected p (0.01, 0.001):
:func:`cdt_from_p` converts, and refuses a t where a p is expected.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

from .glm import _check_design, check_Y

__all__ = ["RandomField", "random_field", "ec_densities", "resel_counts", "cdt_from_p",
           "check_cdt_p", "CDT_CHOICES"]

CDT_CHOICES = (0.01, 0.005, 0.001)  # cluster-defining thresholds offered to learners (p)
_EPS = np.finfo(float).eps  # SPM's floor of the EC densities (``max(EC, eps)``)


@dataclass(frozen=True)
class RandomField:
    """Smoothness and search volume of a statistic image, for random field theory.

    Attributes
    ----------
    fwhm_vox : ndarray, shape (3,)
        Estimated smoothness per axis in voxels.
    fwhm_mm : ndarray, shape (3,)
        The same in millimetres.
    resels : ndarray, shape (4,)
        Resel counts ``R0..R3`` of the search volume (Euler characteristic, then 1D, 2D
        and 3D intrinsic volumes in resolution elements).
    n_voxels : int
    df_residuals : float
        Degrees of freedom of the residuals the smoothness came from.
    """

    fwhm_vox: np.ndarray
    fwhm_mm: np.ndarray
    resels: np.ndarray
    n_voxels: int
    df_residuals: float
    _peaks: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def n_resels(self):
        """``R3``, the number of resolution elements in the 3D search volume."""
        return float(self.resels[3])

    def expected_ec(self, t, df, two_sided=True):
        """Expected Euler characteristic of the excursion set above ``t``.

        Two-sided: above ``|t|`` plus below ``-|t|`` (twice the one-sided value).
        """
        t = np.asarray(t, dtype=np.float64)
        u = np.abs(t) if two_sided else t
        ec = ec_densities(u, df) @ self.resels if u.ndim else self.resels @ ec_densities(u, df)
        return 2.0 * ec if two_sided else ec

    def corrected_p(self, t, df, two_sided=True):
        """FWER p per voxel, ``1 - exp(-E[EC](t))``, shape of ``t``.

        Below the statistic where ``E[EC]`` peaks (where the approximation breaks down,
        ``E[EC]`` can fall and even go negative) p is held at its peak value, close to 1,
        so that it never increases with ``t``.
        """
        t = np.asarray(t, dtype=np.float64)
        u = np.abs(t) if two_sided else t
        u_peak, p_peak = self._peak(df, two_sided)
        p = -np.expm1(-self.expected_ec(np.maximum(u, u_peak), df, two_sided))
        return np.clip(np.where(u <= u_peak, p_peak, p), 0.0, 1.0)

    def threshold(self, alpha=0.05, df=None, two_sided=True):
        """``|t|`` (two-sided) or ``t`` with RFT FWER p equal to ``alpha``.

        ``inf`` when no statistic reaches ``alpha``: with 4 subjects or fewer (df <= 3)
        the expected Euler characteristic of a t field does not fall to zero.
        """
        if df is None or not df > 0:
            raise ValueError(f"df must be positive, got {df!r}; pass the t-test's tt.df.")
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}; try 0.05.")
        u_peak, p_peak = self._peak(df, two_sided)
        if p_peak <= alpha:
            return u_peak
        hi = max(2.0 * u_peak, 10.0)
        while self.corrected_p(hi, df, two_sided) > alpha and hi < 1e6:
            hi *= 2.0
        if self.corrected_p(hi, df, two_sided) > alpha:
            # df <= 3: the EC density of the t field does not decay, so no t reaches alpha
            return np.inf
        return float(optimize.brentq(
            lambda u: float(self.corrected_p(u, df, two_sided)) - alpha, u_peak, hi,
            xtol=1e-10))

    # ------------------------------------------------------------------ clusters
    def cluster_expectations(self, cdt, df, two_sided=True):
        """Expected number of clusters and expected cluster size at the CDT ``cdt``.

        As SPM's ``spm_P_RF`` (one statistic image, n = 1), with ``D`` the highest
        dimension of the search volume that has resels (3 for a brain) and the EC
        densities ``rho_d`` of :func:`ec_densities` floored at machine epsilon:

        - expected number of clusters ``E[C] = sum_d R_d rho_d(u)``, the expected Euler
          characteristic (Worsley et al. 1996); two-sided, positive and negative
          clusters both count: twice that;
        - expected suprathreshold volume ``E[N] = R_D rho_0(u)`` resels (the volume times
          the probability that one voxel is above ``u``);
        - expected size of one cluster ``E[n] = E[N] / (R_D rho_D(u))`` resels (Friston
          et al. 1994: suprathreshold volume over the expected number of clusters, the
          latter from the top-dimensional term only, as SPM does).

        Parameters
        ----------
        cdt : float
            Cluster-defining threshold as ``|t|`` (two-sided) or ``t``; see
            :func:`cdt_from_p` to convert an uncorrected p.
        df : float
        two_sided : bool

        Returns
        -------
        expected_clusters : float
        expected_size : float
            In voxels (resels times the voxels of one resel).
        """
        u = _check_cdt_t(cdt)
        df = _check_df(df)
        dim = self._dimension()
        rho = np.maximum(ec_densities(u, df)[:dim + 1], _EPS)
        resels = self.resels[:dim + 1]
        expected_clusters = float(resels @ rho) * (2.0 if two_sided else 1.0)
        if dim == 0:
            return expected_clusters, np.nan
        size_resels = rho[0] / rho[dim]  # (R_D rho_0) / (R_D rho_D)
        return expected_clusters, float(size_resels * self._voxels_per_resel(dim))

    def cluster_p(self, sizes, cdt, df, two_sided=True):
        """Cluster-level FWER p of clusters of ``sizes`` voxels formed at ``cdt``.

        SPM's ``spm_P_RF(1, k, u, df, 'T', R, 1)``. The probability that one cluster has
        more than ``k`` resels follows the cluster-size law of a Gaussian field
        (Friston et al. 1994, from Nosko 1969 and Adler 1981), which SPM12 uses for t
        fields too: ``P(n > k) = exp(-beta k**(2/D))`` with
        ``beta = (Gamma(D/2 + 1) / E[n]) ** (2/D)``; clusters are then taken to occur as
        a Poisson process (the Poisson clumping heuristic, Adler 1981), so the chance
        that at least one cluster is that large is ``1 - exp(-E[C] P(n > k))``
        (:meth:`cluster_expectations` gives ``E[C]`` and ``E[n]``). At ``k = 0`` this is
        the probability of at least one cluster.

        Parameters
        ----------
        sizes : int or array-like of int
            Cluster sizes in voxels (``>= 0``).
        cdt : float
            Cluster-defining threshold as a t value: ``|t|`` (two-sided) or ``t``. Use
            :func:`cdt_from_p` to turn an uncorrected p (0.001) into one.
        df : float
            Degrees of freedom of the t field.
        two_sided : bool
            Clusters above ``cdt`` and below ``-cdt`` (True) or above ``cdt`` only.

        Returns
        -------
        float or ndarray
            FWER p of each size, the shape of ``sizes``.
        """
        sizes = np.asarray(sizes, dtype=np.float64)
        if not (np.isfinite(sizes).all() and (sizes >= 0).all()):
            raise ValueError("sizes must be cluster sizes in voxels (>= 0); use "
                             "ClusterResult.cluster_sizes().")
        expected_clusters, expected_size = self.cluster_expectations(cdt, df, two_sided)
        p_larger = self._size_tail(sizes, expected_size)
        p = -np.expm1(-(expected_clusters + _EPS) * p_larger)
        return float(p) if p.ndim == 0 else p

    def cluster_threshold(self, cdt, alpha=0.05, df=None, two_sided=True):
        """Smallest cluster size (voxels) whose :meth:`cluster_p` is ``<= alpha``.

        1 when every cluster survives (few clusters are expected at all); ``inf`` when
        none can (a search volume with no extent, where size carries no information).
        """
        df = _check_df(df)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) \
                or not 0 < alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}; try 0.05.")
        expected_clusters, expected_size = self.cluster_expectations(cdt, df, two_sided)
        dim = self._dimension()
        if dim == 0:
            return 1 if self.cluster_p(1, cdt, df, two_sided) <= alpha else np.inf
        # 1 - exp(-E[C] exp(-beta k^(2/D))) <= alpha  <=>  beta k^(2/D) >= -log(q)
        q = -np.log1p(-alpha) / (expected_clusters + _EPS)
        if q >= 1.0:
            return 1
        beta = (special.gamma(dim / 2 + 1) / expected_size) ** (2.0 / dim)
        k = int(max(1, np.ceil((-np.log(q) / beta) ** (dim / 2.0) - 1e-9)))
        while self.cluster_p(k, cdt, df, two_sided) > alpha:  # rounding at the boundary
            k += 1
        while k > 1 and self.cluster_p(k - 1, cdt, df, two_sided) <= alpha:
            k -= 1
        return k

    def cluster_table(self, df, cdt_ps=CDT_CHOICES, alpha=0.05, two_sided=True):
        """What RFT expects of clusters at each CDT (a pandas DataFrame, one row per p).

        Columns: cdt_p, cdt_t (:func:`cdt_from_p`), expected_clusters and
        expected_size (voxels) from :meth:`cluster_expectations`, and cluster_threshold
        (:meth:`cluster_threshold` at ``alpha``).
        """
        import pandas as pd

        rows = []
        for p in cdt_ps:
            u = cdt_from_p(p, df, two_sided)
            clusters, size = self.cluster_expectations(u, df, two_sided)
            rows.append(dict(cdt_p=float(p), cdt_t=u, expected_clusters=clusters,
                             expected_size=size,
                             cluster_threshold=self.cluster_threshold(u, alpha, df,
                                                                      two_sided)))
        return pd.DataFrame(rows)

    def _size_tail(self, sizes, expected_size):
        """``P(n > k) = exp(-beta k^(2/D))`` in voxels (beta scales with the unit)."""
        dim = self._dimension()
        if dim == 0:
            return np.ones_like(sizes)
        beta = (special.gamma(dim / 2 + 1) / expected_size) ** (2.0 / dim)
        return np.exp(-beta * sizes ** (2.0 / dim))

    def _dimension(self):
        """Highest d with R_d > 0 (SPM's ``find(R, 1, 'last') - 1``)."""
        nonzero = np.flatnonzero(np.asarray(self.resels) > 0)
        return int(nonzero[-1]) if nonzero.size else 0

    def _voxels_per_resel(self, dim):
        fwhm = np.asarray(self.fwhm_vox, dtype=np.float64)
        finite = np.sort(fwhm[np.isfinite(fwhm)])[:dim]  # a flat axis has no extent
        return float(np.prod(finite))

    def summary(self):
        """One line: estimated smoothness, resels and voxels (no method comparison: that
        depends on alpha and df, see :func:`glmteach.narrative.rft_vs_bonferroni`)."""
        from .narrative import smoothness_sentence

        return smoothness_sentence(self)

    def _peak(self, df, two_sided):
        key = (float(df), bool(two_sided))
        if key not in self._peaks:
            self._peaks[key] = self._find_peak(*key)
        return self._peaks[key]

    def _find_peak(self, df, two_sided):
        grid = np.linspace(0.0 if two_sided else -2.0, 8.0, 1601)
        ec = self.expected_ec(grid, df, two_sided)
        k = int(np.argmax(ec))
        return float(grid[k]), float(np.clip(-np.expm1(-ec[k]), 0.0, 1.0))


def ec_densities(t, df):
    """Euler characteristic densities ``rho_0..rho_3`` of a t field (Worsley 1996).

    In resel units (FWHM = 1), as SPM's ``spm_ECdensity('T', t, df)``; computed in log
    space so that they stay finite for large ``t``.

    Parameters
    ----------
    t : ndarray, shape (n,) or scalar
    df : float
        ``inf`` gives the densities of a Gaussian (Z) field.

    Returns
    -------
    ndarray, shape (n, 4) (or (4,) for a scalar ``t``)
    """
    t = np.asarray(t, dtype=np.float64)
    a = 4.0 * np.log(2.0)
    if np.isinf(df):  # the Gaussian field, the limit df -> inf
        g = np.exp(-t**2 / 2.0)
        return np.stack([special.ndtr(-t), np.sqrt(a) / (2 * np.pi) * g,
                         a / (2 * np.pi) ** 1.5 * t * g,
                         a**1.5 / (2 * np.pi) ** 2 * (t**2 - 1.0) * g], axis=-1)
    tail = np.exp((1.0 - df) / 2.0 * np.log1p(t**2 / df))  # (1 + t^2/df)^((1-df)/2)
    gamma_ratio = np.exp(special.gammaln((df + 1) / 2) - special.gammaln(df / 2))
    rho = np.stack([
        special.stdtr(df, -t),
        np.sqrt(a) / (2 * np.pi) * tail,
        a / (2 * np.pi) ** 1.5 * tail * t / np.sqrt(df / 2) * gamma_ratio,
        a**1.5 / (2 * np.pi) ** 2 * tail * ((df - 1) * t**2 / df - 1.0),
    ], axis=-1)
    return rho


def resel_counts(mask, fwhm_vox):
    """Resel counts ``R0..R3`` of a 3D mask (SPM's ``spm_resels_vol``, Worsley 1996).

    Voxels are lattice points; edges, faces and cubes between in-mask points are counted
    and the intrinsic volumes weighted by ``1 / FWHM`` per axis.

    Parameters
    ----------
    mask : ndarray of bool, shape (nx, ny, nz)
    fwhm_vox : array-like, shape (3,)

    Returns
    -------
    ndarray, shape (4,)
    """
    m = np.asarray(mask, dtype=bool)
    fx, fy, fz = (float(f) for f in fwhm_vox)
    ex, ey, ez = (m[1:] & m[:-1]).sum(), (m[:, 1:] & m[:, :-1]).sum(), \
        (m[:, :, 1:] & m[:, :, :-1]).sum()
    sq = m[1:, 1:] & m[:-1, 1:] & m[1:, :-1] & m[:-1, :-1]  # faces in the xy plane
    fxy = sq.sum()
    sq_xz = m[1:, :, 1:] & m[:-1, :, 1:] & m[1:, :, :-1] & m[:-1, :, :-1]
    fxz = sq_xz.sum()
    sq_yz = m[:, 1:, 1:] & m[:, :-1, 1:] & m[:, 1:, :-1] & m[:, :-1, :-1]
    fyz = sq_yz.sum()
    cubes = (sq[:, :, 1:] & sq[:, :, :-1]).sum()
    p = m.sum()
    r0 = p - (ex + ey + ez) + (fxy + fxz + fyz) - cubes
    r1 = (ex - fxy - fxz + cubes) / fx + (ey - fxy - fyz + cubes) / fy \
        + (ez - fxz - fyz + cubes) / fz
    r2 = (fxy - cubes) / (fx * fy) + (fxz - cubes) / (fx * fz) + (fyz - cubes) / (fy * fz)
    r3 = cubes / (fx * fy * fz)
    return np.array([r0, r1, r2, r3], dtype=np.float64)


def random_field(Y, mask, voxel_size_mm, design=None):
    """Estimate the smoothness and resel counts needed by random field theory.

    The smoothness comes from the normalised residuals (each voxel's residuals scaled to
    unit sum of squares, as SPM's ``spm_est_smoothness`` and FSL's ``smoothest``): for
    neighbouring in-mask voxels along each axis the mean of ``sum_i (u_i(a) - u_i(b))**2``
    is ``2 (1 - r)``, with ``r`` their correlation. ``r`` is corrected for the finite
    residual degrees of freedom (``r (1 + (1 - r**2) / (2 df))``) and turned into a FWHM
    assuming a Gaussian autocorrelation, ``FWHM = sqrt(-2 ln 2 / ln r)`` voxels (exact on
    the lattice, unlike the derivative approximation, at low smoothness).

    Parameters
    ----------
    Y : array-like, shape (n_subjects, n_voxels)
        In nilearn's voxel order: the C order of ``np.nonzero(mask)``.
    mask : ndarray of bool, shape (nx, ny, nz)
        The search volume; ``mask.sum() == n_voxels``.
    voxel_size_mm : float or sequence of 3 floats
    design : ndarray, shape (n_subjects, n_regressors), or DataFrame, optional
        Residuals from this OLS model (default: one-sample, i.e. ``Y - mean``).

    Returns
    -------
    RandomField
    """
    Y = check_Y(Y)
    mask = _check_mask(mask, Y.shape[1])
    voxel_size = _check_voxel_size(voxel_size_mm)
    if design is None:
        resid, df = Y - Y.mean(axis=0), Y.shape[0] - 1.0
    else:
        X, _ = _check_design(design, None, Y.shape[0])
        resid = Y - X @ np.linalg.lstsq(X, Y, rcond=None)[0]
        df = float(X.shape[0] - X.shape[1])
    ss = (resid**2).sum(axis=0)
    valid = ss > 1e-28 * np.maximum((Y**2).sum(axis=0), 1e-300)
    u = np.where(valid, resid / np.sqrt(np.where(valid, ss, 1.0)), 0.0)
    fwhm_vox = np.array([_axis_fwhm(u, mask, valid, axis, df) for axis in range(3)])
    return RandomField(fwhm_vox=fwhm_vox, fwhm_mm=fwhm_vox * voxel_size,
                       resels=resel_counts(mask, fwhm_vox), n_voxels=int(Y.shape[1]),
                       df_residuals=df)


def _axis_fwhm(u, mask, valid, axis, df):
    valid_vol = np.zeros(mask.shape, dtype=bool)
    valid_vol[mask] = valid
    lo = [slice(None)] * 3
    hi = [slice(None)] * 3
    lo[axis], hi[axis] = slice(None, -1), slice(1, None)
    pairs = valid_vol[tuple(lo)] & valid_vol[tuple(hi)]
    n_pairs = int(pairs.sum())
    if n_pairs == 0:
        return np.inf  # a flat search volume: no information (and no extent) on this axis
    total = 0.0
    vol = np.zeros(mask.shape)
    for row in u:  # one subject at a time keeps memory at one volume
        vol[mask] = row
        diff = vol[tuple(hi)][pairs] - vol[tuple(lo)][pairs]
        total += float(diff @ diff)
    r = 1.0 - total / n_pairs / 2.0
    r = r * (1.0 + (1.0 - r**2) / (2.0 * df))
    r = float(np.clip(r, 1e-6, 1.0 - 1e-12))
    return float(np.sqrt(-2.0 * np.log(2.0) / np.log(r)))


def _check_mask(mask, n_voxels):
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"mask must be a 3D boolean array, got shape {mask.shape}; "
                         "use MaskedMaps.mask.")
    mask = mask.astype(bool)
    if int(mask.sum()) != n_voxels:
        raise ValueError(f"mask has {int(mask.sum())} voxels but Y has {n_voxels} columns; "
                         "pass the mask that produced Y.")
    return mask


def _check_voxel_size(voxel_size_mm):
    size = np.broadcast_to(np.asarray(voxel_size_mm, dtype=np.float64), (3,)).copy()
    if not (np.isfinite(size).all() and (size > 0).all()):
        raise ValueError(f"voxel_size_mm must be 3 positive numbers, got {voxel_size_mm!r}; "
                         "use MaskedMaps.voxel_size_mm.")
    return size


def cdt_from_p(p, df, two_sided=True):
    """The t (``|t|`` if two-sided) of an uncorrected cluster-defining p.

    ``p`` is a voxelwise, uncorrected p such as 0.01, 0.005 or 0.001 (two-sided: half
    of it in each tail, as nilearn and :func:`glmteach.cluster_permutation_test`).
    A value of 1 or more is refused: it is a t, not a p (other tools have silently used
    t = 3.1 as p = 3.1, thresholding nothing).
    """
    p = check_cdt_p(p)
    df = _check_df(df)
    return float(stats.t.isf(p / 2 if two_sided else p, df))


def check_cdt_p(p, name="cdt_p"):
    """``p`` as a float if it is an uncorrected p in (0, 1); else a one-line error."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) \
            or not np.isfinite(p):
        raise ValueError(f"{name} must be an uncorrected p such as 0.001, got {p!r}.")
    if p >= 1:
        raise ValueError(f"{name} is an uncorrected p such as 0.001, got {p!r}, which looks "
                         f"like a t value; pass its p (e.g. {name}=0.001), not the t.")
    if p <= 0:
        raise ValueError(f"{name} must be an uncorrected p between 0 and 1, got {p!r}; "
                         f"try {name}=0.001.")
    return float(p)


def _check_cdt_t(cdt):
    if isinstance(cdt, bool) or not isinstance(cdt, (int, float, np.integer, np.floating)) \
            or not np.isfinite(cdt) or cdt <= 0:
        raise ValueError(f"cdt must be a positive t value such as 3.7, got {cdt!r}; "
                         "convert a p with glmteach.rft.cdt_from_p(0.001, df).")
    if cdt < 1:
        raise ValueError(f"cdt is a t value, got {cdt!r}, which looks like a p; convert it "
                         f"with glmteach.rft.cdt_from_p({cdt!r}, df).")
    return float(cdt)


def _check_df(df):
    if isinstance(df, bool) or not isinstance(df, (int, float, np.integer, np.floating)) \
            or not df > 0:
        raise ValueError(f"df must be positive, got {df!r}; pass the t-test's tt.df.")
    return float(df)
