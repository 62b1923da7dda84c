"""The small protocol that keeps physics models interchangeable for the geometry layer.

A model knows its parameter names, the map from its physical parameters to natural
coordinates, how to sample over a :class:`~statgeo.grid.ParameterGrid` (returning a labelled
``xr.Dataset``), and its exact references over a grid (``log_z``, gradient and metric in
natural coordinates, as an ``xr.Dataset``). Models that are exponential families also expose
their sufficient statistics.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import xarray as xr

from statgeo.grid import CoordinateMap, ParameterGrid

__all__ = ["Model", "ExponentialFamilyModel"]


@runtime_checkable
class Model(Protocol):
    """A model sampled over a parameter grid, with exact references where they exist."""

    #: names of the physical parameters, i.e. the grid axes (e.g. ("T", "H"), ("alpha", "beta"))
    parameter_names: tuple[str, ...]

    def natural_map(self) -> CoordinateMap:
        """Map from physical parameters to natural coordinates (with Jacobian)."""
        ...

    def sample(self, grid: ParameterGrid, n_samples: int, *, seed: int | np.random.SeedSequence,
               backend: str = "auto") -> xr.Dataset:
        """Draw ``n_samples`` configurations at every grid point (dims: grid axes, ``sample``, sites)."""
        ...

    def exact(self, grid: ParameterGrid) -> xr.Dataset:
        """Exact (or anchored) references over the grid: ``log_z``, ``grad_log_z``, ``metric``."""
        ...


@runtime_checkable
class ExponentialFamilyModel(Model, Protocol):
    """A model p(x | t) = exp(⟨t, f(x)⟩ − log Z(t)) with known sufficient statistics f."""

    def sufficient_statistics(self, samples: xr.Dataset) -> xr.DataArray:
        """f(x) per sample, with a trailing ``statistic`` dim ordered like the natural coordinates."""
        ...
