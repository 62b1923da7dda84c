"""Fractal zoom: nested windows around a boundary point, box-counting dimension per scale.

For each scale w (default 1e-1 … 1e-8) the window [α_c − w/2, α_c + w/2] × [β_c − w/2, β_c + w/2]
is sampled on an n × n grid, the images are regenerated (latents cast to the model's dtype)
and labelled by a phase classifier. Boundary cells are cells whose label differs from a
4-neighbour's. The box-counting dimension is the slope of ln N(k) against ln(1/k), where N(k)
counts the k × k blocks of cells holding a boundary cell, k = 1, 2, 4, … , n/4 (least squares;
Falconer, *Fractal Geometry*, §3.1). The number of connected boundary pieces and of distinct
phases per window track how the boundary splits as one zooms in.

Precision: the slice latent is computed in float64 and cast to the model dtype; when the
window is smaller than the dtype's resolution (see
:func:`statgeo.diffusion.slices.effective_resolution`), neighbouring grid points map to the
same latent. ``distinct_fraction`` (unique cast latents / n²) measures this; scales where it
falls below ½ are flagged ``resolved = False`` and the first of them is reported as the point
where numerical precision ends.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

import numpy as np
import xarray as xr

from statgeo.checks import check_int, check_real
from statgeo.diffusion.embed import _disable
from statgeo.diffusion.slices import LatentSlice, effective_resolution

log = logging.getLogger(__name__)

__all__ = ["zoom", "box_counting_dimension", "boundary_mask", "find_boundary_point", "DEFAULT_SCALES"]

DEFAULT_SCALES = tuple(10.0 ** -k for k in range(1, 9))


def boundary_mask(labels: np.ndarray) -> np.ndarray:
    """Cells whose label differs from the right or lower neighbour (or is the other side of one)."""
    lab = np.asarray(labels)
    m = np.zeros(lab.shape, dtype=bool)
    dx = lab[1:, :] != lab[:-1, :]
    dy = lab[:, 1:] != lab[:, :-1]
    m[1:, :] |= dx
    m[:-1, :] |= dx
    m[:, 1:] |= dy
    m[:, :-1] |= dy
    return m


def box_counting_dimension(mask: np.ndarray, min_box: int = 1, max_box: int | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """Box-counting dimension of a boolean cell mask: slope of ln N(k) vs ln(1/k).

    Returns (D, box sizes k, counts N(k)); D is NaN when the mask is empty or fewer than two
    box sizes are available.
    """
    m = np.asarray(mask, dtype=bool)
    n = min(m.shape)
    max_box = max(1, n // 4) if max_box is None else max_box
    ks, counts = [], []
    k = min_box
    while k <= max_box:
        h, w = (m.shape[0] // k) * k, (m.shape[1] // k) * k
        blocks = m[:h, :w].reshape(h // k, k, w // k, k).any(axis=(1, 3))
        ks.append(k)
        counts.append(int(blocks.sum()))
        k *= 2
    ks, counts = np.array(ks), np.array(counts)
    if len(ks) < 2 or counts.min() == 0:
        return float("nan"), ks, counts
    slope = np.polyfit(np.log(1.0 / ks), np.log(counts), 1)[0]
    return float(slope), ks, counts


def _labels_for(generator, classify, lslice: LatentSlice, a: np.ndarray, b: np.ndarray, batch_size: int):
    import torch

    out = []
    for s in range(0, a.size, batch_size):
        z = torch.from_numpy(lslice.latents(a[s:s + batch_size], b[s:s + batch_size])).to(generator.dtype)
        im, _ = generator(z, list(range(z.shape[0])))
        out.append(np.asarray(classify(im)))
    return np.concatenate(out)


def find_boundary_point(generator, classify: Callable, lslice: LatentSlice, start: Sequence[float],
                        end: Sequence[float], tol: float = 1e-12, batch_size: int = 64) -> np.ndarray:
    """Bisect the segment start → end (slice coordinates) for a label change, to ``tol``.

    Raises ``ValueError`` if the end points have the same label. Bisection (in float64 slice
    coordinates) keeps one point of each label; the returned point is their midpoint.
    """
    p0, p1 = np.asarray(start, np.float64), np.asarray(end, np.float64)
    tol = float(check_real("tol", tol, low=0.0, low_inclusive=False))
    l0, l1 = _labels_for(generator, classify, lslice, np.array([p0[0], p1[0]]), np.array([p0[1], p1[1]]), batch_size)
    if l0 == l1:
        raise ValueError("start and end have the same phase label; no boundary to bisect")
    while np.linalg.norm(p1 - p0) > tol:
        m = 0.5 * (p0 + p1)
        if np.all(m == p0) or np.all(m == p1):
            break
        lm = _labels_for(generator, classify, lslice, m[:1], m[1:], 1)[0]
        if lm == l0:
            p0 = m
        else:
            p1 = m
    return 0.5 * (p0 + p1)


def zoom(generator: Any, lslice: LatentSlice, center: Sequence[float], classify: Callable, *,
         scales: Sequence[float] = DEFAULT_SCALES, n: int = 64, batch_size: int = 256, progress: bool = True) -> xr.Dataset:
    """Nested windows around ``center`` = (α_c, β_c); labels, boundary, dimension per scale.

    Parameters
    ----------
    generator : a LatentGenerator (images are regenerated in its dtype).
    lslice : the slice. center : window centre in slice coordinates (a boundary point,
        e.g. from :func:`find_boundary_point`).
    classify : images (n, C, y, x) in [0, 1] → integer labels (e.g. a ``PhaseModel``).
    scales : window widths. n : grid points per window side.

    Returns
    -------
    xr.Dataset with ``labels`` (scale, u, v), ``box_dimension``, ``n_boundary_cells``,
    ``n_components``, ``n_phases``, ``distinct_fraction``, ``resolved`` (scale), coords
    ``alpha`` (scale, u), ``beta`` (scale, v); attrs ``effective_resolution_alpha/beta``,
    ``precision_ends_at`` (first unresolved scale, NaN if none) and ``dtype``.
    """
    import torch
    from scipy import ndimage
    from tqdm.auto import tqdm

    n = check_int("n", n, min=8)
    scales = np.asarray(check_real("scales", scales, low=0.0, low_inclusive=False), dtype=np.float64).ravel()
    c = np.asarray(center, dtype=np.float64)
    if c.shape != (2,):
        raise ValueError(f"center must be (alpha, beta), got shape {c.shape}")
    dtype = getattr(generator, "dtype", torch.float32)
    res = effective_resolution(lslice, dtype, float(c[0]), float(c[1]))
    offs = (np.arange(n) - (n - 1) / 2) / (n - 1)
    labels = np.zeros((scales.size, n, n), dtype=np.int64)
    A = np.zeros((scales.size, n))
    B = np.zeros((scales.size, n))
    dim = np.full(scales.size, np.nan)
    nb = np.zeros(scales.size, dtype=np.int64)
    ncomp = np.zeros(scales.size, dtype=np.int64)
    nph = np.zeros(scales.size, dtype=np.int64)
    distinct = np.zeros(scales.size)
    for i, w in enumerate(tqdm(scales, desc="zoom", disable=_disable(progress))):
        A[i] = c[0] + w * offs
        B[i] = c[1] + w * offs
        aa, bb = np.meshgrid(A[i], B[i], indexing="ij")
        lab = _labels_for(generator, classify, lslice, aa.ravel(), bb.ravel(), batch_size).reshape(n, n)
        labels[i] = lab
        zc = torch.from_numpy(lslice.latents(aa.ravel(), bb.ravel())).to(dtype).reshape(n * n, -1)
        distinct[i] = torch.unique(zc, dim=0).shape[0] / (n * n)
        m = boundary_mask(lab)
        nb[i] = int(m.sum())
        ncomp[i] = int(ndimage.label(m, structure=np.ones((3, 3)))[1])
        nph[i] = int(np.unique(lab).size)
        dim[i] = box_counting_dimension(m)[0] if nb[i] else np.nan
    resolved = distinct >= 0.5
    ends = float(scales[~resolved][0]) if (~resolved).any() else float("nan")
    if not np.isnan(ends):
        log.info("zoom: numerical precision of %s ends at window width %.1e", dtype, ends)
    return xr.Dataset(
        {"labels": (("scale", "u", "v"), labels, {"long_name": "phase label"}),
         "box_dimension": ("scale", dim, {"long_name": "box-counting dimension of the boundary", "units": "1"}),
         "n_boundary_cells": ("scale", nb), "n_components": ("scale", ncomp), "n_phases": ("scale", nph),
         "distinct_fraction": ("scale", distinct, {"long_name": "distinct latents after the dtype cast / n²"}),
         "resolved": ("scale", resolved)},
        coords={"scale": ("scale", scales, {"long_name": "window width", "units": "1"}),
                "alpha": (("scale", "u"), A, {"long_name": "slice coordinate α", "units": "1"}),
                "beta": (("scale", "v"), B, {"long_name": "slice coordinate β", "units": "1"})},
        attrs={"center_alpha": float(c[0]), "center_beta": float(c[1]), "dtype": str(dtype).replace("torch.", ""),
               "effective_resolution_alpha": res["alpha"], "effective_resolution_beta": res["beta"],
               "dtype_eps": res["eps"], "precision_ends_at": ends})
