"""``python -m validation.latent_diffusability``: does the latent space's Fisher-information-rate
deviation predict how well a diffusion model trains in it?

On the scikit-learn digits: a family of encoders (PCA at several dimensions, a curved PCA, a
convolutional autoencoder, VAEs at two KL weights), a diffusion model trained in each latent
space and in pixel space with one architecture and budget, the diffusability diagnostics of
each latent law against the pixel law from those trained models (I two ways, Hutchinson R,
MMSE rate, scale-corrected deviations, compression / tangential / curvature penalties), the
sample quality of each latent model, and the rank correlation of every diagnostic with quality
(bootstrap over encoders and seeds). See docs/latent_diffusability.md.

Examples
--------
    python -m validation.latent_diffusability --quick      # about 15 min on 2 cores, zoo cached
    python -m validation.latent_diffusability --preset tiny --out /tmp/ld   # CI scale
"""

from validation.latent_diffusability.run import main, parse_args, run

__all__ = ["main", "parse_args", "run"]
