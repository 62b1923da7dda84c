"""Batched sampling over diffusers UNet components: pixel or latent, unconditional, class or text.

:class:`UNetGenerator` runs the denoising loop itself (so a batch of latents is one model
call per step and the noise of every point follows the per-point rule of
:mod:`statgeo.diffusion.samplers`):

* the UNet is a ``UNet2DModel`` (unconditional, or class-conditional with ``class_labels``
  when its config has ``num_class_embeds``) or a ``UNet2DConditionModel`` (text-conditional,
  classifier-free guidance ε = ε_u + s (ε_c − ε_u), Ho & Salimans 2022);
* the sampler is any scheduler of :data:`~statgeo.diffusion.samplers.SAMPLERS`, stepped
  with the library's ``scheduler.step`` (DDIM: Song et al. 2021, eq. 12; flow-match Euler:
  x_{σ'} = x_σ + (σ' − σ) v, the model predicting the velocity v at timestep σ·T);
* without a decoder the final sample is the image (pixel space); with an ``AutoencoderKL``
  or ``VQModel`` the image is ``decoder.decode(x_0 / scaling_factor + shift_factor)``;
  images are mapped from [−1, 1] to [0, 1] (x/2 + 1/2, clamped).

:class:`DiffusionGenerator` is the text-conditional latent case (a UNet2DConditionModel, a
VAE and prompt embeddings), with the historical positional signature.
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

from statgeo.checks import check_int
from statgeo.diffusion._checks import (
    check_int_sequence,
    check_scalar,
    check_str,
    check_torch_device,
)
from statgeo.diffusion._tensor_checks import (
    _check_embeds,
    _check_latents,
    _check_module,
    _to,
)
from statgeo.diffusion.samplers import (
    MAX_INFERENCE_STEPS,
    SUPPORTED_SCHEDULERS,
    is_deterministic,
    point_generators,
    sampler_name,
)
from statgeo.diffusion.slices import MAX_SEED, _torch_dtype

__all__ = ["UNetGenerator", "DiffusionGenerator"]

_UNETS = ("UNet2DModel", "UNet2DConditionModel")
_DECODERS = ("AutoencoderKL", "VQModel")


def _unet_kind(unet: Any) -> str:
    import diffusers

    _check_module("unet", unet, ("config",))
    for name in _UNETS:
        if isinstance(unet, getattr(diffusers, name)):
            return name
    raise TypeError(f"unet must be a diffusers {' or '.join(_UNETS)}, got {type(unet).__name__} "
                    "(wrap other pipelines with PipelineGenerator)")


def _spatial(unet: Any) -> tuple[int, int]:
    size = getattr(unet.config, "sample_size", None)
    if isinstance(size, int) and not isinstance(size, bool):
        return (size, size)
    if isinstance(size, (list, tuple)) and len(size) == 2 and all(isinstance(s, int) for s in size):
        return (int(size[0]), int(size[1]))
    raise TypeError(f"unet must have an integer (or (height, width)) config.sample_size, got {size!r}")


class UNetGenerator:
    """Batched sampling with a diffusers UNet and a supported scheduler (pixel or latent space).

    x_T = z · σ_init (σ_init = the scheduler's ``init_noise_sigma``, 1 for flow matching); for
    each timestep t: out = UNet(scale_model_input(x_t), t, conditioning), with classifier-free
    guidance out = out_u + s (out_c − out_u) for text-conditional UNets when s > 1;
    x_{t−1} = scheduler.step(out, t, x_t); image = x_0 (pixel space) or
    decoder.decode(x_0 / scaling_factor + shift_factor), mapped from [−1, 1] to [0, 1].

    Parameters
    ----------
    unet : diffusers.UNet2DModel or diffusers.UNet2DConditionModel
        The denoiser (``config.in_channels`` and ``config.sample_size`` set the latent shape).
        A UNet with ``out_channels = 2 · in_channels`` (learned variance) has its second half
        dropped. UNets that need added conditions (SDXL's ``addition_embed_type``) are refused:
        wrap their pipeline with :class:`~statgeo.diffusion.pipeline_generator.PipelineGenerator`.
    scheduler : diffusers scheduler
        One of the classes of :data:`~statgeo.diffusion.samplers.SAMPLERS` (copied per call,
        so the generator can be shared between threads).
    vae : diffusers.AutoencoderKL or diffusers.VQModel, optional
        The decoder from latents to images; None for a pixel-space model.
    prompt_embeds : array_like or torch.Tensor, optional
        Text embeddings ``(1, seq, dim)`` or ``(seq, dim)``; required for (and only accepted
        by) a UNet2DConditionModel.
    negative_embeds : array_like or torch.Tensor, optional
        Embeddings of the empty/negative prompt (required when ``guidance_scale > 1``).
    class_label : int, optional
        The class of a class-conditional UNet (``config.num_class_embeds`` set), in
        ``[0, num_class_embeds − 1]``; required for such a UNet and refused otherwise.
    guidance_scale : float, default 7.5
        Classifier-free guidance scale s ≥ 0 for text-conditional UNets (used when s > 1;
        recorded but unused otherwise).
    num_inference_steps : int, default 50
        Denoising steps, in ``[1, MAX_INFERENCE_STEPS]`` and at most the scheduler's training
        steps.
    eta : float, default 0.0
        DDIM η in [0, 1] (0: deterministic); must be 0 for the other samplers.
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
        An unsupported scheduler, a missing or unexpected conditioning (prompt embeddings,
        class label), embeddings of the wrong shape or with NaN, a missing ``negative_embeds``
        with guidance, η > 0 with a sampler other than DDIM, or a setting out of range.

    Examples
    --------
    >>> import torch
    >>> from diffusers import DDIMScheduler, UNet2DModel
    >>> unet = UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 8),
    ...                    layers_per_block=1, norm_num_groups=4,
    ...                    down_block_types=("DownBlock2D", "DownBlock2D"),
    ...                    up_block_types=("UpBlock2D", "UpBlock2D"))
    >>> gen = UNetGenerator(unet, DDIMScheduler(), num_inference_steps=2)
    >>> images, _ = gen(torch.zeros(1, 1, 8, 8))
    >>> tuple(images.shape), gen.config()["scheduler"]
    ((1, 1, 8, 8), 'ddim')
    """

    def __init__(self, unet: Any, scheduler: Any, vae: Any = None, *, prompt_embeds: Any = None,
                 negative_embeds: Any = None, class_label: int | None = None, guidance_scale: float = 7.5,
                 num_inference_steps: int = 50, eta: float = 0.0, device: str = "cpu", dtype: str = "float32",
                 model_path: str = "", prompt: str | None = None) -> None:
        import torch

        self.unet_class = _unet_kind(unet)
        h, w = _spatial(unet)
        cin, cout = getattr(unet.config, "in_channels", None), getattr(unet.config, "out_channels", None)
        if not isinstance(cin, int) or not isinstance(cout, int) or cout not in (cin, 2 * cin):
            raise TypeError(f"unet must have config.out_channels equal to in_channels (or twice it, learned variance), "
                            f"got in_channels={cin!r}, out_channels={cout!r}")
        if getattr(unet.config, "addition_embed_type", None) is not None:
            raise TypeError(f"unet needs added conditions (addition_embed_type="
                            f"{unet.config.addition_embed_type!r}, e.g. SDXL): wrap its pipeline with PipelineGenerator")
        self.decoder_class = None
        if vae is not None:
            _check_module("vae", vae, ("decode", "config"))
            self.decoder_class = type(vae).__name__
        if scheduler is None or isinstance(scheduler, (str, bytes, int, float)) or not hasattr(scheduler, "step"):
            raise TypeError(f"scheduler must be a diffusers scheduler (one of {list(SUPPORTED_SCHEDULERS)}), "
                            f"got {type(scheduler).__name__}")
        self.scheduler_name = sampler_name(scheduler)
        if self.scheduler_name == "flow_match_euler" and getattr(scheduler.config, "use_dynamic_shifting", False):
            raise ValueError("scheduler: a FlowMatchEulerDiscreteScheduler with use_dynamic_shifting needs the "
                             "resolution-dependent shift mu of its pipeline; wrap the pipeline with PipelineGenerator")
        self.text = self.unet_class == "UNet2DConditionModel"
        cross = getattr(unet.config, "cross_attention_dim", None)
        cross = cross if isinstance(cross, int) else None
        if self.text and prompt_embeds is None:
            raise ValueError("prompt_embeds is required: the UNet is text-conditional (UNet2DConditionModel); "
                             "give prompt embeddings (or a prompt to PipelineSpec)")
        if not self.text and (prompt_embeds is not None or negative_embeds is not None):
            raise ValueError("prompt_embeds/negative_embeds given but the UNet (UNet2DModel) takes no text")
        if prompt_embeds is not None:
            _check_embeds("prompt_embeds", prompt_embeds, cross)
        if negative_embeds is not None:
            _check_embeds("negative_embeds", negative_embeds, cross)
        n_classes = getattr(unet.config, "num_class_embeds", None)
        if getattr(unet.config, "class_embed_type", None) is not None and n_classes is None:
            raise TypeError(f"unet has class_embed_type={unet.config.class_embed_type!r} without num_class_embeds: "
                            "only integer class labels are supported")
        if n_classes is None and class_label is not None:
            raise ValueError(f"class_label={class_label!r} given but the UNet is not class-conditional "
                             "(its config has no num_class_embeds)")
        if n_classes is not None:
            if class_label is None:
                raise ValueError(f"class_label is required: the UNet is class-conditional with {n_classes} classes "
                                 f"(give an integer in [0, {n_classes - 1}])")
            class_label = check_int("class_label", class_label, min=0, max=int(n_classes) - 1)
        self.class_label = class_label
        self.guidance_scale = check_scalar("guidance_scale", guidance_scale, low=0.0)
        n_train = int(getattr(scheduler.config, "num_train_timesteps", MAX_INFERENCE_STEPS))
        self.num_inference_steps = check_int("num_inference_steps", num_inference_steps, min=1,
                                             max=min(MAX_INFERENCE_STEPS, n_train))
        self.eta = check_scalar("eta", eta, low=0.0, high=1.0)
        if self.eta > 0 and self.scheduler_name != "ddim":
            raise ValueError(f"eta={self.eta} applies to the DDIM sampler only (this scheduler is "
                             f"{self.scheduler_name!r}); leave eta at 0")
        self.device = check_torch_device("device", device)
        self.dtype = _torch_dtype(dtype)
        check_str("model_path", model_path)
        if prompt is not None:
            check_str("prompt", prompt)
        if self.text and self.guidance_scale > 1.0 and negative_embeds is None:
            raise ValueError("negative_embeds is required when guidance_scale > 1 (classifier-free guidance)")
        self.deterministic = is_deterministic(scheduler, self.eta)
        self.unet = _to(unet, self.device, self.dtype)
        self.vae = None if vae is None else _to(vae, self.device, self.dtype)
        self.scheduler = scheduler
        self.prompt_embeds = self.negative_embeds = None
        if prompt_embeds is not None:
            self.prompt_embeds = torch.as_tensor(prompt_embeds).to(self.device, self.dtype)
            if self.prompt_embeds.ndim == 2:
                self.prompt_embeds = self.prompt_embeds[None]
        if negative_embeds is not None:
            self.negative_embeds = torch.as_tensor(negative_embeds).to(self.device, self.dtype)
            if self.negative_embeds.ndim == 2:
                self.negative_embeds = self.negative_embeds[None]
        self.latent_shape = (cin, h, w)
        self.model_path = model_path
        self.prompt = prompt

    @property
    def do_cfg(self) -> bool:
        """Whether classifier-free guidance is applied (a text-conditional UNet and ``guidance_scale > 1``)."""
        return self.text and self.guidance_scale > 1.0

    @property
    def vae_scale(self) -> float:
        """The decoder's latent scaling factor (0.18215 for SD 1.x when the config has none; 1 without decoder)."""
        if self.vae is None:
            return 1.0
        return float(getattr(self.vae.config, "scaling_factor", 0.18215))

    def _variance_noise(self, seeds: Sequence[int], n_steps: int):
        """DDIM η > 0: the variance noise of all steps of each point, drawn up front from its own generator."""
        import torch

        out = []
        for s in seeds:
            g = torch.Generator(device="cpu").manual_seed(int(s))
            out.append(torch.randn((n_steps,) + self.latent_shape, generator=g, dtype=torch.float32))
        return torch.stack(out, dim=1).to(self.device, self.dtype)  # (steps, n, ...)

    def _decode(self, x):
        if self.vae is None:
            return x
        z = x / self.vae_scale
        shift = getattr(self.vae.config, "shift_factor", None)
        if shift is not None:
            z = z + float(shift)
        return self.vae.decode(z, return_dict=False)[0]

    def __call__(self, latents: Any, seeds: Sequence[int] | None = None) -> tuple[Any, Any]:
        """Generate images for a batch of initial latents.

        Parameters
        ----------
        latents : array_like or torch.Tensor
            Initial latents ``(n, *latent_shape)``, finite.
        seeds : sequence of int, optional
            One noise seed per latent in ``[0, MAX_SEED]``, required by stochastic samplers
            (ignored by deterministic ones): point i's noise comes from a CPU generator
            seeded with ``seeds[i]`` only.

        Returns
        -------
        tuple of torch.Tensor
            ``(images, final_latents)``: images ``(n, C, y, x)`` in [0, 1] (C = the
            decoder's or, in pixel space, the UNet's channels) and the final denoised latents
            ``(n, *latent_shape)``; float64 when the model runs in float64, else float32.

        Raises
        ------
        TypeError
            ``latents`` or ``seeds`` of the wrong type.
        ValueError
            A latent shape mismatch, non-finite latents, or missing/miscounted seeds with a
            stochastic sampler.
        """
        import torch

        latents = _check_latents(latents, self.latent_shape)
        n = latents.shape[0]
        gens = noise = None
        if not self.deterministic:
            if seeds is None:
                raise ValueError(f"seeds must give one noise seed per latent: the {self.scheduler_name!r} sampler "
                                 f"{'with eta > 0 ' if self.eta > 0 else ''}is stochastic")
            if self.eta > 0:
                seeds = check_int_sequence("seeds", seeds, min=0, max=MAX_SEED)
                if len(seeds) != n:
                    raise ValueError(f"seeds must give one noise seed per latent when eta > 0, got {len(seeds)} for {n}")
            else:
                gens = point_generators(seeds, n)
        sched = copy.deepcopy(self.scheduler)
        sched.set_timesteps(self.num_inference_steps, device=self.device)
        x = latents.to(self.device, self.dtype) * getattr(sched, "init_noise_sigma", 1.0)
        cond: dict[str, Any] = {}
        reps = 2 if self.do_cfg else 1
        if self.text:
            emb = self.prompt_embeds.expand(n, -1, -1)
            if self.do_cfg:
                emb = torch.cat([self.negative_embeds.expand(n, -1, -1), emb])
            cond["encoder_hidden_states"] = emb
        if self.class_label is not None:
            cond["class_labels"] = torch.full((reps * n,), self.class_label, dtype=torch.long, device=self.device)
        if self.eta > 0:
            noise = self._variance_noise(seeds, len(sched.timesteps))
        scale = getattr(sched, "scale_model_input", None)
        c = self.latent_shape[0]
        with torch.inference_mode():
            for i, t in enumerate(sched.timesteps):
                inp = torch.cat([x, x]) if self.do_cfg else x
                if scale is not None:
                    inp = scale(inp, t)
                out = self.unet(inp, t, **cond).sample
                if out.shape[1] != c:
                    out = out[:, :c]  # learned variance: keep the mean prediction
                if self.do_cfg:
                    ou, oc = out.chunk(2)
                    out = ou + self.guidance_scale * (oc - ou)
                if self.scheduler_name == "ddim":
                    kw = {"eta": self.eta, "variance_noise": None if noise is None else noise[i]}
                else:
                    kw = {} if gens is None else {"generator": gens}
                x = sched.step(out, t, x, **kw, return_dict=False)[0]
            img = self._decode(x)
        # float64 models keep float64 outputs (finite differences at small steps need them)
        out_dtype = torch.float64 if self.dtype == torch.float64 else torch.float32
        img = (img.to(out_dtype) / 2 + 0.5).clamp(0, 1)
        return img, x.to(out_dtype)

    def config(self) -> dict:
        """The generator's provenance record (model, conditioning, sampler settings, dtype, device).

        Returns
        -------
        dict
            JSON-serialisable, with ``latent_shape`` and ``scheduler`` (the registry name).
        """
        conditioning = "text" if self.text else ("class" if self.class_label is not None else "none")
        return {"kind": "diffusers", "model_path": self.model_path, "unet": self.unet_class,
                "decoder": self.decoder_class, "conditioning": conditioning, "prompt": self.prompt,
                "class_label": self.class_label, "guidance_scale": self.guidance_scale,
                "num_inference_steps": self.num_inference_steps, "eta": self.eta,
                "scheduler": self.scheduler_name, "deterministic": self.deterministic,
                "dtype": str(self.dtype).replace("torch.", ""), "device": str(self.device),
                "latent_shape": list(self.latent_shape)}


class DiffusionGenerator(UNetGenerator):
    """Text-conditional latent sampling with classifier-free guidance (a :class:`UNetGenerator`).

    The Stable-Diffusion-shaped case with the historical signature: a UNet2DConditionModel, a
    VAE and prompt embeddings; any supported sampler.

    Parameters
    ----------
    unet : diffusers.UNet2DConditionModel
        The denoiser.
    vae : diffusers.AutoencoderKL or diffusers.VQModel
        The decoder from latents to images.
    scheduler : diffusers scheduler
        One of the classes of :data:`~statgeo.diffusion.samplers.SAMPLERS`.
    prompt_embeds : array_like or torch.Tensor
        Text embeddings of the prompt, ``(1, seq, dim)`` or ``(seq, dim)``.
    negative_embeds : array_like or torch.Tensor, optional
        Embeddings of the empty/negative prompt (required when ``guidance_scale > 1``).
    guidance_scale : float, default 7.5
        Classifier-free guidance scale s ≥ 0 (guidance is used when s > 1).
    num_inference_steps : int, default 50
        Steps, in ``[1, MAX_INFERENCE_STEPS]`` and at most the scheduler's training steps.
    eta : float, default 0.0
        DDIM η in [0, 1] (0: deterministic; must be 0 for the other samplers).
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
        A component of the wrong type (``vae`` None included), or a non-string
        ``model_path``/``prompt``.
    ValueError
        An unsupported scheduler, embeddings of the wrong shape or with NaN, a missing
        ``negative_embeds`` with guidance, or a setting out of range.
    """

    def __init__(self, unet: Any, vae: Any, scheduler: Any, prompt_embeds: Any, negative_embeds: Any = None, *,
                 guidance_scale: float = 7.5, num_inference_steps: int = 50, eta: float = 0.0, device: str = "cpu",
                 dtype: str = "float32", model_path: str = "", prompt: str | None = None) -> None:
        if vae is None:
            raise TypeError("vae must be a diffusers autoencoder (AutoencoderKL or VQModel); for a pixel-space "
                            "model use UNetGenerator")
        if prompt_embeds is None:
            raise TypeError("prompt_embeds must be an array or tensor of text embeddings (1, seq, dim), got None")
        if _unet_kind(unet) != "UNet2DConditionModel":
            raise TypeError(f"unet must be a diffusers UNet2DConditionModel, got {type(unet).__name__} "
                            "(use UNetGenerator for other UNets)")
        super().__init__(unet, scheduler, vae, prompt_embeds=prompt_embeds, negative_embeds=negative_embeds,
                         guidance_scale=guidance_scale, num_inference_steps=num_inference_steps, eta=eta,
                         device=device, dtype=dtype, model_path=model_path, prompt=prompt)
