"""Finite-difference Lipschitz ratios of a latent → image map (Lobashev et al. 2025, §6).

For a slice point p, a unit direction u in slice coordinates and a step δ:

    Δz = z(p + δu) − z(p)          (float64, after renormalisation),
    L_pix(p, δ)  = ‖G(z(p + δu)) − G(z(p))‖₂ / ‖Δz‖₂,
    L_feat(p, δ) = ‖φ(G(z(p + δu))) − φ(G(z(p)))‖₂ / ‖Δz‖₂,

with images as floats in [0, 1] (not uint8, whose quantisation would floor the ratio) and φ
an embedder. Inside a phase G is smooth and L stays bounded as δ → 0; across a boundary the
numerator tends to the jump and L ∝ 1/δ. ``growth_exponent`` fits d ln L / d ln δ: ≈ 0 inside
a phase, ≈ −1 at a boundary.

Noise (the rule of :mod:`statgeo.diffusion.generation`): point p_i of the point list gets
s_i = ``point_seeds(noise_seed, n)[i]``, and its step points p_i + δu, for every δ, inherit
s_i: both images of a pair see the same noise, so for η > 0 the ratio measures the map, not
the noise (docs/diffusion.md, "Lipschitz definitions").
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import xarray as xr

from statgeo.checks import check_allocation, check_callable, check_int
from statgeo.diffusion._checks import check_generator, check_points, check_scalar, check_slice, real_array
from statgeo.diffusion.generation import MAX_SWEEP_POINTS, generate_float, point_seeds
from statgeo.diffusion.slices import LatentSlice
from statgeo.grid import ParameterGrid

__all__ = ["lipschitz_ratios", "lipschitz_map", "growth_exponent"]


def _ratios(generator, lslice, p, q, seeds, embedder, batch_size):
    a = np.concatenate([p[:, 0], q[:, 0]])
    b = np.concatenate([p[:, 1], q[:, 1]])
    im = generate_float(generator, lslice, a, b, np.concatenate([seeds, seeds]), batch_size,
                        progress=False).astype(np.float64, copy=False)
    n = p.shape[0]
    dz = np.linalg.norm((lslice.latents(q[:, 0], q[:, 1]) - lslice.latents(p[:, 0], p[:, 1])).reshape(n, -1), axis=1)
    if np.any(dz == 0):
        raise ValueError("a step leaves the latent unchanged (delta too small for float64, or a degenerate slice)")
    pix = np.linalg.norm((im[n:] - im[:n]).reshape(n, -1), axis=1) / dz
    feat = None
    if embedder is not None:
        f = np.asarray(embedder(im), dtype=np.float64)
        if f.shape[:1] != (2 * n,) or not np.isfinite(f).all():
            raise ValueError(f"embedder must return finite features with one row per image ({2 * n}), got shape {f.shape}")
        feat = np.linalg.norm(f[n:] - f[:n], axis=-1) / dz
    return pix, feat, dz


def lipschitz_ratios(generator: Any, lslice: LatentSlice, points: Any, deltas: Sequence[float], *,
                     direction: Sequence[float] = (0.0, 1.0), embedder: Callable | None = None,
                     noise_seed: int = 0, batch_size: int = 256) -> xr.Dataset:
    """Finite-difference Lipschitz ratios L_pix (and L_feat) at each point for each step δ.

    With Δz = z(p + δu) − z(p) (float64, after renormalisation) and images G as floats in
    [0, 1]: L_pix = ‖G(z(p + δu)) − G(z(p))‖₂ / ‖Δz‖₂ and L_feat the same with φ(G(·)).

    Parameters
    ----------
    generator : LatentGenerator
        The generator G (latents cast to its dtype).
    lslice : LatentSlice
        The slice.
    points : array_like
        ``(n, 2)`` finite slice points (alpha, beta).
    deltas : sequence of float
        Slice steps δ > 0; at most ``MAX_SWEEP_POINTS`` (point, δ) pairs in all.
    direction : sequence of float, default (0.0, 1.0)
        The step direction u in slice coordinates (non-zero; normalised here).
    embedder : callable, optional
        Images → features φ (adds ``ratio_feature``).
    noise_seed : int, default 0
        Root of the per-point noise seeds: point i and its step points use
        ``point_seeds(noise_seed, n)[i]`` (both points of a pair share the seed).
    batch_size : int, default 256
        Latents per generator call (≥ 1).

    Returns
    -------
    xarray.Dataset
        ``ratio_pixel`` (point, delta), ``ratio_feature`` (with an embedder) and
        ``latent_step`` ‖Δz‖ (point, delta); coords ``alpha``, ``beta`` (point), ``delta``.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        Points not ``(n, 2)`` or not finite, a step δ ≤ 0 or NaN, a zero direction, too
        many pairs, a step that leaves the latent unchanged, or a generator/embedder output
        with NaN.

    Examples
    --------
    >>> from statgeo.diffusion import SyntheticGenerator, synthetic_slice
    >>> gen = SyntheticGenerator(size=4)
    >>> r = lipschitz_ratios(gen, synthetic_slice(), [[0.2, 0.9]], [1e-2, 1e-4])
    >>> r.ratio_pixel.dims, bool(np.ptp(r.ratio_pixel.values) < 1e-6)  # smooth inside a phase
    (('point', 'delta'), True)
    """
    check_generator("generator", generator)
    check_slice("lslice", lslice)
    p = check_points("points", points)
    d = real_array("deltas", deltas).ravel()
    if (d <= 0).any():
        raise ValueError(f"deltas must be slice steps in (0, inf), got {float(d[d <= 0][0])!r}")
    u = real_array("direction", direction) if not isinstance(direction, (str, bytes)) else None
    if u is None or u.shape != (2,) or np.linalg.norm(u) == 0:
        raise ValueError(f"direction must be a non-zero (2,) vector, got {direction!r}")
    check_callable("embedder", embedder, optional=True)
    noise_seed = check_int("noise_seed", noise_seed, min=0)
    batch_size = check_int("batch_size", batch_size, min=1)
    n, m = p.shape[0], d.size
    if n * m > MAX_SWEEP_POINTS:
        raise ValueError(f"points and deltas ask for {n * m} (point, delta) pairs, more than the maximum "
                         f"{MAX_SWEEP_POINTS}")
    check_allocation("the latents of both points of every pair", (2 * n * m,) + lslice.latent_shape, np.float64,
                     names="points and deltas")
    if tuple(generator.latent_shape) != lslice.latent_shape:
        raise ValueError(f"latent shape mismatch: the slice has latents of shape {lslice.latent_shape}, "
                         f"the generator expects {tuple(generator.latent_shape)}")
    u = u / np.linalg.norm(u)
    P = np.repeat(p, m, axis=0)
    Q = P + np.tile(d, n)[:, None] * u
    seeds = np.repeat(point_seeds(noise_seed, n), m)
    pix, feat, dz = _ratios(generator, lslice, P, Q, seeds, embedder, batch_size)
    data = {"ratio_pixel": (("point", "delta"), pix.reshape(n, m),
                            {"long_name": "‖G(z+Δz) − G(z)‖ / ‖Δz‖ (pixels in [0, 1])", "units": "1"}),
            "latent_step": (("point", "delta"), dz.reshape(n, m), {"long_name": "‖Δz‖", "units": "1"})}
    if feat is not None:
        data["ratio_feature"] = (("point", "delta"), feat.reshape(n, m),
                                 {"long_name": "‖φ(G(z+Δz)) − φ(G(z))‖ / ‖Δz‖", "units": "1"})
    return xr.Dataset(data, coords={"alpha": ("point", p[:, 0]), "beta": ("point", p[:, 1]),
                                    "delta": ("delta", d, {"long_name": "slice step δ", "units": "1"})},
                      attrs={"direction": list(map(float, u))})


def lipschitz_map(generator: Any, lslice: LatentSlice, grid: ParameterGrid, delta: float, *,
                  embedder: Callable | None = None, noise_seed: int = 0, batch_size: int = 256) -> xr.Dataset:
    """The larger of the α- and β-direction Lipschitz ratios at every grid point.

    Parameters
    ----------
    generator : LatentGenerator
        The generator.
    lslice : LatentSlice
        The slice.
    grid : ParameterGrid
        A grid over ``("alpha", "beta")``.
    delta : float
        The slice step δ > 0.
    embedder : callable, optional
        Images → features (adds ``ratio_feature``).
    noise_seed : int, default 0
        Root of the per-point noise seeds: grid point i (C order) uses
        ``point_seeds(noise_seed, n)[i]`` for both directions.
    batch_size : int, default 256
        Latents per generator call.

    Returns
    -------
    xarray.Dataset
        ``ratio_pixel`` (and ``ratio_feature``) over ``(alpha, beta)``; attr ``delta``.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid, or another argument of the wrong type.
    ValueError
        A grid over other axes, ``delta`` ≤ 0 or NaN, or as :func:`lipschitz_ratios`.

    Examples
    --------
    >>> from statgeo.diffusion import SyntheticGenerator, slice_grid, synthetic_slice
    >>> m = lipschitz_map(SyntheticGenerator(size=4), synthetic_slice(), slice_grid(3), 1e-3)
    >>> m.ratio_pixel.dims
    ('alpha', 'beta')
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a ParameterGrid over ('alpha', 'beta'), got {type(grid).__name__}")
    if grid.names != ("alpha", "beta"):
        raise ValueError(f"grid must be a ParameterGrid over ('alpha', 'beta'), got axes {grid.names}")
    delta = check_scalar("delta", delta, low=0.0, low_inclusive=False)
    noise_seed = check_int("noise_seed", noise_seed, min=0)
    pts = grid.points()
    out = None
    for u in ((1.0, 0.0), (0.0, 1.0)):
        r = lipschitz_ratios(generator, lslice, pts, [delta], direction=u, embedder=embedder, noise_seed=noise_seed,
                             batch_size=batch_size).isel(delta=0)
        out = r if out is None else np.maximum(out, r)
    res = {}
    for v in ("ratio_pixel", "ratio_feature"):
        if v in out:
            res[v] = (("alpha", "beta"), out[v].values.reshape(grid.shape), {"long_name": f"Lipschitz ratio ({v[6:]})"})
    return xr.Dataset(res, coords=grid.coords(), attrs={"delta": float(delta)})


def growth_exponent(ratios: xr.DataArray) -> xr.DataArray:
    """Least-squares slope of ln L against ln δ, per point (≈ 0 inside a phase, ≈ −1 at a boundary).

    Parameters
    ----------
    ratios : xarray.DataArray
        Lipschitz ratios with a ``delta`` dim of at least two distinct steps δ > 0 (e.g.
        ``lipschitz_ratios(...).ratio_pixel``); ratios ≥ 0 and finite (zeros are floored at
        1e-300).

    Returns
    -------
    xarray.DataArray
        ``growth_exponent`` over the other dims.

    Raises
    ------
    TypeError
        ``ratios`` is not a DataArray.
    ValueError
        No ``delta`` dim, fewer than two distinct positive steps, or negative/NaN ratios.

    Examples
    --------
    >>> L = xr.DataArray([[1.0, 10.0, 100.0]], dims=("point", "delta"), coords={"delta": [1e-1, 1e-2, 1e-3]})
    >>> growth_exponent(L).values.round(6).tolist()
    [-1.0]
    """
    if not isinstance(ratios, xr.DataArray):
        raise TypeError(f"ratios must be an xarray.DataArray with a 'delta' dim, got {type(ratios).__name__}")
    if "delta" not in ratios.dims or "delta" not in ratios.coords:
        raise ValueError(f"ratios must have a 'delta' dim with coordinates, got dims {ratios.dims}")
    dl = real_array("ratios.delta", ratios["delta"].values)
    if (dl <= 0).any() or np.unique(dl).size < 2:
        raise ValueError(f"ratios.delta must hold at least two distinct steps > 0, got {dl.tolist()}")
    vals = real_array("ratios", ratios.values)
    if (vals < 0).any():
        raise ValueError("ratios must be non-negative")
    x = np.log(ratios["delta"].values)
    y = np.log(np.maximum(ratios.transpose(..., "delta").values, 1e-300))
    xc = x - x.mean()
    slope = ((y - y.mean(-1, keepdims=True)) * xc).sum(-1) / (xc ** 2).sum()
    dims = [dd for dd in ratios.transpose(..., "delta").dims if dd != "delta"]
    return xr.DataArray(slope, dims=dims, coords={k: v for k, v in ratios.coords.items() if "delta" not in v.dims},
                        name="growth_exponent", attrs={"long_name": "d ln L / d ln δ", "units": "1"})
