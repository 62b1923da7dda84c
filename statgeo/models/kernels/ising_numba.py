"""Numba CPU kernels for the 2-D Ising model on an L×L torus.

Update rules
------------
* **Checkerboard Metropolis.** The torus (L even) is split into the two sublattices
  c = (x + y) mod 2. A sweep updates all sites of colour 0, then all of colour 1; sites of one
  colour have all four neighbours in the other colour, so every site of a sublattice can be
  updated independently (and in SIMD lanes). A flip s → −s changes the log-weight
  K B + η M by −2 s (K h + η), h = Σ_nn s_j ∈ {−4, −2, 0, 2, 4}, and is accepted with the
  Metropolis probability p = min(1, exp(−2 s (K h + η))) (Metropolis et al. 1953; Newman &
  Barkema, "Monte Carlo Methods in Statistical Physics", 1999, §3.1). The 10 values of p
  (5 fields × 2 spins) are precomputed per replica as int32 thresholds ⌈p·2³¹⌉ − 1; a move
  is accepted when a uniform 31-bit integer u ≤ threshold, i.e. with probability within 2⁻³¹
  above p (p = 1: always). Each xoshiro256** output supplies two such integers.
* **Wolff** single-cluster update (Wolff, PRL 62, 361, 1989): bonds between equal neighbours
  are added with probability 1 − exp(−2K) (32-bit integer thresholds against the two halves
  of one 64-bit xoshiro256** output); the cluster is grown with a preallocated int32 FIFO of
  flat site indices (sites are flipped when pushed, so no visited array; each entry also holds
  the direction back to its parent, whose bond is not re-tested), on flat spins with a
  precomputed (L², 4) neighbour table. For L² > ``WOLFF_TABLE_MAX_N`` (where the table
  would miss the cache) the entries are (y << 16) | x with branch-free periodic wrap and all 4
  bonds tested; same law.
  At η ≠ 0 the flip of a cluster C of spin s is accepted with probability
  min(1, exp(−2 η s |C|)); this is the ghost-spin construction (Kandel–Domany/Wang–Swendsen:
  each site of C aligned with the field bonds to the frozen ghost spin with probability
  1 − exp(−2|η|) and a cluster bonded to the ghost is not flipped), which satisfies detailed
  balance with respect to exp(K B + η M). One Wolff 'sweep' is a fixed number of cluster
  moves per replica, ≈ N / ⟨|C|⟩ with ⟨|C|⟩ measured once by :func:`wolff_calibrate`.
* **Hybrid** (``local`` thresholds passed to the Wolff kernels): every Wolff sweep starts with
  one sequential (typewriter) Metropolis sweep on the plain layout, same acceptance rule and
  thresholds as the checkerboard kernel, one 31-bit number per attempted flip. Each part
  leaves exp(K B + η M) invariant, so their composition does too. The local sweep supplies
  what the ghost-spin cluster move lacks in the ordered phase in a field: there the cluster
  of the majority spin spans the lattice and its flip is almost always rejected, so pure
  Wolff creates thermal fluctuations only through rare one-site clusters (on a 128² torus at
  K = 0.47, η = 0.01 it stays at ⟨M⟩/N = 0.98 against the equilibrium 0.87).

Storage
-------
Metropolis state: ``sub`` of shape (R, 2, L, L/2 + 2) int8: ``sub[r, c, y, j + 1]`` is the
spin at (y, x = 2j + ((y + c) mod 2)) of replica r, j = 0 … L/2 − 1; columns 0 and L/2 + 1
are ghost copies of real columns L/2 − 1 and 0 (refreshed after each row update). Neighbours
of real site j are ``sub[r, 1-c, y±1, j+1]``, ``sub[r, 1-c, y, j+1]`` and
``sub[r, 1-c, y, j+1+sh]`` with sh = 2·((y + c) mod 2) − 1, so the inner loop over j has unit
stride, a length of L/2 and no wrap-around branch: it vectorises.
Wolff state: ``spins`` of shape (R, L, L) int8 in plain layout (viewed flat, L² sites).

Random numbers: every replica owns ``W`` xoshiro256** lanes stored structure-of-arrays,
``rng[r, word, lane]`` (uint64, seeded by :func:`statgeo.seeding.xoshiro_states`). Every second
row of a sublattice consumes ⌈L/(2W)⌉·W outputs (two 31-bit numbers each), output b·W + l
coming from lane l.
Each replica's stream depends only on its own state, so the output is identical for any
number of threads.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from statgeo.models.kernels.rng_numba import xoshiro_step

__all__ = [
    "W",
    "metropolis_thresholds",
    "wolff_thresholds",
    "metropolis_schedule",
    "wolff_schedule",
    "wolff_calibrate",
    "wolff_neighbours",
    "pack",
    "unpack_all",
    "rng_lanes",
]

#: xoshiro256** lanes per replica (one AVX-512 register holds 8; 16 gives two in flight)
W = 16
_TWO53 = 9007199254740992  # 2**53
_TWO31 = 2147483648  # 2**31
_TWO32 = 4294967296  # 2**32


def metropolis_thresholds(K: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Integer acceptance thresholds ⌈min(1, exp(−2 s (K h + η)))·2³¹⌉ − 1, shape (R, 10) int32.

    A move is accepted when a uniform 31-bit integer u satisfies u ≤ threshold, i.e. with
    probability ⌈p·2³¹⌉/2³¹ ∈ [p, p + 2⁻³¹); p = 1 gives 2³¹ − 1 (always accepted).
    Index k = 5·[s = +1] + (h + 4)/2 with h the neighbour sum.
    """
    K = np.asarray(K, np.float64)[:, None]
    eta = np.asarray(eta, np.float64)[:, None]
    h = np.arange(-4, 5, 2, dtype=np.float64)[None, :]
    out = np.empty((K.shape[0], 10), np.int32)
    for half_idx, s in enumerate((-1.0, 1.0)):
        dlogw = -2.0 * s * (K * h + eta)
        p = np.exp(np.minimum(dlogw, 0.0))
        out[:, 5 * half_idx: 5 * half_idx + 5] = (np.ceil(p * _TWO31) - 1).astype(np.int32)
    return out


def wolff_thresholds(K: np.ndarray) -> np.ndarray:
    """Integer bond-activation thresholds ⌊(1 − exp(−2K))·2³²⌋, shape (R,) int64.

    A bond is activated when a uniform 32-bit integer u satisfies u < threshold, i.e. with
    probability ⌊p·2³²⌋/2³² ∈ (p − 2⁻³², p], p = 1 − exp(−2K) (Wolff 1989).
    """
    K = np.asarray(K, np.float64)
    return np.floor(-np.expm1(-2.0 * K) * _TWO32).astype(np.int64)


def rng_lanes(states: np.ndarray, n_replicas: int, lanes: int = W) -> np.ndarray:
    """Reshape ``xoshiro_states(seed, n_replicas*lanes)`` to the (R, 4, lanes) SoA layout."""
    return np.ascontiguousarray(states.reshape(n_replicas, lanes, 4).transpose(0, 2, 1))


# --------------------------------------------------------------------------- xoshiro
@nb.njit(inline="always", cache=True)
def _fill(st, buf):
    """Fill ``buf`` (shape (nb, W) uint64) with xoshiro256** outputs, lane l writing column l,
    each reduced to two 31-bit integers (bits 63…33 and 31…1) in its two 32-bit halves.

    The loop over lanes is innermost, so the generator step runs in SIMD registers. Read as
    int32 (little-endian view), the buffer holds 2·nb·W uniform 31-bit integers.
    """
    for b in range(buf.shape[0]):
        for l in range(W):
            s0 = st[0, l]
            s1 = st[1, l]
            s2 = st[2, l]
            s3 = st[3, l]
            res, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            st[0, l] = s0
            st[1, l] = s1
            st[2, l] = s2
            st[3, l] = s3
            buf[b, l] = (res >> np.uint64(1)) & np.uint64(0x7FFFFFFF7FFFFFFF)


# --------------------------------------------------------------------------- Metropolis
@nb.njit(inline="always", cache=True)
def _upd(row, up, dn, mid, buf, sh, t0, t1, t2, t3, t4, t5, t6, t7, t8, t9):
    """Metropolis update of one padded sublattice row (real sites at 1…L/2).

    Horizontal neighbours of real index j + 1 are mid[j + 1] and mid[j + 1 + sh] (sh = ±1;
    the ghost columns make the wrap-around in-bounds). 32-bit arithmetic and the threshold
    chosen by comparisons (no table gather): the loop vectorises 16 sites per AVX-512 register.
    """
    n = buf.shape[0]
    for j in range(n):
        s = row[j + 1]
        h = np.int32(np.int32(np.int32(up[j + 1]) + np.int32(dn[j + 1]))
                     + np.int32(np.int32(mid[j + 1]) + np.int32(mid[j + 1 + sh])))
        if s > 0:
            t = t9 if h == 4 else (t8 if h == 2 else (t7 if h == 0 else (t6 if h == -2 else t5)))
        else:
            t = t4 if h == 4 else (t3 if h == 2 else (t2 if h == 0 else (t1 if h == -2 else t0)))
        row[j + 1] = np.int8(-s) if buf[j] <= t else s


@nb.njit(inline="always", cache=True)
def _sweep(sr, thr, st, buf2, buf):
    """One checkerboard sweep of one replica (sr: (2, L, L/2 + 2) int8, padded rows).

    ``buf2`` (nb, W) uint64 is refilled every second row; ``buf`` is its int32 view, rows
    y even / odd reading its first / second L/2 numbers. After a row is updated its ghost
    columns are refreshed: row[0] = row[L/2], row[L/2 + 1] = row[1].
    """
    L = sr.shape[1]
    half = sr.shape[2] - 2
    t0 = thr[0]
    t1 = thr[1]
    t2 = thr[2]
    t3 = thr[3]
    t4 = thr[4]
    t5 = thr[5]
    t6 = thr[6]
    t7 = thr[7]
    t8 = thr[8]
    t9 = thr[9]
    for c in range(2):
        cur = sr[c]
        oth = sr[1 - c]
        for y in range(L):
            if (y & 1) == 0:
                _fill(st, buf2)
                bb = buf[:half]
            else:
                bb = buf[half:2 * half]
            up = oth[(y + L - 1) % L]
            dn = oth[(y + 1) % L]
            mid = oth[y]
            row = cur[y]
            if (y + c) & 1 == 0:
                # x = 2j: left neighbour is real j-1, right neighbour real j
                _upd(row, up, dn, mid, bb, -1, t0, t1, t2, t3, t4, t5, t6, t7, t8, t9)
            else:
                # x = 2j+1: left neighbour is real j, right neighbour real j+1
                _upd(row, up, dn, mid, bb, 1, t0, t1, t2, t3, t4, t5, t6, t7, t8, t9)
            row[0] = row[half]
            row[half + 1] = row[1]


@nb.njit(inline="always", cache=True)
def _measure_sub(sr):
    """(B, M) of one replica in padded sublattice storage: B = Σ_{colour-0 sites} s_i h_i."""
    L = sr.shape[1]
    half = sr.shape[2] - 2
    B = 0
    M = 0
    for y in range(L):
        row = sr[0, y]
        up = sr[1, (y + L - 1) % L]
        dn = sr[1, (y + 1) % L]
        mid = sr[1, y]
        sh = 2 * (y & 1) - 1
        for j in range(1, half + 1):
            h = np.int64(up[j]) + dn[j] + mid[j] + mid[j + sh]
            B += row[j] * h
            M += np.int64(row[j]) + mid[j]
    return B, M


@nb.njit(inline="always", cache=True)
def _unpack(sr, out):
    L = sr.shape[1]
    half = sr.shape[2] - 2
    for c in range(2):
        for y in range(L):
            o = (y + c) & 1
            for j in range(half):
                out[y, 2 * j + o] = sr[c, y, j + 1]


@nb.njit(parallel=True, cache=True)
def metropolis_schedule(sub, thr, rng, burn, thin, out_spins, out_B, out_M):
    """Run ``burn[r]`` sweeps, then ``n_rec`` × (``thin[r]`` sweeps + record) per replica.

    Parameters
    ----------
    sub : (R, 2, L, L/2 + 2) int8 (padded), updated in place. thr : (R, 10) int32 thresholds.
    rng : (R, 4, W) uint64 xoshiro256** states, updated in place.
    burn, thin : (R,) int64. out_spins : (R, n_rec, L, L) int8, or (R, 0, L, L) to skip
    storing configurations. out_B, out_M : (R, n_rec) int64.
    """
    R = sub.shape[0]
    half = sub.shape[3] - 2
    n_rec = out_B.shape[1]
    store = out_spins.shape[1] > 0
    nblk = (2 * half + 2 * W - 1) // (2 * W)
    for r in nb.prange(R):
        buf3 = np.empty((nblk, W), np.uint64)
        buf = buf3.reshape(nblk * W).view(np.int32)
        sr = sub[r]
        st = rng[r]
        th = thr[r]
        for _ in range(burn[r]):
            _sweep(sr, th, st, buf3, buf)
        for i in range(n_rec):
            for _ in range(thin[r]):
                _sweep(sr, th, st, buf3, buf)
            B, M = _measure_sub(sr)
            out_B[r, i] = B
            out_M[r, i] = M
            if store:
                _unpack(sr, out_spins[r, i])


@nb.njit(cache=True)
def pack(spins):
    """(R, L, L) plain layout → (R, 2, L, L/2 + 2) padded sublattice layout (ghosts filled)."""
    R, L, _ = spins.shape
    half = L // 2
    out = np.empty((R, 2, L, half + 2), np.int8)
    for r in range(R):
        for c in range(2):
            for y in range(L):
                o = (y + c) & 1
                for j in range(half):
                    out[r, c, y, j + 1] = spins[r, y, 2 * j + o]
                out[r, c, y, 0] = out[r, c, y, half]
                out[r, c, y, half + 1] = out[r, c, y, 1]
    return out


@nb.njit(cache=True)
def unpack_all(sub):
    """(R, 2, L, L/2 + 2) padded sublattice layout → (R, L, L) plain layout."""
    R, _, L, _ = sub.shape
    out = np.empty((R, L, L), np.int8)
    for r in range(R):
        _unpack(sub[r], out[r])
    return out


# --------------------------------------------------------------------------- Wolff
@nb.njit(inline="always", cache=True)
def _measure_plain(sp):
    """(B, M) of one (L, L) plain configuration; the wrap-around is peeled off each row so the
    inner loops have no modulo and vectorise (32-bit row partial sums, L ≤ 2¹⁵)."""
    L = sp.shape[0]
    B = 0
    M = 0
    for y in range(L):
        row = sp[y]
        dn = sp[y + 1 if y + 1 < L else 0]
        b = np.int32(row[L - 1]) * np.int32(np.int32(row[0]) + np.int32(dn[L - 1]))
        m = np.int32(0)
        for x in range(L - 1):
            b += np.int32(row[x]) * np.int32(np.int32(row[x + 1]) + np.int32(dn[x]))
        for x in range(L):
            m += np.int32(row[x])
        B += np.int64(b)
        M += np.int64(m)
    return B, M


@nb.njit(cache=True)
def wolff_neighbours(L):
    """Flat neighbour table of the L×L torus, shape (L², 4) int32.

    ``nbr[i, d]`` for site i = y·L + x and direction d = 0: +x, 1: +y, 2: −x, 3: −y, so the
    opposite of d is d ^ 2.
    """
    N = L * L
    nbr = np.empty((N, 4), np.int32)
    for y in range(L):
        yd = y + 1 if y + 1 < L else 0
        yu = y - 1 if y > 0 else L - 1
        for x in range(L):
            xr = x + 1 if x + 1 < L else 0
            xl = x - 1 if x > 0 else L - 1
            i = y * L + x
            nbr[i, 0] = y * L + xr
            nbr[i, 1] = yd * L + x
            nbr[i, 2] = y * L + xl
            nbr[i, 3] = yu * L + x
    return nbr


@nb.njit(inline="always", cache=True)
def _bond(sp, stack, n, nbr, i, d, s, ns, u, padd):
    """Bond test from cluster site i in direction d (branch-free).

    The neighbour j joins when it still has the cluster's old spin s and u < padd (32-bit u,
    probability padd/2³²). It is flipped on joining (an already flipped site has spin −s and
    is never added twice, so no visited array is needed); the push is unconditional and the
    stack top n advances by the bond indicator. The entry stores (j << 2) | direction back to i.
    """
    j = nbr[i, d]
    w = sp[j]
    acc = (w == s) & (u < padd)
    sp[j] = ns if acc else w
    stack[n] = (j << 2) | (d ^ 2)
    return n + np.int64(acc)


@nb.njit(inline="always", cache=True)
def _bond_rc(sp, stack, n, L, yy, xx, s, ns, u, padd):
    """As :func:`_bond` for the row/column variant: the entry stores (yy << 16) | xx."""
    j = yy * L + xx
    w = sp[j]
    acc = (w == s) & (u < padd)
    sp[j] = ns if acc else w
    stack[n] = np.int32((yy << 16) | xx)
    return n + np.int64(acc)


@nb.njit(inline="always", cache=True)
def _wolff_step(sp, L, nbr, use_table, padd, eta, st, stack):
    """One Wolff cluster move on the flat spins ``sp`` (L², int8); returns the cluster size.

    ``padd`` = ⌊(1 − e^{−2K})·2³²⌋; ``stack`` int32 of length ≥ L² + 1 (preallocated, FIFO
    order). Two variants with the same law:

    * ``use_table`` (small L, the (L², 4) table ``nbr`` from :func:`wolff_neighbours` stays in
      cache): entries (site << 2) | direction back to the parent; the seed tests its 4
      neighbours, every later site only the 3 others (the parent is already in the cluster, so
      its bond test could never succeed).
    * otherwise (large L, where the table would miss the cache): entries (y << 16) | x,
      neighbours by branch-free periodic wrap, all 4 bonds tested.

    Each 64-bit xoshiro256** output supplies two 32-bit bond numbers; the generator state lives
    in local variables during the move. At η ≠ 0 the ghost-spin acceptance (53-bit uniform) is
    applied after the growth; a rejected cluster is flipped back.
    """
    N = sp.shape[0]
    m32 = np.uint64(0xFFFFFFFF)
    s0 = st[0, 0]
    s1 = st[1, 0]
    s2 = st[2, 0]
    s3 = st[3, 0]
    r, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
    i = np.int64(((r >> np.uint64(32)) * np.uint64(N)) >> np.uint64(32))  # uniform in [0, N)
    s = sp[i]
    ns = np.int8(-s)
    sp[i] = ns
    n = 1
    if use_table:
        stack[0] = np.int32(i << 2)
        ra, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
        rb, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
        n = _bond(sp, stack, n, nbr, i, 0, s, ns, np.int64(ra & m32), padd)
        n = _bond(sp, stack, n, nbr, i, 1, s, ns, np.int64(ra >> np.uint64(32)), padd)
        n = _bond(sp, stack, n, nbr, i, 2, s, ns, np.int64(rb & m32), padd)
        n = _bond(sp, stack, n, nbr, i, 3, s, ns, np.int64(rb >> np.uint64(32)), padd)
        p = 1
        while p < n:
            e = stack[p]
            p += 1
            i = e >> 2
            b = e & 3
            ra, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            rb, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            n = _bond(sp, stack, n, nbr, i, (b + 1) & 3, s, ns, np.int64(ra & m32), padd)
            n = _bond(sp, stack, n, nbr, i, (b + 2) & 3, s, ns, np.int64(ra >> np.uint64(32)), padd)
            n = _bond(sp, stack, n, nbr, i, (b + 3) & 3, s, ns, np.int64(rb & m32), padd)
    else:
        y0 = i // L
        stack[0] = np.int32((y0 << 16) | (i - y0 * L))
        p = 0
        while p < n:
            e = np.int64(stack[p])
            p += 1
            y = e >> 16
            x = e & 0xFFFF
            xr = x + 1 if x + 1 < L else 0
            xl = x - 1 if x > 0 else L - 1
            yd = y + 1 if y + 1 < L else 0
            yu = y - 1 if y > 0 else L - 1
            ra, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            rb, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            n = _bond_rc(sp, stack, n, L, y, xr, s, ns, np.int64(ra & m32), padd)
            n = _bond_rc(sp, stack, n, L, yd, x, s, ns, np.int64(ra >> np.uint64(32)), padd)
            n = _bond_rc(sp, stack, n, L, y, xl, s, ns, np.int64(rb & m32), padd)
            n = _bond_rc(sp, stack, n, L, yu, x, s, ns, np.int64(rb >> np.uint64(32)), padd)
    if eta != 0.0 and s * eta > 0.0:
        # ghost spin: an aligned cluster is flipped only if no site bonds to the ghost,
        # probability exp(-2|eta| n)
        r, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
        u = np.int64(r >> np.uint64(11))
        if u >= np.int64(math.exp(-2.0 * abs(eta) * n) * 9007199254740992.0):
            for k in range(n):
                e = np.int64(stack[k])
                if use_table:
                    sp[e >> 2] = s
                else:
                    sp[(e >> 16) * L + (e & 0xFFFF)] = s
    st[0, 0] = s0
    st[1, 0] = s1
    st[2, 0] = s2
    st[3, 0] = s3
    return n


@nb.njit(inline="always", cache=True)
def _local_sweep(sp, L, thr, st):
    """One sequential Metropolis sweep of the flat spins ``sp`` (L², int8), sites in row-major
    order; ``thr`` (10,) int32 thresholds of :func:`metropolis_thresholds` (flip accepted when
    a uniform 31-bit integer u ≤ thr[5·[s = +1] + (h + 4)/2]); lane 0 of ``st``."""
    s0 = st[0, 0]
    s1 = st[1, 0]
    s2 = st[2, 0]
    s3 = st[3, 0]
    m31 = np.uint64(0x7FFFFFFF)
    for y in range(L):
        row = y * L
        up = (y - 1 if y > 0 else L - 1) * L
        dn = (y + 1 if y + 1 < L else 0) * L
        for x in range(L):
            xl = x - 1 if x > 0 else L - 1
            xr = x + 1 if x + 1 < L else 0
            s = sp[row + x]
            h = np.int64(sp[row + xl]) + sp[row + xr] + sp[up + x] + sp[dn + x]
            t = thr[5 * ((s + 1) >> 1) + ((h + 4) >> 1)]
            r, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            if np.int64(r & m31) <= t:
                sp[row + x] = -s
    st[0, 0] = s0
    st[1, 0] = s1
    st[2, 0] = s2
    st[3, 0] = s3


@nb.njit(inline="always", cache=True)
def _wolff_sweep(sp, L, nbr, use_table, padd, eta, st, stack, moves, local, r):
    """One Wolff 'sweep' of replica r: a local Metropolis sweep first when ``local`` (the
    (R, 10) thresholds, hybrid) is not None, then ``moves`` cluster moves (``moves`` is fixed
    per replica, not a stopping time: stopping when the flipped sizes reach N would bias the
    measurements)."""
    if local is not None:
        _local_sweep(sp, L, local[r], st)
    for _ in range(moves):
        _wolff_step(sp, L, nbr, use_table, padd, eta, st, stack)


#: largest L² for which the neighbour-table variant is used (the table, 16 L² bytes, then fits
#: in L2 cache; measured faster than the row/column variant at L = 64, slower at L = 256)
WOLFF_TABLE_MAX_N = 128 * 128


@nb.njit(inline="always", cache=True)
def _wolff_setup(L, table):
    """Validate L and choose the variant: table = 1 / 0 forces it, −1 picks by L²."""
    if L < 2 or L >= (1 << 15):
        raise ValueError("Wolff kernel: L must satisfy 2 <= L < 2**15")
    N = L * L
    use_table = (N <= WOLFF_TABLE_MAX_N) if table < 0 else (table > 0)
    nbr = wolff_neighbours(L) if use_table else np.empty((1, 4), np.int32)
    return use_table, nbr


@nb.njit(parallel=True, cache=True)
def wolff_calibrate(spins, padd, eta, rng, n_warm, n_moves, table=-1, local=None):
    """Mean attempted cluster size per replica over ``n_moves`` moves after ``n_warm`` moves.

    Used once, before sampling, to fix the number of moves per sweep ≈ N / ⟨|C|⟩.
    ``spins`` (R, L, L) int8 C-contiguous, updated in place. ``table``: −1 (default) picks the
    kernel variant by L² (see :data:`WOLFF_TABLE_MAX_N`), 1 / 0 force the neighbour-table /
    row-column variant (same law; for tests and benchmarks). ``local`` (R, 10) int32
    Metropolis thresholds (hybrid): a local sweep before every warm-up move and before every
    tenth measured move, so that the sizes are those of the equilibrated chain, not of the
    cold start.
    """
    R = spins.shape[0]
    L = spins.shape[1]
    use_table, nbr = _wolff_setup(L, table)
    N = L * L
    out = np.empty(R, np.float64)
    for r in nb.prange(R):
        stack = np.empty(N + 1, np.int32)
        sp = spins[r].reshape(N)
        for _ in range(n_warm):
            if local is not None:
                _local_sweep(sp, L, local[r], rng[r])
            _wolff_step(sp, L, nbr, use_table, padd[r], eta[r], rng[r], stack)
        tot = 0
        for m in range(n_moves):
            if local is not None and m % 10 == 0:
                _local_sweep(sp, L, local[r], rng[r])
            tot += _wolff_step(sp, L, nbr, use_table, padd[r], eta[r], rng[r], stack)
        out[r] = tot / n_moves
    return out


@nb.njit(parallel=True, cache=True)
def wolff_schedule(spins, padd, eta, moves, rng, burn, thin, out_spins, out_B, out_M, table=-1, local=None):
    """Wolff analogue of :func:`metropolis_schedule` on the plain (R, L, L) layout.

    ``spins`` (R, L, L) int8 C-contiguous, updated in place; ``padd`` : (R,) int64 bond
    thresholds from :func:`wolff_thresholds`; ``eta`` : (R,) float64; ``moves`` : (R,) int64
    cluster moves per sweep (from :func:`wolff_calibrate`, ≈ N / ⟨|C|⟩). B and M are computed
    only at the recorded samples. ``table`` as in :func:`wolff_calibrate`. ``local``: (R, 10)
    int32 thresholds of :func:`metropolis_thresholds` for the hybrid (a local Metropolis sweep
    at the start of every sweep), None for pure Wolff.
    """
    R = spins.shape[0]
    L = spins.shape[1]
    use_table, nbr = _wolff_setup(L, table)
    N = L * L
    n_rec = out_B.shape[1]
    store = out_spins.shape[1] > 0
    for r in nb.prange(R):
        stack = np.empty(N + 1, np.int32)
        sp2 = spins[r]
        sp = sp2.reshape(N)
        st = rng[r]
        for _ in range(burn[r]):
            _wolff_sweep(sp, L, nbr, use_table, padd[r], eta[r], st, stack, moves[r], local, r)
        for i in range(n_rec):
            for _ in range(thin[r]):
                _wolff_sweep(sp, L, nbr, use_table, padd[r], eta[r], st, stack, moves[r], local, r)
            B, M = _measure_plain(sp2)
            out_B[r, i] = B
            out_M[r, i] = M
            if store:
                out_spins[r, i] = sp2
