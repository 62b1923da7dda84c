"""Zarr chunk store for sweeps, with a completion marker per chunk (the resume rule).

Layout (an ordinary xarray-readable zarr group, ``xr.open_zarr(path)``):

* ``image`` (point, channel, y, x) uint8, zarr chunks of ``chunk_size`` points;
* ``final_latent`` (point, latent_channel, latent_y, latent_x) float32, if kept;
* ``alpha``, ``beta`` (point) float64 coordinates, ``noise_seed`` (point) uint64;
* ``chunk_done`` (chunk) uint8 with zarr chunks of one element: the completion marker.

A chunk's data is written first and its marker last, so a chunk interrupted half way has
marker 0 and is redone on the next run; a finished chunk is never recomputed. A store made
with a different configuration (points, generator, resolution, chunking) is refused.
"""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import xarray as xr

log = logging.getLogger(__name__)

__all__ = ["SweepStore"]


class SweepStore:
    """A zarr directory holding a sweep's points in chunks; see the module docstring."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)

    # ------------------------------------------------------------------ creation
    def exists(self) -> bool:
        return os.path.exists(os.path.join(self.path, "zarr.json")) or os.path.exists(os.path.join(self.path, ".zgroup"))

    def create_or_check(self, *, alpha: np.ndarray, beta: np.ndarray, seeds: np.ndarray, chunk_size: int,
                        image_shape: tuple[int, int, int], latent_shape: tuple[int, ...] | None,
                        identity: dict, attrs: dict) -> None:
        """Create the template (no data) or check that an existing store matches ``identity``."""
        ident = json.dumps(identity, sort_keys=True, default=str)
        if self.exists():
            have = xr.open_zarr(self.path, consolidated=False).attrs.get("sweep_identity")
            if have != ident:
                raise ValueError(f"store {self.path!r} holds a different sweep (configuration, points or chunking "
                                 "differ); use a new store path")
            return
        import dask.array as da

        n = alpha.size
        n_chunks = -(-n // chunk_size)
        data = {"image": (("point", "channel", "y", "x"),
                          da.zeros((n,) + tuple(image_shape), dtype=np.uint8, chunks=(chunk_size, -1, -1, -1)),
                          {"long_name": "generated image", "units": "1"}),
                "chunk_done": (("chunk",), da.zeros((n_chunks,), dtype=np.uint8, chunks=1),
                               {"long_name": "chunk completion marker (1 = complete)"})}
        if latent_shape is not None:
            data["final_latent"] = (("point", "latent_channel", "latent_y", "latent_x"),
                                    da.zeros((n,) + tuple(latent_shape), dtype=np.float32,
                                             chunks=(chunk_size,) + (-1,) * len(latent_shape)),
                                    {"long_name": "final denoised latent", "units": "1"})
        coords = {"alpha": ("point", alpha, {"long_name": "slice coordinate α", "units": "1"}),
                  "beta": ("point", beta, {"long_name": "slice coordinate β", "units": "1"}),
                  "noise_seed": ("point", seeds.astype(np.uint64), {"long_name": "per-point noise seed"})}
        ds = xr.Dataset(data, coords=coords, attrs={**attrs, "sweep_identity": ident})
        enc = {"alpha": {"chunks": (n,)}, "beta": {"chunks": (n,)}, "noise_seed": {"chunks": (n,)}}
        ds.to_zarr(self.path, mode="w-", compute=False, consolidated=False, encoding=enc)
        # write the small coordinate arrays now (they are numpy, so written with the metadata)
        log.info("created sweep store %s (%d points, %d chunks)", self.path, n, n_chunks)

    # ------------------------------------------------------------------ chunks
    def done(self) -> np.ndarray:
        """Completion markers, one per chunk (bool)."""
        import zarr

        g = zarr.open_group(self.path, mode="r")
        return np.asarray(g["chunk_done"][:]).astype(bool)

    def write_chunk(self, index: int, start: int, images: np.ndarray, latents: np.ndarray | None) -> None:
        """Write one chunk's data, then (last) its completion marker."""
        import zarr

        g = zarr.open_group(self.path, mode="r+")
        stop = start + images.shape[0]
        g["image"][start:stop] = images
        if latents is not None and "final_latent" in g:
            g["final_latent"][start:stop] = latents.astype(np.float32)
        g["chunk_done"][index:index + 1] = np.ones(1, dtype=np.uint8)

    def load(self) -> xr.Dataset:
        """Read the whole store into memory (without the marker variable)."""
        ds = xr.open_zarr(self.path, consolidated=False)
        if not bool(ds["chunk_done"].all()):
            raise RuntimeError(f"store {self.path!r} is incomplete: {int((ds['chunk_done'] == 0).sum())} chunks missing")
        out = ds.drop_vars("chunk_done").load()
        ds.close()
        out.attrs.pop("sweep_identity", None)
        for v in out.variables.values():
            v.encoding = {}
        return out
