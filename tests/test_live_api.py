"""The live-state REST API (docs/api.md): gateway commands, accounts.changed, gateways,
events and logs, against the real Redis (a private database, tests.live_helpers)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any as SettingsWrapper  # pytest-django has no public type for it

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import MarketDataAccount
from monitoring.models import Event
from tests.conftest import CTP_SETTINGS
from tests.live_helpers import (
    channel_layers_for,
    gateway,
    live_redis,
    log_record,
    push_logs,
    receive_commands,
    snapshot,
    write_snapshot,
)
from webbase.redis_client import get_redis

__all__ = ["live_redis"]  # the fixture, imported to be used here

# Nothing listens on port 1: "Redis is down" without waiting for a timeout.
DEAD_REDIS = "redis://127.0.0.1:1/0"
NEW_ENDPOINTS = [
    ("post", "/api/accounts/sim-a/start"),
    ("post", "/api/accounts/sim-a/stop"),
    ("post", "/api/accounts/sim-a/restart"),
    ("get", "/api/gateways"),
    ("get", "/api/events"),
    ("get", "/api/logs"),
    ("get", "/metrics"),
]


@pytest.fixture
def sim_a(db: None) -> MarketDataAccount:
    return MarketDataAccount.objects.create(
        id="sim-a", gateway_type="sim", priority=1, is_enabled=True, canaries=["rb2501.SHFE"]
    )


# --- who may -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_is_refused_on_every_new_endpoint(
    api: APIClient, sim_a: MarketDataAccount, live_redis: redis.Redis
) -> None:
    for method, url in NEW_ENDPOINTS:
        response = getattr(api, method)(url)
        assert response.status_code in (401, 403), (method, url, response.status_code)
    assert receive_commands(timeout=0.3) == []


@pytest.mark.django_db
def test_a_viewer_may_look_but_not_command(
    bob_api: APIClient, sim_a: MarketDataAccount, live_redis: redis.Redis
) -> None:
    for command in ("start", "stop", "restart"):
        response = bob_api.post(f"/api/accounts/sim-a/{command}")
        assert response.status_code == 403, response.content
    assert receive_commands(timeout=0.3) == []
    for url in ("/api/gateways", "/api/events", "/api/logs", "/metrics"):
        assert bob_api.get(url).status_code == 200, url


# --- gateway commands ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["start", "stop", "restart"])
def test_a_command_is_accepted_and_reaches_the_hub_channel(
    alice_api: APIClient, sim_a: MarketDataAccount, live_redis: redis.Redis, command: str
) -> None:
    response = alice_api.post(f"/api/accounts/sim-a/{command}")
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": True, "command": command, "account": "sim-a"}
    assert receive_commands() == [{"type": "gateway.command", "command": command, "account": "sim-a"}]


@pytest.mark.django_db
def test_a_command_for_an_unknown_account_is_404_and_sends_nothing(
    alice_api: APIClient, live_redis: redis.Redis
) -> None:
    response = alice_api.post("/api/accounts/nope/restart")
    assert response.status_code == 404
    assert receive_commands(timeout=0.3) == []


@pytest.mark.django_db
def test_a_command_while_redis_is_down_is_503_with_the_reason(
    alice_api: APIClient, sim_a: MarketDataAccount, settings: SettingsWrapper
) -> None:
    settings.CHANNEL_LAYERS = channel_layers_for(DEAD_REDIS)
    response = alice_api.post("/api/accounts/sim-a/restart")
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "restart command for sim-a was not sent" in detail and "Redis" in detail


@pytest.mark.django_db
def test_the_commands_are_in_the_openapi_schema(alice_api: APIClient) -> None:
    schema = alice_api.get("/api/schema?format=json").json()
    for command in ("start", "stop", "restart"):
        # The routes accept both with and without the slash; the schema shows it.
        operation = schema["paths"][f"/api/accounts/{{id}}/{command}/"]["post"]
        assert set(operation["responses"]) >= {"202", "404", "503"}, operation["responses"]
    for path in ("/api/gateways/", "/api/events/", "/api/logs/", "/metrics/"):
        assert "get" in schema["paths"][path], path
    event_parameters = {p["name"] for p in schema["paths"]["/api/events/"]["get"]["parameters"]}
    assert event_parameters >= {"account", "kind", "since", "limit", "offset"}


# --- accounts.changed --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_api_create_update_delete_each_tell_the_hub(alice_api: APIClient, live_redis: redis.Redis) -> None:
    saved = {"type": "accounts.changed", "account": "sim-b", "change": "saved"}
    created = alice_api.post("/api/accounts", {"id": "sim-b", "gateway_type": "sim"}, format="json")
    assert created.status_code == 201, created.content
    assert receive_commands() == [saved]
    assert alice_api.patch("/api/accounts/sim-b", {"is_enabled": True}, format="json").status_code == 200
    assert receive_commands() == [saved]
    assert alice_api.delete("/api/accounts/sim-b").status_code == 204
    assert receive_commands() == [{**saved, "change": "deleted"}]
    # A refused change stores nothing and tells nothing.
    bad = alice_api.post("/api/accounts", {"id": "sim-c", "gateway_type": "nope"}, format="json")
    assert bad.status_code == 400
    assert receive_commands(timeout=0.3) == []


@pytest.mark.django_db(transaction=True)
def test_admin_saves_tell_the_hub(alice: User, live_redis: redis.Redis) -> None:
    client = Client()
    client.force_login(alice)
    public = {k: v for k, v in CTP_SETTINGS.items() if k not in ("password", "authCode")}
    form = {
        "id": "ctp-main",
        "gateway_type": "ctp",
        "settings": json.dumps(public),
        "priority": "3",
        "is_enabled": "on",
        "description": "",
        "canaries": "[]",
        "password": "pw",
        "authCode": "",
    }
    response = client.post("/admin/accounts/marketdataaccount/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert MarketDataAccount.objects.filter(id="ctp-main").exists()
    assert receive_commands() == [{"type": "accounts.changed", "account": "ctp-main", "change": "saved"}]

    response = client.post("/admin/accounts/marketdataaccount/ctp-main/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not MarketDataAccount.objects.filter(id="ctp-main").exists()
    assert receive_commands() == [{"type": "accounts.changed", "account": "ctp-main", "change": "deleted"}]


@pytest.mark.django_db(transaction=True)
def test_no_message_before_the_commit_and_none_after_a_rollback(live_redis: redis.Redis) -> None:
    from django.db import transaction

    with transaction.atomic():
        MarketDataAccount.objects.create(id="sim-x", gateway_type="sim")
        assert receive_commands(timeout=0.3) == []  # the hub would read the old table
    assert receive_commands() == [{"type": "accounts.changed", "account": "sim-x", "change": "saved"}]

    def create_then_fail() -> None:
        with transaction.atomic():
            MarketDataAccount.objects.create(id="sim-y", gateway_type="sim")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        create_then_fail()
    assert receive_commands(timeout=0.3) == []


@pytest.mark.django_db(transaction=True)
def test_a_save_succeeds_when_redis_is_down_and_says_so_in_the_log(
    alice_api: APIClient, settings: SettingsWrapper, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CHANNEL_LAYERS = channel_layers_for(DEAD_REDIS)
    with caplog.at_level(logging.WARNING, logger="webbase.live_state"):
        created = alice_api.post("/api/accounts", {"id": "sim-d", "gateway_type": "sim"}, format="json")
    assert created.status_code == 201, created.content
    assert MarketDataAccount.objects.filter(id="sim-d").exists()
    warnings = [r for r in caplog.records if r.name == "webbase.live_state"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "could not be told" in warnings[0].getMessage()


# --- /api/gateways -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_gateways_online_is_the_hubs_snapshot(bob_api: APIClient, live_redis: redis.Redis) -> None:
    state = snapshot(
        gateway("sim-a", is_primary=True), gateway("sim-b", state="stale", first_share=0.1), primary="sim-a"
    )
    write_snapshot(live_redis, state)
    body = bob_api.get("/api/gateways").json()
    assert body["engine"] == "online"
    assert body["primary"] == "sim-a" and body["mode"] == "hot"
    assert [(g["id"], g["state"]) for g in body["gateways"]] == [("sim-a", "healthy"), ("sim-b", "stale")]
    assert body["gateways"][1]["first_share"] == 0.1
    assert body["updated_at"] == pytest.approx(state["updated_at"])


@pytest.mark.django_db
def test_gateways_offline_lists_the_accounts_as_stopped(
    bob_api: APIClient, sim_a: MarketDataAccount, live_redis: redis.Redis
) -> None:
    MarketDataAccount.objects.create(id="ctp-main", gateway_type="ctp", priority=5, is_enabled=False)
    body = bob_api.get("/api/gateways/").json()
    assert body["engine"] == "offline" and body["primary"] is None
    assert [g["id"] for g in body["gateways"]] == ["sim-a", "ctp-main"]  # by priority
    first = body["gateways"][0]
    assert first["state"] == "stopped" and first["is_enabled"] is True and first["gateway_type"] == "sim"
    assert first["canaries"] == {"rb2501.SHFE": None}
    assert first["is_primary"] is False and first["tick_rate"] is None

    # A lapsed snapshot is offline too.
    write_snapshot(live_redis, snapshot(gateway("sim-a")), ttl_ms=100)
    assert bob_api.get("/api/gateways").json()["engine"] == "online"
    live_redis.delete("mdhub:state")
    assert bob_api.get("/api/gateways").json()["engine"] == "offline"


@pytest.mark.django_db
def test_gateways_when_redis_is_down_is_offline_not_an_error(
    bob_api: APIClient, sim_a: MarketDataAccount, settings: SettingsWrapper
) -> None:
    settings.REDIS_URL = DEAD_REDIS
    get_redis.cache_clear()
    try:
        response = bob_api.get("/api/gateways")
    finally:
        get_redis.cache_clear()
    assert response.status_code == 200
    assert response.json()["engine"] == "offline"
    assert [g["state"] for g in response.json()["gateways"]] == ["stopped"]


# --- /api/events -------------------------------------------------------------------------------


@pytest.fixture
def events(db: None) -> list[Event]:
    base = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    rows = [
        Event(ts=base, account="sim-a", kind="state", state_from="starting", state_to="healthy", reason="ok"),
        Event(
            ts=base + timedelta(minutes=1), account="sim-b", kind="state", state_to="stale", reason="quiet"
        ),
        Event(ts=base + timedelta(minutes=2), account="", kind="failover", reason="sim-a stale"),
        Event(ts=base + timedelta(minutes=3), account="sim-a", kind="restart", reason="hard restart"),
        Event(ts=base + timedelta(minutes=4), account="sim-a", kind="command", reason="alice: restart"),
    ]
    return Event.objects.bulk_create(rows)


@pytest.mark.django_db
def test_events_newest_first_filtered_and_paged(bob_api: APIClient, events: list[Event]) -> None:
    body = bob_api.get("/api/events").json()
    assert body["count"] == 5
    assert [e["reason"] for e in body["results"]][:2] == ["alice: restart", "hard restart"]
    failover = next(e for e in body["results"] if e["kind"] == "failover")
    assert failover["account"] is None and failover["state_from"] is None
    first = body["results"][-1]
    assert first["ts"] == datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp()
    assert (first["state_from"], first["state_to"], first["account"]) == ("starting", "healthy", "sim-a")

    sim_a = bob_api.get("/api/events?account=sim-a").json()
    assert sim_a["count"] == 3 and {e["account"] for e in sim_a["results"]} == {"sim-a"}
    states = bob_api.get("/api/events?kind=state&account=sim-b").json()
    assert [e["reason"] for e in states["results"]] == ["quiet"]

    page = bob_api.get("/api/events?limit=2&offset=2").json()
    assert page["count"] == 5 and [e["reason"] for e in page["results"]] == ["sim-a stale", "quiet"]
    assert page["next"] is not None and page["previous"] is not None


@pytest.mark.django_db
def test_events_since_takes_epoch_or_iso(bob_api: APIClient, events: list[Event]) -> None:
    cut = datetime(2026, 1, 5, 9, 3, tzinfo=UTC)
    by_epoch = bob_api.get(f"/api/events?since={cut.timestamp()}").json()
    assert [e["kind"] for e in by_epoch["results"]] == ["command", "restart"]
    by_iso = bob_api.get("/api/events", {"since": "2026-01-05T17:03:00+08:00"}).json()
    assert [e["kind"] for e in by_iso["results"]] == ["command", "restart"]


@pytest.mark.django_db
def test_events_bad_filters_name_the_parameter(bob_api: APIClient, events: list[Event]) -> None:
    bad_kind = bob_api.get("/api/events?kind=explosion")
    assert bad_kind.status_code == 400 and "kind" in bad_kind.json()
    bad_since = bob_api.get("/api/events?since=yesterday")
    assert bad_since.status_code == 400
    assert bad_since.json() == {"since": ["'yesterday' is not a time: give epoch seconds or ISO 8601."]}


# --- /api/logs ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_logs_minimum_level_account_and_limit_newest_last(
    bob_api: APIClient, live_redis: redis.Redis
) -> None:
    push_logs(
        live_redis,
        [
            log_record("debug chatter", "DEBUG", ts=1.0),
            log_record("connected", "INFO", ts=2.0),
            log_record("canary quiet", "WARNING", account="sim-b", ts=3.0),
            log_record("login failed", "ERROR", ts=4.0),
            log_record("hub exploded", "CRITICAL", account=None, ts=5.0),
            log_record("recovered", "INFO", ts=6.0),
        ],
    )
    everything = bob_api.get("/api/logs").json()["results"]
    assert [r["msg"] for r in everything] == [
        "debug chatter",
        "connected",
        "canary quiet",
        "login failed",
        "hub exploded",
        "recovered",
    ]
    assert everything[-1] == {
        "ts": 6.0,
        "level": "INFO",
        "account": "sim-a",
        "logger": "mdhub.hub",
        "msg": "recovered",
    }
    warnings = bob_api.get("/api/logs?level=warning").json()["results"]
    assert [r["msg"] for r in warnings] == ["canary quiet", "login failed", "hub exploded"]
    errors = bob_api.get("/api/logs?level=ERROR&limit=1").json()["results"]
    assert [r["msg"] for r in errors] == ["hub exploded"]
    sim_a = bob_api.get("/api/logs?account=sim-a&level=INFO").json()["results"]
    assert [r["msg"] for r in sim_a] == ["connected", "login failed", "recovered"]


@pytest.mark.django_db
def test_logs_bad_parameters_name_the_field(bob_api: APIClient, live_redis: redis.Redis) -> None:
    bad_level = bob_api.get("/api/logs?level=LOUD")
    assert bad_level.status_code == 400 and list(bad_level.json()) == ["level"]
    bad_limit = bob_api.get("/api/logs?limit=0")
    assert bad_limit.status_code == 400 and list(bad_limit.json()) == ["limit"]
