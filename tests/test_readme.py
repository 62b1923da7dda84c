"""The README's tour snippets run as written (so the documentation cannot rot)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_tour_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("i", range(len(SNIPPETS)))
def test_readme_snippet_runs(i, capsys):
    exec(compile(SNIPPETS[i], f"README.md snippet {i}", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out.strip()  # every snippet prints its result
