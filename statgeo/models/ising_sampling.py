"""Sampling the 2-D Ising model: checkerboard Metropolis and Wolff chains with automatic burn-in.

The engine behind :meth:`statgeo.models.IsingModel.sample` (kernels in
:mod:`statgeo.models.kernels`):

* ``algorithm="metropolis"``: checkerboard Metropolis, Numba (xoshiro256**, SIMD lanes,
  ``prange`` over replicas) or CuPy (Philox4x32-10), any (K, η); L must be even.
* ``algorithm="wolff"``: Wolff single-cluster moves (Numba), with the ghost-spin acceptance at
  η ≠ 0; any L ≥ 2.
* ``algorithm="hybrid"``: every sweep one sequential Metropolis sweep, then the Wolff moves of
  one Wolff sweep (Numba); any L ≥ 2. The cluster moves decorrelate near the critical point
  and flip the magnetisation at weak fields; the local sweep equilibrates the ordered phase in
  a field, where the ghost-spin cluster of the majority spin spans the lattice and is almost
  never flipped (pure Wolff on a 128² torus at K = 0.47, η = 0.01: ⟨M⟩/N = 0.98 against the
  equilibrium 0.87).
* ``algorithm="auto"`` on Numba: chosen per point (:func:`needs_cluster_moves` and the
  Metropolis pilot). The hybrid where the ordered phase meets a weak field
  (2 |η| N m₀ < 20, both magnetisation branches matter and a local chain started in one
  never reaches the other; its pilot cannot see this) or where the Metropolis pilot measures
  τ_int > 50 sweeps (critical slowing down; also the most a 1000-sweep pilot can measure);
  checkerboard Metropolis elsewhere (about 10× cheaper per sweep; on a 128² torus its τ_int
  was 7–34 sweeps at the near-critical points measured, K = 0.42–0.46, |η| = 0.0016–0.011).
  Odd L: the hybrid everywhere. On CuPy: Metropolis.

Burn-in and thinning (``"auto"``): a pilot run of ``PILOT_BURN`` + ``pilot_sweeps`` sweeps per
replica (``pilot_sweeps="auto"``: ``PILOT_SWEEPS``, 1000 sweeps for Metropolis, 200 for Wolff and
the hybrid)
measures τ_int of B, M and |M| (Sokal window, :func:`statgeo.stats.integrated_autocorrelation_time`
with c = 5, in sweeps); with τ = max over both observables and the replicas of a grid point,
burn-in = max(``MIN_BURN_IN``, ⌈20 τ⌉) sweeps in total (the pilot sweeps count towards it) and
thin = max(1, ⌈2 τ⌉) sweeps between stored samples. A window estimate needs a series of about
4 c τ = 20 τ; when the pilot is shorter than that at some point, a warning names the
``pilot_sweeps`` that would be long enough. With ``pilot_sweeps="auto"`` the pilot first
doubles (continuing the same chains) while it is short, up to 8 × its default length; the
warning comes only if that is still short.

Limits (refused at once, docs/ising_sampling.md, "Limits"): ``burn_in``, ``thin`` and
``pilot_sweeps`` ≤ 10⁸ sweeps; at most 10¹⁵ spin updates per call (replicas × sweeps × L²);
arrays larger than the machine's memory (:func:`statgeo.checks.check_allocation`).

The first call in a fresh environment compiles the Numba kernels (about 20–60 s); a progress
bar and an INFO log message say so, and the compiled code is cached on disk for later runs
(docs/ising_sampling.md, "First call: Numba compilation").
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from statgeo.checks import check_allocation, check_bool, check_choice, check_int, check_real
from statgeo.grid import ParameterGrid
from statgeo.models.compilation import compile_notice
from statgeo.models.limits import MAX_SWEEPS, check_sweeps, check_work
from statgeo.progress import progress_bar, progress_disabled
from statgeo.seeding import as_seed_sequence, xoshiro_states
from statgeo.stats import integrated_autocorrelation_time

__all__ = ["run_chains", "check_natural_grid", "needs_cluster_moves", "BACKENDS", "ALGORITHMS", "ALGORITHM_CODES",
           "MAX_L"]

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "numba", "cupy")
ALGORITHMS = ("auto", "metropolis", "wolff", "hybrid")
#: largest linear size accepted: one L×L int8 configuration is 2^30 bytes at L = 32768
MAX_L = 2**15
#: pilot run lengths (sweeps) for the automatic burn-in/thinning rule, per algorithm
PILOT_BURN = {"metropolis": 200, "wolff": 20, "hybrid": 20}
PILOT_SWEEPS = {"metropolis": 1000, "wolff": 200, "hybrid": 200}
#: shortest pilot accepted (sweeps): a shorter series cannot measure τ_int
MIN_PILOT_SWEEPS = 10
#: an automatic pilot (``pilot_sweeps="auto"``) doubles while it is shorter than 4c τ_int, up to
#: this factor (1000 → 8000 sweeps for Metropolis, 200 → 1600 for Wolff and the hybrid)
PILOT_EXTENSION = 8
#: minimal total burn-in (sweeps)
MIN_BURN_IN = {"metropolis": 200, "wolff": 20, "hybrid": 20}
BURN_IN_TAUS = 20.0
THIN_TAUS = 2.0
#: Wolff calibration (warm-up moves, measured moves) fixing the moves per sweep ≈ N/⟨|C|⟩
WOLFF_CALIBRATION = (50, 100)
#: Sokal window constant used for τ_int
SOKAL_C = 5.0


# ----------------------------------------------------------------------------- validation
def check_natural_grid(grid: ParameterGrid) -> tuple[np.ndarray, np.ndarray]:
    """Validate an Ising grid and return its natural coordinates (K, η) at every point.

    The grid must have natural names ("K", "eta"), either directly (a grid in (K, η) with the
    identity map) or through :func:`~statgeo.coordinates.ising_temperature_field_map` from
    (T, H). Requires T > 0 (when the grid has a ``T`` axis), K > 0 (ferromagnet) and finite
    K, η.

    Parameters
    ----------
    grid : ParameterGrid
        The grid to check.

    Returns
    -------
    K, eta : numpy.ndarray
        float64 arrays of shape (grid.size,), the points in flat C order.

    Raises
    ------
    TypeError
        ``grid`` is not a :class:`~statgeo.grid.ParameterGrid`.
    ValueError
        Its natural coordinates are not ("K", "eta"), T ≤ 0, K ≤ 0 or a coordinate is not
        finite.

    Examples
    --------
    >>> from statgeo.grid import ParameterGrid
    >>> K, eta = check_natural_grid(ParameterGrid.from_ranges(K=[0.3, 0.4], eta=[0.0]))
    >>> K.tolist(), eta.tolist()
    ([0.3, 0.4], [0.0, 0.0])
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a statgeo.grid.ParameterGrid, got {type(grid).__name__}")
    if tuple(grid.natural_names) != ("K", "eta"):
        raise ValueError(
            f"grid must have natural coordinates ('K', 'eta') (a (K, eta) grid, or a (T, H) grid with "
            f"ising_temperature_field_map(J)); got natural names {grid.natural_names}"
        )
    if grid.size == 0:
        raise ValueError("grid must not be empty")
    if "T" in grid.names:
        check_real("grid axis T (temperature)", grid["T"].values, low=0.0, low_inclusive=False)
    with np.errstate(all="ignore"):
        t = grid.natural_points()
    K = check_real("grid coupling K = J/T", t[:, 0], low=0.0, low_inclusive=False, high=np.inf,
                   high_inclusive=False)
    eta = check_real("grid field eta = H/T", t[:, 1], low=-np.inf, high=np.inf, low_inclusive=False,
                     high_inclusive=False)
    return K.astype(np.float64), eta.astype(np.float64)


def _check_L(L: Any, algorithm: str) -> int:
    L = check_int("L", L, min=2, max=MAX_L)
    if algorithm == "metropolis" and L % 2:
        raise ValueError(
            f"L must be even for the checkerboard Metropolis sampler (the two sublattices of an odd "
            f"torus are not independent: a site and its wrapped neighbour share a colour), got L={L}; "
            f"use algorithm='wolff' for odd L"
        )
    if algorithm in ("wolff", "hybrid", "auto") and L >= 2**15:
        raise ValueError(f"L must be an integer in [2, {2**15 - 1}] for algorithm={algorithm!r} (the cluster "
                         f"stack packs the row and column in 16 bits each), got {L}; use algorithm='metropolis'")
    return L


def _resolve(backend: str, algorithm: str) -> tuple[str, str]:
    check_choice("backend", backend, BACKENDS)
    check_choice("algorithm", algorithm, ALGORITHMS)
    if backend == "auto":
        backend = "numba"
    if algorithm == "auto" and backend == "cupy":
        algorithm = "metropolis"
    if backend == "cupy" and algorithm in ("wolff", "hybrid"):
        raise ValueError(f"algorithm={algorithm!r} is implemented for backend='numba' only; use backend='numba' "
                         "or algorithm='metropolis' with backend='cupy'")
    return backend, algorithm


def _auto_or_int(name: str, value: Any, min: int) -> int | None:
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(f"{name} must be 'auto' or an integer in [{min}, {MAX_SWEEPS}], got {value!r}")
        return None
    return check_sweeps(name, value, min=min)


def _child(ss: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """The k-th child of ``ss`` without mutating it (same seed → same children, always)."""
    return np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (k,))


# ----------------------------------------------------------------------------- engines
class _NumbaEngine:
    """Replica state and schedule runner for the Numba kernels."""

    def __init__(self, K: np.ndarray, eta: np.ndarray, L: int, algorithm: str, ss: np.random.SeedSequence):
        from statgeo.models.kernels import ising_numba as k

        self.k = k
        self.L = L
        self.algorithm = algorithm
        R = K.shape[0]
        lanes = k.W if algorithm == "metropolis" else 1
        self.rng = k.rng_lanes(xoshiro_states(ss, R * lanes), R, lanes)
        init = np.where(eta < 0, -1, 1).astype(np.int8)[:, None, None] * np.ones((1, L, L), np.int8)
        if algorithm == "metropolis":
            self.state = k.pack(np.ascontiguousarray(init))
            self.thr = k.metropolis_thresholds(K, eta)
        else:
            self.state = np.ascontiguousarray(init)
            self.padd = k.wolff_thresholds(K)
            self.eta = np.ascontiguousarray(eta, dtype=np.float64)
            self.local = k.metropolis_thresholds(K, eta) if algorithm == "hybrid" else None
            size = k.wolff_calibrate(self.state, self.padd, self.eta, self.rng, WOLFF_CALIBRATION[0],
                                     WOLFF_CALIBRATION[1], local=self.local)
            self.moves = np.maximum(1, np.rint(L * L / size)).astype(np.int64)

    def run(self, burn: np.ndarray, thin: np.ndarray, n_rec: int, store: bool):
        R = burn.shape[0]
        L = self.L
        spins = np.empty((R, n_rec if store else 0, L, L), np.int8)
        B = np.empty((R, n_rec), np.int64)
        M = np.empty((R, n_rec), np.int64)
        burn = np.ascontiguousarray(burn, np.int64)
        thin = np.ascontiguousarray(thin, np.int64)
        if self.algorithm == "metropolis":
            self.k.metropolis_schedule(self.state, self.thr, self.rng, burn, thin, spins, B, M)
        else:
            self.k.wolff_schedule(self.state, self.padd, self.eta, self.moves, self.rng, burn, thin, spins, B, M,
                                  local=self.local)
        return spins, B, M


def _make_engine(backend, K, eta, L, algorithm, ss):
    if backend == "numba":
        return _NumbaEngine(K, eta, L, algorithm, ss)
    from statgeo.models.kernels.ising_cupy import CupyMetropolisEngine

    return CupyMetropolisEngine(K, eta, L, ss)


def _run_chunked(engine, burn, thin, n_rec, store, progress, desc):
    """Run the schedule in ≤ 20 chunks of records so that a progress bar can advance."""
    n_chunks = int(min(20, max(1, n_rec)))
    edges = np.linspace(0, n_rec, n_chunks + 1).astype(int)
    outs = []
    zero = np.zeros_like(burn)
    with progress_bar(total=n_rec, desc=desc, progress=progress) as bar:
        for c in range(n_chunks):
            m = int(edges[c + 1] - edges[c])
            if m == 0:
                continue
            outs.append(engine.run(burn if c == 0 else zero, thin, m, store))
            bar.update(m)
    spins = np.concatenate([o[0] for o in outs], axis=1)
    B = np.concatenate([o[1] for o in outs], axis=1)
    M = np.concatenate([o[2] for o in outs], axis=1)
    return spins, B, M


def _check_memory(R: int, L: int, n_per: int, pilot: int, store: bool, algorithm: str) -> None:
    """Refuse, before any allocation, arrays the machine cannot hold."""
    names = "K/eta (points), replicas_per_point and L"
    check_allocation("the replica states (points × replicas, L, L)", (R, L, L), np.int8, names=names)
    if algorithm == "metropolis":
        check_allocation("the random-number lanes (points × replicas, 4, 16)", (R, 4, 16), np.uint64, names=names)
    if pilot:
        check_allocation("the pilot run's B and M records, chunks and joined (4, points × replicas, "
                         "pilot_sweeps)", (4, R, pilot), np.int64, names="K/eta (points), replicas_per_point and "
                                                                           "pilot_sweeps")
    check_allocation("the B and M records, chunks and joined (4, points × replicas, samples per replica)",
                     (4, R, n_per), np.int64, names="K/eta (points) and n_samples")
    if store:
        check_allocation("the spins array, chunks and joined (2, points × replicas, samples per replica, L, L)",
                         (2, R, n_per, L, L), np.int8, names="K/eta (points), n_samples and L")


def run_chains(
    K: Any,
    eta: Any,
    L: int,
    n_samples: int,
    *,
    seed: int | np.random.SeedSequence,
    backend: str = "auto",
    algorithm: str = "auto",
    burn_in: int | str = "auto",
    thin: int | str = "auto",
    replicas_per_point: int = 1,
    store_spins: bool = True,
    progress: bool | None = None,
    pilot_sweeps: int | str = "auto",
) -> dict[str, Any]:
    """Sample the Ising model at a flat list of points (K_p, η_p); the engine behind ``sample``.

    Each point runs ``replicas_per_point`` independent chains from a cold start (all spins
    sign(η), +1 at η = 0): burn-in, then ``n_samples`` records ``thin`` sweeps apart, split
    between the replicas (replica by replica). With ``"auto"`` burn-in or thinning, a pilot
    run measures τ_int first (module docstring).

    Parameters
    ----------
    K, eta : array_like
        Natural parameters K = J/T > 0 and η = H/T of the points, 1-D of the same length
        (lists are accepted), finite.
    L : int
        Linear size, 2 ≤ L ≤ 32768 (even for Metropolis, < 32768 for Wolff).
    n_samples : int
        Records per point, ≥ 1.
    seed : int or numpy.random.SeedSequence
        Same seed, backend and arguments → identical output, whatever the number of threads.
    backend : {"auto", "numba", "cupy"}, default "auto"
        ``"auto"`` is ``"numba"``.
    algorithm : {"auto", "metropolis", "wolff", "hybrid"}, default "auto"
        ``"auto"`` on Numba: per point, checkerboard Metropolis where it mixes and the hybrid
        (one Metropolis sweep + the Wolff moves of one sweep, per sweep) where cluster moves
        are needed (module docstring); on CuPy, Metropolis.
    burn_in : int or "auto", default "auto"
        Total equilibration sweeps before the first record, in [0, 10⁸].
    thin : int or "auto", default "auto"
        Sweeps between records, in [1, 10⁸].
    replicas_per_point : int, default 1
        Independent chains per point (the records are split between them).
    store_spins : bool, default True
        Keep the configurations (else only B and M are recorded).
    progress : bool or None, default None
        Progress bars of the pilot and the main run, and of a first-use Numba compilation
        (None: on a terminal only; ``TQDM_DISABLE=1`` hides them).
    pilot_sweeps : int or "auto", default "auto"
        Length of the pilot run that sets ``"auto"`` burn-in and thinning, in sweeps, in
        [10, 10⁸]; ``"auto"`` is 1000 for Metropolis and 200 for Wolff. Unused when both
        ``burn_in`` and ``thin`` are given.

    Returns
    -------
    dict
        ``spins`` (P, n_samples, L, L) int8 (empty second axis if not ``store_spins``),
        ``B``, ``M`` (P, n_samples) int64, ``tau_int_B``, ``tau_int_M`` (P,) in sweeps,
        ``burn_in``, ``thin`` (P,) int64 in sweeps, ``pilot_sweeps`` (int, 0 when no pilot
        ran; with ``"auto"`` the Metropolis pilot's), ``pilot`` ({algorithm: [pilot burn-in,
        pilot sweeps]} of the pilots that ran), the resolved ``backend`` and ``algorithm``
        (``"auto"`` when chosen per point) and ``algorithm_per_point`` (P,) int8, the
        sampler of each point as in :data:`ALGORITHM_CODES`. ``tau_int_M`` is the larger of
        the τ_int of M and of |M|.

    Raises
    ------
    TypeError
        A count is not an integer, ``K``/``eta`` not real, ``seed``, ``store_spins`` or
        ``progress`` of the wrong type.
    ValueError
        A value out of range (the message gives the range), ``K`` and ``eta`` of different
        shapes, arrays that cannot fit in memory, or more than 10¹⁵ spin updates.

    Examples
    --------
    >>> out = run_chains([0.3, 0.4], [0.0, 0.1], 4, 8, seed=0, burn_in=20, thin=1, progress=False)
    >>> out["B"].shape, out["spins"].shape
    ((2, 8), (2, 8, 4, 4))
    """
    backend, algorithm = _resolve(backend, algorithm)
    L = _check_L(L, algorithm)
    n_samples = check_int("n_samples", n_samples, min=1)
    rpp = check_int("replicas_per_point", replicas_per_point, min=1)
    burn_user = _auto_or_int("burn_in", burn_in, 0)
    thin_user = _auto_or_int("thin", thin, 1)
    pilot_user = _auto_or_int("pilot_sweeps", pilot_sweeps, MIN_PILOT_SWEEPS)
    store_spins = check_bool("store_spins", store_spins)
    progress_disabled(progress)  # TypeError for anything but True, False, None
    for name, v in (("K", K), ("eta", eta)):
        if isinstance(v, np.ndarray) and v.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be a real number or array of reals, got dtype {v.dtype}")
    K = np.atleast_1d(check_real("K", K, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))
    eta = np.atleast_1d(check_real("eta", eta, low=-np.inf, high=np.inf, low_inclusive=False,
                                   high_inclusive=False))
    if K.shape != eta.shape or K.ndim != 1:
        raise ValueError(f"K and eta must be 1-D of the same shape, got {K.shape} and {eta.shape}")
    ss = as_seed_sequence(seed)
    if algorithm == "auto" and L % 2:  # the checkerboard needs an even L: cluster moves everywhere
        algorithm = "hybrid"
    if algorithm == "metropolis":
        stuck = needs_cluster_moves(K, eta, L)
        if stuck.any():
            logger.warning("%d of %d points are in the ordered phase at a field too weak for Metropolis "
                           "(2|eta| N m0 < %g): a local chain stays in the magnetisation branch it starts in "
                           "and misses the other's weight, and its pilot cannot see this; use algorithm='auto' "
                           "(backend='numba') for them", int(stuck.sum()), K.size, BRANCH_LOG_WEIGHT)
    if algorithm != "auto":
        out, _ = _run_one(K, eta, L, n_samples, ss, backend, algorithm, burn_user, thin_user, pilot_user, rpp,
                          store_spins, progress)
        out["algorithm_per_point"] = np.full(K.shape[0], ALGORITHM_CODES[algorithm], np.int8)
        return out
    return _run_auto(K, eta, L, n_samples, ss, burn_user, thin_user, pilot_user, rpp, store_spins, progress)


#: integer codes of the per-point sampler (``algorithm_per_point``; CF flag values)
ALGORITHM_CODES = {"metropolis": 0, "wolff": 1, "hybrid": 2}
#: the weak-field rule of ``algorithm="auto"``: cluster moves where the minority magnetisation
#: branch has a weight above exp(-BRANCH_LOG_WEIGHT) (docstring of :func:`needs_cluster_moves`)
BRANCH_LOG_WEIGHT = 20.0
#: the slow-chain rule of ``algorithm="auto"``: Metropolis τ_int above this (sweeps) hands the
#: point to the hybrid; 50 is also the most the default 1000-sweep pilot measures (pilot / 4c)
METROPOLIS_TAU_LIMIT = PILOT_SWEEPS["metropolis"] / (4 * SOKAL_C)


def needs_cluster_moves(K: np.ndarray, eta: np.ndarray, L: int) -> np.ndarray:
    """Points where a local sampler cannot be trusted whatever its measured τ_int: the ordered
    phase in a field too weak to suppress the other magnetisation branch.

    Below K_c = ln(1 + √2)/2 the magnetisation has one branch. Above it the two branches
    ±N m₀ (m₀ = (1 − sinh(2K)⁻⁴)^{1/8}, Onsager–Yang) have relative weight ≈ exp(−2|η| N m₀);
    a Metropolis chain started in the majority branch never crosses to the other on a large
    lattice, and its pilot run cannot see the missing branch. Cluster moves are needed where
    2 |η| N m₀ < ``BRANCH_LOG_WEIGHT`` (20: branches weighted below e⁻²⁰ are negligible).

    Parameters
    ----------
    K, eta : numpy.ndarray
        The points, 1-D of the same length.
    L : int
        Linear size (N = L²).

    Returns
    -------
    numpy.ndarray
        bool, True where cluster moves are needed.
    """
    K = np.asarray(K, np.float64)
    k_c = 0.5 * math.log1p(math.sqrt(2.0))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        m0 = np.where(K > k_c, np.maximum(1.0 - np.sinh(2.0 * K) ** -4.0, 0.0) ** 0.125, 0.0)
    return (K > k_c) & (2.0 * np.abs(eta) * L * L * m0 < BRANCH_LOG_WEIGHT)


def _run_auto(K, eta, L, n_samples, ss, burn_user, thin_user, pilot_user, rpp, store_spins, progress):
    """``algorithm="auto"`` on Numba: checkerboard Metropolis where it mixes, the hybrid where
    cluster moves are needed (weak field in the ordered phase, or a Metropolis pilot τ_int above
    ``METROPOLIS_TAU_LIMIT``); the outputs merged point by point."""
    P = K.shape[0]
    cluster = needs_cluster_moves(K, eta, L)
    local = np.flatnonzero(~cluster)
    out = None
    if local.size:
        out, handed = _run_one(K[local], eta[local], L, n_samples, _child(ss, 0), "numba", "metropolis", burn_user,
                               thin_user, pilot_user, rpp, store_spins, progress, hand_off_tau=METROPOLIS_TAU_LIMIT)
        cluster[local[handed]] = True
        out = _expand(out, local, P)
    algo = np.where(cluster, ALGORITHM_CODES["hybrid"], ALGORITHM_CODES["metropolis"]).astype(np.int8)
    if cluster.any():
        idx = np.flatnonzero(cluster)
        hyb, _ = _run_one(K[idx], eta[idx], L, n_samples, _child(ss, 1), "numba", "hybrid", burn_user, thin_user,
                          pilot_user, rpp, store_spins, progress)
        if out is None:
            out = _expand(hyb, idx, P)
        else:
            for key in _PER_POINT_KEYS:
                out[key][idx] = hyb[key]
        out["pilot"] = {**out.get("pilot", {}), **hyb["pilot"]}
    out["algorithm"] = "auto"
    out["algorithm_per_point"] = algo
    return out


#: the outputs of a run with one entry per point (merged point by point by ``algorithm="auto"``)
_PER_POINT_KEYS = ("spins", "B", "M", "tau_int_B", "tau_int_M", "burn_in", "thin")


def _expand(out: dict, idx: np.ndarray, P: int) -> dict:
    """Per-point arrays of a run on the points ``idx`` placed into arrays for all P points."""
    full = dict(out)
    for key in _PER_POINT_KEYS:
        v = out[key]
        arr = np.zeros((P,) + v.shape[1:], v.dtype)
        arr[idx] = v
        full[key] = arr
    return full


def _pilot_tau(Bp: np.ndarray, Mp: np.ndarray, P: int, rpp: int) -> tuple[np.ndarray, np.ndarray]:
    """τ_int per point (largest over its replicas) of B and of M: the larger of M's own (the
    field's sufficient statistic: a chain that rarely changes the sign of M shows here) and
    |M|'s (the slow mode of cluster moves, which flip the sign of M at η = 0)."""
    tB = integrated_autocorrelation_time(Bp, axis=-1, c=SOKAL_C).reshape(P, rpp)
    tM = np.maximum(integrated_autocorrelation_time(Mp, axis=-1, c=SOKAL_C),
                    integrated_autocorrelation_time(np.abs(Mp), axis=-1, c=SOKAL_C)).reshape(P, rpp)
    return tB.max(axis=1), tM.max(axis=1)


def _run_one(K, eta, L, n_samples, ss, backend, algorithm, burn_user, thin_user, pilot_user, rpp, store_spins,
             progress, hand_off_tau=None):
    """One algorithm at the points (K, eta) (validated); returns the outputs and, with
    ``hand_off_tau``, a mask of the points whose pilot τ_int exceeded it: those are run for
    only the records (no burn-in, thinning 1) and their outputs are to be replaced."""
    P = K.shape[0]
    R = P * rpp
    n_per = -(-n_samples // rpp)
    need_pilot = burn_user is None or thin_user is None
    ps = (PILOT_SWEEPS[algorithm] if pilot_user is None else pilot_user) if need_pilot else 0
    pb = PILOT_BURN[algorithm] if need_pilot else 0
    # "auto" pilots double while they are short for the τ_int they measure, up to PILOT_EXTENSION ×
    ps_max = ps * PILOT_EXTENSION if need_pilot and pilot_user is None else ps
    _check_memory(R, L, n_per, ps_max, store_spins, algorithm)
    # the work known before the pilot: pilot + burn-in + records at the given (or the least) thinning
    burn_known = 0 if burn_user is None else max(burn_user - (pb + ps), 0)
    check_work("spin updates", R * (pb + ps + burn_known + n_per * (thin_user or 1)) * L * L,
               "K/eta (points), replicas_per_point, n_samples, burn_in, thin, pilot_sweeps and L")
    Kr = np.repeat(K, rpp)
    er = np.repeat(eta, rpp)
    with compile_notice(progress, f"the Ising {algorithm} sampler"):
        engine = _make_engine(backend, Kr, er, L, algorithm, _child(ss, 0))

        pilot_total = 0
        tau_B = tau_M = None
        handed = np.zeros(P, bool)
        if need_pilot:
            _, Bp, Mp = _run_chunked(engine, np.full(R, pb), np.ones(R, np.int64), ps, False, progress,
                                     "ising pilot")
            while True:
                tau_B, tau_M = _pilot_tau(Bp, Mp, P, rpp)
                tau = np.maximum(tau_B, tau_M)
                if hand_off_tau is not None:
                    handed = tau > hand_off_tau
                kept = tau[~handed]
                short = np.any(kept > ps / (4 * SOKAL_C))
                if not short or ps * 2 > ps_max:
                    break
                # the chains continue: the pilot's second half is as long as everything before it
                check_work("spin updates", R * ps * L * L, "the measured tau_int (the pilot's extension) and L")
                _, Bx, Mx = _run_chunked(engine, np.zeros(R, np.int64), np.ones(R, np.int64), ps, False, progress,
                                         "ising pilot (extended)")
                Bp, Mp = np.concatenate([Bp, Bx], axis=1), np.concatenate([Mp, Mx], axis=1)
                ps *= 2
            pilot_total = pb + ps
            if short:
                logger.warning("pilot run of %d sweeps is short for the largest tau_int=%.1f sweeps; pass "
                               "pilot_sweeps>=%d, or burn_in/thin explicitly for such points", ps,
                               float(kept.max()), int(math.ceil(4 * SOKAL_C * float(kept.max()))))
        if burn_user is None:
            burn_total = np.maximum(MIN_BURN_IN[algorithm], np.ceil(BURN_IN_TAUS * tau)).astype(np.int64)
            burn_total = np.maximum(burn_total, pilot_total)
        else:
            burn_total = np.full(P, max(burn_user, pilot_total), np.int64)
        thin_pt = (np.maximum(1, np.ceil(THIN_TAUS * tau)).astype(np.int64) if thin_user is None
                   else np.full(P, thin_user, np.int64))
        burn_total[handed] = pilot_total  # handed-off points: only the records, to be replaced
        thin_pt[handed] = 1
        extra = np.repeat(burn_total - pilot_total, rpp)
        if need_pilot:  # the automatic burn-in and thinning are known now: the rest of the run
            rest = float(np.sum((burn_total - pilot_total).astype(np.float64) + float(n_per) * thin_pt))
            check_work("spin updates", int(rest * rpp * L * L),
                       "the measured tau_int (automatic burn_in/thin), n_samples, replicas_per_point and L")
        spins, B, M = _run_chunked(engine, extra, np.repeat(thin_pt, rpp), n_per, store_spins, progress,
                                   f"ising {algorithm} L={L}")
    spins = spins.reshape((P, rpp * spins.shape[1]) + spins.shape[2:])[:, :n_samples if store_spins else 0]
    B = B.reshape(P, rpp * n_per)[:, :n_samples]
    M = M.reshape(P, rpp * n_per)[:, :n_samples]
    if tau_B is None:  # no pilot: measure on the stored chain (an upper bound when thin > τ)
        if n_samples >= 2:
            tau_B = integrated_autocorrelation_time(B, axis=-1, c=SOKAL_C) * thin_pt
            tau_M = integrated_autocorrelation_time(np.abs(M), axis=-1, c=SOKAL_C) * thin_pt
        else:
            tau_B = tau_M = np.full(P, np.nan)
    return {"spins": spins, "B": B, "M": M, "tau_int_B": np.asarray(tau_B, np.float64),
            "tau_int_M": np.asarray(tau_M, np.float64), "burn_in": burn_total, "thin": thin_pt,
            "pilot_sweeps": int(ps), "pilot": {algorithm: [int(pb), int(ps)]} if need_pilot else {},
            "backend": backend, "algorithm": algorithm}, handed
