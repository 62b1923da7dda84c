"""statgeo: the information geometry of generative models, recovered from their samples.

Subpackages
-----------
statgeo.models     exactly solvable physics models (2-D Ising, open TASEP): samplers and exact references
statgeo.geometry   Bregman divergences, posteriors on a grid, log-partition fitting, metric, geodesics
statgeo.diffusion  diffusion-model adapters and Fisher-information diffusability diagnostics

Shared pieces at the top level: parameter grids (:mod:`statgeo.grid`), coordinate maps
(:mod:`statgeo.coordinates`), Monte Carlo estimates with error bars (:mod:`statgeo.stats`),
argument checks (:mod:`statgeo.checks`), seeding (:mod:`statgeo.seeding`), provenance attrs
(:mod:`statgeo.provenance`), progress bars (:mod:`statgeo.progress`) and thread control
(:mod:`statgeo.threads`). See docs/README.md for the documentation map.
"""

from statgeo.coordinates import (
    CoordinateMap,
    gaussian_mean_std_map,
    identity_map,
    ising_temperature_field_map,
    register_coordinate_map,
    tasep_rates_map,
)
from statgeo.grid import Axis, ParameterGrid
from statgeo.stats import Stats, estimate

__version__ = "0.1.0.dev0"
__all__ = [
    "Axis",
    "ParameterGrid",
    "CoordinateMap",
    "register_coordinate_map",
    "identity_map",
    "ising_temperature_field_map",
    "tasep_rates_map",
    "gaussian_mean_std_map",
    "Stats",
    "estimate",
    "__version__",
]
