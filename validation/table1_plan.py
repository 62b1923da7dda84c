"""What a Table 1 run will cost, per model and stage, before it runs (``--plan``).

Each estimate is measured on this machine where that is cheap, and says how:

* **samples** (per seed): the model's sampler runs at a 3 × 3 sub-grid of probe points
  (first, middle and last value of each axis; burn-in and thinning as in the run) with the
  preset's samples per point, after a one-point warm-up call; the mean seconds per point ×
  grid points × seeds, divided by the parallel jobs. The sampler runs all points of a chunk
  together, so on small lattices, where per-call work dominates, this overestimates (quick
  preset, Ising: 0.0013 s per point from the probe, 0.0006 s per point over the whole grid).
  Memory: one chunk of configurations as int8 (whole grid rows, at most 1024 points). Disk:
  bit-packed (one bit per site), before the store's compression.
* **reference**: the model's reference on the same probe sub-grid, scaled to the grid and
  divided among the workers (it runs in chunks of grid rows). The Monte Carlo Ising reference
  integrates ⟨M⟩ from η = 0 and runs one chain per quadrature node at every K (the grid's η
  values, η = 0 and 8 equal steps to each end, shared nodes counted once), so it scales with
  the number of chains, not of points: the 3 × 3 probe has 18 nodes per K, the paper's grid
  143.
* **neural training** (per seed): :meth:`statgeo.geometry.NeuralGridPosterior.time_training_step`
  for the preset's network and batch, × the preset's steps. Memory: what the network reads of
  all samples: the 32 plus-pattern frequencies per sample (float32) for ``encoder="patches"``,
  else a float32 copy of the configurations.
* **oracle posterior** (per seed): the model's exact-likelihood posterior of the probe
  sub-grid's samples against its cells, timed for all its origins and for one (best of 3);
  the difference gives the seconds per (origin, cell) pair, the one-origin call an upper
  bound on the work per cell; scaled to the run's origins × C cells. The run makes posterior rows only at
  the centred sub-lattice of at most ``max_posterior_origins`` origins
  (:meth:`statgeo.grid.ParameterGrid.sublattice`), every cell kept in each row.
* **baseline statistics** (per seed): PCA-VAE's PCA and VAE, fitted on the pooled samples or
  a uniform subset of at most ``baseline_fit_values`` spin values, then applied to every
  sample: the PCA fit timed on 512 random ±1 samples and scaled linearly to the subset, four
  VAE steps timed (× ``vae_steps``), both statistics applied to the 512 samples (× every
  sample). Memory: the subset as int8 plus the VAE's float32 copy.
* **posterior rows and fit** (per seed): the posterior rows the fit reads (one row of C
  cells per bundle at each of those origins: ``bundles_per_origin`` bundles for the network,
  samples per point ÷ n for the oracle, whichever is more; float64 plus the float32 copy the
  optimiser holds). Not timed (measured at 128 × 128 cells with rows for 1024 origins × 8
  bundles: 340 s on one core, docs/geometry_fitting.md).

Memory figures are the largest arrays of a stage, not the process's peak; the run adds the
interpreter, PyTorch and the other rows (about 1–2 GiB at the quick preset).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from statgeo.checks import format_bytes
from statgeo.grid import ParameterGrid
from validation.table1_config import ModelSettings
from validation.table1_data import _reference, build_grid, build_model, chunk_rows

__all__ = ["StageEstimate", "plan_model", "format_plan"]

@dataclass(frozen=True)
class StageEstimate:
    """Estimated cost of one stage of one model (all seeds).

    Parameters
    ----------
    model : str
        The model's name.
    stage : str
        The stage's name.
    seconds : float
        Wall seconds on this machine with the run's parallel jobs; NaN where not timed.
    memory_bytes : float
        The stage's largest arrays in memory.
    disk_bytes : float
        What the stage writes to the cache.
    basis : str
        How the figures were obtained.
    """

    model: str
    stage: str
    seconds: float
    memory_bytes: float
    disk_bytes: float
    basis: str


def _probe_grid(grid: ParameterGrid) -> ParameterGrid:
    """The 3 × 3 sub-grid of first, middle and last axis values."""
    return grid.isel(**{a.name: sorted({0, (a.size - 1) // 2, a.size - 1}) for a in grid.axes})


def _timed(fn) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def plan_model(s: ModelSettings, seeds: int, workers: int, *, device: str = "cpu") -> list[StageEstimate]:
    """Estimate the stages of one model's part of a run (module docstring).

    Parameters
    ----------
    s : ModelSettings
        The model's settings.
    seeds : int
        Independent runs.
    workers : int
        Parallel worker processes (seeds run in parallel up to this many).
    device : str, default "cpu"
        The torch device of the networks (a training step is timed there).

    Returns
    -------
    list of StageEstimate
    """
    import torch

    from statgeo.geometry import NeuralGridPosterior

    model = build_model(s)
    grid = build_grid(s, model)
    probe = _probe_grid(grid)
    C, S, N = grid.size, s.n_samples, model.n_sites
    jobs = max(1, min(workers, seeds))
    out = []
    # ---- samples (a one-point warm-up call first: compiled kernels load from disk once per process)
    first = grid.isel(**{a.name: [0] for a in grid.axes})
    model.sample(first, 1, seed=0, progress=False)
    t, ds = _timed(lambda: model.sample(probe, S, seed=np.random.SeedSequence([0, 0]), progress=False))
    per_point = t / probe.size
    # a chunk of whole grid rows (at most 1024 points) is held at a time, int8, one byte per site
    in_memory = chunk_rows(grid) * (C // grid.shape[0]) * S * N
    packed = C * S * ((N + 7) // 8)  # one bit per site, as stored
    out.append(StageEstimate(
        model.name, "samples", per_point * C * seeds / jobs, in_memory, packed * seeds,
        f"{t:.2f} s for {probe.size} probe points x {S} samples; disk: bit-packed, before compression"))
    # ---- reference (the Monte Carlo Ising reference runs one chain per quadrature node: every grid
    # eta and the equal steps from 0, at every K), in chunks of grid rows run by the workers
    _reference(s, model, first, seed=12345)
    t, ref = _timed(lambda: _reference(s, model, probe, seed=12345))
    if s.reference == "mc_anchored":
        from statgeo.models.ising_reference import quadrature_nodes

        units, probe_units = (g.shape[0] * quadrature_nodes(g.axes[1].values, 8).size for g in (grid, probe))
        what = "Monte Carlo chains"
    else:
        units, probe_units, what = C, probe.size, "points"
    out.append(StageEstimate(model.name, "reference", t / probe_units * units / workers, np.nan, np.nan,
                             f"{t:.1f} s for the {probe_units} {what} of the probe sub-grid, x {units} {what}"))
    # ---- neural training (the plus-pattern encoder reads the int8 lattices, the others a float32 copy)
    # patches: the 32 plus-pattern frequencies (float32) read block by block from the store; else the
    # lattices as a float32 copy
    held = C * S * 32 * 4.0 if s.neural_encoder == "patches" else C * S * N * 4.0
    ng = NeuralGridPosterior(grid, s.bundle, kind=model.configuration_kind, channels=s.neural_channels,
                             hidden=s.neural_hidden, head=s.neural_head, encoder=s.neural_encoder)
    config = model.configurations(ds)
    shape = tuple(int(v) for v in config.shape[config.dims.index("sample") + 1:])
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, threads // jobs))
    try:
        step = ng.time_training_step(shape, batch_size=s.neural_batch)
    finally:
        torch.set_num_threads(threads)
    out.append(StageEstimate(
        model.name, "neural training", step * s.neural_steps * seeds / jobs, held, 0.0,
        f"{step:.3f} s/step x {s.neural_steps} steps ({max(1, threads // jobs)} threads, {device})"))
    # ---- the oracle's exact-likelihood posterior (origins on the sub-lattice, every cell)
    O = min(C, s.max_posterior_origins)
    kw = {"log_z": ref["log_z"].values * N} if "log_z" in ref and s.model == "ising" else {}
    def oracle(origins: Any) -> float:  # best of 3: the probe's calls take milliseconds
        return min(_timed(lambda: model.exact_posterior(ds, probe, s.bundle, seed=0, average=False,
                                                        origins=origins, **kw))[0] for _ in range(3))

    t_all, t_one = oracle(None), oracle([0])
    pair = max(t_all - t_one, 0.0) / ((probe.size - 1) * probe.size)
    per_cell = t_one / probe.size
    out.append(StageEstimate(model.name, "oracle posterior", (pair * O + per_cell) * C * seeds / jobs,
                             O * (S // s.bundle) * C * 8.0, 0.0,
                             f"{pair:.2e} s per (origin, cell) pair + {per_cell:.2e} s per cell (probe points, "
                             f"all origins vs one) x {O} origins x {C} cells"))
    # ---- the statistic baselines' PCA and VAE: fitted on a subset, applied to every sample
    out.append(_baseline_statistics_estimate(s, model.name, C * S, N, seeds, jobs))
    # ---- posterior rows and the fit
    rows = O * max(s.bundles_per_origin, S // s.bundle)
    out.append(StageEstimate(model.name, "posterior rows + fit", np.nan, rows * C * 12.0, 0.0,
                             f"{rows} rows ({O} origins) x {C} cells, float64 + float32; not timed"))
    return out


def _baseline_statistics_estimate(s: ModelSettings, name: str, pooled: int, D: int, seeds: int, jobs: int
                                  ) -> StageEstimate:
    """PCA-VAE's statistics: the PCA fitted on a probe of random ±1 samples (scaled linearly to
    the fit subset), a few VAE steps timed (× the preset's steps), both applied to a probe
    batch (× every sample)."""
    from validation.baselines import fit_pca, fit_vae

    n_fit = min(pooled, max(1, s.baseline_fit_values // D))
    m = min(n_fit, 512)
    x = np.where(np.random.default_rng(0).random((m, D)) < 0.5, -1, 1).astype(np.int8)
    t_pca, pca = _timed(lambda: fit_pca(x, k=2))
    fit_vae(x, steps=1, progress=False)  # warm-up
    t_vae, vae = _timed(lambda: fit_vae(x, steps=4, progress=False))
    t_apply = _timed(lambda: (pca(x), vae(x)))[0]
    seconds = (t_pca * n_fit / m + t_vae / 4 * s.vae_steps + t_apply * pooled / m) * seeds / jobs
    return StageEstimate(name, "baseline statistics (PCA-VAE)", seconds, n_fit * D * 5.0, 0.0,
                         f"fit on {n_fit} samples (PCA {t_pca * n_fit / m:.1f} s, VAE {t_vae / 4:.3f} s/step x "
                         f"{s.vae_steps}), applied to {pooled} samples ({t_apply / m * 1e3:.3f} ms per sample); "
                         "int8 subset + float32 copy")


def _bytes(b: float) -> str:
    return format_bytes(b) if np.isfinite(b) else "—"


def _seconds(t: float) -> str:
    if not np.isfinite(t):
        return "—"
    if t >= 3600:
        return f"{t / 3600:.1f} h"
    if t >= 60:
        return f"{t / 60:.1f} min"
    return f"{t:.1f} s"


def format_plan(estimates: list[StageEstimate], memory_limit: float) -> str:
    """The estimates as a Markdown table, with the stages over ``memory_limit`` flagged.

    Parameters
    ----------
    estimates : list of StageEstimate
        From :func:`plan_model`.
    memory_limit : float
        Bytes a stage may hold (the machine's memory or a chosen budget).

    Returns
    -------
    str
    """
    lines = ["| model | stage | time | memory | disk | basis |", "|---|---|---|---|---|---|"]
    over = []
    for e in estimates:
        flag = " **over budget**" if e.memory_bytes > memory_limit else ""
        if flag:
            over.append(f"{e.model} {e.stage}")
        lines.append(f"| {e.model} | {e.stage} | {_seconds(e.seconds)} | {_bytes(e.memory_bytes)}{flag} | "
                     f"{_bytes(e.disk_bytes)} | {e.basis} |")
    total = sum(e.seconds for e in estimates if np.isfinite(e.seconds))
    lines.append("")
    lines.append(f"Timed stages: {_seconds(total)} in all. Memory budget {_bytes(memory_limit)}: "
                 + (f"over it: {', '.join(over)}." if over else "every stage fits."))
    return "\n".join(lines)
