"""Command line: ``statgeo-diffusion {sweep, embed, analyse}`` on local model files only.

Examples
--------
statgeo-diffusion sweep ./sd15 --prompt "a photo of a cat" --seeds 0 1 2 --n 64 \
    --steps 50 --guidance 7.5 --eta 0 --resolution 128 --out slice.zarr
statgeo-diffusion embed slice.zarr --clip-model ViT-L-14 --clip-weights ./vitl14.bin --out slice_emb.zarr
statgeo-diffusion analyse slice_emb.zarr --n-phases 3 --out phases.nc --figure phases.png

Errors (missing files, bad values) are logged and give exit status 2; progress bars show on a
terminal only (``TQDM_DISABLE=1`` hides them). Zarr outputs are written without consolidated
metadata: read them with ``xr.open_zarr(path, consolidated=False)`` (docs/diffusion.md, "CLI").
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger("statgeo.diffusion.cli")

__all__ = ["main", "build_parser"]


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

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> build_parser().parse_args(["analyse", "in.zarr", "--out", "out.nc"]).n_phases
    2
    """
    p = argparse.ArgumentParser(prog="statgeo-diffusion", description="Latent-slice sweeps, embeddings and phase "
                                "analysis of diffusion models (local files only; nothing is downloaded).")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sweep", help="generate images over a latent slice")
    s.add_argument("model", help="local diffusers directory or single-file checkpoint")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--prompt")
    g.add_argument("--prompt-embeds", help=".pt/.npy file with (1, seq, dim) text embeddings")
    s.add_argument("--negative-prompt", default="")
    s.add_argument("--negative-embeds", help=".pt/.npy file with the unconditional embeddings")
    a = s.add_mutually_exclusive_group()
    a.add_argument("--seeds", type=int, nargs=3, default=[0, 1, 2], metavar=("S0", "S1", "S2"))
    a.add_argument("--anchors", help=".pt/.npy file with the anchors z0, z1, z2")
    s.add_argument("--normalise", choices=["std", "sqrt_dim", "none"], default="std")
    s.add_argument("--n", type=int, default=64, help="grid points per axis")
    s.add_argument("--alpha-range", type=float, nargs=2, default=[0.0, 1.0])
    s.add_argument("--beta-range", type=float, nargs=2, default=[0.0, 1.0])
    s.add_argument("--points", help=".npy file with (n, 2) slice points instead of a grid")
    s.add_argument("--steps", type=int, default=50)
    s.add_argument("--guidance", type=float, default=7.5)
    s.add_argument("--eta", type=float, default=0.0)
    s.add_argument("--scheduler", default="ddim")
    s.add_argument("--dtype", default="float32")
    s.add_argument("--device", default="cpu")
    s.add_argument("--batch-size", type=int, default=16)
    s.add_argument("--chunk-size", type=int)
    s.add_argument("--resolution", type=int)
    s.add_argument("--keep-latent", action="store_true")
    s.add_argument("--noise-seed", type=int, default=0)
    s.add_argument("--store", help="zarr chunk store for resume (default: OUT + '.chunks')")
    s.add_argument("--scheduler-address", help="Dask scheduler address to spread chunks over workers")
    s.add_argument("--out", required=True, help="output .zarr or .nc")

    e = sub.add_parser("embed", help="add CLIP embeddings to a sweep")
    e.add_argument("input")
    e.add_argument("--clip-model", required=True, help="open_clip architecture name (or config name)")
    e.add_argument("--clip-weights", help="local checkpoint file")
    e.add_argument("--clip-config", help="JSON file with an open_clip model config")
    e.add_argument("--device", default="cpu")
    e.add_argument("--batch-size", type=int, default=64)
    e.add_argument("--out", required=True)

    n = sub.add_parser("analyse", help="phase map (k-means) and, with --geometry, the metric boundary score")
    n.add_argument("input")
    n.add_argument("--n-phases", type=int, default=2)
    n.add_argument("--seed", type=int, default=0)
    n.add_argument("--geometry", action="store_true", help="fit log Z and compute the boundary score")
    n.add_argument("--figure", help="PNG of the phase map")
    n.add_argument("--out", required=True)
    return p


def _cmd_sweep(args) -> None:
    import numpy as np

    from statgeo.diffusion.pipeline import PipelineSpec, _torch_dtype
    from statgeo.diffusion.slices import LatentSlice, slice_grid
    from statgeo.diffusion.sweep import sweep

    if not os.path.exists(args.model):
        raise FileNotFoundError(f"model path not found: {args.model!r}")
    _torch_dtype(args.dtype)
    pe = _load_tensor(args.prompt_embeds) if args.prompt_embeds else None
    ne = _load_tensor(args.negative_embeds) if args.negative_embeds else None
    spec = PipelineSpec(args.model, prompt=args.prompt, prompt_embeds=pe, negative_prompt=args.negative_prompt,
                        negative_embeds=ne, guidance_scale=args.guidance, num_inference_steps=args.steps,
                        eta=args.eta, scheduler=args.scheduler, device=args.device, dtype=args.dtype)
    spec.validate()
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
    kw = {}
    if args.points:
        kw["points"] = np.load(args.points)
    else:
        kw["grid"] = slice_grid(args.n, args.n, tuple(args.alpha_range), tuple(args.beta_range))
    store = args.store or args.out.rstrip("/") + ".chunks"
    ds = sweep(gen, lslice, batch_size=args.batch_size, chunk_size=args.chunk_size, resolution=args.resolution,
               keep_latent=args.keep_latent, noise_seed=args.noise_seed, store=store, client=client, **kw)
    _save(ds, args.out)


def _cmd_embed(args) -> None:
    from statgeo.diffusion.embed import OpenClipEmbedder, add_embeddings

    ds = _open(args.input)
    cfg = None
    if args.clip_config:
        if not os.path.exists(args.clip_config):
            raise FileNotFoundError(f"CLIP config not found: {args.clip_config!r}")
        with open(args.clip_config) as fh:
            cfg = json.load(fh)
    emb = OpenClipEmbedder(args.clip_model, args.clip_weights, config=cfg, device=args.device,
                           batch_size=args.batch_size)
    _save(add_embeddings(ds, emb), args.out)


def _cmd_analyse(args) -> None:
    import xarray as xr

    from statgeo.diffusion.phases import phase_map, plot_phase_map

    ds = _open(args.input)
    labels, _ = phase_map(ds, args.n_phases, seed=args.seed)
    out = xr.Dataset({"phase": labels})
    score = None
    if args.geometry:
        from statgeo.diffusion.analysis import analyse_slice

        geo = analyse_slice(ds)
        out = xr.merge([out, geo.maps[["log_partition", "boundary_score"]]])
        score = geo.maps["boundary_score"]
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = plot_phase_map(labels, score)
        ax.figure.savefig(args.figure, dpi=120, bbox_inches="tight")
        plt.close(ax.figure)
    out.attrs = {"config": json.dumps({"input": os.path.abspath(args.input), "n_phases": args.n_phases,
                                       "seed": args.seed, "geometry": bool(args.geometry)})}
    _save(out, args.out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``statgeo-diffusion``; bad input is logged as an error naming the problem.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 on bad input (missing files, wrong values).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        {"sweep": _cmd_sweep, "embed": _cmd_embed, "analyse": _cmd_analyse}[args.command](args)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        log.error("statgeo-diffusion %s: error: %s", args.command, exc)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
