"""Explicit, reproducible seeding.

Every sampler takes ``seed`` (an int or a :class:`numpy.random.SeedSequence`). Independent
streams for replicas / lanes / Dask chunks are derived with ``SeedSequence.spawn`` or
``generate_state`` (O'Neill's seed-sequence hashing), never by adding offsets to an int.
"""

from __future__ import annotations

import numbers

import numpy as np

from statgeo.checks import check_int

__all__ = ["as_seed_sequence", "xoshiro_states"]


def as_seed_sequence(seed: int | np.random.SeedSequence | None, *, name: str = "seed") -> np.random.SeedSequence:
    """Normalise ``seed`` to a :class:`numpy.random.SeedSequence`.

    ``None`` is refused: statgeo results must be reproducible, so the caller chooses the seed.

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence
        A non-negative integer, or a SeedSequence (returned as it is).
    name : str, default "seed"
        The argument's name, for the message.

    Returns
    -------
    numpy.random.SeedSequence

    Raises
    ------
    TypeError
        ``seed`` is None, a bool, a float or another type.
    ValueError
        ``seed`` is negative.

    Examples
    --------
    >>> as_seed_sequence(7).entropy
    7
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
    """Initial xoshiro256** states, one independent stream per lane.

    The 256-bit state of each lane is drawn from the seed sequence's hash (``generate_state``,
    O'Neill's SeedSequence), so lanes are statistically independent and no state is all-zero
    (Blackman and Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47, 2021).

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence
        The seed (see :func:`as_seed_sequence`).
    n_lanes : int
        Number of streams, 1 ≤ n_lanes ≤ 2**28.

    Returns
    -------
    numpy.ndarray
        uint64 array of shape ``(n_lanes, 4)``.

    Raises
    ------
    TypeError, ValueError
        A bad seed or lane count.
    """
    n_lanes = check_int("n_lanes", n_lanes, min=1, max=2**28)
    ss = as_seed_sequence(seed)
    words = ss.generate_state(4 * int(n_lanes), dtype=np.uint64).reshape(int(n_lanes), 4)
    zero = ~words.any(axis=1)
    words[zero, 0] = np.uint64(0x9E3779B97F4A7C15)
    return words
