"""Observable Fisher information of the open TASEP stationary law.

ln Z_N(θ) is the log-partition function of a latent-count exponential family (each matrix-product
path contributes e^{n_α θ_α + n_β θ_β}), so ∇²_θ ln Z_N is the *complete-data* Fisher information.
Configurations τ observe only part of the counts, and their Fisher information is

    F_obs(θ) = E_τ[∂_θ ln P(τ) ∂_θ ln P(τ)ᵀ] = ∇²_θ ln Z_N − E_τ[Cov(counts | τ)]  ⪯ ∇²_θ ln Z_N

(the missing-information principle; Orchard & Woodbury 1972, Louis 1982). At N = 8,
(α, β) = (0.3, 0.7) the two differ by about 30 % (docs/tasep.md, "Which log Z is which").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statgeo.checks import check_allocation, check_int
from statgeo.models.compilation import compile_notice
from statgeo.models.limits import check_size, check_work
from statgeo.models.exact.tasep_closed import (
    _WHY_QUADRATIC,
    QUADRATIC_MAX_N,
    check_rates,
    log_partition_derivatives,
)
from statgeo.models.exact.tasep_matrix import MAX_ENUMERATION_N, configuration_log_weight, sample_exact
from statgeo.models.kernels import tasep_numba as _k
from statgeo.seeding import as_seed_sequence

__all__ = ["observable_fisher_enumeration", "observable_fisher_from_samples"]


def observable_fisher_enumeration(N: int, alpha: Any, beta: Any) -> np.ndarray:
    """Exact F_obs = Σ_τ P(τ) s(τ) s(τ)ᵀ, s = ∂_θ ln P(τ), by enumerating all 2^N configurations.

    Vectorised over (broadcast) α, β; O(N 2^N) per point.

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 22 (:data:`~statgeo.models.exact.MAX_ENUMERATION_N`).
    alpha : array_like
        Entry rates in (0, 1] (lists are accepted).
    beta : array_like
        Exit rates in (0, 1], broadcast with ``alpha``.

    Returns
    -------
    numpy.ndarray
        Shape (..., 2, 2), in θ = (−ln α, −ln β).

    Raises
    ------
    TypeError
        ``N`` is not an integer or a rate not real.
    ValueError
        ``N`` outside [1, 22], a rate outside (0, 1], shapes that do not broadcast, or more
        than 10¹⁵ operations (points × N 2^N).

    Examples
    --------
    >>> from statgeo.models.exact import log_partition_derivatives
    >>> F = observable_fisher_enumeration(8, 0.3, 0.7)
    >>> H = log_partition_derivatives(8, 0.3, 0.7)[2]
    >>> bool(np.linalg.eigvalsh(H - F).min() > -1e-12)  # F_obs ⪯ ∇² ln Z_N
    True
    """
    N = check_int("N", N, min=1, max=MAX_ENUMERATION_N)
    al, be = check_rates(alpha, beta)
    check_work("operations", al.size * N * (1 << N), "N and the shape of alpha/beta (points × N 2^N)")
    lz, grad, _ = log_partition_derivatives(N, al, be)
    with compile_notice(None, "the TASEP enumeration"):
        out = _k.enumerate_fisher_kernel(N, 1.0 / al.ravel(), 1.0 / be.ravel(), lz.ravel(), grad.reshape(-1, 2))
    return out.reshape(al.shape + (2, 2))


def observable_fisher_from_samples(N: int, alpha: Any, beta: Any, n_samples: int,
                                   seed: int | np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo F_obs from i.i.d. exact samples and exact per-configuration scores.

    F̂_ij = (1/n) Σ_s s_i s_j over n exact samples (:func:`sample_exact`), with the exact score
    s = ∂_θ ln P(τ) from the matrix product minus ∇_θ ln Z_N from the closed form. The samples
    are independent, so the standard error of each component is std(s_i s_j)/√n. One
    independent seed stream per point (``SeedSequence.spawn``).

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 10⁵.
    alpha : array_like
        Entry rates in (0, 1] (lists are accepted).
    beta : array_like
        Exit rates in (0, 1], broadcast with ``alpha``.
    n_samples : int
        Exact samples per point, ≥ 2.
    seed : int or numpy.random.SeedSequence
        Same seed → same estimate.

    Returns
    -------
    F : numpy.ndarray
        Shape (..., 2, 2), in θ coordinates.
    error : numpy.ndarray
        Its standard error, same shape.

    Raises
    ------
    TypeError
        A count is not an integer, a rate not real, a bad ``seed``.
    ValueError
        ``N`` or ``n_samples`` out of range, a rate outside (0, 1], shapes that do not
        broadcast, a sample batch too large for memory, or more than 10¹⁵ operations
        (points × n_samples × N²).

    Examples
    --------
    >>> F, err = observable_fisher_from_samples(6, 0.3, 0.7, 4000, seed=0)
    >>> F_exact = observable_fisher_enumeration(6, 0.3, 0.7)
    >>> bool(np.all(np.abs(F - F_exact) < 5 * err + 1e-12))
    True
    """
    N = check_size("N", N, QUADRATIC_MAX_N, _WHY_QUADRATIC)
    n_samples = check_int("n_samples", n_samples, min=2)
    al, be = check_rates(alpha, beta)
    ss = as_seed_sequence(seed)
    check_allocation("the exact samples of one point (n_samples, N)", (n_samples, N), np.int8,
                     names="n_samples and N")
    check_allocation("the score products of one point (n_samples, 2, 2)", (n_samples, 2, 2), np.float64,
                     names="n_samples")
    check_work("operations", al.size * n_samples * N * N, "n_samples, N and the shape of alpha/beta")
    children = ss.spawn(al.size)
    _, grad, _ = log_partition_derivatives(N, al, be)
    grad = grad.reshape(-1, 2)
    F = np.empty((al.size, 2, 2))
    E = np.empty((al.size, 2, 2))
    for m, (x, y) in enumerate(zip(al.ravel(), be.ravel())):
        tau = sample_exact(N, x, y, n_samples, children[m])
        _, g = configuration_log_weight(tau, x, y)
        s = g - grad[m]
        prod = s[:, :, None] * s[:, None, :]
        F[m] = prod.mean(axis=0)
        E[m] = prod.std(axis=0, ddof=1) / np.sqrt(n_samples)
    return F.reshape(al.shape + (2, 2)), E.reshape(al.shape + (2, 2))
