"""Geodesics of a Riemannian metric: boundary-value problem, exponential map, lengths.

Boundary value (``geodesic_bvp``)
    The path γ_0 = start, …, γ_{n−1} = end (n = ``n_points``) minimises the discrete energy
    E(γ) = (n − 1) Σ_{i=0}^{n−2} Δγ_iᵀ g(γ̄_i) Δγ_i,  Δγ_i = γ_{i+1} − γ_i, γ̄_i = (γ_i + γ_{i+1})/2
    (the midpoint rule for ∫₀¹ γ̇ᵀ g γ̇ dt) over the interior points with SciPy's quasi-Newton
    optimiser (L-BFGS-B by default) and the analytic gradient
    ∂E/∂γ_i = (n − 1)[2g(γ̄_{i−1})Δγ_{i−1} − 2g(γ̄_i)Δγ_i + ½(q_{i−1} + q_i)],
    q_i[l] = Δγ_iᵀ ∂_l g(γ̄_i) Δγ_i, where ∂g comes from the potential's third derivatives or
    from central finite differences of the metric (Richardson, step ε^{1/5}·max(1, |t|)).
    Minimisers of E have constant speed and are geodesics (do Carmo 1992, ch. 9, Prop. 2.5).
    Convergence: the relative residual r = (n − 1) · max_i |∂E/∂γ_i| / E ≤ ``tol`` (default
    1e-4 for float64 input, 0.1 for float32). (n − 1)∂E/∂γ_i ≈ −2 g γ̈ − … is the residual of the geodesic equation, E ≈ L², so r is
    scale-free and independent of n; in float64 the energy stops decreasing at r ≈ 1e-5.
    The optimiser is asked for the same gradient tolerance and also stops on ``max_iter``. The minimiser is finally reparametrised to equal
    metric length per segment (cubic-spline interpolation in cumulative metric length).
    :func:`discrete_energy` evaluates E and ∂E/∂γ on its own (e.g. for other optimisers).
    Sizes are capped: ``n_points`` ≤ ``MAX_PATH_POINTS`` (10⁵) and ``max_iter`` ≤
    ``MAX_ITERATIONS`` (10⁶); larger values are refused before any work.

Initial value (``exponential_map``)
    γ̈^k = −Γ^k_ij γ̇^i γ̇^j integrated with :func:`scipy.integrate.solve_ivp` (DOP853 default).

The optimiser and the ODE solver run in NumPy float64; the metric / Christoffel callables are
called with arrays in the namespace, dtype and device of ``start`` (so torch potentials work),
and the returned paths are in that namespace again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from statgeo.checks import check_allocation, check_bool, check_choice, check_int, check_real
from statgeo.threads import single_threaded_blas

from statgeo.geometry._array import (
    as_float_array,
    check_finite,
    check_last_dim,
    device_of,
    from_numpy,
    namespace,
    to_numpy,
)
from statgeo.geometry.metric import as_metric_fn, christoffel_symbols, metric_derivatives
from statgeo.geometry.potential import Potential

__all__ = [
    "GeodesicResult",
    "ExponentialMapResult",
    "StraightComparison",
    "geodesic_bvp",
    "exponential_map",
    "path_length",
    "geodesic_distance",
    "compare_with_straight",
    "discrete_energy",
]

logger = logging.getLogger(__name__)


@dataclass
class GeodesicResult:
    """Result of :func:`geodesic_bvp`.

    Parameters
    ----------
    path : array
        The geodesic, (n_points, d) in the caller's namespace, equal metric length per segment
        (when reparametrised).
    length : float
        Metric length Σ √(Δγᵀ g(γ̄) Δγ) (midpoint rule).
    energy : float
        Discrete energy at the minimiser.
    converged : bool
        Whether the residual criterion was met.
    n_iter : int
        Optimiser iterations.
    grad_max : float
        Final max |∂E/∂γ_i| over the interior points.
    residual : float, default nan
        Relative residual (n − 1) grad_max / E.
    message : str, default ""
        The optimiser's message.
    n_eval : int, default 0
        Number of metric evaluations.
    """

    path: Any
    length: float
    energy: float
    converged: bool
    n_iter: int
    grad_max: float
    residual: float = float("nan")
    message: str = ""
    n_eval: int = 0


@dataclass
class ExponentialMapResult:
    """Result of :func:`exponential_map`.

    Parameters
    ----------
    times : array
        The output times, shape (n_steps + 1,).
    path : array
        γ(s) at those times, shape (n_steps + 1, d).
    velocity : array
        γ̇(s), shape (n_steps + 1, d).
    success : bool
        Whether the ODE solver succeeded.
    message : str, default ""
        The solver's message.
    """

    times: Any
    path: Any
    velocity: Any
    success: bool
    message: str = ""


@dataclass
class StraightComparison:
    """Result of :func:`compare_with_straight`: a path vs. the straight coordinate line.

    Parameters
    ----------
    length : float
        Metric length L(path).
    straight_length : float
        Metric length of the straight line between the same endpoints.
    length_ratio : float
        L(path) / L(straight) (≤ 1 for a true geodesic).
    max_deviation : float
        Largest Euclidean coordinate distance from a path point to the chord.
    relative_deviation : float
        ``max_deviation`` divided by the chord length.
    max_curvature : float
        Largest discrete Euclidean curvature of the path in coordinates (turning angle / mean
        adjacent segment length).
    mean_curvature : float
        Mean of that curvature over the interior points.
    extra : dict
        Further diagnostics (``total_turning``, the summed turning angle).
    """

    length: float
    straight_length: float
    length_ratio: float
    max_deviation: float
    relative_deviation: float
    max_curvature: float
    mean_curvature: float
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers
class _MetricEval:
    """Calls a metric source on NumPy points through the caller's namespace."""

    def __init__(self, source, xp, dtype, device, fd_step=None):
        self.source = source
        self.fn = as_metric_fn(source)
        self.xp, self.dtype, self.device = xp, dtype, device
        self.fd_step = fd_step
        self.n_eval = 0

    def _to(self, pts):
        return from_numpy(pts, self.xp, dtype=self.dtype, device=self.device)

    def metric(self, pts: np.ndarray) -> np.ndarray:
        self.n_eval += 1
        g = np.asarray(to_numpy(self.fn(self._to(pts))), dtype=np.float64)
        if not np.all(np.isfinite(g)):
            raise ValueError("the metric is NaN or infinite at a path point: the path left the metric's "
                             "domain (pass bounds= to geodesic_bvp, or a better init)")
        return g

    def dmetric(self, pts: np.ndarray) -> np.ndarray:
        dg = metric_derivatives(self.source, self._to(pts), fd_step=self.fd_step)
        dg = np.asarray(to_numpy(dg), dtype=np.float64)
        if not np.all(np.isfinite(dg)):
            raise ValueError("metric derivatives are NaN or infinite at a path point")
        return dg


def _energy_grad(x: np.ndarray, ev: _MetricEval, with_grad=True):
    n = x.shape[0]
    dx = np.diff(x, axis=0)
    mid = 0.5 * (x[1:] + x[:-1])
    g = ev.metric(mid)
    gdx = np.einsum("sij,sj->si", g, dx)
    E = (n - 1) * float(np.einsum("si,si->", dx, gdx))
    if not with_grad:
        return E, None
    dg = ev.dmetric(mid)  # [s, l, i, j]
    q = np.einsum("si,slij,sj->sl", dx, dg, dx)
    grad = np.zeros_like(x)
    grad[1:] += 2.0 * gdx + 0.5 * q
    grad[:-1] += -2.0 * gdx + 0.5 * q
    return E, (n - 1) * grad


def _seg_lengths(x: np.ndarray, ev: _MetricEval) -> np.ndarray:
    dx = np.diff(x, axis=0)
    g = ev.metric(0.5 * (x[1:] + x[:-1]))
    return np.sqrt(np.maximum(np.einsum("si,sij,sj->s", dx, g, dx), 0.0))


def _reparametrise(x: np.ndarray, ev: _MetricEval) -> np.ndarray:
    """Resample the path at equal cumulative metric length (cubic spline; linear fallback)."""
    ell = _seg_lengths(x, ev)
    s = np.concatenate([[0.0], np.cumsum(ell)])
    if s[-1] <= 0:
        return x
    s_new = np.linspace(0.0, s[-1], x.shape[0])
    if np.all(np.diff(s) > 0) and x.shape[0] >= 4:
        from scipy.interpolate import CubicSpline

        y = CubicSpline(s, x, axis=0)(s_new)
    else:
        y = np.stack([np.interp(s_new, s, x[:, k]) for k in range(x.shape[1])], axis=-1)
    y[0], y[-1] = x[0], x[-1]
    return y


def _prep_point(name, p, xp, dtype=None):
    a = as_float_array(name, p, xp, dtype=dtype)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one point of shape (d,), got shape {tuple(a.shape)}")
    check_last_dim(name, a)
    check_finite(name, a, xp)
    return a


# --------------------------------------------------------------------------- public API
#: largest ``n_points`` of :func:`geodesic_bvp` (the optimiser works on all interior points at once)
MAX_PATH_POINTS = 100_000
#: largest ``max_iter`` of :func:`geodesic_bvp` and ``n_steps`` of :func:`exponential_map`
MAX_ITERATIONS = 1_000_000


def _check_metric_source(name: str, source: Any) -> None:
    if not (isinstance(source, Potential) or callable(source)):
        raise TypeError(f"{name} must be a Potential or a callable metric_fn(points) -> (..., d, d), "
                        f"got {type(source).__name__}")


def _check_step(fd_step: Any) -> float | None:
    if fd_step is None:
        return None
    check_real("fd_step", fd_step, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    if np.ndim(fd_step) != 0:
        raise ValueError(f"fd_step must be a scalar in (0, 1), got shape {np.shape(fd_step)}")
    return fd_step


def _check_path(path: Any, min_points: int) -> tuple[Any, Any]:
    xp = namespace(path)
    p = as_float_array("path", path, xp)
    if p.ndim != 2 or p.shape[0] < min_points or p.shape[1] < 1:
        raise ValueError(f"path must have shape (n ≥ {min_points}, d ≥ 1), got {tuple(p.shape)}")
    check_finite("path", p, xp)
    return p, xp


def discrete_energy(metric_fn: Any, path: Any, *, gradient: bool = False,
                    fd_step: float | None = None) -> float | tuple[float, Any]:
    """Discrete energy of a path and, optionally, its gradient with respect to the path points.

    E(γ) = (n − 1) Σ_{i=0}^{n−2} Δγ_iᵀ g(γ̄_i) Δγ_i,  Δγ_i = γ_{i+1} − γ_i,
    γ̄_i = (γ_i + γ_{i+1})/2 (the midpoint rule for ∫₀¹ γ̇ᵀ g γ̇ dt), and
    ∂E/∂γ_i = (n − 1)[2g(γ̄_{i−1})Δγ_{i−1} − 2g(γ̄_i)Δγ_i + ½(q_{i−1} + q_i)],
    q_i[l] = Δγ_iᵀ ∂_l g(γ̄_i) Δγ_i (terms with an index outside 0..n−2 are absent). This is
    the objective :func:`geodesic_bvp` minimises (module docstring; do Carmo 1992, ch. 9).

    Parameters
    ----------
    metric_fn : Potential or callable
        A Potential (g = its Hessian, ∂g = its third derivatives) or a callable
        ``metric_fn(points (m, d)) -> (m, d, d)`` in the namespace of ``path``.
    path : array_like
        Path points, shape (n ≥ 2, d), finite.
    gradient : bool, default False
        Also return ∂E/∂γ for every point (the endpoints included).
    fd_step : float, optional
        Relative finite-difference step in (0, 1) for ∂g of a metric callable.

    Returns
    -------
    float or tuple of (float, array)
        E, or (E, ∂E/∂γ) with the gradient of shape (n, d) in the namespace, dtype and device
        of ``path``.

    Raises
    ------
    TypeError
        ``metric_fn`` is neither a Potential nor callable, ``path`` is not a real array, or
        ``gradient`` is not a bool.
    ValueError
        Wrong shape, NaN/inf in the path, ``fd_step`` outside (0, 1), or a metric that is
        NaN/inf along the path.

    Examples
    --------
    >>> import numpy as np
    >>> euclid = lambda p: np.broadcast_to(np.eye(2), p.shape[:-1] + (2, 2))
    >>> path = np.linspace([0.0, 0.0], [1.0, 0.0], 5)
    >>> E, G = discrete_energy(euclid, path, gradient=True)
    >>> round(E, 12), float(abs(G[1:-1]).max())          # a straight line: E = L², no force
    (1.0, 0.0)
    """
    _check_metric_source("metric_fn", metric_fn)
    check_bool("gradient", gradient)
    fd_step = _check_step(fd_step)
    p, xp = _check_path(path, 2)
    ev = _MetricEval(metric_fn, xp, p.dtype, device_of(p), fd_step=fd_step)
    E, G = _energy_grad(np.asarray(to_numpy(p), dtype=np.float64), ev, with_grad=bool(gradient))
    if not gradient:
        return E
    return E, from_numpy(G, xp, dtype=p.dtype, device=device_of(p))


def _check_bounds(bounds: Any, d: int) -> list[tuple[float | None, float | None]]:
    if isinstance(bounds, (str, bytes)) or not hasattr(bounds, "__len__"):
        raise TypeError(f"bounds must be a sequence of {d} (low, high) pairs, got {type(bounds).__name__}")
    if len(bounds) != d:
        raise ValueError(f"bounds must hold {d} (low, high) pairs, got {len(bounds)}")
    out = []
    for i, bd in enumerate(bounds):
        try:
            lo, hi = bd
        except (TypeError, ValueError) as exc:
            raise TypeError(f"bounds[{i}] must be a (low, high) pair, got {bd!r}") from exc
        vals = []
        for v in (lo, hi):
            if v is not None:
                check_real(f"bounds[{i}]", v, low=-np.inf, high=np.inf)
                if np.ndim(v) != 0:
                    raise ValueError(f"bounds[{i}] must hold scalars or None, got {bd!r}")
            vals.append(v)
        if vals[0] is not None and vals[1] is not None and not float(vals[0]) < float(vals[1]):
            raise ValueError(f"bounds[{i}] must have low < high, got {bd!r}")
        out.append(tuple(bd))
    return out


def geodesic_bvp(metric_fn: Any, start: Any, end: Any, n_points: int = 64, *,
                 method: Literal["L-BFGS-B", "BFGS", "CG"] = "L-BFGS-B", tol: float | None = None,
                 max_iter: int = 5000, bounds: Sequence[tuple[float | None, float | None]] | None = None,
                 init: Any = None, fd_step: float | None = None, reparametrise: bool = True) -> GeodesicResult:
    """Boundary-value geodesic between ``start`` and ``end`` by discrete-energy minimisation.

    Minimises E(γ) = (n − 1) Σ_i Δγ_iᵀ g(γ̄_i) Δγ_i (:func:`discrete_energy`) over the n − 2
    interior points with SciPy's quasi-Newton optimiser and the analytic gradient, starting
    from the straight line (or ``init``), then resamples to equal metric length. Minimisers of
    E have constant speed and are geodesics (do Carmo, *Riemannian Geometry*, 1992, ch. 9,
    Prop. 2.5); convergence test and restarts in the module docstring and
    docs/geometry_metric.md, "Geodesics".

    Parameters
    ----------
    metric_fn : Potential or callable
        A Potential (g = its Hessian, ∂g = its third derivatives) or a callable
        ``metric_fn(points (m, d)) -> (m, d, d)`` in the namespace of ``start``.
    start : array_like
        First endpoint, shape (d,), finite.
    end : array_like
        Last endpoint, shape (d,), finite, different from ``start``.
    n_points : int, default 64
        Number of path points including the endpoints, in [3, ``MAX_PATH_POINTS`` = 100 000]
        (the paper used 90).
    method : {"L-BFGS-B", "BFGS", "CG"}, default "L-BFGS-B"
        SciPy optimiser (only L-BFGS-B supports ``bounds``).
    tol : float, optional
        Relative residual tolerance (> 0): converged when (n − 1) max |∂E/∂γ_i| / E ≤ tol.
        Default 1e-4 when ``start`` is float64, 0.1 otherwise (float32 metric evaluations limit
        the residual to ~1e-2; the length is still accurate to ~1e-5 on the Gaussian test case).
    max_iter : int, default 5000
        Optimiser iteration limit, in [1, ``MAX_ITERATIONS`` = 10⁶].
    bounds : sequence of (float or None, float or None), optional
        Per-coordinate (low, high) box for every interior point (L-BFGS-B only), e.g. to keep
        σ > 0.
    init : array_like, optional
        Initial path (n_points, d), finite; its endpoints are replaced by ``start``/``end``.
        Default the straight line.
    fd_step : float, optional
        Relative FD step in (0, 1) for metric derivatives of a metric callable.
    reparametrise : bool, default True
        Resample the result at equal metric length.

    Returns
    -------
    GeodesicResult

    Raises
    ------
    TypeError
        ``metric_fn`` is neither a Potential nor callable; an argument has the wrong type.
    ValueError
        Invalid endpoints (shape, NaN/inf, equal), ``n_points``/``max_iter`` out of range,
        ``tol`` ≤ 0, invalid ``bounds`` or ``init``, or a metric that is NaN or not positive
        definite on the initial path.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.geometry import Gaussian1D
    >>> r = geodesic_bvp(Gaussian1D.fisher_rao_metric, [-1.0, 1.0], [1.0, 1.0], n_points=16)
    >>> exact = np.sqrt(2) * np.arccosh(2.0)       # closed-form Fisher–Rao distance
    >>> r.converged, bool(abs(r.length / exact - 1) < 1e-3)
    (True, True)
    """
    _check_metric_source("metric_fn", metric_fn)
    xp = namespace(start, end)
    a = _prep_point("start", start, xp)
    b = _prep_point("end", end, xp, dtype=a.dtype)
    d = a.shape[0]
    if b.shape[0] != d:
        raise ValueError(f"end must have shape ({d},) like start, got {tuple(b.shape)}")
    n = check_int("n_points", n_points, min=3, max=MAX_PATH_POINTS)
    check_choice("method", method, ("L-BFGS-B", "BFGS", "CG"))
    max_iter = check_int("max_iter", max_iter, min=1, max=MAX_ITERATIONS)
    if tol is None:
        tol = 1e-4 if a.dtype == xp.float64 else 0.1
    tol = float(check_real("tol", tol, low=0.0, high=np.inf, low_inclusive=False, high_inclusive=False))
    fd_step = _check_step(fd_step)
    check_bool("reparametrise", reparametrise)
    if bounds is not None and method != "L-BFGS-B":
        raise ValueError(f"bounds are supported with method='L-BFGS-B' only, got method={method!r}")
    check_allocation("the metric derivatives along the path (n_points, d, d, d)", (n, d, d, d),
                     names="n_points and the dimension of start")
    an = np.asarray(to_numpy(a), dtype=np.float64)
    bn = np.asarray(to_numpy(b), dtype=np.float64)
    if np.allclose(an, bn, rtol=0, atol=0):
        raise ValueError("start and end must differ")
    if init is None:
        x0 = an + np.linspace(0.0, 1.0, n)[:, None] * (bn - an)
    else:
        if isinstance(init, (str, bytes)):
            raise TypeError(f"init must be an (n_points, d) array of reals, got {init!r}")
        try:
            x0 = np.asarray(to_numpy(init), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError("init must be an (n_points, d) array of reals") from exc
        if x0.shape != (n, d):
            raise ValueError(f"init must have shape ({n}, {d}), got {x0.shape}")
        if not np.all(np.isfinite(x0)):
            raise ValueError("init must be finite")
        x0 = x0.copy()
        x0[0], x0[-1] = an, bn
    lb = None
    if bounds is not None:
        lb = _check_bounds(bounds, d) * (n - 2)
    ev = _MetricEval(metric_fn, xp, a.dtype, device_of(a), fd_step=fd_step)
    check_metric_start = ev.metric(x0)  # validates the metric on the initial path (NaN → error)
    lam = np.linalg.eigvalsh(0.5 * (check_metric_start + np.swapaxes(check_metric_start, -1, -2)))
    if np.any(lam[:, 0] <= 0):
        raise ValueError("the metric is not positive definite on the initial path: a geodesic needs a "
                         "Riemannian (positive-definite) metric")

    def full(z):
        x = x0.copy()
        x[1:-1] = z.reshape(n - 2, d)
        return x

    def fun(z):
        E, G = _energy_grad(full(z), ev)
        return E, G[1:-1].ravel()

    E0, G0 = fun(x0[1:-1].ravel())
    from scipy.optimize import minimize

    z, nit, msg = x0[1:-1].ravel(), 0, "initial path already satisfies the residual criterion"
    E, G = E0, G0
    for _attempt in range(4):  # restart with the tolerance re-scaled by the current energy
        gtol = tol * max(E, 1e-300) / (n - 1)
        if float(np.abs(G).max()) <= gtol:
            break
        opts: dict[str, Any] = {"maxiter": max(max_iter - nit, 1), "gtol": 0.9 * gtol}
        if method == "L-BFGS-B":
            opts.update(ftol=1e-15, maxcor=20, maxfun=20 * max_iter)
        with single_threaded_blas():
            res = minimize(fun, z, jac=True, method=method, bounds=lb, options=opts)
        z, msg = res.x, str(res.message)
        nit += int(res.nit)
        E, G = fun(z)
        stopped_on_gradient = ("PGTOL" in msg) if method == "L-BFGS-B" else bool(res.success)
        if nit >= max_iter or not stopped_on_gradient:
            break
    x = full(z)
    E, G = _energy_grad(x, ev)
    gmax = float(np.abs(G[1:-1]).max())
    resid = (n - 1) * gmax / max(E, 1e-300)
    converged = resid <= tol
    if not converged:
        logger.warning("geodesic_bvp did not converge: relative residual %.3g > tol %.3g (%s)", resid, tol, msg)
    if reparametrise:
        x = _reparametrise(x, ev)
    L = float(_seg_lengths(x, ev).sum())
    return GeodesicResult(path=from_numpy(x, xp, dtype=a.dtype, device=device_of(a)), length=L, energy=E,
                          converged=bool(converged), n_iter=nit, grad_max=gmax, residual=resid, message=msg,
                          n_eval=ev.n_eval)


def exponential_map(source: Any, start: Any, velocity: Any, t: float = 1.0, n_steps: int = 64, *,
                    kind: Literal["auto", "christoffel", "metric"] = "auto",
                    method: Literal["DOP853", "RK45"] = "DOP853", rtol: float = 1e-10,
                    atol: float = 1e-12) -> ExponentialMapResult:
    """Initial-value geodesic γ(s), s ∈ [0, t], with γ(0) = start, γ̇(0) = velocity.

    Integrates the geodesic equation γ̈^k = −Γ^k_ij γ̇^i γ̇^j (do Carmo 1992, ch. 3) with
    :func:`scipy.integrate.solve_ivp`; exp_start(t·velocity) is ``path[-1]``. A failed
    integration is logged as a warning and reported in ``success``.

    Parameters
    ----------
    source : Potential or callable
        A Potential, a metric callable (points → (…, d, d)) or a Christoffel callable
        (points → Γ (…, d, d, d), ``gamma[..., k, i, j]`` = Γ^k_ij).
    start : array_like
        Initial point, shape (d,), finite.
    velocity : array_like
        Initial velocity, shape (d,), finite.
    t : float, default 1.0
        Final time (> 0, finite).
    n_steps : int, default 64
        Output points are at n_steps + 1 equally spaced times; in [1, ``MAX_ITERATIONS``].
    kind : {"auto", "christoffel", "metric"}, default "auto"
        What a callable ``source`` returns; ``"auto"`` decides from its output rank at ``start``.
    method : {"DOP853", "RK45"}, default "DOP853"
        The solve_ivp method.
    rtol : float, default 1e-10
        Relative tolerance of the solver (> 0).
    atol : float, default 1e-12
        Absolute tolerance of the solver (> 0).

    Returns
    -------
    ExponentialMapResult

    Raises
    ------
    TypeError
        ``source`` is neither a Potential nor callable; an argument has the wrong type.
    ValueError
        Invalid ``start``/``velocity``, ``t`` ≤ 0, ``n_steps`` out of range, non-positive
        tolerances, an unknown ``kind``/``method``, or a metric that is not positive definite
        along the way.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.geometry import Gaussian1D
    >>> r = exponential_map(Gaussian1D.fisher_rao_metric, [0.0, 1.0], [0.0, 0.5], n_steps=4)
    >>> r.success, round(float(r.path[-1, 1]), 6)               # σ(t) = e^{t/2} on the vertical line
    (True, 1.648721)
    """
    _check_metric_source("source", source)
    xp = namespace(start, velocity)
    a = _prep_point("start", start, xp)
    v = _prep_point("velocity", velocity, xp, dtype=a.dtype)
    d = a.shape[0]
    if v.shape[0] != d:
        raise ValueError(f"velocity must have shape ({d},) like start, got {tuple(v.shape)}")
    t = float(check_real("t", t, low=0.0, high=np.inf, low_inclusive=False, high_inclusive=False))
    n_steps = check_int("n_steps", n_steps, min=1, max=MAX_ITERATIONS)
    check_choice("kind", kind, ("auto", "christoffel", "metric"))
    check_choice("method", method, ("DOP853", "RK45"))
    rtol = float(check_real("rtol", rtol, low=0.0, high=np.inf, low_inclusive=False, high_inclusive=False))
    atol = float(check_real("atol", atol, low=0.0, high=np.inf, low_inclusive=False, high_inclusive=False))
    dev, dt = device_of(a), a.dtype
    if isinstance(source, Potential):
        kind_ = "metric"
    else:
        if kind == "auto":
            r = source(xp.reshape(a, (1, d)))
            ndim = getattr(r, "ndim", None)
            if ndim not in (3, 4):
                raise ValueError(f"source must return a metric (m, d, d) or Christoffel symbols (m, d, d, d), "
                                 f"got output of shape {tuple(getattr(r, 'shape', ()))}")
            kind_ = "christoffel" if ndim == 4 else "metric"
        else:
            kind_ = kind

    def gamma(x: np.ndarray) -> np.ndarray:
        pts = from_numpy(x[None, :], xp, dtype=dt, device=dev)
        G = source(pts) if kind_ == "christoffel" else christoffel_symbols(source, pts)
        return np.asarray(to_numpy(G), dtype=np.float64)[0]

    def rhs(_s, y):
        x, u = y[:d], y[d:]
        G = gamma(x)
        acc = -np.einsum("kij,i,j->k", G, u, u)
        return np.concatenate([u, acc])

    from scipy.integrate import solve_ivp

    y0 = np.concatenate([np.asarray(to_numpy(a), dtype=np.float64), np.asarray(to_numpy(v), dtype=np.float64)])
    s_eval = np.linspace(0.0, t, n_steps + 1)
    sol = solve_ivp(rhs, (0.0, t), y0, method=method, t_eval=s_eval, rtol=rtol, atol=atol)
    if not sol.success:
        logger.warning("exponential_map: integration failed: %s", sol.message)
    Y = sol.y.T
    return ExponentialMapResult(
        times=from_numpy(sol.t, xp, dtype=dt, device=dev),
        path=from_numpy(Y[:, :d], xp, dtype=dt, device=dev),
        velocity=from_numpy(Y[:, d:], xp, dtype=dt, device=dev),
        success=bool(sol.success), message=str(sol.message))


def path_length(metric_fn: Any, path: Any, *, rule: Literal["midpoint", "simpson"] = "midpoint") -> Any:
    """Metric length of a polygonal path: L = Σ_i ℓ_i.

    ``"midpoint"``: ℓ_i = √(Δγ_iᵀ g(γ̄_i) Δγ_i); ``"simpson"``: Simpson's rule for the speed along
    each chord, ℓ_i = (v(γ_i) + 4 v(γ̄_i) + v(γ_{i+1}))/6 with v(x) = √(Δγ_iᵀ g(x) Δγ_i).
    Runs in the namespace of ``path``.

    Parameters
    ----------
    metric_fn : Potential or callable
        A metric source (g = the Hessian of a Potential, or ``metric_fn(points)``).
    path : array_like
        Path points, shape (n ≥ 2, d), finite.
    rule : {"midpoint", "simpson"}, default "midpoint"
        Quadrature rule along each segment.

    Returns
    -------
    array
        0-d array, the length.

    Raises
    ------
    TypeError
        ``metric_fn`` is neither a Potential nor callable, or ``path`` is not a real array.
    ValueError
        Wrong shape, NaN/inf, an unknown ``rule``, or a metric that is NaN/inf or not positive
        semi-definite along the path.

    Examples
    --------
    >>> import numpy as np
    >>> euclid = lambda p: np.broadcast_to(np.eye(2), p.shape[:-1] + (2, 2))
    >>> float(path_length(euclid, [[0.0, 0.0], [3.0, 4.0]]))
    5.0
    """
    check_choice("rule", rule, ("midpoint", "simpson"))
    fn = as_metric_fn(metric_fn)
    p, xp = _check_path(path, 2)
    dx = p[1:, :] - p[:-1, :]

    def speed(x):
        g = fn(x)
        check_finite("metric", g, xp)
        q = xp.sum(dx * xp.squeeze(g @ xp.expand_dims(dx, axis=-1), axis=-1), axis=-1)
        if bool(xp.any(q < 0)):
            raise ValueError("the metric is not positive semi-definite along the path (negative squared length)")
        return xp.sqrt(q)

    mid = 0.5 * (p[1:, :] + p[:-1, :])
    if rule == "midpoint":
        return xp.sum(speed(mid))
    return xp.sum((speed(p[:-1, :]) + 4.0 * speed(mid) + speed(p[1:, :])) / 6.0)


def geodesic_distance(metric_fn: Any, start: Any, end: Any, **kwargs: Any) -> float:
    """Geodesic distance between two points: the length of :func:`geodesic_bvp`'s path.

    Parameters
    ----------
    metric_fn : Potential or callable
        A metric source.
    start : array_like
        First point, shape (d,).
    end : array_like
        Second point, shape (d,), different from ``start``.
    **kwargs
        Keyword arguments of :func:`geodesic_bvp` (``n_points``, ``tol``, ``bounds``, ...).

    Returns
    -------
    float
        The metric length of the minimising path.

    Raises
    ------
    TypeError, ValueError
        As :func:`geodesic_bvp`; also ``TypeError`` for unknown keywords.

    Examples
    --------
    >>> from statgeo.geometry import Gaussian1D
    >>> d = geodesic_distance(Gaussian1D.fisher_rao_metric, [0.0, 1.0], [0.0, 2.0], n_points=16)
    >>> round(d, 3)                                        # √2 log 2 = 0.9803 (midpoint rule)
    0.98
    """
    return geodesic_bvp(metric_fn, start, end, **kwargs).length


def compare_with_straight(metric_fn: Any, path: Any) -> StraightComparison:
    """Compare a path with the straight coordinate line between its endpoints.

    The straight line is sampled with the same n points; both lengths use the midpoint rule of
    :func:`path_length`. Curvature: κ_i = θ_i / (½(|Δγ_{i−1}| + |Δγ_i|)), θ_i the turning angle at
    interior point i (Euclidean, in coordinates).

    Parameters
    ----------
    metric_fn : Potential or callable
        A metric source.
    path : array_like
        Path points, shape (n ≥ 3, d), finite, with distinct endpoints.

    Returns
    -------
    StraightComparison

    Raises
    ------
    TypeError
        ``metric_fn`` is neither a Potential nor callable, or ``path`` is not a real array.
    ValueError
        Wrong shape, NaN/inf, coinciding endpoints, or a metric whose straight-line length is
        zero (degenerate).

    Examples
    --------
    >>> import numpy as np
    >>> euclid = lambda p: np.broadcast_to(np.eye(2), p.shape[:-1] + (2, 2))
    >>> c = compare_with_straight(euclid, [[0.0, 0.0], [0.5, 0.5], [1.0, 0.0]])
    >>> round(c.length_ratio, 4), round(c.max_deviation, 4)
    (1.4142, 0.5)
    """
    fn = as_metric_fn(metric_fn)
    p, xp = _check_path(path, 3)
    pn = np.asarray(to_numpy(p), dtype=np.float64)
    n = pn.shape[0]
    a, b = pn[0], pn[-1]
    chord = b - a
    cl = float(np.linalg.norm(chord))
    if cl == 0:
        raise ValueError("path endpoints coincide; the straight line is undefined")
    straight = a + np.linspace(0.0, 1.0, n)[:, None] * chord
    L = float(to_numpy(path_length(fn, p)))
    Ls = float(to_numpy(path_length(fn, from_numpy(straight, xp, dtype=p.dtype, device=device_of(p)))))
    if not Ls > 0:
        raise ValueError("metric_fn gives the straight line zero length: the metric is degenerate along it")
    u = chord / cl
    rel = pn - a
    perp = rel - (rel @ u)[:, None] * u
    dev = float(np.linalg.norm(perp, axis=1).max())
    seg = np.diff(pn, axis=0)
    sl = np.linalg.norm(seg, axis=1)
    c = np.einsum("si,si->s", seg[:-1], seg[1:]) / np.maximum(sl[:-1] * sl[1:], 1e-300)
    theta = np.arccos(np.clip(c, -1.0, 1.0))
    kappa = theta / np.maximum(0.5 * (sl[:-1] + sl[1:]), 1e-300)
    return StraightComparison(length=L, straight_length=Ls, length_ratio=L / Ls, max_deviation=dev,
                              relative_deviation=dev / cl, max_curvature=float(kappa.max()),
                              mean_curvature=float(kappa.mean()),
                              extra={"total_turning": float(theta.sum())})
