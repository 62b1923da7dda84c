"""Estimators from a model vs closed forms on Gaussian data (exact and perturbed scores)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from statgeo.diffusion.diffusability import (  # noqa: E402
    diffusability_profile,
    estimate_diffusability,
    fisher_information,
    fisher_information_rate,
    fisher_information_rate_fd,
    gaussian_diagnostics,
)

D = 4


def _law(seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    lam = np.array([2.0, 1.0, 0.3, 0.0])  # one zero-variance direction
    S = Q @ np.diag(lam) @ Q.T
    St = torch.tensor(S)
    L = torch.tensor(Q @ np.diag(np.sqrt(lam)))

    def sampler(n, g):
        return torch.randn((n, D), generator=g, dtype=torch.float64) @ L.T + 1.5  # mean 1.5

    def score(y, tau):
        P = torch.linalg.inv(St + tau * torch.eye(D, dtype=torch.float64))
        return -(y - 1.5) @ P

    return S, sampler, score


def _within(est, exact, k=4.0, floor=1e-9):
    assert abs(est.value - exact) <= k * est.stderr + floor * abs(exact), (est, exact)


@pytest.mark.parametrize("tau", [0.05, 1.0])
def test_exact_score_matches_closed_forms(tau):
    S, sampler, score = _law()
    ref = gaussian_diagnostics(tau, cov=S)
    e = estimate_diffusability(score, sampler, tau, n_samples=4000, batch_size=1000, seed=1)[0]
    _within(e.I_score, ref["I"])
    _within(e.I_denoise, ref["I"])
    _within(e.R, ref["R"])
    _within(e.mmse, ref["mmse"])
    _within(e.mmse_rate, ref["mmse_rate"])
    _within(e.I_gap, 0.0, floor=0)
    assert e.n_evals == 4000 and e.I_score.n_samples == 4000 and e.R.stderr > 0


def test_gaussian_probes_and_fd_jvp():
    S, sampler, score = _law()
    ref = gaussian_diagnostics(0.3, cov=S)
    r = fisher_information_rate(score, sampler, 0.3, n_samples=3000, probe="gaussian", n_probes=2, seed=2)
    _within(r, ref["R"])
    assert r.n_evals == 6000
    r = fisher_information_rate(score, sampler, 0.3, n_samples=3000, jvp="fd", seed=2)
    _within(r, ref["R"], floor=1e-5)


def test_kinds_agree():
    """ε-prediction and denoiser forms of the same exact model give identical estimates."""
    S, sampler, score = _law()
    eps = lambda y, t: -math.sqrt(t) * score(y, t)  # noqa: E731
    den = lambda y, t: y + t * score(y, t)  # noqa: E731
    a = fisher_information(score, sampler, 0.2, n_samples=500, seed=3)
    b = fisher_information(eps, sampler, 0.2, kind="epsilon", n_samples=500, seed=3)
    c = fisher_information(den, sampler, 0.2, kind="denoiser", n_samples=500, seed=3)
    for other in (b, c):
        assert other.I_score.value == pytest.approx(a.I_score.value, rel=1e-10)
        assert other.I_denoise.value == pytest.approx(a.I_denoise.value, rel=1e-10)


@pytest.mark.parametrize("alpha", [-0.3, 0.25])
def test_perturbed_score_gap_is_score_error(alpha):
    """I − I_denoise = E‖s_θ − s‖² (= α² I for s_θ = (1 + α) s); I_score = (1 + α)² I."""
    S, sampler, score = _law()
    tau = 0.5
    I = float(gaussian_diagnostics(tau, cov=S)["I"])
    model = lambda y, t: (1 + alpha) * score(y, t)  # noqa: E731
    e = fisher_information(model, sampler, tau, n_samples=6000, seed=4)
    _within(e.I_denoise, I - alpha**2 * I)
    _within(e.I_score, (1 + alpha) ** 2 * I)
    # the reported gap I_score − I_denoise = ((1+α)² − 1 + α²) I
    _within(e.I_gap, ((1 + alpha) ** 2 - 1 + alpha**2) * I)


def test_fd_rate_and_profile():
    S, sampler, score = _law()
    taus = np.array([0.95, 1.0, 1.05])
    tm, rs = fisher_information_rate_fd(score, sampler, taus, n_samples=4000, seed=5)
    R = float(gaussian_diagnostics(1.0, cov=S)["R"])
    # truncation of the central difference: O(h²) ≈ 0.3 % here
    assert abs(rs[0].value - R) <= 4 * rs[0].stderr + 0.005 * abs(R)
    ds = diffusability_profile(score, sampler, np.geomspace(0.1, 10, 5), n_samples=800, seed=6)
    ref = gaussian_diagnostics(ds.tau.values, cov=S)
    z = (ds.I_score - ref["I"]) / ds.I_score_stderr
    assert np.all(np.abs(z.values) < 4.5)
    assert np.all(ds.R.values < 0) and np.isnan(ds.R_fd.values[0])
    assert ds.attrs["n_evals"] == 5 * 800


def test_bad_inputs():
    S, sampler, score = _law()
    with pytest.raises(ValueError, match="tau"):
        fisher_information(score, sampler, 0.0)
    with pytest.raises(ValueError, match="kind"):
        fisher_information(score, sampler, 1.0, kind="velocity")
    with pytest.raises(ValueError, match="non-finite"):
        fisher_information(lambda y, t: y * float("nan"), sampler, 1.0, n_samples=4)
    with pytest.raises(ValueError, match="model output has shape"):
        fisher_information(lambda y, t: y[:, :2], sampler, 1.0, n_samples=4)
    with pytest.raises(ValueError, match="data must be finite"):
        fisher_information(score, np.full((4, D), np.nan), 1.0, n_samples=4)
    with pytest.raises(ValueError, match="n_samples"):
        fisher_information(score, sampler, 1.0, n_samples=1)
    with pytest.raises(ValueError, match="probe"):
        fisher_information_rate(score, sampler, 1.0, probe="sphere")
    with pytest.raises(ValueError, match="taus"):
        fisher_information_rate_fd(score, sampler, [1.0, 2.0])
    with pytest.raises(TypeError, match="model must be callable"):
        fisher_information(3.0, sampler, 1.0)
