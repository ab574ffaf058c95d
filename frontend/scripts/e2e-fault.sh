#!/usr/bin/env bash
# Inject a fault into a simulated source of the hub that scripts/e2e-hub.sh runs; this is
# the MDHUB_E2E_FAULT_CMD that scripts/e2e-local.sh gives e2e/live-hub.test.mjs.
#
#   e2e-fault.sh <account> <fault> [seconds]     e.g. e2e-fault.sh sim-c garbage 5
#
# Faults: disconnect, freeze, garbage, crash, hang, storm, recover (gateways/simexchange.py).
# The simulated exchange's control socket is ipc://$MDHUB_RUN_DIR/simctl.ipc.
set -euo pipefail

frontend="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$frontend/.." && pwd)"
python="${MDHUB_PYTHON:-$root/.venv/bin/python}"
: "${MDHUB_RUN_DIR:?MDHUB_RUN_DIR is not set (run this through scripts/e2e-local.sh)}"
if [ $# -lt 2 ]; then
  echo "usage: $0 <account> <fault> [seconds]" >&2
  exit 2
fi
cd "$root"
exec "$python" -m gateways.simexchange fault --control "ipc://$MDHUB_RUN_DIR/simctl.ipc" \
  "$1" "$2" --seconds "${3:-${MDHUB_E2E_FAULT_SECONDS:-5}}"
