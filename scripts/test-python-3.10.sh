#!/usr/bin/env bash
# The test suite on Python 3.10 with Airflow 3.3, where common-compat 1.20 stands in for 1.23
# (1.23 needs Python 3.11).
source "$(dirname "$0")/_env.sh"
PY310="$(command -v python3.10 2>/dev/null || true)"
if ! "${PY310:-false}" -c 'import sys' 2>/dev/null; then
  PY310="$(ls -d "$HOME"/.pyenv/versions/3.10*/bin/python3.10 2>/dev/null | tail -n 1 || true)"
fi
if [ -z "$PY310" ]; then
  echo "Python 3.10 is not installed here; install it (e.g. pyenv install 3.10) to run this check" >&2
  exit 1
fi
PYTHON="$PY310" make_env .venv-python-3.10 3.3
cd "$ROOT"
echo "==> pytest (Python 3.10, Airflow 3.3)" >&2
"$ROOT/.venv-python-3.10/bin/pytest" -q -p no:cacheprovider -m "not deployment and not packaging" "$@"
