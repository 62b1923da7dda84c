"""Monte Carlo estimates with error bars and integrated autocorrelation times.

Conventions (Sokal, "Monte Carlo methods in statistical mechanics", 1997, §3):

* normalised autocorrelation ρ(t) = C(t)/C(0), estimated by FFT;
* integrated autocorrelation time τ_int = ½ + Σ_{t=1}^{W} ρ(t), with Sokal's automatic window:
  the smallest W such that W ≥ c·τ_int(W) (c = 5 by default). With this convention
  τ_int = ½ for independent samples;
* error of the mean  σ_mean² = 2 τ_int · Var(x) / n, effective sample size n / (2 τ_int).

Derived quantities (variances, covariances, ratios) get their errors from a blocked jackknife
(:func:`jackknife`), with blocks much longer than τ_int.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from statgeo.checks import check_array, check_int, check_real

__all__ = ["Stats", "autocorrelation", "integrated_autocorrelation_time", "estimate", "jackknife"]


@dataclass(frozen=True)
class Stats:
    """One Monte Carlo estimate: ``mean ± error`` with its autocorrelation time.

    Fields are arrays (or scalars) over any leading batch shape; the value is printed as
    ``mean ± error`` (as NetKet's ``Stats`` does).

    Parameters
    ----------
    mean : array_like
        Estimate of the expectation.
    error : array_like
        One-sigma error of the mean, including autocorrelation: σ·√(2 τ_int / n) (≥ 0).
    variance : array_like
        Sample variance of the series (≥ 0).
    tau_int : array_like
        Integrated autocorrelation time in units of the series' spacing (≥ ½; ½ = independent).
    n : int
        Number of samples in the series (≥ 1).

    Raises
    ------
    TypeError
        A field is not real, or ``n`` not an integer.
    ValueError
        NaN/inf, a negative error or variance, τ_int < ½ or n < 1.

    Examples
    --------
    >>> s = estimate(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> print(s)
    2.5 ± 0.65 [τ_int=0.5, n=4]
    """

    mean: np.ndarray
    error: np.ndarray
    variance: np.ndarray
    tau_int: np.ndarray
    n: int

    def __post_init__(self) -> None:
        check_int("n", self.n, min=1)
        check_real("mean", self.mean, low=None, high=None)
        for name, low in (("error", 0.0), ("variance", 0.0), ("tau_int", 0.5)):
            check_real(name, getattr(self, name), low=low, high=np.inf, high_inclusive=False)

    @property
    def n_eff(self) -> np.ndarray:
        """Effective number of independent samples n / (2 τ_int)."""
        return self.n / (2.0 * np.asarray(self.tau_int))

    def __str__(self) -> str:
        m, e, t = np.asarray(self.mean), np.asarray(self.error), np.asarray(self.tau_int)
        if m.ndim == 0:
            return f"{float(m):.6g} ± {float(e):.2g} [τ_int={float(t):.3g}, n={self.n}]"
        return f"Stats(shape={m.shape}, n={self.n}, max τ_int={float(np.max(t)):.3g})"

    def z_score(self, exact: float | np.ndarray) -> np.ndarray:
        """(mean − exact) / error: how many error bars the estimate lies from an exact value.

        Parameters
        ----------
        exact : float or array_like
            The exact value(s), broadcastable to the shape of ``mean``.

        Returns
        -------
        numpy.ndarray

        Raises
        ------
        TypeError, ValueError
            ``exact`` is not real, not finite, or does not broadcast against ``mean``.
        """
        m = np.asarray(self.mean)
        ex = check_real("exact", exact, low=None, high=None)
        try:
            np.broadcast_shapes(ex.shape, m.shape)
        except ValueError as exc:
            raise ValueError(f"exact must broadcast to the shape {m.shape} of the estimate, got {ex.shape}") from exc
        return (m - ex) / np.asarray(self.error)


def autocorrelation(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Normalised autocorrelation ρ(t) = C(t)/C(0) along ``axis``, by FFT.

    C(t) is the zero-padded, biased estimator (1/n) Σ_s (x_s − x̄)(x_{s+t} − x̄) (Sokal 1997,
    §3). A constant series has ρ ≡ 1 at t = 0 and 0 elsewhere by convention.

    Parameters
    ----------
    x : array_like
        The series (any batch shape), finite.
    axis : int, default -1
        The time axis.

    Returns
    -------
    numpy.ndarray
        ρ(t) for t = 0 … n − 1, the shape of ``x``.

    Raises
    ------
    TypeError, ValueError
        ``x`` is not a finite real array, or ``axis`` is out of range.
    """
    x = check_array("x", x, dtype_kind="iuf", finite=True)
    axis = check_int("axis", axis, min=-max(x.ndim, 1), max=max(x.ndim, 1) - 1)
    x = np.moveaxis(x.astype(np.float64), axis, -1)
    n = x.shape[-1]
    xc = x - x.mean(axis=-1, keepdims=True)
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(xc, n=nfft, axis=-1)
    acov = np.fft.irfft(f * np.conj(f), n=nfft, axis=-1)[..., :n]
    c0 = acov[..., :1]
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(c0 > 0, acov / np.where(c0 > 0, c0, 1.0), 0.0)
    rho[..., 0] = 1.0
    return np.moveaxis(rho, -1, axis)


def integrated_autocorrelation_time(x: np.ndarray, axis: int = -1, c: float = 5.0) -> np.ndarray:
    """τ_int = ½ + Σ_{t=1}^{W} ρ(t) with Sokal's self-consistent window W ≥ c·τ_int(W).

    Parameters
    ----------
    x : array_like
        The series along ``axis`` (any batch shape), finite.
    axis : int, default -1
        The time axis.
    c : float, default 5.0
        Window constant (> 0); 5 is usual for roughly exponential decay (Sokal 1997, §3).

    Returns
    -------
    numpy.ndarray
        τ_int over the batch shape, at least ½ (½ for independent samples).

    Raises
    ------
    TypeError, ValueError
        ``x`` is not a finite real array, ``axis`` out of range or ``c`` ≤ 0.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> float(integrated_autocorrelation_time(rng.standard_normal(4096))) < 1.0
    True
    """
    c = float(check_real("c", c, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))
    rho = np.moveaxis(autocorrelation(x, axis=axis), axis, -1)
    n = rho.shape[-1]
    taus = 0.5 + np.cumsum(rho[..., 1:], axis=-1) - 0.0  # τ(W) for W = 1..n-1
    taus = np.concatenate([np.full(rho.shape[:-1] + (1,), 0.5), taus], axis=-1)  # τ(W), W = 0..n-1
    w = np.arange(n)
    ok = w >= c * taus
    first = np.where(ok.any(axis=-1), ok.argmax(axis=-1), n - 1)
    tau = np.take_along_axis(taus, first[..., None], axis=-1)[..., 0]
    return np.maximum(tau, 0.5)


def estimate(x: np.ndarray, axis: int = -1, c: float = 5.0) -> Stats:
    """Mean, autocorrelation-corrected error, variance and τ_int of a series along ``axis``.

    error = √(2 τ_int Var(x) / n) with τ_int from :func:`integrated_autocorrelation_time`
    (Sokal 1997, §3).

    Parameters
    ----------
    x : array_like
        The series (any batch shape), finite.
    axis : int, default -1
        The time axis.
    c : float, default 5.0
        Sokal window constant (> 0).

    Returns
    -------
    Stats

    Raises
    ------
    TypeError, ValueError
        ``x`` not a finite real array with at least 2 samples along ``axis``, a bad axis or c.

    Examples
    --------
    >>> print(estimate(np.array([1.0, 2.0, 3.0, 4.0])))
    2.5 ± 0.65 [τ_int=0.5, n=4]
    """
    x = check_array("x", x, dtype_kind="iuf", finite=True).astype(np.float64)
    axis = check_int("axis", axis, min=-x.ndim, max=x.ndim - 1)
    c = float(check_real("c", c, low=0.0, low_inclusive=False, high=np.inf, high_inclusive=False))
    n = x.shape[axis]
    if n < 2:
        raise ValueError(f"x must have at least 2 samples along axis {axis}, got {n}")
    mean = x.mean(axis=axis)
    var = x.var(axis=axis, ddof=1)
    tau = integrated_autocorrelation_time(x, axis=axis, c=c)
    err = np.sqrt(2.0 * tau * var / n)
    return Stats(mean=mean, error=err, variance=var, tau_int=tau, n=n)


def jackknife(
    func: Callable[..., np.ndarray],
    arrays: Sequence[np.ndarray],
    n_blocks: int = 32,
    axis: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Blocked jackknife estimate and error of a derived quantity ``func(*arrays)``.

    The series (all the same length along ``axis``) are cut into B = ``n_blocks`` contiguous
    blocks; blocks longer than a few τ_int make the leave-one-block-out estimates f_b nearly
    independent, and error² = (B − 1)/B · Σ_b (f_b − f̄)² (Efron and Stein 1981; Young,
    "Everything you wanted to know about data analysis and fitting", 2015, §3.4).

    Parameters
    ----------
    func : callable
        Maps the arrays (time along the last axis) to the estimate.
    arrays : sequence of array_like
        The series, finite, all of the same length along ``axis``.
    n_blocks : int, default 32
        Number of blocks, 2 ≤ n_blocks ≤ length of the series.
    axis : int, default -1
        The time axis.

    Returns
    -------
    tuple of numpy.ndarray
        ``(value, error)``: ``func`` on all data and the jackknife error.

    Raises
    ------
    TypeError, ValueError
        ``func`` is not callable, the arrays are not finite real arrays of one length, or
        ``n_blocks`` is out of range.

    Examples
    --------
    >>> x = np.random.default_rng(1).standard_normal(1000)
    >>> value, error = jackknife(lambda a: a.var(axis=-1), [x])
    >>> bool(abs(value - 1.0) < 4 * error)
    True
    """
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    if isinstance(arrays, np.ndarray) or not isinstance(arrays, (list, tuple)) or not arrays:
        raise TypeError("arrays must be a non-empty list or tuple of arrays")
    checked = [check_array(f"arrays[{i}]", a, dtype_kind="iuf", finite=True) for i, a in enumerate(arrays)]
    axis = check_int("axis", axis, min=-checked[0].ndim, max=checked[0].ndim - 1)
    arrays = [np.moveaxis(a.astype(np.float64), axis, -1) for a in checked]
    if len({a.shape[-1] for a in arrays}) != 1:
        raise ValueError(f"arrays must have the same length along axis {axis}, got {[a.shape[-1] for a in arrays]}")
    n = arrays[0].shape[-1]
    n_blocks = check_int("n_blocks", n_blocks, min=2, max=max(n, 2))
    if n_blocks < 2 or n < n_blocks:
        raise ValueError(f"n_blocks must be in [2, n={n}], got {n_blocks}")
    m = (n // n_blocks) * n_blocks
    arrays = [a[..., :m] for a in arrays]
    full = np.asarray(func(*arrays))
    blocks = [a.reshape(a.shape[:-1] + (n_blocks, m // n_blocks)) for a in arrays]
    loo = []
    for b in range(n_blocks):
        keep = [np.concatenate([bl[..., :b, :], bl[..., b + 1 :, :]], axis=-2).reshape(bl.shape[:-2] + (-1,)) for bl in blocks]
        loo.append(np.asarray(func(*keep)))
    loo = np.stack(loo, axis=0)
    err = np.sqrt((n_blocks - 1) / n_blocks * ((loo - loo.mean(axis=0)) ** 2).sum(axis=0))
    return full, err
