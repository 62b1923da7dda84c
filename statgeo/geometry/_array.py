"""Array-API helpers shared by the geometry layer (namespace, device, dtype, checks).

Every public geometry function that does not need autodiff accepts NumPy, PyTorch, CuPy (or
any array-API) arrays, finds the namespace with :func:`array_api_compat.array_namespace`,
computes in that namespace and on the device of its inputs, and never writes in place into
an input. The helpers here keep that uniform:

* :func:`namespace` — the namespace of the array arguments (NumPy for plain Python input);
* :func:`as_float_array` — convert to a floating array in ``xp`` on ``device``; integer and
  Python input become ``float64``; floating input keeps its dtype;
* :func:`to_numpy` / :func:`from_numpy` — explicit host round trips, used only by the parts
  that call SciPy (splines, optimisers, ODE solvers); documented where they happen;
* :func:`check_finite` / :func:`check_last_dim` — uniform error messages;
* :func:`as_points` — conversion, last-dimension and finiteness checks in one call;
* :func:`check_callable` — a ``TypeError`` naming the argument for a non-callable.

Array-likes (lists, tuples, Python scalars) are accepted wherever an array is: they become
NumPy ``float64`` arrays; real arrays keep their namespace, dtype and device.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "namespace",
    "device_of",
    "as_float_array",
    "to_numpy",
    "from_numpy",
    "check_finite",
    "check_last_dim",
    "eps_of",
    "is_numpy_namespace",
    "as_points",
]


def namespace(*arrays: Any):
    """Array namespace of the array arguments (``None``, Python scalars and lists ignored).

    Falls back to the compat-wrapped NumPy namespace when no argument is an array, so plain
    Python input (lists, tuples, scalars) is computed in NumPy.
    """
    arrs = [a for a in arrays if a is not None and array_api_compat.is_array_api_obj(a)]
    if not arrs:
        return array_api_compat.array_namespace(np.empty(0))
    return array_api_compat.array_namespace(*arrs)


def device_of(x: Any):
    """Device of an array (``"cpu"`` for NumPy)."""
    return array_api_compat.device(x)


def is_numpy_namespace(xp) -> bool:
    """Whether ``xp`` is (the compat wrapper of) NumPy."""
    return array_api_compat.is_numpy_namespace(xp)


def as_float_array(name: str, x: Any, xp, *, dtype=None, device=None):
    """Return ``x`` as a real floating array of namespace ``xp``.

    ``dtype=None`` keeps a floating input dtype and turns anything else into ``float64``.
    Complex input is rejected (``TypeError`` naming ``name``).
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a real array, got {x!r}")
    if isinstance(x, np.ndarray) and x.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be a real array, got an array of dtype {x.dtype}")
    if array_api_compat.is_array_api_obj(x):
        arr = x
        if array_api_compat.array_namespace(arr) is not xp:
            # a different namespace (e.g. a NumPy array mixed with torch tensors)
            arr = xp.asarray(to_numpy(arr), device=device)
    else:
        try:
            arr = xp.asarray(np.asarray(x, dtype=np.float64), device=device)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a real array (or a list of real numbers), got {_short(x)}") from exc
    if xp.isdtype(arr.dtype, "complex floating"):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    if dtype is None:
        dtype = arr.dtype if xp.isdtype(arr.dtype, "real floating") else xp.float64
    if arr.dtype != dtype:
        arr = xp.astype(arr, dtype)
    return arr


def to_numpy(x: Any) -> np.ndarray:
    """Copy an array of any supported namespace to a host NumPy array (explicit transfer)."""
    if isinstance(x, np.ndarray):
        return x
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    if array_api_compat.is_cupy_array(x):
        return x.get()
    return np.asarray(x)


def from_numpy(a: np.ndarray, xp, *, dtype=None, device=None):
    """Create an ``xp`` array from host data on ``device`` with an explicit ``dtype``."""
    a = np.ascontiguousarray(a)
    if dtype is None:
        dtype = getattr(xp, str(a.dtype)) if a.dtype.kind == "f" else xp.float64
    return xp.asarray(a, dtype=dtype, device=device)


def check_finite(name: str, x: Any, xp) -> None:
    """Raise ``ValueError`` naming ``name`` if ``x`` holds NaN or infinity."""
    if not bool(xp.all(xp.isfinite(x))):
        n_nan = int(xp.sum(xp.astype(xp.isnan(x), xp.int64)))
        what = f"{n_nan} NaN value(s)" if n_nan else "infinite value(s)"
        raise ValueError(f"{name} must be finite, got {what}")


def check_last_dim(name: str, x: Any, d: int | None = None, *, min_ndim: int = 1) -> int:
    """Check that ``x`` has at least ``min_ndim`` dims and, if given, last dimension ``d``."""
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s) (..., d), got shape {tuple(x.shape)}")
    if x.shape[-1] == 0:
        raise ValueError(f"{name} must have a non-empty last dimension, got shape {tuple(x.shape)}")
    if d is not None and x.shape[-1] != d:
        raise ValueError(f"{name} must have last dimension {d}, got shape {tuple(x.shape)}")
    return int(x.shape[-1])


def eps_of(xp, dtype) -> float:
    """Machine epsilon of a floating dtype."""
    return float(xp.finfo(dtype).eps)




def as_points(name: str, x: Any, xp=None, *, d: int | None = None, dtype=None, min_ndim: int = 1):
    """Convert ``x`` to a finite floating array of shape (..., d) in ``xp``; return ``(x, xp)``.

    ``xp=None`` takes the namespace of ``x`` (NumPy for lists and scalars).
    """
    xp = namespace(x) if xp is None else xp
    a = as_float_array(name, x, xp, dtype=dtype)
    check_last_dim(name, a, d, min_ndim=min_ndim)
    check_finite(name, a, xp)
    return a, xp


def _short(value: Any, n: int = 80) -> str:
    r = repr(value)
    return r if len(r) <= n else r[: n - 3] + "..."
