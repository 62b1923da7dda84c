"""CuPy (CUDA) checkerboard Metropolis kernel for the 2-D Ising model, many replicas.

Same update rule as :mod:`statgeo.models.kernels.ising_numba`: a sweep updates the sublattice
(x + y) mod 2 = 0, then 1; a flip s → −s at a site with neighbour sum h is accepted when
u ≤ ⌈min(1, exp(−2 s (K h + η)))·2³¹⌉ − 1 with u a uniform 31-bit integer, using the same
per-replica threshold table (:func:`~statgeo.models.kernels.ising_numba.metropolis_thresholds`).

Random numbers: counter-based Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random
numbers: as easy as 1, 2, 3", SC'11), written in the CUDA source. The 64-bit key is drawn from
the seed sequence; the 128-bit counter is (site index within the sublattice,
low word of 2·sweep + colour, high word of 2·sweep + colour, replica). Every (replica, sweep,
colour, site) therefore has its own random word, independent of the launch configuration:
same seed → same chain. u = x₀ >> 1 (the top 31 bits of the first output word).

Layout on the device: spins (R, L, L) int8 in plain row-major order; one thread per site of
the active sublattice (R·L²/2 threads per launch). L must be even.

CuPy is imported lazily, so the package imports without it. :func:`philox4x32_10` is a NumPy
implementation of the same generator, used to check the constants against the Random123
known-answer vectors on machines without a GPU.
"""

from __future__ import annotations

import numpy as np

from statgeo.models.kernels.ising_numba import metropolis_thresholds

__all__ = ["CUDA_SOURCE", "CupyMetropolisEngine", "philox4x32_10"]

PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85

CUDA_SOURCE = r"""
extern "C" {

__device__ __forceinline__ void philox_round(unsigned int &c0, unsigned int &c1, unsigned int &c2,
                                             unsigned int &c3, unsigned int k0, unsigned int k1) {
    unsigned int hi0 = __umulhi(0xD2511F53u, c0);
    unsigned int lo0 = 0xD2511F53u * c0;
    unsigned int hi1 = __umulhi(0xCD9E8D57u, c2);
    unsigned int lo1 = 0xCD9E8D57u * c2;
    unsigned int n0 = hi1 ^ c1 ^ k0;
    unsigned int n2 = hi0 ^ c3 ^ k1;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
}

__device__ __forceinline__ void philox4x32_10(unsigned int &c0, unsigned int &c1, unsigned int &c2,
                                              unsigned int &c3, unsigned int k0, unsigned int k1) {
    #pragma unroll
    for (int i = 0; i < 10; ++i) {
        philox_round(c0, c1, c2, c3, k0, k1);
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
}

__global__ void ising_checkerboard(signed char* __restrict__ spins,
                                   const int* __restrict__ thr,
                                   const int L, const int R, const int color,
                                   const unsigned int key0, const unsigned int key1,
                                   const unsigned long long sweep) {
    const long long half = L / 2;
    const long long per = (long long)L * half;
    const long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (tid >= per * (long long)R) return;
    const int r = (int)(tid / per);
    const long long t = tid - (long long)r * per;
    const int y = (int)(t / half);
    const int j = (int)(t - (long long)y * half);
    const int x = 2 * j + ((y + color) & 1);
    signed char* s = spins + (long long)r * L * L;
    const int yu = (y + L - 1) % L, yd = (y + 1) % L, xl = (x + L - 1) % L, xr = (x + 1) % L;
    const int h = s[y * L + xl] + s[y * L + xr] + s[yu * L + x] + s[yd * L + x];
    const int si = s[y * L + x];
    const int k = 5 * ((si + 1) >> 1) + ((h + 4) >> 1);
    const unsigned long long step = 2ull * sweep + (unsigned long long)color;
    unsigned int c0 = (unsigned int)t, c1 = (unsigned int)(step & 0xFFFFFFFFull),
                 c2 = (unsigned int)(step >> 32), c3 = (unsigned int)r;
    philox4x32_10(c0, c1, c2, c3, key0, key1);
    const int u = (int)(c0 >> 1);
    if (u <= thr[(long long)r * 10 + k]) s[y * L + x] = (signed char)(-si);
}

}
"""

_MASK32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(ctr: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Philox4x32-10 on the host (NumPy), for checking the CUDA constants.

    Parameters
    ----------
    ctr : (..., 4) uint32 counters. key : (2,) uint32 key.

    Returns
    -------
    (..., 4) uint32 outputs. Known answer (Random123 ``kat_vectors``): counter 0, key 0 →
    (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8).
    """
    c = np.asarray(ctr, dtype=np.uint64) & _MASK32
    c0, c1, c2, c3 = (c[..., i].copy() for i in range(4))
    k0, k1 = (np.uint64(int(v) & 0xFFFFFFFF) for v in np.asarray(key).ravel()[:2])
    for _ in range(10):
        p0 = np.uint64(PHILOX_M0) * c0
        p1 = np.uint64(PHILOX_M1) * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & _MASK32
        hi1, lo1 = p1 >> np.uint64(32), p1 & _MASK32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + np.uint64(PHILOX_W0)) & _MASK32
        k1 = (k1 + np.uint64(PHILOX_W1)) & _MASK32
    return np.stack([c0, c1, c2, c3], axis=-1).astype(np.uint32)


class CupyMetropolisEngine:
    """Replica state on the GPU and the schedule runner used by :func:`statgeo.models.ising.run_chains`.

    Parameters
    ----------
    K, eta : (R,) natural parameters per replica. L : even linear size.
    seed_sequence : the Philox key is ``seed_sequence.generate_state(2, uint32)``.
    """

    BLOCK = 256

    def __init__(self, K: np.ndarray, eta: np.ndarray, L: int, seed_sequence: np.random.SeedSequence):
        try:
            import cupy as cp
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise ImportError("backend='cupy' needs CuPy (pip install 'statgeo[gpu]') and a CUDA GPU") from exc
        if L % 2:
            raise ValueError(f"L must be even for the checkerboard kernel, got {L}")
        self.cp = cp
        self.L = int(L)
        self.R = int(np.asarray(K).shape[0])
        init = np.where(np.asarray(eta) < 0, -1, 1).astype(np.int8)[:, None, None] * np.ones((1, L, L), np.int8)
        self.spins = cp.asarray(np.ascontiguousarray(init))
        self.thr = cp.asarray(metropolis_thresholds(K, eta))
        key = seed_sequence.generate_state(2, dtype=np.uint32)
        self.key = (np.uint32(key[0]), np.uint32(key[1]))
        self.sweep = 0
        self._kernel = cp.RawKernel(CUDA_SOURCE, "ising_checkerboard")
        n_threads = self.R * L * L // 2
        self._grid = ((n_threads + self.BLOCK - 1) // self.BLOCK,)

    def _one_sweep(self) -> None:
        for color in (0, 1):
            self._kernel(self._grid, (self.BLOCK,),
                         (self.spins, self.thr, np.int32(self.L), np.int32(self.R), np.int32(color),
                          self.key[0], self.key[1], np.uint64(self.sweep)))
        self.sweep += 1

    def _measure(self, idx):
        cp = self.cp
        s = self.spins[idx].astype(cp.int64)
        B = (s * (cp.roll(s, 1, axis=-1) + cp.roll(s, 1, axis=-2))).sum(axis=(-1, -2))
        M = s.sum(axis=(-1, -2))
        return B, M

    def run(self, burn: np.ndarray, thin: np.ndarray, n_rec: int, store: bool):
        """``burn[r]`` sweeps, then ``n_rec`` records every ``thin[r]`` sweeps (all replicas sweep
        together; a replica's extra sweeps after its last record only advance its chain)."""
        cp = self.cp
        R, L = self.R, self.L
        burn = np.asarray(burn, np.int64)
        thin = np.asarray(thin, np.int64)
        out_s = cp.empty((R, n_rec if store else 0, L, L), cp.int8)
        out_B = cp.empty((R, n_rec), cp.int64)
        out_M = cp.empty((R, n_rec), cp.int64)
        total = int((burn + n_rec * thin).max()) if n_rec > 0 else int(burn.max())
        for t in range(total):
            self._one_sweep()
            d = t + 1 - burn
            due = (d > 0) & (d % thin == 0) & (d // thin <= n_rec)
            if n_rec and due.any():
                idx = np.nonzero(due)[0]
                i = (d[idx] // thin[idx] - 1)
                idx_d, i_d = cp.asarray(idx), cp.asarray(i)
                B, M = self._measure(idx_d)
                out_B[idx_d, i_d] = B
                out_M[idx_d, i_d] = M
                if store:
                    out_s[idx_d, i_d] = self.spins[idx_d]
        return out_s.get(), out_B.get(), out_M.get()
