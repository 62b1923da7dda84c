"""A ClassiFIM-style estimator of the Fisher metric on a parameter grid (Kasatkin et al. 2024, arXiv 2408.03323).

A classifier learns to tell whether a sample x was drawn at λ₋ or at λ₊ = λ₋ + δλ, two grid
points at most ``max_offset`` cells apart along every axis (diagonal offsets included). Its
logit is parametrised as δλ · s_θ(λ₀, x) with λ₀ = (λ₋ + λ₊)/2, and it is trained by binary
cross-entropy on balanced pairs (one sample drawn at λ₊, label 1; one at λ₋, label 0). The
Bayes-optimal logit is ln p(x | λ₊) − ln p(x | λ₋) = δλ · ∂_λ ln p(x | λ₀) + O(|δλ|³) (the
midpoint cancels the second-order term), so s_θ learns the score up to terms of vanishing
mean, and the Fisher metric at a grid point λ₀ is the covariance of the learned score over
the samples drawn there,

    g(λ₀) = Cov_{x ∼ p(·|λ₀)}[s_θ(λ₀, x)] = E[s sᵀ] − E[s] E[s]ᵀ

(centred because the true score has zero mean, so a λ₀-dependent offset of s_θ does not
matter).

Units: λ₀ enters the network in box units mapped to [−1, 1]; δλ enters in grid-cell units
(δλ_k / h_k, h_k the mean natural-coordinate step along axis k), so that the score in those
units is O(1) for the grids of Table 1; the metric is mapped back to natural coordinates,
g_nat = H⁻¹ g_cell H⁻¹ with H = diag(h). The result is the Fisher information of one sample
(one configuration), not per site (docs/baselines.md, "ClassiFIM-style peer row and distance
measures").
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np

from statgeo.checks import (
    check_allocation,
    check_array,
    check_choice,
    check_int,
    check_real,
)
from statgeo.grid import ParameterGrid
from statgeo.progress import progress_bar, progress_disabled
from statgeo.seeding import as_seed_sequence

__all__ = ["DEFAULT_WEIGHT_DECAY", "KINDS", "MAX_STEPS", "MAX_THREADS", "MAX_WIDTH", "classifim_metric", "pair_offsets"]

#: configuration kinds and the number of configuration dims each expects
KINDS = {"lattice2d": 2, "chain1d": 1, "vector": 1}
#: default decoupled weight decay (AdamW) per kind: the MLP encoder of raw feature vectors fits
#: sample noise and inflates the score covariance without it; the convolutional encoders do
#: not, and weight decay biases their (large) read-out weights down (docs/baselines.md)
DEFAULT_WEIGHT_DECAY = {"lattice2d": 0.0, "chain1d": 0.0, "vector": 0.1}
#: largest ``steps``
MAX_STEPS = 1_000_000
#: largest ``hidden`` / ``channels`` / ``batch_size``
MAX_WIDTH = 65_536
#: largest ``num_threads``
MAX_THREADS = 1024
#: samples pushed through the network at once when estimating the metric
_EVAL_BLOCK = 8192


# ----------------------------------------------------------------------------- geometry of the pairs
def pair_offsets(shape: tuple[int, ...], max_offset: int) -> np.ndarray:
    """All non-zero integer offsets o with |o_k| ≤ min(max_offset, n_k − 1) along every axis.

    Parameters
    ----------
    shape : tuple of int
        The grid shape (each ≥ 2).
    max_offset : int
        Largest offset along one axis, in cells, ≥ 1.

    Returns
    -------
    numpy.ndarray
        int64, shape (M, d): every offset once (o and −o both listed; diagonal offsets
        included), M = Π(2 m_k + 1) − 1 with m_k = min(max_offset, n_k − 1).

    Raises
    ------
    TypeError
        A size is not an integer.
    ValueError
        ``max_offset`` < 1 or an axis with fewer than 2 points.

    Examples
    --------
    >>> pair_offsets((5, 5), 1).shape
    (8, 2)
    """
    sh = tuple(check_int(f"shape[{k}]", n, min=2) for k, n in enumerate(shape))
    m = check_int("max_offset", max_offset, min=1)
    ranges = [range(-min(m, n - 1), min(m, n - 1) + 1) for n in sh]
    offs = np.array([o for o in itertools.product(*ranges) if any(o)], dtype=np.int64)
    return offs.reshape(-1, len(sh))


def _draw_pairs(rng: np.random.Generator, shape: tuple[int, ...], offsets: np.ndarray, n: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """n pairs of grid points (flat indices of λ₋, λ₊): a uniform offset, then a uniform valid λ₋."""
    o = offsets[rng.integers(0, offsets.shape[0], size=n)]
    sh = np.asarray(shape)
    lo = np.maximum(0, -o)
    hi = sh - 1 - np.maximum(0, o)
    minus = lo + np.floor(rng.random(o.shape) * (hi - lo + 1)).astype(np.int64)
    plus = minus + o
    return np.ravel_multi_index(tuple(minus.T), shape), np.ravel_multi_index(tuple(plus.T), shape)


# ----------------------------------------------------------------------------- network
def _encoder(nn: Any, kind: str, config_shape: tuple[int, ...], channels: int, hidden: int
             ) -> tuple[Any, tuple[int, ...] | None]:
    """The per-sample encoder of a kind and the dims it is mean-pooled over (None: no pooling)."""
    c = channels
    if kind == "lattice2d":  # periodic lattice: circular padding, translation-invariant mean pooling
        return nn.Sequential(nn.Unflatten(1, (1, config_shape[0])),
                             nn.Conv2d(1, c, 3, padding=1, padding_mode="circular"), nn.SiLU(),
                             nn.Conv2d(c, c, 1), nn.SiLU(), nn.Conv2d(c, c, 1), nn.SiLU()), (2, 3)
    if kind == "chain1d":  # open chain: zero padding, positions matter (flatten, no pooling)
        return nn.Sequential(nn.Unflatten(1, (1, config_shape[0])),
                             nn.Conv1d(1, c, 3, padding=1), nn.SiLU(), nn.Conv1d(c, c, 3, padding=1), nn.SiLU(),
                             nn.Flatten(1), nn.Linear(c * config_shape[0], hidden), nn.SiLU()), None
    return nn.Sequential(nn.Linear(config_shape[0], hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU()), None


def _build_net(torch: Any, kind: str, config_shape: tuple[int, ...], d: int, channels: int, hidden: int) -> Any:
    """Per-sample encoder f(x), then s = W f + MLP([f, λ₀]) with d outputs."""
    from torch import nn

    body, pool = _encoder(nn, kind, config_shape, channels, hidden)

    class ScoreNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = body
            with torch.no_grad():
                fdim = self.features(torch.zeros((2, *config_shape))).shape[-1]
            self.skip = nn.Linear(fdim, d, bias=False)
            self.head = nn.Sequential(nn.Linear(fdim + d, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                      nn.Linear(hidden, d))

        def features(self, x: Any) -> Any:
            h = self.body(x)
            return h.mean(pool) if pool is not None else h

        def forward(self, x: Any, lam: Any) -> Any:  # (B, *config), (B, d) → (B, d)
            f = self.features(x)
            return self.skip(f) + self.head(torch.cat([f, lam], dim=-1))

    return ScoreNet()


# ----------------------------------------------------------------------------- checks
def _check_grid(grid: Any) -> ParameterGrid:
    """Validate the grid: a ParameterGrid with ≥ 2 points on every axis."""
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a statgeo.grid.ParameterGrid, got {type(grid).__name__}")
    if min(grid.shape) < 2:
        raise ValueError(f"grid must have at least 2 points on every axis, got shape {grid.shape}")
    return grid


def _check_samples(samples: Any, grid: ParameterGrid, kind: str) -> np.ndarray:
    """Validate ``samples``: real, finite, shape (grid.size, S ≥ 2, *config) with the kind's config dims."""
    x = check_array("samples", samples, dtype_kind="biuf")
    n_cfg = KINDS[kind]
    if x.ndim != 2 + n_cfg:
        what = "L, L" if n_cfg == 2 else ("sites" if kind == "chain1d" else "features")
        raise ValueError(f"samples must have shape (grid points, samples, {what}) for kind={kind!r}, got {x.shape}")
    if x.shape[0] != grid.size:
        raise ValueError(f"samples must have one row per grid point ({grid.size}, flat C order), got {x.shape[0]}")
    if x.shape[1] < 2:
        raise ValueError(f"samples must hold at least 2 samples per grid point (a covariance), got {x.shape[1]}")
    check_allocation("the float32 copy of the samples", x.shape, np.float32, names="samples")
    return x


def _natural_scales(grid: ParameterGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Natural points (C, d), their per-axis minimum and the mean step h_k = range_k / (n_k − 1)."""
    t = grid.natural_points()
    lo, hi = t.min(axis=0), t.max(axis=0)
    h = (hi - lo) / (np.asarray(grid.shape, dtype=np.float64) - 1.0)
    if not (h > 0).all():
        raise ValueError("grid: a natural coordinate does not vary over the grid; the metric is not identifiable")
    return t, lo, h


def _prepared_samples(x: np.ndarray, kind: str) -> np.ndarray:
    """float32 samples; ``vector`` features standardised over all samples (constant features left at 0)."""
    xf = np.asarray(x, dtype=np.float32)
    if kind != "vector":
        return np.ascontiguousarray(xf)
    flat = xf.reshape(-1, xf.shape[-1]).astype(np.float64)
    mu, sd = flat.mean(axis=0), flat.std(axis=0)
    return np.ascontiguousarray(((xf - mu) / np.where(sd > 0, sd, 1.0)).astype(np.float32))


# ----------------------------------------------------------------------------- training and estimate
def _train(torch: Any, net: Any, X: Any, lam_box: Any, delta_cell: Any, shape: tuple[int, ...], offsets: np.ndarray,
           rng: np.random.Generator, gen: Any, options: dict[str, Any], progress: bool | None) -> dict[str, Any]:
    """AdamW with a cosine learning-rate decay on balanced pairs; returns the loss history."""
    steps, batch_size = options["steps"], options["batch_size"]
    S = X.shape[1]
    opt = torch.optim.AdamW(net.parameters(), lr=options["lr"], weight_decay=options["weight_decay"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1.0 + np.cos(np.pi * k / steps)))
    labels = torch.cat([torch.ones(batch_size), torch.zeros(batch_size)])
    loss_fn = torch.nn.BCEWithLogitsLoss()
    hist_step, hist_loss, window = [], [], []
    every = max(1, steps // 50)
    for step in progress_bar(range(steps), desc="ClassiFIM training", progress=progress):
        minus, plus = _draw_pairs(rng, shape, offsets, batch_size)
        cells = torch.as_tensor(np.concatenate([plus, minus]))
        rows = torch.randint(0, S, (2 * batch_size,), generator=gen)
        lam0 = 0.5 * (lam_box[cells[:batch_size]] + lam_box[cells[batch_size:]])
        delta = delta_cell[cells[:batch_size]] - delta_cell[cells[batch_size:]]
        s = net(X[cells, rows], torch.cat([lam0, lam0]))
        loss = loss_fn((s * torch.cat([delta, delta])).sum(-1), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        window.append(loss.item())
        if (step + 1) % every == 0 or step == steps - 1:
            hist_step.append(step + 1)
            hist_loss.append(float(np.mean(window)))
            window = []
    return {"step": hist_step, "loss": hist_loss}


def _scores(torch: Any, net: Any, X: Any, lam_box: Any) -> np.ndarray:
    """The learned scores s_θ(λ_c, x) (cell units) of every sample at its own grid point, (C, S, d)."""
    C, S = X.shape[:2]
    flat = X.reshape((C * S, *X.shape[2:]))
    lam = lam_box.repeat_interleave(S, dim=0)
    with torch.no_grad():
        out = torch.cat([net(flat[i:i + _EVAL_BLOCK], lam[i:i + _EVAL_BLOCK])
                         for i in range(0, C * S, _EVAL_BLOCK)])
    return out.numpy().astype(np.float64).reshape(C, S, -1)


def _covariances(s: np.ndarray) -> np.ndarray:
    """Per-grid-point covariance (ddof 1) of the scores s (C, S, d)."""
    sc = s - s.mean(axis=1, keepdims=True)
    return np.einsum("csi,csj->cij", sc, sc) / (s.shape[1] - 1)


def _run(torch: Any, x: np.ndarray, grid: ParameterGrid, kind: str, options: dict[str, Any],
         ss: np.random.SeedSequence, progress: bool | None) -> tuple[np.ndarray, dict[str, Any]]:
    """Train and estimate (arguments already checked)."""
    shape, d = grid.shape, grid.ndim
    t, lo, h = _natural_scales(grid)
    offsets = pair_offsets(shape, options["max_offset"])
    X = torch.as_tensor(_prepared_samples(x, kind))
    box = (t - lo) / (h * (np.asarray(shape) - 1.0))
    lam_box = torch.as_tensor(2.0 * box - 1.0, dtype=torch.float32)
    delta_cell = torch.as_tensor((t - lo) / h, dtype=torch.float32)  # row differences = δλ in cell units
    states = ss.generate_state(3)
    rng = np.random.default_rng(int(states[0]))
    gen = torch.Generator().manual_seed(int(states[1]))
    with torch.random.fork_rng(devices=[]):  # seeded initialisation without touching the global RNG
        torch.manual_seed(int(states[2]))
        net = _build_net(torch, kind, tuple(x.shape[2:]), d, options["channels"], options["hidden"])
    t0 = time.perf_counter()
    hist = _train(torch, net, X, lam_box, delta_cell, shape, offsets, rng, gen, options, progress)
    t1 = time.perf_counter()
    g_cell = _covariances(_scores(torch, net, X, lam_box))
    metric = (g_cell / np.outer(h, h)).reshape(shape + (d, d))
    metric = 0.5 * (metric + np.swapaxes(metric, -1, -2))
    diag = {"step": hist["step"], "loss": hist["loss"], "final_loss": hist["loss"][-1],
            "train_seconds": t1 - t0, "estimate_seconds": time.perf_counter() - t1,
            "n_offsets": int(offsets.shape[0]), "step_sizes": h.tolist(),
            "n_parameters": int(sum(p.numel() for p in net.parameters())), "kind": kind, **options,
            "units": "Fisher information of one sample, natural coordinates"}
    return metric, diag


def classifim_metric(samples: Any, grid: ParameterGrid, *, kind: str, steps: int = 2000, batch_size: int = 256,
                     lr: float = 2e-2, weight_decay: float | None = None, hidden: int = 64, channels: int = 8,
                     max_offset: int = 3, seed: int | np.random.SeedSequence = 0, num_threads: int | None = 1,
                     progress: bool | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Estimate the Fisher metric on a grid from samples with a ClassiFIM-style pair classifier.

    Training (module docstring): a pair of grid points λ₋, λ₊ = λ₋ + o with a uniformly drawn
    offset o ∈ {−m, …, m}^d \\ {0}, m = ``max_offset`` (axis-aligned and diagonal offsets),
    then λ₋ uniform among the points where the pair fits in the grid; one sample drawn at λ₊
    (label 1) and one at λ₋ (label 0), each uniformly among the S samples of its point;
    logit = δλ · s_θ(λ₀, x) with λ₀ = (λ₋ + λ₊)/2 (natural coordinates), binary
    cross-entropy, AdamW with a cosine learning-rate decay to 0. Estimate: the covariance of
    s_θ(λ_c, x) over the S samples x drawn at each grid point λ_c, mapped to natural
    coordinates.

    Network: a per-sample encoder f(x) — ``lattice2d``: a 3×3 convolution with circular
    padding and two 1×1 convolutions (``channels`` channels, SiLU), mean-pooled over the
    lattice (receptive field: nearest and diagonal neighbours); ``chain1d``: two 3-tap 1-D
    convolutions with zero padding (``channels``), flattened, then a linear layer to
    ``hidden`` (positions matter on an open chain); ``vector``: an MLP k → hidden → hidden on
    features standardised over all samples — then s = W f + MLP([f, λ₀]) (MLP
    (F + d) → hidden → hidden → d, SiLU; the linear skip W f makes the exponential-family
    form s = A f(x) − b(λ₀) easy to learn).

    Parameters
    ----------
    samples : array_like
        Shape (C, S, *configuration shape): S ≥ 2 samples at each of the C = ``grid.size``
        grid points, in flat C order of the grid. Real, finite.
    grid : ParameterGrid
        The grid (≥ 2 points per axis); its natural coordinates (``grid.natural_points()``)
        are the coordinates of the returned metric.
    kind : {"lattice2d", "chain1d", "vector"}
        Configuration type: periodic L × L lattices (e.g. Ising spins ±1), open chains of N
        sites (e.g. TASEP occupations 0/1) or real feature vectors of length k.
    steps : int, default 2000
        Optimiser steps, in [1, ``MAX_STEPS``].
    batch_size : int, default 256
        Pairs per step (2 × batch_size samples), in [1, ``MAX_WIDTH``].
    lr : float, default 2e-2
        Initial learning rate (cosine decay to 0), > 0.
    weight_decay : float, optional
        Decoupled weight decay of AdamW, ≥ 0. Default: ``DEFAULT_WEIGHT_DECAY[kind]`` (0.1 for
        ``vector``, 0 otherwise).
    hidden : int, default 64
        Width of the MLP layers, in [1, ``MAX_WIDTH``].
    channels : int, default 8
        Convolution channels (``lattice2d``, ``chain1d``), in [1, ``MAX_WIDTH``].
    max_offset : int, default 3
        Largest pair offset along one axis, in cells, ≥ 1 (capped at n_k − 1 per axis).
    seed : int or numpy.random.SeedSequence, default 0
        Seeds the initialisation (``torch.manual_seed`` inside ``torch.random.fork_rng``, so
        torch's global generator is left as it was), the pairs and the sample draws.
    num_threads : int or None, default 1
        torch threads while training, in [1, ``MAX_THREADS``] (restored afterwards); None
        leaves them alone. With one thread the result is reproducible bit for bit.
    progress : bool or None, default None
        Progress bar over the steps (None: on a terminal only; ``TQDM_DISABLE=1`` hides it).

    Returns
    -------
    metric : numpy.ndarray
        float64, shape ``grid.shape + (d, d)``: the Fisher metric of one sample (one
        configuration) in natural coordinates, symmetric positive semi-definite.
    diagnostics : dict
        ``step`` and ``loss`` (training history: mean loss over windows of steps/50 steps),
        ``final_loss``, ``train_seconds``, ``estimate_seconds``, ``n_offsets``, ``step_sizes``
        (h per natural axis), ``n_parameters``, ``kind``, ``units`` and the options used.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid, ``samples`` is not numeric, an integer option is not
        an integer, a bad ``seed`` or ``progress``.
    ValueError
        An unknown ``kind``, samples of the wrong shape or with non-finite values, an option
        out of range, or an axis with one point.

    Examples
    --------
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(mu=(-1.0, 1.0, 4), nu=(-1.0, 1.0, 3))
    >>> x = np.random.default_rng(0).normal(g.points()[:, None, :], 1.0, size=(12, 16, 2))
    >>> metric, diag = classifim_metric(x, g, kind="vector", steps=20, hidden=8, progress=False)
    >>> metric.shape, diag["steps"]
    ((4, 3, 2, 2), 20)
    """
    grid = _check_grid(grid)
    kind = check_choice("kind", kind, tuple(KINDS))
    x = _check_samples(samples, grid, kind)
    options = {
        "steps": check_int("steps", steps, min=1, max=MAX_STEPS),
        "batch_size": check_int("batch_size", batch_size, min=1, max=MAX_WIDTH),
        "lr": float(check_real("lr", lr, low=0.0, low_inclusive=False)),
        "weight_decay": float(check_real("weight_decay", DEFAULT_WEIGHT_DECAY[kind] if weight_decay is None
                                         else weight_decay, low=0.0)),
        "hidden": check_int("hidden", hidden, min=1, max=MAX_WIDTH),
        "channels": check_int("channels", channels, min=1, max=MAX_WIDTH),
        "max_offset": check_int("max_offset", max_offset, min=1),
    }
    ss = as_seed_sequence(seed)
    nthreads = None if num_threads is None else check_int("num_threads", num_threads, min=1, max=MAX_THREADS)
    progress_disabled(progress)  # a bad switch fails here, before any work
    import torch

    old_threads = torch.get_num_threads()
    if nthreads is not None:
        torch.set_num_threads(nthreads)
    try:
        return _run(torch, x, grid, kind, options, ss, progress)
    finally:
        torch.set_num_threads(old_threads)


# ----------------------------------------------------------------------------- measurement (python -m validation.classifim)
def _quick_case(name: str, seed: int) -> tuple[Any, ParameterGrid, np.ndarray, np.ndarray, np.ndarray | None]:
    """Table 1 quick-size data: model, grid, samples (C, S, ...), exact per-configuration metric, exact-statistic floor."""
    from statgeo.models import IsingModel, make_model
    from validation.table1_data import sample_array

    if name == "ising":
        model = IsingModel(8)
        grid = model.natural_grid(K=(0.2, 0.7, 24), eta=(-0.2, 0.2, 24))
        ds = model.sample(grid, 64, seed=seed, progress=False)
        ref = model.exact(grid, progress=False)["metric"].transpose(*grid.names, ...).values
        stats = model.sufficient_statistics(ds).transpose(*grid.names, "sample", "statistic").values
        f = stats.reshape(grid.size, -1, 2).astype(np.float64)
        floor = _covariances(f).reshape(ref.shape)  # covariance of the exact sufficient statistics
    else:
        model = make_model("tasep", 10)
        grid = model.natural_grid(theta_alpha=(0.0, np.log(10.0), 20), theta_beta=(0.0, np.log(10.0), 20))
        ds = model.sample(grid, 64, seed=seed, progress=False)
        ref = model.exact(grid, density=False, progress=False)["observable_fisher"].transpose(*grid.names, ...).values
        floor = None
    return model, grid, sample_array(ds, grid, model), ref, floor


def _report(label: str, est: np.ndarray, ref: np.ndarray, axes: list[np.ndarray]) -> str:
    """One line: distance measures and per-component RMSE / std(reference) over the grid."""
    from validation.distance_measures import distance_measures

    m = distance_measures(ref, est, axes)
    comp = " ".join(f"g{i}{j} {np.sqrt(np.mean((est[..., i, j] - ref[..., i, j]) ** 2)) / ref[..., i, j].std():.3f}"
                    for i, j in ((0, 0), (0, 1), (1, 1)))
    return (f"  {label:<28} distRE {100 * m['dist_re']:5.2f} %  distMSE-ps {m['dist_mse_perfect_scale']:.4f}  "
            f"distMSE-norm {m['dist_mse_normalised']:.4f}  scale {m['scale']:.3f}  RMSE/std: {comp}")


def _main(argv: list[str] | None = None) -> None:
    """Measure time and quality of :func:`classifim_metric` at the Table 1 quick sizes (one torch thread)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m validation.classifim", description=_main.__doc__)
    parser.add_argument("--models", nargs="+", default=["ising", "tasep"], choices=["ising", "tasep"])
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples and of the estimator")
    args = parser.parse_args(argv)
    for name in args.models:
        model, grid, x, ref, floor = _quick_case(name, args.seed)
        t = grid.natural_points().reshape(grid.shape + (grid.ndim,))
        axes = [t[:, 0, 0], t[0, :, 1]]
        w0, c0 = time.perf_counter(), time.process_time()
        est, diag = classifim_metric(x, grid, kind=model.configuration_kind, seed=args.seed, progress=False)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        print(f"{name}: grid {grid.shape}, samples {x.shape}, {diag['steps']} steps: {wall:.1f} s wall, {cpu:.1f} s CPU")
        print(_report("ClassiFIM", est, ref, axes))
        print(_report("constant (grid-mean exact)", np.broadcast_to(ref.mean((0, 1)), ref.shape), ref, axes))
        if floor is not None:
            print(_report("exact-statistic covariance", floor, ref, axes))


if __name__ == "__main__":
    _main()
