#!/usr/bin/env bash
# Run the browser tests against a throw-away Django: build the dashboard, start
# `manage.py runserver` on 127.0.0.1:$MDHUB_E2E_PORT (default 8011) with a fresh SQLite
# database and an operator "alice", run `npm run test:e2e`, then stop the server.
#
#   npm run test:e2e:local                      # build + run
#   MDHUB_E2E_SKIP_BUILD=1 npm run test:e2e:local
#   MDHUB_PYTHON=/path/to/python npm run test:e2e:local
#
# The live-hub tests stay skipped unless MDHUB_E2E_HUB_CMD is set (see e2e/live-hub.test.mjs).
set -euo pipefail

frontend="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$frontend/.." && pwd)"
python="${MDHUB_PYTHON:-$root/.venv/bin/python}"
port="${MDHUB_E2E_PORT:-8011}"
password="${MDHUB_E2E_PASSWORD:-e2e-alice-pass-123}"
user="${MDHUB_E2E_USER:-alice}"
workdir="$(mktemp -d)"
pid=""

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT

if [ ! -x "$python" ]; then
  echo "e2e-local: no Python at $python (set MDHUB_PYTHON, or create $root/.venv)" >&2
  exit 2
fi

cd "$frontend"
if [ "${MDHUB_E2E_SKIP_BUILD:-0}" != "1" ]; then
  npm run build
fi

export DATABASE_URL="sqlite:///$workdir/e2e.sqlite3"
export DASHBOARD_DIR="$frontend/out"
cd "$root"
"$python" manage.py migrate --noinput >/dev/null
DJANGO_SUPERUSER_PASSWORD="$password" "$python" manage.py createsuperuser --noinput \
  --username "$user" --email "$user@example.com" >/dev/null
"$python" manage.py runserver "127.0.0.1:$port" --noreload >"$workdir/django.log" 2>&1 &
pid=$!

for _ in $(seq 1 100); do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/auth/session" || true)"
  [ "$code" = "401" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "e2e-local: Django did not start:" >&2
    cat "$workdir/django.log" >&2
    exit 1
  fi
  sleep 0.2
done

cd "$frontend"
status=0
MDHUB_E2E_URL="http://127.0.0.1:$port" MDHUB_E2E_USER="$user" MDHUB_E2E_PASSWORD="$password" \
  npm run test:e2e || status=$?
if [ "$status" != "0" ]; then
  echo "e2e-local: Django log (last 40 lines):" >&2
  tail -n 40 "$workdir/django.log" >&2
fi
exit "$status"
