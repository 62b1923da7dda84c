"""Probe points of a slice, the fractal zoom and the Lipschitz growth exponent.

Boundary points: pairs of β-neighbours of the sweep grid with different labels, one pair per
α-column, columns spread evenly over the ones that have a pair (within a column the pair whose
weaker side is the most confident); each pair is bisected along β
(:func:`statgeo.diffusion.find_boundary_point`) to a tenth of the dtype's resolution there
(:func:`statgeo.diffusion.effective_resolution`). Inside points: confident cells at least
``max(2, N / 16)`` cells from every label-boundary cell, the deepest first, at least N / 4
cells apart (one per phase before a second in any phase).

Zoom: windows 10⁻¹, 10⁻², … around a boundary point down to the precision floor (the first
window whose grid step w / (n − 1) falls below the effective resolution), labels
from the classifier, box-counting dimension per window (:func:`statgeo.diffusion.zoom`).

Lipschitz: for each point p and step δ = 10⁻¹, 10⁻², … (down to 100× the effective resolution), the
pair p ∓ (δ/2) u with u = (0, 1) (β), so at a boundary point every pair straddles the bisected
crossing; ratios ‖G(z(q)) − G(z(p))‖ / ‖z(q) − z(p)‖ in pixels and in classifier features
(:func:`statgeo.diffusion.lipschitz_ratios`), and the growth exponent d ln L / d ln δ per point
(:func:`statgeo.diffusion.growth_exponent`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["bisect_boundary", "boundary_pairs", "effective_resolution_at", "inside_points", "labeller",
           "lipschitz_deltas", "run_lipschitz", "run_precision_check", "run_zoom", "zoom_depth"]

log = logging.getLogger(__name__)


def labeller(classifier: Any):
    """``images -> labels`` from a classifier's ``classify`` (the zoom's and the bisection's labeller).

    Parameters
    ----------
    classifier : object
        ``classify(images) -> (labels, confidence)``.

    Returns
    -------
    callable
        images → int64 labels.
    """
    def classify(images):
        return np.asarray(classifier.classify(images)[0], dtype=np.int64)

    return classify


def boundary_pairs(labels: np.ndarray, confidence: np.ndarray, k: int) -> list[tuple[int, int]]:
    """Up to ``k`` β-neighbour pairs ``(i, j)``–``(i, j + 1)`` with different labels (module docstring).

    Parameters
    ----------
    labels, confidence : numpy.ndarray
        ``(n, n)`` label and confidence maps.
    k : int
        Pairs wanted.

    Returns
    -------
    list of tuple
        ``(i, j)`` of the lower cell of each pair.
    """
    diff = labels[:, 1:] != labels[:, :-1]
    cols = [i for i in range(labels.shape[0]) if diff[i].any()]
    if not cols or k == 0:
        return []
    pick = sorted({cols[round(x)] for x in np.linspace(0, len(cols) - 1, min(k, len(cols)))})
    out = []
    for i in pick:
        js = np.flatnonzero(diff[i])
        strength = np.minimum(confidence[i, js], confidence[i, js + 1])
        out.append((i, int(js[np.argmax(strength)])))
    return out


def inside_points(labels: np.ndarray, confidence: np.ndarray, k: int, min_confidence: float) -> list[tuple[int, int]]:
    """Up to ``k`` cells deep inside phases (module docstring).

    Parameters
    ----------
    labels, confidence : numpy.ndarray
        ``(n, n)`` maps.
    k : int
        Cells wanted.
    min_confidence : float
        Confidence a cell must reach.

    Returns
    -------
    list of tuple
        ``(i, j)`` cells.
    """
    from scipy import ndimage

    from statgeo.diffusion import boundary_mask

    n = labels.shape[0]
    lb = boundary_mask(labels)
    dist = ndimage.distance_transform_edt(~lb) if lb.any() else np.full(labels.shape, float(n))
    ok = (dist >= max(2.0, n / 16)) & (confidence >= min_confidence)
    cand = np.argwhere(ok)
    if cand.size == 0 or k == 0:
        return []
    order = np.lexsort((cand[:, 1], cand[:, 0], -dist[ok]))
    cand = cand[order]
    chosen: list[tuple[int, int]] = []
    for rnd in range(2 * k):  # round r allows a phase its (r+1)-th point
        for c in cand:
            if len(chosen) >= k:
                break
            if any(np.hypot(*(c - np.array(p))) < n / 4 for p in chosen):
                continue
            lab = labels[tuple(c)]
            if sum(labels[p] == lab for p in chosen) > rnd:
                continue
            chosen.append((int(c[0]), int(c[1])))
        if len(chosen) >= k:
            break
    return chosen


def bisect_boundary(generator: Any, classifier: Any, lslice: Any, start, end, batch_size: int) -> tuple[np.ndarray, float]:
    """Bisect start → end for the label change, to a tenth of the resolution there.

    Parameters
    ----------
    generator, classifier, lslice : object
        The generator, the classifier and the slice.
    start, end : sequence of float
        Points with different labels.
    batch_size : int
        Latents per call.

    Returns
    -------
    tuple
        ``(point, resolution)``: the boundary point and the effective resolution there (the
        larger of the α and β ones).
    """
    from statgeo.diffusion import find_boundary_point

    mid = 0.5 * (np.asarray(start, float) + np.asarray(end, float))
    res = max(effective_resolution_at(lslice, generator.dtype, mid))
    tol = max(res / 10, 1e-15)
    p = find_boundary_point(generator, labeller(classifier), lslice, start, end, tol=tol, batch_size=batch_size)
    return np.asarray(p, dtype=np.float64), float(res)


def effective_resolution_at(lslice: Any, dtype: Any, point) -> tuple[float, float]:
    """The effective resolutions (α, β) of the slice at a point for a dtype.

    Parameters
    ----------
    lslice : LatentSlice
        The slice.
    dtype : torch.dtype or str
        The model dtype.
    point : sequence of float
        (alpha, beta).

    Returns
    -------
    tuple of float
        ``(res_alpha, res_beta)``.
    """
    from statgeo.diffusion import effective_resolution

    r = effective_resolution(lslice, dtype, float(point[0]), float(point[1]))
    return float(r["alpha"]), float(r["beta"])


def zoom_depth(resolution: float, n: int) -> int:
    """Decades of the zoom: down to the first window whose step w / (n − 1) falls below the resolution.

    Parameters
    ----------
    resolution : float
        Effective resolution (slice units).
    n : int
        Window side in points.

    Returns
    -------
    int
        In [2, MAX_ZOOM_DEPTH].
    """
    from statgeo.diffusion import MAX_ZOOM_DEPTH

    k = int(np.ceil(-np.log10(max(resolution * (n - 1), 1e-300))))
    return int(min(MAX_ZOOM_DEPTH, max(2, k)))


def run_zoom(generator: Any, classifier: Any, lslice: Any, center, resolution: float, n: int,
             batch_size: int) -> xr.Dataset:
    """The zoom around one boundary point down past the precision floor.

    Parameters
    ----------
    generator, classifier, lslice : object
        The generator, the classifier and the slice.
    center : sequence of float
        The boundary point.
    resolution : float
        Effective resolution at the point.
    n : int
        Window side.
    batch_size : int
        Latents per call.

    Returns
    -------
    xarray.Dataset
        :func:`statgeo.diffusion.zoom`'s result.
    """
    from statgeo.diffusion import zoom

    return zoom(generator, lslice, center, labeller(classifier), depth=zoom_depth(resolution, n), n=n,
                batch_size=batch_size, progress=False)


def run_precision_check(generator: Any, generator64: Any, classifier: Any, lslice: Any, center, scales,
                        n: int, batch_size: int) -> xr.Dataset:
    """The same zoom windows in the model dtype and in float64: where the dtype's labels stop being the model's.

    Parameters
    ----------
    generator, generator64 : LatentGenerator
        The generator in its dtype and the same weights in float64.
    classifier, lslice : object
        The classifier and the slice.
    center : sequence of float
        The boundary point.
    scales : sequence of float
        Window widths (the finest of the zoom).
    n : int
        Window side (≥ 8).
    batch_size : int
        Latents per call.

    Returns
    -------
    xarray.Dataset
        ``labels`` and ``labels_float64`` (scale, u, v), ``agreement`` (fraction of equal
        labels), ``box_dimension`` and ``box_dimension_float64`` (scale).
    """
    from statgeo.diffusion import zoom

    kw = {"scales": [float(s) for s in scales], "n": n, "batch_size": batch_size, "progress": False}
    a = zoom(generator, lslice, center, labeller(classifier), **kw)
    b = zoom(generator64, lslice, center, labeller(classifier), **kw)
    return xr.Dataset({"labels": a["labels"], "labels_float64": b["labels"],
                       "agreement": ("scale", (a["labels"].values == b["labels"].values).mean(axis=(1, 2))),
                       "box_dimension": a["box_dimension"], "box_dimension_float64": b["box_dimension"]},
                      coords={"scale": a["scale"]}, attrs={"dtype": a.attrs["dtype"], "center": list(map(float, center))})


def lipschitz_deltas(resolution: float, decades: int, margin: float = 100.0) -> np.ndarray:
    """Steps 10⁻¹, 10⁻², … down to the last decade at least ``margin`` × ``resolution``.

    Parameters
    ----------
    resolution : float
        The coarsest effective resolution over the probe points.
    decades : int
        Most steps.
    margin : float, default 100.0
        Smallest step in effective resolutions (the zoom's rule for trustworthy windows).

    Returns
    -------
    numpy.ndarray
        At least two steps.
    """
    d = [10.0 ** -k for k in range(1, decades + 1) if 10.0 ** -k >= margin * resolution]
    return np.array(d if len(d) >= 2 else [1e-1, 1e-2])


def run_lipschitz(generator: Any, lslice: Any, points: np.ndarray, deltas: np.ndarray, embedder: Any,
                  batch_size: int) -> xr.Dataset:
    """Straddling Lipschitz ratios p ∓ δ/2 u (u = β) for every point and step; growth exponents.

    Parameters
    ----------
    generator, lslice : object
        The generator and the slice.
    points : numpy.ndarray
        ``(m, 2)`` probe points.
    deltas : numpy.ndarray
        Steps δ.
    embedder : callable
        Classifier features.
    batch_size : int
        Latents per call.

    Returns
    -------
    xarray.Dataset
        ``ratio_pixel``, ``ratio_feature`` (point, delta); ``exponent_pixel``,
        ``exponent_feature`` (point).
    """
    from statgeo.diffusion import growth_exponent, lipschitz_ratios

    u = np.array([0.0, 1.0])
    parts = []
    for d in deltas:
        r = lipschitz_ratios(generator, lslice, points - 0.5 * d * u, [float(d)], direction=tuple(u),
                             embedder=embedder, batch_size=batch_size)
        parts.append(r.drop_vars(["alpha", "beta"]))
    ds = xr.concat(parts, dim="delta")
    ds = ds.assign_coords(alpha=("point", points[:, 0]), beta=("point", points[:, 1]))
    ds["exponent_pixel"] = growth_exponent(ds["ratio_pixel"])
    ds["exponent_feature"] = growth_exponent(ds["ratio_feature"])
    return ds
