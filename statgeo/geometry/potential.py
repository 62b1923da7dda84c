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

from statgeo.checks import check_allocation, check_bool, check_callable, check_int, check_real
from statgeo.geometry._array import (    as_float_array,
    as_points,
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
    """The potential protocol: a convex Φ (e.g. log Z) evaluated on batches of points.

    Any object with methods ``value``, ``gradient`` and ``hessian`` acting on points ``t`` of
    shape (..., d) is a potential (checked structurally with ``isinstance(obj, Potential)``):
    ``value(t) -> (...)``, ``gradient(t) -> (..., d)`` (= E_t[f] for an exponential family
    with sufficient statistic f) and ``hessian(t) -> (..., d, d)`` (= Cov_t[f], the Fisher
    metric; Amari, *Information Geometry and Its Applications*, 2016, ch. 2). Implementations
    in statgeo: :class:`AnalyticPotential`, :class:`GridPotential`, the closed-form
    families of :mod:`statgeo.geometry.families` and the learned
    :class:`~statgeo.geometry.FittedPotential`.

    Parameters
    ----------
    *args, **kwargs
        Not used: a protocol is a structural type and is never instantiated.

    Examples
    --------
    >>> from statgeo.geometry import Poisson
    >>> isinstance(Poisson(), Potential)
    True
    """

    def value(self, t: Any) -> Any:
        """Φ(t).

        Parameters
        ----------
        t : array_like
            Points, shape (..., d).

        Returns
        -------
        array
            Shape (...).
        """
        ...

    def gradient(self, t: Any) -> Any:
        """∇Φ(t).

        Parameters
        ----------
        t : array_like
            Points, shape (..., d).

        Returns
        -------
        array
            Shape (..., d).
        """
        ...

    def hessian(self, t: Any) -> Any:
        """∇²Φ(t), the Hessian (Fisher) metric.

        Parameters
        ----------
        t : array_like
            Points, shape (..., d).

        Returns
        -------
        array
            Shape (..., d, d).
        """
        ...


# --------------------------------------------------------------------------- finite differences
def _steps(t, xp, base: float):
    """Per-component steps h_i = base · max(1, |t_i|), shape (..., d)."""
    one = xp.ones_like(t)
    return base * xp.maximum(one, xp.abs(t))


def _expand_trailing(h, k: int, xp):
    for _ in range(k):
        h = xp.expand_dims(h, axis=-1)
    return h


def fd_jacobian(func: Callable[[Any], Any], t: Any, *, rel_step: float | None = None,
                out_rank: int | None = None) -> Any:
    """∂_j F(t) of an array function F by central differences with Richardson extrapolation.

    D(h) = [F(t + h e_j) − F(t − h e_j)] / (2h),  ∂_j F ≈ [4 D(h/2) − D(h)] / 3  (error O(h⁴);
    Press et al., *Numerical Recipes*, 3rd ed., §5.7).

    Step rule: h_j = s · max(1, |t_j|) with s = ``rel_step`` or ε^{1/5} (ε the machine epsilon
    of ``t``'s dtype; ε^{1/5} balances the O(h⁴) truncation against the O(ε/h) rounding error).

    Parameters
    ----------
    func : callable
        Maps points (..., d) to values (..., *out) in the namespace of ``t``.
    t : array_like
        Points, shape (..., d), finite (lists are accepted and computed in NumPy float64).
    rel_step : float, optional
        Relative step s in (0, 1) (default ε^{1/5}).
    out_rank : int, optional
        Rank of ``func``'s per-point output (inferred when ``None``).

    Returns
    -------
    array
        Shape (..., d, *out): element ``[..., j, ...]`` is ∂F/∂t_j, in the namespace, dtype and
        device of ``t``.

    Raises
    ------
    TypeError
        ``func`` is not callable, or ``t`` is not a real array.
    ValueError
        ``t`` is empty or holds NaN/inf, ``rel_step`` is outside (0, 1), ``out_rank`` < 0.

    Examples
    --------
    >>> import numpy as np
    >>> J = fd_jacobian(lambda x: x ** 2, np.array([[1.0, 2.0]]))
    >>> np.round(J, 6) + 0.0
    array([[[2., 0.],
            [0., 4.]]])
    """
    check_callable("func", func)
    t, xp = as_points("t", t)
    rel_step = _check_rel_step("rel_step", rel_step)
    if out_rank is not None:
        out_rank = check_int("out_rank", out_rank, min=0)
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


def fd_gradient(value: Callable[[Any], Any], t: Any, *, rel_step: float | None = None) -> Any:
    """∇Φ(t) of a scalar function by :func:`fd_jacobian` (Richardson central differences).

    Parameters
    ----------
    value : callable
        Φ: points (..., d) → values (...).
    t : array_like
        Points, shape (..., d), finite.
    rel_step : float, optional
        Relative step s in (0, 1) (default ε^{1/5}, see :func:`fd_jacobian`).

    Returns
    -------
    array
        Shape (..., d), in the namespace of ``t``.

    Raises
    ------
    TypeError
        ``value`` is not callable or ``t`` is not a real array.
    ValueError
        ``t`` is empty or not finite, or ``rel_step`` is outside (0, 1).
    """
    check_callable("value", value)
    return fd_jacobian(value, t, rel_step=rel_step, out_rank=0)


def fd_hessian_from_values(value: Callable[[Any], Any], t: Any, *, rel_step: float | None = None) -> Any:
    """∇²Φ(t) from values only, by second central differences with Richardson extrapolation.

    H_jk(h) = [Φ(t + h_j e_j + h_k e_k) + Φ(t − h_j e_j − h_k e_k)
               − Φ(t + h_j e_j − h_k e_k) − Φ(t − h_j e_j + h_k e_k)] / (4 h_j h_k)
    (for j = k this is the ordinary second difference with step 2h_j), then
    H ≈ [4 H(h/2) − H(h)] / 3 (error O(h⁴); Press et al., *Numerical Recipes*, §5.7), symmetrised.

    Step rule: h_j = s · max(1, |t_j|), s = ``rel_step`` or ε^{1/6} (balances O(h⁴) against
    O(ε/h²)).

    Parameters
    ----------
    value : callable
        Φ: points (..., d) → values (...).
    t : array_like
        Points, shape (..., d), finite.
    rel_step : float, optional
        Relative step s in (0, 1) (default ε^{1/6}).

    Returns
    -------
    array
        Shape (..., d, d), symmetric, in the namespace of ``t``.

    Raises
    ------
    TypeError
        ``value`` is not callable or ``t`` is not a real array.
    ValueError
        ``t`` is empty or not finite, or ``rel_step`` is outside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> H = fd_hessian_from_values(lambda x: (x ** 2).sum(-1), np.array([0.5, 1.0]))
    >>> np.round(H, 6) + 0.0
    array([[2., 0.],
           [0., 2.]])
    """
    check_callable("value", value)
    t, xp = as_points("t", t)
    rel_step = _check_rel_step("rel_step", rel_step)
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


def third_derivative(potential: Any, t: Any, *, rel_step: float | None = None) -> Any:
    """∂_i∂_j∂_l Φ(t), shape (..., d, d, d), fully symmetrised.

    Uses ``potential.third_derivative`` when present, else :func:`fd_jacobian` of
    ``potential.hessian`` (step rule ε^{1/5}·max(1, |t|)), averaged over the six permutations
    of the three indices.

    Parameters
    ----------
    potential : Potential
        An object with ``hessian(t)`` (and optionally ``third_derivative(t)``).
    t : array_like
        Points, shape (..., d), finite.
    rel_step : float, optional
        Relative FD step s in (0, 1) for the finite-difference fallback.

    Returns
    -------
    array
        Shape (..., d, d, d), in the namespace of ``t``.

    Raises
    ------
    TypeError
        ``potential`` has no ``hessian`` method, or ``t`` is not a real array.
    ValueError
        ``t`` is empty or not finite, or ``rel_step`` is outside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.geometry import Poisson
    >>> float(third_derivative(Poisson(), np.array([0.0]))[0, 0, 0])
    1.0
    """
    if not callable(getattr(potential, "hessian", None)):
        raise TypeError(f"potential must provide hessian(t) (the Potential protocol), got {type(potential).__name__}")
    d = getattr(potential, "ndim", None)
    t, xp = as_points("t", t, d=d if isinstance(d, int) and not isinstance(d, bool) else None)
    rel_step = _check_rel_step("rel_step", rel_step)
    f = getattr(potential, "third_derivative", None)
    if f is not None:
        return f(t)
    T = fd_jacobian(potential.hessian, t, rel_step=rel_step, out_rank=2)
    return _symmetrise3(T, xp)


def _check_rel_step(name: str, rel_step: Any) -> float | None:
    """``None`` or a relative step in (0, 1) (returned unchanged when valid)."""
    if rel_step is None:
        return None
    check_real(name, rel_step, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    if np.ndim(rel_step) != 0:
        raise ValueError(f"{name} must be a scalar in (0, 1), got shape {np.shape(rel_step)}")
    return rel_step


# --------------------------------------------------------------------------- analytic potential
class AnalyticPotential:
    """A potential given by a callable Φ, with optional analytic derivatives.

    Missing derivatives are computed by central finite differences with one Richardson
    extrapolation (error O(h⁴); Press et al., *Numerical Recipes*, §5.7):

    * gradient from values: h_j = s₁ · max(1, |t_j|), s₁ = ε^{1/5};
    * Hessian from the gradient (when given): the same rule, then symmetrised;
    * Hessian from values only: second differences, s₂ = ε^{1/6};
    * third derivative from the Hessian: s₁ if the Hessian is analytic, ε^{1/7} otherwise
      (the inner finite difference is already noisy at the ε^{2/3} level).

    ε is the machine epsilon of the evaluation dtype (float64: s₁ ≈ 7e-4; float32: s₁ ≈ 0.04),
    so float32 derivatives are accurate to ~1e-4 relative at best. ``fd_step`` overrides the
    relative step s for every finite difference (docs/geometry_metric.md, "Potentials and
    finite-difference step rules").

    Parameters
    ----------
    value : callable
        Φ: (..., d) → (...), written with array-API operations (or in the caller's namespace).
    gradient : callable, optional
        Analytic ∇Φ: (..., d) → (..., d).
    hessian : callable, optional
        Analytic ∇²Φ: (..., d) → (..., d, d).
    fd_step : float, optional
        Relative finite-difference step s in (0, 1), or ``None`` for the rules above.
    third_derivative : callable, optional
        Analytic ∂³Φ: (..., d) → (..., d, d, d).
    ndim : int, optional
        Dimension d ≥ 1, checked on every call when given.

    Raises
    ------
    TypeError
        ``value`` (or a given derivative) is not callable, ``ndim`` is not an integer.
    ValueError
        ``fd_step`` is outside (0, 1) or ``ndim`` < 1.

    Examples
    --------
    >>> import numpy as np
    >>> pot = AnalyticPotential(lambda t: 0.5 * (t ** 2).sum(-1))
    >>> np.round(pot.hessian(np.array([0.3, -0.2])), 6) + 0.0
    array([[1., 0.],
           [0., 1.]])
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
        if value is None:
            raise TypeError("value must be callable, got None")
        for name, f in (("value", value), ("gradient", gradient), ("hessian", hessian),
                        ("third_derivative", third_derivative)):
            if f is not None and not callable(f):
                raise TypeError(f"{name} must be callable or None, got {type(f).__name__}")
        if fd_step is not None:
            fd_step = float(check_real("fd_step", fd_step, low=0.0, high=1.0, low_inclusive=False,
                                       high_inclusive=False))
        if ndim is not None:
            ndim = check_int("ndim", ndim, min=1)
        self._value = value
        self._gradient = gradient
        self._hessian = hessian
        self._third = third_derivative
        self.fd_step = fd_step
        self.ndim = ndim

    def _prep(self, t):
        t, xp = as_points("t", t, d=self.ndim)
        return t, xp

    def value(self, t: Any) -> Any:
        """Φ(t).

        Parameters
        ----------
        t : array_like
            Points, shape (..., d), finite.

        Returns
        -------
        array
            Shape (...), as returned by the ``value`` callable.

        Raises
        ------
        TypeError
            ``t`` is not a real array.
        ValueError
            ``t`` is empty, not finite, or its last dimension differs from ``ndim``.
        """
        t, _ = self._prep(t)
        return self._value(t)

    def gradient(self, t: Any) -> Any:
        """∇Φ(t), analytic or by :func:`fd_gradient`.

        Parameters
        ----------
        t : array_like
            Points, shape (..., d), finite.

        Returns
        -------
        array
            Shape (..., d).

        Raises
        ------
        TypeError
            ``t`` is not a real array.
        ValueError
            ``t`` is empty, not finite, or its last dimension differs from ``ndim``.
        """
        t, _ = self._prep(t)
        if self._gradient is not None:
            return self._gradient(t)
        return fd_gradient(self._value, t, rel_step=self.fd_step)

    def hessian(self, t: Any) -> Any:
        """∇²Φ(t): analytic, finite differences of the gradient, or of the values.

        Parameters
        ----------
        t : array_like
            Points, shape (..., d), finite.

        Returns
        -------
        array
            Shape (..., d, d).

        Raises
        ------
        TypeError
            ``t`` is not a real array.
        ValueError
            ``t`` is empty, not finite, or its last dimension differs from ``ndim``.
        """
        t, xp = self._prep(t)
        if self._hessian is not None:
            return self._hessian(t)
        if self._gradient is not None:
            H = fd_jacobian(self._gradient, t, rel_step=self.fd_step, out_rank=1)
            return 0.5 * (H + xp.matrix_transpose(H))
        return fd_hessian_from_values(self._value, t, rel_step=self.fd_step)

    def third_derivative(self, t: Any) -> Any:
        """∂_i∂_j∂_l Φ(t): analytic or finite differences of :meth:`hessian`.

        Parameters
        ----------
        t : array_like
            Points, shape (..., d), finite.

        Returns
        -------
        array
            Shape (..., d, d, d), symmetric in its last three axes.

        Raises
        ------
        TypeError
            ``t`` is not a real array.
        ValueError
            ``t`` is empty, not finite, or its last dimension differs from ``ndim``.
        """
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
    per axis, combined into a :class:`scipy.interpolate.NdBSpline`; de Boor, *A Practical Guide
    to Splines*, 2001, ch. XVII). Its value, gradient, Hessian and third derivatives are the
    exact derivatives of the spline: for a smooth Φ and spacing h the errors are O(h⁴), O(h³),
    O(h²) and O(h); the cubic spline's Hessian is continuous and piecewise linear, its third
    derivative piecewise constant.

    Evaluation runs on the host (SciPy): points are copied to NumPy float64 and the results
    copied back to the caller's namespace, dtype and device (an explicit transfer for GPU
    arrays). Points outside the grid box raise ``ValueError`` unless ``extrapolate=True``.

    Parameters
    ----------
    grid_axes_values : sequence of array_like
        One strictly increasing 1-D coordinate array per dimension (d ≥ 1 axes, each with at
        least ``degree + 1`` points); a single 1-D array is read as a 1-D grid.
    values : array_like
        Φ on the grid, shape ``(len(axis_0), …, len(axis_{d-1}))`` (matrix indexing), finite.
    degree : int, default 3
        Spline degree k in 1..5.
    extrapolate : bool, default False
        Evaluate outside the box by extending the boundary polynomials.

    Raises
    ------
    TypeError
        ``grid_axes_values`` is not a sequence of arrays, ``values`` is not a real array,
        ``degree`` is not an integer or ``extrapolate`` is not a bool.
    ValueError
        An axis is not 1-D, too short, not finite or not strictly increasing; ``values`` has
        the wrong shape or is not finite; an axis is so long that the spline's (n, n)
        coefficient map would not fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-1.0, 1.0, 9)
    >>> pot = GridPotential([x, x], np.add.outer(x ** 2, x ** 2))
    >>> np.round(pot.hessian(np.array([0.1, 0.2])), 6) + 0.0
    array([[2., 0.],
           [0., 2.]])
    """

    def __init__(self, grid_axes_values: Sequence[Any], values: Any, *, degree: int = 3,
                 extrapolate: bool = False) -> None:
        from scipy.interpolate import NdBSpline, make_interp_spline

        k = check_int("degree", degree, min=1, max=5)
        check_bool("extrapolate", extrapolate)
        if isinstance(grid_axes_values, (str, bytes)) or not isinstance(grid_axes_values, Sequence):
            # a single array for a 1-D grid is also accepted
            if hasattr(grid_axes_values, "shape") and len(getattr(grid_axes_values, "shape")) == 1:
                grid_axes_values = [grid_axes_values]
            else:
                raise TypeError("grid_axes_values must be a sequence of 1-D coordinate arrays, got "
                                f"{type(grid_axes_values).__name__}")
        axes = []
        for i, a in enumerate(grid_axes_values):
            if isinstance(a, (str, bytes)) or a is None:
                raise TypeError(f"grid_axes_values[{i}] must be a 1-D array of reals, got {a!r}")
            try:
                a = np.asarray(to_numpy(a), dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"grid_axes_values[{i}] must be a 1-D array of reals") from exc
            if a.ndim != 1:
                raise ValueError(f"grid_axes_values[{i}] must be 1-D, got shape {a.shape}")
            if a.size < k + 1:
                raise ValueError(
                    f"grid_axes_values[{i}] must have at least degree + 1 = {k + 1} points, got {a.size}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"grid_axes_values[{i}] must be finite")
            if not np.all(np.diff(a) > 0):
                raise ValueError(f"grid_axes_values[{i}] must be strictly increasing")
            check_allocation(f"the spline coefficient map of axis {i} (n, n)", (a.size, a.size),
                             names="grid_axes_values")
            axes.append(a)
        if not axes:
            raise ValueError("grid_axes_values must hold at least one axis")
        if isinstance(values, (str, bytes)) or values is None:
            raise TypeError(f"values must be a real array, got {values!r}")
        try:
            v = np.asarray(to_numpy(values), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError("values must be a real array (one value per grid point)") from exc
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
        """Φ(t), the spline's value.

        Parameters
        ----------
        t : array_like
            Points, shape (..., d), finite, inside the grid box unless ``extrapolate``.

        Returns
        -------
        array
            Shape (...), in the namespace, dtype and device of ``t``.

        Raises
        ------
        TypeError
            ``t`` is not a real array.
        ValueError
            ``t`` has the wrong last dimension, is not finite, or lies outside the box.
        """
        (r,), lead, xp, dt, dev = self._eval(t, [np.zeros(self.ndim, dtype=int)])
        return from_numpy(r.reshape(lead), xp, dtype=dt, device=dev)

    def gradient(self, t: Any) -> Any:
        """∇Φ(t): the exact derivative of the spline.

        Parameters
        ----------
        t : array_like
            Points, shape (..., d), finite, inside the grid box unless ``extrapolate``.

        Returns
        -------
        array
            Shape (..., d), in the namespace, dtype and device of ``t``.

        Raises
        ------
        TypeError
            ``t`` is not a real array.
        ValueError
            ``t`` has the wrong last dimension, is not finite, or lies outside the box.
        """
        d = self.ndim
        nus = [np.eye(d, dtype=int)[i] for i in range(d)]
        r, lead, xp, dt, dev = self._eval(t, nus)
        return from_numpy(np.stack(r, axis=-1).reshape(lead + (d,)), xp, dtype=dt, device=dev)

    def hessian(self, t: Any) -> Any:
        """∇²Φ(t): the exact second derivatives of the spline.

        Parameters
        ----------
        t : array_like
            Points, shape (..., d), finite, inside the grid box unless ``extrapolate``.

        Returns
        -------
        array
            Shape (..., d, d), in the namespace, dtype and device of ``t``.

        Raises
        ------
        TypeError
            ``t`` is not a real array.
        ValueError
            ``t`` has the wrong last dimension, is not finite, or lies outside the box.
        """
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
        """∂_i∂_j∂_l Φ(t): exact (piecewise constant for cubic splines).

        Parameters
        ----------
        t : array_like
            Points, shape (..., d), finite, inside the grid box unless ``extrapolate``.

        Returns
        -------
        array
            Shape (..., d, d, d), in the namespace, dtype and device of ``t``.

        Raises
        ------
        TypeError
            ``t`` is not a real array.
        ValueError
            ``t`` has the wrong last dimension, is not finite, or lies outside the box.
        """
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
        """All grid nodes in C order.

        Returns
        -------
        numpy.ndarray
            Shape (n_points, d), float64.
        """
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=-1)
