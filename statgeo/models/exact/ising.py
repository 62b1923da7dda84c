"""Exact references for the 2-D Ising model on the L×L torus (public API).

H(s) = −J Σ_⟨ij⟩ s_i s_j − h Σ_i s_i, N = L², K = J/T, η = h/T, B = Σ_⟨ij⟩ s_i s_j (2N bonds),
M = Σ_i s_i; p(s | K, η) = exp(K B + η M − ln Z(K, η)) (docs/ising_exact.md, "Conventions").
``ln Z`` is the total log-partition function unless a name says "per site".

==========================  =======================================================  ============
function                    what                                                     where
==========================  =======================================================  ============
``onsager_*``, ``K_C``      infinite lattice, h = 0                                  ising_onsager
``kaufman_log_z/thermo``    finite torus, h = 0, any L ≤ 2²⁰, O(L) per K             ising_kaufman
``IsingDensityOfStates``    g(B, M) by enumeration, L ≤ 5, any (K, η)                ising_enumeration
``transfer_matrix_*``       row transfer matrix, L ≤ 12, any (K, η)                  ising_transfer
``ising_exact``             all of the above on a :class:`~statgeo.grid.ParameterGrid`  here
==========================  =======================================================  ============
"""

from __future__ import annotations

import json
import logging

import numpy as np
import xarray as xr

from statgeo.checks import check_choice, check_int, check_real
from statgeo.provenance import config_attr, versions
from statgeo.coordinates import ising_temperature_field_map
from statgeo.grid import ParameterGrid
from statgeo.progress import progress_disabled
from statgeo.models.exact.ising_enumeration import ENUMERATION_L_MAX, IsingDensityOfStates
from statgeo.models.exact.ising_kaufman import KAUFMAN_K_MAX, KAUFMAN_L_MAX, kaufman_log_z, kaufman_thermo
from statgeo.models.exact.ising_onsager import (
    K_C,
    T_C,
    onsager_energy_per_site,
    onsager_log_z_per_site,
    onsager_magnetisation,
    onsager_specific_heat_per_site,
)
from statgeo.models.exact.ising_transfer import (
    TRANSFER_MATRIX_L_MAX,
    transfer_matrix_log_z,
    transfer_matrix_thermo,
)

__all__ = [
    "K_C",
    "T_C",
    "onsager_log_z_per_site",
    "onsager_energy_per_site",
    "onsager_specific_heat_per_site",
    "onsager_magnetisation",
    "kaufman_log_z",
    "kaufman_thermo",
    "IsingDensityOfStates",
    "transfer_matrix_log_z",
    "transfer_matrix_thermo",
    "ising_exact",
    "ENUMERATION_L_MAX",
    "TRANSFER_MATRIX_L_MAX",
    "KAUFMAN_K_MAX",
    "KAUFMAN_L_MAX",
]

logger = logging.getLogger(__name__)

METHODS = ("auto", "enumeration", "transfer_matrix", "kaufman")
_NATURAL = ("K", "eta")
_REFERENCES = (
    "B. Kaufman, Phys. Rev. 76, 1232 (1949); A. E. Ferdinand and M. E. Fisher, Phys. Rev. 185, "
    "832 (1969); H. A. Kramers and G. H. Wannier, Phys. Rev. 60, 252 (1941); L. Onsager, "
    "Phys. Rev. 65, 117 (1944)"
)


def _natural_grid(grid: ParameterGrid, J: float) -> ParameterGrid:
    if tuple(grid.natural_names) == _NATURAL:
        return grid
    if tuple(grid.names) == ("T", "H") and grid.coordinate_map.description == "identity":
        logger.info("grid in (T, H) without a map: using ising_temperature_field_map(J=%r)", J)
        return ParameterGrid(grid.axes, ising_temperature_field_map(J))
    raise ValueError(
        f"grid must have natural coordinates ('K', 'eta'): a grid in (K, eta) with the identity map, "
        f"or in (T, H) with statgeo.coordinates.ising_temperature_field_map(J); got axes "
        f"{grid.names} with natural coordinates {tuple(grid.natural_names)}"
    )


def _choose_method(method: str, L: int, K: np.ndarray, eta: np.ndarray) -> str:
    zero_field = bool(np.all(eta == 0.0))
    mc_hint = (
        "no exact result exists for L > 12 at h != 0; use the Monte Carlo reference anchored to "
        "the exact h = 0 line, statgeo.models.ising_reference"
    )
    if method == "auto":
        if L <= 4:
            return "enumeration"
        if L <= TRANSFER_MATRIX_L_MAX:
            return "transfer_matrix"
        if zero_field:
            return "kaufman"
        raise ValueError(f"L = {L} with eta != 0 somewhere on the grid: {mc_hint}")
    if method == "enumeration" and L > ENUMERATION_L_MAX:
        raise ValueError(f"L must be in [2, {ENUMERATION_L_MAX}] for method='enumeration', got {L}")
    if method == "transfer_matrix" and L > TRANSFER_MATRIX_L_MAX:
        raise ValueError(f"L must be in [2, {TRANSFER_MATRIX_L_MAX}] for method='transfer_matrix', got {L}")
    if method == "kaufman":
        if not zero_field:
            raise ValueError(f"method='kaufman' needs eta = 0 at every grid point (h = 0); {mc_hint}")
        if L > KAUFMAN_L_MAX:
            raise ValueError(f"L must be in [2, {KAUFMAN_L_MAX}] for method='kaufman', got {L}")
    return method


def ising_exact(grid: ParameterGrid, L: int, J: float = 1.0, method: str = "auto", *,
                progress: bool | None = None) -> xr.Dataset:
    r"""Exact ln Z, ∇ ln Z and the Fisher metric ∇² ln Z of the L×L Ising torus over a grid.

    In natural coordinates t = (K, η): ∇_t ln Z = (⟨B⟩, ⟨M⟩) and g(t) = ∇²_t ln Z = Cov(B, M).
    Pulled back to the grid coordinates p with J_ij = ∂t_i/∂p_j (``grid.jacobian()``):
    ∇_p ln Z = Jᵀ ∇_t ln Z and g_p = Jᵀ g_t J (docs/ising_exact.md, docs/geometry_metric.md).

    Parameters
    ----------
    grid : ParameterGrid
        Natural coordinates must be named ("K", "eta"): a grid in (K, eta) with the identity
        map, or in (T, H) with ``ising_temperature_field_map(J)``. A (T, H) grid given
        without a map gets ``ising_temperature_field_map(J)``.
    L : int
        Linear size (N = L² spins), 2 ≤ L ≤ 2²⁰ (the method's own limit applies: 5 for
        enumeration, 12 for the transfer matrix).
    J : float, default 1.0
        Coupling (energy unit) > 0, used only to map a bare (T, H) grid; recorded in attrs.
    method : {"auto", "enumeration", "transfer_matrix", "kaufman"}, default "auto"
        ``auto``: enumeration for L ≤ 4, transfer matrix for L ≤ 12, Kaufman for larger L
        when η = 0 at every point; otherwise ValueError (use
        :func:`statgeo.models.ising_mc_reference`). Kaufman gives ln Z, ⟨B⟩, Var(B);
        ⟨M⟩ = Cov(B, M) = 0 by symmetry; Var(M) (the η–η metric entry) has no closed form and
        is NaN.
    progress : bool or None, default None
        Progress bar of the transfer-matrix loop (None: on a terminal only; ``TQDM_DISABLE=1``
        hides it).

    Returns
    -------
    xarray.Dataset
        Over the grid dims: ``log_z`` (total), ``log_z_per_site``, ``grad_log_z`` (…, natural),
        ``metric`` (…, natural, natural_), ``grad_log_z_grid`` (…, param), ``metric_grid``
        (…, param, param_); attrs ``method``, ``L``, ``N``, ``J``, ``grid`` and ``config`` (JSON).

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid, ``L`` is not an integer, a bad ``J`` or ``progress``.
    ValueError
        L < 2, L too large for the method, K outside (0, 5] for Kaufman, non-finite natural
        coordinates, natural coordinates not ("K", "eta"), or η ≠ 0 for Kaufman.

    Examples
    --------
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(K=(0.3, 0.5, 3), eta=(0.0, 0.1, 2))
    >>> ds = ising_exact(g, 4)
    >>> ds.attrs["method"], ds.metric.dims
    ('enumeration', ('K', 'eta', 'natural', 'natural_'))
    >>> ising_exact(ParameterGrid.from_ranges(K=(0.3, 0.5, 3), eta=[0.0]), 64).attrs["method"]
    'kaufman'
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a statgeo.grid.ParameterGrid, got {type(grid).__name__}")
    L = check_int("L", L, min=2, max=KAUFMAN_L_MAX)
    J = float(check_real("J", J, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))
    method = check_choice("method", method, METHODS)
    progress_disabled(progress)
    if grid.ndim != 2:
        raise ValueError(f"grid must have 2 axes (natural coordinates K, eta), got {grid.ndim}")
    grid = _natural_grid(grid, J)

    with np.errstate(all="ignore"):  # T = 0 maps to inf: refused just below
        t = grid.natural_points()
    if not np.isfinite(t).all():
        raise ValueError("the grid's natural coordinates (K, eta) must be finite (check T != 0)")
    K, eta = t[:, 0], t[:, 1]
    method = _choose_method(method, L, K, eta)
    N = L * L
    P = K.size

    if method == "enumeration":
        log_z, grad, hess = IsingDensityOfStates.from_enumeration(L).thermo(K, eta)
    elif method == "transfer_matrix":
        log_z, grad, hess = transfer_matrix_thermo(K, eta, L, progress=progress)
    else:
        check_real("K", K, low=0.0, low_inclusive=False, high=KAUFMAN_K_MAX)
        log_z, mean_B, var_B = kaufman_thermo(K, L)
        grad = np.zeros((P, 2))
        grad[:, 0] = mean_B
        hess = np.zeros((P, 2, 2))
        hess[:, 0, 0] = var_B
        hess[:, 1, 1] = np.nan

    Jac = grid.jacobian()
    grad_grid = np.einsum("pij,pi->pj", Jac, grad)
    known = np.isfinite(hess)
    metric_grid = np.einsum("pki,pkl,plj->pij", Jac, np.where(known, hess, 0.0), Jac)
    # an entry of Jᵀ g J is unknown where it has non-zero weight on an unknown entry of g
    weight_unknown = np.einsum("pki,pkl,plj->pij", np.abs(Jac), (~known).astype(float), np.abs(Jac))
    metric_grid = np.where(weight_unknown > 0, np.nan, metric_grid)

    shape = grid.shape
    dims = grid.names
    nat_attrs = {n: dict(grid.coordinate_map.natural_attrs.get(n, {"long_name": n, "units": "1"}))
                 for n in _NATURAL}
    coords = dict(grid.coords())
    coords.update(grid.natural_coords())
    coords["natural"] = ("natural", list(_NATURAL), {"long_name": "natural coordinate (K = J/T, eta = h/T)"})
    coords["natural_"] = ("natural_", list(_NATURAL), {"long_name": "natural coordinate (second index)"})
    coords["param"] = ("param", list(dims), {"long_name": "grid coordinate"})
    coords["param_"] = ("param_", list(dims), {"long_name": "grid coordinate (second index)"})
    unit_note = "in units of 1/(grid coordinate units)"
    data_vars = {
        "log_z": (dims, log_z.reshape(shape),
                  {"long_name": "log partition function ln Z (total)", "units": "1"}),
        "log_z_per_site": (dims, (log_z / N).reshape(shape),
                           {"long_name": "log partition function per site ln Z / N", "units": "1"}),
        "grad_log_z": (dims + ("natural",), grad.reshape(shape + (2,)),
                       {"long_name": "gradient of ln Z in (K, eta) = (<B>, <M>)", "units": "1"}),
        "metric": (dims + ("natural", "natural_"), hess.reshape(shape + (2, 2)),
                   {"long_name": "Fisher metric = Hessian of ln Z in (K, eta) = Cov(B, M)", "units": "1"}),
        "grad_log_z_grid": (dims + ("param",), grad_grid.reshape(shape + (2,)),
                            {"long_name": "gradient of ln Z in grid coordinates (J^T grad)", "units": unit_note}),
        "metric_grid": (dims + ("param", "param_"), metric_grid.reshape(shape + (2, 2)),
                        {"long_name": "Fisher metric pulled back to grid coordinates (J^T g J)",
                         "units": unit_note}),
    }
    cfg = {"model": "ising", "L": L, "J": J, "method": method, "natural_attrs": nat_attrs}
    attrs = {
        "title": f"exact references of the 2-D Ising model on the {L}x{L} torus",
        "model": "ising",
        "method": method,
        "L": L,
        "N": N,
        "J": J,
        "conventions": "ln Z(K, eta) = ln sum_s exp(K B + eta M); B = sum of bond products (2N bonds), "
                       "M = sum of spins; K = J/T, eta = h/T",
        "references": _REFERENCES,
        "grid": grid.to_json(),
        "config": config_attr(cfg),
        "versions": json.dumps(versions()),
    }
    if method == "kaufman":
        attrs["note"] = ("Kaufman's formula gives ln Z, <B> and Var(B) at h = 0; <M> = Cov(B, M) = 0 by "
                         "symmetry; Var(M) has no closed form and is NaN")
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
