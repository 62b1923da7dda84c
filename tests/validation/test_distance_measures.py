"""Tests of the ClassiFIM benchmark's distance measures (straight-line lengths, distMSE, distRE)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from validation.distance_measures import (
    distance_measures,
    sample_pairs,
    straight_line_distances,
)


def flat(shape, *multi):
    return [int(np.ravel_multi_index(m, shape)) for m in multi]


@pytest.fixture
def axes():
    # non-uniform first axis, decreasing second axis (like the TASEP's θ laid out in (α, β))
    return [np.array([0.0, 0.1, 0.35, 0.5, 0.9, 1.0]), np.linspace(2.0, -1.0, 7)]


def test_constant_metric_gives_the_exact_length(axes):
    G = np.array([[2.0, 0.7], [0.7, 1.5]])
    shape = (6, 7)
    g = np.broadcast_to(G, shape + (2, 2))
    pairs = sample_pairs(shape, 200, seed=3)
    ia = np.stack(np.unravel_index(pairs[:, 0], shape), 1)
    ib = np.stack(np.unravel_index(pairs[:, 1], shape), 1)
    dt = np.stack([axes[k][ib[:, k]] - axes[k][ia[:, k]] for k in range(2)], 1)
    exact = np.sqrt(np.einsum("pi,ij,pj->p", dt, G, dt))
    np.testing.assert_allclose(straight_line_distances(g, axes, pairs), exact, rtol=1e-12)
    np.testing.assert_allclose(straight_line_distances(g, axes, pairs, steps=1), exact, rtol=1e-12)


def test_axis_aligned_length_matches_an_independent_quadrature():
    def f(t):
        return 1.0 + 0.5 * np.sin(2.0 * t)

    t1 = np.linspace(0.0, 2.0, 401)
    t2 = np.linspace(0.0, 1.0, 3)
    g = np.zeros((t1.size, t2.size, 2, 2))
    g[..., 0, 0] = f(t1)[:, None] ** 2
    g[..., 1, 1] = 1.0
    shape = g.shape[:2]
    ends = [(0, 400), (37, 250), (399, 12), (100, 101)]
    pairs = [flat(shape, (a, 1), (b, 1)) for a, b in ends]
    D = straight_line_distances(g, [t1, t2], pairs)
    for (a, b), d in zip(ends, D):
        lo, hi = sorted((t1[a], t1[b]))
        exact = quad(f, lo, hi, epsabs=1e-12, epsrel=1e-12)[0]
        assert abs(d - exact) < 1e-4, (a, b, d, exact)
        # the defined integral itself (g linear between nodes) to midpoint-rule accuracy
        knots = np.concatenate([[lo], t1[(t1 > lo) & (t1 < hi)], [hi]])
        lin = sum(quad(lambda t: math.sqrt(np.interp(t, t1, f(t1) ** 2)), u, v, epsabs=1e-13)[0]
                  for u, v in itertools.pairwise(knots))
        assert abs(d - lin) < 1e-6 * max(1.0, hi - lo), (a, b, d, lin)


def _bilinear_length_density(s, ta, dt):
    p = ta + s * dt
    return math.sqrt(1.0 + p[0] + 0.5 * p[1] + 0.25 * p[0] * p[1]) * np.linalg.norm(dt)


def test_interpolation_is_multilinear_along_a_diagonal():
    # g = c(t) I with c bilinear in t: interpolation is exact, D = ∫ √c(t(s)) |Δt| ds
    t1, t2 = np.linspace(0.0, 1.0, 5), np.linspace(0.0, 2.0, 9)
    T1, T2 = np.meshgrid(t1, t2, indexing="ij")
    c = 1.0 + T1 + 0.5 * T2 + 0.25 * T1 * T2
    g = c[..., None, None] * np.eye(2)
    pairs = [flat((5, 9), (0, 0), (4, 8)), flat((5, 9), (1, 7), (3, 2))]
    D = straight_line_distances(g, [t1, t2], pairs, steps=2000)
    for (a, b), d in zip([((0, 0), (4, 8)), ((1, 7), (3, 2))], D):
        ta, tb = np.array([t1[a[0]], t2[a[1]]]), np.array([t1[b[0]], t2[b[1]]])
        assert d == pytest.approx(quad(_bilinear_length_density, 0.0, 1.0, args=(ta, tb - ta))[0], rel=1e-6)


def test_identical_and_scaled_metrics(axes):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 7, 2, 2))
    g = A @ np.swapaxes(A, -1, -2) + 0.1 * np.eye(2)
    same = distance_measures(g, g.copy(), axes, n_pairs=300, seed=1)
    assert same["dist_mse"] == 0.0 and same["dist_re"] == 0.0 and same["dist_mse_perfect_scale"] < 1e-28
    assert same["scale"] == pytest.approx(1.0, rel=1e-12)
    four = distance_measures(g, 4.0 * g, axes, n_pairs=300, seed=1)
    np.testing.assert_allclose(four["d_est"], 2.0 * four["d_ref"], rtol=1e-12)
    assert four["scale"] == pytest.approx(0.5, rel=1e-12)
    assert four["dist_mse_perfect_scale"] < 1e-24
    assert four["dist_re"] == 0.0
    assert four["dist_mse"] == pytest.approx(np.mean(four["d_ref"] ** 2), rel=1e-12)
    assert four["dist_mse_normalised"] == pytest.approx(1.0, rel=1e-12)
    zero = distance_measures(g, 0.0 * g, axes, n_pairs=300, seed=1)
    assert zero["dist_mse_perfect_scale"] == 1.0 and zero["scale"] == 0.0 and zero["dist_re"] == 0.5


def test_same_seed_same_pairs_and_margin():
    a = sample_pairs((10, 12), 500, seed=5, margin=2)
    np.testing.assert_array_equal(a, sample_pairs((10, 12), 500, seed=5, margin=2))
    assert (a[:, 0] != a[:, 1]).all()
    i, j = np.unravel_index(a.ravel(), (10, 12))
    assert i.min() >= 2 and i.max() <= 7 and j.min() >= 2 and j.max() <= 9


def test_independent_estimate_has_ordering_error_one_half():
    # D_ref = |Δt1| and D_est = |Δt2| are independent for pairs with independent uniform ends,
    # so every comparison is concordant with probability exactly 1/2 (est ties count 1/2).
    n = 60
    t = np.linspace(0.0, 1.0, n)
    ref = np.zeros((n, n, 2, 2))
    ref[..., 0, 0] = 1.0
    est = np.zeros((n, n, 2, 2))
    est[..., 1, 1] = 1.0
    P, M = 2000, 20000
    m = distance_measures(ref, est, [t, t], n_pairs=P, n_comparisons=M, seed=11)
    # standard error: U-statistic over P pairs, Var ≈ 1/(9P) (Kendall's tau under independence:
    # dist_re = (1 − τ)/2, Var τ ≈ 4/(9P)), plus binomial sampling of M comparisons, 1/(4M)
    se = math.sqrt(1.0 / (9 * P) + 1.0 / (4 * m["n_comparisons_used"]))
    assert abs(m["dist_re"] - 0.5) < 4.0 * se, (m["dist_re"], se)
    assert m["n_comparisons_used"] > 0.9 * M


# ----------------------------------------------------------------------------- bad input
GOOD_AXES = [np.linspace(0.0, 1.0, 4), np.linspace(0.0, 1.0, 5)]
GOOD_G = np.broadcast_to(np.eye(2), (4, 5, 2, 2)).copy()


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"metric_ref": GOOD_G[:3]}, ValueError, "metric_ref"),
    ({"metric_est": GOOD_G[..., :1]}, ValueError, "metric_est"),
    ({"metric_est": np.where(np.eye(2, dtype=bool), np.nan, GOOD_G)}, ValueError, "metric_est"),
    ({"metric_ref": np.full((4, 5, 2, 2), "x")}, TypeError, "metric_ref"),
    ({"axes": [np.linspace(0.0, 1.0, 4)]}, ValueError, "metric_ref"),
    ({"axes": [np.array([0.0, 1.0, 0.5, 2.0]), GOOD_AXES[1]]}, ValueError, "axes[0]"),
    ({"axes": np.zeros((2, 4))}, TypeError, "axes"),
    ({"n_pairs": 0}, ValueError, "n_pairs"),
    ({"n_pairs": 2.0}, TypeError, "n_pairs"),
    ({"margin": 2}, ValueError, "margin"),
    ({"n_comparisons": -1}, ValueError, "n_comparisons"),
    ({"seed": -3}, ValueError, "seed"),
    ({"steps": 0}, ValueError, "steps"),
])
def test_bad_input_names_the_argument(kwargs, exc, name):
    args = {"metric_ref": GOOD_G, "metric_est": GOOD_G, "axes": GOOD_AXES, **kwargs}
    with pytest.raises(exc, match=name.replace("[", r"\[").replace("]", r"\]")):
        distance_measures(**args)


def test_bad_pairs_are_refused():
    with pytest.raises(ValueError, match="pairs"):
        straight_line_distances(GOOD_G, GOOD_AXES, [[0, 20]])
    with pytest.raises(ValueError, match="pairs"):
        straight_line_distances(GOOD_G, GOOD_AXES, [[0, 1, 2]])
    with pytest.raises(TypeError, match="pairs"):
        straight_line_distances(GOOD_G, GOOD_AXES, [[0.0, 1.0]])
    with pytest.raises(ValueError, match="margin"):
        sample_pairs((3, 3), 5, seed=0, margin=1)


@settings(max_examples=40, deadline=None)
@given(arg=st.sampled_from(["n_pairs", "n_comparisons", "margin", "steps"]),
       value=st.one_of(st.integers(max_value=-1), st.floats(allow_nan=True), st.booleans(), st.text(max_size=3)))
def test_bad_integer_options_hypothesis(arg, value):
    with pytest.raises((TypeError, ValueError), match=arg):
        distance_measures(GOOD_G, GOOD_G, GOOD_AXES, **{arg: value})


@settings(max_examples=40, deadline=None)
@given(which=st.sampled_from(["metric_ref", "metric_est"]),
       index=st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 1), st.integers(0, 1)),
       value=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_non_finite_metric_hypothesis(which, index, value):
    bad = GOOD_G.copy()
    bad[index] = value
    args = {"metric_ref": GOOD_G, "metric_est": GOOD_G, which: bad}
    with pytest.raises(ValueError, match=which):
        distance_measures(args["metric_ref"], args["metric_est"], GOOD_AXES)
