"""1-D bimodal VP-SDE: exact score, marginals, separatrix Lyapunov exponent vs formula."""

import numpy as np
import pytest
from scipy.stats import norm

from statgeo.diffusion.bimodal import BimodalVP, lyapunov_formula, lyapunov_scan


def _log_density(x, t, toy):
    m, s2 = toy.mean_var(t)
    s = np.sqrt(s2)
    return np.log(0.5 * norm.pdf(x, -m, s) + 0.5 * norm.pdf(x, m, s))


@pytest.mark.parametrize("sigma,t", [(0.3, 0.0), (0.3, 0.4), (1.2, 2.0)])
def test_score_is_gradient_of_log_mixture(sigma, t):
    toy = BimodalVP(sigma, beta=1.7)
    x = np.linspace(-2, 2, 9)
    h = 1e-5
    fd = (_log_density(x + h, t, toy) - _log_density(x - h, t, toy)) / (2 * h)
    np.testing.assert_allclose(toy.score(x, t), fd, rtol=1e-6, atol=1e-7)


def test_marginal_matches_forward_sde_moments():
    """Var X_t = m_t²(1 + σ²) + 1 − m_t² for X_t = m_t X_0 + √(1 − m_t²) ξ."""
    toy = BimodalVP(0.4, beta=2.0)
    rng = np.random.default_rng(0)
    n = 200_000
    x0 = rng.choice([-1.0, 1.0], n) + 0.4 * rng.normal(size=n)
    t = 0.3
    m, s2 = toy.mean_var(t)
    xt = m * x0 + np.sqrt(1 - m ** 2) * rng.normal(size=n)
    var = m ** 2 + s2
    err = np.sqrt(2 * var ** 2 / n) * 4  # 4 standard errors (Gaussian approximation of Var's error)
    assert abs(xt.var() - var) < err


@pytest.mark.parametrize("sigma", [0.08, 0.2, 0.5, 0.9, 1.0, 1.6])
@pytest.mark.parametrize("beta", [1.0, 3.0])
def test_lyapunov_numerical_matches_formula(sigma, beta):
    toy = BimodalVP(sigma, beta)
    res = toy.lyapunov_numerical()
    lam = 0.5 * beta * (1 + (1 - sigma ** 2) / sigma ** 4)
    assert lyapunov_formula(sigma, beta) == pytest.approx(lam, rel=1e-14)
    # Richardson-extrapolated window rate; remaining bias O(τ²) and the ODE tolerance
    assert res["lambda"] == pytest.approx(lam, rel=1e-4)
    assert toy.local_rate(0.0) == pytest.approx(lam, rel=1e-12)


def test_lyapunov_diverges_as_sigma_to_zero():
    ds = lyapunov_scan([0.05, 0.1, 0.2])
    lam = ds.lambda_numerical.values
    assert np.all(np.diff(lam) < 0)
    # λ ≈ β/(2σ⁴) for small σ: halving σ multiplies λ by about 16
    assert lam[0] / lam[1] == pytest.approx(16, rel=0.02)


def test_flow_separates_modes():
    """Trajectories starting either side of 0 end near the matching mode (x → ±1 as t → 0)."""
    toy = BimodalVP(0.1, 1.0)
    x = toy.integrate([-0.05, 0.05], 8.0, 0.0, rtol=1e-9, atol=1e-12)
    assert x[0] < -0.5 and x[1] > 0.5


def test_bad_inputs():
    with pytest.raises(ValueError, match="sigma"):
        BimodalVP(0.0)
    with pytest.raises(ValueError, match="beta"):
        lyapunov_formula(0.5, -1.0)
    with pytest.raises(ValueError, match="tau"):
        BimodalVP(0.5).lyapunov_numerical(tau=0.0)


def test_validation_script(tmp_path):
    from validation.bimodal import run

    s = run(str(tmp_path), quick=True)
    assert s["max_relative_error"] < 1e-3
    assert (tmp_path / "bimodal.png").stat().st_size > 0 and (tmp_path / "bimodal.nc").exists()
