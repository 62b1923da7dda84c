"""Exact enumeration of the L×L Ising torus: the joint density of states g(B, M).

Every configuration s ∈ {±1}^N, N = L² ≤ 25, is visited once by a Numba kernel that stores
the lattice as L rows of L bits, with per-row tables of the number of unsatisfied horizontal
bonds, of up spins, and the number of unsatisfied vertical bonds between two rows
(popcount of r XOR r'). With U unsatisfied bonds and n₊ up spins,
B = Σ_⟨ij⟩ s_i s_j = 2N − 2U and M = Σ_i s_i = 2n₊ − N. The counts g(B, M) are integers
(int64) and are cached in memory per L.

From g, everything is exact at any (K, η) (log-sum-exp over the support of g):

    ln Z(K, η) = ln Σ_{B,M} g(B, M) e^{K B + η M},
    ∇ ln Z = (⟨B⟩, ⟨M⟩),     ∇² ln Z = Cov(B, M)  (centred sums, no ⟨x²⟩ − ⟨x⟩² cancellation).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from statgeo.checks import check_allocation, check_array, check_broadcast_reals, check_int
from statgeo.models.compilation import compile_notice

__all__ = ["IsingDensityOfStates", "ENUMERATION_L_MAX"]

logger = logging.getLogger(__name__)

#: largest linear size whose 2^(L²) states are enumerated (L = 5: 33.5 million states)
ENUMERATION_L_MAX: int = 5

_CHUNK = 1 << 16  # parameter points × support size per log-sum-exp block


def _row_tables(L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nrow = 1 << L
    r = np.arange(nrow)
    bits = (r[:, None] >> np.arange(L)) & 1
    up = bits.sum(axis=1)
    rot = np.roll(bits, 1, axis=1)
    h_unsat = (bits != rot).sum(axis=1)
    v_unsat = np.array([[bin(a ^ b).count("1") for b in range(nrow)] for a in range(nrow)])
    return h_unsat.astype(np.int64), up.astype(np.int64), v_unsat.astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _count_kernel(L, h_unsat, up, v_unsat, counts):  # pragma: no cover - compiled
    # Outer loop over rows 0..L−2 (as one integer), inner loop over the last row, which
    # closes the torus against row 0: 2^(L²) states, ~5 table look-ups each.
    mask = (1 << L) - 1
    nrow = 1 << L
    n_prefix = 1 << (L * (L - 1))
    for x in range(n_prefix):
        r0 = x & mask
        prev = r0
        u = h_unsat[r0]
        n = up[r0]
        for i in range(1, L - 1):
            r = (x >> (i * L)) & mask
            u += h_unsat[r] + v_unsat[prev, r]
            n += up[r]
            prev = r
        for r in range(nrow):
            counts[u + h_unsat[r] + v_unsat[prev, r] + v_unsat[r, r0], n + up[r]] += 1


@functools.lru_cache(maxsize=8)
def _counts(L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    N = L * L
    h_unsat, up, v_unsat = _row_tables(L)
    counts = np.zeros((2 * N + 1, N + 1), dtype=np.int64)
    logger.info("enumerating the %d states of the %dx%d Ising torus", 1 << N, L, L)
    with compile_notice(None, "the Ising enumeration"):
        _count_kernel(L, h_unsat, up, v_unsat, counts)
    u, n = np.nonzero(counts)
    B = (2 * N - 2 * u).astype(np.int64)
    M = (2 * n - N).astype(np.int64)
    g = counts[u, n]
    for a in (B, M, g):
        a.setflags(write=False)
    return B, M, g


@dataclass(frozen=True, eq=False)
class IsingDensityOfStates:
    """The joint density of states g(B, M) of the L×L Ising torus, and exact thermodynamics.

    Usually built by :meth:`from_enumeration`; the constructor checks a table given by hand.

    Parameters
    ----------
    L : int
        Linear size, L ≥ 2 (N = L² spins, 2N bonds).
    B : array_like of int
        Support of g, bond sums B = Σ_⟨ij⟩ s_i s_j ∈ [−2N, 2N] (1-D; lists are accepted).
    M : array_like of int
        Magnetisations M = Σ_i s_i ∈ [−N, N], same shape as ``B``.
    counts : array_like of int
        g(B, M) ≥ 1: number of configurations with that (B, M), same shape as ``B``.

    Raises
    ------
    TypeError
        ``L`` is not an integer, or an array does not hold integers.
    ValueError
        ``L`` < 2, arrays empty, not 1-D or of different shapes, values out of range.

    Examples
    --------
    >>> dos = IsingDensityOfStates.from_enumeration(3)
    >>> int(dos.counts.sum())
    512
    >>> bool(np.isclose(dos.log_z(0.0, 0.0), 9 * np.log(2)))  # 2^9 states at K = η = 0
    True
    """

    L: int
    B: np.ndarray
    M: np.ndarray
    counts: np.ndarray

    def __post_init__(self) -> None:
        L = check_int("L", self.L, min=2)
        N = L * L
        arrays = {}
        for name, lo, hi in (("B", -2 * N, 2 * N), ("M", -N, N), ("counts", 1, None)):
            v = getattr(self, name)
            a = check_array(name, v, ndim=1, dtype_kind="iu")
            if a.min() < lo or (hi is not None and a.max() > hi):
                raise ValueError(f"{name} must hold integers in [{lo}, {hi if hi is not None else 'inf'}] for L={L}, "
                                 f"got values in [{a.min()}, {a.max()}]")
            arrays[name] = v if isinstance(v, np.ndarray) else a.astype(np.int64)
        if not (arrays["B"].shape == arrays["M"].shape == arrays["counts"].shape):
            raise ValueError(f"B, M and counts must have the same shape, got {arrays['B'].shape}, "
                             f"{arrays['M'].shape} and {arrays['counts'].shape}")
        object.__setattr__(self, "L", L)
        for name, a in arrays.items():
            object.__setattr__(self, name, a)

    @classmethod
    def from_enumeration(cls, L: int) -> "IsingDensityOfStates":
        """Count g(B, M) by visiting all 2^(L²) configurations (cached in memory per L).

        Cost 2^(L²) row-table look-ups: about 0.5 s for L = 5 (plus, on first use, the
        compilation of a Numba kernel, cached on disk).

        Parameters
        ----------
        L : int
            Linear size, 2 ≤ L ≤ 5 (L = 5: 33.5 million states).

        Returns
        -------
        IsingDensityOfStates

        Raises
        ------
        TypeError
            ``L`` is not an integer.
        ValueError
            ``L`` outside [2, 5].

        Examples
        --------
        >>> int(IsingDensityOfStates.from_enumeration(2).counts.sum())  # 2^(2·2) states
        16
        """
        L = check_int("L", L, min=2, max=ENUMERATION_L_MAX)
        B, M, g = _counts(L)
        return cls(L, B, M, g)

    @property
    def N(self) -> int:
        """Number of spins N = L²."""
        return self.L * self.L

    # ------------------------------------------------------------------ internals
    def _check(self, K, eta) -> tuple[np.ndarray, np.ndarray]:
        K, eta = check_broadcast_reals(K=K, eta=eta)
        check_allocation("the results (points, 2, 2)", K.shape + (2, 2), names="the broadcast shape of K and eta")
        return K, eta

    def _moments(self, K, eta, order: int):
        K, eta = self._check(K, eta)
        shape = K.shape
        k = K.ravel()
        e = eta.ravel()
        B = self.B.astype(np.float64)
        M = self.M.astype(np.float64)
        lg = np.log(self.counts.astype(np.float64))
        n = k.size
        logz = np.empty(n)
        grad = np.empty((n, 2)) if order >= 1 else None
        hess = np.empty((n, 2, 2)) if order >= 2 else None
        step = max(1, _CHUNK // B.size)
        for i in range(0, n, step):
            sl = slice(i, i + step)
            a = lg + k[sl, None] * B + e[sl, None] * M
            amax = a.max(axis=1, keepdims=True)
            w = np.exp(a - amax)
            Zs = w.sum(axis=1)
            logz[sl] = amax[:, 0] + np.log(Zs)
            if order >= 1:
                p = w / Zs[:, None]
                mB = p @ B
                mM = p @ M
                grad[sl, 0] = mB
                grad[sl, 1] = mM
                if order >= 2:
                    dB = B - mB[:, None]
                    dM = M - mM[:, None]
                    hess[sl, 0, 0] = (p * dB * dB).sum(axis=1)
                    hess[sl, 1, 1] = (p * dM * dM).sum(axis=1)
                    hess[sl, 0, 1] = hess[sl, 1, 0] = (p * dB * dM).sum(axis=1)
        out = [logz.reshape(shape)]
        if order >= 1:
            out.append(grad.reshape(shape + (2,)))
        if order >= 2:
            out.append(hess.reshape(shape + (2, 2)))
        return out

    # ------------------------------------------------------------------ public
    def log_z(self, K: Any, eta: Any) -> np.ndarray:
        r"""Exact ln Z(K, η) = ln Σ_{B,M} g(B, M) exp(K B + η M) (log-sum-exp).

        Parameters
        ----------
        K : array_like
            Coupling K = J/T (finite reals; lists are accepted).
        eta : array_like
            Reduced field η = h/T (finite reals), broadcast with ``K``.

        Returns
        -------
        numpy.ndarray
            Total ln Z, broadcast shape of (K, eta).

        Raises
        ------
        TypeError, ValueError
            Non-real, NaN or infinite values, or shapes that do not broadcast.
        """
        return self._moments(K, eta, 0)[0]

    def gradient(self, K: Any, eta: Any) -> np.ndarray:
        r"""Exact ∇_{(K, η)} ln Z = (⟨B⟩, ⟨M⟩).

        Parameters
        ----------
        K : array_like
            Coupling K = J/T (finite reals).
        eta : array_like
            Reduced field η = h/T (finite reals), broadcast with ``K``.

        Returns
        -------
        numpy.ndarray
            Shape (..., 2).
        """
        return self._moments(K, eta, 1)[1]

    def hessian(self, K: Any, eta: Any) -> np.ndarray:
        r"""Exact ∇² ln Z = Cov(B, M), the Fisher metric in (K, η).

        Computed as centred sums Σ p (x − ⟨x⟩)(y − ⟨y⟩), p = g e^{KB+ηM}/Z.

        Parameters
        ----------
        K : array_like
            Coupling K = J/T (finite reals).
        eta : array_like
            Reduced field η = h/T (finite reals), broadcast with ``K``.

        Returns
        -------
        numpy.ndarray
            Shape (..., 2, 2).
        """
        return self._moments(K, eta, 2)[2]

    def thermo(self, K: Any, eta: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(log_z, gradient, hessian)`` in one pass.

        Parameters
        ----------
        K : array_like
            Coupling K = J/T (finite reals).
        eta : array_like
            Reduced field η = h/T (finite reals), broadcast with ``K``.

        Returns
        -------
        log_z : numpy.ndarray
            Shape S (the broadcast shape).
        gradient : numpy.ndarray
            Shape S + (2,).
        hessian : numpy.ndarray
            Shape S + (2, 2).
        """
        return tuple(self._moments(K, eta, 2))
