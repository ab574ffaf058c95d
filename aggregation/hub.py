"""The hub's data plane: ingest from the workers, first-arrival dedup, publish, snapshots.

``TickHub`` owns the sockets and runs on the hub's main thread; ``pump`` handles what
is waiting and returns. Nothing here waits on Redis, the database or the web side: the
engine reads ``sources`` and ``stats`` from its other steps. No Django import.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import zmq

from aggregation.dedup import FirstArrival
from aggregation.wire import (
    KIND_LOG,
    KIND_STATUS,
    KIND_TICK,
    TOPIC_PREFIX,
    extend_body,
    pack,
    source_suffix,
    unpack,
)

log = logging.getLogger("mdhub.hub")
worker_log = logging.getLogger("mdhub.worker")

LATE_SAMPLES = 4096
LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


@dataclass(slots=True)
class SourceStats:
    """What the hub knows of one source from its frames; read by health and status."""

    name: str
    suffix: bytes
    received: int = 0
    first: int = 0
    duplicates: int = 0
    too_late: int = 0
    # How much later than the winner this source's copies came (ns), recent ones.
    late_ns: deque[int] = field(default_factory=lambda: deque(maxlen=LATE_SAMPLES))
    last_tick_mono: float = 0.0
    last_tick_by_topic: dict[bytes, float] = field(default_factory=dict)
    last_status: dict[str, Any] = field(default_factory=dict)
    last_status_mono: float = 0.0
    statuses: int = 0


@dataclass(slots=True)
class HubStats:
    forwarded: int = 0
    malformed: int = 0
    snapshot_requests: int = 0
    upstream_subscriptions: int = 0


class TickHub:
    def __init__(
        self,
        ingest_addr: str,
        pub_addr: str,
        snapshot_addr: str,
        control_addr: str,
        ctx: zmq.Context[Any] | None = None,
        pub_hwm: int = 100_000,
        watch_topics: set[bytes] | None = None,
    ) -> None:
        self.ctx = ctx or zmq.Context.instance()
        self.ingest = self._bind(zmq.PULL, ingest_addr, rcvhwm=1_000_000)
        self.pub = self._bind(zmq.XPUB, pub_addr, sndhwm=pub_hwm)
        # Verbose: hear every subscription, not just the first per topic, so a client that
        # reconnects still triggers an upstream subscription.
        self.pub.setsockopt(zmq.XPUB_VERBOSE, 1)
        # No send limit: a ROUTER silently drops past it, and a snapshot of thousands of
        # topics (option chains) must arrive whole.
        self.snapshot = self._bind(zmq.ROUTER, snapshot_addr)
        self.snapshot.setsockopt(zmq.SNDHWM, 0)
        self.control = self._bind(zmq.PUB, control_addr)
        self.poller = zmq.Poller()
        for sock in (self.ingest, self.pub, self.snapshot):
            self.poller.register(sock, zmq.POLLIN)
        self.dedup = FirstArrival()
        self.seqs: dict[bytes, int] = {}
        self.last_value: dict[bytes, bytes] = {}
        self.sources: dict[bytes, SourceStats] = {}
        self.stats = HubStats()
        self.subscribed: set[str] = set()
        # Topics (canaries) whose last arrival per source health needs; others skip that.
        self.watch_topics: set[bytes] = watch_topics or set()
        self.log_records: deque[dict[str, Any]] = deque(maxlen=2000)

    def _bind(self, kind: int, addr: str, rcvhwm: int = 0, sndhwm: int = 0) -> zmq.Socket[Any]:
        sock = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        if rcvhwm:
            sock.setsockopt(zmq.RCVHWM, rcvhwm)
        if sndhwm:
            sock.setsockopt(zmq.SNDHWM, sndhwm)
        sock.bind(addr)
        return sock

    # -- the loop body -----------------------------------------------------------------

    def poll(self, timeout_ms: int) -> int:
        """Wait up to ``timeout_ms`` for work, handle all of it; returns frames handled."""
        events = dict(self.poller.poll(timeout_ms))
        handled = 0
        if self.ingest in events:
            handled += self.pump()
        if self.pub in events:
            self._on_subscriptions()
        if self.snapshot in events:
            self._on_snapshot_requests()
        return handled

    def pump(self, max_batch: int = 2000) -> int:
        recv = self.ingest.recv_multipart
        handled = 0
        while handled < max_batch:
            try:
                frames = recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            handled += 1
            try:
                if len(frames) == 5 and frames[0] == KIND_TICK:
                    self._on_tick(frames)
                elif len(frames) == 3 and frames[0] == KIND_STATUS:
                    self._on_status(frames[1], unpack(frames[2]))
                elif len(frames) == 3 and frames[0] == KIND_LOG:
                    self._on_log(frames[1], unpack(frames[2]))
                else:
                    self.stats.malformed += 1
            except (ValueError, TypeError, KeyError, IndexError, AttributeError, UnicodeDecodeError):
                # A malformed frame is counted and dropped; it never stops the hub.
                self.stats.malformed += 1
            except Exception:  # noqa: BLE001 - msgpack raises several unrelated types
                self.stats.malformed += 1
        return handled

    def _source(self, account: bytes) -> SourceStats:
        source = self.sources.get(account)
        if source is None:
            name = account.decode()
            source = self.sources[account] = SourceStats(name, source_suffix(name))
        return source

    def _on_tick(self, frames: list[bytes]) -> None:
        _, account, topic, key, body = frames
        if len(key) != 16 or not topic.startswith(TOPIC_PREFIX):
            raise ValueError("bad tick frame")
        source = self.sources.get(account) or self._source(account)
        source.received += 1
        now = time.monotonic()
        source.last_tick_mono = now
        if topic in self.watch_topics:
            source.last_tick_by_topic[topic] = now
        verdict = self.dedup.offer(topic, key, source.name, time.time_ns())
        if verdict.forward:
            seq = self.seqs.get(topic, 0) + 1
            payload = extend_body(body, source.suffix, seq)
            self.seqs[topic] = seq
            self.last_value[topic] = payload
            self.pub.send_multipart((topic, payload))
            source.first += 1
            self.stats.forwarded += 1
        elif verdict.late_ns is not None:
            source.duplicates += 1
            source.late_ns.append(verdict.late_ns)
        else:
            source.too_late += 1

    def _on_status(self, account: bytes, status: dict[str, Any]) -> None:
        if not isinstance(status, dict):
            raise TypeError("status is not a map")
        source = self._source(account)
        source.last_status = status
        source.last_status_mono = time.monotonic()
        source.statuses += 1

    def _on_log(self, account: bytes, record: dict[str, Any]) -> None:
        level = LEVELS.get(str(record.get("level")), logging.INFO)
        msg = str(record.get("msg", ""))
        name = account.decode()
        entry = {
            "ts": float(record.get("ts") or time.time()),
            "level": logging.getLevelName(level),
            "account": name,
            "logger": str(record.get("logger", "")),
            "msg": msg,
        }
        self.log_records.append(entry)
        worker_log.getChild(name).log(level, "%s", msg, extra={"account": name, "from_worker": True})

    def _on_subscriptions(self) -> None:
        while True:
            try:
                event = self.pub.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if not event or event[0] != 1 or not event[1:].startswith(TOPIC_PREFIX):
                continue
            vt_symbol = event[1 + len(TOPIC_PREFIX) :].decode(errors="replace")
            symbol, dot, exchange = vt_symbol.rpartition(".")
            # Only a whole vt_symbol can be subscribed upstream; a prefix (tick.rb) cannot.
            if dot and symbol and exchange.isupper() and vt_symbol not in self.subscribed:
                self.subscribe_upstream([vt_symbol])
                self.stats.upstream_subscriptions += 1
                log.info("client asked for %s: subscribed upstream", vt_symbol)

    def subscribe_upstream(self, vt_symbols: list[str], account: str = "*") -> None:
        if account == "*":
            self.subscribed.update(vt_symbols)
        self.control.send_multipart((account.encode(), pack({"cmd": "subscribe", "symbols": vt_symbols})))

    def _on_snapshot_requests(self) -> None:
        while True:
            try:
                frames = self.snapshot.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) != 3 or frames[1] != b"SNAP":
                self.stats.malformed += 1
                continue
            identity, _, prefix = frames
            self.stats.snapshot_requests += 1
            count = 0
            for topic, payload in list(self.last_value.items()):
                if topic.startswith(prefix):
                    self.snapshot.send_multipart((identity, topic, payload))
                    count += 1
            self.snapshot.send_multipart((identity, b"END", pack(count)))

    def close(self) -> None:
        for sock in (self.ingest, self.pub, self.snapshot, self.control):
            sock.close()
