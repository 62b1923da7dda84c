"""Sweeps: run a latent → image generator over a latent slice, in batches and chunks.

Points (a regular ``alpha × beta`` grid or an arbitrary point set) are flattened in C order
and cut into chunks of ``chunk_size`` points; a chunk is generated in batches of
``batch_size`` latents per forward pass, converted to uint8 at the requested resolution
(antialiased bilinear resampling) and, when a ``store`` is given, written to a zarr store
(:class:`~statgeo.diffusion.store.SweepStore`) with a completion marker, so a rerun skips the
chunks already finished. With a Dask ``client`` (or scheduler address) chunks run on the
workers, each worker loading the pipeline once (:mod:`statgeo.diffusion.scaleout`).

Per-point noise seeds: point i (flat index) gets seed s_i = ``point_seeds(noise_seed, n)[i]``
(first 63 bits of ``SeedSequence([noise_seed, i])``); every random draw of a stochastic sampler
for that point comes from a CPU generator seeded with s_i. The batch loop, :func:`point_seeds`,
:func:`generate` and :func:`to_uint8` live in :mod:`statgeo.diffusion.generation` (the one noise
rule, shared with the zoom and the Lipschitz ratios) and are re-exported here.

Input rules (docs/diffusion.md, "Input rules and caps"): at most :data:`MAX_SWEEP_POINTS`
points; an image array (or, with a store, a chunk) that cannot fit in memory at the requested
``resolution`` is refused before the generator is loaded; a generator that returns NaN or inf
is refused for the batch where it happens, before anything of that chunk is written.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable

import numpy as np
import xarray as xr

from statgeo.checks import check_allocation, check_bool, check_int
from statgeo.diffusion._checks import check_generator, check_path, check_points, check_slice
from statgeo.diffusion.generation import MAX_SWEEP_POINTS, _check_resolution, generate, point_seeds, to_uint8
from statgeo.diffusion.pipeline import LatentGenerator
from statgeo.diffusion.slices import LatentSlice
from statgeo.diffusion.store import SweepStore
from statgeo.grid import ParameterGrid
from statgeo.progress import progress_bar, progress_disabled
from statgeo.provenance import config_attr, versions

log = logging.getLogger(__name__)

__all__ = ["sweep", "point_seeds", "to_uint8", "generate", "resolve_points", "MAX_SWEEP_POINTS"]

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
