"""Kaufman's exact partition function of the finite L×L Ising torus at zero field.

Z = ½ (2 sinh 2K)^{N/2} (Z₁ + Z₂ + Z₃ + Z₄), N = L², with (B. Kaufman, Phys. Rev. 76, 1232
(1949); A. E. Ferdinand & M. E. Fisher, Phys. Rev. 185, 832 (1969), eqs. (2.1)–(2.5))

    Z₁ = Π_{r=0}^{L−1} 2 cosh(L γ_{2r+1}/2),   Z₂ = Π 2 sinh(L γ_{2r+1}/2),
    Z₃ = Π_{r=0}^{L−1} 2 cosh(L γ_{2r}/2),     Z₄ = Π 2 sinh(L γ_{2r}/2),
    cosh γ_l = cosh 2K coth 2K − cos(π l / L)  (γ_l > 0, l ≥ 1),
    γ₀ = 2K + ln tanh K                         (< 0 for K < K_c).

Log-space evaluation (no cancellation, no overflow; see docs/ising_exact.md):

* γ_l = log1p(d_l + √(d_l(2 + d_l))) with d_l = cosh γ_l − 1 = (1 − s)²/s + 2 sin²(πl/2L),
  s = sinh 2K, so small γ_l (near K_c) keep full relative accuracy;
* ln(2 cosh x) = |x| + log1p(e^{−2|x|}), ln(2 sinh x) = x + log1p(−e^{−2x}) (x > 0);
* Z₁ + Z₂ = Z₁ (1 + Π tanh x_r) and Z₃ + Z₄ = Z₃ (1 + sgn(γ₀) Π tanh |x_r|), with
  Π tanh = exp(Σ ln tanh) and 1 − exp(T) = −expm1(T): the difference Z₃ − |Z₄| that makes the
  naive sum negative for K < K_c at L ≳ 256 is computed to full relative precision.

Derivatives in K are analytic: with c = cosh 2K, f = c²/s = cosh γ_l + cos(πl/L),
f' = 2c(s² − 1)/s², f'' = 4(s⁴ + s² + 2)/s³, one has γ_l' = f'/sinh γ_l and
γ_l'' = (f'' sinh²γ_l − cosh γ_l f'²)/sinh³γ_l for l ≥ 1 (numerator expanded in s, cos θ), and γ₀' = 2 + 2/s, γ₀'' = −4c/s².
Writing w_i = Z_i / ΣZ (signed) and D_i = d ln|Z_i|/dK,

    d ln ΣZ/dK = Σ_i w_i D_i =: D̄,     d² ln ΣZ/dK² = Σ_i w_i [D_i' + (D_i − D̄)²],

the second form being free of the ⟨B⟩² − ⟨B²⟩ cancellation. The factor 2 sinh(Lγ₀/2) of Z₄,
whose logarithmic derivative diverges at γ₀ = 0, is differentiated as a factor (not through
its logarithm), so the formulas hold at K = K_c too.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import numpy as np

from statgeo.checks import check_int, check_real

__all__ = ["kaufman_log_z", "kaufman_thermo", "KAUFMAN_K_MAX", "KAUFMAN_L_MAX"]

logger = logging.getLogger(__name__)

#: largest coupling accepted by the Kaufman functions
KAUFMAN_K_MAX: float = 5.0
#: largest linear size accepted (memory is O(L) per K; time O(L))
KAUFMAN_L_MAX: int = 1 << 20

_CHUNK_ELEMENTS = 1 << 15  # K values × L handled per vectorised block


def _check_args(K, L) -> tuple[np.ndarray, int]:
    L = check_int("L", L, min=2, max=KAUFMAN_L_MAX)
    if isinstance(K, np.ndarray) and K.dtype.kind not in "iuf":
        raise TypeError(f"K must be a real number or array of reals, got dtype {K.dtype}")
    K = check_real("K", K, low=0.0, low_inclusive=False, high=KAUFMAN_K_MAX)
    return K, L


@functools.lru_cache(maxsize=32)
def _angles(L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct 2 sin²(πl/2L) = 1 − cos(πl/L) and their multiplicities.

    γ_l = γ_{2L−l}, so only l ≤ L is computed: odd l ∈ {1, 3, …} and even l ∈ {2, 4, …}
    (l = 0 is handled separately), each counted twice except l = L.
    """
    out = []
    for first in (1, 2):
        l = np.arange(first, L + 1, 2)
        mult = np.where(l == L, 1.0, 2.0)
        a = 2 * np.sin(np.pi * l / (2 * L)) ** 2
        a.setflags(write=False)
        mult.setflags(write=False)
        out += [a, mult]
    return tuple(out)


def _gammas(K: np.ndarray, a: np.ndarray, order: int):
    """γ_l and (order ≥ 1) γ_l', γ_l'' for K (shape (k, 1)) and 2sin² terms a (shape (m,))."""
    s = np.sinh(2 * K)
    d = (1.0 - s) ** 2 / s + a
    sh = np.sqrt(d * (2.0 + d))  # sinh γ
    g = np.log1p(d + sh)
    if order == 0:
        return g, None, None
    c = np.cosh(2 * K)
    f1 = 2 * c * (s * s - 1.0) / (s * s)
    g1 = f1 / sh
    # γ'' = (f'' sinh²γ − cosh γ f'²)/sinh³γ; the numerator, with f'' = 4(s⁴ + s² + 2)/s³ and
    # cosh γ = f − cos θ, is expanded as a polynomial in (s, cos θ) so that the leading terms
    # cancel analytically (the naive form loses ~ln(s²) digits at large K).
    ct = 1.0 - a  # cos(πl/L)
    s2 = s * s
    P = (ct * ct * s2 * (s2 * s2 + s2 + 2.0)
         - ct * s * (((s2 + 5.0) * s2 + 7.0) * s2 + 3.0)
         + ((2.0 * s2 + 6.0) * s2 + 3.0) * s2 + 1.0)
    g2 = 4.0 * P / (s2 * s2 * s * sh**3)
    return g, g1, g2


def _log_cosh_sinh_sums(x: np.ndarray, mult: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ ln 2cosh x and Σ ln 2sinh x over the last axis (x > 0), weighted by ``mult``."""
    y = np.exp(-2.0 * x)
    lp = np.log1p(y)
    lm = np.log1p(-y)
    small = y > 0.5  # x < ln2/2: ln(1 − e^{−2x}) more accurately as ln(−expm1(−2x))
    if small.any():
        lm[small] = np.log(-np.expm1(-2.0 * x[small]))
    sx = x @ mult
    return sx + lp @ mult, sx + lm @ mult


#: below this K the derivatives use the high-temperature form (γ_l = −ln sinh 2K + β_l)
_K_HIGH_T = 0.2


def _beta_derivs(K: np.ndarray, a: np.ndarray):
    """|γ_l|, β_l' and β_l'' where |γ_l| = −ln s + β_l, s = sinh 2K < 1 (high temperature).

    With ct = cos(πl/L), f = (1 + s²)/s, sinh γ = √((f − ct)² − 1):
    β' = 2c·Nr / (s sinh γ · Dn), Nr = 3s − 2(1 + s²)ct + s ct², Dn = s sinh γ + 1 − s²;
    β'' = A[(2s/c − (s sinh γ)'/(s sinh γ) − Dn'/Dn) Nr + Nr'], A = β'/Nr, with
    (s sinh γ)' = (2c/sinh γ)[(f − ct)(2s − ct) − 1], Dn' = (s sinh γ)' − 4sc,
    Nr' = 2c(3 − 4s ct + ct²). All terms are O(1) as K → 0 (no 1/K cancellation).
    """
    s = np.sinh(2 * K)
    c = np.cosh(2 * K)
    f = c * c / s
    ct = 1.0 - a
    d = (1.0 - s) ** 2 / s + a
    sh = np.sqrt(d * (2.0 + d))
    g = np.log1p(d + sh)
    ssh = s * sh
    Dn = ssh + 1.0 - s * s
    Nr = 3.0 * s - 2.0 * (1.0 + s * s) * ct + s * ct * ct
    A = 2.0 * c / (ssh * Dn)
    b1 = A * Nr
    ssh1 = (2.0 * c / sh) * ((f - ct) * (2.0 * s - ct) - 1.0)
    Dn1 = ssh1 - 4.0 * s * c
    Nr1 = 2.0 * c * (3.0 - 4.0 * s * ct + ct * ct)
    b2 = A * ((2.0 * s / c - ssh1 / ssh - Dn1 / Dn) * Nr + Nr1)
    return g, b1, b2


def _high_t_thermo(K: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    """⟨B⟩ and Var(B) for K < K_c in the high-temperature form.

    Writing |γ_l| = −ln s + β_l, the O(N/K) prefactor terms N coth 2K and −2N/sinh² 2K cancel
    analytically against the Σ|γ_l| terms (each group has Σ_l mult_l = L), leaving

        ⟨B⟩ = Σ_i w_i D̃_i,      D̃_i = Σ_l m_l [(L/2)θ_i β_l' + (c/s) L (1 − θ_i)],
        Var B = Σ_i w_i [E_i + (D̃_i − ⟨B⟩)²],
        E_i = Σ_l m_l [(L/2)θ_i β_l'' − (2L/s²)(1 − θ_i) + (L/2)² θ_i' |γ_l|'²],

    θ = tanh(L|γ|/2) for Z₁, Z₃ and coth for Z₂, Z₄ (l = 0 enters the even groups with
    |γ₀| and Z₄ carries the sign of γ₀ < 0 in its weight).
    """
    h = 0.5 * L
    a_odd, m_odd, a_even, m_even = _angles(L)
    a_ev = np.concatenate([[0.0], a_even])
    m_ev = np.concatenate([[1.0], m_even])
    Kc = K[:, None]
    s = np.sinh(2 * K)[:, None]
    c = np.cosh(2 * K)[:, None]
    out_D, out_E, logs = [], [], []
    for a, m in ((a_odd, m_odd), (a_ev, m_ev)):
        g, b1, b2 = _beta_derivs(Kc, a)
        x = h * g
        y = np.exp(-2.0 * x)
        lc, ls = _log_cosh_sinh_sums(x, m)
        logs += [lc, ls]
        gabs1 = b1 - 2.0 * c / s
        for om, dth in ((2 * y / (1 + y), 4 * y / (1 + y) ** 2),        # tanh: 1 − θ, θ'
                        (-2 * y / (1 - y), -4 * y / (1 - y) ** 2)):     # coth
            th = 1.0 - om
            out_D.append((h * th * b1 + (c / s) * L * om) @ m)
            out_E.append((h * th * b2 - (2.0 * L / (s * s)) * om + h * h * dth * gabs1 * gabs1) @ m)
    logZ1, logZ2, logZ3, logZ4 = logs
    sgn = np.array([1.0, 1.0, 1.0, -1.0])
    lz = np.stack([logZ1, logZ2, logZ3, logZ4])
    w = sgn[:, None] * np.exp(lz - lz.max(axis=0))
    w = w / w.sum(axis=0)
    D = np.stack(out_D)
    E = np.stack(out_E)
    mean = (w * D).sum(axis=0)
    var = (w * (E + (D - mean) ** 2)).sum(axis=0)
    return mean, var


def _kaufman_block(K: np.ndarray, L: int, order: int):
    """Kaufman on a 1-D block of K values: log Z and, if order ≥ 1, d/dK, d²/dK²."""
    N = float(L) * L
    h = 0.5 * L
    a_odd, m_odd, a_even, m_even = _angles(L)
    Kc = K[:, None]
    s = np.sinh(2 * K)
    c = np.cosh(2 * K)

    go, go1, go2 = _gammas(Kc, a_odd, order)            # l = 1, 3, …   (≤ L)
    ge, ge1, ge2 = _gammas(Kc, a_even, order)           # l = 2, 4, …   (≤ L)
    g0 = 2 * K + np.log(np.tanh(K))                     # l = 0, signed
    xo, xe, x0 = h * go, h * ge, h * g0
    ax0 = np.abs(x0)
    sgn0 = np.sign(x0)

    logZ1, logZ2 = _log_cosh_sinh_sums(xo, m_odd)
    lc_e, logR4 = _log_cosh_sinh_sums(xe, m_even)
    lc_0 = ax0 + np.log1p(np.exp(-2 * ax0))
    with np.errstate(divide="ignore"):
        y0 = np.exp(-2 * ax0)
        ls_0 = ax0 + np.where(y0 < 0.5, np.log1p(-y0), np.log(-np.expm1(-2 * ax0)))  # −inf at γ₀ = 0
    logZ3 = lc_0 + lc_e
    logZ4 = ls_0 + logR4  # ln|Z₄|

    T12 = logZ2 - logZ1  # Σ ln tanh x (≤ 0)
    T34 = logZ4 - logZ3
    log12 = logZ1 + np.log1p(np.exp(T12))
    with np.errstate(divide="ignore"):
        one_pm = np.where(sgn0 >= 0, np.log1p(np.exp(T34)), np.log(-np.expm1(T34)))
    log34 = logZ3 + one_pm
    logS = np.logaddexp(log12, log34)
    log_z = -np.log(2.0) + 0.5 * N * np.log(2 * s) + logS
    if order == 0:
        return log_z, None, None

    # weights w_i = Z_i / ΣZ (signed for Z₄); c4 = R₄·2cosh(x₀)/ΣZ
    w1 = np.exp(logZ1 - logS)
    w2 = np.exp(logZ2 - logS)
    w3 = np.exp(logZ3 - logS)
    w4 = sgn0 * np.exp(logZ4 - logS)
    c4 = np.exp(logR4 + lc_0 - logS)
    # ln Z_i and ln ΣZ are O(N) numbers with absolute rounding O(εN); the error common to all
    # weights is removed by normalising them to Σ w_i = 1 exactly (what is left multiplies
    # D_i − D̄, which is small).
    wsum = w1 + w2 + w3 + w4
    w1, w2, w3, w4, c4 = w1 / wsum, w2 / wsum, w3 / wsum, w4 / wsum, c4 / wsum

    th_o = np.tanh(xo)
    ct_o = 1.0 / th_o
    th_e = np.tanh(xe)
    ct_e = 1.0 / th_e
    th_0 = np.tanh(x0)
    g01 = 2.0 + 2.0 / s
    g02 = -4.0 * c / (s * s)
    p_o = h * go1           # dx/dK
    p_e = h * ge1
    q_o = h * go2           # d²x/dK²
    q_e = h * ge2
    p0 = h * g01
    q0 = h * g02
    po2 = p_o * p_o
    pe2 = p_e * p_e

    D1 = (th_o * p_o) @ m_odd
    D2 = (ct_o * p_o) @ m_odd
    D3 = th_0 * p0 + (th_e * p_e) @ m_even
    rho = (ct_e * p_e) @ m_even  # d ln R₄/dK

    D1p = ((1.0 - th_o * th_o) * po2 + th_o * q_o) @ m_odd
    D2p = ((1.0 - ct_o * ct_o) * po2 + ct_o * q_o) @ m_odd
    D3p = (1.0 - th_0 * th_0) * p0**2 + th_0 * q0 + ((1.0 - th_e * th_e) * pe2 + th_e * q_e) @ m_even
    rhop = ((1.0 - ct_e * ct_e) * pe2 + ct_e * q_e) @ m_even

    Dbar = w1 * D1 + w2 * D2 + w3 * D3 + (c4 * p0 + w4 * rho)
    V = (
        w1 * (D1p + (D1 - Dbar) ** 2)
        + w2 * (D2p + (D2 - Dbar) ** 2)
        + w3 * (D3p + (D3 - Dbar) ** 2)
        + w4 * p0**2 + c4 * q0 + w4 * rhop + 2 * c4 * p0 * (rho - Dbar) + w4 * (rho - Dbar) ** 2
    )
    mean_B = N * c / s + Dbar
    var_B = -2.0 * N / (s * s) + V
    hi = K < _K_HIGH_T
    if hi.any():
        mean_B[hi], var_B[hi] = _high_t_thermo(K[hi], L)
    return log_z, mean_B, var_B


def _kaufman(K: np.ndarray, L: int, order: int):
    flat = K.ravel()
    step = max(1, _CHUNK_ELEMENTS // L)
    outs = [np.empty(flat.shape) for _ in range(1 + 2 * (order > 0))]
    with np.errstate(over="ignore", under="ignore"):
        for i in range(0, flat.size, step):
            res = _kaufman_block(flat[i:i + step], L, order)
            for o, r in zip(outs, res):
                o[i:i + step] = r
    return tuple(o.reshape(K.shape) for o in outs)


def kaufman_log_z(K: Any, L: int) -> np.ndarray:
    r"""Exact total log Z of the L×L Ising torus at h = 0 (Kaufman 1949), in log space.

    .. math:: Z = \tfrac12 (2\sinh 2K)^{N/2} (Z_1 + Z_2 + Z_3 + Z_4)

    with Z₁…Z₄ as in the module docstring, evaluated without cancellation (module docstring
    and ``docs/ising_exact.md``). Cost O(L) per value of K, vectorised over K.

    Parameters
    ----------
    K : array_like
        Coupling K = J/T in (0, 5] (lists are accepted).
    L : int
        Linear size, 2 ≤ L ≤ 2²⁰ (N = L² spins, 2N bonds).

    Returns
    -------
    numpy.ndarray
        ln Z (total, not per site), float64, shape of ``K``.

    Raises
    ------
    TypeError
        ``K`` is not real or ``L`` not an integer.
    ValueError
        ``K`` outside (0, 5] or NaN, ``L`` outside [2, 2²⁰].

    References
    ----------
    B. Kaufman, Phys. Rev. 76, 1232 (1949); A. E. Ferdinand and M. E. Fisher, Phys. Rev. 185,
    832 (1969).

    Examples
    --------
    >>> from statgeo.models.exact import onsager_log_z_per_site
    >>> lz = kaufman_log_z(0.3, 256)
    >>> round(float(lz) / 256**2 - float(onsager_log_z_per_site(0.3)), 10)  # → Onsager as L → ∞
    0.0
    """
    K, L = _check_args(K, L)
    return _kaufman(K, L, 0)[0]


def kaufman_thermo(K: Any, L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Exact ln Z, ⟨B⟩ = d ln Z/dK and Var(B) = d² ln Z/dK² of the L×L torus at h = 0.

    B = Σ_⟨ij⟩ s_i s_j (2N bonds). The derivatives are analytic (chain rule through γ_l(K);
    see the module docstring), not finite differences; Var(B) is computed in the centred form
    Σ_i w_i [D_i' + (D_i − D̄)²]. The specific heat per site is c = K² Var(B)/N.

    Parameters
    ----------
    K : array_like
        Coupling K = J/T in (0, 5] (lists are accepted).
    L : int
        Linear size, 2 ≤ L ≤ 2²⁰.

    Returns
    -------
    log_z : numpy.ndarray
        Total ln Z, shape of ``K``.
    mean_B : numpy.ndarray
        ⟨B⟩, shape of ``K``.
    var_B : numpy.ndarray
        Var(B), shape of ``K``.

    Raises
    ------
    TypeError
        ``K`` is not real or ``L`` not an integer.
    ValueError
        ``K`` outside (0, 5] or NaN, ``L`` outside [2, 2²⁰].

    References
    ----------
    B. Kaufman, Phys. Rev. 76, 1232 (1949); A. E. Ferdinand and M. E. Fisher, Phys. Rev. 185,
    832 (1969).

    Examples
    --------
    >>> log_z, mean_B, var_B = kaufman_thermo([0.2, 0.44, 0.6], 32)
    >>> bool(var_B[1] > var_B[0]) and bool(var_B[1] > var_B[2])  # peak near K_c
    True
    """
    K, L = _check_args(K, L)
    return _kaufman(K, L, 1)
