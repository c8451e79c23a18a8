#!/usr/bin/env bash
# The test suite again under Airflow 2.11, the oldest Airflow the provider supports.
source "$(dirname "$0")/_env.sh"
make_env .venv-airflow-2.11 2.11
cd "$ROOT"
echo "==> pytest (Airflow 2.11)" >&2
"$ROOT/.venv-airflow-2.11/bin/pytest" -q -p no:cacheprovider "$@"
