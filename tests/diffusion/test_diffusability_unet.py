"""A tiny random-init diffusers UNet through the estimators; VP ↔ τ mapping and v-prediction."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from statgeo.diffusion.diffusability import (  # noqa: E402
    estimate_diffusability,
    fisher_information,
    gaussian_fisher_information,
    score_function,
    timestep_from_tau,
)

CFG = dict(sample_size=8, in_channels=1, out_channels=1, layers_per_block=1, block_out_channels=(8, 16),
           down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
           norm_num_groups=4, attention_head_dim=8)


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return diffusers.UNet2DModel(**CFG).eval()


@pytest.fixture(scope="module")
def sched():
    return diffusers.DDPMScheduler(num_train_timesteps=100)


def test_unet_runs_with_error_bars(unet, sched):
    x = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    res = estimate_diffusability(unet, x, [0.05, 1.0], scheduler=sched, n_samples=8, batch_size=4, seed=0)
    for e in res:
        for est in (e.I_score, e.I_denoise, e.I_gap, e.R, e.mmse, e.mmse_rate):
            assert np.isfinite(est.value) and np.isfinite(est.stderr) and est.stderr > 0
        assert e.R.value < 0 and e.n_evals == 8 and e.dim == 64


def test_vp_mapping_seen_by_unet(unet, sched):
    """The UNet receives x_t = √ᾱ y at the timestep of τ (nearest: τ snapped to τ_t)."""
    seen = {}

    def hook(mod, args, kwargs):
        seen["x_t"], seen["t"] = args[0].detach().clone(), args[1].detach().clone()

    h = unet.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        for mode in ("nearest", "interpolate"):
            sf = score_function(unet, scheduler=sched, timestep_mode=mode)
            tau_used = sf.resolve_tau(0.33)
            t_exp, u_exp = timestep_from_tau(sched, 0.33, mode=mode)
            assert tau_used == pytest.approx(float(u_exp))
            if mode == "nearest":
                ac = float(sched.alphas_cumprod[int(t_exp)])
                assert tau_used == pytest.approx((1 - ac) / ac, rel=1e-6)
            y = torch.randn(2, 1, 8, 8)
            with torch.no_grad():
                s = sf(y, tau_used)
            torch.testing.assert_close(seen["x_t"], y / math.sqrt(1 + tau_used))
            assert torch.allclose(seen["t"], torch.full((2,), float(t_exp)))
            assert s.shape == y.shape
    finally:
        h.remove()


class _ExactV(diffusers.UNet2DModel):
    """A UNet2DModel whose forward returns the exact v (or ε) for x ~ N(0, σ² I)."""

    sigma2 = 0.5
    target = "v_prediction"

    def forward(self, sample, timestep, **kw):
        from types import SimpleNamespace

        from statgeo.diffusion.diffusability import tau_from_timestep

        tau = float(tau_from_timestep(self._sched, float(timestep[0])))
        ab = 1 / (1 + tau)
        y = sample / math.sqrt(ab)
        s = -y / (self.sigma2 + tau)
        eps = -math.sqrt(tau) * s
        x0 = y + tau * s
        out = math.sqrt(ab) * eps - math.sqrt(1 - ab) * x0 if self.target == "v_prediction" else eps
        return SimpleNamespace(sample=out)


@pytest.mark.parametrize("target", ["v_prediction", "epsilon"])
def test_prediction_type_conversion_exact(sched, target):
    torch.manual_seed(0)
    m = _ExactV(**CFG)
    m._sched, m.target = sched, target
    sch = diffusers.DDPMScheduler(num_train_timesteps=100, prediction_type=target)
    x = math.sqrt(_ExactV.sigma2) * torch.randn(4000, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    e = fisher_information(m, x, 0.4, scheduler=sch, n_samples=400, batch_size=400, seed=1)
    I = float(gaussian_fisher_information(0.4, np.full(64, _ExactV.sigma2)))
    assert abs(e.I_score.value - I) < 4 * e.I_score.stderr
    assert abs(e.I_denoise.value - I) < 4 * e.I_denoise.stderr


def test_unet2d_condition_runs():
    torch.manual_seed(0)
    u = diffusers.UNet2DConditionModel(sample_size=8, in_channels=1, out_channels=1, layers_per_block=1,
                                       block_out_channels=(8, 16), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                       up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=8,
                                       norm_num_groups=4, attention_head_dim=4).eval()
    sch = diffusers.DDPMScheduler(num_train_timesteps=100, prediction_type="v_prediction")
    ehs = torch.randn(1, 3, 8)
    x = torch.randn(8, 1, 8, 8)
    e = estimate_diffusability(u, x, 0.5, scheduler=sch, unet_kwargs={"encoder_hidden_states": ehs}, n_samples=4,
                               batch_size=4)[0]
    assert np.isfinite(e.R.value) and np.isfinite(e.I_score.value) and e.R.stderr > 0


def test_unet_bad_inputs(unet, sched):
    x = torch.randn(4, 1, 8, 8)
    with pytest.raises(TypeError, match="scheduler"):
        fisher_information(unet, x, 1.0)
    with pytest.raises(ValueError, match="prediction_type"):
        fisher_information(unet, x, 1.0, scheduler=sched, prediction_type="flow")
    with pytest.raises(ValueError, match="data samples have shape"):
        fisher_information(unet, torch.randn(4, 3, 8, 8), 1.0, scheduler=sched)
    with pytest.raises(ValueError, match="scheduler's range"):
        fisher_information(unet, x, 1e9, scheduler=sched)
