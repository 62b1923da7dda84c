"""The metric of a digits slice from two posteriors, and its boundaries against the label boundaries.

Posterior grid: the centres of the block × block tiles of the N × N sweep grid (N / block
points per side, spacing block / (N − 1)).

* Feature-kernel posterior (:func:`statgeo.diffusion.analyse_slice`): every sweep point's
  classifier features, splatted onto the posterior grid, then the library's diffusion-path fit
  (``fit_log_partition`` with the paper's ``linear_term="gradient"``), metric, boundary score
  and ridge curves.
* Neural grid posterior (:class:`statgeo.geometry.posterior_neural.NeuralGridPosterior`,
  ``kind="vector"``, bundles of one sample): the samples of a posterior point are the
  features of the block × block sweep points of its tile; then the same fit, score and curves.

Comparison with the classifier's label boundaries on the sweep grid: label-boundary cells are
cells whose label differs from a 4-neighbour's (:func:`statgeo.diffusion.boundary_mask`);
detected curves are rasterised onto the sweep grid (points every ¼ cell along each polyline).
``distance_cells_median`` is the median over the rasterised curve points of the Euclidean
distance (in sweep cells) to the nearest label-boundary cell; ``coverage`` is the fraction of
label-boundary cells within one cell (3 × 3 neighbourhood) of a rasterised curve cell;
``coverage_chance`` is the fraction of all cells within one cell of a curve (the coverage of
boundary cells placed at random), and ``coverage_block`` the coverage within one posterior
cell (block sweep cells). Threshold-free: ``score_auc``, the ROC AUC of the boundary score (each sweep cell
given its tile's score) as a detector of label-boundary cells.
"""

from __future__ import annotations

import logging
from itertools import pairwise

import numpy as np
import xarray as xr

__all__ = ["compare_boundaries", "kernel_geometry", "neural_geometry", "posterior_grid", "rasterise", "score_auc"]

log = logging.getLogger(__name__)


def posterior_grid(n: int, block: int):
    """The posterior grid: centres of the block × block tiles of the N × N sweep grid over [0, 1]².

    Parameters
    ----------
    n : int
        Sweep points per side.
    block : int
        Sweep points per tile side (divides ``n``).

    Returns
    -------
    ParameterGrid
        ``n // block`` points per side.
    """
    from statgeo.diffusion import slice_grid

    h = 1.0 / (n - 1)
    lo, hi = (block - 1) / 2 * h, 1.0 - (block - 1) / 2 * h
    if block == 1:
        return slice_grid(n)
    return slice_grid(n // block, alpha_range=(lo, hi), beta_range=(lo, hi))


def _maps(potential, grid, posterior, curves, score) -> dict:
    return {"potential": potential, "grid": grid, "posterior": posterior, "curves": curves, "score": score}


def kernel_geometry(ds: xr.Dataset, grid, *, fit_steps: int, threshold: float = 3.0, seed: int = 0) -> dict:
    """Feature-kernel posterior → fit → metric → score → curves (``analyse_slice``).

    Parameters
    ----------
    ds : xarray.Dataset
        The sweep with ``embedding`` (alpha, beta, feature).
    grid : ParameterGrid
        The posterior grid.
    fit_steps : int
        ``max_steps`` of the fit.
    threshold : float, default 3.0
        Ridge threshold of ``extract_boundaries``.
    seed : int, default 0
        Seed of the fit.

    Returns
    -------
    dict
        ``potential``, ``grid``, ``posterior``, ``curves`` (list of (m, 2)), ``score``
        (DataArray over the posterior grid), ``metric`` (alpha, beta, i, j).
    """
    from statgeo.diffusion import analyse_slice

    geo = analyse_slice(ds, grid=grid, fit_kwargs={"max_steps": fit_steps, "seed": seed}, threshold=threshold,
                        progress=False)
    out = _maps(geo.potential, grid, geo.posterior, geo.curves, geo.maps["boundary_score"])
    out["metric"] = geo.maps["metric"]
    return out


def neural_geometry(ds: xr.Dataset, grid, block: int, *, steps: int | str, hidden: int, fit_steps: int,
                    threshold: float = 3.0, seed: int = 0) -> dict:
    """Neural grid posterior on tile samples → fit (paper's form) → metric → score → curves.

    Parameters
    ----------
    ds : xarray.Dataset
        The sweep with ``embedding`` (alpha, beta, feature).
    grid : ParameterGrid
        The posterior grid (N / block points per side).
    block : int
        Tile side in sweep points (block² samples per posterior point).
    steps : int or "auto"
        Training steps.
    hidden : int
        MLP width.
    fit_steps : int
        ``max_steps`` of the fit.
    threshold : float, default 3.0
        Ridge threshold of ``extract_boundaries``.
    seed : int, default 0
        Seed of the network and the fit.

    Returns
    -------
    dict
        As :func:`kernel_geometry`.
    """
    from statgeo.geometry.boundary import boundary_score, extract_boundaries
    from statgeo.geometry.logpartition import fit_log_partition
    from statgeo.geometry.posterior_neural import NeuralGridPosterior

    emb = ds["embedding"].transpose("alpha", "beta", "feature").values.astype(np.float64)
    n, _, f = emb.shape
    m = n // block
    # samples of posterior point (i, j): the block × block sweep points of tile (i, j)
    tiles = emb.reshape(m, block, m, block, f).transpose(0, 2, 1, 3, 4).reshape(m * m, block * block, f)
    net = NeuralGridPosterior(grid, 1, kind="vector", hidden=hidden, seed=seed)
    net.fit(tiles, steps=steps, progress=False)
    post = net.posterior(tiles, bundles_per_origin=max(4, block * block), seed=seed + 1)
    pot = fit_log_partition(post, grid, linear_term="gradient", max_steps=fit_steps, seed=seed, progress=False)
    maps = pot.to_dataset(grid)
    score = np.asarray(boundary_score(maps["metric"].values))
    score_da = xr.DataArray(score, dims=grid.names, coords=grid.coords(), name="boundary_score")
    curves = [np.asarray(c) for c in extract_boundaries(score, [a.values for a in grid.axes], threshold=threshold)]
    out = _maps(pot, grid, post, curves, score_da)
    out["metric"] = maps["metric"]
    out["training"] = dict(net.training)
    return out


def rasterise(curves: list, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Curves in slice coordinates → sweep-grid cells (N × N over [0, 1]²).

    Parameters
    ----------
    curves : list of numpy.ndarray
        Polylines ``(m, 2)`` (alpha, beta).
    n : int
        Sweep points per side.

    Returns
    -------
    tuple
        ``(mask, points)``: bool ``(n, n)`` cells hit, and the densified points in cell units
        ``(k, 2)``.
    """
    mask = np.zeros((n, n), dtype=bool)
    pts = []
    for c in curves:
        c = np.asarray(c, dtype=np.float64).reshape(-1, 2) * (n - 1)
        if len(c) == 1:
            pts.append(c)
            continue
        for a, b in pairwise(c):
            k = max(2, int(np.ceil(np.linalg.norm(b - a) * 4)) + 1)
            pts.append(a + np.linspace(0, 1, k)[:, None] * (b - a))
    if not pts:
        return mask, np.zeros((0, 2))
    p = np.concatenate(pts)
    idx = np.clip(np.rint(p).astype(int), 0, n - 1)
    mask[idx[:, 0], idx[:, 1]] = True
    return mask, p


def score_auc(score: np.ndarray, labels: np.ndarray, block: int) -> float:
    """Threshold-free: ROC AUC of the boundary score as a detector of label-boundary cells.

    Every sweep cell gets the score of the posterior cell whose tile holds it; the AUC is the
    probability that a label-boundary cell scores higher than a cell off the label boundary
    (ties count ½; Mann–Whitney U / (n₁ n₀)). 0.5 is chance.

    Parameters
    ----------
    score : numpy.ndarray
        ``(n / block, n / block)`` score on the posterior grid.
    labels : numpy.ndarray
        ``(n, n)`` labels.
    block : int
        Tile side.

    Returns
    -------
    float
        The AUC (NaN when every or no cell is a label-boundary cell).
    """
    from scipy.stats import rankdata

    from statgeo.diffusion import boundary_mask

    lb = boundary_mask(labels).ravel()
    fine = np.repeat(np.repeat(np.asarray(score, dtype=np.float64), block, axis=0), block, axis=1).ravel()
    n1, n0 = int(lb.sum()), int((~lb).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(fine)
    return float((r[lb].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def compare_boundaries(curves: list, labels: np.ndarray, block: int) -> dict:
    """Detected curves vs the label boundary of an N × N label map (module docstring).

    Parameters
    ----------
    curves : list of numpy.ndarray
        Detected curves in slice coordinates.
    labels : numpy.ndarray
        ``(n, n)`` integer labels on the sweep grid.
    block : int
        Posterior cell side in sweep cells (for ``coverage_block``).

    Returns
    -------
    dict
        ``distance_cells_median``, ``coverage``, ``coverage_block``, ``coverage_chance``,
        ``n_label_boundary_cells``, ``n_detected_cells``, ``n_curves``, and ``distances`` (the
        per-point distances, for pooling over slices).
    """
    from scipy import ndimage

    from statgeo.diffusion import boundary_mask

    n = labels.shape[0]
    lb = boundary_mask(labels)
    det, pts = rasterise(curves, n)
    out = {"n_curves": len(curves), "n_label_boundary_cells": int(lb.sum()), "n_detected_cells": int(det.sum())}
    if lb.any() and pts.size:
        dist = ndimage.distance_transform_edt(~lb)
        idx = np.clip(np.rint(pts).astype(int), 0, n - 1)
        d = dist[idx[:, 0], idx[:, 1]]
        out["distance_cells_median"] = float(np.median(d))
        out["distances"] = d.tolist()
    else:
        out["distance_cells_median"] = float("nan")
        out["distances"] = []
    near = ndimage.binary_dilation(det, structure=np.ones((3, 3), bool)) if det.any() else det
    near_b = ndimage.binary_dilation(det, structure=np.ones((2 * block + 1,) * 2, bool)) if det.any() else det
    nb = max(int(lb.sum()), 1)
    out["coverage"] = float((near & lb).sum() / nb) if lb.any() else float("nan")
    out["coverage_block"] = float((near_b & lb).sum() / nb) if lb.any() else float("nan")
    out["coverage_chance"] = float(near.mean())
    out["covered_cells"] = int((near & lb).sum())
    return out
