"""CPU per record of the depth tee's compiled handler, from the vendor's struct to the frame on
the socket: ``DepthTee.feed`` (the handler's own entry, without the GIL swap of the library's
thread) → ``TickEmitter.emit_numbers`` → the real ``Sender`` over ipc to a PULL here.

    .venv/bin/python -m bench.depth_tee [--contracts 300] [--rounds 20] [--runs 3]

The records are the loopback front's (``depth_fields``, default quirks), laid out as the
pinned header's struct (``gateways.depthtee.layout``) before the clock; the figure is the
calling thread's CPU time (``time.thread_time_ns``) over every round but the first, median
of the runs. Not in it: the md library's receive and parse, libzmq's I/O thread.
"""

from __future__ import annotations

import ctypes
import os
import statistics
import tempfile
import time

import zmq

from aggregation.cleanse import Cleanser
from bench.depth_records import depth_records, futures, size_arguments
from gateways.depthtee.build import main as build_tee
from gateways.depthtee.layout import record_struct, to_struct
from gateways.depthtee.tee import handler_module
from gateways.kinds import kind_class
from gateways.kinds.base import Sender, TickEmitter


def run(contracts: int, rounds: int, addr: str) -> float:
    products = futures(contracts)
    specs = [{"symbol": p.symbol, "exchange": p.exchange, "name": p.name} for p in products]
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVHWM, 0)
    pull.bind(addr)
    emitter = TickEmitter(Sender(ctx, addr, "bench"), Cleanser())
    kind = kind_class("ctp")({"account": "bench", "settings": {}, "contracts": specs}, emitter)
    tee = handler_module("ctp").DepthTee(kind.fast_path)  # type: ignore[attr-defined]
    layout = record_struct("ctp")
    raws = []
    for fields in depth_records(products, rounds):
        record = to_struct(layout, fields)
        raws.append(ctypes.string_at(ctypes.addressof(record), ctypes.sizeof(record)))
    feed = tee.feed
    for raw in raws[:contracts]:  # the first round: caches, sockets
        feed(raw)
    t0 = time.thread_time_ns()
    for raw in raws[contracts:]:
        feed(raw)
    spent = time.thread_time_ns() - t0
    if tee.declined or tee.errors or emitter.sent != len(raws):
        raise RuntimeError(f"not every record went through: {tee.declined=} {tee.errors=} {emitter.sent=}")
    ctx.destroy(linger=0)
    return spent / (len(raws) - contracts) / 1000


def main() -> None:
    args = size_arguments(__doc__.split("\n")[0])
    # The kind's own tee stays out: this feeds the handler directly, no md library behind it.
    os.environ["MDHUB_DEPTH_TEE"] = "0"
    build_tee()
    with tempfile.TemporaryDirectory(prefix="mdhub-tee-") as tmp:
        figures = [run(args.contracts, args.rounds, f"ipc://{tmp}/ingest-{i}.ipc") for i in range(args.runs)]
    runs = ", ".join(f"{f:.2f}" for f in figures)
    median = statistics.median(figures)
    print(f"depth tee, ctp: {median:.2f} µs/record (runs {runs}); load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
