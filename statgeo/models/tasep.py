"""The open TASEP: the model object (sampler, exact references, oracle posterior, phases).

N sites; particles hop right at rate 1, enter site 1 at rate α and leave site N at rate β,
α, β ∈ (0, 1]. The stationary law is the DEHP matrix product (Derrida, Evans, Hakim,
Pasquier, J. Phys. A 26, 1493, 1993); ln Z_N is the log-partition function of a latent-count
exponential family in θ = (−ln α, −ln β) (:func:`statgeo.coordinates.tasep_rates_map`), whose
Hessian bounds the observable Fisher information F_obs from above (docs/tasep.md).

Samplers: ``method="exact"`` draws i.i.d. configurations from the stationary law by
sequential conditional sampling in a finite matrix representation
(:func:`statgeo.models.exact.sample_exact`); ``method="mc"`` runs the physical process
(:func:`statgeo.models.tasep_mc.simulate_mc`).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import xarray as xr

from statgeo.checks import check_allocation, check_bool, check_choice, check_int, check_real
from statgeo.coordinates import CoordinateMap, tasep_rates_map
from statgeo.geometry.posterior import check_origins, posterior_dataarray
from statgeo.geometry.posterior_exact import average_per_origin, cut_bundles
from statgeo.grid import Axis, ParameterGrid
from statgeo.models.exact.tasep import check_tasep_grid, tasep_exact
from statgeo.models.exact.tasep_matrix import configuration_log_prob, enumerate_law, sample_exact
from statgeo.models.compilation import compile_notice
from statgeo.models.limits import MAX_SWEEPS, check_sweeps, check_work
from statgeo.models.physics_model import (
    PhaseDiagram,
    PhysicsModel,
    _check_range,
    _check_samples,
    per_site_reference,
    register_model,
)
from statgeo.models.tasep_mc import BACKENDS, _resolve_backend, simulate_mc
from statgeo.progress import progress_bar, progress_disabled
from statgeo.provenance import config_attr, versions
from statgeo.seeding import as_seed_sequence

__all__ = ["TasepModel"]

METHODS = ("exact", "mc")
#: largest N accepted by the model (the exact sampler is O(N²) per sample)
MAX_N = 100_000
#: the oracle posterior tabulates ln P over all 2^N configurations up to this N
ORACLE_ENUMERATION_MAX_N = 16


@register_model
class TasepModel(PhysicsModel):
    """The open TASEP with N sites; physical parameters (α, β), natural θ = (−ln α, −ln β).

    Parameters
    ----------
    N : int
        Number of sites, 1 ≤ N ≤ 100000 (the exact sampler costs O(N²) per sample).

    Raises
    ------
    TypeError
        ``N`` is not an integer.
    ValueError
        ``N`` out of range.

    Examples
    --------
    >>> m = TasepModel(10)
    >>> g = m.natural_grid(theta_alpha=(0.1, 2.0, 4), theta_beta=(0.1, 2.0, 4))
    >>> ds = m.sample(g, 16, seed=0, progress=False)
    >>> ds.occupation.dims
    ('alpha', 'beta', 'sample', 'site')
    >>> m.exact(g, density=False).log_z.shape
    (4, 4)
    """

    name = "tasep"
    parameter_names = ("alpha", "beta")
    natural_names = ("theta_alpha", "theta_beta")
    configuration_kind = "chain1d"
    configuration_variable = "occupation"

    def __init__(self, N: int) -> None:
        self.N = check_int("N", N, min=1, max=MAX_N)

    @property
    def n_sites(self) -> int:
        """N sites."""
        return self.N

    @property
    def size(self) -> int:
        """N sites."""
        return self.N

    def config(self) -> dict[str, Any]:
        """The arguments that rebuild the model.

        Returns
        -------
        dict
            ``{"model": "tasep", "N": N}``.
        """
        return {"model": self.name, "N": self.N}

    def natural_map(self) -> CoordinateMap:
        """(α, β) ↦ θ = (−ln α, −ln β).

        Returns
        -------
        CoordinateMap
            :func:`statgeo.coordinates.tasep_rates_map`.
        """
        return tasep_rates_map()

    def natural_grid(self, *, theta_alpha: tuple[float, float, int],
                     theta_beta: tuple[float, float, int]) -> ParameterGrid:
        """A grid regular in θ = (−ln α, −ln β), laid out in (α, β) = e^{−θ} (ascending).

        Parameters
        ----------
        theta_alpha : tuple
            ``(start, stop, n)`` of θ_α = −ln α (or a list of values), 0 ≤ θ ≤ 700 (rates in
            (0, 1]).
        theta_beta : tuple
            ``(start, stop, n)`` of θ_β = −ln β (or a list of values), 0 ≤ θ ≤ 700.

        Returns
        -------
        ParameterGrid
            Axes ``alpha``, ``beta`` with :func:`~statgeo.coordinates.tasep_rates_map`.

        Raises
        ------
        TypeError, ValueError
            A range that :meth:`statgeo.grid.ParameterGrid.from_ranges` refuses, θ outside
            [0, 700], or θ values that give equal rates.

        Examples
        --------
        >>> g = TasepModel(10).natural_grid(theta_alpha=(0.0, 1.0, 3), theta_beta=[0.5])
        >>> g.names, g["alpha"].values.round(3).tolist()
        (('alpha', 'beta'), [0.368, 0.607, 1.0])
        """
        axes = []
        for name, label, axis_range in (("alpha", "entry rate α", theta_alpha),
                                        ("beta", "exit rate β", theta_beta)):
            theta = ParameterGrid.from_ranges(**{f"theta_{name}": _check_range(f"theta_{name}", axis_range)})
            theta = theta[f"theta_{name}"].values
            check_real(f"theta_{name}", theta, low=0.0, high=700.0)
            values = np.sort(np.exp(-theta))
            if values.size > 1 and not np.all(np.diff(values) > 0):
                raise ValueError(f"theta_{name} values are too close: they give equal rates e^(-theta)")
            axes.append(Axis(name, values, label, "1"))
        grid = ParameterGrid(axes, tasep_rates_map())
        check_tasep_grid(grid)
        return grid

    def sample(self, grid: ParameterGrid, n_samples: int, *, seed: int | np.random.SeedSequence,
               method: str = "exact", backend: str = "auto", n_replicas: int | None = None,
               burn_in: int | None = None, spacing: int | None = None,
               progress: bool | None = None) -> xr.Dataset:
        """Draw ``n_samples`` configurations at every grid point.

        Parameters
        ----------
        grid : ParameterGrid
            Axes ``alpha``, ``beta`` with values in (0, 1] (e.g. :meth:`natural_grid`).
        n_samples : int
            Configurations per grid point, ≥ 1.
        seed : int or numpy.random.SeedSequence
            One spawned stream per grid point (same seed → same output).
        method : {"exact", "mc"}, default "exact"
            ``"exact"``: i.i.d. from the stationary law (Numba); ``"mc"``: continuous-time Monte
            Carlo of the process (:func:`statgeo.models.simulate_mc`).
        backend : {"auto", "numba", "cupy"}, default "auto"
            ``"cupy"`` for ``method="mc"`` only.
        n_replicas : int, optional
            MC replicas per point (default min(n_samples, 64)); each records
            ceil(n_samples / n_replicas) snapshots, the first ``n_samples`` (replica-major) are
            kept. Used by ``method="mc"`` only.
        burn_in : int, optional
            MC burn-in in sweeps, in [0, 10⁸] (default :func:`statgeo.models.default_burn_in`,
            refused when it exceeds 10⁸). Used by ``method="mc"`` only.
        spacing : int, optional
            MC sweeps between snapshots, in [1, 10⁸] (default N). Used by ``method="mc"`` only.
        progress : bool or None, default None
            Progress bar over the grid points and of a first-use Numba compilation (None: on a
            terminal only; ``TQDM_DISABLE=1`` hides it).

        Returns
        -------
        xarray.Dataset
            ``occupation`` int8 (alpha, beta, sample, site); for ``method="mc"`` also
            ``current`` (alpha, beta, replica, bond), ``density_time_average`` (alpha, beta,
            replica, site) per replica and ``burn_in`` (alpha, beta).

        Raises
        ------
        TypeError
            A count is not an integer, ``grid`` not a ParameterGrid, a bad ``seed`` or
            ``progress``.
        ValueError
            A value out of range, ``backend="cupy"`` with ``method="exact"``, arrays larger
            than the machine's memory (points × n_samples × N bytes), or more work than
            10¹⁵ elementary updates (exact: points × n_samples × N²; MC: hop attempts).

        Examples
        --------
        >>> m = TasepModel(6)
        >>> g = m.natural_grid(theta_alpha=(0.2, 1.5, 2), theta_beta=(0.2, 1.5, 2))
        >>> ds = m.sample(g, 8, seed=0, method="mc", backend="numba", n_replicas=4, burn_in=200, spacing=6)
        >>> ds.occupation.shape, ds.current.dims
        ((2, 2, 8, 6), ('alpha', 'beta', 'replica', 'bond'))
        """
        A, B = check_tasep_grid(grid)
        n_samples = check_int("n_samples", n_samples, min=1)
        method = check_choice("method", method, METHODS)
        backend = check_choice("backend", backend, BACKENDS)
        if n_replicas is not None:
            n_replicas = check_int("n_replicas", n_replicas, min=1)
        if burn_in is not None:
            burn_in = check_sweeps("burn_in", burn_in, min=0)
        if spacing is not None:
            spacing = check_sweeps("spacing", spacing, min=1)
        progress_disabled(progress)
        ss = as_seed_sequence(seed)
        N = self.N
        check_allocation("the occupation array (alpha, beta, n_samples, N)", A.shape + (n_samples, N), np.int8,
                         names="the grid, n_samples and N")
        if method == "exact" and backend == "cupy":
            raise ValueError("backend='cupy' is available for method='mc' only; the exact sampler runs on 'numba'")
        if method == "mc":
            n_replicas = min(n_samples, 64) if n_replicas is None else n_replicas
            n_snap = -(-n_samples // n_replicas)
            _check_mc_work(N, A, B, n_replicas, n_snap, burn_in, spacing)
            backend = _resolve_backend(backend)
        else:
            check_allocation("the exact sampler's right vectors (N + 1, N + 2)", (N + 1, N + 2), names="N")
            check_work("operations", A.size * n_samples * N * N,
                       "the grid, n_samples and N (points × n_samples × N²)")
            backend = "numba"
        children = ss.spawn(A.size)
        occ = np.empty(A.shape + (n_samples, N), dtype=np.int8)
        if method == "mc":
            cur = np.empty(A.shape + (n_replicas, N + 1))
            dens = np.empty(A.shape + (n_replicas, N))
            burn = np.empty(A.shape, dtype=np.int64)
        with compile_notice(progress, f"the TASEP {method} sampler"):
            for m in progress_bar(range(A.size), desc=f"TASEP {method} sampling", progress=progress):
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
        config = {"model": self.name, "N": N, "n_samples": n_samples, "method": method, "backend": backend,
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
        ds.attrs.update({"title": f"open TASEP samples, N = {N}", "model": self.name,
                         "model_config": json.dumps(self.config()), "grid": grid.to_json(),
                         "config": config_attr(config),
                         "references": "Derrida, Evans, Hakim, Pasquier, J. Phys. A 26, 1493 (1993)"})
        return ds

    def exact(self, grid: ParameterGrid, fisher: str = "auto", *, n_fisher_samples: int = 4096,
              seed: int | np.random.SeedSequence = 0, density: bool = True,
              progress: bool | None = None) -> xr.Dataset:
        """Exact references over ``grid``: :func:`statgeo.models.exact.tasep_exact` with this N.

        Parameters
        ----------
        grid : ParameterGrid
            Axes ``alpha``, ``beta``.
        fisher : {"auto", "enumeration", "samples", "none"}, default "auto"
            How F_obs is computed.
        n_fisher_samples : int, default 4096
            Exact samples per grid point for ``fisher="samples"``.
        seed : int or numpy.random.SeedSequence, default 0
            Seed of those samples.
        density : bool, default True
            Compute the density profile.
        progress : bool or None, default None
            Progress bars (None: on a terminal only).

        Returns
        -------
        xarray.Dataset
            See :func:`~statgeo.models.exact.tasep_exact`.
        """
        return tasep_exact(grid, self.N, fisher, n_fisher_samples=n_fisher_samples, seed=seed, density=density,
                           progress=progress)

    def reference(self, grid: ParameterGrid, *, fisher: str = "auto", n_samples: int = 4096,
                  seed: int | np.random.SeedSequence = 0, per_site: bool = False,
                  progress: bool | None = None) -> xr.Dataset:
        """Exact ln Z_N, its derivatives and the observable Fisher metric F_obs over ``grid``.

        Parameters
        ----------
        grid : ParameterGrid
            Axes ``alpha``, ``beta``.
        fisher : {"auto", "enumeration", "samples"}, default "auto"
            How F_obs is computed (exact enumeration up to N = 14 by default, else from
            ``n_samples`` exact samples with exact scores).
        n_samples : int, default 4096
            Exact samples per grid point for ``fisher="samples"``, ≥ 2.
        seed : int or numpy.random.SeedSequence, default 0
            Seed of those samples.
        per_site : bool, default False
            Divide ln Z_N, its derivatives and F_obs (and its error) by N.
        progress : bool or None, default None
            Progress bar of the F_obs loop (None: on a terminal only).

        Returns
        -------
        xarray.Dataset
            ``log_z``, ``grad_log_z``, ``metric`` (= ∇²_θ ln Z_N), ``observable_fisher`` (+
            ``_error``), ``current``; attrs ``reference_label``, ``metric_label``,
            ``observable_fisher_label``.

        Raises
        ------
        TypeError, ValueError
            A bad grid, ``fisher``, ``n_samples``, ``seed``, ``per_site`` or ``progress``.

        Examples
        --------
        >>> m = TasepModel(8)
        >>> g = m.natural_grid(theta_alpha=(0.2, 1.5, 2), theta_beta=(0.2, 1.5, 2))
        >>> m.reference(g, per_site=True).attrs["observable_fisher_label"]
        'observable Fisher F_obs / N (exact enumeration, N=8)'
        """
        check_choice("fisher", fisher, ("auto", "enumeration", "samples"))
        check_int("n_samples", n_samples, min=2)
        check_bool("per_site", per_site)
        ref = tasep_exact(grid, self.N, fisher=fisher, n_fisher_samples=n_samples, seed=seed, density=False,
                          progress=progress)
        fmethod = json.loads(ref.attrs["config"])["fisher"]["method"]
        how = "exact enumeration" if fmethod == "enumeration" else "exact samples"
        per = " / N" if per_site else ""
        labels = {"reference_label": f"exact ln Z_N{per} (closed form, DEHP 1993, N={self.N})",
                  "metric_label": f"Hessian of ln Z_N{per} (complete-data Fisher)",
                  "observable_fisher_label": f"observable Fisher F_obs{per} ({how}, N={self.N})"}
        if per_site:
            return per_site_reference(ref, self.N, grid, **labels)
        ref.attrs.update(labels)
        return ref

    def exact_posterior(self, samples: xr.Dataset, grid: ParameterGrid, n: int, *,
                        seed: int | np.random.SeedSequence, average: bool = True,
                        origins: Any = None) -> xr.DataArray:
        """Exact-likelihood posteriors of bundles of ``n`` configurations, averaged per origin or per bundle.

        p(θ_c | τ_1..τ_n) ∝ exp Σ_k ln P(τ_k | θ_c) over the grid cells (uniform prior), with
        ln P from the matrix representation (Derrida et al. 1993); bundle posteriors averaged
        per origin, effective temperature n/2 (docs/geometry_fitting.md). For N ≤ 16 the
        table of ln P over all 2^N configurations is built per cell and looked up; beyond,
        ln P is evaluated per sample and cell (O(O · C · samples · N²) for O origins and C
        cells).

        Parameters
        ----------
        samples : xarray.Dataset
            Output of :meth:`sample` on ``grid`` (occupations 0/1).
        grid : ParameterGrid
            The grid the samples were drawn on (origins and cells).
        n : int
            Configurations per bundle, 1 ≤ n ≤ samples per point.
        seed : int or numpy.random.SeedSequence
            Shuffles the samples of each origin before cutting bundles.
        average : bool, default True
            One row per origin (bundle average, effective temperature n/2), or one row per
            bundle (temperature n; the form the default log-partition fit models).
        origins : array_like of int, optional
            Flat grid indices of the origins to make posteriors for (default: every grid
            point), e.g. ``grid.sublattice(1024)`` on a large grid; each origin's bundles are
            those it gets without ``origins``.

        Returns
        -------
        xarray.DataArray
            Dims (origin, cell), see :mod:`statgeo.geometry.posterior`.

        Raises
        ------
        TypeError
            ``samples`` is not a Dataset from :meth:`sample`, ``grid`` not a ParameterGrid,
            ``n`` not an integer, ``average`` not a bool, or a bad ``seed``.
        ValueError
            ``samples`` not laid out on ``grid`` or not this model's (N sites, 0/1), ``n`` out
            of range, empty origins or origins outside the grid, a table of log-likelihoods
            larger than memory, or more than 10¹⁵ operations.

        Examples
        --------
        >>> m = TasepModel(6)
        >>> g = m.natural_grid(theta_alpha=(0.2, 1.5, 2), theta_beta=(0.2, 1.5, 2))
        >>> post = m.exact_posterior(m.sample(g, 8, seed=0), g, 4, seed=1)
        >>> post.shape, bool(np.allclose(post.sum("cell"), 1.0))
        ((4, 4), True)
        """
        n_per = _check_samples(samples, grid, (self.configuration_variable,), "TasepModel.sample")
        check_tasep_grid(grid)
        n = check_int("n", n, min=1, max=n_per)
        as_seed_sequence(seed)
        check_bool("average", average)
        use = np.arange(grid.size) if origins is None else check_origins(origins, grid)
        occ = samples[self.configuration_variable]
        if occ.sizes.get("site") != self.N:
            raise ValueError(f"samples must hold configurations of N={self.N} sites, got dims {dict(occ.sizes)}")
        C = grid.size
        Bn = n_per // n
        check_allocation("the log-likelihood table (origins, bundles, cells)", (use.size, Bn, C), np.float64,
                         names="the grid, the origins, the samples per point and n")
        if self.N > ORACLE_ENUMERATION_MAX_N:
            check_work("operations", use.size * C * Bn * n * self.N ** 2,
                       "the grid, the origins, the samples and N (origins × cells × samples × N²)")
        x = self.configurations(samples).values
        if x.dtype.kind not in "biu" or not np.isin(x, (0, 1)).all():
            raise ValueError("samples must hold occupations 0 and 1 (integers)")
        x = x.reshape((grid.size,) + x.shape[grid.ndim:])
        return _exact_posterior_from_array(x, grid, self.N, n, seed, average, use)

    def phase_diagram(self) -> PhaseDiagram:
        """First-order line α = β < ½; continuous lines α = ½ (β ≥ ½) and β = ½ (α ≥ ½).

        Returns
        -------
        PhaseDiagram
            The three lines and the ``"triple_point"`` (α, β) = (½, ½), in θ coordinates.
        """
        l2 = math.log(2.0)
        s = np.linspace(0, 10, 4001)
        return PhaseDiagram(
            lines={"alpha=beta<1/2": np.stack([l2 + s, l2 + s], -1),
                   "alpha=1/2": np.stack([np.full_like(s, l2), l2 * np.linspace(0, 1, s.size)], -1),
                   "beta=1/2": np.stack([l2 * np.linspace(0, 1, s.size), np.full_like(s, l2)], -1)},
            points={"triple_point": (l2, l2)},
            description="open TASEP (N -> infinity): low density, high density, maximal current",
        )


def _relaxation_times(N: int, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """:func:`relaxation_time_estimate` at every point (vectorised; for the work check only)."""
    a, b = A.ravel(), B.ravel()
    m = np.minimum(a, b)
    with np.errstate(divide="ignore"):
        inv_ab = np.where(a != b, 1.0 / np.abs(a - b), np.inf)
        inv_m = np.where(m != 0.5, 1.0 / np.abs(1.0 - 2.0 * m), np.inf)
    t = N * np.minimum(float(N), np.maximum(np.maximum(math.sqrt(N), inv_ab), inv_m))
    return np.where((a >= 0.5) & (b >= 0.5), N ** 1.5, t)


def _check_mc_work(N: int, A: np.ndarray, B: np.ndarray, n_replicas: int, n_snap: int, burn_in: int | None,
                   spacing: int | None) -> None:
    """Refuse a Monte Carlo run over the grid that cannot finish (or needs too much memory)."""
    check_allocation("the per-replica currents and densities (2, alpha, beta, n_replicas, N + 1)",
                     (2,) + A.shape + (n_replicas, N + 1), names="the grid, n_replicas and N")
    check_allocation("the snapshots of one point (n_replicas, snapshots per replica, N)", (n_replicas, n_snap, N),
                     np.int8, names="n_replicas, n_samples and N")
    sp = N if spacing is None else spacing
    if burn_in is None:
        burn = np.ceil(4.0 * _relaxation_times(N, A, B)) + 100
        worst = float(burn.max())
        if worst > MAX_SWEEPS:
            k = int(np.argmax(burn))
            raise ValueError(f"burn_in: the default burn-in at N={N}, alpha={A.ravel()[k]:g}, beta={B.ravel()[k]:g} "
                             f"is {worst:.3g} sweeps, more than the cap of {MAX_SWEEPS} sweeps; pass burn_in "
                             f"explicitly or use method='exact'")
        sweeps = float(np.sum(burn)) + A.size * float(n_snap) * sp
    else:
        sweeps = A.size * (float(burn_in) + float(n_snap) * sp)
    check_work("hop attempts", int(sweeps * n_replicas * (N + 1)),
               "the grid, n_replicas, n_samples, burn_in, spacing and N")


def _exact_posterior_from_array(x: np.ndarray, grid: ParameterGrid, N: int, n: int,
                                seed: int | np.random.SeedSequence, average: bool,
                                origins: np.ndarray) -> xr.DataArray:
    """:meth:`TasepModel.exact_posterior` on an array x of shape (grid.size, S, N), for the
    given flat origin indices."""
    P = grid.points()
    C = grid.size
    # bundles cut for every origin first, so an origin's bundles do not depend on which are chosen
    xb = cut_bundles(x.astype(np.int8), n, seed=seed)[origins]  # (O, B, n, N)
    O, Bn = xb.shape[:2]
    ll = np.zeros((O, Bn, C))
    if N <= ORACLE_ENUMERATION_MAX_N:
        w = 1 << (N - 1 - np.arange(N))
        idx = (xb.astype(np.int64) * w).sum(-1)  # (O, B, n) configuration index (bit N−i = τ_i)
        for c in range(C):
            _, prob = enumerate_law(N, P[c, 0], P[c, 1])
            ll[:, :, c] = np.log(prob)[idx].sum(-1)
    else:
        flat = xb.reshape(-1, N)
        for c in range(C):
            ll[:, :, c] = configuration_log_prob(flat, P[c, 0], P[c, 1]).reshape(O, Bn, n).sum(-1)
    ll -= ll.max(-1, keepdims=True)
    p = np.exp(ll)
    p /= p.sum(-1, keepdims=True)
    if not average:
        return posterior_dataarray(p.reshape(O * Bn, C), grid, np.repeat(origins, Bn),
                                   estimator="exact_likelihood", n_per_bundle=n, effective_temperature=float(n),
                                   attrs={"bundles_per_origin": int(Bn), "averaged": 0,
                                          "temperature_derivation": "one bundle: exact likelihood at temperature n"})
    return posterior_dataarray(average_per_origin(p), grid, origins, estimator="exact_likelihood",
                               n_per_bundle=n, effective_temperature=n / 2.0,
                               attrs={"bundles_per_origin": int(Bn), "averaged": 1,
                                      "temperature_derivation": "bundle average ∝ exp(-(n/2) D)"})
