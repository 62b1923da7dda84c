"""Torch models of a (scaled) log-partition function Ψ(u) on box-normalised coordinates u.

All models map u of shape (..., d) to Ψ of shape (...). They are wrapped by
:class:`ScaledPotential`, Ψ(u) = κ₀ [½ uᵀ A u + net(u)] with A = L Lᵀ (learnable, L₀ = I) and a
fixed κ₀ taken from the posterior widths, so that the initial model posterior already has
the data's width (a conditioning device; the quadratic term is convex and its affine part
cancels in q_θ).

* :class:`PaperMLP`   the paper's MLP: 5 linear layers of width 512, LayerNorm + ReLU after the
  first four (Lobashev et al. 2025, App.). Piecewise linear except through LayerNorm.
* :class:`SmoothMLP`  an MLP with SiLU activations (smooth Hessian).
* :class:`ICNN`       an input-convex network (Amos, Xu, Kolter, ICML 2017): z₁ = σ(W₀u + b₀),
  z_{k+1} = σ(W_k⁺ z_k + U_k u + b_k), out = w⁺·z_K + c·u, with σ = softplus (convex,
  non-decreasing) and W⁺ = softplus(W_raw) ≥ 0, so Ψ is convex in u and the metric ∇²Ψ is
  positive semi-definite everywhere.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["PaperMLP", "SmoothMLP", "ICNN", "ScaledPotential", "build_model", "MODELS"]

MODELS = ("icnn", "mlp", "paper_mlp")


class PaperMLP(nn.Module):
    """Linear(d, w) → [LayerNorm → ReLU → Linear(w, w)]×3 → LayerNorm → ReLU → Linear(w, 1)."""

    def __init__(self, d: int, width: int = 512) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        fan = d
        for _ in range(4):
            layers += [nn.Linear(fan, width), nn.LayerNorm(width), nn.ReLU()]
            fan = width
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.net(u).squeeze(-1)


class SmoothMLP(nn.Module):
    """An MLP with SiLU activations: ``depth`` hidden layers of ``width``."""

    def __init__(self, d: int, width: int = 128, depth: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        fan = d
        for _ in range(depth):
            layers += [nn.Linear(fan, width), nn.SiLU()]
            fan = width
        layers.append(nn.Linear(fan, 1))
        self.net = nn.Sequential(*layers)
        with torch.no_grad():
            self.net[-1].weight.mul_(0.1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.net(u).squeeze(-1)


class ICNN(nn.Module):
    """Input-convex network with softplus activations and softplus-reparametrised z-weights."""

    def __init__(self, d: int, width: int = 64, depth: int = 3) -> None:
        super().__init__()
        self.first = nn.Linear(d, width)
        self.wz = nn.ParameterList()
        self.wu = nn.ModuleList()
        # softplus(raw) ≈ 1/width at init: the z-path neither explodes nor vanishes
        raw0 = math.log(math.expm1(1.0 / width))
        for _ in range(depth - 1):
            self.wz.append(nn.Parameter(raw0 + 0.5 * torch.randn(width, width) / math.sqrt(width)))
            self.wu.append(nn.Linear(d, width))
        self.out_z = nn.Parameter(raw0 + 0.5 * torch.randn(width) / math.sqrt(width))
        self.out_u = nn.Linear(d, 1, bias=False)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        z = F.softplus(self.first(u))
        for wz, wu in zip(self.wz, self.wu):
            z = F.softplus(z @ F.softplus(wz).T + wu(u))
        return z @ F.softplus(self.out_z) + self.out_u(u).squeeze(-1)


class ScaledPotential(nn.Module):
    """Ψ(u) = κ₀ [½ uᵀ L Lᵀ u + net(u)] (κ₀ fixed, L learnable, L₀ = I; quadratic optional)."""

    def __init__(self, net: nn.Module, d: int, kappa0: float, quadratic: bool = True) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("kappa0", torch.tensor(float(kappa0)))
        self.quadratic = bool(quadratic)
        if self.quadratic:
            self.L = nn.Parameter(torch.eye(d))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        out = self.net(u)
        if self.quadratic:
            v = u @ self.L
            out = out + 0.5 * (v * v).sum(-1)
        return self.kappa0 * out


def build_model(kind: str, d: int, kappa0: float, *, width: int | None = None, depth: int | None = None,
                quadratic: bool = True) -> ScaledPotential:
    """Build one of :data:`MODELS` wrapped in :class:`ScaledPotential`."""
    if kind == "paper_mlp":
        net: nn.Module = PaperMLP(d, width or 512)
    elif kind == "mlp":
        net = SmoothMLP(d, width or 128, depth or 3)
    elif kind == "icnn":
        net = ICNN(d, width or 64, depth or 3)
    else:
        raise ValueError(f"model must be one of {MODELS}, got {kind!r}")
    return ScaledPotential(net, d, kappa0, quadratic)
