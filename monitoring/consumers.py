"""``/ws/``: live gateway state, failovers, events, logs and metrics for the dashboard.

Each connection joins ``live_state.LIVE_GROUP``, where the hub sends its messages, and
turns them into the frames of docs/api.md. On connect it first sends what a dashboard
needs to draw at once: the current ``gateway.status`` (or ``engine.offline``) from the
snapshot, then the log backlog.

The hub cannot say "I am gone", so the consumer watches: when no ``gateway.status`` came
for a while it reads the snapshot key itself and sends ``engine.offline`` once when the key
has lapsed (and the snapshot again when the hub is back).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from monitoring.serializers import LOG_LEVELS, level_number
from webbase import live_state
from webbase.redis_client import get_redis

logger = logging.getLogger(__name__)

# Close code for an anonymous connection; the dashboard goes to its login page on it.
CLOSE_UNAUTHORIZED = 4401
# Keys of the snapshot that a gateway.status frame carries (the hub's counters stay out).
STATUS_KEYS = ("engine", "updated_at", "mode", "primary", "gateways")


def status_frame(state: dict[str, Any]) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "gateway.status"}
    frame.update({key: state.get(key) for key in STATUS_KEYS})
    frame["engine"] = "online"
    return frame


def filter_records(records: list[Any], minimum: int) -> list[dict[str, Any]]:
    return [r for r in records if isinstance(r, dict) and level_number(r.get("level")) >= minimum]


def _read_state() -> dict[str, Any]:
    return live_state.read_state(get_redis())


def _read_logs() -> list[dict[str, Any]]:
    return live_state.read_logs(get_redis(), live_state.LOG_KEEP)


# Redis calls block: run them in a worker thread, not on the event loop. Not thread
# sensitive: they touch no database connection.
read_state = sync_to_async(_read_state, thread_sensitive=False)
read_logs = sync_to_async(_read_logs, thread_sensitive=False)


# channels ships no type hints (pyproject: ignore_missing_imports), so its base class is Any.
class LiveConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    # How often the watchdog looks at the snapshot key when no gateway.status arrived.
    offline_check_seconds = 2.0
    # Log records sent on connect and on a new filter.
    backlog_size = 200
    default_level = "INFO"

    async def connect(self) -> None:
        user = self.scope.get("user")
        # Accept first: a close before the accept is an HTTP 403 to the browser, which
        # never sees the 4401 that tells it to log in again.
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.joined = True
        self.min_level = level_number(self.default_level)
        self.last_status = 0.0  # time.monotonic() of the last gateway.status sent
        self.last_updated_at: Any = None
        self.offline_sent = False
        # Join before reading the snapshot: a message sent in between is queued, not lost.
        await self.channel_layer.group_add(live_state.LIVE_GROUP, self.channel_name)
        await self._send_current_state()
        await self._send_backlog()
        self.watchdog = asyncio.create_task(self._watch_engine())

    async def disconnect(self, code: int) -> None:
        if not getattr(self, "joined", False):
            return
        self.watchdog.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.watchdog
        await self.channel_layer.group_discard(live_state.LIVE_GROUP, self.channel_name)

    # --- client → server ---------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not getattr(self, "joined", False):
            return
        # Whatever a client sends, answer with an error frame and carry on: one bad
        # dashboard must not lose its own live view, let alone crash the consumer.
        if text_data is None:
            await self._error("frames must be JSON text, not binary")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error("frame is not valid JSON")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._error('frame must be a JSON object with a "type"')
            return
        if content["type"] != "logs.filter":
            await self._error(f"unknown frame type {content['type']!r}; expected logs.filter")
            return
        level = content.get("level")
        if not isinstance(level, str) or level.upper() not in LOG_LEVELS:
            await self._error(f"logs.filter: level must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
            return
        self.min_level = level_number(level)
        # The backlog at the new level: the dashboard merges it and drops the copies.
        await self._send_backlog()

    async def _error(self, detail: str) -> None:
        await self.send_json({"type": "error", "detail": detail})

    # --- hub → server (group messages) ---------------------------------------------------

    async def gateway_status(self, message: dict[str, Any]) -> None:
        state = message.get("state")
        if isinstance(state, dict) and isinstance(state.get("gateways"), list):
            await self._send_status(state)

    async def hub_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "hub.event", "event": message.get("event")})

    async def hub_failover(self, message: dict[str, Any]) -> None:
        await self.send_json(
            {key: message.get(key) for key in ("from", "to", "reason", "ts")} | {"type": "hub.failover"}
        )

    async def hub_log(self, message: dict[str, Any]) -> None:
        records = message.get("records")
        wanted = filter_records(records if isinstance(records, list) else [], self.min_level)
        if wanted:
            await self.send_json({"type": "hub.log", "records": wanted})

    async def hub_metrics(self, message: dict[str, Any]) -> None:
        values = message.get("metrics")
        # Flat, as the dashboard reads it: {"type": "hub.metrics", "forwarded": ..., ...}.
        await self.send_json({**(values if isinstance(values, dict) else {}), "type": "hub.metrics"})

    # --- helpers ------------------------------------------------------------------------

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content))

    async def _send_status(self, state: dict[str, Any]) -> None:
        self.last_status = time.monotonic()
        self.last_updated_at = state.get("updated_at")
        self.offline_sent = False
        await self.send_json(status_frame(state))

    async def _send_offline(self) -> None:
        self.offline_sent = True
        await self.send_json({"type": "engine.offline"})

    async def _send_current_state(self) -> None:
        state = await read_state()
        if state.get("engine") == "online":
            await self._send_status(state)
        else:
            await self._send_offline()

    async def _send_backlog(self) -> None:
        records = filter_records(await read_logs(), self.min_level)
        await self.send_json({"type": "hub.log", "records": records[-self.backlog_size :]})

    async def _watch_engine(self) -> None:
        while True:
            await asyncio.sleep(self.offline_check_seconds)
            if time.monotonic() - self.last_status < self.offline_check_seconds:
                continue  # The hub's own messages are arriving.
            try:
                state = await read_state()
                if state.get("engine") == "online":
                    # Key alive but no group message: send the snapshot itself (once per refresh).
                    if self.offline_sent or state.get("updated_at") != self.last_updated_at:
                        await self._send_status(state)
                elif not self.offline_sent:
                    await self._send_offline()
            except Exception:  # a failed check must not end the watch
                logger.warning("engine watchdog failed", exc_info=True)
