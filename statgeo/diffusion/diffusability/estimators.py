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
means (σ/√n), paired differences (the I gap, MMSE rate) use per-sample differences
(docs/diffusability.md, "Estimators from a model"). At most :data:`MAX_MC_SAMPLES` Monte Carlo
samples per estimate and :data:`MAX_PROBES` probes per sample are accepted.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from statgeo.checks import check_allocation, check_bool, check_callable, check_choice, check_int, check_real
from statgeo.diffusion._checks import check_dict, check_scalar, check_shape, real_array
from statgeo.diffusion.diffusability.gaussian import _real_numpy, timestep_from_tau
from statgeo.progress import progress_bar, progress_disabled
from statgeo.stats import Stats

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
    "MAX_MC_SAMPLES",
    "MAX_PROBES",
]

#: model output kinds of a plain callable (see :func:`score_function`)
KINDS = ("score", "epsilon", "denoiser")
#: prediction types of a diffusers UNet
PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")

#: most Monte Carlo samples of one estimate (the standard error at this size is ~5e-4 relative)
MAX_MC_SAMPLES = 2**22

#: most Hutchinson probes per Monte Carlo sample
MAX_PROBES = 1024


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate: value ± stderr from ``n_samples`` iid terms, ``n_evals`` model calls.

    A result record filled by the estimators (build one from samples with :meth:`from_samples`).

    Parameters
    ----------
    value : float
        The mean of the per-sample terms.
    stderr : float
        Its standard error σ/√n.
    n_samples : int
        Number of iid terms.
    n_evals : int
        Model calls (forwards or JVPs) spent.
    tau : float, default nan
        The noise level the estimate refers to (for a UNet in ``"nearest"`` timestep mode the
        τ of the chosen timestep).

    Examples
    --------
    >>> e = Estimate.from_samples([1.0, 2.0, 3.0], n_evals=3, tau=0.5)
    >>> e.value, round(e.stderr, 6), round(e.z_score(1.0), 6)
    (2.0, 0.57735, 1.732051)
    """

    value: float
    stderr: float
    n_samples: int
    n_evals: int
    tau: float = float("nan")

    @classmethod
    def from_samples(cls, x: Any, n_evals: int, tau: float) -> "Estimate":
        """The mean and standard error of iid per-sample terms.

        Parameters
        ----------
        x : array_like
            1-D per-sample terms, at least 2, finite.
        n_evals : int
            Model calls spent (≥ 0).
        tau : float
            The noise level τ > 0 the terms refer to.

        Returns
        -------
        Estimate

        Raises
        ------
        TypeError
            ``x`` is not real or ``n_evals`` not an integer.
        ValueError
            Fewer than 2 terms, NaN/inf, a negative ``n_evals`` or τ ≤ 0.
        """
        x = real_array("x", x, ndim=1)
        if x.size < 2:
            raise ValueError(f"x must hold at least 2 samples for a standard error, got {x.size}")
        n_evals = check_int("n_evals", n_evals, min=0)
        tau = check_scalar("tau", tau, low=0.0, low_inclusive=False)
        return cls(float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x))), len(x), int(n_evals), float(tau))

    def z_score(self, exact: float) -> float:
        """The z-score (value − exact)/stderr against a reference value.

        Parameters
        ----------
        exact : float
            The reference value, finite.

        Returns
        -------
        float

        Raises
        ------
        TypeError
            ``exact`` is not a real number.
        ValueError
            ``exact`` is NaN/inf or not a scalar, or the estimate has a zero standard error.
        """
        exact = check_scalar("exact", exact)
        if not self.stderr > 0:
            raise ValueError(f"the z-score needs a positive standard error, the estimate has stderr={self.stderr!r}")
        return (self.value - exact) / self.stderr

    @property
    def relative_error(self) -> float:
        """stderr/|value| (inf for a zero value)."""
        return self.stderr / abs(self.value) if self.value != 0 else float("inf")

    def to_stats(self) -> Stats:
        """As a :class:`statgeo.stats.Stats` record (τ_int = ½, iid).

        Returns
        -------
        statgeo.stats.Stats
        """
        return Stats(mean=self.value, error=self.stderr, variance=self.stderr**2 * self.n_samples, tau_int=0.5, n=self.n_samples)

    def __str__(self) -> str:
        return f"{self.value:.6g} ± {self.stderr:.2g} [n={self.n_samples}, evals={self.n_evals}]"


@dataclass(frozen=True)
class DiffusabilityEstimate:
    """All estimates at one τ from the same Monte Carlo samples (see the module docstring).

    A result record filled by :func:`estimate_diffusability`.

    Parameters
    ----------
    tau : float
        The noise level.
    dim : int
        The data dimension D.
    I_score : Estimate
        I as E‖s_θ‖².
    I_denoise : Estimate
        I as (D − E‖n − ε̂‖²)/τ.
    I_gap : Estimate
        I_score − I_denoise (paired; 0 in expectation for the exact score).
    mmse : Estimate
        τD − τ² I_score.
    R : Estimate, optional
        The Fisher information rate (Hutchinson), when estimated.
    mmse_rate : Estimate, optional
        D − 2τ I_score − τ² R (paired), when R is estimated.
    n_evals : int, default 0
        Model calls spent at this τ.
    extra : dict, optional
        Further results.
    """

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

    Use :func:`score_function` to build one.

    Parameters
    ----------
    fn : callable
        ``fn(y, tau) -> s_θ(y)`` (a tensor of y's shape).
    resolve : callable, optional
        ``tau -> tau_used`` (default: τ itself); differs from the request only for a UNet in
        ``"nearest"`` timestep mode.
    module : torch.nn.Module, optional
        The wrapped network, if any.
    sample_shape : tuple of int, optional
        The sample shape the model requires, if any.

    Raises
    ------
    TypeError
        ``fn`` or ``resolve`` is not callable, or ``sample_shape`` not a shape.
    ValueError
        ``sample_shape`` has a dimension below 1.

    Examples
    --------
    >>> sf = ScoreFunction(lambda y, t: -y / (1 + t))
    >>> sf.resolve_tau(0.5), float(sf(np.array(2.0), 1.0))
    (0.5, -1.0)
    """

    def __init__(self, fn: Callable, resolve: Callable[[float], float] | None = None, module: Any = None,
                 sample_shape: tuple | None = None):
        self._fn = check_callable("fn", fn)
        self._resolve = check_callable("resolve", resolve, optional=True) or (lambda t: float(t))
        self.module = module
        self.sample_shape = None if sample_shape is None else check_shape("sample_shape", sample_shape)

    def resolve_tau(self, tau: float) -> float:
        """The noise level actually used for a requested τ.

        Parameters
        ----------
        tau : float
            The requested τ > 0.

        Returns
        -------
        float

        Raises
        ------
        TypeError
            ``tau`` is not a real number.
        ValueError
            τ ≤ 0, NaN or inf, or outside a UNet scheduler's range.
        """
        return self._resolve(check_scalar("tau", tau, low=0.0, low_inclusive=False))

    def __call__(self, y: Any, tau: float) -> Any:
        """The score s_θ(y) at noise level τ (no checks: this is the estimators' inner loop).

        Parameters
        ----------
        y : torch.Tensor
            Noised samples ``(n, *shape)``.
        tau : float
            The noise level (as returned by :meth:`resolve_tau`).

        Returns
        -------
        torch.Tensor
            s_θ(y), y's shape.
        """
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

    Conversions: ε-prediction s = −ε̂/√τ; denoiser s = (D_θ(y) − y)/τ; a UNet at timestep t
    sees x_t = √ᾱ y with ᾱ = 1/(1 + τ) (v-prediction: ε̂ = √(1−ᾱ) x_t + √ᾱ v̂).

    Parameters
    ----------
    model : callable or diffusers UNet
        A callable ``model(y, tau) -> tensor`` or a diffusers ``UNet2DModel`` /
        ``UNet2DConditionModel`` (then ``scheduler`` is required).
    kind : {"score", "epsilon", "denoiser"}, default "score"
        For callables: ``"score"`` (returns s), ``"epsilon"`` (returns ε̂), ``"denoiser"``
        (returns D_θ(y) ≈ E[x|y]).
    scheduler : object, optional
        A diffusers scheduler with ``alphas_cumprod`` (UNet only).
    timestep_mode : {"interpolate", "nearest"}, default "interpolate"
        ``"interpolate"``: fractional timestep with log τ linear between neighbours (τ exact);
        ``"nearest"``: integer timestep, τ snapped to τ_t.
    prediction_type : {"epsilon", "v_prediction", "sample"}, optional
        Default: the scheduler's ``config.prediction_type``.
    unet_kwargs : dict, optional
        Extra UNet arguments (e.g. ``encoder_hidden_states`` of batch size 1, which is
        expanded to the batch).

    Returns
    -------
    ScoreFunction

    Raises
    ------
    TypeError
        ``model`` is neither callable nor a UNet, a UNet without ``scheduler``, a scheduler
        without ``alphas_cumprod``, or ``unet_kwargs`` not a dict.
    ValueError
        An unknown ``kind``, ``timestep_mode`` or ``prediction_type``.

    Examples
    --------
    >>> sf = score_function(lambda y, t: y, kind="denoiser")  # D(y) = y: the score is 0
    >>> float(sf(np.array(3.0), 0.5))
    0.0
    """
    if isinstance(model, ScoreFunction):
        return model
    check_choice("kind", kind, KINDS)
    check_choice("timestep_mode", timestep_mode, ("nearest", "interpolate"))
    if prediction_type is not None:
        check_choice("prediction_type", prediction_type, PREDICTION_TYPES)
    check_dict("unet_kwargs", unet_kwargs)
    if scheduler is not None and getattr(scheduler, "alphas_cumprod", None) is None:
        raise TypeError("scheduler must have an alphas_cumprod attribute (a diffusers DDPM/DDIM-style scheduler)")
    if _is_diffusers_unet(model):
        if scheduler is None:
            raise TypeError("scheduler must be given for a diffusers UNet (its alphas_cumprod maps τ to timesteps)")
        pt = prediction_type or getattr(getattr(scheduler, "config", None), "prediction_type", "epsilon")
        check_choice("prediction_type", pt, PREDICTION_TYPES)
        return _unet_score(model, scheduler, timestep_mode, pt, dict(unet_kwargs or {}))
    if not callable(model):
        raise TypeError(f"model must be callable (model(y, tau)) or a diffusers UNet, got {type(model).__name__}")
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


def _check_taus(tau, name: str = "tau") -> np.ndarray:
    return np.atleast_1d(check_real(name, tau, low=0.0, low_inclusive=False)).astype(np.float64).ravel()


class _Data:
    def __init__(self, data: Any, sf: ScoreFunction, dtype):
        import torch

        self.sampler = None
        if callable(data) and not torch.is_tensor(data) and not isinstance(data, np.ndarray):
            self.sampler = data
            probe = data(2, torch.Generator().manual_seed(0))
            if not torch.is_tensor(probe):
                raise TypeError("data sampler must return a torch tensor of shape (n, *sample_shape)")
            if probe.ndim < 2 or probe.shape[0] != 2:
                raise ValueError(f"data sampler must return (n, *sample_shape) for n = 2, got shape {tuple(probe.shape)}")
            if not probe.is_floating_point() or not torch.isfinite(probe).all():
                raise ValueError("data sampler must return finite floating-point samples (got NaN, inf or integers)")
            self.shape = tuple(probe.shape[1:])
            self.dtype = probe.dtype if dtype is None else dtype
        else:
            if not torch.is_tensor(data):
                arr = _real_numpy("data", data)
                data = arr if arr.dtype.kind == "f" else arr.astype(np.float64)
            elif not data.is_floating_point():
                raise TypeError(f"data must hold floating-point samples, got dtype {data.dtype}")
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

    with _math_attention(), warnings.catch_warnings():
        # torch's forward-mode AD loads its JVP decompositions on first use through the
        # deprecated torch.jit.script (torch 2.14): a FutureWarning about torch's own code,
        # which nothing here or in the caller's code can act on
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*is deprecated", category=FutureWarning)
        s, jv = fjvp(lambda a: sf(a, tau), (y,), (v,))
    return s.detach(), jv.detach(), 1


# ----------------------------------------------------------------------------------------------
# core loop


def _run(sf, data: _Data, taus, n_samples, batch_size, seed, want_rate, n_probes, probe, jvp, fd_step, progress=False):
    """Per-sample arrays at every τ with common random numbers (same x, n for every τ)."""
    import torch

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
    pbar = progress_bar(total=len(taus) * len(batches), progress=progress, desc="diffusability")
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
             dtype=None, prediction_type=None, n_arrays=2):
    taus = _check_taus(tau)
    n_samples = check_int("n_samples", n_samples, min=2, max=MAX_MC_SAMPLES)
    batch_size = check_int("batch_size", batch_size, min=1)
    check_int("seed", seed, min=0)
    sf = score_function(model, kind, scheduler=scheduler, timestep_mode=timestep_mode, unet_kwargs=unet_kwargs,
                        prediction_type=prediction_type)
    d = _Data(data, sf, dtype)
    check_allocation("the Monte Carlo draws (samples, data + noise + probes, *shape)", (n_samples, n_arrays) + d.shape,
                     np.float64, names="n_samples and n_probes")
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
    progress: bool | None = None,
) -> list[DiffusabilityEstimate]:
    """I (two ways), their gap, R (Hutchinson), MMSE and MMSE rate at each τ.

    Formulas: I_score = E‖s_θ‖²; I_denoise = (D − E‖n − ε̂‖²)/τ; R = −E_v‖J_θ v‖²
    (Hutchinson, E[vvᵀ] = I); MMSE = τD − τ² I_score; MMSE' = D − 2τ I_score − τ² R
    (Gu et al., arXiv 2604.02751; Hutchinson 1990). The same x, n (and probes) are used at every τ.

    Parameters
    ----------
    model : callable or diffusers UNet
        See :func:`score_function`.
    data : array_like, torch.Tensor or callable
        Samples x ``(n_data, *shape)`` drawn with replacement (finite floats; lists accepted),
        or a sampler ``data(n, generator) -> tensor (n, *shape)``.
    tau : float or array_like
        τ > 0, scalar or 1-D.
    kind : {"score", "epsilon", "denoiser"}, default "score"
        What a callable model returns (:func:`score_function`).
    scheduler : object, optional
        The UNet's scheduler (:func:`score_function`).
    timestep_mode : {"interpolate", "nearest"}, default "interpolate"
        τ → UNet timestep (:func:`score_function`).
    prediction_type : str, optional
        The UNet's prediction type (:func:`score_function`).
    unet_kwargs : dict, optional
        Extra UNet arguments (:func:`score_function`).
    n_samples : int, default 1024
        Monte Carlo samples (y) per τ, in ``[2, MAX_MC_SAMPLES]``.
    batch_size : int, default 256
        Samples per model call (≥ 1).
    rate : bool, default True
        Also estimate R and the MMSE rate (one JVP per probe instead of one forward).
    n_probes : int, default 1
        Hutchinson probes per sample, in ``[1, MAX_PROBES]``.
    probe : {"rademacher", "gaussian"}, default "rademacher"
        The probe distribution.
    jvp : {"auto", "forward", "fd"}, default "auto"
        ``"forward"`` (``torch.func.jvp``), ``"fd"`` (central differences of s_θ with step
        ``fd_step·√τ``, 2 extra calls) or ``"auto"`` (forward, falling back to fd).
    fd_step : float, default 1e-3
        Relative finite-difference step (> 0).
    seed : int, default 0
        Seed of the torch generator for x, n and probes (≥ 0).
    progress : bool or None, default None
        Show a progress bar: None on a terminal only, False never, True always
        (``TQDM_DISABLE=1`` always hides it).

    Returns
    -------
    list of DiffusabilityEstimate
        One per τ (in the order given).

    Raises
    ------
    TypeError
        A model that is neither callable nor a UNet, a UNet without scheduler, data that is
        not real, or an argument of the wrong type.
    ValueError
        τ ≤ 0 or NaN, a count out of range, an unknown choice, NaN data, or a model output of
        the wrong shape or with NaN (checked on the first batch).

    Examples
    --------
    Exact score of N(0, I₂): I = 2/(1 + τ), R = −2/(1 + τ)².

    >>> import torch
    >>> sampler = lambda n, g: torch.randn((n, 2), generator=g, dtype=torch.float64)
    >>> e = estimate_diffusability(lambda y, t: -y / (1 + t), sampler, 1.0, n_samples=4000, progress=False)[0]
    >>> bool(abs(e.I_score.z_score(1.0)) < 4), e.R.value, e.n_evals  # Rademacher probes: R exact here
    (True, -0.5, 4000)
    """
    check_choice("probe", probe, ("rademacher", "gaussian"))
    check_choice("jvp", jvp, ("auto", "forward", "fd"))
    n_probes = check_int("n_probes", n_probes, min=1, max=MAX_PROBES)
    rate = check_bool("rate", rate)
    fd_step = check_scalar("fd_step", fd_step, low=0.0, low_inclusive=False)
    progress_disabled(progress)
    sf, d, taus, n_samples, batch_size = _prepare(model, data, tau, kind, scheduler, timestep_mode, unet_kwargs,
                                                 n_samples, batch_size, seed, prediction_type=prediction_type,
                                                 n_arrays=2 + (n_probes if rate else 0))
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


def _scalar_tau(tau: Any) -> None:
    if isinstance(tau, (str, bytes)) or tau is None:
        raise TypeError(f"tau must be a real number, got {tau!r:.60}")
    if np.ndim(tau) != 0:
        raise ValueError("tau must be a scalar here; use diffusability_profile for a grid")


def fisher_information(model: Any, data: Any, tau: float, **kwargs: Any) -> DiffusabilityEstimate:
    """I(τ) from a model, both as E‖s_θ‖² and (D − E‖ε − ε̂‖²)/τ, with their gap.

    One model evaluation per Monte Carlo sample.

    Parameters
    ----------
    model : callable or diffusers UNet
        See :func:`score_function`.
    data : array_like, torch.Tensor or callable
        Samples or a sampler (see :func:`estimate_diffusability`).
    tau : float
        One noise level τ > 0.
    **kwargs
        As in :func:`estimate_diffusability` (``rate`` is forced off).

    Returns
    -------
    DiffusabilityEstimate
        With ``I_score``, ``I_denoise``, ``I_gap``, ``mmse`` (``R`` is None).

    Raises
    ------
    TypeError
        As :func:`estimate_diffusability`, or an unknown keyword.
    ValueError
        A non-scalar τ, or as :func:`estimate_diffusability`.

    Examples
    --------
    >>> import torch
    >>> sampler = lambda n, g: torch.randn((n, 2), generator=g, dtype=torch.float64)
    >>> e = fisher_information(lambda y, t: -y / (1 + t), sampler, 1.0, n_samples=1000, progress=False)
    >>> e.R is None, bool(abs(e.I_score.z_score(1.0)) < 4)
    (True, True)
    """
    _scalar_tau(tau)
    kwargs["rate"] = False
    return estimate_diffusability(model, data, tau, **kwargs)[0]


def fisher_information_rate(model: Any, data: Any, tau: float, **kwargs: Any) -> Estimate:
    """R(τ) = −E_v‖J v‖² by Hutchinson probes (one JVP of the score per probe); R ≤ 0.

    Parameters
    ----------
    model : callable or diffusers UNet
        See :func:`score_function`.
    data : array_like, torch.Tensor or callable
        Samples or a sampler (see :func:`estimate_diffusability`).
    tau : float
        One noise level τ > 0.
    **kwargs
        As in :func:`estimate_diffusability` (``rate`` is forced on).

    Returns
    -------
    Estimate
        R at τ.

    Raises
    ------
    TypeError
        As :func:`estimate_diffusability`, or an unknown keyword.
    ValueError
        A non-scalar τ, or as :func:`estimate_diffusability`.

    Examples
    --------
    >>> import torch
    >>> sampler = lambda n, g: torch.randn((n, 2), generator=g, dtype=torch.float64)
    >>> r = fisher_information_rate(lambda y, t: -y / (1 + t), sampler, 1.0, n_samples=1000, progress=False)
    >>> r.value  # Rademacher probes are exact for a multiple of the identity
    -0.5
    """
    _scalar_tau(tau)
    kwargs["rate"] = True
    return estimate_diffusability(model, data, tau, **kwargs)[0].R


_FD_KEYS = ("kind", "scheduler", "timestep_mode", "unet_kwargs", "n_samples", "batch_size", "seed",
            "prediction_type", "progress")


def fisher_information_rate_fd(model: Any, data: Any, taus: Any, *, estimator: str = "score",
                               **kwargs: Any) -> tuple[np.ndarray, list[Estimate]]:
    """R(τ) by central finite differences of I on a log-τ grid, with common random numbers.

    dI/dτ at interior τ_j ≈ [I(τ_{j+1}) − I(τ_{j−1})] / (τ_j [log τ_{j+1} − log τ_{j−1}])
    (dI/dτ = τ⁻¹ dI/d log τ; second order on a geometric grid), evaluated per Monte Carlo
    sample (the same x, n at every τ), so the standard error is that of the per-sample
    difference quotients.

    Parameters
    ----------
    model : callable or diffusers UNet
        See :func:`score_function`.
    data : array_like, torch.Tensor or callable
        Samples or a sampler (see :func:`estimate_diffusability`).
    taus : array_like
        An increasing grid of at least 3 noise levels τ > 0.
    estimator : {"score", "denoise"}, default "score"
        Difference E‖s_θ‖² or (D − E‖ε − ε̂‖²)/τ.
    **kwargs
        ``kind``, ``scheduler``, ``timestep_mode``, ``unet_kwargs``, ``n_samples``,
        ``batch_size``, ``seed``, ``prediction_type``, ``progress`` as in
        :func:`estimate_diffusability` (``rate`` is ignored; other keywords are refused).

    Returns
    -------
    tuple
        ``(tau_interior, estimates)``: the interior τ and one :class:`Estimate` of R each.

    Raises
    ------
    TypeError
        An unknown keyword, or as :func:`estimate_diffusability`.
    ValueError
        Fewer than 3 or non-increasing ``taus``, an unknown estimator, or as
        :func:`estimate_diffusability`.

    Examples
    --------
    >>> import torch
    >>> sampler = lambda n, g: torch.randn((n, 2), generator=g, dtype=torch.float64)
    >>> t, r = fisher_information_rate_fd(lambda y, t: -y / (1 + t), sampler, [0.9, 1.0, 1.1], n_samples=500)
    >>> t.tolist(), bool(abs(r[0].z_score(-0.5)) < 4)
    ([1.0], True)
    """
    check_choice("estimator", estimator, ("score", "denoise"))
    kwargs.pop("rate", None)
    unknown = sorted(set(kwargs) - set(_FD_KEYS))
    if unknown:
        raise TypeError(f"fisher_information_rate_fd got unexpected keyword arguments {unknown} "
                        f"(accepted: {', '.join(_FD_KEYS)})")
    progress = kwargs.pop("progress", None)
    progress_disabled(progress)
    taus = _check_taus(taus, "taus")
    if len(taus) < 3 or not np.all(np.diff(taus) > 0):
        raise ValueError(f"taus must be an increasing grid of at least 3 values, got {taus}")
    sf, d, used, n, bs = _prepare(model, data, taus, kwargs.pop("kind", "score"), kwargs.pop("scheduler", None),
                                  kwargs.pop("timestep_mode", "interpolate"), kwargs.pop("unet_kwargs", None),
                                  kwargs.pop("n_samples", 1024), kwargs.pop("batch_size", 256), kwargs.get("seed", 0),
                                  prediction_type=kwargs.pop("prediction_type", None))
    arr, calls = _run(sf, d, used, n, bs, kwargs.get("seed", 0), False, 1, "rademacher", "auto", 1e-3, progress)
    a = arr["a" if estimator == "score" else "b"]
    out = []
    for j in range(1, len(used) - 1):
        q = (a[j + 1] - a[j - 1]) / (used[j] * (math.log(used[j + 1]) - math.log(used[j - 1])))
        out.append(Estimate.from_samples(q, n_evals=int(calls[j - 1] + calls[j + 1]), tau=used[j]))
    return used[1:-1], out


def diffusability_profile(model: Any, data: Any, taus: Any, **kwargs: Any) -> "xarray.Dataset":  # noqa: F821
    """I, R, MMSE and MMSE rate along a τ grid as an ``xarray.Dataset`` (dimension ``tau``).

    Variables (each with a ``*_stderr`` companion): ``I_score``, ``I_denoise``, ``I_gap``,
    ``R`` (Hutchinson), ``mmse``, ``mmse_rate``, and ``R_fd`` (finite differences of
    I_score on the grid; NaN at the two ends, where no central difference exists, and
    everywhere for a grid of fewer than 3 or non-increasing τ). Attributes: ``dim``,
    ``n_samples``, ``n_evals``, ``sign_convention`` and the JSON ``config``.

    Parameters
    ----------
    model : callable or diffusers UNet
        See :func:`score_function`.
    data : array_like, torch.Tensor or callable
        Samples or a sampler (see :func:`estimate_diffusability`).
    taus : array_like
        Noise levels τ > 0.
    **kwargs
        As in :func:`estimate_diffusability`.

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    TypeError
        As :func:`estimate_diffusability`, or an unknown keyword.
    ValueError
        As :func:`estimate_diffusability`.

    Examples
    --------
    >>> import torch
    >>> sampler = lambda n, g: torch.randn((n, 2), generator=g, dtype=torch.float64)
    >>> ds = diffusability_profile(lambda y, t: -y / (1 + t), sampler, [0.5, 1.0, 2.0], n_samples=200,
    ...                            progress=False)
    >>> ds.R.values.round(4).tolist()  # exact with Rademacher probes: −2/(1 + τ)²
    [-0.8889, -0.5, -0.2222]
    """
    import xarray as xr

    from statgeo.provenance import config_attr

    _check_taus(taus, "taus")
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


def _array_api_input(name: str, value: Any, **bounds: Any) -> Any:
    """Lists become NumPy arrays; every input is checked on a NumPy copy (real, finite, bounds)."""
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number or array of reals, got {value!r:.60}")
    check_real(name, _real_numpy(name, value), **bounds)
    return value


def mmse_from_fisher(tau: Any, dim: int, I: Any) -> Any:  # noqa: E741
    """MMSE(τ) = τD − τ² I(τ) (array-API: computed in the namespace of the inputs).

    Parameters
    ----------
    tau : float or array
        Noise level(s) τ > 0.
    dim : int
        The dimension D ≥ 1.
    I : float or array
        The Fisher information at τ (finite; broadcastable against ``tau``).

    Returns
    -------
    float or array

    Raises
    ------
    TypeError
        An input is not real or ``dim`` not an integer.
    ValueError
        τ ≤ 0, ``dim`` < 1, or NaN/inf.

    Examples
    --------
    >>> mmse_from_fisher(1.0, 2, 1.0)
    1.0
    """
    tau = _array_api_input("tau", tau, low=0.0, low_inclusive=False)
    dim = check_int("dim", dim, min=1)
    I = _array_api_input("I", I)  # noqa: E741
    return tau * dim - tau**2 * I


def mmse_rate_from_fisher(tau: Any, dim: int, I: Any, R: Any) -> Any:  # noqa: E741
    """dMMSE/dτ = D − 2τ I − τ² R with R = dI/dτ ≤ 0 (array-API: the inputs' namespace).

    Parameters
    ----------
    tau : float or array
        Noise level(s) τ > 0.
    dim : int
        The dimension D ≥ 1.
    I : float or array
        The Fisher information at τ (finite).
    R : float or array
        The Fisher information rate at τ (finite).

    Returns
    -------
    float or array

    Raises
    ------
    TypeError
        An input is not real or ``dim`` not an integer.
    ValueError
        τ ≤ 0, ``dim`` < 1, or NaN/inf.

    Examples
    --------
    >>> mmse_rate_from_fisher(1.0, 2, 1.0, -0.5)
    0.5
    """
    tau = _array_api_input("tau", tau, low=0.0, low_inclusive=False)
    dim = check_int("dim", dim, min=1)
    I = _array_api_input("I", I)  # noqa: E741
    R = _array_api_input("R", R)
    return dim - 2 * tau * I - tau**2 * R
