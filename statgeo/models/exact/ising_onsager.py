"""Onsager's exact thermodynamics of the infinite 2-D Ising model at zero field.

Conventions (docs/ising_exact.md, "Conventions"): square lattice, coupling J > 0, k_B = 1,
K = J/T, h = 0. All functions broadcast over arrays of K and return float64 arrays
(0-d arrays for scalar input).

Formulas (Onsager 1944; Yang 1952; see e.g. K. Huang, *Statistical Mechanics*, 2nd ed.,
§15.5, or R. J. Baxter, *Exactly Solved Models*, ch. 7):

* −βf = ln(2 cosh 2K) + (1/2π) ∫₀^π ln{½[1 + (1 − κ² sin²φ)^{1/2}]} dφ,
  κ = 2 sinh 2K / cosh² 2K;
* u = −J coth 2K [1 + (2/π)(2 tanh² 2K − 1) 𝐊(κ)];
* c = (4/π)(K coth 2K)² {𝐊 − 𝐄 − (1 − tanh² 2K)[π/2 + (2 tanh² 2K − 1)𝐊]}
  (the variant (2/π)(K coth 2K)²{2𝐊 − 2𝐄 − (1 − tanh² 2K)[…]}, i.e. with a factor ½ on
  the last term, is sometimes printed and violates c = −K² du/dK; checked in the tests);
* m₀ = (1 − sinh⁻⁴ 2K)^{1/8} for K > K_c, 0 otherwise.

𝐊, 𝐄 are the complete elliptic integrals of modulus κ (SciPy's ``ellipk``/``ellipe`` take the
parameter m = κ²). Near K_c we use 1 − κ² = (1 − sinh² 2K)² / cosh⁴ 2K, which is free of
cancellation, with ``ellipkm1``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import integrate, special

from statgeo.checks import check_real

__all__ = [
    "K_C",
    "T_C",
    "onsager_log_z_per_site",
    "onsager_energy_per_site",
    "onsager_specific_heat_per_site",
    "onsager_magnetisation",
]

#: critical coupling K_c = ½ ln(1 + √2) of the square-lattice Ising model
K_C: float = 0.5 * math.log1p(math.sqrt(2.0))
#: critical temperature T_c = 2 / ln(1 + √2) for J = 1 (k_B = 1)
T_C: float = 2.269185314213022


def _check_K(K) -> np.ndarray:
    if isinstance(K, np.ndarray) and K.dtype.kind not in "iuf":
        raise TypeError(f"K must be a real number or array of reals, got dtype {K.dtype}")
    return check_real("K", K, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False)


def _one_minus_kappa2(K: np.ndarray) -> np.ndarray:
    """1 − κ² = (1 − sinh² 2K)² / cosh⁴ 2K, evaluated without cancellation."""
    s = np.sinh(2 * K)
    c = np.cosh(2 * K)
    return ((1.0 - s) * (1.0 + s) / c**2) ** 2


def _onsager_integral(kappa2: float) -> float:
    # (1/2π)∫₀^π = (1/π)∫₀^{π/2} by symmetry about π/2; the integrand is smooth on [0, π/2)
    # and has its only near-singular point at π/2 when κ → 1 (adaptive quadrature handles it).
    def f(phi: float) -> float:
        return math.log(0.5 * (1.0 + math.sqrt(max(0.0, 1.0 - kappa2 * math.sin(phi) ** 2))))

    val, _ = integrate.quad(f, 0.0, 0.5 * math.pi, epsabs=1e-15, epsrel=1e-13, limit=200)
    return val / math.pi


def onsager_log_z_per_site(K: Any) -> np.ndarray:
    r"""Onsager's free energy: −βf = lim_{N→∞} (1/N) ln Z at h = 0.

    .. math:: -\beta f = \ln(2\cosh 2K) + \frac{1}{2\pi}\int_0^\pi
              \ln\tfrac12\left[1 + \sqrt{1 - \kappa^2\sin^2\phi}\right] d\phi,
              \qquad \kappa = \frac{2\sinh 2K}{\cosh^2 2K}.

    Parameters
    ----------
    K : array_like
        Coupling K = J/T > 0 (finite; lists are accepted).

    Returns
    -------
    numpy.ndarray
        ln Z / N, same shape as ``K``.

    Raises
    ------
    TypeError
        ``K`` is not real.
    ValueError
        ``K`` ≤ 0, NaN or infinite.

    References
    ----------
    L. Onsager, Phys. Rev. 65, 117 (1944); K. Huang, *Statistical Mechanics*, eq. (15.100).

    Examples
    --------
    >>> round(float(onsager_log_z_per_site(K_C)), 6)  # ln(√2) + 2G/π at the critical point
    0.929695
    """
    K = _check_K(K)
    c = np.cosh(2 * K)
    kappa2 = 1.0 - _one_minus_kappa2(K)
    uniq, inv = np.unique(kappa2, return_inverse=True)
    vals = np.array([_onsager_integral(float(k2)) for k2 in uniq])
    return np.log(2 * c) + vals[inv].reshape(K.shape)


def _ellip_terms(K: np.ndarray):
    p = _one_minus_kappa2(K)  # 1 − m, m = κ²
    Kell = special.ellipkm1(p)  # 𝐊(m), accurate as m → 1
    Eell = special.ellipe(1.0 - p)
    t2 = np.tanh(2 * K) ** 2
    return Kell, Eell, t2


def onsager_energy_per_site(K: Any, J: float = 1.0) -> np.ndarray:
    r"""Internal energy per site u = ⟨H⟩/N of the infinite lattice at h = 0.

    .. math:: u = -J \coth 2K \left[1 + \frac{2}{\pi}(2\tanh^2 2K - 1)\,\mathbf K(\kappa)\right].

    At K = K_c the product (2 tanh² 2K − 1)𝐊 → 0 and u(K_c) = −√2 J.

    Parameters
    ----------
    K : array_like
        Coupling K = J/T > 0 (finite; lists are accepted).
    J : float, default 1.0
        Coupling constant (energy unit), J > 0.

    Returns
    -------
    numpy.ndarray
        u in units of J, same shape as ``K``.

    Raises
    ------
    TypeError
        ``K`` or ``J`` is not real.
    ValueError
        ``K`` or ``J`` ≤ 0, NaN or infinite.

    References
    ----------
    K. Huang, *Statistical Mechanics*, eq. (15.101).

    Examples
    --------
    >>> bool(np.isclose(onsager_energy_per_site(K_C), -np.sqrt(2)))  # u(K_c) = −√2 J
    True
    """
    K = _check_K(K)
    J = float(check_real("J", J, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))
    Kell, _, t2 = _ellip_terms(K)
    with np.errstate(invalid="ignore"):
        prod = np.where(np.isfinite(Kell), (2 * t2 - 1) * Kell, 0.0)
    return -J / np.tanh(2 * K) * (1.0 + (2.0 / np.pi) * prod)


def onsager_specific_heat_per_site(K: Any) -> np.ndarray:
    r"""Specific heat per site c = du/dT (k_B = 1) of the infinite lattice at h = 0.

    .. math:: c = \frac{4}{\pi}(K\coth 2K)^2\left\{\mathbf K - \mathbf E
              - (1 - \tanh^2 2K)\left[\frac{\pi}{2} + (2\tanh^2 2K - 1)\mathbf K\right]\right\}.

    This is the form that satisfies c = −K² du/dK (checked in the tests); it diverges
    logarithmically at K_c (``inf`` is returned where 𝐊 is infinite).

    Parameters
    ----------
    K : array_like
        Coupling K = J/T > 0 (finite; lists are accepted).

    Returns
    -------
    numpy.ndarray
        c per site, same shape as ``K``.

    Raises
    ------
    TypeError
        ``K`` is not real.
    ValueError
        ``K`` ≤ 0, NaN or infinite.

    References
    ----------
    Onsager (1944); K. Huang, *Statistical Mechanics*, 2nd ed., §15.5 (the bracket's last
    term carries no factor ½; verified against −K² du/dK).

    Examples
    --------
    >>> bool(onsager_specific_heat_per_site(0.44) > onsager_specific_heat_per_site(0.3))
    True
    """
    K = _check_K(K)
    Kell, Eell, t2 = _ellip_terms(K)
    pref = (4.0 / np.pi) * (K / np.tanh(2 * K)) ** 2
    with np.errstate(invalid="ignore"):
        brace = Kell - Eell - (1 - t2) * (0.5 * np.pi + np.where(np.isfinite(Kell), (2 * t2 - 1) * Kell, 0.0))
    return pref * brace


def onsager_magnetisation(K: Any) -> np.ndarray:
    r"""Spontaneous magnetisation per site m₀ (Onsager–Yang).

    .. math:: m_0 = \left(1 - \sinh^{-4} 2K\right)^{1/8} \text{ for } K > K_c, \quad 0 \text{ otherwise.}

    Parameters
    ----------
    K : array_like
        Coupling K = J/T > 0 (finite; lists are accepted).

    Returns
    -------
    numpy.ndarray
        m₀, same shape as ``K``.

    Raises
    ------
    TypeError
        ``K`` is not real.
    ValueError
        ``K`` ≤ 0, NaN or infinite.

    References
    ----------
    C. N. Yang, Phys. Rev. 85, 808 (1952).

    Examples
    --------
    >>> onsager_magnetisation([0.3, 1.0]).round(4).tolist()
    [0.0, 0.9993]
    """
    K = _check_K(K)
    s = np.sinh(2 * K)
    with np.errstate(invalid="ignore", divide="ignore"):
        base = -np.expm1(-4 * np.log(s))
        m = np.where(K > K_C, np.clip(base, 0.0, None) ** 0.125, 0.0)
    return m
