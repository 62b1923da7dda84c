"""Build, cache and load the digits model zoo.

Layout of a zoo directory ``root``::

    root/zoo.json                   manifest: preset, seed, config, per-model hash, file
                                    checksums and training seconds
    root/classifier/                config.json + weights.pt (:func:`load_classifier`)
    root/pixel/                     DDIMPipeline.save_pretrained: unconditional UNet2DModel
    root/conditional/               DDIMPipeline.save_pretrained: UNet2DModel, num_class_embeds=10
    root/latent/{unet,vae,scheduler}/  component directory: UNet2DModel on the scaled latents,
                                    AutoencoderKL (config scaling_factor = 1 / std of the
                                    latents), DDIMScheduler

Each model is cached on its own: :func:`build_zoo` retrains a model only when the hash of
everything its weights depend on (:func:`~validation.digits_zoo.config.model_hash`) differs from
the manifest's or its files fail their checksums.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from statgeo.checks import check_int, check_path
from statgeo.progress import progress_bar, progress_disabled
from validation.digits_zoo.config import MODEL_NAMES, ZooConfig, model_hash, zoo_config
from validation.digits_zoo.data import N_CLASSES, load_digit_images

__all__ = ["Zoo", "build_zoo", "load_zoo", "default_root", "MANIFEST", "SPLIT_SEED", "ZOO_ENV"]

#: name of the manifest file in a zoo directory
MANIFEST = "zoo.json"

#: seed of the train/test split every model uses (the held-out digits never change)
SPLIT_SEED = 0

#: environment variable naming the default zoo directory
ZOO_ENV = "STATGEO_ZOO"

#: files (relative to root) that hold each model
_MODEL_DIRS = {
    "classifier": ("classifier",),
    "pixel": ("pixel",),
    "conditional": ("conditional",),
    "autoencoder": ("latent/vae",),
    "latent": ("latent/unet", "latent/scheduler"),
}


@dataclass(frozen=True)
class Zoo:
    """A built zoo: where each model lives, the configuration and the timings.

    Parameters
    ----------
    root : pathlib.Path
        The zoo directory.
    pixel : pathlib.Path
        Unconditional pixel-space DDPM (a ``DDIMPipeline`` directory).
    latent : pathlib.Path
        Latent diffusion model (component directory ``unet/``, ``vae/``, ``scheduler/``).
    conditional : pathlib.Path
        Class-conditional pixel-space DDPM (a ``DDIMPipeline`` directory).
    autoencoder : pathlib.Path
        The latent model's ``AutoencoderKL`` (``latent/vae``).
    classifier : pathlib.Path
        The digit classifier (:func:`~validation.digits_zoo.classifier.load_classifier`).
    config : ZooConfig
        The hyper-parameters.
    seed : int
        The training seed.
    timings : dict
        Seconds spent per model in the call that returned this zoo (training, or checking the
        cached files), plus ``"total"``.
    trained : tuple of str
        The models trained by that call (empty when everything came from the cache).
    train_seconds : dict
        Seconds each model took to train when it was built (from the manifest).
    """

    root: Path
    pixel: Path
    latent: Path
    conditional: Path
    autoencoder: Path
    classifier: Path
    config: ZooConfig
    seed: int = 0
    timings: dict = field(default_factory=dict)
    trained: tuple = ()
    train_seconds: dict = field(default_factory=dict)

    def paths(self) -> dict[str, Path]:
        """The model paths by name.

        Returns
        -------
        dict
            ``{"classifier": …, "pixel": …, "conditional": …, "autoencoder": …, "latent": …}``.
        """
        return {name: getattr(self, name) for name in MODEL_NAMES}


def default_root() -> Path:
    """The default zoo directory: ``$STATGEO_ZOO``, else ``~/.cache/statgeo/digits_zoo``.

    Returns
    -------
    pathlib.Path
    """
    env = os.environ.get(ZOO_ENV, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "statgeo" / "digits_zoo"


def _root(root: Any) -> Path:
    if root is None:
        return default_root()
    return Path(check_path("root", root)).expanduser()


def _make_zoo(root: Path, config: ZooConfig, seed: int, timings: dict, trained: tuple, train_seconds: dict) -> Zoo:
    return Zoo(root=root, pixel=root / "pixel", latent=root / "latent", conditional=root / "conditional",
               autoencoder=root / "latent" / "vae", classifier=root / "classifier", config=config, seed=seed,
               timings=timings, trained=trained, train_seconds=train_seconds)


def _read_manifest(root: Path) -> dict | None:
    f = root / MANIFEST
    if not f.is_file():
        return None
    try:
        with open(f) as fh:
            m = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{f} is not a readable zoo manifest ({exc}); remove it to rebuild the zoo") from exc
    if not isinstance(m, dict) or not isinstance(m.get("models"), dict):
        raise ValueError(f"{f} is not a zoo manifest (no 'models' entry); remove it to rebuild the zoo")
    return m


def _write_manifest(root: Path, manifest: dict) -> None:
    tmp = root / (MANIFEST + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
    os.replace(tmp, root / MANIFEST)


def _checksums(root: Path, name: str) -> dict[str, str]:
    out = {}
    for d in _MODEL_DIRS[name]:
        base = root / d
        if not base.is_dir():
            continue
        for f in sorted(p for p in base.rglob("*") if p.is_file()):
            out[f.relative_to(root).as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def _cached(root: Path, manifest: dict | None, name: str, key: str) -> bool:
    if manifest is None:
        return False
    entry = manifest["models"].get(name)
    if not isinstance(entry, dict) or entry.get("hash") != key or not entry.get("files"):
        return False
    return _checksums(root, name) == entry["files"]


def _train_seconds(manifest: dict) -> dict[str, float]:
    models = manifest["models"]
    return {k: float(models[k]["train_s"]) for k in MODEL_NAMES if isinstance(models.get(k), dict)}


def _seed_for(seed: int, name: str) -> int:
    return int(np.random.SeedSequence([seed, MODEL_NAMES.index(name)]).generate_state(1)[0])


@contextmanager
def _torch_settings(threads: int) -> Iterator[None]:
    import torch

    old_threads, old_det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)


def _fresh_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)


def _train_model(name: str, root: Path, config: ZooConfig, seed: int, tick) -> None:
    import torch
    from diffusers import AutoencoderKL, DDIMPipeline, DDIMScheduler

    from validation.digits_zoo.classifier import classifier_accuracy, train_classifier
    from validation.digits_zoo.training import encode_latents, train_autoencoder, train_diffusion, training_scheduler

    s = _seed_for(seed, name)
    r = config.resolution
    x, y = load_digit_images(r, "train", SPLIT_SEED)
    pixels = torch.from_numpy(x) * 2.0 - 1.0
    if name == "classifier":
        model = train_classifier(x, y, config.classifier, s, progress=tick)
        xt, yt = load_digit_images(r, "test", SPLIT_SEED)
        out = root / "classifier"
        _fresh_dir(out)
        model.save(out, extra={"test_accuracy": classifier_accuracy(model, xt, yt), "seed": seed})
    elif name in ("pixel", "conditional"):
        sched = training_scheduler(config.num_train_timesteps, config.beta_schedule, clip_sample=True)
        cond = name == "conditional"
        unet = train_diffusion(pixels, getattr(config, name), sched, s, labels=torch.from_numpy(y) if cond else None,
                               num_classes=N_CLASSES if cond else None, fill=-1.0, progress=tick)
        ddim = DDIMScheduler.from_config(sched.config, timestep_spacing=config.timestep_spacing)
        out = root / name
        _fresh_dir(out)
        DDIMPipeline(unet=unet, scheduler=ddim).save_pretrained(out)
    elif name == "autoencoder":
        vae = train_autoencoder(pixels, config.autoencoder, s, progress=tick)
        z = encode_latents(vae, pixels)
        vae.register_to_config(scaling_factor=float(1.0 / z.std()))
        out = root / "latent" / "vae"
        _fresh_dir(out)
        vae.save_pretrained(out)
    else:  # latent
        vae = AutoencoderKL.from_pretrained(root / "latent" / "vae", local_files_only=True,
                                            low_cpu_mem_usage=False).eval()
        z = encode_latents(vae, pixels) * vae.config.scaling_factor
        sched = training_scheduler(config.num_train_timesteps, config.beta_schedule, clip_sample=False)
        unet = train_diffusion(z, config.latent, sched, s, fill=0.0, progress=tick)
        ddim = DDIMScheduler.from_config(sched.config, timestep_spacing=config.timestep_spacing)
        for sub in ("unet", "scheduler"):
            _fresh_dir(root / "latent" / sub)
        unet.save_pretrained(root / "latent" / "unet")
        ddim.save_pretrained(root / "latent" / "scheduler")


def _steps(config: ZooConfig, name: str) -> int:
    return int(getattr(config, name).steps)


def build_zoo(root: str | os.PathLike | None = None, preset: str = "full", seed: int = 0,
              progress: bool | None = None, *, threads: int = 2) -> Zoo:
    """Train the digits model zoo into ``root``, or load the models already cached there.

    Models, in order: the digit classifier; the pixel-space DDPM; the class-conditional
    pixel-space DDPM; the autoencoder; the latent diffusion model on its latents. A model is
    retrained only when its configuration hash (preset, seed, hyper-parameters) differs from
    the one in ``root/zoo.json`` or its files fail their checksums. Training is deterministic
    for a given seed and thread count (``torch.use_deterministic_algorithms`` on, fixed
    generators for data order, augmentation, noise and timesteps).

    Parameters
    ----------
    root : str or os.PathLike, optional
        The zoo directory (created if missing; an existing non-empty directory must hold a
        zoo). Default :func:`default_root`.
    preset : {"full", "tiny"}, default "full"
        ``"full"``: the quality-gated zoo (about 20 minutes on 2 cores); ``"tiny"``: a few
        training steps per model with tiny widths (seconds; for tests of the plumbing).
    seed : int, default 0
        Training seed, in [0, 2**32 - 1].
    progress : bool or None, default None
        Show progress bars: None on a terminal only, False never, True always
        (``TQDM_DISABLE=1`` always hides them).
    threads : int, default 2
        torch CPU threads while training (restored afterwards), in [1, 1024]. Weights are
        reproducible for the same seed and thread count.

    Returns
    -------
    Zoo

    Raises
    ------
    TypeError
        ``root`` is not a path, or ``seed``/``threads`` not an integer.
    ValueError
        An unknown preset, ``seed`` or ``threads`` out of range, or ``root`` is a file or a
        non-empty directory that is not a zoo.

    Examples
    --------
    >>> import tempfile
    >>> zoo = build_zoo(tempfile.mkdtemp(), preset="tiny", progress=False)  # doctest: +SKIP
    >>> sorted(p.name for p in zoo.root.iterdir())  # doctest: +SKIP
    ['classifier', 'conditional', 'latent', 'pixel', 'zoo.json']
    """
    root = _root(root)
    config = zoo_config(preset)
    seed = check_int("seed", seed, min=0, max=2**32 - 1)
    threads = check_int("threads", threads, min=1, max=1024)
    progress_disabled(progress)
    if root.exists() and not root.is_dir():
        raise ValueError(f"root must be a directory, got the file {root}")
    manifest = _read_manifest(root) if root.is_dir() else None
    if manifest is None and root.is_dir() and any(root.iterdir()):
        raise ValueError(f"root {root} is a non-empty directory without {MANIFEST}: refusing to write a zoo into it")
    root.mkdir(parents=True, exist_ok=True)
    if manifest is None or manifest.get("preset") != config.preset or manifest.get("seed") != seed:
        manifest = {"format": 1, "preset": config.preset, "seed": seed, "config": config.to_dict(),
                    "models": dict(manifest["models"]) if manifest else {}}
    manifest["config"] = config.to_dict()
    import diffusers
    import torch

    timings: dict[str, float] = {}
    trained = []
    t_all = time.perf_counter()

    with _torch_settings(threads):
        for name in MODEL_NAMES:
            t0 = time.perf_counter()
            key = model_hash(config, name, seed)
            if not _cached(root, manifest, name, key):
                with progress_bar(total=_steps(config, name), progress=progress, desc=f"zoo {name}") as bar:
                    _train_model(name, root, config, seed, lambda k, bar=bar: bar.update(1))
                train_s = time.perf_counter() - t0
                manifest["models"][name] = {"hash": key, "files": _checksums(root, name), "train_s": train_s,
                                            "threads": threads}
                manifest["versions"] = {"torch": torch.__version__, "diffusers": diffusers.__version__}
                _write_manifest(root, manifest)
                trained.append(name)
            timings[name] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all
    _write_manifest(root, manifest)
    return _make_zoo(root, config, seed, timings, tuple(trained), _train_seconds(manifest))


def load_zoo(root: str | os.PathLike | None = None) -> Zoo:
    """Load a zoo built by :func:`build_zoo` without training anything.

    Parameters
    ----------
    root : str or os.PathLike, optional
        The zoo directory. Default :func:`default_root`.

    Returns
    -------
    Zoo
        ``timings`` holds the seconds spent checking each model's files.

    Raises
    ------
    TypeError
        ``root`` is not a path.
    FileNotFoundError
        ``root`` holds no complete zoo (manifest missing, a model missing or not built with
        the manifest's configuration, or a file failing its checksum).
    ValueError
        The manifest is unreadable or names an unknown preset.
    """
    root = _root(root)
    manifest = _read_manifest(root) if root.is_dir() else None
    if manifest is None:
        raise FileNotFoundError(f"no zoo at {root} ({MANIFEST} missing); build one with build_zoo or "
                                "python -m validation.digits_zoo")
    config = zoo_config(manifest.get("preset"))
    seed = manifest.get("seed")
    timings = {}
    t_all = time.perf_counter()
    for name in MODEL_NAMES:
        t0 = time.perf_counter()
        if not _cached(root, manifest, name, model_hash(config, name, seed)):
            raise FileNotFoundError(f"the zoo at {root} has no valid {name!r} model (missing, stale or modified "
                                    "files); rebuild it with build_zoo")
        timings[name] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all
    return _make_zoo(root, config, seed, timings, (), _train_seconds(manifest))
