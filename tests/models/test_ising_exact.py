"""Cross-checks of the exact Ising references (docs/ising_exact.md, "Which method where").

Every exact method is checked against an independent one:
brute-force loops (in this file) → enumeration counts; enumeration ↔ Kaufman (h = 0);
enumeration ↔ transfer matrix (h ≠ 0, gradient and Hessian); transfer matrix ↔ Kaufman
(L ≤ 12, h = 0); Kaufman ↔ high-precision (mpmath) evaluation of the naive formula;
Kaufman/N → Onsager; c(T_c, L) against Ferdinand–Fisher; Onsager c = −K² du/dK.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import xarray as xr

from statgeo.grid import ParameterGrid
from statgeo.coordinates import ising_temperature_field_map
from statgeo.models.exact.ising import (
    K_C,
    T_C,
    IsingDensityOfStates,
    ising_exact,
    kaufman_log_z,
    kaufman_thermo,
    onsager_energy_per_site,
    onsager_log_z_per_site,
    onsager_magnetisation,
    onsager_specific_heat_per_site,
    transfer_matrix_log_z,
    transfer_matrix_thermo,
)

# couplings on both sides of K_c (K_C itself included)
K_SIDES = np.array([0.05, 0.2, 0.35, 0.42, K_C, 0.46, 0.55, 0.8, 1.2])


def rel(a, b):
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    return np.max(np.abs(a - b) / np.abs(b))


# --------------------------------------------------------------------------- brute force
def brute_force_counts(L: int) -> dict[tuple[int, int], int]:
    """g(B, M) by explicit loops over every configuration and every bond (independent code)."""
    counts: dict[tuple[int, int], int] = {}
    for conf in itertools.product((-1, 1), repeat=L * L):
        B = 0
        M = 0
        for y in range(L):
            for x in range(L):
                s = conf[y * L + x]
                M += s
                B += s * conf[y * L + (x + 1) % L]      # right neighbour
                B += s * conf[((y + 1) % L) * L + x]    # down neighbour
        counts[(B, M)] = counts.get((B, M), 0) + 1
    return counts


@pytest.mark.parametrize("L", [2, 3])
def test_enumeration_counts_match_brute_force_loops(L):
    dos = IsingDensityOfStates.from_enumeration(L)
    got = {(int(b), int(m)): int(g) for b, m, g in zip(dos.B, dos.M, dos.counts)}
    assert got == brute_force_counts(L)


@pytest.mark.parametrize("L", [2, 3, 4, 5])
def test_enumeration_counts_basic_identities(L):
    dos = IsingDensityOfStates.from_enumeration(L)
    N = L * L
    assert dos.counts.dtype == np.int64
    assert int(dos.counts.sum()) == 2**N
    # ground states: all up / all down, B = 2N, M = ±N
    assert {(int(b), int(m)): int(g) for b, m, g in zip(dos.B, dos.M, dos.counts) if b == 2 * N} == {(2 * N, N): 1, (2 * N, -N): 1}
    # spin-flip symmetry g(B, M) = g(B, −M)
    table = {(int(b), int(m)): int(g) for b, m, g in zip(dos.B, dos.M, dos.counts)}
    assert all(table[(b, -m)] == g for (b, m), g in table.items())
    # cached: same arrays on the second call
    assert IsingDensityOfStates.from_enumeration(L).counts is dos.counts


def test_enumeration_thermo_matches_direct_sums_L3():
    """log Z, gradient and Hessian against direct Boltzmann sums over the brute-force table."""
    table = brute_force_counts(3)
    B = np.array([k[0] for k in table], float)
    M = np.array([k[1] for k in table], float)
    g = np.array(list(table.values()), float)
    dos = IsingDensityOfStates.from_enumeration(3)
    for K, eta in [(0.3, 0.1), (0.7, -0.4), (-0.2, 0.05)]:
        w = g * np.exp(K * B + eta * M)
        Z = w.sum()
        p = w / Z
        mB, mM = p @ B, p @ M
        cov = np.array([[p @ (B - mB) ** 2, p @ ((B - mB) * (M - mM))],
                        [p @ ((B - mB) * (M - mM)), p @ (M - mM) ** 2]])
        assert dos.log_z(K, eta) == pytest.approx(math.log(Z), rel=1e-14)
        np.testing.assert_allclose(dos.gradient(K, eta), [mB, mM], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dos.hessian(K, eta), cov, rtol=1e-11, atol=1e-12)


# --------------------------------------------------------------------------- Kaufman vs enumeration
@pytest.mark.parametrize("L", [2, 3, 4, 5])
def test_kaufman_equals_enumeration(L):
    dos = IsingDensityOfStates.from_enumeration(L)
    lz, grad, hess = dos.thermo(K_SIDES, 0.0)
    kz, kb, kv = kaufman_thermo(K_SIDES, L)
    assert rel(kz, lz) < 1e-14
    assert rel(kb, grad[:, 0]) < 1e-12
    assert rel(kv, hess[:, 0, 0]) < 1e-11
    # log Z only path gives identical numbers
    np.testing.assert_array_equal(kaufman_log_z(K_SIDES, L), kz)


def test_kaufman_var_b_at_large_coupling_is_small_in_absolute_terms():
    """At large K, Var(B) ~ e^{-8K} is exponentially small; the analytic formula keeps an
    absolute accuracy far below 1e-12 N there (documented relative loss)."""
    K = np.array([2.0, 3.0, 4.0, 5.0])
    for L in (3, 4, 5):
        hess = IsingDensityOfStates.from_enumeration(L).hessian(K, 0.0)[:, 0, 0]
        kv = kaufman_thermo(K, L)[2]
        assert np.all(np.abs(kv - hess) < 1e-12 * L * L)


@pytest.mark.parametrize("L", [4, 5, 8])
def test_kaufman_small_coupling_has_no_1_over_K_cancellation(L):
    """K → 0: N coth 2K and −2N/sinh² 2K cancel analytically in the high-temperature form;
    Var(B) → 2N (independent bonds) keeps full relative precision."""
    K = np.array([1e-8, 1e-6, 1e-3, 0.01, 0.1, 0.1999, 0.2, 0.2001])
    if L <= 5:
        _, grad, hess = IsingDensityOfStates.from_enumeration(L).thermo(K, 0.0)
    else:
        _, grad, hess = transfer_matrix_thermo(K, 0.0, L)
    _, kb, kv = kaufman_thermo(K, L)
    assert rel(kv, hess[:, 0, 0]) < 1e-13
    assert np.all(np.abs(kb - grad[:, 0]) < 1e-14 * L * L)   # ⟨B⟩ ~ 2N K: absolute accuracy
    assert float(kv[0]) == pytest.approx(2 * L * L, rel=1e-7)


# --------------------------------------------------------------------------- transfer matrix
@pytest.mark.parametrize("L", [2, 3, 4, 5])
def test_transfer_matrix_equals_enumeration_with_field(L):
    rng = np.random.default_rng(1234 + L)
    K = np.r_[rng.uniform(-0.6, 1.2, 12), K_C, 2.0]
    eta = np.r_[rng.uniform(-0.8, 0.8, 12), 0.0, 0.3]
    lz, grad, hess = IsingDensityOfStates.from_enumeration(L).thermo(K, eta)
    tz, tg, th = transfer_matrix_thermo(K, eta, L)
    assert rel(tz, lz) < 1e-13
    np.testing.assert_allclose(transfer_matrix_log_z(K, eta, L), lz, rtol=1e-13)
    scale_g = np.abs(grad).max(axis=-1, keepdims=True)
    assert np.max(np.abs(tg - grad) / scale_g) < 1e-13
    # Hessian: relative to the largest entry at each point (entries can vanish by symmetry)
    scale_h = np.abs(hess).max(axis=(-2, -1), keepdims=True)
    assert np.max(np.abs(th - hess) / scale_h) < 1e-10


@pytest.mark.parametrize("L", [6, 7, 8, 9])
def test_transfer_matrix_equals_kaufman_at_zero_field(L):
    tz, tg, th = transfer_matrix_thermo(K_SIDES, 0.0, L)
    kz, kb, kv = kaufman_thermo(K_SIDES, L)
    assert rel(tz, kz) < 1e-13
    assert rel(tg[:, 0], kb) < 1e-12
    assert rel(th[:, 0, 0], kv) < 1e-10
    # at h = 0: <M> = 0 and Cov(B, M) = 0 by symmetry, Var(M) > 0
    assert np.all(np.abs(tg[:, 1]) < 1e-10 * L * L)
    assert np.all(np.abs(th[:, 0, 1]) < 1e-9 * th[:, 1, 1])
    assert np.all(th[:, 1, 1] > 0)


@pytest.mark.parametrize("L", [10, 11, 12])
def test_transfer_matrix_log_z_equals_kaufman_large_rows(L):
    K = np.array([0.3, K_C, 0.6])
    assert rel(transfer_matrix_log_z(K, 0.0, L), kaufman_log_z(K, L)) < 1e-13


def test_transfer_matrix_thermo_equals_kaufman_L10():
    K = np.array([0.35, K_C, 0.7])
    tz, tg, th = transfer_matrix_thermo(K, 0.0, 10)
    kz, kb, kv = kaufman_thermo(K, 10)
    assert rel(tz, kz) < 1e-13
    assert rel(tg[:, 0], kb) < 1e-12
    assert rel(th[:, 0, 0], kv) < 1e-10


def test_transfer_matrix_thermo_equals_kaufman_L12():
    K = np.array([K_C])
    tz, tg, th = transfer_matrix_thermo(K, 0.0, 12)
    kz, kb, kv = kaufman_thermo(K, 12)
    assert rel(tz, kz) < 1e-13
    assert rel(tg[:, 0], kb) < 1e-12
    assert rel(th[:, 0, 0], kv) < 1e-10


@pytest.mark.parametrize("method", ["enumeration", "transfer_matrix"])
def test_symmetries_even_in_eta_and_psd_hessian(method):
    L = 4
    rng = np.random.default_rng(7)
    K = rng.uniform(0.05, 1.0, 10)
    eta = rng.uniform(0.01, 0.7, 10)
    if method == "enumeration":
        dos = IsingDensityOfStates.from_enumeration(L)
        f = dos.thermo
    else:
        def f(k, e):
            return transfer_matrix_thermo(k, e, L)
    zp, gp, hp = f(K, eta)
    zm, gm, hm = f(K, -eta)
    np.testing.assert_allclose(zp, zm, rtol=1e-14)                  # ln Z even in η
    np.testing.assert_allclose(gp[:, 0], gm[:, 0], rtol=1e-12)      # <B> even
    np.testing.assert_allclose(gp[:, 1], -gm[:, 1], rtol=1e-12)     # <M> odd
    np.testing.assert_allclose(hp[:, 0, 1], -hm[:, 0, 1], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(hp, np.swapaxes(hp, -1, -2))      # symmetric
    assert np.all(np.linalg.eigvalsh(hp) > 0)                        # positive definite
    # gradient is the derivative of ln Z (Richardson-extrapolated central differences)
    h = 1e-3
    for a in range(2):
        e = np.zeros(2)
        e[a] = h
        d1 = (f(K + e[0], eta + e[1])[0] - f(K - e[0], eta - e[1])[0]) / (2 * h)
        d2 = (f(K + 2 * e[0], eta + 2 * e[1])[0] - f(K - 2 * e[0], eta - 2 * e[1])[0]) / (4 * h)
        np.testing.assert_allclose((4 * d1 - d2) / 3, gp[:, a], rtol=1e-9)


# --------------------------------------------------------------------------- Kaufman at large L
def _kaufman_mp(K: float, L: int, dps: int = 60):
    """The naive Kaufman sum in high precision (independent of the log-space evaluation)."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp
    with mpmath.workdps(max(dps, mp.dps)):  # never lower the precision of a caller (mpmath.diff)
        K = mpmath.mpf(K)
        c2, s2 = mpmath.cosh(2 * K), mpmath.sinh(2 * K)
        base = c2 * c2 / s2

        def gam(l):
            if l == 0:
                return 2 * K + mpmath.log(mpmath.tanh(K))
            return mpmath.acosh(base - mpmath.cos(mp.pi * l / L))

        go = [gam(2 * r + 1) * L / 2 for r in range(L)]
        ge = [gam(2 * r) * L / 2 for r in range(L)]
        Z1 = mpmath.fprod(2 * mpmath.cosh(x) for x in go)
        Z2 = mpmath.fprod(2 * mpmath.sinh(x) for x in go)
        Z3 = mpmath.fprod(2 * mpmath.cosh(x) for x in ge)
        Z4 = mpmath.fprod(2 * mpmath.sinh(x) for x in ge)
        return mpmath.log(mpmath.mpf(1) / 2) + (L * L) * mpmath.log(2 * s2) / 2 + mpmath.log(Z1 + Z2 + Z3 + Z4)


@pytest.mark.parametrize("L", [256, 1024])
def test_kaufman_matches_high_precision_below_and_above_kc(L):
    K = [0.2, 0.4, K_C, 0.48, 0.9]
    exact = np.array([float(_kaufman_mp(k, L)) for k in K])
    assert rel(kaufman_log_z(np.array(K), L), exact) < 1e-14


def test_kaufman_derivatives_match_high_precision_differentiation():
    mpmath = pytest.importorskip("mpmath")
    for L, K in [(64, 0.2), (64, K_C), (64, 0.6), (256, 0.3), (256, K_C), (256, 0.5)]:
        with mpmath.workdps(50):
            f = lambda k: _kaufman_mp(k, L, dps=50)  # noqa: E731
            d1 = float(mpmath.diff(f, mpmath.mpf(K), 1))
            d2 = float(mpmath.diff(f, mpmath.mpf(K), 2))
        _, mB, vB = kaufman_thermo(K, L)
        assert float(mB) == pytest.approx(d1, rel=1e-14)
        assert float(vB) == pytest.approx(d2, rel=1e-12)


@pytest.mark.parametrize("L", [256, 512])
def test_naive_double_precision_sum_loses_z3_plus_z4_but_log_form_does_not(L):
    """Below K_c, Z₄ < 0 and Z₃ + Z₄ is a difference of nearly equal numbers: in double
    precision (products scaled by a common factor to avoid overflow) it is pure rounding
    noise — it can come out negative, which breaks the naive ln ΣZ once Z₃ + Z₄ dominates.
    The log-space evaluation matches the 50-digit value."""
    mpmath = pytest.importorskip("mpmath")
    K = 0.3
    s = math.sinh(2 * K)
    base = math.cosh(2 * K) ** 2 / s
    l = np.arange(2 * L)
    g = np.arccosh(base - np.cos(np.pi * l / L))
    g[0] = 2 * K + math.log(math.tanh(K))
    xe = L * g[0::2] / 2
    assert xe[0] < 0  # γ₀ < 0 above T_c, so Z₄ < 0
    scale = np.sum(np.abs(xe))
    z3 = np.exp(np.sum(np.log(2 * np.cosh(xe))) - scale)
    z4 = -np.exp(np.sum(np.log(np.abs(2 * np.sinh(xe)))) - scale)
    # Z₃ + Z₄ ≈ Z₃ · 2e^{−L|γ₀|}: enough digits to resolve it
    with mpmath.workdps(int(L * abs(g[0]) / math.log(10)) + 40):
        k = mpmath.mpf(K)
        base_mp = mpmath.cosh(2 * k) ** 2 / mpmath.sinh(2 * k)
        xe_mp = [L * (2 * k + mpmath.log(mpmath.tanh(k))) / 2]
        xe_mp += [L * mpmath.acosh(base_mp - mpmath.cos(mpmath.pi * 2 * r / L)) / 2 for r in range(1, L)]
        true = mpmath.fprod(2 * mpmath.cosh(x) for x in xe_mp) + mpmath.fprod(2 * mpmath.sinh(x) for x in xe_mp)
        true_scaled = float(true / mpmath.exp(mpmath.fsum(abs(x) for x in xe_mp)))
    # the true scaled Z₃ + Z₄ is far below the double-precision rounding of z3
    assert 0 < true_scaled < 1e-30
    assert abs((z3 + z4) - true_scaled) >= 0.5 * true_scaled  # no correct digit (here: exactly 0)
    exact = float(_kaufman_mp(K, L))
    assert float(kaufman_log_z(K, L)) == pytest.approx(exact, rel=1e-15)


def test_kaufman_L4096_stable_monotone_and_onsager():
    L = 4096
    N = L * L
    K = np.r_[np.linspace(0.05, 0.4, 8), K_C - 1e-3, K_C, K_C + 1e-3, np.linspace(0.5, 3.0, 8)]
    lz, mB, vB = kaufman_thermo(K, L)
    assert np.all(np.isfinite(lz)) and np.all(np.isfinite(mB)) and np.all(np.isfinite(vB))
    assert np.all(np.diff(lz) > 0)          # d ln Z/dK = <B> > 0 for K > 0
    assert np.all(mB > 0) and np.all(vB > 0)
    f_inf = onsager_log_z_per_site(K)
    away = np.abs(K - K_C) > 0.05
    below = away & (K < K_C)
    above = away & (K > K_C)
    # finite-size corrections are exponentially small away from K_c, except the 2-fold
    # degeneracy of the ordered phase, which adds ln 2 / N
    np.testing.assert_allclose(lz[below] / N, f_inf[below], rtol=0, atol=1e-14)
    np.testing.assert_allclose(lz[above] / N - math.log(2) / N, f_inf[above], rtol=0, atol=1e-14)
    # at K_c the correction is O(1/N) (Ferdinand–Fisher): N(f_L − f_∞) is O(1)
    corr = (lz[K == K_C] / N - f_inf[K == K_C]) * N
    assert 0.1 < float(corr[0]) < 2.0
    # energy and specific heat per site → Onsager away from K_c
    np.testing.assert_allclose(-mB[away] / N, onsager_energy_per_site(K[away]), rtol=1e-12)
    # (c is exponentially small at large K, where both formulas lose relative digits)
    np.testing.assert_allclose(K[away] ** 2 * vB[away] / N, onsager_specific_heat_per_site(K[away]),
                               rtol=1e-9, atol=1e-13)


def test_onsager_limit_convergence_of_kaufman():
    Ls = [8, 16, 32, 64, 128, 256]
    for K in (0.3, 0.6):
        err = [abs(float(kaufman_log_z(K, L)) / L**2 - float(onsager_log_z_per_site(K))
                   - (math.log(2) / L**2 if K > K_C else 0.0)) for L in Ls]
        assert err[-1] < 1e-14
        assert all(b <= a or b < 1e-15 for a, b in zip(err, err[1:]))
    # at K_c: f_L − f_∞ ~ C / N with C → const (Ferdinand–Fisher): ratios of N·Δ converge
    nd = [(float(kaufman_log_z(K_C, L)) / L**2 - float(onsager_log_z_per_site(K_C))) * L**2 for L in (128, 256, 512)]
    assert abs(nd[2] - nd[1]) < 0.5 * abs(nd[1] - nd[0]) + 1e-6
    assert abs(nd[2] / nd[1] - 1) < 1e-2


def test_ferdinand_fisher_specific_heat_at_tc():
    Ls = np.array([256, 1024, 4096])
    c = np.array([float(K_C**2 * kaufman_thermo(K_C, int(L))[2] / L**2) for L in Ls])
    np.testing.assert_allclose(c, 0.4945 * np.log(Ls) + 0.138, atol=2e-3)
    slope = (c[2] - c[1]) / math.log(4)
    assert slope == pytest.approx(8 * K_C**2 / math.pi, abs=1e-3)  # 0.4945…


# --------------------------------------------------------------------------- Onsager
def test_onsager_constants():
    assert K_C == pytest.approx(0.5 * math.log(1 + math.sqrt(2)), rel=1e-15)
    assert T_C == pytest.approx(1 / K_C, rel=1e-15)


def test_onsager_specific_heat_equals_minus_K2_du_dK():
    K = np.array([0.1, 0.25, 0.38, 0.43, 0.45, 0.5, 0.7, 1.0])
    h = 1e-4
    u = onsager_energy_per_site
    d1 = (u(K + h) - u(K - h)) / (2 * h)
    d2 = (u(K + 2 * h) - u(K - 2 * h)) / (4 * h)
    dudK = (4 * d1 - d2) / 3
    np.testing.assert_allclose(onsager_specific_heat_per_site(K), -K**2 * dudK, rtol=1e-7)


def test_onsager_energy_is_derivative_of_free_energy():
    K = np.array([0.15, 0.3, 0.41, 0.47, 0.6, 0.9])
    h = 1e-3
    f = onsager_log_z_per_site
    d1 = (f(K + h) - f(K - h)) / (2 * h)
    d2 = (f(K + 2 * h) - f(K - 2 * h)) / (4 * h)
    np.testing.assert_allclose(-(4 * d1 - d2) / 3, onsager_energy_per_site(K), rtol=1e-8)
    assert float(onsager_energy_per_site(K_C)) == pytest.approx(-math.sqrt(2), rel=1e-12)
    assert float(onsager_energy_per_site(0.5, J=2.0)) == pytest.approx(2 * float(onsager_energy_per_site(0.5)))


def test_onsager_free_energy_known_values_and_limits():
    # high temperature: ln Z/N → ln 2 + 2 ln cosh K + O(tanh⁴ K) (high-T expansion, 4-cycles)
    K = 1e-3
    assert float(onsager_log_z_per_site(K)) == pytest.approx(math.log(2) + 2 * math.log(math.cosh(K)), abs=1e-11)
    # low temperature: ln Z/N → 2K + e^{−8K} + …
    K = 3.0
    assert float(onsager_log_z_per_site(K)) == pytest.approx(2 * K + math.exp(-8 * K), rel=1e-14)
    # Onsager's closed form at K_c: ln Z/N = ln 2 / 2 + 2G/π (G Catalan's constant)
    G = 0.915965594177219015054603514932
    assert float(onsager_log_z_per_site(K_C)) == pytest.approx(0.5 * math.log(2) + 2 * G / math.pi, rel=1e-13)


def test_onsager_magnetisation():
    K = np.array([0.2, 0.44, K_C, 0.45, 0.6, 2.0])
    m = onsager_magnetisation(K)
    assert np.all(m[K <= K_C] == 0)
    expect = (1 - np.sinh(2 * K[K > K_C]) ** -4) ** 0.125
    np.testing.assert_allclose(m[K > K_C], expect, rtol=1e-14)
    # critical exponent β = 1/8: m ∝ (K − K_c)^{1/8} as K → K_c⁺
    d = np.array([1e-6, 1e-8])
    mm = onsager_magnetisation(K_C + d)
    assert math.log(mm[0] / mm[1]) / math.log(100) == pytest.approx(0.125, rel=1e-4)


# --------------------------------------------------------------------------- ising_exact
def test_ising_exact_dataset_structure_and_method_choice(tmp_path):
    g = ParameterGrid.from_ranges(K=(0.2, 0.7, 4), eta=(-0.2, 0.2, 3))
    ds = ising_exact(g, 3)
    assert ds.attrs["method"] == "enumeration"
    assert ds["log_z"].dims == ("K", "eta")
    assert ds["grad_log_z"].dims == ("K", "eta", "natural")
    assert ds["metric"].dims == ("K", "eta", "natural", "natural_")
    assert list(ds["natural"].values) == ["K", "eta"]
    for v in ds.data_vars.values():
        assert "long_name" in v.attrs and "units" in v.attrs
    json.loads(ds.attrs["config"])
    dos = IsingDensityOfStates.from_enumeration(3)
    Kg, Eg = np.meshgrid(g["K"].values, g["eta"].values, indexing="ij")
    np.testing.assert_allclose(ds["log_z"].values, dos.log_z(Kg, Eg), rtol=1e-15)
    np.testing.assert_allclose(ds["log_z_per_site"].values, dos.log_z(Kg, Eg) / 9, rtol=1e-15)
    np.testing.assert_allclose(ds["metric"].values, dos.hessian(Kg, Eg), rtol=1e-14)
    # identity map: pulled-back = natural
    np.testing.assert_allclose(ds["metric_grid"].values, ds["metric"].values)
    np.testing.assert_allclose(ds["grad_log_z_grid"].values, ds["grad_log_z"].values)
    assert ising_exact(g, 6).attrs["method"] == "transfer_matrix"
    # netCDF round trip
    path = tmp_path / "ising_exact.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as back:
        xr.testing.assert_identical(back.load(), ds)


def test_ising_exact_methods_agree_on_a_grid():
    g = ParameterGrid.from_ranges(K=(0.3, 0.6, 3), eta=(-0.1, 0.1, 3))
    a = ising_exact(g, 4, method="enumeration")
    b = ising_exact(g, 4, method="transfer_matrix")
    np.testing.assert_allclose(a["log_z"], b["log_z"], rtol=1e-13)
    np.testing.assert_allclose(a["grad_log_z"], b["grad_log_z"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a["metric"], b["metric"], rtol=1e-10, atol=1e-10)


def test_ising_exact_temperature_field_grid_pull_back():
    J = 1.5
    g = ParameterGrid.from_ranges(ising_temperature_field_map(J), T=(2.0, 4.0, 3), H=(-0.3, 0.3, 3))
    ds = ising_exact(g, 4, J=J)
    T, H = np.meshgrid(g["T"].values, g["H"].values, indexing="ij")
    K, eta = J / T, H / T
    dos = IsingDensityOfStates.from_enumeration(4)
    grad_t = dos.gradient(K, eta)
    hess_t = dos.hessian(K, eta)
    np.testing.assert_allclose(ds["log_z"].values, dos.log_z(K, eta), rtol=1e-15)
    # ∂t/∂(T, H) = [[−J/T², 0], [−H/T², 1/T]]
    Jac = np.zeros(T.shape + (2, 2))
    Jac[..., 0, 0] = -J / T**2
    Jac[..., 1, 0] = -H / T**2
    Jac[..., 1, 1] = 1 / T
    np.testing.assert_allclose(ds["grad_log_z_grid"].values, np.einsum("...ij,...i->...j", Jac, grad_t), rtol=1e-13)
    np.testing.assert_allclose(ds["metric_grid"].values,
                               np.einsum("...ki,...kl,...lj->...ij", Jac, hess_t, Jac), rtol=1e-12)
    # d ln Z/dT by finite differences in T agrees with the pulled-back gradient
    h = 1e-5
    dT = (dos.log_z(J / (T + h), H / (T + h)) - dos.log_z(J / (T - h), H / (T - h))) / (2 * h)
    np.testing.assert_allclose(ds["grad_log_z_grid"].values[..., 0], dT, rtol=1e-7)
    # a bare (T, H) grid gets the map with the given J
    bare = ParameterGrid.from_ranges(T=(2.0, 4.0, 3), H=(-0.3, 0.3, 3))
    xr.testing.assert_allclose(ising_exact(bare, 4, J=J)["metric_grid"], ds["metric_grid"])


def test_ising_exact_kaufman_large_L_zero_field():
    g = ParameterGrid.from_ranges(ising_temperature_field_map(1.0), T=(1.8, 3.0, 4), H=[0.0])
    ds = ising_exact(g, 64)
    assert ds.attrs["method"] == "kaufman"
    K = 1.0 / g["T"].values
    lz, mB, vB = kaufman_thermo(K, 64)
    np.testing.assert_allclose(ds["log_z"].values[:, 0], lz, rtol=1e-15)
    np.testing.assert_allclose(ds["grad_log_z"].values[:, 0, 0], mB, rtol=1e-15)
    np.testing.assert_allclose(ds["metric"].values[:, 0, 0, 0], vB, rtol=1e-15)
    assert np.all(ds["grad_log_z"].values[..., 1] == 0)
    assert np.all(np.isnan(ds["metric"].values[..., 1, 1]))
    # pulled back: g_TT = (J/T²)² Var(B) known, every entry touching η–η unknown
    np.testing.assert_allclose(ds["metric_grid"].values[:, 0, 0, 0], vB * (1 / g["T"].values**2) ** 2, rtol=1e-13)
    assert np.all(np.isnan(ds["metric_grid"].values[:, 0, 1, 1]))
    assert np.all(ds["metric_grid"].values[:, 0, 0, 1] == 0)


# --------------------------------------------------------------------------- bad input
def test_ising_exact_needs_mc_reference_for_large_L_with_field():
    g = ParameterGrid.from_ranges(K=(0.3, 0.5, 2), eta=(0.0, 0.1, 2))
    with pytest.raises(ValueError, match="ising_reference"):
        ising_exact(g, 16)
    with pytest.raises(ValueError, match="ising_reference"):
        ising_exact(g, 8, method="kaufman")


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: kaufman_log_z(0.4, 1), ValueError, "L must be"),
        (lambda: kaufman_log_z(0.4, 8.0), TypeError, "L must be an integer"),
        (lambda: kaufman_log_z(0.0, 8), ValueError, r"K must be in \(0, 5\]"),
        (lambda: kaufman_log_z(5.5, 8), ValueError, r"K must be in \(0, 5\]"),
        (lambda: kaufman_thermo([0.3, np.nan], 8), ValueError, "K must be"),
        (lambda: kaufman_thermo(np.array([1 + 1j]), 8), TypeError, "K must be"),
        (lambda: kaufman_log_z("0.3", 8), TypeError, "K must be"),
        (lambda: IsingDensityOfStates.from_enumeration(6), ValueError, r"L must be an integer in \[2, 5\]"),
        (lambda: IsingDensityOfStates.from_enumeration(1), ValueError, "L must be"),
        (lambda: IsingDensityOfStates.from_enumeration(2).log_z(0.3, np.inf), ValueError, "eta"),
        (lambda: IsingDensityOfStates.from_enumeration(2).log_z([0.1, 0.2], [0.1, 0.2, 0.3]), ValueError, "broadcast"),
        (lambda: transfer_matrix_log_z(0.3, 0.1, 13), ValueError, r"L must be an integer in \[2, 12\]"),
        (lambda: transfer_matrix_thermo(np.nan, 0.1, 4), ValueError, "K must be"),
        (lambda: transfer_matrix_thermo(0.3, np.array(["a"]), 4), TypeError, "eta"),
        (lambda: onsager_log_z_per_site(-0.1), ValueError, "K must be"),
        (lambda: ising_exact("grid", 4), TypeError, "ParameterGrid"),
        (lambda: ising_exact(ParameterGrid.from_ranges(a=(0.1, 0.2, 2), b=(0.0, 0.1, 2)), 4), ValueError, "natural coordinates"),
        (lambda: ising_exact(ParameterGrid.from_ranges(K=(0.1, 0.2, 2), eta=(0.0, 0.1, 2)), 4, method="exact"), ValueError, "method"),
        (lambda: ising_exact(ParameterGrid.from_ranges(K=(0.1, 0.2, 2), eta=(0.0, 0.1, 2)), 6, method="enumeration"), ValueError, "enumeration"),
        (lambda: ising_exact(ParameterGrid.from_ranges(K=(0.1, 0.2, 2), eta=(0.0, 0.1, 2)), 13, method="transfer_matrix"), ValueError, "transfer_matrix"),
        (lambda: ising_exact(ParameterGrid.from_ranges(K=(-0.1, 0.2, 2), eta=[0.0]), 20), ValueError, r"K must be in \(0, 5\]"),
        (lambda: ising_exact(ParameterGrid.from_ranges(K=(0.1, 0.2, 2), eta=[0.0]), 1), ValueError, "L must be"),
        (lambda: ising_exact(ParameterGrid.from_ranges(K=(0.1, 0.2, 2), eta=[0.0]), 4, J=0.0), ValueError, "J must be"),
    ],
)
def test_bad_input_raises_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
