"""Encoder analysis: quadrature references, penalties, scale-corrected deviation, bi-Lipschitz bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from statgeo.diffusion.diffusability import (  # noqa: E402
    GaussianMixture,
    analyse_encoder,
    analyse_linear_gaussian,
    compression_penalty,
    compression_penalty_limit,
    curvature_injection_penalty,
    fisher_information_rate,
    gaussian_fisher_information,
    gaussian_fisher_information_rate,
    linear_bilipschitz_bounds,
    pushforward_fisher_1d,
    pushforward_fisher_curve,
    tangential_distortion_penalty,
    tangential_encoder,
)

TAUS = np.array([1e-3, 0.05, 1.0, 20.0])


def test_quadrature_1d_matches_gaussian_closed_form():
    r = pushforward_fisher_1d(lambda x: 0.7 * x, TAUS)
    np.testing.assert_allclose(r["I"], 1 / (0.49 + TAUS), rtol=1e-9)
    np.testing.assert_allclose(r["R"], -1 / (0.49 + TAUS) ** 2, rtol=1e-9)
    np.testing.assert_allclose(r["mass"], 1.0, rtol=1e-10)


@pytest.mark.parametrize("act", [np.tanh, lambda x: np.where(x > 0, x, 0.2 * x)], ids=["tanh", "leaky0.2"])
def test_quadrature_1d_rate_is_derivative_and_matches_mc(act):
    """R (∫pH²) equals the FD of I (∫ps²); I, R agree with MC over a quantile-discretised law."""
    for tau in (0.02, 0.5):
        h = 1e-4 * tau
        Ip, Im = pushforward_fisher_1d(act, [tau + h, tau - h])["I"]
        assert pushforward_fisher_1d(act, tau)["R"][0] == pytest.approx((Ip - Im) / (2 * h), rel=1e-5)
    from scipy.special import ndtri

    x = ndtri((np.arange(3000) + 0.5) / 3000)  # equal-mass quantile atoms of N(0, 1)
    g = GaussianMixture(act(x)[:, None])
    f = g.fisher_mc(0.5, 4000, seed=1)
    ref = pushforward_fisher_1d(act, 0.5)
    assert abs(f["I"].mean - ref["I"][0]) < 4 * f["I"].error
    assert abs(f["R"].mean - ref["R"][0]) < 4 * f["R"].error


def test_quadrature_curve_matches_degenerate_gaussian():
    """f(x) = (a x, 0): I = 1/(a² + τ) + 1/τ, R = −1/(a² + τ)² − 1/τ² (zero-variance direction)."""
    t = np.array([0.01, 0.3, 5.0])
    r = pushforward_fisher_curve(lambda x: np.stack([1.3 * x, 0 * x], 1), t, n_outer=24, n_inner=8)
    np.testing.assert_allclose(r["I"], 1 / (1.69 + t) + 1 / t, rtol=1e-9)
    np.testing.assert_allclose(r["R"], -1 / (1.69 + t) ** 2 - 1 / t**2, rtol=1e-9)


def test_compression_penalty_from_estimator():
    """k = 2 data embedded in R^D, projected to d coordinates: D_R → (D − d)/(D − k) at small τ.

    R_z and R_x are Hutchinson estimates with the exact (degenerate-Gaussian) scores.
    """
    Dm, k, tau = 6, 2, 1e-3
    for d in (2, 4):
        lx = np.r_[np.ones(k), np.zeros(Dm - k)]

        def sampler(dim):
            return lambda n, g: torch.cat([torch.randn((n, k), generator=g, dtype=torch.float64),
                                           torch.zeros((n, dim - k), dtype=torch.float64)], 1)

        def score(y, t):
            return -y / (torch.tensor(np.r_[np.ones(k), np.zeros(y.shape[1] - k)]) + t)

        Rx = fisher_information_rate(score, sampler(Dm), tau, n_samples=2000, probe="gaussian", seed=1)
        Rz = fisher_information_rate(score, sampler(d), tau, n_samples=2000, probe="gaussian", seed=2)
        dev = abs(Rz.value - Rx.value) / abs(Rx.value)
        err = dev * math.hypot(Rz.stderr / Rz.value, Rx.stderr / Rx.value) * 2
        lim = compression_penalty_limit(Dm, d, k)
        assert abs(dev - lim) < 4 * err + 0.01  # O(τ) bias ≈ 2kτ²/(D−k) ≪ 0.01
        assert compression_penalty(tau, Dm, d, k) == pytest.approx(lim, abs=1e-5)
        np.testing.assert_allclose(gaussian_fisher_information_rate(tau, lx), -k / (1 + tau) ** 2 - (Dm - k) / tau**2)


def test_tangential_distortion_linear_in_delta():
    deltas = np.array([0.01, 0.02, 0.04])
    dev = tangential_distortion_penalty(0.1, deltas)  # anisotropic default
    np.testing.assert_allclose(dev[1:] / dev[:-1], 2.0, rtol=0.05)
    # isotropic data: first order cancels, D_R = 3δ²/(1+τ)² + O(δ⁴)
    iso = tangential_distortion_penalty(0.1, deltas, variances=(1.0, 1.0))
    np.testing.assert_allclose(iso, 3 * deltas**2 / 1.1**2, rtol=0.01)
    # cross-check the closed form against the generic linear-Gaussian analysis (matrix route)
    ds = analyse_linear_gaussian(tangential_encoder(0.04), np.diag([1.0, 0.25]), [0.1])
    assert float(ds.D_R[0]) == pytest.approx(float(dev[2]), rel=1e-10)


def test_scale_corrected_deviation_invariance():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(3, 3))
    S = np.diag([1.0, 0.5, 0.1])
    a = analyse_linear_gaussian(A, S, TAUS)
    b = analyse_linear_gaussian(3.7 * A, S, TAUS)
    np.testing.assert_allclose(a.D_R_scaled, b.D_R_scaled, rtol=1e-9)
    assert not np.allclose(a.D_R, b.D_R)
    Q, _ = np.linalg.qr(A)
    c = analyse_linear_gaussian(2.5 * Q, S, TAUS)
    np.testing.assert_allclose(c.D_R_scaled, 0.0, atol=1e-12)
    assert float(c.attrs["scale"]) == pytest.approx(2.5)
    # empirical-law route (Monte Carlo, exact mixture scores): the same invariance with common seeds
    x = rng.normal(size=(300, 2))
    e1 = analyse_encoder(lambda v: v @ torch.tensor([[1.0, 0.3], [0.0, 0.5]], dtype=torch.float64), x, [0.5, 2.0], n_mc=400)
    e2 = analyse_encoder(lambda v: 4.0 * v @ torch.tensor([[1.0, 0.3], [0.0, 0.5]], dtype=torch.float64), x, [0.5, 2.0], n_mc=400)
    np.testing.assert_allclose(e1.D_R_scaled, e2.D_R_scaled, rtol=1e-6)
    assert float(e2.attrs["scale"]) == pytest.approx(4 * float(e1.attrs["scale"]))


def test_curvature_injection_intermediate_tau():
    t = np.array([1e-3, 0.3, 3.0])
    r = curvature_injection_penalty(t, 1.0, n_outer=32, n_inner=12)
    assert r["D_R"][0] < 1e-3 and r["D_R"][1] > 10 * r["D_R"][0]
    weak = curvature_injection_penalty(t[1:2], 0.2, n_outer=32, n_inner=12)
    assert weak["D_R"][0] < r["D_R"][1]


def test_bilipschitz_bounds_gaussian_and_general():
    rng = np.random.default_rng(4)
    S = np.diag([2.0, 0.3])
    lx = np.array([2.0, 0.3])
    Ix = lambda t: gaussian_fisher_information(np.asarray(t), lx)  # noqa: E731
    t = np.geomspace(1e-3, 1e2, 7)
    for A in (rng.normal(size=(2, 2)), rng.normal(size=(3, 2))):
        Iz = analyse_linear_gaussian(A, S, t).I_z.values
        for form in ("gaussian", "general"):
            lo, hi = linear_bilipschitz_bounds(A, Ix, t, form=form)
            assert np.all(lo <= Iz * (1 + 1e-12)) and np.all(Iz <= hi * (1 + 1e-12))


def test_tight_form_can_fail_for_bimodal_data():
    """x uniform on {±1}²: the general bounds hold, the Gaussian-form lower bound fails."""
    M, m, tau = 10.0, 1.0, 0.3
    sign = lambda x: np.where(x > 0, 1.0, -1.0)  # noqa: E731
    Ib = lambda t: pushforward_fisher_1d(sign, t)["I"]  # noqa: E731
    Ix = lambda t: 2 * Ib(t)  # noqa: E731
    Iz = pushforward_fisher_1d(lambda x: M * sign(x), tau)["I"] + pushforward_fisher_1d(lambda x: m * sign(x), tau)["I"]
    A = np.diag([M, m])
    lo, hi = linear_bilipschitz_bounds(A, Ix, tau, form="general")
    assert lo[0] <= Iz[0] <= hi[0]
    lo_g, _ = linear_bilipschitz_bounds(A, Ix, tau, form="gaussian")
    assert Iz[0] < lo_g[0]


def test_bad_inputs():
    with pytest.raises(ValueError, match="d must be"):
        compression_penalty_limit(4, 1, 2)
    with pytest.raises(ValueError, match="delta"):
        tangential_distortion_penalty(0.1, 1.5)
    with pytest.raises(ValueError, match="A must"):
        linear_bilipschitz_bounds(np.ones((1, 2)), lambda t: t, 1.0)
    with pytest.raises(ValueError, match="tau"):
        curvature_injection_penalty(-1.0, 1.0)
    with pytest.raises(ValueError, match="x must"):
        analyse_encoder(lambda v: v, np.ones(5), [1.0])
    with pytest.raises(ValueError, match="non-finite"):
        analyse_encoder(lambda v: v * float("nan"), np.ones((5, 2)), [1.0])
    with pytest.raises(ValueError, match="cov"):
        analyse_linear_gaussian(np.eye(2), np.eye(3), [1.0])
