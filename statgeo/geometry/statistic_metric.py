"""Gaussian-statistic Fisher metric of a summary statistic s(x) over a parameter grid.

Given per-sample statistics s(x) ∈ R^k drawn at every point of a parameter grid, estimate

* μ(t) = E[s | t] and Σ(t) = Cov[s | t] per grid point (sample moments, optional shrinkage
  toward the diagonal and an optional ridge),
* the Jacobian J_μ(t) = ∂μ/∂t (k × d) over the grid in natural coordinates t, by finite
  differences on the grid (second-order centred inside, second-order one-sided at the edges,
  optionally after a light Gaussian smoothing of μ), mapped to natural coordinates with the
  chain rule ∂μ/∂t = ∂μ/∂p · (∂t/∂p)⁻¹ when the grid is in physical coordinates p,
* the Gaussian-statistic Fisher metric g_s(t) = J_μᵀ Σ⁻¹ J_μ (docs/baselines.md, "From a
  statistic to F, ∇F and g").

g_s is the Fisher information of the Gaussian approximation N(μ(t), Σ(t)) of the law of s
(Kay, *Fundamentals of Statistical Signal Processing*, Vol. I, §3.9, dropping the term from
∂Σ/∂t). For s = f, the sufficient statistic of an exponential family p ∝ exp(⟨f, t⟩ − Φ(t)),
J_μ = ∇²Φ = Cov(f) = Σ, hence g_s = Σ Σ⁻¹ Σ = ∇²Φ: the exact Fisher metric. For any other
statistic g_s ≤ g in the Loewner order (it is the information carried by the mean of s only).

Error bars: nonparametric bootstrap over samples, resampled independently at every grid point
(Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 6); the whole pipeline
(moments, smoothing, differences, inversion) is recomputed per replicate.

Computation is in NumPy (float64); inputs from other array namespaces are converted with
``numpy.asarray`` (host arrays only).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from statgeo.checks import check_allocation, check_bool, check_int, check_real
from statgeo.seeding import as_seed_sequence
from statgeo.grid import ParameterGrid
from statgeo.progress import progress_bar, progress_disabled

__all__ = [
    "StatisticMetric",
    "statistic_moments",
    "mean_jacobian",
    "gaussian_statistic_metric",
    "statistic_metric",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatisticMetric:
    """Result of :func:`statistic_metric`; arrays are over the grid shape ``G``.

    Parameters
    ----------
    mean : numpy.ndarray
        (*G, k) estimated μ(t) = E[s | t] (before smoothing).
    cov : numpy.ndarray
        (*G, k, k) estimated Σ(t) = Cov[s | t] (after shrinkage and ridge).
    jacobian : numpy.ndarray
        (*G, k, d) J_μ = ∂μ/∂t in natural coordinates.
    metric : numpy.ndarray
        (*G, d, d) g_s = J_μᵀ Σ⁻¹ J_μ in natural coordinates.
    metric_error : numpy.ndarray or None
        (*G, d, d) bootstrap standard error of ``metric`` (None if ``n_boot = 0``).
    n_samples : int
        Samples per grid point.
    settings : dict
        The estimator settings (shrinkage, ridge, smooth, smooth_cov, rcond, n_boot).
    """

    mean: np.ndarray
    cov: np.ndarray
    jacobian: np.ndarray
    metric: np.ndarray
    metric_error: np.ndarray | None
    n_samples: int
    settings: dict


def _check_stats(stats: object, grid: ParameterGrid | None, *, regularised: bool) -> np.ndarray:
    if isinstance(stats, (str, bytes)) or stats is None:
        raise TypeError(f"stats must be a real array of shape (*grid_shape, n_samples, k), got {stats!r}")
    try:
        s = np.asarray(stats)
    except (TypeError, ValueError) as exc:
        raise TypeError("stats must be a real array of shape (*grid_shape, n_samples, k)") from exc
    if s.dtype.kind not in "biuf":
        raise TypeError(f"stats must be a real array, got dtype {s.dtype}")
    s = s.astype(np.float64)
    if grid is not None:
        gs = grid.shape
        if s.ndim != len(gs) + 2 or s.shape[: len(gs)] != gs:
            raise ValueError(
                f"stats must have shape (*grid_shape, n_samples, k) = ({', '.join(map(str, gs))}, n, k), "
                f"got {s.shape}"
            )
    elif s.ndim < 2:
        raise ValueError(f"stats must have shape (..., n_samples, k), got {s.shape}")
    n, k = s.shape[-2], s.shape[-1]
    if k < 1:
        raise ValueError(f"stats must have k >= 1 statistics in its last axis, got shape {s.shape}")
    if n < 2:
        raise ValueError(f"stats must hold n_samples >= 2 samples per grid point (axis -2), got {n}")
    if not regularised and n <= k:
        raise ValueError(
            f"stats has k = {k} statistics but only n_samples = {n} per grid point: the sample covariance "
            f"is singular (rank <= n - 1 < k). Use n_samples >= k + 1, or pass shrinkage > 0 or ridge > 0"
        )
    if not np.isfinite(s).all():
        raise ValueError("stats must be finite (no NaN or inf)")
    check_allocation("the per-point covariances (..., k, k)", s.shape[:-2] + (k, k), names="stats")
    return s


def statistic_moments(
    stats: np.ndarray,
    *,
    shrinkage: float = 0.0,
    ridge: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-point mean and regularised covariance of a statistic.

    μ = (1/n) Σ_a s_a and S = (1/(n−1)) Σ_a (s_a − μ)(s_a − μ)ᵀ over the sample axis (−2), then

        Σ = (1 − λ) S + λ diag(S) + ε I,    ε = ridge · ⟨tr S / k⟩_grid,

    i.e. linear shrinkage toward the diagonal target with intensity λ = ``shrinkage``
    (Schäfer & Strimmer, Stat. Appl. Genet. Mol. Biol. 4, 32 (2005), target "D") and a ridge
    relative to the grid-averaged variance, so that ``ridge`` is dimensionless.

    Parameters
    ----------
    stats : array_like
        Shape (..., n, k), real and finite, n ≥ 2 (n ≥ k + 1 unless regularised).
    shrinkage : float, default 0.0
        λ in [0, 1].
    ridge : float, default 0.0
        Relative ridge ε ≥ 0.

    Returns
    -------
    mean : numpy.ndarray
        Shape (..., k).
    cov : numpy.ndarray
        Shape (..., k, k).

    Raises
    ------
    TypeError
        ``stats`` is not a real array.
    ValueError
        Wrong shape, too few samples for an unregularised covariance, NaN/inf, or
        ``shrinkage``/``ridge`` out of range.

    Examples
    --------
    >>> import numpy as np
    >>> mu, cov = statistic_moments(np.array([[0.0], [2.0], [4.0]]))
    >>> float(mu[0]), float(cov[0, 0])
    (2.0, 4.0)
    """
    lam = float(check_real("shrinkage", shrinkage, low=0.0, high=1.0))
    rid = float(check_real("ridge", ridge, low=0.0, high=np.inf, high_inclusive=False))
    s = _check_stats(stats, None, regularised=(lam > 0 or rid > 0))
    n, k = s.shape[-2], s.shape[-1]
    mu = s.mean(axis=-2)
    c = s - mu[..., None, :]
    S = np.einsum("...na,...nb->...ab", c, c) / (n - 1)
    if lam > 0:
        diag = np.einsum("...aa->...a", S)
        S = (1.0 - lam) * S + lam * (diag[..., :, None] * np.eye(k))
    if rid > 0:
        scale = float(np.mean(np.einsum("...aa->...", S))) / k
        if scale <= 0:
            scale = 1.0
        S = S + rid * scale * np.eye(k)
    return mu, S


def _smooth(mu: np.ndarray, sigma: float, ngrid: int) -> np.ndarray:
    if sigma <= 0:
        return mu
    from scipy.ndimage import gaussian_filter

    sig = (sigma,) * ngrid + (0.0,) * (mu.ndim - ngrid)
    return gaussian_filter(mu, sigma=sig, mode="nearest", truncate=3.0)


def _map_inverse(grid: ParameterGrid) -> np.ndarray:
    """(∂t/∂p)⁻¹ at every grid point, shape (*G, d, d)."""
    Jmap = grid.jacobian().reshape(grid.shape + (grid.ndim, grid.ndim))
    det = np.linalg.det(Jmap)
    if not np.all(np.isfinite(det)) or np.any(det == 0):
        raise ValueError("grid.coordinate_map has a singular or non-finite Jacobian on the grid")
    return np.linalg.inv(Jmap)


def mean_jacobian(mean: np.ndarray, grid: ParameterGrid, *, smooth: float = 0.0) -> np.ndarray:
    """Jacobian ∂μ/∂t of a field μ on the grid, in natural coordinates.

    Finite differences along every grid axis p_j with ``numpy.gradient`` (second-order centred
    differences inside, second-order one-sided differences at the edges; first order on an axis
    of two points; non-uniform spacing supported), then the chain rule
    ∂μ_a/∂t_i = Σ_j ∂μ_a/∂p_j (∂t/∂p)⁻¹_{ji}; where each natural coordinate varies along one grid
    axis only (:meth:`statgeo.grid.ParameterGrid.natural_product`) the differences are taken in t
    directly, which is more accurate for a curved map. With ``smooth = σ > 0`` μ is first convolved with a
    Gaussian of σ grid cells per axis (edges: nearest-value padding), trading an O(σ²h²∂³μ)
    bias for a variance reduced by about (2√π σ)^d.

    Parameters
    ----------
    mean : array_like
        Values of μ at the grid points, shape (*G, k), finite.
    grid : ParameterGrid
        The grid (every axis ≥ 2 points).
    smooth : float, default 0.0
        Gaussian smoothing width in grid cells (≥ 0; 0 = none).

    Returns
    -------
    numpy.ndarray
        Shape (*G, k, d): J[..., a, i] = ∂μ_a/∂t_i.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid or ``mean`` is not a real array.
    ValueError
        Wrong shape, NaN/inf, an axis of one point, ``smooth`` < 0, or a coordinate map with a
        singular Jacobian on the grid.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(t=(0.0, 1.0, 5))
    >>> J = mean_jacobian(3.0 * g.natural_points(), g)
    >>> np.round(J[:, 0, 0], 6)
    array([3., 3., 3., 3., 3.])
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a ParameterGrid, got {type(grid).__name__}")
    sm = float(check_real("smooth", smooth, low=0.0, high=np.inf, high_inclusive=False))
    if isinstance(mean, (str, bytes)) or mean is None:
        raise TypeError(f"mean must be a real array, got {mean!r}")
    try:
        mu = np.asarray(mean, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError("mean must be a real array of shape (*grid_shape, k)") from exc
    if mu.ndim != grid.ndim + 1 or mu.shape[:-1] != grid.shape or mu.shape[-1] == 0:
        raise ValueError(f"mean must have shape (*grid_shape, k) = {grid.shape + ('k',)}, got {mu.shape}")
    if not np.isfinite(mu).all():
        raise ValueError("mean must be finite (no NaN or inf)")
    small = [a.name for a in grid.axes if a.size < 2]
    if small:
        raise ValueError(f"every grid axis needs at least 2 points for finite differences; axes {small} have 1")
    mu = _smooth(mu, sm, grid.ndim)
    product = grid.natural_product()
    if product is not None:  # differences in t itself (ParameterGrid.natural_product); flips are self-inverse
        natural, flips = product
        return mean_jacobian(mu[flips], natural)[flips]
    dmu_dp = np.stack(
        [
            np.gradient(mu, a.values, axis=j, edge_order=2 if a.size >= 3 else 1)
            for j, a in enumerate(grid.axes)
        ],
        axis=-1,
    )  # (*G, k, d): ∂μ_a/∂p_j
    return np.einsum("...aj,...ji->...ai", dmu_dp, _map_inverse(grid))


def gaussian_statistic_metric(jacobian: np.ndarray, cov: np.ndarray, *, rcond: float = 1e-12) -> np.ndarray:
    """g_s = J_μᵀ Σ⁺ J_μ, the Fisher information of N(μ(t), Σ) with Σ held fixed.

    Σ⁺ is the pseudo-inverse from the eigen-decomposition Σ = V Λ Vᵀ with eigenvalues below
    ``rcond`` · λ_max (per point) dropped, so a statistic that is constant at some grid point
    (e.g. a fully ordered Ising sample) contributes no information there instead of infinity
    (Kay 1993, §3.9).

    Parameters
    ----------
    jacobian : array_like
        J_μ, shape (..., k, d), finite.
    cov : array_like
        Σ, shape (..., k, k), symmetric positive semi-definite, finite.
    rcond : float, default 1e-12
        Relative eigenvalue cut-off in [0, 1).

    Returns
    -------
    numpy.ndarray
        Shape (..., d, d), symmetric positive semi-definite.

    Raises
    ------
    TypeError
        A non-real array.
    ValueError
        Mismatched shapes, NaN/inf, or ``rcond`` outside [0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> gaussian_statistic_metric(np.array([[2.0]]), np.array([[4.0]]))
    array([[1.]])
    """
    rc = float(check_real("rcond", rcond, low=0.0, high=1.0, high_inclusive=False))
    J = np.asarray(check_real("jacobian", jacobian), dtype=np.float64)
    S = np.asarray(check_real("cov", cov), dtype=np.float64)
    if J.ndim < 2 or S.ndim < 2 or S.shape[-1] != S.shape[-2] or S.shape[-1] != J.shape[-2]:
        raise ValueError(f"jacobian (..., k, d) and cov (..., k, k) shapes do not match: {J.shape}, {S.shape}")
    try:
        np.broadcast_shapes(J.shape[:-2], S.shape[:-2])
    except ValueError as exc:
        raise ValueError(f"jacobian {J.shape} and cov {S.shape} batch shapes must broadcast") from exc
    lam, V = np.linalg.eigh(0.5 * (S + np.swapaxes(S, -1, -2)))
    lmax = lam[..., -1:]
    keep = lam > rc * np.maximum(lmax, np.finfo(float).tiny)
    inv = np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)
    P = np.einsum("...ka,...kd->...ad", V, J)  # Vᵀ J
    g = np.einsum("...ai,...a,...aj->...ij", P, inv, P)
    return 0.5 * (g + np.swapaxes(g, -1, -2))


def _pipeline(s: np.ndarray, grid: ParameterGrid, lam: float, rid: float, sm: float, rc: float, smc: bool):
    mu, S = statistic_moments(s, shrinkage=lam, ridge=rid)
    if smc:
        S = _smooth(S, sm, grid.ndim)
    J = mean_jacobian(mu, grid, smooth=sm)
    g = gaussian_statistic_metric(J, S, rcond=rc)
    return mu, S, J, g


#: largest ``n_boot`` of :func:`statistic_metric`
MAX_BOOTSTRAP = 100_000


def statistic_metric(
    stats: np.ndarray,
    grid: ParameterGrid,
    *,
    shrinkage: float = 0.0,
    ridge: float = 0.0,
    smooth: float = 0.0,
    smooth_cov: bool = False,
    rcond: float = 1e-12,
    n_boot: int = 0,
    seed: int | np.random.SeedSequence = 0,
    progress: bool | None = None,
) -> StatisticMetric:
    """Gaussian-statistic Fisher metric g_s = J_μᵀ Σ⁻¹ J_μ of a statistic sampled over a grid.

    The Fisher information of the Gaussian approximation N(μ(t), Σ(t)) of the statistic's law
    with Σ held fixed (Kay 1993, §3.9; module docstring; docs/baselines.md, "From a statistic to
    F, ∇F and g").

    Parameters
    ----------
    stats : array_like
        Per-sample statistics s(x) at every grid point, shape (*grid.shape, n_samples, k),
        real and finite (i.i.d. samples per point assumed by the bootstrap).
    grid : ParameterGrid
        The grid (every axis ≥ 2 points); its coordinate map gives the natural coordinates in
        which the metric is returned.
    shrinkage : float, default 0.0
        Covariance shrinkage λ in [0, 1] (:func:`statistic_moments`). Needed (or ``ridge``)
        when n_samples ≤ k.
    ridge : float, default 0.0
        Relative ridge ε ≥ 0 (:func:`statistic_moments`).
    smooth : float, default 0.0
        Gaussian smoothing of μ in grid cells (≥ 0) before differencing (:func:`mean_jacobian`).
    smooth_cov : bool, default False
        Also smooth Σ over the grid with the same kernel (after shrinkage and ridge). A convex
        combination of PSD matrices stays PSD; it removes the spurious zero variances of a
        discrete statistic at points where all n samples happen to agree (which would otherwise
        make g_s = J_μᵀ Σ⁻¹ J_μ explode).
    rcond : float, default 1e-12
        Pseudo-inverse cut-off in [0, 1) (:func:`gaussian_statistic_metric`).
    n_boot : int, default 0
        Bootstrap replicates for ``metric_error``, in [0, ``MAX_BOOTSTRAP`` = 10⁵] (0 = no
        error bars).
    seed : int or numpy.random.SeedSequence, default 0
        Seed of the bootstrap resampling.
    progress : bool or None, default None
        Progress bar over the bootstrap replicates: None shows it on a terminal only, False
        never, True always; ``TQDM_DISABLE=1`` in the environment hides it
        (docs/conventions.md).

    Returns
    -------
    StatisticMetric
        μ, Σ, J_μ, g_s and (optionally) the bootstrap error of g_s.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid, ``stats`` is not real, a flag is not a bool, or
        ``n_boot``/``seed`` have the wrong type.
    ValueError
        Wrong shape, NaN/inf, too few samples, an axis of one point, or settings out of range.

    Notes
    -----
    For s = f, the sufficient statistic of an exponential family in t, J_μ = Σ = ∇²Φ and g_s is
    the exact Fisher metric (docs/baselines.md); the estimation error is then O(h²) from the
    differences plus O(1/(h√n)) from the noise of μ̂ (h the grid step).

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(t=(-2.0, 2.0, 5))           # Gaussian mean family, s = x
    >>> x = np.random.default_rng(0).normal(g.natural_points()[:, None, :], 1.0, size=(5, 1000, 1))
    >>> sm = statistic_metric(x, g)
    >>> sm.metric.shape, bool(np.all(np.abs(sm.metric - 1.0) < 0.3))  # exact metric: 1
    ((5, 1, 1), True)
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a ParameterGrid, got {type(grid).__name__}")
    lam = float(check_real("shrinkage", shrinkage, low=0.0, high=1.0))
    rid = float(check_real("ridge", ridge, low=0.0, high=np.inf, high_inclusive=False))
    sm = float(check_real("smooth", smooth, low=0.0, high=np.inf, high_inclusive=False))
    rc = float(check_real("rcond", rcond, low=0.0, high=1.0, high_inclusive=False))
    nb = check_int("n_boot", n_boot, min=0, max=MAX_BOOTSTRAP)
    check_bool("smooth_cov", smooth_cov)
    progress_disabled(progress)
    ss = as_seed_sequence(seed)
    small = [a.name for a in grid.axes if a.size < 2]
    if small:
        raise ValueError(f"every grid axis needs at least 2 points for finite differences; axes {small} have 1")
    s = _check_stats(stats, grid, regularised=(lam > 0 or rid > 0))
    mu, S, J, g = _pipeline(s, grid, lam, rid, sm, rc, bool(smooth_cov))
    err = None
    if nb > 0:
        rng = np.random.default_rng(ss)
        n = s.shape[-2]
        acc = np.zeros_like(g)
        acc2 = np.zeros_like(g)
        for _ in progress_bar(range(nb), progress=progress, desc="bootstrap g_s"):
            idx = rng.integers(0, n, size=s.shape[:-1])
            sb = np.take_along_axis(s, idx[..., None], axis=-2)
            gb = _pipeline(sb, grid, lam, rid, sm, rc, bool(smooth_cov))[3]
            acc += gb
            acc2 += gb * gb
        var = (acc2 - acc * acc / nb) / max(nb - 1, 1)
        err = np.sqrt(np.maximum(var, 0.0))
    log.debug("statistic_metric: grid %s, n=%d, k=%d, n_boot=%d", grid.shape, s.shape[-2], s.shape[-1], nb)
    settings = {"shrinkage": lam, "ridge": rid, "smooth": sm, "smooth_cov": bool(smooth_cov), "rcond": rc,
                "n_boot": nb}
    return StatisticMetric(mu, S, J, g, err, int(s.shape[-2]), settings)
