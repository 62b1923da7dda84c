"""One slice of one generator through the whole chain (docs/digits.md, "Stages").

sweep (resumable zarr store) → phase map and features → kernel and neural metrics with their
boundaries vs the label boundaries → boundary points (bisection) → zoom → Lipschitz →
geodesic vs straight paths. The boundary points, zoom, precision-check and Lipschitz results
are cached in ``out`` as netCDF keyed by everything they depend on, so a rerun reuses them;
every stage's wall time is recorded and logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from validation.digits_chain import metric, paths, probes
from validation.digits_chain.report import straight_like
from validation.digits_chain.settings import Settings

__all__ = ["classify_all", "run_slice"]

log = logging.getLogger("validation.digits")


def classify_all(classifier: Any, images: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Labels and confidences of many images (uint8 or float), in chunks.

    Parameters
    ----------
    classifier : object
        ``classify(images) -> (labels, confidence)``.
    images : numpy.ndarray
        ``(n, C, y, x)``.
    chunk : int, default 1024
        Images per call.

    Returns
    -------
    tuple of numpy.ndarray
        int64 labels and float64 confidences.
    """
    x = images.astype(np.float64) / 255.0 if images.dtype == np.uint8 else images.astype(np.float64)
    labs, confs = [], []
    for s in range(0, x.shape[0], chunk):
        lab, conf = classifier.classify(x[s:s + chunk])
        labs.append(np.asarray(lab, dtype=np.int64))
        confs.append(np.asarray(conf, dtype=np.float64))
    return np.concatenate(labs), np.concatenate(confs)


def _key(payload: dict) -> str:
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _cached(path: Path, key: str, compute: Callable[[], xr.Dataset]) -> tuple[xr.Dataset, bool]:
    if path.is_file():
        try:
            with xr.open_dataset(path, engine="h5netcdf") as old:
                if old.attrs.get("cache_key") == key:
                    return old.load(), True
        except (OSError, ValueError) as exc:  # unreadable: recompute
            log.warning("cache %s unreadable (%s); recomputing", path, exc)
    ds = compute()
    ds.attrs["cache_key"] = key
    tmp = path.with_suffix(".tmp.nc")
    _to_netcdf(ds, tmp)
    os.replace(tmp, path)
    return ds, False


def _to_netcdf(ds: xr.Dataset, path: Path) -> None:
    ds = ds.copy()
    for v in list(ds.data_vars) + list(ds.coords):
        if ds[v].dtype == bool:
            ds[v] = ds[v].astype(np.int8)
    ds.to_netcdf(path, engine="h5netcdf")


def _stats(x) -> dict:
    x = np.asarray([v for v in x if np.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        return {"value": float("nan"), "error": float("nan"), "n": 0, "per_point": []}
    return {"value": float(x.mean()), "error": float(x.std(ddof=1)) if x.size > 1 else float("nan"),
            "sem": float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan"), "n": int(x.size),
            "per_point": x.tolist()}


#: a zoom window (and a Lipschitz step) counts when its step is at least this many effective resolutions:
#: the float64 precision check of a trained float32 pixel UNet found labels flipping by rounding already at
#: ~20 resolutions per step (docs/digits.md, "Stages", 8)
STEP_OVER_RESOLUTION = 100.0


def run_slice(name: str, index: int, generator: Any, classifier: Any, embedder: Any, lslice: Any, s: Settings,
              out: Path, seed: int, anchors: dict, progress: bool | None = None,
              generator64: Any = None) -> tuple[dict, dict]:
    """Run the chain on one slice (module docstring).

    Parameters
    ----------
    name : str
        Generator name (``pixel``, ``latent``).
    index : int
        Slice index.
    generator, classifier, embedder : object
        Generator, classifier (``classify``) and feature embedder.
    lslice : LatentSlice
        The slice.
    s : Settings
        The preset.
    out : pathlib.Path
        Output directory.
    seed : int
        Seed of the posteriors and fits.
    anchors : dict
        The slice search's record of this slice.
    progress : bool or None, default None
        Progress bars of the sweep.
    generator64 : LatentGenerator, optional
        The same weights in float64, for the precision check of the zoom (skipped without it).

    Returns
    -------
    tuple of dict
        ``(summary, artefacts)``: the JSON-ready results and the in-memory datasets for the
        figures (``maps``, ``geometry``, ``zoom``, ``lipschitz``, ``paths``).
    """
    from statgeo.diffusion import add_embeddings, boundary_mask, slice_grid, sweep

    tag = f"{name}_s{index}"
    times: dict[str, float] = {}
    # cache keys: only what a stage's result depends on (the generator's config holds its steps and dtype)
    base = {"generator": generator.config(), "slice": lslice.config(), "anchors": anchors["seeds"]}

    def timed(stage: str, t0: float) -> None:
        times[stage] = time.perf_counter() - t0
        log.info("%s: %s %.1f s", tag, stage, times[stage])

    t0 = time.perf_counter()
    # the store name carries the sweep's identity, so another preset or model never meets this store
    skey = _key({"generator": base["generator"], "slice": base["slice"], "n": s.n, "chunk": 4 * s.batch_size,
                 "anchors": anchors["seeds"]})[:10]
    ds = sweep(generator, lslice, slice_grid(s.n), batch_size=s.batch_size, chunk_size=4 * s.batch_size,
               store=out / f"{tag}_sweep_{skey}.zarr", progress=progress)
    timed("sweep", t0)

    t0 = time.perf_counter()
    img = ds["image"].values
    lab, conf = classify_all(classifier, img.reshape((-1,) + img.shape[2:]))
    labels, confidence = lab.reshape(s.n, s.n), conf.reshape(s.n, s.n)
    ds = add_embeddings(ds, embedder, progress=False)
    lb = boundary_mask(labels)
    classes, counts = np.unique(labels, return_counts=True)
    timed("phase_map", t0)

    grid = metric.posterior_grid(s.n, s.block)
    geo, cmp = {}, {}
    for kind in ("feature_kernel", "neural_grid"):
        t0 = time.perf_counter()
        try:
            if kind == "feature_kernel":
                geo[kind] = metric.kernel_geometry(ds, grid, fit_steps=s.fit_steps, threshold=s.ridge_threshold,
                                                   seed=seed)
            else:
                geo[kind] = metric.neural_geometry(ds, grid, s.block, steps=s.neural_steps, hidden=s.neural_hidden,
                                                   fit_steps=s.fit_steps, threshold=s.ridge_threshold, seed=seed)
            cmp[kind] = metric.compare_boundaries(geo[kind]["curves"], labels, s.block)
            cmp[kind]["score_auc"] = metric.score_auc(geo[kind]["score"].values, labels, s.block)
            cmp[kind]["score_max"] = float(geo[kind]["score"].max())
        except Exception as exc:  # noqa: BLE001 - report, never hide: the other stages still run
            log.warning("%s: %s metric failed: %s", tag, kind, exc)
            cmp[kind] = {"error": f"{type(exc).__name__}: {exc}"}
        timed(f"metric_{kind}", t0)

    # ---- boundary points by bisection
    t0 = time.perf_counter()
    h = 1.0 / (s.n - 1)
    bpairs = probes.boundary_pairs(labels, confidence, s.boundary_points)

    def bisect_all() -> xr.Dataset:
        found = [probes.bisect_boundary(generator, classifier, lslice, (i * h, j * h), (i * h, (j + 1) * h),
                                        s.batch_size) for i, j in bpairs]
        return xr.Dataset({"point": (("k", "xy"), np.array([p for p, _ in found]).reshape(-1, 2)),
                           "resolution": ("k", np.array([r for _, r in found], dtype=np.float64))})

    bds, _ = _cached(out / f"{tag}_boundary_points.nc", _key({**base, "stage": "bisection", "pairs": bpairs,
                                                              "n": s.n}), bisect_all)
    bpts, bres = bds["point"].values.reshape(-1, 2), [float(r) for r in bds["resolution"].values]
    timed("bisection", t0)

    # ---- zoom (cached)
    t0 = time.perf_counter()
    zooms = []
    for k in range(min(s.zoom_points, len(bpts))):
        key = _key({**base, "stage": "zoom", "center": bpts[k].tolist(), "resolution": bres[k], "n": s.zoom_n})
        z, _ = _cached(out / f"{tag}_zoom{k}.nc", key, lambda k=k: probes.run_zoom(
            generator, classifier, lslice, bpts[k], bres[k], s.zoom_n, s.batch_size))
        zooms.append(z)
    timed("zoom", t0)

    # ---- precision check: the finest windows again with float64 weights (cached)
    t0 = time.perf_counter()
    checks = []
    if generator64 is not None:
        for k in range(min(s.precision_points, len(zooms))):
            scales = zooms[k]["scale"].values[-3:]
            key = _key({**base, "stage": "precision", "center": bpts[k].tolist(), "scales": scales.tolist(),
                        "generator64": generator64.config()})
            c, _ = _cached(out / f"{tag}_precision{k}.nc", key, lambda k=k, scales=scales: probes.run_precision_check(
                generator, generator64, classifier, lslice, bpts[k], scales, 8, s.batch_size))
            checks.append(c)
    timed("precision_check", t0)

    # ---- Lipschitz (cached)
    t0 = time.perf_counter()
    ins = probes.inside_points(labels, confidence, s.inside_points, s.min_confidence)
    ipts = np.array([(i * h, j * h) for i, j in ins]).reshape(-1, 2)
    allp = np.concatenate([bpts, ipts])
    lip = None
    if len(allp):
        res_all = list(bres) + [max(probes.effective_resolution_at(lslice, generator.dtype, p)) for p in ipts]
        deltas = probes.lipschitz_deltas(max(res_all), s.lipschitz_decades, STEP_OVER_RESOLUTION)
        key = _key({**base, "stage": "lipschitz", "points": allp.tolist(), "deltas": deltas.tolist()})
        lip, _ = _cached(out / f"{tag}_lipschitz.nc", key, lambda: probes.run_lipschitz(
            generator, lslice, allp, deltas, embedder, s.batch_size).assign_coords(
                kind=("point", ["boundary"] * len(bpts) + ["inside"] * len(ipts))))
    timed("lipschitz", t0)

    # ---- geodesic vs straight
    t0 = time.perf_counter()
    path_sum, path_ds = {}, {}
    pot = geo.get("feature_kernel", {}).get("potential")
    if pot is not None:
        pairs = paths.choose_pairs(labels, confidence, s.min_confidence)
        lo, hi = float(grid.axes[0].values[0]), float(grid.axes[0].values[-1])
        for which, (a, b) in pairs.items():
            p0 = np.clip(np.array(a, float) * h, lo, hi)
            p1 = np.clip(np.array(b, float) * h, lo, hi)
            if np.array_equal(p0, p1):
                continue
            try:
                pds, summ = paths.run_paths(pot, generator, lslice, classifier, embedder, p0, p1,
                                            n_points=s.path_points, bounds=((lo, hi), (lo, hi)),
                                            batch_size=s.batch_size, max_iter=s.geodesic_iter)
                path_ds[which], path_sum[which] = pds, summ
                _to_netcdf(pds, out / f"{tag}_path_{which}.nc")
            except Exception as exc:  # noqa: BLE001 - report, never hide
                log.warning("%s: %s path failed: %s", tag, which, exc)
                path_sum[which] = {"error": f"{type(exc).__name__}: {exc}"}
    timed("paths", t0)

    # ---- maps on disk
    coords = {"alpha": ("alpha", ds["alpha"].values), "beta": ("beta", ds["beta"].values)}
    maps = xr.Dataset({"label": (("alpha", "beta"), labels), "confidence": (("alpha", "beta"), confidence),
                       "label_boundary": (("alpha", "beta"), lb.astype(np.int8))}, coords=coords,
                      attrs={"generator": name, "slice": index, "seeds": json.dumps(anchors["seeds"])})
    for kind, g in geo.items():
        maps[f"detected_{kind}"] = (("alpha", "beta"), metric.rasterise(g["curves"], s.n)[0].astype(np.int8))
        sc = g["score"].rename(alpha="alpha_post", beta="beta_post")
        maps[f"score_{kind}"] = sc.drop_vars([c for c in sc.coords])
    maps = maps.assign_coords(alpha_post=("alpha_post", grid.axes[0].values),
                              beta_post=("beta_post", grid.axes[1].values))
    _to_netcdf(maps, out / f"{tag}_maps.nc")

    zsum = []
    for k, z in enumerate(zooms):
        zsum.append({"slice": index, "point": k, "center": bpts[k].tolist(), "resolution": bres[k],
                     "scales": z["scale"].values.tolist(),
                     "box_dimension": [None if not np.isfinite(v) else float(v) for v in z["box_dimension"].values],
                     "resolved": [bool(v) for v in z["resolved"].values],
                     "n_phases": z["n_phases"].values.tolist(), "n_components": z["n_components"].values.tolist(),
                     "n_boundary_cells": z["n_boundary_cells"].values.tolist(),
                     "above_floor": [bool(w / (s.zoom_n - 1) >= STEP_OVER_RESOLUTION * bres[k])
                                     for w in z["scale"].values],
                     "straight_dimension": [straight_like(lab) for lab in z["labels"].values],
                     "precision_ends_at": float(z.attrs["precision_ends_at"])})
        if k < len(checks):
            c = checks[k]
            zsum[-1]["precision_check"] = {
                "scales": c["scale"].values.tolist(), "window_points": int(c.sizes["u"]),
                "agreement": c["agreement"].values.tolist(),
                "box_dimension": [float(v) if np.isfinite(v) else None for v in c["box_dimension"].values],
                "box_dimension_float64": [float(v) if np.isfinite(v) else None
                                          for v in c["box_dimension_float64"].values]}
    lsum = {}
    if lip is not None:
        kinds = np.asarray(lip["kind"].values)
        for kind in ("boundary", "inside"):
            m = kinds == kind
            lsum[kind] = {"pixel": _stats(lip["exponent_pixel"].values[m]),
                          "feature": _stats(lip["exponent_feature"].values[m])}
        lsum["deltas"] = lip["delta"].values.tolist()
        m = kinds == "boundary"
        if m.any() and lip.sizes["delta"] > 1:  # local slope between successive steps, mean over boundary points
            lr = np.log(np.maximum(lip["ratio_pixel"].values[m], 1e-300))
            ld = np.log(lip["delta"].values)
            lsum["local_slopes_boundary"] = (np.diff(lr, axis=1) / np.diff(ld)).mean(0).tolist()
    summary = {"index": index, **anchors, "class_fractions": {int(c): float(n) / labels.size
                                                              for c, n in zip(classes, counts)},
               "n_classes": int(classes.size), "confident_fraction": float((confidence >= 0.9).mean()),
               "n_label_boundary_cells": int(lb.sum()), "boundaries": cmp,
               "boundary_points": bpts.tolist(), "resolution": bres, "inside_points": ipts.tolist(),
               "zoom": zsum, "lipschitz": lsum, "paths": path_sum, "times": times,
               "neural_training": {k: v for k, v in geo.get("neural_grid", {}).get("training", {}).items()
                                   if isinstance(v, (int, float, str))}}
    return summary, {"maps": maps, "geometry": geo, "zoom": zooms, "lipschitz": lip, "paths": path_ds,
                     "sweep": ds, "precision": checks}
