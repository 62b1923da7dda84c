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

import numpy as np

from statgeo.checks import check_allocation
from statgeo.geometry._array import as_float_array, check_finite, check_last_dim, device_of, from_numpy, namespace
from statgeo.geometry.potential import GridPotential, Potential

__all__ = ["bregman_divergence", "bregman_matrix", "bregman_matrix_from_grid"]


def _check_potential(potential: Any) -> None:
    if not isinstance(potential, Potential):
        raise TypeError(
            "potential must provide value(t), gradient(t) and hessian(t) (the Potential protocol), "
            f"got {type(potential).__name__}")


def _check_dim(name: str, x: Any, potential: Any) -> None:
    d = getattr(potential, "ndim", getattr(potential, "dim", None))
    if isinstance(d, int) and not isinstance(d, bool) and x.shape[-1] != d:
        raise ValueError(f"{name} must have last dimension {d} (the potential's dimension), got shape {tuple(x.shape)}")


def _check_result(D: Any, xp: Any) -> Any:
    if not bool(xp.all(xp.isfinite(D))):
        raise ValueError("potential returned NaN or infinite values or gradients at the given points "
                         "(points outside the potential's domain?)")
    return D


def bregman_divergence(potential: Potential, t: Any, t_prime: Any) -> Any:
    """Bregman divergence D_Φ(t, t') = Φ(t) − Φ(t') − ⟨∇Φ(t'), t − t'⟩, with broadcasting.

    For an exponential family with log-partition Φ, D_Φ(t, t') = KL(p_{t'} ‖ p_t) (Amari 2016,
    §2.3; Banerjee et al. 2005, Thm 4).

    Parameters
    ----------
    potential : Potential
        A :class:`~statgeo.geometry.potential.Potential` (value and gradient are used).
    t : array_like
        Points, shape (..., d), finite (lists are accepted).
    t_prime : array_like
        Points, shape (..., d); leading dimensions broadcast against those of ``t``.

    Returns
    -------
    array
        Shape broadcast(t, t')[:-1], in the namespace of the inputs.

    Raises
    ------
    TypeError
        ``potential`` is not a Potential, or ``t``/``t_prime`` are not real arrays.
    ValueError
        Mismatched last dimensions, non-broadcastable shapes, non-finite input, or a potential
        that is NaN/inf at the points (outside its domain).

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.geometry import Poisson
    >>> D = bregman_divergence(Poisson(), [[0.5]], [[0.0]])  # = KL(Poisson(1) ‖ Poisson(e^0.5))
    >>> np.round(D, 6)
    array([0.148721])
    """
    _check_potential(potential)
    xp = namespace(t, t_prime)
    t = as_float_array("t", t, xp)
    tp = as_float_array("t_prime", t_prime, xp, dtype=t.dtype)
    d = check_last_dim("t", t)
    _check_dim("t", t, potential)
    check_last_dim("t_prime", tp, d)
    check_finite("t", t, xp)
    check_finite("t_prime", tp, xp)
    try:
        t, tp = xp.broadcast_arrays(t, tp)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"t and t_prime must broadcast, got shapes {tuple(t.shape)} and {tuple(tp.shape)}") from exc
    diff = t - tp
    return _check_result(potential.value(t) - potential.value(tp) - xp.sum(potential.gradient(tp) * diff, axis=-1),
                         xp)


def bregman_matrix(potential: Potential, points: Any, origins: Any) -> Any:
    """All-pairs Bregman divergences D[o, p] = D_Φ(points[p], origins[o]).

    Computed as D[o, p] = Φ(x_p) − Φ(t_o) − ∇Φ(t_o)·x_p + ∇Φ(t_o)·t_o with one matrix product
    (O((n_o + n_p) d) potential evaluations).

    Parameters
    ----------
    potential : Potential
        A potential (value and gradient are used).
    points : array_like
        Evaluation points x_p, shape (n_points, d).
    origins : array_like
        Origins t_o (the data-generating parameter in the posterior), shape (n_origins, d).

    Returns
    -------
    array
        Shape (n_origins, n_points), in the namespace of the inputs.

    Raises
    ------
    TypeError
        ``potential`` is not a Potential, or the points are not real arrays.
    ValueError
        Wrong shapes, non-finite points, a potential that is NaN/inf at the points, or an
        (n_origins, n_points) result that would not fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.geometry import Poisson
    >>> bregman_matrix(Poisson(), [[0.0], [0.5]], [[0.0]]).shape
    (1, 2)
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
    _check_dim("points", x, potential)
    check_last_dim("origins", o, d)
    if x.shape[0] == 0 or o.shape[0] == 0:
        raise ValueError(f"points and origins must not be empty, got shapes {tuple(x.shape)} and {tuple(o.shape)}")
    check_finite("points", x, xp)
    check_finite("origins", o, xp)
    check_allocation("the divergence matrix (n_origins, n_points)", (o.shape[0], x.shape[0]),
                     names="points and origins")
    phi_x = potential.value(x)  # (n_p,)
    phi_o = potential.value(o)  # (n_o,)
    g_o = potential.gradient(o)  # (n_o, d)
    const = xp.sum(g_o * o, axis=-1) - phi_o  # (n_o,)
    return _check_result(phi_x[None, :] - g_o @ xp.matrix_transpose(x) + const[:, None], xp)


def bregman_matrix_from_grid(grid_axes_values: Sequence[Any], values: Any, origins: Any | None = None,
                             *, degree: int = 3) -> Any:
    """Bregman divergences of a potential given by its values on a regular grid.

    Builds a :class:`~statgeo.geometry.potential.GridPotential` (tensor-product spline) and
    returns :func:`bregman_matrix` between every grid node (C order) and ``origins``.

    Parameters
    ----------
    grid_axes_values : sequence of array_like
        One strictly increasing 1-D coordinate array per axis (≥ ``degree`` + 1 points each).
    values : array_like
        Φ at the grid nodes, shape (n_0, …, n_{d−1}).
    origins : array_like, optional
        Origins, shape (n_origins, d), inside the grid box; default every grid node.
    degree : int, default 3
        Spline degree in 1..5.

    Returns
    -------
    array
        Shape (n_origins, n_grid_points), in the namespace of ``values``.

    Raises
    ------
    TypeError
        Inputs of the wrong type (see :class:`~statgeo.geometry.potential.GridPotential`).
    ValueError
        Invalid axes, values or origins, or a result that would not fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0.0, 1.0, 5)
    >>> bregman_matrix_from_grid([x], x ** 2).shape
    (5, 5)
    """
    pot = GridPotential(grid_axes_values, values, degree=degree)
    xp = namespace(values)
    vals = as_float_array("values", values, xp)
    n_pts = int(np.prod([a.size for a in pot.axes]))
    if origins is None:
        check_allocation("the divergence matrix (n_grid_points, n_grid_points)", (n_pts, n_pts),
                         names="grid_axes_values")
    pts = from_numpy(pot.grid_points(), xp, dtype=vals.dtype, device=device_of(vals))
    dtype = vals.dtype
    o = pts if origins is None else as_float_array("origins", origins, xp, dtype=dtype)
    return bregman_matrix(pot, pts, o)
