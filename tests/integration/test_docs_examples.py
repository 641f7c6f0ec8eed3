"""Every Python example in README.md and docs/*.md runs, in order, in a fresh folder.

A block that is not meant to run on its own is marked by an HTML comment on the line before
its fence, ``<!-- fragment: why -->``; the reason is required so a reader knows why.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
FRAGMENT = re.compile(r"<!--\s*fragment:\s*([^\s<>-][^<>]*?)\s*-->\s*$")


def python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """(line, code, fragment reason or None) of each ```python block, in order."""
    out = []
    for match in FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marked = FRAGMENT.search(before)
        line = text.count("\n", 0, match.start()) + 2
        out.append((line, match.group(1), marked.group(1) if marked else None))
    return out


def test_blocks_are_found_and_fragments_need_a_reason():
    text = ("a\n```python\nx = 1\n```\n<!-- fragment: needs a store -->\n```python\ny\n```\n"
            "<!-- fragment: -->\n```python\nz\n```\n")
    assert python_blocks(text) == [(3, "x = 1\n", None), (7, "y\n", "needs a store"),
                                   (11, "z\n", None)]


def _script(path: Path, blocks) -> str:
    parts = ["import sys\n"]
    for line, code, _ in blocks:
        parts.append(f"print('@@ block at line {line}', file=sys.stderr, flush=True)\n")
        parts.append(f"exec(compile({code!r}, {f'{path.name}:{line}'!r}, 'exec'))\n")
    return "".join(parts)


def _runnable(path: Path):
    return [b for b in python_blocks(path.read_text(encoding="utf-8")) if b[2] is None]


WITH_EXAMPLES = [p for p in DOCS if _runnable(p)]


def test_the_main_pages_have_examples():
    assert {"README.md", "guide.md", "scenario_format.md"} <= {p.name for p in WITH_EXAMPLES}


@pytest.mark.parametrize("path", WITH_EXAMPLES, ids=[p.name for p in WITH_EXAMPLES])
def test_the_python_examples_of_each_page_run_in_order(path, tmp_path):
    blocks = _runnable(path)
    script = tmp_path / "examples.py"
    script.write_text(_script(path, blocks), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PLOTLY_RENDERER": "json",
           "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    last = re.findall(r"@@ block at line (\d+)", out.stderr)
    assert out.returncode == 0, (f"{path.name}: the example at line "
                                 f"{last[-1] if last else '?'} failed:\n{out.stderr[-3000:]}")
