"""The geometry chain on a diffusion slice: embeddings → posterior → log Z → metric →
boundaries → geodesics, with images regenerated along geodesic and straight paths.

1. Feature-kernel posterior (geometry.md, estimator 3): every sample's posterior puts weight
   w(‖φ(x) − φ(x')‖) on the grid location of every other sample, splatted onto cells
   (:func:`statgeo.geometry.posterior.feature_kernel_posterior`).
2. Fit Φ_θ so that softmax_t(−n_eff [Φ_θ(t) − ⟨∇Φ_θ(t'), t⟩]) matches the posteriors
   (:func:`statgeo.geometry.logpartition.fit_log_partition`).
3. Metric g = ∇²Φ_θ on the grid, boundary score (log λ_max g, robustly normalised) and ridge
   curves (:mod:`statgeo.geometry.boundary`).
4. Geodesics between image points (:func:`statgeo.geometry.geodesic.geodesic_bvp`), compared
   with the straight segment: images regenerated along both, lengths in metric, feature
   (Σ ‖φ(x_{i+1}) − φ(x_i)‖) and pixel (Σ ‖x_{i+1} − x_i‖, pixels in [0, 1]) space, and the
   perceptual path length Σ d_LPIPS(x_i, x_{i+1}) when an LPIPS callable is supplied.

The slice coordinates (α, β) serve as the natural coordinates of the fit (identity map).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import xarray as xr

from statgeo.checks import check_int
from statgeo.diffusion.lipschitz import _generate_float
from statgeo.diffusion.slices import LatentSlice
from statgeo.grid import ParameterGrid

log = logging.getLogger(__name__)

__all__ = ["SliceGeometry", "analyse_slice", "interpolation_paths", "path_lengths"]


@dataclass
class SliceGeometry:
    """Result of :func:`analyse_slice`: the labelled maps, the fitted potential and curves."""

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
                  temperature: float | None = None, n_eff: float | None = None, fit_kwargs: dict | None = None,
                  boundary_method: str = "max_eigenvalue", threshold: float = 3.0) -> SliceGeometry:
    """Posterior → fitted log Z → metric → boundary score and curves on a swept slice.

    Parameters
    ----------
    ds : a sweep with ``embedding`` (alpha, beta, feature) (see ``add_embeddings``).
    grid : the posterior/fit grid (default: the sweep's own alpha × beta grid).
    kernel, temperature : passed to ``feature_kernel_posterior`` when given (its defaults
        otherwise).
    n_eff : fit temperature (default: the posterior's ``effective_temperature``).
    fit_kwargs : further arguments of ``fit_log_partition``.
    boundary_method, threshold : see ``boundary_score`` / ``extract_boundaries``.

    Returns
    -------
    SliceGeometry with ``maps`` holding ``log_partition``, ``metric`` (alpha, beta, i, j) and
    ``boundary_score`` (alpha, beta).
    """
    from statgeo.geometry.boundary import boundary_score, extract_boundaries
    from statgeo.geometry.logpartition import fit_log_partition
    from statgeo.geometry.posterior_kernel import feature_kernel_posterior

    if "embedding" not in ds:
        raise ValueError("dataset has no 'embedding' variable; run add_embeddings first")
    emb = ds["embedding"].transpose("alpha", "beta", "feature")
    sgrid = _grid_of(ds)
    grid = sgrid if grid is None else grid
    feats = emb.values.reshape(-1, emb.shape[-1]).astype(np.float64)
    locs = sgrid.points()
    kw = {}
    if kernel is not None:
        kw["kernel"] = kernel
    if temperature is not None:
        kw["temperature"] = temperature
    post = feature_kernel_posterior(feats, locs, grid, **kw)
    pot = fit_log_partition(post, grid, n_eff=n_eff, **(fit_kwargs or {}))
    maps = pot.to_dataset(grid)
    g = maps["metric"].values
    score = np.asarray(boundary_score(g, method=boundary_method))
    maps["boundary_score"] = (grid.names, score, {"long_name": "boundary score (robust log λ_max g)", "units": "1"})
    curves = [np.asarray(c) for c in extract_boundaries(score, [a.values for a in grid.axes], threshold=threshold)]
    return SliceGeometry(maps, pot, post, curves, grid)


def path_lengths(images: np.ndarray, embedder: Callable | None = None, lpips: Callable | None = None) -> dict:
    """Feature, pixel (and LPIPS) lengths of an image sequence (n, C, y, x), floats in [0, 1].

    pixel: Σ_i ‖x_{i+1} − x_i‖₂; feature: Σ_i ‖φ(x_{i+1}) − φ(x_i)‖₂;
    perceptual: Σ_i lpips(x_i, x_{i+1}) (the callable takes two batches in [0, 1]).
    """
    x = np.asarray(images, dtype=np.float64)
    n = x.shape[0]
    out = {"pixel": float(np.linalg.norm((x[1:] - x[:-1]).reshape(n - 1, -1), axis=1).sum())}
    if embedder is not None:
        f = np.asarray(embedder(x), dtype=np.float64)
        out["feature"] = float(np.linalg.norm(f[1:] - f[:-1], axis=1).sum())
    if lpips is not None:
        out["perceptual"] = float(np.sum(np.asarray(lpips(x[:-1], x[1:]), dtype=np.float64)))
    return out


def interpolation_paths(potential: Any, generator: Any, lslice: LatentSlice, start: Sequence[float],
                        end: Sequence[float], *, n_points: int = 32, embedder: Callable | None = None,
                        lpips: Callable | None = None, bounds: Sequence | None = None, seed: int = 0,
                        batch_size: int = 64, geodesic_kwargs: dict | None = None) -> xr.Dataset:
    """Geodesic vs straight interpolation between two slice points, images regenerated.

    ``geodesic_kwargs`` go to :func:`statgeo.geometry.geodesic.geodesic_bvp` (e.g. ``tol``,
    ``max_iter``).

    Returns
    -------
    xr.Dataset with dims (path ∈ {geodesic, straight}, step): ``alpha``, ``beta``, ``image``
    (float32 in [0, 1]); ``metric_length``, ``pixel_length``, ``feature_length``
    (and ``perceptual_length`` with ``lpips``) per path.
    """
    from statgeo.geometry.geodesic import geodesic_bvp, path_length

    n_points = check_int("n_points", n_points, min=3)
    p0, p1 = np.asarray(start, np.float64), np.asarray(end, np.float64)
    res = geodesic_bvp(potential, p0, p1, n_points=n_points, bounds=bounds, **(geodesic_kwargs or {}))
    geo = np.asarray(res.path, dtype=np.float64)
    s = np.linspace(0, 1, n_points)[:, None]
    straight = p0 + s * (p1 - p0)
    paths = {"geodesic": geo, "straight": straight}
    imgs, lens = [], {}
    for name, P in paths.items():
        im = _generate_float(generator, lslice, P[:, 0], P[:, 1], np.full(n_points, seed), batch_size)
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
