from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.models import MarketDataAccount

pytestmark = pytest.mark.django_db


def test_anonymous_is_refused_on_every_account_endpoint(api: APIClient) -> None:
    MarketDataAccount.objects.create(id="sim-a", gateway_type="sim")
    for method, url in [
        ("get", "/api/accounts"),
        ("post", "/api/accounts"),
        ("get", "/api/accounts/sim-a"),
        ("put", "/api/accounts/sim-a"),
        ("patch", "/api/accounts/sim-a"),
        ("delete", "/api/accounts/sim-a"),
        ("get", "/api/health"),
        ("get", "/api/schema"),
        ("get", "/api/docs"),
    ]:
        response = getattr(api, method)(url)
        assert response.status_code in (401, 403), (method, url, response.status_code)
    assert MarketDataAccount.objects.filter(id="sim-a").exists()


def test_crud_round_trip_keeps_secrets_and_never_returns_them(
    alice_api: APIClient, ctp_payload: dict[str, Any]
) -> None:
    created = alice_api.post("/api/accounts", ctp_payload, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secrets_set"] == {"password": True, "authCode": True}
    assert "password" not in body["settings"] and "authCode" not in body["settings"]
    assert body["settings"]["userID"] == "0001"

    listed = alice_api.get("/api/accounts")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["results"]] == ["ctp-main"]

    # A full update that leaves the secrets out keeps them.
    update = dict(
        ctp_payload,
        priority=5,
        settings={k: v for k, v in ctp_payload["settings"].items() if k not in ("password", "authCode")},
    )
    put = alice_api.put("/api/accounts/ctp-main", update, format="json")
    assert put.status_code == 200, put.content
    stored = MarketDataAccount.objects.get(id="ctp-main")
    assert stored.priority == 5
    assert stored.settings["password"] == "s3cret-pw"
    assert stored.settings["authCode"] == "AUTHCODE-XYZ"

    patched = alice_api.patch(
        "/api/accounts/ctp-main", {"settings": dict(update["settings"], password="new-pw")}, format="json"
    )
    assert patched.status_code == 200
    assert MarketDataAccount.objects.get(id="ctp-main").settings["password"] == "new-pw"

    for response in (created, listed, put, patched, alice_api.get("/api/accounts/ctp-main")):
        text = response.content.decode()
        assert "s3cret-pw" not in text and "new-pw" not in text and "AUTHCODE-XYZ" not in text

    assert alice_api.delete("/api/accounts/ctp-main").status_code == 204
    assert not MarketDataAccount.objects.exists()


def test_the_id_cannot_be_changed_by_an_update(alice_api: APIClient, ctp_payload: dict[str, Any]) -> None:
    alice_api.post("/api/accounts", ctp_payload, format="json")
    alice_api.patch("/api/accounts/ctp-main", {"id": "renamed"}, format="json")
    assert MarketDataAccount.objects.filter(id="ctp-main").exists()
    assert not MarketDataAccount.objects.filter(id="renamed").exists()


@pytest.mark.parametrize(
    ("change", "field_path", "phrase"),
    [
        (
            {"settings": {"password": "x", "brokerID": "9999", "mdAddress": "tcp://1.2.3.4:1"}},
            ("settings", "userID"),
            "required for ctp",
        ),
        (
            {"settings": {"userID": "1", "password": "x", "brokerID": "9", "mdAddress": "1.2.3.4:41213"}},
            ("settings", "mdAddress"),
            "not an address like tcp://host:port",
        ),
        (
            {"settings": {"userID": "1", "password": "x", "brokerID": "9", "mdAddress": "tcp://h:99999"}},
            ("settings", "mdAddress"),
            "out of range",
        ),
        (
            {
                "settings": {
                    "userID": "1",
                    "password": "x",
                    "brokerID": "9",
                    "mdAddress": "tcp://h:1",
                    "bogus": 1,
                }
            },
            ("settings", "bogus"),
            "unknown setting",
        ),
        (
            {"settings": {"userID": 1, "password": "x", "brokerID": "9", "mdAddress": "tcp://h:1"}},
            ("settings", "userID"),
            "must be a string",
        ),
        ({"settings": "not-an-object"}, ("settings", "settings"), "JSON object"),
        ({"gateway_type": "ib"}, ("gateway_type",), "not a valid choice"),
        ({"priority": -1}, ("priority",), "greater than or equal to 0"),
        ({"id": "has space"}, ("id",), "letters, numbers, underscores or hyphens"),
        ({"canaries": ["rb2501"]}, ("canaries",), "not a vt_symbol"),
        ({"canaries": ["rb2501.XXX"]}, ("canaries",), "unknown exchange XXX"),
        ({"canaries": "rb2501.SHFE"}, ("canaries",), "must be a list"),
    ],
)
def test_each_validation_error_names_the_field_and_the_reason(
    alice_api: APIClient,
    ctp_payload: dict[str, Any],
    change: dict[str, Any],
    field_path: tuple[str, ...],
    phrase: str,
) -> None:
    response = alice_api.post("/api/accounts", dict(ctp_payload, **change), format="json")
    assert response.status_code == 400
    errors: Any = response.json()
    for key in field_path:
        assert key in errors, (field_path, errors)
        errors = errors[key]
    assert phrase in json.dumps(errors), errors
    assert not MarketDataAccount.objects.exists()


def test_sim_settings_are_checked_as_numbers(alice_api: APIClient) -> None:
    bad = {"id": "sim-x", "gateway_type": "sim", "settings": {"latency_ms": -2, "loss": 1.5}}
    response = alice_api.post("/api/accounts", bad, format="json")
    assert response.status_code == 400
    assert response.json()["settings"] == {
        "latency_ms": ["must not be negative"],
        "loss": ["must be between 0 and 1"],
    }
    good = {"id": "sim-x", "gateway_type": "sim", "settings": {"latency_ms": 2, "loss": 0.1}}
    assert alice_api.post("/api/accounts", good, format="json").status_code == 201


def test_a_viewer_may_read_but_not_change(bob_api: APIClient, ctp_payload: dict[str, Any]) -> None:
    MarketDataAccount.objects.create(id="sim-a", gateway_type="sim")
    assert bob_api.get("/api/accounts").status_code == 200
    assert bob_api.post("/api/accounts", ctp_payload, format="json").status_code == 403
    assert bob_api.patch("/api/accounts/sim-a", {"priority": 3}, format="json").status_code == 403
    assert bob_api.delete("/api/accounts/sim-a").status_code == 403


def test_token_login_for_scripts(api: APIClient, alice: User) -> None:
    response = api.post("/api/auth/token", {"username": "alice", "password": "alice-pass-123"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/accounts").status_code == 200


def test_session_login_and_logout(alice: User) -> None:
    client = APIClient(enforce_csrf_checks=True)
    assert client.get("/api/auth/session").status_code == 401
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/api/auth/session",
        {"username": "alice", "password": "alice-pass-123"},
        format="json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert response.status_code == 200
    assert response.json() == {"username": "alice", "is_staff": True}
    assert client.get("/api/accounts").status_code == 200
    csrf = client.cookies["csrftoken"].value
    assert client.delete("/api/auth/session", HTTP_X_CSRFTOKEN=csrf).status_code == 204
    assert client.get("/api/accounts").status_code in (401, 403)


def test_an_inactive_user_cannot_log_in(api: APIClient, charlie: User) -> None:
    response = api.post(
        "/api/auth/session", {"username": "charlie", "password": "charlie-pass-123"}, format="json"
    )
    assert response.status_code == 401


def test_repeated_failed_logins_lock_the_user_out(api: APIClient, alice: User, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        bad = api.post("/api/auth/session", {"username": "alice", "password": "wrong"}, format="json")
        assert bad.status_code in (401, 403, 429)
    good = api.post("/api/auth/session", {"username": "alice", "password": "alice-pass-123"}, format="json")
    assert good.status_code != 200


def test_schema_and_swagger_ui_are_served_behind_login(alice_api: APIClient) -> None:
    schema = alice_api.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert {"/api/accounts/", "/api/accounts/{id}/"} <= set(paths), sorted(paths)
    docs = alice_api.get("/api/docs")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_health_reports_database_and_redis(alice_api: APIClient) -> None:
    response = alice_api.get("/api/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["redis"] == "ok"
