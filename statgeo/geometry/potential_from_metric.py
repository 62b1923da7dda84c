"""Recover a potential Φ from a metric field g ≈ ∇²Φ on a grid (sparse linear least squares).

Unknowns are the values Φ_n at the N grid nodes. Every node where the stencil fits gives one
equation per Hessian component (i ≤ j),

    (D_ij Φ)(p) − Σ_l B_l,ij(p) (D_l Φ)(p) = (Jᵀ g J)_ij(p),

where p are the grid coordinates, J = ∂t/∂p the Jacobian of the map to natural coordinates t,
D_ii the three-point second difference along axis i (non-uniform spacing allowed; rows only at
nodes interior along i), D_ij (i < j) the product of centred first differences (rows at nodes
interior along i and j), D_l the second-order first difference (one-sided at the edges), and
B_l,ij = Σ_k ∂²t_k/∂p_i∂p_j (J⁻¹)_lk the connection term of the chain rule
∂²Φ/∂p_i∂p_j = Σ_kl J_ki g_kl J_lj + Σ_k ∂Φ/∂t_k ∂²t_k/∂p_i∂p_j (zero for an affine map, e.g.
when the grid is already in natural coordinates). ∂²t/∂p² is taken by central differences of
``grid.jacobian``.

The equations are solved in the weighted least-squares sense through the normal equations
AᵀWA Φ = AᵀW b (``scipy.sparse.linalg.spsolve``, SuperLU). Off-diagonal equations carry an
extra weight 2 (they stand for both g_ij and g_ji: the residual is the Frobenius norm of the
Hessian mismatch); optional per-component weights (e.g. inverse variances) multiply W.

Gauge. ∇²Φ determines Φ up to an affine function ⟨c, t⟩ + b (Lobashev et al. 2025, Thm 3.2). With
no extra information Φ is pinned to 0 at d + 1 affinely independent corners (removing the
null space exactly for an affine map) and the least-squares affine part in t is subtracted
afterwards, so the returned Φ is orthogonal to {1, t_1, ..., t_d} over the grid. Given a
known gradient at one node, d weighted rows impose ∇_tΦ there and Φ is pinned to a given value
at that node instead.

The discretisation is second order: for smooth g the error of Φ (after affine alignment) and of
its gradient decreases as O(h²).

Where every natural coordinate t_k varies along one grid axis only (a grid laid out in a
monotone function of each t_k, such as the TASEP's rates α = e^{−θ_α} on a grid regular in θ),
the differences are taken in t itself, on the grid whose axes are the t_k (reversed where t_k
decreases), and the results are returned in the grid's own point order. The chain rule above is
then not needed, and the differences are far more accurate where the map is strongly curved: on
a 20 × 20 grid regular in θ ∈ [0, ln 10]², the TASEP's exact ∇² ln Z_N / N (N = 10) gives back
ln Z_N / N to 0.0017 (normalised RMSE after affine alignment) and its gradient to 0.002, against
0.005 and 0.021 with differences in α.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from statgeo.checks import check_real
from statgeo.grid import ParameterGrid

__all__ = ["PotentialFit", "potential_from_metric", "grid_gradient", "grid_hessian"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PotentialFit:
    """Result of :func:`potential_from_metric` (arrays over the grid shape ``G``).

    Parameters
    ----------
    potential : numpy.ndarray
        (*G,) Φ up to the gauge described in the module docstring.
    gradient : numpy.ndarray
        (*G, d) ∇_tΦ in natural coordinates (finite differences of Φ).
    residual_rms : float
        Weighted RMS of the Hessian-equation residuals (units of g).
    n_equations : int
        Number of least-squares equations.
    """

    potential: np.ndarray
    gradient: np.ndarray
    residual_rms: float
    n_equations: int


def _d1_1d(x: np.ndarray) -> sp.csr_matrix:
    """Second-order first-derivative matrix on nodes x (numpy.gradient's formulas)."""
    n = x.size
    h = np.diff(x)
    rows, cols, vals = [], [], []
    if n == 2:
        for r in (0, 1):
            rows += [r, r]
            cols += [0, 1]
            vals += [-1.0 / h[0], 1.0 / h[0]]
        return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
    for i in range(1, n - 1):
        hm, hp = h[i - 1], h[i]
        rows += [i, i, i]
        cols += [i - 1, i, i + 1]
        vals += [-hp / (hm * (hm + hp)), (hp - hm) / (hm * hp), hm / (hp * (hm + hp))]
    h1, h2 = h[0], h[1]
    rows += [0, 0, 0]
    cols += [0, 1, 2]
    vals += [-(2 * h1 + h2) / (h1 * (h1 + h2)), (h1 + h2) / (h1 * h2), -h1 / (h2 * (h1 + h2))]
    h1, h2 = h[-1], h[-2]
    rows += [n - 1, n - 1, n - 1]
    cols += [n - 1, n - 2, n - 3]
    vals += [(2 * h1 + h2) / (h1 * (h1 + h2)), -(h1 + h2) / (h1 * h2), h1 / (h2 * (h1 + h2))]
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


def _d2_1d(x: np.ndarray) -> sp.csr_matrix:
    """Three-point second-derivative matrix; rows 0 and n−1 are empty."""
    n = x.size
    h = np.diff(x)
    rows, cols, vals = [], [], []
    for i in range(1, n - 1):
        hm, hp = h[i - 1], h[i]
        rows += [i, i, i]
        cols += [i - 1, i, i + 1]
        vals += [2.0 / (hm * (hm + hp)), -2.0 / (hm * hp), 2.0 / (hp * (hm + hp))]
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


def _along(op: sp.spmatrix, axis: int, shape: tuple[int, ...]) -> sp.csr_matrix:
    """Lift a 1-D operator to the flattened (C-order) grid."""
    mats = [sp.identity(n, format="csr") for n in shape]
    mats[axis] = op
    out = mats[0]
    for m in mats[1:]:
        out = sp.kron(out, m, format="csr")
    return out


def _interior(shape: tuple[int, ...], axes: Sequence[int]) -> np.ndarray:
    m = np.ones(shape, dtype=bool)
    for a in axes:
        sl = [slice(None)] * len(shape)
        sl[a] = 0
        m[tuple(sl)] = False
        sl[a] = shape[a] - 1
        m[tuple(sl)] = False
    return m.ravel()


def _map_second_derivatives(grid: ParameterGrid) -> np.ndarray:
    """∂²t_k/∂p_i∂p_j at the grid nodes, shape (N, d(k), d(i), d(j)), by central differences."""
    p = grid.points()
    d = grid.ndim
    out = np.zeros((p.shape[0], d, d, d))
    for j, a in enumerate(grid.axes):
        span = float(a.values[-1] - a.values[0]) or 1.0
        delta = 1e-5 * max(span, float(np.max(np.abs(a.values))))
        e = np.zeros(d)
        e[j] = delta
        out[:, :, :, j] = (grid.jacobian(p + e) - grid.jacobian(p - e)) / (2 * delta)  # ∂J_ki/∂p_j
    return 0.5 * (out + np.swapaxes(out, 2, 3))


def _real(name: str, x: Any) -> np.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a real array, got {x!r}")
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real array, got dtype {a.dtype}")
    return a.astype(np.float64)


def _potential_on_grid(potential: Any, grid: ParameterGrid, min_points: int) -> np.ndarray:
    """Checked float64 values of Φ on ``grid`` (every axis ≥ ``min_points`` points)."""
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a ParameterGrid, got {type(grid).__name__}")
    phi = _real("potential", potential)
    if phi.shape != grid.shape:
        raise ValueError(f"potential must have the grid shape {grid.shape}, got {phi.shape}")
    if not np.isfinite(phi).all():
        raise ValueError("potential must be finite (no NaN or inf)")
    small = [a.name for a in grid.axes if a.size < min_points]
    if small:
        raise ValueError(f"grid must have at least {min_points} points on every axis for the differences; "
                         f"axes {small} have fewer")
    return phi


def grid_gradient(potential: np.ndarray, grid: ParameterGrid) -> np.ndarray:
    """∇_tΦ on the grid: second-order differences along the grid axes, then ∇_t = J⁻ᵀ ∇_p.

    ``numpy.gradient`` along every axis (second-order centred inside, second-order one-sided at
    the edges; first order on an axis of two points), then the chain rule with the Jacobian
    J = ∂t/∂p of the grid's coordinate map. Where each natural coordinate varies along one
    grid axis only, the differences are taken in t directly (module docstring).

    Parameters
    ----------
    potential : array_like
        Values of Φ at the grid points, shape grid.shape, finite.
    grid : ParameterGrid
        The grid (every axis ≥ 2 points).

    Returns
    -------
    numpy.ndarray
        Shape (*grid.shape, d), the gradient in natural coordinates.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid or ``potential`` is not a real array.
    ValueError
        Wrong shape, NaN/inf, or an axis of one point.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(t=(0.0, 1.0, 5))
    >>> grid_gradient(g.natural_points()[:, 0] ** 2, g)[:, 0]
    array([0. , 0.5, 1. , 1.5, 2. ])
    """
    phi = _potential_on_grid(potential, grid, 2)
    product = grid.natural_product()
    if product is not None:  # differences in t itself (module docstring); the flips are their own inverse
        natural, flips = product
        return grid_gradient(phi[flips], natural)[flips]
    gp = np.stack(
        [np.gradient(phi, a.values, axis=j, edge_order=2 if a.size >= 3 else 1) for j, a in enumerate(grid.axes)],
        axis=-1,
    )
    Jinv = np.linalg.inv(grid.jacobian().reshape(grid.shape + (grid.ndim, grid.ndim)))
    return np.einsum("...ji,...j->...i", Jinv, gp)


def grid_hessian(potential: np.ndarray, grid: ParameterGrid) -> np.ndarray:
    """∇²_tΦ on the grid: second-order differences along the grid axes, then the chain rule.

    ``numpy.gradient`` (second-order centred inside, second-order one-sided at the edges) gives
    ∂Φ/∂p and, applied again, ∂²Φ/∂p_i∂p_j (symmetrised). With J = ∂t/∂p the Jacobian of the
    grid's coordinate map, ∂²Φ/∂p_i∂p_j = Σ_kl J_ki (∇²_tΦ)_kl J_lj + Σ_k (∂Φ/∂t_k) ∂²t_k/∂p_i∂p_j,
    so ∇²_tΦ = J⁻ᵀ (∂²Φ/∂p² − Σ_k (∂Φ/∂t_k) ∂²t_k/∂p²) J⁻¹ (the connection term vanishes for an
    affine map). Where each natural coordinate varies along one grid axis only, the differences
    are taken in t directly (module docstring). Exact for a quadratic Φ in t on such a grid;
    second order in the grid step.

    Parameters
    ----------
    potential : array_like
        Values of Φ at the grid points, shape grid.shape, finite.
    grid : ParameterGrid
        The grid (every axis ≥ 3 points).

    Returns
    -------
    numpy.ndarray
        Shape (*grid.shape, d, d), symmetric, the Hessian in natural coordinates.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid or ``potential`` is not a real array.
    ValueError
        Wrong shape, NaN/inf, or an axis of fewer than 3 points.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(a=(0.0, 1.0, 4), b=(0.0, 2.0, 5))
    >>> A, B = g.mesh()
    >>> np.round(grid_hessian(A ** 2 + 3 * A * B, g)[0, 0], 12) + 0.0
    array([[2., 3.],
           [3., 0.]])
    """
    phi = _potential_on_grid(potential, grid, 3)
    product = grid.natural_product()
    if product is not None:  # differences in t itself (module docstring)
        natural, flips = product
        return grid_hessian(phi[flips], natural)[flips]
    d, shape = grid.ndim, grid.shape

    def diff(f: np.ndarray, j: int) -> np.ndarray:
        return np.gradient(f, grid.axes[j].values, axis=j, edge_order=2)

    gp = [diff(phi, j) for j in range(d)]
    hpp = np.empty(shape + (d, d))
    for i in range(d):
        for j in range(i, d):
            hij = diff(gp[i], i) if i == j else 0.5 * (diff(gp[i], j) + diff(gp[j], i))
            hpp[..., i, j] = hpp[..., j, i] = hij
    n = grid.size
    Jinv = np.linalg.inv(grid.jacobian().reshape(n, d, d))
    h = _natural_hessian(hpp.reshape(n, d, d), np.stack(gp, axis=-1).reshape(n, d), Jinv,
                        _map_second_derivatives(grid))
    return (0.5 * (h + np.swapaxes(h, -1, -2))).reshape(shape + (d, d))


def _natural_hessian(hess_p: np.ndarray, grad_p: np.ndarray, jacobian_inv: np.ndarray,
                    map_second: np.ndarray) -> np.ndarray:
    """∇²_t f from ∂f/∂p and ∂²f/∂p² through the chain rule (module docstring).

    ∇²_t f = J⁻ᵀ (∂²f/∂p² − Σ_k (∂f/∂t_k) ∂²t_k/∂p²) J⁻¹ with ∇_t f = J⁻ᵀ ∂f/∂p, J = ∂t/∂p,
    at n points: ``hess_p`` (n, d, d), ``grad_p`` (n, d), ``jacobian_inv`` (n, d, d) and
    ``map_second`` (n, k, i, j) = ∂²t_k/∂p_i∂p_j.
    """
    grad_t = np.einsum("nji,nj->ni", jacobian_inv, grad_p)
    corrected = hess_p - np.einsum("nk,nkij->nij", grad_t, map_second)
    return np.einsum("nki,nkl,nlj->nij", jacobian_inv, corrected, jacobian_inv)


def potential_from_metric(
    metric: np.ndarray,
    grid: ParameterGrid,
    *,
    weights: np.ndarray | None = None,
    known_gradient: tuple[Sequence[float], Sequence[float]] | None = None,
    known_value: float = 0.0,
    gradient_weight: float = 1e3,
) -> PotentialFit:
    """Potential Φ on the grid whose Hessian in natural coordinates best matches ``metric``.

    Weighted sparse least squares over the second-difference equations
    (D_ij Φ) − Σ_l B_l,ij (D_l Φ) = (Jᵀ g J)_ij of the module docstring (cf. the discrete
    Hessian-fitting formulations, e.g. Stein et al., ACM TOG 37, 2018, here without a
    smoothness prior since the data term is a full Hessian); second order in the grid step.

    Parameters
    ----------
    metric : array_like
        Metric g(t) in natural coordinates, shape (*grid.shape, d, d), finite (symmetrised on
        input).
    grid : ParameterGrid
        The grid, every axis ≥ 3 points; its coordinate map gives the natural coordinates
        (the grid may be non-uniform in them).
    weights : array_like, optional
        Non-negative finite weights per component (e.g. 1/Var g_ij), shape
        (*grid.shape, d, d), applied to the squared residuals of the corresponding equations.
        Weights refer to the components of the metric in the coordinates the differences are
        taken in: the natural ones where the grid is a product in them (module docstring), else
        the metric pulled back to grid coordinates.
    known_gradient : tuple of (array_like, array_like), optional
        ``(point, grad)``: a point in grid coordinates (snapped to the nearest node) and the
        known ∇_tΦ there, both of shape (d,); fixes the linear part of the gauge.
    known_value : float, default 0.0
        Φ at that node when ``known_gradient`` is given.
    gradient_weight : float, default 1000.0
        Weight (> 0) of the gradient rows relative to the Hessian rows (scaled by the typical
        Hessian-row magnitude).

    Returns
    -------
    PotentialFit
        Φ on the grid, its gradient, the residual and the number of equations.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid, an array is not real, or ``known_gradient`` is not a
        pair.
    ValueError
        Wrong shapes, NaN/inf, an axis with fewer than 3 points, negative weights or weights
        that leave nodes undetermined, or ``gradient_weight`` ≤ 0.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(t1=(0.0, 1.0, 6), t2=(0.0, 1.0, 6))
    >>> fit = potential_from_metric(np.broadcast_to(np.eye(2), (6, 6, 2, 2)), g)   # Φ = ½|t|² + affine
    >>> fit.potential.shape, round(fit.residual_rms, 10)
    ((6, 6), 0.0)
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a ParameterGrid, got {type(grid).__name__}")
    d, shape = grid.ndim, grid.shape
    small = [a.name for a in grid.axes if a.size < 3]
    if small:
        raise ValueError(f"every grid axis needs at least 3 points for second differences; axes {small} have fewer")
    g = _real("metric", metric)
    if g.shape != shape + (d, d):
        raise ValueError(f"metric must have shape (*grid_shape, d, d) = {shape + (d, d)}, got {g.shape}")
    if not np.isfinite(g).all():
        raise ValueError("metric must be finite (no NaN or inf)")
    g = 0.5 * (g + np.swapaxes(g, -1, -2))
    if weights is not None:
        w = _real("weights", weights)
        if w.shape != shape + (d, d):
            raise ValueError(f"weights must have shape {shape + (d, d)}, got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("weights must be finite and >= 0")
        w = 0.5 * (w + np.swapaxes(w, -1, -2))
    else:
        w = np.ones(shape + (d, d))
    kv = float(check_real("known_value", known_value))
    gw = float(check_real("gradient_weight", gradient_weight, low=0.0, low_inclusive=False, high=np.inf,
                          high_inclusive=False))
    anchor = None
    if known_gradient is not None:
        try:
            pt, gr = known_gradient
        except (TypeError, ValueError) as exc:
            raise TypeError("known_gradient must be a pair (point, gradient)") from exc
        pt = check_real("known_gradient point", pt)
        gr = check_real("known_gradient gradient", gr)
        if pt.shape != (d,) or gr.shape != (d,):
            raise ValueError(f"known_gradient point and gradient must have shape ({d},), got {pt.shape}, {gr.shape}")
        anchor = (int(grid.index_of(pt)), gr)
    product = grid.natural_product()
    if product is not None:  # differences in t itself (module docstring); the checks above hold
        natural, flips = product
        node = None if anchor is None else grid.to_natural(grid.points()[anchor[0]])
        fit = potential_from_metric(g[flips], natural, weights=w[flips],
                                    known_gradient=None if anchor is None else (node, anchor[1]),
                                    known_value=kv, gradient_weight=gw)
        return PotentialFit(fit.potential[flips], fit.gradient[flips], fit.residual_rms, fit.n_equations)

    N = grid.size
    Jm = grid.jacobian().reshape(N, d, d)
    Jinv = np.linalg.inv(Jm)
    gp = np.einsum("nki,nkl,nlj->nij", Jm, g.reshape(N, d, d), Jm)  # metric in grid coordinates
    C = _map_second_derivatives(grid)  # (N, k, i, j)
    B = np.einsum("nkij,nlk->nlij", C, Jinv)  # (N, l, i, j)
    affine_map = bool(np.max(np.abs(B)) <= 1e-9 * max(1.0, float(np.max(np.abs(Jm)))))
    D1 = [_along(_d1_1d(a.values), j, shape) for j, a in enumerate(grid.axes)]
    D2 = [_along(_d2_1d(a.values), j, shape) for j, a in enumerate(grid.axes)]
    wp = w.reshape(N, d, d)

    blocks, rhs, rw = [], [], []
    for i in range(d):
        for j in range(i, d):
            rows = np.flatnonzero(_interior(shape, (i,) if i == j else (i, j)))
            op = D2[i] if i == j else D1[i] @ D1[j]
            if not affine_map:
                for l in range(d):
                    op = op - sp.diags(B[:, l, i, j]) @ D1[l]
            blocks.append(op[rows])
            rhs.append(gp[rows, i, j])
            rw.append(wp[rows, i, j] * (1.0 if i == j else 2.0))
    A = sp.vstack(blocks, format="csr")
    b = np.concatenate(rhs)
    wv = np.concatenate(rw)
    n_eq = A.shape[0]

    if anchor is None:
        pins = [0]
        for j in range(d):
            idx = [0] * d
            idx[j] = shape[j] - 1
            pins.append(int(np.ravel_multi_index(tuple(idx), shape)))
        values = np.zeros(len(pins))
    else:
        node, grad_t = anchor
        pins = [node]
        values = np.array([kv])
        # ∇_tΦ(node) = J⁻ᵀ D1 Φ at the node: row l is Σ_j (J⁻¹)_{jl} D1_j. The rows are multiplied
        # by the RMS norm of the Hessian rows (so both kinds have comparable norms) and weighted gw.
        scale = float(np.sqrt(np.mean(np.asarray(A.multiply(A).sum(axis=1)).ravel()))) if n_eq else 1.0
        grow = [scale * sum(Jinv[node, j, l] * D1[j][node] for j in range(d)) for l in range(d)]
        A = sp.vstack([A] + grow, format="csr")
        b = np.concatenate([b, scale * grad_t])
        wv = np.concatenate([wv, np.full(d, gw * float(np.mean(wv)) if wv.size else gw)])
    free = np.setdiff1d(np.arange(N), pins)
    phi = np.zeros(N)
    phi[pins] = values
    Af = A[:, free]
    bf = b - A[:, pins] @ values
    W = sp.diags(wv)
    lhs = (Af.T @ W @ Af).tocsc()
    empty = np.flatnonzero(lhs.diagonal() <= 0)
    if empty.size:
        nodes = [tuple(int(v) for v in np.unravel_index(free[i], shape)) for i in empty[:5]]
        raise ValueError(f"weights leave {empty.size} grid node(s) undetermined (no equation with positive weight "
                         f"touches them), e.g. {nodes}; use small positive weights instead of zeros")
    sol = spsolve(lhs, Af.T @ (wv * bf))
    phi[free] = sol
    res = A @ phi - b
    residual = float(np.sqrt(np.sum(wv[:n_eq] * res[:n_eq] ** 2) / max(np.sum(wv[:n_eq]), 1e-300)))

    if anchor is None:
        t = grid.natural_points()
        X = np.column_stack([np.ones(N), t])
        coef, *_ = np.linalg.lstsq(X, phi, rcond=None)
        phi = phi - X @ coef
    phi = phi.reshape(shape)
    grad = grid_gradient(phi, grid)
    log.debug("potential_from_metric: grid %s, %d equations, residual rms %.3g", shape, n_eq, residual)
    return PotentialFit(phi, grad, residual, n_eq)
