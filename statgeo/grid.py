"""Parameter grids shared by the models, the geometry layer and the diffusion adapter.

A :class:`ParameterGrid` is a regular (tensor-product) grid over named axes, e.g. ``T × H`` for
the Ising model or ``alpha × beta`` for the TASEP, together with the
:class:`~statgeo.coordinates.CoordinateMap` from the grid's (physical) coordinates p to the
natural coordinates t in which the theory of exponential families holds. Everything that
lives on a grid (samples, exact references, posteriors, fitted potentials) records the grid in
its attrs (``attrs["grid"]``, JSON), so :meth:`ParameterGrid.from_dataset` recovers the same
grid, coordinate map included, from the labelled data (docs/grids_and_coordinates.md).

The Jacobian convention is ``jacobian(p)[..., i, j] = ∂t_i/∂p_j``. A metric g_t in natural
coordinates pulls back to the grid coordinates as g_p = Jᵀ g_t J, and a gradient as
∇_p F = Jᵀ ∇_t F.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from statgeo.checks import check_array, check_bool, check_int, check_real, format_bytes
from statgeo.coordinates import CoordinateMap, coordinate_map_from_spec, identity_map

__all__ = ["Axis", "ParameterGrid", "MAX_GRID_POINTS", "GRID_ATTR"]

#: largest number of grid points (cells) a grid may have: the (points, d) float64 array of a
#: grid this size already takes 256 MiB for d = 2, and posteriors are (rows, points)
MAX_GRID_POINTS = 2**24
#: name of the Dataset attribute holding a grid's JSON description
GRID_ATTR = "grid"


def _axis_positions(n: int, stride: int) -> np.ndarray:
    """Positions 0..n−1 at ``stride``, centred: offset ⌊((n − 1) mod stride)/2⌋."""
    return np.arange(((n - 1) % stride) // 2, n, stride)


@dataclass(frozen=True)
class Axis:
    """One named grid axis with strictly increasing float64 values and CF attributes.

    Parameters
    ----------
    name : str
        A Python identifier; also the xarray dimension name.
    values : array_like
        Strictly increasing, finite real values (stored read-only as float64).
    long_name : str, optional
        CF ``long_name`` (defaults to ``name``).
    units : str, default "1"
        CF ``units``.

    Raises
    ------
    TypeError
        ``values`` are not real numbers.
    ValueError
        A bad name, or values that are empty, not 1-D, not finite or not strictly increasing.
    """

    name: str
    values: np.ndarray
    long_name: str = ""
    units: str = "1"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"axis name must be a Python identifier, got {self.name!r}")
        for label, v in (("long_name", self.long_name), ("units", self.units)):
            if not isinstance(v, str):
                raise TypeError(f"{label} of axis {self.name!r} must be a string, got {type(v).__name__}")
        try:
            v = np.asarray(self.values)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"values of axis {self.name!r} must be real numbers, got {self.values!r}") from exc
        if v.dtype.kind not in "iuf":
            raise TypeError(f"values of axis {self.name!r} must be real numbers, got dtype {v.dtype}")
        v = v.astype(np.float64)
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"values of axis {self.name!r} must be a non-empty 1-D array, got shape {v.shape}")
        if v.size > MAX_GRID_POINTS:
            raise ValueError(f"axis {self.name!r} must have at most {MAX_GRID_POINTS} points, got {v.size}")
        if not np.isfinite(v).all():
            raise ValueError(f"values of axis {self.name!r} must be finite")
        if v.size > 1 and not (np.diff(v) > 0).all():
            raise ValueError(f"values of axis {self.name!r} must be strictly increasing")
        v.setflags(write=False)
        object.__setattr__(self, "values", v)

    @property
    def size(self) -> int:
        """Number of points on the axis."""
        return int(self.values.size)

    @property
    def attrs(self) -> dict[str, str]:
        """CF attributes ``long_name`` and ``units``."""
        return {"long_name": self.long_name or self.name, "units": self.units}


def _points(name: str, p: Any, d: int) -> np.ndarray:
    """Validate an array of points (..., d): real, finite, last dimension d."""
    arr = check_array(name, p, dtype_kind="iuf", finite=True).astype(np.float64)
    if arr.ndim < 1 or arr.shape[-1] != d:
        raise ValueError(f"{name} must have shape (..., {d}), got {arr.shape}")
    return arr


class ParameterGrid:
    """A tensor-product grid over named axes with a map to natural coordinates.

    Parameters
    ----------
    axes : sequence of Axis
        The axes, in order (the grid's flat index runs in C order, last axis fastest).
    coordinate_map : CoordinateMap, optional
        Map from the grid's coordinates to natural coordinates. Defaults to the identity (the
        grid is laid out in natural coordinates). Its ``parameter_names``, when set, must be
        the axis names.

    Raises
    ------
    TypeError
        ``axes`` holds something other than :class:`Axis`, or ``coordinate_map`` is not a
        :class:`~statgeo.coordinates.CoordinateMap`.
    ValueError
        No axes, duplicate names, more than :data:`MAX_GRID_POINTS` points, or a coordinate
        map for other parameters or another number of dimensions.

    Examples
    --------
    >>> g = ParameterGrid.from_ranges(K=(0.2, 0.7, 32), eta=(-0.2, 0.2, 32))
    >>> g.shape, g.points().shape
    ((32, 32), (1024, 2))
    >>> from statgeo.coordinates import tasep_rates_map
    >>> g = ParameterGrid.from_ranges(alpha=(0.2, 0.9, 8), beta=(0.2, 0.9, 8), coordinate_map=tasep_rates_map())
    >>> g.natural_names
    ('theta_alpha', 'theta_beta')
    """

    def __init__(self, axes: Sequence[Axis], coordinate_map: CoordinateMap | None = None) -> None:
        if isinstance(axes, Axis):
            axes = (axes,)
        axes = tuple(axes)
        if len(axes) == 0:
            raise ValueError("axes must contain at least one Axis (the grid is empty)")
        for a in axes:
            if not isinstance(a, Axis):
                raise TypeError(f"axes must be Axis instances, got {type(a).__name__}")
        names = [a.name for a in axes]
        if len(set(names)) != len(names):
            raise ValueError(f"axis names must be unique, got {names}")
        size = 1
        for a in axes:
            size *= a.size
        if size > MAX_GRID_POINTS:
            raise ValueError(
                f"the grid must have at most {MAX_GRID_POINTS} points, got {size} "
                f"(shape {tuple(a.size for a in axes)}; its point array alone would take "
                f"{format_bytes(size * len(axes) * 8)})"
            )
        if coordinate_map is None:
            coordinate_map = identity_map(names)
        if not isinstance(coordinate_map, CoordinateMap):
            raise TypeError(f"coordinate_map must be a statgeo.coordinates.CoordinateMap, "
                            f"got {type(coordinate_map).__name__}")
        if len(coordinate_map.natural_names) != len(axes):
            raise ValueError(
                f"coordinate_map has {len(coordinate_map.natural_names)} natural coordinates "
                f"but the grid has {len(axes)} axes"
            )
        if coordinate_map.parameter_names and tuple(coordinate_map.parameter_names) != tuple(names):
            raise ValueError(
                f"coordinate_map maps parameters {tuple(coordinate_map.parameter_names)} but the grid's axes are "
                f"{tuple(names)}; name the axes like the map's parameters"
            )
        self.axes = axes
        self.coordinate_map = coordinate_map

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_ranges(
        cls,
        coordinate_map: CoordinateMap | None = None,
        attrs: Mapping[str, Mapping[str, str]] | None = None,
        **ranges: tuple[float, float, int] | Iterable[float],
    ) -> "ParameterGrid":
        """Build a grid from ``name=(start, stop, n)`` or ``name=values`` per axis.

        Parameters
        ----------
        coordinate_map : CoordinateMap, optional
            Map to natural coordinates (default: identity).
        attrs : mapping, optional
            CF attributes per axis name: ``{"K": {"long_name": ..., "units": ...}}``.
        **ranges : tuple or array_like
            A 3-tuple is always ``(start, stop, n)``: ``n`` inclusive, equally spaced points
            (``numpy.linspace``), ``n`` an integer. Explicit values are given as a list or
            array, never as a tuple, so ``(0.2, 0.7, 12.0)`` is refused rather than read as
            three points.

        Returns
        -------
        ParameterGrid

        Raises
        ------
        TypeError
            A range's ``n`` is not an integer, its ends are not real, or values are not real.
        ValueError
            No axes, ``n < 1``, too many points, non-finite ends, or values that are not
            strictly increasing.

        Examples
        --------
        >>> ParameterGrid.from_ranges(K=(0.2, 0.7, 3), eta=[-0.1, 0.1]).shape
        (3, 2)
        """
        if not ranges:
            raise ValueError("at least one axis range is required (the grid is empty)")
        attrs = attrs or {}
        axes = []
        for name, spec in ranges.items():
            if isinstance(spec, tuple):
                if len(spec) != 3:
                    raise TypeError(f"{name} must be a (start, stop, n) tuple or a list/array of values, got the "
                                    f"tuple {spec!r}; pass explicit values as a list")
                lo, hi, n = spec
                n = check_int(f"number of points on axis {name!r} (the n of {name}=(start, stop, n))", n, min=1,
                              max=MAX_GRID_POINTS)
                for label, v in (("start", lo), ("stop", hi)):
                    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
                        raise TypeError(f"the {label} of {name}=(start, stop, n) must be a real number, got {v!r}")
                    if not np.isfinite(v):
                        raise ValueError(f"the {label} of {name}=(start, stop, n) must be finite, got {v!r}")
                if n > 1 and not float(hi) > float(lo):
                    raise ValueError(f"{name}=(start, stop, n) needs stop > start for n > 1, got {spec!r}")
                vals = np.linspace(float(lo), float(hi), n)
            else:
                if isinstance(spec, (str, bytes, Mapping)) or np.isscalar(spec) or \
                        not (isinstance(spec, np.ndarray) or hasattr(spec, "__iter__")):
                    raise TypeError(f"{name} must be a (start, stop, n) tuple or a list/array of values, "
                                    f"got {type(spec).__name__} {str(spec)[:60]!r}")
                vals = np.asarray(list(spec) if not isinstance(spec, np.ndarray) else spec)
            a = attrs.get(name, {})
            axes.append(Axis(name, vals, a.get("long_name", name), a.get("units", "1")))
        return cls(axes, coordinate_map)

    @classmethod
    def from_json(cls, text: str | Mapping[str, Any], *, values: Mapping[str, Any] | None = None
                  ) -> "ParameterGrid":
        """Rebuild a grid from :meth:`to_json`.

        Parameters
        ----------
        text : str or mapping
            The JSON written by :meth:`to_json` (or the parsed dict).
        values : mapping, optional
            Axis values overriding the stored ones (e.g. those of a Dataset that was subset
            after the grid was recorded).

        Returns
        -------
        ParameterGrid

        Raises
        ------
        ValueError
            Malformed JSON, or a coordinate map that cannot be rebuilt (anonymous or
            unregistered).
        """
        if not isinstance(text, (str, Mapping)):
            raise TypeError(f"text must be a JSON string or a mapping, got {type(text).__name__}")
        try:
            spec = json.loads(text) if isinstance(text, str) else dict(text)
            axes_spec = list(spec["axes"])
            for a in axes_spec:
                a["name"], a["values"]
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"text is not a statgeo grid description: {str(text)[:120]!r}") from exc
        if values is not None and not isinstance(values, Mapping):
            raise TypeError(f"values must be a mapping of axis name to values, got {type(values).__name__}")
        values = values or {}
        axes = [Axis(a["name"], values.get(a["name"], a["values"]), a.get("long_name", a["name"]),
                     a.get("units", "1")) for a in axes_spec]
        names = [a.name for a in axes]
        cmap_spec = spec.get("coordinate_map", "identity")
        if isinstance(cmap_spec, str):  # descriptions written before maps were registered
            if cmap_spec != "identity":
                raise ValueError(f"the recorded coordinate map ({cmap_spec!r}) cannot be rebuilt; pass the grid")
            cmap = identity_map(names)
        else:
            cmap = coordinate_map_from_spec(cmap_spec)
        return cls(axes, cmap)

    @classmethod
    def from_dataset(cls, obj: Any) -> "ParameterGrid":
        """The grid an ``xr.Dataset``/``DataArray`` was produced on, coordinate map included.

        Reads the JSON description in ``obj.attrs["grid"]`` (written by every statgeo
        producer, and by :meth:`attach`); the axis values are taken from the object's own
        coordinates, so a Dataset subset with ``.sel``/``.isel`` gives the subset grid.

        Parameters
        ----------
        obj : xarray.Dataset or xarray.DataArray
            Data produced on a grid (samples, references, posteriors, fitted maps).

        Returns
        -------
        ParameterGrid

        Raises
        ------
        TypeError
            ``obj`` is not an xarray object.
        ValueError
            No grid is recorded, a grid dimension was selected away, or the coordinate map
            cannot be rebuilt.

        Examples
        --------
        >>> import xarray as xr
        >>> from statgeo.coordinates import tasep_rates_map
        >>> g = ParameterGrid.from_ranges(alpha=(0.2, 0.9, 4), beta=(0.3, 1.0, 3), coordinate_map=tasep_rates_map())
        >>> ds = g.attach(xr.Dataset())
        >>> ParameterGrid.from_dataset(ds) == g
        True
        """
        if not hasattr(obj, "attrs") or not hasattr(obj, "coords"):
            raise TypeError(f"obj must be an xarray Dataset or DataArray, got {type(obj).__name__}")
        text = obj.attrs.get(GRID_ATTR)
        if text is None and "config" in obj.attrs:  # samples written before the grid had its own attr
            try:
                text = json.loads(obj.attrs["config"]).get("grid")
            except (TypeError, ValueError, AttributeError):
                text = None
        if text is None:
            raise ValueError(
                "the Dataset records no grid (no attrs['grid']); build the grid with ParameterGrid(...) and pass "
                "it explicitly, or record it with grid.attach(ds)"
            )
        try:
            spec = json.loads(text) if isinstance(text, str) else dict(text)
            names = [a["name"] for a in spec.get("axes", [])]
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ValueError(f"obj.attrs['grid'] is not a statgeo grid description: {str(text)[:120]!r}") from exc
        dims = tuple(obj.dims)
        values = {}
        if any(n in dims for n in names):  # laid out on the grid: its own coordinates are the truth
            for name in names:
                if name not in dims:
                    raise ValueError(f"the recorded grid has an axis {name!r} that is not a dimension of the "
                                     f"Dataset (dims {dims}); it was probably selected away")
                if name in obj.coords and obj[name].dims == (name,):
                    values[name] = np.asarray(obj[name].values)
        # else: not laid out on the grid (e.g. a posterior over flat cells): the recorded values
        return cls.from_json(spec, values=values)

    # ---------------------------------------------------------------- properties
    @property
    def names(self) -> tuple[str, ...]:
        """Axis names (the grid's coordinate and xarray dimension names)."""
        return tuple(a.name for a in self.axes)

    @property
    def natural_names(self) -> tuple[str, ...]:
        """Names of the natural coordinates."""
        return self.coordinate_map.natural_names

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        """Points per axis."""
        return tuple(a.size for a in self.axes)

    @property
    def size(self) -> int:
        """Total number of grid points (cells)."""
        return int(np.prod(self.shape))

    @property
    def spacing(self) -> np.ndarray:
        """Grid step per axis (NaN for an axis of one point; the mean step of a non-uniform axis)."""
        return np.array([np.diff(a.values).mean() if a.size > 1 else np.nan for a in self.axes])

    def __getitem__(self, name: str) -> Axis:
        for a in self.axes:
            if a.name == name:
                return a
        raise KeyError(f"no axis named {name!r}; axes are {self.names}")

    def __repr__(self) -> str:
        ax = ", ".join(f"{a.name}[{a.size}]∈[{a.values[0]:g}, {a.values[-1]:g}]" for a in self.axes)
        return f"ParameterGrid({ax}; natural={self.natural_names})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParameterGrid):
            return NotImplemented
        return (self.names == other.names and self.shape == other.shape
                and all(np.array_equal(a.values, b.values) for a, b in zip(self.axes, other.axes))
                and self.coordinate_map == other.coordinate_map)

    __hash__ = None  # type: ignore[assignment]  (mutable-looking; compared by value)

    def mismatch(self, other: "ParameterGrid", *, rtol: float = 1e-9) -> str | None:
        """Why ``other`` is not the same grid as this one, or None if it is.

        Axis values are compared with relative tolerance ``rtol`` (values that went through a
        file or a JSON round trip); the coordinate maps must be equal.

        Parameters
        ----------
        other : ParameterGrid
            The grid to compare with.
        rtol : float, default 1e-9
            Relative tolerance on axis values, in [0, 1).

        Returns
        -------
        str or None
            A short reason, or None when the grids are the same.

        Raises
        ------
        TypeError
            ``other`` is not a ParameterGrid.
        ValueError
            ``rtol`` outside [0, 1).
        """
        if not isinstance(other, ParameterGrid):
            raise TypeError(f"other must be a ParameterGrid, got {type(other).__name__}")
        rtol = float(check_real("rtol", rtol, low=0.0, high=1.0, high_inclusive=False))
        if self.names != other.names:
            return f"axes {self.names} vs {other.names}"
        if self.shape != other.shape:
            return f"shape {self.shape} vs {other.shape}"
        for a, b in zip(self.axes, other.axes):
            if not np.allclose(a.values, b.values, rtol=rtol, atol=0.0):
                return f"values of axis {a.name!r} differ"
        if self.coordinate_map != other.coordinate_map:
            return f"coordinate maps {self.coordinate_map!r} vs {other.coordinate_map!r}"
        return None

    def isel(self, **indexers: Any) -> "ParameterGrid":
        """The sub-grid at the given positions along named axes, with the same coordinate map.

        Parameters
        ----------
        **indexers : slice or sequence of int
            Per axis name, a slice or increasing integer positions (negative ones count from
            the end); axes not named are kept whole.

        Returns
        -------
        ParameterGrid

        Raises
        ------
        TypeError
            An indexer that is neither a slice nor integer positions.
        ValueError
            An unknown axis name, positions out of range or not increasing, or an empty axis.

        Examples
        --------
        >>> g = ParameterGrid.from_ranges(K=(0.2, 0.7, 6), eta=(-0.2, 0.2, 5))
        >>> g.isel(K=slice(0, 2)).shape, g.isel(K=[0, 5], eta=[2]).points().tolist()
        ((2, 5), [[0.2, 0.0], [0.7, 0.0]])
        """
        unknown = sorted(set(indexers) - set(self.names))
        if unknown:
            raise ValueError(f"isel: unknown axis name(s) {unknown}; the grid's axes are {self.names}")
        axes = []
        for a in self.axes:
            if a.name not in indexers:
                axes.append(a)
                continue
            ix = indexers[a.name]
            if isinstance(ix, slice):
                values = a.values[ix]
            else:
                if isinstance(ix, (str, bytes)):
                    raise TypeError(f"isel: {a.name} must be a slice or integer positions, got {ix!r}")
                pos = np.asarray(ix)
                if pos.dtype.kind not in "iu" or pos.ndim != 1:
                    raise TypeError(f"isel: {a.name} must be a slice or a 1-D sequence of integer positions, "
                                    f"got {ix!r}")
                if pos.size and (pos.min() < -a.size or pos.max() >= a.size):
                    raise ValueError(f"isel: positions of {a.name} must lie in [-{a.size}, {a.size - 1}], got {ix!r}")
                values = a.values[pos]
            if values.size == 0:
                raise ValueError(f"isel: {a.name}={ix!r} selects no point of the axis ({a.size} points)")
            if not (np.diff(values) > 0).all():
                raise ValueError(f"isel: positions of {a.name} must be increasing, got {ix!r}")
            axes.append(Axis(a.name, values, a.long_name, a.units))
        return ParameterGrid(axes, self.coordinate_map)

    def sublattice(self, max_points: int | None = None, *, stride: int | None = None) -> np.ndarray:
        """Flat (C-order) indices of a centred regular sub-lattice: the coarsest within ``max_points``, or of a given ``stride``.

        One stride s ≥ 1 is shared by every axis; along an axis of n points the sub-lattice
        keeps positions o, o + s, o + 2s, … < n with offset o = ⌊((n − 1) mod s) / 2⌋, so the
        unused margin is split between both ends. With ``max_points`` s is the smallest stride
        for which the sub-lattice has at most ``max_points`` points. Posteriors and fits at
        large grids use it to choose their origins and cells (docs/geometry_fitting.md,
        "Large grids").

        Parameters
        ----------
        max_points : int, optional
            At least 1. With ``max_points ≥ size`` every point is returned.
        stride : int, optional
            At least 1; exactly one of ``max_points`` and ``stride`` is given.

        Returns
        -------
        numpy.ndarray
            Increasing int64 flat indices into the grid's points.

        Raises
        ------
        TypeError
            ``max_points`` or ``stride`` not an integer, or both or neither given.
        ValueError
            ``max_points`` or ``stride`` < 1.

        Examples
        --------
        >>> g = ParameterGrid.from_ranges(K=(0.2, 0.7, 6), eta=(-0.2, 0.2, 5))
        >>> g.sublattice(9).tolist(), g.sublattice(stride=4).tolist()
        ([0, 2, 4, 10, 12, 14, 20, 22, 24], [0, 4, 20, 24])
        """
        if (max_points is None) == (stride is None):
            raise TypeError("sublattice takes exactly one of max_points and stride")
        if stride is None:
            max_points = check_int("max_points", max_points, min=1)
            stride = 1
            while int(np.prod([_axis_positions(n, stride).size for n in self.shape])) > max_points:
                stride += 1
        stride = check_int("stride", stride, min=1)
        mesh = np.meshgrid(*[_axis_positions(n, stride) for n in self.shape], indexing="ij")
        return np.ravel_multi_index(tuple(m.reshape(-1) for m in mesh), self.shape).astype(np.int64)

    # ---------------------------------------------------------------- points
    def mesh(self) -> tuple[np.ndarray, ...]:
        """Coordinate arrays of the grid points (matrix indexing).

        Returns
        -------
        tuple of numpy.ndarray
            One array of shape ``self.shape`` per axis.
        """
        return tuple(np.meshgrid(*[a.values for a in self.axes], indexing="ij"))

    def points(self) -> np.ndarray:
        """All grid points in grid coordinates, in C order (last axis fastest).

        Returns
        -------
        numpy.ndarray
            Shape ``(size, ndim)``.
        """
        return np.stack([m.ravel() for m in self.mesh()], axis=-1)

    def natural_points(self) -> np.ndarray:
        """All grid points in natural coordinates, in C order.

        Returns
        -------
        numpy.ndarray
            Shape ``(size, ndim)``.
        """
        return self.to_natural(self.points())

    def to_natural(self, p: Any) -> np.ndarray:
        """Natural coordinates t of grid-coordinate points.

        Parameters
        ----------
        p : array_like, shape (..., ndim)
            Points in grid coordinates (finite).

        Returns
        -------
        numpy.ndarray
            Shape (..., ndim).

        Raises
        ------
        TypeError, ValueError
            ``p`` is not a finite real array with last dimension ndim.
        """
        return np.asarray(self.coordinate_map.forward(_points("p", p, self.ndim)))

    def to_grid(self, t: Any) -> np.ndarray:
        """Grid coordinates p of natural-coordinate points.

        Parameters
        ----------
        t : array_like, shape (..., ndim)
            Points in natural coordinates (finite).

        Returns
        -------
        numpy.ndarray
            Shape (..., ndim).

        Raises
        ------
        TypeError, ValueError
            ``t`` is not a finite real array with last dimension ndim.
        """
        return np.asarray(self.coordinate_map.inverse(_points("t", t, self.ndim)))

    def jacobian(self, p: Any = None) -> np.ndarray:
        """∂t_i/∂p_j, the Jacobian of the map to natural coordinates.

        Parameters
        ----------
        p : array_like, shape (..., ndim), optional
            Points in grid coordinates (default: every grid point, in C order).

        Returns
        -------
        numpy.ndarray
            Shape (..., ndim, ndim).

        Raises
        ------
        TypeError, ValueError
            ``p`` is not a finite real array with last dimension ndim.
        """
        p = self.points() if p is None else _points("p", p, self.ndim)
        return np.asarray(self.coordinate_map.jacobian(p))

    def natural_product(self) -> tuple[ParameterGrid, tuple[slice, ...]] | None:
        """This grid laid out in its natural coordinates, where each t_k varies along axis k only.

        A grid laid out in a monotone function of each natural coordinate (the TASEP's rates
        α = e^{−θ_α}, β = e^{−θ_β}) is the product of its natural axes; finite differences are
        more accurate taken in t itself than along the grid's axes with the chain rule.

        Returns
        -------
        tuple of (ParameterGrid, tuple of slice) or None
            The grid whose axes are the natural coordinates (identity map; an axis whose t_k
            decreases along the grid is reversed) and the slices that reorder an array over this
            grid's shape onto it (and back: each is its own inverse); None for a grid already in
            natural coordinates (t = p) or one whose natural coordinates are no such product.

        Examples
        --------
        >>> from statgeo.coordinates import tasep_rates_map
        >>> g = ParameterGrid.from_ranges(tasep_rates_map(), alpha=(0.25, 1.0, 3), beta=(0.5, 1.0, 2))
        >>> natural, flips = g.natural_product()
        >>> natural.names, natural.axes[0].values.round(3).tolist(), flips[0]
        (('theta_alpha', 'theta_beta'), [0.0, 0.47, 1.386], slice(None, None, -1))
        """
        d = self.ndim
        t = self.natural_points()
        if np.array_equal(t, self.points()):
            return None
        t = t.reshape(self.shape + (d,))
        axes, flips = [], []
        for k in range(d):
            line = t[(0,) * k + (slice(None),) + (0,) * (d - k - 1) + (k,)]
            shape = [1] * d
            shape[k] = line.size
            if not np.allclose(t[..., k], line.reshape(shape), rtol=1e-12, atol=0.0):
                return None
            step = np.diff(line)
            if line.size < 2 or not (np.all(step > 0) or np.all(step < 0)):
                return None
            flip = bool(step[0] < 0)
            flips.append(slice(None, None, -1) if flip else slice(None))
            axes.append(Axis(self.natural_names[k], line[::-1] if flip else line))
        return ParameterGrid(axes), tuple(flips)

    def jacobian_to(self, physical_map: CoordinateMap) -> np.ndarray:
        """∂t/∂q at every grid point for another parametrisation q of the same natural coordinates.

        The grid need not be laid out in q: a grid regular in natural coordinates (K, η) can
        report derivatives in the physical (T, H) of ``ising_temperature_field_map``. If the
        grid is laid out in q already (its map equals ``physical_map``), this is
        :meth:`jacobian`.

        Parameters
        ----------
        physical_map : CoordinateMap
            q ↦ t with the same natural coordinates as the grid.

        Returns
        -------
        numpy.ndarray
            Shape (size, ndim, ndim).

        Raises
        ------
        ValueError
            ``physical_map`` has other natural coordinates than the grid.
        """
        if not isinstance(physical_map, CoordinateMap):
            raise TypeError(f"physical_map must be a statgeo.coordinates.CoordinateMap, got {type(physical_map).__name__}")
        if tuple(physical_map.natural_names) != tuple(self.natural_names):
            raise ValueError(f"physical_map must map to the grid's natural coordinates {self.natural_names}, "
                             f"got {tuple(physical_map.natural_names)}")
        if physical_map == self.coordinate_map:
            return self.jacobian()
        return physical_map.jacobian_from_natural(self.natural_points())

    def pull_back_gradient(self, grad_t: Any, p: Any = None) -> np.ndarray:
        """∇_p F = Jᵀ ∇_t F: a gradient in natural coordinates seen in grid coordinates.

        Parameters
        ----------
        grad_t : array_like, shape (..., ndim)
            ∇_t F at the points ``p``.
        p : array_like, shape (..., ndim), optional
            Points in grid coordinates (default: every grid point).

        Returns
        -------
        numpy.ndarray
            Shape (..., ndim).

        Raises
        ------
        TypeError, ValueError
            Non-finite or mis-shaped arrays.
        """
        J = self.jacobian(p)
        g = _points("grad_t", grad_t, self.ndim)
        if g.shape[:-1] != J.shape[:-2]:
            raise ValueError(f"grad_t must have shape {J.shape[:-2] + (self.ndim,)} (one gradient per point), "
                             f"got {g.shape}")
        return np.einsum("...ij,...i->...j", J, g)

    def pull_back_metric(self, g_t: Any, p: Any = None) -> np.ndarray:
        """g_p = Jᵀ g_t J: a metric in natural coordinates seen in grid coordinates.

        For a Hessian metric this is the metric part of the pulled-back Hessian; the term
        Σ_k ∂_t F ∂²t_k/∂p_i∂p_j is not included (a metric transforms as a tensor).

        Parameters
        ----------
        g_t : array_like, shape (..., ndim, ndim)
            The metric at the points ``p``.
        p : array_like, shape (..., ndim), optional
            Points in grid coordinates (default: every grid point).

        Returns
        -------
        numpy.ndarray
            Shape (..., ndim, ndim).

        Raises
        ------
        TypeError, ValueError
            Non-finite or mis-shaped arrays.
        """
        J = self.jacobian(p)
        g = check_array("g_t", g_t, dtype_kind="iuf", finite=True).astype(np.float64)
        if g.shape != J.shape:
            raise ValueError(f"g_t must have shape {J.shape} (one ndim × ndim metric per point), got {g.shape}")
        return np.einsum("...ki,...kl,...lj->...ij", J, g, J)

    def index_of(self, p: Any) -> np.ndarray:
        """Index (flat, C order) of the grid point nearest to each point.

        Parameters
        ----------
        p : array_like, shape (..., ndim)
            Points in grid coordinates.

        Returns
        -------
        numpy.ndarray
            Integer indices, shape (...).

        Raises
        ------
        TypeError, ValueError
            ``p`` is not a finite real array with last dimension ndim.
        """
        p = _points("p", p, self.ndim)
        idx = [np.abs(p[..., i, None] - a.values).argmin(axis=-1) for i, a in enumerate(self.axes)]
        return np.ravel_multi_index(tuple(idx), self.shape)

    # ---------------------------------------------------------------- xarray
    def coords(self) -> dict:
        """xarray coordinates: one 1-D coordinate per axis, with CF ``long_name``/``units``.

        Returns
        -------
        dict
            ``{name: (name, values, attrs)}``, ready for ``xr.Dataset(coords=...)``.
        """
        return {a.name: (a.name, a.values, a.attrs) for a in self.axes}

    def natural_coords(self) -> dict:
        """Natural coordinates as auxiliary coordinates over the grid dims.

        A natural coordinate whose name is also an axis name gets the suffix ``_natural``.

        Returns
        -------
        dict
            ``{name: (grid dims, values of shape self.shape, attrs)}``.
        """
        t = self.natural_points().reshape(self.shape + (self.ndim,))
        out = {}
        for i, name in enumerate(self.natural_names):
            attrs = dict(self.coordinate_map.natural_attrs.get(name, {"long_name": name, "units": "1"}))
            out[name + "_natural" if name in self.names else name] = (self.names, t[..., i], attrs)
        return out

    def to_json(self) -> str:
        """A JSON description: axes with values and attrs, and the coordinate map's spec.

        :meth:`from_json` and :meth:`from_dataset` read it back; a registered coordinate map
        is rebuilt, an anonymous one is recorded by description only.

        Returns
        -------
        str
        """
        return json.dumps(
            {
                "axes": [{"name": a.name, "values": a.values.tolist(), **a.attrs} for a in self.axes],
                "natural_names": list(self.natural_names),
                "coordinate_map": self.coordinate_map.spec(),
            }
        )

    def attach(self, obj: Any, *, natural: bool = True) -> Any:
        """Return ``obj`` with this grid's coordinates and its description in ``attrs["grid"]``.

        Parameters
        ----------
        obj : xarray.Dataset or xarray.DataArray
            Data whose dimensions include the grid's axis names (or none of them yet).
        natural : bool, default True
            Also add the natural coordinates as auxiliary coordinates.

        Returns
        -------
        xarray.Dataset or xarray.DataArray
            A new object; ``obj`` is not modified.

        Raises
        ------
        TypeError
            ``obj`` is not an xarray object.
        ValueError
            A grid dimension of ``obj`` has another length than the grid's axis.
        """
        if not hasattr(obj, "assign_coords"):
            raise TypeError(f"obj must be an xarray Dataset or DataArray, got {type(obj).__name__}")
        check_bool("natural", natural)
        for a in self.axes:
            if a.name in obj.dims and obj.sizes[a.name] != a.size:
                raise ValueError(f"dimension {a.name!r} of obj has length {obj.sizes[a.name]}, the grid's axis {a.size}")
        out = obj.assign_coords(self.coords())
        if natural:
            out = out.assign_coords(self.natural_coords())
        out.attrs = {**obj.attrs, GRID_ATTR: self.to_json()}
        return out
