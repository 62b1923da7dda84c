"""Training hyper-parameters of the digits model zoo, one frozen dataclass per preset.

Every number that changes the trained weights lives here, so the hash of a model's
configuration (:func:`model_hash`) decides whether a cached model can be reused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from statgeo.checks import check_choice, check_int

__all__ = [
    "ClassifierConfig",
    "AutoencoderConfig",
    "DiffusionConfig",
    "ZooConfig",
    "PRESETS",
    "MODEL_NAMES",
    "zoo_config",
    "model_hash",
    "FORMAT_VERSION",
]

#: bumped when the training code changes in a way that changes the weights for a given config
FORMAT_VERSION = 1

#: the models of the zoo, in training order (the latent model needs the autoencoder)
MODEL_NAMES = ("classifier", "pixel", "conditional", "autoencoder", "latent")


@dataclass(frozen=True)
class ClassifierConfig:
    """The digit classifier: a small CNN, conv widths ``channels`` and a ``features``-wide penultimate layer.

    Parameters
    ----------
    channels : tuple of int
        Widths of the three 3 × 3 convolution stages (16 → 8 → 4 pixels).
    features : int
        Width of the penultimate (embedding) layer.
    steps : int
        Optimiser steps (Adam, cosine learning-rate decay).
    batch_size : int
        Images per step.
    lr : float
        Peak learning rate.
    max_shift : int
        Random whole-pixel shift augmentation, in pixels per axis.
    """

    channels: tuple[int, int, int] = (32, 64, 64)
    features: int = 128
    steps: int = 1000
    batch_size: int = 64
    lr: float = 2e-3
    max_shift: int = 2


@dataclass(frozen=True)
class AutoencoderConfig:
    """The autoencoder (diffusers ``AutoencoderKL``) of the latent model.

    Parameters
    ----------
    block_out_channels : tuple of int
        Encoder/decoder widths; each block after the first halves the resolution.
    latent_channels : int
        Channels of the latent image.
    layers_per_block : int
        ResNet layers per block.
    steps, batch_size : int
        Optimiser steps and images per step.
    lr : float
        Peak learning rate (AdamW, cosine decay).
    kl_weight : float
        Weight of KL(q(z|x) ‖ N(0, I)) against the mean squared reconstruction error.
    """

    block_out_channels: tuple[int, ...] = (16, 32, 32)
    latent_channels: int = 4
    layers_per_block: int = 1
    steps: int = 800
    batch_size: int = 64
    lr: float = 2e-3
    kl_weight: float = 1e-3


@dataclass(frozen=True)
class DiffusionConfig:
    """A diffusers ``UNet2DModel`` trained with ε-prediction on the DDPM forward process.

    Parameters
    ----------
    block_out_channels : tuple of int
        UNet widths; each block after the first halves the resolution.
    attention : tuple of bool
        Self-attention in each down/up block (same length as ``block_out_channels``).
    layers_per_block : int
        ResNet layers per block.
    steps, batch_size : int
        Optimiser steps and images per step.
    lr : float
        Peak learning rate (AdamW, linear warm-up then cosine decay).
    ema_decay : float
        Decay of the exponential moving average of the weights that is saved.
    max_shift : int
        Random whole-pixel shift augmentation (pixel models only).
    """

    block_out_channels: tuple[int, ...] = (16, 32, 64)
    attention: tuple[bool, ...] = (False, False, False)
    layers_per_block: int = 1
    steps: int = 2500
    batch_size: int = 64
    lr: float = 2e-3
    ema_decay: float = 0.995
    max_shift: int = 0


@dataclass(frozen=True)
class ZooConfig:
    """All hyper-parameters of one zoo preset.

    Parameters
    ----------
    preset : str
        ``"full"`` (the models that pass the quality gates) or ``"tiny"`` (seconds, plumbing
        only).
    resolution : int
        Side of the pixel images.
    num_train_timesteps : int
        Length of the DDPM training schedule.
    beta_schedule : str
        diffusers beta schedule of the training scheduler.
    timestep_spacing : str
        ``timestep_spacing`` of the saved DDIM scheduler. ``"leading"`` (50 steps: t = 980, 960,
        …, 0): ``"trailing"`` starts at t = 999, where the cosine schedule's ᾱ is about 0 and
        the ε-model's x̂₀ = (x − √(1 − ᾱ) ε̂) / √ᾱ amplifies any error of ε̂ (measured: the
        latent model, which cannot clip x̂₀, fell from 92 % to 67 % confident samples).
    classifier : ClassifierConfig
        The digit classifier.
    pixel : DiffusionConfig
        The unconditional pixel-space DDPM.
    conditional : DiffusionConfig
        The class-conditional pixel-space DDPM.
    autoencoder : AutoencoderConfig
        The latent model's autoencoder.
    latent : DiffusionConfig
        The DDPM on the autoencoder's scaled latents.
    """

    preset: str = "full"
    resolution: int = 16
    num_train_timesteps: int = 1000
    beta_schedule: str = "squaredcos_cap_v2"
    timestep_spacing: str = "leading"
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    pixel: DiffusionConfig = field(default_factory=lambda: DiffusionConfig(steps=3000))
    conditional: DiffusionConfig = field(default_factory=lambda: DiffusionConfig(steps=2500))
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    latent: DiffusionConfig = field(default_factory=lambda: DiffusionConfig(
        block_out_channels=(64, 128), attention=(False, False), steps=3000))

    def to_dict(self) -> dict:
        """The configuration as a JSON-serialisable dict (tuples become lists).

        Returns
        -------
        dict
        """
        return json.loads(json.dumps(asdict(self)))


_TINY_UNET = DiffusionConfig(block_out_channels=(8, 16), attention=(False, False), steps=4, batch_size=16,
                             lr=1e-3, ema_decay=0.5, max_shift=1)

#: the presets :func:`zoo_config` knows
PRESETS = {
    "full": ZooConfig(),
    "tiny": ZooConfig(
        preset="tiny",
        num_train_timesteps=100,
        classifier=ClassifierConfig(channels=(8, 16, 16), features=32, steps=120, batch_size=32, lr=3e-3, max_shift=0),
        pixel=_TINY_UNET,
        conditional=_TINY_UNET,
        autoencoder=AutoencoderConfig(block_out_channels=(8, 16, 16), latent_channels=4, steps=4, batch_size=16,
                                      lr=1e-3),
        latent=DiffusionConfig(block_out_channels=(8, 16), attention=(False, False), steps=4, batch_size=16, lr=1e-3,
                               ema_decay=0.5, max_shift=0),
    ),
}


def zoo_config(preset: str = "full") -> ZooConfig:
    """The configuration of a preset.

    Parameters
    ----------
    preset : {"full", "tiny"}, default "full"
        The preset's name.

    Returns
    -------
    ZooConfig

    Raises
    ------
    ValueError
        An unknown preset.
    """
    return PRESETS[check_choice("preset", preset, tuple(PRESETS))]


def model_hash(config: ZooConfig, name: str, seed: int) -> str:
    """The cache key of one model: a hash of everything its weights depend on.

    That is the model's own section of ``config``, the shared settings it uses (resolution;
    for the diffusion models also the noise schedule), the seed, :data:`FORMAT_VERSION`, and for the latent model the autoencoder's hash.

    Parameters
    ----------
    config : ZooConfig
        The zoo's configuration.
    name : str
        One of :data:`MODEL_NAMES`.
    seed : int
        The zoo's seed (≥ 0).

    Returns
    -------
    str
        16 hexadecimal digits.

    Raises
    ------
    TypeError
        ``config`` is not a :class:`ZooConfig` or ``seed`` not an integer.
    ValueError
        An unknown model name or a negative seed.
    """
    if not isinstance(config, ZooConfig):
        raise TypeError(f"config must be a ZooConfig, got {type(config).__name__}")
    name = check_choice("name", name, MODEL_NAMES)
    seed = check_int("seed", seed, min=0)
    d = config.to_dict()
    shared = ("resolution",) if name in ("classifier", "autoencoder") else (
        "resolution", "num_train_timesteps", "beta_schedule", "timestep_spacing")
    record = {"format": FORMAT_VERSION, "model": name, "seed": seed, "section": d[name],
              "shared": {k: d[k] for k in shared}}
    if name == "latent":
        record["autoencoder"] = model_hash(config, "autoencoder", seed)
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]
