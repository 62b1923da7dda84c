"""Monte Carlo estimators of I(τ), R(τ), MMSE(τ) and the MMSE rate from a model.

A *model* is either a plain callable ``model(y, tau) -> tensor`` (``kind`` = ``"score"``,
``"epsilon"`` or ``"denoiser"``, y-parametrisation y = x + √τ n) or a diffusers UNet
(``UNet2DModel`` / ``UNet2DConditionModel``) with its scheduler (ε-, v- or sample-prediction).
Conversions (Gu et al., arXiv 2604.02751; Kingma et al. 2021 for v):

* ε-prediction:  s = −ε̂/√τ;  denoiser: s = (D_θ(y) − y)/τ
* UNet at timestep t: x_t = √ᾱ y with ᾱ = 1/(1 + τ); v-prediction ε̂ = √(1−ᾱ) x_t + √ᾱ v̂;
  sample-prediction is a denoiser.

Per Monte Carlo sample (x from the data, n ~ N(0, I), y = x + √τ n) one call gives

* ``I_score``   = ‖s_θ(y)‖²                                (E = I if s_θ = s)
* ``I_denoise`` = (D − ‖n − ε̂‖²)/τ with ε̂ = −√τ s_θ       (E = I − E‖s_θ − s‖²)
* ``R``         = −‖J v‖², J = ∂s_θ/∂y, v a probe with E[vvᵀ] = I (Hutchinson; for an exact
  score J = H is symmetric and E = −‖H‖_F² = dI/dτ). One Jacobian-vector product (forward-mode
  ``torch.func.jvp``, which also returns s_θ) per probe.

Sign convention: R = dI/dτ ≤ 0 everywhere in statgeo. Errors are standard errors of iid
means (σ/√n), paired differences (the I gap, MMSE rate) use per-sample differences.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from statgeo.checks import check_choice, check_int, check_real
from statgeo.stats import Stats
from statgeo.diffusion.diffusability.gaussian import timestep_from_tau

logger = logging.getLogger(__name__)

__all__ = [
    "Estimate",
    "DiffusabilityEstimate",
    "ScoreFunction",
    "score_function",
    "fisher_information",
    "fisher_information_rate",
    "fisher_information_rate_fd",
    "estimate_diffusability",
    "diffusability_profile",
    "mmse_from_fisher",
    "mmse_rate_from_fisher",
]

KINDS = ("score", "epsilon", "denoiser")
PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate: value ± stderr from ``n_samples`` iid terms, ``n_evals`` model calls.

    ``tau`` is the noise level the estimate refers to (for a UNet in ``"nearest"`` timestep mode
    the τ of the chosen timestep).
    """

    value: float
    stderr: float
    n_samples: int
    n_evals: int
    tau: float = float("nan")

    @classmethod
    def from_samples(cls, x: np.ndarray, n_evals: int, tau: float) -> "Estimate":
        x = np.asarray(x, dtype=np.float64)
        return cls(float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x))), len(x), int(n_evals), float(tau))

    def z_score(self, exact: float) -> float:
        """(value − exact)/stderr."""
        return (self.value - exact) / self.stderr

    @property
    def relative_error(self) -> float:
        """stderr/|value|."""
        return self.stderr / abs(self.value) if self.value != 0 else float("inf")

    def to_stats(self) -> Stats:
        """As a :class:`statgeo.stats.Stats` record (τ_int = ½, iid)."""
        return Stats(mean=self.value, error=self.stderr, variance=self.stderr**2 * self.n_samples, tau_int=0.5, n=self.n_samples)

    def __str__(self) -> str:
        return f"{self.value:.6g} ± {self.stderr:.2g} [n={self.n_samples}, evals={self.n_evals}]"


@dataclass(frozen=True)
class DiffusabilityEstimate:
    """All estimates at one τ from the same Monte Carlo samples (see module docstring)."""

    tau: float
    dim: int
    I_score: Estimate
    I_denoise: Estimate
    I_gap: Estimate  # I_score − I_denoise, paired
    mmse: Estimate  # τD − τ² I_score
    R: Estimate | None = None
    mmse_rate: Estimate | None = None  # D − 2τ I_score − τ² R, paired
    n_evals: int = 0
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# model adapters


class ScoreFunction:
    """Uniform view of a model as a score s_θ(y) in the y = x + √τ n parametrisation.

    Use :func:`score_function` to build one. ``resolve_tau(tau)`` returns the τ actually used
    (differs from the request only for a UNet in ``"nearest"`` mode); ``__call__(y, tau)``
    returns s_θ(y) with y's shape.
    """

    def __init__(self, fn: Callable, resolve: Callable[[float], float] | None = None, module: Any = None,
                 sample_shape: tuple | None = None):
        self._fn = fn
        self._resolve = resolve or (lambda t: float(t))
        self.module = module
        self.sample_shape = sample_shape

    def resolve_tau(self, tau: float) -> float:
        return self._resolve(tau)

    def __call__(self, y, tau: float):
        return self._fn(y, tau)


def _is_diffusers_unet(model: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    if not isinstance(model, torch.nn.Module):
        return False
    names = {c.__name__ for c in type(model).__mro__}
    return bool(names & {"UNet2DModel", "UNet2DConditionModel"})


def score_function(
    model: Any,
    kind: str = "score",
    *,
    scheduler: Any = None,
    timestep_mode: str = "interpolate",
    prediction_type: str | None = None,
    unet_kwargs: dict | None = None,
) -> ScoreFunction:
    """Wrap a model as a score function s_θ(y) (y = x + √τ n).

    Parameters
    ----------
    model : a callable ``model(y, tau) -> tensor`` or a diffusers ``UNet2DModel`` /
        ``UNet2DConditionModel`` (then ``scheduler`` is required).
    kind : for callables: ``"score"`` (returns s), ``"epsilon"`` (returns ε̂, s = −ε̂/√τ),
        ``"denoiser"`` (returns D_θ(y) ≈ E[x|y], s = (D_θ − y)/τ).
    scheduler : diffusers scheduler with ``alphas_cumprod`` (UNet only).
    timestep_mode : ``"interpolate"`` (default: fractional timestep with log τ linear between
        neighbours; τ exact) or ``"nearest"`` (integer timestep, τ snapped to τ_t).
    prediction_type : ``"epsilon"``, ``"v_prediction"`` or ``"sample"``; default the
        scheduler's ``config.prediction_type``.
    unet_kwargs : extra UNet arguments (e.g. ``encoder_hidden_states`` of batch size 1, which
        is expanded to the batch).
    """
    if isinstance(model, ScoreFunction):
        return model
    if _is_diffusers_unet(model):
        if scheduler is None:
            raise TypeError("scheduler must be given for a diffusers UNet (its alphas_cumprod maps τ to timesteps)")
        check_choice("timestep_mode", timestep_mode, ("nearest", "interpolate"))
        pt = prediction_type or getattr(getattr(scheduler, "config", None), "prediction_type", "epsilon")
        check_choice("prediction_type", pt, PREDICTION_TYPES)
        return _unet_score(model, scheduler, timestep_mode, pt, dict(unet_kwargs or {}))
    if not callable(model):
        raise TypeError(f"model must be callable (model(y, tau)) or a diffusers UNet, got {type(model).__name__}")
    check_choice("kind", kind, KINDS)
    if kind == "score":
        return ScoreFunction(lambda y, t: model(y, t))
    if kind == "epsilon":
        return ScoreFunction(lambda y, t: -model(y, t) / math.sqrt(t))
    return ScoreFunction(lambda y, t: (model(y, t) - y) / t)


def _unet_score(unet, scheduler, mode: str, pred: str, kw: dict) -> ScoreFunction:
    import torch

    cache: dict[float, float] = {}

    def resolve(tau: float) -> float:
        ts, tu = timestep_from_tau(scheduler, tau, mode=mode)
        cache[float(tu)] = float(ts)
        return float(tu)

    def fn(y, tau: float):
        if tau not in cache:
            resolve(tau)
        t = cache[tau]
        ab = 1.0 / (1.0 + tau)
        xt = math.sqrt(ab) * y
        extra = {}
        for k, v in kw.items():
            if torch.is_tensor(v) and v.shape[0] == 1 and y.shape[0] != 1:
                v = v.expand(y.shape[0], *v.shape[1:])
            extra[k] = v
        tt = torch.full((y.shape[0],), t, dtype=torch.float32)
        out = unet(xt.to(unet.dtype), tt, **extra).sample.to(y.dtype)
        if out.shape[1] == 2 * y.shape[1]:  # learned-variance models: first half is the mean part
            out = out[:, : y.shape[1]]
        if pred == "epsilon":
            eps = out
        elif pred == "v_prediction":
            eps = math.sqrt(1 - ab) * xt + math.sqrt(ab) * out
        else:
            return (out - y) / tau
        return -eps / math.sqrt(tau)

    shape = (unet.config.in_channels, unet.config.sample_size, unet.config.sample_size) if isinstance(
        unet.config.sample_size, int) else None
    return ScoreFunction(fn, resolve, module=unet, sample_shape=shape)


# ----------------------------------------------------------------------------------------------
# data and checks


def _check_taus(tau) -> np.ndarray:
    return np.atleast_1d(check_real("tau", tau, low=0.0, low_inclusive=False)).astype(np.float64).ravel()


class _Data:
    def __init__(self, data: Any, sf: ScoreFunction, dtype):
        import torch

        self.sampler = None
        if callable(data) and not torch.is_tensor(data) and not isinstance(data, np.ndarray):
            self.sampler = data
            probe = data(2, torch.Generator().manual_seed(0))
            if not torch.is_tensor(probe):
                raise TypeError("data sampler must return a torch tensor of shape (n, *sample_shape)")
            self.shape = tuple(probe.shape[1:])
            self.dtype = probe.dtype if dtype is None else dtype
        else:
            x = torch.as_tensor(np.asarray(data) if isinstance(data, (np.ndarray, list)) else data)
            if x.ndim < 2 or x.shape[0] < 1:
                raise ValueError(f"data must have shape (n_samples, *sample_shape), got {tuple(x.shape)}")
            if not torch.isfinite(x).all():
                raise ValueError("data must be finite (no NaN or inf)")
            self.x = x if dtype is None else x.to(dtype)
            self.shape = tuple(x.shape[1:])
            self.dtype = self.x.dtype
        if sf.sample_shape is not None and self.shape != tuple(sf.sample_shape):
            raise ValueError(f"data samples have shape {self.shape} but the UNet expects {tuple(sf.sample_shape)}")
        self.dim = int(np.prod(self.shape))

    def draw(self, n: int, gen):
        import torch

        if self.sampler is not None:
            x = self.sampler(n, gen).to(self.dtype)
            if tuple(x.shape) != (n, *self.shape):
                raise ValueError(f"data sampler returned shape {tuple(x.shape)}, expected {(n, *self.shape)}")
        else:
            idx = torch.randint(0, self.x.shape[0], (n,), generator=gen)
            x = self.x[idx]
        noise = torch.randn((n, *self.shape), generator=gen, dtype=self.dtype)
        return x, noise


def _check_output(s, y, tau: float) -> None:
    import torch

    if tuple(s.shape) != tuple(y.shape):
        raise ValueError(f"model output has shape {tuple(s.shape)}, expected the input shape {tuple(y.shape)}")
    if not torch.isfinite(s).all():
        raise ValueError(f"model returned non-finite values (NaN/inf) at tau={tau:g}")


@contextlib.contextmanager
def _math_attention():
    """Forward-mode AD needs the math SDPA kernel (flash/efficient CPU kernels lack JVP rules)."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        with sdpa_kernel(SDPBackend.MATH):
            yield
    except ImportError:  # pragma: no cover
        yield


def _probe(shape, probe: str, gen, dtype):
    import torch

    if probe == "rademacher":
        return (torch.randint(0, 2, shape, generator=gen) * 2 - 1).to(dtype)
    return torch.randn(shape, generator=gen, dtype=dtype)


def _score_and_jvp(sf: ScoreFunction, y, tau: float, v, jvp: str, fd_step: float):
    import torch

    if jvp == "fd":
        with torch.no_grad():
            s = sf(y, tau)
            h = fd_step * math.sqrt(tau)
            jv = (sf(y + h * v, tau) - sf(y - h * v, tau)) / (2 * h)
        return s, jv, 3
    from torch.func import jvp as fjvp

    with _math_attention():
        s, jv = fjvp(lambda a: sf(a, tau), (y,), (v,))
    return s.detach(), jv.detach(), 1


# ----------------------------------------------------------------------------------------------
# core loop


def _run(sf, data: _Data, taus, n_samples, batch_size, seed, want_rate, n_probes, probe, jvp, fd_step, progress=False):
    """Per-sample arrays at every τ with common random numbers (same x, n for every τ)."""
    import torch
    from tqdm.auto import tqdm

    D = data.dim
    out = {k: np.empty((len(taus), n_samples)) for k in ("a", "b")}
    if want_rate:
        out["c"] = np.empty((len(taus), n_samples))
    n_calls = np.zeros(len(taus), dtype=np.int64)
    gen = torch.Generator().manual_seed(int(seed))
    batches = [(i, min(batch_size, n_samples - i)) for i in range(0, n_samples, batch_size)]
    draws = [data.draw(m, gen) for _, m in batches]
    probes = [[_probe((m, *data.shape), probe, gen, data.dtype) for _ in range(n_probes)] for _, m in batches] if want_rate else None
    jvp_mode = jvp
    pbar = tqdm(total=len(taus) * len(batches), desc="diffusability", disable=not progress)
    for j, tau in enumerate(taus):
        st = math.sqrt(tau)
        for bi, ((i, m), (x, noise)) in enumerate(zip(batches, draws)):
            y = x + st * noise
            if want_rate:
                cs = []
                for v in probes[bi]:
                    try:
                        s, jv, calls = _score_and_jvp(sf, y, tau, v, "fd" if jvp_mode == "fd" else "forward", fd_step)
                    except (RuntimeError, NotImplementedError) as exc:
                        if jvp_mode != "auto":
                            raise
                        logger.info("forward-mode JVP failed (%s); falling back to finite differences", exc)
                        jvp_mode = "fd"
                        s, jv, calls = _score_and_jvp(sf, y, tau, v, "fd", fd_step)
                    n_calls[j] += calls * m
                    _check_output(s, y, tau)
                    if not torch.isfinite(jv).all():
                        raise ValueError(f"model Jacobian-vector product is non-finite at tau={tau:g}")
                    cs.append(-(jv.double() ** 2).reshape(m, -1).sum(1))
                out["c"][j, i : i + m] = torch.stack(cs).mean(0).numpy()
            else:
                with torch.no_grad():
                    s = sf(y, tau)
                n_calls[j] += m
                _check_output(s, y, tau)
            s64 = s.double().reshape(m, -1)
            out["a"][j, i : i + m] = (s64**2).sum(1).numpy()
            eps_hat = -st * s64
            out["b"][j, i : i + m] = ((D - ((noise.double().reshape(m, -1) - eps_hat) ** 2).sum(1)) / tau).numpy()
            pbar.update(1)
    pbar.close()
    return out, n_calls


def _prepare(model, data, tau, kind, scheduler, timestep_mode, unet_kwargs, n_samples, batch_size, seed,
             dtype=None, prediction_type=None):
    taus = _check_taus(tau)
    n_samples = check_int("n_samples", n_samples, min=2)
    batch_size = check_int("batch_size", batch_size, min=1)
    check_int("seed", seed, min=0)
    sf = score_function(model, kind, scheduler=scheduler, timestep_mode=timestep_mode, unet_kwargs=unet_kwargs,
                        prediction_type=prediction_type)
    d = _Data(data, sf, dtype)
    used = np.array([sf.resolve_tau(float(t)) for t in taus])
    return sf, d, used, n_samples, batch_size


def estimate_diffusability(
    model: Any,
    data: Any,
    tau,
    *,
    kind: str = "score",
    scheduler: Any = None,
    timestep_mode: str = "interpolate",
    prediction_type: str | None = None,
    unet_kwargs: dict | None = None,
    n_samples: int = 1024,
    batch_size: int = 256,
    rate: bool = True,
    n_probes: int = 1,
    probe: str = "rademacher",
    jvp: str = "auto",
    fd_step: float = 1e-3,
    seed: int = 0,
    progress: bool = False,
) -> list[DiffusabilityEstimate]:
    """I (two ways), their gap, R (Hutchinson), MMSE and MMSE rate at each τ.

    Formulas: I_score = E‖s_θ‖²; I_denoise = (D − E‖n − ε̂‖²)/τ; R = −E_v‖J_θ v‖²
    (Hutchinson, E[vvᵀ] = I); MMSE = τD − τ² I_score; MMSE' = D − 2τ I_score − τ² R
    (Gu et al., arXiv 2604.02751; Hutchinson 1990). The same x, n (and probes) are used at every τ.

    Parameters
    ----------
    model, kind, scheduler, timestep_mode, prediction_type, unet_kwargs : see :func:`score_function`.
    data : samples x, tensor/array (n_data, *shape) drawn with replacement, or a sampler
        ``data(n, generator) -> tensor (n, *shape)``.
    tau : τ > 0, scalar or 1-D array.
    n_samples : Monte Carlo samples (y) per τ; batch_size : samples per model call.
    rate : also estimate R and the MMSE rate (one JVP per probe instead of one forward).
    n_probes, probe : Hutchinson probes per sample, ``"rademacher"`` or ``"gaussian"``.
    jvp : ``"forward"`` (``torch.func.jvp``), ``"fd"`` (central differences of s_θ with step
        ``fd_step·√τ``, 2 extra calls) or ``"auto"`` (forward, falling back to fd).
    seed : seed of the torch generator for x, n and probes.

    Returns
    -------
    list of :class:`DiffusabilityEstimate`, one per τ (in the order given).
    """
    check_choice("probe", probe, ("rademacher", "gaussian"))
    check_choice("jvp", jvp, ("auto", "forward", "fd"))
    n_probes = check_int("n_probes", n_probes, min=1)
    sf, d, taus, n_samples, batch_size = _prepare(model, data, tau, kind, scheduler, timestep_mode, unet_kwargs,
                                                 n_samples, batch_size, seed, prediction_type=prediction_type)
    arr, calls = _run(sf, d, taus, n_samples, batch_size, seed, rate, n_probes, probe, jvp, fd_step, progress)
    D = d.dim
    res = []
    for j, t in enumerate(taus):
        ne = int(calls[j])
        a, b = arr["a"][j], arr["b"][j]
        kw = dict(n_evals=ne, tau=t)
        R = mr = None
        if rate:
            c = arr["c"][j]
            R = Estimate.from_samples(c, **kw)
            mr = Estimate.from_samples(D - 2 * t * a - t**2 * c, **kw)
        res.append(DiffusabilityEstimate(
            tau=float(t), dim=D,
            I_score=Estimate.from_samples(a, **kw),
            I_denoise=Estimate.from_samples(b, **kw),
            I_gap=Estimate.from_samples(a - b, **kw),
            mmse=Estimate.from_samples(t * D - t**2 * a, **kw),
            R=R, mmse_rate=mr, n_evals=ne,
        ))
    return res


def fisher_information(model: Any, data: Any, tau: float, **kwargs) -> DiffusabilityEstimate:
    """I(τ) from a model, both as E‖s_θ‖² and (D − E‖ε − ε̂‖²)/τ, with their gap.

    One model evaluation per Monte Carlo sample. Keyword arguments as in
    :func:`estimate_diffusability` (``rate`` is forced off). Returns a
    :class:`DiffusabilityEstimate` with ``I_score``, ``I_denoise``, ``I_gap``, ``mmse``.
    """
    if np.ndim(tau) != 0:
        raise ValueError("tau must be a scalar here; use diffusability_profile for a grid")
    kwargs["rate"] = False
    return estimate_diffusability(model, data, tau, **kwargs)[0]


def fisher_information_rate(model: Any, data: Any, tau: float, **kwargs) -> Estimate:
    """R(τ) = −E_v‖J v‖² by Hutchinson probes (one JVP of the score per probe); R ≤ 0."""
    if np.ndim(tau) != 0:
        raise ValueError("tau must be a scalar here; use diffusability_profile for a grid")
    kwargs["rate"] = True
    return estimate_diffusability(model, data, tau, **kwargs)[0].R


def fisher_information_rate_fd(model: Any, data: Any, taus, *, estimator: str = "score", **kwargs):
    """R(τ) by central finite differences of I on a log-τ grid, common random numbers.

    dI/dτ at interior τ_j ≈ [I(τ_{j+1}) − I(τ_{j−1})] / (τ_j [log τ_{j+1} − log τ_{j−1}])
    (dI/dτ = τ⁻¹ dI/d log τ; second order on a geometric grid), evaluated per Monte Carlo
    sample (the same x, n at every τ), so the standard error is that of the per-sample
    difference quotients. The grid must be increasing with ≥ 3 points.

    Parameters
    ----------
    estimator : ``"score"`` (difference E‖s_θ‖²) or ``"denoise"`` ((D − E‖ε − ε̂‖²)/τ).

    Returns
    -------
    (tau_interior, list of :class:`Estimate`).
    """
    check_choice("estimator", estimator, ("score", "denoise"))
    taus = _check_taus(taus)
    if len(taus) < 3 or not np.all(np.diff(taus) > 0):
        raise ValueError(f"taus must be an increasing grid of at least 3 values, got {taus}")
    kwargs["rate"] = False
    sf, d, used, n, bs = _prepare(model, data, taus, kwargs.pop("kind", "score"), kwargs.pop("scheduler", None),
                                  kwargs.pop("timestep_mode", "interpolate"), kwargs.pop("unet_kwargs", None),
                                  kwargs.pop("n_samples", 1024), kwargs.pop("batch_size", 256), kwargs.get("seed", 0),
                                  prediction_type=kwargs.pop("prediction_type", None))
    arr, calls = _run(sf, d, used, n, bs, kwargs.get("seed", 0), False, 1, "rademacher", "auto", 1e-3)
    a = arr["a" if estimator == "score" else "b"]
    out = []
    for j in range(1, len(used) - 1):
        q = (a[j + 1] - a[j - 1]) / (used[j] * (math.log(used[j + 1]) - math.log(used[j - 1])))
        out.append(Estimate.from_samples(q, n_evals=int(calls[j - 1] + calls[j + 1]), tau=used[j]))
    return used[1:-1], out


def diffusability_profile(model: Any, data: Any, taus, **kwargs):
    """I, R, MMSE and MMSE rate along a τ grid as an ``xarray.Dataset`` (dimension ``tau``).

    Variables (each with a ``*_stderr`` companion): ``I_score``, ``I_denoise``, ``I_gap``,
    ``R`` (Hutchinson), ``R_fd`` (finite differences of I_score on the grid, NaN at the ends),
    ``mmse``, ``mmse_rate``. Attributes: ``dim``, ``n_samples``, ``n_evals`` and the JSON
    ``config``. Keyword arguments as in :func:`estimate_diffusability`.
    """
    import xarray as xr

    from statgeo.provenance import config_attr

    ests = estimate_diffusability(model, data, taus, **kwargs)
    t = np.array([e.tau for e in ests])
    data_vars = {}
    for name in ("I_score", "I_denoise", "I_gap", "mmse", "R", "mmse_rate"):
        vals = [getattr(e, name) for e in ests]
        if vals[0] is None:
            continue
        data_vars[name] = ("tau", np.array([v.value for v in vals]))
        data_vars[name + "_stderr"] = ("tau", np.array([v.stderr for v in vals]))
    rfd = np.full(len(t), np.nan)
    if len(t) >= 3 and np.all(np.diff(t) > 0):
        I = data_vars["I_score"][1]
        rfd[1:-1] = (I[2:] - I[:-2]) / (t[1:-1] * (np.log(t[2:]) - np.log(t[:-2])))
    data_vars["R_fd"] = ("tau", rfd)
    ds = xr.Dataset(data_vars, coords={"tau": ("tau", t, {"long_name": "noise level τ", "units": "1"})})
    cfg = {k: v for k, v in kwargs.items() if isinstance(v, (int, float, str, bool, type(None)))}
    ds.attrs.update(dim=ests[0].dim, n_samples=ests[0].I_score.n_samples, n_evals=int(sum(e.n_evals for e in ests)),
                    config=config_attr(cfg), sign_convention="R = dI/dtau <= 0")
    return ds


def mmse_from_fisher(tau, dim: int, I):
    """MMSE(τ) = τD − τ² I(τ) (array-API; any namespace)."""
    return tau * dim - tau**2 * I


def mmse_rate_from_fisher(tau, dim: int, I, R):
    """dMMSE/dτ = D − 2τ I − τ² R with R = dI/dτ ≤ 0 (array-API; any namespace)."""
    return dim - 2 * tau * I - tau**2 * R
