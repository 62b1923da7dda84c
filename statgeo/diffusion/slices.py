"""Two-dimensional slices of a diffusion model's latent space.

A slice is spanned by three anchor latents z0, z1, z2:

    z(α, β) = z0 + α (z1 − z0) + β (z2 − z0),

then renormalised so that the latent stays on the Gaussian shell where the model was trained
(Lobashev et al., ICML 2025, §5: "divided by the sample standard deviation"). The arithmetic
is done in float64; :meth:`LatentSlice.latents` returns float64 and the caller casts to the
model's dtype at the last moment (see :func:`effective_resolution` for what that cast costs).
The anchors must span a plane: equal anchors (e.g. drawn from equal seeds) and collinear
anchors are refused (docs/diffusion.md, "Slice conventions").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from statgeo.checks import check_allocation, check_choice, check_int
from statgeo.diffusion._checks import (
    check_int_sequence,
    check_path,
    check_scalar,
    check_shape,
    check_slice,
    check_str,
    real_array,
)
from statgeo.grid import MAX_GRID_POINTS, ParameterGrid

__all__ = [
    "LatentSlice",
    "anchors_from_seeds",
    "load_anchors",
    "renormalise",
    "slice_grid",
    "effective_resolution",
    "NORMALISATIONS",
    "MAX_SEED",
]

#: the renormalisations a slice accepts (see :func:`renormalise`)
NORMALISATIONS = ("std", "sqrt_dim", "none")

#: largest seed a CPU ``torch.Generator`` accepts (``manual_seed`` takes unsigned 64-bit seeds)
MAX_SEED = 2**64 - 1

#: anchors whose edge vectors z1 − z0, z2 − z0 make a squared sine below this are collinear
_COLLINEAR_SIN2 = 1e-12


def anchors_from_seeds(seeds: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """Draw anchor latents z_k ~ N(0, I) from a CPU ``torch.Generator`` seeded with each seed.

    The same seed gives the same latent as ``torch.randn(shape, generator=torch.Generator().
    manual_seed(seed))`` in float32 — the convention of diffusers pipelines seeded on the CPU —
    returned as float64.

    Parameters
    ----------
    seeds : sequence of int
        One seed per anchor (usually three), distinct integers in ``[0, 2**64 - 1]``.
    shape : sequence of int
        Latent shape without the batch dimension, e.g. ``(4, 64, 64)`` for SD 1.x at 512².

    Returns
    -------
    numpy.ndarray
        Shape ``(len(seeds), *shape)``, float64.

    Raises
    ------
    TypeError
        ``seeds`` or ``shape`` is not a sequence of integers.
    ValueError
        A seed is negative or too large, two seeds are equal (equal anchors span no slice),
        ``seeds`` is empty, a dimension is below 1, or the anchors would not fit in memory.

    Examples
    --------
    >>> z = anchors_from_seeds([0, 1, 2], (2, 3))
    >>> z.shape, z.dtype
    ((3, 2, 3), dtype('float64'))
    """
    seeds = check_int_sequence("seeds", seeds, min=0, max=MAX_SEED)
    if len(seeds) == 0:
        raise ValueError("seeds must contain at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct (equal seeds draw equal anchors, which span no slice), got {seeds}")
    shape = check_shape("shape", shape)
    check_allocation("the anchor latents (seeds, *shape)", (len(seeds),) + shape, np.float64, names="seeds and shape")
    import torch

    out = []
    for s in seeds:
        g = torch.Generator(device="cpu").manual_seed(s)
        out.append(torch.randn(shape, generator=g, dtype=torch.float32).double().numpy())
    return np.stack(out)


def load_anchors(path: str | os.PathLike, shape: Sequence[int] | None = None) -> np.ndarray:
    """Load the anchors z0, z1, z2 from a ``.npy`` or ``.pt`` (torch tensor) file.

    The file holds an array of shape ``(3, *latent_shape)`` (a ``.pt`` file may also hold a
    dict with keys ``z0``, ``z1``, ``z2``). A leading batch dimension of one per anchor
    (``(3, 1, C, H, W)``) is squeezed when ``shape`` is given.

    Parameters
    ----------
    path : str or os.PathLike
        The anchor file (``.npy``, ``.pt`` or ``.pth``).
    shape : sequence of int, optional
        The latent shape the model expects; the anchors must have it.

    Returns
    -------
    numpy.ndarray
        The anchors, shape ``(3, *latent_shape)``, float64.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist (the message names it).
    TypeError
        ``path`` is not a path or ``shape`` not a sequence of integers.
    ValueError
        Wrong file extension, not three latents, a shape mismatch with ``shape``, or
        non-finite values.
    """
    path = check_path("path", path)
    if shape is not None:
        shape = check_shape("shape", shape)
    if not (path.endswith(".npy") or path.endswith(".pt") or path.endswith(".pth")):
        raise ValueError(f"anchor file must end in .npy or .pt, got {path!r}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"anchor file not found: {path!r}")
    if path.endswith(".npy"):
        z = np.load(path)
    else:
        import torch

        z = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(z, dict):
            missing = [k for k in ("z0", "z1", "z2") if k not in z]
            if missing:
                raise ValueError(f"anchor file {path!r} holds a dict without the keys {missing} (expected z0, z1, z2)")
            z = torch.stack([z[k] for k in ("z0", "z1", "z2")])
        if not isinstance(z, torch.Tensor):
            raise ValueError(f"anchor file {path!r} must hold a tensor or a dict of tensors, got {type(z).__name__}")
        z = z.detach().double().numpy()
    if np.asarray(z).dtype.kind not in "iuf":
        raise ValueError(f"anchor file {path!r} must hold real numbers, got dtype {np.asarray(z).dtype}")
    z = np.asarray(z, dtype=np.float64)
    if z.ndim >= 2 and z.shape[1] == 1 and shape is not None and len(shape) == z.ndim - 2:
        z = z[:, 0]
    if z.ndim < 2 or z.shape[0] != 3:
        raise ValueError(f"anchor file {path!r} must hold 3 latents (z0, z1, z2), got an array of shape {z.shape}")
    if shape is not None and tuple(z.shape[1:]) != tuple(shape):
        raise ValueError(f"latent shape mismatch: anchors in {path!r} have shape {z.shape[1:]}, the model expects {tuple(shape)}")
    if not np.isfinite(z).all():
        raise ValueError(f"anchor latents in {path!r} contain NaN or inf")
    return z


def renormalise(z: Any, mode: str = "std") -> np.ndarray:
    """Renormalise latents (batch along axis 0) back onto the Gaussian shell.

    With s(z) per latent:

    * ``"std"``: z / s(z), s the standard deviation over the latent's elements (population
      form, ``ddof=0``), the paper's choice; the mean is not subtracted.
    * ``"sqrt_dim"``: z · √d / ‖z‖, the typical radius of a standard Gaussian in d dimensions.
    * ``"none"``: unchanged.

    Parameters
    ----------
    z : array_like
        Latents, shape ``(n, *latent_shape)``, finite.
    mode : {"std", "sqrt_dim", "none"}, default "std"
        The renormalisation.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``z``.

    Raises
    ------
    TypeError
        ``z`` is not an array of real numbers.
    ValueError
        Unknown ``mode``, non-finite ``z``, or a zero latent (the slice passes through z = 0).

    Examples
    --------
    >>> renormalise([[3.0, -3.0]], "std")
    array([[ 1., -1.]])
    """
    mode = check_choice("normalise mode", mode, NORMALISATIONS)
    z = real_array("z", z, min_ndim=1)
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


def _check_plane(a: np.ndarray, seeds: tuple[int, ...] | None) -> None:
    """Refuse anchors whose edges z1 − z0 and z2 − z0 are zero or collinear (no plane)."""
    where = f" (anchors drawn from seeds {tuple(seeds)})" if seeds else ""
    if a[0].size < 2:
        raise ValueError(f"anchors must be latents of at least 2 elements to span a plane, got shape {a.shape[1:]}")
    u = (a[1] - a[0]).ravel()
    v = (a[2] - a[0]).ravel()
    uu, vv, uv = float(u @ u), float(v @ v), float(u @ v)
    if uu == 0 or vv == 0 or uu * vv - uv * uv <= _COLLINEAR_SIN2 * uu * vv:
        raise ValueError(f"anchors are degenerate{where}: z1 − z0 and z2 − z0 are zero or collinear, so the "
                         "anchors span no plane; use three distinct, non-collinear anchors (distinct seeds)")


@dataclass(frozen=True)
class LatentSlice:
    """The plane z(α, β) = z0 + α (z1 − z0) + β (z2 − z0), renormalised by ``normalise``.

    Parameters
    ----------
    anchors : array_like
        The anchors z0, z1, z2, shape ``(3, *latent_shape)`` (lists and tensors accepted,
        stored as a read-only float64 array). They must span a plane.
    normalise : {"std", "sqrt_dim", "none"}, default "std"
        The renormalisation (:func:`renormalise`); ``"std"`` is the paper's.
    seeds : tuple of int, optional
        The seeds the anchors came from, if any (kept for provenance).
    source : str, default ""
        Where the anchors came from (``"seeds"``, a file path, ...), for provenance.

    Raises
    ------
    TypeError
        ``anchors`` is not an array of real numbers, or a field has the wrong type.
    ValueError
        ``anchors`` has the wrong shape or non-finite values, the anchors are equal or
        collinear (they span no plane; the message names the seeds when known), or
        ``normalise`` is unknown.

    See Also
    --------
    slice_grid : a regular grid over the slice coordinates.
    statgeo.diffusion.sweep : generate images over the slice.

    Examples
    --------
    >>> ls = LatentSlice.from_seeds([0, 1, 2], (4, 8, 8))
    >>> ls.latent_shape
    (4, 8, 8)
    >>> z = ls.latents([0.0, 0.5], [0.0, 0.5])
    >>> z.shape, float(z[0].std())
    ((2, 4, 8, 8), 1.0)
    >>> LatentSlice.from_seeds([0, 0, 0], (4, 8, 8))
    Traceback (most recent call last):
    ...
    ValueError: seeds must be distinct (equal seeds draw equal anchors, which span no slice), got [0, 0, 0]
    """

    anchors: np.ndarray
    normalise: str = "std"
    seeds: tuple[int, ...] | None = None
    source: str = ""

    def __post_init__(self) -> None:
        a = real_array("anchors", self.anchors)
        if a.ndim < 2 or a.shape[0] != 3:
            raise ValueError(f"anchors must have shape (3, *latent_shape), got {a.shape}")
        check_choice("normalise", self.normalise, NORMALISATIONS)
        seeds = self.seeds
        if seeds is not None:
            seeds = tuple(check_int_sequence("seeds", seeds, min=0, max=MAX_SEED))
        check_str("source", self.source)
        _check_plane(a, seeds)
        a = a.copy()
        a.setflags(write=False)
        object.__setattr__(self, "anchors", a)
        object.__setattr__(self, "seeds", seeds)

    @classmethod
    def from_seeds(cls, seeds: Sequence[int], shape: Sequence[int], normalise: str = "std") -> "LatentSlice":
        """A slice whose anchors are drawn by :func:`anchors_from_seeds` from three seeds.

        Parameters
        ----------
        seeds : sequence of int
            Exactly three distinct seeds (z0, z1, z2).
        shape : sequence of int
            The latent shape without the batch dimension.
        normalise : {"std", "sqrt_dim", "none"}, default "std"
            The renormalisation.

        Returns
        -------
        LatentSlice

        Raises
        ------
        TypeError
            ``seeds`` or ``shape`` is not a sequence of integers.
        ValueError
            Not three seeds, equal seeds, a bad shape or an unknown ``normalise``.
        """
        check_choice("normalise", normalise, NORMALISATIONS)
        seeds = check_int_sequence("seeds", seeds, min=0, max=MAX_SEED)
        if len(seeds) != 3:
            raise ValueError(f"seeds must hold exactly 3 seeds (z0, z1, z2), got {len(seeds)}")
        return cls(anchors_from_seeds(seeds, shape), normalise, tuple(seeds), "seeds")

    @classmethod
    def from_file(cls, path: str | os.PathLike, shape: Sequence[int] | None = None,
                  normalise: str = "std") -> "LatentSlice":
        """A slice whose anchors are read by :func:`load_anchors`.

        Parameters
        ----------
        path : str or os.PathLike
            The ``.npy``/``.pt`` anchor file.
        shape : sequence of int, optional
            The latent shape the model expects.
        normalise : {"std", "sqrt_dim", "none"}, default "std"
            The renormalisation.

        Returns
        -------
        LatentSlice

        Raises
        ------
        FileNotFoundError
            ``path`` does not exist.
        TypeError
            ``path`` is not a path.
        ValueError
            See :func:`load_anchors`; also degenerate anchors or an unknown ``normalise``.
        """
        check_choice("normalise", normalise, NORMALISATIONS)
        return cls(load_anchors(path, shape), normalise, None, os.fspath(path))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """The shape of one latent (without the batch dimension)."""
        return tuple(self.anchors.shape[1:])

    def _coordinates(self, alpha: Any, beta: Any) -> tuple[np.ndarray, np.ndarray]:
        alpha = real_array("alpha", alpha).ravel()
        beta = real_array("beta", beta).ravel()
        if alpha.shape != beta.shape:
            raise ValueError(f"alpha and beta must have the same number of points, got {alpha.size} and {beta.size}")
        check_allocation("the latents (points, *latent_shape)", (alpha.size,) + self.latent_shape, np.float64,
                         names="alpha and beta")
        return alpha, beta

    def raw(self, alpha: Any, beta: Any) -> np.ndarray:
        """Un-normalised latents z0 + α(z1 − z0) + β(z2 − z0).

        Parameters
        ----------
        alpha, beta : array_like
            Slice coordinates, the same number of finite values (flattened).

        Returns
        -------
        numpy.ndarray
            Shape ``(n, *latent_shape)``, float64.

        Raises
        ------
        TypeError
            ``alpha`` or ``beta`` is not real.
        ValueError
            Non-finite or empty coordinates, different sizes, or too many points for memory.
        """
        alpha, beta = self._coordinates(alpha, beta)
        z0, z1, z2 = self.anchors
        ex = (slice(None),) + (None,) * z0.ndim
        return z0[None] + alpha[ex] * (z1 - z0)[None] + beta[ex] * (z2 - z0)[None]

    def latents(self, alpha: Any, beta: Any) -> np.ndarray:
        """Renormalised latents z(α, β) (:func:`renormalise` with the slice's mode).

        Parameters
        ----------
        alpha, beta : array_like
            Slice coordinates, the same number of finite values (flattened).

        Returns
        -------
        numpy.ndarray
            Shape ``(n, *latent_shape)``, float64.

        Raises
        ------
        TypeError
            ``alpha`` or ``beta`` is not real.
        ValueError
            As :meth:`raw`; also a point where the latent is zero.
        """
        return renormalise(self.raw(alpha, beta), self.normalise)

    def config(self) -> dict:
        """The slice's provenance record (normalisation, seeds, source, latent shape).

        Returns
        -------
        dict
            JSON-serialisable.
        """
        return {"normalise": self.normalise, "seeds": list(self.seeds) if self.seeds else None,
                "source": self.source, "latent_shape": list(self.latent_shape)}


def _check_range(name: str, value: Any) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be a (start, stop) pair of real numbers, got {value!r:.60}")
    if len(value) != 2:
        raise ValueError(f"{name} must be a (start, stop) pair of real numbers, got {len(value)} values")
    lo = check_scalar(f"{name}[0]", value[0])
    hi = check_scalar(f"{name}[1]", value[1])
    if not hi > lo:
        raise ValueError(f"{name} must have stop > start (a slice of positive width), got {tuple(value)!r}")
    return lo, hi


def slice_grid(n_alpha: int = 64, n_beta: int | None = None, alpha_range: tuple[float, float] = (0.0, 1.0),
               beta_range: tuple[float, float] = (0.0, 1.0)) -> ParameterGrid:
    """A regular ``alpha × beta`` :class:`~statgeo.grid.ParameterGrid` (default [0, 1]²).

    Parameters
    ----------
    n_alpha : int, default 64
        Points along α, in ``[2, MAX_GRID_POINTS]``.
    n_beta : int, optional
        Points along β (default ``n_alpha``), in ``[2, MAX_GRID_POINTS]``.
    alpha_range, beta_range : tuple of float, default (0.0, 1.0)
        ``(start, stop)`` of each axis, finite with ``stop > start``.

    Returns
    -------
    statgeo.grid.ParameterGrid
        Axes ``alpha`` and ``beta`` (identity coordinate map).

    Raises
    ------
    TypeError
        A count is not an integer or a range not a pair of reals.
    ValueError
        A count outside ``[2, MAX_GRID_POINTS]`` or a range of zero or negative width.

    Examples
    --------
    >>> g = slice_grid(3)
    >>> g.names, g.shape
    (('alpha', 'beta'), (3, 3))
    """
    n_alpha = check_int("n_alpha", n_alpha, min=2, max=MAX_GRID_POINTS)
    n_beta = n_alpha if n_beta is None else check_int("n_beta", n_beta, min=2, max=MAX_GRID_POINTS)
    a0, a1 = _check_range("alpha_range", alpha_range)
    b0, b1 = _check_range("beta_range", beta_range)
    attrs = {"alpha": {"long_name": "slice coordinate α", "units": "1"},
             "beta": {"long_name": "slice coordinate β", "units": "1"}}
    return ParameterGrid.from_ranges(attrs=attrs, alpha=(a0, a1, n_alpha), beta=(b0, b1, n_beta))


def effective_resolution(lslice: LatentSlice, dtype: Any, alpha: float = 0.5, beta: float = 0.5) -> dict:
    """Smallest slice step that still changes the latent once cast to ``dtype``.

    For latent component i, with z_i(α, β) and ∂z_i/∂α (by a float64 central difference of
    the renormalised slice), the cast to ``dtype`` rounds to the nearest representable
    number, so a step δα changes component i only when |∂z_i/∂α| δα ≳ ulp(z_i)/2. We report
    the median over components of ulp(z_i) / (2 |∂z_i/∂α|) (and the same along β): below
    this scale, most latent components no longer move and the model sees a staircase.
    Relative precision ε: float16 ≈ 9.8e-4, bfloat16 ≈ 7.8e-3, float32 ≈ 1.2e-7,
    float64 ≈ 2.2e-16 (IEEE 754).

    Parameters
    ----------
    lslice : LatentSlice
        The slice.
    dtype : str or torch.dtype
        The model's dtype (``"float16"``, ``"bfloat16"``, ``"float32"``, ``"float64"`` and
        aliases such as ``"fp16"``).
    alpha, beta : float, default 0.5
        The slice point, finite.

    Returns
    -------
    dict
        ``alpha``, ``beta`` (resolutions in slice units), ``eps`` (machine epsilon of the
        dtype) and ``dtype``.

    Raises
    ------
    TypeError
        ``lslice`` is not a LatentSlice, or ``alpha``/``beta`` not real.
    ValueError
        Unknown ``dtype`` or non-finite ``alpha``/``beta``.

    Examples
    --------
    >>> from statgeo.diffusion import synthetic_slice
    >>> r = effective_resolution(synthetic_slice(), "float32")
    >>> round(r["alpha"] / 2.0**-25, 6)  # ulp(0.5)/2 in float32
    1.0
    """
    check_slice("lslice", lslice)
    alpha = check_scalar("alpha", alpha)
    beta = check_scalar("beta", beta)
    tdt = _torch_dtype(dtype)
    import torch

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


_DTYPE_NAMES = ("float16", "fp16", "half", "bfloat16", "float32", "fp32", "float", "float64", "double")


def _torch_dtype(dtype: Any, name: str = "dtype"):
    import torch

    if isinstance(dtype, torch.dtype):
        if not dtype.is_floating_point:
            raise ValueError(f"{name} must be a floating-point dtype, got {dtype}")
        return dtype
    names = {"float16": torch.float16, "fp16": torch.float16, "half": torch.float16, "bfloat16": torch.bfloat16,
             "float32": torch.float32, "fp32": torch.float32, "float": torch.float32, "float64": torch.float64,
             "double": torch.float64}
    if not isinstance(dtype, (str, np.dtype, type)):
        raise TypeError(f"{name} must be a dtype name such as 'float32' or a torch.dtype, got {type(dtype).__name__}")
    key = str(np.dtype(dtype)) if isinstance(dtype, type) and issubclass(dtype, np.generic) else str(dtype)
    key = key.replace("torch.", "")
    if key not in names:
        raise ValueError(f"{name} must be one of {sorted(names)}, got {dtype!r}")
    return names[key]
