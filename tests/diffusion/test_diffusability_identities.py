"""Every identity of the diagnostics (docs/diffusability.md), numerically, on Gaussian mixtures with exact score and Hessian.

The score/Hessian are taken by autograd of log p_τ (log-sum-exp), independently of the
closed-form mixture score, and the posterior moments by Bayes' rule over components.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from statgeo.diffusion.diffusability import GaussianMixture  # noqa: E402

MEANS = [[0.0, 0.0], [2.0, 1.0], [-1.5, 2.0]]
W = [0.5, 0.3, 0.2]


@pytest.fixture(scope="module")
def gmm():
    return GaussianMixture(MEANS, W, component_variance=0.3)


def _autograd_score_hessian(g, y, tau):
    from torch.func import grad, hessian, vmap

    lp = lambda a: g.log_prob(a[None], tau)[0]  # noqa: E731
    return vmap(grad(lp))(y), vmap(hessian(lp))(y)


@pytest.mark.parametrize("tau", [0.05, 0.7, 3.0])
def test_tweedie(gmm, tau):
    """E[x|y] = y + τ s(y) and Cov[x|y] = τ I + τ² H(y), pointwise."""
    y = torch.randn(64, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2
    s, H = _autograd_score_hessian(gmm, y, tau)
    torch.testing.assert_close(gmm.score(y, tau), s, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(gmm.hessian(y, tau), H, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(gmm.posterior_mean(y, tau), y + tau * s, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(gmm.posterior_covariance(y, tau), tau * torch.eye(2, dtype=y.dtype) + tau**2 * H,
                               rtol=1e-9, atol=1e-9)


def _joint(g, tau, n, seed):
    gen = torch.Generator().manual_seed(seed)
    x = g.sample(n, gen)
    y = x + math.sqrt(tau) * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    return x, y


def _zmean(v):
    v = np.asarray(v, dtype=float)
    return v.mean() / (v.std(ddof=1) / math.sqrt(len(v)))


@pytest.mark.parametrize("tau", [0.1, 1.0])
def test_fisher_two_forms_and_mmse(gmm, tau):
    """I = E‖s‖² = −E tr H, and MMSE = E‖x − E[x|y]‖² = τD − τ²I (within 4 standard errors)."""
    x, y = _joint(gmm, tau, 20000, seed=2)
    s, H = gmm.score(y, tau), gmm.hessian(y, tau)
    a = (s**2).sum(1).numpy()
    b = -torch.diagonal(H, dim1=1, dim2=2).sum(1).numpy()
    assert abs(_zmean(a - b)) < 4
    err2 = ((x - gmm.posterior_mean(y, tau)) ** 2).sum(1).numpy()
    assert abs(_zmean(err2 - (tau * 2 - tau**2 * a))) < 4
    # and the MC helper agrees with the pieces above
    f = gmm.fisher_mc(tau, 20000, seed=3)
    assert abs(f["I"].mean - f["I_trace"].mean) < 4 * math.hypot(f["I"].error, f["I_trace"].error)


@pytest.mark.parametrize("tau", [0.1, 1.0])
def test_mmse_rate_is_jacobian_norm_of_posterior_mean(gmm, tau):
    """dMMSE/dτ = D − 2τI − τ²R = E‖∇_y E[x|y]‖²_F with R = −E‖H‖²_F (Bayes jacobian by autograd)."""
    from torch.func import jacrev, vmap

    _, y = _joint(gmm, tau, 4000, seed=4)
    J = vmap(jacrev(lambda a: gmm.posterior_mean(a[None], tau)[0]))(y)
    s, H = gmm.score(y, tau), gmm.hessian(y, tau)
    lhs = (J**2).sum((1, 2)).numpy()
    R_per_sample = -(H**2).sum((1, 2))
    rhs = (2 - 2 * tau * (s**2).sum(1) - tau**2 * R_per_sample).numpy()
    assert abs(_zmean(lhs - rhs)) < 4
    assert lhs.mean() >= 0


def test_rate_equals_derivative_of_exact_I_1d():
    """R = −E‖H‖²_F equals dI/dτ: deterministic y-grid integrals on a 1-D mixture, FD of I."""
    g = GaussianMixture([[-1.0], [0.5], [2.0]], [0.3, 0.5, 0.2], component_variance=0.05)
    ys = torch.linspace(-12, 14, 40001, dtype=torch.float64)[:, None]
    h = float(ys[1, 0] - ys[0, 0])

    def I_R(tau):
        p = torch.exp(g.log_prob(ys, tau))
        s = g.score(ys, tau)[:, 0]
        H = g.hessian(ys, tau)[:, 0, 0]
        return float((p * s**2).sum() * h), float(-(p * H**2).sum() * h)

    for tau in (0.02, 0.3, 2.0):
        dt = 1e-4 * tau
        fd = (I_R(tau + dt)[0] - I_R(tau - dt)[0]) / (2 * dt)
        I, R = I_R(tau)
        assert R < 0
        assert R == pytest.approx(fd, rel=1e-6)
