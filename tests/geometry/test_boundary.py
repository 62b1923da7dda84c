"""Phase-boundary score and curve extraction on maps with a known boundary line."""

from __future__ import annotations

import numpy as np
import pytest

from tests.geometry.xp_helpers import to_numpy
from statgeo.geometry.boundary import boundary_distance, boundary_score, extract_boundaries
from statgeo.geometry.metric import metric_on_grid
from statgeo.geometry.potential import AnalyticPotential
from statgeo.models import make_model

X_AX = np.linspace(-1.0, 1.0, 81)
Y_AX = np.linspace(-1.0, 1.0, 61)
H = (X_AX[1] - X_AX[0], Y_AX[1] - Y_AX[0])


def f_line(y):
    """The true boundary t₁ = f(t₂)."""
    return 0.3 + 0.15 * np.sin(2.0 * y)


def ref_curve(s):
    y = -1.0 + 2.0 * s
    return np.stack([f_line(y), y], axis=-1)


def _np(x):
    return np.asarray(to_numpy(x), dtype=np.float64)


def test_discontinuity_found_within_one_cell():
    # an order parameter jumping by 1 across the line; score = |∇u| by central differences
    X, Y = np.meshgrid(X_AX, Y_AX, indexing="ij")
    u = np.where(X > f_line(Y), 1.0, 0.0)
    gx, gy = np.gradient(u, X_AX, Y_AX)
    score = np.hypot(gx, gy)
    curves = extract_boundaries(score, [X_AX, Y_AX], threshold=0.5 * score.max())
    assert len(curves) == 1
    dist = boundary_distance(curves, ref_curve, scale=H)
    assert dist.max <= 1.0  # every extracted point within one grid cell of the true line
    assert dist.coverage <= 1.5  # and the whole line is covered (end rows may be off by ~1 cell)
    assert curves[0].shape[0] >= 0.9 * len(Y_AX)


def test_kinked_potential_metric_blow_up(xp):
    # Φ = √((t₁ − f(t₂))² + ε²) + ½|t|²: a smoothed kink, so ∇²Φ ~ 1/ε on the line
    eps = 0.02

    def phi(t):
        u = t[..., 0] - 0.3 - 0.15 * xp.sin(2.0 * t[..., 1])
        return xp.sqrt(u * u + eps**2) + 0.5 * xp.sum(t * t, axis=-1)

    g = metric_on_grid(AnalyticPotential(phi), [xp.asarray(X_AX), xp.asarray(Y_AX)], check="raise")
    assert tuple(g.shape) == (81, 61, 2, 2)
    for method in ("max_eigenvalue", "trace"):
        score = boundary_score(g, method=method)
        assert type(score) is type(g) and tuple(score.shape) == (81, 61)
        curves = extract_boundaries(score, [X_AX, Y_AX])
        assert len(curves) == 1 and type(curves[0]) is type(g)
        dist = boundary_distance(curves, ref_curve, scale=H)
        # points within one cell (a point one cell off the line counts as within), mean ≪ 1
        assert dist.max <= 1.0 + 1e-3
        assert dist.mean <= 0.2
        assert dist.coverage <= 1.5


def test_no_boundary_in_smooth_metric():
    # a smooth, slowly varying metric has no cell above the default threshold
    X, Y = np.meshgrid(X_AX, Y_AX, indexing="ij")
    lam = 1.0 + 0.3 * X**2
    g = np.zeros(X.shape + (2, 2))
    g[..., 0, 0] = lam
    g[..., 1, 1] = 1.0
    assert extract_boundaries(boundary_score(g), [X_AX, Y_AX]) == []


def test_prominence_finds_the_ising_line_on_its_trending_background():
    """The exact 8×8 Ising metric (transfer matrix): the ridge η = 0, K > K_c, by prominence.

    log λ_max falls by about five e-folds across the ordered phase, so the robust z-score of
    the map stays near 2 on the ridge and the global threshold 3 finds nothing; the local
    criterion (metric ≥ 3 × its value three cells away on each side) finds one ridge on the
    line, covering it to within one cell except where the finite-size crossover ends it.
    """
    model = make_model("ising", 8)
    grid = model.natural_grid(K=(0.2, 0.7, 24), eta=(-0.2, 0.2, 24))
    g = model.reference(grid, per_site=True)["metric"].values
    axes = [grid.axes[0].values, grid.axes[1].values]
    spacing = [np.diff(a).mean() for a in axes]
    line = model.phase_diagram().all_line_points()
    line = line[line[:, 0] <= axes[0][-1]]
    assert extract_boundaries(boundary_score(g), axes) == []
    curves = extract_boundaries(boundary_score(g, normalise="none"), axes, threshold=None,
                                prominence=np.log(3.0), reach=3)
    assert len(curves) == 1
    dist = boundary_distance(curves, line, scale=spacing, within=1.0)
    assert dist.covered >= 0.8
    # every point on η = 0 (sub-cell refinement between the two rows that straddle it) and the
    # ridge's end within 1.5 cells of K_c (the 8×8 torus's crossover sits near, not at, K_c)
    assert np.abs(curves[0][:, 1]).max() <= 0.05 * spacing[1]
    assert abs(curves[0][:, 0].min() - model.phase_diagram().points["critical_point"][0]) <= 1.5 * spacing[0]


def test_prominence_is_measured_up_to_the_grid_edge():
    # a ridge one row from the edge has one neighbour on that side: the rise is measured there
    x = np.linspace(0.0, 1.0, 9)
    score = np.zeros((9, 9))
    score[1, :] = 2.0
    assert len(extract_boundaries(score, [x, x], threshold=None, prominence=1.9)) == 1
    assert extract_boundaries(score, [x, x], threshold=None, prominence=2.1) == []
    # a peak of 0.5 on a plateau of 1: the rise is measured at the reach (0.5 one step away,
    # 1.5 three steps away)
    plateau = np.zeros((9, 9))
    plateau[2:7, :] = 1.0
    plateau[4, :] = 1.5
    assert len(extract_boundaries(plateau, [x, x], threshold=None, prominence=0.4, reach=1)) == 1
    assert extract_boundaries(plateau, [x, x], threshold=None, prominence=0.6, reach=1) == []
    assert len(extract_boundaries(plateau, [x, x], threshold=None, prominence=1.4, reach=3)) == 1
    assert extract_boundaries(plateau, [x, x], threshold=None, prominence=1.6, reach=3) == []


def test_score_normalisations():
    g = np.zeros((5, 4, 2, 2))
    g[..., 0, 0] = np.exp(np.arange(20.0).reshape(5, 4))
    g[..., 1, 1] = 1.0
    raw = boundary_score(g, normalise="none")
    np.testing.assert_allclose(raw, np.arange(20.0).reshape(5, 4))
    mm = boundary_score(g, normalise="minmax")
    assert mm.min() == 0.0 and mm.max() == 1.0
    rb = boundary_score(g)  # (s − median)/(1.4826 MAD): median 9.5, MAD 5
    np.testing.assert_allclose(rb, (raw - 9.5) / (1.4826 * 5.0))
    np.testing.assert_allclose(boundary_score(g, method="det", normalise="none"), raw)


def test_boundary_errors():
    with pytest.raises(ValueError, match="method"):
        boundary_score(np.ones((3, 3, 2, 2)), method="bogus")
    with pytest.raises(ValueError, match="metric_grid"):
        boundary_score(np.ones((2, 2)))
    bad = np.ones((3, 3, 2, 2))
    bad[1, 1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        boundary_score(bad)
    with pytest.raises(ValueError, match="2-D"):
        extract_boundaries(np.ones(5), [np.arange(5.0)])
    with pytest.raises(ValueError, match="at least 3 points"):
        extract_boundaries(np.ones((1, 5)), [np.zeros(1), np.arange(5.0)])
    with pytest.raises(ValueError, match="length"):
        extract_boundaries(np.ones((4, 5)), [np.arange(3.0), np.arange(5.0)])
    with pytest.raises(ValueError, match="strictly increasing"):
        extract_boundaries(np.ones((4, 5)), [np.zeros(4), np.arange(5.0)])
    with pytest.raises(ValueError, match="shape"):
        boundary_distance([np.ones((3, 3))], ref_curve)
    assert boundary_distance([], ref_curve).max == float("inf")
