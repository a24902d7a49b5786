"""How much memory this process has needed at most: the figure the delivery targets are stated in."""

from __future__ import annotations

import contextlib
import resource
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's own peak resident memory (VmHWM), in MiB.

    Not `ru_maxrss`: Linux carries that over from the forked copy of the parent across exec, so a small
    process started by a big one (a test run, the benchmark runner) would report its parent's peak.
    """
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
