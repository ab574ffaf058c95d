#!/usr/bin/env bash
# Run every browser test against the real stack, throw-away and private:
#
#   * a Redis of its own (free port, no persistence), started and stopped here;
#   * a fresh SQLite database: migrate, an operator "alice", `manage.py seed_demo`
#     (three simulated sources sim-a, sim-b, sim-c);
#   * Daphne on 127.0.0.1:$MDHUB_E2E_PORT (default 8011) serving the API, /ws/ and the
#     built dashboard (DASHBOARD_DIR=frontend/out);
#   * the hub engine (`manage.py runhub`), started and stopped by the tests themselves
#     through MDHUB_E2E_HUB_CMD (scripts/e2e-hub.sh), with ZeroMQ on free ports and faults
#     injected through MDHUB_E2E_FAULT_CMD (scripts/e2e-fault.sh).
#
# then the tests (e2e/*.test.mjs, as `npm run test:e2e`) with MDHUB_E2E_REQUIRE=1: a suite that cannot run fails instead
# of being skipped. Everything it started ends with it; the logs are shown on failure.
#
#   npm run test:e2e:local                          # build + run
#   MDHUB_E2E_SKIP_BUILD=1 npm run test:e2e:local   # reuse frontend/out
#   MDHUB_PYTHON=/path/to/python npm run test:e2e:local
#   MDHUB_E2E_KEEP=1 ...                            # keep the work directory (logs, database)
#   npm run test:e2e:local -- e2e/live-hub.test.mjs # only these files
set -euo pipefail

frontend="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$frontend/.." && pwd)"
python="${MDHUB_PYTHON:-$root/.venv/bin/python}"
port="${MDHUB_E2E_PORT:-8011}"
password="${MDHUB_E2E_PASSWORD:-e2e-alice-pass-123}"
user="${MDHUB_E2E_USER:-alice}"
redis_server="${MDHUB_E2E_REDIS_SERVER:-redis-server}"
workdir="$(mktemp -d "${TMPDIR:-/tmp}/mdhub-e2e.XXXXXX")"
web_pid=""
redis_pid=""
tests_pid=""
hub_script="$frontend/scripts/e2e-hub.sh"
fault_script="$frontend/scripts/e2e-fault.sh"

log() { printf 'e2e-local: %s\n' "$*" >&2; }

show_logs() {
  local name file
  for name in daphne runhub redis; do
    file="$workdir/$name.log"
    [ -f "$workdir/run/$name.log" ] && file="$workdir/run/$name.log"
    [ -s "$file" ] || continue
    log "$name log (last 60 lines of $file):"
    tail -n 60 "$file" >&2
  done
}

stop_pid() {
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_pid "$tests_pid"
  # The hub first: it still writes to Redis while stopping.
  if [ -n "${MDHUB_RUN_DIR:-}" ]; then
    bash "$hub_script" stop >/dev/null 2>&1 || true
  fi
  stop_pid "$web_pid"
  stop_pid "$redis_pid"
  if [ "$status" != "0" ]; then
    show_logs
  fi
  if [ "${MDHUB_E2E_KEEP:-0}" = "1" ]; then
    log "kept $workdir"
  else
    rm -rf "$workdir"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$python" ]; then
  log "no Python at $python (set MDHUB_PYTHON, or create $root/.venv)"
  exit 2
fi
if ! command -v "$redis_server" >/dev/null 2>&1; then
  log "redis-server not found (apt-get install redis-server, or set MDHUB_E2E_REDIS_SERVER)"
  exit 2
fi

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_in_use() {
  "$python" -c '
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)' "$1"
}

if port_in_use "$port"; then
  log "port $port is in use: stop what runs there, or set MDHUB_E2E_PORT"
  exit 2
fi

cd "$frontend"
if [ "${MDHUB_E2E_SKIP_BUILD:-0}" != "1" ]; then
  npm run build
fi
if [ ! -f "$frontend/out/index.html" ]; then
  log "no built dashboard in $frontend/out (run without MDHUB_E2E_SKIP_BUILD=1)"
  exit 2
fi

# --- Redis ------------------------------------------------------------------------------
redis_port="$(free_port)"
"$redis_server" --port "$redis_port" --bind 127.0.0.1 --dir "$workdir" --save '' \
  --appendonly no --daemonize no --logfile "$workdir/redis.log" &
redis_pid=$!
for _ in $(seq 1 100); do
  "$python" -c 'import redis, sys; redis.Redis(port=int(sys.argv[1]), socket_timeout=0.5).ping()' \
    "$redis_port" 2>/dev/null && break
  if ! kill -0 "$redis_pid" 2>/dev/null; then
    log "Redis did not start"
    exit 1
  fi
  sleep 0.1
done

# --- Settings shared by migrate, Daphne, the hub and the fault command -------------------
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
export DATABASE_URL="sqlite:///$workdir/e2e.sqlite3"
export DASHBOARD_DIR="$frontend/out"
export MDHUB_RUN_DIR="$workdir/run"
MDHUB_PUB_ADDR="tcp://127.0.0.1:$(free_port)"
MDHUB_SNAPSHOT_ADDR="tcp://127.0.0.1:$(free_port)"
MDHUB_RECOVERY_ADDR="tcp://127.0.0.1:$(free_port)"
MDHUB_CONFLATE_ADDR="tcp://127.0.0.1:$(free_port)"
export MDHUB_PUB_ADDR MDHUB_SNAPSHOT_ADDR MDHUB_RECOVERY_ADDR MDHUB_CONFLATE_ADDR
# As on a LAN (docs/access.md): CURVE and entitlements on; the server key lands in the run dir.
export MDHUB_CURVE=true
export MDHUB_SIM_ADDR=""
export ALERT_EMAIL_TO=""
export DEBUG="false"
# Quick demos: more ticks, quick restarts.
export MDHUB_SIM_RATE="${MDHUB_SIM_RATE:-4}"
export MDHUB_RESTART_COOLDOWN="${MDHUB_RESTART_COOLDOWN:-0.5}"
export MDHUB_RESTART_GRACE="${MDHUB_RESTART_GRACE:-1}"
export PYTHONUNBUFFERED=1
# The data services on (e2e/contract-chart-smile.test.mjs): bars, with 2-second ones so a
# chart fills within a test, and Greeks over the sim's option chains; 42 contracts list
# IF2612's at-the-money IO pair and the SSE 50ETF pair (docs/services.md).
export MDHUB_SERVICES="${MDHUB_SERVICES:-bars,greeks}"
export MDHUB_BARS_INTERVALS="${MDHUB_BARS_INTERVALS:-2s,1m,5m}"
export MDHUB_BARS_GRACE_MS="${MDHUB_BARS_GRACE_MS:-500}"
export MDHUB_SIM_CONTRACTS="${MDHUB_SIM_CONTRACTS:-42}"
mkdir -p "$MDHUB_RUN_DIR"
# SSE option codes (90261210) do not say what they are: the Greeks service reads them from a
# contract table (MDHUB_OPTION_CONTRACTS), here the sim's own terms for today's universe.
# Their ETF is never published by the sim, so their IV cannot be found ("no underlying
# price"): the page must say so.
if [ -z "${MDHUB_OPTION_CONTRACTS:-}" ]; then
  export MDHUB_OPTION_CONTRACTS="$workdir/option-contracts.json"
  (cd "$root" && "$python" - "$MDHUB_SIM_CONTRACTS" "$MDHUB_OPTION_CONTRACTS" <<'PY'
import json, sys
from gateways.simexchange import contract_universe
rows = [
    {
        "symbol": p.symbol,
        "exchange": p.exchange,
        "underlying": p.terms.underlying,
        "option_type": "C" if p.terms.call else "P",
        "strike": p.terms.strike,
        "expiry": p.terms.expiry.isoformat(),
    }
    for p in contract_universe(int(sys.argv[1]))
    if p.terms is not None and p.exchange in ("SSE", "SZSE")
]
with open(sys.argv[2], "w") as out:
    json.dump(rows, out)
PY
  )
fi

cd "$root"
"$python" manage.py migrate --noinput >"$workdir/migrate.log" 2>&1 || {
  cat "$workdir/migrate.log" >&2
  exit 1
}
DJANGO_SUPERUSER_PASSWORD="$password" "$python" manage.py createsuperuser --noinput \
  --username "$user" --email "$user@example.com" >/dev/null
"$python" manage.py seed_demo >/dev/null

# --- Daphne -------------------------------------------------------------------------------
"$python" -m daphne -b 127.0.0.1 -p "$port" mdhub_project.asgi:application >"$workdir/daphne.log" 2>&1 &
web_pid=$!
for _ in $(seq 1 150); do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/auth/session" || true)"
  [ "$code" = "401" ] && break
  if ! kill -0 "$web_pid" 2>/dev/null; then
    log "Daphne did not start"
    exit 1
  fi
  sleep 0.2
done
if [ "$code" != "401" ]; then
  log "Daphne did not answer on 127.0.0.1:$port"
  exit 1
fi

# --- The tests ------------------------------------------------------------------------------
export MDHUB_E2E_HUB_CMD="${MDHUB_E2E_HUB_CMD:-bash $(printf '%q' "$hub_script")}"
export MDHUB_E2E_FAULT_CMD="${MDHUB_E2E_FAULT_CMD:-bash $(printf '%q' "$fault_script")}"
export MDHUB_E2E_URL="http://127.0.0.1:$port" MDHUB_E2E_USER="$user" MDHUB_E2E_PASSWORD="$password"
export MDHUB_E2E_REQUIRE=1

cd "$frontend"
log "stack up: web http://127.0.0.1:$port, Redis :$redis_port, work directory $workdir"
[ $# -gt 0 ] || set -- e2e/*.test.mjs # what `npm run test:e2e` runs
# In the background and waited for, so that a TERM to this script runs the clean-up at once.
node --test --test-concurrency=1 "$@" &
tests_pid=$!
wait "$tests_pid"
