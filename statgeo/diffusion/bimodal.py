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
like β/(2σ⁴) as σ → 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from statgeo.checks import check_real

__all__ = ["BimodalVP", "lyapunov_formula", "lyapunov_scan"]


def lyapunov_formula(sigma: float, beta: float = 1.0) -> float:
    """λ = (β/2)(1 + (1 − σ²)/σ⁴), the separatrix Lyapunov exponent at t = 0."""
    s2 = float(check_real("sigma", sigma, low=0.0, low_inclusive=False)) ** 2
    beta = float(check_real("beta", beta, low=0.0, low_inclusive=False))
    return 0.5 * beta * (1.0 + (1.0 - s2) / s2 ** 2)


@dataclass(frozen=True)
class BimodalVP:
    """The bimodal target under a constant-β VP-SDE; see the module docstring for formulas."""

    sigma: float
    beta: float = 1.0

    def __post_init__(self) -> None:
        check_real("sigma", self.sigma, low=0.0, low_inclusive=False)
        check_real("beta", self.beta, low=0.0, low_inclusive=False)

    def mean_var(self, t):
        """(m_t, s_t²): component mean scale e^{−βt/2} and component variance σ² m_t² + 1 − m_t²."""
        m2 = np.exp(-self.beta * np.asarray(t, dtype=np.float64))
        return np.sqrt(m2), self.sigma ** 2 * m2 + 1.0 - m2

    def score(self, x, t):
        """Exact score ∇ log p_t(x) = (−x + m_t tanh(m_t x / s_t²)) / s_t²."""
        m, s2 = self.mean_var(t)
        x = np.asarray(x, dtype=np.float64)
        return (-x + m * np.tanh(m * x / s2)) / s2

    def velocity(self, t, x):
        """Probability-flow ODE right-hand side −½ β (x + ∇ log p_t(x))."""
        return -0.5 * self.beta * (np.asarray(x) + self.score(x, t))

    def local_rate(self, t):
        """λ(t) = ½ β [1 + (m_t² − s_t²)/s_t⁴], the backward-time growth rate at x = 0."""
        m, s2 = self.mean_var(t)
        return 0.5 * self.beta * (1.0 + (m ** 2 - s2) / s2 ** 2)

    def integrate(self, x_start, t_start: float, t_end: float, rtol: float = 1e-11, atol: float = 1e-14,
                  n_eval: int | None = None):
        """Integrate the probability-flow ODE from ``t_start`` to ``t_end`` (either direction).

        Uses SciPy's DOP853 (8th-order Runge–Kutta). Returns the states at ``t_end`` (or, with
        ``n_eval``, the times and the trajectories ``(n_eval, len(x_start))``).
        """
        from scipy.integrate import solve_ivp

        x0 = np.atleast_1d(np.asarray(x_start, dtype=np.float64))
        t_eval = None if n_eval is None else np.linspace(t_start, t_end, n_eval)
        sol = solve_ivp(lambda t, x: self.velocity(t, x), (t_start, t_end), x0, method="DOP853", rtol=rtol, atol=atol,
                        t_eval=t_eval)
        if not sol.success:
            raise RuntimeError(f"ODE integration failed: {sol.message}")
        return (sol.t, sol.y.T) if n_eval is not None else sol.y[:, -1]

    def lyapunov_formula(self) -> float:
        return lyapunov_formula(self.sigma, self.beta)

    def lyapunov_numerical(self, tau: float | None = None, eps: float = 1e-7, t0: float = 0.0) -> dict:
        """Measure the separation growth rate at the separatrix over the window [t0, t0 + τ].

        Two trajectories start at x = 0 and x = ε at time t0 + τ and are integrated back to t0;
        the finite-window rate is λ_τ = ln(|δ(t0)| / ε) / τ. Its O(τ) bias is removed by
        Richardson extrapolation, λ ≈ 2 λ_{τ/2} − λ_τ. Default τ = 0.02 min(σ⁴, 1)/β (a window
        short against the time scale of s_t², chosen without using the formula).

        Returns a dict with ``lambda`` (extrapolated), ``lambda_tau``, ``lambda_half``, ``tau``.
        """
        if tau is None:
            tau = 0.02 * min(self.sigma ** 4, 1.0) / self.beta
        tau = float(check_real("tau", tau, low=0.0, low_inclusive=False))
        eps = float(check_real("eps", eps, low=0.0, low_inclusive=False))

        def rate(w):
            x = self.integrate([0.0, eps], t0 + w, t0)
            return np.log(abs(x[1] - x[0]) / eps) / w

        lt, lh = rate(tau), rate(tau / 2)
        return {"lambda": 2 * lh - lt, "lambda_tau": lt, "lambda_half": lh, "tau": tau}


def lyapunov_scan(sigmas, beta: float = 1.0, eps: float = 1e-7) -> xr.Dataset:
    """Numerical vs formula Lyapunov exponents over σ; dims (sigma)."""
    sig = np.asarray(check_real("sigmas", sigmas, low=0.0, low_inclusive=False), dtype=np.float64).ravel()
    num = np.array([BimodalVP(s, beta).lyapunov_numerical(eps=eps)["lambda"] for s in sig])
    ref = np.array([lyapunov_formula(s, beta) for s in sig])
    return xr.Dataset(
        {"lambda_numerical": ("sigma", num, {"long_name": "Lyapunov exponent (ODE)", "units": "1/time"}),
         "lambda_formula": ("sigma", ref, {"long_name": "(β/2)(1 + (1 − σ²)/σ⁴)", "units": "1/time"})},
        coords={"sigma": ("sigma", sig, {"long_name": "mode width σ", "units": "1"})},
        attrs={"beta": float(beta)})
