"""End-to-end latency and throughput of the real hub against a bare ZeroMQ relay.

    .venv/bin/python -m bench.latency [--rates 3000 10000] [--seconds 10]

Hub: the simulated exchange → three real sim workers (cleanse, encode) → the real hub
(dedup, extend, XPUB) → a SUB client. Latency is worker receive (``recv_ns``, stamped
when the worker gets the snapshot) → client receive.
Floor: three sender processes PUSH the same pre-encoded bodies → a relay process that
forwards the first copy by a trivial key and nothing else → PUB → SUB client; latency is
sender stamp → client receive. Both run in the same invocation, one after the other.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack
import zmq

from tests.zmq_helpers import free_port, tick_frames

PROJECT = Path(__file__).resolve().parent.parent


def percentiles(samples: list[int]) -> dict[str, float]:
    if not samples:
        return {"p50": float("nan"), "p99": float("nan"), "p99.9": float("nan")}
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6

    return {"p50": pick(0.5), "p99": pick(0.99), "p99.9": pick(0.999)}


def collect(pub_addr: str, seconds: float, warmup: float) -> tuple[list[int], int]:
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"tick.")
    sub.connect(pub_addr)
    latencies: list[int] = []
    start = time.monotonic()
    count = 0
    while time.monotonic() - start < warmup + seconds:
        if not sub.poll(100):
            continue
        while True:
            try:
                _, payload = sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            now = time.time_ns()
            if time.monotonic() - start < warmup:
                continue
            count += 1
            latencies.append(now - msgpack.unpackb(payload)["recv_ns"])
    sub.close()
    return latencies, count


# -- the floor: a bare relay ---------------------------------------------------------------


def _sender(addr: str, rate: float, seconds: float, contracts: int) -> None:
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect(addr)
    interval = 1e9 / rate
    start = time.time_ns()
    for i in range(int(rate * seconds)):
        due = start + int(i * interval)
        while time.time_ns() < due:
            pass
        vt = f"c{i % contracts}.SHFE"
        topic, key, body = tick_frames(vt, 1_000_000 + i, float(i))
        push.send_multipart((topic, key, body))
    time.sleep(0.5)


def _relay(pull_addr: str, pub_addr: str) -> None:
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.bind(pull_addr)
    pub = ctx.socket(zmq.PUB)
    pub.bind(pub_addr)
    seen: set[bytes] = set()
    while True:
        topic, key, body = pull.recv_multipart()
        if key in seen:
            continue
        seen.add(key)
        pub.send_multipart((topic, body))


def run_relay(rate: float, seconds: float, contracts: int) -> dict[str, Any]:
    pull_addr = f"tcp://127.0.0.1:{free_port()}"
    pub_addr = f"tcp://127.0.0.1:{free_port()}"
    relay = mp.Process(target=_relay, args=(pull_addr, pub_addr), daemon=True)
    relay.start()
    time.sleep(0.3)
    senders = [mp.Process(target=_sender, args=(pull_addr, rate, seconds + 1, contracts)) for _ in range(3)]
    for s in senders:
        s.start()
    latencies, count = collect(pub_addr, seconds, warmup=1.0)
    for s in senders:
        s.join()
    relay.terminate()
    return {"delivered_per_s": count / seconds, **percentiles(latencies)}


# -- the real hub ----------------------------------------------------------------------------


def run_hub(rate: float, seconds: float, contracts: int) -> dict[str, Any]:
    pub_port, snap_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="mdhub-bench-") as run_dir:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.engine_runner",
                run_dir,
                f"tcp://127.0.0.1:{pub_port}",
                f"tcp://127.0.0.1:{snap_port}",
                str(rate / contracts),
                str(contracts),
            ],
            cwd=PROJECT,
        )
        try:
            latencies, count = collect(f"tcp://127.0.0.1:{pub_port}", seconds, warmup=3.0)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
    return {"delivered_per_s": count / seconds, **percentiles(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--rates",
        type=float,
        nargs="+",
        default=[3000.0, 10000.0],
        help="exchange snapshots per second; each of the three sources delivers all",
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--contracts", type=int, default=50)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()}"
    )
    print(f"{'path':<12}{'ingress/s':>12}{'delivered/s':>13}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}")
    for rate in args.rates:
        for name, runner in (("bare relay", run_relay), ("mdhub", run_hub)):
            result = runner(rate, args.seconds, args.contracts)
            print(
                f"{name:<12}{f'3x{rate:.0f}':>12}{result['delivered_per_s']:>13.0f}{result['p50']:>9.3f}"
                f"{result['p99']:>9.3f}{result['p99.9']:>10.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
