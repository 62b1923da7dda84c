"""Neural grid posterior (the paper's choice for physics models), in PyTorch.

A network reads a bundle of n samples and outputs logits over all grid cells; softmax over
cells; trained by cross-entropy against a smoothed one-hot target, a Gaussian bump of width σ
(box units, default 1/50) around the true cell (Lobashev et al. 2025, Sec. 3).

Architecture (chosen for CPU cost; docs/geometry_fitting.md, "Neural posterior defaults and
cost"): a per-sample encoder — 2-D CNN with
circular padding for periodic lattices, 1-D CNN with zero padding for open chains (TASEP), or an
MLP for feature vectors — then mean pooling over the bundle (permutation invariant) and an MLP
head giving C logits.

Bundles: ``"origin"`` — n samples drawn at the origin; ``"neighbours"`` — the paper's: pick 4
of the (up to 8) nearest neighbouring grid points of the origin and draw the n samples from
them (uniformly among the 4); the label is the origin.

Exponential-family head (``head="exponential_family"``): logits ⟨u_c, Σ_i t(x_i)⟩ − n·a_c with
u_c the cell's natural coordinates in [0, 1] per axis, a learned per-sample statistic t and one
offset per cell, trained against the true cell, then its last layer solved exactly (a convex
multinomial logistic regression once the features are fixed). Its output is exactly the
posterior form of an exponential family, softmax(n[⟨ā, u⟩ − Φ(u)]) (docs/geometry_fitting.md,
"The exponential-family head").

Effective temperature (logits head): with cross-entropy against a bump of variance σ² (per box axis), the
optimum is the bundle posterior convolved with the bump, of covariance Σ_b + σ²; averaged over
bundles Σ_avg = 2Σ_b + σ² (Gaussian approximation). If the network extracted all information,
Σ_b = (n g)⁻¹ and n_eff = n tr(Σ_b (2Σ_b + σ²)⁻¹)/d with Σ_b estimated from the measured
average width as (Σ_avg − σ²)/2; → n/2 as σ → 0. A network that extracts less information is
wider; that cannot be seen from the widths alone (see the KL diagnostic and the fitted scale).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np
import xarray as xr

from statgeo.checks import (
    binary_pair,
    check_allocation,
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_real,
)
from statgeo.geometry.lattice_patterns import N_PATTERNS, plus_pattern_frequencies
from statgeo.geometry.posterior import check_grid, check_origins, posterior_dataarray
from statgeo.grid import ParameterGrid
from statgeo.progress import progress_disabled
from statgeo.seeding import as_seed_sequence

__all__ = ["MAX_STEPS", "MAX_WIDTH", "NeuralGridPosterior", "NotFittedError", "gaussian_target_kernel"]

log = logging.getLogger(__name__)


def _torch():
    import torch

    return torch


#: dimensions of one sample per ``kind``
_SAMPLE_DIMS = {"lattice2d": 2, "chain1d": 1, "vector": 1}


def _build_net(kind: str, sample_shape: tuple[int, ...], n_cells: int, channels: int, hidden: int,
               encoder: str = "full", head: str = "logits", natural_box: np.ndarray | None = None):
    torch = _torch()
    from torch import nn

    class Encoder2D(nn.Module):
        def __init__(self):
            super().__init__()
            c = channels
            s1 = 2 if encoder == "strided" else 1  # strided: the first conv already halves the lattice
            self.body = nn.Sequential(
                nn.Conv2d(1, c, 3, stride=s1, padding=1, padding_mode="circular"), nn.SiLU(),
                nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, padding_mode="circular"), nn.SiLU(),
                nn.Conv2d(2 * c, 2 * c, 3, padding=1, padding_mode="circular"), nn.SiLU(),
            )

        def forward(self, x):  # (B, H, W) → (B, F): global mean and std pooling (translation invariant)
            h = self.body(x[:, None])
            return torch.cat([h.mean((2, 3)), h.std((2, 3)), (h ** 2).mean((2, 3))], -1)

    class PatternInput(nn.Module):
        """``encoder="patches"``: the samples arrive as plus-pattern frequencies (computed once
        per sample by :func:`~statgeo.geometry.lattice_patterns.plus_pattern_frequencies`);
        the encoder passes them on."""

        def forward(self, x):  # (B, 32) → (B, 32)
            return x

    class Encoder1D(nn.Module):
        def __init__(self):
            super().__init__()
            c = channels
            self.body = nn.Sequential(
                nn.Conv1d(1, c, 3, padding=1), nn.SiLU(), nn.Conv1d(c, c, 3, padding=1), nn.SiLU(),
                nn.Conv1d(c, 2 * c, 3, padding=1), nn.SiLU(),
            )
            L = sample_shape[0]
            self.proj = nn.Linear(2 * c * L, 4 * c)

        def forward(self, x):  # open chain: positions matter, so flatten instead of pooling
            return self.proj(self.body(x[:, None]).flatten(1))

    class EncoderVec(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(sample_shape[0], hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())

        def forward(self, x):
            return self.body(x)

    enc = (PatternInput() if encoder == "patches" else
           {"lattice2d": Encoder2D, "chain1d": Encoder1D, "vector": EncoderVec}[kind]())
    with torch.no_grad():
        fdim = enc(torch.zeros((1,) + sample_shape)).shape[-1]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = enc
            self.head = nn.Sequential(nn.Linear(fdim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                      nn.Linear(hidden, n_cells))

        def forward(self, x):  # x: (B, n, *sample_shape) → logits (B, C)
            B, n = x.shape[:2]
            z = self.enc(x.reshape((B * n,) + tuple(x.shape[2:]))).reshape(B, n, -1).mean(1)
            return self.head(z)

    class ExponentialFamilyNet(nn.Module):
        """logits_c = ⟨u_c, Σ_i t(x_i)⟩ − n·N·o_c: a per-sample statistic t, one offset o_c per cell.

        t(x) = N·(W [h(e), e, x] + b) with e the encoder's output, h the two hidden layers, x the
        raw sample (flattened) and N the number of sites; the log-partition is a_c = N·o_c.
        """

        def __init__(self):
            super().__init__()
            self.enc = enc
            self.features = nn.Sequential(nn.Linear(fdim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())
            # t reads the raw sample and the encoder's output directly as well as through the
            # hidden layers: a statistic linear in either (a magnetisation, an energy) stays linear
            self.statistic = nn.Linear(hidden + fdim + int(np.prod(sample_shape)), natural_box.shape[1])
            self.offset = nn.Parameter(torch.zeros(n_cells))
            self.register_buffer("u", torch.as_tensor(natural_box, dtype=torch.float32))
            # the statistic and the offsets grow with the number of sites N (ln Z is extensive):
            # learning them in units of N keeps Adam's step sizes matched to their scale
            self.scale = float(np.prod(sample_shape))

        def head_features(self, x):  # (B, n, *sample_shape) → (B, n, hidden + encoder features + sample size)
            B, n = x.shape[:2]
            flat = x.reshape((B * n,) + tuple(x.shape[2:]))
            e = self.enc(flat)
            return torch.cat([self.features(e), e, flat.flatten(1)], -1).reshape(B, n, -1)

        def logits_from(self, f_sum, n: int, weight, bias, offset):
            t = (f_sum @ weight.T + n * bias) * self.scale  # Σ_i t(x_i), (B, d)
            return t @ self.u.T - (n * self.scale) * offset

        def forward(self, x):
            f = self.head_features(x).sum(1)
            return self.logits_from(f, x.shape[1], self.statistic.weight, self.statistic.bias, self.offset)

    return ExponentialFamilyNet() if head == "exponential_family" else Net()


class NotFittedError(ValueError, RuntimeError):
    """A :class:`NeuralGridPosterior` method that needs a trained network was called before ``fit``."""


#: largest ``steps`` of :meth:`NeuralGridPosterior.fit`
MAX_STEPS = 1_000_000
#: largest ``channels`` / ``hidden`` of :class:`NeuralGridPosterior`
MAX_WIDTH = 65_536
#: validation origins of ``fit(validation="samples")``: the grid's sub-lattice of at most this many
MAX_VALIDATION_ORIGINS = 1024
#: logits (bundles x cells, summed over its evaluations) the exponential-family head's exact
#: last-layer solve may evaluate: about 5 minutes on one core (0.25 s per 1.7e7 logits, forward
#: and backward); more than the solve needs up to 1024 cells, 74 evaluations of 16 384 bundles at
#: 128 x 128 cells with 512 hidden units
REFIT_MAX_LOGITS = 20_000_000_000
#: budgets (L-BFGS evaluations) below which the head's solve starts from offsets tied to its
#: statistic: the free solve may take 5 rounds of 100 iterations, so below this it cannot converge
REFIT_TIED_START_BELOW = 500


def _box_units(grid: ParameterGrid) -> np.ndarray:
    """The grid's points with every axis scaled to [0, 1] (the bump's units)."""
    P = grid.points()
    return (P - P.min(0)) / (P.max(0) - P.min(0))


def _bump_rows(u: np.ndarray, origins: np.ndarray, sigma: float) -> np.ndarray:
    d2 = ((u[origins][:, None, :] - u[None, :, :]) ** 2).sum(-1)
    t = np.exp(-0.5 * d2 / sigma ** 2)
    return t / t.sum(1, keepdims=True)


def _mean_cross_entropy(logits_of: Any, labels: Any, chunk: int) -> float:
    """Mean cross-entropy of logits_of(i, j) against labels[i:j] over all rows, chunk rows at a time."""
    torch = _torch()
    B = labels.shape[0]
    with torch.no_grad():
        return sum(float(torch.nn.functional.cross_entropy(logits_of(i, i + chunk), labels[i:i + chunk],
                                                           reduction="sum") / B)
                   for i in range(0, B, chunk))


def _lbfgs_cross_entropy(params: list, logits_of: Any, labels: Any, chunk: int, max_evals: int,
                         start_loss: float) -> tuple[float, int]:
    """Full-batch L-BFGS on the mean cross-entropy of logits_of(i, j) against labels[i:j].

    Up to 5 rounds of at most 100 iterations, at most ``max_evals`` evaluations of the loss and
    its gradient in all, stopping when a round gains less than 10⁻⁵ (relative); the logits are
    formed ``chunk`` rows at a time. ``params`` are updated in place. Returns the loss after and
    the evaluations used.
    """
    torch = _torch()
    B = labels.shape[0]
    evaluations = 0

    def loss_and_grad() -> float:
        nonlocal evaluations
        evaluations += 1
        opt.zero_grad()
        total = 0.0
        for i in range(0, B, chunk):
            loss = torch.nn.functional.cross_entropy(logits_of(i, i + chunk), labels[i:i + chunk],
                                                     reduction="sum") / B
            loss.backward()
            total += float(loss.detach())
        return total

    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=100, history_size=50, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-7, tolerance_change=1e-9)
    after = start_loss
    for _ in range(5):  # LBFGS.step returns the loss at the start of its step
        left = max_evals - evaluations
        if left <= 0:
            break
        opt.param_groups[0]["max_eval"] = left
        opt.param_groups[0]["max_iter"] = min(100, left)
        start = after
        opt.step(loss_and_grad)
        after = _mean_cross_entropy(logits_of, labels, chunk)
        if start - after < 1e-5 * max(1.0, abs(start)):
            break
    return after, evaluations


def _check_frequencies(f: np.ndarray, n_origins: int | None, name: str) -> np.ndarray:
    """Plus-pattern frequencies (O, S, 32) as given to ``encoder="patches"``: real, in [0, 1], rows
    summing to 1 (float32 rounding allowed); returned as float32."""
    if f.dtype.kind != "f":
        raise TypeError(f"{name} given as plus-pattern frequencies (rank 3) must be real, got dtype {f.dtype}")
    if (n_origins is not None and f.shape[0] != n_origins) or f.shape[2] != N_PATTERNS or 0 in f.shape[:2]:
        want = "origins" if n_origins is None else n_origins
        raise ValueError(f"{name} as plus-pattern frequencies must have shape ({want}, samples ≥ 1, {N_PATTERNS}), "
                         f"got {f.shape}")
    f = np.asarray(f, dtype=np.float32)
    if not np.isfinite(f).all() or f.min() < 0 or f.max() > 1 or not np.allclose(f.sum(-1), 1.0, atol=1e-4):
        raise ValueError(f"{name} as plus-pattern frequencies must be finite, in [0, 1] and sum to 1 over the "
                         f"{N_PATTERNS} patterns (statgeo.geometry.plus_pattern_frequencies)")
    return f


def gaussian_target_factors(grid: ParameterGrid, sigma: float) -> list[np.ndarray]:
    """The per-axis factors S_i of :func:`gaussian_target_kernel`: S = S_0 ⊗ S_1 ⊗ … (C order).

    The bump exp(−‖u_t − u_c‖²/(2σ²)) factorises over the axes of a product grid, and so does
    its normalisation over the cells, so S[t, c] = Π_i S_i[t_i, c_i] with
    S_i[a, b] ∝ exp(−(u_a − u_b)²/(2σ²)) normalised over b. Applying the factors one axis at a
    time costs C·Σ n_i per row instead of C².

    Parameters
    ----------
    grid : ParameterGrid
        The grid.
    sigma : float
        Bump width in box units, in (0, 1].

    Returns
    -------
    list of numpy.ndarray
        One (n_i, n_i) row-stochastic matrix per axis.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid.
    ValueError
        ``sigma`` outside (0, 1].
    """
    check_grid(grid)
    sigma = float(check_real("sigma", sigma, low=0.0, low_inclusive=False, high=1.0))
    out = []
    for ax in grid.axes:
        v = np.asarray(ax.values, dtype=np.float64)
        u = ((v - v.min()) / (v.max() - v.min()))[:, None]
        out.append(_bump_rows(u, np.arange(v.size), sigma))
    return out


def gaussian_target_kernel(grid: ParameterGrid, sigma: float) -> np.ndarray:
    """The Gaussian-bump targets as a (C, C) row-stochastic matrix S (row t: the bump around cell t).

    S[t, c] ∝ exp(−‖u_t − u_c‖² / (2σ²)) in box units u (every axis of the grid's own
    coordinates scaled to [0, 1]). Cross-entropy against these targets is minimised by
    q(c | b) = Σ_t p(t | b) S[t, c], the bundle posterior convolved with the bump, so
    :func:`statgeo.geometry.fit_log_partition` models a :class:`NeuralGridPosterior`'s output
    as q_θ S (docs/geometry_fitting.md, "Reading the network's output").

    Parameters
    ----------
    grid : ParameterGrid
        The grid (C = grid.size cells).
    sigma : float
        Bump width in box units, in (0, 1].

    Returns
    -------
    numpy.ndarray
        Shape (C, C), float64, rows summing to 1.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid.
    ValueError
        ``sigma`` outside (0, 1], or the (C, C, d) intermediate would not fit in memory.

    Examples
    --------
    >>> from statgeo.grid import ParameterGrid
    >>> S = gaussian_target_kernel(ParameterGrid.from_ranges(t=(0.0, 1.0, 5)), 0.25)
    >>> S.shape, bool(abs(S.sum(1) - 1).max() < 1e-12)
    ((5, 5), True)
    """
    check_grid(grid)
    sigma = float(check_real("sigma", sigma, low=0.0, low_inclusive=False, high=1.0))
    check_allocation("the target kernel (cells, cells, d)", (grid.size, grid.size, grid.ndim), names="grid")
    return _bump_rows(_box_units(grid), np.arange(grid.size), sigma)


class NeuralGridPosterior:
    """Permutation-invariant network giving a posterior over grid cells from a bundle of samples.

    A per-sample encoder, mean pooling over the n samples of a bundle and an MLP head give C
    logits (one per grid cell); trained by cross-entropy against a Gaussian bump of width σ
    around the true cell, then (optionally) temperature-calibrated (module docstring;
    Lobashev et al. 2025, Sec. 3; docs/geometry_fitting.md, "Calibration" and "Neural
    posterior defaults and cost").

    Parameters
    ----------
    grid : ParameterGrid
        The parameter grid (≥ 2 points per axis; cells = ``grid.points()`` in C order). The
        posteriors over all cells for every origin, a (cells, cells) float64 matrix, must fit
        in memory.
    n_per_bundle : int
        Samples per bundle n ≥ 1.
    kind : {"lattice2d", "chain1d", "vector"}, default "lattice2d"
        Sample type: periodic 2-D lattices (circular padding), open 1-D chains (zero padding)
        or feature vectors (MLP encoder).
    bundle : {"origin", "neighbours"}, default "origin"
        Draw the n samples at the origin, or (the paper's) from 4 of its 8 neighbours.
    sigma : float or "auto", default "auto"
        Width of the Gaussian target bump in box units (each axis scaled to [0, 1]), in
        (0, 1]. ``"auto"``: 1.5 cells of the axis with the most points, 1.5 / (max nᵢ − 1): a
        bump narrower than a cell leaves the network nothing to interpolate between cells.
    channels : int, default 16
        Convolution channels of the encoder, in [1, ``MAX_WIDTH``].
    hidden : int, default 128
        Width of the MLP layers, in [1, ``MAX_WIDTH``].
    seed : int or numpy.random.SeedSequence, default 0
        Initialisation, splits and bundle draws.
    encoder : {"full", "strided", "patches"}, default "full"
        ``"strided"`` (``lattice2d`` only): the first 3×3 conv has stride 2, so the encoder
        runs at ¼ and ¹⁄₁₆ of the lattice sites instead of 1 and ¼ — about 3× cheaper per step
        on 32×32 lattices. The overlapping 3×3 windows at stride 2 still contain every
        nearest-neighbour pair, so energy-like statistics stay available. ``"patches"``
        (``lattice2d``, binary samples: ±1 or 0/1): no convolutions; the per-sample features
        are the frequencies of the 32 plus-shaped patterns of a site and its four periodic
        neighbours, so everything a nearest-neighbour model's statistics need, at a cost
        that does not grow with channels (docs/geometry_fitting.md, "Neural posterior
        defaults and cost"). Statistics beyond nearest neighbours are out of its reach.
    head : {"logits", "exponential_family"}, default "logits"
        ``"logits"``: an MLP head with one free logit per cell, trained against the Gaussian
        bump (the paper's). ``"exponential_family"``: the logits of a bundle are
        ⟨u_c, Σ_i t(x_i)⟩ − n·a_c, with u_c the cell's natural coordinates (each axis scaled to
        [0, 1]), t a learned per-sample statistic of dimension d and one offset a_c per cell,
        trained against the true cell (``sigma`` is not used) and then refitted exactly in its
        last layer (:meth:`fit`). Its output is exactly of the exponential-family posterior form
        softmax(n[⟨ā, u⟩ − Φ(u)]) that :func:`statgeo.geometry.fit_log_partition` models, with
        Φ = a; it assumes the samples come from an exponential family in the grid's natural
        coordinates (docs/geometry_fitting.md, "The exponential-family head").

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid; a count is not an integer; ``seed`` is not a seed.
    ValueError
        An unknown option, ``sigma`` outside (0, 1], sizes out of range or too large for memory.

    Examples
    --------
    >>> import numpy as np
    >>> from statgeo.grid import ParameterGrid
    >>> g = ParameterGrid.from_ranges(t=(-1.0, 1.0, 4))
    >>> x = np.random.default_rng(0).normal(g.points()[:, None, :], 1.0, size=(4, 16, 1))
    >>> net = NeuralGridPosterior(g, 2, kind="vector", hidden=8, seed=0)
    >>> net = net.fit(x, steps=5, eval_every=5, progress=False)
    >>> post = net.posterior(x, bundles_per_origin=2, effective_temperature=1.0)
    >>> post.dims, post.shape
    (('origin', 'cell'), (4, 4))
    """

    def __init__(self, grid: ParameterGrid, n_per_bundle: int, *, kind: str = "lattice2d", bundle: str = "origin",
                 sigma: float | str = "auto", channels: int = 16, hidden: int = 128,
                 seed: int | np.random.SeedSequence = 0, encoder: str = "full", head: str = "logits") -> None:
        self.grid = check_grid(grid)
        self.n = check_int("n_per_bundle", n_per_bundle, min=1)
        self.kind = check_choice("kind", kind, ("lattice2d", "chain1d", "vector"))
        self.bundle = check_choice("bundle", bundle, ("origin", "neighbours"))
        check_grid(grid)
        if isinstance(sigma, str):
            check_choice("sigma", sigma, ("auto",))
            sigma = min(1.0, 1.5 / (max(grid.shape) - 1))
        self.sigma = float(check_real("sigma", sigma, low=0.0, low_inclusive=False, high=1.0))
        self.channels = check_int("channels", channels, min=1, max=MAX_WIDTH)
        self.hidden = check_int("hidden", hidden, min=1, max=MAX_WIDTH)
        self.encoder = check_choice("encoder", encoder, ("full", "strided", "patches"))
        if self.encoder != "full" and self.kind != "lattice2d":
            raise ValueError(f"encoder={self.encoder!r} needs kind='lattice2d', got kind={kind!r}")
        self.head = check_choice("head", head, ("logits", "exponential_family"))
        self._ss = as_seed_sequence(seed)
        C = grid.size
        check_allocation("the posteriors over the grid (cells, cells)", (C, C), names="grid")
        check_allocation("the network's output layer (hidden, cells)", (self.hidden, C), np.float32,
                         names="hidden and grid")
        check_allocation("the network's hidden layers (hidden, hidden)", (2 * self.hidden, self.hidden), np.float32,
                         names="hidden")
        self.net = None
        self.log_temperature = 0.0
        self.history: dict[str, list] = {}
        self.training: dict = {}
        self.val_origins = np.array([], dtype=np.int64)
        self._sample_shape: tuple[int, ...] | None = None
        self._u = _box_units(grid)  # box units [0, 1]^d
        t = grid.natural_points()  # the exponential-family head's u_c: natural coordinates, per axis in [0, 1]
        self._natural_box = (t - t.min(0)) / (t.max(0) - t.min(0))
        self._neigh = self._neighbours()

    # ------------------------------------------------------------------ data helpers
    def _neighbours(self) -> list[np.ndarray]:
        sh = self.grid.shape
        out = []
        for c in range(self.grid.size):
            idx = np.array(np.unravel_index(c, sh))
            nb = []
            for off in np.ndindex(*(3,) * len(sh)):
                o = np.array(off) - 1
                if not o.any():
                    continue
                j = idx + o
                if ((j >= 0) & (j < np.array(sh))).all():
                    nb.append(np.ravel_multi_index(tuple(j), sh))
            out.append(np.array(nb, dtype=np.int64))
        return out

    def _check_samples(self, samples: Any, name: str = "samples") -> np.ndarray:
        if isinstance(samples, xr.DataArray):
            if "sample" not in samples.dims or not set(self.grid.names) <= set(samples.dims):
                raise ValueError(f"{name} must have dims {self.grid.names} + ('sample', ...), got {samples.dims}")
            rest = [d for d in samples.dims if d not in self.grid.names and d != "sample"]
            samples = samples.transpose(*self.grid.names, "sample", *rest).values
            samples = samples.reshape((self.grid.size, samples.shape[len(self.grid.names)]) + samples.shape[len(self.grid.names) + 1:])
        if isinstance(samples, (str, bytes)) or samples is None:
            raise TypeError(f"{name} must be a numeric array, got {samples!r}")
        if isinstance(samples, np.ndarray) and samples.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a numeric array, got dtype {samples.dtype}")
        patches = self.encoder == "patches"
        try:  # integer lattices for the pattern features stay integer: no float32 copy of them all
            x = np.asarray(samples) if patches else np.asarray(samples, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a numeric array") from exc
        if x.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
        if patches and x.ndim == 3:  # the lattices' plus-pattern frequencies, computed beforehand
            return _check_frequencies(x, self.grid.size, name)
        want = 2 + _SAMPLE_DIMS[self.kind]  # (cells, samples, *sample_shape)
        if x.ndim != want or x.shape[0] != self.grid.size:
            raise ValueError(f"{name} must have shape ({self.grid.size}, samples, ...) with {want} dims for "
                             f"kind={self.kind!r}, got {x.shape}")
        if x.shape[1] < 1 or 0 in x.shape[2:]:
            raise ValueError(f"{name} must hold at least one non-empty sample per origin, got shape {x.shape}")
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            raise ValueError(f"{name} must be finite (no NaN or inf)")
        if self._sample_shape is not None and len(self._sample_shape) == x.ndim - 2 \
                and tuple(x.shape[2:]) != self._sample_shape:
            raise ValueError(f"{name} must have sample shape {self._sample_shape} (the shape the network was "
                             f"trained on), got {tuple(x.shape[2:])}")
        return x

    def _inputs(self, x: np.ndarray, name: str = "samples") -> np.ndarray:
        """What the network reads of checked samples or bundles (…, *sample_shape): the samples
        themselves, or for ``encoder="patches"`` their plus-pattern frequencies (…, 32), computed
        here from lattices (rank 2 + 2) or given (rank 2 + 1)."""
        if self.encoder != "patches" or x.ndim == 3:
            return x
        if binary_pair(x) is None:
            raise ValueError(f"{name} must be binary (every entry ±1, or every entry 0 or 1) for "
                             f"encoder='patches', which counts patterns of up and down sites")
        return plus_pattern_frequencies(x)

    def _draw(self, x: np.ndarray, origins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A bundle (n samples) per origin: (B, n, *sample_shape).

        The n samples of a bundle are distinct (drawn without replacement) when S ≥ n: a sample
        drawn twice is not an independent draw, and its bundle statistic would be noisier than
        the posterior of n independent samples assumes (measured with the exponential-family
        head on a Gaussian family, bundles of 16 from 64 samples: the fitted Φ came out at 0.81
        of its true scale with repeats).
        """
        B, S = origins.size, x.shape[1]
        if self.bundle == "origin":
            src = np.repeat(origins[:, None], self.n, 1)
        else:
            src = np.empty((B, self.n), dtype=np.int64)
            for b, o in enumerate(origins):
                nb = self._neigh[o]
                chosen = rng.choice(nb, size=min(4, nb.size), replace=False)
                src[b] = rng.choice(chosen, size=self.n)
        if S > self.n:
            pick = rng.random((B, S)).argpartition(self.n, axis=1)[:, :self.n]
        elif S == self.n:
            pick = np.broadcast_to(np.arange(S), (B, S))
        else:
            pick = rng.integers(0, S, size=src.shape)
        return x[src, pick]

    def _targets(self, origins: np.ndarray) -> np.ndarray:
        return _bump_rows(self._u, origins, self.sigma)

    def _check_bundle_memory(self, n_bundles: int, sample_shape: tuple[int, ...], names: str) -> None:
        check_allocation("the bundles (bundles, n, *sample_shape)", (n_bundles, self.n) + tuple(sample_shape),
                         np.float32, names=names)

    def target_kernel(self) -> np.ndarray:
        """The training targets as a (C, C) row-stochastic matrix S (row t: the bump around cell t).

        With ``head="exponential_family"`` the targets are the true cells: S is the identity.

        S[t, c] ∝ exp(−‖u_t − u_c‖² / (2σ²)) in box units u. Cross-entropy against these targets
        is minimised by q(c | b) = Σ_t p(t | b) S[t, c], the bundle posterior convolved with the
        bump, so ``fit_log_partition(..., target_smoothing=S)`` can model the network's output
        exactly instead of correcting its width afterwards.

        Returns
        -------
        numpy.ndarray
            Shape (C, C), float64, rows summing to 1.

        Raises
        ------
        ValueError
            The (C, C, d) intermediate would not fit in memory.
        """
        if self.head == "exponential_family":
            return np.eye(self.grid.size)
        return gaussian_target_kernel(self.grid, self.sigma)

    def apply_target_kernel(self, rows: Any) -> np.ndarray:
        """Posterior rows convolved with the training targets: q = p S, applied one axis at a time.

        q(c) = Σ_t p(t) S[t, c] (:meth:`target_kernel`) is what the network's output estimates
        when p is a bundle's posterior; comparing an exact posterior with the network's output
        compares p S with it. The Gaussian bump factorises over the grid's axes
        (S = S_0 ⊗ S_1 ⊗ …), so this costs C·Σ nᵢ per row and never forms the (C, C) matrix,
        which at 128 × 128 cells would take 2 GiB. With ``head="exponential_family"`` S is the
        identity and the rows are returned as they are (a copy).

        Parameters
        ----------
        rows : array_like
            Shape (R, grid.size), finite real values (usually probabilities).

        Returns
        -------
        numpy.ndarray
            Shape (R, grid.size), float64.

        Raises
        ------
        TypeError
            ``rows`` not real numbers.
        ValueError
            ``rows`` not of shape (R, grid.size), or not finite.
        """
        p = check_array("rows", rows, ndim=2, dtype_kind="iuf").astype(np.float64)
        if p.shape[1] != self.grid.size:
            raise ValueError(f"rows must have shape (R, grid.size) = (R, {self.grid.size}), got {p.shape}")
        if self.head == "exponential_family":
            return p.copy()
        y = p.reshape((p.shape[0],) + self.grid.shape)
        for i, f in enumerate(gaussian_target_factors(self.grid, self.sigma)):
            y = np.moveaxis(np.moveaxis(y, i + 1, -1) @ f, -1, i + 1)
        return np.ascontiguousarray(y).reshape(p.shape)

    # ------------------------------------------------------------------ training
    def fit(self, samples: Any, *, steps: int | str = "auto", batch_size: int = 64, lr: float = 3e-3,
            validation: str = "samples", validation_fraction: float = 0.25, eval_every: int | str = "auto",
            patience: int = 10, val_bundles: int = 2, calibrate: bool = False, lr_schedule: str = "cosine",
            progress: bool | None = None) -> NeuralGridPosterior:
        """Train the network on samples drawn at every grid point.

        Cross-entropy against the smoothed target, −Σ_c S[t', c] ln softmax(logits)_c; Adam; a
        held-out set for early stopping (best weights restored; the package's training loop,
        :func:`statgeo.geometry.training.train_loop`); with ``head="exponential_family"``
        (targets: the true cells) the statistic layer and the offsets are then solved exactly by
        full-batch L-BFGS on bundles of all the samples, a convex problem once the features are fixed
        (the record is ``training["head_refit"]``, with the evaluations it used; on large grids at
        most ``REFIT_MAX_LOGITS`` logits in all, so the solve may stop short of the optimum,
        ``stopped_by_budget``, and it then starts from offsets tied to the statistic,
        ``tied_start``); then, if ``calibrate``, temperature
        scaling of the logits on held-out bundles against the true (hard) labels (Guo et al.,
        ICML 2017).

        Defaults derive from the data (docs/geometry_fitting.md, "Defaults and diagnostics"):
        the step budget is eight steps per grid cell (each cell is a class of the network's
        output), clipped to [500, 4000]; checks every budget/50 steps, no early stop before a quarter of the
        budget, and validation on held-out *samples* at every grid point (held-out grid points
        would be classes never trained on when the target bump is narrower than a cell). The
        record of the run (steps, budget, fraction trained, stop reason) is in
        :attr:`training`.

        Parameters
        ----------
        samples : array_like or xarray.DataArray
            Shape (grid.size, S, *sample_shape) (origins in flat C order), or a DataArray with
            the grid dims + ``sample`` + sample dims; finite. With ``encoder="patches"`` the
            lattices' plus-pattern frequencies may be given instead, shape (grid.size, S, 32)
            (:func:`~statgeo.geometry.plus_pattern_frequencies`, e.g. computed chunk by chunk
            from a store so that the lattices are never all in memory); every method then
            accepts either form.
        steps : int or "auto", default "auto"
            Adam steps, in [1, ``MAX_STEPS`` = 10⁶]; ``"auto"``: as above.
        batch_size : int, default 64
            Bundles per step (≥ 1).
        lr : float, default 0.003
            Adam learning rate (> 0, finite).
        validation : {"samples", "grid_points"}, default "samples"
            Hold out a fraction of the samples at every grid point (needs S ≥ 2n; otherwise no
            validation and the training loss decides), or a fraction of the grid points. On
            grids of more than 1024 points the held-out samples are validated at the grid's
            centred sub-lattice of at most 1024 points (:meth:`ParameterGrid.sublattice`):
            every check evaluates the C-way softmax of each validation bundle, and at 128 × 128
            points, validating at all of them took 70 % of the training time.
        validation_fraction : float, default 0.25
            Fraction of samples (or grid points) held out, in (0, 0.9].
        eval_every : int or "auto", default "auto"
            Steps between validation checks (≥ 1); ``"auto"``: max(1, steps // 50).
        patience : int, default 10
            Checks without improvement before stopping (≥ 1).
        val_bundles : int, default 2
            Validation bundles per held-out grid point (≥ 1).
        calibrate : bool, default False
            Fit the temperature afterwards (:meth:`calibrate`). Without it the output is the
            bundle posterior convolved with the target bump, which the log-partition fit models
            exactly (:meth:`posterior` records the kernel).
        lr_schedule : {"constant", "cosine"}, default "cosine"
            ``"cosine"``: lr·½(1 + cos(π·step/steps)), annealed over the full step budget.
        progress : bool or None, default None
            Progress bar over the steps: None shows it on a terminal only, False never, True
            always; ``TQDM_DISABLE=1`` in the environment hides it (docs/conventions.md).

        Returns
        -------
        NeuralGridPosterior
            ``self``, trained (``history`` holds the loss curves, ``training`` the record).

        Raises
        ------
        TypeError
            Arguments of the wrong type.
        ValueError
            Invalid samples, counts out of range, or batches too large for memory.
        """
        torch = _torch()
        from statgeo.geometry.training import train_loop

        if isinstance(steps, str):
            check_choice("steps", steps, ("auto",))
        else:
            steps = check_int("steps", steps, min=1, max=MAX_STEPS)
        batch_size = check_int("batch_size", batch_size, min=1)
        lr = float(check_real("lr", lr, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))
        check_choice("lr_schedule", lr_schedule, ("constant", "cosine"))
        check_choice("validation", validation, ("samples", "grid_points"))
        validation_fraction = float(check_real("validation_fraction", validation_fraction, low=0.0, high=0.9,
                                               low_inclusive=False))
        if isinstance(eval_every, str):
            check_choice("eval_every", eval_every, ("auto",))
        else:
            eval_every = check_int("eval_every", eval_every, min=1)
        patience = check_int("patience", patience, min=1)
        val_bundles = check_int("val_bundles", val_bundles, min=1)
        check_bool("calibrate", calibrate)
        progress_disabled(progress)
        sample_shape, self._sample_shape = self._sample_shape, None
        try:
            x = self._check_samples(samples)
        finally:
            self._sample_shape = sample_shape
        sample_shape = tuple(x.shape[2:])
        x = self._inputs(x)  # from here on what the network reads (pattern features for "patches")
        C, S = x.shape[:2]
        self._check_bundle_memory(batch_size, x.shape[2:], "batch_size")
        rng = np.random.default_rng(self._ss.spawn(1)[0])
        torch.manual_seed(int(self._ss.generate_state(1)[0] % 2**31))
        by_samples = validation == "samples"
        n_hold = int(round(validation_fraction * S)) if by_samples else 0
        if by_samples and (n_hold < self.n or S - n_hold < self.n):
            log.info("NeuralGridPosterior: %d samples per point are too few to hold out bundles of %d; "
                     "training without validation", S, self.n)
            n_hold = 0
        if by_samples:
            x_tr, x_va = (x[:, :S - n_hold], x[:, S - n_hold:]) if n_hold else (x, None)
            train_o = np.arange(C)
            self.val_origins = (self.grid.sublattice(MAX_VALIDATION_ORIGINS) if n_hold
                                else np.array([], dtype=np.int64))
        else:
            n_val = max(1, int(round(validation_fraction * C)))
            perm = rng.permutation(C)
            self.val_origins, train_o = np.sort(perm[:n_val]), perm[n_val:]
            x_tr, x_va = x, x
        if steps == "auto":  # eight steps per grid cell (class), within [500, 4000]
            steps = int(min(4000, max(500, 8 * C)))
        if eval_every == "auto":
            eval_every = max(1, steps // 50)
        self._check_bundle_memory(self.val_origins.size * val_bundles, x.shape[2:],
                                  "val_bundles and validation_fraction")
        self.net = _build_net(self.kind, tuple(x.shape[2:]), C, self.channels, self.hidden, self.encoder,
                              self.head, self._natural_box)
        self._sample_shape = sample_shape
        hard = self.head == "exponential_family"  # targets: the true cells, as class labels
        # smoothed targets of every cell, computed once (C × C float32) instead of per batch
        table = torch.as_tensor(self.target_kernel(), dtype=torch.float32) if C <= 8192 and not hard else None

        def loss_of(logits, o: np.ndarray):
            """Cross-entropy of the logits against the targets of the origins o."""
            if hard:
                return torch.nn.functional.cross_entropy(logits, torch.as_tensor(o))
            t = table[torch.as_tensor(o)] if table is not None else torch.as_tensor(self._targets(o),
                                                                                  dtype=torch.float32)
            return -(t * torch.log_softmax(logits, -1)).sum(-1).mean()

        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        sched = (torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1.0 + math.cos(math.pi * k / steps)))
                 if lr_schedule == "cosine" else None)
        vo = np.repeat(self.val_origins, val_bundles)
        vx = torch.as_tensor(self._draw(x_va, vo, rng)) if vo.size else None

        def run_chunk(n: int) -> float:
            self.net.train()
            total = 0.0
            for _ in range(n):
                o = rng.choice(train_o, size=batch_size)
                xb = torch.as_tensor(self._draw(x_tr, o, rng))
                loss = loss_of(self.net(xb), o)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                total += float(loss.detach())
            return total / n

        def validate() -> float:
            self.net.eval()
            with torch.no_grad():
                return float(loss_of(self.net(vx), vo))

        rec = train_loop(self.net, run_chunk, max_steps=steps, check_every=eval_every,
                         validate=validate if vx is not None else None, patience=patience, min_steps=steps // 4,
                         extras=lambda: {"lr": float(opt.param_groups[0]["lr"])}, progress=progress,
                         desc="neural posterior")
        self.net.eval()
        self.history = rec.history
        self.training = rec.as_dict()
        if self.head == "exponential_family":
            self.training["head_refit"] = self._refit_head(x if by_samples else x_tr, train_o, rng)
        self.log_temperature = 0.0
        if calibrate:
            if vx is None:
                raise ValueError("calibrate=True needs held-out bundles: use more samples per point or "
                                 "validation='grid_points'")
            self._calibrate_on(vx, vo)
        return self

    def time_training_step(self, sample_shape: tuple[int, ...], *, batch_size: int = 64, repeats: int = 2) -> float:
        """Seconds per training step of this configuration, measured on random input.

        Builds a fresh network with this object's settings (kind, channels, hidden, encoder,
        head, number of cells) for samples of ``sample_shape`` and times forward pass,
        backward pass and Adam update on a batch of ``batch_size`` bundles of random ±1
        samples; the median of ``repeats`` steps after one warm-up step. ``self`` is left
        untouched. ``fit(steps=k)`` then takes about k times this, plus validation and the
        head's last-layer solve. Used to plan long runs (``validation.table1 --plan``).

        Parameters
        ----------
        sample_shape : tuple of int
            One sample's shape, e.g. (L, L) for ``kind="lattice2d"``.
        batch_size : int, default 64
            Bundles per step (≥ 1), as in :meth:`fit`.
        repeats : int, default 2
            Timed steps (≥ 1).

        Returns
        -------
        float
            Median seconds per step on the current torch thread count.

        Raises
        ------
        TypeError, ValueError
            ``sample_shape`` is not a tuple of positive integers of the kind's rank,
            ``batch_size`` or ``repeats`` is not a positive integer, or the batch would not fit
            in memory.
        """
        torch = _torch()
        batch_size = check_int("batch_size", batch_size, min=1)
        repeats = check_int("repeats", repeats, min=1, max=100)
        want = _SAMPLE_DIMS[self.kind]
        if not isinstance(sample_shape, (tuple, list)) or len(sample_shape) != want:
            raise TypeError(f"sample_shape must be a tuple of {want} positive integers for kind={self.kind!r}, "
                            f"got {sample_shape!r}")
        shape = tuple(check_int(f"sample_shape[{i}]", v, min=1) for i, v in enumerate(sample_shape))
        self._check_bundle_memory(batch_size, shape, "batch_size and sample_shape")
        gen = torch.Generator().manual_seed(0)
        x = torch.randint(0, 2, (batch_size, self.n) + shape, generator=gen).float() * 2.0 - 1.0
        if self.encoder == "patches":  # computed once per sample in fit, not per step
            x = torch.as_tensor(plus_pattern_frequencies(x.numpy()))
        net = _build_net(self.kind, tuple(x.shape[2:]), self.grid.size, self.channels, self.hidden, self.encoder,
                         self.head, self._natural_box)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        y = torch.randint(0, self.grid.size, (batch_size,), generator=gen)
        times = []
        for k in range(repeats + 1):
            t0 = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if k:
                times.append(time.perf_counter() - t0)
        return float(np.median(times))

    def _refit_head(self, x: np.ndarray, origins: np.ndarray, rng: np.random.Generator) -> dict:
        """Solve the exponential-family head's last layer on bundles of all the samples (convex).

        With the encoder and the hidden layers fixed, the logits are linear in the statistic
        layer (W, b) and the offsets a, so the cross-entropy is convex in them: a multinomial
        logistic regression, solved by full-batch L-BFGS from the trained values (a convex
        solve needs no early stopping, so the held-out samples join in). Adam stops short
        mostly in the overall scale of t and a, which sets the posterior's width and hence the
        metric's scale; on a large grid the solve over W and one free offset per cell reaches
        the optimum only after far more evaluations than the budget affords.

        So where the budget cannot let that solve converge (fewer than
        ``REFIT_TIED_START_BELOW`` = 500 evaluations), it is started from a solve with the
        offsets tied to the statistic: for an exponential
        family in u with statistic t, ∇Φ(u_c) = E_c[t], the mean of t over the samples drawn at
        cell c, so Φ_t is the line integral of the per-cell mean statistic over the grid
        (:class:`~statgeo.geometry.gradient_integration.GridLineIntegrator`), linear in W. The
        logits ⟨u_c, Σ_i t(x_i)⟩ − n·Φ_t(u_c) are then linear in W alone (in whitened features
        and logit units: d × features parameters), a small, well-conditioned convex problem.
        It may use the whole budget; the free solve continues from it with what is left (the
        record's ``tied_start``: the first stage's loss before and after, and the evaluations it used;
        ``None`` where the stage did not run). Where the free solve can converge (small grids)
        the tied start is left out: on the Gaussian family of the default-settings test it made
        the metric worse, the tied offsets carrying the trapezoid rule's error and the sampling
        noise of the per-cell means (docs/geometry_fitting.md, "The exponential-family head").
        """
        torch = _torch()
        net = self.net
        C, S = self.grid.size, x.shape[1]
        feat_dim = net.statistic.in_features
        # up to 16 bundles per cell (fewer when 4·S/n is smaller), at most 2**24 feature numbers
        per = max(1, min(16, (4 * S) // self.n, (2 ** 24) // max(1, origins.size * feat_dim)))
        o = np.repeat(origins, per)
        with torch.no_grad():
            f = torch.cat([net.head_features(torch.as_tensor(self._draw(x, o[i:i + 256], rng))).sum(1)
                           for i in range(0, o.size, 256)])
        lab = torch.as_tensor(o)
        chunk = max(1, (2 ** 24) // C)  # at most 2**24 logits at a time
        # every evaluation costs bundles x C logits: a budget of REFIT_MAX_LOGITS keeps the solve to
        # minutes on large grids (it starts from the trained values, so a cut-short solve still improves)
        cap = max(20, REFIT_MAX_LOGITS // (o.size * C))
        W = net.statistic.weight.detach().clone().requires_grad_(True)
        b = net.statistic.bias.detach().clone().requires_grad_(True)
        a = net.offset.detach().clone().requires_grad_(True)

        def free(i: int, j: int):
            return net.logits_from(f[i:j], self.n, W, b, a)
        before = _mean_cross_entropy(free, lab, chunk)
        tied, used, after = None, 0, before
        if cap < REFIT_TIED_START_BELOW:
            tied = self._tied_head_solve(x, f, lab, chunk, W, b, a, cap)
            used = tied["evaluations"]
            after = _mean_cross_entropy(free, lab, chunk)
        if cap > used:
            after, more = _lbfgs_cross_entropy([W, b, a], free, lab, chunk, cap - used, after)
            used += more
        if after <= before:  # a solve that could not improve on the trained values leaves them
            with torch.no_grad():
                net.statistic.weight.copy_(W)
                net.statistic.bias.copy_(b)
                net.offset.copy_(a)
        else:
            after = before
        return {"bundles": int(o.size), "loss_before": before, "loss_after": after,
                "tied_start": tied, "evaluations": int(used), "max_evaluations": int(cap),
                "stopped_by_budget": bool(used >= cap)}

    def _tied_head_solve(self, x: np.ndarray, f: Any, labels: Any, chunk: int, W: Any, b: Any, a: Any,
                         max_evals: int) -> dict:
        """The first stage of :meth:`_refit_head`: W solved with the offsets tied to the statistic.

        ``f``: the bundles' summed features, ``labels`` their cells; ``W``, ``b``, ``a``: the
        statistic layer and the offsets, overwritten in place with the stage's solution
        (t = N·W(f − m), a = Φ_t / N). Returns the stage's record: its loss before and after
        and the evaluations it used.
        """
        from statgeo.geometry.gradient_integration import GridLineIntegrator

        torch = _torch()
        net = self.net
        C, S, n, scale = self.grid.size, x.shape[1], self.n, net.scale
        # the per-cell mean of every feature over all the samples of the cell (chunks of at most
        # 2**24 feature numbers): the statistic's gradient field is linear in them
        k = max(1, (2 ** 24) // max(1, S * max(W.shape[1], int(np.prod(x.shape[2:])))))
        with torch.no_grad():
            fbar = torch.cat([net.head_features(torch.as_tensor(x[i:i + k])).mean(1)
                              for i in range(0, C, k)]).double()
        # whitened features g = (f − m) P: the conditioning does not depend on the features' scales
        m = fbar.mean(0)
        fc = f.double() - n * m
        lam, vec = torch.linalg.eigh(fc.T @ fc / fc.shape[0])
        keep = lam > 1e-9 * lam.max()
        P = vec[:, keep] / lam[keep].sqrt()
        g = (fc @ P).float()
        gbar = ((fbar - m) @ P).numpy()
        d, Fk = net.u.shape[1], g.shape[1]
        # Psi[c, i, j]: the potential whose gradient has component i equal to gbar[:, j], 0 elsewhere
        fields = np.zeros((C, d, d, Fk))
        for i in range(d):
            fields[:, i, i, :] = gbar
        Psi = torch.as_tensor(GridLineIntegrator(self._natural_box, self.grid.shape)
                              .potential(fields.reshape(C, d, d * Fk)).reshape(C, d, Fk), dtype=torch.float32)
        V = (scale * (W.detach().double() @ vec[:, keep] * lam[keep].sqrt())).float().contiguous().requires_grad_(True)

        def tied(i: int, j: int):
            return (g[i:j] @ V.T) @ net.u.T - n * torch.einsum("cij,ij->c", Psi, V)
        first = _mean_cross_entropy(tied, labels, chunk)
        last, used = _lbfgs_cross_entropy([V], tied, labels, chunk, max_evals, first)
        with torch.no_grad():
            Wt = (P @ V.detach().double().T).T / scale
            W.copy_(Wt.float())
            b.copy_((-(Wt @ m)).float())
            a.copy_((torch.einsum("cij,ij->c", Psi, V.detach()) / scale).float())
        return {"loss_before": first, "loss_after": last, "evaluations": int(used)}

    def calibrate(self, samples: Any, *, bundles: int = 4, origins: Any = None) -> float:
        """Temperature scaling: T* = argmin_T −mean ln softmax(logits / T)[true cell] on held-out bundles.

        One scalar T divides the logits (Guo et al., ICML 2017); minimised with L-BFGS over
        log T.

        Parameters
        ----------
        samples : array_like or xarray.DataArray
            Samples at every grid point, shape (grid.size, S, *sample_shape) like in :meth:`fit`
            (or their plus-pattern frequencies, see there).
        bundles : int, default 4
            Bundles drawn per origin (≥ 1).
        origins : array_like of int, optional
            Flat grid indices whose bundles are used; default: the validation grid points of
            :meth:`fit`. Pass every grid point when ``samples`` are held-out samples that were
            not used in training.

        Returns
        -------
        float
            The calibration temperature T (also stored, see :attr:`temperature`).

        Raises
        ------
        NotFittedError
            The network has not been trained (a ``ValueError`` and a ``RuntimeError``).
        TypeError
            Arguments of the wrong type (e.g. non-integer origins).
        ValueError
            Invalid samples, ``bundles`` < 1, empty origins or origins outside the grid, or
            bundles too large for memory.
        """
        self._require_fit()
        bundles = check_int("bundles", bundles, min=1)
        use = check_origins(self.val_origins if origins is None else origins, self.grid)
        x = self._inputs(self._check_samples(samples))
        self._check_bundle_memory(use.size * bundles, x.shape[2:], "bundles and origins")
        torch = _torch()
        rng = np.random.default_rng(self._ss.spawn(2)[1])
        vo = np.repeat(use, bundles)
        vx = torch.as_tensor(self._draw(x, vo, rng))
        return self._calibrate_on(vx, vo)

    def _calibrate_on(self, vx: Any, vo: np.ndarray) -> float:
        torch = _torch()
        with torch.no_grad():
            logits = self.net(vx)
        lab = torch.as_tensor(vo)
        logT = torch.zeros((), requires_grad=True)
        opt = torch.optim.LBFGS([logT], lr=0.5, max_iter=100, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            l = torch.nn.functional.cross_entropy(logits / logT.exp(), lab)
            l.backward()
            return l

        opt.step(closure)
        self.log_temperature = float(logT.detach())
        return math.exp(self.log_temperature)

    @property
    def temperature(self) -> float:
        """The calibration temperature T (logits are divided by T)."""
        return math.exp(self.log_temperature)

    def _require_fit(self) -> None:
        if self.net is None:
            raise NotFittedError("NeuralGridPosterior must be fitted first (call .fit(samples))")

    # ------------------------------------------------------------------ inference
    def sample_features(self, samples: Any, *, chunk: int = 64, statistic: bool = False) -> np.ndarray:
        """Per-sample features of the trained encoder (before bundle pooling): a learned embedding.

        With ``statistic=True`` (``head="exponential_family"`` only) the learned per-sample
        statistic t(x) of the head instead, d columns in units where ⟨u_c, t⟩ enters the
        logits: for an exponential family, an affine image of its sufficient statistic.

        Parameters
        ----------
        samples : array_like or xarray.DataArray
            Shape (grid.size, S, *sample_shape), with the sample shape of training (or the
            plus-pattern frequencies, see :meth:`fit`).
        chunk : int, default 64
            Origins encoded per pass (≥ 1).
        statistic : bool, default False
            Return t(x) instead of the encoder's features.

        Returns
        -------
        numpy.ndarray
            Features, shape (grid.size, S, F), float64.

        Raises
        ------
        NotFittedError
            The network has not been trained (a ``ValueError`` and a ``RuntimeError``).
        TypeError
            Arguments of the wrong type.
        ValueError
            Invalid samples, ``chunk`` < 1, or ``statistic=True`` with ``head="logits"``.
        """
        self._require_fit()
        chunk = check_int("chunk", chunk, min=1)
        check_bool("statistic", statistic)
        if statistic and self.head != "exponential_family":
            raise ValueError("statistic=True needs head='exponential_family' (the logits head has no statistic), "
                             f"got head={self.head!r}")
        torch = _torch()
        x = self._inputs(self._check_samples(samples))
        C, S = x.shape[:2]

        def encode(xb):
            if statistic:  # one-sample bundles through the head: t(x) = N (W [h(e), e, x] + b)
                return self.net.statistic(self.net.head_features(xb[:, None])[:, 0]) * self.net.scale
            return self.net.enc(xb)

        with torch.no_grad():
            f = torch.cat([encode(torch.as_tensor(x[i:i + chunk].reshape((-1,) + x.shape[2:])))
                           for i in range(0, C, chunk)])
        return f.double().numpy().reshape(C, S, -1)

    def predict_bundles(self, bundles: Any) -> np.ndarray:
        """Calibrated posterior over the cells of each bundle: softmax(logits / T).

        Parameters
        ----------
        bundles : array_like
            Shape (B, n', *sample_shape) with B ≥ 1 bundles of n' ≥ 1 samples each (the sample
            shape of training; with ``encoder="patches"`` lattices of any size or their 32
            plus-pattern frequencies), finite.

        Returns
        -------
        numpy.ndarray
            Shape (B, C), float64, rows summing to 1.

        Raises
        ------
        NotFittedError
            The network has not been trained (a ``ValueError`` and a ``RuntimeError``).
        TypeError
            ``bundles`` is not numeric.
        ValueError
            Wrong shape, NaN/inf, or a (B, C) result too large for memory.
        """
        self._require_fit()
        if isinstance(bundles, (str, bytes)) or bundles is None:
            raise TypeError(f"bundles must be a numeric array, got {bundles!r}")
        if isinstance(bundles, np.ndarray) and bundles.dtype.kind not in "biuf":
            raise TypeError(f"bundles must be a numeric array, got dtype {bundles.dtype}")
        try:
            b = np.asarray(bundles, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise TypeError("bundles must be a numeric array") from exc
        if self.encoder == "patches":  # lattices of any size, or their 32 pattern frequencies
            ok, want = (b.ndim == 4 or (b.ndim == 3 and b.shape[2] == N_PATTERNS)), f"(H, W) or ({N_PATTERNS},)"
        else:
            ok, want = b.ndim == 2 + len(self._sample_shape) and tuple(b.shape[2:]) == self._sample_shape, \
                str(self._sample_shape)
        if not ok or 0 in b.shape[:2]:
            raise ValueError(f"bundles must have shape (B ≥ 1, n ≥ 1, *S) with S = {want}, got {b.shape}")
        if not np.isfinite(b).all():
            raise ValueError("bundles must be finite (no NaN or inf)")
        if b.ndim == 3 and self.encoder == "patches":
            _check_frequencies(b, None, "bundles")
        check_allocation("the bundle posteriors (bundles, cells)", (b.shape[0], self.grid.size), names="bundles")
        return self._predict(self._inputs(b, "bundles"))

    def _predict(self, b: np.ndarray) -> np.ndarray:
        torch = _torch()
        xb = torch.as_tensor(b)
        out = []
        with torch.no_grad():
            for s in range(0, xb.shape[0], 256):
                out.append(torch.softmax(self.net(xb[s:s + 256]) / self.temperature, -1).double().numpy())
        return np.concatenate(out, 0)

    def posterior(self, samples: Any, *, bundles_per_origin: int = 8, seed: int | np.random.SeedSequence = 1,
                  average: bool = True, effective_temperature: float | str = "auto",
                  origins: Any = None) -> xr.DataArray:
        """Bundle posteriors, averaged per origin or one row per bundle, labelled (origin, cell).

        Without calibration the output of a bundle is its posterior convolved with the target
        bump S (:func:`gaussian_target_kernel`); the result records that kernel
        (``attrs["output_kernel"] = "gaussian_bump"``, ``attrs["output_kernel_sigma"]``) and the
        theory-fixed temperature of the unsmoothed posterior (n per bundle, n/2 for bundle
        averages), so :func:`statgeo.geometry.fit_log_partition` models it exactly. A calibrated
        output has no such form; its temperature is the width estimate of the module docstring.
        The attrs also hold the diagnostics of :func:`statgeo.geometry.posterior_diagnostics`
        and the training record (``fraction_trained``, ``stop_reason``); a degenerate posterior
        warns (``DegeneratePosteriorWarning``).

        Parameters
        ----------
        samples : array_like or xarray.DataArray
            Samples at every grid point, shape (grid.size, S, *sample_shape) (or the
            plus-pattern frequencies, see :meth:`fit`).
        bundles_per_origin : int, default 8
            Bundles drawn per origin (≥ 1; the (cells × bundles, cells) posteriors must fit in
            memory).
        seed : int or numpy.random.SeedSequence, default 1
            Seed of the bundle draws.
        average : bool, default True
            Average the bundles of each origin (one row per grid point), or keep one row per
            bundle (origins repeat; the form the default log-partition fit models exactly).
        effective_temperature : float, "auto" or "width", default "auto"
            A number > 0; ``"auto"``: n (per bundle) or n/2 (averaged) without calibration,
            the width estimate with it; ``"width"``: the width estimate
            n·tr(Σ_b (2Σ_b + σ²)⁻¹)/d of the module docstring (averaged rows only).
        origins : array_like of int, optional
            Flat grid indices of the origins to draw bundles at (default: every grid point).
            At large grids rows for every origin may not fit in memory: rows for a sub-lattice
            of about 1024 origins are what the log-partition fit uses there anyway
            (``fit_log_partition(max_origins=...)``). Measured at 128 × 128 cells, 1024 origins ×
            8 bundles (1 GiB of rows): the default fit took 340 s on one core at 3.7 GiB peak.

        Returns
        -------
        xarray.DataArray
            Dims (origin, cell), with the grid, the output kernel, the diagnostics and the
            calibration in the attrs.

        Raises
        ------
        NotFittedError
            The network has not been trained (a ``ValueError`` and a ``RuntimeError``).
        TypeError
            Arguments of the wrong type.
        ValueError
            Invalid samples, ``bundles_per_origin`` < 1 or too large, an invalid
            ``effective_temperature``, or empty origins or origins outside the grid.

        Warns
        -----
        DegeneratePosteriorWarning
            The posteriors are narrower than half a cell or wider than a quarter of the box.
        """
        from statgeo.geometry.posterior_diagnostics import (
            posterior_diagnostics,
            warn_if_degenerate,
        )
        from statgeo.provenance import config_attr

        self._require_fit()
        bundles_per_origin = check_int("bundles_per_origin", bundles_per_origin, min=1)
        ss = as_seed_sequence(seed)
        check_bool("average", average)
        if isinstance(effective_temperature, str):
            check_choice("effective_temperature", effective_temperature, ("auto", "width"))
            if effective_temperature == "width" and not average:
                raise ValueError("effective_temperature='width' applies to averaged rows (average=True)")
        else:
            check_real("effective_temperature", effective_temperature, low=0.0, low_inclusive=False, high=np.inf,
                       high_inclusive=False)
        C = self.grid.size
        use = np.arange(C) if origins is None else check_origins(origins, self.grid)
        x = self._inputs(self._check_samples(samples))
        self._check_bundle_memory(use.size * bundles_per_origin, x.shape[2:], "bundles_per_origin and grid")
        check_allocation("the bundle posteriors (origins × bundles, cells)", (use.size * bundles_per_origin, C),
                         names="bundles_per_origin and grid")
        rng = np.random.default_rng(ss)
        o = np.repeat(use, bundles_per_origin)
        p = self._predict(self._draw(x, o, rng))
        calibrated = abs(self.log_temperature) > 0.0
        attrs = {"calibration_temperature": self.temperature, "sigma": self.sigma, "bundle": self.bundle,
                 "bundles_per_origin": bundles_per_origin, "kind": self.kind, "averaged": int(average),
                 "head": self.head, "training": config_attr(self.training)}
        if not calibrated and self.head == "logits":
            attrs.update(output_kernel="gaussian_bump", output_kernel_sigma=self.sigma)
        if average:
            post = posterior_dataarray(p.reshape(use.size, bundles_per_origin, C).mean(1), self.grid, use,
                                       estimator="neural_grid", n_per_bundle=self.n,
                                       effective_temperature=self.n / 2.0, attrs=attrs)
        else:
            post = posterior_dataarray(p, self.grid, o, estimator="neural_grid", n_per_bundle=self.n,
                                       effective_temperature=float(self.n), attrs=attrs)
        if effective_temperature == "width" or (effective_temperature == "auto" and calibrated):
            post.attrs["effective_temperature"] = self._width_temperature(post)
            post.attrs["temperature_derivation"] = "n tr(Sb (2 Sb + s^2)^-1)/d, Sb = (S_avg - s^2)/2 (box units)"
            post.attrs.pop("output_kernel", None)
            post.attrs.pop("output_kernel_sigma", None)
        elif effective_temperature == "auto":
            post.attrs["temperature_derivation"] = ("n/2 (bundle average)" if average else "n (one bundle)") + (
                "; the output is the posterior convolved with the target bump (output_kernel)" if self.head == "logits"
                else "; exponential-family head: one bundle's output is softmax(n[<a, u> - Phi(u)]) exactly")
        else:
            post.attrs["effective_temperature"] = float(effective_temperature)
            post.attrs["temperature_derivation"] = "given"
        diag = posterior_diagnostics(post, self.grid)
        post.attrs["diagnostics"] = config_attr(diag)
        post.attrs["fraction_trained"] = float(self.training.get("fraction_trained", 1.0))
        warn_if_degenerate(diag, "NeuralGridPosterior.posterior")
        return post

    def _width_temperature(self, post: xr.DataArray) -> float:
        # widths in box units u ∈ [0,1]^d (σ is in box units)
        p = post.values
        mu = p @ self._u
        cov = np.einsum("rc,ci,cj->rij", p, self._u, self._u) - np.einsum("ri,rj->rij", mu, mu)
        sd = np.sqrt(np.einsum("rii->ri", cov))
        inner = ((mu - 3 * sd) >= 0).all(1) & ((mu + 3 * sd) <= 1).all(1)
        if not inner.any():
            inner = np.ones(len(p), dtype=bool)
        d = self.grid.ndim
        vals = []
        s2 = self.sigma ** 2 * np.eye(d)
        for c in cov[inner]:
            sb = (c - s2) / 2.0
            w, V = np.linalg.eigh(sb)
            sb = (V * np.maximum(w, 1e-12)) @ V.T
            vals.append(np.trace(sb @ np.linalg.inv(2 * sb + s2)) / d)
        return float(self.n * np.median(vals))
