"""End to end: ``python -m validation.digits`` on the tiny zoo at CI scale (docs/digits.md).

One run (module-scoped fixture): the tiny zoo trained into a temporary directory, then the
whole chain at the ``tiny`` preset (8 × 8 sweep, 1 zoom point on 8 × 8 windows, 3 DDIM steps)
for both generators, on one thread. The tests check that the documented outputs exist with the
documented keys and sane ranges, and recompute from the written files, independently of the
chain's code, what can be recomputed: the label-boundary cells of the phase map, the straight
path's pixel length and label changes, and the Lipschitz growth exponents.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]

GENS = ("pixel", "latent")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    import torch

    from validation.digits import run

    torch.set_num_threads(1)
    zoo = tmp_path_factory.mktemp("zoo")
    out = tmp_path_factory.mktemp("digits")
    res = run(["--preset", "tiny", "--zoo-preset", "tiny", "--zoo-root", str(zoo), "--out", str(out),
               "--threads", "1"])
    return out, res


def test_outputs_and_documented_keys(tiny_run):
    out, _ = tiny_run
    js = json.loads((out / "digits.json").read_text())
    assert js["generators"] == list(GENS)
    assert 0.0 <= js["classifier_accuracy"] <= 1.0
    assert js["wall_s"] > 0 and all(v >= 0 for v in js["stage_wall_s"].values())
    md = (out / "digits.md").read_text()
    for claim in ("fractal boundaries", "exponent ≈ −1 at boundaries", "geodesics straight within a phase"):
        assert claim in md
    for g in GENS:
        r = js[g]
        for key in ("confident_fraction", "class_fraction_min", "class_fraction_max",
                    "boundary_distance_cells_median", "boundary_coverage", "box_dimension",
                    "lipschitz_exponent_boundary", "lipschitz_exponent_inside"):
            assert key in r, (g, key)
        assert 0.0 <= r["confident_fraction"] <= 1.0
        assert 0.0 <= r["class_fraction_min"] <= r["class_fraction_max"] <= 1.0
        for kind in ("feature_kernel", "neural_grid"):
            cov = r["boundary_coverage"][kind]
            assert cov is None or 0.0 <= cov <= 1.0
            d = r["boundary_distance_cells_median"][kind]
            assert d is None or 0.0 <= d <= 8 * math.sqrt(2)
        sl = r["slices"][0]
        assert len(set(sl["seeds"])) == 3
        assert (out / f"{g}_s0_maps.nc").is_file() and (out / f"{g}_s0_phase_map.png").is_file()
        for z in r["box_dimension"]["per_point"]:
            assert len(z["box_dimension"]) == len(z["scales"]) >= 2
            assert all(v is None or 0.0 <= v <= 2.0 for v in z["box_dimension"])
            assert z["scales"][0] == pytest.approx(0.1)
        for key in ("lipschitz_exponent_boundary", "lipschitz_exponent_inside"):
            assert all(math.isfinite(v) for v in r[key]["per_point"])
            assert r[key]["n"] == len(r[key]["per_point"])


def test_label_boundary_recomputed(tiny_run):
    """The stored label-boundary cells equal a direct neighbour comparison of the stored labels."""
    out, _ = tiny_run
    for g in GENS:
        with xr.open_dataset(out / f"{g}_s0_maps.nc", engine="h5netcdf") as m:
            lab, lb = m["label"].values, m["label_boundary"].values.astype(bool)
        mine = np.zeros_like(lb)
        for axis in (0, 1):
            d = np.diff(lab, axis=axis) != 0
            lo = [slice(None)] * 2
            hi = [slice(None)] * 2
            lo[axis], hi[axis] = slice(None, -1), slice(1, None)
            mine[tuple(lo)] |= d
            mine[tuple(hi)] |= d
        np.testing.assert_array_equal(lb, mine)


def test_path_lengths_and_label_changes_recomputed(tiny_run):
    """Pixel lengths = Σ‖x_{i+1} − x_i‖ of the stored strips; label changes = stored label flips."""
    out, res = tiny_run
    checked = 0
    for g in GENS:
        for which in ("cross", "same"):
            f = out / f"{g}_s0_path_{which}.nc"
            if not f.is_file():
                continue
            with xr.open_dataset(f, engine="h5netcdf") as ds:
                for path in ("straight", "geodesic"):
                    im = ds["image"].sel(path=path).values.astype(np.float64)
                    length = np.linalg.norm((im[1:] - im[:-1]).reshape(im.shape[0] - 1, -1), axis=1).sum()
                    summ = res[g]["slices"][0]["paths"][which][path]
                    assert summ["pixel_length"] == pytest.approx(length, rel=1e-5)
                    labels = ds["label"].sel(path=path).values
                    assert summ["label_changes"] == int((labels[1:] != labels[:-1]).sum())
                    checked += 1
                st = np.stack([ds["alpha"].sel(path="straight").values, ds["beta"].sel(path="straight").values], -1)
            # the straight path is the chord, evenly spaced
            np.testing.assert_allclose(np.diff(st, axis=0), np.diff(st, axis=0)[:1].repeat(len(st) - 1, 0), atol=1e-12)
    assert checked >= 2


def test_lipschitz_exponents_recomputed(tiny_run):
    """The reported exponents are the least-squares slopes of ln L vs ln δ of the stored ratios."""
    out, res = tiny_run
    for g in GENS:
        f = out / f"{g}_s0_lipschitz.nc"
        if not f.is_file():
            continue
        with xr.open_dataset(f, engine="h5netcdf") as lip:
            x = np.log(lip["delta"].values)
            kinds = lip["kind"].values
            for kind, key in (("boundary", "lipschitz_exponent_boundary"), ("inside", "lipschitz_exponent_inside")):
                y = np.log(np.maximum(lip["ratio_pixel"].values[kinds == kind], 1e-300))
                slopes = [np.polyfit(x, row, 1)[0] for row in y]
                np.testing.assert_allclose(res[g][key]["per_point"], slopes, rtol=1e-8, atol=1e-10)


def test_rerun_reuses_the_sweep_store(tiny_run, tmp_path):
    """A second run into the same --out reuses the finished sweep store and cached probes (same numbers)."""
    from validation.digits import run

    out, res = tiny_run
    zoo = res["zoo"]["root"]
    again = run(["--preset", "tiny", "--zoo-preset", "tiny", "--zoo-root", zoo, "--out", str(out), "--threads", "1",
                 "--no-figures", "--generators", "pixel"])
    assert again["pixel"]["slices"][0]["seeds"] == res["pixel"]["slices"][0]["seeds"]
    a, b = res["pixel"]["lipschitz_exponent_boundary"], again["pixel"]["lipschitz_exponent_boundary"]
    assert a["per_point"] == b["per_point"]
    assert len(list(out.glob("pixel_s0_sweep_*.zarr"))) == 1


def test_bad_option_refused_before_work(tmp_path):
    from validation.digits import main

    assert main(["--generators", "pixel,foo", "--out", str(tmp_path / "x")]) == 2
    assert main(["--preset", "tiny", "--n", "9", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_precision_check_recomputed(tiny_run):
    """float32/float64 label agreement = the fraction of equal labels in the stored windows, in [0, 1]."""
    out, res = tiny_run
    seen = 0
    for g in GENS:
        for c in res[g]["precision_check"]:
            with xr.open_dataset(out / f"{g}_s{c['slice']}_precision{c['point']}.nc", engine="h5netcdf") as ds:
                mine = (ds["labels"].values == ds["labels_float64"].values).mean(axis=(1, 2))
            np.testing.assert_allclose(c["agreement"], mine)
            assert all(0.0 <= a <= 1.0 for a in c["agreement"])
            seen += 1
    assert seen == len(GENS)  # the tiny preset checks one zoom point per generator
