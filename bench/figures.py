"""What every bench prints with its figures: the machine's state while it ran (a figure from a
loaded machine is not one from a quiet machine), and percentiles."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes ``pids`` used so far, from /proc."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    return total


def machine_state() -> str:
    """Cores and load averages (1, 5, 15 min): a load near or above the core count means other
    work competed for the CPU during the run, and wall-clock figures (latencies, rates per
    second) are inflated by it; CPU-time figures much less so."""
    one, five, fifteen = os.getloadavg()
    cores = os.cpu_count() or 1
    return (f"machine: {cores} cores, load average {one:.2f} {five:.2f} {fifteen:.2f} "
            f"({one / cores:.0%} of the cores busy over the last minute)")


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
