"""Bit-packed binary configurations: exact round trips, one bit per site, stores that reopen unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from statgeo.models import IsingModel, TasepModel, pack_dataset, pack_sites, unpack_dataset, unpack_sites
from statgeo.models.packing import binary_values


@settings(max_examples=60, deadline=None)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
       sites=st.lists(st.integers(1, 11), min_size=1, max_size=2),
       values=st.sampled_from([(-1, 1), (0, 1), (1, -1)]), seed=st.integers(0, 2**16))
def test_round_trip_is_exact_and_takes_one_bit_per_site(lead, sites, values, seed):
    rng = np.random.default_rng(seed)
    x = np.asarray(values, dtype=np.int8)[rng.integers(0, 2, size=tuple(lead) + tuple(sites))]
    p = pack_sites(x, len(sites), values)
    n = int(np.prod(sites))
    assert p.dtype == np.uint8 and p.shape == tuple(lead) + ((n + 7) // 8,)
    np.testing.assert_array_equal(unpack_sites(p, sites, values), x)
    # the bits are the configuration itself: popcount = number of sites holding values[1]
    assert int(np.unpackbits(p).sum()) == int((x == values[1]).sum())


def test_unpack_to_float32_for_a_network():
    x = np.array([[[1, -1], [-1, 1]]], dtype=np.int8)
    out = unpack_sites(pack_sites(x, 2), (2, 2), dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x.astype(np.float32))


def test_binary_values():
    assert binary_values(np.array([1, 1, -1], np.int8)) == (-1, 1)
    assert binary_values(np.array([0, 1], np.int8)) == (0, 1)
    assert binary_values(np.array([1, 1], np.int8)) == (-1, 1)  # either reading restores the 1s
    assert binary_values(np.array([0, 2])) is None
    assert binary_values(np.array([0.0, 1.0])) is None


@pytest.mark.parametrize("model", [IsingModel(6), TasepModel(9)])
def test_sample_store_reopens_identical(model, tmp_path):
    """A packed sampler Dataset written to zarr and netCDF reopens to the original, 8 sites per byte."""
    names = model.natural_names
    grid = (model.natural_grid(K=(0.3, 0.5, 2), eta=(0.0, 0.1, 2)) if isinstance(model, IsingModel)
            else model.natural_grid(**{names[0]: (0.5, 1.0, 2), names[1]: (0.5, 1.0, 2)}))
    ds = model.sample(grid, 5, seed=3, progress=False)
    var = model.configuration_variable
    da = ds[var]
    site_dims = da.dims[da.dims.index("sample") + 1:]
    packed = pack_dataset(ds, var, site_dims, binary_values(da.values))
    n_sites = int(np.prod([da.sizes[d] for d in site_dims]))
    assert packed[var + "_packed"].nbytes == da.nbytes // n_sites * ((n_sites + 7) // 8)
    packed.to_zarr(tmp_path / "s.zarr", consolidated=False)
    packed.to_netcdf(tmp_path / "s.nc", engine="h5netcdf")
    for back in (xr.open_zarr(tmp_path / "s.zarr", consolidated=False).load(),
                 xr.open_dataset(tmp_path / "s.nc", engine="h5netcdf").load()):
        restored = unpack_dataset(back)
        xr.testing.assert_identical(restored[var], ds[var])
        np.testing.assert_array_equal(model.configurations(restored).values, model.configurations(ds).values)


def test_unpacked_dataset_passes_through():
    ds = xr.Dataset({"a": ("x", [1, 2])})
    assert unpack_dataset(ds) is ds
