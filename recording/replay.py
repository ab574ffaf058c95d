"""A recorded day played back through the hub's wire protocol (docs/wire-protocol.md).

An XPUB of its own sends ``[topic, payload]`` exactly as the hub did (same fields, same
order, the original ``seq``, ``epoch``, ``source`` and ``recv_ns``; a payload the worker
encoded with ``aggregation.wire.encode_tick`` comes back byte for byte), and a snapshot
ROUTER answers ``SNAP`` as the hub's does, with the last tick replayed per topic. So
``aggregation.client.HubClient`` (and every strategy on it) reads a replay unchanged.

Pacing: ``speed`` 1 plays at the pace the ticks were received (``recv_ns``), N plays N times
as fast, 0 as fast as the slowest client takes it. Nothing is dropped at any speed: the
XPUB does not drop (``XPUB_NODROP``), it waits for the client, so a slow reader slows the
replay instead of losing ticks (unlike the live hub, where a slow reader must never slow
anyone).

The replay starts when a client has subscribed and taken its snapshot (or ``snapshot_wait``
seconds after its subscription, for a client that takes none): a client that asks for a
snapshot after ticks were sent would drop those ticks as older than it (Clone pattern).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import msgpack
import zmq

from aggregation.wire import TOPIC_PREFIX, extend_body, source_suffix
from recording import layout
from recording.query import DayNotFound
from recording.schema import BODY_FIELDS, COLUMNS

log = logging.getLogger("mdhub.replay")

# Ticks fetched from DuckDB per batch.
FETCH = 8_192
SNDHWM = 10_000
# A sleep shorter than this is not worth the wake-up: ticks this close go out together.
MIN_SLEEP = 0.000_5
_NULLABLE = frozenset(BODY_FIELDS) - {"v", "symbol", "exchange", "datetime"}


@dataclass(slots=True)
class ReplayStats:
    sent: int = 0
    snapshot_requests: int = 0
    subscriptions: int = 0
    started_ns: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def payload_of(row: dict[str, Any], suffixes: dict[tuple[str, int], bytes]) -> bytes:
    """The client payload of a recorded row: the worker's body in the worker's field order,
    then the hub's source, epoch and seq as the hub appends them (``extend_body``). A field
    the original did not carry (null) stays out; ``localtime`` is nil when there was none."""
    body = {
        name: row[name]
        for name in BODY_FIELDS
        if row[name] is not None or name == "localtime" or name not in _NULLABLE
    }
    packed: bytes = msgpack.packb(body)
    if len(body) <= 15:
        # A fixmap (fewer fields than any real tick): extend_body needs a map16.
        packed = b"\xde" + len(body).to_bytes(2, "big") + packed[1:]
    key = (row["source"] or "", row["epoch"])
    suffix = suffixes.get(key)
    if suffix is None:
        suffix = suffixes[key] = source_suffix(*key)
    return extend_body(packed, suffix, row["seq"])


class ReplayServer:
    """Plays ``day`` of the recording under ``root`` on ``pub_addr`` / ``snapshot_addr``.

    ``run`` blocks until the day is played (or ``stop`` is set); ``symbols`` (vt_symbols or
    prefixes such as ``rb``) narrows what is played. Use from one thread.
    """

    def __init__(
        self,
        root: Path,
        day: date,
        pub_addr: str,
        snapshot_addr: str,
        *,
        speed: float = 1.0,
        symbols: list[str] | None = None,
        snapshot_wait: float = 0.5,
        ctx: zmq.Context[Any] | None = None,
    ) -> None:
        self.parts = layout.day_parts(root, day)
        if not layout.day_dir(root, day).is_dir():
            raise DayNotFound(f"trading day {day.isoformat()} is not recorded")
        if speed < 0:
            raise ValueError("speed must be 0 (as fast as the client reads) or more")
        self.day = day
        self.speed = speed
        self.prefixes = [TOPIC_PREFIX + s.encode() for s in symbols or []]
        self.snapshot_wait = snapshot_wait
        self.ctx = ctx or zmq.Context.instance()
        self.stats = ReplayStats()
        self.last_value: dict[bytes, bytes] = {}
        self.pub: zmq.Socket[bytes] = self.ctx.socket(zmq.XPUB)
        self.pub.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.pub.setsockopt(zmq.XPUB_NODROP, 1)
        self.pub.setsockopt(zmq.SNDHWM, SNDHWM)
        # Closing waits this long for queued ticks to reach the client.
        self.pub.setsockopt(zmq.LINGER, 5_000)
        self.pub.bind(pub_addr)
        self.snapshot: zmq.Socket[bytes] = self.ctx.socket(zmq.ROUTER)
        self.snapshot.setsockopt(zmq.LINGER, 0)
        self.snapshot.setsockopt(zmq.SNDHWM, 0)
        self.snapshot.bind(snapshot_addr)
        self.poller = zmq.Poller()
        self.poller.register(self.pub, zmq.POLLIN)
        self.poller.register(self.snapshot, zmq.POLLIN)
        self._subscribed_at: float | None = None
        self._snapshot_taken = False

    # -- the side traffic: subscriptions and snapshot requests ---------------------------

    def _service(self, timeout_ms: int, want_send: bool = False) -> bool:
        """Handle subscriptions and snapshot requests for up to ``timeout_ms``; with
        ``want_send``, return as soon as the XPUB can take a message again."""
        if want_send:
            self.poller.modify(self.pub, zmq.POLLIN | zmq.POLLOUT)
        try:
            events = dict(self.poller.poll(timeout_ms))
        finally:
            if want_send:
                self.poller.modify(self.pub, zmq.POLLIN)
        if events.get(self.pub, 0) & zmq.POLLIN:
            while True:
                try:
                    message = self.pub.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if message[:1] == b"\x01":
                    self.stats.subscriptions += 1
                    if self._subscribed_at is None:
                        self._subscribed_at = time.monotonic()
        if self.snapshot in events:
            self._answer_snapshots()
        return bool(events.get(self.pub, 0) & zmq.POLLOUT)

    def _answer_snapshots(self) -> None:
        while True:
            try:
                frames = self.snapshot.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) != 3 or frames[1] != b"SNAP":
                continue  # not a request we know: the hub ignores it too
            identity, _, prefix = frames
            self.stats.snapshot_requests += 1
            count = 0
            for topic, payload in list(self.last_value.items()):
                if topic.startswith(prefix):
                    self.snapshot.send_multipart((identity, topic, payload))
                    count += 1
            self.snapshot.send_multipart((identity, b"END", msgpack.packb(count)))
            self._snapshot_taken = True

    def wait_for_client(self, stop: threading.Event, timeout: float | None = None) -> bool:
        """Until a client subscribed and took its snapshot (or ``snapshot_wait`` passed)."""
        until = None if timeout is None else time.monotonic() + timeout
        while not stop.is_set():
            if self._subscribed_at is not None and (
                self._snapshot_taken or time.monotonic() - self._subscribed_at >= self.snapshot_wait
            ):
                return True
            if until is not None and time.monotonic() >= until:
                return False
            self._service(20)
        return False

    # -- the replay --------------------------------------------------------------------

    def _query(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:")
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in self.parts)
        where = ""
        params: list[str] = []
        if self.prefixes:
            # Topic prefixes as the hub matches them: on "symbol.EXCHANGE".
            where = " WHERE " + " OR ".join(
                "starts_with(symbol || '.' || exchange, ?)" for _ in self.prefixes
            )
            params = [p[len(TOPIC_PREFIX) :].decode() for p in self.prefixes]
        con.execute(f"SELECT {', '.join(COLUMNS)} FROM read_parquet([{files}]) {where} ORDER BY ord", params)
        return con

    def _send(self, topic: bytes, payload: bytes, stop: threading.Event) -> bool:
        while True:
            try:
                self.pub.send(topic, zmq.SNDMORE | zmq.NOBLOCK)
                break
            except zmq.Again:
                if stop.is_set():
                    return False
                self._service(50, want_send=True)
        # The second frame of a message whose first went out is never refused.
        self.pub.send(payload)
        return True

    def run(
        self, stop: threading.Event | None = None, wait_timeout: float | None = None, linger: float = 0.0
    ) -> ReplayStats:
        """Play the day (after ``wait_for_client``); then answer snapshots for ``linger``
        seconds more (or until ``stop``), for clients that join at the end."""
        stop = stop or threading.Event()
        if not self.parts or not self.wait_for_client(stop, wait_timeout):
            return self.stats
        started = time.monotonic()
        self.stats.started_ns = time.time_ns()
        first_recv: int | None = None
        newest = 0
        suffixes: dict[tuple[str, int], bytes] = {}
        speed = self.speed
        con = self._query()
        try:
            while not stop.is_set():
                batch = con.fetchmany(FETCH)
                if not batch:
                    break
                for values in batch:
                    row = dict(zip(COLUMNS, values, strict=True))
                    recv_ns = row["recv_ns"] or newest
                    if speed > 0:
                        if first_recv is None:
                            first_recv = recv_ns
                        # Never back in time: copies from several sources interleave.
                        newest = max(newest, recv_ns)
                        due = started + (newest - first_recv) / 1e9 / speed
                        pause = due - time.monotonic()
                        if pause > MIN_SLEEP:
                            self._service(0)
                            time.sleep(pause)
                    topic = TOPIC_PREFIX + f"{row['symbol']}.{row['exchange']}".encode()
                    payload = payload_of(row, suffixes)
                    if not self._send(topic, payload, stop):
                        break
                    self.last_value[topic] = payload
                    self.stats.sent += 1
                    if self.stats.sent % 1024 == 0:
                        self._service(0)
        finally:
            con.close()
        self.stats.seconds = time.monotonic() - started
        log.info(
            "replayed trading day %s: %d ticks in %.2f s (%.0f ticks/s)",
            self.day.isoformat(),
            self.stats.sent,
            self.stats.seconds,
            self.stats.rate,
        )
        until = time.monotonic() + linger
        while not stop.is_set() and time.monotonic() < until:
            self._service(50)
        return self.stats

    def close(self) -> None:
        self.pub.close()
        self.snapshot.close(linger=0)
