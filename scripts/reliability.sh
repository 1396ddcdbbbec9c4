#!/usr/bin/env bash
# The long reliability runs (issue 8): a fault run over 100,000 signed events and a 5-minute
# sustained load, on real Kafka, ClickHouse and PostgreSQL started on loopback. Installs what it
# needs (same bootstrap as the test command). Arguments go to `python -m reliability`;
# default: both runs with their default sizes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/bootstrap.sh

if [ "$#" -eq 0 ]; then
  .venv/bin/python -m reliability faults --events 100000 --rate 800
  .venv/bin/python -m reliability load --minutes 5
else
  .venv/bin/python -m reliability "$@"
fi
