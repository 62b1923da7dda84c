"""Helpers shared by the benchmark scripts: median timing and a one-line machine record.

Benchmarks run as ``python benchmarks/<name>.py``, so this folder is on ``sys.path``. What the
scripts measure and how is described in docs/performance.md: medians of repeats, ratios
against a baseline measured in the same run, the machine and its load printed first.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable

__all__ = ["median_time", "median_time_and_result", "machine_line"]


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall-clock seconds of ``repeats`` calls of ``fn``.

    Parameters
    ----------
    fn : callable
        Called without arguments.
    repeats : int
        Number of calls (at least one call is made).

    Returns
    -------
    float
        The median, in seconds.
    """
    return median_time_and_result(fn, repeats)[0]


def median_time_and_result(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall-clock seconds of ``repeats`` calls of ``fn`` and the last call's result.

    The median rather than the mean or the minimum: on a shared machine single runs are slowed
    by other jobs, and the median of a few runs is the most stable figure.

    Parameters
    ----------
    fn : callable
        Called without arguments.
    repeats : int
        Number of calls (at least one call is made).

    Returns
    -------
    seconds : float
        The median, in seconds (``time.perf_counter``).
    result : object
        What the last call returned.
    """
    ts, out = [], None
    for _ in range(max(1, int(repeats))):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def machine_line(extra: str = "") -> str:
    """One line describing the machine, to print before the figures.

    Processor, logical cores, load average over 1, 5 and 15 minutes (CPU timings on a shared
    machine depend on it) and the Python version, plus ``extra`` (e.g. thread settings).

    Parameters
    ----------
    extra : str, default ""
        Appended after a comma.

    Returns
    -------
    str
    """
    la = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    line = (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
            f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}, python {platform.python_version()}")
    return line + (f", {extra}" if extra else "")
