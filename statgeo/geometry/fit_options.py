"""Checked options of the log-partition fit (:func:`statgeo.geometry.fit_log_partition`).

Every keyword of the fit is validated here, before any array is built, and resolved against
the grid and the posterior (``"auto"`` values, the loss that goes with the linear-term form,
options that do not combine). The meaning of each option is documented on the fit itself and in
docs/geometry_fitting.md ("The fit", "Defaults and diagnostics").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from statgeo.checks import check_bool, check_choice, check_int, check_real
from statgeo.grid import ParameterGrid

__all__ = [
    "DENSE_PAIRS_BUDGET",
    "LINEAR_TERMS",
    "LOSSES",
    "MAX_STEPS",
    "OPTIMIZERS",
    "FitOptions",
    "check_fit_options",
]

LINEAR_TERMS = ("free", "gradient")
LOSSES = ("auto", "kl", "jsd", "mse")
OPTIMIZERS = ("lbfgs", "adam")
#: largest ``max_steps`` of the fit
MAX_STEPS = 1_000_000
#: (row, cell) pairs kept by ``rows_per_origin="auto"``: enough rows per origin that the loss
#: sees every origin's shape several times, few enough that an L-BFGS step stays cheap
DENSE_PAIRS_BUDGET = 750_000


@dataclass(frozen=True)
class FitOptions:
    """The resolved options of one fit (see :func:`statgeo.geometry.fit_log_partition`).

    Parameters
    ----------
    linear_term : str
        ``"free"`` or ``"gradient"``.
    loss : str
        ``"kl"``, ``"jsd"`` or ``"mse"`` (``"auto"`` resolved).
    centroid_weight : float
        Weight of the centroid term.
    model : str
        Potential network.
    optimizer : str
        ``"lbfgs"`` or ``"adam"``.
    max_steps : int
        Step budget.
    tol : float
        Relative loss change at which the fit has converged.
    validation_fraction : float
        Fraction of origins held out.
    patience : int
        Checks without improvement before stopping.
    lr : float
        Adam's learning rate.
    width, depth : int or None
        Network size (None: the model's default).
    quadratic : bool
        Include the κ₀ quadratic term.
    dtype : str
        Training precision.
    window : float or None
        Window threshold ε (None: dense).
    window_margin : int
        Cells added around each window.
    max_origins : int or None
        Origins kept (None: all).
    rows_per_origin : int or None
        Posterior rows kept per origin (None: all).
    cell_stride : int or str
        Cell sub-lattice stride, or ``"auto"``.
    """

    linear_term: str
    loss: str
    centroid_weight: float
    model: str
    optimizer: str
    max_steps: int
    tol: float
    validation_fraction: float
    patience: int
    lr: float
    width: int | None
    depth: int | None
    quadratic: bool
    dtype: str
    window: float | None
    window_margin: int
    max_origins: int | None
    rows_per_origin: int | None
    cell_stride: int | str

    def as_dict(self) -> dict:
        """The options as a plain dict.

        Returns
        -------
        dict
        """
        return asdict(self)


def _window(window: Any, n_cells: int) -> float | None:
    if window is None:
        return None
    if isinstance(window, str):
        check_choice("window", window, ("auto",))
        return 1e-4 if n_cells > 1024 else None
    if np.ndim(window) != 0:
        raise ValueError(f"window must be a scalar threshold in [0, 1), 'auto' or None, got {window!r}")
    eps = float(check_real("window", window, low=0.0, high=1.0, high_inclusive=False))
    return eps if eps > 0 else None


def _rows_per_origin(value: Any, n_rows: int, n_origins: int, n_cells: int) -> int | None:
    """Rows kept per origin: all when rows × cells fit :data:`DENSE_PAIRS_BUDGET`, else as many as fit."""
    if value is None:
        return None
    per_origin = max(1, n_rows // max(n_origins, 1))
    if isinstance(value, str):
        check_choice("rows_per_origin", value, ("auto",))
        if n_rows * n_cells <= DENSE_PAIRS_BUDGET:
            return None
        return int(min(per_origin, max(1, DENSE_PAIRS_BUDGET // max(1, n_origins * n_cells))))
    return check_int("rows_per_origin", value, min=1)


def check_fit_options(grid: ParameterGrid, n_rows: int, n_origins: int, *, linear_term: str, loss: str,
                      centroid_weight: float, model: str, optimizer: str, max_steps: int, tol: float,
                      validation_fraction: float, patience: int, lr: float, width: int | None, depth: int | None,
                      quadratic: bool, dtype: str, window: Any, window_margin: int, max_origins: Any,
                      rows_per_origin: Any, cell_stride: Any, smoothing: bool) -> FitOptions:
    """Check every option of the fit and resolve the automatic ones.

    Parameters
    ----------
    grid : ParameterGrid
        The fit's grid.
    n_rows : int
        Posterior rows.
    n_origins : int
        Distinct origins among the rows.
    linear_term : str
        ``"free"`` or ``"gradient"``.
    loss : str
        ``"auto"``, ``"kl"``, ``"jsd"`` or ``"mse"``.
    centroid_weight : float
        Weight of the centroid term (≥ 0).
    model : str
        Potential network.
    optimizer : str
        ``"lbfgs"`` or ``"adam"``.
    max_steps : int
        Step budget.
    tol : float
        Convergence tolerance (≥ 0).
    validation_fraction : float
        Fraction of origins held out, in [0, 0.5].
    patience : int
        Checks without improvement before stopping (≥ 1).
    lr : float
        Adam's learning rate (> 0).
    width : int or None
        Network width.
    depth : int or None
        Network depth.
    quadratic : bool
        Include the quadratic term.
    dtype : str
        ``"float64"`` or ``"float32"``.
    window : float, str or None
        Window threshold, ``"auto"`` or None.
    window_margin : int
        Cells added around each window.
    max_origins : int, str or None
        Origins kept, ``"auto"`` or None.
    rows_per_origin : int, str or None
        Rows kept per origin, ``"auto"`` or None.
    cell_stride : int or str
        Cell sub-lattice stride or ``"auto"``.
    smoothing : bool
        Whether an output kernel (``target_smoothing``) is modelled.

    Returns
    -------
    FitOptions

    Raises
    ------
    TypeError
        Options of the wrong type.
    ValueError
        Values out of range, unknown choices, or options that do not combine.
    """
    from statgeo.geometry.potential_networks import _check_model_size

    check_choice("linear_term", linear_term, LINEAR_TERMS)
    check_choice("loss", loss, LOSSES)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("model", model, ("icnn", "mlp", "paper_mlp"))
    check_choice("dtype", dtype, ("float64", "float32"))
    width, depth = _check_model_size(model, grid.ndim, width, depth)
    check_bool("quadratic", quadratic)
    max_steps = check_int("max_steps", max_steps, min=1, max=MAX_STEPS)
    if loss == "auto":
        loss = "kl" if linear_term == "free" else "jsd"
    if linear_term == "free" and loss != "kl":
        raise ValueError(f"linear_term='free' profiles the linear terms under loss='kl', got loss={loss!r}; "
                         "use linear_term='gradient' for the paper's 'jsd' and 'mse' losses")
    eps = _window(window, grid.size)
    window_margin = check_int("window_margin", window_margin, min=0, max=max(grid.shape))
    if eps is not None and loss == "mse":
        if not isinstance(window, str):
            raise ValueError(f"window applies to the 'kl' and 'jsd' losses only, got loss={loss!r} with window={window!r}")
        eps = None
    if isinstance(cell_stride, str):
        check_choice("cell_stride", cell_stride, ("auto",))
    else:
        cell_stride = check_int("cell_stride", cell_stride, min=1)
        if cell_stride > 1 and loss == "mse":
            raise ValueError(f"cell_stride > 1 applies to the 'kl' and 'jsd' losses only, got loss={loss!r}")
    if smoothing:
        if loss == "mse":
            raise ValueError(f"target_smoothing applies to the 'kl' and 'jsd' losses only, got loss={loss!r}")
        if eps is not None and not isinstance(window, str):
            raise ValueError("target_smoothing needs the dense loss: pass window=None")
        if not isinstance(cell_stride, str) and cell_stride != 1:
            raise ValueError(f"target_smoothing needs cell_stride=1, got {cell_stride}")
        eps, cell_stride = None, 1
    if isinstance(max_origins, str):
        check_choice("max_origins", max_origins, ("auto",))
        max_origins = 1024 if grid.size > 1024 else None
    elif max_origins is not None:
        max_origins = check_int("max_origins", max_origins, min=1)
    rows = _rows_per_origin(rows_per_origin, n_rows, n_origins, grid.size)
    centroid_weight = float(check_real("centroid_weight", centroid_weight, low=0.0, high=np.inf, high_inclusive=False))
    tol = float(check_real("tol", tol, low=0.0, high=np.inf, high_inclusive=False))
    validation_fraction = float(check_real("validation_fraction", validation_fraction, low=0.0, high=0.5))
    patience = check_int("patience", patience, min=1)
    lr = float(check_real("lr", lr, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))
    return FitOptions(linear_term, loss, centroid_weight, model, optimizer, max_steps, tol, validation_fraction,
                      patience, lr, width, depth, quadratic, dtype, eps, window_margin, max_origins, rows,
                      cell_stride)
