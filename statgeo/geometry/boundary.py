"""Phase-boundary detection from a metric on a grid.

On a phase-transition line the second derivatives of Φ = log Z diverge (continuous
transitions) or its first derivatives jump (first order; a smoothed or fitted Φ then has a
narrow, large Hessian). The *boundary score* is a normalised measure of how large the metric
is; boundary curves are ridges of the score.

Score (``boundary_score``)
    raw = λ_max(g) (``"max_eigenvalue"``), tr g (``"trace"``) or det g (``"det"``) at each node;
    s = log(max(raw, tiny)); with ``normalise="robust"`` (default)
    score = (s − median s) / max(1.4826 · MAD s, mad_floor), a robust z-score (≈ a standard normal score away
    from boundaries, large on them); ``"minmax"`` maps s to [0, 1]; ``"none"`` returns s.

Curves (``extract_boundaries``, 2-D)
    1. threshold: cells with score ≥ ``threshold`` (optional);
    2. ridge (non-maximum suppression): keep cells that are a local maximum of the score along
       the across-ridge direction, the one of the four lattice directions with the most
       negative second difference (≥ both neighbours, > at least one, both inside the grid);
       optionally (``prominence``) a ridge cell must also rise by at least ``prominence``
       above the score ``reach`` cells away on each side along that direction (nearer where
       the grid ends first), a local criterion that does not depend on the rest of the map;
    3. connected components (8-connectivity) of at least ``min_size`` cells;
    4. ordering: the longest shortest path through each component (double breadth-first
       search), then, recursively, the remaining branches of at least ``min_size`` cells;
    5. optional sub-cell refinement: a parabola through the score across the ridge.

The image-processing steps run on the host (NumPy/SciPy ndimage); curves come back in the
namespace and on the device of ``score``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from statgeo.checks import check_allocation, check_bool, check_choice, check_int, check_real
from statgeo.geometry._array import as_float_array, check_finite, device_of, from_numpy, namespace, to_numpy

__all__ = ["boundary_score", "extract_boundaries", "boundary_distance", "BoundaryDistance"]

logger = logging.getLogger(__name__)


def boundary_score(metric_grid: Any, method: Literal["max_eigenvalue", "trace", "det"] = "max_eigenvalue",
                   normalise: Literal["robust", "minmax", "none"] = "robust", *,
                   mad_floor: float = 0.5) -> Any:
    """Boundary score map from a metric on a grid.

    raw = λ_max(g), tr g or det g at each node; s = log max(raw, tiny); the ``"robust"`` score
    is (s − median s) / max(1.4826·MAD s, mad_floor), a robust z-score (Huber & Ronchetti,
    *Robust Statistics*, 2009, §5.1) that is large where the metric blows up on a phase
    boundary (module docstring; docs/geometry_metric.md, "Boundary score and curves").

    Parameters
    ----------
    metric_grid : array_like
        Metric at every grid node, shape (n_0, …, n_{k−1}, d, d), finite (e.g. from
        :func:`~statgeo.geometry.metric.metric_on_grid`).
    method : {"max_eigenvalue", "trace", "det"}, default "max_eigenvalue"
        λ_max g, tr g or det g.
    normalise : {"robust", "minmax", "none"}, default "robust"
        ``"robust"``: (log raw − median) / (1.4826 MAD); ``"minmax"``: log raw scaled to [0, 1];
        ``"none"``: log raw. raw is clipped below at the smallest positive normal number.
    mad_floor : float, default 0.5
        Lower bound (> 0) for the robust scale 1.4826·MAD, in units of log raw: on a flat
        background a score of 3 then means a metric e^{1.5} ≈ 4.5 times its median, and a nearly
        constant background (MAD → 0) does not turn tiny variations into large scores.

    Returns
    -------
    array
        Shape (n_0, …, n_{k−1}), in the namespace and on the device of ``metric_grid``.

    Raises
    ------
    TypeError
        ``metric_grid`` is not a real array or ``mad_floor`` is not a real number.
    ValueError
        Wrong shape, NaN/inf, an unknown ``method``/``normalise``, or ``mad_floor`` ≤ 0.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.ones((5, 5, 1, 1))
    >>> g[2, :] = 100.0                          # a "boundary" along row 2
    >>> s = boundary_score(g)
    >>> bool(s[2, 0] > 3.0), bool(abs(s[0, 0]) < 1e-12)
    (True, True)
    """
    check_choice("method", method, ("max_eigenvalue", "trace", "det"))
    check_choice("normalise", normalise, ("robust", "minmax", "none"))
    check_real("mad_floor", mad_floor, low=0.0, high=np.inf, low_inclusive=False, high_inclusive=False)
    if np.ndim(mad_floor) != 0:
        raise ValueError(f"mad_floor must be a scalar, got shape {np.shape(mad_floor)}")
    xp = namespace(metric_grid)
    g = as_float_array("metric_grid", metric_grid, xp)
    if g.ndim < 3 or g.shape[-1] != g.shape[-2] or 0 in tuple(g.shape):
        raise ValueError(f"metric_grid must have shape (n_0, ..., d, d) with at least one grid axis and no empty "
                         f"axis, got {tuple(g.shape)}")
    check_finite("metric_grid", g, xp)
    g = 0.5 * (g + xp.matrix_transpose(g))
    if method == "max_eigenvalue":
        raw = xp.linalg.eigvalsh(g)[..., -1]
    elif method == "trace":
        raw = xp.linalg.trace(g) if hasattr(xp.linalg, "trace") else xp.sum(
            g * xp.eye(g.shape[-1], dtype=g.dtype, device=device_of(g)), axis=(-2, -1))
    else:
        raw = xp.linalg.det(g)
    tiny = float(xp.finfo(g.dtype).smallest_normal)
    s = xp.log(xp.maximum(raw, xp.full_like(raw, tiny)))
    if normalise == "none":
        return s
    flat = xp.reshape(s, (-1,))
    if normalise == "minmax":
        lo, hi = xp.min(flat), xp.max(flat)
        span = hi - lo
        if float(span) <= 0:
            return xp.zeros_like(s)
        return (s - lo) / span
    med = _median(flat, xp)
    mad = max(1.4826 * float(_median(xp.abs(flat - med), xp)), float(mad_floor))
    return (s - med) / mad


def _median(x, xp):
    xs = xp.sort(x)
    n = xs.shape[0]
    if n % 2:
        return xs[n // 2]
    return 0.5 * (xs[n // 2 - 1] + xs[n // 2])


_DIRS = ((1, 0), (0, 1), (1, 1), (1, -1))
_NEIGH8 = tuple((a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if (a, b) != (0, 0))


def _shift(a: np.ndarray, di: int, dj: int) -> np.ndarray:
    """b[i, j] = a[i + di, j + dj], NaN outside (so comparisons across the edge are False)."""
    b = np.full_like(a, np.nan)
    n0, n1 = a.shape
    src = a[max(di, 0):n0 + min(di, 0), max(dj, 0):n1 + min(dj, 0)]
    b[max(-di, 0):n0 + min(-di, 0), max(-dj, 0):n1 + min(-dj, 0)] = src
    return b


def _ridge_mask(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ridge cells by non-maximum suppression across the ridge.

    For each cell the across-ridge direction is the lattice direction (of four) with the most
    negative second difference per squared step length; the cell is a ridge cell if it is a
    local maximum along that direction (≥ both neighbours, > at least one; both neighbours
    inside the grid). Returns the mask and the chosen direction index (−1 where none).
    """
    best = np.full(s.shape, np.inf)
    direction = np.full(s.shape, -1, dtype=np.int64)
    is_max = np.zeros(s.shape, dtype=bool)
    for k, (di, dj) in enumerate(_DIRS):
        a, b = _shift(s, di, dj), _shift(s, -di, -dj)
        with np.errstate(invalid="ignore"):
            curv = (a - 2.0 * s + b) / (di * di + dj * dj)
            m = (s >= a) & (s >= b) & ((s > a) | (s > b))
        curv = np.where(np.isnan(curv), np.inf, curv)
        better = curv < best
        direction[better] = k
        is_max[better] = m[better]
        best = np.where(better, curv, best)
    return is_max, np.where(is_max, direction, -1)


def _prominence(s: np.ndarray, direction: np.ndarray, reach: int) -> np.ndarray:
    """s(c) − max(s(c − k₋·d), s(c + k₊·d)) along each cell's across-ridge direction d.

    k± = min(reach, lattice steps to the grid's edge in direction ±d); −inf where no direction
    was chosen (``direction`` < 0).
    """
    n0, n1 = s.shape
    ii, jj = np.indices(s.shape)
    out = np.full(s.shape, -np.inf)
    for k, (di, dj) in enumerate(_DIRS):
        sel = direction == k
        if not sel.any():
            continue
        i, j = ii[sel], jj[sel]
        far = []
        for sign in (1, -1):
            steps = np.full(i.shape, reach)
            for c, dc, n in ((i, sign * di, n0), (j, sign * dj, n1)):
                if dc > 0:
                    steps = np.minimum(steps, n - 1 - c)
                elif dc < 0:
                    steps = np.minimum(steps, c)
            far.append(s[i + sign * steps * di, j + sign * steps * dj])
        out[sel] = s[sel] - np.maximum(far[0], far[1])
    return out


def _bfs(start, cells: set):
    dist = {start: 0}
    prev = {start: None}
    q = deque([start])
    while q:
        c = q.popleft()
        for di, dj in _NEIGH8:
            nb = (c[0] + di, c[1] + dj)
            if nb in cells and nb not in dist:
                dist[nb] = dist[c] + 1
                prev[nb] = c
                q.append(nb)
    return dist, prev


def _order_component(cells: set, min_size: int) -> list[list[tuple[int, int]]]:
    """Split a pixel set into ordered paths: longest path first, then remaining branches."""
    out = []
    remaining = set(cells)
    while len(remaining) >= min_size:
        # the component of some remaining cell
        seed = next(iter(remaining))
        dist, _ = _bfs(seed, remaining)
        comp = set(dist)
        if len(comp) < min_size:
            remaining -= comp
            continue
        a = max(dist, key=lambda c: (dist[c], c))
        dist_a, prev = _bfs(a, comp)
        b = max(dist_a, key=lambda c: (dist_a[c], c))
        path = []
        c = b
        while c is not None:
            path.append(c)
            c = prev[c]
        path.reverse()
        out.append(path)
        # remove the path and its immediate neighbours (ridges are up to ~2 cells thick)
        on_path = set(path)
        drop = set(on_path)
        for c in path:
            for di, dj in _NEIGH8:
                nb = (c[0] + di, c[1] + dj)
                if nb in comp:
                    drop.add(nb)
        remaining -= drop
    return out


def extract_boundaries(score: Any, axes_values: Sequence[Any], threshold: float | None = 3.0, *,
                       min_size: int = 3, subcell: bool = True, prominence: float | None = None,
                       reach: int = 3) -> list[Any]:
    """Boundary curves as ridges of a 2-D score map.

    Threshold, non-maximum suppression across the ridge, optional prominence, 8-connected
    components, ordering by the longest shortest path, optional parabolic sub-cell refinement
    (module docstring; docs/geometry_metric.md, "Boundary score and curves").

    A global threshold on a robust z-score misses ridges on a background that itself varies
    by several e-folds across the map (the metric of an ordered phase): the median and MAD are
    then set by the trend, and a ridge far above its surroundings can sit at z ≈ 2 everywhere.
    The prominence criterion compares each ridge cell with its own surroundings instead: with
    the unnormalised score s = log λ_max g, ``prominence=log(3), reach=3`` keeps the cells where
    the metric is at least three times its value three cells away on each side.

    Parameters
    ----------
    score : array_like
        Score on a 2-D grid, shape (n_0, n_1), finite (e.g. :func:`boundary_score`).
    axes_values : sequence of array_like
        The two coordinate axes (strictly increasing, lengths n_0 and n_1, ≥ 3 points each).
    threshold : float or None, default 3.0
        Cells with score ≥ threshold are candidates (3: three robust standard deviations
        above the median). ``None``: no global threshold (use ``prominence``).
    min_size : int, default 3
        Curves with fewer cells are dropped (≥ 1).
    subcell : bool, default True
        Refine each ridge cell across the ridge by the vertex of a parabola through the score at
        the cell and its two neighbours along the direction in which it is a maximum.
    prominence : float or None, default None
        If given (≥ 0, in the units of ``score``), a ridge cell must also satisfy
        s(c) − max(s(c − r·d), s(c + r·d)) ≥ prominence, with d the across-ridge lattice step
        and r = ``reach`` (or fewer steps on a side where the grid ends first).
    reach : int, default 3
        Distance in lattice steps at which the prominence is measured (≥ 1); wider than the
        ridge itself (a line between two grid rows is two cells wide).

    Returns
    -------
    list of array
        Arrays (m_c, 2) of ordered points (axis-0 coordinate, axis-1 coordinate), longest
        first, in the namespace/device of ``score``; empty when nothing exceeds the threshold.

    Raises
    ------
    TypeError
        ``score`` or an axis is not a real array, ``threshold`` is not a real number,
        ``min_size`` or ``reach`` is not an integer, ``prominence`` is not a real number or
        ``subcell`` is not a bool.
    ValueError
        ``score`` is not a finite 2-D map, the axes do not match it or are not strictly
        increasing, ``threshold`` is NaN/inf, ``prominence`` is negative or not finite,
        ``min_size`` < 1 or ``reach`` < 1.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0.0, 1.0, 9)
    >>> score = np.zeros((9, 9))
    >>> score[4, :] = 5.0                         # a ridge along axis 1 at x = 0.5
    >>> curves = extract_boundaries(score, [x, x])
    >>> len(curves), curves[0].shape
    (1, (9, 2))
    >>> tilted = score + 4.0 * x[:, None]         # the same ridge on a sloping background
    >>> len(extract_boundaries(tilted, [x, x], threshold=None, prominence=3.0))
    1
    """
    xp = namespace(score)
    sc = as_float_array("score", score, xp)
    if sc.ndim != 2:
        raise ValueError(f"score must be a 2-D map (n_0, n_1), got shape {tuple(sc.shape)}")
    check_finite("score", sc, xp)
    min_size = check_int("min_size", min_size, min=1)
    reach = check_int("reach", reach, min=1)
    thr = None
    if threshold is not None:
        thr = float(check_real("threshold", threshold))
        if np.ndim(threshold) != 0:
            raise ValueError(f"threshold must be a scalar, got shape {np.shape(threshold)}")
    prom = None
    if prominence is not None:
        prom = float(check_real("prominence", prominence, low=0.0))
        if np.ndim(prominence) != 0:
            raise ValueError(f"prominence must be a scalar, got shape {np.shape(prominence)}")
    check_bool("subcell", subcell)
    if isinstance(axes_values, (str, bytes)) or not hasattr(axes_values, "__len__"):
        raise TypeError(f"axes_values must be a sequence of two 1-D arrays, got {type(axes_values).__name__}")
    if len(axes_values) != 2:
        raise ValueError(f"axes_values must hold 2 axes, got {len(axes_values)}")
    axes = []
    for i, a in enumerate(axes_values):
        if isinstance(a, (str, bytes)) or a is None:
            raise TypeError(f"axes_values[{i}] must be a 1-D array of reals, got {a!r}")
        try:
            an = np.asarray(to_numpy(a), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"axes_values[{i}] must be a 1-D array of reals") from exc
        if an.ndim != 1 or an.size != sc.shape[i]:
            raise ValueError(f"axes_values[{i}] must be 1-D of length {sc.shape[i]}, got shape {an.shape}")
        if an.size < 3:
            raise ValueError(f"axes_values[{i}] must have at least 3 points, got {an.size}")
        if not np.all(np.isfinite(an)) or not np.all(np.diff(an) > 0):
            raise ValueError(f"axes_values[{i}] must be finite and strictly increasing")
        axes.append(an)
    s = np.asarray(to_numpy(sc), dtype=np.float64)
    ridge, direction = _ridge_mask(s)
    mask = ridge if thr is None else ridge & (s >= thr)
    if prom is not None:
        mask = mask & (_prominence(s, direction, reach) >= prom)
    cells = set(zip(*np.nonzero(mask)))
    cells = {(int(i), int(j)) for i, j in cells}
    paths = _order_component(cells, min_size)
    paths.sort(key=len, reverse=True)
    curves = []
    n0, n1 = s.shape
    idx0 = np.arange(n0, dtype=np.float64)
    idx1 = np.arange(n1, dtype=np.float64)
    for path in paths:
        pi = np.array([c[0] for c in path], dtype=np.float64)
        pj = np.array([c[1] for c in path], dtype=np.float64)
        if subcell:
            for m, (i, j) in enumerate(path):
                k = direction[i, j]
                if k < 0:
                    continue
                di, dj = _DIRS[k]
                if not (0 <= i - di < n0 and 0 <= i + di < n0 and 0 <= j - dj < n1 and 0 <= j + dj < n1):
                    continue
                fm, f0, fp = s[i - di, j - dj], s[i, j], s[i + di, j + dj]
                den = fm - 2.0 * f0 + fp
                if den < 0:
                    off = float(np.clip(0.5 * (fm - fp) / den, -0.5, 0.5))
                    pi[m] += off * di
                    pj[m] += off * dj
        pts = np.stack([np.interp(pi, idx0, axes[0]), np.interp(pj, idx1, axes[1])], axis=-1)
        curves.append(from_numpy(pts, xp, dtype=sc.dtype, device=device_of(sc)))
    logger.debug("extract_boundaries: %d candidate cells, %d curves", len(cells), len(curves))
    return curves


@dataclass(frozen=True)
class BoundaryDistance:
    """Distances from extracted boundary points to a reference curve (result of :func:`boundary_distance`).

    Parameters
    ----------
    max : float
        Largest distance of any extracted point to the reference (one-sided Hausdorff).
    mean : float
        Mean distance of the extracted points.
    per_curve : tuple of float
        The largest distance per extracted curve.
    coverage : float
        Largest distance from a reference point to the nearest extracted point (how much of
        the reference curve is missed; ``inf`` when no curve was extracted).
    covered : float
        Fraction of the reference points within ``within`` of an extracted point (0 when no
        curve was extracted).
    """

    max: float
    mean: float
    per_curve: tuple[float, ...]
    coverage: float
    covered: float = 0.0


def boundary_distance(curves: Sequence[Any], true_curve_fn: Callable[[np.ndarray], Any] | Any, *,
                      n_samples: int = 4001, scale: Sequence[float] | None = None,
                      within: float = 1.0) -> BoundaryDistance:
    """Compare extracted curves with a known boundary.

    Distances are Euclidean in coordinates divided by ``scale`` (e.g. in grid cells).

    Parameters
    ----------
    curves : sequence of array_like
        Extracted curves, arrays (m_c, dim) (any namespace), finite.
    true_curve_fn : callable or array_like
        Either a callable s ↦ points (n, dim) for s ∈ [0, 1] (sampled at ``n_samples`` values),
        or an array (n, dim) of reference points densely sampled along the true boundary.
    n_samples : int, default 4001
        Number of reference samples for a callable (≥ 2; the (points, n_samples) distance
        matrix must fit in memory).
    scale : sequence of float, optional
        Per-coordinate positive divisors (e.g. the grid spacings); default 1.
    within : float, default 1.0
        Distance (after ``scale``; > 0) within which a reference point counts as found, for
        ``covered``: with the grid spacings as ``scale``, one cell.

    Returns
    -------
    BoundaryDistance

    Raises
    ------
    TypeError
        ``curves`` is not a sequence of arrays, ``true_curve_fn`` is neither callable nor an
        array, ``n_samples`` is not an integer, ``scale`` or ``within`` is not real.
    ValueError
        Wrong shapes, NaN/inf, ``n_samples`` < 2 or too large, non-positive ``scale`` or
        ``within``.

    Examples
    --------
    >>> import numpy as np
    >>> line = lambda s: np.stack([s, np.zeros_like(s)], -1)     # the segment y = 0
    >>> r = boundary_distance([np.array([[0.5, 0.1], [0.6, 0.0]])], line, n_samples=11, within=0.15)
    >>> round(r.max, 6), round(r.coverage, 6), round(r.covered, 2)
    (0.1, 0.509902, 0.36)
    """
    n_samples = check_int("n_samples", n_samples, min=2)
    within = float(check_real("within", within, low=0.0, low_inclusive=False))
    if np.ndim(within) != 0:
        raise ValueError(f"within must be a scalar, got shape {np.shape(within)}")
    if isinstance(curves, (str, bytes)) or not hasattr(curves, "__iter__"):
        raise TypeError(f"curves must be a sequence of (m, dim) arrays, got {type(curves).__name__}")
    curves_np = []
    for i, c in enumerate(curves):
        if isinstance(c, (str, bytes)) or c is None:
            raise TypeError(f"curves[{i}] must be an (m, dim) array of reals, got {c!r}")
        try:
            curves_np.append(np.asarray(to_numpy(c), dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"curves[{i}] must be an (m, dim) array of reals") from exc
        if curves_np[-1].ndim != 2 or curves_np[-1].shape[0] == 0 or not np.all(np.isfinite(curves_np[-1])):
            raise ValueError(f"curves[{i}] must be a finite, non-empty (m, dim) array, got shape {curves_np[-1].shape}")
    m_max = max((c.shape[0] for c in curves_np), default=0)
    m_all = sum(c.shape[0] for c in curves_np)
    if callable(true_curve_fn):
        dim = curves_np[0].shape[1] if curves_np else 2
        check_allocation("the distance matrix (curve points, n_samples, dim)", (max(m_max, m_all), n_samples, dim),
                         names="n_samples and curves")
        ref = np.asarray(to_numpy(true_curve_fn(np.linspace(0.0, 1.0, n_samples))), dtype=np.float64)
    else:
        if isinstance(true_curve_fn, (str, bytes)) or true_curve_fn is None:
            raise TypeError(f"true_curve_fn must be a callable or an (n, dim) array, got {true_curve_fn!r}")
        try:
            ref = np.asarray(to_numpy(true_curve_fn), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError("true_curve_fn must be a callable or an (n, dim) array of reals") from exc
    if ref.ndim != 2 or ref.shape[0] < 1 or ref.shape[1] < 1:
        raise ValueError(f"true_curve_fn: the reference curve must be an array (n, dim), got shape {ref.shape}")
    if not np.all(np.isfinite(ref)):
        raise ValueError("true_curve_fn: the reference curve must be finite")
    check_allocation("the distance matrix (curve points, reference points, dim)",
                     (max(m_max, m_all), ref.shape[0], ref.shape[1]), names="n_samples and curves")
    if scale is None:
        sc = np.ones(ref.shape[1])
    else:
        sc = np.asarray(check_real("scale", scale), dtype=np.float64)
    if sc.shape != (ref.shape[1],) or np.any(sc <= 0):
        raise ValueError(f"scale must hold {ref.shape[1]} positive numbers, got {scale!r}")
    ref = ref / sc
    per, allmins = [], []
    for i, cn in enumerate(curves_np):
        if cn.shape[1] != ref.shape[1]:
            raise ValueError(f"curves[{i}] must have shape (m, {ref.shape[1]}), got {cn.shape}")
        cn = cn / sc
        dmin = np.sqrt(((cn[:, None, :] - ref[None, :, :]) ** 2).sum(-1)).min(axis=1)
        per.append(float(dmin.max()))
        allmins.append(dmin)
    if not per:
        return BoundaryDistance(max=float("inf"), mean=float("inf"), per_curve=(), coverage=float("inf"))
    allpts = np.concatenate([c / sc for c in curves_np])
    ref_min = np.sqrt(((ref[:, None, :] - allpts[None, :, :]) ** 2).sum(-1)).min(axis=1)
    d = np.concatenate(allmins)
    return BoundaryDistance(max=float(d.max()), mean=float(d.mean()), per_curve=tuple(per),
                            coverage=float(ref_min.max()), covered=float(np.mean(ref_min <= within)))
