"""Continuous-time Monte Carlo of the open TASEP (random-sequential update), many replicas.

The physical process behind the stationary law of :class:`statgeo.models.TasepModel`: N sites,
particles hop right at rate 1, enter site 1 at rate α and leave site N at rate β. Replicas run
in parallel (Numba ``prange`` with xoshiro256** streams, or a CuPy kernel with Philox4x32-10);
the burn-in rule accounts for the slow mixing (N^{3/2} in the maximal-current phase, N² on
the first-order line). See docs/tasep.md.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from statgeo.checks import check_choice, check_int
from statgeo.models.exact.tasep_closed import check_rates
from statgeo.models.kernels import tasep_numba as _k
from statgeo.seeding import as_seed_sequence, xoshiro_states

__all__ = ["MCResult", "simulate_mc", "default_burn_in", "relaxation_time_estimate", "BACKENDS"]

logger = logging.getLogger(__name__)

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
