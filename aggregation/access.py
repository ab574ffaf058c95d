"""Who may read the stream: CURVE identities, entitlements and quotas (docs/access.md).

Decided per connection and per request, never per tick:

* **Connection**: libzmq asks the ZAP handler (pyzmq's ``ThreadAuthenticator``, on its own
  thread) once per CURVE handshake; ``AccessPolicy.authenticate`` says yes for an enabled
  client's public key and names the connection with the client's name (its ``User-Id``).
* **Subscription**: the hub's XPUB runs with ``XPUB_MANUAL``; every (un)subscription message
  carries the peer's ``User-Id``, and ``AccessPolicy.subscribe`` decides whether the hub
  applies it (entitled prefix, subscription quota). A refused one is never applied: the
  XPUB sends that peer nothing for it.
* **Request** (snapshot, gap fill, resume): ``AccessPolicy.request`` checks the prefix and a
  per-client token bucket of requests per second.
* **Revocation**: ``StreamAccess.update`` swaps the table; a client that is gone, disabled or
  re-keyed has its connections shut (``ConnectionWatch``), and ZAP refuses its reconnects.

The tick path never calls into this module. No Django import.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import zmq
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85
from zmq.utils.monitor import recv_monitor_message

from aggregation.curve import INTERNAL_CLIENT, ZAP_DOMAIN, CurveKeys

log = logging.getLogger("mdhub.access")

# Topics a client may be entitled to: what the hub publishes.
TOPIC_ROOTS = (b"tick.", b"bar.", b"greeks.")
MAX_TOPIC = 255
# The refusals' error codes, in snapshot and recovery ERR replies (docs/wire-protocol.md).
ERR_FORBIDDEN = "forbidden"
ERR_QUOTA = "quota"


class Verdict(StrEnum):
    OK = "ok"
    FORBIDDEN = "forbidden"  # outside the client's prefixes, or no such (enabled) client
    QUOTA = "quota"  # past one of the client's quotas


@dataclass(frozen=True, slots=True)
class Quotas:
    max_subscriptions: int = 200
    max_upstream: int = 50
    requests_per_second: float = 5.0


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """One stream client as the operators manage it (the ``clients_access`` app's row)."""

    name: str
    public_key: str  # Z85
    enabled: bool = True
    prefixes: tuple[str, ...] = ("tick.",)
    quotas: Quotas = Quotas()

    def allows(self, prefix: bytes) -> bool:
        """Whether a subscription or request for ``prefix`` stays inside the entitlements: it
        must be at least as narrow as one allowed prefix (``tick.rb2601.SHFE`` under ``tick.rb``;
        ``tick.`` is wider than ``tick.rb`` and so refused)."""
        return any(prefix.startswith(allowed.encode()) for allowed in self.prefixes)


@dataclass(slots=True)
class ClientActivity:
    """What the hub saw of one client since it started (the connected-clients list)."""

    name: str
    addresses: set[str] = field(default_factory=set)
    connections: int = 0
    subscriptions: set[bytes] = field(default_factory=set)
    upstream: set[str] = field(default_factory=set)
    refused_subscriptions: int = 0
    requests: int = 0
    refused_requests: int = 0
    quota_refusals: int = 0
    drops: int = 0  # conflated messages it could not take (its queue was full)
    conflation_ms: int = 0
    last_activity: float = 0.0  # wall clock, s
    tokens: float = 0.0
    tokens_at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "addresses": sorted(self.addresses),
            "connections": self.connections,
            "subscriptions": sorted(t.decode(errors="replace") for t in self.subscriptions),
            "upstream": len(self.upstream),
            "refused_subscriptions": self.refused_subscriptions,
            "requests": self.requests,
            "refused_requests": self.refused_requests,
            "quota_refusals": self.quota_refusals,
            "drops": self.drops,
            "conflation_ms": self.conflation_ms,
            "last_activity": self.last_activity,
        }


@dataclass(slots=True)
class AccessStats:
    accepted_connections: int = 0
    refused_connections: int = 0
    refused_subscriptions: int = 0
    refused_requests: int = 0
    quota_refusals: int = 0
    cut_off: int = 0  # connections shut because their client was revoked


class AccessPolicy:
    """The identity table and each client's counters. Thread-safe: the ZAP thread, the hub's
    thread, the recovery thread and the command receiver call it (one short lock)."""

    def __init__(
        self,
        identities: Iterable[ClientIdentity] = (),
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock, self.wall_clock = clock, wall_clock
        self._lock = threading.Lock()
        self._by_key: dict[str, ClientIdentity] = {}
        self._by_name: dict[str, ClientIdentity] = {}
        self.activity: dict[str, ClientActivity] = {}
        self.stats = AccessStats()
        self.update(identities)

    def update(self, identities: Iterable[ClientIdentity]) -> list[ClientIdentity]:
        """Take a new table; returns the clients whose access ended (deleted, disabled or
        re-keyed): their connections must be cut."""
        table = {i.name: i for i in identities}
        with self._lock:
            revoked = [
                old
                for name, old in self._by_name.items()
                if old.enabled
                and ((new := table.get(name)) is None or not new.enabled or new.public_key != old.public_key)
            ]
            self._by_name = table
            self._by_key = {i.public_key: i for i in table.values() if i.enabled}
            for old in revoked:
                activity = self.activity.get(old.name)
                if activity is not None:
                    activity.subscriptions.clear()
        return revoked

    def _activity(self, name: str) -> ClientActivity:
        activity = self.activity.get(name)
        if activity is None:
            activity = self.activity[name] = ClientActivity(name)
        activity.last_activity = self.wall_clock()
        return activity

    def enabled(self, name: str) -> ClientIdentity | None:
        identity = self._by_name.get(name)
        return identity if identity is not None and identity.enabled else None

    # -- per connection (ZAP thread) ---------------------------------------------------------

    def authenticate(self, public_key: str, address: str) -> str | None:
        """The client's name when ``public_key`` belongs to an enabled client, else None."""
        with self._lock:
            identity = self._by_key.get(public_key)
            if identity is None:
                self.stats.refused_connections += 1
                return None
            self.stats.accepted_connections += 1
            activity = self._activity(identity.name)
            activity.connections += 1
            activity.addresses.add(address)
            return identity.name

    # -- per subscription (hub thread) -------------------------------------------------------

    def subscribe(self, name: str, topic: bytes) -> Verdict:
        with self._lock:
            identity = self.enabled(name)
            if identity is None or not identity.allows(topic) or len(topic) > MAX_TOPIC:
                self.stats.refused_subscriptions += 1
                if identity is not None:
                    self._activity(name).refused_subscriptions += 1
                return Verdict.FORBIDDEN
            activity = self._activity(name)
            if topic not in activity.subscriptions:
                if len(activity.subscriptions) >= identity.quotas.max_subscriptions:
                    activity.quota_refusals += 1
                    self.stats.quota_refusals += 1
                    return Verdict.QUOTA
                activity.subscriptions.add(topic)
            return Verdict.OK

    def unsubscribe(self, name: str, topic: bytes) -> None:
        with self._lock:
            activity = self.activity.get(name)
            if activity is not None:
                activity.subscriptions.discard(topic)

    def upstream(self, name: str, vt_symbol: str) -> Verdict:
        """May this client's subscription make the hub subscribe ``vt_symbol`` upstream?"""
        with self._lock:
            identity = self.enabled(name)
            if identity is None:
                return Verdict.FORBIDDEN
            activity = self._activity(name)
            if vt_symbol not in activity.upstream:
                if len(activity.upstream) >= identity.quotas.max_upstream:
                    activity.quota_refusals += 1
                    self.stats.quota_refusals += 1
                    return Verdict.QUOTA
                activity.upstream.add(vt_symbol)
            return Verdict.OK

    # -- per request (hub and recovery threads) ----------------------------------------------

    def request(self, name: str, prefix: bytes) -> Verdict:
        """A snapshot, fill or resume request for ``prefix``: entitled, and within the client's
        requests per second (a token bucket holding up to one second's worth)."""
        with self._lock:
            identity = self.enabled(name)
            if identity is None or not identity.allows(prefix):
                self.stats.refused_requests += 1
                if identity is not None:
                    self._activity(name).refused_requests += 1
                return Verdict.FORBIDDEN
            activity = self._activity(name)
            rate = identity.quotas.requests_per_second
            now = self.clock()
            if activity.tokens_at == 0.0:
                activity.tokens = max(rate, 1.0)
            else:
                activity.tokens = min(max(rate, 1.0), activity.tokens + (now - activity.tokens_at) * rate)
            activity.tokens_at = now
            if activity.tokens < 1.0:
                activity.quota_refusals += 1
                self.stats.quota_refusals += 1
                return Verdict.QUOTA
            activity.tokens -= 1.0
            activity.requests += 1
            return Verdict.OK

    # -- conflation (aggregation.conflation's thread) -----------------------------------------

    def conflate(self, name: str, prefixes: tuple[bytes, ...], interval_ms: int) -> tuple[Verdict, bytes]:
        """A conflated registration: every prefix entitled, within the subscription quota, and
        one request of the client's requests per second. Returns the verdict and the prefix
        it is about (the first refused one)."""
        first = prefixes[0]
        for prefix in prefixes:
            if len(prefix) > MAX_TOPIC or self.enabled(name) is None:
                return self._refuse_request(name), prefix
            identity = self.enabled(name)
            if identity is not None and not identity.allows(prefix):
                return self._refuse_request(name), prefix
        verdict = self.request(name, first)
        if verdict is not Verdict.OK:
            return verdict, first
        with self._lock:
            identity = self.enabled(name)
            activity = self._activity(name)
            fresh = [f"conflated:{p.decode(errors='replace')}".encode() for p in prefixes]
            new = [t for t in fresh if t not in activity.subscriptions]
            if identity is None or len(activity.subscriptions) + len(new) > identity.quotas.max_subscriptions:
                activity.quota_refusals += 1
                self.stats.quota_refusals += 1
                return Verdict.QUOTA, first
            activity.subscriptions.update(new)
            activity.conflation_ms = interval_ms
        return Verdict.OK, first

    def _refuse_request(self, name: str) -> Verdict:
        with self._lock:
            self.stats.refused_requests += 1
            if self.enabled(name) is not None:
                self._activity(name).refused_requests += 1
        return Verdict.FORBIDDEN

    def conflation_drops(self, name: str, drops: int) -> None:
        with self._lock:
            activity = self.activity.get(name)
            if activity is not None:
                activity.drops += drops

    def conflation_ended(self, name: str) -> None:
        with self._lock:
            activity = self.activity.get(name)
            if activity is not None:
                activity.conflation_ms = 0
                kept = {t for t in activity.subscriptions if not t.startswith(b"conflated:")}
                activity.subscriptions = kept

    def clients(self) -> list[dict[str, Any]]:
        """Every client seen since the hub started, for the status document."""
        with self._lock:
            rows = []
            for name, activity in sorted(self.activity.items()):
                row = activity.as_dict()
                row["enabled"] = self.enabled(name) is not None
                rows.append(row)
            return rows


def request_refusal(verdict: Verdict, name: str, prefix: bytes) -> str:
    """The message a refused request gets (no key material in it)."""
    what = prefix.decode(errors="replace")
    if verdict is Verdict.QUOTA:
        return f"client {name or '?'}: too many requests per second; retry later"
    return f"client {name or '?'} is not entitled to {what}"


class _Authenticator(ThreadAuthenticator):
    """pyzmq's ZAP handler with our policy as its CURVE credentials callback; the ZAP
    request's peer address is kept for the client's activity."""

    def __init__(self, ctx: zmq.Context[Any], policy: AccessPolicy) -> None:
        super().__init__(ctx, log=logging.getLogger("mdhub.access.zap"))
        self.policy = policy
        self._address = ""
        self._names: dict[bytes, str] = {}

    async def handle_zap_message(self, msg: list[bytes]) -> None:
        # [version, request id, domain, address, identity, mechanism, credentials...]
        self._address = msg[3].decode(errors="replace") if len(msg) > 3 else ""
        await super().handle_zap_message(msg)

    def callback(self, domain: str, key: bytes) -> bool:
        name = self.policy.authenticate(key.decode(), self._address)
        if name is None:
            log.warning("refused a stream connection from %s: unknown or disabled key", self._address)
            return False
        self._names[z85.decode(key)] = name
        return True

    def curve_user_id(self, client_public_key: bytes) -> str:
        # The connection's User-Id: every message it sends carries the client's name.
        return self._names.pop(client_public_key, "")


class ConnectionWatch:
    """Knows each accepted TCP connection of the watched sockets (socket monitors) and can
    shut those from given addresses. libzmq has no "drop this peer" call, and its events
    say the file descriptor, not the CURVE key, so a revoked client is cut off by address:
    other clients on that host are dropped too and are back within ZeroMQ's reconnect
    interval (their keys still pass ZAP); their clients fill the gap from the journal."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._monitors: list[tuple[str, zmq.Socket[Any], zmq.Socket[Any]]] = []
        self._peers: dict[tuple[str, int], tuple[str, int]] = {}  # (socket, fd) → peer
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.handshake_failures = 0

    def watch(self, name: str, sock: zmq.Socket[Any]) -> None:
        events = (
            zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CLOSED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
        )
        self._monitors.append((name, sock, sock.get_monitor_socket(events)))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mdhub-access-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        poller = zmq.Poller()
        for _, _, monitor in self._monitors:
            poller.register(monitor, zmq.POLLIN)
        names = {monitor: name for name, _, monitor in self._monitors}
        while not self._stop.is_set():
            for monitor, _ in poller.poll(100):
                try:
                    event = recv_monitor_message(monitor, zmq.NOBLOCK)
                except zmq.ZMQError:
                    continue
                self._on_event(names[monitor], event)

    def _on_event(self, name: str, event: dict[str, Any]) -> None:
        kind, fd = event["event"], event["value"]
        if kind == zmq.EVENT_ACCEPTED:
            try:
                with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as dup:
                    host, port = dup.getpeername()[:2]
            except OSError:
                return
            with self._lock:
                self._peers[(name, fd)] = (host, port)
        elif kind in (zmq.EVENT_DISCONNECTED, zmq.EVENT_CLOSED):
            with self._lock:
                self._peers.pop((name, fd), None)
        elif kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            self.handshake_failures += 1

    def open_from(self, addresses: set[str]) -> int:
        """How many watched connections are open now from one of ``addresses``."""
        with self._lock:
            return sum(1 for host, _ in self._peers.values() if host in addresses)

    def cut_off(self, addresses: set[str]) -> int:
        """Shut every watched connection from one of ``addresses``; returns how many."""
        with self._lock:
            targets = [(key, peer) for key, peer in self._peers.items() if peer[0] in addresses]
        shut = 0
        for (_name, fd), peer in targets:
            try:
                # A duplicate of libzmq's descriptor: shutdown ends the connection for both,
                # close only drops our copy. The peer is checked again so that a descriptor
                # number reused by another connection since the event is never touched.
                with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as dup:
                    if dup.getpeername()[:2] != peer:
                        continue
                    dup.shutdown(socket.SHUT_RDWR)
                    shut += 1
            except OSError:
                continue
        return shut

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        for _, sock, monitor in self._monitors:
            with contextlib.suppress(zmq.ZMQError):
                sock.disable_monitor()
            monitor.close(linger=0)
        self._monitors.clear()


# The hub's own readers: everything it publishes, and quotas no real reader reaches (a
# service subscribes its prefixes; the bridge everything; their requests are fills).
INTERNAL_QUOTAS = Quotas(max_subscriptions=10_000, max_upstream=10_000, requests_per_second=1_000.0)


def internal_identity(keys: CurveKeys) -> ClientIdentity:
    return ClientIdentity(
        INTERNAL_CLIENT, keys.public, prefixes=tuple(r.decode() for r in TOPIC_ROOTS), quotas=INTERNAL_QUOTAS
    )


class StreamAccess:
    """CURVE + ZAP + entitlements for the hub's sockets: the server key, the policy, the ZAP
    thread and the connection watch. ``start`` before the sockets bind; ``watch`` each one.

    ``internal``: the key pair of the hub's own readers (``internal_identity``), always in
    the table whatever the operators' table says: a ``clients.changed`` cannot cut them off."""

    def __init__(
        self, keys: CurveKeys, identities: Iterable[ClientIdentity] = (), internal: CurveKeys | None = None
    ) -> None:
        self.keys = keys
        self.internal = internal_identity(internal) if internal is not None else None
        self.policy = AccessPolicy(self._with_internal(identities))
        self.watcher = ConnectionWatch()
        self._auth: _Authenticator | None = None

    def start(self, ctx: zmq.Context[Any]) -> None:
        self._auth = _Authenticator(ctx, self.policy)
        self._auth.start()
        self._auth.configure_curve_callback(ZAP_DOMAIN.decode(), credentials_provider=self._auth)

    def watch(self, name: str, sock: zmq.Socket[Any]) -> None:
        self.watcher.watch(name, sock)

    def begin(self) -> None:
        """Start watching connections (after every socket is bound and watched)."""
        self.watcher.start()

    def update(self, identities: Iterable[ClientIdentity]) -> list[str]:
        """A new identity table (``clients.changed``); cuts off the revoked clients at once.
        Thread-safe; called off the tick path."""
        revoked = self.policy.update(self._with_internal(identities))
        names = []
        for identity in revoked:
            activity = self.policy.activity.get(identity.name)
            addresses = set(activity.addresses) if activity is not None else set()
            shut = self.watcher.cut_off(addresses) if addresses else 0
            self.policy.stats.cut_off += shut
            log.info("stream client %s revoked: %d connection(s) shut", identity.name, shut)
            names.append(identity.name)
        return names

    def clients(self) -> list[dict[str, Any]]:
        """The policy's rows, each with the connections open now from its addresses."""
        rows = self.policy.clients()
        for row in rows:
            row["open_connections"] = self.watcher.open_from(set(row["addresses"]))
        return rows

    def _with_internal(self, identities: Iterable[ClientIdentity]) -> list[ClientIdentity]:
        # An operator's row under the reserved name is ignored (the model refuses it too).
        table = [i for i in identities if i.name != INTERNAL_CLIENT]
        return [*table, self.internal] if self.internal is not None else table

    def close(self) -> None:
        self.watcher.close()
        if self._auth is not None:
            self._auth.stop()
            self._auth = None


def user_id(frame: zmq.Frame) -> str:
    """The authenticated client name a message carries ("" when it has none, e.g. the
    unsubscriptions libzmq makes up for a peer that went away)."""
    try:
        return str(frame.get("User-Id") or "")
    except zmq.ZMQError:
        return ""
