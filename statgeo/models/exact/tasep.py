"""Exact references of the open TASEP over a parameter grid, as a labelled ``xr.Dataset``.

Collects the closed forms (:mod:`.tasep_closed`), the finite matrix representation
(:mod:`.tasep_matrix`) and the observable Fisher information (:mod:`.tasep_fisher`), and
re-exports their public functions.

Which "log Z" is which (docs/tasep.md, "Which log Z is which"): ``log_z`` = ln Z_N is the
log-partition function of a latent-count exponential family in θ = (−ln α, −ln β); its Hessian
``hessian_log_z`` is the complete-data Fisher information. Configurations only reveal
``observable_fisher`` F_obs = ∇²_θ ln Z_N − E[Cov(counts | τ)] ⪯ ∇²_θ ln Z_N.
"""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr

from statgeo.checks import check_allocation, check_bool, check_choice, check_int
from statgeo.grid import ParameterGrid
from statgeo.models.compilation import compile_notice
from statgeo.models.limits import check_size, check_work
from statgeo.models.exact.tasep_closed import (
    CLOSED_FORM_MAX_N,
    QUADRATIC_MAX_N,
    _WHY_QUADRATIC,
    check_rates,
    current,
    density_profile,
    log_partition,
    log_partition_all,
    log_partition_derivatives,
)
from statgeo.models.exact.tasep_fisher import observable_fisher_enumeration, observable_fisher_from_samples
from statgeo.models.exact.tasep_matrix import (
    MAX_ENUMERATION_N,
    configuration_log_prob,
    configuration_log_weight,
    configuration_scores,
    enumerate_law,
    log_partition_matrix,
    sample_exact,
    tasep_matrices,
)
from statgeo.progress import progress_bar, progress_disabled
from statgeo.provenance import config_attr, versions
from statgeo.seeding import as_seed_sequence

__all__ = [
    "check_rates",
    "check_tasep_grid",
    "tasep_exact",
    "log_partition",
    "log_partition_derivatives",
    "log_partition_all",
    "log_partition_matrix",
    "current",
    "density_profile",
    "tasep_matrices",
    "configuration_log_weight",
    "configuration_log_prob",
    "configuration_scores",
    "enumerate_law",
    "sample_exact",
    "observable_fisher_enumeration",
    "observable_fisher_from_samples",
    "MAX_ENUMERATION_N",
    "ENUMERATION_AUTO_MAX_N",
    "CLOSED_FORM_MAX_N",
    "QUADRATIC_MAX_N",
]

logger = logging.getLogger(__name__)

#: ``fisher="auto"`` enumerates up to this N and uses exact samples above it
ENUMERATION_AUTO_MAX_N = 14

_NATURAL = ["theta_alpha", "theta_beta"]
_PHYSICAL = ["alpha", "beta"]


def check_tasep_grid(grid: ParameterGrid) -> tuple[np.ndarray, np.ndarray]:
    """Validate a TASEP grid (axes ``alpha``, ``beta`` with values in (0, 1]) and return its mesh.

    Parameters
    ----------
    grid : ParameterGrid
        Axes named ``alpha``, ``beta`` in that order (e.g.
        :meth:`statgeo.models.TasepModel.natural_grid`).

    Returns
    -------
    alpha, beta : numpy.ndarray
        The mesh, each of shape ``grid.shape``.

    Raises
    ------
    TypeError
        ``grid`` is not a :class:`~statgeo.grid.ParameterGrid`.
    ValueError
        Wrong axes, or a rate outside (0, 1].

    Examples
    --------
    >>> from statgeo.grid import ParameterGrid
    >>> A, B = check_tasep_grid(ParameterGrid.from_ranges(alpha=[0.3, 0.6], beta=[0.5]))
    >>> A.shape
    (2, 1)
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a statgeo.grid.ParameterGrid, got {type(grid).__name__}")
    if grid.names != ("alpha", "beta"):
        raise ValueError(f"grid must have axes ('alpha', 'beta') in that order, got {grid.names}")
    A, B = grid.mesh()
    check_rates(grid["alpha"].values, 1.0)
    check_rates(1.0, grid["beta"].values)
    return A, B


def _jacobian(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """∂θ_i/∂p_j = diag(−1/α, −1/β) (statgeo.coordinates.tasep_rates_map)."""
    J = np.zeros(A.shape + (2, 2))
    J[..., 0, 0] = -1.0 / A
    J[..., 1, 1] = -1.0 / B
    return J


def tasep_exact(grid: ParameterGrid, N: int, fisher: str = "auto", *, n_fisher_samples: int = 4096,
                seed: int | np.random.SeedSequence = 0, density: bool = True,
                progress: bool | None = None) -> xr.Dataset:
    """Exact TASEP references over an (α, β) grid.

    Variables (dims ``alpha``, ``beta`` plus those named):

    * ``log_z`` = ln Z_N (closed form, DEHP 1993), ``log_z_per_site`` = ln Z_N / N;
    * ``grad_log_z`` (``natural``) = ∇_θ ln Z_N and ``hessian_log_z`` (``natural``, ``natural_``)
      = ∇²_θ ln Z_N, the complete-data Fisher information of the latent-count family; ``metric``
      is the same array (the Hessian metric of ``log_z``, as every model's reference has);
    * ``observable_fisher`` (``natural``, ``natural_``) = F_obs = E[s sᵀ], s = ∂_θ ln P(τ):
      exact by enumeration (``fisher="enumeration"``; default for N ≤ 14) or from
      ``n_fisher_samples`` exact samples with exact scores (``fisher="samples"``), with
      ``observable_fisher_error`` (one standard error; 0 when exact);
    * ``missing_information`` = ∇²_θ ln Z_N − F_obs = E[Cov(counts | τ)] (positive semi-definite);
    * pulled back to (α, β) through J = ∂θ/∂(α, β) = diag(−1/α, −1/β):
      ``grad_log_z_grid`` = Jᵀ∇_θ ln Z_N (``param``), ``metric_grid`` and
      ``observable_fisher_grid`` = Jᵀ g J (``param``, ``param_``; metric tensors);
    * ``current`` J_N = Z_{N−1}/Z_N and, if ``density``, ``density`` ⟨τ_i⟩ (``site``).

    Parameters
    ----------
    grid : ParameterGrid
        Axes ``alpha``, ``beta`` (values in (0, 1]), e.g. from
        :meth:`statgeo.models.TasepModel.natural_grid`.
    N : int
        Number of sites: 1 ≤ N ≤ 10⁶ for ``fisher="none"`` without ``density`` (closed forms,
        O(N) per point), N ≤ 10⁵ otherwise (O(N²) per point), N ≤ 22 for enumeration.
    fisher : {"auto", "enumeration", "samples", "none"}, default "auto"
        How F_obs is computed; ``"auto"``: enumeration for N ≤ 14, exact samples above.
    n_fisher_samples : int, default 4096
        Exact samples per grid point for ``fisher="samples"``, ≥ 2.
    seed : int or numpy.random.SeedSequence, default 0
        Seed of the exact samples (one spawned stream per grid point).
    density : bool, default True
        Compute the density profile (O(N²) per point).
    progress : bool or None, default None
        Progress bar of the F_obs loop over grid points (``fisher="samples"``) and of a
        first-use Numba compilation (None: on a terminal only; ``TQDM_DISABLE=1`` hides it).

    Returns
    -------
    xarray.Dataset
        The variables above with coordinates ``alpha``, ``beta``, ``theta_alpha``,
        ``theta_beta`` (and ``site``); attrs ``config`` (JSON) and ``references``.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid, a count is not an integer, a bad ``seed``,
        ``density`` or ``progress``.
    ValueError
        Bad axes or rates, ``N`` or ``n_fisher_samples`` out of range, an unknown ``fisher``,
        or more than 10¹⁵ operations (points × n_fisher_samples × N² for exact samples).

    Examples
    --------
    >>> from statgeo.models import TasepModel
    >>> g = TasepModel(8).natural_grid(theta_alpha=(0.2, 1.5, 3), theta_beta=(0.2, 1.5, 3))
    >>> ds = tasep_exact(g, 8)
    >>> ds.observable_fisher.dims
    ('alpha', 'beta', 'natural', 'natural_')
    >>> bool((np.linalg.eigvalsh(ds.missing_information.values) > -1e-12).all())  # F_obs ⪯ ∇² ln Z_N
    True
    """
    A, B = check_tasep_grid(grid)
    fisher = check_choice("fisher", fisher, ("auto", "enumeration", "samples", "none"))
    check_bool("density", density)
    N = check_int("N", N, min=1)
    if fisher == "none" and not density:
        N = check_size("N", N, CLOSED_FORM_MAX_N, "the closed forms cost O(N) time and memory per point")
    else:
        N = check_size("N", N, QUADRATIC_MAX_N, _WHY_QUADRATIC)
    n_fisher_samples = check_int("n_fisher_samples", n_fisher_samples, min=2)
    ss = as_seed_sequence(seed)
    progress_disabled(progress)
    if fisher == "auto":
        fisher = "enumeration" if N <= ENUMERATION_AUTO_MAX_N else "samples"
    if fisher == "enumeration" and N > MAX_ENUMERATION_N:
        raise ValueError(f"N must be ≤ {MAX_ENUMERATION_N} for fisher='enumeration', got {N}")
    if density:
        check_allocation("the density profile (grid points, N)", (A.size, N), names="N and the grid")
        check_work("operations", A.size * N * N, "N and the grid (points × N² for the density profile)")
    if fisher == "enumeration":
        check_work("operations", A.size * N * (1 << N), "N and the grid (points × N 2^N for the enumeration)")
    if fisher == "samples":
        check_allocation("the exact samples of one point (n_fisher_samples, N)", (n_fisher_samples, N), np.int8,
                         names="n_fisher_samples and N")
        check_work("operations", A.size * n_fisher_samples * N * N,
                   "n_fisher_samples, N and the grid (points × n_fisher_samples × N²)")

    dims = ("alpha", "beta")
    lz, grad, hess = log_partition_derivatives(N, A, B)
    J = _jacobian(A, B)
    data = {
        "log_z": (dims, lz, {"long_name": "ln Z_N (log-partition of the latent-count family in θ)",
                             "units": "1", "reference": "closed form, Derrida et al. 1993"}),
        "log_z_per_site": (dims, lz / N, {"long_name": "ln Z_N / N", "units": "1"}),
        "grad_log_z": (dims + ("natural",), grad, {"long_name": "∇_θ ln Z_N", "units": "1"}),
        "hessian_log_z": (dims + ("natural", "natural_"), hess,
                          {"long_name": "∇²_θ ln Z_N (complete-data Fisher information; upper bound on F_obs)",
                           "units": "1"}),
        "metric": (dims + ("natural", "natural_"), hess,
                   {"long_name": "Hessian metric of log_z in θ (= hessian_log_z, complete-data Fisher)",
                    "units": "1"}),
        "grad_log_z_grid": (dims + ("param",), np.einsum("...ij,...i->...j", J, grad),
                                {"long_name": "∂ ln Z_N / ∂(α, β)", "units": "1"}),
        "metric_grid": (dims + ("param", "param_"),
                                   np.einsum("...ki,...kl,...lj->...ij", J, hess, J),
                                   {"long_name": "Jᵀ ∇²_θ ln Z_N J (complete-data Fisher metric in (α, β))",
                                    "units": "1"}),
        "current": (dims, current(N, A, B), {"long_name": "stationary current J_N = Z_{N-1}/Z_N", "units": "1"}),
    }
    fisher_info: dict = {"method": fisher}
    if fisher != "none":
        if fisher == "enumeration":
            with compile_notice(progress, "the TASEP references"):
                F = observable_fisher_enumeration(N, A, B)
            Ferr = np.zeros_like(F)
            fisher_info["reference"] = "exact: sum over all 2^N configurations"
        else:
            F = np.empty(A.shape + (2, 2))
            Ferr = np.empty(A.shape + (2, 2))
            children = ss.spawn(A.size)
            with compile_notice(progress, "the TASEP references"):
                for m in progress_bar(range(A.size), desc="TASEP F_obs (exact samples)", progress=progress):
                    i = np.unravel_index(m, A.shape)
                    f, e = observable_fisher_from_samples(N, A[i], B[i], n_fisher_samples, children[m])
                    F[i], Ferr[i] = f, e
            fisher_info.update(reference="Monte Carlo: exact i.i.d. samples with exact scores",
                               n_samples=n_fisher_samples)
        data["observable_fisher"] = (dims + ("natural", "natural_"), F, {
            "long_name": "observable Fisher information F_obs = E[∂_θ ln P ∂_θ ln Pᵀ] in θ", "units": "1",
            "method": fisher_info["reference"]})
        data["observable_fisher_error"] = (dims + ("natural", "natural_"), Ferr, {
            "long_name": "standard error of observable_fisher (0 when exact)", "units": "1"})
        data["missing_information"] = (dims + ("natural", "natural_"), hess - F, {
            "long_name": "∇²_θ ln Z_N − F_obs = E[Cov(latent counts | τ)]", "units": "1"})
        data["observable_fisher_grid"] = (dims + ("param", "param_"),
                                              np.einsum("...ki,...kl,...lj->...ij", J, F, J),
                                              {"long_name": "Jᵀ F_obs J (observable Fisher metric in (α, β))",
                                               "units": "1"})
    coords = dict(grid.coords())
    coords.update({
        "natural": ("natural", _NATURAL, {"long_name": "natural coordinate θ = (−ln α, −ln β)"}),
        "natural_": ("natural_", _NATURAL, {"long_name": "natural coordinate θ (second index)"}),
        "param": ("param", _PHYSICAL, {"long_name": "grid coordinate (α, β)"}),
        "param_": ("param_", _PHYSICAL, {"long_name": "grid coordinate (second index)"}),
        "theta_alpha": (dims, -np.log(A), {"long_name": "θ_α = −ln α", "units": "1"}),
        "theta_beta": (dims, -np.log(B), {"long_name": "θ_β = −ln β", "units": "1"}),
    })
    if density:
        with compile_notice(progress, "the TASEP references"):
            rho = density_profile(N, A, B)
        data["density"] = (dims + ("site",), rho,
                           {"long_name": "stationary density ⟨τ_i⟩ (DEHP; ⟨τ_N⟩ = J/β)", "units": "1"})
        coords["site"] = ("site", np.arange(1, N + 1), {"long_name": "site index i", "units": "1"})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update({
        "title": f"open TASEP exact references, N = {N}",
        "model": "tasep",
        "config": config_attr({"N": N, "fisher": fisher_info, "seed": ss, "grid": grid.to_json(),
                               "versions": versions()}),
        "which_log_z": ("log_z is the log-partition of a latent-count exponential family in θ; hessian_log_z "
                        "is its complete-data Fisher information; observable_fisher is what configurations "
                        "(and posteriors built from them) can reveal."),
        "references": "Derrida, Evans, Hakim, Pasquier, J. Phys. A 26, 1493 (1993)",
    })
    logger.debug("tasep_exact: N=%d, %d grid points, fisher=%s", N, A.size, fisher)
    return ds
