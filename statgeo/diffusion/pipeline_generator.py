"""Any diffusers pipeline whose ``__call__`` accepts ``latents=`` as a latent → image generator.

:class:`PipelineGenerator` calls the pipeline itself (Stable Diffusion, SDXL, SD3, Flux, a
consistency model, …) once per batch with the batch's initial latents, one CPU
``torch.Generator`` per point (the noise rule of :mod:`statgeo.diffusion.samplers`) and
``output_type="np"``; the pipeline's own conditioning, guidance and sampler settings come from
the keyword arguments given at construction.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any, Sequence

import numpy as np

from statgeo.diffusion._checks import check_shape, check_str
from statgeo.diffusion._tensor_checks import _check_images, _check_latents
from statgeo.diffusion.samplers import is_deterministic, point_generators, sampler_name

__all__ = ["PipelineGenerator"]

#: call arguments the generator sets itself (per batch)
RESERVED = ("latents", "generator", "output_type", "return_dict", "num_images_per_prompt", "batch_size")


def _denoiser(pipe: Any) -> Any:
    for name in ("unet", "transformer", "prior"):
        model = getattr(pipe, name, None)
        if model is not None and hasattr(model, "config"):
            return model
    return None


def _infer_latent_shape(pipe: Any, model: Any, kwargs: dict) -> tuple[int, ...]:
    """The latent shape the pipeline expects, from its denoiser's config and the call's height/width."""
    cfg = model.config
    cin = getattr(cfg, "in_channels", None)
    vsf = int(getattr(pipe, "vae_scale_factor", 1) or 1) if getattr(pipe, "vae", None) is not None else 1
    size = getattr(pipe, "default_sample_size", None) or getattr(cfg, "sample_size", None)
    if isinstance(size, (list, tuple)) and len(size) == 2:
        size_h, size_w = size
    else:
        size_h = size_w = size
    if not isinstance(cin, int) or not isinstance(size_h, int) or not isinstance(size_w, int):
        raise ValueError(f"cannot infer the latent shape of {type(pipe).__name__} from its denoiser's config "
                         f"(in_channels={cin!r}, sample_size={size!r}): pass latent_shape=")
    height = kwargs.get("height") or size_h * vsf
    width = kwargs.get("width") or size_w * vsf
    if hasattr(type(pipe), "_pack_latents"):  # Flux-style: 2×2 patches packed into the channel axis
        return ((int(height) // (vsf * 2)) * (int(width) // (vsf * 2)), cin)
    return (cin, int(height) // vsf, int(width) // vsf)


def _json_value(v: Any) -> Any:
    """A JSON-safe summary of a call argument (tensors as shape + SHA-1 of their float32 bytes)."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)) and all(x is None or isinstance(x, (bool, int, float, str)) for x in v):
        return list(v)
    try:
        import torch

        t = v.detach().cpu() if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v))
        digest = hashlib.sha1(np.ascontiguousarray(t.float().numpy()).tobytes()).hexdigest()
        return {"shape": list(t.shape), "sha1": digest}
    except (TypeError, ValueError, RuntimeError):
        return type(v).__name__


class PipelineGenerator:
    """Wrap a diffusers pipeline whose ``__call__`` accepts ``latents=`` as a latent → image generator.

    Each batch is one pipeline call ``pipe(latents=z, generator=[g_0, …, g_{n−1}],
    output_type="np", **call_kwargs)`` with g_i a CPU ``torch.Generator`` seeded with point
    i's seed, and the batch size set the way the pipeline takes it: ``batch_size=n``
    (unconditional pipelines), ``num_images_per_prompt=n`` with a text ``prompt``, or, with
    embeddings instead of a prompt, every ``*embeds*`` tensor of batch 1 repeated n times
    (``num_images_per_prompt=1``; pipelines differ in whether they repeat given embeddings).
    Images are returned as float32 ``(n, C, y, x)`` in [0, 1] (the pipeline's own
    post-processing, which maps [−1, 1] to [0, 1]).

    The latent shape is inferred from the denoiser (``pipe.unet`` or ``pipe.transformer``):
    ``(in_channels, height / vae_scale_factor, width / vae_scale_factor)`` with height/width
    from ``call_kwargs`` or the pipeline's default; for pipelines that pack latents (Flux:
    ``_pack_latents``) it is the packed ``((height / (2 vsf)) · (width / (2 vsf)), in_channels)``,
    i.e. the user passes the packed latents the transformer sees (pack unpacked
    ``(16, h, w)`` latents with ``pipe._pack_latents``). Pass ``latent_shape`` for any other
    layout.

    Parameters
    ----------
    pipe : diffusers.DiffusionPipeline
        The pipeline (on its device and dtype; its progress bar is switched off).
    latent_shape : sequence of int, optional
        The shape of one latent (default: inferred, see above).
    name : str, default ""
        Recorded in the configuration (default: the pipeline's ``name_or_path`` or class).
    **call_kwargs
        Passed to every pipeline call (prompt or prompt_embeds, guidance_scale,
        num_inference_steps, height, width, …). The generator sets ``latents``,
        ``generator``, ``output_type``, ``return_dict`` and the batch size itself.

    Raises
    ------
    TypeError
        ``pipe`` is not a diffusers pipeline or its ``__call__`` takes no ``latents``;
        ``latent_shape`` or ``name`` of the wrong type.
    ValueError
        ``call_kwargs`` sets a reserved argument, names one the pipeline does not take, or
        gives several prompts; the latent shape cannot be inferred.

    Notes
    -----
    Stochastic samplers (a scheduler outside :data:`~statgeo.diffusion.samplers.SAMPLERS` is
    treated as stochastic) need one seed per latent; a point's noise then comes from its own
    generator only, provided the pipeline's scheduler draws through diffusers'
    ``randn_tensor`` with the generator it is given (all of the library's schedulers do).
    A pipeline object is not thread-safe (its scheduler keeps state): give each thread its own.

    Examples
    --------
    >>> import torch
    >>> from diffusers import StableDiffusionPipeline
    >>> pipe = StableDiffusionPipeline.from_pretrained("/models/sd15", local_files_only=True)  # doctest: +SKIP
    >>> gen = PipelineGenerator(pipe, prompt="a cat", num_inference_steps=20)  # doctest: +SKIP
    >>> images, _ = gen(torch.randn(2, *gen.latent_shape))  # doctest: +SKIP
    """

    def __init__(self, pipe: Any, *, latent_shape: Sequence[int] | None = None, name: str = "",
                 **call_kwargs: Any) -> None:
        import diffusers

        if not isinstance(pipe, diffusers.DiffusionPipeline):
            raise TypeError(f"pipe must be a diffusers DiffusionPipeline, got {type(pipe).__name__}")
        params = inspect.signature(pipe.__call__).parameters
        if "latents" not in params:
            raise TypeError(f"pipe: {type(pipe).__name__}.__call__ takes no latents= argument, so its initial "
                            "latents cannot be set; wrap its components with UNetGenerator instead")
        bad = sorted(set(call_kwargs) & set(RESERVED))
        if bad:
            raise ValueError(f"call_kwargs must not set {bad}: the generator sets them per batch")
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            unknown = sorted(set(call_kwargs) - set(params))
            if unknown:
                raise ValueError(f"call_kwargs {unknown} are not arguments of {type(pipe).__name__}.__call__")
        prompt = call_kwargs.get("prompt")
        if isinstance(prompt, (list, tuple)) and len(prompt) != 1:
            raise ValueError(f"call_kwargs prompt must be one prompt (the batch is the latents), got {len(prompt)}")
        check_str("name", name)
        self.pipe = pipe
        self.call_kwargs = dict(call_kwargs)
        model = _denoiser(pipe)
        if latent_shape is not None:
            self.latent_shape = check_shape("latent_shape", latent_shape)
        elif model is None:
            raise ValueError(f"cannot infer the latent shape of {type(pipe).__name__} (no unet or transformer): "
                             "pass latent_shape=")
        else:
            self.latent_shape = _infer_latent_shape(pipe, model, call_kwargs)
        self.dtype = getattr(model, "dtype", None) or pipe.dtype
        self.device = pipe._execution_device if hasattr(pipe, "_execution_device") else pipe.device
        self._batch_arg = ("num_images_per_prompt" if "num_images_per_prompt" in params
                           else "batch_size" if "batch_size" in params else None)
        self._callback = "callback_on_step_end" in params and "callback_on_step_end" not in call_kwargs
        sched = getattr(pipe, "scheduler", None)
        try:
            self.scheduler_name = sampler_name(sched)
            self.deterministic = is_deterministic(sched, float(call_kwargs.get("eta", 0.0) or 0.0))
        except ValueError:
            self.scheduler_name = type(sched).__name__
            self.deterministic = False
        self.name = name or str(getattr(pipe.config, "_name_or_path", "") or type(pipe).__name__)
        pipe.set_progress_bar_config(disable=True)

    def __call__(self, latents: Any, seeds: Sequence[int] | None = None) -> tuple[Any, Any]:
        """Generate images for a batch of initial latents with one pipeline call.

        Parameters
        ----------
        latents : array_like or torch.Tensor
            Initial latents ``(n, *latent_shape)``, finite (cast to the pipeline's dtype).
        seeds : sequence of int, optional
            One noise seed per latent in ``[0, MAX_SEED]``; required when the sampler is
            stochastic, otherwise optional (the per-point generators are passed either way).

        Returns
        -------
        tuple
            ``(images, final_latents)``: images float32 ``(n, C, y, x)`` in [0, 1]; the
            final latents (float32, as the pipeline holds them, e.g. packed for Flux) when
            the pipeline takes ``callback_on_step_end``, else None.

        Raises
        ------
        TypeError
            ``latents`` or ``seeds`` of the wrong type, or the pipeline returned something
            other than an array or tensor of images.
        ValueError
            A latent shape mismatch, non-finite latents, missing/miscounted seeds with a
            stochastic sampler, or non-finite images.
        """
        import torch

        latents = _check_latents(latents, self.latent_shape)
        n = latents.shape[0]
        if seeds is None and not self.deterministic:
            raise ValueError(f"seeds must give one noise seed per latent: the pipeline's sampler "
                             f"({self.scheduler_name}) is stochastic or not known to be deterministic")
        gens = None if seeds is None else point_generators(seeds, n)
        kwargs = dict(self.call_kwargs)
        kwargs.update(latents=latents.to(self.device, self.dtype), generator=gens, output_type="np")
        if self._batch_arg == "batch_size":
            kwargs["batch_size"] = n
        elif self._batch_arg is not None:
            text = isinstance(kwargs.get("prompt"), (str, list, tuple))
            kwargs[self._batch_arg] = n if text else 1
            if not text:  # embeddings given: one row per latent (pipelines differ in how they repeat them)
                for k, v in kwargs.items():
                    if "embeds" in k and isinstance(v, torch.Tensor) and v.ndim >= 1 and v.shape[0] == 1:
                        kwargs[k] = v.expand(n, *v.shape[1:])
        final: dict[str, Any] = {}
        if self._callback:
            def keep(pipe, step, timestep, callback_kwargs):
                final["latents"] = callback_kwargs.get("latents")
                return {}

            kwargs["callback_on_step_end"] = keep
        with torch.inference_mode():
            out = self.pipe(**kwargs)
        images = out.images if hasattr(out, "images") else out[0]
        if isinstance(images, np.ndarray):
            if images.ndim != 4:
                raise ValueError(f"{type(self.pipe).__name__} returned images of shape {images.shape}, "
                                 "expected (n, y, x, channel)")
            images = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        elif not isinstance(images, torch.Tensor):
            raise TypeError(f"{type(self.pipe).__name__} returned {type(images).__name__} images with "
                            "output_type='np'; expected an array")
        images = _check_images(images.float(), n, f"the output of {type(self.pipe).__name__}")
        last = final.get("latents")
        return images.clamp(0, 1), (None if last is None else last.float())

    def config(self) -> dict:
        """The generator's provenance record (pipeline, call arguments, sampler, dtype, device).

        Returns
        -------
        dict
            JSON-serialisable, with ``latent_shape`` and ``scheduler`` (the registry name, or
            the class name of a scheduler outside the registry).
        """
        return {"kind": "pipeline", "pipeline": type(self.pipe).__name__, "name": self.name,
                "call_kwargs": {k: _json_value(v) for k, v in sorted(self.call_kwargs.items())},
                "scheduler": self.scheduler_name, "deterministic": self.deterministic,
                "dtype": str(self.dtype).replace("torch.", ""), "device": str(self.device),
                "latent_shape": list(self.latent_shape)}
