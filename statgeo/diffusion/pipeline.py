"""Latent → image generators: a batched DDIM sampler over diffusers components, and wrappers.

Every generator follows :class:`LatentGenerator`: it maps a batch of initial latents
(torch tensor ``(n, *latent_shape)``) and one integer noise seed per point to images in
[0, 1] (``(n, channel, y, x)``, float) and optionally the final latents.

The DDIM update is the library's (``diffusers.DDIMScheduler.step``, Song et al. 2021, eq. 12);
for η > 0 the variance noise of every step is pre-drawn *per point* from a CPU
``torch.Generator`` seeded with that point's seed and passed as ``variance_noise``, so the
image of a point does not depend on which other points share its batch.

Nothing is downloaded: components are loaded with ``local_files_only=True`` and
``HF_HUB_OFFLINE=1`` is set before diffusers is imported.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from statgeo.checks import check_int, check_real
from statgeo.diffusion.slices import _torch_dtype

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
]

SUPPORTED_SCHEDULERS = ("ddim",)


@runtime_checkable
class LatentGenerator(Protocol):
    """latent batch → images in [0, 1] (and optionally final latents)."""

    latent_shape: tuple[int, ...]
    dtype: Any

    def __call__(self, latents, seeds: Sequence[int] | None = None) -> tuple[Any, Any]: ...

    def config(self) -> dict: ...


def _check_latents(latents, shape: tuple[int, ...]):
    import torch

    if not isinstance(latents, torch.Tensor):
        latents = torch.as_tensor(np.asarray(latents))
    if tuple(latents.shape[1:]) != tuple(shape):
        raise ValueError(f"latent shape mismatch: got latents of shape {tuple(latents.shape[1:])}, "
                         f"the model expects {tuple(shape)}")
    if not torch.isfinite(latents).all():
        raise ValueError("latents contain NaN or inf values")
    return latents


class CallableGenerator:
    """Wrap any callable ``f(latents) -> images`` (torch or NumPy, float in [0, 1] or uint8).

    Parameters
    ----------
    fn : callable taking a batch ``(n, *latent_shape)`` and returning ``(n, C, y, x)``.
    latent_shape : shape of one latent.
    dtype : the dtype latents are cast to before ``fn`` sees them (float64 by default).
    name : recorded in the configuration.
    """

    def __init__(self, fn: Callable, latent_shape: Sequence[int], dtype: str = "float64", name: str = "") -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.latent_shape = tuple(int(s) for s in latent_shape)
        self.dtype = _torch_dtype(dtype)
        self.name = name or getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, latents, seeds=None):
        import torch

        latents = _check_latents(latents, self.latent_shape).to(self.dtype)
        img = self.fn(latents)
        img = torch.as_tensor(np.asarray(img) if not isinstance(img, torch.Tensor) else img)
        if img.dtype == torch.uint8:
            img = img.double() / 255.0
        return img.double().clamp(0, 1), None

    def config(self) -> dict:
        return {"kind": "callable", "name": self.name, "dtype": str(self.dtype).replace("torch.", ""),
                "latent_shape": list(self.latent_shape)}


class DiffusionGenerator:
    """Batched DDIM sampling with classifier-free guidance over diffusers components.

    x_T = z · σ_init; for each timestep t: ε = ε_u + s (ε_c − ε_u) (Ho & Salimans 2022),
    x_{t−1} = DDIMScheduler.step(ε, t, x_t, eta=η, variance_noise=ξ_t) (Song et al. 2021,
    eq. 12); image = VAE.decode(x_0 / scaling_factor), mapped from [−1, 1] to [0, 1].

    Parameters
    ----------
    unet, vae : ``UNet2DConditionModel``, ``AutoencoderKL``.
    scheduler : a ``DDIMScheduler`` (other schedulers raise ``ValueError``).
    prompt_embeds : (1, seq, dim) text embeddings of the prompt.
    negative_embeds : (1, seq, dim) embeddings of the empty/negative prompt (needed when
        ``guidance_scale > 1``).
    guidance_scale, num_inference_steps, eta : sampler settings.
    device, dtype : where and in which precision the model runs.
    """

    def __init__(self, unet, vae, scheduler, prompt_embeds, negative_embeds=None, *, guidance_scale: float = 7.5,
                 num_inference_steps: int = 50, eta: float = 0.0, device: str = "cpu", dtype: str = "float32",
                 model_path: str = "", prompt: str | None = None) -> None:
        import torch
        from diffusers import DDIMScheduler

        if not isinstance(scheduler, DDIMScheduler):
            raise ValueError(f"unsupported scheduler {type(scheduler).__name__}: only DDIM (DDIMScheduler) is supported; "
                             "convert with DDIMScheduler.from_config(scheduler.config)")
        self.guidance_scale = float(check_real("guidance_scale", guidance_scale, low=0.0))
        self.num_inference_steps = check_int("num_inference_steps", num_inference_steps, min=1, max=1000)
        self.eta = float(check_real("eta", eta, low=0.0, high=1.0))
        self.device = torch.device(device)
        self.dtype = _torch_dtype(dtype)
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
        if self.do_cfg and self.negative_embeds is None:
            raise ValueError("negative_embeds is required when guidance_scale > 1 (classifier-free guidance)")
        self.latent_shape = (int(unet.config.in_channels), int(unet.config.sample_size), int(unet.config.sample_size))
        self.model_path = model_path
        self.prompt = prompt

    @property
    def do_cfg(self) -> bool:
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
        return float(getattr(self.vae.config, "scaling_factor", 0.18215))

    def __call__(self, latents, seeds: Sequence[int] | None = None):
        """Generate images for a batch of initial latents; returns ``(images, final_latents)``.

        ``seeds`` (one int per latent) seed the per-step variance noise when η > 0.
        """
        import torch

        latents = _check_latents(latents, self.latent_shape)
        n = latents.shape[0]
        if self.eta > 0:
            if seeds is None or len(seeds) != n:
                raise ValueError("seeds must give one noise seed per latent when eta > 0")
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

    ``path`` is a local diffusers directory (``unet/``, ``vae/``, ``scheduler/`` sub-folders,
    optionally ``text_encoder/`` and ``tokenizer/``) or a single-file checkpoint
    (``.safetensors``/``.ckpt``, loaded with ``StableDiffusionPipeline.from_single_file``).
    Either ``prompt`` (encoded once with the pipeline's own text encoder) or ``prompt_embeds``
    (an array ``(1, seq, dim)``) must be given; ``negative_embeds`` likewise (defaults to the
    encoding of ``negative_prompt``). ``extra`` is passed to ``from_single_file`` (offline,
    diffusers needs the pipeline layout locally: e.g. ``extra={"config": "<local diffusers
    dir>"}`` or ``{"original_config": "<local v1-inference.yaml>"}``).
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

    def validate(self) -> None:
        if self.scheduler not in SUPPORTED_SCHEDULERS:
            raise ValueError(f"scheduler must be one of {SUPPORTED_SCHEDULERS}, got {self.scheduler!r}")
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"model path not found: {self.path!r}")
        if self.prompt is None and self.prompt_embeds is None:
            raise ValueError("give either prompt or prompt_embeds")
        check_real("guidance_scale", self.guidance_scale, low=0.0)
        check_int("num_inference_steps", self.num_inference_steps, min=1, max=1000)
        check_real("eta", self.eta, low=0.0, high=1.0)
        _torch_dtype(self.dtype)

    def token(self) -> str:
        """A key identifying this recipe (for the per-worker cache)."""
        import hashlib

        h = hashlib.sha1(repr((self.path, self.prompt, self.negative_prompt, self.guidance_scale,
                               self.num_inference_steps, self.eta, self.device, self.dtype)).encode())
        for e in (self.prompt_embeds, self.negative_embeds):
            if e is not None:
                h.update(np.ascontiguousarray(np.asarray(e, dtype=np.float32)).tobytes())
        return h.hexdigest()

    def load(self) -> DiffusionGenerator:
        return load_generator(self)

    def __call__(self) -> DiffusionGenerator:
        return self.load()


def load_generator(spec: PipelineSpec) -> DiffusionGenerator:
    """Load the components named by ``spec`` from local files only and build a generator."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

    spec.validate()
    path = spec.path
    dtype = _torch_dtype(spec.dtype)
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
        unet = UNet2DConditionModel.from_pretrained(path, subfolder="unet", local_files_only=True)
        vae = AutoencoderKL.from_pretrained(path, subfolder="vae", local_files_only=True)
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
