"""``/ws/`` through the real ASGI application (origin check, session auth, routing) and
the real Redis channel layer: what the hub sends to the group reaches the browser."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from mdhub_project.asgi import application
from monitoring.consumers import LiveConsumer
from tests.live_helpers import gateway, live_redis, log_record, push_logs, snapshot, write_snapshot
from webbase import live_state

__all__ = ["live_redis"]

# The consumer reads the session from the database in another thread: it must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

Connect = Callable[..., Awaitable[WebsocketCommunicator]]


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def communicator(cookie: str | None) -> WebsocketCommunicator:
    # The origin check (AllowedHostsOriginValidator) wants a browser's Origin header.
    headers = [(b"origin", b"http://localhost")]
    if cookie is not None:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/", headers=headers)


@pytest.fixture
def bob_cookie(bob: User) -> str:
    return session_cookie(bob)


@pytest.fixture
async def connect(bob_cookie: str, live_redis: redis.Redis) -> AsyncIterator[Connect]:
    opened: list[WebsocketCommunicator] = []

    async def open_socket() -> WebsocketCommunicator:
        socket = communicator(bob_cookie)
        connected, _ = await socket.connect(timeout=5)
        assert connected
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        await socket.disconnect()


async def receive(socket: WebsocketCommunicator, timeout: float = 3.0) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await socket.receive_from(timeout=timeout))
    return frame


async def group_send(message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(live_state.LIVE_GROUP, message)


async def test_anonymous_connections_are_closed_with_4401(live_redis: redis.Redis) -> None:
    for cookie in (None, "not-a-session"):
        socket = communicator(cookie)
        connected, _ = await socket.connect(timeout=5)
        # Accepted, then closed: a browser sees the code only on an accepted socket.
        assert connected
        assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
        await socket.wait()


async def test_connect_sends_the_status_then_the_log_backlog(
    live_redis: redis.Redis, connect: Connect
) -> None:
    write_snapshot(live_redis, snapshot(gateway("sim-a", is_primary=True), gateway("sim-b"), primary="sim-a"))
    records = [log_record(f"line {i}", "DEBUG" if i % 2 else "INFO", ts=float(i)) for i in range(500)]
    push_logs(live_redis, records)

    socket = await connect()
    status = await receive(socket)
    assert status["type"] == "gateway.status" and status["engine"] == "online"
    assert status["primary"] == "sim-a" and status["mode"] == "hot"
    assert [g["id"] for g in status["gateways"]] == ["sim-a", "sim-b"]
    assert "hub" not in status  # the hub's counters are for /metrics

    backlog = await receive(socket)
    assert backlog["type"] == "hub.log"
    # The newest 200 at or above INFO (the default filter), oldest first.
    assert [r["msg"] for r in backlog["records"]] == [f"line {i}" for i in range(100, 500, 2)]


async def test_connect_while_the_hub_is_down_says_engine_offline(connect: Connect) -> None:
    socket = await connect()
    assert await receive(socket) == {"type": "engine.offline"}
    assert await receive(socket) == {"type": "hub.log", "records": []}


async def test_group_messages_are_forwarded_as_frames(live_redis: redis.Redis, connect: Connect) -> None:
    write_snapshot(live_redis, snapshot(gateway("sim-a")))
    socket = await connect()
    await receive(socket)  # status
    await receive(socket)  # backlog

    state = snapshot(gateway("sim-a", state="stale"), gateway("sim-b", is_primary=True), primary="sim-b")
    await group_send({"type": "gateway.status", "state": state})
    status = await receive(socket)
    assert status == {
        "type": "gateway.status",
        "engine": "online",
        "updated_at": state["updated_at"],
        "mode": "hot",
        "primary": "sim-b",
        "gateways": state["gateways"],
    }

    event = {
        "id": 7,
        "ts": 1.5,
        "account": "sim-a",
        "kind": "state",
        "state_from": "healthy",
        "state_to": "stale",
        "reason": "no canary tick for 10 s",
    }
    await group_send({"type": "hub.event", "event": event})
    assert await receive(socket) == {"type": "hub.event", "event": event}

    await group_send(
        {"type": "hub.failover", "from": "sim-a", "to": "sim-b", "reason": "sim-a stale", "ts": 2.0}
    )
    assert await receive(socket) == {
        "type": "hub.failover",
        "from": "sim-a",
        "to": "sim-b",
        "reason": "sim-a stale",
        "ts": 2.0,
    }

    await group_send({"type": "hub.metrics", "metrics": {"forwarded": 10, "rate": 2.5}})
    assert await receive(socket) == {"type": "hub.metrics", "forwarded": 10, "rate": 2.5}

    record = log_record("connected", "INFO", ts=3.0)
    await group_send({"type": "hub.log", "records": [record]})
    assert await receive(socket) == {"type": "hub.log", "records": [record]}


async def test_the_level_filter_applies_to_backlog_and_live_logs(
    live_redis: redis.Redis, connect: Connect
) -> None:
    push_logs(live_redis, [log_record("old info", "INFO", ts=1.0), log_record("old error", "ERROR", ts=2.0)])
    socket = await connect()
    await receive(socket)  # engine.offline
    assert [r["msg"] for r in (await receive(socket))["records"]] == ["old info", "old error"]

    await socket.send_json_to({"type": "logs.filter", "level": "error"})
    refreshed = await receive(socket)
    assert refreshed["type"] == "hub.log" and [r["msg"] for r in refreshed["records"]] == ["old error"]

    info, error = log_record("new info", "INFO", ts=3.0), log_record("new error", "ERROR", ts=4.0)
    await group_send({"type": "hub.log", "records": [info, error]})
    assert await receive(socket) == {"type": "hub.log", "records": [error]}
    # A batch with nothing at the level sends no frame at all: the next frame is the one after.
    await group_send({"type": "hub.log", "records": [log_record("quiet", "WARNING", ts=5.0)]})
    critical = log_record("hub down", "CRITICAL", ts=6.0)
    await group_send({"type": "hub.log", "records": [critical]})
    assert await receive(socket) == {"type": "hub.log", "records": [critical]}


async def test_engine_offline_is_sent_once_when_the_snapshot_lapses_and_status_comes_back(
    live_redis: redis.Redis, connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LiveConsumer, "offline_check_seconds", 0.2)
    write_snapshot(live_redis, snapshot(gateway("sim-a")), ttl_ms=800)
    socket = await connect()
    assert (await receive(socket))["type"] == "gateway.status"
    await receive(socket)  # backlog

    assert await receive(socket, timeout=5) == {"type": "engine.offline"}
    # Once per lapse, however many checks find the key missing.
    assert await socket.receive_nothing(timeout=1.0)

    # The hub comes back; its snapshot is sent even before its first group message.
    write_snapshot(live_redis, snapshot(gateway("sim-a", state="starting")))
    back = await receive(socket, timeout=5)
    assert back["type"] == "gateway.status" and back["gateways"][0]["state"] == "starting"


async def test_malformed_client_frames_get_an_error_and_the_socket_lives_on(connect: Connect) -> None:
    socket = await connect()
    await receive(socket)
    await receive(socket)
    bad_frames: list[dict[str, Any]] = [
        {"text_data": "not json"},
        {"bytes_data": b"\x00\x01"},
        {"text_data": "[1, 2]"},
        {"text_data": json.dumps({"type": "gateway.kill"})},
        {"text_data": json.dumps({"type": "logs.filter", "level": "LOUD"})},
        {"text_data": json.dumps({"type": "logs.filter"})},
    ]
    for frame in bad_frames:
        await socket.send_to(**frame)
        answer = await receive(socket)
        assert answer["type"] == "error" and answer["detail"], frame
    await group_send({"type": "hub.failover", "from": None, "to": "sim-b", "reason": "x", "ts": 1.0})
    assert (await receive(socket))["type"] == "hub.failover"


async def test_a_closed_socket_leaves_the_group(live_redis: redis.Redis, bob_cookie: str) -> None:
    def members() -> int:
        # channels_redis keeps a group's members in a sorted set named after the group.
        keys = [key for key in live_redis.keys("*") if live_state.LIVE_GROUP.encode() in key]
        return sum(live_redis.zcard(key) for key in keys)

    socket = communicator(bob_cookie)
    assert (await socket.connect(timeout=5))[0]
    await receive(socket)
    await receive(socket)
    assert members() == 1
    await socket.disconnect()
    assert members() == 0
