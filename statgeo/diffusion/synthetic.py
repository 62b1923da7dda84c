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
:func:`synthetic_slice`, the slice coordinates are exactly (α, β) = (a, b). No model weights
are needed, which makes it the generator of the examples and tests (docs/diffusion.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from statgeo.checks import check_allocation, check_int
from statgeo.diffusion._checks import check_scalar, check_shape, real_array
from statgeo.diffusion.slices import LatentSlice, _torch_dtype

__all__ = ["SyntheticGenerator", "synthetic_slice", "MAX_TERMS"]

#: most Weierstrass terms K (beyond ~30 the finest scale s^{−(K−1)} is below float64 resolution)
MAX_TERMS = 64


@dataclass
class SyntheticGenerator:
    """Closed-form three-phase generator with a Weierstrass boundary; see the module docstring.

    Parameters
    ----------
    latent_shape : tuple of int, default (2,)
        Latent shape (at least 2 elements); d₁, d₂ are the first two unit vectors of the
        flattened latent.
    size : int, default 16
        Image side in pixels (≥ 1; the textures must fit in memory).
    dtype : str or torch.dtype, default "float64"
        The dtype latents are cast to (sets the precision floor of a zoom).
    b0 : float, default 0.45
        Mean height b₀ of the boundary curve h(a).
    amplitude : float, default 0.06
        Amplitude A of h(a) (finite).
    ratio : float, default 0.5
        Weierstrass ratio r in (0, 1].
    scale : float, default 4.0
        Weierstrass frequency ratio s > 1.
    n_terms : int, default 10
        Number of terms K in ``[1, MAX_TERMS]``.
    a1 : float, default 0.7
        Position of the straight boundary between phases 1 and 2.
    smooth : float, default 0.15
        Amplitude ε of the smooth within-phase variation.

    Attributes
    ----------
    calls : int
        Number of batches generated so far.

    Raises
    ------
    TypeError
        A parameter of the wrong type.
    ValueError
        A latent of fewer than 2 elements, a size whose textures cannot fit in memory, or a
        parameter out of range (NaN/inf included).

    Examples
    --------
    >>> gen = SyntheticGenerator()
    >>> round(gen.box_dimension, 6)
    1.5
    >>> gen.labels([0.2, 0.2, 0.9], [0.1, 0.9, 0.9]).tolist()
    [0, 1, 2]
    """

    latent_shape: tuple[int, ...] = (2,)
    size: int = 16
    dtype: Any = "float64"
    b0: float = 0.45
    amplitude: float = 0.06
    ratio: float = 0.5
    scale: float = 4.0
    n_terms: int = 10
    a1: float = 0.7
    smooth: float = 0.15

    def __post_init__(self) -> None:
        self.latent_shape = check_shape("latent_shape", self.latent_shape, min_size=2)
        self.size = check_int("size", self.size, min=1)
        check_allocation("the textures (5, 3, size, size)", (5, 3, self.size, self.size), np.float64, names="size")
        self.dtype = _torch_dtype(self.dtype)
        for name in ("b0", "amplitude", "a1", "smooth"):
            setattr(self, name, check_scalar(name, getattr(self, name)))
        self.ratio = check_scalar("ratio", self.ratio, low=0.0, high=1.0, low_inclusive=False)
        self.scale = check_scalar("scale", self.scale, low=1.0, low_inclusive=False)
        self.n_terms = check_int("n_terms", self.n_terms, min=1, max=MAX_TERMS)
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
    def _coordinate(self, name: str, a: Any) -> np.ndarray:
        a = real_array(name, a)
        check_allocation(f"the terms ({name}, n_terms)", tuple(a.shape) + (self.n_terms,), np.float64, names=name)
        return a

    def boundary_curve(self, a: Any) -> np.ndarray:
        """The boundary h(a) = b₀ + A Σ_{k<K} r^k cos(2π s^k a).

        Parameters
        ----------
        a : array_like
            Slice coordinate(s) a (= α on :func:`synthetic_slice`), finite.

        Returns
        -------
        numpy.ndarray
            h(a), the shape of ``a``.

        Raises
        ------
        TypeError
            ``a`` is not real.
        ValueError
            ``a`` is empty or not finite.
        """
        a = self._coordinate("a", a)
        k = np.arange(self.n_terms)
        return self.b0 + self.amplitude * np.sum(self.ratio ** k * np.cos(2 * np.pi * np.multiply.outer(a, self.scale ** k)),
                                                 axis=-1)

    def boundary_slope(self, a: Any) -> np.ndarray:
        """The slope h'(a) = −2π A Σ_{k<K} (r s)^k sin(2π s^k a).

        Parameters
        ----------
        a : array_like
            Slice coordinate(s) a, finite.

        Returns
        -------
        numpy.ndarray
            h'(a), the shape of ``a``.

        Raises
        ------
        TypeError
            ``a`` is not real.
        ValueError
            ``a`` is empty or not finite.
        """
        a = self._coordinate("a", a)
        k = np.arange(self.n_terms)
        return -2 * np.pi * self.amplitude * np.sum((self.ratio * self.scale) ** k
                                                    * np.sin(2 * np.pi * np.multiply.outer(a, self.scale ** k)), axis=-1)

    def labels(self, a: Any, b: Any) -> np.ndarray:
        """The true phase labels at slice coordinates (a, b): 0 below h, then 1 or 2 either side of a₁.

        Parameters
        ----------
        a, b : array_like
            Slice coordinates, finite, broadcastable against each other.

        Returns
        -------
        numpy.ndarray
            int64 labels in {0, 1, 2}, the broadcast shape.

        Raises
        ------
        TypeError
            ``a`` or ``b`` is not real.
        ValueError
            Non-finite or empty coordinates, or shapes that do not broadcast.
        """
        a = self._coordinate("a", a)
        b = real_array("b", b)
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError as exc:
            raise ValueError(f"a and b must broadcast together, got shapes {a.shape} and {b.shape}") from exc
        above = b >= self.boundary_curve(a)
        return np.where(~above, 0, np.where(a < self.a1, 1, 2)).astype(np.int64)

    @property
    def box_dimension(self) -> float:
        """D = 2 + ln r / ln s of the Weierstrass graph (at scales above s^{−(K−1)})."""
        return float(2.0 + np.log(self.ratio) / np.log(self.scale))

    @property
    def finest_scale(self) -> float:
        """s^{−(K−1)}: below this the boundary curve is smooth."""
        return float(self.scale ** (-(self.n_terms - 1)))

    def coordinates(self, latents: Any) -> tuple[np.ndarray, np.ndarray]:
        """The coordinates (a, b) = (⟨z, d₁⟩, ⟨z, d₂⟩) of a batch of latents.

        Parameters
        ----------
        latents : array_like or torch.Tensor
            Shape ``(n, *latent_shape)``, finite (already cast to the generator's dtype when
            the precision floor matters).

        Returns
        -------
        tuple of numpy.ndarray
            ``(a, b)``, each of shape ``(n,)``, float64.

        Raises
        ------
        TypeError
            ``latents`` is not real.
        ValueError
            A latent shape mismatch or non-finite latents.
        """
        z = real_array("latents", latents.double() if hasattr(latents, "detach") else latents)
        if z.ndim != len(self.latent_shape) + 1 or tuple(z.shape[1:]) != self.latent_shape:
            raise ValueError(f"latents must have shape (n, *{self.latent_shape}), got {z.shape}")
        flat = z.reshape(z.shape[0], -1)
        return flat[:, 0], flat[:, 1]

    # ------------------------------------------------------------------ generator protocol
    def __call__(self, latents: Any, seeds: Sequence[int] | None = None) -> tuple[Any, None]:
        """Images of a batch of latents (``seeds`` is ignored: the generator is deterministic).

        Parameters
        ----------
        latents : array_like or torch.Tensor
            Shape ``(n, *latent_shape)``, finite; cast to ``dtype`` first.
        seeds : sequence of int, optional
            Ignored.

        Returns
        -------
        tuple
            ``(images, None)``: a float64 tensor ``(n, 3, size, size)`` in [0, 1].

        Raises
        ------
        TypeError
            ``latents`` is not real.
        ValueError
            A latent shape mismatch or non-finite latents.
        """
        import torch

        from statgeo.diffusion.pipeline import _check_latents

        latents = _check_latents(latents, self.latent_shape).to(self.dtype)
        check_allocation("the images (n, 3, size, size)", (latents.shape[0], 3, self.size, self.size), np.float64,
                         names="the number of latents and size")
        self.calls += 1
        a, b = self.coordinates(latents)
        lab = self.labels(a, b)
        img = self._textures[lab] + self.smooth * (a[:, None, None, None] * self._p1[None]
                                                   + b[:, None, None, None] * self._p2[None])
        return torch.from_numpy(np.clip(img, 0.0, 1.0)), None

    def config(self) -> dict:
        """The generator's provenance record (all parameters).

        Returns
        -------
        dict
            JSON-serialisable, with ``latent_shape``.
        """
        return {"kind": "synthetic", "latent_shape": list(self.latent_shape), "size": self.size,
                "dtype": str(self.dtype).replace("torch.", ""), "b0": self.b0, "amplitude": self.amplitude,
                "ratio": self.ratio, "scale": self.scale, "n_terms": self.n_terms, "a1": self.a1, "smooth": self.smooth}


def synthetic_slice(latent_shape: Sequence[int] = (2,)) -> LatentSlice:
    """The slice z(α, β) = α d₁ + β d₂ (anchors 0, d₁, d₂; no renormalisation), so (a, b) = (α, β).

    Parameters
    ----------
    latent_shape : sequence of int, default (2,)
        The generator's latent shape (at least 2 elements).

    Returns
    -------
    LatentSlice
        With ``normalise="none"`` and ``source="synthetic"``.

    Raises
    ------
    TypeError
        ``latent_shape`` is not a sequence of integers.
    ValueError
        A latent of fewer than 2 elements or too large for memory.

    Examples
    --------
    >>> synthetic_slice().latents([0.25], [0.5])
    array([[0.25, 0.5 ]])
    """
    latent_shape = check_shape("latent_shape", latent_shape, min_size=2)
    n = int(np.prod(latent_shape))
    check_allocation("the anchors (3, *latent_shape)", (3, n), np.float64, names="latent_shape")
    a = np.zeros((3, n))
    a[1, 0] = 1.0
    a[2, 1] = 1.0
    return LatentSlice(a.reshape((3,) + tuple(latent_shape)), normalise="none", source="synthetic")
