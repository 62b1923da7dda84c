"""Target preparation of the log-partition fit: which rows, origins and cells the loss sees.

From a checked posterior (rows over the grid cells, each with its origin) and the resolved
:class:`statgeo.geometry.fit_options.FitOptions`:

1. origins on a regular sub-lattice when ``max_origins`` caps them;
2. at most ``rows_per_origin`` rows per origin (the first ones; bundles are exchangeable);
3. a validation split by origin (``validation_fraction``);
4. cells on a regular sub-lattice (``cell_stride``; p renormalised over it);
5. box coordinates u = (t − c)/h ∈ [−1, 1]^d and the width scale κ₀ of the initial potential.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from statgeo.geometry.fit_options import FitOptions
from statgeo.grid import ParameterGrid

__all__ = ["FitTargets", "prepare_targets"]


@dataclass
class FitTargets:
    """The arrays a fit trains on.

    Parameters
    ----------
    P : numpy.ndarray
        Kept rows over the kept cells, shape (R, C'), rows summing to 1.
    origin : numpy.ndarray
        Flat grid index of each kept row's origin, shape (R,).
    cells : numpy.ndarray
        Flat grid indices of the kept cells, shape (C',).
    sub_shape : tuple of int
        Shape of the cell sub-lattice.
    cell_stride : int
        Its stride.
    train_rows, val_rows : numpy.ndarray
        Indices into the kept rows.
    U : numpy.ndarray
        Box coordinates of every grid point, shape (grid.size, d).
    T : numpy.ndarray
        Natural coordinates of every grid point, shape (grid.size, d).
    center, half_width : numpy.ndarray
        The box, shape (d,).
    kappa0 : float
        1 / median posterior variance in box units.
    """

    P: np.ndarray
    origin: np.ndarray
    cells: np.ndarray
    sub_shape: tuple[int, ...]
    cell_stride: int
    train_rows: np.ndarray
    val_rows: np.ndarray
    U: np.ndarray
    T: np.ndarray
    center: np.ndarray
    half_width: np.ndarray
    kappa0: float

    @property
    def diagonal(self) -> float:
        """The box diagonal in natural units."""
        return float(np.linalg.norm(2.0 * self.half_width))


def prepare_targets(P: np.ndarray, origin: np.ndarray, grid: ParameterGrid, opts: FitOptions,
                    rng: np.random.Generator) -> FitTargets:
    """Select rows, origins and cells and split them (module docstring).

    Parameters
    ----------
    P : numpy.ndarray
        Posterior rows, shape (rows, grid.size).
    origin : numpy.ndarray
        Flat origin index per row.
    grid : ParameterGrid
        The grid.
    opts : FitOptions
        Resolved options.
    rng : numpy.random.Generator
        Draws the validation origins.

    Returns
    -------
    FitTargets
    """
    T = grid.natural_points()
    lo, hi = T.min(axis=0), T.max(axis=0)
    center, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    U = (T - center) / half
    keep = _origin_sublattice(origin, grid, opts.max_origins)
    if opts.rows_per_origin is not None:
        keep &= _first_rows_per_origin(origin, opts.rows_per_origin)
    rows = np.flatnonzero(keep)
    P, origin = P[rows], origin[rows]
    kappa0 = _posterior_kappa(P, U)
    uniq = np.unique(origin)
    n_val = int(round(opts.validation_fraction * uniq.size)) if uniq.size >= 4 else 0
    val_orig = rng.choice(uniq, size=n_val, replace=False) if n_val else np.array([], dtype=np.int64)
    is_val = np.isin(origin, val_orig)
    stride = opts.cell_stride
    if isinstance(stride, str):
        stride = _auto_cell_stride(P, grid) if (grid.size > 1024 and opts.loss != "mse") else 1
    cells, sub_shape, stride = _cell_sublattice(P, grid, stride)
    if cells.size < grid.size:
        P = P[:, cells]
        P = P / P.sum(axis=1, keepdims=True)
    return FitTargets(P, origin, cells, sub_shape, int(stride), np.flatnonzero(~is_val), np.flatnonzero(is_val),
                      U, T, center, half, kappa0)


def _first_rows_per_origin(origin: np.ndarray, k: int) -> np.ndarray:
    """Mask keeping the first k rows of every origin (in row order)."""
    order = np.argsort(origin, kind="stable")
    so = origin[order]
    start = np.searchsorted(so, so, side="left")
    rank = np.empty_like(order)
    rank[order] = np.arange(so.size) - start
    return rank < k


def _posterior_kappa(P: np.ndarray, U: np.ndarray) -> float:
    """1 / (median over rows of the mean per-axis posterior variance in box coordinates u)."""
    mu = P @ U
    var = P @ (U ** 2) - mu ** 2
    v = float(np.median(var.mean(axis=1)))
    return 1.0 / max(v, 1e-8)


def _origin_sublattice(oi: np.ndarray, grid: ParameterGrid, max_origins: int | None) -> np.ndarray:
    """Mask of the rows whose origins enter the loss, at most ``max_origins`` distinct origins.

    * At most ``max_origins`` distinct origins in the posterior (e.g. rows made for a chosen
      subset of origins only): every row.
    * Rows for every grid point: the rows whose origin lies on the coarsest centred regular
      sub-lattice with at most ``max_origins`` points (:meth:`ParameterGrid.sublattice`).
    * Rows for more than ``max_origins`` but not all grid points: the rows of ``max_origins``
      of them, evenly spaced in flat index order (a regular sub-lattice of the grid could
      miss the origins present altogether).
    """
    distinct = np.unique(oi)
    if max_origins is None or distinct.size <= max_origins:
        return np.ones(oi.size, dtype=bool)
    if distinct.size < grid.size:
        chosen = distinct[np.unique(np.linspace(0, distinct.size - 1, max_origins).round().astype(np.int64))]
        return np.isin(oi, chosen)
    return np.isin(oi, grid.sublattice(max_origins))


def _auto_cell_stride(P: np.ndarray, grid: ParameterGrid) -> int:
    """Largest stride keeping ≥ 4 sub-lattice cells per median posterior sd and ≥ 1024 cells."""
    multi = np.array(np.unravel_index(np.arange(grid.size), grid.shape), dtype=np.float64).T
    mu = P @ multi
    var = P @ multi ** 2 - mu ** 2
    sd = float(np.sqrt(max(np.median(var, axis=0).min(), 0.0)))
    s = max(1, int(sd // 4))
    while s > 1 and grid.sublattice(stride=s).size < 1024:
        s -= 1
    return s


def _cell_sublattice(P: np.ndarray, grid: ParameterGrid, stride: int) -> tuple[np.ndarray, tuple[int, ...], int]:
    """Flat indices of the cell sub-lattice (:meth:`ParameterGrid.sublattice`), its shape and the
    stride used (reduced until every row keeps positive mass on it)."""
    while True:
        cells = grid.sublattice(stride=stride)
        if stride == 1 or (P[:, cells].sum(axis=1) > 0).all():
            return cells, tuple(np.unique(m).size for m in np.unravel_index(cells, grid.shape)), stride
        stride -= 1


