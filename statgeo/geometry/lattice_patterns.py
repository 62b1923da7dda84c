"""Plus-pattern frequencies of binary lattices: a fixed, translation-invariant feature map.

For a configuration on an H × W torus with sites "up" (x > 0) or "down", every site and its
four neighbours form one of 32 plus-shaped patterns, indexed

    k = b(i, j) + 2 b(i, j−1) + 4 b(i, j+1) + 8 b(i−1, j) + 16 b(i+1, j)    (periodic)

with b = 1 for up. The features of a configuration are the frequencies of the 32 patterns
(counts divided by H·W). The magnetisation and the nearest-neighbour bond sum are exact
linear functions of them, and so is every sufficient statistic of a model whose energy is a
sum of on-site and nearest-neighbour terms; longer-range correlations are not. The neural
grid posterior uses them as its first layer with ``encoder="patches"``
(docs/geometry_fitting.md, "Neural posterior defaults and cost").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statgeo.checks import check_int

__all__ = ["N_PATTERNS", "plus_pattern_frequencies"]

#: number of plus-shaped patterns of a site and its four neighbours
N_PATTERNS = 32


def plus_pattern_frequencies(x: Any, *, chunk: int = 1024) -> np.ndarray:
    """Frequencies of the 32 plus-shaped patterns of each lattice: (..., H, W) → (..., 32).

    Parameters
    ----------
    x : array_like
        Binary lattices (±1 or 0/1; a site is up where x > 0), last two axes the torus,
        any leading shape. Integer input is not copied to float.
    chunk : int, default 1024
        Lattices processed at a time (≥ 1): the temporary arrays are ≈ 7 bytes per site of
        a chunk.

    Returns
    -------
    numpy.ndarray
        float32, shape x.shape[:-2] + (32,), each row summing to 1.

    Raises
    ------
    TypeError
        ``x`` is not a real array.
    ValueError
        ``x`` has fewer than two axes or an empty lattice, or ``chunk`` < 1.

    Examples
    --------
    >>> f = plus_pattern_frequencies(np.ones((4, 4)))      # all up: only pattern 31
    >>> int(np.argmax(f)), float(f.sum())
    (31, 1.0)
    """
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"x must be a real array, got dtype {a.dtype}")
    if a.ndim < 2 or a.shape[-1] == 0 or a.shape[-2] == 0:
        raise ValueError(f"x must hold lattices in its last two axes, got shape {a.shape}")
    chunk = check_int("chunk", chunk, min=1)
    lead = a.shape[:-2]
    flat = a.reshape((-1,) + a.shape[-2:])
    out = np.empty((flat.shape[0], N_PATTERNS), dtype=np.float32)
    sites = a.shape[-1] * a.shape[-2]
    for s in range(0, flat.shape[0], chunk):
        b = (flat[s:s + chunk] > 0).astype(np.uint8)
        idx = (b | (np.roll(b, 1, -1) << 1) | (np.roll(b, -1, -1) << 2) | (np.roll(b, 1, -2) << 3)
               | (np.roll(b, -1, -2) << 4))
        B = b.shape[0]
        keys = idx.reshape(B, -1).astype(np.int32) + (N_PATTERNS * np.arange(B, dtype=np.int32))[:, None]
        out[s:s + B] = np.bincount(keys.ravel(), minlength=N_PATTERNS * B).reshape(B, N_PATTERNS) / sites
    return out.reshape(lead + (N_PATTERNS,))
