"""Plots produce files and label axes from long_name/units."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from statgeo.geometry import plot


def _map():
    x = np.linspace(0, 1, 9)
    y = np.linspace(-1, 1, 7)
    return xr.DataArray(np.outer(y, x), dims=("H", "T"),
                        coords={"H": ("H", y, {"long_name": "field", "units": "J"}),
                                "T": ("T", x, {"long_name": "temperature", "units": "J/k_B"})},
                        attrs={"long_name": "log Z per site"})


def test_label_from_attrs():
    da = _map()
    assert plot.label_from_attrs(da["T"]) == "temperature [J/k_B]"
    assert plot.label_from_attrs(da) == "log Z per site"


def test_plots_write_files(tmp_path):
    da = _map()
    g = xr.concat([xr.concat([da, da * 0.1], "j"), xr.concat([da * 0.1, da + 2], "j")], "i")
    g = g.transpose("H", "T", "i", "j").assign_coords(i=["K", "eta"], j=["K", "eta"])
    f1 = plot.plot_metric(xr.Dataset({"metric": g}), path=str(tmp_path / "m.png"), log=True)
    assert f1.axes[0].get_xlabel() == "temperature [J/k_B]" and f1.axes[0].get_ylabel() == "field [J]"
    curve = np.column_stack([np.linspace(0, 1, 5), np.zeros(5)])
    plot.plot_boundaries(da, [curve], reference=[curve + 0.1], path=str(tmp_path / "b.png"))
    plot.plot_geodesics(da, [curve], path=str(tmp_path / "g.png"))
    plot.plot_reference_vs_reconstruction(da, da * 1.1, path=str(tmp_path / "r.png"))
    for name in ("m", "b", "g", "r"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="same shape"):
        plot.plot_reference_vs_reconstruction(da, da.isel(T=slice(1, None)))
    with pytest.raises(ValueError, match="dims"):
        plot.plot_metric(da)
