#!/usr/bin/env bash
# The provider on a real Airflow 3.3 deployment: api-server, scheduler (LocalExecutor), dag-processor and
# triggerer as separate processes, the Code Ocean emulator as Code Ocean, the seed-flow example DAG
# triggered through the REST API. See scripts/deployment_check.py. Usage: scripts/deployment-check.sh [--keep]
source "$(dirname "$0")/_env.sh"
make_env .venv 3.3
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/deployment_check.py" --bin-dir "$ROOT/.venv/bin" "$@"
