"""The shared training loop's stopping rules: a stalled optimiser is retried, not taken as converged."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from statgeo.geometry import train_loop  # noqa: E402


class StaleHistoryDescent:
    """Halves x² every 10 steps, except that after every chunk its remembered history goes stale and
    the next chunk makes no step until ``reset`` (the pattern of L-BFGS whose curvature pairs
    were taken before the loss changed)."""

    def __init__(self) -> None:
        self.x, self.stale, self.resets = 4.0, False, 0

    def chunk(self, n: int) -> float:
        if not self.stale:
            self.x *= 0.5 ** (n / 20)
        self.stale = True
        return self.x ** 2

    def reset(self) -> None:
        self.resets += 1
        self.stale = False


def run(chunk, max_steps=200, reset=None):
    return train_loop(torch.nn.Linear(1, 1), chunk, max_steps=max_steps, check_every=10, patience=1000,
                      tol=1e-9, reset=reset)


def test_a_stall_is_not_convergence():
    """Without ``reset``, the first stalled chunk meets the tolerance (loss change exactly 0) and the loop
    reports convergence at x² = 8 after 20 steps; with it, every stall is retried after a reset,
    the loop runs its whole budget and the loss halves at every check, to 16·2⁻²⁰."""
    plain = StaleHistoryDescent()
    rec = run(plain.chunk)
    assert rec.stop_reason == "converged (tol)" and rec.steps == 20
    assert rec.history["train"][-1] == pytest.approx(8.0, rel=1e-12)

    opt = StaleHistoryDescent()
    rec = run(opt.chunk, reset=opt.reset)
    assert rec.stop_reason == "max_steps" and rec.steps == 200
    assert rec.history["train"][-1] == pytest.approx(16 * 2.0 ** -20, rel=1e-9)
    assert opt.resets == 19  # every chunk after the first stalled once


def test_retry_is_transparent_without_a_stall_and_a_true_optimum_still_converges():
    """L-BFGS (strong Wolfe) on the Rosenbrock function: with and without ``reset`` the same
    losses; at the optimum the retried chunk stalls again and the loop reports convergence."""

    def fit(wrap: bool):
        torch.manual_seed(0)
        p = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=torch.float64))
        module = torch.nn.Module()
        module.p = p
        opt = torch.optim.LBFGS([p], lr=1.0, max_iter=10, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-14, tolerance_change=1e-16)

        def closure():
            opt.zero_grad()
            loss = (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
            loss.backward()
            return loss

        def chunk(n):
            opt.param_groups[0]["max_iter"] = n
            return float(opt.step(closure).detach())

        rec = train_loop(module, chunk, max_steps=500, check_every=10, patience=1000, tol=1e-12,
                         reset=opt.state.clear if wrap else None)
        return rec, p.detach().numpy()

    (plain, x_plain), (wrapped, x_wrapped) = fit(False), fit(True)
    assert plain.history["train"][:3] == wrapped.history["train"][:3]
    assert wrapped.stop_reason == "converged (tol)"
    assert math.dist(x_wrapped, (1.0, 1.0)) < 1e-6 and math.dist(x_plain, (1.0, 1.0)) < 1e-6
