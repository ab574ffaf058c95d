"""The hub's data plane: ingest from the workers, first-arrival dedup, publish, snapshots.

``TickHub`` owns the sockets and runs on the hub's main thread; ``pump`` handles what
is waiting and returns. Nothing here waits on Redis, the database or the web side: the
engine reads ``sources`` and ``stats`` from its other steps. No Django import.

With a ``Journal`` (docs/journal.md) every forwarded tick is also handed to its writer thread
(a deque append, after the send), and a ``RecoveryService`` thread answers gap fills and
resumes from it on its own ROUTER: neither ever makes the tick path wait.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import zmq
import zmq.backend
from zmq.backend import zmq_poll

from aggregation import hub_core
from aggregation.access import StreamAccess, Verdict, request_refusal, user_id
from aggregation.conflation import ConflationService
from aggregation.curve import make_server
from aggregation.dedup import RECENT_KEYS, TopicState
from aggregation.journal import Journal
from aggregation.journal_service import RecoveryService
from aggregation.records import INGEST_PREFIXES
from aggregation.source_speed import FIRST, TOO_LATE, SourceSpeed
from aggregation.wire import (
    KIND_LOG,
    KIND_STATUS,
    KIND_TICK,
    TICK_HEAD,
    TOPIC_PREFIX,
    extend_body,
    pack,
    source_suffix,
    unpack,
)

log = logging.getLogger("mdhub.hub")
worker_log = logging.getLogger("mdhub.worker")

LATE_SAMPLES = 4096
STREAM_PAUSE_MS = 1
_MAP16 = 0xDE

# The hot path calls the Cython socket methods with plain ints: the pyzmq "sugar" wrappers
# add a Python frame and IntFlag arithmetic (``flags | SNDMORE`` goes through enum.__or__)
# to every call, which is most of the per-message cost at these rates.
_raw_send = zmq.backend.Socket.send
_raw_get = zmq.backend.Socket.get
_NOBLOCK = int(zmq.NOBLOCK)
_SNDMORE = int(zmq.SNDMORE)
_RCVMORE = int(zmq.RCVMORE)
_monotonic = time.monotonic
_time_ns = time.time_ns
_from_bytes = int.from_bytes
_TICK = KIND_TICK[0]
LEVELS = logging.getLevelNamesMapping()


@dataclass(slots=True)
class SourceStats:
    """What the hub knows of one source from its frames; read by health and status."""

    name: str
    suffix: bytes
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

    @property
    def received(self) -> int:
        """Tick copies received and placed (malformed ones are the hub's ``malformed``)."""
        return self.first + self.duplicates + self.too_late


# What ``TickHub._route`` caches for one tick frame head.
_Route = tuple[SourceStats, Callable[[bytes], int | None], TopicState, bytes, bool]


@dataclass(slots=True)
class HubStats:
    forwarded: int = 0
    malformed: int = 0
    snapshot_requests: int = 0
    upstream_subscriptions: int = 0
    # Client subscriptions the engine's gate refused (not in the contract universe).
    upstream_refused: int = 0


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
        journal: Journal | None = None,
        recovery_addr: str | None = None,
        access: StreamAccess | None = None,
        conflate_addr: str | None = None,
    ) -> None:
        self.ctx = ctx or zmq.Context.instance()
        # CURVE + ZAP + entitlements on the client-facing sockets (docs/access.md); None: open
        # (development on loopback; mdhub.E030 says when that is not allowed).
        self.access = access
        if access is not None:
            access.start(self.ctx)
        # One epoch per hub run, on every payload (docs/wire-protocol.md): the journal's when
        # there is one (larger than any before it in its directory), else the start time.
        self.journal = journal
        self.epoch = journal.epoch if journal is not None else time.time_ns() // 1_000_000
        self._journal_q = journal.queue if journal is not None else None
        self._journal_cap = journal.capacity if journal is not None else 0
        self.ingest = self._bind(zmq.PULL, ingest_addr, rcvhwm=1_000_000)
        # Verbose: hear every subscription, not just the first per topic, so a client that
        # reconnects still triggers an upstream subscription. Manual (with access): the hub
        # applies each subscription itself once the client's entitlements allow it.
        self.pub = self._bind(zmq.XPUB, pub_addr, sndhwm=pub_hwm, verbose=True, secure=True)
        # No send limit: a ROUTER silently drops past it, and a snapshot of thousands of
        # topics (option chains) must arrive whole.
        self.snapshot = self._bind(zmq.ROUTER, snapshot_addr, secure=True)
        self.snapshot.setsockopt(zmq.SNDHWM, 0)
        self.control = self._bind(zmq.PUB, control_addr)
        # A blocking receive on the ingest socket waits at most this long for the next
        # message before the batch ends (see ``pump``).
        self.ingest.setsockopt(zmq.RCVTIMEO, STREAM_PAUSE_MS)
        self._poll_items = [(sock, zmq.POLLIN) for sock in (self.ingest, self.pub, self.snapshot)]
        self._side_items = [(sock, zmq.POLLIN) for sock in (self.pub, self.snapshot)]
        self._pub_send = _raw_send
        self._gc_frozen = False
        # Per topic: first-arrival state and the last seq forwarded (a ``_hub_core.TopicCore``
        # under the compiled core: readers outside the tick path read ``seq`` only).
        self.topics: dict[bytes, TopicState] = {}
        self.last_value: dict[bytes, bytes] = {}
        self.sources: dict[bytes, SourceStats] = {}
        self.stats = HubStats()
        self.subscribed: set[str] = set()
        # Which on-demand client subscriptions may go upstream: the engine's decision
        # (engine.universe_roll); the hub only counts the refusals. None: any.
        self.upstream_allowed: Callable[[str], bool] | None = None
        # Tick frame head → (source, its topic's ``recent.get``, topic state, topic, watched).
        self._routes: dict[bytes, _Route] = {}
        # Every source's copies per exchange, product and session (docs/api.md, /api/sources/speed).
        self.speed = SourceSpeed()
        self._watch_topics: set[bytes] = watch_topics or set()
        # The compiled tick path (aggregation/_hub_core.pyx) when built, else the Python loop
        # below: they forward exactly the same (tests/test_hub_core_property.py).
        self._core: Any = hub_core.core_module.Core(self) if hub_core.COMPILED else None
        self.recovery: RecoveryService | None = None
        if recovery_addr:
            self.recovery = RecoveryService(self.ctx, recovery_addr, journal, access=access)
        # "The latest per contract every N ms" for slow readers, on its own thread from the
        # last-value cache (aggregation.conflation): nothing of it runs on the tick path.
        self.conflation: ConflationService | None = None
        if conflate_addr:
            self.conflation = ConflationService(self.ctx, conflate_addr, self.last_value, access)
        if access is not None:
            access.watch("ticks", self.pub)
            access.watch("snapshots", self.snapshot)
            if self.recovery is not None:
                access.watch("recovery", self.recovery.sock)
            if self.conflation is not None:
                access.watch("conflation", self.conflation.sock)
            access.begin()
        if journal is not None:
            journal.start()
        if self.recovery is not None:
            self.recovery.start()
        if self.conflation is not None:
            self.conflation.start()

    def _bind(
        self,
        kind: int,
        addr: str,
        rcvhwm: int = 0,
        sndhwm: int = 0,
        verbose: bool = False,
        secure: bool = False,
    ) -> zmq.Socket[Any]:
        sock = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        if rcvhwm:
            sock.setsockopt(zmq.RCVHWM, rcvhwm)
        if sndhwm:
            sock.setsockopt(zmq.SNDHWM, sndhwm)
        if verbose:
            sock.setsockopt(zmq.XPUB_VERBOSE, 1)
            if self.access is not None:
                sock.setsockopt(zmq.XPUB_MANUAL, 1)
        if secure and self.access is not None:
            make_server(sock, self.access.keys)
        sock.bind(addr)
        return sock

    # -- the loop body -----------------------------------------------------------------

    def poll(self, timeout_ms: int) -> int:
        """Wait up to ``timeout_ms`` for work, handle all of it; returns frames handled."""
        if not self._gc_frozen:
            # Everything built before the loop (Django, the engine, the sockets) lives for the
            # process's lifetime: move it out of the collector's view once, so a full
            # collection never has to walk it in the middle of the tick path.
            gc.freeze()
            self._gc_frozen = True
        handled = 0
        # The Cython zmq_poll with a prepared list: zmq.Poller.poll builds and maps a dict
        # on every call. Only for waking from idle: while ticks flow, ``pump`` blocks in
        # the ingest socket itself.
        for sock, _ in zmq_poll(self._poll_items, timeout_ms):
            if sock is self.ingest:
                handled += self.pump()
                # Requests that came in while the batch ran.
                for other, _ in zmq_poll(self._side_items, 0):
                    if other is self.pub:
                        self._on_subscriptions()
                    else:
                        self._on_snapshot_requests()
                break
            if sock is self.pub:
                self._on_subscriptions()
            else:
                self._on_snapshot_requests()
        return handled

    def pump(self, max_batch: int = 2000, budget_s: float = 0.005) -> int:
        """Handle worker messages until the stream pauses, ``max_batch`` messages or
        ``budget_s`` have gone by (subscriptions, snapshots and the engine's other steps
        wait for the batch to end).

        The hot path. The rule: one blocking ``recv`` per message bounded by RCVTIMEO, a
        tick is one frame validated by its own header, one cached route lookup per frame
        head, the batch clock read every 16 messages. Why each of those (the measurements):
        docs/architecture.md, "The hub's hot loop".

        Status and log messages stay multipart (1-byte kind frame, account, map); their
        frames are read by count and RCVMORE is checked once, at the end. A message with too
        few frames (no mdhub sender makes one) then runs into the next message, and both
        are dropped as one malformed message.

        The compiled core (``aggregation/_hub_core.pyx``) runs this same loop when it is built.
        """
        if self._core is not None:
            handled: int = self._core.pump(max_batch, budget_s)
            return handled
        recv = self.ingest.recv
        routes = self._routes
        route_for = self._route
        first = self._first
        time_ns = _time_ns
        speed_cells = self.speed.cells
        speed_cell = self.speed.cell
        handled = 0
        now = _monotonic()
        until = now + budget_s
        try:
            while handled < max_batch:
                if handled and not handled & 15:
                    now = _monotonic()
                    if now > until:
                        break
                frame = recv(0)
                handled += 1
                try:
                    if frame[0] == _TICK:
                        key_at = TICK_HEAD + frame[1] + frame[2]
                        body_at = key_at + 16
                        # Checked before the dedup state is touched: a bad copy must not
                        # shadow a good one (a short frame raises IndexError here).
                        if frame[body_at] != _MAP16:
                            raise ValueError("tick body is not a msgpack map16")
                        head = frame[:key_at]
                        route = routes.get(head) or route_for(head)
                        source, recent_get, state, topic, watched = route
                        source.last_tick_mono = now
                        if watched:
                            source.last_tick_by_topic[topic] = now
                        # aggregation.source_speed: one lookup and one increment per copy.
                        cell = speed_cells.get(head) or speed_cell(head, topic, source.name)
                        key = frame[key_at:body_at]
                        seen = recent_get(key)
                        if seen is None:
                            seq = state.seq
                            first(source, state, topic, key, frame, body_at)
                            cell[FIRST if state.seq != seq else TOO_LATE] += 1
                        else:
                            source.duplicates += 1
                            late = time_ns() - seen
                            source.late_ns.append(late)
                            cell[late.bit_length()] += 1
                    else:
                        self._on_multipart(frame)
                except (ValueError, TypeError, KeyError, IndexError, AttributeError, UnicodeDecodeError):
                    # A malformed message is counted and dropped whole; it never stops the hub.
                    self._skip_rest()
                except zmq.Again:
                    # A short message and nothing after it: it ended at a message boundary.
                    self.stats.malformed += 1
                except zmq.ZMQError:
                    raise
                except Exception:  # noqa: BLE001 - msgpack raises several unrelated types
                    self._skip_rest()
        except zmq.Again:
            pass
        return handled

    def use_python_loop(self) -> None:
        """Run ``pump``'s Python loop even when the compiled core is built (tests and
        benchmarks compare the two); before the first tick only."""
        if self.topics:
            raise RuntimeError("use_python_loop must be called before the first tick")
        self._core = None

    def _on_other(self, frame: bytes) -> None:
        """The compiled core's way into ``pump``'s handling of a frame that is not a tick."""
        try:
            self._on_multipart(frame)
        except zmq.Again:
            self.stats.malformed += 1
        except zmq.ZMQError:
            raise
        except Exception:  # noqa: BLE001 - as in pump: a malformed message never stops the hub
            self._skip_rest()

    def _on_multipart(self, kind: bytes) -> None:
        """A status or log message: ``[kind, account, map]``."""
        if kind in (KIND_STATUS, KIND_LOG):
            recv = self.ingest.recv
            account = recv(_NOBLOCK)
            data = recv(_NOBLOCK)
            if not _raw_get(self.ingest, _RCVMORE):
                if kind == KIND_STATUS:
                    self._on_status(account, unpack(data))
                else:
                    self._on_log(account, unpack(data))
                return
        self._skip_rest()

    def _skip_rest(self) -> None:
        """Count a malformed message and drop what is left of it (a tick frame with frames
        after it, such as the old five-frame tick, is one malformed message)."""
        self.stats.malformed += 1
        while _raw_get(self.ingest, _RCVMORE):
            self.ingest.recv(_NOBLOCK)

    def source(self, account: bytes) -> SourceStats:
        source = self.sources.get(account)
        if source is None:
            name = account.decode()
            source = self.sources[account] = SourceStats(name, source_suffix(name, self.epoch))
        return source

    def _route_head(self, head: bytes) -> tuple[SourceStats, bytes, bool]:
        """The source, topic and whether health watches it, of a tick frame head (one
        account, one topic: ``aggregation.wire.tick_head``); ValueError when it is bad."""
        topic_at = TICK_HEAD + head[1]
        account, topic = head[TICK_HEAD:topic_at], head[topic_at:]
        # Ticks from workers, and bar./greeks. records from the data services (services/).
        if not account or not topic.startswith(INGEST_PREFIXES):
            raise ValueError("bad tick head")
        return self.source(account), topic, topic in self._watch_topics

    def _route(self, head: bytes) -> _Route:
        """What the Python loop needs for the ticks with this frame head, looked up once."""
        source, topic, watched = self._route_head(head)
        state = self.topics.get(topic)
        if state is None:
            state = self.topics[topic] = TopicState()
        route = self._routes[head] = (source, state.recent.get, state, topic, watched)
        return route

    @property
    def watch_topics(self) -> set[bytes]:
        """Topics (canaries) whose last arrival per source health needs; others skip that."""
        return self._watch_topics

    @watch_topics.setter
    def watch_topics(self, topics: set[bytes]) -> None:
        self._watch_topics = topics
        self._routes.clear()
        if self._core is not None:
            self._core.clear_routes()

    def _first(
        self, source: SourceStats, state: TopicState, topic: bytes, key: bytes, frame: bytes, body_at: int
    ) -> None:
        """A key this topic has not forwarded recently: first arrival wins (the rule of
        ``aggregation.dedup.FirstArrival``, inlined: this runs for every such copy)."""
        ktime = _from_bytes(key[:8], "big", signed=True)
        last_time = state.last_time
        if ktime > last_time:
            state.last_time = ktime
            at_last = state.at_last
            at_last.clear()
            at_last.add(key)
        elif ktime == last_time and key not in state.at_last:
            state.at_last.add(key)
        else:
            source.too_late += 1
            return
        recent = state.recent
        recent[key] = _time_ns()
        if len(recent) > RECENT_KEYS:
            del recent[next(iter(recent))]
        seq = state.seq = state.seq + 1
        payload = extend_body(frame, source.suffix, seq, body_at)  # cannot fail: body checked
        self.last_value[topic] = payload
        send = self._pub_send
        pub = self.pub
        send(pub, topic, _SNDMORE)
        send(pub, payload)
        source.first += 1
        self.stats.forwarded += 1
        journal_q = self._journal_q
        if journal_q is not None:
            # After the send: the journal never delays a client. Past the capacity the tick
            # is not journaled; the writer records the hole when it sees the seq jump.
            if len(journal_q) < self._journal_cap:
                journal_q.append((topic, key, seq, payload))
            else:
                self.journal.stats.overflow += 1  # type: ignore[union-attr]

    def _on_status(self, account: bytes, status: dict[str, Any]) -> None:
        if not isinstance(status, dict):
            raise TypeError("status is not a map")
        source = self.source(account)
        source.last_status = status
        source.last_status_mono = time.monotonic()
        source.statuses += 1

    def _on_log(self, account: bytes, record: dict[str, Any]) -> None:
        # Re-logged under the hub's logging: the publisher's handler takes it from there.
        level = LEVELS.get(str(record.get("level")), logging.INFO)
        msg = str(record.get("msg", ""))
        name = account.decode()
        worker_log.getChild(name).log(level, "%s", msg, extra={"account": name, "from_worker": True})

    def _on_subscriptions(self) -> None:
        if self.access is not None:
            self._on_checked_subscriptions(self.access)
            return
        while True:
            try:
                event = self.pub.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if not event or event[0] != 1 or not event[1:].startswith(TOPIC_PREFIX):
                continue
            self._on_demand(event[1 + len(TOPIC_PREFIX) :].decode(errors="replace"))

    def _on_checked_subscriptions(self, access: StreamAccess) -> None:
        """XPUB_MANUAL: each (un)subscription names its client (``User-Id``); the hub applies
        it only inside the client's entitlements and quota. ``setsockopt`` applies to the
        connection the last message came from, so each is decided before the next is read."""
        policy = access.policy
        pub = self.pub
        while True:
            try:
                frame = pub.recv(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            event = frame.bytes
            if not event or event[0] > 1:
                continue
            topic = event[1:]
            name = user_id(frame)
            if not name:
                # libzmq's own unsubscriptions for a connection that went away: it has
                # already dropped them; there is no connection to apply anything to.
                continue
            if event[0] == 0:
                policy.unsubscribe(name, topic)
                pub.setsockopt(zmq.UNSUBSCRIBE, topic)
                continue
            verdict = policy.subscribe(name, topic)
            if verdict is not Verdict.OK:
                log.debug("client %s: subscription %.80r refused (%s)", name, topic, verdict)
                continue
            pub.setsockopt(zmq.SUBSCRIBE, topic)
            if topic.startswith(TOPIC_PREFIX):
                vt_symbol = topic[len(TOPIC_PREFIX) :].decode(errors="replace")
                # The quota counts whole contracts the hub would subscribe for this client.
                symbol, dot, exchange = vt_symbol.rpartition(".")
                wanted = dot and symbol and exchange.isupper() and vt_symbol not in self.subscribed
                if wanted and policy.upstream(name, vt_symbol) is Verdict.OK:
                    self._on_demand(vt_symbol)

    def _on_demand(self, vt_symbol: str) -> None:
        """A client subscribed to ``vt_symbol``: subscribe it upstream when it is a whole
        contract the hub does not subscribe yet."""
        symbol, dot, exchange = vt_symbol.rpartition(".")
        # Only a whole vt_symbol can be subscribed upstream; a prefix (tick.rb) cannot.
        if dot and symbol and exchange.isupper() and vt_symbol not in self.subscribed:
            if self.upstream_allowed is not None and not self.upstream_allowed(vt_symbol):
                self.stats.upstream_refused += 1
                log.debug("client asked for %s: not in the contract universe, refused", vt_symbol)
                return
            self.subscribe_upstream([vt_symbol])
            self.stats.upstream_subscriptions += 1
            log.info("client asked for %s: subscribed upstream", vt_symbol)

    def subscribe_upstream(self, vt_symbols: list[str], account: str = "*") -> None:
        if account == "*":
            self.subscribed.update(vt_symbols)
        self.control.send_multipart((account.encode(), pack({"cmd": "subscribe", "symbols": vt_symbols})))

    def unsubscribe_upstream(self, vt_symbols: list[str], account: str) -> None:
        """Ask one source to stop delivering ``vt_symbols`` (a warm-mode standby)."""
        self.control.send_multipart((account.encode(), pack({"cmd": "unsubscribe", "symbols": vt_symbols})))

    def heartbeat(self) -> None:
        """Tell every worker the hub is alive: a worker that hears nothing ends itself."""
        self.control.send_multipart((b"*", pack({"cmd": "heartbeat"})))

    def _on_snapshot_requests(self) -> None:
        access = self.access
        while True:
            try:
                parts = self.snapshot.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            frames = [part.bytes for part in parts]
            if len(frames) != 3 or frames[1] != b"SNAP":
                self.stats.malformed += 1
                continue
            identity, _, prefix = frames
            self.stats.snapshot_requests += 1
            if access is not None:
                name = user_id(parts[1])
                verdict = access.policy.request(name, prefix)
                if verdict is not Verdict.OK:
                    # [ERR, {error, message}] instead of the ticks (docs/access.md).
                    refusal = {"error": str(verdict), "message": request_refusal(verdict, name, prefix)}
                    self.snapshot.send_multipart((identity, b"ERR", pack(refusal)))
                    continue
            count = 0
            for topic, payload in list(self.last_value.items()):
                if topic.startswith(prefix):
                    self.snapshot.send_multipart((identity, topic, payload))
                    count += 1
            self.snapshot.send_multipart((identity, b"END", pack(count)))

    def close(self) -> None:
        if self.conflation is not None:
            self.conflation.close()
        if self.recovery is not None:
            self.recovery.close()
        if self.journal is not None:
            self.journal.close({topic: state.seq for topic, state in self.topics.items() if state.seq})
        if self.access is not None:
            self.access.close()
        for sock in (self.ingest, self.pub, self.snapshot, self.control):
            sock.close()
