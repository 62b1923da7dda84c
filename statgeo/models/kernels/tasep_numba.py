"""Numba kernels for the open TASEP: finite matrix representation, exact sampler, continuous-time MC.

Finite representation (see ``docs/tasep.md``). With a = 1/α, b = 1/β, write D = 1 + d and
E = 1 + e with de = 1 (then DE = D + E). On the basis |0⟩, |1⟩, … take

    d|n⟩ = |n−1⟩ (d|0⟩ = 0),   e|0⟩ = (a−1)|0⟩ + |1⟩,   e|n⟩ = |n+1⟩ (n ≥ 1),
    ⟨W| = ⟨0|,   |V⟩ = Σ_n (b−1)ⁿ |n⟩.

Then de = 1, ⟨W|E = a⟨W|, D|V⟩ = b|V⟩ and ⟨W|V⟩ = 1. Acting on bras, d raises the index by one
and e lowers it, so ⟨W|X₁⋯X_k has support on {0, …, k}: truncating to indices 0..N is exact for
words of length ≤ N. All entries are non-negative (a, b ≥ 1), so products never cancel. To keep
numbers bounded the basis is rescaled, |n⟩ → sⁿ|n⟩ with s = max(b − 1, 1):

    D'ₙₙ = 1, D'ₙ₋₁,ₙ = s;   E'₀₀ = a, E'ₙₙ = 1 (n ≥ 1), E'ₙ₊₁,ₙ = 1/s;   V'ₙ = rⁿ, r = (b−1)/s ≤ 1,

and bras are renormalised by their maximum after every site, with the logarithm of the scale
carried along. ∂/∂a acts only through E'₀₀, ∂/∂b only through V' (s is held fixed: the similarity
transform is exact for any fixed s), which gives per-configuration scores by forward-mode
differentiation of the product.

Continuous-time Monte Carlo (random-sequential update, i.e. uniformisation of the Markov jump
process with total rate N + 1): each attempt picks one of the N + 1 bonds uniformly (bond 0 =
entry, bond k = sites k → k+1, bond N = exit) and fires it with probability equal to its rate
(α, 1 or β) if allowed. N + 1 attempts are one unit of physical time ("sweep").
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from statgeo.models.kernels.rng_numba import next_double, xoshiro_next

__all__ = [
    "log_partition_all_kernel",
    "density_kernel",
    "config_weights_kernel",
    "enumerate_kernel",
    "enumerate_fisher_kernel",
    "right_vectors_kernel",
    "sample_exact_kernel",
    "mc_kernel",
    "mc_kernel_python_rng",
]


# ----------------------------------------------------------------------------- closed forms
@nb.njit(cache=True, inline="always")
def _ln_geom(p: int, x: float) -> float:
    """ln Σ_{k=0}^{p} e^{k x}, accurate for every x (expm1 ratio; x = 0 gives ln(p+1))."""
    d = abs(x)
    u = x if x > 0.0 else 0.0
    if d == 0.0:
        return math.log(p + 1.0)
    return p * u + math.log(math.expm1(-(p + 1.0) * d) / math.expm1(-d))


@nb.njit(cache=True, parallel=True)
def log_partition_all_kernel(N: int, th_a: np.ndarray, th_b: np.ndarray) -> np.ndarray:
    """ln Z_k, k = 0..N, at every point (closed form, O(N²) per point). Z_0 = ⟨W|V⟩ = 1."""
    M = th_a.shape[0]
    out = np.zeros((M, N + 1))
    lg = np.empty(2 * N + 2)
    for i in range(2 * N + 2):
        lg[i] = math.lgamma(i + 1.0)  # lg[i] = ln i!
    for m in nb.prange(M):
        x = th_a[m] - th_b[m]
        lG = np.empty(N + 1)
        for p in range(1, N + 1):
            lG[p] = p * th_b[m] + _ln_geom(p, x)
        for k in range(1, N + 1):
            mx = -np.inf
            for p in range(1, k + 1):
                t = math.log(p) + lg[2 * k - 1 - p] - lg[k] - lg[k - p] + lG[p]
                if t > mx:
                    mx = t
            s = 0.0
            for p in range(1, k + 1):
                s += math.exp(math.log(p) + lg[2 * k - 1 - p] - lg[k] - lg[k - p] + lG[p] - mx)
            out[m, k] = mx + math.log(s)
    return out


@nb.njit(cache=True, parallel=True)
def density_kernel(N: int, th_b: np.ndarray, lnZ: np.ndarray) -> np.ndarray:
    """DEHP density profile ⟨τ_i⟩, i = 1..N−1, plus ⟨τ_N⟩ = J/β (log space, O(N²) per point).

    ⟨τ_i⟩ = Σ_{p=0}^{N−i−1} C_p Z_{N−p−1}/Z_N
            + (Z_{i−1}/Z_N) Σ_{p=2}^{N−i+1} (p−1)(2(N−i)−p)!/((N−i)!(N−i−p+1)!) b^p,
    C_p = (2p)!/(p!(p+1)!) the Catalan numbers.
    """
    M = th_b.shape[0]
    out = np.zeros((M, N))
    lg = np.empty(2 * N + 3)
    for i in range(2 * N + 3):
        lg[i] = math.lgamma(i + 1.0)
    for m in nb.prange(M):
        lZN = lnZ[m, N]
        for i in range(1, N):
            mx = -np.inf
            for p in range(0, N - i):
                t = lg[2 * p] - lg[p] - lg[p + 1] + lnZ[m, N - p - 1] - lZN
                mx = max(mx, t)
            for p in range(2, N - i + 2):
                t = (lnZ[m, i - 1] - lZN + math.log(p - 1.0) + lg[2 * (N - i) - p] - lg[N - i]
                     - lg[N - i - p + 1] + p * th_b[m])
                mx = max(mx, t)
            s = 0.0
            for p in range(0, N - i):
                s += math.exp(lg[2 * p] - lg[p] - lg[p + 1] + lnZ[m, N - p - 1] - lZN - mx)
            for p in range(2, N - i + 2):
                s += math.exp(lnZ[m, i - 1] - lZN + math.log(p - 1.0) + lg[2 * (N - i) - p] - lg[N - i]
                              - lg[N - i - p + 1] + p * th_b[m] - mx)
            out[m, i - 1] = math.exp(mx) * s
        out[m, N - 1] = math.exp(lnZ[m, N - 1] - lZN + th_b[m])
    return out


# ----------------------------------------------------------------------------- matrix products
@nb.njit(cache=True, inline="always")
def _bra_step(L: np.ndarray, dL: np.ndarray, k: int, occ: int, a: float, s: float, inv_s: float) -> float:
    """L ← L X, dL ← dL X + L ∂_a X for the bra after k sites (support 0..k); renormalise.

    Returns ln of the scale factor divided out.
    """
    if occ:
        for n in range(k + 1, 0, -1):
            L[n] = L[n] + s * L[n - 1]
            dL[n] = dL[n] + s * dL[n - 1]
        top = k + 1
    else:
        l0 = L[0]
        dL[0] = a * dL[0] + dL[1] * inv_s + l0
        L[0] = a * l0 + L[1] * inv_s
        for n in range(1, k + 1):
            L[n] = L[n] + L[n + 1] * inv_s
            dL[n] = dL[n] + dL[n + 1] * inv_s
        top = k
    mx = 0.0
    for n in range(top + 1):
        if L[n] > mx:
            mx = L[n]
    inv = 1.0 / mx
    for n in range(top + 1):
        L[n] *= inv
        dL[n] *= inv
    return math.log(mx)


@nb.njit(cache=True, inline="always")
def _finish(L: np.ndarray, dL: np.ndarray, N: int, a: float, b: float, s: float, out_w: np.ndarray,
            out_s: np.ndarray, row: int, logscale: float) -> None:
    r = (b - 1.0) / s
    w = 0.0
    dwa = 0.0
    dwb = 0.0
    rn = 1.0  # r^n
    rn1 = 0.0  # r^(n-1)
    for n in range(N + 1):
        w += L[n] * rn
        dwa += dL[n] * rn
        if n >= 1:
            dwb += L[n] * n * rn1 / s
        rn1 = rn
        rn = rn * r
    out_w[row] = logscale + math.log(w)
    out_s[row, 0] = a * dwa / w
    out_s[row, 1] = b * dwb / w


@nb.njit(cache=True, parallel=True)
def config_weights_kernel(tau: np.ndarray, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """ln ⟨W|Π X(τ_i)|V⟩ and its θ-gradient for each row of ``tau`` (n_conf, N) int8. O(N²) each."""
    n_conf, N = tau.shape
    s = max(b - 1.0, 1.0)
    inv_s = 1.0 / s
    out_w = np.empty(n_conf)
    out_s = np.empty((n_conf, 2))
    for c in nb.prange(n_conf):
        L = np.zeros(N + 2)
        dL = np.zeros(N + 2)
        L[0] = 1.0
        ls = 0.0
        for k in range(N):
            ls += _bra_step(L, dL, k, tau[c, k], a, s, inv_s)
        _finish(L, dL, N, a, b, s, out_w, out_s, c, ls)
    return out_w, out_s


@nb.njit(inline="always", cache=True)
def _prefix_tables(N: int):
    """Empty prefix tables of the depth-first enumeration: bra rows ``Ls``/``dLs`` (row 0 = ⟨W|),
    their cumulative log scales ``lsc``."""
    Ls = np.zeros((N + 1, N + 2))
    dLs = np.zeros((N + 1, N + 2))
    lsc = np.zeros(N + 1)
    Ls[0, 0] = 1.0
    return Ls, dLs, lsc


@nb.njit(inline="always", cache=True)
def _advance_prefix(c: int, N: int, Ls, dLs, lsc, a: float, s: float, inv_s: float) -> None:
    """Bring the prefix tables from configuration c − 1 to c (depth-first enumeration order).

    Only the sites below the lowest set bit of c change, so rows d0 + 1 … N of the bra
    tables ``Ls``/``dLs`` and their log scales ``lsc`` are recomputed; amortised O(N).
    """
    if c == 0:
        d0 = 0
    else:
        t = 0
        while ((c >> t) & 1) == 0:
            t += 1
        d0 = N - 1 - t
    for k in range(d0, N):
        Ls[k + 1, :] = Ls[k, :]
        dLs[k + 1, :] = dLs[k, :]
        occ = (c >> (N - 1 - k)) & 1
        lsc[k + 1] = lsc[k] + _bra_step(Ls[k + 1], dLs[k + 1], k, occ, a, s, inv_s)


@nb.njit(cache=True)
def enumerate_kernel(N: int, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """ln weight and θ-score of all 2^N configurations, index bit (N−1−i) = τ_{i+1}.

    Depth-first order with prefix reuse: going from index c−1 to c only the sites below the
    lowest set bit of c change, so the amortised cost is O(N) per configuration.
    """
    n_conf = 1 << N
    s = max(b - 1.0, 1.0)
    inv_s = 1.0 / s
    Ls, dLs, lsc = _prefix_tables(N)
    out_w = np.empty(n_conf)
    out_s = np.empty((n_conf, 2))
    for c in range(n_conf):
        _advance_prefix(c, N, Ls, dLs, lsc, a, s, inv_s)
        _finish(Ls[N], dLs[N], N, a, b, s, out_w, out_s, c, lsc[N])
    return out_w, out_s


@nb.njit(cache=True, parallel=True)
def enumerate_fisher_kernel(N: int, a_arr: np.ndarray, b_arr: np.ndarray, lz: np.ndarray,
                            grad: np.ndarray) -> np.ndarray:
    """F_obs = Σ_τ P(τ) s sᵀ, s = ∂_θ ln W(τ) − ∇_θ ln Z_N, at every point (prange over points).

    Same depth-first prefix reuse as :func:`enumerate_kernel`, accumulating instead of storing.
    """
    M = a_arr.shape[0]
    n_conf = 1 << N
    out = np.zeros((M, 2, 2))
    for m in nb.prange(M):
        a = a_arr[m]
        b = b_arr[m]
        s = max(b - 1.0, 1.0)
        inv_s = 1.0 / s
        Ls, dLs, lsc = _prefix_tables(N)
        w1 = np.empty(1)
        s1 = np.empty((1, 2))
        f00 = 0.0
        f01 = 0.0
        f11 = 0.0
        for c in range(n_conf):
            _advance_prefix(c, N, Ls, dLs, lsc, a, s, inv_s)
            _finish(Ls[N], dLs[N], N, a, b, s, w1, s1, 0, lsc[N])
            p = math.exp(w1[0] - lz[m])
            u = s1[0, 0] - grad[m, 0]
            v = s1[0, 1] - grad[m, 1]
            f00 += p * u * u
            f01 += p * u * v
            f11 += p * v * v
        out[m, 0, 0] = f00
        out[m, 0, 1] = f01
        out[m, 1, 0] = f01
        out[m, 1, 1] = f11
    return out


# ----------------------------------------------------------------------------- exact sampler
@nb.njit(cache=True)
def right_vectors_kernel(N: int, a: float, b: float) -> np.ndarray:
    """R_j = C'^{N−j}|V'⟩ for j = 0..N (rows), C' = D' + E', each row renormalised to max 1.

    Only components 0..j of R_j are ever used (the bra after j sites lives there).
    """
    s = max(b - 1.0, 1.0)
    inv_s = 1.0 / s
    r = (b - 1.0) / s
    R = np.zeros((N + 1, N + 2))
    rn = 1.0
    for n in range(N + 1):
        R[N, n] = rn
        rn *= r
    mx = 0.0
    for n in range(N + 1):
        mx = max(mx, R[N, n])
    for n in range(N + 1):
        R[N, n] /= mx
    for j in range(N - 1, -1, -1):
        mx = 0.0
        for m in range(j + 1):
            v = 2.0 * R[j + 1, m] + s * R[j + 1, m + 1]
            if m == 0:
                v += (a - 1.0) * R[j + 1, 0]
            else:
                v += inv_s * R[j + 1, m - 1]
            R[j, m] = v
            mx = max(mx, v)
        for m in range(j + 1):
            R[j, m] /= mx
    return R


@nb.njit(cache=True, parallel=True)
def sample_exact_kernel(N: int, a: float, b: float, R: np.ndarray, states: np.ndarray,
                        out: np.ndarray) -> None:
    """Exact sequential sampling, one xoshiro256** lane per sample (rows of ``out``).

    P(τ_{j+1} = 1 | τ_1..τ_j) = ⟨L_j|D'|R_{j+1}⟩ / ⟨L_j|C'|R_{j+1}⟩ with ⟨L_j| = ⟨W|X₁⋯X_j.
    """
    n = out.shape[0]
    s = max(b - 1.0, 1.0)
    inv_s = 1.0 / s
    for c in nb.prange(n):
        st = states[c:c + 1].copy()  # thread-local RNG state
        L = np.zeros(N + 2)
        L[0] = 1.0
        top = 0  # support of L is 0..top
        for j in range(N):
            Rn = R[j + 1]
            wD = L[0] * Rn[0]
            for m in range(1, top + 2):
                wD += (L[m] + s * L[m - 1]) * Rn[m]
            wE = (a * L[0] + L[1] * inv_s) * Rn[0]
            for m in range(1, top + 1):
                wE += (L[m] + L[m + 1] * inv_s) * Rn[m]
            u = next_double(st, 0)
            if u * (wD + wE) < wD:
                out[c, j] = 1
                for m in range(top + 1, 0, -1):
                    L[m] = L[m] + s * L[m - 1]
                top += 1
            else:
                out[c, j] = 0
                l0 = L[0]
                L[0] = a * l0 + L[1] * inv_s
                for m in range(1, top + 1):
                    L[m] = L[m] + L[m + 1] * inv_s
            mx = 0.0
            for m in range(top + 1):
                mx = max(mx, L[m])
            inv = 1.0 / mx
            for m in range(top + 1):
                L[m] *= inv


# ----------------------------------------------------------------------------- Monte Carlo
@nb.njit(cache=True, inline="always")
def _attempt(lat: np.ndarray, N: int, x: np.uint64, alpha: float, beta: float) -> int:
    """One random-sequential attempt from 64 random bits; returns the bond that fired or −1."""
    hi = x >> np.uint64(32)
    bond = np.int64((hi * np.uint64(N + 1)) >> np.uint64(32))
    u = np.float64(x & np.uint64(0xFFFFFFFF)) * 2.3283064365386963e-10
    if bond == 0:
        if lat[0] == 0 and u < alpha:
            lat[0] = 1
            return 0
    elif bond == N:
        if lat[N - 1] == 1 and u < beta:
            lat[N - 1] = 0
            return N
    else:
        if lat[bond - 1] == 1 and lat[bond] == 0:
            lat[bond - 1] = 0
            lat[bond] = 1
            return bond
    return -1


@nb.njit(cache=True, parallel=True)
def mc_kernel(N: int, alpha: float, beta: float, states: np.ndarray, burn_in: int, spacing: int,
              snapshots: np.ndarray, hops: np.ndarray, occ_time: np.ndarray) -> None:
    """Random-sequential continuous-time MC, one replica per xoshiro lane (prange over replicas).

    ``snapshots`` (n_rep, n_snap, N) int8 receives a configuration every ``spacing`` sweeps after
    ``burn_in`` sweeps (1 sweep = N + 1 attempts = unit time). ``hops`` (n_rep, N+1) counts
    particles crossing each bond, ``occ_time`` (n_rep, N) sums occupations once per sweep, both
    over the measurement window (n_snap · spacing sweeps).
    """
    n_rep, n_snap, _ = snapshots.shape
    for r in nb.prange(n_rep):
        lat = np.zeros(N, dtype=np.int8)
        st = states[r:r + 1].copy()  # thread-local RNG state: no false sharing between replicas
        h = np.zeros(N + 1, dtype=np.int64)
        for _ in range(burn_in):
            for _a in range(N + 1):
                _attempt(lat, N, xoshiro_next(st, 0), alpha, beta)
        for t in range(n_snap):
            for _ in range(spacing):
                for _a in range(N + 1):
                    f = _attempt(lat, N, xoshiro_next(st, 0), alpha, beta)
                    if f >= 0:
                        h[f] += 1
                for i in range(N):
                    occ_time[r, i] += lat[i]
            for i in range(N):
                snapshots[r, t, i] = lat[i]
        for i in range(N + 1):
            hops[r, i] += h[i]
        for k in range(4):
            states[r, k] = st[0, k]


@nb.njit(cache=True)
def mc_kernel_python_rng(N: int, alpha: float, beta: float, n_attempts: int) -> int:
    """Benchmark baseline only: the same update with NumPy's global RNG called per attempt."""
    lat = np.zeros(N, dtype=np.int8)
    fired = 0
    for _ in range(n_attempts):
        bond = np.random.randint(0, N + 1)
        u = np.random.random()
        if bond == 0:
            if lat[0] == 0 and u < alpha:
                lat[0] = 1
                fired += 1
        elif bond == N:
            if lat[N - 1] == 1 and u < beta:
                lat[N - 1] = 0
                fired += 1
        elif lat[bond - 1] == 1 and lat[bond] == 0:
            lat[bond - 1] = 0
            lat[bond] = 1
            fired += 1
    return fired
