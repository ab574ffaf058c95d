"""The whole market at each 500 ms boundary: how late each contract's snapshot reaches a client.

    .venv/bin/python -m bench.market [--sizes 1000 5000 10000] [--rounds 8] \\
        [--paths relay sim ctp ctp-dict ctp-vnpy] [--delays-ms 0 1 2] [--json FILE]

CTP pushes every subscribed contract at each 500 ms boundary, so the load that matters is a
burst of the whole market (issue 19). In every phase N contracts (``--sizes``) all snapshot
at each boundary, three sources (``mkt-a``, ``mkt-b``, ``mkt-c``) get every round, each with
its own small delay (``--delays-ms``), and the real hub (``bench.engine_runner``: the engine
loop, dedup, XPUB on tcp) forwards the first copy of each to one client (SUB, tcp). Paths:

* ``relay``: the floor. Three sender processes push each round's ingest frames, encoded
  before the clock by the workers' own compiled codec, into a bare relay (first copy by key,
  nothing else: ``bench.latency.relay_loop``). ``hub``: the same into the real hub.
* ``sim``: the round's snapshots on a PUB (``gateways.loopback.burst sim``, pre-packed) →
  three real worker processes of the ``sim`` kind (``latency_ms`` = the source's delay) →
  the hub.
* ``ctp``: the loopback front's burst mode (``gateways.loopback.burst front``: each round's
  records encoded once, the same bytes written to every connection by a writer thread per
  connection after its delay) → the loopback md library → the pinned ``vnpy_ctp`` wrapper
  and ``CtpGateway`` in three real worker processes, the depth tee on
  (``gateways.depthtee``: the records go from the md library to the compiled handler, the
  wrapper's dict never built) → the hub. ``ctp-dict``: the same with ``MDHUB_DEPTH_TEE=0``
  (the wrapper's dict and ``gateways.kinds.fast_record``); ``ctp-vnpy``: with
  ``MDHUB_VNPY_TICKS=1`` (vn.py's ``TickData`` path), for comparison. The front sends each
  record as the vendor's struct bytes (the ``B`` frame, memcpy'd by the library, as a
  broker's front sends binary); ``ctp-text``: the ``ctp`` path with the Key=Value ``D`` frame
  the library parses (a second front, ``--depth-frame text``).

A contract's delay is its receipt at the client minus the round's first send (the earliest
of the three sources' send stamps: the front's writer, the sim PUB, or the floor's sender,
taken just before the round is handed to the kernel); the client matches a record to its
round by its exchange time (every record of a round carries the round's stamp; CZCE's whole
seconds are told apart by order). The first round of each phase is a warm-up, not counted.
Per phase: every contract's delay over all counted rounds (p50/p99/max), and the last
contract's delay of each round (p50/p99/max over the rounds; with 8 rounds the p99 is the
worst round), the number that says when the whole market is at the client. A phase whose
records are not all in 2 s (``--tail``) after its last round is marked ``behind``: the path
does not keep up, and its figures cover only what came in time. CPU per copy: user + system
time of every thread of the sources, the hub and the front during the phase. ``front
late``: how far behind its due time a send started (a writer still busy with the previous
round: the path does not keep up).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import zmq

from bench.latency import HubSink, RelaySink, Sink, free_port, percentiles
from gateways.loopback.burst import LEAD_NS, ROUND_NS, first_boundary, market_products
from gateways.loopback.front import send_control

PROJECT = Path(__file__).resolve().parent.parent
ACCOUNTS = ("mkt-a", "mkt-b", "mkt-c")
PATHS = ("relay", "hub", "sim", "ctp", "ctp-text", "ctp-dict", "ctp-vnpy")
# The workers' environment per ctp path: the depth tee, the dict fast path, vn.py's path.
CTP_ENV = {
    "ctp": {"MDHUB_DEPTH_TEE": "1", "MDHUB_VNPY_TICKS": "0"},
    "ctp-text": {"MDHUB_DEPTH_TEE": "1", "MDHUB_VNPY_TICKS": "0"},
    "ctp-dict": {"MDHUB_DEPTH_TEE": "0", "MDHUB_VNPY_TICKS": "0"},
    "ctp-vnpy": {"MDHUB_DEPTH_TEE": "0", "MDHUB_VNPY_TICKS": "1"},
}
CONTROL_TIMEOUT = 180.0  # a burst's records are encoded before the command answers


# -- the client ---------------------------------------------------------------------------------


@dataclass
class Received:
    recv_ns: array[int] = field(default_factory=lambda: array("q"))
    topics: list[bytes] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.recv_ns)


def client(ctx: zmq.Context[Any], pub_addr: str) -> zmq.Socket[Any]:
    sub: zmq.Socket[Any] = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.RCVTIMEO, 100)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"tick.")
    sub.connect(pub_addr)
    return sub


def drain(sub: zmq.Socket[Any], quiet_s: float = 0.3) -> int:
    """Read what is left of an earlier phase until nothing comes for ``quiet_s``."""
    left = 0
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet_s:
        try:
            sub.recv()
        except zmq.Again:
            continue
        left += 1
        quiet_since = time.monotonic()
    return left


def collect(sub: zmq.Socket[Any], expected: int, deadline_ns: int) -> Received:
    """Blocking receives (the client wakes per message, as a strategy does) until ``expected``
    records are in or ``deadline_ns``. Decoding waits until afterwards: the client must not
    be what is slow."""
    got = Received()
    recv, now_ns = sub.recv, time.time_ns
    stamp, topic_append, payload_append = got.recv_ns.append, got.topics.append, got.payloads.append
    while len(got.recv_ns) < expected and now_ns() < deadline_ns:
        try:
            topic = recv()
            payload = recv()
        except zmq.Again:
            continue
        stamp(now_ns())
        topic_append(topic)
        payload_append(payload)
    return got


def analyse(
    got: Received,
    first_ns: int,
    rounds: int,
    contracts: int,
    sends: dict[str, list[list[int]]],
    warmup: int = 1,
) -> dict[str, Any]:
    """Delays of one phase (see the module's docstring); every time in ns, results in ms."""
    first_send: dict[int, int] = {}
    late = 0
    for records in sends.values():
        for r, due, start, _end, _sent in records:
            first_send[r] = min(first_send.get(r, start), start)
            late = max(late, start - due)
    per_round: dict[int, list[int]] = {r: [] for r in range(warmup, rounds)}
    winners: dict[str, int] = {}
    last_round: dict[bytes, int] = {}
    to_worker: list[int] = []  # the worker's receive (its recv_ns) - the first send
    unpack = msgpack.unpackb
    for recv_ns, topic, payload in zip(got.recv_ns, got.topics, got.payloads, strict=True):
        fields = unpack(payload)
        stamp = int(fields["datetime"])
        if stamp < first_ns - 1_000_000_000:
            continue  # an earlier phase's
        r = (stamp - first_ns) // ROUND_NS
        if topic.endswith(b".CZCE"):
            # Whole seconds: the round at .500 carries the stamp of the one before it. The hub
            # forwards a contract's snapshots in order, so the next one is the next round.
            r = max(r, last_round.get(topic, -1) + 1)
            last_round[topic] = r
        if r not in per_round or r not in first_send:
            continue
        per_round[r].append(recv_ns - first_send[r])
        to_worker.append(int(fields.get("recv_ns", 0)) - first_send[r])
        source = str(fields.get("source", "-"))
        winners[source] = winners.get(source, 0) + 1
    delays = [d for values in per_round.values() for d in values]
    last = [max(values) for values in per_round.values() if values]
    whole = percentiles(delays)
    tail = percentiles(last)
    return {
        "contracts": contracts,
        "rounds": rounds - warmup,
        "expected": contracts * (rounds - warmup),
        "delivered": len(delays),
        "p50": whole["p50"],
        "p99": whole["p99"],
        "max": whole["max"],
        "last_p50": tail["p50"],
        "last_p99": tail["p99"],
        "last_max": tail["max"],
        "front_late_ms": late / 1e6,
        "to_worker": percentiles(to_worker),
        "winners": winners,
    }


# -- processes ----------------------------------------------------------------------------------


def spawn(
    argv: list[str], log_path: Path, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> Any:
    log = log_path.open("wb")
    proc = subprocess.Popen(
        argv,
        cwd=PROJECT,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    return proc


def stop(procs: list[Any]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (``/proc/PID/stat``), all threads."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def contract_specs(count: int) -> list[dict[str, Any]]:
    return [
        {
            "symbol": p.symbol,
            "exchange": p.exchange,
            "name": p.name,
            "pricetick": p.tick,
            "size": p.multiplier,
        }
        for p in market_products(count)
    ]


def worker_spec(
    account: str, gateway_type: str, hub: HubSink, run_dir: Path, settings: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "account": account,
        "gateway_type": gateway_type,
        "settings": settings,
        "ingest": hub.ingest,
        "control": f"ipc://{run_dir}/control.ipc",
        "workdir": str(run_dir / "flows" / account),
        "calendar": None,
        "max_skew": 60,
        "log_level": "WARNING",
        "parent_pid": os.getpid(),  # the workers end with the benchmark, however it ends
        **extra,
    }


# -- the paths ----------------------------------------------------------------------------------


class MarketPath:
    """One path under test: a hub (or relay) the client reads, and what feeds it bursts."""

    sink: Sink

    def pids(self) -> dict[str, list[int]]:
        """The processes whose CPU a phase reports: ``sources`` (workers or floor senders),
        ``hub`` (the hub or relay), ``front`` (the burst server)."""
        raise NotImplementedError

    def burst(self, contracts: int, rounds: int, reset: bool) -> int:
        """Start a burst; the first round's due time (epoch ns)."""
        raise NotImplementedError

    def report(self) -> dict[str, list[list[int]]]:
        """Every source's sends, once the burst is over: ``[round, due, start, end, sent]``."""
        raise NotImplementedError

    def close(self) -> dict[str, Any]:
        raise NotImplementedError


def _floor_sender(account: str, addr: str, contracts: int, delay_ms: float, commands: Any, out: Any) -> None:
    """One source of the floor: the round's ingest frames, encoded before the clock by the
    workers' codec, pushed through the workers' ``Sender`` at the round's boundary."""
    import gc

    from aggregation.tick_codec import body_prefix, encode_body
    from aggregation.wire import NUMBER_FIELDS, content_hash_key, topic_for
    from gateways.kinds.base import Sender
    from gateways.loopback.burst import MarketContent

    def record(snap: dict[str, Any]) -> tuple[bytes, bytes, list[Any], bool]:
        vt_symbol = f"{snap['symbol']}.{snap['exchange']}"
        prefix = body_prefix(snap["symbol"], snap["exchange"], snap["name"])
        return (
            topic_for(vt_symbol),
            prefix,
            [snap[name] for name in NUMBER_FIELDS],
            snap["exchange"] == "CZCE",
        )

    ctx: zmq.Context[Any] = zmq.Context()
    sender = Sender(ctx, addr, account)
    sender._socket()
    content = MarketContent(market_products(contracts), record)
    delay_ns = round(delay_ms * 1e6)
    while True:
        command = commands.get()
        if command[0] == "stop":
            break
        _, count, rounds, reset = command
        if reset:
            content.reset()
        parts = content.rounds(count, rounds)
        out.put(("ready", account))
        _, first_ns = commands.get()
        frames = []
        for r in range(rounds):
            stamp = first_ns + r * ROUND_NS
            batch = []
            for topic, prefix, numbers, czce in parts[r]:
                dt = stamp - stamp % 1_000_000_000 if czce else stamp
                batch.append(
                    (topic, content_hash_key(dt, numbers), encode_body(prefix, numbers, dt, None, dt))
                )
            frames.append(batch)
        gc.collect()
        sends = []
        send = sender.send_tick
        for r in range(rounds):
            due = first_ns + r * ROUND_NS + delay_ns
            wait = due - time.time_ns()
            if wait > 0:
                time.sleep(wait / 1e9)
            start = time.time_ns()
            for topic, key, body in frames[r]:
                send(topic, key, body)
            sends.append([r, due, start, time.time_ns(), 1])
        out.put(("sends", account, sends, sender.dropped))
    ctx.destroy(linger=0)


class FloorPath(MarketPath):
    def __init__(self, kind: str, run_dir: Path, args: argparse.Namespace) -> None:
        ctx = mp.get_context("spawn")
        self.sink = RelaySink(ctx, str(run_dir)) if kind == "relay" else HubSink(str(run_dir))
        self.sink.release()
        self.out = ctx.Queue()
        self.commands = [ctx.Queue() for _ in ACCOUNTS]
        self.senders = [
            ctx.Process(
                target=_floor_sender,
                args=(account, self.sink.ingest, max(args.sizes), delay, q, self.out),
                daemon=True,
            )
            for account, delay, q in zip(ACCOUNTS, args.delays_ms, self.commands, strict=True)
        ]
        for proc in self.senders:
            proc.start()

    def pids(self) -> dict[str, list[int]]:
        return {"sources": [p.pid for p in self.senders if p.pid], "hub": [sink_pid(self.sink)], "front": []}

    def burst(self, contracts: int, rounds: int, reset: bool) -> int:
        for q in self.commands:
            q.put(("burst", contracts, rounds, reset))
        for _ in self.commands:
            self.out.get(timeout=CONTROL_TIMEOUT)
        # Time to encode every round's frames (~2 µs each) before the first is due.
        first_ns = first_boundary(time.time_ns() + LEAD_NS + contracts * rounds * 4_000)
        for q in self.commands:
            q.put(("go", first_ns))
        return first_ns

    def report(self) -> dict[str, list[list[int]]]:
        sends = {}
        for _ in self.commands:
            _, account, records, dropped = self.out.get(timeout=CONTROL_TIMEOUT)
            if dropped:
                print(f"  {account}: {dropped} frames dropped at the sender (high-water mark)", flush=True)
            sends[account] = records
        return sends

    def close(self) -> dict[str, Any]:
        for q in self.commands:
            q.put(("stop",))
        for proc in self.senders:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
        return self.sink.stop()


class ServerPath(MarketPath):
    """A burst server (``gateways.loopback.burst``) that real workers read through."""

    control: str
    procs: list[Any]  # the workers
    server_pid: int

    def pids(self) -> dict[str, list[int]]:
        return {
            "sources": [p.pid for p in self.procs],
            "hub": [sink_pid(self.sink)],
            "front": [self.server_pid],
        }

    def burst(self, contracts: int, rounds: int, reset: bool) -> int:
        request: dict[str, Any] = {"cmd": "burst", "contracts": contracts, "rounds": rounds, "reset": reset}
        request["delays"] = dict(zip(ACCOUNTS, self.delays, strict=True))
        reply = send_control(self.control, timeout=CONTROL_TIMEOUT, **request)
        if not reply.get("ok"):
            raise RuntimeError(f"burst refused: {reply}")
        return int(reply["first_ns"])

    def report(self) -> dict[str, list[list[int]]]:
        deadline = time.monotonic() + 60
        while True:
            reply = send_control(self.control, timeout=10, cmd="burst_report")
            if reply.get("done") or time.monotonic() > deadline:
                sends: dict[str, list[list[int]]] = reply.get("sends") or {}
                return sends
            time.sleep(0.2)

    delays: list[float]


class SimPath(ServerPath):
    def __init__(self, run_dir: Path, args: argparse.Namespace) -> None:
        self.sink = hub = HubSink(str(run_dir))
        hub.release()
        self.delays = list(args.delays_ms)
        pub = f"ipc://{run_dir}/simburst.ipc"
        self.control = f"ipc://{run_dir}/burstctl.ipc"
        py = sys.executable
        server = [py, "-m", "gateways.loopback.burst", "sim", "--pub", pub, "--control", self.control]
        self.server = spawn([*server, "--contracts", str(max(args.sizes))], run_dir / "simburst.log")
        self.server_pid = self.server.pid
        self.procs = []
        for account, delay in zip(ACCOUNTS, args.delays_ms, strict=True):
            spec = worker_spec(
                account, "sim", hub, run_dir, {"latency_ms": delay}, sim_addr=pub, subscriptions=["*"]
            )
            self.procs.append(
                spawn(
                    [py, "-m", "gateways.worker"], run_dir / f"{account}.log", stdin=json.dumps(spec).encode()
                )
            )

        def subscribed() -> bool:
            reply = send_control(self.control, timeout=1.0, cmd="burst_status")
            return set(reply.get("subscribers") or ()) >= set(ACCOUNTS)

        wait_until(subscribed, 90, "the sim sources to subscribe")

    def close(self) -> dict[str, Any]:
        stop([*self.procs, self.server])
        return self.sink.stop()


class Front:
    """The loopback front in burst mode, shared by the ctp paths (its records are encoded once)."""

    def __init__(self, run_dir: Path, contracts: int, depth_frame: str = "binary") -> None:
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.control = f"ipc://{run_dir}/frontctl.ipc"
        self.depth_frame = depth_frame
        argv = [sys.executable, "-m", "gateways.loopback.burst", "front", "--listen", self.address]
        argv += ["--control", self.control, "--contracts", str(contracts), "--quirks", '{"replay": false}']
        argv += ["--depth-frame", depth_frame]
        self.proc = spawn(argv, run_dir / "front.log")
        wait_until(
            lambda: send_control(self.control, timeout=1.0, cmd="burst_status").get("ok"), 120, "the front"
        )

    def close(self) -> None:
        stop([self.proc])


class CtpPath(ServerPath):
    def __init__(self, run_dir: Path, args: argparse.Namespace, front: Front, name: str) -> None:
        from gateways.loopback.build import main as build_loopback

        build_loopback()  # idempotent: a no-op once ./dev setup has built the libraries
        self.sink = hub = HubSink(str(run_dir))
        hub.release()
        self.delays = list(args.delays_ms)
        self.control = front.control
        self.server_pid = front.proc.pid
        contracts = contract_specs(max(args.sizes))
        symbols = [f"{c['symbol']}.{c['exchange']}" for c in contracts]
        env = CTP_ENV[name]
        self.procs = []
        for account in ACCOUNTS:
            settings = {
                "userID": account,
                "password": "bench",
                "brokerID": "9999",
                "mdAddress": front.address,
            }
            spec = worker_spec(
                account,
                "ctp",
                hub,
                run_dir,
                settings | {"loopback": True},
                subscriptions=symbols,
                contracts=contracts,
                subscribe_batch=2000,
            )
            self.procs.append(
                spawn(
                    [sys.executable, "-m", "gateways.worker"],
                    run_dir / f"{account}.log",
                    env=env,
                    stdin=json.dumps(spec).encode(),
                )
            )

        def subscribed() -> bool:
            reply = send_control(self.control, timeout=2.0, cmd="burst_status")
            ready = {
                c["user"]
                for c in reply.get("connections") or ()
                if c["api"] == "md" and c["logged_in"] and c["subscribed"] == len(symbols)
            }
            return ready >= set(ACCOUNTS)

        wait_until(subscribed, 120, "the ctp workers to log in and subscribe")

    def close(self) -> dict[str, Any]:
        stop(self.procs)
        return self.sink.stop()


# -- the run ------------------------------------------------------------------------------------


def sink_pid(sink: Sink) -> int:
    proc = sink.proc  # type: ignore[attr-defined]
    return int(proc.pid)


def run_path(name: str, args: argparse.Namespace, front: list[Front], run_dir: Path) -> list[dict[str, Any]]:
    path: MarketPath
    if name in ("relay", "hub"):
        path = FloorPath(name, run_dir, args)
    elif name == "sim":
        path = SimPath(run_dir, args)
    else:
        # One front per depth frame, shared by the ctp paths of that frame.
        frame = "text" if name == "ctp-text" else "binary"
        shared = next((f for f in front if f.depth_frame == frame), None)
        if shared is None:
            shared = Front(run_dir, max(args.sizes), frame)
            front.append(shared)
        path = CtpPath(run_dir, args, shared, name)
    results = []
    sub = client(zmq.Context.instance(), path.sink.pub)
    try:
        time.sleep(0.5)  # the subscription reaches the hub
        for i, contracts in enumerate(args.sizes):
            drain(sub)
            rounds = args.rounds + 1  # the warm-up round first
            first_ns = path.burst(contracts, rounds, reset=i == 0)
            pids = path.pids()
            cpu0 = {role: cpu_seconds(p) for role, p in pids.items()}
            deadline = first_ns + rounds * ROUND_NS + int(args.tail * 1e9)
            got = collect(sub, contracts * rounds, deadline)
            sends = path.report()
            ticks = contracts * rounds
            # CPU per record, all threads of the processes (a worker: library, wrapper, kind,
            # send; the hub: per copy received, three a record), from the start to the end of
            # the burst (the front's encoding is before it; the floor senders' is in it).
            cpu = {
                role: (cpu_seconds(p) - cpu0[role])
                / (ticks * (len(ACCOUNTS) if role != "front" else 1))
                * 1e6
                for role, p in pids.items()
                if p
            }
            result = analyse(got, first_ns, rounds, contracts, sends)
            result["path"] = name
            result["cpu_us"] = {role: round(v, 2) for role, v in cpu.items()}
            results.append(result)
            print(line(result), flush=True)
    finally:
        sub.close()
        stats = path.close()
    for result in results:
        result["hub"] = stats
    return results


def header() -> str:
    return (
        f"{'path':<9}{'contracts':>10}{'delivered':>14}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'last p50':>10}{'last p99':>10}{'last max':>10}{'late ms':>9}"
    )


def line(r: dict[str, Any]) -> str:
    counts = f"{r['delivered']}/{r['expected']}"
    # Records not in by the deadline: the path did not keep up (they come later, or not).
    behind = "  behind" if r["delivered"] < r["expected"] else ""
    return (
        f"{r['path']:<9}{r['contracts']:>10}{counts:>14}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['max']:>9.2f}"
        f"{r['last_p50']:>10.2f}{r['last_p99']:>10.2f}{r['last_max']:>10.2f}{r['front_late_ms']:>9.1f}{behind}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.market")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 5000, 10000], help="contracts per round"
    )
    parser.add_argument("--rounds", type=int, default=8, help="counted rounds per size (+1 warm-up)")
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=["relay", "sim", "ctp", "ctp-vnpy"])
    parser.add_argument("--delays-ms", type=float, nargs=3, default=[0.0, 1.0, 2.0], help="per source")
    parser.add_argument(
        "--tail", type=float, default=2.0, help="seconds to wait for stragglers after a burst"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write every result here")
    args = parser.parse_args()
    args.sizes = sorted(args.sizes)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()}; load average {os.getloadavg()[0]:.2f}; "
        f"{args.rounds} rounds (+1 warm-up) per size; source delays {args.delays_ms} ms",
        flush=True,
    )
    print(header(), flush=True)
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    front: list[Front] = []
    with tempfile.TemporaryDirectory(prefix="mdhub-market-") as tmp:
        try:
            for name in args.paths:
                run_dir = Path(tmp) / name
                run_dir.mkdir()
                results.extend(run_path(name, args, front, run_dir))
        finally:
            for f in front:
                f.close()
    print(f"\n{time.monotonic() - started:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")
    for r in results:
        # The floor's records carry no worker receive time.
        to_worker = (
            "" if r["path"] in ("relay", "hub") else f"; to the worker p50 {r['to_worker']['p50']:.1f} ms"
        )
        print(f"{r['path']} {r['contracts']}: CPU µs per copy {r['cpu_us']}{to_worker}; won {r['winners']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
