"""Observable Fisher information of the open TASEP stationary law.

ln Z_N(θ) is the log-partition function of a latent-count exponential family (each matrix-product
path contributes e^{n_α θ_α + n_β θ_β}), so ∇²_θ ln Z_N is the *complete-data* Fisher information.
Configurations τ observe only part of the counts, and their Fisher information is

    F_obs(θ) = E_τ[∂_θ ln P(τ) ∂_θ ln P(τ)ᵀ] = ∇²_θ ln Z_N − E_τ[Cov(counts | τ)]  ⪯ ∇²_θ ln Z_N

(the missing-information principle; Orchard & Woodbury 1972, Louis 1982). At N = 8,
(α, β) = (0.3, 0.7) the two differ by about 30 % (physics.md, "Which log Z").
"""

from __future__ import annotations

import numpy as np

from statgeo.checks import check_int
from statgeo.seeding import as_seed_sequence
from statgeo.models.exact.tasep_closed import _check_N, check_rates, log_partition_derivatives
from statgeo.models.exact.tasep_matrix import MAX_ENUMERATION_N, configuration_log_weight, sample_exact
from statgeo.models.kernels import tasep_numba as _k

__all__ = ["observable_fisher_enumeration", "observable_fisher_from_samples"]


def observable_fisher_enumeration(N: int, alpha, beta) -> np.ndarray:
    """Exact F_obs = Σ_τ P(τ) s(τ) s(τ)ᵀ, s = ∂_θ ln P(τ), by enumerating all 2^N configurations.

    Vectorised over (broadcast) α, β; returns (..., 2, 2) in θ = (−ln α, −ln β). O(N 2^N) per
    point; N ≤ MAX_ENUMERATION_N.
    """
    N = check_int("N", N, min=1, max=MAX_ENUMERATION_N)
    al, be = check_rates(alpha, beta)
    lz, grad, _ = log_partition_derivatives(N, al, be)
    out = _k.enumerate_fisher_kernel(N, 1.0 / al.ravel(), 1.0 / be.ravel(), lz.ravel(), grad.reshape(-1, 2))
    return out.reshape(al.shape + (2, 2))


def observable_fisher_from_samples(N: int, alpha, beta, n_samples: int,
                                   seed: int | np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo F_obs from i.i.d. exact samples and exact per-configuration scores.

    F̂_ij = (1/n) Σ_s s_i s_j over n exact samples (:func:`sample_exact`), with the exact score
    s = ∂_θ ln P(τ) from the matrix product minus ∇_θ ln Z_N from the closed form. The samples
    are independent, so the standard error of each component is std(s_i s_j)/√n.

    Returns
    -------
    (F, error), each (..., 2, 2) in θ coordinates. One independent seed stream per point
    (``SeedSequence.spawn``).
    """
    N = _check_N(N)
    n_samples = check_int("n_samples", n_samples, min=2)
    al, be = check_rates(alpha, beta)
    children = as_seed_sequence(seed).spawn(al.size)
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
