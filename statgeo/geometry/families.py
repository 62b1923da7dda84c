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

import abc
import math
from typing import Any

import numpy as np

from statgeo.checks import check_allocation, check_int
from statgeo.seeding import as_seed_sequence
from statgeo.geometry._array import as_float_array, check_finite, check_last_dim, device_of, namespace, to_numpy

__all__ = ["ExponentialFamily", "Gaussian1D", "GaussianFixedCov", "Bernoulli", "Poisson", "MultivariateGaussian"]


_T_PARAM = """t : array_like
            Natural parameters, shape (..., d), finite and inside the family's domain
            (lists are accepted)."""

_T_RAISES = """Raises
        ------
        TypeError
            ``t`` is not a real array.
        ValueError
            ``t`` has the wrong last dimension, holds NaN/inf or lies outside the domain."""


def _fill(**blocks: str):
    """Decorator: fill ``{name}`` placeholders of a docstring with shared text blocks."""

    def deco(f):
        f.__doc__ = f.__doc__.format(**blocks)
        return f

    return deco


_tdoc = _fill(t=_T_PARAM, raises=_T_RAISES)


class ExponentialFamily(abc.ABC):
    """Base class of the closed-form families: validation and the Potential interface.

    p(x | t) = h(x) exp(⟨f(x), t⟩ − Φ(t)) with natural parameters t of shape (..., d);
    ``value`` = ``log_partition`` = Φ, ``gradient`` = ∇Φ = E_t[f], ``hessian`` = ∇²Φ =
    Cov_t[f] (the Fisher metric), ``third_derivative`` = ∂³Φ (Wainwright & Jordan 2008, §3.1).
    Subclasses implement the four derivatives and ``_check_domain``; the base class cannot be
    instantiated.

    Examples
    --------
    >>> from statgeo.geometry import Bernoulli
    >>> isinstance(Bernoulli(), ExponentialFamily)
    True
    """

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

    def _check_domain(self, t, xp, name: str) -> None:
        return None

    # -- Potential protocol
    @_tdoc
    def value(self, t: Any) -> Any:
        """Φ(t) = log Z(t) (the same as :meth:`log_partition`).

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (...), in the namespace of ``t``.

        {raises}
        """
        return self.log_partition(t)

    @abc.abstractmethod
    def log_partition(self, t: Any) -> Any:
        """Φ(t) = log Z(t), the log-partition function.

        Parameters
        ----------
        t : array_like
            Natural parameters, shape (..., d).

        Returns
        -------
        array
            Shape (...).
        """

    @abc.abstractmethod
    def gradient(self, t: Any) -> Any:
        """∇Φ(t) = E_t[f(x)], the expectation parameters.

        Parameters
        ----------
        t : array_like
            Natural parameters, shape (..., d).

        Returns
        -------
        array
            Shape (..., d).
        """

    @abc.abstractmethod
    def hessian(self, t: Any) -> Any:
        """∇²Φ(t) = Cov_t[f(x)], the Fisher metric in natural coordinates.

        Parameters
        ----------
        t : array_like
            Natural parameters, shape (..., d).

        Returns
        -------
        array
            Shape (..., d, d).
        """

    @abc.abstractmethod
    def third_derivative(self, t: Any) -> Any:
        """∂_i∂_j∂_l Φ(t), the third cumulants of f(x).

        Parameters
        ----------
        t : array_like
            Natural parameters, shape (..., d).

        Returns
        -------
        array
            Shape (..., d, d, d).
        """

    @_tdoc
    def mean_parameters(self, t: Any) -> Any:
        """Expectation parameters η = ∇Φ(t) = E_t[f(x)].

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., d).

        {raises}
        """
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

    def _n_draws(self, n: Any, *per_draw: int) -> int:
        n = check_int("n", n, min=1)
        check_allocation("the samples (n, ...)", (n,) + tuple(per_draw), names="n")
        return n


def _softplus(x, xp):
    """log(1 + eˣ), stable."""
    return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))


class Gaussian1D(ExponentialFamily):
    """Univariate Gaussian N(μ, σ²) in natural parameters t = (μ/σ², −1/(2σ²)), t₂ < 0.

    f(x) = (x, x²), h(x) = 1, Φ(t) = −t₁²/(4t₂) + ½ log(π/(−t₂)).
    ∇Φ = (μ, μ² + σ²); ∇²Φ = [[σ², 2μσ²], [2μσ², 2σ⁴ + 4μ²σ²]];
    ∂³Φ: Φ₁₁₁ = 0, Φ₁₁₂ = 2σ⁴, Φ₁₂₂ = 8μσ⁴, Φ₂₂₂ = 8σ⁶ + 24μ²σ⁴.
    Physical parameters p = (μ, σ), σ > 0; Fisher–Rao metric in (μ, σ): (dμ² + 2dσ²)/σ²
    (Wainwright & Jordan 2008, §3.2; Amari 2016, §2.2).

    Examples
    --------
    >>> import numpy as np
    >>> fam = Gaussian1D()
    >>> t = fam.to_natural([0.0, 2.0])          # μ = 0, σ = 2
    >>> np.round(fam.gradient(t), 6)             # (μ, μ² + σ²)
    array([0., 4.])
    """

    ndim = 2
    name = "gaussian1d"

    def _check_domain(self, t, xp, name):
        if not bool(xp.all(t[..., 1] < 0)):
            raise ValueError(f"{name}[..., 1] = −1/(2σ²) must be < 0 for a Gaussian, got a value ≥ 0")

    def _mu_s(self, t, name="t"):
        t, xp = self._t(t, name)
        s = -0.5 / t[..., 1]
        mu = t[..., 0] * s
        return mu, s, t, xp

    @_tdoc
    def log_partition(self, t: Any) -> Any:
        """Φ(t) = −t₁²/(4t₂) + ½ log(π/(−t₂)).

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (...).

        {raises}
        """
        t, xp = self._t(t)
        return -t[..., 0] ** 2 / (4.0 * t[..., 1]) + 0.5 * xp.log(math.pi / (-t[..., 1]))

    @_tdoc
    def gradient(self, t: Any) -> Any:
        """∇Φ(t) = (μ, μ² + σ²).

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., 2).

        {raises}
        """
        mu, s, _, xp = self._mu_s(t)
        return xp.stack([mu, mu * mu + s], axis=-1)

    @_tdoc
    def hessian(self, t: Any) -> Any:
        """∇²Φ(t) = [[σ², 2μσ²], [2μσ², 2σ⁴ + 4μ²σ²]] (the Fisher metric).

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., 2, 2).

        {raises}
        """
        mu, s, _, xp = self._mu_s(t)
        h12 = 2.0 * mu * s
        r0 = xp.stack([s, h12], axis=-1)
        r1 = xp.stack([h12, 2.0 * s * s + 4.0 * mu * mu * s], axis=-1)
        return xp.stack([r0, r1], axis=-2)

    @_tdoc
    def third_derivative(self, t: Any) -> Any:
        """∂³Φ(t): Φ₁₁₁ = 0, Φ₁₁₂ = 2σ⁴, Φ₁₂₂ = 8μσ⁴, Φ₂₂₂ = 8σ⁶ + 24μ²σ⁴.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., 2, 2, 2).

        {raises}
        """
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
        """f(x) = (x, x²).

        Parameters
        ----------
        x : array_like
            Observations, any shape, finite.

        Returns
        -------
        array
            Shape x.shape + (2,).

        Raises
        ------
        TypeError
            ``x`` is not a real array.
        ValueError
            ``x`` holds NaN or inf.
        """
        xp = namespace(x)
        x = as_float_array("x", x, xp)
        check_finite("x", x, xp)
        return xp.stack([x, x * x], axis=-1)

    def sample(self, t: Any, n: int, *, seed: int | np.random.SeedSequence) -> np.ndarray:
        """Draw n i.i.d. samples from p_t (host NumPy RNG).

        Parameters
        ----------
        t : array_like
            One natural parameter point, shape (2,).
        n : int
            Number of draws (≥ 1; the (n,) array must fit in memory).
        seed : int or numpy.random.SeedSequence
            Seed of the generator.

        Returns
        -------
        numpy.ndarray
            Shape (n,), float64.

        Raises
        ------
        TypeError
            ``t`` is not a real array, ``n`` is not an integer, ``seed`` is not a seed.
        ValueError
            ``t`` is not one point of the domain, ``n`` < 1 or too large.
        """
        tn = self._t_numpy(t)
        n = self._n_draws(n)
        s = -0.5 / tn[1]
        return self._rng(seed).normal(tn[0] * s, math.sqrt(s), size=n)

    # -- parameter maps
    def to_natural(self, mu_sigma: Any) -> Any:
        """Map physical parameters (μ, σ) to t = (μ/σ², −1/(2σ²)).

        Parameters
        ----------
        mu_sigma : array_like
            Shape (..., 2), finite, σ > 0.

        Returns
        -------
        array
            Natural parameters, shape (..., 2).

        Raises
        ------
        TypeError
            ``mu_sigma`` is not a real array.
        ValueError
            Wrong last dimension, NaN/inf, or σ ≤ 0.
        """
        xp = namespace(mu_sigma)
        p = as_float_array("mu_sigma", mu_sigma, xp)
        check_last_dim("mu_sigma", p, 2)
        check_finite("mu_sigma", p, xp)
        if not bool(xp.all(p[..., 1] > 0)):
            raise ValueError("mu_sigma[..., 1] = σ must be > 0")
        s = p[..., 1] ** 2
        return xp.stack([p[..., 0] / s, -0.5 / s], axis=-1)

    @_tdoc
    def from_natural(self, t: Any) -> Any:
        """Map natural parameters t to (μ, σ).

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            (μ, σ), shape (..., 2).

        {raises}
        """
        mu, s, _, xp = self._mu_s(t)
        return xp.stack([mu, xp.sqrt(s)], axis=-1)

    def kl(self, t_from: Any, t_to: Any) -> Any:
        """KL(N(μ₀, σ₀²) ‖ N(μ₁, σ₁²)) = log(σ₁/σ₀) + (σ₀² + (μ₀ − μ₁)²)/(2σ₁²) − ½.

        Parameters
        ----------
        t_from : array_like
            Natural parameters of the first law (μ₀, σ₀), shape (..., 2).
        t_to : array_like
            Natural parameters of the second law (μ₁, σ₁), shape (..., 2), broadcasting.

        Returns
        -------
        array
            Shape broadcast(...), in nats.

        Raises
        ------
        TypeError
            An argument is not a real array.
        ValueError
            Wrong last dimension, NaN/inf, or parameters outside the domain.
        """
        m0, s0, _, xp = self._mu_s(t_from, "t_from")
        m1, s1, _, _ = self._mu_s(t_to, "t_to")
        return 0.5 * xp.log(s1 / s0) + (s0 + (m0 - m1) ** 2) / (2.0 * s1) - 0.5

    @staticmethod
    def fisher_rao_metric(mu_sigma: Any) -> Any:
        """Fisher metric in the coordinates (μ, σ): g = diag(1, 2)/σ².

        Parameters
        ----------
        mu_sigma : array_like
            Points (μ, σ), shape (..., 2), finite, σ > 0.

        Returns
        -------
        array
            Shape (..., 2, 2).

        Raises
        ------
        TypeError
            ``mu_sigma`` is not a real array.
        ValueError
            Wrong last dimension, NaN/inf, or σ ≤ 0 (the metric is singular there).
        """
        xp = namespace(mu_sigma)
        p = as_float_array("mu_sigma", mu_sigma, xp)
        check_last_dim("mu_sigma", p, 2)
        check_finite("mu_sigma", p, xp)
        if not bool(xp.all(p[..., 1] > 0)):
            raise ValueError("mu_sigma[..., 1] = σ must be > 0 (the Fisher–Rao metric is singular at σ = 0)")
        inv = 1.0 / (p[..., 1] ** 2)
        z = xp.zeros_like(inv)
        return xp.stack([xp.stack([inv, z], axis=-1), xp.stack([z, 2.0 * inv], axis=-1)], axis=-2)

    @staticmethod
    def fisher_rao_distance(p0: Any, p1: Any) -> Any:
        """Closed-form Fisher–Rao distance between N(μ₀, σ₀²) and N(μ₁, σ₁²).

        With u = μ/√2 the metric is 2 (du² + dσ²)/σ² (a scaled Poincaré half-plane), so
        d = √2 · arccosh(1 + ((u₀ − u₁)² + (σ₀ − σ₁)²) / (2σ₀σ₁))
        (Costa, Santos & Strapasson, Discrete Appl. Math. 197 (2015) 59, eq. 11).

        Parameters
        ----------
        p0 : array_like
            (μ₀, σ₀), shape (..., 2), σ₀ > 0.
        p1 : array_like
            (μ₁, σ₁), shape (..., 2), σ₁ > 0, broadcasting against ``p0``.

        Returns
        -------
        array
            Shape broadcast(...).

        Raises
        ------
        TypeError
            An argument is not a real array.
        ValueError
            Wrong last dimension, NaN/inf, or σ ≤ 0.

        Examples
        --------
        >>> import math
        >>> d = Gaussian1D.fisher_rao_distance([0.0, 1.0], [0.0, 3.0])
        >>> bool(abs(float(d) - math.sqrt(2) * math.log(3)) < 1e-12)
        True
        """
        xp = namespace(p0, p1)
        a = as_float_array("p0", p0, xp)
        b = as_float_array("p1", p1, xp, dtype=a.dtype)
        for nm, v in (("p0", a), ("p1", b)):
            check_last_dim(nm, v, 2)
            check_finite(nm, v, xp)
            if not bool(xp.all(v[..., 1] > 0)):
                raise ValueError(f"{nm}[..., 1] = σ must be > 0")
        du2 = (a[..., 0] - b[..., 0]) ** 2 / 2.0
        ds2 = (a[..., 1] - b[..., 1]) ** 2
        return math.sqrt(2.0) * xp.acosh(1.0 + (du2 + ds2) / (2.0 * a[..., 1] * b[..., 1]))


class GaussianFixedCov(ExponentialFamily):
    """d-dimensional Gaussian mean family N(Σt, Σ) with known covariance Σ.

    f(x) = x, h(x) = N(x; 0, Σ), Φ(t) = ½ tᵀΣt; ∇Φ = Σt = μ; ∇²Φ = Σ; ∂³Φ = 0;
    KL(p_{t₀} ‖ p_{t₁}) = ½ (μ₀ − μ₁)ᵀ Σ⁻¹ (μ₀ − μ₁) = ½ (t₀ − t₁)ᵀ Σ (t₀ − t₁).

    Parameters
    ----------
    cov : array_like
        Σ, a symmetric positive-definite (d, d) matrix (a scalar for d = 1).

    Raises
    ------
    TypeError
        ``cov`` is not a real array.
    ValueError
        ``cov`` is not square, not finite, not symmetric or not positive definite.

    Examples
    --------
    >>> fam = GaussianFixedCov([[2.0, 0.0], [0.0, 1.0]])
    >>> float(fam.value([1.0, 1.0]))
    1.5
    """

    name = "gaussian_fixed_cov"

    def __init__(self, cov: Any) -> None:
        if isinstance(cov, (str, bytes)) or cov is None:
            raise TypeError(f"cov must be a real (d, d) matrix, got {cov!r}")
        try:
            c = np.asarray(to_numpy(cov), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError("cov must be a real (d, d) matrix") from exc
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

    @_tdoc
    def log_partition(self, t: Any) -> Any:
        """Φ(t) = ½ tᵀΣt.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (...).

        {raises}
        """
        t, xp = self._t(t)
        return 0.5 * xp.sum(t * (t @ self._cov(t, xp)), axis=-1)

    @_tdoc
    def gradient(self, t: Any) -> Any:
        """∇Φ(t) = Σt = μ.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., d).

        {raises}
        """
        t, xp = self._t(t)
        return t @ self._cov(t, xp)

    @_tdoc
    def hessian(self, t: Any) -> Any:
        """∇²Φ(t) = Σ at every point.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., d, d).

        {raises}
        """
        t, xp = self._t(t)
        return xp.broadcast_to(self._cov(t, xp), tuple(t.shape) + (self.ndim,))

    @_tdoc
    def third_derivative(self, t: Any) -> Any:
        """∂³Φ(t) = 0.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Zeros, shape (..., d, d, d).

        {raises}
        """
        t, xp = self._t(t)
        d = self.ndim
        return xp.zeros(tuple(t.shape) + (d, d), dtype=t.dtype, device=device_of(t))

    def sufficient_statistics(self, x: Any) -> Any:
        """f(x) = x.

        Parameters
        ----------
        x : array_like
            Observations, shape (..., d), finite.

        Returns
        -------
        array
            Shape (..., d).

        Raises
        ------
        TypeError
            ``x`` is not a real array.
        ValueError
            Wrong last dimension or NaN/inf.
        """
        xp = namespace(x)
        x = as_float_array("x", x, xp)
        check_last_dim("x", x, self.ndim)
        check_finite("x", x, xp)
        return x

    def sample(self, t: Any, n: int, *, seed: int | np.random.SeedSequence) -> np.ndarray:
        """Draw n samples from N(Σt, Σ) (host NumPy RNG).

        Parameters
        ----------
        t : array_like
            One natural parameter point, shape (d,).
        n : int
            Number of draws (≥ 1; the (n, d) array must fit in memory).
        seed : int or numpy.random.SeedSequence
            Seed of the generator.

        Returns
        -------
        numpy.ndarray
            Shape (n, d).

        Raises
        ------
        TypeError
            ``t`` is not a real array, ``n`` is not an integer, ``seed`` is not a seed.
        ValueError
            ``t`` is not one finite point of shape (d,), ``n`` < 1 or too large.
        """
        tn = self._t_numpy(t)
        n = self._n_draws(n, self.ndim)
        return self._rng(seed).multivariate_normal(self.cov @ tn, self.cov, size=n)

    def to_natural(self, mean: Any) -> Any:
        """Map the mean μ to t = Σ⁻¹μ.

        Parameters
        ----------
        mean : array_like
            μ, shape (..., d), finite.

        Returns
        -------
        array
            Shape (..., d).

        Raises
        ------
        TypeError
            ``mean`` is not a real array.
        ValueError
            Wrong last dimension or NaN/inf.
        """
        xp = namespace(mean)
        m = as_float_array("mean", mean, xp)
        check_last_dim("mean", m, self.ndim)
        check_finite("mean", m, xp)
        prec = xp.asarray(np.linalg.inv(self.cov), dtype=m.dtype, device=device_of(m))
        return m @ prec

    @_tdoc
    def from_natural(self, t: Any) -> Any:
        """Map t to the mean μ = Σt.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., d).

        {raises}
        """
        return self.gradient(t)

    def kl(self, t_from: Any, t_to: Any) -> Any:
        """KL(p_{t₀} ‖ p_{t₁}) = ½ (μ₀ − μ₁)ᵀ Σ⁻¹ (μ₀ − μ₁), computed from the means.

        Parameters
        ----------
        t_from : array_like
            t₀, shape (..., d).
        t_to : array_like
            t₁, shape (..., d), broadcasting against ``t_from``.

        Returns
        -------
        array
            Shape broadcast(...), in nats.

        Raises
        ------
        TypeError
            An argument is not a real array.
        ValueError
            Wrong last dimension or NaN/inf.
        """
        xp = namespace(t_from, t_to)
        self._t(t_from, "t_from")
        self._t(t_to, "t_to")
        m0 = self.from_natural(t_from)
        m1 = self.from_natural(t_to)
        dm = m0 - m1
        prec = xp.asarray(np.linalg.inv(self.cov), dtype=dm.dtype, device=device_of(dm))
        return 0.5 * xp.sum(dm * (dm @ prec), axis=-1)


class _ScalarIdentityFamily(ExponentialFamily):
    """One-parameter family whose sufficient statistic is the observation itself, f(x) = x."""

    ndim = 1

    def _check_support(self, x, xp) -> None:  # pragma: no cover - overridden
        return None

    def sufficient_statistics(self, x: Any) -> Any:
        """f(x) = x as a 1-vector.

        Parameters
        ----------
        x : array_like
            Observations, any shape, finite and in the family's support.

        Returns
        -------
        array
            Shape x.shape + (1,).

        Raises
        ------
        TypeError
            ``x`` is not a real array.
        ValueError
            ``x`` holds NaN/inf or values outside the support.
        """
        xp = namespace(x)
        x = as_float_array("x", x, xp)
        check_finite("x", x, xp)
        self._check_support(x, xp)
        return x[..., None]


class Bernoulli(_ScalarIdentityFamily):
    """Bernoulli(p) with natural parameter t = logit p (shape (..., 1)).

    f(x) = x ∈ {0, 1}, Φ(t) = log(1 + eᵗ); Φ' = p = σ(t); Φ'' = p(1 − p);
    Φ''' = p(1 − p)(1 − 2p); KL(p₀ ‖ p₁) = p₀ log(p₀/p₁) + (1 − p₀) log((1 − p₀)/(1 − p₁)).

    Examples
    --------
    >>> fam = Bernoulli()
    >>> float(fam.hessian([[0.0]])[0, 0, 0])   # p(1 − p) at p = ½
    0.25
    """

    ndim = 1
    name = "bernoulli"

    def _check_support(self, x, xp) -> None:
        if not bool(xp.all((x == 0) | (x == 1))):
            raise ValueError("x must hold Bernoulli observations in {0, 1}")

    def _p(self, t):
        t, xp = self._t(t)
        return 1.0 / (1.0 + xp.exp(-t[..., 0])), t, xp

    @_tdoc
    def log_partition(self, t: Any) -> Any:
        """Φ(t) = log(1 + eᵗ) (a stable softplus).

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (...).

        {raises}
        """
        t, xp = self._t(t)
        return _softplus(t[..., 0], xp)

    @_tdoc
    def gradient(self, t: Any) -> Any:
        """∇Φ(t) = p = σ(t).

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., 1).

        {raises}
        """
        p, _, xp = self._p(t)
        return p[..., None]

    @_tdoc
    def hessian(self, t: Any) -> Any:
        """∇²Φ(t) = p(1 − p).

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., 1, 1).

        {raises}
        """
        p, _, xp = self._p(t)
        return (p * (1.0 - p))[..., None, None]

    @_tdoc
    def third_derivative(self, t: Any) -> Any:
        """∂³Φ(t) = p(1 − p)(1 − 2p).

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., 1, 1, 1).

        {raises}
        """
        p, _, xp = self._p(t)
        return (p * (1.0 - p) * (1.0 - 2.0 * p))[..., None, None, None]

    def sample(self, t: Any, n: int, *, seed: int | np.random.SeedSequence) -> np.ndarray:
        """Draw n samples in {0, 1} (host NumPy RNG).

        Parameters
        ----------
        t : array_like
            One natural parameter point, shape (1,).
        n : int
            Number of draws (≥ 1; the (n,) array must fit in memory).
        seed : int or numpy.random.SeedSequence
            Seed of the generator.

        Returns
        -------
        numpy.ndarray
            Shape (n,), int64.

        Raises
        ------
        TypeError
            ``t`` is not a real array, ``n`` is not an integer, ``seed`` is not a seed.
        ValueError
            ``t`` is not one finite point of shape (1,), ``n`` < 1 or too large.
        """
        tn = self._t_numpy(t)
        n = self._n_draws(n)
        return self._rng(seed).binomial(1, 1.0 / (1.0 + math.exp(-tn[0])), size=n)

    def to_natural(self, p: Any) -> Any:
        """Map the success probability p to t = logit p.

        Parameters
        ----------
        p : array_like
            Shape (..., 1), 0 < p < 1.

        Returns
        -------
        array
            Shape (..., 1).

        Raises
        ------
        TypeError
            ``p`` is not a real array.
        ValueError
            Wrong last dimension, NaN, or p outside (0, 1).
        """
        xp = namespace(p)
        q = as_float_array("p", p, xp)
        check_last_dim("p", q, 1)
        if not bool(xp.all((q > 0) & (q < 1))):
            raise ValueError("p must lie in (0, 1)")
        return xp.log(q) - xp.log1p(-q)

    @_tdoc
    def from_natural(self, t: Any) -> Any:
        """Map t to the success probability p = σ(t).

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., 1).

        {raises}
        """
        return self.gradient(t)

    def kl(self, t_from: Any, t_to: Any) -> Any:
        """KL(p₀ ‖ p₁) = p₀ log(p₀/p₁) + (1 − p₀) log((1 − p₀)/(1 − p₁)), in log space.

        Parameters
        ----------
        t_from : array_like
            logit p₀, shape (..., 1).
        t_to : array_like
            logit p₁, shape (..., 1), broadcasting against ``t_from``.

        Returns
        -------
        array
            Shape broadcast(...), in nats.

        Raises
        ------
        TypeError
            An argument is not a real array.
        ValueError
            Wrong last dimension or NaN/inf.
        """
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

    Examples
    --------
    >>> import numpy as np
    >>> fam = Poisson()
    >>> float(fam.value(np.log([2.0])))
    2.0
    """

    ndim = 1
    name = "poisson"

    def _check_support(self, x, xp) -> None:
        if not bool(xp.all((x >= 0) & (x == xp.round(x)))):
            raise ValueError("x must hold Poisson counts (non-negative integers)")

    @_tdoc
    def log_partition(self, t: Any) -> Any:
        """Φ(t) = eᵗ = λ.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (...).

        {raises}
        """
        t, xp = self._t(t)
        return xp.exp(t[..., 0])

    @_tdoc
    def gradient(self, t: Any) -> Any:
        """∇Φ(t) = λ.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., 1).

        {raises}
        """
        t, xp = self._t(t)
        return xp.exp(t)

    @_tdoc
    def hessian(self, t: Any) -> Any:
        """∇²Φ(t) = λ.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., 1, 1).

        {raises}
        """
        t, xp = self._t(t)
        return xp.exp(t)[..., None]

    @_tdoc
    def third_derivative(self, t: Any) -> Any:
        """∂³Φ(t) = λ.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., 1, 1, 1).

        {raises}
        """
        t, xp = self._t(t)
        return xp.exp(t)[..., None, None]

    def sample(self, t: Any, n: int, *, seed: int | np.random.SeedSequence) -> np.ndarray:
        """Draw n Poisson counts (host NumPy RNG).

        Parameters
        ----------
        t : array_like
            One natural parameter point log λ, shape (1,).
        n : int
            Number of draws (≥ 1; the (n,) array must fit in memory).
        seed : int or numpy.random.SeedSequence
            Seed of the generator.

        Returns
        -------
        numpy.ndarray
            Shape (n,), int64.

        Raises
        ------
        TypeError
            ``t`` is not a real array, ``n`` is not an integer, ``seed`` is not a seed.
        ValueError
            ``t`` is not one finite point of shape (1,), ``n`` < 1 or too large.
        """
        tn = self._t_numpy(t)
        n = self._n_draws(n)
        return self._rng(seed).poisson(math.exp(tn[0]), size=n)

    def to_natural(self, lam: Any) -> Any:
        """Map the rate λ to t = log λ.

        Parameters
        ----------
        lam : array_like
            Shape (..., 1), λ > 0 and finite.

        Returns
        -------
        array
            Shape (..., 1).

        Raises
        ------
        TypeError
            ``lam`` is not a real array.
        ValueError
            Wrong last dimension, NaN/inf, or λ ≤ 0.
        """
        xp = namespace(lam)
        q = as_float_array("lam", lam, xp)
        check_last_dim("lam", q, 1)
        check_finite("lam", q, xp)
        if not bool(xp.all(q > 0)):
            raise ValueError("lam must be > 0")
        return xp.log(q)

    @_tdoc
    def from_natural(self, t: Any) -> Any:
        """Map t to the rate λ = eᵗ.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., 1).

        {raises}
        """
        return self.gradient(t)

    def kl(self, t_from: Any, t_to: Any) -> Any:
        """KL(λ₀ ‖ λ₁) = λ₀ log(λ₀/λ₁) − λ₀ + λ₁.

        Parameters
        ----------
        t_from : array_like
            log λ₀, shape (..., 1).
        t_to : array_like
            log λ₁, shape (..., 1), broadcasting against ``t_from``.

        Returns
        -------
        array
            Shape broadcast(...), in nats.

        Raises
        ------
        TypeError
            An argument is not a real array.
        ValueError
            Wrong last dimension or NaN/inf.
        """
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
    KL(N₀ ‖ N₁) = ½[tr(Σ₁⁻¹Σ₀) + (μ₁ − μ₀)ᵀΣ₁⁻¹(μ₁ − μ₀) − d + ln(det Σ₁ / det Σ₀)]
    (Wainwright & Jordan 2008, §3.2).

    Parameters
    ----------
    dim : int
        The dimension d ≥ 1 of x. Every evaluation builds a (d(d+1)/2, d²) packing matrix,
        which must fit in memory (this caps d at a few hundred).

    Raises
    ------
    TypeError
        ``dim`` is not an integer.
    ValueError
        ``dim`` < 1, or so large that the packing matrix would not fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> fam = MultivariateGaussian(2)
    >>> t = fam.to_natural([0.0, 0.0], np.eye(2))
    >>> t.shape
    (5,)
    >>> mu, cov = fam.from_natural(t)
    >>> cov
    array([[1., 0.],
           [0., 1.]])
    """

    name = "multivariate_gaussian"

    def __init__(self, dim: int) -> None:
        self.dim = check_int("dim", dim, min=1)
        d = self.dim
        check_allocation("the parameter packing matrix (d(d+1)/2, d²)", (d * (d + 1) // 2, d * d), names="dim")
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

    def _moments(self, t, name="t"):
        t, xp = self._t(t, name)
        eta, lam = self._unpack(t, xp)
        cov = xp.linalg.inv(lam)
        mu = xp.squeeze(cov @ xp.expand_dims(eta, axis=-1), axis=-1)
        return mu, cov, eta, lam, t, xp

    @_tdoc
    def log_partition(self, t: Any) -> Any:
        """Φ(t) = ½ ηᵀΛ⁻¹η − ½ log det Λ + (d/2) log 2π.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (...).

        {raises}
        """
        mu, cov, eta, lam, t, xp = self._moments(t)
        sign_logdet = xp.log(xp.linalg.det(lam))
        return 0.5 * xp.sum(eta * mu, axis=-1) - 0.5 * sign_logdet + 0.5 * self.dim * math.log(2 * math.pi)

    @_tdoc
    def gradient(self, t: Any) -> Any:
        """∇Φ(t) = E[f] = (μ, −½(μ_i² + Σ_ii), −(μ_iμ_j + Σ_ij)).

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., D).

        {raises}
        """
        mu, cov, _, _, t, xp = self._moments(t)
        I, J, c, dev = self._pairs(t, xp)
        mi, mj = xp.take(mu, I, axis=-1), xp.take(mu, J, axis=-1)
        cij = xp.take(xp.take(cov, I, axis=-2), J, axis=-1)  # (..., P, P); need diagonal Σ_{i_p j_p}
        P = self._pi.size
        eyeP = xp.eye(P, dtype=t.dtype, device=dev)
        sij = xp.sum(cij * eyeP, axis=-1)
        return xp.concat([mu, c * (mi * mj + sij)], axis=-1)

    @_tdoc
    def hessian(self, t: Any) -> Any:
        """∇²Φ(t) = Cov[f], from Isserlis' theorem (class docstring).

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., D, D).

        {raises}
        """
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

    @_tdoc
    def third_derivative(self, t: Any) -> Any:
        """∂³Φ(t) by Richardson finite differences of the analytic Hessian, symmetrised.

        Parameters
        ----------
        {t}

        Returns
        -------
        array
            Shape (..., D, D, D).

        {raises}
        """
        from statgeo.geometry.potential import _symmetrise3, fd_jacobian

        t, xp = self._t(t)
        return _symmetrise3(fd_jacobian(self.hessian, t, out_rank=2), xp)

    def sufficient_statistics(self, x: Any) -> Any:
        """f(x) = (x, −½x_i², −x_i x_j (i < j)).

        Parameters
        ----------
        x : array_like
            Observations, shape (..., d), finite.

        Returns
        -------
        array
            Shape (..., D).

        Raises
        ------
        TypeError
            ``x`` is not a real array.
        ValueError
            Wrong last dimension or NaN/inf.
        """
        xp = namespace(x)
        x = as_float_array("x", x, xp)
        check_last_dim("x", x, self.dim)
        check_finite("x", x, xp)
        I, J, c, _ = self._pairs(x, xp)
        return xp.concat([x, c * xp.take(x, I, axis=-1) * xp.take(x, J, axis=-1)], axis=-1)

    def to_natural(self, mean: Any, cov: Any) -> Any:
        """Map (μ, Σ) to the natural parameters t = (Σ⁻¹μ, packed Σ⁻¹).

        Parameters
        ----------
        mean : array_like
            μ, shape (..., d), finite.
        cov : array_like
            Σ, shape (..., d, d), finite, positive definite.

        Returns
        -------
        array
            Shape (..., D).

        Raises
        ------
        TypeError
            An argument is not a real array.
        ValueError
            Wrong shapes, NaN/inf, or a covariance that is not positive definite.
        """
        xp = namespace(mean, cov)
        mu = as_float_array("mean", mean, xp)
        S = as_float_array("cov", cov, xp, dtype=mu.dtype)
        check_last_dim("mean", mu, self.dim)
        if S.ndim < 2 or S.shape[-1] != self.dim or S.shape[-2] != self.dim:
            raise ValueError(f"cov must have shape (..., {self.dim}, {self.dim}), got {tuple(S.shape)}")
        check_finite("mean", mu, xp)
        check_finite("cov", S, xp)
        if not bool(xp.all(xp.linalg.eigvalsh(S)[..., 0] > 0)):
            raise ValueError("cov must be positive definite")
        lam = xp.linalg.inv(S)
        eta = xp.squeeze(lam @ xp.expand_dims(mu, axis=-1), axis=-1)
        dev = device_of(mu)
        d = self.dim
        flat = xp.reshape(lam, tuple(lam.shape[:-2]) + (d * d,))
        idx = xp.asarray(self._pi * d + self._pj, device=dev)
        return xp.concat([eta, xp.take(flat, idx, axis=-1)], axis=-1)

    @_tdoc
    def from_natural(self, t: Any) -> tuple[Any, Any]:
        """Map t to the mean and covariance (μ, Σ).

        Parameters
        ----------
        {t}

        Returns
        -------
        mean : array
            μ, shape (..., d).
        cov : array
            Σ, shape (..., d, d).

        {raises}
        """
        mu, cov, *_ = self._moments(t)
        return mu, cov

    def sample(self, t: Any, n: int, *, seed: int | np.random.SeedSequence) -> np.ndarray:
        """Draw n samples from N(μ, Σ) (host NumPy RNG).

        Parameters
        ----------
        t : array_like
            One natural parameter point, shape (D,).
        n : int
            Number of draws (≥ 1; the (n, d) array must fit in memory).
        seed : int or numpy.random.SeedSequence
            Seed of the generator.

        Returns
        -------
        numpy.ndarray
            Shape (n, d).

        Raises
        ------
        TypeError
            ``t`` is not a real array, ``n`` is not an integer, ``seed`` is not a seed.
        ValueError
            ``t`` is not one point of the domain, ``n`` < 1 or too large.
        """
        tn = self._t_numpy(t)
        n = self._n_draws(n, self.dim)
        mu, cov = self.from_natural(tn)
        return self._rng(seed).multivariate_normal(np.asarray(mu), np.asarray(cov), size=n)

    def kl(self, t_from: Any, t_to: Any) -> Any:
        """KL(N₀ ‖ N₁) = ½[tr(Σ₁⁻¹Σ₀) + (μ₁ − μ₀)ᵀΣ₁⁻¹(μ₁ − μ₀) − d + ln(det Σ₁ / det Σ₀)].

        Parameters
        ----------
        t_from : array_like
            Natural parameters of N₀, shape (..., D).
        t_to : array_like
            Natural parameters of N₁, shape (..., D), broadcasting against ``t_from``.

        Returns
        -------
        array
            Shape broadcast(...), in nats.

        Raises
        ------
        TypeError
            An argument is not a real array.
        ValueError
            Wrong last dimension, NaN/inf, or a precision that is not positive definite.
        """
        m0, S0, *_ = self._moments(t_from, "t_from")
        m1, S1, _, L1, _, xp = self._moments(t_to, "t_to")
        dm = m1 - m0
        tr = xp.sum(L1 * xp.matrix_transpose(S0), axis=(-2, -1))
        quad = xp.sum(dm * xp.squeeze(L1 @ xp.expand_dims(dm, axis=-1), axis=-1), axis=-1)
        return 0.5 * (tr + quad - self.dim + xp.log(xp.linalg.det(S1)) - xp.log(xp.linalg.det(S0)))
