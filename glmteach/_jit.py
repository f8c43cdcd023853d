"""The one place that sets numba options.

Every kernel is decorated with :func:`jit` (serial) or :func:`jit_parallel` (``prange``).
``cache=True`` is asked for everywhere so that a learner's second session, or a Binder
image warmed by ``postBuild``, does not wait for compilation. When no cache directory is
writable (a read-only install, a locked-down JupyterHub) numba refuses to decorate with
``cache=True``; we then fall back quietly to an in-memory compile.

Threads: on a JupyterHub every learner's kernel is one process, and numba would start one
thread per core of the node in each of them (30 learners pressing "Run permutations" on a
16-core node: 480 busy threads). :func:`threads_per_learner` picks the pool size instead:
``GLMTEACH_NUM_THREADS`` if set, else ``NUMBA_NUM_THREADS`` if set, else the CPUs this
process may really use (its affinity mask, capped by a cgroup CPU quota, e.g. a Kubernetes
limit, or by JupyterHub's ``CPU_LIMIT``). numba sizes its pool once, when it is imported,
so ``import glmteach`` applies the choice (:func:`size_thread_pool`) and this module imports
numba only when a kernel is compiled.
"""

import math
import os
import sys
import warnings


def _cgroup_cpu_quota(root="/sys/fs/cgroup"):
    """CPUs allowed by a cgroup quota (v2 ``cpu.max``, v1 ``cfs_quota_us``), or None."""
    try:  # cgroup v2: "max 100000" (no limit) or "150000 100000" (1.5 CPUs)
        quota, period = open(os.path.join(root, "cpu.max")).read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1: -1 means no limit
        quota = int(open(os.path.join(root, "cpu", "cpu.cfs_quota_us")).read())
        period = int(open(os.path.join(root, "cpu", "cpu.cfs_period_us")).read())
        return None if quota <= 0 or period <= 0 else quota / period
    except (OSError, ValueError):
        return None


def cpu_quota(root="/sys/fs/cgroup", environ=None):
    """Whole CPUs this process may use: affinity, capped by cgroup quota and ``CPU_LIMIT``.

    A fractional quota rounds down (1.5 CPUs: 1 thread), never below 1.
    """
    environ = os.environ if environ is None else environ
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 1
    limits = [_cgroup_cpu_quota(root)]
    try:  # JupyterHub's spawners export the cpu_limit they were given
        limits.append(float(environ["CPU_LIMIT"]))
    except (KeyError, ValueError):
        pass
    for limit in limits:
        if limit is not None and math.isfinite(limit) and limit > 0:
            n = min(n, max(1, math.floor(limit)))
    return max(1, n)


def threads_per_learner(environ=None, root="/sys/fs/cgroup"):
    """numba's thread count for this process: ``GLMTEACH_NUM_THREADS``, else
    ``NUMBA_NUM_THREADS``, else :func:`cpu_quota`. A bad value is ignored with a warning."""
    environ = os.environ if environ is None else environ
    for name in ("GLMTEACH_NUM_THREADS", "NUMBA_NUM_THREADS"):
        text = environ.get(name, "").strip()
        if not text:
            continue
        try:
            value = int(text)
            if value < 1:
                raise ValueError
            return value
        except ValueError:
            warnings.warn(f"{name}={text!r} is not a whole number >= 1; ignoring it "
                          "(set it to e.g. 1 or 2)", stacklevel=2)
    return cpu_quota(root, environ)


def size_thread_pool():
    """Set ``NUMBA_NUM_THREADS`` to :func:`threads_per_learner` unless numba is already
    imported (then its pool size is fixed); return the pool size numba will use."""
    if "numba" in sys.modules:
        return sys.modules["numba"].config.NUMBA_NUM_THREADS
    n = threads_per_learner()
    os.environ["NUMBA_NUM_THREADS"] = str(n)
    return n


size_thread_pool()

# fastmath is off on purpose: reductions must give the same bits for the same seed, and
# the tests compare with SciPy at rtol 1e-10.
_OPTIONS = dict(nogil=True, fastmath=False, error_model="numpy")


def _decorate(func, **options):
    import numba

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

    ``None`` or ``-1`` means every thread of numba's pool (see :func:`threads_per_learner`);
    ``-2`` all but one, and so on.
    """
    import numba

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
