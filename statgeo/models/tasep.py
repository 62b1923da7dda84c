"""The open TASEP: public API (Model protocol), samplers and exact references.

N sites; particles hop right at rate 1, enter site 1 at rate α and leave site N at rate β,
α, β ∈ (0, 1]. Natural coordinates θ = (−ln α, −ln β) (:func:`statgeo.models.coordinates.
tasep_rates_map`). Stationary law: the DEHP matrix product (Derrida, Evans, Hakim, Pasquier,
J. Phys. A 26, 1493, 1993).

Samplers
--------
* ``method="exact"``: i.i.d. samples from the stationary law by sequential conditional sampling
  in a finite matrix representation (:func:`~statgeo.models.exact.tasep_matrix.sample_exact`).
* ``method="mc"``: continuous-time Monte Carlo (random-sequential update) of the physical
  process, many independent replicas (Numba ``prange`` with xoshiro256** streams, or a CuPy
  kernel with Philox4x32-10), see :func:`simulate_mc`.

See ``docs/tasep.md`` for formulas, the burn-in rule and design choices.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from statgeo._checks import check_choice, check_int
from statgeo._seeding import as_seed_sequence, xoshiro_states
from statgeo._xrutil import config_attr, versions
from statgeo.grid import CoordinateMap, ParameterGrid
from statgeo.models.coordinates import tasep_rates_map
from statgeo.models.exact.tasep import *  # noqa: F401,F403  (re-export of the exact API)
from statgeo.models.exact.tasep import __all__ as _exact_all
from statgeo.models.exact.tasep import check_tasep_grid, tasep_exact
from statgeo.models.exact.tasep_closed import check_rates
from statgeo.models.exact.tasep_matrix import sample_exact
from statgeo.models.kernels import tasep_numba as _k

__all__ = ["TasepModel", "MCResult", "simulate_mc", "default_burn_in", "relaxation_time_estimate",
           *_exact_all]

logger = logging.getLogger(__name__)

METHODS = ("exact", "mc")
BACKENDS = ("auto", "numba", "cupy")


def relaxation_time_estimate(N: int, alpha: float, beta: float) -> float:
    """Conservative relaxation-time scale (in units of time = sweeps) of the open TASEP.

        t = N^{3/2}                                         if α ≥ ½ and β ≥ ½ (maximal current),
        t = N · min(N, max(√N, 1/|α − β|, 1/|1 − 2 min(α, β)|))   otherwise.

    Maximal-current phase: dynamic exponent z = 3/2 (KPZ). Low/high density: a kinematic wave
    crosses the system in time ~ N/|1 − 2ρ| (ρ = min(α, β)), diverging at the continuous lines
    α, β = ½ where z = 3/2 again; on the first-order line α = β < ½ the domain wall performs an
    unbiased random walk (time ~ N²), and near it the wall drifts with speed |β − α|
    (time ~ N/|β − α|). The rule never goes below N^{3/2} (safety margin), never above N².
    """
    N = check_int("N", N, min=1)
    al, be = (float(x) for x in check_rates(alpha, beta))
    if al >= 0.5 and be >= 0.5:
        return N ** 1.5
    inv = [math.sqrt(N)]
    if al != be:
        inv.append(1.0 / abs(al - be))
    else:
        inv.append(math.inf)
    m = min(al, be)
    inv.append(1.0 / abs(1.0 - 2.0 * m) if m != 0.5 else math.inf)
    return N * min(float(N), max(inv))


def default_burn_in(N: int, alpha: float, beta: float, factor: float = 4.0) -> int:
    """Default burn-in in sweeps: ``ceil(factor · relaxation_time_estimate) + 100``."""
    return int(math.ceil(factor * relaxation_time_estimate(N, alpha, beta))) + 100


@dataclass(frozen=True)
class MCResult:
    """Output of :func:`simulate_mc` for one (α, β).

    Attributes
    ----------
    snapshots : (n_replicas, n_snapshots, N) int8 configurations, ``spacing`` sweeps apart.
    current : (n_replicas, N+1) measured current per bond (hops / measurement time);
        bond 0 = entry, bond i = site i → i+1, bond N = exit.
    density : (n_replicas, N) time-averaged occupation (sampled once per sweep).
    burn_in, spacing : sweeps; measurement time = n_snapshots · spacing per replica.
    """

    snapshots: np.ndarray
    current: np.ndarray
    density: np.ndarray
    burn_in: int
    spacing: int
    backend: str


def _resolve_backend(backend: str) -> str:
    from statgeo.models.kernels.tasep_cupy import cupy_available

    backend = check_choice("backend", backend, BACKENDS)
    if backend == "auto":
        return "cupy" if cupy_available() else "numba"
    if backend == "cupy" and not cupy_available():
        raise ValueError("backend='cupy' needs CuPy and a CUDA device; use backend='numba' or 'auto'")
    return backend


def simulate_mc(N: int, alpha: float, beta: float, n_replicas: int, n_snapshots: int, *,
                seed: int | np.random.SeedSequence, burn_in: int | None = None, spacing: int | None = None,
                backend: str = "auto") -> MCResult:
    """Continuous-time Monte Carlo of the open TASEP (random-sequential update), many replicas.

    Each attempt picks one of the N + 1 bonds uniformly and fires it with probability equal to its
    rate (α at the entry, 1 in the bulk, β at the exit) when allowed; N + 1 attempts are one unit
    of time (uniformisation of the Markov jump process with total rate N + 1, so the embedded
    chain has the exact stationary law). Every replica starts empty, runs ``burn_in`` sweeps
    (default :func:`default_burn_in`), then records ``n_snapshots`` configurations ``spacing``
    sweeps apart (default N), counting hops per bond and the time-averaged density.
    """
    N = check_int("N", N, min=1)
    al, be = (float(x) for x in check_rates(alpha, beta))
    n_replicas = check_int("n_replicas", n_replicas, min=1)
    n_snapshots = check_int("n_snapshots", n_snapshots, min=1)
    burn_in = default_burn_in(N, al, be) if burn_in is None else check_int("burn_in", burn_in, min=0)
    spacing = N if spacing is None else check_int("spacing", spacing, min=1)
    backend = _resolve_backend(backend)
    ss = as_seed_sequence(seed)
    logger.debug("simulate_mc: N=%d alpha=%g beta=%g replicas=%d burn_in=%d spacing=%d backend=%s",
                 N, al, be, n_replicas, burn_in, spacing, backend)
    if backend == "cupy":
        from statgeo.models.kernels.tasep_cupy import mc_cupy

        snaps, hops, occ = mc_cupy(N, al, be, n_replicas, n_snapshots, burn_in, spacing, ss)
    else:
        states = xoshiro_states(ss, n_replicas)
        snaps = np.zeros((n_replicas, n_snapshots, N), dtype=np.int8)
        hops = np.zeros((n_replicas, N + 1), dtype=np.int64)
        occ = np.zeros((n_replicas, N), dtype=np.int64)
        _k.mc_kernel(N, al, be, states, burn_in, spacing, snaps, hops, occ)
    T = float(n_snapshots) * spacing
    return MCResult(snaps, hops / T, occ / T, burn_in, spacing, backend)


class TasepModel:
    """The open TASEP with N sites, implementing :class:`statgeo.models.base.Model`.

    Parameters
    ----------
    N : number of sites (≥ 1).

    Examples
    --------
    >>> from statgeo.grid import ParameterGrid
    >>> from statgeo.models.coordinates import tasep_rates_map
    >>> g = ParameterGrid.from_ranges(alpha=(0.2, 0.9, 4), beta=(0.2, 0.9, 4), coordinate_map=tasep_rates_map())
    >>> ds = TasepModel(10).sample(g, 16, seed=0)
    >>> ds.occupation.dims
    ('alpha', 'beta', 'sample', 'site')
    """

    parameter_names: tuple[str, ...] = ("alpha", "beta")

    def __init__(self, N: int) -> None:
        self.N = check_int("N", N, min=1)

    def __repr__(self) -> str:
        return f"TasepModel(N={self.N})"

    def natural_map(self) -> CoordinateMap:
        """(α, β) ↦ θ = (−ln α, −ln β)."""
        return tasep_rates_map()

    def sample(self, grid: ParameterGrid, n_samples: int, *, seed: int | np.random.SeedSequence,
               method: str = "exact", backend: str = "auto", n_replicas: int | None = None,
               burn_in: int | None = None, spacing: int | None = None) -> xr.Dataset:
        """Draw ``n_samples`` configurations at every grid point.

        Parameters
        ----------
        grid : ParameterGrid with axes ``alpha``, ``beta`` in (0, 1].
        n_samples : configurations per grid point.
        seed : int or SeedSequence; one spawned stream per grid point (same seed → same output).
        method : "exact" (i.i.d. from the stationary law; Numba only) or "mc" (continuous-time MC).
        backend : "auto" | "numba" | "cupy" ("cupy" for ``method="mc"`` only).
        n_replicas : MC replicas per point (default min(n_samples, 64)); each records
            ceil(n_samples / n_replicas) snapshots, the first ``n_samples`` (replica-major) are kept.
        burn_in, spacing : MC sweeps (defaults :func:`default_burn_in`, N).

        Returns
        -------
        xr.Dataset with ``occupation`` int8 (alpha, beta, sample, site); for ``method="mc"`` also
        ``current`` (alpha, beta, replica, bond) and ``density_time_average``
        (alpha, beta, replica, site) per replica.
        """
        A, B = check_tasep_grid(grid)
        n_samples = check_int("n_samples", n_samples, min=1)
        method = check_choice("method", method, METHODS)
        backend = check_choice("backend", backend, BACKENDS)
        if method == "exact" and backend == "cupy":
            raise ValueError("backend='cupy' is available for method='mc' only; the exact sampler runs on 'numba'")
        if method == "mc":
            n_replicas = min(n_samples, 64) if n_replicas is None else check_int("n_replicas", n_replicas, min=1)
            if burn_in is not None:
                burn_in = check_int("burn_in", burn_in, min=0)
            if spacing is not None:
                spacing = check_int("spacing", spacing, min=1)
            backend = _resolve_backend(backend)
        else:
            backend = "numba"
        ss = as_seed_sequence(seed)
        children = ss.spawn(A.size)
        N = self.N
        occ = np.empty(A.shape + (n_samples, N), dtype=np.int8)
        if method == "mc":
            n_snap = -(-n_samples // n_replicas)
            cur = np.empty(A.shape + (n_replicas, N + 1))
            dens = np.empty(A.shape + (n_replicas, N))
            burn = np.empty(A.shape, dtype=np.int64)
        for m in tqdm(range(A.size), desc=f"TASEP {method} sampling", leave=False):
            i = np.unravel_index(m, A.shape)
            if method == "exact":
                occ[i] = sample_exact(N, A[i], B[i], n_samples, children[m])
            else:
                r = simulate_mc(N, A[i], B[i], n_replicas, n_snap, seed=children[m], burn_in=burn_in,
                                spacing=spacing, backend=backend)
                occ[i] = r.snapshots.reshape(-1, N)[:n_samples]
                cur[i], dens[i], burn[i] = r.current, r.density, r.burn_in
        dims = ("alpha", "beta")
        data = {"occupation": (dims + ("sample", "site"), occ,
                               {"long_name": "site occupation τ_i", "units": "1"})}
        coords = dict(grid.coords())
        coords["sample"] = ("sample", np.arange(n_samples), {"long_name": "sample index", "units": "1"})
        coords["site"] = ("site", np.arange(1, N + 1), {"long_name": "site index i", "units": "1"})
        config = {"model": "tasep", "N": N, "n_samples": n_samples, "method": method, "backend": backend,
                  "seed": ss, "grid": grid.to_json(), "versions": versions()}
        if method == "mc":
            data["current"] = (dims + ("replica", "bond"), cur,
                               {"long_name": "measured current per bond (hops per unit time)", "units": "1"})
            data["density_time_average"] = (dims + ("replica", "site"), dens,
                                            {"long_name": "time-averaged occupation per replica", "units": "1"})
            data["burn_in"] = (dims, burn, {"long_name": "burn-in (sweeps = units of time)", "units": "1"})
            coords["replica"] = ("replica", np.arange(n_replicas), {"long_name": "replica index", "units": "1"})
            coords["bond"] = ("bond", np.arange(N + 1),
                              {"long_name": "bond (0 = entry, i = site i → i+1, N = exit)", "units": "1"})
            config.update(n_replicas=n_replicas, snapshots_per_replica=n_snap,
                          spacing=N if spacing is None else spacing,
                          burn_in="default_burn_in" if burn_in is None else burn_in,
                          sample_order="replica-major")
        ds = xr.Dataset(data, coords=coords)
        ds.attrs.update({"title": f"open TASEP samples, N = {N}", "model": "tasep",
                         "config": config_attr(config),
                         "references": "Derrida, Evans, Hakim, Pasquier, J. Phys. A 26, 1493 (1993)"})
        return ds

    def exact(self, grid: ParameterGrid, **kwargs) -> xr.Dataset:
        """Exact references over ``grid``: :func:`~statgeo.models.exact.tasep.tasep_exact` with this N."""
        return tasep_exact(grid, self.N, **kwargs)
