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
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Sequence

import numpy as np
import xarray as xr

from statgeo.checks import check_int
from statgeo.provenance import config_attr, versions
from statgeo.diffusion.pipeline import LatentGenerator
from statgeo.diffusion.slices import LatentSlice
from statgeo.diffusion.embed import _disable
from statgeo.diffusion.store import SweepStore
from statgeo.grid import ParameterGrid

log = logging.getLogger(__name__)

__all__ = ["sweep", "point_seeds", "to_uint8", "generate", "resolve_points"]


def point_seeds(noise_seed: int, n: int, offset: int = 0) -> np.ndarray:
    """Per-point seeds s_i = first 63 bits of ``SeedSequence([noise_seed, i])``, i = offset…offset+n−1."""
    noise_seed = check_int("noise_seed", noise_seed, min=0)
    return np.array([int(np.random.SeedSequence([noise_seed, offset + i]).generate_state(1, np.uint64)[0] >> np.uint64(1))
                     for i in range(n)], dtype=np.uint64)


def to_uint8(images, resolution: int | None = None) -> np.ndarray:
    """Float images in [0, 1] ``(n, C, H, W)`` → uint8 at ``resolution`` × ``resolution``.

    Downsampling uses antialiased bilinear interpolation (``torch.nn.functional.interpolate``
    with ``antialias=True``); values are rounded: u = round(255 · clip(x, 0, 1)).
    """
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(images).float()
    if resolution is not None and tuple(x.shape[-2:]) != (resolution, resolution):
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def generate(gen: LatentGenerator, lslice: LatentSlice, alpha: np.ndarray, beta: np.ndarray, seeds: Sequence[int],
             batch_size: int, resolution: int | None, keep_latent: bool, progress=None) -> tuple[np.ndarray, Any]:
    """Generate uint8 images (and final latents) for the given slice points, batch by batch."""
    import torch

    imgs, lats = [], []
    for b0 in range(0, alpha.size, batch_size):
        sl = slice(b0, b0 + batch_size)
        z = torch.from_numpy(lslice.latents(alpha[sl], beta[sl])).to(gen.dtype)
        im, zl = gen(z, [int(s) for s in seeds[sl]])
        imgs.append(to_uint8(im, resolution))
        if keep_latent:
            lats.append(np.asarray(zl.float().cpu().numpy()) if zl is not None else None)
        if progress is not None:
            progress.update(int(z.shape[0]))
    lat = np.concatenate(lats) if keep_latent and lats and lats[0] is not None else None
    return np.concatenate(imgs), lat


def resolve_points(grid: ParameterGrid | None, points: Any | None) -> tuple[np.ndarray, np.ndarray, ParameterGrid | None]:
    """(alpha, beta) flat arrays from a grid over ``alpha``, ``beta`` or an ``(n, 2)`` point set."""
    if (grid is None) == (points is None):
        raise ValueError("give exactly one of grid (a ParameterGrid over alpha, beta) or points (an (n, 2) array)")
    if grid is not None:
        if not isinstance(grid, ParameterGrid):
            raise TypeError(f"grid must be a ParameterGrid, got {type(grid).__name__}")
        if grid.names != ("alpha", "beta"):
            raise ValueError(f"grid axes must be ('alpha', 'beta'), got {grid.names}")
        p = grid.points()
        return p[:, 0].copy(), p[:, 1].copy(), grid
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] == 0:
        raise ValueError(f"points must be a non-empty (n, 2) array of (alpha, beta), got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("points must be finite (got NaN or inf)")
    return p[:, 0].copy(), p[:, 1].copy(), None


def _is_generator(obj) -> bool:
    return isinstance(obj, LatentGenerator)


def sweep(generator: LatentGenerator | Callable[[], LatentGenerator], lslice: LatentSlice, grid: ParameterGrid | None = None,
          points: Any | None = None, *, batch_size: int = 16, chunk_size: int | None = None,
          resolution: int | None = None, keep_latent: bool = False, noise_seed: int = 0,
          store: str | os.PathLike | None = None, client: Any = None, progress: bool = True) -> xr.Dataset:
    """Generate images over a latent slice.

    Parameters
    ----------
    generator : a :class:`~statgeo.diffusion.pipeline.LatentGenerator`, or a picklable
        zero-argument loader returning one (e.g. :class:`~statgeo.diffusion.pipeline.PipelineSpec`;
        required with a Dask ``client``, where each worker calls it once and caches the result).
    lslice : the :class:`~statgeo.diffusion.slices.LatentSlice` z(α, β).
    grid, points : a ``ParameterGrid`` over (alpha, beta), or an ``(n, 2)`` array of points.
    batch_size : latents per forward pass.
    chunk_size : points per stored chunk (default ``4 * batch_size``); the unit of resume and
        of Dask tasks.
    resolution : output image side in pixels (default: the generator's own).
    keep_latent : also return the final denoised latents (``final_latent``).
    noise_seed : root of the per-point noise seeds (used when the sampler is stochastic).
    store : a zarr directory; finished chunks are written there and skipped on a rerun.
    client : a ``dask.distributed.Client`` or a scheduler address.
    progress : show a tqdm progress bar (also silenced by ``TQDM_DISABLE=1``).

    Returns
    -------
    xr.Dataset with ``image`` (alpha, beta, channel, y, x) for a grid or (point, channel, y, x)
    for a point set, uint8; ``final_latent`` if requested; attrs ``config`` (JSON).
    """
    from tqdm.auto import tqdm

    batch_size = check_int("batch_size", batch_size, min=1)
    chunk_size = 4 * batch_size if chunk_size is None else check_int("chunk_size", chunk_size, min=1)
    if resolution is not None:
        resolution = check_int("resolution", resolution, min=1)
    if not isinstance(lslice, LatentSlice):
        raise TypeError(f"lslice must be a LatentSlice, got {type(lslice).__name__}")
    alpha, beta, grid = resolve_points(grid, points)
    n = alpha.size
    seeds = point_seeds(noise_seed, n)
    if client is not None:
        from statgeo.diffusion import scaleout

        if _is_generator(generator):
            raise TypeError("with a Dask client, pass a picklable loader (e.g. PipelineSpec), not a loaded generator")
        info = scaleout.probe(client, generator, lslice, resolution)
        gconfig = info["config"]
    else:
        if not _is_generator(generator):
            if not callable(generator):
                raise TypeError(f"generator must be a LatentGenerator or a loader, got {type(generator).__name__}")
            generator = generator()
        gconfig = generator.config()
        info = None
    if tuple(gconfig.get("latent_shape", lslice.latent_shape)) != lslice.latent_shape:
        raise ValueError(f"latent shape mismatch: the slice has latents of shape {lslice.latent_shape}, "
                         f"the model expects {tuple(gconfig['latent_shape'])}")
    identity = {"generator": gconfig, "slice": lslice.config(), "anchors": _digest(lslice.anchors),
                "points": _digest(np.stack([alpha, beta])), "noise_seed": noise_seed, "resolution": resolution,
                "chunk_size": chunk_size, "keep_latent": bool(keep_latent)}
    config = {**identity, "batch_size": batch_size, "n_points": n, "versions": versions(),
              "grid": grid.to_json() if grid is not None else None}
    attrs = {"config": config_attr(config)}
    starts = list(range(0, n, chunk_size))
    st = SweepStore(store) if store is not None else None

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
    bar = tqdm(total=sum(min(chunk_size, n - starts[i]) for i in todo), desc="sweep", unit="img",
               disable=_disable(progress))
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
                                  keep_latent, progress=bar)
                if st is not None:
                    if not st.exists():
                        create(im.shape[1:], None if zl is None else zl.shape[1:])
                    st.write_chunk(i, starts[i], im, zl)
                else:
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
    """Reshape a flat (point) sweep over a grid's C-ordered points into (alpha, beta) dims."""
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
