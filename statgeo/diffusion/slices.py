"""Two-dimensional slices of a diffusion model's latent space.

A slice is spanned by three anchor latents z0, z1, z2:

    z(α, β) = z0 + α (z1 − z0) + β (z2 − z0),

then renormalised so that the latent stays on the Gaussian shell where the model was trained
(Lobashev et al., ICML 2025, §5: "divided by the sample standard deviation"). The arithmetic
is done in float64; :meth:`LatentSlice.latents` returns float64 and the caller casts to the
model's dtype at the last moment (see :func:`effective_resolution` for what that cast costs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from statgeo.checks import check_choice, check_int
from statgeo.grid import ParameterGrid

__all__ = [
    "LatentSlice",
    "anchors_from_seeds",
    "load_anchors",
    "renormalise",
    "slice_grid",
    "effective_resolution",
    "NORMALISATIONS",
]

NORMALISATIONS = ("std", "sqrt_dim", "none")


def anchors_from_seeds(seeds: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """Draw anchor latents z_k ~ N(0, I) from a CPU ``torch.Generator`` seeded with each seed.

    The same seed gives the same latent as ``torch.randn(shape, generator=torch.Generator().
    manual_seed(seed))`` in float32 — the convention of diffusers pipelines seeded on the CPU —
    returned as float64.

    Parameters
    ----------
    seeds : sequence of non-negative ints (one per anchor, usually three).
    shape : latent shape without the batch dimension, e.g. ``(4, 64, 64)`` for SD 1.x at 512².

    Returns
    -------
    ndarray of shape ``(len(seeds), *shape)``, float64.
    """
    import torch

    seeds = [check_int("seeds[%d]" % i, s, min=0) for i, s in enumerate(seeds)]
    if len(seeds) == 0:
        raise ValueError("seeds must contain at least one seed")
    shape = tuple(check_int("shape[%d]" % i, s, min=1) for i, s in enumerate(shape))
    out = []
    for s in seeds:
        g = torch.Generator(device="cpu").manual_seed(s)
        out.append(torch.randn(shape, generator=g, dtype=torch.float32).double().numpy())
    return np.stack(out)


def load_anchors(path: str | os.PathLike, shape: Sequence[int] | None = None) -> np.ndarray:
    """Load anchors from a ``.pt`` (torch tensor) or ``.npy`` file, shape ``(3, *latent_shape)``.

    A leading batch dimension of one per anchor (``(3, 1, C, H, W)``) is squeezed. Raises
    ``FileNotFoundError`` naming the path when it is missing and ``ValueError`` on a shape
    mismatch with ``shape`` or on non-finite values.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"anchor file not found: {path!r}")
    if path.endswith(".npy"):
        z = np.load(path)
    elif path.endswith(".pt") or path.endswith(".pth"):
        import torch

        z = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(z, dict):
            z = torch.stack([z[k] for k in ("z0", "z1", "z2")])
        z = z.detach().double().numpy()
    else:
        raise ValueError(f"anchor file must end in .npy or .pt, got {path!r}")
    z = np.asarray(z, dtype=np.float64)
    if z.ndim >= 2 and z.shape[1] == 1 and shape is not None and len(shape) == z.ndim - 2:
        z = z[:, 0]
    if z.shape[0] != 3:
        raise ValueError(f"anchor file {path!r} must hold 3 latents (z0, z1, z2), got leading dimension {z.shape[0]}")
    if shape is not None and tuple(z.shape[1:]) != tuple(shape):
        raise ValueError(f"latent shape mismatch: anchors in {path!r} have shape {z.shape[1:]}, the model expects {tuple(shape)}")
    if not np.isfinite(z).all():
        raise ValueError(f"anchor latents in {path!r} contain NaN or inf")
    return z


def renormalise(z: np.ndarray, mode: str = "std") -> np.ndarray:
    """Renormalise latents (batch along axis 0) back onto the Gaussian shell.

    * ``"std"``: z / s(z) with s the sample standard deviation over the latent's elements
      (population form, ``ddof=0``), the paper's choice; it does not subtract the mean.
    * ``"sqrt_dim"``: z · √d / ‖z‖, the radius of a standard Gaussian in d dimensions.
    * ``"none"``: unchanged.
    """
    mode = check_choice("normalise", mode, NORMALISATIONS)
    z = np.asarray(z, dtype=np.float64)
    if mode == "none":
        return z
    flat = z.reshape(z.shape[0], -1)
    if mode == "std":
        s = flat.std(axis=1)
    else:
        s = np.linalg.norm(flat, axis=1) / np.sqrt(flat.shape[1])
    if np.any(s == 0):
        raise ValueError("cannot renormalise a zero latent (the slice passes through z = 0)")
    return z / s.reshape((-1,) + (1,) * (z.ndim - 1))


@dataclass(frozen=True)
class LatentSlice:
    """The plane z(α, β) = z0 + α (z1 − z0) + β (z2 − z0), renormalised by ``normalise``.

    Parameters
    ----------
    anchors : array of shape ``(3, *latent_shape)`` (z0, z1, z2), float64.
    normalise : ``"std"`` (paper), ``"sqrt_dim"`` or ``"none"``.
    seeds : the seeds the anchors came from, if any (kept for provenance).
    """

    anchors: np.ndarray
    normalise: str = "std"
    seeds: tuple[int, ...] | None = None
    source: str = ""

    def __post_init__(self) -> None:
        a = np.asarray(self.anchors, dtype=np.float64)
        if a.ndim < 2 or a.shape[0] != 3:
            raise ValueError(f"anchors must have shape (3, *latent_shape), got {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError("anchors contain NaN or inf latents")
        check_choice("normalise", self.normalise, NORMALISATIONS)
        a = a.copy()
        a.setflags(write=False)
        object.__setattr__(self, "anchors", a)

    @classmethod
    def from_seeds(cls, seeds: Sequence[int], shape: Sequence[int], normalise: str = "std") -> "LatentSlice":
        """Anchors drawn by :func:`anchors_from_seeds` (three seeds)."""
        if len(seeds) != 3:
            raise ValueError(f"seeds must hold exactly 3 seeds (z0, z1, z2), got {len(seeds)}")
        return cls(anchors_from_seeds(seeds, shape), normalise, tuple(int(s) for s in seeds), "seeds")

    @classmethod
    def from_file(cls, path: str | os.PathLike, shape: Sequence[int] | None = None, normalise: str = "std") -> "LatentSlice":
        """Anchors read by :func:`load_anchors`."""
        return cls(load_anchors(path, shape), normalise, None, os.fspath(path))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return tuple(self.anchors.shape[1:])

    def raw(self, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Un-normalised z0 + α(z1 − z0) + β(z2 − z0), shape ``(n, *latent_shape)``, float64."""
        alpha = np.asarray(alpha, dtype=np.float64).ravel()
        beta = np.asarray(beta, dtype=np.float64).ravel()
        if alpha.shape != beta.shape:
            raise ValueError(f"alpha and beta must have the same number of points, got {alpha.size} and {beta.size}")
        if not (np.isfinite(alpha).all() and np.isfinite(beta).all()):
            raise ValueError("alpha and beta must be finite (got NaN or inf)")
        z0, z1, z2 = self.anchors
        ex = (slice(None),) + (None,) * z0.ndim
        return z0[None] + alpha[ex] * (z1 - z0)[None] + beta[ex] * (z2 - z0)[None]

    def latents(self, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Renormalised latents z(α, β), shape ``(n, *latent_shape)``, float64."""
        return renormalise(self.raw(alpha, beta), self.normalise)

    def config(self) -> dict:
        return {"normalise": self.normalise, "seeds": list(self.seeds) if self.seeds else None,
                "source": self.source, "latent_shape": list(self.latent_shape)}


def slice_grid(n_alpha: int = 64, n_beta: int | None = None, alpha_range: tuple[float, float] = (0.0, 1.0),
               beta_range: tuple[float, float] = (0.0, 1.0)) -> ParameterGrid:
    """A regular ``alpha × beta`` :class:`~statgeo.grid.ParameterGrid` (default [0, 1]²)."""
    n_alpha = check_int("n_alpha", n_alpha, min=1)
    n_beta = n_alpha if n_beta is None else check_int("n_beta", n_beta, min=1)
    attrs = {"alpha": {"long_name": "slice coordinate α", "units": "1"},
             "beta": {"long_name": "slice coordinate β", "units": "1"}}
    return ParameterGrid.from_ranges(attrs=attrs, alpha=(alpha_range[0], alpha_range[1], n_alpha),
                                     beta=(beta_range[0], beta_range[1], n_beta))


def effective_resolution(lslice: LatentSlice, dtype: str, alpha: float = 0.5, beta: float = 0.5) -> dict:
    """Smallest slice step that still changes the latent once cast to ``dtype``.

    For latent component i, with z_i(α, β) and ∂z_i/∂α (by a float64 central difference of
    the renormalised slice), the cast to ``dtype`` rounds to the nearest representable
    number, so a step δα changes component i only when |∂z_i/∂α| δα ≳ ulp(z_i)/2. We report
    the median over components of ulp(z_i) / (2 |∂z_i/∂α|) (and the same along β): below
    this scale, most latent components no longer move and the model sees a staircase.
    Relative precision ε: float16 ≈ 9.8e-4, bfloat16 ≈ 7.8e-3, float32 ≈ 1.2e-7,
    float64 ≈ 2.2e-16 (IEEE 754).

    Returns
    -------
    dict with ``alpha``, ``beta`` (resolutions in slice units) and ``eps`` of the dtype.
    """
    import torch

    tdt = _torch_dtype(dtype)
    h = 1e-6
    z = lslice.latents([alpha], [beta])[0]
    out = {"eps": float(torch.finfo(tdt).eps), "dtype": str(dtype)}
    zt = torch.from_numpy(z).to(tdt)
    up = torch.nextafter(zt, torch.full_like(zt, float("inf"))).double().numpy()
    ulp = np.abs(up - zt.double().numpy())
    for name, da, db in (("alpha", h, 0.0), ("beta", 0.0, h)):
        zp = lslice.latents([alpha + da], [beta + db])[0]
        zm = lslice.latents([alpha - da], [beta - db])[0]
        dz = np.abs(zp - zm) / (2 * h)
        ok = dz > 0
        out[name] = float(np.median(ulp[ok] / (2 * dz[ok]))) if ok.any() else float("inf")
    return out


def _torch_dtype(dtype):
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"float16": torch.float16, "fp16": torch.float16, "half": torch.float16, "bfloat16": torch.bfloat16,
             "float32": torch.float32, "fp32": torch.float32, "float": torch.float32, "float64": torch.float64,
             "double": torch.float64}
    key = str(dtype).replace("torch.", "")
    if key not in names:
        raise ValueError(f"dtype must be one of {sorted(names)}, got {dtype!r}")
    return names[key]
