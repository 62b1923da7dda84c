"""Diffusion-model adapter: latent slices, batched sweeps, embeddings, analysis and diagnostics.

Run a diffusion model over a 2-D slice of its latent space and read off the geometry of what
it generates (docs/diffusion.md): :class:`LatentSlice` builds the slice, :func:`sweep` runs a
generator (a local diffusers model via :func:`load_generator`, any diffusers pipeline via
:class:`PipelineGenerator`, or any callable) over a grid
into a resumable zarr store (:class:`SweepStore`, optionally on a Dask cluster),
:class:`OpenClipEmbedder` adds CLIP features, :func:`phase_map` labels phases and
:func:`analyse_slice` runs posterior → log-partition fit → metric → boundaries → geodesics;
:func:`zoom` and :func:`lipschitz_map` probe fractal boundaries and Lipschitz blow-up, and
:mod:`statgeo.diffusion.bimodal` is the 1-D bimodal Lyapunov analysis. The Fisher-information
diagnostics of latent diffusability live in :mod:`statgeo.diffusion.diffusability`.
PyTorch, diffusers and open_clip are imported only when a function needs them. Input rules,
caps and progress switches: docs/diffusion.md, "Input rules and caps".
"""

from statgeo.diffusion.analysis import (
    MAX_PATH_POINTS,
    SliceGeometry,
    analyse_slice,
    interpolation_paths,
    path_lengths,
)
from statgeo.diffusion.bimodal import (
    MAX_SCAN_SIGMAS,
    BimodalVP,
    lyapunov_formula,
    lyapunov_scan,
)
from statgeo.diffusion.embed import (
    Embedder,
    OpenClipEmbedder,
    PixelEmbedder,
    add_embeddings,
    as_float_images,
)
from statgeo.diffusion.lipschitz import growth_exponent, lipschitz_map, lipschitz_ratios
from statgeo.diffusion.phases import (
    MAX_KMEANS_RESTARTS,
    PhaseModel,
    kmeans,
    phase_map,
    plot_phase_map,
)
from statgeo.diffusion.pipeline import (
    MAX_INFERENCE_STEPS,
    SUPPORTED_SCHEDULERS,
    CallableGenerator,
    DiffusionGenerator,
    LatentGenerator,
    PipelineGenerator,
    PipelineSpec,
    UNetGenerator,
    load_generator,
)
from statgeo.diffusion.slices import (
    MAX_SEED,
    NORMALISATIONS,
    LatentSlice,
    anchors_from_seeds,
    effective_resolution,
    load_anchors,
    renormalise,
    slice_grid,
)
from statgeo.diffusion.store import SweepStore
from statgeo.diffusion.generation import MAX_SWEEP_POINTS, generate, generate_float, point_seeds, to_uint8
from statgeo.diffusion.sweep import resolve_points, sweep
from statgeo.diffusion.synthetic import MAX_TERMS, SyntheticGenerator, synthetic_slice
from statgeo.diffusion.zoom import (
    DEFAULT_SCALES,
    MAX_ZOOM_DEPTH,
    MAX_ZOOM_SCALES,
    boundary_mask,
    box_counting_dimension,
    find_boundary_point,
    zoom,
)

__all__ = [
    # slices and generators
    "LatentSlice",
    "anchors_from_seeds",
    "load_anchors",
    "renormalise",
    "slice_grid",
    "effective_resolution",
    "NORMALISATIONS",
    "LatentGenerator",
    "CallableGenerator",
    "UNetGenerator",
    "DiffusionGenerator",
    "PipelineGenerator",
    "PipelineSpec",
    "load_generator",
    "SUPPORTED_SCHEDULERS",
    "SyntheticGenerator",
    "synthetic_slice",
    # sweeps
    "sweep",
    "point_seeds",
    "to_uint8",
    "generate",
    "generate_float",
    "resolve_points",
    "SweepStore",
    # features and analysis
    "Embedder",
    "OpenClipEmbedder",
    "PixelEmbedder",
    "add_embeddings",
    "as_float_images",
    "kmeans",
    "PhaseModel",
    "phase_map",
    "plot_phase_map",
    "SliceGeometry",
    "analyse_slice",
    "interpolation_paths",
    "path_lengths",
    "zoom",
    "box_counting_dimension",
    "boundary_mask",
    "find_boundary_point",
    "DEFAULT_SCALES",
    "lipschitz_ratios",
    "lipschitz_map",
    "growth_exponent",
    "BimodalVP",
    "lyapunov_formula",
    "lyapunov_scan",
    # caps (docs/diffusion.md, "Input rules and caps")
    "MAX_SEED",
    "MAX_INFERENCE_STEPS",
    "MAX_SWEEP_POINTS",
    "MAX_TERMS",
    "MAX_ZOOM_DEPTH",
    "MAX_ZOOM_SCALES",
    "MAX_KMEANS_RESTARTS",
    "MAX_PATH_POINTS",
    "MAX_SCAN_SIGMAS",
]
