"""Giving back what glibc's malloc holds free, for a process that decodes with torch on the CPU.

torch's CPU tensors come from glibc's ``malloc``. glibc serves a block of at least its *mmap
threshold* from a mapping of its own, returned to the system when freed, and smaller blocks
from its heaps, which keep what is freed inside them. The threshold starts at 128 KiB but rises
to the size of each mapped block freed (up to 32 MiB), so after the first decoding steps the KV
cache, the logits and the attention's temporaries (megabytes each, a different size every step)
all come from the heaps. Freed, they stay there, resident: measured with
``benchmarks/bench_memory.py``, the daemon under 0.3 mentions a second held 250-1200 MiB free
inside its heaps, and its peak RSS reached 2.2-2.6 GB where what it used was nearer 1.6 GB.

``Trimmer`` asks glibc to give the free pages back (``malloc_trim``) when the process's RSS
has grown by ``TRIM_GROWTH_MIB`` since the last trim, and when the decoder's batch ends. What
was trimmed and is used again costs a page fault, so it does not trim at every step: trimming
once a second cost 10-15 % of the decoding time (measured: ~180,000 more page faults per batch
of 16 rows); a trim only after growth costs a few trims a minute under load.

Measured and not used: fixing the threshold at 128 KiB (glibc's ``MALLOC_MMAP_THRESHOLD_``, an
operator can still set it) gives a peak as low, but every step's temporaries are then fresh
mappings: 1.9 million page faults and 4 s of system time per batch of 16 rows, 5-20 % more CPU
time. ``MALLOC_ARENA_MAX=1`` or ``2`` leaves hundreds of MiB free in the one or two heaps.

``REDDITBOT_MALLOC_TRIM=0`` never trims. Outside glibc nothing here does anything.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

TRIM_GROWTH_MIB = 128
"""RSS growth since the last trim (or the lowest RSS since) that is worth a trim."""

_libc: ctypes.CDLL | None | bool = False  # False: not looked up yet; None: not glibc


def glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (the only one with ``malloc_trim``), else None."""
    global _libc
    if _libc is False:
        try:
            libc = ctypes.CDLL(None)
            libc.gnu_get_libc_version  # noqa: B018  (only glibc has it)
            libc.malloc_trim.argtypes = [ctypes.c_size_t]
            _libc = libc
        except (OSError, AttributeError):
            _libc = None
    return _libc


def rss_bytes() -> int | None:
    """This process's resident set size (None where there is no /proc)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class Trimmer:
    """``malloc_trim(0)`` once RSS has grown by ``growth_mib`` since the last trim (measured
    from the lowest RSS seen since), or at once when ``forced``."""

    def __init__(
        self, growth_mib: float = TRIM_GROWTH_MIB, *, rss: Callable[[], int | None] = rss_bytes
    ) -> None:
        self.growth, self.rss = int(growth_mib * 1024 * 1024), rss
        wanted = os.environ.get("REDDITBOT_MALLOC_TRIM", "").strip() != "0"
        # the lowest RSS since the last trim; None: never trims (turned off, not glibc, no RSS)
        self.floor = rss() if wanted and glibc() is not None else None
        self.trims = 0

    @property
    def enabled(self) -> bool:
        return self.floor is not None

    def maybe(self, *, force: bool = False) -> bool:
        """Trim if RSS grew by ``growth_mib`` (or ``force``); whether it did. Not thread-safe:
        one caller at a time (the decoder's driver)."""
        if not self.enabled:
            return False
        now = self.rss()
        if now is None:
            return False
        self.floor = min(self.floor, now)
        if not force and now - self.floor < self.growth:
            return False
        glibc().malloc_trim(0)
        self.floor, self.trims = self.rss() or now, self.trims + 1
        return True
