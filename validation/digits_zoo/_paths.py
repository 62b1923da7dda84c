"""Argument check shared by the zoo's modules: a file-system path."""

from __future__ import annotations

import os
from typing import Any


def check_path(name: str, value: Any) -> str:
    """``value`` as a non-empty path string, or ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(value, (bytes, bytearray)) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(value).__name__} {value!r:.60}")
    path = os.fspath(value)
    if not isinstance(path, str) or not path:
        raise ValueError(f"{name} must be a non-empty path, got {value!r:.60}")
    return path
