"""Finite matrix representation of the DEHP algebra: configuration probabilities, scores,
exact enumeration and the exact sequential sampler of the open TASEP.

Representation (exact for words of length ≤ N, all entries non-negative), with a = 1/α,
b = 1/β, s = max(b − 1, 1), on the basis |0⟩..|N⟩:

    D = 1 + d, E = 1 + e,  d|n⟩ = s|n−1⟩,  e|0⟩ = (a−1)|0⟩ + s⁻¹|1⟩,  e|n⟩ = s⁻¹|n+1⟩,
    ⟨W| = ⟨0|,  |V⟩ = Σ_n ((b−1)/s)ⁿ |n⟩,

so that de = 1 (hence DE = D + E), ⟨W|E = a⟨W|, D|V⟩ = b|V⟩, ⟨W|V⟩ = 1. Derivation and the
exactness argument: docs/tasep.md ("Finite matrix representation") and
:mod:`statgeo.models.kernels.tasep_numba`.

P(τ) = ⟨W|Π_i [τ_i D + (1−τ_i) E]|V⟩ / Z_N  (Derrida, Evans, Hakim, Pasquier 1993).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statgeo.checks import check_allocation, check_array, check_bool, check_int
from statgeo.models.compilation import compile_notice
from statgeo.models.limits import check_size, check_work
from statgeo.models.exact.tasep_closed import (
    _WHY_QUADRATIC,
    QUADRATIC_MAX_N,
    check_rates,
    log_partition_derivatives,
)
from statgeo.models.kernels import tasep_numba as _k
from statgeo.seeding import as_seed_sequence, xoshiro_states

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

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 10⁵, and small enough for four dense (N+1)² float64
        matrices to fit in memory.
    alpha : float
        Entry rate in (0, 1].
    beta : float
        Exit rate in (0, 1].

    Returns
    -------
    dict of str to numpy.ndarray
        ``"D"``, ``"E"`` (N+1, N+1) and ``"W"``, ``"V"`` (N+1,).

    Raises
    ------
    TypeError
        ``N`` is not an integer or a rate not real.
    ValueError
        ``N`` out of range or too large for memory, a rate outside (0, 1] or not a scalar.

    Examples
    --------
    >>> m = tasep_matrices(4, 0.5, 0.5)
    >>> D, E, W, V = m["D"], m["E"], m["W"], m["V"]
    >>> round(float(W @ E @ D @ V), 12) == round(float(W @ (D + E) @ V), 12)  # WEDV = W(D+E)V
    True
    """
    N = check_size("N", N, QUADRATIC_MAX_N, _WHY_QUADRATIC)
    al, be = _scalar_rates(alpha, beta)
    check_allocation("the dense matrices D, E and their temporaries (4, N + 1, N + 1)", (4, N + 1, N + 1),
                     names="N")
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

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 10⁵.
    alpha : float
        Entry rate in (0, 1].
    beta : float
        Exit rate in (0, 1].

    Returns
    -------
    numpy.ndarray
        Shape (N + 1,): ln Z_0 … ln Z_N.

    Raises
    ------
    TypeError
        ``N`` is not an integer or a rate not real.
    ValueError
        ``N`` out of range, a rate outside (0, 1] or not a scalar.

    Examples
    --------
    >>> from statgeo.models.exact import log_partition
    >>> bool(np.isclose(log_partition_matrix(12, 0.3, 0.7)[-1], log_partition(12, 0.3, 0.7)))
    True
    """
    N = check_size("N", N, QUADRATIC_MAX_N, _WHY_QUADRATIC)
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
    if t.shape[1] > QUADRATIC_MAX_N:
        raise ValueError(f"tau must have at most {QUADRATIC_MAX_N} sites (N = tau.shape[-1]; {_WHY_QUADRATIC}), "
                         f"got {t.shape[1]}")
    check_work("operations", t.shape[0] * t.shape[1] ** 2, "the shape of tau (configurations × N²)")
    if not np.isin(t, (0, 1)).all():
        raise ValueError("tau must contain only occupations 0 and 1")
    return np.ascontiguousarray(t, dtype=np.int8)


def configuration_log_weight(tau: Any, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """ln ⟨W|Π_i X(τ_i)|V⟩ and its θ-gradient for configurations ``tau``; O(N²) each.

    Parameters
    ----------
    tau : array_like of int
        Occupations 0/1, one configuration (N,) or a batch (n_conf, N); lists and booleans
        are accepted; N ≤ 10⁵.
    alpha : float
        Entry rate in (0, 1].
    beta : float
        Exit rate in (0, 1].

    Returns
    -------
    log_w : numpy.ndarray
        Shape (n_conf,) (n_conf = 1 for a single configuration).
    grad : numpy.ndarray
        Shape (n_conf, 2): ∂_θ ln ⟨W|X(τ)|V⟩, θ = (−ln α, −ln β).

    Raises
    ------
    TypeError
        ``tau`` does not hold integers, or a rate is not real.
    ValueError
        ``tau`` not 0/1, of the wrong shape or too large, a rate outside (0, 1] or not a scalar.

    Examples
    --------
    >>> lw, g = configuration_log_weight([[1, 0], [0, 1]], 0.5, 0.5)
    >>> np.exp(lw).round(9).tolist()  # ⟨W|DE|V⟩ = a + b, ⟨W|ED|V⟩ = ab
    [4.0, 4.0]
    """
    t = _check_tau(tau)
    al, be = _scalar_rates(alpha, beta)
    with compile_notice(None, "the TASEP matrix representation"):
        return _k.config_weights_kernel(t, 1.0 / al, 1.0 / be)


def configuration_log_prob(tau: Any, alpha: float, beta: float) -> np.ndarray:
    """ln P(τ) = ln ⟨W|Π_i [τ_i D + (1−τ_i) E]|V⟩ − ln Z_N for each configuration (batched).

    Parameters
    ----------
    tau : array_like of int
        Occupations 0/1, one configuration (N,) or a batch (n_conf, N); lists and booleans
        are accepted; N ≤ 10⁵.
    alpha : float
        Entry rate in (0, 1].
    beta : float
        Exit rate in (0, 1].

    Returns
    -------
    numpy.ndarray
        Shape (n_conf,) for a batch, a 0-d value for one configuration.

    Raises
    ------
    TypeError, ValueError
        As :func:`configuration_log_weight`.

    Examples
    --------
    >>> configs, prob = enumerate_law(3, 0.3, 0.7)
    >>> bool(np.allclose(np.exp(configuration_log_prob(configs, 0.3, 0.7)), prob))
    True
    """
    t = _check_tau(tau)
    lw, _ = configuration_log_weight(t, alpha, beta)
    lz = log_partition_derivatives(t.shape[1], alpha, beta)[0]
    out = lw - lz
    return out if np.ndim(tau) == 2 else out[0]


def configuration_scores(tau: Any, alpha: float, beta: float) -> np.ndarray:
    """Exact per-configuration scores ∂_θ ln P(τ), θ = (−ln α, −ln β).

    ∂_θ ln P(τ) = ∂_θ ln ⟨W|X(τ)|V⟩ − ∇_θ ln Z_N, the first term by forward-mode
    differentiation of the matrix product (∂/∂a through E₀₀, ∂/∂b through V; ∂_θ = (a∂_a, b∂_b)).

    Parameters
    ----------
    tau : array_like of int
        Occupations 0/1, one configuration (N,) or a batch (n_conf, N); lists and booleans
        are accepted; N ≤ 10⁵.
    alpha : float
        Entry rate in (0, 1].
    beta : float
        Exit rate in (0, 1].

    Returns
    -------
    numpy.ndarray
        Shape (n_conf, 2) for a batch, (2,) for one configuration.

    Raises
    ------
    TypeError, ValueError
        As :func:`configuration_log_weight`.

    Examples
    --------
    >>> configs, prob = enumerate_law(4, 0.3, 0.7)
    >>> s = configuration_scores(configs, 0.3, 0.7)
    >>> bool(np.allclose(prob @ s, 0.0))  # scores have mean zero
    True
    """
    t = _check_tau(tau)
    _, g = configuration_log_weight(t, alpha, beta)
    grad = log_partition_derivatives(t.shape[1], alpha, beta)[1]
    out = g - grad
    return out if np.ndim(tau) == 2 else out[0]


def enumerate_law(N: int, alpha: float, beta: float, *, with_scores: bool = False) -> tuple[np.ndarray, ...]:
    """Exact stationary law by enumeration of all 2^N configurations.

    Cost O(N 2^N) by prefix reuse (depth-first order).

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 22 (:data:`MAX_ENUMERATION_N`).
    alpha : float
        Entry rate in (0, 1].
    beta : float
        Exit rate in (0, 1].
    with_scores : bool, default False
        Also return the exact scores ∂_θ ln P(τ).

    Returns
    -------
    configs : numpy.ndarray
        (2^N, N) int8; row c has τ_i = bit N−i of c.
    prob : numpy.ndarray
        (2^N,), normalised by the closed-form Z_N (so Σ prob = 1 is a check).
    scores : numpy.ndarray
        (2^N, 2), only with ``with_scores=True``.

    Raises
    ------
    TypeError
        ``N`` is not an integer, a rate not real, ``with_scores`` not a bool.
    ValueError
        ``N`` outside [1, 22], a rate outside (0, 1] or not a scalar.

    Examples
    --------
    >>> configs, prob = enumerate_law(5, 0.3, 0.7)
    >>> configs.shape, round(float(prob.sum()), 12)
    ((32, 5), 1.0)
    """
    N = check_int("N", N, min=1, max=MAX_ENUMERATION_N)
    al, be = _scalar_rates(alpha, beta)
    check_bool("with_scores", with_scores)
    with compile_notice(None, "the TASEP enumeration"):
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

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 10⁵.
    alpha : float
        Entry rate in (0, 1].
    beta : float
        Exit rate in (0, 1].
    n_samples : int
        Number of samples, ≥ 1 (the output is n_samples × N bytes; at most 10¹⁵ operations
        n_samples × N²).
    seed : int or numpy.random.SeedSequence
        Same seed → same samples.

    Returns
    -------
    numpy.ndarray
        (n_samples, N) int8 occupations.

    Raises
    ------
    TypeError
        A count is not an integer, a rate not real, a bad ``seed``.
    ValueError
        ``N`` or ``n_samples`` out of range, a rate outside (0, 1] or not a scalar, an output
        too large for memory, or more than 10¹⁵ operations.

    Examples
    --------
    >>> x = sample_exact(10, 0.3, 0.7, 1000, seed=0)
    >>> x.shape, x.dtype
    ((1000, 10), dtype('int8'))
    >>> bool(abs(x[:, 4].mean() - 0.3) < 0.05)  # low-density phase: bulk density α
    True
    """
    N = check_size("N", N, QUADRATIC_MAX_N, _WHY_QUADRATIC)
    n_samples = check_int("n_samples", n_samples, min=1)
    al, be = _scalar_rates(alpha, beta)
    ss = as_seed_sequence(seed)
    check_allocation("the samples (n_samples, N)", (n_samples, N), np.int8, names="n_samples and N")
    check_allocation("the generator states (n_samples, 4)", (n_samples, 4), np.uint64, names="n_samples")
    check_allocation("the right vectors (N + 1, N + 2)", (N + 1, N + 2), np.float64, names="N")
    check_work("operations", n_samples * N * N, "n_samples and N (n_samples × N²)")
    a, b = 1.0 / al, 1.0 / be
    with compile_notice(None, "the exact TASEP sampler"):
        R = _k.right_vectors_kernel(N, a, b)
        states = xoshiro_states(ss, n_samples)
        out = np.empty((n_samples, N), dtype=np.int8)
        _k.sample_exact_kernel(N, a, b, R, states, out)
    return out
