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

Sizes are capped: width ≤ ``MAX_WIDTH`` (65 536), depth ≤ ``MAX_DEPTH`` (64), and the float64
parameters must fit in memory (docs/geometry_fitting.md, "Potential classes and fitting").
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from statgeo.checks import check_allocation, check_bool, check_choice, check_int, check_real

__all__ = ["PaperMLP", "SmoothMLP", "ICNN", "ScaledPotential", "build_model", "MODELS", "MAX_WIDTH", "MAX_DEPTH"]

MODELS = ("icnn", "mlp", "paper_mlp")
#: largest network width
MAX_WIDTH = 65_536
#: largest network depth
MAX_DEPTH = 64


def _check_size(d: int, width: int, depth: int | None) -> tuple[int, int, int | None]:
    d = check_int("d", d, min=1)
    width = check_int("width", width, min=1, max=MAX_WIDTH)
    if depth is not None:
        depth = check_int("depth", depth, min=1, max=MAX_DEPTH)
    return d, width, depth


def _param_memory(n_params: int, names: str) -> None:
    # parameters, gradients and optimiser state in float64 (L-BFGS keeps ~50 more copies; counted as 4)
    check_allocation("the network parameters, gradients and optimiser state", (4, n_params), np.float64,
                     names=names)


class PaperMLP(nn.Module):
    """The paper's MLP: Linear(d, w) → [LayerNorm → ReLU → Linear(w, w)]×3 → LayerNorm → ReLU → Linear(w, 1).

    Lobashev et al. 2025, App.

    Parameters
    ----------
    d : int
        Input dimension (≥ 1).
    width : int, default 512
        Layer width, in [1, ``MAX_WIDTH``].

    Raises
    ------
    TypeError
        ``d`` or ``width`` is not an integer.
    ValueError
        ``d`` or ``width`` out of range, or parameters too large for memory.

    Examples
    --------
    >>> import torch
    >>> PaperMLP(2, width=8)(torch.zeros(3, 2)).shape
    torch.Size([3])
    """

    def __init__(self, d: int, width: int = 512) -> None:
        d, width, _ = _check_size(d, width, None)
        _param_memory(3 * width * width + (d + 8) * width, "width")
        super().__init__()
        layers: list[nn.Module] = []
        fan = d
        for _ in range(4):
            layers += [nn.Linear(fan, width), nn.LayerNorm(width), nn.ReLU()]
            fan = width
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Ψ(u).

        Parameters
        ----------
        u : torch.Tensor
            Box coordinates, shape (..., d).

        Returns
        -------
        torch.Tensor
            Shape (...).
        """
        return self.net(u).squeeze(-1)


class SmoothMLP(nn.Module):
    """An MLP with SiLU activations (a smooth Hessian): ``depth`` hidden layers of ``width``.

    The last layer's weights are scaled by 0.1 at initialisation (the network starts as a
    small correction to the quadratic term of :class:`ScaledPotential`).

    Parameters
    ----------
    d : int
        Input dimension (≥ 1).
    width : int, default 128
        Layer width, in [1, ``MAX_WIDTH``].
    depth : int, default 3
        Number of hidden layers, in [1, ``MAX_DEPTH``].

    Raises
    ------
    TypeError
        A size is not an integer.
    ValueError
        A size out of range, or parameters too large for memory.

    Examples
    --------
    >>> import torch
    >>> SmoothMLP(2, width=8, depth=2)(torch.zeros(3, 2)).shape
    torch.Size([3])
    """

    def __init__(self, d: int, width: int = 128, depth: int = 3) -> None:
        d, width, depth = _check_size(d, width, depth)
        _param_memory(max(depth - 1, 0) * width * width + (d + 3) * width, "width and depth")
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
        """Ψ(u).

        Parameters
        ----------
        u : torch.Tensor
            Box coordinates, shape (..., d).

        Returns
        -------
        torch.Tensor
            Shape (...).
        """
        return self.net(u).squeeze(-1)


class ICNN(nn.Module):
    """Input-convex network with softplus activations and softplus-reparametrised z-weights.

    z₁ = σ(W₀u + b₀), z_{k+1} = σ(W_k⁺ z_k + U_k u + b_k), Ψ = w⁺·z_K + c·u with σ = softplus and
    W⁺ = softplus(W_raw) ≥ 0, so Ψ is convex in u (Amos, Xu & Kolter, ICML 2017, Prop. 1).

    Parameters
    ----------
    d : int
        Input dimension (≥ 1).
    width : int, default 64
        Layer width, in [1, ``MAX_WIDTH``].
    depth : int, default 3
        Number of z-layers, in [1, ``MAX_DEPTH``].

    Raises
    ------
    TypeError
        A size is not an integer.
    ValueError
        A size out of range, or parameters too large for memory.

    Examples
    --------
    >>> import torch
    >>> ICNN(2, width=8, depth=2)(torch.zeros(3, 2)).shape
    torch.Size([3])
    """

    def __init__(self, d: int, width: int = 64, depth: int = 3) -> None:
        d, width, depth = _check_size(d, width, depth)
        _param_memory((depth - 1) * (width * width + (d + 1) * width) + (d + 2) * width + d, "width and depth")
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
        """Ψ(u), convex in u.

        Parameters
        ----------
        u : torch.Tensor
            Box coordinates, shape (..., d).

        Returns
        -------
        torch.Tensor
            Shape (...).
        """
        z = F.softplus(self.first(u))
        for wz, wu in zip(self.wz, self.wu):
            z = F.softplus(z @ F.softplus(wz).T + wu(u))
        return z @ F.softplus(self.out_z) + self.out_u(u).squeeze(-1)


class ScaledPotential(nn.Module):
    """Ψ(u) = κ₀ [½ uᵀ L Lᵀ u + net(u)] (κ₀ fixed, L learnable, L₀ = I; quadratic optional).

    Parameters
    ----------
    net : torch.nn.Module
        The network, mapping (..., d) to (...).
    d : int
        Input dimension (≥ 1).
    kappa0 : float
        The fixed scale κ₀ > 0 (1 / median posterior variance in box units).
    quadratic : bool, default True
        Include the ½ uᵀ L Lᵀ u term.

    Raises
    ------
    TypeError
        ``net`` is not a torch module, ``d`` is not an integer, ``quadratic`` is not a bool.
    ValueError
        ``d`` < 1 or ``kappa0`` not a positive finite number.

    Examples
    --------
    >>> import torch
    >>> pot = ScaledPotential(ICNN(2, width=4, depth=1), 2, kappa0=2.0)
    >>> pot(torch.zeros(5, 2)).shape
    torch.Size([5])
    """

    def __init__(self, net: nn.Module, d: int, kappa0: float, quadratic: bool = True) -> None:
        if not isinstance(net, nn.Module):
            raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
        d = check_int("d", d, min=1)
        kappa0 = float(check_real("kappa0", kappa0, low=0.0, low_inclusive=False, high=np.inf,
                                  high_inclusive=False))
        check_bool("quadratic", quadratic)
        super().__init__()
        self.net = net
        self.register_buffer("kappa0", torch.tensor(float(kappa0)))
        self.quadratic = bool(quadratic)
        if self.quadratic:
            self.L = nn.Parameter(torch.eye(d))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Ψ(u).

        Parameters
        ----------
        u : torch.Tensor
            Box coordinates, shape (..., d).

        Returns
        -------
        torch.Tensor
            Shape (...).
        """
        out = self.net(u)
        if self.quadratic:
            v = u @ self.L
            out = out + 0.5 * (v * v).sum(-1)
        return self.kappa0 * out


def _check_model_size(kind: str, d: int, width: int | None, depth: int | None) -> tuple[int | None, int | None]:
    """Validate a model's sizes (as :func:`build_model` does) without building it."""
    check_choice("model", kind, MODELS)
    d = check_int("d", d, min=1)
    if width is not None:
        width = check_int("width", width, min=1, max=MAX_WIDTH)
    if depth is not None:
        depth = check_int("depth", depth, min=1, max=MAX_DEPTH)
        if kind == "paper_mlp":
            raise ValueError("depth does not apply to model='paper_mlp' (5 layers, fixed); pass depth=None")
    if kind == "paper_mlp":
        w = width or 512
        n = 3 * w * w + (d + 8) * w
    elif kind == "mlp":
        w, k = width or 128, depth or 3
        n = max(k - 1, 0) * w * w + (d + 3) * w
    else:
        w, k = width or 64, depth or 3
        n = (k - 1) * (w * w + (d + 1) * w) + (d + 2) * w + d
    _param_memory(n, "width and depth")
    return width, depth


def build_model(kind: str, d: int, kappa0: float, *, width: int | None = None, depth: int | None = None,
                quadratic: bool = True) -> ScaledPotential:
    """Build one of :data:`MODELS` wrapped in :class:`ScaledPotential`.

    Parameters
    ----------
    kind : {"icnn", "mlp", "paper_mlp"}
        The network class (:class:`ICNN`, :class:`SmoothMLP`, :class:`PaperMLP`).
    d : int
        Input dimension (≥ 1).
    kappa0 : float
        The fixed scale κ₀ > 0.
    width : int, optional
        Layer width in [1, ``MAX_WIDTH``] (default 64 / 128 / 512 per kind).
    depth : int, optional
        Depth in [1, ``MAX_DEPTH``] (default 3; ``paper_mlp`` has a fixed depth and refuses it).
    quadratic : bool, default True
        Include the quadratic term of :class:`ScaledPotential`.

    Returns
    -------
    ScaledPotential

    Raises
    ------
    TypeError
        A size is not an integer or ``quadratic`` is not a bool.
    ValueError
        An unknown ``kind``, sizes out of range or too large for memory, ``depth`` with
        ``paper_mlp``, or ``kappa0`` not positive.

    Examples
    --------
    >>> build_model("icnn", 2, 1.0, width=8).net.__class__.__name__
    'ICNN'
    """
    width, depth = _check_model_size(kind, d, width, depth)
    if kind == "paper_mlp":
        net: nn.Module = PaperMLP(d, width or 512)
    elif kind == "mlp":
        net = SmoothMLP(d, width or 128, depth or 3)
    else:
        net = ICNN(d, width or 64, depth or 3)
    return ScaledPotential(net, d, kappa0, quadratic)
