"""The JetStream bridge: its throughput, and the latency it adds, against the ZeroMQ path in
the same run (docs/jetstream.md has the figures).

    .venv/bin/python -m bench.jetstream --contracts 13 --rate 50 --seconds 10 --backlog 10

A real 3-node NATS cluster on loopback, one hub with a journal fed by a sim worker from the
simulated exchange (``tests.jetstream_hub``), one bridge (``python -m bridge.run``):

* **throughput**: the hub runs ``--backlog`` seconds before the bridge starts; the bridge's
  first run publishes that journal day, so the time it takes to store it is its rate with
  the hub's journal and JetStream (replicas 3) as the only limits.
* **latency**: then for ``--seconds`` a ZeroMQ client (``HubClient``) and a JetStream
  consumer (``JetStreamSource``, start "new") read the same ticks, each on its own thread;
  each tick's latency is now − ``recv_ns`` (when the worker received the snapshot).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from aggregation.client import HubClient
from bridge.cluster import Cluster
from bridge.consumer import JetStreamSource
from tests.jetstream_helpers import Bridge, Hub, sim_exchange


def percentiles(samples: list[float]) -> str:
    if len(samples) < 2:
        return "n/a"
    qs = statistics.quantiles(samples, n=100)
    return f"p50 {qs[49]:.2f} ms  p99 {qs[98]:.2f} ms  max {max(samples):.2f} ms  (n={len(samples)})"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.jetstream")
    parser.add_argument("--contracts", type=int, default=13)
    parser.add_argument("--rate", type=float, default=50.0, help="snapshots per second per contract")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--backlog", type=float, default=10.0, help="seconds of tape before the bridge starts"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-jetstream-") as tmpdir:
        tmp = Path(tmpdir)
        cluster = Cluster(tmp / "nats")
        cluster.start()
        sim, sim_addr = sim_exchange(tmp, args.contracts, args.rate)
        sim.start()
        hub = Hub(tmp, "a", sim_addr, "sim-a")
        bridge = Bridge(tmp, "a", hub, cluster)
        try:
            hub.start()
            time.sleep(args.backlog)
            backlog = sum(len(ids) for ids in hub.forwarded().values())
            started = time.monotonic()
            bridge.start()
            while bridge.status().get("stored", 0) < backlog:
                time.sleep(0.01)
            took = time.monotonic() - started
            per_second = backlog / took
            print(f"throughput: {backlog} journaled ticks stored in {took:.2f} s = {per_second:,.0f} ticks/s")
            print("  (from the bridge process's start: connect, stream check and resume included)")

            zmq_ms: list[float] = []
            js_ms: list[float] = []
            stop = threading.Event()
            user, password = cluster.creds.reader

            def read_zmq() -> None:
                with HubClient(hub.address, [""], snapshot=False) as client:
                    while not stop.is_set():
                        tick = client.recv(0.1)
                        if tick is not None:
                            zmq_ms.append((time.time_ns() - tick["recv_ns"]) / 1e6)

            def read_js() -> None:
                with JetStreamSource(cluster.url, [""], start="new", user=user, password=password) as source:
                    while not stop.is_set():
                        tick = source.recv(0.1)
                        if tick is not None:
                            js_ms.append((time.time_ns() - tick["recv_ns"]) / 1e6)

            readers = [threading.Thread(target=read_zmq), threading.Thread(target=read_js)]
            for thread in readers:
                thread.start()
            time.sleep(args.seconds)
            stop.set()
            for thread in readers:
                thread.join(10)
            rate = args.contracts * args.rate
            print(f"latency at {rate:,.0f} ticks/s, worker receive → reader:")
            print(f"  ZeroMQ    {percentiles(zmq_ms)}")
            print(f"  JetStream {percentiles(js_ms)}")
            print(f"bridge status: {bridge.status()}")
        finally:
            bridge.stop()
            hub.stop()
            sim.stop()
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
