"""Finding a first-order line from the posteriors, on models with exact answers.

The Curie–Weiss model (N spins, all coupled): p(M) ∝ C(N, (N + M)/2) exp(K M²/(2N) + h M) is
an exponential family in (K, h) with statistics (M²/(2N), M), and ln Z is an exact sum over
the N + 1 values of M, so samples are drawn exactly (no Markov chain). For K > 1 it orders:
⟨M⟩/N jumps from −m₀ to +m₀ across h = 0 (m₀ = tanh(K m₀)), a first-order line that ends at
the critical point K = 1; a finite N rounds the end over a window of width ~N^(−1/2). Crossing
one cell of h on the line costs n·2m₀N·Δh nats: with N = 1000, n = 4 and Δh = 0.2/23 about
60 nats at K = 1.5, so rows beside the line are one-sided.

Measured (24 × 24 grid over K ∈ [0.5, 1.5], h ∈ [−0.1, 0.1], 32 samples per point, bundles
of 4, seeds 0 / 1 / 2): the line is found at h = 0 with 134 / 110 / 133 rows seeing it; their
centres span K = 0.865–1.299 / 0.853–1.395 / 0.871–1.372 (above K ≈ 1.3 the rows are flat on
their side and reach no cut; below K = 1 the finite-N rounding); the most walls at any other
cut is 6 (the cuts next to the line: a row cut off by it also stops short of them). On the
disordered box K ∈ [0.2, 0.8] no row sees a wall anywhere.
"""

import numpy as np
import pytest
from scipy.special import gammaln, logsumexp

from statgeo.geometry import detect_first_order_line, exact_posterior
from statgeo.grid import ParameterGrid


def _curie_weiss(n_spins: int, k_range: tuple[float, float], seed: int, points: int = 24, samples: int = 32):
    """Exact samples of the Curie–Weiss statistics (M²/(2N), M) on a (K, h) grid, and ln Z there."""
    g = ParameterGrid.from_ranges(K=(*k_range, points), h=(-0.1, 0.1, points))
    t = g.natural_points()
    m = np.arange(-n_spins, n_spins + 1, 2).astype(float)
    log_multiplicity = gammaln(n_spins + 1) - gammaln((n_spins + m) / 2 + 1) - gammaln((n_spins - m) / 2 + 1)
    stats = np.stack([m ** 2 / (2 * n_spins), m], 1)
    log_weight = log_multiplicity[None] + t @ stats.T
    log_z = logsumexp(log_weight, axis=1)
    p = np.exp(log_weight - log_z[:, None])
    rng = np.random.default_rng(seed)
    drawn = np.stack([rng.choice(m.size, size=samples, p=pi) for pi in p])
    return g, stats[drawn], log_z


def _toy(c: float, points: int = 20, n: int = 8):
    """Φ = (λ/2)|t|² + c·max(x, 0)|y|, λ = c + 1: ∂Φ/∂y jumps by 2c·x across y = 0 for x > 0."""
    g = ParameterGrid.from_ranges(x=(-1.0, 1.0, points), y=(-1.0, 1.0, points))
    t = g.natural_points()
    x, y = t[:, 0], t[:, 1]
    phi = 0.5 * (c + 1) * (x ** 2 + y ** 2) + c * np.maximum(x, 0.0) * np.abs(y)
    grad = np.stack([(c + 1) * x + c * (x > 0) * np.abs(y), (c + 1) * y + c * np.maximum(x, 0.0) * np.sign(y)], 1)
    return g, exact_posterior(np.repeat(grad[:, None], n, 1), g, phi, n, average=False, seed=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_curie_weiss_line_is_found_where_the_model_orders(seed):
    """The line h = 0 is found, seen only where the model orders (K above the finite-N window)."""
    g, stats, log_z = _curie_weiss(1000, (0.5, 1.5), seed)
    line = detect_first_order_line(exact_posterior(stats, g, log_z, 4, average=False, seed=1), g)
    assert line.found and line.axis == "h" and abs(line.at) < 1e-12
    assert line.wall_rows >= 100 and line.reaching_rows >= line.wall_rows
    k_low, k_high = line.extent("K")
    # the ordered phase is K > 1; a finite N rounds its end over ~N^(-1/2) ≈ 0.03 and a
    # bundle's K posterior is wide there (measured lows 0.853-0.871 over seeds 0-2)
    assert 0.8 < k_low < 1.0 and k_high > 1.2
    # the reported cut has many more walls than any other (next to the line at most 6)
    h_walls = line.votes["h"]["wall"].values
    assert h_walls.max() == line.wall_rows and np.sort(h_walls)[-2] <= line.wall_rows / 10
    assert line.votes["K"]["wall"].values.max() <= 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_curie_weiss_disordered_box_has_no_line(seed):
    """Below the critical point nothing jumps, and no row sees a wall at any cut."""
    g, stats, log_z = _curie_weiss(1000, (0.2, 0.8), seed)
    line = detect_first_order_line(exact_posterior(stats, g, log_z, 4, average=False, seed=1), g)
    assert not line.found and line.axis is None and line.at is None
    assert all(int(v["wall"].sum()) == 0 for v in line.votes.values())
    assert all(int(v["reaching"].sum()) > 1000 for v in line.votes.values())   # the rows did reach cuts
    with pytest.raises(ValueError, match="no line"):
        line.extent("K")


def test_line_that_ends_inside_the_grid_is_seen_only_on_its_half():
    """The toy's jump across y = 0 exists for x > 0 only; every row that sees it lies there."""
    g, post = _toy(20.0)
    line = detect_first_order_line(post, g)
    assert line.found and line.axis == "y" and abs(line.at) < 1e-12
    assert np.all(line.wall_centres[:, 0] > 0.0)
    # the family has a second, weaker line: ∂Φ/∂x jumps by c|y| across x = 0; it is reported
    # in the votes and loses to the stronger one
    assert 5 <= line.votes["x"]["wall"].values.max() < line.wall_rows


@pytest.mark.parametrize("c", [0.0, 5.0])
def test_smooth_or_weak_jump_is_not_a_line(c):
    """A Gaussian family (c = 0), and a jump too weak to cut rows off (c = 5: crossing the line
    costs at most n·2c·Δy ≈ 8 nats per cell against rows 1.4 cells wide), give no line: not one
    row sees a wall."""
    g, post = _toy(c)
    line = detect_first_order_line(post, g)
    assert not line.found
    assert all(int(v["wall"].max()) == 0 for v in line.votes.values())


def test_search_restricted_to_named_axes():
    """``axes`` limits the search: on x alone the toy's weaker line x = 0 is the one found, seen
    only where its jump c|y| is large enough to cut rows off (measured: |y| ≥ 0.48)."""
    g, post = _toy(20.0)
    line = detect_first_order_line(post, g, axes=["x"])
    assert line.found and line.axis == "x" and abs(line.at) < 1e-12 and set(line.votes) == {"x"}
    assert np.all(np.abs(line.wall_centres[:, 1]) > 0.3)


def test_plain_fit_warns_when_its_rows_stop_at_a_line():
    """``fit_log_partition`` looks for the line on single-bundle rows and says what to do about
    it; bundle averages (mixtures, which can fake walls) and ``check_line=False`` are not checked,
    and a box without a line gives no warning."""
    import warnings

    from statgeo.geometry import DegeneratePosteriorWarning, fit_log_partition

    g, stats, log_z = _curie_weiss(1000, (0.5, 1.5), 0)
    opts = {"max_steps": 1, "width": 4, "depth": 1, "progress": False}
    with pytest.warns(DegeneratePosteriorWarning, match=r"stop dead at h = 0.*fit_log_partition_split"):
        fit = fit_log_partition(exact_posterior(stats, g, log_z, 4, average=False, seed=1), g, **opts)
    assert fit.diagnostics["first_order_line"] == {"found": True, "axis": "h", "at": pytest.approx(0.0, abs=1e-12),
                                                   "wall_rows": 134}
    averaged = exact_posterior(stats, g, log_z, 4, average=True, seed=1)
    assert "first_order_line" not in fit_log_partition(averaged, g, **opts).diagnostics
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*stop dead", category=DegeneratePosteriorWarning)
        unchecked = fit_log_partition(exact_posterior(stats, g, log_z, 4, average=False, seed=1), g,
                                      check_line=False, **opts)
        assert "first_order_line" not in unchecked.diagnostics
        g, stats, log_z = _curie_weiss(1000, (0.2, 0.8), 0)
        smooth = fit_log_partition(exact_posterior(stats, g, log_z, 4, average=False, seed=1), g, **opts)
    assert smooth.diagnostics["first_order_line"]["found"] is False


def test_only_coordinates_that_follow_the_grid_are_searched():
    """On a (μ, σ) grid of a Gaussian, t₂ = −1/(2σ²) follows the σ axis but t₁ = μ/σ² varies along
    both: a cut of the grid is a hyperplane of t₂ only, so only t₂ is searched by default and
    asking for t₁ is refused by name."""
    from statgeo.coordinates import gaussian_mean_std_map

    g = ParameterGrid.from_ranges(gaussian_mean_std_map(), mu=(-1.0, 1.0, 6), sigma=(0.5, 1.5, 6))
    t = g.natural_points()
    phi = -t[:, 0] ** 2 / (4 * t[:, 1]) - 0.5 * np.log(-2 * t[:, 1])      # Gaussian log-partition
    rng = np.random.default_rng(0)
    mu, sd = -t[:, 0] / (2 * t[:, 1]), np.sqrt(-1 / (2 * t[:, 1]))
    x = mu[:, None] + sd[:, None] * rng.standard_normal((g.size, 16))
    post = exact_posterior(np.stack([x, x ** 2], -1), g, phi, 4, average=False, seed=1)
    t1, t2 = g.natural_names
    line = detect_first_order_line(post, g)
    assert not line.found and set(line.votes) == {t2}
    with pytest.raises(ValueError, match=f"one grid axis only; {t1!r} also varies"):
        detect_first_order_line(post, g, axes=[t1])
