"""Geodesics against the Fisher–Rao metric of N(μ, σ²) (hyperbolic half-plane, closed forms).

In (μ, σ) the metric is ds² = (dμ² + 2dσ²)/σ²; with u = μ/√2 it is 2(du² + dσ²)/σ², so
geodesics are vertical lines and semi-ellipses μ²/2 + σ² = R² centred on σ = 0, and the
distance is √2 arccosh(1 + (Δμ²/2 + Δσ²)/(2σ₀σ₁)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.geometry.xp_helpers import to_numpy
from statgeo.geometry.families import Gaussian1D
from statgeo.geometry.geodesic import (
    compare_with_straight,
    discrete_energy,
    exponential_map,
    geodesic_bvp,
    geodesic_distance,
    path_length,
)
from statgeo.geometry.metric import christoffel_symbols
from statgeo.geometry.potential import GridPotential

FR = Gaussian1D.fisher_rao_metric
A, B = np.array([-1.0, 1.0]), np.array([1.0, 1.0])  # on the ellipse μ²/2 + σ² = 3/2
D_AB = math.sqrt(2.0) * math.acosh(2.0)


def _np(x):
    return np.asarray(to_numpy(x), dtype=np.float64)


@pytest.mark.parametrize("n_points", [64, 90])
def test_bvp_half_plane(n_points):
    r = geodesic_bvp(FR, A, B, n_points=n_points)
    assert r.converged and r.residual <= 1e-4
    # the midpoint-rule length converges as O(1/n²): measured 1e-5 at n = 64
    assert r.length == pytest.approx(D_AB, rel=1e-4)
    p = _np(r.path)
    assert p.shape == (n_points, 2)
    np.testing.assert_allclose(p[[0, -1]], [A, B])
    np.testing.assert_allclose(p[:, 0] ** 2 / 2 + p[:, 1] ** 2, 1.5, atol=1e-3)
    # equal metric length per segment after reparametrisation
    seg = np.array([float(path_length(FR, p[i:i + 2])) for i in range(n_points - 1)])
    assert seg.std() / seg.mean() < 1e-3


def test_bvp_vertical_geodesic_and_distance():
    a, b = np.array([0.0, 0.5]), np.array([0.0, 2.0])
    r = geodesic_bvp(FR, a, b, n_points=64)
    assert r.converged
    assert r.length == pytest.approx(math.sqrt(2) * math.log(4.0), rel=1e-4)
    assert np.abs(_np(r.path)[:, 0]).max() < 1e-6
    # an off-axis pair, against the closed-form distance
    c, d = np.array([-0.3, 0.4]), np.array([1.2, 1.5])
    assert geodesic_distance(FR, c, d, n_points=64) == pytest.approx(
        float(Gaussian1D.fisher_rao_distance(c, d)), rel=2e-4)


def test_bvp_natural_coordinates_hessian_potential():
    # the same geodesic in natural parameters, with g = ∇²Φ and analytic third derivatives
    fam = Gaussian1D()
    r = geodesic_bvp(fam, fam.to_natural(A), fam.to_natural(B), n_points=64)
    assert r.converged
    assert r.length == pytest.approx(D_AB, rel=1e-4)
    ms = _np(fam.from_natural(r.path))
    np.testing.assert_allclose(ms[:, 0] ** 2 / 2 + ms[:, 1] ** 2, 1.5, atol=1e-3)


def test_bvp_grid_potential():
    fam = Gaussian1D()
    t1, t2 = np.linspace(-1.5, 1.5, 61), np.linspace(-1.2, -0.2, 41)
    T = np.stack(np.meshgrid(t1, t2, indexing="ij"), -1)
    pot = GridPotential([t1, t2], fam.value(T))
    r = geodesic_bvp(pot, fam.to_natural(A), fam.to_natural(B), n_points=64)
    assert r.converged
    # spline Hessian error O(h²) ~ 1e-4 relative on this grid
    assert r.length == pytest.approx(D_AB, rel=2e-3)


def test_bvp_torch_namespace():
    torch = pytest.importorskip("torch")
    fam = Gaussian1D()
    a = torch.asarray(_np(fam.to_natural(A)), dtype=torch.float64)
    b = torch.asarray(_np(fam.to_natural(B)), dtype=torch.float64)
    r = geodesic_bvp(fam, a, b, n_points=32)
    assert isinstance(r.path, torch.Tensor) and r.path.dtype == torch.float64
    assert r.length == pytest.approx(D_AB, rel=1e-3)
    # float32: FD/rounding noise limits the residual, the default tolerance adapts (0.1)
    r32 = geodesic_bvp(Gaussian1D.fisher_rao_metric, torch.asarray(A, dtype=torch.float32),
                       torch.asarray(B, dtype=torch.float32), n_points=32)
    assert r32.converged and r32.path.dtype == torch.float32
    assert r32.length == pytest.approx(D_AB, rel=1e-3)


def test_exponential_map_vertical_closed_form():
    # σ(t) = σ₀ e^{vt}, μ = 0 along the vertical geodesic with γ̇(0) = (0, σ₀ v)
    r = exponential_map(FR, np.array([0.0, 1.0]), np.array([0.0, 0.7]), t=1.0, n_steps=10)
    assert r.success
    np.testing.assert_allclose(_np(r.path)[:, 1], np.exp(0.7 * _np(r.times)), rtol=1e-8)
    np.testing.assert_allclose(_np(r.path)[:, 0], 0.0, atol=1e-10)


def test_exponential_map_returns_to_bvp_endpoint():
    n = 90
    r = geodesic_bvp(FR, A, B, n_points=n)
    p = _np(r.path)
    v0 = (-3 * p[0] + 4 * p[1] - p[2]) * (n - 1) / 2.0  # second-order one-sided difference
    e = exponential_map(FR, A, v0)
    # error of v0 is O(1/n²) ≈ 1e-4 relative, magnified by the geodesic's spread
    np.testing.assert_allclose(_np(e.path)[-1], B, atol=3e-3)
    # with Christoffel symbols given directly, and with the Hessian potential in natural coordinates
    e2 = exponential_map(lambda q: christoffel_symbols(FR, q), A, v0)
    np.testing.assert_allclose(_np(e2.path)[-1], _np(e.path)[-1], atol=1e-7)
    # speed is conserved: |γ̇|_g constant
    sp = [float(np.sqrt(v @ _np(FR(x)) @ v)) for x, v in zip(_np(e.path), _np(e.velocity))]
    np.testing.assert_allclose(sp, sp[0], rtol=1e-8)


def test_length_not_above_straight_line():
    r = geodesic_bvp(FR, A, B, n_points=64)
    cmp = compare_with_straight(FR, r.path)
    # the straight line σ = 1 from μ = −1 to 1 has length ∫ dμ/σ = 2
    assert cmp.straight_length == pytest.approx(2.0, rel=1e-12)
    assert cmp.length_ratio <= 1.0
    assert cmp.length_ratio == pytest.approx(D_AB / 2.0, rel=1e-4)
    # deviation: the ellipse top σ = √1.5 vs chord σ = 1
    assert cmp.max_deviation == pytest.approx(math.sqrt(1.5) - 1.0, abs=2e-3)
    assert cmp.max_curvature > 0
    assert discrete_energy(FR, r.path) <= discrete_energy(FR, np.linspace(A, B, 64))


def test_path_length_rules(xp, float_dtype):
    s = np.linspace(0.5, 2.0, 41)
    path = xp.asarray(np.stack([np.zeros_like(s), s], -1), dtype=getattr(xp, float_dtype))
    exact = math.sqrt(2) * math.log(4.0)
    L_mid = float(_np(path_length(FR, path)))
    L_simp = float(_np(path_length(FR, path, rule="simpson")))
    assert L_mid == pytest.approx(exact, rel=2e-4)  # midpoint rule O(h²)
    assert L_simp == pytest.approx(exact, rel=1e-5)  # Simpson O(h⁴) (float32 rounding ~1e-6)


def test_geodesic_errors():
    with pytest.raises(ValueError, match="n_points"):
        geodesic_bvp(FR, A, B, n_points=2)
    with pytest.raises(ValueError, match="differ"):
        geodesic_bvp(FR, A, A)
    with pytest.raises(ValueError, match="NaN"):
        geodesic_bvp(FR, np.array([np.nan, 1.0]), B)
    with pytest.raises(ValueError, match="end must have shape"):
        geodesic_bvp(FR, A, np.array([1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="bounds"):
        geodesic_bvp(FR, A, B, method="BFGS", bounds=[(None, None), (0.01, None)])
    with pytest.raises(ValueError, match="method"):
        geodesic_bvp(FR, A, B, method="adam")
    indefinite = lambda p: np.broadcast_to(np.diag([1.0, -1.0]), p.shape[:-1] + (2, 2))  # noqa: E731
    with pytest.raises(ValueError, match="positive definite"):
        geodesic_bvp(indefinite, A, B)
    with pytest.raises(ValueError, match="NaN or infinite"):
        geodesic_bvp(lambda p: np.full(p.shape[:-1] + (2, 2), np.nan), A, B)
    with pytest.raises(ValueError, match="t must be"):
        exponential_map(FR, A, B, t=-1.0)
    with pytest.raises(ValueError, match="path"):
        path_length(FR, np.ones(3))
    with pytest.raises(ValueError, match="coincide"):
        compare_with_straight(FR, np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 1.0]]))
