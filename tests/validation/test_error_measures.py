"""Tests of the Table 1 error measures (affine / scale + affine alignment, RMSE, physical coords)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from statgeo.grid import ParameterGrid
from statgeo.coordinates import ising_temperature_field_map
from validation.error_measures import edge_mask, errors_to_dataframe, fit_alignment, reconstruction_errors


def as_ds(grid, F, G=None, M=None):
    dims = list(grid.names)
    data = {"log_z": (dims, F)}
    if G is not None:
        data["grad_log_z"] = (dims + ["natural"], G)
    if M is not None:
        data["metric"] = (dims + ["natural", "natural_"], M)
    return xr.Dataset(data, coords=grid.coords())


def reference(grid):
    """A smooth convex test potential F = ln(1 + e^{t1} + e^{t2}) with gradient and Hessian."""
    t = grid.natural_points().reshape(grid.shape + (2,))
    e = np.exp(t)
    z = 1 + e.sum(-1)
    p = e / z[..., None]
    g = -p[..., :, None] * p[..., None, :] + p[..., :, None] * np.eye(2)
    return t, np.log(z), p, g


def rec(result, coords, quantity):
    (r,) = [r for r in result["records"] if r["coords"] == coords and r["quantity"] == quantity]
    return r


@pytest.fixture
def grid():
    return ParameterGrid.from_ranges(K=(0.2, 0.7, 12), eta=(-0.3, 0.3, 10))


def test_affine_alignment_removes_an_added_affine_term_exactly(grid):
    t, F, p, g = reference(grid)
    c, b = np.array([0.7, -1.3]), 2.5
    res = reconstruction_errors(as_ds(grid, F, p, g), as_ds(grid, F - t @ c - b, p - c, g), grid)
    np.testing.assert_allclose(res["alignment"]["c"], c, atol=1e-12)
    assert res["alignment"]["b"] == pytest.approx(b, abs=1e-12)
    assert res["alignment"]["scale"] == 1.0
    for r in res["records"]:
        assert r["rmse"] < 1e-12, r


def test_scale_and_affine_recovers_a_known_scale(grid):
    t, F, p, g = reference(grid)
    s, c, b = 1.7, np.array([0.2, 0.4]), -0.3
    recon = as_ds(grid, (F - t @ c - b) / s, (p - c) / s, g / s)
    res = reconstruction_errors(as_ds(grid, F, p, g), recon, grid, alignment="scale+affine")
    assert res["alignment"]["kind"] == "scale+affine"
    assert res["alignment"]["scale"] == pytest.approx(s, rel=1e-10)
    assert max(r["rmse"] for r in res["records"]) < 1e-10
    # the affine-only headline does not hide the mis-scaling
    head = reconstruction_errors(as_ds(grid, F, p, g), recon, grid)
    assert rec(head, "natural", "g[K,K]")["nrmse"] > 0.1


def test_rmse_of_a_known_perturbation(grid):
    t, F, p, g = reference(grid)
    rng = np.random.default_rng(0)
    dF = 0.01 * rng.standard_normal(F.shape)
    X = np.column_stack([np.ones(F.size), t.reshape(-1, 2)])
    resid = dF.ravel() - X @ np.linalg.lstsq(X, dF.ravel(), rcond=None)[0]  # what affine alignment leaves
    cfit = np.linalg.lstsq(X, -dF.ravel(), rcond=None)[0][1:]
    dG = 0.05 * rng.standard_normal(p.shape)
    dM = 0.02 * rng.standard_normal(g.shape)
    dM = dM + np.swapaxes(dM, -1, -2)
    res = reconstruction_errors(as_ds(grid, F, p, g), as_ds(grid, F + dF, p + dG, g + dM), grid)
    r = rec(res, "natural", "F")
    assert r["rmse"] == pytest.approx(np.sqrt(np.mean(resid**2)), rel=1e-10)
    assert r["nrmse"] == pytest.approx(r["rmse"] / np.std(F), rel=1e-12)
    eG = dG[..., 1] + cfit[1]
    assert rec(res, "natural", "dF/deta")["rmse"] == pytest.approx(np.sqrt(np.mean(eG**2)), rel=1e-10)
    assert rec(res, "natural", "g[K,eta]")["rmse"] == pytest.approx(np.sqrt(np.mean(dM[..., 0, 1] ** 2)), rel=1e-12)
    assert rec(res, "natural", "g[K,eta]")["nrmse"] == pytest.approx(
        np.sqrt(np.mean(dM[..., 0, 1] ** 2)) / np.std(g[..., 0, 1]), rel=1e-12)


def test_physical_coordinates_by_the_chain_rule():
    grid = ParameterGrid.from_ranges(ising_temperature_field_map(), T=(1.5, 3.5, 9), H=(-0.5, 0.5, 7))
    t, F, p, g = reference(grid)
    dG = np.zeros_like(p)
    dG[..., 1] = 0.1 * np.sin(3 * t[..., 0])  # error in ∂F/∂η only; F itself exact
    res = reconstruction_errors(as_ds(grid, F, p, g), as_ds(grid, F, p + dG, 2 * g), grid)
    T, H = grid.mesh()
    # ∂F/∂T = −(1/T²) ∂F/∂K − (H/T²) ∂F/∂η, ∂F/∂H = (1/T) ∂F/∂η
    assert rec(res, "physical", "dF/dT")["rmse"] == pytest.approx(np.sqrt(np.mean((H / T**2 * dG[..., 1]) ** 2)))
    assert rec(res, "physical", "dF/dH")["rmse"] == pytest.approx(np.sqrt(np.mean((dG[..., 1] / T) ** 2)))
    J = grid.jacobian().reshape(grid.shape + (2, 2))
    gp = np.einsum("...ki,...kl,...lj->...ij", J, g, J)
    assert rec(res, "physical", "g[T,H]")["rmse"] == pytest.approx(np.sqrt(np.mean(gp[..., 0, 1] ** 2)))
    assert rec(res, "physical", "F")["rmse"] < 1e-12


def test_margin_excludes_edge_cells_and_reference_error_ratio(grid):
    t, F, p, g = reference(grid)
    dM = np.zeros_like(g)
    dM[0] = 1.0  # error only on the first K row
    recon = as_ds(grid, F, p, g + dM)
    assert rec(reconstruction_errors(as_ds(grid, F, p, g), recon, grid), "natural", "g[K,K]")["rmse"] > 0.1
    res = reconstruction_errors(as_ds(grid, F, p, g), recon, grid, margin=1)
    assert rec(res, "natural", "g[K,K]")["rmse"] == 0.0
    assert res["n_cells"] == 10 * 8 and "margin of 1" in res["excluded"]
    np.testing.assert_array_equal(edge_mask((4, 5), 1).sum(), 2 * 3)
    ref_err = {"log_z": np.full(F.shape, 1e-3)}
    dF = 0.05 * np.cos(5 * t[..., 0]) * np.cos(7 * t[..., 1])
    res = reconstruction_errors(as_ds(grid, F, p, g), as_ds(grid, F + dF), grid, reference_error=ref_err)
    r = rec(res, "natural", "F")
    assert r["ref_error_rms"] == pytest.approx(1e-3)
    assert r["ratio_to_ref_error"] == pytest.approx(r["rmse"] / 1e-3)
    df = errors_to_dataframe(res)
    assert set(df["quantity"]) == {"F"} and (df["alignment"] == "affine").all()


def test_fit_alignment_on_arrays():
    t = np.stack(np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 4), indexing="ij"), -1)
    F = np.sin(t[..., 0] * 3) + t[..., 1] ** 2
    al = fit_alignment(F, 0.5 * F + t @ np.array([1.0, 2.0]), t, scale=True)
    assert al.scale == pytest.approx(2.0) and np.allclose(al.c, [-2.0, -4.0])
    np.testing.assert_allclose(al.apply(0.5 * F + t @ np.array([1.0, 2.0]), t), F, atol=1e-12)


def test_bad_input(grid):
    t, F, p, g = reference(grid)
    ref = as_ds(grid, F, p, g)
    with pytest.raises(ValueError, match="shape"):
        reconstruction_errors(ref, {"log_z": F[:, :3]}, grid)
    bad = F.copy()
    bad[2, 2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        reconstruction_errors(ref, {"log_z": bad}, grid)
    with pytest.raises(ValueError, match="margin"):
        reconstruction_errors(ref, ref, grid, margin=5)
    with pytest.raises(ValueError, match="alignment"):
        reconstruction_errors(ref, ref, grid, alignment="scale")
    with pytest.raises(ValueError, match="log_z"):
        reconstruction_errors(ref, {"metric": g}, grid)
    one = ParameterGrid.from_ranges(K=[0.3], eta=[0.1])
    with pytest.raises(ValueError, match="at least"):
        reconstruction_errors({"log_z": np.zeros((1, 1))}, {"log_z": np.zeros((1, 1))}, one)
    with pytest.raises(TypeError):
        reconstruction_errors(ref, [1, 2], grid)
