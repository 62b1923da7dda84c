"""Aggregation over slices and zoom points, and the Markdown report ``digits.md``.

Each of the paper's claims is a hypothesis with a stated test (docs/digits.md, "Reading the
results"):

* fractal boundaries: the box-counting dimension per decade of window width, over the windows
  whose grid step is above the dtype's resolution floor, compared with the dimension the same
  box count gives a straight boundary on the same window (``straight_reference``: half-planes
  at 16 angles; it exceeds 1 on small windows because boundary cells are marked on both
  sides). Fractal-like: D − D_straight > 2 standard errors at the finest resolved decade.
* Lipschitz blow-up: growth exponent d ln L / d ln δ at boundary points ≈ −1 and inside
  phases ≈ 0; "consistent" when |mean − target| ≤ max(0.15, 2 standard errors).
* geodesics straight within a phase: the geodesic's largest distance from the chord over the
  chord length (same-phase pairs) below 0.05.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["aggregate_generator", "straight_like", "straight_reference", "verdicts", "write_markdown"]


def _stats(x) -> dict:
    x = np.asarray([v for v in x if v is not None and np.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        return {"value": float("nan"), "error": float("nan"), "sem": float("nan"), "n": 0}
    sd = float(x.std(ddof=1)) if x.size > 1 else float("nan")
    return {"value": float(x.mean()), "error": sd, "sem": sd / math.sqrt(x.size) if x.size > 1 else float("nan"),
            "n": int(x.size)}


def straight_reference(n: int, angles: int = 16) -> dict:
    """Box-counting dimension of straight boundaries (half-planes through the window centre) on n × n.

    Parameters
    ----------
    n : int
        Window side.
    angles : int, default 16
        Angles in [0, π).

    Returns
    -------
    dict
        ``value`` (mean), ``error`` (std over angles), ``n``.
    """
    from statgeo.diffusion import boundary_mask, box_counting_dimension

    u = np.arange(n) - (n - 1) / 2
    a, b = np.meshgrid(u, u, indexing="ij")
    ds = []
    for t in np.linspace(0, np.pi, angles, endpoint=False) + 0.1:
        lab = (np.cos(t) * a + np.sin(t) * b > 0.3).astype(int)
        ds.append(box_counting_dimension(boundary_mask(lab))[0])
    return _stats(ds)


def straight_like(labels: np.ndarray) -> float:
    """Box-counting dimension of the straight boundary that best fits a window's label boundary.

    The line is the total-least-squares fit (principal axis) through the label-boundary cells;
    the window is relabelled as the two half-planes of that line and box-counted like the
    window itself. D − D_straight isolates the structure a straight boundary would not have
    (on small windows a straight boundary already counts above 1, by an amount that depends on
    its angle).

    Parameters
    ----------
    labels : numpy.ndarray
        ``(n, n)`` window labels.

    Returns
    -------
    float
        The dimension (NaN without boundary cells).
    """
    from statgeo.diffusion import boundary_mask, box_counting_dimension

    m = boundary_mask(labels)
    if m.sum() < 2:
        return float("nan")
    pts = np.argwhere(m).astype(np.float64)
    c = pts.mean(0)
    _, _, vt = np.linalg.svd(pts - c, full_matrices=False)
    normal = vt[-1]
    n0, n1 = labels.shape
    a, b = np.meshgrid(np.arange(n0), np.arange(n1), indexing="ij")
    half = ((a - c[0]) * normal[0] + (b - c[1]) * normal[1] > 0).astype(int)
    return float(box_counting_dimension(boundary_mask(half))[0])


def _pool_lipschitz(slices: list, kind: str, space: str) -> dict:
    vals = []
    for sl in slices:
        vals += sl.get("lipschitz", {}).get(kind, {}).get(space, {}).get("per_point", [])
    out = _stats(vals)
    out["per_point"] = [float(v) for v in vals]
    return out


def aggregate_generator(name: str, quality: dict, slices: list, zoom_n: int) -> dict:
    """Per-generator results of ``digits.json`` from the slice summaries.

    Parameters
    ----------
    name : str
        ``pixel`` or ``latent``.
    quality : dict
        The zoo's quality numbers of this generator.
    slices : list of dict
        :func:`~validation.digits_chain.slice_run.run_slice` summaries.
    zoom_n : int
        Zoom window side (for the straight-boundary reference).

    Returns
    -------
    dict
        The documented keys (docs/digits.md, "Outputs").
    """
    out: dict[str, Any] = {k: quality.get(k) for k in ("confident_fraction", "class_fraction_min",
                                                      "class_fraction_max")}
    dist, cov, chance, block = {}, {}, {}, {}
    for kind in ("feature_kernel", "neural_grid"):
        d, covered, total, ch, cb = [], 0, 0, [], []
        for sl in slices:
            b = sl["boundaries"].get(kind, {})
            if "error" in b:
                continue
            d += b.get("distances", [])
            covered += b.get("covered_cells", 0)
            total += b.get("n_label_boundary_cells", 0)
            ch.append(b.get("coverage_chance", float("nan")))
            if np.isfinite(b.get("coverage_block", float("nan"))):
                cb.append(b["coverage_block"] * b["n_label_boundary_cells"])
        dist[kind] = float(np.median(d)) if d else float("nan")
        cov[kind] = covered / total if total else float("nan")
        chance[kind] = float(np.nanmean(ch)) if ch else float("nan")
        block[kind] = float(np.sum(cb) / total) if total and cb else float("nan")
    out["boundary_distance_cells_median"] = dist
    out["boundary_coverage"] = cov
    out["boundary_coverage_chance"] = chance
    out["boundary_coverage_block"] = block
    out["boundary_score_auc"] = {kind: _stats([sl["boundaries"].get(kind, {}).get("score_auc") for sl in slices])
                                 for kind in ("feature_kernel", "neural_grid")}
    points = [z for sl in slices for z in sl["zoom"]]
    scales = sorted({s for z in points for s in z["scales"]}, reverse=True)
    per_decade, excess = {}, {}
    for s in scales:
        rows = [(z["box_dimension"][i], z["straight_dimension"][i]) for z in points if s in z["scales"]
                for i in [z["scales"].index(s)] if z["above_floor"][i]]
        per_decade[f"{s:.0e}"] = _stats([d for d, _ in rows])
        excess[f"{s:.0e}"] = _stats([d - r for d, r in rows if d is not None and r is not None])
    checks = [dict(z["precision_check"], center=z["center"], slice=z["slice"], point=z["point"]) for z in points
              if "precision_check" in z]
    out["precision_check"] = checks
    out["box_dimension"] = {"scales": scales, "per_decade": per_decade, "excess_over_straight": excess,
                            "per_point": points,
                            "straight_reference": straight_reference(zoom_n),
                            "window_points": zoom_n}
    out["lipschitz_exponent_boundary"] = {**_pool_lipschitz(slices, "boundary", "pixel"),
                                          "feature": _pool_lipschitz(slices, "boundary", "feature")}
    out["lipschitz_exponent_inside"] = {**_pool_lipschitz(slices, "inside", "pixel"),
                                        "feature": _pool_lipschitz(slices, "inside", "feature")}
    slopes = [{"slice": sl["index"], "deltas": sl["lipschitz"]["deltas"],
               "slopes": sl["lipschitz"]["local_slopes_boundary"]}
              for sl in slices if sl.get("lipschitz", {}).get("local_slopes_boundary")]
    if slopes:
        out["lipschitz_local_slope_boundary"] = slopes
    geo = {}
    for which in ("same", "cross"):
        ps = [sl["paths"][which] for sl in slices if which in sl.get("paths", {}) and "error" not in sl["paths"][which]]
        if not ps:
            continue
        geo[which] = {"geodesic_deviation": _stats([p["geodesic_deviation"] for p in ps]),
                      "feature_length_ratio": _stats([p["geodesic"]["feature_length"] / p["straight"]["feature_length"]
                                                      for p in ps if p["straight"]["feature_length"] > 0]),
                      "pixel_length_ratio": _stats([p["geodesic"]["pixel_length"] / p["straight"]["pixel_length"]
                                                    for p in ps if p["straight"]["pixel_length"] > 0]),
                      "label_changes_geodesic": [p["geodesic"]["label_changes"] for p in ps],
                      "label_changes_straight": [p["straight"]["label_changes"] for p in ps],
                      "converged": [p["geodesic_converged"] for p in ps]}
    out["geodesics"] = geo
    out["slices"] = slices
    return out


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _fmt(st: dict, nd: int = 2) -> str:
    if not st or st.get("n", 0) == 0 or not np.isfinite(_num(st.get("value"))):
        return "n/a"
    e = _num(st.get("error"))
    return f"{st['value']:.{nd}f} ± {e:.{nd}f} (n={st['n']})" if np.isfinite(e) else f"{st['value']:.{nd}f} (n=1)"


def verdicts(g: dict) -> dict:
    """The three claims' verdicts for one generator (module docstring).

    Parameters
    ----------
    g : dict
        :func:`aggregate_generator`'s result.

    Returns
    -------
    dict
        ``fractal``, ``exponent_boundary``, ``exponent_inside``, ``geodesic_straight``: each a
        short sentence.
    """
    out = {}
    bd = g["box_dimension"]
    dec = [(s, st) for s, st in bd["excess_over_straight"].items() if st["n"] > 0]
    if not dec:
        out["fractal"] = "not tested (no zoom window above the precision floor held a boundary)"
    else:
        s, st = dec[-1]
        sem = _num(st["sem"]) if np.isfinite(_num(st["sem"])) else 0.0
        ex = _num(st["value"])
        what = (f"at the finest window above the precision floor ({s}) D = {_fmt(bd['per_decade'][s])}, "
                f"excess over the best-fitting straight boundary {_fmt(st)}")
        if ex > max(2 * sem, 0.1):
            out["fractal"] = f"supported: {what}"
        else:
            out["fractal"] = (f"not supported: {what}, not above max(0.1, 2 standard errors) = "
                              f"{max(2 * sem, 0.1):.2f}: no more structure than a straight boundary at that scale")
    for key, target in (("exponent_boundary", -1.0), ("exponent_inside", 0.0)):
        st = g[f"lipschitz_{key}"]
        if st["n"] == 0:
            out[key] = "not tested (no points)"
            continue
        sem = _num(st["sem"]) if np.isfinite(_num(st["sem"])) else 0.0
        ok = abs(_num(st["value"]) - target) <= max(0.15, 2 * sem)
        out[key] = f"{'consistent' if ok else 'not consistent'} with {target:+.0f}: {_fmt(st)} (pixels)"
    same = g["geodesics"].get("same")
    if not same:
        out["geodesic_straight"] = "not tested (no same-phase pair)"
    else:
        dev = same["geodesic_deviation"]
        ok = _num(dev["value"]) <= 0.05
        out["geodesic_straight"] = (f"{'supported' if ok else 'not supported'}: same-phase geodesic deviation "
                                    f"{_fmt(dev, 3)} of the chord")
    return out


def write_markdown(path, res: dict) -> str:
    """Render ``digits.md`` from the results.

    Parameters
    ----------
    path : str or pathlib.Path
        Where to write.
    res : dict
        The contents of ``digits.json``.

    Returns
    -------
    str
        The Markdown text.
    """
    L = ["# Digits: the paper's diffusion findings on trained models", "",
         (f"Preset `{res['settings']['preset']}`, zoo `{res['zoo']['preset']}` (seed {res['zoo']['seed']}), "
          f"total wall time {res['wall_s']:.0f} s. Classifier accuracy on held-out real digits: "
          f"{_num(res['classifier_accuracy']):.4f}."), "",
         ("Each claim of the paper is a hypothesis; the tests are stated in docs/digits.md. Error bars are "
          "standard deviations over zoom points / probe points pooled over slices (n given)."), ""]
    for name in res["generators"]:
        g = res[name]
        v = verdicts(g)
        L += [f"## {name} generator", "",
              (f"Quality (zoo gates, {res['quality'].get('n_samples', '?')} DDIM samples, "
               f"{res['quality'].get('num_inference_steps', '?')} steps): confident fraction "
               f"{_num(g['confident_fraction']):.3f}, class fractions {_num(g['class_fraction_min']):.3f} … "
               f"{_num(g['class_fraction_max']):.3f}."), "",
              ("Slices (anchor seeds → classes): "
               + "; ".join(f"{sl['seeds']} → {sl['labels']}" + ("" if sl.get("three_classes", True) else
                                                               " (NOT three classes: untrained model?)")
                           for sl in g["slices"])
               + f". Analysed sampler: DDIM, {g['generator_config'].get('num_inference_steps', '?')} steps, η = 0."),
              "", "| claim | what the model shows |", "|---|---|",
              f"| fractal boundaries | {v['fractal']} |",
              f"| exponent ≈ −1 at boundaries | {v['exponent_boundary']} |",
              f"| exponent ≈ 0 inside phases | {v['exponent_inside']} |",
              f"| geodesics straight within a phase | {v['geodesic_straight']} |", "",
              (f"Metric boundaries vs classifier label boundaries (sweep cells; ridge threshold "
               f"{res['settings'].get('ridge_threshold', '?')}; the AUC needs no threshold):"), "",
              ("| posterior | median distance | coverage (±1 cell) | chance coverage | coverage (±1 posterior cell) "
               "| score AUC (0.5 = chance) |"),
              "|---|---|---|---|---|---|"]
        for kind in ("feature_kernel", "neural_grid"):
            row = [_num(g[k][kind]) for k in ("boundary_distance_cells_median", "boundary_coverage",
                                              "boundary_coverage_chance", "boundary_coverage_block")]
            L.append(f"| {kind} | {row[0]:.2f} | {row[1]:.3f} | {row[2]:.3f} | {row[3]:.3f} "
                     f"| {_fmt(g['boundary_score_auc'][kind])} |")
        bd = g["box_dimension"]
        L += ["", (f"Box-counting dimension per window width ({bd['window_points']}² windows, windows above the "
                   f"precision floor; straight-boundary reference {_fmt(bd['straight_reference'])}):"), "",
              "| width | D | D − D(best straight line) |", "|---|---|---|"]
        L += [f"| {s} | {_fmt(st)} | {_fmt(bd['excess_over_straight'][s])} |" for s, st in bd["per_decade"].items()]
        if g.get("precision_check"):
            L += ["", ("Precision check: the finest zoom windows regenerated with float64 weights (8² windows); "
                       "agreement = fraction of cells whose label is the same in the model dtype and in float64:"),
                  "", "| slice, point | width | agreement | D (model dtype) | D (float64) |", "|---|---|---|---|---|"]
            for c in g["precision_check"]:
                for w, ag, d32, d64 in zip(c["scales"], c["agreement"], c["box_dimension"], c["box_dimension_float64"]):
                    L.append(f"| {c['slice']}, {c['point']} | {w:.0e} | {ag:.3f} | {_num(d32):.2f} | {_num(d64):.2f} |")
        lb, li = g["lipschitz_exponent_boundary"], g["lipschitz_exponent_inside"]
        L += ["", "| growth exponent d ln L / d ln δ | pixels | classifier features |", "|---|---|---|",
              f"| boundary points | {_fmt(lb)} | {_fmt(lb['feature'])} |",
              f"| inside phases | {_fmt(li)} | {_fmt(li['feature'])} |", ""]
        for ls in g.get("lipschitz_local_slope_boundary", []):
            pairs = ", ".join(f"{a:.0e}→{b:.0e}: {x:+.2f}" for a, b, x in zip(ls["deltas"], ls["deltas"][1:],
                                                                            ls["slopes"]))
            L += [f"Slice {ls['slice']}: local slope d ln L / d ln δ at boundary points (mean over points), {pairs}.",
                  ""]
        for which, gg in g["geodesics"].items():
            L.append(f"Geodesic vs straight ({which}-phase pairs): deviation {_fmt(gg['geodesic_deviation'], 3)}, "
                     f"feature length ratio {_fmt(gg['feature_length_ratio'], 3)}, pixel length ratio "
                     f"{_fmt(gg['pixel_length_ratio'], 3)}, label changes geodesic {gg['label_changes_geodesic']} vs "
                     f"straight {gg['label_changes_straight']}, converged {gg['converged']}.")
        L.append("")
    L += ["## Wall time per stage (s)", "", "| stage | s |", "|---|---|"]
    L += [f"| {k} | {v:.1f} |" for k, v in res["stage_wall_s"].items()]
    text = "\n".join(L) + "\n"
    with open(path, "w") as fh:
        fh.write(text)
    return text
