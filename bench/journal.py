"""What the journal costs: the hub with the journal on and off beside the bare relay, the time
to fill a gap of 10 000 ticks, and disk bytes per tick.

    .venv/bin/python -m bench.journal [--rate 10000] [--seconds 6] [--repeat 1]

* Latency (``3xRATE``) and ingress ceiling phases are ``bench.latency``'s, run on the same
  senders for three paths in one run: ``relay``, ``hub`` (journal off) and ``hub+journal``
  (the real engine with ``journal_dir``, writing to a temporary directory).
* ``fill``: a hub with a journal in this process (a thread) forwards 10 000 ticks of one
  contract; then a client asks the recovery service for seq 1..10 000 (one FILL, as the
  client library does on a gap) and the time to the last tick received is measured, and the
  same through ``HubClient`` (resume from the day's start: an AFTER, paged, then live).
* Disk bytes per tick: the journal's bytes / ticks written in the ``hub+journal`` runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import msgpack
import zmq

from aggregation import wire
from aggregation.client import HubAddress, HubClient
from aggregation.hub import TickHub
from aggregation.journal import Journal
from bench import latency
from bench.latency import free_port


class JournalHubSink(latency.HubSink):
    """``bench.latency``'s hub, with the journal on (``bench.engine_runner``'s 4th argument)."""

    def __init__(self, run_dir: str, journal_dir: str | None = None) -> None:
        super().__init__(run_dir, journal_dir or f"{run_dir}/journal")


def run_path(path: str, phase: str, args: argparse.Namespace) -> dict[str, Any]:
    if path != "hub+journal":
        return latency.run_phase(path, phase, args)
    # run_phase picks its hub by name; swap in the journaling one for this call only.
    plain = latency.HubSink
    latency.HubSink = JournalHubSink  # type: ignore[misc]
    try:
        result = latency.run_phase("hub", phase, args)
    finally:
        latency.HubSink = plain  # type: ignore[misc]
    result["path"] = "hub+journal"
    return result


def _body(i: int) -> bytes:
    fields: dict[str, Any] = {
        "v": wire.SCHEMA_VERSION,
        "symbol": "rb2601",
        "exchange": "SHFE",
        "name": "rb2601",
    }
    fields["datetime"] = 1_767_574_800_000_000_000 + i * 500_000_000
    for name in wire.NUMBER_FIELDS:
        fields[name] = 3500.0 + i % 7
    fields["volume"] = float(i)
    fields["localtime"] = None
    fields["recv_ns"] = time.time_ns()
    packed: bytes = msgpack.packb(fields)
    return packed


def fill_bench(ticks: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="mdhub-bench-") as tmp:
        ctx: zmq.Context[Any] = zmq.Context()
        recovery = f"tcp://127.0.0.1:{free_port()}"
        pub = f"tcp://127.0.0.1:{free_port()}"
        journal = Journal(Path(tmp) / "journal")
        hub = TickHub(
            f"ipc://{tmp}/ingest.ipc",
            pub,
            f"tcp://127.0.0.1:{free_port()}",
            f"ipc://{tmp}/control.ipc",
            ctx=ctx,
            journal=journal,
            recovery_addr=recovery,
        )
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                hub.poll(10)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.SNDHWM, 0)
        push.connect(f"ipc://{tmp}/ingest.ipc")
        topic = b"tick.rb2601.SHFE"
        for i in range(ticks):
            key = wire.content_key(1_767_574_800_000_000_000 + i * 500_000_000, (float(i),))
            push.send(wire.tick_frame(b"sim-a", topic, key, _body(i)))
        while journal.stats.written < ticks:
            time.sleep(0.01)
        dealer = ctx.socket(zmq.DEALER)
        dealer.connect(recovery)
        time.sleep(0.2)
        started = time.perf_counter()
        body = {"v": 1, "id": 1, "topic": topic, "epoch": hub.epoch, "from": 1, "to": ticks}
        dealer.send_multipart((wire.REQ_FILL, msgpack.packb(body)))
        got = 0
        while True:
            frames = dealer.recv_multipart()
            if frames[0] != wire.REP_DATA:
                break
            got += (len(frames) - 2) // 2
        raw_s = time.perf_counter() - started
        assert got == ticks, got
        started = time.perf_counter()
        with HubClient(HubAddress(pub, None, recovery), ["rb"], resume_since_ns=0, context=ctx) as client:
            for _ in range(ticks):
                assert client.recv(10) is not None
        client_s = time.perf_counter() - started
        dealer.close(0)
        push.close(0)
        stop.set()
        thread.join(2)
        hub.close()
        ctx.destroy(0)
        return {"raw_fill_ms": raw_s * 1e3, "client_resume_ms": client_s * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.journal")
    parser.add_argument("--rate", type=float, default=10_000.0, help="per sender (3 senders)")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--ceiling-ticks", type=int, default=60_000, help="per sender")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--fill-ticks", type=int, default=10_000)
    args = parser.parse_args()
    # What bench.latency.run_phase reads besides these.
    args.rates, args.burst_seconds, args.contracts, args.quantum_us = [args.rate], 0.5, 50, 250.0
    phases = [f"3x{args.rate:.0f}", "ceiling"]
    paths = ("relay", "hub", "hub+journal")
    results = []
    for rep in range(args.repeat):
        for phase in phases:
            for path in paths:
                r = run_path(path, phase, args)
                results.append(r)
                print(f"run {rep + 1}: {path:<12} {latency._line(r)[8:]}", flush=True)
    print("\nmedians:")
    for phase in phases:
        for path in paths:
            rows = [r for r in results if r["phase"] == phase and r["path"] == path]
            merged = latency._median(rows)
            print(f"{path:<12} {latency._line(merged)[8:]}")
    written = [r["hub"]["journal"] for r in results if r["path"] == "hub+journal" and "journal" in r["hub"]]
    if written:
        per_tick = statistics.median(j["bytes"] / max(1, j["written"]) for j in written)
        print(f"\njournal: {per_tick:.0f} disk bytes per tick; overflow {[j['overflow'] for j in written]}")
    fill = fill_bench(args.fill_ticks)
    print(f"gap fill of {args.fill_ticks} ticks: {json.dumps({k: round(v, 1) for k, v in fill.items()})}")


if __name__ == "__main__":
    main()
