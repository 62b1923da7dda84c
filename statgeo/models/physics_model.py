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
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from statgeo.coordinates import CoordinateMap
from statgeo.grid import ParameterGrid

__all__ = ["PhysicsModel", "ExponentialFamilyModel", "PhaseDiagram", "MODELS", "register_model", "make_model",
           "model_from_config", "model_from_dataset", "per_site_reference", "EXTENSIVE_REFERENCE_VARIABLES"]


@dataclass(frozen=True)
class PhaseDiagram:
    """A model's phase boundaries in natural coordinates (thermodynamic limit).

    Attributes
    ----------
    lines : dict of str to numpy.ndarray
        Name → dense points (n, d) along each boundary line, in natural coordinates.
    points : dict of str to tuple of float
        Name → special point (critical point, triple point) in natural coordinates.
    line_ends : dict of str to str
        Special points that end a line, mapped to that line's name: a detector's ridge along
        the line should stop there (e.g. the Ising line η = 0 ends at the critical point).
    description : str
        One line for humans.
    """

    lines: dict[str, np.ndarray]
    points: dict[str, tuple[float, ...]] = field(default_factory=dict)
    line_ends: dict[str, str] = field(default_factory=dict)
    description: str = ""

    def all_line_points(self) -> np.ndarray:
        """Every line's points stacked in the order of ``lines``, shape (n, d)."""
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
        """The arguments that rebuild the model: ``{"model": name, ...}`` (JSON-serialisable)."""

    @abc.abstractmethod
    def natural_map(self) -> CoordinateMap:
        """Map from the physical parameters to the natural coordinates, with its Jacobian."""

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
        """Draw ``n_samples`` configurations at every grid point (labelled Dataset)."""

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
        """
        if not isinstance(samples, xr.Dataset) or self.configuration_variable not in samples:
            raise TypeError(f"samples must be an xr.Dataset from {type(self).__name__}.sample (with the variable "
                            f"{self.configuration_variable!r}), got {type(samples).__name__}")
        grid = ParameterGrid.from_dataset(samples)
        return samples[self.configuration_variable].transpose(*grid.names, "sample", ...)

    # ------------------------------------------------------------------ references
    @abc.abstractmethod
    def exact(self, grid: ParameterGrid, **options: Any) -> xr.Dataset:
        """Exact references over ``grid``: ``log_z``, ``grad_log_z``, ``metric`` (natural)."""

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
        """Exact-likelihood posteriors of bundles of ``n`` samples, averaged per origin.

        The oracle of the method: p(t | x_1..x_n) ∝ Π_k p(x_k | t) over the grid cells
        (uniform prior), bundle posteriors averaged per origin, effective temperature n/2
        (docs/geometry_fitting.md).
        """

    @abc.abstractmethod
    def phase_diagram(self) -> PhaseDiagram:
        """The model's phase boundaries in natural coordinates."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "model")
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PhysicsModel) and self.config() == other.config()

    def __hash__(self) -> int:
        return hash(json.dumps(self.config(), sort_keys=True))


class ExponentialFamilyModel(PhysicsModel):
    """A model p(x | t) = h(x) exp(⟨t, f(x)⟩ − log Z(t)) with known sufficient statistics f."""

    #: names of the sufficient statistics, ordered like the natural coordinates
    statistic_names: ClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def sufficient_statistics(self, samples: xr.Dataset) -> xr.DataArray:
        """f(x) per sample, with a trailing ``statistic`` dim ordered like the natural coordinates."""


#: name → model class; filled by :func:`register_model`
MODELS: dict[str, type[PhysicsModel]] = {}


def register_model(cls: type[PhysicsModel]) -> type[PhysicsModel]:
    """Class decorator adding a :class:`PhysicsModel` subclass to :data:`MODELS` under ``cls.name``.

    Parameters
    ----------
    cls : type
        A subclass of :class:`PhysicsModel` whose ``name`` is not yet registered.

    Returns
    -------
    type
        ``cls``.

    Raises
    ------
    TypeError
        ``cls`` is not a :class:`PhysicsModel` subclass.
    ValueError
        Its ``name`` is taken by another class.
    """
    if not (isinstance(cls, type) and issubclass(cls, PhysicsModel)):
        raise TypeError(f"cls must be a PhysicsModel subclass, got {cls!r}")
    if cls.name in MODELS and MODELS[cls.name] is not cls:
        raise ValueError(f"a model named {cls.name!r} is already registered ({MODELS[cls.name].__name__})")
    MODELS[cls.name] = cls
    return cls


def make_model(name: str, size: int, **params: Any) -> PhysicsModel:
    """Build a registered model from its name and size (``make_model("ising", 8)``).

    Parameters
    ----------
    name : str
        One of :data:`MODELS`.
    size : int
        L for the Ising model, N for the TASEP.
    **params
        Further constructor arguments (e.g. ``J``).

    Returns
    -------
    PhysicsModel

    Raises
    ------
    ValueError
        ``name`` is not registered.
    """
    if name not in MODELS:
        raise ValueError(f"model must be one of {tuple(sorted(MODELS))}, got {name!r}")
    return MODELS[name](size, **params)


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
    ValueError
        No or an unknown ``"model"`` entry.
    """
    config = dict(config)
    name = config.pop("model", None)
    if name not in MODELS:
        raise ValueError(f"config['model'] must be one of {tuple(sorted(MODELS))}, got {name!r}")
    return MODELS[name](**config)


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
    ValueError
        ``ds`` records no model.
    """
    text = getattr(ds, "attrs", {}).get("model_config")
    if text is None:
        raise ValueError("the Dataset records no model (no attrs['model_config']); it was not produced by a "
                         "statgeo.models sampler or reference")
    return model_from_config(json.loads(text))
