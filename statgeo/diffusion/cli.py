"""Command line: ``statgeo-diffusion {sweep, embed, analyse}`` on local model files only.

Examples
--------
statgeo-diffusion sweep ./sd15 --prompt "a photo of a cat" --seeds 0 1 2 --n 64 \
    --steps 50 --guidance 7.5 --eta 0 --resolution 128 --out slice.zarr
statgeo-diffusion sweep ./digits_pixel --seeds 3 7 11 --n 32 --steps 20 --scheduler ddim --out digits.zarr
statgeo-diffusion embed slice.zarr --clip-model ViT-L-14 --clip-weights ./vitl14.bin --out slice_emb.zarr
statgeo-diffusion analyse slice_emb.zarr --n-phases 3 --geometry --posterior-grid 17 --out phases.nc \
    --figure phases.png

Every option has a help text with its default (``statgeo-diffusion SUB-COMMAND --help``).
Bad input (missing files, bad values, degenerate slices, an unsupported scheduler, a CLIP
model without weights) gives exit status 2 and a message naming the argument: values that
are wrong on their own are refused by the parser, the rest before any model is loaded where
possible. Progress bars show on a terminal only (``--quiet`` or ``TQDM_DISABLE=1`` hides
them); ``--quiet`` prints errors only. Zarr outputs are written without consolidated
metadata: read them with ``xr.open_zarr(path, consolidated=False)`` (docs/diffusion.md, "CLI").
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger("statgeo.diffusion.cli")

__all__ = ["build_parser", "main"]

#: largest anchor / noise seed (what a CPU ``torch.Generator`` accepts; ``slices.MAX_SEED``)
_MAX_SEED = 2**64 - 1
#: dtype names the sweep accepts, with their aliases
_DTYPES = {"float32": "float32", "fp32": "float32", "float": "float32", "float16": "float16", "fp16": "float16",
           "half": "float16", "bfloat16": "bfloat16", "float64": "float64", "double": "float64"}
#: loggers ``--quiet`` silences below ERROR (besides the root logger)
_QUIET_LOGGERS = ("statgeo", "diffusers", "transformers", "open_clip", "distributed", "timm")
#: library parameter names → the options that set them, per sub-command (for error messages)
_FLAGS = {
    "sweep": {"class_label": "--class-label", "prompt": "--prompt", "prompt_embeds": "--prompt-embeds",
              "negative_prompt": "--negative-prompt", "negative_embeds": "--negative-embeds",
              "scheduler": "--scheduler", "num_inference_steps": "--steps", "guidance_scale": "--guidance",
              "eta": "--eta", "dtype": "--dtype", "device": "--device", "batch_size": "--batch-size",
              "chunk_size": "--chunk-size", "resolution": "--resolution", "noise_seed": "--noise-seed",
              "points": "--points", "normalise": "--normalise"},
    "embed": {"model_name": "--clip-model", "pretrained": "--clip-weights", "config": "--clip-config",
              "device": "--device", "batch_size": "--batch-size"},
    "analyse": {"n_phases": "--n-phases", "seed": "--seed", "grid": "--posterior-grid", "kernel": "--kernel",
                "temperature": "--temperature", "max_steps": "--fit-steps", "boundary_method": "--boundary-method",
                "threshold": "--threshold"},
}
#: default number of optimisation steps of the log Z fit (``fit_log_partition``'s ``max_steps``)
_FIT_STEPS = 600


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: X)`` after every help text whose default is a value (not None, not
    False, not ""): options without such a default say in their help what happens without them."""

    def _get_help_string(self, action: argparse.Action) -> str:
        d = action.default
        if d is None or d is False or (isinstance(d, str) and d == "") or isinstance(action, argparse._HelpAction):
            return action.help or ""
        return super()._get_help_string(action)


def _int_type(low: int, high: int | None = None):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if v < low or (high is not None and v > high):
            rng = f"≥ {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"must be an integer {rng}, got {v}")
        return v

    parse.__name__ = "integer"
    return parse


def _float_type(low: float | None = None, high: float | None = None, low_open: bool = False):
    def parse(text: str) -> float:
        import math

        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a real number, got {text!r}") from None
        bad = not math.isfinite(v) or (low is not None and (v <= low if low_open else v < low)) or (
            high is not None and v > high)
        if bad:
            lo = "" if low is None else (f"> {low}" if low_open else f"≥ {low}")
            hi = "" if high is None else f"≤ {high}"
            rng = " and ".join(x for x in (lo, hi) if x) or "finite"
            raise argparse.ArgumentTypeError(f"must be a finite real number {rng}, got {text!r}")
        return v

    parse.__name__ = "real number"
    return parse


def _dtype_type(text: str) -> str:
    if text not in _DTYPES:
        raise argparse.ArgumentTypeError(f"must be one of {sorted(set(_DTYPES.values()))} (or an alias "
                                         f"{sorted(k for k in _DTYPES if k not in _DTYPES.values())}), got {text!r}")
    return _DTYPES[text]


def _temperature_type(text: str) -> float | str:
    if text == "auto":
        return text
    return _float_type(0.0, low_open=True)(text)


def _scheduler_choices() -> tuple[str, ...]:
    from statgeo.diffusion.pipeline import SUPPORTED_SCHEDULERS

    return ("auto",) + tuple(s for s in SUPPORTED_SCHEDULERS if s != "auto")


def _verbosity(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else False
    v = parser.add_mutually_exclusive_group()
    v.add_argument("-v", "--verbose", action="store_true", default=default,
                   help="log what is done (INFO messages) besides warnings and errors")
    v.add_argument("-q", "--quiet", action="store_true", default=default,
                   help="print errors only: no progress bars, no warnings, no INFO messages")


def _load_tensor(path: str):
    import numpy as np
    import torch

    if not os.path.exists(path):
        raise FileNotFoundError(f"file not found: {path!r}")
    if path.endswith(".npy"):
        return torch.from_numpy(np.load(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def _open(path: str):
    import xarray as xr

    if not os.path.exists(path):
        raise FileNotFoundError(f"dataset not found: {path!r}")
    if path.endswith(".nc"):
        return xr.open_dataset(path, engine="h5netcdf").load()
    return xr.open_zarr(path, consolidated=False).load()


def _save(ds, path: str) -> None:
    if path.endswith(".nc"):
        ds.to_netcdf(path, engine="h5netcdf")
    else:
        # no consolidated metadata: Zarr format 3 does not define it (zarr warns on every write)
        ds.to_zarr(path, mode="w", consolidated=False)
    log.info("wrote %s", path)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``statgeo-diffusion`` (sub-commands ``sweep``, ``embed``, ``analyse``).

    Every option has a help text, its default (shown by ``--help``) and, where the values are
    a closed set, its choices; ``-v/--verbose`` and ``-q/--quiet`` are accepted before the
    sub-command and on every sub-command.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> build_parser().parse_args(["analyse", "in.zarr", "--out", "out.nc"]).n_phases
    2
    """
    from statgeo.diffusion.analysis import BOUNDARY_METHODS, KERNELS
    from statgeo.diffusion.slices import NORMALISATIONS

    fmt = _HelpFormatter
    p = argparse.ArgumentParser(prog="statgeo-diffusion", formatter_class=fmt,
                                description="Latent-slice sweeps, embeddings and phase/geometry analysis of "
                                            "diffusion models (local files only; nothing is downloaded).")
    _verbosity(p, suppress=False)
    sub = p.add_subparsers(dest="command", required=True, metavar="{sweep,embed,analyse}")

    s = sub.add_parser("sweep", formatter_class=fmt, help="generate images over a 2-D latent slice",
                       description="Generate images over the slice z(α, β) = z0 + α(z1 − z0) + β(z2 − z0) "
                                   "(renormalised) of a local diffusion model.")
    _verbosity(s, suppress=True)
    s.add_argument("model", help="local model: a directory written by DiffusionPipeline.save_pretrained, a "
                                 "component directory (unet/, scheduler/, optional vae/ or vqvae/), or a "
                                 "single-file checkpoint")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--prompt", help="text prompt, encoded with the model's own text encoder (text-conditional "
                                    "models only; default: none, as unconditional and class-conditional "
                                    "models take no prompt)")
    g.add_argument("--prompt-embeds", metavar="FILE",
                   help=".pt/.npy file with (1, seq, dim) text embeddings instead of --prompt (default: none)")
    s.add_argument("--negative-prompt", default="", metavar="TEXT",
                   help="negative prompt for classifier-free guidance (default: the empty prompt)")
    s.add_argument("--negative-embeds", metavar="FILE",
                   help=".pt/.npy file with the unconditional embeddings (default: the encoding of "
                        "--negative-prompt)")
    s.add_argument("--class-label", type=_int_type(0), metavar="K",
                   help="class index for a class-conditional UNet (class_labels; default: none)")
    a = s.add_mutually_exclusive_group()
    a.add_argument("--seeds", type=_int_type(0, _MAX_SEED), nargs=3, default=[0, 1, 2], metavar=("S0", "S1", "S2"),
                   help="three distinct seeds drawing the anchors z0, z1, z2 (CPU torch.Generator)")
    a.add_argument("--anchors", metavar="FILE",
                   help=".pt/.npy file with the anchors z0, z1, z2, shape (3, *latent_shape), spanning a plane "
                        "(default: drawn from --seeds)")
    s.add_argument("--normalise", choices=NORMALISATIONS, default="std",
                   help="renormalisation of z(α, β): std = z/std(z) (the paper), sqrt_dim = z·√d/‖z‖, none")
    s.add_argument("--n", type=_int_type(2), default=64, help="grid points per axis")
    s.add_argument("--alpha-range", type=_float_type(), nargs=2, default=[0.0, 1.0], metavar=("START", "STOP"),
                   help="range of α (STOP > START)")
    s.add_argument("--beta-range", type=_float_type(), nargs=2, default=[0.0, 1.0], metavar=("START", "STOP"),
                   help="range of β (STOP > START)")
    s.add_argument("--points", metavar="FILE",
                   help=".npy file with (n, 2) slice points (α, β) instead of the grid (default: the --n grid)")
    s.add_argument("--steps", type=_int_type(1, 1000), default=50, help="denoising steps")
    s.add_argument("--guidance", type=_float_type(0.0), default=7.5,
                   help="classifier-free guidance scale (text-conditional models; used when > 1)")
    s.add_argument("--eta", type=_float_type(0.0, 1.0), default=0.0, help="DDIM η in [0, 1] (0: deterministic; must be 0 for the other samplers)")
    s.add_argument("--scheduler", choices=_scheduler_choices(), default="auto",
                   help="sampler; auto = the scheduler saved with the model if it is supported, otherwise an "
                        "error naming the supported ones")
    s.add_argument("--dtype", type=_dtype_type, choices=("float32", "float16", "bfloat16", "float64"),
                   default="float32", help="model precision (aliases fp32, fp16, half, double accepted)")
    s.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:0, mps, ...)")
    s.add_argument("--batch-size", type=_int_type(1), default=16, help="latents per forward pass")
    s.add_argument("--chunk-size", type=_int_type(1), metavar="N",
                   help="points per stored chunk, the unit of resume and of Dask tasks (default: 4 × --batch-size)")
    s.add_argument("--resolution", type=_int_type(1), metavar="PIXELS",
                   help="side of the stored images (default: the model's own output size)")
    s.add_argument("--keep-latent", action="store_true", help="also store the final (denoised) latents")
    s.add_argument("--noise-seed", type=_int_type(0, _MAX_SEED), default=0,
                   help="base of the per-point noise seeds of stochastic samplers (point_seeds)")
    s.add_argument("--store", metavar="DIR", help="zarr chunk store for resume (default: OUT + '.chunks')")
    s.add_argument("--scheduler-address", metavar="ADDR",
                   help="Dask scheduler address to spread chunks over workers (default: run here)")
    s.add_argument("--out", required=True, help="output .zarr or .nc")

    e = sub.add_parser("embed", formatter_class=fmt, help="add CLIP image embeddings to a sweep",
                       description="Add open_clip image embeddings (variable 'embedding') to a sweep's images.")
    _verbosity(e, suppress=True)
    e.add_argument("input", help="a sweep (.zarr or .nc) written by 'statgeo-diffusion sweep'")
    e.add_argument("--clip-model", required=True, metavar="NAME",
                   help="open_clip architecture name (or the name to register --clip-config under)")
    w = e.add_mutually_exclusive_group()
    w.add_argument("--clip-weights", metavar="FILE",
                   help="local checkpoint file of the CLIP model (default: none, which is refused unless "
                        "--random-weights is given)")
    w.add_argument("--random-weights", action="store_true",
                   help="use a randomly initialised CLIP model (tests and smoke runs only: its embeddings mean "
                        "nothing)")
    e.add_argument("--clip-config", metavar="FILE",
                   help="JSON file with an open_clip model config (default: the architecture's built-in config)")
    e.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:0, mps, ...)")
    e.add_argument("--batch-size", type=_int_type(1), default=64, help="images per forward pass")
    e.add_argument("--out", required=True, help="output .zarr or .nc")

    n = sub.add_parser("analyse", formatter_class=fmt,
                       help="phase map (k-means) and, with --geometry, the metric and its boundaries",
                       description="Phase map by k-means on the embeddings; with --geometry also the "
                                   "feature-kernel posterior on a posterior grid, the fitted log Z, the metric "
                                   "g = ∇² log Z, the boundary score and the detected ridge curves.")
    _verbosity(n, suppress=True)
    n.add_argument("input", help="a grid sweep with embeddings (.zarr or .nc, from 'statgeo-diffusion embed')")
    n.add_argument("--n-phases", type=_int_type(1), default=2, help="number of phases (k-means clusters)")
    n.add_argument("--seed", type=_int_type(0), default=0, help="k-means seed")
    n.add_argument("--geometry", action="store_true",
                   help="also fit log Z and write the metric, boundary score and ridge curves")
    n.add_argument("--posterior-grid", type=_int_type(3), nargs="+", metavar="N",
                   help="posterior/fit grid over the sweep's α, β ranges: N (N × N) or NA NB, each ≥ 3 (with "
                        "--geometry; default: the coarser grid docs/diffusion.md recommends, (n + 1) // 2 points "
                        "per axis of the n-point sweep grid, at least 3, e.g. 33 → 17)")
    n.add_argument("--kernel", choices=KERNELS,
                   help="feature kernel of the posterior (with --geometry; default: gauss)")
    n.add_argument("--temperature", type=_temperature_type, metavar="T",
                   help="kernel temperature > 0 or 'auto' (with --geometry; default: auto, leave-one-out selection)")
    n.add_argument("--fit-steps", type=_int_type(1), metavar="STEPS",
                   help=f"optimisation steps of the log Z fit (with --geometry; default: {_FIT_STEPS})")
    n.add_argument("--boundary-method", choices=BOUNDARY_METHODS,
                   help="metric → boundary score (with --geometry; default: max_eigenvalue, robust log λ_max g)")
    n.add_argument("--threshold", type=_float_type(), metavar="SCORE",
                   help="ridge threshold on the boundary score (with --geometry; default: 3.0)")
    n.add_argument("--figure", metavar="PNG", help="PNG of the phase map, with score contours and ridges under "
                                                   "--geometry (default: none)")
    n.add_argument("--out", required=True, help="output .nc or .zarr")
    return p


def _spec_kwargs(args) -> dict:
    """PipelineSpec keywords of a sweep; works with PipelineSpecs with and without
    ``scheduler="auto"``/``class_label`` (an older spec keeps its own default scheduler)."""
    from statgeo.diffusion.pipeline import PipelineSpec

    fields = {f.name: f for f in dataclasses.fields(PipelineSpec)}
    kw = {}
    if args.scheduler != "auto" or fields["scheduler"].default == "auto":
        kw["scheduler"] = args.scheduler
    if "class_label" in fields:
        kw["class_label"] = args.class_label
    elif args.class_label is not None:
        raise ValueError("--class-label is not supported by this version of statgeo.diffusion.PipelineSpec")
    return kw


def _check_slice_args(args) -> None:
    """Refuse a degenerate slice before any model is loaded (the message names the argument)."""
    from statgeo.diffusion.slices import LatentSlice

    if args.anchors:
        try:
            LatentSlice.from_file(args.anchors, None, normalise=args.normalise)
        except ValueError as exc:
            raise ValueError(f"--anchors {args.anchors}: {exc}") from None
    elif len(set(args.seeds)) != len(args.seeds):
        raise ValueError(f"--seeds must be three distinct seeds (equal seeds draw equal anchors, which span no "
                         f"slice), got {' '.join(map(str, args.seeds))}")
    for name in ("alpha_range", "beta_range"):
        lo, hi = getattr(args, name)
        if not hi > lo:
            raise ValueError(f"--{name.replace('_', '-')} must have STOP > START (a slice of positive width), "
                             f"got {lo} {hi}")


def _cmd_sweep(args) -> None:
    import numpy as np

    from statgeo.diffusion.pipeline import PipelineSpec
    from statgeo.diffusion.slices import LatentSlice, slice_grid
    from statgeo.diffusion.sweep import sweep

    if not os.path.exists(args.model):
        raise FileNotFoundError(f"model path not found: {args.model!r}")
    _check_slice_args(args)
    pe = _load_tensor(args.prompt_embeds) if args.prompt_embeds else None
    ne = _load_tensor(args.negative_embeds) if args.negative_embeds else None
    spec = PipelineSpec(args.model, prompt=args.prompt, prompt_embeds=pe, negative_prompt=args.negative_prompt,
                        negative_embeds=ne, guidance_scale=args.guidance, num_inference_steps=args.steps,
                        eta=args.eta, device=args.device, dtype=args.dtype, **_spec_kwargs(args))
    spec.validate()
    kw = {}
    if args.points:
        if not os.path.exists(args.points):
            raise FileNotFoundError(f"--points file not found: {args.points!r}")
        kw["points"] = np.load(args.points)
    else:
        kw["grid"] = slice_grid(args.n, args.n, tuple(args.alpha_range), tuple(args.beta_range))
    client = None
    if args.scheduler_address:
        from distributed import Client

        client = Client(args.scheduler_address)
        gen = spec
        shape = None
    else:
        gen = spec.load()
        shape = gen.latent_shape
    if args.anchors:
        lslice = LatentSlice.from_file(args.anchors, shape, normalise=args.normalise)
    else:
        if shape is None:
            from statgeo.diffusion.scaleout import probe

            shape = tuple(probe(client, spec)["config"]["latent_shape"])
        lslice = LatentSlice.from_seeds(args.seeds, shape, normalise=args.normalise)
    store = args.store or args.out.rstrip("/") + ".chunks"
    ds = sweep(gen, lslice, batch_size=args.batch_size, chunk_size=args.chunk_size, resolution=args.resolution,
               keep_latent=args.keep_latent, noise_seed=args.noise_seed, store=store, client=client,
               progress=False if args.quiet else None, **kw)
    _save(ds, args.out)


def _cmd_embed(args) -> None:
    from statgeo.diffusion.embed import OpenClipEmbedder, add_embeddings

    if args.clip_weights is None and not args.random_weights:
        raise ValueError("--clip-weights is required: give a local checkpoint file of the CLIP model "
                         "(nothing is downloaded), or pass --random-weights to embed with a randomly "
                         "initialised model (tests only)")
    cfg = None
    if args.clip_config:
        if not os.path.exists(args.clip_config):
            raise FileNotFoundError(f"--clip-config file not found: {args.clip_config!r}")
        with open(args.clip_config) as fh:
            cfg = json.load(fh)
    ds = _open(args.input)
    if args.random_weights:
        log.warning("--random-weights: CLIP model %r is randomly initialised; its embeddings carry no meaning",
                    args.clip_model)
    emb = OpenClipEmbedder(args.clip_model, args.clip_weights, config=cfg, device=args.device,
                           batch_size=args.batch_size)
    _save(add_embeddings(ds, emb, progress=False if args.quiet else None), args.out)


def _posterior_grid(args, ds):
    """The posterior/fit grid: ``--posterior-grid`` or (n + 1) // 2 (≥ 3) points per sweep axis."""
    from statgeo.diffusion.slices import slice_grid

    if "alpha" not in ds.dims or "beta" not in ds.dims:
        raise ValueError(f"--geometry needs a grid sweep with dims (alpha, beta); {args.input!r} has dims "
                         f"{tuple(ds.dims)}")
    sizes = (ds.sizes["alpha"], ds.sizes["beta"])
    if args.posterior_grid is None:
        shape = tuple(min(n, max(3, (n + 1) // 2)) for n in sizes)
    else:  # one or two counts (checked by _cmd_analyse)
        shape = tuple(args.posterior_grid) * (3 - len(args.posterior_grid))
    if min(sizes) < 3:
        raise ValueError(f"--geometry needs a sweep grid of at least 3 × 3 points, {args.input!r} has "
                         f"{sizes[0]} × {sizes[1]}")
    a, b = ds["alpha"].values, ds["beta"].values
    return slice_grid(shape[0], shape[1], (float(a.min()), float(a.max())), (float(b.min()), float(b.max())))


def _geometry_dataset(geo):
    """The fit-grid maps (dims ``fit_alpha``, ``fit_beta``) plus the ridge curves and their cells."""
    import numpy as np

    maps = geo.maps[["log_partition", "metric", "boundary_score"]].rename({"alpha": "fit_alpha", "beta": "fit_beta"})
    maps["fit_alpha"].attrs.update(long_name="α of the posterior/fit grid", units="1")
    maps["fit_beta"].attrs.update(long_name="β of the posterior/fit grid", units="1")
    maps["i"] = maps["i"].astype(str)
    maps["j"] = maps["j"].astype(str)
    a, b = maps["fit_alpha"].values, maps["fit_beta"].values
    pts = np.concatenate(geo.curves) if geo.curves else np.zeros((0, 2))
    ids = np.concatenate([np.full(len(c), k) for k, c in enumerate(geo.curves)]) if geo.curves else np.zeros(0, int)
    ridge = np.zeros((a.size, b.size), dtype=np.int8)
    if len(pts):
        ia = np.abs(pts[:, :1] - a[None]).argmin(axis=1)
        ib = np.abs(pts[:, 1:] - b[None]).argmin(axis=1)
        ridge[ia, ib] = 1
    maps["boundary_ridge"] = (("fit_alpha", "fit_beta"), ridge,
                              {"long_name": "cell on a detected boundary ridge (1) or not (0)", "units": "1"})
    maps["ridge_alpha"] = ("ridge_point", pts[:, 0].astype(np.float64), {"long_name": "α of a ridge point"})
    maps["ridge_beta"] = ("ridge_point", pts[:, 1].astype(np.float64), {"long_name": "β of a ridge point"})
    maps["ridge_curve"] = ("ridge_point", ids.astype(np.int64),
                           {"long_name": "index of the ridge curve (longest first) a point belongs to"})
    maps.attrs = {}
    return maps


def _cmd_analyse(args) -> None:
    import xarray as xr

    from statgeo.diffusion.phases import phase_map, plot_phase_map

    geo_opts = {"--posterior-grid": args.posterior_grid, "--kernel": args.kernel, "--temperature": args.temperature,
                "--fit-steps": args.fit_steps, "--boundary-method": args.boundary_method,
                "--threshold": args.threshold}
    given = [k for k, v in geo_opts.items() if v is not None]
    if given and not args.geometry:
        raise ValueError(f"{', '.join(given)} only apply with --geometry; add --geometry or drop them")
    if args.posterior_grid is not None and len(args.posterior_grid) > 2:
        raise ValueError(f"--posterior-grid takes N or NA NB, got {len(args.posterior_grid)} values")
    ds = _open(args.input)
    labels, _ = phase_map(ds, args.n_phases, seed=args.seed)
    out = xr.Dataset({"phase": labels})
    config = {"input": os.path.abspath(args.input), "n_phases": args.n_phases, "seed": args.seed,
              "geometry": bool(args.geometry)}
    geo = None
    if args.geometry:
        from statgeo.diffusion.analysis import analyse_slice

        grid = _posterior_grid(args, ds)
        kw = {"kernel": args.kernel, "temperature": args.temperature,
              "fit_kwargs": {"max_steps": args.fit_steps or _FIT_STEPS},
              "boundary_method": args.boundary_method or "max_eigenvalue",
              "threshold": 3.0 if args.threshold is None else args.threshold}
        geo = analyse_slice(ds, grid=grid, progress=False if args.quiet else None, **kw)
        out = xr.merge([out, _geometry_dataset(geo)])
        config.update(posterior_grid=list(grid.shape), kernel=args.kernel or "gauss",
                      temperature=args.temperature or "auto", fit_steps=kw["fit_kwargs"]["max_steps"],
                      boundary_method=kw["boundary_method"], threshold=kw["threshold"], n_ridges=len(geo.curves))
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = plot_phase_map(labels, None if geo is None else geo.maps["boundary_score"])
        for c in [] if geo is None else geo.curves:
            ax.plot(c[:, 0], c[:, 1], color="r", linewidth=1.2)
        ax.figure.savefig(args.figure, dpi=120, bbox_inches="tight")
        plt.close(ax.figure)
    out.attrs = {"config": json.dumps(config)}
    _save(out, args.out)


def _with_flags(message: str, command: str) -> str:
    """Append the options behind the library parameter names a message mentions."""
    import re

    flags = [f for name, f in _FLAGS.get(command, {}).items()
             if f not in message and re.search(rf"(?<![\w-]){name}(?![\w-])", message)]
    return f"{message} (option{'s' if len(flags) > 1 else ''}: {', '.join(flags)})" if flags else message


@contextlib.contextmanager
def _verbosity_context(verbose: bool, quiet: bool) -> Iterator[None]:
    """Log levels for one run: INFO with ``verbose``, ERROR (and no warnings) with ``quiet``;
    restored afterwards (``main`` may be called several times in one process)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")
    names = ("",) + _QUIET_LOGGERS if quiet else ("statgeo",) if verbose else ()
    level = logging.ERROR if quiet else logging.INFO
    saved = {name: logging.getLogger(name).level for name in names}
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        for name in names:
            logging.getLogger(name).setLevel(level)
        try:
            yield
        finally:
            for name, lv in saved.items():
                logging.getLogger(name).setLevel(lv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``statgeo-diffusion``; bad input is logged as an error naming the problem.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 on bad input (missing files, wrong values, degenerate slices, an
        unsupported scheduler, CLIP without weights).

    Raises
    ------
    SystemExit
        From the parser: status 0 after ``--help``, 2 for an unknown option or a value it
        refuses (the message names the option).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose and args.quiet:
        parser.error("argument -q/--quiet: not allowed with argument -v/--verbose")
    with _verbosity_context(args.verbose, args.quiet):
        try:
            {"sweep": _cmd_sweep, "embed": _cmd_embed, "analyse": _cmd_analyse}[args.command](args)
        except (FileNotFoundError, ValueError, TypeError) as exc:
            log.error("statgeo-diffusion %s: error: %s", args.command, _with_flags(str(exc), args.command))
            return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
