"""The gateway worker process: one per account, started by the hub (DESIGN §1, §3).

    python -m gateways.worker [workdir] < spec.json

The spec (account, kind, settings with secrets, endpoints, work directory, subscriptions,
contracts, calendar) comes on standard input, so secrets are never on a command line or
on disk. The worker runs in its own work directory (vn.py writes flow files under
``./.vntrader``), sends ticks, a status frame every ``STATUS_INTERVAL`` (the heartbeat) and
its logs to the hub, and takes commands from the hub. It is stopped by ending the process:
vn.py's ``close()`` can crash or deadlock. No Django import.

A worker never outlives its hub (issue 10): the kernel's parent-death signal
(``gateways.parent_death``) ends it when the hub dies, and it exits by itself when it is
re-parented or when the hub's control heartbeat has been silent for the spec's
``hub_silence_timeout`` (a hub that hangs, or a worker whose hub is not its parent). Without
that ending an orphan keeps its broker login and pushes into the next hub's ingest socket.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import zmq

from aggregation.cleanse import Cleanser
from aggregation.sessions import calendar_from_spec
from aggregation.wire import KIND_STATUS, pack, unpack
from gateways.kinds import kind_class
from gateways.kinds.base import GatewayKind, HubLogHandler, Sender, TickEmitter
from gateways.log_limit import RepeatLimiter
from gateways.logredact import RedactSecretsFilter
from gateways.parent_death import die_with_parent, parent_gone

STATUS_INTERVAL = 0.5
# Cleansing drops are summarised in one log line a second; past this share of the ticks
# the line is an ERROR (the source is sending junk), below it a WARNING.
JUNK_ERROR_SHARE = 0.5

log = logging.getLogger("mdhub.worker")


class Worker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.account: str = spec["account"]
        self.shutdown = threading.Event()
        self.ctx: zmq.Context[Any] = zmq.Context.instance()
        self.sender = Sender(self.ctx, spec["ingest"], self.account)
        self.cleanser = Cleanser(
            calendar=calendar_from_spec(spec.get("calendar")),
            max_skew_ns=int(float(spec.get("max_skew", 60)) * 1e9),
        )
        self.emitter = TickEmitter(self.sender, self.cleanser)
        self.kind: GatewayKind = kind_class(spec["gateway_type"])(spec, self.emitter)
        self._last_drops: dict[str, int] = {}
        self._last_received = 0
        self.parent_pid: int | None = spec.get("parent_pid")
        # 0: no heartbeat expected (a worker started without a hub, as some tests do).
        self.hub_silence_timeout = float(spec.get("hub_silence_timeout") or 0)
        self.last_hub_message = time.monotonic()

    def run(self) -> None:
        control = self.ctx.socket(zmq.SUB)
        control.setsockopt(zmq.LINGER, 0)
        control.setsockopt(zmq.SUBSCRIBE, self.account.encode())
        control.setsockopt(zmq.SUBSCRIBE, b"*")
        control.connect(self.spec["control"])
        threading.Thread(target=self._status_loop, name="status", daemon=True).start()
        self.kind.start()
        self.kind.subscribe(list(self.spec.get("subscriptions") or []))
        while not self.shutdown.is_set():
            if control.poll(200):
                _, data = control.recv_multipart()
                self.last_hub_message = time.monotonic()
                self._command(unpack(data))
            elif self.hub_gone():
                return

    def hub_gone(self) -> bool:
        """Whether the hub that started us is gone or has stopped talking to us."""
        if self.parent_pid is not None and parent_gone(self.parent_pid):
            log.error("%s: the hub (pid %d) is gone; the worker ends", self.account, self.parent_pid)
            return True
        silent = time.monotonic() - self.last_hub_message
        if self.hub_silence_timeout and silent > self.hub_silence_timeout:
            log.error("%s: no word from the hub for %.0f s; the worker ends", self.account, silent)
            return True
        return False

    def _command(self, command: dict[str, Any]) -> None:
        if command.get("cmd") == "heartbeat":
            return  # its arrival is all it says
        if command.get("cmd") == "subscribe":
            self.kind.subscribe(list(command.get("symbols") or []))
        elif command.get("cmd") == "unsubscribe":
            # Warm-mode standby. A kind that cannot unsubscribe keeps delivering: harmless,
            # the hub's dedup drops the extra copies.
            unsubscribe = getattr(self.kind, "unsubscribe", None)
            if unsubscribe is None:
                log.info("%s: this gateway cannot unsubscribe; it keeps its subscriptions", self.account)
            else:
                unsubscribe(list(command.get("symbols") or []))
        else:
            self.kind.handle_command(command)

    def _status_loop(self) -> None:
        next_summary = time.monotonic() + 1.0
        while not self.shutdown.is_set():
            status = self.kind.status()
            if status.extra.get("hang"):
                return  # a hung worker sends no heartbeat: that is what the hub must notice
            frame = {
                "connected": status.connected,
                "logged_in": status.logged_in,
                "subscribed": status.subscribed,
                "error": status.error,
                "reconnects": status.reconnects,
                "pid": os.getpid(),
                "ts": time.time(),
                "received": self.emitter.received,
                "sent": self.emitter.sent,
                "drops": self.cleanser.counts(),
                "backpressure": self.sender.dropped,
            }
            self.sender.send(KIND_STATUS, pack(frame))
            if time.monotonic() >= next_summary:
                next_summary += 1.0
                self._summarise_drops()
            time.sleep(STATUS_INTERVAL)

    def _summarise_drops(self) -> None:
        drops = self.cleanser.counts()
        new = {rule: n - self._last_drops.get(rule, 0) for rule, n in drops.items()}
        new = {rule: n for rule, n in new.items() if n}
        received = self.emitter.received - self._last_received
        self._last_drops, self._last_received = drops, self.emitter.received
        if not new:
            return
        total = sum(new.values())
        detail = ", ".join(f"{rule}: {n}" for rule, n in sorted(new.items()))
        level = logging.ERROR if received and total / received > JUNK_ERROR_SHARE else logging.WARNING
        log.log(
            level,
            "%s: dropped %d bad ticks of %d in the last second (%s)",
            self.account,
            total,
            received,
            detail,
        )

    def stop(self, signum: int, frame: Any) -> None:
        if self.kind.status().extra.get("hang"):
            return
        self.shutdown.set()


def main() -> None:
    spec = json.loads(sys.stdin.read())
    die_with_parent(spec.get("parent_pid"))
    workdir = Path(spec["workdir"])
    (workdir / ".vntrader").mkdir(parents=True, exist_ok=True)
    # vn.py picks ./.vntrader of the working directory for its flow files: one per account.
    os.chdir(workdir)
    # Every record goes to the hub, which logs it with the account's name; the worker's own
    # stderr (the hub's console too) gets only what may never reach the hub.
    logging.basicConfig(level=spec.get("log_level", "INFO"), format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger().handlers[0].setLevel(logging.CRITICAL)
    worker = Worker(spec)
    handler = HubLogHandler(worker.sender)
    handler.addFilter(RedactSecretsFilter())
    handler.addFilter(RepeatLimiter())
    logging.getLogger().addHandler(handler)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    try:
        worker.run()
    finally:
        # Skip vn.py's close() and every atexit hook: end the process here.
        logging.shutdown()
        os._exit(0)


if __name__ == "__main__":
    main()
