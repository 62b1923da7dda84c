"""Every public entry point has a bad-input property test (see tests/bad_input.py).

The public entry points are the functions and classes in the ``__all__`` of the packages
below, and the public methods of those classes that take arguments. Each one must be
described by an ``EntryPoint`` in one of the registries, or listed in a registry's
``NOT_ENTRY_POINTS`` with the reason it takes no user input.
"""

from __future__ import annotations

import collections
import importlib
import inspect

import pytest

PACKAGES = (
    "statgeo",
    "statgeo.grid",
    "statgeo.coordinates",
    "statgeo.models",
    "statgeo.models.exact",
    "statgeo.geometry",
    "statgeo.diffusion",
    "statgeo.diffusion.diffusability",
)
REGISTRIES = (
    "tests.test_bad_input",
    "tests.models.test_bad_input",
    "tests.geometry.test_bad_input",
    "tests.diffusion.test_bad_input",
)


def _takes_arguments(fn) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    return any(p.name not in ("self", "cls") for p in params)



def public_entry_points() -> list[set[str]]:
    """Every public entry point, as the set of its qualified names (an object re-exported by
    several packages has several names; covering any one of them covers it)."""
    names: dict[int, set[str]] = collections.defaultdict(set)
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        for n in getattr(mod, "__all__", ()):
            obj = getattr(mod, n)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue  # constants, tuples of choices
            names[id(obj)].add(f"{pkg}.{n}")
            if inspect.isclass(obj):
                for k, v in vars(obj).items():
                    fn = v.__func__ if isinstance(v, (classmethod, staticmethod)) else v
                    if k.startswith("_") or not inspect.isfunction(fn) or not _takes_arguments(fn):
                        continue
                    names[id(fn)].add(f"{pkg}.{n}.{k}")
    return list(names.values())


def _registered() -> tuple[set[str], dict[str, str]]:
    covered: set[str] = set()
    excused: dict[str, str] = {}
    for reg in REGISTRIES:
        mod = importlib.import_module(reg)
        covered |= {ep.name for ep in mod.ENTRY_POINTS}
        excused.update(mod.NOT_ENTRY_POINTS)
    return covered, excused


def test_every_public_entry_point_has_a_bad_input_test():
    covered, excused = _registered()
    known = covered | set(excused)
    missing = sorted(min(aliases) for aliases in public_entry_points() if not aliases & known)
    assert not missing, f"{len(missing)} public entry points lack a bad-input test: {missing}"


@pytest.mark.parametrize("registry", REGISTRIES)
def test_registries_name_real_public_objects(registry):
    mod = importlib.import_module(registry)
    for name in [ep.name for ep in mod.ENTRY_POINTS] + list(mod.NOT_ENTRY_POINTS):
        pkg = next((p for p in sorted(PACKAGES, key=len, reverse=True) if name.startswith(p + ".")), None)
        assert pkg is not None, f"{registry}: {name} is not in one of {PACKAGES}"
        obj = importlib.import_module(pkg)
        for part in name[len(pkg) + 1:].split("."):
            obj = getattr(obj, part)  # AttributeError names the stale entry
    for name, why in mod.NOT_ENTRY_POINTS.items():
        assert isinstance(why, str) and len(why) > 10, f"{registry}: give a reason for excusing {name}"
