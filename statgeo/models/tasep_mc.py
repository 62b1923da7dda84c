"""Continuous-time Monte Carlo of the open TASEP (random-sequential update), many replicas.

The physical process behind the stationary law of :class:`statgeo.models.TasepModel`: N sites,
particles hop right at rate 1, enter site 1 at rate α and leave site N at rate β. Replicas run
in parallel (Numba ``prange`` with xoshiro256** streams, or a CuPy kernel with Philox4x32-10);
the burn-in rule accounts for the slow mixing (N^{3/2} in the maximal-current phase, N² on
the first-order line). See docs/tasep.md, "Continuous-time Monte Carlo and the burn-in rule".

Limits (refused at once): N ≤ 10⁵; ``burn_in`` and ``spacing`` ≤ 10⁸ sweeps (also the
default burn-in, which reaches that cap on the first-order line at N ≈ 5000); at most 10¹⁵
hop attempts per call (replicas × sweeps × (N + 1)); arrays larger than the machine's memory.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from statgeo.checks import check_allocation, check_choice, check_int, check_real
from statgeo.models.compilation import compile_notice
from statgeo.models.limits import MAX_SWEEPS, check_size, check_sweeps, check_work
from statgeo.models.exact.tasep_closed import QUADRATIC_MAX_N, check_rates
from statgeo.models.kernels import tasep_numba as _k
from statgeo.seeding import as_seed_sequence, xoshiro_states

__all__ = ["MCResult", "simulate_mc", "default_burn_in", "relaxation_time_estimate", "BACKENDS"]

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "numba", "cupy")


def _scalar_rates(alpha: Any, beta: Any) -> tuple[float, float]:
    al, be = check_rates(alpha, beta)
    if al.size != 1:
        raise ValueError(f"alpha and beta must be scalars here, got shape {al.shape}")
    return float(al.ravel()[0]), float(be.ravel()[0])


def relaxation_time_estimate(N: int, alpha: float, beta: float) -> float:
    """Conservative relaxation-time scale (in units of time = sweeps) of the open TASEP.

        t = N^{3/2}                                         if α ≥ ½ and β ≥ ½ (maximal current),
        t = N · min(N, max(√N, 1/|α − β|, 1/|1 − 2 min(α, β)|))   otherwise.

    Maximal-current phase: dynamic exponent z = 3/2 (KPZ). Low/high density: a kinematic wave
    crosses the system in time ~ N/|1 − 2ρ| (ρ = min(α, β)), diverging at the continuous lines
    α, β = ½ where z = 3/2 again; on the first-order line α = β < ½ the domain wall performs an
    unbiased random walk (time ~ N²), and near it the wall drifts with speed |β − α|
    (time ~ N/|β − α|). The rule never goes below N^{3/2} (safety margin), never above N².

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 10⁵.
    alpha : float
        Entry rate in (0, 1].
    beta : float
        Exit rate in (0, 1].

    Returns
    -------
    float
        The time scale in sweeps.

    Raises
    ------
    TypeError
        ``N`` is not an integer or a rate not real.
    ValueError
        ``N`` out of range, a rate outside (0, 1] or not a scalar.

    Examples
    --------
    >>> relaxation_time_estimate(100, 0.8, 0.9)  # maximal current: N^{3/2}
    1000.0
    >>> relaxation_time_estimate(100, 0.3, 0.3)  # first-order line: N²
    10000.0
    """
    N = check_size("N", N, QUADRATIC_MAX_N, "the TASEP Monte Carlo's limit")
    al, be = _scalar_rates(alpha, beta)
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
    """Default burn-in in sweeps: ``ceil(factor · relaxation_time_estimate) + 100``.

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 10⁵.
    alpha : float
        Entry rate in (0, 1].
    beta : float
        Exit rate in (0, 1].
    factor : float, default 4.0
        Relaxation times to wait, in (0, 1000].

    Returns
    -------
    int
        Sweeps.

    Raises
    ------
    TypeError, ValueError
        As :func:`relaxation_time_estimate`, or a bad ``factor``.

    Examples
    --------
    >>> default_burn_in(100, 0.8, 0.9)
    4100
    """
    if isinstance(factor, np.ndarray) and factor.dtype.kind not in "iuf":
        raise TypeError(f"factor must be a real number, got dtype {factor.dtype}")
    f = check_real("factor", factor, low=0.0, high=1000.0, low_inclusive=False)
    if f.ndim != 0:
        raise ValueError(f"factor must be a scalar, got shape {f.shape}")
    return int(math.ceil(factor * relaxation_time_estimate(N, alpha, beta))) + 100


@dataclass(frozen=True)
class MCResult:
    """Output of :func:`simulate_mc` for one (α, β) (filled by the package).

    Parameters
    ----------
    snapshots : numpy.ndarray
        (n_replicas, n_snapshots, N) int8 configurations, ``spacing`` sweeps apart.
    current : numpy.ndarray
        (n_replicas, N+1) measured current per bond (hops / measurement time); bond 0 = entry,
        bond i = site i → i+1, bond N = exit.
    density : numpy.ndarray
        (n_replicas, N) time-averaged occupation (sampled once per sweep).
    burn_in : int
        Sweeps before the first snapshot.
    spacing : int
        Sweeps between snapshots; measurement time = n_snapshots · spacing per replica.
    backend : str
        ``"numba"`` or ``"cupy"``.
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


def _check_default_burn_in(burn_in: int, N: int, al: float, be: float) -> int:
    if burn_in > MAX_SWEEPS:
        raise ValueError(f"burn_in: the default burn-in at N={N}, alpha={al:g}, beta={be:g} is {burn_in} sweeps, "
                         f"more than the cap of {MAX_SWEEPS} sweeps; pass burn_in explicitly (≤ {MAX_SWEEPS}) or "
                         f"sample with method='exact'")
    return burn_in


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

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 10⁵.
    alpha : float
        Entry rate in (0, 1].
    beta : float
        Exit rate in (0, 1].
    n_replicas : int
        Independent replicas, ≥ 1.
    n_snapshots : int
        Configurations recorded per replica, ≥ 1.
    seed : int or numpy.random.SeedSequence
        Same seed and backend → identical output, whatever the number of threads.
    burn_in : int, optional
        Sweeps before the first snapshot, in [0, 10⁸] (default :func:`default_burn_in`).
    spacing : int, optional
        Sweeps between snapshots, in [1, 10⁸] (default N).
    backend : {"auto", "numba", "cupy"}, default "auto"
        ``"auto"``: CuPy when a CUDA device is available, else Numba.

    Returns
    -------
    MCResult

    Raises
    ------
    TypeError
        A count is not an integer, a rate not real, a bad ``seed``.
    ValueError
        A value out of range, a default burn-in beyond 10⁸ sweeps, arrays larger than the
        machine's memory, or more than 10¹⁵ hop attempts (n_replicas × (burn_in +
        n_snapshots · spacing) × (N + 1)).

    Examples
    --------
    >>> r = simulate_mc(10, 0.3, 0.7, 4, 5, seed=0, burn_in=500, spacing=10, backend="numba")
    >>> r.snapshots.shape, r.current.shape
    ((4, 5, 10), (4, 11))
    """
    N = check_size("N", N, QUADRATIC_MAX_N, "the TASEP Monte Carlo's limit")
    al, be = _scalar_rates(alpha, beta)
    n_replicas = check_int("n_replicas", n_replicas, min=1)
    n_snapshots = check_int("n_snapshots", n_snapshots, min=1)
    burn_in = (_check_default_burn_in(default_burn_in(N, al, be), N, al, be) if burn_in is None
               else check_sweeps("burn_in", burn_in, min=0))
    spacing = N if spacing is None else check_sweeps("spacing", spacing, min=1)
    ss = as_seed_sequence(seed)
    names = "n_replicas, n_snapshots and N"
    check_allocation("the snapshots (n_replicas, n_snapshots, N)", (n_replicas, n_snapshots, N), np.int8,
                     names=names)
    check_allocation("the hop counts and occupation sums (n_replicas, 2, N + 1)", (n_replicas, 2, N + 1),
                     np.int64, names="n_replicas and N")
    check_work("hop attempts", n_replicas * (burn_in + n_snapshots * spacing) * (N + 1),
               "n_replicas, burn_in, n_snapshots, spacing and N")
    backend = _resolve_backend(backend)
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
        with compile_notice(None, "the TASEP Monte Carlo"):
            _k.mc_kernel(N, al, be, states, burn_in, spacing, snaps, hops, occ)
    T = float(n_snapshots) * spacing
    return MCResult(snaps, hops / T, occ / T, burn_in, spacing, backend)
