#!/usr/bin/env bash
# The Code Ocean connection form in Airflow 2.11's webserver (FAB login), in the system Chromium: labels,
# hidden fields, extras, the Test button with "Verify TLS certificates" ticked, saving. Playwright runs from
# .venv-deploy, Airflow from .venv-airflow-2.11. See scripts/ui_check.py. Usage: scripts/ui-check-airflow-2.11.sh [--keep]
source "$(dirname "$0")/_env.sh"
ensure_debs "/usr/bin/chromium=chromium"
make_env .venv-airflow-2.11 2.11
make_env .venv-deploy 3.3 requirements/deployment-celery.txt
exec "$ROOT/.venv-deploy/bin/python" "$ROOT/scripts/ui_check.py" --bin-dir "$ROOT/.venv-airflow-2.11/bin" "$@"
