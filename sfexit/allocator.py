"""The C allocator's settings for a run of many threads (issue 23, "peak RSS ≤ 100 MB").

An export reads up to 25 answers at once on as many threads. glibc's malloc gives threads
arenas of their own (up to 8 per core) and, once a large buffer (a REST page's JSON text, a
1 MiB body read) is freed, raises its mmap threshold to that size, so later large buffers come
from the arenas and their freed space stays in the process. Measured at 1M rows (central,
bench/RESULTS.md 2026-12-07 18:3x): peak RSS 99-111 MB as is, 80-85 MB with two arenas and a
fixed 256 KiB mmap threshold (large buffers mapped and returned to the system when freed),
the same wall time. mallopt(3): "Setting this parameter [M_MMAP_THRESHOLD] also disables
dynamic adjustment"; M_ARENA_MAX bounds the arenas. Elsewhere than glibc: nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# <malloc.h>
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 256 * 1024
ARENAS = 2


def tune() -> bool:
    """Set glibc's arenas and mmap threshold for this process; False where there is no glibc
    (macOS, Windows, musl) or it refuses. Call before threads start."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, ARENAS)) and bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
