"""Sweeps over a tiny random-initialised SD-class pipeline: determinism, per-point noise,
resume, stores, loading, Dask."""

import json

import numpy as np
import pytest
torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
import xarray as xr

from statgeo.diffusion.pipeline import CallableGenerator, DiffusionGenerator, PipelineSpec, load_generator
from statgeo.diffusion.slices import LatentSlice, slice_grid
from statgeo.diffusion.sweep import point_seeds, sweep, to_uint8
from tests.diffusion.conftest import TinyLoader, tiny_components, tiny_embeds

SHAPE = (4, 8, 8)


@pytest.fixture(scope="module")
def lslice():
    return LatentSlice.from_seeds([0, 1, 2], SHAPE)


@pytest.fixture(scope="module")
def ref(tiny_generator, lslice):
    """The reference sweep: 3 × 3 grid, one batch."""
    return sweep(tiny_generator, lslice, slice_grid(3), batch_size=9, keep_latent=True, progress=False)


def _close(a: xr.Dataset, b: xr.Dataset):
    """uint8 images agree to one grey level (float32 UNet batches differ by ~1e-7 in the last bits)."""
    d = np.abs(a.image.values.astype(int) - b.image.values.astype(int))
    assert d.max() <= 1 and (d > 0).mean() < 0.01
    if "final_latent" in a:
        np.testing.assert_allclose(a.final_latent.values, b.final_latent.values, rtol=0, atol=1e-5)


def test_eta0_deterministic_and_batch_size_independent(tiny_generator, lslice, ref):
    g = slice_grid(3)
    a = ref
    b = sweep(tiny_generator, lslice, g, batch_size=9, keep_latent=True, progress=False)
    xr.testing.assert_identical(a, b)
    c = sweep(tiny_generator, lslice, g, batch_size=2, chunk_size=5, keep_latent=True, progress=False)
    _close(a, c)
    assert a.image.dims == ("alpha", "beta", "channel", "y", "x") and a.image.dtype == np.uint8
    assert a.image.shape == (3, 3, 3, 16, 16)
    cfg = json.loads(a.attrs["config"])
    assert cfg["generator"]["eta"] == 0.0 and cfg["generator"]["num_inference_steps"] == 3
    assert cfg["generator"]["guidance_scale"] == 2.0 and "torch" in cfg["versions"]


def test_eta_positive_per_point_noise(tiny_generator_eta, tiny_generator, lslice):
    pts = np.array([[0.1, 0.2], [0.5, 0.5], [0.9, 0.3], [0.2, 0.8]])
    a = sweep(tiny_generator_eta, lslice, points=pts, batch_size=4, noise_seed=3, keep_latent=True, progress=False)
    b = sweep(tiny_generator_eta, lslice, points=pts, batch_size=4, noise_seed=3, keep_latent=True, progress=False)
    xr.testing.assert_identical(a, b)
    c = sweep(tiny_generator_eta, lslice, points=pts, batch_size=3, noise_seed=3, keep_latent=True, progress=False)
    _close(a, c)
    # a point's image does not depend on its batch companions: point 2 alone, with its seed
    z = torch.from_numpy(lslice.latents(pts[2:3, 0], pts[2:3, 1])).float()
    im, zl = tiny_generator_eta(z, [int(point_seeds(3, 3)[2])])
    np.testing.assert_allclose(zl.numpy()[0], a.final_latent.values[2], atol=1e-5)
    e = sweep(tiny_generator_eta, lslice, points=pts, batch_size=4, noise_seed=4, keep_latent=True, progress=False)
    assert np.abs(e.final_latent.values - a.final_latent.values).max() > 1e-2  # the noise is used
    f = sweep(tiny_generator, lslice, points=pts, batch_size=4, keep_latent=True, progress=False)
    assert np.abs(f.final_latent.values - a.final_latent.values).max() > 1e-2


def test_point_seeds_independent_of_offset():
    np.testing.assert_array_equal(point_seeds(7, 10)[4:], point_seeds(7, 6, offset=4))
    assert len(set(point_seeds(7, 100).tolist())) == 100


class Interrupting:
    """Wraps a generator, counts calls and raises on call number ``fail_at`` (1-based)."""

    def __init__(self, gen, fail_at=None):
        self.gen, self.fail_at, self.calls = gen, fail_at, 0
        self.latent_shape, self.dtype = gen.latent_shape, gen.dtype

    def __call__(self, latents, seeds=None):
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise KeyboardInterrupt("simulated interruption")
        return self.gen(latents, seeds)

    def config(self):
        return self.gen.config()


def test_resume_loses_and_repeats_nothing(tiny_generator, lslice, tmp_path, ref):
    g = slice_grid(3)  # 9 points, chunks of 2 = 5 chunks, one batch per chunk
    store = tmp_path / "s.zarr"
    first = Interrupting(tiny_generator, fail_at=3)
    with pytest.raises(KeyboardInterrupt):
        sweep(first, lslice, g, batch_size=2, chunk_size=2, keep_latent=True, store=store, progress=False)
    from statgeo.diffusion.store import SweepStore

    assert SweepStore(store).done().tolist() == [True, True, False, False, False]
    second = Interrupting(tiny_generator)
    out = sweep(second, lslice, g, batch_size=2, chunk_size=2, keep_latent=True, store=store, progress=False)
    assert second.calls == 3  # the 3 missing chunks; the 2 finished ones are not regenerated
    assert (first.calls - 1) + second.calls == 5  # every chunk generated exactly once
    _close(out, ref)
    assert json.loads(out.attrs["config"])["chunk_size"] == 2
    third = Interrupting(tiny_generator)
    again = sweep(third, lslice, g, batch_size=2, chunk_size=2, keep_latent=True, store=store, progress=False)
    assert third.calls == 0
    xr.testing.assert_identical(again, out)
    with pytest.raises(ValueError, match="different sweep"):
        sweep(tiny_generator, lslice, g, batch_size=2, chunk_size=3, keep_latent=True, store=store, progress=False)


def test_half_written_chunk_is_redone(tiny_generator, lslice, tmp_path):
    """Data written but no marker (a crash between the two): the chunk counts as missing."""
    from statgeo.diffusion.store import SweepStore

    g = slice_grid(2)
    store = tmp_path / "h.zarr"
    first = sweep(tiny_generator, lslice, g, batch_size=2, chunk_size=2, store=store, progress=False)
    import zarr

    grp = zarr.open_group(str(store), mode="r+")
    grp["chunk_done"][1:2] = np.zeros(1, np.uint8)
    grp["image"][2:4] = np.zeros((2, 3, 16, 16), np.uint8)
    assert SweepStore(store).done().tolist() == [True, False]
    c = Interrupting(tiny_generator)
    out = sweep(c, lslice, g, batch_size=2, chunk_size=2, store=store, progress=False)
    assert c.calls == 1
    xr.testing.assert_identical(out, first)


def test_zarr_and_netcdf_round_trips(tiny_generator, lslice, tmp_path):
    ds = sweep(tiny_generator, lslice, slice_grid(2), batch_size=4, keep_latent=True, resolution=8, progress=False)
    assert ds.image.shape[-2:] == (8, 8)
    ds.to_zarr(tmp_path / "r.zarr", consolidated=False)  # Zarr format 3 defines no consolidated metadata
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "r.zarr", consolidated=False).load(), ds)
    ds.to_netcdf(tmp_path / "r.nc", engine="h5netcdf")
    with xr.open_dataset(tmp_path / "r.nc", engine="h5netcdf") as back:
        xr.testing.assert_identical(back.load(), ds)


def test_to_uint8_downsampling():
    x = torch.full((2, 3, 16, 16), 0.5)
    u = to_uint8(x, 4)
    assert u.shape == (2, 3, 4, 4) and np.all(u == 128)
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None]) % 2
    u = to_uint8(checker.float().expand(1, 3, 16, 16), 4)
    assert np.abs(u.astype(int) - 128).max() <= 1  # antialiasing averages the checkerboard


def test_save_pretrained_and_load(tmp_path, lslice, tiny_generator):
    unet, vae, sched = tiny_components()
    unet.save_pretrained(tmp_path / "unet")
    vae.save_pretrained(tmp_path / "vae")
    sched.save_pretrained(tmp_path / "scheduler")
    pe, ne = tiny_embeds()
    spec = PipelineSpec(str(tmp_path), prompt_embeds=pe, negative_embeds=ne, guidance_scale=2.0,
                        num_inference_steps=3)
    gen = load_generator(spec)
    pts = np.array([[0.2, 0.4], [0.7, 0.1]])
    a = sweep(gen, lslice, points=pts, batch_size=2, keep_latent=True, progress=False)
    b = sweep(tiny_generator, lslice, points=pts, batch_size=2, keep_latent=True, progress=False)
    np.testing.assert_array_equal(a.image.values, b.image.values)
    # a loader is accepted in place of a generator
    c = sweep(spec, lslice, points=pts, batch_size=2, keep_latent=True, progress=False)
    np.testing.assert_array_equal(c.image.values, a.image.values)


def test_bad_inputs(tmp_path, lslice, tiny_generator):
    pe, ne = tiny_embeds()
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_generator(PipelineSpec(str(tmp_path / "nowhere"), prompt_embeds=pe, negative_embeds=ne))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="unet"):
        load_generator(PipelineSpec(str(tmp_path / "empty"), prompt_embeds=pe, negative_embeds=ne))
    with pytest.raises(ValueError, match="scheduler"):
        load_generator(PipelineSpec(str(tmp_path), prompt_embeds=pe, scheduler="pndm"))
    from diffusers import PNDMScheduler

    unet, vae, _ = tiny_components()
    with pytest.raises(ValueError, match="unsupported scheduler"):
        DiffusionGenerator(unet, vae, PNDMScheduler(), pe, ne)
    with pytest.raises(ValueError, match="eta"):
        DiffusionGenerator(unet, vae, tiny_components()[2], pe, ne, eta=1.5)
    wrong = LatentSlice.from_seeds([0, 1, 2], (4, 16, 16))
    with pytest.raises(ValueError, match="latent shape mismatch"):
        sweep(tiny_generator, wrong, slice_grid(2), progress=False)
    with pytest.raises(ValueError, match="NaN"):
        tiny_generator(torch.full((1,) + SHAPE, float("nan")))
    with pytest.raises(ValueError, match="points"):
        sweep(tiny_generator, lslice, points=np.zeros((0, 2)), progress=False)
    with pytest.raises(ValueError, match="exactly one"):
        sweep(tiny_generator, lslice, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        sweep(tiny_generator, lslice, slice_grid(2), batch_size=0, progress=False)
    with pytest.raises(ValueError, match="negative_embeds"):
        DiffusionGenerator(unet, vae, tiny_components()[2], pe, None, guidance_scale=3.0)


def test_callable_generator(lslice):
    gen = CallableGenerator(lambda z: torch.sigmoid(z[:, :3]), SHAPE, dtype="float32")
    ds = sweep(gen, lslice, slice_grid(2), batch_size=4, progress=False)
    z = lslice.latents(np.array([0.0]), np.array([0.0]))
    ref = to_uint8(torch.sigmoid(torch.from_numpy(z).float()[:, :3]))
    np.testing.assert_array_equal(ds.image.values[0, 0], ref[0])


def test_dask_local_cluster_matches_in_process(lslice, tiny_generator, tmp_path, ref):
    distributed = pytest.importorskip("distributed")
    from statgeo.diffusion import scaleout

    g = slice_grid(3)
    with distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        out = sweep(TinyLoader(), lslice, g, batch_size=3, chunk_size=3, keep_latent=True, client=client,
                    store=tmp_path / "d.zarr", progress=False)
        workers = set(client.scheduler_info()["workers"])
        out2 = sweep(TinyLoader(), lslice, g, batch_size=3, chunk_size=3, keep_latent=True, client=client,
                     progress=False)
        with pytest.raises(TypeError, match="loader"):
            sweep(tiny_generator, lslice, g, client=client, progress=False)
    _close(out, ref)
    _close(out2, ref)
    keys = [k for k in scaleout._CACHE if k[1] == TinyLoader().token()]
    assert 1 <= len(keys) <= 2 and {k[0] for k in keys} <= workers  # one pipeline per worker
