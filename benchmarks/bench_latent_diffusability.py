"""Cost of the diffusability estimators on trained digit models: evaluations per 1 % error bar.

    python benchmarks/bench_latent_diffusability.py [--out DIR] [--preset quick] [--threads N] [--smoke]

Models: the diffusion models of ``python -m validation.latent_diffusability`` (residual MLP
ε-networks trained on the 8 × 8 digits): the pixel-space model and the latent models of PCA-16
and of the curved tanh-on-PCA-16 encoder, loaded from ``<out>/cache`` when that run has been
made, else trained here (about 30 s each at the quick preset). For each model and pixel noise
level τ (latent models at c²τ) a pilot run of n samples gives the relative standard error r of
each estimator; the samples needed for 1 % are n·(r/0.01)², times the model calls per sample
(1 forward for I; 1 JVP per Hutchinson probe; 2 forwards for the central finite difference of
I with common random numbers). Ratios are against the score-norm estimator of I on the same
model and τ, measured in the same run.
"""

from __future__ import annotations

import argparse
import os

from _common import machine_line


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="out/latent_diffusability", help="the validation run's output directory")
    p.add_argument("--preset", default="quick", choices=("full", "quick", "tiny"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--smoke", action="store_true", help="tiny preset, few samples (plumbing only)")
    a = p.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")
    import torch

    from bench_diffusability import _measure
    from validation.latent_diffusability.denoiser import epsilon_model
    from validation.latent_diffusability.run import trained_models

    torch.set_num_threads(a.threads)
    print(machine_line(f"torch threads {a.threads}"))
    preset = "tiny" if a.smoke else a.preset
    names = ("pixel", "pca8", "tanh_pca8") if a.smoke else ("pixel", "pca16", "tanh_pca16")
    models = trained_models(preset, a.out, names)
    n = 64 if a.smoke else 4096
    rows = []
    for name, (net, space) in models.items():
        x = torch.from_numpy(space.train.astype("float32"))
        for tau in ((1.0,) if a.smoke else (0.1, 1.0)):
            _measure(f"{name} (d={space.train.shape[1]})", epsilon_model(net), x, space.scale**2 * tau, n, 512,
                     {"kind": "epsilon"}, rows)
    print(f"{'model':18s} {'tau':>7s} {'estimator':26s} {'value':>11s} {'rel.err':>8s} {'evals@1%':>10s} "
          f"{'s@1%':>8s} {'ratio':>7s}")
    for r in rows:
        print(f"{r[0]:18s} {r[1]:7.3g} {r[2]:26s} {r[3]:11.5g} {r[4]:8.2g} {r[5]:10.3g} {r[6]:8.3g} {r[7]:7.3g}")
    print("tau is the model's own noise level (c² × the pixel τ); ratio = evaluations at 1 % relative to the "
          "score-norm estimator of I, same model and τ")


if __name__ == "__main__":
    main()
