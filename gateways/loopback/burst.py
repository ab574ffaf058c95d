"""Whole-market rounds: every contract snapshots at each 500 ms boundary, as a CTP front
pushes a subscribed market. The load generator of ``bench/market.py`` (issue 19).

    python -m gateways.loopback.burst front --listen tcp://127.0.0.1:PORT \\
        --control ipc://run/burstctl.ipc [--contracts 10000] [--quirks JSON]
    python -m gateways.loopback.burst sim --pub ipc://run/sim.ipc --control ipc://run/burstctl.ipc
    python -m gateways.loopback.burst control --control ipc://run/burstctl.ipc \\
        '{"cmd": "burst", "contracts": 5000, "rounds": 13, "delays": {"mkt-b": 1.0}}'

``front`` is the loopback front (``gateways.loopback.front``: the same login, subscription,
heartbeat and quirks, the same library on the other end) with a burst mode. The plain front
builds each record in Python per snapshot as the simulated exchange sends it (~40 µs a
record: fine for tests, ten times too slow for 5 000 contracts × 3 connections per 500 ms).
Here a burst's records are encoded before its clock starts, once for every connection: all
fields but the five time fields, which are the same for every contract of an exchange in a
round and go in when the round's stamp is known (``time_lines``; the frame then carries
exactly what ``depth_fields`` would give, tests/test_loopback_burst.py). With the front's
``depth_frame`` binary (the default) a connection whose library reads ``B`` frames gets the
vendor's struct bytes instead: each record packed once (``depth_template``), the round's time
fields written over it at their offsets (``time_patches``, ``build_binary_round``). Each connection has
a writer thread of its own with its own small delay (a slow reader holds back only its own
connection, as a front's per-session send buffer does), and it stamps when it handed the
round to the kernel. ``burst_report`` returns those stamps: with the round's exchange time,
which every record of the round carries, a client computes each contract's front → client
delay (``bench/market.py``).

``sim`` does the same for the ``sim`` kind: the round's snapshots (msgpack, as
``gateways.simexchange`` publishes them) pre-packed, sent on a PUB at each boundary; its
sources apply their own delays (the kind's ``latency_ms``).

A contract's snapshots continue from burst to burst (cumulative volume never goes back, or
the workers' cleanser would drop them); ``"reset": true`` plays the same series again from
its start, for a fresh set of workers. No Django import.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgpack
import zmq
import zmq.backend

from aggregation.exchange_time import CHINA_TZ
from gateways.loopback.depth_struct import packed_frame_head, packer, patched
from gateways.loopback.front import (
    _LENGTH,
    Connection,
    LoopbackFront,
    Quirks,
    add_depth_frame_option,
    depth_fields,
    encode_frame,
    exchange_days,
    send_control,
)
from gateways.simexchange import SNAP_TOPIC, ContractSim, Product, contract_universe, underlying_sims

log = logging.getLogger("mdhub.loopback.burst")

ROUND_NS = 500_000_000  # CTP pushes every subscribed contract at each 500 ms boundary
TIME_FIELDS = ("TradingDay", "ActionDay", "UpdateTime", "UpdateMillisec", "SendingTime")
# Time to encode the last records and start the writers before the first round is due.
LEAD_NS = 1_000_000_000
# The clock the snapshots are generated at (only an option's smile price depends on it):
# the same in every process, so that senders with one seed make the same content.
CONTENT_CLOCK_NS = 1_700_000_000_000_000_000
_raw_send = zmq.backend.Socket.send
_MORE = int(zmq.SNDMORE)


def market_products(count: int) -> list[Product]:
    """The first ``count`` contracts of the simulated universe a CTP front serves: futures
    and futures options (SSE options are a SOPT front's)."""
    asked = count + count // 20 + 32  # a margin for the SSE options, so one pass mostly does
    while True:
        futures = [p for p in contract_universe(asked) if p.exchange != "SSE"]
        if len(futures) >= count:
            return futures[:count]
        asked += count - len(futures) + 16


class MarketContent[T]:
    """Each contract's successive snapshots, ``encode``\\ d once and kept: the ``k``-th of a
    contract is the same whenever it is asked for, so ``reset`` plays the series again (for
    fresh workers) without paying for the encoding twice. Deterministic for a seed."""

    def __init__(
        self, products: list[Product], encode: Callable[[dict[str, Any]], T], seed: int = 11
    ) -> None:
        rng = random.Random(seed)
        self.sims = [ContractSim(p, rng) for p in products]
        underlying_sims(self.sims, rng)  # an option's price follows its underlying's
        self.encode = encode
        self.series: list[list[T]] = [[] for _ in products]
        self.cursor = [0] * len(products)

    def next(self, i: int) -> T:
        k = self.cursor[i]
        self.cursor[i] = k + 1
        series = self.series[i]
        if k == len(series):
            series.append(self.encode(self.sims[i].step(CONTENT_CLOCK_NS + k * ROUND_NS)))
        return series[k]

    def rounds(self, count: int, rounds: int) -> list[list[T]]:
        """The next ``rounds`` rounds of the first ``count`` contracts, round by round."""
        return [[self.next(i) for i in range(count)] for _ in range(rounds)]

    def reset(self) -> None:
        self.cursor = [0] * len(self.cursor)


def first_boundary(after_ns: int) -> int:
    """The first 500 ms boundary at or after ``after_ns``."""
    return math.ceil(after_ns / ROUND_NS) * ROUND_NS


# -- the front's burst ------------------------------------------------------------------------


def depth_body(snap: dict[str, Any], quirks: Quirks) -> bytes:
    """A snapshot's ``D`` frame payload less its type byte and its time fields."""
    fields = depth_fields(snap, quirks, 0.0)
    for name in TIME_FIELDS:
        del fields[name]
    return encode_frame(b"D", fields)[5:]  # length (4) and type (1) off


def depth_template(snap: dict[str, Any], quirks: Quirks, flavour: str = "ctp") -> bytes:
    """A snapshot's ``B`` record (the vendor's struct) with its time fields left zero."""
    fields = depth_fields(snap, quirks, 0.0)
    for name in TIME_FIELDS:
        del fields[name]
    return packer(flavour).pack(fields)


def time_values(exchange: str, stamp_ns: int, quirks: Quirks) -> dict[str, Any]:
    """The time fields of a record stamped ``stamp_ns`` (epoch ns), as ``depth_fields`` fills
    them for a simulated-exchange snapshot of that stamp: CZCE in whole seconds (the
    simulated exchange stamps CZCE so; with ``czce_whole_seconds`` off the round's own
    milliseconds stand for a front that stamps sub-seconds)."""
    if exchange == "CZCE":
        whole = stamp_ns - stamp_ns % 1_000_000_000
        millis = 0 if quirks.czce_whole_seconds else (stamp_ns // 1_000_000) % 1000
        stamp_ns = whole
    else:
        millis = (stamp_ns // 1_000_000) % 1000
    local = datetime.fromtimestamp(stamp_ns // 1_000_000_000, CHINA_TZ)
    day, action = exchange_days(exchange, local, quirks.exchange_days)
    clock = local.strftime("%H:%M:%S")
    return {
        "TradingDay": day,
        "ActionDay": action,
        "UpdateTime": clock,
        "UpdateMillisec": millis,
        "SendingTime": clock,
    }


def time_lines(exchange: str, stamp_ns: int, quirks: Quirks) -> bytes:
    """``time_values`` as the text frame's lines."""
    return "".join(f"{k}={v}\n" for k, v in time_values(exchange, stamp_ns, quirks).items()).encode()


def time_patches(
    exchange: str, stamp_ns: int, quirks: Quirks, flavour: str = "ctp"
) -> list[tuple[int, bytes]]:
    """``time_values`` as writes over a ``depth_template``."""
    return packer(flavour).patches(time_values(exchange, stamp_ns, quirks))


@dataclass
class FrontRound:
    """One round's records for every connection: the frames joined, and where each starts."""

    stamp_ns: int
    data: bytes
    offsets: list[int]  # frame i is data[offsets[i]:offsets[i + 1]]; one more than frames


def build_round(
    stamp_ns: int, exchanges: list[str], bodies: list[bytes], quirks: Quirks, offset_ns: int = 0
) -> FrontRound:
    lines = {ex: time_lines(ex, stamp_ns + offset_ns, quirks) for ex in set(exchanges)}
    pack = _LENGTH.pack
    frames = []
    offsets = [0]
    at = 0
    for exchange, body in zip(exchanges, bodies, strict=True):
        head = lines[exchange]
        frame = b"".join((pack(len(head) + len(body) + 1), b"D", head, body))
        frames.append(frame)
        at += len(frame)
        offsets.append(at)
    return FrontRound(stamp_ns, b"".join(frames), offsets)


def build_binary_round(
    stamp_ns: int,
    exchanges: list[str],
    templates: list[bytes],
    quirks: Quirks,
    offset_ns: int = 0,
    flavour: str = "ctp",
) -> FrontRound:
    """``build_round`` in ``B`` frames: each template with the round's time fields."""
    patches = {ex: time_patches(ex, stamp_ns + offset_ns, quirks, flavour) for ex in set(exchanges)}
    head = packed_frame_head(flavour)
    frames = [head + patched(t, patches[ex]) for ex, t in zip(exchanges, templates, strict=True)]
    step = len(head) + packer(flavour).size
    return FrontRound(stamp_ns, b"".join(frames), list(range(0, step * len(frames) + 1, step)))


@dataclass
class Burst:
    """A running (or finished) burst: what was asked, and every send."""

    first_ns: int
    rounds: int
    symbols: list[str]
    # user → [round, due ns, send start ns, send end ns, sent]
    sends: dict[str, list[list[int]]] = field(default_factory=dict)
    writers: list[threading.Thread] = field(default_factory=list)

    def done(self) -> bool:
        return not any(w.is_alive() for w in self.writers)

    def report(self) -> dict[str, Any]:
        return {
            "ok": True,
            "done": self.done(),
            "first_ns": self.first_ns,
            "rounds": self.rounds,
            "contracts": len(self.symbols),
            "sends": self.sends,
        }


class BurstFront(LoopbackFront):
    """The loopback front with ``burst``, ``burst_report`` and ``burst_status`` commands."""

    def __init__(
        self, listen: str, sim_addr: str, control_addr: str, burst_contracts: int, **kw: Any
    ) -> None:
        super().__init__(listen, sim_addr, control_addr, **kw)
        self.products = market_products(burst_contracts)
        self.known.update({p.symbol: p.exchange for p in self.products})
        # Each record as text, and as a ctp struct when the front sends binary (b"" else).
        self.content: MarketContent[tuple[bytes, bytes]] | None = None
        self.burst: Burst | None = None

    def _feed_loop(self) -> None:
        if self.sim_addr:  # without a simulated exchange only bursts feed the connections
            super()._feed_loop()

    def control(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request.get("cmd")
        if cmd == "burst":
            return self.start_burst(request)
        if cmd == "burst_report":
            return self.burst.report() if self.burst else {"ok": False, "error": "no burst yet"}
        if cmd == "burst_status":
            return {
                "ok": True,
                "connections": [
                    {"user": c.user, "api": c.api, "logged_in": c.logged_in, "subscribed": len(c.subscribed)}
                    for c in self._matching(None)
                ],
            }
        return super().control(request)

    def start_burst(self, request: dict[str, Any]) -> dict[str, Any]:
        """Encode the burst's records, then start one writer per logged-in connection; the
        reply (once the records are ready) says when the first round is due."""
        if self.burst is not None and not self.burst.done():
            raise ValueError("a burst is running")
        count = int(request.get("contracts") or len(self.products))
        rounds = int(request.get("rounds") or 10)
        delays: dict[str, float] = dict(request.get("delays") or {})  # user → ms
        if not 0 < count <= len(self.products) or rounds <= 0:
            raise ValueError(f"contracts must be 1 to {len(self.products)}, rounds at least 1")
        quirks = self.quirks
        if self.content is None:
            binary = quirks.depth_frame == "binary"
            self.content = MarketContent(
                self.products,
                lambda snap: (depth_body(snap, quirks), depth_template(snap, quirks) if binary else b""),
            )
        if request.get("reset"):
            self.content.reset()
        products = self.products[:count]
        bodies = self.content.rounds(count, rounds)
        exchanges = [p.exchange for p in products]
        first_ns = first_boundary(time.time_ns() + LEAD_NS)
        offset_ns = round(self.clock_offset * 1e9)
        symbols = [p.symbol for p in products]
        burst = Burst(first_ns, rounds, symbols)
        with self.lock:
            targets = [c for c in self.connections if c.logged_in and c.api == "md"]
        # The burst's records are futures' (a CTP front's): binary for ctp libraries that read it.
        kinds = {
            c.number: "binary"
            if c.flavour == "ctp" and bodies[0][0][1] and self.frame_kind(c, quirks) == "binary"
            else "text"
            for c in targets
        }
        plans: dict[str, list[FrontRound]] = {}
        if "text" in kinds.values():
            plans["text"] = [
                build_round(first_ns + r * ROUND_NS, exchanges, [b for b, _ in bodies[r]], quirks, offset_ns)
                for r in range(rounds)
            ]
        if "binary" in kinds.values():
            plans["binary"] = [
                build_binary_round(
                    first_ns + r * ROUND_NS, exchanges, [t for _, t in bodies[r]], quirks, offset_ns
                )
                for r in range(rounds)
            ]
        for conn in targets:
            plan = plans[kinds[conn.number]]
            sends = burst.sends.setdefault(conn.user or f"#{conn.number}", [])
            delay_ns = round(float(delays.get(conn.user, 0.0)) * 1e6)
            writer = threading.Thread(
                target=self._write_rounds,
                args=(conn, plan, symbols, delay_ns, sends),
                name=f"burst-{conn.number}",
                daemon=True,
            )
            burst.writers.append(writer)
        self.burst = burst
        for writer in burst.writers:
            writer.start()
        log.info(
            "burst: %d contracts x %d rounds to %d connections from %d (%s)",
            count,
            rounds,
            len(targets),
            first_ns,
            ", ".join(f"{k} {list(kinds.values()).count(k)}" for k in sorted(plans)),
        )
        return {"ok": True, "first_ns": first_ns, "connections": len(targets)}

    def _write_rounds(
        self,
        conn: Connection,
        plan: list[FrontRound],
        symbols: list[str],
        delay_ns: int,
        sends: list[list[int]],
    ) -> None:
        for r, batch in enumerate(plan):
            due = batch.stamp_ns + delay_ns
            wait = due - time.time_ns()
            if wait > 0:
                time.sleep(wait / 1e9)
            if self.shutdown.is_set() or conn.closed:
                return
            data = _for_connection(batch, symbols, conn.subscribed)
            start = time.time_ns()
            sent = conn.send(data) if data else False
            sends.append([r, due, start, time.time_ns(), int(sent)])


def _for_connection(batch: FrontRound, symbols: list[str], subscribed: set[str]) -> bytes:
    """The round's bytes for a connection: all of them when it subscribed every contract
    (the usual case, no copy), else its contracts' frames."""
    wanted = [i for i, s in enumerate(symbols) if s in subscribed]
    if len(wanted) == len(symbols):
        return batch.data
    view, at = memoryview(batch.data), batch.offsets
    return b"".join(view[at[i] : at[i + 1]] for i in wanted)


# -- the sim kind's burst -----------------------------------------------------------------------

_DATETIME_KEY = b"\xa8datetime\xcf"  # msgpack: the str "datetime", then a uint64
_PLACEHOLDER = (1 << 63) + 1  # a uint64 stamp, so msgpack gives it the 9-byte form


def sim_parts(snap: dict[str, Any]) -> tuple[bytes, bytes, bool]:
    """A snapshot packed with its stamp cut out: ``(before, after, whole seconds)``."""
    packed = msgpack.packb(dict(snap, datetime=_PLACEHOLDER))
    at = packed.index(_DATETIME_KEY) + len(_DATETIME_KEY)
    return packed[:at], packed[at + 8 :], snap["exchange"] == "CZCE"


def sim_round(stamp_ns: int, parts: list[tuple[bytes, bytes, bool]]) -> list[bytes]:
    """The round's messages: every snapshot stamped ``stamp_ns`` (CZCE in whole seconds, as
    ``ContractSim.step`` stamps it)."""
    stamp = stamp_ns.to_bytes(8, "big")
    whole = (stamp_ns - stamp_ns % 1_000_000_000).to_bytes(8, "big")
    return [b"".join((before, whole if czce else stamp, after)) for before, after, czce in parts]


class SimBurst:
    """Rounds for ``sim`` sources on an XPUB (verbose: it sees each source subscribe, so
    ``burst_status`` can say which are there). One thread: the sockets are its own."""

    def __init__(self, pub_addr: str, control_addr: str, contracts: int) -> None:
        self.products = market_products(contracts)
        self.content: MarketContent[tuple[bytes, bytes, bool]] = MarketContent(self.products, sim_parts)
        ctx = zmq.Context.instance()
        self.pub = ctx.socket(zmq.XPUB)
        self.pub.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.pub.setsockopt(zmq.SNDHWM, 0)  # the sources' own HWMs bound the queues
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.bind(pub_addr)
        self.control = ctx.socket(zmq.REP)
        self.control.setsockopt(zmq.LINGER, 0)
        self.control.bind(control_addr)
        self.subscribers: dict[str, int] = {}
        self.plan: list[list[bytes]] = []
        self.first_ns = 0
        self.next_round = 0
        self.sends: list[list[int]] = []
        self.shutdown = False

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.pub, zmq.POLLIN)
        poller.register(self.control, zmq.POLLIN)
        while not self.shutdown:
            timeout = 200.0
            if self.next_round < len(self.plan):
                due = self.first_ns + self.next_round * ROUND_NS
                timeout = max(0.0, (due - time.time_ns()) / 1e6)
                if timeout == 0.0:
                    self._send_round()
                    continue
            for sock, _ in poller.poll(round(timeout)):
                if sock is self.pub:
                    self._on_subscription(self.pub.recv())
                else:
                    try:
                        reply = self.command(msgpack.unpackb(self.control.recv()))
                    except (ValueError, TypeError, KeyError, msgpack.UnpackException) as exc:
                        reply = {"ok": False, "error": str(exc)}
                    self.control.send(msgpack.packb(reply))

    def _on_subscription(self, message: bytes) -> None:
        topic = message[1:]
        if topic.startswith(b"ctl."):  # each sim source subscribes to its own faults
            name = topic[4:].decode(errors="replace")
            self.subscribers[name] = self.subscribers.get(name, 0) + (1 if message[:1] == b"\x01" else -1)

    def _send_round(self) -> None:
        r = self.next_round
        due = self.first_ns + r * ROUND_NS
        pub = self.pub
        start = time.time_ns()
        for message in self.plan[r]:
            _raw_send(pub, SNAP_TOPIC, _MORE)
            _raw_send(pub, message, 0)
        self.sends.append([r, due, start, time.time_ns(), 1])
        self.next_round += 1

    def command(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request.get("cmd")
        if cmd == "burst_status":
            return {"ok": True, "subscribers": sorted(s for s, n in self.subscribers.items() if n > 0)}
        if cmd == "burst_report":
            return {
                "ok": True,
                "done": self.next_round >= len(self.plan),
                "first_ns": self.first_ns,
                "rounds": len(self.plan),
                "sends": {"pub": self.sends},
            }
        if cmd == "burst":
            if self.next_round < len(self.plan):
                raise ValueError("a burst is running")
            count = int(request.get("contracts") or len(self.products))
            rounds = int(request.get("rounds") or 10)
            if not 0 < count <= len(self.products) or rounds <= 0:
                raise ValueError(f"contracts must be 1 to {len(self.products)}, rounds at least 1")
            if request.get("reset"):
                self.content.reset()
            parts = self.content.rounds(count, rounds)
            self.first_ns = first_boundary(time.time_ns() + LEAD_NS)
            self.plan = [sim_round(self.first_ns + r * ROUND_NS, parts[r]) for r in range(rounds)]
            self.next_round, self.sends = 0, []
            return {"ok": True, "first_ns": self.first_ns}
        raise ValueError(f"unknown command {cmd!r}; known: burst, burst_report, burst_status")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateways.loopback.burst")
    sub = parser.add_subparsers(dest="command", required=True)
    front = sub.add_parser("front", help="the loopback front with a burst mode")
    front.add_argument("--listen", required=True, help="tcp://127.0.0.1:PORT")
    front.add_argument("--control", required=True)
    front.add_argument("--contracts", type=int, default=10_000, help="the largest burst")
    front.add_argument("--sim", default="", help="a simulated exchange to feed from besides (optional)")
    front.add_argument("--clock-offset", type=float, default=0.0)
    front.add_argument("--quirks", default="{}", help='JSON, e.g. {"replay": false}')
    add_depth_frame_option(front)
    sim = sub.add_parser("sim", help="rounds for sim sources on a PUB")
    sim.add_argument("--pub", required=True)
    sim.add_argument("--control", required=True)
    sim.add_argument("--contracts", type=int, default=10_000, help="the largest burst")
    control = sub.add_parser("control", help="send a command to a running front or sim burst")
    control.add_argument("--control", required=True)
    control.add_argument("--timeout", type=float, default=60.0)
    control.add_argument("request", help='JSON, e.g. {"cmd": "burst", "contracts": 1000}')
    args = parser.parse_args(argv)

    if args.command == "control":
        reply = send_control(args.control, timeout=args.timeout, **json.loads(args.request))
        print(json.dumps(reply, ensure_ascii=False))
        return 0 if reply.get("ok") else 1

    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(message)s")
    server: BurstFront | SimBurst
    if args.command == "front":
        server = BurstFront(
            args.listen,
            args.sim,
            args.control,
            args.contracts,
            clock_offset=args.clock_offset,
            quirks=Quirks(depth_frame=args.depth_frame).updated(json.loads(args.quirks)),
        )
    else:
        server = SimBurst(args.pub, args.control, args.contracts)

    def stop(signum: int, frame: Any) -> None:
        if isinstance(server, BurstFront):
            server.shutdown.set()
        else:
            server.shutdown = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
