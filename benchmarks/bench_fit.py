"""Benchmark: log-partition fit on a 64×64 grid (CPU, 2 threads) and the learned metric.

Run ``python benchmarks/bench_fit.py`` (full) or ``--smoke`` (seconds). ``--compare`` also
fits the three potential classes on a 16×16 Poisson-pair problem and prints held-out losses and
metric errors (the evidence for the default model, docs/geometry_fitting.md); ``--forms``
compares the fit forms on the same samples (free linear term on single bundles, the default,
vs the paper's form on bundle averages): metric error and time.

Problem: independent Poisson pair, Φ(t) = e^{t1} + e^{t2} on t ∈ [1, 2.5]², 64 samples per
point, bundles of 4, bundle-averaged exact posteriors (n_eff = 2). Baselines measured in the
same run: the dense path (window=None, all origins, every cell — the behaviour before the
windowed loss) timed over a few L-BFGS iterations and extrapolated to the fast path's iteration
count, and the closed-form Hessian for the metric timing.

Convergence criterion (fit_log_partition's own): the fit stops when the held-out JSD (10 % of
the origins) has not improved for ``patience`` = 5 checks (a check every 10 L-BFGS iterations;
best parameters restored) or the relative change of the training loss over 10 iterations is
below ``tol``; ``--max-steps`` caps it.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from statgeo.geometry import exact_posterior, fit_log_partition
from statgeo.grid import ParameterGrid


def problem(n_axis: int, seed: int = 0, average: bool = True):
    g = ParameterGrid.from_ranges(t1=(1.0, 2.5, n_axis), t2=(1.0, 2.5, n_axis))
    T = g.natural_points()
    x = np.random.default_rng(seed).poisson(np.exp(T)[:, None, :], size=(g.size, 64, 2)).astype(float)
    return g, T, exact_posterior(x, g, np.exp(T).sum(1), 4, seed=seed + 1, average=average)


def metric_error(fit, T, margin=0.15):
    H = np.zeros((T.shape[0], 2, 2))
    H[:, 0, 0], H[:, 1, 1] = np.exp(T[:, 0]), np.exp(T[:, 1])
    m = ((T > 1.0 + margin) & (T < 2.5 - margin)).all(1)
    d = fit.hessian(T)[m] - H[m]
    return float(np.sqrt((d ** 2).sum((1, 2)).mean() / (H[m] ** 2).sum((1, 2)).mean()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-steps", type=int, default=300)
    ap.add_argument("--dense-steps", type=int, default=10)
    ap.add_argument("--compare-steps", type=int, default=200)
    ap.add_argument("--forms", action="store_true",
                    help="compare the fit forms (free linear term on single bundles vs the paper's form on averages)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, cores={os.cpu_count()}, "
          f"load average={os.getloadavg()}, torch threads={torch.get_num_threads()}")
    n_axis = 40 if args.smoke else 64
    steps = 5 if args.smoke else args.max_steps
    if args.smoke:
        args.dense_steps = 2
    g, T, post = problem(n_axis)
    # baseline: the dense path (every origin x every cell), a few iterations, extrapolated
    t0 = time.perf_counter()
    dense = fit_log_partition(post, g, max_steps=args.dense_steps, validation_fraction=0.0, dtype=args.dtype,
                              window=None, max_origins=None, cell_stride=1, seed=0, progress=False)
    t_dense_it = (time.perf_counter() - t0) / dense.config["steps"]
    t0 = time.perf_counter()
    fit = fit_log_partition(post, g, max_steps=steps, dtype=args.dtype, seed=0, progress=False)
    t_fit = time.perf_counter() - t0
    c = fit.config
    n_it = c["steps"]
    print(f"dense baseline {n_axis}x{n_axis} ({g.size} origins x {g.size} cells): {t_dense_it:.2f} s/iteration "
          f"({dense.config['steps']} iterations) -> {t_dense_it * n_it:.0f} s extrapolated to {n_it} iterations")
    print(f"fast JSD fit {n_axis}x{n_axis} grid, icnn/lbfgs/{args.dtype}, window={c['window']}, "
          f"origins {c['origins_used']}, cells {c['cells_used']} (stride {c['cell_stride']}): "
          f"{t_fit:.1f} s, {n_it} iterations ({c['stop_reason']}; best at {c['best_step']}), "
          f"{t_fit / n_it:.3f} s/iteration = {t_dense_it / (t_fit / n_it):.1f}x faster per iteration than dense; "
          f"target 60 s -> ratio {t_fit / 60:.2f}; metric nRMSE (interior) {metric_error(fit, T):.3f}")
    pts = np.random.default_rng(1).uniform(1.0, 2.5, size=(100 if args.smoke else 10_000, 2))
    t0 = time.perf_counter()
    H = fit.metric(pts)
    t_m = time.perf_counter() - t0
    t0 = time.perf_counter()
    Hex = np.zeros((pts.shape[0], 2, 2))
    Hex[:, 0, 0], Hex[:, 1, 1] = np.exp(pts[:, 0]), np.exp(pts[:, 1])
    t_b = time.perf_counter() - t0
    print(f"metric of the learned potential on {pts.shape[0]} points: {t_m * 1e3:.1f} ms "
          f"({t_m / pts.shape[0] * 1e6:.2f} us/point; {t_m / max(t_b, 1e-9):.0f}x the closed-form Hessian)")
    assert H.shape == Hex.shape
    if args.forms:
        # the same samples: one row per bundle (free linear term, the default) vs bundle averages
        # (the paper's form: centres tied to the gradient at the origin, JSD); baseline in-process
        steps_f = 20 if args.smoke else 600
        for label, avg, kw in (("paper's form, averages at n/2", True, {"linear_term": "gradient"}),
                               ("free linear term, single bundles at n", False, {})):
            g2, T2, post2 = problem(16, seed=5, average=avg)
            t0 = time.perf_counter()
            f = fit_log_partition(post2, g2, max_steps=steps_f, seed=0, progress=False, **kw)
            print(f"forms {label:40s}: metric nRMSE {metric_error(f, T2):.3f}, {time.perf_counter() - t0:.1f} s, "
                  f"{f.config['steps']} it ({f.config['stop_reason']}), rows {f.config['rows_used']}")
    if args.compare:
        g2, T2, post2 = problem(16, seed=5)
        for model in ("icnn", "mlp", "paper_mlp"):
            t0 = time.perf_counter()
            f = fit_log_partition(post2, g2, model=model, max_steps=20 if args.smoke else args.compare_steps, seed=0,
                                  progress=False)
            val = min(v for v in f.history["validation"] if np.isfinite(v))
            print(f"compare {model:9s}: held-out JSD {val:.5f}, metric nRMSE {metric_error(f, T2):.3f}, "
                  f"{time.perf_counter() - t0:.1f} s, {f.config['steps']} it")


if __name__ == "__main__":
    main()
