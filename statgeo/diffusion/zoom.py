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

Noise (the rule of :mod:`statgeo.diffusion.generation`): a zoom, and a boundary bisection, is
the neighbourhood of one point, so all of its points share one noise seed, that of point 0,
``point_seeds(noise_seed, 1)[0]``. For a stochastic sampler the labels then change across a
window only through the latent: the boundary zoomed into is that of one fixed noise draw.

Caps (docs/diffusion.md, "Input rules and caps"): at most :data:`MAX_ZOOM_SCALES` windows, a
``depth`` of at most :data:`MAX_ZOOM_DEPTH` decades, and windows whose latents fit in memory.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

import numpy as np
import xarray as xr

from statgeo.checks import check_allocation, check_callable, check_int
from statgeo.diffusion._checks import check_generator, check_point, check_scalar, check_slice, real_array
from statgeo.diffusion.generation import generate_float, point_seeds
from statgeo.diffusion.slices import LatentSlice, effective_resolution
from statgeo.progress import progress_bar, progress_disabled

log = logging.getLogger(__name__)

__all__ = ["zoom", "box_counting_dimension", "boundary_mask", "find_boundary_point", "DEFAULT_SCALES",
           "MAX_ZOOM_DEPTH", "MAX_ZOOM_SCALES"]

#: the default window widths 1e-1, …, 1e-8
DEFAULT_SCALES = tuple(10.0 ** -k for k in range(1, 9))

#: most decades of ``zoom(..., depth=)``: windows 1e-1 … 1e-16 (float64 slice coordinates of order 1
#: cannot resolve narrower windows)
MAX_ZOOM_DEPTH = 16

#: most windows (``len(scales)``) of one zoom
MAX_ZOOM_SCALES = 64


def _label_array(name: str, labels: Any) -> np.ndarray:
    if isinstance(labels, (str, bytes)) or labels is None:
        raise TypeError(f"{name} must be a 2-D array, got {type(labels).__name__}")
    lab = np.asarray(labels)
    if lab.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers or booleans, got dtype {lab.dtype}")
    if lab.ndim != 2 or lab.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {lab.shape}")
    if lab.dtype.kind == "f" and not np.isfinite(lab).all():
        raise ValueError(f"{name} must be finite (got NaN or inf)")
    return lab


def boundary_mask(labels: Any) -> np.ndarray:
    """Boundary cells of a label map: cells whose label differs from a 4-neighbour's.

    Parameters
    ----------
    labels : array_like
        A 2-D label map (integers; any comparable numbers).

    Returns
    -------
    numpy.ndarray
        bool, the shape of ``labels``.

    Raises
    ------
    TypeError
        ``labels`` is not an array of numbers.
    ValueError
        ``labels`` is not a non-empty 2-D array, or holds NaN.

    Examples
    --------
    >>> boundary_mask([[0, 0, 1, 1]]).astype(int).tolist()
    [[0, 1, 1, 0]]
    """
    lab = _label_array("labels", labels)
    m = np.zeros(lab.shape, dtype=bool)
    dx = lab[1:, :] != lab[:-1, :]
    dy = lab[:, 1:] != lab[:, :-1]
    m[1:, :] |= dx
    m[:-1, :] |= dx
    m[:, 1:] |= dy
    m[:, :-1] |= dy
    return m


def box_counting_dimension(mask: Any, min_box: int = 1, max_box: int | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """Box-counting dimension of a boolean cell mask: the slope of ln N(k) against ln(1/k).

    N(k) counts the k × k blocks holding a set cell, k = min_box, 2 min_box, 4 min_box, … ≤
    max_box; the slope is a least-squares fit (Falconer, *Fractal Geometry*, §3.1).

    Parameters
    ----------
    mask : array_like
        2-D boolean (or 0/1) cell mask.
    min_box : int, default 1
        Smallest box side, in ``[1, min(mask.shape)]``.
    max_box : int, optional
        Largest box side (default ``max(1, min(mask.shape) // 4)``), ≥ ``min_box``.

    Returns
    -------
    tuple
        ``(D, ks, counts)``: the dimension (NaN when the mask is empty or fewer than two box
        sizes fit, by design: there is no slope to fit), the box sizes and the counts.

    Raises
    ------
    TypeError
        ``mask`` is not an array of numbers or booleans, or a box size not an integer.
    ValueError
        ``mask`` is not a non-empty 2-D array, or a box size is out of range.

    Examples
    --------
    >>> m = np.zeros((64, 64), bool)
    >>> m[:, 20] = True
    >>> round(box_counting_dimension(m)[0], 2)
    1.0
    """
    m = _label_array("mask", mask).astype(bool)
    n = min(m.shape)
    min_box = check_int("min_box", min_box, min=1, max=n)
    max_box = max(1, n // 4) if max_box is None else check_int("max_box", max_box, min=min_box)
    ks, counts = [], []
    k = min_box
    while k <= max_box and k <= n:
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


def _zoom_seed(noise_seed: int) -> int:
    """The noise seed every point of a zoom or bisection shares: that of point 0, ``point_seeds(noise_seed, 1)[0]``."""
    return int(point_seeds(noise_seed, 1)[0])


def _labels_for(generator, classify, lslice: LatentSlice, a: np.ndarray, b: np.ndarray, batch_size: int,
                seed: int) -> np.ndarray:
    """Labels of the points' float images, every point generated with the shared noise ``seed``."""

    def label(im: np.ndarray) -> np.ndarray:
        m = im.shape[0]
        lab = np.asarray(classify(im))
        if lab.shape != (m,) or lab.dtype.kind not in "iub":
            raise ValueError(f"classify must return one integer label per image ({m}), got an array of shape "
                             f"{lab.shape} and dtype {lab.dtype}")
        return lab

    return generate_float(generator, lslice, a, b, np.full(a.size, seed, dtype=np.uint64), batch_size, apply=label,
                          progress=False)


def _check_shapes(generator: Any, lslice: LatentSlice) -> None:
    if tuple(generator.latent_shape) != lslice.latent_shape:
        raise ValueError(f"latent shape mismatch: the slice has latents of shape {lslice.latent_shape}, "
                         f"the generator expects {tuple(generator.latent_shape)}")


def find_boundary_point(generator: Any, classify: Callable, lslice: LatentSlice, start: Sequence[float],
                        end: Sequence[float], tol: float = 1e-12, batch_size: int = 64, *,
                        noise_seed: int = 0) -> np.ndarray:
    """Bisect the segment start → end (slice coordinates) for a label change, to ``tol``.

    Bisection in float64 slice coordinates keeps one point of each label; it stops at
    ``tol`` or when the midpoint no longer differs from an end (at most ~1100 steps), and
    returns the midpoint of the last pair.

    Parameters
    ----------
    generator : LatentGenerator
        The generator (images are regenerated in its dtype).
    classify : callable
        Images (n, C, y, x) → integer labels (n,), e.g. a
        :class:`~statgeo.diffusion.phases.PhaseModel`.
    lslice : LatentSlice
        The slice.
    start, end : sequence of float
        Distinct finite end points (alpha, beta) with different labels.
    tol : float, default 1e-12
        Target length of the final bracket (> 0).
    batch_size : int, default 64
        Latents per generator call for the two end points (≥ 1).
    noise_seed : int, default 0
        Root of the noise seed (≥ 0): every point of the bisection is generated with
        ``point_seeds(noise_seed, 1)[0]`` (use the same value for the :func:`zoom` around the
        result).

    Returns
    -------
    numpy.ndarray
        The boundary point (alpha, beta), float64.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        Equal or non-finite end points, end points with the same label, a bad ``tol``, or a
        generator/classifier output that is not finite/one label per image.

    Examples
    --------
    The synthetic generator's phase is the brightest channel of its first pixel:

    >>> from statgeo.diffusion import SyntheticGenerator, synthetic_slice
    >>> gen = SyntheticGenerator(size=4)
    >>> classify = lambda im: np.asarray(im)[:, :, 0, 0].argmax(axis=1)
    >>> p = find_boundary_point(gen, classify, synthetic_slice(), (0.3, 0.0), (0.3, 1.0))
    >>> bool(abs(p[1] - gen.boundary_curve(0.3)) < 1e-11)
    True
    """
    check_generator("generator", generator)
    check_callable("classify", classify)
    check_slice("lslice", lslice)
    _check_shapes(generator, lslice)
    p0, p1 = check_point("start", start), check_point("end", end)
    if np.array_equal(p0, p1):
        raise ValueError(f"start and end must differ, got {p0.tolist()} twice")
    tol = check_scalar("tol", tol, low=0.0, low_inclusive=False)
    batch_size = check_int("batch_size", batch_size, min=1)
    seed = _zoom_seed(check_int("noise_seed", noise_seed, min=0))
    l0, l1 = _labels_for(generator, classify, lslice, np.array([p0[0], p1[0]]), np.array([p0[1], p1[1]]), batch_size,
                         seed)
    if l0 == l1:
        raise ValueError("start and end have the same phase label; no boundary to bisect")
    while np.linalg.norm(p1 - p0) > tol:
        m = 0.5 * (p0 + p1)
        if np.all(m == p0) or np.all(m == p1):
            break
        lm = _labels_for(generator, classify, lslice, m[:1], m[1:], 1, seed)[0]
        if lm == l0:
            p0 = m
        else:
            p1 = m
    return 0.5 * (p0 + p1)


def zoom(generator: Any, lslice: LatentSlice, center: Sequence[float], classify: Callable, *,
         scales: Sequence[float] = DEFAULT_SCALES, depth: int | None = None, n: int = 64, batch_size: int = 256,
         noise_seed: int = 0, progress: bool | None = None) -> xr.Dataset:
    """Nested windows around ``center`` = (α_c, β_c): labels, boundary and dimension per scale.

    Parameters
    ----------
    generator : LatentGenerator
        The generator (images are regenerated in its dtype).
    lslice : LatentSlice
        The slice.
    center : sequence of float
        Window centre (alpha, beta), finite (a boundary point, e.g. from
        :func:`find_boundary_point`).
    classify : callable
        Images (n, C, y, x) in [0, 1] → integer labels (e.g. a ``PhaseModel``).
    scales : sequence of float, default DEFAULT_SCALES
        Window widths (> 0), at most :data:`MAX_ZOOM_SCALES` of them.
    depth : int, optional
        Shorthand for ``scales = (1e-1, …, 10**-depth)``, in ``[1, MAX_ZOOM_DEPTH]``; give
        ``scales`` or ``depth``, not both.
    n : int, default 64
        Grid points per window side (≥ 8; the window's latents must fit in memory).
    batch_size : int, default 256
        Latents per generator call (≥ 1).
    noise_seed : int, default 0
        Root of the noise seed (≥ 0): every point of every window is generated with
        ``point_seeds(noise_seed, 1)[0]``, the seed a sweep gives its point 0 (matters only
        for stochastic samplers).
    progress : bool or None, default None
        Show a progress bar over the windows: None on a terminal only, False never, True
        always (``TQDM_DISABLE=1`` always hides it).

    Returns
    -------
    xarray.Dataset
        ``labels`` (scale, u, v), ``box_dimension``, ``n_boundary_cells``, ``n_components``,
        ``n_phases``, ``distinct_fraction``, ``resolved`` (scale), coords ``alpha`` (scale, u),
        ``beta`` (scale, v); attrs ``effective_resolution_alpha/beta``, ``precision_ends_at``
        (first unresolved scale, NaN if none), ``dtype`` and ``noise_seed``.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        A non-finite centre, a width ≤ 0, too many windows or too deep a zoom, both ``scales``
        and ``depth``, ``n`` below 8 or too large for memory, a latent shape mismatch, or a
        generator/classifier output that is not finite/one label per image.

    Examples
    --------
    >>> from statgeo.diffusion import SyntheticGenerator, synthetic_slice
    >>> gen = SyntheticGenerator(size=4)
    >>> classify = lambda im: np.asarray(im)[:, :, 0, 0].argmax(axis=1)  # the phase (see find_boundary_point)
    >>> c = (0.3, float(gen.boundary_curve(0.3)))
    >>> z = zoom(gen, synthetic_slice(), c, classify, depth=3, n=16, progress=False)
    >>> z.scale.values.tolist(), z.n_phases.values.tolist(), bool(z.resolved.all())
    ([0.1, 0.01, 0.001], [2, 2, 2], True)
    >>> zoom(gen, synthetic_slice(), c, classify, depth=10**6)
    Traceback (most recent call last):
    ...
    ValueError: depth must be an integer in [1, 16], got 1000000
    """
    import torch
    from scipy import ndimage

    check_generator("generator", generator)
    check_slice("lslice", lslice)
    c = check_point("center", center)
    check_callable("classify", classify)
    if depth is not None:
        depth = check_int("depth", depth, min=1, max=MAX_ZOOM_DEPTH)
        if scales is not DEFAULT_SCALES:
            raise ValueError("give scales or depth, not both")
        scales = tuple(10.0 ** -k for k in range(1, depth + 1))
    scales = real_array("scales", scales).ravel()
    if (scales <= 0).any():
        raise ValueError(f"scales must be window widths in (0, inf), got {float(scales[scales <= 0][0])!r}")
    if scales.size > MAX_ZOOM_SCALES:
        raise ValueError(f"scales holds {scales.size} windows, more than the maximum {MAX_ZOOM_SCALES}")
    n = check_int("n", n, min=8)
    check_allocation("the window latents (n * n, *latent_shape)", (n * n,) + lslice.latent_shape, np.float64,
                     names="n")
    check_allocation("the labels (scales, n, n)", (scales.size, n, n), np.int64, names="n and scales")
    batch_size = check_int("batch_size", batch_size, min=1)
    seed = _zoom_seed(check_int("noise_seed", noise_seed, min=0))
    progress_disabled(progress)
    _check_shapes(generator, lslice)
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
    for i, w in enumerate(progress_bar(scales, progress=progress, desc="zoom")):
        A[i] = c[0] + w * offs
        B[i] = c[1] + w * offs
        aa, bb = np.meshgrid(A[i], B[i], indexing="ij")
        lab = _labels_for(generator, classify, lslice, aa.ravel(), bb.ravel(), batch_size, seed).reshape(n, n)
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
               "dtype_eps": res["eps"], "precision_ends_at": ends,
               "noise_seed": int(noise_seed)})
