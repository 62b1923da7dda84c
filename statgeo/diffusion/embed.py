"""Image embedders: images → L2-normalised feature vectors (the input of feature-kernel posteriors).

Protocol: ``embedder(images)`` with images of shape ``(..., channel, y, x)``, uint8 in
[0, 255] or float in [0, 1], returns float32 ``(..., feature)`` with unit L2 norm along the
last axis. :class:`OpenClipEmbedder` wraps an open_clip model loaded from local weights
only (the paper used CLIP ViT-L/14); :class:`PixelEmbedder` is a weight-free baseline.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from typing import Any, Protocol, runtime_checkable

import numpy as np
import xarray as xr

from statgeo.checks import check_int

log = logging.getLogger(__name__)

__all__ = ["Embedder", "OpenClipEmbedder", "PixelEmbedder", "add_embeddings", "as_float_images"]

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


@runtime_checkable
class Embedder(Protocol):
    """images (…, channel, y, x) → embedding (…, feature), L2-normalised."""

    name: str

    def __call__(self, images: Any) -> np.ndarray: ...


def as_float_images(images) -> "Any":
    """uint8 [0, 255] or float [0, 1] images → float torch tensor (n, C, H, W) and the batch shape.

    uint8 becomes float32 / 255; float64 stays float64 (finite differences need it); other
    floats become float32.
    """
    import torch

    x = images if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images))
    if x.ndim < 3:
        raise ValueError(f"images must have shape (..., channel, y, x), got {tuple(x.shape)}")
    batch = tuple(x.shape[:-3])
    x = x.reshape((-1,) + tuple(x.shape[-3:]))
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    elif x.dtype != torch.float64:
        x = x.float()
    if not torch.isfinite(x).all():
        raise ValueError("images contain NaN or inf")
    return x, batch


def _l2(f):
    return f / f.norm(dim=-1, keepdim=True).clamp_min(1e-12)


class PixelEmbedder:
    """Downsampled pixels as features: φ(x) = vec(resize(x, size)) / ‖·‖ (weight-free baseline)."""

    def __init__(self, size: int = 8, center: bool = True) -> None:
        self.size = check_int("size", size, min=1)
        self.center = bool(center)
        self.name = f"pixels{self.size}"

    def __call__(self, images) -> np.ndarray:
        import torch.nn.functional as F

        x, batch = as_float_images(images)
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        f = x.reshape(x.shape[0], -1)
        if self.center:
            f = f - 0.5
        return _l2(f).numpy().reshape(batch + (f.shape[-1],))


class OpenClipEmbedder:
    """CLIP image features from an open_clip model with local weights.

    φ(x) = E(normalise(resize(x))) / ‖E(·)‖ with E the CLIP image tower (Radford et al. 2021).

    Parameters
    ----------
    model_name : an open_clip architecture name (e.g. ``"ViT-L-14"``) or the name to register
        ``config`` under.
    pretrained : path to a local checkpoint file, or None for random initialisation (tests).
        Hub names are refused: nothing is downloaded.
    config : optional open_clip model config dict (``embed_dim``, ``vision_cfg``, ``text_cfg``),
        registered under ``model_name`` before the model is built.
    device : torch device; batch_size : images per forward pass.
    """

    def __init__(self, model_name: str, pretrained: str | os.PathLike | None = None, *, config: dict | None = None,
                 device: str = "cpu", batch_size: int = 64) -> None:
        import open_clip
        import torch

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.batch_size = check_int("batch_size", batch_size, min=1)
        if pretrained is not None:
            pretrained = os.fspath(pretrained)
            if not os.path.isfile(pretrained):
                raise FileNotFoundError(f"CLIP weights not found: {pretrained!r} (pretrained must be a local file path)")
        if config is not None:
            with tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, f"{model_name}.json"), "w") as fh:
                    json.dump(config, fh)
                open_clip.add_model_config(d)
        elif model_name not in open_clip.list_models():
            raise ValueError(f"model_name {model_name!r} is not a known open_clip architecture; pass config=")
        self.device = torch.device(device)
        self.model = open_clip.create_model(model_name, pretrained=pretrained, device=self.device).eval()
        size = self.model.visual.image_size
        self.image_size = tuple(size) if isinstance(size, (tuple, list)) else (int(size), int(size))
        try:
            cfg = open_clip.get_model_preprocess_cfg(self.model)
            self.mean, self.std = tuple(cfg.get("mean", OPENAI_MEAN)), tuple(cfg.get("std", OPENAI_STD))
        except Exception:  # older open_clip
            self.mean, self.std = OPENAI_MEAN, OPENAI_STD
        self.name = f"open_clip:{model_name}"
        self.pretrained = pretrained

    def __call__(self, images) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        x, batch = as_float_images(images)
        x = x.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        out = []
        with torch.inference_mode():
            for b in range(0, x.shape[0], self.batch_size):
                xb = F.interpolate(x[b:b + self.batch_size], size=self.image_size, mode="bicubic", antialias=True,
                                   align_corners=False).clamp(0, 1)
                xb = ((xb - mean) / std).to(self.device)
                out.append(_l2(self.model.encode_image(xb).float()).cpu())
        f = torch.cat(out)
        return f.numpy().reshape(batch + (f.shape[-1],))


def add_embeddings(ds: xr.Dataset, embedder: Embedder, *, var: str = "image", progress: bool = True) -> xr.Dataset:
    """Return a copy of ``ds`` with ``embedding`` (…, feature) from ``embedder(ds[var])``.

    The embedder's name is recorded in the variable's attrs.
    """
    from tqdm.auto import tqdm

    if var not in ds:
        raise ValueError(f"dataset has no variable {var!r} (variables: {list(ds.data_vars)})")
    if not callable(embedder):
        raise TypeError(f"embedder must be callable, got {type(embedder).__name__}")
    img = ds[var]
    spatial = ("channel", "y", "x")
    lead = [d for d in img.dims if d not in spatial]
    img = img.transpose(*lead, *spatial)
    flat = img.values.reshape((-1,) + img.shape[-3:])
    chunk = 256
    feats = []
    for b in tqdm(range(0, flat.shape[0], chunk), desc="embed", disable=_disable(progress)):
        feats.append(np.asarray(embedder(flat[b:b + chunk]), dtype=np.float32))
    f = np.concatenate(feats).reshape(img.shape[:-3] + (-1,))
    out = ds.copy()
    out["embedding"] = (tuple(lead) + ("feature",), f,
                        {"long_name": "L2-normalised image embedding", "units": "1",
                         "embedder": str(getattr(embedder, "name", type(embedder).__name__))})
    return out


def _disable(progress: bool):
    if not progress or os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes"):
        return True
    return None
