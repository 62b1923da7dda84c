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

from statgeo.checks import check_choice, check_int
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

    path: (n_points, d) in the caller's namespace, equal metric length per segment;
    length: metric length Σ √(Δγᵀ g(γ̄) Δγ) (float); energy: discrete energy at the minimiser;
    converged: the residual criterion was met; n_iter: optimiser iterations; grad_max: final
    max |∂E/∂γ_i|; residual: (n − 1) grad_max / E; message: the optimiser's message.
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
    """Result of :func:`exponential_map`: times (n_steps+1,), path and velocity (n_steps+1, d)."""

    times: Any
    path: Any
    velocity: Any
    success: bool
    message: str = ""


@dataclass
class StraightComparison:
    """Geodesic vs. the straight coordinate line between the same endpoints.

    length_ratio = L(path)/L(straight) (≤ 1 for a true geodesic); max_deviation: largest
    Euclidean coordinate distance from a path point to the chord; relative_deviation: that
    divided by the chord length; max_curvature / mean_curvature: discrete Euclidean curvature
    of the path in coordinates (turning angle / mean adjacent segment length).
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
def discrete_energy(metric_fn: Any, path: Any) -> float:
    """Discrete energy E = (n − 1) Σ_i Δγ_iᵀ g(γ̄_i) Δγ_i of a path (n, d) (midpoint rule)."""
    xp = namespace(path)
    p = as_float_array("path", path, xp)
    if p.ndim != 2 or p.shape[0] < 2:
        raise ValueError(f"path must have shape (n ≥ 2, d), got {tuple(p.shape)}")
    check_finite("path", p, xp)
    ev = _MetricEval(metric_fn, xp, p.dtype, device_of(p))
    return _energy_grad(np.asarray(to_numpy(p), dtype=np.float64), ev, with_grad=False)[0]


def geodesic_bvp(metric_fn: Any, start: Any, end: Any, n_points: int = 64, *,
                 method: Literal["L-BFGS-B", "BFGS", "CG"] = "L-BFGS-B", tol: float | None = None,
                 max_iter: int = 5000, bounds: Sequence[tuple[float | None, float | None]] | None = None,
                 init: Any = None, fd_step: float | None = None, reparametrise: bool = True) -> GeodesicResult:
    """Boundary-value geodesic between ``start`` and ``end`` by discrete-energy minimisation.

    Minimises E(γ) = (n − 1) Σ_i Δγ_iᵀ g(γ̄_i) Δγ_i over the n − 2 interior points (module
    docstring for the gradient and the convergence test), starting from the straight line (or
    ``init``), then resamples to equal metric length.

    Parameters
    ----------
    metric_fn
        A Potential (g = its Hessian, ∂g = its third derivatives) or a callable
        ``metric_fn(points (m, d)) -> (m, d, d)`` in the namespace of ``start``.
    start, end
        Endpoints, shape (d,).
    n_points
        Number of path points including the endpoints (≥ 3; the paper used 90).
    method
        SciPy optimiser: ``"L-BFGS-B"`` (default; supports ``bounds``), ``"BFGS"`` or ``"CG"``.
    tol
        Relative residual tolerance: converged when (n − 1) max |∂E/∂γ_i| / E ≤ tol. Default
        1e-4 when ``start`` is float64, 0.1 otherwise (float32 metric evaluations limit the
        residual to ~1e-2; the length is still accurate to ~1e-5 on the Gaussian test case).
    max_iter
        Optimiser iteration limit (≥ 1).
    bounds
        Per-coordinate (low, high) box for every interior point (L-BFGS-B only), e.g. to keep
        σ > 0.
    init
        Initial path (n_points, d) with the given endpoints; default the straight line.
    fd_step
        Relative FD step for metric derivatives of a metric callable.
    reparametrise
        Resample the result at equal metric length (default True).

    Returns
    -------
    GeodesicResult
    """
    xp = namespace(start, end)
    a = _prep_point("start", start, xp)
    b = _prep_point("end", end, xp, dtype=a.dtype)
    d = a.shape[0]
    if b.shape[0] != d:
        raise ValueError(f"end must have shape ({d},) like start, got {tuple(b.shape)}")
    n = check_int("n_points", n_points, min=3)
    check_choice("method", method, ("L-BFGS-B", "BFGS", "CG"))
    max_iter = check_int("max_iter", max_iter, min=1)
    if tol is None:
        tol = 1e-4 if a.dtype == xp.float64 else 0.1
    tol = float(tol)
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive real number, got {tol!r}")
    if bounds is not None and method != "L-BFGS-B":
        raise ValueError(f"bounds are supported with method='L-BFGS-B' only, got method={method!r}")
    if not (isinstance(metric_fn, Potential) or callable(metric_fn)):
        raise TypeError(f"metric_fn must be a Potential or a callable, got {type(metric_fn).__name__}")
    an = np.asarray(to_numpy(a), dtype=np.float64)
    bn = np.asarray(to_numpy(b), dtype=np.float64)
    if np.allclose(an, bn, rtol=0, atol=0):
        raise ValueError("start and end must differ")
    if init is None:
        x0 = an + np.linspace(0.0, 1.0, n)[:, None] * (bn - an)
    else:
        x0 = np.asarray(to_numpy(init), dtype=np.float64)
        if x0.shape != (n, d):
            raise ValueError(f"init must have shape ({n}, {d}), got {x0.shape}")
        if not np.all(np.isfinite(x0)):
            raise ValueError("init must be finite")
        x0 = x0.copy()
        x0[0], x0[-1] = an, bn
    lb = None
    if bounds is not None:
        if len(bounds) != d:
            raise ValueError(f"bounds must hold {d} (low, high) pairs, got {len(bounds)}")
        lb = [tuple(bd) for bd in bounds] * (n - 2)
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

    Integrates γ̈^k = −Γ^k_ij γ̇^i γ̇^j (do Carmo 1992, ch. 3) with
    :func:`scipy.integrate.solve_ivp`; exp_start(t·velocity) is ``path[-1]``.

    Parameters
    ----------
    source
        A Potential, a metric callable (points → (…, d, d)) or a Christoffel callable
        (points → Γ (…, d, d, d), ``gamma[..., k, i, j]`` = Γ^k_ij). With ``kind="auto"`` the
        callable's output rank at ``start`` decides.
    start, velocity
        Shape (d,).
    t
        Final time (> 0).
    n_steps
        Output points are at n_steps + 1 equally spaced times.
    method, rtol, atol
        solve_ivp settings.
    """
    xp = namespace(start, velocity)
    a = _prep_point("start", start, xp)
    v = _prep_point("velocity", velocity, xp, dtype=a.dtype)
    d = a.shape[0]
    if v.shape[0] != d:
        raise ValueError(f"velocity must have shape ({d},), got {tuple(v.shape)}")
    t = float(t)
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"t must be a positive real number, got {t!r}")
    n_steps = check_int("n_steps", n_steps, min=1)
    check_choice("kind", kind, ("auto", "christoffel", "metric"))
    check_choice("method", method, ("DOP853", "RK45"))
    dev, dt = device_of(a), a.dtype
    if isinstance(source, Potential):
        kind_ = "metric"
    elif callable(source):
        if kind == "auto":
            r = source(xp.reshape(a, (1, d)))
            kind_ = "christoffel" if r.ndim == 4 else "metric"
        else:
            kind_ = kind
    else:
        raise TypeError(f"source must be a Potential or a callable, got {type(source).__name__}")

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
    """Metric length of a polygonal path (n, d): Σ_i ℓ_i.

    ``"midpoint"``: ℓ_i = √(Δγ_iᵀ g(γ̄_i) Δγ_i); ``"simpson"``: Simpson's rule for the speed along
    each chord, ℓ_i = (v(γ_i) + 4 v(γ̄_i) + v(γ_{i+1}))/6 with v(x) = √(Δγ_iᵀ g(x) Δγ_i).
    Runs in the namespace of ``path``; returns a 0-d array.
    """
    check_choice("rule", rule, ("midpoint", "simpson"))
    xp = namespace(path)
    p = as_float_array("path", path, xp)
    if p.ndim != 2 or p.shape[0] < 2:
        raise ValueError(f"path must have shape (n ≥ 2, d), got {tuple(p.shape)}")
    check_finite("path", p, xp)
    fn = as_metric_fn(metric_fn)
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
    """Geodesic distance: the length of :func:`geodesic_bvp` (keyword arguments passed on)."""
    return geodesic_bvp(metric_fn, start, end, **kwargs).length


def compare_with_straight(metric_fn: Any, path: Any) -> StraightComparison:
    """Compare a path (n, d) with the straight coordinate line between its endpoints.

    The straight line is sampled with the same n points; both lengths use the midpoint rule of
    :func:`path_length`. Curvature: κ_i = θ_i / (½(|Δγ_{i−1}| + |Δγ_i|)), θ_i the turning angle at
    interior point i (Euclidean, in coordinates).
    """
    xp = namespace(path)
    p = as_float_array("path", path, xp)
    if p.ndim != 2 or p.shape[0] < 3:
        raise ValueError(f"path must have shape (n ≥ 3, d), got {tuple(p.shape)}")
    check_finite("path", p, xp)
    pn = np.asarray(to_numpy(p), dtype=np.float64)
    n = pn.shape[0]
    a, b = pn[0], pn[-1]
    chord = b - a
    cl = float(np.linalg.norm(chord))
    if cl == 0:
        raise ValueError("path endpoints coincide; the straight line is undefined")
    straight = a + np.linspace(0.0, 1.0, n)[:, None] * chord
    L = float(to_numpy(path_length(metric_fn, p)))
    Ls = float(to_numpy(path_length(metric_fn, from_numpy(straight, xp, dtype=p.dtype, device=device_of(p)))))
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
