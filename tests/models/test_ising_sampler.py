"""Ising samplers (checkerboard Metropolis, Wolff / ghost-spin Wolff) against exact results.

Statistical tolerance: every MC estimate must lie within 4 of its own one-sigma error bars
(τ_int-corrected errors for means, blocked-jackknife errors for variances) of the exact value.
Exact values on L = 4 come from a brute-force enumeration of the 2¹⁶ states written here
(independent of the package); on larger lattices from ``kaufman_thermo`` (h = 0).
"""

from __future__ import annotations

import json

import numba
import numpy as np
import pytest
import xarray as xr

from statgeo.grid import ParameterGrid
from statgeo.coordinates import ising_temperature_field_map
from statgeo.models.ising import IsingModel, sufficient_statistics, thermodynamics
from statgeo.seeding import xoshiro_states
from statgeo.stats import estimate
from statgeo.models.kernels import ising_numba as kn

Z_TOL = 4.0
K_C = 0.5 * np.log(1.0 + np.sqrt(2.0))


# --------------------------------------------------------------------------- brute force
def _brute_force_states(L: int):
    n = L * L
    idx = np.arange(2**n, dtype=np.int64)
    s = ((idx[:, None] >> np.arange(n)) & 1).astype(np.int64) * 2 - 1
    s = s.reshape(-1, L, L)
    B = (s * (np.roll(s, 1, axis=-1) + np.roll(s, 1, axis=-2))).sum(axis=(-1, -2))
    M = s.sum(axis=(-1, -2))
    return B.astype(np.float64), M.astype(np.float64)


_STATES = {}


def brute_force(K: float, eta: float, L: int = 4) -> dict[str, float]:
    """Exact ⟨B⟩, ⟨M⟩, ⟨|M|⟩, Var(B), Var(M), Cov(B, M), ln Z by summing over all 2^(L²) states."""
    if L not in _STATES:
        _STATES[L] = _brute_force_states(L)
    B, M = _STATES[L]
    lw = K * B + eta * M
    mx = lw.max()
    w = np.exp(lw - mx)
    Z = w.sum()
    w /= Z
    mB, mM = (w * B).sum(), (w * M).sum()
    return {"B": mB, "M": mM, "absM": (w * np.abs(M)).sum(), "var_B": (w * (B - mB) ** 2).sum(),
            "var_M": (w * (M - mM) ** 2).sum(), "cov_BM": (w * (B - mB) * (M - mM)).sum(),
            "log_z": mx + np.log(Z)}


POINTS = [(0.25, 0.0), (K_C, 0.0), (K_C, 0.1), (0.6, -0.05), (0.3, 0.3)]


def _check_against_exact(ds, L=4, keys=("B", "var_B", "var_M", "cov_BM")):
    th = thermodynamics(ds)
    worst = 0.0
    for i, K in enumerate(ds["K"].values):
        for j, eta in enumerate(ds["eta"].values):
            ex = brute_force(K, eta, L)
            ks = list(keys) + (["absM"] if eta == 0 else ["M"])
            for k in ks:
                z = (th[k].mean[i, j] - ex[k]) / th[k].error[i, j]
                worst = max(worst, abs(z))
                assert abs(z) < Z_TOL, f"{k} at K={K}, eta={eta}: {th[k].mean[i, j]} vs exact {ex[k]} (z={z:.2f})"
    return worst


@pytest.mark.parametrize("algorithm", ["metropolis", "wolff", "hybrid", "auto"])
def test_sampler_matches_enumeration_L4(algorithm):
    m = IsingModel(4)
    for K, eta in POINTS:
        g = ParameterGrid.from_ranges(K=[K], eta=[eta])
        ds = m.sample(g, 6000, seed=11, algorithm=algorithm, replicas_per_point=2, progress=False)
        _check_against_exact(ds)


def test_wolff_odd_L_matches_enumeration():
    g = ParameterGrid.from_ranges(K=[0.4], eta=[0.0, 0.15])
    ds = IsingModel(3).sample(g, 6000, seed=2, algorithm="wolff", progress=False)
    _check_against_exact(ds, L=3)


def test_grid_in_temperature_field():
    """A (T, H) grid through the coordinate map samples at (K, η) = (1/T, H/T)."""
    J = 1.0
    g = ParameterGrid.from_ranges(coordinate_map=ising_temperature_field_map(J), T=[2.0, 3.0], H=[0.0, 0.2])
    ds = IsingModel(4, J=J).sample(g, 4000, seed=4, algorithm="metropolis", progress=False)
    th = thermodynamics(ds)
    for i, T in enumerate([2.0, 3.0]):
        for j, H in enumerate([0.0, 0.2]):
            ex = brute_force(J / T, H / T)
            z = (th["B"].mean[i, j] - ex["B"]) / th["B"].error[i, j]
            assert abs(z) < Z_TOL
    assert ds["spins"].dims == ("T", "H", "sample", "y", "x")
    np.testing.assert_allclose(ds["K"].values, [[0.5, 0.5], [1 / 3, 1 / 3]])


@pytest.mark.parametrize("algorithm", ["metropolis", "wolff", "hybrid", "auto"])
def test_large_L_against_kaufman(algorithm):
    exact = pytest.importorskip("statgeo.models.exact.ising_kaufman")
    L = 16
    g = ParameterGrid.from_ranges(K=[0.35, K_C], eta=[0.0])
    ds = IsingModel(L).sample(g, 3000, seed=7, algorithm=algorithm, progress=False)
    th = thermodynamics(ds)
    _, mean_B, var_B = exact.kaufman_thermo(np.array([0.35, K_C]), L)
    zB = (th["B"].mean[:, 0] - mean_B) / th["B"].error[:, 0]
    zV = (th["var_B"].mean[:, 0] - var_B) / th["var_B"].error[:, 0]
    assert np.all(np.abs(zB) < Z_TOL), zB
    assert np.all(np.abs(zV) < Z_TOL), zV


# the default sampler (auto burn-in and thinning) where each pure algorithm fails on an 8 x 8
# torus: pure Wolff in the ordered phase in a strong field (its cluster spans the lattice and
# is not flipped; the 200-sweep pilot reads tau_int = 0.5 and the records are correlated:
# B off by 14 error bars at (0.65, 0.2)); Metropolis at a weak field in the ordered phase (it
# never reaches the other magnetisation branch, which carries 8 % of the weight at
# (0.65, 0.02): M off by 250 error bars)
ORDERED_FIELD_POINTS = [(0.65, 0.2), (0.65, 0.02), (0.47, 0.01), (0.47, 0.1), (0.7, -0.2), (0.3, 0.2)]


def test_default_sampler_matches_transfer_matrix_in_the_ordered_phase_L8():
    """The default (``algorithm="auto"``, automatic burn-in and thinning) against the exact
    transfer-matrix means and covariances of B and M at L = 8, within Z_TOL error bars, at the
    points where pure Wolff or pure Metropolis fail (comment above)."""
    m = IsingModel(8)
    for K, eta in ORDERED_FIELD_POINTS:
        g = ParameterGrid.from_ranges(K=[K], eta=[eta])
        ds = m.sample(g, 4000, seed=21, progress=False)
        th = thermodynamics(ds)
        ex = m.exact(g)
        mean = np.asarray(ex["grad_log_z"].values).reshape(2)
        cov = np.asarray(ex["metric"].values).reshape(2, 2)
        for key, value in (("B", mean[0]), ("M", mean[1]), ("var_B", cov[0, 0]), ("var_M", cov[1, 1]),
                           ("cov_BM", cov[0, 1])):
            z = (th[key].mean[0, 0] - value) / th[key].error[0, 0]
            assert abs(z) < Z_TOL, f"{key} at K={K}, eta={eta}: {th[key].mean[0, 0]} vs exact {value} (z={z:.2f})"


def test_default_sampler_reaches_the_spontaneous_magnetisation_L128():
    """On a 128² torus in the ordered phase with a small field (η = 0.002, 2ηN m₀ ≈ 60: one
    branch), ⟨M⟩/N must equal Yang's spontaneous magnetisation m₀ = (1 − sinh(2K)⁻⁴)^{1/8}
    up to the field's response χη (≤ 0.0015 at K = 0.5, 0.6) and the error bars: within
    0.003 + 4σ. Pure ghost-spin Wolff with its automatic thinning stays near the cold start
    here (⟨M⟩/N = 0.996 and 0.992 against 0.974 and 0.911: its lattice-spanning cluster is not
    flipped)."""
    K = np.array([0.5, 0.6])
    g = ParameterGrid.from_ranges(K=K, eta=[0.002])
    ds = IsingModel(128).sample(g, 64, seed=2, progress=False)
    th = thermodynamics(ds)
    m0 = (1.0 - np.sinh(2.0 * K) ** -4.0) ** 0.125
    mean, err = th["M"].mean[:, 0] / 128**2, th["M"].error[:, 0] / 128**2
    assert np.all(np.abs(mean - m0) < 0.003 + 4.0 * err), (mean, err, m0)


def test_auto_chooses_cluster_moves_where_needed():
    """``algorithm="auto"``: the hybrid at the ordered phase's weak fields (both magnetisation
    branches weigh, 2|eta| N m0 < 20) and where the Metropolis pilot's tau_int exceeds 50
    sweeps (K_c at eta = 0 on 64 x 64: Metropolis tau ~ 170); Metropolis elsewhere. The
    dataset records the sampler of every point."""
    from statgeo.models.ising_sampling import ALGORITHM_CODES, needs_cluster_moves

    # m0(0.65) = 0.9945: the weak-field bound |eta| < 10 / (N m0)
    bound = 10.0 / (64 * (1.0 - np.sinh(1.3) ** -4) ** 0.125)
    assert needs_cluster_moves(np.array([0.65, 0.65]), np.array([0.99 * bound, 1.01 * bound]), 8).tolist() == [
        True, False]
    assert not needs_cluster_moves(np.array([0.3, K_C]), np.zeros(2), 64).any()  # one branch at and above T_c
    assert needs_cluster_moves(np.array([0.5]), np.array([0.0]), 512).all()
    g = ParameterGrid.from_ranges(K=[0.3, K_C, 0.6], eta=[0.0, 0.3])
    ds = IsingModel(64).sample(g, 4, seed=3, progress=False)
    algo = ds["algorithm"].values
    assert ds["algorithm"].attrs["flag_meanings"].split() == list(ALGORITHM_CODES)
    hybrid, metropolis = ALGORITHM_CODES["hybrid"], ALGORITHM_CODES["metropolis"]
    assert algo[2, 0] == hybrid and algo[1, 0] == hybrid  # weak field, ordered; critical slowing down
    assert algo[0, 0] == metropolis and algo[0, 1] == metropolis and algo[2, 1] == metropolis


def test_wolff_decorrelates_faster_at_Kc():
    """τ_int(|M|) at K_c, L = 32: Metropolis ~ 40 sweeps (docs/ising_sampling.md), Wolff ~ 1."""
    g = ParameterGrid.from_ranges(K=[K_C], eta=[0.0])
    m = IsingModel(32)
    tw = float(m.sample(g, 50, seed=1, algorithm="wolff", progress=False)["tau_int_M"].squeeze())
    tm = float(m.sample(g, 50, seed=1, algorithm="metropolis", progress=False)["tau_int_M"].squeeze())
    assert tm > 10.0, tm
    assert tw < tm / 5.0, (tw, tm)


# --------------------------------------------------------------------------- consistency
@pytest.mark.parametrize("algorithm", ["metropolis", "wolff", "hybrid", "auto"])
def test_statistics_consistent_with_spins(algorithm):
    g = ParameterGrid.from_ranges(K=[0.3, 0.5], eta=[-0.1, 0.2])
    ds = IsingModel(6).sample(g, 50, seed=3, algorithm=algorithm, progress=False)
    s = ds["spins"].values.astype(np.int64)
    B = (s * (np.roll(s, 1, axis=-1) + np.roll(s, 1, axis=-2))).sum(axis=(-1, -2))
    np.testing.assert_array_equal(B, ds["B"].values)
    np.testing.assert_array_equal(s.sum(axis=(-1, -2)), ds["M"].values)
    assert set(np.unique(s)) <= {-1, 1}


def test_pack_unpack_roundtrip():
    rng = np.random.default_rng(0)
    s = rng.choice(np.array([-1, 1], np.int8), size=(3, 8, 8))
    np.testing.assert_array_equal(kn.unpack_all(kn.pack(s)), s)


@pytest.mark.parametrize("algorithm", ["metropolis", "wolff", "hybrid", "auto"])
def test_reproducible_and_thread_independent(algorithm):
    g = ParameterGrid.from_ranges(K=[0.3, 0.45, 0.6], eta=[0.0, 0.1])
    m = IsingModel(8)
    kw = dict(algorithm=algorithm, burn_in=20, thin=2, progress=False)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = m.sample(g, 20, seed=5, **kw)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        b = m.sample(g, 20, seed=5, **kw)
    finally:
        numba.set_num_threads(old)
    c = m.sample(g, 20, seed=6, **kw)
    ss = np.random.SeedSequence(5)
    d = m.sample(g, 20, seed=ss, **kw)
    np.testing.assert_array_equal(a["spins"].values, b["spins"].values)
    np.testing.assert_array_equal(a["spins"].values, d["spins"].values)
    assert not np.array_equal(a["spins"].values, c["spins"].values)


def test_auto_burn_in_rule():
    g = ParameterGrid.from_ranges(K=[0.2, K_C], eta=[0.0])
    ds = IsingModel(16).sample(g, 10, seed=1, algorithm="metropolis", progress=False)
    tau = np.maximum(ds["tau_int_B"].values, ds["tau_int_M"].values)
    assert np.all(ds["thin"].values == np.maximum(1, np.ceil(2 * tau)))
    assert np.all(ds["burn_in"].values >= np.ceil(20 * tau))
    # slower decorrelation at K_c than at high temperature
    assert tau[1, 0] > tau[0, 0]


# --------------------------------------------------------------------------- output
def test_dataset_structure_and_netcdf_roundtrip(tmp_path):
    g = ParameterGrid.from_ranges(K=[0.3, 0.5], eta=[0.0, 0.1, 0.2])
    m = IsingModel(4)
    ds = m.sample(g, 12, seed=0, algorithm="metropolis", progress=False)
    assert ds["spins"].dtype == np.int8
    assert ds["spins"].dims == ("K", "eta", "sample", "y", "x")
    assert ds["spins"].shape == (2, 3, 12, 4, 4)
    assert ds["B"].dtype == np.int64 and ds["M"].dtype == np.int64
    assert ds["B"].dims == ("K", "eta", "sample")
    for v in ("tau_int_B", "tau_int_M", "burn_in", "thin"):
        assert ds[v].dims == ("K", "eta")
    for c in ("K", "eta"):
        assert ds[c].attrs["long_name"] and "units" in ds[c].attrs
    cfg = json.loads(ds.attrs["config"])
    assert cfg["L"] == 4 and cfg["algorithm"] == "metropolis"
    json.loads(ds.attrs["versions"])
    for k, v in ds.attrs.items():
        assert isinstance(v, str), k
    f = sufficient_statistics(ds)
    assert f.dims == ("K", "eta", "sample", "statistic")
    assert list(f["statistic"].values) == ["B", "M"]
    np.testing.assert_array_equal(f.sel(statistic="M").values, ds["M"].values)
    assert m.sufficient_statistics(ds).equals(f)
    path = tmp_path / "ising.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as back:
        back.load()
        xr.testing.assert_identical(back, ds)
        assert back["spins"].dtype == np.int8


def test_thermodynamics_records():
    g = ParameterGrid.from_ranges(K=[0.4], eta=[0.05])
    ds = IsingModel(4).sample(g, 2000, seed=9, algorithm="wolff", progress=False)
    th = thermodynamics(ds)
    for k in ("B", "M", "absM", "var_B", "var_M", "cov_BM"):
        assert th[k].mean.shape == (1, 1)
        assert np.all(th[k].error > 0) and np.all(th[k].tau_int >= 0.5)
        assert th[k].n == 2000


def test_model_protocol():
    from statgeo.models import ExponentialFamilyModel, PhysicsModel

    m = IsingModel(8, J=1.5)
    assert isinstance(m, PhysicsModel) and isinstance(m, ExponentialFamilyModel)
    assert m.parameter_names == ("T", "H")
    t = m.natural_map().forward(np.array([[3.0, 0.3]]))
    np.testing.assert_allclose(t, [[0.5, 0.1]])


# --------------------------------------------------------------------------- bad input
def _g():
    return ParameterGrid.from_ranges(K=[0.3], eta=[0.0])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(n_samples=0), ValueError, "n_samples"),
        (dict(n_samples=5.0), TypeError, "n_samples"),
        (dict(backend="gpu"), ValueError, "backend"),
        (dict(algorithm="heatbath"), ValueError, "algorithm"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed="a"), TypeError, "seed"),
        (dict(burn_in=-1), ValueError, "burn_in"),
        (dict(burn_in="long"), ValueError, "burn_in"),
        (dict(thin=0), ValueError, "thin"),
        (dict(replicas_per_point=0), ValueError, "replicas_per_point"),
        (dict(backend="cupy", algorithm="wolff"), ValueError, "wolff"),
    ],
)
def test_bad_sample_arguments(kwargs, exc, match):
    args = dict(n_samples=5, seed=0, progress=False)
    args.update(kwargs)
    n = args.pop("n_samples")
    with pytest.raises(exc, match=match):
        IsingModel(4).sample(_g(), n, **args)


def test_bad_model_and_grid():
    with pytest.raises(ValueError, match="L"):
        IsingModel(1)
    with pytest.raises(TypeError, match="L"):
        IsingModel(4.0)
    with pytest.raises(ValueError, match="J"):
        IsingModel(4, J=0.0)
    with pytest.raises(ValueError, match="even"):
        IsingModel(5).sample(_g(), 5, seed=0, algorithm="metropolis", progress=False)
    with pytest.raises(ValueError, match="T"):
        g = ParameterGrid.from_ranges(coordinate_map=ising_temperature_field_map(), T=[-1.0, 2.0], H=[0.0])
        IsingModel(4).sample(g, 5, seed=0, progress=False)
    with pytest.raises(ValueError, match="K"):
        IsingModel(4).sample(ParameterGrid.from_ranges(K=[-0.1, 0.3], eta=[0.0]), 5, seed=0, progress=False)
    with pytest.raises(ValueError, match="natural"):
        IsingModel(4).sample(ParameterGrid.from_ranges(a=[0.1], b=[0.0]), 5, seed=0, progress=False)
    with pytest.raises(TypeError, match="grid"):
        IsingModel(4).sample({"K": [0.3]}, 5, seed=0, progress=False)
    with pytest.raises(TypeError, match="samples"):
        thermodynamics(xr.Dataset())


def test_exact_delegates_to_exact_module():
    exact = pytest.importorskip("statgeo.models.exact.ising")
    if not hasattr(exact, "ising_exact"):
        pytest.skip("ising_exact not available yet")
    g = ParameterGrid.from_ranges(K=[0.3], eta=[0.0, 0.1])
    ds = IsingModel(4).exact(g)
    ex = brute_force(0.3, 0.1)
    assert float(ds["log_z"].values[0, 1]) == pytest.approx(ex["log_z"], rel=1e-10)


def test_thermodynamics_few_samples():
    g = ParameterGrid.from_ranges(K=[0.3], eta=[0.0])
    ds = IsingModel(4).sample(g, 5, seed=0, burn_in=10, thin=1, progress=False)
    th = thermodynamics(ds)
    assert th["var_B"].n == 5 and np.isfinite(th["var_B"].mean).all()
    with pytest.raises(ValueError, match="at least 2"):
        thermodynamics(IsingModel(4).sample(g, 1, seed=0, burn_in=10, thin=1, progress=False))


# --------------------------------------------------------------------------- Wolff move kernel
def test_wolff_neighbour_table():
    L = 5
    nbr = kn.wolff_neighbours(L)
    idx = np.arange(L * L).reshape(L, L)
    # direction d = 0: +x, 1: +y, 2: -x, 3: -y (the opposite of d is d ^ 2)
    expected = [np.roll(idx, -1, axis=1), np.roll(idx, -1, axis=0), np.roll(idx, 1, axis=1), np.roll(idx, 1, axis=0)]
    for d in range(4):
        np.testing.assert_array_equal(nbr[:, d], expected[d].ravel())


@pytest.mark.parametrize("table", [1, 0])
@pytest.mark.parametrize("K, eta", [(0.4, 0.0), (0.35, 0.25)])
def test_wolff_single_move_detailed_balance_L2(K, eta, table):
    """One Wolff move (ghost-spin acceptance at η ≠ 0) satisfies detailed balance on the 2×2 torus.

    Both kernel variants (neighbour table with parent skip, and row/column wrap) are checked.
    From each of the 16 states, R independent single moves estimate T(s → s'); for every pair,
    π(s) T(s → s') − π(s') T(s' → s) must vanish within Z_TOL binomial standard errors (plus a
    Bonferroni allowance of 0.5 for the 120 pairs). π ∝ exp(K B + η M) from the enumeration above.
    """
    L, R = 2, 40000
    B, M = _brute_force_states(L)
    lw = K * B + eta * M
    pi = np.exp(lw - lw.max())
    pi /= pi.sum()
    states = ((np.arange(16)[:, None] >> np.arange(4)) & 1).astype(np.int8) * 2 - 1
    T = np.zeros((16, 16))
    one = np.ones(R, np.int64)
    for a in range(16):
        spins = np.ascontiguousarray(np.broadcast_to(states[a].reshape(1, L, L), (R, L, L)))
        rng = kn.rng_lanes(xoshiro_states(1000 + a, R), R, 1)
        out = np.empty((R, 1, L, L), np.int8)
        oB = np.empty((R, 1), np.int64)
        kn.wolff_schedule(spins, kn.wolff_thresholds(np.full(R, K)), np.full(R, eta), one, rng,
                          np.zeros(R, np.int64), one, out, oB, oB.copy(), table)
        code = (((out[:, 0].reshape(R, 4) + 1) // 2).astype(np.int64) << np.arange(4)).sum(axis=1)
        T[a] = np.bincount(code, minlength=16) / R
    np.testing.assert_allclose(T.sum(axis=1), 1.0)
    flow = pi[:, None] * T
    err = np.sqrt(pi[:, None] ** 2 * T * (1 - T) / R + pi[None, :] ** 2 * T.T * (1 - T.T) / R)
    iu = np.triu_indices(16, 1)
    d, e = (flow - flow.T)[iu], err[iu]
    ok = e > 0
    assert np.all(d[~ok] == 0)
    z = np.abs(d[ok] / e[ok])
    assert z.max() < Z_TOL + 0.5, z.max()
    assert np.count_nonzero(T[~np.eye(16, dtype=bool)]) > 16  # non-trivial moves happened


@pytest.mark.parametrize("table", [1, 0])
def test_wolff_variants_match_kaufman_L8(table):
    """Both Wolff kernel variants reproduce Kaufman's exact ⟨B⟩ on the 8×8 torus at K_c."""
    exact = pytest.importorskip("statgeo.models.exact.ising_kaufman")
    L, R, n = 8, 4, 4000
    sp = np.ones((R, L, L), np.int8)
    rng = kn.rng_lanes(xoshiro_states(77, R), R, 1)
    padd = kn.wolff_thresholds(np.full(R, K_C))
    eta = np.zeros(R)
    size = kn.wolff_calibrate(sp, padd, eta, rng, 50, 100, table)
    moves = np.maximum(1, np.rint(L * L / size)).astype(np.int64)
    B = np.empty((R, n), np.int64)
    kn.wolff_schedule(sp, padd, eta, moves, rng, np.full(R, 50, np.int64), np.ones(R, np.int64),
                      np.empty((R, 0, L, L), np.int8), B, B.copy(), table)
    _, mean_B, _ = exact.kaufman_thermo(np.array([K_C]), L)
    st = estimate(B.astype(np.float64))  # per replica, τ_int-corrected errors
    z = (float(np.mean(st.mean)) - mean_B[0]) / (float(np.sqrt(np.sum(np.asarray(st.error) ** 2))) / R)
    assert abs(z) < Z_TOL, z


def test_metropolis_warns_where_it_cannot_reach_the_other_branch(caplog):
    """Explicit Metropolis (the only CuPy sampler) at weak fields in the ordered phase: the
    result would miss the other magnetisation branch (M off by 250 error bars at
    (0.65, 0.02) on 8 x 8), so a warning names the points and the remedy; none elsewhere."""
    import logging

    m = IsingModel(8)
    with caplog.at_level(logging.WARNING, logger="statgeo.models.ising_sampling"):
        m.sample(ParameterGrid.from_ranges(K=[0.65], eta=[0.02, 0.3]), 4, seed=0, algorithm="metropolis",
                 burn_in=10, thin=1, progress=False)
    msgs = [r.getMessage() for r in caplog.records if "too weak for Metropolis" in r.getMessage()]
    assert len(msgs) == 1 and msgs[0].startswith("1 of 2 points") and "algorithm='auto'" in msgs[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="statgeo.models.ising_sampling"):
        m.sample(ParameterGrid.from_ranges(K=[0.3, 0.65], eta=[0.3]), 4, seed=0, algorithm="metropolis",
                 burn_in=10, thin=1, progress=False)
    assert not [r for r in caplog.records if "too weak for Metropolis" in r.getMessage()]


def test_automatic_pilot_doubles_until_it_can_measure_tau():
    """``pilot_sweeps="auto"``: a pilot shorter than 4c τ_int (20 τ) doubles, continuing the same
    chains, up to 8 × its default. Metropolis at K_c on 48 × 48 (τ_int of M ≈ 90 sweeps, above
    the 50 that its 1000-sweep pilot can measure) ends with a pilot of at least 20 τ. An explicit
    ``pilot_sweeps`` is kept as given (and warned about)."""
    from statgeo.models.ising_sampling import PILOT_EXTENSION, PILOT_SWEEPS, run_chains

    out = run_chains([K_C], [0.0], 48, 4, seed=0, algorithm="metropolis", progress=False)
    tau = max(out["tau_int_B"][0], out["tau_int_M"][0])
    assert tau > PILOT_SWEEPS["metropolis"] / 20
    assert PILOT_SWEEPS["metropolis"] < out["pilot_sweeps"] <= PILOT_EXTENSION * PILOT_SWEEPS["metropolis"]
    assert out["pilot_sweeps"] >= 20 * tau or out["pilot_sweeps"] == PILOT_EXTENSION * PILOT_SWEEPS["metropolis"]
    assert out["burn_in"][0] >= 20 * tau and out["pilot"] == {"metropolis": [200, out["pilot_sweeps"]]}
    fixed = run_chains([K_C], [0.0], 48, 4, seed=0, algorithm="metropolis", pilot_sweeps=1000, progress=False)
    assert fixed["pilot_sweeps"] == 1000
