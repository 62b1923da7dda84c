"""Slice search: three seeds whose anchor latents decode to three different digit classes.

Candidate seeds are tried in order (``offset``, ``offset + 1``, …). Each candidate's anchor is
the latent the slice puts at its corner, renormalise(randn(seed)) (docs/diffusion.md, "Slice
conventions"), decoded by the generator and classified. A slice takes the first candidate
classified with confidence ≥ ``min_confidence``, then the first such candidate of another
class, then the first of a third class; further slices repeat this on the candidates not yet
used. The search is deterministic, and every candidate's label and confidence is recorded.
When no such triple exists (an untrained model, as in CI), the triple with the most distinct
classes is taken, with a warning, and the slice is marked ``three_classes = False``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

__all__ = ["generate_images", "search_slices"]

log = logging.getLogger("validation.digits")


def generate_images(generator: Any, latents: np.ndarray, batch_size: int) -> np.ndarray:
    """Decode float64 latents ``(n, *latent_shape)`` in batches (cast to the generator's dtype).

    Latent i gets noise seed ``point_seeds(0, n)[i]``, the library's per-point rule, so a
    stochastic sampler gives each anchor the same image whatever the batch size.

    Parameters
    ----------
    generator : LatentGenerator
        The generator.
    latents : numpy.ndarray
        The latents, float64.
    batch_size : int
        Latents per call.

    Returns
    -------
    numpy.ndarray
        float64 images ``(n, C, y, x)`` in [0, 1].

    Raises
    ------
    ValueError
        The generator returned NaN or inf.
    """
    import torch

    out = []
    for s in range(0, latents.shape[0], batch_size):
        z = torch.from_numpy(np.ascontiguousarray(latents[s:s + batch_size])).to(generator.dtype)
        im, _ = generator(z, list(range(s, s + z.shape[0])))
        im = im.double().cpu().numpy() if hasattr(im, "cpu") else np.asarray(im, dtype=np.float64)
        if not np.isfinite(im).all():
            raise ValueError(f"the generator returned NaN or inf for latents {s} to {s + z.shape[0] - 1}")
        out.append(im)
    return np.concatenate(out)


def search_slices(generator: Any, classifier: Any, n_slices: int, *, offset: int = 0, candidates: int = 128,
                  min_confidence: float = 0.9, batch_size: int = 256) -> tuple[list[dict], dict]:
    """Find ``n_slices`` seed triples whose anchors decode to three different classes.

    Parameters
    ----------
    generator : LatentGenerator
        The generator.
    classifier : object
        ``classify(images) -> (labels, confidence)``.
    n_slices : int
        Seed triples wanted (disjoint).
    offset : int, default 0
        First candidate seed.
    candidates : int, default 128
        Candidate seeds tried.
    min_confidence : float, default 0.9
        Confidence an anchor must reach.
    batch_size : int, default 256
        Latents per generator call.

    Returns
    -------
    tuple
        ``(slices, record)``: per slice ``seeds``, ``labels``, ``confidence``,
        ``three_classes``; the record of
        every candidate (``seeds``, ``labels``, ``confidence``).

    Raises
    ------
    RuntimeError
        Fewer than three unused candidates for a slice.
    """
    from statgeo.diffusion import anchors_from_seeds, renormalise

    seeds = np.arange(offset, offset + candidates, dtype=np.int64)
    shape = tuple(generator.latent_shape)
    z = renormalise(anchors_from_seeds([int(s) for s in seeds], shape), "std")
    labels, conf = classifier.classify(generate_images(generator, z, batch_size))
    labels, conf = np.asarray(labels, dtype=np.int64), np.asarray(conf, dtype=np.float64)
    ok = conf >= min_confidence
    used = np.zeros(seeds.size, dtype=bool)
    slices = []
    for _ in range(n_slices):
        pick: list[int] = []
        for i in range(seeds.size):
            if used[i] or not ok[i] or any(labels[i] == labels[j] for j in pick):
                continue
            pick.append(i)
            if len(pick) == 3:
                break
        three = len(pick) == 3
        if not three:  # an untrained (CI) model: the most distinct classes, most confident first, any confidence
            found = sorted({int(c) for c in labels[ok & ~used]})
            log.warning("slice search: no seed triple with three different classes at confidence >= %.2f among "
                        "seeds %d..%d (confident classes left: %s); taking the triple with the most classes",
                        min_confidence, offset, offset + candidates - 1, found)
            pick = []
            for i in np.argsort(-conf, kind="stable"):
                if not used[i] and all(labels[i] != labels[j] for j in pick):
                    pick.append(int(i))
            for i in range(seeds.size):
                if len(pick) >= 3:
                    break
                if not used[i] and i not in pick:
                    pick.append(i)
            pick = sorted(pick[:3])
            if len(pick) < 3:
                raise RuntimeError(f"slice search: fewer than 3 unused candidate seeds left for slice {len(slices)}; "
                                   "raise the candidates")
        used[pick] = True
        slices.append({"seeds": [int(seeds[i]) for i in pick], "labels": [int(labels[i]) for i in pick],
                       "confidence": [float(conf[i]) for i in pick], "three_classes": bool(three)})
    record = {"seeds": seeds.tolist(), "labels": labels.tolist(), "confidence": conf.round(6).tolist(),
              "min_confidence": float(min_confidence)}
    return slices, record
