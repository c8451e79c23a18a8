# Shared by the scripts: find or install uv, and build a virtual environment for one Airflow line.
# Usage: source scripts/_env.sh; make_env .venv 3.3   (sets VENV_PY)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"

# Exported: the packaging test (tests/packaging) builds the wheel with it.
ensure_uv() {
  if command -v uv >/dev/null 2>&1; then UV="$(command -v uv)"; export UV; return; fi
  if [ ! -x "$ROOT/.tools/bin/uv" ]; then
    echo "==> installing uv (fast installer) into .tools/" >&2
    "$PYTHON" -m venv "$ROOT/.tools"
    "$ROOT/.tools/bin/python" -m pip install -q --disable-pip-version-check uv
  fi
  UV="$ROOT/.tools/bin/uv"
  export UV
}

# make_env DIR AIRFLOW_LINE [LOCK]: a venv with the provider (editable), Airflow pinned by the lock file
# (default requirements/airflow-LINE.txt), and the test tools. Re-running it only installs what changed.
make_env() {
  local dir="$1" line="$2" lock="${3:-requirements/airflow-$2.txt}"
  ensure_uv
  if [ ! -x "$ROOT/$dir/bin/python" ]; then
    echo "==> creating $dir (Airflow $line)" >&2
    "$UV" venv -q --python "$PYTHON" "$ROOT/$dir"
  fi
  echo "==> installing into $dir (Airflow $line, pinned by $lock)" >&2
  VIRTUAL_ENV="$ROOT/$dir" "$UV" pip install -q -r "$ROOT/$lock" -e "$ROOT[testing]"
  VENV_PY="$ROOT/$dir/bin/python"
  export VENV_PY
}

# ensure_debs PATH_GLOB=PACKAGE...: install (as root, from Debian) each PACKAGE whose PATH_GLOB matches nothing.
ensure_debs() {
  local need=() spec
  for spec in "$@"; do compgen -G "${spec%%=*}" >/dev/null || need+=("${spec#*=}"); done
  [ "${#need[@]}" -eq 0 ] && return 0
  echo "==> installing ${need[*]} (Debian packages)" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
}
