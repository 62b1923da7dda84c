"""Tests of the Gaussian-statistic Fisher metric g_s = J_μᵀ Σ⁻¹ J_μ.

Oracles (independent of the code under test):
* an independent Bernoulli × Poisson family in natural parameters t = (logit p, ln λ):
  Φ(t) = ln(1 + e^{t1}) + e^{t2}, μ = (σ(t1), e^{t2}), Σ = g = diag(σ(1 − σ), e^{t2});
* the 3×3 Ising torus by brute-force enumeration of its 512 configurations: the sufficient
  statistics (B, M) with exact mean and covariance, sampled from their exact joint law.
"""

from __future__ import annotations

import numpy as np
import pytest

from statgeo.geometry.statistic_metric import (
    gaussian_statistic_metric,
    mean_jacobian,
    statistic_metric,
    statistic_moments,
)
from statgeo.grid import ParameterGrid
from statgeo.coordinates import tasep_rates_map


# ----------------------------------------------------------------- oracles
def bern_poisson(t: np.ndarray):
    p = 1.0 / (1.0 + np.exp(-t[..., 0]))
    lam = np.exp(t[..., 1])
    mu = np.stack([p, lam], -1)
    g = np.zeros(t.shape + (2,))
    g[..., 0, 0] = p * (1 - p)
    g[..., 1, 1] = lam
    return mu, g


def bern_poisson_samples(grid: ParameterGrid, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = grid.natural_points().reshape(grid.shape + (2,))
    mu, _ = bern_poisson(t)
    b = rng.random(grid.shape + (n,)) < mu[..., 0, None]
    po = rng.poisson(np.broadcast_to(mu[..., 1, None], grid.shape + (n,)))
    return np.stack([b.astype(float), po.astype(float)], -1)


def ising3_bm():
    """Distinct (B, M) values of the 3×3 torus and their multiplicities, by enumeration."""
    L = 3
    idx = np.arange(2 ** (L * L))
    s = (1 - 2 * ((idx[:, None] >> np.arange(L * L)) & 1)).reshape(-1, L, L)
    B = (s * np.roll(s, 1, 1)).sum((1, 2)) + (s * np.roll(s, 1, 2)).sum((1, 2))
    M = s.sum((1, 2))
    pairs, counts = np.unique(np.stack([B, M], -1), axis=0, return_counts=True)
    return pairs.astype(float), counts.astype(float)


def ising3_law(K, eta, pairs, counts):
    logw = np.log(counts) + K[..., None] * pairs[:, 0] + eta[..., None] * pairs[:, 1]
    logw -= logw.max(-1, keepdims=True)
    p = np.exp(logw)
    p /= p.sum(-1, keepdims=True)
    mean = p @ pairs
    cov = np.einsum("...c,ca,cb->...ab", p, pairs, pairs) - mean[..., :, None] * mean[..., None, :]
    return p, mean, cov


# ----------------------------------------------------------------- deterministic pieces
def test_exact_moments_give_exact_metric_at_second_order():
    """With exact μ and Σ = Cov(f), g_s = ∇²Φ up to the O(h²) finite-difference error."""
    errs = []
    for n in (9, 17, 33):
        grid = ParameterGrid.from_ranges(a=(-1.5, 1.0, n), b=(-0.5, 1.0, n))
        t = grid.natural_points().reshape(grid.shape + (2,))
        mu, g = bern_poisson(t)
        J = mean_jacobian(mu, grid)
        gs = gaussian_statistic_metric(J, g)
        errs.append(np.max(np.abs(gs - g)))
    assert errs[-1] < 5e-3  # max over the grid incl. one-sided edges; g is O(1)
    assert errs[0] / errs[1] > 3.0 and errs[1] / errs[2] > 3.0  # second order: ratio → 4


def test_mean_jacobian_chain_rule_to_natural_coordinates():
    """A grid in physical (α, β) with t = −ln p: ∂μ/∂t by chain rule, second order."""
    errs = []
    for n in (21, 41, 81):
        grid = ParameterGrid.from_ranges(tasep_rates_map(), alpha=(0.2, 0.9, n), beta=(0.3, 1.0, n))
        t = grid.natural_points().reshape(grid.shape + (2,))
        mu = np.stack([np.sin(t[..., 0]) * t[..., 1], t[..., 0] ** 2 + np.exp(t[..., 1])], -1)
        exact = np.zeros(grid.shape + (2, 2))
        exact[..., 0, 0] = np.cos(t[..., 0]) * t[..., 1]
        exact[..., 0, 1] = np.sin(t[..., 0])
        exact[..., 1, 0] = 2 * t[..., 0]
        exact[..., 1, 1] = np.exp(t[..., 1])
        errs.append(np.max(np.abs(mean_jacobian(mu, grid) - exact)))
    assert errs[0] / errs[1] > 3.0 and errs[1] / errs[2] > 3.0


def test_gaussian_statistic_metric_algebra_and_pseudo_inverse():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((3, 3))
    S = A @ A.T + np.eye(3)
    J = rng.standard_normal((3, 2))
    np.testing.assert_allclose(gaussian_statistic_metric(J, S), J.T @ np.linalg.solve(S, J), rtol=1e-12)
    # a statistic with zero variance in one direction carries no information along it
    S0 = np.diag([2.0, 0.0])
    J0 = np.array([[1.0, 0.0], [0.0, 5.0]])
    np.testing.assert_allclose(gaussian_statistic_metric(J0, S0), np.diag([0.5, 0.0]), atol=1e-14)


def test_moments_shrinkage_and_ridge():
    rng = np.random.default_rng(2)
    s = rng.standard_normal((4, 50, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.2], [0.0, 0.0, 1.0]])
    mu, S = statistic_moments(s)
    np.testing.assert_allclose(mu, s.mean(1))
    np.testing.assert_allclose(S[1], np.cov(s[1].T), rtol=1e-12)
    _, S1 = statistic_moments(s, shrinkage=1.0)
    np.testing.assert_allclose(S1, np.einsum("gaa->ga", S)[..., None] * np.eye(3), atol=1e-14)
    _, Sr = statistic_moments(s, ridge=0.1)
    eps = 0.1 * np.mean(np.einsum("gaa->g", S)) / 3
    np.testing.assert_allclose(Sr - S, eps * np.broadcast_to(np.eye(3), S.shape), atol=1e-14)


# ----------------------------------------------------------------- sampled, with error bars
def test_sampled_sufficient_statistic_ising3_within_bootstrap_errors():
    """s = (B, M) of the 3×3 torus sampled from its exact law: g_s agrees with Cov(B, M).

    The estimate is compared (z-scores with bootstrap errors) with g_s built from the exact
    moments on the same grid (which differs from Cov only by the O(h²) differencing error,
    checked separately to be far below the statistical error).
    """
    pairs, counts = ising3_bm()
    grid = ParameterGrid.from_ranges(K=(0.05, 0.3, 9), eta=(-0.2, 0.2, 9))
    K, E = grid.mesh()
    p, mean, cov = ising3_law(K, E, pairs, counts)
    n = 3000
    rng = np.random.default_rng(3)
    cdf = np.cumsum(p, -1)
    u = rng.random(grid.shape + (n,))
    idx = np.minimum((u[..., None] > cdf[..., None, :]).sum(-1), len(pairs) - 1)
    stats = pairs[idx]  # (9, 9, n, 2)
    res = statistic_metric(stats, grid, n_boot=40, seed=5)
    g_fd = gaussian_statistic_metric(mean_jacobian(mean, grid), cov)
    err = res.metric_error
    assert np.all(err > 0)
    assert np.sqrt(np.mean(((g_fd - cov) / err) ** 2)) < 0.3  # discretisation bias ≪ statistical error
    z = (res.metric - g_fd) / err
    zz = z[..., [0, 0, 1], [0, 1, 1]].ravel()
    assert np.mean(zz**2) == pytest.approx(1.0, abs=0.5)
    assert np.mean(np.abs(zz) < 3.0) > 0.97
    # relative agreement with the exact metric (statistical error ~ 1/(h√(2n)) relative)
    rel = np.abs(res.metric - cov)[..., [0, 1], [0, 1]] / cov[..., [0, 1], [0, 1]]
    assert np.median(rel) < 0.2


def test_error_shrinks_like_one_over_sqrt_n():
    """16× more samples → ≈ 4× smaller error against the exact-moment g_s on the same grid."""
    grid = ParameterGrid.from_ranges(a=(-1.0, 1.0, 9), b=(0.0, 1.0, 9))
    t = grid.natural_points().reshape(grid.shape + (2,))
    mu, g = bern_poisson(t)
    g_fd = gaussian_statistic_metric(mean_jacobian(mu, grid), g)
    rms = []
    for n in (250, 4000):
        r = [np.sqrt(np.mean((statistic_metric(bern_poisson_samples(grid, n, seed), grid).metric - g_fd) ** 2))
             for seed in (10, 11, 12)]
        rms.append(np.mean(r))
    assert 2.5 < rms[0] / rms[1] < 6.5


def test_smoothing_reduces_noise_and_bootstrap_is_reproducible():
    grid = ParameterGrid.from_ranges(a=(-1.0, 1.0, 15), b=(0.0, 1.0, 15))
    t = grid.natural_points().reshape(grid.shape + (2,))
    _, g = bern_poisson(t)
    s = bern_poisson_samples(grid, 200, 7)
    raw = statistic_metric(s, grid)
    sm = statistic_metric(s, grid, smooth=1.0, smooth_cov=True)
    assert np.sqrt(np.mean((sm.metric - g) ** 2)) < 0.7 * np.sqrt(np.mean((raw.metric - g) ** 2))
    a = statistic_metric(s, grid, n_boot=5, seed=1).metric_error
    b = statistic_metric(s, grid, n_boot=5, seed=1).metric_error
    np.testing.assert_array_equal(a, b)
    assert raw.metric_error is None
    assert raw.mean.shape == (15, 15, 2) and raw.cov.shape == (15, 15, 2, 2)
    assert raw.jacobian.shape == (15, 15, 2, 2) and raw.metric.shape == (15, 15, 2, 2)


def test_works_for_one_statistic_and_three_dimensional_grid():
    grid = ParameterGrid.from_ranges(a=(0.0, 1.0, 4), b=(0.0, 1.0, 3), c=(0.0, 1.0, 5))
    s = np.random.default_rng(0).standard_normal(grid.shape + (10, 1))
    res = statistic_metric(s, grid)
    assert res.metric.shape == grid.shape + (3, 3)
    assert np.all(np.linalg.eigvalsh(res.metric) > -1e-12)  # PSD (rank 1)


# ----------------------------------------------------------------- bad input
def test_bad_input():
    grid = ParameterGrid.from_ranges(a=(0.0, 1.0, 5), b=(0.0, 1.0, 4))
    good = np.random.default_rng(0).standard_normal((5, 4, 20, 2))
    with pytest.raises(ValueError, match="shape"):
        statistic_metric(good[:, :3], grid)
    bad = good.copy()
    bad[1, 1, 3, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        statistic_metric(bad, grid)
    one = ParameterGrid.from_ranges(a=(0.0, 1.0, 5), b=[0.5])
    with pytest.raises(ValueError, match="at least 2 points"):
        statistic_metric(good[:, :1], one)
    few = np.random.default_rng(0).standard_normal((5, 4, 3, 4))  # k = 4 > n = 3
    with pytest.raises(ValueError, match="n_samples"):
        statistic_metric(few, grid)
    assert np.isfinite(statistic_metric(few, grid, ridge=1e-3).metric).all()  # regularised: accepted
    with pytest.raises(ValueError, match="shrinkage"):
        statistic_metric(good, grid, shrinkage=1.5)
    with pytest.raises(TypeError, match="grid"):
        statistic_metric(good, (np.arange(5), np.arange(4)))
    with pytest.raises(TypeError, match="stats"):
        statistic_metric(good.astype(complex), grid)
    with pytest.raises(ValueError, match="n_samples >= 2"):
        statistic_metric(good[:, :, :1], grid, ridge=0.1)
