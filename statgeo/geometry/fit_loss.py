"""The loss kernel of the log-partition fit: model posteriors, divergences and free linear terms.

Model posterior of row r (a posterior p_r over the grid cells, from an origin or a bundle) in
box coordinates u = (t − c)/h, with Ψ = n_eff Φ (docs/geometry_fitting.md, "The fit"):

    q_r(u) = softmax_u( ⟨a_r, u⟩ − Ψ(u) ),                                   (1)

optionally convolved with a row-stochastic kernel S (the output kernel of an estimator),
q_r ← q_r S. ``a_r`` is either ∇Ψ at the row's origin (the paper's form, Lobashev et al. 2025,
Sec. 3: q ∝ exp(−n_eff D_Φ(t, t'))) or a free parameter per row, profiled out: for fixed Ψ it
minimises KL(p_r ‖ q_r), whose stationarity condition is the moment match
E_{q_r}[u] = E_{r_r}[u] with r_r = p_r without smoothing (for an exponential family the exact
posterior of a bundle is exactly (1) with a_r its mean sufficient statistic) and
r_r(u) = q_r(u) Σ_c S[u, c] p_r(c) / (q_r S)(c) with smoothing (the EM responsibilities).
:func:`solve_linear_terms` takes a few damped Newton steps
a ← a − (Cov_q[u] + εI)⁻¹ (E_q[u] − E_r[u]); by the envelope theorem the gradient of the profiled
loss with respect to Ψ is the partial gradient at the solved a, so the outer optimiser sees a
function of the network alone.

Divergences, mean over rows: ``"kl"`` KL(p ‖ q); ``"jsd"`` Jensen–Shannon; ``"mse"`` the
paper's Theorem 3.2 loss (squared difference of p^{1/n_eff} scaled to peak 1 and exp(−D_Φ)),
paper's form and dense only.

The pairs (row, cell) the loss runs over are :class:`RowCells`: every cell of every row
(dense) or, for large grids, a window per row (cells with p > ε max p, dilated by a margin;
p and q renormalised over it). One code path evaluates both.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["DIVERGENCES", "RowCells", "divergence", "model_log_posterior", "mse_loss", "solve_linear_terms"]

DIVERGENCES = ("kl", "jsd", "mse")


def _torch():
    import torch

    return torch


class GridKernel:
    """A row-stochastic (C, C) kernel S on a product grid, as one matrix or one factor per axis.

    ``apply(q)`` is q S and ``apply_transpose(v)`` is v Sᵀ for rows q, v of shape (R, C). With
    factors S = S_0 ⊗ S_1 ⊗ … (C order) each axis is contracted in turn, C·Σ nᵢ operations per
    row instead of C².

    Parameters
    ----------
    factors : list of numpy.ndarray
        One (C, C) matrix, or one (nᵢ, nᵢ) matrix per grid axis.
    shape : tuple of int
        The grid shape (C = its product).
    dtype : torch.dtype
        Training precision.
    """

    def __init__(self, factors: list[np.ndarray], shape: tuple[int, ...], dtype: Any) -> None:
        torch = _torch()
        self.shape = (int(np.prod(shape)),) if len(factors) == 1 else tuple(shape)
        self.factors = [torch.as_tensor(f, dtype=dtype) for f in factors]
        self.factors_t = [f.T.contiguous() for f in self.factors]

    def _contract(self, x: Any, mats: list) -> Any:
        R = x.shape[0]
        y = x.reshape((R,) + self.shape)
        for i, m in enumerate(mats):
            y = (y.movedim(i + 1, -1) @ m).movedim(-1, i + 1)
        return y.reshape(R, -1)

    def apply(self, q: Any) -> Any:
        """q S for rows q of shape (R, C)."""
        return self._contract(q, self.factors)

    def apply_transpose(self, v: Any) -> Any:
        """v Sᵀ for rows v of shape (R, C)."""
        return self._contract(v, self.factors_t)


class RowCells:
    """The (row, cell) pairs of the loss and the per-row reductions over them.

    Parameters
    ----------
    P : numpy.ndarray
        Posterior rows over the cells, shape (R, C), rows summing to 1.
    U : numpy.ndarray
        Box coordinates of the cells, shape (C, d).
    T : numpy.ndarray
        Natural coordinates of the cells, shape (C, d) (for the centroid term).
    dtype : torch.dtype
        Training precision.
    window : tuple of (float, int, tuple of int), optional
        ``(eps, margin, grid_shape)``: keep the cells with p > eps·max p, dilated by ``margin``
        cells along every axis of ``grid_shape``; None: dense.
    """

    def __init__(self, P: np.ndarray, U: np.ndarray, T: np.ndarray, dtype: Any,
                 window: tuple[float, int, tuple[int, ...]] | None = None) -> None:
        torch = _torch()
        R, C = P.shape
        self.n_rows, self.n_cells, self.dim = R, C, U.shape[1]
        self.dense = window is None
        if self.dense:
            p, self.row, self.cell = P, None, None
            self.n_pairs = R * C
        else:
            row, cell = _window_pairs(P, *window)
            p = P[row, cell]
            tot = np.zeros(R)
            np.add.at(tot, row, p)
            p = p / tot[row]
            self.row, self.cell = torch.as_tensor(row), torch.as_tensor(cell)
            self.n_pairs = int(row.size)
        self.p = torch.as_tensor(p, dtype=dtype)
        with np.errstate(divide="ignore"):
            logp = np.log(p)
        self.logp = torch.as_tensor(logp, dtype=dtype)
        self.U = torch.as_tensor(U, dtype=dtype)
        self.T = torch.as_tensor(T, dtype=dtype)
        UU = (U[:, :, None] * U[:, None, :]).reshape(C, -1)
        self.UU = torch.as_tensor(UU, dtype=dtype)
        self.plogp = self.rowsum(torch.where(self.p > 0, self.p * torch.nan_to_num(self.logp, neginf=0.0),
                                             torch.zeros_like(self.p)))
        self.ubar = self.expect(self.p, self.U)
        self.tbar = self.expect(self.p, self.T)

    # ------------------------------------------------------------------ reductions over a row's cells
    def rowsum(self, v: Any) -> Any:
        """Σ over each row's cells.

        Parameters
        ----------
        v : torch.Tensor
            Values on the pairs: (R, C[, k]) dense, (pairs[, k]) ragged.

        Returns
        -------
        torch.Tensor
            Shape (R[, k]).
        """
        torch = _torch()
        if self.dense:
            return v.sum(1)
        return torch.zeros((self.n_rows,) + tuple(v.shape[1:]), dtype=v.dtype).index_add(0, self.row, v)

    def expect(self, w: Any, X: Any) -> Any:
        """Σ_cells w(cell) X(cell) per row.

        Parameters
        ----------
        w : torch.Tensor
            Weights on the pairs ((R, C) dense).
        X : torch.Tensor
            Values per cell, shape (C, k).

        Returns
        -------
        torch.Tensor
            Shape (R, k).
        """
        if self.dense:
            return w @ X
        return self.rowsum(w[:, None] * X[self.cell])

    def scores(self, psi: Any, a: Any) -> Any:
        """⟨a_r, u⟩ − Ψ(u) on the pairs.

        Parameters
        ----------
        psi : torch.Tensor
            Ψ at the cells, shape (C,).
        a : torch.Tensor
            Linear terms, shape (R, d).

        Returns
        -------
        torch.Tensor
            On the pairs ((R, C) dense).
        """
        if self.dense:
            return a @ self.U.T - psi[None, :]
        return (a[self.row] * self.U[self.cell]).sum(-1) - psi[self.cell]

    def log_normalise(self, z: Any) -> Any:
        """z − log Σ_row exp z: log-softmax over each row's cells.

        Parameters
        ----------
        z : torch.Tensor
            Scores on the pairs.

        Returns
        -------
        torch.Tensor
            Log-probabilities on the pairs.
        """
        torch = _torch()
        if self.dense:
            return torch.log_softmax(z, dim=-1)
        with torch.no_grad():
            mx = torch.full((self.n_rows,), -math.inf, dtype=z.dtype).scatter_reduce(0, self.row, z, reduce="amax")
        zz = z - mx[self.row]
        return zz - torch.log(self.rowsum(torch.exp(zz)))[self.row]


def _window_pairs(P: np.ndarray, eps: float, margin: int, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(row, cell) pairs of the windows: p > eps·max p, dilated by ``margin`` cells on the grid."""
    from scipy.ndimage import maximum_filter

    R = P.shape[0]
    mask = P > eps * P.max(axis=1, keepdims=True)
    if margin > 0:
        m = mask.reshape((R,) + tuple(shape)).view(np.uint8)
        size = (1,) + (2 * margin + 1,) * len(shape)
        mask = maximum_filter(m, size=size, mode="constant", cval=0).astype(bool).reshape(R, -1)
    return np.nonzero(mask)


def model_log_posterior(rc: RowCells, psi: Any, a: Any, S: Any = None) -> tuple[Any, Any]:
    """log q_r and q_r of equation (1) on the pairs, convolved with ``S`` when given (dense only).

    Parameters
    ----------
    rc : RowCells
        The pairs.
    psi : torch.Tensor
        Ψ at the cells, shape (C,).
    a : torch.Tensor
        Linear terms, shape (R, d).
    S : GridKernel, optional
        Row-stochastic output kernel.

    Returns
    -------
    logq, q : torch.Tensor
        On the pairs ((R, C) dense).
    """
    torch = _torch()
    logq = rc.log_normalise(rc.scores(psi, a))
    q = torch.exp(logq)
    if S is not None:
        q = S.apply(q)
        logq = torch.log(q.clamp_min(torch.finfo(q.dtype).tiny))
    return logq, q


def divergence(rc: RowCells, logq: Any, q: Any, kind: str, *, centroid_weight: float = 0.0,
               diagonal: float = 1.0) -> Any:
    """Mean over rows of KL(p ‖ q) (``"kl"``) or JSD(p, q) (``"jsd"``), plus the centroid term.

    Parameters
    ----------
    rc : RowCells
        The pairs and the target p.
    logq, q : torch.Tensor
        The model posterior on the pairs (:func:`model_log_posterior`).
    kind : {"kl", "jsd"}
        The divergence.
    centroid_weight : float, default 0.0
        Weight of ‖E_p[t] − E_q[t]‖ / ``diagonal`` (≥ 0).
    diagonal : float, default 1.0
        The box diagonal in natural units.

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    torch = _torch()
    if kind == "kl":
        val = (rc.plogp - rc.rowsum(rc.p * logq)).mean()
    else:
        logm = torch.logaddexp(rc.logp, logq) - math.log(2.0)
        kl_pm = rc.plogp - rc.rowsum(rc.p * logm)
        kl_qm = rc.rowsum(q * (logq - logm))
        val = 0.5 * (kl_pm + kl_qm).mean()
    if centroid_weight > 0:
        cq = rc.expect(q, rc.T)
        val = val + centroid_weight * torch.linalg.vector_norm(rc.tbar - cq, dim=-1).mean() / diagonal
    return val


def solve_linear_terms(rc: RowCells, psi: Any, a: Any, S: Any = None, *, iters: int = 3,
                       max_step: float = 10.0) -> Any:
    """Profile the free linear terms: damped Newton steps on KL(p_r ‖ q_r) over a_r (module docstring).

    Parameters
    ----------
    rc : RowCells
        The pairs.
    psi : torch.Tensor
        Ψ at the cells, shape (C,) (treated as a constant).
    a : torch.Tensor
        Starting linear terms, shape (R, d).
    S : GridKernel, optional
        The output kernel (dense only).
    iters : int, default 3
        Newton steps (warm starts make a few enough).
    max_step : float, default 10.0
        Largest step norm (box units of ∇Ψ).

    Returns
    -------
    torch.Tensor
        The updated a, shape (R, d), detached.
    """
    torch = _torch()
    d = rc.dim
    with torch.no_grad():
        psi = psi.detach()
        a = a.detach().clone()
        eye = torch.eye(d, dtype=a.dtype)
        for _ in range(iters):
            q = torch.exp(rc.log_normalise(rc.scores(psi, a)))
            mq = rc.expect(q, rc.U)
            cov = rc.expect(q, rc.UU).reshape(-1, d, d) - mq[:, :, None] * mq[:, None, :]
            if S is None:
                target = rc.ubar
            else:
                qs = S.apply(q).clamp_min(torch.finfo(q.dtype).tiny)
                r = q * S.apply_transpose(rc.p / qs)
                target = r @ rc.U
            ridge = 1e-9 + 1e-6 * torch.diagonal(cov, dim1=-2, dim2=-1).mean(-1)
            step = torch.linalg.solve(cov + ridge[:, None, None] * eye, (mq - target)[..., None])[..., 0]
            norm = torch.linalg.vector_norm(step, dim=-1, keepdim=True)
            a = a - step * torch.clamp(max_step / norm.clamp_min(1e-300), max=1.0)
    return a


def mse_loss(rc: RowCells, psi: Any, psi_o: Any, go: Any, uo: Any, target: Any, n_eff: float) -> Any:
    """The paper's Theorem 3.2 loss: mean (p^{1/n_eff}/max − exp(−D_Ψ/n_eff))², dense, paper's form.

    n_eff D = Ψ(u) − Ψ(u') − ⟨∇Ψ(u'), u − u'⟩ at the row's origin u'.

    Parameters
    ----------
    rc : RowCells
        Dense pairs.
    psi : torch.Tensor
        Ψ at the cells, (C,).
    psi_o, go, uo : torch.Tensor
        Ψ (R,), ∇Ψ (R, d) and u (R, d) at each row's origin.
    target : torch.Tensor
        p^{1/n_eff} scaled to peak 1 per row, (R, C).
    n_eff : float
        The temperature.

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    torch = _torch()
    nD = psi[None, :] - psi_o[:, None] - (go @ rc.U.T - (go * uo).sum(-1, keepdim=True))
    return ((target - torch.exp(-nD / n_eff)) ** 2).mean()
