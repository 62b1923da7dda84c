"""What a physics model knows, in one object: the base class of :mod:`statgeo.models`.

A model carries everything the rest of the package needs to know about it, so that
validation, the ``ds.statgeo`` accessor and the geometry layer ask the model (or the grid)
instead of branching on a model name:

* its parameter names (physical, the grid axes the sampler expects) and natural coordinates,
  with the :class:`~statgeo.coordinates.CoordinateMap` between them;
* the number of sites N (quantities per site are divided by it) and the shape of one
  configuration (a periodic 2-D lattice, an open 1-D chain);
* a sampler over a :class:`~statgeo.grid.ParameterGrid` returning a labelled Dataset;
* exact references (or an anchored Monte Carlo reference where no exact result exists);
* the exact-likelihood posterior of bundles of samples (the oracle of the method);
* sufficient statistics, where the model is an exponential family
  (:class:`ExponentialFamilyModel`);
* its phase diagram in natural coordinates (the lines a boundary detector should find).

Concrete models: :class:`statgeo.models.IsingModel`, :class:`statgeo.models.TasepModel`.
:func:`make_model` and :func:`model_from_dataset` build one from its name and size, or from
the attrs of a Dataset it produced (docs/models.md).
"""

from __future__ import annotations

import abc
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from statgeo.checks import check_choice
from statgeo.coordinates import CoordinateMap
from statgeo.grid import ParameterGrid

__all__ = ["PhysicsModel", "ExponentialFamilyModel", "PhaseDiagram", "MODELS", "register_model", "make_model",
           "model_from_config", "model_from_dataset", "per_site_reference", "EXTENSIVE_REFERENCE_VARIABLES"]


@dataclass(frozen=True)
class PhaseDiagram:
    """A model's phase boundaries in natural coordinates (thermodynamic limit).

    Filled by :meth:`PhysicsModel.phase_diagram`; a boundary detector's output is compared
    with it (docs/models.md).

    Parameters
    ----------
    lines : dict of str to numpy.ndarray
        Name → dense points (n, d) along each boundary line, in natural coordinates.
    points : dict of str to tuple of float, optional
        Name → special point (critical point, triple point) in natural coordinates.
    line_ends : dict of str to str, optional
        Special points that end a line, mapped to that line's name: a detector's ridge along
        the line should stop there (e.g. the Ising line η = 0 ends at the critical point).
    description : str, optional
        One line for humans.

    Examples
    --------
    >>> from statgeo.models import TasepModel
    >>> TasepModel(10).phase_diagram().points["triple_point"]
    (0.693..., 0.693...)
    """

    lines: dict[str, np.ndarray]
    points: dict[str, tuple[float, ...]] = field(default_factory=dict)
    line_ends: dict[str, str] = field(default_factory=dict)
    description: str = ""

    def all_line_points(self) -> np.ndarray:
        """Every line's points stacked in the order of ``lines``.

        Returns
        -------
        numpy.ndarray
            Shape (n, d), natural coordinates.
        """
        return np.concatenate(list(self.lines.values()))


#: reference variables that scale with the system size (divided by N for per-site references)
EXTENSIVE_REFERENCE_VARIABLES = ("log_z", "grad_log_z", "metric", "log_z_error", "grad_log_z_error", "metric_error",
                                 "observable_fisher", "observable_fisher_error")


def per_site_reference(ref: xr.Dataset, n_sites: int, grid: ParameterGrid, **labels: str) -> xr.Dataset:
    """The extensive variables of a reference divided by the number of sites, relabelled.

    Parameters
    ----------
    ref : xarray.Dataset
        A model's reference (totals).
    n_sites : int
        N.
    grid : ParameterGrid
        The reference's grid.
    **labels : str
        Attrs of the result (``reference_label``, ``metric_label``, ...).

    Returns
    -------
    xarray.Dataset
        The variables of :data:`EXTENSIVE_REFERENCE_VARIABLES` present in ``ref`` (÷ N), plus
        ``current`` if present (intensive), on the grid's coordinates (component dims
        ``natural``, ``natural_`` ordered like the natural coordinates).
    """
    dims = grid.names
    data = {v: (ref[v].transpose(*dims, ...).dims, ref[v].transpose(*dims, ...).values / n_sites)
            for v in EXTENSIVE_REFERENCE_VARIABLES if v in ref}
    if "current" in ref:
        data["current"] = (dims, ref["current"].transpose(*dims).values)
    out = xr.Dataset(data, coords=grid.coords())
    out.attrs.update({k: v for k, v in ref.attrs.items() if k in ("model", "model_config", "grid")})
    out.attrs.update(labels)
    out.attrs["per_site"] = 1
    return out


class PhysicsModel(abc.ABC):
    """Base class of the physics models: a sampler over a parameter grid with references.

    Subclasses set the class attributes below and implement the abstract methods.

    Attributes
    ----------
    name : str
        Registry name (``"ising"``, ``"tasep"``), recorded in every Dataset the model makes.
    parameter_names : tuple of str
        Physical parameters, in the order of the natural coordinates (e.g. ``("T", "H")``).
    natural_names : tuple of str
        Natural coordinates (e.g. ``("K", "eta")``), where the model is an exponential family
        or its log-partition function lives.
    configuration_kind : str
        ``"lattice2d"`` (a periodic L×L lattice) or ``"chain1d"`` (an open chain): the
        layout of one configuration, which a posterior network's encoder must respect.
    configuration_variable : str
        Name of the configurations in the Dataset returned by :meth:`sample`.
    mean_statistic_for : tuple of str
        Natural coordinates for which the per-sample mean of the configuration is (up to a
        factor) an exact sufficient statistic (the Ising mean spin for η); a baseline built
        on the mean is exact along them.
    sampler_backends : tuple of str
        Backends accepted by :meth:`sample` with its default method.
    """

    name: ClassVar[str]
    parameter_names: ClassVar[tuple[str, ...]]
    natural_names: ClassVar[tuple[str, ...]]
    configuration_kind: ClassVar[str]
    configuration_variable: ClassVar[str]
    mean_statistic_for: ClassVar[tuple[str, ...]] = ()
    sampler_backends: ClassVar[tuple[str, ...]] = ("auto", "numba")

    # ------------------------------------------------------------------ size and coordinates
    @property
    @abc.abstractmethod
    def n_sites(self) -> int:
        """Number of sites N (spins, lattice sites); per-site quantities divide by it."""

    @property
    @abc.abstractmethod
    def size(self) -> int:
        """The model's size argument (L for an L×L lattice, N for a chain)."""

    @abc.abstractmethod
    def config(self) -> dict[str, Any]:
        """The arguments that rebuild the model (JSON-serialisable).

        Returns
        -------
        dict
            ``{"model": name, **constructor arguments}``, see :func:`model_from_config`.
        """

    @abc.abstractmethod
    def natural_map(self) -> CoordinateMap:
        """Map from the physical parameters to the natural coordinates, with its Jacobian.

        Returns
        -------
        CoordinateMap
        """

    @abc.abstractmethod
    def natural_grid(self, **ranges: tuple[float, float, int]) -> ParameterGrid:
        """A grid regular in the natural coordinates, laid out as the sampler expects.

        Parameters
        ----------
        **ranges : tuple
            ``name=(start, stop, n)`` for every natural coordinate.

        Returns
        -------
        ParameterGrid
        """

    # ------------------------------------------------------------------ sampling
    @abc.abstractmethod
    def sample(self, grid: ParameterGrid, n_samples: int, *, seed: int | np.random.SeedSequence,
               **options: Any) -> xr.Dataset:
        """Draw ``n_samples`` configurations at every grid point.

        Parameters
        ----------
        grid : ParameterGrid
            Where to sample, laid out as the model expects (see :meth:`natural_grid`).
        n_samples : int
            Configurations per grid point.
        seed : int or numpy.random.SeedSequence
            Same seed and arguments → identical output.
        **options
            The model's sampler options.

        Returns
        -------
        xarray.Dataset
            The configurations in :attr:`configuration_variable`, dims (grid dims…, sample,
            site dims…), and the attrs ``model``, ``model_config`` and ``grid``.
        """

    def configurations(self, samples: xr.Dataset) -> xr.DataArray:
        """The configurations of a :meth:`sample` Dataset, dims (grid dims…, sample, site dims…).

        Parameters
        ----------
        samples : xarray.Dataset
            Output of :meth:`sample` (or a subset along the grid dims).

        Returns
        -------
        xarray.DataArray

        Raises
        ------
        TypeError
            ``samples`` is not a Dataset holding :attr:`configuration_variable`.
        ValueError
            ``samples`` records no grid, or its grid does not match its dims.
        """
        if not isinstance(samples, xr.Dataset) or self.configuration_variable not in samples:
            raise TypeError(f"samples must be an xr.Dataset from {type(self).__name__}.sample (with the variable "
                            f"{self.configuration_variable!r}), got {type(samples).__name__}")
        try:
            grid = ParameterGrid.from_dataset(samples)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"samples must record the grid they were drawn on (attrs['grid'], as "
                             f"{type(self).__name__}.sample writes it): {exc}") from exc
        return samples[self.configuration_variable].transpose(*grid.names, "sample", ...)

    # ------------------------------------------------------------------ references
    @abc.abstractmethod
    def exact(self, grid: ParameterGrid, **options: Any) -> xr.Dataset:
        """Exact references over ``grid``: ``log_z``, ``grad_log_z``, ``metric`` (natural).

        Parameters
        ----------
        grid : ParameterGrid
            Where to evaluate them.
        **options
            The model's options (method, progress, ...).

        Returns
        -------
        xarray.Dataset
        """

    def reference(self, grid: ParameterGrid, **options: Any) -> xr.Dataset:
        """The best available reference over ``grid``, labelled for what it is.

        The default is :meth:`exact`. Models without an exact result everywhere override it
        (the Ising model falls back to Monte Carlo anchored to an exact line). The Dataset
        holds ``log_z``, ``grad_log_z`` (``natural``) and ``metric`` (``natural``,
        ``natural_``), optionally ``*_error`` (one sigma) and ``observable_fisher``, and the
        attrs ``reference_label`` and ``metric_label``; totals, or per site with
        ``per_site=True`` (:func:`per_site_reference`).

        Parameters
        ----------
        grid : ParameterGrid
            Where to evaluate the reference.
        **options
            Passed to the model's reference.

        Returns
        -------
        xarray.Dataset
        """
        return self.exact(grid, **options)

    @abc.abstractmethod
    def exact_posterior(self, samples: xr.Dataset, grid: ParameterGrid, n: int, *,
                        seed: int | np.random.SeedSequence, **options: Any) -> xr.DataArray:
        """Exact-likelihood posteriors of bundles of ``n`` samples, averaged per origin or per bundle.

        The oracle of the method: p(t | x_1..x_n) ∝ Π_k p(x_k | t) over the grid cells
        (uniform prior); with the option ``average=False`` one row per bundle (effective
        temperature n), by default averaged per origin (n/2) (docs/geometry_fitting.md).

        Parameters
        ----------
        samples : xarray.Dataset
            Output of :meth:`sample` on ``grid``.
        grid : ParameterGrid
            The grid the samples were drawn on (origins and cells).
        n : int
            Samples per bundle, 1 ≤ n ≤ samples per point.
        seed : int or numpy.random.SeedSequence
            Shuffles the samples of each origin before cutting bundles.
        **options
            The model's options; every model accepts ``average`` (bool) and ``origins`` (flat
            grid indices of the origins to make posteriors for, default every grid point).

        Returns
        -------
        xarray.DataArray
            Dims (origin, cell).
        """

    @abc.abstractmethod
    def phase_diagram(self) -> PhaseDiagram:
        """The model's phase boundaries in natural coordinates.

        Returns
        -------
        PhaseDiagram
        """

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "model")
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PhysicsModel) and self.config() == other.config()

    def __hash__(self) -> int:
        return hash(json.dumps(self.config(), sort_keys=True))


class ExponentialFamilyModel(PhysicsModel):
    """A model p(x | t) = h(x) exp(⟨t, f(x)⟩ − log Z(t)) with known sufficient statistics f.

    Abstract: :class:`statgeo.models.IsingModel` is the concrete one (f = (B, M)). For such a
    model the gradient of log Z is E[f] and its Hessian, Cov(f), is the Fisher metric
    (docs/geometry_metric.md).
    """

    #: names of the sufficient statistics, ordered like the natural coordinates
    statistic_names: ClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def sufficient_statistics(self, samples: xr.Dataset) -> xr.DataArray:
        """f(x) per sample, with a trailing ``statistic`` dim ordered like the natural coordinates.

        Parameters
        ----------
        samples : xarray.Dataset
            Output of :meth:`sample`.

        Returns
        -------
        xarray.DataArray
            Dims (grid dims…, sample, statistic).
        """


#: name → model class; filled by :func:`register_model`
MODELS: dict[str, type[PhysicsModel]] = {}


def register_model(model_class: type[PhysicsModel]) -> type[PhysicsModel]:
    """Class decorator adding a :class:`PhysicsModel` subclass to :data:`MODELS` under its ``name``.

    Parameters
    ----------
    model_class : type
        A concrete subclass of :class:`PhysicsModel` whose ``name`` (a non-empty string) is not
        yet registered to another class.

    Returns
    -------
    type
        ``model_class``.

    Raises
    ------
    TypeError
        ``model_class`` is not a :class:`PhysicsModel` subclass, or its ``name`` is not a string.
    ValueError
        Its ``name`` is empty or taken by another class.

    Examples
    --------
    >>> from statgeo.models import IsingModel
    >>> register_model(IsingModel) is IsingModel  # registering again is a no-op
    True
    """
    if not (isinstance(model_class, type) and issubclass(model_class, PhysicsModel)):
        raise TypeError(f"model_class must be a PhysicsModel subclass, got {model_class!r}")
    name = getattr(model_class, "name", None)
    if not isinstance(name, str):
        raise TypeError(f"model_class must set the class attribute name (a string), got {name!r}")
    if not name:
        raise ValueError("model_class.name must be a non-empty string")
    if name in MODELS and MODELS[name] is not model_class:
        raise ValueError(f"model_class.name {name!r} is already registered ({MODELS[name].__name__})")
    MODELS[name] = model_class
    return model_class


def make_model(name: str, size: int, **params: Any) -> PhysicsModel:
    """Build a registered model from its name and size (``make_model("ising", 8)``).

    Parameters
    ----------
    name : str
        One of :data:`MODELS` (``"ising"``, ``"tasep"``).
    size : int
        L for the Ising model, N for the TASEP (checked by the model's constructor).
    **params
        Further constructor arguments (e.g. ``J``).

    Returns
    -------
    PhysicsModel

    Raises
    ------
    TypeError
        ``size`` is not an integer, or an unknown constructor argument is given.
    ValueError
        ``name`` is not registered, or a value is out of range.

    Examples
    --------
    >>> make_model("ising", 8)
    IsingModel(L=8, J=1.0)
    """
    check_choice("name", name, tuple(sorted(MODELS)))
    return _build(MODELS[name], {"size": size, **params}, "params")


def _build(model_class: type[PhysicsModel], arguments: dict[str, Any], what: str) -> PhysicsModel:
    """``model_class(**arguments)``, with the size argument renamed and unknown names refused."""
    params = inspect.signature(model_class.__init__).parameters
    names = [n for n in params if n != "self"]
    args = dict(arguments)
    if "size" in args:
        if names[0] in args:
            raise TypeError(f"{what} gives the size twice (size and {names[0]})")
        args[names[0]] = args.pop("size")
    unknown = sorted(set(args) - set(names))
    if unknown:
        raise TypeError(f"{what} has arguments {unknown} that {model_class.__name__} does not take; it takes "
                        f"{names}")
    return model_class(**args)


def model_from_config(config: dict[str, Any]) -> PhysicsModel:
    """Rebuild a model from :meth:`PhysicsModel.config`.

    Parameters
    ----------
    config : dict
        ``{"model": name, **constructor arguments}``.

    Returns
    -------
    PhysicsModel

    Raises
    ------
    TypeError
        ``config`` is not a mapping, or holds arguments the model does not take.
    ValueError
        No or an unknown ``"model"`` entry, or a value out of range.

    Examples
    --------
    >>> model_from_config({"model": "tasep", "N": 10})
    TasepModel(N=10)
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict like {{'model': 'ising', 'L': 8}}, got {type(config).__name__}")
    config = dict(config)
    name = config.pop("model", None)
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"config['model'] must be one of {tuple(sorted(MODELS))}, got {name!r}")
    return _build(MODELS[name], config, "config")


def model_from_dataset(ds: xr.Dataset | xr.DataArray) -> PhysicsModel:
    """The model that produced ``ds`` (from its ``model`` and ``model_config`` attrs).

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        Output of a model's :meth:`~PhysicsModel.sample` or :meth:`~PhysicsModel.exact`.

    Returns
    -------
    PhysicsModel

    Raises
    ------
    TypeError
        ``ds`` is not an xarray Dataset or DataArray.
    ValueError
        ``ds`` records no model, or an unreadable one.

    Examples
    --------
    >>> from statgeo.models import TasepModel
    >>> m = TasepModel(4)
    >>> ds = m.sample(m.natural_grid(theta_alpha=(0.5, 1.0, 2), theta_beta=(0.5, 1.0, 2)), 2, seed=0)
    >>> model_from_dataset(ds)
    TasepModel(N=4)
    """
    if not isinstance(ds, (xr.Dataset, xr.DataArray)):
        raise TypeError(f"ds must be an xarray Dataset or DataArray, got {type(ds).__name__}")
    text = ds.attrs.get("model_config")
    if text is None:
        raise ValueError("the Dataset records no model (no attrs['model_config']); it was not produced by a "
                         "statgeo.models sampler or reference")
    try:
        config = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"ds.attrs['model_config'] is not a model's JSON description: {str(text)[:80]!r}") from exc
    if not isinstance(config, dict):
        raise ValueError(f"ds.attrs['model_config'] is not a model's JSON description: {str(text)[:80]!r}")
    return model_from_config(config)


def _check_range(name: str, axis_range: Any) -> Any:
    """A ``(start, stop, n)`` tuple or a list/array of values, else a TypeError naming ``name``."""
    if not isinstance(axis_range, (tuple, list, np.ndarray)):
        raise TypeError(f"{name} must be a (start, stop, n) tuple or a list of values, got "
                        f"{type(axis_range).__name__} {axis_range!r:.60}")
    return axis_range


def _check_samples(samples: Any, grid: Any, variables: tuple[str, ...], owner: str) -> int:
    """Check that ``samples`` is a Dataset from ``owner`` laid out on ``grid``; samples per point."""
    if not isinstance(samples, xr.Dataset) or any(v not in samples for v in variables):
        raise TypeError(f"samples must be an xr.Dataset from {owner} (with the variables {list(variables)}), got "
                        f"{type(samples).__name__}")
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a statgeo.grid.ParameterGrid, got {type(grid).__name__}")
    if "sample" not in samples.dims:
        raise ValueError("samples must have a 'sample' dimension")
    why = ParameterGrid.from_dataset(samples).mismatch(grid)
    if why is not None:
        raise ValueError(f"samples were drawn on another grid than grid ({why})")
    return int(samples.sizes["sample"])
