"""One docstring style: numpydoc, checked with numpydoc's own validator.

Every public function, class and method of the public modules has a numpydoc docstring with
its Parameters (each with a type and a description), Returns where it returns something,
sections in the standard order; the main entry points also carry an Examples section (their
doctests run with the test suite, see ``--doctest-modules`` in pyproject.toml).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

#: numpydoc checks enforced on every public object
CODES = {
    "GL06",  # unknown section
    "GL07",  # sections in the wrong order
    "GL08",  # no docstring
    "SS01",  # no summary
    "PR01",  # parameters not documented
    "PR02",  # unknown parameters documented
    "PR03",  # parameters documented in the wrong order
    "PR04",  # parameter without a type
    "PR07",  # parameter without a description
    "PR10",  # "name: type" without the space before the colon
    "RT01",  # no Returns section although the function returns something
    "YD01",  # no Yields section for a generator
}

PACKAGES = ("statgeo", "statgeo.models", "statgeo.geometry", "statgeo.diffusion")

#: the main entry points: these also need an Examples section
MAIN_ENTRY_POINTS = (
    "statgeo.grid.ParameterGrid",
    "statgeo.grid.ParameterGrid.from_ranges",
    "statgeo.grid.ParameterGrid.from_dataset",
    "statgeo.coordinates.CoordinateMap",
    "statgeo.stats.estimate",
    "statgeo.models.ising.IsingModel",
    "statgeo.models.tasep.TasepModel",
    "statgeo.models.exact.ising.ising_exact",
    "statgeo.models.exact.ising_kaufman.kaufman_thermo",
    "statgeo.models.exact.tasep.tasep_exact",
    "statgeo.models.exact.tasep_closed.log_partition",
    "statgeo.geometry.posterior_exact.exact_posterior",
    "statgeo.geometry.posterior_neural.NeuralGridPosterior",
    "statgeo.geometry.posterior_kernel.feature_kernel_posterior",
    "statgeo.geometry.logpartition.fit_log_partition",
    "statgeo.geometry.bregman.bregman_divergence",
    "statgeo.geometry.geodesic.geodesic_bvp",
    "statgeo.geometry.boundary.boundary_score",
    "statgeo.geometry.accessor.StatgeoAccessor",
    "statgeo.diffusion.slices.LatentSlice",
    "statgeo.diffusion.sweep.sweep",
    "statgeo.diffusion.analysis.analyse_slice",
    "statgeo.diffusion.diffusability.estimators.estimate_diffusability",
    "statgeo.diffusion.diffusability.gaussian.gaussian_diagnostics",
)


def _public_modules(root: str):
    mod = importlib.import_module(root)
    yield mod
    if not hasattr(mod, "__path__"):
        return
    for info in pkgutil.walk_packages(mod.__path__, root + "."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or "kernels" in parts:
            continue  # private modules; Numba/CuPy kernels are documented as kernels, not API
        if info.ispkg:
            continue  # subpackages are walked on their own
        yield importlib.import_module(info.name)


def public_objects(root: str) -> list[str]:
    """Qualified names of the public functions, classes and methods defined in ``root``'s modules."""
    out: list[str] = []
    seen: set[int] = set()
    for mod in _public_modules(root):
        names = getattr(mod, "__all__", [n for n in dir(mod) if not n.startswith("_")])
        for n in names:
            obj = getattr(mod, n, None)
            if obj is None or getattr(obj, "__module__", None) != mod.__name__ or id(obj) in seen:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            seen.add(id(obj))
            out.append(f"{mod.__name__}.{n}")
            if inspect.isclass(obj):
                for k, v in vars(obj).items():
                    if k.startswith("_") and k != "__call__":
                        continue
                    if inspect.isfunction(v) or isinstance(v, (classmethod, staticmethod)):
                        out.append(f"{mod.__name__}.{n}.{k}")
    return out


def _errors(name: str, codes: set[str]) -> list[str]:
    res = numpydoc_validate.validate(name)
    return [f"{code} {msg}" for code, msg in res["errors"] if code in codes]


@pytest.mark.parametrize("package", PACKAGES)
def test_public_docstrings_follow_numpydoc(package):
    roots = [package] if package != "statgeo" else []
    if package == "statgeo":  # the top-level modules only; subpackages have their own case
        top = importlib.import_module("statgeo")
        roots = [f"statgeo.{info.name}" for info in pkgutil.iter_modules(top.__path__)
                 if not info.ispkg and not info.name.startswith("_")]
    problems = {}
    for root in roots:
        for name in public_objects(root):
            errs = _errors(name, CODES)
            if errs:
                problems[name] = errs
    report = "\n".join(f"{k}: {v}" for k, v in sorted(problems.items()))
    assert not problems, f"{len(problems)} public objects in {package} break the numpydoc style:\n{report}"


def test_main_entry_points_have_examples():
    missing = [n for n in MAIN_ENTRY_POINTS if _errors(n, {"EX01", "GL08"})]
    assert not missing, f"main entry points without an Examples section: {missing}"
