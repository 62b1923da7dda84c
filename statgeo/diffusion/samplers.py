"""The samplers the diffusion adapter runs: names ↔ diffusers scheduler classes ↔ noise behaviour.

One registry (:data:`SAMPLERS`) is the only place that says which diffusers schedulers the
adapter supports. :func:`build_scheduler` turns a saved scheduler configuration into a
scheduler: ``"auto"`` keeps the saved class when it is supported, an explicit name converts
with ``<Class>.from_config(saved_config)``; anything else is a ``ValueError`` naming the
supported samplers (never a silent substitution).

**Noise rule** (docs/diffusion.md, "Models and samplers the adapter takes"): point i of a batch
owns a CPU ``torch.Generator().manual_seed(seeds[i])`` and every random draw a stochastic
sampler makes for that point comes from that generator, in order
(:func:`point_generators`; ``scheduler.step(..., generator=[g_0, …, g_{n-1}])`` draws one
batch element per generator with diffusers' ``randn_tensor``). DDIM with η > 0 keeps its own
per-point rule: the variance noise of all steps of a point is drawn up front from that
point's generator and passed as ``variance_noise``. A point's image therefore never depends
on which other points share its batch. Deterministic samplers ignore seeds.

Nothing here imports diffusers at module level: classes are resolved by name when needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from statgeo.diffusion._checks import check_int_sequence
from statgeo.diffusion.slices import MAX_SEED

__all__ = [
    "Sampler",
    "SAMPLERS",
    "SUPPORTED_SCHEDULERS",
    "MAX_INFERENCE_STEPS",
    "build_scheduler",
    "sampler_name",
    "is_deterministic",
    "point_generators",
]

#: most denoising steps accepted (the training schedules of SD-class models have 1000 steps)
MAX_INFERENCE_STEPS = 1000


@dataclass(frozen=True)
class Sampler:
    """One supported sampler.

    Parameters
    ----------
    name : str
        The name used by :class:`~statgeo.diffusion.pipeline.PipelineSpec` and the CLI.
    class_name : str
        The diffusers scheduler class.
    deterministic : bool
        Whether it draws no noise with its default settings (see :func:`is_deterministic`
        for the settings that make it stochastic).
    family : str
        ``"diffusion"`` (the model predicts noise, v or x₀) or ``"flow"`` (the model predicts
        a velocity, flow matching). Converting across families is refused: the model's
        output would be read as the wrong quantity.
    """

    name: str
    class_name: str
    deterministic: bool
    family: str


#: the samplers the adapter supports, by name
SAMPLERS: dict[str, Sampler] = {s.name: s for s in (
    Sampler("ddim", "DDIMScheduler", True, "diffusion"),
    Sampler("dpmsolver_multistep", "DPMSolverMultistepScheduler", True, "diffusion"),
    Sampler("euler", "EulerDiscreteScheduler", True, "diffusion"),
    Sampler("flow_match_euler", "FlowMatchEulerDiscreteScheduler", True, "flow"),
    Sampler("ddpm", "DDPMScheduler", False, "diffusion"),
    Sampler("euler_ancestral", "EulerAncestralDiscreteScheduler", False, "diffusion"),
)}

#: the sampler names :func:`build_scheduler` accepts (besides ``"auto"``)
SUPPORTED_SCHEDULERS = tuple(SAMPLERS)

_BY_CLASS = {s.class_name: s for s in SAMPLERS.values()}


def _supported_text() -> str:
    return ", ".join(f"{s.name!r} ({s.class_name})" for s in SAMPLERS.values())


def _class_name_of(scheduler: Any) -> str:
    if isinstance(scheduler, dict):
        name = scheduler.get("_class_name")
        if not isinstance(name, str):
            raise ValueError("the saved scheduler configuration has no '_class_name' (not a diffusers scheduler config)")
        return name
    return type(scheduler).__name__


def sampler_name(scheduler: Any) -> str:
    """The registry name of a scheduler (an instance or a saved configuration dict).

    Parameters
    ----------
    scheduler : diffusers scheduler or dict
        A scheduler instance or its configuration (with ``_class_name``).

    Returns
    -------
    str
        One of :data:`SUPPORTED_SCHEDULERS`.

    Raises
    ------
    ValueError
        The scheduler's class is not supported (the message names the supported ones).
    """
    cls = _class_name_of(scheduler)
    if cls not in _BY_CLASS:
        raise ValueError(f"unsupported scheduler {cls}: the supported samplers are {_supported_text()}; "
                         "choose one by name (PipelineSpec(scheduler=...), CLI --scheduler)")
    return _BY_CLASS[cls].name


def is_deterministic(scheduler: Any, eta: float = 0.0) -> bool:
    """Whether a supported scheduler draws no noise with these settings.

    DDIM is deterministic at η = 0; DPMSolverMultistep is stochastic with an ``sde-*``
    ``algorithm_type``; flow-match Euler with ``stochastic_sampling=True``.

    Parameters
    ----------
    scheduler : diffusers scheduler
        A scheduler of a supported class.
    eta : float, default 0.0
        DDIM η.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        The scheduler is not supported.
    """
    name = sampler_name(scheduler)
    cfg = getattr(scheduler, "config", {})
    get = cfg.get if isinstance(cfg, dict) else (lambda k, d=None: getattr(cfg, k, d))
    if name == "ddim":
        return eta == 0
    if name == "dpmsolver_multistep":
        return not str(get("algorithm_type", "dpmsolver++")).startswith("sde")
    if name == "flow_match_euler":
        return not bool(get("stochastic_sampling", False))
    return SAMPLERS[name].deterministic


def build_scheduler(name: str, saved: Any) -> Any:
    """The scheduler to sample with, from the saved one.

    Parameters
    ----------
    name : str
        ``"auto"`` (use the saved scheduler if its class is supported) or one of
        :data:`SUPPORTED_SCHEDULERS` (convert with ``<Class>.from_config(saved_config)``).
    saved : diffusers scheduler or dict
        The scheduler saved with the model, or its configuration (with ``_class_name``).

    Returns
    -------
    diffusers scheduler
        A new scheduler of the requested class (never the ``saved`` object itself).

    Raises
    ------
    ValueError
        ``name`` is not ``"auto"`` or a supported name; ``"auto"`` and the saved class is not
        supported; or the conversion crosses families (a flow-matching model sampled with a
        noise-prediction sampler or the other way round).
    """
    import diffusers

    if not isinstance(name, str) or (name != "auto" and name not in SAMPLERS):
        raise ValueError(f"scheduler must be 'auto' or one of {list(SUPPORTED_SCHEDULERS)}, got {name!r}")
    config = dict(saved) if isinstance(saved, dict) else dict(saved.config)
    config.setdefault("_class_name", _class_name_of(saved))
    saved_cls = config["_class_name"]
    if name == "auto":
        try:
            target = SAMPLERS[sampler_name(config)]
        except ValueError as e:
            raise ValueError(f"scheduler='auto' but the model's saved scheduler is {saved_cls}, which is not "
                             f"supported: pass one of {list(SUPPORTED_SCHEDULERS)} to convert it "
                             f"(supported samplers: {_supported_text()})") from e
    else:
        target = SAMPLERS[name]
        saved_family = _BY_CLASS[saved_cls].family if saved_cls in _BY_CLASS else (
            "flow" if saved_cls.startswith("FlowMatch") else "diffusion")
        if saved_family != target.family:
            raise ValueError(f"scheduler={name!r} cannot sample this model: its saved scheduler {saved_cls} is a "
                             f"{saved_family} sampler and {target.class_name} a {target.family} one (a "
                             "flow-matching model predicts a velocity, a diffusion model noise, v or x0)")
    return getattr(diffusers, target.class_name).from_config(config)


def point_generators(seeds: Sequence[int], n: int) -> list:
    """One CPU ``torch.Generator`` per point, seeded with its seed (the noise rule).

    Parameters
    ----------
    seeds : sequence of int
        One seed per point, each in ``[0, MAX_SEED]``.
    n : int
        The batch size ``len(seeds)`` must equal.

    Returns
    -------
    list of torch.Generator

    Raises
    ------
    TypeError
        ``seeds`` is not a sequence of integers.
    ValueError
        A seed out of range or ``len(seeds) != n``.
    """
    import torch

    seeds = check_int_sequence("seeds", seeds, min=0, max=MAX_SEED)
    if len(seeds) != n:
        raise ValueError(f"seeds must give one noise seed per latent, got {len(seeds)} for {n} latents")
    return [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
