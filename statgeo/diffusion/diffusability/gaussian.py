"""Closed forms for Gaussian data and the VP ↔ τ conversion.

Conventions (docs/diffusability.md, "Conventions"): y = x + √τ n, n ~ N(0, I_D); for x ~ N(μ, Σ) with
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

from statgeo.checks import check_allocation, check_choice, check_real

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


def _as_array(a: Any) -> Any:
    """Lists and tuples as NumPy arrays; scalars and arrays of any namespace unchanged."""
    if isinstance(a, (list, tuple)):
        return np.asarray(a, dtype=np.float64) if all(isinstance(v, (int, float)) for v in np.ravel(
            np.asarray(a, dtype=object))) else np.asarray(a)
    return a


def _real_numpy(name: str, a: Any) -> np.ndarray:
    """A NumPy copy of ``a`` checked to hold real numbers (TypeError naming ``name`` otherwise)."""
    if isinstance(a, (str, bytes, dict)) or a is None:
        raise TypeError(f"{name} must be an array of real numbers, got {type(a).__name__}")
    try:
        arr = _to_numpy(a)
    except Exception as exc:
        raise TypeError(f"{name} must be an array of real numbers, got {type(a).__name__}") from exc
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    return arr


def _check_tau(tau: Any) -> np.ndarray:
    # validation on a NumPy copy (cheap), before any work; the computation keeps tau's namespace
    if isinstance(tau, (str, bytes)):
        raise TypeError(f"tau must be a real number or array of reals, got {tau!r}")
    return check_real("tau", _to_numpy(tau), low=0.0, low_inclusive=False)


def _check_variances(variances: Any) -> np.ndarray:
    lam_np = _real_numpy("variances", variances)
    if lam_np.ndim != 1 or lam_np.size == 0:
        raise ValueError(f"variances must be a non-empty 1-D array of eigenvalues λ_i ≥ 0, got shape {lam_np.shape}")
    if np.isnan(lam_np).any() or (lam_np < 0).any() or np.isinf(lam_np).any():
        raise ValueError("variances must be finite eigenvalues in [0, inf) (clip round-off with covariance_spectrum)")
    return lam_np


def _prepare(tau: Any, variances: Any):
    tau, variances = _as_array(tau), _as_array(variances)
    t_np = _check_tau(tau)
    lam_np = _check_variances(variances)
    check_allocation("the terms (tau, variances)", (t_np.size, lam_np.size), np.float64, names="tau and variances")
    xp = array_namespace(tau, variances) if hasattr(tau, "__array_namespace__") else array_namespace(variances)
    lam = variances
    if not xp.isdtype(lam.dtype, "real floating"):
        lam = xp.astype(lam, xp.float64)
    t = xp.asarray(tau, dtype=lam.dtype) if not hasattr(tau, "__array_namespace__") else tau
    t = xp.astype(t, lam.dtype) if t.dtype != lam.dtype else t
    return xp, xp.expand_dims(t, axis=-1) if t.ndim > 0 else t, lam


def covariance_spectrum(cov: Any, *, rtol: float = 1e-12) -> Any:
    """Eigenvalues λ_i ≥ 0 of a symmetric positive semi-definite covariance Σ (any namespace).

    Σ is symmetrised, (Σ + Σᵀ)/2; eigenvalues below ``rtol · max |λ|`` in absolute value
    (round-off of a singular Σ) are set to exactly 0, so zero-variance directions get their
    exact 1/τ contribution.

    Parameters
    ----------
    cov : array_like
        ``(D, D)`` symmetric positive semi-definite matrix, finite (any array-API namespace;
        lists accepted).
    rtol : float, default 1e-12
        Relative threshold in [0, 1) under which an eigenvalue counts as 0.

    Returns
    -------
    array
        ``(D,)`` eigenvalues in ascending order, in ``cov``'s namespace.

    Raises
    ------
    TypeError
        ``cov`` is not an array of real numbers.
    ValueError
        ``cov`` is not square, holds NaN/inf, or has a clearly negative eigenvalue.

    Examples
    --------
    >>> covariance_spectrum([[2.0, 0.0], [0.0, 0.0]])
    array([0., 2.])
    """
    cov = _as_array(cov)
    c_np = _real_numpy("cov", cov)
    if c_np.ndim != 2 or c_np.shape[0] != c_np.shape[1] or c_np.size == 0:
        raise ValueError(f"cov must be a square (D, D) matrix, got shape {tuple(c_np.shape)}")
    if not np.isfinite(c_np).all():
        raise ValueError("cov must be finite (got NaN or inf)")
    rtol = float(check_real("rtol", rtol, low=0.0, high=1.0, high_inclusive=False))
    xp = array_namespace(cov)
    if not xp.isdtype(cov.dtype, "real floating"):
        cov = xp.astype(cov, xp.float64)
    c = (cov + xp.matrix_transpose(cov)) / 2
    lam = xp.linalg.eigvalsh(c)
    scale = xp.max(xp.abs(lam))
    if float(scale) > 0 and float(xp.min(lam)) < -1e-8 * float(scale) * cov.shape[0]:
        raise ValueError(f"cov must be positive semi-definite, smallest eigenvalue {float(xp.min(lam)):.3g}")
    return xp.where(xp.abs(lam) <= rtol * scale, xp.zeros_like(lam), xp.where(lam < 0, xp.zeros_like(lam), lam))


_CLOSED_FORM_DOC = """
    Parameters
    ----------
    tau : float or array
        Noise level(s) τ > 0 (the output has tau's shape).
    variances : array
        ``(D,)`` eigenvalues λ_i ≥ 0 of Σ (see :func:`covariance_spectrum`).

    Returns
    -------
    array
        In the namespace of the inputs, tau's shape.

    Raises
    ------
    TypeError
        An input is not an array of real numbers.
    ValueError
        τ ≤ 0 or NaN, or variances negative, non-finite, empty or not 1-D.
"""


def gaussian_fisher_information(tau: Any, variances: Any) -> Any:
    """Fisher information I(τ) = Σ_i 1/(λ_i + τ) = tr (Σ + τI)⁻¹ of N(μ, Σ) noised by τ (total).

    Gu et al., arXiv 2604.02751, Gaussian example.
    {doc}
    Examples
    --------
    >>> float(gaussian_fisher_information(1.0, [1.0, 3.0]))
    0.75
    """
    xp, t, lam = _prepare(tau, variances)
    return xp.sum(1.0 / (lam + t), axis=-1)


def gaussian_fisher_information_rate(tau: Any, variances: Any) -> Any:
    """Fisher information rate R(τ) = dI/dτ = −Σ_i 1/(λ_i + τ)² = −‖(Σ + τI)⁻¹‖_F² (≤ 0).
    {doc}
    Examples
    --------
    >>> float(gaussian_fisher_information_rate(1.0, [1.0, 3.0]))
    -0.3125
    """
    xp, t, lam = _prepare(tau, variances)
    return -xp.sum(1.0 / (lam + t) ** 2, axis=-1)


def gaussian_mmse(tau: Any, variances: Any) -> Any:
    """MMSE(τ) = E‖x − E[x|y]‖² = Σ_i τλ_i/(λ_i + τ) = τD − τ² I(τ).
    {doc}
    Examples
    --------
    >>> float(gaussian_mmse(1.0, [1.0, 3.0]))
    1.25
    """
    xp, t, lam = _prepare(tau, variances)
    return xp.sum(t * lam / (lam + t), axis=-1)


def gaussian_mmse_rate(tau: Any, variances: Any) -> Any:
    """MMSE rate dMMSE/dτ = Σ_i λ_i²/(λ_i + τ)² = D − 2τI − τ²R = E‖∇_y E[x|y]‖_F² (≥ 0).
    {doc}
    Examples
    --------
    >>> float(gaussian_mmse_rate(1.0, [1.0, 3.0]))
    0.8125
    """
    xp, t, lam = _prepare(tau, variances)
    return xp.sum(lam**2 / (lam + t) ** 2, axis=-1)


for _f in (gaussian_fisher_information, gaussian_fisher_information_rate, gaussian_mmse, gaussian_mmse_rate):
    _f.__doc__ = _f.__doc__.replace("{doc}", _CLOSED_FORM_DOC)


def gaussian_diagnostics(tau: Any, *, cov: Any = None, variances: Any = None) -> dict[str, Any]:
    """All four closed forms (I, R, MMSE, MMSE rate) at once, from a covariance or its eigenvalues.

    The mean μ does not enter (translation invariance of the score norms). See the module
    docstring for the formulas.

    Parameters
    ----------
    tau : float or array
        Noise level(s) τ > 0.
    cov : array, optional
        ``(D, D)`` covariance Σ (its spectrum is taken with :func:`covariance_spectrum`).
    variances : array, optional
        ``(D,)`` eigenvalues λ_i ≥ 0 of Σ instead of ``cov``.

    Returns
    -------
    dict
        ``I``, ``R``, ``mmse``, ``mmse_rate``: arrays of tau's shape, in the inputs' namespace.

    Raises
    ------
    TypeError
        Both or neither of ``cov`` and ``variances``, or an input that is not real.
    ValueError
        τ ≤ 0 or NaN, or a bad covariance / variances (see :func:`covariance_spectrum`).

    Examples
    --------
    >>> d = gaussian_diagnostics(1.0, cov=np.diag([1.0, 3.0]))
    >>> {k: float(v) for k, v in d.items()}
    {'I': 0.75, 'R': -0.3125, 'mmse': 1.25, 'mmse_rate': 0.8125}
    >>> d = gaussian_diagnostics([0.5, 2.0], variances=[1.0, 0.0])  # a zero-variance direction adds 1/τ
    >>> d["I"].tolist()
    [2.6666666666666665, 0.8333333333333333]
    """
    if (cov is None) == (variances is None):
        raise TypeError("give exactly one of cov= (a (D, D) covariance) or variances= (its eigenvalues)")
    _check_tau(_as_array(tau))
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
    alpha_bar : float or array
        ᾱ in (0, 1] (ᾱ = 1 gives τ = 0).

    Returns
    -------
    float or array
        τ ≥ 0, the shape (and namespace) of ``alpha_bar``.

    Raises
    ------
    TypeError
        ``alpha_bar`` is not real.
    ValueError
        ``alpha_bar`` outside (0, 1] or NaN.

    Examples
    --------
    >>> float(tau_from_alpha_bar(0.5))
    1.0
    """
    a = np.asarray(alpha_bar) if isinstance(alpha_bar, (float, int, list, tuple)) else alpha_bar
    check_real("alpha_bar", _real_numpy("alpha_bar", a), low=0.0, high=1.0, low_inclusive=False)
    return (1.0 - a) / a


def alpha_bar_from_tau(tau: Any) -> Any:
    """ᾱ = 1/(1 + τ), the inverse of :func:`tau_from_alpha_bar`.

    Parameters
    ----------
    tau : float or array
        τ ≥ 0, finite.

    Returns
    -------
    float or array
        ᾱ in (0, 1], the shape (and namespace) of ``tau``.

    Raises
    ------
    TypeError
        ``tau`` is not real.
    ValueError
        τ < 0, NaN or inf.

    Examples
    --------
    >>> float(alpha_bar_from_tau(1.0))
    0.5
    """
    t = np.asarray(tau) if isinstance(tau, (float, int, list, tuple)) else tau
    t_np = _real_numpy("tau", t)
    check_real("tau", t_np, low=0.0)
    if np.isinf(t_np).any():
        raise ValueError("tau must be finite (got inf)")
    return 1.0 / (1.0 + t)


def scheduler_taus(scheduler: Any) -> np.ndarray:
    """τ_t = (1 − ᾱ_t)/ᾱ_t for every training timestep t of a diffusers scheduler (float64).

    Parameters
    ----------
    scheduler : object
        Anything with an ``alphas_cumprod`` sequence in (0, 1] (diffusers DDPM/DDIM-style).

    Returns
    -------
    numpy.ndarray
        ``(T,)`` float64.

    Raises
    ------
    TypeError
        ``scheduler`` has no ``alphas_cumprod``, or it is not real.
    ValueError
        ``alphas_cumprod`` is empty, not 1-D, or outside (0, 1].

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> scheduler_taus(SimpleNamespace(alphas_cumprod=[0.5, 0.25])).tolist()
    [1.0, 3.0]
    """
    ac = getattr(scheduler, "alphas_cumprod", None)
    if ac is None:
        raise TypeError("scheduler must have an alphas_cumprod attribute (a diffusers DDPM/DDIM-style scheduler)")
    ac = _real_numpy("scheduler.alphas_cumprod", ac.detach().cpu().double() if hasattr(ac, "detach") else ac)
    ac = np.asarray(ac, dtype=np.float64)
    if ac.ndim != 1 or ac.size == 0:
        raise ValueError(f"scheduler.alphas_cumprod must be a non-empty 1-D array, got shape {ac.shape}")
    check_real("scheduler.alphas_cumprod", ac, low=0.0, high=1.0, low_inclusive=False)
    return (1.0 - ac) / ac


def tau_from_timestep(scheduler: Any, timestep: Any) -> np.ndarray:
    """τ at a (possibly fractional) timestep of a diffusers scheduler.

    Integer timesteps use ``scheduler.alphas_cumprod[t]`` exactly; fractional ones interpolate
    log τ linearly between neighbouring integer timesteps (the inverse of
    :func:`timestep_from_tau` with ``mode="interpolate"``).

    Parameters
    ----------
    scheduler : object
        Anything with ``alphas_cumprod`` (see :func:`scheduler_taus`).
    timestep : float or array_like
        Timestep(s) in ``[0, T − 1]``.

    Returns
    -------
    numpy.ndarray
        τ, the shape of ``timestep``.

    Raises
    ------
    TypeError
        A bad scheduler or a timestep that is not real.
    ValueError
        A timestep outside ``[0, T − 1]`` or NaN.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> float(tau_from_timestep(SimpleNamespace(alphas_cumprod=[0.5, 0.25]), 1))
    3.0
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
    scheduler : object
        Anything with ``alphas_cumprod`` (diffusers DDPMScheduler, DDIMScheduler, …), with
        τ_t strictly increasing in t.
    tau : float or array_like
        τ > 0 within [τ_0, τ_{T−1}] of the scheduler.
    mode : {"nearest", "interpolate"}, default "nearest"
        ``"nearest"``: the integer timestep whose τ_t is nearest in log τ; the returned τ is
        that τ_t (estimates are then reported at τ_t). ``"interpolate"``: a fractional timestep
        t* with log τ linear between the neighbours (the UNet's sinusoidal embedding accepts
        float timesteps); the returned τ is the requested τ.

    Returns
    -------
    tuple of numpy.ndarray
        ``(timestep, tau_used)`` as float64 arrays of tau's shape.

    Raises
    ------
    TypeError
        A bad scheduler or a τ that is not real.
    ValueError
        An unknown mode, τ outside the scheduler's range or ≤ 0, or a schedule whose τ_t is
        not strictly increasing.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> sch = SimpleNamespace(alphas_cumprod=[0.5, 0.25])
    >>> [a.tolist() for a in timestep_from_tau(sch, 2.0, mode="nearest")]
    [1.0, 3.0]
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
