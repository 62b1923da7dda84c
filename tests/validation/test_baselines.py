"""Tests of the Table 1 baselines (Mean-as-Stat, PCA-VAE).

Oracle: the 3×3 Ising torus by brute-force enumeration of its 512 configurations (exact
log Z, ∇ log Z = E[(B, M)], metric Cov(B, M)), sampled exactly configuration by configuration.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from statgeo.grid import ParameterGrid
from validation.baselines import (
    as_sample_array,
    fit_pca,
    fit_pca_vae,
    fit_vae,
    mean_as_stat,
    pca_statistics,
    pca_vae,
    pca_vae_from_statistics,
    pick_better,
    statistic_baseline,
    vae_statistics,
)
from validation.error_measures import reconstruction_errors


def ising3():
    L = 3
    idx = np.arange(2 ** (L * L))
    s = (1 - 2 * ((idx[:, None] >> np.arange(L * L)) & 1)).reshape(-1, L, L).astype(np.int8)
    s32 = s.astype(np.int64)
    B = (s32 * np.roll(s32, 1, 1)).sum((1, 2)) + (s32 * np.roll(s32, 1, 2)).sum((1, 2))
    M = s32.sum((1, 2))
    return s, np.stack([B, M], -1).astype(float)


def exact_reference(grid, f):
    K, E = grid.mesh()
    logw = K[..., None] * f[:, 0] + E[..., None] * f[:, 1]
    mx = logw.max(-1, keepdims=True)
    w = np.exp(logw - mx)
    Z = w.sum(-1)
    p = w / Z[..., None]
    mean = p @ f
    cov = np.einsum("...c,ca,cb->...ab", p, f, f) - mean[..., :, None] * mean[..., None, :]
    ds = xr.Dataset({"log_z": (grid.names, np.log(Z) + mx[..., 0]),
                     "grad_log_z": (grid.names + ("natural",), mean),
                     "metric": (grid.names + ("natural", "natural_"), cov)}, coords=grid.coords())
    return ds, p


def sample_configs(grid, p, s, n, seed):
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(p.reshape(-1, p.shape[-1]), -1)
    u = rng.random((cdf.shape[0], n))
    idx = np.stack([np.minimum(np.searchsorted(c, uu), len(c) - 1) for c, uu in zip(cdf, u)])
    return s[idx.reshape(grid.shape + (n,))]  # (*G, n, 3, 3)


@pytest.fixture(scope="module")
def ising_setup():
    s, f = ising3()
    grid = ParameterGrid.from_ranges(K=(0.1, 0.5, 12), eta=(-0.3, 0.3, 12))
    ref, p = exact_reference(grid, f)
    return s, f, grid, ref, p


def test_mean_as_stat_is_exact_in_the_field_direction(ising_setup):
    """s = M/N is the sufficient statistic of η: g_s,ηη = Var(M) within bootstrap errors."""
    s, f, grid, ref, p = ising_setup
    x = sample_configs(grid, p, s, 800, seed=1)
    ds = mean_as_stat(x, grid, smooth=0.0, ridge=0.0, n_boot=30, seed=2)
    g, err = ds["metric"].values, ds["metric_error"].values
    exact = ref["metric"].values[..., 1, 1]
    z = (g[..., 1, 1] - exact) / err[..., 1, 1]
    inner = z[1:-1, 1:-1]  # one-sided edge differences carry O(h) extra bias
    assert np.mean(inner**2) < 2.0 and np.mean(np.abs(inner) < 3) > 0.95
    # one statistic: g_s is rank one, g_KK g_ηη = g_Kη², and below the true metric (Loewner)
    np.testing.assert_allclose(g[..., 0, 0] * g[..., 1, 1], g[..., 0, 1] ** 2, rtol=1e-8)
    gap = ref["metric"].values - g
    assert np.mean(np.linalg.eigvalsh(gap)[..., 0] > -3 * err.max(axis=(-1, -2))) > 0.95


def test_mean_as_stat_default_reconstruction_ranks_like_the_paper(ising_setup):
    """64 samples per point, default settings: ∂F/∂η (exact statistic) far better than ∂F/∂K."""
    s, f, grid, ref, p = ising_setup
    x = sample_configs(grid, p, s, 64, seed=3)
    ds = mean_as_stat(x, grid)
    res = reconstruction_errors(ref, ds, grid)
    nr = {(r["coords"], r["quantity"]): r["nrmse"] for r in res["records"]}
    assert nr[("natural", "dF/deta")] < 0.15
    assert nr[("natural", "dF/deta")] < 0.5 * nr[("natural", "dF/dK")]
    assert set(ds.data_vars) == {"log_z", "grad_log_z", "metric"}
    assert ds["grad_log_z"].dims == ("K", "eta", "natural") and ds["metric"].dims == ("K", "eta", "natural", "natural_")
    assert list(ds["natural"].values) == ["K", "eta"]


def test_normalisation_divides_all_outputs(ising_setup):
    s, f, grid, ref, p = ising_setup
    x = sample_configs(grid, p, s, 32, seed=4)
    a = mean_as_stat(x, grid)
    b = mean_as_stat(x, grid, normalisation=9.0)
    for v in ("log_z", "grad_log_z", "metric"):
        np.testing.assert_allclose(b[v].values * 9.0, a[v].values, rtol=1e-10, atol=1e-12)


def test_xarray_input_in_any_dim_order_matches_numpy(ising_setup):
    s, f, grid, ref, p = ising_setup
    x = sample_configs(grid, p, s, 16, seed=5)
    da = xr.DataArray(x, dims=("K", "eta", "sample", "y", "x"), coords=grid.coords()).transpose(
        "sample", "x", "eta", "y", "K")
    # feature dims are flattened in the DataArray's order (here x before y)
    np.testing.assert_array_equal(as_sample_array(da, grid), x.transpose(0, 1, 2, 4, 3).reshape(12, 12, 16, 9))
    a = mean_as_stat(da, grid)
    b = mean_as_stat(x, grid)
    np.testing.assert_allclose(a["log_z"].values, b["log_z"].values, atol=1e-12)


def test_pca_statistics_recover_the_leading_direction():
    rng = np.random.default_rng(0)
    D = 12
    u = np.zeros(D)
    u[:4] = 0.5  # unit leading direction
    grid_shape, n = (3, 4), 50
    amp = rng.standard_normal(grid_shape + (n,)) * 5.0
    x = amp[..., None] * u + 0.3 * rng.standard_normal(grid_shape + (n, D))
    st = pca_statistics(x, k=2)
    assert st.shape == grid_shape + (n, 2)
    X = x.reshape(-1, D) - x.reshape(-1, D).mean(0)
    v = st.reshape(-1, 2).T @ X  # ∝ the principal axes (projections are X V)
    cos = abs(v[0] @ u) / np.linalg.norm(v[0])
    assert cos > 0.999
    # pooled projections are uncorrelated with decreasing variances (PCA property)
    C = np.cov(st.reshape(-1, 2).T)
    assert abs(C[0, 1]) < 1e-8 * C[0, 0] and C[0, 0] > C[1, 1]


def test_pca_randomised_path_matches_exact_svd():
    rng = np.random.default_rng(1)
    D, M = 2100, 300
    basis = np.linalg.qr(rng.standard_normal((D, 2)))[0]
    x = (rng.standard_normal((M, 2)) * [6.0, 3.0]) @ basis.T + 0.1 * rng.standard_normal((M, D))
    x = x.reshape(3, 100, D)
    st = pca_statistics(x, k=2, seed=3)
    Xc = x.reshape(-1, D) - x.reshape(-1, D).mean(0)
    _, _, Vt = np.linalg.svd(Xc, full_matrices=False)
    ref = Xc @ Vt[:2].T
    for i in range(2):
        assert abs(np.corrcoef(st.reshape(-1, 2)[:, i], ref[:, i])[0, 1]) > 0.9999


def test_vae_statistics_seeded_and_side_effect_free():
    import torch

    rng = np.random.default_rng(0)
    x = np.where(rng.random((4, 4, 32, 9)) < 0.3, -1, 1).astype(np.int8)
    state = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    a = vae_statistics(x, steps=40, seed=7)
    b = vae_statistics(x, steps=40, seed=7)
    c = vae_statistics(x, steps=40, seed=8)
    assert a.shape == (4, 4, 32, 2) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert torch.equal(torch.random.get_rng_state(), state) and torch.get_num_threads() == threads
    g = vae_statistics(rng.standard_normal((3, 3, 20, 5)), steps=20, latent_dim=3, seed=0)  # Gaussian decoder
    assert g.shape == (3, 3, 20, 3)


def test_pca_vae_both_variants_and_pick_better(ising_setup):
    s, f, grid, ref, p = ising_setup
    x = sample_configs(grid, p, s, 32, seed=6)
    out = pca_vae(x, grid, vae={"steps": 60}, seed=0)
    assert set(out) == {"pca", "vae"}
    for name, ds in out.items():
        assert ds.attrs["method"] == f"pca-vae:{name}"
        assert ds["metric"].shape == (12, 12, 2, 2) and np.isfinite(ds["log_z"].values).all()
    best, ds, scores = pick_better(out, ref, grid)
    manual = {}
    for name, d in out.items():
        recs = reconstruction_errors(ref, d, grid, physical=False)["records"]
        manual[name] = np.mean([r["nrmse"] for r in recs if not r["quantity"].startswith("g[")])
    assert scores == pytest.approx(manual)
    assert best == min(manual, key=manual.get) and ds is out[best]


def test_dataset_round_trips_through_netcdf(ising_setup, tmp_path):
    s, f, grid, ref, p = ising_setup
    ds = mean_as_stat(sample_configs(grid, p, s, 16, seed=7), grid, n_boot=3)
    path = tmp_path / "mas.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = xr.open_dataset(path, engine="h5netcdf").load()
    xr.testing.assert_identical(back, ds)


def test_bad_input(ising_setup):
    s, f, grid, ref, p = ising_setup
    x = sample_configs(grid, p, s, 8, seed=8)
    with pytest.raises(ValueError, match="shape"):
        mean_as_stat(x[:, :5], grid)
    xf = x.astype(float)
    xf[0, 0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        mean_as_stat(xf, grid)
    one = ParameterGrid.from_ranges(K=(0.1, 0.5, 12), eta=[0.0])
    with pytest.raises(ValueError, match="at least 3 points"):
        mean_as_stat(x[:, :1], one)
    with pytest.raises(ValueError, match="k must be"):
        pca_vae(x, grid, k=10)  # k > number of features (9)
    with pytest.raises(ValueError, match="n_samples"):
        statistic_baseline(np.zeros((12, 12, 2, 3)), grid, ridge=0.0)  # k = 3 > n = 2
    with pytest.raises(ValueError, match="variants"):
        pca_vae(x, grid, variants=("ica",))
    with pytest.raises(ValueError, match="dims"):
        mean_as_stat(xr.DataArray(x, dims=("T", "eta", "sample", "y", "x")), grid)
    with pytest.raises(TypeError, match="Dataset"):
        mean_as_stat(xr.Dataset({"s": (("K",), np.zeros(12))}), grid)
    with pytest.raises(ValueError, match="normalisation"):
        mean_as_stat(x, grid, normalisation=0.0)


def test_fitted_statistics_apply_block_by_block_and_from_a_subset():
    """The statistics fitted once (:func:`fit_pca_vae`) give the same values whether applied to
    all samples at once or a block of grid points at a time (how Table 1 streams the paper's
    lattices), and a PCA fitted on a uniform quarter of the pooled samples finds the same
    leading direction (|cos| > 0.999 with the full fit's) when it dominates the noise."""
    rng = np.random.default_rng(5)
    D = 20
    u = np.linalg.qr(rng.standard_normal((D, 2)))[0]
    x = (rng.standard_normal((6, 5, 16, 2)) * [5.0, 2.0]) @ u.T + 0.3 * rng.standard_normal((6, 5, 16, D))
    maps = fit_pca_vae(x, vae={"steps": 30}, seed=2)
    for name, f in maps.items():
        whole = f(x)
        blocks = np.concatenate([f(x[r : r + 2]) for r in range(0, 6, 2)])
        np.testing.assert_allclose(blocks, whole, rtol=1e-5, atol=1e-6, err_msg=name)
        assert f.config["fit_samples"] == 6 * 5 * 16
    np.testing.assert_array_equal(maps["pca"](x), pca_statistics(x, seed=2))
    np.testing.assert_array_equal(maps["vae"](x), vae_statistics(x, steps=30, seed=2))
    pooled = x.reshape(-1, D)
    part = fit_pca(pooled[np.sort(rng.choice(pooled.shape[0], pooled.shape[0] // 4, replace=False))], k=1)
    assert abs(part.components[:, 0] @ maps["pca"].components[:, 0]) > 0.999
    out = pca_vae_from_statistics({n: maps[n](x) for n in ("pca", "vae")}, ParameterGrid.from_ranges(
        K=(0.2, 0.7, 6), eta=(-0.2, 0.2, 5)), configs={n: maps[n].config for n in ("pca", "vae")})
    assert set(out) == {"pca", "vae"} and '"fit_samples": 480' in out["pca"].attrs["config"]


@settings(max_examples=25, deadline=None)
@given(k=st.integers(-3, 40), features=st.integers(1, 12), dtype=st.sampled_from(["f8", "i1", "U1", "c16"]))
def test_fitted_statistics_refuse_bad_input(k, features, dtype):
    """fit_pca / fit_vae name the argument and its range before any work; a fitted statistic
    refuses samples with another number of features."""
    x = np.ones((30, 6)).astype(dtype) if dtype != "U1" else np.full((30, 6), "a")
    if dtype in ("U1", "c16"):
        with pytest.raises(TypeError, match="x must be real"):
            fit_pca(x)
        with pytest.raises(TypeError, match="x must be real"):
            fit_vae(x, steps=1)
        return
    x = np.random.default_rng(0).standard_normal((30, 6)).astype(dtype)
    if not 1 <= k <= 6:
        with pytest.raises(ValueError, match=r"k must be .*\[1, 6\]"):
            fit_pca(x, k=k)
        return
    f = fit_pca(x, k=k)
    if features != 6:
        with pytest.raises(ValueError, match="x must have 6 features"):
            f(np.zeros((4, features)))
    with pytest.raises(ValueError, match="n_features"):
        fit_pca(np.zeros((0, 6)))
