"""The 1-D bimodal analysis behind the divergent Lipschitz constant (Lobashev et al. 2025, §6).

Target p_0 = ½ N(−1, σ²) + ½ N(1, σ²); VP-SDE with constant β,

    dX = −½ β X dt + √β dW,

so X_t = m_t X_0 + √(1 − m_t²) ξ with m_t = e^{−βt/2}, and p_t = ½ N(−m_t, s_t²) + ½ N(m_t, s_t²),
s_t² = σ² m_t² + 1 − m_t². The exact score of the mixture is

    ∇ log p_t(x) = (−x + m_t tanh(m_t x / s_t²)) / s_t²,

and the probability-flow ODE (Song et al. 2021, eq. 13) is

    dx/dt = −½ β [x + ∇ log p_t(x)].

Linearised at the separatrix x = 0, d(δx)/dt = −½ β [1 + (m_t² − s_t²)/s_t⁴] δx; integrated
backwards in time (generation runs t: T → 0) a perturbation grows at the rate
λ(t) = ½ β [1 + (m_t² − s_t²)/s_t⁴], which at t = 0 is λ = (β/2)(1 + (1 − σ²)/σ⁴): it diverges
like β/(2σ⁴) as σ → 0 (docs/diffusion.md, "1-D bimodal analysis").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from statgeo.checks import check_allocation, check_int, check_real
from statgeo.diffusion._checks import check_optional_scalar, check_scalar, real_array

__all__ = ["BimodalVP", "lyapunov_formula", "lyapunov_scan", "MAX_SCAN_SIGMAS"]

#: most mode widths σ of one :func:`lyapunov_scan` (each costs two ODE integrations)
MAX_SCAN_SIGMAS = 10_000


def lyapunov_formula(sigma: float, beta: float = 1.0) -> float:
    """The separatrix Lyapunov exponent at t = 0: λ = (β/2)(1 + (1 − σ²)/σ⁴).

    Parameters
    ----------
    sigma : float
        Mode width σ > 0.
    beta : float, default 1.0
        Constant noise rate β > 0 of the VP-SDE.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        An argument is not a real number.
    ValueError
        An argument ≤ 0, NaN or inf, or not a scalar.

    Examples
    --------
    >>> lyapunov_formula(0.5)
    6.5
    """
    s2 = check_scalar("sigma", sigma, low=0.0, low_inclusive=False) ** 2
    beta = check_scalar("beta", beta, low=0.0, low_inclusive=False)
    return 0.5 * beta * (1.0 + (1.0 - s2) / s2 ** 2)


@dataclass(frozen=True)
class BimodalVP:
    """The bimodal target ½N(−1, σ²) + ½N(1, σ²) under a constant-β VP-SDE (module docstring).

    Parameters
    ----------
    sigma : float
        Mode width σ > 0.
    beta : float, default 1.0
        Constant noise rate β > 0.

    Raises
    ------
    TypeError
        An argument is not a real number.
    ValueError
        An argument ≤ 0, NaN or inf.

    Examples
    --------
    >>> toy = BimodalVP(0.5)
    >>> float(toy.local_rate(0.0)) == toy.lyapunov_formula()
    True
    >>> lam = toy.lyapunov_numerical()["lambda"]
    >>> bool(abs(lam / toy.lyapunov_formula() - 1) < 1e-4)
    True
    """

    sigma: float
    beta: float = 1.0

    def __post_init__(self) -> None:
        check_scalar("sigma", self.sigma, low=0.0, low_inclusive=False)
        check_scalar("beta", self.beta, low=0.0, low_inclusive=False)

    # unchecked kernels (the ODE right-hand side calls them thousands of times)
    def _mean_var(self, t):
        m2 = np.exp(-self.beta * np.asarray(t, dtype=np.float64))
        return np.sqrt(m2), self.sigma ** 2 * m2 + 1.0 - m2

    def _score(self, x, t):
        m, s2 = self._mean_var(t)
        x = np.asarray(x, dtype=np.float64)
        return (-x + m * np.tanh(m * x / s2)) / s2

    def _velocity(self, t, x):
        return -0.5 * self.beta * (np.asarray(x) + self._score(x, t))

    def _check_t(self, t: Any) -> np.ndarray:
        t = real_array("t", t)
        if (t < 0).any():
            raise ValueError(f"t must be a diffusion time in [0, inf), got {float(t[t < 0].ravel()[0])!r}")
        return t

    def mean_var(self, t: Any) -> tuple[np.ndarray, np.ndarray]:
        """Component mean scale and variance at time t: (m_t, s_t²) = (e^{−βt/2}, σ² m_t² + 1 − m_t²).

        Parameters
        ----------
        t : array_like
            Diffusion time(s) t ≥ 0.

        Returns
        -------
        tuple of numpy.ndarray
            ``(m_t, s_t²)``, the shape of ``t``.

        Raises
        ------
        TypeError
            ``t`` is not real.
        ValueError
            ``t`` is negative, NaN or inf.
        """
        return self._mean_var(self._check_t(t))

    def score(self, x: Any, t: Any) -> np.ndarray:
        """Exact score ∇ log p_t(x) = (−x + m_t tanh(m_t x / s_t²)) / s_t².

        Parameters
        ----------
        x : array_like
            Positions, finite.
        t : array_like
            Diffusion time(s) t ≥ 0, broadcastable against ``x``.

        Returns
        -------
        numpy.ndarray
            The broadcast shape.

        Raises
        ------
        TypeError
            An argument is not real.
        ValueError
            Non-finite values or a negative time.
        """
        return self._score(real_array("x", x), self._check_t(t))

    def velocity(self, t: Any, x: Any) -> np.ndarray:
        """Probability-flow ODE right-hand side dx/dt = −½ β (x + ∇ log p_t(x)).

        Parameters
        ----------
        t : array_like
            Diffusion time(s) t ≥ 0.
        x : array_like
            Positions, finite.

        Returns
        -------
        numpy.ndarray
            The broadcast shape.

        Raises
        ------
        TypeError
            An argument is not real.
        ValueError
            Non-finite values or a negative time.
        """
        return self._velocity(self._check_t(t), real_array("x", x))

    def local_rate(self, t: Any) -> np.ndarray:
        """Backward-time growth rate at x = 0: λ(t) = ½ β [1 + (m_t² − s_t²)/s_t⁴].

        Parameters
        ----------
        t : array_like
            Diffusion time(s) t ≥ 0.

        Returns
        -------
        numpy.ndarray
            The shape of ``t``.

        Raises
        ------
        TypeError
            ``t`` is not real.
        ValueError
            ``t`` is negative, NaN or inf.
        """
        m, s2 = self.mean_var(t)
        return 0.5 * self.beta * (1.0 + (m ** 2 - s2) / s2 ** 2)

    def integrate(self, x_start: Any, t_start: float, t_end: float, rtol: float = 1e-11, atol: float = 1e-14,
                  n_eval: int | None = None) -> Any:
        """Integrate the probability-flow ODE from ``t_start`` to ``t_end`` (either direction).

        Uses SciPy's DOP853 (8th-order Runge–Kutta).

        Parameters
        ----------
        x_start : array_like
            Initial positions (scalar or 1-D), finite.
        t_start, t_end : float
            Distinct times ≥ 0 (generation runs from a large t to 0).
        rtol : float, default 1e-11
            Relative tolerance in (0, 1).
        atol : float, default 1e-14
            Absolute tolerance > 0.
        n_eval : int, optional
            Also return the trajectories at this many equally spaced times, in ``[2, 10**6]``.

        Returns
        -------
        numpy.ndarray or tuple
            The states at ``t_end`` (shape ``(len(x_start),)``), or with ``n_eval`` the times
            and the trajectories ``(n_eval, len(x_start))``.

        Raises
        ------
        TypeError
            An argument of the wrong type.
        ValueError
            Non-finite or negative values, equal times, or a tolerance out of range.
        RuntimeError
            The integrator failed (SciPy's message).

        Examples
        --------
        >>> x = BimodalVP(0.1).integrate([-0.05, 0.05], 8.0, 0.0, rtol=1e-9, atol=1e-12)
        >>> bool(x[0] < -0.5 and x[1] > 0.5)  # the flow separates the modes
        True
        """
        from scipy.integrate import solve_ivp

        x0 = np.atleast_1d(real_array("x_start", x_start))
        if x0.ndim != 1:
            raise ValueError(f"x_start must be a scalar or 1-D array, got shape {x0.shape}")
        t_start = check_scalar("t_start", t_start, low=0.0)
        t_end = check_scalar("t_end", t_end, low=0.0)
        if t_start == t_end:
            raise ValueError(f"t_start and t_end must differ, got {t_start} twice")
        rtol = check_scalar("rtol", rtol, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        atol = check_scalar("atol", atol, low=0.0, low_inclusive=False)
        if n_eval is not None:
            n_eval = check_int("n_eval", n_eval, min=2, max=10**6)
            check_allocation("the trajectories (n_eval, len(x_start))", (n_eval, x0.size), np.float64,
                             names="n_eval and x_start")
        t_eval = None if n_eval is None else np.linspace(t_start, t_end, n_eval)
        sol = solve_ivp(lambda t, x: self._velocity(t, x), (t_start, t_end), x0, method="DOP853", rtol=rtol,
                        atol=atol, t_eval=t_eval)
        if not sol.success:
            raise RuntimeError(f"ODE integration failed: {sol.message}")
        return (sol.t, sol.y.T) if n_eval is not None else sol.y[:, -1]

    def lyapunov_formula(self) -> float:
        """The exponent λ = (β/2)(1 + (1 − σ²)/σ⁴) of this target (:func:`lyapunov_formula`).

        Returns
        -------
        float
        """
        return lyapunov_formula(self.sigma, self.beta)

    def lyapunov_numerical(self, tau: float | None = None, eps: float = 1e-7, t0: float = 0.0) -> dict:
        """Measure the separation growth rate at the separatrix over the window [t0, t0 + τ].

        Two trajectories start at x = 0 and x = ε at time t0 + τ and are integrated back to t0;
        the finite-window rate is λ_τ = ln(|δ(t0)| / ε) / τ. Its O(τ) bias is removed by
        Richardson extrapolation, λ ≈ 2 λ_{τ/2} − λ_τ. Default τ = 0.02 min(σ⁴, 1)/β (a window
        short against the time scale of s_t², chosen without using the formula).

        Parameters
        ----------
        tau : float, optional
            Window length τ > 0.
        eps : float, default 1e-7
            Initial separation ε > 0.
        t0 : float, default 0.0
            End of the window, ≥ 0.

        Returns
        -------
        dict
            ``lambda`` (extrapolated), ``lambda_tau``, ``lambda_half`` and ``tau``.

        Raises
        ------
        TypeError
            An argument is not a real number.
        ValueError
            ``tau`` or ``eps`` ≤ 0, a negative ``t0``, or NaN/inf.
        """
        tau = check_optional_scalar("tau", tau, low=0.0, low_inclusive=False)
        eps = check_scalar("eps", eps, low=0.0, low_inclusive=False)
        t0 = check_scalar("t0", t0, low=0.0)
        if tau is None:
            tau = 0.02 * min(self.sigma ** 4, 1.0) / self.beta

        def rate(w):
            x = self.integrate([0.0, eps], t0 + w, t0)
            return np.log(abs(x[1] - x[0]) / eps) / w

        lt, lh = rate(tau), rate(tau / 2)
        return {"lambda": 2 * lh - lt, "lambda_tau": lt, "lambda_half": lh, "tau": tau}


def lyapunov_scan(sigmas: Any, beta: float = 1.0, eps: float = 1e-7) -> xr.Dataset:
    """Numerical vs formula Lyapunov exponents over mode widths σ.

    Parameters
    ----------
    sigmas : array_like
        Mode widths σ > 0, at most :data:`MAX_SCAN_SIGMAS`.
    beta : float, default 1.0
        Noise rate β > 0.
    eps : float, default 1e-7
        Initial separation of :meth:`BimodalVP.lyapunov_numerical`.

    Returns
    -------
    xarray.Dataset
        ``lambda_numerical`` and ``lambda_formula`` over ``sigma``.

    Raises
    ------
    TypeError
        An argument is not real.
    ValueError
        A value ≤ 0, NaN or inf, or too many σ.

    Examples
    --------
    >>> ds = lyapunov_scan([0.5, 1.0])
    >>> ds.lambda_formula.values.tolist()
    [6.5, 0.5]
    """
    sig = np.asarray(check_real("sigmas", sigmas, low=0.0, low_inclusive=False), dtype=np.float64).ravel()
    if sig.size > MAX_SCAN_SIGMAS:
        raise ValueError(f"sigmas holds {sig.size} values, more than the maximum {MAX_SCAN_SIGMAS}")
    beta = check_scalar("beta", beta, low=0.0, low_inclusive=False)
    eps = check_scalar("eps", eps, low=0.0, low_inclusive=False)
    num = np.array([BimodalVP(s, beta).lyapunov_numerical(eps=eps)["lambda"] for s in sig])
    ref = np.array([lyapunov_formula(s, beta) for s in sig])
    return xr.Dataset(
        {"lambda_numerical": ("sigma", num, {"long_name": "Lyapunov exponent (ODE)", "units": "1/time"}),
         "lambda_formula": ("sigma", ref, {"long_name": "(β/2)(1 + (1 − σ²)/σ⁴)", "units": "1/time"})},
        coords={"sigma": ("sigma", sig, {"long_name": "mode width σ", "units": "1"})},
        attrs={"beta": float(beta)})
