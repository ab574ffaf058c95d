"""Connect again after a refused handshake: libzmq does not (docs/access.md, "Connection").

A CURVE client whose key the hub does not know yet (an operator just added it; the hub loads
it on ``clients.changed`` within a second) is refused by ZAP: libzmq 4.3 treats the ERROR
command as a protocol error and ends that connection for good, with no reconnect (libzmq
#2329, #3519; seen with 4.3.5). ``Redial`` notices it from the socket's monitor and, after a
backoff, runs ``disconnect`` + ``connect`` on the same socket: that is enough for libzmq to
dial again (tested; no new socket needed), and the socket keeps its options, CURVE keys
and subscriptions (a SUB sends them to each new connection). A key that is never allowed
costs one attempt per ``RETRY_MAX_S``.

pyzmq only, no Django import: ``aggregation.client`` and ``aggregation.conflation_client`` use it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import zmq
from zmq.utils.monitor import parse_monitor_message

# The monitor events after which libzmq gives up on the connection. Not
# EVENT_HANDSHAKE_FAILED_NO_DETAIL: that one is a connection lost mid-handshake, which
# libzmq redials by itself.
REFUSED_EVENTS = zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 5.0


@dataclass(slots=True)
class Redial:
    """One ``connect``-ed socket, dialled again with a doubling backoff while it is refused."""

    sock: zmq.Socket[Any]
    endpoint: str
    delay: float = RETRY_FIRST_S
    # When to dial again; inf while not refused.
    due: float = math.inf

    @property
    def refused_now(self) -> bool:
        return self.due != math.inf

    def refused(self, now: float) -> None:
        if self.refused_now:
            return  # already waiting to dial again for this attempt
        self.due = now + self.delay
        self.delay = min(self.delay * 2, RETRY_MAX_S)

    def accepted(self) -> None:
        self.delay = RETRY_FIRST_S
        self.due = math.inf

    def redial(self, now: float, *, early: bool = False) -> bool:
        """Dial again if it is time (``early``: if refused at all); whether it did."""
        if not self.refused_now or (now < self.due and not early):
            return False
        self.due = math.inf
        # If libzmq already forgot the endpoint, connect is all it takes.
        with contextlib.suppress(zmq.ZMQError):
            self.sock.disconnect(self.endpoint)
        self.sock.connect(self.endpoint)
        return True


def monitor_events(monitor: zmq.Socket[Any]) -> Iterator[Mapping[str, Any]]:
    """The events queued on a socket's monitor, parsed, without waiting."""
    while True:
        try:
            frames = monitor.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return
        yield parse_monitor_message(frames)


def describe(event: int, value: int) -> str:
    """Why a handshake failed, for a log line (never the keys)."""
    if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        return f"ZAP status {value}: is this client's key allowed on the hub (added and enabled) yet?"
    return f"protocol error {value:#x}: is server_key the hub's public key, and does the hub run CURVE?"
