"""Physical ↔ natural coordinate maps of the physics models.

* Ising: grid (T, H) ↦ t = (K, η) = (J/T, H/T); ∂t/∂(T, H) = [[−J/T², 0], [−H/T², 1/T]]
  (physics.md, "2-D Ising model").
* TASEP: grid (α, β) ↦ θ = (−ln α, −ln β); ∂θ/∂(α, β) = diag(−1/α, −1/β)
  (physics.md, "Which log Z").
"""

from __future__ import annotations

import numpy as np

from statgeo._checks import check_real
from statgeo.grid import CoordinateMap

__all__ = ["ising_temperature_field_map", "tasep_rates_map"]


def ising_temperature_field_map(J: float = 1.0) -> CoordinateMap:
    """Map (T, H) → (K, η) = (J/T, H/T) for the Ising model with coupling ``J``."""
    J = float(check_real("J", J, low=0.0, low_inclusive=False))

    def fwd(p: np.ndarray) -> np.ndarray:
        T, H = p[..., 0], p[..., 1]
        return np.stack([J / T, H / T], axis=-1)

    def inv(t: np.ndarray) -> np.ndarray:
        K, eta = t[..., 0], t[..., 1]
        T = J / K
        return np.stack([T, eta * T], axis=-1)

    def jac(p: np.ndarray) -> np.ndarray:
        T, H = p[..., 0], p[..., 1]
        out = np.zeros(p.shape[:-1] + (2, 2))
        out[..., 0, 0] = -J / T**2
        out[..., 1, 0] = -H / T**2
        out[..., 1, 1] = 1.0 / T
        return out

    return CoordinateMap(
        ("K", "eta"), fwd, inv, jac,
        natural_attrs={"K": {"long_name": "coupling K = J/T", "units": "1"},
                       "eta": {"long_name": "reduced field η = H/T", "units": "1"}},
        description=f"ising (T, H) -> (K, eta) = (J/T, H/T), J={J!r}",
    )


def tasep_rates_map() -> CoordinateMap:
    """Map (α, β) → θ = (−ln α, −ln β)."""

    def fwd(p: np.ndarray) -> np.ndarray:
        return -np.log(p)

    def inv(t: np.ndarray) -> np.ndarray:
        return np.exp(-t)

    def jac(p: np.ndarray) -> np.ndarray:
        out = np.zeros(p.shape[:-1] + (2, 2))
        out[..., 0, 0] = -1.0 / p[..., 0]
        out[..., 1, 1] = -1.0 / p[..., 1]
        return out

    return CoordinateMap(
        ("theta_alpha", "theta_beta"), fwd, inv, jac,
        natural_attrs={"theta_alpha": {"long_name": "θ_α = −ln α", "units": "1"},
                       "theta_beta": {"long_name": "θ_β = −ln β", "units": "1"}},
        description="tasep (alpha, beta) -> (theta_alpha, theta_beta) = (-ln alpha, -ln beta)",
    )
