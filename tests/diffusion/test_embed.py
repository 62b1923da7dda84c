"""Embedders: a tiny random-initialised open_clip model (no weights) and the pixel baseline."""

import numpy as np
import pytest
torch = pytest.importorskip("torch")
import xarray as xr

from statgeo.diffusion.embed import Embedder, OpenClipEmbedder, PixelEmbedder, add_embeddings

open_clip = pytest.importorskip("open_clip")


@pytest.fixture(scope="module")
def clip(tiny_clip_config):
    torch.manual_seed(0)
    return OpenClipEmbedder("statgeo-tiny-clip", config=tiny_clip_config, batch_size=3)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, size=(2, 4, 3, 20, 20), dtype=np.uint8)


def test_shape_norm_and_batching(clip, images):
    assert isinstance(clip, Embedder)
    f = clip(images)
    assert f.shape == (2, 4, 16) and f.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f, axis=-1), 1.0, rtol=1e-5)
    clip.batch_size = 8
    g = clip(images)
    clip.batch_size = 3
    np.testing.assert_allclose(f, g, atol=1e-5)
    # uint8 and the same images as floats in [0, 1] give the same features
    np.testing.assert_allclose(clip(images.astype(np.float32) / 255.0), f, atol=1e-5)
    # different images, different features
    assert np.abs(f[0, 0] - f[0, 1]).max() > 1e-3


def test_matches_the_model_itself(clip, images):
    """The preprocessing is resize (bicubic) + CLIP mean/std normalisation, then encode_image."""
    import torch.nn.functional as F

    x = torch.from_numpy(images[0]).float() / 255
    x = F.interpolate(x, size=(32, 32), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
    mean = torch.tensor(clip.mean).view(1, 3, 1, 1)
    std = torch.tensor(clip.std).view(1, 3, 1, 1)
    with torch.no_grad():
        e = clip.model.encode_image((x - mean) / std)
    e = e / e.norm(dim=-1, keepdim=True)
    np.testing.assert_allclose(clip(images[0]), e.numpy(), atol=1e-5)


def test_local_weights_round_trip(clip, images, tiny_clip_config, tmp_path):
    path = tmp_path / "tiny.pt"
    torch.save(clip.model.state_dict(), path)
    torch.manual_seed(123)  # a different random init, overwritten by the checkpoint
    other = OpenClipEmbedder("statgeo-tiny-clip", pretrained=path, config=tiny_clip_config)
    np.testing.assert_allclose(other(images), clip(images), atol=1e-6)


def test_errors(tiny_clip_config, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        OpenClipEmbedder("statgeo-tiny-clip", pretrained=tmp_path / "missing.pt", config=tiny_clip_config)
    with pytest.raises(FileNotFoundError, match="laion2b"):
        OpenClipEmbedder("ViT-B-32", pretrained="laion2b_s34b_b79k")  # a hub tag is not a local file
    with pytest.raises(ValueError, match="not a known open_clip architecture"):
        OpenClipEmbedder("no-such-model")
    with pytest.raises(ValueError, match="NaN"):
        PixelEmbedder()(np.full((1, 3, 4, 4), np.nan))
    with pytest.raises(ValueError, match="channel"):
        PixelEmbedder()(np.zeros((4, 4)))


def test_pixel_embedder_and_add_embeddings(clip):
    rng = np.random.default_rng(1)
    ds = xr.Dataset({"image": (("alpha", "beta", "channel", "y", "x"),
                               rng.integers(0, 256, (3, 2, 3, 8, 8), dtype=np.uint8))},
                    coords={"alpha": [0.0, 0.5, 1.0], "beta": [0.0, 1.0]})
    out = add_embeddings(ds, PixelEmbedder(4), progress=False)
    assert out.embedding.dims == ("alpha", "beta", "feature") and out.embedding.shape == (3, 2, 48)
    np.testing.assert_allclose(np.linalg.norm(out.embedding.values, axis=-1), 1.0, rtol=1e-6)
    assert "embedding" not in ds
    out2 = add_embeddings(ds, clip, progress=False)
    assert out2.embedding.attrs["embedder"] == "open_clip:statgeo-tiny-clip"
    with pytest.raises(ValueError, match="no variable"):
        add_embeddings(ds, clip, var="img")
