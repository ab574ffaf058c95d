"""Where the hub's CPU per copy goes when ticks trickle in (as three real workers send them,
one at a time) against when they wait queued (as the floor's senders hand them over): per
thread of the hub's process (its loop, libzmq's I/O thread), CPU ns and context switches per
copy, for the real ``TickHub.pump`` and the bare relay's loop.

    .venv/bin/python -m bench.hub_trickle [--ticks 20000] [--interval-us 40] [--paths relay hub]

Three sender processes (the real ``Sender``, one account each, the same pre-encoded stream as
``bench.ingest_cpu``: 2/3 of the copies are duplicates) push ``--ticks`` ticks each into the
hub's ingest socket over ipc; one SUB client on tcp reads the output. ``queued``: the senders
push everything before the hub reads anything; ``trickle``: each sender sleeps
``--interval-us`` before each tick (a sleep overshoots by ~60 µs: the pace is approximate)
while the hub reads.
The hub runs in a process of its own; its threads' figures come from
``/proc/self/task/*/schedstat`` (CPU ns, exact) and ``status`` (voluntary context switches:
each is a wait in ``poll``/``epoll_wait`` that ended with a wake-up).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import zmq

from bench.latency import free_port, relay_loop
from bench.stream import TickStream, pre_encode

ACCOUNTS = ("sim-a", "sim-b", "sim-c")


def thread_stats() -> dict[str, tuple[int, int]]:
    """``{thread name #tid: (CPU ns, voluntary context switches)}`` of this process."""
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            cpu = int((task / "schedstat").read_text().split()[0])
            status = (task / "status").read_text()
        except OSError:
            continue  # a thread that ended meanwhile
        switches = int(next(line.split()[1] for line in status.splitlines() if line.startswith("voluntary")))
        out[f"{name}#{task.name}"] = (cpu, switches)
    return out


def hub_process(path: str, ingest: str, port: int, total: int, ready: Any, go: Any, result: Any) -> None:
    ctx: zmq.Context[Any] = zmq.Context()
    with tempfile.TemporaryDirectory(prefix="mdhub-trickle-") as run_dir:
        hub = None
        if path == "hub":
            from aggregation.hub import TickHub

            hub = TickHub(
                ingest, f"tcp://127.0.0.1:{port}", f"ipc://{run_dir}/s.ipc", f"ipc://{run_dir}/c.ipc", ctx=ctx
            )
        else:
            pull = ctx.socket(zmq.PULL)
            pull.setsockopt(zmq.RCVHWM, 1_000_000)
            pull.bind(ingest)
            pub = ctx.socket(zmq.PUB)
            pub.setsockopt(zmq.SNDHWM, 100_000)
            pub.bind(f"tcp://127.0.0.1:{port}")
        # The client's subscription in before any tick (the hub learns it through its XPUB).
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if hub is not None:
                hub._on_subscriptions()
            time.sleep(0.01)
        ready.set()
        go.wait()
        before = thread_stats()
        if hub is not None:
            handled = 0
            deadline = time.monotonic() + 60
            while handled < total:
                # 0: RCVTIMEO went by with nothing (the senders' pacing is far shorter).
                handled += hub.pump(max_batch=1 << 30, budget_s=1e9)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {handled} of {total} ticks arrived")
        else:
            relay_loop(pull, pub, total)
        after = thread_stats()
        result.put({k: (after[k][0] - v[0], after[k][1] - v[1]) for k, v in before.items() if k in after})
        if hub is not None:
            hub.close()
    ctx.destroy(linger=0)


def sender_process(
    account: str, ingest: str, ticks: int, base_ns: int, interval_ns: int, go: Any, done: Any
) -> None:
    from gateways.kinds.base import Sender

    # One base stamp for the three: the same content key for a tick's three copies.
    stream = TickStream(50, base_ns, [k * 10_000 for k in range(ticks)])
    frames = list(pre_encode(stream, range(ticks), "sim-a").values())
    ctx: zmq.Context[Any] = zmq.Context()
    sender = Sender(ctx, ingest, account)
    sender._socket().poll(5000, zmq.POLLOUT)
    send = sender.send_tick
    if interval_ns:
        done.put("built")
        go.wait()
    # Sleeping, not spinning: three spinning senders would take the 2-core machine's CPU
    # from the hub and the figures would be its preemptions. A sleep is ~60 µs longer than
    # asked, so the pace is approximate; what it sets is how few ticks the hub finds queued.
    pause = interval_ns / 1e9
    sleep = time.sleep
    for topic, key, body in frames:
        if pause:
            sleep(pause)
        send(topic, key, body)
    done.put(sender.dropped)
    time.sleep(2.0)  # the PUSH's queue drains before the context goes
    ctx.destroy(linger=0)


def run(path: str, mode: str, ticks: int, interval_us: float) -> dict[str, tuple[int, int]]:
    mpc = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="mdhub-trickle-") as tmp:
        ingest = f"ipc://{tmp}/ingest.ipc"
        port = free_port()
        ready, go, result, done = mpc.Event(), mpc.Event(), mpc.Queue(), mpc.Queue()
        total = ticks * len(ACCOUNTS)
        hub = mpc.Process(target=hub_process, args=(path, ingest, port, total, ready, go, result))
        hub.start()
        client_ctx: zmq.Context[Any] = zmq.Context()
        sub = client_ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.RCVHWM, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(f"tcp://127.0.0.1:{port}")
        ready.wait(30)
        interval_ns = round(interval_us * 1000) if mode == "trickle" else 0
        base_ns = time.time_ns()
        senders = [
            mpc.Process(target=sender_process, args=(a, ingest, ticks, base_ns, interval_ns, go, done))
            for a in ACCOUNTS
        ]
        for s in senders:
            s.start()
        if mode == "queued":
            dropped = [done.get(timeout=120) for _ in senders]
            time.sleep(0.5 + total / 150_000)  # the ipc pipes drain into the hub's queue
        else:
            assert [done.get(timeout=120) for _ in senders] == ["built"] * len(senders)
        go.set()
        received = 0
        stats: dict[str, tuple[int, int]] | None = None
        while stats is None:
            while sub.poll(10):
                sub.recv()
                received += 1
            if not result.empty():
                stats = result.get()
            elif not hub.is_alive():
                raise RuntimeError(f"the {path} process ended with {hub.exitcode} and no figures")
        while sub.poll(500):  # what is still on its way to the client
            sub.recv()
            received += 1
        if mode == "trickle":
            dropped = [done.get(timeout=120) for _ in senders]
        for s in senders:
            s.join(10)
        hub.join(10)
        client_ctx.destroy(linger=0)
    if any(dropped):
        raise RuntimeError(f"senders dropped {dropped}")
    return {name: (cpu // total, switches) for name, (cpu, switches) in stats.items()} | {
        "_total": (total, received)
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hub_trickle")
    parser.add_argument("--ticks", type=int, default=20_000, help="per sender")
    parser.add_argument("--interval-us", type=float, default=40.0, help="a sender's pace while trickling")
    parser.add_argument("--paths", nargs="+", default=["relay", "hub"])
    parser.add_argument("--modes", nargs="+", default=["queued", "trickle"])
    args = parser.parse_args()
    print(
        f"load average {os.getloadavg()[0]:.2f}; {args.ticks} ticks x 3 senders; "
        f"trickle: one every {args.interval_us} µs per sender"
    )
    for mode in args.modes:
        for path in args.paths:
            stats = run(path, mode, args.ticks, args.interval_us)
            total, received = stats.pop("_total")
            busy = {k: v for k, v in stats.items() if v[0] > 50 or v[1] > total // 100}
            parts = ", ".join(
                f"{name.split('#')[0]} {cpu / 1000:.2f} µs, {switches / total:.2f} waits"
                for name, (cpu, switches) in busy.items()
            )
            cpu_all = sum(v[0] for v in stats.values()) / 1000
            print(f"{mode:<8}{path:<6} {cpu_all:.2f} µs CPU/copy in all threads ({parts}); {received} out")


if __name__ == "__main__":
    main()
