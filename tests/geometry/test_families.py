"""Exponential-family oracles: moments, KL, parameter maps, samples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.geometry.xp_helpers import to_numpy
from statgeo.geometry.families import Bernoulli, Gaussian1D, GaussianFixedCov, MultivariateGaussian, Poisson

COV = np.array([[2.0, 0.3], [0.3, 1.0]])
FAMILIES = {
    "gaussian1d": (Gaussian1D(), np.array([[0.3, -0.7], [-1.0, -2.0]])),
    "fixedcov": (GaussianFixedCov(COV), np.array([[0.3, -0.7], [1.1, 0.4]])),
    "bernoulli": (Bernoulli(), np.array([[0.4], [-1.3]])),
    "poisson": (Poisson(), np.array([[0.4], [1.3]])),
    "mvgauss": (MultivariateGaussian(2), np.stack([
        MultivariateGaussian(2).to_natural(np.array([0.3, -0.5]), np.array([[1.5, 0.4], [0.4, 0.8]])),
        MultivariateGaussian(2).to_natural(np.array([1.0, 0.2]), np.array([[0.7, -0.1], [-0.1, 1.1]]))])),
}


def _np(x):
    return np.asarray(to_numpy(x), dtype=np.float64)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_gradient_and_hessian_are_moments(name):
    # ∇Φ = E[f], ∇²Φ = Cov[f]: checked against Monte Carlo with 4σ error bars
    fam, ts = FAMILIES[name]
    t = ts[0]
    n = 200_000
    x = fam.sample(t, n, seed=123)
    f = _np(fam.sufficient_statistics(x)).reshape(n, -1)
    mean = f.mean(0)
    err = f.std(0, ddof=1) / math.sqrt(n)
    np.testing.assert_array_less(np.abs(mean - _np(fam.gradient(t))), 4 * err + 1e-12)
    cov = np.cov(f.T).reshape(fam.ndim, fam.ndim)
    # error of a covariance entry: sd of the product of centred statistics / √n
    c = f - mean
    prod = c[:, :, None] * c[:, None, :]
    err_c = prod.reshape(n, -1).std(0, ddof=1).reshape(fam.ndim, fam.ndim) / math.sqrt(n)
    np.testing.assert_array_less(np.abs(cov - _np(fam.hessian(t))), 4 * err_c + 1e-12)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_third_derivative_matches_fd_of_hessian(name):
    fam, ts = FAMILIES[name]
    h = 1e-4
    d = fam.ndim
    T = _np(fam.third_derivative(ts))
    for l in range(d):
        e = np.zeros(d)
        e[l] = h
        fd = (_np(fam.hessian(ts + e)) - _np(fam.hessian(ts - e))) / (2 * h)
        np.testing.assert_allclose(T[:, l], fd, rtol=1e-6, atol=1e-8)


def test_gaussian_parameter_maps(xp, float_dtype):
    fam = Gaussian1D()
    p = xp.asarray(np.array([[0.5, 2.0], [-1.0, 0.3]]), dtype=getattr(xp, float_dtype))
    t = fam.to_natural(p)
    np.testing.assert_allclose(_np(t), [[0.125, -0.125], [-1 / 0.09, -0.5 / 0.09]], rtol=1e-6)
    np.testing.assert_allclose(_np(fam.from_natural(t)), _np(p), rtol=1e-6)
    # mean parameters = (μ, μ² + σ²)
    np.testing.assert_allclose(_np(fam.mean_parameters(t)), [[0.5, 4.25], [-1.0, 1.09]], rtol=1e-5)


def test_other_parameter_maps():
    np.testing.assert_allclose(Bernoulli().to_natural(np.array([[0.25]])), [[math.log(1 / 3)]])
    np.testing.assert_allclose(Bernoulli().from_natural(np.array([[math.log(1 / 3)]])), [[0.25]])
    np.testing.assert_allclose(Poisson().to_natural(np.array([[2.0]])), [[math.log(2.0)]])
    fc = GaussianFixedCov(COV)
    mu = np.array([1.0, -2.0])
    np.testing.assert_allclose(fc.from_natural(fc.to_natural(mu)), mu)


def test_kl_closed_forms_known_values():
    # values computed by hand from the textbook formulas
    g = Gaussian1D()
    t0 = g.to_natural(np.array([0.0, 1.0]))
    t1 = g.to_natural(np.array([1.0, 2.0]))
    assert float(g.kl(t0, t1)) == pytest.approx(math.log(2) + (1 + 1) / 8 - 0.5, rel=1e-12)
    b = Bernoulli()
    p0, p1 = 0.3, 0.6
    expected = p0 * math.log(p0 / p1) + (1 - p0) * math.log((1 - p0) / (1 - p1))
    assert float(b.kl(b.to_natural(np.array([p0])), b.to_natural(np.array([p1])))) == pytest.approx(expected, rel=1e-12)
    po = Poisson()
    assert float(po.kl(np.log([2.0]), np.log([3.0]))) == pytest.approx(2 * math.log(2 / 3) - 2 + 3, rel=1e-12)


def test_kl_against_monte_carlo():
    # KL(p0 ‖ p1) = E_{p0}[log p0(x) − log p1(x)] for the Gaussian, 4σ error bar
    g = Gaussian1D()
    (m0, s0), (m1, s1) = (0.2, 0.8), (-0.5, 1.5)
    x = g.sample(g.to_natural(np.array([m0, s0])), 400_000, seed=7)
    lr = (-np.log(s0) - 0.5 * ((x - m0) / s0) ** 2) - (-np.log(s1) - 0.5 * ((x - m1) / s1) ** 2)
    mc, err = lr.mean(), lr.std(ddof=1) / math.sqrt(x.size)
    kl = float(g.kl(g.to_natural(np.array([m0, s0])), g.to_natural(np.array([m1, s1]))))
    assert abs(mc - kl) < 4 * err


def test_fisher_rao_distance_known_value():
    # equal means: d = √2 |log(σ1/σ0)|; equal σ: d = √2 arccosh(1 + Δμ²/(4σ²))
    d = Gaussian1D.fisher_rao_distance(np.array([0.0, 1.0]), np.array([0.0, 3.0]))
    assert float(d) == pytest.approx(math.sqrt(2) * math.log(3), rel=1e-12)
    d = Gaussian1D.fisher_rao_distance(np.array([-1.0, 1.0]), np.array([1.0, 1.0]))
    assert float(d) == pytest.approx(math.sqrt(2) * math.acosh(2.0), rel=1e-12)


def test_samples_reproducible():
    g = Gaussian1D()
    t = np.array([0.0, -0.5])
    np.testing.assert_array_equal(g.sample(t, 5, seed=3), g.sample(t, 5, seed=3))
    assert not np.array_equal(g.sample(t, 5, seed=3), g.sample(t, 5, seed=4))


def test_family_errors():
    g = Gaussian1D()
    with pytest.raises(ValueError, match="< 0"):
        g.value(np.array([0.0, 0.5]))
    with pytest.raises(ValueError, match="last dimension 2"):
        g.value(np.array([0.0, -0.5, 1.0]))
    with pytest.raises(ValueError, match="NaN"):
        g.value(np.array([np.nan, -0.5]))
    with pytest.raises(ValueError, match="n must be"):
        g.sample(np.array([0.0, -0.5]), 0, seed=0)
    with pytest.raises(ValueError, match="positive definite"):
        GaussianFixedCov(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="square"):
        GaussianFixedCov(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        Bernoulli().to_natural(np.array([[1.5]]))
    with pytest.raises(ValueError, match="σ must be > 0"):
        g.to_natural(np.array([0.0, -1.0]))


def test_multivariate_gaussian_maps_and_kl(xp):
    fam = MultivariateGaussian(2)
    mu = xp.asarray(np.array([0.3, -0.5]))
    cov = xp.asarray(np.array([[1.5, 0.4], [0.4, 0.8]]))
    t = fam.to_natural(mu, cov)
    assert tuple(t.shape) == (5,)
    lam = np.linalg.inv(_np(cov))
    np.testing.assert_allclose(_np(t), [*(lam @ _np(mu)), lam[0, 0], lam[1, 1], lam[0, 1]], rtol=1e-12)
    m, c = fam.from_natural(t)
    np.testing.assert_allclose(_np(m), _np(mu), rtol=1e-12)
    np.testing.assert_allclose(_np(c), _np(cov), rtol=1e-12)
    # KL between two bivariate normals, formula evaluated by hand with NumPy
    mu1, cov1 = np.array([1.0, 0.2]), np.array([[0.7, -0.1], [-0.1, 1.1]])
    t1 = fam.to_natural(xp.asarray(mu1), xp.asarray(cov1))
    L1 = np.linalg.inv(cov1)
    dm = mu1 - _np(mu)
    expected = 0.5 * (np.trace(L1 @ _np(cov)) + dm @ L1 @ dm - 2 + np.log(np.linalg.det(cov1) / np.linalg.det(_np(cov))))
    assert float(_np(fam.kl(t, t1))) == pytest.approx(expected, rel=1e-12)
    # 1-D case: log Z agrees with the univariate family up to the statistic's scaling
    g1, m1 = Gaussian1D(), MultivariateGaussian(1)
    tt = m1.to_natural(np.array([0.4]), np.array([[2.0]]))
    assert float(m1.value(tt)) == pytest.approx(float(g1.value(g1.to_natural(np.array([0.4, math.sqrt(2.0)])))))
    with pytest.raises(ValueError, match="positive definite"):
        fam.value(np.array([0.0, 0.0, 1.0, 1.0, 2.0]))
