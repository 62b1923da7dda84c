"""Riemannian metric from a potential or from statistics: Hessian metric, pull-back,
Christoffel symbols, Gaussian curvature, volume element.

Conventions (do Carmo, *Riemannian Geometry*, 1992; Shima, *The Geometry of Hessian
Structures*, 2007):

* metric g_ij(t); for a Hessian metric g = ∇²Φ (the Fisher metric of an exponential family);
* Christoffel symbols of the Levi-Civita connection, returned as ``gamma[..., k, i, j]`` = Γ^k_ij
  = ½ g^{kl}(∂_i g_jl + ∂_j g_il − ∂_l g_ij); for a Hessian metric the lowered symbols are
  Γ_{l,ij} = ½ ∂_i∂_j∂_l Φ;
* Riemann tensor R^ρ_{σμν} = ∂_μ Γ^ρ_{νσ} − ∂_ν Γ^ρ_{μσ} + Γ^ρ_{μλ}Γ^λ_{νσ} − Γ^ρ_{νλ}Γ^λ_{μσ},
  Gaussian curvature of a 2-D metric K = R_{0101}/det g (the unit sphere has K = +1).

A *metric source* is either a :class:`~statgeo.geometry.potential.Potential` (g = its Hessian,
derivatives of g = its third derivatives) or a callable ``metric_fn(points) -> (..., d, d)``
(derivatives of g by central finite differences with Richardson extrapolation, step
ε^{1/5}·max(1, |t|)). Everything runs in the namespace and on the device of ``points``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from statgeo.checks import check_allocation, check_choice, check_int, check_real
from statgeo.geometry._array import (
    as_float_array,
    as_points,
    check_finite,
    device_of,
    eps_of,
    from_numpy,
    namespace,
    to_numpy,
)
from statgeo.geometry.potential import Potential, fd_jacobian, third_derivative

__all__ = [
    "hessian_metric",
    "covariance_metric",
    "pull_back",
    "check_metric",
    "metric_derivatives",
    "christoffel_symbols",
    "gaussian_curvature",
    "volume_element",
    "metric_on_grid",
    "as_metric_fn",
]

logger = logging.getLogger(__name__)

MetricSource = Potential | Callable[[Any], Any]

_CHECKS = ("raise", "warn", "none")


def as_metric_fn(source: Any) -> Callable[[Any], Any]:
    """Return the callable points → g(points) of a metric source.

    Parameters
    ----------
    source : Potential or callable
        A Potential (its ``hessian`` is the metric) or a callable ``metric_fn(points) ->
        (..., d, d)``.

    Returns
    -------
    callable
        ``source.hessian`` for a Potential, else ``source`` itself.

    Raises
    ------
    TypeError
        ``source`` is neither a Potential nor callable.

    Examples
    --------
    >>> from statgeo.geometry import Poisson
    >>> as_metric_fn(Poisson()).__name__
    'hessian'
    """
    if isinstance(source, Potential):
        return source.hessian
    if callable(source):
        return source
    raise TypeError(f"metric source must be a Potential or a callable metric_fn, got {type(source).__name__}")


def _source_dim(source: Any) -> int | None:
    """The dimension d a potential declares (``ndim`` or ``dim``), or None."""
    for attr in ("ndim", "dim"):
        d = getattr(source, attr, None)
        if isinstance(d, int) and not isinstance(d, bool):
            return d
    return None


def _points(name, points, xp=None, source=None):
    return as_points(name, points, xp, d=None if source is None else _source_dim(source))


def _check_fd_step(fd_step: Any) -> float | None:
    if fd_step is None:
        return None
    check_real("fd_step", fd_step, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    if np.ndim(fd_step) != 0:
        raise ValueError(f"fd_step must be a scalar in (0, 1), got shape {np.shape(fd_step)}")
    return fd_step


def check_metric(g: Any, *, name: str = "metric",
                 positive_definite: Literal["raise", "warn", "none"] = "raise") -> Any:
    """Validate a batch of metric matrices (..., d, d): finite, square and positive definite.

    Non-finite entries always raise ``ValueError``. Positive definiteness (smallest eigenvalue
    of the symmetrised matrix > d·ε·max|λ|) raises, warns (``RuntimeWarning``) or is skipped
    per ``positive_definite``.

    Parameters
    ----------
    g : array_like
        Metric matrices, shape (..., d, d) (lists are accepted).
    name : str, default "metric"
        The name used in messages.
    positive_definite : {"raise", "warn", "none"}, default "raise"
        What to do where g is not positive definite.

    Returns
    -------
    array
        The symmetrised metric ½(g + gᵀ), in the namespace of ``g``.

    Raises
    ------
    TypeError
        ``g`` is not a real array or ``name`` is not a string.
    ValueError
        Wrong shape, NaN/inf, an unknown ``positive_definite``, or (with ``"raise"``) a
        matrix that is not positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> check_metric([[2.0, 0.0], [0.0, 1.0]])
    array([[2., 0.],
           [0., 1.]])
    """
    check_choice("positive_definite", positive_definite, _CHECKS)
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    xp = namespace(g)
    g = as_float_array(name, g, xp)
    if g.ndim < 2 or g.shape[-1] != g.shape[-2] or g.shape[-1] == 0:
        raise ValueError(f"{name} must have shape (..., d, d), got {tuple(g.shape)}")
    if not bool(xp.all(xp.isfinite(g))):
        raise ValueError(f"{name} contains NaN or infinite entries (potential or metric evaluated outside its domain?)")
    g = 0.5 * (g + xp.matrix_transpose(g))
    if positive_definite != "none":
        lam = xp.linalg.eigvalsh(g)
        d = g.shape[-1]
        tol = d * eps_of(xp, g.dtype) * xp.max(xp.abs(lam), axis=-1)
        bad = lam[..., 0] <= tol
        n_bad = int(xp.sum(xp.astype(bad, xp.int64)))
        if n_bad:
            msg = (f"{name} is not positive definite at {n_bad} of {bad.size if bad.ndim else 1} point(s) "
                   f"(smallest eigenvalue {float(xp.min(lam[..., 0])):.3g}); the potential is not strictly "
                   "convex there or the metric is degenerate")
            if positive_definite == "raise":
                raise ValueError(msg)
            warnings.warn(msg, RuntimeWarning, stacklevel=3)
    return g


def hessian_metric(potential: Potential, points: Any, *,
                   check: Literal["raise", "warn", "none"] = "warn") -> Any:
    """Hessian metric g_ij(t) = ∂_i∂_j Φ(t) (the Fisher metric when Φ = log Z).

    Uses ``potential.hessian`` (analytic, finite differences, spline, or torch.func autodiff for
    learned potentials); the result is symmetrised (Amari 2016, §2.3; Shima 2007, ch. 2).

    Parameters
    ----------
    potential : Potential
        The potential Φ.
    points : array_like
        Points t, shape (..., d), finite.
    check : {"warn", "raise", "none"}, default "warn"
        What to do where g is not positive definite (Φ not strictly convex): warn with a
        ``RuntimeWarning``, raise ``ValueError``, or nothing. NaN/inf always raise.

    Returns
    -------
    array
        Shape (..., d, d), in the namespace and on the device of ``points``.

    Raises
    ------
    TypeError
        ``potential`` is not a Potential or ``points`` is not a real array.
    ValueError
        Non-finite points, an unknown ``check``, a NaN/inf metric, or (``check="raise"``) a
        metric that is not positive definite.

    Examples
    --------
    >>> from statgeo.geometry import Poisson
    >>> hessian_metric(Poisson(), [[0.0], [1.0]]).shape
    (2, 1, 1)
    """
    if not isinstance(potential, Potential):
        raise TypeError(f"potential must implement the Potential protocol, got {type(potential).__name__}")
    check_choice("check", check, _CHECKS)
    p, _ = _points("points", points, source=potential)
    return check_metric(potential.hessian(p), name="hessian_metric", positive_definite=check)


def covariance_metric(statistics: Any, axis: int = 0, *, ddof: int = 1) -> Any:
    """Fisher metric from samples of known sufficient statistics: g = Cov[f(x)].

    g_ij = Σ_s (f_i(x_s) − f̄_i)(f_j(x_s) − f̄_j) / (n − ddof); for an exponential family
    ∇²Φ = Cov_t[f] (Amari 2016, eq. 2.29).

    Parameters
    ----------
    statistics : array_like
        Array whose last axis indexes the statistic f_i (size d) and whose axis ``axis``
        indexes samples (size n ≥ ddof + 1); all other axes are batch axes.
    axis : int, default 0
        The sample axis (not the last axis).
    ddof : int, default 1
        Delta degrees of freedom (≥ 0; 1: unbiased).

    Returns
    -------
    array
        Shape (..., d, d): the batch axes, then the metric.

    Raises
    ------
    TypeError
        ``statistics`` is not a real array, ``axis`` or ``ddof`` are not integers.
    ValueError
        Fewer than 2 dimensions, ``axis`` out of range or the last axis, too few samples,
        ``ddof`` < 0, or NaN/inf.

    Examples
    --------
    >>> covariance_metric([[0.0], [2.0]])
    array([[2.]])
    """
    xp = namespace(statistics)
    s = as_float_array("statistics", statistics, xp)
    if s.ndim < 2:
        raise ValueError(f"statistics must have at least 2 dimensions (samples, d), got shape {tuple(s.shape)}")
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    axis = int(axis)
    ddof = check_int("ddof", ddof, min=0)
    ax = axis % s.ndim if -s.ndim <= axis < s.ndim else None
    if ax is None or ax == s.ndim - 1:
        raise ValueError(f"axis must index a non-last dimension in [{-s.ndim}, {s.ndim - 2}], got {axis}")
    n = s.shape[ax]
    if n < ddof + 1:
        raise ValueError(f"statistics needs at least ddof + 1 = {ddof + 1} samples along axis {axis}, got {n}")
    if s.shape[-1] == 0:
        raise ValueError(f"statistics must have a non-empty statistic axis, got shape {tuple(s.shape)}")
    check_finite("statistics", s, xp)
    s = xp.moveaxis(s, ax, -2)  # (..., n, d)
    c = s - xp.mean(s, axis=-2, keepdims=True)
    return (xp.matrix_transpose(c) @ c) / float(n - ddof)


def pull_back(metric: Any, jacobian: Any) -> Any:
    """Pull a metric back through a coordinate map: g_p = Jᵀ g_t J, J_ia = ∂t_i/∂p_a.

    Parameters
    ----------
    metric : array_like
        g in the target coordinates t, shape (..., d, d), finite.
    jacobian : array_like
        J, shape (..., d, m), finite (leading dimensions broadcast).

    Returns
    -------
    array
        Shape (..., m, m).

    Raises
    ------
    TypeError
        An argument is not a real array.
    ValueError
        Mismatched shapes or NaN/inf.

    Examples
    --------
    >>> import numpy as np
    >>> pull_back(np.eye(2), [[2.0, 0.0], [0.0, 1.0]])
    array([[4., 0.],
           [0., 1.]])
    """
    xp = namespace(metric, jacobian)
    g = as_float_array("metric", metric, xp)
    J = as_float_array("jacobian", jacobian, xp, dtype=g.dtype)
    if g.ndim < 2 or g.shape[-1] != g.shape[-2]:
        raise ValueError(f"metric must have shape (..., d, d), got {tuple(g.shape)}")
    if J.ndim < 2 or J.shape[-2] != g.shape[-1]:
        raise ValueError(f"jacobian must have shape (..., {g.shape[-1]}, m), got {tuple(J.shape)}")
    check_finite("metric", g, xp)
    check_finite("jacobian", J, xp)
    try:
        return xp.matrix_transpose(J) @ g @ J
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"metric {tuple(g.shape)} and jacobian {tuple(J.shape)} batch shapes must broadcast") from exc


def metric_derivatives(source: MetricSource, points: Any, *, fd_step: float | None = None) -> Any:
    """∂_l g_ij at ``points``, returned as ``dg[..., l, i, j]``.

    For a Potential: ∂_l g_ij = ∂_i∂_j∂_l Φ (``third_derivative`` if provided, else finite
    differences of the Hessian). For a metric callable: central differences with Richardson
    extrapolation, step h_l = s·max(1, |t_l|), s = ``fd_step`` or ε^{1/5}.

    Parameters
    ----------
    source : Potential or callable
        A metric source (module docstring).
    points : array_like
        Shape (..., d), finite.
    fd_step : float, optional
        Relative finite-difference step in (0, 1).

    Returns
    -------
    array
        Shape (..., d, d, d).

    Raises
    ------
    TypeError
        ``source`` is neither a Potential nor callable, or ``points`` is not a real array.
    ValueError
        Non-finite points, ``fd_step`` outside (0, 1), or NaN/inf derivatives (points too
        close to the edge of the metric's domain).

    Examples
    --------
    >>> from statgeo.geometry import Poisson
    >>> metric_derivatives(Poisson(), [[0.0]]).shape
    (1, 1, 1, 1)
    """
    fn = as_metric_fn(source)
    fd_step = _check_fd_step(fd_step)
    p, xp = _points("points", points, source=source)
    if isinstance(source, Potential):
        dg = third_derivative(source, p, rel_step=fd_step)
    else:
        dg = fd_jacobian(fn, p, rel_step=fd_step, out_rank=2)
    check_finite("metric derivatives", dg, xp)
    return dg


def _lower_christoffel(dg, xp):
    """Γ_{l,ij} = ½(∂_i g_jl + ∂_j g_il − ∂_l g_ij) from dg[..., a, b, c] = ∂_a g_bc."""
    n = dg.ndim
    lead = tuple(range(n - 3))
    t1 = xp.permute_dims(dg, lead + (n - 1, n - 3, n - 2))  # [l,i,j] = dg[i,j,l]
    t2 = xp.permute_dims(dg, lead + (n - 1, n - 2, n - 3))  # [l,i,j] = dg[j,i,l]
    return 0.5 * (t1 + t2 - dg)


def _raise_index(ginv, low, xp):
    d = ginv.shape[-1]
    lead = tuple(low.shape[:-3])
    flat = xp.reshape(low, lead + (d, d * d))
    return xp.reshape(ginv @ flat, lead + (d, d, d))


def christoffel_symbols(source: MetricSource, points: Any, *, fd_step: float | None = None) -> Any:
    """Christoffel symbols of the second kind Γ^k_ij at ``points``.

    Γ^k_ij = ½ g^{kl}(∂_i g_jl + ∂_j g_il − ∂_l g_ij) (do Carmo 1992, §2.3); for a Hessian
    metric g = ∇²Φ the lowered symbols are Γ_{l,ij} = ½ ∂_i∂_j∂_l Φ (Shima 2007, Prop. 2.2).

    Parameters
    ----------
    source : Potential or callable
        A Potential (analytic or FD third derivatives) or a callable ``metric_fn(points)``.
    points : array_like
        Shape (..., d), finite.
    fd_step : float, optional
        Relative FD step in (0, 1) for metric derivatives (default ε^{1/5}).

    Returns
    -------
    array
        Shape (..., d, d, d); ``gamma[..., k, i, j]`` = Γ^k_ij.

    Raises
    ------
    TypeError
        ``source`` is neither a Potential nor callable, or ``points`` is not a real array.
    ValueError
        Non-finite points, ``fd_step`` outside (0, 1), NaN in the metric, or a metric that is
        not positive definite (g⁻¹ is needed).

    Examples
    --------
    >>> from statgeo.geometry import Poisson
    >>> float(christoffel_symbols(Poisson(), [[0.0]])[0, 0, 0, 0])   # ½ Φ''' / Φ''
    0.5
    """
    fn = as_metric_fn(source)
    fd_step = _check_fd_step(fd_step)
    p, xp = _points("points", points, source=source)
    g = check_metric(fn(p), name="metric", positive_definite="raise")
    dg = metric_derivatives(source, p, fd_step=fd_step)
    return _raise_index(xp.linalg.inv(g), _lower_christoffel(dg, xp), xp)


def gaussian_curvature(source: MetricSource, points: Any, *, fd_step: float | None = None) -> Any:
    """Gaussian curvature K of a 2-D metric at ``points``.

    K = R_{0101} / det g with R_{0101} = g_{0ρ} R^ρ_{101},
    R^ρ_{101} = ∂_0 Γ^ρ_{11} − ∂_1 Γ^ρ_{01} + Γ^ρ_{0λ}Γ^λ_{11} − Γ^ρ_{1λ}Γ^λ_{01}
    (do Carmo 1992, ch. 4; the unit sphere has K = +1).

    * Potential (Hessian metric): the derivative terms reduce to
      R_{ijkl} = ¼ g^{mn}(Φ_{jkm}Φ_{iln} − Φ_{ikm}Φ_{jln}) (Shima 2007, Prop. 2.3; no fourth
      derivatives needed), which is what is used.
    * metric callable: Γ by FD of g, ∂Γ by FD of Γ (outer step ε^{1/7}·max(1, |t|) unless
      ``fd_step``), so float64 accuracy is ~1e-6 relative.

    Parameters
    ----------
    source : Potential or callable
        A metric source on 2-D points.
    points : array_like
        Shape (..., 2), finite.
    fd_step : float, optional
        Relative FD step in (0, 1).

    Returns
    -------
    array
        Shape (...).

    Raises
    ------
    TypeError
        ``source`` is neither a Potential nor callable, or ``points`` is not a real array.
    ValueError
        d ≠ 2, non-finite points, ``fd_step`` outside (0, 1), NaN in the metric, or a metric
        that is not positive definite.

    Examples
    --------
    >>> from statgeo.geometry import Gaussian1D
    >>> fam = Gaussian1D()
    >>> round(float(gaussian_curvature(fam, fam.to_natural([0.0, 1.0]))), 6)
    -0.5
    """
    fn = as_metric_fn(source)
    fd_step = _check_fd_step(fd_step)
    p, xp = _points("points", points, source=source)
    if p.shape[-1] != 2:
        raise ValueError(f"gaussian_curvature needs 2-D points (..., 2), got last dimension {p.shape[-1]}")
    g = check_metric(fn(p), name="metric", positive_definite="raise")
    det = g[..., 0, 0] * g[..., 1, 1] - g[..., 0, 1] * g[..., 1, 0]
    if isinstance(source, Potential):
        T = third_derivative(source, p, rel_step=fd_step)
        check_finite("third derivatives", T, xp)
        ginv = xp.linalg.inv(g)
        # R_{0101} = ¼ g^{mn}(Φ_{10m}Φ_{01n} − Φ_{00m}Φ_{11n})
        a = T[..., 1, 0, :]
        b = T[..., 0, 0, :]
        c = T[..., 1, 1, :]
        quad = lambda u, v: xp.sum(u * xp.squeeze(ginv @ xp.expand_dims(v, axis=-1), axis=-1), axis=-1)  # noqa: E731
        R0101 = 0.25 * (quad(a, a) - quad(b, c))
        return R0101 / det

    def gamma_fn(q):
        return christoffel_symbols(source, q, fd_step=fd_step)

    s_out = fd_step if fd_step is not None else eps_of(xp, p.dtype) ** (1.0 / 7.0)
    G = gamma_fn(p)  # [..., k, i, j]
    dG = fd_jacobian(gamma_fn, p, rel_step=s_out, out_rank=3)  # [..., m, k, i, j] = ∂_m Γ^k_ij
    # R^ρ_{101} for ρ = 0, 1
    term = dG[..., 0, :, 1, 1] - dG[..., 1, :, 0, 1]  # (..., ρ)
    # Γ^ρ_{0λ}Γ^λ_{11} − Γ^ρ_{1λ}Γ^λ_{01}
    term = term + xp.sum(G[..., :, 0, :] * xp.expand_dims(G[..., :, 1, 1], axis=-2), axis=-1)
    term = term - xp.sum(G[..., :, 1, :] * xp.expand_dims(G[..., :, 0, 1], axis=-2), axis=-1)
    R0101 = xp.sum(g[..., 0, :] * term, axis=-1)
    return R0101 / det


def volume_element(metric: Any) -> Any:
    """Riemannian volume element √det g.

    Parameters
    ----------
    metric : array_like
        Shape (..., d, d), finite, positive definite.

    Returns
    -------
    array
        Shape (...).

    Raises
    ------
    TypeError
        ``metric`` is not a real array.
    ValueError
        Wrong shape, NaN/inf, or det g ≤ 0 somewhere (degenerate or indefinite metric).

    Examples
    --------
    >>> float(volume_element([[4.0, 0.0], [0.0, 1.0]]))
    2.0
    """
    xp = namespace(metric)
    g = as_float_array("metric", metric, xp)
    if g.ndim < 2 or g.shape[-1] != g.shape[-2] or g.shape[-1] == 0:
        raise ValueError(f"metric must have shape (..., d, d), got {tuple(g.shape)}")
    check_finite("metric", g, xp)
    det = xp.linalg.det(g)
    n_bad = int(xp.sum(xp.astype(det <= 0, xp.int64)))
    if n_bad:
        raise ValueError(f"metric has det g ≤ 0 at {n_bad} point(s): degenerate or not positive definite")
    return xp.sqrt(det)


def metric_on_grid(source: MetricSource, grid_axes_values: Sequence[Any] | Any, *,
                   check: Literal["raise", "warn", "none"] = "warn", like: Any = None) -> Any:
    """The metric at every node of a regular grid.

    Parameters
    ----------
    source : Potential or callable
        A Potential (g = its Hessian) or a metric callable.
    grid_axes_values : sequence of array_like or ParameterGrid
        One finite 1-D coordinate array per axis (matrix indexing), or a
        :class:`statgeo.grid.ParameterGrid` (evaluated at its grid coordinates ``points()``;
        pull back with :func:`pull_back` for other coordinates).
    check : {"warn", "raise", "none"}, default "warn"
        Positive-definiteness check, as in :func:`hessian_metric`.
    like : array, optional
        An array whose namespace/device/dtype the grid is built in (default: the first axis's
        namespace, NumPy float64 for plain sequences).

    Returns
    -------
    array
        Shape (n_0, …, n_{d−1}, d, d).

    Raises
    ------
    TypeError
        ``source`` is neither a Potential nor callable, or the axes are not real arrays.
    ValueError
        Empty or non-finite axes, an unknown ``check``, a grid whose (points, d, d) metric
        would not fit in memory, or a NaN/inf metric.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.geometry import Poisson
    >>> metric_on_grid(Poisson(), [np.linspace(0.0, 1.0, 4)]).shape
    (4, 1, 1)
    """
    fn = as_metric_fn(source)
    check_choice("check", check, _CHECKS)
    if hasattr(grid_axes_values, "points") and hasattr(grid_axes_values, "shape") and callable(grid_axes_values.points):
        shape = tuple(grid_axes_values.shape)
        d = len(shape)
        check_allocation("the metric on the grid (points, d, d)", (int(np.prod(shape)), d, d),
                         names="grid_axes_values")
        pts_np = np.asarray(grid_axes_values.points(), dtype=np.float64)
        ref = like
    else:
        if isinstance(grid_axes_values, (str, bytes)) or not isinstance(grid_axes_values, (Sequence, np.ndarray)):
            if hasattr(grid_axes_values, "shape") and len(getattr(grid_axes_values, "shape")) == 1:
                grid_axes_values = [grid_axes_values]
            else:
                raise TypeError("grid_axes_values must be a sequence of 1-D coordinate arrays or a ParameterGrid, "
                                f"got {type(grid_axes_values).__name__}")
        axes = list(grid_axes_values)
        if not axes:
            raise ValueError("grid_axes_values must hold at least one axis")
        arrs = []
        for i, a in enumerate(axes):
            if isinstance(a, (str, bytes)) or a is None:
                raise TypeError(f"grid_axes_values[{i}] must be a 1-D array of reals, got {a!r}")
            try:
                an = np.asarray(to_numpy(a), dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"grid_axes_values[{i}] must be a 1-D array of reals") from exc
            if an.ndim != 1 or an.size < 1:
                raise ValueError(f"grid_axes_values[{i}] must be a non-empty 1-D array, got shape {an.shape}")
            if not np.all(np.isfinite(an)):
                raise ValueError(f"grid_axes_values[{i}] must be finite")
            arrs.append(an)
        shape = tuple(a.size for a in arrs)
        d = len(shape)
        check_allocation("the metric on the grid (points, d, d)", (int(np.prod(shape)), d, d),
                         names="grid_axes_values")
        mesh = np.meshgrid(*arrs, indexing="ij")
        pts_np = np.stack([m.ravel() for m in mesh], axis=-1)
        ref = like if like is not None else (axes[0] if hasattr(axes[0], "shape") else None)
    if ref is not None:
        xp = namespace(ref)
        r = as_float_array("like", ref, xp)
        pts = from_numpy(pts_np, xp, dtype=r.dtype, device=device_of(r))
    else:
        xp = namespace()
        pts = xp.asarray(pts_np)
    g = fn(pts)
    g = check_metric(g, name="metric", positive_definite=check)
    d = pts_np.shape[-1]
    return xp.reshape(g, shape + (d, d))
