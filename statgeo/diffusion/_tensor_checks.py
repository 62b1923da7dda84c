"""Checks on what generators take and return: latents, images, text embeddings, modules (private).

Shared by :mod:`~statgeo.diffusion.pipeline`, :mod:`~statgeo.diffusion.unet_generator`,
:mod:`~statgeo.diffusion.pipeline_generator` and :mod:`~statgeo.diffusion.synthetic`. Every
helper raises ``TypeError``/``ValueError`` naming the argument; torch is imported inside.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def _check_latents(latents: Any, shape: tuple[int, ...]):
    """A finite ``(n ≥ 1, *shape)`` batch of latents as a torch tensor."""
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


def _check_module(name: str, module: Any, needs: Sequence[str]) -> None:
    """``module`` is a torch module with the attributes ``needs``."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module (a diffusers model), got {type(module).__name__}")
    missing = [a for a in needs if not hasattr(module, a)]
    if missing:
        raise TypeError(f"{name} must be a diffusers model with {', '.join(needs)}, got {type(module).__name__}")


def _check_embeds(name: str, value: Any, dim: int | None):
    """Text embeddings ``(1, seq, dim)`` or ``(seq, dim)``, finite, with the given last dimension."""
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


def _to(module, device, dtype):
    """``module`` in ``dtype`` on ``device``, in eval mode (moved only when needed)."""
    p = next(module.parameters(), None)
    if p is not None and p.dtype != dtype:
        module = module.to(dtype=dtype)
    if p is not None and p.device != device:
        module = module.to(device)
    return module.eval()
