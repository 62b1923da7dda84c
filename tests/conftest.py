"""Shared pytest configuration.

* Thread counts and the quiet environment come from the root ``conftest.py`` (shared with the
  doctests of the package).
* ``gpu`` tests are skipped when CuPy or a CUDA device is missing.
* ``xp`` fixture: the array namespaces the geometry layer is tested on (NumPy,
  array-api-strict, PyTorch CPU), after SciPy's ``scipy/conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

# environment and thread counts are set in the repository's root conftest.py
try:
    import torch
except Exception:  # torch is optional (diffusion extra)
    torch = None


def _gpu_available() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


GPU = _gpu_available()


def pytest_collection_modifyitems(config, items):
    if GPU:
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def _namespaces():
    params = [pytest.param("numpy", id="numpy")]
    try:
        import array_api_strict  # noqa: F401

        params.append(pytest.param("array_api_strict", id="array_api_strict"))
    except ImportError:
        params.append(pytest.param("array_api_strict", id="array_api_strict",
                                   marks=pytest.mark.skip(reason="array-api-strict not installed")))
    params.append(pytest.param("torch", id="torch",
                               marks=[] if torch is not None else pytest.mark.skip(reason="torch not installed")))
    return params


@pytest.fixture(params=_namespaces())
def xp(request):
    """An array namespace: numpy, array_api_strict or torch (CPU)."""
    name = request.param
    if name == "numpy":
        return np
    if name == "array_api_strict":
        import array_api_strict

        return array_api_strict
    import array_api_compat.torch as xtorch  # the compat-wrapped torch namespace

    return xtorch


@pytest.fixture(params=["float64", "float32"])
def float_dtype(request):
    return request.param
