"""Presets of ``python -m validation.table1`` (docs/table1.md, "The box and presets").

A preset fixes, per model, the system size, the parameter box (a grid regular in the natural
coordinates), the samples per grid point, the bundle size and the cost knobs of every stage.

* ``quick`` — 2 CPU cores, no GPU, ≤ 10 min for both models, all rows and 3 seeds.
  Ising: 8×8 torus (exact transfer-matrix references at any field), 24×24 grid over
  K ∈ [0.2, 0.7] × η ∈ [−0.2, 0.2] (T = 1/K ∈ [1.43, 5], so T_c = 2.269 lies inside with the
  ordered side K > K_c = 0.4407 over 52 % of the K range, and both field signs).
  TASEP: N = 10 (exact ln Z_N, exact F_obs by enumeration of the 2^10 configurations), 20×20
  grid regular in θ = (−ln α, −ln β) over α, β ∈ [0.1, 1] (all three phases: the lines
  α = ½, β = ½ sit at θ = ln 2 = 0.69 of θ ∈ [0, 2.30]).
* ``tiny`` — the CI preset (tests/validation/test_table1.py): smaller grids, fewer steps.
* ``paper`` — the paper's scale (Ising L = 128 on a 128×128 grid, 32 samples per point:
  5.2·10⁵ configurations; TASEP N = 100 on a 128×128 grid, 32 samples per point, F_obs from
  exact samples with exact scores), meant for ``--backend cupy --device cuda`` and/or
  ``--scheduler``; its Ising reference is the Monte Carlo reference anchored to Kaufman's
  exact h = 0 line (no exact result exists at L = 128, h ≠ 0).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from statgeo.checks import check_choice, check_int

__all__ = ["ModelSettings", "Preset", "PRESETS", "get_preset"]


@dataclass(frozen=True)
class ModelSettings:
    """Settings of one model's part of Table 1.

    Parameters
    ----------
    model : str
        Registered model name (``"ising"``, ``"tasep"``).
    size : int
        L (Ising, L×L torus) or N (TASEP sites).
    axis0, axis1 : tuple of (float, float, int)
        ``(start, stop, n)`` of the two natural coordinates (Ising: K, η; TASEP: θ_α, θ_β); the
        model's ``natural_grid`` lays the grid out (the TASEP grid in (α, β) = e^{−θ}, so the
        samplers see their physical rates).
    n_samples : int, default 64
        Samples per grid point.
    bundle : int, default 4
        Samples per bundle n of the posteriors.
    neural_steps : int, default 600
        Training steps of the neural grid posterior.
    neural_batch : int, default 64
        Bundles per training batch.
    neural_channels : int, default 16
        Channels of the per-sample encoder.
    neural_hidden : int, default 128
        Width of the logits head.
    neural_encoder : str, default "full"
        The per-sample encoder of lattices (``NeuralGridPosterior(encoder=...)``): "full",
        "strided" or "patches" (plus-pattern frequencies, no convolutions).
    neural_sigma : float, default 1/50
        Width of the Gaussian target bump, in box units (see the comment at the field).
    neural_lr : float, default 3e-3
        Adam learning rate.
    neural_patience : int, default 12
        Validation checks without improvement before early stopping.
    neural_lr_schedule : {"constant", "cosine"}, default "constant"
        Learning-rate schedule.
    neural_calibration : {"heldout_samples", "grid_points", "none"}, default "heldout_samples"
        Temperature scaling of the network's output (see the comment at the field).
    neural_output_model : {"width", "bump"}, default "width"
        How the fit reads the network's output (see the comment at the field).
    neural_head : {"logits", "exponential_family"}, default "logits"
        The network's head (:class:`statgeo.geometry.NeuralGridPosterior`, ``head``).
    bundles_per_origin : int, default 16
        Bundle posteriors averaged per origin.
    max_posterior_origins : int, default 1024
        On grids with more points, the posterior rows of the oracle and neural rows are made
        only at the centred regular sub-lattice of at most this many origins
        (:meth:`statgeo.grid.ParameterGrid.sublattice`), the origins the log-partition fit
        reads there anyway; every cell stays in each row.
    kernel_dim : int, default 4
        Whitened PCA components of the learned features used by the kernel posterior.
    kernel_queries : int, default 8
        Query bundles per origin of the kernel posterior.
    kernel_temperature : {"closed_form", "width"}, default "closed_form"
        Effective temperature of the kernel posterior
        (:func:`validation.table1_methods.kernel_temperature_per_sample`).
    fit_steps : int, default 80
        L-BFGS iterations of the log-partition fit (early stopping may end it sooner).
    fit_model : str, default "icnn"
        Potential model of the fit.
    fit_split : tuple of (str, float) or "detect", optional
        A first-order line ``(natural coordinate, value)`` across which every row that goes
        through the log-partition fit (oracle, neural and kernel rows, both forms) is fitted
        one side at a time and joined (:func:`statgeo.geometry.fit_log_partition_split`);
        ``"detect"`` takes each row's line from its own single-bundle posteriors
        (:func:`statgeo.geometry.detect_first_order_line`) and fits the whole box at once where
        none is found; None fits the whole box at once.
    vae_steps : int, default 300
        Training steps of the PCA-VAE baseline's VAE.
    margin : int, default 1
        Cells excluded at every edge of the box from alignment and errors.
    reference : {"exact", "mc_anchored", "auto"}, default "exact"
        Ising reference kind (``IsingModel.reference``).
    reference_samples : int, default 0
        Samples behind Monte Carlo references; 0 means the model's default.
    fisher : {"auto", "enumeration", "samples"}, default "auto"
        How the TASEP observable Fisher metric is computed (``TasepModel.reference``).

    Raises
    ------
    ValueError
        An unknown choice, or ``neural_output_model="bump"`` with calibration.
    """

    model: str
    size: int
    axis0: tuple[float, float, int]
    axis1: tuple[float, float, int]
    n_samples: int = 64
    bundle: int = 4
    # neural grid posterior
    neural_steps: int = 600
    neural_batch: int = 64
    neural_channels: int = 16
    neural_hidden: int = 128
    neural_encoder: str = "full"
    #: width of the Gaussian target bump (box units). 1.5 grid cells: with the module's split of
    #: train/validation by *grid point*, a bump narrower than a cell makes every validation
    #: target a class never trained on, so early stopping keeps a blurry early network (measured:
    #: TASEP quick, KL from the exact posterior 0.62 nat at σ = 1/50 vs 0.15 at 1.5 cells)
    neural_sigma: float = 1.0 / 50.0
    neural_lr: float = 3e-3
    neural_patience: int = 12
    neural_lr_schedule: str = "constant"
    #: "heldout_samples" (train on the first 3/4 of the samples per point, temperature-scale on
    #: the held-out 1/4 at every point), "grid_points" (the module's default: held-out grid
    #: points) or "none"
    neural_calibration: str = "heldout_samples"
    #: how the fit reads the network's output. "bump": the cross-entropy optimum against the
    #: Gaussian-bump targets is the bundle posterior convolved with the bump S, so the fit models
    #: q_θ S at the theory-fixed temperature n/2 (`fit_log_partition(target_smoothing=S)`; dense
    #: fit, needs neural_calibration="none"). "width": the module's width-based effective
    #: temperature on the (calibrated) output.
    neural_output_model: str = "width"
    #: the network's head: "logits" (one free logit per cell, the paper's) or "exponential_family"
    #: (logits <u_c, sum_i t(x_i)> - n a_c, exactly the form the free-linear-term fit models;
    #: for models that are exponential families in the grid's natural coordinates)
    neural_head: str = "logits"
    bundles_per_origin: int = 16
    #: origins that get posterior rows on large grids (the centred sub-lattice; docs/table1.md)
    max_posterior_origins: int = 1024
    # feature-kernel posterior (learned embedding → PCA to kernel_dim whitened components)
    kernel_dim: int = 4
    kernel_queries: int = 8
    #: effective temperature of the kernel posterior: "closed_form" or "width"
    #: (:func:`validation.table1_methods.kernel_temperature_per_sample`)
    kernel_temperature: str = "closed_form"
    # log-partition fit (L-BFGS, early stopping)
    fit_steps: int = 80
    fit_model: str = "icnn"
    #: the paper-scale Ising box is split where the posteriors show a first-order line: one
    #: smooth fit across it settles on a kink along the whole line (docs/table1.md, "Fourth look")
    fit_split: tuple[str, float] | str | None = None
    # baselines
    vae_steps: int = 300
    #: most configuration values (samples x sites) the PCA and the VAE are fitted on when the
    #: lattices are streamed (a uniform subset of the pooled samples; 2^28: 16 384 samples of
    #: 128² spins, 1 GiB as float32; every sample at the quick and tiny sizes)
    baseline_fit_values: int = 2**28
    # error measures
    margin: int = 1
    # exact/MC reference
    reference: str = "exact"
    reference_samples: int = 0  # samples behind MC references; 0 = the default (4096 for TASEP F_obs)
    fisher: str = "auto"

    def __post_init__(self) -> None:
        check_choice("neural_calibration", self.neural_calibration, ("heldout_samples", "grid_points", "none"))
        check_choice("neural_output_model", self.neural_output_model, ("width", "bump"))
        check_choice("neural_lr_schedule", self.neural_lr_schedule, ("constant", "cosine"))
        check_choice("neural_head", self.neural_head, ("logits", "exponential_family"))
        check_choice("neural_encoder", self.neural_encoder, ("full", "strided", "patches"))
        check_int("max_posterior_origins", self.max_posterior_origins, min=1)
        check_int("baseline_fit_values", self.baseline_fit_values, min=1)
        if isinstance(self.fit_split, str):
            check_choice("fit_split", self.fit_split, ("detect",))
        elif self.fit_split is not None and (len(self.fit_split) != 2 or not isinstance(self.fit_split[0], str)):
            raise ValueError(f"fit_split must be None, 'detect' or (natural coordinate, value), got {self.fit_split!r}")
        if self.neural_output_model == "bump" and self.neural_calibration != "none":
            raise ValueError("neural_output_model='bump' models the raw network output; it needs "
                             f"neural_calibration='none', got {self.neural_calibration!r}")

    def to_dict(self) -> dict:
        """The settings as a plain dict (JSON-serialisable).

        Returns
        -------
        dict
        """
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Preset:
    """A named set of :class:`ModelSettings` plus defaults for the run.

    Parameters
    ----------
    name : str
        The preset's name (``--preset``).
    models : dict of str to ModelSettings
        Settings per model name.
    seeds : int, default 3
        Independent runs (``--seeds`` overrides it).
    workers : int, default 2
        Parallel worker processes (``--workers`` overrides it).
    description : str, default ""
        One line for humans.
    """

    name: str
    models: dict[str, ModelSettings] = field(default_factory=dict)
    seeds: int = 3
    workers: int = 2
    description: str = ""

    def to_dict(self) -> dict:
        """The preset as a plain dict, models included (JSON-serialisable).

        Returns
        -------
        dict
        """
        return {"name": self.name, "seeds": self.seeds, "workers": self.workers, "description": self.description,
                "models": {k: v.to_dict() for k, v in self.models.items()}}


_LN10 = 2.302585092994046

PRESETS: dict[str, Preset] = {
    "quick": Preset(
        "quick",
        {
            # Neural row, both models (docs/table1.md, "Reading the network's output"): 16 channels /
            # 128 hidden, lr cosine-annealed over the whole budget (patience 60 checks > budget: the
            # best-validation weights are still restored), trained on all samples without temperature
            # scaling, its output modelled as the bundle posterior convolved with the target bump at
            # the theory-fixed n/2 (neural_output_model="bump"). Ising: the exponential-family head
            # (an exponential family in (K, eta): its output has exactly the form the free fit models)
            # and 800 fit steps (measured, 3 seeds: the oracle's metric 0.08 / 0.10 / 0.11 at 400
            # steps, 0.04 / 0.04 / 0.05 at 800; docs/table1.md, "Rows and fit forms")
            "ising": ModelSettings("ising", 8, (0.2, 0.7, 24), (-0.2, 0.2, 24), neural_steps=2500,
                                   neural_sigma=1.5 / 23, neural_lr_schedule="cosine", neural_patience=60,
                                   neural_calibration="none", neural_output_model="bump", fit_steps=800,
                                   neural_head="exponential_family"),
            # kernel_dim=2: θ is 2-D; the 3rd/4th whitened components of the learned TASEP features are
            # within-origin noise that spoils the isotropic closed-form temperature (measured, N = 10,
            # seed 0: kernel F 0.201 -> 0.118, fitted scale 1.90 -> 1.38; docs/table1.md)
            "tasep": ModelSettings("tasep", 10, (0.0, _LN10, 20), (0.0, _LN10, 20), neural_steps=2500,
                                   neural_sigma=1.5 / 19, neural_lr_schedule="cosine", neural_patience=60,
                                   neural_calibration="none", neural_output_model="bump", fit_steps=400, kernel_dim=2),
        },
        seeds=3,
        workers=2,
        description="2 CPU cores, no GPU, <= 10 min: Ising 8x8 / 24x24 grid, TASEP N=10 / 20x20 grid, 64 samples",
    ),
    "tiny": Preset(
        "tiny",
        {
            "ising": ModelSettings("ising", 4, (0.2, 0.7, 12), (-0.3, 0.3, 12), n_samples=64, neural_steps=150,
                                   neural_sigma=1.5 / 11,
                                   bundles_per_origin=8, fit_steps=200, vae_steps=60, neural_channels=8,
                                   neural_hidden=64, neural_calibration="none", neural_output_model="bump",
                                   neural_head="exponential_family"),
            "tasep": ModelSettings("tasep", 6, (0.0, _LN10, 10), (0.0, _LN10, 10), n_samples=64, neural_steps=150,
                                   neural_sigma=1.5 / 9,
                                   bundles_per_origin=8, fit_steps=200, vae_steps=60, neural_channels=8,
                                   neural_hidden=64, neural_calibration="none", neural_output_model="bump"),
        },
        seeds=1,
        workers=1,
        description="CI preset: seconds to a minute on one core",
    ),
    "paper": Preset(
        "paper",
        {
            # the network settings of the quick preset at the paper's sizes (docs/table1.md, "Before a
            # long run: --plan"): Ising with the exponential-family head on the plus-pattern
            # frequencies (no convolutions at 128 x 128), TASEP with the logits head and the bump
            # output model; no calibration. Posterior rows at 1024 origins x 8 bundles (1 GiB;
            # the fit measured at this size in docs/geometry_fitting.md)
            "ising": ModelSettings("ising", 128, (1 / 3.5, 1 / 1.5, 128), (-0.2, 0.2, 128), n_samples=32,
                                   neural_steps=20000, neural_batch=128, neural_channels=32, neural_hidden=512,
                                   neural_sigma=1.5 / 127, neural_lr_schedule="cosine", neural_patience=60,
                                   neural_calibration="none", neural_output_model="bump",
                                   neural_head="exponential_family", neural_encoder="patches",
                                   bundles_per_origin=8, fit_steps=2000, vae_steps=5000,
                                   kernel_queries=16, reference="mc_anchored", reference_samples=256,
                                   fit_split="detect"),
            "tasep": ModelSettings("tasep", 100, (0.0, _LN10, 128), (0.0, _LN10, 128), n_samples=32,
                                   neural_steps=20000, neural_batch=128, neural_channels=32, neural_hidden=512,
                                   neural_sigma=1.5 / 127, neural_lr_schedule="cosine", neural_patience=60,
                                   neural_calibration="none", neural_output_model="bump",
                                   bundles_per_origin=8, fit_steps=2000,
                                   vae_steps=5000, kernel_queries=16, fisher="samples", reference_samples=4096),
        },
        seeds=3,
        workers=1,
        description="the paper's scale; GPU (--backend cupy --device cuda) and/or Dask (--scheduler)",
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``.

    Parameters
    ----------
    name : str
        One of :data:`PRESETS` (``"quick"``, ``"tiny"``, ``"paper"``).

    Returns
    -------
    Preset

    Raises
    ------
    ValueError
        ``name`` is not a preset.
    """
    check_choice("preset", name, tuple(PRESETS))
    return PRESETS[name]
