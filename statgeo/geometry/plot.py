"""Figures for the geometry layer (matplotlib; Agg when headless).

Axes are labelled from the coordinates' CF ``long_name`` and ``units`` attrs (after xarray's
``label_from_attrs``). Every function returns the ``Figure`` and, with ``path``, saves it.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import xarray as xr

__all__ = ["label_from_attrs", "plot_metric", "plot_boundaries", "plot_geodesics", "plot_reference_vs_reconstruction"]


def _plt():
    import matplotlib

    if not os.environ.get("DISPLAY") and matplotlib.get_backend().lower() not in ("agg", "pdf", "svg"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def label_from_attrs(da: Any, name: str | None = None) -> str:
    """``long_name [units]`` (or the name) of a DataArray / coordinate."""
    attrs = getattr(da, "attrs", {}) or {}
    label = attrs.get("long_name") or attrs.get("standard_name") or name or getattr(da, "name", "") or ""
    units = attrs.get("units")
    return f"{label} [{units}]" if units not in (None, "", "1") else str(label)


def _image(ax, da: xr.DataArray, cmap: str = "viridis", **kw):
    if da.ndim != 2:
        raise ValueError(f"expected a 2-D map, got dims {da.dims}")
    y, x = da.dims
    m = ax.pcolormesh(da[x].values, da[y].values, da.values, shading="auto", cmap=cmap, **kw)
    ax.set_xlabel(label_from_attrs(da[x], x))
    ax.set_ylabel(label_from_attrs(da[y], y))
    return m


def _finish(fig, path):
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def plot_metric(ds: xr.Dataset | xr.DataArray, *, var: str = "metric", path: str | None = None, log: bool = False):
    """Maps of the independent metric components g_ij (i ≤ j) over a 2-D grid.

    ``ds`` is a Dataset with ``var`` of dims (y, x, i, j) (e.g. :meth:`FittedPotential.to_dataset`)
    or that DataArray. ``log``: plot log10 |g_ij| (useful near phase boundaries).
    """
    plt = _plt()
    g = ds[var] if isinstance(ds, xr.Dataset) else ds
    if g.ndim != 4:
        raise ValueError(f"metric must have dims (y, x, i, j), got {g.dims}")
    idim, jdim = g.dims[-2:]
    d = g.sizes[idim]
    comps = [(a, b) for a in range(d) for b in range(a, d)]
    fig, axes = plt.subplots(1, len(comps), figsize=(4.2 * len(comps), 3.6), squeeze=False)
    for ax, (a, b) in zip(axes[0], comps):
        m = g.isel({idim: a, jdim: b})
        na, nb = g[idim].values[a], g[jdim].values[b]
        vals = np.log10(np.abs(m) + 1e-300) if log else m
        im = _image(ax, vals.assign_attrs(m.attrs))
        ax.set_title(("log10 |g| " if log else "g ") + f"[{na}, {nb}]")
        fig.colorbar(im, ax=ax)
    return _finish(fig, path)


def _over_map(background: xr.DataArray, cmap: str):
    """One axes with ``background`` as a labelled image and its colour bar, for curves on top."""
    fig, ax = _plt().subplots(figsize=(5, 4.2))
    fig.colorbar(_image(ax, background, cmap=cmap), ax=ax, label=label_from_attrs(background))
    return fig, ax


def plot_boundaries(background: xr.DataArray, curves: Sequence[np.ndarray], *, reference: Sequence[np.ndarray] = (),
                    path: str | None = None, title: str = ""):
    """Boundary curves (each (k, 2) in (x, y) = (second, first) grid dims) over a background map;
    ``reference`` curves (e.g. exact phase boundaries) dashed."""
    fig, ax = _over_map(background, "magma")
    for c in curves:
        c = np.asarray(c)
        ax.plot(c[:, 0], c[:, 1], "c-", lw=2)
    for c in reference:
        c = np.asarray(c)
        ax.plot(c[:, 0], c[:, 1], "w--", lw=1.2)
    ax.set_title(title)
    return _finish(fig, path)


def plot_geodesics(background: xr.DataArray, paths: Sequence[np.ndarray], *, straight: bool = True,
                   path: str | None = None, title: str = ""):
    """Geodesic paths (each (k, 2) in (x, y) order) over a background image, optionally with the
    straight segments between their end points (dotted)."""
    fig, ax = _over_map(background, "Greys_r")
    for p in paths:
        p = np.asarray(p)
        ax.plot(p[:, 0], p[:, 1], "-", lw=2)
        if straight:
            ax.plot(p[[0, -1], 0], p[[0, -1], 1], "k:", lw=1)
    ax.set_title(title)
    return _finish(fig, path)


def plot_reference_vs_reconstruction(reference: xr.DataArray, reconstruction: xr.DataArray, *,
                                     path: str | None = None, title: str = ""):
    """Three panels: reference, reconstruction (same colour scale) and their difference."""
    plt = _plt()
    if reference.shape != reconstruction.shape:
        raise ValueError(f"reference and reconstruction must have the same shape, got {reference.shape} "
                         f"and {reconstruction.shape}")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    lo = float(min(reference.min(), reconstruction.min()))
    hi = float(max(reference.max(), reconstruction.max()))
    for ax, da, t in ((axes[0], reference, "reference"), (axes[1], reconstruction, "reconstruction")):
        fig.colorbar(_image(ax, da, vmin=lo, vmax=hi), ax=ax)
        ax.set_title(t)
    diff = (reconstruction - reference.values).assign_attrs(reference.attrs)
    fig.colorbar(_image(axes[2], diff, cmap="RdBu_r"), ax=axes[2])
    axes[2].set_title("difference")
    if title:
        fig.suptitle(title)
    return _finish(fig, path)
