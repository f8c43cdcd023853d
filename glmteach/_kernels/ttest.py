"""One-sample t kernels for sign-flip tests, written with the flip-invariant sum of squares.

For subject values ``y`` and signs ``s``, ``S = sum s_i y_i`` and ``SS = sum y_i**2``
(unchanged by flips) give ``t = s_hat * sqrt((n - 1) / (n - s_hat**2))`` with
``s_hat = S / sqrt(SS)``, ``|s_hat| <= sqrt(n)``.
"""

import numpy as np
from .._jit import jit

# n - s_hat**2 reaches 0 only when a flip makes every subject equal (zero variance); this
# floor keeps t finite there (|t| ~ 1e7 sqrt(n)) instead of inf.
_MIN_RELATIVE_VARIANCE = 1e-14


@jit
def unit_columns(Y, keep, out):
    """Write ``Y[:, v] / sqrt(sum(Y[:, v]**2))`` into ``out`` (zeros where not ``keep``).

    Parameters
    ----------
    Y : ndarray, shape (n_subjects, n_voxels)
    keep : ndarray of bool, shape (n_voxels,)
    out : ndarray, shape (n_subjects, n_voxels)
    """
    n = Y.shape[0]
    for v in range(Y.shape[1]):  # cheap (n_subjects x n_voxels): threads cost more
        ss = 0.0
        for i in range(n):
            ss += Y[i, v] * Y[i, v]
        scale = 1.0 / np.sqrt(ss) if keep[v] and ss > 0.0 else 0.0
        for i in range(n):
            out[i, v] = Y[i, v] * scale


@jit
def scaled_sum_to_t(s_hat, n_subjects, out):
    """t from scaled signed sums ``s_hat = S / sqrt(SS)``, both 1D of the same length."""
    n = float(n_subjects)
    for k in range(s_hat.shape[0]):
        s = s_hat[k]
        rest = max(n - s * s, n * _MIN_RELATIVE_VARIANCE)
        out[k] = s * np.sqrt((n - 1.0) / rest)
