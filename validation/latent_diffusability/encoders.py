"""The encoder family: PCA, a curved PCA, a convolutional autoencoder and VAEs, plus linear fits.

Every encoder maps flattened pixel images x ∈ [-1, 1]^D (the scikit-learn digits at their
native 8 × 8, D = 64; float64 arrays ``(n, D)``) to latents z ∈ R^d and back:

* :class:`PCAEncoder`: z = V_d (x − μ), V_d the top d principal directions of the training
  images; decode x̂ = V_dᵀ z + μ. A flat isometry of the retained subspace.
* :class:`CurvedPCAEncoder`: z_i = tanh(g u_i / s) with u = V_d (x − μ) and s the
  root-mean-square PCA coordinate; decode u_i = s artanh(z_i)/g (z clipped to ±(1 − 10⁻⁶)).
  The pointwise non-linearity bends the flat PCA sheet without changing what is retained.
* :class:`AutoencoderEncoder`: a diffusers ``AutoencoderKL`` (the digits zoo's training loop,
  two blocks of widths 16 and 32) with ``d/16`` latent channels on a 4 × 4 grid; z is the
  posterior mean.
  Trained either deterministically (decoded from the mean, no KL term) or as a VAE with a KL
  weight β (summed squared error + β KL(q(z|x) ‖ N(0, I))).
* :class:`LinearFit`: the least-squares affine map x ↦ A(x − μ) + b closest to an encoder on
  the training images; the middle link of the penalty chain x → PCA → linear fit → encoder.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from statgeo.checks import check_int, check_real
from validation.latent_diffusability.config import EncoderSpec

__all__ = ["PCAEncoder", "CurvedPCAEncoder", "AutoencoderEncoder", "LinearFit", "build_encoder",
           "reconstruction_mse", "RESOLUTION"]

#: side of the digit images the encoders see (the native resolution: the zoo's 16 × 16 images are
#: bilinear upsamplings of these and span only a 64-dimensional subspace of R^256)
RESOLUTION = 8

#: widths of the autoencoders' blocks (one halving: 8 × 8 → 4 × 4 latents)
AUTOENCODER_WIDTHS = (16, 32)

_CLIP = 1.0 - 1e-6


def _pixels(name: str, x: Any, dim: int | None = None) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 1 or (dim is not None and arr.shape[1] != dim):
        want = f"(n, {dim})" if dim is not None else "(n, D)"
        raise ValueError(f"{name} must be a 2-D array {want}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr


class PCAEncoder:
    """Projection on the top ``d`` principal directions: z = V_d (x − μ), x̂ = V_dᵀ z + μ.

    Parameters
    ----------
    mean : numpy.ndarray
        μ, ``(D,)``.
    components : numpy.ndarray
        V_d, ``(d, D)`` with orthonormal rows.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(50, 3))
    >>> pca = PCAEncoder.fit(x, 3)
    >>> bool(np.allclose(pca.decode(pca.encode(x)), x))
    True
    """

    kind = "pca"

    def __init__(self, mean: np.ndarray, components: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.components = np.asarray(components, dtype=np.float64)
        self.latent_dim = int(self.components.shape[0])

    @classmethod
    def fit(cls, x: Any, d: int) -> "PCAEncoder":
        """Principal directions of ``x`` by the SVD of the centred data.

        Parameters
        ----------
        x : array_like
            ``(n, D)`` training data.
        d : int
            Retained directions, in [1, min(n, D)].

        Returns
        -------
        PCAEncoder
        """
        x = _pixels("x", x)
        d = check_int("d", d, min=1, max=min(x.shape))
        mean = x.mean(axis=0)
        _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
        return cls(mean, vt[:d])

    def encode(self, x: Any) -> np.ndarray:
        """z = V_d (x − μ).

        Parameters
        ----------
        x : array_like
            ``(n, D)`` flattened images.

        Returns
        -------
        numpy.ndarray
            ``(n, d)`` latents.
        """
        return (_pixels("x", x, self.mean.size) - self.mean) @ self.components.T

    def decode(self, z: Any) -> np.ndarray:
        """x̂ = V_dᵀ z + μ.

        Parameters
        ----------
        z : array_like
            ``(n, d)`` latents.

        Returns
        -------
        numpy.ndarray
            ``(n, D)`` flattened images.
        """
        return _pixels("z", z, self.latent_dim) @ self.components + self.mean


class CurvedPCAEncoder:
    """Pointwise tanh on PCA coordinates: z_i = tanh(g u_i / s), u = V_d (x − μ).

    Parameters
    ----------
    pca : PCAEncoder
        The linear part.
    gain : float
        g > 0; the larger, the more the sheet is bent (tanh saturates beyond |u| ≈ s/g).
    rms : float
        s > 0, the root-mean-square PCA coordinate on the training data.
    """

    kind = "curved"

    def __init__(self, pca: PCAEncoder, gain: float, rms: float) -> None:
        self.pca = pca
        self.gain = float(check_real("gain", gain, low=0.0, low_inclusive=False))
        self.rms = float(check_real("rms", rms, low=0.0, low_inclusive=False))
        self.latent_dim = pca.latent_dim

    @classmethod
    def fit(cls, x: Any, d: int, gain: float) -> "CurvedPCAEncoder":
        """PCA of ``x`` and the RMS coordinate that sets the tanh's scale.

        Parameters
        ----------
        x : array_like
            ``(n, D)`` training data.
        d : int
            Latent dimension.
        gain : float
            g > 0.

        Returns
        -------
        CurvedPCAEncoder
        """
        pca = PCAEncoder.fit(x, d)
        u = pca.encode(x)
        return cls(pca, gain, float(np.sqrt(np.mean(u**2))))

    def encode(self, x: Any) -> np.ndarray:
        """z = tanh(g V_d (x − μ) / s).

        Parameters
        ----------
        x : array_like
            ``(n, D)`` flattened images.

        Returns
        -------
        numpy.ndarray
            ``(n, d)`` latents.
        """
        return np.tanh(self.gain * self.pca.encode(x) / self.rms)

    def decode(self, z: Any) -> np.ndarray:
        """x̂ = PCA decode of s artanh(z)/g, z clipped to ±(1 − 10⁻⁶).

        Parameters
        ----------
        z : array_like
            ``(n, d)`` latents.

        Returns
        -------
        numpy.ndarray
            ``(n, D)`` flattened images.
        """
        z = np.clip(_pixels("z", z, self.latent_dim), -_CLIP, _CLIP)
        return self.pca.decode(self.rms * np.arctanh(z) / self.gain)


class AutoencoderEncoder:
    """A diffusers ``AutoencoderKL`` as a flat encoder: z = posterior mean, flattened.

    Parameters
    ----------
    vae : diffusers.AutoencoderKL
        Trained, one input channel, images ``RESOLUTION`` × ``RESOLUTION``.
    kind : {"autoencoder", "vae"}
        How it was trained (recorded only).
    """

    def __init__(self, vae: Any, kind: str = "vae") -> None:
        self.vae = vae.eval()
        self.kind = kind
        n_down = len(vae.config.block_out_channels) - 1
        self.latent_side = RESOLUTION // 2**n_down
        self.latent_channels = int(vae.config.latent_channels)
        self.latent_dim = self.latent_channels * self.latent_side**2

    @classmethod
    def train(cls, x: Any, spec: EncoderSpec, seed: int) -> "AutoencoderEncoder":
        """Train the zoo's ``AutoencoderKL`` architecture on flattened images ``x``.

        Parameters
        ----------
        x : array_like
            ``(n, RESOLUTION²)`` in [-1, 1].
        spec : EncoderSpec
            ``kind`` ``"autoencoder"`` (deterministic) or ``"vae"`` (``kl_weight``), ``steps``,
            ``latent_dim`` a multiple of 16.
        seed : int
            Training seed (≥ 0).

        Returns
        -------
        AutoencoderEncoder
        """
        import torch

        from validation.digits_zoo.config import AutoencoderConfig
        from validation.digits_zoo.training import train_autoencoder

        x = _pixels("x", x, RESOLUTION**2)
        if spec.latent_dim % 16:
            raise ValueError(f"latent_dim of an autoencoder must be a multiple of 16 (4 × 4 latents), got {spec.latent_dim}")
        cfg = AutoencoderConfig(block_out_channels=AUTOENCODER_WIDTHS, latent_channels=spec.latent_dim // 16,
                                steps=spec.steps,
                                kl_weight=spec.kl_weight if spec.kind == "vae" else 0.0)
        images = torch.from_numpy(x.astype(np.float32)).reshape(-1, 1, RESOLUTION, RESOLUTION)
        vae = train_autoencoder(images, cfg, seed, sample_posterior=spec.kind == "vae")
        return cls(vae, spec.kind)

    @classmethod
    def load(cls, path: str | Path, kind: str) -> "AutoencoderEncoder":
        """Load an autoencoder saved with :meth:`save`.

        Parameters
        ----------
        path : str or pathlib.Path
            The ``save_pretrained`` directory.
        kind : {"autoencoder", "vae"}
            How it was trained.

        Returns
        -------
        AutoencoderEncoder
        """
        from diffusers import AutoencoderKL

        return cls(AutoencoderKL.from_pretrained(path, local_files_only=True, low_cpu_mem_usage=False), kind)

    def save(self, path: str | Path) -> None:
        """Save the network with ``save_pretrained``.

        Parameters
        ----------
        path : str or pathlib.Path
            The directory (created).
        """
        self.vae.save_pretrained(path)

    def encode(self, x: Any) -> np.ndarray:
        """Posterior means.

        Parameters
        ----------
        x : array_like
            ``(n, D)`` flattened images.

        Returns
        -------
        numpy.ndarray
            ``(n, d)`` latents.
        """
        import torch

        from validation.digits_zoo.training import encode_latents

        x = _pixels("x", x, RESOLUTION**2)
        images = torch.from_numpy(x.astype(np.float32)).reshape(-1, 1, RESOLUTION, RESOLUTION)
        return encode_latents(self.vae, images).reshape(len(x), -1).double().numpy()

    def decode(self, z: Any) -> np.ndarray:
        """Decoded images.

        Parameters
        ----------
        z : array_like
            ``(n, d)`` latents.

        Returns
        -------
        numpy.ndarray
            ``(n, D)`` flattened images.
        """
        import torch

        z = _pixels("z", z, self.latent_dim)
        lat = torch.from_numpy(z.astype(np.float32)).reshape(-1, self.latent_channels, self.latent_side,
                                                              self.latent_side)
        with torch.no_grad():
            x = torch.cat([self.vae.decode(lat[b:b + 256]).sample for b in range(0, len(lat), 256)])
        return x.reshape(len(z), -1).double().numpy()


class LinearFit:
    """The affine map closest to an encoder in least squares: z ≈ A (x − μ) + b.

    A is the minimum-norm least-squares solution (``numpy.linalg.lstsq``), so directions in
    which the training images do not vary are mapped to 0.

    Parameters
    ----------
    mean : numpy.ndarray
        μ, ``(D,)``.
    matrix : numpy.ndarray
        A, ``(d, D)``.
    offset : numpy.ndarray
        b, ``(d,)``.
    residual : float
        Mean squared residual per latent coordinate on the training data, over the latents'
        mean variance per coordinate (0: the encoder is affine).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(40, 3))
    >>> fit = LinearFit.fit(x, x @ np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]]).T + 5.0)
    >>> round(fit.residual, 12)
    0.0
    """

    def __init__(self, mean: np.ndarray, matrix: np.ndarray, offset: np.ndarray, residual: float) -> None:
        self.mean, self.matrix, self.offset = mean, matrix, offset
        self.residual = float(residual)
        self.latent_dim = int(matrix.shape[0])

    @classmethod
    def fit(cls, x: Any, z: Any) -> "LinearFit":
        """Least-squares affine fit of latents ``z`` on data ``x``.

        Parameters
        ----------
        x : array_like
            ``(n, D)`` data.
        z : array_like
            ``(n, d)`` their encodings.

        Returns
        -------
        LinearFit
        """
        x = _pixels("x", x)
        z = _pixels("z", z)
        if len(x) != len(z):
            raise ValueError(f"x and z must be paired (same n), got {len(x)} and {len(z)}")
        mean, zbar = x.mean(axis=0), z.mean(axis=0)
        sol, *_ = np.linalg.lstsq(x - mean, z - zbar, rcond=None)
        res = z - zbar - (x - mean) @ sol
        var = float(np.mean((z - zbar) ** 2))
        return cls(mean, sol.T, zbar, float(np.mean(res**2)) / var if var > 0 else 0.0)

    def encode(self, x: Any) -> np.ndarray:
        """z = A (x − μ) + b.

        Parameters
        ----------
        x : array_like
            ``(n, D)`` flattened images.

        Returns
        -------
        numpy.ndarray
            ``(n, d)`` latents.
        """
        return (_pixels("x", x, self.mean.size) - self.mean) @ self.matrix.T + self.offset


def build_encoder(spec: EncoderSpec, x_train: Any, seed: int, cache: Path | None = None) -> Any:
    """Fit or train the encoder ``spec`` on the training images.

    Autoencoders are saved to (and on a rerun loaded from) ``cache`` when it is given; PCA
    fits take milliseconds and are recomputed.

    Parameters
    ----------
    spec : EncoderSpec
        The encoder.
    x_train : array_like
        ``(n, D)`` flattened training images in [-1, 1].
    seed : int
        Training seed of the autoencoders (≥ 0).
    cache : pathlib.Path, optional
        Directory for the trained autoencoder.

    Returns
    -------
    PCAEncoder, CurvedPCAEncoder or AutoencoderEncoder
    """
    seed = check_int("seed", seed, min=0)
    if spec.kind == "pca":
        return PCAEncoder.fit(x_train, spec.latent_dim)
    if spec.kind == "curved":
        return CurvedPCAEncoder.fit(x_train, spec.latent_dim, spec.gain)
    if spec.kind not in ("autoencoder", "vae"):
        raise ValueError(f"spec.kind must be one of pca, curved, autoencoder, vae; got {spec.kind!r}")
    if cache is not None and (cache / "config.json").exists():
        return AutoencoderEncoder.load(cache, spec.kind)
    enc = AutoencoderEncoder.train(x_train, spec, seed)
    if cache is not None:
        enc.save(cache)
    return enc


def reconstruction_mse(encoder: Any, x: Any) -> float:
    """Mean squared reconstruction error per pixel, mean((decode(encode(x)) − x)²).

    Parameters
    ----------
    encoder : object
        With ``encode`` and ``decode``.
    x : array_like
        ``(n, D)`` held-out images in [-1, 1].

    Returns
    -------
    float
    """
    x = _pixels("x", x)
    err = float(np.mean((encoder.decode(encoder.encode(x)) - x) ** 2))
    if not math.isfinite(err):
        raise ValueError("the reconstruction error is not finite")
    return err
