"""``python -m validation.table1`` — reproduce the paper's Table 1 (docs/table1.md).

Stages, each timed, each with a progress bar on a terminal (``TQDM_DISABLE=1`` hides them):
references (exact where they exist; cached in zarr) → samples through the physics samplers
(cached in zarr; Dask tasks when ``--scheduler`` is given) → per model and seed, the rows
(neural grid posterior, feature-kernel posterior, exact-likelihood oracle, Mean-as-Stat,
PCA-VAE; seeds run in parallel worker processes with one torch/numba thread each) → error
measures (mean ± std over seeds), acceptance checks, boundary detection → artefacts in
``--out`` (table1.md/.csv/.json, table1_maps.nc, PNG figures) and the summary table printed
next to the published numbers.

Examples
--------
    python -m validation.table1                       # quick preset, both models, 3 seeds
    python -m validation.table1 --models ising --seeds 1 --out out/ising
    python -m validation.table1 --preset paper --plan    # estimated time, memory, disk; runs nothing
    python -m validation.table1 --preset paper --backend cupy --device cuda --scheduler tcp://host:8786
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import functools
import json
import logging
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["main", "run", "parse_args"]

log = logging.getLogger("validation.table1")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command-line options (docs/table1.md, the options under the commands).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        ``preset``, ``models``, ``seeds``, ``out``, ``cache``, ``backend``, ``device``,
        ``scheduler``, ``workers``, ``rows``, ``no_figures``, ``report_only``, ``plan``, ``size``,
        ``points``, ``neural_steps``, ``verbose``.
    """
    from validation.table1_config import PRESETS

    p = argparse.ArgumentParser(prog="python -m validation.table1", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="quick", choices=sorted(PRESETS), help="quick (default), paper, tiny (CI)")
    p.add_argument("--models", default="ising,tasep", help="comma-separated subset of ising,tasep")
    p.add_argument("--seeds", type=int, default=None, help="independent runs (default: the preset's, 3)")
    p.add_argument("--out", default="out/table1", help="output directory (default out/table1)")
    p.add_argument("--cache", default=None, help="zarr cache directory (default OUT/cache)")
    p.add_argument("--backend", default="auto", choices=("auto", "numba", "cupy"), help="Ising sampler backend")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="torch device for the networks")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (sampling chunks become tasks)")
    p.add_argument("--workers", type=int, default=None, help="parallel worker processes (default: the preset's)")
    p.add_argument("--rows", default=None, help="comma-separated subset of the rows (default all)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--report-only", action="store_true",
                   help="re-render table1.md from an existing OUT/table1.json (acceptance recomputed from the "
                        "stored per-seed errors); no sampling or training")
    p.add_argument("--plan", action="store_true",
                   help="print the estimated time, memory and disk per model and stage (measured on a few probe "
                        "points and one training step) and exit; nothing is written")
    p.add_argument("--size", type=int, default=None,
                   help="override the preset's system size (Ising L, TASEP N) for every selected model")
    p.add_argument("--points", type=int, default=None,
                   help="override the grid points per axis (same box; the target bump stays 1.5 cells wide)")
    p.add_argument("--neural-steps", type=int, default=None, help="override the network's training steps")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    a = p.parse_args(argv)
    return a


class ArgumentError(ValueError):
    """An invalid command-line option (raised before any work starts)."""


def _validate(a: argparse.Namespace) -> tuple[list[str], list[str], int, int]:
    from validation.table1_config import get_preset
    from validation.table1_methods import ROWS

    preset = get_preset(a.preset)
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    bad = [m for m in models if m not in preset.models]
    if not models or bad:
        raise ArgumentError(f"--models must be a comma-separated subset of {tuple(preset.models)}, got {a.models!r}")
    rows = list(ROWS) if a.rows is None else [r.strip() for r in a.rows.split(",") if r.strip()]
    badr = [r for r in rows if r not in ROWS]
    if not rows or badr:
        raise ArgumentError(f"--rows must be a comma-separated subset of {ROWS}, got {a.rows!r}")
    seeds = preset.seeds if a.seeds is None else a.seeds
    if not isinstance(seeds, int) or seeds < 1:
        raise ArgumentError(f"--seeds must be an integer >= 1, got {seeds!r}")
    workers = preset.workers if a.workers is None else a.workers
    if workers < 1:
        raise ArgumentError(f"--workers must be >= 1, got {workers}")
    for name, value, low in (("--size", a.size, 2), ("--points", a.points, 3), ("--neural-steps", a.neural_steps, 1)):
        if value is not None and value < low:
            raise ArgumentError(f"{name} must be an integer >= {low}, got {value}")
    if a.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ArgumentError("--device cuda requested but torch sees no CUDA device")
    return models, rows, seeds, workers


def model_settings(a: argparse.Namespace, models: list[str]) -> dict:
    """The selected models' settings: the preset's, with ``--size``, ``--points`` and
    ``--neural-steps`` applied (the box stays; the target bump stays 1.5 cells wide).

    Parameters
    ----------
    a : argparse.Namespace
        Parsed and validated options.
    models : list of str
        The selected models.

    Returns
    -------
    dict of str to ModelSettings
    """
    from validation.table1_config import get_preset

    preset = get_preset(a.preset)
    out = {}
    for m in models:
        s = preset.models[m]
        change: dict = {}
        if a.size is not None:
            change["size"] = a.size
        if a.points is not None:
            change.update(axis0=(*s.axis0[:2], a.points), axis1=(*s.axis1[:2], a.points),
                          neural_sigma=s.neural_sigma * (s.axis0[2] - 1) / (a.points - 1))
        if a.neural_steps is not None:
            change["neural_steps"] = a.neural_steps
        out[m] = dataclasses.replace(s, **change)
    return out


def _plan(preset_name: str, settings: dict, seeds: int, workers: int, device: str) -> dict:
    """``--plan``: estimate every stage (validation.table1_plan), print the table, run nothing."""
    from statgeo.checks import memory_limit_bytes
    from validation.table1_plan import format_plan, plan_model

    models = list(settings)
    estimates = [e for m in models for e in plan_model(settings[m], seeds, workers, device=device)]
    budget = float(memory_limit_bytes())
    print(f"Plan for --preset {preset_name} ({', '.join(models)}; {seeds} seed(s), {workers} worker(s)):\n")
    print(format_plan(estimates, budget))
    return {"plan": [dataclasses.asdict(e) for e in estimates], "memory_budget": budget}


def _init_worker() -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")
    import torch

    torch.set_num_threads(1)
    try:
        import numba

        numba.set_num_threads(1)
    except Exception:  # pragma: no cover
        pass
    logging.basicConfig(level=logging.WARNING)


@functools.lru_cache(maxsize=1)
def _code_hash() -> str:
    """SHA-1 of the source of ``statgeo`` and ``validation``: cached rows are reused only by the same
    code. Read once per process, at first use (the code the process imported, even if the files
    change while it runs)."""
    import hashlib

    import statgeo

    h = hashlib.sha1()
    for pkg in (Path(statgeo.__file__).parent, Path(__file__).parent):
        for f in sorted(pkg.rglob("*.py")):
            h.update(str(f.relative_to(pkg.parent)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _rows_store(cache: Path, s: Any, seed: int, rows: tuple[str, ...], backend: str, device: str) -> Path:
    """Where the rows of one (model, seed) are cached: ``<cache>/<model>_rows_<hash>`` (the hash
    covers the settings, seed, rows, backend, device and the code)."""
    from validation.table1_data import cache_key

    key = cache_key(s, "rows", seed=seed, rows=list(rows), backend=backend, device=device,
                    settings=json.dumps(s.to_dict(), sort_keys=True), code=_code_hash())
    return Path(cache) / key


def _save_rows(path: Path, res: dict) -> None:
    """The rows' reconstructions (``.npz``) and their diagnostics and times (``.json``), the JSON last."""
    from validation.json_ready import json_ready

    arrays = {f"{row}/{q}": np.asarray(v) for row, rec in res["recon"].items() for q, v in rec.items()}
    np.savez(path.with_suffix(".npz"), **arrays)
    meta = {k: v for k, v in res.items() if k != "recon"}
    tmp = path.with_suffix(".json.partial")
    tmp.write_text(json.dumps(json_ready(meta), allow_nan=False))
    os.replace(tmp, path.with_suffix(".json"))  # the completion mark: written whole or not at all


def _load_rows(path: Path) -> dict | None:
    """The cached rows of :func:`_save_rows`, or None when the run did not finish them."""
    if not (path.with_suffix(".json").exists() and path.with_suffix(".npz").exists()):
        return None
    res = json.loads(path.with_suffix(".json").read_text())
    res["recon"] = {}
    with np.load(path.with_suffix(".npz")) as z:
        for key in z.files:
            row, q = key.split("/", 1)
            res["recon"].setdefault(row, {})[q] = z[key]
    return res


def _streamed_features(s: Any, grid: Any, seed: int, cache: Path, backend: str, rows: tuple[str, ...]) -> tuple:
    """One seed's samples without the lattices, the plus-pattern frequencies and the statistic
    baselines' statistics (fitted on a uniform subset of at most ``s.baseline_fit_values``
    configuration values), read from the store a block of grid rows at a time; and the seconds
    spent fitting the statistics."""
    from statgeo.geometry import plus_pattern_frequencies
    from validation.table1_data import build_model, sample_features, sample_subset
    from validation.table1_methods import BASELINE_STATISTICS, baseline_statistics, row_seeds

    fitted, t0 = {}, time.perf_counter()
    if set(rows) & set(BASELINE_STATISTICS):
        n_fit = max(1, s.baseline_fit_values // build_model(s).n_sites)
        x_fit = sample_subset(s, seed, cache, max_samples=n_fit, subset_seed=row_seeds(seed)[7], grid=grid,
                              backend=backend)
        fitted = baseline_statistics(s, x_fit, seed, rows)
        del x_fit
    t_fit = time.perf_counter() - t0
    ds, out = sample_features(s, seed, cache, grid=grid, backend=backend,
                              features={"frequencies": plus_pattern_frequencies, **fitted})
    freq = out.pop("frequencies")
    return ds, freq, {name: (v, fitted[name].config) for name, v in out.items()}, t_fit


def _task(settings: dict, grid: Any, seed: int, cache: str, backend: str, device: str, rows: tuple[str, ...]
          ) -> dict:
    """One (model, seed): samples (cache or fresh) + the rows, cached once finished (an interrupted
    run keeps every finished (model, seed)). Runs in a worker process."""
    from validation.table1_config import ModelSettings
    from validation.table1_data import get_reference, get_samples, sampling_summary
    from validation.table1_methods import LATTICE_ROWS, run_rows

    s = ModelSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})
    store = _rows_store(Path(cache), s, seed, rows, backend, device)
    done = _load_rows(store)
    if done is not None:
        logging.getLogger(__name__).info("rows: reusing %s", store)
        return done
    t0 = time.perf_counter()
    freq = stats = None
    t_fit = 0.0
    if s.neural_encoder == "patches" and not set(rows) & set(LATTICE_ROWS):
        # the network reads only the plus-pattern frequencies, the oracle only the statistics and
        # the statistic baselines their per-sample statistics: the lattices are read a block of
        # grid rows at a time, never all in memory
        ds, freq, stats, t_fit = _streamed_features(s, grid, seed, Path(cache), backend, rows)
    else:
        ds = get_samples(s, seed, Path(cache), grid=grid, backend=backend)
    t_samp = time.perf_counter() - t0 - t_fit
    ref = get_reference(s, Path(cache), grid=grid)
    res = run_rows(s, grid, ds, ref, seed, rows=rows, device=device, frequencies=freq, statistics=stats)
    res["times"]["sampling"] = t_samp
    if stats:
        res["times"]["baseline_statistics"] = t_fit
    res["sampling"] = sampling_summary(ds)
    res["model"], res["seed"] = s.model, seed
    _save_rows(store, res)
    return res


def run(argv: Sequence[str] | None = None) -> dict:
    """Run Table 1 and write the artefacts to ``--out``.

    Stages: references, samples (Dask tasks with ``--scheduler``), the rows per (model, seed)
    in worker processes, then errors, acceptance checks, boundary detection, maps and figures
    (module docstring). With ``--report-only`` nothing is computed: ``table1.md`` is
    re-rendered from an existing ``table1.json``.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (:func:`parse_args`).

    Returns
    -------
    dict
        The results also written to ``table1.json``: ``preset``, ``models`` (per model the
        settings, grid, reference labels, per-seed and aggregated errors, acceptance checks,
        boundaries, diagnostics, wall times), ``times``, ``settings``, ``versions``,
        ``machine``, ``figures``, and ``table`` (the Markdown summary).

    Raises
    ------
    ArgumentError
        An invalid option (raised before any work starts).
    """
    a = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("numba", "matplotlib", "h5py", "distributed", "fsspec", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    models, rows, seeds, workers = _validate(a)
    if a.report_only:
        return _rerender(Path(a.out))
    if a.plan:
        return _plan(a.preset, model_settings(a, models), seeds, workers, a.device)

    from statgeo.progress import progress_bar
    from statgeo.provenance import versions
    from validation.table1_config import get_preset
    from validation.table1_data import build_grid, build_model, get_reference, get_samples, kaufman_line_check
    from validation.table1_report import (acceptance, aggregate, detect_boundaries, fobs_hessian_floor,
                                          format_tables, make_figures, seed_errors, write_artefacts)

    preset = get_preset(a.preset)
    out = Path(a.out)
    cache = Path(a.cache) if a.cache else out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    t_all = time.perf_counter()
    settings = model_settings(a, models)
    model_objs = {m: build_model(settings[m]) for m in models}
    grids = {m: build_grid(settings[m], model_objs[m]) for m in models}

    # ---- stage 1: references
    t0 = time.perf_counter()
    refs = {}
    # in chunks of grid rows, each cached (resumable); in parallel worker processes when asked
    pool = (cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_init_worker)
            if workers > 1 else None)
    try:
        for m in progress_bar(models, desc="references"):
            refs[m] = get_reference(settings[m], cache, grid=grids[m], executor=pool, progress=None)
    finally:
        if pool is not None:
            pool.shutdown()
    # a Monte Carlo reference checked where the exact answer is known (Ising: Kaufman's eta = 0 line)
    ref_checks = {m: kaufman_line_check(settings[m], grid=grids[m]) for m in models}
    times["references"] = time.perf_counter() - t0

    # ---- stage 2 (Dask only): samples as chunked tasks on the cluster
    if a.scheduler:
        from dask.distributed import Client

        t0 = time.perf_counter()
        with Client(a.scheduler) as client:
            for m in models:
                for sd in progress_bar(range(seeds), desc=f"sampling {m} (dask)"):
                    get_samples(settings[m], sd, cache, grid=grids[m], backend=a.backend, client=client,
                                progress=True)
        times["sampling_dask"] = time.perf_counter() - t0

    # ---- stage 3: rows per (model, seed) in worker processes
    t0 = time.perf_counter()
    jobs = [(m, sd) for m in models for sd in range(seeds)]
    results: dict[tuple[str, int], dict] = {}
    args = lambda m, sd: (dataclasses.asdict(settings[m]), grids[m], sd, str(cache), a.backend, a.device,  # noqa
                          tuple(rows))
    if workers == 1:
        _init_worker_threads_only()
        for m, sd in progress_bar(jobs, desc="rows (model, seed)", leave=True):
            results[(m, sd)] = _task(*args(m, sd))
    else:
        ctx = mp.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx,
                                    initializer=_init_worker) as ex:
            futs = {ex.submit(_task, *args(m, sd)): (m, sd) for m, sd in jobs}
            for f in progress_bar(cf.as_completed(futs), total=len(futs), desc="rows (model, seed)", leave=True):
                results[futs[f]] = f.result()
    times["rows_wall"] = time.perf_counter() - t0
    for k in sorted({k for r in results.values() for k in r["times"]}):
        times[f"sum:{k}"] = float(sum(r["times"].get(k, 0.0) for r in results.values()))

    # ---- stage 4: errors, acceptance, boundaries, maps
    t0 = time.perf_counter()
    import xarray as xr

    from validation.error_measures import edge_mask, fit_alignment

    out_models: dict[str, Any] = {}
    maps: dict[str, xr.Dataset] = {}
    figs = []
    for m in models:
        s = settings[m]
        model, grid = model_objs[m], grids[m]
        ref = refs[m]
        recs = []
        for sd in range(seeds):
            recs += [dict(r, seed=sd) for r in seed_errors(s, model, grid, ref, results[(m, sd)]["recon"])]
        agg = aggregate(recs)
        first = results[(m, 0)]
        bounds = {}
        # the exact metric through the same detector puts the finite-size crossover in scale
        metrics = {r: first["recon"][r]["metric"] for r in ("ours_neural", "oracle") if r in first["recon"]}
        metrics["reference"] = ref["metric"].values
        for r, g in metrics.items():
            try:
                bounds[r] = detect_boundaries(model, grid, g)
            except Exception as exc:  # report, never hide
                log.warning("boundary detection failed for %s/%s: %s", m, r, exc)
                bounds[r] = {"n_curves": 0, "error": str(exc), "curves": [], "axes": []}
        # maps: reference, seed-0 reconstructions (affine-aligned) and errors
        t = grid.natural_points().reshape(grid.shape + (2,))
        mask = edge_mask(grid.shape, s.margin)
        dims = grid.names
        mv = {"reference_log_z": (dims, ref["log_z"].values),
              "reference_grad_log_z": (dims + ("natural",), ref["grad_log_z"].values),
              "reference_metric": (dims + ("natural", "natural_"), ref["metric"].values)}
        if "observable_fisher" in ref:
            mv["reference_observable_fisher"] = (dims + ("natural", "natural_"), ref["observable_fisher"].values)
        for r, rc in first["recon"].items():
            al = fit_alignment(ref["log_z"].values, rc["log_z"], t, mask=mask)
            mv[f"{r}_log_z"] = (dims, rc["log_z"])
            mv[f"{r}_log_z_aligned"] = (dims, al.apply(rc["log_z"], t))
            mv[f"{r}_grad_log_z_aligned"] = (dims + ("natural",), al.apply_gradient(rc["grad_log_z"]))
            mv[f"{r}_metric_aligned"] = (dims + ("natural", "natural_"), rc["metric"])
            mv[f"{r}_error_log_z"] = (dims, al.apply(rc["log_z"], t) - ref["log_z"].values)
            mv[f"{r}_error_grad_log_z"] = (dims + ("natural",),
                                           al.apply_gradient(rc["grad_log_z"]) - ref["grad_log_z"].values)
            mv[f"{r}_error_metric"] = (dims + ("natural", "natural_"), rc["metric"] - ref["metric"].values)
        coords = dict(grid.coords())
        coords.update(grid.natural_coords())
        coords["natural"] = ("natural", list(grid.natural_names))
        coords["natural_"] = ("natural_", list(grid.natural_names))
        mds = xr.Dataset(mv, coords=coords,
                         attrs={"model": m, "reference": ref.attrs["label"], "seed": 0, "margin": s.margin,
                                "note": "reconstructions of seed 0; F and gradients affine-aligned to the reference; "
                                        "metrics as fitted (affine alignment leaves them unchanged)"})
        mds["edge_mask"] = (dims, mask.astype(np.int8))
        maps[m] = mds
        excluded = next((r["excluded"] for r in recs), "none")
        pc1 = min((results[(m, sd)]["diag"].get("pca_vae", {}).get("pc1_corr_with_mean", 0.0)
                   for sd in range(seeds)), default=None)
        out_models[m] = {
            "settings": s.to_dict(), "grid": repr(grid), "n_seeds": seeds,
            "reference_label": ref.attrs["label"], "metric_label": ref.attrs["metric_label"],
            "fobs_label": ref.attrs.get("fobs_label", ""), "excluded": excluded,
            "aggregate": agg, "per_seed": recs,
            "pc1_corr_with_mean_min": pc1,
            "acceptance": acceptance(model, agg, pc1),
            "boundaries": {k: {kk: vv for kk, vv in v.items() if kk not in ("score",)} for k, v in bounds.items()},
            "diagnostics": first["diag"],
            "times_per_seed": {sd: results[(m, sd)]["times"] for sd in range(seeds)},
            "sampling_per_seed": {sd: results[(m, sd)].get("sampling", {}) for sd in range(seeds)},
            "reference_check": ref_checks[m],
        }
        if "observable_fisher" in ref:
            out_models[m]["fobs_hessian_floor"] = fobs_hessian_floor(grid, ref["observable_fisher"].values, s.margin)
        if not a.no_figures:
            figs += make_figures(out, model, grid, mds, bounds)
    times["errors_and_figures"] = time.perf_counter() - t0
    times["total"] = time.perf_counter() - t_all
    results_all = {
        "preset": preset.to_dict(), "models": out_models, "times": times,
        "settings": {"argv": list(sys.argv[1:] if argv is None else argv), "seeds": seeds, "workers": workers,
                     "backend": a.backend, "device": a.device, "scheduler": a.scheduler, "rows": rows,
                     "cache": str(cache), "out": str(out)},
        "versions": versions(),
        "machine": {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())},
        "figures": [str(p) for p in figs],
    }
    write_artefacts(out, results_all, maps)
    results_all["table"] = format_tables(results_all)
    return results_all


def _rerender(out: Path) -> dict:
    """Re-render table1.md from OUT/table1.json (aggregates re-derived from the per-seed records)."""
    from statgeo.models import make_model
    from validation.table1_report import acceptance, aggregate, format_tables

    js = out / "table1.json"
    if not js.is_file():
        raise ArgumentError(f"--report-only needs an existing {js}")
    res = json.loads(js.read_text())
    for m, r in res["models"].items():
        r["aggregate"] = aggregate(r["per_seed"])
        pc1 = r.get("pc1_corr_with_mean_min", r["diagnostics"].get("pca_vae", {}).get("pc1_corr_with_mean"))
        r["acceptance"] = acceptance(make_model(r["settings"]["model"], r["settings"]["size"]), r["aggregate"], pc1)
    js.write_text(json.dumps(res, indent=1))
    (out / "table1.md").write_text("# Table 1 (statgeo reproduction)\n\n" + format_tables(res) + "\n")
    res["table"] = format_tables(res)
    return res


def _init_worker_threads_only() -> None:
    import torch

    torch.set_num_threads(1)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: run, print the summary table, return the exit status.

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
    if "plan" in res:  # --plan printed its table and ran nothing
        return 0
    print(res["table"])
    print(f"\nartefacts in {res['settings']['out']}; total wall time {res['times']['total']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
