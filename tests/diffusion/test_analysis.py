"""The analysis chain on the closed-form synthetic generator: phases, metric boundaries, geodesics."""

import itertools

import numpy as np
import pytest

from statgeo.diffusion.embed import PixelEmbedder, add_embeddings
from statgeo.diffusion.phases import kmeans, phase_map, plot_phase_map
from statgeo.diffusion.slices import slice_grid
from statgeo.diffusion.sweep import sweep
from statgeo.diffusion.synthetic import SyntheticGenerator, synthetic_slice

N_FINE, N_POST = 33, 17  # samples on a 33² grid, posteriors over a 17² grid (cell 1/16)


@pytest.fixture(scope="module")
def gen():
    # a boundary with 3 Weierstrass terms (visible on a 17² grid) and a straight one at a = 0.7
    return SyntheticGenerator(n_terms=3, amplitude=0.05)


@pytest.fixture(scope="module")
def ds(gen):
    out = sweep(gen, synthetic_slice(), slice_grid(N_FINE), batch_size=2048, progress=False)
    return add_embeddings(out, PixelEmbedder(8), progress=False)


def _true_boundary(gen, n=4000):
    a = np.linspace(0, 1, n)
    h = gen.boundary_curve(a)
    b = np.linspace(gen.boundary_curve(gen.a1), 1, n)
    return np.concatenate([np.stack([a, h], 1), np.stack([np.full(n, gen.a1), b], 1)])


def test_phase_map_recovers_the_phases(ds, gen):
    labels, model = phase_map(ds, 3, embedder=PixelEmbedder(8))
    A, B = np.meshgrid(ds.alpha, ds.beta, indexing="ij")
    truth = gen.labels(A, B)
    best = max((np.mean(np.array(p)[labels.values] == truth) for p in itertools.permutations(range(3))))
    assert best == 1.0
    # the nearest-centroid model labels new images consistently
    im, _ = gen(np.array([[0.2, 0.05], [0.3, 0.9], [0.9, 0.95]]))
    lab = model(im)
    assert len(set(lab.tolist())) == 3
    ax = plot_phase_map(labels)
    assert ax.get_xlabel().startswith("slice coordinate")


def test_kmeans_labels_by_first_appearance():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(5, 0.1, (20, 2)), rng.normal(-5, 0.1, (20, 2))])
    lab, c = kmeans(x, 2)
    assert lab[0] == 0 and np.all(lab[:20] == 0) and np.all(lab[20:] == 1)
    np.testing.assert_allclose(c[0], x[:20].mean(0))
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans(x, 41)


@pytest.fixture(scope="module")
def geo(ds):
    pytest.importorskip("statgeo.geometry.posterior_kernel")
    from statgeo.diffusion.analysis import analyse_slice

    return analyse_slice(ds, grid=slice_grid(N_POST), fit_kwargs={"max_steps": 50})


@pytest.mark.slow  # kernel-temperature selection + log Z fit: ~1 min on 2 idle cores
def test_metric_boundaries_match_the_true_boundary(geo, gen):
    assert geo.maps.boundary_score.dims == ("alpha", "beta")
    assert geo.curves, "no boundary curve extracted"
    pts = np.concatenate(geo.curves)
    truth = _true_boundary(gen)
    d = np.min(np.linalg.norm(pts[:, None, :] - truth[None], axis=-1), axis=1)
    cell = 1.0 / (N_POST - 1)
    # the extracted boundary points lie within a cell or two of the true boundary (a few
    # stray points at the box edges, where the fitted potential is least constrained) ...
    assert np.median(d) < cell and np.quantile(d, 0.9) < 2 * cell, d
    # ... and cover most of the true boundary (both parts) to within two cells (measured
    # 0.6 with this short fit: the ends of the ridges fade below the threshold)
    cover = np.min(np.linalg.norm(truth[::40, None, :] - pts[None], axis=-1), axis=1)
    assert np.mean(cover < 2 * cell) > 0.5


@pytest.mark.slow
def test_geodesic_vs_straight_with_regenerated_images(geo, gen):
    from statgeo.diffusion.analysis import interpolation_paths

    res = interpolation_paths(geo.potential, gen, synthetic_slice(), (0.15, 0.2), (0.3, 0.85), n_points=12,
                              embedder=PixelEmbedder(8), lpips=lambda a, b: np.abs(a - b).mean(axis=(1, 2, 3)),
                              geodesic_kwargs={"tol": 1e-2, "max_iter": 40})
    assert res.image.shape == (2, 12, 3, 16, 16)
    L = res.metric_length.values
    assert L[0] <= L[1] * (1 + 1e-6)  # the geodesic is no longer than the straight line in the metric
    for v in ("pixel_length", "feature_length", "perceptual_length"):
        assert np.all(res[v].values > 0)
    # both paths cross the boundary once: the pixel length is at least the jump between textures
    jump = np.linalg.norm(gen._textures[1] - gen._textures[0])
    assert np.all(res.pixel_length.values >= jump * 0.99)
    np.testing.assert_allclose(res.alpha.values[:, [0, -1]], [[0.15, 0.3], [0.15, 0.3]], atol=1e-12)
