"""What every gateway kind provides to the worker, and the tick path they share.

Contract of a kind (as vn.py states it for gateways):
* ``start`` and ``subscribe`` must not block; the kind reconnects by itself.
* ticks go to ``self.emit(tick)`` on the gateway's own callback thread: no queue hop.
  ``emit`` cleanses, encodes once and sends; the tick must not be mutated afterwards.
* ``status`` is read by the worker's status thread about twice a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import zmq
import zmq.backend

from aggregation import emit_core
from aggregation.cleanse import Cleanser
from aggregation.tick_codec import encode_body
from aggregation.wire import KIND_LOG, content_hash_key, datetime_ns, encode_tick, pack, tick_head

if TYPE_CHECKING:
    from vnpy.trader.object import TickData

log = logging.getLogger("mdhub.worker")

_raw_send = zmq.backend.Socket.send
_NOBLOCK = int(zmq.NOBLOCK)
_MORE_NOBLOCK = int(zmq.NOBLOCK | zmq.SNDMORE)


class Sender:
    """PUSH frames to the hub from any thread: one socket per thread (ZMQ sockets are not
    thread-safe), never blocking. When the hub is gone and the buffer is full a frame is
    dropped and counted: a gateway callback thread must never stall."""

    def __init__(self, ctx: zmq.Context[Any], address: str, account: str) -> None:
        self.ctx = ctx
        self.address = address
        self.account = account.encode()
        tick_head(self.account, b"tick.")  # an account name too long for a tick frame fails here
        self._heads: dict[bytes, bytes] = {}
        # One socket per OS thread, keyed by its id, not a threading.local: the vn.py wrappers
        # call back from a C++ thread through pybind11's gil_scoped_acquire, which makes and
        # drops a Python thread state per call, so a threading.local is empty at every tick
        # (it was a new socket per tick: ~1 ms to connect and a file descriptor leaked).
        self._by_thread: dict[int, zmq.Socket[Any]] = {}
        self.dropped = 0
        self._sockets: list[zmq.Socket[Any]] = []
        self._lock = threading.Lock()

    def _socket(self) -> zmq.Socket[Any]:
        ident = threading.get_ident()
        sock = self._by_thread.get(ident)
        if sock is None:
            sock = self.ctx.socket(zmq.PUSH)
            sock.setsockopt(zmq.SNDHWM, 200_000)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.IMMEDIATE, 1)
            sock.connect(self.address)
            # With IMMEDIATE nothing is queued before the connection is up, so a thread's
            # first frame (a log line, the first tick) would be dropped: wait for it once,
            # briefly. A hub that is not there costs this thread 0.5 s, once.
            sock.poll(500, zmq.POLLOUT)
            with self._lock:
                self._by_thread[ident] = sock
                self._sockets.append(sock)
        return sock

    def send(self, kind: bytes, *frames: bytes) -> None:
        """A multipart message ``[kind, account, *frames]`` (status, log); ticks go through
        ``send_tick``."""
        # Frame by frame through the Cython send with int flags: pyzmq's send_multipart
        # costs ~12 us for a 5-frame tick (a Python loop and IntFlag arithmetic per frame),
        # this ~1.5 us. The high-water mark is checked on the first frame only: once a
        # message is accepted its other frames are too.
        sock = self._socket()
        try:
            _raw_send(sock, kind, _MORE_NOBLOCK)
        except zmq.Again:
            self.dropped += 1
            return
        _raw_send(sock, self.account, _MORE_NOBLOCK)
        last = len(frames) - 1
        for i, frame in enumerate(frames):
            _raw_send(sock, frame, _NOBLOCK if i == last else _MORE_NOBLOCK)

    def send_tick(self, topic: bytes, key: bytes, body: bytes) -> None:
        """A tick as one frame (``aggregation.wire.tick_frame``): one send here, and one
        receive and no RCVMORE check in the hub, whose cost per tick that mostly was. The
        frame's head (kind, account, topic) is built once per topic."""
        head = self._heads.get(topic)
        if head is None:
            head = self._heads[topic] = tick_head(self.account, topic)
        try:
            _raw_send(self._socket(), b"".join((head, key, body)), _NOBLOCK)
        except zmq.Again:
            self.dropped += 1


class TickEmitter:
    """Cleanse, encode once, send: the tick path every kind shares. ``received`` counts the
    ticks handed in, ``sent`` the frames that went out.

    With the compiled tick path built (``aggregation.emit_core``), ``emit_numbers`` is one C
    call (``_emit_core.EmitCore``: the compiled cleanser, encoder, content key and a
    ``zmq_send`` on this thread's socket) and the counters live there."""

    def __init__(self, sender: Sender, cleanser: Cleanser, received: int = 0, sent: int = 0) -> None:
        self.sender = sender
        self.cleanser = cleanser
        self.core: Any = None
        self._received = received
        self._sent = sent
        cleanse_core = cleanser._core
        if cleanse_core is not None:
            direct = type(sender).send_tick is Sender.send_tick  # not a test's capturing one
            self.core = emit_core.core_module.EmitCore(sender, cleanse_core, direct)
            self.core.received, self.core.sent = received, sent
            self.emit_numbers = self.core.emit_numbers  # type: ignore[method-assign]

    @property
    def received(self) -> int:
        return int(self.core.received) if self.core is not None else self._received

    @received.setter
    def received(self, value: int) -> None:
        if self.core is not None:
            self.core.received = value
        else:
            self._received = value

    @property
    def sent(self) -> int:
        return int(self.core.sent) if self.core is not None else self._sent

    @sent.setter
    def sent(self, value: int) -> None:
        if self.core is not None:
            self.core.sent = value
        else:
            self._sent = value

    def __repr__(self) -> str:
        return f"TickEmitter(received={self.received}, sent={self.sent})"

    def emit(self, tick: TickData) -> None:
        recv_ns = time.time_ns()
        self.received += 1
        dt_ns = datetime_ns(tick.datetime)
        if self.cleanser.check(tick, dt_ns) is not None:
            return
        topic, key, body = encode_tick(tick, recv_ns, dt_ns)
        self.sender.send_tick(topic, key, body)
        self.sent += 1

    def emit_numbers(
        self, vt_symbol: str, topic: bytes, prefix: bytes, numbers: list[Any], dt_ns: int, recv_ns: int
    ) -> None:
        """What ``emit`` does, for a tick given as its ``NUMBER_FIELDS`` values (a list) and
        its contract's body prefix (``aggregation.tick_codec.body_prefix``): the fast paths
        (``gateways.kinds.fast_record``) read the vendor's record straight into this, with
        no ``TickData``; the frame is byte for byte the one ``emit`` makes of vn.py's tick."""
        self.received += 1
        if self.cleanser.check_values(vt_symbol, numbers, dt_ns) is not None:
            return
        body = encode_body(prefix, numbers, dt_ns, None, recv_ns)
        self.sender.send_tick(topic, content_hash_key(dt_ns, numbers), body)
        self.sent += 1


class HubLogHandler(logging.Handler):
    """Sends the worker's log records to the hub, which shows them live and stores them."""

    def __init__(self, sender: Sender) -> None:
        super().__init__()
        self.sender = sender

    def emit(self, record: logging.LogRecord) -> None:
        try:
            payload = {
                "level": record.levelname,
                "msg": self.format(record),
                "ts": record.created,
                "logger": record.name,
            }
            self.sender.send(KIND_LOG, pack(payload))
        except Exception:  # noqa: BLE001 - logging must never raise into the tick path
            self.handleError(record)


@dataclass
class KindStatus:
    connected: bool = False
    logged_in: bool = False
    subscribed: int = 0
    error: str = ""
    reconnects: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


DEFAULT_SUBSCRIBE_BATCH = 200
# Between two subscription batches: CTP fronts throttle a burst of requests (flow control),
# and thousands of option contracts subscribed at once get some of them silently ignored.
SUBSCRIBE_PAUSE = 0.2


class GatewayKind:
    """Base of the gateway kinds (``ctp``, ``sopt``, ``sim``).

    ``subscribe`` never blocks: it queues the symbols in batches of the spec's
    ``subscribe_batch`` (the hub's ``MDHUB_SUBSCRIBE_BATCH``) and a helper thread hands
    them to the kind's ``subscribe_batch`` one batch at a time, ``SUBSCRIBE_PAUSE`` apart.
    """

    subscribe_pause = SUBSCRIBE_PAUSE

    def __init__(self, spec: dict[str, Any], emitter: TickEmitter) -> None:
        self.spec = spec
        self.account: str = spec["account"]
        self.settings: dict[str, Any] = spec.get("settings") or {}
        self.emitter = emitter
        self.emit = emitter.emit
        self.batch_size = max(1, int(spec.get("subscribe_batch") or DEFAULT_SUBSCRIBE_BATCH))
        self._batches: deque[list[str]] = deque()
        self._batch_lock = threading.Lock()
        self._batcher: threading.Thread | None = None

    def start(self) -> None:
        raise NotImplementedError

    def subscribe(self, vt_symbols: list[str]) -> None:
        if not vt_symbols:
            return
        size = self.batch_size
        with self._batch_lock:
            self._batches.extend(vt_symbols[i : i + size] for i in range(0, len(vt_symbols), size))
            if self._batcher is None:
                self._batcher = threading.Thread(
                    target=self._subscribe_batches, name=f"subscribe-{self.account}", daemon=True
                )
                self._batcher.start()

    def _subscribe_batches(self) -> None:
        while True:
            with self._batch_lock:
                if not self._batches:
                    self._batcher = None
                    return
                batch = self._batches.popleft()
                more = bool(self._batches)
            try:
                self.subscribe_batch(batch)
            except Exception:  # one bad batch must not stop the others
                log.exception("%s: subscribing %d contracts failed", self.account, len(batch))
            if more:
                time.sleep(self.subscribe_pause)

    def subscribe_batch(self, vt_symbols: list[str]) -> None:
        """Subscribe one batch (at most ``batch_size`` symbols)."""
        raise NotImplementedError

    def status(self) -> KindStatus:
        raise NotImplementedError

    def handle_command(self, command: dict[str, Any]) -> None:
        """Kind-specific commands from the hub; the base knows none."""
        log.warning("%s: unknown command %r", self.account, command.get("cmd"))
