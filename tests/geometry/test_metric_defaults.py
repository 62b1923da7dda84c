"""The metric with the library's defaults, on a family no preset was tuned for.

A researcher's own two-parameter exponential family: x ~ N(μ, σ²) in natural coordinates
θ = (μ/σ², −1/(2σ²)), sufficient statistic f(x) = (x, x²), log-partition
Φ(θ) = −θ₁²/(4θ₂) − ½ ln(−2θ₂) (closed form; its Hessian is the Fisher metric). The samples are
the raw x; the documented path (docs/geometry_fitting.md, "Quick start") is followed with the
defaults only: ``exact_posterior`` (the oracle, statistics known) and
``NeuralGridPosterior(grid, n, kind="vector").fit(x).posterior(x, average=False)`` (statistics
learned), each into ``fit_log_partition(post, grid)``. Target: normalised RMSE of every
metric component (RMSE over the grid / standard deviation of the exact component) ≤ 0.10 for
the oracle and ≤ 0.35 for the neural route, with no degenerate-posterior warning.

Measured (seed 0): oracle 0.010 / 0.036 / 0.105 on an AMD EPYC, 0.017 / 0.055 / 0.138 on an
Intel Xeon with MKL's AVX2 mode (the suite's setting; 0.149 in the third component under MKL's
AUTO mode: a loss near zero leaves the last digits to rounding, docs/geometry_fitting.md,
"Reproducibility across CPUs") — the regression bound below is 0.15 and the 0.10 target is an
expected failure. The neural route (logits head, the default) gives 0.35 / 0.33 / 0.50 on the
Intel machine — an expected failure too (docs/geometry_fitting.md, "Defaults and
diagnostics"). With ``head="exponential_family"`` (the head whose output has exactly the form
the fit models) the neural route gives 0.19–0.20 / 0.22–0.26 / 0.38–0.41 (seeds 0, 1, AMD) and
0.18 / 0.21 / 0.37 (seed 0, Intel, AVX2 mode); its test bounds it at 0.5.

Where the misses sit: the last column of cells, θ₂ = −0.3, where g[θ₂,θ₂] = 4μ²σ² + 2σ⁴ grows
like |θ₂|⁻³ and rises 1.6–2.0-fold within the last cell. A second difference of the *exact* Φ on
the grid, extrapolated linearly to the edge cells, scores 0.21 on the whole grid and 0.04 on the
cells one or more cells in from the edge. On those inner cells the oracle scores 0.01 / 0.01 /
0.01, the exponential-family head 0.17 / 0.09 / 0.19 and the logits head 0.39 / 0.16 / 0.29
(Intel, AVX2 mode): inside the grid the oracle and the exponential-family head meet the 0.10 and
0.35 targets; their full-grid misses are the grid's resolution at its edge.
"""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from statgeo.geometry import (  # noqa: E402
    DegeneratePosteriorWarning,
    NeuralGridPosterior,
    exact_posterior,
    fit_log_partition,
)
from statgeo.grid import ParameterGrid  # noqa: E402

N_SIDE, N_SAMPLES, BUNDLE = 16, 64, 16


def gaussian_phi(t: np.ndarray) -> np.ndarray:
    return -t[..., 0] ** 2 / (4 * t[..., 1]) - 0.5 * np.log(-2 * t[..., 1])


def gaussian_metric(t: np.ndarray) -> np.ndarray:
    """∇²Φ in closed form: Cov[(x, x²)] of N(μ, σ²) with μ = −θ₁/(2θ₂), σ² = −1/(2θ₂)."""
    mu, var = -t[..., 0] / (2 * t[..., 1]), -1.0 / (2 * t[..., 1])
    g = np.empty(t.shape[:-1] + (2, 2))
    g[..., 0, 0] = var
    g[..., 0, 1] = g[..., 1, 0] = 2 * mu * var
    g[..., 1, 1] = 4 * mu ** 2 * var + 2 * var ** 2
    return g


@pytest.fixture(scope="module")
def family():
    torch.set_num_threads(1)
    grid = ParameterGrid.from_ranges(theta1=(-1.0, 1.0, N_SIDE), theta2=(-1.5, -0.3, N_SIDE))
    t = grid.natural_points()
    mu, sd = -t[:, 0] / (2 * t[:, 1]), np.sqrt(-1.0 / (2 * t[:, 1]))
    x = np.random.default_rng(0).normal(mu[:, None], sd[:, None], size=(grid.size, N_SAMPLES))[..., None]
    return grid, t, x


def interior() -> np.ndarray:
    """The cells at least one cell in from the grid's edge (flat, in the grid's point order)."""
    inside = np.zeros((N_SIDE, N_SIDE), bool)
    inside[1:-1, 1:-1] = True
    return inside.ravel()


def component_nrmse(g_fit: np.ndarray, g_ref: np.ndarray) -> list[float]:
    out = []
    for i, j in ((0, 0), (0, 1), (1, 1)):
        err = g_fit[:, i, j] - g_ref[:, i, j]
        out.append(float(np.sqrt(np.mean(err ** 2)) / g_ref[:, i, j].std()))
    return out


def test_closed_form_metric_is_the_hessian_of_phi(family):
    """The reference itself: finite differences of Φ agree with the closed-form metric."""
    _, t, _ = family
    h = 1e-4
    g = gaussian_metric(t)
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            fd = (gaussian_phi(t + ei + ej) - gaussian_phi(t + ei - ej) - gaussian_phi(t - ei + ej)
                  + gaussian_phi(t - ei - ej)) / (4 * h * h)
            np.testing.assert_allclose(fd, g[:, i, j], rtol=1e-5, atol=1e-6)


def test_the_grid_cannot_resolve_the_metric_at_its_edge(family):
    """Why the full-grid target is hard at θ₂ = −0.3: even the exact Φ, read on the grid's cells,
    gives g[θ₂,θ₂] to 0.04 inside but ≥ 0.15 with the edge cells extrapolated linearly (measured
    0.21), since g[θ₂,θ₂] grows 1.6–2.0-fold within the last cell."""
    grid, t, _ = family
    phi = gaussian_phi(t).reshape(N_SIDE, N_SIDE)
    h = float(np.diff(grid.axes[1].values)[0])
    d2 = np.empty_like(phi)
    d2[:, 1:-1] = (phi[:, 2:] - 2 * phi[:, 1:-1] + phi[:, :-2]) / h ** 2
    d2[:, 0], d2[:, -1] = 2 * d2[:, 1] - d2[:, 2], 2 * d2[:, -2] - d2[:, -3]
    g_ref = gaussian_metric(t)[:, 1, 1]
    err = d2.ravel() - g_ref
    inside = interior()
    assert np.sqrt(np.mean(err ** 2)) / g_ref.std() >= 0.15
    assert np.sqrt(np.mean(err[inside] ** 2)) / g_ref[inside].std() <= 0.05
    g_cols = g_ref.reshape(N_SIDE, N_SIDE)
    assert np.all(g_cols[:, -1] >= 1.5 * g_cols[:, -2])


@pytest.fixture(scope="module")
def oracle_errors(family):
    grid, t, x = family
    stats = np.concatenate([x, x ** 2], -1)
    post = exact_posterior(stats, grid, gaussian_phi(t), BUNDLE, seed=1, average=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegeneratePosteriorWarning)
        pot = fit_log_partition(post, grid, progress=False)
    return pot, component_nrmse(pot.metric(t), gaussian_metric(t))


def test_oracle_meets_the_target_inside_the_grid(family, oracle_errors):
    """On the cells one or more cells in from the edge the oracle meets the 0.10 target with room
    (measured 0.01 / 0.01 / 0.01; bound 0.05)."""
    _, t, _ = family
    pot, _ = oracle_errors
    inside = interior()
    err = component_nrmse(pot.metric(t[inside]), gaussian_metric(t[inside]))
    assert max(err) <= 0.05, err


def test_oracle_with_defaults(oracle_errors):
    pot, err = oracle_errors
    assert max(err) <= 0.15, err
    assert pot.diagnostics["training"]["fraction_trained"] > 0
    assert pot.diagnostics["warnings"] == []


@pytest.mark.xfail(strict=True, reason="target 0.10 not met: g[2,2] measured 0.105–0.149 depending on the CPU (module docstring)")
def test_oracle_meets_the_target(oracle_errors):
    _, err = oracle_errors
    assert max(err) <= 0.10, err


def neural_route(family, **options):
    """The documented learned path with defaults: network → one row per bundle → fit (no warning allowed)."""
    grid, t, x = family
    ng = NeuralGridPosterior(grid, BUNDLE, kind="vector", seed=0, **options).fit(x, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegeneratePosteriorWarning)
        post = ng.posterior(x, average=False)
        pot = fit_log_partition(post, grid, progress=False)
    return post, pot, component_nrmse(pot.metric(t), gaussian_metric(t))


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the neural route with the logits head misses the 0.35 target (0.35 / 0.33 / 0.50 on an Intel Xeon; module docstring)")
def test_neural_route_with_defaults(family):
    post, pot, err = neural_route(family)
    assert max(err) <= 0.35, err
    assert post.attrs["output_kernel"] == "gaussian_bump"
    assert pot.config["target_smoothing"] is True


@pytest.mark.slow
def test_neural_route_with_the_exponential_family_head(family):
    """The same path with ``head="exponential_family"`` (every other setting default).

    The head's output has exactly the posterior form the fit models (docs/geometry_fitting.md,
    "The exponential-family head"). Measured (seeds 0 / 1): 0.19 / 0.22 / 0.41 and
    0.20 / 0.26 / 0.38, against 0.38 / 0.36 / 0.52 with the logits head; the 0.35 target is
    still not met on the third component. Bound: 0.5 on each component, below the logits
    head's worst."""
    post, pot, err = neural_route(family, head="exponential_family")
    assert max(err) <= 0.5, err
    _, t, _ = family
    inside = interior()
    err_inside = component_nrmse(pot.metric(t[inside]), gaussian_metric(t[inside]))
    assert max(err_inside) <= 0.35, err_inside  # the neural target, inside the grid (0.17 / 0.09 / 0.19)
    assert "output_kernel" not in post.attrs and pot.config["target_smoothing"] is False


def test_degenerate_posterior_warns(family):
    """A grid far coarser than the posterior (spikes at one cell) warns instead of passing silently."""
    grid, t, x = family
    stats = np.concatenate([x, x ** 2], -1)
    post = exact_posterior(stats, grid, gaussian_phi(t), N_SAMPLES, seed=1, average=False, temperature=4096.0)
    with pytest.warns(DegeneratePosteriorWarning, match="grid cells"):
        fit_log_partition(post, grid, max_steps=10, progress=False)
