#!/usr/bin/env bash
# Bring a machine to the point where the tests can run: system packages, the venv with the
# project installed, and the Kafka jars in the cache. Idempotent: a second run does nothing
# but checks. Runs from anywhere.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "[bootstrap] $*"; }

# --python-only: just the venv (what `liveboard demo` / `run` need on the embedded default).
PYTHON_ONLY=0
[ "${1:-}" = "--python-only" ] && PYTHON_ONLY=1

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi

# --- system packages (Debian) --------------------------------------------------------------
# fonts-wqy-microhei: CJK glyphs so browser-test screenshots show Chinese, not boxes; on certificates,
#   the fallback for a rare character the Kai font lacks
# fonts-arphic-ukai: AR PL UKai CN (楷体, TrueType), embedded in the award certificates (services/certificates.py)
# docker-compose (v1, Debian): only to validate docker-compose.yml offline (`config -q`); no engine here
# redis-server: devservices.RedisService (no system service is used: the tests start their own)
APT_PACKAGES=(clickhouse-server clickhouse-client postgresql redis-server chromium chromium-driver fonts-wqy-microhei fonts-arphic-ukai docker-compose poppler-utils)
# Kafka runs from Maven jars on a JVM: install those tools only when the machine lacks them.
command -v java >/dev/null 2>&1 || APT_PACKAGES+=(default-jre-headless)
command -v mvn >/dev/null 2>&1 || APT_PACKAGES+=(maven)
# The mini-program's unit tests run on Node (jest + miniprogram-simulate).
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
if [ "$PYTHON_ONLY" -eq 0 ]; then
  for pkg in "${APT_PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
elif [ "$PYTHON_ONLY" -eq 1 ]; then
  log "python only: skipping system packages and Kafka jars"
else
  log "system packages present"
fi

# --- Python venv ---------------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  PYTHON=""
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON="$candidate"
      break
    fi
  done
  if [ -z "$PYTHON" ]; then
    echo "[bootstrap] error: Python >= 3.11 is required (python3.11 or python3)" >&2
    exit 1
  fi
  log "creating .venv with $PYTHON ($("$PYTHON" --version 2>&1))"
  "$PYTHON" -m venv .venv
fi

STAMP=.venv/.liveboard-pyproject.sha256
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  log "installing the project into .venv (pip install -e '.[test]')"
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$want" > "$STAMP"
else
  log "venv up to date with pyproject.toml"
fi

# --- Kafka jars (Maven Central -> ${LIVEBOARD_CACHE:-~/.cache/liveboard}) ------------------
if [ "$PYTHON_ONLY" -eq 0 ]; then
  log "Kafka jars: $(.venv/bin/python -m devservices.kafka fetch)"
fi

# --- miniprogram (npm) ---------------------------------------------------------------------
# `npm ci` only when miniprogram/package-lock.json changed since the last install (stamp
# inside node_modules, so deleting node_modules also triggers a fresh install).
NPM_STAMP=miniprogram/node_modules/.liveboard-package-lock.sha256
want="$(sha256sum miniprogram/package-lock.json | cut -d' ' -f1)"
have="$(cat "$NPM_STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  log "installing the mini-program's test tools (npm ci under miniprogram/)"
  (cd miniprogram && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$NPM_STAMP"
else
  log "miniprogram/node_modules up to date with package-lock.json"
fi

log "done"
