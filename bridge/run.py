"""The hub → JetStream bridge process: ``python -m bridge.run`` (docs/jetstream.md).

A ``HubReader`` thread reads the hub's stream as a client into a bounded hand-off; this
module's asyncio loop publishes it to JetStream with at most ``inflight`` publishes awaiting
their acknowledgement. Every message carries ``Nats-Msg-Id`` = topic + content key, so the
copies of one snapshot from several hubs are stored once (the stream's duplicate window).

NATS down or slow: the loop stops publishing until the connection is back, and publishes
again from the oldest unacknowledged message, in order (go-back-N: what JetStream already
stored comes back as a duplicate acknowledgement, not a second copy). Meanwhile the reader
fills the hand-off; when it is full the reader lets go of the hub and later resumes from
the hub's journal. The positions acknowledged are saved (``bridge-<name>.cursor``), so a
restarted bridge resumes after them as well.

The bridge's lag and counters go to ``bridge-<name>.json`` in the state directory once a
second (``bridge.status``), for the hub's publisher and the dashboard to read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.errors import APIError

from bridge.buffer import Entry, Handoff
from bridge.cluster import read_env_file
from bridge.config import BridgeConfig, ConfigError, NatsConfig
from bridge.reader import RESUME_MARGIN_NS, HubReader
from bridge.status import BridgeStatus, write_json
from bridge.stream import ensure_stream

log = logging.getLogger("mdhub.bridge")

STATUS_INTERVAL = 1.0
# After a publish JetStream did not store: wait this long before publishing again (a stream
# electing its leader answers "no responders" for a few seconds; hammering it helps nobody).
RETRY_PAUSE = 0.25
# JetStream's "duplicate message id is in process": an earlier publish of this message is
# being stored right now (a resend overtook it). Not a failure of the stream: ask again for
# that one message only, instead of publishing the whole window again (which would meet the
# same answer for the rest of it and keep a recovering bridge from catching up).
IN_PROCESS = 10158


def in_process(exc: BaseException | None) -> bool:
    return isinstance(exc, APIError) and exc.err_code == IN_PROCESS


@dataclass(slots=True)
class Inflight:
    entry: Entry
    future: asyncio.Future[api.PubAck]
    sent: float


async def connect(config: NatsConfig, name: str, **callbacks: Any) -> Client:
    """A connection that retries for ever: NATS being away is a state, not an error."""

    async def error_cb(exc: Exception) -> None:
        log.warning("NATS: %s", exc)

    return await nats.connect(
        servers=config.servers,
        user=config.user or None,
        password=config.password or None,
        name=name,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
        error_cb=error_cb,
        **callbacks,
    )


class Publisher:
    def __init__(self, config: BridgeConfig, handoff: Handoff, reader: HubReader) -> None:
        self.config = config
        self.handoff = handoff
        self.reader = reader
        self.status = BridgeStatus(name=config.name, hub=config.hub.pub, stream=config.nats.stream)
        self.unacked: deque[Inflight] = deque()
        self.resend: deque[Entry] = deque()
        self.acked: dict[str, tuple[int, int]] = {}
        self.wake = asyncio.Event()
        self.stopping = False
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self.retry_at = 0.0
        self.failing = False
        # Set when a publish behind the head failed, or the connection came back: go back
        # at once rather than at the head's time-out (see _take_acks).
        self.go_back_now = False
        # The head answered IN_PROCESS: published again, alone, before anything new.
        self.republish: Entry | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.handoff.bind(loop, self.wake)

        async def disconnected() -> None:
            self.status.connected = False
            if self.stopping:
                return
            log.warning("NATS connection lost: ticks wait in the bridge (ZeroMQ goes on)")

        async def reconnected() -> None:
            self.status.connected = True
            # What was in flight on the old connection may be lost: publish it again before
            # anything new, or the new would be stored ahead of it.
            self.go_back_now = True
            self.wake.set()
            log.info("NATS connection back")

        self.nc = await connect(
            self.config.nats,
            f"mdhub-bridge-{self.config.name}",
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
        )
        self.status.connected = True
        self.js = self.nc.jetstream(timeout=5)
        await self._ensure_stream()
        self.reader.start()
        status_task = asyncio.create_task(self._status_loop())
        try:
            while not self.stopping:
                worked = await self._step()
                if not worked:
                    self.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), 0.05)
                else:
                    await asyncio.sleep(0)
            await self._flush(5.0)
        finally:
            status_task.cancel()
            self.reader.stop()
            self._write_status()
            await self.nc.close()

    async def _ensure_stream(self) -> None:
        assert self.js is not None
        deadline = time.monotonic() + 30
        while True:
            try:
                await ensure_stream(self.js, self.config.nats.stream, self.config.stream)
                return
            except (APIError, TimeoutError, nats.errors.Error) as exc:
                # A cluster just started elects its meta leader first.
                if time.monotonic() > deadline:
                    raise
                log.info("JetStream not ready yet (%s); retrying", exc)
                await asyncio.sleep(0.5)

    async def _step(self) -> bool:
        """Acknowledgements, time-outs, then new publishes; True when it did something."""
        worked = self._take_acks()
        assert self.nc is not None and self.js is not None
        if not self.nc.is_connected or time.monotonic() < self.retry_at:
            return worked
        if self.republish is not None:
            entry, self.republish = self.republish, None
            try:
                future = await self._publish(entry)
            except (nats.errors.Error, OSError):
                self.resend.appendleft(entry)
                return True
            future.add_done_callback(self._on_ack)
            self.unacked.appendleft(Inflight(entry, future, time.monotonic()))
            return True
        room = self.config.inflight - len(self.unacked)
        if room <= 0:
            return worked
        batch: list[Entry] = []
        while self.resend and len(batch) < room:
            batch.append(self.resend.popleft())
        if len(batch) < room:
            batch.extend(self.handoff.take(room - len(batch)))
        if not batch:
            return worked
        for index, entry in enumerate(batch):
            try:
                future = await self._publish(entry)
            except (nats.errors.Error, OSError) as exc:
                # The connection went (its outbound buffer is full): keep the order.
                log.warning("publish failed (%s); waiting for NATS", exc)
                self.resend.extendleft(reversed(batch[index:]))
                break
            future.add_done_callback(self._on_ack)
            self.unacked.append(Inflight(entry, future, time.monotonic()))
        return True

    def _on_ack(self, future: asyncio.Future[api.PubAck]) -> None:
        if not future.cancelled() and future.exception() is not None and not in_process(future.exception()):
            self.go_back_now = True

    async def _publish(self, entry: Entry) -> asyncio.Future[api.PubAck]:
        """Write one message to the connection; the future is its acknowledgement. Awaited
        one after another, so the messages go out in the order they came from the hub."""
        assert self.js is not None
        self.status.sent += 1
        return await self.js.publish_async(entry.subject, entry.payload, headers=dict(entry.headers))

    def _take_acks(self) -> bool:
        worked = False
        now = time.monotonic()
        while self.unacked:
            head = self.unacked[0]
            if head.future.done():
                self.unacked.popleft()
                worked = True
                exc = None if head.future.cancelled() else head.future.exception()
                if in_process(exc):
                    self.republish = head.entry
                    self.resent_one(head)
                    return True
                if head.future.cancelled() or exc is not None:
                    self._go_back(head, f"{type(exc).__name__}: {exc}" if exc else "cancelled")
                    return True
                ack = head.future.result()
                if self.failing:
                    self.failing = False
                    log.info("JetStream stores again")
                if ack.duplicate:
                    self.status.duplicates += 1
                else:
                    self.status.stored += 1
                self.status.last_ack_recv_ns = head.entry.recv_ns
                if head.entry.topic.startswith("tick."):
                    self.acked[head.entry.topic] = (head.entry.epoch, head.entry.seq)
            elif now - head.sent > self.config.ack_timeout:
                self.unacked.popleft()
                self._go_back(head, f"no acknowledgement within {self.config.ack_timeout:.1f} s")
                return True
            else:
                break
        if self.go_back_now:
            self.go_back_now = False
            if self.unacked:
                # A publish behind the head failed (no responders: a stream leader is being
                # elected) or the connection was replaced. The head may be lost too, silently,
                # and a new leader would store what follows before the head's time-out sent
                # it again: out of order. So publish again from the head now, in order (what
                # was stored comes back as a duplicate).
                self._go_back(self.unacked.popleft(), "a later publish failed or the connection changed")
                return True
        return worked

    def resent_one(self, head: Inflight) -> None:
        self.status.resent += 1
        # Not before a short pause: the earlier copy is being stored as we speak.
        self.retry_at = time.monotonic() + 0.05

    def _go_back(self, head: Inflight, why: str) -> None:
        """Publish again from ``head``, in order; the rest in flight is cancelled (what was
        stored comes back as a duplicate)."""
        self.status.failures += 1
        self.retry_at = time.monotonic() + RETRY_PAUSE
        self.go_back_now = False  # this is the going back: everything in flight is resent
        # One WARNING per incident (an outage fails every retry), the rest at DEBUG.
        level = logging.DEBUG if self.failing else logging.WARNING
        self.failing = True
        log.log(level, "JetStream did not store a message (%s): publishing again from it", why)
        entries = [head.entry]
        if self.republish is not None:  # older than the head: it was the head before
            entries.insert(0, self.republish)
            self.republish = None
        for item in self.unacked:
            item.future.cancel()
            entries.append(item.entry)
        self.unacked.clear()
        self.status.resent += len(entries)
        self.resend.extendleft(reversed(entries))

    async def _flush(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (
            self.unacked or self.resend or self.republish is not None or len(self.handoff)
        ) and time.monotonic() < deadline:
            await self._step()
            await asyncio.sleep(0.01)

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL)
            self._write_status()

    def _write_status(self) -> None:
        oldest = [e.entry.recv_ns for e in list(self.unacked)[:1]]
        oldest += [e.recv_ns for e in list(self.resend)[:1]]
        if self.republish is not None:
            oldest.append(self.republish.recv_ns)
        waiting = self.handoff.oldest_recv_ns()
        if waiting is not None:
            oldest.append(waiting)
        now = time.time_ns()
        status = self.status
        status.lag_s = max(0.0, (now - min(oldest)) / 1e9) if oldest else 0.0
        status.buffered = len(self.handoff) + len(self.resend) + (self.republish is not None)
        status.inflight = len(self.unacked)
        status.behind_hub = self.reader.behind
        status.hub_let_go = self.reader.let_go
        status.read = self.reader.read
        status.bad = self.reader.bad
        status.hub_gaps = self.reader.client_stats.get("gaps", 0)
        status.updated_ns = now
        write_json(self.config.status_path, status.as_dict())
        write_json(self.config.cursor_path, {"positions": self.acked, "saved_ns": now})


def load_cursor(path: Path) -> tuple[dict[str, tuple[int, int]], int | None]:
    """Positions acknowledged by an earlier run, and when they were saved."""
    try:
        data = json.loads(path.read_text())
        positions = {str(t): (int(e), int(s)) for t, (e, s) in data["positions"].items()}
        return positions, int(data["saved_ns"])
    except FileNotFoundError:
        return {}, None
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the unreadable cursor %s (%s): starting from the hub's live stream", path, exc)
        return {}, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridge.run", description="The hub → JetStream bridge.")
    parser.add_argument(
        "--env-file",
        type=Path,
        help="NAME=value settings (bridge.cluster --env-file writes them); the environment's own win",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    env = dict(os.environ)
    if args.env_file is not None:
        try:
            env = {**read_env_file(args.env_file), **env}
        except OSError as exc:
            print(f"bridge: --env-file {args.env_file}: {exc.strerror}", file=sys.stderr)
            return 2
    try:
        config = BridgeConfig.from_env(env)
    except ConfigError as exc:
        print(f"bridge: {exc}", file=sys.stderr)
        return 2
    if not config.nats.servers:
        print("bridge: set MDHUB_NATS_URL (e.g. nats://nats1:4222,nats://nats2:4222)", file=sys.stderr)
        return 2
    config.state_dir.mkdir(parents=True, exist_ok=True)
    positions, saved_ns = load_cursor(config.cursor_path)
    if saved_ns is not None:
        since: int | None = saved_ns - RESUME_MARGIN_NS
    elif config.start == "journal":
        # A bridge's first run publishes the hub's whole journal day: what the hub forwarded
        # before the bridge started is on the tape too (message ids keep it single).
        since = 0
    else:
        since = None
    handoff = Handoff(config.buffer)
    reader = HubReader(
        config.hub, handoff, config.name, resume=positions, resume_since_ns=since, curve=config.curve
    )
    publisher = Publisher(config, handoff, reader)
    log.info(
        "bridge %s: hub %s → JetStream %s on %s (%d positions to resume)",
        config.name,
        config.hub.pub,
        config.nats.stream,
        ",".join(config.nats.servers),
        len(positions),
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()

        def stop() -> None:
            publisher.stopping = True
            publisher.wake.set()

        loop.add_signal_handler(signal.SIGTERM, stop)
        loop.add_signal_handler(signal.SIGINT, stop)
        await publisher.run()

    asyncio.run(run())
    print("BRIDGE STOPPED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
