"""The models' exact-likelihood posteriors for chosen origins are those rows of the full result."""

from __future__ import annotations

import numpy as np
import pytest

from statgeo.models import IsingModel, TasepModel


def _ising():
    m = IsingModel(4)
    g = m.natural_grid(K=(0.2, 0.6, 3), eta=(-0.2, 0.2, 3))
    return m, g, m.sample(g, 8, seed=0, progress=False)


def _tasep(N):
    m = TasepModel(N)
    g = m.natural_grid(theta_alpha=(0.2, 1.5, 3), theta_beta=(0.2, 1.5, 3))
    return m, g, m.sample(g, 8, seed=0)


@pytest.mark.parametrize("make", [_ising, lambda: _tasep(6), lambda: _tasep(20)],
                         ids=["ising", "tasep_enumerated", "tasep_per_sample"])
@pytest.mark.parametrize("average", [True, False])
def test_rows_for_chosen_origins_equal_the_full_rows(make, average):
    m, g, samples = make()
    full = m.exact_posterior(samples, g, 4, seed=5, average=average)
    use = np.array([8, 0, 4])  # any order; repeats of the full rows' labels in that order
    sub = m.exact_posterior(samples, g, 4, seed=5, average=average, origins=use)
    per = 1 if average else 2
    assert sub.sizes["origin"] == use.size * per
    np.testing.assert_array_equal(sub["origin"].values, np.repeat(use, per))
    for k, o in enumerate(use):
        np.testing.assert_allclose(sub.values[k * per:(k + 1) * per], full.values[o * per:(o + 1) * per],
                                   rtol=1e-12, atol=1e-15)
