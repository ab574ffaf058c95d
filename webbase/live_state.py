"""The contract between the running hub and the web side (DESIGN §6), in one place.

Hub → web: the hub writes a full state snapshot (the ``/api/gateways`` document, plus
counters for ``/metrics``) to ``STATE_KEY`` every second with a short TTL, so a lapsed key
means "engine offline"; it appends log records to the bounded list ``LOG_KEY``; and it
sends ``gateway.status``, ``hub.event``, ``hub.failover``, ``hub.log`` and ``hub.metrics``
messages to the Channels group ``LIVE_GROUP`` that every WebSocket consumer joins.

Web → hub: commands go to the Channels channel ``COMMAND_CHANNEL``, which only the hub
receives on: ``{"type": "gateway.command", "command": "start"|"stop"|"restart",
"account": id}`` and ``{"type": "accounts.changed", "account": id, "change": "saved"|"deleted"}``.
The spellings of commands and states are the engine's enums (``engine.states``).

No Django import at module level: the hub and the web side both use it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from engine.states import AccountChange, Command, SourceState

STATE_KEY = "mdhub:state"
# Refreshed every second; three missed refreshes and the web side says "engine offline".
STATE_TTL_SECONDS = 3
LOG_KEY = "mdhub:logs"
LOG_KEEP = 5000
LIVE_GROUP = "mdhub.live"
COMMAND_CHANNEL = "mdhub.commands"
COMMANDS = tuple(c.value for c in Command)
STATES = tuple(s.value for s in SourceState)
# Whether the hub is writing its state (the key has not lapsed): one choice set in the schema.
ENGINE_STATES = ("online", "offline")
ACCOUNTS_CHANGED = "accounts.changed"
# The stream clients' table changed (clients_access): the hub re-reads it.
CLIENTS_CHANGED = "clients.changed"


def offline_state() -> dict[str, Any]:
    return {"engine": "offline", "updated_at": None, "mode": None, "primary": None, "gateways": []}


def decode_state(raw: bytes | str | None) -> dict[str, Any]:
    """The snapshot as stored under ``STATE_KEY``; offline when missing or unreadable."""
    if not raw:
        return offline_state()
    try:
        state = json.loads(raw)
    except ValueError:
        return offline_state()
    if not isinstance(state, dict) or not isinstance(state.get("gateways"), list):
        return offline_state()
    return state


def read_state(client: Any) -> dict[str, Any]:
    """Read the snapshot with a redis-py client; offline when Redis is down too."""
    import redis

    try:
        return decode_state(client.get(STATE_KEY))
    except redis.RedisError:
        return offline_state()


def read_logs(client: Any, limit: int = 500) -> list[dict[str, Any]]:
    """The newest ``limit`` log records (oldest first); empty when Redis is down."""
    import redis

    try:
        raw = client.lrange(LOG_KEY, -limit, -1)
    except redis.RedisError:
        return []
    records: list[dict[str, Any]] = []
    for item in raw:
        try:
            record = json.loads(item)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def command_message(
    command: str, account: str | None = None, change: AccountChange = AccountChange.SAVED
) -> dict[str, Any]:
    if command in (ACCOUNTS_CHANGED, CLIENTS_CHANGED):
        # Which row and what happened to it, for the hub's event; never the row itself
        # (its settings hold secrets, and the hub reads the table anyway).
        return {"type": command, "account": account or "", "change": str(change)}
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}; expected one of {', '.join(COMMANDS)}")
    return {"type": "gateway.command", "command": command, "account": account}


class CommandNotSent(Exception):
    """A command could not be handed to the hub (Redis down, or the hub's channel is full)."""


def send_command(message: dict[str, Any]) -> None:
    """Put ``message`` (from ``command_message``) on ``COMMAND_CHANNEL``, from sync code.

    Raises ``CommandNotSent`` with the reason when it cannot: the callers decide whether
    that is an error for the user (an operator's command) or just a warning (a save).
    """
    from asgiref.sync import async_to_sync
    from channels.exceptions import ChannelFull
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        raise CommandNotSent("no channel layer is configured (CHANNEL_LAYERS)")
    try:
        async_to_sync(layer.send)(COMMAND_CHANNEL, message)
    except ChannelFull as exc:
        # The hub has not been draining its channel: it is not running or is stuck.
        raise CommandNotSent("the hub's command channel is full: is the hub (runhub) running?") from exc
    except Exception as exc:  # redis, socket and timeout errors all mean "not sent"
        raise CommandNotSent(f"cannot reach Redis ({exc.__class__.__name__}: {exc})") from exc


def notify_changed(kind: str, row: str = "", change: AccountChange = AccountChange.SAVED) -> None:
    """Send ``accounts.changed`` (or ``clients.changed``, the stream clients' table) now.
    Never raises: the change is stored either way, and the hub re-reads the table when it
    (re)starts, so a lost message only delays it."""
    try:
        send_command(command_message(kind, row, change))
    except CommandNotSent as exc:
        # WARNING, not ERROR: it must not mail an alert for every save while Redis is down.
        logging.getLogger(__name__).warning(
            "%s, but the hub could not be told: %s", kind.replace(".", " "), exc
        )
