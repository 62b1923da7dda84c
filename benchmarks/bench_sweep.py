"""Sweep throughput: batched ``statgeo.diffusion.sweep`` vs the same pipeline one latent at a time.

    python benchmarks/bench_sweep.py [--smoke] [--threads 2] [--repeats 3]

A tiny random-initialised SD-class pipeline (UNet 8/16 channels, 8×8 latents, VAE to 16×16,
DDIM, classifier-free guidance) on the CPU. Baseline: the same generator called on one
latent at a time (what the reference code did). Prints images/s for both, the ratio
(target ≥ 5×, see docs/performance.md) and the machine (cores, load average). Medians of ``--repeats``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import torch  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--n", type=int, default=6, help="grid points per axis (n² images)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=3)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    from statgeo.diffusion import LatentSlice, slice_grid, sweep
    from tests.diffusion.conftest import make_tiny_generator

    n, steps, reps = (4, 2, 1) if a.smoke else (a.n, a.steps, a.repeats)
    gen = make_tiny_generator(steps=steps)
    ls = LatentSlice.from_seeds([0, 1, 2], gen.latent_shape)
    grid = slice_grid(n)
    m = grid.size
    sweep(gen, ls, slice_grid(2), batch_size=4, progress=False)  # warm-up
    tb, t1 = [], []
    for _ in range(reps):
        t = time.perf_counter()
        sweep(gen, ls, grid, batch_size=a.batch_size, progress=False)
        tb.append(time.perf_counter() - t)
        t = time.perf_counter()
        pts = grid.points()
        for i in range(m):  # baseline: one latent per pipeline call
            z = torch.from_numpy(ls.latents(pts[i:i + 1, 0], pts[i:i + 1, 1])).float()
            gen(z, [i])
        t1.append(time.perf_counter() - t)
    rb, r1 = m / statistics.median(tb), m / statistics.median(t1)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}, torch threads {a.threads}")
    print(f"tiny SD-class pipeline, {m} images, {steps} DDIM steps, guidance 2.0, batch {a.batch_size}, "
          f"{reps} repeats (median)")
    print(f"one latent at a time: {r1:8.2f} images/s")
    print(f"batched sweep       : {rb:8.2f} images/s")
    print(f"ratio               : {rb / r1:8.2f}x (target >= 5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
