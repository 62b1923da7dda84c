"""The digits data: scikit-learn's bundled handwritten digits, upsampled, with a fixed split.

``sklearn.datasets.load_digits`` ships 1797 greyscale digits of 8 × 8 pixels with 17 grey
levels (0 … 16) inside the scikit-learn wheel, so nothing is downloaded. The images are scaled
to [0, 1] and upsampled bilinearly to the requested resolution; the train/test split is
stratified by class with a test fraction of 0.2, fixed by ``seed``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statgeo.checks import check_choice, check_int

__all__ = ["load_digit_images", "shift_images", "TEST_FRACTION", "SPLITS", "N_CLASSES"]

#: fraction of each class held out for the ``"test"`` split
TEST_FRACTION = 0.2

#: the splits :func:`load_digit_images` returns
SPLITS = ("train", "test", "all")

#: number of digit classes
N_CLASSES = 10


def load_digit_images(resolution: int = 16, split: str = "train", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The digits as float images in [0, 1] at ``resolution`` × ``resolution``, and their labels.

    Pixels are ``value / 16`` of the 8 × 8 originals, upsampled with bilinear interpolation
    (``torch.nn.functional.interpolate``, ``align_corners=False``) when ``resolution != 8``.
    The split is ``sklearn.model_selection.train_test_split`` stratified by label with
    ``test_size=0.2`` and ``random_state=seed``: 1437 training and 360 test images, each class
    split in the same proportion.

    Parameters
    ----------
    resolution : int, default 16
        Side of the returned images, in [4, 256].
    split : {"train", "test", "all"}, default "train"
        Which images: the training part, the held-out part, or all 1797 in the original order.
    seed : int, default 0
        Seed of the split, in [0, 2**32 - 1].

    Returns
    -------
    images : numpy.ndarray
        float32 ``(n, 1, resolution, resolution)`` in [0, 1].
    labels : numpy.ndarray
        int64 ``(n,)`` in 0 … 9.

    Raises
    ------
    TypeError
        ``resolution`` or ``seed`` is not an integer.
    ValueError
        ``resolution``, ``split`` or ``seed`` out of range.

    Examples
    --------
    >>> x, y = load_digit_images(16, "test")
    >>> x.shape, x.dtype, y.dtype, float(x.min()), float(x.max())
    ((360, 1, 16, 16), dtype('float32'), dtype('int64'), 0.0, 1.0)
    """
    resolution = check_int("resolution", resolution, min=4, max=256)
    split = check_choice("split", split, SPLITS)
    seed = check_int("seed", seed, min=0, max=2**32 - 1)
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images.astype(np.float32) / 16.0)[:, None]
    labels = digits.target.astype(np.int64)
    if split != "all":
        idx = np.arange(labels.size)
        train, test = train_test_split(idx, test_size=TEST_FRACTION, stratify=labels, random_state=seed)
        idx = np.sort(train if split == "train" else test)
        images, labels = images[idx], labels[idx]
    if resolution != images.shape[-1]:
        with torch.no_grad():
            x = F.interpolate(torch.from_numpy(images), size=(resolution, resolution), mode="bilinear",
                              align_corners=False)
        images = x.clamp(0.0, 1.0).numpy()
    return np.ascontiguousarray(images, dtype=np.float32), labels


def shift_images(x: Any, max_shift: int, generator: Any, fill: float = 0.0) -> Any:
    """Shift every image by its own random whole-pixel offset in [-max_shift, max_shift]² (augmentation).

    The image is padded with ``fill`` and cropped back, so nothing wraps around.

    Parameters
    ----------
    x : torch.Tensor
        Images ``(n, C, H, W)``.
    max_shift : int
        Largest shift in pixels along each axis (≥ 0; 0 returns ``x`` unchanged).
    generator : torch.Generator
        Source of the offsets (CPU).
    fill : float, default 0.0
        Value of the pixels shifted in (the background: 0 for [0, 1] images, -1 for [-1, 1]).

    Returns
    -------
    torch.Tensor
        The shifted images, same shape and dtype.
    """
    import torch
    import torch.nn.functional as F

    max_shift = check_int("max_shift", max_shift, min=0)
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    s = max_shift
    offsets = torch.randint(0, 2 * s + 1, (n, 2), generator=generator)
    padded = F.pad(x, (s, s, s, s), value=fill)
    rows = (offsets[:, 0, None] + torch.arange(h)[None, :])  # (n, h)
    cols = (offsets[:, 1, None] + torch.arange(w)[None, :])  # (n, w)
    idx_r = rows[:, None, :, None].expand(n, x.shape[1], h, w + 2 * s)
    out = padded.gather(2, idx_r)
    idx_c = cols[:, None, None, :].expand(n, x.shape[1], h, w)
    return out.gather(3, idx_c)
