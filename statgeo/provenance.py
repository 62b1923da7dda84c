"""Small helpers for xarray output: CF attributes and JSON configuration attrs."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

__all__ = ["config_attr", "versions"]


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.random.SeedSequence):
        return {"entropy": str(o.entropy), "spawn_key": list(o.spawn_key)}
    return repr(o)


def config_attr(config: dict) -> str:
    """Serialise a configuration dict to a JSON string (netCDF refuses dict/bool/None attrs)."""
    return json.dumps(config, default=_default, sort_keys=True)


def versions() -> dict[str, str]:
    """Versions of statgeo and the numerical libraries it ran with (for provenance attrs)."""
    import importlib.metadata as md

    out = {}
    for pkg in ("statgeo", "numpy", "scipy", "numba", "xarray", "torch", "cupy-cuda12x", "diffusers", "open_clip_torch"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out
