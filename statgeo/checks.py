"""Argument checks shared by the whole package (and usable by code built on it).

Every public entry point validates its arguments with these helpers *before* any expensive
work or allocation, so that a bad value fails at once with a ``TypeError`` (wrong kind of
value) or ``ValueError`` (right kind, outside the accepted range) whose message names the
argument and the accepted range (docs/conventions.md, "Errors"). Like scikit-learn's
``check_scalar``, each helper returns the checked value, so callers write
``n = check_int("n", n, min=1)``.
"""

from __future__ import annotations

import numbers
import os
from typing import Any, Sequence

import numpy as np

__all__ = [
    "check_int",
    "check_real",
    "check_array",
    "check_choice",
    "check_bool",
    "check_callable",
    "check_path",
    "check_broadcast_reals",
    "check_allocation",
    "memory_limit_bytes",
    "format_bytes",
    "binary_pair",
]

#: environment variable overriding the allocation ceiling of :func:`check_allocation` (bytes)
MEMORY_LIMIT_ENV = "STATGEO_MEMORY_LIMIT"


def check_int(name: str, value: Any, *, min: int | None = None, max: int | None = None) -> int:
    """Return ``value`` as a Python int, or raise naming ``name`` and the range ``[min, max]``.

    Parameters
    ----------
    name : str
        The argument's name, used in the message.
    value : object
        The value to check. Booleans and floats are refused: ``L=8.0`` is almost always a
        mistake, and ``12.0`` points on an axis is ambiguous.
    min, max : int, optional
        Inclusive bounds.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        ``value`` is not an integer.
    ValueError
        ``value`` lies outside ``[min, max]``.

    Examples
    --------
    >>> check_int("n_samples", 64, min=1)
    64
    >>> check_int("n_samples", 0, min=1)
    Traceback (most recent call last):
    ...
    ValueError: n_samples must be an integer in [1, inf], got 0
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
    allow_inf: bool = False,
) -> np.ndarray:
    """Validate a real scalar or array of reals against an interval; return it as float64.

    NaN is always refused; ±inf too, unless ``allow_inf`` (and then only where the interval
    admits it).

    Parameters
    ----------
    name : str
        The argument's name, used in the message.
    value : scalar or array_like
        Real numbers (lists are accepted).
    low, high : float, optional
        Interval bounds; ``None`` means unbounded on that side.
    low_inclusive, high_inclusive : bool, default True
        Whether the bounds belong to the interval.
    allow_inf : bool, default False
        Accept ±inf inside the interval (e.g. a tolerance that may be infinite).

    Returns
    -------
    numpy.ndarray
        ``value`` as a float64 array (0-d for a scalar).

    Raises
    ------
    TypeError
        ``value`` is not real (a string, None, complex or an object array).
    ValueError
        ``value`` is empty, NaN, or outside the interval (written in standard notation,
        e.g. ``(0, 1]``).

    Examples
    --------
    >>> float(check_real("alpha", 0.3, low=0.0, high=1.0, low_inclusive=False))
    0.3
    >>> check_real("alpha", 1.5, low=0.0, high=1.0, low_inclusive=False)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be in (0, 1], got 1.5
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number or array of reals, got {value!r}")
    if np.iscomplexobj(value):
        raise TypeError(f"{name} must be real, got a complex value")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number or array of reals, got {_short(value)}") from exc
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
    if not allow_inf:
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
    """Validate a NumPy-convertible array: number of dimensions, dtype kind, finiteness.

    Parameters
    ----------
    name : str
        The argument's name, used in the message.
    value : array_like
        Lists and nested lists are accepted.
    ndim : int, optional
        Required number of dimensions.
    dtype_kind : str, optional
        Accepted ``dtype.kind`` letters, e.g. ``"iuf"`` for real numbers.
    finite : bool, default True
        Refuse NaN and ±inf in floating arrays.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    TypeError
        The dtype kind is not accepted (e.g. strings or objects where numbers are expected).
    ValueError
        Wrong number of dimensions, empty, or non-finite values.
    """
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise TypeError(f"{name} must be an array of numbers, got {_short(value)}") from exc
    if dtype_kind is not None and arr.dtype.kind not in dtype_kind:
        raise TypeError(f"{name} must have dtype kind in {dtype_kind!r}, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if finite and arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Validate that ``value`` is one of ``choices`` and return it.

    Parameters
    ----------
    name : str
        The argument's name, used in the message.
    value : object
        The value to check.
    choices : sequence
        The accepted values.

    Returns
    -------
    object
        ``value``.

    Raises
    ------
    ValueError
        ``value`` is not among ``choices``.

    Examples
    --------
    >>> check_choice("loss", "jsd", ("jsd", "mse"))
    'jsd'
    """
    try:
        ok = value in tuple(choices)
    except TypeError:  # unhashable or uncomparable values
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {_short(value)}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Validate a switch: ``True`` or ``False`` (NumPy bools included); return it as a bool.

    Parameters
    ----------
    name : str
        The argument's name, used in the message.
    value : object
        The value to check; 0, 1, None and strings are refused.

    Returns
    -------
    bool

    Raises
    ------
    TypeError
        ``value`` is not a bool.

    Examples
    --------
    >>> check_bool("progress", True)
    True
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {_short(value)}")
    return bool(value)


def check_callable(name: str, value: Any, *, optional: bool = False, what: str = "callable") -> Any:
    """Validate a callable (or ``None`` when ``optional``) and return it.

    Parameters
    ----------
    name : str
        The argument's name, used in the message.
    value : object
        The value to check.
    optional : bool, default False
        Accept ``None``.
    what : str, default "callable"
        What is expected, for the message (e.g. ``"a metric function g(t)"``).

    Returns
    -------
    object
        ``value``.

    Raises
    ------
    TypeError
        ``value`` is not callable (and not an accepted ``None``).
    """
    if value is None and optional:
        return None
    if not callable(value):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {_short(value)}")
    return value


def check_path(name: str, value: Any) -> str:
    """Return a file-system path as a non-empty string, or raise naming ``name``.

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    value : str or os.PathLike
        The path to check (it need not exist).

    Returns
    -------
    str
        ``os.fspath(value)``.

    Raises
    ------
    TypeError
        ``value`` is not a ``str`` or ``os.PathLike`` (bytes are refused).
    ValueError
        The path is empty.
    """
    if isinstance(value, (bytes, bytearray)) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(value).__name__} {value!r:.60}")
    path = os.fspath(value)
    if not isinstance(path, str) or not path:
        raise ValueError(f"{name} must be a non-empty path, got {value!r:.60}")
    return path


def check_broadcast_reals(**named: Any) -> tuple[np.ndarray, ...]:
    """Validate several real-valued arguments and broadcast them together.

    Parameters
    ----------
    **named : scalar or array_like
        Argument names and values.

    Returns
    -------
    tuple of numpy.ndarray
        float64 arrays in keyword order, broadcast to a common shape.

    Raises
    ------
    TypeError
        A value is not real (see :func:`check_real`).
    ValueError
        A value is NaN or the shapes do not broadcast (the message names every argument and
        its shape).
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


def memory_limit_bytes() -> int:
    """The allocation ceiling used by :func:`check_allocation`, in bytes.

    ``$STATGEO_MEMORY_LIMIT`` (bytes) if set, else the machine's physical memory (a request
    above it can never be served), else 16 GiB where the memory cannot be read.

    Returns
    -------
    int
    """
    env = os.environ.get(MEMORY_LIMIT_ENV)
    if env:
        try:
            return max(1, int(float(env)))
        except ValueError:
            pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16 * 2**30


def format_bytes(n: float) -> str:
    """A byte count in binary units, e.g. ``'1.5 GiB'``.

    Parameters
    ----------
    n : float
        Number of bytes.

    Returns
    -------
    str

    Examples
    --------
    >>> format_bytes(3 * 2**30 // 2)
    '1.5 GiB'
    """
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    x = float(n)
    for u in units:
        if abs(x) < 1024.0 or u == units[-1]:
            return f"{x:.3g} {u}" if u != "B" else f"{int(x)} B"
        x /= 1024.0
    return f"{x:.3g} EiB"  # pragma: no cover


def binary_pair(x: Any, *, chunk: int = 2**24) -> tuple[int, int] | None:
    """The two values of a binary configuration array: (−1, 1), (0, 1), or None if neither.

    (−1, 1) when every entry is ±1, else (0, 1) when every entry is 0 or 1 (an array of ones
    only reads as (−1, 1)). Checked ``chunk`` entries at a time, so the boolean temporaries
    stay small for large sample arrays (int8 or float).

    Parameters
    ----------
    x : array_like
        Real configurations.
    chunk : int, default 2**24
        Entries compared at a time.

    Returns
    -------
    tuple of int or None

    Examples
    --------
    >>> binary_pair([[-1, 1], [1, 1]]), binary_pair([0.0, 1.0]), binary_pair([0, 2])
    ((-1, 1), (0, 1), None)
    """
    flat = np.asarray(x).reshape(-1)
    for lo, hi in ((-1, 1), (0, 1)):
        if all(np.all((flat[s:s + chunk] == lo) | (flat[s:s + chunk] == hi)) for s in range(0, flat.size, chunk)):
            return (lo, hi)
    return None


def check_allocation(what: str, shape: Sequence[int], dtype: Any = np.float64, *, names: str,
                     limit: int | None = None) -> int:
    """Refuse, before allocating, an array that cannot fit in memory.

    Parameters
    ----------
    what : str
        What the array holds, e.g. ``"the spins array (points, samples, L, L)"``.
    shape : sequence of int
        Its shape (Python ints, so the product cannot overflow).
    dtype : dtype, default float64
        Its dtype.
    names : str
        The arguments that set the size, for the message, e.g. ``"n_samples, L and the grid"``.
    limit : int, optional
        Ceiling in bytes (default :func:`memory_limit_bytes`).

    Returns
    -------
    int
        The number of bytes the array needs.

    Raises
    ------
    ValueError
        The array would need more than ``limit`` bytes; the message names the arguments, the
        memory needed and the limit.

    Examples
    --------
    >>> check_allocation("a test array", (10, 10), names="n", limit=2**20)
    800
    """
    n = 1
    for s in shape:
        n *= int(s)
    need = n * np.dtype(dtype).itemsize
    cap = memory_limit_bytes() if limit is None else int(limit)
    if need > cap:
        raise ValueError(
            f"{names} ask for {what} of shape {tuple(int(s) for s in shape)} ({format_bytes(need)}), more than "
            f"the {format_bytes(cap)} this machine can hold (${MEMORY_LIMIT_ENV} sets the limit); reduce {names}"
        )
    return need


def _short(value: Any, n: int = 80) -> str:
    r = repr(value)
    return r if len(r) <= n else r[: n - 3] + "..."
