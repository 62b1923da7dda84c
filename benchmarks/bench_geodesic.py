"""Benchmark: boundary-value geodesics and Hessian metrics (statgeo.geometry).

Run ``python benchmarks/bench_geodesic.py`` (full, ~1 min) or ``--smoke`` (seconds).

Measured (median of ``--repeats`` runs):

1. ``geodesic_bvp`` (L-BFGS-B, analytic energy gradient) for n_points = 64 and 90 on
   (a) the Fisher–Rao metric of N(μ, σ²) in (μ, σ) (a metric callable; ∂g by finite differences),
   (b) the same family in natural parameters as a Hessian potential (analytic ∂³Φ),
   (c) a GridPotential (quintic spline of log Z on a 61 × 41 grid);
   baseline: the paper's recipe, Adam on the same discrete energy and gradient with a fixed
   step count (5000 in full mode), timed in the same run. Relative length errors against the
   closed-form distance are printed next to the times.
2. Metric g = ∇²Φ on 10⁴ points: analytic Hessian, Richardson FD from the gradient, FD from
   values (NumPy and torch CPU); baseline: the same FD Hessian called point by point in a
   Python loop (timed on 10³ points, scaled ×10).
"""

from __future__ import annotations

import argparse
import math
import os

os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np

from _common import machine_line, median_time_and_result
from statgeo.threads import single_threaded_blas
from statgeo.geometry.families import Gaussian1D
from statgeo.geometry.geodesic import discrete_energy, geodesic_bvp
from statgeo.geometry.metric import as_metric_fn
from statgeo.geometry.potential import AnalyticPotential, GridPotential


def _pin_threads():
    try:
        import torch

        torch.set_num_threads(1)
    except Exception:  # torch optional
        pass
    try:
        import numba

        numba.set_num_threads(1)
    except Exception:
        pass




def _adam(metric, a, b, n, steps, lr=1e-2):
    """Baseline: Adam on the interior points of the same discrete energy (the paper's choice).

    The energy gradient is :func:`statgeo.geometry.geodesic.discrete_energy`'s, the one
    ``geodesic_bvp`` minimises, so only the optimiser differs.
    """
    x = a + np.linspace(0, 1, n)[:, None] * (b - a)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    b1, b2, eps = 0.9, 0.999, 1e-8
    with single_threaded_blas():
        for k in range(1, steps + 1):
            _, g = discrete_energy(metric, x, gradient=True)
            g = np.array(g, dtype=np.float64)
            g[0] = g[-1] = 0.0
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            x = x - lr * (m / (1 - b1**k)) / (np.sqrt(v / (1 - b2**k)) + eps)
    dx = np.diff(x, axis=0)
    gm = np.asarray(as_metric_fn(metric)(0.5 * (x[1:] + x[:-1])), dtype=np.float64)
    return float(np.sqrt(np.einsum("si,sij,sj->s", dx, gm, dx)).sum())


def bench_geodesics(smoke: bool, repeats: int) -> None:
    fam = Gaussian1D()
    A, B = np.array([-1.0, 1.0]), np.array([1.0, 1.0])
    exact = math.sqrt(2) * math.acosh(2.0)
    t1, t2 = np.linspace(-1.5, 1.5, 61), np.linspace(-1.2, -0.2, 41)
    # degree 5: a C² spline Hessian keeps the discrete energy C²; with cubic splines the energy
    # gradient jumps at knots and the residual test can fail at n = 90 (length still accurate)
    grid = GridPotential([t1, t2], fam.value(np.stack(np.meshgrid(t1, t2, indexing="ij"), -1)), degree=5)
    cases = [
        ("Fisher-Rao (mu, sigma), metric callable", Gaussian1D.fisher_rao_metric, A, B),
        ("Gaussian natural params, Hessian potential", fam, fam.to_natural(A), fam.to_natural(B)),
        ("GridPotential 61x41 (quintic spline of log Z)", grid, fam.to_natural(A), fam.to_natural(B)),
    ]
    adam_steps = 200 if smoke else 5000
    print(f"\n== geodesic_bvp (L-BFGS-B) vs Adam baseline ({adam_steps} steps); median of {repeats}")
    print(f"{'case':46s} {'n':>4s} {'t_lbfgs[s]':>10s} {'iters':>6s} {'rel.err':>9s} "
          f"{'t_adam[s]':>10s} {'adam err':>9s} {'speed-up':>8s}")
    for name, metric, a, b in cases:
        for n in ((64,) if smoke else (64, 90)):
            t_l, r = median_time_and_result(lambda: geodesic_bvp(metric, a, b, n_points=n), repeats)
            t_a, L_a = median_time_and_result(lambda: _adam(metric, np.asarray(a), np.asarray(b), n, adam_steps), 1)
            flag = "" if r.converged else " (not converged)"
            print(f"{name:46s} {n:4d} {t_l:10.3f} {r.n_iter:6d} {abs(r.length / exact - 1):9.1e} "
                  f"{t_a:10.3f} {abs(L_a / exact - 1):9.1e} {t_a / t_l:8.1f}x{flag}")


def bench_metric(smoke: bool, repeats: int) -> None:
    fam = Gaussian1D()
    n = 1_000 if smoke else 10_000
    rng = np.random.default_rng(0)
    pts = np.stack([rng.uniform(-1, 1, n), rng.uniform(-2, -0.3, n)], -1)
    fd_vals = AnalyticPotential(fam.value)
    fd_grad = AnalyticPotential(fam.value, gradient=fam.gradient)
    print(f"\n== Hessian metric on {n} points (2-D); median of {repeats}")
    t_an, _ = median_time_and_result(lambda: fam.hessian(pts), repeats)
    t_fg, _ = median_time_and_result(lambda: fd_grad.hessian(pts), repeats)
    t_fv, H = median_time_and_result(lambda: fd_vals.hessian(pts), repeats)
    n_loop = max(n // 10, 100)
    t_loop, _ = median_time_and_result(lambda: [fd_vals.hessian(pts[i]) for i in range(n_loop)], 1)
    t_loop *= n / n_loop
    err = np.abs(H - fam.hessian(pts)).max() / np.abs(fam.hessian(pts)).max()
    print(f"analytic Hessian                      {t_an * 1e3:9.2f} ms")
    print(f"FD from gradient (Richardson)         {t_fg * 1e3:9.2f} ms")
    print(f"FD from values (Richardson), NumPy    {t_fv * 1e3:9.2f} ms   max rel. error {err:.1e}")
    try:
        import torch

        tp = torch.asarray(pts)
        t_ft, _ = median_time_and_result(lambda: fd_vals.hessian(tp), repeats)
        print(f"FD from values (Richardson), torch    {t_ft * 1e3:9.2f} ms")
    except ImportError:
        pass
    print(f"baseline: per-point loop (FD values)  {t_loop * 1e3:9.2f} ms   vectorised speed-up {t_loop / t_fv:.0f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="seconds-long run")
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args()
    _pin_threads()
    repeats = args.repeats or (1 if args.smoke else 3)
    print(machine_line())
    bench_geodesics(args.smoke, repeats)
    bench_metric(args.smoke, repeats)


if __name__ == "__main__":
    main()
