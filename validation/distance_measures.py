"""Distance-based error measures of a metric field (the ClassiFIM benchmark's distMSE and distRE).

A metric field g on a regular (tensor-product) grid is compared with a reference through the
*straight-line lengths* it assigns to pairs of grid points, which is insensitive to where
exactly on the grid a peak of g sits and measures what matters for distances in parameter
space (docs/baselines.md, "ClassiFIM-style peer row and distance measures"):

* D(a, b) = ∫₀¹ √((b − a)ᵀ g(a + s(b − a)) (b − a)) ds for grid points a, b (natural
  coordinates), g interpolated multilinearly between the grid nodes, the integral by the
  midpoint rule;
* ``dist_mse``: mean over random pairs of (D_est − D_ref)²; ``dist_mse_normalised``: the same
  divided by mean D_ref²; ``dist_mse_perfect_scale``: min over c > 0 of mean (c D_est − D_ref)²
  divided by mean D_ref² (a constant zero estimate scores 1);
* ``dist_re``: the fraction of pairs of pairs ((a, b), (c, d)) that D_est orders differently
  from D_ref (ties in D_ref skipped, ties in D_est counted ½, so a random or constant-zero
  estimate scores ½).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from statgeo.checks import check_array, check_int
from statgeo.seeding import as_seed_sequence

__all__ = ["MIN_STEPS", "STEPS_PER_CELL", "distance_measures", "sample_pairs", "straight_line_distances"]

#: fewest midpoint-rule steps of :func:`straight_line_distances` (default rule)
MIN_STEPS = 8
#: midpoint-rule steps per grid cell crossed (default rule)
STEPS_PER_CELL = 4
#: interpolation points evaluated at once (bounds the memory of one block to ~ 100 MiB for d = 2)
_BLOCK_POINTS = 1 << 21
#: relative tolerance under which two distances count as tied in ``dist_re``
_TIE_RTOL = 1e-12


# ----------------------------------------------------------------------------- checks
def _check_axes(axes: Any) -> list[np.ndarray]:
    """Validate the coordinate axes: a sequence of strictly monotone, finite 1-D arrays of ≥ 2 values."""
    if isinstance(axes, np.ndarray) or not isinstance(axes, Sequence) or isinstance(axes, (str, bytes)):
        raise TypeError(f"axes must be a list of 1-D coordinate arrays, got {type(axes).__name__}")
    if len(axes) == 0:
        raise ValueError("axes must hold at least one coordinate array")
    out = []
    for k, a in enumerate(axes):
        arr = check_array(f"axes[{k}]", a, ndim=1, dtype_kind="iuf").astype(np.float64)
        if arr.size < 2:
            raise ValueError(f"axes[{k}] must have at least 2 values, got {arr.size}")
        step = np.diff(arr)
        if not ((step > 0).all() or (step < 0).all()):
            raise ValueError(f"axes[{k}] must be strictly increasing or strictly decreasing")
        out.append(arr)
    return out


def _check_metric(name: str, metric: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Validate a metric field of shape ``shape + (d, d)`` (real, finite); return it symmetrised as float64."""
    d = len(shape)
    g = check_array(name, metric, dtype_kind="iuf").astype(np.float64)
    if g.shape != shape + (d, d):
        raise ValueError(f"{name} must have shape {shape + (d, d)} (grid shape + (d, d)), got {g.shape}")
    return 0.5 * (g + np.swapaxes(g, -1, -2))


def _check_pairs(pairs: Any, n_points: int) -> np.ndarray:
    """Validate pairs of flat grid indices, shape (P, 2), values in [0, n_points)."""
    p = check_array("pairs", pairs, ndim=2, dtype_kind="iu")
    if p.shape[1] != 2:
        raise ValueError(f"pairs must have shape (P, 2) (flat grid indices of the two ends), got {p.shape}")
    if p.min() < 0 or p.max() >= n_points:
        raise ValueError(f"pairs must be flat grid indices in [0, {n_points - 1}], "
                         f"got values in [{int(p.min())}, {int(p.max())}]")
    return p.astype(np.int64)


# ----------------------------------------------------------------------------- interpolation
def _fractional_index(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Continuous index of the coordinates ``x`` along a strictly monotone axis (piecewise linear)."""
    idx = np.arange(values.size, dtype=np.float64)
    if values[0] > values[-1]:
        return np.interp(x, values[::-1], idx[::-1])
    return np.interp(x, values, idx)


def _interpolate(metric: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Multilinear interpolation of a field (*shape, d, d) at continuous indices ``pos`` (M, d)."""
    shape = metric.shape[:-2]
    d = len(shape)
    flat = metric.reshape((-1,) + metric.shape[-2:])
    lo = np.stack([np.clip(np.floor(pos[:, k]), 0, shape[k] - 2) for k in range(d)], axis=1).astype(np.int64)
    w = pos - lo
    strides = np.array([int(np.prod(shape[k + 1:])) for k in range(d)], dtype=np.int64)
    out = np.zeros((pos.shape[0],) + metric.shape[-2:])
    for corner in range(2**d):
        bits = np.array([(corner >> (d - 1 - k)) & 1 for k in range(d)], dtype=np.int64)
        weight = np.prod(np.where(bits == 1, w, 1.0 - w), axis=1)
        out += weight[:, None, None] * flat[(lo + bits) @ strides]
    return out


def _default_steps(starts: np.ndarray, ends: np.ndarray) -> int:
    """Midpoint steps: STEPS_PER_CELL per cell crossed on the longest axis of the longest pair, ≥ MIN_STEPS."""
    cells = int(np.abs(ends - starts).max()) if starts.size else 0
    return max(MIN_STEPS, STEPS_PER_CELL * math.ceil(cells))


def _lengths(metric: np.ndarray, axes: list[np.ndarray], ia: np.ndarray, ib: np.ndarray, steps: int) -> np.ndarray:
    """Straight-line lengths between grid nodes of multi-indices ``ia``, ``ib`` (P, d)."""
    d = len(axes)
    ta = np.stack([axes[k][ia[:, k]] for k in range(d)], axis=1)
    dt = np.stack([axes[k][ib[:, k]] for k in range(d)], axis=1) - ta
    s = (np.arange(steps) + 0.5) / steps
    out = np.empty(ia.shape[0])
    block = max(1, _BLOCK_POINTS // steps)
    for start in range(0, ia.shape[0], block):
        sl = slice(start, start + block)
        t = ta[sl, None, :] + s[None, :, None] * dt[sl, None, :]  # (p, steps, d)
        pos = np.stack([_fractional_index(axes[k], t[..., k].ravel()) for k in range(d)], axis=1)
        g = _interpolate(metric, pos).reshape(t.shape[:2] + (d, d))
        q = np.einsum("pi,psij,pj->ps", dt[sl], g, dt[sl])
        out[sl] = np.sqrt(np.maximum(q, 0.0)).mean(axis=1)
    return out


# ----------------------------------------------------------------------------- public
def straight_line_distances(metric: Any, axes: Sequence[Any], pairs: Any, *, steps: int | None = None
                            ) -> np.ndarray:
    """Lengths of the straight segments between pairs of grid points under a metric field.

    For grid nodes a, b (natural coordinates t_a, t_b),

        D(a, b) = ∫₀¹ √(Δtᵀ g(t_a + s Δt) Δt) ds,   Δt = t_b − t_a,

    with g interpolated multilinearly between the grid nodes (in index space: along each axis
    the continuous index is the piecewise-linear inverse of the axis' coordinates, so
    non-uniform axes are allowed) and the integral computed by the midpoint rule with
    ``steps`` equal sub-intervals, s_j = (j + ½)/steps. The quadratic form is clipped at 0, so
    an indefinite estimate adds no length where it is negative along Δt. g is symmetrised,
    (g + gᵀ)/2 (only the symmetric part enters the quadratic form).

    Parameters
    ----------
    metric : array_like
        The metric field, shape ``grid shape + (d, d)`` with grid shape ``(len(axes[0]), ...)``,
        real and finite.
    axes : sequence of array_like
        The d coordinate axes of the grid (1-D, ≥ 2 values each, strictly increasing or
        strictly decreasing), e.g. the natural coordinates along each grid axis.
    pairs : array_like of int
        Shape (P, 2): flat (C-order) indices of the two end points of each segment.
    steps : int, optional
        Midpoint-rule steps, ≥ 1. Default: ``STEPS_PER_CELL`` (4) times the largest number of
        cells any pair crosses along one axis, at least ``MIN_STEPS`` (8).

    Returns
    -------
    numpy.ndarray
        D for each pair, float64, shape (P,).

    Raises
    ------
    TypeError
        ``axes`` is not a sequence of arrays; ``metric`` or ``pairs`` has the wrong dtype;
        ``steps`` is not an integer.
    ValueError
        Wrong shapes, non-finite values, non-monotone axes, indices out of the grid,
        ``steps`` < 1.

    Examples
    --------
    >>> axes = [np.linspace(0.0, 1.0, 3), np.linspace(0.0, 2.0, 5)]
    >>> g = np.broadcast_to(np.diag([4.0, 1.0]), (3, 5, 2, 2))
    >>> straight_line_distances(g, axes, [[0, 14]]).round(6)   # Δt = (1, 2): √(4 + 4)
    array([2.828427])
    """
    ax = _check_axes(axes)
    shape = tuple(a.size for a in ax)
    g = _check_metric("metric", metric, shape)
    p = _check_pairs(pairs, int(np.prod(shape)))
    if steps is not None:
        steps = check_int("steps", steps, min=1)
    ia = np.stack(np.unravel_index(p[:, 0], shape), axis=1)
    ib = np.stack(np.unravel_index(p[:, 1], shape), axis=1)
    n = _default_steps(ia, ib) if steps is None else steps
    return _lengths(g, ax, ia, ib, n)


def sample_pairs(shape: Sequence[int], n_pairs: int, *, seed: int | np.random.SeedSequence,
                 margin: int = 0) -> np.ndarray:
    """Random pairs of distinct grid points, uniform over the points ``margin`` cells inside the box.

    Each end is drawn uniformly (independently per axis) among the indices
    ``margin ≤ i_k ≤ n_k − 1 − margin``; pairs whose ends coincide are redrawn.

    Parameters
    ----------
    shape : sequence of int
        The grid shape, each ≥ 1.
    n_pairs : int
        Number of pairs P, ≥ 1.
    seed : int or numpy.random.SeedSequence
        Seed of the draws (same seed → same pairs).
    margin : int, default 0
        Cells excluded at every edge of every axis, ≥ 0.

    Returns
    -------
    numpy.ndarray
        int64, shape (P, 2): flat (C-order) indices of the two ends.

    Raises
    ------
    TypeError
        A size is not an integer, or a bad ``seed``.
    ValueError
        A size < 1, ``margin`` < 0, or fewer than 2 grid points left inside the margin.

    Examples
    --------
    >>> p = sample_pairs((4, 5), 3, seed=0)
    >>> p.shape, bool((p[:, 0] != p[:, 1]).all())
    ((3, 2), True)
    """
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) or len(shape) == 0:
        raise TypeError(f"shape must be a non-empty sequence of ints, got {shape!r}")
    sh = tuple(check_int(f"shape[{k}]", n, min=1) for k, n in enumerate(shape))
    n_pairs = check_int("n_pairs", n_pairs, min=1)
    margin = check_int("margin", margin, min=0)
    inner = [n - 2 * margin for n in sh]
    if min(inner) < 1 or int(np.prod(inner)) < 2:
        raise ValueError(f"margin={margin} leaves fewer than 2 grid points of the grid of shape {sh}")
    rng = np.random.default_rng(as_seed_sequence(seed))
    ends = rng.integers(0, inner, size=(n_pairs, 2, len(sh)))
    same = (ends[:, 0] == ends[:, 1]).all(axis=1)
    while same.any():
        ends[same, 1] = rng.integers(0, inner, size=(int(same.sum()), len(sh)))
        same = (ends[:, 0] == ends[:, 1]).all(axis=1)
    ends += margin
    return np.stack([np.ravel_multi_index(tuple(ends[:, j].T), sh) for j in range(2)], axis=1).astype(np.int64)


def _ordering_error(d_ref: np.ndarray, d_est: np.ndarray, n_comparisons: int, rng: np.random.Generator
                    ) -> tuple[float, int]:
    """Fraction of sampled pairs of pairs ordered differently (ties in d_ref skipped, ties in d_est ½)."""
    i = rng.integers(0, d_ref.size, size=n_comparisons)
    j = rng.integers(0, d_ref.size, size=n_comparisons)
    tol_ref = _TIE_RTOL * max(float(np.abs(d_ref).max()), np.finfo(float).tiny)
    tol_est = _TIE_RTOL * max(float(np.abs(d_est).max()), np.finfo(float).tiny)
    dr = d_ref[i] - d_ref[j]
    de = d_est[i] - d_est[j]
    keep = np.abs(dr) > tol_ref
    if not keep.any():
        return float("nan"), 0
    sr = np.sign(dr[keep])
    se = np.where(np.abs(de[keep]) > tol_est, np.sign(de[keep]), 0.0)
    err = np.where(se == 0.0, 0.5, (se != sr).astype(np.float64))
    return float(err.mean()), int(keep.sum())


def distance_measures(metric_ref: Any, metric_est: Any, axes: Sequence[Any], *, n_pairs: int = 2000,
                      seed: int | np.random.SeedSequence = 0, margin: int = 0, n_comparisons: int = 20000,
                      steps: int | None = None) -> dict[str, Any]:
    """The ClassiFIM benchmark's distance measures of an estimated metric field against a reference.

    P random pairs of distinct grid points (:func:`sample_pairs`) get straight-line lengths
    D_ref, D_est under both fields (:func:`straight_line_distances`); then

    * ``dist_mse`` = mean (D_est − D_ref)²  (in squared units of D);
    * ``dist_mse_normalised`` = dist_mse / mean D_ref²;
    * ``scale`` c* = Σ D_est D_ref / Σ D_est² (the c > 0 that minimises mean (c D_est − D_ref)²;
      0 when every D_est is 0);
    * ``dist_mse_perfect_scale`` = mean (c* D_est − D_ref)² / mean D_ref² = 1 − (Σ D_est D_ref)² /
      (Σ D_est² Σ D_ref²), in [0, 1]: 0 for an estimate proportional to the reference, 1 for a
      constant zero estimate (or one whose distances are orthogonal to the reference's);
    * ``dist_re`` = the fraction of ``n_comparisons`` random pairs of pairs (i, j), i ≠ j not
      required, drawn uniformly from the P pairs, whose order differs: sign(D_est,i − D_est,j)
      ≠ sign(D_ref,i − D_ref,j). Comparisons tied in D_ref are skipped; ties in D_est count ½
      (so a constant-zero or a random estimate scores ½, an exact one 0).

    Parameters
    ----------
    metric_ref : array_like
        Reference metric field, shape ``grid shape + (d, d)``.
    metric_est : array_like
        Estimated metric field, same shape.
    axes : sequence of array_like
        The d coordinate axes (see :func:`straight_line_distances`).
    n_pairs : int, default 2000
        Number of random pairs P, ≥ 1.
    seed : int or numpy.random.SeedSequence, default 0
        Seed of the pairs and of the pairs of pairs.
    margin : int, default 0
        Cells excluded at every edge (pairs are drawn inside), ≥ 0.
    n_comparisons : int, default 20000
        Pairs of pairs sampled for ``dist_re``, ≥ 1.
    steps : int, optional
        Midpoint-rule steps (default rule of :func:`straight_line_distances`).

    Returns
    -------
    dict
        ``dist_mse``, ``dist_mse_normalised``, ``dist_mse_perfect_scale``, ``scale``,
        ``dist_re`` (floats; ``dist_re`` is NaN if every comparison is tied in D_ref),
        ``mean_sq_ref`` (mean D_ref²), ``n_pairs``, ``n_comparisons_used`` (ints) and the
        distances ``d_ref``, ``d_est`` (arrays of shape (P,)) with their ``pairs`` (P, 2).

    Raises
    ------
    TypeError
        A count or ``seed`` of the wrong type, or arrays of the wrong dtype.
    ValueError
        Shapes that differ or do not match the axes, non-finite values, counts out of range, a
        margin that leaves fewer than 2 points, or a reference whose distances are all 0.

    Examples
    --------
    >>> axes = [np.linspace(0.0, 1.0, 6), np.linspace(0.0, 1.0, 6)]
    >>> g = np.broadcast_to(np.eye(2), (6, 6, 2, 2))
    >>> m = distance_measures(g, 4.0 * g, axes, n_pairs=50)
    >>> round(m["scale"], 6), round(m["dist_mse_perfect_scale"], 6), m["dist_re"]
    (0.5, 0.0, 0.0)
    """
    ax = _check_axes(axes)
    shape = tuple(a.size for a in ax)
    g_ref = _check_metric("metric_ref", metric_ref, shape)
    g_est = _check_metric("metric_est", metric_est, shape)
    n_pairs = check_int("n_pairs", n_pairs, min=1)
    margin = check_int("margin", margin, min=0)
    n_comparisons = check_int("n_comparisons", n_comparisons, min=1)
    if steps is not None:
        steps = check_int("steps", steps, min=1)
    ss = as_seed_sequence(seed)
    pairs = sample_pairs(shape, n_pairs, seed=ss, margin=margin)
    d_ref = straight_line_distances(g_ref, ax, pairs, steps=steps)
    d_est = straight_line_distances(g_est, ax, pairs, steps=steps)
    mean_sq_ref = float(np.mean(d_ref**2))
    if mean_sq_ref == 0.0:
        raise ValueError("metric_ref gives zero length to every sampled pair; the normalised measures are undefined")
    sxx = float(np.sum(d_est**2))
    c = float(np.sum(d_est * d_ref)) / sxx if sxx > 0 else 0.0
    mse = float(np.mean((d_est - d_ref) ** 2))
    rng = np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (1,)))
    re, used = _ordering_error(d_ref, d_est, n_comparisons, rng)
    return {"dist_mse": mse, "dist_mse_normalised": mse / mean_sq_ref,
            "dist_mse_perfect_scale": float(np.mean((c * d_est - d_ref) ** 2)) / mean_sq_ref,
            "scale": c, "dist_re": re, "mean_sq_ref": mean_sq_ref, "n_pairs": n_pairs,
            "n_comparisons_used": used, "d_ref": d_ref, "d_est": d_est, "pairs": pairs}
