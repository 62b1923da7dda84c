"""Finite matrix representation of the DEHP algebra: configuration probabilities, scores,
exact enumeration and the exact sequential sampler of the open TASEP.

Representation (exact for words of length ≤ N, all entries non-negative), with a = 1/α,
b = 1/β, s = max(b − 1, 1), on the basis |0⟩..|N⟩:

    D = 1 + d, E = 1 + e,  d|n⟩ = s|n−1⟩,  e|0⟩ = (a−1)|0⟩ + s⁻¹|1⟩,  e|n⟩ = s⁻¹|n+1⟩,
    ⟨W| = ⟨0|,  |V⟩ = Σ_n ((b−1)/s)ⁿ |n⟩,

so that de = 1 (hence DE = D + E), ⟨W|E = a⟨W|, D|V⟩ = b|V⟩, ⟨W|V⟩ = 1. Derivation and the
exactness argument: ``docs/tasep.md`` and :mod:`statgeo.models.kernels.tasep_numba`.

P(τ) = ⟨W|Π_i [τ_i D + (1−τ_i) E]|V⟩ / Z_N  (Derrida, Evans, Hakim, Pasquier 1993).
"""

from __future__ import annotations

import numpy as np

from statgeo.checks import check_array, check_int
from statgeo.seeding import as_seed_sequence, xoshiro_states
from statgeo.models.exact.tasep_closed import _check_N, check_rates, log_partition_derivatives
from statgeo.models.kernels import tasep_numba as _k

__all__ = [
    "MAX_ENUMERATION_N",
    "tasep_matrices",
    "log_partition_matrix",
    "configuration_log_weight",
    "configuration_log_prob",
    "configuration_scores",
    "enumerate_law",
    "sample_exact",
]

#: largest N accepted by :func:`enumerate_law` (2^N configurations)
MAX_ENUMERATION_N = 22


def _scalar_rates(alpha, beta) -> tuple[float, float]:
    a, b = check_rates(alpha, beta)
    if a.size != 1:
        raise ValueError(f"alpha and beta must be scalars here, got shape {a.shape}")
    return float(a.ravel()[0]), float(b.ravel()[0])


def tasep_matrices(N: int, alpha: float, beta: float) -> dict[str, np.ndarray]:
    """Dense (N+1)×(N+1) matrices D, E and vectors W, V of the finite representation.

    For inspection and tests (e.g. checking DE = D + E on the leading block, ⟨W|E = a⟨W|,
    D|V⟩ = b|V⟩ up to the truncated last component). Products of ≤ N letters between W and V
    are exact.
    """
    N = _check_N(N)
    al, be = _scalar_rates(alpha, beta)
    a, b = 1.0 / al, 1.0 / be
    s = max(b - 1.0, 1.0)
    n = N + 1
    D = np.eye(n) + s * np.eye(n, k=1)
    E = np.eye(n) + np.eye(n, k=-1) / s
    E[0, 0] = a
    W = np.zeros(n)
    W[0] = 1.0
    V = ((b - 1.0) / s) ** np.arange(n)
    return {"D": D, "E": E, "W": W, "V": V}


def log_partition_matrix(N: int, alpha: float, beta: float) -> np.ndarray:
    """ln Z_k = ln ⟨W|(D+E)^k|V⟩ for k = 0..N from the finite representation (O(N²)).

    An independent route to Z_N (recursion on bras, renormalised each step), used to check the
    closed form of :func:`~statgeo.models.exact.tasep_closed.log_partition`.
    """
    N = _check_N(N)
    al, be = _scalar_rates(alpha, beta)
    a, b = 1.0 / al, 1.0 / be
    s = max(b - 1.0, 1.0)
    V = ((b - 1.0) / s) ** np.arange(N + 2)
    V[N + 1] = 0.0
    L = np.zeros(N + 2)
    L[0] = 1.0
    out = np.zeros(N + 1)
    scale = 0.0
    for k in range(1, N + 1):
        new = L.copy()  # L (D + E) = L + L d + L + L e
        new[1:] += s * L[:-1]
        new[:-1] += L[1:] / s
        new[0] += (a - 1.0) * L[0]
        new += L
        m = new.max()
        L = new / m
        scale += np.log(m)
        out[k] = scale + np.log(L[: k + 1] @ V[: k + 1])
    return out


def _check_tau(tau) -> np.ndarray:
    t = check_array("tau", tau, dtype_kind="biu")
    if t.ndim == 1:
        t = t[None, :]
    if t.ndim != 2:
        raise ValueError(f"tau must be 1-D (one configuration) or 2-D (n_conf, N), got shape {t.shape}")
    if not np.isin(t, (0, 1)).all():
        raise ValueError("tau must contain only occupations 0 and 1")
    return np.ascontiguousarray(t, dtype=np.int8)


def configuration_log_weight(tau, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """ln ⟨W|Π_i X(τ_i)|V⟩ and its θ-gradient for configurations ``tau`` (n_conf, N) or (N,).

    Returns ``(log_w, grad)`` of shapes (n_conf,) and (n_conf, 2); O(N²) per configuration.
    """
    t = _check_tau(tau)
    al, be = _scalar_rates(alpha, beta)
    return _k.config_weights_kernel(t, 1.0 / al, 1.0 / be)


def configuration_log_prob(tau, alpha: float, beta: float) -> np.ndarray:
    """ln P(τ) = ln ⟨W|Π_i [τ_i D + (1−τ_i) E]|V⟩ − ln Z_N for each configuration (batched)."""
    t = _check_tau(tau)
    lw, _ = configuration_log_weight(t, alpha, beta)
    lz = log_partition_derivatives(t.shape[1], alpha, beta)[0]
    out = lw - lz
    return out if np.ndim(tau) == 2 else out[0]


def configuration_scores(tau, alpha: float, beta: float) -> np.ndarray:
    """Exact per-configuration scores ∂_θ ln P(τ), θ = (−ln α, −ln β), shape (n_conf, 2).

    ∂_θ ln P(τ) = ∂_θ ln ⟨W|X(τ)|V⟩ − ∇_θ ln Z_N, the first term by forward-mode
    differentiation of the matrix product (∂/∂a through E₀₀, ∂/∂b through V; ∂_θ = (a∂_a, b∂_b)).
    """
    t = _check_tau(tau)
    _, g = configuration_log_weight(t, alpha, beta)
    grad = log_partition_derivatives(t.shape[1], alpha, beta)[1]
    out = g - grad
    return out if np.ndim(tau) == 2 else out[0]


def enumerate_law(N: int, alpha: float, beta: float, *, with_scores: bool = False):
    """Exact stationary law by enumeration of all 2^N configurations (N ≤ MAX_ENUMERATION_N).

    Returns ``(configs, prob)`` with ``configs`` (2^N, N) int8 (row c has τ_i = bit N−i of c)
    and ``prob`` (2^N,), normalised by the closed-form Z_N (so Σ prob = 1 is a check); with
    ``with_scores=True`` also the exact scores ∂_θ ln P(τ) (2^N, 2). Cost O(N 2^N) by prefix reuse.
    """
    N = check_int("N", N, min=1, max=MAX_ENUMERATION_N)
    al, be = _scalar_rates(alpha, beta)
    lw, g = _k.enumerate_kernel(N, 1.0 / al, 1.0 / be)
    lz, grad, _ = log_partition_derivatives(N, al, be)
    idx = np.arange(1 << N)
    configs = ((idx[:, None] >> (N - 1 - np.arange(N))[None, :]) & 1).astype(np.int8)
    prob = np.exp(lw - lz)
    if with_scores:
        return configs, prob, g - grad
    return configs, prob


def sample_exact(N: int, alpha: float, beta: float, n_samples: int,
                 seed: int | np.random.SeedSequence) -> np.ndarray:
    """I.i.d. samples from the exact stationary law by sequential conditional sampling.

    P(τ_{j+1} = 1 | τ_1..τ_j) = ⟨W|X₁⋯X_j D (D+E)^{N−j−1}|V⟩ / ⟨W|X₁⋯X_j (D+E)^{N−j}|V⟩.
    The right vectors (D+E)^{N−j}|V⟩ are computed once (O(N²)); each sample costs O(N²) and
    uses its own xoshiro256** stream (Numba, parallel over samples), so the output does not
    depend on the thread count.

    Returns
    -------
    (n_samples, N) int8 occupations.
    """
    N = _check_N(N)
    n_samples = check_int("n_samples", n_samples, min=1)
    al, be = _scalar_rates(alpha, beta)
    ss = as_seed_sequence(seed)
    a, b = 1.0 / al, 1.0 / be
    R = _k.right_vectors_kernel(N, a, b)
    states = xoshiro_states(ss, n_samples)
    out = np.empty((n_samples, N), dtype=np.int8)
    _k.sample_exact_kernel(N, a, b, R, states, out)
    return out
