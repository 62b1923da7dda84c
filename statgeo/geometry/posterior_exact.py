"""Exact-likelihood posteriors on a grid, bundles, and the finite-bundle treatment.

For an exponential family p(x | t) = exp(⟨t, f(x)⟩ − Φ(t)) and a bundle x_1..x_n,

    p(t | x_1..x_n) ∝ exp(⟨t, Σ_k f(x_k)⟩ − n Φ(t))          (uniform prior on the grid cells)

(geometry.md, "Posterior estimators", 1). One bundle's posterior is centred at that bundle's
own estimate, which scatters around the true origin t' by about the posterior's own width.
In the Gaussian approximation (D(t, t') ≈ ½ (t − t')ᵀ g (t − t')) the bundle posterior is
N(t̂, (n g)⁻¹) with t̂ ~ N(t', (n g)⁻¹), so the *average over bundles at one origin* is
N(t', 2 (n g)⁻¹) ∝ exp(−(n/2) D(t, t')): the effective temperature of bundle-averaged exact
posteriors is n/2 (geometry.md, "Finite-bundle bias"). Single bundles have temperature n
but are centred at t̂, not t'.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import xarray as xr
from array_api_compat import array_namespace

from statgeo.checks import check_int, check_real
from statgeo.seeding import as_seed_sequence
from statgeo.geometry.posterior import check_grid, posterior_dataarray
from statgeo.grid import ParameterGrid

__all__ = ["exact_likelihood_posterior", "exact_posterior", "cut_bundles", "bundle_sums", "average_per_origin"]

log = logging.getLogger(__name__)


def exact_likelihood_posterior(
    stat_sums: Any,
    n: int,
    log_partition_on_grid: Any,
    grid_natural_points: Any,
    temperature: float | None = None,
) -> Any:
    """Exact-likelihood posterior of every bundle over the grid cells (array API).

    .. math::
        p(t_c \\mid x_{1..n}) = \\frac{\\exp(β[⟨t_c, \\bar f⟩ − Φ(t_c)])}
                                     {\\sum_{c'} \\exp(β[⟨t_{c'}, \\bar f⟩ − Φ(t_{c'})])},
        \\quad \\bar f = \\frac{1}{n}\\sum_k f(x_k),\\ β = n

    (log-sum-exp normalised), i.e. the posterior under a uniform prior on the cells
    (Lobashev et al. 2025, Sec. 3; geometry.md "Posterior estimators").

    Parameters
    ----------
    stat_sums : array (..., d), Σ_k f(x_k) of each bundle (any array-API namespace).
    n : int ≥ 1, samples per bundle.
    log_partition_on_grid : array (C,), Φ(t_c) at the C grid cells.
    grid_natural_points : array (C, d), the cells' natural coordinates t_c (C ≥ 2).
    temperature : optional β > 0 replacing n in the formula above (a tempered posterior, as if
        β samples with the same mean statistic had been seen). ``None``: β = n (exact).

    Returns
    -------
    array (..., C) in the caller's namespace and device, rows summing to 1.
    """
    xp = array_namespace(stat_sums, log_partition_on_grid, grid_natural_points)
    n = check_int("n", n, min=1)
    beta = float(n) if temperature is None else float(
        check_real("temperature", temperature, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))
    t = grid_natural_points
    phi = log_partition_on_grid
    if t.ndim != 2:
        raise ValueError(f"grid_natural_points must have shape (C, d), got {tuple(t.shape)}")
    C, d = int(t.shape[0]), int(t.shape[1])
    if C < 2:
        raise ValueError(f"grid_natural_points must hold at least 2 grid cells, got {C}")
    if tuple(phi.shape) != (C,):
        raise ValueError(f"log_partition_on_grid must have shape ({C},) to match grid_natural_points, "
                         f"got {tuple(phi.shape)}")
    if stat_sums.ndim < 1 or int(stat_sums.shape[-1]) != d:
        raise ValueError(f"stat_sums must have shape (..., {d}) to match grid_natural_points, "
                         f"got {tuple(stat_sums.shape)}")
    if not xp.isdtype(t.dtype, "real floating"):
        raise TypeError(f"grid_natural_points must be real floating point, got {t.dtype}")
    dtype = t.dtype
    s = xp.astype(stat_sums, dtype) if stat_sums.dtype != dtype else stat_sums
    phi = xp.astype(phi, dtype) if phi.dtype != dtype else phi
    for name, arr in (("stat_sums", s), ("log_partition_on_grid", phi), ("grid_natural_points", t)):
        if not bool(xp.all(xp.isfinite(arr))):
            raise ValueError(f"{name} must be finite (no NaN or inf)")
    # ⟨t_c, f̄⟩ − Φ(t_c), then × β
    logits = xp.matmul(s, xp.permute_dims(t, (1, 0))) / float(n) - phi
    logits = logits * beta
    logits = logits - xp.max(logits, axis=-1, keepdims=True)
    w = xp.exp(logits)
    return w / xp.sum(w, axis=-1, keepdims=True)


def cut_bundles(samples: np.ndarray, n: int, *, seed: int | np.random.SeedSequence | None = None) -> np.ndarray:
    """Cut the samples drawn at each origin into bundles of ``n``.

    ``samples`` has shape (O, S, ...) (origin, sample, ...). With a ``seed`` the samples of each
    origin are shuffled first (use it when consecutive samples are correlated, e.g. a Markov
    chain); ``S mod n`` leftover samples are dropped. Returns shape (O, S // n, n, ...).
    """
    x = np.asarray(samples)
    n = check_int("n", n, min=1)
    if x.ndim < 2:
        raise ValueError(f"samples must have shape (origin, sample, ...), got {x.shape}")
    S = x.shape[1]
    if S < n:
        raise ValueError(f"n (bundle size) must be in [1, {S}] (samples per origin), got {n}")
    if seed is not None:
        rng = np.random.default_rng(as_seed_sequence(seed))
        perm = rng.permuted(np.broadcast_to(np.arange(S), x.shape[:2]), axis=1)
        x = np.take_along_axis(x, perm.reshape(perm.shape + (1,) * (x.ndim - 2)), axis=1)
    B = S // n
    if S % n:
        log.info("cut_bundles: dropping %d of %d samples per origin (not a multiple of n=%d)", S % n, S, n)
    return x[:, : B * n].reshape((x.shape[0], B, n) + x.shape[2:])


def bundle_sums(statistics: np.ndarray, n: int, *, seed: int | np.random.SeedSequence | None = None) -> np.ndarray:
    """Σ_k f(x_k) per bundle: statistics (O, S, d) → (O, S // n, d)."""
    st = np.asarray(statistics)
    if st.ndim != 3:
        raise ValueError(f"statistics must have shape (origin, sample, statistic), got {st.shape}")
    return cut_bundles(st, n, seed=seed).sum(axis=2)


def average_per_origin(bundle_posteriors: Any, *, axis: int = -2) -> Any:
    """Average bundle posteriors per origin: (O, B, C) → (O, C) (mean over the bundle axis).

    This is the finite-bundle treatment of geometry.md: the average is ≈ exp(−(n/2) D(t, t')).
    """
    xp = array_namespace(bundle_posteriors)
    if bundle_posteriors.ndim < 2:
        raise ValueError(f"bundle_posteriors must have a bundle axis and a cell axis, got shape "
                         f"{tuple(bundle_posteriors.shape)}")
    return xp.mean(bundle_posteriors, axis=axis)


def _phi_on_grid(log_partition: Any, grid: ParameterGrid) -> np.ndarray:
    if callable(log_partition) and not isinstance(log_partition, (np.ndarray, xr.DataArray)):
        phi = log_partition(grid.natural_points())
    elif hasattr(log_partition, "value") and not isinstance(log_partition, (np.ndarray, xr.DataArray)):
        phi = log_partition.value(grid.natural_points())
    elif isinstance(log_partition, xr.DataArray):
        phi = log_partition.transpose(*grid.names).values if set(grid.names) <= set(log_partition.dims) \
            else log_partition.values
    else:
        phi = log_partition
    phi = np.asarray(phi, dtype=np.float64).reshape(-1)
    if phi.shape != (grid.size,):
        raise ValueError(f"log_partition must give one value per grid point ({grid.size}), got {phi.size}")
    return phi


def exact_posterior(
    statistics: Any,
    grid: ParameterGrid,
    log_partition: Any,
    n: int,
    *,
    average: bool = True,
    temperature: float | None = None,
    seed: int | np.random.SeedSequence | None = None,
) -> xr.DataArray:
    """Labelled exact-likelihood posteriors of bundles of ``n`` samples drawn at every grid point.

    Parameters
    ----------
    statistics : sufficient statistics f(x) per sample, shape (grid.size, S, d) (origins in flat
        C order) or an ``xr.DataArray`` with the grid dims, a ``sample`` dim and a trailing
        statistic dim (ordered like the natural coordinates).
    grid : the parameter grid (posteriors live on its natural points).
    log_partition : Φ on the grid: array (grid.shape or grid.size), DataArray over the grid
        dims, a callable t ↦ Φ(t), or an object with ``value(points)`` (a Potential).
    n : samples per bundle.
    average : if True (default) average the bundle posteriors per origin (one row per origin,
        effective temperature β/2); if False keep one row per bundle (origins repeat,
        effective temperature β — biased, for comparison).
    temperature : β of :func:`exact_likelihood_posterior` (default n).
    seed : shuffles the samples of each origin before cutting bundles (optional).

    Returns
    -------
    xr.DataArray (origin, cell), see :mod:`statgeo.geometry.posterior`.
    """
    check_grid(grid)
    n = check_int("n", n, min=1)
    if isinstance(statistics, xr.DataArray):
        if "sample" not in statistics.dims or not set(grid.names) <= set(statistics.dims):
            raise ValueError(f"statistics DataArray must have dims {grid.names} + ('sample', <statistic>), "
                             f"got {statistics.dims}")
        rest = [d for d in statistics.dims if d not in grid.names and d != "sample"]
        if len(rest) != 1:
            raise ValueError(f"statistics must have exactly one statistic dim besides the grid dims and "
                             f"'sample', got {rest}")
        st = statistics.transpose(*grid.names, "sample", rest[0]).values.reshape(grid.size, statistics.sizes["sample"], -1)
    else:
        st = np.asarray(statistics)
    if st.ndim != 3 or st.shape[0] != grid.size or st.shape[2] != grid.ndim:
        raise ValueError(f"statistics must have shape ({grid.size}, samples, {grid.ndim}), got {st.shape}")
    if not np.isfinite(st).all():
        raise ValueError("statistics must be finite (no NaN or inf)")
    phi = _phi_on_grid(log_partition, grid)
    sums = bundle_sums(st, n, seed=seed)  # (O, B, d)
    t = grid.natural_points()
    p = exact_likelihood_posterior(sums.astype(np.float64), n, phi, t, temperature=temperature)
    beta = float(n) if temperature is None else float(temperature)
    O, B = sums.shape[:2]
    if average:
        return posterior_dataarray(average_per_origin(p), grid, np.arange(O), estimator="exact_likelihood",
                                   n_per_bundle=n, effective_temperature=beta / 2.0,
                                   attrs={"bundles_per_origin": int(B), "averaged": 1,
                                          "temperature_derivation": "Gaussian approximation: bundle average "
                                                                    "∝ exp(-(beta/2) D)"})
    return posterior_dataarray(p.reshape(O * B, -1), grid, np.repeat(np.arange(O), B),
                               estimator="exact_likelihood", n_per_bundle=n, effective_temperature=beta,
                               attrs={"bundles_per_origin": int(B), "averaged": 0,
                                      "temperature_derivation": "single bundle: exp(-beta D) centred at "
                                                                "the bundle's estimate (biased)"})
