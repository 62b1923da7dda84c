"""Information geometry on parameter grids (array API; PyTorch for learned potentials).

From samples to geometry (docs/geometry_fitting.md): a posterior estimator turns the samples
drawn at each grid point into posteriors over the grid (:func:`exact_posterior`,
:class:`NeuralGridPosterior`, :func:`feature_kernel_posterior`); :func:`fit_log_partition`
learns a log-partition function Φ whose Bregman divergences explain them; the Fisher metric is
g = ∇²Φ. The metric layer (docs/geometry_metric.md) works on any potential or metric field:
Bregman divergences, test families with closed forms, Christoffel symbols and curvature,
phase-boundary detection and geodesics. Importing this package registers the ``ds.statgeo``
xarray accessor. PyTorch is needed only by the learned parts (neural posterior, fitting) and
is imported when they run.

Every entry point accepts array-likes (lists become NumPy float64; arrays keep their namespace)
and refuses bad input before any work with a ``TypeError`` or ``ValueError`` naming the
argument; the loops with a progress bar (``fit_log_partition``, ``NeuralGridPosterior.fit``,
``statistic_metric``'s bootstrap) take ``progress=None | True | False`` (docs/conventions.md).
"""

from statgeo.geometry.accessor import StatgeoAccessor
from statgeo.geometry.alignment import Alignment, fit_alignment
from statgeo.geometry.boundary import (
    BoundaryDistance,
    boundary_distance,
    boundary_score,
    extract_boundaries,
)
from statgeo.geometry.bregman import (
    bregman_divergence,
    bregman_matrix,
    bregman_matrix_from_grid,
)
from statgeo.geometry.families import (
    Bernoulli,
    ExponentialFamily,
    Gaussian1D,
    GaussianFixedCov,
    MultivariateGaussian,
    Poisson,
)
from statgeo.geometry.geodesic import (
    ExponentialMapResult,
    GeodesicResult,
    StraightComparison,
    compare_with_straight,
    discrete_energy,
    exponential_map,
    geodesic_bvp,
    geodesic_distance,
    path_length,
)
from statgeo.geometry.first_order_line import FirstOrderLine, detect_first_order_line
from statgeo.geometry.logpartition import FittedPotential, fit_log_partition
from statgeo.geometry.split_fit import SplitPotential, fit_log_partition_split
from statgeo.geometry.metric import (
    as_metric_fn,
    check_metric,
    christoffel_symbols,
    covariance_metric,
    gaussian_curvature,
    hessian_metric,
    metric_derivatives,
    metric_on_grid,
    pull_back,
    volume_element,
)
from statgeo.geometry.plot import (
    label_from_attrs,
    plot_boundaries,
    plot_geodesics,
    plot_metric,
    plot_reference_vs_reconstruction,
)
from statgeo.geometry.posterior import (
    POSTERIOR_DIMS,
    check_grid,
    check_origins,
    check_posterior,
    posterior_dataarray,
    posterior_kl,
    posterior_moments,
    recorded_grid_mismatch,
)
from statgeo.geometry.posterior_diagnostics import (
    DegeneratePosteriorWarning,
    posterior_diagnostics,
    warn_if_degenerate,
)
from statgeo.geometry.posterior_exact import (
    average_per_origin,
    bundle_sums,
    cut_bundles,
    exact_likelihood_posterior,
    exact_posterior,
)
from statgeo.geometry.posterior_kernel import (
    feature_kernel_posterior,
    kernel_effective_temperature,
    select_kernel_temperature,
    splat_matrix,
    statistic_metric_on_grid,
    width_effective_temperature,
)
from statgeo.geometry.lattice_patterns import plus_pattern_frequencies
from statgeo.geometry.posterior_neural import (
    NeuralGridPosterior,
    gaussian_target_kernel,
)
from statgeo.geometry.potential import (
    AnalyticPotential,
    GridPotential,
    Potential,
    fd_gradient,
    fd_hessian_from_values,
    fd_jacobian,
    third_derivative,
)
from statgeo.geometry.potential_from_metric import (
    PotentialFit,
    grid_gradient,
    grid_hessian,
    potential_from_metric,
)
from statgeo.geometry.hessian_defect import HessianDefect, hessian_defect
from statgeo.geometry.observed_information import ObservedInformation, observed_information_metric
from statgeo.geometry.statistic_metric import (
    StatisticMetric,
    gaussian_statistic_metric,
    mean_jacobian,
    statistic_metric,
    statistic_moments,
)
from statgeo.geometry.training import TrainingRecord, train_loop

__all__ = [
    # potentials and divergences
    "Potential",
    "AnalyticPotential",
    "GridPotential",
    "fd_gradient",
    "fd_jacobian",
    "fd_hessian_from_values",
    "third_derivative",
    "bregman_divergence",
    "bregman_matrix",
    "bregman_matrix_from_grid",
    "ExponentialFamily",
    "Gaussian1D",
    "GaussianFixedCov",
    "Bernoulli",
    "Poisson",
    "MultivariateGaussian",
    # metric, curvature, boundaries, geodesics
    "hessian_metric",
    "covariance_metric",
    "pull_back",
    "check_metric",
    "metric_derivatives",
    "christoffel_symbols",
    "gaussian_curvature",
    "volume_element",
    "metric_on_grid",
    "as_metric_fn",
    "boundary_score",
    "extract_boundaries",
    "plus_pattern_frequencies",
    "boundary_distance",
    "BoundaryDistance",
    "GeodesicResult",
    "ExponentialMapResult",
    "StraightComparison",
    "geodesic_bvp",
    "exponential_map",
    "path_length",
    "geodesic_distance",
    "compare_with_straight",
    "discrete_energy",
    # posteriors
    "POSTERIOR_DIMS",
    "posterior_dataarray",
    "check_posterior",
    "check_grid",
    "check_origins",
    "posterior_moments",
    "posterior_kl",
    "recorded_grid_mismatch",
    "exact_likelihood_posterior",
    "exact_posterior",
    "cut_bundles",
    "bundle_sums",
    "average_per_origin",
    "feature_kernel_posterior",
    "select_kernel_temperature",
    "kernel_effective_temperature",
    "width_effective_temperature",
    "splat_matrix",
    "statistic_metric_on_grid",
    "NeuralGridPosterior",
    # fitting
    "fit_log_partition",
    "fit_log_partition_split",
    "SplitPotential",
    "detect_first_order_line",
    "FirstOrderLine",
    "FittedPotential",
    "Alignment",
    "fit_alignment",
    "posterior_diagnostics",
    "warn_if_degenerate",
    "DegeneratePosteriorWarning",
    "gaussian_target_kernel",
    "TrainingRecord",
    "train_loop",
    "StatisticMetric",
    "statistic_moments",
    "mean_jacobian",
    "gaussian_statistic_metric",
    "statistic_metric",
    "PotentialFit",
    "potential_from_metric",
    "grid_gradient",
    "grid_hessian",
    "HessianDefect",
    "hessian_defect",
    "ObservedInformation",
    "observed_information_metric",
    # xarray and plots
    "StatgeoAccessor",
    "label_from_attrs",
    "plot_metric",
    "plot_boundaries",
    "plot_geodesics",
    "plot_reference_vs_reconstruction",
]
