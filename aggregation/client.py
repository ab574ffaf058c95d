"""Read the hub's tick stream: the client library strategies use (DESIGN §3, docs/client.md).

    with HubClient(HubAddress("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556"), ["rb"]) as client:
        for tick in client:
            ...

    python -m aggregation.client rb --count 10        # the same, printed

pyzmq and msgpack only, no Django import: a strategy needs neither Django nor the hub's
settings (vn.py only for ``as_tick_data=True``).

What it guarantees, per hub and topic (docs/wire-protocol.md):

* **Snapshot, then live, no gap, no duplicate** (the ZeroMQ Guide's Clone pattern). The SUB
  subscribes first; once its connection is up, a DEALER asks the hub's snapshot ROUTER for
  the last value of every subscribed prefix. Live ticks wait in the SUB's queue meanwhile;
  those whose ``seq`` is not past the snapshot's are dropped (``stale_dropped``).
* **Gap fill** (with the hub's recovery address): a gap in ``seq`` is filled from the hub's
  journal: the client asks for exactly the missing range of that topic, holds that topic's
  live ticks meanwhile and delivers the fill, then the held ticks: no gap, no duplicate, in
  order (Aeron's ReplayMerge). What the journal cannot give (a hole) is a gap.
* **Resume**: ``resume=client.positions()`` (saved by a previous run) or ``resume_since_ns``
  asks the journal for everything after those positions, or after that exchange time, before
  going live; a hub that restarted (a new ``epoch``) is asked for what followed the last
  tick of its previous run, so a restart costs no ticks the journal holds.
* **Gaps** that could not be filled are counted (``gaps``) and reported to ``on_gap``.
* **Reconnects by itself**: ZeroMQ reconnects TCP on its own; heartbeats find a dead peer; a
  refused CURVE handshake (a key the hub has not loaded yet), after which libzmq gives up, is
  tried again with a backoff up to 5 s (``aggregation.handshake_retry``); after every
  reconnect the client takes a new snapshot (it catches up on the last values); a hub that
  restarted (a new ``epoch``; a hub without epochs: its ``seq`` starts again at 1) is
  followed, not mistaken for old data.
* **Several hubs**: their streams are merged and the copies of one exchange snapshot are
  delivered once, first arrival wins (``aggregation.dedup``), keyed by content because each
  hub numbers its ticks its own way.

Not thread-safe (ZeroMQ sockets are not): use a client from one thread.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, overload

import zmq

from aggregation import records, wire
from aggregation.conflation_client import ConflatedReader
from aggregation.curve import CurveKeys, make_client
from aggregation.dedup import FirstArrival
from aggregation.exchange_time import CHINA_TZ
from aggregation.handshake_retry import REFUSED_EVENTS, RETRY_MAX_S, Redial, describe, monitor_events

if TYPE_CHECKING:
    from vnpy.trader.object import TickData

log = logging.getLogger("mdhub.client")

DEFAULT_PUB = "tcp://127.0.0.1:5555"
DEFAULT_SNAPSHOT = "tcp://127.0.0.1:5556"
DEFAULT_RECOVERY = "tcp://127.0.0.1:5557"
# How long a fill or resume request may take before the client gives up on it (the gap is
# then reported) and goes on.
FILL_TIMEOUT = 5.0
ALL = "tick."
SNAPSHOT_TIMEOUT = 3.0
# ZeroMQ retries a lost TCP connection by itself, first quickly, then backing off to this.
RECONNECT_IVL_MS = 100
RECONNECT_IVL_MAX_MS = 5_000
# Without heartbeats a hub whose machine died (no FIN, no RST) looks connected forever.
HEARTBEAT_IVL_MS = 1_000
HEARTBEAT_TIMEOUT_MS = 5_000
# Messages read from one hub per poll: enough to amortise the poll, few enough that one
# busy hub does not starve the others.
BATCH = 1_000
# A hub seen restarting without a reconnect (behind a proxy) gets a new snapshot, but one
# snapshot covers every topic of that restart, so not again within this many seconds.
RESNAPSHOT_INTERVAL = 10.0
CHINA = CHINA_TZ

GapHandler = Callable[["HubAddress", str, int, int], object]
# Per hub (its PUB address), per topic: (epoch, seq) of the last tick delivered.
Positions = Mapping[str, Mapping[str, tuple[int, int]]]

# How a tick reached ``_admit``.
LIVE, SNAPSHOT, RECOVERED, REPLAY = "live", "snapshot", "recovered", "replay"


@dataclass(frozen=True, slots=True)
class HubAddress:
    """Where one hub serves: its tick PUB and, optionally, its snapshot ROUTER and its
    recovery ROUTER (gap fill and resume from the journal)."""

    pub: str
    snapshot: str | None = None
    recovery: str | None = None
    # The hub's CURVE public key (Z85, docs/access.md); None: a hub without CURVE.
    server_key: str | None = None
    # Its conflation ROUTER ("the latest per contract every N ms", docs/access.md), for
    # ``HubClient(..., conflate_ms=N)``.
    conflate: str | None = None

    def __post_init__(self) -> None:
        for endpoint in (self.pub, self.snapshot, self.recovery, self.conflate):
            if endpoint is not None and "://" not in endpoint:
                raise ValueError(
                    f"{endpoint!r} is not a ZeroMQ endpoint: write it with its transport, "
                    f"e.g. tcp://{endpoint or '127.0.0.1:5555'}"
                )

    @classmethod
    def parse(cls, spec: str) -> HubAddress:
        """``"tcp://h:5555,tcp://h:5556,tcp://h:5557"`` → pub, snapshot and recovery;
        ``"tcp://h:5555,tcp://h:5556"`` → pub and snapshot; ``"tcp://h:5555"`` → pub only;
        a fourth address is the conflation endpoint (``tcp://h:5558``)."""
        pub, _, rest = spec.partition(",")
        snapshot, _, rest = rest.partition(",")
        recovery, _, conflate = rest.partition(",")
        return cls(
            pub.strip(), snapshot.strip() or None, recovery.strip() or None, conflate=conflate.strip() or None
        )

    def __str__(self) -> str:
        return self.pub


def normalise_topic(topic: str) -> str:
    """The topic prefix a subscription string stands for.

    ``"rb2601.SHFE"`` and ``"tick.rb2601.SHFE"`` → ``"tick.rb2601.SHFE"``; ``"rb"`` →
    ``"tick.rb"``; ``""``, ``"tick"`` and ``"tick."`` → ``"tick."`` (everything). The data
    services' records are their own topics: ``"bar.1m.rb2601.SHFE"``, ``"bar.5s."``,
    ``"greeks."`` stay as they are, and ``"bar"`` / ``"greeks"`` mean all of them.
    """
    text = topic.strip()
    if any(c.isspace() for c in text):
        raise ValueError(f"topic {topic!r} has a space in it: give one symbol or prefix per topic")
    if text in ("", "tick", ALL):
        return ALL
    if text in _RECORD_ROOTS:
        return text + "."
    if text.startswith(ALL) or text.startswith(_RECORD_PREFIXES):
        return text
    return ALL + text


# ``bar.`` and ``greeks.`` (aggregation.records), as text.
_RECORD_PREFIXES = tuple(p.decode() for p in records.RECORD_PREFIXES)
_RECORD_ROOTS = frozenset(p.rstrip(".") for p in _RECORD_PREFIXES)


def _is_product(text: str) -> bool:
    return text.isascii() and text.isalpha() and text != "tick" and text not in _RECORD_ROOTS


def _product_of(topic: bytes) -> str:
    """``b"tick.rb2601.SHFE"`` → ``"rb"``, ``b"tick.IO2601-C-4000.CFFEX"`` → ``"IO"``."""
    symbol = topic[len(wire.TOPIC_PREFIX) :]
    end = 0
    while end < len(symbol) and (0x41 <= symbol[end] <= 0x5A or 0x61 <= symbol[end] <= 0x7A):
        end += 1
    return symbol[:end].decode("ascii")


@dataclass(frozen=True, slots=True)
class Subscription:
    """What a client asked for.

    A bare product code (letters only: ``"rb"``, ``"IF"``, ``"a"``) means that product exactly:
    ``"a"`` (DCE soybean No. 1) does not bring ``ag`` or ``au``, though the ZeroMQ prefix
    ``tick.a`` does, so the client filters those out. Anything else is a plain prefix of the
    topic: a contract (``"rb2601.SHFE"``), or a raw prefix (``"tick.a"`` brings ag and au too).
    """

    # What the SUB subscribes to and the snapshot asks for: none is covered by another, so
    # no snapshot entry comes twice.
    prefixes: tuple[bytes, ...]
    raw: tuple[bytes, ...]
    products: frozenset[str]

    @classmethod
    def parse(cls, topics: Sequence[str]) -> Subscription:
        if isinstance(topics, str):
            topics = [topics]
        if not topics:
            raise ValueError(
                'no topics: pass symbols or prefixes, e.g. ["rb2601.SHFE", "au"], or [""] for all'
            )
        raw: set[bytes] = set()
        products: set[str] = set()
        for topic in topics:
            prefix = normalise_topic(topic)
            if _is_product(topic.strip()):
                products.add(topic.strip())
            else:
                raw.add(prefix.encode())
        wanted = raw | {wire.TOPIC_PREFIX + p.encode() for p in products}
        prefixes = tuple(sorted(p for p in wanted if not any(p != q and p.startswith(q) for q in wanted)))
        return cls(prefixes, tuple(sorted(raw)), frozenset(products))

    def wants(self, topic: bytes) -> bool:
        return any(topic.startswith(p) for p in self.raw) or _product_of(topic) in self.products


@dataclass(slots=True)
class _Last:
    """The last tick taken from one hub on one topic."""

    epoch: int
    seq: int
    time: int


@dataclass(slots=True)
class _Request:
    """A FILL or AFTER request in flight on a hub's recovery DEALER."""

    id: int
    kind: bytes
    body: dict[str, Any]
    deadline: float
    # The topic whose live ticks wait for this request (None: the startup resume).
    topic: bytes | None = None
    items: list[tuple[bytes, bytes]] = field(default_factory=list)
    # Live ticks of ``topic`` that came while the request was in flight, with their mode.
    held: list[tuple[dict[str, Any], str]] = field(default_factory=list)


@dataclass(slots=True)
class _Snapshot:
    dealer: zmq.Socket[bytes]
    deadline: float
    pending: int
    announced: int = 0
    items: list[tuple[bytes, bytes]] = field(default_factory=list)


@dataclass(slots=True)
class _Hub:
    address: HubAddress
    sub: zmq.Socket[bytes]
    monitor: zmq.Socket[bytes]
    label: str
    # Live ticks are left in the SUB's queue while a snapshot is under way (Clone pattern).
    paused: bool = False
    connected: bool = False
    ever_connected: bool = False
    snap: _Snapshot | None = None
    snapshot_wanted: bool = False
    last_snapshot: float = -math.inf
    seqs: dict[bytes, _Last] = field(default_factory=dict)
    recovery: zmq.Socket[bytes] | None = None
    requests: dict[int, _Request] = field(default_factory=dict)
    # Topic → its fill or restart request in flight (its live ticks are held there).
    filling: dict[bytes, _Request] = field(default_factory=dict)
    resume_wanted: bool = False
    # Topics filled from seq 1 on first sight, of which only ticks after resume_since_ns count.
    since_topics: set[bytes] = field(default_factory=set)
    resuming: int = 0
    recovery_monitor: zmq.Socket[bytes] | None = None
    # Per monitor socket (the SUB's, the recovery DEALER's): its socket, dialled again after a
    # refused handshake.
    redials: dict[zmq.Socket[bytes], Redial] = field(default_factory=dict)
    # In a streak of refusals: warned once, until a handshake passes.
    refused: bool = False


class HubClient[T]:
    """Ticks from one or more hubs, snapshot first, then live (see the module docstring).

    ``hubs``: one ``HubAddress`` or several (merged, each tick delivered once). ``topics``:
    symbols (``"rb2601.SHFE"``), product codes (``"rb"``), raw topic prefixes
    (``"tick.rb"``) or ``""`` for everything. ``snapshot=False`` starts with the next live
    tick instead. ``as_tick_data=True`` yields vn.py ``TickData``, otherwise the decoded
    payload dicts (vn.py field names, ``datetime`` in epoch ns, plus ``source``, ``seq``,
    ``recv_ns``). ``on_gap(hub, topic, expected_seq, got_seq)`` is called for every gap, on
    the thread that calls ``recv``. ``rcvhwm`` bounds the ticks ZeroMQ queues per hub when
    the caller falls behind; past it the hub drops them for this client, which then shows
    up as gaps (filled from the journal when the hub has a recovery address). An exception
    raised by ``on_gap`` is logged, and the stream goes on.

    Recovery (hubs with a ``recovery`` address; ``recover=False`` turns it off): gaps are
    filled and hub restarts bridged from the hub's journal. ``resume``: positions from an
    earlier client's ``positions()``, to go on after them; ``resume_since_ns``: also (or
    instead) take every journaled tick after this exchange time (epoch ns, today) of the
    subscribed topics not in ``resume``. ``fill_timeout``: how long a request may take.

    Counters: ``received`` (messages read from all hubs), ``delivered`` (returned by
    ``recv``), ``duplicates`` (copies already delivered from another hub), ``late`` (copies
    older than what another hub already delivered), ``gaps`` (seqs skipped),
    ``stale_dropped`` (ticks not past the last one taken from that hub, e.g. live ticks the
    snapshot already covers), ``restarts`` (a hub's seq started again), ``snapshots``,
    ``snapshot_ticks``, ``snapshot_timeouts``, ``bad`` (undecodable messages),
    ``recovered`` (ticks delivered from a journal), ``fill_requests``, ``fill_failures``
    (requests that got an error or no answer: their range is reported as a gap),
    ``handshake_retries`` (sockets dialled again after the hub refused their handshake).
    """

    @overload
    def __init__(
        self: HubClient[dict[str, Any]],
        hubs: Sequence[HubAddress] | HubAddress,
        topics: Sequence[str],
        *,
        snapshot: bool = True,
        as_tick_data: Literal[False] = False,
        on_gap: GapHandler | None = None,
        rcvhwm: int = 100_000,
        snapshot_timeout: float = SNAPSHOT_TIMEOUT,
        context: zmq.Context[Any] | None = None,
        recover: bool = True,
        resume: Positions | None = None,
        resume_since_ns: int | None = None,
        fill_timeout: float = FILL_TIMEOUT,
        curve: CurveKeys | None = None,
        conflate_ms: int | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self: HubClient[TickData],
        hubs: Sequence[HubAddress] | HubAddress,
        topics: Sequence[str],
        *,
        snapshot: bool = True,
        as_tick_data: Literal[True],
        on_gap: GapHandler | None = None,
        rcvhwm: int = 100_000,
        snapshot_timeout: float = SNAPSHOT_TIMEOUT,
        context: zmq.Context[Any] | None = None,
        recover: bool = True,
        resume: Positions | None = None,
        resume_since_ns: int | None = None,
        fill_timeout: float = FILL_TIMEOUT,
        curve: CurveKeys | None = None,
        conflate_ms: int | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self: HubClient[dict[str, Any] | TickData],
        hubs: Sequence[HubAddress] | HubAddress,
        topics: Sequence[str],
        *,
        snapshot: bool = True,
        as_tick_data: bool,
        on_gap: GapHandler | None = None,
        rcvhwm: int = 100_000,
        snapshot_timeout: float = SNAPSHOT_TIMEOUT,
        context: zmq.Context[Any] | None = None,
        recover: bool = True,
        resume: Positions | None = None,
        resume_since_ns: int | None = None,
        fill_timeout: float = FILL_TIMEOUT,
        curve: CurveKeys | None = None,
        conflate_ms: int | None = None,
    ) -> None: ...

    def __init__(
        self,
        hubs: Sequence[HubAddress] | HubAddress,
        topics: Sequence[str],
        *,
        snapshot: bool = True,
        as_tick_data: bool = False,
        on_gap: GapHandler | None = None,
        rcvhwm: int = 100_000,
        snapshot_timeout: float = SNAPSHOT_TIMEOUT,
        context: zmq.Context[Any] | None = None,
        recover: bool = True,
        resume: Positions | None = None,
        resume_since_ns: int | None = None,
        fill_timeout: float = FILL_TIMEOUT,
        curve: CurveKeys | None = None,
        conflate_ms: int | None = None,
    ) -> None:
        addresses = [hubs] if isinstance(hubs, HubAddress) else list(hubs)
        if not addresses:
            raise ValueError("no hubs: pass HubAddress('tcp://host:5555', 'tcp://host:5556') for each hub")
        if len({a.pub for a in addresses}) != len(addresses):
            raise ValueError("the same hub is listed twice: give each hub's PUB address once")
        self.subscription = Subscription.parse(topics)
        # This client's CURVE key pair, for every hub that gives a ``server_key``.
        self.curve = curve
        if curve is None and any(a.server_key for a in addresses):
            raise ValueError("a hub has a server_key but no curve= key pair was given for this client")
        self.snapshot = snapshot
        self.snapshot_timeout = snapshot_timeout
        self.rcvhwm = rcvhwm
        self.on_gap = on_gap
        self._convert: Callable[[dict[str, Any]], Any] = wire.to_tick_data if as_tick_data else _identity
        # Bars become vn.py BarData with as_tick_data; Greeks have no vn.py class: dicts.
        self._convert_bar: Callable[[dict[str, Any]], Any] = (
            records.to_bar_data if as_tick_data else _identity
        )
        self._own_context = context is None
        self._ctx: zmq.Context[Any] = zmq.Context() if context is None else context
        self._poller = zmq.Poller()
        self._ready: deque[T] = deque()
        self._dedup = FirstArrival()
        self._wanted: dict[bytes, bool] = {}
        self._closed = False
        self.recover = recover
        self.fill_timeout = fill_timeout
        self.resume_since_ns = resume_since_ns
        self._resume_at: dict[str, dict[bytes, tuple[int, int]]] = {
            pub: {normalise_topic(t).encode(): (int(e), int(q)) for t, (e, q) in by_topic.items()}
            for pub, by_topic in (resume or {}).items()
        }
        self._next_id = 0
        # Tests only: drop a live message as if ZeroMQ had (``(topic, payload) -> drop?``).
        self._lose: Callable[[bytes, bytes], bool] | None = None

        self.received = 0
        self.delivered = 0
        self.duplicates = 0
        self.late = 0
        self.gaps = 0
        self.stale_dropped = 0
        self.restarts = 0
        self.snapshots = 0
        self.snapshot_ticks = 0
        self.snapshot_timeouts = 0
        self.snapshot_refusals = 0
        self.bad = 0
        self.recovered = 0
        self.fill_requests = 0
        self.fill_failures = 0
        self.handshake_retries = 0

        self._hubs: list[_Hub] = []
        # conflate_ms: rounds of each contract's newest value from the hubs' conflation
        # endpoints instead of every tick (aggregation.conflation_client); no SUB, no seq.
        self._conflated: ConflatedReader | None = None
        if conflate_ms is not None:
            missing = [a.pub for a in addresses if not a.conflate]
            if missing:
                raise ValueError(
                    "conflate_ms needs each hub's conflation endpoint: HubAddress(..., "
                    f"conflate='tcp://host:5558') for {', '.join(missing)}"
                )
            prefixes = self.subscription.prefixes
            self._conflated = ConflatedReader(self._ctx, prefixes, conflate_ms, rcvhwm=rcvhwm)
            for address in addresses:
                self._conflated.open(address.conflate or "", curve, address.server_key)
            return
        for address in addresses:
            try:
                self._open(address)
            except zmq.ZMQError as exc:
                self.close()
                raise ValueError(
                    f"cannot connect to {address.pub}: {exc.strerror}; write it as tcp://host:port"
                ) from exc

    # -- public API ------------------------------------------------------------------------

    @property
    def hubs(self) -> list[HubAddress]:
        return [hub.address for hub in self._hubs]

    @property
    def connected_hubs(self) -> list[HubAddress]:
        """The hubs whose tick connection is up now."""
        return [hub.address for hub in self._hubs if hub.connected]

    def recv(self, timeout: float | None = None) -> T | None:
        """The next tick; ``None`` when none came within ``timeout`` seconds (None: wait)."""
        if self._closed:
            raise RuntimeError("this HubClient is closed: create a new one")
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._conflated is not None:
            return self._recv_conflated(self._conflated, deadline)
        while not self._ready:
            self._step(deadline)
            if not self._ready and deadline is not None and time.monotonic() >= deadline:
                return None
        self.delivered += 1
        return self._ready.popleft()

    def _recv_conflated(self, reader: ConflatedReader, deadline: float | None) -> T | None:
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            got = reader.recv(left)
            if got is None:
                return None
            topic, fields = got
            self.received += 1
            if not self._wants(topic):
                continue
            self.delivered += 1
            if not records.is_record_topic(topic):
                return self._convert(fields)  # type: ignore[no-any-return]
            return self._convert_bar(fields) if records.is_bar_topic(topic) else fields  # type: ignore[return-value]

    def __iter__(self) -> Iterator[T]:
        while True:
            tick = self.recv(None)
            if tick is not None:
                yield tick

    def stats(self) -> dict[str, int]:
        names = ("received", "delivered", "duplicates", "late", "gaps", "stale_dropped", "restarts")
        more = ("snapshots", "snapshot_ticks", "snapshot_timeouts", "snapshot_refusals", "bad")
        recovery = ("recovered", "fill_requests", "fill_failures", "handshake_retries")
        counts = {name: getattr(self, name) for name in names + more + recovery}
        if self._conflated is not None:
            reader = self._conflated
            counts.update(conflated_rounds=reader.rounds, conflation_drops=reader.drops)
            counts["bad"] += reader.bad
            counts["duplicates"] += reader.duplicates
            counts["handshake_retries"] += reader.handshake_retries
        return counts

    def positions(self) -> dict[str, dict[str, tuple[int, int]]]:
        """Per hub (PUB address), per topic: ``(epoch, seq)`` of the last tick taken; save it
        and pass it as ``resume=`` to a later client to go on from there."""
        return {
            hub.address.pub: {topic.decode(): (last.epoch, last.seq) for topic, last in hub.seqs.items()}
            for hub in self._hubs
        }

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._conflated is not None:
            self._conflated.close()
        for hub in self._hubs:
            if hub.snap is not None:
                hub.snap.dealer.close(linger=0)
            if hub.recovery is not None:
                if hub.recovery_monitor is not None:
                    hub.recovery.disable_monitor()
                    hub.recovery_monitor.close(linger=0)
                hub.recovery.close(linger=0)
            hub.sub.disable_monitor()
            hub.monitor.close(linger=0)
            hub.sub.close(linger=0)
        if self._own_context:
            self._ctx.term()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- sockets ---------------------------------------------------------------------------

    def _open(self, address: HubAddress) -> None:
        sub: zmq.Socket[bytes] = self._ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        self._secure(sub, address)
        sub.setsockopt(zmq.RCVHWM, self.rcvhwm)
        sub.setsockopt(zmq.RECONNECT_IVL, RECONNECT_IVL_MS)
        sub.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_IVL_MAX_MS)
        sub.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
        sub.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
        # Asks the hub to drop this connection too when our heartbeats stop.
        sub.setsockopt(zmq.HEARTBEAT_TTL, HEARTBEAT_TIMEOUT_MS)
        # The monitor says when the connection is up (time to take a snapshot), lost, or
        # refused in its handshake (libzmq does not dial again then: we do).
        monitor: zmq.Socket[bytes] = sub.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED | REFUSED_EVENTS
        )
        hub = _Hub(address, sub, monitor, address.pub)
        self._hubs.append(hub)  # from now on close() closes its sockets
        hub.redials[monitor] = Redial(sub, address.pub)
        for prefix in self.subscription.prefixes:
            sub.setsockopt(zmq.SUBSCRIBE, prefix)
        sub.connect(address.pub)
        self._poller.register(monitor, zmq.POLLIN)
        if self.recover and address.recovery is not None:
            # One DEALER for the hub's life: replies carry the request id.
            dealer: zmq.Socket[bytes] = self._ctx.socket(zmq.DEALER)
            dealer.setsockopt(zmq.LINGER, 0)
            self._secure(dealer, address)
            dealer.setsockopt(zmq.RCVHWM, 0)
            dealer.setsockopt(zmq.RECONNECT_IVL, RECONNECT_IVL_MS)
            dealer.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_IVL_MAX_MS)
            dealer.connect(address.recovery)
            hub.recovery = dealer
            self._poller.register(dealer, zmq.POLLIN)
            if address.server_key:
                # Refused along with the SUB while the hub has not loaded our key, and made
                # once: it must be dialled again too.
                watch = dealer.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | REFUSED_EVENTS)
                hub.recovery_monitor = watch
                hub.redials[watch] = Redial(dealer, address.recovery)
                self._poller.register(watch, zmq.POLLIN)
            resume = self._resume_at.get(address.pub, {})
            hub.seqs.update((topic, _Last(epoch, seq, 0)) for topic, (epoch, seq) in resume.items())
            if hub.seqs or self.resume_since_ns is not None:
                hub.resume_wanted = True
        if self._snapshots_from(hub) or hub.resume_wanted:
            # Nothing is read before the first snapshot, so it comes first.
            hub.paused = True
        else:
            self._poller.register(sub, zmq.POLLIN)

    def _secure(self, sock: zmq.Socket[bytes], address: HubAddress) -> None:
        if address.server_key and self.curve is not None:
            make_client(sock, self.curve, address.server_key)

    def _snapshots_from(self, hub: _Hub) -> bool:
        return self.snapshot and hub.address.snapshot is not None

    def _recovers(self, hub: _Hub) -> bool:
        return hub.recovery is not None

    def _step(self, deadline: float | None) -> None:
        """Wait for one round of socket events (or the next timer) and handle it."""
        now = time.monotonic()
        until = math.inf if deadline is None else deadline
        for hub in self._hubs:
            if hub.snap is not None:
                until = min(until, hub.snap.deadline)
            for request in hub.requests.values():
                until = min(until, request.deadline)
            for redial in hub.redials.values():
                until = min(until, redial.due)
        timeout_ms = None if until == math.inf else max(0, math.ceil((until - now) * 1000))
        events = dict(self._poller.poll(timeout_ms))
        # Connection events first: a new connection must pause its SUB before it is read.
        for hub in self._hubs:
            if hub.monitor in events:
                self._on_monitor(hub)
            if hub.recovery_monitor is not None and hub.recovery_monitor in events:
                self._on_recovery_monitor(hub, hub.recovery_monitor)
        for hub in self._hubs:
            if hub.snap is not None and hub.snap.dealer in events:
                self._on_snapshot_reply(hub)
            if hub.recovery is not None and hub.recovery in events:
                self._on_recovery_reply(hub)
        for hub in self._hubs:
            if not hub.paused and hub.sub in events:
                self._drain(hub, BATCH)
        now = time.monotonic()
        for hub in self._hubs:
            if hub.snap is not None and now >= hub.snap.deadline:
                self._finish_snapshot(hub, timed_out=True)
            for request in [r for r in hub.requests.values() if now >= r.deadline]:
                self._request_failed(hub, request, f"no answer within {self.fill_timeout:.1f} s")
            if hub.snapshot_wanted:
                self._start_snapshot(hub)
            for redial in hub.redials.values():
                if redial.redial(now):
                    self.handshake_retries += 1

    def _on_monitor(self, hub: _Hub) -> None:
        for event in monitor_events(hub.monitor):
            if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                log.info("connected to hub %s", hub.label)
                hub.connected = True
                # Before a resume's requests go out: a refused recovery DEALER is dialled now.
                self._accepted(hub, hub.monitor)
                if hub.resume_wanted:
                    # The SUB is subscribed and connected: every tick published after the
                    # journal is read reaches its queue, which waits (paused) meanwhile.
                    hub.resume_wanted = False
                    self._pause(hub)
                    self._start_resume(hub)
                elif hub.resuming:
                    pass  # the resume's end takes the snapshot
                elif self._snapshots_from(hub):
                    if hub.ever_connected:
                        # Ticks from before the connection was lost are still queued: deliver
                        # them now, before the snapshot makes them look stale.
                        self._drain(hub, None)
                    self._pause(hub)
                    hub.snapshot_wanted = True
                hub.ever_connected = True
            elif event["event"] & REFUSED_EVENTS:
                self._refused(hub, hub.monitor, event["event"], event["value"])
            elif event["event"] == zmq.EVENT_DISCONNECTED:
                # Not after a refused handshake: that connection was never up.
                if hub.connected:
                    log.warning("lost the connection to hub %s; ZeroMQ reconnects by itself", hub.label)
                hub.connected = False

    def _on_recovery_monitor(self, hub: _Hub, monitor: zmq.Socket[bytes]) -> None:
        for event in monitor_events(monitor):
            if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._accepted(hub, monitor)
            elif event["event"] & REFUSED_EVENTS:
                self._refused(hub, monitor, event["event"], event["value"])

    def _refused(self, hub: _Hub, monitor: zmq.Socket[bytes], event: int, value: int) -> None:
        hub.redials[monitor].refused(time.monotonic())
        if not hub.refused:
            hub.refused = True
            log.warning(
                "hub %s refused this client's handshake (%s); trying again, every %.0f s at most",
                hub.label,
                describe(event, value),
                RETRY_MAX_S,
            )

    def _accepted(self, hub: _Hub, monitor: zmq.Socket[bytes]) -> None:
        hub.redials[monitor].accepted()
        if not hub.refused:
            return
        hub.refused = False
        log.info("hub %s accepted this client's handshake after refusing it", hub.label)
        # Our key passes now: the hub's other refused socket need not wait out its backoff.
        for redial in hub.redials.values():
            if redial.redial(time.monotonic(), early=True):
                self.handshake_retries += 1

    def _pause(self, hub: _Hub) -> None:
        if not hub.paused:
            self._poller.unregister(hub.sub)
            hub.paused = True

    def _resume(self, hub: _Hub) -> None:
        if hub.paused:
            self._poller.register(hub.sub, zmq.POLLIN)
            hub.paused = False

    def _drain(self, hub: _Hub, limit: int | None) -> None:
        count = 0
        while limit is None or count < limit:
            try:
                frames = hub.sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            count += 1
            if len(frames) != 2:
                self.bad += 1
                continue
            if self._lose is not None and self._lose(frames[0], frames[1]):
                continue
            self._take(hub, frames[0], frames[1], LIVE)

    # -- snapshot (Clone pattern) ------------------------------------------------------------

    def _start_snapshot(self, hub: _Hub) -> None:
        """Ask ``hub`` for the last value of every subscribed prefix; the SUB waits meanwhile.

        The SUB subscribed before this, and its connection is up (we are called after its
        handshake), so the hub has our subscription before it sees this request: every tick
        it publishes after answering reaches us, and nothing falls between the snapshot and
        the live stream.
        """
        hub.snapshot_wanted = False
        assert hub.address.snapshot is not None
        if hub.snap is not None:
            self._drop_snapshot(hub)
        # Not dialled again after a refused handshake: it is made once the SUB's handshake
        # passed (our key is loaded); a revocation in between ends in the snapshot timeout.
        dealer: zmq.Socket[bytes] = self._ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        self._secure(dealer, hub.address)
        # A snapshot of many topics must not hit the default high-water mark of 1000.
        dealer.setsockopt(zmq.RCVHWM, 0)
        try:
            dealer.connect(hub.address.snapshot)
        except zmq.ZMQError as exc:
            dealer.close(linger=0)
            self.snapshot_timeouts += 1
            log.error(
                "cannot connect to the snapshot address %s (%s): write it as tcp://host:port. "
                "Going on with live ticks only",
                hub.address.snapshot,
                exc.strerror,
            )
            self._resume(hub)
            return
        for prefix in self.subscription.prefixes:
            dealer.send_multipart([b"SNAP", prefix])
        # A fresh DEALER per snapshot: a late answer to an abandoned request cannot be taken
        # for the answer to this one.
        hub.snap = _Snapshot(
            dealer, time.monotonic() + self.snapshot_timeout, len(self.subscription.prefixes)
        )
        hub.last_snapshot = time.monotonic()
        self._poller.register(dealer, zmq.POLLIN)
        self._pause(hub)

    def _on_snapshot_reply(self, hub: _Hub) -> None:
        snap = hub.snap
        assert snap is not None
        while True:
            try:
                frames = snap.dealer.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if frames and frames[0] == b"":
                frames = frames[1:]  # tolerate a REQ-style empty delimiter
            if len(frames) != 2:
                self.bad += 1
            elif frames[0] == b"ERR":
                # Refused (not entitled, or past the request rate): that prefix ends empty.
                self.snapshot_refusals += 1
                log.warning("snapshot refused by %s: %s", hub.address.snapshot, _refusal(frames[1]))
                snap.pending -= 1
                if snap.pending == 0:
                    self._finish_snapshot(hub, timed_out=False)
                    return
            elif frames[0] == b"END":
                snap.pending -= 1
                count = _int_or_none(frames[1])
                snap.announced += count or 0
                if snap.pending == 0:
                    self._finish_snapshot(hub, timed_out=False)
                    return
            else:
                snap.items.append((frames[0], frames[1]))

    def _finish_snapshot(self, hub: _Hub, *, timed_out: bool) -> None:
        snap = hub.snap
        assert snap is not None
        self._drop_snapshot(hub)
        if timed_out:
            self.snapshot_timeouts += 1
            log.warning(
                "no snapshot from %s within %.1f s: is the hub's snapshot service at that address "
                "(MDHUB_SNAPSHOT_ADDR)? Going on with live ticks only",
                hub.address.snapshot,
                self.snapshot_timeout,
            )
        else:
            self.snapshots += 1
            if snap.announced != len(snap.items):
                log.warning(
                    "snapshot from %s announced %d ticks but %d came: the hub dropped some "
                    "(its snapshot send high-water mark?)",
                    hub.address.snapshot,
                    snap.announced,
                    len(snap.items),
                )
        # Even a partial snapshot holds good last values: take what came.
        for topic, payload in snap.items:
            self._take(hub, topic, payload, SNAPSHOT)
        self._resume(hub)

    def _drop_snapshot(self, hub: _Hub) -> None:
        snap = hub.snap
        if snap is not None:
            self._poller.unregister(snap.dealer)
            snap.dealer.close(linger=0)
            hub.snap = None

    # -- one tick --------------------------------------------------------------------------

    def _wants(self, topic: bytes) -> bool:
        wanted = self._wanted.get(topic)
        if wanted is None:
            wanted = self._wanted[topic] = self.subscription.wants(topic)
        return wanted

    def _take(self, hub: _Hub, topic: bytes, payload: bytes, mode: str) -> None:
        self.received += 1
        if not self._wants(topic):
            return
        try:
            fields = wire.decode_payload(payload)
            seq = fields["seq"]
            dt_ns = fields["datetime"]
            epoch = fields.get("epoch", 0)
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            self.bad += 1
            log.warning("undecodable tick from %s on %r: %s", hub.label, topic, exc)
            return
        if not isinstance(seq, int) or not isinstance(dt_ns, int) or not isinstance(epoch, int):
            self.bad += 1
            return
        self._admit(hub, topic, fields, mode)

    def _admit(self, hub: _Hub, topic: bytes, fields: dict[str, Any], mode: str) -> None:
        """Take one decoded tick from ``hub`` in ``(epoch, seq)`` order: deliver it, drop it
        as stale, hold it while its topic is being filled, or start a fill for the gap
        before it (then it waits for the fill)."""
        if mode != RECOVERED:
            request = hub.filling.get(topic)
            if request is not None:
                request.held.append((fields, mode))
                return
        seq: int = fields["seq"]
        dt_ns: int = fields["datetime"]
        epoch: int = fields.get("epoch", 0)
        last = hub.seqs.get(topic)
        if last is None:
            if (
                mode in (LIVE, SNAPSHOT)
                and self.resume_since_ns is not None
                and self._recovers(hub)
                and epoch
            ):
                # A topic the resume did not bring (the journal had not written it yet): its
                # ticks since ``resume_since_ns`` are the ones before this; fill them.
                hub.since_topics.add(topic)
                hub.seqs[topic] = last = _Last(epoch, 0, 0)
            else:
                hub.seqs[topic] = _Last(epoch, seq, dt_ns)
                last = None
        if last is None:
            pass
        elif not epoch or not last.epoch:
            # A hub without epochs (before wire v1 had them): tell a restart by the times.
            if not self._in_sequence(hub, topic, last, seq, dt_ns, from_snapshot=mode == SNAPSHOT):
                return
        elif epoch < last.epoch:
            self.stale_dropped += 1  # queued from the hub's previous run
            return
        elif epoch > last.epoch:
            self.restarts += 1
            name = topic.decode()
            log.info("hub %s restarted: %s in epoch %d (was %d)", hub.label, name, epoch, last.epoch)
            if mode != RECOVERED and self._recovers(hub):
                # What followed the last tick of the previous run, then the new run up to here.
                after = {topic: [last.epoch, last.seq]}
                request = self._request(hub, wire.REQ_AFTER, {"prefix": topic, "after": after}, topic)
                request.held.append((fields, mode))
                return
            expected = 1
            last.epoch, last.seq, last.time = epoch, seq, dt_ns
            if seq > expected:
                self._gap(hub, topic, expected, seq)
        elif seq <= last.seq:
            self.stale_dropped += 1
            return
        elif seq > last.seq + 1:
            # Not for a recovered tick: a jump in what the journal sent is a hole in it.
            if mode != RECOVERED and self._recovers(hub):
                body = {"topic": topic, "epoch": epoch, "from": last.seq + 1, "to": seq - 1}
                request = self._request(hub, wire.REQ_FILL, body, topic)
                request.held.append((fields, mode))
                return
            self._gap(hub, topic, last.seq + 1, seq)
            last.seq, last.time = seq, dt_ns
        else:
            last.seq, last.time = seq, dt_ns
            if mode == RECOVERED and topic in hub.since_topics and dt_ns <= (self.resume_since_ns or 0):
                return  # before the time the caller resumes from
        self._deliver(hub, topic, fields, mode)

    def _deliver(self, hub: _Hub, topic: bytes, fields: dict[str, Any], mode: str) -> None:
        record = records.is_record_topic(topic)
        try:
            if record:
                # A record has no tick content fields: its key is its whole content.
                key = records.record_key(fields["datetime"], fields)
            else:
                key = wire.content_key(
                    fields["datetime"], tuple(fields[name] for name in wire.CONTENT_FIELDS)
                )
        except (KeyError, TypeError, OverflowError, ValueError):
            self.bad += 1
            return
        verdict = self._dedup.offer(topic, key, hub.label, time.time_ns())
        if not verdict.forward:
            if verdict.winner is None:
                self.late += 1
            else:
                self.duplicates += 1
            return
        if mode == SNAPSHOT:
            self.snapshot_ticks += 1
        elif mode == RECOVERED:
            self.recovered += 1
        if not record:
            self._ready.append(self._convert(fields))
        elif records.is_bar_topic(topic):
            self._ready.append(self._convert_bar(fields))
        else:
            self._ready.append(fields)  # type: ignore[arg-type]  # Greeks: a dict either way

    def _gap(self, hub: _Hub, topic: bytes, expected: int, got: int) -> None:
        self.gaps += got - expected
        self._report_gap(hub, topic, expected, got)

    def _in_sequence(
        self, hub: _Hub, topic: bytes, last: _Last, seq: int, dt_ns: int, *, from_snapshot: bool
    ) -> bool:
        """For a hub without epochs: whether a tick moves its ``topic`` on; counts gaps and
        restarts.

        A tick not past the last one taken (a live tick queued before the snapshot was
        taken, or a snapshot entry older than live ticks already delivered) is stale: its
        exchange time is not newer either, because the hub forwards in time order. A lower
        seq with a *newer* exchange time means the hub restarted and numbers from 1 again.
        """
        if seq > last.seq:
            expected = last.seq + 1
            last.seq, last.time = seq, dt_ns
            if seq > expected:
                self._gap(hub, topic, expected, seq)
            return True
        if dt_ns <= last.time:
            self.stale_dropped += 1
            return False
        self.restarts += 1
        log.info("hub %s restarted: %s seq went from %d to %d", hub.label, topic.decode(), last.seq, seq)
        last.seq, last.time = seq, dt_ns
        # A restart normally comes with a reconnect, which takes a new snapshot anyway; this
        # covers a hub behind a proxy that kept our TCP connection open.
        if (
            not from_snapshot
            and self._snapshots_from(hub)
            and hub.snap is None
            and time.monotonic() - hub.last_snapshot > RESNAPSHOT_INTERVAL
        ):
            hub.snapshot_wanted = True
        return True

    # -- recovery: gap fill and resume (docs/wire-protocol.md, "Recovery") -----------------

    def _request(self, hub: _Hub, kind: bytes, body: dict[str, Any], topic: bytes | None) -> _Request:
        assert hub.recovery is not None
        self._next_id += 1
        body = {"v": wire.RECOVERY_VERSION, "id": self._next_id, **body}
        request = _Request(self._next_id, kind, body, time.monotonic() + self.fill_timeout, topic)
        hub.requests[request.id] = request
        if topic is not None:
            hub.filling[topic] = request
        self.fill_requests += 1
        try:
            hub.recovery.send_multipart((kind, wire.pack(body)), zmq.NOBLOCK)
        except zmq.Again:
            request.deadline = 0.0  # fails at the next step: the gap is reported, nothing lost
        return request

    def _start_resume(self, hub: _Hub) -> None:
        """Ask the journal for every subscribed prefix's ticks after our positions (or after
        ``resume_since_ns``); the SUB waits, paused, until all have answered."""
        for prefix in self.subscription.prefixes:
            after = {t: [last.epoch, last.seq] for t, last in hub.seqs.items() if t.startswith(prefix)}
            body: dict[str, Any] = {"prefix": prefix, "after": after}
            if self.resume_since_ns is not None:
                body["since_ns"] = self.resume_since_ns
            self._request(hub, wire.REQ_AFTER, body, None)
            hub.resuming += 1

    def _on_recovery_reply(self, hub: _Hub) -> None:
        assert hub.recovery is not None
        while True:
            try:
                frames = hub.recovery.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                kind = frames[0]
                if kind == wire.REP_DATA:
                    request = hub.requests.get(wire.unpack(frames[1]))
                    if request is not None:
                        pairs = frames[2:]
                        request.items.extend(zip(pairs[::2], pairs[1::2], strict=True))
                    continue
                reply = wire.unpack(frames[1])
                request = hub.requests.get(reply["id"])
            except (ValueError, KeyError, TypeError, IndexError):
                self.bad += 1
                continue
            if request is None:
                continue  # the answer to a request we gave up on
            if kind == wire.REP_END:
                self._request_done(hub, request, reply)
            else:
                self._request_failed(hub, request, f"{reply.get('error')}: {reply.get('message')}")

    def _request_done(self, hub: _Hub, request: _Request, reply: dict[str, Any]) -> None:
        items, request.items = request.items, []
        for topic, payload in items:
            self._take(hub, topic, payload, RECOVERED)
        if reply.get("more"):
            # A page of a long range: ask for the rest, the held ticks keep waiting.
            body = dict(request.body)
            last = reply.get("last") or {}
            if request.kind == wire.REQ_FILL:
                position = last.get(request.topic)
                body["from"] = (position[1] if position else body["from"] - 1) + 1
            else:
                body["after"] = {**body["after"], **last}
            del hub.requests[request.id]
            self.fill_requests += 1
            self._next_id += 1
            request.id = body["id"] = self._next_id
            request.body = body
            request.deadline = time.monotonic() + self.fill_timeout
            hub.requests[request.id] = request
            assert hub.recovery is not None
            hub.recovery.send_multipart((request.kind, wire.pack(body)))
            return
        self._finish_request(hub, request, unfilled=request.kind == wire.REQ_FILL)

    def _request_failed(self, hub: _Hub, request: _Request, why: str) -> None:
        self.fill_failures += 1
        log.warning("recovery request to %s failed (%s): going on without it", hub.address.recovery, why)
        request.items = []
        self._finish_request(hub, request, unfilled=True)

    def _finish_request(self, hub: _Hub, request: _Request, *, unfilled: bool) -> None:
        """End ``request``: what it was meant to fill and did not is a gap; then the held live
        ticks go on, in the order they came."""
        hub.requests.pop(request.id, None)
        topic = request.topic
        if topic is None:
            hub.resuming -= 1
            if hub.resuming == 0:
                if self._snapshots_from(hub):
                    hub.snapshot_wanted = True
                else:
                    self._resume(hub)
            return
        del hub.filling[topic]
        last = hub.seqs[topic]
        body = request.body
        if request.kind == wire.REQ_FILL:
            if unfilled and last.epoch == body["epoch"] and last.seq < body["to"]:
                self._gap(hub, topic, last.seq + 1, body["to"] + 1)
                last.seq = body["to"]
        elif request.held:
            # A restart: what the journal had of the old run and the new one is in; the new
            # run's ticks before the held one that it did not have are a gap (or a fill).
            held_epoch = request.held[0][0].get("epoch", 0)
            if last.epoch < held_epoch:
                last.epoch, last.seq = held_epoch, 0
        held, request.held = request.held, []
        for index, (fields, mode) in enumerate(held):
            self._admit(hub, topic, fields, REPLAY if mode == LIVE else mode)
            follow = hub.filling.get(topic)
            if follow is not None:
                # That tick started another fill: the rest waits for it, in order.
                follow.held.extend(held[index + 1 :])
                return

    def _report_gap(self, hub: _Hub, topic: bytes, expected: int, got: int) -> None:
        if self.on_gap is None:
            return
        try:
            self.on_gap(hub.address, topic.decode(), expected, got)
        except Exception:
            # A bug in the caller's handler must not stop the stream or lose the tick.
            log.exception("on_gap raised; the stream goes on")


def _identity(fields: dict[str, Any]) -> dict[str, Any]:
    return fields


def _refusal(data: bytes) -> str:
    try:
        reply = wire.unpack(data)
        return f"{reply.get('error')}: {reply.get('message')}"
    except Exception:  # noqa: BLE001 - msgpack raises several unrelated types
        return repr(data[:200])


def _int_or_none(data: bytes) -> int | None:
    try:
        value = wire.unpack(data)
    except ValueError:
        return None
    return value if isinstance(value, int) else None


# -- command line ----------------------------------------------------------------------------


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def format_tick(tick: dict[str, Any]) -> str:
    """One line: exchange time in Asia/Shanghai, vt_symbol, last, bid1/ask1, volume, source, seq."""
    ns: int = tick["datetime"]
    when = datetime.fromtimestamp(ns // 1_000_000_000, CHINA).strftime("%Y-%m-%d %H:%M:%S")
    millis = ns % 1_000_000_000 // 1_000_000
    vt_symbol = f"{tick['symbol']}.{tick['exchange']}"
    book = f"{_num(tick['bid_price_1'])}/{_num(tick['ask_price_1'])}"
    return (
        f"{when}.{millis:03d} {vt_symbol:<18} last {_num(tick['last_price']):>10}  bid/ask {book:>15}"
        f"  vol {_num(tick['volume']):>10}  {tick.get('source', '?')} #{tick['seq']}"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aggregation.client",
        description="Print the hub's ticks: snapshot first, then live.",
        epilog="Topics: a contract (rb2601.SHFE), a product (rb), a raw prefix (tick.rb) or nothing "
        "for everything. Without --pub or --hub: " + f"{DEFAULT_PUB} and {DEFAULT_SNAPSHOT}.",
    )
    parser.add_argument("topics", nargs="*", default=[""], help="contracts, products or prefixes")
    add_hub_arguments(parser)
    parser.add_argument("--count", type=int, help="exit after this many ticks")
    parser.add_argument("--json", action="store_true", help="print each tick as a JSON line")
    parser.add_argument("--no-snapshot", action="store_true", help="start with the next live tick")
    parser.add_argument("--snapshot-timeout", type=float, default=SNAPSHOT_TIMEOUT, metavar="SECONDS")
    parser.add_argument("-v", "--verbose", action="store_true", help="log connections and snapshots")
    return parser


def add_hub_arguments(parser: argparse.ArgumentParser) -> None:
    """``--pub``, ``--snapshot`` and ``--hub``; read them back with ``hubs_from_args``."""
    parser.add_argument("--pub", help=f"a hub's tick PUB address (e.g. {DEFAULT_PUB})")
    parser.add_argument("--snapshot", help=f"that hub's snapshot address (e.g. {DEFAULT_SNAPSHOT})")
    parser.add_argument(
        "--recovery", help=f"that hub's recovery address, for gap fill (e.g. {DEFAULT_RECOVERY})"
    )
    parser.add_argument(
        "--hub",
        action="append",
        default=[],
        metavar="PUB[,SNAPSHOT[,RECOVERY]]",
        help="one more hub; repeat to read from several, deduplicated",
    )


def hubs_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[HubAddress]:
    """The hubs named by ``--pub``/``--snapshot`` and ``--hub``; the local default hub if none."""
    try:
        hubs = [HubAddress.parse(spec) for spec in args.hub]
        if args.pub:
            hubs.insert(0, HubAddress(args.pub, args.snapshot, args.recovery))
        elif args.snapshot or args.recovery:
            parser.error("--snapshot and --recovery need --pub: they belong to that hub")
    except ValueError as exc:
        parser.error(str(exc))
    return hubs or [HubAddress(DEFAULT_PUB, DEFAULT_SNAPSHOT, DEFAULT_RECOVERY)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    hubs = hubs_from_args(args, parser)

    def report_gap(hub: HubAddress, topic: str, expected: int, got: int) -> None:
        print(f"gap from {hub}: {topic} seq {expected}..{got - 1} missing", file=sys.stderr)

    try:
        client = HubClient(
            hubs,
            args.topics,
            snapshot=not args.no_snapshot,
            on_gap=report_gap,
            snapshot_timeout=args.snapshot_timeout,
        )
    except ValueError as exc:
        parser.error(str(exc))
    started = time.monotonic()
    warned = False
    printed = 0
    status = 0
    try:
        with client:
            while args.count is None or printed < args.count:
                tick = client.recv(1.0)
                if tick is None:
                    if not warned and not client.connected_hubs and time.monotonic() - started > 3:
                        where = ", ".join(str(hub) for hub in hubs)
                        print(f"no hub answers at {where} yet: is the hub running? Waiting…", file=sys.stderr)
                        warned = True
                    continue
                print(json.dumps(tick, separators=(",", ":")) if args.json else format_tick(tick), flush=True)
                printed += 1
            stats = client.stats()
    except KeyboardInterrupt:
        stats = client.stats()
        status = 130
    except BrokenPipeError:
        # The reader went away (`| head`): not an error. Point stdout at /dev/null so that
        # Python's flush at exit does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    print(" ".join(f"{name}={value}" for name, value in stats.items()), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
