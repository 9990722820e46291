#!/usr/bin/env bash
# Runs a private Redis on 127.0.0.1 for the shared-cache integration tests (no persistence).
# Usage: scripts/redis.sh start|stop|kill|status|url   (env: REDIS_PORT, default 6390; REDIS_RUN)
set -euo pipefail
cd "$(dirname "$0")/.."

REDIS_PORT=${REDIS_PORT:-6390}
REDIS_RUN=${REDIS_RUN:-.cache/redis-run-$REDIS_PORT}
REDIS_READY_SECONDS=${REDIS_READY_SECONDS:-20}

ensure_installed() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  if command -v apt-get >/dev/null; then
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get install -y redis-server >&2
  fi
  command -v redis-server >/dev/null || { echo "redis.sh: redis-server is required (apt-get install -y redis-server)" >&2; exit 3; }
}

url() { echo "redis://127.0.0.1:$REDIS_PORT"; }

alive() { [ -f "$REDIS_RUN/pid" ] && kill -0 "$(cat "$REDIS_RUN/pid")" 2>/dev/null; }

start() {
  ensure_installed
  if alive; then echo "redis.sh: already running (pid $(cat "$REDIS_RUN/pid")) at $(url)"; return 0; fi
  mkdir -p "$REDIS_RUN"
  rm -f "$REDIS_RUN/pid"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$(pwd)/$REDIS_RUN" --save '' --appendonly no \
    --daemonize yes --pidfile "$(pwd)/$REDIS_RUN/pid" --logfile "$(pwd)/$REDIS_RUN/redis.log"
  for i in $(seq 1 $((REDIS_READY_SECONDS * 10))); do
    if [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null || true)" = PONG ] && [ -f "$REDIS_RUN/pid" ]; then
      echo "redis.sh: Redis ready at $(url) (pid $(cat "$REDIS_RUN/pid"))"
      return 0
    fi
    sleep 0.1
  done
  echo "redis.sh: Redis not ready after ${REDIS_READY_SECONDS}s; log:" >&2
  tail -20 "$REDIS_RUN/redis.log" >&2 || true
  return 1
}

stop_with() {
  local signal=$1
  [ -f "$REDIS_RUN/pid" ] || return 0
  local pid; pid=$(cat "$REDIS_RUN/pid")
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$REDIS_RUN/pid"
}

status() {
  if alive; then echo "running (pid $(cat "$REDIS_RUN/pid")) at $(url)"; else echo "stopped"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop_with TERM ;;
  kill) stop_with KILL ;;   # as a crash would
  status) status ;;
  url) url ;;
  *) echo "usage: scripts/redis.sh start|stop|kill|status|url" >&2; exit 2 ;;
esac
