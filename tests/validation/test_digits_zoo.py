"""Tests of the digits model zoo (validation/digits_zoo) on the ``tiny`` preset.

The tiny preset trains every model for a few steps with tiny widths, so these tests check the
plumbing (layout, cache, determinism, the classifier's interfaces, the data split) in seconds;
the quality gates of the full preset are measured by ``python -m validation.digits_zoo``
(docs/model_zoo.md). One check is numerical: the tiny classifier (120 Adam steps) must beat
chance (10 %) by a wide margin on the held-out digits (measured: 87 %; bound 60 %).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from validation.digits_zoo import (
    ClassifierEmbedder,
    DigitClassifier,
    build_zoo,
    load_classifier,
    load_digit_images,
    load_zoo,
    zoo_config,
)
from validation.digits_zoo.zoo import MANIFEST


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread in these tests (a 2-core machine), restored afterwards."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    return build_zoo(tmp_path_factory.mktemp("zoo"), preset="tiny", seed=0, progress=False, threads=1)


def _weight_files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.suffix in (".safetensors", ".pt")}


# --- data ---------------------------------------------------------------------------------------

def test_digit_images_split_sizes_stratification_and_range():
    x, y = load_digit_images(16, "train")
    xt, yt = load_digit_images(16, "test")
    xa, ya = load_digit_images(16, "all")
    assert x.shape == (1437, 1, 16, 16) and xt.shape == (360, 1, 16, 16) and xa.shape == (1797, 1, 16, 16)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert 0.0 <= xa.min() and xa.max() <= 1.0 and xa.max() == 1.0
    # stratified: every class held out in proportion 0.2 (± one image)
    counts_all, counts_test = np.bincount(ya, minlength=10), np.bincount(yt, minlength=10)
    assert np.all(np.abs(counts_test - 0.2 * counts_all) <= 1)
    # the split partitions the data set: train ∪ test = all, no image in both
    key = lambda a: {row.tobytes() + bytes([lab]) for row, lab in zip(a[0].reshape(len(a[0]), -1), a[1])}  # noqa: E731
    assert key((x, y)) | key((xt, yt)) == key((xa, ya))
    assert len(key((x, y)) & key((xt, yt))) <= 2  # the digits hold a couple of exact duplicates
    # resolution 8 is the raw data / 16; the split is fixed by the seed
    from sklearn.datasets import load_digits

    raw, _ = load_digit_images(8, "all")
    np.testing.assert_array_equal(raw[:, 0], load_digits().images.astype(np.float32) / 16)
    np.testing.assert_array_equal(load_digit_images(16, "test", seed=0)[1], yt)
    assert not np.array_equal(load_digit_images(16, "test", seed=1)[0], xt)


@pytest.mark.parametrize("kwargs, exc", [
    ({"resolution": 2}, ValueError), ({"resolution": 16.0}, TypeError), ({"split": "val"}, ValueError),
    ({"seed": -1}, ValueError),
])
def test_digit_images_bad_input(kwargs, exc):
    with pytest.raises(exc):
        load_digit_images(**kwargs)


# --- zoo layout, cache, determinism -------------------------------------------------------------

def test_layout_follows_the_contract(zoo):
    from diffusers import AutoencoderKL

    root = zoo.root
    assert sorted(p.name for p in root.iterdir()) == ["classifier", "conditional", "latent", "pixel", MANIFEST]
    for name in ("pixel", "conditional"):
        index = json.loads((root / name / "model_index.json").read_text())
        assert index["unet"] == ["diffusers", "UNet2DModel"] and index["scheduler"] == ["diffusers", "DDIMScheduler"]
        cfg = json.loads((root / name / "unet" / "config.json").read_text())
        assert cfg["in_channels"] == 1 and cfg["sample_size"] == 16
        assert cfg["num_class_embeds"] == (10 if name == "conditional" else None)
        sched = json.loads((root / name / "scheduler" / "scheduler_config.json").read_text())
        assert sched["clip_sample"] is True and sched["timestep_spacing"] == zoo.config.timestep_spacing
        assert sched["beta_schedule"] == "squaredcos_cap_v2" and sched["prediction_type"] == "epsilon"
    assert sorted(p.name for p in (root / "latent").iterdir()) == ["scheduler", "unet", "vae"]
    assert not (root / "latent" / "model_index.json").exists()
    assert (root / "classifier" / "config.json").is_file() and (root / "classifier" / "weights.pt").is_file()
    assert zoo.autoencoder == root / "latent" / "vae" and zoo.trained == tuple(zoo.train_seconds)
    # the VAE's scaling factor gives the training latents unit variance
    vae = AutoencoderKL.from_pretrained(zoo.autoencoder, local_files_only=True, low_cpu_mem_usage=False).eval()
    x, _ = load_digit_images(16, "train")
    with torch.no_grad():
        z = vae.encode(torch.from_numpy(x) * 2 - 1).latent_dist.mean * vae.config.scaling_factor
    assert vae.config.scaling_factor != 0.18215
    assert float(z.std()) == pytest.approx(1.0, abs=1e-4)
    assert json.loads((root / "latent" / "scheduler" / "scheduler_config.json").read_text())["clip_sample"] is False


def test_rebuild_loads_from_cache(zoo):
    before = _weight_files(zoo.root)
    again = build_zoo(zoo.root, preset="tiny", seed=0, progress=False, threads=1)
    assert again.trained == ()
    assert again.timings["total"] < 2.0  # checksums only, no training
    assert _weight_files(zoo.root) == before
    loaded = load_zoo(zoo.root)
    assert loaded.paths() == zoo.paths() and loaded.config == zoo_config("tiny") and loaded.seed == 0


def test_modified_model_is_retrained_alone(zoo, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(zoo.root, root)
    before = _weight_files(root)
    f = root / "pixel" / "unet" / "diffusion_pytorch_model.safetensors"
    f.write_bytes(f.read_bytes()[:-8] + b"corrupt!")
    with pytest.raises(FileNotFoundError, match="pixel"):
        load_zoo(root)
    again = build_zoo(root, preset="tiny", seed=0, progress=False, threads=1)
    assert again.trained == ("pixel",)
    assert _weight_files(root) == before  # retrained to the same bytes


def test_same_seed_same_weights_other_seed_other_weights(zoo, tmp_path):
    twin = build_zoo(tmp_path / "twin", preset="tiny", seed=0, progress=False, threads=1)
    assert _weight_files(twin.root) == _weight_files(zoo.root)
    other = build_zoo(tmp_path / "other", preset="tiny", seed=1, progress=False, threads=1)
    a, b = _weight_files(other.root), _weight_files(zoo.root)
    assert a.keys() == b.keys() and all(a[k] != b[k] for k in a)


def test_bad_input(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="preset"):
        build_zoo(tmp_path / "z", preset="huge")
    with pytest.raises(TypeError, match="root"):
        build_zoo(3.5, preset="tiny")
    with pytest.raises(ValueError, match="seed"):
        build_zoo(tmp_path / "z", preset="tiny", seed=-1)
    with pytest.raises(ValueError, match="threads"):
        build_zoo(tmp_path / "z", preset="tiny", threads=0)
    with pytest.raises(ValueError, match="non-empty directory"):
        build_zoo(tmp_path / "junk", preset="tiny")
    with pytest.raises(ValueError, match="directory"):
        build_zoo(tmp_path / "junk" / "file.txt", preset="tiny")
    with pytest.raises(FileNotFoundError, match="no zoo"):
        load_zoo(tmp_path / "junk")
    assert not (tmp_path / "z").exists()  # nothing written before the checks


# --- classifier ---------------------------------------------------------------------------------

def test_classifier_beats_chance_and_embeds(zoo):
    clf = load_classifier(zoo.classifier)
    assert isinstance(clf, DigitClassifier)
    xt, yt = load_digit_images(16, "test")
    labels, conf = clf.classify(xt)
    assert labels.dtype == np.int64 and conf.dtype == np.float64 and labels.shape == conf.shape == (360,)
    assert np.all((conf >= 0.1 - 1e-12) & (conf <= 1.0))
    acc = float(np.mean(labels == yt))
    assert acc >= 0.6, f"tiny classifier held-out accuracy {acc:.3f} (chance 0.1)"
    assert json.loads((zoo.classifier / "config.json").read_text())["test_accuracy"] == pytest.approx(acc)

    emb = clf.embedder()
    assert isinstance(emb, ClassifierEmbedder)
    from statgeo.diffusion.embed import Embedder

    assert isinstance(emb, Embedder)
    f = emb(xt[:7])
    assert f.shape == (7, 32) and f.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(f, axis=-1), 1.0, rtol=1e-12)
    # any size, uint8, RGB and extra batch dims; float64 input is computed in float64
    u8 = (xt[:6] * 255).round().astype(np.uint8)
    np.testing.assert_allclose(emb(u8), f[:6], atol=1e-2)
    assert emb(np.repeat(xt[:6], 3, axis=1).reshape(2, 3, 3, 16, 16)).shape == (2, 3, 32)
    small = torch.nn.functional.interpolate(torch.from_numpy(xt[:4]), size=(8, 8), mode="bilinear").numpy()
    assert emb(small).shape == (4, 32)
    f64 = emb(xt[:7].astype(np.float64))
    np.testing.assert_allclose(f64, f, atol=1e-5)
    raw = clf.embedder(normalize=False)(xt[:7])
    assert np.all(raw >= 0) and not np.allclose(np.linalg.norm(raw, axis=-1), 1.0)
    with pytest.raises(ValueError, match="channels"):
        emb(np.zeros((2, 2, 16, 16)))
    with pytest.raises(FileNotFoundError):
        load_classifier(zoo.root / "pixel")


# --- quality gates and the command (plumbing on the tiny zoo, through the statgeo adapter) ------

def test_quality_through_the_adapter_and_the_command(zoo, tmp_path, capsys):
    from validation.digits_zoo import GATES, zoo_quality
    from validation.digits_zoo.__main__ import main

    q = zoo_quality(zoo, n_samples=20, num_inference_steps=2)
    assert set(q["gates"]) == {".".join(path) for path, _, _ in GATES}
    for name in ("pixel", "latent", "conditional"):
        r = q[name]
        assert 0.0 <= r["class_fraction_min"] <= 0.1 <= r["class_fraction_max"] <= 1.0
        assert sum(r["class_fractions"]) == pytest.approx(1.0) and 0.0 <= r["confident_fraction"] <= 1.0
    assert 0.0 <= q["conditional"]["requested_class_fraction"] <= 1.0
    assert q == {**zoo_quality(zoo, n_samples=20, num_inference_steps=2), "seconds": q["seconds"]}  # deterministic
    with pytest.raises(ValueError, match="n_samples"):
        zoo_quality(zoo, n_samples=5)
    with pytest.raises(TypeError, match="zoo"):
        zoo_quality(str(zoo.root))

    root = tmp_path / "zoo"
    shutil.copytree(zoo.root, root)
    assert main(["--tiny", "--root", str(root), "--threads", "1", "--samples", "10", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "classifier held-out accuracy" in out and "gate conditional.requested_class_fraction" in out
    assert not any(line.endswith(" trained") for line in out.splitlines())  # loaded from the cache
    assert json.loads((root / "quality.json").read_text())["n_samples"] == 10
