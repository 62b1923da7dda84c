"""Bregman divergences of a convex potential Φ.

D_Φ(t, t') = Φ(t) − Φ(t') − ⟨∇Φ(t'), t − t'⟩  ≥ 0 for convex Φ.

For an exponential family p(x | t) = exp(⟨f(x), t⟩ − Φ(t)) h(x), with Φ = log Z,
D_Φ(t, t') = KL(p_{t'} ‖ p_t) (Amari, *Information Geometry and Its Applications*, 2016,
§2.3; Banerjee et al., JMLR 6 (2005) 1705, "Clustering with Bregman divergences", Thm 4).

All functions take arrays of any array-API namespace and return the caller's namespace on
the caller's device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from statgeo.geometry._array import as_float_array, check_finite, check_last_dim, device_of, from_numpy, namespace
from statgeo.geometry.potential import GridPotential, Potential

__all__ = ["bregman_divergence", "bregman_matrix", "bregman_matrix_from_grid"]


def _check_potential(potential: Any) -> None:
    if not isinstance(potential, Potential):
        raise TypeError(
            "potential must provide value(t), gradient(t) and hessian(t) (the Potential protocol), "
            f"got {type(potential).__name__}")


def bregman_divergence(potential: Potential, t: Any, t_prime: Any) -> Any:
    """Bregman divergence D_Φ(t, t') = Φ(t) − Φ(t') − ⟨∇Φ(t'), t − t'⟩, with broadcasting.

    Parameters
    ----------
    potential
        A :class:`~statgeo.geometry.potential.Potential` (value and gradient are used).
    t, t_prime
        Points of shape (..., d); leading dimensions broadcast against each other.

    Returns
    -------
    array of shape broadcast(t, t')[:-1]: the divergence (= KL(p_{t'} ‖ p_t) for an
    exponential family with log-partition Φ).

    Raises
    ------
    ValueError
        Mismatched last dimensions, non-broadcastable shapes or non-finite input.
    """
    _check_potential(potential)
    xp = namespace(t, t_prime)
    t = as_float_array("t", t, xp)
    tp = as_float_array("t_prime", t_prime, xp, dtype=t.dtype)
    d = check_last_dim("t", t)
    check_last_dim("t_prime", tp, d)
    check_finite("t", t, xp)
    check_finite("t_prime", tp, xp)
    try:
        t, tp = xp.broadcast_arrays(t, tp)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"t and t_prime must broadcast, got shapes {tuple(t.shape)} and {tuple(tp.shape)}") from exc
    diff = t - tp
    return potential.value(t) - potential.value(tp) - xp.sum(potential.gradient(tp) * diff, axis=-1)


def bregman_matrix(potential: Potential, points: Any, origins: Any) -> Any:
    """All-pairs Bregman divergences D[o, p] = D_Φ(points[p], origins[o]).

    Computed as D[o, p] = Φ(x_p) − Φ(t_o) − ∇Φ(t_o)·x_p + ∇Φ(t_o)·t_o with one matrix product
    (O((n_o + n_p) d) potential evaluations).

    Parameters
    ----------
    potential
        A potential (value and gradient are used).
    points
        Evaluation points x_p, shape (n_points, d).
    origins
        Origins t_o (the data-generating parameter in the posterior), shape (n_origins, d).

    Returns
    -------
    array of shape (n_origins, n_points), in the namespace of the inputs.
    """
    _check_potential(potential)
    xp = namespace(points, origins)
    x = as_float_array("points", points, xp)
    o = as_float_array("origins", origins, xp, dtype=x.dtype)
    if x.ndim != 2:
        raise ValueError(f"points must have shape (n_points, d), got {tuple(x.shape)}")
    if o.ndim != 2:
        raise ValueError(f"origins must have shape (n_origins, d), got {tuple(o.shape)}")
    d = check_last_dim("points", x)
    check_last_dim("origins", o, d)
    check_finite("points", x, xp)
    check_finite("origins", o, xp)
    phi_x = potential.value(x)  # (n_p,)
    phi_o = potential.value(o)  # (n_o,)
    g_o = potential.gradient(o)  # (n_o, d)
    const = xp.sum(g_o * o, axis=-1) - phi_o  # (n_o,)
    return phi_x[None, :] - g_o @ xp.matrix_transpose(x) + const[:, None]


def bregman_matrix_from_grid(grid_axes_values: Sequence[Any], values: Any, origins: Any | None = None,
                             *, degree: int = 3) -> Any:
    """Bregman divergences from a potential given by values on a regular grid.

    Builds a :class:`~statgeo.geometry.potential.GridPotential` (tensor-product cubic spline)
    and returns :func:`bregman_matrix` between every grid node (C order) and ``origins``
    (default: every grid node), shape (n_origins, n_grid_points). The result is in the
    namespace of ``values``.
    """
    pot = GridPotential(grid_axes_values, values, degree=degree)
    xp = namespace(values)
    vals = as_float_array("values", values, xp)
    pts = from_numpy(pot.grid_points(), xp, dtype=vals.dtype, device=device_of(vals))
    dtype = vals.dtype
    o = pts if origins is None else as_float_array("origins", origins, xp, dtype=dtype)
    return bregman_matrix(pot, pts, o)
