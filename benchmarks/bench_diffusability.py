"""Score evaluations (and seconds) per estimate of I and R at a 1 % relative error bar.

    python benchmarks/bench_diffusability.py [--smoke] [--threads N]

Models: a 64-dimensional Gaussian with its exact score (non-diagonal covariance), and a tiny
random-init diffusers UNet2DModel (1×16×16, ε-prediction, DDPM scheduler). For each estimator
a pilot run of n samples gives the relative standard error r; the samples needed for 1 % are
n·(r/0.01)², times the model calls per sample (1 forward for I; 1 JVP per Hutchinson probe;
2 forwards per sample for the central finite difference of I with common random numbers).
Ratios are against the score-norm estimator of I measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def _gauss64(seed=0):
    import torch

    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(64, 64)))
    lam = np.geomspace(0.05, 4.0, 64)
    S = torch.tensor(Q @ np.diag(lam) @ Q.T)
    L = torch.tensor(Q @ np.diag(np.sqrt(lam)))
    cache = {}

    def score(y, tau):
        if tau not in cache:
            cache[tau] = torch.linalg.inv(S + tau * torch.eye(64, dtype=torch.float64))
        return -y @ cache[tau]

    def sampler(n, g):
        return torch.randn((n, 64), generator=g, dtype=torch.float64) @ L.T

    return score, sampler, lam


def _measure(name, model, data, tau, n, bs, kw, rows, base=None):
    from statgeo.diffusion.diffusability import (
        estimate_diffusability,
        fisher_information_rate_fd,
    )

    t0 = time.perf_counter()
    e = estimate_diffusability(model, data, tau, n_samples=n, batch_size=bs, rate=False, seed=1, **kw)[0]
    t_fwd = (time.perf_counter() - t0) / e.n_evals
    t0 = time.perf_counter()
    eh = estimate_diffusability(model, data, tau, n_samples=n, batch_size=bs, rate=True, seed=1, **kw)[0]
    t_jvp = (time.perf_counter() - t0) / eh.n_evals
    eg = estimate_diffusability(model, data, tau, n_samples=n, batch_size=bs, rate=True, probe="gaussian", seed=1, **kw)[0]
    _, fd = fisher_information_rate_fd(model, data, [tau / 1.1, tau, tau * 1.1], n_samples=n, batch_size=bs, seed=1, **kw)
    out = []
    for est_name, est, per, tcall in (("I score ‖s‖²", e.I_score, 1, t_fwd), ("I denoise", e.I_denoise, 1, t_fwd),
                                      ("R Hutchinson rademacher", eh.R, 1, t_jvp), ("R Hutchinson gaussian", eg.R, 1, t_jvp),
                                      ("R FD of I (CRN, ±10%)", fd[0], 2, t_fwd)):
        r = est.relative_error
        n1 = n * (r / 0.01) ** 2
        evals = n1 * per
        out.append((name, tau, est_name, est.value, r, evals, evals * tcall))
    base = out[0][5]
    for row in out:
        rows.append(row + (row[5] / base,))
    return t_fwd, t_jvp


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")
    import torch

    torch.set_num_threads(a.threads)
    import diffusers

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}, torch threads {a.threads}")
    rows = []
    score, sampler, lam = _gauss64()
    n = 200 if a.smoke else 4000
    for tau in ((1.0,) if a.smoke else (0.1, 1.0)):
        _measure("gauss64 exact", score, sampler, tau, n, 1000, {}, rows)
    torch.manual_seed(0)
    unet = diffusers.UNet2DModel(sample_size=16, in_channels=1, out_channels=1, layers_per_block=1,
                                 block_out_channels=(16, 32), down_block_types=("DownBlock2D", "DownBlock2D"),
                                 up_block_types=("UpBlock2D", "UpBlock2D"), norm_num_groups=8).eval()
    for q in unet.parameters():
        q.requires_grad_(False)
    sch = diffusers.DDPMScheduler(num_train_timesteps=1000)
    x = torch.randn(256, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    nu = 8 if a.smoke else 64
    tf, tj = _measure("tiny UNet 1x16x16", unet, x, 1.0, nu, 32, {"scheduler": sch}, rows)
    print(f"tiny UNet: {tf * 1e3:.2f} ms per forward, {tj * 1e3:.2f} ms per JVP (ratio {tj / tf:.2f})")
    print(f"{'model':18s} {'tau':>5s} {'estimator':26s} {'value':>11s} {'rel.err':>8s} {'evals@1%':>10s} {'s@1%':>8s} {'ratio':>7s}")
    for r in rows:
        print(f"{r[0]:18s} {r[1]:5.2g} {r[2]:26s} {r[3]:11.5g} {r[4]:8.2g} {r[5]:10.3g} {r[6]:8.3g} {r[7]:7.3g}")
    print("ratio = evaluations at 1 % relative to the score-norm estimator of I, same model and τ")


if __name__ == "__main__":
    main()
