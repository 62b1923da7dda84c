"""Error measures, acceptance checks, boundary detection and artefacts of Table 1.

Errors come from :func:`validation.error_measures.reconstruction_errors` (affine alignment: the
headline; scale + affine beside it with the fitted scale factor), in natural and in the
paper's physical coordinates, over the grid minus a margin of ``margin`` cells at every edge
(posteriors are truncated by the box there). For the TASEP every number says what it is
measured against: F, ∇F and the Hessian metric against ln Z_N / N; the metric also against
the observable Fisher metric F_obs / N (what posteriors can reveal).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from statgeo.geometry import boundary_distance, boundary_score, extract_boundaries
from statgeo.grid import ParameterGrid
from statgeo.models import PhysicsModel, make_model
from validation.error_measures import reconstruction_errors
from validation.table1_config import ModelSettings
from validation.table1_methods import ROW_LABELS, ROWS

__all__ = ["PUBLISHED", "seed_errors", "aggregate", "acceptance", "detect_boundaries", "format_tables",
           "write_artefacts", "make_figures", "exempt_columns"]

log = logging.getLogger(__name__)

#: the paper's Table 1 as published (RMSE; its normalisation is not stated, so compare rankings
#: and ratios, not digits; docs/table1.md)
PUBLISHED = {
    "ising": {"Ours (convex)": ("0.0883 ± 0.0006", "0.1106 ± 0.0002", "0.1237 ± 0.0016"),
              "Mean-as-Stat": ("0.0981", "0.4766", "1.0936"),
              "PCA-VAE": ("0.1669", "0.7428", "0.7988")},
    "tasep": {"Ours (convex)": ("0.0112 ± 0.00008", "0.1165 ± 0.0025", "0.1135 ± 0.0017"),
              "Mean-as-Stat": ("0.0529", "0.3832", "0.3833"),
              "PCA-VAE": ("0.0524", "0.3837", "0.3872")},
}


def exempt_columns(model: PhysicsModel) -> set[tuple[str, str]]:
    """(baseline, quantity) columns where the baseline's statistic is the exact sufficient statistic.

    The per-sample mean is exact along the model's ``mean_statistic_for`` natural coordinates
    (the Ising mean spin M/N for the field direction η, and H at fixed T): Mean-as-Stat's
    derivative and metric columns along them are reported as they come out (docs/table1.md,
    "Why a column can favour Mean-as-Stat").

    Parameters
    ----------
    model : PhysicsModel
        The model.

    Returns
    -------
    set of tuple of str
        ``("mean_as_stat", quantity)`` pairs, quantities named like the error records
        (``"dF/deta"``, ``"g[H,H]"``, …).
    """
    out = set()
    for nat in model.mean_statistic_for:
        i = model.natural_names.index(nat)
        for name in (nat, model.parameter_names[i]):
            out |= {("mean_as_stat", f"dF/d{name}"), ("mean_as_stat", f"g[{name},{name}]")}
    return out


def _rec(d: dict, keys=("log_z", "grad_log_z", "metric")) -> dict:
    return {k: np.asarray(d[k], dtype=np.float64) for k in keys if k in d}


def seed_errors(s: ModelSettings, model: PhysicsModel, grid: ParameterGrid, reference: xr.Dataset,
                recon: dict[str, dict]) -> list[dict]:
    """Error records of every row of one seed, in natural and physical coordinates.

    Every row is measured with both alignments (affine; scale + affine) against ln Z / N and,
    for the metric, against F_obs / N where the reference has it. Physical coordinates are the
    model's (its ``natural_map``), reached with the Jacobian of
    :meth:`statgeo.grid.ParameterGrid.jacobian_to`.

    Parameters
    ----------
    s : ModelSettings
        The model's settings (the margin).
    model : PhysicsModel
        The model.
    grid : ParameterGrid
        The grid (regular in natural coordinates).
    reference : xarray.Dataset
        The reference per site.
    recon : dict
        Row name → ``{"log_z", "grad_log_z", "metric"}`` arrays on the grid.

    Returns
    -------
    list of dict
        One record per (row, alignment, reference, coords, quantity) with ``rmse``, ``nrmse``,
        ``ref_std``, the fitted ``scale`` and the ``excluded`` cells.
    """
    out = []
    ref = _rec({k: reference[k].values for k in ("log_z", "grad_log_z", "metric")})
    # a Monte Carlo reference's one-sigma errors go with it: each record then says how its error
    # compares with the reference's own (ref_error_rms, ratio_to_ref_error)
    err = _rec({k: reference[f"{k}_error"].values for k in ("log_z", "grad_log_z", "metric")
                if f"{k}_error" in reference})
    refs = [("lnZ", ref, err or None)]
    if "observable_fisher" in reference:
        fobs_err = ({"metric": reference["observable_fisher_error"].values}
                    if "observable_fisher_error" in reference else None)
        refs.append(("F_obs", {"log_z": ref["log_z"], "metric": reference["observable_fisher"].values}, fobs_err))
    # the ClassiFIM benchmark's distance measures of the metric (natural coordinates; the F_obs
    # reference where the reference has it, else the metric of ln Z)
    from validation.distance_measures import distance_measures

    t = grid.natural_points().reshape(grid.shape + (grid.ndim,))
    axes = [t[:, 0, 0], t[0, :, 1]]
    dref = reference["observable_fisher"].values if "observable_fisher" in reference else ref["metric"]
    dname = "F_obs" if "observable_fisher" in reference else "lnZ"
    for row, rc in recon.items():
        dm = distance_measures(dref, np.asarray(rc["metric"]), axes, n_pairs=2000, seed=0, margin=s.margin)
        for q in ("dist_re", "dist_mse_perfect_scale"):
            out.append({"row": row, "alignment": "affine", "reference": dname, "scale": 1.0, "excluded": 0,
                        "coords": "natural", "quantity": q, "rmse": float(dm[q]), "nrmse": float(dm[q]),
                        "ref_std": float("nan")})
    for row, rc in recon.items():
        for al in ("affine", "scale+affine"):
            for rname, rd, rerr in refs:
                res = reconstruction_errors(rd, _rec(rc), grid, alignment=al, margin=s.margin, physical=True,
                                            physical_map=model.natural_map(), reference_error=rerr)
                # the natural records use grid.natural_names; physical ones the view's names
                for r in res["records"]:
                    if rname == "F_obs" and not r["quantity"].startswith("g["):
                        continue
                    out.append({"row": row, "alignment": al, "reference": rname, "scale": res["alignment"]["scale"],
                                "excluded": res["excluded"], **r})
    return out


def fobs_hessian_floor(grid: ParameterGrid, fobs: np.ndarray, margin: int) -> dict:
    """How close any Hessian metric can come to the observable Fisher metric on this grid.

    The rows that fit a potential report its Hessian as their metric, and F_obs need not be a
    Hessian metric (:func:`statgeo.geometry.hessian_defect`): the closest one's normalised RMSE
    per component, over the same cells as the rows' errors, is a floor under those rows' column.
    The rows that estimate the metric first (the observed information, ClassiFIM-style, the
    statistic baselines) are not bound by it.

    Parameters
    ----------
    grid : ParameterGrid
        The grid.
    fobs : numpy.ndarray
        F_obs (per site, natural coordinates), shape (*grid.shape, d, d).
    margin : int
        The cells left out at every edge, as for the errors.

    Returns
    -------
    dict
        ``integrability`` (the defect δ) and ``nrmse``: quantity name (``g[<name>,<name>]``,
        natural coordinates) → the floor.
    """
    from statgeo.geometry import hessian_defect

    res = hessian_defect(fobs, grid, margin=margin)
    nat = grid.natural_names
    return {"integrability": res.integrability,
            "nrmse": {f"g[{nat[i]},{nat[j]}]": float(res.nrmse[i, j])
                      for i in range(grid.ndim) for j in range(i, grid.ndim)}}


def aggregate(records: list[dict]) -> list[dict]:
    """Mean ± standard deviation over seeds for every (row, alignment, reference, coords, quantity).

    Parameters
    ----------
    records : list of dict
        The records of :func:`seed_errors` of all seeds.

    Returns
    -------
    list of dict
        One entry per group with ``rmse``, ``nrmse``, ``scale`` and their ``*_std`` (ddof = 1;
        0 for one seed), ``n_seeds`` and ``ref_std``; where the reference has error bars also
        ``ref_error_rms`` and ``ratio_to_ref_error`` (means over the seeds).
    """
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["row"], r["alignment"], r["reference"], r["coords"], r["quantity"]), []).append(r)
    out = []
    for (row, al, rf, co, q), rs in groups.items():
        def ms(key):
            v = np.array([x[key] for x in rs], dtype=np.float64)
            return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0
        rm, rsd = ms("rmse")
        nm, nsd = ms("nrmse")
        sm, ssd = ms("scale")
        out.append({"row": row, "alignment": al, "reference": rf, "coords": co, "quantity": q, "n_seeds": len(rs),
                    "rmse": rm, "rmse_std": rsd, "nrmse": nm, "nrmse_std": nsd, "scale": sm, "scale_std": ssd,
                    "ref_std": rs[0]["ref_std"]})
        if all("ref_error_rms" in x for x in rs):
            out[-1]["ref_error_rms"] = ms("ref_error_rms")[0]
            out[-1]["ratio_to_ref_error"] = ms("ratio_to_ref_error")[0]
    return out


def _lookup(agg: list[dict], row: str, quantity: str, coords: str, reference: str = "lnZ",
            alignment: str = "affine") -> dict | None:
    for a in agg:
        if (a["row"], a["quantity"], a["coords"], a["reference"], a["alignment"]) == (row, quantity, coords, reference,
                                                                                     alignment):
            return a
    return None


def _columns(model: PhysicsModel, coords: str, metric: bool = False) -> list[str]:
    names = model.parameter_names if coords == "physical" else model.natural_names
    if metric:
        return [f"g[{names[0]},{names[0]}]", f"g[{names[0]},{names[1]}]", f"g[{names[1]},{names[1]}]"]
    return ["F", f"dF/d{names[0]}", f"dF/d{names[1]}"]


#: acceptance bounds of the metric components (normalised RMSE, natural coordinates)
METRIC_BOUND_OURS = 0.25
METRIC_BOUND_ORACLE = 0.10
#: a Monte Carlo reference's error bars (rms over the cells) may be at most this fraction of the
#: reconstruction error it judges
REFERENCE_ERROR_FRACTION = 0.1


def acceptance(model: PhysicsModel, agg: list[dict], pc1_corr: float | None = None) -> list[dict]:
    """The acceptance checks of Table 1 for one model (docs/table1.md, "Acceptance, honestly").

    Ours (neural) must beat each baseline on every column (mean + std of ours < mean − std of
    the baseline: error bars not overlapping), except the :func:`exempt_columns`, which are
    reported as they come out (for PCA-VAE too when its leading component is the mean,
    |corr(PC1, x̄)| = ``pc1_corr`` > 0.99, measured); the oracle must be below ours; ours
    (kernel) must beat the better baseline. Checked on the normalised RMSE after affine
    alignment in both coordinate systems, for F and both first derivatives. The metric
    components (natural coordinates): ours ≤ ``METRIC_BOUND_OURS``, the oracle ≤
    ``METRIC_BOUND_ORACLE``. A reference with error bars (Monte Carlo) must have them at most
    ``REFERENCE_ERROR_FRACTION`` of ours' rms error on every judged column, so that the
    comparison measures the reconstruction and not the reference's noise. For a model whose reference has an observable Fisher metric F_obs
    (TASEP: ln Z_N is the log-partition of the latent path family, not identifiable from
    configurations) the acceptance columns are the metric vs F_obs (ours within the bound and
    below both baselines) and F after scale + affine alignment; the derivative columns are
    reported, not judged. The paper's columns (F and its derivatives) are judged on the row that
    runs the paper's method, ``ours_neural_paper_form``, when it ran; the metric on
    ``ours_neural`` (the package's default form).

    Parameters
    ----------
    model : PhysicsModel
        The model.
    agg : list of dict
        The aggregates of :func:`aggregate`.
    pc1_corr : float, optional
        The smallest |corr(PC1, x̄)| over the seeds (None: unknown, no PCA-VAE exemption).

    Returns
    -------
    list of dict
        One check per (coords, quantity, comparison): ``check``, ``pass``, ``exempt``,
        ``ours``, ``other``.
    """
    checks = []
    exempt_set = exempt_columns(model)
    latent = any(a["reference"] == "F_obs" for a in agg)  # ln Z not identifiable from configurations

    def add(coords: str, q: str, kind: str, ok: bool, ours: float, other: float, exempt: bool = False) -> None:
        checks.append({"model": model.name, "coords": coords, "quantity": q, "check": kind, "pass": bool(ok),
                       "exempt": exempt, "ours": ours, "other": other})

    # the metric, the package's central output (natural coordinates, as fitted)
    mref = "F_obs" if latent else "lnZ"
    for q in _columns(model, "natural", metric=True):
        ours = _lookup(agg, "ours_neural", q, "natural", mref)
        if ours is not None:
            add("natural", q, f"metric vs {mref}: ours <= {METRIC_BOUND_OURS}", ours["nrmse"] <= METRIC_BOUND_OURS,
                ours["nrmse"], METRIC_BOUND_OURS)
        orc = _lookup(agg, "oracle", q, "natural", mref)
        if orc is not None and not latent:
            add("natural", q, f"metric vs {mref}: oracle <= {METRIC_BOUND_ORACLE}", orc["nrmse"] <= METRIC_BOUND_ORACLE,
                orc["nrmse"], METRIC_BOUND_ORACLE)
        if latent and ours is not None:
            for other in ("mean_as_stat", "pca_vae"):
                o = _lookup(agg, other, q, "natural", mref)
                if o is not None:
                    add("natural", q, f"metric vs {mref}: ours beats {other}",
                        (ours["nrmse"] + ours["nrmse_std"]) < (o["nrmse"] - o["nrmse_std"]), ours["nrmse"], o["nrmse"])
    # a Monte Carlo reference must be good enough to judge by: its error bars (rms over the cells)
    # at most a tenth of ours' reconstruction error, for every judged column (natural coordinates)
    judged = _columns(model, "natural", metric=True) + (_columns(model, "natural")[:1] if latent
                                                         else _columns(model, "natural"))
    for q in judged:
        ours = _lookup(agg, "ours_neural", q, "natural", mref if q.startswith("g[") else "lnZ")
        if ours is not None and ours.get("ref_error_rms", 0.0) > 0:  # exact references have no error bars
            add("natural", q, f"reference error bars <= {REFERENCE_ERROR_FRACTION} of ours' error",
                ours["ratio_to_ref_error"] >= 1.0 / REFERENCE_ERROR_FRACTION, ours["rmse"], ours["ref_error_rms"])
    # the peer method: ours below the ClassiFIM-style row on its own benchmark's measures
    for q in ("dist_re", "dist_mse_perfect_scale"):
        ours, cf = _lookup(agg, "ours_neural", q, "natural", mref), _lookup(agg, "classifim", q, "natural", mref)
        if ours is not None and cf is not None and not latent:
            add("natural", q, "ours beats classifim", (ours["nrmse"] + ours["nrmse_std"]) < (cf["nrmse"] - cf["nrmse_std"]),
                ours["nrmse"], cf["nrmse"])
    for coords in ("physical", "natural"):
        # with a latent partition function only F is judged, after scale + affine alignment; the
        # derivative columns are reported with their documented cause (docs/table1.md)
        cols = _columns(model, coords)[:1] if latent else _columns(model, coords)
        alignment = "scale+affine" if latent else "affine"
        # the paper's columns are judged on the paper's method (its form) when that row ran
        f_row = "ours_neural_paper_form" if _lookup(agg, "ours_neural_paper_form", "F", coords, alignment=alignment) \
            else "ours_neural"
        for q in cols:
            ours = _lookup(agg, f_row, q, coords, alignment=alignment)
            if ours is None:
                continue
            for other in ("mean_as_stat", "pca_vae", "oracle", "ours_kernel"):
                o = _lookup(agg, other, q, coords, alignment=alignment)
                if o is None:
                    continue
                if other == "oracle":
                    if latent:
                        continue
                    ok = o["nrmse"] < ours["nrmse"]
                    kind = f"oracle below {f_row}"
                elif other == "ours_kernel":
                    bases = [_lookup(agg, b, q, coords, alignment=alignment) for b in ("mean_as_stat", "pca_vae")]
                    bases = [b for b in bases if b is not None]
                    if not bases:
                        continue
                    best = min(bases, key=lambda b: b["nrmse"] - b["nrmse_std"])
                    ok = (o["nrmse"] + o["nrmse_std"]) < (best["nrmse"] - best["nrmse_std"])
                    exempt = (best["row"], q) in exempt_set or (
                        best["row"] == "pca_vae" and ("mean_as_stat", q) in exempt_set and pc1_corr is not None
                        and pc1_corr > 0.99)
                    add(coords, q, f"ours (kernel) beats both baselines (best: {best['row']}, {alignment})", ok,
                        o["nrmse"], best["nrmse"], exempt)
                    continue
                else:
                    ok = (ours["nrmse"] + ours["nrmse_std"]) < (o["nrmse"] - o["nrmse_std"])
                    kind = f"{f_row} beats {other}" + (f" ({alignment})" if latent else "")
                exempt = (other, q) in exempt_set or (
                    other == "pca_vae" and ("mean_as_stat", q) in exempt_set and pc1_corr is not None
                    and pc1_corr > 0.99)
                add(coords, q, kind, ok, ours["nrmse"], o["nrmse"], exempt)
    return checks


# ----------------------------------------------------------------------------- boundaries
def _natural_axes(grid: ParameterGrid) -> tuple[list[np.ndarray], tuple[slice, slice]]:
    t = grid.natural_points().reshape(grid.shape + (2,))
    a0, a1 = t[:, 0, 0], t[0, :, 1]
    flips = tuple(slice(None, None, -1) if a[0] > a[-1] else slice(None) for a in (a0, a1))
    return [a0[flips[0]], a1[flips[1]]], flips


def detect_boundaries(model: PhysicsModel, grid: ParameterGrid, metric: np.ndarray, *,
                      prominence: float = float(np.log(3.0)), reach: int = 3) -> dict:
    """Ridges of log λ_max of a metric map and their distance to the exact phase lines.

    Ridges: non-maximum suppression across the ridge on s = log λ_max(g), keeping the cells
    where s rises by at least ``prominence`` above its value ``reach`` cells away on each side
    (:func:`statgeo.geometry.extract_boundaries`; with the defaults, a metric at least three
    times its value three cells away). A global robust z-score threshold is not used: the
    Ising metric falls by five e-folds across the ordered phase, so the median and MAD of the
    map are set by that trend and the η = 0 ridge sat at z ≈ 2 along its whole length, where
    a 0.1 change of the peak's height moved its detected end by several cells. Distances are
    in grid cells to the model's phase lines (:meth:`PhysicsModel.phase_diagram`); also where
    a detected line ends relative to the point that ends the exact one. At small sizes the
    exact lines are finite-size crossovers, so the distances are reported as measured.

    Parameters
    ----------
    model : PhysicsModel
        The model.
    grid : ParameterGrid
        The grid (natural coordinates).
    metric : numpy.ndarray
        The metric on the grid, shape (*grid.shape, 2, 2), natural coordinates.
    prominence : float, default log 3
        Minimal rise of log λ_max above its value ``reach`` cells away on each side.
    reach : int, default 3
        Distance in cells at which the rise is measured.

    Returns
    -------
    dict
        ``n_curves``, ``prominence``, ``reach``, ``curves``, ``score`` (the robust z-score map,
        for the figures), ``axes`` and, when curves were found, ``max_cells``, ``mean_cells``,
        ``coverage_cells``, ``covered_fraction`` (of the exact lines' points within one cell
        of a detected point) and per special point its distance.
    """
    axes, fl = _natural_axes(grid)
    g = np.asarray(metric)[fl[0], fl[1]]
    g = 0.5 * (g + np.swapaxes(g, -1, -2))
    score = np.asarray(boundary_score(g, method="max_eigenvalue"))
    log_lmax = np.asarray(boundary_score(g, method="max_eigenvalue", normalise="none"))
    curves = [np.asarray(c) for c in extract_boundaries(log_lmax, axes, threshold=None, prominence=prominence,
                                                        reach=reach)]
    diagram = model.phase_diagram()
    true_pts, special = diagram.all_line_points(), diagram.points
    lo = np.array([axes[0][0], axes[1][0]])
    hi = np.array([axes[0][-1], axes[1][-1]])
    inside = ((true_pts >= lo) & (true_pts <= hi)).all(1)
    spacing = np.array([np.diff(axes[0]).mean(), np.diff(axes[1]).mean()])
    out: dict[str, Any] = {"n_curves": len(curves), "prominence": float(prominence), "reach": int(reach),
                           "curves": [c.tolist() for c in curves], "score": score, "axes": [a.tolist() for a in axes]}
    if curves:
        bd = boundary_distance(curves, true_pts[inside], scale=spacing, within=1.0)
        out.update(max_cells=float(bd.max), mean_cells=float(bd.mean), coverage_cells=float(bd.coverage),
                   covered_fraction=float(bd.covered))
        pts = np.concatenate(curves)
        for name, pt in special.items():
            d = np.sqrt((((pts - np.asarray(pt)) / spacing) ** 2).sum(1))
            if name in diagram.line_ends:
                # where the detected line ends (e.g. on the disordered side vs the exact K_c)
                # (the line runs towards larger values of the first natural coordinate)
                end = pts[np.argmin(pts[:, 0])]
                out[f"detected_end_{model.natural_names[0]}"] = float(end[0])
                out[f"{name}_distance_cells"] = float(abs(end[0] - pt[0]) / spacing[0])
            else:
                out[f"{name}_nearest_cells"] = float(d.min())
    return out


# ----------------------------------------------------------------------------- tables
def _fmt(a: dict | None, key: str = "nrmse") -> str:
    if a is None:
        return "—"
    return f"{a[key]:.4f} ± {a[key + '_std']:.4f}"


def format_tables(results: dict) -> str:
    """The Markdown report: per model the headline table next to the published numbers, then the rest.

    Parameters
    ----------
    results : dict
        The results of :func:`validation.table1.run` (``models``, ``times``).

    Returns
    -------
    str
    """
    lines = []
    for name, res in results["models"].items():
        agg = res["aggregate"]
        s = res["settings"]
        model = make_model(s["model"], s["size"])
        p1, p2 = model.parameter_names
        lines.append(f"## {name.upper()} — {res['reference_label']}")
        lines.append("")
        lines.append(f"Grid {res['grid']}; {s['n_samples']} samples per point; bundles of {s['bundle']}; "
                     f"{res['n_seeds']} seeds; excluded cells: {res['excluded']}.")
        lines.append("")
        chk = res.get("reference_check")
        if chk:
            lines.append(f"Reference check on Kaufman's exact η = 0 line ({len(chk['K'])} values of K, "
                         f"{chk['samples_per_chain']} samples per chain): z = (Monte Carlo − exact) / error bar of "
                         f"⟨B⟩ and Var(B): max |z| {chk['max_abs_z']:.2f}, mean z² {chk['mean_z2']:.2f}, "
                         f"{100 * chk['fraction_within_2sigma']:.0f} % within 2σ; median relative error bar of "
                         f"Var(B) {chk['relative_error_var_B_median']:.3f}.")
            lines.append("")
        sampling = [v for v in res.get("sampling_per_seed", {}).values() if v.get("sampler") == "markov chain"]
        if sampling:
            lines.append(f"Sampling (Markov chain, over {len(sampling)} seed(s)): τ_int up to "
                         f"{max(v['tau_int_max'] for v in sampling):.1f} sweeps (median "
                         f"{np.median([v['tau_int_median'] for v in sampling]):.1f}), thinning median "
                         f"{np.median([v['thin_median'] for v in sampling]):.0f} sweeps; effective samples per "
                         f"point n_eff = S / max(1, 2τ/thin): median "
                         f"{np.median([v['n_eff_median'] for v in sampling]):.1f}, least "
                         f"{min(v['n_eff_min'] for v in sampling):.1f} of {s['n_samples']}; points with "
                         f"n_eff < S/2: {max(v['points_below_half'] for v in sampling)}"
                         + (f"; τ_int of the recorded B in records (½ when independent): median "
                            f"{np.median([v['tau_records_median'] for v in sampling]):.2f}, so about "
                            f"{np.median([v['n_eff_records_median'] for v in sampling]):.0f} effective samples "
                            f"per point by the records themselves"
                            if all("tau_records_median" in v for v in sampling) else "") + ".")
            lines.append("")
        lines.append(f"**Headline** — normalised RMSE (RMSE / std of the reference over the cells), affine "
                     f"alignment, physical coordinates ({p1}, {p2}); mean ± std over seeds. "
                     f"In brackets: the raw RMSE.")
        lines.append("")
        lines.append(f"| method | F | ∂F/∂{p1} | ∂F/∂{p2} | fitted scale (scale+affine) |")
        lines.append("|---|---|---|---|---|")
        for row in ROWS:
            cells = []
            for q in _columns(model, "physical"):
                a = _lookup(agg, row, q, "physical")
                cells.append(f"{_fmt(a)} ({a['rmse']:.3g})" if a else "—")
            sc = _lookup(agg, row, "F", "physical", alignment="scale+affine")
            cells.append(f"{sc['scale']:.3f} ± {sc['scale_std']:.3f}" if sc else "—")
            lines.append(f"| {ROW_LABELS[row]} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append("Published (paper's Table 1, RMSE, normalisation not stated — compare rankings and ratios):")
        lines.append("")
        lines.append(f"| method | F | ∂F/∂{p1} | ∂F/∂{p2} |")
        lines.append("|---|---|---|---|")
        for method, vals in PUBLISHED[model.name].items():
            lines.append(f"| {method} | " + " | ".join(vals) + " |")
        lines.append("")
        for title, coords, al in (("Natural coordinates, affine", "natural", "affine"),
                                  ("Physical coordinates, scale + affine", "physical", "scale+affine"),
                                  ("Natural coordinates, scale + affine", "natural", "scale+affine")):
            cols = _columns(model, coords)
            lines.append(f"**{title}** (normalised RMSE)")
            lines.append("")
            lines.append("| method | " + " | ".join(cols) + " |")
            lines.append("|---|" + "---|" * len(cols))
            for row in ROWS:
                lines.append(f"| {ROW_LABELS[row]} | " + " | ".join(_fmt(_lookup(agg, row, q, coords, alignment=al))
                                                                 for q in cols) + " |")
            lines.append("")
        refs = [("lnZ", res["metric_label"])]
        if res.get("fobs_label"):
            refs.append(("F_obs", res["fobs_label"]))
        for rname, rlabel in refs:
            for coords in ("natural", "physical"):
                cols = _columns(model, coords, metric=True)
                lines.append(f"**Metric components vs {rlabel}** ({coords} coordinates, normalised RMSE of the "
                             f"fitted metric as it is — the affine alignment leaves it unchanged and the scale "
                             f"is fixed by theory; the scale + affine variant is in table1.csv; beyond the paper)")
                lines.append("")
                lines.append("| method | " + " | ".join(cols) + " |")
                lines.append("|---|" + "---|" * len(cols))
                for row in ROWS:
                    lines.append(f"| {ROW_LABELS[row]} | " + " | ".join(
                        _fmt(_lookup(agg, row, q, coords, reference=rname, alignment="affine"))
                        for q in cols) + " |")
                floor = res.get("fobs_hessian_floor")
                if rname == "F_obs" and coords == "natural" and floor:
                    lines.append("| *closest Hessian metric (a floor under the fitted potentials)* | " + " | ".join(
                        f"{floor['nrmse'][q]:.4f}" if q in floor["nrmse"] else "—" for q in cols) + " |")
                    lines.append("")
                    lines.append(f"F_obs is not a Hessian metric (integrability defect {floor['integrability']:.3f}: "
                                 f"the fraction of ∂F_obs outside the fully symmetric tensors; docs/table1.md), so no "
                                 f"row whose metric is the Hessian of its fitted potential (ours, the oracle's fits) "
                                 f"can score below the floor in italics, up to the grid's finite-difference error. "
                                 f"The rows that estimate the metric first (observed information, ClassiFIM-style, "
                                 f"the statistic baselines) are not bound by it.")
                lines.append("")
        dref = "F_obs" if res.get("fobs_label") else "lnZ"
        lines.append(f"**Distance measures of the metric** (vs {dref}; 2000 random pairs of grid points, "
                     "straight-line metric distances; distRE = fraction of pairs of pairs ordered differently "
                     "from the reference, distMSE-ps = mean squared distance error after the best scale, "
                     "÷ mean squared reference distance; docs/baselines.md)")
        lines.append("")
        lines.append("| method | distRE | distMSE-ps |")
        lines.append("|---|---|---|")
        for row in ROWS:
            lines.append(f"| {ROW_LABELS[row]} | " + " | ".join(
                _fmt(_lookup(agg, row, q, "natural", reference=dref)) for q in ("dist_re", "dist_mse_perfect_scale"))
                + " |")
        lines.append("")
        lines.append("**Acceptance checks** (normalised RMSE, affine; error bars = std over seeds)")
        lines.append("")
        for c in res["acceptance"]:
            flag = "PASS" if c["pass"] else ("exempt (exact sufficient statistic)" if c["exempt"] else "FAIL")
            lines.append(f"- {c['coords']} {c['quantity']}: {c['check']}: {flag} "
                         f"(ours {c['ours']:.4f}, other {c['other']:.4f})")
        n_fail = sum(1 for c in res["acceptance"] if not c["pass"] and not c["exempt"])
        lines.append("")
        lines.append(f"Summary: {sum(c['pass'] for c in res['acceptance'])} pass, "
                     f"{sum(1 for c in res['acceptance'] if c['exempt'] and not c['pass'])} exempt, {n_fail} fail.")
        lines.append("")
        b = res.get("boundaries", {})
        if b:
            first = next(iter(b.values()))
            lines.append("**Detected boundaries** (ridges of log λ_max of the fitted metric rising ≥ "
                         f"{first.get('prominence', float('nan')):.2f} above its value {first.get('reach', '?')} "
                         "cells away on each side; distances in grid cells to the exact phase lines; "
                         "covered_fraction: of the exact lines' points within one cell of a ridge)")
            lines.append("")
            for row, bd in b.items():
                extra = {k: v for k, v in bd.items()
                         if k.endswith("cells") or k in ("detected_end_K", "covered_fraction")}
                label = "exact metric (reference)" if row == "reference" else ROW_LABELS[row]
                lines.append(f"- {label}: {bd['n_curves']} curve(s); "
                             + ", ".join(f"{k} = {v:.2f}" for k, v in extra.items()))
            lines.append("")
        d = res.get("diagnostics", {})
        if d:
            lines.append("**Diagnostics** (seed 0): " + json.dumps(d, default=float)[:1500])
            lines.append("")
    lines.append("**Wall times (s)**: " + ", ".join(f"{k} {v:.1f}" for k, v in results["times"].items()))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- files
def write_artefacts(out: Path, results: dict, maps: dict[str, xr.Dataset]) -> list[Path]:
    """Write table1.md, table1.csv, table1.json and table1_maps.nc (h5netcdf, one group per model).

    Parameters
    ----------
    out : Path
        Output directory (created if needed).
    results : dict
        The results of the run.
    maps : dict of str to xarray.Dataset
        Per model: reference, reconstructions and error maps.

    Returns
    -------
    list of Path
        The files written.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    md = out / "table1.md"
    md.write_text("# Table 1 (statgeo reproduction)\n\n" + format_tables(results) + "\n")
    written.append(md)
    import csv

    rows = []
    for model, res in results["models"].items():
        for a in res["aggregate"]:
            rows.append({"model": model, **a})
    csvp = out / "table1.csv"
    with csvp.open("w", newline="") as fh:
        # every key of any row, in first-seen order (records against a reference with error bars have two more)
        w = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for r in rows for k in r)), restval="")
        w.writeheader()
        w.writerows(rows)
    written.append(csvp)
    js = out / "table1.json"
    clean = json.loads(json.dumps(results, default=_json_default))
    js.write_text(json.dumps(clean, indent=1))
    written.append(js)
    nc = out / "table1_maps.nc"
    if nc.exists():
        nc.unlink()
    for i, (model, ds) in enumerate(maps.items()):
        ds.to_netcdf(nc, mode="w" if i == 0 else "a", group=model, engine="h5netcdf")
    written.append(nc)
    return written


def _json_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    return str(o)


def make_figures(out: Path, model: PhysicsModel, grid: ParameterGrid, maps: xr.Dataset, boundaries: dict) -> list[Path]:
    """PNG figures of one model, in natural coordinates.

    Reference vs reconstruction (F, both first derivatives), metric components, error maps,
    and the detected boundaries over the exact phase diagram.

    Parameters
    ----------
    out : Path
        Output directory.
    model : PhysicsModel
        The model.
    grid : ParameterGrid
        The grid.
    maps : xarray.Dataset
        The model's maps (reference, aligned reconstructions).
    boundaries : dict
        Row → result of :func:`detect_boundaries`.

    Returns
    -------
    list of Path
        The figures written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    t = grid.natural_points().reshape(grid.shape + (2,))
    X, Y = t[..., 0], t[..., 1]
    n0, n1 = model.natural_names
    rows = [r for r in ROWS if f"{r}_log_z" in maps]
    paths = []

    def panel(ax, Z, title):
        m = ax.pcolormesh(X, Y, Z, shading="nearest")
        ax.set_title(title, fontsize=7)
        ax.set_xlabel(n0, fontsize=7)
        ax.set_ylabel(n1, fontsize=7)
        ax.tick_params(labelsize=6)
        plt.colorbar(m, ax=ax)

    # 1. F and first derivatives: reference and aligned reconstructions
    qs = [("log_z", None, "F"), ("grad_log_z", 0, f"∂F/∂{n0}"), ("grad_log_z", 1, f"∂F/∂{n1}")]
    fig, axes = plt.subplots(len(qs), 1 + len(rows), figsize=(3 * (1 + len(rows)), 2.6 * len(qs)))
    for i, (v, k, lab) in enumerate(qs):
        ref = maps[f"reference_{v}"].values
        panel(axes[i, 0], ref if k is None else ref[..., k], f"reference {lab}")
        for j, r in enumerate(rows):
            a = maps[f"{r}_{v}_aligned"].values
            panel(axes[i, j + 1], a if k is None else a[..., k], f"{r} {lab} (aligned)")
    fig.tight_layout()
    p = out / f"{model.name}_F_gradients.png"
    fig.savefig(p, dpi=80)
    plt.close(fig)
    paths.append(p)
    # 2. metric components
    comps = [(0, 0), (0, 1), (1, 1)]
    refs = [("reference_metric", "ref ∇²F")]
    if "reference_observable_fisher" in maps:
        refs.append(("reference_observable_fisher", "ref F_obs"))
    fig, axes = plt.subplots(3, len(refs) + len(rows), figsize=(3 * (len(refs) + len(rows)), 7.8))
    for i, (a_, b_) in enumerate(comps):
        for j, (v, lab) in enumerate(refs):
            panel(axes[i, j], maps[v].values[..., a_, b_], f"{lab} g[{a_},{b_}]")
        for j, r in enumerate(rows):
            panel(axes[i, len(refs) + j], maps[f"{r}_metric_aligned"].values[..., a_, b_], f"{r} g[{a_},{b_}]")
    fig.tight_layout()
    p = out / f"{model.name}_metric.png"
    fig.savefig(p, dpi=80)
    plt.close(fig)
    paths.append(p)
    # 3. error maps
    fig, axes = plt.subplots(3, len(rows), figsize=(3 * len(rows), 7.8))
    for i, (v, k, lab) in enumerate(qs):
        ref = maps[f"reference_{v}"].values
        for j, r in enumerate(rows):
            e = maps[f"{r}_{v}_aligned"].values - ref
            panel(axes[i, j], e if k is None else e[..., k], f"error {r} {lab}")
    fig.tight_layout()
    p = out / f"{model.name}_errors.png"
    fig.savefig(p, dpi=80)
    plt.close(fig)
    paths.append(p)
    # 4. boundaries over the exact phase diagram
    if boundaries:
        fig, axes = plt.subplots(1, len(boundaries), figsize=(4 * len(boundaries), 3.6), squeeze=False)
        true_pts = model.phase_diagram().all_line_points()
        for ax, (r, bd) in zip(axes[0], boundaries.items()):
            if not bd.get("axes"):  # detection failed (logged); leave the panel empty
                ax.set_axis_off()
                continue
            ax0, ax1 = (np.asarray(a) for a in bd["axes"])
            m = ax.pcolormesh(ax0, ax1, np.asarray(bd["score"]).T, shading="nearest", cmap="viridis")
            plt.colorbar(m, ax=ax)
            ax.plot(true_pts[:, 0], true_pts[:, 1], "w.", ms=1, label="exact phase lines")
            for c in bd["curves"]:
                c = np.asarray(c)
                ax.plot(c[:, 0], c[:, 1], "r-", lw=2, label="detected")
            ax.set_xlim(ax0[0], ax0[-1])
            ax.set_ylim(ax1[0], ax1[-1])
            ax.set_xlabel(n0)
            ax.set_ylabel(n1)
            ax.set_title(r, fontsize=8)
        first = next(iter(boundaries.values()))
        rule = (f"; red: ridges, metric ≥ {np.exp(first['prominence']):.0f}× its value {first['reach']} cells away "
                "on each side" if "prominence" in first else "; red: ridges")
        fig.suptitle(f"colour: robust z-score of log λ_max{rule}; white: exact phase lines", fontsize=8)
        fig.tight_layout()
        p = out / f"{model.name}_boundaries.png"
        fig.savefig(p, dpi=80)
        plt.close(fig)
        paths.append(p)
    return paths
