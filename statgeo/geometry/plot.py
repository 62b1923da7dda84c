"""Figures for the geometry layer (matplotlib; Agg when headless).

Axes are labelled from the coordinates' CF ``long_name`` and ``units`` attrs (after xarray's
``label_from_attrs``). Every function returns the ``Figure`` and, with ``path``, saves it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from statgeo.checks import check_bool
import xarray as xr

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["label_from_attrs", "plot_metric", "plot_boundaries", "plot_geodesics", "plot_reference_vs_reconstruction"]


def _plt():
    import matplotlib

    if not os.environ.get("DISPLAY") and matplotlib.get_backend().lower() not in ("agg", "pdf", "svg"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def label_from_attrs(da: Any, name: str | None = None) -> str:
    """An axis label ``long_name [units]`` (or the name) of a DataArray or coordinate.

    Parameters
    ----------
    da : xarray.DataArray or object
        Anything with CF ``attrs`` (``long_name`` or ``standard_name``, ``units``).
    name : str, optional
        Fallback label when no ``long_name``/``standard_name`` is set (default ``da.name``).

    Returns
    -------
    str
        The label; units ``"1"`` or empty are left out.

    Raises
    ------
    TypeError
        ``name`` is not a string.

    Examples
    --------
    >>> import xarray as xr
    >>> label_from_attrs(xr.DataArray([1.0], attrs={"long_name": "rate", "units": "1/s"}))
    'rate [1/s]'
    """
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string or None, got {type(name).__name__}")
    attrs = getattr(da, "attrs", {}) or {}
    if not isinstance(attrs, Mapping):
        attrs = {}
    label = attrs.get("long_name") or attrs.get("standard_name") or name or getattr(da, "name", "") or ""
    units = attrs.get("units")
    return f"{label} [{units}]" if units not in (None, "", "1") else str(label)


def _check_path(path: Any) -> None:
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or os.PathLike) or None, got {type(path).__name__}")


def _check_title(title: Any) -> None:
    if not isinstance(title, str):
        raise TypeError(f"title must be a string, got {type(title).__name__}")


def _check_map(name: str, da: Any) -> xr.DataArray:
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"{name} must be a 2-D xarray.DataArray, got {type(da).__name__}")
    if da.ndim != 2 or 0 in da.shape:
        raise ValueError(f"{name} must be a non-empty 2-D map, got dims {da.dims} and shape {da.shape}")
    if da.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {da.dtype}")
    return da


def _check_curves(name: str, curves: Any) -> list[np.ndarray]:
    if isinstance(curves, (str, bytes)) or not hasattr(curves, "__iter__"):
        raise TypeError(f"{name} must be a sequence of (k, 2) arrays, got {type(curves).__name__}")
    out = []
    for i, c in enumerate(curves):
        if isinstance(c, (str, bytes)) or c is None:
            raise TypeError(f"{name}[{i}] must be a (k, 2) array of reals, got {c!r}")
        try:
            a = np.asarray(c, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}[{i}] must be a (k, 2) array of reals") from exc
        if a.ndim != 2 or a.shape[1] != 2:
            raise ValueError(f"{name}[{i}] must have shape (k, 2), got {a.shape}")
        out.append(a)
    return out


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


def plot_metric(ds: xr.Dataset | xr.DataArray, *, var: str = "metric", path: str | os.PathLike | None = None,
                log: bool = False) -> Figure:
    """Maps of the independent metric components g_ij (i ≤ j) over a 2-D grid.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        A Dataset with ``var`` of dims (y, x, i, j) (e.g. :meth:`FittedPotential.to_dataset`)
        or that DataArray; the grid dims need coordinates.
    var : str, default "metric"
        The metric variable of a Dataset.
    path : str or os.PathLike, optional
        Save the figure there.
    log : bool, default False
        Plot log10 |g_ij| (useful near phase boundaries).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        ``ds`` is not an xarray object, or ``var``/``log``/``path`` have the wrong type.
    ValueError
        ``var`` is missing, or the metric is not 4-D (y, x, i, j).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> g = xr.DataArray(np.ones((3, 4, 2, 2)), dims=("y", "x", "i", "j"),
    ...                  coords={"y": np.arange(3.0), "x": np.arange(4.0), "i": ["a", "b"], "j": ["a", "b"]})
    >>> fig = plot_metric(g)
    >>> len(fig.axes)                     # g_aa, g_ab, g_bb and their colour bars
    6
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    if not isinstance(ds, (xr.Dataset, xr.DataArray)):
        raise TypeError(f"ds must be an xarray Dataset or DataArray, got {type(ds).__name__}")
    if not isinstance(var, str):
        raise TypeError(f"var must be a string, got {type(var).__name__}")
    check_bool("log", log)
    _check_path(path)
    if isinstance(ds, xr.Dataset) and var not in ds:
        raise ValueError(f"ds has no variable var={var!r} (variables: {sorted(ds.data_vars)})")
    g = ds[var] if isinstance(ds, xr.Dataset) else ds
    if g.ndim != 4 or 0 in g.shape:
        raise ValueError(f"metric must have dims (y, x, i, j), got {g.dims}")
    if g.dtype.kind not in "biuf":
        raise TypeError(f"metric must hold real numbers, got dtype {g.dtype}")
    plt = _plt()
    idim, jdim = g.dims[-2:]
    d = g.sizes[idim]
    comps = [(a, b) for a in range(d) for b in range(a, d)]
    fig, axes = plt.subplots(1, len(comps), figsize=(4.2 * len(comps), 3.6), squeeze=False)
    for ax, (a, b) in zip(axes[0], comps):
        m = g.isel({idim: a, jdim: b})
        na = g[idim].values[a] if idim in g.coords else a
        nb = g[jdim].values[b] if jdim in g.coords else b
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
                    path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """Boundary curves over a background map; reference curves (e.g. exact boundaries) dashed.

    Parameters
    ----------
    background : xarray.DataArray
        A 2-D map (y, x) with coordinates, e.g. the boundary score.
    curves : sequence of array_like
        Curves, each (k, 2) in (x, y) = (second, first) grid-dim order.
    reference : sequence of array_like, default ()
        Reference curves in the same layout, drawn dashed.
    path : str or os.PathLike, optional
        Save the figure there.
    title : str, default ""
        The axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        ``background`` is not a DataArray, curves are not real arrays, or ``path``/``title``
        have the wrong type.
    ValueError
        ``background`` is not a non-empty 2-D map, or a curve is not (k, 2).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> bg = xr.DataArray(np.zeros((3, 3)), dims=("y", "x"), coords={"y": [0.0, 1, 2], "x": [0.0, 1, 2]})
    >>> fig = plot_boundaries(bg, [np.array([[0.0, 1.0], [2.0, 1.0]])], title="boundary")
    >>> fig.axes[0].get_title()
    'boundary'
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    _check_map("background", background)
    curves = _check_curves("curves", curves)
    reference = _check_curves("reference", reference)
    _check_path(path)
    _check_title(title)
    fig, ax = _over_map(background, "magma")
    for c in curves:
        ax.plot(c[:, 0], c[:, 1], "c-", lw=2)
    for c in reference:
        ax.plot(c[:, 0], c[:, 1], "w--", lw=1.2)
    ax.set_title(title)
    return _finish(fig, path)


def plot_geodesics(background: xr.DataArray, paths: Sequence[np.ndarray], *, straight: bool = True,
                   path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """Geodesic paths over a background image, optionally with the straight chords (dotted).

    Parameters
    ----------
    background : xarray.DataArray
        A 2-D map (y, x) with coordinates.
    paths : sequence of array_like
        Paths, each (k, 2) in (x, y) order.
    straight : bool, default True
        Also draw the straight segment between each path's end points.
    path : str or os.PathLike, optional
        Save the figure there.
    title : str, default ""
        The axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        ``background`` is not a DataArray, paths are not real arrays, or ``straight``/``path``/
        ``title`` have the wrong type.
    ValueError
        ``background`` is not a non-empty 2-D map, or a path is not (k, 2).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> bg = xr.DataArray(np.zeros((3, 3)), dims=("y", "x"), coords={"y": [0.0, 1, 2], "x": [0.0, 1, 2]})
    >>> fig = plot_geodesics(bg, [np.array([[0.0, 0.0], [1.0, 1.5], [2.0, 2.0]])])
    >>> len(fig.axes[0].lines)            # the path and its chord
    2
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    _check_map("background", background)
    paths = _check_curves("paths", paths)
    check_bool("straight", straight)
    _check_path(path)
    _check_title(title)
    fig, ax = _over_map(background, "Greys_r")
    for p in paths:
        ax.plot(p[:, 0], p[:, 1], "-", lw=2)
        if straight:
            ax.plot(p[[0, -1], 0], p[[0, -1], 1], "k:", lw=1)
    ax.set_title(title)
    return _finish(fig, path)


def plot_reference_vs_reconstruction(reference: xr.DataArray, reconstruction: xr.DataArray, *,
                                     path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """Three panels: reference, reconstruction (same colour scale) and their difference.

    Parameters
    ----------
    reference : xarray.DataArray
        A 2-D map (y, x) with coordinates.
    reconstruction : xarray.DataArray
        The reconstruction, same shape.
    path : str or os.PathLike, optional
        Save the figure there.
    title : str, default ""
        The figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        An argument is not a DataArray, or ``path``/``title`` have the wrong type.
    ValueError
        The maps are not 2-D or differ in shape.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ref = xr.DataArray(np.eye(3), dims=("y", "x"), coords={"y": [0.0, 1, 2], "x": [0.0, 1, 2]})
    >>> fig = plot_reference_vs_reconstruction(ref, ref * 1.1)
    >>> len(fig.axes)                     # 3 panels + colour bars
    6
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    _check_map("reference", reference)
    _check_map("reconstruction", reconstruction)
    _check_path(path)
    _check_title(title)
    if reference.shape != reconstruction.shape:
        raise ValueError(f"reference and reconstruction must have the same shape, got {reference.shape} "
                         f"and {reconstruction.shape}")
    plt = _plt()
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
