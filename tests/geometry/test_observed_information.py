"""The Fisher metric read from the curvature of single-bundle posteriors: ``observed_information_metric``.

Oracles: closed-form exponential families (a quadratic log-partition, where the differences are
exact, and the Gaussian's, where they converge at second order), whose posteriors have the same
curvature for every sample; and the open TASEP at N = 6, not an exponential family, against its
exact observable Fisher metric (enumeration of the 2^N configurations), with the sampling noise
judged in the estimator's own error bars against the curvature of the exact expected
log-likelihood.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from statgeo.coordinates import ising_temperature_field_map, tasep_rates_map
from statgeo.geometry import (
    DegeneratePosteriorWarning,
    Gaussian1D,
    exact_posterior,
    hessian_defect,
    observed_information_metric,
    posterior_dataarray,
)
from statgeo.grid import Axis, ParameterGrid
from statgeo.models.exact.tasep_matrix import enumerate_law
from statgeo.models.tasep import TasepModel

GAUSSIAN = Gaussian1D()


def rows_of(grid: ParameterGrid, phi: np.ndarray, stats: np.ndarray, temperature: float) -> xr.DataArray:
    """Rows p_r(t_c) ∝ exp(T(⟨t_c, s_r⟩ − Φ(t_c))), one per statistic s_r, each with origin r mod C."""
    t = grid.natural_points()
    logits = temperature * (stats @ t.T - phi[None, :])
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return posterior_dataarray(p, grid, np.arange(stats.shape[0]) % grid.size, estimator="closed_form",
                               n_per_bundle=1, effective_temperature=temperature, attrs={"averaged": 0})


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(0.05, 1.0), min_size=3, max_size=6),
       st.lists(st.floats(0.05, 1.0), min_size=3, max_size=6),
       st.floats(0.2, 2.0), st.floats(-0.9, 0.9), st.floats(0.2, 2.0), st.integers(0, 2**31 - 1))
def test_a_quadratic_family_is_exact_on_uneven_axes(hx, hy, a, rho, b, seed):
    """Φ = ½ tᵀAt: every row's −∇² log p / T is A, whatever its statistic; the stencils are exact
    for polynomials of their degree, so ĝ = A to rounding at every point, edges included."""
    grid = ParameterGrid([Axis("t1", np.cumsum([0.0] + hx)), Axis("t2", np.cumsum([0.0] + hy))])
    A = np.array([[a, rho * np.sqrt(a * b)], [rho * np.sqrt(a * b), b]])
    t = grid.natural_points()
    phi = 0.5 * np.einsum("ci,ij,cj->c", t, A, t)
    stats = np.random.default_rng(seed).normal(size=(2 * grid.size, 2))
    res = observed_information_metric(rows_of(grid, phi, stats, 2.0), grid)
    np.testing.assert_allclose(res.metric, np.broadcast_to(A, res.metric.shape), atol=1e-7)
    assert res.excluded_rows == 0 and np.all(res.rows == 2)
    np.testing.assert_allclose(res.standard_error, 0.0, atol=1e-6)  # the curvature is not random


def gaussian_rows(n_side: int, seed: int):
    grid = ParameterGrid.from_ranges(theta1=(-1.0, 1.0, n_side), theta2=(-1.5, -0.5, n_side))
    t = grid.natural_points()
    x = np.stack([GAUSSIAN.sample(t[c], 16, seed=seed * 10_000 + c) for c in range(grid.size)])
    stats = np.asarray(GAUSSIAN.sufficient_statistics(x))
    post = exact_posterior(stats, grid, np.asarray(GAUSSIAN.value(t)), 4, seed=seed, average=False)
    return grid, t, post


def test_the_gaussian_family_converges_at_second_order_and_ignores_the_samples():
    """Exponential family: each row's curvature is n∇²Φ for every bundle, so two sample sets give
    the same ĝ; its largest error against the closed-form metric (at the edge θ₂ = −0.5, where
    g[θ₂,θ₂] is steepest) falls 3.1-fold when the step halves (4-fold asymptotically)."""
    errors = []
    for n_side in (17, 33):
        grid, t, post = gaussian_rows(n_side, 0)
        res = observed_information_metric(post, grid)
        other = observed_information_metric(gaussian_rows(n_side, 1)[2], grid)
        np.testing.assert_allclose(res.metric, other.metric, rtol=1e-8, atol=1e-10)
        want = np.asarray(GAUSSIAN.hessian(t)).reshape(res.metric.shape)
        errors.append(np.abs(res.metric - want).max() / np.abs(want).max())
    assert errors[1] < errors[0] / 2.5, errors
    assert errors[1] < 0.03, errors


@pytest.mark.parametrize("physical_map, ranges, order", [
    (tasep_rates_map(), {"alpha": (0.2, 0.9), "beta": (0.3, 1.0)}, "exact"),
    (ising_temperature_field_map(), {"T": (1.5, 3.0), "H": (-0.4, 0.4)}, "second"),
])
def test_grids_in_other_coordinates(physical_map, ranges, order):
    """A quadratic Φ in t on a grid laid out in rates (a product of the natural axes: differences in
    θ itself, exact) and in (T, H) (not a product: the chain rule, second order in the step; the
    one-sided edge stencils carry the largest error, measured 0.51 → 0.16 from 13 to 25 points per
    axis, 0.008 inside at 25)."""
    A = np.array([[1.3, 0.4], [0.4, 0.7]])
    errors, inside = [], []
    for n_side in (13, 25):
        grid = ParameterGrid.from_ranges(physical_map, **{k: (lo, hi, n_side) for k, (lo, hi) in ranges.items()})
        t = grid.natural_points()
        phi = 0.5 * np.einsum("ci,ij,cj->c", t, A, t)
        stats = np.random.default_rng(n_side).normal(size=(grid.size, 2))
        err = np.abs(observed_information_metric(rows_of(grid, phi, stats, 1.0), grid).metric - A)
        errors.append(err.max())
        inside.append(err[1:-1, 1:-1].max())
    if order == "exact":
        assert max(errors) < 1e-7, errors
    else:
        assert errors[1] < errors[0] / 2.5 and inside[1] < inside[0] / 2.5 and inside[1] < 0.02, (errors, inside)


# ---------------------------------------------------------------------------- the open TASEP
@pytest.fixture(scope="module")
def tasep():
    """N = 6 on a 16 × 16 grid in θ ∈ [0, ln 10]² (the rates grid), 64 samples per point, bundles of 4."""
    model = TasepModel(6)
    grid = model.natural_grid(theta_alpha=(0.0, np.log(10.0), 16), theta_beta=(0.0, np.log(10.0), 16))
    fobs = model.reference(grid)["observable_fisher"].values.reshape(grid.shape + (2, 2))
    post = model.exact_posterior(model.sample(grid, 64, seed=3), grid, 4, seed=4, average=False)
    # the exact expected log-likelihood E_o[log P(τ | t_c)] by enumeration: its curvature is what
    # the estimator averages to (the difference error included, no sampling noise)
    P = grid.points()
    law = np.stack([enumerate_law(6, P[c, 0], P[c, 1])[1] for c in range(grid.size)])
    expected = law @ np.log(law).T
    p = np.exp(expected - expected.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    noiseless = posterior_dataarray(p, grid, np.arange(grid.size), estimator="expected_log_likelihood",
                                    n_per_bundle=1, effective_temperature=1.0, attrs={"averaged": 0})
    return grid, fobs, post, noiseless


def nrmse(g: np.ndarray, ref: np.ndarray) -> np.ndarray:
    sl = (slice(1, -1),) * 2
    return np.array([np.sqrt(np.mean((g[sl + (i, j)] - ref[sl + (i, j)]) ** 2)) / ref[sl + (i, j)].std()
                     for i, j in ((0, 0), (0, 1), (1, 1))])


def test_tasep_error_bars_cover_the_sampling_noise(tasep):
    """The deviation from the noiseless curvature, in units of the reported standard error: mean
    z² over the grid's 256 points × 3 components 1.36 (15/13 ≈ 1.15 expected of a t-statistic from 16
    rows per point; bounds 0.6–1.8)."""
    grid, _, post, noiseless = tasep
    res = observed_information_metric(post, grid)
    ref = observed_information_metric(noiseless, grid).metric
    z = (res.metric - ref) / res.standard_error
    iu = (0, 0), (0, 1), (1, 1)
    z2 = np.mean([np.mean(z[..., i, j] ** 2) for i, j in iu])
    assert 0.6 < z2 < 1.8, z2


def test_tasep_oracle_reaches_the_observable_fisher_metric_below_the_hessian_floor(tasep):
    """F_obs is not a Hessian metric: the closest Hessian metric on this grid stays 0.1–0.2 away
    (``hessian_defect``); the observed information of the exact-likelihood rows comes closer than
    that on every component, and its noiseless version is within the difference error."""
    grid, fobs, post, noiseless = tasep
    floor = hessian_defect(fobs, grid, margin=1).nrmse
    floor = np.array([floor[0, 0], floor[0, 1], floor[1, 1]])
    got = nrmse(observed_information_metric(post, grid).metric, fobs)
    noiseless_err = nrmse(observed_information_metric(noiseless, grid).metric, fobs)
    assert np.all(floor > 0.09), floor
    assert np.all(got < 0.6 * floor), (got, floor)
    assert np.all(noiseless_err < 0.08), noiseless_err


# ---------------------------------------------------------------------------- what it refuses
def test_refuses_rows_that_are_not_likelihoods():
    grid, _, post = gaussian_rows(9, 0)
    averaged = post.copy()
    averaged.attrs["averaged"] = 1
    with pytest.raises(ValueError, match="one row per bundle"):
        observed_information_metric(averaged, grid)
    smoothed = post.copy()
    smoothed.attrs["output_kernel"] = "gaussian_bump"
    with pytest.raises(ValueError, match="kernel"):
        observed_information_metric(smoothed, grid)
    thin = ParameterGrid.from_ranges(theta1=(-1.0, 1.0, 9), theta2=(-1.5, -0.5, 2))
    t = thin.natural_points()
    with pytest.raises(ValueError, match="at least 3 points"):
        observed_information_metric(rows_of(thin, np.asarray(GAUSSIAN.value(t)), np.zeros((4, 2)), 1.0), thin)


def test_rows_that_vanish_at_the_stencil_warn_and_are_left_out():
    """A posterior far narrower than a cell is zero at the origin's neighbours: its curvature is not
    measurable there, so the rows are left out with a warning and the points get NaN."""
    grid = ParameterGrid.from_ranges(t1=(0.0, 1.0, 5), t2=(0.0, 1.0, 5))
    t = grid.natural_points()
    phi = 0.5 * (t ** 2).sum(1)
    with pytest.warns(DegeneratePosteriorWarning, match="left out"):
        res = observed_information_metric(rows_of(grid, phi, t, 1e5), grid)
    assert res.excluded_rows == grid.size and np.isnan(res.metric).all() and np.all(res.rows == 0)
