#!/usr/bin/env bash
# The provider on production parts: Airflow 3.3 on PostgreSQL with the CeleryExecutor and Redis (api-server,
# scheduler, dag-processor, triggerer, Celery worker), plus the UI checked in the system Chromium.
# Installs PostgreSQL, Redis and Chromium from Debian when missing (needs root), builds .venv-deploy from
# requirements/deployment-celery.txt. See scripts/deployment_check_production.py.
# Usage: scripts/deployment-check-production.sh [--keep] [--ui] [--screenshots DIR]
source "$(dirname "$0")/_env.sh"

need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
  echo "==> installing ${need[*]} (Debian packages)" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

make_env .venv-deploy 3.3 requirements/deployment-celery.txt
exec "$ROOT/.venv-deploy/bin/python" "$ROOT/scripts/deployment_check_production.py" --bin-dir "$ROOT/.venv-deploy/bin" "$@"
