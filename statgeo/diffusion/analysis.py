"""The geometry chain on a diffusion slice: embeddings → posterior → log Z → metric →
boundaries → geodesics, with images regenerated along geodesic and straight paths.

1. Feature-kernel posterior (docs/geometry_fitting.md): every sample's posterior puts weight
   w(‖φ(x) − φ(x')‖) on the grid location of every other sample, splatted onto cells
   (:func:`statgeo.geometry.posterior_kernel.feature_kernel_posterior`).
2. Fit Φ_θ so that softmax_t(−n_eff [Φ_θ(t) − ⟨∇Φ_θ(t'), t⟩]) matches the posteriors
   (:func:`statgeo.geometry.logpartition.fit_log_partition`).
3. Metric g = ∇²Φ_θ on the grid, boundary score (log λ_max g, robustly normalised) and ridge
   curves (:mod:`statgeo.geometry.boundary`; docs/geometry_metric.md).
4. Geodesics between image points (:func:`statgeo.geometry.geodesic.geodesic_bvp`), compared
   with the straight segment: images regenerated along both, lengths in metric, feature
   (Σ ‖φ(x_{i+1}) − φ(x_i)‖) and pixel (Σ ‖x_{i+1} − x_i‖, pixels in [0, 1]) space, and the
   perceptual path length Σ d_LPIPS(x_i, x_{i+1}) when an LPIPS callable is supplied.

The slice coordinates (α, β) serve as the natural coordinates of the fit (identity map;
docs/diffusion.md, "Analysis chain").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import xarray as xr

from statgeo.checks import check_callable, check_choice, check_int
from statgeo.diffusion._checks import (
    check_dict,
    check_generator,
    check_optional_scalar,
    check_point,
    check_scalar,
    check_slice,
    real_array,
)
from statgeo.diffusion.generation import generate_float, point_seeds
from statgeo.diffusion.slices import LatentSlice
from statgeo.grid import ParameterGrid
from statgeo.progress import progress_disabled

log = logging.getLogger(__name__)

__all__ = ["SliceGeometry", "analyse_slice", "interpolation_paths", "path_lengths", "MAX_PATH_POINTS"]

#: most points of one interpolation path
MAX_PATH_POINTS = 4096

KERNELS = ("gauss", "exp")
BOUNDARY_METHODS = ("max_eigenvalue", "trace", "det")


@dataclass
class SliceGeometry:
    """Result of :func:`analyse_slice`: the labelled maps, the fitted potential and curves.

    Parameters
    ----------
    maps : xarray.Dataset
        ``log_partition``, ``metric`` (alpha, beta, i, j) and ``boundary_score`` (alpha, beta)
        on the fit grid.
    potential : FittedPotential
        The fitted log-partition Φ_θ (a metric source for geodesics).
    posterior : xarray.DataArray
        The feature-kernel posteriors the fit matched.
    curves : list of numpy.ndarray
        Boundary curves, each ``(m, 2)`` in slice coordinates.
    grid : ParameterGrid, optional
        The fit grid.
    """

    maps: xr.Dataset
    potential: Any
    posterior: xr.DataArray
    curves: list = field(default_factory=list)
    grid: ParameterGrid | None = None


def _grid_of(ds: xr.Dataset) -> ParameterGrid:
    from statgeo.grid import Axis

    if "alpha" not in ds.dims or "beta" not in ds.dims:
        raise ValueError("the dataset must have dims (alpha, beta) (a sweep over a regular grid)")
    return ParameterGrid([Axis("alpha", ds["alpha"].values, "slice coordinate α", "1"),
                          Axis("beta", ds["beta"].values, "slice coordinate β", "1")])


def analyse_slice(ds: xr.Dataset, *, grid: ParameterGrid | None = None, kernel: str | None = None,
                  temperature: float | str | None = None, n_eff: float | None = None, fit_kwargs: dict | None = None,
                  boundary_method: str = "max_eigenvalue", threshold: float = 3.0,
                  progress: bool | None = None) -> SliceGeometry:
    """Posterior → fitted log Z → metric → boundary score and curves on a swept slice.

    Parameters
    ----------
    ds : xarray.Dataset
        A grid sweep with ``embedding`` (alpha, beta, feature) (see
        :func:`~statgeo.diffusion.add_embeddings`), finite.
    grid : ParameterGrid, optional
        The posterior/fit grid over ``("alpha", "beta")`` (default: the sweep's own grid; a
        coarser grid is better, see docs/diffusion.md, "Analysis chain").
    kernel : {"gauss", "exp"}, optional
        Feature kernel of the posterior (default: ``feature_kernel_posterior``'s).
    temperature : float or "auto", optional
        Kernel temperature > 0 (default: selected automatically).
    n_eff : float, optional
        Fit temperature > 0 (default: the posterior's ``effective_temperature``).
    fit_kwargs : dict, optional
        Further arguments of ``fit_log_partition`` (e.g. ``max_steps``); ``linear_term``
        defaults to the paper's form ``"gradient"`` here (the free form found no boundary ridge on
        the synthetic two-phase slice).
    boundary_method : {"max_eigenvalue", "trace", "det"}, default "max_eigenvalue"
        How the metric becomes a boundary score (``boundary_score``).
    threshold : float, default 3.0
        Ridge threshold of ``extract_boundaries`` (finite).
    progress : bool or None, default None
        Show the fit's progress bar: None on a terminal only, False never, True always
        (``TQDM_DISABLE=1`` always hides it).

    Returns
    -------
    SliceGeometry
        ``maps`` with ``log_partition``, ``metric`` (alpha, beta, i, j) and
        ``boundary_score`` (alpha, beta); the potential, the posterior and the curves.

    Raises
    ------
    TypeError
        ``ds`` is not a Dataset, ``grid`` not a ParameterGrid, or another argument of the
        wrong type.
    ValueError
        No ``embedding`` or no (alpha, beta) dims, NaN embeddings, a grid over other axes, an
        unknown kernel or boundary method, or a temperature ≤ 0.

    Examples
    --------
    >>> from statgeo.diffusion import PixelEmbedder, SyntheticGenerator, add_embeddings, slice_grid, \
sweep, synthetic_slice
    >>> gen = SyntheticGenerator(n_terms=2, size=8)
    >>> ds = sweep(gen, synthetic_slice(), slice_grid(9), batch_size=81, progress=False)
    >>> ds = add_embeddings(ds, PixelEmbedder(4), progress=False)
    >>> geo = analyse_slice(ds, grid=slice_grid(5), temperature=50.0, fit_kwargs={"max_steps": 3})
    >>> geo.maps.boundary_score.dims, geo.maps.metric.shape
    (('alpha', 'beta'), (5, 5, 2, 2))
    """
    from statgeo.geometry.boundary import boundary_score, extract_boundaries
    from statgeo.geometry.logpartition import fit_log_partition
    from statgeo.geometry.posterior_kernel import feature_kernel_posterior

    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if "embedding" not in ds:
        raise ValueError("dataset has no 'embedding' variable; run add_embeddings first")
    if set(ds["embedding"].dims) != {"alpha", "beta", "feature"}:
        raise ValueError(f"ds.embedding must have dims (alpha, beta, feature) (a grid sweep), got {ds['embedding'].dims}")
    if grid is not None:
        if not isinstance(grid, ParameterGrid):
            raise TypeError(f"grid must be a ParameterGrid over ('alpha', 'beta'), got {type(grid).__name__}")
        if grid.names != ("alpha", "beta"):
            raise ValueError(f"grid must be a ParameterGrid over ('alpha', 'beta'), got axes {grid.names}")
    if kernel is not None:
        check_choice("kernel", kernel, KERNELS)
    if not (isinstance(temperature, str) and temperature == "auto"):
        temperature = check_optional_scalar("temperature", temperature, low=0.0, low_inclusive=False)
    n_eff = check_optional_scalar("n_eff", n_eff, low=0.0, low_inclusive=False)
    fit_kwargs = dict(check_dict("fit_kwargs", fit_kwargs) or {})
    check_choice("boundary_method", boundary_method, BOUNDARY_METHODS)
    threshold = check_scalar("threshold", threshold)
    progress_disabled(progress)
    emb = ds["embedding"].transpose("alpha", "beta", "feature")
    sgrid = _grid_of(ds)
    grid = sgrid if grid is None else grid
    feats = real_array("ds.embedding", emb.values).reshape(-1, emb.shape[-1])
    locs = sgrid.points()
    kw = {}
    if kernel is not None:
        kw["kernel"] = kernel
    if temperature is not None:
        kw["temperature"] = temperature
    fit_kwargs.setdefault("progress", progress)
    # the paper's form on the kernel posterior's rows: measured on the synthetic two-phase slice,
    # the free-linear-term fit finds no boundary ridge there (docs/diffusion.md)
    fit_kwargs.setdefault("linear_term", "gradient")
    post = feature_kernel_posterior(feats, locs, grid, **kw)
    pot = fit_log_partition(post, grid, n_eff=n_eff, **fit_kwargs)
    maps = pot.to_dataset(grid)
    g = maps["metric"].values
    score = np.asarray(boundary_score(g, method=boundary_method))
    maps["boundary_score"] = (grid.names, score, {"long_name": "boundary score (robust log λ_max g)", "units": "1"})
    curves = [np.asarray(c) for c in extract_boundaries(score, [a.values for a in grid.axes], threshold=threshold)]
    return SliceGeometry(maps, pot, post, curves, grid)


def path_lengths(images: Any, embedder: Callable | None = None, lpips: Callable | None = None) -> dict:
    """Pixel, feature (and perceptual) lengths of an image sequence.

    pixel: Σ_i ‖x_{i+1} − x_i‖₂; feature: Σ_i ‖φ(x_{i+1}) − φ(x_i)‖₂;
    perceptual: Σ_i lpips(x_i, x_{i+1}).

    Parameters
    ----------
    images : array_like
        The sequence ``(n, C, y, x)``, n ≥ 2, floats in [0, 1], finite.
    embedder : callable, optional
        Images → features φ (adds ``feature``).
    lpips : callable, optional
        ``lpips(a, b)`` of two image batches in [0, 1] → per-pair distances (adds
        ``perceptual``).

    Returns
    -------
    dict
        ``pixel`` (and ``feature``, ``perceptual``) as floats.

    Raises
    ------
    TypeError
        ``images`` is not real, or ``embedder``/``lpips`` not callable.
    ValueError
        Fewer than two images, NaN/inf, or an embedder/LPIPS output of the wrong size or with
        NaN.

    Examples
    --------
    >>> path_lengths(np.stack([np.zeros((1, 2, 2)), np.ones((1, 2, 2)), np.ones((1, 2, 2))]))
    {'pixel': 2.0}
    """
    x = real_array("images", images, min_ndim=2)
    check_callable("embedder", embedder, optional=True)
    check_callable("lpips", lpips, optional=True)
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"images must hold at least 2 images (a path), got {n}")
    out = {"pixel": float(np.linalg.norm((x[1:] - x[:-1]).reshape(n - 1, -1), axis=1).sum())}
    if embedder is not None:
        f = np.asarray(embedder(x), dtype=np.float64)
        if f.ndim != 2 or f.shape[0] != n or not np.isfinite(f).all():
            raise ValueError(f"embedder must return finite features (n={n}, feature), got shape {f.shape}")
        out["feature"] = float(np.linalg.norm(f[1:] - f[:-1], axis=1).sum())
    if lpips is not None:
        d = np.asarray(lpips(x[:-1], x[1:]), dtype=np.float64)
        if d.size != n - 1 or not np.isfinite(d).all():
            raise ValueError(f"lpips must return {n - 1} finite distances, got shape {d.shape}")
        out["perceptual"] = float(np.sum(d))
    return out


def _check_bounds(bounds: Any) -> None:
    if bounds is None:
        return
    if isinstance(bounds, (str, bytes)) or not hasattr(bounds, "__len__") or len(bounds) != 2:
        raise TypeError(f"bounds must be None or two (low, high) pairs, one per slice coordinate, got {bounds!r:.60}")
    for i, b in enumerate(bounds):
        if isinstance(b, (str, bytes)) or not hasattr(b, "__len__") or len(b) != 2:
            raise TypeError(f"bounds[{i}] must be a (low, high) pair, got {b!r:.60}")
        lo, hi = (None if v is None else check_scalar(f"bounds[{i}]", v) for v in b)
        if lo is not None and hi is not None and not hi > lo:
            raise ValueError(f"bounds[{i}] must have high > low, got {tuple(b)!r}")


def interpolation_paths(potential: Any, generator: Any, lslice: LatentSlice, start: Sequence[float],
                        end: Sequence[float], *, n_points: int = 32, embedder: Callable | None = None,
                        lpips: Callable | None = None, bounds: Sequence | None = None, noise_seed: int = 0,
                        batch_size: int = 64, geodesic_kwargs: dict | None = None) -> xr.Dataset:
    """Geodesic vs straight interpolation between two slice points, with images regenerated.

    Parameters
    ----------
    potential : Potential or callable
        The metric source (e.g. ``analyse_slice(...).potential``, or a callable
        ``points (m, 2) -> (m, 2, 2)``).
    generator : LatentGenerator
        Regenerates the images along both paths.
    lslice : LatentSlice
        The slice.
    start, end : sequence of float
        Distinct finite end points (alpha, beta).
    n_points : int, default 32
        Points per path, in ``[3, MAX_PATH_POINTS]``.
    embedder : callable, optional
        Images → features (adds ``feature_length``).
    lpips : callable, optional
        Perceptual distance of two image batches (adds ``perceptual_length``).
    bounds : sequence, optional
        ``((α_lo, α_hi), (β_lo, β_hi))`` box for the geodesic's interior points.
    noise_seed : int, default 0
        Noise seed (≥ 0) for stochastic samplers. Both paths are treated as the neighbourhood
        of one point: every regenerated image uses ``point_seeds(noise_seed, 1)[0]``, the seed
        a sweep, zoom or Lipschitz scan gives the same point, so the paths differ only by where
        they go, not by their noise.
    batch_size : int, default 64
        Latents per generator call (≥ 1).
    geodesic_kwargs : dict, optional
        Passed to :func:`statgeo.geometry.geodesic.geodesic_bvp` (e.g. ``tol``, ``max_iter``).

    Returns
    -------
    xarray.Dataset
        Dims (path ∈ {geodesic, straight}, step): ``alpha``, ``beta``, ``image`` (float32 in
        [0, 1]); ``metric_length``, ``pixel_length``, ``feature_length`` (and
        ``perceptual_length`` with ``lpips``) per path; attr ``geodesic_converged``.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        Equal or non-finite end points, ``n_points`` out of range, bad bounds, a latent shape
        mismatch, or a generator output with NaN.

    Examples
    --------
    >>> from statgeo.diffusion import SyntheticGenerator, synthetic_slice
    >>> flat = lambda p: np.eye(2) * np.ones(np.shape(p)[:-1] + (1, 1))  # Euclidean: the geodesic is the segment
    >>> res = interpolation_paths(flat, SyntheticGenerator(size=4), synthetic_slice(), (0.1, 0.1), (0.1, 0.9),
    ...                           n_points=5)
    >>> res.image.shape, bool(np.allclose(res.metric_length.values, 0.8))
    ((2, 5, 3, 4, 4), True)
    """
    from statgeo.geometry.geodesic import geodesic_bvp, path_length

    if not callable(potential) and not hasattr(potential, "hessian"):
        raise TypeError(f"potential must be a Potential or a callable metric, got {type(potential).__name__}")
    check_generator("generator", generator)
    check_slice("lslice", lslice)
    p0, p1 = check_point("start", start), check_point("end", end)
    if np.array_equal(p0, p1):
        raise ValueError(f"start and end must differ, got {p0.tolist()} twice")
    n_points = check_int("n_points", n_points, min=3, max=MAX_PATH_POINTS)
    check_callable("embedder", embedder, optional=True)
    check_callable("lpips", lpips, optional=True)
    _check_bounds(bounds)
    noise_seed = check_int("noise_seed", noise_seed, min=0)
    batch_size = check_int("batch_size", batch_size, min=1)
    geodesic_kwargs = check_dict("geodesic_kwargs", geodesic_kwargs)
    if tuple(generator.latent_shape) != lslice.latent_shape:
        raise ValueError(f"latent shape mismatch: the slice has latents of shape {lslice.latent_shape}, "
                         f"the generator expects {tuple(generator.latent_shape)}")
    res = geodesic_bvp(potential, p0, p1, n_points=n_points, bounds=bounds, **(geodesic_kwargs or {}))
    geo = np.asarray(res.path, dtype=np.float64)
    s = np.linspace(0, 1, n_points)[:, None]
    straight = p0 + s * (p1 - p0)
    paths = {"geodesic": geo, "straight": straight}
    imgs, lens = [], {}
    for name, P in paths.items():
        seeds = np.full(n_points, point_seeds(noise_seed, 1)[0], dtype=np.uint64)
        im = generate_float(generator, lslice, P[:, 0], P[:, 1], seeds, batch_size,
                            progress=False).astype(np.float64, copy=False)
        imgs.append(im.astype(np.float32))
        L = path_lengths(im, embedder, lpips)
        L["metric"] = float(path_length(potential, P))
        for k, v in L.items():
            lens.setdefault(k, []).append(v)
    data = {"image": (("path", "step", "channel", "y", "x"), np.stack(imgs), {"long_name": "regenerated image"})}
    for k, v in lens.items():
        data[f"{k}_length"] = ("path", np.array(v), {"long_name": f"{k} path length"})
    coords = {"path": ("path", list(paths)), "step": ("step", np.arange(n_points)),
              "alpha": (("path", "step"), np.stack([geo[:, 0], straight[:, 0]])),
              "beta": (("path", "step"), np.stack([geo[:, 1], straight[:, 1]]))}
    return xr.Dataset(data, coords=coords, attrs={"geodesic_converged": int(bool(res.converged))})
