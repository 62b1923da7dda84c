"""The Table 1 baselines: Mean-as-Stat and PCA-VAE (docs/baselines.md).

Each baseline chooses a statistic s(x) ∈ R^k, then follows one principled route to the same
outputs as the main method:

1. μ(t) = E[s | t], Σ(t) = Cov[s | t] per grid point, J_μ by finite differences over the grid
   (after a light smoothing of μ), and the Gaussian-statistic Fisher metric
   g_s = J_μᵀ Σ⁻¹ J_μ (:mod:`statgeo.geometry.statistic_metric`);
2. a potential Φ with ∇²Φ ≈ g_s by sparse least squares on the grid, and ∇Φ by differences
   (:mod:`statgeo.geometry.potential_from_metric`).

Statistics:

* **Mean-as-Stat** — s(x) = mean of x over its feature dims (mean spin, mean occupation), k = 1.
  For the Ising model M/N is the exact sufficient statistic of the field direction, so the η–η
  metric component is exact up to estimation error; this is expected and not handicapped.
* **PCA** — projections on the k leading principal components (default 2) of the raw samples,
  PCA fitted on the samples pooled over the whole grid (no symmetrisation: the Z2 spin flip is
  not modded out, as in the paper).
* **VAE** — the encoder means of a small VAE (MLP encoder/decoder, latent dim 2, Bernoulli
  decoder for two-valued data, Gaussian otherwise), trained by Adam on the pooled samples on
  the CPU with a fixed seed.

The "PCA-VAE" row of Table 1 takes the better of the two variants (:func:`pick_better`:
smallest mean normalised RMSE of F and ∇F after affine alignment against the reference), i.e.
the baseline is given the benefit of the doubt.

Scale: Φ from g_s is the log-partition of *one sample*; pass ``normalisation = N`` (sites) to
compare with a log Z per site. Everything is returned in natural coordinates.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr
from statgeo.checks import check_choice, check_int, check_real
from statgeo.progress import progress_bar, progress_disabled
from statgeo.seeding import as_seed_sequence
from statgeo.provenance import config_attr
from statgeo.geometry.potential_from_metric import potential_from_metric
from statgeo.geometry.statistic_metric import statistic_metric
from statgeo.grid import ParameterGrid

__all__ = [
    "as_sample_array",
    "mean_statistic",
    "PcaStatistic",
    "VaeStatistic",
    "fit_pca",
    "fit_vae",
    "fit_pca_vae",
    "pca_statistics",
    "vae_statistics",
    "pca_vae_from_statistics",
    "statistic_baseline",
    "mean_as_stat",
    "pca_vae",
    "pick_better",
]

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ input handling
def as_sample_array(samples: Any, grid: ParameterGrid, *, sample_dim: str = "sample") -> np.ndarray:
    """Samples as an array of shape (*grid.shape, n_samples, n_features).

    Parameters
    ----------
    samples : xarray.DataArray or array_like
        A DataArray with the grid dims, ``sample_dim`` and any feature dims (e.g. ``y, x`` or
        ``site``; flattened in their order), or an array of shape
        (*grid.shape, n_samples, *feature_shape).
    grid : ParameterGrid
        The grid the samples were drawn on.
    sample_dim : str, default "sample"
        Name of the sample dim of a DataArray.

    Returns
    -------
    numpy.ndarray
        Real numbers (dtype kept), shape (*grid.shape, n_samples, n_features).

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid, ``samples`` is a Dataset or not real.
    ValueError
        Missing dims, sizes that do not match the grid, empty or non-finite samples.
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a ParameterGrid, got {type(grid).__name__}")
    if isinstance(samples, xr.Dataset):
        raise TypeError("samples must be a DataArray or array, not a Dataset (select the variable, e.g. ds['spins'])")
    if isinstance(samples, xr.DataArray):
        need = list(grid.names) + [sample_dim]
        missing = [n for n in need if n not in samples.dims]
        if missing:
            raise ValueError(f"samples lack the dims {missing}; they have {samples.dims}, need the grid dims and "
                             f"{sample_dim!r}")
        for a in grid.axes:
            if samples.sizes[a.name] != a.size:
                raise ValueError(f"samples dim {a.name!r} has size {samples.sizes[a.name]}, the grid {a.size}")
        feats = [dim for dim in samples.dims if dim not in need]
        arr = np.asarray(samples.transpose(*need, *feats).values)
    else:
        arr = np.asarray(samples)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"samples must be real numbers, got dtype {arr.dtype}")
    g = grid.shape
    if arr.ndim < len(g) + 1 or arr.shape[: len(g)] != g:
        raise ValueError(f"samples must have shape (*grid_shape, n_samples, ...) with grid shape {g}, got {arr.shape}")
    if arr.ndim == len(g) + 1:
        arr = arr[..., None]
    arr = arr.reshape(g + (arr.shape[len(g)], -1))
    if arr.shape[-1] == 0 or arr.shape[-2] == 0:
        raise ValueError(f"samples must not be empty, got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError("samples must be finite (no NaN or inf)")
    return arr


# ------------------------------------------------------------------ statistics
def mean_statistic(x: np.ndarray) -> np.ndarray:
    """The Mean-as-Stat statistic s(x) = (1/D) Σ_i x_i over the feature axis.

    Parameters
    ----------
    x : array_like
        Samples, shape (*G, n, D).

    Returns
    -------
    numpy.ndarray
        float64, shape (*G, n, 1).
    """
    return np.mean(np.asarray(x), axis=-1, keepdims=True, dtype=np.float64)


#: float64 entries per chunk of the chunked PCA passes (128 MiB): rows per chunk = this / features
_CHUNK_ENTRIES = 2**24


def _chunk_rows(D: int) -> int:
    """Rows per chunk of the PCA passes: 65 536, fewer for wide samples (≤ 128 MiB of float64)."""
    return int(max(1, min(65536, _CHUNK_ENTRIES // max(D, 1))))


def _pca_components(X: np.ndarray, k: int, seed: int | np.random.SeedSequence) -> tuple:
    """Mean and k leading principal axes of the rows of X (M, D)."""
    M, D = X.shape
    chunk = _chunk_rows(D)
    mean = np.zeros(D)
    for s in range(0, M, chunk):
        mean += X[s : s + chunk].sum(axis=0, dtype=np.float64)
    mean /= M
    if D <= 2048:
        C = np.zeros((D, D))
        for s in range(0, M, chunk):
            Xc = X[s : s + chunk].astype(np.float64) - mean
            C += Xc.T @ Xc
        lam, V = np.linalg.eigh(C / max(M - 1, 1))
        V = V[:, ::-1][:, :k]
        lam = lam[::-1][:k]
    else:  # randomised range finder (Halko, Martinsson & Tropp, SIAM Rev. 53, 217 (2011)), 3 power steps
        rng = np.random.default_rng(as_seed_sequence(seed))
        p = min(D, k + 10)
        Q = rng.standard_normal((D, p))

        def xtx(Y: np.ndarray) -> np.ndarray:
            out = np.zeros((D, Y.shape[1]))
            for s in range(0, M, chunk):
                Xc = X[s : s + chunk].astype(np.float64) - mean
                out += Xc.T @ (Xc @ Y)
            return out

        for _ in range(4):
            Q, _ = np.linalg.qr(xtx(Q))
        small = Q.T @ xtx(Q)
        lam, W = np.linalg.eigh(small)
        V = (Q @ W)[:, ::-1][:, :k]
        lam = lam[::-1][:k] / max(M - 1, 1)
    # deterministic sign: the largest-magnitude loading of each axis is positive
    sgn = np.sign(V[np.argmax(np.abs(V), axis=0), np.arange(V.shape[1])])
    sgn[sgn == 0] = 1.0
    return mean, V * sgn, lam


def _pooled(x: Any, name: str) -> np.ndarray:
    """Samples of shape (..., D) as a real (M, D) array (no copy where possible)."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be real numbers, got dtype {x.dtype}")
    if x.ndim < 2 or x.shape[-1] == 0 or x.size == 0:
        raise ValueError(f"{name} must have shape (..., n_features) with at least one sample and one feature, "
                         f"got {x.shape}")
    return x.reshape(-1, x.shape[-1])


class PcaStatistic:
    """A fitted PCA statistic s(x) = Vₖᵀ (x − x̄); made by :func:`fit_pca`.

    Attributes
    ----------
    mean : numpy.ndarray
        x̄, shape (D,).
    components : numpy.ndarray
        Vₖ, shape (D, k), orthonormal columns, the largest-magnitude loading of each positive.
    variances : numpy.ndarray
        The k leading eigenvalues of the pooled covariance, shape (k,).
    config : dict
        Settings recorded with the baseline (``variant``, ``fit_samples``).
    """

    def __init__(self, mean: np.ndarray, components: np.ndarray, variances: np.ndarray, fit_samples: int):
        self.mean, self.components, self.variances = mean, components, variances
        self.config = {"variant": "pca", "fit_samples": int(fit_samples)}

    def __call__(self, x: Any) -> np.ndarray:
        """The statistic of every sample.

        Parameters
        ----------
        x : array_like
            Samples, shape (..., D), D the fitted features.

        Returns
        -------
        numpy.ndarray
            float64, shape (..., k).

        Raises
        ------
        ValueError
            ``x`` does not have D features.
        """
        X = _pooled(x, "x")
        D, k = self.components.shape
        if X.shape[1] != D:
            raise ValueError(f"x must have {D} features (the fitted PCA's), got {X.shape[1]}")
        out = np.empty((X.shape[0], k))
        chunk = _chunk_rows(D)
        for s in range(0, X.shape[0], chunk):  # chunked: never a full float64 copy of the samples
            out[s : s + chunk] = (X[s : s + chunk].astype(np.float64) - self.mean) @ self.components
        return out.reshape(np.shape(x)[:-1] + (k,))


def fit_pca(x: Any, *, k: int = 2, seed: int | np.random.SeedSequence = 0) -> PcaStatistic:
    """The k leading principal components of pooled samples, as a statistic to apply to any sample.

    x̄ and Vₖ (top-k eigenvectors of the sample covariance): exact eigen-decomposition for
    ≤ 2048 features, randomised subspace iteration above (Halko, Martinsson & Tropp, SIAM
    Rev. 53, 217 (2011); p = k + 10 columns, 4 power steps).

    Parameters
    ----------
    x : array_like
        Samples, shape (..., D), pooled over all leading axes (e.g. (*G, n, D)).
    k : int, default 2
        Number of components, 1 ≤ k ≤ D.
    seed : int or numpy.random.SeedSequence, default 0
        Seed of the randomised solver (unused for D ≤ 2048).

    Returns
    -------
    PcaStatistic
        Call it on samples of D features.

    Raises
    ------
    TypeError
        ``x`` is not real.
    ValueError
        ``x`` is empty, or ``k`` is out of range.
    """
    X = _pooled(x, "x")
    k = check_int("k", k, min=1, max=X.shape[1])
    mean, V, lam = _pca_components(X, k, seed)
    log.info("PCA: %d pooled samples, %d features, leading variances %s", X.shape[0], X.shape[1], np.round(lam, 4))
    return PcaStatistic(mean, V, lam, X.shape[0])


def pca_statistics(x: np.ndarray, *, k: int = 2, seed: int | np.random.SeedSequence = 0) -> np.ndarray:
    """Projections on the k leading principal components of the samples pooled over the grid.

    s(x) = Vₖᵀ (x − x̄), with x̄ and Vₖ (top-k eigenvectors of the pooled covariance) fitted on all
    samples of all grid points together (:func:`fit_pca`).

    Parameters
    ----------
    x : array_like
        Samples, shape (*G, n, D) (see :func:`as_sample_array`).
    k : int, default 2
        Number of components, 1 ≤ k ≤ D.
    seed : int or numpy.random.SeedSequence, default 0
        Seed of the randomised solver (unused for D ≤ 2048).

    Returns
    -------
    numpy.ndarray
        The statistics, shape (*G, n, k).

    Raises
    ------
    ValueError
        ``x`` has fewer than 3 dims, or ``k`` is out of range.
    """
    x = np.asarray(x)
    if x.ndim < 3:
        raise ValueError(f"x must have shape (*grid_shape, n_samples, n_features), got {x.shape}")
    return fit_pca(x, k=k, seed=seed)(x)


class VaeStatistic:
    """A trained VAE encoder as a statistic s(x) = m(x), the encoder mean; made by :func:`fit_vae`.

    Attributes
    ----------
    encoder : torch.nn.Module
        D → 2·latent_dim (means, then log-variances).
    latent_dim : int
        k.
    binary : bool
        The training data were two-valued (mapped to {0, 1} by ``low``, ``high``), else
        standardised by ``loc``, ``scale`` per feature.
    config : dict
        Settings recorded with the baseline (``variant``, the training settings, ``fit_samples``).
    """

    def __init__(self, encoder: Any, latent_dim: int, binary: bool, low: float, high: float, loc: np.ndarray | None,
                 scale: np.ndarray | None, num_threads: int | None, config: dict):
        self.encoder, self.latent_dim, self.binary = encoder, latent_dim, binary
        self.low, self.high, self.loc, self.scale = low, high, loc, scale
        self.num_threads = num_threads
        self.config = config

    def normalise(self, X: np.ndarray) -> np.ndarray:
        """Samples (M, D) as the network reads them: {0, 1} for two-valued data, else standardised.

        Parameters
        ----------
        X : numpy.ndarray
            Samples, shape (M, D).

        Returns
        -------
        numpy.ndarray
            float32, shape (M, D).
        """
        out = np.empty(X.shape, np.float32)
        step = _chunk_rows(X.shape[1])  # chunked: the float64 intermediate stays ≤ 128 MiB
        for s in range(0, X.shape[0], step):
            part = X[s : s + step]
            if self.binary:
                lo, hi = self.low, self.high
                out[s : s + step] = (part - lo) / (hi - lo) if hi > lo else 0.0
            else:
                out[s : s + step] = (part - self.loc) / self.scale
        return out

    def __call__(self, x: Any, *, chunk: int | None = None) -> np.ndarray:
        """The encoder means of every sample.

        Parameters
        ----------
        x : array_like
            Samples, shape (..., D), D the trained features.
        chunk : int, optional
            Samples encoded at a time, ≥ 1 (default 65 536, fewer for wide samples: at most
            2²⁴ values, 64 MiB as float32).

        Returns
        -------
        numpy.ndarray
            float64, shape (..., latent_dim).

        Raises
        ------
        ValueError
            ``x`` does not have D features.
        """
        import torch

        X = _pooled(x, "x")
        D = self.encoder[0].in_features
        chunk = _chunk_rows(D) if chunk is None else check_int("chunk", chunk, min=1)
        if X.shape[1] != D:
            raise ValueError(f"x must have {D} features (the trained VAE's), got {X.shape[1]}")
        old = torch.get_num_threads()
        if self.num_threads is not None:
            torch.set_num_threads(self.num_threads)
        try:
            with torch.no_grad():
                means = [self.encoder(torch.as_tensor(self.normalise(X[s : s + chunk])))[:, : self.latent_dim]
                         for s in range(0, X.shape[0], chunk)]
        finally:
            torch.set_num_threads(old)
        return torch.cat(means).numpy().astype(np.float64).reshape(np.shape(x)[:-1] + (self.latent_dim,))


def fit_vae(
    x: Any,
    *,
    latent_dim: int = 2,
    hidden: int = 64,
    steps: int = 400,
    batch_size: int = 256,
    lr: float = 2e-3,
    seed: int | np.random.SeedSequence = 0,
    num_threads: int | None = 1,
    progress: bool | None = None,
) -> VaeStatistic:
    """Train a small VAE on pooled samples; its encoder mean is the statistic.

    Model (Kingma & Welling, arXiv 1312.6114): q(z | x) = N(m(x), diag exp v(x)), p(z) = N(0, I),
    MLP encoder D → hidden → hidden → 2·latent_dim and decoder latent_dim → hidden → hidden → D
    (SiLU). Two-valued data are mapped to {0, 1} with a Bernoulli decoder; other data are
    standardised per feature with a unit-variance Gaussian decoder. Loss: the negative ELBO
    (reconstruction + KL), Adam, ``steps`` minibatches of ``batch_size``, on the CPU, seeded.
    ``num_threads`` torch threads are used while training and encoding (restored afterwards;
    1 by default: for a network this small extra threads only add synchronisation overhead —
    6× slower with 2 threads on a loaded 2-core machine); ``None`` leaves torch's setting alone.

    Parameters
    ----------
    x : array_like
        Samples, shape (..., D), pooled over all leading axes.
    latent_dim : int, default 2
        Latent dimension (the statistic's k).
    hidden : int, default 64
        Width of the hidden layers.
    steps : int, default 400
        Adam steps.
    batch_size : int, default 256
        Samples per minibatch.
    lr : float, default 2e-3
        Learning rate, > 0.
    seed : int or numpy.random.SeedSequence, default 0
        Seeds the initialisation and the minibatches (torch's global generator is not touched).
    num_threads : int or None, default 1
        torch threads while training and encoding (restored afterwards); None leaves them alone.
    progress : bool or None, default None
        Progress bar over the training steps (None: on a terminal only; ``TQDM_DISABLE=1``
        hides it).

    Returns
    -------
    VaeStatistic
        Call it on samples of D features.

    Raises
    ------
    TypeError, ValueError
        Bad sizes, learning rate or thread count, or ``x`` empty or not real.
    """
    import torch

    X = _pooled(x, "x")
    latent_dim = check_int("latent_dim", latent_dim, min=1)
    hidden = check_int("hidden", hidden, min=1)
    steps = check_int("steps", steps, min=1)
    batch_size = check_int("batch_size", batch_size, min=1)
    lr = float(check_real("lr", lr, low=0.0, low_inclusive=False))
    nthreads = None if num_threads is None else check_int("num_threads", num_threads, min=1)
    progress_disabled(progress)  # a bad switch fails here, before any work
    ss = as_seed_sequence(seed)
    D = X.shape[1]
    vals = np.unique(X[: min(X.shape[0], 4096)])
    binary = bool(vals.size <= 2 and np.unique(X).size <= 2)
    lo, hi = (float(X.min()), float(X.max())) if binary else (0.0, 1.0)
    loc = scale = None
    if not binary:
        loc, sd = X.mean(axis=0), X.std(axis=0)
        scale = np.where(sd > 0, sd, 1.0)
    config = {"variant": "vae", "latent_dim": latent_dim, "hidden": hidden, "steps": steps,
              "batch_size": batch_size, "lr": lr, "fit_samples": int(X.shape[0])}
    stat = VaeStatistic(None, latent_dim, binary, lo, hi, loc, scale, nthreads, config)
    old_threads = torch.get_num_threads()
    if nthreads is not None:
        torch.set_num_threads(nthreads)
    try:
        stat.encoder = _train_vae(torch, stat.normalise(X), D, latent_dim, hidden, steps, batch_size, lr, ss,
                                  binary, progress)
    finally:
        torch.set_num_threads(old_threads)
    return stat


def vae_statistics(
    x: np.ndarray,
    *,
    latent_dim: int = 2,
    hidden: int = 64,
    steps: int = 400,
    batch_size: int = 256,
    lr: float = 2e-3,
    seed: int | np.random.SeedSequence = 0,
    num_threads: int | None = 1,
    progress: bool | None = None,
) -> np.ndarray:
    """Encoder means of a small VAE trained on the samples pooled over the grid (:func:`fit_vae`).

    Parameters
    ----------
    x : array_like
        Samples, shape (*G, n, D).
    latent_dim : int, default 2
        Latent dimension (the statistic's k).
    hidden : int, default 64
        Width of the hidden layers.
    steps : int, default 400
        Adam steps.
    batch_size : int, default 256
        Samples per minibatch.
    lr : float, default 2e-3
        Learning rate, > 0.
    seed : int or numpy.random.SeedSequence, default 0
        Seeds the initialisation and the minibatches (torch's global generator is not touched).
    num_threads : int or None, default 1
        torch threads while training (restored afterwards); None leaves them alone.
    progress : bool or None, default None
        Progress bar over the training steps (None: on a terminal only; ``TQDM_DISABLE=1``
        hides it).

    Returns
    -------
    numpy.ndarray
        The encoder means m(x), float64, shape (*G, n, latent_dim).

    Raises
    ------
    TypeError, ValueError
        Bad sizes, learning rate or thread count, or ``x`` with fewer than 3 dims.
    """
    x = np.asarray(x)
    if x.ndim < 3:
        raise ValueError(f"x must have shape (*grid_shape, n_samples, n_features), got {x.shape}")
    return fit_vae(x, latent_dim=latent_dim, hidden=hidden, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                   num_threads=num_threads, progress=progress)(x)


def _train_vae(torch, Xn, D, latent_dim, hidden, steps, batch_size, lr, ss, binary, progress=None):
    """The VAE's training loop on the normalised samples Xn (M, D); returns the encoder."""
    Xt = torch.as_tensor(np.ascontiguousarray(Xn), dtype=torch.float32)
    gen = torch.Generator().manual_seed(int(ss.generate_state(1)[0]))
    act = torch.nn.SiLU
    with torch.random.fork_rng(devices=[]):  # seeded initialisation without touching the global RNG
        torch.manual_seed(int(ss.generate_state(2)[1]))
        enc = torch.nn.Sequential(torch.nn.Linear(D, hidden), act(), torch.nn.Linear(hidden, hidden), act(),
                                  torch.nn.Linear(hidden, 2 * latent_dim))
        dec = torch.nn.Sequential(torch.nn.Linear(latent_dim, hidden), act(), torch.nn.Linear(hidden, hidden), act(),
                                  torch.nn.Linear(hidden, D))
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=lr)
    M = Xt.shape[0]
    for step in progress_bar(range(steps), desc="VAE training", progress=progress):
        idx = torch.randint(0, M, (min(batch_size, M),), generator=gen)
        xb = Xt[idx]
        h = enc(xb)
        m, logv = h[:, :latent_dim], h[:, latent_dim:].clamp(-10.0, 10.0)
        z = m + torch.exp(0.5 * logv) * torch.randn(m.shape, generator=gen)
        out = dec(z)
        if binary:
            rec = torch.nn.functional.binary_cross_entropy_with_logits(out, xb, reduction="sum") / xb.shape[0]
        else:
            rec = 0.5 * ((out - xb) ** 2).sum() / xb.shape[0]
        kl = 0.5 * (torch.exp(logv) + m**2 - 1.0 - logv).sum() / xb.shape[0]
        loss = rec + kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step == 0 or step == steps - 1:
            log.info("VAE step %d: -ELBO %.4f (rec %.4f, KL %.4f)", step, loss.item(), rec.item(), kl.item())
    return enc


# ------------------------------------------------------------------ statistic → outputs
def statistic_baseline(
    stats: np.ndarray,
    grid: ParameterGrid,
    *,
    method: str = "statistic",
    normalisation: float = 1.0,
    smooth: float = 1.0,
    shrinkage: float = 0.0,
    ridge: float = 1e-6,
    n_boot: int = 0,
    seed: int | np.random.SeedSequence = 0,
    config: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """From a per-sample statistic to Φ, ∇Φ and g_s on the grid (natural coordinates).

    g_s = J_μᵀ Σ⁻¹ J_μ (:func:`~statgeo.geometry.statistic_metric.statistic_metric`, μ smoothed
    by ``smooth`` grid cells), then Φ with ∇²Φ ≈ g_s
    (:func:`~statgeo.geometry.potential_from_metric.potential_from_metric`), and ∇Φ by
    second-order differences. Φ, ∇Φ and g are divided by ``normalisation``.

    Parameters
    ----------
    stats : array_like
        The statistics, shape (*grid.shape, n, k).
    grid : ParameterGrid
        The grid (every axis ≥ 3 points).
    method : str, default "statistic"
        Label stored in the attrs.
    normalisation : float, default 1.0
        Positive divisor (e.g. the number of sites N for a log Z per site).
    smooth : float, default 1.0
        Gaussian smoothing of μ (and Σ) in grid cells (:func:`statistic_metric`).
    shrinkage : float, default 0.0
        Shrinkage of Σ toward its diagonal, in [0, 1].
    ridge : float, default 1e-6
        Relative ridge added to Σ.
    n_boot : int, default 0
        Bootstrap replicates for ``metric_error`` (0: none).
    seed : int or numpy.random.SeedSequence, default 0
        Seed of the bootstrap.
    config : mapping, optional
        Extra settings recorded in the ``config`` attr.

    Returns
    -------
    xarray.Dataset
        ``log_z`` (grid dims), ``grad_log_z`` (grid dims, ``natural``), ``metric`` (grid dims,
        ``natural``, ``natural_``) and, with ``n_boot > 0``, ``metric_error``; attrs
        ``method``, ``config`` and ``grid``.

    Raises
    ------
    TypeError
        ``grid`` is not a ParameterGrid.
    ValueError
        An axis with fewer than 3 points, a non-positive normalisation, or bad statistics.
    """
    if not isinstance(grid, ParameterGrid):
        raise TypeError(f"grid must be a ParameterGrid, got {type(grid).__name__}")
    small = [a.name for a in grid.axes if a.size < 3]
    if small:
        raise ValueError(f"every grid axis needs at least 3 points; axes {small} have fewer")
    norm = float(check_real("normalisation", normalisation, low=0.0, low_inclusive=False))
    sm = statistic_metric(stats, grid, shrinkage=shrinkage, ridge=ridge, smooth=smooth, smooth_cov=smooth > 0,
                          n_boot=n_boot, seed=seed)
    fit = potential_from_metric(sm.metric, grid)
    nat = list(grid.natural_names)
    gd = list(grid.names)
    coords = dict(grid.coords())
    coords["natural"] = ("natural", nat)
    coords["natural_"] = ("natural_", nat)
    data = {
        "log_z": (gd, fit.potential / norm, {"long_name": f"reconstructed log-partition Φ ({method}), up to affine"}),
        "grad_log_z": (gd + ["natural"], fit.gradient / norm,
                       {"long_name": f"∇_t Φ ({method}) in natural coordinates, up to a constant"}),
        "metric": (gd + ["natural", "natural_"], sm.metric / norm,
                   {"long_name": f"Gaussian-statistic Fisher metric g_s = J_μᵀ Σ⁻¹ J_μ ({method})"}),
    }
    if sm.metric_error is not None:
        data["metric_error"] = (gd + ["natural", "natural_"], sm.metric_error / norm,
                                {"long_name": "bootstrap standard error of metric"})
    cfg = {"method": method, "normalisation": norm, "k": int(np.shape(stats)[-1]),
           "n_samples": sm.n_samples, **sm.settings, "potential_residual_rms": fit.residual_rms,
           **(dict(config) if config else {})}
    return xr.Dataset(data, coords=coords, attrs={"method": method, "config": config_attr(cfg),
                                                 "grid": grid.to_json()})


def mean_as_stat(
    samples: Any,
    grid: ParameterGrid,
    *,
    sample_dim: str = "sample",
    normalisation: float = 1.0,
    smooth: float = 1.0,
    ridge: float = 1e-6,
    n_boot: int = 0,
    seed: int | np.random.SeedSequence = 0,
) -> xr.Dataset:
    """Mean-as-Stat baseline: s(x) = mean of x over its features → g_s → Φ, ∇Φ.

    Parameters
    ----------
    samples : xarray.DataArray or array_like
        Samples on the grid (:func:`as_sample_array`).
    grid : ParameterGrid
        The grid.
    sample_dim : str, default "sample"
        Sample dim of a DataArray.
    normalisation : float, default 1.0
        Positive divisor (N for a log Z per site).
    smooth : float, default 1.0
        Smoothing in grid cells (:func:`statistic_baseline`).
    ridge : float, default 1e-6
        Relative ridge added to Σ.
    n_boot : int, default 0
        Bootstrap replicates (0: none).
    seed : int or numpy.random.SeedSequence, default 0
        Seed of the bootstrap.

    Returns
    -------
    xarray.Dataset
        As :func:`statistic_baseline`.
    """
    x = as_sample_array(samples, grid, sample_dim=sample_dim)
    return statistic_baseline(mean_statistic(x), grid, method="mean-as-stat", normalisation=normalisation,
                              smooth=smooth, ridge=ridge, n_boot=n_boot, seed=seed)


def pca_vae(
    samples: Any,
    grid: ParameterGrid,
    *,
    variants: Sequence[str] = ("pca", "vae"),
    k: int = 2,
    sample_dim: str = "sample",
    normalisation: float = 1.0,
    smooth: float = 1.0,
    shrinkage: float = 0.0,
    ridge: float = 1e-6,
    vae: Mapping[str, Any] | None = None,
    n_boot: int = 0,
    seed: int | np.random.SeedSequence = 0,
) -> dict[str, xr.Dataset]:
    """PCA-VAE baseline, both variants.

    ``pca``: s = projections on the ``k`` leading principal components (:func:`pca_statistics`);
    ``vae``: s = encoder means of a small VAE with latent dim ``k`` (:func:`vae_statistics`).
    Each then goes through :func:`statistic_baseline`. Use :func:`pick_better` for the Table 1
    row.

    Parameters
    ----------
    samples : xarray.DataArray or array_like
        Samples on the grid (:func:`as_sample_array`).
    grid : ParameterGrid
        The grid.
    variants : sequence of str, default ("pca", "vae")
        Which variants to compute.
    k : int, default 2
        Components / latent dimension, 1 ≤ k ≤ features.
    sample_dim : str, default "sample"
        Sample dim of a DataArray.
    normalisation : float, default 1.0
        Positive divisor (N for a log Z per site).
    smooth : float, default 1.0
        Smoothing in grid cells (:func:`statistic_baseline`).
    shrinkage : float, default 0.0
        Shrinkage of Σ toward its diagonal.
    ridge : float, default 1e-6
        Relative ridge added to Σ.
    vae : mapping, optional
        Extra keywords of :func:`vae_statistics`, e.g. ``{"steps": 400, "hidden": 64}``.
    n_boot : int, default 0
        Bootstrap replicates (0: none).
    seed : int or numpy.random.SeedSequence, default 0
        Seed of the PCA solver, the VAE (unless ``vae`` sets one) and the bootstrap.

    Returns
    -------
    dict of str to xarray.Dataset
        ``{"pca": ..., "vae": ...}`` (the requested variants), each as
        :func:`statistic_baseline`.

    Raises
    ------
    ValueError
        No or unknown variants, or ``k`` out of range.
    """
    vs = _check_variants(variants)
    x = as_sample_array(samples, grid, sample_dim=sample_dim)
    k = check_int("k", k, min=1, max=x.shape[-1])
    maps = fit_pca_vae(x, variants=vs, k=k, vae=vae, seed=seed)
    return pca_vae_from_statistics({v: m(x) for v, m in maps.items()}, grid,
                                   configs={v: m.config for v, m in maps.items()}, normalisation=normalisation,
                                   smooth=smooth, shrinkage=shrinkage, ridge=ridge, n_boot=n_boot, seed=seed)


def _check_variants(variants: Sequence[str]) -> tuple[str, ...]:
    vs = tuple(variants)
    if not vs:
        raise ValueError("variants must name at least one of ('pca', 'vae')")
    for v in vs:
        check_choice("variants", v, ("pca", "vae"))
    return vs


def fit_pca_vae(
    x: Any,
    *,
    variants: Sequence[str] = ("pca", "vae"),
    k: int = 2,
    vae: Mapping[str, Any] | None = None,
    seed: int | np.random.SeedSequence = 0,
) -> dict[str, PcaStatistic | VaeStatistic]:
    """The PCA-VAE statistics fitted on pooled samples, to apply to any samples.

    For samples too many to hold at once: fit on a subset, then apply the statistics a block
    at a time and pass them to :func:`pca_vae_from_statistics` (:func:`pca_vae` does all three
    on samples in memory).

    Parameters
    ----------
    x : array_like
        Samples, shape (..., D), pooled over all leading axes.
    variants : sequence of str, default ("pca", "vae")
        Which statistics to fit.
    k : int, default 2
        Components / latent dimension, 1 ≤ k ≤ D.
    vae : mapping, optional
        Extra keywords of :func:`fit_vae`, e.g. ``{"steps": 400, "hidden": 64}``.
    seed : int or numpy.random.SeedSequence, default 0
        Seed of the PCA solver and of the VAE (unless ``vae`` sets one).

    Returns
    -------
    dict of str to PcaStatistic or VaeStatistic
        One fitted statistic per variant.

    Raises
    ------
    TypeError, ValueError
        No or unknown variants, ``k`` out of range, ``x`` empty or not real.
    """
    vs = _check_variants(variants)
    X = _pooled(x, "x")
    k = check_int("k", k, min=1, max=X.shape[1])
    vae_opts = dict(vae or {})
    vae_opts.setdefault("seed", seed)
    return {v: fit_pca(X, k=k, seed=seed) if v == "pca" else fit_vae(X, latent_dim=k, **vae_opts) for v in vs}


def pca_vae_from_statistics(
    statistics: Mapping[str, np.ndarray],
    grid: ParameterGrid,
    *,
    configs: Mapping[str, Mapping[str, Any]] | None = None,
    normalisation: float = 1.0,
    smooth: float = 1.0,
    shrinkage: float = 0.0,
    ridge: float = 1e-6,
    n_boot: int = 0,
    seed: int | np.random.SeedSequence = 0,
) -> dict[str, xr.Dataset]:
    """PCA-VAE baseline from its per-sample statistics (:func:`fit_pca_vae` applied to the samples).

    Parameters
    ----------
    statistics : mapping of str to array_like
        Per variant (``"pca"``, ``"vae"``) the statistics, shape (*grid.shape, n, k).
    grid : ParameterGrid
        The grid.
    configs : mapping of str to mapping, optional
        Per variant the settings recorded in its ``config`` attr (the fitted statistic's ``config``).
    normalisation : float, default 1.0
        Positive divisor (N for a log Z per site).
    smooth : float, default 1.0
        Smoothing in grid cells (:func:`statistic_baseline`).
    shrinkage : float, default 0.0
        Shrinkage of Σ toward its diagonal.
    ridge : float, default 1e-6
        Relative ridge added to Σ.
    n_boot : int, default 0
        Bootstrap replicates (0: none).
    seed : int or numpy.random.SeedSequence, default 0
        Seed of the bootstrap.

    Returns
    -------
    dict of str to xarray.Dataset
        Per variant, as :func:`statistic_baseline` (method ``pca-vae:<variant>``).

    Raises
    ------
    ValueError
        No or unknown variants, or statistics not on the grid.
    """
    vs = _check_variants(list(statistics))
    configs = dict(configs or {})
    return {v: statistic_baseline(statistics[v], grid, method=f"pca-vae:{v}", normalisation=normalisation,
                                  smooth=smooth, shrinkage=shrinkage, ridge=ridge, n_boot=n_boot, seed=seed,
                                  config=dict(configs.get(v, {"variant": v})))
            for v in vs}


def pick_better(
    candidates: Mapping[str, xr.Dataset],
    reference: Any,
    grid: ParameterGrid,
    *,
    margin: int = 0,
) -> tuple[str, xr.Dataset, dict[str, float]]:
    """The candidate closest to the reference: smallest mean normalised RMSE of F and ∇F.

    Measured in natural coordinates after affine alignment
    (:func:`validation.error_measures.reconstruction_errors`). Choosing with the reference
    favours the baseline, deliberately (docs/baselines.md).

    Parameters
    ----------
    candidates : mapping of str to xarray.Dataset
        E.g. the output of :func:`pca_vae`.
    reference : xarray.Dataset or mapping of arrays
        The reference (``log_z``, ``grad_log_z``).
    grid : ParameterGrid
        The grid.
    margin : int, default 0
        Cells excluded at every edge of the box.

    Returns
    -------
    name : str
        The better candidate.
    dataset : xarray.Dataset
        Its Dataset.
    scores : dict of str to float
        The score of every candidate.

    Raises
    ------
    ValueError
        No candidates.
    """
    from validation.error_measures import reconstruction_errors

    if not candidates:
        raise ValueError("candidates must not be empty")
    scores = {}
    for name, ds in candidates.items():
        res = reconstruction_errors(reference, ds, grid, margin=margin, physical=False)
        vals = [r["nrmse"] for r in res["records"] if r["coords"] == "natural" and not r["quantity"].startswith("g[")]
        scores[name] = float(np.mean(vals))
    best = min(scores, key=scores.get)
    return best, candidates[best], scores
