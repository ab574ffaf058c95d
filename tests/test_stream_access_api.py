"""Stream clients in the API and admin (secret shown once, never stored) and the E030 check."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings
from rest_framework.test import APIClient

from aggregation.access import AccessPolicy, ClientIdentity
from aggregation.curve import INTERNAL_CLIENT, CurveKeys, is_z85_key
from clients_access.models import StreamClient, load_identities
from tests.live_helpers import live_redis
from webbase.live_state import STATE_KEY

__all__ = ["live_redis"]  # the fixture, imported to be used here

pytestmark = pytest.mark.django_db


def test_created_without_a_key_the_secret_comes_back_once(alice_api: APIClient) -> None:
    created = alice_api.post(
        "/api/stream-clients", {"name": "cta-desk", "prefixes": ["tick.rb"]}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret_key"]
    assert is_z85_key(secret) and CurveKeys.from_secret(secret).public == body["public_key"]
    stored = StreamClient.objects.get(name="cta-desk")
    assert secret not in str(stored.__dict__), "the secret is not stored"
    again = alice_api.get("/api/stream-clients/cta-desk").json()
    assert again["secret_key"] is None and again["public_key"] == body["public_key"]
    [identity] = load_identities()
    assert identity.prefixes == ("tick.rb",) and identity.allows(b"tick.rb2601.SHFE")
    assert not identity.allows(b"tick.")


def test_a_given_public_key_is_kept_and_bad_input_refused(alice_api: APIClient, bob_api: APIClient) -> None:
    keys = CurveKeys.generate()
    given = alice_api.post(
        "/api/stream-clients",
        {"name": "own", "public_key": keys.public, "prefixes": ["tick."]},
        format="json",
    )
    assert given.status_code == 201 and given.json()["secret_key"] is None
    for bad in (
        {"name": "x", "public_key": "short", "prefixes": ["tick."]},
        {"name": "y", "prefixes": ["rb"]},
    ):
        assert alice_api.post("/api/stream-clients", bad, format="json").status_code == 400
    assert (
        bob_api.post("/api/stream-clients", {"name": "z", "prefixes": ["tick."]}, format="json").status_code
        == 403
    )


def test_the_admin_shows_a_made_secret_once() -> None:
    browser = Client()
    browser.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    response = browser.post(
        "/admin/clients_access/streamclient/add/",
        {
            "name": "screen",
            "public_key": "",
            "is_enabled": "on",
            "prefixes": '["tick."]',
            "max_subscriptions": 10,
            "max_upstream": 1,
            "requests_per_second": 2,
            "description": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any("Secret key of screen" in m for m in shown), shown
    secret = next(m for m in shown if "Secret key" in m).rsplit(": ", 1)[1]
    assert CurveKeys.from_secret(secret).public == StreamClient.objects.get(name="screen").public_key
    listing = browser.get("/admin/clients_access/streamclient/screen/change/")
    assert secret not in listing.content.decode()


@pytest.mark.parametrize(
    ("overrides", "fails"),
    [
        ({"MDHUB_PUB_ADDR": "tcp://*:5555"}, True),
        ({"MDHUB_SNAPSHOT_ADDR": "tcp://10.0.0.5:5556"}, True),
        ({"MDHUB_PUB_ADDR": "tcp://*:5555", "MDHUB_CURVE": True}, False),
        ({"MDHUB_PUB_ADDR": "tcp://*:5555", "MDHUB_STREAM_OPEN": True}, False),
        ({"MDHUB_PUB_ADDR": "tcp://127.0.0.1:5555"}, False),
    ],
)
def test_a_binding_beyond_loopback_without_curve_is_an_error(
    overrides: dict[str, object], fails: bool
) -> None:
    with override_settings(**overrides):
        if fails:
            with pytest.raises(SystemCheckError, match=r"mdhub\.E030"):
                call_command("check", tag=["mdhub"])
        else:
            call_command("check", tag=["mdhub"])


# -- who reads the stream now: the hub's status document → Redis → the API -------------------


def hub_document_with_clients(stream_clients: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A status document as the engine builds it (engine.status), with the policy's rows."""
    from aggregation.hub import HubStats
    from engine.states import FailoverMode
    from engine.status import status_document, stream_client_status

    rows = None if stream_clients is None else [stream_client_status(r) for r in stream_clients]
    document = status_document(
        [], HubStats(), 0, FailoverMode.HOT, None, time.time(), 1, 0.0, stream_clients=rows
    )
    return document.as_dict()


def test_connected_clients_come_from_the_hub_document_in_redis(
    alice_api: APIClient, api: APIClient, live_redis: redis.Redis
) -> None:
    policy = AccessPolicy([ClientIdentity("cta-desk", CurveKeys.generate().public, prefixes=("tick.rb",))])
    key = policy._by_name["cta-desk"].public_key
    assert policy.authenticate(key, "10.0.0.7") == "cta-desk"
    assert policy.subscribe("cta-desk", b"tick.rb2601.SHFE").value == "ok"
    assert policy.subscribe("cta-desk", b"tick.au").value == "forbidden"
    assert policy.conflate("cta-desk", (b"tick.rb",), 250)[0].value == "ok"
    policy.conflation_drops("cta-desk", 7)
    rows = [dict(row, open_connections=1) for row in policy.clients()]

    assert alice_api.get("/api/stream-clients/connected").json() == {
        "engine": "offline",
        "curve": False,
        "updated_at": None,
        "clients": [],
    }
    live_redis.set(STATE_KEY, json.dumps(hub_document_with_clients(rows)))
    body = alice_api.get("/api/stream-clients/connected").json()
    assert body["engine"] == "online" and body["curve"] is True
    [row] = body["clients"]
    assert row["name"] == "cta-desk" and row["addresses"] == ["10.0.0.7"] and row["open_connections"] == 1
    assert row["subscriptions"] == ["conflated:tick.rb", "tick.rb2601.SHFE"]
    assert row["refused_subscriptions"] == 1 and row["conflation_ms"] == 250 and row["drops"] == 7
    assert api.get("/api/stream-clients/connected").status_code in (401, 403)

    live_redis.set(STATE_KEY, json.dumps(hub_document_with_clients(None)))
    assert alice_api.get("/api/stream-clients/connected").json()["curve"] is False


def test_the_internal_name_is_reserved(alice_api: APIClient) -> None:
    taken = alice_api.post(
        "/api/stream-clients", {"name": INTERNAL_CLIENT, "prefixes": ["tick."]}, format="json"
    )
    assert taken.status_code == 400 and "hub's own readers" in taken.json()["name"][0]
