"""Reading the study's result dictionary: numbers, fields of an encoder entry, argument checks.

Shared by :mod:`.report` and :mod:`.figures`, which both format an already computed result
(missing or undefined values read as NaN).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from statgeo.checks import check_path

__all__ = ["as_number", "field", "check_result", "output_dir"]


def as_number(value: Any) -> float:
    """``value`` as a float, NaN when it is missing or not a real number.

    Parameters
    ----------
    value : object
        A stored value (``None`` for an undefined one).

    Returns
    -------
    float

    Examples
    --------
    >>> as_number(None), as_number("x"), as_number(2), as_number(True)
    (nan, nan, 2.0, nan)
    """
    if value is None or isinstance(value, (bool, np.bool_)):
        return math.nan
    if isinstance(value, (numbers.Real, np.floating, np.integer)):
        return float(value)
    return math.nan


def field(entry: Mapping, name: str) -> Any:
    """Diagnostic or quality ``name`` of an encoder (or per-seed) entry, or None.

    Looked up at the top level, then under ``"penalties"``, then under ``"quality"``.

    Parameters
    ----------
    entry : Mapping
        An entry of ``res["encoders"]`` or of its ``"per_seed"`` list.
    name : str
        E.g. ``"fir_deviation"``, ``"curvature"``, ``"frechet_distance"``.

    Returns
    -------
    object
        The stored value, or None.

    Examples
    --------
    >>> field({"penalties": {"curvature": 0.1}, "quality": {"frechet_distance": 3.0}}, "frechet_distance")
    3.0
    """
    if name in entry:
        return entry[name]
    for group in ("penalties", "quality"):
        sub = entry.get(group)
        if isinstance(sub, Mapping) and name in sub:
            return sub[name]
    return None


def check_result(res: Any) -> Mapping:
    """Check that ``res`` is a result dictionary with a dict of encoder entries.

    Parameters
    ----------
    res : object
        The study's result.

    Returns
    -------
    Mapping
        ``res``.

    Raises
    ------
    TypeError
        ``res``, ``res["encoders"]`` or an encoder entry is not a dict.
    """
    if not isinstance(res, Mapping):
        raise TypeError(f"res must be a dict (the study's result), got {type(res).__name__}")
    enc = res.get("encoders", {})
    if not isinstance(enc, Mapping):
        raise TypeError(f"res['encoders'] must be a dict of encoder name -> entry, got {type(enc).__name__}")
    for name, entry in enc.items():
        if not isinstance(entry, Mapping):
            raise TypeError(f"res['encoders'][{name!r}] must be a dict, got {type(entry).__name__}")
    return res


def output_dir(out: Any) -> Path:
    """The output directory ``out``, created if missing.

    Parameters
    ----------
    out : str or os.PathLike
        The directory.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        ``out`` is not a path.
    ValueError
        ``out`` is empty or an existing file.
    """
    path = Path(check_path("out", out))
    if path.exists() and not path.is_dir():
        raise ValueError(f"out must be a directory (it is created if missing), got the file {path}")
    path.mkdir(parents=True, exist_ok=True)
    return path
