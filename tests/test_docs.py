"""Every ```python block of README.md and docs/*.md runs: in order, one namespace per file.

This is the contract for everyone who writes documentation here: a python block is a program
the test suite executes (from a temporary directory, so files it writes vanish). Show shell
commands in ```bash blocks and output in plain ``` blocks.
"""

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """Return ``(first line number, source)`` of each ```python block of a Markdown text."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in _FENCE.finditer(text)]


def test_python_blocks_are_found():
    text = "intro\n```python\nx = 1\n```\n```bash\nls\n```\n\n```python\ny = x + 1\n```\n"
    assert python_blocks(text) == [(3, "x = 1\n"), (10, "y = x + 1\n")]


@pytest.mark.parametrize("doc", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_python_block_runs(doc, tmp_path, monkeypatch):
    blocks = python_blocks(doc.read_text(encoding="utf-8"))
    assert blocks, f"{doc.name} has no ```python block to run"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    for line, source in blocks:
        # Compiling with the document's name and line makes a traceback point into the doc.
        code = compile("\n" * (line - 1) + source, str(doc), "exec")
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, namespace)
