"""1-D bimodal analysis: separatrix Lyapunov exponent of the probability-flow ODE vs the formula.

Target ½N(−1, σ²) + ½N(1, σ²) under the VP-SDE dX = −½βX dt + √β dW with the exact mixture
score; the exponent at x = 0 near t = 0 is λ = (β/2)(1 + (1 − σ²)/σ⁴) (Lobashev et al. 2025,
§6). The ODE is integrated (DOP853) for two nearby trajectories and the separation growth rate
is compared with the formula over σ.

    python -m validation.bimodal [--out DIR] [--beta 1.0] [--quick]

Writes ``bimodal.nc`` (numerical and formula exponents over σ) and ``bimodal.png`` (λ vs σ,
relative error, and a fan of ODE trajectories for the smallest σ). See docs/diffusion.md,
"1-D bimodal analysis".
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import numpy as np

log = logging.getLogger("validation.bimodal")


def run(out: str = "validation_out/bimodal", beta: float = 1.0, quick: bool = False) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from statgeo.diffusion import BimodalVP, lyapunov_scan

    os.makedirs(out, exist_ok=True)
    sigmas = np.geomspace(0.05, 2.0, 8 if quick else 25)
    ds = lyapunov_scan(sigmas, beta=beta)
    rel = np.abs(ds.lambda_numerical - ds.lambda_formula) / ds.lambda_formula
    ds["relative_error"] = rel.assign_attrs(long_name="|λ_num − λ| / λ", units="1")
    ds.to_netcdf(os.path.join(out, "bimodal.nc"), engine="h5netcdf")

    fig, axs = plt.subplots(1, 3, figsize=(13, 3.8))
    ax = axs[0]
    ax.loglog(ds.sigma, ds.lambda_formula, "-", label="(β/2)(1 + (1 − σ²)/σ⁴)")
    ax.loglog(ds.sigma, ds.lambda_numerical, "o", ms=4, label="ODE separation growth")
    ax.set_xlabel("mode width σ")
    ax.set_ylabel("Lyapunov exponent λ at x = 0, t → 0")
    ax.legend(fontsize=8)
    axs[1].semilogx(ds.sigma, rel, "o-", ms=3)
    axs[1].set_yscale("log")
    axs[1].set_xlabel("mode width σ")
    axs[1].set_ylabel("relative error")
    toy = BimodalVP(0.2, beta)
    T = 6.0 / beta
    x_T = np.linspace(-0.2, 0.2, 21)
    t, X = toy.integrate(x_T, T, 0.0, n_eval=400, rtol=1e-9, atol=1e-12)
    axs[2].plot(t, X, lw=0.7)
    axs[2].set_xlabel("diffusion time t (generation runs T → 0)")
    axs[2].set_ylabel("x(t), probability-flow ODE, σ = 0.2")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "bimodal.png"), dpi=120)
    plt.close(fig)
    summary = {"max_relative_error": float(rel.max()), "n_sigma": int(sigmas.size), "beta": beta, "out": out}
    log.info("bimodal: max relative error %.2e over %d values of sigma", summary["max_relative_error"], sigmas.size)
    return summary


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m validation.bimodal", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="validation_out/bimodal")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--quick", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    s = run(a.out, a.beta, a.quick)
    ok = s["max_relative_error"] < 1e-3
    log.info("%s: numerical exponent %s the formula (max relative error %.1e)", "PASS" if ok else "FAIL",
             "matches" if ok else "does not match", s["max_relative_error"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
