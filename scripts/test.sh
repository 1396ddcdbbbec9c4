#!/usr/bin/env bash
# Bootstrap the machine, then run the test suite. Extra arguments go to pytest; with none,
# the whole tests/ tree runs. Exits with pytest's code, and fails when no test was collected.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/bootstrap.sh

if [ "$#" -eq 0 ]; then
  set -- tests
fi

rc=0
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=20 "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
  echo "[test] pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
