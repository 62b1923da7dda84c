"""How far a metric field is from every Hessian metric: ``grid_hessian`` and ``hessian_defect``.

Oracles: closed-form potentials (a quadratic, the Gaussian log-partition) whose Hessians are
known, on affine and non-affine grid maps; a closed-form non-Hessian metric whose integrability
defect is √(2/3) at every point.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statgeo.coordinates import ising_temperature_field_map, tasep_rates_map
from statgeo.geometry import Gaussian1D, grid_hessian, hessian_defect
from statgeo.grid import Axis, ParameterGrid


GAUSSIAN = Gaussian1D()  # Φ(θ) = −θ₁²/(4θ₂) − ½ ln(−2θ₂) + const, its Hessian in closed form


def gaussian_grid(n: int) -> ParameterGrid:
    return ParameterGrid.from_ranges(theta1=(-1.0, 1.0, n), theta2=(-1.5, -0.5, n))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-2.0, 2.0), min_size=6, max_size=6),
       st.lists(st.floats(0.05, 1.0), min_size=3, max_size=7),
       st.lists(st.floats(0.05, 1.0), min_size=3, max_size=7))
def test_grid_hessian_of_a_quadratic_is_exact_on_uneven_axes(c, hx, hy):
    a = Axis("a", np.cumsum([0.0] + hx))
    b = Axis("b", np.cumsum([0.0] + hy))
    grid = ParameterGrid([a, b])
    A, B = grid.mesh()
    phi = c[0] * A ** 2 + c[1] * A * B + c[2] * B ** 2 + c[3] * A + c[4] * B + c[5]
    h = grid_hessian(phi, grid)
    want = np.array([[2 * c[0], c[1]], [c[1], 2 * c[2]]])
    np.testing.assert_allclose(h, np.broadcast_to(want, h.shape), atol=1e-8 * (1 + np.abs(c).max()))


def test_grid_hessian_follows_a_non_affine_coordinate_map():
    """On the Ising (T, H) grid, natural (K, η) = (1/T, H/T), η varies along both axes, so the
    differences are taken in (T, H) and the chain rule's connection term is needed: second order
    in the step (a wrong or missing connection term does not converge)."""
    errs = []
    for n in (12, 24):
        grid = ParameterGrid.from_ranges(T=(1.5, 3.5, n), H=(-0.5, 0.5, n),
                                         coordinate_map=ising_temperature_field_map())
        t = grid.natural_points().reshape(grid.shape + (2,))
        phi = np.exp(0.5 * t[..., 0]) + t[..., 0] * t[..., 1] + t[..., 1] ** 2
        want = np.zeros(grid.shape + (2, 2))
        want[..., 0, 0] = 0.25 * np.exp(0.5 * t[..., 0])
        want[..., 0, 1] = want[..., 1, 0] = 1.0
        want[..., 1, 1] = 2.0
        h = grid_hessian(phi, grid)
        errs.append(np.sqrt(np.mean((h - want)[2:-2, 2:-2] ** 2)))
    assert 3.0 < errs[0] / errs[1] < 5.5, errs  # second order: ratio 4 for a halved step (measured 4.1)
    assert errs[1] < 0.02, errs  # measured 0.047 and 0.012 (RMS; the components are 0.3–2)


def test_a_hessian_metric_has_no_defect_beyond_the_grid_error():
    """The Gaussian family's exact metric: defect and floor are finite-difference errors, of
    second order in the step (ratio between 3 and 5.5 per halving; measured 3.4–3.9 with a
    margin of 2 cells. With a margin of 1, g[θ₂,θ₂] = 4μ²σ² + 2σ⁴, steep at the edge θ₂ = −0.5,
    converges more slowly at these sizes: 0.089, 0.037, 0.014 for 12, 24, 48 points)."""
    res = []
    for n in (12, 24):
        grid = gaussian_grid(n)
        t = grid.natural_points().reshape(grid.shape + (2,))
        res.append(hessian_defect(GAUSSIAN.hessian(t), grid, margin=2))
    assert 3.0 < res[0].integrability / res[1].integrability < 5.5
    assert res[1].integrability < 0.01
    ratio = res[0].nrmse / res[1].nrmse
    assert np.all((ratio > 3.0) & (ratio < 5.5)), ratio
    assert np.nanmax(res[1].nrmse) < 0.02  # measured 0.0017 / 0.0009 / 0.0145
    # its potential is the Gaussian log-partition up to an affine function
    grid = gaussian_grid(24)
    t = grid.natural_points()
    X = np.column_stack([np.ones(len(t)), t])
    phi = GAUSSIAN.value(t)
    resid = phi - res[1].potential.ravel()
    resid -= X @ np.linalg.lstsq(X, resid, rcond=None)[0]
    assert np.sqrt(np.mean(resid ** 2)) < 1e-3 * phi.std()


def test_the_integrability_defect_of_a_closed_form_non_hessian_metric():
    """g = diag(1, 1 + t₁²): T₁₂₂ = 2t₁ is its only non-zero derivative, Sym T has 2t₁/3 in all
    three positions, so ‖T − Sym T‖² / ‖T‖² = 2/3 at every point (differences exact for a
    quadratic); the closest Hessian metric misses it by a finite amount."""
    grid = ParameterGrid.from_ranges(t1=(-1.0, 1.0, 11), t2=(0.0, 2.0, 9))
    t1 = grid.mesh()[0]
    g = np.zeros(grid.shape + (2, 2))
    g[..., 0, 0], g[..., 1, 1] = 1.0, 1.0 + t1 ** 2
    res = hessian_defect(g, grid, margin=2)
    assert res.integrability == pytest.approx(np.sqrt(2 / 3), rel=1e-10)
    assert np.isnan(res.nrmse[0, 0]) and np.isnan(res.nrmse[0, 1])  # constant components: no scale
    assert res.nrmse[1, 1] > 0.1
    np.testing.assert_allclose(res.closest, np.swapaxes(res.closest, -1, -2))
    assert res.margin == 2


def test_a_grid_laid_out_in_rates_is_measured_in_its_natural_coordinates():
    """A grid regular in θ but laid out in α = e^{−θ} (descending θ along ascending α): the
    measures are taken in θ and the closest metric comes back in the grid's own point order."""
    th = np.linspace(0.0, np.log(10.0), 20)
    grid = ParameterGrid([Axis("alpha", np.exp(-th[::-1])), Axis("beta", np.exp(-th[::-1]))],
                         coordinate_map=tasep_rates_map())
    t = grid.natural_points().reshape(grid.shape + (2,))
    # Φ = ln(1 + e^{θ₁} + e^{θ₂}) (the categorical log-partition): an exact Hessian metric
    p = np.exp(t) / (1.0 + np.exp(t).sum(-1, keepdims=True))
    g = -p[..., :, None] * p[..., None, :] + p[..., :, None] * np.eye(2)
    res = hessian_defect(g, grid)
    # measured 0.023 / 0.001 / 0.023; differences along α instead of θ give 0.34 / 0.02 / 0.34
    assert np.nanmax(res.nrmse) < 0.04, res.nrmse
    assert res.integrability < 0.01
    inside = (slice(1, -1), slice(1, -1))
    assert np.max(np.abs(res.closest - g)[inside]) < 0.05 * np.max(np.abs(g))
