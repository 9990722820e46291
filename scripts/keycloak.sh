#!/usr/bin/env bash
# Runs a real Keycloak (the Quarkus distribution from Maven Central) on 127.0.0.1 for the
# integration suite. Usage: scripts/keycloak.sh download|start|restart|stop|kill|status|url
set -euo pipefail
cd "$(dirname "$0")/.."

KC_VERSION=${KC_VERSION:-26.7.3}
KC_PORT=${KC_PORT:-8180}
KC_REALM_FILE=${KC_REALM_FILE:-examples/realm/example-realm.json}
KC_CACHE=${KC_CACHE:-.cache/keycloak}
KC_RUN=${KC_RUN:-.cache/keycloak-run}
KC_READY_SECONDS=${KC_READY_SECONDS:-180}
dist="$KC_CACHE/keycloak-$KC_VERSION"

download() {
  if [ -x "$dist/bin/kc.sh" ]; then return 0; fi
  command -v mvn >/dev/null || { echo "keycloak.sh: mvn is required to download Keycloak" >&2; exit 3; }
  command -v java >/dev/null || { echo "keycloak.sh: java (17+) is required to run Keycloak" >&2; exit 3; }
  mkdir -p "$KC_CACHE"
  mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="org.keycloak:keycloak-quarkus-dist:$KC_VERSION:tar.gz" -DoutputDirectory="$KC_CACHE"
  tar -xzf "$KC_CACHE/keycloak-quarkus-dist-$KC_VERSION.tar.gz" -C "$KC_CACHE"
  rm -f "$KC_CACHE/keycloak-quarkus-dist-$KC_VERSION.tar.gz"
}

url() { echo "http://127.0.0.1:$KC_PORT"; }

wait_ready() {
  local pid=$1
  for i in $(seq 1 "$KC_READY_SECONDS"); do
    if curl -fsS "$(url)/realms/example/.well-known/openid-configuration" >/dev/null 2>&1; then
      echo "keycloak.sh: Keycloak $KC_VERSION ready at $(url) after ${i}s (pid $pid)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "keycloak.sh: Keycloak exited during start; last log lines:" >&2
      tail -50 "$KC_RUN/kc.log" >&2
      return 1
    fi
    sleep 1
  done
  echo "keycloak.sh: Keycloak not ready after ${KC_READY_SECONDS}s; last log lines:" >&2
  tail -50 "$KC_RUN/kc.log" >&2
  kill "$pid" 2>/dev/null || true
  return 1
}

# Starts the server from the existing data directory (no fresh copy): used to restart after a kill.
launch() {
  KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=admin \
    nohup "$KC_RUN/kc/bin/kc.sh" start-dev --http-host=127.0.0.1 --http-port="$KC_PORT" \
    --hostname="$(url)" --import-realm >>"$KC_RUN/kc.log" 2>&1 &
  echo $! >"$KC_RUN/pid"
  wait_ready "$(cat "$KC_RUN/pid")"
}

start() {
  download
  stop >/dev/null 2>&1 || true
  rm -rf "$KC_RUN"
  mkdir -p "$KC_RUN"
  cp -r "$dist" "$KC_RUN/kc"   # fresh H2 database every run
  mkdir -p "$KC_RUN/kc/data/import"
  cp "$KC_REALM_FILE" "$KC_RUN/kc/data/import/example-realm.json"
  launch
}

# Ends the server with SIGNAL, waiting up to 30 s for it to exit, then SIGKILL. kc.sh execs java,
# but be thorough: signal its children too.
terminate() {
  local signal=$1
  [ -f "$KC_RUN/pid" ] || return 0
  local pid; pid=$(cat "$KC_RUN/pid")
  pkill "-$signal" -P "$pid" 2>/dev/null || true
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$KC_RUN/pid"
}

stop() { terminate TERM; }

# Kills the server at once (SIGKILL), as a crash would: the outage tests use it.
kill_now() { terminate KILL; }

status() {
  if [ -f "$KC_RUN/pid" ] && kill -0 "$(cat "$KC_RUN/pid")" 2>/dev/null; then
    echo "running (pid $(cat "$KC_RUN/pid")) at $(url)"
  else
    echo "stopped"; return 1
  fi
}

case "${1:-}" in
  download) download ;;
  start) start ;;
  restart) launch ;;
  stop) stop ;;
  kill) kill_now ;;
  status) status ;;
  url) url ;;
  *) echo "usage: scripts/keycloak.sh download|start|restart|stop|kill|status|url" >&2; exit 2 ;;
esac
