"""Tiny random-initialised diffusion components and CLIP models (no weights, CPU).

torch/diffusers are imported inside the helpers, so this conftest never skips or breaks the
collection of other test files in this folder.

After diffusers' ``get_dummy_components`` (tests/pipelines/stable_diffusion): a
UNet2DConditionModel, an AutoencoderKL and a DDIMScheduler from small configs; the prompt
embeddings are random tensors passed directly (no tokenizer).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import pytest

CROSS_DIM = 16
SEQ = 4


def tiny_components(seed: int = 0):
    """A tiny UNet (latent 4×8×8), VAE (8×8 → 16×16 images) and DDIM scheduler."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=CROSS_DIM, norm_num_groups=4, attention_head_dim=2,
    )
    torch.manual_seed(seed)
    vae = AutoencoderKL(
        block_out_channels=(8, 16), in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), latent_channels=4, norm_num_groups=4,
        sample_size=16,
    )
    sched = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                          set_alpha_to_one=False)
    return unet, vae, sched


def tiny_embeds(seed: int = 1):
    import torch

    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, SEQ, CROSS_DIM, generator=g), torch.randn(1, SEQ, CROSS_DIM, generator=g)


def make_tiny_generator(eta: float = 0.0, steps: int = 3, guidance: float = 2.0):
    """A DiffusionGenerator over the tiny components (module level: picklable for Dask)."""
    from statgeo.diffusion.pipeline import DiffusionGenerator

    unet, vae, sched = tiny_components()
    pe, ne = tiny_embeds()
    return DiffusionGenerator(unet, vae, sched, pe, ne, guidance_scale=guidance, num_inference_steps=steps, eta=eta,
                              dtype="float32")


class TinyLoader:
    """Picklable zero-argument loader with a stable token (a worker-cache key)."""

    def __init__(self, eta: float = 0.0, steps: int = 3):
        self.eta, self.steps = eta, steps

    def token(self) -> str:
        return f"tiny-{self.eta}-{self.steps}"

    def __call__(self):
        return make_tiny_generator(self.eta, self.steps)


@pytest.fixture(scope="session")
def tiny_generator():
    return make_tiny_generator()


@pytest.fixture(scope="session")
def tiny_generator_eta():
    return make_tiny_generator(eta=1.0)


@pytest.fixture
def tiny_model_dir(tmp_path):
    """The tiny components saved with ``save_pretrained`` in the diffusers directory layout."""
    unet, vae, sched = tiny_components()
    unet.save_pretrained(tmp_path / "unet")
    vae.save_pretrained(tmp_path / "vae")
    sched.save_pretrained(tmp_path / "scheduler")
    return tmp_path


TINY_CLIP_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="session")
def tiny_clip_config():
    return TINY_CLIP_CFG


# ----------------------------------------------------------------------------- generic adapter
# (tests/diffusion/test_pipeline_adapter.py): pixel-space, class-conditional and flow-matching
# UNets, and a text encoder with its own tokenizer (a vocabulary of single letters).
PIXEL_SIZE = 8


def tiny_pixel_unet(seed: int = 0, num_class_embeds: int | None = None, channels: int = 1):
    """A tiny UNet2DModel on ``channels × 8 × 8`` samples (class-conditional with ``num_class_embeds``)."""
    import torch
    from diffusers import UNet2DModel

    torch.manual_seed(seed)
    return UNet2DModel(
        sample_size=PIXEL_SIZE, in_channels=channels, out_channels=channels, block_out_channels=(8, 16),
        layers_per_block=1, down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
        norm_num_groups=4, num_class_embeds=num_class_embeds,
    )


def tiny_clip_text(workdir, seed: int = 0, max_length: int = 8):
    """A CLIPTokenizer over single letters (vocabulary written to ``workdir``) and a tiny CLIPTextModel
    with hidden size ``CROSS_DIM``."""
    import json

    import torch
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for c in "abcdefghijklmnopqrstuvwxyz":
            vocab[c + suffix] = len(vocab)
    os.makedirs(workdir, exist_ok=True)
    vocab_file, merges_file = os.path.join(workdir, "vocab.json"), os.path.join(workdir, "merges.txt")
    with open(vocab_file, "w") as f:
        json.dump(vocab, f)
    with open(merges_file, "w") as f:
        f.write("#version: 0.2\n")
    tok = CLIPTokenizer(vocab_file, merges_file, model_max_length=max_length)
    cfg = CLIPTextConfig(vocab_size=len(vocab), hidden_size=CROSS_DIM, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=max_length, projection_dim=CROSS_DIM,
                         bos_token_id=0, eos_token_id=1, pad_token_id=1)
    torch.manual_seed(seed)
    return tok, CLIPTextModel(cfg).eval()
