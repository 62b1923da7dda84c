"""Phase maps: cluster image embeddings over a slice into phases (k-means), draw them.

Labels come from k-means (Lloyd's algorithm, SciPy's ``kmeans2`` with k-means++ seeding, best
of several restarts by inertia Σ‖φ − c_label‖²). Clusters are renumbered in order of their
first appearance in C order over the slice, so labels are reproducible. The resulting
:class:`PhaseModel` (embedder + centroids) labels new images by the nearest centroid (used by
the zoom to label regenerated windows consistently with the full slice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import xarray as xr

from statgeo.checks import check_int

log = logging.getLogger(__name__)

__all__ = ["kmeans", "PhaseModel", "phase_map", "plot_phase_map"]


def kmeans(features: np.ndarray, n_clusters: int, seed: int = 0, n_init: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """k-means of ``features`` (n, d): returns (labels (n,), centroids (k, d)), best of ``n_init``.

    Labels are renumbered by first appearance (label 0 is the cluster of the first point).
    """
    from scipy.cluster.vq import kmeans2

    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] == 0:
        raise ValueError(f"features must be a non-empty (n, d) array, got shape {f.shape}")
    k = check_int("n_clusters", n_clusters, min=1, max=f.shape[0])
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(check_int("n_init", n_init, min=1)):
        c, lab = kmeans2(f, k, minit="++", seed=rng, iter=50)
        inertia = float(((f - c[lab]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, c, lab)
    _, c, lab = best
    order = []
    for v in lab:
        if v not in order:
            order.append(int(v))
    order += [i for i in range(k) if i not in order]
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    return remap[lab], c[order]


@dataclass
class PhaseModel:
    """Nearest-centroid phase classifier in an embedder's feature space."""

    embedder: Callable[[Any], np.ndarray]
    centroids: np.ndarray

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        f = np.asarray(features, dtype=np.float64)
        d = ((f[..., None, :] - self.centroids) ** 2).sum(-1)
        return d.argmin(-1)

    def __call__(self, images) -> np.ndarray:
        """Labels of images (…, channel, y, x) (uint8 or float in [0, 1])."""
        return self.predict_features(self.embedder(images))


def phase_map(ds: xr.Dataset, n_phases: int, *, embedder: Callable | None = None, seed: int = 0,
              n_init: int = 8) -> tuple[xr.DataArray, PhaseModel | None]:
    """Cluster ``ds.embedding`` over the slice into ``n_phases`` phases.

    Returns the labels as a DataArray over the slice dims (``phase``, int) and, if the
    ``embedder`` that made the embeddings is given, a :class:`PhaseModel` for new images.
    """
    if "embedding" not in ds:
        raise ValueError("dataset has no 'embedding' variable; run add_embeddings first")
    emb = ds["embedding"]
    lead = [d for d in emb.dims if d != "feature"]
    emb = emb.transpose(*lead, "feature")
    lab, c = kmeans(emb.values.reshape(-1, emb.shape[-1]), n_phases, seed=seed, n_init=n_init)
    labels = xr.DataArray(lab.reshape(emb.shape[:-1]), dims=lead, coords={d: ds[d] for d in lead if d in ds.coords},
                          name="phase", attrs={"long_name": "phase label (k-means of embeddings)", "units": "1",
                                               "n_phases": int(n_phases)})
    if "alpha" in ds.coords and "alpha" not in lead:
        labels = labels.assign_coords(alpha=ds["alpha"], beta=ds["beta"])
    return labels, (PhaseModel(embedder, c) if embedder is not None else None)


def plot_phase_map(labels: xr.DataArray, boundary_score: xr.DataArray | None = None, ax=None, *, cmap: str = "tab10",
                   levels: int = 6):
    """Draw phase labels over (alpha, beta) and, if given, contours of the boundary score."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    lab = labels.transpose("beta", "alpha")
    a, b = labels["alpha"].values, labels["beta"].values
    ax.pcolormesh(a, b, lab.values, cmap=cmap, shading="nearest", vmin=0, vmax=max(9, int(lab.max())))
    if boundary_score is not None:
        s = boundary_score.transpose("beta", "alpha")
        cs = ax.contour(s["alpha"].values, s["beta"].values, s.values, levels=levels, colors="k", linewidths=0.7)
        ax.clabel(cs, fontsize=6)
    ax.set_xlabel(f"{labels['alpha'].attrs.get('long_name', 'alpha')} [{labels['alpha'].attrs.get('units', '1')}]")
    ax.set_ylabel(f"{labels['beta'].attrs.get('long_name', 'beta')} [{labels['beta'].attrs.get('units', '1')}]")
    ax.set_title("phase map")
    return ax
