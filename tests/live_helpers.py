"""Shared by the live-state tests: a private Redis database for the web side, and
receiving what it sends to the hub.

The channel layer, ``get_redis()`` and the snapshot all move to ``LIVE_TEST_DB`` (flushed
before and after each test), so these tests neither see nor disturb a running hub or the
lead's integration tests on other database numbers.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any
from typing import Any as SettingsWrapper  # pytest-django has no public type for it

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tests.hub_process import redis_url_with_db
from webbase import live_state
from webbase.redis_client import get_redis

LIVE_TEST_DB = 11


def channel_layers_for(url: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [url], "capacity": 1000, "expiry": 30},
        }
    }


@pytest.fixture
def live_redis(settings: SettingsWrapper) -> Iterator[redis.Redis]:
    url = redis_url_with_db(settings.REDIS_URL, LIVE_TEST_DB)
    settings.REDIS_URL = url
    settings.CHANNEL_LAYERS = channel_layers_for(url)  # channels drops its cached layer on this
    get_redis.cache_clear()
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
    get_redis.cache_clear()


def gateway(account: str, **overrides: Any) -> dict[str, Any]:
    """One gateway of a snapshot, as the hub writes it."""
    document: dict[str, Any] = {
        "id": account,
        "gateway_type": "sim",
        "priority": 10,
        "is_enabled": True,
        "state": "healthy",
        "state_reason": "canary ticks flowing",
        "state_since": 1763690000.0,
        "is_primary": False,
        "pid": 4242,
        "tick_rate": 120.5,
        "last_tick_age": 0.2,
        "canaries": {"rb2501.SHFE": 0.4},
        "first_share": 0.5,
        "latency_ms": {"p50": 0.3, "p99": 1.2},
        "restarts": 0,
        "drops": {},
        "received": 1000,
        "first": 500,
        "duplicates": 490,
        "too_late": 10,
        "backpressure": 0,
        "latency_hist": {"le": [0.001, 0.01, 0.1], "counts": [100, 400, 480], "count": 500, "sum": 2.5},
    }
    document.update(overrides)
    return document


def snapshot(*gateways: dict[str, Any], primary: str | None = None) -> dict[str, Any]:
    return {
        "engine": "online",
        "updated_at": time.time(),
        "mode": "hot",
        "primary": primary,
        "gateways": list(gateways),
        "hub": {
            "forwarded": 1500,
            "malformed": 2,
            "snapshot_requests": 3,
            "upstream_subscriptions": 13,
            "pid": 999,
            "started_at": 1763680000.0,
        },
    }


def write_snapshot(client: redis.Redis, state: dict[str, Any], ttl_ms: int | None = None) -> None:
    client.set(live_state.STATE_KEY, json.dumps(state), px=ttl_ms or live_state.STATE_TTL_SECONDS * 1000)


def push_logs(client: redis.Redis, records: list[dict[str, Any]]) -> None:
    client.rpush(live_state.LOG_KEY, *[json.dumps(record) for record in records])


def log_record(
    msg: str, level: str = "INFO", account: str | None = "sim-a", ts: float = 0.0
) -> dict[str, Any]:
    return {"ts": ts or time.time(), "level": level, "account": account, "logger": "mdhub.hub", "msg": msg}


async def _receive(channel: str, timeout: float) -> dict[str, Any] | None:
    layer = get_channel_layer()
    assert layer is not None
    try:
        message: dict[str, Any] = await asyncio.wait_for(layer.receive(channel), timeout)
    except TimeoutError:
        return None
    return message


def receive_commands(timeout: float = 1.0) -> list[dict[str, Any]]:
    """Every message on the hub's command channel, waiting ``timeout`` for the next one."""
    received: list[dict[str, Any]] = []
    while (message := async_to_sync(_receive)(live_state.COMMAND_CHANNEL, timeout)) is not None:
        received.append(message)
    return received
