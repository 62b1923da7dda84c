"""Helpers shared by the benchmark scripts: median timing and a one-line machine record.

Benchmarks run as ``python benchmarks/<name>.py``, so this folder is on ``sys.path``.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall-clock seconds of ``repeats`` calls of ``fn``."""
    return median_time_and_result(fn, repeats)[0]


def median_time_and_result(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall-clock seconds of ``repeats`` calls of ``fn`` and the last call's result."""
    ts, out = [], None
    for _ in range(max(1, int(repeats))):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def machine_line(extra: str = "") -> str:
    """Processor, logical cores, load average (1, 5, 15 min) and Python version, plus ``extra``."""
    la = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    line = (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
            f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}, python {platform.python_version()}")
    return line + (f", {extra}" if extra else "")
