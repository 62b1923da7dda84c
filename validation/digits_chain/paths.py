"""Geodesic vs straight interpolation between two slice points (cross-phase and same-phase pairs).

Pairs come from the inside points (:func:`validation.digits_chain.probes.inside_points`): the
cross-phase pair is the two deepest points of different phases; the same-phase pair is the two
points of one phase farthest apart whose straight segment stays inside the phase on the sweep's
label map (checked at 4 samples per cell). Each pair goes through
:func:`statgeo.diffusion.interpolation_paths` with the kernel-posterior metric (images
regenerated along both paths, metric/pixel/feature lengths); here we add the labels along
each path, the number of label changes between consecutive images, and the straightness of the
geodesic: its largest distance from the chord divided by the chord length.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

__all__ = ["choose_pairs", "label_changes", "run_paths"]


def _segment_inside(labels: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    k = int(np.ceil(np.abs(b - a).max() * 4)) + 2
    pts = np.rint(a + np.linspace(0, 1, k)[:, None] * (b - a)).astype(int)
    return bool(np.all(labels[pts[:, 0], pts[:, 1]] == labels[tuple(a.astype(int))]))


def choose_pairs(labels: np.ndarray, confidence: np.ndarray, min_confidence: float) -> dict:
    """Cross-phase and same-phase pairs of cells (module docstring).

    Parameters
    ----------
    labels, confidence : numpy.ndarray
        ``(n, n)`` maps.
    min_confidence : float
        Confidence the cells must reach.

    Returns
    -------
    dict
        ``{"cross": ((i, j), (i, j)), "same": (...)}``; a pair is missing when no cells
        qualify.
    """
    from scipy import ndimage

    from statgeo.diffusion import boundary_mask

    n = labels.shape[0]
    lb = boundary_mask(labels)
    dist = ndimage.distance_transform_edt(~lb) if lb.any() else np.full(labels.shape, float(n))
    ok = (confidence >= min_confidence) & (dist >= 1.0)
    out: dict = {}
    deepest = {}
    for lab in np.unique(labels[ok]):
        m = ok & (labels == lab)
        idx = np.argwhere(m)
        deepest[int(lab)] = (tuple(int(v) for v in idx[np.argmax(dist[m])]), float(dist[m].max()), int(m.sum()))
    if len(deepest) >= 2:
        two = sorted(deepest.values(), key=lambda t: (-t[1], t[0]))[:2]
        out["cross"] = (two[0][0], two[1][0])
    best = None
    for lab, (_, _, size) in sorted(deepest.items(), key=lambda kv: -kv[1][2]):
        idx = np.argwhere(ok & (labels == lab))
        if len(idx) < 2:
            continue
        sub = idx[np.linspace(0, len(idx) - 1, min(len(idx), 120)).astype(int)]
        d2 = ((sub[:, None, :] - sub[None, :, :]) ** 2).sum(-1)
        for flat in np.argsort(-d2, axis=None):
            a, b = np.unravel_index(flat, d2.shape)
            if d2[a, b] == 0:
                break
            if _segment_inside(labels, sub[a].astype(float), sub[b].astype(float)):
                if best is None or d2[a, b] > best[0]:
                    best = (int(d2[a, b]), tuple(map(int, sub[a])), tuple(map(int, sub[b])))
                break
        if best is not None:
            break
    if best is not None:
        out["same"] = (best[1], best[2])
    return out


def label_changes(labels: np.ndarray) -> int:
    """Number of consecutive pairs with different labels.

    Parameters
    ----------
    labels : numpy.ndarray
        Labels along a path.

    Returns
    -------
    int
    """
    labels = np.asarray(labels)
    return int((labels[1:] != labels[:-1]).sum())


def run_paths(potential: Any, generator: Any, lslice: Any, classifier: Any, embedder: Any, start, end, *,
              n_points: int, bounds, batch_size: int, max_iter: int = 5000) -> tuple[xr.Dataset, dict]:
    """Geodesic and straight paths between two points, with labels and straightness.

    Parameters
    ----------
    potential : object
        The metric source.
    generator, lslice, classifier, embedder : object
        Generator, slice, classifier and feature embedder.
    start, end : sequence of float
        End points.
    n_points : int
        Images per path.
    bounds : sequence
        Box of the geodesic's interior points.
    batch_size : int
        Latents per call.
    max_iter : int, default 5000
        Most iterations of the geodesic solver.

    Returns
    -------
    tuple
        ``(ds, summary)``: the paths dataset (``label``, ``confidence`` added) and per path
        ``metric_length``, ``pixel_length``, ``feature_length``, ``label_changes``, plus
        ``geodesic_deviation`` and ``geodesic_converged``.
    """
    from statgeo.diffusion import interpolation_paths

    ds = interpolation_paths(potential, generator, lslice, start, end, n_points=n_points, embedder=embedder,
                             bounds=bounds, batch_size=batch_size,
                             geodesic_kwargs={"max_iter": max_iter})
    imgs = ds["image"].values
    lab, conf = classifier.classify(imgs.reshape((-1,) + imgs.shape[2:]).astype(np.float64))
    lab = np.asarray(lab, dtype=np.int64).reshape(imgs.shape[:2])
    ds["label"] = (("path", "step"), lab)
    ds["confidence"] = (("path", "step"), np.asarray(conf, dtype=np.float64).reshape(imgs.shape[:2]))
    p0, p1 = np.asarray(start, float), np.asarray(end, float)
    chord = p1 - p0
    g = np.stack([ds["alpha"].sel(path="geodesic").values, ds["beta"].sel(path="geodesic").values], -1)
    rel = g - p0
    perp = np.abs(rel[:, 0] * chord[1] - rel[:, 1] * chord[0]) / np.linalg.norm(chord)
    summary = {"start": p0.tolist(), "end": p1.tolist(), "geodesic_converged": bool(ds.attrs["geodesic_converged"]),
               "geodesic_deviation": float(perp.max() / np.linalg.norm(chord))}
    for i, name in enumerate(ds["path"].values.tolist()):
        summary[name] = {"metric_length": float(ds["metric_length"].values[i]),
                         "pixel_length": float(ds["pixel_length"].values[i]),
                         "feature_length": float(ds["feature_length"].values[i]),
                         "label_changes": label_changes(lab[i]), "labels": lab[i].tolist()}
    return ds, summary
