"""A potential from its gradient field on a parameter grid: least-squares line integration.

Given the gradient ∇Φ sampled at the points of a product grid (any spacing, any coordinates in
which the points are laid out), the potential Φ at the points follows, up to a constant, from
the line integrals along the edges between neighbouring points. Along the straight edge from
point p to its index-neighbour q the trapezoid rule gives

    Φ(q) − Φ(p) ≈ ⟨(∇Φ(p) + ∇Φ(q)) / 2, x_q − x_p⟩,

exact when Φ is quadratic along the edge (its error is −(1/12) ∂³Φ·h³ per edge of length h).
A grid has more edges than points, so the equations are solved in the least-squares sense: the
graph Laplacian DᵀD of the grid's edges (one sparse factorisation, anchored at the first
point) applied to Dᵀr, the usual discrete Poisson integration of a gradient field. The
potential is returned with mean zero over the points.

Used by the exponential-family head of :class:`~statgeo.geometry.NeuralGridPosterior`: for an
exponential family, ∇Φ at a grid point is the mean of the sufficient statistic over the samples
drawn there (thermodynamic integration), so the head's log-partition follows from its learned
statistic (docs/geometry_fitting.md, "The exponential-family head").
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import linalg as sparse_linalg

from statgeo.checks import check_array

__all__ = ["GridLineIntegrator"]


class GridLineIntegrator:
    """Least-squares line integration of gradient fields on one product grid (module docstring).

    The grid's edge structure is factorised once; :meth:`potential` then integrates any number
    of fields at the cost of a sparse triangular solve each.

    Parameters
    ----------
    points : array_like
        The grid's points in the coordinates the gradients are taken in, shape (C, d) with
        C = prod(shape), in C order over ``shape`` (as ``ParameterGrid.points()``); finite.
    shape : tuple of int
        The grid's shape (n_0, …, n_{k−1}), each ≥ 2, with prod(shape) = C. The points need
        not form a Cartesian product in these coordinates (e.g. natural coordinates of a grid
        laid out in physical ones); edges join points whose indices differ by one along one axis.

    Raises
    ------
    ValueError
        ``points`` not finite or not of C rows, or an axis of ``shape`` with fewer than 2 points.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.stack(np.meshgrid(np.linspace(0, 1, 5), np.linspace(-1, 1, 4), indexing="ij"), -1).reshape(-1, 2)
    >>> phi = x[:, 0] ** 2 + x[:, 0] * x[:, 1]
    >>> grad = np.stack([2 * x[:, 0] + x[:, 1], x[:, 0]], -1)
    >>> est = GridLineIntegrator(x, (5, 4)).potential(grad)
    >>> bool(np.allclose(est, phi - phi.mean()))
    True
    """

    def __init__(self, points: np.ndarray, shape: tuple[int, ...]) -> None:
        shape = tuple(int(v) for v in shape)
        if any(v < 2 for v in shape):
            raise ValueError(f"shape must have at least 2 points on every axis, got {shape}")
        C = int(np.prod(shape))
        x = check_array("points", points, ndim=2, dtype_kind="iuf").astype(np.float64)
        if x.shape[0] != C:
            raise ValueError(f"points must have prod(shape) = {C} rows, got {x.shape[0]}")
        idx = np.arange(C).reshape(shape)
        heads, tails = [], []
        for axis in range(len(shape)):
            lo = [slice(None)] * len(shape)
            hi = [slice(None)] * len(shape)
            lo[axis], hi[axis] = slice(0, -1), slice(1, None)
            tails.append(idx[tuple(lo)].ravel())
            heads.append(idx[tuple(hi)].ravel())
        self._tail, self._head = np.concatenate(tails), np.concatenate(heads)
        E = self._tail.size
        rows = np.r_[np.arange(E), np.arange(E)]
        self._D = sparse.csr_matrix((np.r_[np.ones(E), -np.ones(E)], (rows, np.r_[self._head, self._tail])),
                                    shape=(E, C))
        self._dx = x[self._head] - x[self._tail]  # (E, d) edge vectors
        anchor = sparse.csr_matrix(([1.0], ([0], [0])), shape=(C, C))
        self._lu = sparse_linalg.splu((self._D.T @ self._D + anchor).tocsc())
        self.size, self.ndim = C, x.shape[1]

    def potential(self, gradient: np.ndarray) -> np.ndarray:
        """Φ at the points (mean zero) from ∇Φ at the points.

        Parameters
        ----------
        gradient : array_like
            Shape (C, d) for one field or (C, d, k) for k fields at once; finite.

        Returns
        -------
        numpy.ndarray
            Shape (C,) or (C, k), float64.

        Raises
        ------
        ValueError
            ``gradient`` of the wrong shape or not finite.
        """
        g = check_array("gradient", gradient, dtype_kind="iuf").astype(np.float64)
        if g.ndim not in (2, 3) or g.shape[:2] != (self.size, self.ndim):
            raise ValueError(f"gradient must have shape ({self.size}, {self.ndim}) or ({self.size}, {self.ndim}, k), "
                             f"got {g.shape}")
        one = g.ndim == 2
        g = g[..., None] if one else g
        mid = 0.5 * (g[self._tail] + g[self._head])            # (E, d, k)
        r = np.einsum("edk,ed->ek", mid, self._dx)              # trapezoid increments along the edges
        phi = self._lu.solve(np.asarray(self._D.T @ r))
        phi -= phi.mean(0)
        return phi[:, 0] if one else phi
