"""The one place that sets numba options.

Every kernel is decorated with :func:`jit` (serial) or :func:`jit_parallel` (``prange``).
``cache=True`` is asked for everywhere so that a learner's second session, or a Binder
image warmed by ``postBuild``, does not wait for compilation. When no cache directory is
writable (a read-only install, a locked-down JupyterHub) numba refuses to decorate with
``cache=True``; we then fall back quietly to an in-memory compile.
"""

import os
import warnings

import numba

# fastmath is off on purpose: reductions must give the same bits for the same seed, and
# the tests compare with SciPy at rtol 1e-10.
_OPTIONS = dict(nogil=True, fastmath=False, error_model="numpy")


def _decorate(func, **options):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", numba.NumbaWarning)
            return numba.njit(cache=True, **options)(func)
    except (RuntimeError, OSError, PermissionError):
        # "cannot cache function ...: no locator available": read-only everywhere.
        return numba.njit(cache=False, **options)(func)


def jit(func):
    """Compile ``func`` as a serial nopython kernel (cached when possible)."""
    return _decorate(func, **_OPTIONS)


def jit_parallel(func):
    """Compile ``func`` with ``parallel=True`` so that its ``prange`` loops use threads."""
    return _decorate(func, parallel=True, **_OPTIONS)


def set_n_jobs(n_jobs=None):
    """Set numba's thread count from a scikit-learn-style ``n_jobs`` and return it.

    ``None`` or ``-1`` means every core numba may use; ``-2`` all but one, and so on.
    """
    available = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None or n_jobs == 0:
        n = available
    elif n_jobs < 0:
        n = max(1, available + 1 + n_jobs)
    else:
        n = min(int(n_jobs), available)
    numba.set_num_threads(n)
    return n


def cache_dir_hint():
    """Where numba writes its cache (for messages and the Binder warm-up)."""
    return os.environ.get("NUMBA_CACHE_DIR") or "next to glmteach's sources (__pycache__)"
