"""Alignment of a reconstructed log-partition function to a reference: F_ref ≈ s·F_rec + ⟨c, t⟩ + b.

A log-partition function recovered from posteriors is identifiable only up to an affine term
⟨c, t⟩ + b in the natural coordinates t (the posteriors depend on Bregman divergences, which
ignore it; Lobashev et al. 2025, Theorem 3.2), and — when the effective temperature is not
known exactly — up to a scale s. :func:`fit_alignment` finds (s, c, b) by least squares over the
(optionally masked) grid cells; :class:`Alignment` applies it to F (s·F + ⟨c, t⟩ + b), to ∇F
(s·∇F + c) and to the metric (s·g). This is the one alignment of the package: the Table 1
error measures and the tests use it (docs/baselines.md, "Error measures").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Alignment", "fit_alignment"]


@dataclass(frozen=True)
class Alignment:
    """The alignment F_ref ≈ scale·F_rec + ⟨c, t⟩ + b (scale = 1 for the affine alignment).

    Parameters
    ----------
    scale : float
        The fitted scale s (1 for ``kind="affine"``).
    c : numpy.ndarray
        The linear term, shape (d,), natural coordinates.
    b : float
        The constant.
    kind : str
        ``"affine"`` or ``"scale+affine"``.
    """

    scale: float
    c: np.ndarray
    b: float
    kind: str

    def apply(self, log_z: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Aligned values scale·F + ⟨c, t⟩ + b.

        Parameters
        ----------
        log_z : array_like
            F on the grid, shape G.
        t : array_like
            Natural coordinates of the cells, shape (*G, d).

        Returns
        -------
        numpy.ndarray
            Shape G.
        """
        return self.scale * np.asarray(log_z) + np.asarray(t) @ self.c + self.b

    def apply_gradient(self, grad: np.ndarray) -> np.ndarray:
        """Aligned gradients scale·∇F + c.

        Parameters
        ----------
        grad : array_like
            ∇F in natural coordinates, shape (..., d).

        Returns
        -------
        numpy.ndarray
        """
        return self.scale * np.asarray(grad) + self.c

    def apply_metric(self, metric: np.ndarray) -> np.ndarray:
        """Aligned metrics scale·g (the affine term has no second derivative).

        Parameters
        ----------
        metric : array_like
            g in natural coordinates, shape (..., d, d).

        Returns
        -------
        numpy.ndarray
        """
        return self.scale * np.asarray(metric)


def fit_alignment(
    log_z_ref: np.ndarray,
    log_z_rec: np.ndarray,
    t: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    scale: bool = False,
) -> Alignment:
    """Least-squares alignment of F_rec to F_ref over the masked cells.

    Solves min_{s, c, b} Σ_cells (F_ref − s·F_rec − ⟨c, t⟩ − b)² (s ≡ 1 unless ``scale``).

    Parameters
    ----------
    log_z_ref, log_z_rec : array_like
        Reference and reconstruction on the grid, shape G.
    t : array_like
        Natural coordinates of the cells, shape (*G, d).
    mask : array_like of bool, optional
        Shape G, the cells used (default: all).
    scale : bool, default False
        Also fit the scale factor s.

    Returns
    -------
    Alignment

    Raises
    ------
    ValueError
        Mismatched shapes, non-finite values, or fewer cells than unknowns.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0.0, 1.0, 5)[:, None]
    >>> al = fit_alignment(t[:, 0] ** 2, t[:, 0] ** 2 + 3.0 * t[:, 0], t)
    >>> round(float(al.c[0]), 6), round(al.b, 6)
    (-3.0, 0.0)
    """
    Fr = np.asarray(log_z_ref, dtype=np.float64)
    Fc = np.asarray(log_z_rec, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if Fr.shape != Fc.shape or t.shape[:-1] != Fr.shape:
        raise ValueError(f"log_z_ref {Fr.shape}, log_z_rec {Fc.shape} and t {t.shape} must share the grid shape")
    if not (np.isfinite(Fr).all() and np.isfinite(Fc).all() and np.isfinite(t).all()):
        raise ValueError("log_z_ref, log_z_rec and t must be finite (no NaN or inf)")
    m = np.ones(Fr.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    d = t.shape[-1]
    if int(m.sum()) < d + 1 + int(scale):
        raise ValueError(f"alignment needs at least {d + 1 + int(scale)} cells, got {int(m.sum())}")
    tt = t[m]
    cols = [tt, np.ones((tt.shape[0], 1))]
    if scale:
        cols.insert(0, Fc[m][:, None])
        X = np.concatenate(cols, axis=1)
        coef, *_ = np.linalg.lstsq(X, Fr[m], rcond=None)
        return Alignment(float(coef[0]), coef[1 : 1 + d], float(coef[-1]), "scale+affine")
    X = np.concatenate(cols, axis=1)
    coef, *_ = np.linalg.lstsq(X, Fr[m] - Fc[m], rcond=None)
    return Alignment(1.0, coef[:d], float(coef[-1]), "affine")
