#!/usr/bin/env bash
# Build the documentation site into site/ with warnings as errors (mkdocs build --strict).
# Its own small environment, .venv-docs, pinned by requirements/docs.txt; the API pages are generated
# from the provider's docstrings by static analysis, so neither Airflow nor the provider is installed.
source "$(dirname "$0")/_env.sh"
ensure_uv
DOCS_VENV="$ROOT/.venv-docs"
if [ ! -x "$DOCS_VENV/bin/python" ]; then
  echo "==> creating .venv-docs" >&2
  "$UV" venv -q --python "$PYTHON" "$DOCS_VENV"
fi
echo "==> installing the docs tools into .venv-docs (pinned by requirements/docs.txt)" >&2
VIRTUAL_ENV="$DOCS_VENV" "$UV" pip install -q -r "$ROOT/requirements/docs.txt"
cd "$ROOT"
echo "==> mkdocs build --strict" >&2
# Material's end-of-life banner is advice, not a build problem.
export NO_MKDOCS_2_WARNING=1
"$DOCS_VENV/bin/mkdocs" build --strict --site-dir "$ROOT/site" "$@"
echo "==> docs built: site/index.html" >&2
