#!/usr/bin/env bash
# The test suite under one more Airflow line, from its lock file requirements/airflow-LINE.txt, in its
# own environment .venv-airflow-LINE. The deployment check (real Airflow processes, about 90 s) and the
# packaging test (builds and installs the wheel with the Airflow 3.3 lock) run in `make test` under 3.3
# only; here they are deselected.
# Usage: scripts/test-airflow.sh LINE [extra pytest args]     e.g. scripts/test-airflow.sh 3.1
source "$(dirname "$0")/_env.sh"
LINE="${1:?usage: scripts/test-airflow.sh LINE [pytest args] (LINE: 2.11, 3.0, 3.1, 3.2)}"
shift
[ -f "$ROOT/requirements/airflow-$LINE.txt" ] || { echo "no lock file requirements/airflow-$LINE.txt" >&2; exit 2; }
make_env ".venv-airflow-$LINE" "$LINE"
cd "$ROOT"
echo "==> pytest (Airflow $LINE)" >&2
"$ROOT/.venv-airflow-$LINE/bin/pytest" -q -p no:cacheprovider -m "not deployment and not packaging" "$@"
