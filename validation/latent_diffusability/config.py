"""Settings of ``python -m validation.latent_diffusability``: the encoder family and the budgets.

One frozen dataclass per concern; a preset bundles them. Every number that changes a trained
model or an estimate lives here, and the cache keys hash these records, so a
rerun with the same settings reuses what is finished and a changed setting recomputes only
what depends on it (:mod:`validation.latent_diffusability.run`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from statgeo.checks import check_choice

__all__ = ["EncoderSpec", "DenoiserConfig", "DiagnosticsConfig", "QualityConfig", "Preset", "PRESETS",
           "ENCODER_KINDS", "preset_config", "record_hash"]

#: the kinds of encoder the family spans
ENCODER_KINDS = ("pca", "curved", "autoencoder", "vae")


@dataclass(frozen=True)
class EncoderSpec:
    """One encoder of the family.

    Parameters
    ----------
    name : str
        Its name in tables and files (e.g. ``"pca16"``).
    kind : {"pca", "curved", "autoencoder", "vae"}
        ``"pca"``: projection on the top ``latent_dim`` principal components (a flat isometry
        of the retained subspace); ``"curved"``: ``tanh(gain · u / s)`` applied to each PCA
        coordinate u, s the root-mean-square PCA coordinate (bends the flat PCA sheet);
        ``"autoencoder"``: a deterministic convolutional autoencoder (diffusers
        ``AutoencoderKL`` trained on the posterior mean, no KL term); ``"vae"``: the same
        network trained as a VAE with ``kl_weight``.
    latent_dim : int
        d, the latent dimension (the autoencoders have 4 × 4 × ``latent_dim / 16`` latents).
    gain : float
        The curved encoder's gain (unused otherwise).
    kl_weight : float
        The VAE's weight of KL(q(z|x) ‖ N(0, I)) against the summed squared error.
    steps : int
        Optimiser steps of the autoencoders.
    """

    name: str
    kind: str
    latent_dim: int
    gain: float = 0.0
    kl_weight: float = 0.0
    steps: int = 0


@dataclass(frozen=True)
class DenoiserConfig:
    """The diffusion model trained in every space: a residual MLP ε-prediction network.

    Same architecture family and budget for every encoder (only the input width d changes).

    Parameters
    ----------
    width : int
        Hidden width.
    depth : int
        Residual blocks.
    steps : int
        Optimiser steps (AdamW, linear warm-up then cosine decay).
    batch_size : int
        Latent vectors per step.
    lr : float
        Peak learning rate.
    ema_decay : float
        Decay of the exponential moving average of the weights that is used.
    """

    width: int = 256
    depth: int = 3
    steps: int = 4000
    batch_size: int = 128
    lr: float = 1e-3
    ema_decay: float = 0.999


@dataclass(frozen=True)
class DiagnosticsConfig:
    """The Monte Carlo estimates of I, R and the MMSE rate.

    Parameters
    ----------
    tau_min, tau_max : float
        The pixel-space noise levels τ (data standardised to unit mean variance per pixel),
        log-spaced; a latent space is evaluated at c² τ, c its scale against the pixels.
    n_tau : int
        Points of the τ grid.
    n_samples : int
        Monte Carlo samples per τ.
    n_probes : int
        Hutchinson probes per sample for R.
    """

    tau_min: float = 1e-2
    tau_max: float = 10.0
    n_tau: int = 9
    n_samples: int = 2048
    n_probes: int = 1


@dataclass(frozen=True)
class QualityConfig:
    """Sample quality of each latent diffusion model.

    Parameters
    ----------
    n_samples : int
        Samples per model (DDIM, η = 0, from a seeded CPU generator).
    num_inference_steps : int
        DDIM steps.
    """

    n_samples: int = 1000
    num_inference_steps: int = 50


_FAMILY = (
    EncoderSpec("pca8", "pca", 8),
    EncoderSpec("pca16", "pca", 16),
    EncoderSpec("pca32", "pca", 32),
    EncoderSpec("pca64", "pca", 64),
    EncoderSpec("tanh_pca16", "curved", 16, gain=2.0),
    EncoderSpec("ae16", "autoencoder", 16, steps=800),
    EncoderSpec("vae16_beta0.01", "vae", 16, kl_weight=0.01, steps=800),
    EncoderSpec("vae16_beta1", "vae", 16, kl_weight=1.0, steps=800),
)


@dataclass(frozen=True)
class Preset:
    """All settings of one run.

    Parameters
    ----------
    name : str
        ``"full"``, ``"quick"`` or ``"tiny"`` (the CI scale: two encoders, tiny budgets).
    encoders : tuple of EncoderSpec
        The encoder family (the pixel-space reference is always added).
    seeds : tuple of int
        Seeds of the diffusion models' training, Monte Carlo and sampling.
    denoiser : DenoiserConfig
        The diffusion model in every space.
    diagnostics : DiagnosticsConfig
        The estimates of I, R and the MMSE rate.
    quality : QualityConfig
        The sample-quality measurement.
    n_boot : int
        Bootstrap resamples of the rank correlations.
    zoo_preset : str
        The digits-zoo preset whose classifier measures quality.
    """

    name: str
    encoders: tuple[EncoderSpec, ...] = _FAMILY
    seeds: tuple[int, ...] = (0, 1, 2, 3)
    denoiser: DenoiserConfig = field(default_factory=DenoiserConfig)
    diagnostics: DiagnosticsConfig = field(default_factory=DiagnosticsConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    n_boot: int = 2000
    zoo_preset: str = "full"

    def to_dict(self) -> dict:
        """The settings as a JSON-serialisable dict.

        Returns
        -------
        dict
        """
        return json.loads(json.dumps(asdict(self)))


#: the presets :func:`preset_config` knows
PRESETS = {
    "full": Preset("full"),
    "quick": Preset("quick", seeds=(0, 1, 2), denoiser=DenoiserConfig(steps=2000),
                    diagnostics=DiagnosticsConfig(n_tau=7, n_samples=1024),
                    quality=QualityConfig(n_samples=600, num_inference_steps=30),
                    encoders=tuple(EncoderSpec(e.name, e.kind, e.latent_dim, e.gain, e.kl_weight,
                                               e.steps // 2) for e in _FAMILY)),
    "tiny": Preset("tiny", encoders=(EncoderSpec("pca8", "pca", 8), EncoderSpec("tanh_pca8", "curved", 8, gain=2.0)),
                   seeds=(0,), denoiser=DenoiserConfig(width=32, depth=1, steps=30, batch_size=32),
                   diagnostics=DiagnosticsConfig(n_tau=3, n_samples=64),
                   quality=QualityConfig(n_samples=40, num_inference_steps=4), n_boot=50, zoo_preset="tiny"),
}


def preset_config(name: str) -> Preset:
    """The settings of a preset.

    Parameters
    ----------
    name : {"full", "quick", "tiny"}
        The preset.

    Returns
    -------
    Preset

    Raises
    ------
    ValueError
        An unknown preset.
    """
    return PRESETS[check_choice("preset", name, tuple(PRESETS))]


def record_hash(*records: object) -> str:
    """A short hash of JSON-serialisable records (dataclasses are converted with ``asdict``).

    Parameters
    ----------
    *records : object
        Dataclass instances, dicts, lists, strings or numbers.

    Returns
    -------
    str
        16 hexadecimal digits.
    """
    def plain(r):
        return asdict(r) if hasattr(r, "__dataclass_fields__") else r

    blob = json.dumps([plain(r) for r in records], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
