"""Figures of one slice (matplotlib, Agg): phase map with detected boundaries, zoom sequence,
float32 vs float64 windows, Lipschitz ratio vs δ, image strips along the geodesic and straight
paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from validation.digits_chain.slice_run import STEP_OVER_RESOLUTION

__all__ = ["slice_figures"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _phase_map(path: Path, title: str, art: dict) -> None:
    plt = _plt()
    maps, geo = art["maps"], art["geometry"]
    a, b = maps["alpha"].values, maps["beta"].values
    kinds = [k for k in ("feature_kernel", "neural_grid") if k in geo]
    fig, axs = plt.subplots(1, 1 + len(kinds), figsize=(4.6 * (1 + len(kinds)), 4.3), squeeze=False)
    ax = axs[0, 0]
    ax.pcolormesh(a, b, maps["label"].values.T, cmap="tab10", vmin=-0.5, vmax=9.5, shading="nearest")
    lb = np.argwhere(maps["label_boundary"].values > 0)
    ax.plot(a[lb[:, 0]], b[lb[:, 1]], ".", ms=1.5, color="0.3", label="label boundary cells")
    styles = {"feature_kernel": ("k", "-"), "neural_grid": ("w", "--")}
    for k in kinds:
        for i, c in enumerate(geo[k]["curves"]):
            ax.plot(c[:, 0], c[:, 1], styles[k][1], color=styles[k][0], lw=1.4,
                    label=f"detected ({k.replace('_', ' ')})" if i == 0 else None)
    ax.set(xlabel="α", ylabel="β", title=f"{title}: classifier labels")
    ax.legend(fontsize=6, loc="upper right")
    for j, k in enumerate(kinds, start=1):
        sc = geo[k]["score"]
        ax = axs[0, j]
        m = ax.pcolormesh(sc["alpha"].values, sc["beta"].values, sc.values.T, cmap="magma", shading="nearest")
        fig.colorbar(m, ax=ax, shrink=0.8, label="boundary score")
        ax.plot(a[lb[:, 0]], b[lb[:, 1]], ".", ms=1.5, color="c")
        for c in geo[k]["curves"]:
            ax.plot(c[:, 0], c[:, 1], "-", color="w", lw=1.0)
        ax.set(xlabel="α", ylabel="β", title=f"{k.replace('_', ' ')} metric: score, ridges (white)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _zoom(path: Path, title: str, zooms: list) -> None:
    plt = _plt()
    ncol = max(z.sizes["scale"] for z in zooms)
    fig, axs = plt.subplots(len(zooms), ncol, figsize=(1.7 * ncol, 1.9 * len(zooms)), squeeze=False)
    for r, z in enumerate(zooms):
        for c in range(ncol):
            ax = axs[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= z.sizes["scale"]:
                ax.axis("off")
                continue
            ax.imshow(z["labels"].values[c].T, origin="lower", cmap="tab10", vmin=-0.5, vmax=9.5,
                      interpolation="nearest")
            d = z["box_dimension"].values[c]
            w = float(z["scale"].values[c])
            res = max(z.attrs["effective_resolution_alpha"], z.attrs["effective_resolution_beta"])
            ok = w / (z.sizes["u"] - 1) >= STEP_OVER_RESOLUTION * res
            ax.set_title(f"w={w:.0e}\nD={d:.2f}" + ("" if ok else " (below floor)"), fontsize=6,
                         color="k" if ok else "0.5")
        axs[r, 0].set_ylabel(f"point {r}", fontsize=7)
    fig.suptitle(f"{title}: zoom (labels per window; D = box-counting dimension; grey: grid step below "
                 f"{STEP_OVER_RESOLUTION:.0f} effective resolutions)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _precision(path: Path, title: str, checks: list) -> None:
    plt = _plt()
    ncol = max(c.sizes["scale"] for c in checks)
    fig, axs = plt.subplots(2 * len(checks), ncol, figsize=(1.9 * ncol, 2.0 * 2 * len(checks)), squeeze=False)
    for r, c in enumerate(checks):
        for row, var, name in ((2 * r, "labels", c.attrs.get("dtype", "model dtype")), (2 * r + 1, "labels_float64",
                                                                                         "float64")):
            for j in range(ncol):
                ax = axs[row, j]
                ax.set_xticks([])
                ax.set_yticks([])
                if j >= c.sizes["scale"]:
                    ax.axis("off")
                    continue
                ax.imshow(c[var].values[j].T, origin="lower", cmap="tab10", vmin=-0.5, vmax=9.5,
                          interpolation="nearest")
                ax.set_title(f"w={c['scale'].values[j]:.0e} {name}\nagree={c['agreement'].values[j]:.2f}", fontsize=6)
            axs[row, 0].set_ylabel(f"point {r}\n{name}", fontsize=6)
    fig.suptitle(f"{title}: finest zoom windows in the model dtype and in float64", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _lipschitz(path: Path, title: str, lip) -> None:
    plt = _plt()
    d = lip["delta"].values
    kinds = np.asarray(lip["kind"].values)
    fig, axs = plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, var in zip(axs, ("ratio_pixel", "ratio_feature")):
        for i in range(lip.sizes["point"]):
            color = "tab:red" if kinds[i] == "boundary" else "tab:blue"
            ax.loglog(d, np.maximum(lip[var].values[i], 1e-300), "o-", ms=3, lw=0.8, color=color, alpha=0.8)
        ref = np.nanmedian(lip[var].values[:, 0])
        ax.loglog(d, ref * d[0] / d, "k:", lw=1, label="∝ 1/δ (exponent −1)")
        ax.loglog(d, ref * np.ones_like(d), "k--", lw=1, label="constant (exponent 0)")
        ax.plot([], [], "o-", color="tab:red", label="boundary points")
        ax.plot([], [], "o-", color="tab:blue", label="inside points")
        ax.set(xlabel="step δ (slice units)", ylabel=f"Lipschitz ratio ({var[6:]})")
        ax.legend(fontsize=6)
    fig.suptitle(f"{title}: finite-difference Lipschitz ratio vs δ", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _strips(path: Path, title: str, paths: dict) -> None:
    plt = _plt()
    rows = [(w, p) for w in ("cross", "same") if w in paths for p in ("geodesic", "straight")]
    n = max(paths[w].sizes["step"] for w, _ in rows)
    fig, axs = plt.subplots(len(rows), n, figsize=(0.75 * n, 0.95 * len(rows) + 0.4), squeeze=False)
    for r, (w, p) in enumerate(rows):
        ds = paths[w].sel(path=p)
        for c in range(n):
            ax = axs[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= ds.sizes["step"]:
                ax.axis("off")
                continue
            ax.imshow(ds["image"].values[c, 0], cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(str(int(ds["label"].values[c])), fontsize=6)
        axs[r, 0].set_ylabel(f"{w}\n{p}", fontsize=6)
    fig.suptitle(f"{title}: images along geodesic and straight paths (classifier label above)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def slice_figures(out: Path, tag: str, title: str, art: dict) -> list[str]:
    """Write the four figures of one slice; returns their paths (only those with data).

    Parameters
    ----------
    out : pathlib.Path
        Output directory.
    tag : str
        File prefix (``pixel_s0``).
    title : str
        Figure title prefix.
    art : dict
        :func:`validation.digits_chain.slice_run.run_slice`'s artefacts.

    Returns
    -------
    list of str
        The PNG paths written.
    """
    done = []
    p = out / f"{tag}_phase_map.png"
    _phase_map(p, title, art)
    done.append(str(p))
    if art["zoom"]:
        p = out / f"{tag}_zoom.png"
        _zoom(p, title, art["zoom"])
        done.append(str(p))
    if art.get("precision"):
        p = out / f"{tag}_precision.png"
        _precision(p, title, art["precision"])
        done.append(str(p))
    if art["lipschitz"] is not None:
        p = out / f"{tag}_lipschitz.png"
        _lipschitz(p, title, art["lipschitz"])
        done.append(str(p))
    if art["paths"]:
        p = out / f"{tag}_paths.png"
        _strips(p, title, art["paths"])
        done.append(str(p))
    return done
