"""Closed forms for Gaussian data and the VP ↔ τ conversion.

Conventions (``docs/diffusability.md``): y = x + √τ n, n ~ N(0, I_D); for x ~ N(μ, Σ) with
eigenvalues λ_i ≥ 0 of Σ the noised law is N(μ, Σ + τ I), so (Gu, Mardani, Lee, Zou, Lerman,
arXiv 2604.02751; Cover & Thomas, *Elements of Information Theory*, §17.7)

* I(τ)   = E‖s‖²       = Σ_i 1/(λ_i + τ)
* R(τ)   = dI/dτ       = −Σ_i 1/(λ_i + τ)²          (R ≤ 0: the sign statgeo exposes)
* MMSE(τ)              = Σ_i τ λ_i/(λ_i + τ)          (= τD − τ² I)
* MMSE'(τ)             = Σ_i λ_i²/(λ_i + τ)²          (= D − 2τ I − τ² R)

A zero-variance direction (λ_i = 0, singular Σ or data embedded in a larger space) adds 1/τ to
I, −1/τ² to R and nothing to MMSE — the formulas above give this with λ_i = 0 directly.

All closed forms are array-API functions: they compute in the namespace of their inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace

from statgeo.checks import check_choice, check_real

__all__ = [
    "covariance_spectrum",
    "gaussian_fisher_information",
    "gaussian_fisher_information_rate",
    "gaussian_mmse",
    "gaussian_mmse_rate",
    "gaussian_diagnostics",
    "tau_from_alpha_bar",
    "alpha_bar_from_tau",
    "tau_from_timestep",
    "timestep_from_tau",
    "scheduler_taus",
]


def _to_numpy(a: Any) -> np.ndarray:
    """A NumPy view/copy for validation only (array-api-strict refuses ``__array__``)."""
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    try:
        return np.asarray(a)
    except Exception:
        return np.from_dlpack(a)


def _check_tau(tau: Any) -> None:
    # validation on a NumPy copy (cheap), before any work; the computation keeps tau's namespace
    check_real("tau", _to_numpy(tau), low=0.0, low_inclusive=False)


def _prepare(tau: Any, variances: Any):
    _check_tau(tau)
    lam_np = _to_numpy(variances)
    if lam_np.ndim != 1 or lam_np.size == 0:
        raise ValueError(f"variances must be a non-empty 1-D array of eigenvalues λ_i ≥ 0, got shape {lam_np.shape}")
    if np.isnan(lam_np).any() or (lam_np < 0).any():
        raise ValueError("variances must be eigenvalues in [0, inf) (clip round-off with covariance_spectrum)")
    xp = array_namespace(tau, variances) if hasattr(tau, "__array_namespace__") else array_namespace(variances)
    lam = variances
    t = xp.asarray(tau, dtype=lam.dtype) if not hasattr(tau, "__array_namespace__") else tau
    t = xp.astype(t, lam.dtype) if t.dtype != lam.dtype else t
    return xp, xp.expand_dims(t, axis=-1) if t.ndim > 0 else t, lam


def covariance_spectrum(cov: Any, *, rtol: float = 1e-12) -> Any:
    """Eigenvalues λ_i ≥ 0 of a symmetric positive semi-definite covariance Σ (any namespace).

    Eigenvalues below ``rtol · max λ`` in absolute value (round-off of a singular Σ) are set to
    exactly 0, so zero-variance directions get their exact 1/τ contribution.

    Parameters
    ----------
    cov : (D, D) array, symmetric positive semi-definite.
    rtol : relative threshold under which an eigenvalue counts as 0.
    """
    xp = array_namespace(cov)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"cov must be a square (D, D) matrix, got shape {tuple(cov.shape)}")
    c = (cov + xp.matrix_transpose(cov)) / 2
    lam = xp.linalg.eigvalsh(c)
    scale = xp.max(xp.abs(lam))
    if float(scale) > 0 and float(xp.min(lam)) < -1e-8 * float(scale) * cov.shape[0]:
        raise ValueError(f"cov must be positive semi-definite, smallest eigenvalue {float(xp.min(lam)):.3g}")
    return xp.where(xp.abs(lam) <= rtol * scale, xp.zeros_like(lam), xp.where(lam < 0, xp.zeros_like(lam), lam))


def gaussian_fisher_information(tau: Any, variances: Any) -> Any:
    """Fisher information I(τ) = Σ_i 1/(λ_i + τ) of N(μ, Σ) noised by τ (total, not per dim).

    Parameters
    ----------
    tau : scalar or array of noise levels τ > 0 (output has tau's shape).
    variances : (D,) eigenvalues λ_i ≥ 0 of Σ (see :func:`covariance_spectrum`).

    References
    ----------
    Gu et al., arXiv 2604.02751, Gaussian example; I = E‖∇ log p_τ‖² = tr (Σ + τI)⁻¹.
    """
    xp, t, lam = _prepare(tau, variances)
    return xp.sum(1.0 / (lam + t), axis=-1)


def gaussian_fisher_information_rate(tau: Any, variances: Any) -> Any:
    """Fisher information rate R(τ) = dI/dτ = −Σ_i 1/(λ_i + τ)² (≤ 0) = −‖(Σ + τI)⁻¹‖_F²."""
    xp, t, lam = _prepare(tau, variances)
    return -xp.sum(1.0 / (lam + t) ** 2, axis=-1)


def gaussian_mmse(tau: Any, variances: Any) -> Any:
    """MMSE(τ) = E‖x − E[x|y]‖² = Σ_i τλ_i/(λ_i + τ) = τD − τ² I(τ)."""
    xp, t, lam = _prepare(tau, variances)
    return xp.sum(t * lam / (lam + t), axis=-1)


def gaussian_mmse_rate(tau: Any, variances: Any) -> Any:
    """MMSE rate dMMSE/dτ = Σ_i λ_i²/(λ_i + τ)² = D − 2τI − τ²R = E‖∇_y E[x|y]‖_F² (≥ 0)."""
    xp, t, lam = _prepare(tau, variances)
    return xp.sum(lam**2 / (lam + t) ** 2, axis=-1)


def gaussian_diagnostics(tau: Any, *, cov: Any = None, variances: Any = None) -> dict[str, Any]:
    """All four closed forms at once, from a covariance or its eigenvalues.

    Returns a dict with keys ``I``, ``R``, ``mmse``, ``mmse_rate`` (arrays of tau's shape).
    The mean μ does not enter (translation invariance of the score norms).
    """
    if (cov is None) == (variances is None):
        raise TypeError("give exactly one of cov= (a (D, D) covariance) or variances= (its eigenvalues)")
    lam = covariance_spectrum(cov) if cov is not None else variances
    return {
        "I": gaussian_fisher_information(tau, lam),
        "R": gaussian_fisher_information_rate(tau, lam),
        "mmse": gaussian_mmse(tau, lam),
        "mmse_rate": gaussian_mmse_rate(tau, lam),
    }


# ----------------------------------------------------------------------------------------------
# VP ↔ τ


def tau_from_alpha_bar(alpha_bar: Any) -> Any:
    """τ = (1 − ᾱ)/ᾱ: the noise level of y = x_t/√ᾱ for x_t = √ᾱ x + √(1 − ᾱ) n.

    Parameters
    ----------
    alpha_bar : scalar or array in (0, 1] (ᾱ = 1 gives τ = 0).
    """
    a = np.asarray(alpha_bar) if isinstance(alpha_bar, (float, int, list, tuple)) else alpha_bar
    check_real("alpha_bar", _to_numpy(a), low=0.0, high=1.0, low_inclusive=False)
    return (1.0 - a) / a


def alpha_bar_from_tau(tau: Any) -> Any:
    """ᾱ = 1/(1 + τ), the inverse of :func:`tau_from_alpha_bar` (τ ≥ 0)."""
    t = np.asarray(tau) if isinstance(tau, (float, int, list, tuple)) else tau
    check_real("tau", _to_numpy(t), low=0.0)
    return 1.0 / (1.0 + t)


def scheduler_taus(scheduler: Any) -> np.ndarray:
    """τ_t = (1 − ᾱ_t)/ᾱ_t for every training timestep t of a diffusers scheduler (float64)."""
    ac = getattr(scheduler, "alphas_cumprod", None)
    if ac is None:
        raise TypeError("scheduler must have an alphas_cumprod attribute (a diffusers DDPM/DDIM-style scheduler)")
    ac = np.asarray(ac.detach().cpu().double() if hasattr(ac, "detach") else ac, dtype=np.float64)
    return (1.0 - ac) / ac


def tau_from_timestep(scheduler: Any, timestep: Any) -> np.ndarray:
    """τ at a (possibly fractional) timestep of a diffusers scheduler.

    Integer timesteps use ``scheduler.alphas_cumprod[t]`` exactly; fractional ones interpolate
    log τ linearly between neighbouring integer timesteps (the inverse of
    :func:`timestep_from_tau` with ``mode="interpolate"``).
    """
    taus = scheduler_taus(scheduler)
    t = check_real("timestep", timestep, low=0.0, high=len(taus) - 1)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, len(taus) - 1)
    f = t - lo
    return np.exp((1 - f) * np.log(taus[lo]) + f * np.log(taus[hi]))


def timestep_from_tau(scheduler: Any, tau: Any, mode: str = "nearest") -> tuple[np.ndarray, np.ndarray]:
    """Map a noise level τ to a timestep of a diffusers scheduler.

    Parameters
    ----------
    scheduler : object with ``alphas_cumprod`` (diffusers DDPMScheduler, DDIMScheduler, …).
    tau : τ > 0, scalar or array, within [τ_0, τ_{T−1}] of the scheduler.
    mode : ``"nearest"`` — the integer timestep whose τ_t is nearest in log τ; the returned τ is
        that τ_t (estimates are then reported at τ_t). ``"interpolate"`` — a fractional timestep
        t* with log τ linear between the neighbours (the UNet's sinusoidal embedding accepts
        float timesteps); the returned τ is the requested τ.

    Returns
    -------
    (timestep, tau_used) as float64 arrays of tau's shape.
    """
    check_choice("mode", mode, ("nearest", "interpolate"))
    taus = scheduler_taus(scheduler)
    t_req = check_real("tau", tau, low=0.0, low_inclusive=False)
    if not np.all(np.diff(taus) > 0):
        raise ValueError("scheduler.alphas_cumprod must be strictly decreasing")
    lo_t, hi_t = taus[0], taus[-1]
    if np.any(t_req < lo_t * (1 - 1e-9)) or np.any(t_req > hi_t * (1 + 1e-9)):
        raise ValueError(f"tau must be in the scheduler's range [{lo_t:.4g}, {hi_t:.4g}], got {t_req.ravel()[0]!r}")
    lt = np.log(taus)
    ltr = np.log(np.clip(t_req, lo_t, hi_t))
    if mode == "nearest":
        idx = np.clip(np.searchsorted(lt, ltr), 1, len(lt) - 1)
        pick = np.where(np.abs(lt[idx - 1] - ltr) <= np.abs(lt[idx] - ltr), idx - 1, idx)
        return pick.astype(np.float64), taus[pick]
    ts = np.interp(ltr, lt, np.arange(len(lt), dtype=np.float64))
    return ts, t_req.astype(np.float64)
