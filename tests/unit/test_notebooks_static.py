"""The notebooks as files: prose that renders as written, small files, warning-free examples.

Jupyter renders text between two dollar signs as LaTeX, so "$10,000 ... $1,000" in a markdown
cell becomes italic maths. Escaping does not help in JupyterLab 4: the markdown step turns
``\\$`` back into ``$`` before MathJax reads the page (seen in Chromium, see
tests/browser). Money in prose is written ``USD 10,000``.
"""
import re
import warnings
from pathlib import Path

import nbformat
import pytest

from paysim_lab.errors import PolicyWarning, ScenarioWarning

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
MAX_BYTES = 500_000


def unescaped_dollars(markdown: str) -> list[str]:
    """The lines holding ``$`` signs when a cell's prose (outside code spans and fenced code)
    has two or more of them, escaped (``\\$``) or not: text JupyterLab typesets as maths."""
    hits, fence = [], False
    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            fence = not fence
            continue
        if fence:
            continue
        if "$" in re.sub(r"`[^`]*`", "", line):
            hits.append(line)
    return hits if sum(re.sub(r"`[^`]*`", "", h).count("$") for h in hits) >= 2 else []


def test_checker_flags_pairs_escaped_or_not_and_accepts_code():
    assert unescaped_dollars("owe $10,000 but hold $1,000") == ["owe $10,000 but hold $1,000"]
    assert unescaped_dollars("costs $5\nand then $7") == ["costs $5", "and then $7"]
    assert unescaped_dollars(r"owe \$10,000 but hold \$1,000") == [
        r"owe \$10,000 but hold \$1,000"]
    assert unescaped_dollars("owe USD 10,000 but hold USD 1,000") == []
    assert unescaped_dollars("a single $5 sign") == []
    assert unescaped_dollars("code `$x` and `$y`") == []
    assert unescaped_dollars("```\nprint('$1', '$2')\n```") == []


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_markdown_has_no_unescaped_dollar_pairs(path):
    nb = nbformat.read(path, as_version=4)
    bad = [(i, unescaped_dollars(c.source)) for i, c in enumerate(nb.cells)
           if c.cell_type == "markdown"]
    bad = [(i, lines) for i, lines in bad if lines]
    assert not bad, (f"{path.name}: markdown cell(s) with two dollar signs (rendered as LaTeX, "
                     f"even escaped; write USD 10,000): {bad}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_file_is_small(path):
    size = path.stat().st_size
    assert size < MAX_BYTES, (f"{path.name} is {size:,} bytes (limit {MAX_BYTES:,}): clear saved "
                              f"widget state (metadata.widgets) and large outputs")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_saved_widget_state(path):
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata


def test_notebook_05_examples_raise_no_lint_warnings(monkeypatch):
    """The teaching notebook on registers, timers and budgets runs without a PolicyWarning or
    ScenarioWarning (they show as pink boxes in Jupyter)."""
    monkeypatch.setenv("PLOTLY_RENDERER", "json")
    path = next(p for p in NOTEBOOKS if p.name.startswith("05_"))
    nb = nbformat.read(path, as_version=4)
    scope: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", PolicyWarning)
        warnings.simplefilter("error", ScenarioWarning)
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, f"{path.name} cell", "exec"), scope)
    assert len(scope["held"]) > 0
