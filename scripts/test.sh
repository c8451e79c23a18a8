#!/usr/bin/env bash
# The whole test suite on a fresh machine: environment, lint, types, tests (Airflow 3.3).
# Usage: scripts/test.sh [extra pytest args]
source "$(dirname "$0")/_env.sh"
make_env .venv 3.3
cd "$ROOT"
BIN="$ROOT/.venv/bin"
echo "==> ruff" >&2
"$BIN/ruff" check .
"$BIN/ruff" format --check .
echo "==> mypy --strict (package)" >&2
"$BIN/mypy" --strict airflow_provider_codeocean
echo "==> pytest (Airflow 3.3)" >&2
"$BIN/pytest" -q -p no:cacheprovider "$@"
