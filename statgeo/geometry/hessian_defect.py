"""How far a metric field on a grid is from every Hessian metric ∇²Φ.

The package reads the Fisher metric off a potential, g = ∇²Φ in natural coordinates t. That
is exact for an exponential family; for any other family (e.g. the observable Fisher metric
of a model whose log-partition belongs to hidden variables) the metric the data reveal need
not be a Hessian at all, and then no fitted potential can reproduce it, however good the
posteriors. Two measures say how much of a metric field is out of reach:

* the **integrability defect**. For g = ∇²Φ the derivative T_kij = ∂_k g_ij = ∂_k∂_i∂_jΦ is
  symmetric in all three indices (in two dimensions: ∂_2 g_11 = ∂_1 g_12 and
  ∂_1 g_22 = ∂_2 g_12). The defect is the fraction of T outside the fully symmetric tensors,

      δ = ‖T − Sym T‖ / ‖T‖,   (Sym T)_kij = (T_kij + T_ikj + T_jik) / 3,

  summed over the cells inside the margin (Sym is an orthogonal projection, so 0 ≤ δ ≤ 1; δ is
  of the order of the grid's finite-difference error for a Hessian metric);
* the **floor**: the closest Hessian metric on the grid, ∇²Φ* with Φ* the weighted
  least-squares potential of :func:`~statgeo.geometry.potential_from_metric.potential_from_metric`
  (every component weighted by the inverse variance of g_ij over the cells inside the margin,
  so that the sum of the squared normalised errors is minimised), and its normalised RMSE per
  component, RMSE(∇²Φ* − g) / std(g_ij), over the same cells. A fitted potential scores at
  best this against g on this grid (up to the finite-difference error of ∇²Φ*, measurable with
  an exact Hessian metric).

Differences are those of :mod:`statgeo.geometry.potential_from_metric`: in the natural
coordinates themselves where every natural coordinate varies along one grid axis only, else along
the grid's axes with the chain rule. On a 20 × 20 grid regular in θ ∈ [0, ln 10]², the exact TASEP
metric ∇² ln Z_N / N (N = 10, a Hessian metric) scores a floor of 0.029 / 0.013 / 0.029 and a
defect of 0.007: the finite-difference error of this grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from statgeo.checks import check_int
from statgeo.geometry.metric import check_metric
from statgeo.geometry.potential_from_metric import grid_gradient, grid_hessian, potential_from_metric
from statgeo.grid import ParameterGrid

__all__ = ["HessianDefect", "hessian_defect"]

#: weight, relative to the cells inside the margin, of the equations at the margin's cells (small
#: but positive, so that every node stays determined)
MARGIN_WEIGHT = 1e-6


@dataclass(frozen=True)
class HessianDefect:
    """Result of :func:`hessian_defect` (arrays over the grid shape ``G``).

    Parameters
    ----------
    integrability : float
        δ = ‖T − Sym T‖ / ‖T‖ over the cells inside the margin, T_kij = ∂g_ij/∂t_k (module
        docstring); nan where g is constant there.
    closest : numpy.ndarray
        (*G, d, d) the closest Hessian metric ∇²Φ* (natural coordinates).
    potential : numpy.ndarray
        (*G,) Φ* (gauge as in ``potential_from_metric``).
    nrmse : numpy.ndarray
        (d, d) normalised RMSE of ``closest`` against the metric per component over the cells
        inside the margin (nan for a component constant there).
    margin : int
        Cells at every edge of the grid left out of both measures.
    """

    integrability: float
    closest: np.ndarray
    potential: np.ndarray
    nrmse: np.ndarray
    margin: int


def hessian_defect(metric: Any, grid: ParameterGrid, *, margin: int = 1) -> HessianDefect:
    """How far ``metric`` is from every Hessian metric on ``grid`` (module docstring).

    Parameters
    ----------
    metric : array_like
        g(t) in natural coordinates, shape (*grid.shape, d, d), finite (symmetrised on input).
    grid : ParameterGrid
        The grid, every axis ≥ 2·margin + 3 points (so that the cells inside the margin have
        second differences).
    margin : int, default 1
        Cells at every edge left out of the measures (0 ≤ margin ≤ 10⁴); the edge cells' one-sided
        differences are less accurate.

    Returns
    -------
    HessianDefect
        The integrability defect, the closest Hessian metric, its potential and its
        normalised RMSE per component.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid, ``metric`` is not a real array, or ``margin`` is not an
        integer.
    ValueError
        Wrong shape, NaN/inf, a margin out of range, or an axis too short for the margin.

    Examples
    --------
    A metric that is not a Hessian: g = diag(1, 1 + t₁²) has ∂₁g₂₂ = 2t₁ but ∂₂g₁₂ = 0, and two
    thirds of its derivative's squared norm lies outside the symmetric tensors, δ = √(2/3):

    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> grid = ParameterGrid.from_ranges(t1=(-1.0, 1.0, 9), t2=(0.0, 1.0, 7))
    >>> t1 = grid.mesh()[0]
    >>> g = np.zeros(grid.shape + (2, 2))
    >>> g[..., 0, 0], g[..., 1, 1] = 1.0, 1.0 + t1 ** 2
    >>> round(hessian_defect(g, grid).integrability ** 2, 12)
    0.666666666667
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a ParameterGrid, got {type(grid).__name__}")
    m = check_int("margin", margin, min=0, max=10_000)
    d, shape = grid.ndim, grid.shape
    short = [a.name for a in grid.axes if a.size < 2 * m + 3]
    if short:
        raise ValueError(f"grid axes {short} have fewer than 2 * margin + 3 = {2 * m + 3} points; "
                         f"reduce margin (now {m}) or use a larger grid")
    g = np.asarray(check_metric(metric, positive_definite="none"), dtype=np.float64)  # finite, symmetrised
    if g.shape != shape + (d, d):
        raise ValueError(f"metric must have shape (*grid_shape, d, d) = {shape + (d, d)}, got {g.shape}")

    inside = np.zeros(shape, dtype=bool)
    inside[tuple(slice(m, n - m) for n in shape)] = True

    # T_kij = ∂g_ij/∂t_k, the fully symmetric part and the defect
    T = np.empty(shape + (d, d, d))
    for i in range(d):
        for j in range(i, d):
            T[..., :, i, j] = T[..., :, j, i] = grid_gradient(g[..., i, j], grid)
    sym = (T + np.swapaxes(T, -3, -2) + np.swapaxes(T, -3, -1)) / 3.0
    norm = float(np.sum(T[inside] ** 2))
    integrability = float(np.sqrt(np.sum((T - sym)[inside] ** 2) / norm)) if norm > 0 else float("nan")

    # the closest Hessian metric: every component weighted by 1 / its variance inside the margin
    var = np.array([[np.var(g[..., i, j][inside]) for j in range(d)] for i in range(d)])
    scale = np.where(var > 0, var, np.max(var) if np.max(var) > 0 else 1.0)
    w = np.where(inside, 1.0, MARGIN_WEIGHT)[..., None, None] / scale
    fit = potential_from_metric(g, grid, weights=np.ascontiguousarray(w))
    closest = grid_hessian(fit.potential, grid)
    err = closest - g
    with np.errstate(invalid="ignore", divide="ignore"):
        nrmse = np.sqrt(np.mean(err[inside] ** 2, axis=0)) / np.sqrt(var)
    nrmse = np.where(var > 0, nrmse, np.nan)
    return HessianDefect(integrability, closest, fit.potential, nrmse, m)
