"""Tests of validation/latent_diffusability/statistics.py: Fréchet distance, class balance and the
bootstrap interval of Spearman's rank correlation.

Closed forms are checked on samples built to have *exactly* prescribed sample moments (a
whitened Gaussian draw, then scaled), so the comparison is to rounding error, not to sampling
noise. The one sampling comparison (Fréchet distance against the population value) uses a
tolerance stated in standard errors measured from independent replicates.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from validation.latent_diffusability.statistics import (
    class_balance,
    frechet_distance,
    spearman_bootstrap,
)

try:  # the contract asks for one torch thread in tests; this module does not use torch
    import torch

    torch.set_num_threads(1)
except Exception:  # pragma: no cover - torch is optional
    pass

FAST = settings(max_examples=40, deadline=None)


def random_orthogonal(rng, k):
    q, r = np.linalg.qr(rng.normal(size=(k, k)))
    return q * np.sign(np.diag(r))


def with_moments(rng, n, mean, cov_root):
    """n rows whose sample mean is ``mean`` and sample covariance (ddof=1) is ``cov_root @ cov_root.T``."""
    k = len(mean)
    z = rng.normal(size=(n, k))
    z -= z.mean(axis=0)
    chol = np.linalg.cholesky(z.T @ z / (n - 1))
    z = np.linalg.solve(chol, z.T).T  # sample covariance exactly I (to rounding)
    return z @ np.asarray(cov_root).T + np.asarray(mean)


def fid_sqrtm(mu_a, cov_a, mu_b, cov_b):
    """The textbook formula with scipy's general matrix square root of Σ_a Σ_b (an independent route)."""
    cross = scipy.linalg.sqrtm(cov_a @ cov_b)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(cross).real)


# --- Fréchet distance -------------------------------------------------------------------------

@pytest.mark.parametrize("n,k", [(50, 1), (200, 5), (10, 30)])  # (10, 30): singular covariance
def test_frechet_distance_of_a_sample_with_itself_is_zero(n, k):
    x = np.random.default_rng(n + k).normal(size=(n, k)) * 3.0 + 1.0
    assert abs(frechet_distance(x, x)) <= 1e-9


def test_frechet_distance_diagonal_covariances_closed_form():
    rng = np.random.default_rng(1)
    mu_a, mu_b = np.array([0.0, 1.0, -2.0, 0.5]), np.array([1.0, 1.0, 0.0, -0.5])
    var_a, var_b = np.array([1.0, 4.0, 0.25, 2.0]), np.array([9.0, 1.0, 0.25, 0.5])
    a = with_moments(rng, 300, mu_a, np.diag(np.sqrt(var_a)))
    b = with_moments(rng, 500, mu_b, np.diag(np.sqrt(var_b)))
    exact = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(exact, rel=1e-10)


def test_frechet_distance_one_feature_is_mean_and_sd_difference():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0.0, 1.0, (40, 1)), rng.normal(0.7, 2.0, (60, 1))
    exact = (a.mean() - b.mean()) ** 2 + (a.std(ddof=1) - b.std(ddof=1)) ** 2
    assert frechet_distance(a, b) == pytest.approx(exact, rel=1e-10)


def test_frechet_distance_commuting_covariances_closed_form():
    rng = np.random.default_rng(3)
    k = 6
    q = random_orthogonal(rng, k)
    lam_a, lam_b = rng.uniform(0.1, 3.0, k), rng.uniform(0.1, 3.0, k)
    mu_a, mu_b = rng.normal(size=k), rng.normal(size=k)
    a = with_moments(rng, 400, mu_a, q * np.sqrt(lam_a))  # covariance Q diag(λ_a) Qᵀ
    b = with_moments(rng, 250, mu_b, q * np.sqrt(lam_b))
    exact = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(lam_a) - np.sqrt(lam_b)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(exact, rel=1e-9)


def test_frechet_distance_matches_sqrtm_formula_for_general_covariances():
    rng = np.random.default_rng(4)
    k = 5
    a = rng.normal(size=(300, k)) @ rng.normal(size=(k, k)) + 1.0
    b = rng.normal(size=(200, k)) @ rng.normal(size=(k, k))
    expected = fid_sqrtm(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_is_symmetric_and_invariant_to_rotation_and_translation():
    rng = np.random.default_rng(5)
    k = 7
    a = rng.normal(size=(120, k)) @ rng.normal(size=(k, k))
    b = rng.normal(size=(90, k)) * rng.uniform(0.5, 2.0, k) + 0.3
    d = frechet_distance(a, b)
    assert d > 0.1
    assert frechet_distance(b, a) == pytest.approx(d, rel=1e-10)
    q, t = random_orthogonal(rng, k), rng.normal(size=k) * 5.0
    assert frechet_distance(a @ q.T + t, b @ q.T + t) == pytest.approx(d, rel=1e-8)


def test_frechet_distance_estimates_the_population_value():
    """Mean of R independent estimates vs the population d², within 4 standard errors + bias.

    The estimator's bias is O(k/n) (e.g. E‖μ̂_a − μ̂_b‖² = ‖μ_a − μ_b‖² + tr Σ_a/n + tr Σ_b/n);
    with k = 3, n = 20000 it is below 1e-3 relative, bounded generously by ``bias`` below, well
    under the standard error of the mean of R = 20 estimates (measured from the replicates
    themselves, ≈ 0.3 % of d²). Over seeds 1-6 the deviation was within 2.3 standard errors.
    """
    rng = np.random.default_rng(6)
    k, n, reps = 3, 20_000, 20
    mu_a, mu_b = np.zeros(k), np.array([1.0, -0.5, 0.25])
    root_a = np.diag([1.0, 0.5, 2.0])
    root_b = random_orthogonal(rng, k) @ np.diag([1.5, 1.0, 0.3])  # does not commute with Σ_a
    cov_a, cov_b = root_a @ root_a.T, root_b @ root_b.T
    population = fid_sqrtm(mu_a, cov_a, mu_b, cov_b)
    est = np.array([frechet_distance(rng.normal(size=(n, k)) @ root_a.T + mu_a,
                                     rng.normal(size=(n, k)) @ root_b.T + mu_b) for _ in range(reps)])
    se = est.std(ddof=1) / math.sqrt(reps)
    bias = 2.0 * k * (np.trace(cov_a) + np.trace(cov_b)) / n  # ≈ 0.003, about 0.2 se
    assert se < 0.01 * population  # the check is sharp: 4 se is a few percent of d²
    assert abs(est.mean() - population) <= 4.0 * se + bias


# --- class balance ----------------------------------------------------------------------------

@pytest.mark.parametrize("labels,k,fractions,tv", [
    ([0, 0, 1, 2], 4, [0.5, 0.25, 0.25, 0.0], 0.25),
    ([0, 1, 1, 1, 2, 2], 3, [1 / 6, 1 / 2, 1 / 3], 1 / 6),
    (list(range(10)) * 3, 10, [0.1] * 10, 0.0),
    ([7] * 5, 10, [0.0] * 7 + [1.0] + [0.0] * 2, 0.9),
])
def test_class_balance_exact_values(labels, k, fractions, tv):
    r = class_balance(np.array(labels, dtype=np.uint8), n_classes=k)
    assert r["class_fractions"] == pytest.approx(fractions, abs=1e-15)
    assert r["class_balance_tv"] == pytest.approx(tv, abs=1e-15)
    assert r["class_fraction_min"] == pytest.approx(min(fractions), abs=1e-15)
    assert r["class_fraction_max"] == pytest.approx(max(fractions), abs=1e-15)
    assert set(r) == {"class_fractions", "class_balance_tv", "class_fraction_min", "class_fraction_max"}


@FAST
@given(k=st.integers(2, 20), data=st.data())
def test_class_balance_properties(k, data):
    labels = data.draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=60))
    r = class_balance(labels, n_classes=k)
    f = np.array(r["class_fractions"])
    assert len(f) == k and f.sum() == pytest.approx(1.0, abs=1e-12)
    assert -1e-15 <= r["class_balance_tv"] <= 1.0 - 1.0 / k + 1e-12
    # TV = 1 − Σ_c min(f_c, 1/K), an independent identity for the total variation distance
    assert r["class_balance_tv"] == pytest.approx(1.0 - np.minimum(f, 1.0 / k).sum(), abs=1e-12)
    assert f.tolist() == pytest.approx(np.bincount(labels, minlength=k) / len(labels))


# --- Spearman bootstrap -----------------------------------------------------------------------

def test_spearman_point_value_is_scipy_spearmanr_of_seed_means():
    rng = np.random.default_rng(7)
    d = rng.normal(size=(12, 3))
    q = 0.5 * d + rng.normal(size=(12, 3))
    r = spearman_bootstrap(d, q, n_boot=50)
    assert r["value"] == stats.spearmanr(d.mean(1), q.mean(1)).statistic
    assert (r["n_encoders"], r["n_seeds"], r["n_boot"]) == (12, 3, 50)


def test_spearman_interval_matches_a_loop_over_the_documented_resampling():
    rng = np.random.default_rng(8)
    d = np.round(rng.normal(size=(8, 4)), 1)  # rounding makes ties: average ranks are exercised
    q = np.round(d + rng.normal(size=(8, 4)), 1)
    n_boot, level, seed = 300, 0.9, 11
    r = spearman_bootstrap(d, q, n_boot=n_boot, level=level, seed=seed)
    g = np.random.default_rng(seed)
    enc = g.integers(0, 8, size=(n_boot, 8))
    sd = g.integers(0, 4, size=(n_boot, 8))
    vals, skipped = [], 0
    for e, s in zip(enc, sd):
        x, y = d[e, s], q[e, s]
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            skipped += 1
            continue
        vals.append(stats.spearmanr(x, y).statistic)
    lo, hi = np.quantile(vals, [0.05, 0.95])
    assert r["n_skipped"] == skipped
    assert r["interval"] == pytest.approx([lo, hi], abs=1e-12)


def test_spearman_monotone_relations_give_plus_and_minus_one():
    rng = np.random.default_rng(9)
    d = np.arange(10.0)[:, None] + 0.5 * rng.uniform(size=(10, 3))  # encoders separated, seeds vary
    up = spearman_bootstrap(d, np.exp(d), n_boot=500)
    down = spearman_bootstrap(d, -(d**3), n_boot=500)
    assert up["value"] == pytest.approx(1.0, abs=1e-12)
    assert up["interval"] == pytest.approx([1.0, 1.0], abs=1e-12)
    assert down["value"] == pytest.approx(-1.0, abs=1e-12)
    assert down["interval"] == pytest.approx([-1.0, -1.0], abs=1e-12)


def test_spearman_independent_noise_interval_contains_zero():
    rng = np.random.default_rng(10)
    d, q = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    r = spearman_bootstrap(d, q, n_boot=2000, seed=0)
    lo, hi = r["interval"]
    assert lo < 0.0 < hi
    assert lo <= r["value"] <= hi
    assert hi - lo > 0.3  # 30 encoders: the sd of ρ under independence is about 1/√29 ≈ 0.19


def test_spearman_nested_levels_and_one_dimensional_input():
    rng = np.random.default_rng(12)
    d = rng.normal(size=15)
    q = d + rng.normal(size=15)
    r90 = spearman_bootstrap(d, q, level=0.9, n_boot=400)
    r99 = spearman_bootstrap(d, q, level=0.99, n_boot=400)
    assert r99["interval"][0] <= r90["interval"][0] <= r90["interval"][1] <= r99["interval"][1]
    assert r90["n_seeds"] == 1
    assert spearman_bootstrap(d[:, None], q[:, None], level=0.9, n_boot=400) == r90
    assert r90["value"] == stats.spearmanr(d, q).statistic


def test_spearman_undefined_cases_are_nan():
    rng = np.random.default_rng(13)
    q = rng.normal(size=(6, 2))
    const = spearman_bootstrap(np.full((6, 2), 3.0), q, n_boot=100)
    assert math.isnan(const["value"]) and all(math.isnan(v) for v in const["interval"])
    assert const["n_skipped"] == 100
    one = spearman_bootstrap([[1.0, 2.0]], [[3.0, 1.0]], n_boot=20)
    assert math.isnan(one["value"]) and one["n_skipped"] == 20 and one["n_encoders"] == 1


def test_spearman_is_deterministic_given_the_seed():
    rng = np.random.default_rng(14)
    d, q = rng.normal(size=(10, 3)), rng.normal(size=(10, 3))
    assert spearman_bootstrap(d, q, seed=5, n_boot=300) == spearman_bootstrap(d, q, seed=5, n_boot=300)
    assert spearman_bootstrap(d, q, seed=5, n_boot=300)["interval"] != \
        spearman_bootstrap(d, q, seed=6, n_boot=300)["interval"]


# --- bad input --------------------------------------------------------------------------------

def refuses(fn, name, *args, **kwargs):
    with pytest.raises((TypeError, ValueError)) as err:
        fn(*args, **kwargs)
    assert name in str(err.value), str(err.value)


GOOD = np.random.default_rng(15).normal(size=(5, 3))

bad_features = st.sampled_from([
    np.zeros(5), np.zeros((5, 3, 1)), np.zeros((1, 3)), np.array([["a"] * 3] * 5),
    np.full((5, 3), np.nan), np.full((5, 3), np.inf), np.zeros((5, 3), complex), None, np.zeros((0, 3)),
])


@FAST
@given(bad=bad_features, which=st.sampled_from(["features_a", "features_b"]))
def test_frechet_distance_refuses_bad_features(bad, which):
    kwargs = {"features_a": GOOD, "features_b": GOOD, which: bad}
    refuses(frechet_distance, which, **kwargs)


@FAST
@given(k=st.integers(1, 6).filter(lambda k: k != 3))
def test_frechet_distance_refuses_mismatched_features(k):
    refuses(frechet_distance, "features_b", GOOD, np.zeros((4, k)))


@FAST
@given(bad=st.one_of(
    st.lists(st.integers(10, 1000), min_size=1, max_size=5),  # above n_classes - 1
    st.lists(st.integers(-1000, -1), min_size=1, max_size=5),
    st.lists(st.floats(0, 9), min_size=1, max_size=5),
    st.sampled_from([[], [[0, 1]], "012", None, [True, False]]),
))
def test_class_balance_refuses_bad_labels(bad):
    refuses(class_balance, "labels", bad, n_classes=10)


@FAST
@given(bad=st.one_of(st.integers(max_value=1), st.floats(allow_nan=True), st.sampled_from([None, "10", True])))
def test_class_balance_refuses_bad_n_classes(bad):
    refuses(class_balance, "n_classes", [0, 1], n_classes=bad)


bad_tables = st.sampled_from([
    np.zeros((4, 2, 2)), np.zeros(()), np.array([[np.nan, 1.0]] * 4), np.array([[np.inf, 1.0]] * 4),
    np.zeros((0, 2)), np.array([["x", "y"]] * 4), None,
])


@FAST
@given(bad=bad_tables, which=st.sampled_from(["diagnostic", "quality"]))
def test_spearman_refuses_bad_tables(bad, which):
    kwargs = {"diagnostic": np.zeros((4, 2)), "quality": np.ones((4, 2)), which: bad}
    refuses(spearman_bootstrap, which, **kwargs)


@FAST
@given(shape=st.tuples(st.integers(1, 6), st.integers(1, 4)).filter(lambda s: s != (4, 2)))
def test_spearman_refuses_mismatched_shapes(shape):
    with pytest.raises(ValueError) as err:
        spearman_bootstrap(np.zeros((4, 2)), np.zeros(shape))
    assert "diagnostic" in str(err.value) and "quality" in str(err.value)


@FAST
@given(n_boot=st.one_of(st.integers(max_value=0), st.integers(min_value=10**6 + 1),
                        st.floats(1, 100), st.sampled_from([None, "10", True])))
def test_spearman_refuses_bad_n_boot(n_boot):
    refuses(spearman_bootstrap, "n_boot", GOOD, GOOD, n_boot=n_boot)


@FAST
@given(level=st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0), st.just(float("nan")),
                       st.sampled_from([None, "0.9", [0.9, 0.95]])))
def test_spearman_refuses_bad_level(level):
    refuses(spearman_bootstrap, "level", GOOD, GOOD, level=level)


@FAST
@given(seed=st.one_of(st.integers(max_value=-1), st.floats(0, 10), st.sampled_from([None, "0"])))
def test_spearman_refuses_bad_seed(seed):
    refuses(spearman_bootstrap, "seed", GOOD, GOOD, seed=seed)
