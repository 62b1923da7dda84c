"""Latent → image generators: a batched DDIM sampler over diffusers components, and wrappers.

Every generator follows :class:`LatentGenerator`: it maps a batch of initial latents
(torch tensor ``(n, *latent_shape)``) and one integer noise seed per point to images in
[0, 1] (``(n, channel, y, x)``, float) and optionally the final latents.

The DDIM update is the library's (``diffusers.DDIMScheduler.step``, Song et al. 2021, eq. 12);
for η > 0 the variance noise of every step is pre-drawn *per point* from a CPU
``torch.Generator`` seeded with that point's seed and passed as ``variance_noise``, so the
image of a point does not depend on which other points share its batch.

Nothing is downloaded: components are loaded with ``local_files_only=True`` and
``HF_HUB_OFFLINE=1`` is set before diffusers is imported (docs/diffusion.md, "Sweeps and
per-point noise"; docs/conventions.md, "offline").
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from statgeo.checks import check_callable, check_choice, check_int
from statgeo.diffusion._checks import (
    check_dict,
    check_int_sequence,
    check_path,
    check_scalar,
    check_shape,
    check_str,
    check_torch_device,
)
from statgeo.diffusion.slices import MAX_SEED, _torch_dtype

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger(__name__)

__all__ = [
    "LatentGenerator",
    "CallableGenerator",
    "DiffusionGenerator",
    "PipelineSpec",
    "load_generator",
    "SUPPORTED_SCHEDULERS",
    "MAX_INFERENCE_STEPS",
]

#: the samplers :class:`DiffusionGenerator` implements
SUPPORTED_SCHEDULERS = ("ddim",)

#: most denoising steps accepted (the training schedules of SD-class models have 1000 steps)
MAX_INFERENCE_STEPS = 1000


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


def _check_latents(latents: Any, shape: tuple[int, ...]):
    import torch

    if not isinstance(latents, torch.Tensor):
        if isinstance(latents, (str, bytes)) or latents is None:
            raise TypeError(f"latents must be an array or tensor of shape (n, *{shape}), got {type(latents).__name__}")
        arr = np.asarray(latents)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"latents must be an array of real numbers, got dtype {arr.dtype}")
        latents = torch.as_tensor(arr)
    if tuple(latents.shape[1:]) != tuple(shape) or latents.ndim != len(shape) + 1:
        raise ValueError(f"latent shape mismatch: got latents of shape {tuple(latents.shape[1:])}, "
                         f"the model expects {tuple(shape)}")
    if latents.shape[0] == 0:
        raise ValueError("latents must hold at least one latent (got an empty batch)")
    if not torch.isfinite(latents).all():
        raise ValueError("latents contain NaN or inf values")
    return latents


def _check_images(images: Any, n: int, what: str):
    """The output of a generator: a finite (n, channel, y, x) batch of images."""
    import torch

    if tuple(images.shape[:1]) != (n,) or images.ndim != 4:
        raise ValueError(f"{what} must be images of shape (n={n}, channel, y, x), got shape {tuple(images.shape)}")
    if not torch.isfinite(images).all():
        raise ValueError(f"{what} contains NaN or inf for a batch of {n} latents")
    return images


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


def _check_module(name: str, module: Any, needs: Sequence[str]) -> None:
    import torch

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module (a diffusers model), got {type(module).__name__}")
    missing = [a for a in needs if not hasattr(module, a)]
    if missing:
        raise TypeError(f"{name} must be a diffusers model with {', '.join(needs)}, got {type(module).__name__}")


def _check_embeds(name: str, value: Any, dim: int | None):
    import torch

    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array or tensor of text embeddings (1, seq, dim), got {value!r:.60}")
    t = value if isinstance(value, torch.Tensor) else None
    if t is None:
        arr = np.asarray(value)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
        t = torch.as_tensor(arr)
    if t.ndim not in (2, 3) or (t.ndim == 3 and t.shape[0] != 1) or t.numel() == 0:
        raise ValueError(f"{name} must have shape (1, seq, dim) or (seq, dim), got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf")
    if dim is not None and t.shape[-1] != dim:
        raise ValueError(f"{name} must have the UNet's cross-attention dimension {dim} last, got shape {tuple(t.shape)}")
    return t


class DiffusionGenerator:
    """Batched DDIM sampling with classifier-free guidance over diffusers components.

    x_T = z · σ_init; for each timestep t: ε = ε_u + s (ε_c − ε_u) (Ho & Salimans 2022),
    x_{t−1} = DDIMScheduler.step(ε, t, x_t, eta=η, variance_noise=ξ_t) (Song et al. 2021,
    eq. 12); image = VAE.decode(x_0 / scaling_factor), mapped from [−1, 1] to [0, 1].

    Parameters
    ----------
    unet : diffusers.UNet2DConditionModel
        The denoiser (its ``config.in_channels`` and ``config.sample_size`` set the latent shape).
    vae : diffusers.AutoencoderKL
        The decoder from latents to images.
    scheduler : diffusers.DDIMScheduler
        The sampler (other schedulers raise ``ValueError``).
    prompt_embeds : array_like or torch.Tensor
        Text embeddings of the prompt, ``(1, seq, dim)`` or ``(seq, dim)``.
    negative_embeds : array_like or torch.Tensor, optional
        Embeddings of the empty/negative prompt (required when ``guidance_scale > 1``).
    guidance_scale : float, default 7.5
        Classifier-free guidance scale s ≥ 0 (guidance is used when s > 1).
    num_inference_steps : int, default 50
        DDIM steps, in ``[1, MAX_INFERENCE_STEPS]`` and at most the scheduler's training steps.
    eta : float, default 0.0
        DDIM η in [0, 1] (0: deterministic).
    device : str, default "cpu"
        Torch device the models run on.
    dtype : str, default "float32"
        Precision the models run in.
    model_path : str, default ""
        Recorded in the configuration.
    prompt : str, optional
        Recorded in the configuration.

    Raises
    ------
    TypeError
        A component of the wrong type, or a non-string ``model_path``/``prompt``.
    ValueError
        Another scheduler than DDIM, embeddings of the wrong shape or with NaN, a missing
        ``negative_embeds`` with guidance, or a setting out of range.
    """

    def __init__(self, unet: Any, vae: Any, scheduler: Any, prompt_embeds: Any, negative_embeds: Any = None, *,
                 guidance_scale: float = 7.5, num_inference_steps: int = 50, eta: float = 0.0, device: str = "cpu",
                 dtype: str = "float32", model_path: str = "", prompt: str | None = None) -> None:
        import torch
        from diffusers import DDIMScheduler

        _check_module("unet", unet, ("config",))
        if not isinstance(getattr(unet.config, "sample_size", None), int) or not hasattr(unet.config, "in_channels"):
            raise TypeError("unet must be a diffusers UNet with an integer config.sample_size and config.in_channels")
        _check_module("vae", vae, ("decode", "config"))
        if not isinstance(scheduler, DDIMScheduler):
            raise ValueError(f"unsupported scheduler {type(scheduler).__name__}: only DDIM (DDIMScheduler) is supported; "
                             "convert with DDIMScheduler.from_config(scheduler.config)")
        cross = getattr(unet.config, "cross_attention_dim", None)
        cross = cross if isinstance(cross, int) else None
        _check_embeds("prompt_embeds", prompt_embeds, cross)
        if negative_embeds is not None:
            _check_embeds("negative_embeds", negative_embeds, cross)
        self.guidance_scale = check_scalar("guidance_scale", guidance_scale, low=0.0)
        n_train = int(getattr(scheduler.config, "num_train_timesteps", MAX_INFERENCE_STEPS))
        self.num_inference_steps = check_int("num_inference_steps", num_inference_steps, min=1,
                                             max=min(MAX_INFERENCE_STEPS, n_train))
        self.eta = check_scalar("eta", eta, low=0.0, high=1.0)
        self.device = check_torch_device("device", device)
        self.dtype = _torch_dtype(dtype)
        check_str("model_path", model_path)
        if prompt is not None:
            check_str("prompt", prompt)
        if self.guidance_scale > 1.0 and negative_embeds is None:
            raise ValueError("negative_embeds is required when guidance_scale > 1 (classifier-free guidance)")
        self.unet = _to(unet, self.device, self.dtype)
        self.vae = _to(vae, self.device, self.dtype)
        self.scheduler = scheduler
        self.prompt_embeds = torch.as_tensor(prompt_embeds).to(self.device, self.dtype)
        if self.prompt_embeds.ndim == 2:
            self.prompt_embeds = self.prompt_embeds[None]
        self.negative_embeds = None
        if negative_embeds is not None:
            self.negative_embeds = torch.as_tensor(negative_embeds).to(self.device, self.dtype)
            if self.negative_embeds.ndim == 2:
                self.negative_embeds = self.negative_embeds[None]
        self.latent_shape = (int(unet.config.in_channels), int(unet.config.sample_size), int(unet.config.sample_size))
        self.model_path = model_path
        self.prompt = prompt

    @property
    def do_cfg(self) -> bool:
        """Whether classifier-free guidance is applied (``guidance_scale > 1``)."""
        return self.guidance_scale > 1.0

    def _variance_noise(self, seeds: Sequence[int], n_steps: int):
        import torch

        out = []
        for s in seeds:
            g = torch.Generator(device="cpu").manual_seed(int(s))
            out.append(torch.randn((n_steps,) + self.latent_shape, generator=g, dtype=torch.float32))
        return torch.stack(out, dim=1).to(self.device, self.dtype)  # (steps, n, ...)

    @property
    def vae_scale(self) -> float:
        """The VAE's latent scaling factor (0.18215 for SD 1.x when the config has none)."""
        return float(getattr(self.vae.config, "scaling_factor", 0.18215))

    def __call__(self, latents: Any, seeds: Sequence[int] | None = None) -> tuple[Any, Any]:
        """Generate images for a batch of initial latents.

        Parameters
        ----------
        latents : array_like or torch.Tensor
            Initial latents ``(n, *latent_shape)``, finite.
        seeds : sequence of int, optional
            One noise seed per latent, required when η > 0 (it seeds that latent's per-step
            variance noise).

        Returns
        -------
        tuple of torch.Tensor
            ``(images, final_latents)``: images ``(n, 3, y, x)`` float32 in [0, 1] and the
            final denoised latents ``(n, *latent_shape)`` float32.

        Raises
        ------
        TypeError
            ``latents`` or ``seeds`` of the wrong type.
        ValueError
            A latent shape mismatch, non-finite latents, or missing/miscounted seeds with η > 0.
        """
        import torch

        latents = _check_latents(latents, self.latent_shape)
        n = latents.shape[0]
        if self.eta > 0:
            if seeds is None:
                raise ValueError("seeds must give one noise seed per latent when eta > 0")
            seeds = check_int_sequence("seeds", seeds, min=0, max=MAX_SEED)
            if len(seeds) != n:
                raise ValueError(f"seeds must give one noise seed per latent when eta > 0, got {len(seeds)} for {n}")
        sched = self.scheduler
        sched.set_timesteps(self.num_inference_steps, device=self.device)
        x = latents.to(self.device, self.dtype) * sched.init_noise_sigma
        emb = self.prompt_embeds.expand(n, -1, -1)
        if self.do_cfg:
            emb = torch.cat([self.negative_embeds.expand(n, -1, -1), emb])
        noise = self._variance_noise(seeds, len(sched.timesteps)) if self.eta > 0 else None
        with torch.inference_mode():
            for i, t in enumerate(sched.timesteps):
                inp = torch.cat([x, x]) if self.do_cfg else x
                inp = sched.scale_model_input(inp, t)
                eps = self.unet(inp, t, encoder_hidden_states=emb).sample
                if self.do_cfg:
                    eu, ec = eps.chunk(2)
                    eps = eu + self.guidance_scale * (ec - eu)
                x = sched.step(eps, t, x, eta=self.eta, variance_noise=None if noise is None else noise[i],
                               return_dict=False)[0]
            img = self.vae.decode(x / self.vae_scale, return_dict=False)[0]
        img = (img.float() / 2 + 0.5).clamp(0, 1)
        return img, x.float()

    def config(self) -> dict:
        """The generator's provenance record (model path, prompt, sampler settings, dtype, device).

        Returns
        -------
        dict
            JSON-serialisable, with ``latent_shape``.
        """
        return {"kind": "diffusers", "model_path": self.model_path, "prompt": self.prompt,
                "guidance_scale": self.guidance_scale, "num_inference_steps": self.num_inference_steps,
                "eta": self.eta, "scheduler": "ddim", "dtype": str(self.dtype).replace("torch.", ""),
                "device": str(self.device), "latent_shape": list(self.latent_shape)}


def _to(module, device, dtype):
    p = next(module.parameters(), None)
    if p is not None and p.dtype != dtype:
        module = module.to(dtype=dtype)
    if p is not None and p.device != device:
        module = module.to(device)
    return module.eval()


def _accelerate_available() -> bool:
    """Whether ``accelerate`` is installed: diffusers loads with ``low_cpu_mem_usage`` only then.

    Passing the flag explicitly avoids diffusers' "accelerate was not found" warning, which it
    prints when the default (True) cannot be honoured.
    """
    return importlib.util.find_spec("accelerate") is not None


def _encode_prompt(path: str, prompt: str, device, dtype):
    import torch
    from transformers import CLIPTextModel, CLIPTokenizer

    for sub in ("tokenizer", "text_encoder"):
        if not os.path.isdir(os.path.join(path, sub)):
            raise FileNotFoundError(f"encoding a prompt needs {os.path.join(path, sub)!r}; "
                                    "pass prompt_embeds directly or provide the component")
    tok = CLIPTokenizer.from_pretrained(path, subfolder="tokenizer", local_files_only=True)
    enc = CLIPTextModel.from_pretrained(path, subfolder="text_encoder", local_files_only=True).to(device).eval()
    ids = tok([prompt], padding="max_length", max_length=tok.model_max_length, truncation=True,
              return_tensors="pt").input_ids.to(device)
    with torch.inference_mode():
        return enc(ids)[0].to(dtype)


@dataclass
class PipelineSpec:
    """A picklable recipe for a :class:`DiffusionGenerator` (what a Dask worker loads once).

    Either ``prompt`` (encoded once with the pipeline's own text encoder) or
    ``prompt_embeds`` must be given; ``negative_embeds`` likewise (defaults to the encoding of
    ``negative_prompt``). The settings are checked at construction; whether ``path`` exists is
    checked by :meth:`validate` when the generator is loaded (on the machine that loads it).

    Parameters
    ----------
    path : str
        A local diffusers directory (``unet/``, ``vae/``, ``scheduler/`` sub-folders, optionally
        ``text_encoder/`` and ``tokenizer/``) or a single-file checkpoint
        (``.safetensors``/``.ckpt``, loaded with ``StableDiffusionPipeline.from_single_file``).
    prompt : str, optional
        The text prompt.
    prompt_embeds : array_like, optional
        Text embeddings ``(1, seq, dim)`` instead of ``prompt``.
    negative_prompt : str, default ""
        The negative prompt (encoded when guidance needs it and no ``negative_embeds`` given).
    negative_embeds : array_like, optional
        Unconditional embeddings ``(1, seq, dim)``.
    guidance_scale : float, default 7.5
        Classifier-free guidance scale ≥ 0.
    num_inference_steps : int, default 50
        DDIM steps in ``[1, MAX_INFERENCE_STEPS]``.
    eta : float, default 0.0
        DDIM η in [0, 1].
    scheduler : str, default "ddim"
        One of :data:`SUPPORTED_SCHEDULERS`.
    device : str, default "cpu"
        Torch device.
    dtype : str, default "float32"
        Model precision.
    extra : dict, optional
        Passed to ``from_single_file`` (offline, diffusers needs the pipeline layout locally:
        e.g. ``extra={"config": "<local diffusers dir>"}`` or
        ``{"original_config": "<local v1-inference.yaml>"}``).

    Raises
    ------
    TypeError
        A field of the wrong type.
    ValueError
        Neither ``prompt`` nor ``prompt_embeds``, an unsupported scheduler, non-finite
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
    scheduler: str = "ddim"
    device: str = "cpu"
    dtype: str = "float32"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = check_path("path", self.path)
        if self.prompt is not None:
            check_str("prompt", self.prompt)
        check_str("negative_prompt", self.negative_prompt)
        if self.prompt is None and self.prompt_embeds is None:
            raise ValueError("give either prompt or prompt_embeds")
        for name in ("prompt_embeds", "negative_embeds"):
            if getattr(self, name) is not None:
                _check_embeds(name, getattr(self, name), None)
        check_choice("scheduler", self.scheduler, SUPPORTED_SCHEDULERS)
        check_scalar("guidance_scale", self.guidance_scale, low=0.0)
        check_int("num_inference_steps", self.num_inference_steps, min=1, max=MAX_INFERENCE_STEPS)
        check_scalar("eta", self.eta, low=0.0, high=1.0)
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
                               self.num_inference_steps, self.eta, self.device, self.dtype)).encode())
        for e in (self.prompt_embeds, self.negative_embeds):
            if e is not None:
                h.update(np.ascontiguousarray(np.asarray(e, dtype=np.float32)).tobytes())
        return h.hexdigest()

    def load(self) -> DiffusionGenerator:
        """Load the generator (:func:`load_generator`).

        Returns
        -------
        DiffusionGenerator
        """
        return load_generator(self)

    def __call__(self) -> DiffusionGenerator:
        """Load the generator: a PipelineSpec is a zero-argument loader (for :func:`~statgeo.diffusion.sweep`).

        Returns
        -------
        DiffusionGenerator
        """
        return self.load()


def load_generator(spec: PipelineSpec) -> DiffusionGenerator:
    """Load the components named by ``spec`` from local files only and build a generator.

    Parameters
    ----------
    spec : PipelineSpec
        The recipe.

    Returns
    -------
    DiffusionGenerator

    Raises
    ------
    TypeError
        ``spec`` is not a PipelineSpec.
    FileNotFoundError
        The model path or one of its sub-folders (``unet``, ``vae``, ``scheduler``; the
        ``tokenizer``/``text_encoder`` when a prompt must be encoded) is missing.
    ValueError
        A setting is out of range.
    """
    if not isinstance(spec, PipelineSpec):
        raise TypeError(f"spec must be a PipelineSpec, got {type(spec).__name__}")
    spec.validate()
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

    path = spec.path
    dtype = _torch_dtype(spec.dtype)
    low_mem = _accelerate_available()
    if os.path.isfile(path):
        from diffusers import StableDiffusionPipeline

        pipe = StableDiffusionPipeline.from_single_file(path, local_files_only=True, torch_dtype=dtype,
                                                        **spec.extra)
        unet, vae, sched_cfg = pipe.unet, pipe.vae, pipe.scheduler.config
        text = (pipe.tokenizer, pipe.text_encoder)
    else:
        for sub in ("unet", "vae", "scheduler"):
            if not os.path.isdir(os.path.join(path, sub)):
                raise FileNotFoundError(f"model directory {path!r} lacks the {sub!r} sub-folder")
        unet = UNet2DConditionModel.from_pretrained(path, subfolder="unet", local_files_only=True,
                                                    low_cpu_mem_usage=low_mem)
        vae = AutoencoderKL.from_pretrained(path, subfolder="vae", local_files_only=True, low_cpu_mem_usage=low_mem)
        sched_cfg = DDIMScheduler.load_config(path, subfolder="scheduler", local_files_only=True)
        text = None
    scheduler = DDIMScheduler.from_config(sched_cfg)

    def embed(prompt):
        if text is not None and text[0] is not None:
            tok, enc = text
            ids = tok([prompt], padding="max_length", max_length=tok.model_max_length, truncation=True,
                      return_tensors="pt").input_ids
            with torch.inference_mode():
                return enc(ids)[0]
        return _encode_prompt(path, prompt, spec.device, torch.float32)

    pe = spec.prompt_embeds if spec.prompt_embeds is not None else embed(spec.prompt)
    ne = spec.negative_embeds
    if ne is None and spec.guidance_scale > 1:
        ne = embed(spec.negative_prompt)
    return DiffusionGenerator(unet, vae, scheduler, pe, ne, guidance_scale=spec.guidance_scale,
                              num_inference_steps=spec.num_inference_steps, eta=spec.eta, device=spec.device,
                              dtype=spec.dtype, model_path=os.path.abspath(path), prompt=spec.prompt)
