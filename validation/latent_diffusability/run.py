"""The chain of ``python -m validation.latent_diffusability``: encoders → diffusion models →
diagnostics and sample quality → rank correlations → report.

Every trained model and every measured result is cached under ``<out>/cache`` with a key that
hashes the settings it depends on (:func:`~validation.latent_diffusability.config.record_hash`),
written atomically; an interrupted run loses at most the model or estimate in progress, and
rerunning the same command continues where it stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from validation.latent_diffusability.config import Preset, preset_config, record_hash

__all__ = ["parse_args", "run", "main", "Space", "trained_models"]

log = logging.getLogger("validation.latent_diffusability")

#: the encoders' own training seed (the diffusion models vary with the run's seeds)
ENCODER_SEED = 0


@dataclass
class Space:
    """A space a diffusion model is trained in: standardised training vectors and the way back to pixels.

    Parameters
    ----------
    key : str
        Its name in cache files (``pixel``, an encoder's name, ``pca<d>``, ``linear-<name>``).
    record : dict
        What defines it (for the cache key).
    train : numpy.ndarray
        ``(n, d)`` standardised training vectors.
    scale : float
        c = √(tr Cov[space]/tr Cov[pixels]) of the standardised spaces.
    decode : callable or None
        Standardised vectors ``(m, d)`` → pixels ``(m, D)`` (None: no sampling needed).
    """

    key: str
    record: dict
    train: np.ndarray
    scale: float
    decode: Callable[[np.ndarray], np.ndarray] | None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command-line options.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
    """
    p = argparse.ArgumentParser(prog="python -m validation.latent_diffusability",
                                description="Does the Fisher-information-rate deviation of a latent space predict "
                                            "how well a diffusion model trains in it? Measured on encoders of the "
                                            "scikit-learn digits.")
    p.add_argument("--quick", action="store_true", help="the quick preset (2 seeds, halved budgets; about 15 min "
                   "on 2 cores with the digits zoo cached); shorthand for --preset quick")
    p.add_argument("--preset", choices=("full", "quick", "tiny"), default=None,
                   help="cost preset (default full: 3 seeds; tiny is the CI scale: two encoders, tiny budgets)")
    p.add_argument("--out", default="out/latent_diffusability", help="output directory (default "
                   "out/latent_diffusability); finished models and estimates cached there are reused")
    p.add_argument("--zoo-root", default=None, help="directory of the digits model zoo whose classifier measures "
                   "sample quality (default $STATGEO_ZOO or ~/.cache/statgeo/digits_zoo; built there if missing)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on the console")
    return p.parse_args(argv)


def _preset(args: argparse.Namespace) -> Preset:
    if args.quick and args.preset not in (None, "quick"):
        raise SystemExit(f"--quick contradicts --preset {args.preset}")
    if not 1 <= args.threads <= 1024:
        raise SystemExit(f"--threads must be in [1, 1024], got {args.threads}")
    return preset_config("quick" if args.quick else (args.preset or "full"))


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    write(tmp)
    os.replace(tmp, path)


def _cached_json(path: Path, compute: Callable[[], dict]) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    value = compute()
    _atomic_write(path, lambda p: p.write_text(json.dumps(value)))
    return value


def _cached_model(path: Path, dim: int, preset: Preset, train: Callable[[], Any]) -> Any:
    import torch

    from validation.latent_diffusability.denoiser import VectorEpsilonNet

    if path.exists():
        net = VectorEpsilonNet(dim, preset.denoiser.width, preset.denoiser.depth)
        net.load_state_dict(torch.load(path, weights_only=True))
        return net.eval()
    net = train()
    _atomic_write(path, lambda p: torch.save(net.state_dict(), p))
    return net


def _spaces(preset: Preset, x_train: np.ndarray, x_test: np.ndarray, cache: Path) -> tuple[dict, dict]:
    """The spaces to train in, and per encoder its chain (pca, linear) and reconstruction error."""
    from validation.digits_zoo.zoo import SPLIT_SEED
    from validation.latent_diffusability.diagnostics import standardise
    from validation.latent_diffusability.encoders import LinearFit, PCAEncoder, build_encoder, reconstruction_mse

    data = {"data": "sklearn digits", "shape": list(x_train.shape), "split_seed": SPLIT_SEED}

    def make(key: str, record: dict, z: np.ndarray, decode: Callable | None) -> Space:
        zs, mean, s = standardise(z)
        # both spaces standardised to unit mean variance per coordinate: c² = tr Cov[z]/tr Cov[x] = d/D
        c = float(np.sqrt(z.shape[1] / x_train.shape[1]))
        back = None if decode is None else (lambda v, m=mean, s=s, f=decode: f(v * s + m))
        return Space(key, {**record, **data}, zs, c, back)

    spaces = {"pixel": make("pixel", {"space": "pixel"}, x_train, lambda v: v)}
    chains: dict[str, dict] = {}
    for spec in preset.encoders:
        t0 = time.perf_counter()
        enc_rec = {"encoder": asdict(spec), "encoder_seed": ENCODER_SEED, **data}
        enc = build_encoder(spec, x_train, ENCODER_SEED, cache / "encoders" / f"{spec.name}-{record_hash(enc_rec)}")
        z_train = enc.encode(x_train)
        spaces[spec.name] = make(spec.name, enc_rec, z_train, enc.decode)
        d = enc.latent_dim
        pca_key = f"pca{d}"
        if pca_key not in spaces:
            pca = PCAEncoder.fit(x_train, d)
            spaces[pca_key] = make(pca_key, {"space": "pca", "d": d}, pca.encode(x_train), pca.decode)
        if spec.kind == "pca":
            linear_key = spec.name
        else:
            linear_key = f"linear-{spec.name}"
            fit = LinearFit.fit(x_train, z_train)
            spaces[linear_key] = make(linear_key, {"space": "linear", "of": enc_rec}, fit.encode(x_train), None)
        chains[spec.name] = {"pca": pca_key, "linear": linear_key, "latent_dim": d, "kind": spec.kind,
                             "recon_mse": reconstruction_mse(enc, x_test), "seconds": time.perf_counter() - t0}
        log.info("encoder %s: d = %d, reconstruction MSE %.4f (%.1f s)", spec.name, d, chains[spec.name]["recon_mse"],
                 chains[spec.name]["seconds"])
    return spaces, chains


def _digits(resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from validation.digits_zoo.data import load_digit_images
    from validation.digits_zoo.zoo import SPLIT_SEED

    xtr, _ = load_digit_images(resolution, "train", SPLIT_SEED)
    xte, yte = load_digit_images(resolution, "test", SPLIT_SEED)
    return (xtr.reshape(len(xtr), -1).astype(np.float64) * 2.0 - 1.0,
            xte.reshape(len(xte), -1).astype(np.float64) * 2.0 - 1.0, yte)


def _model_path(cache: Path, preset: Preset, sp: Space, seed: int) -> tuple[Path, str]:
    base = record_hash(sp.record, preset.denoiser, seed)
    return cache / "models" / f"{sp.key}-s{seed}-{base}.pt", base


def trained_models(preset: str | Preset, out: str | Path, names: Sequence[str], seed: int = 0) -> dict:
    """The trained diffusion models of some spaces, from ``<out>/cache`` or trained (and cached) now.

    Parameters
    ----------
    preset : str or Preset
        The run's preset (its encoders and denoiser budget).
    out : str or pathlib.Path
        The run's output directory.
    names : sequence of str
        Spaces: ``"pixel"``, encoder names of the preset, ``"pca<d>"`` or ``"linear-<encoder>"``.
    seed : int, default 0
        The diffusion models' seed.

    Returns
    -------
    dict
        name → ``(net, space)`` with ``space`` a :class:`Space`.
    """
    from validation.latent_diffusability.denoiser import train_denoiser
    from validation.latent_diffusability.encoders import RESOLUTION

    preset = preset if isinstance(preset, Preset) else preset_config(preset)
    cache = Path(out).expanduser() / "cache"
    x_train, x_test, _ = _digits(RESOLUTION)
    # build only the encoders the requested spaces need (cache keys do not depend on the others)
    wanted = [e for e in preset.encoders if e.name in names or f"linear-{e.name}" in names]
    spaces, _ = _spaces(dataclasses.replace(preset, encoders=tuple(wanted)), x_train, x_test, cache)
    if any(n not in spaces for n in names):
        spaces, _ = _spaces(preset, x_train, x_test, cache)
    unknown = [n for n in names if n not in spaces]
    if unknown:
        raise ValueError(f"names must be spaces of the preset ({', '.join(spaces)}), got {unknown}")
    res = {}
    for n in names:
        sp = spaces[n]
        path, _ = _model_path(cache, preset, sp, seed)
        res[n] = (_cached_model(path, sp.train.shape[1], preset,
                                lambda sp=sp: train_denoiser(sp.train, preset.denoiser, seed)), sp)
    return res


def _space_results(preset: Preset, spaces: dict, chains: dict, taus: np.ndarray, clf: Any, real_feats: np.ndarray,
                   cache: Path, timings: dict) -> dict:
    """Train, profile and (for sampled spaces) measure the quality of every space at every seed."""
    from validation.latent_diffusability.denoiser import ddim_sample, train_denoiser
    from validation.latent_diffusability.diagnostics import model_profile
    from validation.latent_diffusability.quality import sample_quality

    sampled = {"pixel", *chains}
    out: dict[str, dict] = {k: {"profiles": [], "quality": []} for k in spaces}
    for seed in preset.seeds:
        for key, sp in spaces.items():
            path, base = _model_path(cache, preset, sp, seed)
            t0 = time.perf_counter()
            net = _cached_model(path, sp.train.shape[1], preset,
                                lambda sp=sp, seed=seed: train_denoiser(sp.train, preset.denoiser, seed))
            t1 = time.perf_counter()
            model_taus = sp.scale**2 * taus
            prof = _cached_json(cache / "results" / f"profile-{key}-s{seed}-{record_hash(base, preset.diagnostics)}.json",
                                lambda sp=sp, net=net, mt=model_taus, seed=seed:
                                model_profile(net, sp.train, mt, preset.diagnostics, seed))
            t2 = time.perf_counter()
            out[key]["profiles"].append(prof)
            if key in sampled:
                qkey = record_hash(base, preset.quality, preset.zoo_preset)
                q = _cached_json(cache / "results" / f"quality-{key}-s{seed}-{qkey}.json",
                                 lambda sp=sp, net=net, seed=seed: sample_quality(
                                     clf, sp.decode(ddim_sample(net, preset.quality.n_samples, seed,
                                                                preset.quality.num_inference_steps)), real_feats))
                out[key]["quality"].append(q)
            t3 = time.perf_counter()
            for stage, dt in (("training", t1 - t0), ("diagnostics", t2 - t1), ("quality", t3 - t2)):
                timings[stage] = timings.get(stage, 0.0) + dt
            log.info("seed %d %-24s train %.1f s, diagnostics %.1f s, quality %.1f s", seed, key, t1 - t0, t2 - t1,
                     t3 - t2)
    return out


def _seed_mean(dicts: list[dict], keys: Sequence[str]) -> dict:
    return {k: float(np.mean([d[k] for d in dicts])) for k in keys}


def _quality_mean(qs: list[dict]) -> dict:
    m = _seed_mean(qs, ("confident_fraction", "class_balance_tv", "frechet_distance"))
    m["class_fractions"] = np.mean([q["class_fractions"] for q in qs], axis=0).tolist()
    m["n_samples"] = int(qs[0]["n_samples"])
    return m


def _encoder_entries(preset: Preset, spaces: dict, chains: dict, results: dict) -> dict:
    from validation.latent_diffusability.diagnostics import curve_means, deviation_curves, scaled_curves

    entries = {}
    for name, ch in chains.items():
        per_seed, curves_all = [], []
        for i, seed in enumerate(preset.seeds):
            def sc(key):
                return scaled_curves(results[key]["profiles"][i], spaces[key].scale)

            curves = deviation_curves(sc("pixel"), sc(name), sc(ch["pca"]), sc(ch["linear"]))
            means = curve_means(curves)
            per_seed.append({"seed": seed, **{k: means[k] for k in ("fi_deviation", "fir_deviation",
                                                                     "mmse_rate_deviation")},
                             "penalties": {k: means[k] for k in ("compression", "tangential", "curvature")},
                             "quality": results[name]["quality"][i]})
            curves_all.append(curves)
        profiles = results[name]["profiles"]
        gaps = [abs(g) / i for p in profiles for g, i in zip(p["I_gap"], p["I_score"])]
        entries[name] = {
            "kind": ch["kind"], "latent_dim": ch["latent_dim"], "recon_mse": ch["recon_mse"],
            "scale": spaces[name].scale,
            **_seed_mean(per_seed, ("fi_deviation", "fir_deviation", "mmse_rate_deviation")),
            "i_gap_relative": float(np.mean(gaps)),
            "penalties": _seed_mean([s["penalties"] for s in per_seed], ("compression", "tangential", "curvature")),
            "quality": _quality_mean([s["quality"] for s in per_seed]),
            "per_seed": per_seed, "profiles": profiles, "deviation_curves": curves_all,
            "chain": {"pca": ch["pca"], "linear": ch["linear"]},
        }
    return entries


def _diagnostic_table(entries: dict, diag: str, n_seeds: int) -> np.ndarray:
    rows = []
    for e in entries.values():
        if diag == "recon_mse":
            rows.append([e["recon_mse"]] * n_seeds)
        elif diag in ("compression", "tangential", "curvature"):
            rows.append([s["penalties"][diag] for s in e["per_seed"]])
        else:
            rows.append([s[diag] for s in e["per_seed"]])
    return np.asarray(rows, dtype=np.float64)


def _correlations(preset: Preset, entries: dict, diagnostics: Sequence[str], measures: Sequence[str]) -> dict:
    from validation.latent_diffusability.statistics import spearman_bootstrap

    n = len(preset.seeds)
    out: dict[str, dict] = {}
    for q in measures:
        qual = np.asarray([[s["quality"][q] for s in e["per_seed"]] for e in entries.values()], dtype=np.float64)
        out[q] = {}
        for d in diagnostics:
            r = spearman_bootstrap(_diagnostic_table(entries, d, n), qual, n_boot=preset.n_boot, seed=0)
            out[q][d] = {**r, "quality": q}
    return out


def _fixed_dim_correlations(preset: Preset, entries: dict, diagnostics: Sequence[str]) -> dict:
    """Rank correlations with the Fréchet distance within each latent dimension held by ≥ 3 encoders."""
    dims: dict[int, list[str]] = {}
    for name, e in entries.items():
        dims.setdefault(e["latent_dim"], []).append(name)
    return {str(d): _correlations(preset, {n: entries[n] for n in names}, diagnostics,
                                  ["frechet_distance"])["frechet_distance"]
            for d, names in sorted(dims.items()) if len(names) >= 3}


def run(argv: Sequence[str] | None = None) -> dict:
    """Run the chain and write the report; returns the result dict (also ``latent_diffusability.json``).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (:func:`parse_args`).

    Returns
    -------
    dict
        The result (keys documented in docs/latent_diffusability.md).
    """
    import torch

    from statgeo.provenance import versions
    from validation.digits_zoo import build_zoo
    from validation.digits_zoo.classifier import classifier_accuracy, load_classifier
    from validation.latent_diffusability.diagnostics import pixel_taus
    from validation.latent_diffusability.encoders import RESOLUTION
    from validation.latent_diffusability.figures import write_figures
    from validation.latent_diffusability.quality import CONFIDENCE, penultimate_features
    from validation.latent_diffusability.report import verdict, write_report
    from validation.latent_diffusability.statistics import frechet_distance

    args = parse_args(argv)
    preset = _preset(args)
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise SystemExit(f"--out must be a directory, got the file {out}")
    cache = out / "cache"
    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    old_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        t0 = time.perf_counter()
        zoo = build_zoo(args.zoo_root, preset=preset.zoo_preset, threads=args.threads, progress=False)
        clf = load_classifier(zoo.classifier)
        timings["zoo"] = time.perf_counter() - t0
        x_train, x_test, yte = _digits(RESOLUTION)
        xte = ((x_test + 1.0) / 2.0).reshape(-1, 1, RESOLUTION, RESOLUTION).astype(np.float32)
        real_feats = penultimate_features(clf, x_train)
        _, conf_test = clf.classify(xte)
        reference = {"frechet_distance_train_vs_test": frechet_distance(penultimate_features(clf, x_test), real_feats),
                     "confident_fraction_test": float(np.mean(conf_test >= CONFIDENCE))}
        t0 = time.perf_counter()
        spaces, chains = _spaces(preset, x_train, x_test, cache)
        timings["encoders"] = time.perf_counter() - t0
        taus = pixel_taus(preset.diagnostics)
        results = _space_results(preset, spaces, chains, taus, clf, real_feats, cache, timings)
        entries = _encoder_entries(preset, spaces, chains, results)
        diagnostics = ["fi_deviation", "fir_deviation", "mmse_rate_deviation", "compression", "tangential",
                       "curvature", "recon_mse"]
        measures = ["frechet_distance", "confident_fraction", "class_balance_tv"]
        t0 = time.perf_counter()
        spearman_all = _correlations(preset, entries, diagnostics, measures)
        res = {
            "preset": preset.name, "seeds": list(preset.seeds), "taus": taus.tolist(), "settings": preset.to_dict(),
            "versions": versions(), "threads": args.threads,
            "classifier_accuracy": classifier_accuracy(clf, xte, yte), "reference": reference,
            "pixel": {"profiles": results["pixel"]["profiles"], "quality": _quality_mean(results["pixel"]["quality"]),
                      "quality_per_seed": results["pixel"]["quality"]},
            "encoders": entries, "diagnostics": diagnostics, "quality_measures": measures,
            "spearman": spearman_all["frechet_distance"], "spearman_all": spearman_all,
            "spearman_fixed_dim": _fixed_dim_correlations(preset, entries, diagnostics),
        }
        res["verdict"] = verdict(res["spearman"])
        timings["correlations"] = time.perf_counter() - t0
        out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        write_figures(res, out)
        timings["report"] = time.perf_counter() - t0
        res["stage_wall_s"] = timings
        res["wall_s"] = time.perf_counter() - t_all
        write_report(res, out)
    finally:
        torch.set_num_threads(old_threads)
    return res


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: run and print where the report is.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments.

    Returns
    -------
    int
        Exit status (0).
    """
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    res = run(argv)
    if not args.quiet:
        print(res["verdict"]["text"])
        print(f"wrote {Path(args.out) / 'latent_diffusability.md'} ({res['wall_s']:.0f} s)")
    return 0
