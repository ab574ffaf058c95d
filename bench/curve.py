"""CURVE's cost: the hub with CURVE + ZAP + entitlements against the plain hub and the bare
relay, in the same run, with the same load (bench/latency.py's senders and phases).

    .venv/bin/python -m bench.curve [--rates 10000] [--seconds 5] [--repeat 1]

Paths: ``relay`` (the floor), ``hub`` (plain ZeroMQ, the default loopback setup), ``curve``
(``MDHUB_CURVE``: the XPUB, snapshot and recovery sockets are CURVE servers under the ZAP
handler, the XPUB runs with XPUB_MANUAL and the client's subscription is checked against its
entitlements). The client is the same SUB, given a CURVE key pair for the ``curve`` path
(pyzmq's context-level socket options, so bench.latency's own client is used unchanged).
CURVE encrypts every message (its cost is per byte and per message, in libzmq's I/O
threads, on both ends); authentication is once per connection, never per tick.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import zmq

from aggregation.curve import CurveKeys
from bench.latency import PROJECT, Sink, _header, _line, _median, free_port, run_phase

PATHS = ("relay", "hub", "curve")


class CurveHubSink(Sink):
    """The real engine loop (``serve`` below) with CURVE on and one entitled client."""

    def __init__(self, run_dir: str, server: CurveKeys, client: CurveKeys) -> None:
        self.pub = f"tcp://127.0.0.1:{free_port()}"
        snap = f"tcp://127.0.0.1:{free_port()}"
        self.ingest = f"ipc://{run_dir}/ingest.ipc"
        # Benchmark keys, made for this run only: passed by environment, never logged.
        env = dict(os.environ, BENCH_SERVER_SECRET=server.secret, BENCH_CLIENT_PUBLIC=client.public)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.curve", "--serve", run_dir, self.pub, snap],
            cwd=PROJECT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the CURVE hub did not start")

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=20)
        stats: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return stats


def serve(run_dir: str, pub: str, snap: str) -> None:
    """bench.engine_runner's loop with CURVE on (the engine as ``runhub`` builds it)."""
    import time

    from aggregation.access import ClientIdentity
    from engine.config import EngineConfig
    from engine.loop import Engine

    server = CurveKeys.from_secret(os.environ["BENCH_SERVER_SECRET"])
    client = ClientIdentity("bench", os.environ["BENCH_CLIENT_PUBLIC"], prefixes=("tick.",))
    config = EngineConfig(
        run_dir=Path(run_dir),
        pub_addr=pub,
        snapshot_addr=snap,
        accounts=[],
        subscriptions=[],
        contracts=[],
        calendar=None,
        log_level="WARNING",
        stream_keys=server,
        clients=[client],
    )
    engine = Engine(config)
    hub = engine.hub

    def stop(signum: int, frame: Any) -> None:
        engine.shutdown = True

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    poller = zmq.Poller()
    poller.register(hub.pub, zmq.POLLIN)
    poller.register(sys.stdin.fileno(), zmq.POLLIN)
    while True:
        events = dict(poller.poll(100))
        if hub.pub in events:
            hub._on_subscriptions()
        if sys.stdin.fileno() in events:
            sys.stdin.readline()
            break
    proc0 = time.process_time()
    engine.run()
    proc = time.process_time() - proc0
    received = sum(s.received for s in hub.sources.values())
    assert hub.access is not None
    print(
        json.dumps(
            {
                "received": received,
                "forwarded": hub.stats.forwarded,
                "proc_us": round(proc / max(1, received) * 1e6, 2),
                "accepted_connections": hub.access.policy.stats.accepted_connections,
            }
        ),
        flush=True,
    )


def run_curve_phase(phase: str, args: argparse.Namespace) -> dict[str, Any]:
    server, client = CurveKeys.generate(), CurveKeys.generate()
    ctx = zmq.Context.instance()
    # bench.latency's client SUB is made from this context: it becomes a CURVE client.
    ctx.setsockopt(zmq.CURVE_SERVERKEY, server.public.encode())
    ctx.setsockopt(zmq.CURVE_PUBLICKEY, client.public.encode())
    ctx.setsockopt(zmq.CURVE_SECRETKEY, client.secret.encode())
    try:
        result = run_phase("hub", phase, args, make_sink=lambda d: CurveHubSink(d, server, client))
    finally:
        for option in (zmq.CURVE_SERVERKEY, zmq.CURVE_PUBLICKEY, zmq.CURVE_SECRETKEY):
            ctx.sockopts.pop(option, None)
    result["path"] = "curve"
    return result


def line(r: dict[str, Any]) -> str:
    if r["path"] != "curve":
        return _line(r)
    return _line(dict(r, path="hub")).replace("mdhub   ", "curve   ", 1)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(prog="python -m bench.curve")
    parser.add_argument("--rates", type=float, nargs="+", default=[10_000.0], help="per sender")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--burst-seconds", type=float, default=0.5)
    parser.add_argument("--ceiling-ticks", type=int, default=100_000, help="per sender")
    parser.add_argument("--contracts", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--quantum-us", type=float, default=250.0)
    parser.add_argument("--phases", nargs="+", default=None, help="default: 3xRATE... ceiling")
    args = parser.parse_args()
    phases = args.phases or [*(f"3x{r:.0f}" for r in args.rates), "ceiling"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()}; {args.contracts} contracts",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    for rep in range(args.repeat):
        for phase in phases:
            for path in PATHS:
                r = run_curve_phase(phase, args) if path == "curve" else run_phase(path, phase, args)
                results.append(r)
                print(f"run {rep + 1}: {line(r)}", flush=True)
    print("\nmedians over", args.repeat, "run(s):")
    print(_header())
    for phase in phases:
        for path in PATHS:
            rows = [r for r in results if r["phase"] == phase and r["path"] == path]
            print(line(_median(rows)))


if __name__ == "__main__":
    main()
