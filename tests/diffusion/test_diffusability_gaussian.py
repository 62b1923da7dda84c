"""Closed forms for Gaussian data (array API) and the VP ↔ τ conversion."""

from __future__ import annotations

import numpy as np
import pytest

from statgeo.diffusion.diffusability import (
    alpha_bar_from_tau,
    covariance_spectrum,
    gaussian_diagnostics,
    gaussian_fisher_information,
    gaussian_fisher_information_rate,
    gaussian_mmse,
    gaussian_mmse_rate,
    scheduler_taus,
    tau_from_alpha_bar,
    tau_from_timestep,
    timestep_from_tau,
)


def _cov(rank: int, D: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(D, rank))
    return B @ B.T


@pytest.mark.parametrize("rank", [4, 2])
def test_closed_forms_match_matrix_formulas(rank):
    """I = tr(Σ+τI)⁻¹, R = −‖(Σ+τI)⁻¹‖²_F, MMSE = tr(τΣ(Σ+τI)⁻¹), MMSE' = ‖Σ(Σ+τI)⁻¹‖²_F."""
    S = _cov(rank)
    lam = covariance_spectrum(S)
    assert (lam == 0).sum() == 4 - rank
    for tau in (0.01, 0.3, 5.0):
        P = np.linalg.inv(S + tau * np.eye(4))
        d = gaussian_diagnostics(tau, cov=S)
        np.testing.assert_allclose(d["I"], np.trace(P), rtol=1e-10)
        np.testing.assert_allclose(d["R"], -np.sum(P * P), rtol=1e-10)
        np.testing.assert_allclose(d["mmse"], np.trace(tau * S @ P), rtol=1e-9)
        np.testing.assert_allclose(d["mmse_rate"], np.sum((S @ P) ** 2), rtol=1e-9)
        # the identities between them (docs/diffusability.md, "Conventions")
        np.testing.assert_allclose(d["mmse"], tau * 4 - tau**2 * d["I"], rtol=1e-9)
        np.testing.assert_allclose(d["mmse_rate"], 4 - 2 * tau * d["I"] - tau**2 * d["R"], rtol=1e-8, atol=1e-12)


def test_zero_variance_directions():
    """Each zero-variance direction adds 1/τ to I, −1/τ² to R and nothing to the MMSE."""
    lam = np.array([2.0, 0.5])
    lam0 = np.array([2.0, 0.5, 0.0, 0.0, 0.0])
    tau = np.array([1e-3, 0.1, 4.0])
    np.testing.assert_allclose(gaussian_fisher_information(tau, lam0) - gaussian_fisher_information(tau, lam), 3 / tau)
    np.testing.assert_allclose(gaussian_fisher_information_rate(tau, lam0) - gaussian_fisher_information_rate(tau, lam),
                               -3 / tau**2, rtol=1e-12)
    np.testing.assert_allclose(gaussian_mmse(tau, lam0), gaussian_mmse(tau, lam))
    np.testing.assert_allclose(gaussian_mmse_rate(tau, lam0), gaussian_mmse_rate(tau, lam))


def test_rate_is_derivative_of_I():
    lam = covariance_spectrum(_cov(3))
    for tau in (0.05, 1.0):
        h = 1e-5 * tau
        fd = (gaussian_fisher_information(tau + h, lam) - gaussian_fisher_information(tau - h, lam)) / (2 * h)
        np.testing.assert_allclose(gaussian_fisher_information_rate(tau, lam), fd, rtol=1e-7)
        fdm = (gaussian_mmse(tau + h, lam) - gaussian_mmse(tau - h, lam)) / (2 * h)
        np.testing.assert_allclose(gaussian_mmse_rate(tau, lam), fdm, rtol=1e-7)


def test_array_api_namespaces(xp):
    lam_np = np.array([1.0, 0.25, 0.0])
    lam = xp.asarray(lam_np, dtype=xp.float64)
    tau = xp.asarray([0.1, 2.0], dtype=xp.float64)
    for f in (gaussian_fisher_information, gaussian_fisher_information_rate, gaussian_mmse, gaussian_mmse_rate):
        out = f(tau, lam)
        assert type(out) is type(lam) or hasattr(out, "__array_namespace__")
        ref = f(np.array([0.1, 2.0]), lam_np)
        np.testing.assert_allclose(np.asarray(out.tolist() if hasattr(out, "tolist") else out, dtype=float), ref,
                                   rtol=1e-12)
    S = xp.asarray(np.diag(lam_np), dtype=xp.float64)
    sp = covariance_spectrum(S)
    np.testing.assert_allclose(sorted(float(v) for v in sp.tolist() if True) if hasattr(sp, "tolist") else sorted(sp),
                               sorted(lam_np), atol=1e-15)


def test_vp_conversion_round_trip():
    ab = np.array([0.999, 0.5, 0.01])
    tau = tau_from_alpha_bar(ab)
    np.testing.assert_allclose(tau, (1 - ab) / ab)
    np.testing.assert_allclose(alpha_bar_from_tau(tau), ab)
    # y = x_t/√ᾱ has noise variance (1−ᾱ)/ᾱ = τ
    rng = np.random.default_rng(0)
    n = rng.normal(size=200_000)
    xt = np.sqrt(0.5) * 0.0 + np.sqrt(1 - 0.5) * n
    assert abs((xt / np.sqrt(0.5)).var() - tau[1]) < 5 * np.sqrt(2 / len(n)) * tau[1]


def test_scheduler_timestep_mapping():
    diffusers = pytest.importorskip("diffusers")
    sch = diffusers.DDPMScheduler(num_train_timesteps=100)
    ac = sch.alphas_cumprod.double().numpy()
    taus = scheduler_taus(sch)
    np.testing.assert_allclose(taus, (1 - ac) / ac)
    np.testing.assert_allclose(tau_from_timestep(sch, 37), (1 - ac[37]) / ac[37])
    t, used = timestep_from_tau(sch, taus[[5, 60]], mode="nearest")
    np.testing.assert_array_equal(t, [5, 60])
    np.testing.assert_allclose(used, taus[[5, 60]])
    # a τ between two timesteps: nearest in log τ, and fractional with exact τ
    mid = np.sqrt(taus[40] * taus[41]) * 1.01
    t, used = timestep_from_tau(sch, mid, mode="nearest")
    assert t == 41 and used == taus[41]
    t, used = timestep_from_tau(sch, mid, mode="interpolate")
    assert 40 < t < 41 and used == pytest.approx(mid)
    np.testing.assert_allclose(tau_from_timestep(sch, t), mid, rtol=1e-12)


def test_bad_inputs():
    lam = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="tau"):
        gaussian_fisher_information(0.0, lam)
    with pytest.raises(ValueError, match="tau"):
        gaussian_fisher_information_rate(np.array([1.0, -1.0]), lam)
    with pytest.raises(ValueError, match="variances"):
        gaussian_mmse(1.0, np.array([1.0, -0.5]))
    with pytest.raises(ValueError, match="cov"):
        covariance_spectrum(np.ones((2, 3)))
    with pytest.raises(ValueError, match="alpha_bar"):
        tau_from_alpha_bar(0.0)
    with pytest.raises(TypeError, match="exactly one"):
        gaussian_diagnostics(1.0)
    diffusers = pytest.importorskip("diffusers")
    sch = diffusers.DDPMScheduler(num_train_timesteps=100)
    with pytest.raises(ValueError, match="mode"):
        timestep_from_tau(sch, 1.0, mode="cubic")
    with pytest.raises(ValueError, match="tau must be in the scheduler's range"):
        timestep_from_tau(sch, 1e6)
