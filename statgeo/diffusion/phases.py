"""Phase maps: cluster image embeddings over a slice into phases (k-means), draw them.

Labels come from k-means (Lloyd's algorithm, SciPy's ``kmeans2`` with k-means++ seeding, best
of several restarts by inertia Σ‖φ − c_label‖²). Clusters are renumbered in order of their
first appearance in C order over the slice, so labels are reproducible. The resulting
:class:`PhaseModel` (embedder + centroids) labels new images by the nearest centroid (used by
the zoom to label regenerated windows consistently with the full slice; docs/diffusion.md,
"Phase maps").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import xarray as xr

from statgeo.checks import check_allocation, check_callable, check_int
from statgeo.diffusion._checks import check_str, real_array

log = logging.getLogger(__name__)

__all__ = ["kmeans", "PhaseModel", "phase_map", "plot_phase_map", "MAX_KMEANS_RESTARTS"]

#: most k-means restarts (``n_init``) accepted
MAX_KMEANS_RESTARTS = 1000


def kmeans(features: Any, n_clusters: int, seed: int = 0, n_init: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """k-means of ``features`` (n, d), best of ``n_init`` restarts by inertia Σ‖φ − c_label‖².

    Lloyd's algorithm (SciPy's ``kmeans2``, k-means++ seeding, 50 iterations per restart).
    Labels are renumbered by first appearance (label 0 is the cluster of the first point).

    Parameters
    ----------
    features : array_like
        ``(n, d)`` finite features.
    n_clusters : int
        Number of clusters k, in ``[1, n]``.
    seed : int, default 0
        Seed of the k-means++ initialisations (≥ 0).
    n_init : int, default 8
        Restarts, in ``[1, MAX_KMEANS_RESTARTS]``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(labels, centroids)``: int64 labels ``(n,)`` and centroids ``(k, d)``.

    Raises
    ------
    TypeError
        ``features`` is not real or a count is not an integer.
    ValueError
        ``features`` not a non-empty finite ``(n, d)`` array, or a count out of range.

    Examples
    --------
    >>> lab, c = kmeans([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]], 2)
    >>> lab.tolist()
    [0, 0, 1, 1]
    """
    from scipy.cluster.vq import kmeans2

    f = real_array("features", features)
    if f.ndim != 2:
        raise ValueError(f"features must be a non-empty (n, d) array, got shape {f.shape}")
    k = check_int("n_clusters", n_clusters, min=1, max=f.shape[0])
    seed = check_int("seed", seed, min=0)
    n_init = check_int("n_init", n_init, min=1, max=MAX_KMEANS_RESTARTS)
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(n_init):
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
    """Nearest-centroid phase classifier in an embedder's feature space.

    Parameters
    ----------
    embedder : callable
        Images → features (the embedder that made the clustered features).
    centroids : array_like
        ``(k, d)`` finite cluster centres (label i is centroid i).

    Raises
    ------
    TypeError
        ``embedder`` is not callable or ``centroids`` not real.
    ValueError
        ``centroids`` is not a non-empty finite ``(k, d)`` array.

    Examples
    --------
    >>> m = PhaseModel(lambda im: im.reshape(len(im), -1), [[0.0, 0.0], [1.0, 1.0]])
    >>> m.predict_features([[0.1, 0.2], [0.9, 0.7]]).tolist()
    [0, 1]
    """

    embedder: Callable[[Any], np.ndarray]
    centroids: np.ndarray

    def __post_init__(self) -> None:
        check_callable("embedder", self.embedder)
        c = real_array("centroids", self.centroids)
        if c.ndim != 2:
            raise ValueError(f"centroids must be a (k, d) array, got shape {c.shape}")
        self.centroids = c

    def predict_features(self, features: Any) -> np.ndarray:
        """Labels of features: the index of the nearest centroid (Euclidean).

        Parameters
        ----------
        features : array_like
            ``(..., d)`` finite features.

        Returns
        -------
        numpy.ndarray
            int64 labels ``(...)``.

        Raises
        ------
        TypeError
            ``features`` is not real.
        ValueError
            The last dimension is not d, non-finite values, or too many features for memory.
        """
        f = real_array("features", features, min_ndim=1)
        if f.shape[-1] != self.centroids.shape[1]:
            raise ValueError(f"features must have {self.centroids.shape[1]} components (last axis), got shape {f.shape}")
        check_allocation("the distances (features, centroids, d)", (f.size, self.centroids.shape[0]), np.float64,
                         names="features")
        d = ((f[..., None, :] - self.centroids) ** 2).sum(-1)
        return d.argmin(-1)

    def __call__(self, images: Any) -> np.ndarray:
        """Labels of images (…, channel, y, x) (uint8 or float in [0, 1]).

        Parameters
        ----------
        images : array_like
            Images the embedder accepts.

        Returns
        -------
        numpy.ndarray
            int64 labels ``(...)``.
        """
        return self.predict_features(self.embedder(images))


def phase_map(ds: xr.Dataset, n_phases: int, *, embedder: Callable | None = None, seed: int = 0,
              n_init: int = 8) -> tuple[xr.DataArray, PhaseModel | None]:
    """Cluster ``ds.embedding`` over the slice into ``n_phases`` phases (:func:`kmeans`).

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep with ``embedding`` (…, feature) (see :func:`~statgeo.diffusion.add_embeddings`).
    n_phases : int
        Number of phases, in ``[1, number of images]``.
    embedder : callable, optional
        The embedder that made the embeddings; with it a :class:`PhaseModel` is returned.
    seed : int, default 0
        k-means seed.
    n_init : int, default 8
        k-means restarts.

    Returns
    -------
    tuple
        ``(labels, model)``: a DataArray ``phase`` over the slice dims (int) and a
        :class:`PhaseModel` (None without ``embedder``).

    Raises
    ------
    TypeError
        ``ds`` is not a Dataset or ``embedder`` not callable.
    ValueError
        No ``embedding`` variable, or a count out of range.

    Examples
    --------
    >>> ds = xr.Dataset({"embedding": (("point", "feature"), [[0.0, 1.0], [0.0, 0.9], [1.0, 0.0]])})
    >>> phase_map(ds, 2)[0].values.tolist()
    [0, 0, 1]
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    check_callable("embedder", embedder, optional=True)
    if "embedding" not in ds:
        raise ValueError("dataset has no 'embedding' variable; run add_embeddings first")
    emb = ds["embedding"]
    if "feature" not in emb.dims:
        raise ValueError(f"ds.embedding must have a 'feature' dim, got {emb.dims}")
    lead = [d for d in emb.dims if d != "feature"]
    emb = emb.transpose(*lead, "feature")
    if emb.dtype.kind not in "iuf" or emb.size == 0:
        raise ValueError(f"ds.embedding must be a non-empty array of real numbers, got dtype {emb.dtype}")
    if not np.isfinite(emb.values).all():
        raise ValueError("ds.embedding must be finite (got NaN or inf)")
    check_int("n_phases", n_phases, min=1, max=int(np.prod(emb.shape[:-1])))
    lab, c = kmeans(emb.values.reshape(-1, emb.shape[-1]), n_phases, seed=seed, n_init=n_init)
    labels = xr.DataArray(lab.reshape(emb.shape[:-1]), dims=lead, coords={d: ds[d] for d in lead if d in ds.coords},
                          name="phase", attrs={"long_name": "phase label (k-means of embeddings)", "units": "1",
                                               "n_phases": int(n_phases)})
    if "alpha" in ds.coords and "alpha" not in lead:
        labels = labels.assign_coords(alpha=ds["alpha"], beta=ds["beta"])
    return labels, (PhaseModel(embedder, c) if embedder is not None else None)


def _check_map(name: str, value: Any) -> None:
    if not isinstance(value, xr.DataArray):
        raise TypeError(f"{name} must be an xarray.DataArray over (alpha, beta), got {type(value).__name__}")
    if set(value.dims) != {"alpha", "beta"}:
        raise ValueError(f"{name} must have dims (alpha, beta), got {value.dims}")
    if value.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {value.dtype}")
    if value.dtype.kind == "f" and not np.isfinite(value.values).all():
        raise ValueError(f"{name} must be finite (got NaN or inf)")


def plot_phase_map(labels: xr.DataArray, boundary_score: xr.DataArray | None = None, ax: Any = None, *,
                   cmap: str = "tab10", levels: int = 6) -> Any:
    """Draw phase labels over (alpha, beta) and, if given, contours of the boundary score.

    Parameters
    ----------
    labels : xarray.DataArray
        Phase labels with dims ``(alpha, beta)`` (from :func:`phase_map` on a grid sweep).
    boundary_score : xarray.DataArray, optional
        A score with dims ``(alpha, beta)`` (e.g. ``analyse_slice(...).maps.boundary_score``).
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    cmap : str, default "tab10"
        A matplotlib colormap name.
    levels : int, default 6
        Number of contour levels of the score, in ``[1, 1000]``.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        Maps without dims (alpha, beta) or with NaN, an unknown colormap, ``levels`` out of
        range.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    _check_map("labels", labels)
    if boundary_score is not None:
        _check_map("boundary_score", boundary_score)
    check_str("cmap", cmap)
    if cmap not in matplotlib.colormaps:
        raise ValueError(f"cmap must be a matplotlib colormap name, got {cmap!r}")
    levels = check_int("levels", levels, min=1, max=1000)
    if ax is not None and not isinstance(ax, matplotlib.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
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
