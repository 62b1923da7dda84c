"""Latent slices: the plane formula, renormalisations, anchors, dtype resolution."""

import numpy as np
import pytest
torch = pytest.importorskip("torch")

from statgeo.diffusion.slices import (LatentSlice, anchors_from_seeds, effective_resolution, load_anchors,
                                      renormalise, slice_grid)
from statgeo.diffusion.synthetic import synthetic_slice


def test_plane_formula_and_corners():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 4, 5, 5))
    ls = LatentSlice(z, normalise="none")
    a, b = np.array([0.0, 1.0, 0.0, 0.3]), np.array([0.0, 0.0, 1.0, 0.7])
    out = ls.latents(a, b)
    np.testing.assert_array_equal(out[0], z[0])
    np.testing.assert_allclose(out[1], z[1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(out[2], z[2], rtol=0, atol=1e-15)
    np.testing.assert_allclose(out[3], z[0] + 0.3 * (z[1] - z[0]) + 0.7 * (z[2] - z[0]), atol=1e-15)
    assert out.dtype == np.float64


def test_renormalisations():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(3, 2, 4, 4)) * 3 + 0.2
    s = renormalise(z, "std")
    np.testing.assert_allclose(s.reshape(3, -1).std(axis=1), 1.0, rtol=1e-13)
    q = renormalise(z, "sqrt_dim")
    np.testing.assert_allclose(np.linalg.norm(q.reshape(3, -1), axis=1), np.sqrt(32), rtol=1e-13)
    np.testing.assert_array_equal(renormalise(z, "none"), z)
    with pytest.raises(ValueError, match="normalise"):
        renormalise(z, "l2")
    with pytest.raises(ValueError, match="zero latent"):
        renormalise(np.zeros((1, 4)), "std")


def test_anchors_from_seeds_match_torch_cpu_generator():
    z = anchors_from_seeds([5, 6, 7], (4, 8, 8))
    ref = torch.randn((4, 8, 8), generator=torch.Generator().manual_seed(6)).double().numpy()
    np.testing.assert_array_equal(z[1], ref)
    ls = LatentSlice.from_seeds([5, 6, 7], (4, 8, 8))
    assert ls.latent_shape == (4, 8, 8) and ls.seeds == (5, 6, 7)
    with pytest.raises(ValueError, match="3 seeds"):
        LatentSlice.from_seeds([1, 2], (4, 8, 8))
    with pytest.raises(ValueError, match="seeds"):
        anchors_from_seeds([-1], (2,))


def test_anchor_files(tmp_path):
    z = anchors_from_seeds([0, 1, 2], (4, 8, 8))
    np.save(tmp_path / "a.npy", z)
    torch.save(torch.from_numpy(z).float(), tmp_path / "a.pt")
    np.testing.assert_array_equal(load_anchors(tmp_path / "a.npy", (4, 8, 8)), z)
    np.testing.assert_array_equal(load_anchors(tmp_path / "a.pt"), z.astype(np.float32))
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        load_anchors(tmp_path / "missing.npy")
    with pytest.raises(ValueError, match="latent shape mismatch"):
        load_anchors(tmp_path / "a.npy", (4, 16, 16))
    bad = z.copy()
    bad[0, 0, 0, 0] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(ValueError, match="NaN"):
        load_anchors(tmp_path / "bad.npy")
    with pytest.raises(ValueError, match="NaN"):
        LatentSlice(bad)
    with pytest.raises(ValueError, match="finite"):
        LatentSlice(z).latents([np.nan], [0.0])


def test_slice_grid_defaults():
    g = slice_grid(5)
    assert g.names == ("alpha", "beta") and g.shape == (5, 5)
    assert g["alpha"].values[0] == 0.0 and g["beta"].values[-1] == 1.0


@pytest.mark.parametrize("dtype,exponent", [("float32", -25), ("float16", -12), ("float64", -54)])
def test_effective_resolution_exact(dtype, exponent):
    # z = (α, β): at α = 0.5 the cast rounds to ulp(0.5)/2 = 2^(−p) with p bits of mantissa + 1.
    r = effective_resolution(synthetic_slice(), dtype, 0.5, 0.5)
    # the derivative is a float64 central difference (relative error ~1e-10)
    assert r["alpha"] == pytest.approx(2.0 ** exponent, rel=1e-8)
    assert r["beta"] == pytest.approx(2.0 ** exponent, rel=1e-8)
