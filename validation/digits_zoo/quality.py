"""Quality gates of the digits zoo, measured with the classifier on deterministic samples.

Gates (:data:`GATES`): the classifier's accuracy on the held-out 20 % of the digits is at
least 0.97; of ``n_samples`` DDIM (η = 0) samples of each unconditional generator, at least
85 % are classified with confidence ≥ 0.9 and every class makes up between 4 % and 16 %;
of the class-conditional model's samples (``n_samples / 10`` per class) at least 90 % are
classified as the requested class. Samples come from the statgeo adapter
(:func:`statgeo.diffusion.load_generator`), exactly as a user's model would be sampled.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from statgeo.checks import check_int
from validation.digits_zoo.data import N_CLASSES, load_digit_images

__all__ = ["zoo_quality", "gate_results", "GATES", "CONFIDENCE"]

#: confidence a sample's label needs to count as confidently classified
CONFIDENCE = 0.9

#: (key path, comparison, threshold) of every gate
GATES = (
    (("classifier_accuracy",), ">=", 0.97),
    (("pixel", "confident_fraction"), ">=", 0.85),
    (("pixel", "class_fraction_min"), ">=", 0.04),
    (("pixel", "class_fraction_max"), "<=", 0.16),
    (("latent", "confident_fraction"), ">=", 0.85),
    (("latent", "class_fraction_min"), ">=", 0.04),
    (("latent", "class_fraction_max"), "<=", 0.16),
    (("conditional", "requested_class_fraction"), ">=", 0.90),
)


def _sample(path: Any, n: int, seed: int, steps: int, batch_size: int, class_label: int | None = None) -> np.ndarray:
    import torch

    from statgeo.diffusion import PipelineSpec, load_generator

    gen = load_generator(PipelineSpec(str(path), scheduler="ddim", eta=0.0, num_inference_steps=steps,
                                      class_label=class_label))
    latents = torch.randn((n,) + tuple(gen.latent_shape), generator=torch.Generator().manual_seed(seed),
                          dtype=torch.float32).to(gen.dtype)
    out = []
    for b in range(0, n, batch_size):
        images, _ = gen(latents[b:b + batch_size], None)
        out.append(np.asarray(images.float().cpu() if hasattr(images, "cpu") else images, dtype=np.float32))
    return np.concatenate(out)


def _label_stats(labels: np.ndarray, confidence: np.ndarray) -> dict:
    frac = np.bincount(labels, minlength=N_CLASSES) / labels.size
    return {"confident_fraction": float(np.mean(confidence >= CONFIDENCE)),
            "class_fraction_min": float(frac.min()), "class_fraction_max": float(frac.max()),
            "class_fractions": [float(f) for f in frac]}


def zoo_quality(zoo: Any, n_samples: int = 1000, seed: int = 0, num_inference_steps: int = 50,
                batch_size: int = 250) -> dict:
    """Measure the zoo's quality gates.

    Initial latents are ``torch.randn`` from a CPU generator seeded with ``seed`` (the same
    latents for each class of the conditional model); sampling is DDIM with η = 0 through
    :func:`statgeo.diffusion.load_generator`.

    Parameters
    ----------
    zoo : Zoo
        A zoo from :func:`~validation.digits_zoo.zoo.build_zoo` or
        :func:`~validation.digits_zoo.zoo.load_zoo`.
    n_samples : int, default 1000
        Samples per unconditional generator, in [10, 100000]; the conditional model draws
        ``n_samples // 10`` per class.
    seed : int, default 0
        Seed of the initial latents, in [0, 2**32 - 1].
    num_inference_steps : int, default 50
        DDIM steps, in [1, 1000].
    batch_size : int, default 250
        Samples per generator call, ≥ 1.

    Returns
    -------
    dict
        ``classifier_accuracy``; for ``pixel`` and ``latent``: ``confident_fraction``,
        ``class_fraction_min``, ``class_fraction_max``, ``class_fractions``; for
        ``conditional`` the same plus ``requested_class_fraction``; ``gates`` (gate name →
        passed), ``seconds`` per generator and the settings.

    Raises
    ------
    TypeError
        ``zoo`` is not a :class:`~validation.digits_zoo.zoo.Zoo` or an integer argument is not
        an integer.
    ValueError
        An integer argument out of range.
    """
    from validation.digits_zoo.classifier import classifier_accuracy, load_classifier
    from validation.digits_zoo.zoo import SPLIT_SEED, Zoo

    if not isinstance(zoo, Zoo):
        raise TypeError(f"zoo must be a Zoo (from build_zoo or load_zoo), got {type(zoo).__name__}")
    n_samples = check_int("n_samples", n_samples, min=10, max=100_000)
    seed = check_int("seed", seed, min=0, max=2**32 - 1)
    steps = check_int("num_inference_steps", num_inference_steps, min=1, max=1000)
    batch_size = check_int("batch_size", batch_size, min=1)
    clf = load_classifier(zoo.classifier)
    xt, yt = load_digit_images(zoo.config.resolution, "test", SPLIT_SEED)
    out: dict[str, Any] = {"classifier_accuracy": classifier_accuracy(clf, xt, yt), "n_samples": n_samples,
                           "seed": seed, "num_inference_steps": steps, "seconds": {}}
    for name in ("pixel", "latent"):
        t0 = time.perf_counter()
        lab, conf = clf.classify(_sample(getattr(zoo, name), n_samples, seed, steps, batch_size))
        out[name] = _label_stats(lab, conf)
        out["seconds"][name] = time.perf_counter() - t0
    t0 = time.perf_counter()
    per_class = n_samples // N_CLASSES
    labels, confs, requested = [], [], []
    for k in range(N_CLASSES):
        lab, conf = clf.classify(_sample(zoo.conditional, per_class, seed, steps, batch_size, class_label=k))
        labels.append(lab)
        confs.append(conf)
        requested.append(np.full(per_class, k))
    lab, conf, req = np.concatenate(labels), np.concatenate(confs), np.concatenate(requested)
    out["conditional"] = {**_label_stats(lab, conf), "requested_class_fraction": float(np.mean(lab == req)),
                          "requested_class_fraction_per_class": [float(np.mean(lab[req == k] == k))
                                                                 for k in range(N_CLASSES)]}
    out["seconds"]["conditional"] = time.perf_counter() - t0
    out["gates"] = gate_results(out)
    return out


def gate_results(quality: dict) -> dict[str, bool]:
    """Which gates a :func:`zoo_quality` result passes.

    Parameters
    ----------
    quality : dict
        The result of :func:`zoo_quality`.

    Returns
    -------
    dict
        ``"<generator>.<key>"`` (or ``"classifier_accuracy"``) → passed.

    Raises
    ------
    TypeError
        ``quality`` is not a dict.
    KeyError
        A measured value is missing.
    """
    if not isinstance(quality, dict):
        raise TypeError(f"quality must be a dict from zoo_quality, got {type(quality).__name__}")
    res = {}
    for path, op, thr in GATES:
        v = quality
        for k in path:
            v = v[k]
        res[".".join(path)] = bool(v >= thr) if op == ">=" else bool(v <= thr)
    return res
