"""Dask scale-out of sweeps: one task per chunk, one pipeline per worker.

Each worker keeps the generators it has loaded in a process-level cache keyed by
(worker address, loader token), so a pipeline is loaded once per worker (one worker per GPU
in a multi-GPU setting: start workers with ``CUDA_VISIBLE_DEVICES`` set per worker). A task
computes its chunk and, when a store is given, writes it there itself (data first, completion
marker last) and returns only its index; otherwise it returns the arrays
(docs/diffusion.md, "Dask").
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Iterator, Sequence

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["get_client", "worker_generator", "probe", "run_chunks"]

_CACHE: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def get_client(client: Any) -> Any:
    """A ``distributed.Client`` from a Client or a scheduler address string.

    Parameters
    ----------
    client : distributed.Client or str
        A client, or the address of a scheduler (e.g. ``"tcp://host:8786"``).

    Returns
    -------
    distributed.Client

    Raises
    ------
    TypeError
        ``client`` is neither.
    """
    from distributed import Client

    if isinstance(client, str):
        return Client(client)
    if not isinstance(client, Client):
        raise TypeError(f"client must be a dask.distributed.Client or a scheduler address, got {type(client).__name__}")
    return client


def _token(loader: Callable) -> str:
    tok = getattr(loader, "token", None)
    if callable(tok):
        return str(tok())
    from dask.base import tokenize

    return tokenize(loader)


def worker_generator(loader: Callable[[], Any]) -> Any:
    """The generator for ``loader`` on the current worker, loaded on first use and cached.

    Parameters
    ----------
    loader : callable
        A zero-argument loader (its ``token()``, if any, is the cache key).

    Returns
    -------
    LatentGenerator
        The cached generator.
    """
    try:
        from distributed import get_worker

        addr = get_worker().address
    except (ImportError, ValueError):
        addr = "local"
    key = (addr, _token(loader))
    with _LOCK:
        if key not in _CACHE:
            log.info("worker %s: loading generator %s", addr, key[1])
            _CACHE[key] = loader()
        return _CACHE[key]


def _probe_task(loader, lslice, resolution):
    from statgeo.diffusion.sweep import generate

    gen = worker_generator(loader)
    if lslice is None:
        return {"config": gen.config(), "image_shape": None, "latent_shape": None}
    z = np.zeros(1)
    im, zl = generate(gen, lslice, z, z, [0], 1, resolution, True, progress=False)
    return {"config": gen.config(), "image_shape": im.shape[1:], "latent_shape": None if zl is None else zl.shape[1:]}


def probe(client: Any, loader: Callable[[], Any], lslice: Any = None, resolution: int | None = None) -> dict:
    """Load the generator on one worker and return its config (and output shapes).

    Parameters
    ----------
    client : distributed.Client or str
        The cluster.
    loader : callable
        The zero-argument loader.
    lslice : LatentSlice, optional
        With a slice, one image is generated at (0, 0) to learn the output shapes.
    resolution : int, optional
        Output image side (as in :func:`~statgeo.diffusion.sweep`).

    Returns
    -------
    dict
        ``config`` (the generator's), ``image_shape`` and ``latent_shape`` (None without a slice).
    """
    client = get_client(client)
    return client.submit(_probe_task, loader, lslice, resolution, pure=False).result()


def _chunk_task(loader, lslice, alpha, beta, seeds, index, start, batch_size, resolution, keep_latent, store_path):
    from statgeo.diffusion.store import SweepStore
    from statgeo.diffusion.sweep import generate

    gen = worker_generator(loader)
    im, zl = generate(gen, lslice, alpha, beta, seeds, batch_size, resolution, keep_latent, progress=False)
    if store_path is not None:
        SweepStore(store_path).write_chunk(index, start, im, zl)
        return index, None
    return index, (im, zl)


def run_chunks(client: Any, loader: Callable[[], Any], lslice: Any, alpha: np.ndarray, beta: np.ndarray,
               seeds: np.ndarray, starts: Sequence[int], todo: Sequence[int], chunk_size: int, batch_size: int,
               resolution: int | None, keep_latent: bool, store_path: str | None) -> Iterator[tuple[int, Any]]:
    """Submit one task per pending chunk; yield ``(index, result)`` as they complete.

    Parameters
    ----------
    client : distributed.Client or str
        The cluster.
    loader : callable
        The zero-argument loader of the generator.
    lslice : LatentSlice
        The slice (scattered to every worker once).
    alpha, beta : numpy.ndarray
        All points' slice coordinates.
    seeds : numpy.ndarray
        All points' noise seeds.
    starts : sequence of int
        First point of every chunk.
    todo : sequence of int
        Indices of the chunks to compute.
    chunk_size : int
        Points per chunk.
    batch_size : int
        Latents per generator call.
    resolution : int or None
        Output image side.
    keep_latent : bool
        Also compute the final latents.
    store_path : str or None
        The sweep store the tasks write to (None: results come back to the client).

    Yields
    ------
    tuple
        ``(index, result)``: result is None when written to the store, else
        ``(images, latents)``.
    """
    from distributed import as_completed

    client = get_client(client)
    sl_future = client.scatter(lslice, broadcast=True)
    futs = []
    for i in todo:
        s = slice(starts[i], starts[i] + chunk_size)
        futs.append(client.submit(_chunk_task, loader, sl_future, alpha[s], beta[s], seeds[s], i, starts[i], batch_size,
                                  resolution, keep_latent, store_path, pure=False))
    for fut in as_completed(futs):
        yield fut.result()
