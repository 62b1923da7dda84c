"""Zarr chunk store for sweeps, with a completion marker per chunk (the resume rule).

Layout (an ordinary xarray-readable zarr group, ``xr.open_zarr(path, consolidated=False)``):

* ``image`` (point, channel, y, x) uint8, zarr chunks of ``chunk_size`` points;
* ``final_latent`` (point, latent_channel, latent_y, latent_x) float32, if kept;
* ``alpha``, ``beta`` (point) float64 coordinates, ``noise_seed`` (point) uint64;
* ``chunk_done`` (chunk) uint8 with zarr chunks of one element: the completion marker.

A chunk's data is written first and its marker last, so a chunk interrupted half way has
marker 0 and is redone on the next run; a finished chunk is never recomputed. A store made
with a different configuration (points, generator, resolution, chunking) is refused. The
store is written without consolidated metadata (which Zarr format 3 does not define), so
open it with ``consolidated=False`` (docs/diffusion.md, "Store layout and the resume rule").
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Sequence

import numpy as np
import xarray as xr

from statgeo.checks import check_int
from statgeo.diffusion._checks import check_dict, check_path, check_shape, real_array

log = logging.getLogger(__name__)

__all__ = ["SweepStore"]


class SweepStore:
    """A zarr directory holding a sweep's points in chunks; see the module docstring.

    Parameters
    ----------
    path : str or os.PathLike
        The store directory (created by :meth:`create_or_check`).

    Raises
    ------
    TypeError
        ``path`` is not a path.
    ValueError
        ``path`` is empty.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> st = SweepStore(os.path.join(d, "s.zarr"))
    >>> st.create_or_check(alpha=np.zeros(3), beta=np.arange(3.0), seeds=np.arange(3), chunk_size=2,
    ...                    image_shape=(1, 2, 2), latent_shape=None, identity={"test": 1}, attrs={})
    >>> st.done().tolist()
    [False, False]
    >>> st.write_chunk(0, 0, np.ones((2, 1, 2, 2), np.uint8), None)
    >>> st.done().tolist()
    [True, False]
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = check_path("path", path)

    # ------------------------------------------------------------------ creation
    def exists(self) -> bool:
        """Whether the store has been created (a zarr group exists at ``path``).

        Returns
        -------
        bool
        """
        return os.path.exists(os.path.join(self.path, "zarr.json")) or os.path.exists(os.path.join(self.path, ".zgroup"))

    def create_or_check(self, *, alpha: Any, beta: Any, seeds: Any, chunk_size: int,
                        image_shape: Sequence[int] | None, latent_shape: Sequence[int] | None,
                        identity: dict, attrs: dict) -> None:
        """Create the template (no data yet) or check that an existing store matches ``identity``.

        Parameters
        ----------
        alpha, beta : array_like
            The points' slice coordinates, 1-D of the same size n, finite.
        seeds : array_like
            The points' noise seeds, n non-negative integers.
        chunk_size : int
            Points per chunk (≥ 1).
        image_shape : sequence of int or None
            ``(channel, y, x)`` of one image; required to create the store (None only checks an
            existing store).
        latent_shape : sequence of int or None
            Shape of one final latent, or None to store no latents.
        identity : dict
            JSON-serialisable configuration the store is bound to (a rerun must match it).
        attrs : dict
            Attributes of the stored dataset.

        Raises
        ------
        TypeError
            An argument of the wrong type.
        ValueError
            Mismatched sizes, non-finite coordinates, negative seeds, a missing
            ``image_shape`` for a new store, or an existing store holding a different sweep.
        """
        alpha = real_array("alpha", alpha, ndim=1)
        beta = real_array("beta", beta, ndim=1)
        if alpha.shape != beta.shape:
            raise ValueError(f"alpha and beta must have the same number of points, got {alpha.size} and {beta.size}")
        seeds = np.asarray(seeds)
        if seeds.dtype.kind not in "iu":
            raise TypeError(f"seeds must be integers, got dtype {seeds.dtype}")
        if seeds.shape != alpha.shape or (seeds.dtype.kind == "i" and (seeds < 0).any()):
            raise ValueError(f"seeds must be {alpha.size} non-negative integers (one per point), got shape {seeds.shape}")
        chunk_size = check_int("chunk_size", chunk_size, min=1)
        if image_shape is not None:
            image_shape = check_shape("image_shape", image_shape)
            if len(image_shape) != 3:
                raise ValueError(f"image_shape must be (channel, y, x), got {image_shape}")
        if latent_shape is not None:
            latent_shape = check_shape("latent_shape", latent_shape)
        check_dict("identity", identity, optional=False)
        check_dict("attrs", attrs, optional=False)
        ident = json.dumps(identity, sort_keys=True, default=str)
        if self.exists():
            have = xr.open_zarr(self.path, consolidated=False).attrs.get("sweep_identity")
            if have != ident:
                raise ValueError(f"store {self.path!r} holds a different sweep (configuration, points or chunking "
                                 "differ); use a new store path")
            return
        if image_shape is None:
            raise ValueError(f"image_shape is required to create the store {self.path!r}")
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
    def _group(self, mode: str):
        import zarr

        if not self.exists():
            raise FileNotFoundError(f"sweep store not found: {self.path!r} (create it with create_or_check)")
        return zarr.open_group(self.path, mode=mode)

    def done(self) -> np.ndarray:
        """Completion markers, one per chunk.

        Returns
        -------
        numpy.ndarray
            bool, ``(n_chunks,)``.

        Raises
        ------
        FileNotFoundError
            The store does not exist.
        """
        g = self._group("r")
        return np.asarray(g["chunk_done"][:]).astype(bool)

    def write_chunk(self, index: int, start: int, images: Any, latents: Any = None) -> None:
        """Write one chunk's data, then (last) its completion marker.

        Everything is checked before the first byte is written, so a refused chunk leaves
        the store as it was (marker 0).

        Parameters
        ----------
        index : int
            The chunk's index, in ``[0, n_chunks)``.
        start : int
            Its first point, ≥ 0; the chunk covers points ``start … start + len(images) − 1``.
        images : numpy.ndarray
            uint8 images ``(m, channel, y, x)`` of the stored image shape.
        latents : array_like, optional
            Final latents ``(m, ...)`` (written only if the store keeps latents), finite.

        Raises
        ------
        FileNotFoundError
            The store does not exist.
        TypeError
            ``images`` is not a uint8 array, or a count not an integer.
        ValueError
            An index or range outside the store, a shape mismatch, or non-finite latents.
        """
        index = check_int("index", index, min=0)
        start = check_int("start", start, min=0)
        if isinstance(images, (str, bytes)) or images is None:
            raise TypeError(f"images must be a uint8 array (m, channel, y, x), got {type(images).__name__}")
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise TypeError(f"images must be uint8 (convert with to_uint8), got dtype {images.dtype}")
        g = self._group("r+")
        n_chunks = g["chunk_done"].shape[0]
        if index >= n_chunks:
            raise ValueError(f"index must be in [0, {n_chunks - 1}] (the store has {n_chunks} chunks), got {index}")
        img_shape = tuple(g["image"].shape)
        if images.ndim != 4 or images.shape[0] == 0 or images.shape[1:] != img_shape[1:]:
            raise ValueError(f"images must have shape (m, *{img_shape[1:]}), got {images.shape}")
        stop = start + images.shape[0]
        if stop > img_shape[0]:
            raise ValueError(f"start + len(images) = {stop} exceeds the store's {img_shape[0]} points")
        if latents is not None:
            latents = real_array("latents", latents)
            if latents.shape[0] != images.shape[0]:
                raise ValueError(f"latents must hold one latent per image ({images.shape[0]}), got shape {latents.shape}")
        g["image"][start:stop] = images
        if latents is not None and "final_latent" in g:
            g["final_latent"][start:stop] = latents.astype(np.float32)
        g["chunk_done"][index:index + 1] = np.ones(1, dtype=np.uint8)

    def load(self) -> xr.Dataset:
        """Read the whole (complete) store into memory, without the marker variable.

        Returns
        -------
        xarray.Dataset
            ``image`` (point, channel, y, x), ``final_latent`` if kept, coords ``alpha``,
            ``beta``, ``noise_seed``.

        Raises
        ------
        FileNotFoundError
            The store does not exist.
        ValueError
            Some chunks are not complete (rerun the sweep to finish them).
        """
        if not self.exists():
            raise FileNotFoundError(f"sweep store not found: {self.path!r}")
        ds = xr.open_zarr(self.path, consolidated=False)
        if not bool(ds["chunk_done"].all()):
            missing = int((ds["chunk_done"] == 0).sum())
            ds.close()
            raise ValueError(f"store {self.path!r} is incomplete: {missing} chunks missing (rerun the sweep)")
        out = ds.drop_vars("chunk_done").load()
        ds.close()
        out.attrs.pop("sweep_identity", None)
        for v in out.variables.values():
            v.encoding = {}
        return out
