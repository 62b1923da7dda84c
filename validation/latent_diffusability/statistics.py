"""Summary statistics of the latent-diffusability study: Fréchet distance, class balance and a
bootstrap interval for the Spearman rank correlation of a diagnostic with sample quality.

* :func:`frechet_distance` -- the Fréchet (2-Wasserstein) distance between the Gaussians fitted
  to two feature samples, the statistic behind the Fréchet Inception Distance.
* :func:`class_balance` -- class fractions of a set of labels and their total variation
  distance from the uniform law.
* :func:`spearman_bootstrap` -- Spearman's rank correlation between a per-encoder diagnostic
  and a per-encoder quality measure, with a two-stage (encoders, then seeds) percentile
  bootstrap interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from statgeo.checks import check_allocation, check_array, check_int, check_real

__all__ = ["frechet_distance", "class_balance", "spearman_bootstrap"]


# --- Fréchet distance -------------------------------------------------------------------------

def _check_features(name: str, value: Any) -> np.ndarray:
    arr = check_array(name, value, ndim=2, dtype_kind="iuf", finite=True)
    if arr.shape[0] < 2:
        raise ValueError(f"{name} must have at least 2 rows (samples) to estimate a covariance, "
                         f"got shape {arr.shape}")
    return arr.astype(np.float64, copy=False)


def _mean_cov(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = x.mean(axis=0)
    xc = x - mu
    cov = (xc.T @ xc) / (x.shape[0] - 1)
    return mu, 0.5 * (cov + cov.T)


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigenvalues < 0 -> 0)."""
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(features_a: Any, features_b: Any) -> float:
    r"""Fréchet distance between the Gaussians fitted to two feature samples.

    With :math:`\mu_a, \Sigma_a` and :math:`\mu_b, \Sigma_b` the sample means and covariances
    (``ddof=1``) of the rows of ``features_a`` and ``features_b``,

    .. math::

        d^2 = \lVert \mu_a - \mu_b \rVert^2
              + \operatorname{tr}\bigl(\Sigma_a + \Sigma_b
              - 2\,(\Sigma_a^{1/2} \Sigma_b \Sigma_a^{1/2})^{1/2}\bigr),

    the squared 2-Wasserstein distance between :math:`N(\mu_a, \Sigma_a)` and
    :math:`N(\mu_b, \Sigma_b)` (Dowson & Landau 1982), used on classifier features as the
    Fréchet Inception Distance (Heusel et al. 2017). As in FID, the returned value is
    :math:`d^2` (not its square root).

    The trace term is computed from two symmetric eigendecompositions: :math:`\Sigma_a^{1/2}`
    from the eigenpairs of :math:`\Sigma_a`, then the eigenvalues :math:`\lambda_i` of the
    symmetric matrix :math:`\Sigma_a^{1/2} \Sigma_b \Sigma_a^{1/2}`, whose square root has trace
    :math:`\sum_i \sqrt{\lambda_i}`; eigenvalues below zero (rounding of singular covariances)
    are set to zero. This avoids the square root of the non-symmetric product
    :math:`\Sigma_a \Sigma_b`, which is ill-conditioned when the covariances are singular.
    The result, non-negative in exact arithmetic, is clipped at zero.

    Parameters
    ----------
    features_a : array_like, shape (n_a, k)
        First sample, one row per item; real and finite, ``n_a >= 2``.
    features_b : array_like, shape (n_b, k)
        Second sample; real and finite, ``n_b >= 2``, same ``k``.

    Returns
    -------
    float
        :math:`d^2 \ge 0`.

    Raises
    ------
    TypeError
        A sample is not an array of real numbers.
    ValueError
        A sample is not 2-D, has fewer than 2 rows, holds NaN or inf, or the two have
        different numbers of columns.

    References
    ----------
    D. C. Dowson and B. V. Landau, "The Fréchet distance between multivariate normal
    distributions", J. Multivariate Anal. 12 (1982) 450-455.
    M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler and S. Hochreiter, "GANs trained by a two
    time-scale update rule converge to a local Nash equilibrium", NeurIPS 2017.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 3))
    >>> frechet_distance(x, x) < 1e-9
    True
    >>> round(frechet_distance(x, x + 2.0), 9)  # same covariance, mean shifted by 2 in 3 axes
    12.0
    """
    a = _check_features("features_a", features_a)
    b = _check_features("features_b", features_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_a and features_b must have the same number of columns (features), "
                         f"got shapes {a.shape} and {b.shape}")
    k = a.shape[1]
    check_allocation("the covariance matrices (k, k)", (3, k, k), names="the number of features k")
    mu_a, cov_a = _mean_cov(a)
    mu_b, cov_b = _mean_cov(b)
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    lam = np.linalg.eigvalsh(0.5 * (middle + middle.T))
    tr_cross = float(np.sqrt(np.clip(lam, 0.0, None)).sum())
    diff = mu_a - mu_b
    d2 = float(diff @ diff) + float(np.trace(cov_a)) + float(np.trace(cov_b)) - 2.0 * tr_cross
    return max(d2, 0.0)


# --- class balance ----------------------------------------------------------------------------

def class_balance(labels: Any, n_classes: int = 10) -> dict:
    r"""Class fractions of a set of labels and their total variation distance from uniform.

    With :math:`f_c = \#\{i : y_i = c\} / n` the fraction of class :math:`c` among
    :math:`K` classes,

    .. math::

        \mathrm{TV} = \tfrac12 \sum_{c=0}^{K-1} \bigl| f_c - 1/K \bigr| \in [0, 1 - 1/K],

    the total variation distance between the empirical class law and the uniform law
    (e.g. Levin, Peres & Wilmer, *Markov Chains and Mixing Times*, 2nd ed. 2017, Prop. 4.2):
    0 for perfectly balanced labels, :math:`1 - 1/K` when every label is the same class.

    Parameters
    ----------
    labels : array_like of int, shape (n,)
        Class labels in ``[0, n_classes)``; at least one.
    n_classes : int, default 10
        Number of classes :math:`K \ge 2`.

    Returns
    -------
    dict
        ``"class_fractions"`` (list of ``n_classes`` floats summing to 1),
        ``"class_balance_tv"`` (float), ``"class_fraction_min"``, ``"class_fraction_max"``.

    Raises
    ------
    TypeError
        ``labels`` is not an integer array or ``n_classes`` not an integer.
    ValueError
        ``labels`` is not 1-D, is empty or holds a value outside ``[0, n_classes)``;
        ``n_classes < 2``.

    Examples
    --------
    >>> r = class_balance([0, 0, 1, 2], n_classes=4)
    >>> r["class_fractions"], r["class_balance_tv"]
    ([0.5, 0.25, 0.25, 0.0], 0.25)
    >>> class_balance(np.arange(20) % 10)["class_balance_tv"]
    0.0
    """
    n_classes = check_int("n_classes", n_classes, min=2)
    y = check_array("labels", labels, ndim=1, dtype_kind="iu")
    bad = (y < 0) | (y >= n_classes)
    if bad.any():
        raise ValueError(f"labels must be integers in [0, {n_classes - 1}] (n_classes={n_classes}), "
                         f"got {int(y[bad][0])}")
    frac = np.bincount(y.astype(np.int64), minlength=n_classes) / y.size
    tv = 0.5 * float(np.abs(frac - 1.0 / n_classes).sum())
    return {
        "class_fractions": [float(f) for f in frac],
        "class_balance_tv": tv,
        "class_fraction_min": float(frac.min()),
        "class_fraction_max": float(frac.max()),
    }


# --- Spearman rank correlation with a bootstrap interval ----------------------------------------

def _check_table(name: str, value: Any) -> np.ndarray:
    arr = check_array(name, value, dtype_kind="iuf", finite=True)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (n_encoders,) or 2-D (n_encoders, n_seeds), got shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    return arr[:, None] if arr.ndim == 1 else arr


def _rowwise_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``x`` with the same row of ``y`` (average ranks for ties).

    Rows where ``x`` or ``y`` is constant give NaN.
    """
    rx = stats.rankdata(x, axis=1)
    ry = stats.rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    sxy = (rx * ry).sum(axis=1)
    sxx = (rx * rx).sum(axis=1)
    syy = (ry * ry).sum(axis=1)
    constant = np.all(x == x[:, :1], axis=1) | np.all(y == y[:, :1], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.clip(sxy / np.sqrt(sxx * syy), -1.0, 1.0)
    rho[constant] = np.nan
    return rho


def _spearman_point(d: np.ndarray, q: np.ndarray) -> float:
    if d.size < 2 or np.all(d == d[0]) or np.all(q == q[0]):
        return float("nan")
    return float(stats.spearmanr(d, q).statistic)


def spearman_bootstrap(diagnostic: Any, quality: Any, *, n_boot: int = 2000, level: float = 0.95,
                       seed: int = 0) -> dict:
    r"""Spearman rank correlation of a diagnostic with a quality measure, with a bootstrap interval.

    ``diagnostic[e, s]`` and ``quality[e, s]`` are measured on encoder ``e`` with training seed
    ``s``. The point value is Spearman's rank correlation (Spearman 1904; Pearson correlation of
    the average ranks) of the per-encoder seed means
    :math:`\bar d_e = \frac1S \sum_s d_{es}` and :math:`\bar q_e = \frac1S \sum_s q_{es}`.

    The interval is a two-stage (hierarchical) percentile bootstrap (Davison & Hinkley 1997,
    Sec. 3.8; Efron & Tibshirani 1993, Ch. 13): each of the ``n_boot`` resamples draws
    :math:`E` encoders with replacement (``rng.integers(0, E, (n_boot, E))``) and then, for
    each drawn encoder, one seed uniformly (``rng.integers(0, S, (n_boot, E))``), the same seed
    for the diagnostic and the quality (they are paired), and computes the Spearman correlation
    of the :math:`E` resampled pairs; ``rng = numpy.random.default_rng(seed)``. Resamples in
    which either side is constant have no rank correlation and are skipped (counted in
    ``"n_skipped"``). The interval is the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of
    the remaining values.

    Parameters
    ----------
    diagnostic : array_like, shape (n_encoders, n_seeds) or (n_encoders,)
        Diagnostic values; a 1-D array is one seed. Real and finite.
    quality : array_like, same shape as ``diagnostic``
        Quality values, paired with ``diagnostic``. Real and finite.
    n_boot : int, default 2000
        Number of bootstrap resamples, in ``[1, 10**6]``.
    level : float, default 0.95
        Coverage of the percentile interval, in ``(0, 1)``.
    seed : int, default 0
        Seed of the NumPy random generator, ``>= 0``.

    Returns
    -------
    dict
        ``"value"`` (float), ``"interval"`` (``[lo, hi]``), ``"n_encoders"``, ``"n_seeds"``,
        ``"n_boot"``, ``"n_skipped"`` (ints). The value is NaN with fewer than 2 encoders or
        when either seed-mean vector is constant; the interval is ``[nan, nan]`` when every
        resample is skipped.

    Raises
    ------
    TypeError
        An array is not real, ``n_boot``/``seed`` is not an integer, or ``level`` is not a
        real scalar.
    ValueError
        An array is not 1-D or 2-D, is empty or holds NaN/inf; the shapes differ; ``n_boot``,
        ``level`` or ``seed`` is out of range.

    References
    ----------
    C. Spearman, "The proof and measurement of association between two things",
    Am. J. Psychol. 15 (1904) 72-101.
    A. C. Davison and D. V. Hinkley, *Bootstrap Methods and their Application*, CUP 1997.
    B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall 1993.

    Examples
    --------
    >>> d = np.array([[1.0, 1.1], [2.0, 2.1], [3.0, 3.2]])
    >>> r = spearman_bootstrap(d, 10.0 * d, n_boot=200)
    >>> round(r["value"], 12), [round(v, 12) for v in r["interval"]], r["n_encoders"], r["n_seeds"]
    (1.0, [1.0, 1.0], 3, 2)
    """
    d = _check_table("diagnostic", diagnostic)
    q = _check_table("quality", quality)
    if d.shape != q.shape:
        raise ValueError(f"diagnostic and quality must have the same shape, got {np.shape(diagnostic)} "
                         f"and {np.shape(quality)}")
    n_boot = check_int("n_boot", n_boot, min=1, max=10**6)
    level_arr = check_real("level", level, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    if level_arr.ndim != 0:
        raise TypeError(f"level must be a real number in (0, 1), got an array of shape {level_arr.shape}")
    level = float(level_arr)
    seed = check_int("seed", seed, min=0)
    n_enc, n_seeds = d.shape
    check_allocation("the bootstrap resamples (n_boot, n_encoders)", (6, n_boot, n_enc),
                     names="n_boot and the number of encoders")

    value = _spearman_point(d.mean(axis=1), q.mean(axis=1))

    rng = np.random.default_rng(seed)
    enc = rng.integers(0, n_enc, size=(n_boot, n_enc))
    sd = rng.integers(0, n_seeds, size=(n_boot, n_enc))
    rho = _rowwise_spearman(d[enc, sd], q[enc, sd])
    ok = rho[~np.isnan(rho)]
    if ok.size:
        lo, hi = np.quantile(ok, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
        interval = [float(lo), float(hi)]
    else:
        interval = [float("nan"), float("nan")]
    return {
        "value": value,
        "interval": interval,
        "n_encoders": int(n_enc),
        "n_seeds": int(n_seeds),
        "n_boot": n_boot,
        "n_skipped": int(n_boot - ok.size),
    }
