"""numba options: caching falls back quietly where no cache can be written."""

import numba
import pytest

from glmteach import _jit

SOURCE = "def add_one(x):\n    return x + 1\n"


def _function_without_a_file():
    namespace = {}
    exec(compile(SOURCE, "<no file>", "exec"), namespace)  # like a function typed in a REPL
    return namespace["add_one"]


def test_raw_numba_cannot_cache_a_function_without_a_file():
    with pytest.raises(RuntimeError, match="cannot cache"):
        numba.njit(cache=True)(_function_without_a_file())


@pytest.mark.parametrize("decorator", [_jit.jit, _jit.jit_parallel])
def test_our_decorators_fall_back_quietly(decorator, recwarn):
    compiled = decorator(_function_without_a_file())
    assert compiled(41) == 42
    assert not [w for w in recwarn if "cach" in str(w.message).lower()]


def test_set_n_jobs():
    available = numba.config.NUMBA_NUM_THREADS
    try:
        assert _jit.set_n_jobs(1) == 1 and numba.get_num_threads() == 1
        assert _jit.set_n_jobs(None) == available
        assert _jit.set_n_jobs(-1) == available
        assert _jit.set_n_jobs(10_000) == available
    finally:
        _jit.set_n_jobs(None)


# ---------------------------------------------------------------- threads per learner


def _cgroup(tmp_path, cpu_max=None, v1=None):
    """A fake /sys/fs/cgroup: v2 ``cpu.max`` text, or v1 (quota_us, period_us)."""
    if cpu_max is not None:
        (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    if v1 is not None:
        (tmp_path / "cpu").mkdir()
        (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(f"{v1[0]}\n")
        (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(f"{v1[1]}\n")
    return str(tmp_path)


def _affinity():
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@pytest.mark.parametrize("cpu_max, v1, env, expected", [
    (None, None, {}, None),                          # no quota: every CPU we may run on
    ("max 100000", None, {}, None),                  # v2 without a limit
    ("50000 100000", None, {}, 1),                   # half a CPU: still one thread
    ("150000 100000", None, {}, 1),                  # 1.5 CPUs round down
    ("100000000 100000", None, {}, None),            # a quota above the CPUs: affinity wins
    (None, (-1, 100000), {}, None),                  # v1 without a limit
    (None, (100000, 100000), {}, 1),                 # v1, one CPU
    (None, None, {"CPU_LIMIT": "1.0"}, 1),           # JupyterHub's spawner limit
    (None, None, {"CPU_LIMIT": "banana"}, None),     # unreadable: ignored
])
def test_cpu_quota_reads_affinity_cgroups_and_cpu_limit(tmp_path, cpu_max, v1, env, expected):
    root = _cgroup(tmp_path, cpu_max, v1)
    assert _jit.cpu_quota(root, env) == (_affinity() if expected is None else expected)


def test_threads_per_learner_prefers_the_environment(tmp_path):
    root = _cgroup(tmp_path, "100000 100000")
    assert _jit.threads_per_learner({}, root) == 1
    assert _jit.threads_per_learner({"NUMBA_NUM_THREADS": "3"}, root) == 3
    assert _jit.threads_per_learner({"GLMTEACH_NUM_THREADS": "2", "NUMBA_NUM_THREADS": "3"},
                                    root) == 2
    with pytest.warns(UserWarning, match="GLMTEACH_NUM_THREADS='zero'.*whole number"):
        assert _jit.threads_per_learner({"GLMTEACH_NUM_THREADS": "zero"}, root) == 1
    with pytest.warns(UserWarning, match="NUMBA_NUM_THREADS='0'"):
        assert _jit.threads_per_learner({"NUMBA_NUM_THREADS": "0"}, root) == 1


@pytest.mark.parametrize("env, expected", [
    ({"GLMTEACH_NUM_THREADS": "1"}, 1),
    ({"CPU_LIMIT": "1"}, 1),
    ({"NUMBA_NUM_THREADS": "1", "GLMTEACH_NUM_THREADS": "2"}, 2),
])
def test_a_fresh_kernel_sizes_numbas_pool_from_the_environment(env, expected):
    """In a new process (a learner's kernel), numba's pool is sized before it starts."""
    import os
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items()
             if k not in ("GLMTEACH_NUM_THREADS", "NUMBA_NUM_THREADS", "CPU_LIMIT")}
    code = ("import glmteach as gt, numpy as np, numba\n"
            "r = gt.permutation_test(np.random.default_rng(0).normal(size=(8, 50)), n_perm=64)\n"
            "print(numba.config.NUMBA_NUM_THREADS, numba.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(expected), str(expected)]
