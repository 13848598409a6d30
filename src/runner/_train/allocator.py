"""Keep glibc from handing large tensor buffers back to the OS after every step.

With the defaults, a buffer above the mmap threshold (128 KiB, adapting up to
32 MiB) is mmap'ed and unmapped on every allocation, and freed heap memory
above 128 KiB is trimmed: a language model's output-layer buffers (batch x
unroll x vocabulary floats, tens of MiB) then cost page faults on every
step. Raising both thresholds keeps them in the heap for reuse.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest accepted value on 64-bit
TRIM_THRESHOLD = 1024 * 1024 * 1024


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
