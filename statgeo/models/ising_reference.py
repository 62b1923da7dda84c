"""Monte Carlo reference for the Ising model at h ≠ 0, anchored to the exact h = 0 line.

No exact result exists at η ≠ 0 for lattices beyond the reach of the transfer matrix
(L ≤ 12; docs/ising_exact.md, "Which method where"). Since ∂ log Z/∂η = ⟨M⟩,

    log Z(K, η) = log Z_Kaufman(K) + ∫₀^η ⟨M⟩_{K,η'} dη',

with ⟨M⟩ measured by Monte Carlo at quadrature nodes 0 = η₀, η₁, … (all grid values of η at
that K included). The integral uses the composite trapezoid rule with the Euler–Maclaurin
end correction per interval, which the measured slope d⟨M⟩/dη = Var(M) makes available:

    ∫_a^b f ≈ (b − a)/2 · (f_a + f_b) + (b − a)²/12 · (f'_a − f'_b),   f = ⟨M⟩, f' = Var(M)

(error O(h⁵) per interval; Davis & Rabinowitz, "Methods of Numerical Integration", §2.9).

The rule is only accurate where ⟨M⟩ is smooth on the scale of an interval. ⟨M⟩ varies on the
scale 1/sd(M) (its derivatives are the cumulants of M: d⟨M⟩/dη = Var(M), …), and in the
ordered phase of a large torus sd(M) ≈ m₀N at η = 0: ⟨M⟩ jumps from −m₀N to m₀N within
|η| ≲ 1/(m₀N) (7·10⁻⁵ at L = 128). A fixed set of nodes misses the jump and biases log Z by
many nats, far outside the statistical error (measured at L = 12, K = 0.6, η = −0.1 with the
grid's nodes only: 1.28 nats off the transfer matrix, 16σ). So the nodes are refined: every
interval whose end correction h²/12 · |Var_a(M) − Var_b(M)| exceeds ``tolerance`` (nats) is
bisected and its midpoint sampled, round after round. The neglected term is the next one of
the same series, smaller than the correction by about (h/ℓ)²/60 where ℓ is the scale on which
⟨M⟩ bends. The ends bound what happens inside: by the Griffiths–Hurst–Sherman inequality,
Var(M) decreases with |η| at fixed K, and 0 is always a node, so Var(M) is monotone on every
interval and a peak cannot hide between two nodes.

Nodes are independent chains, so the statistical error is
σ²(I) = Σ_k w_k² σ²(⟨M⟩_k) + Σ_k c_k² σ²(Var(M)_k) with the rule's weights w_k, c_k.
The gradient (⟨B⟩, ⟨M⟩) and the metric Cov(B, M) at each grid point are sample estimates
(:func:`statgeo.models.thermodynamics`: τ-corrected errors, blocked jackknife). See
docs/ising_sampling.md, "Monte Carlo reference anchored to h = 0".
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import xarray as xr

from statgeo.checks import check_array, check_int, check_real
from statgeo.seeding import as_seed_sequence
from statgeo.provenance import config_attr, versions
from statgeo.grid import ParameterGrid
from statgeo.models.exact.ising_kaufman import kaufman_log_z
from statgeo.models.ising_sampling import (
    MIN_PILOT_SWEEPS,
    _auto_or_int,
    _check_L,
    _resolve,
    check_natural_grid,
    run_chains,
)
from statgeo.progress import progress_disabled
from statgeo.stats import estimate, jackknife

__all__ = ["ising_mc_reference", "quadrature_nodes", "anchored_integral", "unresolved_intervals",
           "MAX_QUADRATURE_STEPS", "QUADRATURE_TOLERANCE", "MAX_REFINEMENTS"]

logger = logging.getLogger(__name__)

#: largest ``n_quad`` accepted (every node is a Monte Carlo chain; 8 is the default)
MAX_QUADRATURE_STEPS = 10_000
#: default bound (nats) on the end correction h²/12 · |Var_a(M) − Var_b(M)| of every quadrature
#: interval [a, b] (module docstring)
QUADRATURE_TOLERANCE = 0.01
#: default number of bisection rounds of the quadrature nodes
MAX_REFINEMENTS = 24


def quadrature_nodes(etas: Any, n_quad: int) -> np.ndarray:
    """Sorted η nodes of the anchored integral: 0, equal steps out to the largest |η|, and ``etas``.

    Parameters
    ----------
    etas : array_like
        The η values that must be nodes (the grid's values at one K), finite reals; lists
        are accepted.
    n_quad : int
        Equal steps from 0 to the largest |η| on each side, 1 ≤ n_quad ≤ 10000.

    Returns
    -------
    numpy.ndarray
        Sorted distinct nodes (float64), 0 included.

    Raises
    ------
    TypeError
        ``etas`` is not real or ``n_quad`` not an integer.
    ValueError
        ``etas`` empty or not finite, ``n_quad`` out of range.

    Examples
    --------
    >>> quadrature_nodes([0.3, -0.1], 3).tolist()
    [-0.1, -0.066..., -0.033..., 0.0, 0.1, 0.2, 0.3]
    """
    etas = check_array("etas", etas, dtype_kind="iuf")
    n_quad = check_int("n_quad", n_quad, min=1, max=MAX_QUADRATURE_STEPS)
    etas = np.asarray(etas, np.float64)
    nodes = [np.zeros(1), etas]
    hi, lo = etas.max(initial=0.0), etas.min(initial=0.0)
    if hi > 0:
        nodes.append(np.linspace(0.0, hi, n_quad + 1))
    if lo < 0:
        nodes.append(np.linspace(lo, 0.0, n_quad + 1))
    return np.unique(np.concatenate(nodes))


def anchored_integral(nodes: Any, f: Any, df: Any, target: float) -> tuple[float, np.ndarray, np.ndarray]:
    """∫₀^target f dη by the end-corrected trapezoid rule on ``nodes`` (which contain 0 and target).

    Per interval [a, b]: (b − a)/2 · (f_a + f_b) + (b − a)²/12 · (f'_a − f'_b) (module
    docstring), summed from 0 to ``target`` (either direction).

    Parameters
    ----------
    nodes : array_like
        Strictly increasing 1-D nodes, finite, containing 0 and ``target`` exactly.
    f : array_like
        The integrand at the nodes (same shape), finite.
    df : array_like
        Its derivative at the nodes (same shape), finite.
    target : float
        The upper limit, one of the nodes.

    Returns
    -------
    value : float
        Σ w_k f_k + Σ c_k f'_k.
    w : numpy.ndarray
        The weights of f (for error propagation).
    c : numpy.ndarray
        The weights of f'.

    Raises
    ------
    TypeError
        A non-real argument.
    ValueError
        Shapes differ, values not finite, nodes not increasing, or 0 / ``target`` not a node.

    Examples
    --------
    >>> x = np.linspace(0.0, 1.0, 5)
    >>> round(anchored_integral(x, x**2, 2 * x, 1.0)[0], 12)  # exact for cubics
    0.333333333333
    """
    nodes = check_array("nodes", nodes, ndim=1, dtype_kind="iuf")
    f = check_array("f", f, ndim=1, dtype_kind="iuf")
    df = check_array("df", df, ndim=1, dtype_kind="iuf")
    if isinstance(target, np.ndarray) and target.dtype.kind not in "iuf":
        raise TypeError(f"target must be a real number, got dtype {target.dtype}")
    target_arr = check_real("target", target)
    if target_arr.ndim != 0:
        raise ValueError(f"target must be a scalar, got shape {target_arr.shape}")
    if f.shape != nodes.shape or df.shape != nodes.shape:
        raise ValueError(f"nodes, f and df must have the same shape, got {nodes.shape}, {f.shape}, {df.shape}")
    if nodes.size > 1 and not np.all(np.diff(nodes) > 0):
        raise ValueError("nodes must be strictly increasing")
    if not np.any(nodes == 0.0):
        raise ValueError("nodes must contain 0 (the anchor of the integral)")
    if not np.any(nodes == target):
        raise ValueError(f"target must be one of the nodes, got {target!r}")
    i0 = int(np.flatnonzero(nodes == 0.0)[0])
    it = int(np.flatnonzero(nodes == target)[0])
    w = np.zeros(nodes.shape)
    c = np.zeros(nodes.shape)
    step = 1 if it >= i0 else -1
    for a in range(i0, it, step):
        b = a + step
        h = nodes[b] - nodes[a]
        w[a] += h / 2
        w[b] += h / 2
        c[a] += h * h / 12
        c[b] -= h * h / 12
    return float(w @ f + c @ df), w, c


def unresolved_intervals(nodes: Any, var: Any, tolerance: float) -> np.ndarray:
    """Indices a of the intervals [a, b] of ``nodes`` with end correction h²/12 · |var_a − var_b| > ``tolerance``.

    Parameters
    ----------
    nodes : array_like
        Strictly increasing 1-D quadrature nodes, finite.
    var : array_like
        Var(M) at the nodes (same shape), finite, ≥ 0.
    tolerance : float
        The bound, > 0.

    Returns
    -------
    numpy.ndarray
        int64 indices of the left ends of the intervals to bisect, increasing.

    Raises
    ------
    TypeError
        A non-real argument.
    ValueError
        Shapes differ, values not finite, ``var`` negative, nodes not increasing or
        ``tolerance`` ≤ 0.

    Examples
    --------
    >>> unresolved_intervals([0.0, 0.1, 0.2], [100.0, 1.0, 1.0], 0.01).tolist()  # 0.1²/12 · 99 = 0.0825
    [0]
    """
    nodes = check_array("nodes", nodes, ndim=1, dtype_kind="iuf")
    var = check_array("var", var, ndim=1, dtype_kind="iuf")
    check_real("tolerance", tolerance, low=0.0, low_inclusive=False)
    if var.shape != nodes.shape:
        raise ValueError(f"nodes and var must have the same shape, got {nodes.shape} and {var.shape}")
    if np.any(var < 0):
        raise ValueError("var must be >= 0")
    if nodes.size > 1 and not np.all(np.diff(nodes) > 0):
        raise ValueError("nodes must be strictly increasing")
    return np.flatnonzero(_end_corrections(nodes, var) > tolerance).astype(np.int64)


def _end_corrections(nodes: np.ndarray, var: np.ndarray) -> np.ndarray:
    """|h²/12 · (var_a − var_b)| of each interval of sorted ``nodes`` (checked by the caller)."""
    h = np.diff(np.asarray(nodes, np.float64))
    return h * h / 12 * np.abs(np.diff(np.asarray(var, np.float64)))


def ising_mc_reference(
    grid: ParameterGrid,
    L: int,
    n_samples: int,
    *,
    seed: int | np.random.SeedSequence,
    n_quad: int = 8,
    backend: str = "auto",
    algorithm: str = "auto",
    burn_in: int | str = "auto",
    thin: int | str = "auto",
    pilot_sweeps: int | str = "auto",
    replicas_per_point: int = 1,
    n_blocks: int = 32,
    tolerance: float = QUADRATURE_TOLERANCE,
    max_refinements: int = MAX_REFINEMENTS,
    progress: bool | None = None,
) -> xr.Dataset:
    """MC-anchored log Z, ∇ log Z and metric of the L×L Ising torus over a (K, η) grid.

    log Z(K, η) = log Z_Kaufman(K, L) + ∫₀^η ⟨M⟩_{K,η'} dη' (module docstring), ∇ log Z =
    (⟨B⟩, ⟨M⟩) and metric = Cov(B, M), all with one-sigma errors.

    Parameters
    ----------
    grid : ParameterGrid
        Natural names ("K", "eta"), 0 < K ≤ 5 (Kaufman's range).
    L : int
        Linear size (even for Metropolis), 2 ≤ L ≤ 32768.
    n_samples : int
        Samples per quadrature node, ≥ 2 · ``n_blocks``.
    seed : int or numpy.random.SeedSequence
        Seed of the chains.
    n_quad : int, default 8
        Equal quadrature steps from 0 to the largest |η| on each side (the grid's own η values
        are added as nodes), 1 ≤ n_quad ≤ 10000.
    backend : {"auto", "numba", "cupy"}, default "auto"
        Passed to :func:`statgeo.models.run_chains`.
    algorithm : {"auto", "metropolis", "wolff", "hybrid"}, default "auto"
        Passed to :func:`statgeo.models.run_chains`.
    burn_in : int or "auto", default "auto"
        Passed to :func:`statgeo.models.run_chains`.
    thin : int or "auto", default "auto"
        Passed to :func:`statgeo.models.run_chains`.
    pilot_sweeps : int or "auto", default "auto"
        Passed to :func:`statgeo.models.run_chains`.
    replicas_per_point : int, default 1
        Passed to :func:`statgeo.models.run_chains`.
    n_blocks : int, default 32
        Jackknife blocks for the covariances, ≥ 2.
    tolerance : float, default QUADRATURE_TOLERANCE (0.01)
        Bound (nats) on the end correction h²/12 · |Var_a(M) − Var_b(M)| of every quadrature
        interval [a, b], > 0: intervals above it are bisected and their midpoints sampled
        (module docstring).
    max_refinements : int, default MAX_REFINEMENTS (24)
        Most bisection rounds, 0 ≤ max_refinements ≤ 64; a warning names the intervals still
        too wide after them.
    progress : bool or None, default None
        Progress bars of the chains (None: on a terminal only; ``TQDM_DISABLE=1`` hides them).

    Returns
    -------
    xarray.Dataset
        Laid out like :func:`~statgeo.models.exact.ising_exact`'s: ``log_z``,
        ``log_z_per_site``, ``grad_log_z`` (…, natural), ``metric`` (…, natural, natural_),
        ``grad_log_z_grid`` (…, param), ``metric_grid`` (…, param, param_) (pulled back to the
        grid coordinates), each with a ``*_error`` companion; attrs ``method =
        "mc_anchored"``, ``L``, ``N``, ``config`` (with ``n_nodes``, ``refinement_rounds`` and
        ``max_end_correction``, the largest left). Quadrature (discretisation) error is not
        included in ``log_z_error``; the refinement keeps it a small fraction of ``tolerance``
        per interval.

    Raises
    ------
    TypeError, ValueError
        A bad grid or argument (see :func:`statgeo.models.run_chains` for the sampler's), K
        outside (0, 5], ``n_samples`` < 2 · ``n_blocks``.

    Warns
    -----
    UserWarning
        Intervals still above ``tolerance`` after ``max_refinements`` rounds.

    Examples
    --------
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(K=[0.3], eta=[0.0, 0.1])
    >>> ref = ising_mc_reference(g, 4, 64, seed=0, n_quad=2, burn_in=50, thin=2, progress=False)
    >>> ref.log_z.dims, bool(ref.log_z_error.isel(eta=0) == 0)
    (('K', 'eta'), True)
    """
    K, eta = check_natural_grid(grid)
    backend_r, algorithm_r = _resolve(backend, algorithm)
    L = _check_L(L, algorithm_r)
    n_quad = check_int("n_quad", n_quad, min=1, max=MAX_QUADRATURE_STEPS)
    n_blocks = check_int("n_blocks", n_blocks, min=2)
    n_samples = check_int("n_samples", n_samples, min=2 * n_blocks)
    tolerance = float(check_real("tolerance", tolerance, low=0.0, low_inclusive=False))
    max_refinements = check_int("max_refinements", max_refinements, min=0, max=64)
    seed_seq = as_seed_sequence(seed)
    _auto_or_int("burn_in", burn_in, 0)
    _auto_or_int("thin", thin, 1)
    _auto_or_int("pilot_sweeps", pilot_sweeps, MIN_PILOT_SWEEPS)
    check_int("replicas_per_point", replicas_per_point, min=1)
    progress_disabled(progress)
    check_real("grid coupling K = J/T", K, low=0.0, low_inclusive=False, high=5.0)
    # quadrature nodes per distinct K, refined where <M> changes within an interval
    Ku = np.unique(K)
    node_sets = [quadrature_nodes(eta[K == k], n_quad) for k in Ku]
    chain_kw = dict(L=L, n_samples=n_samples, backend=backend, algorithm=algorithm, burn_in=burn_in, thin=thin,
                    replicas_per_point=replicas_per_point, store_spins=False, progress=progress,
                    pilot_sweeps=pilot_sweeps)
    Kn = np.concatenate([np.full(n.shape, k) for k, n in zip(Ku, node_sets)])
    en = np.concatenate(node_sets)
    logger.info("mc_anchored reference: %d grid points, %d MC nodes", K.size, Kn.size)
    out = run_chains(Kn, en, seed=seed, **chain_kw)
    B = out["B"].astype(np.float64)
    M = out["M"].astype(np.float64)
    tau_B, tau_M = out["tau_int_B"], out["tau_int_M"]
    rounds = 0
    for rounds in range(1, max_refinements + 1):
        var = M.var(axis=-1, ddof=1)
        new_K, new_eta = [], []
        for k, nodes in zip(Ku, node_sets):
            # chains are kept in node order (per K, increasing eta), so var[Kn == k] follows nodes
            bad = unresolved_intervals(nodes, var[Kn == k], tolerance)
            if bad.size:
                new_K.append(np.full(bad.shape, k))
                new_eta.append((nodes[bad] + nodes[bad + 1]) / 2)
        if not new_K:
            rounds -= 1
            break
        new_K, new_eta = np.concatenate(new_K), np.concatenate(new_eta)
        logger.info("mc_anchored reference: refinement round %d, %d new nodes", rounds, new_K.size)
        sub = run_chains(new_K, new_eta, seed=np.random.SeedSequence(seed_seq.entropy,
                                                                     spawn_key=(*seed_seq.spawn_key, 0x5EED, rounds)),
                         **chain_kw)
        order = np.lexsort((np.concatenate([en, new_eta]), np.searchsorted(Ku, np.concatenate([Kn, new_K]))))
        Kn, en = np.concatenate([Kn, new_K])[order], np.concatenate([en, new_eta])[order]
        B = np.concatenate([B, sub["B"].astype(np.float64)])[order]
        M = np.concatenate([M, sub["M"].astype(np.float64)])[order]
        tau_B = np.concatenate([tau_B, sub["tau_int_B"]])[order]
        tau_M = np.concatenate([tau_M, sub["tau_int_M"]])[order]
        node_sets = [en[Kn == k] for k in Ku]
    var = M.var(axis=-1, ddof=1)
    worst = max((float(_end_corrections(nodes, var[Kn == k]).max(initial=0.0)) for k, nodes in zip(Ku, node_sets)),
                default=0.0)
    if worst > tolerance:
        warnings.warn(f"mc_anchored reference: after {max_refinements} refinement rounds an interval's end "
                      f"correction is still {worst:.3g} nats > tolerance = {tolerance:g}; ln Z may carry a "
                      "quadrature bias not included in its error bar (raise max_refinements)", UserWarning,
                      stacklevel=2)
    sM = estimate(M)
    sB = estimate(B)

    def cov(x, y):
        m = x.shape[-1]
        return ((x - x.mean(-1, keepdims=True)) * (y - y.mean(-1, keepdims=True))).sum(-1) / (m - 1)

    vBB, eBB = jackknife(cov, [B, B], n_blocks=n_blocks)
    vMM, eMM = jackknife(cov, [M, M], n_blocks=n_blocks)
    vBM, eBM = jackknife(cov, [B, M], n_blocks=n_blocks)

    logz0 = np.asarray(kaufman_log_z(Ku, L), np.float64)
    P = K.size
    log_z = np.empty(P)
    log_z_err = np.empty(P)
    node_index = np.empty(P, np.int64)
    offset = 0
    for ki, (k, nodes) in enumerate(zip(Ku, node_sets)):
        sl = slice(offset, offset + nodes.size)
        for p in np.flatnonzero(K == k):
            val, w, c = anchored_integral(nodes, sM.mean[sl], vMM[sl], eta[p])
            log_z[p] = logz0[ki] + val
            log_z_err[p] = np.sqrt(np.sum((w * sM.error[sl]) ** 2) + np.sum((c * eMM[sl]) ** 2))
            node_index[p] = offset + int(np.flatnonzero(nodes == eta[p])[0])
        offset += nodes.size

    q = node_index
    grad = np.stack([sB.mean[q], sM.mean[q]], axis=-1)
    grad_err = np.stack([sB.error[q], sM.error[q]], axis=-1)
    metric = np.stack([np.stack([vBB[q], vBM[q]], -1), np.stack([vBM[q], vMM[q]], -1)], -2)
    metric_err = np.stack([np.stack([eBB[q], eBM[q]], -1), np.stack([eBM[q], eMM[q]], -1)], -2)

    # pull-back to the grid coordinates p (as in ising_exact): ∇_p = Jᵀ ∇_t, g_p = Jᵀ g_t J;
    # errors propagated component-wise in quadrature (correlations between estimates ignored)
    Jac = grid.jacobian()
    grad_p = grid.pull_back_gradient(grad)
    metric_p = grid.pull_back_metric(metric)
    grad_p_err = np.sqrt(np.einsum("...ij,...i->...j", Jac**2, grad_err**2))
    metric_p_err = np.sqrt(np.einsum("...ki,...kl,...lj->...ij", Jac**2, metric_err**2, Jac**2))

    sh = grid.shape
    dims = grid.names
    nat = ("natural",)
    nat2 = ("natural", "natural_")
    par = ("param",)
    par2 = ("param", "param_")
    N = L * L
    ds = xr.Dataset(
        {
            "log_z": (dims, log_z.reshape(sh), {"long_name": "ln Z (MC anchored to Kaufman at eta = 0)", "units": "1"}),
            "log_z_error": (dims, log_z_err.reshape(sh), {"long_name": "one-sigma statistical error of ln Z",
                                                          "units": "1"}),
            "log_z_per_site": (dims, log_z.reshape(sh) / N, {"long_name": "ln Z / N", "units": "1"}),
            "log_z_per_site_error": (dims, log_z_err.reshape(sh) / N, {"long_name": "one-sigma error of ln Z / N",
                                                                       "units": "1"}),
            "grad_log_z": (dims + nat, grad.reshape(sh + (2,)), {"long_name": "grad_t ln Z = (<B>, <M>)", "units": "1"}),
            "grad_log_z_error": (dims + nat, grad_err.reshape(sh + (2,)),
                                 {"long_name": "one-sigma error of grad_t ln Z", "units": "1"}),
            "metric": (dims + nat2, metric.reshape(sh + (2, 2)),
                       {"long_name": "Fisher metric Cov(B, M) in (K, eta)", "units": "1"}),
            "metric_error": (dims + nat2, metric_err.reshape(sh + (2, 2)),
                             {"long_name": "one-sigma jackknife error of the metric", "units": "1"}),
            "grad_log_z_grid": (dims + par, grad_p.reshape(sh + (2,)),
                                {"long_name": "gradient of ln Z in the grid coordinates", "units": "1"}),
            "grad_log_z_grid_error": (dims + par, grad_p_err.reshape(sh + (2,)),
                                      {"long_name": "one-sigma error of grad_log_z_grid", "units": "1"}),
            "metric_grid": (dims + par2, metric_p.reshape(sh + (2, 2)),
                            {"long_name": "Fisher metric in the grid coordinates (J^T g J)", "units": "1"}),
            "metric_grid_error": (dims + par2, metric_p_err.reshape(sh + (2, 2)),
                                  {"long_name": "one-sigma error of metric_grid", "units": "1"}),
            "tau_int_B": (dims, tau_B[q].reshape(sh), {"long_name": "tau_int of B", "units": "sweeps"}),
            "tau_int_M": (dims, tau_M[q].reshape(sh), {"long_name": "tau_int of |M|", "units": "sweeps"}),
        },
        coords={**grid.coords(), **grid.natural_coords(),
                "natural": ("natural", ["K", "eta"]), "natural_": ("natural_", ["K", "eta"]),
                "param": ("param", list(grid.names)), "param_": ("param_", list(grid.names))},
        attrs={
            "title": f"2-D Ising model, {L}x{L} torus, MC-anchored reference",
            "model": "ising",
            "method": "mc_anchored",
            "L": L,
            "N": N,
            "Conventions": "CF-1.8",
            "config": config_attr({"L": L, "n_samples": n_samples, "seed": as_seed_sequence(seed), "n_quad": n_quad,
                                   "backend": out["backend"], "algorithm": out["algorithm"],
                                   "burn_in": burn_in, "thin": thin, "pilot_sweeps": out["pilot_sweeps"],
                                   "replicas_per_point": replicas_per_point,
                                   "n_blocks": n_blocks, "n_nodes": int(Kn.size), "grid": grid.to_json(),
                                   "tolerance": tolerance, "max_refinements": max_refinements,
                                   "refinement_rounds": rounds, "max_end_correction": worst,
                                   "quadrature": "trapezoid with Euler-Maclaurin end correction (f' = Var M)"}),
            "versions": config_attr(versions()),
        },
    )
    return ds
