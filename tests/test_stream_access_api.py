"""Stream clients in the API and admin (secret shown once, never stored) and the E030 check."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings
from rest_framework.test import APIClient

from aggregation.curve import CurveKeys, is_z85_key
from clients_access.models import StreamClient, load_identities

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
