"""Exact results for the physics models, each checked against an independent exact computation.

2-D Ising model on the L×L torus (:mod:`statgeo.models.exact.ising`, docs/ising_exact.md):
Onsager's infinite-lattice results, Kaufman's finite-torus partition function in a
cancellation-free log form, exact enumeration of the joint counts g(B, M) (L ≤ 5), the
momentum-blocked row transfer matrix (L ≤ 12, any field) and :func:`ising_exact` on a grid.

Open TASEP (:mod:`statgeo.models.exact.tasep`, docs/tasep.md): ln Z_N in closed form, current
and density profile, the finite matrix representation (probabilities, scores, enumeration,
exact sampling), the observable Fisher information and :func:`tasep_exact` on a grid. The
TASEP functions ``log_partition``, ``current`` … take (N, α, β); N is capped at
``CLOSED_FORM_MAX_N`` = 10⁶ for the O(N) closed forms and ``QUADRATIC_MAX_N`` = 10⁵ for the
O(N²) routines.

Every function checks its arguments first and refuses bad ones with a ``TypeError`` or
``ValueError`` naming the argument and the accepted range (docs/conventions.md, "Errors and
bad input").
"""

from statgeo.models.exact.ising import (
    ENUMERATION_L_MAX,
    K_C,
    KAUFMAN_K_MAX,
    KAUFMAN_L_MAX,
    T_C,
    TRANSFER_MATRIX_L_MAX,
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
from statgeo.models.exact.tasep import (
    CLOSED_FORM_MAX_N,
    ENUMERATION_AUTO_MAX_N,
    QUADRATIC_MAX_N,
    MAX_ENUMERATION_N,
    check_rates,
    check_tasep_grid,
    configuration_log_prob,
    configuration_log_weight,
    configuration_scores,
    current,
    density_profile,
    enumerate_law,
    log_partition,
    log_partition_all,
    log_partition_derivatives,
    log_partition_matrix,
    observable_fisher_enumeration,
    observable_fisher_from_samples,
    sample_exact,
    tasep_exact,
    tasep_matrices,
)

__all__ = [
    # Ising
    "K_C",
    "T_C",
    "onsager_log_z_per_site",
    "onsager_energy_per_site",
    "onsager_specific_heat_per_site",
    "onsager_magnetisation",
    "kaufman_log_z",
    "kaufman_thermo",
    "IsingDensityOfStates",
    "transfer_matrix_log_z",
    "transfer_matrix_thermo",
    "ising_exact",
    "ENUMERATION_L_MAX",
    "TRANSFER_MATRIX_L_MAX",
    "KAUFMAN_K_MAX",
    "KAUFMAN_L_MAX",
    # TASEP
    "check_rates",
    "check_tasep_grid",
    "tasep_exact",
    "log_partition",
    "log_partition_derivatives",
    "log_partition_all",
    "log_partition_matrix",
    "current",
    "density_profile",
    "tasep_matrices",
    "configuration_log_weight",
    "configuration_log_prob",
    "configuration_scores",
    "enumerate_law",
    "sample_exact",
    "observable_fisher_enumeration",
    "observable_fisher_from_samples",
    "MAX_ENUMERATION_N",
    "ENUMERATION_AUTO_MAX_N",
    "CLOSED_FORM_MAX_N",
    "QUADRATIC_MAX_N",
]
