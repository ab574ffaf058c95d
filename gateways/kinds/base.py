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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import zmq

from aggregation.cleanse import Cleanser
from aggregation.wire import KIND_LOG, KIND_TICK, encode_tick, pack

if TYPE_CHECKING:
    from vnpy.trader.object import TickData

log = logging.getLogger("mdhub.worker")


class Sender:
    """PUSH frames to the hub from any thread: one socket per thread (ZMQ sockets are not
    thread-safe), never blocking. When the hub is gone and the buffer is full a frame is
    dropped and counted: a gateway callback thread must never stall."""

    def __init__(self, ctx: zmq.Context[Any], address: str, account: str) -> None:
        self.ctx = ctx
        self.address = address
        self.account = account.encode()
        self.local = threading.local()
        self.dropped = 0
        self._sockets: list[zmq.Socket[Any]] = []
        self._lock = threading.Lock()

    def _socket(self) -> zmq.Socket[Any]:
        sock: zmq.Socket[Any] | None = getattr(self.local, "sock", None)
        if sock is None:
            sock = self.ctx.socket(zmq.PUSH)
            sock.setsockopt(zmq.SNDHWM, 200_000)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.IMMEDIATE, 1)
            sock.connect(self.address)
            self.local.sock = sock
            with self._lock:
                self._sockets.append(sock)
        return sock

    def send(self, kind: bytes, *frames: bytes) -> None:
        try:
            self._socket().send_multipart((kind, self.account, *frames), zmq.NOBLOCK)
        except zmq.Again:
            self.dropped += 1


@dataclass
class TickEmitter:
    sender: Sender
    cleanser: Cleanser
    received: int = 0
    sent: int = 0

    def emit(self, tick: TickData) -> None:
        recv_ns = time.time_ns()
        self.received += 1
        if self.cleanser.check(tick) is not None:
            return
        topic, key, body = encode_tick(tick, recv_ns)
        self.sender.send(KIND_TICK, topic, key, body)
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


class GatewayKind:
    """Base of the gateway kinds (``ctp``, ``sopt``, ``sim``)."""

    def __init__(self, spec: dict[str, Any], emitter: TickEmitter) -> None:
        self.spec = spec
        self.account: str = spec["account"]
        self.settings: dict[str, Any] = spec.get("settings") or {}
        self.emitter = emitter
        self.emit = emitter.emit

    def start(self) -> None:
        raise NotImplementedError

    def subscribe(self, vt_symbols: list[str]) -> None:
        raise NotImplementedError

    def status(self) -> KindStatus:
        raise NotImplementedError

    def handle_command(self, command: dict[str, Any]) -> None:
        """Kind-specific commands from the hub; the base knows none."""
        log.warning("%s: unknown command %r", self.account, command.get("cmd"))
