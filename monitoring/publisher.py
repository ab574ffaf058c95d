"""The hub's side of the control plane (DESIGN §6), on its own thread.

The engine's loop calls ``state``, ``event`` and ``failover``, and the logging handler
calls ``log``: each only puts an item on a bounded queue (``put_nowait``; when the queue is
full the item is counted and dropped), so the tick path never waits on Redis or the
database. The thread runs an asyncio loop that every ``FLUSH_INTERVAL``:

* writes the newest state snapshot to ``STATE_KEY`` with its TTL and sends it to the
  WebSocket group as ``gateway.status`` (plus a small ``hub.metrics``);
* stores events as ``Event`` rows and sends them as ``hub.event`` / ``hub.failover``;
* appends log records to the bounded list ``LOG_KEY`` and sends them as ``hub.log``;

and it receives commands on ``COMMAND_CHANNEL`` and hands them to a ``CommandSink`` (the
engine, given by ``runhub``), reading the accounts through the ``AccountsLoader`` it was given:
the operations side never imports the engine's loop or the database wiring. When Redis
is down it keeps the newest snapshot and the unsent log records (bounded), retries every
flush, and catches up when Redis returns; events still go to the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis

from aggregation.access import ClientIdentity
from bridge.status import read_statuses
from engine.config import AccountConfig
from engine.records import EngineEvent, FailoverChange, StatusDocument
from engine.states import AccountChange, Command
from gateways.logredact import RedactSecretsFilter
from monitoring.history import HistoryRecorder
from webbase.live_state import (
    ACCOUNTS_CHANGED,
    CLIENTS_CHANGED,
    COMMAND_CHANNEL,
    COMMANDS,
    LIVE_GROUP,
    LOG_KEEP,
    LOG_KEY,
    STATE_KEY,
    STATE_TTL_SECONDS,
)

log = logging.getLogger("mdhub.publisher")

FLUSH_INTERVAL = 0.1
QUEUE_LIMIT = 20_000
THREAD_NAME = "mdhub-publisher"


class CommandSink(Protocol):
    """Where operator commands and account changes go (the engine); thread-safe, never blocks."""

    def command(self, command: Command, account: str) -> None: ...
    def accounts_changed(
        self, accounts: list[AccountConfig], account: str, change: AccountChange
    ) -> None: ...


# Reads every account as now stored; called on a worker thread (it may wait on the database).
AccountsLoader = Callable[[], list[AccountConfig]]
# The stream clients' table (clients_access.models.load_identities), set by runhub.
ClientsLoader = Callable[[], list[ClientIdentity]]
CHANGES = tuple(c.value for c in AccountChange)


class LivePublisher:
    def __init__(self, redis_url: str, bridge_dir: Path | None = None) -> None:
        self.redis_url = redis_url
        # Where the JetStream bridges beside this hub write their status (docs/jetstream.md):
        # read here, on the publisher's thread, never on the engine's.
        self.bridge_dir = bridge_dir
        self.items: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue(maxsize=QUEUE_LIMIT)
        self.dropped = 0
        self.sink: CommandSink | None = None
        self.load_accounts: AccountsLoader | None = None
        # ``clients.changed``: read the table, hand it to ``clients_sink`` (engine.clients_changed).
        self.load_clients: ClientsLoader | None = None
        self.clients_sink: Callable[[list[ClientIdentity]], None] | None = None
        self._clients_reload: asyncio.Task[None] | None = None
        self._pending_logs: deque[dict[str, Any]] = deque(maxlen=LOG_KEEP)
        self._state: dict[str, Any] | None = None
        self.history = HistoryRecorder()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._redis_down_since: float | None = None
        self._reload: asyncio.Task[None] | None = None
        self._reload_again: tuple[str, AccountChange] | None = None

    # -- called from the engine's thread (never block) ------------------------------------

    def _put(self, kind: str, item: dict[str, Any]) -> None:
        try:
            self.items.put_nowait((kind, item))
        except queue.Full:
            self.dropped += 1

    def state(self, document: StatusDocument) -> None:
        self._put("state", document.as_dict())

    def event(self, event: EngineEvent) -> None:
        self._put("event", event.as_dict())

    def failover(self, change: FailoverChange) -> None:
        self._put("failover", change.as_dict())

    def log(self, record: dict[str, Any]) -> None:
        self._put("log", record)

    # -- the thread ---------------------------------------------------------------------------

    def start(self, sink: CommandSink, load_accounts: AccountsLoader) -> None:
        self.sink, self.load_accounts = sink, load_accounts
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def close(self, timeout: float = 3.0) -> None:
        """Say the engine is going away (best effort), then end the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        client = aioredis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
        receiver = asyncio.create_task(self._receive_commands(layer))
        try:
            while not self._stop.is_set():
                await self._flush(client, layer)
                await asyncio.sleep(FLUSH_INTERVAL)
            await self._flush(client, layer)
            await self._say_offline(client, layer)
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _flush(self, client: aioredis.Redis, layer: Any) -> None:
        events: list[dict[str, Any]] = []
        failovers: list[dict[str, Any]] = []
        logs: list[dict[str, Any]] = []
        while True:
            try:
                kind, item = self.items.get_nowait()
            except queue.Empty:
                break
            if kind == "state":
                self._state = item
            elif kind == "event":
                events.append(item)
            elif kind == "failover":
                failovers.append(item)
            else:
                logs.append(item)
        if events:
            # The database is the record of what happened: written whatever Redis does.
            stored = await asyncio.to_thread(save_events, events)
            await self._group_send(layer, [{"type": "hub.event", "event": e} for e in stored])
        if failovers:
            await self._group_send(layer, [{"type": "hub.failover", **f} for f in failovers])
        self._pending_logs.extend(logs)
        if logs:
            await self._group_send(layer, [{"type": "hub.log", "records": logs}])
        await self._write_redis(client, layer)

    async def _write_redis(self, client: aioredis.Redis, layer: Any) -> None:
        state, pending = self._state, list(self._pending_logs)
        if state is None and not pending:
            return
        try:
            async with client.pipeline(transaction=False) as pipe:
                if state is not None:
                    if self.bridge_dir is not None:
                        state["bridges"], _unreadable = read_statuses(self.bridge_dir)
                    # The speed summary and the charts' samples go to keys of their own.
                    self.history.record(pipe, state)
                    pipe.set(STATE_KEY, json.dumps(state), ex=STATE_TTL_SECONDS)
                if pending:
                    pipe.rpush(LOG_KEY, *[json.dumps(r) for r in pending])
                    pipe.ltrim(LOG_KEY, -LOG_KEEP, -1)
                await pipe.execute()
        except (redis.RedisError, OSError) as exc:
            if self._redis_down_since is None:
                self._redis_down_since = time.monotonic()
                log.warning("Redis unreachable (%s): state and logs held until it returns", exc)
            return
        if self._redis_down_since is not None:
            log.warning("Redis is back after %.0f s", time.monotonic() - self._redis_down_since)
            self._redis_down_since = None
        self._pending_logs.clear()
        if state is not None:
            self._state = None
            await self._group_send(
                layer,
                [
                    {"type": "gateway.status", "state": state},
                    {"type": "hub.metrics", "metrics": metrics_of(state)},
                ],
            )

    async def _group_send(self, layer: Any, messages: list[dict[str, Any]]) -> None:
        if self._redis_down_since is not None:
            return  # live frames are ephemeral; events are in the database already
        try:
            for message in messages:
                await layer.group_send(LIVE_GROUP, message)
        except Exception as exc:  # noqa: BLE001 - channels_redis raises redis and OS errors alike
            log.debug("group send failed: %s", exc)

    async def _say_offline(self, client: aioredis.Redis, layer: Any) -> None:
        with contextlib.suppress(Exception):
            await client.delete(STATE_KEY)
        await self._group_send(layer, [{"type": "engine.offline"}])

    async def _receive_commands(self, layer: Any) -> None:
        while True:
            try:
                message = await layer.receive(COMMAND_CHANNEL)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis down: wait and listen again
                log.debug("command channel: %s", exc)
                await asyncio.sleep(1.0)
                continue
            await self._on_command(message)

    async def _reload_accounts(
        self, sink: CommandSink, load: AccountsLoader, account: str, change: AccountChange
    ) -> None:
        while True:
            self._reload_again = None
            try:
                accounts = await asyncio.to_thread(load)
            except Exception as exc:  # noqa: BLE001 - a database outage must not end the publisher
                log.warning("accounts not reloaded (%s): the hub keeps the ones it has", exc)
                return
            sink.accounts_changed(accounts, account, change)
            if self._reload_again is None:
                return
            account, change = self._reload_again

    async def _reload_clients(
        self, load: ClientsLoader, sink: Callable[[list[ClientIdentity]], None]
    ) -> None:
        try:
            clients = await asyncio.to_thread(load)
        except Exception as exc:  # noqa: BLE001 - a database outage must not end the publisher
            log.warning("stream clients not reloaded (%s): the hub keeps the ones it has", exc)
            return
        sink(clients)

    async def _on_command(self, message: Any) -> None:
        sink, load = self.sink, self.load_accounts
        if sink is None or load is None or not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "gateway.command":
            command, account = message.get("command"), message.get("account")
            if command in COMMANDS and isinstance(account, str):
                sink.command(Command(command), account)
                return
        elif kind == CLIENTS_CHANGED:
            if self.load_clients is not None and self.clients_sink is not None:
                self._clients_reload = asyncio.create_task(
                    self._reload_clients(self.load_clients, self.clients_sink)
                )
            return
        elif kind == ACCOUNTS_CHANGED:
            account = str(message.get("account") or "")
            named = message.get("change")
            change = AccountChange(named) if named in CHANGES else AccountChange.SAVED
            # Read the accounts off the receive loop: a database that makes us wait (SQLite's
            # lock, up to its 5 s timeout) must not hold up the start/stop/restart behind it.
            # Several changes while a read runs are covered by one more read.
            if self._reload is not None and not self._reload.done():
                self._reload_again = (account, change)
            else:
                self._reload = asyncio.create_task(self._reload_accounts(sink, load, account, change))
            return
        log.warning("ignored a malformed command: %.200r", message)


def save_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Store events (on a worker thread of the publisher); returns them with ids."""
    from django.db import close_old_connections

    from monitoring.models import Event

    close_old_connections()
    stored = []
    for event in events:
        try:
            row = Event.objects.create(
                ts=datetime.fromtimestamp(event["ts"], tz=UTC),
                account=event.get("account") or "",
                kind=event["kind"],
                state_from=event.get("state_from") or "",
                state_to=event.get("state_to") or "",
                reason=str(event.get("reason") or "")[:500],
            )
        except Exception as exc:  # noqa: BLE001 - a database outage must not end the publisher
            log.warning("event not stored (%s): %s", exc, event)
            stored.append(event)
            continue
        stored.append({**event, "id": row.pk})
    return stored


def metrics_of(state: dict[str, Any]) -> dict[str, Any]:
    """The small live figures the dashboard charts; ``/metrics`` has the full set."""
    hub = state.get("hub") or {}
    return {
        "ts": state.get("updated_at"),
        "forwarded": hub.get("forwarded", 0),
        "malformed": hub.get("malformed", 0),
        "tick_rate": {g["id"]: g.get("tick_rate", 0.0) for g in state.get("gateways", [])},
    }


class LiveLogHandler(logging.Handler):
    """Hands the hub's log records (its own and the workers', which the hub re-logs) to
    the publisher for the bounded store and the WebSocket. Never blocks, never raises."""

    def __init__(self, publisher: LivePublisher, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.publisher = publisher
        self.addFilter(RedactSecretsFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.publisher.log(
                {
                    "ts": record.created,
                    "level": record.levelname,
                    "account": str(getattr(record, "account", "") or ""),
                    "logger": record.name,
                    "msg": record.getMessage(),
                }
            )
        except Exception:  # noqa: BLE001
            self.handleError(record)
