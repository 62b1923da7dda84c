"""Metric, Christoffel symbols, curvature, volume element against closed forms."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from tests.geometry.xp_helpers import to_numpy
from statgeo.geometry.families import Gaussian1D, GaussianFixedCov
from statgeo.geometry.metric import (
    christoffel_symbols,
    covariance_metric,
    gaussian_curvature,
    hessian_metric,
    metric_on_grid,
    pull_back,
    volume_element,
)
from statgeo.geometry.potential import AnalyticPotential


def _np(x):
    return np.asarray(to_numpy(x), dtype=np.float64)


MS = np.array([[0.3, 1.2], [-1.0, 0.5], [2.0, 2.5]])  # (μ, σ)


def _halfplane_gamma(ms):
    """Γ of (dμ² + 2dσ²)/σ² in (μ, σ): Γ^μ_{μσ} = −1/σ, Γ^σ_{μμ} = 1/(2σ), Γ^σ_{σσ} = −1/σ."""
    s = ms[:, 1]
    G = np.zeros((len(s), 2, 2, 2))
    G[:, 0, 0, 1] = G[:, 0, 1, 0] = -1 / s
    G[:, 1, 0, 0] = 1 / (2 * s)
    G[:, 1, 1, 1] = -1 / s
    return G


def test_hessian_metric_namespace(xp, float_dtype):
    fam = Gaussian1D()
    dt = getattr(xp, float_dtype)
    t = xp.asarray(_np(fam.to_natural(MS)), dtype=dt)
    g = hessian_metric(fam, t)
    assert type(g) is type(t) and g.dtype == dt and tuple(g.shape) == (3, 2, 2)
    s2 = MS[:, 1] ** 2
    mu = MS[:, 0]
    exact = np.stack([np.stack([s2, 2 * mu * s2], -1), np.stack([2 * mu * s2, 2 * s2**2 + 4 * mu**2 * s2], -1)], -2)
    np.testing.assert_allclose(_np(g), exact, rtol={"float64": 1e-12, "float32": 1e-5}[float_dtype])


def test_pull_back_to_mean_std_gives_fisher_rao(xp):
    # J = ∂t/∂(μ, σ) for t = (μ/σ², −1/(2σ²)); Jᵀ ∇²Φ J = diag(1, 2)/σ²
    fam = Gaussian1D()
    mu, s = MS[:, 0], MS[:, 1]
    J = np.zeros((3, 2, 2))
    J[:, 0, 0] = 1 / s**2
    J[:, 0, 1] = -2 * mu / s**3
    J[:, 1, 1] = 1 / s**3
    t = xp.asarray(_np(fam.to_natural(MS)))
    g = pull_back(hessian_metric(fam, t), xp.asarray(J))
    np.testing.assert_allclose(_np(g), _np(Gaussian1D.fisher_rao_metric(MS)), rtol=1e-12, atol=1e-14)


def test_covariance_metric(xp):
    fam = Gaussian1D()
    t = fam.to_natural(np.array([0.5, 1.5]))
    n = 100_000
    f = _np(fam.sufficient_statistics(fam.sample(t, n, seed=1)))
    g = covariance_metric(xp.asarray(f), axis=0)
    np.testing.assert_allclose(_np(g), np.cov(f.T), rtol=1e-10)
    # batch axis + sample axis 1
    fb = xp.asarray(np.stack([f[:500], f[500:1000]]))
    assert tuple(covariance_metric(fb, axis=1).shape) == (2, 2, 2)
    # against the exact Fisher metric: entries within 5 % at n = 1e5 (the Monte Carlo error of
    # Cov[x², x²] ∝ √(E[x⁸]/n) is ~1 % here)
    np.testing.assert_allclose(_np(g), fam.hessian(t), rtol=5e-2)


def test_christoffel_halfplane_metric_fn(xp):
    G = christoffel_symbols(Gaussian1D.fisher_rao_metric, xp.asarray(MS))
    np.testing.assert_allclose(_np(G), _halfplane_gamma(MS), rtol=1e-8, atol=1e-9)


def test_christoffel_hessian_potential_vs_metric_fn():
    fam = Gaussian1D()
    t = fam.to_natural(MS)
    a = christoffel_symbols(fam, t)  # analytic third derivatives
    b = christoffel_symbols(fam.hessian, t)  # FD of the metric
    np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-8 * np.abs(a).max())
    z = christoffel_symbols(GaussianFixedCov(np.array([[2.0, 0.3], [0.3, 1.0]])), np.zeros((4, 2)))
    np.testing.assert_array_equal(z, 0.0)


def test_gaussian_curvature():
    # Fisher–Rao metric of N(μ, σ²): constant curvature −1/2, in any coordinates
    fam = Gaussian1D()
    t = fam.to_natural(MS)
    np.testing.assert_allclose(gaussian_curvature(fam, t), -0.5, rtol=1e-10)
    np.testing.assert_allclose(gaussian_curvature(AnalyticPotential(fam.value), t), -0.5, rtol=1e-3)  # nested FD
    np.testing.assert_allclose(gaussian_curvature(Gaussian1D.fisher_rao_metric, MS), -0.5, rtol=1e-6)

    def sphere(p):  # dθ² + sin²θ dφ²: K = +1
        z = np.zeros(p.shape[:-1])
        return np.stack([np.stack([z + 1, z], -1), np.stack([z, np.sin(p[..., 0]) ** 2], -1)], -2)

    np.testing.assert_allclose(gaussian_curvature(sphere, np.array([[0.7, 0.2], [2.0, -1.0]])), 1.0, rtol=1e-6)
    # flat metric
    np.testing.assert_allclose(gaussian_curvature(GaussianFixedCov(np.eye(2)), np.ones((3, 2))), 0.0, atol=1e-14)


def test_volume_element(xp):
    g = Gaussian1D.fisher_rao_metric(xp.asarray(MS))
    np.testing.assert_allclose(_np(volume_element(g)), math.sqrt(2) / MS[:, 1] ** 2, rtol=1e-12)


def test_metric_on_grid(xp):
    fam = GaussianFixedCov(np.array([[2.0, 0.3], [0.3, 1.0]]))
    axes = [xp.linspace(-1, 1, 5), xp.linspace(0, 1, 3)]
    g = metric_on_grid(fam, axes)
    assert tuple(g.shape) == (5, 3, 2, 2)
    np.testing.assert_allclose(_np(g)[2, 1], fam.cov)


def test_degenerate_metric_errors():
    nonconvex = AnalyticPotential(lambda t: t[..., 0] ** 2 - t[..., 1] ** 2)
    pts = np.zeros((4, 2))
    with pytest.raises(ValueError, match="not positive definite"):
        hessian_metric(nonconvex, pts, check="raise")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        hessian_metric(nonconvex, pts)
    assert any("not positive definite" in str(x.message) for x in w)
    with pytest.raises(ValueError, match="not positive definite"):
        christoffel_symbols(nonconvex, pts)
    singular = AnalyticPotential(lambda t: t[..., 0] ** 2)
    with pytest.raises(ValueError, match="not positive definite"):
        christoffel_symbols(singular, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="NaN"):
        hessian_metric(AnalyticPotential(lambda t: t[..., 0] ** 2), np.array([[np.nan, 0.0]]))
    nan_metric = lambda p: np.full(p.shape + (2,), np.nan)  # noqa: E731
    with pytest.raises(ValueError, match="NaN"):
        christoffel_symbols(nan_metric, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="det g"):
        volume_element(np.array([[[1.0, 0.0], [0.0, -1.0]]]))
    with pytest.raises(ValueError, match="2-D points"):
        gaussian_curvature(GaussianFixedCov(np.eye(3)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="axis"):
        covariance_metric(np.zeros((10, 2)), axis=-1)
    with pytest.raises(ValueError, match="at least"):
        covariance_metric(np.zeros((1, 2)), axis=0)
    with pytest.raises(ValueError, match="jacobian"):
        pull_back(np.eye(2), np.ones((3, 2)))


@pytest.mark.gpu
def test_cupy_device_round_trip():
    cp = pytest.importorskip("cupy")
    from statgeo.geometry.bregman import bregman_matrix

    fam = Gaussian1D()
    t = cp.asarray(fam.to_natural(MS))
    g = hessian_metric(fam, t)
    assert isinstance(g, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(g), fam.hessian(fam.to_natural(MS)), rtol=1e-12)
    G = christoffel_symbols(AnalyticPotential(fam.value), t)
    assert isinstance(G, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(G), christoffel_symbols(fam, fam.to_natural(MS)), rtol=1e-5, atol=1e-6)
    M = bregman_matrix(fam, t, t)
    assert isinstance(M, cp.ndarray) and M.shape == (3, 3)


@pytest.mark.gpu
def test_torch_cuda_stays_on_device():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device for torch")
    fam = Gaussian1D()
    t = torch.asarray(fam.to_natural(MS), device="cuda")
    g = hessian_metric(AnalyticPotential(fam.value), t)
    assert g.device.type == "cuda"
    assert gaussian_curvature(fam, t).device.type == "cuda"
