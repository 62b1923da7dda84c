"""The batched-generation leaf module: its place in the import graph and the one noise rule.

The seed rule is checked with a stochastic sampler (the tiny text-conditional
DiffusionGenerator with η = 0.5), where a wrong seed changes the image by ~0.1: the image of
a point is the same from the float path, a sweep, the Lipschitz ratios, a zoom and a
bisection for the same point and ``noise_seed``, and does not depend on the batch.
"""

import ast
import importlib
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from statgeo.diffusion import generation  # noqa: E402
from statgeo.diffusion.generation import generate, generate_float, point_seeds, to_uint8  # noqa: E402
from statgeo.diffusion.lipschitz import lipschitz_ratios  # noqa: E402
from statgeo.diffusion.slices import LatentSlice  # noqa: E402
from statgeo.diffusion.sweep import sweep  # noqa: E402
from statgeo.diffusion.synthetic import SyntheticGenerator, synthetic_slice  # noqa: E402
from statgeo.diffusion.zoom import find_boundary_point, zoom  # noqa: E402
from tests.diffusion.conftest import make_tiny_generator  # noqa: E402

torch.set_num_threads(1)

PKG = Path(generation.__file__).parent
SHAPE = (4, 8, 8)
NS = 5  # the noise seed of the seed-rule tests
PTS = np.array([[0.3, 0.4], [0.6, 0.2], [0.1, 0.9]])


# ---------------------------------------------------------------- import graph


def _is_type_checking(node: ast.AST) -> bool:
    t = node.test if isinstance(node, ast.If) else None
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _diffusion_imports(module: str) -> set[str]:
    """Modules of statgeo.diffusion that ``module`` imports anywhere (also inside functions), except
    under ``if TYPE_CHECKING:``; ``"__init__"`` stands for the package itself."""
    tree = ast.parse((PKG / f"{module}.py").read_text())
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("statgeo.diffusion."):
                    out.add(a.name.split(".")[2])
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:  # relative: from . import x / from .x import y
                mod = "statgeo.diffusion" + (f".{mod}" if mod else "")
            if mod == "statgeo.diffusion":
                for a in node.names:
                    out.add(a.name if (PKG / f"{a.name}.py").exists() else "__init__")
            elif mod.startswith("statgeo.diffusion."):
                out.add(mod.split(".")[2])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    out.discard(module)
    return out


def _reachable(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        for d in _diffusion_imports(m):
            if d not in seen:
                seen.add(d)
                if (PKG / f"{d}.py").exists() and d != "__init__":
                    todo.append(d)
    return seen


def test_generation_is_a_leaf_and_there_is_no_import_circle():
    users = {"sweep", "scaleout", "lipschitz", "zoom"}
    direct = _diffusion_imports("generation")
    assert not direct & (users | {"__init__"}), direct
    # nor through anything it imports (the package __init__ imports everything, so it is excluded too)
    assert not _reachable("generation") & (users | {"__init__"})
    assert "sweep" not in _diffusion_imports("scaleout")
    assert "sweep" not in _reachable("scaleout")
    for m in users:  # every batched-generation user goes through the leaf module
        assert "generation" in _diffusion_imports(m), m
    for m in users | {"generation"}:  # no module of the generation layer is on an import cycle
        assert m not in _reachable(m), m


def test_sweep_reexports_the_moved_names():
    sweep_mod = importlib.import_module("statgeo.diffusion.sweep")  # the package attribute is the function
    for name in ("generate", "point_seeds", "to_uint8", "MAX_SWEEP_POINTS"):
        assert getattr(sweep_mod, name) is getattr(generation, name)
        assert name in sweep_mod.__all__


# ---------------------------------------------------------------- the seed rule


@pytest.fixture(scope="module")
def eta_gen():
    return make_tiny_generator(eta=0.5)


@pytest.fixture(scope="module")
def lslice():
    return LatentSlice.from_seeds([0, 1, 2], SHAPE)


@pytest.fixture(scope="module")
def ref(eta_gen, lslice):
    """Float images of PTS, one point per generator call, seeds point_seeds(NS, 3)."""
    return generate_float(eta_gen, lslice, PTS[:, 0], PTS[:, 1], point_seeds(NS, 3), 1, progress=False)


def _float_at(gen, lslice, p, seed):
    return generate_float(gen, lslice, [p[0]], [p[1]], [seed], 1, progress=False)[0]


def test_float_path_follows_the_seeds_not_the_batch(eta_gen, lslice, ref):
    assert ref.shape == (3, 3, 16, 16) and ref.dtype == np.float32
    assert 0.0 <= ref.min() and ref.max() <= 1.0
    # the noise is used: another noise seed changes the images by far more than any tolerance below
    other = generate_float(eta_gen, lslice, PTS[:, 0], PTS[:, 1], point_seeds(NS + 1, 3), 1, progress=False)
    assert np.abs(other - ref).max(axis=(1, 2, 3)).min() > 1e-2
    # independent of the batch: all three in one call (float32 batched convolutions differ in the last bits)
    together = generate_float(eta_gen, lslice, PTS[:, 0], PTS[:, 1], point_seeds(NS, 3), 3, progress=False)
    np.testing.assert_allclose(together, ref, rtol=0, atol=1e-5)
    # and of the companions: point 2 alone, with its seed from the offset, is bit-identical
    alone = generate_float(eta_gen, lslice, PTS[2:, 0], PTS[2:, 1], point_seeds(NS, 1, offset=2), 1, progress=False)
    np.testing.assert_array_equal(alone[0], ref[2])


def test_sweep_uint8_and_float_agree(eta_gen, lslice, ref):
    ds = sweep(eta_gen, lslice, points=PTS, batch_size=1, noise_seed=NS, progress=False)
    np.testing.assert_array_equal(ds.noise_seed.values, point_seeds(NS, 3))
    np.testing.assert_array_equal(ds.image.values, to_uint8(ref))  # same images, quantised
    u = ds.image.values.astype(np.float64) / 255
    assert np.abs(u - ref).max() <= 0.5 / 255 + 1e-6  # (c): rounding only
    # another batch and chunk cut: within one grey level of the float images
    ds3 = sweep(eta_gen, lslice, points=PTS, batch_size=3, chunk_size=2, noise_seed=NS, progress=False)
    assert np.abs(ds3.image.values.astype(np.float64) / 255 - ref).max() <= 1 / 255 + 1e-6
    im, _ = generate(eta_gen, lslice, PTS[:, 0], PTS[:, 1], point_seeds(NS, 3), 2, None, False, progress=False)
    assert np.abs(im.astype(np.float64) / 255 - ref).max() <= 1 / 255 + 1e-6


class Recorder:
    """An embedder / classifier that keeps every image batch it is given."""

    def __init__(self, out="features"):
        self.out, self.batches = out, []

    def __call__(self, images):
        x = np.asarray(images)
        self.batches.append(x.copy())
        if self.out == "labels":
            return np.zeros(len(x), dtype=np.int64)
        return x.reshape(len(x), -1).astype(np.float64)

    @property
    def images(self):
        return np.concatenate(self.batches)


def test_lipschitz_pairs_share_the_seed_of_their_point(eta_gen, lslice, ref):
    rec = Recorder()
    deltas = [1e-6]
    r = lipschitz_ratios(eta_gen, lslice, PTS, deltas, direction=(1, 0), embedder=rec, noise_seed=NS, batch_size=1)
    im = rec.images  # p_0, p_1, p_2, then q_i = p_i + δ e_α
    assert im.dtype == np.float64
    np.testing.assert_array_equal(im[:3], ref)  # the base images are the float path's, with point_seeds(NS, 3)
    q = PTS + np.array([deltas[0], 0.0])
    for i in range(3):  # each step point uses the seed of its base point
        np.testing.assert_array_equal(im[3 + i], _float_at(eta_gen, lslice, q[i], point_seeds(NS, 3)[i]))
    # so the pair's difference is the map's (tiny), not the noise's (~0.1)
    assert np.abs(im[3:] - im[:3]).max() < 1e-3
    dz = r.latent_step.values[:, 0]
    np.testing.assert_allclose(r.ratio_pixel.values[:, 0],
                               np.linalg.norm((im[3:] - im[:3]).reshape(3, -1), axis=1) / dz, rtol=1e-12)
    # one point alone gets the same seed (index 0) and the same ratio
    r1 = lipschitz_ratios(eta_gen, lslice, PTS[:1], deltas, direction=(1, 0), noise_seed=NS, batch_size=1)
    np.testing.assert_array_equal(r1.ratio_pixel.values, r.ratio_pixel.values[:1])


def test_zoom_and_bisection_share_the_seed_of_point_0(eta_gen, lslice, ref):
    s0 = int(point_seeds(NS, 1)[0])
    assert s0 == int(point_seeds(NS, 3)[0])
    rec = Recorder("labels")
    z = zoom(eta_gen, lslice, PTS[0], rec, scales=[1e-2], n=9, batch_size=1, noise_seed=NS, progress=False)
    assert z.attrs["noise_seed"] == NS
    im = rec.images
    assert im.shape == (81, 3, 16, 16)
    np.testing.assert_array_equal(im[4 * 9 + 4], ref[0])  # the window centre (n odd) is PTS[0]
    corner = (z.alpha.values[0, 0], z.beta.values[0, -1])  # point (u=0, v=8) of the window
    np.testing.assert_array_equal(im[8], _float_at(eta_gen, lslice, corner, s0))
    assert np.abs(im - ref[0]).max() < 5e-2  # one noise draw across the window: images vary smoothly
    # independent of the batch size
    rec9 = Recorder("labels")
    zoom(eta_gen, lslice, PTS[0], rec9, scales=[1e-2], n=9, batch_size=27, noise_seed=NS, progress=False)
    np.testing.assert_allclose(rec9.images, im, rtol=0, atol=1e-5)

    # bisection: the start point's image is ref[0]; every later point uses s0 as well
    seen = []

    def classify(images):
        x = np.asarray(images)
        seen.append(x.copy())
        return np.array([0 if np.array_equal(xi, ref[0]) else 1 for xi in x])

    p = find_boundary_point(eta_gen, classify, lslice, PTS[0], PTS[1], tol=1e-2, batch_size=1, noise_seed=NS)
    np.testing.assert_array_equal(seen[0][0], ref[0])
    np.testing.assert_array_equal(seen[1][0], _float_at(eta_gen, lslice, PTS[1], s0))
    last = p + (p - PTS[0])  # the last midpoint, up to rounding of the slice coordinates
    np.testing.assert_allclose(seen[-1][0], _float_at(eta_gen, lslice, last, s0), rtol=0, atol=1e-5)
    assert np.linalg.norm(p - PTS[0]) < 1e-2


# ---------------------------------------------------------------- the float path's input rules


def test_generate_float_apply_and_refusals():
    gen, ls = SyntheticGenerator(size=4), synthetic_slice()
    a, b = np.array([0.1, 0.5, 0.9]), np.array([0.2, 0.5, 0.8])
    x = generate_float(gen, ls, a, b, point_seeds(0, 3), 2, progress=False)
    assert x.dtype == np.float64 and x.shape == (3, 3, 4, 4)  # a float64 generator keeps float64
    lab = generate_float(gen, ls, a, b, point_seeds(0, 3), 2, apply=lambda im: im[:, :, 0, 0].argmax(1),
                         progress=False)
    np.testing.assert_array_equal(lab, x[:, :, 0, 0].argmax(1))
    with pytest.raises(ValueError, match="apply"):
        generate_float(gen, ls, a, b, point_seeds(0, 3), 2, apply=lambda im: np.zeros(1), progress=False)
    with pytest.raises(TypeError, match="apply"):
        generate_float(gen, ls, a, b, point_seeds(0, 3), apply=3)
    with pytest.raises(ValueError, match="seeds"):
        generate_float(gen, ls, a, b, [0, 1])
    with pytest.raises(TypeError, match="seeds"):
        generate_float(gen, ls, a, b, [0.5, 1.0, 2.0])
    with pytest.raises(ValueError, match="batch_size"):
        generate_float(gen, ls, a, b, [0, 1, 2], 0)
    with pytest.raises(ValueError, match="latent shape"):
        generate_float(gen, synthetic_slice(latent_shape=(3,)), a, b, [0, 1, 2])

    class NaNGen:
        latent_shape, dtype = gen.latent_shape, gen.dtype

        def __call__(self, z, seeds):
            return torch.full((z.shape[0], 1, 2, 2), float("nan")), None

    with pytest.raises(ValueError, match="batch 0 .*NaN"):
        generate_float(NaNGen(), ls, a, b, [0, 1, 2], progress=False)
