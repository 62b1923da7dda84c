"""Find and load the components of a local diffusers model (no downloads).

Three layouts are read (:func:`open_model`):

* a directory written by ``DiffusionPipeline.save_pretrained`` (it has ``model_index.json``):
  the index says which components exist and their classes; each is loaded with its own class;
* a plain component directory: ``unet/`` and ``scheduler/``, optionally ``vae/``
  (``AutoencoderKL``, or the class its ``config.json`` names) or ``vqvae/`` (``VQModel``),
  and ``tokenizer/`` + ``text_encoder/`` to encode prompts;
* a single-file Stable Diffusion checkpoint (``.safetensors``/``.ckpt``), through
  ``StableDiffusionPipeline.from_single_file``.

Configurations are read first (cheap JSON) so that a missing component, an unsupported UNet
or decoder class and conditioning that does not fit the UNet are reported before any weights
are loaded. Everything is loaded with ``local_files_only=True``.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModelSource", "open_model", "UNET_CLASSES", "DECODER_CLASSES"]

#: the UNet classes the adapter samples with itself
UNET_CLASSES = ("UNet2DModel", "UNet2DConditionModel")
#: the decoder classes (sub-folder ``vae`` or ``vqvae``)
DECODER_CLASSES = ("AutoencoderKL", "VQModel")
_DEFAULT_DECODER = {"vae": "AutoencoderKL", "vqvae": "VQModel"}


def _accelerate_available() -> bool:
    """Whether ``accelerate`` is installed: diffusers loads with ``low_cpu_mem_usage`` only then.

    Passing the flag explicitly avoids diffusers' "accelerate was not found" warning, which it
    prints when the default (True) cannot be honoured.
    """
    return importlib.util.find_spec("accelerate") is not None


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read {path!r}: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"{path!r} does not hold a JSON object")
    return data


def _config(path: str, sub: str, file: str) -> dict:
    f = os.path.join(path, sub, file)
    if not os.path.isfile(f):
        raise FileNotFoundError(f"model directory {path!r}: the {sub!r} component has no {file}")
    return _read_json(f)


@dataclass
class ModelSource:
    """The components of one local model, found from its configurations (weights not yet loaded).

    Parameters
    ----------
    path : str
        The model directory or single file.
    layout : str
        ``"pipeline"`` (``model_index.json``), ``"components"`` or ``"single_file"``.
    unet_class : str
        One of :data:`UNET_CLASSES`.
    unet_config : dict
        The UNet's configuration.
    scheduler_config : dict
        The saved scheduler's configuration (with ``_class_name``).
    decoder : str, optional
        The decoder's sub-folder (``"vae"`` or ``"vqvae"``), None in pixel space.
    decoder_class : str, optional
        One of :data:`DECODER_CLASSES`.
    text : tuple of str, optional
        ``(tokenizer class, text encoder class)`` when both components exist.
    pipe : object, optional
        The loaded single-file pipeline (layout ``"single_file"``).
    """

    path: str
    layout: str
    unet_class: str
    unet_config: dict
    scheduler_config: dict
    decoder: str | None = None
    decoder_class: str | None = None
    text: tuple[str, str] | None = None
    pipe: Any = field(default=None, repr=False)
    _text_models: Any = field(default=None, init=False, repr=False)

    @property
    def text_conditional(self) -> bool:
        """Whether the UNet takes text embeddings (a UNet2DConditionModel)."""
        return self.unet_class == "UNet2DConditionModel"

    @property
    def num_class_embeds(self) -> int | None:
        """The number of classes of a class-conditional UNet (None otherwise)."""
        k = self.unet_config.get("num_class_embeds")
        return int(k) if isinstance(k, int) else None

    def check_conditioning(self, *, has_prompt: bool, has_embeds: bool, needs_negative: bool,
                           class_label: int | None) -> None:
        """Refuse conditioning that does not fit the UNet, before any weights are loaded.

        Parameters
        ----------
        has_prompt : bool
            A text prompt was given.
        has_embeds : bool
            Prompt embeddings were given.
        needs_negative : bool
            Guidance needs the negative prompt encoded (no negative embeddings given).
        class_label : int, optional
            The requested class.

        Raises
        ------
        FileNotFoundError
            A prompt must be encoded but the tokenizer or text encoder is missing.
        ValueError
            A text-conditional UNet without prompt or embeddings, text given to a UNet that
            takes none, a class label for a UNet without classes, or a missing/out-of-range
            class label for a class-conditional one.
        """
        addition = self.unet_config.get("addition_embed_type")
        if addition is not None:
            raise ValueError(f"the UNet of {self.path!r} needs added conditions (addition_embed_type={addition!r}, "
                             "e.g. SDXL): load the pipeline with diffusers and wrap it with PipelineGenerator")
        if self.text_conditional:
            if not (has_prompt or has_embeds):
                raise ValueError(f"the UNet of {self.path!r} is text-conditional (UNet2DConditionModel): give "
                                 "prompt or prompt_embeds")
            if (not has_embeds or needs_negative) and self.text is None and self.layout != "single_file":
                raise FileNotFoundError(f"encoding the prompt needs the 'tokenizer' and 'text_encoder' components of "
                                        f"{self.path!r}; pass prompt_embeds (and negative_embeds) instead")
        elif has_prompt or has_embeds:
            raise ValueError(f"the UNet of {self.path!r} ({self.unet_class}) is not text-conditional: "
                             "drop prompt/prompt_embeds")
        k = self.num_class_embeds
        if k is None and class_label is not None:
            raise ValueError(f"class_label={class_label} given but the UNet of {self.path!r} is not class-conditional "
                             "(its config has no num_class_embeds)")
        if k is not None and (class_label is None or not 0 <= class_label < k):
            raise ValueError(f"class_label must be an integer in [0, {k - 1}]: the UNet of {self.path!r} is "
                             f"class-conditional with {k} classes, got {class_label!r}")

    def load_unet(self) -> Any:
        """The UNet, loaded with its own class.

        Returns
        -------
        diffusers.UNet2DModel or diffusers.UNet2DConditionModel
        """
        if self.pipe is not None:
            return self.pipe.unet
        import diffusers

        return getattr(diffusers, self.unet_class).from_pretrained(
            self.path, subfolder="unet", local_files_only=True, low_cpu_mem_usage=_accelerate_available())

    def load_decoder(self) -> Any:
        """The decoder (None in pixel space), loaded with its own class.

        Returns
        -------
        diffusers.AutoencoderKL or diffusers.VQModel or None
        """
        if self.pipe is not None:
            return self.pipe.vae
        if self.decoder is None:
            return None
        import diffusers

        return getattr(diffusers, self.decoder_class).from_pretrained(
            self.path, subfolder=self.decoder, local_files_only=True, low_cpu_mem_usage=_accelerate_available())

    def encode_prompt(self, prompt: str, device: Any) -> Any:
        """Encode one prompt with the model's own tokenizer and text encoder.

        Parameters
        ----------
        prompt : str
            The text.
        device : torch.device
            Where the text encoder runs.

        Returns
        -------
        torch.Tensor
            Float32 embeddings ``(1, seq, dim)`` (the text encoder's last hidden state).

        Raises
        ------
        FileNotFoundError
            The model has no tokenizer or text encoder.
        """
        import torch

        if self.pipe is not None and getattr(self.pipe, "tokenizer", None) is not None:
            tok, enc = self.pipe.tokenizer, self.pipe.text_encoder
        elif self._text_models is not None:
            tok, enc = self._text_models
        else:
            if self.text is None:
                raise FileNotFoundError(f"encoding a prompt needs the 'tokenizer' and 'text_encoder' components of "
                                        f"{self.path!r}; pass prompt_embeds directly or provide the components")
            import transformers

            tok = getattr(transformers, self.text[0]).from_pretrained(self.path, subfolder="tokenizer",
                                                                      local_files_only=True)
            enc = getattr(transformers, self.text[1]).from_pretrained(self.path, subfolder="text_encoder",
                                                                      local_files_only=True)
            self._text_models = (tok, enc)
        enc = enc.to(device).eval()
        ids = tok([prompt], padding="max_length", max_length=tok.model_max_length, truncation=True,
                  return_tensors="pt").input_ids.to(device)
        with torch.inference_mode():
            return enc(ids)[0].float()


def _text_classes(path: str, index: dict | None) -> tuple[str, str] | None:
    if index is not None:
        tok, enc = index.get("tokenizer"), index.get("text_encoder")
        if isinstance(tok, list) and isinstance(enc, list) and tok[1] and enc[1]:
            return str(tok[1]), str(enc[1])
        return None
    if not (os.path.isdir(os.path.join(path, "tokenizer")) and os.path.isdir(os.path.join(path, "text_encoder"))):
        return None
    tok_cfg = os.path.join(path, "tokenizer", "tokenizer_config.json")
    tok = _read_json(tok_cfg).get("tokenizer_class") if os.path.isfile(tok_cfg) else None
    enc_cfg = os.path.join(path, "text_encoder", "config.json")
    arch = _read_json(enc_cfg).get("architectures") if os.path.isfile(enc_cfg) else None
    enc = arch[0] if isinstance(arch, list) and arch and isinstance(arch[0], str) else None
    return (tok if isinstance(tok, str) else "CLIPTokenizer"), (enc or "CLIPTextModel")


def _components(index: dict) -> dict[str, str]:
    """Component name → class name, for the components a ``model_index.json`` says exist."""
    out = {}
    for k, v in index.items():
        if not k.startswith("_") and isinstance(v, list) and len(v) == 2 and isinstance(v[1], str):
            out[k] = v[1]
    return out


def _open_directory(path: str) -> ModelSource:
    index_file = os.path.join(path, "model_index.json")
    index = _read_json(index_file) if os.path.isfile(index_file) else None
    if index is not None:
        comps = _components(index)
        what = f"the pipeline directory {path!r} ({index.get('_class_name', 'unknown pipeline')})"
        if "unet" not in comps:
            if "transformer" in comps:
                raise ValueError(f"{what} has a transformer ({comps['transformer']}), not a UNet: load it with "
                                 "diffusers' DiffusionPipeline.from_pretrained(path, local_files_only=True) and wrap "
                                 "it with statgeo.diffusion.PipelineGenerator(pipe, ...)")
            raise FileNotFoundError(f"{what} has no 'unet' component (components: {sorted(comps) or 'none'})")
        if "scheduler" not in comps:
            raise FileNotFoundError(f"{what} has no 'scheduler' component")
        unet_class = comps["unet"]
        decoders = [d for d in ("vae", "vqvae") if d in comps]
        decoder_classes = {d: comps[d] for d in decoders}
    else:
        for sub in ("unet", "scheduler"):
            if not os.path.isdir(os.path.join(path, sub)):
                raise FileNotFoundError(
                    f"model directory {path!r} lacks the {sub!r} sub-folder (expected a directory written by "
                    "DiffusionPipeline.save_pretrained, with model_index.json, or the components unet/, "
                    "scheduler/ and optionally vae/ or vqvae/)")
        unet_class = _config(path, "unet", "config.json").get("_class_name", "UNet2DConditionModel")
        decoders = [d for d in ("vae", "vqvae") if os.path.isdir(os.path.join(path, d))]
        decoder_classes = {}
        for d in decoders:
            f = os.path.join(path, d, "config.json")
            decoder_classes[d] = (_read_json(f).get("_class_name") if os.path.isfile(f) else None) or _DEFAULT_DECODER[d]
    if unet_class not in UNET_CLASSES:
        raise ValueError(f"model {path!r}: unsupported UNet class {unet_class!r}; the adapter samples "
                         f"{' and '.join(UNET_CLASSES)} (wrap other pipelines with PipelineGenerator)")
    if len(decoders) > 1:
        raise ValueError(f"model {path!r} has both 'vae' and 'vqvae' components: keep the one the UNet was trained on")
    decoder = decoders[0] if decoders else None
    decoder_class = decoder_classes.get(decoder) if decoder else None
    if decoder is not None and decoder_class not in DECODER_CLASSES:
        raise ValueError(f"model {path!r}: unsupported decoder class {decoder_class!r} in {decoder!r}; supported: "
                         f"{', '.join(DECODER_CLASSES)}")
    unet_config = _config(path, "unet", "config.json")
    sched_config = _config(path, "scheduler", "scheduler_config.json")
    return ModelSource(path=path, layout="pipeline" if index is not None else "components", unet_class=unet_class,
                       unet_config=unet_config, scheduler_config=sched_config, decoder=decoder,
                       decoder_class=decoder_class, text=_text_classes(path, index))


def _open_single_file(path: str, dtype: Any, extra: dict) -> ModelSource:
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_single_file(path, local_files_only=True, torch_dtype=dtype, **extra)
    sched = dict(pipe.scheduler.config)
    sched.setdefault("_class_name", type(pipe.scheduler).__name__)
    return ModelSource(path=path, layout="single_file", unet_class=type(pipe.unet).__name__,
                       unet_config=dict(pipe.unet.config), scheduler_config=sched, decoder="vae",
                       decoder_class=type(pipe.vae).__name__, text=None, pipe=pipe)


def open_model(path: str, *, dtype: Any = None, extra: dict | None = None) -> ModelSource:
    """Find the components of a local model (reading configurations; a single file is loaded).

    Parameters
    ----------
    path : str
        An existing directory (``model_index.json`` or component sub-folders) or a single-file
        checkpoint.
    dtype : torch.dtype, optional
        The precision a single-file checkpoint is loaded in.
    extra : dict, optional
        Keyword arguments of ``from_single_file`` (single files only).

    Returns
    -------
    ModelSource

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist, or a required component (``unet``, ``scheduler``) or its
        configuration is missing.
    ValueError
        A transformer pipeline (use ``PipelineGenerator``), an unsupported UNet or decoder
        class, both ``vae`` and ``vqvae``, or an unreadable configuration.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"model path not found: {path!r}")
    if os.path.isfile(path):
        return _open_single_file(path, dtype, dict(extra or {}))
    return _open_directory(path)
