"""The README's tour snippets run as written (so the documentation cannot rot).

Each ```python block of README.md is executed in a fresh namespace and must print its result.
The snippets are small problems; like any small problem on a small machine they run with one
torch thread (docs/conventions.md, "Threads"): on a loaded 2-core machine the README's
log-partition fit took 20 s with two threads and 2 s with one. The previous setting is
restored after each snippet. The whole file should take well under 30 s.
"""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.fixture
def one_torch_thread():
    """Run the body with one torch thread (if torch is installed), then restore the setting."""
    try:
        import torch
    except ImportError:  # torch is optional; the snippets that need it say so when they fail
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def test_readme_has_tour_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("i", range(len(SNIPPETS)))
def test_readme_snippet_runs(i, capsys, one_torch_thread):
    exec(compile(SNIPPETS[i], f"README.md snippet {i}", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out.strip()  # every snippet prints its result
