"""Error measures of the Table 1 protocol (docs/baselines.md, "Error measures"; docs/table1.md).

A reconstructed log-partition F_rec is identifiable only up to an affine term ⟨c, t⟩ + b in the
natural coordinates t (Lobashev et al., ICML 2025, Theorem 3.2: posteriors fix the Hessian of
F, not F itself; docs/geometry_fitting.md), so before measuring it is aligned to the reference
by least squares over the (optionally margin-trimmed) grid:

* affine (the headline):   F_ref ≈ F_rec + ⟨c, t⟩ + b,
* scale + affine (beside it): F_ref ≈ s·F_rec + ⟨c, t⟩ + b, reporting the fitted scale s.

Gradients are aligned with the same (s, c): ∇F_ref ≈ s·∇F_rec + c; metrics with the same scale:
g_ref ≈ s·g_rec. For every quantity and component the RMSE over the grid cells and the RMSE
divided by the standard deviation of the reference over the same cells are reported, in
natural coordinates and in physical coordinates p (∇_p F = Jᵀ ∇_t F and g_p = Jᵀ g J with
J = ∂t/∂p: ``grid.jacobian()`` for the grid's own coordinates, ``grid.jacobian_to(physical_map)``
for a grid regular in natural coordinates, e.g. ``model.natural_map()``; F itself is a
scalar). Optional reference error bars give the ratio (reconstruction RMSE) / (RMS reference
error); for a Monte Carlo reference this ratio should be at least 10, so that the reference's
own error does not enter the comparison.

Datasets follow the baselines' layout: ``log_z`` over the grid dims, ``grad_log_z`` with one
extra dim (the natural component), ``metric`` with two extra dims; variables that are absent
from either dataset are skipped. Plain NumPy arrays in a dict are accepted too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from statgeo.checks import check_choice, check_int
from statgeo.coordinates import CoordinateMap
from statgeo.geometry import Alignment, fit_alignment
from statgeo.grid import ParameterGrid

__all__ = ["Alignment", "edge_mask", "errors_to_dataframe", "fit_alignment", "reconstruction_errors"]

log = logging.getLogger(__name__)


def edge_mask(shape: tuple[int, ...], margin: int) -> np.ndarray:
    """Boolean mask of the cells at least ``margin`` cells away from every edge of the box.

    Parameters
    ----------
    shape : tuple of int
        The grid shape.
    margin : int
        Cells excluded at every edge, ≥ 0, leaving at least one cell per axis.

    Returns
    -------
    numpy.ndarray
        bool, shape ``shape``.

    Raises
    ------
    TypeError
        ``margin`` is not an integer.
    ValueError
        ``margin`` is negative or leaves no cell on some axis.
    """
    m = check_int("margin", margin, min=0)
    if any(2 * m >= n for n in shape):
        raise ValueError(f"margin must leave at least one cell on every axis: margin={m}, grid shape {shape}")
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(slice(m, n - m) for n in shape)] = True
    return mask


def _get(ds: Any, name: str, grid: ParameterGrid, extra: int) -> np.ndarray | None:
    if ds is None:
        return None
    if hasattr(ds, "data_vars"):
        if name not in ds.data_vars:
            return None
        da = ds[name]
        missing = [n for n in grid.names if n not in da.dims]
        if missing:
            raise ValueError(f"variable {name!r} lacks the grid dims {missing}; its dims are {da.dims}")
        rest = [dim for dim in da.dims if dim not in grid.names]
        arr = np.asarray(da.transpose(*grid.names, *rest).values, dtype=np.float64)
    elif isinstance(ds, Mapping):
        if name not in ds:
            return None
        arr = np.asarray(ds[name], dtype=np.float64)
    else:
        raise TypeError(f"expected an xarray.Dataset or a mapping of arrays, got {type(ds).__name__}")
    want = grid.shape + (grid.ndim,) * extra
    if arr.shape != want:
        raise ValueError(f"variable {name!r} must have shape {want}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"variable {name!r} must be finite (no NaN or inf)")
    return arr


def _record(coords: str, quantity: str, err: np.ndarray, ref: np.ndarray, mask: np.ndarray,
            ref_err: np.ndarray | None) -> dict:
    e = err[mask]
    r = ref[mask]
    rmse = float(np.sqrt(np.mean(e**2)))
    std = float(np.std(r))
    rec = {"coords": coords, "quantity": quantity, "rmse": rmse,
           "nrmse": rmse / std if std > 0 else float("nan"), "ref_std": std}
    if ref_err is not None:
        rer = float(np.sqrt(np.mean(ref_err[mask] ** 2)))
        rec["ref_error_rms"] = rer
        rec["ratio_to_ref_error"] = rmse / rer if rer > 0 else float("inf")
    return rec


def reconstruction_errors(
    reference: Any,
    reconstruction: Any,
    grid: ParameterGrid,
    *,
    alignment: str = "affine",
    margin: int = 0,
    reference_error: Any = None,
    physical: bool = True,
    physical_map: CoordinateMap | None = None,
) -> dict:
    """Align a reconstruction to a reference and measure F, ∇F and g errors over the grid.

    Parameters
    ----------
    reference, reconstruction : xarray.Dataset or mapping of arrays
        ``log_z`` (grid dims) and optionally ``grad_log_z`` (grid dims + 1 natural component
        dim) and ``metric`` (grid dims + 2 natural component dims), all in natural coordinates.
    grid : ParameterGrid
        The grid both are given on.
    alignment : {"affine", "scale+affine"}, default "affine"
        The headline is affine; scale + affine reports the fitted scale beside it.
    margin : int, default 0
        Cells at every box edge excluded from the alignment and the errors.
    reference_error : xarray.Dataset or mapping of arrays, optional
        One-sigma errors of the reference with the same variable names; adds
        ``ref_error_rms`` and ``ratio_to_ref_error`` to the records.
    physical : bool, default True
        Also report errors in physical coordinates.
    physical_map : CoordinateMap, optional
        The map q ↦ t defining the physical coordinates q (default: the grid's own
        coordinates). A grid regular in natural coordinates reports in the model's physical
        coordinates with ``physical_map=model.natural_map()`` (the Jacobian ∂t/∂q at every cell
        from :meth:`statgeo.grid.ParameterGrid.jacobian_to`).

    Returns
    -------
    dict
        ``alignment`` (kind, scale, c, b), ``margin``, ``n_cells``, ``excluded`` (a sentence)
        and ``records``: a list of dicts (coords ∈ {natural, physical}, quantity, rmse,
        nrmse = rmse / std(reference over the cells), ref_std[, ref_error_rms,
        ratio_to_ref_error]). Quantities are named ``F``, ``dF/d<name>``,
        ``g[<name>,<name>]`` (upper triangle).

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid, or a dataset is neither a Dataset nor a mapping.
    ValueError
        An unknown alignment, a bad margin, no ``log_z``, or variables of the wrong shape or
        not finite.
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a ParameterGrid, got {type(grid).__name__}")
    kind = check_choice("alignment", alignment, ("affine", "scale+affine"))
    mask = edge_mask(grid.shape, margin)
    Fr = _get(reference, "log_z", grid, 0)
    Fc = _get(reconstruction, "log_z", grid, 0)
    if Fr is None or Fc is None:
        raise ValueError("reference and reconstruction must both contain 'log_z'")
    d = grid.ndim
    t = grid.natural_points().reshape(grid.shape + (d,))
    al = fit_alignment(Fr, Fc, t, mask=mask, scale=(kind == "scale+affine"))
    nat = grid.natural_names
    if physical_map is None:
        phys, Jm = grid.names, grid.jacobian()
    else:
        phys = tuple(physical_map.parameter_names) or grid.names
        Jm = grid.jacobian_to(physical_map)
    Jm = Jm.reshape(grid.shape + (d, d))

    records = []
    Fe = _get(reference_error, "log_z", grid, 0)
    Fa = al.apply(Fc, t)
    for coords in ("natural", "physical") if physical else ("natural",):
        records.append(_record(coords, "F", Fa - Fr, Fr, mask, Fe))

    Gr, Gc = _get(reference, "grad_log_z", grid, 1), _get(reconstruction, "grad_log_z", grid, 1)
    if Gr is not None and Gc is not None:
        Ge = _get(reference_error, "grad_log_z", grid, 1)
        Ga = al.apply_gradient(Gc)
        for i, name in enumerate(nat):
            records.append(_record("natural", f"dF/d{name}", Ga[..., i] - Gr[..., i], Gr[..., i], mask,
                                   None if Ge is None else Ge[..., i]))
        if physical:
            Pr = np.einsum("...ij,...i->...j", Jm, Gr)
            Pa = np.einsum("...ij,...i->...j", Jm, Ga)
            Pe = None if Ge is None else np.sqrt(np.einsum("...ij,...i->...j", Jm**2, Ge**2))
            for j, name in enumerate(phys):
                records.append(_record("physical", f"dF/d{name}", Pa[..., j] - Pr[..., j], Pr[..., j], mask,
                                       None if Pe is None else Pe[..., j]))

    Mr, Mc = _get(reference, "metric", grid, 2), _get(reconstruction, "metric", grid, 2)
    if Mr is not None and Mc is not None:
        Me = _get(reference_error, "metric", grid, 2)
        Ma = al.apply_metric(Mc)
        for i in range(d):
            for j in range(i, d):
                records.append(_record("natural", f"g[{nat[i]},{nat[j]}]", Ma[..., i, j] - Mr[..., i, j],
                                       Mr[..., i, j], mask, None if Me is None else Me[..., i, j]))
        if physical:
            pb = lambda g: np.einsum("...ki,...kl,...lj->...ij", Jm, g, Jm)
            PMr, PMa = pb(Mr), pb(Ma)
            PMe = None if Me is None else np.sqrt(np.einsum("...ki,...kl,...lj->...ij", Jm**2, Me**2, Jm**2))
            for i in range(d):
                for j in range(i, d):
                    records.append(_record("physical", f"g[{phys[i]},{phys[j]}]", PMa[..., i, j] - PMr[..., i, j],
                                           PMr[..., i, j], mask, None if PMe is None else PMe[..., i, j]))

    m = int(margin)
    excluded = "none" if m == 0 else f"a margin of {m} cell(s) at every edge of the box"
    return {
        "alignment": {"kind": al.kind, "scale": al.scale, "c": al.c.tolist(), "b": al.b},
        "margin": m,
        "n_cells": int(mask.sum()),
        "excluded": excluded,
        "records": records,
    }


def errors_to_dataframe(result: dict):
    """The ``records`` of :func:`reconstruction_errors` as a pandas DataFrame.

    Parameters
    ----------
    result : dict
        The output of :func:`reconstruction_errors`.

    Returns
    -------
    pandas.DataFrame
        One row per record, with the columns ``alignment`` and ``scale`` added.
    """
    import pandas as pd

    df = pd.DataFrame(result["records"])
    df["alignment"] = result["alignment"]["kind"]
    df["scale"] = result["alignment"]["scale"]
    return df
