"""Bad input to the diffusion adapter and the diffusability diagnostics.

See tests/bad_input.py for the property every entry point must have. The valid calls use the
closed-form synthetic generator, tiny random-initialised diffusers/open_clip models (as in
tests/diffusion/conftest.py) and small sizes, so the whole registry stays cheap.
"""

from __future__ import annotations

import functools
import math
import os
import tempfile
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from statgeo.diffusion import (  # noqa: E402
    BimodalVP,
    CallableGenerator,
    DiffusionGenerator,
    LatentSlice,
    OpenClipEmbedder,
    PhaseModel,
    PipelineGenerator,
    PipelineSpec,
    PixelEmbedder,
    SUPPORTED_SCHEDULERS,
    SweepStore,
    SyntheticGenerator,
    UNetGenerator,
    add_embeddings,
    analyse_slice,
    anchors_from_seeds,
    as_float_images,
    boundary_mask,
    box_counting_dimension,
    effective_resolution,
    find_boundary_point,
    generate,
    generate_float,
    growth_exponent,
    interpolation_paths,
    kmeans,
    lipschitz_map,
    lipschitz_ratios,
    load_anchors,
    load_generator,
    lyapunov_formula,
    lyapunov_scan,
    path_lengths,
    phase_map,
    plot_phase_map,
    point_seeds,
    renormalise,
    resolve_points,
    slice_grid,
    sweep,
    synthetic_slice,
    to_uint8,
    zoom,
)
from statgeo.diffusion import diffusability as dd  # noqa: E402
from statgeo.diffusion.sweep import MAX_SWEEP_POINTS  # noqa: E402
from statgeo.grid import ParameterGrid  # noqa: E402
from tests.bad_input import (  # noqa: E402
    EntryPoint,
    bad_array,
    bad_choice,
    bad_int,
    bad_real,
    huge_int,
    non_finite,
    not_an_int,
    registry_tests,
    wrong_type,
)
from tests.diffusion.conftest import TINY_CLIP_CFG, tiny_components, tiny_embeds, tiny_pixel_unet  # noqa: E402


def nn(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """The strategy without None (for arguments where None is a valid value)."""
    return strategy.filter(lambda v: v is not None)


def values(*vs) -> st.SearchStrategy:
    return st.sampled_from(list(vs))


# ----------------------------------------------------------------------------- shared valid objects
TMP = tempfile.mkdtemp(prefix="statgeo_bad_input_")
GEN = SyntheticGenerator(size=4)
LS = synthetic_slice()
GRID = slice_grid(2)
K_GRID = ParameterGrid.from_ranges(K=(0.1, 0.5, 3))
ANCHORS = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
NPY = os.path.join(TMP, "anchors.npy")
np.save(NPY, ANCHORS)


def classify(im):
    """The synthetic generator's phase: the brightest channel of the first pixel."""
    return np.asarray(im)[:, :, 0, 0].argmax(axis=1)


def flat_metric(p):
    return np.eye(2) * np.ones(np.shape(p)[:-1] + (1, 1))


DS_IMG = sweep(GEN, LS, slice_grid(9), batch_size=81, progress=False)
DS_EMB = add_embeddings(DS_IMG, PixelEmbedder(4), progress=False)
DS_POINTS = add_embeddings(sweep(GEN, LS, points=[[0.1, 0.2], [0.5, 0.5]], progress=False), PixelEmbedder(2),
                           progress=False)
DS_NAN = DS_EMB.copy()
DS_NAN["embedding"] = DS_EMB["embedding"].where(DS_EMB["embedding"] < 0)  # all NaN
LABELS = phase_map(DS_EMB, 2)[0]
PM = PhaseModel(PixelEmbedder(2), np.eye(2, 12))
BIM = BimodalVP(0.5)
GM = dd.GaussianMixture([[0.0, 0.0], [1.0, 1.0]], component_variance=0.1)
SF = dd.ScoreFunction(lambda y, t: -y / (1 + t))
EST = dd.Estimate.from_samples([1.0, 2.0, 3.0], 3, 0.5)
SCHED = SimpleNamespace(alphas_cumprod=np.linspace(0.999, 0.01, 50))
X = np.random.default_rng(0).normal(size=(20, 2))
UNET, VAE, DDIM = tiny_components()
PE, NE = tiny_embeds()
PIXEL_UNET = tiny_pixel_unet(num_class_embeds=3)
SD_PIPE = diffusers.StableDiffusionPipeline(
    vae=VAE, text_encoder=None, tokenizer=None, unet=UNET,
    scheduler=diffusers.DDIMScheduler.from_config(DDIM.config, steps_offset=1), safety_checker=None,
    feature_extractor=None, requires_safety_checker=False)


def score(y, t):
    return -y / (1 + t)


def sampler(n, g):
    return torch.randn((n, 2), generator=g, dtype=torch.float64)


def curve(x):
    return np.stack([x, 0 * x], 1)


def rate_x(t):
    return -1.0 / (1.0 + t) ** 2


def rate_z(t):
    return -1.0 / (4.0 + t) ** 2


RATIOS = xr.DataArray([[1.0, 10.0, 100.0]], dims=("point", "delta"), coords={"delta": [1e-1, 1e-2, 1e-3]})
STORE_PATH = os.path.join(TMP, "store.zarr")
STORE = SweepStore(STORE_PATH)
STORE_ARGS = dict(alpha=np.zeros(3), beta=np.arange(3.0), seeds=np.arange(3), chunk_size=2, image_shape=(1, 2, 2),
                  latent_shape=None, identity={"registry": 1}, attrs={})


def _store() -> SweepStore:
    if not STORE.exists():
        STORE.create_or_check(**STORE_ARGS)
    return STORE


def _write_chunk(**kw):
    return _store().write_chunk(**kw)


@functools.cache
def _tiny_model_dir() -> str:
    d = os.path.join(TMP, "tiny_model")
    unet, vae, sched = tiny_components()
    unet.save_pretrained(os.path.join(d, "unet"))
    vae.save_pretrained(os.path.join(d, "vae"))
    sched.save_pretrained(os.path.join(d, "scheduler"))
    return d


TINY_SPEC = PipelineSpec(os.path.join(TMP, "tiny_model"), prompt_embeds=PE, negative_embeds=NE, guidance_scale=2.0,
                         num_inference_steps=2)


def _load_generator(spec):
    _tiny_model_dir()
    return load_generator(spec)


def _plot(**kw):
    import matplotlib.pyplot as plt

    ax = plot_phase_map(**kw)
    plt.close(ax.figure)
    return ax


def _from_seeds(**kw):
    return LatentSlice.from_seeds(**kw)


def _from_file(**kw):
    return LatentSlice.from_file(**kw)


# ----------------------------------------------------------------------------- strategies
bad_point = st.one_of(values((0.3,), (math.nan, 0.0), "ab", None, [[0.1, 0.2]]), wrong_type())
bad_latent_shape = values((), (0,), (-1, 2), (2.5,), "ab", None, [["a"]], (True,))
bad_dtype = values("int8", "abc", 3, None, object())
bad_device = values("gpu9", "", 3, None, "cuda:x")
bad_flag = values(None, 1, "yes", 0.5)
bad_progress = values(1, "yes", 0.5, "")
bad_coords = st.one_of(non_finite(), wrong_type(), values([]))
bad_embeds = st.one_of(wrong_type(), values(np.full((1, 4, 16), np.nan), np.ones((1, 4, 7)), np.ones((2, 4, 16))))
bad_taus = st.one_of(bad_real(low=0.0, low_inclusive=False), values([0.0, 1.0], [-1.0], [math.nan], [], "ab"))
bad_seeds_for_points = values([0], [-1, 0], [0.5, 1.0], "ab", None)
bad_resolution = st.one_of(nn(not_an_int()), st.integers(max_value=0), huge_int(at_least=10**6))
bad_range = values((0.5, 0.5), (1.0, 0.0), (math.nan, 1.0), "ab", (0.0,), 3, (0.0, 1.0, 2.0), None)
bad_mc = st.one_of(bad_int(min=2, max=dd.MAX_MC_SAMPLES), huge_int(at_least=10**7))
bad_y = st.one_of(values(np.zeros((2, 3)), np.full((2, 2), np.nan), np.zeros((0, 2))), wrong_type())
bad_scheduler = values(3, "abc", None, SimpleNamespace(alphas_cumprod=[1.5, 0.5]), SimpleNamespace(alphas_cumprod=[]))
bad_2d_labels = st.one_of(values(np.zeros(3), np.zeros((0, 3)), np.full((2, 2), np.nan)), wrong_type())
bad_gen = st.one_of(wrong_type(), st.just(SyntheticGenerator(latent_shape=(3,), size=4)))

estimator_kwargs_bad = {
    "model": wrong_type(),
    "data": values(np.full((4, 2), np.nan), "ab", None, np.array([["a", "b"]])),
    "kind": bad_choice(dd.estimators.KINDS),
    "scheduler": values(3, "abc"),
    "timestep_mode": bad_choice(("interpolate", "nearest")),
    "prediction_type": nn(bad_choice(dd.estimators.PREDICTION_TYPES)),
    "unet_kwargs": values(3, "abc", ["a"]),
    "n_samples": bad_mc,
    "batch_size": bad_int(min=1),
    "seed": bad_int(min=0),
}

SAMPLE_KW = {"model": score, "data": sampler, "n_samples": 8, "batch_size": 4, "progress": False}

ENTRY_POINTS = [
    # ---------------------------------------------------------------- slices
    EntryPoint("statgeo.diffusion.LatentSlice", LatentSlice, {"anchors": ANCHORS},
               {"anchors": st.one_of(bad_array((3, 2)), wrong_type(),
                                     values(np.zeros((3, 2)), [[0, 0], [1, 1], [2, 2]], np.ones((2, 2)), np.ones((3, 1)))),
                "normalise": bad_choice(("std", "sqrt_dim", "none")),
                "seeds": values("ab", [1.5], [-1], 3, [2**64]),
                "source": values(3, None, b"x")}),
    EntryPoint("statgeo.diffusion.LatentSlice.from_seeds", _from_seeds, {"seeds": [0, 1, 2], "shape": (2,)},
               {"seeds": values([0, 0, 0], [0, 1], [0, 1, -2], [0, 1, 2.5], "abc", 3, None, [0, 1, 2**64]),
                "shape": values((0,), (), "ab", (2.5,), None, (-1,), (10**7, 10**7), (1,)),
                "normalise": bad_choice(("std", "sqrt_dim", "none"))}),
    EntryPoint("statgeo.diffusion.LatentSlice.from_file", _from_file, {"path": NPY},
               {"path": values(3, None, b"x", "", "/x/a.txt"), "shape": values((3,), "ab", (0,)),
                "normalise": bad_choice(("std", "sqrt_dim", "none"))},
               message={"path": ("path", "anchor file")}),
    EntryPoint("statgeo.diffusion.LatentSlice.latents", LS.latents, {"alpha": [0.1, 0.2], "beta": [0.3, 0.4]},
               {"alpha": st.one_of(bad_coords, values([0.1, 0.2, 0.3])),
                "beta": st.one_of(bad_coords, values([0.1, 0.2, 0.3]))}),
    EntryPoint("statgeo.diffusion.LatentSlice.raw", LS.raw, {"alpha": [0.1, 0.2], "beta": [0.3, 0.4]},
               {"alpha": st.one_of(bad_coords, values([0.1])), "beta": st.one_of(bad_coords, values([0.1]))}),
    EntryPoint("statgeo.diffusion.anchors_from_seeds", anchors_from_seeds, {"seeds": [0, 1], "shape": (2,)},
               {"seeds": values([0, 0], [], [-1], [1.5], "ab", 3, None, [2**64]),
                "shape": values((0,), (), "ab", (2.5,), None, (10**8, 10**8))}),
    EntryPoint("statgeo.diffusion.load_anchors", load_anchors, {"path": NPY},
               {"path": values(3, None, b"x", "", "/x/a.txt"), "shape": values((3,), "ab", (0,))},
               message={"path": ("path", "anchor file")}),
    EntryPoint("statgeo.diffusion.renormalise", renormalise, {"z": np.ones((2, 3)) * [[1.0], [2.0]] + [0, 1, 2]},
               {"z": st.one_of(wrong_type(), values(np.full((2, 3), np.nan), np.zeros((2, 3)), np.zeros((0, 3)))),
                "mode": bad_choice(("std", "sqrt_dim", "none"))}),
    EntryPoint("statgeo.diffusion.slice_grid", slice_grid, {"n_alpha": 3},
               {"n_alpha": bad_int(min=2, max=2**24), "n_beta": nn(bad_int(min=2, max=2**24)),
                "alpha_range": bad_range, "beta_range": bad_range}),
    EntryPoint("statgeo.diffusion.effective_resolution", effective_resolution, {"lslice": LS, "dtype": "float32"},
               {"lslice": wrong_type(), "dtype": bad_dtype, "alpha": bad_real(), "beta": bad_real()}),
    # ---------------------------------------------------------------- generators
    EntryPoint("statgeo.diffusion.CallableGenerator", CallableGenerator,
               {"fn": lambda z: torch.sigmoid(z[:, :3]), "latent_shape": (4, 2, 2)},
               {"fn": wrong_type(), "latent_shape": bad_latent_shape, "dtype": bad_dtype,
                "name": values(3, None, b"x")}),
    EntryPoint("statgeo.diffusion.DiffusionGenerator", DiffusionGenerator,
               {"unet": UNET, "vae": VAE, "scheduler": DDIM, "prompt_embeds": PE, "negative_embeds": NE,
                "guidance_scale": 2.0, "num_inference_steps": 2},
               {"unet": st.one_of(wrong_type(), st.builds(tiny_pixel_unet)), "vae": wrong_type(),
                "scheduler": st.one_of(wrong_type(), st.builds(lambda: diffusers.PNDMScheduler())),
                "prompt_embeds": bad_embeds, "negative_embeds": nn(bad_embeds),
                "guidance_scale": bad_real(low=0.0), "num_inference_steps": bad_int(min=1, max=1000),
                "eta": bad_real(low=0.0, high=1.0), "device": bad_device, "dtype": bad_dtype,
                "model_path": values(3, None, b"x"), "prompt": values(3, b"x", ["a"])}),
    EntryPoint("statgeo.diffusion.UNetGenerator", UNetGenerator,
               {"unet": PIXEL_UNET, "scheduler": DDIM, "class_label": 1, "num_inference_steps": 2},
               {"unet": wrong_type(), "vae": nn(wrong_type()),
                "scheduler": st.one_of(wrong_type(), st.builds(lambda: diffusers.PNDMScheduler())),
                "prompt_embeds": st.one_of(nn(bad_embeds), values(PE)),  # the pixel UNet takes no text
                "negative_embeds": st.one_of(nn(bad_embeds), values(NE)),
                "class_label": bad_int(min=0, max=2), "guidance_scale": bad_real(low=0.0),
                "num_inference_steps": bad_int(min=1, max=1000), "eta": bad_real(low=0.0, high=1.0),
                "device": bad_device, "dtype": bad_dtype, "model_path": values(3, None, b"x"),
                "prompt": values(3, b"x", ["a"])}),
    EntryPoint("statgeo.diffusion.PipelineGenerator", PipelineGenerator,
               {"pipe": SD_PIPE, "prompt_embeds": PE, "negative_prompt_embeds": NE, "guidance_scale": 2.0,
                "num_inference_steps": 2},
               {"pipe": st.one_of(wrong_type(), st.builds(lambda: diffusers.DDIMPipeline(
                   unet=tiny_pixel_unet(), scheduler=diffusers.DDIMScheduler()))),  # no latents= argument
                "latent_shape": nn(bad_latent_shape), "name": values(3, None, b"x"),
                "generator": values(None, 3), "output_type": values("pt", None), "prompt": values(["a", "b"])},
               message={"pipe": ("pipe",), "generator": ("generator",), "output_type": ("output_type",)}),
    EntryPoint("statgeo.diffusion.PipelineSpec", PipelineSpec, {"path": "/nowhere/model", "prompt": "a cat"},
               {"path": values(3, None, b"x", ""), "prompt": values(3, b"x"), "prompt_embeds": bad_embeds.filter(
                   lambda v: v is not None and not (isinstance(v, np.ndarray) and v.shape == (1, 4, 7))),
                "negative_prompt": values(3, None), "negative_embeds": nn(bad_embeds).filter(
                    lambda v: not (isinstance(v, np.ndarray) and v.shape == (1, 4, 7))),
                "guidance_scale": bad_real(low=0.0), "num_inference_steps": bad_int(min=1, max=1000),
                "eta": bad_real(low=0.0, high=1.0), "scheduler": bad_choice(("auto",) + SUPPORTED_SCHEDULERS),
                "class_label": nn(bad_int(min=0)), "device": bad_device, "dtype": bad_dtype,
                "extra": values(3, "abc", None, ["a"])}),
    EntryPoint("statgeo.diffusion.load_generator", _load_generator, {"spec": TINY_SPEC}, {"spec": wrong_type()}),
    EntryPoint("statgeo.diffusion.SyntheticGenerator", SyntheticGenerator, {"size": 4},
               {"latent_shape": st.one_of(bad_latent_shape, values((1,))),
                "size": st.one_of(bad_int(min=1), huge_int(at_least=10**5)), "dtype": bad_dtype,
                "b0": bad_real(), "amplitude": bad_real(),
                "ratio": bad_real(low=0.0, high=1.0, low_inclusive=False), "scale": bad_real(low=1.0, low_inclusive=False),
                "n_terms": bad_int(min=1, max=64), "a1": bad_real(), "smooth": bad_real()}),
    EntryPoint("statgeo.diffusion.SyntheticGenerator.boundary_curve", GEN.boundary_curve, {"a": [0.1, 0.2]},
               {"a": bad_coords}),
    EntryPoint("statgeo.diffusion.SyntheticGenerator.boundary_slope", GEN.boundary_slope, {"a": [0.1, 0.2]},
               {"a": bad_coords}),
    EntryPoint("statgeo.diffusion.SyntheticGenerator.labels", GEN.labels, {"a": [0.1, 0.2], "b": [0.2, 0.9]},
               {"a": bad_coords, "b": st.one_of(bad_coords, values(np.zeros(3)))}),
    EntryPoint("statgeo.diffusion.SyntheticGenerator.coordinates", GEN.coordinates, {"latents": np.zeros((2, 2))},
               {"latents": st.one_of(bad_array((2, 2)), wrong_type())}),
    EntryPoint("statgeo.diffusion.synthetic_slice", synthetic_slice, {"latent_shape": (2,)},
               {"latent_shape": st.one_of(bad_latent_shape, values((1,), (10**8, 10**8)))}),
    # ---------------------------------------------------------------- sweeps and stores
    EntryPoint("statgeo.diffusion.point_seeds", point_seeds, {"noise_seed": 0, "n": 3},
               {"noise_seed": bad_int(min=0), "n": st.one_of(bad_int(min=1, max=MAX_SWEEP_POINTS), huge_int()),
                "offset": bad_int(min=0)}),
    EntryPoint("statgeo.diffusion.to_uint8", to_uint8, {"images": np.zeros((1, 3, 2, 2)), "resolution": 2},
               {"images": st.one_of(wrong_type(), values(np.zeros((3, 2, 2)), np.full((1, 3, 2, 2), np.nan),
                                                        np.zeros((0, 3, 2, 2)))),
                "resolution": bad_resolution}),
    EntryPoint("statgeo.diffusion.generate", generate,
               {"gen": GEN, "lslice": LS, "alpha": [0.1, 0.2], "beta": [0.3, 0.4], "seeds": [0, 1], "batch_size": 2,
                "resolution": None, "keep_latent": False, "progress": False},
               {"gen": bad_gen, "lslice": wrong_type(), "alpha": st.one_of(bad_coords, values([0.1])),
                "beta": st.one_of(bad_coords, values([0.1])), "seeds": bad_seeds_for_points,
                "batch_size": bad_int(min=1), "resolution": bad_resolution, "keep_latent": bad_flag,
                "progress": bad_progress},
               message={"gen": ("gen",), "alpha": ("alpha",), "beta": ("beta",)}),
    EntryPoint("statgeo.diffusion.generate_float", generate_float,
               {"gen": GEN, "lslice": LS, "alpha": [0.1, 0.2], "beta": [0.3, 0.4], "seeds": [0, 1], "batch_size": 2,
                "progress": False},
               {"gen": bad_gen, "lslice": wrong_type(), "alpha": st.one_of(bad_coords, values([0.1])),
                "beta": st.one_of(bad_coords, values([0.1])), "seeds": bad_seeds_for_points,
                "batch_size": bad_int(min=1), "apply": values(3, "abc", lambda im: np.zeros(1)),
                "progress": bad_progress},
               message={"gen": ("gen",), "alpha": ("alpha",), "beta": ("beta",)}),
    EntryPoint("statgeo.diffusion.resolve_points", resolve_points, {"grid": None, "points": [[0.1, 0.2]]},
               {"grid": values(3, "abc", K_GRID),
                "points": st.one_of(values(np.full((1, 2), np.nan), [[0.1]], "ab", np.zeros((0, 2)), None),
                                    wrong_type())}),
    EntryPoint("statgeo.diffusion.sweep", sweep,
               {"generator": GEN, "lslice": LS, "grid": GRID, "batch_size": 4, "progress": False},
               {"generator": bad_gen, "lslice": wrong_type(), "grid": values(3, "abc", K_GRID, None),
                "points": values([[math.nan, 0.0]], "ab", [[0.1]]), "batch_size": bad_int(min=1),
                "chunk_size": nn(bad_int(min=1)), "resolution": bad_resolution, "keep_latent": bad_flag,
                "noise_seed": bad_int(min=0), "store": values(3, b"x", ""), "client": values(3, object(), ""),
                "progress": bad_progress}),
    EntryPoint("statgeo.diffusion.SweepStore", SweepStore, {"path": STORE_PATH}, {"path": values(3, None, b"x", "")}),
    EntryPoint("statgeo.diffusion.SweepStore.create_or_check", STORE.create_or_check, STORE_ARGS,
               {"alpha": st.one_of(bad_array((3,), allow_wrong_shape=False), values(np.zeros(2))),
                "beta": st.one_of(bad_array((3,), allow_wrong_shape=False), values(np.zeros(2))),
                "seeds": values(np.array([-1, 0, 1]), np.array([0.5, 1.0, 2.0]), "abc", np.arange(2)),
                "chunk_size": bad_int(min=1), "image_shape": values((1, 2), (0, 2, 2), "ab", (2.5, 2, 2)),
                "latent_shape": values((0,), "ab", (2.5,)), "identity": values(3, None, "abc"),
                "attrs": values(3, None, "abc")}),
    EntryPoint("statgeo.diffusion.SweepStore.write_chunk", _write_chunk,
               {"index": 0, "start": 0, "images": np.ones((2, 1, 2, 2), np.uint8), "latents": None},
               {"index": st.one_of(bad_int(min=0), values(5)), "start": st.one_of(bad_int(min=0), values(2)),
                "images": values(np.ones((2, 1, 2, 2)), np.ones((2, 1, 3, 3), np.uint8), "abc", None,
                                 np.ones((0, 1, 2, 2), np.uint8)),
                "latents": values(np.full((2, 3), np.nan), "abc", np.ones((3, 3)))}),
    # ---------------------------------------------------------------- embeddings and phases
    EntryPoint("statgeo.diffusion.as_float_images", as_float_images, {"images": np.zeros((1, 3, 2, 2))},
               {"images": st.one_of(wrong_type(), values(np.zeros((2, 2)), np.full((1, 3, 2, 2), np.nan),
                                                        np.zeros((0, 3, 2, 2)), np.array(["a"])))}),
    EntryPoint("statgeo.diffusion.PixelEmbedder", PixelEmbedder, {"size": 4},
               {"size": st.one_of(bad_int(min=1), huge_int(at_least=10**6)), "center": bad_flag}),
    EntryPoint("statgeo.diffusion.OpenClipEmbedder", OpenClipEmbedder,
               {"model_name": "statgeo-bad-input-clip", "config": TINY_CLIP_CFG},
               {"model_name": values(3, None, "", b"x"), "pretrained": values(3, b"x", ""),
                "config": values(3, "abc", ["a"]), "device": bad_device, "batch_size": bad_int(min=1)}),
    EntryPoint("statgeo.diffusion.add_embeddings", add_embeddings, {"ds": DS_IMG, "embedder": PixelEmbedder(2)},
               {"ds": st.one_of(wrong_type(), st.just(xr.Dataset())), "embedder": wrong_type(),
                "var": values(3, None, "img", "alpha"), "progress": bad_progress},
               message={"ds": ("ds", "dataset", "variable"), "var": ("var",)}),
    EntryPoint("statgeo.diffusion.kmeans", kmeans, {"features": X, "n_clusters": 2},
               {"features": st.one_of(bad_array((20, 2)), wrong_type()), "n_clusters": bad_int(min=1, max=20),
                "seed": bad_int(min=0), "n_init": bad_int(min=1, max=1000)}),
    EntryPoint("statgeo.diffusion.PhaseModel", PhaseModel, {"embedder": PixelEmbedder(2), "centroids": np.eye(2, 12)},
               {"embedder": wrong_type(), "centroids": st.one_of(bad_array((2, 12)), wrong_type())}),
    EntryPoint("statgeo.diffusion.PhaseModel.predict_features", PM.predict_features, {"features": np.zeros((3, 12))},
               {"features": st.one_of(bad_array((3, 12), allow_wrong_shape=False), values(np.zeros((3, 5))),
                                      wrong_type())}),
    EntryPoint("statgeo.diffusion.phase_map", phase_map, {"ds": DS_EMB, "n_phases": 2},
               {"ds": st.one_of(wrong_type(), values(xr.Dataset(), DS_NAN)), "n_phases": bad_int(min=1, max=81),
                "embedder": nn(wrong_type()), "seed": bad_int(min=0), "n_init": bad_int(min=1, max=1000)},
               message={"ds": ("ds", "dataset", "embedding")}),
    EntryPoint("statgeo.diffusion.plot_phase_map", _plot, {"labels": LABELS},
               {"labels": st.one_of(wrong_type(), values(xr.DataArray(np.zeros((2, 2)), dims=("x", "y")),
                                                         LABELS.astype(float) * np.nan)),
                "boundary_score": values(3, "abc", xr.DataArray(np.zeros(2), dims=("alpha",))),
                "ax": values(3, "abc"), "cmap": values("not_a_cmap", 3, None), "levels": bad_int(min=1, max=1000)}),
    # ---------------------------------------------------------------- zoom, Lipschitz, analysis
    EntryPoint("statgeo.diffusion.boundary_mask", boundary_mask, {"labels": np.zeros((3, 3), int)},
               {"labels": bad_2d_labels}),
    EntryPoint("statgeo.diffusion.box_counting_dimension", box_counting_dimension, {"mask": np.eye(16, dtype=bool)},
               {"mask": bad_2d_labels, "min_box": bad_int(min=1, max=16),
                "max_box": st.one_of(nn(not_an_int()), st.integers(max_value=0))}),
    EntryPoint("statgeo.diffusion.find_boundary_point", find_boundary_point,
               {"generator": GEN, "classify": classify, "lslice": LS, "start": (0.3, 0.0), "end": (0.3, 1.0)},
               {"generator": bad_gen, "classify": wrong_type(), "lslice": wrong_type(),
                "start": st.one_of(bad_point, values((0.3, 1.0))), "end": st.one_of(bad_point, values((0.3, 0.0))),
                "tol": bad_real(low=0.0, low_inclusive=False), "batch_size": bad_int(min=1),
                "noise_seed": bad_int(min=0)},
               message={"generator": ("generator",), "start": ("start",), "end": ("end",)}),
    EntryPoint("statgeo.diffusion.zoom", zoom,
               {"generator": GEN, "lslice": LS, "center": (0.3, 0.45), "classify": classify, "scales": [0.1],
                "n": 8, "progress": False},
               {"generator": bad_gen, "lslice": wrong_type(), "center": bad_point, "classify": wrong_type(),
                "scales": values([0.0], [-0.1], [math.nan], "ab", None, [], np.full(65, 0.1)),
                "depth": nn(bad_int(min=1, max=16)) | huge_int(), "n": st.one_of(bad_int(min=8), huge_int(at_least=10**5)),
                "batch_size": bad_int(min=1), "noise_seed": bad_int(min=0), "progress": bad_progress},
               message={"generator": ("generator",)}),
    EntryPoint("statgeo.diffusion.lipschitz_ratios", lipschitz_ratios,
               {"generator": GEN, "lslice": LS, "points": [[0.2, 0.9]], "deltas": [1e-3]},
               {"generator": bad_gen, "lslice": wrong_type(),
                "points": st.one_of(bad_array((1, 2)), wrong_type(), values([0.1, 0.1])),
                "deltas": values([0.0], [-1.0], [math.nan], "ab", None, []),
                "direction": values((0, 0), (1,), "ab", (math.nan, 1.0), None), "embedder": nn(wrong_type()),
                "noise_seed": bad_int(min=0), "batch_size": bad_int(min=1)},
               message={"generator": ("generator",)}),
    EntryPoint("statgeo.diffusion.lipschitz_map", lipschitz_map,
               {"generator": GEN, "lslice": LS, "grid": GRID, "delta": 1e-3},
               {"generator": bad_gen, "lslice": wrong_type(), "grid": st.one_of(wrong_type(), st.just(K_GRID)),
                "delta": bad_real(low=0.0, low_inclusive=False), "embedder": nn(wrong_type()),
                "noise_seed": bad_int(min=0), "batch_size": bad_int(min=1)},
               message={"generator": ("generator",)}),
    EntryPoint("statgeo.diffusion.growth_exponent", growth_exponent, {"ratios": RATIOS},
               {"ratios": st.one_of(wrong_type(), values(
                   xr.DataArray([[1.0, 2.0]], dims=("point", "x")),
                   RATIOS.isel(delta=[0]), RATIOS * np.nan, -RATIOS,
                   RATIOS.assign_coords(delta=[1e-2, 1e-2, 1e-2]), RATIOS.assign_coords(delta=[-1.0, 1e-2, 1e-3])))}),
    EntryPoint("statgeo.diffusion.path_lengths", path_lengths, {"images": np.zeros((3, 1, 2, 2))},
               {"images": st.one_of(wrong_type(), values(np.zeros((1, 1, 2, 2)), np.full((3, 1, 2, 2), np.nan),
                                                        np.zeros(3))),
                "embedder": nn(wrong_type()), "lpips": nn(wrong_type())}),
    EntryPoint("statgeo.diffusion.analyse_slice", analyse_slice,
               {"ds": DS_EMB, "grid": slice_grid(5), "temperature": 50.0, "fit_kwargs": {"max_steps": 2},
                "progress": False},
               {"ds": st.one_of(wrong_type(), values(xr.Dataset(), DS_POINTS, DS_NAN)),
                "grid": st.one_of(wrong_type(none=False), st.just(K_GRID)), "kernel": nn(bad_choice(("gauss", "exp"))),
                "temperature": nn(bad_real(low=0.0, low_inclusive=False)),
                "n_eff": nn(bad_real(low=0.0, low_inclusive=False)), "fit_kwargs": values(3, "abc", ["a"]),
                "boundary_method": bad_choice(("max_eigenvalue", "trace", "det")), "threshold": bad_real(),
                "progress": bad_progress},
               message={"ds": ("ds", "dataset", "embedding")}),
    EntryPoint("statgeo.diffusion.interpolation_paths", interpolation_paths,
               {"potential": flat_metric, "generator": GEN, "lslice": LS, "start": (0.1, 0.1), "end": (0.1, 0.9),
                "n_points": 4},
               {"potential": wrong_type(), "generator": bad_gen, "lslice": wrong_type(),
                "start": st.one_of(bad_point, values((0.1, 0.9))), "end": st.one_of(bad_point, values((0.1, 0.1))),
                "n_points": bad_int(min=3, max=4096), "embedder": nn(wrong_type()), "lpips": nn(wrong_type()),
                "bounds": values("ab", 3, [(0.0, 1.0)], [(1.0, 0.0), (0.0, 1.0)], [("a", 1.0), (0.0, 1.0)]),
                "noise_seed": bad_int(min=0), "batch_size": bad_int(min=1), "geodesic_kwargs": values(3, "abc")},
               message={"generator": ("generator",), "start": ("start",), "end": ("end",)}),
    # ---------------------------------------------------------------- 1-D bimodal analysis
    EntryPoint("statgeo.diffusion.BimodalVP", BimodalVP, {"sigma": 0.5, "beta": 1.0},
               {"sigma": st.one_of(bad_real(low=0.0, low_inclusive=False), values([0.5, 0.6])),
                "beta": bad_real(low=0.0, low_inclusive=False)}),
    EntryPoint("statgeo.diffusion.BimodalVP.mean_var", BIM.mean_var, {"t": [0.0, 0.5]},
               {"t": st.one_of(bad_real(low=0.0), wrong_type(), values([]))}),
    EntryPoint("statgeo.diffusion.BimodalVP.score", BIM.score, {"x": [0.1], "t": 0.2},
               {"x": bad_coords, "t": bad_real(low=0.0)}),
    EntryPoint("statgeo.diffusion.BimodalVP.velocity", BIM.velocity, {"t": 0.2, "x": [0.1]},
               {"x": bad_coords, "t": bad_real(low=0.0)}),
    EntryPoint("statgeo.diffusion.BimodalVP.local_rate", BIM.local_rate, {"t": [0.0, 0.5]},
               {"t": st.one_of(bad_real(low=0.0), wrong_type())}),
    EntryPoint("statgeo.diffusion.BimodalVP.integrate", BIM.integrate, {"x_start": [0.0, 0.1], "t_start": 0.1,
                                                                         "t_end": 0.0},
               {"x_start": st.one_of(bad_coords, values([[0.1, 0.2], [0.3, 0.4]])),
                "t_start": st.one_of(bad_real(low=0.0), values(0.0)), "t_end": st.one_of(bad_real(low=0.0), values(0.1)),
                "rtol": bad_real(low=0.0, high=1.0, low_inclusive=False, high_inclusive=False),
                "atol": bad_real(low=0.0, low_inclusive=False), "n_eval": nn(bad_int(min=2, max=10**6))}),
    EntryPoint("statgeo.diffusion.BimodalVP.lyapunov_numerical", BIM.lyapunov_numerical, {"tau": 1e-3},
               {"tau": nn(bad_real(low=0.0, low_inclusive=False)), "eps": bad_real(low=0.0, low_inclusive=False),
                "t0": bad_real(low=0.0)}),
    EntryPoint("statgeo.diffusion.lyapunov_formula", lyapunov_formula, {"sigma": 0.5},
               {"sigma": st.one_of(bad_real(low=0.0, low_inclusive=False), values([0.5, 0.6])),
                "beta": bad_real(low=0.0, low_inclusive=False)}),
    EntryPoint("statgeo.diffusion.lyapunov_scan", lyapunov_scan, {"sigmas": [0.5]},
               {"sigmas": values([0.0], [-1.0], [math.nan], "ab", None, []),
                "beta": bad_real(low=0.0, low_inclusive=False), "eps": bad_real(low=0.0, low_inclusive=False)}),
    # ---------------------------------------------------------------- diffusability: closed forms
    EntryPoint("statgeo.diffusion.diffusability.covariance_spectrum", dd.covariance_spectrum, {"cov": np.eye(2)},
               {"cov": st.one_of(wrong_type(), values(np.full((2, 2), np.nan), np.ones(3), np.ones((2, 3)), -np.eye(2))),
                "rtol": bad_real(low=0.0, high=1.0, high_inclusive=False)}),
    *[EntryPoint(f"statgeo.diffusion.diffusability.{f.__name__}", f, {"tau": 1.0, "variances": [1.0, 2.0]},
                 {"tau": bad_taus, "variances": st.one_of(wrong_type(), values([-1.0], [math.nan], [math.inf],
                                                                               [[1.0]], []))})
      for f in (dd.gaussian_fisher_information, dd.gaussian_fisher_information_rate, dd.gaussian_mmse,
                dd.gaussian_mmse_rate)],
    EntryPoint("statgeo.diffusion.diffusability.gaussian_diagnostics", dd.gaussian_diagnostics,
               {"tau": 1.0, "variances": [1.0, 2.0]},
               {"tau": bad_taus, "cov": values(np.full((2, 2), np.nan), "ab", -np.eye(2)),
                "variances": values([-1.0], [math.nan], "ab", [[1.0]])}),
    EntryPoint("statgeo.diffusion.diffusability.tau_from_alpha_bar", dd.tau_from_alpha_bar, {"alpha_bar": 0.5},
               {"alpha_bar": bad_real(low=0.0, high=1.0, low_inclusive=False)}),
    EntryPoint("statgeo.diffusion.diffusability.alpha_bar_from_tau", dd.alpha_bar_from_tau, {"tau": 0.5},
               {"tau": bad_real(low=0.0)}),
    EntryPoint("statgeo.diffusion.diffusability.scheduler_taus", dd.scheduler_taus, {"scheduler": SCHED},
               {"scheduler": bad_scheduler}),
    EntryPoint("statgeo.diffusion.diffusability.tau_from_timestep", dd.tau_from_timestep,
               {"scheduler": SCHED, "timestep": 3},
               {"scheduler": bad_scheduler, "timestep": bad_real(low=0.0, high=49.0)}),
    EntryPoint("statgeo.diffusion.diffusability.timestep_from_tau", dd.timestep_from_tau,
               {"scheduler": SCHED, "tau": 1.0},
               {"scheduler": bad_scheduler, "tau": st.one_of(bad_real(low=0.0, low_inclusive=False), values(1e9)),
                "mode": bad_choice(("nearest", "interpolate"))}),
    EntryPoint("statgeo.diffusion.diffusability.mmse_from_fisher", dd.mmse_from_fisher, {"tau": 1.0, "dim": 2, "I": 1.0},
               {"tau": bad_taus, "dim": bad_int(min=1), "I": st.one_of(non_finite(), values("ab", None))}),
    EntryPoint("statgeo.diffusion.diffusability.mmse_rate_from_fisher", dd.mmse_rate_from_fisher,
               {"tau": 1.0, "dim": 2, "I": 1.0, "R": -0.5},
               {"tau": bad_taus, "dim": bad_int(min=1), "I": st.one_of(non_finite(), values("ab", None)),
                "R": st.one_of(non_finite(), values("ab", None))}),
    # ---------------------------------------------------------------- diffusability: estimators
    EntryPoint("statgeo.diffusion.diffusability.Estimate.from_samples", dd.Estimate.from_samples,
               {"x": [1.0, 2.0, 3.0], "n_evals": 3, "tau": 0.5},
               {"x": values([1.0], [math.nan, 1.0], "ab", None, [[1.0, 2.0], [3.0, 4.0]]), "n_evals": bad_int(min=0),
                "tau": bad_real(low=0.0, low_inclusive=False)}),
    EntryPoint("statgeo.diffusion.diffusability.Estimate.z_score", EST.z_score, {"exact": 1.0},
               {"exact": st.one_of(non_finite(), wrong_type(), values([1.0, 2.0]))}),
    EntryPoint("statgeo.diffusion.diffusability.ScoreFunction", dd.ScoreFunction, {"fn": score},
               {"fn": wrong_type(), "resolve": nn(wrong_type()), "sample_shape": values((0,), "ab", (2.5,))}),
    EntryPoint("statgeo.diffusion.diffusability.ScoreFunction.resolve_tau", SF.resolve_tau, {"tau": 0.5},
               {"tau": st.one_of(bad_real(low=0.0, low_inclusive=False), values([0.5, 1.0]))}),
    EntryPoint("statgeo.diffusion.diffusability.score_function", dd.score_function, {"model": score},
               {k: estimator_kwargs_bad[k] for k in ("model", "kind", "scheduler", "timestep_mode", "prediction_type",
                                                     "unet_kwargs")}),
    EntryPoint("statgeo.diffusion.diffusability.estimate_diffusability", dd.estimate_diffusability,
               {**SAMPLE_KW, "tau": [0.5, 1.0]},
               {**estimator_kwargs_bad, "tau": bad_taus, "rate": bad_flag, "n_probes": bad_int(min=1, max=1024),
                "probe": bad_choice(("rademacher", "gaussian")), "jvp": bad_choice(("auto", "forward", "fd")),
                "fd_step": bad_real(low=0.0, low_inclusive=False), "progress": bad_progress}),
    EntryPoint("statgeo.diffusion.diffusability.fisher_information", dd.fisher_information, {**SAMPLE_KW, "tau": 1.0},
               {**estimator_kwargs_bad, "tau": st.one_of(bad_real(low=0.0, low_inclusive=False), values([1.0, 2.0]))}),
    EntryPoint("statgeo.diffusion.diffusability.fisher_information_rate", dd.fisher_information_rate,
               {**SAMPLE_KW, "tau": 1.0},
               {**estimator_kwargs_bad, "tau": st.one_of(bad_real(low=0.0, low_inclusive=False), values([1.0, 2.0])),
                "n_probes": bad_int(min=1, max=1024)}),
    EntryPoint("statgeo.diffusion.diffusability.fisher_information_rate_fd", dd.fisher_information_rate_fd,
               {**SAMPLE_KW, "taus": [0.9, 1.0, 1.1]},
               {**estimator_kwargs_bad, "taus": st.one_of(bad_taus, values([1.0, 2.0], [2.0, 1.0, 0.5])),
                "estimator": bad_choice(("score", "denoise")), "progress": bad_progress}),
    EntryPoint("statgeo.diffusion.diffusability.diffusability_profile", dd.diffusability_profile,
               {**SAMPLE_KW, "taus": [0.5, 1.0]},
               {**estimator_kwargs_bad, "taus": bad_taus, "n_probes": bad_int(min=1, max=1024),
                "probe": bad_choice(("rademacher", "gaussian")), "progress": bad_progress}),
    # ---------------------------------------------------------------- diffusability: references
    EntryPoint("statgeo.diffusion.diffusability.GaussianMixture", dd.GaussianMixture, {"means": [[0.0, 0.0], [1.0, 1.0]]},
               {"means": st.one_of(bad_array((2, 2)), wrong_type()),
                "weights": values([1.0], [-1.0, 2.0], [0.0, 0.0], [math.nan, 1.0], "ab"),
                "component_variance": bad_real(low=0.0)}),
    *[EntryPoint(f"statgeo.diffusion.diffusability.GaussianMixture.{m}", getattr(GM, m), {"y": np.zeros((2, 2)),
                                                                                          "tau": 0.5},
                 {"y": bad_y, "tau": bad_real(low=0.0)})
      for m in ("log_prob", "score", "hessian", "posterior_mean", "posterior_covariance")],
    EntryPoint("statgeo.diffusion.diffusability.GaussianMixture.sample", GM.sample,
               {"n": 3, "generator": torch.Generator().manual_seed(0)},
               {"n": st.one_of(bad_int(min=1, max=dd.MAX_MC_SAMPLES), huge_int()), "generator": wrong_type()}),
    EntryPoint("statgeo.diffusion.diffusability.GaussianMixture.fisher_mc", GM.fisher_mc, {"tau": 0.5, "n": 10},
               {"tau": bad_real(low=0.0, low_inclusive=False), "n": bad_mc, "seed": bad_int(min=0),
                "batch_size": bad_int(min=1)}),
    EntryPoint("statgeo.diffusion.diffusability.pushforward_fisher_1d", dd.pushforward_fisher_1d,
               {"f": np.tanh, "tau": 1.0},
               {"f": st.one_of(wrong_type(), values(lambda x: x * np.nan, lambda x: x[:3])), "tau": bad_taus,
                "x_max": bad_real(low=0.0, low_inclusive=False), "h_max": bad_real(low=0.0, low_inclusive=False),
                "n_max": bad_int(min=3, max=10**6), "chunk": bad_int(min=1)}),
    EntryPoint("statgeo.diffusion.diffusability.pushforward_fisher_curve", dd.pushforward_fisher_curve,
               {"f": curve, "tau": 1.0, "n_outer": 8, "n_inner": 4},
               {"f": st.one_of(wrong_type(), values(lambda x: np.stack([x] * 4, 1), lambda x: x * np.nan)),
                "tau": bad_taus, "n_outer": bad_int(min=2, max=1000), "n_inner": bad_int(min=2, max=1000),
                "x_max": bad_real(low=0.0, low_inclusive=False), "h_max": bad_real(low=0.0, low_inclusive=False),
                "n_max": bad_int(min=3, max=10**6), "chunk": bad_int(min=1)}),
    # ---------------------------------------------------------------- diffusability: encoders
    EntryPoint("statgeo.diffusion.diffusability.fir_deviation", dd.fir_deviation, {"R_z": -1.5, "R_x": -1.0},
               {"R_z": st.one_of(non_finite(), values("ab", None, [])), "R_x": st.one_of(non_finite(),
                                                                                         values(0.0, "ab", None))}),
    EntryPoint("statgeo.diffusion.diffusability.encoder_scale", dd.encoder_scale, {"x": X, "z": 2 * X},
               {"x": st.one_of(wrong_type(), values(np.full((20, 2), np.nan), X[:5], np.zeros((20, 2)))),
                "z": st.one_of(wrong_type(), values(np.full((20, 2), np.nan), X[:5]))}),
    EntryPoint("statgeo.diffusion.diffusability.scale_corrected_fir_deviation", dd.scale_corrected_fir_deviation,
               {"tau": 0.5, "R_z": rate_z, "R_x": rate_x, "scale": 2.0},
               {"tau": bad_taus, "R_z": st.one_of(wrong_type(), values(lambda t: t * np.nan)),
                "R_x": st.one_of(wrong_type(), values(lambda t: 0 * t)),
                "scale": bad_real(low=0.0, low_inclusive=False)}),
    EntryPoint("statgeo.diffusion.diffusability.compression_penalty_limit", dd.compression_penalty_limit,
               {"D": 16, "d": 9, "k": 2},
               {"D": bad_int(min=1), "d": bad_int(min=2, max=16), "k": bad_int(min=0, max=15)}),
    EntryPoint("statgeo.diffusion.diffusability.compression_penalty", dd.compression_penalty,
               {"tau": 1e-3, "D": 16, "d": 9, "k": 2},
               {"tau": bad_taus, "D": st.one_of(bad_int(min=1), huge_int(at_least=10**12)),
                "d": bad_int(min=2, max=16), "k": bad_int(min=0, max=15),
                "variance": bad_real(low=0.0, low_inclusive=False)}),
    EntryPoint("statgeo.diffusion.diffusability.tangential_encoder", dd.tangential_encoder, {"delta": 0.1},
               {"delta": st.one_of(bad_real(low=-1.0, high=1.0, low_inclusive=False, high_inclusive=False),
                                   values([0.1, 0.2]))}),
    EntryPoint("statgeo.diffusion.diffusability.tangential_distortion_penalty", dd.tangential_distortion_penalty,
               {"tau": 1.0, "delta": 0.1},
               {"tau": bad_taus, "delta": bad_real(low=-1.0, high=1.0, low_inclusive=False, high_inclusive=False),
                "variances": values([1.0], [-1.0, 1.0], [math.nan, 1.0], "ab"), "scale_corrected": bad_flag}),
    EntryPoint("statgeo.diffusion.diffusability.curvature_encoder", dd.curvature_encoder, {"eps": 0.5},
               {"eps": st.one_of(bad_real(low=0.0), values([0.5, 1.0]))}),
    EntryPoint("statgeo.diffusion.diffusability.curvature_injection_penalty", dd.curvature_injection_penalty,
               {"tau": [1.0], "eps": 1.0, "n_outer": 8, "n_inner": 4},
               {"tau": bad_taus, "eps": bad_real(low=0.0, low_inclusive=False), "scale_corrected": bad_flag,
                "n_outer": bad_int(min=2, max=1000), "n_inner": bad_int(min=2, max=1000)}),
    EntryPoint("statgeo.diffusion.diffusability.activation_fisher", dd.activation_fisher,
               {"activation": np.tanh, "tau": 1.0, "dim": 1},
               {"activation": wrong_type(), "tau": bad_taus, "dim": bad_int(min=1)}),
    EntryPoint("statgeo.diffusion.diffusability.linear_bilipschitz_bounds", dd.linear_bilipschitz_bounds,
               {"A": np.eye(2), "I_x": lambda t: 2 / (1 + t), "tau": 1.0},
               {"A": st.one_of(wrong_type(), values(np.zeros((2, 2)), np.ones((1, 2)), np.full((2, 2), np.nan))),
                "I_x": st.one_of(wrong_type(), values(lambda t: t * np.nan)), "tau": bad_taus,
                "form": bad_choice(("general", "gaussian"))}),
    EntryPoint("statgeo.diffusion.diffusability.analyse_linear_gaussian", dd.analyse_linear_gaussian,
               {"A": np.eye(2), "cov": np.eye(2), "taus": [1.0]},
               {"A": st.one_of(wrong_type(), values(np.full((2, 2), np.nan), np.zeros((2, 3)))),
                "cov": st.one_of(wrong_type(), values(np.full((2, 2), np.nan), np.ones((3, 3)), -np.eye(2),
                                                     np.zeros((2, 2)))),
                "taus": bad_taus}),
    EntryPoint("statgeo.diffusion.diffusability.analyse_encoder", dd.analyse_encoder,
               {"encoder": lambda v: 2 * v, "x": X, "taus": [1.0], "n_mc": 10},
               {"encoder": wrong_type(), "x": st.one_of(bad_array((20, 2)), wrong_type()), "taus": bad_taus,
                "bandwidth": bad_real(low=0.0), "n_mc": bad_mc, "seed": bad_int(min=0), "batch_size": bad_int(min=1)}),
]

#: public names that take no user input
NOT_ENTRY_POINTS = {
    "statgeo.diffusion.Embedder": "a typing Protocol (the embedder interface, for isinstance checks); never instantiated",
    "statgeo.diffusion.LatentGenerator": "a typing Protocol (the generator interface, for isinstance checks); "
                                         "never instantiated",
    "statgeo.diffusion.SliceGeometry": "a result record filled by analyse_slice",
    "statgeo.diffusion.diffusability.Estimate": "a result record filled by the estimators (Estimate.from_samples, "
                                                "which is registered, builds one from user samples)",
    "statgeo.diffusion.diffusability.DiffusabilityEstimate": "a result record filled by estimate_diffusability",
}


test_bad_input_is_refused_clearly_and_early, test_valid_calls_of_the_registry_succeed = registry_tests(ENTRY_POINTS)


# ----------------------------------------------------------------------------- regressions (user survey)
def test_huge_resolution_is_refused_before_anything_is_allocated(tmp_path):
    """sweep(..., resolution=10**6) tried to allocate terabytes; now refused, naming the limit."""
    calls = []

    def loader():
        calls.append(1)
        return GEN

    with pytest.raises(ValueError, match=r"resolution.*TiB|resolution.*PiB|resolution.*EiB"):
        sweep(loader, LS, GRID, resolution=10**6, progress=False)
    with pytest.raises(ValueError, match="resolution"):
        sweep(loader, LS, GRID, resolution=10**6, store=tmp_path / "s.zarr", progress=False)
    assert not calls and not (tmp_path / "s.zarr").exists()  # the generator was never loaded, nothing written


def test_zoom_depth_is_capped():
    with pytest.raises(ValueError, match=r"depth must be an integer in \[1, 16\]"):
        zoom(GEN, LS, (0.3, 0.45), classify, depth=10**6)
    with pytest.raises(ValueError, match="scales or depth"):
        zoom(GEN, LS, (0.3, 0.45), classify, scales=[0.1], depth=2)
    with pytest.raises(ValueError, match="64"):
        zoom(GEN, LS, (0.3, 0.45), classify, scales=np.geomspace(0.1, 1e-3, 100))
    z = zoom(GEN, LS, (0.3, float(GEN.boundary_curve(0.3))), classify, depth=2, n=8, progress=False)
    np.testing.assert_array_equal(z.scale.values, [0.1, 0.01])


def test_depth_shorthand_gives_the_default_scales():
    from statgeo.diffusion.zoom import DEFAULT_SCALES

    c = (0.3, float(GEN.boundary_curve(0.3)))
    a = zoom(GEN, LS, c, classify, n=8, scales=DEFAULT_SCALES[:3], progress=False)
    b = zoom(GEN, LS, c, classify, n=8, depth=3, progress=False)
    xr.testing.assert_identical(a, b)


@pytest.mark.parametrize("seeds", [[0, 0, 0], [5, 5, 7]])
def test_equal_seeds_are_refused(seeds):
    with pytest.raises(ValueError, match="seeds must be distinct"):
        LatentSlice.from_seeds(seeds, (4, 8, 8))


def test_degenerate_anchors_are_refused_naming_the_anchors_and_seeds():
    with pytest.raises(ValueError, match="anchors are degenerate"):
        LatentSlice(np.zeros((3, 4)))
    z0 = np.random.default_rng(0).normal(size=8)
    with pytest.raises(ValueError, match="collinear"):
        LatentSlice(np.stack([z0, 2 * z0, -3 * z0]))  # on one line through the origin
    with pytest.raises(ValueError, match=r"seeds \(1, 2, 3\)"):
        LatentSlice(np.stack([z0, z0 + 1.0, z0 + 2.0]), seeds=(1, 2, 3))  # collinear, recorded seeds named
    LatentSlice(np.stack([z0, z0 + 1.0, z0 + np.arange(8.0)]))  # a genuine plane is fine


def test_nan_generator_output_is_refused_before_anything_is_written(tmp_path):
    """A generator returning NaN used to be stored as black images in a 'complete' store."""
    bad_after = {"n": 0}

    def fn(z):
        bad_after["n"] += 1
        img = torch.sigmoid(z[:, :1, None, None].expand(-1, 3, 4, 4).double())
        if bad_after["n"] >= 2:  # the second batch goes wrong
            img = img * float("nan")
        return img

    gen = CallableGenerator(fn, (2,))
    store = tmp_path / "nan.zarr"
    with pytest.raises(ValueError, match=r"fn.*NaN|generator output.*NaN"):
        sweep(gen, LS, slice_grid(2), batch_size=2, chunk_size=2, store=store, progress=False)
    st_ = SweepStore(store)
    assert st_.done().tolist() == [True, False]  # the first chunk is complete, the second is not marked
    with pytest.raises(ValueError, match="incomplete"):
        st_.load()

    class RawNaN:
        """A generator that bypasses CallableGenerator's check: generate() refuses it too."""

        latent_shape, dtype = (2,), torch.float64

        def __call__(self, z, seeds=None):
            return torch.full((z.shape[0], 3, 2, 2), float("nan")), None

        def config(self):
            return {"kind": "raw-nan", "latent_shape": [2]}

    with pytest.raises(ValueError, match=r"generator output for batch 0 \(points 0 to 1"):
        sweep(RawNaN(), LS, slice_grid(2), batch_size=2, progress=False)
    with pytest.raises(ValueError, match="images contain NaN"):
        to_uint8(np.full((1, 3, 2, 2), np.nan))


@pytest.mark.parametrize("call", [
    lambda: slice_grid(1),
    lambda: slice_grid(4, alpha_range=(0.5, 0.5)),
    lambda: SyntheticGenerator(size=0),
    lambda: PixelEmbedder(0),
    lambda: zoom(GEN, LS, (0.3, 0.4), classify, scales=[0.0]),
    lambda: zoom(GEN, LS, (0.3, 0.4), classify, n=0),
    lambda: sweep(GEN, LS, points=np.zeros((0, 2)), progress=False),
    lambda: point_seeds(0, 0),
    lambda: lipschitz_ratios(GEN, LS, [[0.1, 0.1]], [0.0]),
], ids=["slice_grid n=1", "zero-width range", "size=0", "PixelEmbedder(0)", "zero window", "n=0", "no points",
        "no seeds", "zero step"])
def test_degenerate_sizes_are_refused(call):
    with pytest.raises(ValueError):
        call()


def test_lists_are_accepted_where_arrays_are():
    ls = LatentSlice([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], normalise="none")
    np.testing.assert_array_equal(ls.latents([0.5], [0.25]), [[0.5, 0.25]])
    assert sweep(GEN, ls, points=[[0.1, 0.2], [0.3, 0.4]], progress=False).image.shape == (2, 3, 4, 4)
    assert to_uint8([[[[0.5]]]]).tolist() == [[[[128]]]]
    assert kmeans([[0.0], [0.1], [5.0]], 2)[0].tolist() == [0, 0, 1]
    assert float(dd.gaussian_fisher_information([1.0, 3.0][0], [1.0, 3.0])) == 0.75
    assert dd.GaussianMixture([[0.0]], [1.0]).score([[1.0]], 1.0).shape == (1, 1)
    assert lipschitz_ratios(GEN, LS, [[0.2, 0.9]], [1e-3], direction=[1, 0]).ratio_pixel.shape == (1, 1)


def test_sweep_point_cap_is_documented_and_enforced():
    pts = np.zeros((MAX_SWEEP_POINTS + 1, 2))
    with pytest.raises(ValueError, match=str(MAX_SWEEP_POINTS)):
        sweep(GEN, LS, points=pts, progress=False)
    with pytest.raises(ValueError, match="pairs"):
        lipschitz_ratios(GEN, LS, [[0.2, 0.9]] * 3, np.full(MAX_SWEEP_POINTS // 2, 1e-3))


def test_tiny_tau_quadrature_is_refused_not_run_for_hours():
    with pytest.raises(ValueError, match="too small for the quadrature"):
        dd.pushforward_fisher_1d(np.tanh, 1e-14)


def test_unknown_keywords_of_the_fd_rate_are_refused():
    with pytest.raises(TypeError, match="n_sample"):
        dd.fisher_information_rate_fd(score, sampler, [0.9, 1.0, 1.1], n_sample=10)


def test_progress_switch_and_environment(capsys, monkeypatch):
    """progress=False is always silent; TQDM_DISABLE=1 silences progress=True."""
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    sweep(GEN, LS, GRID, progress=False)
    add_embeddings(DS_IMG, PixelEmbedder(2), progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("TQDM_DISABLE", "1")
    sweep(GEN, LS, GRID, progress=True)
    zoom(GEN, LS, (0.3, 0.45), classify, scales=[0.1], n=8, progress=True)
    dd.estimate_diffusability(score, sampler, 1.0, n_samples=4, progress=True)
    assert capsys.readouterr().err == ""
    monkeypatch.delenv("TQDM_DISABLE")
    sweep(GEN, LS, GRID, progress=True)
    assert "sweep" in capsys.readouterr().err
