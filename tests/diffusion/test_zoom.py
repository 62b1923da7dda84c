"""Fractal zoom on the closed-form synthetic generator (Weierstrass boundary, D = 1.5)."""

import numpy as np
import pytest

from statgeo.diffusion.embed import PixelEmbedder, add_embeddings
from statgeo.diffusion.phases import phase_map
from statgeo.diffusion.slices import slice_grid
from statgeo.diffusion.sweep import sweep
from statgeo.diffusion.synthetic import SyntheticGenerator, synthetic_slice
from statgeo.diffusion.zoom import box_counting_dimension, boundary_mask, find_boundary_point, zoom


@pytest.fixture(scope="module")
def setup():
    gen = SyntheticGenerator()
    ls = synthetic_slice()
    emb = PixelEmbedder(8)
    ds = add_embeddings(sweep(gen, ls, slice_grid(24), batch_size=576, progress=False), emb, progress=False)
    labels, model = phase_map(ds, 3, embedder=emb)
    return gen, ls, model


def test_box_counting_on_known_sets():
    n = 64
    line = np.zeros((n, n), bool)
    line[:, 20] = True
    assert box_counting_dimension(line)[0] == pytest.approx(1.0, abs=0.02)
    assert box_counting_dimension(np.ones((n, n), bool))[0] == pytest.approx(2.0, abs=1e-12)
    diag = np.eye(n, dtype=bool)
    assert box_counting_dimension(diag)[0] == pytest.approx(1.0, abs=0.05)
    assert np.isnan(box_counting_dimension(np.zeros((n, n), bool))[0])
    lab = np.zeros((8, 8), int)
    lab[:, 4:] = 1
    m = boundary_mask(lab)
    assert m[:, 3].all() and m[:, 4].all() and m.sum() == 16


def test_find_boundary_point_matches_closed_form(setup):
    gen, ls, model = setup
    for a in (0.13, 0.3, 0.52):
        p = find_boundary_point(gen, model, ls, (a, 0.0), (a, 1.0), tol=1e-12)
        assert p[0] == a
        assert abs(p[1] - gen.boundary_curve(a)) < 1e-11


def test_zoom_structure_at_several_scales_and_precision_floor(setup):
    gen, ls, model = setup
    a = 0.3
    c = (a, float(gen.boundary_curve(a)))
    scales = [1e-1, 1e-2, 1e-3, 1e-4, 1e-7, 1e-8]
    z64 = zoom(gen, ls, c, model, scales=scales, n=48, progress=False)
    d = z64.box_dimension.values
    # Weierstrass graph: D = 2 + ln r / ln s = 1.5 above the finest scale s^-(K-1) ≈ 3.8e-6 …
    assert gen.box_dimension == pytest.approx(1.5)
    assert np.all(d[:4] > 1.2) and np.all(d[:4] < 1.7)
    # … and a smooth (straight) curve far below it
    assert np.all(np.abs(d[4:] - 1.0) < 0.1)
    assert np.all(z64.n_boundary_cells.values > 0) and np.all(z64.n_phases.values >= 2)
    assert bool(z64.resolved.all()) and np.isnan(z64.attrs["precision_ends_at"])
    # the same zoom with the latent cast to float32: resolution ulp(0.45)/2 = 2^-26
    g32 = SyntheticGenerator(dtype="float32")
    z32 = zoom(g32, ls, c, model, scales=scales, n=48, progress=False)
    assert z32.attrs["effective_resolution_beta"] == pytest.approx(2.0 ** -26, rel=1e-6)
    assert z32.attrs["effective_resolution_alpha"] == pytest.approx(2.0 ** -26, rel=1e-6)
    assert list(z32.resolved.values) == [True, True, True, True, False, False]
    assert z32.attrs["precision_ends_at"] == 1e-7
    # well above the floor the float32 rounding moves only a few boundary cells
    np.testing.assert_array_equal(z32.box_dimension.values[:3], d[:3])
    assert z32.box_dimension.values[3] == pytest.approx(d[3], abs=0.05)


def test_errors(setup):
    gen, ls, model = setup
    with pytest.raises(ValueError, match="same phase"):
        find_boundary_point(gen, model, ls, (0.1, 0.9), (0.2, 0.9))
    with pytest.raises(ValueError, match="scales"):
        zoom(gen, ls, (0.3, 0.45), model, scales=[0.1, -1.0], progress=False)
    with pytest.raises(ValueError, match="center"):
        zoom(gen, ls, (0.3,), model, progress=False)
