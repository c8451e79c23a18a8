"""The complete example of docs/testing-your-dags.md, taken from the page itself.

Every code block with a ``title="path"`` on its fence is a file of the example project; this writes
them into a folder, so the tests run exactly what the page shows.
"""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing-your-dags.md"
_BLOCK = re.compile(r'^```\w+ title="(?P<path>[^"]+)"\n(?P<body>.*?)^```$', re.MULTILINE | re.DOTALL)


def example_files() -> dict[str, str]:
    files = {m["path"]: m["body"] for m in _BLOCK.finditer(DOC.read_text())}
    assert files, f"no titled code blocks in {DOC}"
    return files


def write_example(dest: Path) -> Path:
    """Write the example project into ``dest`` and return it."""
    for relative, body in example_files().items():
        path = dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    return dest


def python_block(doc: str, containing: str) -> str:
    """The first ```python block of ``docs/<doc>`` that contains ``containing``."""
    text = (DOC.parent / doc).read_text()
    blocks = re.findall(r"^```python\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    found = [b for b in blocks if containing in b]
    assert found, f"no python block with {containing!r} in docs/{doc}"
    return found[0]
