"""Exact TASEP references against independent exact computations (docs/tasep.md)."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
import xarray as xr

from statgeo.grid import ParameterGrid
from statgeo.coordinates import tasep_rates_map
from statgeo.models.exact import (
    configuration_log_prob,
    configuration_scores,
    current,
    density_profile,
    enumerate_law,
    log_partition,
    log_partition_all,
    log_partition_derivatives,
    log_partition_matrix,
    observable_fisher_enumeration,
    observable_fisher_from_samples,
    tasep_exact,
    tasep_matrices,
)
from tests.models.test_tasep_reference import bond_currents, configs, exact_log_z, generator, stationary_law

RATES = [(0.3, 0.7), (0.7, 0.3), (0.5, 0.5), (0.2, 0.2), (1.0, 1.0), (0.9, 0.35), (0.05, 1.0), (1.0, 0.1)]


# ---------------------------------------------------------------- stationary law vs generator
@pytest.mark.parametrize("N", [1, 2, 4, 6, 8])
@pytest.mark.parametrize("alpha,beta", RATES)
def test_law_density_current_against_generator_null_vector(N, alpha, beta):
    p_gen = stationary_law(N, alpha, beta)
    c, p = enumerate_law(N, alpha, beta)
    np.testing.assert_array_equal(c, configs(N))
    # Σ_τ W(τ)/Z_N = 1 checks the closed-form Z_N against the matrix product
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(p, p_gen, rtol=1e-9, atol=1e-13)
    # batched configuration probabilities agree with enumeration
    np.testing.assert_allclose(configuration_log_prob(c, alpha, beta), np.log(p), rtol=1e-12, atol=1e-12)
    # residual of the master equation
    assert np.abs(p @ generator(N, alpha, beta)).max() < 1e-12
    # density profile on every site, current on every bond
    np.testing.assert_allclose(density_profile(N, alpha, beta), p_gen @ configs(N), atol=1e-12)
    np.testing.assert_allclose(bond_currents(N, alpha, beta, p_gen), current(N, alpha, beta), rtol=1e-9)


def test_single_site_closed_forms():
    # N = 1: Z_1 = 1/α + 1/β, J = αβ/(α+β), ⟨τ⟩ = α/(α+β)
    a, b = 0.3, 0.7
    assert np.exp(log_partition(1, a, b)) == pytest.approx(1 / a + 1 / b, rel=1e-14)
    assert current(1, a, b) == pytest.approx(a * b / (a + b), rel=1e-14)
    assert density_profile(1, a, b)[0] == pytest.approx(a / (a + b), rel=1e-14)


# ---------------------------------------------------------------- Z_N
@pytest.mark.parametrize("N", [1, 2, 3, 10, 30, 100])
def test_catalan_numbers(N):
    cat = math.comb(2 * N + 2, N + 1) // (N + 2)
    assert log_partition(N, 1.0, 1.0) == pytest.approx(math.log(cat), rel=1e-13)


@pytest.mark.parametrize("alpha,beta", [(Fraction(1, 4), Fraction(1, 2)), (Fraction(1, 2), Fraction(1, 2)),
                                        (Fraction(3, 4), Fraction(1, 8)), (Fraction(1), Fraction(1))])
@pytest.mark.parametrize("N", [7, 200, 1000])
def test_log_z_against_exact_rationals(N, alpha, beta):
    ref = exact_log_z(N, 1 / alpha, 1 / beta)
    got = log_partition(N, float(alpha), float(beta))
    assert np.isfinite(got)
    assert got == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.02, 0.02), (1.0, 1.0), (0.02, 0.9), (0.9, 0.01)])
def test_log_z_against_matrix_recursion_n1000(alpha, beta):
    N = 1000
    lz_all = log_partition_matrix(N, alpha, beta)
    assert lz_all[N] == pytest.approx(float(log_partition(N, alpha, beta)), rel=1e-12)
    # ln Z_k for every k from the Numba closed-form kernel
    np.testing.assert_allclose(log_partition_all(N, alpha, beta)[::97], lz_all[::97], rtol=1e-12)


def test_vectorised_shapes_and_values():
    a = np.linspace(0.05, 1.0, 7)
    A, B = np.meshgrid(a, a[::-1], indexing="ij")
    lz = log_partition(20, A, B)
    assert lz.shape == A.shape
    ref = np.array([[log_partition(20, x, y) for x, y in zip(ra, rb)] for ra, rb in zip(A, B)])
    np.testing.assert_array_equal(lz, ref)
    l2, g, h = log_partition_derivatives(20, A, B)
    assert g.shape == A.shape + (2,) and h.shape == A.shape + (2, 2)
    np.testing.assert_allclose(l2, lz, rtol=1e-14)
    assert density_profile(20, A, B).shape == A.shape + (20,)


def test_alpha_equals_beta_continuity():
    # values and derivatives are smooth through α = β (no cancellation in the geometric sum)
    N, x = 300, 0.3
    l0, g0, h0 = log_partition_derivatives(N, x, x)
    for d in (1e-14, 1e-11, 1e-8, 1e-6):
        l1, g1, h1 = log_partition_derivatives(N, x, x + d)
        # first-order Taylor: |Δ ln Z| ≈ |∂_β ln Z| d; the Hessian changes by O(N³ d)
        assert abs(l1 - l0) <= 2 * abs(g0[1]) / x * d + 1e-12
        np.testing.assert_allclose(g1, g0, atol=N**2 * d / x + 1e-10)
        np.testing.assert_allclose(h1, h0, atol=N**3 * d / x + 1e-8)
    # against exact rationals just off the diagonal
    ref = exact_log_z(50, Fraction(10, 3), Fraction(10**9, 3 * 10**8 + 1))
    assert log_partition(50, 0.3, (3 * 10**8 + 1) / 10**9) == pytest.approx(ref, rel=1e-13)


@pytest.mark.parametrize("N", [1, 8, 50, 500])
@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.4, 0.4), (1.0, 1.0), (0.05, 0.6), (0.8, 0.15)])
def test_derivatives_against_finite_differences(N, alpha, beta):
    h = 1e-5
    th = np.array([-np.log(alpha), -np.log(beta)])

    def f(t):
        return log_partition_derivatives(N, np.exp(-t[0]), np.exp(-t[1]))

    lz, g, H = f(th)
    fd_g = np.empty(2)
    fd_H = np.empty((2, 2))
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        if th[i] > h:  # central difference
            fd_g[i] = (f(th + e)[0] - f(th - e)[0]) / (2 * h)
            fd_H[i] = (f(th + e)[1] - f(th - e)[1]) / (2 * h)
        else:  # rate = 1 is the edge of (0, 1]: one-sided second-order stencil into θ > 0
            f0, f1, f2 = f(th), f(th + e), f(th + 2 * e)
            fd_g[i] = (-3 * f0[0] + 4 * f1[0] - f2[0]) / (2 * h)
            fd_H[i] = (-3 * f0[1] + 4 * f1[1] - f2[1]) / (2 * h)
    # central differences: truncation O(h²·third derivative), rounding O(eps·lnZ/h)
    np.testing.assert_allclose(g, fd_g, rtol=1e-6, atol=1e-9 * max(1.0, abs(lz)) / h * 1e-2 + 1e-7)
    np.testing.assert_allclose(H, fd_H, rtol=1e-5, atol=1e-6 * max(1.0, N))
    np.testing.assert_allclose(H, H.T)
    assert np.linalg.eigvalsh(H).min() > -1e-10  # convex log-partition


def test_gradient_is_mean_latent_count_n1():
    # Z_1 = a + b: ∇_θ ln Z_1 = (a, b)/(a+b)
    _, g, H = log_partition_derivatives(1, 0.25, 0.5)
    np.testing.assert_allclose(g, [4 / 6, 2 / 6], rtol=1e-14)
    np.testing.assert_allclose(H, (8 / 36) * np.array([[1, -1], [-1, 1]]), rtol=1e-13)


# ---------------------------------------------------------------- finite representation
@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.2, 0.05), (1.0, 1.0)])
def test_finite_representation_algebra(alpha, beta):
    N = 6
    m = tasep_matrices(N, alpha, beta)
    D, E, W, V = m["D"], m["E"], m["W"], m["V"]
    k = N  # the leading N×N block is unaffected by truncation for DE (bidiagonal factors)
    np.testing.assert_allclose((D @ E)[:k, :k], (D + E)[:k, :k], atol=1e-14)
    np.testing.assert_allclose(W @ E, W / alpha)
    np.testing.assert_allclose((D @ V)[:N], V[:N] / beta, rtol=1e-14)
    assert W @ V == 1.0
    # brute force products of the dense matrices reproduce the law
    p_gen = stationary_law(N, alpha, beta)
    w = np.array([W @ np.linalg.multi_dot([D if t else E for t in c] + [V]) for c in configs(N)])
    np.testing.assert_allclose(w / np.exp(log_partition(N, alpha, beta)), p_gen, rtol=1e-9)


def test_configuration_log_prob_large_n_normalised_by_sampling_free_identity():
    # Σ_i P(τ_i = 1) from ln P of single-site-flip families is not closed; instead check a
    # known product: the empty and full lattices, P ∝ ⟨W|E^N|V⟩ = a^N and ⟨W|D^N|V⟩ = b^N.
    N, a, b = 400, 0.37, 0.61
    lz = log_partition(N, a, b)
    lp = configuration_log_prob(np.stack([np.zeros(N, np.int8), np.ones(N, np.int8)]), a, b)
    np.testing.assert_allclose(lp, [-N * np.log(a) - lz, -N * np.log(b) - lz], rtol=1e-12)


@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.6, 0.6), (1.0, 1.0), (0.1, 0.9)])
def test_configuration_scores_against_finite_differences(alpha, beta):
    rng = np.random.default_rng(5)
    tau = rng.integers(0, 2, size=(6, 30)).astype(np.int8)
    s = configuration_scores(tau, alpha, beta)
    h = 1e-5
    th = np.array([-np.log(alpha), -np.log(beta)])

    def lp(t):
        return configuration_log_prob(tau, np.exp(-t[0]), np.exp(-t[1]))

    # one-sided second-order stencil into θ > 0 (rates may sit at the edge α, β = 1)
    fd = []
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        fd.append((-3 * lp(th) + 4 * lp(th + e) - lp(th + 2 * e)) / (2 * h))
    fd_a, fd_b = fd
    np.testing.assert_allclose(s[:, 0], fd_a, atol=2e-6)
    np.testing.assert_allclose(s[:, 1], fd_b, atol=2e-6)


# ---------------------------------------------------------------- observable Fisher information
def test_observable_fisher_against_generator_finite_differences():
    # F_obs = Σ_τ (∂_θ P)(∂_θ P)ᵀ / P with P from the generator's null vector (independent route)
    N, alpha, beta, h = 4, 0.35, 0.6, 1e-5
    th = np.array([-np.log(alpha), -np.log(beta)])
    p0 = stationary_law(N, alpha, beta)
    dp = []
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        pp = stationary_law(N, *np.exp(-(th + e)))
        pm = stationary_law(N, *np.exp(-(th - e)))
        dp.append((pp - pm) / (2 * h))
    dp = np.array(dp)
    F_ref = np.einsum("ic,jc,c->ij", dp, dp, 1 / p0)
    np.testing.assert_allclose(observable_fisher_enumeration(N, alpha, beta), F_ref, rtol=1e-6)


@pytest.mark.parametrize("N", [1, 3, 8, 12])
@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.25, 0.25), (0.8, 0.9), (1.0, 0.2)])
def test_observable_fisher_bounded_by_complete_data_hessian(N, alpha, beta):
    c, p, s = enumerate_law(N, alpha, beta, with_scores=True)
    np.testing.assert_allclose(p @ s, 0.0, atol=1e-11)  # scores have mean zero
    F = observable_fisher_enumeration(N, alpha, beta)
    H = log_partition_derivatives(N, alpha, beta)[2]
    np.testing.assert_allclose(F, F.T, atol=1e-13)
    assert np.linalg.eigvalsh(F).min() > -1e-12
    assert np.linalg.eigvalsh(H - F).min() > -1e-10  # F_obs ⪯ ∇² ln Z_N


def test_observable_fisher_differs_by_about_30_percent_at_n8():
    # docs/tasep.md, "Which log Z is which": at N = 8, (α, β) = (0.3, 0.7) the two metrics differ by ~30 %
    F = observable_fisher_enumeration(8, 0.3, 0.7)
    H = log_partition_derivatives(8, 0.3, 0.7)[2]
    rel = np.linalg.norm(H - F) / np.linalg.norm(H)
    assert 0.2 < rel < 0.4
    rel_diag = 1 - np.diag(F) / np.diag(H)
    assert np.all((rel_diag > 0.15) & (rel_diag < 0.4))


# ---------------------------------------------------------------- tasep_exact dataset
def _grid(n=3):
    return ParameterGrid.from_ranges(alpha=(0.2, 1.0, n), beta=(0.3, 0.9, n), coordinate_map=tasep_rates_map())


def test_tasep_exact_dataset(tmp_path):
    g = _grid()
    ds = tasep_exact(g, 6)
    assert ds.log_z.dims == ("alpha", "beta")
    assert ds.hessian_log_z.dims == ("alpha", "beta", "natural", "natural_")
    assert ds.density.dims == ("alpha", "beta", "site")
    assert list(ds.natural.values) == ["theta_alpha", "theta_beta"]
    cfg = json.loads(ds.attrs["config"])
    assert cfg["N"] == 6 and cfg["fisher"]["method"] == "enumeration"
    A, B = g.mesh()
    np.testing.assert_allclose(ds.log_z, log_partition(6, A, B))
    np.testing.assert_allclose(ds.log_z_per_site, ds.log_z / 6)
    # pull-backs through J = diag(−1/α, −1/β), consistent with the grid's coordinate map
    grad = ds.grad_log_z.values
    np.testing.assert_allclose(ds.grad_log_z_grid.values, g.pull_back_gradient(grad.reshape(-1, 2)).reshape(grad.shape))
    H = ds.hessian_log_z.values
    np.testing.assert_allclose(ds.metric_grid.values, g.pull_back_metric(H.reshape(-1, 2, 2)).reshape(H.shape))
    np.testing.assert_array_equal(ds.metric.values, H)
    F = ds.observable_fisher.values
    np.testing.assert_allclose(ds.observable_fisher_grid.values,
                               g.pull_back_metric(F.reshape(-1, 2, 2)).reshape(F.shape))
    np.testing.assert_allclose(ds.observable_fisher.values[1, 2], observable_fisher_enumeration(6, A[1, 2], B[1, 2]))
    assert (ds.observable_fisher_error == 0).all()
    np.testing.assert_allclose(ds.current, current(6, A, B))
    path = tmp_path / "tasep_exact.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = xr.open_dataset(path, engine="h5netcdf")
    xr.testing.assert_identical(back.load(), ds)


def test_observable_fisher_from_samples_vectorised():
    al = np.array([0.8, 0.25])
    be = np.array([0.9, 0.25])
    F, err = observable_fisher_from_samples(6, al, be, 20000, seed=4)
    assert F.shape == err.shape == (2, 2, 2)
    z = (F - observable_fisher_enumeration(6, al, be)) / err
    assert np.abs(z).max() < 4.5
    F2, _ = observable_fisher_from_samples(6, al, be, 20000, seed=4)
    np.testing.assert_array_equal(F, F2)


def test_tasep_exact_fisher_from_samples_matches_enumeration():
    g = ParameterGrid.from_ranges(alpha=[0.3], beta=[0.7], coordinate_map=tasep_rates_map())
    ex = tasep_exact(g, 8, fisher="enumeration")
    mc = tasep_exact(g, 8, fisher="samples", n_fisher_samples=20000, seed=11, density=False)
    z = (mc.observable_fisher - ex.observable_fisher) / mc.observable_fisher_error
    # 3 independent components, each within 4 standard errors
    assert float(np.abs(z).max()) < 4.0
    assert (mc.observable_fisher_error > 0).all()
    assert "density" not in mc


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"N": 0}, ValueError, "N must be an integer in"),
    ({"N": 4.0}, TypeError, "N must be an integer"),
    ({"N": 4, "fisher": "magic"}, ValueError, "fisher must be one of"),
    ({"N": 30, "fisher": "enumeration"}, ValueError, "fisher='enumeration'"),
    ({"N": 4, "n_fisher_samples": 1}, ValueError, "n_fisher_samples"),
    ({"N": 4, "seed": -1}, ValueError, "seed"),
])
def test_tasep_exact_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        tasep_exact(_grid(2), **kwargs)


def test_bad_grids_rejected():
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\]"):
        tasep_exact(ParameterGrid.from_ranges(alpha=(0.0, 1.0, 3), beta=(0.3, 0.9, 3)), 4)
    with pytest.raises(ValueError, match=r"beta must be in \(0, 1\]"):
        tasep_exact(ParameterGrid.from_ranges(alpha=(0.1, 1.0, 3), beta=(0.3, 1.5, 3)), 4)
    with pytest.raises(ValueError, match="axes \\('alpha', 'beta'\\)"):
        tasep_exact(ParameterGrid.from_ranges(T=(1.0, 2.0, 3), H=(0.0, 1.0, 3)), 4)
    with pytest.raises(TypeError, match="ParameterGrid"):
        tasep_exact({"alpha": [0.5]}, 4)


@pytest.mark.parametrize("alpha,beta,exc", [(0.0, 0.5, ValueError), (1.01, 0.5, ValueError), (0.5, -0.1, ValueError),
                                            (np.nan, 0.5, ValueError), (0.5, np.inf, ValueError),
                                            ("0.5", 0.5, TypeError), (0.5, None, TypeError), ([], 0.5, ValueError),
                                            (True, 0.5, TypeError), (0.5, 1j, TypeError),
                                            ([0.5, 0.6], [0.5, 0.6, 0.7], ValueError)])
def test_bad_rates_rejected(alpha, beta, exc):
    for f in (log_partition, log_partition_derivatives, current, density_profile):
        with pytest.raises(exc, match="alpha|beta"):
            f(5, alpha, beta)


def test_bad_configurations_rejected():
    with pytest.raises(ValueError, match="tau must contain only"):
        configuration_log_prob(np.array([0, 2, 1]), 0.5, 0.5)
    with pytest.raises(TypeError, match="tau must have dtype"):
        configuration_log_prob(np.array([0.0, 1.0]), 0.5, 0.5)
    with pytest.raises(ValueError, match="alpha and beta must be scalars"):
        configuration_log_prob(np.array([0, 1]), [0.5, 0.6], 0.5)
    with pytest.raises(ValueError, match="N must be an integer in"):
        enumerate_law(40, 0.5, 0.5)
