"""The generic generator adapter: every model layout, conditioning and sampler, on tiny random-init models.

Each path runs a real diffusers model (random weights, CPU, a few steps): pixel-space and
latent UNets (AutoencoderKL, VQModel), unconditional, class- and text-conditional; every
registered sampler; directories written by ``save_pretrained``; ``PipelineGenerator`` over
real Stable Diffusion and Flux pipelines. Batched float32 convolutions differ from single
ones in the last bits, so "independent of the batch" is checked to 1e-5 (images in [0, 1]);
"deterministic" (the same call twice) is checked exactly.
"""

from __future__ import annotations

import json
import math
import os
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from statgeo.diffusion import (
    SUPPORTED_SCHEDULERS,
    DiffusionGenerator,
    LatentGenerator,
    PipelineGenerator,
    PipelineSpec,
    UNetGenerator,
    load_generator,
)
from statgeo.diffusion.samplers import SAMPLERS, build_scheduler, is_deterministic
from tests.diffusion.conftest import (
    PIXEL_SIZE,
    tiny_clip_text,
    tiny_components,
    tiny_embeds,
    tiny_pixel_unet,
)

torch.set_num_threads(1)
BATCH_ATOL = 1e-5
N_CLASSES = 3


def _z(n, shape, seed=0):
    return torch.randn((n,) + tuple(shape), generator=torch.Generator().manual_seed(seed))


def _ddim(**kw):
    return diffusers.DDIMScheduler(clip_sample=False, **kw)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    """The saved tiny models, one per layout."""
    root = tmp_path_factory.mktemp("models")
    out = {}
    # (a) DiffusionPipeline.save_pretrained directories: pixel space, unconditional and class-conditional
    out["pixel"] = root / "pixel"
    diffusers.DDIMPipeline(unet=tiny_pixel_unet(), scheduler=_ddim()).save_pretrained(out["pixel"])
    out["conditional"] = root / "conditional"
    diffusers.DDIMPipeline(unet=tiny_pixel_unet(num_class_embeds=N_CLASSES),
                           scheduler=_ddim()).save_pretrained(out["conditional"])
    # (b) component directories: latent model with an AutoencoderKL / a VQModel; flow matching; PNDM
    unet, vae, _ = tiny_components()
    latent_unet = tiny_pixel_unet(channels=4)
    for name, sub, dec in (("latent", "vae", vae), ("vq", "vqvae", _tiny_vq())):
        d = root / name
        latent_unet.save_pretrained(d / "unet")
        dec.save_pretrained(d / sub)
        _ddim().save_pretrained(d / "scheduler")
        out[name] = d
    out["flow"] = root / "flow"
    tiny_pixel_unet().save_pretrained(out["flow"] / "unet")
    diffusers.FlowMatchEulerDiscreteScheduler().save_pretrained(out["flow"] / "scheduler")
    out["pndm"] = root / "pndm"
    tiny_pixel_unet().save_pretrained(out["pndm"] / "unet")
    diffusers.PNDMScheduler().save_pretrained(out["pndm"] / "scheduler")
    # text-conditional Stable Diffusion pipeline with its own tokenizer and text encoder
    tok, enc = tiny_clip_text(root / "vocab")
    sd = diffusers.StableDiffusionPipeline(vae=vae, text_encoder=enc, tokenizer=tok, unet=unet,
                                           scheduler=_ddim(beta_schedule="scaled_linear", beta_start=0.00085,
                                                           beta_end=0.012, steps_offset=1), safety_checker=None,
                                           feature_extractor=None, requires_safety_checker=False)
    out["sd"] = root / "sd"
    sd.save_pretrained(out["sd"])
    return {k: str(v) for k, v in out.items()}


def _tiny_vq():
    torch.manual_seed(0)
    return diffusers.VQModel(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                             up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16), latent_channels=4,
                             norm_num_groups=4, num_vq_embeddings=16, vq_embed_dim=4)


def _check_batch_independent(gen, z, seeds=None):
    """Same call twice: identical; each point alone: the same image as in the batch."""
    a, la = gen(z, seeds)
    b, lb = gen(z, seeds)
    assert torch.equal(a, b) and torch.equal(la, lb)
    for i in (0, z.shape[0] - 1):
        one, _ = gen(z[i:i + 1], None if seeds is None else [seeds[i]])
        torch.testing.assert_close(one[0], a[i], atol=BATCH_ATOL, rtol=0)
    return a, la


# ----------------------------------------------------------------------------- layouts and conditioning
def test_pixel_pipeline_directory_unconditional(dirs):
    gen = load_generator(PipelineSpec(dirs["pixel"], num_inference_steps=3))
    assert isinstance(gen, LatentGenerator) and gen.latent_shape == (1, PIXEL_SIZE, PIXEL_SIZE)
    z = _z(3, gen.latent_shape)
    images, final = _check_batch_independent(gen, z)
    assert images.shape == (3, 1, PIXEL_SIZE, PIXEL_SIZE) and images.dtype == torch.float32
    assert 0 <= images.min() and images.max() <= 1 and images.std() > 0.01
    torch.testing.assert_close(images, (final / 2 + 0.5).clamp(0, 1))  # pixel space: the sample is the image
    cfg = gen.config()
    json.dumps(cfg)
    assert (cfg["scheduler"], cfg["conditioning"], cfg["decoder"], cfg["unet"]) == ("ddim", "none", None, "UNet2DModel")
    # the spec is a picklable zero-argument loader with a stable token
    spec = PipelineSpec(dirs["pixel"], num_inference_steps=3)
    back = pickle.loads(pickle.dumps(spec))
    assert back.token() == spec.token() != PipelineSpec(dirs["pixel"], num_inference_steps=3, scheduler="euler").token()
    assert torch.equal(back()(z)[0], images)


def test_ddim_one_step_matches_the_closed_form():
    """One trailing DDIM step from t = 999 with ᾱ_prev = 1: x0 = (x_T − √(1−ᾱ_t) ε)/√ᾱ_t (Song et al. 2021, eq. 12)."""
    sched = _ddim(timestep_spacing="trailing", set_alpha_to_one=True)
    gen = UNetGenerator(tiny_pixel_unet(), sched, num_inference_steps=1)
    z = _z(2, gen.latent_shape, seed=3)
    images, x0 = gen(z)
    t = 999
    a = sched.alphas_cumprod[t].double()
    with torch.no_grad():
        eps = gen.unet(z, t).sample.double()
    expected = (z.double() - torch.sqrt(1 - a) * eps) / torch.sqrt(a)
    torch.testing.assert_close(x0.double(), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(images, (x0 / 2 + 0.5).clamp(0, 1))


def test_class_conditional(dirs):
    path = dirs["conditional"]
    z = _z(2, (1, PIXEL_SIZE, PIXEL_SIZE))
    out = {k: load_generator(PipelineSpec(path, class_label=k, num_inference_steps=3))(z)[0] for k in (0, 2)}
    assert (out[0] - out[2]).abs().max() > 1e-3  # the label reaches the UNet
    gen = load_generator(PipelineSpec(path, class_label=2, num_inference_steps=3))
    assert gen.config()["conditioning"] == "class" and gen.config()["class_label"] == 2
    _check_batch_independent(gen, z)
    for bad in (N_CLASSES, None):
        with pytest.raises(ValueError, match=r"class_label must be an integer in \[0, 2\]"):
            load_generator(PipelineSpec(path, class_label=bad))
    with pytest.raises(ValueError, match="class_label"):
        PipelineSpec(path, class_label=-1)
    with pytest.raises(ValueError, match="not class-conditional"):
        load_generator(PipelineSpec(dirs["pixel"], class_label=0))
    with pytest.raises(ValueError, match="class_label"):
        UNetGenerator(tiny_pixel_unet(num_class_embeds=N_CLASSES), _ddim(), class_label=N_CLASSES)


@pytest.mark.parametrize("layout", ["latent", "vq"])
def test_latent_component_directory(dirs, layout):
    gen = load_generator(PipelineSpec(dirs[layout], num_inference_steps=2))
    z = _z(2, gen.latent_shape)
    images, final = _check_batch_independent(gen, z)
    assert gen.latent_shape == (4, PIXEL_SIZE, PIXEL_SIZE) and images.shape == (2, 3, 2 * PIXEL_SIZE, 2 * PIXEL_SIZE)
    assert gen.config()["decoder"] == {"latent": "AutoencoderKL", "vq": "VQModel"}[layout]
    with torch.no_grad():  # the image is the decoder's output of the final latents / scaling_factor
        ref = gen.vae.decode(final / gen.vae.config.scaling_factor, return_dict=False)[0]
    torch.testing.assert_close(images, (ref / 2 + 0.5).clamp(0, 1))


def test_text_conditional_prompt_and_pipeline_generator_agree(dirs):
    """The same Stable Diffusion directory, through load_generator (our loop, our prompt
    encoding) and through PipelineGenerator (the library's pipeline): the same images."""
    spec = PipelineSpec(dirs["sd"], prompt="a cat", guidance_scale=2.0, num_inference_steps=3)
    ours = load_generator(spec)
    assert ours.config()["conditioning"] == "text" and ours.config()["scheduler"] == "ddim"
    pipe = diffusers.StableDiffusionPipeline.from_pretrained(dirs["sd"], local_files_only=True)
    theirs = PipelineGenerator(pipe, prompt="a cat", guidance_scale=2.0, num_inference_steps=3)
    assert theirs.latent_shape == ours.latent_shape == (4, 8, 8)
    z = _z(3, ours.latent_shape)
    a, _ = ours(z)
    b, final = _check_batch_independent(theirs, z)
    assert b.shape == (3, 3, 16, 16) and final.shape == (3, 4, 8, 8)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=0)
    other, _ = load_generator(PipelineSpec(dirs["sd"], prompt="a dog", guidance_scale=2.0, num_inference_steps=3))(z)
    assert (other - a).abs().max() > 1e-4  # the prompt reaches the UNet
    # embeddings instead of a prompt, the historical DiffusionGenerator signature
    pe, ne = tiny_embeds()
    old = DiffusionGenerator(*tiny_components()[:2], pipe.scheduler, pe, ne, guidance_scale=2.0, num_inference_steps=3)
    emb = PipelineGenerator(pipe, prompt_embeds=pe, negative_prompt_embeds=ne, guidance_scale=2.0,
                            num_inference_steps=3)
    torch.testing.assert_close(old(z)[0], emb(z)[0], atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="prompt or prompt_embeds"):
        load_generator(PipelineSpec(dirs["sd"]))
    with pytest.raises(ValueError, match="not text-conditional"):
        load_generator(PipelineSpec(dirs["pixel"], prompt="a cat"))


def test_text_conditional_without_tokenizer(tiny_model_dir):
    with pytest.raises(FileNotFoundError, match="tokenizer"):
        load_generator(PipelineSpec(str(tiny_model_dir), prompt="a cat"))
    pe, _ = tiny_embeds()
    with pytest.raises(FileNotFoundError, match="tokenizer"):  # guidance needs the negative prompt encoded
        load_generator(PipelineSpec(str(tiny_model_dir), prompt_embeds=pe, guidance_scale=2.0))
    gen = load_generator(PipelineSpec(str(tiny_model_dir), prompt_embeds=pe, guidance_scale=1.0, num_inference_steps=2))
    assert gen(_z(1, gen.latent_shape))[0].shape == (1, 3, 16, 16)


# ----------------------------------------------------------------------------- samplers
@pytest.mark.parametrize("name", [s.name for s in SAMPLERS.values() if s.deterministic])
def test_deterministic_samplers(dirs, name):
    path = dirs["flow" if SAMPLERS[name].family == "flow" else "pixel"]
    gen = load_generator(PipelineSpec(path, scheduler=name, num_inference_steps=4))
    assert type(gen.scheduler).__name__ == SAMPLERS[name].class_name and gen.config()["scheduler"] == name
    assert gen.deterministic
    z = _z(3, gen.latent_shape, seed=1)
    a, _ = _check_batch_independent(gen, z)
    assert torch.equal(gen(z, seeds=[5, 6, 7])[0], a)  # seeds are ignored
    assert 0 <= a.min() and a.max() <= 1 and a.std() > 0.01


@pytest.mark.parametrize("name,eta", [("ddpm", 0.0), ("euler_ancestral", 0.0), ("ddim", 0.5)])
def test_stochastic_samplers_follow_the_per_point_noise_rule(dirs, name, eta):
    gen = load_generator(PipelineSpec(dirs["pixel"], scheduler=name, eta=eta, num_inference_steps=4))
    assert not gen.deterministic and gen.config()["scheduler"] == name
    z = _z(3, gen.latent_shape, seed=2)
    seeds = [10, 11, 12]
    a, _ = _check_batch_independent(gen, z, seeds)
    b, _ = gen(z, [10, 99, 12])
    assert (b[1] - a[1]).abs().max() > 1e-3  # a point's noise is its own seed's …
    torch.testing.assert_close(b[[0, 2]], a[[0, 2]], atol=BATCH_ATOL, rtol=0)  # … and no one else's
    with pytest.raises(ValueError, match="seeds"):
        gen(z)
    with pytest.raises(ValueError, match="seeds"):
        gen(z, [1, 2])


def test_sampler_flags():
    assert not is_deterministic(diffusers.DPMSolverMultistepScheduler(algorithm_type="sde-dpmsolver++"))
    assert not is_deterministic(diffusers.FlowMatchEulerDiscreteScheduler(stochastic_sampling=True))
    assert is_deterministic(diffusers.DDIMScheduler()) and not is_deterministic(diffusers.DDIMScheduler(), eta=0.1)
    assert set(SUPPORTED_SCHEDULERS) >= {"ddim", "dpmsolver_multistep", "euler", "flow_match_euler"}


def test_unsupported_scheduler_is_an_error_never_a_substitution(dirs):
    with pytest.raises(ValueError, match="PNDMScheduler.*'ddim'.*'flow_match_euler'"):
        load_generator(PipelineSpec(dirs["pndm"]))
    gen = load_generator(PipelineSpec(dirs["pndm"], scheduler="euler", num_inference_steps=2))
    assert isinstance(gen.scheduler, diffusers.EulerDiscreteScheduler) and gen.config()["scheduler"] == "euler"
    with pytest.raises(ValueError, match="unsupported scheduler PNDMScheduler"):
        UNetGenerator(tiny_pixel_unet(), diffusers.PNDMScheduler())
    with pytest.raises(ValueError, match="flow"):  # across families: the model output would be misread
        load_generator(PipelineSpec(dirs["flow"], scheduler="ddim"))
    with pytest.raises(ValueError, match="flow"):
        build_scheduler("flow_match_euler", _ddim())
    with pytest.raises(ValueError, match="eta"):  # eta is DDIM's; the saved sampler here is flow-match Euler
        load_generator(PipelineSpec(dirs["flow"], eta=0.5))
    with pytest.raises(ValueError, match="eta"):
        PipelineSpec(dirs["pixel"], scheduler="euler", eta=0.5)
    with pytest.raises(ValueError, match="scheduler"):
        PipelineSpec(dirs["pixel"], scheduler="pndm")


def test_flow_matching_one_step_is_x_minus_velocity(dirs):
    """Flow-match Euler, one step from σ = 1 to 0: x_0 = x_1 + (0 − 1) v(x_1, t = 1000)."""
    gen = load_generator(PipelineSpec(dirs["flow"], num_inference_steps=1))
    assert gen.config()["scheduler"] == "flow_match_euler"
    z = _z(2, gen.latent_shape, seed=4)
    images, x0 = gen(z)
    with torch.no_grad():
        v = gen.unet(z, torch.tensor(1000.0)).sample
    torch.testing.assert_close(x0, z - v, atol=1e-6, rtol=0)
    torch.testing.assert_close(images, ((z - v) / 2 + 0.5).clamp(0, 1))


# ----------------------------------------------------------------------------- PipelineGenerator
def test_pipeline_generator_stochastic_matches_our_loop(dirs):
    """Euler-ancestral inside the library's pipeline and in our loop draw the same per-point noise."""
    pipe = diffusers.StableDiffusionPipeline.from_pretrained(dirs["sd"], local_files_only=True)
    pipe.scheduler = diffusers.EulerAncestralDiscreteScheduler.from_config(pipe.scheduler.config)
    pe, ne = tiny_embeds()
    theirs = PipelineGenerator(pipe, prompt_embeds=pe, negative_prompt_embeds=ne, guidance_scale=2.0,
                               num_inference_steps=3)
    assert theirs.config()["scheduler"] == "euler_ancestral" and not theirs.deterministic
    ours = UNetGenerator(pipe.unet, pipe.scheduler, pipe.vae, prompt_embeds=pe, negative_embeds=ne,
                         guidance_scale=2.0, num_inference_steps=3)
    z, seeds = _z(2, ours.latent_shape), [3, 4]
    a, _ = _check_batch_independent(theirs, z, seeds)
    torch.testing.assert_close(a, ours(z, seeds)[0], atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="seeds"):
        theirs(z)


def test_pipeline_generator_flux_packed_latents():
    """A Flux-style flow-matching pipeline: the latents are the packed tokens the transformer sees."""
    torch.manual_seed(0)
    transformer = diffusers.FluxTransformer2DModel(
        patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=[4, 4, 8])
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKL(sample_size=32, in_channels=3, out_channels=3, block_out_channels=(4,),
                                  layers_per_block=1, latent_channels=1, norm_num_groups=1, use_quant_conv=False,
                                  use_post_quant_conv=False, shift_factor=0.0609, scaling_factor=1.5035)
    pipe = diffusers.FluxPipeline(scheduler=diffusers.FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=None,
                                  tokenizer=None, text_encoder_2=None, tokenizer_2=None, transformer=transformer)
    g = torch.Generator().manual_seed(0)
    gen = PipelineGenerator(pipe, prompt_embeds=torch.randn(1, 5, 32, generator=g),
                            pooled_prompt_embeds=torch.randn(1, 32, generator=g), num_inference_steps=2, height=8,
                            width=8, guidance_scale=1.0)
    assert gen.latent_shape == ((8 // 2) * (8 // 2), 4)  # (h/(2·vsf))·(w/(2·vsf)) tokens × in_channels, vsf = 1
    cfg = gen.config()
    json.dumps(cfg)
    assert cfg["scheduler"] == "flow_match_euler" and cfg["call_kwargs"]["prompt_embeds"]["shape"] == [1, 5, 32]
    images, final = _check_batch_independent(gen, _z(3, gen.latent_shape))
    assert images.shape == (3, 3, 8, 8) and final.shape == (3, 16, 4) and 0 <= images.min() and images.max() <= 1


def test_pipeline_generator_refusals(dirs):
    pipe = diffusers.StableDiffusionPipeline.from_pretrained(dirs["sd"], local_files_only=True)
    with pytest.raises(TypeError, match="pipe"):
        PipelineGenerator(object())
    with pytest.raises(TypeError, match="latents"):  # DDIMPipeline.__call__ takes no latents
        PipelineGenerator(diffusers.DDIMPipeline(unet=tiny_pixel_unet(), scheduler=_ddim()))
    with pytest.raises(ValueError, match="generator"):
        PipelineGenerator(pipe, prompt="a cat", generator=None)
    with pytest.raises(ValueError, match="one prompt"):
        PipelineGenerator(pipe, prompt=["a cat", "a dog"])
    gen = PipelineGenerator(pipe, prompt="a cat", num_inference_steps=2)
    with pytest.raises(ValueError, match="latent shape mismatch"):
        gen(_z(1, (4, 4, 4)))


def test_loader_refusals(dirs, tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "model_index.json").write_text(json.dumps(
        {"_class_name": "FluxPipeline", "transformer": ["diffusers", "FluxTransformer2DModel"],
         "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"]}))
    with pytest.raises(ValueError, match="PipelineGenerator"):
        load_generator(PipelineSpec(str(tmp_path / "t")))
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "model_index.json").write_text(json.dumps({"_class_name": "X", "vae": [None, None]}))
    with pytest.raises(FileNotFoundError, match="unet"):
        load_generator(PipelineSpec(str(tmp_path / "e")))
    with pytest.raises(FileNotFoundError, match="scheduler"):
        os.makedirs(tmp_path / "u" / "unet")
        load_generator(PipelineSpec(str(tmp_path / "u")))
    with pytest.raises(ValueError, match="single-file"):
        load_generator(PipelineSpec(dirs["pixel"], extra={"config": "x"}))
    assert math.isfinite(load_generator(PipelineSpec(dirs["pixel"], num_inference_steps=1))(np.zeros((1, 1, 8, 8)))[0]
                         .sum().item())


def test_float64_model_keeps_float64_images():
    """A float64 generator returns float64 images: finite differences at tiny steps need them."""
    from statgeo.diffusion import UNetGenerator
    from tests.diffusion.conftest import tiny_pixel_unet

    torch.set_num_threads(1)
    gen = UNetGenerator(tiny_pixel_unet(), diffusers.DDIMScheduler(), num_inference_steps=2, dtype="float64")
    z = torch.randn((2,) + gen.latent_shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    im, lat = gen(z)
    assert im.dtype == torch.float64 and lat.dtype == torch.float64
    dz = 1e-9 * torch.randn(z.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    im2, _ = gen(z + dz)
    # a float32 round trip would make every difference a multiple of ~6e-8 or exactly zero
    d = (im2 - im).abs()
    assert float(d.max()) > 0 and float(d[d > 0].min()) < 1e-8
