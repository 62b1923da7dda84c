"""Diagnostics of posteriors on a grid, and the warning when they cannot carry a metric.

A posterior p(t | bundle) carries the metric through its shape. Two failures make that
impossible and used to pass silently: a posterior narrower than a grid cell (the grid cannot
resolve its curvature: every row is a spike at one cell) and a posterior nearly as wide as the
box (it carries almost no information; its shape is the box's). :func:`posterior_diagnostics`
measures both, in units a user can act on:

* ``width_cells``: per axis, the median over rows of the posterior standard deviation in grid
  cells, sd_i / Δ_i (natural coordinates, Δ_i the mean cell size of axis i);
* ``width_box``: the same in units of the axis extent;
* ``kl_to_uniform``: mean over rows of KL(p ‖ uniform) = Σ_t p ln(C p) in nats (0 for a flat
  posterior, ln C for a spike);
* ``effective_temperature``: the temperature recorded with the posterior.

:func:`warn_if_degenerate` warns (``DegeneratePosteriorWarning``) when a median width is below
half a cell or above a quarter of the box (docs/geometry_fitting.md, "Defaults and diagnostics").
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from statgeo.grid import ParameterGrid

__all__ = [
    "MAX_WIDTH_BOX",
    "MIN_WIDTH_CELLS",
    "DegeneratePosteriorWarning",
    "posterior_diagnostics",
    "warn_if_degenerate",
]

#: median posterior sd below this many cells: the grid cannot resolve the posterior
MIN_WIDTH_CELLS = 0.5
#: median posterior sd above this fraction of the axis extent: nearly uninformative
MAX_WIDTH_BOX = 0.25


class DegeneratePosteriorWarning(UserWarning):
    """A posterior (or a fit to it) that cannot carry the metric: too sharp for the grid or nearly flat."""


def posterior_diagnostics(posterior: xr.DataArray | np.ndarray, grid: ParameterGrid) -> dict:
    """Width in cells and in box units, KL to the uniform posterior, and the effective temperature.

    Parameters
    ----------
    posterior : xarray.DataArray or numpy.ndarray
        Rows over the grid cells, shape (R, grid.size), rows summing to 1.
    grid : ParameterGrid
        The grid the posterior is over.

    Returns
    -------
    dict
        ``width_cells`` and ``width_box`` (lists, one per axis), ``kl_to_uniform`` (nats),
        ``kl_to_uniform_max`` (ln C), ``effective_temperature`` (NaN if not recorded),
        ``rows``.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid.
    ValueError
        ``posterior`` does not have grid.size columns.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(a=(0.0, 1.0, 11))
    >>> d = posterior_diagnostics(np.full((2, 11), 1 / 11), g)
    >>> round(d["kl_to_uniform"], 12), round(d["width_cells"][0], 3)
    (0.0, 3.162)
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a ParameterGrid, got {type(grid).__name__}")
    attrs = posterior.attrs if isinstance(posterior, xr.DataArray) else {}
    P = np.asarray(posterior.values if isinstance(posterior, xr.DataArray) else posterior, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] != grid.size:
        raise ValueError(f"posterior must have shape (rows, {grid.size}), got {P.shape}")
    T = grid.natural_points()
    extent = T.max(0) - T.min(0)
    cell = extent / np.maximum(np.array(grid.shape) - 1, 1)
    mu = P @ T
    sd = np.sqrt(np.maximum(P @ T ** 2 - mu ** 2, 0.0))
    med = np.median(sd, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(P > 0, P * np.log(P * grid.size), 0.0).sum(1)
    return {
        "width_cells": [float(v) for v in med / cell],
        "width_box": [float(v) for v in med / extent],
        "kl_to_uniform": float(kl.mean()),
        "kl_to_uniform_max": float(np.log(grid.size)),
        "effective_temperature": float(attrs.get("effective_temperature", np.nan)),
        "rows": int(P.shape[0]),
    }


def warn_if_degenerate(diagnostics: dict, what: str = "posterior") -> list[str]:
    """Warn when the diagnostics show a posterior too sharp for the grid or nearly flat.

    Parameters
    ----------
    diagnostics : dict
        Output of :func:`posterior_diagnostics`.
    what : str, default "posterior"
        Names the object in the message.

    Returns
    -------
    list of str
        The problems found (empty if none); each is also emitted as a
        :class:`DegeneratePosteriorWarning`.

    Raises
    ------
    KeyError
        ``diagnostics`` lacks ``width_cells`` or ``width_box``.
    """
    problems = []
    wc, wb = diagnostics["width_cells"], diagnostics["width_box"]
    for i, (c, b) in enumerate(zip(wc, wb)):
        if c < MIN_WIDTH_CELLS:
            problems.append(f"{what}: median width along axis {i} is {c:.2f} grid cells (< {MIN_WIDTH_CELLS}); "
                            "the grid cannot resolve its shape, so the metric is not identified: use a finer "
                            "grid, fewer samples per bundle, or a coarser posterior")
        elif b > MAX_WIDTH_BOX:
            problems.append(f"{what}: median width along axis {i} is {b:.2f} of the box (> {MAX_WIDTH_BOX}); it "
                            "is nearly uninformative: use more samples per bundle, a larger box, or train the "
                            "estimator longer")
    for msg in problems:
        warnings.warn(msg, DegeneratePosteriorWarning, stacklevel=3)
    return problems
