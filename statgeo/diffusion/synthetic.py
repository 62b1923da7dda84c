"""A synthetic latent → image generator whose phases and boundaries are known in closed form.

The generator reads two coordinates from the latent, a = ⟨z, d₁⟩ and b = ⟨z, d₂⟩ (d₁, d₂
orthonormal), and draws one of three textures:

* phase 0 where b < h(a),
* phase 1 where b ≥ h(a) and a < a₁,
* phase 2 where b ≥ h(a) and a ≥ a₁,

with the boundary curve a truncated Weierstrass function

    h(a) = b₀ + A Σ_{k=0}^{K−1} r^k cos(2π s^k a),

whose graph has box-counting dimension D = 2 + ln r / ln s (Kaplan, Mallet-Paret & Yorke
1984) at scales between s^{−(K−1)} and 1, and is smooth (D = 1) below. Within a phase the
image varies smoothly (a Lipschitz term ε·(a P₁ + b P₂)), so finite-difference ratios stay
bounded inside a phase and grow like 1/δ across a boundary (pixel values stay inside [0, 1]
for (a, b) ∈ [0, 1]², so the clip is inactive there). With
:func:`synthetic_slice`, the slice coordinates are exactly (α, β) = (a, b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from statgeo.diffusion.slices import LatentSlice, _torch_dtype

__all__ = ["SyntheticGenerator", "synthetic_slice"]


@dataclass
class SyntheticGenerator:
    """Closed-form three-phase generator; see the module docstring.

    Parameters
    ----------
    latent_shape : latent shape (default ``(2,)``); d₁, d₂ are the first two unit vectors
        of the flattened latent.
    size : image side in pixels. dtype : dtype latents are cast to (sets the precision floor).
    b0, amplitude, ratio, scale, n_terms : h(a) parameters (b₀, A, r, s, K).
    a1 : position of the straight boundary between phases 1 and 2.
    smooth : amplitude ε of the smooth within-phase variation.
    """

    latent_shape: tuple[int, ...] = (2,)
    size: int = 16
    dtype: object = "float64"
    b0: float = 0.45
    amplitude: float = 0.06
    ratio: float = 0.5
    scale: float = 4.0
    n_terms: int = 10
    a1: float = 0.7
    smooth: float = 0.15

    def __post_init__(self) -> None:
        self.latent_shape = tuple(int(s) for s in self.latent_shape)
        if int(np.prod(self.latent_shape)) < 2:
            raise ValueError(f"latent_shape must hold at least 2 elements, got {self.latent_shape}")
        self.dtype = _torch_dtype(self.dtype)
        n = self.size
        yy, xx = np.meshgrid(np.arange(n) / n, np.arange(n) / n, indexing="ij")
        c = 0.3 + 0 * yy
        t0 = np.stack([0.65 + 0.15 * np.sin(2 * np.pi * 3 * yy), c, c])
        t1 = np.stack([c, 0.65 + 0.15 * np.sign(np.sin(2 * np.pi * 4 * xx + 0.5) * np.sin(2 * np.pi * 4 * yy + 0.5)), c])
        t2 = np.stack([c, c, 0.65 + 0.15 * np.cos(2 * np.pi * 2 * xx)])
        self._textures = np.stack([t0, t1, t2])
        self._p1 = np.stack([xx, yy, xx * yy]) - 0.5
        self._p2 = np.stack([yy, xx * xx, 1 - xx]) - 0.5
        self.calls = 0

    # ------------------------------------------------------------------ closed forms
    def boundary_curve(self, a):
        """h(a) = b₀ + A Σ_k r^k cos(2π s^k a)."""
        a = np.asarray(a, dtype=np.float64)
        k = np.arange(self.n_terms)
        return self.b0 + self.amplitude * np.sum(self.ratio ** k * np.cos(2 * np.pi * np.multiply.outer(a, self.scale ** k)),
                                                 axis=-1)

    def boundary_slope(self, a):
        """h'(a) = −2π A Σ_k (r s)^k sin(2π s^k a)."""
        a = np.asarray(a, dtype=np.float64)
        k = np.arange(self.n_terms)
        return -2 * np.pi * self.amplitude * np.sum((self.ratio * self.scale) ** k
                                                    * np.sin(2 * np.pi * np.multiply.outer(a, self.scale ** k)), axis=-1)

    def labels(self, a, b):
        """True phase labels (0, 1, 2) at slice coordinates (a, b)."""
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        above = b >= self.boundary_curve(a)
        return np.where(~above, 0, np.where(a < self.a1, 1, 2)).astype(np.int64)

    @property
    def box_dimension(self) -> float:
        """D = 2 + ln r / ln s of the Weierstrass graph (at scales above s^{−(K−1)})."""
        return 2.0 + np.log(self.ratio) / np.log(self.scale)

    @property
    def finest_scale(self) -> float:
        """s^{−(K−1)}: below this the boundary curve is smooth."""
        return float(self.scale ** (-(self.n_terms - 1)))

    def coordinates(self, latents) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) = (⟨z, d₁⟩, ⟨z, d₂⟩) of latents already cast to the generator's dtype."""
        z = np.asarray(latents.detach().cpu().double().numpy() if hasattr(latents, "detach") else latents,
                       dtype=np.float64)
        flat = z.reshape(z.shape[0], -1)
        return flat[:, 0], flat[:, 1]

    # ------------------------------------------------------------------ generator protocol
    def __call__(self, latents, seeds=None):
        import torch

        from statgeo.diffusion.pipeline import _check_latents

        latents = _check_latents(latents, self.latent_shape).to(self.dtype)
        self.calls += 1
        a, b = self.coordinates(latents)
        lab = self.labels(a, b)
        img = self._textures[lab] + self.smooth * (a[:, None, None, None] * self._p1[None]
                                                   + b[:, None, None, None] * self._p2[None])
        return torch.from_numpy(np.clip(img, 0.0, 1.0)), None

    def config(self) -> dict:
        return {"kind": "synthetic", "latent_shape": list(self.latent_shape), "size": self.size,
                "dtype": str(self.dtype).replace("torch.", ""), "b0": self.b0, "amplitude": self.amplitude,
                "ratio": self.ratio, "scale": self.scale, "n_terms": self.n_terms, "a1": self.a1, "smooth": self.smooth}


def synthetic_slice(latent_shape: tuple[int, ...] = (2,)) -> LatentSlice:
    """The slice z(α, β) = α d₁ + β d₂ (anchors 0, d₁, d₂; no renormalisation), so (a, b) = (α, β)."""
    n = int(np.prod(latent_shape))
    a = np.zeros((3, n))
    a[1, 0] = 1.0
    a[2, 1] = 1.0
    return LatentSlice(a.reshape((3,) + tuple(latent_shape)), normalise="none", source="synthetic")
