"""Potentials Φ(t) (log-partition functions): values, gradients, Hessians, third derivatives.

A *potential* is anything with ``value(t)``, ``gradient(t)`` and ``hessian(t)`` acting on
arrays of points of shape ``(..., d)`` and returning ``(...)``, ``(..., d)`` and
``(..., d, d)`` (the :class:`Potential` protocol). Optionally it has
``third_derivative(t) -> (..., d, d, d)``, used for the Christoffel symbols of a Hessian
metric (Γ_{l,ij} = ½ ∂_i∂_j∂_l Φ) and for analytic gradients of the geodesic energy.

* :class:`AnalyticPotential` wraps a callable Φ and fills in missing derivatives by central
  finite differences with one Richardson extrapolation (truncation error O(h⁴)); the step rule
  is documented in the class and in ``docs/geometry_metric.md``.
* :class:`GridPotential` interpolates values of Φ given on a regular (rectilinear) grid by a
  tensor-product cubic interpolating B-spline (not-a-knot ends, SciPy) and differentiates the
  spline exactly.

References: Amari, *Information Geometry and Its Applications* (2016), ch. 1–2 (dually flat
structure of a convex potential); de Boor, *A Practical Guide to Splines* (2001) for the
tensor-product spline; Richardson extrapolation: e.g. Press et al., *Numerical Recipes*, §5.7.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from statgeo.geometry._array import (
    as_float_array,
    check_finite,
    check_last_dim,
    device_of,
    eps_of,
    from_numpy,
    namespace,
    to_numpy,
)

__all__ = [
    "Potential",
    "AnalyticPotential",
    "GridPotential",
    "fd_gradient",
    "fd_jacobian",
    "fd_hessian_from_values",
    "third_derivative",
]

logger = logging.getLogger(__name__)


@runtime_checkable
class Potential(Protocol):
    """A convex potential Φ (e.g. log Z) evaluated on batches of points ``t`` of shape (..., d).

    ``value(t) -> (...)``, ``gradient(t) -> (..., d)`` (= E_t[f] for an exponential family),
    ``hessian(t) -> (..., d, d)`` (= Cov_t[f], the Fisher metric).
    """

    def value(self, t: Any) -> Any: ...

    def gradient(self, t: Any) -> Any: ...

    def hessian(self, t: Any) -> Any: ...


# --------------------------------------------------------------------------- finite differences
def _steps(t, xp, base: float):
    """Per-component steps h_i = base · max(1, |t_i|), shape (..., d)."""
    one = xp.ones_like(t)
    return base * xp.maximum(one, xp.abs(t))


def _expand_trailing(h, k: int, xp):
    for _ in range(k):
        h = xp.expand_dims(h, axis=-1)
    return h


def fd_jacobian(func: Callable[[Any], Any], t: Any, *, rel_step: float | None = None, out_rank: int | None = None):
    """∂_j F(t) for an array function F by central differences with Richardson extrapolation.

    D(h) = [F(t + h e_j) − F(t − h e_j)] / (2h),  ∂_j F ≈ [4 D(h/2) − D(h)] / 3  (error O(h⁴)).

    Step rule: h_j = s · max(1, |t_j|) with s = ``rel_step`` or ε^{1/5} (ε the machine epsilon
    of ``t``'s dtype; ε^{1/5} balances the O(h⁴) truncation against the O(ε/h) rounding error).

    Parameters
    ----------
    func
        Maps (..., d) points to (..., *out) values in the namespace of ``t``.
    t
        Points, shape (..., d).
    rel_step
        Relative step s (default ε^{1/5}).
    out_rank
        Rank of ``func``'s per-point output (inferred when ``None``).

    Returns
    -------
    array of shape (..., d, *out): element ``[..., j, ...]`` is ∂F/∂t_j.
    """
    xp = namespace(t)
    d = t.shape[-1]
    s = rel_step if rel_step is not None else eps_of(xp, t.dtype) ** 0.2
    h = _steps(t, xp, s)
    eye = xp.eye(d, dtype=t.dtype, device=device_of(t))
    tt = xp.expand_dims(t, axis=-2)  # (..., 1, d)

    def central(hh):
        dt = xp.expand_dims(hh, axis=-1) * eye  # (..., d, d): row j = h_j e_j
        fp = func(tt + dt)
        fm = func(tt - dt)
        k = fp.ndim - t.ndim if out_rank is None else out_rank
        return (fp - fm) / (2.0 * _expand_trailing(hh, k, xp))

    return (4.0 * central(0.5 * h) - central(h)) / 3.0


def fd_gradient(value: Callable[[Any], Any], t: Any, *, rel_step: float | None = None):
    """∇Φ(t) by :func:`fd_jacobian` of a scalar function (output shape (..., d))."""
    return fd_jacobian(value, t, rel_step=rel_step, out_rank=0)


def fd_hessian_from_values(value: Callable[[Any], Any], t: Any, *, rel_step: float | None = None):
    """∇²Φ(t) from values only, by second central differences with Richardson extrapolation.

    H_jk(h) = [Φ(t + h_j e_j + h_k e_k) + Φ(t − h_j e_j − h_k e_k)
               − Φ(t + h_j e_j − h_k e_k) − Φ(t − h_j e_j + h_k e_k)] / (4 h_j h_k)
    (for j = k this is the ordinary second difference with step 2h_j), then
    H ≈ [4 H(h/2) − H(h)] / 3 (error O(h⁴)).

    Step rule: h_j = s · max(1, |t_j|), s = ``rel_step`` or ε^{1/6} (balances O(h⁴) against
    O(ε/h²)).
    """
    xp = namespace(t)
    d = t.shape[-1]
    s = rel_step if rel_step is not None else eps_of(xp, t.dtype) ** (1.0 / 6.0)
    h = _steps(t, xp, s)
    eye = xp.eye(d, dtype=t.dtype, device=device_of(t))
    tt = xp.expand_dims(xp.expand_dims(t, axis=-2), axis=-2)  # (..., 1, 1, d)

    def second(hh):
        he = xp.expand_dims(hh, axis=-1) * eye  # (..., d, d): row j = h_j e_j
        a = xp.expand_dims(he, axis=-2)  # (..., d, 1, d)
        b = xp.expand_dims(he, axis=-3)  # (..., 1, d, d)
        p, q = a + b, a - b
        num = value(tt + p) + value(tt - p) - value(tt + q) - value(tt - q)
        return num / (4.0 * xp.expand_dims(hh, axis=-1) * xp.expand_dims(hh, axis=-2))

    H = (4.0 * second(0.5 * h) - second(h)) / 3.0
    return 0.5 * (H + xp.matrix_transpose(H))


def _symmetrise3(T, xp):
    """Average a (..., d, d, d) array over the 6 permutations of its last three axes."""
    perms = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    n = T.ndim
    acc = None
    for p in perms:
        axes = tuple(range(n - 3)) + tuple(n - 3 + i for i in p)
        Tp = xp.permute_dims(T, axes)
        acc = Tp if acc is None else acc + Tp
    return acc / 6.0


def third_derivative(potential: Any, t: Any, *, rel_step: float | None = None):
    """∂_i∂_j∂_l Φ(t), shape (..., d, d, d), fully symmetrised.

    Uses ``potential.third_derivative`` when present, else :func:`fd_jacobian` of
    ``potential.hessian`` (step rule ε^{1/5}·max(1, |t|)).
    """
    f = getattr(potential, "third_derivative", None)
    if f is not None:
        return f(t)
    xp = namespace(t)
    T = fd_jacobian(potential.hessian, t, rel_step=rel_step, out_rank=2)
    return _symmetrise3(T, xp)


# --------------------------------------------------------------------------- analytic potential
class AnalyticPotential:
    """A potential given by a callable Φ, with optional analytic derivatives.

    Missing derivatives are computed by central finite differences with one Richardson
    extrapolation (error O(h⁴)):

    * gradient from values: h_j = s₁ · max(1, |t_j|), s₁ = ε^{1/5};
    * Hessian from the gradient (when given): the same rule, then symmetrised;
    * Hessian from values only: second differences, s₂ = ε^{1/6};
    * third derivative from the Hessian: s₁ if the Hessian is analytic, ε^{1/7} otherwise
      (the inner finite difference is already noisy at the ε^{2/3} level).

    ε is the machine epsilon of the evaluation dtype (float64: s₁ ≈ 7e-4; float32: s₁ ≈ 0.04),
    so float32 derivatives are accurate to ~1e-4 relative at best. ``fd_step`` overrides the
    relative step s for every finite difference.

    Parameters
    ----------
    value
        Φ: (..., d) → (...), written with array-API operations (or in the caller's namespace).
    gradient, hessian, third_derivative
        Optional analytic ∇Φ: (..., d) → (..., d), ∇²Φ → (..., d, d), ∂³Φ → (..., d, d, d).
    fd_step
        Relative finite-difference step s (> 0), or ``None`` for the rules above.
    ndim
        Optional dimension d, checked on every call when given.
    """

    def __init__(
        self,
        value: Callable[[Any], Any],
        gradient: Callable[[Any], Any] | None = None,
        hessian: Callable[[Any], Any] | None = None,
        fd_step: float | None = None,
        *,
        third_derivative: Callable[[Any], Any] | None = None,
        ndim: int | None = None,
    ) -> None:
        for name, f in (("value", value), ("gradient", gradient), ("hessian", hessian),
                        ("third_derivative", third_derivative)):
            if f is not None and not callable(f):
                raise TypeError(f"{name} must be callable or None, got {type(f).__name__}")
        if value is None:
            raise TypeError("value must be callable, got None")
        if fd_step is not None:
            fd_step = float(fd_step)
            if not (np.isfinite(fd_step) and 0.0 < fd_step < 1.0):
                raise ValueError(f"fd_step must be a real number in (0, 1), got {fd_step!r}")
        self._value = value
        self._gradient = gradient
        self._hessian = hessian
        self._third = third_derivative
        self.fd_step = fd_step
        self.ndim = ndim

    def _prep(self, t):
        xp = namespace(t)
        t = as_float_array("t", t, xp)
        check_last_dim("t", t, self.ndim)
        return t, xp

    def value(self, t: Any) -> Any:
        """Φ(t), shape (...)."""
        t, _ = self._prep(t)
        return self._value(t)

    def gradient(self, t: Any) -> Any:
        """∇Φ(t), shape (..., d); analytic or by :func:`fd_gradient`."""
        t, _ = self._prep(t)
        if self._gradient is not None:
            return self._gradient(t)
        return fd_gradient(self._value, t, rel_step=self.fd_step)

    def hessian(self, t: Any) -> Any:
        """∇²Φ(t), shape (..., d, d); analytic, FD of the gradient, or FD of values."""
        t, xp = self._prep(t)
        if self._hessian is not None:
            return self._hessian(t)
        if self._gradient is not None:
            H = fd_jacobian(self._gradient, t, rel_step=self.fd_step, out_rank=1)
            return 0.5 * (H + xp.matrix_transpose(H))
        return fd_hessian_from_values(self._value, t, rel_step=self.fd_step)

    def third_derivative(self, t: Any) -> Any:
        """∂_i∂_j∂_l Φ(t), shape (..., d, d, d); analytic or FD of :meth:`hessian`."""
        t, xp = self._prep(t)
        if self._third is not None:
            return self._third(t)
        if self.fd_step is not None:
            s = self.fd_step
        elif self._hessian is not None:
            s = eps_of(xp, t.dtype) ** 0.2
        else:
            s = eps_of(xp, t.dtype) ** (1.0 / 7.0)
        T = fd_jacobian(self.hessian, t, rel_step=s, out_rank=2)
        return _symmetrise3(T, xp)


# --------------------------------------------------------------------------- grid potential
class GridPotential:
    """A potential interpolated from values on a regular (rectilinear) grid.

    Φ is the tensor-product interpolating B-spline of degree ``degree`` (default 3, cubic,
    not-a-knot end conditions along every axis — :func:`scipy.interpolate.make_interp_spline`
    per axis, combined into a :class:`scipy.interpolate.NdBSpline`). Its value, gradient,
    Hessian and third derivatives are the exact derivatives of the spline: for a smooth Φ and
    spacing h the errors are O(h⁴), O(h³), O(h²) and O(h); the cubic spline's Hessian is
    continuous and piecewise linear, its third derivative piecewise constant.

    Evaluation runs on the host (SciPy): points are copied to NumPy float64 and the results
    copied back to the caller's namespace, dtype and device (an explicit transfer for GPU
    arrays). Points outside the grid box raise ``ValueError`` unless ``extrapolate=True``.

    Parameters
    ----------
    grid_axes_values
        One strictly increasing 1-D coordinate array per dimension (d ≥ 1 axes, each with at
        least ``degree + 1`` points).
    values
        Φ on the grid, shape ``(len(axis_0), …, len(axis_{d-1}))`` (matrix indexing), finite.
    degree
        Spline degree k in 1..5 (default 3).
    extrapolate
        Evaluate outside the box by extending the boundary polynomials (default ``False``).
    """

    def __init__(self, grid_axes_values: Sequence[Any], values: Any, *, degree: int = 3,
                 extrapolate: bool = False) -> None:
        from scipy.interpolate import NdBSpline, make_interp_spline

        from statgeo.checks import check_int

        k = check_int("degree", degree, min=1, max=5)
        if isinstance(grid_axes_values, (str, bytes)) or not isinstance(grid_axes_values, Sequence):
            # a single array for a 1-D grid is also accepted
            if hasattr(grid_axes_values, "shape") and len(getattr(grid_axes_values, "shape")) == 1:
                grid_axes_values = [grid_axes_values]
            else:
                raise TypeError("grid_axes_values must be a sequence of 1-D coordinate arrays")
        axes = []
        for i, a in enumerate(grid_axes_values):
            a = np.asarray(to_numpy(a), dtype=np.float64)
            if a.ndim != 1:
                raise ValueError(f"grid_axes_values[{i}] must be 1-D, got shape {a.shape}")
            if a.size < k + 1:
                raise ValueError(
                    f"grid_axes_values[{i}] must have at least degree + 1 = {k + 1} points, got {a.size}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"grid_axes_values[{i}] must be finite")
            if not np.all(np.diff(a) > 0):
                raise ValueError(f"grid_axes_values[{i}] must be strictly increasing")
            axes.append(a)
        if not axes:
            raise ValueError("grid_axes_values must hold at least one axis")
        v = np.asarray(to_numpy(values), dtype=np.float64)
        shape = tuple(a.size for a in axes)
        if v.shape != shape:
            raise ValueError(f"values must have shape {shape} (one entry per grid point), got {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("values must be finite (no NaN or inf)")
        coeffs = v
        knots = []
        for ax, a in enumerate(axes):
            spl = make_interp_spline(a, np.eye(a.size), k=k)  # coefficient map: c = C @ y
            C = np.asarray(spl.c)
            coeffs = np.moveaxis(np.tensordot(C, coeffs, axes=(1, ax)), 0, ax)
            knots.append(np.asarray(spl.t))
        self._spline = NdBSpline(tuple(knots), coeffs, k, extrapolate=True)
        self.axes = tuple(axes)
        self.degree = k
        self.ndim = len(axes)
        self.extrapolate = bool(extrapolate)
        self._lo = np.array([a[0] for a in axes])
        self._hi = np.array([a[-1] for a in axes])

    def _eval(self, t, nus):
        xp = namespace(t)
        t = as_float_array("t", t, xp)
        check_last_dim("t", t, self.ndim)
        check_finite("t", t, xp)
        dev = device_of(t)
        tn = to_numpy(t).astype(np.float64, copy=False)
        flat = tn.reshape(-1, self.ndim)
        if not self.extrapolate:
            tol = 1e-9 * (self._hi - self._lo)
            out = np.any((flat < self._lo - tol) | (flat > self._hi + tol), axis=-1)
            if out.any():
                raise ValueError(
                    f"t must lie inside the grid box {list(zip(self._lo.tolist(), self._hi.tolist()))}; "
                    f"{int(out.sum())} point(s) outside (use extrapolate=True to allow)")
            flat = np.clip(flat, self._lo, self._hi)
        res = [self._spline(flat, nu=np.asarray(nu, dtype=np.int64)) for nu in nus]
        return res, tn.shape[:-1], xp, t.dtype, dev

    def value(self, t: Any) -> Any:
        """Φ(t), shape (...)."""
        (r,), lead, xp, dt, dev = self._eval(t, [np.zeros(self.ndim, dtype=int)])
        return from_numpy(r.reshape(lead), xp, dtype=dt, device=dev)

    def gradient(self, t: Any) -> Any:
        """∇Φ(t), shape (..., d): exact derivative of the spline."""
        d = self.ndim
        nus = [np.eye(d, dtype=int)[i] for i in range(d)]
        r, lead, xp, dt, dev = self._eval(t, nus)
        return from_numpy(np.stack(r, axis=-1).reshape(lead + (d,)), xp, dtype=dt, device=dev)

    def hessian(self, t: Any) -> Any:
        """∇²Φ(t), shape (..., d, d): exact second derivatives of the spline."""
        d = self.ndim
        pairs = [(i, j) for i in range(d) for j in range(i, d)]
        nus = []
        for i, j in pairs:
            nu = np.zeros(d, dtype=int)
            nu[i] += 1
            nu[j] += 1
            nus.append(nu)
        r, lead, xp, dt, dev = self._eval(t, nus)
        n = r[0].shape[0]
        H = np.empty((n, d, d))
        for (i, j), ri in zip(pairs, r):
            H[:, i, j] = ri
            H[:, j, i] = ri
        return from_numpy(H.reshape(lead + (d, d)), xp, dtype=dt, device=dev)

    def third_derivative(self, t: Any) -> Any:
        """∂_i∂_j∂_l Φ(t), shape (..., d, d, d): exact (piecewise constant for cubic splines)."""
        d = self.ndim
        import itertools

        triples = list(itertools.combinations_with_replacement(range(d), 3))
        nus = []
        for tr in triples:
            nu = np.zeros(d, dtype=int)
            for i in tr:
                nu[i] += 1
            nus.append(nu)
        r, lead, xp, dt, dev = self._eval(t, nus)
        n = r[0].shape[0]
        T = np.empty((n, d, d, d))
        for tr, ri in zip(triples, r):
            for p in set(itertools.permutations(tr)):
                T[(slice(None),) + p] = ri
        return from_numpy(T.reshape(lead + (d, d, d)), xp, dtype=dt, device=dev)

    def grid_points(self) -> np.ndarray:
        """All grid nodes in C order, shape (n_points, d) (NumPy)."""
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=-1)
