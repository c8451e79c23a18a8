#!/usr/bin/env bash
# make demo: the provider's main job, end to end, on this machine and nothing else.
#
#   1. builds .venv (Airflow 3.3 pinned by requirements/airflow-3.3.txt, the provider editable);
#   2. starts the Code Ocean emulator on a free loopback port, serving the example capsules in
#      example_dags/capsules and the bundled coverage data assets in example_dags/data/assets;
#   3. points the Airflow connection codeocean_default at it (AIRFLOW_CONN_CODEOCEAN_DEFAULT);
#   4. runs the example DAG example_codeocean_seed_flow with `airflow dags test` in a throwaway
#      AIRFLOW_HOME under .demo/ (run the capsule -> wait deferrably -> capture the results as a data
#      asset -> update its metadata -> read a result file);
#   5. prints what happened, read back from Code Ocean (the emulator) through the provider's hook.
#
# The emulator is stopped on exit, whatever happens. Exit status 0 means the DAG run succeeded and
# its outcome was verified; anything else says what went wrong.
source "$(dirname "$0")/_env.sh"

DEMO_DIR="$ROOT/.demo"
DAG_ID="example_codeocean_seed_flow"
EMULATOR_PID=""

fail() {
  echo "demo FAILED: $*" >&2
  exit 1
}

cleanup() {
  if [ -n "$EMULATOR_PID" ] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
    kill -TERM "$EMULATOR_PID" 2>/dev/null || true
    # Give it a few seconds to stop its runs, then make sure it is gone.
    for _ in $(seq 50); do kill -0 "$EMULATOR_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$EMULATOR_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date +%s)
make_env .venv 3.3
BIN="$ROOT/.venv/bin"

# A throwaway Airflow home: every demo starts from an empty metadata database.
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR/airflow"
export AIRFLOW_HOME="$DEMO_DIR/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/example_dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$DEMO_DIR/airflow/airflow.db"
export AIRFLOW__LOGGING__LOGGING_LEVEL=INFO
# The examples poll every 30 s against a real deployment; the emulator answers at once.
export CODEOCEAN_EXAMPLE_POLL_INTERVAL=1

echo "==> starting the Code Ocean emulator (example capsules, bundled data assets)" >&2
TOKEN="cop_demo_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
"$BIN/codeocean-emulator" --port 0 --token "$TOKEN" \
  --capsules "$ROOT/example_dags/capsules" \
  --data-assets "$ROOT/example_dags/data/assets" \
  --state-dir "$DEMO_DIR/emulator" \
  >"$DEMO_DIR/emulator.url" 2>"$DEMO_DIR/emulator.log" &
EMULATOR_PID=$!
URL=""
for _ in $(seq 300); do
  URL="$(head -n1 "$DEMO_DIR/emulator.url" 2>/dev/null || true)"
  [ -n "$URL" ] && break
  kill -0 "$EMULATOR_PID" 2>/dev/null || { cat "$DEMO_DIR/emulator.log" >&2; fail "the emulator did not start (log above)"; }
  sleep 0.1
done
[ -n "$URL" ] || fail "the emulator printed no URL within 30 s (see $DEMO_DIR/emulator.log)"
echo "==> emulator serving $URL" >&2

# The connection as Airflow reads it from the environment (JSON form); the token stays out of logs.
export AIRFLOW_CONN_CODEOCEAN_DEFAULT="{\"conn_type\": \"codeocean\", \"host\": \"$URL\", \"password\": \"$TOKEN\"}"

echo "==> airflow db migrate (throwaway metadata database in .demo/)" >&2
"$BIN/airflow" db migrate >"$DEMO_DIR/db-migrate.log" 2>&1 \
  || { tail -n 40 "$DEMO_DIR/db-migrate.log" >&2; fail "airflow db migrate failed (log above)"; }

echo "==> airflow dags test $DAG_ID (log: .demo/dags-test.log)" >&2
if ! "$BIN/airflow" dags test "$DAG_ID" >"$DEMO_DIR/dags-test.log" 2>&1; then
  tail -n 60 "$DEMO_DIR/dags-test.log" >&2
  echo >&2
  echo "The errors raised by the tasks:" >&2
  grep -E '^[A-Za-z_.]+(Error|Exception): ' "$DEMO_DIR/dags-test.log" | sort -u | cut -c1-400 >&2 || true
  fail "the DAG run failed (see the errors above and .demo/dags-test.log)"
fi

"$BIN/python" "$ROOT/scripts/demo.py" --log "$DEMO_DIR/dags-test.log" || fail "the run's outcome could not be verified"
echo "==> demo finished in $(( $(date +%s) - started )) s" >&2
