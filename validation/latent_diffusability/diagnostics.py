"""Diffusability diagnostics of one encoder against the pixel space, from trained denoisers.

Every space (pixels, each encoder's latents, and the links of the penalty chain) is
standardised to zero mean and unit mean variance per coordinate before a diffusion model is
trained on it (one global scale, so the geometry is kept). With c² = tr Cov[z]/tr Cov[x] of
the standardised spaces (c² = d/D), the exact scaling laws of z = c x,

    I_z(τ) = c⁻² I_x(τ/c²),   R_z(τ) = c⁻⁴ R_x(τ/c²),   MMSE'_z(τ) = MMSE'_x(τ/c²),

give the scale-corrected latent curves at the pixel noise level τ,

    Ĩ_z(τ) = c² I_z(c²τ),   R̃_z(τ) = c⁴ R_z(c²τ),   M̃'_z(τ) = MMSE'_z(c²τ),

and the deviations |Ĩ_z − I_x|/I_x, |R̃_z − R_x|/|R_x| (the scale-corrected FIR deviation)
and |M̃'_z − M'_x|/M'_x. The three penalties split the FIR deviation along the chain
x → P_d x (PCA of the same dimension) → A x (the encoder's best affine fit) → E(x):

* compression  |R̃_P − R_x| / |R_x|   (what discarding D − d directions costs, flat and isometric)
* tangential   |R̃_A − R̃_P| / |R_x|   (what a linear map of the same dimension adds: another
  subspace and an anisotropic stretch)
* curvature    |R̃_E − R̃_A| / |R_x|   (what the non-linearity adds beyond its affine fit)

so that, by the triangle inequality, FIR deviation ≤ compression + tangential + curvature at
every τ. Scalars are means over the log-spaced τ grid (Gu, Mardani, Lee, Zou, Lerman, "Latent
diffusability via Fisher geometry", arXiv 2604.02751, for I, R, the MMSE rate and the penalties;
the chain decomposition is statgeo's way of measuring the penalties on a real encoder).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statgeo.checks import check_int
from validation.latent_diffusability.config import DiagnosticsConfig

__all__ = ["standardise", "pixel_taus", "model_profile", "scaled_curves", "deviation_curves", "curve_means",
           "PROFILE_KEYS"]

#: the estimates a profile holds (each with ``*_stderr``)
PROFILE_KEYS = ("I_score", "I_denoise", "I_gap", "R", "mmse_rate")


def standardise(z: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """Centre ``z`` and divide by one global scale: unit mean variance per coordinate.

    Parameters
    ----------
    z : array_like
        ``(n, d)`` samples, n ≥ 2, not all equal.

    Returns
    -------
    tuple
        ``(z_std, mean, scale)`` with z_std = (z − mean)/scale, scale = √(tr Cov[z]/d).

    Examples
    --------
    >>> zs, m, s = standardise(np.array([[0.0, 0.0], [2.0, 4.0]]))
    >>> round(float((zs ** 2).sum(1).mean()), 12), round(s, 6)
    (2.0, 1.581139)
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < 2 or not np.isfinite(z).all():
        raise ValueError(f"z must be finite (n, d) samples with n ≥ 2, got shape {z.shape}")
    mean = z.mean(axis=0)
    scale = float(np.sqrt(((z - mean) ** 2).sum(axis=1).mean() / z.shape[1]))
    if scale == 0:
        raise ValueError("z has zero variance; it cannot be standardised")
    return (z - mean) / scale, mean, scale


def pixel_taus(config: DiagnosticsConfig) -> np.ndarray:
    """The log-spaced pixel-space τ grid of ``config``.

    Parameters
    ----------
    config : DiagnosticsConfig
        ``tau_min``, ``tau_max``, ``n_tau``.

    Returns
    -------
    numpy.ndarray
    """
    return np.logspace(np.log10(config.tau_min), np.log10(config.tau_max), config.n_tau)


def model_profile(net: Any, data: Any, taus: Any, config: DiagnosticsConfig, seed: int) -> dict:
    """I (two ways and their gap), Hutchinson R and the MMSE rate of a trained denoiser at ``taus``.

    Calls :func:`statgeo.diffusion.diffusability.estimate_diffusability` with x drawn from the
    model's training data (common random numbers across τ).

    Parameters
    ----------
    net : VectorEpsilonNet
        The trained network.
    data : array_like
        ``(n, d)`` standardised training vectors of its space.
    taus : array_like
        Noise levels in the model's space.
    config : DiagnosticsConfig
        Monte Carlo samples and probes.
    seed : int
        Monte Carlo seed (≥ 0).

    Returns
    -------
    dict
        ``tau``, each of :data:`PROFILE_KEYS` and its ``*_stderr`` (lists over τ), ``dim``,
        ``n_samples``, ``n_evals``.
    """
    import torch

    from statgeo.diffusion.diffusability import estimate_diffusability
    from validation.latent_diffusability.denoiser import epsilon_model

    seed = check_int("seed", seed, min=0)
    x = torch.as_tensor(np.asarray(data, dtype=np.float32))
    est = estimate_diffusability(epsilon_model(net), x, np.asarray(taus, dtype=np.float64), kind="epsilon",
                                 n_samples=config.n_samples, batch_size=512, n_probes=config.n_probes, seed=seed,
                                 progress=False)
    out: dict[str, Any] = {"tau": [e.tau for e in est]}
    for k in PROFILE_KEYS:
        out[k] = [getattr(e, k).value for e in est]
        out[k + "_stderr"] = [getattr(e, k).stderr for e in est]
    out.update(dim=est[0].dim, n_samples=config.n_samples, n_evals=int(sum(e.n_evals for e in est)))
    return out


def scaled_curves(profile: dict, scale: float) -> dict[str, np.ndarray]:
    """Scale-corrected curves Ĩ = c² I, R̃ = c⁴ R, M̃' = MMSE' of a profile taken at c² τ.

    Parameters
    ----------
    profile : dict
        From :func:`model_profile`, evaluated at c² × the pixel τ grid.
    scale : float
        c > 0.

    Returns
    -------
    dict
        ``I``, ``R``, ``mmse_rate`` as arrays over the pixel τ grid.

    Examples
    --------
    >>> p = {"I_score": [2.0], "R": [-1.0], "mmse_rate": [0.5]}
    >>> {k: float(v[0]) for k, v in scaled_curves(p, 2.0).items()}
    {'I': 8.0, 'R': -16.0, 'mmse_rate': 0.5}
    """
    c2 = float(scale) ** 2
    return {"I": c2 * np.asarray(profile["I_score"], dtype=np.float64),
            "R": c2**2 * np.asarray(profile["R"], dtype=np.float64),
            "mmse_rate": np.asarray(profile["mmse_rate"], dtype=np.float64)}


def deviation_curves(pixel: dict, encoder: dict, pca: dict, linear: dict) -> dict[str, list[float]]:
    """The deviations and the three penalties over the pixel τ grid (module docstring).

    Parameters
    ----------
    pixel, encoder, pca, linear : dict
        :func:`scaled_curves` of the pixel space, the encoder's latents, the PCA of the same
        dimension and the encoder's affine fit (for a PCA encoder all three are the same).

    Returns
    -------
    dict
        ``fi``, ``fir``, ``mmse_rate``, ``compression``, ``tangential``, ``curvature``:
        lists over τ.

    Examples
    --------
    >>> px = {"I": np.array([4.0]), "R": np.array([-2.0]), "mmse_rate": np.array([1.0])}
    >>> lat = {"I": np.array([3.0]), "R": np.array([-1.0]), "mmse_rate": np.array([0.5])}
    >>> dev = deviation_curves(px, lat, lat, lat)
    >>> dev["fir"], dev["compression"], dev["tangential"]
    ([0.5], [0.5], [0.0])
    """
    rx = np.abs(pixel["R"])
    return {
        "fi": (np.abs(encoder["I"] - pixel["I"]) / pixel["I"]).tolist(),
        "fir": (np.abs(encoder["R"] - pixel["R"]) / rx).tolist(),
        "mmse_rate": (np.abs(encoder["mmse_rate"] - pixel["mmse_rate"]) / np.abs(pixel["mmse_rate"])).tolist(),
        "compression": (np.abs(pca["R"] - pixel["R"]) / rx).tolist(),
        "tangential": (np.abs(linear["R"] - pca["R"]) / rx).tolist(),
        "curvature": (np.abs(encoder["R"] - linear["R"]) / rx).tolist(),
    }


def curve_means(curves: dict[str, list[float]]) -> dict[str, float]:
    """Means over the (log-spaced) τ grid of :func:`deviation_curves`, named as the diagnostics.

    Parameters
    ----------
    curves : dict
        From :func:`deviation_curves`.

    Returns
    -------
    dict
        ``fi_deviation``, ``fir_deviation``, ``mmse_rate_deviation``, ``compression``,
        ``tangential``, ``curvature``.
    """
    names = {"fi": "fi_deviation", "fir": "fir_deviation", "mmse_rate": "mmse_rate_deviation"}
    return {names.get(k, k): float(np.mean(v)) for k, v in curves.items()}
