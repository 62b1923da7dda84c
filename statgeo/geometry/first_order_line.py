"""Where the posteriors see a first-order line: rows that stop dead at a cut of the grid.

Across a first-order line ∇Φ jumps, and a posterior p(t | bundle) ∝ exp(n[⟨a, t⟩ − Φ(t)])
whose origin lies beside it is cut off there: crossing costs n |Δ∇Φ| per unit length, far
more than the posterior's own width pays. Away from such a line an exponential family's
posterior is log-concave in the natural coordinates (⟨a, t⟩ − Φ(t) is concave), so along
one coordinate its tails fall off no faster than its bulk says. :func:`detect_first_order_line`
reads that difference, one natural coordinate s at a time, on each row's marginal along s:

* its centre c and standard deviation σ (in s);
* for each cut between consecutive grid values, at a = (s_k + s_{k+1}) / 2, the mass the row
  puts beyond the cut on the side away from c, observed O and expected under a normal of the
  row's own centre and width, E = Φ_N(−|a − c| / σ);
* the row *reaches* the cut when E ≥ ``min_expected``, and it *sees a wall* there when it
  reaches it and O ≤ ``contrast`` · E.

A cut is a line when at least ``min_rows`` rows see a wall there; the line reported is the
cut with most walls over all coordinates searched. A log-concave row sees no wall anywhere
(its mass beyond a cut within 1.64 σ of its centre is a sizeable fraction of the normal's),
so on single-bundle rows of an exponential family the count away from a line is zero, not
merely small; next to a line, rows that it cuts off also stop short of the neighbouring cuts
(fewer than at the line itself). How many rows reach the cut without seeing a wall (where the
line ends, rows cross it) does not enter. Rows narrower than a cell reach no cut and vote for
nothing, so a line is found only where the grid resolves the posteriors beside it.

Mixtures are not log-concave: a bundle-averaged row made of two separate bumps falls off
beyond each bump faster than its overall width says and can see walls that are not there.
Run the detector on single-bundle rows (``average=False``), as :func:`fit_log_partition_split`
is then given the line's coordinate and position.

docs/geometry_fitting.md, "Finding the line".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import xarray as xr
from scipy.special import ndtr

from statgeo.checks import check_int, check_real
from statgeo.geometry.posterior import check_grid, check_posterior
from statgeo.grid import ParameterGrid

__all__ = ["FirstOrderLine", "detect_first_order_line"]


@dataclass(frozen=True)
class FirstOrderLine:
    """The result of :func:`detect_first_order_line` (its fields are the parameters).

    Parameters
    ----------
    found : bool
        Whether a cut met the criteria.
    axis : str or None
        The natural coordinate across which the line lies (None when nothing was found).
    at : float or None
        Its position: the midpoint between the two grid values it separates.
    wall_rows : int
        Rows that see a wall at that cut.
    reaching_rows : int
        Rows that reach it (those that see a wall included).
    wall_centres : numpy.ndarray
        Centres (natural coordinates, shape (wall_rows, d)) of the rows that see the wall:
        where along the line it is seen.
    natural_names : tuple of str
        Names of the d natural coordinates (the columns of ``wall_centres``).
    votes : dict of str to xarray.Dataset
        Per coordinate searched, ``wall`` and ``reaching`` row counts at every cut, over
        the dim ``at``.
    """

    found: bool
    axis: str | None
    at: float | None
    wall_rows: int
    reaching_rows: int
    wall_centres: np.ndarray
    natural_names: tuple[str, ...]
    votes: dict[str, xr.Dataset] = field(repr=False)

    def extent(self, name: str) -> tuple[float, float]:
        """Range along another natural coordinate over which rows see the line.

        Parameters
        ----------
        name : str
            A natural coordinate other than :attr:`axis`.

        Returns
        -------
        tuple of float
            Smallest and largest centre, along ``name``, of the rows that see the wall.

        Raises
        ------
        ValueError
            Nothing was found, or ``name`` is not another coordinate of the grid.
        """
        if not self.found:
            raise ValueError("no line was found, so it has no extent")
        choices = [n for n in self.natural_names if n != self.axis]
        if name not in choices:
            raise ValueError(f"name must be one of the other coordinates {choices}, got {name!r}")
        c = self.wall_centres[:, self.natural_names.index(name)]
        return float(c.min()), float(c.max())


def axis_values(grid: ParameterGrid, name: str) -> tuple[int, np.ndarray]:
    """Index and grid values of a natural coordinate that varies along one grid axis only.

    Parameters
    ----------
    grid : ParameterGrid
        The grid.
    name : str
        A natural coordinate of it.

    Returns
    -------
    tuple of (int, numpy.ndarray)
        The coordinate's index i (it varies along grid axis i) and its n_i values there.

    Raises
    ------
    ValueError
        An unknown ``name``, or a coordinate that varies along several grid axes.
    """
    if name not in grid.natural_names:
        raise ValueError(f"axis must be one of the natural coordinates {grid.natural_names}, got {name!r}")
    i = grid.natural_names.index(name)
    t = grid.natural_points().reshape(*grid.shape, grid.ndim)[..., i]
    line = np.moveaxis(t, i, 0).reshape(grid.shape[i], -1)
    if np.any(np.ptp(line, axis=1) > 1e-9 * (np.abs(line).max() + 1.0)):
        raise ValueError(f"the line needs a natural coordinate that varies along one grid axis only; "
                         f"{name!r} also varies along the others")
    return i, line[:, 0].copy()


def _cut_votes(marginal: np.ndarray, values: np.ndarray, contrast: float,
               min_expected: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row and cut: reaches, sees a wall; and the cuts' positions (values increasing)."""
    order = np.argsort(values)
    v, m = values[order], marginal[:, order]
    c = m @ v
    sd = np.sqrt(np.maximum(m @ v ** 2 - c ** 2, 0.0))
    cuts = 0.5 * (v[:-1] + v[1:])
    cuts[np.abs(cuts) < 1e-12 * (v[-1] - v[0])] = 0.0        # a symmetric axis's middle is 0, not ±1e-17
    below = np.cumsum(m, axis=1)[:, :-1]
    far = np.where(cuts[None, :] < c[:, None], below, 1.0 - below)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(cuts[None, :] - c[:, None]) / sd[:, None]
    expected = np.where(sd[:, None] > 0, ndtr(-np.nan_to_num(z, nan=np.inf, posinf=np.inf)), 0.0)
    reaches = expected >= min_expected
    wall = reaches & (far <= contrast * expected)
    return reaches, wall, cuts


def detect_first_order_line(posterior: xr.DataArray, grid: ParameterGrid, *,
                            axes: Sequence[str] | None = None, contrast: float = 0.01,
                            min_expected: float = 0.05, min_rows: int = 5) -> FirstOrderLine:
    """Find the cut of the grid where posteriors stop dead: a first-order line (module docstring).

    A row reaches the cut at a when a normal of its own centre c and width σ along the
    coordinate would put E = Φ_N(−|a − c| / σ) ≥ ``min_expected`` beyond it, and sees a wall
    there when it puts at most ``contrast`` · E there. A cut is a line when ≥ ``min_rows``
    rows see a wall; the line returned is the cut with most walls.

    Parameters
    ----------
    posterior : xarray.DataArray
        Labelled posteriors over ``grid`` (dims ``origin``, ``cell``), single-bundle rows
        (a mixture of separate bumps can fake walls beyond them).
    grid : ParameterGrid
        Their grid.
    axes : sequence of str, optional
        Natural coordinates to search (default: every one that varies along one grid axis
        only).
    contrast : float, default 0.01
        Largest ratio of observed to expected mass beyond the cut that counts as a wall, in
        (0, 1).
    min_expected : float, default 0.05
        Smallest expected mass beyond the cut for a row to reach it, in (0, 0.5].
    min_rows : int, default 5
        Fewest rows that must see the wall, ≥ 1.

    Returns
    -------
    FirstOrderLine
        ``found``, ``axis`` and ``at`` (None when nothing was found), the counts, the wall
        rows' centres and the votes at every cut.

    Raises
    ------
    TypeError
        A posterior or grid of the wrong type, or ``axes`` not a sequence of names.
    ValueError
        An unknown coordinate, one that varies along several grid axes (or, with ``axes``
        None, no coordinate that follows the grid), or an option out of its range.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> from statgeo.geometry import exact_posterior
    >>> g = ParameterGrid.from_ranges(x=(-1.0, 1.0, 16), y=(-1.0, 1.0, 16))
    >>> t = g.natural_points()
    >>> phi = 2 * (t ** 2).sum(1) + 20 * np.abs(t[:, 1])          # ∂Φ/∂y jumps by 40 on y = 0
    >>> grad = 4 * t + np.stack([0 * t[:, 1], 20 * np.sign(t[:, 1])], 1)
    >>> post = exact_posterior(np.repeat(grad[:, None], 8, 1), g, phi, 8, average=False)
    >>> line = detect_first_order_line(post, g)
    >>> line.found, line.axis, round(line.at, 6), line.wall_rows
    (True, 'y', 0.0, 32)
    """
    grid = check_grid(grid)
    if axes is None:
        names = searchable_axes(grid)
        if not names:
            raise ValueError(f"no natural coordinate of {grid.natural_names} varies along one grid axis only, "
                             "so no cut of the grid is a hyperplane of them to search")
    else:
        if isinstance(axes, str) or not isinstance(axes, Sequence) or not all(isinstance(a, str) for a in axes):
            raise TypeError(f"axes must be a sequence of natural coordinate names, got {axes!r}")
        names = list(dict.fromkeys(axes))
        if not names:
            raise ValueError(f"axes must name at least one of {grid.natural_names}, got {axes!r}")
        for name in names:
            axis_values(grid, name)  # raises for a coordinate that does not follow one grid axis
    contrast = float(check_real("contrast", contrast, low=0.0, high=1.0, low_inclusive=False,
                                high_inclusive=False))
    min_expected = float(check_real("min_expected", min_expected, low=0.0, high=0.5, low_inclusive=False))
    min_rows = check_int("min_rows", min_rows, min=1)
    probs, _ = check_posterior(posterior, grid)
    return line_in_rows(probs, grid, names, contrast=contrast, min_expected=min_expected, min_rows=min_rows)


def searchable_axes(grid: ParameterGrid) -> list[str]:
    """The natural coordinates that vary along one grid axis only (a cut of the grid is a line of them).

    Parameters
    ----------
    grid : ParameterGrid
        The grid.

    Returns
    -------
    list of str
    """
    names = []
    for name in grid.natural_names:
        try:
            axis_values(grid, name)
            names.append(name)
        except ValueError:
            pass
    return names


def line_in_rows(probs: Any, grid: ParameterGrid, names: Sequence[str], *, contrast: float = 0.01,
                 min_expected: float = 0.05, min_rows: int = 5) -> FirstOrderLine:
    """:func:`detect_first_order_line` on rows and options already checked (no validation here).

    Parameters
    ----------
    probs : array_like
        Posterior rows, shape (R, grid.size), each summing to 1.
    grid : ParameterGrid
        Their grid.
    names : sequence of str
        Natural coordinates to search, each varying along one grid axis only.
    contrast, min_expected, min_rows
        As in :func:`detect_first_order_line`.

    Returns
    -------
    FirstOrderLine
    """
    probs = np.asarray(probs, dtype=np.float64)
    cube = probs.reshape(probs.shape[0], *grid.shape)
    best: tuple[Any, ...] | None = None
    votes: dict[str, xr.Dataset] = {}
    for name in names:
        i, values = axis_values(grid, name)
        others = tuple(k + 1 for k in range(grid.ndim) if k != i)
        reaches, wall, cuts = _cut_votes(cube.sum(axis=others), values, contrast, min_expected)
        n_wall, n_reach = wall.sum(axis=0), reaches.sum(axis=0)
        votes[name] = xr.Dataset({"wall": ("at", n_wall), "reaching": ("at", n_reach)},
                                 coords={"at": cuts}, attrs={"axis": name})
        k = int(np.argmax(n_wall))
        if n_wall[k] >= min_rows and (best is None or n_wall[k] > best[2]):
            best = (name, float(cuts[k]), int(n_wall[k]), int(n_reach[k]), wall[:, k])
    if best is None:
        return FirstOrderLine(found=False, axis=None, at=None, wall_rows=0, reaching_rows=0,
                              wall_centres=np.zeros((0, grid.ndim)), natural_names=grid.natural_names,
                              votes=votes)
    name, at, n_wall, n_reach, rows = best
    return FirstOrderLine(found=True, axis=name, at=at, wall_rows=n_wall, reaching_rows=n_reach,
                          wall_centres=probs[rows] @ grid.natural_points(), natural_names=grid.natural_names,
                          votes=votes)
