"""``statgeo-diffusion`` sweep → embed → analyse on a tiny saved model; bad-input errors."""

import json
import logging

import numpy as np
import pytest
torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
import xarray as xr

from statgeo.diffusion.cli import main
from tests.diffusion.conftest import tiny_embeds


@pytest.fixture
def files(tiny_model_dir, tmp_path, tiny_clip_config):
    pe, ne = tiny_embeds()
    torch.save(pe, tmp_path / "pe.pt")
    torch.save(ne, tmp_path / "ne.pt")
    (tmp_path / "clip.json").write_text(json.dumps(tiny_clip_config))
    return tiny_model_dir, tmp_path


def test_sweep_embed_analyse(files):
    model, tmp = files
    out = str(tmp / "slice.zarr")
    rc = main(["sweep", str(model), "--prompt-embeds", str(tmp / "pe.pt"), "--negative-embeds", str(tmp / "ne.pt"),
               "--seeds", "0", "1", "2", "--n", "3", "--steps", "2", "--guidance", "2.0", "--batch-size", "9",
               "--resolution", "8", "--out", out])
    assert rc == 0
    ds = xr.open_zarr(out, consolidated=False).load()
    assert ds.image.shape == (3, 3, 3, 8, 8)
    cfg = json.loads(ds.attrs["config"])
    assert cfg["generator"]["num_inference_steps"] == 2 and cfg["slice"]["seeds"] == [0, 1, 2]
    # rerun on the same chunk store: nothing left to do, same result
    assert main(["sweep", str(model), "--prompt-embeds", str(tmp / "pe.pt"), "--negative-embeds",
                 str(tmp / "ne.pt"), "--n", "3", "--steps", "2", "--guidance", "2.0", "--batch-size", "9",
                 "--resolution", "8", "--out", str(tmp / "again.nc")]) == 0
    again = xr.open_dataset(tmp / "again.nc", engine="h5netcdf").load()
    np.testing.assert_array_equal(again.image.values, ds.image.values)
    emb = str(tmp / "emb.nc")
    assert main(["embed", out, "--clip-model", "statgeo-cli-clip", "--clip-config", str(tmp / "clip.json"),
                 "--out", emb]) == 0
    e = xr.open_dataset(emb, engine="h5netcdf")
    assert e.embedding.shape == (3, 3, 16)
    assert main(["analyse", emb, "--n-phases", "2", "--figure", str(tmp / "p.png"), "--out", str(tmp / "ph.nc")]) == 0
    ph = xr.open_dataset(tmp / "ph.nc", engine="h5netcdf")
    assert set(np.unique(ph.phase.values)) <= {0, 1} and (tmp / "p.png").exists()


def test_errors(files, caplog):
    model, tmp = files
    caplog.set_level(logging.ERROR)
    rc = main(["sweep", str(tmp / "no_model"), "--prompt-embeds", str(tmp / "pe.pt"), "--out", str(tmp / "x.zarr")])
    assert rc == 2 and "no_model" in caplog.text
    np.save(tmp / "bad_anchors.npy", np.zeros((3, 4, 16, 16)))
    rc = main(["sweep", str(model), "--prompt-embeds", str(tmp / "pe.pt"), "--negative-embeds", str(tmp / "ne.pt"),
               "--anchors", str(tmp / "bad_anchors.npy"), "--out", str(tmp / "y.zarr")])
    assert rc == 2 and "latent shape mismatch" in caplog.text
    nan = np.random.default_rng(0).normal(size=(3, 4, 8, 8))
    nan[1, 0, 0, 0] = np.nan
    np.save(tmp / "nan.npy", nan)
    rc = main(["sweep", str(model), "--prompt-embeds", str(tmp / "pe.pt"), "--negative-embeds", str(tmp / "ne.pt"),
               "--anchors", str(tmp / "nan.npy"), "--out", str(tmp / "z.zarr")])
    assert rc == 2 and "NaN" in caplog.text
    rc = main(["sweep", str(model), "--prompt-embeds", str(tmp / "pe.pt"), "--scheduler", "euler",
               "--out", str(tmp / "w.zarr")])
    assert rc == 2 and "scheduler" in caplog.text
    rc = main(["embed", str(tmp / "nothing.zarr"), "--clip-model", "x", "--out", str(tmp / "o.nc")])
    assert rc == 2 and "nothing.zarr" in caplog.text
    with pytest.raises(SystemExit):
        main(["sweep", str(model), "--out", str(tmp / "v.zarr")])  # neither --prompt nor --prompt-embeds


def test_cli_prints_nothing_it_can_avoid(files, capfd, recwarn, monkeypatch):
    """No 'accelerate not found' notice (diffusers), no zarr consolidated-metadata warning, no bars
    off a terminal: the only output of a successful run is what the user asked for."""
    model, tmp = files
    monkeypatch.delenv("TQDM_DISABLE", raising=False)  # bars must stay off because stderr is no terminal
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out, err = capfd.readouterr()
    assert out.startswith("usage: statgeo-diffusion") and err == ""
    rc = main(["sweep", str(model), "--prompt-embeds", str(tmp / "pe.pt"), "--negative-embeds", str(tmp / "ne.pt"),
               "--n", "2", "--steps", "1", "--guidance", "2.0", "--resolution", "8", "--out", str(tmp / "q.zarr")])
    assert rc == 0
    out, err = capfd.readouterr()
    assert out == "" and err == "", (out, err)
    assert not [w for w in recwarn if "onsolidated" in str(w.message) or "accelerate" in str(w.message)]
    assert xr.open_zarr(tmp / "q.zarr", consolidated=False).image.shape == (2, 2, 3, 8, 8)
