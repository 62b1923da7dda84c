"""Data for Table 1: grids, samples through the physics samplers (zarr cache, Dask), references.

* Grids are regular in the natural coordinates (Ising (K, η) with the identity map; TASEP
  θ = (−ln α, −ln β), laid out in (α, β) = e^{−θ} with :func:`tasep_rates_map`, so the TASEP
  sampler and exact references see their physical rates).
* Samples: drawn per chunk of grid rows (axis 0). In-process by default, in chunks of at
  most :data:`POINTS_PER_CHUNK` grid points (whole rows; a grid that small is one chunk); on
  a Dask cluster (``scheduler`` address) every chunk is a task. Each finished chunk is written
  to its own zarr store under the cache directory, and a completion marker file is written
  *last*, so an interrupted run resumes without redoing finished chunks and nothing
  half-written looks complete. Binary configurations (Ising spins, TASEP occupations) are
  stored one bit per site (:mod:`statgeo.models.packing`) and unpacked on reading.
* References: exact where they exist (Ising L ≤ 12: transfer matrix at any field; TASEP:
  closed-form ln Z_N and F_obs by enumeration for N ≤ 14), else the Monte Carlo reference
  anchored to Kaufman's h = 0 line (Ising) or F_obs from exact samples (TASEP). Computed in
  the same chunks of grid rows (every row is independent: the anchored integral runs along
  η at fixed K), each chunk cached and resumable like the samples, in parallel when an
  executor is given. Everything is per site: F = ln Z / N and its derivatives.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import xarray as xr

from statgeo.grid import ParameterGrid
from statgeo.models import ExponentialFamilyModel, PhysicsModel, make_model
from statgeo.models.packing import binary_values, pack_dataset, unpack_dataset
from validation.table1_config import ModelSettings

__all__ = ["build_model", "build_grid", "get_samples", "sample_store", "sample_features", "sample_subset",
           "get_reference", "cache_key", "sample_array", "sampling_summary", "kaufman_line_check", "chunk_rows",
           "POINTS_PER_CHUNK"]

log = logging.getLogger(__name__)

MARKER = ".complete"
#: grid points per chunk of samples or reference, in-process (whole rows of axis 0; at the paper's
#: 128 x 128 grid 8 rows: 16 chunks of a few minutes each, so an interrupt loses at most that)
POINTS_PER_CHUNK = 1024


# ----------------------------------------------------------------------------- model and grid
def build_model(s: ModelSettings) -> PhysicsModel:
    """The model of the settings: ``make_model(s.model, s.size)``.

    Parameters
    ----------
    s : ModelSettings
        The model's settings.

    Returns
    -------
    PhysicsModel
    """
    return make_model(s.model, s.size)


def build_grid(s: ModelSettings, model: PhysicsModel | None = None) -> ParameterGrid:
    """The model's parameter grid, regular in natural coordinates (``s.axis0``, ``s.axis1``).

    Laid out by the model's ``natural_grid``: the Ising grid in (K, η), the TASEP grid in
    (α, β) = e^{−θ} (docs/grids_and_coordinates.md).

    Parameters
    ----------
    s : ModelSettings
        The model's settings.
    model : PhysicsModel, optional
        The model (default :func:`build_model`).

    Returns
    -------
    ParameterGrid
    """
    model = build_model(s) if model is None else model
    return model.natural_grid(**dict(zip(model.natural_names, (s.axis0, s.axis1))))


# ----------------------------------------------------------------------------- cache
def cache_key(s: ModelSettings, what: str, **extra: Any) -> str:
    """The cache name of a store: the model, a label and a short hash of what determines the data.

    Parameters
    ----------
    s : ModelSettings
        The model's settings (model, size, box; samples per point for samples; the reference
        settings for references). Samples and references also hash the source of
        ``statgeo.models``, so that they are redrawn after any change of a sampler or an exact
        reference.
    what : str
        ``"samples"``, ``"reference"`` or another label (``"rows"``).
    **extra
        Further determinants (seed, rows per chunk).

    Returns
    -------
    str
        ``"<model>_<what>_<12 hex digits>"``.
    """
    payload = {"model": s.model, "size": s.size, "axis0": s.axis0, "axis1": s.axis1, "what": what, **extra}
    if what == "samples":
        payload["n_samples"] = s.n_samples
    else:
        payload.update(reference=s.reference, reference_samples=s.reference_samples, fisher=s.fisher)
    if what in ("samples", "reference"):  # drawn by the models' samplers and exact references
        payload["models_source"] = _models_source_hash()
    h = hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{s.model}_{what}_{h}"


@functools.lru_cache(maxsize=1)
def _models_source_hash() -> str:
    """SHA-1 of the source of ``statgeo.models`` (samplers, kernels, exact references): samples and
    references cached by other code are not reused (a sampler fix must not meet old samples).
    Read once per process, at first use, so that it describes the code the process imported
    even if the files change while it runs."""
    import statgeo.models

    h = hashlib.sha1()
    root = Path(statgeo.models.__file__).parent
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _marker(path: Path) -> Path:
    return path.with_name(path.name + MARKER)


def _complete(path: Path) -> bool:
    return _marker(path).exists() and path.exists()


def _write_store(ds: xr.Dataset, path: Path) -> None:
    """Write ``ds`` to a zarr store at ``path``, the completion marker last.

    Written under a temporary name of this process and renamed into place, so that two
    processes computing the same store (two runs sharing a cache) never write into one
    directory; if another process completed it meanwhile, ours is dropped (same key, same data).
    """
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    ds.to_zarr(tmp, mode="w", consolidated=False)
    if _complete(path):
        shutil.rmtree(tmp, ignore_errors=True)
        return
    _marker(path).unlink(missing_ok=True)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    try:
        os.replace(tmp, path)
    except OSError:  # another process put its store there first
        if not path.exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    _marker(path).write_text("complete\n")


def _open_store(path: Path) -> xr.Dataset:
    """The store's Dataset in memory, bit-packed configurations restored."""
    return unpack_dataset(xr.open_zarr(path, consolidated=False).load())


def _packed(ds: xr.Dataset, model: PhysicsModel) -> xr.Dataset:
    """``ds`` with the model's configurations bit-packed when they are binary (one bit per site)."""
    name = model.configuration_variable
    da = ds[name]
    values = binary_values(da.values)
    if values is None:
        return ds
    site_dims = da.dims[da.dims.index("sample") + 1:]
    return pack_dataset(ds, name, site_dims, values)


# ----------------------------------------------------------------------------- sampling
def _sample_chunk(s: ModelSettings, grid: ParameterGrid, rows: tuple[int, int], seed_entropy: list[int],
                  backend: str) -> xr.Dataset:
    """The model's samples on grid rows [rows[0], rows[1]) (axis 0)."""
    model = build_model(s)
    sub = grid.isel(**{grid.names[0]: slice(rows[0], rows[1])})
    ss = np.random.SeedSequence(seed_entropy)
    options: dict[str, Any] = {"progress": False}
    if backend in model.sampler_backends:
        options["backend"] = backend
    else:
        log.info("the %s sampler runs on %s; backend=%r is not used for it", model.name,
                 "/".join(b for b in model.sampler_backends if b != "auto"), backend)
    return model.sample(sub, s.n_samples, seed=ss, **options)


def _chunks(n_rows: int, rows_per_chunk: int) -> list[tuple[int, int]]:
    return [(i, min(i + rows_per_chunk, n_rows)) for i in range(0, n_rows, rows_per_chunk)]


def chunk_rows(grid: ParameterGrid, points: int = POINTS_PER_CHUNK) -> int:
    """Whole rows of axis 0 per chunk: as many as keep a chunk within ``points`` grid points (≥ 1).

    Parameters
    ----------
    grid : ParameterGrid
        The grid.
    points : int, default POINTS_PER_CHUNK
        Grid points a chunk may hold.

    Returns
    -------
    int
        Between 1 and ``grid.shape[0]``.

    Examples
    --------
    >>> g = ParameterGrid.from_ranges(K=(0.2, 0.7, 128), eta=(-0.2, 0.2, 128))
    >>> chunk_rows(g), chunk_rows(g.isel(K=slice(0, 24), eta=slice(0, 24)))
    (8, 24)
    """
    per_row = grid.size // grid.shape[0]
    return int(min(grid.shape[0], max(1, points // per_row)))


def get_samples(s: ModelSettings, seed: int, cache: Path, *, grid: ParameterGrid | None = None,
                backend: str = "auto", client: Any = None, rows_per_chunk: int | None = None,
                progress: bool | None = False) -> xr.Dataset:
    """Samples of one seed over the whole grid (the model's own Dataset), from the zarr cache or fresh.

    Parameters
    ----------
    s : ModelSettings
        The model's settings.
    seed : int
        The run's seed (chunk c uses ``SeedSequence([seed, c])``).
    cache : Path
        Directory of the zarr stores.
    grid : ParameterGrid, optional
        The model's grid (default :func:`build_grid`).
    backend : str, default "auto"
        Sampler backend, used by models whose sampler offers it.
    client : dask.distributed.Client, optional
        Chunks become tasks on the cluster (default: in-process).
    rows_per_chunk : int, optional
        Grid rows per chunk (default: :func:`chunk_rows` in-process, 4 rows with Dask).
    progress : bool or None, default False
        Progress bar over chunks (None: on a terminal only; ``TQDM_DISABLE=1`` hides it).

    Returns
    -------
    xarray.Dataset
    """
    return _open_store(sample_store(s, seed, cache, grid=grid, backend=backend, client=client,
                                    rows_per_chunk=rows_per_chunk, progress=progress))


def sample_store(s: ModelSettings, seed: int, cache: Path, *, grid: ParameterGrid | None = None,
                 backend: str = "auto", client: Any = None, rows_per_chunk: int | None = None,
                 progress: bool | None = False) -> Path:
    """The merged zarr store of one seed's samples, drawn first where it is not complete.

    Chunks of grid rows are drawn (in-process or as Dask tasks), each written to its own store
    with its completion marker last; then merged lazily (chunk by chunk, never all in memory)
    into one store, marker last, and removed. Arguments as in :func:`get_samples`.

    Returns
    -------
    pathlib.Path
        The merged store (configurations bit-packed when binary).
    """
    grid = build_grid(s) if grid is None else grid
    n_rows = grid.shape[0]
    rpc = rows_per_chunk or (chunk_rows(grid) if client is None else min(4, n_rows))
    key = cache_key(s, "samples", seed=seed, rows_per_chunk=rpc)
    root = Path(cache) / key
    final = root / "all.zarr"
    if _complete(final):
        log.info("samples: reusing %s", final)
        return final
    root.mkdir(parents=True, exist_ok=True)
    chunks = _chunks(n_rows, rpc)
    todo = [(c, r) for c, r in enumerate(chunks) if not _complete(root / f"chunk{c:04d}.zarr")]
    from statgeo.progress import progress_bar

    bar = progress_bar(total=len(chunks), initial=len(chunks) - len(todo), desc=f"sampling {s.model} seed {seed}",
                       progress=progress)
    model = build_model(s)
    if client is None:
        for c, r in todo:
            _write_store(_packed(_sample_chunk(s, grid, r, [seed, c], backend), model), root / f"chunk{c:04d}.zarr")
            bar.update(1)
    else:
        from dask.distributed import as_completed

        futs = {client.submit(_sample_chunk, s, grid, r, [seed, c], backend, pure=False): c for c, r in todo}
        for fut in as_completed(futs):
            c = futs[fut]
            _write_store(_packed(fut.result(), model), root / f"chunk{c:04d}.zarr")
            bar.update(1)
    bar.close()
    # merged lazily: the chunk stores are read and written chunk by chunk (dask), still packed
    parts = [xr.open_zarr(root / f"chunk{c:04d}.zarr", consolidated=False) for c in range(len(chunks))]
    ds = xr.concat(parts, dim=grid.names[0], data_vars="all") if len(parts) > 1 else parts[0]
    ds = grid.attach(ds, natural=False).chunk({grid.names[0]: rpc})
    for v in ds.variables.values():
        v.encoding = {}
    ds.attrs.update({"seed": int(seed), "rows_per_chunk": int(rpc), "settings": json.dumps(s.to_dict())})
    _write_store(ds, final)
    for c in range(len(chunks)):
        shutil.rmtree(root / f"chunk{c:04d}.zarr", ignore_errors=True)
        _marker(root / f"chunk{c:04d}.zarr").unlink(missing_ok=True)
    return final


def _configuration_blocks(s: ModelSettings, seed: int, cache: Path, grid: ParameterGrid, backend: str,
                          rows_per_block: int | None) -> tuple[xr.Dataset, Any]:
    """A seed's samples without their configurations, and an iterator over the configurations a
    block of grid rows at a time: (points of the block, S, *configuration shape), flat C order."""
    model = build_model(s)
    path = sample_store(s, seed, cache, grid=grid, backend=backend)
    lazy = xr.open_zarr(path, consolidated=False)
    name = model.configuration_variable
    stored = [v for v in lazy.data_vars if v == name or json.loads(lazy[v].attrs.get("packed_from", "{}")).get(
        "name") == name]
    rest = unpack_dataset(lazy.drop_vars(stored).load())

    def blocks():
        for r in _chunks(grid.shape[0], rows_per_block or chunk_rows(grid)):
            part = unpack_dataset(lazy[stored].isel({grid.names[0]: slice(*r)}).load())
            x = model.configurations(part).transpose(*grid.names, "sample", ...).values
            yield x.reshape((-1,) + x.shape[grid.ndim:])

    return rest, blocks()


def sample_features(s: ModelSettings, seed: int, cache: Path, *, grid: ParameterGrid | None = None,
                    backend: str = "auto", rows_per_block: int | None = None,
                    features: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None
                    ) -> tuple[xr.Dataset, dict[str, np.ndarray]]:
    """One seed's samples without their configurations, and per-sample features of the
    configurations, read from the store a block of grid rows at a time.

    For the rows of Table 1 that read configurations only through per-sample features: the
    network through the plus-pattern encoder (``neural_encoder="patches"``), the oracle through
    the exact statistics, Mean-as-Stat and PCA-VAE through their fitted statistics. At the
    paper's size (16 384 points × 32 samples of 128² spins) the lattices take 8 GiB as int8,
    the plus-pattern frequencies 64 MiB.

    Parameters
    ----------
    s : ModelSettings
        The model's settings.
    seed : int
        The run's seed.
    cache : Path
        Directory of the zarr stores (samples are drawn first where missing, :func:`sample_store`).
    grid : ParameterGrid, optional
        The model's grid (default :func:`build_grid`).
    backend : str, default "auto"
        Sampler backend, used when samples must be drawn.
    rows_per_block : int, optional
        Grid rows read at a time (default :func:`chunk_rows`).
    features : mapping of str to callable, optional
        Per name a map from a block of configurations (points, S, *configuration shape) to its
        features (points, S, k); default ``{"frequencies":
        statgeo.geometry.plus_pattern_frequencies}`` (a lattice model's 32 plus-pattern
        frequencies).

    Returns
    -------
    samples : xarray.Dataset
        The samples' Dataset without the configuration variable (the sufficient statistics).
    features : dict of str to numpy.ndarray
        Per name the features of every sample, shape (grid.size, S, k), origins in flat C order.
    """
    from statgeo.geometry import plus_pattern_frequencies

    grid = build_grid(s) if grid is None else grid
    maps = dict(features) if features is not None else {"frequencies": plus_pattern_frequencies}
    rest, blocks = _configuration_blocks(s, seed, Path(cache), grid, backend, rows_per_block)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in maps}
    for x in blocks:
        for name, f in maps.items():
            parts[name].append(np.asarray(f(x)))
    return rest, {name: np.concatenate(p, axis=0) for name, p in parts.items()}


def sample_subset(s: ModelSettings, seed: int, cache: Path, *, max_samples: int, subset_seed: Any = 0,
                  grid: ParameterGrid | None = None, backend: str = "auto", rows_per_block: int | None = None
                  ) -> np.ndarray:
    """A uniform random subset of one seed's configurations pooled over the grid, read a block
    of grid rows at a time: for fitting a statistic on more samples than memory holds.

    Without replacement, in pooled order (grid points in flat C order, then samples); every
    sample when there are at most ``max_samples``.

    Parameters
    ----------
    s : ModelSettings
        The model's settings.
    seed : int
        The run's seed.
    cache : Path
        Directory of the zarr stores (samples are drawn first where missing).
    max_samples : int
        Most samples returned, ≥ 1.
    subset_seed : int or numpy.random.SeedSequence, default 0
        Seed of the subset's choice.
    grid : ParameterGrid, optional
        The model's grid (default :func:`build_grid`).
    backend : str, default "auto"
        Sampler backend, used when samples must be drawn.
    rows_per_block : int, optional
        Grid rows read at a time (default :func:`chunk_rows`).

    Returns
    -------
    numpy.ndarray
        Shape (min(max_samples, grid.size × S), *configuration shape), the stored dtype.
    """
    from statgeo.checks import check_int
    from statgeo.seeding import as_seed_sequence

    max_samples = check_int("max_samples", max_samples, min=1)
    grid = build_grid(s) if grid is None else grid
    total = grid.size * s.n_samples
    keep = np.arange(total) if total <= max_samples else np.sort(
        np.random.default_rng(as_seed_sequence(subset_seed)).choice(total, size=max_samples, replace=False))
    _, blocks = _configuration_blocks(s, seed, Path(cache), grid, backend, rows_per_block)
    out, start = [], 0
    for x in blocks:
        flat = x.reshape((-1,) + x.shape[2:])
        lo, hi = np.searchsorted(keep, [start, start + flat.shape[0]])
        out.append(flat[keep[lo:hi] - start])
        start += flat.shape[0]
    return np.concatenate(out, axis=0)


def sampling_summary(ds: xr.Dataset) -> dict:
    """How independent one seed's samples are: integrated autocorrelation times and effective samples per point.

    For a Markov-chain sampler that records τ_int per point (the Ising sampler: ``tau_int_B``,
    ``tau_int_M`` in sweeps from its pilot run, and the thinning ``thin`` in sweeps): with
    τ = max(τ_B, τ_M), the recorded samples are τ/thin records apart in autocorrelation time,
    so a point's S samples are worth n_eff = S / max(1, 2τ/thin) independent ones (Sokal,
    "Monte Carlo methods in statistical mechanics", 1997, eq. 2.23: Var of a mean is
    2τ_int σ²/n). An exact sampler (no τ recorded) gives independent samples, n_eff = S.

    Parameters
    ----------
    ds : xarray.Dataset
        The samples' Dataset (with or without the configurations).

    Returns
    -------
    dict
        ``samples_per_point``, ``sampler`` ("markov chain" or "independent"), and for a chain
        ``tau_int_max``, ``tau_int_median`` (sweeps), ``thin_median`` (sweeps),
        ``n_eff_min``, ``n_eff_median``, ``points_below_half`` (points with n_eff < S/2) and
        ``tau_records_median``: the median over the points of τ_int of the recorded bond
        energies B in units of records (½ for independent records), measured on the samples
        themselves as a check of the pilot's τ, and the effective samples per point it implies,
        ``n_eff_records_median`` = S / max(1, 2 τ_records).
    """
    S = int(ds.sizes["sample"])
    if "tau_int_B" not in ds or "thin" not in ds:
        return {"samples_per_point": S, "sampler": "independent"}
    tau = np.maximum(ds["tau_int_B"].values, ds["tau_int_M"].values if "tau_int_M" in ds else 0.0).ravel()
    thin = ds["thin"].values.astype(np.float64).ravel()
    n_eff = S / np.maximum(1.0, 2.0 * tau / thin)
    out = {"samples_per_point": S, "sampler": "markov chain", "tau_int_max": float(np.nanmax(tau)),
           "tau_int_median": float(np.nanmedian(tau)), "thin_median": float(np.median(thin)),
           "n_eff_min": float(np.nanmin(n_eff)), "n_eff_median": float(np.nanmedian(n_eff)),
           "points_below_half": int(np.sum(n_eff < S / 2))}
    if "B" in ds and S >= 8:
        # the check: τ_int of the recorded energies themselves, in records (½ when independent);
        # per point it is noisy at small S, so its median over the points is reported
        from statgeo.stats import integrated_autocorrelation_time

        b = ds["B"].transpose(..., "sample").values.reshape(-1, S).astype(np.float64)
        moving = b.std(axis=1) > 0
        if moving.any():
            out["tau_records_median"] = float(np.median(integrated_autocorrelation_time(b[moving], axis=-1)))
            out["n_eff_records_median"] = S / max(1.0, 2.0 * out["tau_records_median"])
    return out


def sample_array(ds: xr.Dataset, grid: ParameterGrid, model: PhysicsModel, *, dtype: Any = np.float32
                 ) -> np.ndarray:
    """The configurations, one row per grid point in flat C order.

    Parameters
    ----------
    ds : xarray.Dataset
        Samples of ``model`` on ``grid``.
    grid : ParameterGrid
        The grid.
    model : PhysicsModel
        The model that drew them (it names the configuration variable).
    dtype : numpy dtype or None, default float32
        The result's dtype; None keeps the stored one (int8 for the lattice models: a quarter
        of the float32 copy, 8 GiB instead of 32 GiB for one seed of the paper preset).

    Returns
    -------
    numpy.ndarray
        Shape (grid.size, S, *configuration shape).
    """
    x = model.configurations(ds).transpose(*grid.names, "sample", ...).values
    x = x.reshape((grid.size,) + x.shape[grid.ndim:])
    return x if dtype is None else x.astype(dtype, copy=False)


# ----------------------------------------------------------------------------- references
def _reference(s: ModelSettings, model: PhysicsModel, grid: ParameterGrid, seed: int) -> xr.Dataset:
    """The model's reference per site (÷ N) with its labels (attrs ``label``, ``metric_label``, ``fobs_label``)."""
    options: dict[str, Any] = {"seed": seed, "per_site": True}
    if isinstance(model, ExponentialFamilyModel):
        options.update(kind=s.reference, progress=False, n_samples=s.reference_samples or 256)
    else:
        options.update(fisher=s.fisher, n_samples=s.reference_samples or 4096)
    ref = model.reference(grid, **options)
    ref.attrs["label"] = ref.attrs["reference_label"]
    if "observable_fisher_label" in ref.attrs:
        ref.attrs["fobs_label"] = ref.attrs["observable_fisher_label"]
    return ref


def _reference_chunk(s: ModelSettings, grid: ParameterGrid, rows: tuple[int, int], seed: Any) -> xr.Dataset:
    """The reference per site on grid rows [rows[0], rows[1]) (axis 0). Runs in a worker process."""
    model = build_model(s)
    return _reference(s, model, grid.isel(**{grid.names[0]: slice(rows[0], rows[1])}), seed)


def kaufman_line_check(s: ModelSettings, *, seed: int = 54321, grid: ParameterGrid | None = None) -> dict | None:
    """The Monte Carlo Ising reference's chains checked where an exact answer exists: on η = 0.

    The reference's settings (``reference_samples`` per chain, the sampler's automatic burn-in
    and thinning; Wolff at η = 0) run at η = 0 for every K of the grid, and ⟨B⟩ and Var(B) with
    their error bars are compared with Kaufman's exact finite-torus values
    (:func:`statgeo.models.exact.kaufman_thermo`): z = (MC − exact) / error bar. Calibrated
    error bars give |z| mostly below 2 and a mean z² near 1; the relative error bar of Var(B)
    (the metric's K–K component there) says how precisely the reference pins the metric.

    Parameters
    ----------
    s : ModelSettings
        The Ising settings with ``reference="mc_anchored"`` (other settings: None is returned).
    seed : int, default 54321
        Seed of the check's chains (independent of the reference's).
    grid : ParameterGrid, optional
        The model's grid (default :func:`build_grid`); its K values are used.

    Returns
    -------
    dict or None
        ``K`` (values), ``z_mean_B``, ``z_var_B`` (lists), ``max_abs_z``, ``mean_z2``,
        ``fraction_within_2sigma``, ``relative_error_var_B_median`` and ``samples_per_chain``.
    """
    if s.model != "ising" or s.reference != "mc_anchored":
        return None
    from statgeo.models.exact import kaufman_thermo
    from statgeo.models.ising_reference import ising_mc_reference

    grid = build_grid(s) if grid is None else grid
    K = np.asarray(grid.axes[0].values, dtype=np.float64)
    line = ParameterGrid.from_ranges(K=K, eta=[0.0])
    n = s.reference_samples or 256
    ref = ising_mc_reference(line, s.size, n, seed=seed, progress=False)
    _, mean_b, var_b = kaufman_thermo(K, s.size)
    zb = (ref["grad_log_z"].values[:, 0, 0] - mean_b) / ref["grad_log_z_error"].values[:, 0, 0]
    zv = (ref["metric"].values[:, 0, 0, 0] - var_b) / ref["metric_error"].values[:, 0, 0, 0]
    z = np.concatenate([zb, zv])
    return {"K": K.tolist(), "z_mean_B": zb.tolist(), "z_var_B": zv.tolist(), "max_abs_z": float(np.abs(z).max()),
            "mean_z2": float(np.mean(z ** 2)), "fraction_within_2sigma": float(np.mean(np.abs(z) < 2)),
            "relative_error_var_B_median": float(np.median(ref["metric_error"].values[:, 0, 0, 0] / var_b)),
            "samples_per_chain": int(n)}


def get_reference(s: ModelSettings, cache: Path, *, grid: ParameterGrid | None = None, seed: int = 12345,
                  rows_per_chunk: int | None = None, executor: Any = None, progress: bool | None = False
                  ) -> xr.Dataset:
    """The model's reference per site on its grid (natural coordinates), cached in zarr.

    ``model.reference(grid, per_site=True, ...)``: F = ln Z / N, ∇F, ∇²F (and F_obs / N for
    the TASEP), labelled in the attrs ``label``, ``metric_label`` and ``fobs_label``. Computed
    per chunk of grid rows (axis 0; every row is independent), each chunk written to its own
    store with a completion marker last, so an interrupted run resumes at the first missing
    chunk. A grid that fits one chunk uses ``seed`` itself; chunk c of several uses
    ``SeedSequence([seed, c])``.

    Parameters
    ----------
    s : ModelSettings
        The model's settings.
    cache : Path
        Directory of the zarr stores.
    grid : ParameterGrid, optional
        The model's grid (default :func:`build_grid`).
    seed : int, default 12345
        Seed of a Monte Carlo reference (unused by exact ones).
    rows_per_chunk : int, optional
        Grid rows per chunk (default :func:`chunk_rows`).
    executor : concurrent.futures.Executor, optional
        Runs the chunks (e.g. a process pool: the chunks run in parallel); default in-process.
    progress : bool or None, default False
        Progress bar over chunks (None: on a terminal only; ``TQDM_DISABLE=1`` hides it).

    Returns
    -------
    xarray.Dataset
    """
    from statgeo.progress import progress_bar

    model = build_model(s)
    grid = build_grid(s, model) if grid is None else grid
    rpc = rows_per_chunk or chunk_rows(grid)
    chunks = _chunks(grid.shape[0], rpc)
    extra = {} if len(chunks) == 1 else {"rows_per_chunk": rpc}
    path = Path(cache) / (cache_key(s, "reference", seed=seed, **extra) + ".zarr")
    if _complete(path):
        log.info("reference: reusing %s", path)
        return _open_store(path)
    os.makedirs(cache, exist_ok=True)
    if len(chunks) == 1:
        ref = _reference(s, model, grid, seed)
        _write_store(ref, path)
        return ref
    root = path.with_suffix("")
    root.mkdir(parents=True, exist_ok=True)

    def store(c: int) -> Path:
        return root / f"chunk{c:04d}.zarr"

    def args(c: int) -> tuple:
        return s, grid, chunks[c], np.random.SeedSequence([seed, c])

    todo = [c for c in range(len(chunks)) if not _complete(store(c))]
    bar = progress_bar(total=len(chunks), initial=len(chunks) - len(todo), desc=f"reference {s.model}",
                       progress=progress)
    if executor is None:
        for c in todo:
            _write_store(_reference_chunk(*args(c)), store(c))
            bar.update(1)
    else:
        import concurrent.futures as cf

        futs = {executor.submit(_reference_chunk, *args(c)): c for c in todo}
        for f in cf.as_completed(futs):
            _write_store(f.result(), store(futs[f]))
            bar.update(1)
    bar.close()
    parts = [_open_store(store(c)) for c in range(len(chunks))]
    ref = xr.concat(parts, dim=grid.names[0], data_vars="different", coords="different", compat="equals",
                    combine_attrs="override")
    ref.attrs["grid"] = grid.to_json()
    ref.attrs["rows_per_chunk"] = int(rpc)
    _write_store(ref, path)
    shutil.rmtree(root, ignore_errors=True)
    return ref
