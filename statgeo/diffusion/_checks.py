"""Argument checks shared by the diffusion adapter (private; see :mod:`statgeo.checks`).

Every helper raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, bad
value) with a message that names the argument, and none of them does expensive work.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np

from statgeo.checks import check_int, check_path, check_real  # noqa: F401  (check_path: re-exported)


def check_scalar(name: str, value: Any, **bounds: Any) -> float:
    """A finite real scalar checked by :func:`statgeo.checks.check_real`, as a Python float."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    arr = check_real(name, value, **bounds)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a single real number, got an array of shape {arr.shape}")
    return float(arr)


def check_optional_scalar(name: str, value: Any, **bounds: Any) -> float | None:
    """``None`` or a real scalar (:func:`check_scalar`)."""
    return None if value is None else check_scalar(name, value, **bounds)


def check_str(name: str, value: Any, *, empty: bool = True) -> str:
    """``value`` if it is a string (non-empty unless ``empty``), else ``TypeError``/``ValueError``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r:.60}")
    if not empty and not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def check_dict(name: str, value: Any, *, optional: bool = True) -> dict | None:
    """``value`` if it is a dict (or ``None`` when ``optional``), else ``TypeError``."""
    if value is None and optional:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict{' or None' if optional else ''}, got {type(value).__name__}")
    return value


def check_shape(name: str, value: Any, *, min_size: int = 1) -> tuple[int, ...]:
    """A shape: a non-empty sequence of positive integers whose product is at least ``min_size``."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of positive integers, got {type(value).__name__} {value!r:.60}")
    shape = tuple(check_int(f"{name}[{i}]", s, min=1) for i, s in enumerate(value))
    if not shape:
        raise ValueError(f"{name} must have at least one dimension, got {tuple(value)!r}")
    size = 1
    for s in shape:
        size *= s
    if size < min_size:
        raise ValueError(f"{name} must hold at least {min_size} elements, got {shape}")
    return shape


def check_int_sequence(name: str, value: Any, *, min: int | None = None, max: int | None = None) -> list[int]:
    """A sequence (list, tuple or 1-D array) of integers, each in ``[min, max]``."""
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of integers, got {type(value).__name__} {value!r:.60}")
    if isinstance(value, np.ndarray) and value.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {value.shape}")
    return [check_int(f"{name}[{i}]", s, min=min, max=max) for i, s in enumerate(value)]


def real_array(name: str, value: Any, *, ndim: int | None = None, min_ndim: int | None = None) -> np.ndarray:
    """Finite real numbers (lists accepted, torch tensors read on the CPU) as a float64 array."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__} {value!r:.60}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__}") from exc
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if min_ndim is not None and arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (got NaN or inf)")
    return arr


def check_generator(name: str, value: Any) -> Any:
    """A latent → image generator: callable, with ``dtype`` and ``latent_shape`` attributes."""
    if not callable(value) or not hasattr(value, "dtype") or not hasattr(value, "latent_shape"):
        raise TypeError(f"{name} must be a LatentGenerator (callable with dtype and latent_shape attributes), "
                        f"got {type(value).__name__}")
    return value


def check_slice(name: str, value: Any) -> Any:
    """A :class:`~statgeo.diffusion.slices.LatentSlice`."""
    from statgeo.diffusion.slices import LatentSlice

    if not isinstance(value, LatentSlice):
        raise TypeError(f"{name} must be a LatentSlice, got {type(value).__name__}")
    return value


def check_point(name: str, value: Any) -> np.ndarray:
    """A finite slice point (alpha, beta) as a float64 array of shape (2,)."""
    p = real_array(name, value)
    if p.shape != (2,):
        raise ValueError(f"{name} must be a point (alpha, beta) of shape (2,), got shape {p.shape}")
    return p


def check_points(name: str, value: Any, *, max_points: int | None = None) -> np.ndarray:
    """A non-empty finite ``(n, 2)`` array of slice points (alpha, beta), at most ``max_points``."""
    p = real_array(name, value)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"{name} must be a non-empty (n, 2) array of (alpha, beta), got shape {p.shape}")
    if max_points is not None and p.shape[0] > max_points:
        raise ValueError(f"{name} holds {p.shape[0]} points, more than the maximum {max_points}")
    return p


def check_torch_device(name: str, value: Any) -> Any:
    """A torch device (string like ``"cpu"``/``"cuda:0"`` or ``torch.device``)."""
    import torch

    if isinstance(value, torch.device):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a torch device name such as 'cpu' or 'cuda', got {type(value).__name__}")
    try:
        return torch.device(value)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"{name} must be a torch device name such as 'cpu' or 'cuda:0', got {value!r}") from exc
