"""Exactly solvable physics models: samplers, exact references and what the geometry layer needs.

Each model is a :class:`PhysicsModel` that carries its parameter names, the map to its natural
coordinates, its sampler, exact (or anchored) references, the exact-likelihood posterior and
its phase diagram (docs/models.md):

* :class:`IsingModel` — the 2-D Ising model on an L×L torus, an exponential family in
  (K, η) = (J/T, H/T) with sufficient statistics (B, M) (docs/ising_exact.md,
  docs/ising_sampling.md);
* :class:`TasepModel` — the open TASEP with N sites, ln Z_N in θ = (−ln α, −ln β)
  (docs/tasep.md).

The exact results on their own live in :mod:`statgeo.models.exact`. Every entry point refuses
bad input before any work (docs/conventions.md, "Errors and bad input"); the caps on sizes and
run lengths are listed in docs/ising_sampling.md and docs/tasep.md ("Limits"). The first use of a
Numba kernel compiles it once (cached on disk) and says so (docs/ising_sampling.md, "First call:
Numba compilation").
"""

from statgeo.models.ising import IsingModel, sufficient_statistics, thermodynamics
from statgeo.models.ising_reference import (
    anchored_integral,
    ising_mc_reference,
    quadrature_nodes,
    unresolved_intervals,
)
from statgeo.models.ising_sampling import check_natural_grid, run_chains
from statgeo.models.packing import pack_dataset, pack_sites, unpack_dataset, unpack_sites
from statgeo.models.physics_model import (
    MODELS,
    ExponentialFamilyModel,
    PhaseDiagram,
    PhysicsModel,
    make_model,
    model_from_config,
    model_from_dataset,
    register_model,
)
from statgeo.models.tasep import TasepModel
from statgeo.models.tasep_mc import MCResult, default_burn_in, relaxation_time_estimate, simulate_mc

__all__ = [
    "PhysicsModel",
    "ExponentialFamilyModel",
    "PhaseDiagram",
    "MODELS",
    "register_model",
    "make_model",
    "model_from_config",
    "model_from_dataset",
    "IsingModel",
    "TasepModel",
    "thermodynamics",
    "sufficient_statistics",
    "run_chains",
    "check_natural_grid",
    "ising_mc_reference",
    "quadrature_nodes",
    "anchored_integral",
    "unresolved_intervals",
    "simulate_mc",
    "MCResult",
    "default_burn_in",
    "relaxation_time_estimate",
    "pack_sites",
    "unpack_sites",
    "pack_dataset",
    "unpack_dataset",
]
