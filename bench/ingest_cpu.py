"""CPU per ingress tick, in one process: the hub's ``pump`` against the bare relay's loop.

    .venv/bin/python -m bench.ingest_cpu [--ticks 30000] [--repeat 5]

Three real ``Sender`` s (one per account, as three workers) queue ``--ticks`` pre-encoded
ticks each (the same stream, so 2/3 of them are duplicates) into the ingest PULL while
nobody reads it; then the main thread drains them and its CPU time (``time.thread_time``,
the main thread only: robust to other load on the machine) is divided by the tick count.
One SUB client on tcp is connected, so the output socket really sends.

Paths: ``relay`` (the bare relay's loop), ``hub`` (``TickHub.pump``: the compiled core when it
is built) and ``hub-python`` (the same hub on its Python loop, ``TickHub.use_python_loop``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

import zmq

from aggregation.hub import TickHub
from bench.latency import relay_loop
from bench.stream import TickStream, pre_encode
from gateways.kinds.base import Sender

ACCOUNTS = ("sim-a", "sim-b", "sim-c")


def _fill(addr: str, frames: list[tuple[bytes, bytes, bytes]], ctx: zmq.Context[Any]) -> None:
    senders = [Sender(ctx, addr, a) for a in ACCOUNTS]
    for sender in senders:
        sender._socket().poll(5000, zmq.POLLOUT)  # connected (a drop would stall the drain)
        for topic, key, body in frames:
            sender.send_tick(topic, key, body)
    time.sleep(0.5 + len(frames) * 3 / 150_000)  # the ipc pipes drain into the PULL's queue


def run(path: str, frames: list[tuple[bytes, bytes, bytes]]) -> float:
    total = 3 * len(frames)
    ctx: zmq.Context[Any] = zmq.Context()
    side: zmq.Context[Any] = zmq.Context()
    with tempfile.TemporaryDirectory(prefix="mdhub-cpu-") as run_dir:
        ingest = f"ipc://{run_dir}/ingest.ipc"
        port = _port()
        hub: TickHub | None = None
        if path.startswith("hub"):
            hub = TickHub(
                ingest,
                f"tcp://127.0.0.1:{port}",
                f"ipc://{run_dir}/snap.ipc",
                f"ipc://{run_dir}/c.ipc",
                ctx=ctx,
            )
            if path == "hub-python":
                hub.use_python_loop()
            pull, pub = hub.ingest, hub.pub
        else:
            pull = ctx.socket(zmq.PULL)
            pull.setsockopt(zmq.RCVHWM, 1_000_000)
            pull.setsockopt(zmq.RCVTIMEO, 5000)  # a lost tick ends the run instead of hanging
            pull.bind(ingest)
            pub = ctx.socket(zmq.PUB)
            pub.setsockopt(zmq.SNDHWM, 100_000)
            pub.bind(f"tcp://127.0.0.1:{port}")
        sub = side.socket(zmq.SUB)
        sub.setsockopt(zmq.RCVHWM, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"tick.")
        sub.connect(f"tcp://127.0.0.1:{port}")
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            if hub is not None:
                hub._on_subscriptions()
            else:
                pub.getsockopt(zmq.EVENTS)
            time.sleep(0.01)
        _fill(ingest, frames, side)
        t0 = time.thread_time()
        if hub is not None:
            handled = 0
            while handled < total:
                got = hub.pump(max_batch=1 << 30, budget_s=1e9)
                if not got:
                    raise RuntimeError(f"only {handled} of {total} ticks arrived (sender drops?)")
                handled += got
            assert hub.stats.malformed == 0, hub.stats
        else:
            relay_loop(pull, pub, total)
        cpu = time.thread_time() - t0
        if hub is not None:
            hub.close()
        else:
            pull.close()
            pub.close()
        sub.close(linger=0)
    ctx.destroy(linger=0)
    side.destroy(linger=0)
    return cpu / total * 1e6


def _port() -> int:
    from bench.latency import free_port

    return free_port()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_cpu")
    parser.add_argument("--ticks", type=int, default=30_000, help="per sender")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--paths", nargs="+", default=["relay", "hub", "hub-python"])
    args = parser.parse_args()
    base_ns = time.time_ns()
    stream = TickStream(50, base_ns, [k * 10_000 for k in range(args.ticks)])
    frames = list(pre_encode(stream, range(args.ticks), "sim-a").values())
    results: dict[str, list[float]] = {p: [] for p in args.paths}
    for _ in range(args.repeat):
        for path in args.paths:
            results[path].append(run(path, frames))
    for path, values in results.items():
        runs = [round(v, 2) for v in values]
        print(f"{path:<6} µs CPU/tick (main thread): median {statistics.median(values):.2f}  runs {runs}")


if __name__ == "__main__":
    main()
