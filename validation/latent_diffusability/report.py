"""Tables, JSON and the Markdown report of the latent-diffusability study.

The study trains one latent diffusion model per encoder of the digits (and one in pixel space
as the reference), measures how far the latent law's Fisher-information curves sit from the
pixel law's after the scale correction, and asks whether those deviations rank the encoders by
sample quality (Spearman rank correlation with a bootstrap interval over encoders and seeds).
This module only formats an already computed result dictionary ``res``:

* :func:`write_tables` -- ``table.csv`` (one row per encoder, the pixel model first) and
  ``spearman.csv`` (one row per quality measure and diagnostic);
* :func:`markdown_report` -- a self-contained Markdown page;
* :func:`write_report` -- the page, the JSON dump (NaN and inf stored as ``null``) and the tables;
* :func:`verdict` -- the plain-language reading of the rank correlations.

Missing values (``None``, NaN, absent keys) are written as empty CSV cells, as ``null`` in the
JSON and as an em dash in the Markdown.
"""

from __future__ import annotations

import csv
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from validation.json_ready import json_ready
from validation.latent_diffusability.result_fields import as_number, check_result, field, output_dir

__all__ = [
    "SPEARMAN_COLUMNS",
    "TABLE_COLUMNS",
    "markdown_report",
    "verdict",
    "write_report",
    "write_tables",
]

#: columns of ``table.csv``, in order
TABLE_COLUMNS = (
    "name", "kind", "latent_dim", "recon_mse", "scale", "fi_deviation", "fir_deviation",
    "mmse_rate_deviation", "compression", "tangential", "curvature", "i_gap_relative",
    "confident_fraction", "class_balance_tv", "frechet_distance",
)

#: columns of ``spearman.csv``, in order
SPEARMAN_COLUMNS = ("quality", "diagnostic", "value", "lo", "hi", "n_encoders", "n_seeds")

#: the three penalties of the chain x -> P_d x -> A x -> E(x), stored under ``"penalties"``
PENALTIES = ("compression", "tangential", "curvature")

#: the quality measures, stored under ``"quality"``
QUALITY = ("confident_fraction", "class_balance_tv", "frechet_distance")

#: diagnostic shown when ``res`` carries no list of its own
DEFAULT_DIAGNOSTICS = ("fi_deviation", "fir_deviation", "mmse_rate_deviation", "compression",
                       "tangential", "curvature", "recon_mse")

#: human-readable names
LABELS = {
    "fi_deviation": "FI deviation",
    "fir_deviation": "FIR deviation",
    "mmse_rate_deviation": "MMSE-rate deviation",
    "compression": "compression",
    "tangential": "tangential",
    "curvature": "curvature",
    "recon_mse": "reconstruction MSE",
    "i_gap_relative": "I gap (rel.)",
    "confident_fraction": "confident fraction",
    "class_balance_tv": "class-balance TV",
    "frechet_distance": "Frechet distance",
    "scale": "scale c",
    "latent_dim": "d",
}

#: file names written by :func:`write_report` and :func:`write_tables`
REPORT_MD = "latent_diffusability.md"
REPORT_JSON = "latent_diffusability.json"
TABLE_CSV = "table.csv"
SPEARMAN_CSV = "spearman.csv"

#: figure files linked from the report when they sit beside it
FIGURE_FILES = (("fisher_rate.png", "Fisher information and its rate, pixel vs scale-corrected latent"),
                ("penalties.png", "Penalties and total FIR deviation per encoder"),
                ("scatter.png", "Diagnostics vs Frechet distance"))


# ----------------------------------------------------------------------------- small helpers
def _finite(value: Any) -> bool:
    return math.isfinite(as_number(value))


def _csv_cell(value: Any) -> str:
    """A CSV cell: ints as ints, floats at full precision (``repr`` round-trips), missing empty."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return "" if value is None else str(bool(value))
    if isinstance(value, (numbers.Integral, np.integer)):
        return str(int(value))
    if isinstance(value, (numbers.Real, np.floating)):
        v = float(value)
        return repr(v) if math.isfinite(v) else ""
    return str(value)


def _fmt(value: Any, digits: int = 3) -> str:
    """Markdown cell with ``digits`` significant digits; missing values as an em dash.

    >>> _fmt(0.0123456), _fmt(12345.6), _fmt(None), _fmt(16)
    ('0.0123', '1.23e+04', '—', '16')
    """
    if value is None:
        return "—"
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    v = as_number(value)
    if not math.isfinite(v):
        return "—" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return f"{v:.{digits}g}"


def _fmt_rho(entry: Any) -> tuple[str, str]:
    """(value, "[lo, hi]") of a rank-correlation entry, two decimals."""
    if not isinstance(entry, Mapping):
        return "—", "—"
    v = as_number(entry.get("value"))
    iv = entry.get("interval") or (None, None)
    lo, hi = (as_number(iv[0]), as_number(iv[1])) if len(iv) == 2 else (math.nan, math.nan)
    val = f"{v:+.2f}" if math.isfinite(v) else "—"
    ci = f"[{lo:+.2f}, {hi:+.2f}]" if math.isfinite(lo) and math.isfinite(hi) else "—"
    return val, ci


def _interval(entry: Mapping) -> tuple[float, float]:
    iv = entry.get("interval")
    if isinstance(iv, Sequence) and not isinstance(iv, str) and len(iv) == 2:
        return as_number(iv[0]), as_number(iv[1])
    return math.nan, math.nan


def _pixel_gap(res: Mapping) -> float:
    """Mean over tau and seeds of |I_score - I_denoise| / I_score of the pixel model's profiles."""
    profiles = (res.get("pixel") or {}).get("profiles") or []
    vals = []
    for p in profiles:
        if not isinstance(p, Mapping) or "I_score" not in p or "I_denoise" not in p:
            continue
        s = np.asarray([as_number(v) for v in p["I_score"]], dtype=float)
        d = np.asarray([as_number(v) for v in p["I_denoise"]], dtype=float)
        if s.shape != d.shape:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.abs(s - d) / np.abs(s)
        vals.extend(r[np.isfinite(r)].tolist())
    return float(np.mean(vals)) if vals else math.nan


# ----------------------------------------------------------------------------- tables
def _rows(res: Mapping) -> list[dict[str, Any]]:
    """Rows of the encoder table (pixel model first, when ``res`` has one)."""
    rows = []
    pixel = res.get("pixel")
    if isinstance(pixel, Mapping) and pixel:
        profiles = pixel.get("profiles") or []
        dim = profiles[0].get("dim") if profiles and isinstance(profiles[0], Mapping) else None
        quality = pixel.get("quality") or {}
        row = {c: None for c in TABLE_COLUMNS}
        row.update(name="pixel", kind="pixel", latent_dim=dim, recon_mse=0.0, scale=1.0,
                   i_gap_relative=_pixel_gap(res))
        for q in QUALITY:
            row[q] = quality.get(q)
        rows.append(row)
    for name, entry in (res.get("encoders") or {}).items():
        row = {"name": name}
        for c in TABLE_COLUMNS[1:]:
            row[c] = field(entry, c)
        rows.append(row)
    return rows


def _spearman_rows(res: Mapping) -> list[dict[str, Any]]:
    """Rows of the rank-correlation table: the primary quality measure first, then the others."""
    table: dict[tuple[str, str], Mapping] = {}
    for diag, entry in (res.get("spearman") or {}).items():
        if isinstance(entry, Mapping):
            table[(str(entry.get("quality", "frechet_distance")), diag)] = entry
    for quality, block in (res.get("spearman_all") or {}).items():
        if isinstance(block, Mapping):
            for diag, entry in block.items():
                if isinstance(entry, Mapping):
                    table.setdefault((quality, diag), entry)
    rows = []
    for (quality, diag), entry in table.items():
        lo, hi = _interval(entry)
        rows.append({"quality": quality, "diagnostic": diag, "value": entry.get("value"), "lo": lo, "hi": hi,
                     "n_encoders": entry.get("n_encoders"), "n_seeds": entry.get("n_seeds")})
    return rows


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Mapping]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for row in rows:
            w.writerow([_csv_cell(row.get(c)) for c in columns])


def write_tables(res: dict, out: Path) -> None:
    """Write ``table.csv`` and ``spearman.csv`` into the directory ``out``.

    ``table.csv`` has one row per encoder (columns :data:`TABLE_COLUMNS`), preceded by a row
    ``pixel`` for the pixel-space model when ``res["pixel"]`` is present: its reconstruction
    error is 0 and its scale 1 by construction, its deviations and penalties are empty (it is
    the reference they are measured against), and its ``i_gap_relative`` is the mean over the
    tau grid and the seeds of ``|I_score - I_denoise| / I_score`` of its profiles.
    ``spearman.csv`` has one row per (quality measure, diagnostic) with the rank correlation,
    its bootstrap interval ``[lo, hi]`` and the numbers of encoders and seeds behind it.
    Floats are written at full precision (they read back exactly); missing values as empty cells.

    Parameters
    ----------
    res : dict
        The study's result dictionary.
    out : pathlib.Path or str
        Output directory, created if missing.

    Raises
    ------
    TypeError
        ``res`` or ``res["encoders"]`` is not a dict, or ``out`` is not a path.
    ValueError
        ``out`` is an existing file or an empty path.
    """
    res = check_result(res)
    out = output_dir(out)
    _write_csv(out / TABLE_CSV, TABLE_COLUMNS, _rows(res))
    _write_csv(out / SPEARMAN_CSV, SPEARMAN_COLUMNS, _spearman_rows(res))


# ----------------------------------------------------------------------------- verdict
def verdict(spearman: dict) -> dict:
    """Plain-language reading of the rank correlations of the diagnostics with sample quality.

    Among the diagnostics other than ``"recon_mse"`` with a finite rank correlation, the one
    with the largest value is the *best*. It *beats reconstruction* when its value exceeds the
    reconstruction error's and the lower end of its bootstrap interval is above 0; it is
    *separated from reconstruction* when that lower end also lies above the upper end of the
    reconstruction error's interval. A positive Spearman rho against the Frechet distance means
    that encoders with larger deviation give worse samples.

    Parameters
    ----------
    spearman : dict
        Diagnostic name -> ``{"value": rho, "interval": [lo, hi], "n_encoders": int,
        "n_seeds": int, "quality": str, ...}``; NaN or missing values are ignored.

    Returns
    -------
    dict
        ``best_diagnostic`` (str, or None when no diagnostic has a finite value),
        ``best_value``, ``best_interval`` ([lo, hi]), ``reconstruction_value``,
        ``reconstruction_interval``, ``beats_reconstruction`` (bool),
        ``separated_from_reconstruction`` (bool) and ``text`` (str).

    Raises
    ------
    TypeError
        ``spearman`` is not a dict, or one of its entries is not a dict.

    Examples
    --------
    >>> s = {"fir_deviation": {"value": 0.8, "interval": [0.5, 0.95]},
    ...      "fi_deviation": {"value": 0.3, "interval": [-0.2, 0.7]},
    ...      "recon_mse": {"value": 0.1, "interval": [-0.4, 0.45]}}
    >>> v = verdict(s)
    >>> v["best_diagnostic"], v["beats_reconstruction"], v["separated_from_reconstruction"]
    ('fir_deviation', True, True)
    >>> s["fir_deviation"] = {"value": -0.9, "interval": [-1.0, -0.05]}
    >>> "opposite of the claim (larger deviation, better samples): FIR deviation" in verdict(s)["text"]
    True
    """
    if not isinstance(spearman, Mapping):
        raise TypeError(f"spearman must be a dict of diagnostic -> rank-correlation entry, "
                        f"got {type(spearman).__name__}")
    for k, e in spearman.items():
        if not isinstance(e, Mapping):
            raise TypeError(f"spearman[{k!r}] must be a dict with 'value' and 'interval', got {type(e).__name__}")
    quality = next((str(e["quality"]) for e in spearman.values() if "quality" in e), "frechet_distance")
    qlabel = LABELS.get(quality, quality)
    recon = spearman.get("recon_mse", {})
    r_val = as_number(recon.get("value"))
    r_lo, r_hi = _interval(recon)
    cands = {k: as_number(e.get("value")) for k, e in spearman.items() if k != "recon_mse"}
    cands = {k: v for k, v in cands.items() if math.isfinite(v)}
    out: dict[str, Any] = {"best_diagnostic": None, "best_value": math.nan, "best_interval": [math.nan, math.nan],
                           "reconstruction_value": r_val, "reconstruction_interval": [r_lo, r_hi],
                           "beats_reconstruction": False, "separated_from_reconstruction": False}
    if not cands:
        out["text"] = (f"No diagnostic has a defined rank correlation with the {qlabel}, so nothing can be "
                       f"said about whether diffusability predicts sample quality.")
        return out
    best = max(cands, key=cands.get)
    b_val = cands[best]
    b_lo, b_hi = _interval(spearman[best])
    beats = bool(math.isfinite(r_val) and b_val > r_val and b_lo > 0)
    separated = bool(beats and b_lo > r_hi)
    out.update(best_diagnostic=best, best_value=b_val, best_interval=[b_lo, b_hi],
               beats_reconstruction=beats, separated_from_reconstruction=separated)
    out["text"] = _verdict_text(spearman, best, b_val, (b_lo, b_hi), r_val, (r_lo, r_hi), beats, separated, qlabel)
    return out


def _verdict_text(spearman: Mapping, best: str, b_val: float, b_iv: tuple[float, float], r_val: float,
                  r_iv: tuple[float, float], beats: bool, separated: bool, qlabel: str) -> str:
    """The sentences of :func:`verdict`."""
    def rho(v: float, iv: tuple[float, float]) -> str:
        ci = f" [{iv[0]:+.2f}, {iv[1]:+.2f}]" if all(math.isfinite(x) for x in iv) else " (no interval)"
        return f"rho = {v:+.2f}{ci}"

    name = LABELS.get(best, best)
    e = spearman[best]
    n = ""
    if e.get("n_encoders") is not None and e.get("n_seeds") is not None:
        n = f" over {e['n_encoders']} encoders and {e['n_seeds']} seed(s)"
    parts = [(f"Rank correlation with the {qlabel}{n}: the strongest diffusability diagnostic is {name} "
              f"({rho(b_val, b_iv)}).")]
    excl = [LABELS.get(k, k) for k, v in spearman.items()
            if k != "recon_mse" and _interval(v)[0] > 0]
    if b_val <= 0:
        parts.append(f"No diagnostic is positively correlated with the {qlabel}: a larger deviation from the "
                     "pixel law does not go with worse samples here.")
    elif excl:
        parts.append("Diagnostics whose interval lies above 0 (larger deviation, worse samples): "
                     + ", ".join(excl) + ".")
    else:
        parts.append("No diagnostic's interval excludes 0, so none is shown to predict sample quality.")
    opposite = [LABELS.get(k, k) for k, v in spearman.items() if k != "recon_mse" and _interval(v)[1] < 0]
    if opposite:
        parts.append("Interval below 0, the opposite of the claim (larger deviation, better samples): "
                     + ", ".join(opposite) + ".")
    if not math.isfinite(r_val):
        parts.append("The reconstruction error's correlation is undefined, so no comparison with it is made.")
        return " ".join(parts)
    parts.append(f"Reconstruction error: {rho(r_val, r_iv)}.")
    if separated:
        parts.append(f"{name} predicts sample quality better than reconstruction error, and the two intervals "
                     "do not overlap.")
    elif beats:
        parts.append(f"{name} ranks the encoders better than reconstruction error and its interval excludes 0, "
                     "but the two intervals overlap, so the advantage over reconstruction error is not resolved.")
    elif r_val >= b_val:
        parts.append("Reconstruction error predicts sample quality as well as or better than every "
                     "diffusability diagnostic.")
    else:
        parts.append(f"{name} is higher than reconstruction error, but its interval includes 0, so it is not "
                     "shown to predict sample quality better.")
    return " ".join(parts)


# ----------------------------------------------------------------------------- markdown
_HOW_TO_READ = """\
Every model is a diffusion model trained on the encoded digits; noise of variance tau is added
in the model's own space. For each trained denoiser, **I(tau)** is the Fisher information of the
noised law (the mean squared length of its score), estimated two ways: from the score and from
the denoiser's error; **I gap** is their relative difference, a check on the estimates (small is
good). **R(tau)** is the rate at which I changes with tau (estimated with random probe vectors),
and the **MMSE rate** is the rate at which the denoiser's mean squared error changes. An encoder
changes the overall size of the data; its **scale** c = sqrt(total latent variance / total pixel
variance) is divided out by comparing, at pixel noise tau, the rescaled latent curves
c^2 I_z(c^2 tau), c^4 R_z(c^2 tau) and MMSE'_z(c^2 tau) with the pixel curves. The **FI, FIR and
MMSE-rate deviations** are the relative differences |latent - pixel| / |pixel| of these curves,
averaged over the (log-uniform) tau grid: 0 means the encoder leaves the diffusion problem as hard
as in pixel space. The FIR deviation is split along the chain pixels -> PCA projection of the same
dimension -> best linear fit of the encoder -> the encoder: **compression** is the part due to
dropping dimensions, **tangential** the part due to the linear map, **curvature** the part due to
the encoder's non-linearity (each relative to |R| of the pixels). Sample quality is measured with
a digit classifier: the **confident fraction** of samples it labels with high confidence (higher
is better), the **class-balance TV** distance of the class fractions from uniform (lower is
better), and the **Frechet distance** between samples and real digits in the classifier's
penultimate features (lower is better). **rho** is Spearman's rank correlation between a diagnostic
and a quality measure across encoders, with a bootstrap interval over encoders and seeds. Against
the Frechet distance or class-balance TV, a positive rho means a larger diagnostic goes with worse
samples; against the confident fraction the sign is reversed."""


def _settings_line(res: Mapping) -> str:
    seeds = list(res.get("seeds") or [])
    taus = [t for t in (as_number(x) for x in (res.get("taus") or [])) if math.isfinite(t)]
    parts = [f"Preset `{res.get('preset', '?')}`",
             f"seeds {', '.join(str(s) for s in seeds) if seeds else '—'} ({len(seeds)})"]
    if taus:
        parts.append(f"pixel noise tau from {min(taus):.3g} to {max(taus):.3g} ({len(taus)} values)")
    wall = as_number(res.get("wall_s"))
    if math.isfinite(wall):
        parts.append(f"wall time {wall:.0f} s ({wall / 60:.1f} min)")
    line = ", ".join(parts) + "."
    acc = as_number(res.get("classifier_accuracy"))
    if math.isfinite(acc):
        line += f" Classifier accuracy on held-out digits: {acc:.3f}."
    return line


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str] | None = None) -> list[str]:
    align = align or ["l"] + ["r"] * (len(header) - 1)
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _encoder_table(res: Mapping) -> list[str]:
    cols = TABLE_COLUMNS[1:]
    header = ["encoder"] + [LABELS.get(c, c.replace("_", " ")) for c in cols]
    rows = []
    for row in _rows(res):
        rows.append([f"`{row['name']}`"] + [str(row[c]) if c == "kind" and row[c] is not None else _fmt(row[c])
                                            for c in cols])
    ref = res.get("reference")
    if isinstance(ref, Mapping) and ref:
        cells = {c: "" for c in cols}
        cells["confident_fraction"] = _fmt(ref.get("confident_fraction_test"))
        cells["frechet_distance"] = _fmt(ref.get("frechet_distance_train_vs_test"))
        cells["kind"] = "data"
        rows.append(["real digits (test vs train)"] + [cells[c] for c in cols])
    return _md_table(header, rows, ["l", "l"] + ["r"] * (len(cols) - 1))


def _diagnostics(res: Mapping) -> list[str]:
    diags = list(res.get("diagnostics") or [])
    for d in res.get("spearman") or {}:
        if d not in diags:
            diags.append(d)
    return diags or list(DEFAULT_DIAGNOSTICS)


def _spearman_table(res: Mapping, sp: Mapping | None = None) -> list[str]:
    sp = (res.get("spearman") or {}) if sp is None else sp
    rows = []
    n_enc = n_seed = n_boot = None
    for d in _diagnostics(res):
        e = sp.get(d)
        val, ci = _fmt_rho(e)
        rows.append([LABELS.get(d, d), val, ci])
        if isinstance(e, Mapping):
            n_enc = e.get("n_encoders", n_enc)
            n_seed = e.get("n_seeds", n_seed)
            n_boot = e.get("n_boot", n_boot)
    lines = _md_table(["diagnostic", "rho", "interval"], rows)
    counts = []
    if n_enc is not None:
        counts.append(f"{n_enc} encoders")
    if n_seed is not None:
        counts.append(f"{n_seed} seed(s)")
    if n_boot is not None:
        counts.append(f"{n_boot} bootstrap resamples")
    if counts:
        lines += ["", "Computed over " + ", ".join(counts) + "."]
    return lines


def _spearman_all_table(res: Mapping) -> list[str]:
    sp_all = res.get("spearman_all") or {}
    measures = [q for q in (res.get("quality_measures") or list(sp_all)) if q != "frechet_distance"]
    measures = [q for q in measures if isinstance(sp_all.get(q), Mapping)]
    if not measures:
        return []
    rows = []
    for d in _diagnostics(res):
        cells = []
        for q in measures:
            val, ci = _fmt_rho(sp_all[q].get(d))
            cells.append(val if ci == "—" else f"{val} {ci}")
        rows.append([LABELS.get(d, d)] + cells)
    return _md_table(["diagnostic"] + [LABELS.get(q, q) for q in measures], rows)


def markdown_report(res: dict, figures: Sequence[str] | None = None) -> str:
    """The study's result as a self-contained Markdown page.

    Sections: settings, the encoder table (reconstruction error, scale, deviations, penalties,
    I gap and the three quality measures, seed means; the pixel model first and the real digits'
    own quality as the floor), the rank correlations with the Frechet distance (Spearman rho with
    its bootstrap interval), a compact table for the other quality measures, the verdict
    (``res["verdict"]["text"]``, or :func:`verdict` of ``res["spearman"]`` when absent), links
    to the figures and a paragraph explaining the quantities.

    Parameters
    ----------
    res : dict
        The study's result dictionary.
    figures : sequence of str, optional
        Figure file names (relative to the report) to link; only those among ``fisher_rate.png``,
        ``penalties.png`` and ``scatter.png`` get captions, others are linked by name.

    Returns
    -------
    str
        The Markdown text, ending with a newline.

    Raises
    ------
    TypeError
        ``res`` or ``res["encoders"]`` is not a dict.
    """
    res = check_result(res)
    lines = ["# Latent diffusability of digit encoders", "", _settings_line(res), "",
             ("Does the diffusability of an encoder's latent law, measured against the pixel law from the "
              "trained denoisers, predict the quality of the latent diffusion model's samples better than "
              "the encoder's reconstruction error?"), "",
             "## Encoders", "", "Seed means; deviations and penalties are relative and averaged over the tau grid.",
             ""]
    lines += _encoder_table(res)
    lines += ["", "## Rank correlation with the Frechet distance", ""]
    lines += _spearman_table(res)
    for dim, sp in (res.get("spearman_fixed_dim") or {}).items():
        lines += ["", f"### At fixed latent dimension d = {dim}", "",
                  (f"Only the encoders with d = {dim}. Their compression penalty is the same, so this asks "
                   "whether the tangential and curvature penalties (and the totals they change) order "
                   "the latent models by sample quality."), ""]
        lines += _spearman_table(res, sp)
        lines += ["", verdict(sp)["text"]]
    other = _spearman_all_table(res)
    if other:
        lines += ["", "### Other quality measures", "", "rho [interval] per quality measure.", ""] + other
    v = res.get("verdict")
    text = v.get("text") if isinstance(v, Mapping) else None
    if not text:
        text = verdict(res.get("spearman") or {})["text"]
    lines += ["", "## Verdict", "", str(text)]
    if figures:
        captions = dict(FIGURE_FILES)
        lines += ["", "## Figures", ""]
        for f in figures:
            lines += [f"![{captions.get(f, f)}]({f})", ""]
        lines.pop()
    lines += ["", "## How to read this", "", _HOW_TO_READ, ""]
    return "\n".join(lines)


def write_report(res: dict, out: Path) -> None:
    """Write ``latent_diffusability.md``, ``latent_diffusability.json`` and the tables into ``out``.

    The JSON is ``res`` with NaN and infinities replaced by ``null`` and numpy values turned into
    Python ones (written with ``allow_nan=False``, so it is strict JSON). The Markdown links the
    figures (:data:`FIGURE_FILES`) that already exist in ``out``: write them first to have them
    linked.

    Parameters
    ----------
    res : dict
        The study's result dictionary.
    out : pathlib.Path or str
        Output directory, created if missing.

    Raises
    ------
    TypeError
        ``res`` or ``res["encoders"]`` is not a dict, or ``out`` is not a path.
    ValueError
        ``out`` is an existing file or an empty path.
    """
    res = check_result(res)
    out = output_dir(out)
    figures = [f for f, _ in FIGURE_FILES if (out / f).is_file()]
    (out / REPORT_MD).write_text(markdown_report(res, figures), encoding="utf-8")
    (out / REPORT_JSON).write_text(json.dumps(json_ready(res), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    write_tables(res, out)
