"""Batched generation over slice points, with one per-point noise rule.

Every computation that turns slice points into images (sweeps, their Dask tasks, fractal zooms,
boundary bisection, Lipschitz ratios) goes through the batch loop of this module, which cuts
the points into batches of ``batch_size``, casts each batch's latents to the generator's dtype,
calls the generator with one noise seed per point and checks its output before keeping it.
:func:`generate` returns uint8 images (the sweep's format), :func:`generate_float` float
images in [0, 1] (finite differences and classifiers).

The noise rule (docs/diffusion.md, "Sweeps and per-point noise"):

* The generator receives one seed per point. Point i owns a CPU
  ``torch.Generator().manual_seed(seeds[i])``, and every random draw a stochastic sampler makes
  for that point comes from it, in order. So a point's image depends on its latent and its
  seed, never on which other points share its batch. Deterministic samplers ignore seeds.
* The seeds come from a user-facing ``noise_seed`` through :func:`point_seeds`: point i of a
  call's point list gets s_i = ``point_seeds(noise_seed, n)[i]`` (first 63 bits of
  ``SeedSequence([noise_seed, i])``), or the caller passes the seeds itself.
* Points derived from a base point inherit its seed, so that comparisons between them measure
  the map, not the noise: the step point p + δu of a Lipschitz pair has the seed of p, and a
  zoom window or a boundary bisection is the neighbourhood of one point, index 0, so all of
  its points share ``point_seeds(noise_seed, 1)[0]``.

Hence the image of a point p with ``noise_seed`` s is the same from ``sweep(points=[p],
noise_seed=s)``, ``generate_float`` with ``point_seeds(s, 1)``, ``lipschitz_ratios([p], ...,
noise_seed=s)`` and a zoom or bisection around p with ``noise_seed=s``.

This module is a leaf of the generation layer: it imports none of ``sweep``, ``scaleout``,
``zoom`` or ``lipschitz``, which all import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from statgeo.checks import check_allocation, check_bool, check_callable, check_int
from statgeo.diffusion._checks import check_generator, check_slice, real_array
from statgeo.diffusion.slices import MAX_SEED, LatentSlice
from statgeo.progress import progress_bar, progress_disabled

if TYPE_CHECKING:
    from statgeo.diffusion.pipeline import LatentGenerator

__all__ = ["point_seeds", "to_uint8", "generate", "generate_float", "MAX_SWEEP_POINTS"]

#: most points one sweep (or one call of :func:`point_seeds`) accepts; split larger sweeps
MAX_SWEEP_POINTS = 2**22


def point_seeds(noise_seed: int, n: int, offset: int = 0) -> np.ndarray:
    """Per-point noise seeds s_i = first 63 bits of ``SeedSequence([noise_seed, i])``.

    The one source of per-point noise seeds (module docstring): point i of a sweep, of a
    Lipschitz point list, or the single base point (i = 0) of a zoom gets s_i.

    Parameters
    ----------
    noise_seed : int
        The root seed (≥ 0).
    n : int
        Number of points, in ``[1, MAX_SWEEP_POINTS]``.
    offset : int, default 0
        Index of the first point (≥ 0): i = offset, …, offset + n − 1, so a chunk's seeds do
        not depend on how the sweep was cut.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` uint64 seeds below 2**63.

    Raises
    ------
    TypeError
        An argument is not an integer.
    ValueError
        A negative seed or offset, or ``n`` outside ``[1, MAX_SWEEP_POINTS]``.

    Examples
    --------
    >>> s = point_seeds(0, 4)
    >>> s.dtype, bool((point_seeds(0, 2, offset=2) == s[2:]).all())
    (dtype('uint64'), True)
    """
    noise_seed = check_int("noise_seed", noise_seed, min=0)
    n = check_int("n", n, min=1, max=MAX_SWEEP_POINTS)
    offset = check_int("offset", offset, min=0)
    return np.array([int(np.random.SeedSequence([noise_seed, offset + i]).generate_state(1, np.uint64)[0] >> np.uint64(1))
                     for i in range(n)], dtype=np.uint64)


def _image_tensor(name: str, images: Any):
    import torch

    if isinstance(images, (str, bytes)) or images is None:
        raise TypeError(f"{name} must be an array or tensor of images (n, C, H, W), got {type(images).__name__}")
    if not isinstance(images, torch.Tensor):
        arr = np.asarray(images)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
        images = torch.as_tensor(arr)
    elif images.is_complex() or images.dtype == torch.bool:
        raise TypeError(f"{name} must be real images, got dtype {images.dtype}")
    if images.ndim != 4 or images.numel() == 0:
        raise ValueError(f"{name} must be a non-empty batch of images (n, C, H, W), got shape {tuple(images.shape)}")
    if images.is_floating_point() and not torch.isfinite(images).all():
        raise ValueError(f"{name} contain NaN or inf (NaN would be stored as black pixels)")
    return images


def _check_resolution(resolution: Any) -> int | None:
    return None if resolution is None else check_int("resolution", resolution, min=1)


def to_uint8(images: Any, resolution: int | None = None) -> np.ndarray:
    """Float images in [0, 1] ``(n, C, H, W)`` → uint8 at ``resolution`` × ``resolution``.

    Downsampling uses antialiased bilinear interpolation (``torch.nn.functional.interpolate``
    with ``antialias=True``); values are rounded: u = round(255 · clip(x, 0, 1)).

    Parameters
    ----------
    images : array_like or torch.Tensor
        Shape ``(n, C, H, W)``, finite floats in [0, 1] (values outside are clipped).
    resolution : int, optional
        Output side in pixels (≥ 1; default: unchanged). The resized float32 batch must fit
        in memory.

    Returns
    -------
    numpy.ndarray
        uint8, ``(n, C, resolution, resolution)``.

    Raises
    ------
    TypeError
        ``images`` is not an array of real numbers, or ``resolution`` not an integer.
    ValueError
        ``images`` is not 4-D, is empty or holds NaN/inf; ``resolution`` below 1 or too large
        for memory.

    Examples
    --------
    >>> to_uint8(np.full((1, 3, 4, 4), 0.5), 2).ravel()[:3]
    array([128, 128, 128], dtype=uint8)
    """
    resolution = _check_resolution(resolution)
    x = _image_tensor("images", images)
    if resolution is not None:
        check_allocation("the resized images (n, C, resolution, resolution)",
                         (x.shape[0], x.shape[1], resolution, resolution), np.float32, names="resolution")
    import torch
    import torch.nn.functional as F

    x = x.float()
    if resolution is not None and tuple(x.shape[-2:]) != (resolution, resolution):
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def _check_seeds(seeds: Any, n: int) -> np.ndarray:
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__"):
        raise TypeError(f"seeds must be a sequence of integers (one per point), got {type(seeds).__name__}")
    arr = np.asarray(seeds)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"seeds must be integers (one per point), got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"seeds must hold one seed per point ({n}), got shape {arr.shape}")
    if arr.dtype.kind == "i" and (arr < 0).any():
        raise ValueError(f"seeds must be in [0, {MAX_SEED}], got {int(arr.min())}")
    return arr


def _check_points(gen: Any, lslice: Any, alpha: Any, beta: Any, seeds: Any,
                  batch_size: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The checks both outputs share (before any generation)."""
    check_generator("gen", gen)
    check_slice("lslice", lslice)
    alpha = real_array("alpha", alpha, ndim=1)
    beta = real_array("beta", beta, ndim=1)
    if alpha.shape != beta.shape:
        raise ValueError(f"alpha and beta must have the same number of points, got {alpha.size} and {beta.size}")
    seeds = _check_seeds(seeds, alpha.size)
    batch_size = check_int("batch_size", batch_size, min=1)
    return alpha, beta, seeds, batch_size


def _check_latent_shape(gen: Any, lslice: LatentSlice) -> None:
    if tuple(gen.latent_shape) != lslice.latent_shape:
        raise ValueError(f"latent shape mismatch: the slice has latents of shape {lslice.latent_shape}, "
                         f"the generator expects {tuple(gen.latent_shape)}")


def _batches(gen: Any, lslice: LatentSlice, alpha: np.ndarray, beta: np.ndarray, seeds: np.ndarray,
             batch_size: int) -> Iterator[tuple[int, Any, Any]]:
    """The one batch loop: yields ``(first point, images tensor, final latents)`` per batch.

    Latents are computed in float64 and cast to ``gen.dtype``; point i is generated with
    ``seeds[i]``. A batch whose images are not a finite ``(m, C, y, x)`` batch is refused.
    """
    import torch

    n = alpha.size
    for b0 in range(0, n, batch_size):
        sl = slice(b0, b0 + batch_size)
        z = torch.from_numpy(lslice.latents(alpha[sl], beta[sl])).to(gen.dtype)
        im, zl = gen(z, [int(s) for s in seeds[sl]])
        m = int(z.shape[0])
        what = f"the generator output for batch {b0 // batch_size} (points {b0} to {b0 + m - 1} of {n})"
        im_t = im if isinstance(im, torch.Tensor) else torch.as_tensor(np.asarray(im))
        if im_t.ndim != 4 or im_t.shape[0] != m:
            raise ValueError(f"{what} must be images of shape ({m}, C, y, x), got shape {tuple(im_t.shape)}")
        if im_t.is_complex() or im_t.dtype == torch.bool:
            raise ValueError(f"{what} must be real images, got dtype {im_t.dtype}")
        if im_t.is_floating_point() and not torch.isfinite(im_t).all():
            raise ValueError(f"{what} contains NaN or inf; refused before any of it is kept (or stored)")
        yield b0, im_t, zl


def generate(gen: LatentGenerator, lslice: LatentSlice, alpha: Any, beta: Any, seeds: Sequence[int],
             batch_size: int, resolution: int | None, keep_latent: bool, progress: bool | None = None, *,
             bar: Any = None) -> tuple[np.ndarray, Any]:
    """Generate uint8 images (and final latents) for the given slice points, batch by batch.

    The building block of :func:`~statgeo.diffusion.sweep.sweep` (one chunk); point i is
    generated with ``seeds[i]`` (module docstring: the noise rule). Every batch's output is
    checked before it is kept, so a generator returning NaN or inf stops the chunk with a
    ``ValueError`` naming the batch, and nothing of the chunk is returned (or written by the
    caller). The images are ``to_uint8`` of the float images of :func:`generate_float`.

    Parameters
    ----------
    gen : LatentGenerator
        The generator (latents are cast to ``gen.dtype``).
    lslice : LatentSlice
        The slice; its latent shape must be the generator's.
    alpha, beta : array_like
        Slice coordinates of the points (1-D, the same size, finite).
    seeds : sequence of int
        One noise seed per point (:func:`point_seeds`).
    batch_size : int
        Latents per generator call (≥ 1).
    resolution : int or None
        Output image side in pixels (None: the generator's own).
    keep_latent : bool
        Also return the final latents.
    progress : bool or None, default None
        Show a progress bar: None on a terminal only, False never, True always
        (``TQDM_DISABLE=1`` always hides it). Ignored when ``bar`` is given.
    bar : tqdm.tqdm, optional
        An open progress bar to advance instead of opening one (used by the sweep).

    Returns
    -------
    tuple
        ``(images, latents)``: uint8 ``(n, C, y, x)`` and the final latents ``(n, ...)``
        (float32) or None.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        Mismatched sizes or latent shapes, non-finite coordinates, a size that cannot fit in
        memory, or a generator output that is not a finite ``(batch, C, y, x)`` image batch.

    Examples
    --------
    >>> from statgeo.diffusion import SyntheticGenerator, synthetic_slice
    >>> im, _ = generate(SyntheticGenerator(size=4), synthetic_slice(), [0.1, 0.9], [0.2, 0.8],
    ...                  point_seeds(0, 2), 2, None, False, progress=False)
    >>> im.shape, im.dtype
    ((2, 3, 4, 4), dtype('uint8'))
    """
    alpha, beta, seeds, batch_size = _check_points(gen, lslice, alpha, beta, seeds, batch_size)
    resolution = _check_resolution(resolution)
    keep_latent = check_bool("keep_latent", keep_latent)
    progress_disabled(progress)  # refuses a bad switch before any work
    _check_latent_shape(gen, lslice)
    if resolution is not None:
        check_allocation("the images (points, channel, resolution, resolution)", (alpha.size, 1, resolution, resolution),
                         np.uint8, names="resolution and the number of points")
        check_allocation("a resized batch (batch, channel, resolution, resolution)",
                         (min(batch_size, alpha.size), 1, resolution, resolution), np.float32,
                         names="resolution and batch_size")
    own = bar is None
    if own:
        bar = progress_bar(total=alpha.size, progress=progress, desc="generate", unit="img")
    imgs, lats = [], []
    try:
        for _, im, zl in _batches(gen, lslice, alpha, beta, seeds, batch_size):
            imgs.append(to_uint8(im, resolution))
            if keep_latent:
                lats.append(np.asarray(zl.float().cpu().numpy()) if zl is not None else None)
            bar.update(int(im.shape[0]))
    finally:
        if own:
            bar.close()
    lat = np.concatenate(lats) if keep_latent and lats and lats[0] is not None else None
    return np.concatenate(imgs), lat


def _float_numpy(im: Any) -> np.ndarray:
    """A batch of images as a NumPy float array: float64 stays, any other dtype → float32."""
    import torch

    if im.dtype != torch.float64:
        im = im.float()
    return im.detach().cpu().numpy()


def generate_float(gen: LatentGenerator, lslice: LatentSlice, alpha: Any, beta: Any, seeds: Sequence[int],
                   batch_size: int = 64, *, apply: Callable[[np.ndarray], Any] | None = None,
                   progress: bool | None = None) -> np.ndarray:
    """Generate float images in [0, 1] for the given slice points (or a per-batch reduction of them).

    The same batch loop and noise rule as :func:`generate` (point i is generated with
    ``seeds[i]``), without quantisation or resizing: finite differences of these images are not
    floored by 8-bit steps. ``to_uint8`` of these images is what :func:`generate` returns, so
    the two agree to 1/255 (rounding). With ``apply``, each batch is reduced as it is made
    (e.g. labelled by a classifier) and only the reductions are kept.

    Parameters
    ----------
    gen : LatentGenerator
        The generator (latents are cast to ``gen.dtype``).
    lslice : LatentSlice
        The slice; its latent shape must be the generator's.
    alpha, beta : array_like
        Slice coordinates of the points (1-D, the same size, finite).
    seeds : sequence of int
        One noise seed per point (:func:`point_seeds`, or shared seeds for derived points).
    batch_size : int, default 64
        Latents per generator call (≥ 1).
    apply : callable, optional
        ``images (m, C, y, x) → array (m, ...)`` applied to each batch of float images; must
        return one row per image.
    progress : bool or None, default None
        Show a progress bar: None on a terminal only, False never, True always
        (``TQDM_DISABLE=1`` always hides it).

    Returns
    -------
    numpy.ndarray
        Without ``apply``: the images ``(n, C, y, x)``, float64 when the generator returns
        float64, else float32, at the generator's resolution. With ``apply``: its outputs,
        concatenated along the first axis.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        Mismatched sizes or latent shapes, non-finite coordinates, images that cannot fit in
        memory, a generator output that is not a finite ``(batch, C, y, x)`` image batch, or
        an ``apply`` output without one row per image.

    Examples
    --------
    >>> from statgeo.diffusion import SyntheticGenerator, synthetic_slice
    >>> gen, ls = SyntheticGenerator(size=4), synthetic_slice()
    >>> x = generate_float(gen, ls, [0.1, 0.9], [0.2, 0.8], point_seeds(0, 2), progress=False)
    >>> x.shape, x.dtype
    ((2, 3, 4, 4), dtype('float64'))
    >>> u, _ = generate(gen, ls, [0.1, 0.9], [0.2, 0.8], point_seeds(0, 2), 2, None, False, progress=False)
    >>> bool(np.abs(u / 255 - x).max() <= 0.5 / 255)
    True
    """
    alpha, beta, seeds, batch_size = _check_points(gen, lslice, alpha, beta, seeds, batch_size)
    check_callable("apply", apply, optional=True)
    progress_disabled(progress)  # refuses a bad switch before any work
    _check_latent_shape(gen, lslice)
    n = alpha.size
    out = []
    with progress_bar(total=n, progress=progress, desc="generate", unit="img") as bar:
        for b0, im, _ in _batches(gen, lslice, alpha, beta, seeds, batch_size):
            x = _float_numpy(im)
            m = x.shape[0]
            if apply is None:
                if b0 == 0:  # the whole image array must fit: check once the image size is known
                    check_allocation("the float images (points, channel, y, x)", (n,) + x.shape[1:], x.dtype,
                                     names="the number of points and the image size")
                out.append(x)
            else:
                r = np.asarray(apply(x))
                if r.ndim == 0 or r.shape[0] != m:
                    raise ValueError(f"apply must return one row per image ({m}) for points {b0} to {b0 + m - 1}, "
                                     f"got shape {r.shape}")
                out.append(r)
            bar.update(m)
    return np.concatenate(out)
