"""The ``ds.statgeo`` accessor: the geometry layer's common verbs on an ``xr.Dataset``.

Composition through ``xarray.register_dataset_accessor`` (xarray docs, "Extending xarray"),
registered on ``import statgeo.geometry``. Conventions on the Dataset: the grid dims are the
1-D dimension coordinates named in ``grid_dims`` (default: every dim except ``sample``,
``origin``, ``cell``, ``i``, ``j`` and the statistic dim); posteriors are stored as
``posterior`` (dims origin, cell); a fitted potential is kept on the accessor object.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import xarray as xr

from statgeo.grid import Axis, ParameterGrid

__all__ = ["StatgeoAccessor"]

_NON_GRID = {"sample", "origin", "cell", "i", "j", "statistic", "stat", "feature", "site", "x", "y", "channel"}


@xr.register_dataset_accessor("statgeo")
class StatgeoAccessor:
    """``ds.statgeo.posterior(...)``, ``.fit(...)``, ``.metric(...)``, ``.plot_metric(...)``."""

    def __init__(self, ds: xr.Dataset) -> None:
        self._ds = ds
        self.potential = None

    def grid(self, grid_dims: Sequence[str] | None = None, coordinate_map: Any = None) -> ParameterGrid:
        """The ParameterGrid of the Dataset's grid dims (identity map unless ``coordinate_map``)."""
        dims = list(grid_dims) if grid_dims is not None else [d for d in self._ds.dims if d not in _NON_GRID
                                                               and d in self._ds.coords]
        if not dims:
            raise ValueError("no grid dims found: pass grid_dims=(...) naming the parameter dims")
        axes = [Axis(d, self._ds[d].values, self._ds[d].attrs.get("long_name", d), self._ds[d].attrs.get("units", "1"))
                for d in dims]
        return ParameterGrid(axes, coordinate_map)

    def posterior(self, estimator: str = "exact", *, grid: ParameterGrid | None = None, **kw: Any) -> xr.DataArray:
        """A posterior on the grid from the Dataset's variables.

        * ``"exact"``: ``statistics`` (var name, default "statistics": grid dims + sample + stat)
          and ``log_partition`` (var name, default "log_partition"); keywords ``n``, ``average``,
          ``seed`` go to :func:`~statgeo.geometry.posterior_exact.exact_posterior`.
        * ``"kernel"``: ``features`` (var name: grid dims + sample + feature); keywords go to
          :func:`~statgeo.geometry.posterior_kernel.feature_kernel_posterior`.
        """
        grid = grid or self.grid()
        if estimator == "exact":
            from statgeo.geometry.posterior_exact import exact_posterior

            st = self._ds[kw.pop("statistics", "statistics")]
            lz = self._ds[kw.pop("log_partition", "log_partition")]
            return exact_posterior(st, grid, lz, kw.pop("n"), **kw)
        if estimator == "kernel":
            from statgeo.geometry.posterior_kernel import feature_kernel_posterior

            f = self._ds[kw.pop("features", "features")]
            rest = [d for d in f.dims if d not in grid.names and d != "sample"]
            f = f.transpose(*grid.names, "sample", *rest)
            S = f.sizes["sample"]
            feats = f.values.reshape(grid.size * S, -1)
            loc = np.repeat(grid.points(), S, axis=0)
            return feature_kernel_posterior(feats, loc, grid, **kw)
        raise ValueError(f"estimator must be one of ('exact', 'kernel'), got {estimator!r} "
                         "(the neural posterior needs training: use NeuralGridPosterior)")

    def fit(self, posterior: str | xr.DataArray = "posterior", *, grid: ParameterGrid | None = None, **kw: Any):
        """Fit a log-partition function to a posterior (a DataArray or the name of a variable);
        keywords go to :func:`~statgeo.geometry.logpartition.fit_log_partition`. The result is
        returned and kept as ``ds.statgeo.potential``."""
        from statgeo.geometry.logpartition import fit_log_partition

        post = self._ds[posterior] if isinstance(posterior, str) else posterior
        self.potential = fit_log_partition(post, grid or self.grid(), **kw)
        return self.potential

    def metric(self, potential: Any = None, *, grid: ParameterGrid | None = None) -> xr.Dataset:
        """Φ, ∇Φ and the metric ∇²Φ of ``potential`` (default: the last fitted) on the grid."""
        pot = potential if potential is not None else self.potential
        if pot is None:
            raise ValueError("no potential: pass potential=... or call ds.statgeo.fit(...) first")
        grid = grid or self.grid()
        if hasattr(pot, "to_dataset"):
            return pot.to_dataset(grid)
        t = grid.natural_points()
        H = np.asarray(pot.hessian(t)).reshape(grid.shape + (grid.ndim, grid.ndim))
        return xr.Dataset({"metric": (grid.names + ("i", "j"), H)},
                          coords={**grid.coords(), "i": list(grid.natural_names), "j": list(grid.natural_names)})

    def plot_metric(self, var: str = "metric", **kw: Any):
        """Plot the metric components (of ``var`` in the Dataset, or of the fitted potential)."""
        from statgeo.geometry.plot import plot_metric

        ds = self._ds if var in self._ds else self.metric()
        return plot_metric(ds, var=var, **kw)
