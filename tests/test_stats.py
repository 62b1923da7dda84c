"""Monte Carlo statistics: τ_int and error bars against processes with known answers."""

import numpy as np
import pytest

from statgeo.stats import autocorrelation, estimate, integrated_autocorrelation_time, jackknife


def ar1(phi: float, n: int, n_chains: int, seed: int) -> np.ndarray:
    """AR(1) chains x_t = φ x_{t-1} + √(1−φ²) ε_t, stationary start; ρ(t) = φ^t."""
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((n_chains, n))
    x = np.empty((n_chains, n))
    x[:, 0] = eps[:, 0]
    c = np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + c * eps[:, t]
    return x


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_tau_int_of_ar1_matches_closed_form(phi):
    # Sokal convention: τ_int = ½ + Σ_{t≥1} φ^t = (1 + φ) / (2 (1 − φ)).
    x = ar1(phi, 20000, 8, seed=1)
    tau = integrated_autocorrelation_time(x)
    exact = (1 + phi) / (2 * (1 - phi))
    # the windowed estimator has relative error ~ sqrt(2(2W+1)/n) ≈ a few per cent here
    assert np.all(np.abs(tau / exact - 1) < 0.15), (tau, exact)


def test_autocorrelation_of_ar1_decays_geometrically():
    rho = autocorrelation(ar1(0.7, 50000, 4, seed=2)).mean(axis=0)
    np.testing.assert_allclose(rho[:5], 0.7 ** np.arange(5), atol=0.02)


def test_error_bar_covers_true_mean_at_nominal_rate():
    # 400 independent AR(1) chains with mean 0: |z| < 2 for ~95 % of them if the error is right.
    x = ar1(0.8, 4000, 400, seed=3)
    s = estimate(x)
    z = s.mean / s.error
    frac = np.mean(np.abs(z) < 2)
    # binomial sd of the fraction is sqrt(.95·.05/400) ≈ 0.011; allow ±4 sd
    assert abs(frac - 0.954) < 0.045, frac
    # the naive error (ignoring correlation) would be too small by sqrt(2 τ) = 3
    naive = np.sqrt(s.variance / s.n)
    np.testing.assert_allclose(np.median(s.error / naive), np.sqrt(2 * 4.5), rtol=0.15)


def test_jackknife_error_of_variance_matches_theory():
    # Var of the sample variance of iid N(0,1): 2/(n−1).
    rng = np.random.default_rng(4)
    x = rng.standard_normal(20000)
    val, err = jackknife(lambda a: a.var(axis=-1), [x], n_blocks=50)
    assert abs(val - 1) < 4 * np.sqrt(2 / 19999)
    np.testing.assert_allclose(err, np.sqrt(2 / 19999), rtol=0.3)


def test_estimate_rejects_short_series():
    with pytest.raises(ValueError, match="at least 2 samples"):
        estimate(np.ones(1))


def test_constant_series_has_iid_tau():
    assert integrated_autocorrelation_time(np.ones(100)) == 0.5
