"""The Fisher metric read from the curvature of single-bundle posteriors (observed information).

A posterior row r of one bundle of n samples drawn at the origin o, with a uniform prior over the
grid, is a tempered likelihood: ℓ_r(t) = log p(t | x_1..x_n) = Σ_i log p(x_i | t) − const. Its
negative Hessian at the origin, −∇²ℓ_r(t_o), is the bundle's observed information (Efron &
Hinkley, Biometrika 65, 457, 1978), and by the information equality its expectation over bundles
drawn at o is n·F(t_o), F the Fisher metric per sample (Lehmann & Casella, *Theory of Point
Estimation*, 2nd ed., 1998, §2.6). So

    ĝ(t_o) = −(1/T) · mean_{r: origin o} ∇²_t ℓ_r(t_o),     T = the rows' effective temperature,

estimates F(t_o) without bias, up to the finite-difference error (second order in the grid step).
Unlike the Hessian of a fitted potential, ĝ is not constrained to be a Hessian metric: for a family
that is not exponential in t (the open TASEP seen through its configurations) it reaches the
observable Fisher metric, which no ∇²Φ can (docs/geometry_metric.md, "Metric").

The rows must be likelihoods: one row per bundle (``attrs["averaged"] == 0``; an average of
posteriors is not a likelihood) and not convolved with a smoothing kernel (a network's output
against Gaussian-bump targets, ``attrs["output_kernel"]``, has a flattened curvature).

Differences: at every origin, ∂_k and ∂_k∂_l of ℓ_r from the values at the origin and its grid
neighbours, with weights exact for polynomials on the actual node positions (Fornberg,
Math. Comp. 51, 699, 1988): three nodes centred inside (one-sided at an edge) for a first
derivative, three centred or four one-sided for a second, and the product of two first-derivative
stencils for a mixed one. The positions are the natural coordinates where each varies along one
grid axis (the TASEP's rates grid: differences in θ itself); otherwise the grid's own coordinates p
with the chain rule ∇²_t ℓ = J⁻ᵀ(∂²_p ℓ − Σ_k (∂ℓ/∂t_k) ∂²t_k/∂p²)J⁻¹, J = ∂t/∂p.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from statgeo.checks import check_int
from statgeo.geometry.posterior import check_grid, check_posterior
from statgeo.geometry.posterior_diagnostics import DegeneratePosteriorWarning
from statgeo.geometry.potential_from_metric import _map_second_derivatives, _natural_hessian
from statgeo.grid import ParameterGrid

__all__ = ["ObservedInformation", "observed_information_metric"]


@dataclass(frozen=True)
class ObservedInformation:
    """Result of :func:`observed_information_metric`.

    Parameters
    ----------
    metric : numpy.ndarray
        Shape (*grid.shape, d, d), symmetric: ĝ at every grid point with rows; NaN elsewhere.
    standard_error : numpy.ndarray
        Shape (*grid.shape, d, d): the standard deviation of −∇²ℓ_r/T over an origin's rows
        divided by √rows (NaN with fewer than two rows). Rows that share samples (a network's
        bundles drawn with replacement) are not independent, and this error is then too small.
    rows : numpy.ndarray
        Shape grid.shape: the rows used per grid point.
    excluded_rows : int
        Rows left out because the posterior vanished at a node of the origin's stencil (its
        logarithm, hence the curvature, is not measurable there).
    temperature : float
        T, the rows' effective temperature.
    """

    metric: np.ndarray
    standard_error: np.ndarray
    rows: np.ndarray
    excluded_rows: int
    temperature: float


def _weights(nodes: np.ndarray, x0: float, order: int) -> np.ndarray:
    """Weights w with Σ_m w_m f(nodes_m) = f^(order)(x0) exactly for polynomials of degree < len(nodes)."""
    m = nodes.size
    dx = nodes - x0
    V = np.vstack([dx ** p for p in range(m)])  # V[p, m] = dx_m^p
    rhs = np.zeros(m)
    rhs[order] = float(np.prod(np.arange(1, order + 1)))
    return np.linalg.solve(V, rhs)


def _axis_stencils(x: np.ndarray, order: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per node i of an axis with positions x: (node offsets, weights) of the derivative of ``order``.

    Three nodes centred inside; at an edge three one-sided nodes for a first derivative and four
    for a second (three on an axis of three nodes): second order on an evenly spaced axis.
    """
    n = x.size
    out = []
    for i in range(n):
        if 0 < i < n - 1:
            idx = np.arange(i - 1, i + 2)
        else:
            m = 4 if order == 2 and n >= 4 else 3
            idx = np.arange(m) if i == 0 else np.arange(n - m, n)
        out.append((idx - i, _weights(x[idx], x[i], order)))
    return out


def _derivative_operators(grid: ParameterGrid, coords: list[np.ndarray]
                          ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Per grid point the stencil cells and weights of every ∂_k and ∂_k∂_l (k ≤ l).

    Built once per grid in Python (about 50 entries per point in two dimensions; about 6 s on a
    128 × 128 grid).

    Returns
    -------
    cells : (C, m) flat cell indices of each point's stencil nodes (padding repeats the point
        itself, with weight 0);
    weights : (C, D, m) weights of the D = d + d(d+1)/2 derivatives (first, then the pairs);
    pairs : the (k, l) of the second derivatives, in order.
    """
    shape, d = grid.shape, grid.ndim
    first = [_axis_stencils(c, 1) for c in coords]
    second = [_axis_stencils(c, 2) for c in coords]
    pairs = [(i, j) for i in range(d) for j in range(i, d)]
    index = np.indices(shape).reshape(d, -1).T  # (C, d) multi-index of every point

    def product(D: int, moves: list[tuple[int, np.ndarray, np.ndarray]]) -> list[tuple[int, tuple[int, ...], float]]:
        """(derivative, node offset, weight) of the product over the listed axes of (offsets, weights) stencils."""
        out = []
        for combo in np.ndindex(*[len(o) for _, o, _ in moves]):
            v, w = [0] * d, 1.0
            for (axis, offs, wts), c in zip(moves, combo, strict=True):
                v[axis] += int(offs[c])
                w *= float(wts[c])
            out.append((D, tuple(v), w))
        return out
    per_point = []
    for p in range(grid.size):
        at = index[p]
        entries = [e for k in range(d) for e in product(k, [(k, *first[k][at[k]])])]
        for D, (i, j) in enumerate(pairs, start=d):
            moves = [(i, *second[i][at[i]])] if i == j else [(i, *first[i][at[i]]), (j, *first[j][at[j]])]
            entries += product(D, moves)
        nodes: dict[tuple[int, ...], int] = {}
        for _, v, _ in entries:
            nodes.setdefault(v, len(nodes))
        per_point.append((entries, nodes))
    m = max(len(nodes) for _, nodes in per_point)
    cells = np.repeat(np.arange(grid.size)[:, None], m, axis=1)
    weights = np.zeros((grid.size, d + len(pairs), m))
    for p, (entries, nodes) in enumerate(per_point):
        for v, j in nodes.items():
            cells[p, j] = int(np.ravel_multi_index(tuple(index[p] + np.array(v)), shape))
        for D, v, w in entries:
            weights[p, D, nodes[v]] += w
    return cells, weights, pairs


def _grid_frame(grid: ParameterGrid) -> tuple[list[np.ndarray], np.ndarray | None, np.ndarray | None]:
    """Node positions per axis, and (J⁻¹, ∂²t/∂p²) where the chain rule is needed (else None)."""
    product = grid.natural_product()
    d = grid.ndim
    if np.array_equal(grid.natural_points(), grid.points()):
        return [a.values.astype(np.float64) for a in grid.axes], None, None
    if product is not None:  # t_k along axis k: the natural coordinate's own values (in grid order)
        natural, flips = product
        return [np.asarray(natural.axes[k].values, np.float64)[flips[k]] for k in range(d)], None, None
    Jinv = np.linalg.inv(grid.jacobian().reshape(grid.size, d, d))
    return [a.values.astype(np.float64) for a in grid.axes], Jinv, _map_second_derivatives(grid)


def observed_information_metric(posterior: xr.DataArray, grid: ParameterGrid, *,
                                chunk_rows: int = 4096) -> ObservedInformation:
    """The Fisher metric as the mean observed information of single-bundle posterior rows.

    ĝ(t_o) = −(1/T) mean_{r: origin o} ∇²_t log p_r(t_o), with T the rows' effective temperature
    (n for one bundle of n samples); unbiased for the Fisher metric up to second order in the grid
    step, for any family (module docstring).

    Parameters
    ----------
    posterior : xarray.DataArray
        Rows (origin, cell) of :mod:`statgeo.geometry.posterior`, one per bundle
        (``attrs["averaged"]`` 0 or absent) and not convolved with a kernel (no
        ``attrs["output_kernel"]``), e.g. ``exact_posterior(..., average=False)``.
    grid : ParameterGrid
        The grid the rows live on; every axis ≥ 3 points.
    chunk_rows : int, default 4096
        Rows processed at a time (memory: chunk_rows × the nodes of a stencil, 11 on a 2-D grid).

    Returns
    -------
    ObservedInformation
        ``metric`` (*grid.shape, d, d), NaN at points without rows; its standard error, the rows
        per point and the rows left out.

    Raises
    ------
    TypeError
        ``posterior`` is not a posterior DataArray or ``grid`` not a ParameterGrid.
    ValueError
        Rows not on ``grid``, averaged rows, rows convolved with a kernel, an axis of fewer than
        3 points, or ``chunk_rows`` < 1.

    Warns
    -----
    DegeneratePosteriorWarning
        Some rows vanish at a node of their origin's stencil and were left out.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.geometry import exact_posterior
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(theta=(-1.0, 1.0, 9))
    >>> x = np.random.default_rng(0).normal(size=(9, 32, 1))  # any samples: the family is Gaussian
    >>> post = exact_posterior(x, g, 0.5 * g.natural_points()[:, 0] ** 2, 4, seed=0, average=False)
    >>> res = observed_information_metric(post, g)  # Φ = θ²/2: the metric is 1 everywhere
    >>> bool(np.allclose(res.metric, 1.0))
    True
    """
    grid = check_grid(grid)
    values, origins = check_posterior(posterior, grid)
    chunk_rows = check_int("chunk_rows", chunk_rows, min=1)
    if int(posterior.attrs.get("averaged", 0)) != 0:
        raise ValueError("posterior must hold one row per bundle (attrs['averaged'] == 0): an average of "
                         "posteriors is not a likelihood and its curvature is not the observed information; "
                         "make the rows with average=False")
    if posterior.attrs.get("output_kernel"):
        raise ValueError(f"posterior rows are convolved with a kernel (attrs['output_kernel'] = "
                         f"{posterior.attrs['output_kernel']!r}), which flattens their curvature; the observed "
                         "information needs rows that are tempered likelihoods")
    small = [a.name for a in grid.axes if a.size < 3]
    if small:
        raise ValueError(f"grid must have at least 3 points on every axis for second differences; axes {small} "
                         "have fewer")
    T = float(posterior.attrs["effective_temperature"])
    d, C = grid.ndim, grid.size
    coords, Jinv, conn = _grid_frame(grid)
    cells, weights, pairs = _derivative_operators(grid, coords)
    on_stencil = (weights != 0).any(1)  # (C, m): the nodes some derivative reads (the rest is padding)
    sums = np.zeros((C, d, d))
    squares = np.zeros((C, d, d))
    counts = np.zeros(C, np.int64)
    excluded = 0
    for start in range(0, origins.size, chunk_rows):
        o = origins[start:start + chunk_rows]
        rows = np.arange(start, start + o.size)
        p = np.asarray(values[rows[:, None], cells[o]], np.float64)  # (R, m) posterior at the stencil nodes
        keep = np.all((p > 0) | ~on_stencil[o], axis=1)
        excluded += int((~keep).sum())
        o, p = o[keep], p[keep]
        logp = np.log(np.where(p > 0, p, 1.0))
        der = np.einsum("rDm,rm->rD", weights[o], logp)  # first derivatives, then the pairs
        h = np.empty((o.size, d, d))
        for n_pair, (i, j) in enumerate(pairs):
            h[:, i, j] = h[:, j, i] = der[:, d + n_pair]
        if Jinv is not None:
            h = _natural_hessian(h, der[:, :d], Jinv[o], conn[o])
        info = -h / T
        np.add.at(sums, o, info)
        np.add.at(squares, o, info ** 2)
        np.add.at(counts, o, 1)
    if excluded:
        warnings.warn(f"{excluded} of {origins.size} posterior rows vanish at a node of their origin's stencil and "
                      "were left out of the observed information (the posterior is far narrower than a grid cell "
                      "or peaks away from its origin)", DegeneratePosteriorWarning, stacklevel=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / counts[:, None, None]
        var = (squares - counts[:, None, None] * mean ** 2) / (counts[:, None, None] - 1)
        se = np.sqrt(np.maximum(var, 0.0) / counts[:, None, None])
    mean[counts == 0] = np.nan
    se[counts < 2] = np.nan
    return ObservedInformation(metric=mean.reshape(grid.shape + (d, d)), standard_error=se.reshape(grid.shape + (d, d)),
                               rows=counts.reshape(grid.shape), excluded_rows=excluded, temperature=T)
