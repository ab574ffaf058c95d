"""The hub against a bare ZeroMQ relay: latency at fixed rates, a burst, the ingress ceiling.

    .venv/bin/python -m bench.latency [--rates 10000 30000] [--seconds 10] [--repeat 3]

Both paths get the same load from the same three sender processes (``bench/stream.py``):
each sender plays one deterministic snapshot stream through the workers' real
``TickEmitter`` (cleanse, encode once, PUSH through the real ``Sender`` over ipc), so the
three copies of a snapshot carry one content key. ``rate`` is per sender: ``3x10000`` is
30 000 ticks/s into the hub, 10 000 distinct ticks/s out of it.

* **mdhub**: the real engine loop (``engine.loop.Engine`` with no accounts of its
  own: the senders are its workers) → ``TickHub`` (dedup, byte-wise extend, XPUB on tcp).
* **bare relay**: PULL (ipc) → forward the first copy by its key, nothing else → PUB
  (tcp). Same ingest frames as the hub (one frame per tick), same high-water marks.
* The client is one SUB on tcp in this process. Latency is the worker's ``recv_ns`` (stamped
  by ``TickEmitter.emit`` before cleansing, as in a worker) → the client's receive.

Phases, each on a fresh hub / relay:

* ``3xR``: every sender paces its stream at R ticks/s for ``--seconds``; the first second is
  warm-up and not counted. Pacing sleeps, never spins: three spinning senders on two cores
  would starve the process under test.
* ``burst``: ``--rates[0]`` for 2 s, then 10x that for ``--burst-seconds``, then the normal
  rate for 2 s. The burst ticks are encoded by the same real code before the run and only
  re-stamped and sent during it (the workers' Python encoding cannot reach 3x100k ticks/s
  on two cores); latency is counted from the burst's start to 1 s after its end.
  Nothing may be lost: the client must get every distinct tick exactly once.
* ``ceiling``: the hub/relay is held (it only answers subscriptions) while the senders
  queue ``--ceiling-ticks`` pre-encoded ticks each into its ingest socket; then it is
  released and drains them. Ingress ceiling = 3 x forwarded / (last - first client receive).
  Measured on a full queue so that the senders' CPU does not compete with the drain.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
import zmq.backend

from aggregation.wire import TICK_HEAD

PROJECT = Path(__file__).resolve().parent.parent
ACCOUNTS = ("sim-a", "sim-b", "sim-c")
_RECV_NS_KEY = b"\xa7recv_ns\xcf"  # msgpack: the str "recv_ns", then a uint64


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- load -----------------------------------------------------------------------------------


@dataclass
class Load:
    contracts: int
    base_ns: int  # the stream's exchange clock: the same in every sender
    due: list[int]  # ns after the start signal
    # Indices sent pre-encoded (re-stamped at send): the burst, or everything for "flood".
    pre: range = range(0)
    flood: bool = False


def schedule(segments: list[tuple[float, float]]) -> list[int]:
    """Due times (ns from the start) of a stream paced at ``rate`` for ``seconds``, by segment."""
    due: list[int] = []
    t0 = 0.0
    for seconds, rate in segments:
        interval = 1e9 / rate
        count = int(seconds * rate)
        due.extend(int(t0 + k * interval) for k in range(count))
        t0 += count * interval
    return due


def _sender(
    account: str, addr: str, load: Load, quantum_ns: int, ready: Any, go: Any, start: Any, out: Any
) -> None:
    """One source: the real worker tick path (``TickEmitter`` → ``Sender``) on one stream."""
    import gc

    from bench.stream import TickStream, make_emitter, pre_encode, restamp

    ctx: zmq.Context[Any] = zmq.Context()
    emitter = make_emitter(ctx, addr, account)
    stream = TickStream(load.contracts, load.base_ns, load.due)
    pre = pre_encode(stream, load.pre, account) if load.pre else {}
    emit, send = emitter.emit, emitter.sender.send_tick
    emitter.sender._socket()  # connect before the clock starts
    gc.collect()
    gc.freeze()
    ready.set()
    go.wait()
    now_ns, sleep = time.time_ns, time.sleep
    start_ns: int = start.value
    due = [start_ns + d for d in load.due]
    if load.flood:
        for i in load.pre:
            topic, key, body = pre[i]
            send(topic, key, restamp(body, now_ns()))
    else:
        for i in range(len(due)):
            wait = due[i] - now_ns()
            if wait > 0:
                # Wake at most once a quantum and send what is due: a wake-up per tick
                # costs each sender and its I/O thread several context switches, CPU the
                # process under test needs (recv_ns is stamped at emit, so this shapes the
                # arrivals into small bursts, as a front's packets do, without hiding any
                # latency).
                sleep(max(wait, quantum_ns) / 1e9)
            frames = pre.get(i)
            if frames is None:
                emit(stream.tick(i))
            else:
                topic, key, body = frames
                send(topic, key, restamp(body, now_ns()))
    time.sleep(0.3)  # let the I/O thread flush
    out.put((account, emitter.sender.dropped))


# -- the two paths ----------------------------------------------------------------------------


def _relay(pull_addr: str, pub_addr: str, go: Any) -> None:
    """The floor: first copy by key, nothing else. Same HWMs as the hub."""
    ctx: zmq.Context[Any] = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVHWM, 1_000_000)
    pull.bind(pull_addr)
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 100_000)
    pub.bind(pub_addr)
    while not go.wait(0.01):
        pub.getsockopt(zmq.EVENTS)  # lets libzmq take in the client's subscription
    relay_loop(pull, pub)


def relay_loop(pull: zmq.Socket[Any], pub: zmq.Socket[Any], count: int | None = None) -> None:
    """The relay's loop (``count`` messages, or for ever). The same socket calls as the
    hub's loop (Cython recv/send with int flags): the floor must not be slowed by pyzmq
    conveniences the hub avoids. It takes the hub's ingest frames (a tick is one frame,
    ``aggregation.wire.tick_frame``), slices out topic and key, and checks nothing: a floor
    needs no defence against malformed input."""
    raw_send = zmq.backend.Socket.send
    more = int(zmq.SNDMORE)
    recv = pull.recv
    seen: set[bytes] = set()
    left = -1 if count is None else count
    while left:
        left -= 1
        frame = recv()
        topic_at = TICK_HEAD + frame[1]
        key_at = topic_at + frame[2]
        key = frame[key_at : key_at + 16]
        if key in seen:
            continue
        seen.add(key)
        raw_send(pub, frame[topic_at:key_at], more)
        raw_send(pub, memoryview(frame)[key_at + 16 :])


class Sink:
    """The process under test, held until ``release``."""

    ingest: str
    pub: str

    def release(self) -> None:
        raise NotImplementedError

    def stop(self) -> dict[str, Any]:
        raise NotImplementedError


class RelaySink(Sink):
    def __init__(self, ctx: Any, run_dir: str) -> None:
        self.ingest = f"ipc://{run_dir}/relay.ipc"
        self.pub = f"tcp://127.0.0.1:{free_port()}"
        self.go = ctx.Event()
        self.proc = ctx.Process(target=_relay, args=(self.ingest, self.pub, self.go), daemon=True)
        self.proc.start()

    def release(self) -> None:
        self.go.set()

    def stop(self) -> dict[str, Any]:
        self.proc.terminate()
        self.proc.join(5)
        return {}


class HubSink(Sink):
    def __init__(self, run_dir: str, journal_dir: str | None = None) -> None:
        self.pub = f"tcp://127.0.0.1:{free_port()}"
        self.snap = snap = f"tcp://127.0.0.1:{free_port()}"
        self.ingest = f"ipc://{run_dir}/ingest.ipc"
        # With a journal directory the hub journals every tick there (bench/services.py: the
        # services read that tape).
        journal = [journal_dir] if journal_dir else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.engine_runner", run_dir, self.pub, snap, *journal],
            cwd=PROJECT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the hub did not start")

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=20)
        stats: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return stats


# -- the client -------------------------------------------------------------------------------


@dataclass
class Received:
    sent_ns: array[int] = field(default_factory=lambda: array("q"))
    recv_ns: array[int] = field(default_factory=lambda: array("q"))

    def __len__(self) -> int:
        return len(self.recv_ns)


def collect(sub: zmq.Socket[Any], done: Any, quiet_s: float = 0.5) -> Received:
    """Receive until ``done()`` and nothing came for ``quiet_s``. Blocking receives: the
    client wakes for each message as a strategy would."""
    got = Received()
    sent_append, recv_append = got.sent_ns.append, got.recv_ns.append
    recv, now_ns = sub.recv, time.time_ns
    quiet_since = time.monotonic()
    while True:
        try:
            recv()
            payload = recv()
        except zmq.Again:
            if done() and time.monotonic() - quiet_since > quiet_s:
                return got
            continue
        recv_append(now_ns())
        at = payload.rfind(_RECV_NS_KEY) + len(_RECV_NS_KEY)
        sent_append(int.from_bytes(payload[at : at + 8], "big"))
        quiet_since = time.monotonic()


def percentiles(samples: list[int]) -> dict[str, float]:
    if not samples:
        return {"p50": float("nan"), "p99": float("nan"), "p99.9": float("nan"), "max": float("nan")}
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6

    return {"p50": pick(0.5), "p99": pick(0.99), "p99.9": pick(0.999), "max": ordered[-1] / 1e6}


# -- one phase on one path --------------------------------------------------------------------


def run_phase(
    path: str, phase: str, args: argparse.Namespace, make_sink: Callable[[str], Sink] | None = None
) -> dict[str, Any]:
    """One phase on one path; ``make_sink(run_dir)`` gives another process under test (the
    hub with its data services attached: bench/services.py)."""
    ctx = mp.get_context("spawn")
    zctx = zmq.Context.instance()
    with tempfile.TemporaryDirectory(prefix="mdhub-bench-") as run_dir:
        sink: Sink
        if make_sink is not None:
            sink = make_sink(run_dir)
        else:
            sink = RelaySink(ctx, run_dir) if path == "relay" else HubSink(run_dir)
        sub = zctx.socket(zmq.SUB)
        sub.setsockopt(zmq.RCVHWM, 0)
        sub.setsockopt(zmq.RCVTIMEO, 100)
        sub.setsockopt(zmq.SUBSCRIBE, b"tick.")
        sub.connect(sink.pub)
        time.sleep(0.5)  # the subscription reaches the sink, which only answers it while held

        base_rate = args.rates[0]
        quantum_ns = int(args.quantum_us * 1000)
        base_ns = time.time_ns() + 5_000_000_000
        window = (0, 0)
        if phase == "ceiling":
            due = schedule([(1.0, float(args.ceiling_ticks))])
            load = Load(args.contracts, base_ns, due, range(len(due)), flood=True)
        elif phase == "burst":
            due = schedule([(2.0, base_rate), (args.burst_seconds, base_rate * 10), (2.0, base_rate)])
            first = int(2.0 * base_rate)
            burst = range(first, first + int(args.burst_seconds * base_rate * 10))
            load = Load(args.contracts, base_ns, due, burst)
            window = (due[burst.start], due[burst.stop - 1] + 1_000_000_000)
        else:
            rate = float(phase.removeprefix("3x"))
            due = schedule([(args.seconds, rate)])
            load = Load(args.contracts, base_ns, due)
            window = (1_000_000_000, due[-1] + 1)

        ready = [ctx.Event() for _ in ACCOUNTS]
        go = ctx.Event()
        start = ctx.Value("q", 0)
        out = ctx.Queue()
        senders = [
            ctx.Process(target=_sender, args=(a, sink.ingest, load, quantum_ns, r, go, start, out))
            for a, r in zip(ACCOUNTS, ready, strict=True)
        ]
        for s in senders:
            s.start()
        for r in ready:
            if not r.wait(120):
                raise RuntimeError("a sender did not get ready")
        if phase != "ceiling":
            sink.release()
        start_ns = time.time_ns() + 200_000_000
        start.value = start_ns
        go.set()
        if phase == "ceiling":
            for s in senders:
                s.join()
            time.sleep(0.5)  # the ipc pipes are drained into the held hub's queue
            sink.release()

        got = collect(sub, lambda: not any(s.is_alive() for s in senders))
        for s in senders:
            s.join()
        drops = sum(out.get()[1] for _ in senders)
        sub.close()
        stats = sink.stop()

    expected = len(due)
    result: dict[str, Any] = {
        "path": path,
        "phase": phase,
        "expected": expected,
        "delivered": len(got),
        "sender_drops": drops,
        "hub": stats,
    }
    if phase == "ceiling":
        span = (got.recv_ns[-1] - got.recv_ns[0]) / 1e9 if len(got) > 1 else float("nan")
        result["ingress_per_s"] = 3 * (len(got) - 1) / span
        return result
    lo, hi = (start_ns + edge for edge in window)
    lat = [r - s for s, r in zip(got.sent_ns, got.recv_ns, strict=True) if lo <= s < hi]
    result.update(percentiles(lat))
    result["samples"] = len(lat)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.latency")
    parser.add_argument("--rates", type=float, nargs="+", default=[10_000.0, 30_000.0], help="per sender")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst-seconds", type=float, default=0.5)
    parser.add_argument("--ceiling-ticks", type=int, default=100_000, help="per sender")
    parser.add_argument("--contracts", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--quantum-us", type=float, default=250.0, help="senders wake at most this often")
    parser.add_argument("--phases", nargs="+", default=None, help="default: 3xRATE... burst ceiling")
    parser.add_argument("--json", type=Path, default=None, help="also write every result here")
    args = parser.parse_args()
    phases = args.phases or [*(f"3x{r:.0f}" for r in args.rates), "burst", "ceiling"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()}; {args.contracts} contracts",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    for rep in range(args.repeat):
        for phase in phases:
            for path in ("relay", "hub"):
                r = run_phase(path, phase, args)
                results.append(r)
                print(f"run {rep + 1}: {_line(r)}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print("\nmedians over", args.repeat, "run(s):")
    print(_header())
    for phase in phases:
        for path in ("relay", "hub"):
            rows = [r for r in results if r["phase"] == phase and r["path"] == path]
            print(_line(_median(rows)))


def _median(rows: list[dict[str, Any]]) -> dict[str, Any]:
    merged = dict(rows[0])
    for name in ("p50", "p99", "p99.9", "max", "ingress_per_s", "delivered"):
        values = [r[name] for r in rows if name in r]
        if values:
            merged[name] = statistics.median(values)
    merged["lost"] = max(r["expected"] - r["delivered"] for r in rows)
    return merged


def _header() -> str:
    return f"{'path':<8}{'phase':<10}{'delivered':>18}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}{'max ms':>9}"


def _line(r: dict[str, Any]) -> str:
    name = "mdhub" if r["path"] == "hub" else "relay"
    counts = f"{r['delivered']:.0f}/{r['expected']}"
    if r["phase"] == "ceiling":
        return f"{name:<8}{r['phase']:<10}{counts:>18}  ingress ceiling {r['ingress_per_s']:,.0f} ticks/s" + (
            f"  hub {r['hub']}" if r.get("hub") else ""
        )
    return (
        f"{name:<8}{r['phase']:<10}{counts:>18}{r['p50']:>9.3f}{r['p99']:>9.3f}{r['p99.9']:>10.3f}{r['max']:>9.2f}"
        + (f"  hub {r['hub']}" if r.get("hub") else "")
    )


if __name__ == "__main__":
    main()
