"""Tables, JSON, Markdown, verdict and figures of the latent-diffusability report.

A synthetic result dictionary with the study's schema (three encoders, two seeds, five noise
levels, one NaN) is written out and read back; the verdict is checked on hand-made rank
correlations whose answer is known.
"""

from __future__ import annotations

import copy
import csv
import json
import math

import numpy as np
import pytest

from validation.latent_diffusability.figures import write_figures
from validation.latent_diffusability.report import (
    SPEARMAN_COLUMNS,
    TABLE_COLUMNS,
    markdown_report,
    verdict,
    write_report,
    write_tables,
)

DIAGS = ["fi_deviation", "fir_deviation", "mmse_rate_deviation", "compression", "tangential", "curvature",
         "recon_mse"]
QUAL = ["frechet_distance", "confident_fraction", "class_balance_tv"]
TAUS = [0.01, 0.03, 0.1, 0.3, 1.0]


def _profile(scale: float, shift: float) -> dict:
    t = np.asarray(TAUS) * scale**2
    i_score = 50.0 / (1.0 + 40.0 * t) / scale**2 * (1 + shift)
    return {"tau": t.tolist(), "I_score": i_score.tolist(), "I_score_stderr": (0.02 * i_score).tolist(),
            "I_denoise": (1.01 * i_score).tolist(), "I_denoise_stderr": (0.02 * i_score).tolist(),
            "I_gap": (0.01 * i_score).tolist(), "I_gap_stderr": (0.005 * i_score).tolist(),
            "R": (-2000.0 / (1 + 40 * t) ** 2 / scale**4).tolist(), "R_stderr": (30.0 / scale**4 + 0 * t).tolist(),
            "mmse_rate": (0.5 / (1 + t)).tolist(), "mmse_rate_stderr": (0.01 + 0 * t).tolist(),
            "dim": 16, "n_samples": 512, "n_evals": 4}


def _quality(fd: float, cf: float) -> dict:
    return {"confident_fraction": cf, "class_balance_tv": 0.05, "class_fractions": [0.1] * 10,
            "frechet_distance": fd, "n_samples": 500}


def _encoder(kind: str, d: int, recon: float, scale: float, fir: float, fd: float, curv: float) -> dict:
    per_seed = []
    for k, seed in enumerate((0, 1)):
        eps = 0.1 * (2 * k - 1)
        per_seed.append({"seed": seed, "fi_deviation": 0.5 * fir * (1 + eps), "fir_deviation": fir * (1 + eps),
                         "mmse_rate_deviation": 0.2 * fir * (1 + eps),
                         "penalties": {"compression": 0.6 * fir * (1 + eps), "tangential": 0.3 * fir * (1 + eps),
                                       "curvature": curv},
                         "quality": _quality(fd * (1 + eps), 0.9 - 0.01 * fd * (1 + eps))})
    return {"kind": kind, "latent_dim": d, "recon_mse": recon, "scale": scale,
            "fi_deviation": 0.5 * fir, "fir_deviation": fir, "mmse_rate_deviation": 0.2 * fir,
            "i_gap_relative": 0.01,
            "penalties": {"compression": 0.6 * fir, "tangential": 0.3 * fir, "curvature": curv},
            "quality": _quality(fd, 0.9 - 0.01 * fd), "per_seed": per_seed,
            "profiles": [_profile(scale, 0.0), _profile(scale, 0.05)],
            "deviation_curves": [{k: [fir] * len(TAUS) for k in ("fi", "fir", "mmse_rate", "compression",
                                                                   "tangential", "curvature")}] * 2}


def _sp(value: float, lo: float, hi: float, quality: str = "frechet_distance") -> dict:
    return {"value": value, "interval": [lo, hi], "n_encoders": 3, "n_seeds": 2, "n_boot": 200, "quality": quality}


def make_res(n_encoders: int = 3, n_seeds: int = 2) -> dict:
    encs = {"pca16": _encoder("pca", 16, 0.031, 0.8, 0.12, 4.5, 0.0),
            "tanh16": _encoder("curved", 16, 0.035, 0.6, 0.41, 9.25, 0.27),
            "vae_b1": _encoder("vae", 16, 0.052, 1.3, 0.23, 6.125, float("nan"))}
    encs = dict(list(encs.items())[:n_encoders])
    for e in encs.values():
        e["per_seed"] = e["per_seed"][:n_seeds]
        e["profiles"] = e["profiles"][:n_seeds]
    spearman = {d: _sp(v, v - 0.3, min(v + 0.3, 1.0)) for d, v in zip(DIAGS, [0.5, 0.9, 0.4, 0.2, 0.1,
                                                                            float("nan"), 0.3])}
    res = {
        "preset": "tiny", "seeds": [0, 1][:n_seeds], "taus": TAUS, "settings": {"epochs": 3}, "versions": {},
        "wall_s": 123.4, "stage_wall_s": {"train": 100.0}, "classifier_accuracy": 0.981,
        "reference": {"frechet_distance_train_vs_test": 1.75, "confident_fraction_test": 0.97},
        "pixel": {"profiles": [_profile(1.0, 0.0), _profile(1.0, 0.02)][:n_seeds],
                  "quality": _quality(3.0, 0.93), "quality_per_seed": [_quality(3.0, 0.93)] * n_seeds},
        "encoders": encs, "diagnostics": DIAGS, "quality_measures": QUAL, "spearman": spearman,
        "spearman_all": {"frechet_distance": copy.deepcopy(spearman),
                         "confident_fraction": {d: _sp(-0.4, -0.8, 0.1, "confident_fraction") for d in DIAGS},
                         "class_balance_tv": {d: _sp(0.05, -0.5, 0.6, "class_balance_tv") for d in DIAGS}},
    }
    res["verdict"] = verdict(spearman)
    return res


def test_write_report_files_and_csv_round_trip(tmp_path):
    res = make_res()
    write_report(res, tmp_path)
    for f in ("latent_diffusability.md", "latent_diffusability.json", "table.csv", "spearman.csv"):
        assert (tmp_path / f).stat().st_size > 0, f
    with open(tmp_path / "table.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(TABLE_COLUMNS)
    assert [r["name"] for r in rows] == ["pixel", "pca16", "tanh16", "vae_b1"]
    # pixel row: exact by construction, deviations empty, gap = mean |I_s - I_d| / I_s = 0.01
    px = rows[0]
    assert (px["kind"], int(px["latent_dim"]), float(px["recon_mse"]), float(px["scale"])) == ("pixel", 16, 0.0, 1.0)
    assert px["fir_deviation"] == "" and px["curvature"] == ""
    assert float(px["i_gap_relative"]) == pytest.approx(0.01, rel=1e-12)
    assert float(px["frechet_distance"]) == 3.0
    for row in rows[1:]:
        e = res["encoders"][row["name"]]
        assert row["kind"] == e["kind"] and int(row["latent_dim"]) == e["latent_dim"]
        for c in ("recon_mse", "scale", "fi_deviation", "fir_deviation", "mmse_rate_deviation", "i_gap_relative"):
            assert float(row[c]) == e[c]  # full-precision floats read back exactly
        for c in ("compression", "tangential", "curvature"):
            want = e["penalties"][c]
            if math.isnan(want):
                assert row[c] == ""
            else:
                assert float(row[c]) == want
        for c in ("confident_fraction", "class_balance_tv", "frechet_distance"):
            assert float(row[c]) == e["quality"][c]
    with open(tmp_path / "spearman.csv", newline="") as fh:
        sp = list(csv.DictReader(fh))
    assert list(sp[0]) == list(SPEARMAN_COLUMNS)
    assert len(sp) == len(QUAL) * len(DIAGS)  # the primary block is not duplicated
    assert [r["quality"] for r in sp[: len(DIAGS)]] == ["frechet_distance"] * len(DIAGS)
    for r in sp:
        e = res["spearman_all"][r["quality"]][r["diagnostic"]]
        if math.isnan(e["value"]):  # NaN -> empty cells
            assert (r["value"], r["lo"], r["hi"]) == ("", "", "")
        else:
            assert float(r["value"]) == e["value"]
            assert [float(r["lo"]), float(r["hi"])] == e["interval"]
        assert (int(r["n_encoders"]), int(r["n_seeds"])) == (3, 2)


def test_json_round_trip_nan_to_null(tmp_path):
    res = make_res()
    res["settings"]["array"] = np.array([1.0, np.inf])
    write_report(res, tmp_path)
    text = (tmp_path / "latent_diffusability.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    back = json.loads(text)
    assert back["encoders"]["vae_b1"]["penalties"]["curvature"] is None
    assert back["spearman"]["curvature"]["value"] is None
    assert back["settings"]["array"] == [1.0, None]
    assert list(back["encoders"]) == list(res["encoders"])  # table order kept
    assert back["encoders"]["tanh16"]["profiles"][1]["I_score"] == res["encoders"]["tanh16"]["profiles"][1]["I_score"]
    assert back["verdict"]["best_diagnostic"] == "fir_deviation"


def test_verdict_best_beats_reconstruction():
    s = {"fi_deviation": _sp(0.5, 0.1, 0.8), "fir_deviation": _sp(0.9, 0.7, 1.0),
         "curvature": _sp(float("nan"), float("nan"), float("nan")), "recon_mse": _sp(0.3, -0.1, 0.6)}
    v = verdict(s)
    assert v["best_diagnostic"] == "fir_deviation" and v["best_value"] == 0.9
    assert v["best_interval"] == [0.7, 1.0] and v["reconstruction_value"] == 0.3
    assert v["beats_reconstruction"] is True and v["separated_from_reconstruction"] is True
    assert "do not overlap" in v["text"]
    # overlapping intervals: beats, not separated
    s["recon_mse"] = _sp(0.3, -0.1, 0.75)
    v = verdict(s)
    assert v["beats_reconstruction"] is True and v["separated_from_reconstruction"] is False
    assert "overlap" in v["text"]


def test_verdict_reconstruction_best_and_nan_ignored():
    s = {"fi_deviation": _sp(0.2, -0.2, 0.6), "fir_deviation": _sp(float("nan"), float("nan"), float("nan")),
         "tangential": _sp(0.35, 0.05, 0.7), "recon_mse": _sp(0.8, 0.5, 0.95)}
    v = verdict(s)
    assert v["best_diagnostic"] == "tangential" and v["best_value"] == 0.35
    assert v["beats_reconstruction"] is False and v["separated_from_reconstruction"] is False
    assert "Reconstruction error predicts sample quality as well as or better" in v["text"]


def test_verdict_no_interval_excludes_zero_and_empty():
    s = {"fi_deviation": _sp(0.3, -0.2, 0.7), "fir_deviation": _sp(-0.1, -0.5, 0.3), "recon_mse": _sp(0.1, -0.4, 0.5)}
    v = verdict(s)
    assert v["best_diagnostic"] == "fi_deviation" and v["beats_reconstruction"] is False
    assert "No diagnostic's interval excludes 0" in v["text"]
    v = verdict({"fi_deviation": _sp(-0.3, -0.6, 0.1), "recon_mse": _sp(0.1, -0.4, 0.5)})
    assert v["best_value"] == -0.3 and "No diagnostic is positively correlated" in v["text"]
    v = verdict({"fi_deviation": _sp(float("nan"), float("nan"), float("nan"))})
    assert v["best_diagnostic"] is None and v["beats_reconstruction"] is False
    with pytest.raises(TypeError, match="spearman"):
        verdict([0.3])


def test_markdown_contents():
    res = make_res()
    md = markdown_report(res)
    for name in res["encoders"]:
        assert f"`{name}`" in md
    for label in ("FI deviation", "FIR deviation", "MMSE-rate deviation", "compression", "tangential",
                  "curvature", "reconstruction MSE"):
        assert label in md
    assert "Preset `tiny`" in md and "seeds 0, 1 (2)" in md and "0.01 to 1" in md and "123 s" in md
    assert "real digits" in md and "1.75" in md  # real-data floor of the Frechet distance
    assert "+0.90 | [+0.60, +1.00]" in md  # fir_deviation vs Frechet distance
    assert res["verdict"]["text"] in md
    assert "How to read this" in md and "spec" not in md.lower()


def test_figures_written(tmp_path):
    for n_enc, n_seed in ((3, 2), (1, 1)):
        paths = write_figures(make_res(n_enc, n_seed), tmp_path / f"{n_enc}_{n_seed}")
        assert [p.name for p in paths] == ["fisher_rate.png", "penalties.png", "scatter.png"]
        for p in paths:
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_links_existing_figures_and_validates(tmp_path):
    res = make_res(1, 1)
    write_figures(res, tmp_path)
    write_report(res, tmp_path)
    md = (tmp_path / "latent_diffusability.md").read_text()
    assert "(fisher_rate.png)" in md and "(scatter.png)" in md
    with pytest.raises(TypeError, match="res"):
        write_tables([1], tmp_path)
    with pytest.raises(TypeError, match="out"):
        write_report(res, 3)
    with pytest.raises(ValueError, match="out"):
        write_report(res, tmp_path / "table.csv")
