"""One training loop for the package's networks (the log-partition fit and the neural grid posterior).

The caller owns the model and the optimiser and hands the loop two functions: ``run_chunk(n)``
performs n optimiser steps and returns the training loss, ``validate()`` returns the loss on
held-out data (or is omitted). Every ``check_every`` steps the loop records both losses, keeps
a copy of the parameters with the best criterion (the validation loss, else the training
loss), stops early after ``patience`` checks without improvement, on a relative change of the
training loss below ``tol``, or on a non-finite loss, and finally restores the best
parameters. The :class:`TrainingRecord` it returns says why it stopped and which fraction of
the step budget it used (docs/geometry_fitting.md, "Defaults and diagnostics").
With ``reset``, a chunk without progress is retried once from a reset optimiser before it
counts as convergence (an L-BFGS whose curvature history went stale stalls without having
converged).
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from statgeo.checks import check_int, check_real
from statgeo.progress import progress_bar

__all__ = ["TrainingRecord", "train_loop"]

log = logging.getLogger(__name__)


@dataclass
class TrainingRecord:
    """What a run of :func:`train_loop` did.

    Parameters
    ----------
    steps : int
        Optimiser steps taken.
    max_steps : int
        The step budget.
    best_step : int
        The step whose parameters were restored.
    stop_reason : str
        ``"max_steps"``, ``"converged (tol)"``, ``"early stopping (validation loss)"``,
        ``"early stopping (training loss)"`` or ``"non-finite loss"``.
    history : dict
        Per check: ``step``, ``train``, ``validation`` (NaN without validation) and any extra
        columns the caller recorded.
    """

    steps: int
    max_steps: int
    best_step: int
    stop_reason: str
    history: dict = field(default_factory=dict)

    @property
    def fraction_trained(self) -> float:
        """Steps taken / step budget, in [0, 1]."""
        return self.steps / self.max_steps if self.max_steps else 0.0

    def as_dict(self) -> dict:
        """The record without the history (JSON-serialisable).

        Returns
        -------
        dict
            ``steps``, ``max_steps``, ``best_step``, ``stop_reason``, ``fraction_trained``.
        """
        return {"steps": self.steps, "max_steps": self.max_steps, "best_step": self.best_step,
                "stop_reason": self.stop_reason, "fraction_trained": self.fraction_trained}


def train_loop(
    module: Any,
    run_chunk: Callable[[int], float],
    *,
    max_steps: int,
    check_every: int,
    validate: Callable[[], float] | None = None,
    patience: int = 5,
    tol: float = 0.0,
    min_steps: int = 0,
    extras: Callable[[], dict] | None = None,
    reset: Callable[[], None] | None = None,
    progress: bool | None = None,
    desc: str = "training",
) -> TrainingRecord:
    """Run ``run_chunk`` until the budget, convergence or early stopping; restore the best parameters.

    Parameters
    ----------
    module : torch.nn.Module
        The model whose ``state_dict`` is snapshotted at the best check and restored at the end.
    run_chunk : callable
        ``run_chunk(n) -> float``: n optimiser steps, returning the training loss.
    max_steps : int
        The step budget (≥ 1).
    check_every : int
        Steps between checks (≥ 1).
    validate : callable, optional
        ``validate() -> float``, the held-out loss; without it the training loss decides.
    patience : int, default 5
        Checks without improvement before stopping (≥ 1).
    tol : float, default 0.0
        Stop when |Δ training loss| ≤ tol·max(1, |loss|) between checks (≥ 0; 0 disables it).
    min_steps : int, default 0
        No early stop (patience or tol) before this many steps (≥ 0).
    extras : callable, optional
        ``extras() -> dict`` of further values recorded at every check.
    reset : callable, optional
        ``reset()``: forget the optimiser's history. With it (and ``tol`` > 0) a chunk whose loss
        meets the ``tol`` rule is a stall, not yet convergence: ``reset()`` is called and the
        chunk run once more (its steps not counted); only a second stall stops the loop. L-BFGS
        stalls so when the curvature pairs it keeps no longer describe a loss that changed
        between chunks, and its line search returns without a step (docs/geometry_fitting.md,
        "Reproducibility across CPUs").
    progress : bool or None, default None
        Progress bar (docs/conventions.md).
    desc : str, default "training"
        The progress bar's label.

    Returns
    -------
    TrainingRecord

    Raises
    ------
    ValueError
        Counts or ``tol`` out of range.
    """
    max_steps = check_int("max_steps", max_steps, min=1)
    check_every = check_int("check_every", check_every, min=1)
    patience = check_int("patience", patience, min=1)
    min_steps = check_int("min_steps", min_steps, min=0)
    tol = float(check_real("tol", tol, low=0.0, high=math.inf, high_inclusive=False))
    history: dict[str, list] = {"step": [], "train": [], "validation": []}
    best_crit, best_state, best_step = math.inf, copy.deepcopy(module.state_dict()), 0
    bad, step, prev = 0, 0, math.inf
    stop = "max_steps"
    bar = progress_bar(total=max_steps, progress=progress, desc=desc)
    try:
        while step < max_steps:
            n = min(check_every, max_steps - step)
            cur = float(run_chunk(n))
            if reset is not None and tol > 0 and _no_progress(prev, cur, tol):
                log.debug("%s: stall at loss %.6g; optimiser reset, chunk retried", desc, cur)
                reset()
                cur = float(run_chunk(n))
            step += n
            bar.update(n)
            vl = float(validate()) if validate is not None else math.nan
            history["step"].append(step)
            history["train"].append(cur)
            history["validation"].append(vl)
            for k, v in (extras() if extras is not None else {}).items():
                history.setdefault(k, []).append(v)
            crit = vl if validate is not None else cur
            if not math.isfinite(cur) or not math.isfinite(crit):
                stop = "non-finite loss"
                log.warning("%s: non-finite loss at step %d; restoring the best parameters", desc, step)
                break
            if crit < best_crit - 1e-12 * abs(best_crit) or not math.isfinite(best_crit):
                best_crit, best_state, best_step, bad = crit, copy.deepcopy(module.state_dict()), step, 0
            else:
                bad += 1
                if bad >= patience and step >= min_steps:
                    stop = "early stopping (validation loss)" if validate is not None else "early stopping (training loss)"
                    break
            if tol > 0 and _no_progress(prev, cur, tol) and step >= min_steps:
                stop = "converged (tol)"
                break
            prev = cur
    finally:
        bar.close()
    module.load_state_dict(best_state)
    log.info("%s: %s after %d of %d steps; best step %d", desc, stop, step, max_steps, best_step)
    return TrainingRecord(step, max_steps, best_step, stop, history)


def _no_progress(prev: float, cur: float, tol: float) -> bool:
    """|Δ loss| ≤ tol·max(1, |loss|): the loop's convergence rule, and a stall when ``reset`` is given."""
    return abs(prev - cur) <= tol * max(1.0, abs(cur))
