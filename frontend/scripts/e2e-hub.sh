#!/usr/bin/env bash
# Start or stop the hub engine (`manage.py runhub`) for the browser tests; this is the
# MDHUB_E2E_HUB_CMD that scripts/e2e-local.sh gives e2e/live-hub.test.mjs.
#
#   e2e-hub.sh start   start runhub in the background (harmless when it already runs)
#   e2e-hub.sh stop    SIGTERM it and wait until it (and its workers) are gone
#   e2e-hub.sh status  exit 0 when it runs
#
# The hub takes its settings from the environment the caller set up (DATABASE_URL,
# REDIS_URL, MDHUB_RUN_DIR, MDHUB_PUB_ADDR, MDHUB_SNAPSHOT_ADDR, ...). Its pid file and log
# are in $MDHUB_E2E_HUB_DIR (default: $MDHUB_RUN_DIR).
set -euo pipefail

frontend="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$frontend/.." && pwd)"
python="${MDHUB_PYTHON:-$root/.venv/bin/python}"
: "${MDHUB_RUN_DIR:?MDHUB_RUN_DIR is not set (run this through scripts/e2e-local.sh)}"
dir="${MDHUB_E2E_HUB_DIR:-$MDHUB_RUN_DIR}"
pidfile="$dir/runhub.pid"
logfile="$dir/runhub.log"
stop_timeout="${MDHUB_E2E_HUB_STOP_TIMEOUT:-20}"

running_pid() {
  local pid
  [ -f "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

start() {
  local pid
  if pid="$(running_pid)"; then
    echo "e2e-hub: runhub already running (pid $pid)"
    return 0
  fi
  mkdir -p "$dir" "$MDHUB_RUN_DIR"
  cd "$root"
  # A session (and process group) of its own: `stop` can then also reach its workers
  # should runhub itself die without stopping them.
  echo "=== e2e-hub: start $(date '+%H:%M:%S')" >>"$logfile"
  local offset
  offset="$(wc -c <"$logfile")"
  PYTHONUNBUFFERED=1 setsid "$python" manage.py runhub >>"$logfile" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pidfile"
  # Up when it has printed its banner; a crash at start-up is reported here, not later.
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pidfile"
      echo "e2e-hub: runhub exited at start-up; its log:" >&2
      tail -n 40 "$logfile" >&2
      return 1
    fi
    tail -c "+$((offset + 1))" "$logfile" | grep -q "^mdhub: " && break
    sleep 0.1
  done
  echo "e2e-hub: runhub started (pid $pid)"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pidfile"
    echo "e2e-hub: runhub not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + stop_timeout))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "e2e-hub: runhub (pid $pid) did not stop in ${stop_timeout}s; killing its process group" >&2
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  # Workers left over (runhub killed): same process group, started by `start` above.
  if kill -0 -- "-$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  echo "e2e-hub: runhub stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running_pid >/dev/null ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
