"""A real stream client for the browser tests (e2e/clients.test.mjs): reads the hub the test
runs over CURVE, as the client whose secret key the dashboard showed once.

The secret comes in the environment (MDHUB_E2E_CLIENT_SECRET), never on the command line:
a command line is visible to every user of the machine in ``ps``. The hub's addresses are
the ones scripts/e2e-local.sh exported (MDHUB_PUB_ADDR, ...), its public key from the key
file runhub wrote (MDHUB_CURVE_KEY_FILE, default $MDHUB_RUN_DIR/curve/server.key).

Prints ``{"ticks": n}`` once a second, so the test knows it reads; exits after ``--seconds``
or when its parent (the test) goes away, so a failed test leaves no reader behind.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from aggregation.client import HubAddress, HubClient
from aggregation.curve import CurveKeys


def server_key_file() -> Path:
    explicit = os.environ.get("MDHUB_CURVE_KEY_FILE")
    if explicit:
        return Path(explicit)
    return Path(os.environ["MDHUB_RUN_DIR"]) / "curve" / "server.key"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stream_reader.py", description=__doc__)
    parser.add_argument("topics", nargs="*", default=[""], help="what to subscribe (default: everything)")
    parser.add_argument("--conflate-ms", type=int, default=None, help="ask for the newest value every N ms")
    parser.add_argument("--seconds", type=float, default=300.0, help="exit after this long")
    args = parser.parse_args(argv)

    secret = os.environ.get("MDHUB_E2E_CLIENT_SECRET", "")
    if not secret:
        parser.error("MDHUB_E2E_CLIENT_SECRET is not set: the client's secret key")
    hub = HubAddress(
        os.environ["MDHUB_PUB_ADDR"],
        os.environ.get("MDHUB_SNAPSHOT_ADDR") or None,
        os.environ.get("MDHUB_RECOVERY_ADDR") or None,
        server_key=CurveKeys.read(server_key_file()).public,
        conflate=os.environ.get("MDHUB_CONFLATE_ADDR") or None,
    )
    parent = os.getppid()
    deadline = time.monotonic() + args.seconds
    ticks = 0
    next_report = time.monotonic()
    with HubClient(
        hub, args.topics, curve=CurveKeys.from_secret(secret), conflate_ms=args.conflate_ms
    ) as client:
        while time.monotonic() < deadline and os.getppid() == parent:
            if client.recv(0.2) is not None:
                ticks += 1
            if time.monotonic() >= next_report:
                print(json.dumps({"ticks": ticks}), flush=True)
                next_report += 1.0
    return 0


if __name__ == "__main__":
    sys.exit(main())
