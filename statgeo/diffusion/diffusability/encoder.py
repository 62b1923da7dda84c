"""Encoder analysis: I and R of the noised latent law vs the noised data law, FIR deviations,
the three geometric penalties and linear bi-Lipschitz bounds.

Definitions (docs/diffusability.md, "Encoder analysis"; Gu et al., arXiv 2604.02751):

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
  - Gaussian form (tighter; proven for Gaussian data by Ostrowski's theorem,
    λ_i(AΣAᵀ) ∈ [m²λ_i, M²λ_i]; it can fail for multimodal data, see the tests):
        M⁻² I_x(τ/M²) ≤ I_z(τ) − k₀/τ ≤ m⁻² I_x(τ/m²).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from array_api_compat import array_namespace

from statgeo.checks import check_allocation, check_bool, check_callable, check_choice, check_int, check_real
from statgeo.diffusion._checks import check_scalar, real_array
from statgeo.diffusion.diffusability.estimators import MAX_MC_SAMPLES
from statgeo.diffusion.diffusability.gaussian import (
    _real_numpy,
    covariance_spectrum,
    gaussian_fisher_information,
    gaussian_fisher_information_rate,
)
from statgeo.diffusion.diffusability.quadrature import (
    GaussianMixture,
    pushforward_fisher_1d,
    pushforward_fisher_curve,
)

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


def _rate_values(name: str, value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        value = np.asarray(value, dtype=np.float64)
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number or array of reals, got {value!r:.60}")
    arr = _real_numpy(name, value)
    if arr.size == 0 or not np.isfinite(arr).all():
        raise ValueError(f"{name} must be a non-empty array of finite values")
    return value, arr


def fir_deviation(R_z: Any, R_x: Any) -> Any:
    """The FIR deviation D_R = |R_z − R_x| / |R_x| (array-API, elementwise).

    Parameters
    ----------
    R_z : float or array
        Fisher information rate of the latent law (finite).
    R_x : float or array
        Fisher information rate of the data law (finite, non-zero; broadcastable against ``R_z``).

    Returns
    -------
    float or array
        In the inputs' namespace.

    Raises
    ------
    TypeError
        An input is not real.
    ValueError
        NaN/inf, or a zero ``R_x`` (the relative deviation is undefined).

    Examples
    --------
    >>> float(fir_deviation(-1.5, -1.0))
    0.5
    """
    R_z, _ = _rate_values("R_z", R_z)
    R_x, rx = _rate_values("R_x", R_x)
    if (rx == 0).any():
        raise ValueError("R_x must be non-zero (the deviation is relative to |R_x|)")
    if not hasattr(R_z, "__array_namespace__") and not hasattr(R_x, "__array_namespace__"):
        R_z, R_x = np.asarray(R_z, dtype=np.float64), np.asarray(R_x, dtype=np.float64)
    xp = array_namespace(R_z, R_x)
    return xp.abs(R_z - R_x) / xp.abs(R_x)


def encoder_scale(x: Any, z: Any) -> float:
    """Overall encoder scale c = √(tr Cov[z] / tr Cov[x]) from paired samples.

    Parameters
    ----------
    x : array_like
        Data samples ``(n, ...)``, finite (tensors accepted).
    z : array_like
        Their encodings ``(n, ...)``, finite.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        An input is not real.
    ValueError
        Unpaired or fewer than 2 samples, NaN/inf, or zero variance of ``x``.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(100, 2))
    >>> round(encoder_scale(x, 3 * x), 12)
    3.0
    """
    x = real_array("x", x, min_ndim=1)
    z = real_array("z", z, min_ndim=1)
    xn = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    zn = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
    if len(xn) != len(zn) or len(xn) < 2:
        raise ValueError(f"x and z must be paired samples (same n ≥ 2), got {len(xn)} and {len(zn)}")
    tx, tz = xn.var(0, ddof=1).sum(), zn.var(0, ddof=1).sum()
    if tx <= 0:
        raise ValueError("x has zero total variance; the encoder scale is undefined")
    return float(math.sqrt(tz / tx))


def scale_corrected_fir_deviation(tau, R_z: Callable[[np.ndarray], np.ndarray], R_x: Callable[[np.ndarray], np.ndarray],
                                  scale: float) -> np.ndarray:
    """Scale-corrected deviation D̃_R(τ) = |c⁴ R_z(c²τ) − R_x(τ)| / |R_x(τ)| (module docstring).

    Parameters
    ----------
    tau : float or array_like
        Data-side noise levels τ > 0.
    R_z : callable
        τ ↦ R of the latent law (vectorised).
    R_x : callable
        τ ↦ R of the data law (vectorised; non-zero).
    scale : float
        The encoder's overall scale c > 0 (:func:`encoder_scale`, or √(tr AΣAᵀ/tr Σ)).

    Returns
    -------
    numpy.ndarray
        D̃_R, tau's shape.

    Raises
    ------
    TypeError
        ``R_z``/``R_x`` not callable, or ``tau``/``scale`` not real.
    ValueError
        τ ≤ 0, c ≤ 0, NaN/inf, or a rate function returning NaN or (for ``R_x``) zero.

    Examples
    --------
    >>> R = lambda t: -1.0 / (1.0 + t) ** 2  # N(0, 1)
    >>> R2 = lambda t: -1.0 / (4.0 + t) ** 2  # N(0, 4) = 2 × N(0, 1): D̃_R = 0
    >>> float(scale_corrected_fir_deviation(0.5, R2, R, 2.0))
    0.0
    """
    t = check_real("tau", tau, low=0.0, low_inclusive=False)
    check_callable("R_z", R_z)
    check_callable("R_x", R_x)
    c = check_scalar("scale", scale, low=0.0, low_inclusive=False)
    rx = np.asarray(R_x(t))
    rz = np.asarray(R_z(c**2 * t))
    for name, r in (("R_x", rx), ("R_z", rz)):
        if r.dtype.kind not in "iuf" or not np.isfinite(r).all():
            raise ValueError(f"{name} must return finite real values, got {r!r:.60}")
    if (rx == 0).any():
        raise ValueError("R_x must be non-zero (the deviation is relative to |R_x|)")
    return np.abs(c**4 * rz - rx) / np.abs(rx)


# ----------------------------------------------------------------------------------------------
# penalties


def compression_penalty_limit(D: int, d: int, k: int) -> float:
    """Small-τ limit (D − d)/(D − k) of D_R for k-dim data in R^D projected onto d ≥ k coordinates.

    Parameters
    ----------
    D : int
        Ambient data dimension (≥ 1).
    d : int
        Latent dimension, in ``[k, D]``.
    k : int
        Intrinsic data dimension, in ``[0, D − 1]``.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        An argument is not an integer.
    ValueError
        An argument out of range.

    Examples
    --------
    >>> compression_penalty_limit(16, 9, 2)
    0.5
    """
    D = check_int("D", D, min=1)
    k = check_int("k", k, min=0, max=D - 1)
    d = check_int("d", d, min=k, max=D)
    return (D - d) / (D - k)


def compression_penalty(tau: Any, D: int, d: int, k: int = 2, variance: float = 1.0) -> np.ndarray:
    """Dimensional compression: D_R(τ) for k-dimensional data in R^D encoded by d ≥ k coordinates.

    Data x ~ N(0, σ² I_k) embedded isometrically in R^D, encoder z = first d ≥ k coordinates
    (an isometry on the data). R_x = −k/(σ² + τ)² − (D − k)/τ², R_z = −k/(σ² + τ)² −
    (d − k)/τ², so D_R = ((D − d)/τ²)/|R_x| → (D − d)/(D − k) as τ → 0.

    Parameters
    ----------
    tau : float or array_like
        Noise levels τ > 0.
    D : int
        Ambient dimension (≥ 1; the eigenvalue arrays must fit in memory).
    d : int
        Latent dimension, in ``[k, D]``.
    k : int, default 2
        Intrinsic dimension, in ``[0, D − 1]``.
    variance : float, default 1.0
        σ² > 0.

    Returns
    -------
    numpy.ndarray
        D_R, tau's shape.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        τ ≤ 0, a dimension out of range or too large for memory, or σ² ≤ 0.

    Examples
    --------
    >>> round(float(compression_penalty(1e-6, 16, 9, 2)), 6)
    0.5
    """
    compression_penalty_limit(D, d, k)  # validates the dimensions
    t = check_real("tau", tau, low=0.0, low_inclusive=False)
    v = check_scalar("variance", variance, low=0.0, low_inclusive=False)
    check_allocation("the terms (tau, D)", (t.size, D), np.float64, names="tau and D")
    lx = np.r_[np.full(k, v), np.zeros(D - k)]
    lz = np.r_[np.full(k, v), np.zeros(d - k)]
    return fir_deviation(gaussian_fisher_information_rate(np.asarray(tau, dtype=float), lz),
                         gaussian_fisher_information_rate(np.asarray(tau, dtype=float), lx))


def tangential_encoder(delta: float) -> np.ndarray:
    """The tangential-distortion encoder E = diag(√(1 + δ), √(1 − δ)) as a matrix.

    Parameters
    ----------
    delta : float
        Distortion δ in (−1, 1).

    Returns
    -------
    numpy.ndarray
        ``(2, 2)``.

    Raises
    ------
    TypeError
        ``delta`` is not a real number.
    ValueError
        ``delta`` outside (−1, 1), NaN or not a scalar.

    Examples
    --------
    >>> tangential_encoder(0.0)
    array([[1., 0.],
           [0., 1.]])
    """
    dl = check_scalar("delta", delta, low=-1.0, high=1.0, low_inclusive=False, high_inclusive=False)
    return np.diag([math.sqrt(1 + dl), math.sqrt(1 - dl)])


def tangential_distortion_penalty(tau: Any, delta: Any, variances: Any = (1.0, 0.25), *,
                                  scale_corrected: bool = False) -> np.ndarray:
    """Tangential distortion: D_R(τ) for x ~ N(0, diag(σ₁², σ₂²)), z = diag(√(1+δ), √(1−δ)) x.

    Closed form: R_z = −Σ 1/(σ_i²(1 ± δ) + τ)², R_x = −Σ 1/(σ_i² + τ)². The deviation is
    linear in δ for anisotropic data (the default σ² = (1, ¼)); for isotropic data the first-order
    terms cancel by symmetry (δ ↦ −δ swaps the axes) and D_R = 3δ²/(1 + τ)² + O(δ⁴).

    Parameters
    ----------
    tau : float or array_like
        Noise levels τ > 0.
    delta : float or array_like
        Distortions δ in (−1, 1), broadcastable against ``tau``.
    variances : sequence of float, default (1.0, 0.25)
        The data variances (σ₁², σ₂²) > 0.
    scale_corrected : bool, default False
        Remove the overall scale c² = Σσ_i²(1 ± δ)/Σσ_i² first.

    Returns
    -------
    numpy.ndarray
        Shape broadcast(delta, tau).

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        τ ≤ 0, δ outside (−1, 1), variances not two positive numbers, NaN/inf, or shapes
        that do not broadcast.

    Examples
    --------
    >>> round(float(tangential_distortion_penalty(1.0, 0.01, variances=(1.0, 1.0))), 8)  # 3δ²/(1 + τ)²
    7.5e-05
    """
    t = np.asarray(check_real("tau", tau, low=0.0, low_inclusive=False))
    dl = np.asarray(check_real("delta", delta, low=-1.0, high=1.0, low_inclusive=False, high_inclusive=False))
    s = check_real("variances", variances, low=0.0, low_inclusive=False)
    if s.shape != (2,):
        raise ValueError(f"variances must be two positive numbers (σ₁², σ₂²), got shape {s.shape}")
    scale_corrected = check_bool("scale_corrected", scale_corrected)
    try:
        dl, t = np.broadcast_arrays(dl, t)
    except ValueError as exc:
        raise ValueError(f"delta and tau must broadcast together, got shapes {dl.shape} and {t.shape}") from exc
    a1, a2 = s[0] * (1 + dl), s[1] * (1 - dl)
    c2 = (a1 + a2) / s.sum() if scale_corrected else np.ones_like(t)
    tz = c2 * t
    Rz = c2**2 * -(1 / (a1 + tz) ** 2 + 1 / (a2 + tz) ** 2)
    Rx = -(1 / (s[0] + t) ** 2 + 1 / (s[1] + t) ** 2)
    return np.abs(Rz - Rx) / np.abs(Rx)


def curvature_encoder(eps: float) -> Callable:
    """(x₁, x₂) ↦ (sin(εx₁)/ε, x₂, (1 − cos(εx₁))/ε): bends the x₁ axis into a circle of radius 1/ε.

    The map is an isometry of the plane onto a cylinder (no tangential distortion); ε = 0 is
    the flat embedding (x₁, x₂, 0).

    Parameters
    ----------
    eps : float
        Curvature ε ≥ 0.

    Returns
    -------
    callable
        The encoder, on NumPy arrays and torch tensors of shape (n, 2) → (n, 3).

    Raises
    ------
    TypeError
        ``eps`` is not a real number.
    ValueError
        ``eps`` negative, NaN/inf or not a scalar.

    Examples
    --------
    >>> curvature_encoder(0.0)(np.array([[1.0, 2.0]]))
    array([[1., 2., 0.]])
    """
    e = check_scalar("eps", eps, low=0.0)

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

    Parameters
    ----------
    tau : float or array_like
        Noise levels τ > 0.
    eps : float
        Curvature ε > 0.
    scale_corrected : bool, default False
        Remove the overall scale c² = tr Cov z / tr Cov x first.
    **quad
        Settings of :func:`pushforward_fisher_curve` (``n_outer``, ``n_inner``, ...).

    Returns
    -------
    dict
        ``tau``, ``R_z``, ``R_ref``, ``D_R`` (and ``scale`` when scale-corrected).

    Raises
    ------
    TypeError
        An argument of the wrong type or an unknown quadrature setting.
    ValueError
        τ ≤ 0, ε ≤ 0, NaN/inf, or a quadrature setting out of range.

    Examples
    --------
    >>> r = curvature_injection_penalty([0.01, 100.0], 1.0, n_outer=16, n_inner=6)
    >>> bool(np.all(r["D_R"] < 0.05))  # small at both ends: locally flat, and washed out
    True
    """
    t = np.atleast_1d(check_real("tau", tau, low=0.0, low_inclusive=False)).ravel()
    e = check_scalar("eps", eps, low=0.0, low_inclusive=False)
    scale_corrected = check_bool("scale_corrected", scale_corrected)

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


def activation_fisher(activation: Callable[[np.ndarray], np.ndarray], tau: Any, dim: int = 2,
                      **quad: Any) -> dict[str, np.ndarray]:
    """I, R, MMSE, MMSE rate of z = σ(x) (pointwise), x ~ N(0, I_dim): dim × the 1-D quadrature.

    Parameters
    ----------
    activation : callable
        The pointwise map σ: R → R (vectorised).
    tau : float or array_like
        Noise levels τ > 0.
    dim : int, default 2
        The dimension (≥ 1).
    **quad
        Settings of :func:`pushforward_fisher_1d`.

    Returns
    -------
    dict
        As :func:`pushforward_fisher_1d`, totals over ``dim`` coordinates.

    Raises
    ------
    TypeError
        ``activation`` is not callable, or an argument of the wrong type.
    ValueError
        As :func:`pushforward_fisher_1d`.

    Examples
    --------
    >>> r = activation_fisher(lambda x: x, 1.0, dim=3)  # N(0, I₃) noised by 1: I = 3/2
    >>> round(float(r["I"][0]), 9)
    1.5
    """
    check_callable("activation", activation)
    dim = check_int("dim", dim, min=1)
    r = pushforward_fisher_1d(activation, tau, **quad)
    return {k: (v * dim if k in ("I", "R", "mmse", "mmse_rate") else v) for k, v in r.items()}


# ----------------------------------------------------------------------------------------------
# bi-Lipschitz


def linear_bilipschitz_bounds(A: Any, I_x: Callable[[np.ndarray], np.ndarray], tau, form: str = "general"):
    """Bounds on I_z(τ) for z = A x from the data's I_x (see module docstring for both forms).

    Parameters
    ----------
    A : array_like
        ``(d, D)`` matrix of full column rank (d ≥ D), singular values m ≤ … ≤ M, finite.
    I_x : callable
        Vectorised τ ↦ I_x(τ) of the data law.
    tau : float or array_like
        τ > 0.
    form : {"general", "gaussian"}, default "general"
        ``"general"`` (valid for every data law) or ``"gaussian"`` (the tighter form, valid
        for Gaussian data).

    Returns
    -------
    tuple of numpy.ndarray
        ``(lower, upper)`` of tau's shape.

    Raises
    ------
    TypeError
        ``A`` is not real or ``I_x`` not callable.
    ValueError
        τ ≤ 0, an unknown form, ``A`` not of full column rank or with NaN, or ``I_x``
        returning NaN.

    Examples
    --------
    >>> lo, hi = linear_bilipschitz_bounds(2 * np.eye(2), lambda t: 2 / (1 + t), 1.0)
    >>> float(lo), float(hi)  # an isometry up to scale: both bounds are I_z = 2/(4 + τ)
    (0.4, 0.4)
    """
    check_choice("form", form, ("general", "gaussian"))
    t = check_real("tau", tau, low=0.0, low_inclusive=False)
    A = real_array("A", A)
    check_callable("I_x", I_x)
    if A.ndim != 2 or A.shape[0] < A.shape[1]:
        raise ValueError(f"A must be a (d, D) matrix with d ≥ D (an injective encoder), got shape {A.shape}")
    sv = np.linalg.svd(A, compute_uv=False)
    m, M = sv.min(), sv.max()
    if m <= 1e-12 * M:
        raise ValueError("A must have full column rank (smallest singular value > 0)")
    k0 = (A.shape[0] - A.shape[1]) / t
    for u in (t / m**2, t / M**2):
        iu = np.asarray(I_x(u))
        if iu.dtype.kind not in "iuf" or not np.isfinite(iu).all():
            raise ValueError(f"I_x must return finite real values, got {iu!r:.60}")
    if form == "general":
        return M**-2 * np.asarray(I_x(t / m**2)) + k0, m**-2 * np.asarray(I_x(t / M**2)) + k0
    return M**-2 * np.asarray(I_x(t / M**2)) + k0, m**-2 * np.asarray(I_x(t / m**2)) + k0


# ----------------------------------------------------------------------------------------------
# analysis drivers


def analyse_linear_gaussian(A: Any, cov: Any, taus) -> "xarray.Dataset":  # noqa: F821
    """Exact I, R of x ~ N(μ, Σ) and z = A x ~ N(Aμ, AΣAᵀ) along τ, with D_R and D̃_R.

    The scale is c² = tr(AΣAᵀ)/tr Σ.

    Parameters
    ----------
    A : array_like
        ``(d, D)`` linear encoder, finite.
    cov : array_like
        ``(D, D)`` data covariance Σ (symmetric positive semi-definite, non-zero).
    taus : float or array_like
        Noise levels τ > 0.

    Returns
    -------
    xarray.Dataset
        Over ``tau``: ``I_x``, ``R_x``, ``I_z``, ``R_z``, ``D_R``, ``D_R_scaled``; attr ``scale``.

    Raises
    ------
    TypeError
        An input is not real.
    ValueError
        τ ≤ 0, mismatched shapes, NaN/inf, a covariance that is not PSD or is zero, or an
        encoder that maps the data to zero.

    Examples
    --------
    >>> ds = analyse_linear_gaussian(3 * np.eye(2), np.eye(2), [0.1, 1.0])
    >>> ds.attrs["scale"], ds.D_R_scaled.values.round(12).tolist()
    (3.0, [0.0, 0.0])
    """
    import xarray as xr

    t = np.atleast_1d(check_real("taus", taus, low=0.0, low_inclusive=False)).ravel()
    A = real_array("A", A)
    S = real_array("cov", cov)
    if A.ndim != 2 or S.ndim != 2 or S.shape != (A.shape[1], A.shape[1]):
        raise ValueError(f"cov must be (D, D) with D = A.shape[1] = {A.shape[1] if A.ndim == 2 else '?'}, got {S.shape}")
    lx = covariance_spectrum(S)
    lz = covariance_spectrum(A @ S @ A.T)
    if not lx.sum() > 0 or not lz.sum() > 0:
        raise ValueError("cov and A @ cov @ A.T must have positive trace (the encoder scale is undefined)")
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
    encoder : callable
        Maps a ``(n, D)`` tensor to ``(n, d)`` (a torch module or a function).
    x : array_like
        ``(n, D)`` data samples, n ≥ 2, finite.
    taus : float or array_like
        Data-side noise levels τ > 0.
    bandwidth : float, default 0.0
        Kernel bandwidth ≥ 0 of the smoothed empirical laws.
    n_mc : int, default 2000
        Monte Carlo samples per estimate, in ``[2, MAX_MC_SAMPLES]``.
    seed : int, default 0
        Seed (≥ 0; seed, seed + 1 and seed + 2 are used).
    batch_size : int, default 256
        Samples per batch (≥ 1).

    Returns
    -------
    xarray.Dataset
        Over ``tau``: ``I_x``, ``R_x``, ``I_z``, ``R_z``, ``R_z_scaled_tau`` (at c²τ), each with
        ``*_stderr``, plus ``D_R``, ``D_R_scaled``; attr ``scale``.

    Raises
    ------
    TypeError
        ``encoder`` is not callable, ``x`` not real, or a count not an integer.
    ValueError
        τ ≤ 0, bad samples, a count out of range, or an encoder returning NaN.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(200, 2))
    >>> ds = analyse_encoder(lambda v: 2 * v, x, [1.0, 10.0], n_mc=200)
    >>> round(ds.attrs["scale"], 12)
    2.0
    >>> bool(np.all(ds.D_R_scaled < 0.05)), bool(np.all(ds.D_R > 0.3))  # a scaled isometry: only the scale differs
    (True, True)
    """
    import torch
    import xarray as xr

    t = np.atleast_1d(check_real("taus", taus, low=0.0, low_inclusive=False)).ravel()
    check_callable("encoder", encoder)
    bw = check_scalar("bandwidth", bandwidth, low=0.0)
    n_mc = check_int("n_mc", n_mc, min=2, max=MAX_MC_SAMPLES)
    seed = check_int("seed", seed, min=0)
    batch_size = check_int("batch_size", batch_size, min=1)
    if not hasattr(x, "detach"):
        _real_numpy("x", x)
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
