"""The ds.statgeo accessor: recorded grids, stateless verbs, posterior → fit → metric round trips."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import statgeo.geometry  # noqa: F401  (registers the accessor)
from statgeo.coordinates import identity_map
from statgeo.grid import Axis, ParameterGrid
from statgeo.models import TasepModel


def _poisson_dataset(*, record_grid: bool = True) -> xr.Dataset:
    """Two independent Poisson counts with natural parameters (a, b): Φ = e^a + e^b."""
    K = np.linspace(1.0, 2.5, 8)
    E = np.linspace(1.0, 2.5, 7)
    TK, TE = np.meshgrid(K, E, indexing="ij")
    rng = np.random.default_rng(0)
    x = rng.poisson(np.exp(np.stack([TK, TE], -1))[:, :, None, :], size=(8, 7, 32, 2)).astype(float)
    ds = xr.Dataset(
        {"statistics": (("a", "b", "sample", "stat"), x), "log_partition": (("a", "b"), np.exp(TK) + np.exp(TE))},
        coords={"a": ("a", K, {"long_name": "first natural parameter", "units": "1"}), "b": E},
    )
    if record_grid:
        grid = ParameterGrid([Axis("a", K, "first natural parameter"), Axis("b", E)])
        ds = grid.attach(ds)
    return ds


def test_accessor_reads_the_recorded_grid_and_needs_one():
    ds = _poisson_dataset()
    g = ds.statgeo.grid()
    assert g.names == ("a", "b") and g.shape == (8, 7) and g["a"].long_name == "first natural parameter"
    # a subset Dataset gives the subset grid, with the same map
    sub = ds.isel(a=slice(2, 6))
    assert sub.statgeo.grid().shape == (4, 7)
    # data statgeo did not label: no guessing; the user names the grid dims
    bare = _poisson_dataset(record_grid=False)
    with pytest.raises(ValueError, match="records no grid"):
        bare.statgeo.grid()
    assert bare.statgeo.grid(grid_dims=("a", "b")) == g
    with pytest.raises(ValueError, match="not dimension coordinates"):
        bare.statgeo.grid(grid_dims=("a", "stat_x"))


def test_accessor_exact_posterior_and_bad_estimator():
    ds = _poisson_dataset()
    post = ds.statgeo.posterior("exact", n=4)
    assert post.dims == ("origin", "cell") and post.attrs["effective_temperature"] == 2.0
    np.testing.assert_allclose(post.sum("cell"), 1.0, atol=1e-12)
    assert ParameterGrid.from_dataset(post) == ds.statgeo.grid()
    with pytest.raises(ValueError, match="estimator"):
        ds.statgeo.posterior("magic")


def test_accessor_is_stateless_and_refuses_a_foreign_grid(tmp_path):
    pytest.importorskip("torch")
    ds = _poisson_dataset()
    ds["posterior"] = ds.statgeo.posterior("exact", n=4)
    pot = ds.statgeo.fit("posterior", max_steps=20, seed=0)
    assert not hasattr(ds.statgeo, "potential")
    m = ds.statgeo.metric(pot)
    assert m["metric"].dims == ("a", "b", "i", "j")
    np.testing.assert_allclose(m["metric"].values.reshape(-1, 2, 2), pot.metric(ds.statgeo.grid().natural_points()))
    # the labelled result survives netCDF, and records its grid
    path = tmp_path / "m.nc"
    m.to_netcdf(path, engine="h5netcdf")
    back = xr.open_dataset(path, engine="h5netcdf").load()
    xr.testing.assert_allclose(back, m)
    assert ParameterGrid.from_dataset(back) == ds.statgeo.grid()
    fig = ds.statgeo.plot_metric(potential=pot, path=str(tmp_path / "metric.png"))
    assert (tmp_path / "metric.png").stat().st_size > 0
    fig.clf()
    # a grid other than the posterior's is an error, not a silent refit
    other = ParameterGrid.from_ranges(a=(1.0, 2.0, 8), b=(1.0, 2.5, 7))
    with pytest.raises(ValueError, match="grid"):
        ds.statgeo.fit("posterior", grid=other, max_steps=5, seed=0)
    with pytest.raises(TypeError):
        ds.statgeo.metric()  # the potential is the caller's to keep and pass


def test_accessor_fits_a_tasep_dataset_in_theta_coordinates():
    """A TASEP Dataset sampled on (α, β) is fitted in θ = (−ln α, −ln β), the coordinates its
    grid records; the fitted metric matches the exact observable Fisher metric F_obs(θ).

    Fitting in (α, β) instead (the old accessor's identity map) would put the metric in other
    units: g_αα = g_θθ / α² differs from g_θθ by factors 1 to 20 over this box, far outside the
    tolerance below.
    """
    pytest.importorskip("torch")
    model = TasepModel(6)
    grid = model.natural_grid(theta_alpha=(0.0, 2.3, 10), theta_beta=(0.0, 2.3, 10))
    ds = model.sample(grid, 64, seed=3, progress=False)
    assert ds.statgeo.grid() == grid and ds.statgeo.grid().natural_names == ("theta_alpha", "theta_beta")
    post = ds.statgeo.posterior("exact", n=4, seed=0)
    pot = ds.statgeo.fit(post, seed=0)
    m = ds.statgeo.metric(pot)
    assert list(m["i"].values) == ["theta_alpha", "theta_beta"]
    F = model.exact(grid)["observable_fisher"].values  # exact enumeration, natural coordinates θ
    g = m["metric"].transpose("alpha", "beta", "i", "j").values
    inner = (slice(1, -1), slice(1, -1))
    for i, j in ((0, 0), (0, 1), (1, 1)):
        ref = F[inner][..., i, j]
        nrmse = np.sqrt(np.mean((g[inner][..., i, j] - ref) ** 2)) / ref.std()
        assert nrmse < 0.75, (i, j, nrmse)
    # the mean trace of the metric has the exact scale (within 40 %; a fit in (α, β) is off by ~18×)
    ratio = np.trace(g[inner], axis1=-2, axis2=-1).mean() / np.trace(F[inner], axis1=-2, axis2=-1).mean()
    assert 0.7 < ratio < 1.4, ratio
    # the same posterior on an (α, β) grid with the identity map is refused
    wrong = ParameterGrid(grid.axes, identity_map(grid.names))
    with pytest.raises(ValueError, match="coordinate maps"):
        ds.statgeo.fit(post, grid=wrong, seed=0)
