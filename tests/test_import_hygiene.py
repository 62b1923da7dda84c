"""Plain imports: no private names across packages, no ``import *``, no run-time module lookup.

* A private name (a module or object whose name starts with ``_``) may be imported only from
  within the package that owns it (or its subpackages): ``statgeo.geometry._array`` is for
  ``statgeo.geometry``, not for ``statgeo.models``, ``validation``, ``benchmarks`` or the tests.
* ``from x import *`` nowhere; ``importlib.import_module`` and module-level ``__getattr__``
  nowhere in the library (names are found by reading the imports).
* Every package ``__init__`` declares ``__all__`` explicitly, as a list of string literals that
  are all bound in the package.
"""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("statgeo", "validation", "benchmarks", "tests")


def _python_files():
    for d in SOURCE_DIRS:
        yield from sorted((ROOT / d).rglob("*.py"))


def _package_of(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    else:
        parts = parts[:-1]
    return ".".join(parts)


def _owner_of_private(dotted: str) -> str | None:
    """The package that owns the first private component of ``dotted`` (None if all public)."""
    parts = dotted.split(".")
    for i, p in enumerate(parts):
        if p.startswith("_") and not (p.startswith("__") and p.endswith("__")):
            owner = parts[:i]
            # a private object inside a public module belongs to the module's package
            return ".".join(owner)
    return None


def _resolve(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


def _module_path_owner(owner: str) -> str:
    """If ``owner`` is a module (not a package), its package; else ``owner`` itself."""
    path = ROOT / pathlib.Path(*owner.split("."))
    if path.with_suffix(".py").is_file():
        return owner.rpartition(".")[0]
    return owner


def _violations(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _package_of(path)
    out = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            mod = _resolve(node, package)
            for alias in node.names:
                if alias.name == "*":
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {mod} import *")
                    continue
                targets.append(f"{mod}.{alias.name}")
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        for t in targets:
            if not t.split(".")[0] in ("statgeo", "validation", "benchmarks", "tests"):
                continue
            owner = _owner_of_private(t)
            if owner is None:
                continue
            owner_pkg = _module_path_owner(owner)
            if not (package == owner_pkg or package.startswith(owner_pkg + ".")):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports private {t} (owned by {owner_pkg})")
    return out


def test_no_private_names_across_packages_and_no_star_imports():
    problems = [v for f in _python_files() for v in _violations(f)]
    assert not problems, "\n".join(problems)


def test_library_finds_names_by_reading_imports():
    problems = []
    for f in sorted((ROOT / "statgeo").rglob("*.py")):
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "import_module":
                problems.append(f"{f.relative_to(ROOT)}:{node.lineno}: importlib.import_module")
            if isinstance(node, ast.FunctionDef) and node.name == "__getattr__" and node in tree.body:
                problems.append(f"{f.relative_to(ROOT)}:{node.lineno}: module-level __getattr__")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("init", sorted(p for p in (ROOT / "statgeo").rglob("__init__.py")), ids=lambda p: str(p.parent.name))
def test_every_package_declares_its_public_names(init):
    tree = ast.parse(init.read_text())
    decl = [n for n in tree.body if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in n.targets)]
    assert decl, f"{init.relative_to(ROOT)} has no __all__"
    value = decl[0].value
    assert isinstance(value, ast.List) and all(isinstance(e, ast.Constant) and isinstance(e.value, str)
                                               for e in value.elts), f"{init.relative_to(ROOT)}: __all__ must list names"
    names = [e.value for e in value.elts]
    assert len(names) == len(set(names)), f"{init.relative_to(ROOT)}: duplicates in __all__"
    pkg = importlib.import_module(".".join(init.relative_to(ROOT).parent.parts))
    missing = [n for n in names if not hasattr(pkg, n)]
    assert not missing, f"{init.relative_to(ROOT)}: __all__ names unbound names {missing}"
