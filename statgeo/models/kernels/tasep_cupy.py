"""CuPy (CUDA) kernel for continuous-time Monte Carlo of the open TASEP, one thread per replica.

Same update rule as :func:`statgeo.models.kernels.tasep_numba.mc_kernel` (random-sequential
attempts, N + 1 attempts per unit time). Random numbers: counter-based Philox4x32-10
(Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011) written in
the CUDA source: key = two 32-bit words from the seed sequence, counter = (draw index low/high,
replica index, 0), so every replica has its own stream and results do not depend on the launch
configuration. Each Philox block gives four 32-bit words = two attempts (bond via
``__umulhi(u, N+1)``, acceptance u·2⁻³²). CuPy is imported lazily.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CUDA_SOURCE", "mc_cupy", "cupy_available"]

CUDA_SOURCE = r"""
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

__device__ __forceinline__ uint4 philox4x32_10(uint4 c, unsigned int k0, unsigned int k1) {
    #pragma unroll
    for (int i = 0; i < 10; ++i) {
        unsigned int hi0 = __umulhi(PHILOX_M0, c.x);
        unsigned int lo0 = PHILOX_M0 * c.x;
        unsigned int hi1 = __umulhi(PHILOX_M1, c.z);
        unsigned int lo1 = PHILOX_M1 * c.z;
        c = make_uint4(hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    return c;
}

struct Rng {
    unsigned int k0, k1, rep;
    unsigned long long ctr;
    uint4 buf;
    int half;
};

__device__ __forceinline__ void next_pair(Rng &g, unsigned int &u0, unsigned int &u1) {
    if (g.half == 0) {
        uint4 c = make_uint4((unsigned int)(g.ctr & 0xFFFFFFFFull), (unsigned int)(g.ctr >> 32), g.rep, 0u);
        g.buf = philox4x32_10(c, g.k0, g.k1);
        g.ctr += 1ull;
        u0 = g.buf.x; u1 = g.buf.y; g.half = 1;
    } else {
        u0 = g.buf.z; u1 = g.buf.w; g.half = 0;
    }
}

// one random-sequential attempt; returns the bond that fired or -1
__device__ __forceinline__ int attempt(signed char *lat, int N, double alpha, double beta, Rng &g) {
    unsigned int u0, u1;
    next_pair(g, u0, u1);
    int bond = (int)__umulhi(u0, (unsigned int)(N + 1));
    double u = (double)u1 * 2.3283064365386963e-10;
    if (bond == 0) {
        if (lat[0] == 0 && u < alpha) { lat[0] = 1; return 0; }
    } else if (bond == N) {
        if (lat[N - 1] == 1 && u < beta) { lat[N - 1] = 0; return N; }
    } else {
        if (lat[bond - 1] == 1 && lat[bond] == 0) { lat[bond - 1] = 0; lat[bond] = 1; return bond; }
    }
    return -1;
}

extern "C" __global__ void tasep_mc(const int N, const double alpha, const double beta,
                                    const unsigned int key0, const unsigned int key1,
                                    const int n_rep, const long long burn_in, const int n_snap,
                                    const long long spacing, signed char *lattice,
                                    signed char *snapshots, unsigned long long *hops,
                                    unsigned long long *occ_time) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n_rep) return;
    signed char *lat = lattice + (size_t)r * N;
    unsigned long long *h = hops + (size_t)r * (N + 1);
    unsigned long long *o = occ_time + (size_t)r * N;
    for (int i = 0; i < N; ++i) { lat[i] = 0; o[i] = 0ull; }
    for (int i = 0; i <= N; ++i) h[i] = 0ull;
    Rng g; g.k0 = key0; g.k1 = key1; g.rep = (unsigned int)r; g.ctr = 0ull; g.half = 0;
    for (long long s = 0; s < burn_in; ++s)
        for (int a = 0; a <= N; ++a) attempt(lat, N, alpha, beta, g);
    for (int t = 0; t < n_snap; ++t) {
        for (long long s = 0; s < spacing; ++s) {
            for (int a = 0; a <= N; ++a) {
                int f = attempt(lat, N, alpha, beta, g);
                if (f >= 0) h[f] += 1ull;
            }
            for (int i = 0; i < N; ++i) o[i] += (unsigned long long)lat[i];
        }
        signed char *snap = snapshots + ((size_t)r * n_snap + t) * N;
        for (int i = 0; i < N; ++i) snap[i] = lat[i];
    }
}
"""

_KERNEL = None


def cupy_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        import cupy

        _KERNEL = cupy.RawKernel(CUDA_SOURCE, "tasep_mc")
    return _KERNEL


def mc_cupy(N: int, alpha: float, beta: float, n_replicas: int, n_snapshots: int, burn_in: int,
            spacing: int, seed: np.random.SeedSequence, threads_per_block: int = 128):
    """Run the CUDA kernel; returns NumPy arrays (snapshots, hops, occ_time) like the Numba kernel.

    ``seed`` must be a SeedSequence; its ``generate_state(2, uint32)`` is the Philox key.
    """
    import cupy

    key = seed.generate_state(2, dtype=np.uint32)
    lattice = cupy.zeros((n_replicas, N), dtype=cupy.int8)
    snaps = cupy.zeros((n_replicas, n_snapshots, N), dtype=cupy.int8)
    hops = cupy.zeros((n_replicas, N + 1), dtype=cupy.uint64)
    occ = cupy.zeros((n_replicas, N), dtype=cupy.uint64)
    blocks = (n_replicas + threads_per_block - 1) // threads_per_block
    _kernel()((blocks,), (threads_per_block,),
              (np.int32(N), np.float64(alpha), np.float64(beta), np.uint32(key[0]), np.uint32(key[1]),
               np.int32(n_replicas), np.int64(burn_in), np.int32(n_snapshots), np.int64(spacing),
               lattice, snaps, hops, occ))
    return cupy.asnumpy(snaps), cupy.asnumpy(hops).astype(np.int64), cupy.asnumpy(occ).astype(np.int64)
