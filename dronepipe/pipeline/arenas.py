"""At most a few malloc arenas for a batch run, so that its peak memory stays flat.

glibc gives each thread that finds the heap busy an arena of its own (up to eight per
core) and keeps freed memory in the arena that allocated it. A batch run decodes
frames, extracts features and renders mosaic blocks on dask threads, and each arena
keeps its own high-water mark of freed 1-10 MB buffers: the process's RSS then grows
with the number of frames until every arena has seen the worst case. With two arenas
the freed buffers are reused (``bench/memory.py``, 150 thermal frames: 494 MB peak
with the default, 414 MB with two arenas, CPU seconds the same). A fixed mmap
threshold would bound it too, but costs 50 % more CPU in page faults.

``limit_arenas`` is called by ``process`` (the job owns its process: the CLI calls one
library function); elsewhere (musl, macOS, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def limit_arenas(n: int) -> bool:
    """Let glibc's malloc create at most ``n`` arenas from now on (arenas that exist
    stay); False where the C library has no such setting."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(M_ARENA_MAX, int(n)))
    log.debug("malloc arenas limited to %d: %s", n, done)
    return done


def trim() -> bool:
    """Give the free pages of every arena back to the system (glibc's ``malloc_trim``),
    so that what one stage freed does not stay in the RSS the next stage starts from;
    False where the C library has no such call."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        malloc_trim = libc.malloc_trim
    except (OSError, AttributeError):
        return False
    malloc_trim.argtypes = (ctypes.c_size_t,)
    malloc_trim.restype = ctypes.c_int
    return bool(malloc_trim(0))
