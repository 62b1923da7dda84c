"""The documentation stands alone: every cited document exists, and the maps list every note.

1. Every reference to a Markdown file in the repository's Python and Markdown files
   (``statgeo/``, ``validation/``, ``benchmarks/``, ``tests/``, ``docs/``, ``README.md``)
   resolves to an existing file: ``docs/<name>``, or a path relative to the repository root or
   to the citing file. Names of files the package *writes* (its output artefacts) are listed
   in :data:`OUTPUT_FILES` with the writer.
2. No file cites the project's internal design notes, which are not part of the repository:
   the name of a physics, geometry, validation, architecture or performance note (the name
   followed by the Markdown suffix) is allowed only where the path written resolves to an
   existing file (``docs/performance.md`` does; the bare name in a benchmark script does not).
3. Every ``docs/*.md`` is listed in the documentation map ``docs/README.md`` and in the map of
   the repository's ``README.md`` (section "Documentation").
4. The notes speak to a user: no ``docs/*.md`` or ``README.md`` mentions a "spec" or
   "specification" in its prose (code spans and code blocks, e.g. ``CoordinateMap.spec()``,
   are not prose).
5. The Python examples of the notes that describe the package as a whole
   (:data:`EXECUTED_NOTES`) run as written, each note in a fresh interpreter (a note may
   register a model or a coordinate map, which must not leak into other tests).

The message of a failing test lists every offending file and line, so it doubles as the list
of citations still to fix.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCANNED_DIRS = ("statgeo", "validation", "benchmarks", "tests", "docs")

#: file names the package writes (output artefacts, not documents), mapped to the writer
OUTPUT_FILES = {
    "table1.md": "python -m validation.table1, in its --out directory",
    "table.md": "python -m validation.diffusability, in its --out directory",
}

#: the internal design notes that are not part of the repository (names without ".md")
INTERNAL_NOTES = ("physics", "geometry", "validation", "architecture", "performance")

#: notes whose ```python blocks are executed by :func:`test_examples_of_the_notes_run`
EXECUTED_NOTES = ("conventions.md", "grids_and_coordinates.md", "models.md", "geometry_fitting.md")

# a path ending in .md, not preceded by a path character (so URLs and longer names are skipped)
_MD_REF = re.compile(r"(?<![\w./-])((?:\.{1,2}/)?(?:[\w.-]+/)*[\w.-]+\.md)(?![\w-])")
_INTERNAL_REF = re.compile(
    r"(?<![\w./-])((?:\.{1,2}/)?(?:[\w.-]+/)*(?:" + "|".join(INTERNAL_NOTES) + r")\.md)(?![\w-])")


def _scanned_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for d in SCANNED_DIRS:
        for ext in ("*.py", "*.md"):
            files += [p for p in (ROOT / d).rglob(ext) if "__pycache__" not in p.parts]
    return sorted(set(files))


def _exists(ref: str, citing: Path, *, docs_fallback: bool) -> bool:
    candidates = [ROOT / ref, citing.parent / ref]
    if docs_fallback and "/" not in ref:
        candidates.append(DOCS / ref)
    return any(c.is_file() for c in candidates)


def _hits(pattern: re.Pattern, path: Path):
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for m in pattern.finditer(line):
            yield lineno, m.group(1)


def _where(path: Path, lineno: int) -> str:
    return f"{path.relative_to(ROOT)}:{lineno}"


def test_every_cited_markdown_file_exists():
    missing = []
    for path in _scanned_files():
        for lineno, ref in _hits(_MD_REF, path):
            if ref in OUTPUT_FILES or _exists(ref, path, docs_fallback=True):
                continue
            missing.append(f"{_where(path, lineno)}: {ref}")
    assert not missing, "references to Markdown files that do not exist:\n" + "\n".join(missing)


def test_no_citation_of_the_internal_notes():
    cited = []
    for path in _scanned_files():
        for lineno, ref in _hits(_INTERNAL_REF, path):
            if _exists(ref, path, docs_fallback=False):
                continue  # e.g. docs/performance.md, or the same note cited by its bare name from inside docs/
            cited.append(f"{_where(path, lineno)}: {ref}")
    assert not cited, ("citations of notes that are not in the repository (cite a file in docs/ instead):\n"
                       + "\n".join(cited))


def _doc_names() -> list[str]:
    return sorted(p.name for p in DOCS.glob("*.md"))


def test_the_documentation_map_lists_every_note():
    text = (DOCS / "README.md").read_text(encoding="utf-8")
    unlisted = [n for n in _doc_names() if n != "README.md" and not re.search(rf"(?<![\w.-]){re.escape(n)}", text)]
    assert not unlisted, f"docs/README.md does not list {unlisted}"


def test_the_readme_map_lists_every_note():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Documentation" in text, "README.md has no 'Documentation' section"
    section = text.split("## Documentation", 1)[1].split("\n## ", 1)[0]
    unlisted = [n for n in _doc_names() if f"docs/{n}" not in section]
    assert not unlisted, f"the Documentation section of README.md does not list {['docs/' + n for n in unlisted]}"


def _prose(text: str) -> list[tuple[int, str]]:
    """Lines outside fenced code blocks, with inline code spans removed."""
    out, fenced = [], False
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.append((lineno, re.sub(r"`[^`]*`", "", line)))
    return out


def test_the_notes_do_not_mention_a_specification():
    hits = []
    for path in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for lineno, line in _prose(path.read_text(encoding="utf-8")):
            if re.search(r"\bspec(ification)?s?\b", line, flags=re.I):
                hits.append(f"{_where(path, lineno)}: {line.strip()}")
    assert not hits, "notes that mention a spec or specification (write for a user instead):\n" + "\n".join(hits)


@pytest.mark.parametrize("note", EXECUTED_NOTES)
def test_examples_of_the_notes_run(note):
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / note).read_text(encoding="utf-8"), flags=re.S)
    assert blocks, f"docs/{note} has no Python example"
    # one interpreter per note: blocks share their namespace like a reader's session does; one
    # torch thread, as small problems on small machines should run (docs/conventions.md)
    prologue = ("import os\nos.environ.setdefault('TQDM_DISABLE', '1')\n"
                "try:\n    import torch\n    torch.set_num_threads(1)\nexcept ImportError:\n    pass\n")
    code = prologue + "\n".join(f"exec(compile({b!r}, 'docs/{note} example {i}', 'exec'))"
                                for i, b in enumerate(blocks))
    env = dict(os.environ, TQDM_DISABLE="1", MPLBACKEND="Agg")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, f"an example of docs/{note} failed:\n{res.stderr[-3000:]}"
    assert res.stdout.strip(), f"the examples of docs/{note} print nothing"
