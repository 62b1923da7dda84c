"""The digit classifier: a small CNN on 16 × 16 digits, used as the phase labeller and as an embedder.

:class:`DigitClassifier` maps images in [0, 1] to class logits; :meth:`DigitClassifier.classify`
returns the arg-max label and its softmax probability (the confidence), and
:meth:`DigitClassifier.embedder` wraps the penultimate layer as a statgeo
:class:`~statgeo.diffusion.embed.Embedder`. Saved as ``config.json`` + ``weights.pt``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable

import numpy as np

from statgeo.checks import check_bool, check_int, check_path
from validation.digits_zoo.config import ClassifierConfig
from validation.digits_zoo.data import N_CLASSES, shift_images
from validation.digits_zoo.training import batch_order, lr_at, optimiser_step

__all__ = ["DigitClassifier", "ClassifierEmbedder", "load_classifier", "train_classifier", "classifier_accuracy"]

#: images per forward pass in :meth:`DigitClassifier.classify` and the embedder
CHUNK = 512


def _module_base():
    import torch.nn as nn

    return nn.Module


class DigitClassifier(_module_base()):
    """A small CNN: three 3 × 3 convolution stages (16 → 8 → 4 pixels), a penultimate layer, 10 logits.

    Input images are ``(n, 1, resolution, resolution)`` floats in [0, 1]; they are mapped to
    [-1, 1] inside :meth:`forward`.

    Parameters
    ----------
    channels : tuple of int, default (32, 64, 64)
        Widths of the three convolution stages (each ≥ 1).
    features : int, default 128
        Width of the penultimate layer (≥ 1), the embedding dimension.
    resolution : int, default 16
        Side of the input images (a multiple of 4, ≥ 4).

    Raises
    ------
    TypeError
        A width or the resolution is not an integer.
    ValueError
        A width below 1 or a resolution that is not a positive multiple of 4.
    """

    def __init__(self, channels: tuple[int, int, int] = (32, 64, 64), features: int = 128, resolution: int = 16) -> None:
        import torch.nn as nn

        super().__init__()
        if not isinstance(channels, (tuple, list)) or len(channels) != 3:
            raise ValueError(f"channels must be three integers, got {channels!r}")
        c0, c1, c2 = (check_int(f"channels[{i}]", c, min=1) for i, c in enumerate(channels))
        self.features_dim = check_int("features", features, min=1)
        self.resolution = check_int("resolution", resolution, min=4)
        if self.resolution % 4:
            raise ValueError(f"resolution must be a multiple of 4, got {self.resolution}")
        self.channels = (c0, c1, c2)
        self.body = nn.Sequential(
            nn.Conv2d(1, c0, 3, padding=1), nn.ReLU(), nn.Conv2d(c0, c0, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c0, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.Flatten(),
            nn.Linear(c2 * (self.resolution // 4) ** 2, self.features_dim), nn.ReLU(),
        )
        self.head = nn.Linear(self.features_dim, N_CLASSES)

    def config(self) -> dict:
        """The architecture, as saved in ``config.json``.

        Returns
        -------
        dict
            ``channels``, ``features``, ``resolution``, ``n_classes``.
        """
        return {"channels": list(self.channels), "features": self.features_dim, "resolution": self.resolution,
                "n_classes": N_CLASSES}

    def penultimate(self, x: Any) -> Any:
        """Penultimate features (after the ReLU) of images already at the model's resolution.

        Parameters
        ----------
        x : torch.Tensor
            ``(n, 1, resolution, resolution)`` in [0, 1].

        Returns
        -------
        torch.Tensor
            ``(n, features)``.
        """
        return self.body(x * 2.0 - 1.0)

    def forward(self, x: Any) -> Any:
        """Class logits of images already at the model's resolution.

        Parameters
        ----------
        x : torch.Tensor
            ``(n, 1, resolution, resolution)`` in [0, 1].

        Returns
        -------
        torch.Tensor
            ``(n, 10)`` logits.
        """
        return self.head(self.penultimate(x))

    def prepare(self, images: Any) -> tuple[Any, tuple[int, ...]]:
        """Any images → a float tensor ``(n, 1, resolution, resolution)`` in [0, 1], and the batch shape.

        uint8 images are divided by 255; RGB images become grey (channel mean); other sizes are
        resized bilinearly (antialiased). float64 input stays float64.

        Parameters
        ----------
        images : array_like or torch.Tensor
            ``(..., channel, y, x)`` with 1 or 3 channels, uint8 or float in [0, 1].

        Returns
        -------
        tuple
            ``(x, batch)``.

        Raises
        ------
        TypeError
            ``images`` is not an array of real numbers.
        ValueError
            Fewer than 3 dimensions, an empty batch, NaN/inf, or a channel count other than
            1 or 3.
        """
        import torch.nn.functional as F

        from statgeo.diffusion.embed import as_float_images

        x, batch = as_float_images(images)
        if x.shape[1] not in (1, 3):
            raise ValueError(f"images must have 1 or 3 channels, got shape {tuple(x.shape)}")
        if x.shape[1] == 3:
            x = x.mean(dim=1, keepdim=True)
        if tuple(x.shape[-2:]) != (self.resolution, self.resolution):
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False,
                              antialias=True)
        return x, batch

    def _run(self, x: Any, fn: Callable) -> Any:
        import torch

        net = self if x.dtype == torch.float32 else _float64_copy(self)
        with torch.no_grad():
            return torch.cat([fn(net, x[b:b + CHUNK]) for b in range(0, x.shape[0], CHUNK)])

    def classify(self, images: Any) -> tuple[np.ndarray, np.ndarray]:
        """The most probable digit of each image and its softmax probability.

        Parameters
        ----------
        images : array_like or torch.Tensor
            ``(..., channel, y, x)`` with 1 or 3 channels, uint8 or float in [0, 1], any size.

        Returns
        -------
        labels : numpy.ndarray
            int64 ``(...)`` in 0 … 9.
        confidence : numpy.ndarray
            float64 ``(...)``: the softmax probability of the label.

        Raises
        ------
        TypeError
            ``images`` is not an array of real numbers.
        ValueError
            Bad shape, NaN/inf, or a channel count other than 1 or 3.
        """
        x, batch = self.prepare(images)
        p = self._run(x, lambda net, xb: net(xb).double().softmax(dim=-1))
        conf, lab = p.max(dim=-1)
        return lab.numpy().astype(np.int64).reshape(batch), conf.numpy().astype(np.float64).reshape(batch)

    def probabilities(self, images: Any) -> np.ndarray:
        """Softmax class probabilities.

        Parameters
        ----------
        images : array_like or torch.Tensor
            ``(..., channel, y, x)`` with 1 or 3 channels, uint8 or float in [0, 1], any size.

        Returns
        -------
        numpy.ndarray
            float64 ``(..., 10)``.
        """
        x, batch = self.prepare(images)
        p = self._run(x, lambda net, xb: net(xb).double().softmax(dim=-1))
        return p.numpy().reshape(batch + (N_CLASSES,))

    def embedder(self, normalize: bool = True) -> ClassifierEmbedder:
        """The penultimate layer as a statgeo embedder.

        Parameters
        ----------
        normalize : bool, default True
            Divide each feature vector by its L2 norm (the :class:`~statgeo.diffusion.embed.Embedder`
            convention).

        Returns
        -------
        ClassifierEmbedder
        """
        return ClassifierEmbedder(self, normalize=normalize)

    def save(self, path: str | os.PathLike, extra: dict | None = None) -> None:
        """Write ``config.json`` (architecture + ``extra``) and ``weights.pt`` into the directory ``path``.

        Parameters
        ----------
        path : str or os.PathLike
            Directory (created if missing).
        extra : dict, optional
            More JSON-serialisable entries for ``config.json`` (e.g. the test accuracy).
        """
        import torch

        path = check_path("path", path)
        os.makedirs(path, exist_ok=True)
        torch.save(self.state_dict(), os.path.join(path, "weights.pt"))
        with open(os.path.join(path, "config.json"), "w") as fh:
            json.dump({**self.config(), **(extra or {})}, fh, indent=2)


def _float64_copy(model: DigitClassifier) -> DigitClassifier:
    """A float64 copy of ``model`` (for float64 input), cached on the model until its weights change."""
    import copy

    version = tuple(p._version for p in model.parameters())
    hit = model.__dict__.get("_float64_cache")
    if hit is None or hit[0] != version:
        model.__dict__.pop("_float64_cache", None)
        hit = (version, copy.deepcopy(model).double().eval())
        object.__setattr__(model, "_float64_cache", hit)  # a plain attribute, not a submodule
    return hit[1]


class ClassifierEmbedder:
    """Penultimate features of a :class:`DigitClassifier` as a statgeo embedder.

    φ(x) = h(x) / ‖h(x)‖ with h the classifier's penultimate (post-ReLU) layer, or h(x) itself
    when ``normalize`` is False.

    Parameters
    ----------
    classifier : DigitClassifier
        The trained classifier.
    normalize : bool, default True
        Return unit-L2-norm features (the statgeo embedder convention).

    Raises
    ------
    TypeError
        ``classifier`` is not a :class:`DigitClassifier` or ``normalize`` not a bool.
    """

    def __init__(self, classifier: DigitClassifier, normalize: bool = True) -> None:
        if not isinstance(classifier, DigitClassifier):
            raise TypeError(f"classifier must be a DigitClassifier, got {type(classifier).__name__}")
        self.classifier = classifier.eval()
        self.normalize = check_bool("normalize", normalize)
        self.dim = classifier.features_dim
        self.name = f"digits_classifier{self.dim}" + ("" if normalize else "_raw")

    def __call__(self, images: Any) -> np.ndarray:
        """Embed images (see :class:`~statgeo.diffusion.embed.Embedder`).

        Parameters
        ----------
        images : array_like or torch.Tensor
            ``(..., channel, y, x)`` with 1 or 3 channels, uint8 or float in [0, 1], any size
            (resized to the classifier's resolution).

        Returns
        -------
        numpy.ndarray
            float64 ``(..., features)`` (unit L2 norm when ``normalize``; computed in float64
            when the input is float64).

        Raises
        ------
        TypeError
            ``images`` is not an array of real numbers.
        ValueError
            Bad shape, NaN/inf, or a channel count other than 1 or 3.
        """
        x, batch = self.classifier.prepare(images)
        f = self.classifier._run(x, lambda net, xb: net.penultimate(xb)).double()
        if self.normalize:
            f = f / f.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return f.numpy().reshape(batch + (self.dim,))


def load_classifier(path: str | os.PathLike) -> DigitClassifier:
    """Load a classifier saved by :meth:`DigitClassifier.save` (the zoo's ``root/classifier``).

    Parameters
    ----------
    path : str or os.PathLike
        The directory holding ``config.json`` and ``weights.pt``.

    Returns
    -------
    DigitClassifier
        In eval mode, float32, on the CPU.

    Raises
    ------
    TypeError
        ``path`` is not a path.
    FileNotFoundError
        ``config.json`` or ``weights.pt`` is missing.
    """
    import torch

    path = check_path("path", path)
    cfg_file, w_file = os.path.join(path, "config.json"), os.path.join(path, "weights.pt")
    for f in (cfg_file, w_file):
        if not os.path.isfile(f):
            raise FileNotFoundError(f"not a digit classifier directory: {f} is missing")
    with open(cfg_file) as fh:
        cfg = json.load(fh)
    model = DigitClassifier(tuple(cfg["channels"]), cfg["features"], cfg["resolution"])
    model.load_state_dict(torch.load(w_file, map_location="cpu", weights_only=True))
    return model.eval()


def classifier_accuracy(model: DigitClassifier, images: Any, labels: Any) -> float:
    """Fraction of ``images`` classified as ``labels``.

    Parameters
    ----------
    model : DigitClassifier
        The classifier.
    images : array_like
        ``(n, channel, y, x)`` images (see :meth:`DigitClassifier.classify`).
    labels : array_like
        ``(n,)`` true labels.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        ``labels`` does not have one entry per image.
    """
    pred, _ = model.classify(images)
    labels = np.asarray(labels)
    if labels.shape != pred.shape:
        raise ValueError(f"labels must have shape {pred.shape}, got {labels.shape}")
    return float(np.mean(pred == labels))


def train_classifier(images: np.ndarray, labels: np.ndarray, config: ClassifierConfig, seed: int,
                     progress: Callable[[int], Any] | None = None) -> DigitClassifier:
    """Train a :class:`DigitClassifier` with Adam on cross-entropy, shift augmentation, cosine decay.

    Deterministic for a given ``seed`` and thread count: the initial weights come from
    ``torch.manual_seed(seed)`` and the batches and shifts from generators seeded with ``seed``.

    Parameters
    ----------
    images : numpy.ndarray
        float32 ``(n, 1, r, r)`` in [0, 1] (:func:`~validation.digits_zoo.data.load_digit_images`).
    labels : numpy.ndarray
        int64 ``(n,)``.
    config : ClassifierConfig
        Architecture and optimiser settings.
    seed : int
        Seed (≥ 0).
    progress : callable, optional
        Called with the number of steps done after each step.

    Returns
    -------
    DigitClassifier
        In eval mode.
    """
    import torch
    import torch.nn.functional as F

    seed = check_int("seed", seed, min=0)
    torch.manual_seed(seed)
    model = DigitClassifier(config.channels, config.features, images.shape[-1])
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    batches = batch_order(x_all.shape[0], config.batch_size, rng)
    warmup = max(1, config.steps // 20)
    model.train()
    for step in range(config.steps):
        idx = torch.from_numpy(next(batches))
        xb = shift_images(x_all[idx], config.max_shift, gen, fill=0.0)
        loss = F.cross_entropy(model(xb), y_all[idx])
        optimiser_step(opt, loss, lr_at(step, config.steps, config.lr, warmup))
        if progress is not None:
            progress(step + 1)
    return model.eval()
