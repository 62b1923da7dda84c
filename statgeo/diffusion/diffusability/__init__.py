"""Diffusability diagnostics: Fisher information I(τ), Fisher information rate R(τ) = dI/dτ ≤ 0,
MMSE and MMSE rate of the noised law along the diffusion path, and encoder penalties.

Gu, Mardani, Lee, Zou, Lerman, "Latent diffusability via Fisher geometry", arXiv 2604.02751.
Conventions: y = x + √τ n; VP x_t = √ᾱ x + √(1 − ᾱ) n ↔ y = x_t/√ᾱ, τ = (1 − ᾱ)/ᾱ.
See docs/diffusability.md (conventions, estimators, encoder analysis, input rules). The small
ε-prediction networks used by the toy checks are in
:mod:`statgeo.diffusion.diffusability.toy_denoisers` (they need PyTorch).
"""

from statgeo.diffusion.diffusability.encoder import (
    activation_fisher,
    analyse_encoder,
    analyse_linear_gaussian,
    compression_penalty,
    compression_penalty_limit,
    curvature_encoder,
    curvature_injection_penalty,
    encoder_scale,
    fir_deviation,
    linear_bilipschitz_bounds,
    scale_corrected_fir_deviation,
    tangential_distortion_penalty,
    tangential_encoder,
)
from statgeo.diffusion.diffusability.estimators import (
    MAX_MC_SAMPLES,
    MAX_PROBES,
    DiffusabilityEstimate,
    Estimate,
    ScoreFunction,
    diffusability_profile,
    estimate_diffusability,
    fisher_information,
    fisher_information_rate,
    fisher_information_rate_fd,
    mmse_from_fisher,
    mmse_rate_from_fisher,
    score_function,
)
from statgeo.diffusion.diffusability.gaussian import (
    alpha_bar_from_tau,
    covariance_spectrum,
    gaussian_diagnostics,
    gaussian_fisher_information,
    gaussian_fisher_information_rate,
    gaussian_mmse,
    gaussian_mmse_rate,
    scheduler_taus,
    tau_from_alpha_bar,
    tau_from_timestep,
    timestep_from_tau,
)
from statgeo.diffusion.diffusability.quadrature import (
    MAX_QUADRATURE_POINTS,
    GaussianMixture,
    pushforward_fisher_1d,
    pushforward_fisher_curve,
)

__all__ = [
    "activation_fisher",
    "analyse_encoder",
    "analyse_linear_gaussian",
    "compression_penalty",
    "compression_penalty_limit",
    "curvature_encoder",
    "curvature_injection_penalty",
    "encoder_scale",
    "fir_deviation",
    "linear_bilipschitz_bounds",
    "scale_corrected_fir_deviation",
    "tangential_distortion_penalty",
    "tangential_encoder",
    "DiffusabilityEstimate",
    "Estimate",
    "ScoreFunction",
    "diffusability_profile",
    "estimate_diffusability",
    "fisher_information",
    "fisher_information_rate",
    "fisher_information_rate_fd",
    "mmse_from_fisher",
    "mmse_rate_from_fisher",
    "score_function",
    "alpha_bar_from_tau",
    "covariance_spectrum",
    "gaussian_diagnostics",
    "gaussian_fisher_information",
    "gaussian_fisher_information_rate",
    "gaussian_mmse",
    "gaussian_mmse_rate",
    "scheduler_taus",
    "tau_from_alpha_bar",
    "tau_from_timestep",
    "timestep_from_tau",
    "GaussianMixture",
    "pushforward_fisher_1d",
    "pushforward_fisher_curve",
    "MAX_MC_SAMPLES",
    "MAX_PROBES",
    "MAX_QUADRATURE_POINTS",
]
