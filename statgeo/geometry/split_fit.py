"""A log-partition fit across a first-order line: one fit per side, joined where rows cross.

At a first-order transition ∇Φ jumps across a line of the parameter space (the Ising
magnetisation ∂ ln Z/∂η = ⟨m⟩ jumps from −m₀ to +m₀ on η = 0 for K > K_c). Posteriors of
origins beside such a line are one-sided: crossing costs n_eff |Δ∇Φ| per unit length,
hundreds of nats per cell on a large lattice. A single smooth network then has to place a
kink that no row resolves, and it can settle on one across the whole box (a straight ridge
is what a few convex units make cheaply), the part of the line where nothing jumps
included.

:func:`fit_log_partition_split` takes the line as given (a value of one natural coordinate,
e.g. from :func:`statgeo.geometry.detect_first_order_line` on the rows) and

1. fits Φ_lower and Φ_upper separately with :func:`statgeo.geometry.fit_log_partition`, each
   on the cells of its side, from the rows whose origin lies on that side, restricted to
   those cells and renormalised. A posterior of the Bregman form conditioned on a set of
   cells keeps that form, so each side's rows are exactly what the fit models;
2. joins them: Φ = Φ_upper above the line and Φ_lower + a + ⟨b, t⟩ below. Φ is continuous
   across the line (a free energy is continuous at a first-order transition), which fixes
   a and the components of b along the line by least squares on the line's points. The
   component b_⊥ across the line, i.e. the size of the jump, is what the one-sided rows
   cannot see. Rows that do cross the line (where it ends, at a critical point, posteriors
   straddle it) show that nothing jumps where they cross: b_⊥ makes the jump zero there, as
   the mean over the crossing rows, weighted by the mass on their smaller side, of the two
   fits' difference in ∂Φ/∂t_⊥ at the line point nearest each row's centre. With no crossing
   row (posteriors narrower than a cell where the line ends) b_⊥ makes the smallest jump
   along the line zero: convexity of Φ needs every jump ≥ 0, and a line that ends inside the
   grid has no jump at its end. A warning says this choice was made.

The joined Φ is a :class:`SplitPotential` (the potential protocol); its Hessian is each
side's, the jump itself being a line of zero width. docs/geometry_fitting.md, "Across a
first-order line".
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import xarray as xr

from statgeo.checks import check_real
from statgeo.geometry._array import as_points, device_of
from statgeo.geometry.first_order_line import axis_values
from statgeo.geometry.posterior import check_grid, check_posterior, posterior_dataarray
from statgeo.geometry.posterior_diagnostics import DegeneratePosteriorWarning
from statgeo.grid import ParameterGrid
from statgeo.seeding import as_seed_sequence

__all__ = ["SplitPotential", "fit_log_partition_split"]

#: A row crosses the line when each side holds at least this much of its mass.
CROSSING_MASS = 1e-3

#: Posterior attrs that :func:`statgeo.geometry.posterior_dataarray` writes anew for a side.
_RELABELLED_ATTRS = ("grid", "grid_shape", "layout", "long_name", "units", "estimator", "n_per_bundle",
                     "effective_temperature")


class SplitPotential:
    """Φ made of two potentials joined on a hyperplane t[axis] = at of the natural coordinates.

    Φ(t) = Φ_upper(t) for t[axis] ≥ at and Φ_lower(t) + offset + ⟨slope, t⟩ below (the
    join of :func:`fit_log_partition_split`). ``value``, ``gradient`` and ``hessian``
    (= ``metric``) accept points (..., d) of any array namespace the pieces accept.

    Parameters
    ----------
    lower, upper : Potential
        The pieces (objects with ``value``, ``gradient``, ``hessian``).
    axis : int
        Index of the natural coordinate across which Φ is split.
    at : float
        Position of the line on that coordinate.
    offset : float
        Constant added to the lower piece.
    slope : array_like
        Linear term added to the lower piece, shape (d,).
    natural_names : tuple of str
        Names of the d natural coordinates.
    diagnostics : dict, optional
        The join's diagnostics (see :func:`fit_log_partition_split`).

    Raises
    ------
    TypeError
        A piece without the potential methods.
    ValueError
        ``axis`` out of range, non-finite ``at``, ``offset`` or ``slope``, or a ``slope`` of
        the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.geometry import AnalyticPotential
    >>> flat = AnalyticPotential(lambda t: 0.0 * t[..., 0])
    >>> phi = SplitPotential(flat, flat, axis=0, at=0.0, offset=0.0, slope=[-1.0],
    ...                      natural_names=("t",))
    >>> phi.value(np.array([[-2.0], [2.0]]))       # |t| from two flat pieces
    array([2., 0.])
    """

    def __init__(self, lower: Any, upper: Any, *, axis: int, at: float, offset: float, slope: Any,
                 natural_names: tuple[str, ...], diagnostics: dict | None = None) -> None:
        for name, piece in (("lower", lower), ("upper", upper)):
            if not all(callable(getattr(piece, m, None)) for m in ("value", "gradient", "hessian")):
                raise TypeError(f"{name} must be a potential (value, gradient, hessian), got {type(piece).__name__}")
        names = tuple(natural_names)
        d = len(names)
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool) or not 0 <= axis < d:
            raise ValueError(f"axis must be an integer in [0, {d}), got {axis!r}")
        try:
            slope = np.asarray(slope, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"slope must be a real array of shape ({d},), got {slope!r}") from exc
        if slope.shape != (d,) or not np.all(np.isfinite(slope)):
            raise ValueError(f"slope must be finite with shape ({d},), got {slope!r}")
        self.lower, self.upper = lower, upper
        self.axis = int(axis)
        self.at = float(check_real("at", at))
        self.offset = float(check_real("offset", offset))
        self.slope = slope
        self.natural_names = names
        self.dim = d
        self.diagnostics = diagnostics or {}

    def __repr__(self) -> str:
        return f"SplitPotential({self.natural_names[self.axis]} = {self.at:g}, natural={self.natural_names})"

    def _by_side(self, t: Any, what: str, lower_extra: Callable[[Any, Any], Any]) -> Any:
        """``what`` ("value", "gradient" or "hessian") of each piece on its own points only, plus
        ``lower_extra(points, slope)`` (the join's affine term) below the line."""
        t, xp = as_points("points", t, d=self.dim)
        up = t[..., self.axis] >= self.at
        tail = {"value": (), "gradient": (self.dim,), "hessian": (self.dim, self.dim)}[what]
        out = xp.zeros(tuple(t.shape[:-1]) + tail, dtype=t.dtype, device=device_of(t))
        slope = xp.asarray(self.slope, dtype=t.dtype, device=device_of(t))
        if bool(xp.any(up)):
            out[up] = getattr(self.upper, what)(t[up])
        if not bool(xp.all(up)):
            pts = t[~up]
            out[~up] = getattr(self.lower, what)(pts) + lower_extra(pts, slope)
        return out

    def value(self, t: Any) -> Any:
        """Φ at points t.

        Parameters
        ----------
        t : array_like
            Points of shape (..., d) in natural coordinates.

        Returns
        -------
        array
            Φ(t), shape (...), in the namespace of ``t``.
        """
        return self._by_side(t, "value", lambda pts, b: self.offset + pts @ b)

    def gradient(self, t: Any) -> Any:
        """∇Φ at points t.

        Parameters
        ----------
        t : array_like
            Points of shape (..., d) in natural coordinates.

        Returns
        -------
        array
            ∇Φ(t), shape (..., d), in the namespace of ``t``.
        """
        return self._by_side(t, "gradient", lambda pts, b: b)

    def hessian(self, t: Any) -> Any:
        """∇²Φ at points t: each side's, the jump on the line itself excluded.

        Parameters
        ----------
        t : array_like
            Points of shape (..., d) in natural coordinates.

        Returns
        -------
        array
            ∇²Φ(t), shape (..., d, d), in the namespace of ``t``.
        """
        return self._by_side(t, "hessian", lambda pts, b: 0.0)

    #: The Fisher metric ∇²Φ (the same as :meth:`hessian`).
    metric = hessian


def _split_cells(grid: ParameterGrid, axis: str, at: float) -> tuple[int, np.ndarray, np.ndarray]:
    """Natural axis index and the grid positions (along its grid axis) below and above ``at``."""
    i, v = axis_values(grid, axis)
    lower, upper = np.flatnonzero(v < at), np.flatnonzero(v >= at)
    if lower.size < 2 or upper.size < 2:
        raise ValueError(f"at must leave at least 2 grid points of {axis!r} on each side: got {lower.size} "
                         f"below and {upper.size} at or above {at!r} (values {v.min():g} .. {v.max():g})")
    return i, lower, upper


def _side_posterior(probs: np.ndarray, origins: np.ndarray, attrs: dict, n_eff: float, grid: ParameterGrid,
                    axis: int, positions: np.ndarray) -> tuple[xr.DataArray, ParameterGrid]:
    """Rows whose origin lies on one side, restricted to that side's cells and renormalised."""
    sub = grid.isel(**{grid.names[axis]: positions})
    cells = np.take(np.arange(grid.size).reshape(grid.shape), positions, axis=axis).ravel()
    where = np.full(grid.size, -1)
    where[cells] = np.arange(cells.size)
    origin = where[origins]
    rows = np.flatnonzero(origin >= 0)
    if rows.size == 0:
        raise ValueError(f"no posterior row has its origin on the side of the line at grid positions "
                         f"{positions.min()}..{positions.max()} of {grid.names[axis]!r}")
    p = probs[rows][:, cells]
    mass = p.sum(axis=1, keepdims=True)
    keep = mass[:, 0] > 0
    rest = {k: v for k, v in attrs.items() if k not in _RELABELLED_ATTRS}
    out = posterior_dataarray(p[keep] / mass[keep], sub, origin[rows][keep],
                              estimator=str(attrs.get("estimator", "unknown")),
                              n_per_bundle=int(attrs.get("n_per_bundle", 1)),
                              effective_temperature=n_eff,
                              attrs=rest)
    return out, sub


def fit_log_partition_split(posterior: xr.DataArray, grid: ParameterGrid, *, axis: str, at: float,
                            seed: int | np.random.SeedSequence = 0, **fit_options: Any) -> SplitPotential:
    """Fit Φ on each side of a first-order line t[axis] = at and join the two fits (module docstring).

    Φ = Φ_upper on t[axis] ≥ at, Φ_lower + a + ⟨b, t⟩ below: a and the components of b along
    the line make Φ continuous on it (least squares over its points); b_⊥ makes the jump of
    ∂Φ/∂t[axis] zero where rows cross the line (at least ``CROSSING_MASS`` of their mass on
    each side; a mean weighted by that mass), or, when no row crosses, zero where it is
    smallest.

    Parameters
    ----------
    posterior : xarray.DataArray
        Labelled posteriors over ``grid`` (dims ``origin``, ``cell``).
    grid : ParameterGrid
        Their grid; ``axis`` must be a natural coordinate that varies along one grid axis.
    axis : str
        Name of the natural coordinate across which ∇Φ jumps (e.g. ``"eta"``).
    at : float
        Position of the line; cells with t[axis] ≥ at form the upper side. Each side needs
        ≥ 2 grid points along ``axis``.
    seed : int or numpy.random.SeedSequence, default 0
        Seeds both fits (one child each).
    **fit_options
        Passed to :func:`statgeo.geometry.fit_log_partition` for both sides.

    Returns
    -------
    SplitPotential
        With ``diagnostics``: ``lower`` and ``upper`` (the two fits' diagnostics),
        ``crossing_rows``, ``jump_identified``, ``continuity_rms`` (RMS of the value mismatch
        left on the line after the join, in units of Φ) and ``jump`` (the jump of ∂Φ/∂t[axis]
        at the line's points, upper minus lower, with their coordinates in ``line_points``).

    Raises
    ------
    TypeError
        A posterior or grid of the wrong type.
    ValueError
        An unknown ``axis``, a coordinate that varies along several grid axes, ``at`` leaving
        fewer than 2 grid points on a side, a side without rows, or invalid fit options.

    Warns
    -----
    DegeneratePosteriorWarning
        No row crosses the line, so the size of the jump was set by the rule above.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> from statgeo.geometry import exact_posterior
    >>> g = ParameterGrid.from_ranges(x=(-1.0, 1.0, 8), y=(-1.0, 1.0, 8))
    >>> t = g.natural_points()
    >>> phi = 0.5 * (t ** 2).sum(1) + np.abs(t[:, 1])            # a kink along y = 0
    >>> grad = t + np.stack([0 * t[:, 1], np.sign(t[:, 1])], 1)
    >>> post = exact_posterior(np.repeat(grad[:, None], 16, 1), g, phi, 16, average=False)
    >>> fit = fit_log_partition_split(post, g, axis="y", at=0.0, max_steps=20)
    >>> fit.gradient(np.array([[0.0, -0.5], [0.0, 0.5]])).shape
    (2, 2)
    """
    from statgeo.geometry.logpartition import fit_log_partition

    grid = check_grid(grid)
    probs, origins = check_posterior(posterior, grid)
    probs = np.asarray(probs, dtype=np.float64)
    origins = np.asarray(origins, dtype=np.int64)
    if not isinstance(axis, str):
        raise TypeError(f"axis must be the name of a natural coordinate, got {axis!r}")
    at = float(check_real("at", at))
    i, low_pos, up_pos = _split_cells(grid, axis, at)
    n_eff = fit_options.get("n_eff") or posterior.attrs.get("effective_temperature")
    if n_eff is None:
        raise ValueError("n_eff is needed: pass n_eff= or a posterior with attrs['effective_temperature']")
    n_eff = float(check_real("n_eff", n_eff, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))
    ss = as_seed_sequence(seed)
    s_low, s_up = ss.spawn(2)
    sides = {}
    for name, positions, s in (("lower", low_pos, s_low), ("upper", up_pos, s_up)):
        sub_post, sub_grid = _side_posterior(probs, origins, dict(posterior.attrs), n_eff, grid, i,
                                             positions)
        # each side is the line's own side: no line to look for in it
        sides[name] = fit_log_partition(sub_post, sub_grid, seed=s, **{**fit_options, "check_line": False})
    lower, upper = sides["lower"], sides["upper"]

    # The line's points: the other coordinates of the cells beside it, t[axis] = at.
    t_all = grid.natural_points()
    tg = t_all.reshape(*grid.shape, grid.ndim)
    line = np.take(tg, [up_pos[0]], axis=i).reshape(-1, grid.ndim).copy()
    line[:, i] = at
    jump_v = upper.value(line) - lower.value(line)
    others = [k for k in range(grid.ndim) if k != i]
    X = np.concatenate([np.ones((line.shape[0], 1)), line[:, others]], axis=1)
    coef, *_ = np.linalg.lstsq(X, jump_v, rcond=None)
    offset, slope = float(coef[0]), np.zeros(grid.ndim)
    slope[others] = coef[1:]
    d_perp = upper.gradient(line)[:, i] - lower.gradient(line)[:, i]

    # Rows that cross the line show where nothing jumps: the jump is zero at their place on it.
    mass_below = probs[:, t_all[:, i] < at].sum(axis=1)
    mass_across = np.minimum(mass_below, 1.0 - mass_below)
    crossing = np.flatnonzero(mass_across >= CROSSING_MASS)
    identified = crossing.size > 0
    if identified:
        centres = probs[crossing] @ t_all[:, others]
        scale = np.ptp(line[:, others], axis=0) + 1e-300
        nearest = np.argmin((((centres[:, None, :] - line[None, :, others]) / scale) ** 2).sum(-1), axis=1)
        w = mass_across[crossing]
        b_perp = float(np.sum(w * d_perp[nearest]) / np.sum(w))
    else:
        b_perp = float(np.min(d_perp))
        warnings.warn(f"no posterior row crosses the line {axis} = {at:g}, so the size of the jump of ∂Φ/∂{axis} "
                      "across it is not identified by the rows; it was set to the smallest jump convexity allows "
                      "(zero where it is smallest), which is right when the line ends inside the grid",
                      DegeneratePosteriorWarning, stacklevel=2)
    # b_⊥ enters as b_⊥ (t[axis] − at), so the value on the line stays continuous
    slope[i] = b_perp
    offset -= b_perp * at
    residual = jump_v - X @ coef
    diagnostics = {
        "axis": axis, "at": at, "crossing_rows": int(crossing.size), "jump_identified": bool(identified),
        "continuity_rms": float(np.sqrt(np.mean(residual ** 2))),
        "line_points": line, "jump": d_perp - b_perp,
        "lower": lower.diagnostics, "upper": upper.diagnostics,
    }
    return SplitPotential(lower, upper, axis=i, at=at, offset=offset, slope=slope,
                          natural_names=grid.natural_names, diagnostics=diagnostics)
