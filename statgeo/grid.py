"""Parameter grids shared by the models and the geometry layer.

A :class:`ParameterGrid` is a regular (tensor-product) grid over named axes, e.g. ``T × H`` for
the Ising model or ``alpha × beta`` for the TASEP, with an optional :class:`CoordinateMap` from
the grid's (physical) coordinates p to the model's natural coordinates t, where the theory of
exponential families holds (architecture.md, "A parameter-grid object shared by everything").

The Jacobian convention is ``jacobian(p)[..., i, j] = ∂t_i/∂p_j``. A metric g_t in natural
coordinates pulls back to the grid coordinates as g_p = Jᵀ g_t J, and a gradient as
∇_p F = Jᵀ ∇_t F.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from statgeo._checks import check_int

__all__ = ["Axis", "CoordinateMap", "ParameterGrid", "identity_map"]


@dataclass(frozen=True)
class Axis:
    """One named grid axis with strictly increasing float64 values and CF attributes."""

    name: str
    values: np.ndarray
    long_name: str = ""
    units: str = "1"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"axis name must be a Python identifier, got {self.name!r}")
        v = np.asarray(self.values)
        if v.dtype.kind not in "iuf":
            raise TypeError(f"values of axis {self.name!r} must be real numbers, got dtype {v.dtype}")
        v = v.astype(np.float64)
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"values of axis {self.name!r} must be a non-empty 1-D array, got shape {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError(f"values of axis {self.name!r} must be finite")
        if v.size > 1 and not (np.diff(v) > 0).all():
            raise ValueError(f"values of axis {self.name!r} must be strictly increasing")
        v.setflags(write=False)
        object.__setattr__(self, "values", v)

    @property
    def size(self) -> int:
        return int(self.values.size)

    @property
    def attrs(self) -> dict[str, str]:
        return {"long_name": self.long_name or self.name, "units": self.units}


@dataclass(frozen=True)
class CoordinateMap:
    """A smooth invertible map p ↦ t from grid coordinates to natural coordinates.

    ``forward``, ``inverse`` act on arrays of shape (..., ndim); ``jacobian`` returns
    ∂t_i/∂p_j with shape (..., ndim, ndim). ``natural_names`` name the t components and
    ``natural_attrs`` give their CF attributes.
    """

    natural_names: tuple[str, ...]
    forward: Callable[[np.ndarray], np.ndarray]
    inverse: Callable[[np.ndarray], np.ndarray]
    jacobian: Callable[[np.ndarray], np.ndarray]
    natural_attrs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    description: str = ""


def identity_map(names: Sequence[str]) -> CoordinateMap:
    """The identity map: the grid is already in natural coordinates."""
    names = tuple(names)
    d = len(names)

    def jac(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        return np.broadcast_to(np.eye(d), p.shape[:-1] + (d, d)).copy()

    return CoordinateMap(names, lambda p: np.asarray(p, np.float64), lambda t: np.asarray(t, np.float64), jac,
                         description="identity")


class ParameterGrid:
    """A tensor-product grid over named axes.

    Parameters
    ----------
    axes : sequence of :class:`Axis`.
    coordinate_map : optional map from the grid's coordinates to natural coordinates.
        Defaults to the identity (the grid is in natural coordinates).

    Examples
    --------
    >>> g = ParameterGrid.from_ranges(K=(0.2, 0.7, 32), eta=(-0.2, 0.2, 32))
    >>> g.shape, g.points().shape
    ((32, 32), (1024, 2))
    """

    def __init__(self, axes: Sequence[Axis], coordinate_map: CoordinateMap | None = None) -> None:
        axes = tuple(axes)
        if len(axes) == 0:
            raise ValueError("axes must contain at least one Axis (the grid is empty)")
        for a in axes:
            if not isinstance(a, Axis):
                raise TypeError(f"axes must be Axis instances, got {type(a).__name__}")
        names = [a.name for a in axes]
        if len(set(names)) != len(names):
            raise ValueError(f"axis names must be unique, got {names}")
        self.axes = axes
        self.coordinate_map = coordinate_map if coordinate_map is not None else identity_map(names)
        if len(self.coordinate_map.natural_names) != len(axes):
            raise ValueError(
                f"coordinate_map has {len(self.coordinate_map.natural_names)} natural coordinates "
                f"but the grid has {len(axes)} axes"
            )

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_ranges(
        cls,
        coordinate_map: CoordinateMap | None = None,
        attrs: Mapping[str, Mapping[str, str]] | None = None,
        **ranges: tuple[float, float, int] | Iterable[float],
    ) -> "ParameterGrid":
        """Build a grid from ``name=(start, stop, n)`` (inclusive linspace) or ``name=values``."""
        if not ranges:
            raise ValueError("at least one axis range is required (the grid is empty)")
        attrs = attrs or {}
        axes = []
        for name, spec in ranges.items():
            if isinstance(spec, tuple) and len(spec) == 3 and not isinstance(spec[2], float):
                lo, hi, n = spec
                n = check_int(f"number of points on axis {name!r}", n, min=1)
                vals = np.linspace(float(lo), float(hi), n)
            else:
                vals = np.asarray(list(spec), dtype=np.float64)
            a = attrs.get(name, {})
            axes.append(Axis(name, vals, a.get("long_name", name), a.get("units", "1")))
        return cls(axes, coordinate_map)

    # ---------------------------------------------------------------- properties
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    @property
    def natural_names(self) -> tuple[str, ...]:
        return self.coordinate_map.natural_names

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.size for a in self.axes)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def spacing(self) -> np.ndarray:
        """Grid step per axis (NaN for an axis of one point, or non-uniform axes' mean step)."""
        return np.array([np.diff(a.values).mean() if a.size > 1 else np.nan for a in self.axes])

    def __getitem__(self, name: str) -> Axis:
        for a in self.axes:
            if a.name == name:
                return a
        raise KeyError(f"no axis named {name!r}; axes are {self.names}")

    def __repr__(self) -> str:
        ax = ", ".join(f"{a.name}[{a.size}]∈[{a.values[0]:g}, {a.values[-1]:g}]" for a in self.axes)
        return f"ParameterGrid({ax}; natural={self.natural_names})"

    # ---------------------------------------------------------------- points
    def mesh(self) -> tuple[np.ndarray, ...]:
        """Coordinate arrays of shape ``self.shape`` (matrix indexing)."""
        return tuple(np.meshgrid(*[a.values for a in self.axes], indexing="ij"))

    def points(self) -> np.ndarray:
        """All grid points in C order, shape ``(size, ndim)``, in grid coordinates."""
        return np.stack([m.ravel() for m in self.mesh()], axis=-1)

    def natural_points(self) -> np.ndarray:
        """All grid points in natural coordinates, shape ``(size, ndim)``."""
        return self.to_natural(self.points())

    def to_natural(self, p: np.ndarray) -> np.ndarray:
        return np.asarray(self.coordinate_map.forward(np.asarray(p, dtype=np.float64)))

    def to_grid(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(self.coordinate_map.inverse(np.asarray(t, dtype=np.float64)))

    def jacobian(self, p: np.ndarray | None = None) -> np.ndarray:
        """∂t_i/∂p_j at ``p`` (default: every grid point), shape (..., ndim, ndim)."""
        p = self.points() if p is None else np.asarray(p, dtype=np.float64)
        return np.asarray(self.coordinate_map.jacobian(p))

    def pull_back_gradient(self, grad_t: np.ndarray, p: np.ndarray | None = None) -> np.ndarray:
        """∇_p F = Jᵀ ∇_t F, with ``grad_t`` of shape (..., ndim)."""
        J = self.jacobian(p)
        return np.einsum("...ij,...i->...j", J, grad_t)

    def pull_back_metric(self, g_t: np.ndarray, p: np.ndarray | None = None) -> np.ndarray:
        """g_p = Jᵀ g_t J, with ``g_t`` of shape (..., ndim, ndim).

        For a Hessian metric this is the metric part of the pulled-back Hessian; the term
        Σ_k ∂_t F ∂²t_k/∂p_i∂p_j is not included (a metric transforms as a tensor).
        """
        J = self.jacobian(p)
        return np.einsum("...ki,...kl,...lj->...ij", J, g_t, J)

    def index_of(self, p: np.ndarray) -> np.ndarray:
        """Index (flat, C order) of the grid point nearest to each point ``p`` (shape (..., ndim))."""
        p = np.asarray(p, dtype=np.float64)
        idx = [np.abs(p[..., i, None] - a.values).argmin(axis=-1) for i, a in enumerate(self.axes)]
        return np.ravel_multi_index(tuple(idx), self.shape)

    # ---------------------------------------------------------------- xarray
    def coords(self) -> dict:
        """xarray coordinates: one 1-D coordinate per axis, with CF ``long_name``/``units``."""
        return {a.name: (a.name, a.values, a.attrs) for a in self.axes}

    def natural_coords(self) -> dict:
        """Natural coordinates as 2-D auxiliary coordinates over the grid dims."""
        t = self.natural_points().reshape(self.shape + (self.ndim,))
        out = {}
        for i, name in enumerate(self.natural_names):
            attrs = dict(self.coordinate_map.natural_attrs.get(name, {"long_name": name, "units": "1"}))
            out[name + "_natural" if name in self.names else name] = (self.names, t[..., i], attrs)
        return out

    def to_json(self) -> str:
        """A JSON description (axis names, values, attrs, map description) for Dataset attrs."""
        return json.dumps(
            {
                "axes": [{"name": a.name, "values": a.values.tolist(), **a.attrs} for a in self.axes],
                "natural_names": list(self.natural_names),
                "coordinate_map": self.coordinate_map.description,
            }
        )
