#!/usr/bin/env bash
# Set up what the embedded default needs (venv + pip; no servers), then run the demo:
# seeds 千村千红·湘西香伴, posts signed webhooks over HTTP, prints both top tens and keeps the
# board page up at http://127.0.0.1:8000 (Ctrl-C to stop). Extra arguments go to `liveboard demo`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh --python-only
exec .venv/bin/liveboard demo "$@"
