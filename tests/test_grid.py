"""Parameter grids and the physical ↔ natural coordinate maps."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from statgeo.grid import Axis, ParameterGrid
from statgeo.coordinates import ising_temperature_field_map, tasep_rates_map


def fd_jacobian(f, p, h=1e-6):
    d = p.shape[-1]
    cols = []
    for j in range(d):
        e = np.zeros(d)
        e[j] = h
        cols.append((f(p + e) - f(p - e)) / (2 * h))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("cmap", [ising_temperature_field_map(1.0), ising_temperature_field_map(0.7), tasep_rates_map()])
def test_coordinate_maps_invert_and_jacobians_match_finite_differences(cmap):
    rng = np.random.default_rng(0)
    p = rng.uniform(0.2, 0.9, size=(50, 2))
    np.testing.assert_allclose(cmap.inverse(cmap.forward(p)), p, rtol=1e-13)
    np.testing.assert_allclose(cmap.jacobian(p), fd_jacobian(cmap.forward, p), rtol=1e-7, atol=1e-9)


def test_grid_points_order_shape_and_xarray_coords():
    g = ParameterGrid.from_ranges(T=(1.5, 3.0, 4), H=(-0.5, 0.5, 3), coordinate_map=ising_temperature_field_map())
    assert g.shape == (4, 3) and g.size == 12 and g.names == ("T", "H")
    pts = g.points()
    assert pts.shape == (12, 2)
    np.testing.assert_array_equal(pts[1], [1.5, 0.0])  # C order: last axis fastest
    t = g.natural_points()
    np.testing.assert_allclose(t[:, 0], 1.0 / pts[:, 0])
    np.testing.assert_allclose(t[:, 1], pts[:, 1] / pts[:, 0])
    da = xr.DataArray(np.zeros(g.shape), dims=g.names, coords=g.coords())
    assert da["T"].attrs["units"] == "1" and da.sizes == {"T": 4, "H": 3}
    assert g.index_of(pts[7]) == 7


def test_pull_back_of_gradient_and_metric_is_chain_rule():
    # F(t) = ½|t|² ⇒ ∇_t F = t, g_t = I; in p coordinates ∇_p F = Jᵀ t and g_p = JᵀJ.
    g = ParameterGrid.from_ranges(alpha=(0.2, 0.9, 3), beta=(0.3, 1.0, 3), coordinate_map=tasep_rates_map())
    p = g.points()
    t = g.natural_points()
    F = lambda pp: 0.5 * (g.to_natural(pp) ** 2).sum(-1)
    num_grad = fd_jacobian(lambda pp: F(pp)[..., None], p)[..., 0, :]
    np.testing.assert_allclose(g.pull_back_gradient(t), num_grad, rtol=1e-6, atol=1e-9)
    J = g.jacobian()
    np.testing.assert_allclose(g.pull_back_metric(np.broadcast_to(np.eye(2), (9, 2, 2))),
                               np.einsum("nki,nkj->nij", J, J))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({}, ValueError, "empty"),
        ({"K": (0.1, 0.5, 0)}, ValueError, r"number of points on axis 'K' .* must be an integer in \[1, 16777216\]"),
        ({"K": [0.3, 0.2]}, ValueError, "strictly increasing"),
        ({"K": [0.1, np.nan]}, ValueError, "finite"),
    ],
)
def test_bad_grids_raise_clear_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ParameterGrid.from_ranges(**kwargs)


def test_axis_rejects_non_numeric_and_duplicate_names():
    with pytest.raises(TypeError, match="real numbers"):
        Axis("K", np.array(["a", "b"]))
    with pytest.raises(ValueError, match="unique"):
        ParameterGrid([Axis("K", [0.1]), Axis("K", [0.2])])


def test_isel_keeps_the_coordinate_map_and_the_selected_points():
    from statgeo.coordinates import tasep_rates_map

    g = ParameterGrid.from_ranges(alpha=(0.2, 0.9, 8), beta=(0.2, 0.9, 6), coordinate_map=tasep_rates_map())
    sub = g.isel(alpha=slice(2, 5), beta=[0, 3, -1])
    assert sub.shape == (3, 3) and sub.coordinate_map == g.coordinate_map
    full = g.points().reshape(8, 6, 2)
    np.testing.assert_array_equal(sub.points().reshape(3, 3, 2), full[2:5][:, [0, 3, 5]])
    np.testing.assert_allclose(sub.natural_points(), g.coordinate_map.forward(sub.points()))
    assert g.isel().mismatch(g) is None
    with pytest.raises(ValueError, match="unknown axis"):
        g.isel(K=[0])


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 40), min_size=1, max_size=3), max_points=st.integers(1, 2000))
def test_sublattice_is_the_coarsest_centred_regular_sub_lattice_within_the_budget(shape, max_points):
    g = ParameterGrid.from_ranges(**{f"a{i}": (0.0, 1.0, n) for i, n in enumerate(shape)})
    idx = g.sublattice(max_points)
    assert idx.dtype == np.int64 and (np.diff(idx) > 0).all()
    assert 1 <= idx.size <= max_points
    multi = np.unravel_index(idx, g.shape)
    strides = set()
    for m, n in zip(multi, g.shape):
        u = np.unique(m)
        assert idx.size == np.prod([np.unique(mm).size for mm in multi])  # a tensor product
        if u.size > 1:
            strides |= set(np.diff(u).tolist())
        # centred: the unused margins at the two ends differ by at most one position
        assert abs(int(u[0]) - int(n - 1 - u[-1])) <= 1 if u.size > 1 else True
    assert len(strides) <= 1  # one stride shared by every axis
    s = strides.pop() if strides else max(g.shape)
    if idx.size < g.size and s > 1:
        # the next finer stride would exceed the budget
        finer = np.prod([len(range(((n - 1) % (s - 1)) // 2, n, s - 1)) for n in g.shape])
        assert finer > max_points
    if max_points >= g.size:
        np.testing.assert_array_equal(idx, np.arange(g.size))
    # the same sub-lattice by its stride
    np.testing.assert_array_equal(g.sublattice(stride=s if idx.size > 1 or g.size == 1 else max(g.shape)), idx)


def test_natural_product_lays_a_rates_grid_out_in_its_natural_coordinates():
    """The TASEP rates grid is the product of its θ axes (reversed: θ = −ln α falls as α rises);
    the Ising (T, H) grid is not ((K, η) = (1/T, H/T): η varies along both axes); a grid in
    natural coordinates needs nothing."""
    g = ParameterGrid.from_ranges(tasep_rates_map(), alpha=(0.2, 0.9, 5), beta=(0.3, 1.0, 4))
    natural, flips = g.natural_product()
    assert natural.names == ("theta_alpha", "theta_beta") and natural.shape == g.shape
    t = g.natural_points().reshape(g.shape + (2,))
    np.testing.assert_array_equal(natural.natural_points().reshape(g.shape + (2,)), t[flips])
    assert flips == (slice(None, None, -1), slice(None, None, -1))
    assert ParameterGrid.from_ranges(ising_temperature_field_map(), T=(1.0, 2.0, 4), H=(-1.0, 1.0, 3)).natural_product() is None
    assert ParameterGrid.from_ranges(K=(0.2, 0.7, 4), eta=(-0.2, 0.2, 3)).natural_product() is None
