"""Presets of ``python -m validation.digits`` (docs/digits.md, "Presets and cost").

A preset fixes every cost knob of the chain: the sweep side N, the posterior grid (a block
average of the sweep grid), the DDIM steps of the generators, the seed search, the zoom
(points, window side), the Lipschitz probes and the geodesic paths.

* ``full`` — the full size: a 64×64 sweep, 4 zoom points on 32×32 windows, 2 slices per
  generator (error bars over zoom points and slices).
* ``quick`` — ≤ ~10 minutes on 2 CPU cores for both generators (the zoo excluded): a 32×32
  sweep, 3 zoom points on 16×16 windows, 2 slices, 10 DDIM steps.
* ``tiny`` — the CI preset (tests/validation/test_digits.py): an 8×8 sweep, 1 zoom point on
  8×8 windows, 3 DDIM steps, a few optimiser steps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

__all__ = ["PRESETS", "Settings", "get_preset"]


@dataclass(frozen=True)
class Settings:
    """Cost knobs of one run of the digits chain.

    Parameters
    ----------
    name : str
        The preset's name.
    n : int
        Sweep points per slice side (N × N grid over [0, 1]²).
    block : int
        Sweep points per posterior cell side: the posterior grid has N / block points per
        side, at the centres of block × block tiles of the sweep grid.
    steps : int
        DDIM steps of both generators (η = 0).
    slices : int
        Slices (seed triples) per generator.
    seed_candidates : int
        Anchor seeds tried by the slice search (seed, seed + 1, ...).
    min_confidence : float
        Classifier confidence an anchor (and a probe point) must reach.
    zoom_points : int
        Boundary points zoomed per slice (≥ 3 gives an error bar over points).
    zoom_n : int
        Grid points per zoom window side (≥ 8).
    precision_points : int
        Zoom points per slice whose three finest windows are regenerated with float64 weights
        (on 8 × 8 windows) to measure where the model dtype's labels stop being the model's.
    boundary_points : int
        Boundary points of the Lipschitz probe per slice (the zoom points are the first).
    inside_points : int
        Points inside phases of the Lipschitz probe per slice.
    lipschitz_decades : int
        Most steps δ = 10⁻¹, 10⁻², … of the Lipschitz probe (stopped 100× above the effective
        resolution).
    path_points : int
        Images along each geodesic and straight path.
    geodesic_iter : int
        Most optimiser iterations of each boundary-value geodesic.
    ridge_threshold : float
        Boundary-score threshold of the ridge curves (``extract_boundaries``; the library's
        default is 3).
    fit_steps : int
        ``max_steps`` of each log-partition fit.
    neural_steps : int or str
        Training steps of the neural grid posterior (``"auto"``: the library's default).
    neural_hidden : int
        Width of the neural posterior's MLP.
    batch_size : int
        Latents per generator call.
    quality_samples : int
        Samples per generator of the zoo's quality gates when they are not cached.
    quality_steps : int
        DDIM steps of the quality gates (the zoo's gates use 50).
    """

    name: str
    n: int
    block: int
    steps: int
    slices: int
    seed_candidates: int
    min_confidence: float
    zoom_points: int
    zoom_n: int
    precision_points: int
    boundary_points: int
    inside_points: int
    lipschitz_decades: int
    path_points: int
    geodesic_iter: int
    ridge_threshold: float
    fit_steps: int
    neural_steps: int | str
    neural_hidden: int
    batch_size: int
    quality_samples: int
    quality_steps: int

    @property
    def posterior_n(self) -> int:
        """Posterior grid points per side (N / block)."""
        return self.n // self.block

    def to_dict(self) -> dict:
        """The settings as a JSON-ready dict.

        Returns
        -------
        dict
            Every field.
        """
        return dataclasses.asdict(self)


PRESETS = {
    "full": Settings("full", n=64, block=4, steps=25, slices=2, seed_candidates=256, min_confidence=0.9,
                     zoom_points=4, zoom_n=32, precision_points=2, boundary_points=12, inside_points=12,
                     lipschitz_decades=7, path_points=24, geodesic_iter=1000, ridge_threshold=2.0, fit_steps=600,
                     neural_steps="auto", neural_hidden=128, batch_size=256, quality_samples=1000, quality_steps=50),
    "quick": Settings("quick", n=32, block=2, steps=10, slices=2, seed_candidates=128, min_confidence=0.9,
                      zoom_points=3, zoom_n=16, precision_points=1, boundary_points=6, inside_points=6,
                      lipschitz_decades=6, path_points=16, geodesic_iter=100, ridge_threshold=2.0, fit_steps=300,
                      neural_steps=1000, neural_hidden=64, batch_size=256, quality_samples=1000, quality_steps=50),
    "tiny": Settings("tiny", n=8, block=2, steps=3, slices=1, seed_candidates=32, min_confidence=0.0,
                     zoom_points=1, zoom_n=8, precision_points=1, boundary_points=2, inside_points=2,
                     lipschitz_decades=3, path_points=5, geodesic_iter=20, ridge_threshold=2.0, fit_steps=5,
                     neural_steps=20, neural_hidden=16, batch_size=64, quality_samples=40, quality_steps=3),
}


def get_preset(name: str, **overrides) -> Settings:
    """A preset by name, with some fields replaced.

    Parameters
    ----------
    name : {"full", "quick", "tiny"}
        The preset.
    **overrides
        Fields to replace (None values are ignored).

    Returns
    -------
    Settings

    Raises
    ------
    ValueError
        An unknown preset or field, or a value out of range (sweep side not a multiple of the
        block, fewer than 2 posterior points per side, a zoom window below 8 points).
    """
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {name!r}")
    fields = {f.name for f in dataclasses.fields(Settings)}
    bad = [k for k in overrides if k not in fields]
    if bad:
        raise ValueError(f"unknown settings {bad}; known: {sorted(fields)}")
    s = dataclasses.replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
    checks = [("n", s.n >= 4, "an integer >= 4"), ("block", s.block >= 1 and s.n % s.block == 0,
                                                  f"a divisor of n = {s.n}"),
              ("block", s.n // max(s.block, 1) >= 3, f"at most n / 3 = {s.n // 3} (3 posterior points per side)"),
              ("steps", 1 <= s.steps <= 1000, "in [1, 1000]"), ("slices", s.slices >= 1, ">= 1"),
              ("seed_candidates", s.seed_candidates >= 3, ">= 3"),
              ("min_confidence", 0.0 <= s.min_confidence < 1.0, "in [0, 1)"),
              ("zoom_points", s.zoom_points >= 0, ">= 0"), ("zoom_n", s.zoom_n >= 8, ">= 8"),
              ("precision_points", 0 <= s.precision_points <= s.zoom_points, f"in [0, zoom_points = {s.zoom_points}]"),
              ("boundary_points", s.boundary_points >= s.zoom_points, f">= zoom_points = {s.zoom_points}"),
              ("inside_points", s.inside_points >= 0, ">= 0"),
              ("lipschitz_decades", 2 <= s.lipschitz_decades <= 15, "in [2, 15]"),
              ("path_points", s.path_points >= 3, ">= 3"),
              ("geodesic_iter", s.geodesic_iter >= 1, ">= 1"),
              ("ridge_threshold", np.isfinite(s.ridge_threshold), "finite"), ("fit_steps", s.fit_steps >= 1, ">= 1"),
              ("neural_hidden", s.neural_hidden >= 1, ">= 1"), ("batch_size", s.batch_size >= 1, ">= 1"),
              ("quality_samples", s.quality_samples >= 10, ">= 10"), ("quality_steps", s.quality_steps >= 1, ">= 1")]
    for field, ok, what in checks:
        if not ok:
            raise ValueError(f"{field} must be {what}, got {getattr(s, field)!r}")
    if not (s.neural_steps == "auto" or (isinstance(s.neural_steps, int) and s.neural_steps >= 1)):
        raise ValueError(f"neural_steps must be 'auto' or an integer >= 1, got {s.neural_steps!r}")
    return s
