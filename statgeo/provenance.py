"""Provenance of results: configurations as JSON attributes and the versions that produced them."""

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
    """Serialise a configuration dict to a JSON string, for a Dataset attribute.

    netCDF refuses dict, bool and None attributes, so configurations are stored as JSON;
    NumPy scalars and arrays become numbers and lists, a SeedSequence its entropy and spawn
    key, anything else its ``repr``.

    Parameters
    ----------
    config : dict
        The configuration.

    Returns
    -------
    str
        JSON with sorted keys.

    Raises
    ------
    TypeError
        ``config`` is not a dict.

    Examples
    --------
    >>> config_attr({"L": np.int64(8), "seed": np.random.SeedSequence(1)})
    '{"L": 8, "seed": {"entropy": "1", "spawn_key": []}}'
    """
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    return json.dumps(config, default=_default, sort_keys=True)


def versions() -> dict[str, str]:
    """Versions of statgeo and the numerical libraries it runs with (for provenance attrs).

    Returns
    -------
    dict of str to str
        Package name → installed version, for the packages that are installed.
    """
    import importlib.metadata as md

    out = {}
    for pkg in ("statgeo", "numpy", "scipy", "numba", "xarray", "torch", "cupy-cuda12x", "diffusers", "open_clip_torch"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out
