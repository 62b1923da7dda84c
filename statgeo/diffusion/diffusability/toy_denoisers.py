"""Small diffusion models trained on the spot (CPU, seconds): an MLP ε-prediction network.

Model: ε̂_θ(y, τ) = MLP([y/√(1 + τ s²), ½ log τ]) in the y = x + √τ n parametrisation, where
s² is the data's mean per-coordinate variance (input preconditioning keeps the input O(1) at all
τ, after Karras et al., "Elucidating the design space of diffusion-based generative models",
2022). Training minimises the denoising loss E‖n − ε̂_θ(x + √τ n, τ)‖² with log τ uniform on
[log τ_min, log τ_max] (Ho et al. 2020 in the y-parametrisation). The trained network is a
``kind="epsilon"`` model for :mod:`.estimators` (docs/diffusability.md, "Reproduction").
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from statgeo.checks import check_int, check_real
from statgeo.progress import progress_bar, progress_disabled

logger = logging.getLogger(__name__)

__all__ = ["EpsilonMLP", "train_epsilon_mlp"]


def _torch():
    import torch

    return torch


class EpsilonMLP(_torch().nn.Module):
    """ε-prediction MLP for D-dimensional data: ε̂_θ(y, τ) = MLP([y/√(1 + τ/s²), ½ log τ]).

    Parameters
    ----------
    dim : int
        Data dimension D (≥ 1).
    hidden : int, default 128
        Width of the hidden layers (≥ 1).
    depth : int, default 3
        Number of hidden layers (≥ 1).
    data_variance : float, default 1.0
        The data's mean per-coordinate variance s² > 0 (input preconditioning).

    Raises
    ------
    TypeError
        A size is not an integer.
    ValueError
        A size below 1 or a variance ≤ 0.

    Examples
    --------
    >>> import torch
    >>> net = EpsilonMLP(2, hidden=8, depth=1)
    >>> tuple(net(torch.zeros(5, 2), 0.5).shape)
    (5, 2)
    """

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
        """Predict the noise ε̂_θ(y, τ).

        Parameters
        ----------
        y : torch.Tensor
            Noised samples ``(B, D)``.
        tau : float or torch.Tensor
            Noise level τ > 0, a float or a ``(B,)`` tensor.

        Returns
        -------
        torch.Tensor
            ``(B, D)``.
        """
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
    progress: bool | None = None,
) -> EpsilonMLP:
    """Train an :class:`EpsilonMLP` on data samples x (n, D) by denoising score matching.

    Loss E_{x, n, log τ ~ U} ‖n − ε̂_θ(x + √τ n, τ)‖², Adam with cosine learning-rate decay.
    Float32 on the CPU; deterministic for a given seed and thread count.

    Parameters
    ----------
    x : array_like
        ``(n, D)`` data samples, n ≥ 2, finite.
    tau_min : float, default 1e-3
        Smallest training noise level (> 0).
    tau_max : float, default 1e2
        Largest training noise level (> ``tau_min``).
    steps : int, default 2000
        Optimiser steps, in ``[1, 10**7]``.
    batch_size : int, default 512
        Samples per step (≥ 1).
    hidden : int, default 128
        Hidden width.
    depth : int, default 3
        Hidden layers.
    lr : float, default 2e-3
        Adam learning rate (> 0).
    seed : int, default 0
        Seed of the data, noise and initialisation (≥ 0).
    progress : bool or None, default None
        Show a progress bar: None on a terminal only, False never, True always
        (``TQDM_DISABLE=1`` always hides it).

    Returns
    -------
    EpsilonMLP
        In evaluation mode, parameters frozen (a ``kind="epsilon"`` model).

    Raises
    ------
    TypeError
        ``x`` is not real, or an argument of the wrong type.
    ValueError
        Bad samples or a setting out of range.

    Examples
    --------
    >>> net = train_epsilon_mlp(np.random.default_rng(0).normal(size=(64, 2)), steps=2, hidden=8, depth=1,
    ...                         progress=False)
    >>> net.training
    False
    """
    torch = _torch()
    from statgeo.diffusion.diffusability.gaussian import _real_numpy

    if not hasattr(x, "detach"):
        _real_numpy("x", x)
    xt = torch.as_tensor(np.asarray(x.detach() if hasattr(x, "detach") else x), dtype=torch.float32)
    if xt.ndim != 2 or xt.shape[0] < 2:
        raise ValueError(f"x must be (n, D) samples with n ≥ 2, got shape {tuple(xt.shape)}")
    if not torch.isfinite(xt).all():
        raise ValueError("x must be finite")
    lo = float(check_real("tau_min", tau_min, low=0.0, low_inclusive=False))
    hi = float(check_real("tau_max", tau_max, low=lo, low_inclusive=False))
    steps = check_int("steps", steps, min=1, max=10**7)
    batch_size = check_int("batch_size", batch_size, min=1)
    lr = float(check_real("lr", lr, low=0.0, low_inclusive=False))
    seed = check_int("seed", seed, min=0)
    progress_disabled(progress)
    gen = torch.Generator().manual_seed(int(seed))
    torch.manual_seed(int(seed))
    model = EpsilonMLP(xt.shape[1], hidden, depth, data_variance=float(xt.var(0).mean().clamp_min(1e-6)))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.perf_counter()
    for _ in progress_bar(range(steps), progress=progress, desc="train ε-MLP"):
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
