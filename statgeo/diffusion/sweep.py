"""Sweeps: run a latent → image generator over a latent slice, in batches and chunks.

Points (a regular ``alpha × beta`` grid or an arbitrary point set) are flattened in C order
and cut into chunks of ``chunk_size`` points; a chunk is generated in batches of
``batch_size`` latents per forward pass, converted to uint8 at the requested resolution
(antialiased bilinear resampling) and, when a ``store`` is given, written to a zarr store
(:class:`~statgeo.diffusion.store.SweepStore`) with a completion marker, so a rerun skips the
chunks already finished. With a Dask ``client`` (or scheduler address) chunks run on the
workers, each worker loading the pipeline once (:mod:`statgeo.diffusion.scaleout`).

Per-point noise seeds: point i (flat index) gets seed s_i = SeedSequence([noise_seed, i])
(first 63 bits), which seeds the DDIM variance noise of that point alone.

Input rules (docs/diffusion.md, "Input rules and caps"): at most :data:`MAX_SWEEP_POINTS`
points; an image array (or, with a store, a chunk) that cannot fit in memory at the requested
``resolution`` is refused before the generator is loaded; a generator that returns NaN or inf
is refused for the batch where it happens, before anything of that chunk is written.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Sequence

import numpy as np
import xarray as xr

from statgeo.checks import check_allocation, check_bool, check_int
from statgeo.diffusion._checks import check_generator, check_path, check_points, check_slice, real_array
from statgeo.diffusion.pipeline import LatentGenerator
from statgeo.diffusion.slices import MAX_SEED, LatentSlice
from statgeo.diffusion.store import SweepStore
from statgeo.grid import ParameterGrid
from statgeo.progress import progress_bar, progress_disabled
from statgeo.provenance import config_attr, versions

log = logging.getLogger(__name__)

__all__ = ["sweep", "point_seeds", "to_uint8", "generate", "resolve_points", "MAX_SWEEP_POINTS"]

#: most points one sweep (or one call of :func:`point_seeds`) accepts; split larger sweeps
MAX_SWEEP_POINTS = 2**22


def point_seeds(noise_seed: int, n: int, offset: int = 0) -> np.ndarray:
    """Per-point noise seeds s_i = first 63 bits of ``SeedSequence([noise_seed, i])``.

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


def generate(gen: LatentGenerator, lslice: LatentSlice, alpha: Any, beta: Any, seeds: Sequence[int],
             batch_size: int, resolution: int | None, keep_latent: bool, progress: bool | None = None, *,
             bar: Any = None) -> tuple[np.ndarray, Any]:
    """Generate uint8 images (and final latents) for the given slice points, batch by batch.

    The building block of :func:`sweep` (one chunk); every batch's output is checked before
    it is kept, so a generator returning NaN or inf stops the chunk with a ``ValueError``
    naming the batch, and nothing of the chunk is returned (or written by the caller).

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
        An open progress bar to advance instead of opening one (used by :func:`sweep`).

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
    """
    import torch

    check_generator("gen", gen)
    check_slice("lslice", lslice)
    alpha = real_array("alpha", alpha, ndim=1)
    beta = real_array("beta", beta, ndim=1)
    if alpha.shape != beta.shape:
        raise ValueError(f"alpha and beta must have the same number of points, got {alpha.size} and {beta.size}")
    seeds = _check_seeds(seeds, alpha.size)
    batch_size = check_int("batch_size", batch_size, min=1)
    resolution = _check_resolution(resolution)
    keep_latent = check_bool("keep_latent", keep_latent)
    progress_disabled(progress)  # refuses a bad switch before any work
    if tuple(gen.latent_shape) != lslice.latent_shape:
        raise ValueError(f"latent shape mismatch: the slice has latents of shape {lslice.latent_shape}, "
                         f"the generator expects {tuple(gen.latent_shape)}")
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
        for b0 in range(0, alpha.size, batch_size):
            sl = slice(b0, b0 + batch_size)
            z = torch.from_numpy(lslice.latents(alpha[sl], beta[sl])).to(gen.dtype)
            im, zl = gen(z, [int(s) for s in seeds[sl]])
            m = int(z.shape[0])
            what = (f"the generator output for batch {b0 // batch_size} (points {b0} to {b0 + m - 1} of "
                    f"{alpha.size})")
            im_t = im if isinstance(im, torch.Tensor) else torch.as_tensor(np.asarray(im))
            if im_t.ndim != 4 or im_t.shape[0] != m:
                raise ValueError(f"{what} must be images of shape ({m}, C, y, x), got shape {tuple(im_t.shape)}")
            if im_t.is_floating_point() and not torch.isfinite(im_t).all():
                raise ValueError(f"{what} contains NaN or inf; refused before anything of this chunk is stored")
            imgs.append(to_uint8(im, resolution))
            if keep_latent:
                lats.append(np.asarray(zl.float().cpu().numpy()) if zl is not None else None)
            bar.update(m)
    finally:
        if own:
            bar.close()
    lat = np.concatenate(lats) if keep_latent and lats and lats[0] is not None else None
    return np.concatenate(imgs), lat


def resolve_points(grid: ParameterGrid | None, points: Any | None) -> tuple[np.ndarray, np.ndarray, ParameterGrid | None]:
    """Flat (alpha, beta) arrays from a grid over ``alpha``, ``beta`` or an ``(n, 2)`` point set.

    Parameters
    ----------
    grid : ParameterGrid or None
        A grid with axes ``("alpha", "beta")`` (its points in C order).
    points : array_like or None
        An ``(n, 2)`` array of (alpha, beta) (lists accepted).

    Returns
    -------
    tuple
        ``(alpha, beta, grid)``: float64 arrays of the points and the grid (None for a point set).

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid, or ``points`` not real.
    ValueError
        Both or neither given, a grid over other axes, points not ``(n, 2)`` or not finite,
        or more than :data:`MAX_SWEEP_POINTS` points.

    Examples
    --------
    >>> a, b, g = resolve_points(None, [[0.0, 0.5], [1.0, 0.25]])
    >>> a.tolist(), b.tolist(), g
    ([0.0, 1.0], [0.5, 0.25], None)
    """
    if (grid is None) == (points is None):
        raise ValueError("give exactly one of grid (a ParameterGrid over alpha, beta) or points (an (n, 2) array)")
    if grid is not None:
        if not isinstance(grid, ParameterGrid):
            raise TypeError(f"grid must be a ParameterGrid, got {type(grid).__name__}")
        if grid.names != ("alpha", "beta"):
            raise ValueError(f"grid axes must be ('alpha', 'beta'), got {grid.names}")
        if grid.size > MAX_SWEEP_POINTS:
            raise ValueError(f"grid has {grid.size} points, more than the maximum {MAX_SWEEP_POINTS} of a sweep")
        p = grid.points()
        return p[:, 0].copy(), p[:, 1].copy(), grid
    p = check_points("points", points, max_points=MAX_SWEEP_POINTS)
    return p[:, 0].copy(), p[:, 1].copy(), None


def _is_generator(obj) -> bool:
    return isinstance(obj, LatentGenerator)


def _check_client(client: Any) -> None:
    if client is None or isinstance(client, str):
        if isinstance(client, str) and not client:
            raise ValueError("client must be a dask.distributed.Client or a non-empty scheduler address")
        return
    if not hasattr(client, "submit"):
        raise TypeError(f"client must be a dask.distributed.Client or a scheduler address, got {type(client).__name__}")


def sweep(generator: LatentGenerator | Callable[[], LatentGenerator], lslice: LatentSlice, grid: ParameterGrid | None = None,
          points: Any | None = None, *, batch_size: int = 16, chunk_size: int | None = None,
          resolution: int | None = None, keep_latent: bool = False, noise_seed: int = 0,
          store: str | os.PathLike | None = None, client: Any = None, progress: bool | None = None) -> xr.Dataset:
    """Generate images over a latent slice.

    Points are flattened in C order and cut into chunks of ``chunk_size``; a chunk is
    generated in batches of ``batch_size`` latents and converted to uint8 at ``resolution``.
    Point i gets the noise seed s_i = :func:`point_seeds` (``noise_seed``, i). With a
    ``store``, finished chunks are written with a completion marker and skipped on a rerun
    (docs/diffusion.md, "Store layout and the resume rule").

    Parameters
    ----------
    generator : LatentGenerator or callable
        A :class:`~statgeo.diffusion.pipeline.LatentGenerator`, or a picklable zero-argument
        loader returning one (e.g. :class:`~statgeo.diffusion.pipeline.PipelineSpec`; required
        with a Dask ``client``, where each worker calls it once and caches the result).
    lslice : LatentSlice
        The slice z(α, β).
    grid : ParameterGrid, optional
        A grid over ``("alpha", "beta")`` (e.g. :func:`~statgeo.diffusion.slices.slice_grid`).
    points : array_like, optional
        An ``(n, 2)`` array of (alpha, beta) points instead of ``grid``.
    batch_size : int, default 16
        Latents per forward pass (≥ 1).
    chunk_size : int, optional
        Points per stored chunk (default ``4 * batch_size``); the unit of resume and of Dask
        tasks.
    resolution : int, optional
        Output image side in pixels (default: the generator's own); the image array must fit
        in memory (with a store: one chunk of it).
    keep_latent : bool, default False
        Also return the final denoised latents (``final_latent``).
    noise_seed : int, default 0
        Root of the per-point noise seeds (used when the sampler is stochastic).
    store : str or os.PathLike, optional
        A zarr directory; finished chunks are written there and skipped on a rerun.
    client : dask.distributed.Client or str, optional
        A Dask client or scheduler address: chunks run on the workers.
    progress : bool or None, default None
        Show a progress bar: None on a terminal only, False never, True always
        (``TQDM_DISABLE=1`` always hides it).

    Returns
    -------
    xarray.Dataset
        ``image`` (alpha, beta, channel, y, x) for a grid or (point, channel, y, x) for a
        point set, uint8; ``final_latent`` if requested; coords ``alpha``, ``beta``,
        ``noise_seed``; attrs ``config`` (JSON).

    Raises
    ------
    TypeError
        An argument of the wrong type (e.g. a loaded generator together with a ``client``).
    ValueError
        Both or neither of ``grid``/``points``, more than :data:`MAX_SWEEP_POINTS` points,
        a count below 1, a ``resolution`` whose images cannot fit in memory, a latent shape
        mismatch, a store holding a different sweep, or a generator output with NaN/inf.

    Examples
    --------
    >>> from statgeo.diffusion import SyntheticGenerator, slice_grid, synthetic_slice
    >>> ds = sweep(SyntheticGenerator(size=8), synthetic_slice(), slice_grid(3), batch_size=9, progress=False)
    >>> ds.image.dims, ds.image.shape, ds.image.dtype
    (('alpha', 'beta', 'channel', 'y', 'x'), (3, 3, 3, 8, 8), dtype('uint8'))
    >>> sweep(SyntheticGenerator(size=8), synthetic_slice(), slice_grid(3), resolution=10**6, progress=False)
    Traceback (most recent call last):
    ...
    ValueError: resolution and the number of points ask for the images (points, channel, resolution, resolution) ...
    """
    batch_size = check_int("batch_size", batch_size, min=1)
    chunk_size = 4 * batch_size if chunk_size is None else check_int("chunk_size", chunk_size, min=1)
    resolution = _check_resolution(resolution)
    keep_latent = check_bool("keep_latent", keep_latent)
    noise_seed = check_int("noise_seed", noise_seed, min=0)
    st = SweepStore(check_path("store", store)) if store is not None else None
    _check_client(client)
    progress_disabled(progress)  # refuses a bad switch before any work
    check_slice("lslice", lslice)
    alpha, beta, grid = resolve_points(grid, points)
    n = alpha.size
    if resolution is not None:
        per = n if st is None else min(chunk_size, n)
        check_allocation("the images (points, channel, resolution, resolution)", (per, 1, resolution, resolution),
                         np.uint8, names="resolution and the number of points")
        check_allocation("a resized batch (batch, channel, resolution, resolution)",
                         (min(batch_size, n), 1, resolution, resolution), np.float32, names="resolution and batch_size")
    if not _is_generator(generator) and not callable(generator):
        raise TypeError(f"generator must be a LatentGenerator or a loader, got {type(generator).__name__}")
    if client is not None and _is_generator(generator):
        raise TypeError("with a Dask client, pass a picklable loader (e.g. PipelineSpec), not a loaded generator")
    seeds = point_seeds(noise_seed, n)
    if client is not None:
        from statgeo.diffusion import scaleout

        info = scaleout.probe(client, generator, lslice, resolution)
        gconfig = info["config"]
    else:
        if not _is_generator(generator):
            generator = generator()
            check_generator("the loaded generator", generator)
        gconfig = generator.config()
        info = None
    if tuple(gconfig.get("latent_shape", lslice.latent_shape)) != lslice.latent_shape:
        raise ValueError(f"latent shape mismatch: the slice has latents of shape {lslice.latent_shape}, "
                         f"the generator expects {tuple(gconfig['latent_shape'])}")
    identity = {"generator": gconfig, "slice": lslice.config(), "anchors": _digest(lslice.anchors),
                "points": _digest(np.stack([alpha, beta])), "noise_seed": noise_seed, "resolution": resolution,
                "chunk_size": chunk_size, "keep_latent": bool(keep_latent)}
    config = {**identity, "batch_size": batch_size, "n_points": n, "versions": versions(),
              "grid": grid.to_json() if grid is not None else None}
    attrs = {"config": config_attr(config)}
    starts = list(range(0, n, chunk_size))

    def create(image_shape, latent_shape):
        st.create_or_check(alpha=alpha, beta=beta, seeds=seeds, chunk_size=chunk_size, image_shape=image_shape,
                           latent_shape=latent_shape if keep_latent else None, identity=identity, attrs=attrs)

    if st is not None and st.exists():
        create(None, None)  # only checks the identity
        done = st.done()
    else:
        if st is not None and info is not None:
            create(tuple(info["image_shape"]), info["latent_shape"])
        done = np.zeros(len(starts), dtype=bool)
    todo = [i for i in range(len(starts)) if not done[i]]
    log.info("sweep: %d points, %d chunks, %d to do", n, len(starts), len(todo))
    results: dict[int, tuple] = {}
    bar = progress_bar(total=sum(min(chunk_size, n - starts[i]) for i in todo), progress=progress, desc="sweep",
                       unit="img")
    try:
        if client is not None:
            for i, res in scaleout.run_chunks(client, generator, lslice, alpha, beta, seeds, starts, todo, chunk_size,
                                              batch_size, resolution, keep_latent, None if st is None else st.path):
                bar.update(min(chunk_size, n - starts[i]))
                if res is not None:
                    results[i] = res
        else:
            for i in todo:
                sl = slice(starts[i], starts[i] + chunk_size)
                im, zl = generate(generator, lslice, alpha[sl], beta[sl], seeds[sl], batch_size, resolution,
                                  keep_latent, bar=bar)
                if st is not None:
                    if not st.exists():
                        create(im.shape[1:], None if zl is None else zl.shape[1:])
                    st.write_chunk(i, starts[i], im, zl)
                else:
                    if not results:  # the full arrays must fit in memory: check once the shapes are known
                        check_allocation("the images (points, channel, y, x)", (n,) + im.shape[1:], np.uint8,
                                         names="the number of points and the image size")
                        if zl is not None:
                            check_allocation("the final latents (points, ...)", (n,) + zl.shape[1:], np.float32,
                                             names="the number of points and keep_latent")
                    results[i] = (im, zl)
    finally:
        bar.close()
    if st is not None:
        ds = st.load()
        ds.attrs = attrs
    else:
        im = np.concatenate([results[i][0] for i in range(len(starts))])
        data = {"image": (("point", "channel", "y", "x"), im, {"long_name": "generated image", "units": "1"})}
        if keep_latent and results[0][1] is not None:
            zl = np.concatenate([results[i][1] for i in range(len(starts))]).astype(np.float32)
            data["final_latent"] = (("point", "latent_channel", "latent_y", "latent_x"), zl,
                                    {"long_name": "final denoised latent", "units": "1"})
        coords = {"alpha": ("point", alpha, {"long_name": "slice coordinate α", "units": "1"}),
                  "beta": ("point", beta, {"long_name": "slice coordinate β", "units": "1"}),
                  "noise_seed": ("point", seeds, {"long_name": "per-point noise seed"})}
        ds = xr.Dataset(data, coords=coords, attrs=attrs)
    return to_grid(ds, grid) if grid is not None else ds


def to_grid(ds: xr.Dataset, grid: ParameterGrid) -> xr.Dataset:
    """Reshape a flat (point) sweep over a grid's C-ordered points into (alpha, beta) dims.

    Parameters
    ----------
    ds : xarray.Dataset
        A flat sweep (dim ``point``) over ``grid.points()``.
    grid : ParameterGrid
        The grid over ``("alpha", "beta")``.

    Returns
    -------
    xarray.Dataset
        The same variables with ``point`` replaced by ``(alpha, beta)``.
    """
    na, nb = grid.shape
    out = {}
    for name, v in ds.data_vars.items():
        out[name] = (("alpha", "beta") + v.dims[1:], v.values.reshape((na, nb) + v.shape[1:]), v.attrs)
    coords = dict(grid.coords())
    coords["noise_seed"] = (("alpha", "beta"), ds["noise_seed"].values.reshape(na, nb), ds["noise_seed"].attrs)
    return xr.Dataset(out, coords=coords, attrs=ds.attrs)


def _digest(a: np.ndarray) -> str:
    import hashlib

    return hashlib.sha1(np.ascontiguousarray(a, dtype=np.float64).tobytes()).hexdigest()
