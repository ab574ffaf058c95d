"""A real ``TickHub`` with a journal and its recovery service, in a thread or a process.

``python -m tests.journal_helpers DIR PUB SNAP RECOVERY [--rate R] [--topics N]`` runs one
as a process with a feeder thread of its own that pushes ticks into the hub's ingest socket
like a worker (for the kill -9 and full-disk tests): exchange times from the wall clock, so
a restarted process continues in time.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import zmq

from aggregation.hub import TickHub
from aggregation.journal import Journal
from aggregation.wire import tick_frame
from tests.zmq_helpers import free_port, tick_frames, wait_for

SYMBOLS = ("rb2601.SHFE", "rb2605.SHFE", "au2606.SHFE", "IF2601.CFFEX")


class JournalHub:
    """A hub with a journal, looping in a thread; ``push`` feeds it ticks."""

    def __init__(
        self, directory: Path, run_dir: Path, *, journal: bool = True, capacity: int = 100_000
    ) -> None:
        self.pub_addr = f"tcp://127.0.0.1:{free_port()}"
        self.snap_addr = f"tcp://127.0.0.1:{free_port()}"
        self.recovery_addr = f"tcp://127.0.0.1:{free_port()}"
        self.ingest_addr = f"ipc://{run_dir}/ingest.ipc"
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.journal = Journal(directory, capacity=capacity) if journal else None
        self.hub = TickHub(
            self.ingest_addr,
            self.pub_addr,
            self.snap_addr,
            f"ipc://{run_dir}/control.ipc",
            ctx=self.ctx,
            journal=self.journal,
            recovery_addr=self.recovery_addr,
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        self.pusher: zmq.Socket[Any] = self.ctx.socket(zmq.PUSH)
        self.pusher.setsockopt(zmq.LINGER, 0)
        self.pusher.setsockopt(zmq.SNDHWM, 0)
        self.pusher.connect(self.ingest_addr)
        self.sent = 0

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.hub.poll(10)

    def push(self, count: int, symbols: tuple[str, ...] = SYMBOLS, start_ns: int | None = None) -> None:
        """``count`` distinct ticks, round-robin over ``symbols``, one copy each."""
        base = time.time_ns() if start_ns is None else start_ns
        for i in range(count):
            topic, key, body = tick_frames(symbols[i % len(symbols)], base + i * 1000, float(self.sent + i))
            self.pusher.send(tick_frame(b"sim-a", topic, key, body))
        self.sent += count

    def journal_caught_up(self) -> bool:
        journal = self.journal
        assert journal is not None
        handled = journal.stats.written + journal.stats.overflow + journal.stats.lost
        return not journal.queue and handled >= self.hub.stats.forwarded

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the hub has forwarded every tick pushed and the writer has them."""
        wait_for(lambda: self.hub.stats.forwarded >= self.sent and self.journal_caught_up(), timeout)

    def close(self) -> None:
        if self.stop.is_set():
            return
        self.stop.set()
        self.thread.join(5)
        self.pusher.close(linger=0)
        self.hub.close()
        self.ctx.destroy(linger=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=Path)
    parser.add_argument("pub")
    parser.add_argument("snapshot")
    parser.add_argument("recovery")
    parser.add_argument("--rate", type=float, default=2000.0, help="ticks/s")
    parser.add_argument("--capacity", type=int, default=100_000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s", stream=sys.stderr)
    run_dir = args.directory.parent / f"run-{args.directory.name}"
    run_dir.mkdir(parents=True, exist_ok=True)
    ctx: zmq.Context[Any] = zmq.Context()
    journal = Journal(args.directory, capacity=args.capacity)
    ingest = f"ipc://{run_dir}/ingest.ipc"
    hub = TickHub(
        ingest,
        args.pub,
        args.snapshot,
        f"ipc://{run_dir}/control.ipc",
        ctx=ctx,
        journal=journal,
        recovery_addr=args.recovery,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def feed() -> None:
        push: zmq.Socket[Any] = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        push.connect(ingest)
        sent = 0
        started = time.monotonic()
        while not stop.is_set():
            due = started + sent / args.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            topic, key, body = tick_frames(SYMBOLS[sent % len(SYMBOLS)], time.time_ns(), float(sent))
            push.send(tick_frame(b"sim-a", topic, key, body))
            sent += 1
        push.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    print(f"READY epoch={journal.epoch}", flush=True)
    while not stop.is_set():
        hub.poll(10)
    feeder.join(2)
    hub.close()
    print(f"STOPPED {journal.stats_dict()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
