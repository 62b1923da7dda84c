"""Sample quality of a latent diffusion model, measured with the digits zoo's classifier.

Samples are decoded to pixels, clipped to [-1, 1] and mapped to [0, 1]. Measures:

* confident fraction: the share of samples the classifier labels with probability ≥ 0.9
  (the zoo's quality-gate threshold);
* class balance: the total-variation distance of the class fractions from uniform;
* Fréchet distance between Gaussians fitted to the classifier's penultimate features of the
  samples and of the real training digits (the FID recipe of Heusel et al. 2017 with the
  digit classifier in place of Inception).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from validation.latent_diffusability.statistics import class_balance, frechet_distance

__all__ = ["penultimate_features", "sample_quality", "CONFIDENCE"]

#: probability a label needs for the sample to count as confidently classified
CONFIDENCE = 0.9


def _images01(pixels: Any) -> np.ndarray:
    from validation.latent_diffusability.encoders import RESOLUTION

    x = np.clip(np.asarray(pixels, dtype=np.float64), -1.0, 1.0)
    return ((x + 1.0) / 2.0).reshape(-1, 1, RESOLUTION, RESOLUTION).astype(np.float32)


def penultimate_features(classifier: Any, pixels: Any) -> np.ndarray:
    """The classifier's penultimate features (not normalised) of flattened pixel images.

    Parameters
    ----------
    classifier : DigitClassifier
        The zoo's classifier.
    pixels : array_like
        ``(n, D)`` flattened images in [-1, 1] (clipped), at the encoders' resolution.

    Returns
    -------
    numpy.ndarray
        float64 ``(n, features)``.
    """
    import torch

    x, _ = classifier.prepare(_images01(pixels))  # resized to the classifier's resolution
    with torch.no_grad():
        return torch.cat([classifier.penultimate(x[b:b + 512]) for b in range(0, len(x), 512)]).double().numpy()


def sample_quality(classifier: Any, pixels: Any, real_features: np.ndarray) -> dict:
    """Confident fraction, class balance and Fréchet distance of decoded samples.

    Parameters
    ----------
    classifier : DigitClassifier
        The zoo's classifier.
    pixels : array_like
        ``(n, D)`` decoded samples (clipped to [-1, 1] here).
    real_features : numpy.ndarray
        :func:`penultimate_features` of the real training digits.

    Returns
    -------
    dict
        ``confident_fraction``, ``class_balance_tv``, ``class_fractions``,
        ``frechet_distance``, ``n_samples``.
    """
    labels, conf = classifier.classify(_images01(pixels))
    bal = class_balance(labels, 10)
    return {"confident_fraction": float(np.mean(conf >= CONFIDENCE)), "class_balance_tv": bal["class_balance_tv"],
            "class_fractions": bal["class_fractions"],
            "frechet_distance": frechet_distance(penultimate_features(classifier, pixels), real_features),
            "n_samples": int(len(labels))}
