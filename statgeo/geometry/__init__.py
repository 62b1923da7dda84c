"""Information geometry on parameter grids (array API; PyTorch for learned potentials).

Public names are imported lazily (PEP 562 ``__getattr__``) so that ``import statgeo.geometry``
works without PyTorch and stays cheap; importing this package registers the ``ds.statgeo``
xarray accessor (:mod:`statgeo.geometry.accessor`).

Modules: ``bregman``, ``families``, ``potential``, ``metric``, ``boundary``, ``geodesic``
(Bregman divergences, test families, Hessian metric, curvature, phase boundaries, geodesics);
``posterior`` (+ ``posterior_exact``, ``posterior_kernel``, ``posterior_neural``) and
``logpartition`` (+ ``potentials``): posteriors on a grid and log-partition fitting;
``plot``: figures.
"""

from __future__ import annotations

import importlib
from typing import Any

from statgeo.geometry import accessor as _accessor  # noqa: F401  (registers ds.statgeo)

_EXPORTS: dict[str, str] = {}


def _add(module: str, names: list[str]) -> None:
    for n in names:
        _EXPORTS[n] = f"statgeo.geometry.{module}"


_add("potential", ["Potential", "AnalyticPotential", "GridPotential"])
_add("bregman", ["bregman_divergence", "bregman_matrix", "bregman_matrix_from_grid"])
_add("families", ["ExponentialFamily", "Gaussian1D", "GaussianFixedCov", "Bernoulli", "Poisson",
                  "MultivariateGaussian"])
_add("metric", ["hessian_metric", "covariance_metric", "pull_back", "christoffel_symbols", "gaussian_curvature",
                "volume_element", "metric_on_grid"])
_add("boundary", ["boundary_score", "extract_boundaries", "boundary_distance"])
_add("geodesic", ["geodesic_bvp", "exponential_map", "path_length", "geodesic_distance", "compare_with_straight"])
_add("posterior", ["posterior_dataarray", "check_posterior", "posterior_moments", "posterior_kl"])
_add("posterior_exact", ["exact_likelihood_posterior", "exact_posterior", "cut_bundles", "bundle_sums",
                         "average_per_origin"])
_add("posterior_kernel", ["feature_kernel_posterior", "select_kernel_temperature", "width_effective_temperature",
                          "kernel_effective_temperature"])
_add("posterior_neural", ["NeuralGridPosterior"])
_add("logpartition", ["fit_log_partition", "FittedPotential", "affine_align"])

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
