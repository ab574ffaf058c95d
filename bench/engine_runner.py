"""The real engine loop for the benchmark, without Django and without accounts of its own:
the benchmark's sender processes connect to its ingest socket as workers do.

    python -m bench.engine_runner RUN_DIR PUB_ADDR SNAPSHOT_ADDR [JOURNAL_DIR]

Prints ``ready`` once its sockets are bound, then holds (answering only client
subscriptions) until a line arrives on standard input, then runs ``Engine.run`` until
SIGTERM and prints the hub's counters as one JSON line.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import zmq

from engine.config import EngineConfig
from engine.loop import Engine


def main() -> None:
    run_dir, pub, snap = sys.argv[1:4]
    config = EngineConfig(
        run_dir=Path(run_dir),
        pub_addr=pub,
        snapshot_addr=snap,
        accounts=[],
        subscriptions=[],
        contracts=[],
        calendar=None,
        log_level="WARNING",
        # With a fourth argument the hub journals every tick there (bench/journal.py).
        journal_dir=Path(sys.argv[4]) if len(sys.argv) > 4 else None,
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
    import time

    cpu0, proc0 = time.thread_time(), time.process_time()
    engine.run()
    cpu, proc = time.thread_time() - cpu0, time.process_time() - proc0
    sources = hub.sources.values()
    stats: dict[str, Any] = {
        "received": sum(s.received for s in sources),
        "forwarded": hub.stats.forwarded,
        "duplicates": sum(s.duplicates for s in sources),
        "too_late": sum(s.too_late for s in sources),
        "malformed": hub.stats.malformed,
        # CPU per tick received, from the release to SIGTERM: the loop's thread, the process.
        "cpu_us": round(cpu / max(1, sum(s.received for s in sources)) * 1e6, 2),
        "proc_us": round(proc / max(1, sum(s.received for s in sources)) * 1e6, 2),
    }
    if hub.journal is not None:
        journal = hub.journal.stats
        stats["journal"] = {"written": journal.written, "bytes": journal.bytes, "overflow": journal.overflow}
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
