"""Exact-likelihood posteriors: array-API normalisation, bundles, labels, effective temperature."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from statgeo.geometry.posterior import check_posterior, posterior_dataarray
from statgeo.geometry.posterior_exact import (average_per_origin, bundle_sums, cut_bundles,
                                              exact_likelihood_posterior, exact_posterior)
from statgeo.geometry.posterior_kernel import width_effective_temperature
from statgeo.grid import ParameterGrid


def _poisson_setup(shape=(12, 12), S=64, seed=0):
    g = ParameterGrid.from_ranges(t1=(1.0, 2.5, shape[0]), t2=(1.0, 2.5, shape[1]))
    T = g.natural_points()
    rng = np.random.default_rng(seed)
    x = rng.poisson(np.exp(T)[:, None, :], size=(g.size, S, 2)).astype(float)
    return g, T, x, np.exp(T).sum(1)


def test_exact_likelihood_posterior_matches_direct_formula(xp):
    g, T, x, phi = _poisson_setup((6, 5), S=8)
    sums = bundle_sums(x, 4)
    ref = np.exp(sums @ T.T - 4 * phi)
    ref /= ref.sum(-1, keepdims=True)
    out = exact_likelihood_posterior(xp.asarray(sums), 4, xp.asarray(phi), xp.asarray(T))
    assert type(out) is type(xp.asarray(T))
    out = np.asarray(out)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-12)


def test_exact_likelihood_posterior_log_sum_exp_is_stable(xp):
    T = np.linspace(0.0, 1.0, 5)[:, None]
    phi = np.zeros(5)
    out = np.asarray(exact_likelihood_posterior(xp.asarray(np.array([[1e5]])), 1, xp.asarray(phi), xp.asarray(T)))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0, -1], 1.0)


def test_temperature_tempers_the_posterior():
    g, T, x, phi = _poisson_setup((6, 6), S=4)
    s = bundle_sums(x, 4)
    p4 = exact_likelihood_posterior(s, 4, phi, T)
    p2 = exact_likelihood_posterior(s, 4, phi, T, temperature=2.0)
    ref = np.sqrt(p4) / np.sqrt(p4).sum(-1, keepdims=True)  # β = 2 = n/2: p^{1/2} renormalised
    np.testing.assert_allclose(p2, ref, rtol=1e-9)


@pytest.mark.parametrize("bad, match", [
    (dict(stat_sums=np.ones((3, 3))), "stat_sums"),
    (dict(log_partition_on_grid=np.ones(7)), "log_partition_on_grid"),
    (dict(grid_natural_points=np.ones((1, 2)), log_partition_on_grid=np.ones(1)), "at least 2"),
    (dict(stat_sums=np.array([[np.nan, 1.0]])), "finite"),
    (dict(n=0), "n must be"),
    (dict(temperature=-1.0), "temperature"),
])
def test_exact_likelihood_posterior_bad_input(bad, match):
    kw = dict(stat_sums=np.ones((3, 2)), n=2, log_partition_on_grid=np.zeros(6),
              grid_natural_points=np.arange(12.0).reshape(6, 2))
    kw.update(bad)
    with pytest.raises(ValueError, match=match):
        exact_likelihood_posterior(**kw)


def test_cut_bundles_shapes_and_shuffle_preserve_samples():
    x = np.arange(2 * 10 * 3).reshape(2, 10, 3)
    b = cut_bundles(x, 4)
    assert b.shape == (2, 2, 4, 3)
    np.testing.assert_array_equal(b[1, 1, 0], x[1, 4])
    bs = cut_bundles(x, 5, seed=1)
    assert sorted(bs[0].reshape(-1, 3)[:, 0].tolist()) == sorted(x[0, :, 0].tolist())
    with pytest.raises(ValueError, match="bundle size"):
        cut_bundles(x, 11)
    p = np.random.default_rng(0).dirichlet(np.ones(4), size=(3, 5))
    np.testing.assert_allclose(average_per_origin(p), p.mean(1))


def test_exact_posterior_layout_and_attrs():
    g, T, x, phi = _poisson_setup((6, 5), S=16)
    avg = exact_posterior(x, g, phi, 4)
    assert avg.dims == ("origin", "cell") and avg.shape == (30, 30)
    assert avg.attrs["effective_temperature"] == 2.0 and avg.attrs["n_per_bundle"] == 4
    np.testing.assert_allclose(avg.sum("cell"), 1.0, atol=1e-12)
    np.testing.assert_allclose(avg["cell_t1"].values, g.points()[:, 0])
    single = exact_posterior(x, g, phi.reshape(g.shape), 4, average=False)
    assert single.shape == (30 * 4, 30) and single.attrs["effective_temperature"] == 4.0
    np.testing.assert_array_equal(single["origin"].values, np.repeat(np.arange(30), 4))
    # the average of the single-bundle rows is the averaged posterior
    np.testing.assert_allclose(single.values.reshape(30, 4, 30).mean(1), avg.values, atol=1e-12)
    # statistics as a labelled DataArray give the same result
    da = xr.DataArray(x.reshape(6, 5, 16, 2), dims=("t1", "t2", "sample", "stat"))
    xr.testing.assert_allclose(exact_posterior(da, g, phi, 4), avg)


@pytest.mark.parametrize("average", [True, False])
def test_exact_posterior_for_chosen_origins_is_those_rows_of_the_full_result(average):
    g, T, x, phi = _poisson_setup((6, 5), S=16)
    full = exact_posterior(x, g, phi, 4, seed=3, average=average)
    use = g.sublattice(9)
    sub = exact_posterior(x, g, phi, 4, seed=3, average=average, origins=use)
    rows = np.flatnonzero(np.isin(full["origin"].values, use))
    np.testing.assert_array_equal(sub["origin"].values, full["origin"].values[rows])
    np.testing.assert_allclose(sub.values, full.values[rows], rtol=0, atol=0)
    np.testing.assert_allclose(sub["origin_t1"].values, g.points()[sub["origin"].values, 0])
    assert sub.attrs["effective_temperature"] == full.attrs["effective_temperature"]


def test_bundle_average_has_effective_temperature_n_over_2():
    """Width of bundle-averaged posteriors vs the exact metric: n_eff ≈ n/2 (Gaussian argument).

    Interior origins of a Poisson pair, n = 8, 256 samples per origin; the estimate is a median
    over ~40 origins, each from 32 bundles: tolerance 15 % (bias of the Gaussian approximation
    and the grid discretisation included).
    """
    g = ParameterGrid.from_ranges(t1=(0.5, 3.0, 26), t2=(0.5, 3.0, 26))
    T = g.natural_points()
    rng = np.random.default_rng(3)
    x = rng.poisson(np.exp(T)[:, None, :], size=(g.size, 256, 2)).astype(float)
    avg = exact_posterior(x, g, np.exp(T).sum(1), 8)
    metric = np.zeros((g.size, 2, 2))
    metric[:, 0, 0], metric[:, 1, 1] = np.exp(T[:, 0]), np.exp(T[:, 1])
    n_eff = width_effective_temperature(avg, g, metric)
    assert n_eff == pytest.approx(4.0, rel=0.15)
    single = exact_posterior(x, g, np.exp(T).sum(1), 8, average=False)
    assert width_effective_temperature(single, g, metric) == pytest.approx(8.0, rel=0.15)


def test_check_posterior_rejects_bad_posteriors():
    g, T, x, phi = _poisson_setup((4, 4), S=4)
    p = exact_posterior(x, g, phi, 2)
    with pytest.raises(TypeError, match="DataArray"):
        check_posterior(p.values, g)
    with pytest.raises(ValueError, match="normalised"):
        check_posterior(p * 2.0, g)
    with pytest.raises(ValueError, match="finite"):
        check_posterior(p.where(p.cell != 3), g)
    with pytest.raises(ValueError, match="dims"):
        check_posterior(p.T, g)
    g2 = ParameterGrid.from_ranges(t1=(1.0, 2.5, 5), t2=(1.0, 2.5, 4))
    with pytest.raises(ValueError, match="must match"):
        check_posterior(p, g2)
    g1 = ParameterGrid.from_ranges(t1=(1.0, 2.5, 16), t2=(1.0, 1.0, 1))
    with pytest.raises(ValueError, match="at least 2 points"):
        check_posterior(p, g1)
    with pytest.raises(ValueError, match="origin_index"):
        posterior_dataarray(np.ones((2, 16)) / 16, g, np.arange(3), estimator="x", n_per_bundle=1,
                            effective_temperature=1.0)
