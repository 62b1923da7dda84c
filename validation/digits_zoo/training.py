"""Training loops of the zoo's diffusers models: ε-prediction UNets and the KL autoencoder.

The diffusion loss is the DDPM objective of Ho et al. (2020, eq. 14),
L = E_{x₀, ε, t} ‖ε − ε_θ(√ᾱ_t x₀ + √(1 − ᾱ_t) ε, t)‖², with x_t formed by
``diffusers.DDPMScheduler.add_noise``; the weights saved are an exponential moving average
of the iterates. The autoencoder minimises the summed squared reconstruction error plus
``kl_weight`` × KL(q(z|x) ‖ N(0, I)) (Rombach et al. 2022, in miniature).

Every loop is deterministic for a given seed and thread count: initial weights from
``torch.manual_seed(seed)``, batches, shifts, noise and timesteps from generators seeded with
``seed``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from statgeo.checks import check_int
from validation.digits_zoo.config import AutoencoderConfig, DiffusionConfig
from validation.digits_zoo.data import shift_images

__all__ = ["make_unet", "make_autoencoder", "train_diffusion", "train_autoencoder", "encode_latents",
           "training_scheduler", "fit_epsilon", "lr_at", "optimiser_step", "batch_order"]


def _groups(widths: tuple[int, ...]) -> int:
    g = math.gcd(*widths)
    return max(d for d in (32, 16, 8, 4, 2, 1) if g % d == 0)


def make_unet(config: DiffusionConfig, sample_size: int, channels: int, num_class_embeds: int | None = None) -> Any:
    """A randomly initialised diffusers ``UNet2DModel`` for ``config``.

    Parameters
    ----------
    config : DiffusionConfig
        Widths, attention blocks and layers per block.
    sample_size : int
        Side of the (pixel or latent) images.
    channels : int
        Input and output channels.
    num_class_embeds : int, optional
        Number of classes of a class-conditional model (``class_labels=`` at call time).

    Returns
    -------
    diffusers.UNet2DModel
    """
    from diffusers import UNet2DModel

    widths = tuple(config.block_out_channels)
    if len(config.attention) != len(widths):
        raise ValueError(f"attention must have one entry per block ({len(widths)}), got {config.attention}")
    down = tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in config.attention)
    up = tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(config.attention))
    return UNet2DModel(sample_size=sample_size, in_channels=channels, out_channels=channels,
                       block_out_channels=widths, down_block_types=down, up_block_types=up,
                       layers_per_block=config.layers_per_block, norm_num_groups=_groups(widths),
                       attention_head_dim=min(8, min(widths)), num_class_embeds=num_class_embeds)


def make_autoencoder(config: AutoencoderConfig, sample_size: int) -> Any:
    """A randomly initialised diffusers ``AutoencoderKL`` for 1-channel images.

    Parameters
    ----------
    config : AutoencoderConfig
        Widths, latent channels and layers per block.
    sample_size : int
        Side of the pixel images.

    Returns
    -------
    diffusers.AutoencoderKL
    """
    from diffusers import AutoencoderKL

    k = len(config.block_out_channels)
    return AutoencoderKL(in_channels=1, out_channels=1, down_block_types=("DownEncoderBlock2D",) * k,
                         up_block_types=("UpDecoderBlock2D",) * k, block_out_channels=tuple(config.block_out_channels),
                         latent_channels=config.latent_channels, layers_per_block=config.layers_per_block,
                         norm_num_groups=_groups(tuple(config.block_out_channels)), sample_size=sample_size)


def training_scheduler(num_train_timesteps: int, beta_schedule: str, clip_sample: bool) -> Any:
    """The DDPM noise scheduler the UNets are trained with (ε-prediction).

    Parameters
    ----------
    num_train_timesteps : int
        Length of the schedule.
    beta_schedule : str
        A diffusers beta schedule (e.g. ``"squaredcos_cap_v2"``, Nichol & Dhariwal 2021).
    clip_sample : bool
        Clip predicted x₀ to [-1, 1] when sampling (pixel models; not latent ones).

    Returns
    -------
    diffusers.DDPMScheduler
    """
    from diffusers import DDPMScheduler

    return DDPMScheduler(num_train_timesteps=num_train_timesteps, beta_schedule=beta_schedule,
                         prediction_type="epsilon", clip_sample=clip_sample)


def lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Learning rate at ``step``: linear warm-up over ``warmup`` steps, then cosine decay to 0.

    Parameters
    ----------
    step : int
        The step (0-based).
    steps : int
        Total steps.
    lr : float
        Peak learning rate.
    warmup : int
        Warm-up steps (≥ 1).

    Returns
    -------
    float
    """
    if step < warmup:
        return lr * (step + 1) / warmup
    return 0.5 * lr * (1.0 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


def optimiser_step(opt: Any, loss: Any, lr: float, clip_params: Any = None) -> None:
    """One optimiser step at learning rate ``lr`` (gradient norm clipped to 1 when ``clip_params``).

    Parameters
    ----------
    opt : torch.optim.Optimizer
        The optimiser.
    loss : torch.Tensor
        The scalar loss to back-propagate.
    lr : float
        Learning rate of this step.
    clip_params : iterable of torch.nn.Parameter, optional
        Parameters whose joint gradient norm is clipped to 1.
    """
    import torch

    for g in opt.param_groups:
        g["lr"] = lr
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip_params is not None:
        torch.nn.utils.clip_grad_norm_(clip_params, 1.0)
    opt.step()


def batch_order(n: int, batch_size: int, rng: np.random.Generator):
    """Endless mini-batches of indices: concatenated random permutations of ``range(n)``, cut in order.

    Parameters
    ----------
    n : int
        Number of training items.
    batch_size : int
        Indices per batch.
    rng : numpy.random.Generator
        The source of the permutations.

    Yields
    ------
    numpy.ndarray
        int64 ``(batch_size,)`` indices.
    """
    order = np.empty(0, dtype=np.int64)
    while True:
        while order.size < batch_size:
            order = np.concatenate([order, rng.permutation(n)])
        yield order[:batch_size]
        order = order[batch_size:]


def train_diffusion(data: Any, config: DiffusionConfig, scheduler: Any, seed: int, *, labels: Any = None,
                    num_classes: int | None = None, fill: float = -1.0,
                    progress: Callable[[int], Any] | None = None) -> Any:
    """Train an ε-prediction ``UNet2DModel`` on ``data`` and return it with the EMA weights.

    Parameters
    ----------
    data : torch.Tensor
        Training images or latents ``(n, C, H, W)``, in the model's space (pixels in [-1, 1],
        latents scaled to unit variance).
    config : DiffusionConfig
        Architecture and optimiser settings.
    scheduler : diffusers.DDPMScheduler
        The forward process (``add_noise``, ``num_train_timesteps``).
    seed : int
        Seed (≥ 0).
    labels : torch.Tensor, optional
        int64 ``(n,)`` class labels: trains a class-conditional model (``class_labels=``).
    num_classes : int, optional
        Number of classes (required with ``labels``).
    fill : float, default -1.0
        Background value for the shift augmentation.
    progress : callable, optional
        Called with the number of steps done after each step.

    Returns
    -------
    diffusers.UNet2DModel
        With the EMA weights, in eval mode.
    """
    import torch

    seed = check_int("seed", seed, min=0)
    if (labels is None) != (num_classes is None):
        raise ValueError("labels and num_classes must be given together")
    torch.manual_seed(seed)
    unet = make_unet(config, data.shape[-1], data.shape[1], num_classes)
    gen = torch.Generator().manual_seed(seed)

    def predict(xt, t, idx):
        return unet(xt, t, class_labels=None if labels is None else labels[idx]).sample

    return fit_epsilon(unet, data, config, scheduler, seed, predict,
                       augment=lambda x0: shift_images(x0, config.max_shift, gen, fill=fill), generator=gen,
                       progress=progress)


def fit_epsilon(model: Any, data: Any, config: Any, scheduler: Any, seed: int,
                predict: Callable[[Any, Any, Any], Any], *, augment: Callable[[Any], Any] | None = None,
                generator: Any = None, progress: Callable[[int], Any] | None = None) -> Any:
    """The DDPM training loop shared by every ε-prediction model of the digits studies.

    Per step: a batch of ``data`` (:func:`batch_order`), optionally augmented, noised with
    ``scheduler.add_noise`` at uniform integer timesteps, loss ‖ε − ε̂‖² (Ho et al. 2020, eq. 14),
    one AdamW step (:func:`optimiser_step`, :func:`lr_at` with 5 % warm-up), then the
    exponential moving average of the weights with decay min(``ema_decay``, (1 + step)/(10 +
    step)). The EMA weights are copied into ``model`` at the end.

    Parameters
    ----------
    model : torch.nn.Module
        The freshly initialised network (its initial weights set by the caller's seed).
    data : torch.Tensor
        ``(n, ...)`` training items.
    config : DiffusionConfig or compatible
        ``steps``, ``batch_size``, ``lr``, ``ema_decay``.
    scheduler : diffusers.DDPMScheduler
        The forward process.
    seed : int
        Seed (≥ 0) of the batch order and, unless ``generator`` is given, of noise and timesteps.
    predict : callable
        ``predict(x_t, t, idx) -> ε̂`` with ``idx`` the batch's indices into ``data``.
    augment : callable, optional
        ``augment(x0) -> x0`` applied to each batch before the noise is drawn.
    generator : torch.Generator, optional
        The generator of the noise and timesteps (shared with ``augment`` when it draws).
    progress : callable, optional
        Called with the number of steps done after each step.

    Returns
    -------
    torch.nn.Module
        ``model`` with the EMA weights, in eval mode.
    """
    import torch
    import torch.nn.functional as F

    ema = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed) if generator is None else generator
    batches = batch_order(data.shape[0], config.batch_size, rng)
    warmup = max(1, config.steps // 20)
    T = scheduler.config.num_train_timesteps
    model.train()
    for step in range(config.steps):
        idx = torch.from_numpy(next(batches))
        x0 = data[idx] if augment is None else augment(data[idx])
        noise = torch.randn(x0.shape, generator=gen)
        t = torch.randint(0, T, (x0.shape[0],), generator=gen)
        loss = F.mse_loss(predict(scheduler.add_noise(x0, noise, t), t, idx), noise)
        optimiser_step(opt, loss, lr_at(step, config.steps, config.lr, warmup), model.parameters())
        decay = min(config.ema_decay, (1.0 + step) / (10.0 + step))
        with torch.no_grad():
            for e, p in zip(ema, model.parameters()):
                e.lerp_(p.detach(), 1.0 - decay)
        if progress is not None:
            progress(step + 1)
    with torch.no_grad():
        for e, p in zip(ema, model.parameters()):
            p.copy_(e)
    return model.eval()


def train_autoencoder(images: Any, config: AutoencoderConfig, seed: int,
                      progress: Callable[[int], Any] | None = None, *, sample_posterior: bool = True) -> Any:
    """Train an ``AutoencoderKL`` on images in [-1, 1].

    Loss per image: Σ_pixels (x̂ − x)² + ``kl_weight`` · KL(q(z|x) ‖ N(0, I)), with x̂ decoded
    from a sample of q(z|x) (reparametrised, noise from a generator seeded with ``seed``).
    With ``sample_posterior=False`` the network is a deterministic autoencoder: x̂ is decoded
    from the posterior mean and the loss is the squared error alone.

    Parameters
    ----------
    images : torch.Tensor
        ``(n, 1, H, W)`` in [-1, 1].
    config : AutoencoderConfig
        Architecture and optimiser settings.
    seed : int
        Seed (≥ 0).
    progress : callable, optional
        Called with the number of steps done after each step.
    sample_posterior : bool, default True
        Train as a VAE (True) or as a deterministic autoencoder (False).

    Returns
    -------
    diffusers.AutoencoderKL
        In eval mode (``scaling_factor`` still the default; see :func:`encode_latents`).
    """
    import torch

    seed = check_int("seed", seed, min=0)
    torch.manual_seed(seed)
    vae = make_autoencoder(config, images.shape[-1])
    opt = torch.optim.AdamW(vae.parameters(), lr=config.lr, weight_decay=0.0)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    batches = batch_order(images.shape[0], config.batch_size, rng)
    warmup = max(1, config.steps // 20)
    vae.train()
    for step in range(config.steps):
        x = images[torch.from_numpy(next(batches))]
        post = vae.encode(x).latent_dist
        if sample_posterior:
            z = post.mean + post.std * torch.randn(post.mean.shape, generator=gen)
        else:
            z = post.mean
        rec = vae.decode(z).sample
        loss = (rec - x).pow(2).sum(dim=(1, 2, 3)).mean()
        if sample_posterior:
            loss = loss + config.kl_weight * post.kl().mean()
        optimiser_step(opt, loss, lr_at(step, config.steps, config.lr, warmup), vae.parameters())
        if progress is not None:
            progress(step + 1)
    return vae.eval()


def encode_latents(vae: Any, images: Any, batch_size: int = 256) -> Any:
    """Posterior means of ``images`` under ``vae`` (unscaled latents).

    Parameters
    ----------
    vae : diffusers.AutoencoderKL
        The autoencoder.
    images : torch.Tensor
        ``(n, 1, H, W)`` in [-1, 1].
    batch_size : int, default 256
        Images per forward pass.

    Returns
    -------
    torch.Tensor
        ``(n, latent_channels, h, w)``.
    """
    import torch

    with torch.no_grad():
        return torch.cat([vae.encode(images[b:b + batch_size]).latent_dist.mean
                          for b in range(0, images.shape[0], batch_size)])
