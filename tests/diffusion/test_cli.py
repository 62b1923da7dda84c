"""``statgeo-diffusion`` sweep → embed → analyse on a tiny saved model; bad-input errors, help
text completeness, ``--quiet`` and the geometry outputs of ``analyse``."""

import argparse
import dataclasses
import io
import json
import logging
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
import xarray as xr

from statgeo.diffusion.cli import build_parser, main
from tests.diffusion.conftest import tiny_embeds

torch.set_num_threads(1)


@pytest.fixture
def files(tiny_model_dir, tmp_path, tiny_clip_config):
    pe, ne = tiny_embeds()
    torch.save(pe, tmp_path / "pe.pt")
    torch.save(ne, tmp_path / "ne.pt")
    (tmp_path / "clip.json").write_text(json.dumps(tiny_clip_config))
    return tiny_model_dir, tmp_path


def _sweep_args(model, tmp, *extra):
    return ["sweep", str(model), "--prompt-embeds", str(tmp / "pe.pt"), "--negative-embeds", str(tmp / "ne.pt"),
            "--steps", "1", "--guidance", "2.0", "--resolution", "8", *extra]


def _clip_args(tmp):
    return ["--clip-model", "statgeo-cli-clip", "--clip-config", str(tmp / "clip.json"), "--random-weights"]


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
    assert main(["embed", out, *_clip_args(tmp), "--out", emb]) == 0
    e = xr.open_dataset(emb, engine="h5netcdf")
    assert e.embedding.shape == (3, 3, 16)
    assert main(["analyse", emb, "--n-phases", "2", "--figure", str(tmp / "p.png"), "--out", str(tmp / "ph.nc")]) == 0
    ph = xr.open_dataset(tmp / "ph.nc", engine="h5netcdf")
    assert set(np.unique(ph.phase.values)) <= {0, 1} and (tmp / "p.png").exists()
    assert "metric" not in ph and json.loads(ph.attrs["config"])["geometry"] is False


def test_errors(files, caplog):
    model, tmp = files
    caplog.set_level(logging.ERROR)
    rc = main(["sweep", str(tmp / "no_model"), "--prompt-embeds", str(tmp / "pe.pt"), "--out", str(tmp / "x.zarr")])
    assert rc == 2 and "no_model" in caplog.text
    np.save(tmp / "bad_anchors.npy", np.random.default_rng(0).normal(size=(3, 4, 16, 16)))
    rc = main(["sweep", str(model), "--prompt-embeds", str(tmp / "pe.pt"), "--negative-embeds", str(tmp / "ne.pt"),
               "--anchors", str(tmp / "bad_anchors.npy"), "--out", str(tmp / "y.zarr")])
    assert rc == 2 and "latent shape mismatch" in caplog.text
    nan = np.random.default_rng(0).normal(size=(3, 4, 8, 8))
    nan[1, 0, 0, 0] = np.nan
    np.save(tmp / "nan.npy", nan)
    rc = main(["sweep", str(model), "--prompt-embeds", str(tmp / "pe.pt"), "--negative-embeds", str(tmp / "ne.pt"),
               "--anchors", str(tmp / "nan.npy"), "--out", str(tmp / "z.zarr")])
    assert rc == 2 and "NaN" in caplog.text and "--anchors" in caplog.text
    rc = main(["embed", str(tmp / "nothing.zarr"), "--clip-model", "x", "--random-weights", "--out", str(tmp / "o.nc")])
    assert rc == 2 and "nothing.zarr" in caplog.text
    assert not (tmp / "x.zarr").exists() and not (tmp / "y.zarr").exists() and not (tmp / "o.nc").exists()


def _refused_by_parser(capsys, argv, *words):
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    for w in words:
        assert w in err, (w, err)


def test_refusals_name_the_argument(files, caplog, capsys):
    """Degenerate slices, a CLIP model without weights, geometry options without --geometry:
    exit status 2 and a message naming the argument, before any model is loaded."""
    model, tmp = files
    caplog.set_level(logging.ERROR)
    out = str(tmp / "never.zarr")
    for seeds in (["0", "0", "0"], ["3", "5", "3"]):
        caplog.clear()
        assert main(_sweep_args(model, tmp, "--seeds", *seeds, "--out", out)) == 2
        assert "--seeds" in caplog.text and "distinct" in caplog.text and " ".join(seeds) in caplog.text
    z = np.random.default_rng(1).normal(size=(4, 8, 8))
    for name, anchors in (("equal", np.stack([z, z, z])), ("collinear", np.stack([z, 2 * z, 3 * z]))):
        np.save(tmp / f"{name}.npy", anchors)
        caplog.clear()
        assert main(_sweep_args(model, tmp, "--anchors", str(tmp / f"{name}.npy"), "--out", out)) == 2
        assert "--anchors" in caplog.text and "degenerate" in caplog.text, caplog.text
    caplog.clear()
    assert main(_sweep_args(model, tmp, "--alpha-range", "1", "0", "--out", out)) == 2
    assert "--alpha-range" in caplog.text
    _refused_by_parser(capsys, _sweep_args(model, tmp, "--scheduler", "no_such_sampler", "--out", out),
                       "--scheduler", "invalid choice", "auto")
    _refused_by_parser(capsys, _sweep_args(model, tmp, "--seeds", "0", "1", "-2", "--out", out), "--seeds")
    _refused_by_parser(capsys, _sweep_args(model, tmp, "--n", "1", "--out", out), "--n", "≥ 2")
    _refused_by_parser(capsys, _sweep_args(model, tmp, "--eta", "1.5", "--out", out), "--eta")
    _refused_by_parser(capsys, _sweep_args(model, tmp, "--dtype", "int8", "--out", out), "--dtype")
    _refused_by_parser(capsys, ["-v", *_sweep_args(model, tmp, "-q", "--out", out)], "--quiet", "--verbose")
    assert not (tmp / "never.zarr").exists()

    # CLIP without weights: refused unless --random-weights is explicit
    caplog.clear()
    assert main(["embed", str(tmp / "any.zarr"), "--clip-model", "ViT-B-32", "--out", str(tmp / "e.nc")]) == 2
    assert "--clip-weights" in caplog.text and "--random-weights" in caplog.text
    _refused_by_parser(capsys, ["embed", "in.zarr", "--clip-model", "x", "--clip-weights", "w.bin",
                                "--random-weights", "--out", "e.nc"], "--random-weights", "not allowed")

    # analyse: the posterior grid is at least 3 per axis, one or two counts, and only with --geometry
    _refused_by_parser(capsys, ["analyse", "in.nc", "--geometry", "--posterior-grid", "2", "--out", "a.nc"],
                       "--posterior-grid", "≥ 3")
    for argv, words in ((["--posterior-grid", "5"], ["--posterior-grid", "--geometry"]),
                        (["--geometry", "--posterior-grid", "3", "4", "5"], ["--posterior-grid", "NA NB"])):
        caplog.clear()
        assert main(["analyse", str(tmp / "missing.nc"), *argv, "--out", str(tmp / "a.nc")]) == 2
        assert all(w in caplog.text for w in words), caplog.text


def test_unsupported_saved_scheduler_exits_2(files, caplog):
    """scheduler='auto' (the default) refuses a saved scheduler the sampler does not support."""
    from diffusers import PNDMScheduler

    from statgeo.diffusion.pipeline import SUPPORTED_SCHEDULERS, PipelineSpec

    spec_default = {f.name: f.default for f in dataclasses.fields(PipelineSpec)}["scheduler"]
    if spec_default != "auto" or "pndm" in SUPPORTED_SCHEDULERS:
        pytest.skip("needs PipelineSpec(scheduler='auto') and a scheduler outside SUPPORTED_SCHEDULERS")
    model, tmp = files
    PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear").save_pretrained(
        model / "scheduler")
    caplog.set_level(logging.ERROR)
    assert main(_sweep_args(model, tmp, "--n", "2", "--out", str(tmp / "s.zarr"))) == 2
    assert "scheduler" in caplog.text and "PNDM" in caplog.text, caplog.text


def _options(parser):
    """(parser, action) of every argument of the parser and of its sub-commands."""
    out = []
    for act in parser._actions:
        if isinstance(act, argparse._SubParsersAction):
            for sp in act.choices.values():
                out += _options(sp)
        elif not isinstance(act, argparse._HelpAction):
            out.append((parser, act))
    return out


def test_every_option_has_help_default_and_choices():
    """New options cannot come without a help text that states their default."""
    from statgeo.diffusion.analysis import BOUNDARY_METHODS
    from statgeo.diffusion.pipeline import SUPPORTED_SCHEDULERS
    from statgeo.diffusion.slices import NORMALISATIONS

    parser = build_parser()
    opts = _options(parser)
    assert len(opts) > 40
    for p, act in opts:
        name = "/".join(act.option_strings) or act.dest
        assert act.help and act.help.strip() and act.help != argparse.SUPPRESS, f"{p.prog} {name}: no help"
        if not act.option_strings or isinstance(act, argparse._StoreTrueAction) or act.required:
            continue
        shown = p._get_formatter()._get_help_string(act)
        assert "(default: %(default)s)" in shown or "default:" in act.help, f"{p.prog} {name}: no default"
    subs = {sp.prog.split()[-1]: sp for sp in parser._subparsers._group_actions[0].choices.values()}
    assert set(subs) == {"sweep", "embed", "analyse"}
    for sp in subs.values():
        flags = {s for a in sp._actions for s in a.option_strings}
        assert {"-q", "--quiet", "-v", "--verbose"} <= flags, sp.prog
    by_name = {(p.prog.split()[-1], a.dest): a for p, a in opts}
    assert tuple(by_name["sweep", "scheduler"].choices) == ("auto",) + tuple(
        s for s in SUPPORTED_SCHEDULERS if s != "auto")
    assert by_name["sweep", "scheduler"].default == "auto"
    assert tuple(by_name["sweep", "normalise"].choices) == NORMALISATIONS
    assert tuple(by_name["analyse", "boundary_method"].choices) == BOUNDARY_METHODS
    usage = subs["sweep"].format_help()
    assert "(default: auto)" in usage and "{auto," in usage and "(default: 64)" in usage


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, so progress bars show unless switched off."""

    def isatty(self):
        return True


def test_quiet_prints_nothing(files, monkeypatch, capfd, caplog):
    """On a terminal a run shows bars and warnings; with --quiet (before or after the
    sub-command) nothing but errors."""
    model, tmp = files
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(_sweep_args(model, tmp, "--n", "2", "--out", str(tmp / "loud.zarr"))) == 0
    assert "%|" in term.getvalue(), term.getvalue()  # a tqdm bar
    assert main(["embed", str(tmp / "loud.zarr"), *_clip_args(tmp), "--out", str(tmp / "loud_emb.nc")]) == 0
    assert term.getvalue().count("%|") >= 2
    assert "randomly initialised" in caplog.text  # --random-weights warns that the embeddings mean nothing
    term.seek(0)
    term.truncate()
    caplog.clear()
    out = str(tmp / "quiet.zarr")
    assert main(_sweep_args(model, tmp, "--n", "2", "--quiet", "--out", out)) == 0
    assert main(["-q", "embed", out, *_clip_args(tmp), "--out", str(tmp / "quiet_emb.nc")]) == 0
    assert term.getvalue() == "" and caplog.records == []
    out_, err = capfd.readouterr()
    assert out_ == "" and err == "", (out_, err)
    assert xr.open_dataset(tmp / "quiet_emb.nc", engine="h5netcdf").embedding.shape == (2, 2, 16)


def test_analyse_geometry_writes_metric_and_boundaries(files):
    model, tmp = files
    sw = str(tmp / "g.zarr")
    assert main(_sweep_args(model, tmp, "--n", "5", "--batch-size", "25", "-q", "--out", sw)) == 0
    emb = str(tmp / "g_emb.zarr")
    assert main(["embed", sw, *_clip_args(tmp), "-q", "--out", emb]) == 0
    # default posterior grid: the coarser (n + 1) // 2 = 3 points per axis
    out = str(tmp / "geo.nc")
    assert main(["analyse", emb, "--geometry", "--fit-steps", "30", "--figure", str(tmp / "g.png"), "-q",
                 "--out", out]) == 0
    ds = xr.open_dataset(out, engine="h5netcdf").load()
    assert ds.phase.dims == ("alpha", "beta") and ds.phase.shape == (5, 5)
    assert ds.metric.dims == ("fit_alpha", "fit_beta", "i", "j") and ds.metric.shape == (3, 3, 2, 2)
    assert list(ds.i.values) == ["alpha", "beta"]
    np.testing.assert_allclose(ds.metric.values, np.swapaxes(ds.metric.values, -1, -2))
    np.testing.assert_allclose(ds.fit_alpha.values, [0.0, 0.5, 1.0])
    for v in ("log_partition", "boundary_score", "boundary_ridge"):
        assert ds[v].dims == ("fit_alpha", "fit_beta"), v
    assert np.isfinite(ds.boundary_score.values).all() and set(np.unique(ds.boundary_ridge)) <= {0, 1}
    assert ds.ridge_alpha.dims == ds.ridge_beta.dims == ds.ridge_curve.dims == ("ridge_point",)
    cfg = json.loads(ds.attrs["config"])
    assert cfg["posterior_grid"] == [3, 3] and cfg["fit_steps"] == 30 and (tmp / "g.png").exists()
    # an explicit grid, to zarr
    out = str(tmp / "geo.zarr")
    assert main(["analyse", emb, "--geometry", "--posterior-grid", "4", "3", "--fit-steps", "30",
                 "--boundary-method", "trace", "--threshold", "1.5", "-q", "--out", out]) == 0
    z = xr.open_zarr(out, consolidated=False).load()
    assert z.metric.shape == (4, 3, 2, 2) and z.boundary_score.shape == (4, 3)
    assert json.loads(z.attrs["config"])["boundary_method"] == "trace"


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


def test_class_conditional_pixel_model_without_prompt(tmp_path, caplog):
    """--class-label reaches a class-conditional UNet2DModel; no prompt is needed."""
    from diffusers import DDIMPipeline, DDIMScheduler, UNet2DModel

    from statgeo.diffusion.pipeline import PipelineSpec

    if "class_label" not in {f.name for f in dataclasses.fields(PipelineSpec)}:
        pytest.skip("needs PipelineSpec(class_label=...)")
    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16), layers_per_block=1,
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                       norm_num_groups=4, num_class_embeds=10)
    DDIMPipeline(unet, DDIMScheduler(num_train_timesteps=100)).save_pretrained(tmp_path / "cond")
    images = {}
    for k in ("1", "7"):
        out = tmp_path / f"c{k}.nc"
        assert main(["sweep", str(tmp_path / "cond"), "--class-label", k, "--n", "2", "--steps", "2", "-q",
                     "--out", str(out)]) == 0
        ds = xr.open_dataset(out, engine="h5netcdf").load()
        assert ds.image.shape == (2, 2, 1, 8, 8)
        assert json.loads(ds.attrs["config"])["generator"]["class_label"] == int(k)
        images[k] = ds.image.values
    assert not np.array_equal(images["1"], images["7"])
    caplog.set_level(logging.ERROR)
    assert main(["sweep", str(tmp_path / "cond"), "--n", "2", "--steps", "2", "--out", str(tmp_path / "c.nc")]) == 2
    assert "class_label" in caplog.text and "--class-label" in caplog.text, caplog.text
