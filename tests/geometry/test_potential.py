"""Potentials: finite-difference derivatives and grid splines against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from tests.geometry.xp_helpers import to_numpy
from statgeo.geometry.families import Gaussian1D, Poisson
from statgeo.geometry.potential import AnalyticPotential, GridPotential, Potential

# FD error bounds: Richardson central differences have O(h⁴) truncation and O(ε/h), O(ε/h²)
# rounding; with the documented steps this is ~1e-9 (gradient) / ~1e-7 (Hessian from values)
# relative in float64 and ~1e-5 / ~1e-3 in float32 (we allow a margin of ~10).
RTOL = {"float64": {"grad": 1e-8, "hess": 1e-6, "third": 1e-5},
        "float32": {"grad": 1e-4, "hess": 3e-2, "third": 5e-2}}

PTS = np.array([[0.3, -0.7], [-0.5, -1.3], [1.0, -0.4]])


def _arr(xp, a, dtype):
    return xp.asarray(np.asarray(a), dtype=getattr(xp, dtype))


def _close(actual, expected, rtol, atol_scale=1.0):
    a = np.asarray(to_numpy(actual), dtype=np.float64)
    e = np.asarray(to_numpy(expected), dtype=np.float64)
    np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * atol_scale * np.abs(e).max())


def test_families_are_potentials():
    assert isinstance(Gaussian1D(), Potential)
    assert isinstance(AnalyticPotential(lambda t: t[..., 0]), Potential)


def test_fd_derivatives_from_values(xp, float_dtype):
    fam = Gaussian1D()
    t = _arr(xp, PTS, float_dtype)
    pot = AnalyticPotential(fam.value)
    g = pot.gradient(t)
    assert type(g) is type(t) and g.dtype == t.dtype and tuple(g.shape) == (3, 2)
    _close(g, fam.gradient(_arr(xp, PTS, "float64")), RTOL[float_dtype]["grad"])
    H = pot.hessian(t)
    assert tuple(H.shape) == (3, 2, 2)
    _close(H, fam.hessian(_arr(xp, PTS, "float64")), RTOL[float_dtype]["hess"])


def test_fd_hessian_from_gradient_and_third(xp, float_dtype):
    fam = Gaussian1D()
    t = _arr(xp, PTS, float_dtype)
    pot = AnalyticPotential(fam.value, gradient=fam.gradient)
    _close(pot.hessian(t), fam.hessian(_arr(xp, PTS, "float64")), RTOL[float_dtype]["grad"] * 10)
    pot3 = AnalyticPotential(fam.value, fam.gradient, fam.hessian)
    _close(pot3.third_derivative(t), fam.third_derivative(_arr(xp, PTS, "float64")), RTOL[float_dtype]["third"])


def test_gaussian_third_derivative_matches_fd_of_hessian():
    # the closed-form third cumulants of (x, x²) against FD of the closed-form covariance
    fam = Gaussian1D()
    pot = AnalyticPotential(fam.value, fam.gradient, fam.hessian)
    np.testing.assert_allclose(pot.third_derivative(PTS), fam.third_derivative(PTS), rtol=1e-7, atol=1e-9)


def test_analytic_potential_errors():
    with pytest.raises(TypeError, match="value"):
        AnalyticPotential(None)
    with pytest.raises(TypeError, match="gradient"):
        AnalyticPotential(lambda t: t[..., 0], gradient=3)
    with pytest.raises(ValueError, match="fd_step"):
        AnalyticPotential(lambda t: t[..., 0], fd_step=-1.0)
    pot = AnalyticPotential(lambda t: t[..., 0], ndim=2)
    with pytest.raises(ValueError, match="last dimension 2"):
        pot.gradient(np.zeros((4, 3)))


def _gauss_grid(n=41):
    t1 = np.linspace(-1.0, 1.0, n)
    t2 = np.linspace(-2.0, -0.5, n)
    T1, T2 = np.meshgrid(t1, t2, indexing="ij")
    return (t1, t2), Gaussian1D().value(np.stack([T1, T2], axis=-1))


def test_grid_potential_matches_closed_form(xp, float_dtype):
    axes, vals = _gauss_grid()
    pot = GridPotential(axes, vals)
    rng = np.random.default_rng(0)
    pts = np.stack([rng.uniform(-0.9, 0.9, 20), rng.uniform(-1.9, -0.6, 20)], axis=-1)
    t = _arr(xp, pts, float_dtype)
    fam = Gaussian1D()
    # cubic-spline errors for spacing h ≈ 0.05 (0.0375): O(h⁴) values, O(h³) gradient,
    # O(h²) Hessian, O(h) third derivatives; bounds below are a few times the measured ones
    tol = {"float64": 1.0, "float32": 1.0}[float_dtype]
    v = pot.value(t)
    assert type(v) is type(t) and v.dtype == t.dtype and tuple(v.shape) == (20,)
    _close(v, fam.value(pts), 1e-6 * tol + (1e-6 if float_dtype == "float32" else 0))
    _close(pot.gradient(t), fam.gradient(pts), 1e-5 + (1e-5 if float_dtype == "float32" else 0))
    _close(pot.hessian(t), fam.hessian(pts), 2e-3)
    _close(pot.third_derivative(t), fam.third_derivative(pts), 5e-2)


def test_grid_potential_convergence_order():
    # halving the spacing must reduce the Hessian error by ≈ 4 (second-order convergence)
    fam = Gaussian1D()
    rng = np.random.default_rng(1)
    pts = np.stack([rng.uniform(-0.8, 0.8, 50), rng.uniform(-1.8, -0.7, 50)], axis=-1)
    errs = []
    for n in (21, 41, 81):
        axes, vals = _gauss_grid(n)
        errs.append(np.abs(GridPotential(axes, vals).hessian(pts) - fam.hessian(pts)).max())
    assert errs[1] < errs[0] / 3 and errs[2] < errs[1] / 3


def test_grid_potential_errors():
    axes, vals = _gauss_grid(11)
    with pytest.raises(ValueError, match="at least degree"):
        GridPotential([np.array([0.0]), axes[1]], vals[:1])
    with pytest.raises(ValueError, match="values must have shape"):
        GridPotential(axes, vals[:, :5])
    bad = vals.copy()
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        GridPotential(axes, bad)
    with pytest.raises(ValueError, match="strictly increasing"):
        GridPotential([axes[0][::-1], axes[1]], vals)
    pot = GridPotential(axes, vals)
    with pytest.raises(ValueError, match="inside the grid box"):
        pot.value(np.array([[5.0, -1.0]]))
    with pytest.raises(ValueError, match="last dimension 2"):
        pot.value(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        pot.value(np.array([[np.nan, -1.0]]))


def test_grid_potential_1d():
    t = np.linspace(-2, 2, 30)
    pot = GridPotential([t], Poisson().value(t[:, None]))
    x = np.array([[-1.3], [0.2], [1.7]])
    np.testing.assert_allclose(pot.hessian(x)[..., 0, 0], np.exp(x[:, 0]), rtol=5e-3)  # O(h²), h = 0.14
