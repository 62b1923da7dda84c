"""Neural grid posterior (the paper's choice for physics models), in PyTorch.

A network reads a bundle of n samples and outputs logits over all grid cells; softmax over
cells; trained by cross-entropy against a smoothed one-hot target, a Gaussian bump of width σ
(box units, default 1/50) around the true cell (geometry.md, "Posterior estimators", 2).

Architecture (free in the spec; chosen for CPU cost): a per-sample encoder — 2-D CNN with
circular padding for periodic lattices, 1-D CNN with zero padding for open chains (TASEP), or an
MLP for feature vectors — then mean pooling over the bundle (permutation invariant) and an MLP
head giving C logits.

Bundles: ``"origin"`` — n samples drawn at the origin; ``"neighbours"`` — the paper's: pick 4
of the (up to 8) nearest neighbouring grid points of the origin and draw the n samples from
them (uniformly among the 4); the label is the origin.

Effective temperature: with cross-entropy against a bump of variance σ² (per box axis), the
optimum is the bundle posterior convolved with the bump, of covariance Σ_b + σ²; averaged over
bundles Σ_avg = 2Σ_b + σ² (Gaussian approximation). If the network extracted all information,
Σ_b = (n g)⁻¹ and n_eff = n tr(Σ_b (2Σ_b + σ²)⁻¹)/d with Σ_b estimated from the measured
average width as (Σ_avg − σ²)/2; → n/2 as σ → 0. A network that extracts less information is
wider; that cannot be seen from the widths alone (see the KL diagnostic and the fitted scale).
"""

from __future__ import annotations

import copy
import logging
import math
from typing import Any

import numpy as np
import xarray as xr

from statgeo.checks import check_choice, check_int, check_real
from statgeo.seeding import as_seed_sequence
from statgeo.geometry.posterior import check_grid, posterior_dataarray
from statgeo.grid import ParameterGrid

__all__ = ["NeuralGridPosterior"]

log = logging.getLogger(__name__)


def _torch():
    import torch

    return torch


def _build_net(kind: str, sample_shape: tuple[int, ...], n_cells: int, channels: int, hidden: int,
               encoder: str = "full"):
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

    enc = {"lattice2d": Encoder2D, "chain1d": Encoder1D, "vector": EncoderVec}[kind]()
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

    return Net()


class NeuralGridPosterior:
    """Permutation-invariant network giving a posterior over grid cells from a bundle of samples.

    Parameters
    ----------
    grid : the parameter grid (cells = ``grid.points()`` in C order).
    n_per_bundle : samples per bundle n.
    kind : ``"lattice2d"`` (periodic 2-D lattices, circular padding), ``"chain1d"`` (open 1-D
        chains, zero padding) or ``"vector"`` (feature vectors).
    bundle : ``"origin"`` (default) or ``"neighbours"`` (the paper's: 4 of the 8 neighbours).
    sigma : width of the Gaussian target bump in box units (default 1/50).
    channels, hidden : network size.
    seed : initialisation, splits and bundle draws.
    encoder : ``"full"`` (default) or ``"strided"`` (``lattice2d`` only): the first 3×3 conv has
        stride 2, so the encoder runs at ¼ and ¹⁄₁₆ of the lattice sites instead of 1 and ¼ —
        about 3× cheaper per step on 32×32 lattices. The overlapping 3×3 windows at stride 2
        still contain every nearest-neighbour pair, so energy-like statistics stay available.
    """

    def __init__(self, grid: ParameterGrid, n_per_bundle: int, *, kind: str = "lattice2d", bundle: str = "origin",
                 sigma: float = 1.0 / 50.0, channels: int = 16, hidden: int = 128,
                 seed: int | np.random.SeedSequence = 0, encoder: str = "full") -> None:
        self.grid = check_grid(grid)
        self.n = check_int("n_per_bundle", n_per_bundle, min=1)
        self.kind = check_choice("kind", kind, ("lattice2d", "chain1d", "vector"))
        self.bundle = check_choice("bundle", bundle, ("origin", "neighbours"))
        self.sigma = float(check_real("sigma", sigma, low=0.0, low_inclusive=False, high=1.0))
        self.channels = check_int("channels", channels, min=1)
        self.hidden = check_int("hidden", hidden, min=1)
        self.encoder = check_choice("encoder", encoder, ("full", "strided"))
        if self.encoder == "strided" and self.kind != "lattice2d":
            raise ValueError(f"encoder='strided' needs kind='lattice2d', got kind={kind!r}")
        self._ss = as_seed_sequence(seed)
        self.net = None
        self.log_temperature = 0.0
        self.history: dict[str, list] = {}
        self.val_origins = np.array([], dtype=np.int64)
        P = grid.points()
        self._u = (P - P.min(0)) / (P.max(0) - P.min(0))  # box units [0, 1]^d
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

    def _check_samples(self, samples: Any) -> np.ndarray:
        if isinstance(samples, xr.DataArray):
            if "sample" not in samples.dims or not set(self.grid.names) <= set(samples.dims):
                raise ValueError(f"samples must have dims {self.grid.names} + ('sample', ...), got {samples.dims}")
            rest = [d for d in samples.dims if d not in self.grid.names and d != "sample"]
            samples = samples.transpose(*self.grid.names, "sample", *rest).values
            samples = samples.reshape((self.grid.size, samples.shape[len(self.grid.names)]) + samples.shape[len(self.grid.names) + 1:])
        x = np.asarray(samples, dtype=np.float32)
        want = {"lattice2d": 4, "chain1d": 3, "vector": 3}[self.kind]
        if x.ndim != want or x.shape[0] != self.grid.size:
            raise ValueError(f"samples must have shape ({self.grid.size}, samples, ...) with {want} dims for "
                             f"kind={self.kind!r}, got {x.shape}")
        if x.shape[1] < 1:
            raise ValueError("samples must hold at least one sample per origin")
        if not np.isfinite(x).all():
            raise ValueError("samples must be finite (no NaN or inf)")
        return x

    def _draw(self, x: np.ndarray, origins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A bundle (n samples) per origin: (B, n, *sample_shape)."""
        B, S = origins.size, x.shape[1]
        if self.bundle == "origin":
            src = np.repeat(origins[:, None], self.n, 1)
        else:
            src = np.empty((B, self.n), dtype=np.int64)
            for b, o in enumerate(origins):
                nb = self._neigh[o]
                chosen = rng.choice(nb, size=min(4, nb.size), replace=False)
                src[b] = rng.choice(chosen, size=self.n)
        return x[src, rng.integers(0, S, size=src.shape)]

    def _targets(self, origins: np.ndarray) -> np.ndarray:
        d2 = ((self._u[origins][:, None, :] - self._u[None, :, :]) ** 2).sum(-1)
        t = np.exp(-0.5 * d2 / self.sigma ** 2)
        return t / t.sum(1, keepdims=True)

    def target_kernel(self) -> np.ndarray:
        """The training targets as a (C, C) row-stochastic matrix S (row t: the bump around cell t).

        Cross-entropy against these targets is minimised by q(c | b) = Σ_t p(t | b) S[t, c], the
        bundle posterior convolved with the bump, so ``fit_log_partition(..., target_smoothing=S)``
        can model the network's output exactly instead of correcting its width afterwards.
        """
        return self._targets(np.arange(self.grid.size))

    # ------------------------------------------------------------------ training
    def fit(self, samples: Any, *, steps: int = 1000, batch_size: int = 32, lr: float = 2e-3,
            validation_fraction: float = 0.15, eval_every: int = 50, patience: int = 6,
            val_bundles: int = 2, calibrate: bool = True, lr_schedule: str = "constant") -> "NeuralGridPosterior":
        """Train on samples (grid.size, S, *sample_shape) (or a DataArray with the grid dims + ``sample``).

        Cross-entropy against the smoothed target; Adam; a held-out set of grid points
        (``validation_fraction``) for early stopping (best weights restored); then, if
        ``calibrate``, temperature scaling of the logits on held-out bundles against the
        true (hard) labels (Guo et al. 2017). ``lr_schedule``: ``"constant"`` (default) or
        ``"cosine"`` (lr·½(1 + cos(π·step/steps)), annealed over the full step budget).
        """
        torch = _torch()
        x = self._check_samples(samples)
        steps = check_int("steps", steps, min=1)
        batch_size = check_int("batch_size", batch_size, min=1)
        lr = float(check_real("lr", lr, low=0.0, low_inclusive=False))
        check_choice("lr_schedule", lr_schedule, ("constant", "cosine"))
        validation_fraction = float(check_real("validation_fraction", validation_fraction, low=0.0, high=0.9,
                                               low_inclusive=False))
        rng = np.random.default_rng(self._ss.spawn(1)[0])
        torch.manual_seed(int(self._ss.generate_state(1)[0] % 2**31))
        C = self.grid.size
        n_val = max(1, int(round(validation_fraction * C)))
        perm = rng.permutation(C)
        self.val_origins, train_o = np.sort(perm[:n_val]), perm[n_val:]
        self.net = _build_net(self.kind, tuple(x.shape[2:]), C, self.channels, self.hidden, self.encoder)
        # smoothed targets of every cell, computed once (C × C float32) instead of per batch
        table = torch.as_tensor(self.target_kernel(), dtype=torch.float32) if C <= 8192 else None

        def targets(o: np.ndarray):
            if table is not None:
                return table[torch.as_tensor(o)]
            return torch.as_tensor(self._targets(o), dtype=torch.float32)

        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        sched = (torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1.0 + math.cos(math.pi * k / steps)))
                 if lr_schedule == "cosine" else None)
        vo = np.repeat(self.val_origins, val_bundles)
        vx = torch.as_tensor(self._draw(x, vo, rng))
        vt = targets(vo)
        hist = {"step": [], "train": [], "validation": [], "lr": []}
        best = (math.inf, None)
        bad = 0
        from tqdm.auto import tqdm

        run = 0.0
        for step in tqdm(range(1, steps + 1), desc="neural posterior", leave=False):
            self.net.train()
            o = rng.choice(train_o, size=batch_size)
            xb = torch.as_tensor(self._draw(x, o, rng))
            tb = targets(o)
            loss = -(tb * torch.log_softmax(self.net(xb), -1)).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            run += float(loss.detach())
            if step % eval_every == 0 or step == steps:
                self.net.eval()
                with torch.no_grad():
                    vl = float(-(vt * torch.log_softmax(self.net(vx), -1)).sum(-1).mean())
                hist["step"].append(step)
                hist["train"].append(run / eval_every)
                hist["validation"].append(vl)
                hist["lr"].append(float(opt.param_groups[0]["lr"]))
                run = 0.0
                if vl < best[0]:
                    best, bad = (vl, copy.deepcopy(self.net.state_dict())), 0
                else:
                    bad += 1
                    if bad >= patience:
                        log.info("NeuralGridPosterior: early stopping at step %d", step)
                        break
        if best[1] is not None:
            self.net.load_state_dict(best[1])
        self.net.eval()
        self.history = hist
        self.log_temperature = 0.0
        if calibrate:
            self.calibrate(x, vx=vx, vo=vo)
        return self

    def calibrate(self, samples: Any, *, vx=None, vo=None, bundles: int = 4,
                  origins: np.ndarray | None = None) -> float:
        """Temperature scaling: T* = argmin_T −mean ln softmax(logits / T)[true cell] on held-out bundles.

        ``origins`` (flat grid indices) whose bundles are used; default: the validation grid
        points of :meth:`fit`. Pass every grid point when ``samples`` are held-out samples that
        were not used in training.
        """
        torch = _torch()
        self._require_fit()
        if vx is None:
            x = self._check_samples(samples)
            rng = np.random.default_rng(self._ss.spawn(2)[1])
            use = self.val_origins if origins is None else np.asarray(origins, dtype=np.int64)
            if use.size == 0 or use.min() < 0 or use.max() >= self.grid.size:
                raise ValueError(f"origins must be non-empty flat grid indices in [0, {self.grid.size - 1}]")
            vo = np.repeat(use, bundles)
            vx = torch.as_tensor(self._draw(x, vo, rng))
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
            raise RuntimeError("NeuralGridPosterior must be fitted first (call .fit(samples))")

    # ------------------------------------------------------------------ inference
    def sample_features(self, samples: Any, *, chunk: int = 64) -> np.ndarray:
        """Per-sample features of the trained encoder (before bundle pooling): a learned embedding.

        samples : (grid.size, S, *sample_shape) → features (grid.size, S, F), float64.
        """
        torch = _torch()
        self._require_fit()
        x = self._check_samples(samples)
        C, S = x.shape[:2]
        with torch.no_grad():
            f = torch.cat([self.net.enc(torch.as_tensor(x[i:i + chunk].reshape((-1,) + x.shape[2:])))
                           for i in range(0, C, chunk)])
        return f.double().numpy().reshape(C, S, -1)

    def predict_bundles(self, bundles: Any) -> np.ndarray:
        """Posterior over cells of each bundle: (B, n, *sample_shape) → (B, C) (calibrated)."""
        torch = _torch()
        self._require_fit()
        xb = torch.as_tensor(np.asarray(bundles, dtype=np.float32))
        out = []
        with torch.no_grad():
            for s in range(0, xb.shape[0], 256):
                out.append(torch.softmax(self.net(xb[s:s + 256]) / self.temperature, -1).double().numpy())
        return np.concatenate(out, 0)

    def posterior(self, samples: Any, *, bundles_per_origin: int = 8, seed: int = 1,
                  effective_temperature: float | str = "width") -> xr.DataArray:
        """Bundle posteriors averaged per origin, labelled (origin, cell).

        ``effective_temperature``: a number, or ``"width"`` (default; see the module docstring).
        """
        self._require_fit()
        x = self._check_samples(samples)
        bundles_per_origin = check_int("bundles_per_origin", bundles_per_origin, min=1)
        rng = np.random.default_rng(as_seed_sequence(seed))
        C = self.grid.size
        o = np.repeat(np.arange(C), bundles_per_origin)
        p = self.predict_bundles(self._draw(x, o, rng)).reshape(C, bundles_per_origin, C).mean(1)
        attrs = {"calibration_temperature": self.temperature, "sigma": self.sigma, "bundle": self.bundle,
                 "bundles_per_origin": bundles_per_origin, "kind": self.kind}
        post = posterior_dataarray(p, self.grid, np.arange(C), estimator="neural_grid", n_per_bundle=self.n,
                                   effective_temperature=self.n / 2.0, attrs=attrs)
        if isinstance(effective_temperature, str):
            check_choice("effective_temperature", effective_temperature, ("width",))
            post.attrs["effective_temperature"] = self._width_temperature(post)
            post.attrs["temperature_derivation"] = "n tr(Sb (2 Sb + s^2)^-1)/d, Sb = (S_avg - s^2)/2 (box units)"
        else:
            post.attrs["effective_temperature"] = float(check_real("effective_temperature", effective_temperature,
                                                                   low=0.0, low_inclusive=False))
            post.attrs["temperature_derivation"] = "given"
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
