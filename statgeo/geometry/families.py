"""Closed-form exponential families, used as test oracles for the geometry layer.

p(x | t) = h(x) exp(⟨f(x), t⟩ − Φ(t)), Φ = log Z convex; ∇Φ(t) = E_t[f], ∇²Φ(t) = Cov_t[f]
(the Fisher metric), ∂³Φ = third cumulants of f, and
KL(p_t ‖ p_s) = D_Φ(s, t) = Φ(s) − Φ(t) − ⟨∇Φ(t), s − t⟩.

The ``kl`` methods below use the textbook closed forms written in physical parameters (not the
Bregman identity), so that testing D_Φ against them is not circular.

Each family is a :class:`~statgeo.geometry.potential.Potential` (``value``/``log_partition``,
``gradient``, ``hessian``, ``third_derivative``) on natural parameters of shape (..., d), in
any array-API namespace; ``sample`` is NumPy (host RNG).

References: Wainwright & Jordan, *Graphical Models, Exponential Families, and Variational
Inference* (2008), §3; Amari, *Information Geometry and Its Applications* (2016), ch. 2.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from statgeo.checks import check_int
from statgeo.seeding import as_seed_sequence
from statgeo.geometry._array import as_float_array, check_finite, check_last_dim, device_of, namespace, to_numpy

__all__ = ["ExponentialFamily", "Gaussian1D", "GaussianFixedCov", "Bernoulli", "Poisson", "MultivariateGaussian"]


class ExponentialFamily:
    """Base class: shared validation and the Potential interface (``value`` = ``log_partition``)."""

    ndim: int = 1
    name: str = "family"

    # -- helpers
    def _t(self, t: Any, name: str = "t"):
        xp = namespace(t)
        t = as_float_array(name, t, xp)
        check_last_dim(name, t, self.ndim)
        check_finite(name, t, xp)
        self._check_domain(t, xp, name)
        return t, xp

    def _check_domain(self, t, xp, name: str) -> None:  # pragma: no cover - overridden
        return None

    # -- Potential protocol
    def value(self, t: Any) -> Any:
        """Φ(t) = log Z(t), shape (...)."""
        return self.log_partition(t)

    def log_partition(self, t: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def gradient(self, t: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def hessian(self, t: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def third_derivative(self, t: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def mean_parameters(self, t: Any) -> Any:
        """Expectation parameters η = ∇Φ(t) = E_t[f(x)]."""
        return self.gradient(t)

    @staticmethod
    def _rng(seed):
        return np.random.default_rng(as_seed_sequence(seed))

    def _t_numpy(self, t):
        t, _ = self._t(t)
        tn = np.asarray(to_numpy(t), dtype=np.float64)
        if tn.shape != (self.ndim,):
            raise ValueError(f"t must be one parameter point of shape ({self.ndim},), got {tn.shape}")
        return tn


def _softplus(x, xp):
    """log(1 + eˣ), stable."""
    return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))


class Gaussian1D(ExponentialFamily):
    """Univariate Gaussian N(μ, σ²) in natural parameters t = (μ/σ², −1/(2σ²)), t₂ < 0.

    f(x) = (x, x²), h(x) = 1, Φ(t) = −t₁²/(4t₂) + ½ log(π/(−t₂)).
    ∇Φ = (μ, μ² + σ²); ∇²Φ = [[σ², 2μσ²], [2μσ², 2σ⁴ + 4μ²σ²]];
    ∂³Φ: Φ₁₁₁ = 0, Φ₁₁₂ = 2σ⁴, Φ₁₂₂ = 8μσ⁴, Φ₂₂₂ = 8σ⁶ + 24μ²σ⁴.
    Physical parameters p = (μ, σ), σ > 0; Fisher–Rao metric in (μ, σ): (dμ² + 2dσ²)/σ².
    """

    ndim = 2
    name = "gaussian1d"

    def _check_domain(self, t, xp, name):
        if not bool(xp.all(t[..., 1] < 0)):
            raise ValueError(f"{name}[..., 1] = −1/(2σ²) must be < 0 for a Gaussian, got a value ≥ 0")

    def _mu_s(self, t):
        t, xp = self._t(t)
        s = -0.5 / t[..., 1]
        mu = t[..., 0] * s
        return mu, s, t, xp

    def log_partition(self, t):
        t, xp = self._t(t)
        return -t[..., 0] ** 2 / (4.0 * t[..., 1]) + 0.5 * xp.log(math.pi / (-t[..., 1]))

    def gradient(self, t):
        mu, s, _, xp = self._mu_s(t)
        return xp.stack([mu, mu * mu + s], axis=-1)

    def hessian(self, t):
        mu, s, _, xp = self._mu_s(t)
        h12 = 2.0 * mu * s
        r0 = xp.stack([s, h12], axis=-1)
        r1 = xp.stack([h12, 2.0 * s * s + 4.0 * mu * mu * s], axis=-1)
        return xp.stack([r0, r1], axis=-2)

    def third_derivative(self, t):
        mu, s, _, xp = self._mu_s(t)
        s2 = s * s
        t111 = xp.zeros_like(s)
        t112 = 2.0 * s2
        t122 = 8.0 * mu * s2
        t222 = 8.0 * s2 * s + 24.0 * mu * mu * s2
        m0 = xp.stack([xp.stack([t111, t112], axis=-1), xp.stack([t112, t122], axis=-1)], axis=-2)
        m1 = xp.stack([xp.stack([t112, t122], axis=-1), xp.stack([t122, t222], axis=-1)], axis=-2)
        return xp.stack([m0, m1], axis=-3)

    def sufficient_statistics(self, x: Any) -> Any:
        """f(x) = (x, x²), shape x.shape + (2,)."""
        xp = namespace(x)
        x = as_float_array("x", x, xp)
        return xp.stack([x, x * x], axis=-1)

    def sample(self, t: Any, n: int, seed: int | np.random.SeedSequence | None = None) -> np.ndarray:
        """n i.i.d. draws from p_t (NumPy, shape (n,))."""
        tn = self._t_numpy(t)
        n = check_int("n", n, min=1)
        s = -0.5 / tn[1]
        return self._rng(seed).normal(tn[0] * s, math.sqrt(s), size=n)

    # -- parameter maps
    def to_natural(self, mu_sigma: Any) -> Any:
        """(μ, σ) → t = (μ/σ², −1/(2σ²)); input shape (..., 2), σ > 0."""
        xp = namespace(mu_sigma)
        p = as_float_array("mu_sigma", mu_sigma, xp)
        check_last_dim("mu_sigma", p, 2)
        check_finite("mu_sigma", p, xp)
        if not bool(xp.all(p[..., 1] > 0)):
            raise ValueError("mu_sigma[..., 1] = σ must be > 0")
        s = p[..., 1] ** 2
        return xp.stack([p[..., 0] / s, -0.5 / s], axis=-1)

    def from_natural(self, t: Any) -> Any:
        """t → (μ, σ)."""
        mu, s, _, xp = self._mu_s(t)
        return xp.stack([mu, xp.sqrt(s)], axis=-1)

    def kl(self, t_from: Any, t_to: Any) -> Any:
        """KL(N(μ₀, σ₀²) ‖ N(μ₁, σ₁²)) = log(σ₁/σ₀) + (σ₀² + (μ₀ − μ₁)²)/(2σ₁²) − ½."""
        m0, s0, _, xp = self._mu_s(t_from)
        m1, s1, _, _ = self._mu_s(t_to)
        return 0.5 * xp.log(s1 / s0) + (s0 + (m0 - m1) ** 2) / (2.0 * s1) - 0.5

    @staticmethod
    def fisher_rao_metric(mu_sigma: Any) -> Any:
        """Fisher metric in (μ, σ): g = diag(1, 2)/σ², shape (..., 2, 2)."""
        xp = namespace(mu_sigma)
        p = as_float_array("mu_sigma", mu_sigma, xp)
        check_last_dim("mu_sigma", p, 2)
        inv = 1.0 / (p[..., 1] ** 2)
        z = xp.zeros_like(inv)
        return xp.stack([xp.stack([inv, z], axis=-1), xp.stack([z, 2.0 * inv], axis=-1)], axis=-2)

    @staticmethod
    def fisher_rao_distance(p0: Any, p1: Any) -> Any:
        """Closed-form Fisher–Rao distance between N(μ₀, σ₀²) and N(μ₁, σ₁²).

        With u = μ/√2 the metric is 2 (du² + dσ²)/σ² (a scaled Poincaré half-plane), so
        d = √2 · arccosh(1 + ((u₀ − u₁)² + (σ₀ − σ₁)²) / (2σ₀σ₁))
        (Costa, Santos & Strapasson, Discrete Appl. Math. 197 (2015) 59, eq. 11).
        """
        xp = namespace(p0, p1)
        a = as_float_array("p0", p0, xp)
        b = as_float_array("p1", p1, xp, dtype=a.dtype)
        du2 = (a[..., 0] - b[..., 0]) ** 2 / 2.0
        ds2 = (a[..., 1] - b[..., 1]) ** 2
        return math.sqrt(2.0) * xp.acosh(1.0 + (du2 + ds2) / (2.0 * a[..., 1] * b[..., 1]))


class GaussianFixedCov(ExponentialFamily):
    """d-dimensional Gaussian mean family N(Σt, Σ) with known covariance Σ.

    f(x) = x, h(x) = N(x; 0, Σ), Φ(t) = ½ tᵀΣt; ∇Φ = Σt = μ; ∇²Φ = Σ; ∂³Φ = 0;
    KL(p_{t₀} ‖ p_{t₁}) = ½ (μ₀ − μ₁)ᵀ Σ⁻¹ (μ₀ − μ₁) = ½ (t₀ − t₁)ᵀ Σ (t₀ − t₁).
    """

    name = "gaussian_fixed_cov"

    def __init__(self, cov: Any) -> None:
        c = np.asarray(to_numpy(cov), dtype=np.float64)
        if c.ndim == 0:
            c = c.reshape(1, 1)
        if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] == 0:
            raise ValueError(f"cov must be a square (d, d) matrix, got shape {c.shape}")
        if not np.all(np.isfinite(c)) or not np.allclose(c, c.T, rtol=1e-12, atol=1e-14):
            raise ValueError("cov must be finite and symmetric")
        if np.linalg.eigvalsh(c).min() <= 0:
            raise ValueError("cov must be positive definite")
        self.cov = c
        self.ndim = c.shape[0]

    def _cov(self, t, xp):
        return xp.asarray(self.cov, dtype=t.dtype, device=device_of(t))

    def log_partition(self, t):
        t, xp = self._t(t)
        return 0.5 * xp.sum(t * (t @ self._cov(t, xp)), axis=-1)

    def gradient(self, t):
        t, xp = self._t(t)
        return t @ self._cov(t, xp)

    def hessian(self, t):
        t, xp = self._t(t)
        return xp.broadcast_to(self._cov(t, xp), tuple(t.shape) + (self.ndim,))

    def third_derivative(self, t):
        t, xp = self._t(t)
        d = self.ndim
        return xp.zeros(tuple(t.shape) + (d, d), dtype=t.dtype, device=device_of(t))

    def sufficient_statistics(self, x):
        """f(x) = x, shape (..., d)."""
        xp = namespace(x)
        x = as_float_array("x", x, xp)
        check_last_dim("x", x, self.ndim)
        return x

    def sample(self, t, n, seed=None):
        """n draws from N(Σt, Σ) (NumPy, shape (n, d))."""
        tn = self._t_numpy(t)
        n = check_int("n", n, min=1)
        return self._rng(seed).multivariate_normal(self.cov @ tn, self.cov, size=n)

    def to_natural(self, mean):
        """μ → t = Σ⁻¹μ."""
        xp = namespace(mean)
        m = as_float_array("mean", mean, xp)
        check_last_dim("mean", m, self.ndim)
        prec = xp.asarray(np.linalg.inv(self.cov), dtype=m.dtype, device=device_of(m))
        return m @ prec

    def from_natural(self, t):
        """t → μ = Σt."""
        return self.gradient(t)

    def kl(self, t_from, t_to):
        """½ (μ₀ − μ₁)ᵀ Σ⁻¹ (μ₀ − μ₁) computed from the means."""
        xp = namespace(t_from, t_to)
        m0 = self.from_natural(t_from)
        m1 = self.from_natural(t_to)
        dm = m0 - m1
        prec = xp.asarray(np.linalg.inv(self.cov), dtype=dm.dtype, device=device_of(dm))
        return 0.5 * xp.sum(dm * (dm @ prec), axis=-1)


class _ScalarIdentityFamily(ExponentialFamily):
    """One-parameter family whose sufficient statistic is the observation itself, f(x) = x."""

    ndim = 1

    def sufficient_statistics(self, x):
        """f(x) = x as a 1-vector, shape (..., 1)."""
        xp = namespace(x)
        return as_float_array("x", x, xp)[..., None]


class Bernoulli(_ScalarIdentityFamily):
    """Bernoulli(p) with natural parameter t = logit p (shape (..., 1)).

    f(x) = x ∈ {0, 1}, Φ(t) = log(1 + eᵗ); Φ' = p = σ(t); Φ'' = p(1 − p);
    Φ''' = p(1 − p)(1 − 2p); KL(p₀ ‖ p₁) = p₀ log(p₀/p₁) + (1 − p₀) log((1 − p₀)/(1 − p₁)).
    """

    ndim = 1
    name = "bernoulli"

    def _p(self, t):
        t, xp = self._t(t)
        return 1.0 / (1.0 + xp.exp(-t[..., 0])), t, xp

    def log_partition(self, t):
        t, xp = self._t(t)
        return _softplus(t[..., 0], xp)

    def gradient(self, t):
        p, _, xp = self._p(t)
        return p[..., None]

    def hessian(self, t):
        p, _, xp = self._p(t)
        return (p * (1.0 - p))[..., None, None]

    def third_derivative(self, t):
        p, _, xp = self._p(t)
        return (p * (1.0 - p) * (1.0 - 2.0 * p))[..., None, None, None]

    def sample(self, t, n, seed=None):
        """n draws in {0, 1} (NumPy int64, shape (n,))."""
        tn = self._t_numpy(t)
        n = check_int("n", n, min=1)
        return self._rng(seed).binomial(1, 1.0 / (1.0 + math.exp(-tn[0])), size=n)

    def to_natural(self, p):
        """p → logit p; input shape (..., 1), 0 < p < 1."""
        xp = namespace(p)
        q = as_float_array("p", p, xp)
        check_last_dim("p", q, 1)
        if not bool(xp.all((q > 0) & (q < 1))):
            raise ValueError("p must lie in (0, 1)")
        return xp.log(q) - xp.log1p(-q)

    def from_natural(self, t):
        return self.gradient(t)

    def kl(self, t_from, t_to):
        t0, xp = self._t(t_from, "t_from")
        t1, _ = self._t(t_to, "t_to")
        a, b = t0[..., 0], t1[..., 0]
        p0 = 1.0 / (1.0 + xp.exp(-a))
        # log p = −softplus(−t), log(1 − p) = −softplus(t)
        lp0, lq0 = -_softplus(-a, xp), -_softplus(a, xp)
        lp1, lq1 = -_softplus(-b, xp), -_softplus(b, xp)
        return p0 * (lp0 - lp1) + (1.0 - p0) * (lq0 - lq1)


class Poisson(_ScalarIdentityFamily):
    """Poisson(λ) with natural parameter t = log λ (shape (..., 1)).

    f(x) = x, h(x) = 1/x!, Φ(t) = eᵗ = λ; every derivative of Φ is λ;
    KL(λ₀ ‖ λ₁) = λ₀ log(λ₀/λ₁) − λ₀ + λ₁.
    """

    ndim = 1
    name = "poisson"

    def log_partition(self, t):
        t, xp = self._t(t)
        return xp.exp(t[..., 0])

    def gradient(self, t):
        t, xp = self._t(t)
        return xp.exp(t)

    def hessian(self, t):
        t, xp = self._t(t)
        return xp.exp(t)[..., None]

    def third_derivative(self, t):
        t, xp = self._t(t)
        return xp.exp(t)[..., None, None]

    def sample(self, t, n, seed=None):
        """n draws (NumPy int64, shape (n,))."""
        tn = self._t_numpy(t)
        n = check_int("n", n, min=1)
        return self._rng(seed).poisson(math.exp(tn[0]), size=n)

    def to_natural(self, lam):
        """λ → log λ; input shape (..., 1), λ > 0."""
        xp = namespace(lam)
        q = as_float_array("lam", lam, xp)
        check_last_dim("lam", q, 1)
        if not bool(xp.all(q > 0)):
            raise ValueError("lam must be > 0")
        return xp.log(q)

    def from_natural(self, t):
        return self.gradient(t)

    def kl(self, t_from, t_to):
        t0, xp = self._t(t_from, "t_from")
        t1, _ = self._t(t_to, "t_to")
        l0, l1 = xp.exp(t0[..., 0]), xp.exp(t1[..., 0])
        return l0 * xp.log(l0 / l1) - l0 + l1


class MultivariateGaussian(ExponentialFamily):
    """d-dimensional Gaussian N(μ, Σ) as a full exponential family.

    Statistics f(x) = (x_1..x_d, −½x_1², …, −½x_d², −x_i x_j for i < j), natural parameters
    t = (η, Λ_11..Λ_dd, Λ_ij for i < j) with η = Σ⁻¹μ, Λ = Σ⁻¹ (so ⟨f, t⟩ = ηᵀx − ½xᵀΛx);
    dimension D = d + d(d+1)/2, domain Λ positive definite.
    Φ(t) = ½ ηᵀΛ⁻¹η − ½ log det Λ + (d/2) log 2π;  ∇Φ = E[f] = (μ, −½(μ_i² + Σ_ii),
    −(μ_iμ_j + Σ_ij)); ∇²Φ = Cov[f] from Isserlis' theorem:
    Cov(x_a, x_b) = Σ_ab, Cov(x_a, x_i x_j) = μ_iΣ_aj + μ_jΣ_ai,
    Cov(x_i x_j, x_k x_l) = Σ_ikΣ_jl + Σ_ilΣ_jk + μ_iμ_kΣ_jl + μ_iμ_lΣ_jk + μ_jμ_kΣ_il + μ_jμ_lΣ_ik.
    Third derivatives: Richardson finite differences of the analytic Hessian.
    KL(N₀ ‖ N₁) = ½[tr(Σ₁⁻¹Σ₀) + (μ₁ − μ₀)ᵀΣ₁⁻¹(μ₁ − μ₀) − d + ln(det Σ₁ / det Σ₀)].
    """

    name = "multivariate_gaussian"

    def __init__(self, dim: int) -> None:
        self.dim = check_int("dim", dim, min=1)
        d = self.dim
        self.ndim = d + d * (d + 1) // 2
        # quadratic statistics: (i, j, coefficient): diagonal −½x_i², off-diagonal −x_i x_j
        pairs = [(i, i, -0.5) for i in range(d)] + [(i, j, -1.0) for i in range(d) for j in range(i + 1, d)]
        self._pi = np.array([p[0] for p in pairs])
        self._pj = np.array([p[1] for p in pairs])
        self._pc = np.array([p[2] for p in pairs])

    # -- parameter packing
    def _unpack(self, t, xp):
        """t → (η (..., d), Λ (..., d, d))."""
        d = self.dim
        eta = t[..., :d]
        lam_entries = t[..., d:]
        dev = device_of(t)
        # Λ = Σ_p lam_p (E_{ij} + E_{ji}) · w_p with w = ½ on the diagonal, 1 off it, via one matmul
        n_p = self._pi.size
        basis = np.zeros((n_p, d * d))
        for p, (i, j) in enumerate(zip(self._pi, self._pj)):
            basis[p, i * d + j] = 1.0
            basis[p, j * d + i] = 1.0
        B = xp.asarray(basis, dtype=t.dtype, device=dev)
        lam = xp.reshape(lam_entries @ B, tuple(t.shape[:-1]) + (d, d))
        return eta, lam

    def _check_domain(self, t, xp, name):
        _, lam = self._unpack(t, xp)
        ev = xp.linalg.eigvalsh(lam)
        if not bool(xp.all(ev[..., 0] > 0)):
            raise ValueError(f"{name}: the precision Λ packed in {name}[..., {self.dim}:] must be positive definite")

    def _pairs(self, a, xp):
        """Index arrays (i_p, j_p) of the packed pairs i ≤ j, their coefficients c_p (−½ on the
        diagonal, −1 off it) in ``a``'s dtype, and ``a``'s device."""
        dev = device_of(a)
        return (xp.asarray(self._pi, device=dev), xp.asarray(self._pj, device=dev),
                xp.asarray(self._pc, dtype=a.dtype, device=dev), dev)

    def _moments(self, t):
        t, xp = self._t(t)
        eta, lam = self._unpack(t, xp)
        cov = xp.linalg.inv(lam)
        mu = xp.squeeze(cov @ xp.expand_dims(eta, axis=-1), axis=-1)
        return mu, cov, eta, lam, t, xp

    def log_partition(self, t):
        mu, cov, eta, lam, t, xp = self._moments(t)
        sign_logdet = xp.log(xp.linalg.det(lam))
        return 0.5 * xp.sum(eta * mu, axis=-1) - 0.5 * sign_logdet + 0.5 * self.dim * math.log(2 * math.pi)

    def gradient(self, t):
        mu, cov, _, _, t, xp = self._moments(t)
        I, J, c, dev = self._pairs(t, xp)
        mi, mj = xp.take(mu, I, axis=-1), xp.take(mu, J, axis=-1)
        cij = xp.take(xp.take(cov, I, axis=-2), J, axis=-1)  # (..., P, P); need diagonal Σ_{i_p j_p}
        P = self._pi.size
        eyeP = xp.eye(P, dtype=t.dtype, device=dev)
        sij = xp.sum(cij * eyeP, axis=-1)
        return xp.concat([mu, c * (mi * mj + sij)], axis=-1)

    def hessian(self, t):
        mu, cov, _, _, t, xp = self._moments(t)
        I, J, c, dev = self._pairs(t, xp)

        def S(rows, cols):  # Σ[..., rows, cols]
            return xp.take(xp.take(cov, rows, axis=-2), cols, axis=-1)

        def m(idx):
            return xp.take(mu, idx, axis=-1)

        # Cov(x_a, q_p) = c_p (μ_i Σ_aj + μ_j Σ_ai), shape (..., d, P)
        xq = c * (xp.expand_dims(m(I), axis=-2) * S(xp.arange(self.dim, device=dev), J)
                  + xp.expand_dims(m(J), axis=-2) * S(xp.arange(self.dim, device=dev), I))
        # Cov(q_p, q_r), shape (..., P, P)
        mi, mj = xp.expand_dims(m(I), axis=-1), xp.expand_dims(m(J), axis=-1)
        mk, ml = xp.expand_dims(m(I), axis=-2), xp.expand_dims(m(J), axis=-2)
        qq = (S(I, I) * S(J, J) + S(I, J) * S(J, I) + mi * mk * S(J, J) + mi * ml * S(J, I)
              + mj * mk * S(I, J) + mj * ml * S(I, I))
        qq = xp.expand_dims(c, axis=-1) * qq * c
        top = xp.concat([cov, xq], axis=-1)
        bottom = xp.concat([xp.matrix_transpose(xq), qq], axis=-1)
        return xp.concat([top, bottom], axis=-2)

    def third_derivative(self, t):
        from statgeo.geometry.potential import _symmetrise3, fd_jacobian

        t, xp = self._t(t)
        return _symmetrise3(fd_jacobian(self.hessian, t, out_rank=2), xp)

    def sufficient_statistics(self, x):
        """f(x), shape (..., D) for x of shape (..., d)."""
        xp = namespace(x)
        x = as_float_array("x", x, xp)
        check_last_dim("x", x, self.dim)
        I, J, c, _ = self._pairs(x, xp)
        return xp.concat([x, c * xp.take(x, I, axis=-1) * xp.take(x, J, axis=-1)], axis=-1)

    def to_natural(self, mean: Any, cov: Any) -> Any:
        """(μ (..., d), Σ (..., d, d)) → t (..., D)."""
        xp = namespace(mean, cov)
        mu = as_float_array("mean", mean, xp)
        S = as_float_array("cov", cov, xp, dtype=mu.dtype)
        check_last_dim("mean", mu, self.dim)
        if S.ndim < 2 or S.shape[-1] != self.dim or S.shape[-2] != self.dim:
            raise ValueError(f"cov must have shape (..., {self.dim}, {self.dim}), got {tuple(S.shape)}")
        if not bool(xp.all(xp.linalg.eigvalsh(S)[..., 0] > 0)):
            raise ValueError("cov must be positive definite")
        lam = xp.linalg.inv(S)
        eta = xp.squeeze(lam @ xp.expand_dims(mu, axis=-1), axis=-1)
        dev = device_of(mu)
        d = self.dim
        flat = xp.reshape(lam, tuple(lam.shape[:-2]) + (d * d,))
        idx = xp.asarray(self._pi * d + self._pj, device=dev)
        return xp.concat([eta, xp.take(flat, idx, axis=-1)], axis=-1)

    def from_natural(self, t: Any) -> tuple[Any, Any]:
        """t → (μ, Σ)."""
        mu, cov, *_ = self._moments(t)
        return mu, cov

    def sample(self, t, n, seed=None):
        """n draws (NumPy, shape (n, d))."""
        tn = self._t_numpy(t)
        n = check_int("n", n, min=1)
        mu, cov = self.from_natural(tn)
        return self._rng(seed).multivariate_normal(np.asarray(mu), np.asarray(cov), size=n)

    def kl(self, t_from, t_to):
        m0, S0, *_ = self._moments(t_from)
        m1, S1, _, L1, _, xp = self._moments(t_to)
        dm = m1 - m0
        tr = xp.sum(L1 * xp.matrix_transpose(S0), axis=(-2, -1))
        quad = xp.sum(dm * xp.squeeze(L1 @ xp.expand_dims(dm, axis=-1), axis=-1), axis=-1)
        return 0.5 * (tr + quad - self.dim + xp.log(xp.linalg.det(S1)) - xp.log(xp.linalg.det(S0)))
