"""End-to-end test of ``python -m validation.table1`` on the reduced ``tiny`` preset.

One run (module-scoped fixture, about a minute on one core) of both models and all rows
with 2 seeds; then checks that the artefacts are written and well-formed, and the parts of
the Table 1 ordering that a preset this small resolves honestly:

* the exact-likelihood oracle beats Mean-as-Stat on ∂F/∂K (Ising, natural coordinates) —
  the mean spin carries no information about the coupling direction beyond what the field
  fixes, while the oracle uses the exact statistics (B, M);
* the oracle reproduces the exact Ising metric better than the Mean-as-Stat metric in the
  K–K component, and its fitted scale (scale + affine alignment) is within 30 % of 1
  (the effective temperature n of one bundle's exact posterior, docs/geometry_fitting.md);
* the TASEP oracle matches ln Z_N / N to a normalised RMSE below 0.3 and reports both
  references (ln Z_N and F_obs), each labelled.

The ordering ours < baselines needs the quick preset's training budget: a second test (slow,
a few minutes on 2 cores) runs the quick preset's Ising part with 2 seeds and asserts the
parts of the acceptance that hold (test docstring). The TASEP ordering is not asserted:
against ln Z_N even the oracle does not beat PCA-VAE at this scale (docs/table1.md, "TASEP:
what limits the reproduction").
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from validation.table1 import parse_args, run
from validation.table1_methods import ROWS

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("table1")
    res = run(["--preset", "tiny", "--seeds", "2", "--workers", "1", "--out", str(out)])
    return out, res


def _agg(res, model, row, quantity, coords="natural", reference="lnZ", alignment="affine"):
    for a in res["models"][model]["aggregate"]:
        if (a["row"], a["quantity"], a["coords"], a["reference"], a["alignment"]) == (row, quantity, coords,
                                                                                     reference, alignment):
            return a
    raise KeyError((model, row, quantity, coords, reference, alignment))


def test_artefacts_written_and_well_formed(tiny_run):
    out, res = tiny_run
    for name in ("table1.md", "table1.csv", "table1.json", "table1_maps.nc"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    js = json.loads((out / "table1.json").read_text())
    assert set(js["models"]) == {"ising", "tasep"}
    assert js["versions"] and js["settings"]["seeds"] == 2
    for stage in ("references", "rows_wall", "total"):
        assert js["times"][stage] > 0
    for model in ("ising", "tasep"):
        agg = js["models"][model]["aggregate"]
        rows = {a["row"] for a in agg}
        assert rows == set(ROWS)
        assert all(a["n_seeds"] == 2 for a in agg)
        assert all(math.isfinite(a["nrmse"]) and a["nrmse"] >= 0 for a in agg)
        ds = xr.open_dataset(out / "table1_maps.nc", group=model, engine="h5netcdf")
        assert "reference_log_z" in ds and "oracle_log_z_aligned" in ds and "ours_neural_error_grad_log_z" in ds
        ds.close()
        for kind in ("F_gradients", "metric", "errors", "boundaries"):
            assert (out / f"{model}_{kind}.png").is_file()
    md = (out / "table1.md").read_text()
    assert "Published" in md and "Mean-as-Stat" in md and "F_obs" in md
    csv_lines = (out / "table1.csv").read_text().splitlines()
    assert csv_lines[0].startswith("model,row,alignment,reference,coords,quantity")
    assert len(csv_lines) > 100


def test_oracle_beats_mean_as_stat_on_coupling_direction(tiny_run):
    _, res = tiny_run
    o = _agg(res, "ising", "oracle", "dF/dK")
    m = _agg(res, "ising", "mean_as_stat", "dF/dK")
    # error bars (std over 2 seeds) must not overlap
    assert o["nrmse"] + o["nrmse_std"] < m["nrmse"] - m["nrmse_std"], (o, m)


def test_oracle_scale_and_metric(tiny_run):
    _, res = tiny_run
    sc = _agg(res, "ising", "oracle", "F", alignment="scale+affine")["scale"]
    assert abs(sc - 1.0) < 0.3, sc
    o = _agg(res, "ising", "oracle", "g[K,K]", alignment="scale+affine")
    m = _agg(res, "ising", "mean_as_stat", "g[K,K]", alignment="scale+affine")
    assert o["nrmse"] < m["nrmse"], (o, m)


def test_tasep_references_labelled(tiny_run):
    _, res = tiny_run
    t = res["models"]["tasep"]
    assert "ln Z_N" in t["reference_label"] and "F_obs" in t["fobs_label"]
    assert _agg(res, "tasep", "oracle", "F")["nrmse"] < 0.3
    _agg(res, "tasep", "oracle", "g[theta_alpha,theta_alpha]", reference="F_obs")
    _agg(res, "tasep", "oracle", "g[alpha,beta]", coords="physical", reference="F_obs")
    # the floor under the F_obs metric column: F_obs is not a Hessian metric (tests/models/
    # test_tasep_fobs_hessian.py); measured at the tiny preset's N = 6 on 10 × 10: δ 0.090, floor
    # 0.17 / 0.12 / 0.17, against δ 0.016 and 0.089 / 0.033 / 0.089 for the Hessian of ln Z_N
    floor = t["fobs_hessian_floor"]
    assert floor["integrability"] > 0.05
    assert set(floor["nrmse"]) == {"g[theta_alpha,theta_alpha]", "g[theta_alpha,theta_beta]", "g[theta_beta,theta_beta]"}
    assert min(floor["nrmse"].values()) > 0.1
    # the observed information of the exact-likelihood rows is no Hessian metric and is not bound
    # by the floor (docs/geometry_metric.md; 0.04-0.05 per component at N = 10 on 20 x 20): below
    # the floor, and below the oracle's own fitted potential, on every component with error bars apart
    for q, f in floor["nrmse"].items():
        oi = _agg(res, "tasep", "oracle_observed_information", q, reference="F_obs")
        fit = _agg(res, "tasep", "oracle", q, reference="F_obs")
        assert oi["nrmse"] + oi["nrmse_std"] < min(f, fit["nrmse"] - fit["nrmse_std"]), (q, oi, f, fit)


def test_cache_is_reused(tiny_run, tmp_path):
    out, res = tiny_run
    cache = res["settings"]["cache"]
    markers = [p for p in __import__("pathlib").Path(cache).rglob("*.complete")]
    assert markers, "no completion markers in the cache"


def test_rerun_reuses_the_finished_rows(tiny_run, monkeypatch):
    """Every finished (model, seed) is cached with its rows: a rerun after an interruption
    computes only the missing ones, and the others come back exactly as they were."""
    from pathlib import Path

    import validation.table1_methods as methods
    from validation.json_ready import json_ready

    out, res = tiny_run
    cache = Path(res["settings"]["cache"])
    finished = sorted(cache.glob("*_rows_*.json"))
    assert len(finished) == 4  # 2 models x 2 seeds
    lost = json.loads(finished[0].read_text())
    finished[0].unlink()  # as if the run had stopped before this (model, seed) was done
    calls, original = [], methods.run_rows

    def counted(s, grid, samples, reference, seed, **kw):
        calls.append((s.model, seed))
        return original(s, grid, samples, reference, seed, **kw)

    monkeypatch.setattr(methods, "run_rows", counted)
    again = run(["--preset", "tiny", "--seeds", "2", "--workers", "1", "--no-figures", "--out", str(out)])
    assert calls == [(lost["model"], lost["seed"])]
    kept = next(m for m in ("ising", "tasep") if m != lost["model"])
    assert json_ready(again["models"][kept]["aggregate"]) == json_ready(res["models"][kept]["aggregate"])  # NaN-safe


def test_bad_arguments_rejected_before_work():
    with pytest.raises(SystemExit):
        parse_args(["--preset", "nope"])
    with pytest.raises(ValueError, match="--models"):
        run(["--models", "potts", "--out", "/nonexistent/never"])
    with pytest.raises(ValueError, match="--seeds"):
        run(["--seeds", "0", "--out", "/nonexistent/never"])
    with pytest.raises(ValueError, match="--rows"):
        run(["--rows", "ours,magic", "--out", "/nonexistent/never"])


@settings(max_examples=25, deadline=None)
@given(option=st.sampled_from([("--size", 2), ("--points", 3), ("--neural-steps", 1)]),
       value=st.integers(min_value=-10**6, max_value=2))
def test_size_overrides_rejected_below_their_minimum(option, value):
    name, low = option
    if value >= low:
        return
    with pytest.raises(ValueError, match=f"{name} must be an integer >= {low}"):
        run([name, str(value), "--out", "/nonexistent/never"])


def test_size_overrides_keep_the_box_and_the_bump_in_cells():
    """--size / --points / --neural-steps change only what they name; the bump stays 1.5 cells."""
    from validation.table1 import model_settings
    from validation.table1_config import get_preset

    base = get_preset("paper").models["ising"]
    s = model_settings(parse_args(["--preset", "paper", "--size", "32", "--points", "32", "--neural-steps", "3000"]),
                       ["ising"])["ising"]
    assert (s.size, s.axis0[2], s.axis1[2], s.neural_steps) == (32, 32, 32, 3000)
    assert s.axis0[:2] == base.axis0[:2] and s.axis1[:2] == base.axis1[:2]
    assert s.neural_sigma * (32 - 1) == pytest.approx(base.neural_sigma * (base.axis0[2] - 1))
    assert s.reference == base.reference and s.bundle == base.bundle
    same = model_settings(parse_args(["--preset", "paper"]), ["ising"])["ising"]
    assert same == base


def test_dask_chunked_sampling_matches_layout_and_resumes(tmp_path):
    """Sampling through a (threaded, in-process) Dask cluster: chunks of grid rows as tasks,
    written to zarr with completion markers; a rerun reuses the merged store."""
    distributed = pytest.importorskip("dask.distributed")
    from validation.table1_config import get_preset
    from validation.table1_data import (
        build_grid,
        build_model,
        get_samples,
        sample_array,
    )

    s = get_preset("tiny").models["tasep"]
    model = build_model(s)
    grid = build_grid(s, model)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
        ds = get_samples(s, 3, tmp_path, client=client, rows_per_chunk=4)
    x = sample_array(ds, grid, model)
    assert x.shape == (grid.size, s.n_samples, s.size)
    assert set(np.unique(x)) <= {0.0, 1.0}
    markers = list(tmp_path.rglob("*.complete"))
    assert len(markers) == 1 and markers[0].name == "all.zarr.complete"  # chunk stores merged and removed
    again = get_samples(s, 3, tmp_path, rows_per_chunk=4)  # in-process call finds the finished store
    np.testing.assert_array_equal(sample_array(again, grid, model), x)
    # on disk the occupations are bit-packed: one byte per 8 sites, uint8
    store = xr.open_zarr(markers[0].with_name("all.zarr"), consolidated=False)
    var = model.configuration_variable
    assert var not in store and store[var + "_packed"].dtype == np.uint8
    assert store[var + "_packed"].shape[-1] == (s.size + 7) // 8


def test_reference_in_chunks_equals_the_whole_and_resumes(tmp_path, monkeypatch):
    """The reference in chunks of grid rows (each cached, run by a process pool) equals the
    reference of the whole grid (tiny Ising: exact, so equal to rounding); an interrupt after
    the first chunk loses nothing finished, and the rerun computes only the remaining chunks."""
    import concurrent.futures as cf
    import multiprocessing as mp

    import validation.table1_data as data
    from validation.table1_config import get_preset

    s = get_preset("tiny").models["ising"]
    grid = data.build_grid(s)
    whole = data.get_reference(s, tmp_path / "whole", grid=grid)
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        pooled = data.get_reference(s, tmp_path / "pool", grid=grid, rows_per_chunk=5, executor=pool)
    original, calls = data._reference_chunk, []

    def interrupted(s_, grid_, rows, seed):
        calls.append(rows)
        if rows[0] > 0:
            raise KeyboardInterrupt
        return original(s_, grid_, rows, seed)

    monkeypatch.setattr(data, "_reference_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data.get_reference(s, tmp_path / "cut", grid=grid, rows_per_chunk=5)
    assert calls == [(0, 5), (5, 10)]
    calls.clear()
    monkeypatch.setattr(data, "_reference_chunk", lambda *a: calls.append(a[2]) or original(*a))
    resumed = data.get_reference(s, tmp_path / "cut", grid=grid, rows_per_chunk=5)
    assert calls == [(5, 10), (10, 12)]
    for ref in (pooled, resumed):
        assert data.build_grid(s).mismatch(__import__("statgeo").grid.ParameterGrid.from_dataset(ref)) is None
        for v in whole.data_vars:
            xr.testing.assert_allclose(ref[v], whole[v], rtol=1e-12, atol=0)


def test_interrupted_sampling_resumes_to_the_same_samples(tmp_path, monkeypatch):
    """An interruption after the first chunk loses nothing finished: the rerun samples only the
    remaining chunks, and the merged samples equal an uninterrupted run's."""
    import validation.table1_data as data
    from validation.table1_config import get_preset

    s = get_preset("tiny").models["ising"]
    whole = data.get_samples(s, 1, tmp_path / "a", rows_per_chunk=4)
    original = data._sample_chunk
    calls = []

    def interrupted(s_, grid, rows, entropy, backend):
        calls.append(rows)
        if rows[0] > 0:
            raise KeyboardInterrupt
        return original(s_, grid, rows, entropy, backend)

    monkeypatch.setattr(data, "_sample_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data.get_samples(s, 1, tmp_path / "b", rows_per_chunk=4)
    assert calls == [(0, 4), (4, 8)]
    calls.clear()

    def counted(s_, grid, rows, entropy, backend):
        calls.append(rows)
        return original(s_, grid, rows, entropy, backend)

    monkeypatch.setattr(data, "_sample_chunk", counted)
    resumed = data.get_samples(s, 1, tmp_path / "b", rows_per_chunk=4)
    assert calls == [(4, 8), (8, 12)]  # chunk 0 came from its store
    xr.testing.assert_identical(resumed["spins"], whole["spins"])


def test_report_only_rerenders_from_json(tiny_run):
    out, res = tiny_run
    (out / "table1.md").unlink()
    again = run(["--preset", "tiny", "--out", str(out), "--report-only"])
    assert (out / "table1.md").is_file()
    assert again["table"].splitlines()[0] == res["table"].splitlines()[0]
    a0 = {(a["row"], a["alignment"], a["reference"], a["coords"], a["quantity"]): a["nrmse"]
          for a in res["models"]["ising"]["aggregate"]}
    for a in again["models"]["ising"]["aggregate"]:
        assert a["nrmse"] == pytest.approx(a0[(a["row"], a["alignment"], a["reference"], a["coords"], a["quantity"])])


@pytest.mark.slow
def test_quick_ising_ordering_and_metric(tmp_path):
    """Quick-preset Ising (8×8 torus, 24×24 grid, the full network budget), 2 seeds.

    The paper's columns on the paper's method: the neural row with the paper's fit form beats
    Mean-as-Stat and PCA-VAE on F (physical and natural) and ∂F/∂K with error bars (std over
    seeds) not overlapping, and the oracle is below it on F. The metric (docs/table1.md,
    "Acceptance, honestly"): the free-linear-term fit of the exact posteriors beats the paper's
    form on every metric component and meets the 0.10 target (measured, 3 seeds: 0.04 / 0.04 /
    0.05 vs 0.31 / 0.23 / 0.24); the neural row (exponential-family head) meets the 0.25
    target on every component (3 seeds: 0.17 ± 0.02 / 0.13 ± 0.02 / 0.11 ± 0.01) and beats
    both baselines on g[K,K] with error bars apart (vs 0.83 ± 0.06 and 1.03)."""
    res = run(["--models", "ising", "--seeds", "2", "--workers", "2", "--no-figures", "--out", str(tmp_path),
               "--rows", "ours_neural,ours_neural_paper_form,oracle,oracle_paper_form,mean_as_stat,pca_vae"])
    for coords, q in (("physical", "F"), ("natural", "F"), ("natural", "dF/dK")):
        ours = _agg(res, "ising", "ours_neural_paper_form", q, coords=coords)
        for base in ("mean_as_stat", "pca_vae"):
            b = _agg(res, "ising", base, q, coords=coords)
            assert ours["nrmse"] + ours["nrmse_std"] < b["nrmse"] - b["nrmse_std"], (coords, q, ours, b)
    assert (_agg(res, "ising", "oracle", "F")["nrmse"] < _agg(res, "ising", "ours_neural_paper_form", "F")["nrmse"])
    for q in ("g[K,K]", "g[K,eta]", "g[eta,eta]"):
        free, paper = _agg(res, "ising", "oracle", q), _agg(res, "ising", "oracle_paper_form", q)
        assert free["nrmse"] < paper["nrmse"], (q, free, paper)
        assert free["nrmse"] <= 0.10, (q, free)
        assert _agg(res, "ising", "ours_neural", q)["nrmse"] <= 0.25, q
    ours = _agg(res, "ising", "ours_neural", "g[K,K]")
    for base in ("mean_as_stat", "pca_vae"):
        b = _agg(res, "ising", base, "g[K,K]")
        assert ours["nrmse"] + ours["nrmse_std"] < b["nrmse"] - b["nrmse_std"], (ours, b)


def test_rows_on_a_sub_lattice_of_origins_keep_the_metric(tmp_path):
    """On a grid with more points than ``max_posterior_origins`` the oracle and neural rows make
    posterior rows only at the grid's centred sub-lattice (every cell in each row), and the
    oracle's metric still meets the 0.15 bound against the exact metric (tiny Ising, 16 of 144
    origins: measured 0.06 / 0.04 / 0.09; all 144 origins: 0.05 / 0.06 / 0.10)."""
    import dataclasses

    import torch

    from validation.error_measures import reconstruction_errors
    from validation.table1_config import get_preset
    from validation.table1_data import build_grid, get_reference, get_samples
    from validation.table1_methods import run_rows

    torch.set_num_threads(1)
    s = dataclasses.replace(get_preset("tiny").models["ising"], max_posterior_origins=16)
    grid = build_grid(s)
    ref = get_reference(s, tmp_path, grid=grid)
    res = run_rows(s, grid, get_samples(s, 0, tmp_path, grid=grid), ref, 0, rows=("oracle", "ours_neural"))
    assert res["diag"]["oracle"]["posterior_origins"] == 16 == res["diag"]["ours_neural"]["posterior_origins"]
    assert res["diag"]["oracle"]["fit_rows"] == 16 * (s.n_samples // s.bundle)
    refd = {v: ref[v].values for v in ("log_z", "grad_log_z", "metric")}
    err = reconstruction_errors(refd, res["recon"]["oracle"], grid, margin=s.margin, physical=False)
    g = {r["quantity"]: r["nrmse"] for r in err["records"] if r["quantity"].startswith("g[")}
    assert len(g) == 3 and max(g.values()) <= 0.15, g


def test_oracle_row_fitted_across_a_split_line(tmp_path):
    """With ``fit_split`` the oracle row is fitted one side of eta = 0 at a time and joined
    (the paper preset's Ising setting), and the row's diagnostics say how the join was made. On
    the tiny Ising (L = 4) nothing jumps and the rows straddle eta = 0, so the jump is set to
    zero where they cross. The split costs accuracy there, since each side sees the rows near
    the cut from one side only (measured, AVX2 mode: F 0.0068, ∇F 0.004 / 0.030, metric
    0.025 / 0.07 / 0.29, against 0.0007, 0.007 / 0.011 and 0.045 / 0.049 / 0.067 for one fit);
    the bounds hold the split row to errors still small against the baselines' (F ≤ 0.02,
    ∇F ≤ 0.05, metric ≤ 0.4)."""
    import dataclasses

    import torch

    from validation.error_measures import reconstruction_errors
    from validation.table1_config import get_preset
    from validation.table1_data import build_grid, get_reference, get_samples
    from validation.table1_methods import run_rows

    torch.set_num_threads(1)
    s = dataclasses.replace(get_preset("tiny").models["ising"], fit_split=("eta", 0.0))
    grid = build_grid(s)
    ref = get_reference(s, tmp_path, grid=grid)
    res = run_rows(s, grid, get_samples(s, 0, tmp_path, grid=grid), ref, 0, rows=("oracle",))
    d = res["diag"]["oracle"]
    assert d["fit_split"] == ["eta", 0.0] and d["split_crossing_rows"] > 0 and d["split_jump_identified"]
    refd = {v: ref[v].values for v in ("log_z", "grad_log_z", "metric")}
    err = reconstruction_errors(refd, res["recon"]["oracle"], grid, margin=s.margin, physical=False)
    nr = {r["quantity"]: r["nrmse"] for r in err["records"]}
    g = {k: v for k, v in nr.items() if k.startswith("g[")}
    assert len(g) == 3 and max(g.values()) <= 0.4, nr
    assert nr["F"] <= 0.02 and nr["dF/dK"] <= 0.05 and nr["dF/deta"] <= 0.05, nr


def test_detected_split_falls_back_to_one_fit_where_no_line_is_seen(tmp_path):
    """``fit_split="detect"`` (the paper preset's Ising setting) looks for the line in each
    row's single-bundle posteriors. On the tiny Ising (L = 4) no row stops at any cut, so the
    oracle row is the one-fit row, equal to it to the last bit, and its diagnostics say that
    nothing was found."""
    import dataclasses

    import torch

    from validation.table1_config import get_preset
    from validation.table1_data import build_grid, get_reference, get_samples
    from validation.table1_methods import run_rows

    torch.set_num_threads(1)
    tiny = get_preset("tiny").models["ising"]
    grid = build_grid(tiny)
    ref = get_reference(tiny, tmp_path, grid=grid)
    samples = get_samples(tiny, 0, tmp_path, grid=grid)
    plain = run_rows(tiny, grid, samples, ref, 0, rows=("oracle",))
    s = dataclasses.replace(tiny, fit_split="detect")
    res = run_rows(s, grid, samples, ref, 0, rows=("oracle",))
    d = res["diag"]["oracle"]
    assert d["line_found"] is False and d["line_wall_rows"] == 0 and "fit_split" not in d
    for v in ("log_z", "grad_log_z", "metric"):
        np.testing.assert_array_equal(res["recon"]["oracle"][v], plain["recon"]["oracle"][v])


@pytest.mark.parametrize("bad", ["physics", ("eta",), (3, 0.0), ("eta", 0.0, 1.0)])
def test_fit_split_setting_is_checked(bad):
    """``fit_split`` is None, "detect" or (coordinate name, value), refused otherwise by name."""
    import dataclasses

    from validation.table1_config import get_preset

    with pytest.raises(ValueError, match="fit_split"):
        dataclasses.replace(get_preset("tiny").models["ising"], fit_split=bad)


def test_rows_from_streamed_features_equal_the_rows_from_the_lattices(tmp_path):
    """With the plus-pattern encoder the rows can run on per-sample features read from the store
    a block of grid rows at a time (the lattices never all in memory): the pattern frequencies
    for the network, the statistics for the oracle, and the statistic baselines' statistics
    fitted on a subset of the pooled samples, here all of them. The same reconstructions as
    from the lattices, for the neural, kernel, oracle, Mean-as-Stat and PCA-VAE rows; ClassiFIM,
    which needs every lattice, and baselines without their statistics are refused."""
    import dataclasses

    import torch

    from statgeo.geometry import plus_pattern_frequencies
    from validation.table1_config import get_preset
    from validation.table1_data import (
        build_grid,
        get_reference,
        get_samples,
        sample_features,
        sample_subset,
    )
    from validation.table1_methods import baseline_statistics, run_rows

    torch.set_num_threads(1)
    s = dataclasses.replace(get_preset("tiny").models["ising"], neural_encoder="patches", neural_steps=60,
                            vae_steps=40)
    grid = build_grid(s)
    ref = get_reference(s, tmp_path, grid=grid)
    rows = ("oracle", "ours_neural", "ours_kernel", "mean_as_stat", "pca_vae")
    x_fit = sample_subset(s, 0, tmp_path, max_samples=10**6, grid=grid, rows_per_block=5)
    assert x_fit.shape == (grid.size * s.n_samples, s.size, s.size)
    fitted = baseline_statistics(s, x_fit, 0, rows)
    assert set(fitted) == {"mean", "pca", "vae"}
    stats, feats = sample_features(s, 0, tmp_path, grid=grid, rows_per_block=5,
                                   features={"frequencies": plus_pattern_frequencies, **fitted})
    freq = feats.pop("frequencies")
    assert "spins" not in stats and freq.shape == (grid.size, s.n_samples, 32)
    assert feats["pca"].shape == (grid.size, s.n_samples, 2) and feats["mean"].shape == (grid.size, s.n_samples, 1)
    statistics = {n: (v, fitted[n].config) for n, v in feats.items()}
    a = run_rows(s, grid, get_samples(s, 0, tmp_path, grid=grid), ref, 0, rows=rows)
    b = run_rows(s, grid, stats, ref, 0, rows=rows, frequencies=freq, statistics=statistics)
    assert set(a["recon"]) == set(b["recon"]) == set(rows)
    for row in rows:
        for q, v in a["recon"][row].items():
            np.testing.assert_allclose(b["recon"][row][q], v, rtol=1e-6, atol=1e-9, err_msg=f"{row} {q}")
    assert a["diag"]["pca_vae"] == b["diag"]["pca_vae"]
    with pytest.raises(ValueError, match="frequencies"):
        run_rows(s, grid, stats, ref, 0, rows=("classifim",), frequencies=freq, statistics=statistics)
    with pytest.raises(ValueError, match="statistics"):
        run_rows(s, grid, stats, ref, 0, rows=("pca_vae",), frequencies=freq)


def test_sample_subset_is_a_uniform_subset_in_pooled_order(tmp_path):
    """The subset the streamed baselines are fitted on: ``max_samples`` distinct samples of the
    pooled configurations, in pooled order, the same for the same seed, and every sample when
    the cap exceeds the pool; its mean spin agrees with the pool's within 4 standard errors."""
    from validation.table1_config import get_preset
    from validation.table1_data import build_grid, build_model, get_samples, sample_array, sample_subset

    s = get_preset("tiny").models["ising"]
    grid = build_grid(s)
    pool = sample_array(get_samples(s, 0, tmp_path, grid=grid), grid, build_model(s), dtype=None)
    pool = pool.reshape((-1,) + pool.shape[2:])
    sub = sample_subset(s, 0, tmp_path, max_samples=1000, subset_seed=3, grid=grid, rows_per_block=5)
    assert sub.shape == (1000,) + pool.shape[1:] and sub.dtype == pool.dtype
    # the subset is a subsequence of the pool (greedy matching: samples may repeat at L = 4)
    j = 0
    for row in pool.reshape(pool.shape[0], -1):
        if j < 1000 and np.array_equal(row, sub[j].reshape(-1)):
            j += 1
    assert j == 1000
    np.testing.assert_array_equal(sample_subset(s, 0, tmp_path, max_samples=1000, subset_seed=3, grid=grid), sub)
    np.testing.assert_array_equal(sample_subset(s, 0, tmp_path, max_samples=10**6, grid=grid), pool)
    m_pool, m_sub = pool.mean(axis=(1, 2)), sub.mean(axis=(1, 2))
    se = m_pool.std() / np.sqrt(1000) * np.sqrt(1 - 1000 / pool.shape[0])
    assert abs(m_sub.mean() - m_pool.mean()) < 4 * se


def test_monte_carlo_reference_error_bars_are_checked_against_the_reconstruction(tmp_path):
    """With a Monte Carlo reference (tiny Ising grid, L = 4, anchored to Kaufman's η = 0 line)
    every record carries the reference's rms error bar. The exact answer (enumeration at L = 4)
    read as a reconstruction differs from the reference only by the reference's noise, so its
    error is about one error bar (ratio within [0.5, 2] on the metric and the gradient: the
    error bars are calibrated) and the acceptance says the reference is not good enough to judge
    it; a reconstruction whose metric is off by 3 times each component's spread passes that check
    on the metric."""
    import dataclasses

    from validation.table1_config import get_preset
    from validation.table1_data import build_grid, build_model, get_reference
    from validation.table1_report import acceptance, aggregate, seed_errors

    s = dataclasses.replace(get_preset("tiny").models["ising"], reference="mc_anchored", reference_samples=512)
    model, grid = build_model(s), build_grid(s)
    mc = get_reference(s, tmp_path, grid=grid)
    exact = get_reference(dataclasses.replace(s, reference="exact"), tmp_path, grid=grid)
    truth = {k: exact[k].values for k in ("log_z", "grad_log_z", "metric")}
    wiggle = np.cos(np.arange(grid.size)).reshape(grid.shape + (1, 1))
    off = dict(truth, metric=truth["metric"] + 3.0 * truth["metric"].std(axis=(0, 1)) * wiggle)
    agg = aggregate(seed_errors(s, model, grid, mc, {"ours_neural": truth, "oracle": off}))
    recs = {(a["row"], a["quantity"]): a for a in agg if a["coords"] == "natural" and a["alignment"] == "affine"
            and a["reference"] == "lnZ"}
    for q in ("dF/dK", "dF/deta", "g[K,K]", "g[K,eta]", "g[eta,eta]"):
        assert 0.5 <= recs[("ours_neural", q)]["ratio_to_ref_error"] <= 2.0, (q, recs[("ours_neural", q)])
        if q.startswith("g["):
            assert recs[("oracle", q)]["ratio_to_ref_error"] >= 10, (q, recs[("oracle", q)])
    checks = [c for c in acceptance(model, agg) if c["check"].startswith("reference error bars")]
    assert {c["quantity"] for c in checks} >= {"g[K,K]", "g[K,eta]", "g[eta,eta]"}
    assert not any(c["pass"] for c in checks if c["quantity"].startswith("g["))


def test_plan_estimates_without_running(tmp_path):
    """``--plan`` measures and prints, writes nothing; its memory and disk figures are the run's array sizes.

    The samples' memory and disk figures are checked against the configurations the sampler
    actually returns for the preset (int8 in memory, bit-packed on disk); the posterior rows are
    bundles per origin × origins rows of C cells (float64 + float32), the oracle's float64, the
    baselines' fit subset int8 + float32. Times are printed, not asserted (they are this machine's).
    """
    from statgeo.models.packing import binary_values, pack_sites
    from validation.table1_config import get_preset
    from validation.table1_data import build_grid, build_model

    out = tmp_path / "plan"
    res = run(["--preset", "tiny", "--plan", "--seeds", "2", "--out", str(out)])
    assert not out.exists()
    preset = get_preset("tiny")
    for name, s in preset.models.items():
        est = {e["stage"]: e for e in res["plan"] if e["model"] == name}
        assert set(est) == {"samples", "reference", "neural training", "oracle posterior",
                            "baseline statistics (PCA-VAE)", "posterior rows + fit"}
        model = build_model(s)
        grid = build_grid(s, model)
        one_point = grid.isel(**{a.name: [0] for a in grid.axes})
        x = model.configurations(model.sample(one_point, s.n_samples, seed=0, progress=False))
        assert x.dtype.itemsize == 1  # one byte per site in memory, as the plan assumes
        assert est["samples"]["memory_bytes"] == grid.size * x.nbytes
        # on disk one bit per site (the packed store's byte axis), 2 seeds
        packed = pack_sites(x.values, x.ndim - x.dims.index("sample") - 1, binary_values(x.values))
        assert est["samples"]["disk_bytes"] == 2 * grid.size * packed.nbytes
        origins = min(grid.size, s.max_posterior_origins)
        rows = origins * max(s.bundles_per_origin, s.n_samples // s.bundle)
        assert est["posterior rows + fit"]["memory_bytes"] == rows * grid.size * 12
        assert est["oracle posterior"]["memory_bytes"] == origins * (s.n_samples // s.bundle) * grid.size * 8
        # the baselines' fit subset (every sample at this size) as int8 + float32
        assert est["baseline statistics (PCA-VAE)"]["memory_bytes"] == grid.size * s.n_samples * model.n_sites * 5
        assert all(e["seconds"] > 0 for e in est.values() if e["stage"] != "posterior rows + fit")


def test_sampling_summary_reports_effective_samples_and_checks_the_records():
    """n_eff = S / max(1, 2τ/thin) per point from the sampler's τ and thinning; the τ_int of the
    recorded series themselves is ½-like for independent records and finds the correlation of
    an AR(1) series (ρ = 0.8: τ_int = (1 + ρ) / (2(1 − ρ)) = 4.5) within 30 %; an exact sampler
    reports independent samples."""
    from validation.table1_data import sampling_summary

    rng = np.random.default_rng(0)
    P, S = 400, 256
    iid = rng.standard_normal((P, S))
    ar = np.empty((P, S))
    ar[:, 0] = rng.standard_normal(P)
    for k in range(1, S):
        ar[:, k] = 0.8 * ar[:, k - 1] + 0.6 * rng.standard_normal(P)
    tau = np.where(np.arange(P) < 100, 10.0, 1.0)  # a quarter of the points: tau 10 sweeps at thinning 5

    def ds(b):
        return xr.Dataset({"B": (("point", "sample"), b), "tau_int_B": ("point", tau),
                           "tau_int_M": ("point", tau / 2), "thin": ("point", np.full(P, 5))})

    a, c = sampling_summary(ds(iid)), sampling_summary(ds(ar))
    assert a["n_eff_min"] == S / 4 and a["n_eff_median"] == S and a["points_below_half"] == 100
    assert a["tau_int_max"] == 10.0 and a["sampler"] == "markov chain"
    assert a["tau_records_median"] < 0.75
    assert abs(c["tau_records_median"] - 4.5) < 0.3 * 4.5, c
    assert a["n_eff_records_median"] == S and c["n_eff_records_median"] == S / (2 * c["tau_records_median"])
    assert sampling_summary(xr.Dataset({"x": (("point", "sample"), iid)})) == {"samples_per_point": S,
                                                                                "sampler": "independent"}


def test_kaufman_line_check_finds_calibrated_error_bars():
    """The Monte Carlo reference's chains at η = 0 against Kaufman's exact ⟨B⟩ and Var(B) (tiny
    Ising grid, L = 4, 12 values of K, 512 samples per chain, fixed seed): calibrated error bars
    give |z| < 4 everywhere and a mean z² within [0.3, 3] (24 values: the 95 % range of χ²₂₄/24 is
    [0.52, 1.65]; measured: max |z| 2.5, mean z² 1.35); exact references need no check."""
    import dataclasses

    from validation.table1_config import get_preset
    from validation.table1_data import kaufman_line_check

    s = dataclasses.replace(get_preset("tiny").models["ising"], reference="mc_anchored", reference_samples=512)
    chk = kaufman_line_check(s)
    assert len(chk["z_mean_B"]) == len(chk["z_var_B"]) == 12
    assert chk["max_abs_z"] < 4 and 0.3 <= chk["mean_z2"] <= 3, chk
    assert 0 < chk["relative_error_var_B_median"] < 0.5
    assert kaufman_line_check(get_preset("tiny").models["ising"]) is None
    assert kaufman_line_check(get_preset("tiny").models["tasep"]) is None


def test_cached_samples_and_references_are_keyed_by_the_models_source(monkeypatch):
    """A sampler fix must not meet samples drawn before it: the cache names of samples and
    references change with the source of ``statgeo.models``; the rows' names do not depend on
    it here (they hash the whole package's source themselves)."""
    import validation.table1_data as data
    from validation.table1_config import get_preset

    s = get_preset("tiny").models["ising"]
    keys = {}
    for source in ("a", "b"):
        monkeypatch.setattr(data, "_models_source_hash", lambda source=source: source)
        keys[source] = [data.cache_key(s, what, seed=0) for what in ("samples", "reference", "rows")]
    assert keys["a"][0] != keys["b"][0] and keys["a"][1] != keys["b"][1]
    assert keys["a"][2] == keys["b"][2]


def test_a_half_written_store_of_a_killed_run_is_replaced(tmp_path):
    """Cached stores are written under a per-process temporary name and renamed into place, the
    completion marker last: a chunk directory left without its marker by a killed run is
    replaced on the rerun (a stale temporary directory beside it does not matter), which gives
    the same samples as a clean cache and leaves no temporary directory of its own."""
    import os

    import xarray as xr

    from validation.table1_config import get_preset
    from validation.table1_data import build_grid, cache_key, chunk_rows, sample_store

    s = get_preset("tiny").models["ising"]
    grid = build_grid(s)
    root = tmp_path / "dirty" / cache_key(s, "samples", seed=0, rows_per_chunk=chunk_rows(grid))
    (root / "chunk0000.zarr").mkdir(parents=True)
    (root / "chunk0000.zarr" / "junk").write_text("half-written")
    (root / "chunk0000.zarr.tmp-1").mkdir()
    dirty = sample_store(s, 0, tmp_path / "dirty", grid=grid)
    clean = sample_store(s, 0, tmp_path / "clean", grid=grid)
    xr.testing.assert_identical(xr.open_zarr(dirty, consolidated=False).load(),
                                xr.open_zarr(clean, consolidated=False).load())
    assert not list(tmp_path.rglob(f"*.tmp-{os.getpid()}"))  # this process left none of its own
