"""``python -m validation.digits`` — the paper's diffusion findings on trained digit generators.

Trains (or loads, cached) the digits model zoo (:mod:`validation.digits_zoo`), then for the
pixel-space and the latent-space generator, each through the adapter
(``load_generator(PipelineSpec(path, scheduler="ddim", eta=0.0, ...))``): a 2-D slice through
three seeds' latents whose anchors decode to three different classes → an N × N sweep
(resumable store) → phase map from the classifier → metric from the classifier-feature kernel
posterior and from the neural grid posterior → detected vs label boundaries → fractal zoom at
boundary points down to the dtype's precision floor → Lipschitz growth exponents at boundaries
and inside phases → geodesic vs straight interpolation. Writes ``digits.json``, ``digits.md``,
netCDF maps and PNG figures to ``--out`` (docs/digits.md).

Examples
--------
    python -m validation.digits --quick                 # ≤ ~10 min on 2 cores (zoo cached)
    python -m validation.digits --out out/digits        # the full 64 × 64 preset
    python -m validation.digits --preset tiny --zoo-preset tiny --zoo-root /tmp/zoo   # CI scale
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from validation.json_ready import json_ready

__all__ = ["GENERATORS", "ArgumentError", "main", "parse_args", "run"]

log = logging.getLogger("validation.digits")

#: the zoo's generators this command analyses
GENERATORS = ("pixel", "latent")


class ArgumentError(ValueError):
    """An invalid command-line option (raised before any work starts)."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command-line options (docs/digits.md, "Command").

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        The options.
    """
    p = argparse.ArgumentParser(prog="python -m validation.digits", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="the quick preset (32×32 sweep, 10 DDIM steps; "
                   "≤ ~10 min on 2 cores with the zoo cached); shorthand for --preset quick")
    p.add_argument("--preset", choices=("full", "quick", "tiny"), default=None,
                   help="cost preset (default full; tiny is the CI scale)")
    p.add_argument("--out", default="out/digits", help="output directory (default out/digits); a finished sweep "
                   "store or zoom/Lipschitz result found there is reused")
    p.add_argument("--zoo-root", default=None, help="directory of the model zoo (default $STATGEO_ZOO or "
                   "~/.cache/statgeo/digits_zoo); trained there on first use, loaded afterwards")
    p.add_argument("--zoo-preset", choices=("full", "tiny"), default="full",
                   help="zoo preset (default full; tiny trains in seconds and fails the quality gates)")
    p.add_argument("--seed", type=int, default=0, help="seed of the zoo's training and of the posteriors and fits "
                   "(default 0)")
    p.add_argument("--generators", default=",".join(GENERATORS),
                   help=f"comma-separated subset of {','.join(GENERATORS)} (default both)")
    p.add_argument("--n", type=int, default=None, help="sweep points per side (default: the preset's, 64 / 32)")
    p.add_argument("--steps", type=int, default=None, help="DDIM steps of the analysed generators (default: the "
                   "preset's)")
    p.add_argument("--slices", type=int, default=None, help="slices (seed triples) per generator (default: the "
                   "preset's)")
    p.add_argument("--zoom-points", type=int, default=None, help="boundary points zoomed per slice (default: the "
                   "preset's, >= 3 except tiny)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads, also for training the zoo "
                   "(default: torch's own choice; the zoo's default, 2, for training)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p.parse_args(argv)


def _settings(a: argparse.Namespace):
    from validation.digits_chain.settings import get_preset

    preset = a.preset or ("quick" if a.quick else "full")
    if a.quick and a.preset not in (None, "quick"):
        raise ArgumentError(f"--quick contradicts --preset {a.preset}")
    gens = [g.strip() for g in a.generators.split(",") if g.strip()]
    if not gens or any(g not in GENERATORS for g in gens) or len(set(gens)) != len(gens):
        raise ArgumentError(f"--generators must be a comma-separated subset of {GENERATORS}, got {a.generators!r}")
    if a.seed < 0:
        raise ArgumentError(f"--seed must be >= 0, got {a.seed}")
    if a.threads is not None and a.threads < 1:
        raise ArgumentError(f"--threads must be >= 1, got {a.threads}")
    try:
        s = get_preset(preset, n=a.n, steps=a.steps, slices=a.slices, zoom_points=a.zoom_points)
        if a.zoom_points is not None and a.zoom_points > s.boundary_points:
            s = get_preset(preset, n=a.n, steps=a.steps, slices=a.slices, zoom_points=a.zoom_points,
                           boundary_points=a.zoom_points)
    except ValueError as exc:
        raise ArgumentError(str(exc)) from exc
    return s, gens


def _quality(zoo: Any, s, out: Path, seed: int) -> dict:
    """The zoo's quality gates: reused from ``zoo.root/quality.json`` (written by ``python -m
    validation.digits_zoo`` after the zoo was built, same sample count and steps) or from the
    cache in ``out``, else measured with ``zoo_quality`` and cached in ``out``."""
    from validation.digits_zoo import zoo_quality

    cfg = getattr(zoo, "config", None)
    cfg = cfg.to_dict() if hasattr(cfg, "to_dict") else cfg
    key = hashlib.sha1(json.dumps({"zoo": cfg, "seed": seed, "n": s.quality_samples, "steps": s.quality_steps},
                                  sort_keys=True, default=str).encode()).hexdigest()[:12]
    path = out / f"quality_{key}.json"
    zq = Path(zoo.root) / "quality.json"
    weights = [f for d in ("classifier", "pixel", "latent", "conditional") for f in (Path(zoo.root) / d).rglob("*")
               if f.is_file()]
    if zq.is_file() and weights and zq.stat().st_mtime >= max(f.stat().st_mtime for f in weights):
        q = json.loads(zq.read_text())  # written by `python -m validation.digits_zoo` after these weights
        if q.get("n_samples") == s.quality_samples and q.get("num_inference_steps") == s.quality_steps:
            log.info("quality gates: reusing %s", zq)
            return q
    if path.is_file():
        log.info("quality gates: reusing %s", path)
        return json.loads(path.read_text())
    q = zoo_quality(zoo, n_samples=s.quality_samples, seed=seed, num_inference_steps=s.quality_steps)
    q = json.loads(json.dumps(q, default=float))
    q.setdefault("n_samples", s.quality_samples)
    q.setdefault("num_inference_steps", s.quality_steps)
    path.write_text(json.dumps(q, indent=1))
    return q


def run(argv: Sequence[str] | None = None) -> dict:
    """Run the digits chain and write the artefacts to ``--out``.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (:func:`parse_args`).

    Returns
    -------
    dict
        The contents of ``digits.json`` (docs/digits.md, "Outputs").

    Raises
    ------
    ArgumentError
        An invalid option (raised before any work starts).
    """
    a = parse_args(argv)
    s, gens = _settings(a)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("matplotlib", "h5py", "fsspec", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("diffusers").setLevel(logging.ERROR)  # its float64 cast notice
    import warnings

    import torch

    from statgeo.diffusion import LatentSlice, PipelineSpec, load_generator
    from statgeo.provenance import versions
    from validation.digits_chain.anchors import search_slices
    from validation.digits_chain.figures import slice_figures
    from validation.digits_chain.report import aggregate_generator, write_markdown
    from validation.digits_chain.slice_run import run_slice
    from validation.digits_zoo import build_zoo, default_root, load_classifier

    if a.threads is not None:
        torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    root = a.zoo_root or str(default_root())
    t_all = time.perf_counter()
    times: dict[str, float] = {}

    def stage(name: str, t0: float) -> None:
        times[name] = time.perf_counter() - t0
        log.info("stage %s: %.1f s", name, times[name])

    t0 = time.perf_counter()
    zoo = build_zoo(root, preset=a.zoo_preset, seed=a.seed, **({} if a.threads is None else {"threads": a.threads}))
    stage("zoo", t0)
    t0 = time.perf_counter()
    quality = _quality(zoo, s, out, a.seed)
    stage("quality", t0)
    classifier = load_classifier(zoo.classifier)
    embedder = classifier.embedder()
    results: dict[str, Any] = {}
    figs: list[str] = []
    for name in gens:
        t0 = time.perf_counter()
        gen = load_generator(PipelineSpec(str(getattr(zoo, name)), scheduler="ddim", eta=0.0,
                                          num_inference_steps=s.steps, class_label=None))
        gen64 = None
        if s.precision_points > 0:
            gen64 = load_generator(PipelineSpec(str(getattr(zoo, name)), scheduler="ddim", eta=0.0,
                                                num_inference_steps=s.steps, class_label=None, dtype="float64"))
        found, record = search_slices(gen, classifier, s.slices, offset=0, candidates=s.seed_candidates,
                                      min_confidence=s.min_confidence, batch_size=s.batch_size)
        stage(f"{name}:slice_search", t0)
        summaries = []
        for k, anchors in enumerate(found):
            t0 = time.perf_counter()
            lslice = LatentSlice.from_seeds(anchors["seeds"], gen.latent_shape)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # degenerate-posterior warnings are recorded in the attrs
                summ, art = run_slice(name, k, gen, classifier, embedder, lslice, s, out, a.seed, anchors,
                                      generator64=gen64)
            for st, v in summ["times"].items():
                times[f"{name}:s{k}:{st}"] = v
            if not a.no_figures:
                tf = time.perf_counter()
                figs += slice_figures(out, f"{name}_s{k}", f"{name} slice {k} {anchors['seeds']}", art)
                times[f"{name}:s{k}:figures"] = time.perf_counter() - tf
            summaries.append(summ)
            stage(f"{name}:slice{k}", t0)
        g = aggregate_generator(name, quality.get(name, {}), summaries, s.zoom_n)
        g["slice_search"] = record
        g["generator_config"] = gen.config()
        results[name] = g
    wall = time.perf_counter() - t_all
    argv_used = list(sys.argv[1:] if argv is None else argv)
    res = {"classifier_accuracy": quality.get("classifier_accuracy"), "wall_s": wall, "stage_wall_s": times,
           "settings": {**s.to_dict(), "preset": s.name, "out": str(out), "argv": argv_used},
           "zoo": {"root": str(root), "preset": a.zoo_preset, "seed": a.seed,
                   "timings": getattr(zoo, "timings", None)},
           "quality": quality, "generators": list(results), "figures": figs, "versions": versions(),
           "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()}}
    res.update(results)  # per generator at the top level: res["pixel"], res["latent"]
    res = json_ready(res)
    (out / "digits.json").write_text(json.dumps(res, indent=1, allow_nan=False))
    write_markdown(out / "digits.md", res)
    log.info("digits: wall time %.1f s; artefacts in %s", wall, out)
    return res


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for an invalid option (its message is printed to stderr).
    """
    try:
        res = run(argv)
    except ArgumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"digits: wall time {res['wall_s']:.1f} s")
    for k, v in res["stage_wall_s"].items():
        print(f"  {k:36s} {v:8.1f} s")
    print(f"artefacts in {res['settings']['out']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
