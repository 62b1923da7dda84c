"""The diffusion model of every space: a residual MLP ε-prediction network on flat vectors.

Architecture: x_t ↦ Linear(d → w), then ``depth`` residual blocks
h ← h + Linear(SiLU(Linear(SiLU(LayerNorm(h)) + e(t)))), then LayerNorm and Linear(w → d);
e(t) is diffusers' sinusoidal ``Timesteps`` projection followed by ``TimestepEmbedding``.
Training is the DDPM objective (Ho et al. 2020, eq. 14) on the zoo's cosine schedule
(``squaredcos_cap_v2``, T = 1000) with the zoo's optimiser, learning-rate schedule, batch order
and weight EMA (:mod:`validation.digits_zoo.training`). Sampling is DDIM with η = 0 (Song et
al. 2021) through diffusers' ``DDIMScheduler``.

For the diffusability estimators the network is a score model in the y = x + √τ n
parametrisation: x_t = y/√(1 + τ) at the fractional timestep whose log τ_t interpolates τ
(:func:`statgeo.diffusion.diffusability.timestep_from_tau`), and s(y) = −ε̂/√τ.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from statgeo.checks import check_int
from validation.latent_diffusability.config import DenoiserConfig

__all__ = ["VectorEpsilonNet", "train_denoiser", "epsilon_model", "ddim_sample", "training_schedule",
           "NUM_TRAIN_TIMESTEPS", "BETA_SCHEDULE"]

#: the training schedule of every model (the digits zoo's)
NUM_TRAIN_TIMESTEPS = 1000
BETA_SCHEDULE = "squaredcos_cap_v2"


def _torch():
    import torch

    return torch


class VectorEpsilonNet(_torch().nn.Module):
    """Residual MLP ε-prediction network ε̂_θ(x_t, t) for d-dimensional vectors.

    Parameters
    ----------
    dim : int
        d ≥ 1.
    width : int
        Hidden width ≥ 1.
    depth : int
        Residual blocks ≥ 1.

    Examples
    --------
    >>> import torch
    >>> net = VectorEpsilonNet(3, width=8, depth=1)
    >>> tuple(net(torch.zeros(2, 3), torch.tensor([10.0, 500.0])).shape)
    (2, 3)
    """

    def __init__(self, dim: int, width: int = 512, depth: int = 4) -> None:
        from diffusers.models.embeddings import TimestepEmbedding, Timesteps

        torch = _torch()
        super().__init__()
        self.dim = check_int("dim", dim, min=1)
        width = check_int("width", width, min=1)
        depth = check_int("depth", depth, min=1)
        t_dim = 64
        self.time_proj = Timesteps(t_dim, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(t_dim, width)
        self.inp = torch.nn.Linear(dim, width)
        self.norms = torch.nn.ModuleList(torch.nn.LayerNorm(width) for _ in range(depth))
        self.first = torch.nn.ModuleList(torch.nn.Linear(width, width) for _ in range(depth))
        self.second = torch.nn.ModuleList(torch.nn.Linear(width, width) for _ in range(depth))
        self.out_norm = torch.nn.LayerNorm(width)
        self.out = torch.nn.Linear(width, dim)

    def forward(self, x: Any, t: Any) -> Any:
        """ε̂_θ(x_t, t).

        Parameters
        ----------
        x : torch.Tensor
            ``(n, d)`` noised vectors x_t.
        t : torch.Tensor
            ``(n,)`` timesteps (fractional allowed).

        Returns
        -------
        torch.Tensor
            ``(n, d)``.
        """
        F = _torch().nn.functional
        emb = self.time_embed(self.time_proj(t.reshape(-1)).to(x.dtype))
        h = self.inp(x)
        for norm, a, b in zip(self.norms, self.first, self.second):
            h = h + b(F.silu(a(F.silu(norm(h))) + emb))
        return self.out(F.silu(self.out_norm(h)))


def training_schedule() -> Any:
    """The DDPM scheduler every model is trained with (ε-prediction, no clipping).

    Returns
    -------
    diffusers.DDPMScheduler
    """
    from validation.digits_zoo.training import training_scheduler

    return training_scheduler(NUM_TRAIN_TIMESTEPS, BETA_SCHEDULE, clip_sample=False)


def train_denoiser(data: Any, config: DenoiserConfig, seed: int,
                   progress: Callable[[int], Any] | None = None) -> Any:
    """Train a :class:`VectorEpsilonNet` on standardised vectors ``data`` (n, d).

    Loss E‖ε − ε̂_θ(√ᾱ_t x₀ + √(1 − ᾱ_t) ε, t)‖², t uniform on {0, …, T − 1}; AdamW with the
    zoo's warm-up + cosine learning rate and gradient clipping; the returned weights are the
    exponential moving average of the iterates. Deterministic for a seed and thread count.

    Parameters
    ----------
    data : array_like or torch.Tensor
        ``(n, d)`` training vectors (standardised to unit mean variance per coordinate).
    config : DenoiserConfig
        Architecture and optimiser settings.
    seed : int
        Seed (≥ 0) of the initial weights, batch order, noise and timesteps.
    progress : callable, optional
        Called with the number of steps done after each step.

    Returns
    -------
    VectorEpsilonNet
        In eval mode, with the EMA weights.
    """
    import torch

    from validation.digits_zoo.training import fit_epsilon

    seed = check_int("seed", seed, min=0)
    x = torch.as_tensor(np.asarray(data, dtype=np.float32))
    if x.ndim != 2 or x.shape[0] < 2 or not torch.isfinite(x).all():
        raise ValueError(f"data must be finite (n, d) vectors with n ≥ 2, got shape {tuple(x.shape)}")
    torch.manual_seed(seed)
    net = VectorEpsilonNet(x.shape[1], config.width, config.depth)
    return fit_epsilon(net, x, config, training_schedule(), seed, lambda xt, t, idx: net(xt, t.float()),
                       progress=progress)


def epsilon_model(net: Any) -> Callable[[Any, float], Any]:
    """The network as ``model(y, tau) -> ε̂`` in the y = x + √τ n parametrisation.

    x_t = y/√(1 + τ) is fed at the fractional timestep t*(τ) of the training schedule
    (log τ linear between neighbouring integer timesteps), so τ is honoured exactly. Use with
    ``kind="epsilon"`` in :func:`statgeo.diffusion.diffusability.estimate_diffusability`.

    Parameters
    ----------
    net : VectorEpsilonNet
        A trained network.

    Returns
    -------
    callable
    """
    from types import SimpleNamespace

    import torch

    from statgeo.diffusion.diffusability import timestep_from_tau

    # a plain-array copy of the schedule: the first call may come inside a torch.func transform
    sched = SimpleNamespace(alphas_cumprod=training_schedule().alphas_cumprod.double().numpy())
    cache: dict[float, float] = {}

    def model(y, tau: float):
        if tau not in cache:
            cache[tau] = float(timestep_from_tau(sched, tau, mode="interpolate")[0])
        t = torch.full((y.shape[0],), cache[tau], dtype=torch.float32)
        return net(y.to(torch.float32) / math.sqrt(1.0 + tau), t).to(y.dtype)

    return model


def ddim_sample(net: Any, n: int, seed: int, num_inference_steps: int, batch_size: int = 500) -> np.ndarray:
    """``n`` DDIM (η = 0) samples of the model, from ``torch.randn`` with a CPU generator seeded ``seed``.

    Parameters
    ----------
    net : VectorEpsilonNet
        A trained network.
    n : int
        Samples (≥ 1).
    seed : int
        Seed (≥ 0) of the initial noise.
    num_inference_steps : int
        DDIM steps, in [1, 1000] (``timestep_spacing="leading"``, as the digits zoo).
    batch_size : int, default 500
        Samples per pass.

    Returns
    -------
    numpy.ndarray
        float64 ``(n, d)`` in the model's (standardised) space.
    """
    import torch
    from diffusers import DDIMScheduler

    n = check_int("n", n, min=1)
    seed = check_int("seed", seed, min=0)
    steps = check_int("num_inference_steps", num_inference_steps, min=1, max=NUM_TRAIN_TIMESTEPS)
    sched = DDIMScheduler.from_config(training_schedule().config, timestep_spacing="leading")
    sched.set_timesteps(steps)
    x = torch.randn((n, net.dim), generator=torch.Generator().manual_seed(seed))
    out = []
    with torch.no_grad():
        for b in range(0, n, batch_size):
            xb = x[b:b + batch_size]
            for t in sched.timesteps:
                eps = net(xb, torch.full((xb.shape[0],), float(t)))
                xb = sched.step(eps, t, xb, eta=0.0).prev_sample
            out.append(xb.double().numpy())
    return np.concatenate(out)
