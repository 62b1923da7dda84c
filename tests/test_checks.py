"""Argument validation and seeding helpers."""

import numpy as np
import pytest

from statgeo.checks import check_int, check_real
from statgeo.seeding import as_seed_sequence, xoshiro_states


def test_check_int_names_argument_and_range():
    assert check_int("L", 8, min=2) == 8
    with pytest.raises(ValueError, match=r"L must be an integer in \[2, inf\], got 1"):
        check_int("L", 1, min=2)
    with pytest.raises(TypeError, match="L must be an integer"):
        check_int("L", 8.0, min=2)
    with pytest.raises(TypeError):
        check_int("L", True)


def test_check_real_intervals():
    np.testing.assert_array_equal(check_real("alpha", [0.5, 1.0], low=0, high=1, low_inclusive=False), [0.5, 1.0])
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\], got 0.0"):
        check_real("alpha", [0.0, 0.5], low=0, high=1, low_inclusive=False)
    with pytest.raises(ValueError, match="NaN"):
        check_real("T", np.nan, low=0)
    with pytest.raises(TypeError):
        check_real("T", "hot")
    with pytest.raises(ValueError, match="empty"):
        check_real("T", [])


def test_seeds_are_explicit_and_reproducible():
    with pytest.raises(TypeError, match="seed"):
        as_seed_sequence(None)
    with pytest.raises(ValueError):
        as_seed_sequence(-1)
    a, b = xoshiro_states(7, 16), xoshiro_states(7, 16)
    np.testing.assert_array_equal(a, b)
    assert len({tuple(r) for r in a}) == 16  # distinct lanes
    assert not np.array_equal(a, xoshiro_states(8, 16))


def test_binary_pair_checks_every_chunk():
    from statgeo.checks import binary_pair

    x = np.ones(10, dtype=np.int8)
    assert binary_pair(x, chunk=3) == (-1, 1)
    x[9] = 0  # in the last, partial chunk: not ±1, and the -1 below rules out 0/1
    x[0] = -1
    assert binary_pair(x, chunk=3) is None
    assert binary_pair(np.array([0.0, 1.0, 1.0]), chunk=1) == (0, 1)
