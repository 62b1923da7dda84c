"""Fitting a log-partition function Φ_θ to posteriors on a grid, and the fitted potential.

:func:`fit_log_partition` orchestrates the fit: checked options
(:mod:`statgeo.geometry.fit_options`), target preparation (:mod:`statgeo.geometry.fit_targets`),
the loss kernel (:mod:`statgeo.geometry.fit_loss`: model posteriors
q_θ(t | r) = softmax_t(n_eff [⟨a_r, t⟩ − Φ_θ(t)]) with a free, profiled linear term per row or
the paper's a_r = ∇Φ_θ(origin); KL, JSD or the paper's MSE) and the package's training loop
(:mod:`statgeo.geometry.training`); docs/geometry_fitting.md, "The fit".

Internally the model is Ψ(u) = n_eff Φ(t(u)) on box coordinates u = (t − c)/h ∈ [−1, 1]^d; the
returned :class:`FittedPotential` exposes Φ(t) = Ψ(u(t)) / n_eff in natural coordinates.

The fit refuses a posterior whose recorded grid (``attrs["grid"]``) is not ``grid``; its
progress bar follows ``progress`` and ``TQDM_DISABLE`` (docs/conventions.md).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import xarray as xr

from statgeo.checks import check_allocation, check_bool, check_choice, check_real
from statgeo.geometry._array import to_numpy
from statgeo.geometry.first_order_line import line_in_rows, searchable_axes
from statgeo.geometry.fit_options import LINEAR_TERMS, LOSSES, MAX_STEPS, OPTIMIZERS
from statgeo.geometry.posterior import check_grid, check_posterior
from statgeo.geometry.posterior_diagnostics import DegeneratePosteriorWarning
from statgeo.grid import ParameterGrid
from statgeo.progress import progress_disabled
from statgeo.provenance import config_attr
from statgeo.seeding import as_seed_sequence

__all__ = ["LINEAR_TERMS", "LOSSES", "MAX_STEPS", "OPTIMIZERS", "FittedPotential", "fit_log_partition"]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "icnn"


@contextlib.contextmanager
def _quiet_torch_decompositions() -> Iterator[None]:
    """Silence torch's own deprecation warning when forward-mode AD first loads its decompositions.

    ``torch.func.hessian`` (forward-over-reverse) imports ``torch._decomp.decompositions_for_jvp``
    on first use, which calls the deprecated ``torch.jit.script`` internally (torch 2.14). The
    warning concerns torch's code, not ours or the user's, and cannot be acted on here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*is deprecated", category=FutureWarning)
        yield


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover
        raise ImportError("fitting a log-partition function needs PyTorch (pip install statgeo[diffusion])") from exc
    return torch


class FittedPotential:
    """A learned log-partition function Φ_θ in natural coordinates (the Potential protocol).

    Φ_θ(t) = Ψ(u(t)) / n_eff with u = (t − center) / half_width and Ψ the trained torch model;
    ``value``, ``gradient``, ``hessian`` (= ``metric``) accept any batch of points (..., d):
    NumPy or lists in → NumPy float64 out, torch in → torch out (the input's dtype and device).
    Derivatives by autodiff (``torch.func.grad`` / ``torch.func.hessian`` under ``vmap``).
    Usually made by :func:`fit_log_partition` (or ``ds.statgeo.fit``), not by hand.

    Parameters
    ----------
    module : torch.nn.Module
        The model Ψ(u): (..., d) → (...).
    center : array_like
        The box centre c, shape (d,).
    half_width : array_like
        The box half-widths h > 0, shape (d,).
    n_eff : float
        The temperature the fit used (> 0); Φ = Ψ / n_eff.
    natural_names : tuple of str
        Names of the d natural coordinates.
    history : dict, optional
        Loss curves of the fit.
    config : dict, optional
        The fit's settings.
    diagnostics : dict, optional
        The fit's diagnostics: ``posterior`` (:func:`statgeo.geometry.posterior_diagnostics` of
        its input), ``training`` (steps, budget, fraction trained, stop reason) and
        ``warnings``.

    Raises
    ------
    TypeError
        ``module`` is not a torch module or ``natural_names`` are not strings.
    ValueError
        Mismatched or non-finite ``center``/``half_width``, ``half_width`` ≤ 0, ``n_eff`` ≤ 0.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.geometry.potential_networks import build_model
    >>> pot = FittedPotential(build_model("icnn", 1, 1.0, width=4, depth=1), [0.0], [1.0], 2.0, ("t",))
    >>> pot.gradient(np.zeros((3, 1))).shape
    (3, 1)
    """

    def __init__(self, module: Any, center: np.ndarray, half_width: np.ndarray, n_eff: float,
                 natural_names: tuple[str, ...], history: dict | None = None, config: dict | None = None,
                 diagnostics: dict | None = None) -> None:
        torch = _torch()
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        c = np.atleast_1d(check_real("center", center))
        h = np.atleast_1d(check_real("half_width", half_width, low=0.0, low_inclusive=False, high=np.inf,
                                     high_inclusive=False))
        if c.ndim != 1 or h.shape != c.shape:
            raise ValueError(f"center and half_width must both have shape (d,), got {c.shape} and {h.shape}")
        check_real("n_eff", n_eff, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False)
        if (isinstance(natural_names, str) or not hasattr(natural_names, "__iter__")
                or not all(isinstance(n, str) for n in natural_names)):
            raise TypeError(f"natural_names must be a sequence of strings, got {natural_names!r}")
        if len(tuple(natural_names)) != c.size:
            raise ValueError(f"natural_names must hold {c.size} names, got {tuple(natural_names)}")
        if history is not None and not isinstance(history, dict):
            raise TypeError(f"history must be a dict, got {type(history).__name__}")
        if config is not None and not isinstance(config, dict):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        if diagnostics is not None and not isinstance(diagnostics, dict):
            raise TypeError(f"diagnostics must be a dict, got {type(diagnostics).__name__}")
        self.module = module.eval().to(torch.float64)
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.center = np.asarray(center, dtype=np.float64)
        self.half_width = np.asarray(half_width, dtype=np.float64)
        self.n_eff = float(n_eff)
        self.natural_names = tuple(natural_names)
        self.history = history or {}
        self.config = config or {}
        self.diagnostics = diagnostics or {}
        self.dim = int(self.center.size)

    def __repr__(self) -> str:
        return (f"FittedPotential(model={self.config.get('model')!r}, n_eff={self.n_eff:g}, "
                f"natural={self.natural_names})")

    # ------------------------------------------------------------------ internals
    def _phi_flat(self, t):
        torch = _torch()
        c = torch.as_tensor(self.center, dtype=t.dtype, device=t.device)
        h = torch.as_tensor(self.half_width, dtype=t.dtype, device=t.device)
        return self.module((t - c) / h) / self.n_eff

    def _apply(self, points: Any, what: str, chunk: int = 8192):
        torch = _torch()
        from torch.func import grad, hessian, vmap

        is_torch = isinstance(points, torch.Tensor)
        if is_torch:
            if points.is_complex():
                raise TypeError(f"points must be real, got dtype {points.dtype}")
            device, in_dtype = points.device, points.dtype
            x = points.detach().to(torch.float64)
        else:
            if isinstance(points, (str, bytes)) or points is None:
                raise TypeError(f"points must be a real array of shape (..., {self.dim}), got {points!r}")
            if isinstance(points, np.ndarray) and points.dtype.kind not in "biuf":
                raise TypeError(f"points must be a real array, got dtype {points.dtype}")
            try:
                arr = np.asarray(to_numpy(points), dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"points must be a real array of shape (..., {self.dim})") from exc
            device, in_dtype = torch.device("cpu"), None
            x = torch.from_numpy(np.ascontiguousarray(arr))
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"points must have shape (..., {self.dim}), got {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("points must be finite (no NaN or inf)")
        tail = {"value": (), "gradient": (self.dim,), "hessian": (self.dim, self.dim)}[what]
        check_allocation(f"the {what} at the points", (int(np.prod(tuple(x.shape[:-1]))),) + tail,
                         names="points")
        self.module.to(device)
        batch = x.shape[:-1]
        flat = x.reshape(-1, self.dim)

        def f(t):
            return self._phi_flat(t[None, :])[0]

        outs = []
        with _quiet_torch_decompositions():
            for s in range(0, max(flat.shape[0], 1), chunk):
                xb = flat[s:s + chunk]
                if what == "value":
                    with torch.no_grad():
                        outs.append(self._phi_flat(xb))
                elif what == "gradient":
                    outs.append(vmap(grad(f))(xb))
                else:
                    outs.append(vmap(hessian(f))(xb))
        out = torch.cat(outs, 0) if outs else torch.zeros((0,))
        out = out.reshape(tuple(batch) + tail).detach()
        if is_torch:
            return out.to(dtype=in_dtype if in_dtype.is_floating_point else torch.float64)
        return out.cpu().numpy()

    # ------------------------------------------------------------------ Potential protocol
    def value(self, points: Any) -> Any:
        """Φ_θ(t) = Ψ(u(t)) / n_eff.

        Parameters
        ----------
        points : array_like or torch.Tensor
            Natural coordinates t, shape (..., d), finite.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            Shape (...): NumPy float64 for NumPy/list input, torch (input dtype and device)
            for torch input.

        Raises
        ------
        TypeError
            ``points`` is not a real array.
        ValueError
            Wrong last dimension, NaN/inf, or a result too large for memory.
        """
        return self._apply(points, "value")

    def gradient(self, points: Any) -> Any:
        """∇Φ_θ(t), by autodiff.

        Parameters
        ----------
        points : array_like or torch.Tensor
            Natural coordinates t, shape (..., d), finite.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            Shape (..., d), like :meth:`value`.

        Raises
        ------
        TypeError
            ``points`` is not a real array.
        ValueError
            Wrong last dimension, NaN/inf, or a result too large for memory.
        """
        return self._apply(points, "gradient")

    def hessian(self, points: Any) -> Any:
        """∇²Φ_θ(t), by forward-over-reverse autodiff.

        Parameters
        ----------
        points : array_like or torch.Tensor
            Natural coordinates t, shape (..., d), finite.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            Shape (..., d, d), like :meth:`value`.

        Raises
        ------
        TypeError
            ``points`` is not a real array.
        ValueError
            Wrong last dimension, NaN/inf, or a result too large for memory.
        """
        return self._apply(points, "hessian")

    def metric(self, points: Any) -> Any:
        """The Fisher metric g = ∇²Φ_θ in natural coordinates (the same as :meth:`hessian`).

        Parameters
        ----------
        points : array_like or torch.Tensor
            Natural coordinates t, shape (..., d), finite.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            Shape (..., d, d).

        Raises
        ------
        TypeError
            ``points`` is not a real array.
        ValueError
            Wrong last dimension, NaN/inf, or a result too large for memory.
        """
        return self.hessian(points)

    __call__ = value

    def to_dataset(self, grid: ParameterGrid) -> xr.Dataset:
        """Φ, ∇Φ and g = ∇²Φ on the grid's natural points, labelled by the grid dims.

        Parameters
        ----------
        grid : ParameterGrid
            A grid with d axes (recorded in the result's attrs).

        Returns
        -------
        xarray.Dataset
            ``log_partition`` (grid dims), ``gradient`` (grid dims, ``i``) and ``metric`` (grid
            dims, ``i``, ``j``); ``i``/``j`` are labelled by the natural names.

        Raises
        ------
        TypeError
            ``grid`` is not a ParameterGrid.
        ValueError
            ``grid`` has another number of axes, or the metric on it would not fit in memory.
        """
        if not isinstance(grid, ParameterGrid):
            raise TypeError(f"grid must be a ParameterGrid, got {type(grid).__name__}")
        if grid.ndim != self.dim:
            raise ValueError(f"grid must have {self.dim} axes, got {grid.ndim}")
        t = grid.natural_points()
        sh = grid.shape
        names = list(self.natural_names)
        coords = dict(grid.coords())
        coords["i"] = ("i", names)
        coords["j"] = ("j", names)
        ds = xr.Dataset(
            {
                "log_partition": (grid.names, self.value(t).reshape(sh),
                                  {"long_name": "fitted log-partition function Φ_θ", "units": "1"}),
                "gradient": (grid.names + ("i",), self.gradient(t).reshape(sh + (self.dim,)),
                             {"long_name": "∇Φ_θ (natural coordinates)", "units": "1"}),
                "metric": (grid.names + ("i", "j"), self.hessian(t).reshape(sh + (self.dim, self.dim)),
                           {"long_name": "Fisher metric ∇²Φ_θ (natural coordinates)", "units": "1"}),
            },
            coords=coords,
            attrs={"n_eff": self.n_eff, "config": config_attr(self.config),
                   "diagnostics": config_attr(self.diagnostics), "grid": grid.to_json()},
        )
        return ds


def fit_log_partition(
    posterior: xr.DataArray,
    grid: ParameterGrid,
    *,
    n_eff: float | None = None,
    linear_term: str = "free",
    loss: str = "auto",
    centroid_weight: float = 0.0,
    model: str = DEFAULT_MODEL,
    optimizer: str = "lbfgs",
    max_steps: int = 600,
    tol: float = 1e-9,
    seed: int | np.random.SeedSequence = 0,
    validation_fraction: float = 0.1,
    patience: int = 10,
    lr: float = 3e-3,
    width: int | None = None,
    depth: int | None = None,
    quadratic: bool = True,
    dtype: str = "float64",
    window: str | float | None = "auto",
    window_margin: int = 2,
    max_origins: int | str | None = "auto",
    rows_per_origin: int | str | None = "auto",
    cell_stride: int | str = "auto",
    target_smoothing: np.ndarray | str | None = "auto",
    check_line: bool = True,
    progress: bool | None = None,
) -> FittedPotential:
    """Fit Φ_θ so that the model posteriors q_θ(t | row) ∝ exp(n_eff [⟨a_row, t⟩ − Φ_θ(t)]) match the given ones.

    Each posterior row (an origin's average, or one bundle's posterior) is modelled as
    q_θ(t | r) = softmax_t(n_eff [⟨a_r, t⟩ − Φ_θ(t)]) over the grid cells (module
    :mod:`statgeo.geometry.fit_loss`). ``linear_term="free"`` (default) profiles a_r out per row
    (for an exponential family the exact posterior of a bundle has exactly this form, with a_r
    its mean sufficient statistic), so Φ_θ is identified by the shape the posteriors share and
    the noise of each row's centre does not distort it; the loss is KL(p ‖ q_θ). With
    ``linear_term="gradient"`` (the paper's form, Lobashev et al. 2025, Sec. 3) a_r = ∇Φ_θ(t')
    at the row's origin t', i.e. q ∝ exp(−n_eff D_Φθ(t, t')), with the JSD or the paper's MSE
    loss. Φ_θ is identified up to an affine term either way (align it with
    :func:`statgeo.geometry.fit_alignment` before comparing F or ∇F); the metric ∇²Φ_θ is not
    affected (docs/geometry_fitting.md, "The fit").

    Defaults are derived from the grid and the posterior, not from presets: the number of
    rows per origin from a budget of (row, cell) pairs, the window and sub-lattices from the
    grid size, the output kernel from the posterior's attrs. The fit measures its input
    (:func:`statgeo.geometry.posterior_diagnostics`) and its training (fraction of the step
    budget used, why it stopped), stores both in ``FittedPotential.diagnostics`` and warns
    (``DegeneratePosteriorWarning``) when the posteriors are too sharp for the grid or nearly
    flat, or when the fit stopped on a non-finite loss.

    Parameters
    ----------
    posterior : xarray.DataArray
        Labelled posteriors (dims ``origin``, ``cell``; see :mod:`statgeo.geometry.posterior`).
        A grid recorded with them (``attrs["grid"]``) must be ``grid``.
    grid : ParameterGrid
        The grid the posteriors are over (≥ 2 points per axis); fitting uses its natural
        points.
    n_eff : float, optional
        Effective temperature (> 0). Default: ``posterior.attrs["effective_temperature"]``
        (n for one bundle's exact posterior, n/2 for bundle averages). It only sets the scale
        of Φ_θ.
    linear_term : {"free", "gradient"}, default "free"
        A free linear term per row (profiled), or the paper's ∇Φ_θ at the row's origin.
    loss : {"auto", "kl", "jsd", "mse"}, default "auto"
        ``"auto"``: ``"kl"`` for the free form (the only one it takes), ``"jsd"`` for the
        paper's form. ``"mse"``: squared difference between p^{1/n_eff} (peak 1) and
        exp(−D_Φθ) (the paper's Theorem 3.2 loss, for comparison; paper's form, dense).
    centroid_weight : float, default 0.0
        Weight (≥ 0) of ‖centroid(p) − centroid(q)‖ / (box diagonal) added to the JSD loss.
    model : {"icnn", "mlp", "paper_mlp"}, default "icnn"
        The network (:mod:`statgeo.geometry.potential_networks`): input-convex (convex by
        construction), SiLU MLP, or the paper's MLP.
    optimizer : {"lbfgs", "adam"}, default "lbfgs"
        L-BFGS with strong-Wolfe line search, or Adam with learning rate ``lr``.
    max_steps : int, default 600
        Maximal optimiser iterations, in [1, ``MAX_STEPS`` = 10⁶].
    tol : float, default 1e-09
        Relative loss change (≥ 0) per check at which the fit has converged (with L-BFGS: also
        after a retry of the check's iterations from a cleared history, since a stalled line
        search is not convergence).
    seed : int or numpy.random.SeedSequence, default 0
        Initialisation and validation split.
    validation_fraction : float, default 0.1
        Fraction of origins held out for early stopping, in [0, 0.5] (0 disables it); the best
        parameters on the validation loss are restored.
    patience : int, default 10
        Checks without improvement before stopping (≥ 1; a check every 10 L-BFGS / 25 Adam
        iterations).
    lr : float, default 0.003
        Adam's learning rate (> 0, finite).
    width : int, optional
        Network width in [1, ``MAX_WIDTH``] (default per model: 64 / 128 / 512).
    depth : int, optional
        Network depth in [1, ``MAX_DEPTH``] (default 3; not for ``paper_mlp``).
    quadratic : bool, default True
        Include the κ₀ ½uᵀLLᵀu term.
    dtype : {"float64", "float32"}, default "float64"
        Training precision (the returned potential evaluates in float64).
    window : float, "auto" or None, default "auto"
        Windowed (sparse) JSD. A threshold ε ∈ (0, 1): for each row only the cells with
        p > ε·max(p), dilated by ``window_margin`` cells along every grid axis, enter the loss;
        p and q_θ are both normalised over that window (cost ∝ its size instead of rows × C).
        ``None`` or 0: dense (every cell). ``"auto"``: ε = 10⁻⁴ when the grid has more than
        1024 cells, dense otherwise. JSD loss only. The dropped cells carry p-mass
        ≤ (#cells)·ε·max p and q_θ concentrates where p does, so the windowed JSD differs from
        the dense one by terms of order the dropped mass (docs/geometry_fitting.md, "Large
        grids").
    window_margin : int, default 2
        Cells (≥ 0, at most the longest grid axis) added around the thresholded set.
    max_origins : int, "auto" or None, default "auto"
        Use at most this many origins (≥ 1) in the loss, on a regular sub-lattice of the grid
        (stride s per axis, the smallest with ⌈n_i/s⌉ products ≤ max_origins); all rows of a
        kept origin are used. ``None``: all origins. ``"auto"``: 1024 when the grid has more
        than 1024 cells, else all.
    rows_per_origin : int, "auto" or None, default "auto"
        Keep at most this many rows (≥ 1) of every origin (bundle posteriors are exchangeable).
        ``None``: all. ``"auto"``: all when rows × cells ≤ 7.5·10⁵, else as many per origin as
        fit that budget (at least one).
    cell_stride : int or "auto", default "auto"
        Evaluate p and q_θ only on the cells of a regular sub-lattice with this stride (≥ 1)
        per axis (p renormalised over it; JSD loss only). ``"auto"``: 1 for grids of ≤ 1024
        cells; above, the largest stride that keeps ≥ 4 sub-lattice cells per median posterior
        standard deviation and ≥ 1024 cells.
    target_smoothing : array_like, "auto" or None, default "auto"
        A (C, C) row-stochastic matrix S (C = grid cells). The model posterior becomes q_θ S,
        i.e. q_θ(c | r) = Σ_t q_θ(t | r) S[t, c]: the Bregman posterior convolved with the
        kernel a posterior estimator was trained against (e.g.
        :meth:`NeuralGridPosterior.target_kernel`). n_eff is then the temperature of the
        *unsmoothed* posterior. Dense loss only (no window, cell stride 1). ``"auto"``: the
        kernel the posterior records (``attrs["output_kernel"]``, set by
        :meth:`NeuralGridPosterior.posterior`), else none.
    check_line : bool, default True
        On single-bundle rows (``attrs["averaged"] == 0``, as :func:`exact_posterior` and
        :meth:`NeuralGridPosterior.posterior` write with ``average=False``) look for a
        first-order line (:func:`statgeo.geometry.detect_first_order_line`) and warn when the
        rows stop dead at one: a smooth Φ_θ across it can settle on a kink along the whole line,
        and :func:`statgeo.geometry.fit_log_partition_split` fits each side instead. The result
        is in ``diagnostics["first_order_line"]``.
    progress : bool or None, default None
        Progress bar over the optimiser steps: None shows it on a terminal only, False never,
        True always; ``TQDM_DISABLE=1`` in the environment hides it (docs/conventions.md).

    Returns
    -------
    FittedPotential
        The learned Φ_θ in natural coordinates, with ``history`` and ``config``.

    Raises
    ------
    TypeError
        Arguments of the wrong type (``posterior`` not a DataArray, ``grid`` not a
        ParameterGrid, non-integer counts, ...).
    ValueError
        An invalid posterior (dims, normalisation, NaN), a posterior computed on another grid,
        an unknown option, values out of range, options that do not combine (e.g. ``window``
        with ``loss="mse"``, ``linear_term="free"`` with ``loss="jsd"``), or a network or dense
        loss too large for memory.

    Warns
    -----
    DegeneratePosteriorWarning
        Posteriors narrower than half a cell or wider than a quarter of the box, rows that stop
        dead at a first-order line (``check_line``), or a fit that stopped on a non-finite loss.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> from statgeo.geometry import exact_posterior
    >>> g = ParameterGrid.from_ranges(t1=(1.0, 2.0, 4), t2=(1.0, 2.0, 4))    # Poisson pair
    >>> T = g.natural_points()
    >>> x = np.random.default_rng(0).poisson(np.exp(T)[:, None, :], size=(g.size, 16, 2))
    >>> post = exact_posterior(x, g, np.exp(T).sum(1), 4, seed=1, average=False)
    >>> pot = fit_log_partition(post, g, max_steps=10, width=8, progress=False)
    >>> pot.metric(T).shape
    (16, 2, 2)
    """
    torch = _torch()
    from statgeo.geometry.fit_loss import (
        GridKernel,
        RowCells,
        divergence,
        model_log_posterior,
        mse_loss,
        solve_linear_terms,
    )
    from statgeo.geometry.fit_options import check_fit_options
    from statgeo.geometry.fit_targets import prepare_targets
    from statgeo.geometry.posterior_diagnostics import (
        posterior_diagnostics,
        warn_if_degenerate,
    )
    from statgeo.geometry.potential_networks import build_model
    from statgeo.geometry.training import train_loop

    check_grid(grid)
    progress_disabled(progress)
    as_seed_sequence(seed)
    check_line = check_bool("check_line", check_line)
    P_np, oi = check_posterior(posterior, grid)
    S_np = _target_smoothing(target_smoothing, posterior, grid)
    opts = check_fit_options(
        grid, P_np.shape[0], int(np.unique(oi).size), linear_term=linear_term, loss=loss,
        centroid_weight=centroid_weight, model=model, optimizer=optimizer, max_steps=max_steps, tol=tol,
        validation_fraction=validation_fraction, patience=patience, lr=lr, width=width, depth=depth,
        quadratic=quadratic, dtype=dtype, window=window, window_margin=window_margin, max_origins=max_origins,
        rows_per_origin=rows_per_origin, cell_stride=cell_stride, smoothing=S_np is not None)
    if n_eff is None:
        if "effective_temperature" not in posterior.attrs:
            raise ValueError("n_eff must be given when the posterior has no 'effective_temperature' attr")
        n_eff = posterior.attrs["effective_temperature"]
    n_eff = float(check_real("n_eff", n_eff, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))
    ss = as_seed_sequence(seed)
    rng = np.random.default_rng(ss)
    torch_seed = int(ss.generate_state(1)[0] % (2**31))
    diagnostics = {"posterior": posterior_diagnostics(P_np, grid)}
    diagnostics["posterior"]["effective_temperature"] = n_eff
    diagnostics["warnings"] = warn_if_degenerate(diagnostics["posterior"], "fit_log_partition input posterior")
    line_axes = searchable_axes(grid) if check_line and int(posterior.attrs.get("averaged", 1)) == 0 else []
    if line_axes:
        line = line_in_rows(P_np, grid, line_axes)        # the rows checked above, not again
        diagnostics["first_order_line"] = {"found": line.found, "axis": line.axis, "at": line.at,
                                           "wall_rows": line.wall_rows}
        if line.found:
            msg = (f"fit_log_partition input posterior: {line.wall_rows} rows stop dead at {line.axis} = "
                   f"{line.at:.6g}, a first-order line; one smooth fit across it can settle on a kink along "
                   f"the whole line: fit each side with fit_log_partition_split(posterior, grid, "
                   f"axis={line.axis!r}, at={line.at:.6g})")
            warnings.warn(msg, DegeneratePosteriorWarning, stacklevel=2)
            diagnostics["warnings"].append(msg)

    tg = prepare_targets(P_np, oi, grid, opts, rng)
    if opts.window is None:
        # the dense loss keeps a few (rows, cells) arrays (logits, q, log q, their gradients) alive
        check_allocation("the dense loss arrays (8, rows, cells)", (8, tg.P.shape[0], tg.cells.size),
                         names="the posterior's rows and the grid (use window=..., rows_per_origin=... or "
                               "max_origins=...)")
    tdt = torch.float64 if opts.dtype == "float64" else torch.float32
    torch.manual_seed(torch_seed)
    net = build_model(opts.model, grid.ndim, tg.kappa0, width=opts.width, depth=opts.depth,
                      quadratic=opts.quadratic).to(tdt)
    U_cells = tg.U[tg.cells]
    window = None if opts.window is None else (opts.window, opts.window_margin, tg.sub_shape)
    sets = {k: RowCells(tg.P[rows], U_cells, tg.T[tg.cells], tdt, window)
            for k, rows in (("train", tg.train_rows), ("validation", tg.val_rows)) if rows.size}
    if window is not None:
        n_pairs = sum(rc.n_pairs for rc in sets.values())
        log.info("fit_log_partition: windowed loss (eps=%g, margin=%d): %d (row, cell) pairs = %.1f%% of dense",
                 opts.window, opts.window_margin, n_pairs, 100.0 * n_pairs / max(1, tg.P.shape[0] * tg.cells.size))
    U = torch.as_tensor(U_cells, dtype=tdt)
    S = GridKernel(S_np, grid.shape, tdt) if S_np is not None else None
    origins_used = np.unique(tg.origin)
    Uo = torch.as_tensor(tg.U[origins_used], dtype=tdt)
    opos = np.full(grid.size, -1, dtype=np.int64)
    opos[origins_used] = np.arange(origins_used.size)
    row_origin = {k: torch.as_tensor(opos[tg.origin[rows]])
                  for k, rows in (("train", tg.train_rows), ("validation", tg.val_rows))}
    mse_target = {}
    if opts.loss == "mse":
        for k, rows in (("train", tg.train_rows), ("validation", tg.val_rows)):
            with np.errstate(divide="ignore"):
                lr_ = np.log(tg.P[rows]) / n_eff
            lr_ = lr_ - lr_.max(axis=1, keepdims=True)  # p^{1/n_eff} scaled to peak 1 (exp(−D) peaks at 1 at t')
            mse_target[k] = torch.as_tensor(np.exp(lr_), dtype=tdt)
    free = {}
    if opts.linear_term == "free":
        with torch.no_grad():
            psi0 = net(U)
        free = {k: solve_linear_terms(rc, psi0, torch.zeros((rc.n_rows, grid.ndim), dtype=tdt), S, iters=30)
                for k, rc in sets.items()}

    def refresh(key: str) -> None:
        """Move the warm start of the free linear terms to the current network's solution."""
        if opts.linear_term == "free":
            with torch.no_grad():
                free[key] = solve_linear_terms(sets[key], net(U), free[key], S)

    def loss_on(key: str, create_graph: bool, solved: bool = False) -> Any:
        rc = sets[key]
        psi = net(U)
        if opts.linear_term == "free":
            # Newton steps from the warm start of this chunk: a deterministic function of the
            # network within an optimiser step, as L-BFGS's line search needs (``solved``: the
            # warm start was just refreshed at these parameters)
            a = free[key] if solved else solve_linear_terms(rc, psi, free[key], S)
        else:
            uo = Uo.clone().requires_grad_(True)
            psi_o = net(uo)
            g = torch.autograd.grad(psi_o.sum(), uo, create_graph=create_graph)[0]
            a = g[row_origin[key]]
            if opts.loss == "mse":
                r = row_origin[key]
                return mse_loss(rc, psi, psi_o[r], a, Uo[r], mse_target[key], n_eff)
        logq, q = model_log_posterior(rc, psi, a, S)
        return divergence(rc, logq, q, opts.loss, centroid_weight=opts.centroid_weight, diagonal=tg.diagonal)

    params = [p for p in net.parameters() if p.requires_grad]
    if opts.optimizer == "lbfgs":
        check_every = 10
        opt = torch.optim.LBFGS(params, lr=1.0, max_iter=check_every, history_size=50,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)

        def closure():
            opt.zero_grad()
            lv = loss_on("train", create_graph=True)
            lv.backward()
            return lv

        def run_chunk(n: int) -> float:
            opt.param_groups[0]["max_iter"] = n
            opt.param_groups[0]["max_eval"] = int(n * 1.25) + 1
            opt.step(closure)
            refresh("train")
            with torch.enable_grad():
                return float(loss_on("train", create_graph=False, solved=True).detach())

    else:
        check_every = 25
        opt = torch.optim.Adam(params, lr=opts.lr)

        def run_chunk(n: int) -> float:
            for _ in range(n):
                opt.zero_grad()
                lv = loss_on("train", create_graph=True)
                lv.backward()
                opt.step()
                refresh("train")
            return float(lv.detach())

    def validate() -> float:
        refresh("validation")
        with torch.enable_grad():
            return float(loss_on("validation", create_graph=False, solved=True).detach())

    # the curvature pairs L-BFGS keeps were taken before the linear terms' warm start moved: when
    # its line search then finds no step, clearing them (reset) and retrying is not convergence
    rec = train_loop(net, run_chunk, max_steps=opts.max_steps, check_every=check_every,
                     validate=validate if "validation" in sets else None, patience=opts.patience, tol=opts.tol,
                     reset=opt.state.clear if opts.optimizer == "lbfgs" else None,
                     progress=progress, desc=f"fit {opts.model}/{opts.loss}")
    if rec.stop_reason == "non-finite loss":
        msg = f"fit_log_partition stopped on a non-finite loss at step {rec.steps}; the result is the best step {rec.best_step}"
        warnings.warn(msg, DegeneratePosteriorWarning, stacklevel=2)
        diagnostics["warnings"].append(msg)
    diagnostics["training"] = rec.as_dict()
    history = dict(rec.history)
    history["best_step"] = rec.best_step
    config = {
        **opts.as_dict(), "n_eff": n_eff, "kappa0": tg.kappa0, "origins_used": int(origins_used.size),
        "rows_used": int(tg.P.shape[0]), "cell_stride": int(tg.cell_stride), "cells_used": int(tg.cells.size),
        "steps": rec.steps, "best_step": rec.best_step, "stop_reason": rec.stop_reason,
        "target_smoothing": S_np is not None, "estimator": posterior.attrs.get("estimator", ""),
    }
    return FittedPotential(net, tg.center, tg.half_width, n_eff, grid.natural_names, history, config,
                           diagnostics=diagnostics)


def _target_smoothing(value: Any, posterior: xr.DataArray, grid: ParameterGrid) -> list[np.ndarray] | None:
    """The output kernel S as a list of factors (one (C, C) matrix, or one per axis): given, read
    from the posterior's attrs (``"auto"``: the Gaussian bump, factorised per axis), or none."""
    if value is None:
        return None
    if isinstance(value, str):
        check_choice("target_smoothing", value, ("auto",))
        kind = posterior.attrs.get("output_kernel", "")
        if not kind:
            return None
        from statgeo.geometry.posterior_neural import gaussian_target_factors

        if kind != "gaussian_bump":
            raise ValueError(f"posterior.attrs['output_kernel'] = {kind!r} is not a known kernel ('gaussian_bump')")
        return gaussian_target_factors(grid, float(posterior.attrs["output_kernel_sigma"]))
    if isinstance(value, bytes):
        raise TypeError(f"target_smoothing must be a (C, C) array, 'auto' or None, got {value!r}")
    try:
        S = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError("target_smoothing must be a real (C, C) array") from exc
    if S.shape != (grid.size, grid.size):
        raise ValueError(f"target_smoothing must have shape (grid.size, grid.size) = {(grid.size,) * 2}, got {S.shape}")
    if not np.isfinite(S).all() or (S < 0).any() or not np.allclose(S.sum(1), 1.0, atol=1e-8):
        raise ValueError("target_smoothing must be finite, non-negative, with rows summing to 1")
    return [S]
