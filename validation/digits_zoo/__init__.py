"""The digits model zoo: real diffusion models and a classifier, trained offline on the CPU.

scikit-learn ships 1797 handwritten 8 × 8 digits inside its wheel; upsampled to 16 × 16 they
train, in about 16 minutes on two CPU cores (budget: 20),

* ``pixel``: an unconditional pixel-space DDPM (diffusers ``UNet2DModel``, ε-prediction),
* ``conditional``: a class-conditional pixel-space DDPM (``num_class_embeds=10``),
* ``autoencoder`` + ``latent``: an ``AutoencoderKL`` and a latent DDPM on its scaled latents
  (Stable Diffusion's structure in miniature),
* ``classifier``: a small CNN, the phase labeller and a feature embedder.

The generators are saved with ``save_pretrained``, so :func:`statgeo.diffusion.load_generator`
loads them like any user's model. ``python -m validation.digits_zoo`` builds (or loads) the zoo
and prints its quality gates; see docs/model_zoo.md.
"""

from validation.digits_zoo.classifier import ClassifierEmbedder, DigitClassifier, load_classifier
from validation.digits_zoo.config import PRESETS, ZooConfig, zoo_config
from validation.digits_zoo.data import load_digit_images
from validation.digits_zoo.quality import GATES, gate_results, zoo_quality
from validation.digits_zoo.zoo import Zoo, build_zoo, default_root, load_zoo

__all__ = [
    "load_digit_images",
    "build_zoo",
    "load_zoo",
    "default_root",
    "Zoo",
    "ZooConfig",
    "PRESETS",
    "zoo_config",
    "load_classifier",
    "DigitClassifier",
    "ClassifierEmbedder",
    "zoo_quality",
    "gate_results",
    "GATES",
]
