# Sourced by the ecosystem scripts, after `set -euo pipefail`: sets root (the project),
# CHAFF (the binary under test), SHARED (../shared) and T (a temporary folder removed at
# exit), and defines `python_venv NAME DIR REUSE PIP_ARGS...`, which makes a throwaway
# virtualenv at DIR/venv with PIP_ARGS installed (or links REUSE, an existing one, for
# development) and exits 0 with a loud SKIPPED line only when PyPI is unreachable.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CHAFF=${CHAFF:-$root/target/release/chaff}
SHARED=${SHARED:-$root/../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python_venv() {
  local name=$1 dir=$2 reuse=$3; shift 3
  if [ -n "$reuse" ]; then
    ln -s "$reuse" "$dir/venv"
    return
  fi
  if python3 -m venv "$dir/venv" &&
    "$dir/venv/bin/pip" install --quiet --disable-pip-version-check "$@" >"$dir/pip.log" 2>&1; then
    return
  fi
  if grep -qiE "connection|resolve|network|unreachable|timed out" "$dir/pip.log" 2>/dev/null; then
    echo "SKIPPED: $name ecosystem test: PyPI is unreachable ($(tail -1 "$dir/pip.log"))"
    exit 0
  fi
  cat "$dir/pip.log"; echo "FAIL: could not install $name"; exit 1
}
