"""Coordinate maps from the parameters a grid is laid out in to natural coordinates.

A sampler sees its model's physical parameters p (temperature and field, entry and exit
rates, mean and standard deviation); the theory of exponential families, and therefore every
posterior, fit and metric of :mod:`statgeo.geometry`, lives in natural coordinates t. A
:class:`CoordinateMap` is the smooth invertible map p ↦ t with its Jacobian
J_ij = ∂t_i/∂p_j. Gradients and metrics pull back as ∇_p F = Jᵀ ∇_t F and g_p = Jᵀ g_t J
(docs/grids_and_coordinates.md).

Maps built by a *registered* factory carry their name and arguments, so a
:class:`~statgeo.grid.ParameterGrid` that uses one can be written into a Dataset's attrs and
read back (:meth:`~statgeo.grid.ParameterGrid.from_dataset`), pickled for worker processes,
and compared with another map. The built-in maps:

=================================  =================  ===================================================
factory                            p                  t
=================================  =================  ===================================================
:func:`identity_map`               any                t = p
:func:`ising_temperature_field_map` (T, H)            (K, η) = (J/T, H/T)
:func:`tasep_rates_map`            (α, β)             θ = (−ln α, −ln β)
:func:`gaussian_mean_std_map`      (μ, σ)             (t₁, t₂) = (μ/σ², −1/(2σ²))
=================================  =================  ===================================================

Register a map of your own with :func:`register_coordinate_map`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from statgeo.checks import check_array, check_bool, check_real

__all__ = [
    "CoordinateMap",
    "register_coordinate_map",
    "registered_coordinate_maps",
    "coordinate_map_from_spec",
    "identity_map",
    "ising_temperature_field_map",
    "tasep_rates_map",
    "gaussian_mean_std_map",
]

ArrayMap = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class CoordinateMap:
    """A smooth invertible map p ↦ t from grid (physical) coordinates to natural coordinates.

    Parameters
    ----------
    natural_names : tuple of str
        Names of the natural coordinates t, in order.
    forward : callable
        p ↦ t on arrays of shape (..., d).
    inverse : callable
        t ↦ p on arrays of shape (..., d).
    jacobian : callable
        p ↦ J with J[..., i, j] = ∂t_i/∂p_j, shape (..., d, d).
    natural_attrs : mapping, optional
        CF attributes (``long_name``, ``units``) per natural coordinate.
    description : str, optional
        One line for humans, e.g. ``"(T, H) -> (K, eta) = (J/T, H/T)"``.
    parameter_names : tuple of str, optional
        Names of the physical coordinates p the map expects (empty: any names).
    name : str, optional
        Registry name; set by the factories of :func:`register_coordinate_map`. A map with a
        name can be saved in Dataset attrs, pickled and compared; an anonymous map cannot.
    params : mapping, optional
        The factory's arguments (JSON-serialisable), set with ``name``.
    jacobian_at_natural : callable, optional
        t ↦ ∂t/∂p evaluated at the point whose natural coordinates are t, for maps where that
        is simpler or more accurate than ``jacobian(inverse(t))``.

    Examples
    --------
    >>> m = ising_temperature_field_map(J=1.0)
    >>> m.forward(np.array([2.0, 0.5]))
    array([0.5 , 0.25])
    >>> m.name, dict(m.params)
    ('ising_temperature_field', {'J': 1.0})
    """

    natural_names: tuple[str, ...]
    forward: ArrayMap
    inverse: ArrayMap
    jacobian: ArrayMap
    natural_attrs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    description: str = ""
    parameter_names: tuple[str, ...] = ()
    name: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    jacobian_at_natural: ArrayMap | None = None

    def __post_init__(self) -> None:
        names = self.natural_names
        if isinstance(names, str) or not isinstance(names, (tuple, list)) or not names or \
                not all(isinstance(n, str) and n.isidentifier() for n in names):
            raise TypeError(f"natural_names must be a non-empty tuple of identifiers, got {names!r}")
        object.__setattr__(self, "natural_names", tuple(names))
        for label in ("forward", "inverse", "jacobian"):
            if not callable(getattr(self, label)):
                raise TypeError(f"{label} must be callable, got {type(getattr(self, label)).__name__}")
        if self.jacobian_at_natural is not None and not callable(self.jacobian_at_natural):
            raise TypeError(f"jacobian_at_natural must be callable or None, got {type(self.jacobian_at_natural).__name__}")
        pn = self.parameter_names
        if isinstance(pn, str) or not isinstance(pn, (tuple, list)) or not all(isinstance(n, str) for n in pn):
            raise TypeError(f"parameter_names must be a tuple of strings, got {pn!r}")
        if pn and len(pn) != len(names):
            raise ValueError(f"parameter_names {tuple(pn)} and natural_names {tuple(names)} must have the same length")
        object.__setattr__(self, "parameter_names", tuple(pn))
        if not isinstance(self.name, str) or not isinstance(self.description, str):
            raise TypeError("name and description must be strings")

    @property
    def ndim(self) -> int:
        """Number of coordinates d."""
        return len(self.natural_names)

    def jacobian_from_natural(self, t: np.ndarray) -> np.ndarray:
        """∂t_i/∂p_j at the points whose natural coordinates are ``t`` (shape (..., d, d)).

        Parameters
        ----------
        t : array_like, shape (..., d)
            Natural coordinates.

        Returns
        -------
        numpy.ndarray
            The Jacobian ``jacobian(inverse(t))``, or ``jacobian_at_natural(t)`` when the map
            provides it.
        """
        t = check_array("t", t, dtype_kind="iuf", finite=True).astype(np.float64)
        if t.ndim < 1 or t.shape[-1] != self.ndim:
            raise ValueError(f"t must have shape (..., {self.ndim}), got {t.shape}")
        if self.jacobian_at_natural is not None:
            return np.asarray(self.jacobian_at_natural(t))
        return np.asarray(self.jacobian(self.inverse(t)))

    def spec(self) -> dict[str, Any]:
        """JSON-serialisable description: ``name``, ``params``, names and ``description``.

        Returns
        -------
        dict
            Enough to rebuild a registered map with :func:`coordinate_map_from_spec`.
        """
        return {"name": self.name, "params": dict(self.params), "parameter_names": list(self.parameter_names),
                "natural_names": list(self.natural_names), "description": self.description}

    def _key(self) -> str | None:
        if not self.name:
            return None
        return json.dumps({"name": self.name, "params": dict(self.params)}, sort_keys=True, default=str)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CoordinateMap):
            return NotImplemented
        if self is other:
            return True
        k1, k2 = self._key(), other._key()
        return k1 is not None and k1 == k2

    def __hash__(self) -> int:
        k = self._key()
        return hash(k) if k is not None else id(self)

    def __reduce__(self) -> tuple:
        if not self.name:
            raise TypeError(
                f"an anonymous CoordinateMap ({self.description or 'no description'}) cannot be pickled; "
                "build it with a factory decorated by statgeo.coordinates.register_coordinate_map"
            )
        return (coordinate_map_from_spec, (self.spec(),))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in dict(self.params).items())
        label = f"{self.name}({args})" if self.name else (self.description or "anonymous")
        return f"CoordinateMap({label}: {tuple(self.parameter_names) or '?'} -> {tuple(self.natural_names)})"


_REGISTRY: dict[str, Callable[..., CoordinateMap]] = {}


def register_coordinate_map(name: str, *, overwrite: bool = False) -> Callable[[Callable[..., CoordinateMap]],
                                                                             Callable[..., CoordinateMap]]:
    """Decorator registering a factory of :class:`CoordinateMap` under ``name``.

    The decorated factory stamps every map it returns with ``name`` and its (bound, defaulted)
    arguments, which must be JSON-serialisable. Grids built on such maps round-trip through
    Dataset attrs, zarr and netCDF files and pickling.

    Parameters
    ----------
    name : str
        Registry key (a Python identifier).
    overwrite : bool, default False
        Replace an existing registration instead of raising.

    Returns
    -------
    callable
        The decorator.

    Raises
    ------
    ValueError
        ``name`` is not an identifier, or is taken and ``overwrite`` is false.

    Examples
    --------
    >>> @register_coordinate_map("log_scale_demo")
    ... def log_scale_map(names=("a", "b")):
    ...     names = tuple(names)
    ...     return CoordinateMap(tuple(f"log_{n}" for n in names), np.log, np.exp,
    ...                          lambda p: np.eye(len(names)) / p[..., None, :], parameter_names=names)
    >>> log_scale_map().name
    'log_scale_demo'
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Python identifier, got {name!r}")
    check_bool("overwrite", overwrite)
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"a coordinate map named {name!r} is already registered; pass overwrite=True to replace it")

    def decorate(factory: Callable[..., CoordinateMap]) -> Callable[..., CoordinateMap]:
        signature = inspect.signature(factory)

        @functools.wraps(factory)
        def make(*args: Any, **kwargs: Any) -> CoordinateMap:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            cmap = factory(*bound.args, **bound.kwargs)
            if not isinstance(cmap, CoordinateMap):
                raise TypeError(f"coordinate-map factory {name!r} must return a CoordinateMap, "
                                f"got {type(cmap).__name__}")
            params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in bound.arguments.items()}
            return dataclasses.replace(cmap, name=name, params=params)

        _REGISTRY[name] = make
        return make

    return decorate


def registered_coordinate_maps() -> tuple[str, ...]:
    """Names of the registered coordinate-map factories.

    Returns
    -------
    tuple of str
    """
    return tuple(sorted(_REGISTRY))


def coordinate_map_from_spec(spec: Mapping[str, Any] | str) -> CoordinateMap:
    """Rebuild a registered coordinate map from :meth:`CoordinateMap.spec` (or its JSON).

    Parameters
    ----------
    spec : mapping or str
        ``{"name": ..., "params": {...}}`` (other keys are ignored) or that as JSON.

    Returns
    -------
    CoordinateMap

    Raises
    ------
    TypeError
        ``spec`` is neither a mapping nor a JSON string.
    ValueError
        The spec has no name (the map was anonymous) or names an unregistered factory.
    """
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError as exc:
            raise ValueError(f"spec is not valid JSON: {spec[:80]!r}") from exc
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec must be a mapping or a JSON string, got {type(spec).__name__}")
    name = spec.get("name") or ""
    if not name:
        desc = spec.get("description", "")
        raise ValueError(
            f"the coordinate map ({desc or 'no description'}) was anonymous and cannot be rebuilt; "
            "build it with a factory decorated by statgeo.coordinates.register_coordinate_map, "
            "or pass the grid explicitly"
        )
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"spec names no registered coordinate map: {name!r} (registered: "
                         f"{registered_coordinate_maps()}); import the module that registers it first")
    params = spec.get("params", {})
    if not isinstance(params, Mapping):
        raise TypeError(f"spec['params'] must be a mapping, got {type(params).__name__}")
    return _REGISTRY[name](**dict(params))


# ----------------------------------------------------------------------------- built-in maps
def _names(names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, (tuple, list)) or not names or \
            not all(isinstance(n, str) and n.isidentifier() for n in names):
        raise TypeError(f"names must be a non-empty sequence of identifiers, got {names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"names must be unique, got {list(names)}")
    return tuple(names)


@register_coordinate_map("identity")
def identity_map(names: Sequence[str]) -> CoordinateMap:
    """The identity map t = p: the grid is laid out in natural coordinates.

    Parameters
    ----------
    names : sequence of str
        The coordinate names (both p and t).

    Returns
    -------
    CoordinateMap
    """
    names = _names(names)
    d = len(names)

    def jac(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        return np.broadcast_to(np.eye(d), p.shape[:-1] + (d, d)).copy()

    return CoordinateMap(names, lambda p: np.asarray(p, np.float64), lambda t: np.asarray(t, np.float64), jac,
                         description="identity", parameter_names=names, jacobian_at_natural=jac)


@register_coordinate_map("ising_temperature_field")
def ising_temperature_field_map(J: float = 1.0) -> CoordinateMap:
    """(T, H) ↦ (K, η) = (J/T, H/T) for the Ising model with coupling ``J``.

    Jacobian ∂(K, η)/∂(T, H) = [[−J/T², 0], [−H/T², 1/T]], which at natural coordinates
    reads [[−K²/J, 0], [−ηK/J, K/J]] (K = J/T, H = ηJ/K).

    Parameters
    ----------
    J : float, default 1.0
        Coupling J > 0 (the energy unit).

    Returns
    -------
    CoordinateMap

    Raises
    ------
    ValueError
        ``J`` is not a finite positive number.
    """
    J = float(check_real("J", J, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))

    def fwd(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        T, H = p[..., 0], p[..., 1]
        with np.errstate(divide="ignore", invalid="ignore"):  # T = 0 maps to inf; callers check T > 0
            return np.stack([J / T, H / T], axis=-1)

    def inv(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        K, eta = t[..., 0], t[..., 1]
        T = J / K
        return np.stack([T, eta * T], axis=-1)

    def jac(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        T, H = p[..., 0], p[..., 1]
        out = np.zeros(p.shape[:-1] + (2, 2))
        out[..., 0, 0] = -J / T**2
        out[..., 1, 0] = -H / T**2
        out[..., 1, 1] = 1.0 / T
        return out

    def jac_t(t: np.ndarray) -> np.ndarray:
        K, eta = t[..., 0], t[..., 1]
        out = np.zeros(t.shape[:-1] + (2, 2))
        out[..., 0, 0] = -K**2 / J
        out[..., 1, 0] = -eta * K / J
        out[..., 1, 1] = K / J
        return out

    return CoordinateMap(
        ("K", "eta"), fwd, inv, jac,
        natural_attrs={"K": {"long_name": "coupling K = J/T", "units": "1"},
                       "eta": {"long_name": "reduced field η = H/T", "units": "1"}},
        description=f"ising (T, H) -> (K, eta) = (J/T, H/T), J={J!r}",
        parameter_names=("T", "H"),
        jacobian_at_natural=jac_t,
    )


@register_coordinate_map("tasep_rates")
def tasep_rates_map() -> CoordinateMap:
    """(α, β) ↦ θ = (−ln α, −ln β), the natural coordinates of the open TASEP's ln Z_N.

    Jacobian ∂θ/∂(α, β) = diag(−1/α, −1/β) = diag(−e^{θ_α}, −e^{θ_β}).

    Returns
    -------
    CoordinateMap
    """

    def fwd(p: np.ndarray) -> np.ndarray:
        return -np.log(np.asarray(p, dtype=np.float64))

    def inv(t: np.ndarray) -> np.ndarray:
        return np.exp(-np.asarray(t, dtype=np.float64))

    def jac(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        out = np.zeros(p.shape[:-1] + (2, 2))
        out[..., 0, 0] = -1.0 / p[..., 0]
        out[..., 1, 1] = -1.0 / p[..., 1]
        return out

    return CoordinateMap(
        ("theta_alpha", "theta_beta"), fwd, inv, jac,
        natural_attrs={"theta_alpha": {"long_name": "θ_α = −ln α", "units": "1"},
                       "theta_beta": {"long_name": "θ_β = −ln β", "units": "1"}},
        description="tasep (alpha, beta) -> (theta_alpha, theta_beta) = (-ln alpha, -ln beta)",
        parameter_names=("alpha", "beta"),
    )


@register_coordinate_map("gaussian_mean_std")
def gaussian_mean_std_map() -> CoordinateMap:
    """(μ, σ) ↦ (t₁, t₂) = (μ/σ², −1/(2σ²)), the natural parameters of N(μ, σ²).

    With sufficient statistics f(x) = (x, x²) (:class:`statgeo.geometry.Gaussian1D`).
    Jacobian ∂t/∂(μ, σ) = [[1/σ², −2μ/σ³], [0, 1/σ³]].

    Returns
    -------
    CoordinateMap
    """

    def fwd(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        mu, s = p[..., 0], p[..., 1]
        return np.stack([mu / s**2, -0.5 / s**2], axis=-1)

    def inv(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        var = -0.5 / t[..., 1]
        return np.stack([t[..., 0] * var, np.sqrt(var)], axis=-1)

    def jac(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        mu, s = p[..., 0], p[..., 1]
        out = np.zeros(p.shape[:-1] + (2, 2))
        out[..., 0, 0] = 1.0 / s**2
        out[..., 0, 1] = -2.0 * mu / s**3
        out[..., 1, 1] = 1.0 / s**3
        return out

    return CoordinateMap(
        ("t1", "t2"), fwd, inv, jac,
        natural_attrs={"t1": {"long_name": "t₁ = μ/σ²", "units": "1"},
                       "t2": {"long_name": "t₂ = −1/(2σ²)", "units": "1"}},
        description="gaussian (mu, sigma) -> (t1, t2) = (mu/sigma^2, -1/(2 sigma^2))",
        parameter_names=("mu", "sigma"),
    )
