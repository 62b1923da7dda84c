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

from statgeo.checks import check_choice, check_int, check_real
from statgeo.coordinates import CoordinateMap, ising_temperature_field_map
from statgeo.geometry.posterior_exact import exact_posterior
from statgeo.grid import ParameterGrid
from statgeo.models.exact.ising import K_C, ising_exact
from statgeo.models.ising_reference import ising_mc_reference
from statgeo.models.ising_sampling import (
    BURN_IN_TAUS,
    MIN_BURN_IN,
    SOKAL_C,
    THIN_TAUS,
    _check_L,
    _resolve,
    check_natural_grid,
    run_chains,
)
from statgeo.models.physics_model import ExponentialFamilyModel, PhaseDiagram, per_site_reference, register_model
from statgeo.provenance import config_attr, versions
from statgeo.seeding import as_seed_sequence
from statgeo.stats import Stats, estimate, integrated_autocorrelation_time, jackknife

__all__ = ["IsingModel", "thermodynamics", "sufficient_statistics"]

#: largest linear size accepted: one L×L int8 configuration is 2^30 bytes at L = 32768
MAX_L = 2**15

REFERENCES = ("exact", "mc_anchored", "auto")


@register_model
class IsingModel(ExponentialFamilyModel):
    """The 2-D Ising model on an L×L torus (coupling J, periodic boundaries).

    An exponential family in natural coordinates t = (K, η) = (J/T, H/T) with sufficient
    statistics (B, M); physical parameters (T, H).

    Parameters
    ----------
    L : int
        Linear size, 2 ≤ L ≤ 32768 (even for the checkerboard Metropolis sampler).
    J : float, default 1.0
        Coupling J > 0 (the energy unit; enters the map (T, H) → (K, η)).

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
        """``{"model": "ising", "L": L, "J": J}``."""
        return {"model": self.name, "L": self.L, "J": self.J}

    def natural_map(self) -> CoordinateMap:
        """(T, H) → (K, η) = (J/T, H/T) with its Jacobian."""
        return ising_temperature_field_map(self.J)

    def natural_grid(self, *, K: tuple[float, float, int], eta: tuple[float, float, int]) -> ParameterGrid:
        """A grid regular in (K, η), laid out in (K, η) (the sampler's coordinates).

        Parameters
        ----------
        K, eta : tuple
            ``(start, stop, n)`` of each natural coordinate; K > 0.

        Returns
        -------
        ParameterGrid
            Axes ``K``, ``eta`` with the identity map (a grid regular in (K, η) is not a
            tensor product in (T, H); use :meth:`natural_map` for physical coordinates).
        """
        grid = ParameterGrid.from_ranges(
            K=K, eta=eta,
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
        replicas_per_point: int = 1,
        progress: bool | None = None,
    ) -> xr.Dataset:
        """Draw ``n_samples`` configurations from p(s | K, η) at every grid point.

        Parameters
        ----------
        grid : ParameterGrid with natural names ("K", "eta").
        n_samples : samples per grid point, ≥ 1.
        seed : int ≥ 0 or SeedSequence. Same seed, backend and arguments → identical output,
            whatever the number of threads.
        backend : "auto" (= "numba"), "numba" or "cupy".
        algorithm : "auto" (Wolff on Numba, Metropolis on CuPy), "metropolis" or "wolff".
        burn_in, thin : sweeps, or "auto" (pilot-run rule in the module docstring).
        replicas_per_point : independent chains per grid point (samples split between them).
        progress : show a progress bar (None: on a terminal only; ``TQDM_DISABLE=1`` hides it).

        Returns
        -------
        xr.Dataset with ``spins`` int8 (grid dims…, sample, y, x), ``B``, ``M`` int64
        (grid dims…, sample), per-point ``tau_int_B``, ``tau_int_M`` (sweeps), ``burn_in``,
        ``thin`` (sweeps), coordinates from ``grid.coords()`` and natural coordinates, attrs
        ``config`` (JSON) and ``versions`` (JSON).
        """
        backend_r, algorithm_r = _resolve(backend, algorithm)
        _check_L(self.L, algorithm_r)
        n_samples = check_int("n_samples", n_samples, min=1)
        K, eta = check_natural_grid(grid)
        out = run_chains(K, eta, self.L, n_samples, seed=seed, backend=backend_r, algorithm=algorithm_r,
                         burn_in=burn_in, thin=thin, replicas_per_point=replicas_per_point,
                         progress=progress)
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
                              {"long_name": "integrated autocorrelation time of |M| (Sokal)", "units": "sweeps"}),
                "burn_in": (dims, out["burn_in"].reshape(shape),
                            {"long_name": "equilibration sweeps before the first sample", "units": "sweeps"}),
                "thin": (dims, out["thin"].reshape(shape),
                         {"long_name": "sweeps between stored samples", "units": "sweeps"}),
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
                                       "replicas_per_point": replicas_per_point,
                                       "grid": grid.to_json(),
                                       "burn_in_rule": f"max({MIN_BURN_IN[out['algorithm']]}, "
                                                       f"ceil({BURN_IN_TAUS:g} tau))",
                                       "thin_rule": f"max(1, ceil({THIN_TAUS:g} tau))",
                                       "init": "cold (all spins = sign(eta), +1 at eta = 0)"}),
                "versions": config_attr(versions()),
            },
        )
        return ds

    def sufficient_statistics(self, samples: xr.Dataset) -> xr.DataArray:
        """(B, M) per sample with a trailing ``statistic`` dim, see :func:`sufficient_statistics`."""
        return sufficient_statistics(samples)

    def exact(self, grid: ParameterGrid, method: str = "auto") -> xr.Dataset:
        """Exact references over ``grid``: :func:`statgeo.models.exact.ising_exact` with this L and J."""
        return ising_exact(grid, self.L, J=self.J, method=method)

    def reference(self, grid: ParameterGrid, *, kind: str = "auto", n_samples: int = 256,
                  seed: int | np.random.SeedSequence = 0, progress: bool | None = None,
                  per_site: bool = False) -> xr.Dataset:
        """Exact references where they exist, else Monte Carlo anchored to the exact η = 0 line.

        Parameters
        ----------
        grid : ParameterGrid
            Natural coordinates (K, η).
        kind : {"auto", "exact", "mc_anchored"}
            ``auto``: exact for L ≤ 12 (transfer matrix) or η = 0 everywhere (Kaufman), else
            :func:`~statgeo.models.ising_reference.ising_mc_reference`.
        n_samples : int, default 256
            Samples per quadrature node of the Monte Carlo reference.
        seed : int or SeedSequence, default 0
            Seed of the Monte Carlo reference.
        progress : bool or None
            Progress bar of the Monte Carlo reference.
        per_site : bool, default False
            Divide ln Z, its gradient and the metric (and their errors) by N = L².

        Returns
        -------
        xarray.Dataset
            ``log_z``, ``grad_log_z``, ``metric`` (natural coordinates), ``*_error`` for the
            Monte Carlo reference, attrs ``reference_label`` and ``metric_label``.
        """
        check_choice("kind", kind, REFERENCES)
        if kind == "auto":
            _, eta = check_natural_grid(grid)
            kind = "exact" if (self.L <= 12 or bool(np.all(eta == 0.0))) else "mc_anchored"
        if kind == "exact":
            ref = self.exact(grid)
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
                        seed: int | np.random.SeedSequence, log_z: Any = None) -> xr.DataArray:
        """Exact-likelihood posteriors of bundles of ``n`` samples, averaged per origin.

        p(t | s_1..s_n) ∝ exp(⟨t, Σ_k f(s_k)⟩ − n log Z(t)) over the grid cells with
        f = (B, M) (:func:`statgeo.geometry.exact_posterior`); effective temperature n/2.

        Parameters
        ----------
        samples : xarray.Dataset
            Output of :meth:`sample` on ``grid``.
        grid : ParameterGrid
        n : int
            Samples per bundle.
        seed : int or SeedSequence
            Shuffles the samples of each origin before cutting bundles.
        log_z : array_like, optional
            Total log Z on the grid if already computed (default: :meth:`exact`).

        Returns
        -------
        xarray.DataArray
            Dims (origin, cell), see :mod:`statgeo.geometry.posterior`.
        """
        st = self.sufficient_statistics(samples).transpose(*grid.names, "sample", "statistic").values
        st = st.reshape(grid.size, -1, len(self.statistic_names))
        if log_z is None:
            log_z = self.exact(grid)["log_z"].values
        return exact_posterior(st, grid, log_z, n, seed=seed)

    def phase_diagram(self) -> PhaseDiagram:
        """The line η = 0, K > K_c (first-order in η) ending at the critical point (K_c, 0)."""
        K = np.linspace(K_C, 5.0, 4001)
        return PhaseDiagram(
            lines={"eta=0, K>K_c": np.stack([K, np.zeros_like(K)], -1)},
            points={"critical_point": (K_C, 0.0)},
            line_ends={"critical_point": "eta=0, K>K_c"},
            description="2-D Ising: first-order line eta = 0 for K > K_c = ln(1 + sqrt 2)/2, critical point K_c",
        )


# ----------------------------------------------------------------------------- estimates from samples
def sufficient_statistics(samples: xr.Dataset) -> xr.DataArray:
    """f(s) = (B, M) per sample, dims (…, sample, statistic) with statistic = ["B", "M"]."""
    if not isinstance(samples, xr.Dataset) or "B" not in samples or "M" not in samples:
        raise TypeError("samples must be an xr.Dataset from IsingModel.sample (with variables B and M)")
    f = xr.concat([samples["B"], samples["M"]], dim="statistic").transpose(..., "statistic")
    return f.assign_coords(statistic=("statistic", ["B", "M"])).rename("sufficient_statistics")


def thermodynamics(samples: xr.Dataset, n_blocks: int = 32) -> dict[str, Stats]:
    """Estimates with error bars from samples: ⟨B⟩, ⟨M⟩, ⟨|M|⟩, Var(B), Var(M), Cov(B, M).

    Means: :func:`statgeo.stats.estimate` (error σ·√(2τ_int/n), τ_int in units of stored
    samples). Variances and the covariance: blocked jackknife (:func:`statgeo.stats.jackknife`,
    min(``n_blocks``, n) blocks) of Cov(X, Y) = ⟨XY⟩ − ⟨X⟩⟨Y⟩ (unbiased, ddof = 1), with the τ_int of
    the product series (X − X̄)(Y − Ȳ). Arrays have the grid shape of ``samples``.

    Returns
    -------
    dict with keys "B", "M", "absM", "var_B", "var_M", "cov_BM" → :class:`statgeo.stats.Stats`.
    """
    if not isinstance(samples, xr.Dataset) or "B" not in samples or "M" not in samples:
        raise TypeError("samples must be an xr.Dataset from IsingModel.sample (with variables B and M)")
    B = samples["B"].transpose(..., "sample").values.astype(np.float64)
    M = samples["M"].transpose(..., "sample").values.astype(np.float64)
    n = B.shape[-1]
    if n < 2:
        raise ValueError(f"samples must contain at least 2 samples per grid point, got {n}")
    n_blocks = min(check_int("n_blocks", n_blocks, min=2), n)
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
