"""Latent → image generators: the protocol, loading a local diffusers model, and wrappers.

Every generator follows :class:`LatentGenerator`: it maps a batch of initial latents
(torch tensor ``(n, *latent_shape)``) and one integer noise seed per point to images in
[0, 1] (``(n, channel, y, x)``, float) and optionally the final latents.

* :func:`load_generator` (or a :class:`PipelineSpec`, its picklable recipe) loads a local
  model — a ``DiffusionPipeline.save_pretrained`` directory, a component directory or a
  single-file checkpoint (:mod:`statgeo.diffusion.model_loading`) — into a
  :class:`~statgeo.diffusion.unet_generator.UNetGenerator` (pixel or latent space;
  unconditional, class- or text-conditional; any sampler of
  :mod:`statgeo.diffusion.samplers`);
* :class:`~statgeo.diffusion.pipeline_generator.PipelineGenerator` wraps any diffusers
  pipeline whose ``__call__`` accepts ``latents=``;
* :class:`CallableGenerator` wraps any ``f(latents) -> images``.

Stochastic samplers follow one per-point noise rule (:mod:`statgeo.diffusion.samplers`), so
the image of a point does not depend on which other points share its batch.

Nothing is downloaded: components are loaded with ``local_files_only=True`` and
``HF_HUB_OFFLINE=1`` is set before diffusers is imported (docs/diffusion.md, "Models and
samplers the adapter takes"; docs/conventions.md, "offline").
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from statgeo.checks import check_callable, check_choice, check_int
from statgeo.diffusion._checks import (
    check_dict,
    check_path,
    check_scalar,
    check_shape,
    check_str,
    check_torch_device,
)
from statgeo.diffusion._tensor_checks import (
    _check_embeds,
    _check_images,
    _check_latents,
)
from statgeo.diffusion.pipeline_generator import PipelineGenerator
from statgeo.diffusion.samplers import MAX_INFERENCE_STEPS, SUPPORTED_SCHEDULERS
from statgeo.diffusion.slices import _torch_dtype
from statgeo.diffusion.unet_generator import DiffusionGenerator, UNetGenerator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger(__name__)

__all__ = [
    "LatentGenerator",
    "CallableGenerator",
    "UNetGenerator",
    "DiffusionGenerator",
    "PipelineGenerator",
    "PipelineSpec",
    "load_generator",
    "SUPPORTED_SCHEDULERS",
    "MAX_INFERENCE_STEPS",
]


@runtime_checkable
class LatentGenerator(Protocol):
    """The generator interface: a latent batch → images in [0, 1] (and optionally final latents).

    Parameters
    ----------
    *args, **kwargs : Any
        None: a Protocol describes an interface (checked with ``isinstance``) and is not
        instantiated.

    Attributes
    ----------
    latent_shape : tuple of int
        The shape of one latent (without the batch dimension).
    dtype : torch.dtype
        The dtype latents are cast to before the model sees them.
    """

    latent_shape: tuple[int, ...]
    dtype: Any

    def __call__(self, latents: Any, seeds: Sequence[int] | None = None) -> tuple[Any, Any]:
        """Generate images for a batch of latents.

        Parameters
        ----------
        latents : torch.Tensor
            Shape ``(n, *latent_shape)``.
        seeds : sequence of int, optional
            One noise seed per latent (used by stochastic samplers).

        Returns
        -------
        tuple
            ``(images, final_latents)``: images ``(n, channel, y, x)`` in [0, 1] and the final
            latents (or None).
        """
        ...

    def config(self) -> dict:
        """The generator's provenance record (JSON-serialisable, with ``latent_shape``).

        Returns
        -------
        dict
        """
        ...



class CallableGenerator:
    """Wrap any callable ``f(latents) -> images`` (torch or NumPy, float in [0, 1] or uint8).

    Parameters
    ----------
    fn : callable
        Takes a batch ``(n, *latent_shape)`` (a torch tensor in ``dtype``) and returns images
        ``(n, C, y, x)``: floats in [0, 1] (clipped) or uint8 in [0, 255].
    latent_shape : sequence of int
        Shape of one latent.
    dtype : str or torch.dtype, default "float64"
        The dtype latents are cast to before ``fn`` sees them.
    name : str, default ""
        Recorded in the configuration (default: ``fn``'s name).

    Raises
    ------
    TypeError
        ``fn`` is not callable, ``latent_shape`` not a sequence of integers, ``name`` not a
        string.
    ValueError
        A latent dimension below 1 or an unknown ``dtype``.

    Examples
    --------
    >>> import torch
    >>> gen = CallableGenerator(lambda z: torch.sigmoid(z[:, :3]), (4, 2, 2))
    >>> im, _ = gen(torch.zeros(1, 4, 2, 2))
    >>> tuple(im.shape), float(im.max())
    ((1, 3, 2, 2), 0.5)
    """

    def __init__(self, fn: Callable, latent_shape: Sequence[int], dtype: Any = "float64", name: str = "") -> None:
        self.fn = check_callable("fn", fn)
        self.latent_shape = check_shape("latent_shape", latent_shape)
        self.dtype = _torch_dtype(dtype)
        check_str("name", name)
        self.name = name or getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, latents: Any, seeds: Sequence[int] | None = None) -> tuple[Any, None]:
        """Images of a batch of latents (``seeds`` is ignored: ``fn`` is deterministic).

        Parameters
        ----------
        latents : array_like or torch.Tensor
            Shape ``(n, *latent_shape)``, finite.
        seeds : sequence of int, optional
            Ignored.

        Returns
        -------
        tuple
            ``(images, None)`` with images a float64 tensor ``(n, C, y, x)`` in [0, 1].

        Raises
        ------
        TypeError
            ``latents`` is not an array of real numbers.
        ValueError
            A latent shape mismatch, non-finite latents, or ``fn`` returned something other
            than a finite ``(n, C, y, x)`` batch.
        """
        import torch

        latents = _check_latents(latents, self.latent_shape).to(self.dtype)
        img = self.fn(latents)
        img = torch.as_tensor(np.asarray(img) if not isinstance(img, torch.Tensor) else img)
        if img.dtype == torch.uint8:
            img = img.double() / 255.0
        _check_images(img, latents.shape[0], f"the output of fn {self.name!r}")
        return img.double().clamp(0, 1), None

    def config(self) -> dict:
        """The generator's provenance record.

        Returns
        -------
        dict
            ``kind``, ``name``, ``dtype`` and ``latent_shape``.
        """
        return {"kind": "callable", "name": self.name, "dtype": str(self.dtype).replace("torch.", ""),
                "latent_shape": list(self.latent_shape)}



@dataclass
class PipelineSpec:
    """A picklable recipe for a generator over a local diffusers model (what a Dask worker loads once).

    What the model needs is found when it is loaded (:func:`load_generator`): a
    text-conditional UNet needs ``prompt`` (encoded once with the model's own text encoder) or
    ``prompt_embeds``, and with guidance ``negative_embeds`` or a text encoder for
    ``negative_prompt``; a class-conditional UNet needs ``class_label``; other UNets refuse
    both. The settings are checked at construction; whether ``path`` exists is checked by
    :meth:`validate` when the generator is loaded (on the machine that loads it).

    Parameters
    ----------
    path : str
        A local model: a directory written by ``DiffusionPipeline.save_pretrained`` (with
        ``model_index.json``), a component directory (``unet/``, ``scheduler/``, optionally
        ``vae/`` or ``vqvae/``, ``text_encoder/`` and ``tokenizer/``) or a single-file
        checkpoint (``.safetensors``/``.ckpt``, loaded with
        ``StableDiffusionPipeline.from_single_file``).
    prompt : str, optional
        The text prompt (text-conditional UNets only).
    prompt_embeds : array_like, optional
        Text embeddings ``(1, seq, dim)`` instead of ``prompt``.
    negative_prompt : str, default ""
        The negative prompt (encoded when guidance needs it and no ``negative_embeds`` given).
    negative_embeds : array_like, optional
        Unconditional embeddings ``(1, seq, dim)``.
    guidance_scale : float, default 7.5
        Classifier-free guidance scale ≥ 0 (text-conditional UNets; used when > 1).
    num_inference_steps : int, default 50
        Denoising steps in ``[1, MAX_INFERENCE_STEPS]``.
    eta : float, default 0.0
        DDIM η in [0, 1] (must be 0 for the other samplers).
    scheduler : str, default "auto"
        ``"auto"`` (the scheduler saved with the model, if it is supported) or one of
        :data:`SUPPORTED_SCHEDULERS` (converted with ``<Class>.from_config`` of the saved
        configuration and recorded in the generator's ``config()``).
    class_label : int, optional
        The class of a class-conditional UNet (checked against its ``num_class_embeds`` at
        load time).
    device : str, default "cpu"
        Torch device.
    dtype : str, default "float32"
        Model precision.
    extra : dict, optional
        Passed to ``from_single_file`` (single files only; offline, diffusers needs the
        pipeline layout locally: e.g. ``extra={"config": "<local diffusers dir>"}`` or
        ``{"original_config": "<local v1-inference.yaml>"}``).

    Raises
    ------
    TypeError
        A field of the wrong type.
    ValueError
        An unknown scheduler, η > 0 with an explicit sampler other than DDIM, non-finite
        embeddings, or a setting out of range.
    """

    path: str
    prompt: str | None = None
    prompt_embeds: Any = None
    negative_prompt: str = ""
    negative_embeds: Any = None
    guidance_scale: float = 7.5
    num_inference_steps: int = 50
    eta: float = 0.0
    scheduler: str = "auto"
    class_label: int | None = None
    device: str = "cpu"
    dtype: str = "float32"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = check_path("path", self.path)
        if self.prompt is not None:
            check_str("prompt", self.prompt)
        check_str("negative_prompt", self.negative_prompt)
        for name in ("prompt_embeds", "negative_embeds"):
            if getattr(self, name) is not None:
                _check_embeds(name, getattr(self, name), None)
        check_choice("scheduler", self.scheduler, ("auto",) + SUPPORTED_SCHEDULERS)
        if self.class_label is not None:
            self.class_label = check_int("class_label", self.class_label, min=0)
        check_scalar("guidance_scale", self.guidance_scale, low=0.0)
        check_int("num_inference_steps", self.num_inference_steps, min=1, max=MAX_INFERENCE_STEPS)
        check_scalar("eta", self.eta, low=0.0, high=1.0)
        if self.eta > 0 and self.scheduler not in ("auto", "ddim"):
            raise ValueError(f"eta={self.eta} applies to the DDIM sampler only, not scheduler={self.scheduler!r}")
        check_torch_device("device", self.device)
        _torch_dtype(self.dtype)
        check_dict("extra", self.extra, optional=False)

    def validate(self) -> None:
        """Check the recipe where it will be loaded: the settings and that ``path`` exists.

        Raises
        ------
        FileNotFoundError
            ``path`` does not exist.
        ValueError
            A setting is out of range (see the class).
        """
        self.__post_init__()
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"model path not found: {self.path!r}")

    def token(self) -> str:
        """A key identifying this recipe (for the per-worker generator cache).

        Returns
        -------
        str
            A SHA-1 hex digest of the settings and embeddings.
        """
        import hashlib

        h = hashlib.sha1(repr((self.path, self.prompt, self.negative_prompt, self.guidance_scale,
                               self.num_inference_steps, self.eta, self.scheduler, self.class_label, self.device,
                               self.dtype, sorted(self.extra.items(), key=str))).encode())
        for e in (self.prompt_embeds, self.negative_embeds):
            if e is not None:
                h.update(np.ascontiguousarray(np.asarray(e, dtype=np.float32)).tobytes())
        return h.hexdigest()

    def load(self) -> UNetGenerator:
        """Load the generator (:func:`load_generator`).

        Returns
        -------
        UNetGenerator
        """
        return load_generator(self)

    def __call__(self) -> UNetGenerator:
        """Load the generator: a PipelineSpec is a zero-argument loader (for :func:`~statgeo.diffusion.sweep`).

        Returns
        -------
        UNetGenerator
        """
        return self.load()


def load_generator(spec: PipelineSpec) -> UNetGenerator:
    """Load the model named by ``spec`` from local files only and build its generator.

    The configurations are read first: a missing component, an unsupported UNet, decoder or
    scheduler, and conditioning that does not fit the UNet are reported before any weights
    are loaded.

    Parameters
    ----------
    spec : PipelineSpec
        The recipe.

    Returns
    -------
    UNetGenerator
        Over the model's UNet, decoder (if any) and the chosen sampler.

    Raises
    ------
    TypeError
        ``spec`` is not a PipelineSpec.
    FileNotFoundError
        The model path, a required component (``unet``, ``scheduler``) or, when a prompt
        must be encoded, the ``tokenizer``/``text_encoder`` is missing.
    ValueError
        A transformer pipeline (wrap it with :class:`PipelineGenerator`), an unsupported
        UNet/decoder/scheduler (``scheduler="auto"`` with a saved scheduler outside
        :data:`SUPPORTED_SCHEDULERS` included), a text-conditional UNet without
        ``prompt``/``prompt_embeds``, text for a UNet that takes none, a missing or
        out-of-range ``class_label``, ``extra`` for a directory, or a setting out of range.
    """
    if not isinstance(spec, PipelineSpec):
        raise TypeError(f"spec must be a PipelineSpec, got {type(spec).__name__}")
    spec.validate()
    import torch

    from statgeo.diffusion.model_loading import open_model
    from statgeo.diffusion.samplers import build_scheduler, sampler_name

    if spec.extra and not os.path.isfile(spec.path):
        raise ValueError(f"extra (from_single_file arguments) applies to single-file checkpoints only, "
                         f"and {spec.path!r} is a directory")
    src = open_model(spec.path, dtype=_torch_dtype(spec.dtype), extra=spec.extra)
    needs_negative = src.text_conditional and spec.guidance_scale > 1 and spec.negative_embeds is None
    src.check_conditioning(has_prompt=spec.prompt is not None, has_embeds=spec.prompt_embeds is not None,
                           needs_negative=needs_negative, class_label=spec.class_label)
    scheduler = build_scheduler(spec.scheduler, src.scheduler_config)
    if spec.eta > 0 and sampler_name(scheduler) != "ddim":
        raise ValueError(f"eta={spec.eta} applies to the DDIM sampler only; the model's scheduler is "
                         f"{sampler_name(scheduler)!r} (pass scheduler='ddim' to convert it)")
    unet = src.load_unet()
    vae = src.load_decoder()
    pe = ne = None
    if src.text_conditional:
        device = torch.device(spec.device)
        pe = spec.prompt_embeds if spec.prompt_embeds is not None else src.encode_prompt(spec.prompt, device)
        ne = spec.negative_embeds
        if ne is None and spec.guidance_scale > 1:
            ne = src.encode_prompt(spec.negative_prompt, device)
    log.debug("loaded %s (%s layout, %s, decoder %s, sampler %s)", spec.path, src.layout, src.unet_class,
              src.decoder_class, sampler_name(scheduler))
    return UNetGenerator(unet, scheduler, vae, prompt_embeds=pe, negative_embeds=ne, class_label=spec.class_label,
                         guidance_scale=spec.guidance_scale, num_inference_steps=spec.num_inference_steps,
                         eta=spec.eta, device=spec.device, dtype=spec.dtype, model_path=os.path.abspath(spec.path),
                         prompt=spec.prompt)
