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
expected failure; the neural route 0.38 / 0.36 / 0.52 on the AMD machine and 0.35 / 0.33 / 0.50
on the Intel one while the fit stopped early, 0.71 / 0.65 / 0.69 on the Intel one now that it
uses its budget (the logits head's posteriors are not of the form the fit models, and fitting
them to the end fits their deviations too) — an
expected failure too (docs/geometry_fitting.md, "Defaults and diagnostics"). With
``head="exponential_family"`` (the head whose output has exactly the form the fit models) the
neural route gives 0.19–0.20 / 0.22–0.26 / 0.38–0.41 (seeds 0, 1, AMD) and 0.18–0.20 /
0.20–0.21 / 0.36–0.37 (seed 0, Intel, AVX2 and AUTO modes); its test bounds it at 0.5.
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


@pytest.fixture(scope="module")
def oracle_errors(family):
    grid, t, x = family
    stats = np.concatenate([x, x ** 2], -1)
    post = exact_posterior(stats, grid, gaussian_phi(t), BUNDLE, seed=1, average=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegeneratePosteriorWarning)
        pot = fit_log_partition(post, grid, progress=False)
    return pot, component_nrmse(pot.metric(t), gaussian_metric(t))


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
@pytest.mark.xfail(strict=True, reason="the neural route on this family misses the 0.35 target (0.65–0.71 per component on an Intel Xeon; module docstring)")
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
    assert "output_kernel" not in post.attrs and pot.config["target_smoothing"] is False


def test_degenerate_posterior_warns(family):
    """A grid far coarser than the posterior (spikes at one cell) warns instead of passing silently."""
    grid, t, x = family
    stats = np.concatenate([x, x ** 2], -1)
    post = exact_posterior(stats, grid, gaussian_phi(t), N_SAMPLES, seed=1, average=False, temperature=4096.0)
    with pytest.warns(DegeneratePosteriorWarning, match="grid cells"):
        fit_log_partition(post, grid, max_steps=10, progress=False)
