"""No module of the package grows past 450 lines: past that, it holds more than one idea; split it."""

from __future__ import annotations

from pathlib import Path

import airflow_provider_codeocean

MAX_LINES = 450
ROOT = Path(airflow_provider_codeocean.__file__).parent


def test_no_module_exceeds_the_line_limit() -> None:
    sizes = {str(p.relative_to(ROOT.parent)): len(p.read_text().splitlines()) for p in sorted(ROOT.rglob("*.py"))}
    assert sizes, "no modules found"
    oversized = {path: lines for path, lines in sizes.items() if lines > MAX_LINES}
    assert not oversized, f"modules over {MAX_LINES} lines: {oversized}"
