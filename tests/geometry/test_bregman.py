"""Bregman divergences: D_Φ(t, t') = KL(p_t' ‖ p_t) for exponential families."""

from __future__ import annotations

import numpy as np
import pytest

from tests.geometry.xp_helpers import to_numpy
from statgeo.geometry.bregman import bregman_divergence, bregman_matrix, bregman_matrix_from_grid
from statgeo.geometry.families import Bernoulli, Gaussian1D, GaussianFixedCov, MultivariateGaussian, Poisson
from statgeo.geometry.potential import AnalyticPotential

RTOL = {"float64": 1e-10, "float32": 2e-4}

CASES = {
    "gaussian1d": (Gaussian1D(), lambda r, n: np.stack([r.uniform(-1, 1, n), r.uniform(-2, -0.3, n)], -1)),
    "fixedcov": (GaussianFixedCov(np.array([[2.0, 0.3], [0.3, 1.0]])), lambda r, n: r.normal(size=(n, 2))),
    "bernoulli": (Bernoulli(), lambda r, n: r.uniform(-3, 3, (n, 1))),
    "poisson": (Poisson(), lambda r, n: r.uniform(-1, 2, (n, 1))),
    "mvgauss": (MultivariateGaussian(2), lambda r, n: _mv_draw(r, n)),
}


def _mv_draw(rng, n):
    a = rng.normal(size=(n, 2, 2))
    cov = a @ np.swapaxes(a, -1, -2) + 0.5 * np.eye(2)
    return MultivariateGaussian(2).to_natural(rng.normal(size=(n, 2)), cov)


def _np(x):
    return np.asarray(to_numpy(x), dtype=np.float64)


@pytest.mark.parametrize("name", list(CASES))
def test_bregman_equals_kl(name, xp, float_dtype):
    fam, draw = CASES[name]
    rng = np.random.default_rng(0)
    a, b = draw(rng, 30), draw(rng, 30)
    dt = getattr(xp, float_dtype)
    t, tp = xp.asarray(a, dtype=dt), xp.asarray(b, dtype=dt)
    D = bregman_divergence(fam, t, tp)
    assert type(D) is type(t) and D.dtype == dt and tuple(D.shape) == (30,)
    kl = fam.kl(xp.asarray(b), xp.asarray(a))  # KL(p_t' ‖ p_t), float64 closed form
    scale = float(np.max(np.abs(_np(fam.value(xp.asarray(a)))))) + 1.0
    np.testing.assert_allclose(_np(D), _np(kl), rtol=RTOL[float_dtype], atol=RTOL[float_dtype] * scale)
    assert np.all(_np(D) >= -RTOL[float_dtype] * scale)


def test_broadcasting_and_matrix(xp):
    fam = Gaussian1D()
    rng = np.random.default_rng(1)
    pts = np.stack([rng.uniform(-1, 1, 7), rng.uniform(-2, -0.3, 7)], -1)
    org = np.stack([rng.uniform(-1, 1, 4), rng.uniform(-2, -0.3, 4)], -1)
    P, O = xp.asarray(pts), xp.asarray(org)
    M = bregman_matrix(fam, P, O)
    assert tuple(M.shape) == (4, 7)
    B = bregman_divergence(fam, xp.expand_dims(P, axis=0), xp.expand_dims(O, axis=1))
    np.testing.assert_allclose(_np(M), _np(B), rtol=1e-10, atol=1e-12)
    for o in range(4):
        np.testing.assert_allclose(_np(M)[o], _np(fam.kl(org[o], pts)), rtol=1e-10, atol=1e-12)


def test_fd_potential_bregman():
    # a potential with FD gradient reproduces the KL to FD accuracy (~1e-9)
    fam = Poisson()
    pot = AnalyticPotential(fam.value)
    t, tp = np.array([[0.2], [1.5]]), np.array([[-0.3], [0.9]])
    np.testing.assert_allclose(bregman_divergence(pot, t, tp), fam.kl(tp, t), rtol=1e-8)


def test_bregman_from_grid(xp):
    fam = Gaussian1D()
    t1, t2 = np.linspace(-1, 1, 41), np.linspace(-2, -0.5, 41)
    T = np.stack(np.meshgrid(t1, t2, indexing="ij"), -1)
    vals = xp.asarray(_np(fam.value(T)))
    origins = xp.asarray(np.array([[0.0, -1.0], [0.5, -1.5]]))
    M = bregman_matrix_from_grid([t1, t2], vals, origins)
    assert tuple(M.shape) == (2, 41 * 41)
    exact = np.stack([_np(fam.kl(o, T.reshape(-1, 2))) for o in _np(origins)])
    # spline gradient error O(h³) at the origins, times |t − t'| ≤ 2.5
    np.testing.assert_allclose(_np(M), exact, atol=5e-5)


def test_bregman_errors():
    fam = Gaussian1D()
    with pytest.raises(ValueError, match="last dimension 2"):
        bregman_divergence(fam, np.zeros((3, 2)) - 1, np.zeros((3, 3)) - 1)
    with pytest.raises(ValueError, match="broadcast"):
        bregman_divergence(fam, np.full((3, 2), -1.0), np.full((4, 2), -1.0))
    with pytest.raises(ValueError, match="NaN"):
        bregman_divergence(fam, np.array([np.nan, -1.0]), np.array([0.0, -1.0]))
    with pytest.raises(TypeError, match="Potential protocol"):
        bregman_divergence(lambda t: t, np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="n_points, d"):
        bregman_matrix(fam, np.array([0.0, -1.0]), np.array([[0.0, -1.0]]))
