"""A hub process for the JetStream tests and benchmark: the real ``TickHub`` with a journal and
its recovery service, fed by real ``sim`` gateway workers reading a shared simulated exchange.

    python -m tests.jetstream_hub JOURNAL_DIR PUB SNAP RECOVERY --sim ipc://.../sim.ipc --accounts a,b

Lighter than ``manage.py runhub`` (no Django, Redis or database; runhub with its journal is
tested in ``tests/test_jetstream_runhub.py``), so the cluster tests can run two of these on
one simulated exchange: two hubs of one exchange.
Its workers die with it (parent-death signal), as runhub's do.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import zmq

from aggregation.hub import TickHub
from aggregation.journal import Journal

PROJECT = Path(__file__).resolve().parent.parent


def start_worker(
    account: str, run_dir: Path, sim_addr: str, settings: dict[str, Any]
) -> subprocess.Popen[bytes]:
    workdir = run_dir / "flows" / account
    workdir.mkdir(parents=True, exist_ok=True)
    spec = {
        "account": account,
        "gateway_type": "sim",
        "settings": settings,
        "ingest": f"ipc://{run_dir}/ingest.ipc",
        "control": f"ipc://{run_dir}/control.ipc",
        "sim_addr": sim_addr,
        "workdir": str(workdir),
        "subscriptions": ["*"],
        "calendar": None,
        "max_skew": 60,
        "log_level": "WARNING",
        "hub_silence_timeout": 5,
        "parent_pid": os.getpid(),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateways.worker", str(workdir)],
        cwd=PROJECT,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(spec).encode())
    proc.stdin.close()
    return proc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=Path)
    parser.add_argument("pub")
    parser.add_argument("snapshot")
    parser.add_argument("recovery")
    parser.add_argument("--sim", required=True, help="the simulated exchange's PUB address")
    parser.add_argument("--accounts", default="sim-a")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s", stream=sys.stderr)
    run_dir = args.directory.parent / f"run-{args.directory.name}"
    run_dir.mkdir(parents=True, exist_ok=True)
    ctx: zmq.Context[Any] = zmq.Context()
    journal = Journal(args.directory)
    hub = TickHub(
        f"ipc://{run_dir}/ingest.ipc",
        args.pub,
        args.snapshot,
        f"ipc://{run_dir}/control.ipc",
        ctx=ctx,
        journal=journal,
        recovery_addr=args.recovery,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    workers = [
        start_worker(account, run_dir, args.sim, {"latency_ms": args.latency_ms})
        for account in args.accounts.split(",")
    ]
    print(f"READY epoch={journal.epoch}", flush=True)
    next_beat = 0.0
    while not stop.is_set():
        hub.poll(10)
        now = time.monotonic()
        if now >= next_beat:
            hub.heartbeat()
            next_beat = now + 0.5
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(5)
        except subprocess.TimeoutExpired:
            worker.kill()
    hub.close()
    print(f"STOPPED forwarded={hub.stats.forwarded}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
