"""Bad input to the physics models (``statgeo.models``, ``statgeo.models.exact``).

See tests/bad_input.py for the property every entry point must have. The regression tests at
the end pin the failures a user survey reported: sizes that need gigabytes or days refused
before any allocation or loop, ``log_partition(10**9, ...)``, ``burn_in=10**12``, NaN rates,
non-integral counts, and lists accepted where arrays are.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import xarray as xr
from hypothesis import strategies as st

from statgeo.coordinates import ising_temperature_field_map
from statgeo.grid import ParameterGrid
from statgeo.models import (
    ExponentialFamilyModel,
    IsingModel,
    TasepModel,
    anchored_integral,
    check_natural_grid,
    default_burn_in,
    ising_mc_reference,
    make_model,
    model_from_config,
    pack_dataset,
    pack_sites,
    unpack_dataset,
    unpack_sites,
    unresolved_intervals,
    model_from_dataset,
    quadrature_nodes,
    register_model,
    relaxation_time_estimate,
    run_chains,
    simulate_mc,
    sufficient_statistics,
    thermodynamics,
)
from statgeo.models import exact as ex
from statgeo.models.limits import MAX_SWEEPS, MAX_WORK
from tests.bad_input import (
    EntryPoint,
    bad_array,
    bad_choice,
    bad_int,
    bad_probability,
    bad_real,
    huge_int,
    non_finite,
    not_an_int,
    refused,
    registry_tests,
    wrong_type,
)

# ----------------------------------------------------------------------------- tiny valid objects
ISING = IsingModel(4)
IGRID = ISING.natural_grid(K=(0.3, 0.4, 2), eta=(0.0, 0.1, 2))
ISAMPLES = ISING.sample(IGRID, 4, seed=0, burn_in=10, thin=1, progress=False)
SPINS = ISAMPLES["spins"].values.reshape(-1, 4, 4)  # (configurations, 4, 4) of ±1
PACKED = pack_sites(SPINS, 2)
PACKED_DS = pack_dataset(ISAMPLES, "spins", ("y", "x"), (-1, 1))
TASEP = TasepModel(4)
TGRID = TASEP.natural_grid(theta_alpha=(0.2, 1.0, 2), theta_beta=(0.2, 1.0, 2))
TSAMPLES = TASEP.sample(TGRID, 4, seed=0, progress=False)
DOS = ex.IsingDensityOfStates.from_enumeration(2)

# ----------------------------------------------------------------------------- shared strategies
bad_seed = st.sampled_from([-1, 2.5, "a", None, True, [1, 2]])
bad_progress = st.sampled_from([1, 0, "yes", 2.0, [True]])
bad_flag = st.sampled_from([1, 0, "yes", None, 2.0])
not_none = lambda s: s.filter(lambda v: v is not None)  # noqa: E731 - for optional counts


def bad_sweeps(min: int) -> st.SearchStrategy:
    """Not an integer, below ``min``, or above the documented cap (burn_in=10**12 hung)."""
    return st.one_of(bad_int(min=min, max=MAX_SWEEPS), st.just(10**12))


bad_ising_grid = st.one_of(
    wrong_type(),
    st.just(TGRID),  # natural coordinates are not (K, eta)
    st.just(ParameterGrid.from_ranges(K=[-0.1, 0.3], eta=[0.0])),  # K <= 0
    st.just(ParameterGrid.from_ranges(a=[0.1], b=[0.0])),
)
bad_tasep_grid = st.one_of(
    wrong_type(),
    st.just(IGRID),
    st.just(ParameterGrid.from_ranges(alpha=[0.5, 1.5], beta=[0.5])),  # a rate > 1
    st.just(ParameterGrid.from_ranges(beta=[0.5], alpha=[0.5])),  # axes in the wrong order
)
GRID_MSG = ("grid", "alpha", "beta")
bad_range = st.one_of(
    wrong_type(),
    st.tuples(st.just(0.3), st.just(0.4), not_an_int()),
    st.tuples(st.just(0.3), st.just(0.4), st.integers(max_value=0)),
    st.tuples(non_finite(), st.just(0.4), st.just(2)),
    st.tuples(st.just(0.4), st.just(0.3), st.just(3)),
)
bad_samples_ising = st.one_of(
    wrong_type(),
    st.just(xr.Dataset()),
    st.just(TSAMPLES),
    st.just(ISAMPLES.drop_vars("M")),
    st.just(xr.Dataset({"B": ("x", [1, 2]), "M": ("x", [1, 2])})),  # no sample dim
)
bad_samples_tasep = st.one_of(wrong_type(), st.just(xr.Dataset()), st.just(ISAMPLES))
#: bad grids for the exact references (any sign of K is fine there)
bad_ising_grid_exact = st.one_of(
    wrong_type(),
    st.just(TGRID),
    st.just(ParameterGrid.from_ranges(a=[0.1], b=[0.0])),
    st.just(ParameterGrid.from_ranges(coordinate_map=ising_temperature_field_map(), T=[0.0, 1.0], H=[0.0])),
)
bad_rate = st.one_of(bad_probability(), wrong_type(), st.just(True))
bad_scalar_rate = st.one_of(bad_rate, st.just([0.3, 0.4]))
bad_K = st.one_of(bad_real(), wrong_type(), st.just(np.array(["a"])))
RATES = {"alpha": 0.3, "beta": 0.7}


ENTRY_POINTS = [
    # ------------------------------------------------------------------ statgeo.models: model objects
    EntryPoint("statgeo.models.IsingModel", IsingModel, {"L": 4},
               {"L": st.one_of(bad_int(min=2, max=2**15), huge_int()), "J": bad_real(low=0.0, low_inclusive=False)}),
    EntryPoint("statgeo.models.IsingModel.natural_grid", ISING.natural_grid,
               {"K": (0.3, 0.4, 2), "eta": (0.0, 0.1, 2)},
               {"K": st.one_of(bad_range, st.just((-0.3, 0.4, 2))), "eta": bad_range}),
    EntryPoint("statgeo.models.IsingModel.sample", ISING.sample,
               {"grid": IGRID, "n_samples": 4, "seed": 0, "burn_in": 10, "thin": 1, "progress": False},
               {"grid": bad_ising_grid, "n_samples": st.one_of(bad_int(min=1), huge_int(at_least=10**11)),
                "seed": bad_seed, "backend": bad_choice(("auto", "numba", "cupy")),
                "algorithm": bad_choice(("auto", "metropolis", "wolff")),
                "burn_in": bad_sweeps(0), "thin": bad_sweeps(1), "pilot_sweeps": bad_sweeps(10),
                "replicas_per_point": st.one_of(bad_int(min=1), huge_int(at_least=10**11)),
                "progress": bad_progress}),
    EntryPoint("statgeo.models.IsingModel.sufficient_statistics", ISING.sufficient_statistics,
               {"samples": ISAMPLES}, {"samples": bad_samples_ising}),
    EntryPoint("statgeo.models.ExponentialFamilyModel.sufficient_statistics", ISING.sufficient_statistics,
               {"samples": ISAMPLES}, {"samples": bad_samples_ising}),
    EntryPoint("statgeo.models.IsingModel.exact", ISING.exact, {"grid": IGRID},
               {"grid": bad_ising_grid_exact,
                "method": bad_choice(("auto", "enumeration", "transfer_matrix", "kaufman")), "progress": bad_progress},
               message={"grid": ("grid", "natural coordinates")}),
    EntryPoint("statgeo.models.IsingModel.reference", ISING.reference, {"grid": IGRID},
               {"grid": bad_ising_grid, "kind": bad_choice(("auto", "exact", "mc_anchored")),
                "n_samples": bad_int(min=1), "seed": bad_seed, "progress": bad_progress, "per_site": bad_flag},
               message={"grid": ("grid", "natural coordinates")}),
    EntryPoint("statgeo.models.IsingModel.exact_posterior", ISING.exact_posterior,
               {"samples": ISAMPLES, "grid": IGRID, "n": 2, "seed": 0, "log_z": np.zeros((2, 2))},
               {"samples": bad_samples_ising,
                "grid": st.one_of(bad_ising_grid, st.just(ParameterGrid([IGRID.axes[0]]))),
                "n": bad_int(min=1, max=4), "seed": bad_seed,
                "log_z": st.one_of(bad_array((2, 2)), st.just(np.zeros(3)), wrong_type(none=False)),
                "origins": st.sampled_from([[], [4], [-1], [0.5], "ab", [[0, 1]]])},
               message={"grid": ("grid", "samples")}),
    EntryPoint("statgeo.models.TasepModel", TasepModel, {"N": 4},
               {"N": st.one_of(bad_int(min=1, max=100_000), huge_int())}),
    EntryPoint("statgeo.models.TasepModel.natural_grid", TASEP.natural_grid,
               {"theta_alpha": (0.2, 1.0, 2), "theta_beta": (0.2, 1.0, 2)},
               {"theta_alpha": st.one_of(bad_range, st.sampled_from([(-0.5, 1.0, 2), (0.2, 800.0, 2),
                                                                     [1e-20, 2e-20]])),
                "theta_beta": st.one_of(bad_range, st.just((-1.0, 0.5, 3)))}),
    EntryPoint("statgeo.models.TasepModel.sample", TASEP.sample,
               {"grid": TGRID, "n_samples": 4, "seed": 0, "method": "mc", "backend": "numba", "n_replicas": 2,
                "burn_in": 10, "spacing": 2, "progress": False},
               {"grid": bad_tasep_grid, "n_samples": st.one_of(bad_int(min=1), huge_int(at_least=10**12)),
                "seed": bad_seed, "method": bad_choice(("exact", "mc")),
                "backend": bad_choice(("auto", "numba", "cupy")),
                "n_replicas": not_none(st.one_of(bad_int(min=1), huge_int(at_least=10**12))),
                "burn_in": not_none(bad_sweeps(0)), "spacing": not_none(bad_sweeps(1)), "progress": bad_progress},
               message={"grid": GRID_MSG}),
    EntryPoint("statgeo.models.TasepModel.exact", TASEP.exact, {"grid": TGRID},
               {"grid": bad_tasep_grid, "fisher": bad_choice(("auto", "enumeration", "samples", "none")),
                "n_fisher_samples": bad_int(min=2), "seed": bad_seed, "density": bad_flag, "progress": bad_progress},
               message={"grid": GRID_MSG}),
    EntryPoint("statgeo.models.TasepModel.reference", TASEP.reference, {"grid": TGRID},
               {"grid": bad_tasep_grid, "fisher": bad_choice(("auto", "enumeration", "samples")),
                "n_samples": bad_int(min=2), "seed": bad_seed, "per_site": bad_flag, "progress": bad_progress},
               message={"grid": GRID_MSG}),
    EntryPoint("statgeo.models.TasepModel.exact_posterior", TASEP.exact_posterior,
               {"samples": TSAMPLES, "grid": TGRID, "n": 2, "seed": 0},
               {"samples": st.one_of(bad_samples_tasep, st.just(TSAMPLES.assign(occupation=TSAMPLES.occupation * 2)),
                                     st.just(TSAMPLES.isel(site=[0, 1]))),
                "grid": st.one_of(bad_tasep_grid, st.just(TASEP.natural_grid(theta_alpha=(0.2, 1.0, 3),
                                                                               theta_beta=(0.2, 1.0, 2)))),
                "n": bad_int(min=1, max=4), "seed": bad_seed,
                "origins": st.sampled_from([[], [TGRID.size], [-1], [0.5], "ab", [[0, 1]]])},
               message={"grid": GRID_MSG + ("samples",)}),
    # the abstract methods of the base classes, through a concrete model
    EntryPoint("statgeo.models.PhysicsModel.configurations", TASEP.configurations, {"samples": TSAMPLES},
               {"samples": st.one_of(wrong_type(), st.just(xr.Dataset()), st.just(ISAMPLES),
                                     st.just(TSAMPLES.assign_attrs(grid="{")))},
               message={"samples": ("samples", "grid", "obj", "text")}),
    EntryPoint("statgeo.models.PhysicsModel.exact_posterior", TASEP.exact_posterior,
               {"samples": TSAMPLES, "grid": TGRID, "n": 2, "seed": 0},
               {"samples": bad_samples_tasep, "grid": bad_tasep_grid, "n": bad_int(min=1, max=4), "seed": bad_seed},
               message={"grid": GRID_MSG + ("samples",)}),
    EntryPoint("statgeo.models.PhysicsModel.sample", TASEP.sample, {"grid": TGRID, "n_samples": 4, "seed": 0},
               {"grid": bad_tasep_grid, "n_samples": st.one_of(bad_int(min=1), huge_int(at_least=10**12)),
                "seed": bad_seed, "progress": bad_progress},
               message={"grid": GRID_MSG}),
    EntryPoint("statgeo.models.PhysicsModel.exact", TASEP.exact, {"grid": TGRID},
               {"grid": bad_tasep_grid, "fisher": bad_choice(("auto", "enumeration", "samples", "none"))},
               message={"grid": GRID_MSG}),
    EntryPoint("statgeo.models.PhysicsModel.reference", ISING.reference, {"grid": IGRID},
               {"grid": bad_ising_grid, "kind": bad_choice(("auto", "exact", "mc_anchored"))},
               message={"grid": ("grid", "natural coordinates")}),
    EntryPoint("statgeo.models.PhysicsModel.natural_grid", TASEP.natural_grid,
               {"theta_alpha": (0.2, 1.0, 2), "theta_beta": (0.2, 1.0, 2)},
               {"theta_alpha": bad_range, "theta_beta": bad_range}),
    # ------------------------------------------------------------------ statgeo.models: functions
    EntryPoint("statgeo.models.register_model", register_model, {"model_class": IsingModel},
               {"model_class": st.one_of(wrong_type(), st.sampled_from([int, ExponentialFamilyModel,
                                                                        type("Impostor", (IsingModel,), {})]))}),
    EntryPoint("statgeo.models.make_model", make_model, {"name": "ising", "size": 4},
               {"name": bad_choice(("ising", "tasep")), "size": bad_int(min=2, max=2**15)},
               message={"size": ("size", "L")}),
    EntryPoint("statgeo.models.model_from_config", model_from_config, {"config": {"model": "ising", "L": 4}},
               {"config": st.one_of(wrong_type(), st.sampled_from([{"model": "ising", "L": 0},
                                                                   {"model": "ising", "L": 4, "foo": 1},
                                                                   {"model": "nope"}, {"L": 4}]))},
               message={"config": ("config", "L")}),
    EntryPoint("statgeo.models.model_from_dataset", model_from_dataset, {"ds": ISAMPLES},
               {"ds": st.one_of(wrong_type(), st.sampled_from([xr.Dataset(), xr.Dataset(attrs={"model_config": "{"}),
                                                              xr.Dataset(attrs={"model_config": '{"model": "x"}'}),
                                                              xr.Dataset(attrs={"model_config": "[1]"})]))},
               message={"ds": ("ds", "Dataset", "config")}),
    EntryPoint("statgeo.models.check_natural_grid", check_natural_grid, {"grid": IGRID}, {"grid": bad_ising_grid}),
    EntryPoint("statgeo.models.run_chains", run_chains,
               {"K": [0.3, 0.4], "eta": [0.0, 0.1], "L": 4, "n_samples": 4, "seed": 0, "burn_in": 10, "thin": 1,
                "progress": False},
               {"K": st.one_of(bad_array((2,)), wrong_type(), st.sampled_from([[-0.1, 0.3], [[0.3, 0.4]], [0.3]])),
                "eta": st.one_of(bad_array((2,)), wrong_type(), st.just([0.0])),
                "L": bad_int(min=2, max=2**15), "n_samples": st.one_of(bad_int(min=1), huge_int(at_least=10**11)),
                "seed": bad_seed, "backend": bad_choice(("auto", "numba", "cupy")),
                "algorithm": bad_choice(("auto", "metropolis", "wolff")), "burn_in": bad_sweeps(0),
                "thin": bad_sweeps(1), "pilot_sweeps": bad_sweeps(10),
                "replicas_per_point": st.one_of(bad_int(min=1), huge_int(at_least=10**11)),
                "store_spins": bad_flag, "progress": bad_progress}),
    EntryPoint("statgeo.models.ising_mc_reference", ising_mc_reference,
               {"grid": IGRID, "L": 4, "n_samples": 64, "seed": 0, "n_quad": 1, "burn_in": 10, "thin": 1,
                "progress": False},
               {"grid": bad_ising_grid, "L": bad_int(min=2, max=2**15), "n_samples": bad_int(min=64),
                "seed": bad_seed, "n_quad": bad_int(min=1, max=10_000),
                "backend": bad_choice(("auto", "numba", "cupy")),
                "algorithm": bad_choice(("auto", "metropolis", "wolff")), "burn_in": bad_sweeps(0),
                "thin": bad_sweeps(1), "pilot_sweeps": bad_sweeps(10), "replicas_per_point": bad_int(min=1),
                "n_blocks": bad_int(min=2), "tolerance": bad_real(low=0.0, low_inclusive=False),
                "max_refinements": bad_int(min=0, max=64), "progress": bad_progress}),
    EntryPoint("statgeo.models.unresolved_intervals", unresolved_intervals,
               {"nodes": [0.0, 0.5, 1.0], "var": [1.0, 2.0, 1.0], "tolerance": 0.01},
               {"nodes": st.one_of(bad_array((3,)), wrong_type(), st.sampled_from([[1.0, 0.5, 0.0], [0.0, 1.0]])),
                "var": st.one_of(bad_array((3,)), wrong_type(), st.just([1.0, -1.0, 1.0])),
                "tolerance": bad_real(low=0.0, low_inclusive=False)},
               message={"nodes": ("nodes",), "var": ("var",), "tolerance": ("tolerance",)}),
    EntryPoint("statgeo.models.quadrature_nodes", quadrature_nodes, {"etas": [0.0, 0.1], "n_quad": 2},
               {"etas": st.one_of(bad_array((2,), allow_wrong_shape=False), wrong_type(), st.just([])),
                "n_quad": bad_int(min=1, max=10_000)}),
    EntryPoint("statgeo.models.anchored_integral", anchored_integral,
               {"nodes": [0.0, 0.5, 1.0], "f": [0.0, 1.0, 2.0], "df": [1.0, 1.0, 1.0], "target": 1.0},
               {"nodes": st.one_of(bad_array((3,)), wrong_type(), st.sampled_from([[1.0, 0.5, 0.0], [0.1, 0.5, 1.0],
                                                                                  [0.0, 1.0]])),
                "f": st.one_of(bad_array((3,)), wrong_type()), "df": st.one_of(bad_array((3,)), wrong_type()),
                "target": st.one_of(non_finite(), st.sampled_from([0.7, "a", None, [1.0], 1j]))},
               message={"nodes": ("nodes",), "f": ("f",), "df": ("df",), "target": ("target",)}),
    EntryPoint("statgeo.models.sufficient_statistics", sufficient_statistics, {"samples": ISAMPLES},
               {"samples": bad_samples_ising}),
    EntryPoint("statgeo.models.thermodynamics", thermodynamics, {"samples": ISAMPLES},
               {"samples": st.one_of(bad_samples_ising, st.just(ISAMPLES.isel(sample=[0]))),
                "n_blocks": bad_int(min=2)}),
    EntryPoint("statgeo.models.simulate_mc", simulate_mc,
               {"N": 4, **RATES, "n_replicas": 2, "n_snapshots": 2, "seed": 0, "burn_in": 10, "spacing": 2,
                "backend": "numba"},
               {"N": bad_int(min=1, max=100_000), "alpha": bad_scalar_rate, "beta": bad_scalar_rate,
                "n_replicas": st.one_of(bad_int(min=1), huge_int(at_least=10**13)),
                "n_snapshots": st.one_of(bad_int(min=1), huge_int(at_least=10**13)), "seed": bad_seed,
                "burn_in": not_none(bad_sweeps(0)), "spacing": not_none(bad_sweeps(1)),
                "backend": bad_choice(("auto", "numba", "cupy"))}),
    EntryPoint("statgeo.models.default_burn_in", default_burn_in, {"N": 10, **RATES},
               {"N": bad_int(min=1, max=100_000), "alpha": bad_scalar_rate, "beta": bad_scalar_rate,
                "factor": st.one_of(bad_real(low=0.0, high=1000.0, low_inclusive=False), st.just([1.0, 2.0]))}),
    EntryPoint("statgeo.models.relaxation_time_estimate", relaxation_time_estimate, {"N": 10, **RATES},
               {"N": bad_int(min=1, max=100_000), "alpha": bad_scalar_rate, "beta": bad_scalar_rate}),
    # ------------------------------------------------------------------ statgeo.models.exact: Ising
    EntryPoint("statgeo.models.exact.ising_exact", ex.ising_exact, {"grid": IGRID, "L": 4},
               {"grid": bad_ising_grid_exact, "L": bad_int(min=2, max=2**20),
                "J": bad_real(low=0.0, low_inclusive=False),
                "method": bad_choice(("auto", "enumeration", "transfer_matrix", "kaufman")), "progress": bad_progress},
               message={"grid": ("grid", "natural coordinates")}),
    EntryPoint("statgeo.models.exact.kaufman_log_z", ex.kaufman_log_z, {"K": [0.3, 0.4], "L": 8},
               {"K": st.one_of(bad_real(low=0.0, high=5.0, low_inclusive=False), wrong_type()),
                "L": bad_int(min=2, max=2**20)}),
    EntryPoint("statgeo.models.exact.kaufman_thermo", ex.kaufman_thermo, {"K": [0.3, 0.4], "L": 8},
               {"K": st.one_of(bad_real(low=0.0, high=5.0, low_inclusive=False), wrong_type()),
                "L": bad_int(min=2, max=2**20)}),
    EntryPoint("statgeo.models.exact.transfer_matrix_log_z", ex.transfer_matrix_log_z, {"K": 0.3, "eta": 0.1, "L": 4},
               {"K": bad_K, "eta": bad_K, "L": bad_int(min=2, max=12), "progress": bad_progress}),
    EntryPoint("statgeo.models.exact.transfer_matrix_thermo", ex.transfer_matrix_thermo,
               {"K": [0.3, 0.4], "eta": 0.1, "L": 4},
               {"K": bad_K, "eta": st.one_of(bad_K, st.just([0.1, 0.2, 0.3])), "L": bad_int(min=2, max=12),
                "progress": bad_progress},
               message={"eta": ("eta",)}),
    EntryPoint("statgeo.models.exact.IsingDensityOfStates", ex.IsingDensityOfStates,
               {"L": 2, "B": DOS.B, "M": DOS.M, "counts": DOS.counts},
               {"L": bad_int(min=2), "B": st.one_of(bad_array((6,)), st.just(np.array([100, 0, 0, 0, 0, -8]))),
                "M": st.one_of(bad_array((6,)), st.just(np.arange(5))),
                "counts": st.one_of(bad_array((6,)), st.just(np.array([1, 1, 4, 4, 0, 2])), wrong_type())}),
    EntryPoint("statgeo.models.exact.IsingDensityOfStates.from_enumeration", ex.IsingDensityOfStates.from_enumeration,
               {"L": 2}, {"L": bad_int(min=2, max=5)}),
    *[EntryPoint(f"statgeo.models.exact.IsingDensityOfStates.{m}", getattr(DOS, m), {"K": 0.3, "eta": 0.1},
                 {"K": bad_K, "eta": st.one_of(bad_K, st.just(np.zeros((2, 0))))})
      for m in ("log_z", "gradient", "hessian", "thermo")],
    *[EntryPoint(f"statgeo.models.exact.{f.__name__}", f, {"K": 0.3},
                 {"K": st.one_of(bad_real(low=0.0, low_inclusive=False), wrong_type(), st.just(np.array(["a"])))})
      for f in (ex.onsager_log_z_per_site, ex.onsager_specific_heat_per_site, ex.onsager_magnetisation)],
    EntryPoint("statgeo.models.exact.onsager_energy_per_site", ex.onsager_energy_per_site, {"K": 0.3, "J": 1.0},
               {"K": st.one_of(bad_real(low=0.0, low_inclusive=False), wrong_type()),
                "J": bad_real(low=0.0, low_inclusive=False)}),
    # ------------------------------------------------------------------ statgeo.models.exact: TASEP
    EntryPoint("statgeo.models.exact.check_rates", ex.check_rates, dict(RATES),
               {"alpha": bad_rate, "beta": bad_rate}),
    EntryPoint("statgeo.models.exact.check_tasep_grid", ex.check_tasep_grid, {"grid": TGRID},
               {"grid": bad_tasep_grid}, message={"grid": GRID_MSG}),
    EntryPoint("statgeo.models.exact.tasep_exact", ex.tasep_exact, {"grid": TGRID, "N": 4},
               {"grid": bad_tasep_grid, "N": st.one_of(bad_int(min=1, max=100_000), huge_int(at_least=10**9)),
                "fisher": bad_choice(("auto", "enumeration", "samples", "none")), "n_fisher_samples": bad_int(min=2),
                "seed": bad_seed, "density": bad_flag, "progress": bad_progress},
               message={"grid": GRID_MSG}),
    *[EntryPoint(f"statgeo.models.exact.{f.__name__}", f, {"N": 5, **RATES},
                 {"N": st.one_of(bad_int(min=1, max=cap), huge_int(at_least=10**9)), "alpha": bad_rate,
                  "beta": bad_rate})
      for f, cap in ((ex.log_partition, 10**6), (ex.log_partition_derivatives, 10**6), (ex.current, 10**6),
                     (ex.log_partition_all, 100_000), (ex.density_profile, 100_000))],
    *[EntryPoint(f"statgeo.models.exact.{f.__name__}", f, {"N": 5, **RATES},
                 {"N": st.one_of(bad_int(min=1, max=cap), huge_int(at_least=10**9)), "alpha": bad_scalar_rate,
                  "beta": bad_scalar_rate})
      for f, cap in ((ex.log_partition_matrix, 100_000), (ex.tasep_matrices, 100_000))],
    EntryPoint("statgeo.models.exact.observable_fisher_enumeration", ex.observable_fisher_enumeration,
               {"N": 4, **RATES}, {"N": bad_int(min=1, max=22), "alpha": bad_rate, "beta": bad_rate}),
    EntryPoint("statgeo.models.exact.observable_fisher_from_samples", ex.observable_fisher_from_samples,
               {"N": 4, **RATES, "n_samples": 8, "seed": 0},
               {"N": bad_int(min=1, max=100_000), "alpha": bad_rate, "beta": bad_rate,
                "n_samples": st.one_of(bad_int(min=2), huge_int(at_least=10**13)), "seed": bad_seed}),
    EntryPoint("statgeo.models.exact.enumerate_law", ex.enumerate_law, {"N": 4, **RATES},
               {"N": bad_int(min=1, max=22), "alpha": bad_scalar_rate, "beta": bad_scalar_rate,
                "with_scores": bad_flag}),
    EntryPoint("statgeo.models.exact.sample_exact", ex.sample_exact, {"N": 4, **RATES, "n_samples": 4, "seed": 0},
               {"N": st.one_of(bad_int(min=1, max=100_000), huge_int(at_least=10**9)), "alpha": bad_scalar_rate,
                "beta": bad_scalar_rate, "n_samples": st.one_of(bad_int(min=1), huge_int(at_least=10**13)),
                "seed": bad_seed}),
    *[EntryPoint(f"statgeo.models.exact.{f.__name__}", f, {"tau": [[1, 0, 1, 0]], **RATES},
                 {"tau": st.one_of(wrong_type(), st.sampled_from([
                     [[0, 2]], np.array([0.0, 1.0]), np.zeros((2, 2, 2), int), [], [[]],
                     np.zeros((1, 200_000), np.int8),  # more sites than the O(N²) routines serve
                     np.broadcast_to(np.zeros(100_000, np.int8), (200_000, 100_000))])),  # 2e15 operations
                  "alpha": bad_scalar_rate, "beta": bad_scalar_rate})
      for f in (ex.configuration_log_weight, ex.configuration_log_prob, ex.configuration_scores)],
    # ------------------------------------------------------------------ statgeo.models: bit-packed configurations
    EntryPoint("statgeo.models.pack_sites", pack_sites,
               {"x": SPINS, "n_site_dims": 2, "values": (-1, 1)},
               {"x": st.one_of(st.just(SPINS.astype(float)), st.just(SPINS * 2), st.just(np.zeros((2, 0), np.int8)),
                               wrong_type(), st.just(np.array(["a"]))),
                "n_site_dims": st.one_of(bad_int(min=1, max=SPINS.ndim), huge_int()),
                "values": st.sampled_from([(1, 1), (0, 0.5), "ab", None, (1,), (0, 1, 2)])},
               message={"x": ("x", "sites"), "values": ("values",)}),
    EntryPoint("statgeo.models.unpack_sites", unpack_sites,
               {"packed": PACKED, "site_shape": (4, 4), "values": (-1, 1)},
               {"packed": st.one_of(st.just(PACKED.astype(np.int16)), st.just(PACKED[..., :1]), wrong_type(),
                                    st.just(np.uint8(3))),
                "site_shape": st.sampled_from([(4, 5), (0, 4), (-1, 4), (1.5, 4), ()]),
                "values": st.sampled_from([(1, 1), "ab", None, (1,)])},
               message={"packed": ("packed",), "site_shape": ("site_shape",)}),
    EntryPoint("statgeo.models.pack_dataset", pack_dataset,
               {"ds": ISAMPLES, "name": "spins", "site_dims": ("y", "x"), "values": (-1, 1)},
               {"ds": st.one_of(wrong_type(), st.just(ISAMPLES["spins"])),
                "name": st.sampled_from(["nope", "x", None, 3, "B"]),
                "site_dims": st.sampled_from([("x", "y"), (), "yx", ("sample",), (1, 2)]),
                "values": st.sampled_from([(0, 1), (1, 1), None])},
               message={"ds": ("ds",), "name": ("name", "values", "site_dims"), "site_dims": ("site_dims",),
                        "values": ("values",)}),
    EntryPoint("statgeo.models.unpack_dataset", unpack_dataset, {"ds": PACKED_DS},
               {"ds": st.one_of(wrong_type(), st.just(PACKED_DS["spins_packed"]))}),
]

#: public names that take no user input
NOT_ENTRY_POINTS = {
    "statgeo.models.PhysicsModel": "abstract base class: cannot be instantiated; its methods are registered "
                                   "through the concrete models",
    "statgeo.models.ExponentialFamilyModel": "abstract base class: cannot be instantiated; its method is registered "
                                             "through IsingModel",
    "statgeo.models.MCResult": "result record filled by simulate_mc, not built from user input",
    "statgeo.models.PhaseDiagram": "result record filled by the models' phase_diagram(), not built from user input",
}


test_bad_input_is_refused_clearly_and_early, test_valid_calls_of_the_registry_succeed = registry_tests(ENTRY_POINTS)


# ----------------------------------------------------------------------------- regressions
def _refused(call, *names, exc=ValueError):
    msg = str(refused(call, exc))
    assert all(n in msg for n in names), msg
    return msg


def test_huge_ising_lattice_is_refused_before_allocating():
    _refused(lambda: IsingModel(10**5), "L must be an integer in [2, 32768]")


def test_sampling_sizes_that_need_gigabytes_are_refused(monkeypatch):
    monkeypatch.setenv("STATGEO_MEMORY_LIMIT", str(2**30))
    g = ParameterGrid.from_ranges(K=[0.3, 0.4], eta=[0.0, 0.1])
    msg = _refused(lambda: IsingModel(256).sample(g, 10**4, seed=0, burn_in=1, thin=1, progress=False),
                   "spins array", "GiB", "n_samples")
    assert "STATGEO_MEMORY_LIMIT" in msg
    _refused(lambda: IsingModel(8).sample(g, 10**9, seed=0, burn_in=1, thin=1, progress=False, algorithm="wolff"),
             "B and M records")
    _refused(lambda: run_chains([0.3], [0.0], 4, 10, seed=0, replicas_per_point=10**9, progress=False),
             "replica states")
    _refused(lambda: TasepModel(10**5).sample(TGRID, 10**5, seed=0), "occupation array")
    _refused(lambda: simulate_mc(1000, 0.3, 0.7, 10**5, 10**4, seed=0, burn_in=0, spacing=1), "snapshots")
    _refused(lambda: ex.tasep_matrices(20_000, 0.3, 0.7), "dense matrices")
    _refused(lambda: DOS.log_z(np.zeros((2**20, 1)), np.zeros((1, 2**20))), "broadcast shape")
    _refused(lambda: ex.transfer_matrix_thermo(np.zeros((2**20, 1)), np.zeros((1, 2**20)), 4), "broadcast shape")


def test_tasep_log_partition_of_a_billion_sites_is_refused():
    msg = _refused(lambda: ex.log_partition(10**9, 0.3, 0.7), "N must be an integer in [1, 1000000]", "O(N)")
    assert "got 1000000000" in msg
    _refused(lambda: ex.log_partition_all(10**6, 0.3, 0.7), "N must be an integer in [1, 100000]", "O(N²)")
    _refused(lambda: ex.density_profile(10**6, 0.3, 0.7), "N must be an integer in [1, 100000]")
    _refused(lambda: ex.tasep_exact(TGRID, 10**9), "N must be an integer in")
    assert ex.log_partition(10**5, 0.3, 0.7).shape == ()  # the cap is far above legitimate use


def test_burn_in_of_a_trillion_sweeps_is_refused_not_looped():
    g = ParameterGrid.from_ranges(K=[0.3], eta=[0.0])
    for call in (lambda: IsingModel(4).sample(g, 4, seed=0, burn_in=10**12, progress=False),
                 lambda: run_chains([0.3], [0.0], 4, 4, seed=0, burn_in=10**12, progress=False),
                 lambda: TasepModel(4).sample(TGRID, 4, seed=0, method="mc", backend="numba", burn_in=10**12),
                 lambda: simulate_mc(4, 0.3, 0.7, 2, 2, seed=0, burn_in=10**12, backend="numba")):
        _refused(call, "burn_in", str(MAX_SWEEPS))
    _refused(lambda: IsingModel(4).sample(g, 4, seed=0, thin=10**12, progress=False), "thin")
    _refused(lambda: IsingModel(4).sample(g, 4, seed=0, pilot_sweeps=10**12, progress=False), "pilot_sweeps")
    _refused(lambda: simulate_mc(4, 0.3, 0.7, 2, 2, seed=0, spacing=10**12, backend="numba"), "spacing")


def test_runs_whose_total_work_cannot_finish_are_refused():
    g = ParameterGrid.from_ranges(K=np.linspace(0.3, 0.4, 10), eta=np.linspace(0.0, 0.1, 10))
    msg = _refused(lambda: IsingModel(1024).sample(g, 1, seed=0, burn_in=10**8, thin=1, progress=False),
                   "spin updates", "burn_in")
    assert f"{MAX_WORK:.0e}" in msg
    _refused(lambda: simulate_mc(10**5, 0.3, 0.7, 1000, 10, seed=0, burn_in=10**8, spacing=1, backend="numba"),
             "hop attempts")
    _refused(lambda: ex.sample_exact(10**5, 0.3, 0.7, 150_000, seed=0), "N")  # memory, or 1.5e15 operations
    # the default burn-in of the TASEP Monte Carlo grows like N² on the first-order line
    grid = ParameterGrid.from_ranges(alpha=[0.3], beta=[0.3])
    _refused(lambda: TasepModel(20_000).sample(grid, 2, seed=0, method="mc", backend="numba"), "burn_in",
             "default burn-in")
    _refused(lambda: simulate_mc(20_000, 0.3, 0.3, 1, 1, seed=0, backend="numba"), "default burn-in")


def test_nan_and_infinite_rates_and_couplings_are_refused():
    _refused(lambda: IsingModel(4, J=np.nan), "J")
    _refused(lambda: IsingModel(4, J=np.inf), "J")
    _refused(lambda: ex.log_partition(5, np.nan, 0.5), "alpha")
    _refused(lambda: ex.current(5, 0.5, np.inf), "beta")
    _refused(lambda: run_chains([0.3, np.nan], [0.0, 0.0], 4, 2, seed=0, progress=False), "K")
    _refused(lambda: ex.kaufman_thermo([0.3, np.inf], 8), "K")
    _refused(lambda: ex.transfer_matrix_log_z(0.3, np.nan, 4), "eta")


def test_non_integral_counts_are_refused():
    g = ParameterGrid.from_ranges(K=[0.3], eta=[0.0])
    _refused(lambda: IsingModel(4).sample(g, 10.0, seed=0, progress=False), "n_samples", exc=TypeError)
    _refused(lambda: IsingModel(8.0), "L", exc=TypeError)
    _refused(lambda: TasepModel(4).sample(TGRID, 4, seed=0, method="mc", burn_in=10.5), "burn_in", exc=TypeError)
    _refused(lambda: ex.sample_exact(5, 0.3, 0.7, 4.0, seed=0), "n_samples", exc=TypeError)
    _refused(lambda: ex.log_partition(5.0, 0.3, 0.7), "N", exc=TypeError)


def test_lists_are_accepted_where_arrays_are():
    out = run_chains([0.3], [0.0], 4, 2, seed=0, burn_in=5, thin=1, progress=False)
    assert out["B"].shape == (1, 2)
    assert ex.log_partition(5, [0.3, 0.6], [0.7]).shape == (2,)
    assert ex.configuration_log_prob([[1, 0], [0, 1]], 0.5, 0.5).shape == (2,)
    assert quadrature_nodes([0.1, -0.1], 2).tolist() == [-0.1, -0.05, 0.0, 0.05, 0.1]
    assert anchored_integral([0.0, 1.0], [1.0, 1.0], [0.0, 0.0], 1.0)[0] == 1.0
    assert ex.kaufman_log_z([0.3, 0.4], 8).shape == (2,)
    assert ex.IsingDensityOfStates(2, DOS.B.tolist(), DOS.M.tolist(), DOS.counts.tolist()).log_z(0.0, 0.0) \
        == pytest.approx(4 * np.log(2))


def test_messages_name_the_argument_and_the_range():
    msg = _refused(lambda: run_chains([0.3], [0.0], 4, 2, seed=0, thin=0, progress=False), "thin")
    assert "[1, 100000000]" in msg
    msg = _refused(lambda: ex.enumerate_law(40, 0.3, 0.7), "N must be an integer in [1, 22]")
    msg = _refused(lambda: ex.configuration_log_prob(np.zeros((1, 200_000), np.int8), 0.3, 0.7), "tau")
    assert "100000" in msg


def test_pilot_sweeps_auto_is_bit_identical_to_the_former_default():
    g = ParameterGrid.from_ranges(K=[0.3, 0.44], eta=[0.0])
    for algorithm, pilot in (("wolff", 200), ("metropolis", 1000)):
        a = IsingModel(4).sample(g, 8, seed=3, algorithm=algorithm, progress=False)
        b = IsingModel(4).sample(g, 8, seed=3, algorithm=algorithm, pilot_sweeps=pilot, progress=False)
        for v in ("spins", "B", "M", "burn_in", "thin", "tau_int_B"):
            np.testing.assert_array_equal(a[v].values, b[v].values)
        assert json.loads(a.attrs["config"])["pilot_sweeps"] == pilot
    c = IsingModel(4).sample(g, 8, seed=3, pilot_sweeps=50, progress=False)
    assert json.loads(c.attrs["config"])["pilot_sweeps"] == 50
    d = IsingModel(4).sample(g, 8, seed=3, burn_in=10, thin=1, progress=False)
    assert json.loads(d.attrs["config"])["pilot_sweeps"] == 0  # no pilot ran


def test_short_pilot_warning_names_pilot_sweeps(caplog):
    g = IsingModel(8).natural_grid(K=(0.3, 0.5, 3), eta=(0.0, 0.1, 2))
    with caplog.at_level(logging.WARNING, logger="statgeo.models.ising_sampling"):
        # a 10-sweep pilot measures tau_int up to 0.5 sweeps: short for K = 0.4, 0.5
        IsingModel(8).sample(g, 4, seed=0, progress=False, pilot_sweeps=10)
    msgs = [r.getMessage() for r in caplog.records if "pilot run" in r.getMessage()]
    assert msgs and "pilot_sweeps>=" in msgs[0] and "burn_in/thin" in msgs[0]


# ----------------------------------------------------------------------------- quiet by default
def _stderr_of(capsys, call):
    capsys.readouterr()
    call()
    return capsys.readouterr().err


@pytest.mark.parametrize("progress", [False, True])
def test_progress_switch_and_tqdm_disable(capsys, monkeypatch, progress):
    g = ParameterGrid.from_ranges(K=[0.3], eta=[0.0, 0.1])
    calls = [lambda p: IsingModel(4).sample(g, 4, seed=0, burn_in=5, thin=1, progress=p),
             lambda p: TasepModel(4).sample(TGRID, 4, seed=0, progress=p),
             lambda p: ex.ising_exact(g, 6, progress=p),
             lambda p: ex.tasep_exact(TGRID, 16, fisher="samples", n_fisher_samples=4, density=False, progress=p),
             lambda p: ising_mc_reference(g, 4, 64, seed=0, n_quad=1, burn_in=5, thin=1, progress=p)]
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    for call in calls:
        err = _stderr_of(capsys, lambda: call(progress))
        assert bool(err.strip()) == progress, err
    monkeypatch.setenv("TQDM_DISABLE", "1")
    for call in calls:
        assert _stderr_of(capsys, lambda: call(True)).strip() == ""


def test_compile_notice_shows_only_real_compilations(capsys, caplog, monkeypatch):
    import numba

    from statgeo.models.compilation import COMPILE_DESC, compile_notice

    monkeypatch.delenv("TQDM_DISABLE", raising=False)

    @numba.njit(cache=False)
    def fresh(x):
        return x + 1

    with caplog.at_level(logging.INFO, logger="statgeo.models.compilation"):
        capsys.readouterr()
        with compile_notice(True, "a test"):
            fresh(1)  # compiled now
        err = capsys.readouterr().err
    assert COMPILE_DESC in err
    assert any("compiling Numba kernel" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="statgeo.models.compilation"):
        with compile_notice(True, "a test"):
            fresh(2)  # already compiled: silent
        assert capsys.readouterr().err == ""
    assert not caplog.records
    # progress=False and TQDM_DISABLE hide the bar (the log message stays)
    @numba.njit(cache=False)
    def fresh2(x):
        return x + 2

    with compile_notice(False):
        fresh2(1)
    assert capsys.readouterr().err == ""
