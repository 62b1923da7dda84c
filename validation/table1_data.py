"""Data for Table 1: grids, samples through the physics samplers (zarr cache, Dask), references.

* Grids are regular in the natural coordinates (Ising (K, η) with the identity map; TASEP
  θ = (−ln α, −ln β), laid out in (α, β) = e^{−θ} with :func:`tasep_rates_map`, so the TASEP
  sampler and exact references see their physical rates).
* Samples: drawn per chunk of grid rows (axis 0). In-process by default (one chunk); on a Dask
  cluster (``scheduler`` address) every chunk is a task. Each finished chunk is written to its
  own zarr store under the cache directory, and a completion marker file is written *last*, so
  an interrupted run resumes without redoing finished chunks and nothing half-written looks
  complete.
* References: exact where they exist (Ising L ≤ 12: transfer matrix at any field; TASEP:
  closed-form ln Z_N and F_obs by enumeration for N ≤ 14), else the Monte Carlo reference
  anchored to Kaufman's h = 0 line (Ising) or F_obs from exact samples (TASEP); cached too.
  Everything is per site: F = ln Z / N and its derivatives.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from statgeo.grid import Axis, ParameterGrid
from statgeo.models.coordinates import tasep_rates_map
from validation.table1_config import ModelSettings

__all__ = ["build_grid", "PhysicalView", "physical_view", "n_sites", "get_samples", "get_reference",
           "cache_key", "sample_array"]

log = logging.getLogger(__name__)

MARKER = ".complete"


# ----------------------------------------------------------------------------- grids
def build_grid(s: ModelSettings) -> ParameterGrid:
    """The model's parameter grid, regular in natural coordinates (module docstring)."""
    if s.model == "ising":
        return ParameterGrid.from_ranges(
            K=s.axis0, eta=s.axis1,
            attrs={"K": {"long_name": "coupling K = J/T", "units": "1"},
                   "eta": {"long_name": "reduced field η = H/T", "units": "1"}})
    if s.model == "tasep":
        th_a = np.linspace(*s.axis0[:2], s.axis0[2])
        th_b = np.linspace(*s.axis1[:2], s.axis1[2])
        a = np.sort(np.exp(-th_a))
        b = np.sort(np.exp(-th_b))
        return ParameterGrid([Axis("alpha", a, "entry rate α", "1"), Axis("beta", b, "exit rate β", "1")],
                             tasep_rates_map())
    raise ValueError(f"model must be 'ising' or 'tasep', got {s.model!r}")


def n_sites(s: ModelSettings) -> int:
    """Number of sites N (L² for the Ising torus, N for the TASEP)."""
    return s.size * s.size if s.model == "ising" else s.size


class PhysicalView(ParameterGrid):
    """The Ising (K, η) grid seen from the paper's physical coordinates (T, H) (J = 1).

    Same cells and natural points; ``names`` are ("T", "H") and ``jacobian()`` is
    ∂(K, η)/∂(T, H) = [[−K², 0], [−ηK, K]] at every cell (T = 1/K, H = η/K), so that
    :func:`validation.errors.reconstruction_errors` reports ∂F/∂T, ∂F/∂H and g in (T, H) by the
    chain rule. Only for error measures (the axes are not regular in T, H).
    """

    def __init__(self, grid: ParameterGrid) -> None:
        super().__init__(grid.axes, grid.coordinate_map)

    @property
    def names(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("T", "H")

    def jacobian(self, p: np.ndarray | None = None) -> np.ndarray:
        t = self.natural_points() if p is None else np.asarray(p, dtype=np.float64)
        K, eta = t[..., 0], t[..., 1]
        J = np.zeros(t.shape[:-1] + (2, 2))
        J[..., 0, 0] = -K ** 2
        J[..., 1, 0] = -eta * K
        J[..., 1, 1] = K
        return J


def physical_view(s: ModelSettings, grid: ParameterGrid) -> ParameterGrid:
    """Grid used for the error measures in the paper's physical coordinates."""
    return PhysicalView(grid) if s.model == "ising" else grid


# ----------------------------------------------------------------------------- cache
def cache_key(s: ModelSettings, what: str, **extra: Any) -> str:
    """A short hash of everything that determines the cached data."""
    payload = {"model": s.model, "size": s.size, "axis0": s.axis0, "axis1": s.axis1, "what": what, **extra}
    if what == "samples":
        payload["n_samples"] = s.n_samples
    else:
        payload.update(reference=s.reference, reference_samples=s.reference_samples, fisher=s.fisher)
    h = hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{s.model}_{what}_{h}"


def _marker(path: Path) -> Path:
    return path.with_name(path.name + MARKER)


def _complete(path: Path) -> bool:
    return _marker(path).exists() and path.exists()


def _write_store(ds: xr.Dataset, path: Path) -> None:
    """Write ``ds`` to a zarr store at ``path``, the completion marker last."""
    _marker(path).unlink(missing_ok=True)
    if path.exists():
        shutil.rmtree(path)
    ds.to_zarr(path, mode="w", consolidated=False)
    _marker(path).write_text("complete\n")


def _open_store(path: Path) -> xr.Dataset:
    return xr.open_zarr(path, consolidated=False).load()


# ----------------------------------------------------------------------------- sampling
def _sample_chunk(s: ModelSettings, rows: tuple[int, int], seed_entropy: list[int], backend: str,
                  grid: ParameterGrid | None = None) -> xr.Dataset:
    """Samples on grid rows [rows[0], rows[1]) (axis 0), normalised to ``x`` (+ ``stat``)."""
    grid = build_grid(s) if grid is None else grid
    a0, a1 = grid.axes
    sub = ParameterGrid([Axis(a0.name, a0.values[rows[0]:rows[1]], a0.long_name, a0.units), a1],
                        grid.coordinate_map)
    ss = np.random.SeedSequence(seed_entropy)
    if s.model == "ising":
        from statgeo.models.ising import IsingModel

        ds = IsingModel(s.size).sample(sub, s.n_samples, seed=ss, backend=backend, progress=False)
        st = np.stack([ds["B"].values, ds["M"].values], axis=-1).astype(np.float64)
        out = xr.Dataset({"x": (sub.names + ("sample", "y", "x_"), ds["spins"].values),
                          "stat": (sub.names + ("sample", "statistic"), st),
                          "tau_int_B": (sub.names, ds["tau_int_B"].values)},
                         coords=sub.coords())
        out["stat"].attrs["statistic"] = "B, M (bond sum, magnetisation)"
    else:
        from statgeo.models.tasep import TasepModel

        if backend == "cupy":
            log.info("the TASEP exact sampler runs on Numba; backend='cupy' is used for the Ising model only")
        ds = TasepModel(s.size).sample(sub, s.n_samples, seed=ss, method="exact")
        out = xr.Dataset({"x": (sub.names + ("sample", "site"), ds["occupation"].values)}, coords=sub.coords())
    return out


def _chunks(n_rows: int, rows_per_chunk: int) -> list[tuple[int, int]]:
    return [(i, min(i + rows_per_chunk, n_rows)) for i in range(0, n_rows, rows_per_chunk)]


def get_samples(s: ModelSettings, seed: int, cache: Path, *, backend: str = "auto", client: Any = None,
                rows_per_chunk: int | None = None, progress: bool = False) -> xr.Dataset:
    """Samples of one seed over the whole grid, from the zarr cache or freshly drawn.

    Parameters
    ----------
    s : model settings. seed : the run's seed (chunk c uses SeedSequence([seed, c])).
    cache : directory of the zarr stores. backend : Ising sampler backend.
    client : a ``dask.distributed.Client`` (chunks become tasks) or None (in-process).
    rows_per_chunk : grid rows per chunk (default: all rows in-process, 4 rows with Dask).
    """
    grid = build_grid(s)
    n_rows = grid.shape[0]
    rpc = rows_per_chunk or (n_rows if client is None else min(4, n_rows))
    key = cache_key(s, "samples", seed=seed, rows_per_chunk=rpc)
    root = Path(cache) / key
    final = root / "all.zarr"
    if _complete(final):
        log.info("samples: reusing %s", final)
        return _open_store(final)
    root.mkdir(parents=True, exist_ok=True)
    chunks = _chunks(n_rows, rpc)
    todo = [(c, r) for c, r in enumerate(chunks) if not _complete(root / f"chunk{c:04d}.zarr")]
    from tqdm.auto import tqdm

    bar = tqdm(total=len(chunks), initial=len(chunks) - len(todo), desc=f"sampling {s.model} seed {seed}",
               leave=False, disable=not progress)
    if client is None:
        for c, r in todo:
            _write_store(_sample_chunk(s, r, [seed, c], backend, grid), root / f"chunk{c:04d}.zarr")
            bar.update(1)
    else:
        from dask.distributed import as_completed

        futs = {client.submit(_sample_chunk, s, r, [seed, c], backend, pure=False): c for c, r in todo}
        for fut in as_completed(futs):
            c = futs[fut]
            _write_store(fut.result(), root / f"chunk{c:04d}.zarr")
            bar.update(1)
    bar.close()
    parts = [_open_store(root / f"chunk{c:04d}.zarr") for c in range(len(chunks))]
    ds = xr.concat(parts, dim=grid.names[0]) if len(parts) > 1 else parts[0]
    ds.attrs.update({"model": s.model, "seed": int(seed), "rows_per_chunk": int(rpc),
                     "settings": json.dumps(s.to_dict())})
    _write_store(ds, final)
    for c in range(len(chunks)):
        shutil.rmtree(root / f"chunk{c:04d}.zarr", ignore_errors=True)
        _marker(root / f"chunk{c:04d}.zarr").unlink(missing_ok=True)
    return ds


def sample_array(ds: xr.Dataset, grid: ParameterGrid) -> np.ndarray:
    """Samples as float32 (grid.size, S, *sample_shape) in flat C order of the grid."""
    x = ds["x"].transpose(*grid.names, "sample", ...).values
    return x.reshape((grid.size,) + x.shape[grid.ndim:]).astype(np.float32)


# ----------------------------------------------------------------------------- references
def _reference(s: ModelSettings, grid: ParameterGrid, seed: int) -> xr.Dataset:
    N = n_sites(s)
    dims = grid.names
    if s.model == "ising":
        if s.reference == "exact":
            from statgeo.models.exact.ising import ising_exact

            ref = ising_exact(grid, s.size)
            label = f"exact ({ref.attrs['method']}, L={s.size})"
            err = None
        else:
            from statgeo.models.ising_reference import ising_mc_reference

            ref = ising_mc_reference(grid, s.size, s.reference_samples, seed=seed, progress=False)
            label = f"Monte Carlo anchored to Kaufman's exact h=0 line (L={s.size})"
            err = ref
        out = xr.Dataset({
            "log_z": (dims, ref["log_z"].values / N),
            "grad_log_z": (dims + ("natural",), ref["grad_log_z"].values / N),
            "metric": (dims + ("natural", "natural_"), ref["metric"].values / N),
        }, coords=grid.coords())
        if err is not None:
            for v in ("log_z", "grad_log_z", "metric"):
                out[v + "_error"] = (out[v].dims, err[v + "_error"].values / N)
        out.attrs["label"] = label
        out.attrs["metric_label"] = "Cov(B, M)/N"
        return out
    from statgeo.models.exact.tasep import tasep_exact

    ref = tasep_exact(grid, s.size, fisher=s.fisher, n_fisher_samples=s.reference_samples or 4096, seed=seed,
                      density=False)
    out = xr.Dataset({
        "log_z": (dims, ref["log_z"].values / N),
        "grad_log_z": (dims + ("natural",), ref["grad_log_z"].values / N),
        "metric": (dims + ("natural", "natural_"), ref["hessian_log_z"].values / N),
        "observable_fisher": (dims + ("natural", "natural_"), ref["observable_fisher"].values / N),
        "observable_fisher_error": (dims + ("natural", "natural_"), ref["observable_fisher_error"].values / N),
        "current": (dims, ref["current"].values),
    }, coords=grid.coords())
    fmethod = json.loads(ref.attrs["config"])["fisher"]["method"]
    out.attrs["label"] = f"exact ln Z_N / N (closed form, DEHP 1993, N={s.size})"
    out.attrs["metric_label"] = "Hessian of ln Z_N / N (complete-data Fisher)"
    out.attrs["fobs_label"] = (f"observable Fisher F_obs / N ({'exact enumeration' if fmethod == 'enumeration' else 'exact samples'}"
                               f", N={s.size})")
    return out


def get_reference(s: ModelSettings, cache: Path, *, seed: int = 12345) -> xr.Dataset:
    """The model's reference per site on its grid (natural coordinates), cached in zarr."""
    grid = build_grid(s)
    path = Path(cache) / (cache_key(s, "reference", seed=seed) + ".zarr")
    if _complete(path):
        log.info("reference: reusing %s", path)
        return _open_store(path)
    os.makedirs(cache, exist_ok=True)
    ref = _reference(s, grid, seed)
    _write_store(ref, path)
    return ref
