#!/usr/bin/env bash
# The provider on production parts: Airflow 3.3 on PostgreSQL with the CeleryExecutor and Redis (api-server,
# scheduler, dag-processor, triggerer, Celery worker); with --ui, its UI checked in the system Chromium.
# Installs PostgreSQL, Redis and Chromium from Debian when missing (needs root) and builds .venv-deploy from
# requirements/deployment-celery.txt. See scripts/deployment_check_production.py and docs/deployment-check.md.
# Usage: scripts/deployment-check-production.sh [--ui] [--keep] [--screenshots DIR]
source "$(dirname "$0")/_env.sh"
ensure_debs "/usr/lib/postgresql/*/bin/initdb=postgresql" "/usr/bin/redis-server=redis-server" "/usr/bin/chromium=chromium"
make_env .venv-deploy 3.3 requirements/deployment-celery.txt
exec "$ROOT/.venv-deploy/bin/python" "$ROOT/scripts/deployment_check_production.py" --bin-dir "$ROOT/.venv-deploy/bin" "$@"
