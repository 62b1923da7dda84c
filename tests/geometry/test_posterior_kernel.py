"""Feature-kernel posteriors: concentration, data-driven temperature, width-based n_eff."""

from __future__ import annotations

import numpy as np
import pytest

from statgeo.geometry.posterior import posterior_moments
from statgeo.geometry.posterior_kernel import (feature_kernel_posterior, kernel_effective_temperature,
                                               select_kernel_temperature, splat_matrix)
from statgeo.grid import ParameterGrid


def _gaussian(n_axis=21, half=5.0, S=16, seed=0):
    """Gaussian mean family with identity covariance; the feature is the sample itself (g = I)."""
    g = ParameterGrid.from_ranges(a=(-half, half, n_axis), b=(-half, half, n_axis))
    T = g.natural_points()
    x = T[:, None, :] + np.random.default_rng(seed).standard_normal((g.size, S, 2))
    return g, T, x.reshape(-1, 2), np.repeat(T, S, 0)


def test_splat_matrix_is_bilinear_and_normalised():
    g = ParameterGrid.from_ranges(a=(0.0, 1.0, 3), b=(0.0, 2.0, 3))
    S = splat_matrix(np.array([[0.25, 0.5], [1.0, 2.0], [-1.0, 0.0]]), g).toarray()
    np.testing.assert_allclose(S.sum(1), 1.0)
    # (0.25, 0.5): half-way between a=0 and 0.5, half-way between b=0 and 1
    np.testing.assert_allclose(S[0, [0, 1, 3, 4]], 0.25)
    assert S[1, 8] == 1.0 and S[2, 0] == 1.0  # corner; clamped onto the box
    np.testing.assert_allclose(S @ g.points(), [[0.25, 0.5], [1.0, 2.0], [0.0, 0.0]])


def test_kernel_posterior_concentrates_around_origin_and_temperature_is_finite():
    g, T, f, loc = _gaussian(13, 4.0, S=12)
    tau, curve = select_kernel_temperature(f, loc, g, seed=1, queries_per_origin=3)
    assert np.isfinite(tau) and tau > 0
    ll = curve.values
    k = int(np.argmax(ll))
    assert 0 < k < ll.size - 1  # an interior maximum: finite, not at the ends of the τ grid
    assert ll[-1] < ll[k] and ll[0] < ll[k]
    post = feature_kernel_posterior(f, loc, g, temperature=tau)
    np.testing.assert_allclose(post.sum("cell"), 1.0, atol=1e-12)
    mu, cov = posterior_moments(post, g)
    inner = (np.abs(T) <= 1.0).all(1)
    # each query's posterior is centred near its own sample (sd 1 per axis around the origin);
    # the average of 12 queries scatters with sd ≈ 1/√12 per axis, so |μ − t'| has median
    # ≈ 0.29·√(2 ln 2) ≈ 0.34; bound 0.6 (≈ 3.6 sd of that median over 9 origins)
    assert np.median(np.linalg.norm(mu[inner] - T[inner], axis=1)) < 0.6
    # and its mode is the origin or a neighbour for most interior origins
    mode = g.points()[post.values.argmax(1)]
    assert np.mean(np.abs(mode[inner] - T[inner]).max(1) <= 0.67 + 1e-9) > 0.8


@pytest.mark.parametrize("tau", [1.0, 4.0])
def test_width_effective_temperature_matches_gaussian_derivation(tau):
    """Gauss kernel, φ ~ N(t, I): averaged posterior ∝ exp(−|t − t'|² / (2 (2 + 1/τ))), so
    n_eff = 1/(2 + 1/τ) (docs/geometry_fitting.md). With q queries per origin the scatter of
    the query centres about their own mean is (q − 1)/q, so the averaged posterior has variance
    1 + 1/τ + (q − 1)/q. Tolerance 12 %: grid discretisation and the estimated feature metric."""
    g, T, f, loc = _gaussian(29, 7.0, S=16, seed=2)
    post = feature_kernel_posterior(f, loc, g, temperature=tau, seed=3)
    assert kernel_effective_temperature("gauss", tau, 1.0) == pytest.approx(1.0 / (2.0 + 1.0 / tau))
    q = 16
    expected = 1.0 / (1.0 + 1.0 / tau + (q - 1) / q)
    assert post.attrs["effective_temperature"] == pytest.approx(expected, rel=0.12)


def test_exp_kernel_and_bad_input():
    g, T, f, loc = _gaussian(7, 2.0, S=4)
    p = feature_kernel_posterior(f, loc, g, kernel="exp", temperature=10.0)
    assert p.attrs["kernel"] == "exp" and np.isfinite(p.values).all()
    with pytest.raises(ValueError, match="kernel"):
        feature_kernel_posterior(f, loc, g, kernel="box", temperature=1.0)
    with pytest.raises(ValueError, match="temperature"):
        feature_kernel_posterior(f, loc, g, temperature=0.0)
    with pytest.raises(ValueError, match="locations"):
        feature_kernel_posterior(f, loc[:-1], g, temperature=1.0)
    bad = f.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        feature_kernel_posterior(bad, loc, g, temperature=1.0)
    g1 = ParameterGrid.from_ranges(a=(0.0, 1.0, 49), b=(0.0, 0.0, 1))
    with pytest.raises(ValueError, match="at least 2 points"):
        feature_kernel_posterior(f, loc, g1, temperature=1.0)


def test_temperature_selection_with_one_sample_per_cell():
    """Regression (issue 3): with exactly one sample per cell the leave-one-out posterior has no
    mass on the true cell, so the unsmoothed held-out likelihood is −inf for every τ (the old
    behaviour: fall back to the smallest τ, a uniform posterior). The binomial-smoothed score
    must have a finite interior maximum, and the posterior at τ* must have the width the
    Gaussian derivation gives: one query at x' ~ N(t', c²), samples x ~ N(t, c²) ⇒ posterior
    ∝ exp(−|t − x'|² / (2 (c² + 1/τ))), per-axis variance c² + 1/τ (+ h²/12 grid
    discretisation, h = 0.5); tolerance 20 % (one noise realisation per cell)."""
    g = ParameterGrid.from_ranges(a=(-4.0, 4.0, 17), b=(-4.0, 4.0, 17))
    T = g.natural_points()
    c = 0.5
    f = T + c * np.random.default_rng(0).standard_normal(T.shape)
    _, raw = select_kernel_temperature(f, T, g, smoothing="none")
    assert np.isneginf(raw.values).all()  # the bug's mechanism
    tau, curve = select_kernel_temperature(f, T, g)
    assert curve.attrs["smoothing"] == "splat"
    ll = curve.values
    k = int(np.argmax(ll))
    assert np.isfinite(ll[k]) and 0 < k < ll.size - 1 and tau == curve.temperature.values[k]
    assert ll[k] > np.log(1.0 / g.size) + 1.0  # far better than the uniform posterior
    post = feature_kernel_posterior(f, T, g, temperature=tau)
    mu, cov = posterior_moments(post, g)
    inner = (np.abs(T) <= 2.0).all(1)
    var = np.median(np.einsum("rii->r", cov[inner]) / 2)
    assert var == pytest.approx(c ** 2 + 1.0 / tau + 0.5 ** 2 / 12, rel=0.2)
    # centred on the query, which scatters by c per axis around the origin: median |μ − t'| ≈ 1.18 c
    assert np.median(np.linalg.norm(mu[inner] - T[inner], axis=1)) < 2.0 * c
    with pytest.raises(ValueError, match="smoothing"):
        select_kernel_temperature(f, T, g, smoothing="box")
