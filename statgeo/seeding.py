"""Explicit, reproducible seeding.

Every sampler takes ``seed`` (an int or a :class:`numpy.random.SeedSequence`). Independent
streams for replicas / lanes / Dask chunks are derived with ``SeedSequence.spawn`` or
``generate_state`` (O'Neill's seed-sequence hashing), never by adding offsets to an int.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_seed_sequence", "xoshiro_states"]


def as_seed_sequence(seed: int | np.random.SeedSequence | None, *, name: str = "seed") -> np.random.SeedSequence:
    """Normalise ``seed`` to a SeedSequence.

    ``None`` is refused: statgeo results must be reproducible, so the caller chooses the seed.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(
            f"{name} must be a non-negative int or numpy.random.SeedSequence, got {type(seed).__name__} {seed!r}"
        )
    if int(seed) < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed}")
    return np.random.SeedSequence(int(seed))


def xoshiro_states(seed: int | np.random.SeedSequence, n_lanes: int) -> np.ndarray:
    """Initial xoshiro256** states, shape ``(n_lanes, 4)`` uint64, one independent stream per lane.

    The 256-bit state of each lane is drawn from the seed sequence's hash (``generate_state``),
    so lanes are statistically independent and no state is all-zero.
    """
    ss = as_seed_sequence(seed)
    words = ss.generate_state(4 * int(n_lanes), dtype=np.uint64).reshape(int(n_lanes), 4)
    zero = ~words.any(axis=1)
    words[zero, 0] = np.uint64(0x9E3779B97F4A7C15)
    return words
