"""Least-squares line integration of a gradient field on a grid (GridLineIntegrator).

Checked against potentials known in closed form: the trapezoid rule is exact for a quadratic
potential on any grid (uneven spacing, points that are not a Cartesian product in the
integration coordinates), and its error falls as h² for a smooth non-quadratic one.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statgeo.geometry.gradient_integration import GridLineIntegrator


def _quadratic(x, A, c):
    return 0.5 * np.einsum("pi,ij,pj->p", x, A, x) + x @ c, x @ A + c


@settings(max_examples=25, deadline=None)
@given(n0=st.integers(2, 7), n1=st.integers(2, 7), seed=st.integers(0, 2**16))
def test_a_quadratic_potential_is_recovered_exactly_on_any_grid(n0, n1, seed):
    """Uneven spacing and a sheared, curved layout: the edge increments of a quadratic are exact."""
    rng = np.random.default_rng(seed)
    a = np.sort(rng.uniform(-1, 1, n0 + 2))[1:-1] if n0 > 2 else np.array([-0.5, 0.7])
    b = np.sort(rng.uniform(-2, 1, n1 + 2))[1:-1] if n1 > 2 else np.array([-1.0, 0.2])
    A0, B0 = np.meshgrid(a, b, indexing="ij")
    x = np.stack([A0 + 0.3 * B0, B0 + 0.2 * A0 ** 2], -1).reshape(-1, 2)  # not a product grid
    M = rng.normal(size=(2, 2))
    phi, grad = _quadratic(x, M + M.T, rng.normal(size=2))
    est = GridLineIntegrator(x, (n0, n1)).potential(grad)
    np.testing.assert_allclose(est, phi - phi.mean(), atol=1e-9 * (1 + np.abs(phi).max()))


def test_several_fields_at_once_and_three_axes():
    """k fields in one call equal k single calls; a 3-D grid works the same way."""
    axes = [np.linspace(0, 1, 4), np.linspace(-1, 1, 3), np.linspace(2, 3, 5)]
    x = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    rng = np.random.default_rng(1)
    fields, truths = [], []
    for _ in range(3):
        M = rng.normal(size=(3, 3))
        phi, grad = _quadratic(x, M + M.T, rng.normal(size=3))
        fields.append(grad)
        truths.append(phi - phi.mean())
    integ = GridLineIntegrator(x, (4, 3, 5))
    both = integ.potential(np.stack(fields, -1))
    assert both.shape == (x.shape[0], 3)
    for j in range(3):
        np.testing.assert_allclose(both[:, j], integ.potential(fields[j]), atol=1e-12)
        np.testing.assert_allclose(both[:, j], truths[j], atol=1e-9)


def test_a_smooth_potential_converges_at_second_order():
    """Φ = exp(x) sin(y): halving the spacing cuts the error about fourfold (between 3 and 5)."""
    errs = []
    for m in (9, 17, 33):
        a = np.linspace(0, 1, m)
        X, Y = np.meshgrid(a, a, indexing="ij")
        x = np.stack([X, Y], -1).reshape(-1, 2)
        phi = np.exp(x[:, 0]) * np.sin(2 * x[:, 1])
        grad = np.stack([phi, 2 * np.exp(x[:, 0]) * np.cos(2 * x[:, 1])], -1)
        est = GridLineIntegrator(x, (m, m)).potential(grad)
        errs.append(np.abs(est - (phi - phi.mean())).max())
    for coarse, fine in zip(errs, errs[1:]):
        assert 3.0 < coarse / fine < 5.0, errs


def test_bad_input_names_the_argument():
    x = np.stack(np.meshgrid(np.arange(3.0), np.arange(4.0), indexing="ij"), -1).reshape(-1, 2)
    with pytest.raises(ValueError, match="shape"):
        GridLineIntegrator(x[:4], (1, 4))
    with pytest.raises(ValueError, match="points"):
        GridLineIntegrator(x[:-1], (3, 4))
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="points"):
        GridLineIntegrator(bad, (3, 4))
    integ = GridLineIntegrator(x, (3, 4))
    with pytest.raises(ValueError, match="gradient"):
        integ.potential(np.zeros((12, 3)))
    with pytest.raises(ValueError, match="gradient"):
        integ.potential(np.full((12, 2), np.inf))
