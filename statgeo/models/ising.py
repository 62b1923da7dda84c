"""The 2-D Ising model on an L×L torus: the model object and estimates from its samples.

H(s) = −J Σ_⟨ij⟩ s_i s_j − H Σ_i s_i on an L×L torus, N = L² spins. With K = J/T, η = H/T,
B = Σ_⟨ij⟩ s_i s_j (2N bonds) and M = Σ_i s_i,

    p(s | K, η) = exp(K B + η M − log Z(K, η)),

an exponential family with natural coordinates t = (K, η) and sufficient statistics (B, M), so
∇ log Z = E[(B, M)] and the Fisher metric is g = ∇² log Z = Cov(B, M) (Onsager 1944; see
docs/ising_exact.md and docs/ising_sampling.md). :class:`IsingModel` carries the sampler
(:mod:`statgeo.models.ising_sampling`), the exact references (:mod:`statgeo.models.exact`), the
Monte Carlo reference anchored to the exact η = 0 line (:mod:`statgeo.models.ising_reference`),
the exact-likelihood posterior and the phase diagram.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from statgeo.checks import check_array, check_bool, check_choice, check_int, check_real
from statgeo.coordinates import CoordinateMap, ising_temperature_field_map
from statgeo.geometry.posterior import check_origins
from statgeo.geometry.posterior_exact import exact_posterior
from statgeo.grid import ParameterGrid
from statgeo.models.exact.ising import K_C, ising_exact
from statgeo.models.ising_reference import ising_mc_reference
from statgeo.models.ising_sampling import (
    ALGORITHM_CODES,
    BURN_IN_TAUS,
    MAX_L,
    MIN_BURN_IN,
    SOKAL_C,
    THIN_TAUS,
    _check_L,
    _resolve,
    check_natural_grid,
    run_chains,
)
from statgeo.models.physics_model import (
    ExponentialFamilyModel,
    PhaseDiagram,
    _check_range,
    _check_samples,
    per_site_reference,
    register_model,
)
from statgeo.progress import progress_disabled
from statgeo.provenance import config_attr, versions
from statgeo.seeding import as_seed_sequence
from statgeo.stats import Stats, estimate, integrated_autocorrelation_time, jackknife

__all__ = ["IsingModel", "thermodynamics", "sufficient_statistics"]

REFERENCES = ("exact", "mc_anchored", "auto")


@register_model
class IsingModel(ExponentialFamilyModel):
    """The 2-D Ising model on an L×L torus (coupling J, periodic boundaries).

    An exponential family in natural coordinates t = (K, η) = (J/T, H/T) with sufficient
    statistics (B, M); physical parameters (T, H) (docs/ising_sampling.md, docs/models.md).

    Parameters
    ----------
    L : int
        Linear size, 2 ≤ L ≤ 32768 (even for the checkerboard Metropolis sampler; one
        configuration takes L² bytes).
    J : float, default 1.0
        Coupling J > 0, finite (the energy unit; enters the map (T, H) → (K, η)).

    Raises
    ------
    TypeError
        ``L`` is not an integer or ``J`` not a real number.
    ValueError
        ``L`` or ``J`` out of range.

    Examples
    --------
    >>> m = IsingModel(8)
    >>> g = m.natural_grid(K=(0.3, 0.5, 3), eta=(0.0, 0.1, 2))
    >>> ds = m.sample(g, 100, seed=1, progress=False)
    >>> ds.spins.dims
    ('K', 'eta', 'sample', 'y', 'x')
    >>> m.sufficient_statistics(ds).sizes["statistic"]
    2
    >>> round(float(m.exact(g)["log_z"].sel(K=0.4, eta=0.0)), 4)  # transfer matrix, L = 8
    56.5994
    """

    name = "ising"
    parameter_names = ("T", "H")
    natural_names = ("K", "eta")
    statistic_names = ("B", "M")
    configuration_kind = "lattice2d"
    configuration_variable = "spins"
    mean_statistic_for = ("eta",)
    sampler_backends = ("auto", "numba", "cupy")

    def __init__(self, L: int, J: float = 1.0) -> None:
        self.L = check_int("L", L, min=2, max=MAX_L)
        self.J = float(check_real("J", J, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))

    @property
    def n_sites(self) -> int:
        """N = L² spins."""
        return self.L * self.L

    @property
    def size(self) -> int:
        """The linear size L."""
        return self.L

    def config(self) -> dict[str, Any]:
        """The arguments that rebuild the model.

        Returns
        -------
        dict
            ``{"model": "ising", "L": L, "J": J}``.
        """
        return {"model": self.name, "L": self.L, "J": self.J}

    def natural_map(self) -> CoordinateMap:
        """(T, H) → (K, η) = (J/T, H/T) with its Jacobian.

        Returns
        -------
        CoordinateMap
            :func:`statgeo.coordinates.ising_temperature_field_map` with this J.
        """
        return ising_temperature_field_map(self.J)

    def natural_grid(self, *, K: tuple[float, float, int], eta: tuple[float, float, int]) -> ParameterGrid:
        """A grid regular in (K, η), laid out in (K, η) (the sampler's coordinates).

        Parameters
        ----------
        K : tuple
            ``(start, stop, n)`` of the coupling, K > 0 (or a list of values).
        eta : tuple
            ``(start, stop, n)`` of the reduced field η (or a list of values).

        Returns
        -------
        ParameterGrid
            Axes ``K``, ``eta`` with the identity map (a grid regular in (K, η) is not a
            tensor product in (T, H); use :meth:`natural_map` for physical coordinates).

        Raises
        ------
        TypeError, ValueError
            A range that :meth:`statgeo.grid.ParameterGrid.from_ranges` refuses, or K ≤ 0.

        Examples
        --------
        >>> IsingModel(8).natural_grid(K=(0.3, 0.5, 3), eta=(-0.1, 0.1, 5)).shape
        (3, 5)
        """
        grid = ParameterGrid.from_ranges(
            K=_check_range("K", K), eta=_check_range("eta", eta),
            attrs={"K": {"long_name": "coupling K = J/T", "units": "1"},
                   "eta": {"long_name": "reduced field η = H/T", "units": "1"}})
        check_natural_grid(grid)
        return grid

    def sample(
        self,
        grid: ParameterGrid,
        n_samples: int,
        *,
        seed: int | np.random.SeedSequence,
        backend: str = "auto",
        algorithm: str = "auto",
        burn_in: int | str = "auto",
        thin: int | str = "auto",
        pilot_sweeps: int | str = "auto",
        replicas_per_point: int = 1,
        progress: bool | None = None,
    ) -> xr.Dataset:
        """Draw ``n_samples`` configurations from p(s | K, η) at every grid point.

        Parameters
        ----------
        grid : ParameterGrid
            Natural names ("K", "eta"): a (K, η) grid (:meth:`natural_grid`) or a (T, H) grid
            with :func:`~statgeo.coordinates.ising_temperature_field_map`.
        n_samples : int
            Samples per grid point, ≥ 1.
        seed : int or numpy.random.SeedSequence
            Same seed, backend and arguments → identical output, whatever the number of threads.
        backend : {"auto", "numba", "cupy"}, default "auto"
            ``"auto"`` is ``"numba"``.
        algorithm : {"auto", "metropolis", "wolff", "hybrid"}, default "auto"
            ``"auto"`` on Numba: chosen per point, checkerboard Metropolis where it mixes and
            the hybrid (one Metropolis sweep + the Wolff moves of one sweep, per sweep) where
            cluster moves are needed (docs/ising_sampling.md, "Why auto chooses per point");
            the choice is the ``algorithm`` variable. On CuPy: Metropolis.
        burn_in : int or "auto", default "auto"
            Total equilibration sweeps, in [0, 10⁸]; ``"auto"``: max(minimum, ⌈20 τ_int⌉) from
            a pilot run (docs/ising_sampling.md).
        thin : int or "auto", default "auto"
            Sweeps between stored samples, in [1, 10⁸]; ``"auto"``: max(1, ⌈2 τ_int⌉).
        pilot_sweeps : int or "auto", default "auto"
            Length of the pilot run behind ``"auto"`` burn-in/thinning, in [10, 10⁸] sweeps;
            ``"auto"``: 1000 (Metropolis) or 200 (Wolff), exactly as before this option existed.
            Raise it when a warning says the pilot is short for the measured τ_int.
        replicas_per_point : int, default 1
            Independent chains per grid point (samples split between them).
        progress : bool or None, default None
            Progress bars (sampling, and a first-use Numba compilation); None: on a terminal
            only; ``TQDM_DISABLE=1`` hides them.

        Returns
        -------
        xarray.Dataset
            ``spins`` int8 (grid dims…, sample, y, x), ``B``, ``M`` int64 (grid dims…,
            sample), per-point ``tau_int_B``, ``tau_int_M`` (sweeps), ``burn_in``, ``thin``
            (sweeps), coordinates from ``grid.coords()`` and natural coordinates, attrs
            ``config`` (JSON, with the pilot length ``pilot_sweeps``, 0 when no pilot ran) and
            ``versions`` (JSON).

        Raises
        ------
        TypeError
            A count is not an integer, ``grid`` is not a ParameterGrid, a bad ``seed`` or
            ``progress``.
        ValueError
            A value out of range, an odd L with Metropolis, arrays larger than the machine's
            memory (spins: points × n_samples × L² bytes), or more than 10¹⁵ spin updates.

        Examples
        --------
        >>> m = IsingModel(4)
        >>> g = m.natural_grid(K=(0.3, 0.4, 2), eta=(0.0, 0.0, 1))
        >>> ds = m.sample(g, 10, seed=0, burn_in=50, thin=2, progress=False)
        >>> ds.B.shape, int(ds["thin"].max())
        ((2, 1, 10), 2)
        """
        backend_r, algorithm_r = _resolve(backend, algorithm)
        _check_L(self.L, algorithm_r)
        n_samples = check_int("n_samples", n_samples, min=1)
        K, eta = check_natural_grid(grid)
        out = run_chains(K, eta, self.L, n_samples, seed=seed, backend=backend_r, algorithm=algorithm_r,
                         burn_in=burn_in, thin=thin, replicas_per_point=replicas_per_point,
                         progress=progress, pilot_sweeps=pilot_sweeps)
        shape = grid.shape
        dims = grid.names
        L = self.L
        ds = xr.Dataset(
            {
                "spins": (dims + ("sample", "y", "x"), out["spins"].reshape(shape + (n_samples, L, L)),
                          {"long_name": "spin s_i", "units": "1"}),
                "B": (dims + ("sample",), out["B"].reshape(shape + (n_samples,)),
                      {"long_name": "bond sum B = sum_<ij> s_i s_j", "units": "1"}),
                "M": (dims + ("sample",), out["M"].reshape(shape + (n_samples,)),
                      {"long_name": "magnetisation M = sum_i s_i", "units": "1"}),
                "tau_int_B": (dims, out["tau_int_B"].reshape(shape),
                              {"long_name": "integrated autocorrelation time of B (Sokal)", "units": "sweeps"}),
                "tau_int_M": (dims, out["tau_int_M"].reshape(shape),
                              {"long_name": "integrated autocorrelation time of M and |M|, the larger (Sokal)",
                               "units": "sweeps"}),
                "burn_in": (dims, out["burn_in"].reshape(shape),
                            {"long_name": "equilibration sweeps before the first sample", "units": "sweeps"}),
                "thin": (dims, out["thin"].reshape(shape),
                         {"long_name": "sweeps between stored samples", "units": "sweeps"}),
                "algorithm": (dims, out["algorithm_per_point"].reshape(shape),
                              {"long_name": "sampler of the point", "flag_values": list(ALGORITHM_CODES.values()),
                               "flag_meanings": " ".join(ALGORITHM_CODES)}),
            },
            coords={**grid.coords(), **grid.natural_coords(),
                    "sample": ("sample", np.arange(n_samples), {"long_name": "sample index", "units": "1"}),
                    "y": ("y", np.arange(L), {"long_name": "lattice row", "units": "1"}),
                    "x": ("x", np.arange(L), {"long_name": "lattice column", "units": "1"})},
            attrs={
                "title": f"2-D Ising model, {L}x{L} torus, samples",
                "model": self.name,
                "model_config": json.dumps(self.config()),
                "grid": grid.to_json(),
                "Conventions": "CF-1.8",
                "config": config_attr({"L": L, "J": self.J, "n_samples": n_samples, "seed": as_seed_sequence(seed),
                                       "backend": out["backend"], "algorithm": out["algorithm"],
                                       "burn_in": burn_in, "thin": thin,
                                       "pilot_sweeps": out["pilot_sweeps"],
                                       "pilot": out["pilot"],
                                       "replicas_per_point": replicas_per_point,
                                       "grid": grid.to_json(),
                                       "burn_in_rule": f"max(minimum {MIN_BURN_IN}, ceil({BURN_IN_TAUS:g} tau))",
                                       "thin_rule": f"max(1, ceil({THIN_TAUS:g} tau))",
                                       "init": "cold (all spins = sign(eta), +1 at eta = 0)"}),
                "versions": config_attr(versions()),
            },
        )
        return ds

    def sufficient_statistics(self, samples: xr.Dataset) -> xr.DataArray:
        """(B, M) per sample with a trailing ``statistic`` dim, see :func:`sufficient_statistics`.

        Parameters
        ----------
        samples : xarray.Dataset
            Output of :meth:`sample`.

        Returns
        -------
        xarray.DataArray
            Dims (grid dims…, sample, statistic), statistic = ["B", "M"].
        """
        return sufficient_statistics(samples)

    def exact(self, grid: ParameterGrid, method: str = "auto", *, progress: bool | None = None) -> xr.Dataset:
        """Exact references over ``grid``: :func:`statgeo.models.exact.ising_exact` with this L and J.

        Parameters
        ----------
        grid : ParameterGrid
            Natural coordinates (K, η).
        method : {"auto", "enumeration", "transfer_matrix", "kaufman"}, default "auto"
            See :func:`~statgeo.models.exact.ising_exact`.
        progress : bool or None, default None
            Progress bar of the transfer-matrix loop.

        Returns
        -------
        xarray.Dataset
            ``log_z``, ``grad_log_z``, ``metric`` and their pull-backs to the grid coordinates.
        """
        return ising_exact(grid, self.L, J=self.J, method=method, progress=progress)

    def reference(self, grid: ParameterGrid, *, kind: str = "auto", n_samples: int = 256,
                  seed: int | np.random.SeedSequence = 0, progress: bool | None = None,
                  per_site: bool = False) -> xr.Dataset:
        """Exact references where they exist, else Monte Carlo anchored to the exact η = 0 line.

        Parameters
        ----------
        grid : ParameterGrid
            Natural coordinates (K, η).
        kind : {"auto", "exact", "mc_anchored"}, default "auto"
            ``auto``: exact for L ≤ 12 (transfer matrix) or η = 0 everywhere (Kaufman), else
            :func:`~statgeo.models.ising_mc_reference`.
        n_samples : int, default 256
            Samples per quadrature node of the Monte Carlo reference (≥ 64).
        seed : int or numpy.random.SeedSequence, default 0
            Seed of the Monte Carlo reference.
        progress : bool or None, default None
            Progress bars (transfer matrix, Monte Carlo); None: on a terminal only.
        per_site : bool, default False
            Divide ln Z, its gradient and the metric (and their errors) by N = L².

        Returns
        -------
        xarray.Dataset
            ``log_z``, ``grad_log_z``, ``metric`` (natural coordinates), ``*_error`` for the
            Monte Carlo reference, attrs ``reference_label`` and ``metric_label``.

        Raises
        ------
        TypeError, ValueError
            A bad grid, ``kind``, ``n_samples``, ``seed``, ``progress`` or ``per_site``.

        Examples
        --------
        >>> m = IsingModel(4)
        >>> ref = m.reference(m.natural_grid(K=(0.3, 0.4, 2), eta=(0.0, 0.1, 2)), per_site=True)
        >>> ref.attrs["reference_label"]
        'exact (enumeration, L=4)'
        """
        check_choice("kind", kind, REFERENCES)
        n_samples = check_int("n_samples", n_samples, min=1)
        as_seed_sequence(seed)
        progress_disabled(progress)
        per_site = check_bool("per_site", per_site)
        if kind == "auto":
            _, eta = check_natural_grid(grid)
            kind = "exact" if (self.L <= 12 or bool(np.all(eta == 0.0))) else "mc_anchored"
        if kind == "exact":
            ref = self.exact(grid, progress=progress)
            ref.attrs["reference_label"] = f"exact ({ref.attrs['method']}, L={self.L})"
        else:
            ref = ising_mc_reference(grid, self.L, n_samples, seed=seed, progress=progress)
            ref.attrs["reference_label"] = f"Monte Carlo anchored to Kaufman's exact h=0 line (L={self.L})"
        if per_site:
            return per_site_reference(ref, self.n_sites, grid, reference_label=ref.attrs["reference_label"],
                                      metric_label="Cov(B, M)/N")
        ref.attrs["metric_label"] = "Cov(B, M)"
        return ref

    def exact_posterior(self, samples: xr.Dataset, grid: ParameterGrid, n: int, *,
                        seed: int | np.random.SeedSequence, log_z: Any = None, average: bool = True,
                        origins: Any = None) -> xr.DataArray:
        """Exact-likelihood posteriors of bundles of ``n`` samples, averaged per origin or per bundle.

        p(t | s_1..s_n) ∝ exp(⟨t, Σ_k f(s_k)⟩ − n log Z(t)) over the grid cells with
        f = (B, M) (:func:`statgeo.geometry.exact_posterior`); effective temperature n/2
        (docs/geometry_fitting.md).

        Parameters
        ----------
        samples : xarray.Dataset
            Output of :meth:`sample` on ``grid``.
        grid : ParameterGrid
            The grid the samples were drawn on (origins and cells).
        n : int
            Samples per bundle, 1 ≤ n ≤ samples per point.
        seed : int or numpy.random.SeedSequence
            Shuffles the samples of each origin before cutting bundles.
        log_z : array_like, optional
            Total log Z on the grid (grid.shape or grid.size values, finite) if already
            computed (default: :meth:`exact`).
        average : bool, default True
            One row per origin (bundle average, effective temperature n/2), or one row per
            bundle (temperature n; exactly the form the default log-partition fit models).
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
            ``samples`` not laid out on ``grid``, ``n`` out of range, ``log_z`` of the
            wrong size or not finite, or empty origins or origins outside the grid.

        Examples
        --------
        >>> m = IsingModel(4)
        >>> g = m.natural_grid(K=(0.3, 0.4, 2), eta=(0.0, 0.1, 2))
        >>> post = m.exact_posterior(m.sample(g, 8, seed=0, progress=False), g, 4, seed=1)
        >>> post.dims, post.shape
        (('origin', 'cell'), (4, 4))
        """
        n_per = _check_samples(samples, grid, ("B", "M"), "IsingModel.sample")
        check_natural_grid(grid)
        n = check_int("n", n, min=1, max=n_per)
        as_seed_sequence(seed)
        if origins is not None:
            origins = check_origins(origins, grid)
        if log_z is not None:
            lz = log_z.values if isinstance(log_z, xr.DataArray) else log_z
            lz = check_array("log_z", lz, dtype_kind="iuf")
            if lz.size != grid.size:
                raise ValueError(f"log_z must hold one value per grid point ({grid.size}), got shape {lz.shape}")
        st = self.sufficient_statistics(samples).transpose(*grid.names, "sample", "statistic").values
        st = st.reshape(grid.size, -1, len(self.statistic_names))
        if log_z is None:
            log_z = self.exact(grid)["log_z"].values
        return exact_posterior(st, grid, log_z, n, seed=seed, average=average, origins=origins)

    def phase_diagram(self) -> PhaseDiagram:
        """The line η = 0, K > K_c (first-order in η) ending at the critical point (K_c, 0).

        Returns
        -------
        PhaseDiagram
            The line ``"eta=0, K>K_c"`` and the point ``"critical_point"``.
        """
        K = np.linspace(K_C, 5.0, 4001)
        return PhaseDiagram(
            lines={"eta=0, K>K_c": np.stack([K, np.zeros_like(K)], -1)},
            points={"critical_point": (K_C, 0.0)},
            line_ends={"critical_point": "eta=0, K>K_c"},
            description="2-D Ising: first-order line eta = 0 for K > K_c = ln(1 + sqrt 2)/2, critical point K_c",
        )


# ----------------------------------------------------------------------------- estimates from samples
def _check_ising_samples(samples: Any) -> None:
    if not isinstance(samples, xr.Dataset) or "B" not in samples or "M" not in samples:
        raise TypeError("samples must be an xr.Dataset from IsingModel.sample (with variables B and M), got "
                        f"{type(samples).__name__}")
    for v in ("B", "M"):
        if "sample" not in samples[v].dims:
            raise ValueError(f"samples[{v!r}] must have a 'sample' dimension, got dims {samples[v].dims}")
        if samples[v].dtype.kind not in "iuf":
            raise TypeError(f"samples[{v!r}] must hold numbers, got dtype {samples[v].dtype}")


def sufficient_statistics(samples: xr.Dataset) -> xr.DataArray:
    """f(s) = (B, M) per sample: the Ising model's sufficient statistics.

    Parameters
    ----------
    samples : xarray.Dataset
        Output of :meth:`IsingModel.sample` (variables ``B`` and ``M`` with a ``sample`` dim).

    Returns
    -------
    xarray.DataArray
        Dims (…, sample, statistic) with statistic = ["B", "M"].

    Raises
    ------
    TypeError
        ``samples`` is not such a Dataset.
    ValueError
        ``B`` or ``M`` has no ``sample`` dimension.

    Examples
    --------
    >>> ds = xr.Dataset({"B": ("sample", [4, 8]), "M": ("sample", [2, -2])})
    >>> sufficient_statistics(ds).values.tolist()
    [[4, 2], [8, -2]]
    """
    _check_ising_samples(samples)
    f = xr.concat([samples["B"], samples["M"]], dim="statistic").transpose(..., "statistic")
    return f.assign_coords(statistic=("statistic", ["B", "M"])).rename("sufficient_statistics")


def thermodynamics(samples: xr.Dataset, n_blocks: int = 32) -> dict[str, Stats]:
    """Estimates with error bars from samples: ⟨B⟩, ⟨M⟩, ⟨|M|⟩, Var(B), Var(M), Cov(B, M).

    Means: :func:`statgeo.stats.estimate` (error σ·√(2τ_int/n), τ_int in units of stored
    samples). Variances and the covariance: blocked jackknife (:func:`statgeo.stats.jackknife`,
    min(``n_blocks``, n) blocks) of Cov(X, Y) = ⟨XY⟩ − ⟨X⟩⟨Y⟩ (unbiased, ddof = 1), with the τ_int of
    the product series (X − X̄)(Y − Ȳ). Arrays have the grid shape of ``samples``.

    Parameters
    ----------
    samples : xarray.Dataset
        Output of :meth:`IsingModel.sample`, at least 2 samples per grid point.
    n_blocks : int, default 32
        Jackknife blocks (≥ 2; at most the number of samples are used).

    Returns
    -------
    dict of str to statgeo.stats.Stats
        Keys "B", "M", "absM", "var_B", "var_M", "cov_BM".

    Raises
    ------
    TypeError
        ``samples`` is not a Dataset from :meth:`IsingModel.sample`, or ``n_blocks`` not an
        integer.
    ValueError
        Fewer than 2 samples, or ``n_blocks`` < 2.

    Examples
    --------
    >>> ds = xr.Dataset({"B": ("sample", [4, 8, 6, 2]), "M": ("sample", [2, -2, 0, 4])})
    >>> float(thermodynamics(ds)["B"].mean)
    5.0
    """
    _check_ising_samples(samples)
    n_blocks = check_int("n_blocks", n_blocks, min=2)
    B = samples["B"].transpose(..., "sample").values.astype(np.float64)
    M = samples["M"].transpose(..., "sample").values.astype(np.float64)
    n = B.shape[-1]
    if n < 2:
        raise ValueError(f"samples must contain at least 2 samples per grid point, got {n}")
    n_blocks = min(n_blocks, n)
    out = {"B": estimate(B, c=SOKAL_C), "M": estimate(M, c=SOKAL_C), "absM": estimate(np.abs(M), c=SOKAL_C)}

    def cov(x, y):
        m = x.shape[-1]
        return ((x - x.mean(-1, keepdims=True)) * (y - y.mean(-1, keepdims=True))).sum(-1) / (m - 1)

    for key, (x, y) in {"var_B": (B, B), "var_M": (M, M), "cov_BM": (B, M)}.items():
        val, err = jackknife(cov, [x, y], n_blocks=n_blocks)
        prod = (x - x.mean(-1, keepdims=True)) * (y - y.mean(-1, keepdims=True))
        tau = integrated_autocorrelation_time(prod, c=SOKAL_C)
        out[key] = Stats(mean=val, error=err, variance=prod.var(axis=-1, ddof=1), tau_int=tau, n=n)
    return out
