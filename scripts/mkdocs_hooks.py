"""MkDocs hook (mkdocs.yml ``hooks:``): render the Sphinx roles in the provider's docstrings.

The docstrings use Sphinx roles (``:class:`~pkg.mod.Name```) that the IDE and Airflow's own docs
understand; mkdocstrings renders them literally. This turns ``:role:<code>~pkg.mod.Name</code>`` into
``<code>Name</code>`` (and without ``~`` into the full path), as Sphinx would display it.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|meth|func|mod|attr|exc|data|obj):<code>(~?)([^<]+)</code>")


def _display(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    return f"<code>{target.rsplit('.', 1)[-1] if short else target}</code>"


def on_page_content(html: str, **_: Any) -> str:
    return _ROLE.sub(_display, html)
