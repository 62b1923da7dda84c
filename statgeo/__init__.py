"""statgeo: the information geometry of generative models, recovered from their samples.

Subpackages
-----------
statgeo.models     exactly solvable physics models (2-D Ising, open TASEP): samplers and exact references
statgeo.geometry   Bregman divergences, posteriors on a grid, log-partition fitting, metric, geodesics
statgeo.diffusion  diffusion-model adapters and Fisher-information diffusability diagnostics
"""

from statgeo.grid import Axis, CoordinateMap, ParameterGrid
from statgeo.stats import Stats, estimate

__version__ = "0.1.0.dev0"
__all__ = ["Axis", "CoordinateMap", "ParameterGrid", "Stats", "estimate", "__version__"]
