"""Pytest configuration shared by the test suite (``tests/``) and the doctests (``statgeo/``).

* Quiet, headless runs: ``TQDM_DISABLE=1``, ``MPLBACKEND=Agg``.
* Thread counts pinned for a 2-core machine: torch and Numba oversubscription made small
  kernels 20× slower.
* Doctests see ``np`` and ``xr`` without importing them.
"""

from __future__ import annotations

import os

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# MKL picks its kernels by CPU (AVX-512 paths on Intel, AVX2 paths elsewhere). The fit's stopping
# rules no longer turn those rounding differences into different fits (the fit tests pass under
# MKL's AUTO and AVX2 modes alike), but a fit whose loss ends near zero still keeps rounding in its
# last digits; pinning MKL's conditional numerical reproducibility mode keeps the suite's numbers
# from depending on the vendor's MKL paths (docs/geometry_fitting.md, "Reproducibility across CPUs").
os.environ.setdefault("MKL_CBWR", "AVX2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

try:
    import numba

    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
except Exception:  # pragma: no cover - numba is a hard dependency
    pass

try:
    import torch

    torch.set_num_threads(2)
    torch.set_num_interop_threads(1)
except Exception:  # torch is optional (diffusion extra)
    pass


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["np"] = np
    doctest_namespace["xr"] = xr
