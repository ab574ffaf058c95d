"""CPU per tick of the worker's path, from the vendor callback to the ingest frame sent.

    .venv/bin/python -m bench.worker_path [--contracts 5000] [--rounds 4] [--repeat 3]

For each kind (ctp, sopt through the real pinned gateways' md API; sim through its snapshot),
the same records go through vn.py's path (``onRtnDepthMarketData`` → ``TickData`` →
``TickEmitter.emit``: cleanse, encode, send) and through the fast path
(``gateways.kinds.fast_record``), in one process, in the same run. Records are the loopback
front's (``depth_fields``), built before the clock starts: the callback is timed from its
entry, as the vn.py wrapper calls it with the record it has just built; one round per kind
goes first, untimed (each contract's first tick builds its per-contract meta, once per
worker). Frames go through
the real ``Sender`` (PUSH over ipc) into a PULL that a side thread drains.
``time.thread_time`` of the calling thread / ticks = µs CPU per tick.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
from typing import Any

import zmq

from aggregation import emit_core, tick_codec
from aggregation.cleanse import Cleanser
from gateways.kinds.base import Sender, TickEmitter
from gateways.loopback.front import Quirks, depth_fields
from gateways.simexchange import ContractSim, contract_universe


def _drain(pull: zmq.Socket[Any], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            pull.recv()
        except zmq.Again:
            continue


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_path")
    parser.add_argument("--contracts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from gateways.kinds import kind_class

    universe = contract_universe(args.contracts)
    futures = [p for p in universe if p.exchange != "SSE"]
    options = [p for p in universe if p.exchange == "SSE"]
    contracts = [{"symbol": p.symbol, "exchange": p.exchange, "name": p.name} for p in universe]
    ctx: zmq.Context[Any] = zmq.Context()
    results: dict[str, list[float]] = {}
    # The share of ticks that passed the cleanser and were sent (a dropped tick costs less).
    kept: dict[str, list[float]] = {}
    rounds_of: dict[str, int] = {"sim": args.rounds}
    with tempfile.TemporaryDirectory(prefix="mdhub-wp-") as run_dir:
        addr = f"ipc://{run_dir}/ingest.ipc"
        pull = ctx.socket(zmq.PULL)
        pull.setsockopt(zmq.RCVTIMEO, 100)
        pull.bind(addr)
        stop = threading.Event()
        drainer = threading.Thread(target=_drain, args=(pull, stop), daemon=True)
        drainer.start()
        rng = random.Random(5)
        for gateway_type, products in (("ctp", futures), ("sopt", options)):
            if not products:
                continue
            sims = [ContractSim(p, rng) for p in products]
            # Options are few in the universe (160 of 5 000): more rounds, so that each run
            # times about as many ticks as the futures' and the figure is not noise.
            rounds = max(args.rounds, -(-args.rounds * len(universe) // len(products)))
            rounds_of[gateway_type] = rounds
            spec = {"account": f"bench-{gateway_type}", "settings": {}, "contracts": contracts}
            cls = kind_class(gateway_type)
            kinds = {}
            for path in ("vnpy", "fast"):
                emitter = TickEmitter(Sender(ctx, addr, f"{path}-{gateway_type}"), Cleanser())
                if path == "vnpy":
                    os.environ["MDHUB_VNPY_TICKS"] = "1"
                kinds[path] = cls(spec, emitter)
                os.environ.pop("MDHUB_VNPY_TICKS", None)
                emitter.sender._socket()
                # One round untimed: each contract's first tick builds its meta (once per
                # worker), the steady state is what is measured.
                callback = kinds[path].gateway.md_api.onRtnDepthMarketData  # type: ignore[attr-defined]
                now = time.time_ns() - 2_000_000_000
                for sim in sims:
                    callback(depth_fields(sim.step(now), Quirks(), 0.0))
            for _ in range(args.repeat):
                for path, kind in kinds.items():
                    now = time.time_ns()
                    batch = [
                        depth_fields(sim.step(now + r * 500_000_000), Quirks(), 0.0)
                        for r in range(rounds)
                        for sim in sims
                    ]
                    callback = kind.gateway.md_api.onRtnDepthMarketData  # type: ignore[attr-defined]
                    sent0 = kind.emitter.sent
                    t0 = time.thread_time()
                    for record in batch:
                        callback(record)
                    cpu = time.thread_time() - t0
                    if kind.emitter.sent - sent0 < len(batch) * 0.5:
                        raise RuntimeError(f"bench ticks dropped: {kind.emitter.cleanser.counts()}")
                    results.setdefault(f"{gateway_type} {path}", []).append(cpu / len(batch) * 1e6)
                    kept.setdefault(f"{gateway_type} {path}", []).append(
                        (kind.emitter.sent - sent0) / len(batch)
                    )
        # The sim kind: its snapshot dict → TickData → emit, against SimRecordPath.
        from gateways.kinds.fast_record import SimRecordPath
        from gateways.kinds.sim import SimKind

        sims = [ContractSim(p, rng) for p in universe]
        for _ in range(args.repeat):
            for path in ("vnpy", "fast"):
                emitter = TickEmitter(Sender(ctx, addr, f"{path}-sim"), Cleanser())
                emitter.sender._socket()
                kind = SimKind({"account": f"{path}-sim", "settings": {}, "sim_addr": "inproc://x"}, emitter)
                kind.subscribe_all = True
                if path == "vnpy":
                    kind._fast = SimRecordPath(emitter, set())  # takes nothing: vn.py's way
                for sim in sims:  # the untimed round (see above)
                    kind._deliver(sim.step(time.time_ns() - 2_000_000_000))
                now = time.time_ns()
                batch = [sim.step(now + r * 500_000_000) for r in range(args.rounds) for sim in sims]
                sent0 = emitter.sent
                t0 = time.thread_time()
                for snap in batch:
                    kind._deliver(snap)
                cpu = time.thread_time() - t0
                results.setdefault(f"sim {path}", []).append(cpu / len(batch) * 1e6)
                kept.setdefault(f"sim {path}", []).append((emitter.sent - sent0) / len(batch))
        stop.set()
        drainer.join()
        pull.close()
    ctx.destroy(linger=0)
    print(
        f"compiled codec: {tick_codec.COMPILED}, compiled emit core: {emit_core.COMPILED}; "
        f"{args.contracts} contracts x {args.rounds} rounds; rounds per kind {rounds_of}"
    )
    for name, values in results.items():
        runs = [round(v, 2) for v in values]
        share = statistics.median(kept[name])
        print(
            f"{name:<10} µs CPU/tick, callback → frame: median {statistics.median(values):.2f}  runs {runs}"
            f"  sent {share:.0%}"
        )


if __name__ == "__main__":
    main()
