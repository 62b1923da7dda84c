"""Lipschitz ratios on the synthetic generator: bounded inside a phase, ∝ 1/δ at a boundary."""

import numpy as np
import pytest

from statgeo.diffusion.embed import PixelEmbedder
from statgeo.diffusion.lipschitz import growth_exponent, lipschitz_map, lipschitz_ratios
from statgeo.diffusion.slices import slice_grid
from statgeo.diffusion.synthetic import SyntheticGenerator, synthetic_slice

DELTAS = np.logspace(-2, -8, 7)


@pytest.fixture(scope="module")
def gen():
    return SyntheticGenerator()


def test_ratio_inside_phase_equals_analytic_gradient(gen):
    """Inside a phase, G = texture + ε(a P₁ + b P₂): along β the ratio is ε‖P₂‖ exactly."""
    ls = synthetic_slice()
    pts = np.array([[0.2, 0.85], [0.9, 0.9], [0.5, 0.05]])
    r = lipschitz_ratios(gen, ls, pts, DELTAS, direction=(0, 1), embedder=PixelEmbedder(8))
    exact = gen.smooth * np.linalg.norm(gen._p2)
    np.testing.assert_allclose(r.ratio_pixel.values, exact, rtol=1e-6)
    assert np.all(np.abs(growth_exponent(r.ratio_pixel).values) < 1e-3)
    assert np.all(np.abs(growth_exponent(r.ratio_feature).values) < 0.05)
    # along α: ε‖P₁‖
    r = lipschitz_ratios(gen, ls, pts, DELTAS, direction=(1, 0))
    np.testing.assert_allclose(r.ratio_pixel.values, gen.smooth * np.linalg.norm(gen._p1), rtol=1e-6)


def test_ratio_at_boundary_grows_like_one_over_delta(gen):
    ls = synthetic_slice()
    a = np.array([0.13, 0.3, 0.52])
    b = gen.boundary_curve(a) - 1e-13  # just below the boundary: every step crosses it
    r = lipschitz_ratios(gen, ls, np.stack([a, b], 1), DELTAS, direction=(0, 1), embedder=PixelEmbedder(8))
    np.testing.assert_allclose(growth_exponent(r.ratio_pixel).values, -1.0, atol=0.01)
    np.testing.assert_allclose(growth_exponent(r.ratio_feature).values, -1.0, atol=0.01)
    # δ · L → ‖G(above) − G(below)‖ = the jump between the textures of phases 0 and 1
    jump = np.linalg.norm(gen._textures[1] - gen._textures[0])
    np.testing.assert_allclose(r.ratio_pixel.values[:, -1] * r.latent_step.values[:, -1], jump, rtol=1e-3)


def test_lipschitz_map_peaks_on_the_boundary(gen):
    grid = slice_grid(16)
    m = lipschitz_map(gen, synthetic_slice(), grid, 1e-4)
    A, B = np.meshgrid(grid["alpha"].values, grid["beta"].values, indexing="ij")
    # a cell is "near" a boundary if a 1e-4 step from it changes the true label
    lab = gen.labels(A, B)
    near = (gen.labels(A + 1e-4, B) != lab) | (gen.labels(A, B + 1e-4) != lab)
    inside = m.ratio_pixel.values[~near]
    bound = gen.smooth * max(np.linalg.norm(gen._p1), np.linalg.norm(gen._p2))
    np.testing.assert_allclose(inside, bound, rtol=1e-6)  # the larger of the two directional gradients
    if near.any():
        assert m.ratio_pixel.values[near].min() > 100


def test_errors(gen):
    ls = synthetic_slice()
    with pytest.raises(ValueError, match="deltas"):
        lipschitz_ratios(gen, ls, [[0.1, 0.1]], [0.0])
    with pytest.raises(ValueError, match="direction"):
        lipschitz_ratios(gen, ls, [[0.1, 0.1]], [1e-3], direction=(0, 0))
    with pytest.raises(ValueError, match="points"):
        lipschitz_ratios(gen, ls, [0.1, 0.1], [1e-3])
