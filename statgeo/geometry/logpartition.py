"""Fitting a log-partition function Φ_θ to posteriors on a grid.

Model posterior for origin t' over the grid cells t (Lobashev et al. 2025, Sec. 3;
docs/geometry_fitting.md, "Potential classes and fitting"):

    q_θ(t | t') = softmax_t( −n_eff [Φ_θ(t) − ⟨∇Φ_θ(t'), t⟩] ),

which is exp(−n_eff D_Φθ(t, t')) normalised over the cells (the terms constant in t cancel).
Losses: ``"jsd"`` — mean over rows of JSD(p(·|t'), q_θ(·|t')), plus optionally
``centroid_weight`` × ‖centroid(p) − centroid(q)‖ / (box diagonal); ``"mse"`` — mean squared
difference between p^{1/n_eff} (scaled to peak 1) and exp(−D_Φθ(t, t')) (the loss of the
paper's Theorem 3.2, kept for comparison).

Internally the model is Ψ(u) = n_eff Φ(t(u)) on box coordinates u = (t − c)/h ∈ [−1, 1]^d; the
returned :class:`FittedPotential` exposes Φ(t) = Ψ(u(t)) / n_eff in natural coordinates.

The fit refuses a posterior whose recorded grid (``attrs["grid"]``) is not ``grid``; its
progress bar follows ``progress`` and ``TQDM_DISABLE`` (docs/conventions.md).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import warnings
from typing import Any, Iterator

import numpy as np
import xarray as xr

from statgeo.checks import check_allocation, check_bool, check_choice, check_int, check_real
from statgeo.geometry._array import to_numpy
from statgeo.geometry.posterior import check_grid, check_posterior
from statgeo.grid import ParameterGrid
from statgeo.progress import progress_bar, progress_disabled
from statgeo.provenance import config_attr
from statgeo.seeding import as_seed_sequence

__all__ = ["fit_log_partition", "FittedPotential", "affine_align", "LOSSES", "OPTIMIZERS", "MAX_STEPS"]

log = logging.getLogger(__name__)

LOSSES = ("jsd", "mse")
OPTIMIZERS = ("lbfgs", "adam")
DEFAULT_MODEL = "icnn"
#: largest ``max_steps`` of :func:`fit_log_partition`
MAX_STEPS = 1_000_000


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
                 natural_names: tuple[str, ...], history: dict | None = None, config: dict | None = None) -> None:
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
        self.module = module.eval().to(torch.float64)
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.center = np.asarray(center, dtype=np.float64)
        self.half_width = np.asarray(half_width, dtype=np.float64)
        self.n_eff = float(n_eff)
        self.natural_names = tuple(natural_names)
        self.history = history or {}
        self.config = config or {}
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
            attrs={"n_eff": self.n_eff, "config": config_attr(self.config), "grid": grid.to_json()},
        )
        return ds


def affine_align(phi: np.ndarray, ref: np.ndarray, points: np.ndarray, *, scale: bool = False
                 ) -> tuple[np.ndarray, dict]:
    """Least-squares alignment of ``phi`` to ``ref`` by s·phi + ⟨c, t⟩ + b over ``points``.

    Φ is identifiable only up to an affine term ⟨c, t⟩ + b (the posteriors depend on Bregman
    divergences, which ignore it; Lobashev et al. 2025, Thm 3.2); with ``scale`` the factor s is
    fitted too (else s = 1). The gradient aligns as s ∇phi + c.

    Parameters
    ----------
    phi : array_like
        Values to align, N values (any shape), finite.
    ref : array_like
        Reference values, N values, finite.
    points : array_like
        The N points t, shape (N, d) (or anything of N·d values), finite.
    scale : bool, default False
        Also fit the scale s.

    Returns
    -------
    aligned : numpy.ndarray
        s·phi + ⟨c, t⟩ + b, shape (N,).
    coefficients : dict
        ``{"scale": s, "c": c (d,), "b": b}``.

    Raises
    ------
    TypeError
        Non-numeric input or ``scale`` not a bool.
    ValueError
        Mismatched sizes, NaN/inf, or no values.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0.0, 1.0, 5)[:, None]
    >>> aligned, coef = affine_align(t[:, 0] ** 2 + 3.0 * t[:, 0], t[:, 0] ** 2, t)
    >>> round(float(coef["c"][0]), 6), round(coef["b"], 6)
    (-3.0, 0.0)
    """
    check_bool("scale", scale)
    phi = np.asarray(check_real("phi", phi), dtype=np.float64).ravel()
    ref = np.asarray(check_real("ref", ref), dtype=np.float64).ravel()
    if ref.size != phi.size:
        raise ValueError(f"phi and ref must hold the same number of values, got {phi.size} and {ref.size}")
    pts = np.asarray(check_real("points", points), dtype=np.float64)
    if pts.size % phi.size or pts.size == 0:
        raise ValueError(f"points must hold {phi.size} points (shape ({phi.size}, d)), got shape {pts.shape}")
    pts = pts.reshape(phi.size, -1)
    A = np.column_stack([pts, np.ones(phi.size)])
    if scale:
        coef, *_ = np.linalg.lstsq(np.column_stack([phi, A]), ref, rcond=None)
        s, c, b = coef[0], coef[1:-1], coef[-1]
    else:
        coef, *_ = np.linalg.lstsq(A, ref - phi, rcond=None)
        s, c, b = 1.0, coef[:-1], coef[-1]
    return s * phi + pts @ c + b, {"scale": float(s), "c": c, "b": float(b)}


def _posterior_kappa(P: np.ndarray, U: np.ndarray) -> float:
    """1 / (median over rows of the mean per-axis posterior variance in box coordinates u)."""
    mu = P @ U
    var = P @ (U ** 2) - mu ** 2
    v = float(np.median(var.mean(axis=1)))
    return 1.0 / max(v, 1e-8)


def _check_window(window: Any, n_cells: int) -> float | None:
    """The window threshold ε, or None for the dense loss."""
    if window is None:
        return None
    if isinstance(window, str):
        check_choice("window", window, ("auto",))
        return 1e-4 if n_cells > 1024 else None
    if np.ndim(window) != 0:
        raise ValueError(f"window must be a scalar threshold in [0, 1), 'auto' or None, got {window!r}")
    eps = float(check_real("window", window, low=0.0, high=1.0, high_inclusive=False))
    return eps if eps > 0 else None


def _origin_sublattice(oi: np.ndarray, shape: tuple[int, ...], max_origins: int | None) -> np.ndarray:
    """Mask of rows whose origin lies on the coarsest regular sub-lattice (stride s per axis,
    offset ⌊(n_i − 1 − s⌊(n_i − 1)/s⌋)/2⌋ to centre it) with at most ``max_origins`` points."""
    if max_origins is None or int(np.prod(shape)) <= max_origins:
        return np.ones(oi.size, dtype=bool)
    s = 1
    while int(np.prod([-(-n // s) for n in shape])) > max_origins:
        s += 1
    multi = np.unravel_index(oi, shape)
    keep = np.ones(oi.size, dtype=bool)
    for m, n in zip(multi, shape):
        keep &= np.isin(m, _axis_sublattice(n, s))
    return keep


def _axis_sublattice(n: int, s: int) -> np.ndarray:
    """Indices 0..n−1 with stride s, centred (offset ⌊((n − 1) mod s)/2⌋)."""
    return np.arange(((n - 1) % s) // 2, n, s)


def _auto_cell_stride(P: np.ndarray, shape: tuple[int, ...]) -> int:
    """Largest stride keeping ≥ 4 sub-lattice cells per median posterior sd and ≥ 1024 cells."""
    multi = np.array(np.unravel_index(np.arange(int(np.prod(shape))), shape), dtype=np.float64).T
    mu = P @ multi
    var = P @ multi ** 2 - mu ** 2
    sd = float(np.sqrt(max(np.median(var, axis=0).min(), 0.0)))
    s = max(1, int(sd // 4))
    while s > 1 and int(np.prod([_axis_sublattice(n, s).size for n in shape])) < 1024:
        s -= 1
    return s


def _cell_sublattice(P: np.ndarray, shape: tuple[int, ...], stride: int) -> tuple[np.ndarray, tuple[int, ...], int]:
    """Flat indices of the cell sub-lattice, its shape and the stride used (reduced until every
    row keeps positive mass on it)."""
    while True:
        axes = [_axis_sublattice(n, stride) for n in shape]
        cells = np.ravel_multi_index(tuple(m.ravel() for m in np.meshgrid(*axes, indexing="ij")), shape)
        if stride == 1 or (P[:, cells].sum(axis=1) > 0).all():
            return cells, tuple(a.size for a in axes), stride
        stride -= 1


class _Window:
    """Ragged (row, cell) pairs of the windowed JSD and its evaluation.

    Window of row r: cells with p_r > ε·max p_r, dilated by ``margin`` cells (a (2·margin+1)^d
    box) on the grid. p is renormalised over the window; q_θ is normalised over it in
    :meth:`jsd` (a per-row log-sum-exp over the pairs)."""

    def __init__(self, P: np.ndarray, shape: tuple[int, ...], eps: float, margin: int,
                 U: np.ndarray, T: np.ndarray, tdt: Any) -> None:
        from scipy.ndimage import maximum_filter

        torch = _torch()
        R = P.shape[0]
        mask = P > eps * P.max(axis=1, keepdims=True)
        if margin > 0:
            m = mask.reshape((R,) + tuple(shape)).view(np.uint8)
            size = (1,) + (2 * margin + 1,) * len(shape)
            mask = maximum_filter(m, size=size, mode="constant", cval=0).astype(bool).reshape(R, -1)
        row, cell = np.nonzero(mask)
        p = P[row, cell]
        tot = np.zeros(R)
        np.add.at(tot, row, p)
        p = p / tot[row]
        self.n_rows, self.n_pairs = R, row.size
        self.row = torch.as_tensor(row)
        self.cell = torch.as_tensor(cell)
        self.p = torch.as_tensor(p, dtype=tdt)
        with np.errstate(divide="ignore"):
            lp = np.log(p)
        self.logp = torch.as_tensor(lp, dtype=tdt)
        pl = np.zeros(R)
        np.add.at(pl, row, np.where(p > 0, p * np.where(p > 0, lp, 0.0), 0.0))
        self.plogp = torch.as_tensor(pl, dtype=tdt)
        self.Uc = torch.as_tensor(U[cell], dtype=tdt)
        self.Tc = torch.as_tensor(T[cell], dtype=tdt)
        cp = np.zeros((R, T.shape[1]))
        np.add.at(cp, row, p[:, None] * T[cell])
        self.cp = torch.as_tensor(cp, dtype=tdt)

    def _rowsum(self, v: Any) -> Any:
        torch = _torch()
        return torch.zeros((self.n_rows,) + tuple(v.shape[1:]), dtype=v.dtype).index_add(0, self.row, v)

    def jsd(self, psi: Any, go: Any, centroid_weight: float, diag_t: float) -> Any:
        """Mean over rows of JSD(p̂_r, q̂_r) over the windows (+ centroid term)."""
        torch = _torch()
        logits = (go[self.row] * self.Uc).sum(-1) - psi[self.cell]  # −[Ψ(u) − ⟨∇Ψ(u'), u⟩]
        with torch.no_grad():
            mx = torch.full((self.n_rows,), -math.inf, dtype=logits.dtype).scatter_reduce(
                0, self.row, logits, reduce="amax")
        z = logits - mx[self.row]
        lse = torch.log(self._rowsum(torch.exp(z)))
        logq = z - lse[self.row]
        q = torch.exp(logq)
        logm = torch.logaddexp(self.logp, logq) - math.log(2.0)
        kl_pm = self.plogp - self._rowsum(self.p * logm)
        kl_qm = self._rowsum(q * (logq - logm))
        val = 0.5 * (kl_pm + kl_qm).mean()
        if centroid_weight > 0:
            cq = self._rowsum(q[:, None] * self.Tc)
            val = val + centroid_weight * torch.linalg.vector_norm(self.cp - cq, dim=-1).mean() / diag_t
        return val


def fit_log_partition(
    posterior: xr.DataArray,
    grid: ParameterGrid,
    *,
    n_eff: float | None = None,
    loss: str = "jsd",
    centroid_weight: float = 0.0,
    model: str = DEFAULT_MODEL,
    optimizer: str = "lbfgs",
    max_steps: int = 400,
    tol: float = 1e-7,
    seed: int | np.random.SeedSequence = 0,
    validation_fraction: float = 0.1,
    patience: int = 5,
    lr: float = 3e-3,
    width: int | None = None,
    depth: int | None = None,
    quadratic: bool = True,
    dtype: str = "float64",
    window: str | float | None = "auto",
    window_margin: int = 2,
    max_origins: int | str | None = "auto",
    cell_stride: int | str = "auto",
    target_smoothing: np.ndarray | None = None,
    progress: bool | None = None,
) -> FittedPotential:
    """Fit Φ_θ so that q_θ(t | t') ∝ exp(−n_eff D_Φθ(t, t')) matches the given posteriors.

    q_θ(t | t') = softmax_t(−n_eff [Φ_θ(t) − ⟨∇Φ_θ(t'), t⟩]) over the grid cells, with D_Φ the
    Bregman divergence of Φ_θ (Lobashev et al. 2025, Sec. 3); the default loss is the mean
    Jensen–Shannon divergence JSD(p(·|t'), q_θ(·|t')) over the posterior rows (module
    docstring; docs/geometry_fitting.md, "Potential classes and fitting").

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
        (n/2 for bundle-averaged exact posteriors). It only sets the scale of Φ_θ.
    loss : {"jsd", "mse"}, default "jsd"
        ``"mse"``: squared difference between p^{1/n_eff} (peak 1) and exp(−D_Φθ) (the paper's
        Theorem 3.2 loss, for comparison; always dense).
    centroid_weight : float, default 0.0
        Weight (≥ 0) of ‖centroid(p) − centroid(q)‖ / (box diagonal) added to the JSD loss.
    model : {"icnn", "mlp", "paper_mlp"}, default "icnn"
        The network (:mod:`statgeo.geometry.potential_networks`): input-convex (convex by
        construction), SiLU MLP, or the paper's MLP.
    optimizer : {"lbfgs", "adam"}, default "lbfgs"
        L-BFGS with strong-Wolfe line search, or Adam with learning rate ``lr``.
    max_steps : int, default 400
        Maximal optimiser iterations, in [1, ``MAX_STEPS`` = 10⁶].
    tol : float, default 1e-07
        Relative loss change (≥ 0) per check at which the fit has converged.
    seed : int or numpy.random.SeedSequence, default 0
        Initialisation and validation split.
    validation_fraction : float, default 0.1
        Fraction of origins held out for early stopping, in [0, 0.5] (0 disables it); the best
        parameters on the validation loss are restored.
    patience : int, default 5
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
    cell_stride : int or "auto", default "auto"
        Evaluate p and q_θ only on the cells of a regular sub-lattice with this stride (≥ 1)
        per axis (p renormalised over it; JSD loss only). ``"auto"``: 1 for grids of ≤ 1024
        cells; above, the largest stride that keeps ≥ 4 sub-lattice cells per median posterior
        standard deviation and ≥ 1024 cells.
    target_smoothing : array_like, optional
        A (C, C) row-stochastic matrix S (C = grid cells). The model posterior becomes q_θ S,
        i.e. q_θ(c | t') = Σ_t q_θ(t | t') S[t, c]: the Bregman posterior convolved with the
        kernel a posterior estimator was trained against (e.g.
        :meth:`NeuralGridPosterior.target_kernel`). n_eff is then the temperature of the
        *unsmoothed* posterior (n/2 for bundle averages). Dense JSD only (no window, cell
        stride 1).
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
        with ``loss="mse"``), or a network or dense loss too large for memory.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> from statgeo.geometry import exact_posterior
    >>> g = ParameterGrid.from_ranges(t1=(1.0, 2.0, 4), t2=(1.0, 2.0, 4))    # Poisson pair
    >>> T = g.natural_points()
    >>> x = np.random.default_rng(0).poisson(np.exp(T)[:, None, :], size=(g.size, 16, 2))
    >>> post = exact_posterior(x, g, np.exp(T).sum(1), 4, seed=1)
    >>> pot = fit_log_partition(post, g, max_steps=10, width=8, progress=False)
    >>> pot.metric(T).shape
    (16, 2, 2)
    """
    torch = _torch()
    from statgeo.geometry.potential_networks import _check_model_size

    check_grid(grid)
    check_choice("loss", loss, LOSSES)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("model", model, ("icnn", "mlp", "paper_mlp"))
    check_choice("dtype", dtype, ("float64", "float32"))
    width, depth = _check_model_size(model, grid.ndim, width, depth)
    check_bool("quadratic", quadratic)
    max_steps = check_int("max_steps", max_steps, min=1, max=MAX_STEPS)
    progress_disabled(progress)
    as_seed_sequence(seed)
    P_np, oi = check_posterior(posterior, grid)
    if n_eff is None:
        if "effective_temperature" not in posterior.attrs:
            raise ValueError("n_eff must be given when the posterior has no 'effective_temperature' attr")
        n_eff = posterior.attrs["effective_temperature"]
    n_eff = float(check_real("n_eff", n_eff, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))
    eps = _check_window(window, grid.size)
    if eps is not None and loss != "jsd":
        if not isinstance(window, str):
            raise ValueError(f"window applies to loss='jsd' only, got loss={loss!r} with window={window!r}")
        eps = None
    window_margin = check_int("window_margin", window_margin, min=0, max=max(grid.shape))
    S_np = None
    if target_smoothing is not None:
        if isinstance(target_smoothing, (str, bytes)):
            raise TypeError(f"target_smoothing must be a (C, C) array, got {target_smoothing!r}")
        try:
            S_np = np.asarray(target_smoothing, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError("target_smoothing must be a real (C, C) array") from exc
        if S_np.shape != (grid.size, grid.size):
            raise ValueError(f"target_smoothing must have shape (grid.size, grid.size) = {(grid.size,) * 2}, "
                             f"got {S_np.shape}")
        if not np.isfinite(S_np).all() or (S_np < 0).any() or not np.allclose(S_np.sum(1), 1.0, atol=1e-8):
            raise ValueError("target_smoothing must be finite, non-negative, with rows summing to 1")
        if loss != "jsd":
            raise ValueError(f"target_smoothing applies to loss='jsd' only, got loss={loss!r}")
        if eps is not None and not isinstance(window, str):
            raise ValueError("target_smoothing needs the dense JSD: pass window=None")
        if not isinstance(cell_stride, str) and cell_stride != 1:
            raise ValueError(f"target_smoothing needs cell_stride=1, got {cell_stride}")
        eps = None
        cell_stride = 1
    auto_stride = isinstance(cell_stride, str)
    if auto_stride:
        check_choice("cell_stride", cell_stride, ("auto",))
    else:
        cell_stride = check_int("cell_stride", cell_stride, min=1)
        if cell_stride > 1 and loss != "jsd":
            raise ValueError(f"cell_stride > 1 applies to loss='jsd' only, got loss={loss!r}")
    if isinstance(max_origins, str):
        check_choice("max_origins", max_origins, ("auto",))
        max_origins = 1024 if grid.size > 1024 else None
    elif max_origins is not None:
        max_origins = check_int("max_origins", max_origins, min=1)
    centroid_weight = float(check_real("centroid_weight", centroid_weight, low=0.0, high=np.inf,
                                       high_inclusive=False))
    tol = float(check_real("tol", tol, low=0.0, high=np.inf, high_inclusive=False))
    validation_fraction = float(check_real("validation_fraction", validation_fraction, low=0.0, high=0.5))
    patience = check_int("patience", patience, min=1)
    lr = float(check_real("lr", lr, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))
    if eps is None:
        # the dense loss keeps a few (rows, cells) arrays (logits, q, log q, their gradients) alive
        check_allocation("the dense loss arrays (8, rows, cells)", (8, P_np.shape[0], grid.size),
                         names="the posterior's rows and the grid (use window=... or max_origins=...)")
    ss = as_seed_sequence(seed)
    rng = np.random.default_rng(ss)
    torch_seed = int(ss.generate_state(1)[0] % (2**31))

    T = grid.natural_points()
    lo, hi = T.min(axis=0), T.max(axis=0)
    center, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    U_np = (T - center) / half
    diag_t = float(np.linalg.norm(hi - lo))
    kappa0 = _posterior_kappa(P_np, U_np)

    keep = _origin_sublattice(oi, grid.shape, max_origins)
    uniq = np.unique(oi[keep])
    n_val = int(round(validation_fraction * uniq.size)) if uniq.size >= 4 else 0
    val_orig = rng.choice(uniq, size=n_val, replace=False) if n_val else np.array([], dtype=np.int64)
    is_val = np.isin(oi, val_orig)
    tr_rows, va_rows = np.flatnonzero(~is_val & keep), np.flatnonzero(is_val & keep)

    if auto_stride:
        cell_stride = (_auto_cell_stride(P_np, grid.shape)
                       if (grid.size > 1024 and loss == "jsd" and S_np is None) else 1)
    cells, sub_shape, cell_stride = _cell_sublattice(P_np, grid.shape, cell_stride)
    if cells.size < grid.size:
        P_np = P_np[:, cells]
        P_np = P_np / P_np.sum(axis=1, keepdims=True)
    # Ψ at the loss's cells, ∇Ψ at the rows' origins: one pass on all cells when they coincide
    # with the grid and every origin is used (the default for small grids), else two passes.
    origins_used = np.unique(oi[keep])
    separate = cells.size < grid.size or origins_used.size < grid.size
    opos = np.full(grid.size, -1, dtype=np.int64)
    opos[origins_used] = np.arange(origins_used.size)

    tdt = torch.float64 if dtype == "float64" else torch.float32
    torch.manual_seed(torch_seed)
    from statgeo.geometry.potential_networks import build_model

    net = build_model(model, grid.ndim, kappa0, width=width, depth=depth, quadratic=quadratic).to(tdt)
    U_all = torch.as_tensor(U_np, dtype=tdt)
    U = U_all[torch.as_tensor(cells)] if cells.size < grid.size else U_all
    Uo = U_all[torch.as_tensor(origins_used)]
    Tt = torch.as_tensor(T[cells], dtype=tdt)
    P = torch.as_tensor(P_np, dtype=tdt)
    O = torch.as_tensor(opos[oi] if separate else oi)
    with np.errstate(divide="ignore"):
        logP = torch.as_tensor(np.log(P_np), dtype=tdt)
    plogp = torch.as_tensor((np.where(P_np > 0, P_np * np.log(np.where(P_np > 0, P_np, 1.0)), 0.0)).sum(1), dtype=tdt)
    if loss == "mse":
        # p^{1/n_eff}, scaled to peak 1 per row (exp(−D) peaks at 1 at t = t')
        with np.errstate(divide="ignore"):
            lr_ = np.log(P_np) / n_eff
        lr_ = lr_ - lr_.max(axis=1, keepdims=True)
        target = torch.as_tensor(np.exp(lr_), dtype=tdt)
    S = torch.as_tensor(S_np, dtype=tdt) if S_np is not None else None
    log2 = math.log(2.0)
    windows: dict[int, _Window] = {}
    if eps is not None:
        for rows in (tr_rows, va_rows):
            if rows.size:
                windows[id(rows)] = _Window(P_np[rows], sub_shape, eps, window_margin, U_np[cells], T[cells], tdt)
        n_pairs = sum(w.n_pairs for w in windows.values())
        log.info("fit_log_partition: windowed JSD (eps=%g, margin=%d): %d (row, cell) pairs = %.1f%% of dense",
                 eps, window_margin, n_pairs, 100.0 * n_pairs / max(1, (tr_rows.size + va_rows.size) * cells.size))

    def loss_on(rows: np.ndarray, create_graph: bool) -> Any:
        r = torch.as_tensor(rows)
        if separate:
            psi = net(U)
            uo = Uo.clone().requires_grad_(True)
            psi_o = net(uo)
            g = torch.autograd.grad(psi_o.sum(), uo, create_graph=create_graph)[0]
        else:
            u = U.clone().requires_grad_(True)
            psi = psi_o = net(u)
            g = torch.autograd.grad(psi.sum(), u, create_graph=create_graph)[0]
        go = g[O[r]]
        if id(rows) in windows:
            return windows[id(rows)].jsd(psi, go, centroid_weight, diag_t)
        logits = -(psi[None, :] - go @ U.T)  # (R, C): −[Ψ(u) − ⟨∇Ψ(u'), u⟩]
        if loss == "jsd":
            logq = torch.log_softmax(logits, dim=-1)
            q = logq.exp()
            if S is not None:  # the estimator's output model: q_θ convolved with its target kernel
                q = q @ S
                logq = torch.log(q.clamp_min(torch.finfo(tdt).tiny))
            logm = torch.logaddexp(logP[r], logq) - log2
            kl_pm = plogp[r] - (P[r] * logm).sum(-1)
            kl_qm = (q * (logq - logm)).sum(-1)
            val = 0.5 * (kl_pm + kl_qm).mean()
            if centroid_weight > 0:
                cp = P[r] @ Tt
                cq = q @ Tt
                val = val + centroid_weight * torch.linalg.vector_norm(cp - cq, dim=-1).mean() / diag_t
            return val
        # MSE: exp(−D) with n_eff D = Ψ(u) − Ψ(u') − ⟨∇Ψ(u'), u − u'⟩
        uo = (Uo if separate else U)[O[r]]
        nD = psi[None, :] - psi_o[O[r]][:, None] - (go @ U.T - (go * uo).sum(-1, keepdim=True))
        return ((target[r] - torch.exp(-nD / n_eff)) ** 2).mean()

    def val_loss() -> float:
        if va_rows.size == 0:
            return float("nan")
        with torch.enable_grad():
            return float(loss_on(va_rows, create_graph=False).detach())

    params = [p for p in net.parameters() if p.requires_grad]
    history: dict[str, list] = {"step": [], "train": [], "validation": []}
    best = (math.inf, copy.deepcopy(net.state_dict()), 0)
    bad_checks = 0
    step = 0
    prev = math.inf
    stop_reason = "max_steps"
    bar = progress_bar(total=max_steps, progress=progress, desc=f"fit {model}/{loss}")
    if optimizer == "lbfgs":
        chunk = 10
        opt = torch.optim.LBFGS(params, lr=1.0, max_iter=chunk, history_size=50, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-12, tolerance_change=1e-15)

        def closure():
            opt.zero_grad()
            lv = loss_on(tr_rows, create_graph=True)
            lv.backward()
            return lv
    else:
        chunk = 25
        opt = torch.optim.Adam(params, lr=lr)

    while step < max_steps:
        n_it = min(chunk, max_steps - step)
        if optimizer == "lbfgs":
            opt.param_groups[0]["max_iter"] = n_it
            opt.param_groups[0]["max_eval"] = int(n_it * 1.25) + 1
            cur = float(opt.step(closure).detach())
            cur = float(loss_on(tr_rows, create_graph=False).detach())
        else:
            for _ in range(n_it):
                opt.zero_grad()
                lv = loss_on(tr_rows, create_graph=True)
                lv.backward()
                opt.step()
            cur = float(lv.detach())
        step += n_it
        bar.update(n_it)
        vl = val_loss()
        history["step"].append(step)
        history["train"].append(cur)
        history["validation"].append(vl)
        if not math.isfinite(cur):
            stop_reason = "non-finite loss"
            log.warning("fit_log_partition: non-finite loss at step %d; restoring the best parameters", step)
            break
        crit = vl if va_rows.size else cur
        if not math.isfinite(best[0]) or crit < best[0] - 1e-12 * abs(best[0]):
            best = (crit, copy.deepcopy(net.state_dict()), step)
            bad_checks = 0
        else:
            bad_checks += 1
            if bad_checks >= patience:
                stop_reason = "early stopping (validation loss)"
                break
        if abs(prev - cur) <= tol * max(1.0, abs(cur)):
            stop_reason = "converged (tol)"
            break
        prev = cur
    bar.close()
    net.load_state_dict(best[1])
    log.info("fit_log_partition: %s after %d steps; best step %d, loss %.4g", stop_reason, step, best[2], best[0])
    config = {
        "model": model, "loss": loss, "optimizer": optimizer, "n_eff": n_eff, "centroid_weight": centroid_weight,
        "max_steps": max_steps, "tol": tol, "validation_fraction": validation_fraction, "patience": patience,
        "lr": lr, "width": width, "depth": depth, "quadratic": quadratic, "dtype": dtype, "kappa0": kappa0,
        "window": eps, "window_margin": window_margin, "max_origins": max_origins,
        "origins_used": int(origins_used.size), "cell_stride": int(cell_stride), "cells_used": int(cells.size),
        "steps": step, "best_step": best[2], "stop_reason": stop_reason, "target_smoothing": S_np is not None,
        "estimator": posterior.attrs.get("estimator", ""),
    }
    history["best_step"] = best[2]
    return FittedPotential(net, center, half, n_eff, grid.natural_names, history, config)
