"""The ds.statgeo accessor: posterior → fit → metric round trip on a labelled Dataset."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import statgeo.geometry  # noqa: F401  (registers the accessor)


def _dataset():
    K = np.linspace(1.0, 2.5, 8)
    E = np.linspace(1.0, 2.5, 7)
    TK, TE = np.meshgrid(K, E, indexing="ij")
    rng = np.random.default_rng(0)
    x = rng.poisson(np.exp(np.stack([TK, TE], -1))[:, :, None, :], size=(8, 7, 32, 2)).astype(float)
    return xr.Dataset(
        {"statistics": (("a", "b", "sample", "stat"), x), "log_partition": (("a", "b"), np.exp(TK) + np.exp(TE))},
        coords={"a": ("a", K, {"long_name": "first natural parameter", "units": "1"}), "b": E},
    )


def test_accessor_grid_and_exact_posterior():
    ds = _dataset()
    g = ds.statgeo.grid()
    assert g.names == ("a", "b") and g.shape == (8, 7) and g["a"].long_name == "first natural parameter"
    post = ds.statgeo.posterior("exact", n=4)
    assert post.dims == ("origin", "cell") and post.attrs["effective_temperature"] == 2.0
    np.testing.assert_allclose(post.sum("cell"), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="estimator"):
        ds.statgeo.posterior("magic")


def test_accessor_fit_metric_round_trip(tmp_path):
    pytest.importorskip("torch")
    ds = _dataset()
    ds["posterior"] = ds.statgeo.posterior("exact", n=4)
    pot = ds.statgeo.fit("posterior", max_steps=20, seed=0)
    assert ds.statgeo.potential is pot
    m = ds.statgeo.metric()
    assert m["metric"].dims == ("a", "b", "i", "j")
    np.testing.assert_allclose(m["metric"].values.reshape(-1, 2, 2), pot.metric(ds.statgeo.grid().natural_points()))
    # the labelled result survives netCDF
    path = tmp_path / "m.nc"
    m.to_netcdf(path, engine="h5netcdf")
    xr.testing.assert_allclose(xr.open_dataset(path, engine="h5netcdf").load(), m)
    fig = m.statgeo.plot_metric(path=str(tmp_path / "metric.png"))
    assert (tmp_path / "metric.png").stat().st_size > 0
    fig.clf()
    with pytest.raises(ValueError, match="potential"):
        _dataset().statgeo.metric()
