"""Strict-JSON copies of result dictionaries for the validation commands' ``*.json`` files."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["json_ready"]


def json_ready(obj: Any) -> Any:
    """A copy of ``obj`` that ``json.dumps(..., allow_nan=False)`` accepts.

    Mappings become dicts with string keys; lists, tuples, sets and NumPy arrays become lists;
    NumPy scalars become Python scalars; NaN and ±inf become ``None``; paths become strings;
    anything else becomes its ``repr``.

    Parameters
    ----------
    obj : object
        The result to convert (nested containers allowed).

    Returns
    -------
    object
        The JSON-ready copy.

    Examples
    --------
    >>> json_ready({"a": float("nan"), "b": np.array([1.0, np.inf]), "c": (np.int64(2),), "d": np.bool_(True)})
    {'a': None, 'b': [1.0, None], 'c': [2], 'd': True}
    """
    if isinstance(obj, Mapping):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, (list, tuple, set)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)
