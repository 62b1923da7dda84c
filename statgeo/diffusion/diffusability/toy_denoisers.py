"""Small diffusion models trained on the spot (CPU, seconds): an MLP ε-prediction network.

Model: ε̂_θ(y, τ) = MLP([y/√(1 + τ s²), ½ log τ]) in the y = x + √τ n parametrisation, where
s² is the data's mean per-coordinate variance (input preconditioning keeps the input O(1) at all
τ, after Karras et al., "Elucidating the design space of diffusion-based generative models",
2022). Training minimises the denoising loss E‖n − ε̂_θ(x + √τ n, τ)‖² with log τ uniform on
[log τ_min, log τ_max] (Ho et al. 2020 in the y-parametrisation). The trained network is a
``kind="epsilon"`` model for :mod:`.estimators`.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from statgeo.checks import check_int, check_real

logger = logging.getLogger(__name__)

__all__ = ["EpsilonMLP", "train_epsilon_mlp"]


def _torch():
    import torch

    return torch


class EpsilonMLP(_torch().nn.Module):
    """ε-prediction MLP for D-dimensional data; ``forward(y, tau)`` with τ a float or (B,) tensor."""

    def __init__(self, dim: int, hidden: int = 128, depth: int = 3, data_variance: float = 1.0):
        torch = _torch()
        super().__init__()
        dim = check_int("dim", dim, min=1)
        hidden = check_int("hidden", hidden, min=1)
        depth = check_int("depth", depth, min=1)
        self.dim = dim
        self.data_variance = float(check_real("data_variance", data_variance, low=0.0, low_inclusive=False))
        layers, w = [], dim + 1
        for _ in range(depth):
            layers += [torch.nn.Linear(w, hidden), torch.nn.SiLU()]
            w = hidden
        layers.append(torch.nn.Linear(w, dim))
        self.net = torch.nn.Sequential(*layers)

    def forward(self, y, tau):
        torch = _torch()
        t = torch.as_tensor(tau, dtype=y.dtype)
        if t.ndim == 0:
            t = t.expand(y.shape[0])
        cin = 1.0 / torch.sqrt(1.0 + t / self.data_variance)
        h = torch.cat([y * cin[:, None], 0.5 * torch.log(t)[:, None]], dim=1)
        return self.net(h)


def train_epsilon_mlp(
    x,
    *,
    tau_min: float = 1e-3,
    tau_max: float = 1e2,
    steps: int = 2000,
    batch_size: int = 512,
    hidden: int = 128,
    depth: int = 3,
    lr: float = 2e-3,
    seed: int = 0,
    progress: bool = False,
) -> EpsilonMLP:
    """Train an :class:`EpsilonMLP` on data samples x (n, D) by denoising score matching.

    Loss E_{x, n, log τ ~ U} ‖n − ε̂_θ(x + √τ n, τ)‖², Adam with cosine learning-rate decay.
    Float32 on the CPU; deterministic for a given seed and thread count.
    """
    torch = _torch()
    from tqdm.auto import tqdm

    xt = torch.as_tensor(np.asarray(x.detach() if hasattr(x, "detach") else x), dtype=torch.float32)
    if xt.ndim != 2 or xt.shape[0] < 2:
        raise ValueError(f"x must be (n, D) samples with n ≥ 2, got shape {tuple(xt.shape)}")
    if not torch.isfinite(xt).all():
        raise ValueError("x must be finite")
    lo = float(check_real("tau_min", tau_min, low=0.0, low_inclusive=False))
    hi = float(check_real("tau_max", tau_max, low=lo, low_inclusive=False))
    steps = check_int("steps", steps, min=1)
    batch_size = check_int("batch_size", batch_size, min=1)
    gen = torch.Generator().manual_seed(int(seed))
    torch.manual_seed(int(seed))
    model = EpsilonMLP(xt.shape[1], hidden, depth, data_variance=float(xt.var(0).mean().clamp_min(1e-6)))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.perf_counter()
    for _ in tqdm(range(steps), desc="train ε-MLP", disable=not progress):
        idx = torch.randint(0, xt.shape[0], (batch_size,), generator=gen)
        n = torch.randn((batch_size, xt.shape[1]), generator=gen)
        tau = torch.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * torch.rand(batch_size, generator=gen))
        y = xt[idx] + tau.sqrt()[:, None] * n
        loss = ((model(y, tau) - n) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    logger.info("trained ε-MLP: %d steps in %.1fs, final loss %.4f", steps, time.perf_counter() - t0, float(loss.detach()))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
