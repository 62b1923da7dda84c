"""Exact-likelihood posteriors on a grid, bundles, and the finite-bundle treatment.

For an exponential family p(x | t) = exp(⟨t, f(x)⟩ − Φ(t)) and a bundle x_1..x_n,

    p(t | x_1..x_n) ∝ exp(⟨t, Σ_k f(x_k)⟩ − n Φ(t))          (uniform prior on the grid cells)

(Lobashev et al. 2025, Sec. 3). One bundle's posterior is centred at that bundle's
own estimate, which scatters around the true origin t' by about the posterior's own width.
In the Gaussian approximation (D(t, t') ≈ ½ (t − t')ᵀ g (t − t')) the bundle posterior is
N(t̂, (n g)⁻¹) with t̂ ~ N(t', (n g)⁻¹), so the *average over bundles at one origin* is
N(t', 2 (n g)⁻¹) ∝ exp(−(n/2) D(t, t')): the effective temperature of bundle-averaged exact
posteriors is n/2 (docs/geometry_fitting.md, "Effective temperatures"). Single bundles have temperature n
but are centred at t̂, not t'.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import xarray as xr
from array_api_compat import array_namespace, is_array_api_obj

from statgeo.checks import check_allocation, check_bool, check_int, check_real
from statgeo.seeding import as_seed_sequence
from statgeo.geometry.posterior import check_grid, check_origins, posterior_dataarray
from statgeo.grid import ParameterGrid

__all__ = ["exact_likelihood_posterior", "exact_posterior", "cut_bundles", "bundle_sums", "average_per_origin"]

log = logging.getLogger(__name__)


def _as_input(name: str, x: Any) -> Any:
    """Arrays keep their namespace; lists, tuples and scalars become NumPy float64."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a real array, got {x!r}")
    if is_array_api_obj(x):
        if isinstance(x, np.ndarray) and x.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a real array, got dtype {x.dtype}")
        return x
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real array (or a list of real numbers)") from exc


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
    (Lobashev et al. 2025, Sec. 3; docs/geometry_fitting.md, "Effective temperatures").

    Parameters
    ----------
    stat_sums : array_like
        Σ_k f(x_k) of each bundle, shape (..., d) (any array-API namespace; lists become NumPy).
    n : int
        Samples per bundle, ≥ 1.
    log_partition_on_grid : array_like
        Φ(t_c) at the C grid cells, shape (C,).
    grid_natural_points : array_like
        The cells' natural coordinates t_c, shape (C, d), C ≥ 2, real floating point.
    temperature : float, optional
        β > 0 replacing n in the formula above (a tempered posterior, as if β samples with the
        same mean statistic had been seen). ``None``: β = n (exact).

    Returns
    -------
    array
        Shape (..., C) in the caller's namespace and device, rows summing to 1.

    Raises
    ------
    TypeError
        Non-numeric inputs, a non-integer ``n``, or non-floating ``grid_natural_points``.
    ValueError
        Mismatched shapes, NaN/inf, ``n`` < 1, ``temperature`` ≤ 0, fewer than 2 cells, or a
        result that would not fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([[0.0], [1.0]])                 # Poisson, t = log λ at two cells
    >>> p = exact_likelihood_posterior([[3.0]], 3, np.exp(t[:, 0]), t)
    >>> np.round(p, 4)
    array([[0.8961, 0.1039]])
    """
    stat_sums = _as_input("stat_sums", stat_sums)
    log_partition_on_grid = _as_input("log_partition_on_grid", log_partition_on_grid)
    grid_natural_points = _as_input("grid_natural_points", grid_natural_points)
    try:
        xp = array_namespace(stat_sums, log_partition_on_grid, grid_natural_points)
    except TypeError as exc:
        raise TypeError("stat_sums, log_partition_on_grid and grid_natural_points must be arrays of one "
                        f"namespace ({exc})") from exc
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
    for name, arr in (("stat_sums", stat_sums), ("log_partition_on_grid", phi)):
        if not xp.isdtype(arr.dtype, ("real floating", "integral")):
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    check_allocation("the posteriors (bundles, cells)", (int(np.prod(tuple(stat_sums.shape[:-1]))), C),
                     names="stat_sums and grid_natural_points")
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

    With a ``seed`` the samples of each origin are shuffled first (use it when consecutive
    samples are correlated, e.g. a Markov chain); ``S mod n`` leftover samples are dropped
    (logged at INFO level).

    Parameters
    ----------
    samples : array_like
        Shape (O, S, ...) (origin, sample, ...), numeric.
    n : int
        Bundle size, in [1, S].
    seed : int or numpy.random.SeedSequence, optional
        Shuffles the samples of each origin before cutting (default: no shuffling).

    Returns
    -------
    numpy.ndarray
        Shape (O, S // n, n, ...).

    Raises
    ------
    TypeError
        ``samples`` is not numeric, ``n`` is not an integer, ``seed`` is not a seed.
    ValueError
        Fewer than 2 dimensions, empty, or ``n`` outside [1, S].

    Examples
    --------
    >>> import numpy as np
    >>> cut_bundles(np.arange(12.0).reshape(2, 6), 3).shape
    (2, 2, 3)
    """
    x = _numeric_array("samples", samples)
    n = check_int("n", n, min=1)
    if seed is not None:
        seed = as_seed_sequence(seed)
    if x.ndim < 2:
        raise ValueError(f"samples must have shape (origin, sample, ...), got {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"samples must hold at least one origin, got shape {x.shape}")
    S = x.shape[1]
    if S < n:
        raise ValueError(f"n (bundle size) must be in [1, {S}] (samples per origin), got {n}")
    if seed is not None:
        rng = np.random.default_rng(seed)
        perm = rng.permuted(np.broadcast_to(np.arange(S), x.shape[:2]), axis=1)
        x = np.take_along_axis(x, perm.reshape(perm.shape + (1,) * (x.ndim - 2)), axis=1)
    B = S // n
    if S % n:
        log.info("cut_bundles: dropping %d of %d samples per origin (not a multiple of n=%d)", S % n, S, n)
    return x[:, : B * n].reshape((x.shape[0], B, n) + x.shape[2:])


def _numeric_array(name: str, x: Any) -> np.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a numeric array, got {x!r}")
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array") from exc
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    return a


def bundle_sums(statistics: np.ndarray, n: int, *, seed: int | np.random.SeedSequence | None = None) -> np.ndarray:
    """Σ_k f(x_k) per bundle of ``n`` samples.

    Parameters
    ----------
    statistics : array_like
        Sufficient statistics per sample, shape (O, S, d), finite.
    n : int
        Bundle size, in [1, S].
    seed : int or numpy.random.SeedSequence, optional
        Shuffles the samples of each origin first (see :func:`cut_bundles`).

    Returns
    -------
    numpy.ndarray
        Shape (O, S // n, d).

    Raises
    ------
    TypeError
        ``statistics`` is not numeric, ``n`` is not an integer, ``seed`` is not a seed.
    ValueError
        Wrong shape, NaN/inf, or ``n`` outside [1, S].

    Examples
    --------
    >>> import numpy as np
    >>> bundle_sums(np.ones((2, 4, 1)), 2)[..., 0]
    array([[2., 2.],
           [2., 2.]])
    """
    st = _numeric_array("statistics", statistics)
    if st.ndim != 3:
        raise ValueError(f"statistics must have shape (origin, sample, statistic), got {st.shape}")
    if st.dtype.kind == "f" and not np.isfinite(st).all():
        raise ValueError("statistics must be finite (no NaN or inf)")
    return cut_bundles(st, n, seed=seed).sum(axis=2)


def average_per_origin(bundle_posteriors: Any, *, axis: int = -2) -> Any:
    """Average bundle posteriors per origin: (O, B, C) → (O, C), the mean over the bundle axis.

    This is the finite-bundle treatment: in the Gaussian approximation the average of
    single-bundle posteriors ∝ exp(−n D(t, t̂)) over bundle estimates t̂ scattered around t'
    is ≈ exp(−(n/2) D(t, t')) (module docstring; docs/geometry_fitting.md, "Effective
    temperatures").

    Parameters
    ----------
    bundle_posteriors : array_like
        Shape (..., B, C) (any array-API namespace; lists become NumPy), finite.
    axis : int, default -2
        The bundle axis (not the last, cell, axis).

    Returns
    -------
    array
        The mean over ``axis``, in the namespace of the input.

    Raises
    ------
    TypeError
        ``bundle_posteriors`` is not a real array or ``axis`` is not an integer.
    ValueError
        Fewer than 2 dimensions, ``axis`` out of range or the cell axis, or NaN/inf.

    Examples
    --------
    >>> average_per_origin([[[1.0, 0.0], [0.0, 1.0]]])
    array([[0.5, 0.5]])
    """
    bundle_posteriors = _as_input("bundle_posteriors", bundle_posteriors)
    xp = array_namespace(bundle_posteriors)
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    nd = bundle_posteriors.ndim
    if nd < 2:
        raise ValueError(f"bundle_posteriors must have a bundle axis and a cell axis, got shape "
                         f"{tuple(bundle_posteriors.shape)}")
    if not (-nd <= int(axis) < nd) or int(axis) % nd == nd - 1:
        raise ValueError(f"axis must index a bundle axis in [{-nd}, {nd - 2}] (not the last, cell, axis), got {axis}")
    if not bool(xp.all(xp.isfinite(bundle_posteriors))):
        raise ValueError("bundle_posteriors must be finite (no NaN or inf)")
    return xp.mean(bundle_posteriors, axis=axis)


def _phi_on_grid(log_partition: Any, grid: ParameterGrid) -> np.ndarray:
    if isinstance(log_partition, (str, bytes)) or log_partition is None:
        raise TypeError("log_partition must be an array, a DataArray, a callable or a Potential, "
                        f"got {log_partition!r}")
    if callable(log_partition) and not isinstance(log_partition, (np.ndarray, xr.DataArray)):
        phi = log_partition(grid.natural_points())
    elif hasattr(log_partition, "value") and not isinstance(log_partition, (np.ndarray, xr.DataArray)):
        phi = log_partition.value(grid.natural_points())
    elif isinstance(log_partition, xr.DataArray):
        phi = log_partition.transpose(*grid.names).values if set(grid.names) <= set(log_partition.dims) \
            else log_partition.values
    else:
        phi = log_partition
    try:
        phi = np.asarray(phi, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise TypeError("log_partition must give real values on the grid") from exc
    if phi.shape != (grid.size,):
        raise ValueError(f"log_partition must give one value per grid point ({grid.size}), got {phi.size}")
    if not np.isfinite(phi).all():
        raise ValueError("log_partition must be finite on the grid (no NaN or inf)")
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
    origins: Any = None,
) -> xr.DataArray:
    """Labelled exact-likelihood posteriors of bundles of ``n`` samples drawn at every grid point.

    For an exponential family p(x | t) = exp(⟨t, f(x)⟩ − Φ(t)) h(x) and a bundle x_1..x_n the
    posterior under a uniform prior on the cells is
    p(t | x_1..x_n) ∝ exp(⟨t, Σ_k f(x_k)⟩ − n Φ(t)) (:func:`exact_likelihood_posterior`;
    Lobashev et al. 2025, Sec. 3). Averaged over the bundles of one origin it is
    ≈ exp(−(n/2) D_Φ(t, t')) (effective temperature n/2; docs/geometry_fitting.md,
    "Effective temperatures").

    Parameters
    ----------
    statistics : array_like or xarray.DataArray
        Sufficient statistics f(x) per sample, shape (grid.size, S, d) (origins in flat C
        order), or a DataArray with the grid dims, a ``sample`` dim and a trailing statistic
        dim (ordered like the natural coordinates); finite.
    grid : ParameterGrid
        The parameter grid (≥ 2 points per axis); posteriors live on its natural points.
    log_partition : array_like, xarray.DataArray, callable or Potential
        Φ on the grid: an array (grid.shape or grid.size), a DataArray over the grid dims, a
        callable t ↦ Φ(t), or an object with ``value(points)``.
    n : int
        Samples per bundle, in [1, S].
    average : bool, default True
        Average the bundle posteriors per origin (one row per origin, effective temperature
        β/2); if False keep one row per bundle (origins repeat, effective temperature β —
        biased, for comparison).
    temperature : float, optional
        β > 0 of :func:`exact_likelihood_posterior` (default n).
    seed : int or numpy.random.SeedSequence, optional
        Shuffles the samples of each origin before cutting bundles.
    origins : array_like of int, optional
        Flat grid indices of the origins to make posteriors for (default: every grid point),
        e.g. ``grid.sublattice(1024)`` on a large grid. The bundles of an origin are the same
        as without ``origins`` (same ``seed``), so the rows are exactly those rows of the
        full result.

    Returns
    -------
    xarray.DataArray
        Dims (origin, cell), with the grid recorded in ``attrs["grid"]`` (see
        :mod:`statgeo.geometry.posterior`).

    Raises
    ------
    TypeError
        Arguments of the wrong type (``grid`` not a ParameterGrid, non-numeric statistics,
        non-integer ``n``, ``average`` not a bool).
    ValueError
        Wrong shapes, NaN/inf, ``n`` outside [1, S], ``temperature`` ≤ 0, empty origins or
        origins outside the grid, or posteriors that would not fit in memory (origins ×
        bundles × grid.size values).

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(t=(0.0, 1.0, 5))            # Poisson, t = log λ
    >>> rng = np.random.default_rng(0)
    >>> x = rng.poisson(np.exp(g.natural_points())[:, None, :], size=(5, 8, 1)).astype(float)
    >>> post = exact_posterior(x, g, np.exp(g.natural_points()[:, 0]), 4)
    >>> post.dims, post.shape, post.attrs["effective_temperature"]
    (('origin', 'cell'), (5, 5), 2.0)
    """
    check_grid(grid)
    n = check_int("n", n, min=1)
    check_bool("average", average)
    if temperature is not None:
        check_real("temperature", temperature, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False)
    if seed is not None:
        as_seed_sequence(seed)
    use = None if origins is None else check_origins(origins, grid)
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
        st = statistics
    st = _numeric_array("statistics", st)
    if st.ndim != 3 or st.shape[0] != grid.size or st.shape[2] != grid.ndim:
        raise ValueError(f"statistics must have shape ({grid.size}, samples, {grid.ndim}), got {st.shape}")
    if not np.isfinite(st).all():
        raise ValueError("statistics must be finite (no NaN or inf)")
    if st.shape[1] < n:
        raise ValueError(f"n (bundle size) must be in [1, {st.shape[1]}] (samples per origin), got {n}")
    n_origins = grid.size if use is None else use.size
    check_allocation("the bundle posteriors (origins × bundles, cells)",
                     (n_origins * (st.shape[1] // n), grid.size), names="grid, origins, n and the samples per origin")
    phi = _phi_on_grid(log_partition, grid)
    sums = bundle_sums(st, n, seed=seed)  # (grid.size, B, d): every origin's bundles, as without origins
    labels = np.arange(grid.size) if use is None else use
    sums = sums if use is None else sums[use]
    t = grid.natural_points()
    p = exact_likelihood_posterior(sums.astype(np.float64), n, phi, t, temperature=temperature)
    beta = float(n) if temperature is None else float(temperature)
    O, B = sums.shape[:2]
    if average:
        return posterior_dataarray(average_per_origin(p), grid, labels, estimator="exact_likelihood",
                                   n_per_bundle=n, effective_temperature=beta / 2.0,
                                   attrs={"bundles_per_origin": int(B), "averaged": 1,
                                          "temperature_derivation": "Gaussian approximation: bundle average "
                                                                    "∝ exp(-(beta/2) D)"})
    return posterior_dataarray(p.reshape(O * B, -1), grid, np.repeat(labels, B),
                               estimator="exact_likelihood", n_per_bundle=n, effective_temperature=beta,
                               attrs={"bundles_per_origin": int(B), "averaged": 0,
                                      "temperature_derivation": "single bundle: exp(-beta D) centred at "
                                                                "the bundle's estimate (biased)"})
