"""Feature-kernel posteriors (the paper's choice for images) and width-based temperatures.

The posterior of a sample x' (drawn at origin t') puts weight w(‖φ(x) − φ(x')‖) on the grid
location of every other sample x, splatted multilinearly (bilinearly in 2-D) onto the grid
cells, and is normalised (Lobashev et al. 2025, Sec. 3):

    p(t_c | x') ∝ Σ_{x ≠ x'} w(‖φ(x) − φ(x')‖) S(loc(x), c)

Kernels: ``"gauss"`` w(d) = exp(−(τ/2) d²) (motivated by the paper's text, with τ = N for N
samples) and ``"exp"`` w(d) = exp(−τ d) (the paper's code, τ = 10). The rows are averaged
per origin.

Effective temperature (docs/geometry_fitting.md, "Effective temperatures"): for locally linear-Gaussian
features φ ~ N(μ(t), C), μ(t) ≈ μ₀ + A t, and the Gaussian kernel of bandwidth h² = 1/τ,
E_{x~t}[w] ∝ exp(−½ (A t − φ')ᵀ (C + h²)⁻¹ (A t − φ')), and averaging over φ' ~ N(A t', C)
gives a posterior with precision P = Aᵀ (2C + h²)⁻¹ A, while the one-sample Fisher metric of
the features is g_s = Aᵀ C⁻¹ A. With isotropic C = c² I this is P = n_eff g_s with
n_eff = c² / (2c² + h²) (→ ½ as h → 0: the same factor ½ as the bundle average). In general
(and for the ``exp`` kernel) n_eff is *estimated from the widths*:
n_eff = tr(g_s⁻¹ Σ_post⁻¹) / d averaged over interior origins (:func:`width_effective_temperature`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import xarray as xr
from scipy import sparse

from statgeo.checks import check_allocation, check_bool, check_choice, check_int, check_real
from statgeo.seeding import as_seed_sequence
from statgeo.geometry.posterior import check_grid, posterior_dataarray, posterior_moments
from statgeo.grid import ParameterGrid

__all__ = ["feature_kernel_posterior", "select_kernel_temperature", "kernel_effective_temperature",
           "width_effective_temperature", "splat_matrix", "statistic_metric_on_grid"]

log = logging.getLogger(__name__)
KERNELS = ("gauss", "exp")


def splat_matrix(locations: np.ndarray, grid: ParameterGrid) -> sparse.csr_matrix:
    """Multilinear splatting weights S (M, C) of points in grid coordinates onto the grid cells.

    Each point's weight goes to the 2^d corners of its grid box, w = Π_k (1 − f_k or f_k)
    with f_k the fractional position along axis k (bilinear interpolation weights in 2-D).
    Each row sums to 1; points outside the box are clamped onto its faces.

    Parameters
    ----------
    locations : array_like
        Points in grid coordinates, shape (M, d), finite.
    grid : ParameterGrid
        The grid (≥ 2 points per axis).

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape (M, grid.size).

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid or ``locations`` is not a real array.
    ValueError
        Wrong shape or NaN/inf.

    Examples
    --------
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(a=(0.0, 1.0, 3))
    >>> splat_matrix([[0.25]], g).toarray()
    array([[0.5, 0.5, 0. ]])
    """
    check_grid(grid)
    loc = _real_array("locations", locations)
    if loc.ndim != 2 or loc.shape[1] != grid.ndim or loc.shape[0] == 0:
        raise ValueError(f"locations must have shape (M ≥ 1, {grid.ndim}), got {loc.shape}")
    if not np.isfinite(loc).all():
        raise ValueError("locations must be finite (no NaN or inf)")
    M, d = loc.shape
    idx_lo, frac = [], []
    for i, ax in enumerate(grid.axes):
        v = ax.values
        x = np.clip(loc[:, i], v[0], v[-1])
        j = np.clip(np.searchsorted(v, x, side="right") - 1, 0, v.size - 2)
        idx_lo.append(j)
        frac.append((x - v[j]) / (v[j + 1] - v[j]))
    rows, cols, vals = [], [], []
    for corner in range(2 ** d):
        bits = [(corner >> k) & 1 for k in range(d)]
        w = np.ones(M)
        multi = []
        for k in range(d):
            w = w * (frac[k] if bits[k] else 1.0 - frac[k])
            multi.append(idx_lo[k] + bits[k])
        rows.append(np.arange(M))
        cols.append(np.ravel_multi_index(tuple(multi), grid.shape))
        vals.append(w)
    S = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(M, grid.size))
    S.sum_duplicates()
    return S


def _real_array(name: str, x: Any) -> np.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a real array, got {x!r}")
    if isinstance(x, np.ndarray) and x.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real array, got dtype {x.dtype}")
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real array") from exc


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d2, 0.0)


def _logw(d2: np.ndarray, kernel: str, tau: float) -> np.ndarray:
    return -0.5 * tau * d2 if kernel == "gauss" else -tau * np.sqrt(d2)


def _validate(features: Any, locations: Any, grid: ParameterGrid) -> tuple[np.ndarray, np.ndarray]:
    check_grid(grid)
    f = _real_array("features", features)
    loc = _real_array("locations", locations)
    if f.ndim != 2 or f.shape[1] == 0:
        raise ValueError(f"features must have shape (samples, features ≥ 1), got {f.shape}")
    if loc.shape != (f.shape[0], grid.ndim):
        raise ValueError(f"locations must have shape ({f.shape[0]}, {grid.ndim}) to match features, got {loc.shape}")
    if f.shape[0] < 2:
        raise ValueError("features must hold at least 2 samples")
    if not np.isfinite(f).all():
        raise ValueError("features must be finite (no NaN or inf)")
    if not np.isfinite(loc).all():
        raise ValueError("locations must be finite (no NaN or inf)")
    return f, loc


def _queries(origin: np.ndarray, per_origin: int | None, rng: np.random.Generator) -> np.ndarray:
    if per_origin is None:
        return np.arange(origin.size)
    out = []
    for o in np.unique(origin):
        idx = np.flatnonzero(origin == o)
        out.append(rng.choice(idx, size=min(per_origin, idx.size), replace=False))
    return np.sort(np.concatenate(out))


def _kernel_rows(f, S, q_idx, kernel, taus, exclude_self, chunk_elems=2**23):
    """Yield (query slice, list over τ of normalised posteriors (chunk, C))."""
    M = f.shape[0]
    step = max(1, chunk_elems // M)
    for s in range(0, q_idx.size, step):
        qi = q_idx[s:s + step]
        d2 = _sqdist(f[qi], f)
        res = []
        for tau in taus:
            lw = _logw(d2, kernel, tau)
            if exclude_self:
                lw[np.arange(qi.size), qi] = -np.inf
            lw -= lw.max(axis=1, keepdims=True)
            w = np.exp(lw)
            p = np.asarray((S.T @ w.T).T)
            res.append(p / p.sum(axis=1, keepdims=True))
        yield qi, res


def select_kernel_temperature(
    features: Any, locations: Any, grid: ParameterGrid, *, kernel: str = "gauss",
    temperatures: Any = None, queries_per_origin: int | None = 4, seed: int | np.random.SeedSequence = 0,
    smoothing: str = "auto",
) -> tuple[float, xr.DataArray]:
    """Choose the kernel temperature τ by maximising the leave-one-out likelihood of the true cell.

    ℓ(τ) = mean over query samples x' of ln p̃_τ(c(x') | x'), where c(x') is the cell of x''s own
    grid location and x' itself is excluded from its posterior (so ℓ → −∞ as τ → ∞ whenever
    the nearest feature neighbour lies far from the true cell, and ℓ → ln(1/C) as τ → 0: the
    maximum is finite). Default τ grid: 2^k / median(d²) (gauss) or 2^k / median(d) (exp),
    k = −4..12.

    ``smoothing`` decides p̃: ``"none"`` — p̃ = p (the posterior mass of the true cell);
    ``"splat"`` — p̃ = B p with B the separable binomial filter [¼, ½, ¼] per axis (zero outside
    the box), i.e. the posterior evaluated with the splat of the query's own location displaced
    by ±½ cell along each axis. Needed when a query's cell holds no other sample (e.g. one
    sample per cell): the leave-one-out posterior then has exactly zero mass on the true cell
    for every τ and the unsmoothed ℓ is −∞ everywhere. ``"auto"`` — ``"splat"`` iff some
    query's cell receives no splat weight from the other samples, else ``"none"``
    (docs/geometry_fitting.md, "Feature-kernel defaults").

    Parameters
    ----------
    features : array_like
        Features φ(x) of M ≥ 2 samples, shape (M, F), finite.
    locations : array_like
        Grid coordinates each sample was drawn at, shape (M, d), finite.
    grid : ParameterGrid
        The parameter grid (≥ 2 points per axis).
    kernel : {"gauss", "exp"}, default "gauss"
        w(d) = exp(−(τ/2) d²) or exp(−τ d).
    temperatures : array_like, optional
        Candidate τ values (> 0, finite); default the grid above.
    queries_per_origin : int or None, default 4
        Query samples per origin (≥ 1; None: every sample).
    seed : int or numpy.random.SeedSequence, default 0
        Query subsampling and the subsample for the default τ grid.
    smoothing : {"auto", "none", "splat"}, default "auto"
        See above; the curve's attr ``smoothing`` records the choice.

    Returns
    -------
    tau : float
        The selected temperature.
    curve : xarray.DataArray
        ℓ over the candidate temperatures (dim ``temperature``).

    Raises
    ------
    TypeError
        Arguments of the wrong type.
    ValueError
        Mismatched shapes, NaN/inf, non-positive temperatures, ``queries_per_origin`` < 1, an
        unknown ``kernel`` or ``smoothing``.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(a=(0.0, 1.0, 5))
    >>> loc = np.repeat(g.points(), 4, axis=0)
    >>> feats = loc + 0.05 * np.random.default_rng(0).normal(size=loc.shape)
    >>> tau, curve = select_kernel_temperature(feats, loc, g)
    >>> bool(tau > 0), curve.dims
    (True, ('temperature',))
    """
    f, loc = _validate(features, locations, grid)
    check_choice("kernel", kernel, KERNELS)
    check_choice("smoothing", smoothing, ("auto", "none", "splat"))
    if queries_per_origin is not None:
        queries_per_origin = check_int("queries_per_origin", queries_per_origin, min=1)
    rng = np.random.default_rng(as_seed_sequence(seed))
    if temperatures is None:
        sub = f[rng.choice(f.shape[0], size=min(512, f.shape[0]), replace=False)]
        d2 = _sqdist(sub, sub)[np.triu_indices(sub.shape[0], 1)]
        scale = np.median(d2) if kernel == "gauss" else np.median(np.sqrt(d2))
        taus = 2.0 ** np.arange(-4, 13) / max(float(scale), 1e-300)
    else:
        taus = np.atleast_1d(check_real("temperatures", temperatures, low=0.0, low_inclusive=False, high=np.inf,
                                        high_inclusive=False))
        if taus.ndim != 1:
            raise ValueError(f"temperatures must be a 1-D sequence of values, got shape {taus.shape}")
    S = splat_matrix(loc, grid)
    cell = grid.index_of(loc)
    q_idx = _queries(cell, queries_per_origin, rng)
    if smoothing == "auto":
        own = np.asarray(S[q_idx, cell[q_idx]]).ravel()
        others = np.asarray(S.sum(axis=0)).ravel()[cell[q_idx]] - own
        smoothing = "splat" if bool((others <= 1e-12).any()) else "none"
        if smoothing == "splat":
            log.info("select_kernel_temperature: %d of %d query cells hold no other sample; scoring with "
                     "the binomial-smoothed posterior", int((others <= 1e-12).sum()), q_idx.size)
    ll = np.zeros(taus.size)
    with np.errstate(divide="ignore"):
        for qi, res in _kernel_rows(f, S, q_idx, kernel, taus, True):
            for k, p in enumerate(res):
                if smoothing == "splat":
                    p = _binomial_smooth(p, grid.shape)
                ll[k] += np.log(p[np.arange(qi.size), cell[qi]]).sum()
    ll /= q_idx.size
    ok = np.isfinite(ll)
    if not ok.any():
        log.warning("select_kernel_temperature: held-out log-likelihood is -inf for every temperature; "
                    "falling back to the smallest")
    best = float(taus[np.argmax(np.where(ok, ll, -np.inf))]) if ok.any() else float(taus[0])
    curve = xr.DataArray(ll, dims=("temperature",), coords={"temperature": taus},
                         attrs={"long_name": "held-out log-likelihood of the true cell", "units": "nat",
                                "smoothing": smoothing})
    return best, curve


def _binomial_smooth(p: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Rows of p (R, C) on the grid ``shape`` filtered by [¼, ½, ¼] along every axis (zero outside)."""
    from scipy.ndimage import correlate1d

    a = p.reshape((p.shape[0],) + tuple(shape))
    for ax in range(1, a.ndim):
        a = correlate1d(a, [0.25, 0.5, 0.25], axis=ax, mode="constant", cval=0.0)
    return a.reshape(p.shape)


def statistic_metric_on_grid(features: np.ndarray, locations: np.ndarray, grid: ParameterGrid, *,
                             ridge: float = 1e-6, window: int = 2) -> np.ndarray:
    """Gaussian-statistic Fisher metric of one sample's features, in natural coordinates.

    g_s(t) = J_μᵀ (C + εI)⁻¹ J_μ with μ(t), C(t) the per-grid-point feature mean and covariance
    (the Fisher information of N(μ(t), C) with C held fixed; Kay, *Fundamentals of Statistical
    Signal Processing* I, 1993, §3.9). To keep the estimate unbiased enough for a width
    comparison, J_μ = ∂μ/∂t is the slope of a local linear least-squares fit of μ over the
    (2·window+1)^d neighbouring grid points, and C is pooled over the same window;
    ε = ridge × mean feature variance.

    Parameters
    ----------
    features : array_like
        Features of M ≥ 2 samples, shape (M, F), finite.
    locations : array_like
        Grid coordinates of the samples, shape (M, d), finite (snapped to the nearest node).
    grid : ParameterGrid
        The grid (≥ 2 points per axis).
    ridge : float, default 1e-6
        Relative ridge ε ≥ 0.
    window : int, default 2
        Half-width of the fitting window in grid cells (≥ 0).

    Returns
    -------
    numpy.ndarray
        Shape (grid.size, d, d). Rows are NaN where the window holds fewer than d + 2 grid
        points with ≥ 2 samples each (no estimate there; :func:`width_effective_temperature`
        skips them).

    Raises
    ------
    TypeError
        Arguments of the wrong type.
    ValueError
        Mismatched shapes, NaN/inf, negative ``ridge`` or ``window``, no grid cell with ≥ 2
        samples, or per-cell covariances (grid.size, F, F) that would not fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(a=(0.0, 1.0, 6))
    >>> loc = np.repeat(g.points(), 8, axis=0)
    >>> feats = loc + 0.1 * np.random.default_rng(0).normal(size=loc.shape)
    >>> statistic_metric_on_grid(feats, loc, g).shape
    (6, 1, 1)
    """
    f, loc = _validate(features, locations, grid)
    ridge = float(check_real("ridge", ridge, low=0.0, high=np.inf, high_inclusive=False))
    window = check_int("window", window, min=0)
    F, d = f.shape[1], grid.ndim
    check_allocation("the per-cell feature covariances (cells, F, F)", (grid.size, F, F),
                     names="the grid and the number of features")
    cell = grid.index_of(loc)
    mu = np.full((grid.size, F), np.nan)
    cov = np.full((grid.size, F, F), np.nan)
    cnt = np.zeros(grid.size)
    for c in range(grid.size):
        x = f[cell == c]
        cnt[c] = x.shape[0]
        if x.shape[0] >= 2:
            mu[c] = x.mean(0)
            cov[c] = np.cov(x, rowvar=False).reshape(F, F)
    if not (cnt >= 2).any():
        raise ValueError("statistic_metric_on_grid needs at least 2 samples in some grid cell "
                         f"(got at most {int(cnt.max())})")
    eps = ridge * np.nanmean(np.einsum("cii->c", cov)) / F
    T = grid.natural_points()
    multi = np.array(np.unravel_index(np.arange(grid.size), grid.shape)).T
    g = np.full((grid.size, d, d), np.nan)
    for c in range(grid.size):
        nb = np.flatnonzero((np.abs(multi - multi[c]) <= window).all(1) & (cnt >= 2))
        if nb.size < d + 2:
            continue
        X = np.column_stack([np.ones(nb.size), T[nb] - T[c]])
        coef, *_ = np.linalg.lstsq(X, mu[nb], rcond=None)
        J = coef[1:].T  # (F, d)
        w = cnt[nb] - 1.0
        Cp = np.einsum("k,kfg->fg", w, cov[nb]) / w.sum()
        g[c] = J.T @ np.linalg.solve(Cp + eps * np.eye(F), J)
    return g


def width_effective_temperature(posterior: xr.DataArray, grid: ParameterGrid, metric: Any, *,
                                n_sigma: float = 3.0) -> float:
    """Estimate n_eff from posterior widths: posterior ≈ exp(−n_eff D) ⇒ Σ_post ≈ (n_eff g)⁻¹.

    n_eff = median over interior rows of tr(g(t')⁻¹ Σ_post(t')⁻¹) / d (Gaussian approximation
    D(t, t') ≈ ½ (t − t')ᵀ g (t − t'); docs/geometry_fitting.md, "Effective temperatures").
    Rows whose posterior mean ± ``n_sigma`` standard deviations leaves the box are excluded
    (truncation), as are rows whose reference metric is not finite.

    Parameters
    ----------
    posterior : xarray.DataArray
        A labelled posterior on ``grid`` (dims origin, cell).
    grid : ParameterGrid
        Its grid.
    metric : array_like
        The reference metric g at every grid point in natural coordinates, shape
        (grid.size, d, d) or grid.shape + (d, d); non-finite entries mark missing values.
    n_sigma : float, default 3.0
        Truncation margin in posterior standard deviations (> 0).

    Returns
    -------
    float
        The estimated n_eff.

    Raises
    ------
    TypeError
        Arguments of the wrong type.
    ValueError
        An invalid posterior or metric shape, ``n_sigma`` ≤ 0, no interior rows, or a singular
        metric or posterior covariance at an interior row.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> from statgeo.geometry import exact_posterior
    >>> g = ParameterGrid.from_ranges(t=(-1.0, 1.0, 41))           # Gaussian mean, unit variance
    >>> x = np.random.default_rng(0).normal(g.natural_points()[:, None, :], 1.0, size=(41, 64, 1))
    >>> post = exact_posterior(x, g, 0.5 * g.natural_points()[:, 0] ** 2, 16)
    >>> n_eff = width_effective_temperature(post, g, np.ones((41, 1, 1)), n_sigma=2.0)
    >>> bool(5.0 < n_eff < 12.0)                                    # ≈ n/2 = 8
    True
    """
    check_grid(grid)
    n_sigma = float(check_real("n_sigma", n_sigma, low=0.0, high=np.inf, low_inclusive=False,
                               high_inclusive=False))
    g = _real_array("metric", metric)
    if g.size != grid.size * grid.ndim * grid.ndim:
        raise ValueError(f"metric must have shape ({grid.size}, {grid.ndim}, {grid.ndim}) or "
                         f"{grid.shape + (grid.ndim, grid.ndim)}, got {g.shape}")
    g = g.reshape(grid.size, grid.ndim, grid.ndim)
    mu, cov = posterior_moments(posterior, grid)
    oi = np.asarray(posterior["origin"].values)
    T = grid.natural_points()
    lo, hi = T.min(0), T.max(0)
    sd = np.sqrt(np.einsum("rii->ri", cov))
    inner = ((mu - n_sigma * sd) >= lo).all(1) & ((mu + n_sigma * sd) <= hi).all(1)
    inner &= np.isfinite(g[oi]).all((1, 2))
    if not inner.any():
        raise ValueError("no interior posterior rows to estimate the effective temperature from "
                         "(posteriors too wide for the grid box)")
    try:
        ginv = np.linalg.inv(g[oi[inner]])
    except np.linalg.LinAlgError as exc:
        raise ValueError("metric is singular at an interior origin; the width-based n_eff needs g⁻¹") from exc
    try:
        cinv = np.linalg.inv(cov[inner])
    except np.linalg.LinAlgError as exc:
        raise ValueError("posterior has a singular covariance at an interior origin (posterior on one cell?)") from exc
    val = np.einsum("rij,rji->r", ginv, cinv) / grid.ndim
    return float(np.median(val))


def kernel_effective_temperature(kernel: str, temperature: float, feature_variance: float) -> float:
    """Closed-form n_eff of the Gaussian kernel for isotropic features: n_eff = c² / (2c² + 1/τ).

    Derivation in the module docstring (features φ ~ N(A t, c² I), kernel bandwidth h² = 1/τ).

    Parameters
    ----------
    kernel : {"gauss"}
        Only the Gaussian kernel has a closed form.
    temperature : float
        τ > 0.
    feature_variance : float
        c² > 0, the per-feature variance at fixed t.

    Returns
    -------
    float
        n_eff in (0, ½).

    Raises
    ------
    TypeError
        A non-real temperature or variance.
    ValueError
        Another kernel, or a non-positive or non-finite temperature or variance.

    Examples
    --------
    >>> kernel_effective_temperature("gauss", 1.0, 1.0)
    0.3333333333333333
    """
    check_choice("kernel", kernel, ("gauss",))
    tau = float(check_real("temperature", temperature, low=0.0, low_inclusive=False, high=np.inf,
                           high_inclusive=False))
    c2 = float(check_real("feature_variance", feature_variance, low=0.0, low_inclusive=False, high=np.inf,
                          high_inclusive=False))
    return c2 / (2.0 * c2 + 1.0 / tau)


def feature_kernel_posterior(
    features: Any,
    locations: Any,
    grid: ParameterGrid,
    kernel: str = "gauss",
    temperature: float | str = "auto",
    exclude_self: bool = True,
    *,
    queries_per_origin: int | None = None,
    effective_temperature: float | str = "width",
    seed: int | np.random.SeedSequence = 0,
) -> xr.DataArray:
    """Feature-kernel posterior of every (or a subset of) sample(s), averaged per origin.

    p(t_c | x') ∝ Σ_{x ≠ x'} w(‖φ(x) − φ(x')‖) S(loc(x), c), with S the multilinear splat of
    the sample locations onto the cells (:func:`splat_matrix`) and w the kernel (module
    docstring; Lobashev et al. 2025, Sec. 3).

    Parameters
    ----------
    features : array_like
        Features φ(x) of M ≥ 2 samples, shape (M, F), finite (e.g. CLIP embeddings, known
        statistics).
    locations : array_like
        Grid coordinates each sample was drawn at, shape (M, d), finite.
    grid : ParameterGrid
        The parameter grid (≥ 2 points per axis); recorded with the result.
    kernel : {"gauss", "exp"}, default "gauss"
        w = exp(−(τ/2) d²) or w = exp(−τ d) (the paper's code).
    temperature : float or "auto", default "auto"
        τ > 0, or :func:`select_kernel_temperature`.
    exclude_self : bool, default True
        Drop x' from its own posterior (otherwise τ → ∞ is a delta).
    queries_per_origin : int, optional
        Use at most this many query samples per origin (≥ 1; cost O(queries × M × F)).
    effective_temperature : float or "width", default "width"
        A number > 0, or estimated with :func:`width_effective_temperature` against the
        features' Gaussian-statistic metric :func:`statistic_metric_on_grid` (per-sample n = 1;
        falls back to ½ with a logged warning where that fails).
    seed : int or numpy.random.SeedSequence, default 0
        Query subsampling and temperature selection.

    Returns
    -------
    xarray.DataArray
        Dims (origin, cell) with attrs ``kernel``, ``temperature``, ``effective_temperature``
        and the grid.

    Raises
    ------
    TypeError
        Arguments of the wrong type.
    ValueError
        Mismatched shapes, NaN/inf, invalid ``kernel``/``temperature``/
        ``effective_temperature``, ``queries_per_origin`` < 1, or (cells × cells) sums that would
        not fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(a=(0.0, 1.0, 5))
    >>> loc = np.repeat(g.points(), 6, axis=0)
    >>> feats = loc + 0.1 * np.random.default_rng(0).normal(size=loc.shape)
    >>> post = feature_kernel_posterior(feats, loc, g, temperature=50.0, effective_temperature=0.5)
    >>> post.dims, post.shape
    (('origin', 'cell'), (5, 5))
    """
    f, loc = _validate(features, locations, grid)
    check_choice("kernel", kernel, KERNELS)
    check_bool("exclude_self", exclude_self)
    if queries_per_origin is not None:
        queries_per_origin = check_int("queries_per_origin", queries_per_origin, min=1)
    if isinstance(temperature, str):
        check_choice("temperature", temperature, ("auto",))
    else:
        check_real("temperature", temperature, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False)
    if isinstance(effective_temperature, str):
        check_choice("effective_temperature", effective_temperature, ("width",))
        check_allocation("the per-cell feature covariances (cells, F, F)", (grid.size, f.shape[1], f.shape[1]),
                         names="the grid and the number of features")
    else:
        check_real("effective_temperature", effective_temperature, low=0.0, low_inclusive=False, high=np.inf,
                   high_inclusive=False)
    as_seed_sequence(seed)
    check_allocation("the per-origin posterior sums (cells, cells)", (grid.size, grid.size), names="grid")
    curve = None
    if isinstance(temperature, str):
        check_choice("temperature", temperature, ("auto",))
        tau, curve = select_kernel_temperature(f, loc, grid, kernel=kernel, seed=seed)
    else:
        tau = float(check_real("temperature", temperature, low=0.0, low_inclusive=False, high=np.inf,
                               high_inclusive=False))
    rng = np.random.default_rng(as_seed_sequence(seed))
    S = splat_matrix(loc, grid)
    cell = grid.index_of(loc)
    q_idx = _queries(cell, queries_per_origin, rng)
    sums = np.zeros((grid.size, grid.size))
    counts = np.zeros(grid.size)
    for qi, (p,) in _kernel_rows(f, S, q_idx, kernel, [tau], exclude_self):
        np.add.at(sums, cell[qi], p)
        np.add.at(counts, cell[qi], 1)
    origins = np.flatnonzero(counts > 0)
    probs = sums[origins] / counts[origins, None]
    attrs = {"kernel": kernel, "temperature": tau, "exclude_self": int(bool(exclude_self)),
             "queries": int(q_idx.size)}
    if curve is not None:
        attrs["temperature_selection"] = "max held-out log-likelihood of the true cell"
    post = posterior_dataarray(probs, grid, origins, estimator="feature_kernel", n_per_bundle=1,
                               effective_temperature=0.5, attrs=attrs)
    if isinstance(effective_temperature, str):
        check_choice("effective_temperature", effective_temperature, ("width",))
        try:
            g = statistic_metric_on_grid(f, loc, grid)
            n_eff = width_effective_temperature(post, grid, g)
            how = "width: tr(g_s^-1 Sigma_post^-1)/d, g_s = Gaussian-statistic metric of the features"
        except (ValueError, np.linalg.LinAlgError) as exc:
            log.warning("feature_kernel_posterior: width-based n_eff failed (%s); using 1/2", exc)
            n_eff, how = 0.5, "fallback 1/2 (h -> 0 limit)"
    else:
        n_eff = float(check_real("effective_temperature", effective_temperature, low=0.0, low_inclusive=False))
        how = "given"
    post.attrs["effective_temperature"] = float(n_eff)
    post.attrs["temperature_derivation"] = how
    return post
