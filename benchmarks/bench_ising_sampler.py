"""Benchmark of the Ising samplers (docs/performance.md, "The scripts" and "Targets"; results in
docs/ising_sampling.md, "Performance").

Run ``python benchmarks/bench_ising_sampler.py [--smoke]``. Prints

1. attempted flips per ns per core of the checkerboard Metropolis kernel (1 thread, one
   replica, K = K_c) at L = 64 … 1024, and the ratio to a plain Numba loop calling
   ``np.random.random()`` (typewriter order, precomputed acceptance table) measured in the same run;
2. replicas on 2 threads vs 1 (throughput ratio, 4 replicas, L = 128);
3. Wolff vs Metropolis effective independent samples per second at K_c, L = 64, both on one
   thread: (sweeps per second) / (2 τ_int(|M|)), τ_int in sweeps (Sokal window, mean over 4
   independent replicas of per-sweep chains); sweeps per second from the production schedule
   (B, M recorded every ⌈2 τ⌉ sweeps, as ``IsingModel.sample``'s auto-thinning does), timed
   repeats alternating between the two samplers; wall clock and CPU time. ``--only-wolff
   --wolff-L 128`` runs part 3 alone at another L;
4. the samplers on rows of the paper's grid (L = 128, K = 0.29, 0.47, 0.65, 8 values of η,
   32 samples, automatic burn-in and thinning, one thread): seconds per point of ``auto`` (the
   default), the hybrid, pure Wolff and Metropolis, as ratios to pure Wolff in the same run, with
   τ_int and ⟨M⟩/N (``--only-rows`` runs it alone).

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

from _common import median_time
from statgeo.seeding import xoshiro_states
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
        t = median_time(lambda: _run_metropolis(sub, rng, thr, n), repeats)
        s = np.ones((L, L), np.int8)
        nb_ = max(1, n // 8)
        plain_metropolis(s, K_C, 0.0, 1, 0)
        tb = median_time(lambda: plain_metropolis(s, K_C, 0.0, nb_, 0), repeats)
        f, fb = n * L * L / t / 1e9, nb_ * L * L / tb / 1e9
        res[L] = (f, fb)
        print(f"{L:>6} {f:>10.3f} {fb:>16.3f} {f / fb:>7.1f}")
    return res


def bench_threads(flips_target, repeats, L=128, R=16):
    """Replica parallelism: the same R independent replicas on 1 and on 2 threads.

    R = 16 replicas so each thread gets the same share; timed runs alternate between the two
    thread counts (so load changes hit both alike); medians of ``repeats``.
    """
    print(f"\n[2] replicas on 2 threads vs 1 ({R} replicas, L = {L})")
    n = max(2, int(4 * flips_target / (L * L * R)))
    states = {th: _metropolis_state(L, R, K_C) for th in (1, 2)}
    times = {1: [], 2: []}
    for th in (1, 2):
        numba.set_num_threads(min(th, numba.config.NUMBA_NUM_THREADS))
        _run_metropolis(*states[th], 1)
    for _ in range(max(1, repeats)):
        for th in (1, 2):
            numba.set_num_threads(min(th, numba.config.NUMBA_NUM_THREADS))
            times[th].append(median_time(lambda: _run_metropolis(*states[th], n), 1))
    out = {th: n * L * L * R / float(np.median(times[th])) / 1e9 for th in (1, 2)}
    for th in (1, 2):
        print(f"  {th} thread(s): {out[th]:.3f} flips/ns")
    print(f"  ratio 2 vs 1: {out[2] / out[1]:.2f} (target >= 1.7)")
    numba.set_num_threads(1)
    return out


def _tau_chain(run_chain, n_rep):
    """Mean over ``n_rep`` independent replicas of τ_int(|M|) (Sokal window) of a per-sweep chain."""
    M = run_chain()
    taus = [float(integrated_autocorrelation_time(np.abs(M[r]).astype(np.float64))) for r in range(n_rep)]
    return float(np.mean(taus)), float(np.std(taus) / np.sqrt(max(1, n_rep - 1)))


def bench_wolff_vs_metropolis(n_metro, n_wolff, repeats, n_rep=4, L=64):
    """Effective independent samples per second at K_c on the L×L torus, both single-threaded.

    τ_int(|M|) in sweeps: from chains recorded after every sweep (``n_rep`` replicas each,
    untimed). Throughput in sweeps/s: median wall clock of ``repeats`` runs of the production
    schedule, i.e. recording B, M every thin = ⌈2 τ⌉ sweeps (the auto-thinning of
    ``IsingModel.sample``), so neither sampler pays for per-sweep measurements it would not make.
    """
    numba.set_num_threads(1)
    print(f"\n[3] effective independent samples per second at K_c, L = {L} (1 thread, median of {repeats})")
    R = n_rep
    res = {}
    # --- Metropolis
    sub, rng, thr = _metropolis_state(L, R, K_C, seed=3)
    _run_metropolis(sub, rng, thr, int(5000 * max(1.0, (L / 64) ** 2.2)))  # equilibrate (and compile)
    none = np.empty((R, 0, L, L), np.int8)

    def metro_chain(n_sweeps, thin):
        n_rec = max(1, n_sweeps // thin)
        B = np.empty((R, n_rec), np.int64)
        M = np.empty((R, n_rec), np.int64)
        kn.metropolis_schedule(sub, thr, rng, np.zeros(R, np.int64), np.full(R, thin, np.int64), none, B, M)
        return M

    tau, tau_err = _tau_chain(lambda: metro_chain(n_metro, 1), R)
    thin = max(1, int(np.ceil(2 * tau)))
    n_t = max(thin, n_metro // 4)
    # --- Wolff: one sweep = N/<|C|> cluster moves (statgeo convention)
    sp = np.ones((R, L, L), np.int8)
    rngw = kn.rng_lanes(xoshiro_states(4, R), R, 1)
    padd = kn.wolff_thresholds(np.full(R, K_C))
    eta = np.zeros(R)
    size = kn.wolff_calibrate(sp, padd, eta, rngw, 200, 400)
    moves = np.maximum(1, np.rint(L * L / size)).astype(np.int64)

    def wolff_chain(n_sweeps, thin, burn=0):
        n_rec = max(1, n_sweeps // thin)
        B = np.empty((R, n_rec), np.int64)
        M = np.empty((R, n_rec), np.int64)
        kn.wolff_schedule(sp, padd, eta, moves, rngw, np.full(R, burn, np.int64), np.full(R, thin, np.int64),
                          none, B, M)
        return M

    wolff_chain(1, 1, burn=50)
    tauw, tauw_err = _tau_chain(lambda: wolff_chain(n_wolff, 1), R)
    thinw = max(1, int(np.ceil(2 * tauw)))
    n_tw = max(thinw, n_wolff // 4)
    # timed repeats alternate between the two samplers, so load changes hit both alike
    tm, tw = [], []
    for _ in range(repeats):
        for fn, acc in ((lambda: metro_chain(n_t, thin), tm), (lambda: wolff_chain(n_tw, thinw), tw)):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            acc.append((time.perf_counter() - w0, time.process_time() - c0))
    tm, tw = np.median(np.array(tm), axis=0), np.median(np.array(tw), axis=0)
    sweeps_m, sweeps_w = R * (n_t // thin) * thin, R * (n_tw // thinw) * thinw
    res["metropolis"] = (sweeps_m / tm, tau, tau_err, thin, "")
    res["wolff"] = (sweeps_w / tw, tauw, tauw_err, thinw,
                    f", moves/sweep {sorted(moves.tolist())}, <|C|> = {float(np.mean(size)):.0f}")
    for k, (sps, ta, te, th, extra) in res.items():
        print(f"  {k:>10}: {sps[0]:10.1f} sweeps/s wall ({sps[1]:.1f} per CPU-s), thin {th}{extra}; "
              f"tau_int(|M|) = {ta:7.2f} ± {te:.2f} sweeps; effective samples/s = {sps[0] / (2 * ta):10.1f}")
    rel = np.hypot(res["wolff"][2] / res["wolff"][1], res["metropolis"][2] / res["metropolis"][1])
    for j, what in enumerate(("wall clock", "CPU time")):
        r = (res["wolff"][0][j] / res["wolff"][1]) / (res["metropolis"][0][j] / res["metropolis"][1])
        print(f"  Wolff / Metropolis effective samples per second ({what}): {r:.1f} ± {r * rel:.1f} "
              f"(τ errors only; target >= 20); a Wolff sweep costs "
              f"{res['metropolis'][0][j] / res['wolff'][0][j]:.1f} Metropolis sweeps")
    return res


def bench_grid_rows(L, ks, n_eta, n_samples, repeats):
    """[4] The samplers on rows of a (K, eta) grid, as Table 1 calls them (automatic burn-in and
    thinning, one thread): seconds per point of ``auto`` (the default), the hybrid, pure Wolff and
    Metropolis, their largest tau_int, and <M>/N per sampler (the samplers must agree; pure Wolff
    does not in the ordered phase in a field)."""
    from statgeo.models.ising_sampling import run_chains

    numba.set_num_threads(1)
    print(f"\n[4] grid rows, L = {L}, {n_eta} values of eta in [-0.2, 0.2], {n_samples} samples per point, "
          "1 thread, automatic burn-in and thinning: seconds per point (median of repeats)")
    eta = np.linspace(-0.2, 0.2, n_eta)
    algs = ("auto", "hybrid", "wolff", "metropolis")
    for alg in algs:  # compile outside the timing
        run_chains([0.3], [0.1], 8, 2, seed=0, algorithm=alg, burn_in=5, thin=1, progress=False)
    res = {}
    for K in ks:
        row = {}
        for alg in algs:
            times = []
            for r in range(repeats):
                t0 = time.perf_counter()
                out = run_chains(np.full(n_eta, K), eta, L, n_samples, seed=r, algorithm=alg, store_spins=False,
                                 progress=False)
                times.append(time.perf_counter() - t0)
            tau = np.maximum(out["tau_int_B"], out["tau_int_M"])
            row[alg] = (float(np.median(times)) / n_eta, float(tau.max()), out["M"].mean(axis=1) / (L * L))
        base = row["wolff"][0]
        for alg, (t, tau, m) in row.items():
            print(f"  K = {K:.2f} {alg:>10}: {t:.4f} s/point ({base / t:5.2f}x pure Wolff), tau_int max "
                  f"{tau:6.1f} sweeps, <M>/N at eta = {eta[-2]:+.3f}: {m[-2]:.4f}")
        res[K] = row
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="seconds-long run with tiny workloads")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--wolff-L", type=int, default=64, help="lattice size of part [3] (default 64)")
    p.add_argument("--only-wolff", action="store_true", help="run part [3] only")
    p.add_argument("--only-rows", action="store_true", help="run part [4] only")
    a = p.parse_args(argv)
    repeats = a.repeats or (1 if a.smoke else 3)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()}, numba {numba.__version__}, "
          f"threading layer {numba.config.THREADING_LAYER}")
    if a.only_rows:
        bench_grid_rows(128, (0.29, 0.47, 0.65), 8, 32, repeats)
    elif a.only_wolff:
        scale = (a.wolff_L / 64) ** 2.2  # Metropolis tau_int grows like L^2.17
        bench_wolff_vs_metropolis(2000 if a.smoke else int(100000 * scale), 200 if a.smoke else 20000, repeats,
                                  n_rep=2 if a.smoke else 4, L=a.wolff_L)
    elif a.smoke:
        bench_flips([64, 128], 2e6, repeats)
        bench_threads(2e6, repeats)
        bench_wolff_vs_metropolis(2000, 200, repeats, n_rep=2)
        bench_grid_rows(32, (0.3, 0.6), 4, 8, repeats)
    else:
        bench_flips([64, 128, 256, 512, 1024], 3e8, repeats)
        bench_threads(3e8, repeats)
        bench_wolff_vs_metropolis(100000, 20000, repeats, L=a.wolff_L)
        bench_grid_rows(128, (0.29, 0.47, 0.65), 8, 32, repeats)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
