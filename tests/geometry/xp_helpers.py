"""Test helpers for the array namespaces the geometry layer is tested on.

``to_numpy`` copies a NumPy, array-api-strict, PyTorch or CuPy array to a host NumPy array, so
that the tests compare results with NumPy tools whatever namespace produced them (the tests do
not use the package's private array helpers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["to_numpy"]


def to_numpy(x: Any) -> np.ndarray:
    """A host NumPy copy (or view) of an array of any tested namespace."""
    if isinstance(x, np.ndarray):
        return x
    mod = type(x).__module__.split(".")[0]
    if mod == "torch":
        return x.detach().cpu().numpy()
    if mod == "cupy":
        return x.get()
    if mod == "array_api_strict":
        # array-api-strict refuses __array__ on purpose; go through DLPack or a Python list
        try:
            return np.from_dlpack(x)
        except (TypeError, AttributeError, RuntimeError, BufferError):
            return np.asarray(x.tolist() if hasattr(x, "tolist") else x)
    return np.asarray(x)
