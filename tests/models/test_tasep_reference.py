"""Independent references for the TASEP tests: the 2^N-state Markov generator and exact integers.

Nothing here uses statgeo's TASEP code.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.linalg


def configs(N: int) -> np.ndarray:
    """All 2^N configurations, row c has τ_i = bit (N−i) of c (site 1 most significant)."""
    idx = np.arange(1 << N)
    return ((idx[:, None] >> (N - 1 - np.arange(N))[None, :]) & 1).astype(np.int8)


def generator(N: int, alpha: float, beta: float) -> np.ndarray:
    """Markov generator Q (rows: from, columns: to; rows sum to 0) of the open TASEP."""
    S = 1 << N
    Q = np.zeros((S, S))
    for c in range(S):
        if not (c >> (N - 1)) & 1:  # site 1 empty: entry
            Q[c, c | (1 << (N - 1))] += alpha
        if c & 1:  # site N occupied: exit
            Q[c, c & ~1] += beta
        for i in range(N - 1):  # hop site i+1 -> i+2 (bits N-1-i -> N-2-i)
            hi, lo = 1 << (N - 1 - i), 1 << (N - 2 - i)
            if (c & hi) and not (c & lo):
                Q[c, (c & ~hi) | lo] += 1.0
    Q[np.diag_indices(S)] = -Q.sum(axis=1)
    return Q


def stationary_law(N: int, alpha: float, beta: float) -> np.ndarray:
    """Normalised null vector of Qᵀ (the stationary law), by SVD."""
    Q = generator(N, alpha, beta)
    ns = scipy.linalg.null_space(Q.T)
    assert ns.shape[1] == 1
    p = ns[:, 0]
    return p / p.sum()


def bond_currents(N: int, alpha: float, beta: float, p: np.ndarray) -> np.ndarray:
    """Current on bonds 0..N (entry, bulk, exit) in the law ``p``."""
    c = configs(N).astype(float)
    J = [alpha * p @ (1 - c[:, 0])]
    J += [p @ (c[:, i] * (1 - c[:, i + 1])) for i in range(N - 1)]
    J.append(beta * p @ c[:, N - 1])
    return np.array(J)


def exact_log_z(N: int, a: Fraction, b: Fraction) -> float:
    """ln Z_N from exact rational arithmetic (a = 1/α, b = 1/β rational), any N."""
    total = Fraction(0)
    for p in range(1, N + 1):
        c = p * math.factorial(2 * N - 1 - p) // (math.factorial(N) * math.factorial(N - p))
        if a == b:
            G = (p + 1) * a**p
        else:
            G = (b ** (p + 1) - a ** (p + 1)) / (b - a)
        total += c * G
    return math.log(total.numerator) - math.log(total.denominator)


# ---------------------------------------------------------------- sanity checks of the helpers
def test_generator_rows_sum_to_zero_and_rates():
    Q = generator(3, 0.3, 0.7)
    np.testing.assert_allclose(Q.sum(axis=1), 0.0, atol=1e-15)
    # empty lattice: only entry at rate α, to configuration 100 (= 4)
    assert Q[0, 4] == 0.3 and np.count_nonzero(Q[0]) == 2


def test_single_site_law():
    # N = 1: P(1) = α/(α+β)
    p = stationary_law(1, 0.3, 0.7)
    np.testing.assert_allclose(p, [0.7, 0.3], rtol=1e-12)


def test_exact_log_z_catalan():
    # Z_N(1, 1) = C_{N+1}
    for N in (1, 2, 5, 12):
        cat = math.comb(2 * N + 2, N + 1) // (N + 2)
        assert exact_log_z(N, Fraction(1), Fraction(1)) == pytest.approx(math.log(cat), rel=1e-15)
