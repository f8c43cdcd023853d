"""Give memory freed by a long computation back to the system (a class server's budget).

A permutation or null-world run allocates and frees many large temporary arrays; glibc's
malloc keeps the freed pages in the kernel process (its arenas grow, one per thread that
allocated), so a learner's kernel would keep its peak size for the rest of the lesson.
``malloc_trim(0)`` returns them: about 15-20 MB per kernel after the lesson's permutations.
"""

import ctypes
import ctypes.util
import sys

_libc = None


def release_freed_memory():
    """Return freed heap pages to the OS (glibc only; elsewhere a no-op). Never raises."""
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(_libc.malloc_trim(0))
    except (OSError, AttributeError):  # musl (Alpine) has no malloc_trim
        return False
