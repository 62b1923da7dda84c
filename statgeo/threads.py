"""Thread-pool control for small dense linear algebra.

Thousands of LAPACK/BLAS calls on small matrices (batched ``eigh`` of transfer-matrix blocks,
L-BFGS-B's vector updates) are slowed by a multi-threaded BLAS, which synchronises its threads
on every call: on a loaded 2-core machine batched ``eigh`` ran 20× slower and L-BFGS-B 13×
slower than with one thread (measured). Parallelism belongs to the caller (grid points,
replicas), so these hot spots run BLAS single-threaded through ``threadpoolctl``.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from threadpoolctl import threadpool_limits

__all__ = ["single_threaded_blas"]


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS/LAPACK with one thread inside the block; restore the previous limits after.

    Yields
    ------
    None
        Inside the ``with`` block BLAS uses one thread.

    Examples
    --------
    >>> with single_threaded_blas():
    ...     x = np.linalg.eigvalsh(np.eye(3))
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield
