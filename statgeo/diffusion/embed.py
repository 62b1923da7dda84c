"""Image embedders: images → L2-normalised feature vectors (the input of feature-kernel posteriors).

Protocol: ``embedder(images)`` with images of shape ``(..., channel, y, x)``, uint8 in
[0, 255] or float in [0, 1], returns float32 ``(..., feature)`` with unit L2 norm along the
last axis. :class:`OpenClipEmbedder` wraps an open_clip model loaded from local weights
only (the paper used CLIP ViT-L/14); :class:`PixelEmbedder` is a weight-free baseline
(docs/diffusion.md, "Embeddings").
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from typing import Any, Protocol, runtime_checkable

import numpy as np
import xarray as xr

from statgeo.checks import check_allocation, check_bool, check_callable, check_int
from statgeo.diffusion._checks import check_dict, check_path, check_str, check_torch_device
from statgeo.progress import progress_bar, progress_disabled

log = logging.getLogger(__name__)

__all__ = ["Embedder", "OpenClipEmbedder", "PixelEmbedder", "add_embeddings", "as_float_images"]

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

#: images embedded per call of the embedder in :func:`add_embeddings`
EMBED_CHUNK = 256


@runtime_checkable
class Embedder(Protocol):
    """The embedder interface: images (…, channel, y, x) → embeddings (…, feature), L2-normalised.

    Parameters
    ----------
    *args, **kwargs : Any
        None: a Protocol describes an interface (checked with ``isinstance``) and is not
        instantiated.

    Attributes
    ----------
    name : str
        Recorded with the embeddings.
    """

    name: str

    def __call__(self, images: Any) -> np.ndarray:
        """Embed images.

        Parameters
        ----------
        images : array_like
            Shape ``(..., channel, y, x)``, uint8 in [0, 255] or float in [0, 1].

        Returns
        -------
        numpy.ndarray
            float32 ``(..., feature)`` with unit L2 norm along the last axis.
        """
        ...


def as_float_images(images: Any) -> tuple[Any, tuple[int, ...]]:
    """uint8 [0, 255] or float [0, 1] images → a float torch tensor (n, C, H, W) and the batch shape.

    uint8 becomes float32 / 255; float64 stays float64 (finite differences need it); other
    floats become float32.

    Parameters
    ----------
    images : array_like or torch.Tensor
        Shape ``(..., channel, y, x)`` (at least 3-D), real, finite.

    Returns
    -------
    tuple
        ``(x, batch)``: the tensor ``(n, C, H, W)`` and the leading batch shape ``(...)``.

    Raises
    ------
    TypeError
        ``images`` is not an array of real numbers.
    ValueError
        Fewer than 3 dimensions, an empty batch, or NaN/inf.

    Examples
    --------
    >>> x, batch = as_float_images(np.full((2, 5, 3, 4, 4), 255, np.uint8))
    >>> tuple(x.shape), batch, float(x.max())
    ((10, 3, 4, 4), (2, 5), 1.0)
    """
    import torch

    if isinstance(images, (str, bytes)) or images is None:
        raise TypeError(f"images must be an array of images (..., channel, y, x), got {type(images).__name__}")
    if isinstance(images, torch.Tensor):
        x = images
        if x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"images must be real (uint8 or float), got dtype {x.dtype}")
    else:
        arr = np.asarray(images)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"images must be real (uint8 or float), got dtype {arr.dtype}")
        x = torch.as_tensor(arr)
    if x.ndim < 3:
        raise ValueError(f"images must have shape (..., channel, y, x), got {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"images must not be empty, got shape {tuple(x.shape)}")
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
    """Downsampled pixels as features: φ(x) = vec(resize(x, size) − ½) / ‖·‖ (weight-free baseline).

    Parameters
    ----------
    size : int, default 8
        Side of the downsampled image (≥ 1; one feature vector of 3 × size² floats must fit
        in memory).
    center : bool, default True
        Subtract ½ before normalising (so a grey image is not the only direction).

    Raises
    ------
    TypeError
        ``size`` is not an integer or ``center`` not a bool.
    ValueError
        ``size`` below 1 or too large for memory.

    Examples
    --------
    >>> f = PixelEmbedder(4)(np.random.default_rng(0).random((2, 3, 8, 8)))
    >>> f.shape, bool(np.allclose(np.linalg.norm(f, axis=-1), 1.0))
    ((2, 48), True)
    """

    def __init__(self, size: int = 8, center: bool = True) -> None:
        self.size = check_int("size", size, min=1)
        check_allocation("one feature vector (3, size, size)", (3, self.size, self.size), np.float32, names="size")
        self.center = check_bool("center", center)
        self.name = f"pixels{self.size}"

    def __call__(self, images: Any) -> np.ndarray:
        """Embed images (see :class:`Embedder`).

        Parameters
        ----------
        images : array_like
            Shape ``(..., channel, y, x)``, uint8 or float in [0, 1], finite.

        Returns
        -------
        numpy.ndarray
            ``(..., channel * size * size)``, unit L2 norm (float64 input stays float64,
            otherwise float32).

        Raises
        ------
        TypeError
            ``images`` is not real.
        ValueError
            Bad shape, NaN/inf, or features too large for memory.
        """
        import torch.nn.functional as F

        x, batch = as_float_images(images)
        check_allocation("the features (images, channel, size, size)", (x.shape[0], x.shape[1], self.size, self.size),
                         np.float64, names="size and the number of images")
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        f = x.reshape(x.shape[0], -1)
        if self.center:
            f = f - 0.5
        return _l2(f).numpy().reshape(batch + (f.shape[-1],))


class OpenClipEmbedder:
    """CLIP image features from an open_clip model with local weights.

    φ(x) = E(normalise(resize(x))) / ‖E(·)‖ with E the CLIP image tower (Radford et al. 2021):
    bicubic antialiased resize to the model's image size, then the model's mean/std.

    Parameters
    ----------
    model_name : str
        An open_clip architecture name (e.g. ``"ViT-L-14"``) or the name to register
        ``config`` under.
    pretrained : str or os.PathLike, optional
        Path to a local checkpoint file, or None for random initialisation (tests). Hub names
        are refused: nothing is downloaded.
    config : dict, optional
        An open_clip model config (``embed_dim``, ``vision_cfg``, ``text_cfg``), registered
        under ``model_name`` before the model is built.
    device : str, default "cpu"
        Torch device.
    batch_size : int, default 64
        Images per forward pass (≥ 1).

    Raises
    ------
    FileNotFoundError
        ``pretrained`` is not an existing file.
    TypeError
        An argument of the wrong type.
    ValueError
        An unknown architecture without ``config``, a bad device or ``batch_size``.
    """

    def __init__(self, model_name: str, pretrained: str | os.PathLike | None = None, *, config: dict | None = None,
                 device: str = "cpu", batch_size: int = 64) -> None:
        check_str("model_name", model_name, empty=False)
        self.batch_size = check_int("batch_size", batch_size, min=1)
        check_dict("config", config)
        dev = check_torch_device("device", device)
        if pretrained is not None:
            pretrained = check_path("pretrained", pretrained)
            if not os.path.isfile(pretrained):
                raise FileNotFoundError(f"CLIP weights not found: {pretrained!r} (pretrained must be a local file path)")
        import open_clip

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if config is not None:
            with tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, f"{model_name}.json"), "w") as fh:
                    json.dump(config, fh)
                open_clip.add_model_config(d)
        elif model_name not in open_clip.list_models():
            raise ValueError(f"model_name {model_name!r} is not a known open_clip architecture; pass config=")
        self.device = dev
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

    def __call__(self, images: Any) -> np.ndarray:
        """Embed images (see :class:`Embedder`); grey images are repeated to 3 channels.

        Parameters
        ----------
        images : array_like
            Shape ``(..., channel, y, x)`` with 1 or 3 channels, uint8 or float in [0, 1].

        Returns
        -------
        numpy.ndarray
            float32 ``(..., embed_dim)``, unit L2 norm.

        Raises
        ------
        TypeError
            ``images`` is not real.
        ValueError
            Bad shape (channels other than 1 or 3) or NaN/inf.
        """
        import torch
        import torch.nn.functional as F

        x, batch = as_float_images(images)
        if x.shape[1] not in (1, 3):
            raise ValueError(f"images must have 1 or 3 channels, got shape {tuple(x.shape)}")
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


def add_embeddings(ds: xr.Dataset, embedder: Embedder, *, var: str = "image", progress: bool | None = None) -> xr.Dataset:
    """Return a copy of ``ds`` with ``embedding`` (…, feature) from ``embedder(ds[var])``.

    Images are embedded in chunks of 256; the embedder's name is recorded in the variable's
    attrs.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep (e.g. from :func:`~statgeo.diffusion.sweep`).
    embedder : Embedder
        Any callable images → features (e.g. :class:`OpenClipEmbedder`, :class:`PixelEmbedder`).
    var : str, default "image"
        The image variable, with dims ``channel``, ``y``, ``x``.
    progress : bool or None, default None
        Show a progress bar: None on a terminal only, False never, True always
        (``TQDM_DISABLE=1`` always hides it).

    Returns
    -------
    xarray.Dataset
        A copy of ``ds`` with ``embedding`` over the non-image dims of ``var`` and ``feature``.

    Raises
    ------
    TypeError
        ``ds`` is not a Dataset, ``embedder`` not callable, or ``var`` not a string.
    ValueError
        ``var`` is missing or lacks the image dims, or the embedder returns features of the
        wrong shape or NaN.

    Examples
    --------
    >>> ds = xr.Dataset({"image": (("point", "channel", "y", "x"), np.zeros((2, 3, 4, 4), np.uint8))})
    >>> add_embeddings(ds, PixelEmbedder(2), progress=False).embedding.shape
    (2, 12)
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    check_callable("embedder", embedder)
    check_str("var", var)
    progress_disabled(progress)
    if var not in ds:
        raise ValueError(f"dataset has no variable {var!r} (variables: {list(ds.data_vars)})")
    img = ds[var]
    spatial = ("channel", "y", "x")
    if not set(spatial) <= set(img.dims):
        raise ValueError(f"variable {var!r} must have the image dims {spatial}, got {img.dims}")
    lead = [d for d in img.dims if d not in spatial]
    img = img.transpose(*lead, *spatial)
    flat = img.values.reshape((-1,) + img.shape[-3:])
    feats = []
    for b in progress_bar(range(0, flat.shape[0], EMBED_CHUNK), progress=progress, desc="embed"):
        f = np.asarray(embedder(flat[b:b + EMBED_CHUNK]), dtype=np.float32)
        m = min(EMBED_CHUNK, flat.shape[0] - b)
        if f.ndim != 2 or f.shape[0] != m:
            raise ValueError(f"embedder must return features of shape ({m}, feature) for {m} images, got {f.shape}")
        if not np.isfinite(f).all():
            raise ValueError(f"embedder returned NaN or inf features for images {b} to {b + m - 1}")
        feats.append(f)
    f = np.concatenate(feats).reshape(img.shape[:-3] + (-1,))
    out = ds.copy()
    out["embedding"] = (tuple(lead) + ("feature",), f,
                        {"long_name": "L2-normalised image embedding", "units": "1",
                         "embedder": str(getattr(embedder, "name", type(embedder).__name__))})
    return out
