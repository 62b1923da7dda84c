"""Bad input to the entry points of :mod:`statgeo.geometry`, and regressions from the user survey.

See tests/bad_input.py for the property every entry point must have: a bad value in any one
argument is refused with ``TypeError``/``ValueError`` naming the argument, before allocating anything. The
objects whose methods are tested are built once, here, with tiny valid arguments.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from hypothesis import strategies as st

from statgeo import coordinates as cm
from statgeo.geometry import (
    AnalyticPotential,
    Bernoulli,
    FittedPotential,
    Gaussian1D,
    GaussianFixedCov,
    GridPotential,
    MultivariateGaussian,
    NeuralGridPosterior,
    Poisson,
    fit_alignment,
    gaussian_target_kernel,
    posterior_diagnostics,
    train_loop,
    as_metric_fn,
    average_per_origin,
    boundary_distance,
    boundary_score,
    bregman_divergence,
    bregman_matrix,
    bregman_matrix_from_grid,
    bundle_sums,
    check_grid,
    check_origins,
    check_metric,
    check_posterior,
    christoffel_symbols,
    compare_with_straight,
    covariance_metric,
    cut_bundles,
    discrete_energy,
    exact_likelihood_posterior,
    exact_posterior,
    exponential_map,
    extract_boundaries,
    plus_pattern_frequencies,
    fd_gradient,
    fd_hessian_from_values,
    fd_jacobian,
    feature_kernel_posterior,
    fit_log_partition,
    fit_log_partition_split,
    SplitPotential,
    detect_first_order_line,
    FirstOrderLine,
    gaussian_curvature,
    gaussian_statistic_metric,
    geodesic_bvp,
    geodesic_distance,
    grid_gradient,
    grid_hessian,
    hessian_defect,
    hessian_metric,
    observed_information_metric,
    kernel_effective_temperature,
    label_from_attrs,
    mean_jacobian,
    metric_derivatives,
    metric_on_grid,
    path_length,
    plot_boundaries,
    plot_geodesics,
    plot_metric,
    plot_reference_vs_reconstruction,
    posterior_dataarray,
    posterior_kl,
    posterior_moments,
    potential_from_metric,
    pull_back,
    recorded_grid_mismatch,
    select_kernel_temperature,
    splat_matrix,
    statistic_metric,
    statistic_metric_on_grid,
    statistic_moments,
    third_derivative,
    volume_element,
    width_effective_temperature,
)
from statgeo.geometry.geodesic import MAX_ITERATIONS, MAX_PATH_POINTS
from statgeo.geometry.logpartition import MAX_STEPS
from statgeo.geometry.posterior_neural import MAX_WIDTH as NEURAL_MAX_WIDTH
from statgeo.grid import ParameterGrid
from tests.bad_input import (
    EntryPoint,
    bad_array,
    bad_choice,
    bad_int,
    bad_real,
    not_an_int,
    refused,
    registry_tests,
    wrong_type,
)

torch = pytest.importorskip("torch")

from statgeo.geometry.potential_networks import MAX_DEPTH, MAX_WIDTH, build_model  # noqa: E402

# ----------------------------------------------------------------------------- tiny valid objects
GRID = ParameterGrid.from_ranges(t1=(1.0, 2.0, 4), t2=(1.0, 2.0, 3))  # Poisson pair, 12 cells
OTHER_GRID = ParameterGrid.from_ranges(t1=(1.0, 3.0, 4), t2=(1.0, 2.0, 3))  # same shape, other values
LINE_GRID = ParameterGrid.from_ranges(t=(1.0, 2.0, 5))
ONE_POINT_GRID = ParameterGrid.from_ranges(t1=(1.0, 2.0, 4), t2=(1.0, 1.0, 1))
HUGE_GRID = ParameterGrid.from_ranges(t1=(1.0, 2.0, 4096), t2=(1.0, 2.0, 4096))  # 2²⁴ cells: (cells, cells) is 2 PiB
T = GRID.natural_points()
PHI = np.exp(T).sum(1)
X = np.random.default_rng(0).poisson(np.exp(T)[:, None, :], size=(GRID.size, 8, 2)).astype(float)
POST = exact_posterior(X, GRID, PHI, 4, seed=1)
POST_ROWS = exact_posterior(X, GRID, PHI, 4, seed=1, average=False)  # one row per bundle
FEATS = X.reshape(-1, 2) + 0.1 * np.random.default_rng(1).normal(size=(GRID.size * 8, 2))
LOCS = np.repeat(GRID.points(), 8, axis=0)
METRIC_T = np.zeros((GRID.size, 2, 2))
METRIC_T[:, 0, 0], METRIC_T[:, 1, 1] = np.exp(T[:, 0]), np.exp(T[:, 1])
METRIC_G = METRIC_T.reshape(GRID.shape + (2, 2))

GAUSS, POIS, BERN = Gaussian1D(), Poisson(), Bernoulli()
FIXED = GaussianFixedCov([[2.0, 0.3], [0.3, 1.0]])
MVG = MultivariateGaussian(2)
MV_T = np.array([0.0, 0.0, 1.0, 1.0, 0.0])  # η = 0, Λ = I
AP = AnalyticPotential(lambda t: 0.5 * (t ** 2).sum(-1), ndim=2)
AXIS5, AXIS4 = np.linspace(0.0, 1.0, 5), np.linspace(0.0, 1.0, 4)
GP = GridPotential([AXIS5, AXIS4], np.add.outer(AXIS5 ** 2, AXIS4 ** 2))
FR = Gaussian1D.fisher_rao_metric
EUCLID = lambda p: np.broadcast_to(np.eye(2), np.shape(p)[:-1] + (2, 2))  # noqa: E731
ZERO_METRIC = lambda p: np.zeros(np.shape(p)[:-1] + (2, 2))  # noqa: E731
INDEFINITE = lambda p: np.broadcast_to(np.diag([1.0, -1.0]), np.shape(p)[:-1] + (2, 2))  # noqa: E731
NAN_METRIC = lambda p: np.full(np.shape(p)[:-1] + (2, 2), np.nan)  # noqa: E731
FP = FittedPotential(build_model("icnn", 2, 1.0, width=4, depth=1), [1.5, 1.5], [0.5, 0.5], 2.0, ("t1", "t2"))
SPLIT = {"lower": AP, "upper": AP, "axis": 0, "at": 1.5, "offset": 0.0, "slope": [0.0, 0.0], "natural_names": ("t1", "t2")}
SP = SplitPotential(**SPLIT)
#: a found first-order line (a result record), for its extent method
FOUND_LINE = FirstOrderLine(found=True, axis="t1", at=1.5, wall_rows=5, reaching_rows=5, wall_centres=np.full((5, 2), 1.5),
                            natural_names=("t1", "t2"), votes={})
MODULE = build_model("icnn", 2, 1.0, width=4, depth=1)
X_VEC = X.astype(np.float32)  # (cells, samples, 2): "vector" samples for the neural posterior
NGP = NeuralGridPosterior(GRID, 2, kind="vector", hidden=4, seed=0).fit(X_VEC, steps=2, eval_every=1,
                                                                        progress=False)
NGP_FIT = NeuralGridPosterior(GRID, 2, kind="vector", hidden=4, seed=0)
BUNDLES = X_VEC[:3, :2]  # (3 bundles, n = 2, sample shape (2,))
MAP_YX = xr.DataArray(np.ones((3, 4)), dims=("y", "x"), coords={"y": [0.0, 1.0, 2.0], "x": [0.0, 1.0, 2.0, 3.0]})
METRIC_DA = xr.DataArray(np.broadcast_to(np.eye(2), (3, 4, 2, 2)).copy(), dims=("y", "x", "i", "j"),
                         coords={"y": [0.0, 1.0, 2.0], "x": [0.0, 1.0, 2.0, 3.0], "i": ["a", "b"], "j": ["a", "b"]})
SCORE = np.zeros((9, 9))
SCORE[4, :] = 5.0
LINE = lambda s: np.stack([s, np.zeros_like(s)], -1)  # noqa: E731

_DS = xr.Dataset(
    {"statistics": (("t1", "t2", "sample", "stat"), X.reshape(GRID.shape + (8, 2))),
     "log_partition": (("t1", "t2"), PHI.reshape(GRID.shape)),
     "features": (("t1", "t2", "sample", "feat"), FEATS.reshape(GRID.shape + (8, 2))),
     "metric": (("t1", "t2", "i", "j"), METRIC_G),
     "posterior": POST},
    coords={"i": ["t1", "t2"], "j": ["t1", "t2"]})
DS = GRID.attach(_DS)
ACC = DS.statgeo


def _closed(fn):
    """Call a plotting function and close its figure (the registry makes many)."""

    def call(**kw):
        fig = fn(**kw)
        plt.close(fig)
        return fig

    return call


# ----------------------------------------------------------------------------- strategies
def _not_none(s: st.SearchStrategy) -> st.SearchStrategy:
    """``s`` without None, for arguments where None is a valid value."""
    return s.filter(lambda v: v is not None)


def bad_points(d: int, *, extra: tuple = ()) -> st.SearchStrategy:
    """Bad one-point arrays of shape (d,): NaN/inf, strings, wrong last dimension, 0-d, wrong types."""
    return st.one_of(bad_array((d,)), wrong_type(), st.just(np.ones(d + 1)), st.just(np.float64(1.0)),
                     st.sampled_from(list(extra) or [[["a"] * d]]))


def bad_batch(shape: tuple[int, ...], *, extra: tuple = ()) -> st.SearchStrategy:
    """Bad (n, d) arrays: NaN/inf, strings, a wrong last dimension, wrong types."""
    wrong_last = np.ones(shape[:-1] + (shape[-1] + 1,))
    return st.one_of(bad_array(shape, allow_wrong_shape=False), wrong_type(), st.just(wrong_last),
                     st.sampled_from(list(extra) or [wrong_last]))


def bad_word(valid: tuple[str, ...]) -> st.SearchStrategy:
    """Strings that are not among ``valid`` (for arguments that also take numbers)."""
    return st.text(min_size=0, max_size=8).filter(lambda s: s not in valid)


bad_seed = st.sampled_from([-1, 1.5, "0", True, [1, 2], object(), None])
bad_bool = st.sampled_from([1, 0, "yes", None, 2.5])
bad_progress = st.sampled_from([1, "yes", 2.5, [True]])
bad_fd_step = _not_none(bad_real(low=0.0, high=1.0, low_inclusive=False, high_inclusive=False))
bad_positive = bad_real(low=0.0, low_inclusive=False)
bad_nonneg = bad_real(low=0.0)
not_callable = wrong_type()
bad_source = st.one_of(wrong_type(), st.just(3.5))
bad_grid = st.one_of(wrong_type(), st.just(ONE_POINT_GRID))
bad_posterior = st.one_of(wrong_type(), st.sampled_from([np.full((12, 12), 1 / 12), POST * 2.0, POST.isel(cell=slice(0, 6)),
                                                          POST.rename(origin="row"), POST.where(POST < 0.5)]))
bad_samples_fit = st.one_of(wrong_type(), bad_array(X_VEC.shape, allow_wrong_shape=False),
                            st.sampled_from([X_VEC[:5], X_VEC[:, :, None], X_VEC[:, :0], X_VEC[..., :0]]))
bad_samples_vec = st.one_of(bad_samples_fit, st.just(X_VEC[..., :1]))  # a trained network fixes the sample shape
any_t = st.one_of(bad_array((1, 2), allow_wrong_shape=False), wrong_type(), st.just(np.float64(1.0)))
huge_count = st.integers(min_value=10**12, max_value=10**15)


def _family_entries(name: str, fam, t, *, domain=(), sample_extra=()) -> list[EntryPoint]:
    """EntryPoints of the Potential methods and ``sample``/``kl`` of one family."""
    d = len(t)
    bad_t = bad_points(d, extra=domain)
    out = [EntryPoint(f"statgeo.geometry.{name}.{m}", getattr(fam, m), {"t": t}, {"t": bad_t})
           for m in ("log_partition", "gradient", "hessian", "third_derivative", "from_natural")]
    out.append(EntryPoint(f"statgeo.geometry.{name}.kl", fam.kl, {"t_from": t, "t_to": t},
                          {"t_from": bad_t, "t_to": bad_t}))
    out.append(EntryPoint(f"statgeo.geometry.{name}.sample", fam.sample, {"t": t, "n": 3, "seed": 0},
                          {"t": st.one_of(bad_t, st.just(np.stack([t, t]))), "n": st.one_of(bad_int(min=1), huge_count),
                           "seed": bad_seed}))
    return out


# ----------------------------------------------------------------------------- the registry
ENTRY_POINTS = [
    # ---- potentials and finite differences
    EntryPoint("statgeo.geometry.AnalyticPotential", AnalyticPotential, {"value": lambda t: (t ** 2).sum(-1)},
               {"value": not_callable, "gradient": _not_none(not_callable), "hessian": _not_none(not_callable),
                "third_derivative": _not_none(not_callable), "fd_step": bad_fd_step,
                "ndim": _not_none(bad_int(min=1))}),
    *[EntryPoint(f"statgeo.geometry.AnalyticPotential.{m}", getattr(AP, m), {"t": [0.3, -0.2]}, {"t": bad_points(2)})
      for m in ("value", "gradient", "hessian", "third_derivative")],
    EntryPoint("statgeo.geometry.GridPotential", GridPotential,
               {"grid_axes_values": [AXIS5, AXIS4], "values": np.ones((5, 4))},
               {"grid_axes_values": st.sampled_from([3, "ab", [], [AXIS5[::-1], AXIS4], [AXIS5[:2], AXIS4],
                                                     [np.full(5, np.nan), AXIS4], [AXIS5, [["a"] * 4]],
                                                     [np.ones((5, 2)), AXIS4], [np.arange(2.0e6), AXIS4]]),
                "values": st.one_of(bad_array((5, 4)), wrong_type()),
                "degree": bad_int(min=1, max=5), "extrapolate": bad_bool},
               message={"grid_axes_values": ("grid_axes_values",), "values": ("values",)}),
    *[EntryPoint(f"statgeo.geometry.GridPotential.{m}", getattr(GP, m), {"t": [0.5, 0.5]},
                 {"t": bad_points(2, extra=([5.0, 0.5], [0.5, -1.0]))})
      for m in ("value", "gradient", "hessian", "third_derivative")],
    EntryPoint("statgeo.geometry.fd_jacobian", fd_jacobian, {"func": np.sin, "t": [[0.3, 0.4]]},
               {"func": not_callable, "t": any_t, "rel_step": bad_fd_step,
                "out_rank": _not_none(bad_int(min=0))}),
    EntryPoint("statgeo.geometry.fd_gradient", fd_gradient, {"value": lambda t: (t ** 2).sum(-1), "t": [0.3, 0.4]},
               {"value": not_callable, "t": any_t, "rel_step": bad_fd_step}),
    EntryPoint("statgeo.geometry.fd_hessian_from_values", fd_hessian_from_values,
               {"value": lambda t: (t ** 2).sum(-1), "t": [0.3, 0.4]},
               {"value": not_callable, "t": any_t, "rel_step": bad_fd_step}),
    EntryPoint("statgeo.geometry.third_derivative", third_derivative, {"potential": GAUSS, "t": [0.0, -0.5]},
               {"potential": wrong_type(), "t": bad_points(2, extra=([0.0, 0.5],)), "rel_step": bad_fd_step},
               message={"t": ("t",)}),
    # ---- Bregman divergences
    EntryPoint("statgeo.geometry.bregman_divergence", bregman_divergence,
               {"potential": POIS, "t": [[0.5]], "t_prime": [[0.0]]},
               {"potential": wrong_type(), "t": bad_batch((1, 1)), "t_prime": bad_batch((1, 1))}),
    EntryPoint("statgeo.geometry.bregman_matrix", bregman_matrix,
               {"potential": POIS, "points": [[0.0], [0.5]], "origins": [[0.0]]},
               {"potential": wrong_type(), "points": st.one_of(bad_array((2, 1)), wrong_type()),
                "origins": st.one_of(bad_array((1, 1)), wrong_type())}),
    EntryPoint("statgeo.geometry.bregman_matrix_from_grid", bregman_matrix_from_grid,
               {"grid_axes_values": [AXIS5], "values": AXIS5 ** 2},
               {"grid_axes_values": st.sampled_from([3, "ab", [], [AXIS5[::-1]], [AXIS5[:2]], [np.arange(2.0e6)]]),
                "values": st.one_of(bad_array((5,)), wrong_type()),
                "origins": st.one_of(bad_array((1, 1)), wrong_type(none=False), st.just([[5.0]])),
                "degree": bad_int(min=1, max=5)},
               message={"origins": ("origins", "grid box"), "values": ("values",)}),
    # ---- closed-form families (ExponentialFamily.value/mean_parameters are inherited, tested on Bernoulli)
    EntryPoint("statgeo.geometry.ExponentialFamily.value", BERN.value, {"t": [0.3]}, {"t": bad_points(1)}),
    EntryPoint("statgeo.geometry.ExponentialFamily.mean_parameters", BERN.mean_parameters, {"t": [0.3]},
               {"t": bad_points(1)}),
    *_family_entries("Gaussian1D", GAUSS, np.array([0.0, -0.5]), domain=([0.0, 0.5], [1.0, 0.0])),
    EntryPoint("statgeo.geometry.Gaussian1D.sufficient_statistics", GAUSS.sufficient_statistics, {"x": [0.5, 1.0]},
               {"x": st.one_of(bad_array((2,), allow_wrong_shape=False), wrong_type())}),
    EntryPoint("statgeo.geometry.Gaussian1D.to_natural", GAUSS.to_natural, {"mu_sigma": [0.0, 1.0]},
               {"mu_sigma": bad_points(2, extra=([0.0, 0.0], [0.0, -1.0]))}),
    EntryPoint("statgeo.geometry.Gaussian1D.fisher_rao_metric", Gaussian1D.fisher_rao_metric, {"mu_sigma": [0.0, 1.0]},
               {"mu_sigma": bad_points(2, extra=([0.0, 0.0], [0.0, -1.0]))}),
    EntryPoint("statgeo.geometry.Gaussian1D.fisher_rao_distance", Gaussian1D.fisher_rao_distance,
               {"p0": [0.0, 1.0], "p1": [0.0, 3.0]},
               {"p0": bad_points(2, extra=([0.0, 0.0], [0.0, -1.0])), "p1": bad_points(2, extra=([0.0, -2.0],))}),
    EntryPoint("statgeo.geometry.GaussianFixedCov", GaussianFixedCov, {"cov": [[2.0, 0.3], [0.3, 1.0]]},
               {"cov": st.one_of(wrong_type(), st.sampled_from([np.ones((2, 3)), [[1.0, 2.0], [2.0, 1.0]],
                                                               [[1.0, 0.5], [0.0, 1.0]], [[np.nan, 0.0], [0.0, 1.0]],
                                                               np.zeros((0, 0)), -1.0]))}),
    *_family_entries("GaussianFixedCov", FIXED, np.array([0.2, -0.1])),
    EntryPoint("statgeo.geometry.GaussianFixedCov.sufficient_statistics", FIXED.sufficient_statistics,
               {"x": [0.5, 1.0]}, {"x": bad_points(2)}),
    EntryPoint("statgeo.geometry.GaussianFixedCov.to_natural", FIXED.to_natural, {"mean": [0.5, 1.0]},
               {"mean": bad_points(2)}),
    *_family_entries("Bernoulli", BERN, np.array([0.3])),
    EntryPoint("statgeo.geometry.Bernoulli.to_natural", BERN.to_natural, {"p": [0.3]},
               {"p": bad_points(1, extra=([0.0], [1.5], [-0.2]))}),
    *_family_entries("Poisson", POIS, np.array([0.3])),
    EntryPoint("statgeo.geometry.Poisson.to_natural", POIS.to_natural, {"lam": [2.0]},
               {"lam": bad_points(1, extra=([0.0], [-1.0]))}),
    EntryPoint("statgeo.geometry.MultivariateGaussian", MultivariateGaussian, {"dim": 2},
               {"dim": st.one_of(bad_int(min=1), st.integers(min_value=10**4, max_value=10**6))}),
    *_family_entries("MultivariateGaussian", MVG, MV_T, domain=([0.0, 0.0, -1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0, 2.0])),
    EntryPoint("statgeo.geometry.MultivariateGaussian.sufficient_statistics", MVG.sufficient_statistics,
               {"x": [0.5, 1.0]}, {"x": bad_points(2)}),
    EntryPoint("statgeo.geometry.MultivariateGaussian.to_natural", MVG.to_natural,
               {"mean": [0.0, 0.0], "cov": np.eye(2)},
               {"mean": bad_points(2),
                "cov": st.one_of(bad_array((2, 2)), wrong_type(),
                                 st.sampled_from([np.ones((3, 3)), [[1.0, 2.0], [2.0, 1.0]], np.zeros((2, 2))]))}),
    # Bernoulli and Poisson observations must lie in the support
    EntryPoint("statgeo.geometry.Bernoulli.sufficient_statistics", BERN.sufficient_statistics, {"x": [0.0, 1.0]},
               {"x": st.one_of(bad_array((2,), allow_wrong_shape=False), wrong_type(), st.just([0.5, 1.0]))}),
    EntryPoint("statgeo.geometry.Poisson.sufficient_statistics", POIS.sufficient_statistics, {"x": [0.0, 3.0]},
               {"x": st.one_of(bad_array((2,), allow_wrong_shape=False), wrong_type(), st.just([1.5, 1.0]),
                               st.just([-1.0]))}),
    # ---- metric, curvature, volume
    EntryPoint("statgeo.geometry.as_metric_fn", as_metric_fn, {"source": POIS}, {"source": bad_source},
               message={"source": ("source",)}),
    EntryPoint("statgeo.geometry.check_metric", check_metric, {"g": np.eye(2)},
               {"g": st.one_of(bad_array((2, 2)), wrong_type(), st.just([[1.0, 0.0], [0.0, -1.0]]), st.just([1.0])),
                "name": st.sampled_from([3, None, b"x"]), "positive_definite": bad_choice(("raise", "warn", "none"))},
               message={"g": ("metric",)}),
    EntryPoint("statgeo.geometry.hessian_metric", hessian_metric, {"potential": POIS, "points": [[0.0], [1.0]]},
               {"potential": wrong_type(), "points": bad_batch((2, 1)), "check": bad_choice(("raise", "warn", "none"))},
               message={"points": ("points",)}),
    EntryPoint("statgeo.geometry.covariance_metric", covariance_metric, {"statistics": [[0.0, 1.0], [2.0, 0.5], [1.0, 1.0]]},
               {"statistics": st.one_of(bad_array((3, 2), allow_wrong_shape=False), wrong_type(),
                                        st.sampled_from([np.ones(3), np.ones((1, 2)), np.ones((3, 0))])),
                "axis": st.one_of(not_an_int(), st.sampled_from([1, -1, 5, -7])),
                "ddof": st.one_of(bad_int(min=0), st.just(5))}),
    EntryPoint("statgeo.geometry.pull_back", pull_back, {"metric": np.eye(2), "jacobian": [[2.0, 0.0], [0.0, 1.0]]},
               {"metric": st.one_of(bad_array((2, 2)), wrong_type(), st.just(np.ones(2))),
                "jacobian": st.one_of(bad_array((2, 2), allow_wrong_shape=False), wrong_type(), st.just(np.ones((3, 2))),
                                      st.just(np.ones(2)))}),
    EntryPoint("statgeo.geometry.metric_derivatives", metric_derivatives, {"source": POIS, "points": [[0.0]]},
               {"source": bad_source, "points": bad_batch((1, 1)), "fd_step": bad_fd_step}),
    EntryPoint("statgeo.geometry.christoffel_symbols", christoffel_symbols, {"source": POIS, "points": [[0.0]]},
               {"source": st.one_of(bad_source, st.just(NAN_METRIC)), "points": bad_batch((1, 1)),
                "fd_step": bad_fd_step},
               message={"source": ("source", "metric")}),
    EntryPoint("statgeo.geometry.gaussian_curvature", gaussian_curvature, {"source": GAUSS, "points": [[0.0, -0.5]]},
               {"source": st.one_of(bad_source, st.just(INDEFINITE)),
                "points": bad_batch((1, 2), extra=([[0.0, 0.5]], [[0.0]])), "fd_step": bad_fd_step},
               message={"source": ("source", "metric"), "points": ("points", "t[", "2-D")}),
    EntryPoint("statgeo.geometry.volume_element", volume_element, {"metric": [[4.0, 0.0], [0.0, 1.0]]},
               {"metric": st.one_of(bad_array((2, 2)), wrong_type(), st.just(np.zeros((2, 2))),
                                    st.just([[1.0, 0.0], [0.0, -1.0]]))}),
    EntryPoint("statgeo.geometry.metric_on_grid", metric_on_grid, {"source": POIS, "grid_axes_values": [AXIS5]},
               {"source": bad_source,
                "grid_axes_values": st.sampled_from([3, "ab", [], [np.ones((2, 2))], [np.array([np.nan, 1.0])],
                                                     [[["a"]]], [np.arange(4.0e4), np.arange(4.0e4), np.arange(1e3)]]),
                "check": bad_choice(("raise", "warn", "none")), "like": st.sampled_from(["abc", {"a": 1}, object()])}),
    # ---- boundaries
    EntryPoint("statgeo.geometry.boundary_score", boundary_score, {"metric_grid": np.broadcast_to(np.eye(2), (4, 4, 2, 2))},
               {"metric_grid": st.one_of(bad_array((4, 4, 2, 2)), wrong_type(), st.just(np.eye(2))),
                "method": bad_choice(("max_eigenvalue", "trace", "det")),
                "normalise": bad_choice(("robust", "minmax", "none")), "mad_floor": bad_positive}),
    EntryPoint("statgeo.geometry.extract_boundaries", extract_boundaries,
               {"score": SCORE, "axes_values": [np.linspace(0, 1, 9)] * 2},
               {"score": st.one_of(bad_array((9, 9), allow_wrong_shape=False), wrong_type(), st.just(np.ones(9))),
                "axes_values": st.sampled_from([3, "ab", [np.linspace(0, 1, 9)], [np.linspace(0, 1, 8)] * 2,
                                                [np.linspace(1, 0, 9)] * 2, [[["a"]]] * 2]),
                # None is a valid threshold and prominence (the criterion is then not used)
                "threshold": bad_real().filter(lambda v: v is not None), "min_size": bad_int(min=1),
                "subcell": bad_bool, "prominence": bad_real(low=0.0).filter(lambda v: v is not None),
                "reach": bad_int(min=1)}),
    EntryPoint("statgeo.geometry.plus_pattern_frequencies", plus_pattern_frequencies,
               {"x": np.ones((2, 4, 4), dtype=np.int8), "chunk": 2},
               {"x": st.one_of(wrong_type(), st.just(np.ones(4)), st.just(np.ones((2, 0, 4))),
                               st.just(np.array([["a", "b"]]))),
                "chunk": bad_int(min=1)}),
    EntryPoint("statgeo.geometry.boundary_distance", boundary_distance,
               {"curves": [np.array([[0.5, 0.1], [0.6, 0.0]])], "true_curve_fn": LINE, "n_samples": 11},
               {"curves": st.sampled_from([3, "ab", [np.array([1.0, 2.0])], [np.array([[np.nan, 0.0]])], [[["a", "b"]]],
                                           [np.zeros((0, 2))], [None]]),
                "true_curve_fn": st.sampled_from(["ab", None, np.array([1.0, 2.0]), np.full((3, 2), np.nan), [["a"]]]),
                "n_samples": st.one_of(bad_int(min=2), huge_count),
                "scale": st.sampled_from(["a", [0.0, 1.0], [1.0], [np.nan, 1.0], {"a": 1}]),
                "within": bad_real(low=0.0, low_inclusive=False)},
               message={"curves": ("curves",), "true_curve_fn": ("true_curve_fn",)}),
    # ---- geodesics
    EntryPoint("statgeo.geometry.discrete_energy", discrete_energy, {"metric_fn": EUCLID, "path": [[0.0, 0.0], [1.0, 0.0]]},
               {"metric_fn": st.one_of(bad_source, st.just(NAN_METRIC)),
                "path": st.one_of(bad_array((2, 2)), wrong_type(), st.just([[0.0, 0.0]])),
                "gradient": bad_bool, "fd_step": bad_fd_step},
               message={"metric_fn": ("metric_fn", "metric")}),
    EntryPoint("statgeo.geometry.geodesic_bvp", geodesic_bvp,
               {"metric_fn": FR, "start": [-1.0, 1.0], "end": [1.0, 1.0], "n_points": 8, "max_iter": 50},
               {"metric_fn": st.one_of(bad_source, st.sampled_from([INDEFINITE, NAN_METRIC])),
                "start": bad_points(2), "end": bad_points(2, extra=([-1.0, 1.0],)),
                "n_points": st.one_of(bad_int(min=3, max=MAX_PATH_POINTS)),
                "method": bad_choice(("L-BFGS-B", "BFGS", "CG")), "tol": _not_none(bad_positive),
                "max_iter": bad_int(min=1, max=MAX_ITERATIONS),
                "bounds": st.sampled_from([3, "ab", [(0.0, 1.0)], [(0.0, 1.0), (1.0, 0.0)], [(0.0,), (0.0, 1.0)],
                                           [("a", None), (None, None)], [(np.nan, None), (None, None)]]),
                "init": st.one_of(_not_none(wrong_type()), st.sampled_from([np.ones((3, 2)), np.full((8, 2), np.nan)])),
                "fd_step": bad_fd_step, "reparametrise": bad_bool},
               message={"metric_fn": ("metric_fn", "metric"), "end": ("end", "differ")}),
    EntryPoint("statgeo.geometry.geodesic_distance", geodesic_distance,
               {"metric_fn": FR, "start": [0.0, 1.0], "end": [0.0, 2.0], "n_points": 8},
               {"metric_fn": bad_source, "start": bad_points(2), "end": bad_points(2),
                "n_points": bad_int(min=3, max=MAX_PATH_POINTS)}),
    EntryPoint("statgeo.geometry.exponential_map", exponential_map,
               {"source": FR, "start": [0.0, 1.0], "velocity": [0.0, 0.5], "n_steps": 4},
               {"source": bad_source, "start": bad_points(2), "velocity": bad_points(2),
                "t": bad_positive, "n_steps": bad_int(min=1, max=MAX_ITERATIONS),
                "kind": bad_choice(("auto", "christoffel", "metric")), "method": bad_choice(("DOP853", "RK45")),
                "rtol": bad_positive, "atol": bad_positive}),
    EntryPoint("statgeo.geometry.path_length", path_length, {"metric_fn": EUCLID, "path": [[0.0, 0.0], [3.0, 4.0]]},
               {"metric_fn": st.one_of(bad_source, st.sampled_from([INDEFINITE, NAN_METRIC])),
                "path": st.one_of(bad_array((2, 2)), wrong_type(), st.just([[0.0, 0.0]])),
                "rule": bad_choice(("midpoint", "simpson"))},
               message={"metric_fn": ("metric_fn", "metric")}),
    EntryPoint("statgeo.geometry.compare_with_straight", compare_with_straight,
               {"metric_fn": EUCLID, "path": [[0.0, 0.0], [0.5, 0.5], [1.0, 0.0]]},
               {"metric_fn": st.one_of(bad_source, st.just(ZERO_METRIC)),
                "path": st.one_of(bad_array((3, 2)), wrong_type(), st.just([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]))},
               message={"metric_fn": ("metric_fn", "metric")}),
    # ---- posteriors
    EntryPoint("statgeo.geometry.check_grid", check_grid, {"grid": GRID},
               {"grid": bad_grid, "name": st.sampled_from([3, None, b"x"])}),
    EntryPoint("statgeo.geometry.check_origins", check_origins, {"origins": [0, 11], "grid": GRID},
               {"origins": st.one_of(st.sampled_from([[], [12], [-1], [0.5], "ab", b"1", [[0, 1]], None]),
                                     st.lists(st.integers(12, 10**6), min_size=1, max_size=4)),
                "grid": wrong_type(), "name": st.sampled_from([3, None, b"x"])}),
    EntryPoint("statgeo.geometry.recorded_grid_mismatch", recorded_grid_mismatch, {"obj": POST, "grid": GRID},
               {"obj": st.one_of(wrong_type(), st.just(POST.assign_attrs(grid="{not json"))), "grid": wrong_type()},
               message={"obj": ("obj",)}),
    EntryPoint("statgeo.geometry.posterior_dataarray", posterior_dataarray,
               {"probs": np.full((2, 12), 1 / 12), "grid": GRID, "origin_index": [0, 5], "estimator": "x",
                "n_per_bundle": 2, "effective_temperature": 1.0},
               {"probs": st.one_of(bad_array((2, 12)), wrong_type(), st.sampled_from([np.ones((2, 12)),
                                                                                      -np.full((2, 12), 1 / 12)])),
                "grid": st.one_of(wrong_type(), st.just(LINE_GRID)),
                "origin_index": st.one_of(wrong_type(), st.sampled_from([[0.5, 1.0], [0], [0, 12], [-1, 0]])),
                "estimator": st.sampled_from([3, None, b"x"]), "n_per_bundle": bad_int(min=1),
                "effective_temperature": bad_positive, "attrs": st.sampled_from([3, "ab", [1, 2]])},
               message={"grid": ("grid", "probs")}),
    EntryPoint("statgeo.geometry.check_posterior", check_posterior, {"posterior": POST, "grid": GRID},
               {"posterior": bad_posterior, "grid": st.one_of(_not_none(bad_grid), st.just(OTHER_GRID)),
                "atol": bad_nonneg},
               message={"posterior": ("posterior",), "grid": ("grid",)}),
    EntryPoint("statgeo.geometry.posterior_moments", posterior_moments, {"posterior": POST, "grid": GRID},
               {"posterior": bad_posterior, "grid": st.one_of(bad_grid, st.just(OTHER_GRID)), "natural": bad_bool}),
    EntryPoint("statgeo.geometry.posterior_kl", posterior_kl, {"p": POST, "q": POST},
               {"p": st.one_of(wrong_type(), st.sampled_from([POST.isel(cell=slice(0, 6)), POST.where(POST < 0.5),
                                                             -POST, POST.rename(origin="row")])),
                "q": st.one_of(wrong_type(), st.sampled_from([POST.isel(cell=slice(0, 6)), POST.where(POST < 0.5),
                                                             -POST])),
                "eps": bad_real(low=0.0, high=1.0, low_inclusive=False)},
               message={"p": ("p ", "p must", "p and q"), "q": ("q ", "q must", "p and q")}),
    EntryPoint("statgeo.geometry.exact_likelihood_posterior", exact_likelihood_posterior,
               {"stat_sums": [[3.0]], "n": 3, "log_partition_on_grid": [1.0, 2.7], "grid_natural_points": [[0.0], [1.0]]},
               {"stat_sums": st.one_of(bad_array((1, 1), allow_wrong_shape=False), wrong_type(), st.just([[1.0, 2.0]])),
                "n": bad_int(min=1),
                "log_partition_on_grid": st.one_of(bad_array((2,)), wrong_type(), st.just([1.0])),
                "grid_natural_points": st.one_of(bad_array((2, 1)), wrong_type(), st.just([[0.0]]),
                                                 st.just(np.array([[0], [1]]))),
                "temperature": _not_none(bad_positive)},
               message={"grid_natural_points": ("grid_natural_points",), "stat_sums": ("stat_sums",)}),
    EntryPoint("statgeo.geometry.exact_posterior", exact_posterior,
               {"statistics": X, "grid": GRID, "log_partition": PHI, "n": 4},
               {"statistics": st.one_of(bad_array(X.shape, allow_wrong_shape=False), wrong_type(),
                                        st.sampled_from([X[:5], X[..., :1], xr.DataArray(X, dims=("a", "b", "c"))])),
                "grid": st.one_of(bad_grid, st.just(HUGE_GRID)),
                "log_partition": st.one_of(wrong_type(), bad_array((12,), allow_wrong_shape=False),
                                           st.sampled_from([PHI[:5], lambda t: np.full(len(t), np.nan)])),
                "n": st.one_of(bad_int(min=1), st.integers(min_value=9, max_value=10**12)),
                "average": bad_bool, "temperature": _not_none(bad_positive), "seed": _not_none(bad_seed),
                "origins": st.sampled_from([[], [12], [-1], [0.5], "ab", [[0, 1]]])},
               message={"grid": ("grid", "statistics")}),
    EntryPoint("statgeo.geometry.cut_bundles", cut_bundles, {"samples": np.arange(12.0).reshape(2, 6), "n": 3},
               {"samples": st.one_of(wrong_type(), st.sampled_from([np.ones(6), np.ones((0, 6)), np.array([["a"]])])),
                "n": st.one_of(bad_int(min=1), st.integers(min_value=7, max_value=10**12)),
                "seed": _not_none(bad_seed)}),
    EntryPoint("statgeo.geometry.bundle_sums", bundle_sums, {"statistics": np.ones((2, 4, 1)), "n": 2},
               {"statistics": st.one_of(bad_array((2, 4, 1)), wrong_type()),
                "n": st.one_of(bad_int(min=1), st.integers(min_value=5, max_value=10**12)),
                "seed": _not_none(bad_seed)},
               message={"statistics": ("statistics", "samples")}),
    EntryPoint("statgeo.geometry.average_per_origin", average_per_origin, {"bundle_posteriors": np.full((2, 3, 4), 0.25)},
               {"bundle_posteriors": st.one_of(bad_array((2, 3, 4), allow_wrong_shape=False), wrong_type(),
                                               st.just(np.ones(3))),
                "axis": st.one_of(not_an_int(), st.sampled_from([-1, 2, 5, -4]))}),
    EntryPoint("statgeo.geometry.feature_kernel_posterior", feature_kernel_posterior,
               {"features": FEATS, "locations": LOCS, "grid": GRID, "temperature": 10.0, "effective_temperature": 0.5},
               {"features": st.one_of(bad_array(FEATS.shape, allow_wrong_shape=False), wrong_type(),
                                      st.sampled_from([FEATS[:5], FEATS[:1], FEATS[:, :0]])),
                "locations": st.one_of(bad_array(LOCS.shape, allow_wrong_shape=False), wrong_type(), st.just(LOCS[:, :1])),
                "grid": st.one_of(bad_grid, st.just(HUGE_GRID)), "kernel": bad_choice(("gauss", "exp")),
                "temperature": st.one_of(bad_positive, bad_word(("auto",))),
                "exclude_self": bad_bool, "queries_per_origin": _not_none(bad_int(min=1)),
                "effective_temperature": st.one_of(bad_positive, bad_word(("width",))),
                "seed": bad_seed},
               message={"grid": ("grid", "locations")}),
    EntryPoint("statgeo.geometry.select_kernel_temperature", select_kernel_temperature,
               {"features": FEATS, "locations": LOCS, "grid": GRID},
               {"features": st.one_of(bad_array(FEATS.shape, allow_wrong_shape=False), wrong_type()),
                "locations": st.one_of(bad_array(LOCS.shape, allow_wrong_shape=False), wrong_type()),
                "grid": bad_grid, "kernel": bad_choice(("gauss", "exp")),
                "temperatures": st.one_of(_not_none(bad_positive), st.just([[1.0, 2.0]])),
                "queries_per_origin": _not_none(bad_int(min=1)), "seed": bad_seed,
                "smoothing": bad_choice(("auto", "none", "splat"))},
               message={"grid": ("grid", "locations")}),
    EntryPoint("statgeo.geometry.kernel_effective_temperature", kernel_effective_temperature,
               {"kernel": "gauss", "temperature": 1.0, "feature_variance": 1.0},
               {"kernel": bad_choice(("gauss",)), "temperature": bad_positive, "feature_variance": bad_positive}),
    EntryPoint("statgeo.geometry.width_effective_temperature", width_effective_temperature,
               {"posterior": POST, "grid": GRID, "metric": METRIC_T, "n_sigma": 0.5},
               {"posterior": bad_posterior, "grid": st.one_of(bad_grid, st.just(OTHER_GRID)),
                "metric": st.one_of(wrong_type(), st.sampled_from([np.ones((3, 2, 2)), np.zeros((12, 2, 2))])),
                "n_sigma": bad_positive},
               message={"metric": ("metric",), "grid": ("grid",)}),
    EntryPoint("statgeo.geometry.splat_matrix", splat_matrix, {"locations": [[1.2, 1.5]], "grid": GRID},
               {"locations": st.one_of(bad_array((1, 2)), wrong_type()), "grid": bad_grid},
               message={"grid": ("grid", "locations")}),
    EntryPoint("statgeo.geometry.statistic_metric_on_grid", statistic_metric_on_grid,
               {"features": FEATS, "locations": LOCS, "grid": GRID},
               {"features": st.one_of(bad_array(FEATS.shape, allow_wrong_shape=False), wrong_type(),
                                      st.just(np.ones((FEATS.shape[0], 20_000)))),
                "locations": st.one_of(bad_array(LOCS.shape, allow_wrong_shape=False), wrong_type()),
                "grid": bad_grid, "ridge": bad_nonneg, "window": bad_int(min=0)},
               message={"grid": ("grid", "locations"), "features": ("features", "number of features")}),
    # ---- neural posterior
    EntryPoint("statgeo.geometry.NeuralGridPosterior", NeuralGridPosterior,
               {"grid": GRID, "n_per_bundle": 2, "kind": "vector", "hidden": 4},
               {"grid": st.one_of(bad_grid, st.just(HUGE_GRID)), "n_per_bundle": bad_int(min=1),
                "kind": bad_choice(("lattice2d", "chain1d", "vector")), "bundle": bad_choice(("origin", "neighbours")),
                "sigma": bad_real(low=0.0, high=1.0, low_inclusive=False),
                "channels": bad_int(min=1, max=NEURAL_MAX_WIDTH), "hidden": bad_int(min=1, max=NEURAL_MAX_WIDTH),
                "seed": bad_seed, "encoder": bad_choice(("full", "strided", "patches")),
                "head": bad_choice(("logits", "exponential_family"))}),
    EntryPoint("statgeo.geometry.NeuralGridPosterior.fit", NGP_FIT.fit,
               {"samples": X_VEC, "steps": 2, "eval_every": 1, "progress": False},
               {"samples": bad_samples_fit, "steps": bad_int(min=1, max=10**6), "batch_size": st.one_of(bad_int(min=1),
                                                                                                       huge_count),
                "lr": bad_positive, "validation_fraction": bad_real(low=0.0, high=0.9, low_inclusive=False),
                "eval_every": bad_int(min=1), "patience": bad_int(min=1), "val_bundles": st.one_of(bad_int(min=1),
                                                                                                   huge_count),
                "calibrate": bad_bool, "lr_schedule": bad_choice(("constant", "cosine")), "progress": bad_progress},
               message={"batch_size": ("batch_size",), "val_bundles": ("val_bundles",)}),
    EntryPoint("statgeo.geometry.NeuralGridPosterior.calibrate", NGP.calibrate, {"samples": X_VEC, "bundles": 1},
               {"samples": bad_samples_vec, "bundles": st.one_of(bad_int(min=1), huge_count),
                "origins": st.sampled_from([[], [12], [-1], [0.5], "ab", [[0, 1]]])}),
    EntryPoint("statgeo.geometry.NeuralGridPosterior.posterior", NGP.posterior,
               {"samples": X_VEC, "bundles_per_origin": 2, "effective_temperature": 1.0},
               {"samples": bad_samples_vec, "bundles_per_origin": st.one_of(bad_int(min=1), huge_count),
                "seed": bad_seed,
                "effective_temperature": st.one_of(bad_positive, bad_word(("width",))),
                "origins": st.sampled_from([[], [12], [-1], [0.5], "ab", [[0, 1]]])},
               message={"bundles_per_origin": ("bundles_per_origin",)}),
    EntryPoint("statgeo.geometry.NeuralGridPosterior.apply_target_kernel", NGP.apply_target_kernel,
               {"rows": np.full((2, 12), 1 / 12)},
               {"rows": st.one_of(bad_array((2, 12)), wrong_type(), st.just(np.ones((2, 11))))}),
    EntryPoint("statgeo.geometry.NeuralGridPosterior.predict_bundles", NGP.predict_bundles, {"bundles": BUNDLES},
               {"bundles": st.one_of(bad_array(BUNDLES.shape), wrong_type(), st.just(np.ones((3, 2, 5))))}),
    EntryPoint("statgeo.geometry.NeuralGridPosterior.time_training_step", NGP.time_training_step,
               {"sample_shape": (2,), "batch_size": 2, "repeats": 1},
               {"sample_shape": st.sampled_from([(2, 2), (0,), (-1,), "ab", None, (1.5,), 3, (2**40,)]),
                "batch_size": st.one_of(bad_int(min=1), huge_count), "repeats": bad_int(min=1, max=100)},
               message={"sample_shape": ("sample_shape",), "batch_size": ("batch_size",)}),
    EntryPoint("statgeo.geometry.NeuralGridPosterior.sample_features", NGP.sample_features, {"samples": X_VEC},
               {"samples": bad_samples_vec, "chunk": bad_int(min=1),
                # True is bad here: NGP has the logits head, which has no statistic
                "statistic": st.one_of(bad_bool, st.just(True))}),
    # ---- fitting
    EntryPoint("statgeo.geometry.fit_log_partition", fit_log_partition,
               {"posterior": POST, "grid": GRID, "max_steps": 1, "width": 4, "depth": 1, "progress": False},
               {"posterior": bad_posterior, "grid": st.one_of(bad_grid, st.just(OTHER_GRID)),
                "n_eff": _not_none(bad_positive), "loss": bad_choice(("jsd", "mse")),
                "centroid_weight": bad_nonneg, "model": bad_choice(("icnn", "mlp", "paper_mlp")),
                "optimizer": bad_choice(("lbfgs", "adam")), "max_steps": bad_int(min=1, max=MAX_STEPS),
                "tol": bad_nonneg, "seed": bad_seed, "validation_fraction": bad_real(low=0.0, high=0.5),
                "patience": bad_int(min=1), "lr": bad_positive, "width": _not_none(bad_int(min=1, max=MAX_WIDTH)),
                "depth": _not_none(bad_int(min=1, max=MAX_DEPTH)), "quadratic": bad_bool, "check_line": bad_bool,
                "dtype": bad_choice(("float64", "float32")),
                "window": st.sampled_from([-0.1, 1.0, 2.0, "x", np.nan, [0.1]]),
                "window_margin": bad_int(min=0, max=4),
                "max_origins": st.one_of(_not_none(bad_int(min=1)).filter(lambda v: not isinstance(v, str)),
                                         st.just("x")),
                "cell_stride": st.one_of(bad_int(min=1).filter(lambda v: not isinstance(v, str)), st.just("x")),
                "target_smoothing": st.sampled_from([np.eye(3), np.ones((12, 12)), -np.eye(12), "ab",
                                                     np.full((12, 12), np.nan), [["a"]]]),
                "progress": bad_progress},
               message={"grid": ("grid",), "posterior": ("posterior",)}),
    EntryPoint("statgeo.geometry.fit_log_partition_split", fit_log_partition_split,
               {"posterior": POST, "grid": GRID, "axis": "t1", "at": 1.5, "max_steps": 1, "width": 4, "depth": 1,
                "progress": False},
               {"posterior": bad_posterior, "grid": st.one_of(bad_grid, st.just(OTHER_GRID)),
                "axis": bad_choice(("t1", "t2")),
                # valid: 2 of the 4 values of t1 (1, 4/3, 5/3, 2) on each side
                "at": bad_real(low=1.3333, high=1.6667, low_inclusive=False),
                "n_eff": _not_none(bad_positive), "max_steps": bad_int(min=1, max=MAX_STEPS)},
               message={"grid": ("grid",), "posterior": ("posterior",)}),
    EntryPoint("statgeo.geometry.detect_first_order_line", detect_first_order_line,
               {"posterior": POST, "grid": GRID},
               {"posterior": bad_posterior, "grid": st.one_of(bad_grid, st.just(OTHER_GRID)),
                "axes": st.sampled_from(["t1", [3], ["t3"], [], [None], 5]),
                "contrast": bad_real(low=0.0, high=1.0, low_inclusive=False, high_inclusive=False),
                "min_expected": bad_real(low=0.0, high=0.5, low_inclusive=False),
                "min_rows": bad_int(min=1)},
               message={"grid": ("grid",), "posterior": ("posterior",), "axes": ("axes", "axis")}),
    EntryPoint("statgeo.geometry.FirstOrderLine.extent", FOUND_LINE.extent, {"name": "t2"},
               {"name": bad_choice(("t2",))}),
    EntryPoint("statgeo.geometry.SplitPotential", SplitPotential, SPLIT,
               {"lower": wrong_type(), "upper": wrong_type(), "axis": st.sampled_from([-1, 2, 1.5, "0", True, None]),
                "at": bad_real(), "offset": bad_real(),
                "slope": st.sampled_from([[0.0], [np.nan, 0.0], "ab", [[0.0, 0.0]], None])}),
    *[EntryPoint(f"statgeo.geometry.SplitPotential.{m}", getattr(SP, m), {"t": [[1.5, 1.5]]},
                 {"t": st.one_of(bad_array((1, 2), allow_wrong_shape=False), st.just(np.ones((2, 3))))},
                 message={"t": ("points",)})
      for m in ("value", "gradient", "hessian", "metric")],
    EntryPoint("statgeo.geometry.FittedPotential", FittedPotential,
               {"module": MODULE, "center": [1.5, 1.5], "half_width": [0.5, 0.5], "n_eff": 2.0,
                "natural_names": ("t1", "t2")},
               {"module": wrong_type(), "center": st.one_of(bad_array((2,), allow_wrong_shape=False), wrong_type(),
                                                            st.just([0.0])),
                "half_width": st.one_of(bad_array((2,), allow_wrong_shape=False), wrong_type(), st.just([0.0, 1.0])),
                "n_eff": bad_positive, "natural_names": st.sampled_from(["ab", (1, 2), ("a",), None]),
                "history": st.sampled_from([3, "x", [1]]), "config": st.sampled_from([3, "x", [1]])},
               message={"center": ("center",), "half_width": ("half_width",), "natural_names": ("natural_names",)}),
    *[EntryPoint(f"statgeo.geometry.FittedPotential.{m}", getattr(FP, m), {"points": [[1.5, 1.5]]},
                 {"points": st.one_of(bad_array((1, 2), allow_wrong_shape=False), wrong_type(), st.just(np.ones((2, 3))),
                                      st.just(np.float64(1.0)))})
      for m in ("value", "gradient", "hessian", "metric")],
    EntryPoint("statgeo.geometry.FittedPotential.to_dataset", FP.to_dataset, {"grid": GRID},
               {"grid": st.one_of(wrong_type(), st.just(LINE_GRID))}),
    EntryPoint("statgeo.geometry.fit_alignment", fit_alignment,
               {"log_z_ref": np.arange(5.0) ** 2, "log_z_rec": np.arange(5.0), "t": np.arange(5.0)[:, None]},
               {"log_z_ref": st.one_of(bad_array((5,), allow_wrong_shape=False), st.just(np.ones(4))),
                "log_z_rec": st.one_of(bad_array((5,), allow_wrong_shape=False), st.just(np.ones(4))),
                "t": st.one_of(bad_array((5, 1), allow_wrong_shape=False), st.just(np.ones((4, 1))))},
               message={k: ("log_z_ref", "log_z_rec", "t") for k in ("log_z_ref", "log_z_rec", "t")}),
    EntryPoint("statgeo.geometry.posterior_diagnostics", posterior_diagnostics,
               {"posterior": np.full((2, 5), 0.2), "grid": LINE_GRID},
               {"posterior": st.sampled_from([np.ones((2, 4)), np.ones(5)]), "grid": wrong_type()},
               message={"posterior": ("posterior",), "grid": ("grid",)}),
    EntryPoint("statgeo.geometry.gaussian_target_kernel", gaussian_target_kernel, {"grid": LINE_GRID, "sigma": 0.2},
               {"grid": wrong_type(), "sigma": bad_real(low=0.0, high=1.0)}),
    EntryPoint("statgeo.geometry.train_loop", train_loop,
               {"module": torch.nn.Linear(1, 1), "run_chunk": lambda n: 0.0, "max_steps": 4, "check_every": 2},
               {"max_steps": bad_int(min=1), "check_every": bad_int(min=1), "patience": bad_int(min=1),
                "tol": bad_nonneg}),
    EntryPoint("statgeo.geometry.statistic_moments", statistic_moments, {"stats": np.random.default_rng(0).normal(size=(4, 3))},
               {"stats": st.one_of(bad_array((4, 3), allow_wrong_shape=False), wrong_type(),
                                   st.sampled_from([np.ones(3), np.ones((1, 3)), np.ones((2, 3))])),
                "shrinkage": bad_real(low=0.0, high=1.0), "ridge": bad_nonneg}),
    EntryPoint("statgeo.geometry.mean_jacobian", mean_jacobian, {"mean": LINE_GRID.natural_points(), "grid": LINE_GRID},
               {"mean": st.one_of(bad_array((5, 1)), wrong_type()), "grid": st.one_of(wrong_type(), st.just(GRID)),
                "smooth": bad_nonneg},
               message={"grid": ("grid", "mean")}),
    EntryPoint("statgeo.geometry.gaussian_statistic_metric", gaussian_statistic_metric,
               {"jacobian": [[2.0]], "cov": [[4.0]]},
               {"jacobian": st.one_of(bad_array((1, 1), allow_wrong_shape=False), wrong_type(), st.just([2.0]),
                                      st.just(np.ones((2, 1)))),
                "cov": st.one_of(bad_array((1, 1), allow_wrong_shape=False), wrong_type(), st.just(np.eye(2))),
                "rcond": bad_real(low=0.0, high=1.0, high_inclusive=False)},
               message={"jacobian": ("jacobian",), "cov": ("cov",)}),
    EntryPoint("statgeo.geometry.statistic_metric", statistic_metric,
               {"stats": X.reshape(GRID.shape + (8, 2)), "grid": GRID, "n_boot": 2, "progress": False},
               {"stats": st.one_of(bad_array(GRID.shape + (8, 2), allow_wrong_shape=False), wrong_type(),
                                   st.sampled_from([X, np.ones(GRID.shape + (1, 2))])),
                "grid": st.one_of(bad_grid, st.just(LINE_GRID)), "shrinkage": bad_real(low=0.0, high=1.0),
                "ridge": bad_nonneg, "smooth": bad_nonneg, "smooth_cov": bad_bool,
                "rcond": bad_real(low=0.0, high=1.0, high_inclusive=False), "n_boot": bad_int(min=0, max=100_000),
                "seed": bad_seed, "progress": bad_progress},
               message={"grid": ("grid", "stats")}),
    EntryPoint("statgeo.geometry.potential_from_metric", potential_from_metric, {"metric": METRIC_G, "grid": GRID},
               {"metric": st.one_of(bad_array(METRIC_G.shape), wrong_type()),
                "grid": st.one_of(wrong_type(), st.just(ParameterGrid.from_ranges(t1=(1.0, 2.0, 4), t2=(1.0, 2.0, 2)))),
                "weights": st.one_of(bad_array(METRIC_G.shape), _not_none(wrong_type()), st.just(-np.ones(METRIC_G.shape))),
                "known_gradient": st.sampled_from([3, "ab", ([1.5, 1.5],), ([1.5, 1.5], [np.nan, 0.0]),
                                                   ([1.5], [0.0, 0.0])]),
                "known_value": bad_real(), "gradient_weight": bad_positive},
               message={"grid": ("grid", "axis", "axes"), "known_gradient": ("known_gradient",)}),
    EntryPoint("statgeo.geometry.grid_gradient", grid_gradient, {"potential": PHI.reshape(GRID.shape), "grid": GRID},
               {"potential": st.one_of(bad_array(GRID.shape), wrong_type()), "grid": st.one_of(bad_grid, st.just(LINE_GRID))},
               message={"grid": ("grid", "potential")}),
    EntryPoint("statgeo.geometry.grid_hessian", grid_hessian, {"potential": PHI.reshape(GRID.shape), "grid": GRID},
               {"potential": st.one_of(bad_array(GRID.shape), wrong_type()), "grid": st.one_of(bad_grid, st.just(LINE_GRID))},
               message={"grid": ("grid", "potential", "axes")}),
    EntryPoint("statgeo.geometry.hessian_defect", hessian_defect, {"metric": METRIC_G, "grid": GRID, "margin": 0},
               {"metric": st.one_of(bad_array(METRIC_G.shape), wrong_type()),
                "grid": st.one_of(bad_grid, st.just(LINE_GRID)),
                "margin": st.one_of(bad_int(min=0, max=10_000), st.just(1))},
               message={"grid": ("grid", "metric", "axes"), "margin": ("margin",)}),
    EntryPoint("statgeo.geometry.observed_information_metric", observed_information_metric,
               {"posterior": POST_ROWS, "grid": GRID},
               {"posterior": st.one_of(bad_posterior, st.just(POST)),  # POST: averaged rows, not a likelihood
                "grid": st.one_of(bad_grid, st.just(OTHER_GRID)),
                "chunk_rows": bad_int(min=1)},
               message={"grid": ("grid",), "posterior": ("posterior",), "chunk_rows": ("chunk_rows",)}),
    # ---- xarray accessor
    EntryPoint("statgeo.geometry.StatgeoAccessor", xr.Dataset.statgeo, {"ds": DS},
               {"ds": st.one_of(wrong_type(), st.just(POST))}),
    EntryPoint("statgeo.geometry.StatgeoAccessor.grid", ACC.grid, {},
               {"grid_dims": st.sampled_from([3, ["nope"], [1, 2], [], b"x"]),
                "coordinate_map": st.one_of(_not_none(wrong_type()), st.just(cm.tasep_rates_map()))},
               message={"coordinate_map": ("coordinate_map",)}),
    EntryPoint("statgeo.geometry.StatgeoAccessor.posterior", ACC.posterior, {"estimator": "exact", "n": 4},
               {"estimator": bad_choice(("exact", "kernel")), "grid": st.one_of(_not_none(wrong_type()), st.just(OTHER_GRID)),
                "n": st.one_of(bad_int(min=1), st.integers(min_value=9, max_value=10**12)), "seed": _not_none(bad_seed)}),
    EntryPoint("statgeo.geometry.StatgeoAccessor.fit", ACC.fit,
               {"posterior": "posterior", "max_steps": 1, "width": 4, "depth": 1, "progress": False},
               {"posterior": st.sampled_from([3, None, "nope", POST.isel(cell=slice(0, 6))]),
                "grid": st.one_of(_not_none(wrong_type()), st.just(OTHER_GRID)),
                "max_steps": bad_int(min=1, max=MAX_STEPS), "width": _not_none(bad_int(min=1, max=MAX_WIDTH))},
               message={"posterior": ("posterior", "variable")}),
    EntryPoint("statgeo.geometry.StatgeoAccessor.metric", ACC.metric, {"potential": FP},
               {"potential": wrong_type(), "grid": st.one_of(_not_none(wrong_type()), st.just(OTHER_GRID))}),
    EntryPoint("statgeo.geometry.StatgeoAccessor.plot_metric", _closed(ACC.plot_metric), {"var": "metric"},
               {"var": st.sampled_from([3, None, "nope", b"x"]), "potential": _not_none(wrong_type())}),
    # ---- plots
    EntryPoint("statgeo.geometry.label_from_attrs", label_from_attrs, {"da": MAP_YX, "name": "x"},
               {"name": st.sampled_from([3, b"x", ["a"]])}),
    EntryPoint("statgeo.geometry.plot_metric", _closed(plot_metric), {"ds": METRIC_DA},
               {"ds": st.one_of(wrong_type(), st.just(MAP_YX), st.just(xr.Dataset({"g": METRIC_DA}))),
                "var": st.sampled_from([3, None, b"x"]), "path": st.sampled_from([3, b"x", ["a"]]), "log": bad_bool},
               message={"ds": ("ds", "metric", "var")}),
    EntryPoint("statgeo.geometry.plot_boundaries", _closed(plot_boundaries),
               {"background": MAP_YX, "curves": [np.array([[0.0, 1.0], [2.0, 1.0]])]},
               {"background": st.one_of(wrong_type(), st.just(METRIC_DA), st.just(MAP_YX.astype(str))),
                "curves": st.sampled_from([3, "ab", [np.ones(3)], [[["a", "b"]]], [None]]),
                "reference": st.sampled_from([3, "ab", [np.ones(3)]]),
                "path": st.sampled_from([3, b"x", ["a"]]), "title": st.sampled_from([3, None, b"x"])}),
    EntryPoint("statgeo.geometry.plot_geodesics", _closed(plot_geodesics),
               {"background": MAP_YX, "paths": [np.array([[0.0, 0.0], [1.0, 1.5], [2.0, 2.0]])]},
               {"background": st.one_of(wrong_type(), st.just(METRIC_DA)),
                "paths": st.sampled_from([3, "ab", [np.ones(3)], [[["a", "b"]]]]), "straight": bad_bool,
                "path": st.sampled_from([3, b"x", ["a"]]), "title": st.sampled_from([3, None, b"x"])}),
    EntryPoint("statgeo.geometry.plot_reference_vs_reconstruction", _closed(plot_reference_vs_reconstruction),
               {"reference": MAP_YX, "reconstruction": MAP_YX * 1.1},
               {"reference": st.one_of(wrong_type(), st.just(METRIC_DA)),
                "reconstruction": st.one_of(wrong_type(), st.just(MAP_YX.isel(x=slice(0, 2)))),
                "path": st.sampled_from([3, b"x", ["a"]]), "title": st.sampled_from([3, None, b"x"])},
               message={"reconstruction": ("reconstruction",)}),
]

_RESULT = "a result record filled by the package (a frozen dataclass of outputs), not called with user input"
_PROTOCOL = "a typing.Protocol stub: it describes the interface and is never called; every implementation is registered"
_ABSTRACT = ("an abstract method of the family base class; every concrete family overrides it and the overrides "
             "are registered under the families' names")

#: public names that take no user input
NOT_ENTRY_POINTS = {
    "statgeo.geometry.BoundaryDistance": _RESULT,
    "statgeo.geometry.FirstOrderLine": _RESULT,
    "statgeo.geometry.Alignment": _RESULT,
    "statgeo.geometry.Alignment.apply": "applies a fitted alignment to arrays; the fit (fit_alignment) checks them",
    "statgeo.geometry.Alignment.apply_gradient": "applies a fitted alignment; the fit (fit_alignment) checks input",
    "statgeo.geometry.Alignment.apply_metric": "applies a fitted alignment; the fit (fit_alignment) checks input",
    "statgeo.geometry.TrainingRecord": _RESULT,
    "statgeo.geometry.TrainingRecord.as_dict": _RESULT,
    "statgeo.geometry.DegeneratePosteriorWarning": "a warning class",
    "statgeo.geometry.warn_if_degenerate": "takes the dict posterior_diagnostics returns (checked there)",
    "statgeo.geometry.ExponentialMapResult": _RESULT,
    "statgeo.geometry.GeodesicResult": _RESULT,
    "statgeo.geometry.StraightComparison": _RESULT,
    "statgeo.geometry.PotentialFit": _RESULT,
    "statgeo.geometry.HessianDefect": _RESULT,
    "statgeo.geometry.ObservedInformation": _RESULT,
    "statgeo.geometry.StatisticMetric": _RESULT,
    "statgeo.geometry.Potential": _PROTOCOL,
    "statgeo.geometry.Potential.value": _PROTOCOL,
    "statgeo.geometry.Potential.gradient": _PROTOCOL,
    "statgeo.geometry.Potential.hessian": _PROTOCOL,
    "statgeo.geometry.ExponentialFamily": "an abstract base class with no constructor arguments (not instantiable)",
    "statgeo.geometry.ExponentialFamily.log_partition": _ABSTRACT,
    "statgeo.geometry.ExponentialFamily.gradient": _ABSTRACT,
    "statgeo.geometry.ExponentialFamily.hessian": _ABSTRACT,
    "statgeo.geometry.ExponentialFamily.third_derivative": _ABSTRACT,
    "statgeo.geometry.Gaussian1D": "takes no constructor arguments (a fixed family)",
    "statgeo.geometry.Bernoulli": "takes no constructor arguments (a fixed family)",
    "statgeo.geometry.Poisson": "takes no constructor arguments (a fixed family)",
}


test_bad_input_is_refused_clearly_and_early, test_valid_calls_of_the_registry_succeed = registry_tests(ENTRY_POINTS)


# ----------------------------------------------------------------------------- survey regressions
def test_plain_lists_are_accepted_where_arrays_are():
    """Lists were refused as 'not a supported array type' (array_namespace on a list)."""
    p = exact_likelihood_posterior([[3.0]], 3, [1.0, math.e], [[0.0], [1.0]])
    np.testing.assert_allclose(p, exact_likelihood_posterior(np.array([[3.0]]), 3, np.array([1.0, math.e]),
                                                             np.array([[0.0], [1.0]])))
    np.testing.assert_allclose(average_per_origin([[[1.0, 0.0], [0.0, 1.0]]]), [[0.5, 0.5]])
    np.testing.assert_allclose(check_metric([[2.0, 0.0], [0.0, 1.0]]), np.diag([2.0, 1.0]))
    np.testing.assert_allclose(fd_gradient(lambda t: (t ** 2).sum(-1), [1.0, 2.0]), [2.0, 4.0], rtol=1e-8)
    np.testing.assert_allclose(third_derivative(POIS, [0.0]), [[[1.0]]])
    assert float(path_length(EUCLID, [[0.0, 0.0], [3.0, 4.0]])) == pytest.approx(5.0)
    assert FP.hessian([[1.5, 1.5]]).shape == (1, 2, 2)
    assert float(bregman_divergence(POIS, [0.5], [0.0])) == pytest.approx(math.exp(0.5) - 1.0 - 0.5)
    # real arrays keep their namespace
    tt = torch.tensor([[0.5]], dtype=torch.float64)
    assert isinstance(bregman_divergence(POIS, tt, tt), torch.Tensor)


def test_no_silent_nan_outside_a_family_domain_or_for_singular_metrics():
    with pytest.raises(ValueError, match="σ must be > 0"):
        Gaussian1D.fisher_rao_distance([0.0, 1.0], [0.0, -1.0])
    with pytest.raises(ValueError, match="σ must be > 0"):
        Gaussian1D.fisher_rao_metric([0.0, 0.0])
    with pytest.raises(ValueError, match="NaN"):
        GaussianFixedCov(np.eye(2)).to_natural([np.nan, 0.0])
    with pytest.raises(ValueError, match="support|counts"):
        Poisson().sufficient_statistics([0.5])
    nan_pot = AnalyticPotential(lambda t: np.log(t[..., 0]), ndim=1)  # NaN for t < 0
    with pytest.raises(ValueError, match="NaN or infinite"), np.errstate(invalid="ignore"):
        bregman_divergence(nan_pot, [[-1.0]], [[1.0]])
    with pytest.raises(ValueError, match="singular"):
        width_effective_temperature(POST, GRID, np.zeros((12, 2, 2)), n_sigma=0.5)
    with pytest.raises(ValueError, match="zero length"):
        compare_with_straight(ZERO_METRIC, [[0.0, 0.0], [0.5, 0.5], [1.0, 0.0]])
    with pytest.raises(ValueError, match="derivatives"), np.errstate(invalid="ignore"):
        metric_derivatives(lambda p: np.sqrt(p[..., :1, None] - 1.0) * np.ones((1, 1)), [[1.0]])


def test_degenerate_network_and_kernel_sizes_are_refused():
    """width=0 used to be replaced silently by the default (``width or 64``)."""
    with pytest.raises(ValueError, match="width"):
        fit_log_partition(POST, GRID, width=0, progress=False)
    with pytest.raises(ValueError, match="depth"):
        fit_log_partition(POST, GRID, depth=0, progress=False)
    with pytest.raises(ValueError, match="depth"):
        fit_log_partition(POST, GRID, model="paper_mlp", depth=3, progress=False)
    with pytest.raises(ValueError, match="width"):
        build_model("icnn", 2, 1.0, width=0)
    with pytest.raises(ValueError, match="hidden"):
        NeuralGridPosterior(GRID, 2, hidden=0)
    with pytest.raises(ValueError, match="eval_every"):
        NeuralGridPosterior(GRID, 2, kind="vector", hidden=4).fit(X_VEC, eval_every=0)
    with pytest.raises(ValueError, match="queries_per_origin"):
        feature_kernel_posterior(FEATS, LOCS, GRID, queries_per_origin=0)
    with pytest.raises(ValueError, match="window"):
        statistic_metric_on_grid(FEATS, LOCS, GRID, window=-1)


@pytest.mark.parametrize("call, name", [
    (lambda: fit_log_partition(POST, GRID, max_steps=10**7), "max_steps"),
    (lambda: fit_log_partition(POST, GRID, width=10**6), "width"),
    (lambda: fit_log_partition(POST, GRID, width=40_000, depth=20), "width and depth"),
    (lambda: geodesic_bvp(FR, [-1.0, 1.0], [1.0, 1.0], n_points=10**6), "n_points"),
    (lambda: exponential_map(FR, [0.0, 1.0], [0.0, 0.5], n_steps=10**8), "n_steps"),
    (lambda: statistic_metric(X.reshape(GRID.shape + (8, 2)), GRID, n_boot=10**7), "n_boot"),
    (lambda: MultivariateGaussian(10**4), "dim"),
    (lambda: NeuralGridPosterior(HUGE_GRID, 2), "grid"),
    (lambda: feature_kernel_posterior(FEATS, LOCS, HUGE_GRID, temperature=1.0), "grid"),
    (lambda: exact_posterior(np.ones((128 * 128, 64, 2)), ParameterGrid.from_ranges(a=(1.0, 2.0, 128), b=(1.0, 2.0, 128)),
                             np.zeros(128 * 128), 1), "grid"),
    (lambda: NGP.posterior(X_VEC, bundles_per_origin=10**9), "bundles_per_origin"),
    (lambda: POIS.sample([0.0], 10**13, seed=0), "n"),
    (lambda: GridPotential([np.arange(3.0e5)], np.zeros(300_000)), "grid_axes_values"),
], ids=["fit-steps", "fit-width", "fit-params", "bvp-points", "expmap-steps", "bootstrap", "mvgauss-dim",
        "neural-grid", "kernel-grid", "exact-grid", "neural-bundles", "sample-n", "spline-axis"])
def test_sizes_that_cannot_be_served_are_refused_before_any_work(call, name):
    assert name in str(refused(call, ValueError))


def test_progress_switches(monkeypatch, capsys):
    """fit_log_partition showed its bar even when not on a terminal; progress=False / TQDM_DISABLE hide it."""
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    stats = X.reshape(GRID.shape + (8, 2))
    fit_log_partition(POST, GRID, max_steps=1, width=4, depth=1, progress=True)
    statistic_metric(stats, GRID, n_boot=2, progress=True)
    NeuralGridPosterior(GRID, 2, kind="vector", hidden=4).fit(X_VEC, steps=1, eval_every=1, progress=True)
    err = capsys.readouterr().err
    assert "fit icnn/kl" in err and "bootstrap" in err and "neural posterior" in err
    fit_log_partition(POST, GRID, max_steps=1, width=4, depth=1, progress=False)
    statistic_metric(stats, GRID, n_boot=2, progress=False)
    NeuralGridPosterior(GRID, 2, kind="vector", hidden=4).fit(X_VEC, steps=1, eval_every=1, progress=False)
    fit_log_partition(POST, GRID, max_steps=1, width=4, depth=1)  # default None: not a terminal here
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("TQDM_DISABLE", "1")
    fit_log_partition(POST, GRID, max_steps=1, width=4, depth=1, progress=True)
    assert capsys.readouterr().err == ""


def test_fit_refuses_a_posterior_computed_on_another_grid():
    with pytest.raises(ValueError, match="not the grid the posterior was computed on"):
        fit_log_partition(POST, OTHER_GRID, max_steps=1, progress=False)


def test_discrete_energy_gradient_is_the_derivative_of_the_energy():
    """The public energy/gradient pair used by benchmarks/bench_geodesic.py's Adam baseline."""
    path = np.array([[-1.0, 1.0], [-0.3, 1.4], [0.4, 1.3], [1.0, 1.0]])
    E, G = discrete_energy(FR, path, gradient=True)
    h = 1e-6
    num = np.zeros_like(path)
    for i in range(path.shape[0]):
        for k in range(2):
            dp = np.zeros_like(path)
            dp[i, k] = h
            num[i, k] = (discrete_energy(FR, path + dp) - discrete_energy(FR, path - dp)) / (2 * h)
    np.testing.assert_allclose(G, num, rtol=1e-5, atol=1e-7)
    assert discrete_energy(FR, path) == E
    # torch in, torch out
    Et, Gt = discrete_energy(FR, torch.asarray(path), gradient=True)
    assert isinstance(Gt, torch.Tensor) and Et == pytest.approx(E)


def test_not_fitted_is_a_value_error():
    net = NeuralGridPosterior(GRID, 2, kind="vector", hidden=4)
    for call in (lambda: net.posterior(X_VEC), lambda: net.predict_bundles(BUNDLES), lambda: net.calibrate(X_VEC)):
        with pytest.raises(ValueError, match="fitted first"):
            call()
