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
  ``docs/geometry_fitting.md``), ``grid`` (JSON description of the grid) and estimator-specific
  diagnostics.

The estimators live in :mod:`~statgeo.geometry.posterior_exact`,
:mod:`~statgeo.geometry.posterior_kernel` and :mod:`~statgeo.geometry.posterior_neural`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np
import xarray as xr

from statgeo.grid import Axis, ParameterGrid

__all__ = [
    "POSTERIOR_DIMS",
    "posterior_dataarray",
    "check_posterior",
    "check_grid",
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
    grid : ParameterGrid

    Returns
    -------
    str or None
    """
    text = getattr(obj, "attrs", {}).get("grid")
    if text is None:
        return None
    try:
        recorded = ParameterGrid.from_json(text)
    except ValueError:
        spec = json.loads(text)
        axes = [Axis(a["name"], a["values"]) for a in spec.get("axes", [])]
        if tuple(spec.get("natural_names", ())) != tuple(grid.natural_names):
            return f"natural coordinates {tuple(spec.get('natural_names', ()))} vs {grid.natural_names}"
        recorded = ParameterGrid(axes, grid.coordinate_map)
    return recorded.mismatch(grid)


def check_grid(grid: Any, *, name: str = "grid") -> ParameterGrid:
    """Validate a grid for posterior estimation and fitting: every axis needs ≥ 2 points."""
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"{name} must be a statgeo.grid.ParameterGrid, got {type(grid).__name__}")
    small = [a.name for a in grid.axes if a.size < 2]
    if small:
        raise ValueError(
            f"{name} must have at least 2 points on every axis (a posterior over one point carries no "
            f"information), got shape {grid.shape} (axes {small} have one point)"
        )
    return grid


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
    probs : array (R, C), rows normalised over the C = ``grid.size`` cells (NumPy-convertible).
    grid : the grid whose cells the columns are (flat C order).
    origin_index : int array (R,), the flat grid index of each row's origin.
    estimator, n_per_bundle, effective_temperature : stored as attrs.
    attrs : further attrs (scalars or strings only, so the result stays netCDF-serialisable).
    """
    p = np.asarray(probs, dtype=np.float64)
    oi = np.asarray(origin_index, dtype=np.int64)
    if p.ndim != 2 or p.shape[1] != grid.size:
        raise ValueError(f"probs must have shape (rows, {grid.size}), got {p.shape}")
    if oi.shape != (p.shape[0],):
        raise ValueError(f"origin_index must have shape ({p.shape[0]},), got {oi.shape}")
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


def check_posterior(
    posterior: Any, grid: ParameterGrid | None = None, *, atol: float = 1e-5
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a labelled posterior; return ``(probs (R, C), origin_index (R,))`` as NumPy.

    Raises
    ------
    TypeError  if ``posterior`` is not an ``xr.DataArray``.
    ValueError on wrong dims, a cell count different from ``grid.size``, NaN/inf or negative
               values, rows not normalised to 1 within ``atol``, or origins outside the grid.
    """
    if not isinstance(posterior, xr.DataArray):
        raise TypeError(f"posterior must be an xarray.DataArray with dims {POSTERIOR_DIMS}, "
                        f"got {type(posterior).__name__}")
    if tuple(posterior.dims) != POSTERIOR_DIMS:
        raise ValueError(f"posterior must have dims {POSTERIOR_DIMS}, got {tuple(posterior.dims)}")
    if "origin" not in posterior.coords:
        raise ValueError("posterior must carry an integer 'origin' coordinate (flat grid index of each row)")
    p = np.asarray(posterior.values, dtype=np.float64)
    oi = np.asarray(posterior["origin"].values)
    if oi.dtype.kind not in "iu":
        raise TypeError(f"posterior 'origin' coordinate must hold integer grid indices, got dtype {oi.dtype}")
    if p.shape[0] == 0:
        raise ValueError("posterior must have at least one row (origin)")
    if grid is not None:
        check_grid(grid)
        if p.shape[1] != grid.size:
            raise ValueError(f"posterior has {p.shape[1]} cells but the grid has {grid.size} points "
                             f"(shape {grid.shape}); they must match")
        why = recorded_grid_mismatch(posterior, grid)
        if why is not None:
            raise ValueError(f"grid is not the grid the posterior was computed on ({why}); pass the posterior's "
                             "own grid (ParameterGrid.from_dataset(posterior))")
    if not np.isfinite(p).all():
        raise ValueError("posterior must be finite (no NaN or inf)")
    if (p < 0).any():
        raise ValueError("posterior must be non-negative")
    s = p.sum(axis=1)
    bad = np.abs(s - 1.0) > atol
    if bad.any():
        raise ValueError(f"posterior rows must be normalised over 'cell' (sum = 1 within {atol:g}); "
                         f"row {int(np.argmax(bad))} sums to {s[bad][0]!r}")
    if (oi < 0).any() or (oi >= p.shape[1]).any():
        raise ValueError(f"posterior 'origin' indices must lie in [0, {p.shape[1] - 1}]")
    return p, oi.astype(np.int64)


def posterior_moments(posterior: xr.DataArray, grid: ParameterGrid, *, natural: bool = True
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Mean (R, d) and covariance (R, d, d) of each posterior row over the cell coordinates.

    μ = Σ_t p(t) t,  Σ = Σ_t p(t) (t − μ)(t − μ)ᵀ, in natural (default) or grid coordinates.
    """
    p, _ = check_posterior(posterior, grid)
    t = grid.natural_points() if natural else grid.points()
    mu = p @ t
    second = np.einsum("rc,ci,cj->rij", p, t, t)
    return mu, second - np.einsum("ri,rj->rij", mu, mu)


def posterior_kl(p: xr.DataArray, q: xr.DataArray, *, eps: float = 1e-300) -> xr.DataArray:
    """KL(p ‖ q) = Σ_t p(t) ln(p(t)/q(t)) per row (nats); rows matched by position.

    Used as the information diagnostic of an approximate posterior q against the exact one p.
    """
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    pv = np.asarray(p.values, dtype=np.float64)
    qv = np.asarray(q.values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(pv > 0, pv * (np.log(np.maximum(pv, eps)) - np.log(np.maximum(qv, eps))), 0.0)
    return xr.DataArray(terms.sum(axis=1), dims=("origin",), coords={"origin": p["origin"].values},
                        attrs={"long_name": "KL(p || q)", "units": "nat"})
