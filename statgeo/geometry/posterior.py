"""Posteriors on a parameter grid: the labelled layout shared by every estimator.

Layout
------
Every estimator returns an ``xr.DataArray`` named ``"posterior"`` with dims
``("origin", "cell")``:

* ``cell`` indexes the grid cells in flat C order (``grid.points()`` order); the coordinate
  ``cell`` holds the flat index and ``cell_<axis>`` (one per grid axis, with the axis'
  ``long_name``/``units``) the cell's grid coordinates.
* ``origin`` indexes the rows. The coordinate ``origin`` holds the flat grid index of the point
  the data of that row were drawn at, and ``origin_<axis>`` its grid coordinates. Rows may
  repeat an origin (e.g. one row per bundle when bundle posteriors are *not* averaged).
* Each row is normalised over cells: ``posterior.sum("cell") == 1``.
* attrs: ``estimator`` (str), ``n_per_bundle`` (int), ``effective_temperature`` (float: the
  n_eff at which the model posterior q_θ ∝ exp(−n_eff D_Φθ) must be matched to it; see
  ``docs/geometry_fitting.md``), ``grid`` (JSON description of the grid the posterior was
  computed on; :func:`check_posterior` and ``fit_log_partition`` refuse any other grid) and
  estimator-specific diagnostics.

The estimators live in :mod:`~statgeo.geometry.posterior_exact`,
:mod:`~statgeo.geometry.posterior_kernel` and :mod:`~statgeo.geometry.posterior_neural`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np
import xarray as xr

from statgeo.checks import check_bool, check_int, check_real
from statgeo.grid import Axis, ParameterGrid

__all__ = [
    "POSTERIOR_DIMS",
    "posterior_dataarray",
    "check_posterior",
    "check_grid",
    "check_origins",
    "recorded_grid_mismatch",
    "posterior_moments",
    "posterior_kl",
]

POSTERIOR_DIMS = ("origin", "cell")


def recorded_grid_mismatch(obj: Any, grid: ParameterGrid) -> str | None:
    """Why ``grid`` differs from the grid recorded in ``obj.attrs["grid"]``, or None.

    None also when nothing is recorded. A recorded grid whose coordinate map cannot be
    rebuilt (an anonymous map) is compared by axes and natural names only.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        Labelled data that may record its grid (every statgeo estimator, sampler and
        reference does; docs/grids_and_coordinates.md).
    grid : ParameterGrid
        The grid to compare with.

    Returns
    -------
    str or None
        A short reason (first differing axis, values or coordinate map), or None when the grids
        agree or nothing is recorded.

    Raises
    ------
    TypeError
        ``obj`` is not an xarray object or ``grid`` is not a ParameterGrid.
    ValueError
        The recorded ``attrs["grid"]`` is not a grid description.

    Examples
    --------
    >>> import xarray as xr
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(a=(0.0, 1.0, 3))
    >>> h = ParameterGrid.from_ranges(a=(0.0, 2.0, 3))
    >>> recorded_grid_mismatch(g.attach(xr.Dataset()), g) is None
    True
    >>> recorded_grid_mismatch(g.attach(xr.Dataset()), h) is not None
    True
    """
    if not isinstance(obj, (xr.DataArray, xr.Dataset)):
        raise TypeError(f"obj must be an xarray DataArray or Dataset, got {type(obj).__name__}")
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a statgeo.grid.ParameterGrid, got {type(grid).__name__}")
    text = obj.attrs.get("grid")
    if text is None:
        return None
    try:
        recorded = ParameterGrid.from_json(text)
    except (ValueError, TypeError):
        try:
            desc = json.loads(text)
            axes = [Axis(a["name"], a["values"]) for a in desc.get("axes", [])]
            names = tuple(desc.get("natural_names", ()))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"obj.attrs['grid'] is not a grid description: {str(text)[:80]!r}") from exc
        if names != tuple(grid.natural_names):
            return f"natural coordinates {names} vs {grid.natural_names}"
        try:
            recorded = ParameterGrid(axes, grid.coordinate_map)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"obj.attrs['grid'] is not a grid description ({exc})") from exc
    return recorded.mismatch(grid)


def check_grid(grid: Any, *, name: str = "grid") -> ParameterGrid:
    """Validate a grid for posterior estimation and fitting: every axis needs ≥ 2 points.

    Parameters
    ----------
    grid : ParameterGrid
        The grid to check.
    name : str, default "grid"
        The argument name used in messages.

    Returns
    -------
    ParameterGrid
        ``grid`` itself.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid.
    ValueError
        An axis has a single point (a posterior over one point carries no information).

    Examples
    --------
    >>> from statgeo.grid import ParameterGrid
    >>> check_grid(ParameterGrid.from_ranges(a=(0.0, 1.0, 3))).shape
    (3,)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"{name} must be a statgeo.grid.ParameterGrid, got {type(grid).__name__}")
    small = [a.name for a in grid.axes if a.size < 2]
    if small:
        raise ValueError(
            f"{name} must have at least 2 points on every axis (a posterior over one point carries no "
            f"information), got shape {grid.shape} (axes {small} have one point)"
        )
    return grid


def check_origins(origins: Any, grid: ParameterGrid, *, name: str = "origins") -> np.ndarray:
    """Validate origins given as flat (C-order) indices of grid points.

    Parameters
    ----------
    origins : array_like of int
        Non-empty 1-D integer indices in [0, grid.size − 1]; repeats are allowed.
    grid : ParameterGrid
        The grid they index.
    name : str, default "origins"
        The argument name used in messages.

    Returns
    -------
    numpy.ndarray
        The indices as int64.

    Raises
    ------
    TypeError
        Non-integer indices or ``grid`` not a ParameterGrid.
    ValueError
        Empty, not 1-D, or out of range.

    Examples
    --------
    >>> from statgeo.grid import ParameterGrid
    >>> check_origins([0, 3], ParameterGrid.from_ranges(a=(0.0, 1.0, 4))).tolist()
    [0, 3]
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a statgeo.grid.ParameterGrid, got {type(grid).__name__}")
    if isinstance(origins, (str, bytes)):
        raise TypeError(f"{name} must be integer flat grid indices, got {origins!r}")
    use = np.asarray(origins)
    if use.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer flat grid indices, got dtype {use.dtype}")
    use = use.astype(np.int64)
    if use.ndim != 1 or use.size == 0 or use.min() < 0 or use.max() >= grid.size:
        raise ValueError(f"{name} must be non-empty 1-D flat grid indices in [0, {grid.size - 1}], "
                         f"got shape {use.shape}" + (f" with values in [{use.min()}, {use.max()}]" if use.size else ""))
    return use


def posterior_dataarray(
    probs: Any,
    grid: ParameterGrid,
    origin_index: Any,
    *,
    estimator: str,
    n_per_bundle: int,
    effective_temperature: float,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Label an (rows, cells) array of normalised posteriors with the layout of this module.

    Parameters
    ----------
    probs : array_like
        Shape (R, C), finite, non-negative, rows summing to 1 (within 1e-5) over the
        C = ``grid.size`` cells.
    grid : ParameterGrid
        The grid whose cells the columns are (flat C order); recorded in ``attrs["grid"]``.
    origin_index : array_like of int
        Shape (R,), the flat grid index of each row's origin, in [0, C).
    estimator : str
        Name of the estimator (attr ``estimator``).
    n_per_bundle : int
        Samples per bundle n ≥ 1 (attr ``n_per_bundle``).
    effective_temperature : float
        n_eff > 0 at which q_θ ∝ exp(−n_eff D) matches the rows (attr).
    attrs : mapping, optional
        Further attrs (scalars or strings only, so the result stays netCDF-serialisable).

    Returns
    -------
    xarray.DataArray
        Named ``posterior``, dims (origin, cell), coordinates and attrs as in the module
        docstring.

    Raises
    ------
    TypeError
        Arguments of the wrong type (``grid`` not a ParameterGrid, non-numeric ``probs``,
        non-integer ``origin_index``, ``estimator`` not a string, ``attrs`` not a mapping).
    ValueError
        Wrong shapes, NaN/inf or negative probabilities, rows not normalised, origins outside
        the grid, ``n_per_bundle`` < 1 or ``effective_temperature`` ≤ 0.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(a=(0.0, 1.0, 3))
    >>> post = posterior_dataarray(np.full((1, 3), 1 / 3), g, [1], estimator="uniform", n_per_bundle=1,
    ...                            effective_temperature=0.5)
    >>> post.dims, int(post["origin"][0])
    (('origin', 'cell'), 1)
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a statgeo.grid.ParameterGrid, got {type(grid).__name__}")
    if not isinstance(estimator, str):
        raise TypeError(f"estimator must be a string, got {type(estimator).__name__}")
    n_per_bundle = check_int("n_per_bundle", n_per_bundle, min=1)
    effective_temperature = float(check_real("effective_temperature", effective_temperature, low=0.0,
                                             high=np.inf, low_inclusive=False, high_inclusive=False))
    if attrs is not None and not isinstance(attrs, Mapping):
        raise TypeError(f"attrs must be a mapping, got {type(attrs).__name__}")
    if isinstance(probs, (str, bytes)) or probs is None:
        raise TypeError(f"probs must be a real (rows, cells) array, got {probs!r}")
    try:
        p = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError("probs must be a real (rows, cells) array") from exc
    oi = np.asarray(origin_index)
    if oi.dtype.kind not in "iu":
        raise TypeError(f"origin_index must hold integer flat grid indices, got dtype {oi.dtype}")
    oi = oi.astype(np.int64)
    if p.ndim != 2 or p.shape[1] != grid.size or p.shape[0] == 0:
        raise ValueError(f"probs must have shape (rows ≥ 1, {grid.size}), got {p.shape}")
    if oi.shape != (p.shape[0],):
        raise ValueError(f"origin_index must have shape ({p.shape[0]},), got {oi.shape}")
    if (oi < 0).any() or (oi >= grid.size).any():
        raise ValueError(f"origin_index must lie in [0, {grid.size - 1}]")
    _check_probs("probs", p, 1e-5)
    pts = grid.points()
    coords: dict[str, Any] = {"origin": ("origin", oi), "cell": ("cell", np.arange(grid.size))}
    for i, ax in enumerate(grid.axes):
        coords[f"origin_{ax.name}"] = ("origin", pts[oi, i], ax.attrs)
        coords[f"cell_{ax.name}"] = ("cell", pts[:, i], ax.attrs)
    a = {
        "estimator": str(estimator),
        "n_per_bundle": int(n_per_bundle),
        "effective_temperature": float(effective_temperature),
        "grid": grid.to_json(),
        "grid_shape": list(grid.shape),
        "layout": "dims (origin, cell); cell = flat C-order grid index; rows normalised over cell",
        "long_name": "posterior probability of the grid cell",
        "units": "1",
    }
    if attrs:
        a.update(attrs)
    return xr.DataArray(p, dims=POSTERIOR_DIMS, coords=coords, attrs=a, name="posterior")


def _check_probs(name: str, p: np.ndarray, atol: float) -> None:
    if not np.isfinite(p).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if (p < 0).any():
        raise ValueError(f"{name} must be non-negative")
    s = p.sum(axis=1)
    bad = np.abs(s - 1.0) > atol
    if bad.any():
        raise ValueError(f"{name} rows must be normalised over 'cell' (sum = 1 within {atol:g}); "
                         f"row {int(np.argmax(bad))} sums to {s[bad][0]!r}")


def check_posterior(
    posterior: Any, grid: ParameterGrid | None = None, *, atol: float = 1e-5
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a labelled posterior; return its probabilities and origins as NumPy arrays.

    Parameters
    ----------
    posterior : xarray.DataArray
        Dims (origin, cell) with an integer ``origin`` coordinate (module docstring).
    grid : ParameterGrid, optional
        When given: the cell count must equal ``grid.size``, and a grid recorded in
        ``posterior.attrs["grid"]`` must be this grid.
    atol : float, default 1e-5
        Tolerance (≥ 0) of the row normalisation.

    Returns
    -------
    probs : numpy.ndarray
        Shape (R, C), float64.
    origin_index : numpy.ndarray
        Shape (R,), int64.

    Raises
    ------
    TypeError
        ``posterior`` is not an ``xr.DataArray``, its ``origin`` coordinate is not integer,
        ``grid`` is not a ParameterGrid.
    ValueError
        Wrong dims, a cell count different from ``grid.size``, another grid recorded, NaN/inf
        or negative values, rows not normalised to 1 within ``atol``, or origins outside the
        grid.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(a=(0.0, 1.0, 3))
    >>> post = posterior_dataarray(np.eye(3), g, [0, 1, 2], estimator="delta", n_per_bundle=1,
    ...                            effective_temperature=1.0)
    >>> p, oi = check_posterior(post, g)
    >>> p.shape, oi.tolist()
    ((3, 3), [0, 1, 2])
    """
    atol = float(check_real("atol", atol, low=0.0, high=np.inf, high_inclusive=False))
    if not isinstance(posterior, xr.DataArray):
        raise TypeError(f"posterior must be an xarray.DataArray with dims {POSTERIOR_DIMS}, "
                        f"got {type(posterior).__name__}")
    if tuple(posterior.dims) != POSTERIOR_DIMS:
        raise ValueError(f"posterior must have dims {POSTERIOR_DIMS}, got {tuple(posterior.dims)}")
    if "origin" not in posterior.coords:
        raise ValueError("posterior must carry an integer 'origin' coordinate (flat grid index of each row)")
    if posterior.dtype.kind not in "biuf":
        raise TypeError(f"posterior must hold real numbers, got dtype {posterior.dtype}")
    p = np.asarray(posterior.values, dtype=np.float64)
    oi = np.asarray(posterior["origin"].values)
    if oi.dtype.kind not in "iu":
        raise TypeError(f"posterior 'origin' coordinate must hold integer grid indices, got dtype {oi.dtype}")
    if p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"posterior must have at least one row (origin) and one cell, got shape {p.shape}")
    if grid is not None:
        check_grid(grid)
        if p.shape[1] != grid.size:
            raise ValueError(f"posterior has {p.shape[1]} cells but the grid has {grid.size} points "
                             f"(shape {grid.shape}); they must match")
        why = recorded_grid_mismatch(posterior, grid)
        if why is not None:
            raise ValueError(f"grid is not the grid the posterior was computed on ({why}); pass the posterior's "
                             "own grid (ParameterGrid.from_dataset(posterior))")
    _check_probs("posterior", p, atol)
    if (oi < 0).any() or (oi >= p.shape[1]).any():
        raise ValueError(f"posterior 'origin' indices must lie in [0, {p.shape[1] - 1}]")
    return p, oi.astype(np.int64)


def posterior_moments(posterior: xr.DataArray, grid: ParameterGrid, *, natural: bool = True
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of each posterior row over the cell coordinates.

    μ = Σ_t p(t) t,  Σ = Σ_t p(t) (t − μ)(t − μ)ᵀ, in natural (default) or grid coordinates.

    Parameters
    ----------
    posterior : xarray.DataArray
        A labelled posterior (dims origin, cell) on ``grid``.
    grid : ParameterGrid
        Its grid.
    natural : bool, default True
        Moments in natural coordinates (else in grid coordinates).

    Returns
    -------
    mean : numpy.ndarray
        Shape (R, d).
    cov : numpy.ndarray
        Shape (R, d, d).

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid, ``natural`` is not a bool, or ``posterior`` is not
        a labelled posterior.
    ValueError
        ``posterior`` is invalid or not on ``grid`` (see :func:`check_posterior`).

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(a=(0.0, 1.0, 3))
    >>> post = posterior_dataarray([[0.5, 0.0, 0.5]], g, [1], estimator="x", n_per_bundle=1,
    ...                            effective_temperature=1.0)
    >>> mu, cov = posterior_moments(post, g)
    >>> float(mu[0, 0]), float(cov[0, 0, 0])
    (0.5, 0.25)
    """
    check_grid(grid)
    check_bool("natural", natural)
    p, _ = check_posterior(posterior, grid)
    t = grid.natural_points() if natural else grid.points()
    mu = p @ t
    second = np.einsum("rc,ci,cj->rij", p, t, t)
    return mu, second - np.einsum("ri,rj->rij", mu, mu)


def posterior_kl(p: xr.DataArray, q: xr.DataArray, *, eps: float = 1e-300) -> xr.DataArray:
    """KL(p ‖ q) = Σ_t p(t) ln(p(t)/q(t)) per row (nats); rows matched by position.

    Used as the information diagnostic of an approximate posterior q against the exact one p;
    probabilities are clipped below at ``eps`` inside the logarithms.

    Parameters
    ----------
    p : xarray.DataArray
        Reference posteriors, dims (origin, cell), finite and non-negative.
    q : xarray.DataArray
        Approximate posteriors of the same shape.
    eps : float, default 1e-300
        Floor (> 0) of the probabilities inside the logarithms.

    Returns
    -------
    xarray.DataArray
        KL per row, dims (origin,), labelled by ``p``'s origins.

    Raises
    ------
    TypeError
        ``p`` or ``q`` is not an ``xr.DataArray`` of real numbers.
    ValueError
        Wrong dims or shapes, NaN/inf or negative probabilities, ``eps`` ≤ 0.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(a=(0.0, 1.0, 2))
    >>> kw = dict(estimator="x", n_per_bundle=1, effective_temperature=1.0)
    >>> p = posterior_dataarray([[0.5, 0.5]], g, [0], **kw)
    >>> q = posterior_dataarray([[0.25, 0.75]], g, [0], **kw)
    >>> round(float(posterior_kl(p, q)[0]), 6)
    0.143841
    """
    eps = float(check_real("eps", eps, low=0.0, high=1.0, low_inclusive=False))
    for name, a in (("p", p), ("q", q)):
        if not isinstance(a, xr.DataArray):
            raise TypeError(f"{name} must be an xarray.DataArray with dims {POSTERIOR_DIMS}, got {type(a).__name__}")
        if tuple(a.dims) != POSTERIOR_DIMS or "origin" not in a.coords:
            raise ValueError(f"{name} must have dims {POSTERIOR_DIMS} and an 'origin' coordinate, got dims {a.dims}")
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    pv = np.asarray(p.values, dtype=np.float64)
    qv = np.asarray(q.values, dtype=np.float64)
    for name, v in (("p", pv), ("q", qv)):
        if not np.isfinite(v).all() or (v < 0).any():
            raise ValueError(f"{name} must hold finite, non-negative probabilities")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(pv > 0, pv * (np.log(np.maximum(pv, eps)) - np.log(np.maximum(qv, eps))), 0.0)
    return xr.DataArray(terms.sum(axis=1), dims=("origin",), coords={"origin": p["origin"].values},
                        attrs={"long_name": "KL(p || q)", "units": "nat"})
