"""Compute kernels of the physics models, one module per backend and model.

``ising_numba`` / ``ising_cupy`` (checkerboard Metropolis, Wolff), ``tasep_numba`` /
``tasep_cupy`` (matrix-representation enumeration and sampling, continuous-time Monte Carlo)
and ``rng_numba`` (the xoshiro256** generator every Numba kernel uses). They are low-level:
arguments are checked by the callers in :mod:`statgeo.models`, not here. Import a kernel module
explicitly (``from statgeo.models.kernels import ising_numba``); importing this package imports
none of them, so that CuPy and the Numba compilation are only touched when needed.
"""

__all__ = []  # type: list[str]
