"""CuPy checkerboard Metropolis: Philox constants (CPU) and the GPU sampler vs enumeration (gpu)."""

from __future__ import annotations

import numpy as np
import pytest

from statgeo.grid import ParameterGrid
from statgeo.models.ising import IsingModel, thermodynamics
from statgeo.models.kernels.ising_cupy import CUDA_SOURCE, philox4x32_10
from tests.models.test_ising_sampler import POINTS, Z_TOL, _check_against_exact


@pytest.mark.parametrize(
    "ctr, key, expected",
    [  # Random123 known-answer vectors for philox4x32_10
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ],
)
def test_philox_known_answers(ctr, key, expected):
    out = philox4x32_10(np.array(ctr, np.uint64), np.array(key, np.uint64))
    assert tuple(int(v) for v in out) == expected


def test_cuda_source_uses_same_constants():
    for c in ("0xD2511F53u", "0xCD9E8D57u", "0x9E3779B9u", "0xBB67AE85u", "i < 10"):
        assert c in CUDA_SOURCE


@pytest.mark.gpu
def test_cupy_matches_enumeration_L4():
    m = IsingModel(4)
    for K, eta in POINTS:
        g = ParameterGrid.from_ranges(K=[K], eta=[eta])
        ds = m.sample(g, 6000, seed=11, backend="cupy", replicas_per_point=2, progress=False)
        _check_against_exact(ds)


@pytest.mark.gpu
def test_cupy_large_L_against_kaufman():
    exact = pytest.importorskip("statgeo.models.exact.ising_kaufman")
    L, Ks = 32, np.array([0.35, 0.5 * np.log(1 + np.sqrt(2))])
    ds = IsingModel(L).sample(ParameterGrid.from_ranges(K=Ks, eta=[0.0]), 4000, seed=3, backend="cupy",
                              progress=False)
    th = thermodynamics(ds)
    _, mean_B, var_B = exact.kaufman_thermo(Ks, L)
    assert np.all(np.abs((th["B"].mean[:, 0] - mean_B) / th["B"].error[:, 0]) < Z_TOL)
    assert np.all(np.abs((th["var_B"].mean[:, 0] - var_B) / th["var_B"].error[:, 0]) < Z_TOL)


@pytest.mark.gpu
def test_cupy_reproducible():
    g = ParameterGrid.from_ranges(K=[0.3, 0.5], eta=[0.0, 0.1])
    kw = dict(backend="cupy", burn_in=10, thin=2, progress=False)
    a = IsingModel(8).sample(g, 10, seed=1, **kw)
    b = IsingModel(8).sample(g, 10, seed=1, **kw)
    c = IsingModel(8).sample(g, 10, seed=2, **kw)
    np.testing.assert_array_equal(a["spins"].values, b["spins"].values)
    assert not np.array_equal(a["spins"].values, c["spins"].values)
