"""Toy reproductions of the diffusability diagnostics (Gu et al., arXiv 2604.02751).

    python -m validation.diffusability [--out DIR] [--quick] [--threads N]

* I(τ) and R(τ) for pixel data N(0, I₂) and pointwise-activation encoders (tanh, softplus,
  leaky ReLU with several slopes): references from closed forms / high-accuracy quadrature,
  estimates from small ε-prediction MLPs trained on the spot (CPU) overlaid with error bars.
* FIR deviation of each activation encoder vs pixel data (raw and scale-corrected).
* Penalties: D_R vs δ (tangential distortion), vs d with the (D − d)/(D − 2) line
  (dimensional compression), vs ε (curvature injection).

Writes ``fisher_rate.png``, ``penalties.png``, ``table.md``, ``table.csv`` and ``results.json``
(settings, versions, timings) to ``--out`` (default ``out/diffusability``). See
docs/diffusability.md, "Reproduction".
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

logger = logging.getLogger("validation.diffusability")


def _activations():
    def softplus(x):
        return np.logaddexp(0.0, x)

    acts = {"pixel": lambda x: x, "tanh": np.tanh, "softplus": softplus}
    for a in (0.5, 0.2, 0.05):
        acts[f"leaky_relu_{a:g}"] = (lambda a: (lambda x: np.where(x > 0, x, a * x)))(a)
    return acts


def _variance(f) -> float:
    x, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / w.sum()
    v = f(x)
    return float(np.sum(w * v**2) - np.sum(w * v) ** 2)


def run(out: Path, quick: bool, threads: int) -> dict:
    import torch

    from statgeo.diffusion.diffusability import (
        activation_fisher,
        compression_penalty,
        compression_penalty_limit,
        curvature_injection_penalty,
        estimate_diffusability,
        gaussian_fisher_information,
        gaussian_fisher_information_rate,
        tangential_distortion_penalty,
    )
    from statgeo.diffusion.diffusability.toy_denoisers import train_epsilon_mlp
    from statgeo.provenance import versions

    torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    settings = {
        "quick": quick,
        "threads": threads,
        "taus": (np.geomspace(1e-2, 1e2, 9) if quick else np.geomspace(1e-2, 1e2, 17)).tolist(),
        "train_steps": 800 if quick else 4000,
        "train_samples": 20000,
        "mc_samples": 1000 if quick else 4000,
        "hidden": 128,
        "depth": 3,
        "seed": 0,
        "penalty_tau": [0.01, 0.1, 1.0],
        "compression_D": 16,
        "curvature_eps": [0.25, 0.5, 1.0, 2.0] if quick else [0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0],
        "curvature_taus": np.geomspace(1e-2, 1e2, 7 if quick else 13).tolist(),
        "quadrature_curve": {"n_outer": 32, "n_inner": 12} if quick else {"n_outer": 64, "n_inner": 20},
    }
    taus = np.array(settings["taus"])
    timings: dict[str, float] = {}
    rows, curves = [], {}
    rng = np.random.default_rng(settings["seed"])
    x2 = rng.normal(size=(settings["train_samples"], 2))
    Rx_pixel = gaussian_fisher_information_rate(taus, np.ones(2))
    for name, f in _activations().items():
        t0 = time.perf_counter()
        if name == "pixel":
            ref = {"I": gaussian_fisher_information(taus, np.ones(2)), "R": Rx_pixel}
        else:
            ref = activation_fisher(f, taus, dim=2)
        timings[f"reference_{name}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        z = f(x2).astype(np.float32)
        model = train_epsilon_mlp(z, tau_min=5e-3, tau_max=2e2, steps=settings["train_steps"], hidden=settings["hidden"],
                                  depth=settings["depth"], seed=settings["seed"])
        timings[f"train_{name}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        est = estimate_diffusability(model, torch.as_tensor(z), taus, kind="epsilon", n_samples=settings["mc_samples"],
                                     batch_size=settings["mc_samples"], seed=1)
        timings[f"estimate_{name}"] = time.perf_counter() - t0
        c2 = _variance(f)
        c = math.sqrt(c2)
        # scale-corrected deviation vs pixel data: |c⁴ R_z(c²τ) − R_x(τ)|/|R_x(τ)|
        Rz_c = (gaussian_fisher_information_rate(c2 * taus, np.full(2, c2)) if name == "pixel"
                else activation_fisher(f, c2 * taus, dim=2)["R"])
        D_R = np.abs(ref["R"] - Rx_pixel) / np.abs(Rx_pixel)
        D_Rs = np.abs(c**4 * Rz_c - Rx_pixel) / np.abs(Rx_pixel)
        Is = np.array([e.I_score.value for e in est])
        Is_e = np.array([e.I_score.stderr for e in est])
        Id = np.array([e.I_denoise.value for e in est])
        Id_e = np.array([e.I_denoise.stderr for e in est])
        Rh = np.array([e.R.value for e in est])
        Rh_e = np.array([e.R.stderr for e in est])
        curves[name] = {"I_ref": ref["I"].tolist(), "R_ref": ref["R"].tolist(), "I_score": Is.tolist(),
                        "I_score_err": Is_e.tolist(), "I_denoise": Id.tolist(), "I_denoise_err": Id_e.tolist(),
                        "R_hutch": Rh.tolist(), "R_hutch_err": Rh_e.tolist(), "D_R": D_R.tolist(), "D_R_scaled": D_Rs.tolist()}
        rel_I = np.abs(Id - ref["I"]) / ref["I"]
        rel_R = np.abs(Rh - ref["R"]) / np.abs(ref["R"])
        rows.append({
            "encoder": name, "scale_c": c, "max_D_R": float(D_R.max()), "max_D_R_scaled": float(D_Rs.max()),
            "median_rel_err_I_denoise": float(np.median(rel_I)), "median_rel_err_R_hutch": float(np.median(rel_R)),
            "median_I_gap_over_I": float(np.median(np.abs(Is - Id) / ref["I"])),
            "train_s": timings[f"train_{name}"], "estimate_s": timings[f"estimate_{name}"],
        })
        logger.info("%s: max D_R %.3g, scale-corrected %.3g", name, D_R.max(), D_Rs.max())

    # penalties
    t0 = time.perf_counter()
    deltas = np.linspace(0.0, 0.5, 11)
    pen = {"delta": deltas.tolist()}
    for tau in settings["penalty_tau"]:
        pen[f"tangential_tau{tau:g}"] = tangential_distortion_penalty(tau, deltas + 1e-12).tolist()
        pen[f"tangential_iso_tau{tau:g}"] = tangential_distortion_penalty(tau, deltas + 1e-12, variances=(1, 1)).tolist()
    Dm = settings["compression_D"]
    ds_ = np.arange(2, Dm + 1)
    pen["d"] = ds_.tolist()
    pen["compression_small_tau"] = [float(compression_penalty(1e-3, Dm, int(d), 2)) for d in ds_]
    pen["compression_line"] = [compression_penalty_limit(Dm, int(d), 2) for d in ds_]
    timings["penalties_linear"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ct = np.array(settings["curvature_taus"])
    pen["curvature_taus"] = ct.tolist()
    for e in settings["curvature_eps"]:
        r = curvature_injection_penalty(ct, e, **settings["quadrature_curve"])
        rs = curvature_injection_penalty(ct, e, scale_corrected=True, **settings["quadrature_curve"])
        pen[f"curvature_eps{e:g}"] = r["D_R"].tolist()
        pen[f"curvature_scaled_eps{e:g}"] = rs["D_R"].tolist()
        rows.append({"encoder": f"curvature_eps{e:g}", "scale_c": float(rs["scale"]), "max_D_R": float(r["D_R"].max()),
                     "max_D_R_scaled": float(rs["D_R"].max()), "argmax_tau": float(ct[np.argmax(r["D_R"])])})
    timings["penalties_curvature"] = time.perf_counter() - t0

    _plots(out, taus, curves, pen, settings)
    _tables(out, rows)
    res = {"settings": settings, "versions": versions(), "timings_s": timings, "rows": rows, "curves": curves,
           "penalties": pen, "machine": {"cpus": os.cpu_count(), "loadavg": os.getloadavg(), "python": platform.python_version()},
           "sign_convention": "R = dI/dtau <= 0"}
    (out / "results.json").write_text(json.dumps(res, indent=1, default=float))
    return res


def _plots(out: Path, taus, curves, pen, settings) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, (name, c) in enumerate(curves.items()):
        col = f"C{i}"
        ax[0].loglog(taus, c["I_ref"], "-", color=col, label=name)
        ax[0].errorbar(taus, c["I_denoise"], yerr=c["I_denoise_err"], fmt="o", ms=3, color=col)
        ax[0].errorbar(taus, c["I_score"], yerr=c["I_score_err"], fmt="x", ms=4, color=col)
        ax[1].loglog(taus, -np.array(c["R_ref"]), "-", color=col, label=name)
        ax[1].errorbar(taus, -np.array(c["R_hutch"]), yerr=c["R_hutch_err"], fmt="o", ms=3, color=col)
    ax[0].set(xlabel="noise level τ", ylabel="Fisher information I(τ)",
              title="I: lines reference, o denoising, x score (MLP)")
    ax[1].set(xlabel="noise level τ", ylabel="−R(τ) = E‖H‖²_F", title="FIR: lines reference, o Hutchinson (MLP)")
    ax[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "fisher_rate.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    d = np.array(pen["delta"])
    for i, tau in enumerate(settings["penalty_tau"]):
        ax[0].plot(d, pen[f"tangential_tau{tau:g}"], "-", color=f"C{i}", label=f"σ²=(1,¼), τ={tau:g}")
        ax[0].plot(d, pen[f"tangential_iso_tau{tau:g}"], "--", color=f"C{i}", label=f"isotropic, τ={tau:g}")
    ax[0].set(xlabel="distortion δ", ylabel="D_R", title="tangential distortion")
    ax[0].legend(fontsize=7)
    ax[1].plot(pen["d"], pen["compression_small_tau"], "o", label="D_R at τ=1e-3")
    ax[1].plot(pen["d"], pen["compression_line"], "-", label="(D − d)/(D − 2)")
    ax[1].set(xlabel="latent dimension d", ylabel="D_R", title=f"dimensional compression, D={settings['compression_D']}")
    ax[1].legend(fontsize=8)
    ct = pen["curvature_taus"]
    for i, e in enumerate(settings["curvature_eps"]):
        ax[2].loglog(ct, pen[f"curvature_eps{e:g}"], "-o", ms=3, color=f"C{i}", label=f"ε={e:g}")
        ax[2].loglog(ct, pen[f"curvature_scaled_eps{e:g}"], ":", color=f"C{i}")
    ax[2].set(xlabel="noise level τ", ylabel="D_R (dotted: scale-corrected)", title="curvature injection")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "penalties.png", dpi=120)
    plt.close(fig)


def _tables(out: Path, rows) -> None:
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(out / "table.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[k]:.4g}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k in keys) + " |")
    (out / "table.md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="out/diffusability", help="output folder")
    p.add_argument("--quick", action="store_true", help="small settings (~2–4 min on 2 cores)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    a = p.parse_args(argv)
    if a.threads < 1:
        p.error("--threads must be ≥ 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    t0 = time.perf_counter()
    run(Path(a.out), a.quick, a.threads)
    logger.info("done in %.1f s, written to %s", time.perf_counter() - t0, a.out)


if __name__ == "__main__":
    main()
