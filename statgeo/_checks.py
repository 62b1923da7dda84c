"""Argument validation shared by the whole package.

Every public entry point validates its arguments with these helpers *before* any expensive
work, so that a bad value fails at once with a message naming the argument and the accepted
range (see ``architecture.md``, "Errors").
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = [
    "check_int",
    "check_real",
    "check_array",
    "check_choice",
    "check_broadcast_reals",
]


def check_int(name: str, value: Any, *, min: int | None = None, max: int | None = None) -> int:
    """Return ``value`` as a Python int, or raise naming ``name`` and the range ``[min, max]``.

    Booleans and floats are rejected (``TypeError``): ``L=8.0`` is almost always a mistake.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    v = int(value)
    lo = "-inf" if min is None else str(min)
    hi = "inf" if max is None else str(max)
    if (min is not None and v < min) or (max is not None and v > max):
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {v}")
    return v


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> np.ndarray:
    """Validate a real scalar or array of reals against an interval; return it as float64.

    The interval is written into the message in standard notation, e.g. ``(0, 1]``.
    NaN is always rejected.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number or array of reals, got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number or array of reals, got {value!r}") from exc
    if np.iscomplexobj(np.asarray(value)):
        raise TypeError(f"{name} must be real, got a complex value")
    interval = (
        ("[" if low_inclusive else "(")
        + ("-inf" if low is None else f"{low:g}")
        + ", "
        + ("inf" if high is None else f"{high:g}")
        + ("]" if high_inclusive else ")")
    )
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if np.isnan(arr).any():
        raise ValueError(f"{name} must be a real number in {interval}, got NaN")
    bad = np.zeros(arr.shape, dtype=bool)
    if low is not None:
        bad |= (arr < low) if low_inclusive else (arr <= low)
    if high is not None:
        bad |= (arr > high) if high_inclusive else (arr >= high)
    if (low is None or math.isinf(low)) and (high is None or math.isinf(high)):
        bad |= ~np.isfinite(arr)
    if bad.any():
        first = arr[bad].ravel()[0]
        raise ValueError(f"{name} must be in {interval}, got {float(first)!r}")
    return arr


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | None = None,
    dtype_kind: str | None = None,
    finite: bool = True,
) -> np.ndarray:
    """Validate a NumPy-convertible array: number of dimensions, dtype kind, finiteness."""
    arr = np.asarray(value)
    if dtype_kind is not None and arr.dtype.kind not in dtype_kind:
        raise TypeError(f"{name} must have dtype kind in {dtype_kind!r}, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if finite and arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Validate that ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_broadcast_reals(**named: Any) -> tuple[np.ndarray, ...]:
    """Validate several real-valued arguments and broadcast them together.

    Each keyword is an argument name and its value; non-numeric arrays raise ``TypeError``,
    NaN raises ``ValueError`` (via :func:`check_real`), and shapes that do not broadcast raise
    ``ValueError`` naming every argument and its shape. Returns float64 arrays in keyword order.
    """
    arrays = []
    for name, v in named.items():
        if isinstance(v, np.ndarray) and v.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be a real number or array of reals, got dtype {v.dtype}")
        arrays.append(check_real(name, v))
    try:
        return tuple(np.broadcast_arrays(*arrays))
    except ValueError as exc:
        shapes = ", ".join(f"{n} {np.shape(a)}" for n, a in zip(named, arrays))
        raise ValueError(f"{' and '.join(named)} must broadcast together, got shapes {shapes}") from exc
