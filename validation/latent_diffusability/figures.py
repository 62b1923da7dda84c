"""Figures of the latent-diffusability study (matplotlib, no global pyplot state).

* :func:`plot_fisher_rate` -- I(tau) and -R(tau) of the pixel model and the scale-corrected
  latent curves of every encoder, log-log against the pixel noise variance tau;
* :func:`plot_penalties` -- compression, tangential and curvature penalties and the total FIR
  deviation per encoder;
* :func:`plot_scatter` -- each diagnostic against the Frechet distance of the samples;
* :func:`write_figures` -- all three as PNG files.

Missing values (``None``, NaN, non-positive values on a log axis) are skipped, so the figures
can be drawn for a single encoder, a single seed or a partial result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from statgeo.checks import check_path
from validation.latent_diffusability.result_fields import as_number, check_result, field, output_dir

__all__ = ["plot_fisher_rate", "plot_penalties", "plot_scatter", "write_figures"]

#: bars of :func:`plot_penalties`, in order
PENALTY_BARS = ("compression", "tangential", "curvature", "fir_deviation")

_LABELS = {"fi_deviation": "FI deviation", "fir_deviation": "FIR deviation (total)",
           "mmse_rate_deviation": "MMSE-rate deviation", "recon_mse": "reconstruction MSE",
           "compression": "compression", "tangential": "tangential", "curvature": "curvature"}

_DPI = 120


# ----------------------------------------------------------------------------- helpers
def _arr(values: Any, n: int | None = None) -> np.ndarray:
    """A float array of ``values`` (None -> NaN), NaN-padded or cut to length ``n``."""
    if values is None:
        a = np.full(0, np.nan)
    else:
        a = np.asarray([as_number(v) for v in values], dtype=float)
    if n is not None and a.size != n:
        b = np.full(n, np.nan)
        b[: min(n, a.size)] = a[:n]
        a = b
    return a


def _check(res: Any, path: Any) -> tuple[Mapping, Path]:
    res = check_result(res)
    p = Path(check_path("path", path))
    if p.is_dir():
        raise ValueError(f"path must be a file name, got the directory {p}")
    p.parent.mkdir(parents=True, exist_ok=True)
    return res, p


def _value(entry: Mapping, name: str) -> float:
    """Diagnostic ``name`` of an encoder or per-seed entry (NaN when absent)."""
    return as_number(field(entry, name))


def _quality(entry: Mapping, name: str = "frechet_distance") -> float:
    q = entry.get("quality")
    return as_number(q.get(name)) if isinstance(q, Mapping) else math.nan


def _seed_values(entry: Mapping, name: str, quality: bool = False) -> np.ndarray:
    """Finite per-seed values of a diagnostic (or of a quality measure when ``quality``)."""
    vals = [(_quality(s, name) if quality else _value(s, name))
            for s in (entry.get("per_seed") or []) if isinstance(s, Mapping)]
    a = np.asarray(vals, dtype=float)
    return a[np.isfinite(a)]


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, dpi=_DPI)


def _logplot(ax, x: np.ndarray, y: np.ndarray, err: np.ndarray, **kw) -> bool:
    """Plot the positive finite points of ``y`` (with error bars ``err`` where finite)."""
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if not ok.any():
        return False
    e = np.where(np.isfinite(err[ok]), np.abs(err[ok]), 0.0)
    lower = np.minimum(e, 0.999 * y[ok])  # keep the lower bar on a log axis
    ax.errorbar(x[ok], y[ok], yerr=[lower, e], capsize=2, **kw)
    return True


# ----------------------------------------------------------------------------- figures
def plot_fisher_rate(res: dict, path: Path) -> None:
    """Fisher information I and its rate -R against the pixel noise variance tau, log-log.

    The pixel model (first seed) is drawn in black. For an encoder with scale c the profile
    stores I_z and R_z at the latent noise c^2 tau, in the order of ``res["taus"]``; the drawn
    scale-corrected curves are I~(tau) = c^2 I_z(c^2 tau) and -R~(tau) = -c^4 R_z(c^2 tau)
    (first seed, error bars = the profiles' standard errors scaled the same way). Encoders
    without a finite positive scale, and non-positive or missing points, are skipped.

    Parameters
    ----------
    res : dict
        The study's result dictionary (uses ``taus``, ``pixel.profiles``, ``encoders``).
    path : pathlib.Path or str
        Output PNG file; its directory is created if missing.

    Raises
    ------
    TypeError
        ``res`` or ``res["encoders"]`` is not a dict, or ``path`` is not a path.
    ValueError
        ``path`` is an existing directory or empty.
    """
    res, path = _check(res, path)
    taus = _arr(res.get("taus"))
    n = taus.size
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_i, ax_r = fig.subplots(1, 2)
    curves = [("pixel", 1.0, ((res.get("pixel") or {}).get("profiles") or [None])[0], "black")]
    names = list((res.get("encoders") or {}).keys())
    for name, col in zip(names, _colours(len(names))):
        e = res["encoders"][name]
        profs = e.get("profiles") or [None]
        curves.append((name, as_number(e.get("scale")), profs[0], col))
    for name, c, prof, col in curves:
        if not isinstance(prof, Mapping) or not (math.isfinite(c) and c > 0):
            continue
        kw = {"color": col, "marker": "o", "ms": 3, "lw": 2.0 if name == "pixel" else 1.2, "label": name}
        _logplot(ax_i, taus, c**2 * _arr(prof.get("I_score"), n), c**2 * _arr(prof.get("I_score_stderr"), n), **kw)
        _logplot(ax_r, taus, -(c**4) * _arr(prof.get("R"), n), c**4 * _arr(prof.get("R_stderr"), n), **kw)
    for ax, lab in ((ax_i, r"$\tilde I(\tau) = c^2 I_z(c^2\tau)$"), (ax_r, r"$-\tilde R(\tau) = -c^4 R_z(c^2\tau)$")):
        if ax.has_data():
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(r"pixel noise variance $\tau$")
        ax.set_ylabel(lab)
        ax.grid(True, which="both", alpha=0.3)
    if ax_i.has_data():
        ax_i.legend(fontsize=8)
    ax_i.set_title("Fisher information (pixel: black)")
    ax_r.set_title("Fisher information rate")
    _save(fig, path)


def plot_penalties(res: dict, path: Path) -> None:
    """Grouped bars per encoder: compression, tangential, curvature and the total FIR deviation.

    Bar heights are the seed means stored in ``res["encoders"]``; with more than one finite
    per-seed value the error bar spans the seeds' minimum to maximum. Missing values draw no bar.

    Parameters
    ----------
    res : dict
        The study's result dictionary (uses ``encoders``).
    path : pathlib.Path or str
        Output PNG file; its directory is created if missing.

    Raises
    ------
    TypeError
        ``res`` or ``res["encoders"]`` is not a dict, or ``path`` is not a path.
    ValueError
        ``path`` is an existing directory or empty.
    """
    res, path = _check(res, path)
    enc = res.get("encoders") or {}
    names = list(enc)
    fig = Figure(figsize=(max(6.0, 1.3 * len(names) + 2), 4.2), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(PENALTY_BARS)
    x = np.arange(len(names), dtype=float)
    for k, (bar, col) in enumerate(zip(PENALTY_BARS, _colours(len(PENALTY_BARS)))):
        xs, hs, lo, hi = [], [], [], []
        for i, name in enumerate(names):
            h = _value(enc[name], bar)
            if not math.isfinite(h):
                continue
            seeds = _seed_values(enc[name], bar)
            xs.append(x[i] + (k - (len(PENALTY_BARS) - 1) / 2) * width)
            hs.append(h)
            lo.append(max(h - seeds.min(), 0.0) if seeds.size > 1 else 0.0)
            hi.append(max(seeds.max() - h, 0.0) if seeds.size > 1 else 0.0)
        if xs:
            ax.bar(xs, hs, width, yerr=[lo, hi], capsize=2, color=col, label=_LABELS.get(bar, bar))
    ax.set_xticks(x, names, rotation=20, ha="right")
    ax.set_ylabel(r"relative deviation of $\tilde R$ (mean over $\tau$)")
    ax.set_title("FIR deviation and its split\n(pixels → PCA → linear fit → encoder)", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    if ax.has_data():
        ax.legend(fontsize=8)
    _save(fig, path)


def _rho_title(res: Mapping, diag: str) -> str:
    e = (res.get("spearman") or {}).get(diag)
    label = _LABELS.get(diag, diag)
    if not isinstance(e, Mapping):
        return label
    v = as_number(e.get("value"))
    iv = e.get("interval") or [None, None]
    lo, hi = (as_number(iv[0]), as_number(iv[1])) if len(iv) == 2 else (math.nan, math.nan)
    if not math.isfinite(v):
        return f"{label}: rho undefined"
    ci = f" [{lo:+.2f}, {hi:+.2f}]" if math.isfinite(lo) and math.isfinite(hi) else ""
    return f"{label}: rho = {v:+.2f}{ci}"


def plot_scatter(res: dict, path: Path) -> None:
    """One panel per diagnostic: diagnostic (x) against the Frechet distance of the samples (y).

    Points are the seed means of each encoder, labelled with its name; with more than one seed
    the whiskers span the seeds' minimum to maximum (x: the diagnostic, y: the Frechet
    distance). Panel titles give Spearman's rho and its interval from ``res["spearman"]``.

    Parameters
    ----------
    res : dict
        The study's result dictionary (uses ``diagnostics``, ``encoders``, ``spearman``).
    path : pathlib.Path or str
        Output PNG file; its directory is created if missing.

    Raises
    ------
    TypeError
        ``res`` or ``res["encoders"]`` is not a dict, or ``path`` is not a path.
    ValueError
        ``path`` is an existing directory or empty.
    """
    res, path = _check(res, path)
    enc = res.get("encoders") or {}
    diags = list(res.get("diagnostics") or []) or list(res.get("spearman") or {}) or ["fir_deviation"]
    ncols = min(4, len(diags))
    nrows = math.ceil(len(diags) / ncols)
    fig = Figure(figsize=(3.6 * ncols, 3.2 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    cols = _colours(len(enc))
    for ax, diag in zip(axes, diags):
        for col, (name, e) in zip(cols, enc.items()):
            xv, yv = _value(e, diag), _quality(e)
            if not (math.isfinite(xv) and math.isfinite(yv)):
                continue
            xs, ys = _seed_values(e, diag), _seed_values(e, "frechet_distance", quality=True)
            xerr = [[max(xv - xs.min(), 0.0)], [max(xs.max() - xv, 0.0)]] if xs.size > 1 else None
            yerr = [[max(yv - ys.min(), 0.0)], [max(ys.max() - yv, 0.0)]] if ys.size > 1 else None
            ax.errorbar([xv], [yv], xerr=xerr, yerr=yerr, fmt="o", color=col, capsize=2, ms=5)
            ax.annotate(name, (xv, yv), textcoords="offset points", xytext=(4, 3), fontsize=7)
        ax.set_title(_rho_title(res, diag), fontsize=9)
        ax.set_xlabel(_LABELS.get(diag, diag), fontsize=8)
        ax.set_ylabel("Frechet distance", fontsize=8)
        ax.grid(True, alpha=0.3)
    for ax in axes[len(diags):]:
        ax.set_visible(False)
    _save(fig, path)


def write_figures(res: dict, out: Path) -> list[Path]:
    """Write ``fisher_rate.png``, ``penalties.png`` and ``scatter.png`` into the directory ``out``.

    Parameters
    ----------
    res : dict
        The study's result dictionary.
    out : pathlib.Path or str
        Output directory, created if missing.

    Returns
    -------
    list of pathlib.Path
        The three files, in that order.

    Raises
    ------
    TypeError
        ``res`` or ``res["encoders"]`` is not a dict, or ``out`` is not a path.
    ValueError
        ``out`` is an existing file or empty.
    """
    res = check_result(res)
    out = output_dir(out)
    paths = [out / "fisher_rate.png", out / "penalties.png", out / "scatter.png"]
    for fn, p in zip((plot_fisher_rate, plot_penalties, plot_scatter), paths):
        fn(res, p)
    return paths
