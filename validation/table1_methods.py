"""The rows of Table 1 for one model and one seed (docs/table1.md, "Stages", step 3).

1. ``ours_neural`` — neural grid posterior (:class:`NeuralGridPosterior`, bundles of n at the
   origin, one row per bundle) → the fit of the model's family: for an exponential family the
   exponential-family head (``neural_head``; its output has exactly the posterior form the fit
   models) and the free-linear-term fit at temperature n; otherwise the logits head against a
   target bump, its output modelled as the posterior convolved with the bump (read from the
   posterior's attrs), and the paper's form on per-origin averages at n/2.
   ``neural_output_model="width"``: averaged output at the width-based
   temperature.
2. ``ours_neural_paper_form`` — the same output, per-origin averages at n/2, the paper's fit
   (centres tied to ∇Φ at the origin, JSD): the paper's method for the paper's columns.
3. ``ours_kernel`` — feature-kernel posterior on a *learned* embedding: the neural posterior
   network's per-sample statistic t(x) (exponential-family head) or encoder features (logits
   head), mean-pooled over a bundle of n samples, reduced by
   PCA to ``kernel_dim`` whitened components; Gaussian kernel with the temperature chosen by
   held-out likelihood and the effective temperature of :func:`kernel_temperature_per_sample`;
   the free-linear-term fit. No model knowledge (not the exact statistics).
4. ``oracle`` — the model's exact-likelihood posterior of bundles of n (``model.exact_posterior``,
   one row per bundle) → the fit form of row 1.
5. ``oracle_paper_form`` — the same, per-origin averages at n/2, the paper's fit.
6. ``oracle_observed_information`` — the same rows' curvature at their origins
   (:func:`statgeo.geometry.observed_information_metric`: the metric, no potential fitted), its
   potential by :func:`statgeo.geometry.potential_from_metric`; only where every grid point has rows.
7. ``classifim`` — :func:`validation.classifim.classifim_metric` (the metric), its potential by
   :func:`statgeo.geometry.potential_from_metric`.
8. ``mean_as_stat`` — :func:`validation.baselines.mean_as_stat`'s statistic (the mean over the
   configuration) → :func:`validation.baselines.statistic_baseline`.
9. ``pca_vae`` — :func:`validation.baselines.pca_vae`, better of PCA / VAE by
   :func:`validation.baselines.pick_better` (benefit of the doubt). The statistics of rows 8
   and 9 are fitted and applied by :func:`baseline_statistics`: on all samples in memory, or
   (paper scale) fitted on a subset and applied a block of grid rows at a time.

Every row returns Φ, ∇Φ, ∇²Φ per site (÷ N) on the grid's natural points.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import numpy as np
import xarray as xr

from statgeo.geometry import (
    DegeneratePosteriorWarning,
    NeuralGridPosterior,
    average_per_origin,
    detect_first_order_line,
    feature_kernel_posterior,
    fit_log_partition,
    fit_log_partition_split,
    observed_information_metric,
    posterior_dataarray,
    posterior_kl,
    potential_from_metric,
)
from statgeo.grid import ParameterGrid
from statgeo.models import ExponentialFamilyModel, PhysicsModel
from validation.table1_config import ModelSettings
from validation.table1_data import build_model, sample_array

__all__ = ["ROWS", "ROW_LABELS", "ROW_FIT_FORM", "LATTICE_ROWS", "BASELINE_STATISTICS", "run_rows", "row_seeds",
           "baseline_statistics", "learned_features", "bundle_average"]

log = logging.getLogger(__name__)

ROWS = ("ours_neural", "ours_neural_paper_form", "ours_kernel", "oracle", "oracle_paper_form",
        "oracle_observed_information", "classifim", "mean_as_stat", "pca_vae")
ROW_LABELS = {
    "ours_neural": "Ours (neural grid posterior → free-linear-term fit)",
    "ours_neural_paper_form": "Ours, paper's form (neural posterior averages → JSD fit with ∇Φ centres)",
    "ours_kernel": "Ours (feature-kernel posterior → free-linear-term fit)",
    "oracle": "Oracle (exact-likelihood posterior → free-linear-term fit)",
    "oracle_paper_form": "Oracle, paper's form (bundle average → JSD fit with ∇Φ centres)",
    "oracle_observed_information": "Oracle, observed information (curvature of the exact-likelihood rows → metric; "
                                   "Φ by least squares)",
    "classifim": "ClassiFIM-style (pair classifier → metric; Φ by least squares)",
    "mean_as_stat": "Mean-as-Stat",
    "pca_vae": "PCA-VAE (better of PCA / VAE)",
}
#: which fit form each learned row uses (docs/table1.md, "Rows")
ROW_FIT_FORM = {"ours_neural": "free (exponential family) / paper's (otherwise)", "ours_kernel": "free",
                "ours_neural_paper_form": "paper's",
                "oracle": "free (exponential family) / paper's (otherwise)", "oracle_paper_form": "paper's"}


def _on_grid(fp: Any, grid: ParameterGrid, N: int) -> dict[str, np.ndarray]:
    t = grid.natural_points()
    sh = grid.shape
    return {"log_z": fp.value(t).reshape(sh) / N,
            "grad_log_z": fp.gradient(t).reshape(sh + (2,)) / N,
            "metric": fp.hessian(t).reshape(sh + (2, 2)) / N}


def _from_metric(metric: np.ndarray, grid: ParameterGrid, N: int) -> dict[str, np.ndarray]:
    """A row that estimates the metric first: Φ and ∇Φ by least squares (``potential_from_metric``), per site."""
    metric = metric.reshape(grid.shape + (grid.ndim, grid.ndim))
    pf = potential_from_metric(metric, grid)
    return {"log_z": np.asarray(pf.potential).reshape(grid.shape) / N,
            "grad_log_z": np.asarray(pf.gradient).reshape(grid.shape + (grid.ndim,)) / N,
            "metric": metric / N}


def _from_ds(ds: xr.Dataset, grid: ParameterGrid) -> dict[str, np.ndarray]:
    return {"log_z": ds["log_z"].transpose(*grid.names).values,
            "grad_log_z": ds["grad_log_z"].transpose(*grid.names, ...).values,
            "metric": ds["metric"].transpose(*grid.names, ...).values}


def bundle_average(post: xr.DataArray, grid: ParameterGrid) -> xr.DataArray:
    """Per-origin averages of a posterior with one row per bundle, at half its temperature.

    The rows of each origin are averaged (:func:`statgeo.geometry.average_per_origin`); the
    effective temperature halves (n per bundle → n/2 for the average,
    docs/geometry_fitting.md, "Effective temperatures"); a recorded output kernel is kept.
    A posterior that is already averaged is returned as it is.

    Parameters
    ----------
    post : xarray.DataArray
        Rows grouped by origin (every grid point, or a chosen subset), the same number per
        origin (``attrs["averaged"] == 0``).
    grid : ParameterGrid
        Its grid.

    Returns
    -------
    xarray.DataArray
        One row per origin, in the order the origins appear.
    """
    if int(post.attrs.get("averaged", 1)):
        return post
    origin = post["origin"].values
    starts = np.flatnonzero(np.r_[True, origin[1:] != origin[:-1]])
    per = post.sizes["origin"] // starts.size
    if per * starts.size != origin.size or not (origin.reshape(starts.size, per) == origin[starts, None]).all():
        raise ValueError("bundle_average needs the rows grouped by origin, the same number per origin")
    keep = {k: post.attrs[k] for k in ("output_kernel", "output_kernel_sigma") if k in post.attrs}
    return posterior_dataarray(average_per_origin(post.values.reshape(starts.size, per, grid.size)), grid,
                               origin[starts], estimator=post.attrs.get("estimator", ""),
                               n_per_bundle=int(post.attrs.get("n_per_bundle", 1)),
                               effective_temperature=float(post.attrs["effective_temperature"]) / 2.0,
                               attrs={"averaged": 1, **keep})


def learned_features(ng: Any, x: np.ndarray, n: int, bundles_per_origin: int, k: int, seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Bundle features from a trained NeuralGridPosterior, PCA-whitened.

    The features are the head's learned statistic t(x) for ``head="exponential_family"`` and
    the encoder's output otherwise.

    For every origin, ``bundles_per_origin`` bundles of n samples are drawn with replacement;
    the encoder's per-sample features are averaged over each bundle (as the network pools),
    centred and projected on the k leading principal components, each scaled to unit
    variance.

    Parameters
    ----------
    ng : NeuralGridPosterior
        A trained network (its ``sample_features``).
    x : numpy.ndarray
        Samples, shape (C, S, *configuration shape), origins in flat C order.
    n : int
        Samples per bundle.
    bundles_per_origin : int
        Bundles B per origin.
    k : int
        Components kept (fewer if the features have lower rank).
    seed : int
        Seed of the bundle draws.

    Returns
    -------
    features : numpy.ndarray
        Shape (C·B, k).
    origin : numpy.ndarray
        Flat grid index of each row's origin, shape (C·B,).
    """
    C, S = x.shape[:2]
    # the exponential-family head's learned statistic t(x) when it has one, else the encoder's features
    f = ng.sample_features(x, statistic=ng.head == "exponential_family")
    rng = np.random.default_rng(seed)
    B = bundles_per_origin
    pick = np.stack([rng.choice(S, size=(B, n), replace=True) for _ in range(C)])  # (C, B, n)
    fb = f[np.arange(C)[:, None, None], pick].mean(2).reshape(C * B, -1)
    fb = fb - fb.mean(0)
    _, sv, vt = np.linalg.svd(fb, full_matrices=False)
    k = min(k, int((sv > 1e-9 * sv[0]).sum()))
    z = fb @ vt[:k].T / (sv[:k] / np.sqrt(fb.shape[0]))
    return z, np.repeat(np.arange(C), B)


def kernel_temperature_per_sample(post: xr.DataArray, z: np.ndarray, grid: ParameterGrid, n: int,
                                  bundles_per_origin: int, method: str = "closed_form") -> tuple[float, str]:
    """Effective temperature (per sample) of a kernel posterior built on bundle features.

    ``method="closed_form"`` (default): the Gaussian-kernel closed form of
    :func:`statgeo.geometry.posterior_kernel.kernel_effective_temperature`,
    n_b = c² / (2c² + 1/τ) for isotropic features of within-origin variance c² (estimated as
    the mean over origins and components of the per-origin variance of the whitened bundle
    features), times n. ``method="width"``: as follows.

    The width estimator of :mod:`statgeo.geometry.posterior_kernel`,
    n_b = tr(g_s⁻¹ Σ_post⁻¹)/d (median over interior origins), measures the posterior's
    sharpness in units of the Gaussian-statistic Fisher metric g_s = J_μᵀ Σ⁻¹ J_μ of the
    features of one *bundle*. Here g_s is estimated with μ (and Σ) smoothed over one grid cell
    (:func:`statgeo.geometry.statistic_metric.statistic_metric`), because the noise of μ̂ from
    ``bundles_per_origin`` bundles otherwise inflates J_μ and hence g_s. For features that carry
    the bundle's information, g_s ≈ n g (n samples per bundle), so the per-sample temperature
    is n · n_b (the assumption "the features extracted all information" is the same as the
    neural posterior's width estimate; a loss of information shows up as the fitted scale).
    Interior rows are those whose mean ± 3σ stays in the box; if there are none, 2σ, then 1σ,
    then the h → 0 limit n/2.

    Parameters
    ----------
    post : xarray.DataArray
        The kernel posterior (its attr ``temperature`` is the kernel temperature τ).
    z : numpy.ndarray
        The whitened bundle features, shape (C·B, k) (:func:`learned_features`).
    grid : ParameterGrid
        The grid.
    n : int
        Samples per bundle.
    bundles_per_origin : int
        Bundles B per origin.
    method : {"closed_form", "width"}, default "closed_form"
        Which estimate (above).

    Returns
    -------
    temperature : float
        The per-sample effective temperature.
    how : str
        How it was obtained (recorded in the diagnostics).
    """
    from statgeo.geometry.posterior_kernel import kernel_effective_temperature, width_effective_temperature
    from statgeo.geometry.statistic_metric import statistic_metric

    if method == "closed_form":
        zz = z.reshape((grid.size, bundles_per_origin, z.shape[-1]))
        c2 = float(zz.var(axis=1, ddof=1).mean())
        te = kernel_effective_temperature("gauss", float(post.attrs["temperature"]), c2)
        return float(n * te), f"closed form n c^2/(2c^2 + 1/tau), c^2 = {c2:.4g} (mean within-origin feature variance)"
    zz = z.reshape(grid.shape + (bundles_per_origin, z.shape[-1]))
    sm = statistic_metric(zz, grid, smooth=1.0, smooth_cov=True, ridge=1e-6)
    g = sm.metric.reshape(grid.size, grid.ndim, grid.ndim)
    for n_sigma in (3.0, 2.0, 1.0):
        try:
            return float(n * width_effective_temperature(post, grid, g, n_sigma=n_sigma)), f"width ({n_sigma:g} sigma)"
        except ValueError:
            continue
    log.warning("kernel posterior wider than the box everywhere; using the h -> 0 limit n/2")
    return n / 2.0, "fallback n/2 (posteriors wider than the box)"


def pc1_mean_correlation(pca: np.ndarray, mean: np.ndarray) -> float:
    """|corr(s₁, x̄)| over all samples: how close the leading principal component is to the mean.

    Whether PCA's statistic contains the mean spin / mean occupation, i.e. the exact
    sufficient statistic of the Ising field direction (the evidence for exempting PCA-VAE's
    field columns, docs/table1.md).

    Parameters
    ----------
    pca : numpy.ndarray
        The PCA statistics of the samples, shape (..., k); the first column is s₁.
    mean : numpy.ndarray
        The Mean-as-Stat statistic of the same samples, shape (..., 1).

    Returns
    -------
    float
        The absolute correlation, in [0, 1].
    """
    c = np.corrcoef(np.asarray(pca)[..., 0].reshape(-1), np.asarray(mean).reshape(-1))[0, 1]
    return float(abs(c))


def row_seeds(seed: int) -> list[int]:
    """The seeds of every random choice the rows make, derived from the run's seed.

    Parameters
    ----------
    seed : int
        The run's seed.

    Returns
    -------
    list of int
        Eight seeds in [0, 2³¹): 0 the oracle's bundles, 1 its fit, 2 the network, 3 its
        bundles, 4 its fit, 5 the kernel row, 6 ClassiFIM, 7 the statistic baselines.
    """
    ss = np.random.SeedSequence([seed, 7])
    return [int(v) for v in ss.generate_state(8) % (2**31)]


#: the statistic baselines' fitted statistics (:func:`baseline_statistics`), per row
BASELINE_STATISTICS = {"mean_as_stat": ("mean",), "pca_vae": ("pca", "vae", "mean")}


def baseline_statistics(s: ModelSettings, x: np.ndarray, seed: int, rows: tuple[str, ...]) -> dict[str, Any]:
    """The per-sample statistics of the requested statistic baselines, fitted on ``x``.

    ``mean`` (Mean-as-Stat's mean over the configuration), ``pca`` and ``vae`` (PCA-VAE's two
    statistics, k = 2, :func:`validation.baselines.fit_pca_vae` with the settings' VAE steps and
    the seed of :func:`row_seeds`). Each is a function from configurations of shape
    (..., *configuration shape) to statistics (..., k), with its settings in ``config``: apply
    it to every sample, at once or a block at a time.

    Parameters
    ----------
    s : ModelSettings
        The model's settings.
    x : numpy.ndarray
        Configurations to fit on, pooled, shape (M, *configuration shape): all samples of the
        seed, or a uniform subset of them when they do not fit in memory.
    seed : int
        The run's seed.
    rows : tuple of str
        The rows to run (only those of :data:`BASELINE_STATISTICS` need statistics).

    Returns
    -------
    dict of str to callable
        Per statistic name (``mean``, ``pca``, ``vae``) its function.
    """
    from validation.baselines import fit_pca_vae, mean_statistic

    names = {n for r in rows for n in BASELINE_STATISTICS.get(r, ())}
    config_ndim = x.ndim - 1
    fitted: dict[str, Any] = {"mean": mean_statistic} if "mean" in names else {}
    if "pca" in names:
        flat = x.reshape(x.shape[0], -1)
        fitted.update(fit_pca_vae(flat, k=2, vae={"steps": s.vae_steps}, seed=row_seeds(seed)[7]))
    return {name: _ConfigurationStatistic(f, config_ndim) for name, f in fitted.items()}


class _ConfigurationStatistic:
    """A per-sample statistic of flat features (..., D) applied to configurations (..., *shape)."""

    def __init__(self, f: Any, config_ndim: int):
        self.f, self.config_ndim = f, config_ndim
        self.config = dict(getattr(f, "config", {"variant": getattr(f, "__name__", "statistic")}))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return self.f(x.reshape(x.shape[: x.ndim - self.config_ndim] + (-1,)))


#: the rows that need every configuration in memory (the others read them through per-sample
#: features: the plus-pattern encoder, the exact statistics, the baselines' fitted statistics)
LATTICE_ROWS = ("classifim",)


def run_rows(s: ModelSettings, grid: ParameterGrid, samples: xr.Dataset, reference: xr.Dataset, seed: int, *,
             rows: tuple[str, ...] = ROWS, device: str = "cpu", frequencies: np.ndarray | None = None,
             statistics: dict[str, tuple[np.ndarray, dict]] | None = None) -> dict:
    """Run the requested rows for one model and seed (module docstring).

    Parameters
    ----------
    s : ModelSettings
        The model's settings.
    grid : ParameterGrid
        The model's grid.
    samples : xarray.Dataset
        The seed's samples on ``grid``.
    reference : xarray.Dataset
        The reference per site (its exact ln Z feeds the Ising oracle).
    seed : int
        The run's seed; every random choice of the rows is derived from it.
    rows : tuple of str, default ROWS
        Which rows to run.
    device : str, default "cpu"
        torch device of the neural posterior.
    frequencies : numpy.ndarray, optional
        The configurations' plus-pattern frequencies (grid.size, S, 32)
        (:func:`validation.table1_data.sample_features`), for ``neural_encoder="patches"``:
        the network reads them instead of the lattices, and ``samples`` need not hold the
        configurations; ClassiFIM cannot run then, and the statistic baselines need
        ``statistics``.
    statistics : dict, optional
        The statistic baselines' statistics of every sample, computed without the lattices in
        memory: per name of :func:`baseline_statistics` ``(values (grid.size, S, k), config)``;
        by default fitted and computed here from the lattices.

    Returns
    -------
    dict
        ``{"recon": {row: {"log_z", "grad_log_z", "metric"}}, "diag": {row: {...}},
        "times": {stage: seconds}}``; reconstructions per site on the grid's natural points.
    """
    import torch

    from validation.baselines import pca_vae_from_statistics, pick_better, statistic_baseline

    torch.set_num_threads(1)
    model: PhysicsModel = build_model(s)
    N = model.n_sites
    if frequencies is not None:
        need = {n for r in rows for n in BASELINE_STATISTICS.get(r, ())}
        if s.neural_encoder != "patches" or "classifim" in rows or not need <= set(statistics or {}):
            raise ValueError("frequencies replace the lattices only for neural_encoder='patches', without the "
                             "row 'classifim', and with the statistics of the statistic baselines; got encoder "
                             f"{s.neural_encoder!r}, rows {rows}, statistics {sorted(statistics or {})}")
        x = frequencies
    else:
        # the plus-pattern encoder reads the stored int8 lattices (no float32 copy of all samples);
        # the rows that need floats make their copy when they run
        x = sample_array(samples, grid, model, dtype=None if s.neural_encoder == "patches" else np.float32)

    def as_float() -> np.ndarray:
        return x if x.dtype == np.float32 else x.astype(np.float32)
    n = s.bundle
    recon: dict[str, dict] = {}
    diag: dict[str, dict] = {}
    times: dict[str, float] = {}
    sd = row_seeds(seed)
    ref_d = {"log_z": reference["log_z"].values, "grad_log_z": reference["grad_log_z"].values,
             "metric": reference["metric"].values}

    # the fit's form follows the model's family (docs/table1.md, "Rows"): for an exponential
    # family one bundle's exact posterior is exactly softmax(n[<a, t> - Phi(t)]), so the free
    # linear term on single bundles is the exact model; otherwise (TASEP) the shape of a bundle's
    # posterior varies with the bundle, and the paper's form on bundle averages measured better
    exp_family = isinstance(model, ExponentialFamilyModel)
    form = "free" if exp_family else "gradient"

    lines: dict[int, Any] = {}  # detected line per single-bundle rows object: each form's pair shares its rows

    def fit(post: xr.DataArray, name: str, k: int, single: xr.DataArray | None = None, **kw: Any) -> None:
        """Fit one row; ``single``: its single-bundle rows, where the line is looked for (default ``post``)."""
        t0 = time.perf_counter()
        single = post if single is None else single
        if name in ("oracle", "ours_neural"):
            post = post if form == "free" else bundle_average(post, grid)
            kw.setdefault("linear_term", form)
        line, split = s.fit_split, {}
        if line == "detect":
            if id(single) not in lines:
                lines[id(single)] = detect_first_order_line(single, grid)
            found = lines[id(single)]
            split = {"line_found": found.found, "line_wall_rows": found.wall_rows,
                     "line_reaching_rows": found.reaching_rows}
            line = (found.axis, found.at) if found.found else None
            kw["check_line"] = False                 # the one fit need not look for the line again
        if line is None:
            fp = fit_log_partition(post, grid, max_steps=s.fit_steps, model=s.fit_model, seed=sd[k], **kw)
            pieces = [fp]
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DegeneratePosteriorWarning)
                fp = fit_log_partition_split(post, grid, axis=line[0], at=line[1],
                                             max_steps=s.fit_steps, model=s.fit_model, seed=sd[k], **kw)
            pieces = [fp.lower, fp.upper]
            split.update({"fit_split": [line[0], float(line[1])],
                          "split_crossing_rows": fp.diagnostics["crossing_rows"],
                          "split_jump_identified": fp.diagnostics["jump_identified"],
                          "split_continuity_rms": fp.diagnostics["continuity_rms"],
                          "split_warnings": [str(w.message) for w in caught]})
        recon[name] = _on_grid(fp, grid, N)
        diag.setdefault(name, {}).update(n_eff=float(post.attrs["effective_temperature"]),
                                         fit_steps=sum(int(p.config["steps"]) for p in pieces),
                                         fit_stop="; ".join(p.config["stop_reason"] for p in pieces),
                                         fit_form=pieces[0].config["linear_term"], fit_loss=pieces[0].config["loss"],
                                         fit_rows=sum(int(p.config["rows_used"]) for p in pieces),
                                         posterior_origins=int(np.unique(post["origin"].values).size),
                                         posterior_width_cells=pieces[0].diagnostics["posterior"]["width_cells"],
                                         fit_warnings=[w for p in pieces for w in p.diagnostics["warnings"]],
                                         **split)
        times[f"{name}:fit"] = time.perf_counter() - t0

    # on a large grid, posterior rows only at the sub-lattice of origins the fit reads (every cell kept)
    origins = grid.sublattice(s.max_posterior_origins) if grid.size > s.max_posterior_origins else None
    exact_post = None
    if set(rows) & {"oracle", "ours_neural", "oracle_paper_form", "oracle_observed_information"}:
        t0 = time.perf_counter()
        kw = {"log_z": reference["log_z"].values * N} if isinstance(model, ExponentialFamilyModel) else {}
        # one row per bundle: exactly the form the free-linear-term fit models
        exact_post = model.exact_posterior(samples, grid, n, seed=sd[0], average=False, origins=origins, **kw)
        times["oracle:posterior"] = time.perf_counter() - t0
    if "oracle" in rows:
        fit(exact_post, "oracle", 1)
    if "oracle_paper_form" in rows:
        # the paper's form: bundle averages at n/2, centres tied to ∇Φ at the origin, JSD
        fit(bundle_average(exact_post, grid), "oracle_paper_form", 1, single=exact_post, linear_term="gradient")
    if "oracle_observed_information" in rows:
        # the metric read from the curvature of the same single-bundle rows, no potential fitted
        # (docs/geometry_metric.md, "The metric from the posteriors' curvature"); Φ from it by least squares
        t0 = time.perf_counter()
        oi = observed_information_metric(exact_post, grid)
        d = diag.setdefault("oracle_observed_information", {})
        d.update(excluded_rows=int(oi.excluded_rows), rows_per_point=int(np.min(oi.rows)))
        if np.isfinite(oi.metric).all():
            recon["oracle_observed_information"] = _from_metric(oi.metric, grid, N)
            d["median_relative_standard_error"] = float(np.nanmedian(
                np.diagonal(oi.standard_error, axis1=-2, axis2=-1) / np.diagonal(oi.metric, axis1=-2, axis2=-1)))
        else:  # posterior rows at a sub-lattice of origins only, or rows left out: reported, not hidden
            d["error"] = (f"the observed information is missing at {int(np.isnan(oi.metric[..., 0, 0]).sum())} grid "
                          "points (posterior rows at a sub-lattice of origins, or rows left out)")
        times["oracle_observed_information"] = time.perf_counter() - t0
    if "classifim" in rows:
        from validation.classifim import classifim_metric

        t0 = time.perf_counter()
        g_cf, cf_diag = classifim_metric(as_float(), grid, kind=model.configuration_kind, seed=sd[6], progress=False)
        recon["classifim"] = _from_metric(g_cf, grid, N)
        diag["classifim"] = {k: v for k, v in cf_diag.items() if isinstance(v, (int, float, str))}
        times["classifim"] = time.perf_counter() - t0

    ng = None
    if "ours_neural" in rows or "ours_kernel" in rows or "ours_neural_paper_form" in rows:
        t0 = time.perf_counter()
        ng = NeuralGridPosterior(grid, n, kind=model.configuration_kind,
                                 sigma=s.neural_sigma, channels=s.neural_channels, hidden=s.neural_hidden,
                                 seed=sd[2], head=s.neural_head, encoder=s.neural_encoder)
        if device != "cpu":
            torch.set_default_device(device)
        if s.neural_calibration == "heldout_samples":
            n_tr = max(n, (3 * x.shape[1]) // 4)
            ng.fit(x[:, :n_tr], steps=s.neural_steps, batch_size=s.neural_batch, lr=s.neural_lr,
                   patience=s.neural_patience, calibrate=False, lr_schedule=s.neural_lr_schedule)
            # calibrate on the held-out samples at every grid point
            ng.calibrate(x[:, n_tr:], bundles=max(1, (x.shape[1] - n_tr) // n), origins=np.arange(grid.size))
        else:
            ng.fit(x, steps=s.neural_steps, batch_size=s.neural_batch, lr=s.neural_lr, patience=s.neural_patience,
                   calibrate=s.neural_calibration == "grid_points", lr_schedule=s.neural_lr_schedule,
                   validation="grid_points" if s.neural_calibration == "grid_points" else "samples")
        times["ours_neural:train"] = time.perf_counter() - t0
    if "ours_neural" in rows or "ours_neural_paper_form" in rows:
        t0 = time.perf_counter()
        d = diag.setdefault("ours_neural", {})
        d["calibration_temperature"] = float(ng.temperature)
        d["train_steps"] = int(ng.history["step"][-1]) if ng.history.get("step") else 0
        d["output_model"] = s.neural_output_model
        if s.neural_output_model == "bump":
            # one row per bundle; the posterior records the target bump S, so the fit models the
            # network's output as q_θ S at the theory-fixed temperature n (target_smoothing="auto")
            post = ng.posterior(x, bundles_per_origin=s.bundles_per_origin, seed=sd[3], average=False,
                                origins=origins)
            times["ours_neural:posterior"] = time.perf_counter() - t0
            if exact_post is not None:  # like with like: per-origin averages, the exact one convolved with S
                pe = bundle_average(exact_post, grid)
                d["kl_from_exact_posterior_smoothed"] = float(
                    posterior_kl(pe.copy(data=ng.apply_target_kernel(pe.values)), bundle_average(post, grid)).mean())
            if "ours_neural" in rows:
                fit(post, "ours_neural", 4)
            if "ours_neural_paper_form" in rows:
                # the paper's form on the per-origin averages of the same output (at n/2, with S)
                fit(bundle_average(post, grid), "ours_neural_paper_form", 4, single=post, linear_term="gradient")
        else:
            post = ng.posterior(x, bundles_per_origin=s.bundles_per_origin, seed=sd[3], effective_temperature="width",
                                origins=origins)
            times["ours_neural:posterior"] = time.perf_counter() - t0
            fit(post, "ours_neural", 4)
    if "ours_kernel" in rows:
        try:
            t0 = time.perf_counter()
            z, oi = learned_features(ng, x, n, s.bundles_per_origin, s.kernel_dim, sd[5])
            kp = feature_kernel_posterior(z, grid.points()[oi], grid, queries_per_origin=s.kernel_queries, seed=sd[5],
                                          effective_temperature=1.0)
            te, how = kernel_temperature_per_sample(kp, z, grid, n, s.bundles_per_origin, s.kernel_temperature)
            kp.attrs["effective_temperature"] = te
            kp.attrs["temperature_derivation"] = ("n x width estimate tr(g_s^-1 Sigma_post^-1)/d against the smoothed "
                                                  f"Gaussian-statistic metric g_s of the bundle features: {how}")
            times["ours_kernel:posterior"] = time.perf_counter() - t0
            diag.setdefault("ours_kernel", {}).update(kernel_temperature=float(kp.attrs["temperature"]),
                                                      feature_dim=int(z.shape[1]), temperature_how=how)
            fit(kp, "ours_kernel", 6)
        except Exception as exc:  # reported in the diagnostics and the table ("—"), never hidden
            log.exception("ours_kernel failed for %s seed %d", s.model, seed)
            diag.setdefault("ours_kernel", {})["error"] = repr(exc)
    if statistics is None and set(rows) & set(BASELINE_STATISTICS):  # fitted on all samples, in memory
        t0 = time.perf_counter()
        fitted = baseline_statistics(s, x.reshape((-1,) + x.shape[2:]), seed, rows)
        statistics = {name: (f(x), f.config) for name, f in fitted.items()}
        times["baseline_statistics"] = time.perf_counter() - t0

    def on_grid(name: str) -> np.ndarray:
        v = statistics[name][0]
        return v.reshape(grid.shape + v.shape[1:])
    if "mean_as_stat" in rows:
        t0 = time.perf_counter()
        recon["mean_as_stat"] = _from_ds(statistic_baseline(on_grid("mean"), grid, method="mean-as-stat",
                                                            normalisation=N, seed=sd[7]), grid)
        times["mean_as_stat"] = time.perf_counter() - t0
    if "pca_vae" in rows:
        t0 = time.perf_counter()
        cands = pca_vae_from_statistics({v: on_grid(v) for v in ("pca", "vae")}, grid,
                                        configs={v: statistics[v][1] for v in ("pca", "vae")}, normalisation=N,
                                        seed=sd[7])
        best, ds, scores = pick_better(cands, ref_d, grid, margin=s.margin)
        recon["pca_vae"] = _from_ds(ds, grid)
        diag["pca_vae"] = {"variant": best, "scores": scores, "fit_samples": int(statistics["pca"][1]["fit_samples"]),
                           "pc1_corr_with_mean": pc1_mean_correlation(on_grid("pca"), on_grid("mean"))}
        times["pca_vae"] = time.perf_counter() - t0
    if device != "cpu":
        torch.set_default_device("cpu")
    return {"recon": recon, "diag": diag, "times": times}
