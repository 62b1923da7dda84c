"""``python -m validation.latent_diffusability`` at CI scale, and its parts against exact results.

The end-to-end run (module fixture) uses the tiny digits zoo and the ``tiny`` preset: two
encoders (PCA-8 and tanh on PCA-8), one seed, tiny budgets, one thread. The tests check the
documented outputs and recompute from the written JSON, independently of the chain's code,
the scale-corrected deviations, the penalty chain and the rank correlations. The parts are
checked against closed forms: Gaussian scaling laws for the scale correction, exact PCA
reconstruction, least squares on affine maps, and a trained denoiser against the Gaussian
Fisher information.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from validation.latent_diffusability.config import DenoiserConfig, DiagnosticsConfig, EncoderSpec, preset_config
from validation.latent_diffusability.diagnostics import (
    curve_means,
    deviation_curves,
    scaled_curves,
    standardise,
)
from validation.latent_diffusability.encoders import CurvedPCAEncoder, LinearFit, PCAEncoder

pytestmark = pytest.mark.filterwarnings("ignore")


# ----------------------------------------------------------------------------------------------
# end to end at CI scale


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    import torch

    from validation.latent_diffusability import run

    torch.set_num_threads(1)
    zoo = tmp_path_factory.mktemp("zoo")
    out = tmp_path_factory.mktemp("ld")
    argv = ["--preset", "tiny", "--zoo-root", str(zoo), "--out", str(out), "--threads", "1", "--quiet"]
    return out, run(argv), argv


@pytest.mark.slow
def test_documented_outputs(tiny_run):
    out, _, _ = tiny_run
    for name in ("latent_diffusability.json", "latent_diffusability.md", "table.csv", "spearman.csv",
                 "fisher_rate.png", "penalties.png", "scatter.png"):
        assert (out / name).stat().st_size > 0, name
    js = json.loads((out / "latent_diffusability.json").read_text())
    assert list(js["encoders"]) == ["pca8", "tanh_pca8"]
    for e in js["encoders"].values():
        assert e["recon_mse"] > 0 and e["fir_deviation"] >= 0
        assert set(e["penalties"]) == {"compression", "tangential", "curvature"}
        q = e["quality"]
        assert 0 <= q["confident_fraction"] <= 1 and 0 <= q["class_balance_tv"] <= 0.9 and q["frechet_distance"] >= 0
        assert math.isclose(sum(q["class_fractions"]), 1.0, rel_tol=1e-9)
    for d in js["diagnostics"]:
        s = js["spearman"][d]
        assert set(s) >= {"value", "interval"}
        assert len(s["interval"]) == 2


@pytest.mark.slow
def test_deviations_recomputed_from_profiles(tiny_run):
    """The scale-corrected FIR deviation, the penalties and their triangle inequality, from the raw profiles."""
    out, _, _ = tiny_run
    js = json.loads((out / "latent_diffusability.json").read_text())
    taus = np.asarray(js["taus"])
    rx = np.asarray(js["pixel"]["profiles"][0]["R"])
    for name, e in js["encoders"].items():
        prof = e["profiles"][0]
        c = e["scale"]
        np.testing.assert_allclose(prof["tau"], c**2 * taus, rtol=1e-12)
        fir = np.abs(c**4 * np.asarray(prof["R"]) - rx) / np.abs(rx)
        assert math.isclose(e["per_seed"][0]["fir_deviation"], fir.mean(), rel_tol=1e-12)
        assert math.isclose(c**2, e["latent_dim"] / 64, rel_tol=1e-9)
        pen = e["per_seed"][0]["penalties"]
        curves = e["deviation_curves"][0]
        total = np.asarray(curves["compression"]) + np.asarray(curves["tangential"]) + np.asarray(curves["curvature"])
        assert np.all(np.asarray(curves["fir"]) <= total * (1 + 1e-12))
        if e["kind"] == "pca":
            assert pen["tangential"] == 0.0 and pen["curvature"] == 0.0
            assert math.isclose(pen["compression"], e["fir_deviation"], rel_tol=1e-12)


@pytest.mark.slow
def test_rank_correlation_recomputed(tiny_run):
    out, _, _ = tiny_run
    js = json.loads((out / "latent_diffusability.json").read_text())
    fd = [e["quality"]["frechet_distance"] for e in js["encoders"].values()]
    fir = [e["fir_deviation"] for e in js["encoders"].values()]
    rho = stats.spearmanr(fir, fd).statistic
    v = js["spearman"]["fir_deviation"]["value"]
    assert (v is None and not np.isfinite(rho)) or math.isclose(v, rho, abs_tol=1e-12)


@pytest.mark.slow
def test_rerun_reuses_the_cache(tiny_run):
    """Rerunning the same command retrains nothing and reproduces every measured number."""
    from validation.latent_diffusability import run

    out, first, argv = tiny_run
    cache = sorted((p.name, p.stat().st_mtime_ns) for p in (out / "cache").rglob("*") if p.is_file())
    second = run(argv)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (out / "cache").rglob("*") if p.is_file()) == cache
    for name, e in first["encoders"].items():
        assert second["encoders"][name]["per_seed"] == e["per_seed"]
    assert json.dumps(second["spearman"], sort_keys=True) == json.dumps(first["spearman"], sort_keys=True)


def test_bad_options_exit_before_work(tmp_path):
    from validation.latent_diffusability import run

    with pytest.raises(SystemExit):
        run(["--quick", "--preset", "full", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        run(["--threads", "0", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        run(["--preset", "huge", "--out", str(tmp_path)])
    assert not any(tmp_path.iterdir())


# ----------------------------------------------------------------------------------------------
# parts against exact results


def _gaussian_curves(variances, taus):
    from statgeo.diffusion.diffusability import (
        gaussian_fisher_information,
        gaussian_fisher_information_rate,
        gaussian_mmse_rate,
    )

    lam = np.asarray(variances, dtype=np.float64)
    return {"I_score": [float(gaussian_fisher_information(t, lam)) for t in taus],
            "R": [float(gaussian_fisher_information_rate(t, lam)) for t in taus],
            "mmse_rate": [float(gaussian_mmse_rate(t, lam)) for t in taus]}


def test_scale_correction_removes_a_global_scale_exactly():
    """z = c·x for Gaussian x: the profile at c²τ, scale-corrected, equals the pixel profile."""
    taus = np.logspace(-2, 1, 5)
    lam = np.array([3.0, 1.0, 0.5, 0.01])
    c = 0.37
    px = scaled_curves(_gaussian_curves(lam, taus), 1.0)
    lat = scaled_curves(_gaussian_curves(c**2 * lam, c**2 * taus), c)
    dev = curve_means(deviation_curves(px, lat, lat, lat))
    for k in ("fi_deviation", "fir_deviation", "mmse_rate_deviation", "compression"):
        assert dev[k] < 1e-12, k


def test_compression_matches_the_gaussian_closed_form():
    """PCA-d of Gaussian data: the compression curve is |R̃_P − R_x|/|R_x| from the eigenvalues."""
    taus = np.logspace(-2, 1, 6)
    lam = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.1])
    d = 3
    c2 = lam[:d].sum() / lam.sum()  # c² of unstandardised spaces: tr Cov[P x]/tr Cov[x]
    px = scaled_curves(_gaussian_curves(lam, taus), 1.0)
    pca = scaled_curves(_gaussian_curves(lam[:d], c2 * taus), math.sqrt(c2))
    dev = deviation_curves(px, pca, pca, pca)
    r_x = -np.sum(1.0 / (lam[None, :] + taus[:, None]) ** 2, axis=1)
    r_p = -c2**2 * np.sum(1.0 / (lam[None, :d] + c2 * taus[:, None]) ** 2, axis=1)
    np.testing.assert_allclose(dev["compression"], np.abs(r_p - r_x) / np.abs(r_x), rtol=1e-12)
    assert dev["tangential"] == [0.0] * len(taus) and dev["curvature"] == [0.0] * len(taus)


def test_standardise_gives_unit_mean_variance():
    z = np.random.default_rng(1).normal(size=(500, 7)) * np.arange(1, 8) + 3.0
    zs, mean, s = standardise(z)
    assert abs(zs.mean(axis=0)).max() < 1e-12
    assert math.isclose((zs**2).sum(axis=1).mean(), 7.0, rel_tol=1e-12)
    np.testing.assert_allclose(zs * s + mean, z, rtol=1e-12)
    with pytest.raises(ValueError, match="z"):
        standardise(np.ones((4, 2)))


def test_pca_encoder_is_an_isometry_of_its_subspace():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 10)) @ rng.normal(size=(10, 10))
    full = PCAEncoder.fit(x, 10)
    np.testing.assert_allclose(full.decode(full.encode(x)), x, atol=1e-9)
    np.testing.assert_allclose(full.components @ full.components.T, np.eye(10), atol=1e-12)
    pca = PCAEncoder.fit(x, 4)
    # pairwise distances of projected points equal those of the reconstructions (an isometry)
    z, xr = pca.encode(x[:20]), pca.decode(pca.encode(x[:20]))
    dz = np.linalg.norm(z[:, None] - z[None], axis=-1)
    dx = np.linalg.norm(xr[:, None] - xr[None], axis=-1)
    np.testing.assert_allclose(dz, dx, atol=1e-9)
    # the retained variance is the sum of the top eigenvalues of the covariance
    ev = np.sort(np.linalg.eigvalsh(np.cov(x.T, ddof=1)))[::-1]
    assert math.isclose(pca.encode(x).var(axis=0, ddof=1).sum(), ev[:4].sum(), rel_tol=1e-9)


def test_curved_encoder_inverts_to_the_pca_reconstruction():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 6))
    cur = CurvedPCAEncoder.fit(x, 3, gain=0.5)
    pca = PCAEncoder.fit(x, 3)
    np.testing.assert_allclose(cur.decode(cur.encode(x)), pca.decode(pca.encode(x)), atol=1e-8)
    assert np.abs(cur.encode(x)).max() < 1.0


def test_linear_fit_of_a_linear_encoder_is_exact_and_of_a_curved_one_is_not():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 5))
    pca = PCAEncoder.fit(x, 2)
    fit = LinearFit.fit(x, pca.encode(x))
    assert fit.residual < 1e-20
    np.testing.assert_allclose(fit.encode(x), pca.encode(x), atol=1e-10)
    curved = CurvedPCAEncoder.fit(x, 2, gain=3.0)
    assert LinearFit.fit(x, curved.encode(x)).residual > 0.01


@pytest.mark.slow
def test_autoencoders_train_deterministically_and_differ_by_objective():
    import torch

    from validation.latent_diffusability.encoders import AutoencoderEncoder, reconstruction_mse

    torch.set_num_threads(1)
    x = np.random.default_rng(5).uniform(-1, 1, size=(32, 64))
    ae = EncoderSpec("ae", "autoencoder", 16, steps=3)
    a1, a2 = AutoencoderEncoder.train(x, ae, 0), AutoencoderEncoder.train(x, ae, 0)
    np.testing.assert_array_equal(a1.encode(x), a2.encode(x))
    assert a1.latent_dim == 16 and a1.encode(x).shape == (32, 16) and a1.decode(a1.encode(x)).shape == (32, 64)
    vae = AutoencoderEncoder.train(x, EncoderSpec("vae", "vae", 16, kl_weight=1.0, steps=3), 0)
    assert not np.allclose(vae.encode(x), a1.encode(x))
    assert np.isfinite(reconstruction_mse(a1, x))
    with pytest.raises(ValueError, match="latent_dim"):
        AutoencoderEncoder.train(x, EncoderSpec("bad", "autoencoder", 10, steps=1), 0)


@pytest.mark.slow
def test_trained_denoiser_recovers_the_gaussian_fisher_information():
    """The MLP denoiser on N(0, diag(1.5, 0.5, 0.5, 1.5)): I and R within 10 % of the closed form.

    10 % is the model error budget of a 1500-step training; the Monte Carlo error bars (about
    2 %) are included in the comparison.
    """
    import torch

    from statgeo.diffusion.diffusability import gaussian_fisher_information, gaussian_fisher_information_rate
    from validation.latent_diffusability.denoiser import train_denoiser
    from validation.latent_diffusability.diagnostics import model_profile

    torch.set_num_threads(1)
    lam = np.array([1.5, 0.5, 0.5, 1.5])
    x = np.random.default_rng(6).normal(size=(2000, 4)) * np.sqrt(lam)
    net = train_denoiser(x, DenoiserConfig(width=64, depth=2, steps=1500, batch_size=128, lr=2e-3), 0)
    taus = np.array([0.3, 1.0, 3.0])
    prof = model_profile(net, x, taus, DiagnosticsConfig(n_samples=4096), 0)
    for i, t in enumerate(taus):
        ie, re = float(gaussian_fisher_information(t, lam)), float(gaussian_fisher_information_rate(t, lam))
        assert abs(prof["I_score"][i] - ie) <= 0.10 * ie + 3 * prof["I_score_stderr"][i], (t, prof["I_score"][i], ie)
        assert abs(prof["R"][i] - re) <= 0.10 * abs(re) + 3 * prof["R_stderr"][i], (t, prof["R"][i], re)


def test_epsilon_model_feeds_the_schedule_timestep():
    """At τ = τ_t of an integer timestep, the wrapper calls the network at t with x_t = y/√(1 + τ)."""
    import torch

    from validation.latent_diffusability.denoiser import VectorEpsilonNet, epsilon_model, training_schedule

    torch.manual_seed(0)
    net = VectorEpsilonNet(3, width=8, depth=1).eval()
    ab = training_schedule().alphas_cumprod.double()
    t = 137
    tau = float((1 - ab[t]) / ab[t])
    y = torch.randn(5, 3)
    with torch.no_grad():
        got = epsilon_model(net)(y, tau)
        want = net(y / math.sqrt(1 + tau), torch.full((5,), float(t)))
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_ddim_sampling_is_deterministic_and_shaped():
    import torch

    from validation.latent_diffusability.denoiser import VectorEpsilonNet, ddim_sample

    torch.manual_seed(0)
    net = VectorEpsilonNet(4, width=8, depth=1).eval()
    a, b = ddim_sample(net, 7, 3, 5, batch_size=3), ddim_sample(net, 7, 3, 5)
    assert a.shape == (7, 4)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="num_inference_steps"):
        ddim_sample(net, 7, 3, 0)


def test_presets_span_the_documented_family():
    full = preset_config("full")
    kinds = {e.kind for e in full.encoders}
    assert kinds == {"pca", "curved", "autoencoder", "vae"}
    assert len({e.latent_dim for e in full.encoders if e.kind == "pca"}) >= 3
    assert len({e.kl_weight for e in full.encoders if e.kind == "vae"}) >= 2
    assert len(full.seeds) >= 2 and len(preset_config("quick").seeds) >= 2
    assert len(preset_config("tiny").encoders) == 2
    with pytest.raises(ValueError, match="preset"):
        preset_config("huge")


@pytest.mark.slow
def test_quality_of_real_digits_against_themselves(tiny_run):
    """Real test digits as 'samples': Fréchet distance 0 against their own features, and the
    confident fraction and class fractions equal the classifier's own output."""
    from validation.digits_zoo.classifier import load_classifier
    from validation.digits_zoo.data import load_digit_images
    from validation.latent_diffusability.quality import CONFIDENCE, penultimate_features, sample_quality

    _, _, argv = tiny_run
    clf = load_classifier(argv[argv.index("--zoo-root") + 1] + "/classifier")
    x, _ = load_digit_images(8, "test", 0)
    pixels = x.reshape(len(x), -1).astype(np.float64) * 2 - 1
    q = sample_quality(clf, pixels, penultimate_features(clf, pixels))
    lab, conf = clf.classify(x)
    assert q["frechet_distance"] < 1e-6
    assert q["confident_fraction"] == np.mean(conf >= CONFIDENCE)
    np.testing.assert_allclose(q["class_fractions"], np.bincount(lab, minlength=10) / len(lab), rtol=0, atol=0)
    assert q["n_samples"] == len(x)


@given(d=st.integers(min_value=-5, max_value=40), n=st.integers(min_value=1, max_value=12),
       D=st.integers(min_value=1, max_value=12))
@settings(max_examples=40, deadline=None)
def test_pca_rejects_dimensions_out_of_range(d, n, D):
    x = np.random.default_rng(0).normal(size=(n, D))
    if 1 <= d <= min(n, D):
        assert PCAEncoder.fit(x, d).latent_dim == d
    else:
        with pytest.raises(ValueError, match="d"):
            PCAEncoder.fit(x, d)


@given(shape=st.tuples(st.integers(min_value=0, max_value=4), st.integers(min_value=0, max_value=4)),
       bad=st.sampled_from(["nan", "inf", "none"]))
@settings(max_examples=40, deadline=None)
def test_encoders_reject_bad_arrays(shape, bad):
    x = np.random.default_rng(0).normal(size=(50, 4))
    pca = PCAEncoder.fit(x, 2)
    z = np.ones(shape)
    if bad != "none" and z.size:
        z.flat[0] = np.nan if bad == "nan" else np.inf
    if shape[0] >= 1 and shape[1] == 2 and bad == "none":
        assert pca.decode(z).shape == (shape[0], 4)
    else:
        with pytest.raises(ValueError, match="z"):
            pca.decode(z)
