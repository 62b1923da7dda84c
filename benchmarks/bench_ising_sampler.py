"""Benchmark of the Ising samplers (performance.md, "Ising Metropolis, CPU" and "Ising near T_c").

Run ``python benchmarks/bench_ising_sampler.py [--smoke]``. Prints

1. attempted flips per ns per core of the checkerboard Metropolis kernel (1 thread, one
   replica, K = K_c) at L = 64 … 1024, and the ratio to a plain Numba loop calling
   ``np.random.random()`` (typewriter order, precomputed acceptance table) measured in the same run;
2. replicas on 2 threads vs 1 (throughput ratio, 4 replicas, L = 128);
3. Wolff vs Metropolis effective independent samples per second at K_c, L = 64:
   (sweeps per second) / (2 τ_int(|M|)), τ_int in sweeps (Sokal window).

Timings are the median of ``--repeats`` runs (wall clock; the machine may be shared, so the
load average is printed too).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numba
import numpy as np

from statgeo._seeding import xoshiro_states
from statgeo.models.kernels import ising_numba as kn
from statgeo.stats import integrated_autocorrelation_time

K_C = 0.5 * np.log(1.0 + np.sqrt(2.0))


@numba.njit(cache=True)
def plain_metropolis(s, K, eta, n_sweeps, seed):
    """Baseline: typewriter Metropolis on the plain (L, L) layout with np.random.random()."""
    np.random.seed(seed)
    L = s.shape[0]
    acc = np.empty((2, 5))
    for a in range(2):
        sp = 2 * a - 1
        for b in range(5):
            h = 2 * b - 4
            acc[a, b] = min(1.0, np.exp(-2.0 * sp * (K * h + eta)))
    for _ in range(n_sweeps):
        for y in range(L):
            for x in range(L):
                sp = s[y, x]
                h = s[y, (x + 1) % L] + s[y, (x - 1) % L] + s[(y + 1) % L, x] + s[(y - 1) % L, x]
                if np.random.random() < acc[(sp + 1) // 2, (h + 4) // 2]:
                    s[y, x] = -sp


def _median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def _metropolis_state(L, R, K, seed=1):
    sub = kn.pack(np.ones((R, L, L), np.int8))
    rng = kn.rng_lanes(xoshiro_states(seed, R * kn.W), R)
    thr = kn.metropolis_thresholds(np.full(R, K), np.zeros(R))
    return sub, rng, thr


def _run_metropolis(sub, rng, thr, n_sweeps):
    R, L = sub.shape[0], sub.shape[2]
    out = np.empty((R, 0, L, L), np.int8)
    B = np.empty((R, 0), np.int64)
    kn.metropolis_schedule(sub, thr, rng, np.full(R, n_sweeps, np.int64), np.ones(R, np.int64), out, B, B.copy())


def bench_flips(sizes, flips_target, repeats):
    numba.set_num_threads(1)
    print("\n[1] checkerboard Metropolis, 1 thread, K = K_c: attempted flips per ns per core")
    print(f"{'L':>6} {'statgeo':>10} {'plain np.random':>16} {'ratio':>7}")
    res = {}
    for L in sizes:
        n = max(2, int(flips_target / (L * L)))
        sub, rng, thr = _metropolis_state(L, 1, K_C)
        _run_metropolis(sub, rng, thr, 1)  # compile / warm
        t = _median_time(lambda: _run_metropolis(sub, rng, thr, n), repeats)
        s = np.ones((L, L), np.int8)
        nb_ = max(1, n // 8)
        plain_metropolis(s, K_C, 0.0, 1, 0)
        tb = _median_time(lambda: plain_metropolis(s, K_C, 0.0, nb_, 0), repeats)
        f, fb = n * L * L / t / 1e9, nb_ * L * L / tb / 1e9
        res[L] = (f, fb)
        print(f"{L:>6} {f:>10.3f} {fb:>16.3f} {f / fb:>7.1f}")
    return res


def bench_threads(flips_target, repeats):
    print("\n[2] replicas on 2 threads vs 1 (4 replicas, L = 128)")
    L, R = 128, 4
    n = max(2, int(flips_target / (L * L * R)) * 2)
    out = {}
    for th in (1, 2):
        numba.set_num_threads(min(th, numba.config.NUMBA_NUM_THREADS))
        sub, rng, thr = _metropolis_state(L, R, K_C)
        _run_metropolis(sub, rng, thr, 1)
        t = _median_time(lambda: _run_metropolis(sub, rng, thr, n), repeats)
        out[th] = n * L * L * R / t / 1e9
        print(f"  {th} thread(s): {out[th]:.3f} flips/ns")
    print(f"  ratio 2 vs 1: {out[2] / out[1]:.2f}")
    numba.set_num_threads(1)
    return out


def bench_wolff_vs_metropolis(n_metro, n_wolff):
    numba.set_num_threads(1)
    print("\n[3] effective independent samples per second at K_c, L = 64 (1 thread)")
    L = 64
    res = {}
    # Metropolis: record B, M after every sweep
    sub, rng, thr = _metropolis_state(L, 1, K_C, seed=3)
    _run_metropolis(sub, rng, thr, 2000)  # equilibrate (and compile)
    B = np.empty((1, n_metro), np.int64)
    M = np.empty((1, n_metro), np.int64)
    out = np.empty((1, 0, L, L), np.int8)
    t0 = time.perf_counter()
    kn.metropolis_schedule(sub, thr, rng, np.zeros(1, np.int64), np.ones(1, np.int64), out, B, M)
    t = time.perf_counter() - t0
    tau = float(integrated_autocorrelation_time(np.abs(M[0])))
    res["metropolis"] = (n_metro / t, tau)
    # Wolff: one sweep = N/<|C|> cluster moves (statgeo convention)
    sp = np.ones((1, L, L), np.int8)
    rngw = kn.rng_lanes(xoshiro_states(4, 1), 1, 1)
    padd = kn.wolff_thresholds(np.array([K_C]))
    eta = np.zeros(1)
    size = kn.wolff_calibrate(sp, padd, eta, rngw, 200, 400)
    moves = np.maximum(1, np.rint(L * L / size)).astype(np.int64)
    Bw = np.empty((1, n_wolff), np.int64)
    Mw = np.empty((1, n_wolff), np.int64)
    kn.wolff_schedule(sp, padd, eta, moves, rngw, np.full(1, 20, np.int64), np.ones(1, np.int64), out, Bw[:, :2].copy(), Mw[:, :2].copy())
    t0 = time.perf_counter()
    kn.wolff_schedule(sp, padd, eta, moves, rngw, np.zeros(1, np.int64), np.ones(1, np.int64), out, Bw, Mw)
    t = time.perf_counter() - t0
    tauw = float(integrated_autocorrelation_time(np.abs(Mw[0])))
    res["wolff"] = (n_wolff / t, tauw)
    for k, (sps, ta) in res.items():
        print(f"  {k:>10}: {sps:10.1f} sweeps/s, tau_int(|M|) = {ta:7.2f} sweeps, "
              f"effective samples/s = {sps / (2 * ta):10.1f}")
    r = (res["wolff"][0] / (2 * res["wolff"][1])) / (res["metropolis"][0] / (2 * res["metropolis"][1]))
    print(f"  Wolff / Metropolis effective samples per second: {r:.1f}  (Wolff moves per sweep: {int(moves[0])})")
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="seconds-long run with tiny workloads")
    p.add_argument("--repeats", type=int, default=None)
    a = p.parse_args(argv)
    repeats = a.repeats or (1 if a.smoke else 3)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()}, numba {numba.__version__}, "
          f"threading layer {numba.config.THREADING_LAYER}")
    if a.smoke:
        bench_flips([64, 128], 2e6, repeats)
        bench_threads(2e6, repeats)
        bench_wolff_vs_metropolis(2000, 200)
    else:
        bench_flips([64, 128, 256, 512, 1024], 3e8, repeats)
        bench_threads(3e8, repeats)
        bench_wolff_vs_metropolis(40000, 4000)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
