"""Conflation for slow readers: "the latest per contract every N ms" (docs/access.md).

A screen or a slow consumer does not want every tick: it wants each contract's newest value a
few times a second. ``ConflationService`` serves that on an endpoint of its own (a ROUTER,
``MDHUB_CONFLATE_ADDR``), from its own thread, by reading the hub's last-value cache; the tick
path never calls it and never waits for it (it only keeps writing ``last_value``).

Protocol (a DEALER per client; frames after the ROUTER's routing id):

* ``[CONFLATE, msgpack{prefixes: [...], interval_ms: N}]`` registers (or renews) the client:
  ``[OK, msgpack{interval_ms, prefixes}]`` or ``[ERR, msgpack{error, message}]``. A
  registration lasts ``LEASE_S``; the client renews it every ``RENEW_S`` (a client that went
  away is forgotten, so the hub holds nothing for it). ``[BYE]`` ends it at once.
* Every ``interval_ms``: ``[topic, payload]`` for each entitled topic whose last value changed
  since the client's previous round (the stream's payload, ``seq`` included: gaps in ``seq``
  are the point, not a loss), then ``[END, msgpack{round, sent, drops}]``.
* **Drops**: the ROUTER runs with ``ROUTER_MANDATORY``, so a client whose queue is at its
  high-water mark makes the send fail at once instead of blocking; that message is counted as
  a drop for the client (``drops``, told in every ``END`` that gets through, and in the hub's
  connected-clients list), and its topic stays due: the next round sends the value then
  newest. Nothing waits, and a client that never reads costs the hub one bounded queue.

With ``StreamAccess`` the ROUTER is a CURVE server under the same ZAP handler as the other
endpoints, and every prefix must be inside the client's entitlements. No Django import.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack
import zmq

from aggregation.access import StreamAccess, Verdict, request_refusal, user_id
from aggregation.curve import make_server

log = logging.getLogger("mdhub.conflation")

REQ_CONFLATE = b"CONFLATE"
REQ_BYE = b"BYE"
REPLY_OK = b"OK"
REPLY_ERR = b"ERR"
ROUND_END = b"END"
MIN_INTERVAL_MS = 50  # faster than this is the live stream's job
MAX_INTERVAL_MS = 60_000
LEASE_S = 10.0
RENEW_S = 2.5
MAX_PEERS = 1_000
MAX_PREFIXES = 100
# Messages ZeroMQ may queue per client before sends to it fail (and count as drops).
DEFAULT_SNDHWM = 10_000
# Requests read per wake-up: a flood of them cannot starve the rounds.
REQUEST_BATCH = 200
_NOBLOCK = int(zmq.NOBLOCK)
_SNDMORE = int(zmq.SNDMORE)


@dataclass(slots=True)
class ConflatedPeer:
    """One registered client connection (keyed by its routing id)."""

    routing_id: bytes
    name: str  # its User-Id ("" on a hub without CURVE)
    prefixes: tuple[bytes, ...]
    interval: float  # seconds
    due: float
    lease_until: float
    # Topic → the payload object last sent: the cache's value ``is`` not it once it changed.
    sent: dict[bytes, bytes] = field(default_factory=dict)
    topics: list[bytes] = field(default_factory=list)
    topics_seen: int = -1  # the cache's size when ``topics`` was matched
    rounds: int = 0
    messages: int = 0
    drops: int = 0


@dataclass(slots=True)
class ConflationStats:
    registrations: int = 0
    refused: int = 0
    malformed: int = 0
    rounds: int = 0
    messages: int = 0
    drops: int = 0
    expired: int = 0


def parse_registration(body: bytes) -> tuple[tuple[bytes, ...], int]:
    """``(prefixes, interval_ms)`` of a CONFLATE body; ``ValueError`` saying what is wrong."""
    try:
        spec = msgpack.unpackb(body, raw=False)
    except Exception as exc:  # noqa: BLE001 - msgpack raises several unrelated types
        raise ValueError(f"not msgpack ({exc.__class__.__name__})") from None
    if not isinstance(spec, dict):
        raise ValueError("the body is a map {prefixes, interval_ms}")
    prefixes, interval = spec.get("prefixes"), spec.get("interval_ms")
    if not isinstance(prefixes, list) or not prefixes or len(prefixes) > MAX_PREFIXES:
        raise ValueError(f"prefixes: a list of 1 to {MAX_PREFIXES} topic prefixes")
    encoded = []
    for prefix in prefixes:
        if isinstance(prefix, str):
            prefix = prefix.encode()
        if not isinstance(prefix, bytes) or not prefix or len(prefix) > 255:
            raise ValueError("prefixes: each one a non-empty topic prefix such as tick.rb")
        encoded.append(prefix)
    if isinstance(interval, bool) or not isinstance(interval, int):
        raise ValueError("interval_ms: a whole number of milliseconds")
    if not MIN_INTERVAL_MS <= interval <= MAX_INTERVAL_MS:
        raise ValueError(f"interval_ms: from {MIN_INTERVAL_MS} to {MAX_INTERVAL_MS}")
    return tuple(sorted(set(encoded))), interval


class ConflationService:
    """The conflating ROUTER and its thread (``start``/``close``); see the module docstring.

    ``last_value`` is the hub's own dict (topic → payload), written by the hub's thread only.
    This thread reads it with single C-level operations (``len``, ``list``, ``get``), each
    atomic under the GIL, so it never sees a half-made entry and never locks the tick path."""

    def __init__(
        self,
        ctx: zmq.Context[Any],
        addr: str,
        last_value: dict[bytes, bytes],
        access: StreamAccess | None = None,
        sndhwm: int = DEFAULT_SNDHWM,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.last_value = last_value
        self.access = access
        self.clock = clock
        self.sock: zmq.Socket[Any] = ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        # A full or gone peer makes send fail at once (EAGAIN / EHOSTUNREACH) instead of a
        # silent drop: that is how a client's drops are counted and a dead peer forgotten.
        self.sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.sock.setsockopt(zmq.SNDHWM, sndhwm)
        self.sock.setsockopt(zmq.RCVHWM, 1_000)
        if access is not None:
            make_server(self.sock, access.keys)
        self.sock.bind(addr)
        self.peers: dict[bytes, ConflatedPeer] = {}
        self.stats = ConflationStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mdhub-conflation", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        self.sock.close(linger=0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step(self._wait_ms())

    def _wait_ms(self) -> int:
        if not self.peers:
            return 100
        due = min(peer.due for peer in self.peers.values())
        return max(0, min(100, int((due - self.clock()) * 1000) + 1))

    def step(self, timeout_ms: int) -> None:
        """Wait up to ``timeout_ms`` for requests, handle them, run the rounds that are due."""
        if self.sock.poll(timeout_ms):
            for _ in range(REQUEST_BATCH):
                try:
                    frames = self.sock.recv_multipart(_NOBLOCK, copy=False)
                except zmq.Again:
                    break
                self.on_request(frames)
        now = self.clock()
        for peer in list(self.peers.values()):
            if now >= peer.lease_until:
                self._forget(peer, expired=True)
            elif now >= peer.due:
                # Due again one interval after this round, never in a burst to catch up.
                peer.due = now + peer.interval
                self.round(peer)

    # -- requests ----------------------------------------------------------------------------

    def on_request(self, frames: list[zmq.Frame]) -> None:
        if len(frames) < 2:
            self.stats.malformed += 1
            return
        routing_id, command = frames[0].bytes, frames[1].bytes
        if command == REQ_BYE:
            peer = self.peers.get(routing_id)
            if peer is not None:
                self._forget(peer)
            return
        if command != REQ_CONFLATE or len(frames) != 3:
            self.stats.malformed += 1
            self._reply(routing_id, REPLY_ERR, {"error": "bad_request", "message": "send [CONFLATE, {...}]"})
            return
        name = user_id(frames[1]) if self.access is not None else ""
        try:
            prefixes, interval_ms = parse_registration(frames[2].bytes)
        except ValueError as exc:
            self.stats.malformed += 1
            self._reply(routing_id, REPLY_ERR, {"error": "bad_request", "message": f"CONFLATE: {exc}"})
            return
        now = self.clock()
        peer = self.peers.get(routing_id)
        if peer is not None and peer.prefixes == prefixes and peer.interval * 1000 == interval_ms:
            # A renewal: still allowed? (a revoked client is also cut off by its connection)
            if self.access is not None and self.access.policy.enabled(name) is None:
                self._forget(peer)
                self._refuse(routing_id, Verdict.FORBIDDEN, name, prefixes[0])
                return
            peer.lease_until = now + LEASE_S
            self._reply(routing_id, REPLY_OK, {"interval_ms": interval_ms, "renewed": True})
            return
        if peer is None and len(self.peers) >= MAX_PEERS:
            self._refuse(routing_id, Verdict.QUOTA, name, prefixes[0])
            return
        if self.access is not None:
            verdict, refused = self.access.policy.conflate(name, prefixes, interval_ms)
            if verdict is not Verdict.OK:
                self._refuse(routing_id, verdict, name, refused)
                return
        self.peers[routing_id] = ConflatedPeer(
            routing_id, name, prefixes, interval_ms / 1000, due=now, lease_until=now + LEASE_S
        )
        self.stats.registrations += 1
        self._reply(
            routing_id, REPLY_OK, {"interval_ms": interval_ms, "prefixes": [p.decode() for p in prefixes]}
        )

    def _refuse(self, routing_id: bytes, verdict: Verdict, name: str, prefix: bytes) -> None:
        self.stats.refused += 1
        self._reply(
            routing_id, REPLY_ERR, {"error": str(verdict), "message": request_refusal(verdict, name, prefix)}
        )

    def _reply(self, routing_id: bytes, kind: bytes, body: dict[str, Any]) -> bool:
        try:
            self.sock.send_multipart((routing_id, kind, msgpack.packb(body)), _NOBLOCK)
            return True
        except zmq.Again:
            return False
        except zmq.ZMQError:  # EHOSTUNREACH: the peer is gone already
            peer = self.peers.get(routing_id)
            if peer is not None:
                self._forget(peer)
            return False

    def _forget(self, peer: ConflatedPeer, expired: bool = False) -> None:
        self.peers.pop(peer.routing_id, None)
        if expired:
            self.stats.expired += 1
        if self.access is not None and peer.name:
            self.access.policy.conflation_ended(peer.name)

    # -- rounds --------------------------------------------------------------------------------

    def round(self, peer: ConflatedPeer) -> None:
        """Send ``peer`` the entitled topics whose value changed since its last round."""
        cache = self.last_value
        if len(cache) != peer.topics_seen:
            # New topics appeared: match them once, not on every round.
            peer.topics_seen = len(cache)
            prefixes = peer.prefixes
            peer.topics = [topic for topic in list(cache) if topic.startswith(prefixes)]
        sock, sent, routing_id = self.sock, peer.sent, peer.routing_id
        count = drops = 0
        full = False
        for topic in peer.topics:
            payload = cache.get(topic)
            if payload is None or sent.get(topic) is payload:
                continue
            if full:
                drops += 1  # its queue was full this round: the topic stays due
                continue
            try:
                # ROUTER_MANDATORY checks the peer's queue at the routing-id frame, so a full
                # queue fails before any frame of the message is queued.
                sock.send(routing_id, _NOBLOCK | _SNDMORE)
            except zmq.Again:
                full = True
                drops += 1
                continue
            except zmq.ZMQError:
                self._forget(peer)  # gone (EHOSTUNREACH)
                return
            sock.send(topic, _SNDMORE)
            sock.send(payload)
            sent[topic] = payload
            count += 1
        peer.rounds += 1
        peer.messages += count
        self.stats.rounds += 1
        self.stats.messages += count
        if drops:
            peer.drops += drops
            self.stats.drops += drops
            if self.access is not None and peer.name:
                self.access.policy.conflation_drops(peer.name, drops)
        # The round's end tells the client its drops; when even this cannot be queued, the
        # next one that can says the total.
        if not full:
            self._reply(routing_id, ROUND_END, {"round": peer.rounds, "sent": count, "drops": peer.drops})

    def clients(self) -> list[dict[str, Any]]:
        """The registered connections (for an open hub, whose clients have no names)."""
        return [
            {
                "name": peer.name,
                "prefixes": [p.decode(errors="replace") for p in peer.prefixes],
                "conflation_ms": round(peer.interval * 1000),
                "rounds": peer.rounds,
                "messages": peer.messages,
                "drops": peer.drops,
            }
            for peer in list(self.peers.values())
        ]
