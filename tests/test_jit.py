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
