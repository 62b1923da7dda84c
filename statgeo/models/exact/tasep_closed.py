"""Closed-form exact results for the open TASEP (Derrida, Evans, Hakim, Pasquier 1993).

Notation: N sites, entry rate α, exit rate β, a = 1/α, b = 1/β, natural coordinates
θ = (θ_α, θ_β) = (−ln α, −ln β) = (ln a, ln b).

    Z_N = Σ_{p=1}^{N} p (2N−1−p)! / (N! (N−p)!) · G_p,   G_p = Σ_{k=0}^{p} a^k b^{p−k}
        = (b^{p+1} − a^{p+1}) / (b − a)   (a ≠ b).

ln Z_N is the log-partition function of a latent-count exponential family in θ: each term
a^k b^{p−k} is e^{k θ_α + (p−k) θ_β}. Its derivatives follow from the same sum. With
x = θ_α − θ_β, ln G_p = p θ_β + ln Σ_k e^{kx} is the log-partition of a truncated geometric law
on k ∈ {0..p}; its mean and variance are written with the Langevin function
L(y) = coth y − 1/y so that x → 0 (α = β) is continuous and free of cancellation:

    E_p[k]   = p/2 + ½[(p+1) L((p+1)x/2) − L(x/2)],
    Var_p[k] = ¼[(p+1)² L'((p+1)x/2) − L'(x/2)],   L'(y) = 1/y² − 1/sinh² y,

and ∇_θ ln G_p = (E_p[k], p − E_p[k]), ∇²_θ ln G_p = Var_p[k] · [[1, −1], [−1, 1]].
ln G_p itself is p·max(θ_α, θ_β) + ln[expm1(−(p+1)|x|)/expm1(−|x|)] (= ln(p+1) at x = 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln

from statgeo.checks import check_allocation, check_real
from statgeo.models.compilation import compile_notice
from statgeo.models.limits import check_size, check_work
from statgeo.models.kernels import tasep_numba as _k

__all__ = [
    "check_rates",
    "log_partition",
    "log_partition_derivatives",
    "log_partition_all",
    "current",
    "density_profile",
    "CLOSED_FORM_MAX_N",
    "QUADRATIC_MAX_N",
]

_CHUNK_ELEMS = 1 << 22  # points × N elements per vectorised chunk (memory bound ~ 32 MiB/array)

#: largest N of the O(N) closed forms (:func:`log_partition`, :func:`log_partition_derivatives`,
#: :func:`current`): one point then needs ~10 temporary arrays of N float64 (~100 MB)
CLOSED_FORM_MAX_N: int = 10**6
#: largest N of the O(N²)-per-point routines (:func:`log_partition_all`, :func:`density_profile`,
#: the matrix representation, the exact sampler, :class:`statgeo.models.TasepModel`): 10¹⁰
#: operations, tens of seconds, per point and sample at the cap
QUADRATIC_MAX_N: int = 100_000


def check_rates(alpha: Any, beta: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate α, β ∈ (0, 1] (real, finite, non-empty) and broadcast them to a common shape.

    Parameters
    ----------
    alpha : array_like
        Entry rates α ∈ (0, 1] (lists are accepted).
    beta : array_like
        Exit rates β ∈ (0, 1], broadcast with ``alpha``.

    Returns
    -------
    alpha, beta : numpy.ndarray
        float64 copies of the broadcast shape.

    Raises
    ------
    TypeError
        A rate is not real (strings, booleans, complex, None).
    ValueError
        A rate outside (0, 1] or NaN, empty arrays, shapes that do not broadcast, or a
        broadcast shape too large for memory.

    Examples
    --------
    >>> a, b = check_rates([0.3, 0.6], 1.0)
    >>> a.tolist(), b.tolist()
    ([0.3, 0.6], [1.0, 1.0])
    """
    for name, v in (("alpha", alpha), ("beta", beta)):
        if isinstance(v, (bool, np.bool_)) or (isinstance(v, np.ndarray) and v.dtype.kind not in "iuf"):
            raise TypeError(f"{name} must be a real number or array of reals in (0, 1], got {v!r:.60}")
        if not isinstance(v, np.ndarray) and not isinstance(v, (str, bytes)) and v is not None:
            try:
                kind = np.asarray(v).dtype.kind
            except (TypeError, ValueError):
                kind = "O"
            if kind == "b":
                raise TypeError(f"{name} must be a real number or array of reals in (0, 1], got booleans")
    a = check_real("alpha", alpha, low=0.0, high=1.0, low_inclusive=False)
    b = check_real("beta", beta, low=0.0, high=1.0, low_inclusive=False)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError as exc:
        raise ValueError(f"alpha (shape {a.shape}) and beta (shape {b.shape}) must broadcast together") from exc
    check_allocation("the broadcast rates (alpha and beta)", (2,) + shape, names="the shapes of alpha and beta")
    a, b = np.broadcast_arrays(a, b)
    return np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)


_WHY_LINEAR = "the closed form costs O(N) time and memory per point"
_WHY_QUADRATIC = "this routine costs O(N²) time per point"


def _check_quadratic(N: Any, alpha: Any, beta: Any) -> tuple[int, np.ndarray, np.ndarray]:
    """N of an O(N²)-per-point routine and the rates; refuses work that cannot finish."""
    N = check_size("N", N, QUADRATIC_MAX_N, _WHY_QUADRATIC)
    al, be = check_rates(alpha, beta)
    check_allocation("the table of ln Z_k (points, N + 1)", (al.size, N + 1), names="N and the shape of alpha/beta")
    check_work("operations", al.size * N * N, "N and the shape of alpha/beta")
    return N, al, be


def _langevin(y: np.ndarray) -> np.ndarray:
    """L(y) = coth y − 1/y, by its Taylor series for |y| < 0.1."""
    y = np.asarray(y, dtype=np.float64)
    small = np.abs(y) < 0.1
    ys = np.where(small, y, 0.0)
    y2 = ys * ys
    series = ys * (1 / 3 - y2 * (1 / 45 - y2 * (2 / 945 - y2 * (1 / 4725 - y2 * 2 / 93555))))
    yl = np.where(small, 1.0, y)
    with np.errstate(over="ignore"):
        big = 1.0 / np.tanh(yl) - 1.0 / yl
    return np.where(small, series, big)


def _langevin_prime(y: np.ndarray) -> np.ndarray:
    """L'(y) = 1/y² − 1/sinh² y, by its Taylor series for |y| < 0.1."""
    y = np.asarray(y, dtype=np.float64)
    small = np.abs(y) < 0.1
    ys = np.where(small, y, 0.0)
    y2 = ys * ys
    series = 1 / 3 - y2 * (1 / 15 - y2 * (2 / 189 - y2 * (1 / 675 - y2 * 2 / 10395)))
    yl = np.where(small, 1.0, y)
    with np.errstate(over="ignore"):
        big = 1.0 / (yl * yl) - 1.0 / np.sinh(yl) ** 2
    return np.where(small, series, big)


def _ln_geom(p: np.ndarray, x: np.ndarray) -> np.ndarray:
    """ln Σ_{k=0}^{p} e^{kx} for p (…, P) and x (…, 1), continuous through x = 0."""
    d = np.abs(x)
    u = np.maximum(x, 0.0)
    dz = np.where(d == 0.0, 1.0, d)
    ratio = np.expm1(-(p + 1.0) * dz) / np.expm1(-dz)
    return p * u + np.where(d == 0.0, np.log(p + 1.0), np.log(ratio))


def _terms(N: int, th_a: np.ndarray, th_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log terms ln c_p + ln G_p (M, N) and p (N,)."""
    p = np.arange(1, N + 1, dtype=np.float64)
    lc = np.log(p) + gammaln(2 * N - p) - gammaln(N + 1.0) - gammaln(N - p + 1.0)
    x = (th_a - th_b)[:, None]
    return lc + p * th_b[:, None] + _ln_geom(p, x), p


def _lse(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mx = t.max(axis=-1, keepdims=True)
    w = np.exp(t - mx)
    s = w.sum(axis=-1, keepdims=True)
    return (mx + np.log(s))[..., 0], w / s


def _chunks(M: int, N: int):
    step = max(1, _CHUNK_ELEMS // max(N, 1))
    for i in range(0, M, step):
        yield slice(i, min(M, i + step))


def log_partition(N: int, alpha: Any, beta: Any) -> np.ndarray:
    """ln Z_N of the open TASEP, vectorised over α, β (closed form, O(N) per point).

    Z_N = Σ_{p=1}^{N} p(2N−1−p)!/(N!(N−p)!) · Σ_{k=0}^{p} a^k b^{p−k},  a = 1/α, b = 1/β,

    evaluated as a log-sum-exp with ``gammaln`` and the geometric sum in log space (no
    cancellation for α ≈ β). Z_N(1, 1) is the Catalan number C_{N+1}.

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 10⁶ (:data:`CLOSED_FORM_MAX_N`: time and memory are O(N)
        per point).
    alpha : array_like
        Entry rates in (0, 1] (lists are accepted).
    beta : array_like
        Exit rates in (0, 1], broadcast with ``alpha``.

    Returns
    -------
    numpy.ndarray
        ln Z_N with the broadcast shape of α, β.

    Raises
    ------
    TypeError
        ``N`` is not an integer or a rate not real.
    ValueError
        ``N`` outside [1, 10⁶], a rate outside (0, 1], or shapes that do not broadcast.

    References
    ----------
    B. Derrida, M. R. Evans, V. Hakim, V. Pasquier, J. Phys. A 26, 1493 (1993), eq. (39).

    Examples
    --------
    >>> round(float(np.exp(log_partition(3, 1.0, 1.0))), 9)  # Catalan number C_4
    14.0
    >>> log_partition(10, [0.3, 0.6], 0.7).shape
    (2,)
    """
    N = check_size("N", N, CLOSED_FORM_MAX_N, _WHY_LINEAR)
    al, be = check_rates(alpha, beta)
    th_a, th_b = -np.log(al.ravel()), -np.log(be.ravel())
    out = np.empty(th_a.shape)
    for sl in _chunks(th_a.size, N):
        t, _ = _terms(N, th_a[sl], th_b[sl])
        out[sl] = _lse(t)[0]
    return out.reshape(al.shape)


def log_partition_derivatives(N: int, alpha: Any, beta: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ln Z_N with its exact gradient and Hessian in θ = (−ln α, −ln β).

    With w_p the normalised terms of the sum (softmax of ln c_p + ln G_p) and
    g_p = ∇_θ ln G_p = (E_p[k], p − E_p[k]) (see the module docstring),

        ∇_θ ln Z_N  = Σ_p w_p g_p,
        ∇²_θ ln Z_N = Σ_p w_p [Var_p[k] (1, −1)(1, −1)ᵀ + (g_p − ḡ)(g_p − ḡ)ᵀ],

    the complete-data Fisher information of the latent-count family (docs/tasep.md, "Which
    log Z is which").

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 10⁶ (O(N) per point).
    alpha : array_like
        Entry rates in (0, 1] (lists are accepted).
    beta : array_like
        Exit rates in (0, 1], broadcast with ``alpha``.

    Returns
    -------
    log_z : numpy.ndarray
        Shape S (the broadcast shape).
    grad : numpy.ndarray
        Shape S + (2,), in θ coordinates.
    hess : numpy.ndarray
        Shape S + (2, 2), in θ coordinates.

    Raises
    ------
    TypeError, ValueError
        As :func:`log_partition`.

    Examples
    --------
    >>> lz, g, h = log_partition_derivatives(10, 0.3, 0.7)
    >>> g.shape, h.shape, bool(np.linalg.eigvalsh(h).min() > 0)
    ((2,), (2, 2), True)
    """
    N = check_size("N", N, CLOSED_FORM_MAX_N, _WHY_LINEAR)
    al, be = check_rates(alpha, beta)
    th_a, th_b = -np.log(al.ravel()), -np.log(be.ravel())
    M = th_a.size
    lz = np.empty(M)
    grad = np.empty((M, 2))
    hess = np.empty((M, 2, 2))
    for sl in _chunks(M, N):
        t, p = _terms(N, th_a[sl], th_b[sl])
        lz[sl], w = _lse(t)
        x = (th_a[sl] - th_b[sl])[:, None]
        mean_k = 0.5 * p + 0.5 * ((p + 1.0) * _langevin(0.5 * (p + 1.0) * x) - _langevin(0.5 * x))
        var_k = 0.25 * ((p + 1.0) ** 2 * _langevin_prime(0.5 * (p + 1.0) * x) - _langevin_prime(0.5 * x))
        g = np.stack([mean_k, p - mean_k], axis=-1)  # (m, N, 2)
        gbar = np.einsum("mp,mpi->mi", w, g)
        dg = g - gbar[:, None, :]
        h = np.einsum("mp,mpi,mpj->mij", w, dg, dg)
        v = np.einsum("mp,mp->m", w, var_k)
        h[:, 0, 0] += v
        h[:, 1, 1] += v
        h[:, 0, 1] -= v
        h[:, 1, 0] -= v
        grad[sl] = gbar
        hess[sl] = h
    shp = al.shape
    return lz.reshape(shp), grad.reshape(shp + (2,)), hess.reshape(shp + (2, 2))


def log_partition_all(N: int, alpha: Any, beta: Any) -> np.ndarray:
    """ln Z_k for k = 0..N (Z_0 = 1), closed form, O(N²) per point (Numba).

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 10⁵ (:data:`QUADRATIC_MAX_N`: O(N²) per point).
    alpha : array_like
        Entry rates in (0, 1] (lists are accepted).
    beta : array_like
        Exit rates in (0, 1], broadcast with ``alpha``.

    Returns
    -------
    numpy.ndarray
        Shape (..., N + 1): ln Z_0 … ln Z_N.

    Raises
    ------
    TypeError
        ``N`` is not an integer or a rate not real.
    ValueError
        ``N`` outside [1, 10⁵], a rate outside (0, 1], shapes that do not broadcast, or
        more than 10¹⁵ operations (points × N²).

    Examples
    --------
    >>> np.exp(log_partition_all(3, 1.0, 1.0)).round(6).tolist()  # Catalan numbers C_1..C_4
    [1.0, 2.0, 5.0, 14.0]
    """
    N, al, be = _check_quadratic(N, alpha, beta)
    with compile_notice(None, "the TASEP closed forms"):
        out = _k.log_partition_all_kernel(N, -np.log(al.ravel()), -np.log(be.ravel()))
    return out.reshape(al.shape + (N + 1,))


def current(N: int, alpha: Any, beta: Any) -> np.ndarray:
    """Stationary current J_N = Z_{N−1}/Z_N (Z_0 = 1), the same on every bond (DEHP 1993, eq. 40).

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 10⁶.
    alpha : array_like
        Entry rates in (0, 1] (lists are accepted).
    beta : array_like
        Exit rates in (0, 1], broadcast with ``alpha``.

    Returns
    -------
    numpy.ndarray
        J_N with the broadcast shape of α, β.

    Raises
    ------
    TypeError, ValueError
        As :func:`log_partition`.

    Examples
    --------
    >>> round(float(current(2000, 1.0, 1.0)), 3)  # maximal-current phase: J → 1/4
    0.25
    """
    N = check_size("N", N, CLOSED_FORM_MAX_N, _WHY_LINEAR)
    check_rates(alpha, beta)
    lzn = log_partition(N, alpha, beta)
    lzm = np.zeros_like(lzn) if N == 1 else log_partition(N - 1, alpha, beta)
    return np.exp(lzm - lzn)


def density_profile(N: int, alpha: Any, beta: Any) -> np.ndarray:
    """Stationary density ⟨τ_i⟩, i = 1..N (DEHP 1993, eq. 47).

    For i < N,

        ⟨τ_i⟩ = Σ_{p=0}^{N−i−1} C_p Z_{N−p−1}/Z_N
                + (Z_{i−1}/Z_N) Σ_{p=2}^{N−i+1} (p−1)(2(N−i)−p)! / ((N−i)!(N−i−p+1)!) · b^p,

    with C_p = (2p)!/(p!(p+1)!) the Catalan numbers, evaluated in log space; at the last site
    the formula gives 0 and the exact value is ⟨τ_N⟩ = J_N/β (the exit current). O(N²) per point.

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 10⁵ (:data:`QUADRATIC_MAX_N`).
    alpha : array_like
        Entry rates in (0, 1] (lists are accepted).
    beta : array_like
        Exit rates in (0, 1], broadcast with ``alpha``.

    Returns
    -------
    numpy.ndarray
        Shape (..., N).

    Raises
    ------
    TypeError, ValueError
        As :func:`log_partition_all`.

    Examples
    --------
    >>> rho = density_profile(20, 0.2, 0.8)  # low-density phase: bulk density α
    >>> round(float(rho[10]), 2)
    0.2
    """
    N, al, be = _check_quadratic(N, alpha, beta)
    th_b = -np.log(be.ravel())
    with compile_notice(None, "the TASEP closed forms"):
        lnZ = _k.log_partition_all_kernel(N, -np.log(al.ravel()), th_b)
        return _k.density_kernel(N, th_b, lnZ).reshape(al.shape + (N,))
