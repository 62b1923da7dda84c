"""Encoder analysis: I and R of the noised latent law vs the noised data law, FIR deviations,
the three geometric penalties and linear bi-Lipschitz bounds.

Definitions (``docs/diffusability.md``; Gu et al., arXiv 2604.02751):

* FIR deviation  D_R(τ) = |R_z(τ) − R_x(τ)| / |R_x(τ)|.
* Scale-corrected deviation. If z = c·x then R_z(τ) = c⁻⁴ R_x(τ/c²) exactly (y_z = c(x + √(τ/c²) n)).
  With the encoder's overall scale c² = tr Cov[z] / tr Cov[x] (the large-τ fit: I(τ) = d/τ −
  tr Cov/τ² + O(τ⁻³)), define, at the *data* noise level τ,

      D̃_R(τ) = |c⁴ R_z(c² τ) − R_x(τ)| / |R_x(τ)|.

  It is exactly invariant under E ↦ aE (a > 0) and vanishes for E = c·(isometry of full rank).
* Linear bi-Lipschitz bounds for z = A x, A of full column rank (d ≥ D) with singular values in
  [m, M]; k₀ = d − D zero-variance latent directions add k₀/τ:
  - general form (any data law; Fisher-matrix monotonicity under added Gaussian noise, Stam):
        M⁻² I_x(τ/m²) ≤ I_z(τ) − k₀/τ ≤ m⁻² I_x(τ/M²);
  - Gaussian form (the spec's tighter bounds; proven for Gaussian data by Ostrowski's theorem,
    λ_i(AΣAᵀ) ∈ [m²λ_i, M²λ_i]; it can fail for multimodal data, see the tests):
        M⁻² I_x(τ/M²) ≤ I_z(τ) − k₀/τ ≤ m⁻² I_x(τ/m²).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from array_api_compat import array_namespace

from statgeo.checks import check_choice, check_int, check_real
from statgeo.diffusion.diffusability.gaussian import covariance_spectrum, gaussian_fisher_information, gaussian_fisher_information_rate
from statgeo.diffusion.diffusability.quadrature import GaussianMixture, pushforward_fisher_1d, pushforward_fisher_curve

__all__ = [
    "fir_deviation",
    "encoder_scale",
    "scale_corrected_fir_deviation",
    "compression_penalty",
    "compression_penalty_limit",
    "tangential_distortion_penalty",
    "tangential_encoder",
    "curvature_encoder",
    "curvature_injection_penalty",
    "activation_fisher",
    "linear_bilipschitz_bounds",
    "analyse_linear_gaussian",
    "analyse_encoder",
]


def fir_deviation(R_z: Any, R_x: Any) -> Any:
    """D_R = |R_z − R_x| / |R_x| (array-API, elementwise)."""
    xp = array_namespace(R_z, R_x)
    return xp.abs(R_z - R_x) / xp.abs(R_x)


def encoder_scale(x: Any, z: Any) -> float:
    """Overall encoder scale c = √(tr Cov[z] / tr Cov[x]) from paired samples (n, D), (n, d)."""
    xn = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float64).reshape(len(x), -1)
    zn = np.asarray(z.detach().cpu() if hasattr(z, "detach") else z, dtype=np.float64).reshape(len(z), -1)
    if len(xn) != len(zn) or len(xn) < 2:
        raise ValueError(f"x and z must be paired samples (same n ≥ 2), got {len(xn)} and {len(zn)}")
    tx, tz = xn.var(0, ddof=1).sum(), zn.var(0, ddof=1).sum()
    if tx <= 0:
        raise ValueError("x has zero total variance; the encoder scale is undefined")
    return float(math.sqrt(tz / tx))


def scale_corrected_fir_deviation(tau, R_z: Callable[[np.ndarray], np.ndarray], R_x: Callable[[np.ndarray], np.ndarray],
                                  scale: float) -> np.ndarray:
    """D̃_R(τ) = |c⁴ R_z(c²τ) − R_x(τ)| / |R_x(τ)| at data noise levels τ (see module docstring).

    Parameters
    ----------
    tau : data-side noise levels τ > 0.
    R_z, R_x : callables τ ↦ R (vectorised) of the latent and data laws.
    scale : the encoder's overall scale c > 0 (:func:`encoder_scale`, or √(tr AΣAᵀ/tr Σ)).
    """
    t = check_real("tau", tau, low=0.0, low_inclusive=False)
    c = float(check_real("scale", scale, low=0.0, low_inclusive=False))
    rx = np.asarray(R_x(t))
    return np.abs(c**4 * np.asarray(R_z(c**2 * t)) - rx) / np.abs(rx)


# ----------------------------------------------------------------------------------------------
# penalties


def compression_penalty_limit(D: int, d: int, k: int) -> float:
    """Small-τ limit (D − d)/(D − k) of D_R for k-dim data in R^D projected onto d ≥ k coordinates."""
    D = check_int("D", D, min=1)
    k = check_int("k", k, min=0, max=D - 1)
    d = check_int("d", d, min=k, max=D)
    return (D - d) / (D - k)


def compression_penalty(tau, D: int, d: int, k: int = 2, variance: float = 1.0) -> np.ndarray:
    """Dimensional compression: D_R(τ) for x ~ N(0, σ² I_k) embedded isometrically in R^D and
    the encoder z = first d ≥ k coordinates (an isometry on the data).

    R_x = −k/(σ² + τ)² − (D − k)/τ², R_z = −k/(σ² + τ)² − (d − k)/τ², so
    D_R = ((D − d)/τ²)/|R_x| → (D − d)/(D − k) as τ → 0.
    """
    lim = compression_penalty_limit(D, d, k)  # validates
    del lim
    v = float(check_real("variance", variance, low=0.0, low_inclusive=False))
    lx = np.r_[np.full(k, v), np.zeros(D - k)]
    lz = np.r_[np.full(k, v), np.zeros(d - k)]
    return fir_deviation(gaussian_fisher_information_rate(np.asarray(tau, dtype=float), lz),
                         gaussian_fisher_information_rate(np.asarray(tau, dtype=float), lx))


def tangential_encoder(delta: float):
    """E(x) = diag(√(1 + δ), √(1 − δ)) x as a matrix (|δ| < 1)."""
    dl = float(check_real("delta", delta, low=-1.0, high=1.0, low_inclusive=False, high_inclusive=False))
    return np.diag([math.sqrt(1 + dl), math.sqrt(1 - dl)])


def tangential_distortion_penalty(tau, delta, variances=(1.0, 0.25), *, scale_corrected: bool = False) -> np.ndarray:
    """Tangential distortion: D_R(τ) for x ~ N(0, diag(σ₁², σ₂²)), z = diag(√(1+δ), √(1−δ)) x.

    Closed form: R_z = −Σ 1/(σ_i²(1 ± δ) + τ)², R_x = −Σ 1/(σ_i² + τ)². The deviation is
    linear in δ for anisotropic data (the default σ² = (1, ¼)); for isotropic data the first-order
    terms cancel by symmetry (δ ↦ −δ swaps the axes) and D_R = 3δ²/(1 + τ)² + O(δ⁴).
    With ``scale_corrected`` the overall scale c² = Σσ_i²(1 ± δ)/Σσ_i² is removed first.

    Returns an array of shape broadcast(delta, tau).
    """
    t = np.asarray(check_real("tau", tau, low=0.0, low_inclusive=False))
    dl = np.asarray(check_real("delta", delta, low=-1.0, high=1.0, low_inclusive=False, high_inclusive=False))
    s = check_real("variances", variances, low=0.0, low_inclusive=False)
    if s.shape != (2,):
        raise ValueError(f"variances must be two positive numbers (σ₁², σ₂²), got shape {s.shape}")
    dl, t = np.broadcast_arrays(dl, t)
    a1, a2 = s[0] * (1 + dl), s[1] * (1 - dl)
    c2 = (a1 + a2) / s.sum() if scale_corrected else np.ones_like(t)
    tz = c2 * t
    Rz = c2**2 * -(1 / (a1 + tz) ** 2 + 1 / (a2 + tz) ** 2)
    Rx = -(1 / (s[0] + t) ** 2 + 1 / (s[1] + t) ** 2)
    return np.abs(Rz - Rx) / np.abs(Rx)


def curvature_encoder(eps: float) -> Callable:
    """(x₁, x₂) ↦ (sin(εx₁)/ε, x₂, (1 − cos(εx₁))/ε): bends the x₁ axis into a circle of radius 1/ε.

    Works on NumPy arrays and torch tensors of shape (n, 2); ε → 0 is the flat embedding
    (x₁, x₂, 0). The map is an isometry of the plane onto a cylinder (no tangential distortion).
    """
    e = float(check_real("eps", eps, low=0.0))

    def enc(x):
        if hasattr(x, "detach"):
            import torch as M
        else:
            M = np
        x1, x2 = x[:, 0], x[:, 1]
        if e == 0:
            return M.stack([x1, x2, 0 * x1], 1)
        return M.stack([M.sin(e * x1) / e, x2, (1 - M.cos(e * x1)) / e], 1)

    return enc


def curvature_injection_penalty(tau, eps: float, *, scale_corrected: bool = False, **quad) -> dict[str, np.ndarray]:
    """Curvature injection: data x ~ N(0, I₂), z = :func:`curvature_encoder` (ε) (x) ∈ R³.

    Reference: the flat isometric embedding (x₁, x₂, 0) (same latent dimension, so only the
    bending is measured): R_flat = −1/(1+τ)² − 1/(1+τ)² − 1/τ². The latent law factorises into
    the x₂ coordinate (Gaussian: −1/(1+τ)²) and the curve t ↦ (sin εt, 1 − cos εt)/ε in a plane,
    whose R comes from :func:`pushforward_fisher_curve`. D_R vanishes at small τ (both laws are
    locally flat 2-D sheets) and at large τ, and peaks at τ of order the squared curvature
    radius 1/ε² (or the data scale 1 if that is smaller).

    Returns dict ``tau``, ``R_z``, ``R_ref``, ``D_R`` (and ``scale`` when scale-corrected:
    c² = tr Cov z / tr Cov x).
    """
    t = np.atleast_1d(check_real("tau", tau, low=0.0, low_inclusive=False)).ravel()
    e = float(check_real("eps", eps, low=0.0, low_inclusive=False))

    def curve(x):
        return np.stack([np.sin(e * x) / e, (1 - np.cos(e * x)) / e], 1)

    c2 = 1.0
    if scale_corrected:
        # Var sin(εx)/ε + Var (1−cos εx)/ε for x ~ N(0,1): (1 − e^{−2ε²})/(2ε²) + (1 − e^{−ε²})²... exact:
        v1 = (1 - math.exp(-2 * e**2)) / (2 * e**2)
        v3 = ((1 + math.exp(-2 * e**2)) / 2 - math.exp(-(e**2))) / e**2
        c2 = (v1 + 1.0 + v3) / 2.0
    tz = c2 * t
    rc = pushforward_fisher_curve(curve, tz, **quad)["R"]
    Rz = c2**2 * (rc - 1 / (1 + tz) ** 2)
    Rref = -2 / (1 + t) ** 2 - 1 / t**2
    out = {"tau": t, "R_z": Rz, "R_ref": Rref, "D_R": np.abs(Rz - Rref) / np.abs(Rref)}
    if scale_corrected:
        out["scale"] = np.array(math.sqrt(c2))
    return out


def activation_fisher(activation: Callable[[np.ndarray], np.ndarray], tau, dim: int = 2, **quad) -> dict[str, np.ndarray]:
    """I, R, MMSE, MMSE rate of z = σ(x) (pointwise), x ~ N(0, I_dim): dim × the 1-D quadrature."""
    dim = check_int("dim", dim, min=1)
    r = pushforward_fisher_1d(activation, tau, **quad)
    return {k: (v * dim if k in ("I", "R", "mmse", "mmse_rate") else v) for k, v in r.items()}


# ----------------------------------------------------------------------------------------------
# bi-Lipschitz


def linear_bilipschitz_bounds(A: Any, I_x: Callable[[np.ndarray], np.ndarray], tau, form: str = "general"):
    """Bounds on I_z(τ) for z = A x from the data's I_x (see module docstring for both forms).

    Parameters
    ----------
    A : (d, D) matrix of full column rank (d ≥ D), singular values m ≤ … ≤ M.
    I_x : vectorised callable τ ↦ I_x(τ) of the data law.
    tau : τ > 0.
    form : ``"general"`` (valid for every data law) or ``"gaussian"`` (the tighter spec form,
        valid for Gaussian data).

    Returns
    -------
    (lower, upper) arrays of tau's shape.
    """
    check_choice("form", form, ("general", "gaussian"))
    t = check_real("tau", tau, low=0.0, low_inclusive=False)
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] < A.shape[1]:
        raise ValueError(f"A must be a (d, D) matrix with d ≥ D (an injective encoder), got shape {A.shape}")
    sv = np.linalg.svd(A, compute_uv=False)
    m, M = sv.min(), sv.max()
    if m <= 1e-12 * M:
        raise ValueError("A must have full column rank (smallest singular value > 0)")
    k0 = (A.shape[0] - A.shape[1]) / t
    if form == "general":
        return M**-2 * np.asarray(I_x(t / m**2)) + k0, m**-2 * np.asarray(I_x(t / M**2)) + k0
    return M**-2 * np.asarray(I_x(t / M**2)) + k0, m**-2 * np.asarray(I_x(t / m**2)) + k0


# ----------------------------------------------------------------------------------------------
# analysis drivers


def analyse_linear_gaussian(A: Any, cov: Any, taus) -> "xarray.Dataset":  # noqa: F821
    """Exact I, R of x ~ N(μ, Σ) and z = A x ~ N(Aμ, AΣAᵀ) along τ, with D_R and D̃_R.

    Scale c² = tr(AΣAᵀ)/tr Σ. Returns an ``xarray.Dataset`` over ``tau`` with ``I_x``,
    ``R_x``, ``I_z``, ``R_z``, ``D_R``, ``D_R_scaled`` and attr ``scale``.
    """
    import xarray as xr

    t = np.atleast_1d(check_real("tau", taus, low=0.0, low_inclusive=False)).ravel()
    A = np.asarray(A, dtype=np.float64)
    S = np.asarray(cov, dtype=np.float64)
    if A.ndim != 2 or S.ndim != 2 or S.shape != (A.shape[1], A.shape[1]):
        raise ValueError(f"cov must be (D, D) with D = A.shape[1] = {A.shape[1] if A.ndim == 2 else '?'}, got {S.shape}")
    lx = covariance_spectrum(S)
    lz = covariance_spectrum(A @ S @ A.T)
    c = math.sqrt(lz.sum() / lx.sum())
    Rx = gaussian_fisher_information_rate(t, lx)
    Rz = gaussian_fisher_information_rate(t, lz)
    Dt = scale_corrected_fir_deviation(t, lambda u: gaussian_fisher_information_rate(u, lz),
                                       lambda u: gaussian_fisher_information_rate(u, lx), c)
    return xr.Dataset(
        {"I_x": ("tau", gaussian_fisher_information(t, lx)), "R_x": ("tau", Rx),
         "I_z": ("tau", gaussian_fisher_information(t, lz)), "R_z": ("tau", Rz),
         "D_R": ("tau", fir_deviation(Rz, Rx)), "D_R_scaled": ("tau", Dt)},
        coords={"tau": ("tau", t, {"long_name": "noise level τ", "units": "1"})},
        attrs={"scale": c, "method": "gaussian closed form", "sign_convention": "R = dI/dtau <= 0"},
    )


def analyse_encoder(
    encoder: Any,
    x: Any,
    taus,
    *,
    bandwidth: float = 0.0,
    n_mc: int = 2000,
    seed: int = 0,
    batch_size: int = 256,
) -> "xarray.Dataset":  # noqa: F821
    """I and R of the noised data and latent laws for a general encoder, from data samples.

    Method: the data law is taken as the empirical law of ``x`` (optionally smoothed with an
    isotropic Gaussian kernel of variance ``bandwidth²``) and the latent law as the empirical
    law of E(x) (same bandwidth times the encoder scale c); I = E‖s‖² and R = −E‖H‖_F² are
    Monte Carlo averages with the *exact* mixture score and Hessian (:class:`GaussianMixture`).
    An empirical law of n atoms is a good proxy of the continuous law only for τ well above the
    squared nearest-neighbour distance; below it I ≈ D/τ (atoms). The scale-corrected deviation
    evaluates R_z at c²τ (c = :func:`encoder_scale`).

    Parameters
    ----------
    encoder : callable mapping a (n, D) tensor/array to (n, d) (torch module or function).
    x : (n, D) data samples.
    taus : data-side noise levels.

    Returns
    -------
    ``xarray.Dataset`` over ``tau`` with ``I_x``, ``R_x``, ``I_z``, ``R_z``, ``R_z_scaled_tau``
    (at c²τ), each with ``*_stderr``, plus ``D_R``, ``D_R_scaled`` and attr ``scale``.
    """
    import torch
    import xarray as xr

    t = np.atleast_1d(check_real("tau", taus, low=0.0, low_inclusive=False)).ravel()
    bw = float(check_real("bandwidth", bandwidth, low=0.0))
    n_mc = check_int("n_mc", n_mc, min=2)
    xt = torch.as_tensor(np.asarray(x.detach() if hasattr(x, "detach") else x, dtype=np.float64))
    if xt.ndim != 2 or xt.shape[0] < 2:
        raise ValueError(f"x must be (n, D) data samples with n ≥ 2, got shape {tuple(xt.shape)}")
    if not torch.isfinite(xt).all():
        raise ValueError("x must be finite")
    if isinstance(encoder, torch.nn.Module):
        with torch.no_grad():
            z = encoder(xt.to(next(encoder.parameters()).dtype) if any(True for _ in encoder.parameters()) else xt)
    else:
        z = encoder(xt)
    z = torch.as_tensor(np.asarray(z.detach() if hasattr(z, "detach") else z, dtype=np.float64)).reshape(len(xt), -1)
    if not torch.isfinite(z).all():
        raise ValueError("encoder returned non-finite latents")
    c = encoder_scale(xt, z)
    gx = GaussianMixture(xt, component_variance=bw**2)
    gz = GaussianMixture(z, component_variance=(c * bw) ** 2)
    res = {k: np.empty(len(t)) for k in ("I_x", "R_x", "I_z", "R_z", "R_zc")}
    err = {k: np.empty(len(t)) for k in res}
    for i, ti in enumerate(t):
        fx = gx.fisher_mc(ti, n_mc, seed=seed, batch_size=batch_size)
        fz = gz.fisher_mc(ti, n_mc, seed=seed + 1, batch_size=batch_size)
        fzc = gz.fisher_mc(c**2 * ti, n_mc, seed=seed + 2, batch_size=batch_size)
        for key, st in (("I_x", fx["I"]), ("R_x", fx["R"]), ("I_z", fz["I"]), ("R_z", fz["R"]), ("R_zc", fzc["R"])):
            res[key][i], err[key][i] = float(st.mean), float(st.error)
    dv = {k if k != "R_zc" else "R_z_scaled_tau": ("tau", v) for k, v in res.items()}
    dv.update({(k if k != "R_zc" else "R_z_scaled_tau") + "_stderr": ("tau", v) for k, v in err.items()})
    dv["D_R"] = ("tau", fir_deviation(res["R_z"], res["R_x"]))
    dv["D_R_scaled"] = ("tau", np.abs(c**4 * res["R_zc"] - res["R_x"]) / np.abs(res["R_x"]))
    return xr.Dataset(dv, coords={"tau": ("tau", t, {"long_name": "noise level τ", "units": "1"})},
                      attrs={"scale": c, "method": "empirical mixture, exact score, Monte Carlo",
                             "bandwidth": bw, "n_mc": n_mc, "sign_convention": "R = dI/dtau <= 0"})
