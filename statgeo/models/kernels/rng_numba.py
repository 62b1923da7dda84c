"""xoshiro256** for Numba kernels, one independent stream per lane.

xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators",
ACM TOMS 47, 2021) passes BigCrush and PractRand; its state is 4×64 bits. Each lane (replica,
SIMD lane, thread) owns one row of a ``(n_lanes, 4)`` uint64 state array seeded by
:func:`statgeo.seeding.xoshiro_states`. The functions below are ``@njit(inline='always')``
so that a kernel that keeps a lane's four words in local variables vectorises.

Conversions: ``to_unit_double(x) = (x >> 11) · 2⁻⁵³`` is uniform on [0, 1) with 53 random bits.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["rotl", "xoshiro_step", "xoshiro_next", "to_unit_double", "next_double"]


@nb.njit(inline="always", cache=True)
def rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@nb.njit(inline="always", cache=True)
def xoshiro_step(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64):
    """One xoshiro256** step on state words held in local variables (registers / SIMD lanes).

    Returns ``(output, s0, s1, s2, s3)``: 64 random bits and the new state. Kernels that keep a
    lane's state in locals call this in their hot loop so that the loop vectorises.
    """
    result = rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 45)
    return result, s0, s1, s2, s3


@nb.njit(inline="always", cache=True)
def xoshiro_next(state: np.ndarray, lane: int) -> np.uint64:
    """Advance lane ``lane`` of ``state`` (shape (n, 4), uint64) and return 64 random bits."""
    result, s0, s1, s2, s3 = xoshiro_step(state[lane, 0], state[lane, 1], state[lane, 2], state[lane, 3])
    state[lane, 0] = s0
    state[lane, 1] = s1
    state[lane, 2] = s2
    state[lane, 3] = s3
    return result


@nb.njit(inline="always", cache=True)
def to_unit_double(x: np.uint64) -> float:
    return np.float64(x >> np.uint64(11)) * 1.1102230246251565e-16


@nb.njit(inline="always", cache=True)
def next_double(state: np.ndarray, lane: int) -> float:
    """Uniform double on [0, 1) from lane ``lane``."""
    return to_unit_double(xoshiro_next(state, lane))
