"""The client side of conflation (``HubClient(..., conflate_ms=N)``, docs/access.md).

One DEALER per hub to its conflation ROUTER (``HubAddress.conflate``): register the prefixes
and the interval, renew the registration every ``RENEW_S``, then take the rounds: each
contract's newest value once per interval. Several hubs: a copy older than (or the same as)
what was already delivered for its topic is dropped, so each value comes once, newest first.

``drops`` is what the hub says it could not send (this client's queue was full); the topics
are sent again, newest, in a later round, so a drop costs latency, never a stale value.
pyzmq and msgpack only, no Django import.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgpack
import zmq

from aggregation import records, wire
from aggregation.conflation import (
    MAX_INTERVAL_MS,
    MIN_INTERVAL_MS,
    RENEW_S,
    REPLY_ERR,
    REPLY_OK,
    REQ_BYE,
    REQ_CONFLATE,
    ROUND_END,
)
from aggregation.curve import CurveKeys, make_client
from aggregation.handshake_retry import REFUSED_EVENTS, Redial, describe, monitor_events

log = logging.getLogger("mdhub.client")

RECONNECT_IVL_MS = 100


@dataclass(slots=True)
class _Conflated:
    label: str
    dealer: zmq.Socket[bytes]
    renew_at: float = 0.0
    drops: int = 0  # the hub's count for this connection (cumulative)
    registered: bool = False
    refusal: str = ""
    # On a CURVE hub: the DEALER's handshake events, and its redial after a refusal (libzmq
    # gives up on a connection refused in its handshake; aggregation.handshake_retry).
    monitor: zmq.Socket[bytes] | None = None
    redial: Redial | None = None
    handshake_refused: bool = False


@dataclass(slots=True)
class ConflatedReader:
    """Rounds of newest values from each hub; ``recv`` returns ``(topic, fields)``."""

    ctx: zmq.Context[Any]
    prefixes: tuple[bytes, ...]
    interval_ms: int
    rcvhwm: int = 10_000
    hubs: list[_Conflated] = field(default_factory=list)
    rounds: int = 0
    received: int = 0
    bad: int = 0
    duplicates: int = 0
    refusals: int = 0
    handshake_retries: int = 0
    _poller: zmq.Poller = field(default_factory=zmq.Poller)
    _ready: deque[tuple[bytes, dict[str, Any]]] = field(default_factory=deque)
    # Topic → (exchange time, content key) of the newest value delivered.
    _newest: dict[bytes, tuple[int, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not MIN_INTERVAL_MS <= self.interval_ms <= MAX_INTERVAL_MS:
            raise ValueError(
                f"conflate_ms={self.interval_ms}: from {MIN_INTERVAL_MS} to {MAX_INTERVAL_MS} ms"
            )

    @property
    def drops(self) -> int:
        return sum(hub.drops for hub in self.hubs)

    def open(self, endpoint: str, curve: CurveKeys | None, server_key: str | None) -> None:
        dealer: zmq.Socket[bytes] = self.ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        if server_key and curve is not None:
            make_client(dealer, curve, server_key)
        dealer.setsockopt(zmq.RCVHWM, self.rcvhwm)
        dealer.setsockopt(zmq.RECONNECT_IVL, RECONNECT_IVL_MS)
        hub = _Conflated(endpoint, dealer)
        if server_key and curve is not None:
            hub.monitor = dealer.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | REFUSED_EVENTS)
            hub.redial = Redial(dealer, endpoint)
            self._poller.register(hub.monitor, zmq.POLLIN)
        dealer.connect(endpoint)
        self.hubs.append(hub)
        self._poller.register(dealer, zmq.POLLIN)

    def recv(self, timeout: float | None) -> tuple[bytes, dict[str, Any]] | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ready:
            now = time.monotonic()
            wait = RENEW_S if deadline is None else max(0.0, min(RENEW_S, deadline - now))
            for hub in self.hubs:
                if hub.redial is not None:
                    if hub.redial.redial(now):
                        self.handshake_retries += 1
                    wait = min(wait, max(0.0, hub.redial.due - now))
                if now >= hub.renew_at:
                    self._register(hub, now)
            for sock, _ in self._poller.poll(int(wait * 1000) + 1):
                for hub in self.hubs:
                    if hub.dealer is sock:
                        self._drain(hub)
                    elif hub.monitor is sock:
                        self._on_monitor(hub)
            if not self._ready and deadline is not None and time.monotonic() >= deadline:
                return None
        return self._ready.popleft()

    def _on_monitor(self, hub: _Conflated) -> None:
        assert hub.monitor is not None and hub.redial is not None
        for event in monitor_events(hub.monitor):
            if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                hub.redial.accepted()
                if hub.handshake_refused:
                    hub.handshake_refused = False
                    log.info("hub %s accepted the conflated reader's handshake after refusing it", hub.label)
                    hub.renew_at = 0.0  # what was queued went with the refused connection
            elif event["event"] & REFUSED_EVENTS:
                hub.redial.refused(time.monotonic())
                if not hub.handshake_refused:
                    hub.handshake_refused = True
                    log.warning(
                        "hub %s refused the conflated reader's handshake (%s); trying again",
                        hub.label,
                        describe(event["event"], event["value"]),
                    )

    def _register(self, hub: _Conflated, now: float) -> None:
        # Sent whether or not the connection is up yet: the DEALER queues it; after a
        # reconnect the hub sees a new connection and this renewal registers it again.
        hub.renew_at = now + RENEW_S
        body = msgpack.packb({"prefixes": list(self.prefixes), "interval_ms": self.interval_ms})
        # Not connected yet and its queue is full: the next renewal tries again.
        with contextlib.suppress(zmq.Again):
            hub.dealer.send_multipart((REQ_CONFLATE, body), zmq.NOBLOCK)

    def _drain(self, hub: _Conflated) -> None:
        while True:
            try:
                frames = hub.dealer.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) != 2:
                self.bad += 1
                continue
            kind, body = frames
            if kind == ROUND_END:
                self.rounds += 1
                info = _map(body)
                if isinstance(info.get("drops"), int):
                    hub.drops = info["drops"]
            elif kind == REPLY_OK:
                hub.registered = True
            elif kind == REPLY_ERR:
                info = _map(body)
                hub.refusal = str(info.get("message", "refused"))
                self.refusals += 1
                log.warning("hub %s refused conflation: %s", hub.label, hub.refusal)
            else:
                self._take(kind, body)

    def _take(self, topic: bytes, payload: bytes) -> None:
        self.received += 1
        try:
            fields = wire.decode_payload(payload)
            dt_ns = int(fields["datetime"])
            if records.is_record_topic(topic):
                key = records.record_key(dt_ns, fields)
            else:
                key = wire.content_key(dt_ns, tuple(fields[name] for name in wire.CONTENT_FIELDS))
        except (ValueError, KeyError, TypeError, OverflowError):
            self.bad += 1
            return
        newest = self._newest.get(topic)
        if newest is not None and (dt_ns < newest[0] or (dt_ns == newest[0] and key == newest[1])):
            self.duplicates += 1  # another hub's copy of a value already delivered, or older
            return
        self._newest[topic] = (dt_ns, key)
        self._ready.append((topic, fields))

    def close(self) -> None:
        for hub in self.hubs:
            with contextlib.suppress(zmq.ZMQError):
                hub.dealer.send(REQ_BYE, zmq.NOBLOCK)
            if hub.monitor is not None:
                hub.dealer.disable_monitor()
                hub.monitor.close(linger=0)
            hub.dealer.close(linger=200)  # time for the BYE to leave
        self.hubs.clear()


def _map(body: bytes) -> dict[str, Any]:
    try:
        value = msgpack.unpackb(body, raw=False)
    except Exception:  # noqa: BLE001 - msgpack raises several unrelated types
        return {}
    return value if isinstance(value, dict) else {}
