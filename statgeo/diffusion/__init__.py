"""Diffusion-model adapter: latent slices, batched sweeps, embeddings and diagnostics.

Modules (imported lazily, so ``import statgeo.diffusion`` does not import torch):
``slices`` (z(α, β) planes), ``pipeline`` (latent → image generators, local loading),
``sweep`` / ``store`` / ``scaleout`` (batched sweeps to xarray/zarr, resume, Dask),
``embed`` (CLIP and other embedders), ``phases`` (k-means phase maps), ``zoom`` (fractal zoom),
``lipschitz`` (finite-difference ratios), ``toy`` (1-D bimodal Lyapunov analysis),
``synthetic`` (a closed-form test generator), ``analysis`` (posterior → log Z → metric →
boundaries → geodesics), ``cli`` (``statgeo-diffusion``), ``diffusability`` (FI/FIR).
See docs/diffusion.md.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "LatentSlice": "slices", "anchors_from_seeds": "slices", "load_anchors": "slices", "slice_grid": "slices",
    "effective_resolution": "slices",
    "DiffusionGenerator": "pipeline", "CallableGenerator": "pipeline", "PipelineSpec": "pipeline",
    "load_generator": "pipeline", "LatentGenerator": "pipeline",
    "sweep": "sweep", "SweepStore": "store",
    "OpenClipEmbedder": "embed", "PixelEmbedder": "embed", "add_embeddings": "embed", "Embedder": "embed",
    "phase_map": "phases", "plot_phase_map": "phases", "PhaseModel": "phases",
    "zoom": "zoom", "find_boundary_point": "zoom", "box_counting_dimension": "zoom",
    "lipschitz_ratios": "lipschitz", "lipschitz_map": "lipschitz", "growth_exponent": "lipschitz",
    "BimodalVP": "toy", "lyapunov_formula": "toy", "lyapunov_scan": "toy",
    "SyntheticGenerator": "synthetic", "synthetic_slice": "synthetic",
    "analyse_slice": "analysis", "interpolation_paths": "analysis", "path_lengths": "analysis",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"statgeo.diffusion.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
