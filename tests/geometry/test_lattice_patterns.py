"""Plus-pattern frequencies against a direct count, site by site."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from statgeo.geometry import plus_pattern_frequencies


def direct_count(lattice: np.ndarray) -> np.ndarray:
    """The definition, one site at a time: k = b + 2 b_left + 4 b_right + 8 b_up + 16 b_down."""
    H, W = lattice.shape
    up = lattice > 0
    counts = np.zeros(32)
    for i in range(H):
        for j in range(W):
            k = (up[i, j] + 2 * up[i, (j - 1) % W] + 4 * up[i, (j + 1) % W] + 8 * up[(i - 1) % H, j]
                 + 16 * up[(i + 1) % H, j])
            counts[k] += 1
    return counts / (H * W)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 7), w=st.integers(1, 7), n=st.integers(1, 5), zero_one=st.booleans(),
       chunk=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_equals_the_direct_count(h, w, n, zero_one, chunk, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(n, h, w)).astype(np.int8)
    if not zero_one:
        x = 2 * x - 1
    f = plus_pattern_frequencies(x, chunk=chunk)
    assert f.dtype == np.float32 and f.shape == (n, 32)
    for k in range(n):
        np.testing.assert_allclose(f[k], direct_count(x[k]), atol=1e-7)


def test_leading_axes_are_kept():
    x = np.ones((2, 3, 4, 5), dtype=np.int8)
    assert plus_pattern_frequencies(x).shape == (2, 3, 32)
