"""Tests of the potential reconstruction ∇²Φ ≈ g by sparse least squares on a grid.

Oracles: analytic convex potentials with closed-form gradient and Hessian (a log-sum-exp, the
Bernoulli/Poisson log-partition); errors measured after an affine least-squares alignment
computed here in the test.
"""

from __future__ import annotations

import numpy as np
import pytest

from statgeo.geometry.potential_from_metric import grid_gradient, potential_from_metric
from statgeo.grid import Axis, ParameterGrid
from statgeo.coordinates import ising_temperature_field_map, tasep_rates_map


def lse(t: np.ndarray):
    """Φ = ln(1 + Σ_i e^{t_i}) (the categorical log-partition): value, gradient, Hessian."""
    e = np.exp(t)
    z = 1.0 + e.sum(-1)
    p = e / z[..., None]
    g = -p[..., :, None] * p[..., None, :] + p[..., :, None] * np.eye(t.shape[-1])
    return np.log(z), p, g


def affine_aligned(F, ref, t):
    X = np.column_stack([np.ones(F.size), t.reshape(F.size, -1)])
    c, *_ = np.linalg.lstsq(X, (ref - F).ravel(), rcond=None)
    return (F.ravel() + X @ c).reshape(F.shape), c[1:]


def errors(grid, fit_kwargs=None):
    d = grid.ndim
    t = grid.natural_points().reshape(grid.shape + (d,))
    F, p, g = lse(t)
    fit = potential_from_metric(g, grid, **(fit_kwargs or {}))
    Fa, c = affine_aligned(fit.potential, F, t)
    return np.sqrt(np.mean((Fa - F) ** 2)), np.sqrt(np.mean((fit.gradient + c - p) ** 2)), fit


@pytest.mark.parametrize("kind", ["natural", "rates", "temperature_field"])
def test_second_order_convergence(kind):
    """Errors of Φ (after affine alignment) and ∇Φ fall ≈ 4× per halving of the grid step."""
    eF, eG = [], []
    for n in (9, 17, 33):
        if kind == "natural":
            grid = ParameterGrid.from_ranges(a=(-1.0, 1.5, n), b=(-2.0, 0.5, n))
        elif kind == "rates":  # grid in (α, β), natural θ = −ln α, −ln β: differences in θ (a product grid)
            grid = ParameterGrid.from_ranges(tasep_rates_map(), alpha=(0.2, 0.9, n), beta=(0.3, 1.0, n))
        else:  # grid in (T, H), natural (K, η) = (1/T, H/T): η varies along both axes, connection terms active
            grid = ParameterGrid.from_ranges(ising_temperature_field_map(), T=(1.0, 2.0, n), H=(-1.0, 1.0, n))
        f, gr, fit = errors(grid)
        eF.append(f)
        eG.append(gr)
        assert fit.potential.shape == grid.shape and fit.gradient.shape == grid.shape + (2,)
    for e in (eF, eG):
        assert e[0] / e[1] > 3.3 and e[1] / e[2] > 3.5
    assert eF[-1] < 1e-4


def test_a_grid_in_rates_is_differenced_in_its_natural_coordinates():
    """A grid regular in θ laid out in α = e^{−θ} (θ descending along the axes): the same Φ and ∇Φ,
    in the grid's own point order, as the grid laid out in θ itself."""
    th = np.linspace(0.0, np.log(10.0), 20)
    rates = ParameterGrid([Axis("alpha", np.exp(-th[::-1])), Axis("beta", np.exp(-th[::-1]))],
                          coordinate_map=tasep_rates_map())
    natural = ParameterGrid([Axis("theta_alpha", th), Axis("theta_beta", th)])
    t = rates.natural_points().reshape(rates.shape + (2,))
    _, _, g = lse(t)
    on_rates = potential_from_metric(g, rates)
    on_natural = potential_from_metric(g[::-1, ::-1], natural)
    np.testing.assert_allclose(on_rates.potential, on_natural.potential[::-1, ::-1], atol=1e-10)
    np.testing.assert_allclose(on_rates.gradient, on_natural.gradient[::-1, ::-1], atol=1e-10)
    np.testing.assert_allclose(grid_gradient(on_rates.potential, rates), on_rates.gradient, atol=1e-12)
    F, p, _ = lse(t)
    Fa, c = affine_aligned(on_rates.potential, F, t)
    assert np.sqrt(np.mean((Fa - F) ** 2)) < 1e-3 * F.std()


def test_non_uniform_axes_and_three_dimensions():
    x = np.array([-1.0, -0.7, -0.5, -0.2, 0.0, 0.3, 0.45, 0.8, 1.0])
    grid = ParameterGrid([Axis("a", x), Axis("b", np.linspace(-1, 0.5, 8)), Axis("c", np.linspace(-0.5, 0.5, 7))])
    eF, eG, _ = errors(grid)
    assert eF < 2e-3 and eG < 1e-2
    fine = ParameterGrid([Axis("a", np.interp(np.linspace(0, 8, 17), np.arange(9), x)),
                          Axis("b", np.linspace(-1, 0.5, 15)), Axis("c", np.linspace(-0.5, 0.5, 13))])
    eF2, eG2, _ = errors(fine)
    assert eF / eF2 > 3.0 and eG / eG2 > 3.0


def test_known_gradient_fixes_the_linear_gauge():
    grid = ParameterGrid.from_ranges(a=(-1.0, 1.0, 21), b=(-1.0, 1.0, 21))
    t = grid.natural_points().reshape(grid.shape + (2,))
    F, p, g = lse(t)
    node = (5, 13)
    fit = potential_from_metric(g, grid, known_gradient=(t[node], p[node]), known_value=float(F[node]))
    assert fit.potential[node] == pytest.approx(F[node], abs=1e-12)
    # no alignment at all: gradient and value are absolute
    assert np.max(np.abs(fit.gradient - p)) < 5e-3
    assert np.max(np.abs(fit.potential - F)) < 5e-3


def test_weights_ignore_corrupted_components():
    grid = ParameterGrid.from_ranges(a=(-1.0, 1.0, 17), b=(-1.0, 1.0, 17))
    t = grid.natural_points().reshape(grid.shape + (2,))
    F, p, g = lse(t)
    bad = g.copy()
    bad[2::3, 1::3] += 5.0  # corrupt scattered cells (every node stays covered by clean stencils)
    w = np.ones_like(g)
    w[2::3, 1::3] = 0.0
    clean = np.sqrt(np.mean((affine_aligned(potential_from_metric(g, grid).potential, F, t)[0] - F) ** 2))
    unweighted = potential_from_metric(bad, grid).potential
    weighted = potential_from_metric(bad, grid, weights=w).potential
    e_unw = np.sqrt(np.mean((affine_aligned(unweighted, F, t)[0] - F) ** 2))
    e_w = np.sqrt(np.mean((affine_aligned(weighted, F, t)[0] - F) ** 2))
    assert e_unw > 100 * clean
    assert e_w < 10 * clean


def test_gauge_output_is_orthogonal_to_affine_functions_and_residual_small():
    grid = ParameterGrid.from_ranges(a=(-1.0, 1.0, 11), b=(-1.0, 1.0, 13))
    t = grid.natural_points()
    _, _, g = lse(t.reshape(grid.shape + (2,)))
    fit = potential_from_metric(g, grid)
    X = np.column_stack([np.ones(len(t)), t])
    np.testing.assert_allclose(X.T @ fit.potential.ravel(), 0.0, atol=1e-10)
    assert fit.residual_rms < 1e-3 * np.sqrt(np.mean(g**2))


def test_grid_gradient_of_a_quadratic_is_exact():
    grid = ParameterGrid.from_ranges(a=(-1.0, 1.0, 7), b=(0.0, 2.0, 5))
    A, B = grid.mesh()
    phi = 1.5 * A**2 - A * B + 0.25 * B**2 + 3 * A
    gr = grid_gradient(phi, grid)
    np.testing.assert_allclose(gr[..., 0], 3 * A - B + 3, atol=1e-12)
    np.testing.assert_allclose(gr[..., 1], -A + 0.5 * B, atol=1e-12)


def test_bad_input():
    grid = ParameterGrid.from_ranges(a=(-1.0, 1.0, 5), b=(-1.0, 1.0, 4))
    g = np.broadcast_to(np.eye(2), (5, 4, 2, 2)).copy()
    with pytest.raises(ValueError, match="shape"):
        potential_from_metric(g[:, :3], grid)
    bad = g.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        potential_from_metric(bad, grid)
    one = ParameterGrid.from_ranges(a=(-1.0, 1.0, 5), b=[0.0])
    with pytest.raises(ValueError, match="at least 3 points"):
        potential_from_metric(g[:, :1], one)
    with pytest.raises(ValueError, match="weights"):
        potential_from_metric(g, grid, weights=-np.ones_like(g))
    with pytest.raises(ValueError, match="known_gradient"):
        potential_from_metric(g, grid, known_gradient=([0.0, 0.0], [1.0]))
    with pytest.raises(TypeError, match="grid"):
        potential_from_metric(g, None)
    hole = np.ones_like(g)
    hole[1:4, 1:3] = 0.0  # zero weights on a block leave its inner node(s) without any equation
    with pytest.raises(ValueError, match="undetermined"):
        potential_from_metric(g, grid, weights=hole)
