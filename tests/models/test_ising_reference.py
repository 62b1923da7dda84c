"""MC-anchored Ising reference (log Z by integrating ⟨M⟩ from the exact h = 0 line).

Tolerance: 4 one-sigma error bars (the reference's own errors) from exact values, on L = 4
(brute-force enumeration written in ``test_ising_sampler``) and L = 8 (transfer matrix).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from statgeo.grid import ParameterGrid
from statgeo.models.ising_reference import (
    anchored_integral,
    ising_mc_reference,
    quadrature_nodes,
    unresolved_intervals,
)
from tests.models.test_ising_sampler import brute_force

Z_TOL = 4.0


def test_quadrature_rule_exact_for_cubics():
    """The end-corrected trapezoid rule integrates cubics exactly (f' supplied)."""
    nodes = quadrature_nodes(np.array([-0.3, 0.25, 0.4]), 3)
    f = 1 + 2 * nodes - 3 * nodes**2 + 5 * nodes**3
    df = 2 - 6 * nodes + 15 * nodes**2
    for t in (-0.3, 0.25, 0.4):
        val, _, _ = anchored_integral(nodes, f, df, t)
        exact = t + t**2 - t**3 + 1.25 * t**4
        assert val == pytest.approx(exact, abs=1e-13)


def test_reference_matches_enumeration_L4():
    pytest.importorskip("statgeo.models.exact.ising_kaufman")
    Ks, etas = [0.3, 0.5], [-0.2, 0.0, 0.1, 0.3]
    g = ParameterGrid.from_ranges(K=Ks, eta=etas)
    ds = ising_mc_reference(g, 4, 4000, seed=5, progress=False)
    assert ds.attrs["method"] == "mc_anchored"
    json.loads(ds.attrs["config"])
    for i, K in enumerate(Ks):
        for j, eta in enumerate(etas):
            ex = brute_force(K, eta, 4)
            if eta == 0.0:  # the anchor itself is exact
                assert ds["log_z"].values[i, j] == pytest.approx(ex["log_z"], rel=1e-12)
                assert ds["log_z_error"].values[i, j] == 0.0
            else:
                z = (ds["log_z"].values[i, j] - ex["log_z"]) / ds["log_z_error"].values[i, j]
                assert abs(z) < Z_TOL, (K, eta, z)
            g_ex = [ex["B"], ex["M"]]
            zg = (ds["grad_log_z"].values[i, j] - g_ex) / ds["grad_log_z_error"].values[i, j]
            assert np.all(np.abs(zg) < Z_TOL), (K, eta, zg)
            h_ex = np.array([[ex["var_B"], ex["cov_BM"]], [ex["cov_BM"], ex["var_M"]]])
            zh = (ds["metric"].values[i, j] - h_ex) / ds["metric_error"].values[i, j]
            assert np.all(np.abs(zh) < Z_TOL), (K, eta, zh)


def test_reference_matches_transfer_matrix_L8():
    pytest.importorskip("statgeo.models.exact.ising_kaufman")
    tm = pytest.importorskip("statgeo.models.exact.ising_transfer")
    Ks, etas = [0.35, 0.44], [0.0, 0.05, 0.15]
    g = ParameterGrid.from_ranges(K=Ks, eta=etas)
    ds = ising_mc_reference(g, 8, 3000, seed=8, n_quad=6, progress=False)
    Kg, eg = np.meshgrid(Ks, etas, indexing="ij")
    log_z, grad, hess = tm.transfer_matrix_thermo(Kg, eg, 8)
    nz = eg != 0
    z = (ds["log_z"].values - log_z)[nz] / ds["log_z_error"].values[nz]
    assert np.all(np.abs(z) < Z_TOL), z
    zg = (ds["grad_log_z"].values - grad) / ds["grad_log_z_error"].values
    assert np.all(np.abs(zg) < Z_TOL), zg
    zh = (ds["metric"].values - hess) / ds["metric_error"].values
    assert np.all(np.abs(zh) < Z_TOL), zh


def test_unresolved_intervals_flags_large_end_corrections():
    """h²/12 · |var_a − var_b| > tolerance, per interval."""
    nodes = np.array([-0.2, 0.0, 0.01, 0.1, 0.3])
    var = np.array([10.0, 1000.0, 100.0, 10.0, 1.0])
    # corrections: 0.04/12·990 = 3.3, 1e-4/12·900 = 0.0075, 0.0081/12·90 = 0.06075, 0.04/12·9 = 0.03
    assert unresolved_intervals(nodes, var, 0.01).tolist() == [0, 2, 3]
    assert unresolved_intervals(nodes, var, 0.05).tolist() == [0, 2]
    assert unresolved_intervals(nodes, var, 4.0).tolist() == []


def test_refined_reference_matches_transfer_matrix_in_the_ordered_phase_L12():
    """Across the jump of <M> at eta = 0 (K > K_c) log Z stays within its error bars.

    At L = 12, K = 0.6, <M> goes from -m0 N to m0 N within |eta| ~ 1/(m0 N) = 0.007, far below
    the nodes' spacing of 0.05: without refinement the rule misses the jump (same seed: more
    than 4 sigma off at eta = -0.1, and a warning); with it, every point within 4 sigma.
    """
    pytest.importorskip("statgeo.models.exact.ising_kaufman")
    tm = pytest.importorskip("statgeo.models.exact.ising_transfer")
    Ks, etas = [0.6], [-0.1, 0.0, 0.05]
    g = ParameterGrid.from_ranges(K=Ks, eta=etas)
    Kg, eg = np.meshgrid(Ks, etas, indexing="ij")
    log_z, _, _ = tm.transfer_matrix_thermo(Kg, eg, 12)
    nz = eg != 0
    with pytest.warns(UserWarning, match="refinement rounds"):
        coarse = ising_mc_reference(g, 12, 1000, seed=1, n_quad=2, max_refinements=0, progress=False)
    z = (coarse["log_z"].values - log_z)[nz] / coarse["log_z_error"].values[nz]
    assert np.abs(z).max() > Z_TOL, z
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = ising_mc_reference(g, 12, 1000, seed=1, n_quad=2, progress=False)
    z = (ds["log_z"].values - log_z)[nz] / ds["log_z_error"].values[nz]
    assert np.all(np.abs(z) < Z_TOL), z
    cfg = json.loads(ds.attrs["config"])
    assert cfg["refinement_rounds"] > 0 and cfg["max_end_correction"] <= cfg["tolerance"]


def test_reference_bad_input():
    g = ParameterGrid.from_ranges(K=[0.3], eta=[0.1])
    with pytest.raises(ValueError, match="n_samples"):
        ising_mc_reference(g, 4, 10, seed=0, progress=False)
    with pytest.raises(ValueError, match="n_quad"):
        ising_mc_reference(g, 4, 100, seed=0, n_quad=0, progress=False)
    with pytest.raises(ValueError, match="natural"):
        ising_mc_reference(ParameterGrid.from_ranges(a=[0.3], b=[0.1]), 4, 100, seed=0, progress=False)


def test_reference_layout_matches_exact_and_grid_pullback():
    """Same variables/dims as ising_exact (where available); (T, H) grid pull-back is consistent."""
    pytest.importorskip("statgeo.models.exact.ising_kaufman")
    from statgeo.coordinates import ising_temperature_field_map

    g = ParameterGrid.from_ranges(coordinate_map=ising_temperature_field_map(), T=[2.5], H=[0.0, 0.2])
    ds = ising_mc_reference(g, 4, 640, seed=1, n_quad=2, progress=False)
    J = g.jacobian().reshape(1, 2, 2, 2)
    np.testing.assert_allclose(ds["grad_log_z_grid"].values,
                               np.einsum("...ij,...i->...j", J, ds["grad_log_z"].values))
    assert ds["metric_grid"].dims == ("T", "H", "param", "param_")
    try:
        from statgeo.models.exact.ising import ising_exact
    except ImportError:
        return
    ex = ising_exact(g, 4)
    for v in ("log_z", "log_z_per_site", "grad_log_z", "metric", "grad_log_z_grid", "metric_grid"):
        assert ds[v].dims == ex[v].dims, v
