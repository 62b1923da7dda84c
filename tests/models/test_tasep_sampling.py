"""TASEP samplers: exact sequential sampler (χ² against the exact law) and continuous-time MC
(currents and densities against the exact J_N and ⟨τ_i⟩ within error bars)."""

from __future__ import annotations

import json

import numba
import numpy as np
import pytest
import scipy.stats
import xarray as xr

from statgeo.grid import ParameterGrid
from statgeo.models import PhysicsModel
from statgeo.coordinates import tasep_rates_map
from statgeo.models import TasepModel, default_burn_in, relaxation_time_estimate, simulate_mc
from statgeo.models.exact import current, density_profile, enumerate_law, sample_exact
from statgeo.stats import estimate

#: p-value below which the χ² goodness-of-fit test fails (fixed seeds: the test is deterministic)
CHI2_P_THRESHOLD = 1e-3
#: |z| bound for comparisons against exact values (many comparisons per test, fixed seeds)
Z_MAX = 4.5


def _chi2_pvalue(samples: np.ndarray, prob: np.ndarray) -> float:
    N = samples.shape[1]
    idx = samples.astype(np.int64) @ (1 << (N - 1 - np.arange(N)))
    obs = np.bincount(idx, minlength=1 << N).astype(float)
    exp = prob * len(samples)
    small = exp < 5  # pool sparse cells so the χ² approximation holds
    obs = np.append(obs[~small], obs[small].sum())
    exp = np.append(exp[~small], exp[small].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    return float(scipy.stats.chisquare(obs, exp).pvalue)


@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.5, 0.5), (0.2, 0.2), (1.0, 0.1)])
def test_exact_sampler_chi2_n6(alpha, beta):
    N = 6
    _, p = enumerate_law(N, alpha, beta)
    x = sample_exact(N, alpha, beta, 50_000, seed=2024)
    assert x.dtype == np.int8 and x.shape == (50_000, N)
    assert _chi2_pvalue(x, p) > CHI2_P_THRESHOLD


@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.75, 0.8), (0.3, 0.3), (0.9, 0.2)])
def test_exact_sampler_density_and_current_n100(alpha, beta):
    N = 100
    x = sample_exact(N, alpha, beta, 20_000, seed=7).astype(float)
    st = estimate(x, axis=0)
    assert np.abs(st.z_score(density_profile(N, alpha, beta))).max() < Z_MAX
    # J = ⟨τ_i (1 − τ_{i+1})⟩ on every bulk bond
    jt = estimate(x[:, :-1] * (1 - x[:, 1:]), axis=0)
    assert np.abs(jt.z_score(current(N, alpha, beta))).max() < Z_MAX


@pytest.mark.parametrize("alpha,beta", [(0.02, 0.02), (0.01, 0.9), (1.0, 0.01)])
def test_exact_sampler_large_n_extreme_rates(alpha, beta):
    N = 1000
    x = sample_exact(N, alpha, beta, 400, seed=3)
    assert set(np.unique(x)) <= {0, 1}
    tot = estimate(x.sum(axis=1).astype(float))
    z = tot.z_score(density_profile(N, alpha, beta).sum())
    assert abs(z) < Z_MAX


def test_exact_sampler_reproducible_and_thread_independent():
    a = sample_exact(20, 0.4, 0.6, 500, seed=9)
    b = sample_exact(20, 0.4, 0.6, 500, seed=np.random.SeedSequence(9))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sample_exact(20, 0.4, 0.6, 500, seed=10))
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        c = sample_exact(20, 0.4, 0.6, 500, seed=9)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(a, c)


# ---------------------------------------------------------------- continuous-time Monte Carlo
@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.8, 0.9), (0.3, 0.3), (0.9, 0.2)])
def test_mc_current_and_density_against_exact(alpha, beta):
    N, n_rep = 10, 64
    r = simulate_mc(N, alpha, beta, n_rep, 100, seed=11, spacing=20, backend="numba")
    assert r.current.shape == (n_rep, N + 1) and r.density.shape == (n_rep, N)
    # replicas are independent: error bars from their spread
    jc = estimate(r.current, axis=0)
    assert np.abs(jc.z_score(current(N, alpha, beta))).max() < Z_MAX
    dn = estimate(r.density, axis=0)
    assert np.abs(dn.z_score(density_profile(N, alpha, beta))).max() < Z_MAX
    # snapshots (one per N sweeps... here 20) agree with the density too
    snaps = r.snapshots.mean(axis=1)
    sn = estimate(snaps, axis=0)
    assert np.abs(sn.z_score(density_profile(N, alpha, beta))).max() < Z_MAX


def test_mc_particle_conservation_between_bonds():
    # hops through bond i and bond j differ by at most the number of particles between them
    N = 12
    r = simulate_mc(N, 0.6, 0.4, 8, 10, seed=1, spacing=30, backend="numba")
    T = 10 * 30
    hops = np.rint(r.current * T)
    assert np.all(np.abs(hops[:, :, None] - hops[:, None, :]) <= N)


def test_mc_larger_n_maximal_current():
    N = 60
    r = simulate_mc(N, 0.9, 0.9, 32, 40, seed=5, backend="numba")
    jc = estimate(r.current.mean(axis=1), axis=0)  # bond-averaged current per replica
    assert abs(jc.z_score(current(N, 0.9, 0.9))) < Z_MAX


def test_mc_reproducible():
    a = simulate_mc(8, 0.4, 0.6, 4, 5, seed=3, backend="numba")
    b = simulate_mc(8, 0.4, 0.6, 4, 5, seed=3, backend="numba")
    np.testing.assert_array_equal(a.snapshots, b.snapshots)
    np.testing.assert_array_equal(a.current, b.current)
    c = simulate_mc(8, 0.4, 0.6, 4, 5, seed=4, backend="numba")
    assert not np.array_equal(a.snapshots, c.snapshots)


def test_mc_single_site():
    r = simulate_mc(1, 0.3, 0.7, 32, 200, seed=2, spacing=5, backend="numba")
    jc = estimate(r.current[:, 0], axis=0)
    assert abs(jc.z_score(0.3 * 0.7 / 1.0)) < Z_MAX
    # both bonds carry the same current up to one particle
    assert np.all(np.abs(r.current[:, 0] - r.current[:, 1]) * 1000 <= 1 + 1e-9)


def test_burn_in_rule():
    N = 400
    assert relaxation_time_estimate(N, 0.8, 0.7) == pytest.approx(N**1.5)  # maximal current
    assert relaxation_time_estimate(N, 0.3, 0.3) == pytest.approx(N**2)  # first-order line
    assert relaxation_time_estimate(N, 0.5, 0.9) == pytest.approx(N**1.5)  # continuous line α = ½: z = 3/2
    assert relaxation_time_estimate(N, 0.499, 0.9) == pytest.approx(N**2)  # LD close to α = ½: capped at N²
    assert relaxation_time_estimate(N, 0.49, 0.9) == pytest.approx(N * 50)  # wave crossing N/|1 − 2α|
    t = relaxation_time_estimate(N, 0.1, 0.9)  # deep low density: floor N^{3/2}
    assert t == pytest.approx(N**1.5)
    assert default_burn_in(N, 0.3, 0.3) >= 4 * N**2


# ---------------------------------------------------------------- the model object
def _grid():
    return ParameterGrid.from_ranges(alpha=(0.3, 0.9, 2), beta=(0.4, 1.0, 3), coordinate_map=tasep_rates_map())


def test_model_protocol_and_exact_sample_dataset():
    m = TasepModel(7)
    assert isinstance(m, PhysicsModel)
    assert m.natural_map().natural_names == ("theta_alpha", "theta_beta")
    g = _grid()
    ds = m.sample(g, 50, seed=1)
    assert ds.occupation.dims == ("alpha", "beta", "sample", "site")
    assert ds.occupation.dtype == np.int8
    assert ds.occupation.shape == (2, 3, 50, 7)
    assert ds.site.attrs["long_name"] and ds.alpha.attrs["long_name"]
    cfg = json.loads(ds.attrs["config"])
    assert cfg["method"] == "exact" and cfg["N"] == 7
    ds2 = m.sample(g, 50, seed=1)
    np.testing.assert_array_equal(ds.occupation, ds2.occupation)
    # each grid point gets its own stream
    assert not np.array_equal(ds.occupation[0, 0], ds.occupation[1, 1])
    ex = m.exact(g)
    assert ex.log_z.shape == (2, 3)


def test_model_mc_sample_dataset(tmp_path):
    m = TasepModel(6)
    ds = m.sample(_grid(), 40, seed=2, method="mc", backend="numba", n_replicas=8, burn_in=200, spacing=3)
    ds.to_zarr(tmp_path / "mc.zarr", consolidated=False)
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "mc.zarr", consolidated=False).load(), ds)
    assert ds.occupation.shape == (2, 3, 40, 6)
    assert ds.current.dims == ("alpha", "beta", "replica", "bond")
    assert ds.density_time_average.dims == ("alpha", "beta", "replica", "site")
    assert json.loads(ds.attrs["config"])["snapshots_per_replica"] == 5
    assert (ds.burn_in == 200).all()


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"method": "magic"}, ValueError, "method must be one of"),
    ({"backend": "opencl"}, ValueError, "backend must be one of"),
    ({"backend": "cupy"}, ValueError, "backend='cupy'"),
    ({"n_samples": 0}, ValueError, "n_samples"),
    ({"n_samples": 2.5}, TypeError, "n_samples"),
    ({"seed": None}, TypeError, "seed"),
    ({"method": "mc", "n_replicas": 0}, ValueError, "n_replicas"),
    ({"method": "mc", "burn_in": -1}, ValueError, "burn_in"),
])
def test_model_bad_input(kwargs, exc, match):
    args = {"n_samples": 4, "seed": 0, **kwargs}
    n = args.pop("n_samples")
    with pytest.raises(exc, match=match):
        TasepModel(4).sample(_grid(), n, **args)


def test_bad_model_and_sampler_args():
    with pytest.raises(ValueError, match="N must be an integer in"):
        TasepModel(0)
    with pytest.raises(TypeError, match="N must be an integer"):
        TasepModel(np.float64(3))
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\]"):
        sample_exact(5, 1.2, 0.5, 10, seed=0)
    with pytest.raises(ValueError, match=r"beta must be in \(0, 1\]"):
        simulate_mc(5, 0.5, 0.0, 4, 4, seed=0)
    with pytest.raises(ValueError, match="spacing"):
        simulate_mc(5, 0.5, 0.5, 4, 4, seed=0, spacing=0)


# ---------------------------------------------------------------- GPU (CuPy)
@pytest.mark.gpu
@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.8, 0.9), (0.3, 0.3)])
def test_cupy_mc_against_exact(alpha, beta):
    N = 10
    r = simulate_mc(N, alpha, beta, 256, 100, seed=11, spacing=20, backend="cupy")
    assert r.backend == "cupy"
    jc = estimate(r.current, axis=0)
    assert np.abs(jc.z_score(current(N, alpha, beta))).max() < Z_MAX
    dn = estimate(r.density, axis=0)
    assert np.abs(dn.z_score(density_profile(N, alpha, beta))).max() < Z_MAX
    r2 = simulate_mc(N, alpha, beta, 256, 100, seed=11, spacing=20, backend="cupy")
    np.testing.assert_array_equal(r.snapshots, r2.snapshots)


def test_cuda_source_philox_constants_reproduce_random123_known_answers():
    """CPU check of the Philox4x32-10 used in the CUDA source: its constants, plugged into a
    line-by-line Python transcription of ``philox4x32_10``, reproduce Random123's kat_vectors."""
    import re

    from statgeo.models.kernels.tasep_cupy import CUDA_SOURCE

    const = {k: int(v, 16) for k, v in re.findall(r"#define PHILOX_(\w+) (0x[0-9A-Fa-f]+)u", CUDA_SOURCE)}
    m32 = 0xFFFFFFFF

    def philox(c, k0, k1):
        c = list(c)
        for _ in range(10):
            p0, p1 = const["M0"] * c[0], const["M1"] * c[2]
            c = [((p1 >> 32) ^ c[1] ^ k0) & m32, p1 & m32, ((p0 >> 32) ^ c[3] ^ k1) & m32, p0 & m32]
            k0, k1 = (k0 + const["W0"]) & m32, (k1 + const["W1"]) & m32
        return c

    assert philox([0, 0, 0, 0], 0, 0) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    assert philox([m32] * 4, m32, m32) == [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]
    assert philox([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], 0xA4093822, 0x299F31D0) == [
        0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]
