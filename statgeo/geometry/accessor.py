"""The ``ds.statgeo`` accessor: the geometry layer's verbs on a labelled ``xr.Dataset``.

Composition through ``xarray.register_dataset_accessor`` (xarray, "Extending xarray"),
registered on ``import statgeo.geometry``. The accessor keeps no state: every verb returns its
result (a posterior DataArray, a :class:`~statgeo.geometry.FittedPotential` the caller keeps,
a metric Dataset), so derived Datasets lose nothing.

The grid is the one recorded with the data (``attrs["grid"]``, written by every statgeo
sampler, reference and posterior, and by :meth:`statgeo.grid.ParameterGrid.attach`), so a
Dataset sampled in physical coordinates, e.g. a TASEP Dataset on (α, β), is fitted in its
natural coordinates θ = (−ln α, −ln β). Data without a recorded grid name their grid
explicitly (``grid=`` on every verb, or :meth:`StatgeoAccessor.grid` with ``grid_dims``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import xarray as xr

from statgeo.checks import check_allocation, check_choice
from statgeo.coordinates import CoordinateMap
from statgeo.grid import Axis, ParameterGrid

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from statgeo.geometry.logpartition import FittedPotential

__all__ = ["StatgeoAccessor"]

ESTIMATORS = ("exact", "kernel")


@xr.register_dataset_accessor("statgeo")
class StatgeoAccessor:
    """``ds.statgeo.grid()``, ``.posterior(...)``, ``.fit(...)``, ``.metric(...)``, ``.plot_metric(...)``.

    Parameters
    ----------
    ds : xarray.Dataset
        The Dataset the accessor is attached to (xarray passes it).

    Raises
    ------
    TypeError
        ``ds`` is not an ``xarray.Dataset`` (when the class is called directly).

    Examples
    --------
    >>> from statgeo.models import TasepModel
    >>> m = TasepModel(4)
    >>> g = m.natural_grid(theta_alpha=(0.1, 2.0, 5), theta_beta=(0.1, 2.0, 5))
    >>> ds = m.sample(g, 32, seed=0, progress=False)
    >>> ds.statgeo.grid().natural_names
    ('theta_alpha', 'theta_beta')
    >>> post = ds.statgeo.posterior("exact", n=4, seed=0)   # the model's exact likelihood
    >>> post.dims
    ('origin', 'cell')
    """

    def __init__(self, ds: xr.Dataset) -> None:
        if not isinstance(ds, xr.Dataset):
            raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
        self._ds = ds

    def grid(self, grid_dims: Sequence[str] | None = None, coordinate_map: CoordinateMap | None = None
             ) -> ParameterGrid:
        """The Dataset's parameter grid.

        Parameters
        ----------
        grid_dims : sequence of str, optional
            Build the grid from these dimension coordinates instead of the recorded grid
            (for data statgeo did not produce).
        coordinate_map : CoordinateMap, optional
            With ``grid_dims``: the map to natural coordinates (default identity).

        Returns
        -------
        ParameterGrid

        Raises
        ------
        TypeError
            ``coordinate_map`` without ``grid_dims``, ``grid_dims`` not strings, or
            ``coordinate_map`` not a CoordinateMap.
        ValueError
            No grid is recorded and ``grid_dims`` is not given, or a named dim is missing.
        """
        if coordinate_map is not None and not isinstance(coordinate_map, CoordinateMap):
            raise TypeError(f"coordinate_map must be a statgeo.coordinates.CoordinateMap, "
                            f"got {type(coordinate_map).__name__}")
        if grid_dims is None:
            if coordinate_map is not None:
                raise TypeError("coordinate_map needs grid_dims (the recorded grid carries its own map)")
            return ParameterGrid.from_dataset(self._ds)
        if isinstance(grid_dims, str):
            grid_dims = (grid_dims,)
        if not hasattr(grid_dims, "__iter__") or not all(isinstance(d, str) for d in grid_dims):
            raise TypeError(f"grid_dims must be a dimension name or a sequence of names, got {grid_dims!r}")
        grid_dims = tuple(grid_dims)
        if not grid_dims:
            raise ValueError("grid_dims must name at least one dimension")
        missing = [d for d in grid_dims if d not in self._ds.dims or d not in self._ds.coords]
        if missing:
            raise ValueError(f"grid_dims {tuple(missing)} are not dimension coordinates of the Dataset "
                             f"(dims {tuple(self._ds.dims)})")
        axes = [Axis(d, self._ds[d].values, self._ds[d].attrs.get("long_name", d), self._ds[d].attrs.get("units", "1"))
                for d in grid_dims]
        return ParameterGrid(axes, coordinate_map)

    def posterior(self, estimator: str = "exact", *, grid: ParameterGrid | None = None, **kw: Any) -> xr.DataArray:
        """Posteriors over the grid from the Dataset's samples.

        Parameters
        ----------
        estimator : {"exact", "kernel"}
            ``"exact"``: the exact-likelihood posterior. For samples of a statgeo model (attrs
            ``model_config``) the model's own likelihood (keywords ``n``, ``seed`` and the
            model's options); for other data an exponential family given by the variables
            ``statistics`` (grid dims + ``sample`` + one statistic dim, ordered like the
            natural coordinates) and ``log_partition`` (grid dims), keywords of
            :func:`~statgeo.geometry.exact_posterior` (``n``, ``average``, ``seed``).
            ``"kernel"``: the feature-kernel posterior of the variable ``features`` (grid dims
            + ``sample`` + feature dims), keywords of
            :func:`~statgeo.geometry.feature_kernel_posterior`. The neural posterior needs
            training: use :class:`~statgeo.geometry.NeuralGridPosterior`.
        grid : ParameterGrid, optional
            Default: the recorded grid.
        **kw
            Estimator keywords (see above); ``statistics``, ``log_partition`` and ``features``
            name other variables.

        Returns
        -------
        xarray.DataArray
            Dims (origin, cell), with the grid in its attrs.

        Raises
        ------
        TypeError
            ``grid`` is not a ParameterGrid, a variable name is not a string, ``n`` is missing
            for ``"exact"``, or an estimator keyword has the wrong type.
        ValueError
            Unknown estimator, missing variables, a grid that does not match the data, or an
            estimator keyword out of range.
        """
        check_choice("estimator", estimator, ESTIMATORS)
        grid = self._grid(grid)
        if estimator == "exact":
            if "model_config" in self._ds.attrs:
                from statgeo.models.physics_model import model_from_dataset

                model = model_from_dataset(self._ds)
                if "n" not in kw:
                    raise TypeError("posterior('exact') needs n (samples per bundle)")
                return model.exact_posterior(self._ds, grid, kw.pop("n"), seed=kw.pop("seed", 0), **kw)
            from statgeo.geometry.posterior_exact import exact_posterior

            st = self._variable(kw.pop("statistics", "statistics"))
            lz = self._variable(kw.pop("log_partition", "log_partition"))
            if "n" not in kw:
                raise TypeError("posterior('exact') needs n (samples per bundle)")
            return exact_posterior(st, grid, lz, kw.pop("n"), **kw)
        from statgeo.geometry.posterior_kernel import feature_kernel_posterior

        f = self._variable(kw.pop("features", "features"))
        if "sample" not in f.dims:
            raise ValueError(f"the features variable must have a 'sample' dim, got dims {f.dims}")
        rest = [d for d in f.dims if d not in grid.names and d != "sample"]
        f = f.transpose(*grid.names, "sample", *rest)
        S = f.sizes["sample"]
        feats = f.values.reshape(grid.size * S, -1)
        loc = np.repeat(grid.points(), S, axis=0)
        return feature_kernel_posterior(feats, loc, grid, **kw)

    def fit(self, posterior: str | xr.DataArray = "posterior", *, grid: ParameterGrid | None = None,
            **kw: Any) -> FittedPotential:
        """Fit a log-partition function to a posterior; returns the fitted potential.

        Parameters
        ----------
        posterior : str or xarray.DataArray, default "posterior"
            A posterior DataArray, or the name of one in the Dataset.
        grid : ParameterGrid, optional
            Default: the grid recorded with the posterior (else with the Dataset).
        **kw
            Keywords of :func:`~statgeo.geometry.fit_log_partition`.

        Returns
        -------
        FittedPotential
            The object to keep; the accessor stores nothing.

        Raises
        ------
        TypeError
            ``posterior`` is neither a name nor a DataArray, ``grid`` is not a ParameterGrid,
            or a keyword has the wrong type.
        ValueError
            A missing variable, a posterior on another grid, or a keyword of
            :func:`~statgeo.geometry.fit_log_partition` out of range.
        """
        from statgeo.geometry.logpartition import fit_log_partition

        if not isinstance(posterior, (str, xr.DataArray)):
            raise TypeError(f"posterior must be a variable name or an xarray.DataArray, got {type(posterior).__name__}")
        post = self._variable(posterior) if isinstance(posterior, str) else posterior
        if grid is None:
            grid = ParameterGrid.from_dataset(post) if "grid" in post.attrs else self._grid(None)
        return fit_log_partition(post, grid, **kw)

    def metric(self, potential: Any, *, grid: ParameterGrid | None = None) -> xr.Dataset:
        """Φ, ∇Φ and the metric g = ∇²Φ of ``potential`` on the grid's natural points.

        Parameters
        ----------
        potential : FittedPotential or Potential
            E.g. the result of :meth:`fit`.
        grid : ParameterGrid, optional
            Default: the recorded grid.

        Returns
        -------
        xarray.Dataset
            ``log_partition``, ``gradient`` (``i``) and ``metric`` (``i``, ``j``) over the grid
            dims, ``i``/``j`` labelled by the natural coordinate names.

        Raises
        ------
        TypeError
            ``potential`` has no ``value``/``gradient``/``hessian`` methods, or ``grid`` is not a
            ParameterGrid.
        ValueError
            ``grid`` does not match the recorded grid, or the metric on it would not fit in
            memory.
        """
        grid = self._grid(grid)
        if hasattr(potential, "to_dataset"):
            return potential.to_dataset(grid)
        if not all(hasattr(potential, a) for a in ("value", "gradient", "hessian")):
            raise TypeError(f"potential must provide value, gradient and hessian (e.g. a FittedPotential from "
                            f"ds.statgeo.fit), got {type(potential).__name__}")
        d = grid.ndim
        check_allocation("the metric on the grid (points, d, d)", (grid.size, d, d), names="grid")
        t = grid.natural_points()
        names = list(grid.natural_names)
        ds = xr.Dataset(
            {"log_partition": (grid.names, np.asarray(potential.value(t)).reshape(grid.shape)),
             "gradient": (grid.names + ("i",), np.asarray(potential.gradient(t)).reshape(grid.shape + (d,))),
             "metric": (grid.names + ("i", "j"), np.asarray(potential.hessian(t)).reshape(grid.shape + (d, d)))},
            coords={**grid.coords(), "i": names, "j": names})
        return grid.attach(ds)

    def plot_metric(self, var: str = "metric", *, potential: Any = None, **kw: Any) -> Figure:
        """Plot the metric components of ``var`` (or of ``potential`` on the grid).

        Parameters
        ----------
        var : str, default "metric"
            A metric variable of the Dataset (grid dims + two component dims).
        potential : FittedPotential, optional
            Plot this potential's metric instead.
        **kw
            Keywords of :func:`~statgeo.geometry.plot_metric`.

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        TypeError
            ``var`` is not a string.
        ValueError
            The Dataset has no variable ``var`` (and no ``potential`` is given).
        """
        from statgeo.geometry.plot import plot_metric

        if not isinstance(var, str):
            raise TypeError(f"var must be a variable name, got {type(var).__name__}")

        if potential is not None:
            return plot_metric(self.metric(potential), var="metric", **kw)
        if var not in self._ds:
            raise ValueError(f"the Dataset has no variable {var!r}; pass potential=... to plot a fitted metric")
        return plot_metric(self._ds, var=var, **kw)

    # ------------------------------------------------------------------ helpers
    def _grid(self, grid: ParameterGrid | None) -> ParameterGrid:
        if grid is None:
            return ParameterGrid.from_dataset(self._ds)
        if not isinstance(grid, ParameterGrid):
            raise TypeError(f"grid must be a statgeo.grid.ParameterGrid, got {type(grid).__name__}")
        if "grid" in self._ds.attrs:
            why = ParameterGrid.from_dataset(self._ds).mismatch(grid)
            if why is not None:
                raise ValueError(f"grid does not match the grid recorded with the Dataset ({why})")
        return grid

    def _variable(self, name: str) -> xr.DataArray:
        if not isinstance(name, str):
            raise TypeError(f"a variable name must be a string, got {type(name).__name__}")
        if name not in self._ds:
            raise ValueError(f"the Dataset has no variable {name!r} (variables: {sorted(self._ds.data_vars)})")
        return self._ds[name]
