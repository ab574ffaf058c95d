"""The ``sim`` kind: one source reading the simulated exchange, with its own latency,
jitter and loss, and the faults the exchange injects into it."""

from __future__ import annotations

import heapq
import logging
import os
import random
import signal
import threading
import time
from typing import Any

import msgpack
import zmq

from aggregation.wire import datetime_from_ns
from gateways.kinds.base import GatewayKind, KindStatus, TickEmitter
from gateways.kinds.fast_record import SimRecordPath
from gateways.simexchange import CONTROL_PREFIX, SNAP_TOPIC

log = logging.getLogger("mdhub.worker.sim")


def _garble(snap: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Junk of the kinds real fronts send, one kind per snapshot."""
    bad = dict(snap)
    choice = rng.randrange(6)
    if choice == 0:
        bad["last_price"] = float("nan")
    elif choice == 1:
        bad["volume"] = -abs(bad["volume"]) - 1
    elif choice == 2:
        bad["bid_price_1"] = bad["ask_price_1"] + 10 * abs(bad["ask_price_1"] - bad["bid_price_1"] or 1)
    elif choice == 3:
        bad["last_price"] = bad["limit_up"] * 2
    elif choice == 4:
        bad["datetime"] = bad["datetime"] + 3600 * 1_000_000_000  # an hour in the future
    else:
        bad["last_price"] = 1.7976931348623157e308
        for level in range(1, 6):
            bad[f"bid_price_{level}"] = bad[f"ask_price_{level}"] = 1.7976931348623157e308
    return bad


class SimKind(GatewayKind):
    def __init__(self, spec: dict[str, Any], emitter: TickEmitter) -> None:
        super().__init__(spec, emitter)
        from vnpy.trader.constant import Exchange
        from vnpy.trader.object import TickData

        from aggregation.sessions import CHINA_TZ

        self._tick_cls = TickData
        self._exchanges = {e.value: e for e in Exchange}
        self._tz = CHINA_TZ
        self._fast = SimRecordPath(emitter, set(self._exchanges))
        self.latency_ns = int(float(self.settings.get("latency_ms", 0)) * 1e6)
        self.jitter_ns = int(float(self.settings.get("jitter_ms", 0)) * 1e6)
        self.loss = float(self.settings.get("loss", 0))
        self.rng = random.Random()
        self.wanted: set[str] = set()
        self.subscribe_all = False
        self.faults: dict[str, float] = {}  # fault → until (monotonic)
        self.state = KindStatus()
        self.hanging = False
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.account}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # A simulated front has no flow control: no pause between batches.
    subscribe_pause = 0.0

    def subscribe_batch(self, vt_symbols: list[str]) -> None:
        if "*" in vt_symbols:
            self.subscribe_all = True
        self.wanted.update(s for s in vt_symbols if s != "*")
        self.state.subscribed = len(self.wanted)

    def unsubscribe(self, vt_symbols: list[str]) -> None:
        """Warm-mode standby: stop delivering these (the hub sends the list minus canaries)."""
        self.wanted.difference_update(vt_symbols)
        self.state.subscribed = len(self.wanted)

    def status(self) -> KindStatus:
        return self.state

    # -- the feed thread, standing in for a vendor API's callback thread --------------

    def _run(self) -> None:
        ctx = zmq.Context.instance()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.RCVHWM, 1_000_000)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, SNAP_TOPIC)
        sub.setsockopt(zmq.SUBSCRIBE, CONTROL_PREFIX + self.account.encode())
        sub.connect(self.spec["sim_addr"])
        self.state.connected = self.state.logged_in = True
        log.info("%s: logged in to the simulated exchange", self.account)
        pending: list[tuple[int, int, dict[str, Any]]] = []
        order = 0
        # A front never reorders one contract's snapshots: jitter delays a snapshot, but never
        # past the next one of the same contract (which a starved reader may get in one batch).
        last_due: dict[tuple[str, str], int] = {}
        while True:
            now = time.time_ns()
            while pending and pending[0][0] <= now:
                self._deliver(heapq.heappop(pending)[2])
            timeout = 100 if not pending else max(0, (pending[0][0] - time.time_ns()) // 1_000_000)
            if not sub.poll(timeout):
                self._expire_faults()
                continue
            while True:
                try:
                    topic, data = sub.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if topic != SNAP_TOPIC:
                    self._fault(msgpack.unpackb(data))
                    continue
                if self.loss and self.rng.random() < self.loss:
                    continue
                snap = msgpack.unpackb(data)
                delay = self.latency_ns + (self.rng.randrange(self.jitter_ns) if self.jitter_ns else 0)
                if delay:
                    order += 1
                    contract = (snap["symbol"], snap["exchange"])
                    due = max(time.time_ns() + delay, last_due.get(contract, 0))
                    last_due[contract] = due
                    heapq.heappush(pending, (due, order, snap))
                else:
                    self._deliver(snap)
            self._expire_faults()

    def _deliver(self, snap: dict[str, Any]) -> None:
        if self.hanging:
            while True:
                time.sleep(3600)
        vt_symbol = f"{snap['symbol']}.{snap['exchange']}"
        if not (self.subscribe_all or vt_symbol in self.wanted):
            return
        faults = self.faults
        if faults:
            if "disconnect" in faults or "freeze" in faults or "storm" in faults:
                return
            if "garbage" in faults:
                snap = _garble(snap, self.rng)
        # The fast path (gateways.kinds.fast_record): the same frame without a TickData.
        if self._fast.deliver(snap):
            return
        fields = dict(snap)
        fields["exchange"] = self._exchanges[snap["exchange"]]
        fields["datetime"] = datetime_from_ns(snap["datetime"], self._tz)
        tick = self._tick_cls(gateway_name=self.account, **fields)
        self.emit(tick)

    def _fault(self, request: dict[str, Any]) -> None:
        fault = str(request.get("fault"))
        seconds = float(request.get("seconds") or 0)
        log.warning("%s: fault injected: %s for %.1f s", self.account, fault, seconds)
        if fault == "crash":
            os.kill(os.getpid(), signal.SIGKILL)
        if fault == "hang":
            # Like a vendor library deadlocked with the GIL held: no heartbeat, and SIGTERM
            # is not honoured, so the hub has to SIGKILL.
            self.hanging = True
            self.state.extra["hang"] = True
            return
        if fault == "recover":
            self.faults.clear()
            return
        self.faults[fault] = time.monotonic() + seconds
        if fault == "disconnect":
            self.state.connected = self.state.logged_in = False
            log.warning("%s: front disconnected", self.account)
        if fault == "storm":
            self._storm(seconds)

    def _storm(self, seconds: float) -> None:
        # A front that accepts and closes at once: connect/disconnect many times a second.
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.state.connected = not self.state.connected
            self.state.logged_in = False
            self.state.reconnects += 1
            time.sleep(0.02)
        self.faults.pop("storm", None)
        self.state.connected = self.state.logged_in = True

    def _expire_faults(self) -> None:
        if not self.faults:
            return
        now = time.monotonic()
        for fault, until in list(self.faults.items()):
            if until <= now:
                del self.faults[fault]
                if fault == "disconnect":
                    self.state.connected = self.state.logged_in = True
                    self.state.reconnects += 1
                    log.info("%s: reconnected and logged in", self.account)
                else:
                    log.info("%s: %s fault over", self.account, fault)
