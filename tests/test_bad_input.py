"""Bad input to the top-level entry points (grids, coordinate maps, Monte Carlo estimates).

See tests/bad_input.py for the property every entry point must have.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import strategies as st

import statgeo
from statgeo import coordinates as cm
from statgeo.grid import Axis, ParameterGrid
from statgeo.stats import Stats, estimate
from tests.bad_input import (
    EntryPoint,
    bad_array,
    bad_int,
    bad_real,
    non_finite,
    not_an_int,
    registry_tests,
    wrong_type,
)

GRID = ParameterGrid.from_ranges(K=(0.2, 0.7, 4), eta=(-0.2, 0.2, 3))
TASEP_GRID = ParameterGrid.from_ranges(alpha=(0.2, 0.9, 3), beta=(0.3, 1.0, 3), coordinate_map=cm.tasep_rates_map())
PTS = np.array([[0.3, 0.0], [0.5, 0.1]])
STATS = Stats(mean=np.zeros(2), error=np.ones(2), variance=np.ones(2), tau_int=np.full(2, 0.5), n=10)

bad_points = st.one_of(bad_array((2, 2)), wrong_type(none=False), st.just(np.ones((2, 3))), st.just([[0.3, "a"]]))


def _from_ranges(**kw):
    return ParameterGrid.from_ranges(**kw)


ENTRY_POINTS = [
    EntryPoint("statgeo.grid.Axis", Axis, {"name": "K", "values": [0.1, 0.2]},
               {"name": st.sampled_from(["", "1x", "a b", 3, None]),
                "values": st.one_of(bad_array((3,), allow_wrong_shape=False), st.just([0.3, 0.2]), st.just([]),
                                    st.just([[0.1, 0.2]]), st.just(["a", "b"])),
                "long_name": st.sampled_from([3, None, b"x"]), "units": st.sampled_from([1.0, None])},
               message={"name": ("axis name",), "values": ("axis 'K'",), "long_name": ("long_name",),
                        "units": ("units",)}),
    EntryPoint("statgeo.grid.ParameterGrid", ParameterGrid, {"axes": [Axis("K", [0.1, 0.2])], "coordinate_map": None},
               {"axes": st.sampled_from([[], [1, 2], "K", [Axis("K", [0.1]), Axis("K", [0.2])]]),
                "coordinate_map": st.one_of(wrong_type(none=False), st.just(cm.tasep_rates_map()),
                                            st.just(cm.identity_map(["x"])))},
               message={"axes": ("axes", "axis names"), "coordinate_map": ("coordinate_map",)}),
    EntryPoint("statgeo.grid.ParameterGrid.from_ranges", _from_ranges, {"K": (0.2, 0.7, 4)},
               {"K": st.one_of(
                   st.tuples(st.just(0.2), st.just(0.7), not_an_int()),
                   st.tuples(st.just(0.2), st.just(0.7), st.integers(max_value=0)),
                   st.tuples(st.just(0.2), st.just(0.7), st.integers(min_value=2**24 + 1, max_value=10**12)),
                   st.tuples(non_finite(), st.just(0.7), st.just(3)),
                   st.tuples(st.just(0.7), st.just(0.2), st.just(3)),
                   st.tuples(st.just("a"), st.just(0.7), st.just(3)),
                   st.just((0.2, 0.7)), st.just(0.3), st.just("abc"), st.just([0.3, 0.2]), st.just([0.1, np.nan]),
                   st.just(object()), st.just({"a": 1}))},
               message={"K": ("K",)}),
    EntryPoint("statgeo.grid.ParameterGrid.from_json", ParameterGrid.from_json, {"text": GRID.to_json()},
               {"text": st.one_of(st.sampled_from(["{", "[]", '{"axes": 3}', '{"x": 1}', '{"axes": [{"name": "K"}]}']),
                                  wrong_type()),
                "values": st.sampled_from([3, "K", [1.0]])}),
    EntryPoint("statgeo.grid.ParameterGrid.from_dataset", ParameterGrid.from_dataset,
               {"obj": GRID.attach(xr.Dataset())},
               {"obj": st.one_of(wrong_type(), st.just(xr.Dataset()), st.just(GRID.attach(xr.Dataset(
                   {"v": (("K", "eta"), np.zeros((4, 3)))})).isel(K=0)),
                   st.just(xr.Dataset(attrs={"grid": "{not json"})), st.just(xr.Dataset(attrs={"grid": "[1, 2]"})))},
               message={"obj": ("obj", "grid")}),
    EntryPoint("statgeo.grid.ParameterGrid.to_natural", GRID.to_natural, {"p": PTS}, {"p": bad_points}),
    EntryPoint("statgeo.grid.ParameterGrid.to_grid", GRID.to_grid, {"t": PTS}, {"t": bad_points}),
    EntryPoint("statgeo.grid.ParameterGrid.jacobian", GRID.jacobian, {"p": PTS}, {"p": bad_points}),
    EntryPoint("statgeo.grid.ParameterGrid.index_of", GRID.index_of, {"p": PTS}, {"p": bad_points}),
    EntryPoint("statgeo.grid.ParameterGrid.jacobian_to", GRID.jacobian_to,
               {"physical_map": cm.ising_temperature_field_map()},
               {"physical_map": st.one_of(wrong_type(), st.just(cm.tasep_rates_map()))}),
    EntryPoint("statgeo.grid.ParameterGrid.pull_back_gradient", GRID.pull_back_gradient, {"grad_t": PTS, "p": PTS},
               {"grad_t": st.one_of(bad_points, st.just(np.ones((3, 2)))), "p": bad_points},
               message={"grad_t": ("grad_t",), "p": ("p ",)}),
    EntryPoint("statgeo.grid.ParameterGrid.pull_back_metric", GRID.pull_back_metric,
               {"g_t": np.ones((2, 2, 2)), "p": PTS},
               {"g_t": st.one_of(bad_array((2, 2, 2)), wrong_type()), "p": bad_points},
               message={"g_t": ("g_t",), "p": ("p ",)}),
    EntryPoint("statgeo.grid.ParameterGrid.mismatch", GRID.mismatch, {"other": GRID},
               {"other": wrong_type(), "rtol": bad_real(low=0.0, high=1.0, high_inclusive=False)}),
    EntryPoint("statgeo.grid.ParameterGrid.isel", GRID.isel, {"K": slice(0, 2), "eta": [0, 2]},
               {"K": st.sampled_from([slice(4, 9), [], [4], [-5], [1, 0], [0.5], "ab", None, [[0, 1]]]),
                "eta": st.sampled_from([[3], [2, 2], slice(2, 1), "0"])},
               message={"K": ("K",), "eta": ("eta",)}),
    EntryPoint("statgeo.grid.ParameterGrid.sublattice", GRID.sublattice, {"max_points": 4},
               {"max_points": bad_int(min=1),
                "stride": st.one_of(bad_int(min=1).filter(lambda v: v is not None), st.just(2))}),
    EntryPoint("statgeo.grid.ParameterGrid.attach", GRID.attach, {"obj": xr.Dataset()},
               {"obj": st.one_of(wrong_type(), st.just(xr.Dataset({"v": (("K",), np.zeros(5))}))),
                "natural": st.sampled_from([None, 1, "yes"])},
               message={"obj": ("obj", "dimension 'K'"), "natural": ("natural",)}),
    EntryPoint("statgeo.coordinates.CoordinateMap", cm.CoordinateMap,
               {"natural_names": ("a",), "forward": np.exp, "inverse": np.log, "jacobian": np.exp},
               {"natural_names": st.sampled_from([(), "ab", (1,), ("a b",), None]),
                "forward": wrong_type(), "inverse": wrong_type(), "jacobian": wrong_type(),
                "parameter_names": st.sampled_from(["p", (1,), ("p", "q")]),
                "jacobian_at_natural": st.sampled_from([3, "f"])},
               message={"parameter_names": ("parameter_names",)}),
    EntryPoint("statgeo.coordinates.CoordinateMap.jacobian_from_natural",
               cm.ising_temperature_field_map().jacobian_from_natural, {"t": PTS}, {"t": bad_points}),
    EntryPoint("statgeo.coordinates.register_coordinate_map", cm.register_coordinate_map,
               {"name": "fresh_name_for_tests"},
               {"name": st.sampled_from(["", "a b", 3, None, "identity"]), "overwrite": st.sampled_from([None, 1, "y"])}),
    EntryPoint("statgeo.coordinates.coordinate_map_from_spec", cm.coordinate_map_from_spec,
               {"spec": cm.tasep_rates_map().spec()},
               {"spec": st.one_of(wrong_type().filter(lambda v: not isinstance(v, (str, dict))),
                                  st.sampled_from(["{", {"name": ""}, {"name": "no_such_map"},
                                                   {"name": "tasep_rates", "params": 3}]))},
               message={"spec": ("spec", "coordinate map")}),
    EntryPoint("statgeo.coordinates.identity_map", cm.identity_map, {"names": ("a", "b")},
               {"names": st.sampled_from(["ab", (), (1, 2), ("a", "a"), None, ("a b",)])}),
    EntryPoint("statgeo.coordinates.ising_temperature_field_map", cm.ising_temperature_field_map, {"J": 1.0},
               {"J": bad_real(low=0.0, low_inclusive=False)}),
    EntryPoint("statgeo.Stats", Stats, {"mean": 0.0, "error": 1.0, "variance": 1.0, "tau_int": 0.5, "n": 10},
               {"n": bad_int(min=1), "error": bad_real(low=0.0), "tau_int": bad_real(low=0.5),
                "mean": st.sampled_from([np.nan, "a", None]), "variance": bad_real(low=0.0)}),
    EntryPoint("statgeo.Stats.z_score", STATS.z_score, {"exact": 0.0},
               {"exact": st.one_of(wrong_type(), non_finite(), st.just(np.zeros(3)))}),
    EntryPoint("statgeo.estimate", estimate, {"x": np.arange(10.0)},
               {"x": st.one_of(bad_array((10,), allow_wrong_shape=False), st.just([1.0]), wrong_type()),
                "axis": st.one_of(not_an_int(), st.just(3)), "c": bad_real(low=0.0, low_inclusive=False)}),
]

#: public names that take no user input
NOT_ENTRY_POINTS = {
    "statgeo.coordinates.registered_coordinate_maps": "takes no arguments (lists the registry)",
    "statgeo.coordinates.tasep_rates_map": "takes no arguments (a fixed map)",
    "statgeo.coordinates.gaussian_mean_std_map": "takes no arguments (a fixed map)",
}


test_bad_input_is_refused_clearly_and_early, test_valid_calls_of_the_registry_succeed = registry_tests(ENTRY_POINTS)


def test_tuple_ranges_are_never_explicit_values():
    """(0.2, 0.7, 12.0) is refused, not read as the three points [0.2, 0.7, 12]."""
    with pytest.raises(TypeError, match=r"K=\(start, stop, n\)"):
        ParameterGrid.from_ranges(K=(0.2, 0.7, 12.0))
    assert ParameterGrid.from_ranges(K=[0.2, 0.7, 12.0]).shape == (3,)
    assert statgeo.ParameterGrid.from_ranges(K=(0.2, 0.7, 12)).shape == (12,)


def test_grid_round_trips_through_a_dataset_and_pickle(tmp_path):
    import pickle

    ds = TASEP_GRID.attach(xr.Dataset({"v": (("alpha", "beta"), np.arange(9.0).reshape(3, 3))}))
    path = tmp_path / "g.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = ParameterGrid.from_dataset(xr.open_dataset(path, engine="h5netcdf"))
    assert back == TASEP_GRID and back.natural_names == ("theta_alpha", "theta_beta")
    np.testing.assert_array_equal(back.natural_points(), TASEP_GRID.natural_points())
    assert pickle.loads(pickle.dumps(TASEP_GRID)) == TASEP_GRID
    # a subset keeps the map and takes the subset's values
    sub = ParameterGrid.from_dataset(ds.isel(alpha=[0, 2]))
    assert sub.shape == (2, 3) and sub.coordinate_map == TASEP_GRID.coordinate_map
    # an anonymous map can be used, but not saved and rebuilt
    anon = cm.CoordinateMap(("t",), np.exp, np.log, lambda p: np.exp(p)[..., None])
    g = ParameterGrid([Axis("p", [0.1, 0.2])], anon)
    with pytest.raises(ValueError, match="anonymous"):
        ParameterGrid.from_dataset(g.attach(xr.Dataset()))
    with pytest.raises(TypeError, match="anonymous"):
        pickle.dumps(g)


def test_the_harness_catches_a_refusal_that_comes_after_allocating():
    """The property is not vacuous: a call that allocates 64 MiB before raising fails it."""
    from tests.bad_input import refused

    def late_refusal():
        work = np.ones(8 * 2**20)  # 64 MiB of float64
        raise ValueError(f"n must be positive ({work.size} elements were made first)")

    with pytest.raises(AssertionError, match="allocated"):
        refused(late_refusal)
    from statgeo.checks import check_int

    assert "n must be an integer in [1, inf]" in str(refused(lambda: check_int("n", 0, min=1)))
