"""Finite-difference Lipschitz ratios of a latent → image map (Lobashev et al. 2025, §6).

For a slice point p, a unit direction u in slice coordinates and a step δ:

    Δz = z(p + δu) − z(p)          (float64, after renormalisation),
    L_pix(p, δ)  = ‖G(z(p + δu)) − G(z(p))‖₂ / ‖Δz‖₂,
    L_feat(p, δ) = ‖φ(G(z(p + δu))) − φ(G(z(p)))‖₂ / ‖Δz‖₂,

with images as floats in [0, 1] (not uint8, whose quantisation would floor the ratio) and φ
an embedder. Inside a phase G is smooth and L stays bounded as δ → 0; across a boundary the
numerator tends to the jump and L ∝ 1/δ. ``growth_exponent`` fits d ln L / d ln δ: ≈ 0 inside
a phase, ≈ −1 at a boundary. Both points use the same noise seed, so for η > 0 the noise
is common to the pair.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import xarray as xr

from statgeo.checks import check_int, check_real
from statgeo.diffusion.slices import LatentSlice
from statgeo.grid import ParameterGrid

__all__ = ["lipschitz_ratios", "lipschitz_map", "growth_exponent"]


def _generate_float(generator, lslice, a, b, seeds, batch_size):
    import torch

    out = []
    for s in range(0, a.size, batch_size):
        z = torch.from_numpy(lslice.latents(a[s:s + batch_size], b[s:s + batch_size])).to(generator.dtype)
        im, _ = generator(z, [int(x) for x in seeds[s:s + batch_size]])
        out.append(im.double().cpu().numpy() if hasattr(im, "cpu") else np.asarray(im, np.float64))
    return np.concatenate(out)


def _ratios(generator, lslice, p, q, seeds, embedder, batch_size):
    a = np.concatenate([p[:, 0], q[:, 0]])
    b = np.concatenate([p[:, 1], q[:, 1]])
    im = _generate_float(generator, lslice, a, b, np.concatenate([seeds, seeds]), batch_size)
    n = p.shape[0]
    dz = np.linalg.norm((lslice.latents(q[:, 0], q[:, 1]) - lslice.latents(p[:, 0], p[:, 1])).reshape(n, -1), axis=1)
    if np.any(dz == 0):
        raise ValueError("a step leaves the latent unchanged (delta too small for float64, or a degenerate slice)")
    pix = np.linalg.norm((im[n:] - im[:n]).reshape(n, -1), axis=1) / dz
    feat = None
    if embedder is not None:
        f = np.asarray(embedder(im), dtype=np.float64)
        feat = np.linalg.norm(f[n:] - f[:n], axis=-1) / dz
    return pix, feat, dz


def lipschitz_ratios(generator: Any, lslice: LatentSlice, points: Any, deltas: Sequence[float], *,
                     direction: Sequence[float] = (0.0, 1.0), embedder: Callable | None = None, seed: int = 0,
                     batch_size: int = 256) -> xr.Dataset:
    """L_pix and L_feat at each point (n, 2) for each slice step δ along ``direction``.

    Returns
    -------
    xr.Dataset with ``ratio_pixel`` (point, delta), ``ratio_feature`` (if an embedder is
    given) and ``latent_step`` ‖Δz‖ (point, delta); coords alpha, beta (point), delta.
    """
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] == 0:
        raise ValueError(f"points must be a non-empty (n, 2) array of (alpha, beta), got shape {p.shape}")
    d = np.asarray(check_real("deltas", deltas, low=0.0, low_inclusive=False), dtype=np.float64).ravel()
    u = np.asarray(direction, dtype=np.float64)
    if u.shape != (2,) or not np.isfinite(u).all() or np.linalg.norm(u) == 0:
        raise ValueError(f"direction must be a non-zero (2,) vector, got {direction!r}")
    u = u / np.linalg.norm(u)
    batch_size = check_int("batch_size", batch_size, min=1)
    n, m = p.shape[0], d.size
    P = np.repeat(p, m, axis=0)
    Q = P + np.tile(d, n)[:, None] * u
    from statgeo.diffusion.sweep import point_seeds

    seeds = np.repeat(point_seeds(seed, n), m)
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
                  embedder: Callable | None = None, seed: int = 0, batch_size: int = 256) -> xr.Dataset:
    """max over u ∈ {e_α, e_β} of L(p, δ) at every grid point; dims (alpha, beta)."""
    if not isinstance(grid, ParameterGrid) or grid.names != ("alpha", "beta"):
        raise ValueError("grid must be a ParameterGrid over ('alpha', 'beta')")
    pts = grid.points()
    out = None
    for u in ((1.0, 0.0), (0.0, 1.0)):
        r = lipschitz_ratios(generator, lslice, pts, [delta], direction=u, embedder=embedder, seed=seed,
                             batch_size=batch_size).isel(delta=0)
        out = r if out is None else np.maximum(out, r)
    res = {}
    for v in ("ratio_pixel", "ratio_feature"):
        if v in out:
            res[v] = (("alpha", "beta"), out[v].values.reshape(grid.shape), {"long_name": f"Lipschitz ratio ({v[6:]})"})
    return xr.Dataset(res, coords=grid.coords(), attrs={"delta": float(delta)})


def growth_exponent(ratios: xr.DataArray) -> xr.DataArray:
    """Least-squares slope of ln L against ln δ, per point (≈ 0 inside a phase, ≈ −1 at a boundary)."""
    x = np.log(ratios["delta"].values)
    y = np.log(np.maximum(ratios.transpose(..., "delta").values, 1e-300))
    xc = x - x.mean()
    slope = ((y - y.mean(-1, keepdims=True)) * xc).sum(-1) / (xc ** 2).sum()
    dims = [dd for dd in ratios.transpose(..., "delta").dims if dd != "delta"]
    return xr.DataArray(slope, dims=dims, coords={k: v for k, v in ratios.coords.items() if "delta" not in v.dims},
                        name="growth_exponent", attrs={"long_name": "d ln L / d ln δ", "units": "1"})
