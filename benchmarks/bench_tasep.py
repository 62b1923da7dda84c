"""Benchmarks for the open TASEP (docs/performance.md, "The scripts" and "Targets"; results in
docs/tasep.md, "Performance").

Measures, with baselines from the same run:

* exact samples per second at N = 100 (Numba sequential sampler; 1 vs 2 threads; baseline: the
  same algorithm with dense NumPy matrices, O(N³) per sample);
* continuous-time MC attempted updates per ns (Numba, xoshiro256**; baseline: the same update
  in Numba calling NumPy's global RNG per attempt, one thread);
* ln Z_N at N = 1000 per grid point (vectorised 64×64 grid; baseline: one call per point), and
  ln Z_N with gradient and Hessian.

Run ``python benchmarks/bench_tasep.py`` (about a minute) or ``--smoke`` (seconds). Figures are
medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse

import numba
import numpy as np

from _common import machine_line, median_time
from statgeo.models.exact.tasep_closed import log_partition, log_partition_derivatives
from statgeo.models.exact.tasep_matrix import sample_exact, tasep_matrices
from statgeo.models.kernels import tasep_numba as _k
from statgeo.models import simulate_mc



def _dense_numpy_sampler(N: int, alpha: float, beta: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Baseline: sequential sampling with dense matrices, right vectors recomputed per sample."""
    m = tasep_matrices(N, alpha, beta)
    D, E, W, V = m["D"], m["E"], m["W"], m["V"]
    C = D + E
    out = np.empty((n, N), dtype=np.int8)
    for s in range(n):
        R = [V]
        for _ in range(N):
            r = C @ R[-1]
            R.append(r / r.max())
        R = R[::-1]  # R[j] = C^{N-j} V (normalised)
        L = W.copy()
        for j in range(N):
            wD = L @ D @ R[j + 1]
            wE = L @ E @ R[j + 1]
            t = rng.random() * (wD + wE) < wD
            out[s, j] = t
            L = L @ (D if t else E)
            L /= L.max()
    return out



def bench_exact_sampler(N: int, n: int, n_base: int, repeat: int) -> None:
    a, b = 0.3, 0.7
    sample_exact(N, a, b, 8, seed=0)  # compile
    res = {}
    for th in (1, 2):
        numba.set_num_threads(min(th, numba.config.NUMBA_NUM_THREADS))
        t = median_time(lambda: sample_exact(N, a, b, n, seed=1), repeat)
        res[th] = n / t
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(0)
    tb = median_time(lambda: _dense_numpy_sampler(N, a, b, n_base, rng), 1)
    base = n_base / tb
    print(f"exact sampler, N={N}, (α,β)=({a},{b}): {res[1]:,.0f} samples/s (1 thread), "
          f"{res[2]:,.0f} samples/s (2 threads, ×{res[2] / res[1]:.2f}); "
          f"dense-NumPy baseline {base:,.1f} samples/s → ×{res[1] / base:,.0f} (1 thread)")


def bench_mc(Ns: list[int], attempts_target: int, repeat: int) -> None:
    a, b = 0.8, 0.9
    for N in Ns:
        n_rep = 8
        sweeps = max(10, attempts_target // (n_rep * (N + 1)))
        simulate_mc(N, a, b, n_rep, 1, seed=0, burn_in=1, spacing=1, backend="numba")  # compile
        attempts = n_rep * (N + 1) * (sweeps + 1)
        res = {}
        for th in (1, 2):
            numba.set_num_threads(min(th, numba.config.NUMBA_NUM_THREADS))
            t = median_time(lambda: simulate_mc(N, a, b, n_rep, 1, seed=1, burn_in=sweeps, spacing=1,
                                                 backend="numba"), repeat)
            res[th] = attempts / t * 1e-9
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        _k.mc_kernel_python_rng(N, a, b, 10)
        nb_att = (N + 1) * sweeps
        tb = median_time(lambda: _k.mc_kernel_python_rng(N, a, b, nb_att), repeat)
        base = nb_att / tb * 1e-9
        print(f"MC (random-sequential), N={N}: {res[1]:.3f} attempts/ns (1 thread), {res[2]:.3f} attempts/ns "
              f"(2 threads, ×{res[2] / res[1]:.2f}); np.random-in-Numba baseline {base:.3f}/ns → ×{res[1] / base:.2f}")


def bench_log_z(N: int, n_grid: int, n_base: int, repeat: int) -> None:
    a = np.linspace(0.05, 1.0, n_grid)
    A, B = np.meshgrid(a, a, indexing="ij")
    log_partition(N, A[:2, :2], B[:2, :2])
    t = median_time(lambda: log_partition(N, A, B), repeat)
    td = median_time(lambda: log_partition_derivatives(N, A, B), repeat)
    pts = list(zip(A.ravel()[:n_base], B.ravel()[:n_base]))
    tb = median_time(lambda: [log_partition(N, x, y) for x, y in pts], repeat)
    per, perd, perb = t / A.size * 1e3, td / A.size * 1e3, tb / n_base * 1e3
    print(f"ln Z_N, N={N}, {n_grid}×{n_grid} grid: {per:.4f} ms/point vectorised (target ≤ 10), "
          f"with gradient+Hessian {perd:.4f} ms/point; one call per point {perb:.4f} ms/point → ×{perb / per:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    print(machine_line(f"numba threads {numba.get_num_threads()}, GPU: none used"))
    if args.smoke:
        bench_exact_sampler(100, 2000, 2, 1)
        bench_mc([100], 200_000, 1)
        bench_log_z(1000, 8, 8, 1)
    else:
        bench_exact_sampler(100, 50_000, 5, args.repeat)
        bench_mc([100, 1000], 40_000_000, args.repeat)
        bench_log_z(1000, 64, 64, args.repeat)


if __name__ == "__main__":
    main()
