"""Process settings that make the CPU engine fast.

Threads: the attention stage is a few hundred small tensor ops; with two OpenMP threads each op
ends in a barrier, and on a 2-core machine that barrier either spins (fast alone, 2-3x slower as
soon as anything else runs: measured 9.9 -> 29.7 ms at 256 with one busy process beside it) or
sleeps (OMP_WAIT_POLICY=PASSIVE: 11.8-19.1 ms). One torch thread measured 10.9-11.7 ms either way,
and leaves the other core to MediaPipe, capture and the window. The full-resolution stage runs in
OpenCV's own thread pool regardless.

glibc hands every allocation above its mmap threshold back to the kernel when it is freed, so each
frame's few-megabyte temporaries page-fault in afresh: on a 2-core CPU the attention's elementwise
passes ran ~3x slower for it (measured 7.7 vs 2.2 ms per frame at 512). Keeping freed memory in
the heap makes the working set settle after the first frames (resident memory stays flat).
"""
import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MMAP_MAX = 32 * 1024 * 1024        # glibc's ceiling for the mmap threshold on 64-bit
_done = False


def keep_heap() -> bool:
    """Raise glibc's mmap and trim thresholds (Linux only, once per process). True when applied."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = (libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_MAX) == 1 and
              libc.mallopt(_M_TRIM_THRESHOLD, 4 * _MMAP_MAX) == 1 and
              libc.mallopt(_M_TOP_PAD, 16 * 1024 * 1024) == 1)
    except (OSError, AttributeError):     # not glibc (e.g. musl): nothing to tune
        ok = False
    _done = ok
    if not ok:
        log.debug("malloc tuning not available on this C library")
    return ok


def engine_threads() -> int:
    """torch intra-op threads for the CPU engine: one per four cores, at least one, at most four."""
    return max(1, min(4, (os.cpu_count() or 1) // 4))
