"""Benchmark of the exact Ising references (docs/performance.md, "The scripts" and "Targets").

    python benchmarks/bench_ising_exact.py            # full (≈ 1 min)
    python benchmarks/bench_ising_exact.py --smoke    # seconds

Measures, single-threaded (BLAS, Numba pinned to 1 thread):

* Kaufman ln Z and (ln Z, ⟨B⟩, Var B) at L = 4096, vectorised over a grid of K, per point
  (target ≤ 1 ms); baseline: the same function called one K at a time.
* Transfer matrix at L = 8 on a 32×32 (K, η) grid: ln Z and the full thermo (gradient and
  Hessian); baseline: ln Z from the eigenvalues of the dense 256×256 row-to-row matrix.
* Enumeration of g(B, M) for L = 5 (2²⁵ states); baseline: NumPy-vectorised enumeration of
  L = 4, per state.

Figures are medians of repeats; ratios are against baselines measured in the same run.
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402

import numpy as np  # noqa: E402
from _common import machine_line, median_time  # noqa: E402



def dense_transfer_log_z(K: np.ndarray, eta: np.ndarray, L: int) -> np.ndarray:
    """Baseline: ln Tr T^L from the dense 2^L × 2^L symmetric matrix, one point at a time."""
    s = np.arange(1 << L)
    sp = 2 * ((s[:, None] >> np.arange(L)) & 1) - 1
    hB = (sp * np.roll(sp, 1, axis=1)).sum(1)
    M = sp.sum(1)
    vB = sp @ sp.T
    eK = 0.5 * (hB[:, None] + hB[None, :]) + vB
    eE = 0.5 * (M[:, None] + M[None, :])
    out = np.empty(K.size)
    for i, (k, e) in enumerate(zip(K.ravel(), eta.ravel())):
        x = k * eK + e * eE
        c = x.max()
        lam = np.linalg.eigvalsh(np.exp(x - c))
        lm = lam.max()
        out[i] = L * (c + np.log(lm)) + np.log(np.sum((lam / lm) ** L))
    return out.reshape(K.shape)


def numpy_enumeration_L4() -> np.ndarray:
    L, N = 4, 16
    x = np.arange(1 << N, dtype=np.int64)
    spins = (2 * ((x[:, None] >> np.arange(N)) & 1) - 1).reshape(-1, L, L)
    B = (spins * np.roll(spins, 1, 1)).sum((1, 2)) + (spins * np.roll(spins, 1, 2)).sum((1, 2))
    M = spins.sum((1, 2))
    counts = np.zeros((4 * N + 1, 2 * N + 1), np.int64)
    np.add.at(counts, (B + 2 * N, M + N), 1)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds")
    args = ap.parse_args()

    import numba

    numba.set_num_threads(1)
    from statgeo.models.exact import ising_enumeration
    from statgeo.models.exact.ising import (
        IsingDensityOfStates,
        K_C,
        kaufman_log_z,
        kaufman_thermo,
        transfer_matrix_log_z,
        transfer_matrix_thermo,
    )

    print(machine_line(platform.platform()))
    print(f"numpy {np.__version__}, numba {numba.__version__}, threads pinned to 1")
    rep = 3 if args.smoke else 5

    # --- Kaufman, L = 4096 -------------------------------------------------------------
    L = 4096
    nK = 64 if args.smoke else 1024
    K = np.linspace(0.05, 3.0, nK)
    K[nK // 3] = K_C
    kaufman_log_z(K[:4], L)
    t_vec = median_time(lambda: kaufman_log_z(K, L), rep) / nK
    t_thermo = median_time(lambda: kaufman_thermo(K, L), rep) / nK
    nb = 16 if args.smoke else 64
    t_scalar = median_time(lambda: [kaufman_log_z(float(k), L) for k in K[:nb]], rep) / nb
    print(f"[kaufman] L={L}, {nK} K values: ln Z {t_vec * 1e3:.3f} ms/point (target <= 1 ms), "
          f"thermo (ln Z, <B>, Var B) {t_thermo * 1e3:.3f} ms/point; "
          f"one-K-per-call baseline {t_scalar * 1e3:.3f} ms/point -> vectorised x{t_scalar / t_vec:.2f}")

    # --- transfer matrix, L = 8, 32×32 grid ---------------------------------------------
    L = 8
    n = 8 if args.smoke else 32
    Kg, Eg = np.meshgrid(np.linspace(0.2, 0.8, n), np.linspace(-0.3, 0.3, n), indexing="ij")
    transfer_matrix_log_z(0.3, 0.1, L)
    t_tm_lz = median_time(lambda: transfer_matrix_log_z(Kg, Eg, L), 1 if not args.smoke else rep)
    t_tm_th = median_time(lambda: transfer_matrix_thermo(Kg, Eg, L), 1 if not args.smoke else rep)
    nd = 16 if args.smoke else 64
    sub = (Kg.ravel()[:nd], Eg.ravel()[:nd])
    t_dense = median_time(lambda: dense_transfer_log_z(*sub, L), 1) / nd * Kg.size
    err = np.max(np.abs(dense_transfer_log_z(*sub, L) / transfer_matrix_log_z(*sub, L) - 1))
    print(f"[transfer matrix] L={L}, {n}x{n} grid: ln Z {t_tm_lz:.2f} s, thermo (grad + Hessian) "
          f"{t_tm_th:.2f} s (target <~ 20 s); dense 256x256 eigvalsh baseline for ln Z "
          f"{t_dense:.2f} s (extrapolated from {nd} points) -> momentum blocks x{t_dense / t_tm_lz:.1f}; "
          f"max rel. difference {err:.1e}")

    # --- enumeration ----------------------------------------------------------------------
    IsingDensityOfStates.from_enumeration(2)  # compile
    t_np4 = median_time(numpy_enumeration_L4, rep) / 2**16
    if args.smoke:
        Le = 4
    else:
        Le = 5

    def count():
        ising_enumeration._counts.cache_clear()
        IsingDensityOfStates.from_enumeration(Le)

    t_enum = median_time(count, rep)
    per_state = t_enum / 2 ** (Le * Le)
    print(f"[enumeration] L={Le}: {t_enum * 1e3:.1f} ms for 2^{Le * Le} states = {per_state * 1e9:.2f} ns/state; "
          f"NumPy-vectorised L=4 baseline {t_np4 * 1e9:.1f} ns/state -> x{t_np4 / per_state:.1f}")


if __name__ == "__main__":
    main()
