"""The REST API describes itself: ``/api/`` lists it, ``/api/docs`` renders from the project's
own files, the schema is generated without a warning and documents every error, and bad query
parameters get a 400 that names them (docs/api.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import resolve
from rest_framework.test import APIClient

from accounts.models import MarketDataAccount
from monitoring.models import Event
from tests.live_helpers import live_redis

__all__ = ["live_redis"]  # the fixture, imported to be used here

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)


def schema_of(client: APIClient) -> dict[str, Any]:
    response = client.get("/api/schema?format=json")
    assert response.status_code == 200, response.content
    document: dict[str, Any] = response.json()
    return document


# --- generation --------------------------------------------------------------------------------


def test_schema_generation_is_free_of_warnings_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "schema.yaml"
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--fail-on-warn", "--validate", "--file", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr
    assert out.read_text().startswith("openapi: 3")


# --- /api/ ----------------------------------------------------------------------------------------


def test_the_api_index_lists_every_group_the_schema_and_the_docs_without_login(
    api: APIClient, alice_api: APIClient, live_redis: redis.Redis
) -> None:
    for url in ("/api/", "/api"):
        response = api.get(url, HTTP_ACCEPT="application/json")
        assert response.status_code == 200, (url, response.content)
    index = response.json()
    links = {link["name"]: link["url"] for link in index["links"]}
    assert set(links) >= {"accounts", "gateways", "events", "logs", "health", "session", "token", "metrics"}
    assert index["schema"] == links["schema"] == "http://testserver/api/schema"
    assert index["docs"] == links["docs"] == "http://testserver/api/docs"
    for name, url in links.items():
        path = url.removeprefix("http://testserver")
        assert resolve(path).url_name != "dashboard", (name, url)
        if name != "token":  # POST only
            answer = alice_api.get(path)
            assert answer.status_code == 200, (name, url, answer.status_code)


def test_the_index_is_in_the_schema(alice_api: APIClient) -> None:
    operation = schema_of(alice_api)["paths"]["/api/"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiIndex"
    }


# --- /api/docs --------------------------------------------------------------------------------------


def test_swagger_ui_comes_from_the_project_not_a_cdn(alice_api: APIClient) -> None:
    page = alice_api.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert any(a.endswith("swagger-ui.css") for a in assets), assets
    # Nothing from another host: every asset is a path on this server.
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    assert not re.search(r"https?://(?!testserver)", html), "the page names another host"
    static = Client()  # WhiteNoise answers before any login is needed
    for asset in assets:
        response = static.get(asset)
        assert response.status_code == 200, asset
        body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert len(body) > 100, asset


def test_the_docs_need_a_login(api: APIClient) -> None:
    assert api.get("/api/docs").status_code in (401, 403)


# --- every status in the schema -------------------------------------------------------------------


def test_every_operation_documents_the_errors_it_can_give(alice_api: APIClient) -> None:
    document = schema_of(alice_api)
    error_refs = {"#/components/schemas/Error", "#/components/schemas/ValidationError"}
    checked = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            statuses = set(responses)
            parameters = operation.get("parameters", [])
            assert "403" in statuses, where
            if any(p["in"] == "path" for p in parameters):
                assert "404" in statuses, where
            if operation.get("requestBody") or any(p["in"] == "query" for p in parameters):
                assert "400" in statuses, where
            if operation.get("requestBody"):
                assert "415" in statuses, where
            for status, response in responses.items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema["$ref"] in error_refs, (where, status, schema)
            checked += 1
    assert checked >= 18
    paths = document["paths"]
    for login in (paths["/api/auth/session"]["post"], paths["/api/auth/token"]["post"]):
        assert {"200", "400", "401", "429"} <= set(login["responses"])
    assert {"200", "401"} <= set(paths["/api/auth/session"]["get"]["responses"])
    assert "204" in paths["/api/auth/session"]["delete"]["responses"]
    for command in ("start", "stop", "restart"):
        assert {"202", "404", "503"} <= set(paths[f"/api/accounts/{{id}}/{command}/"]["post"]["responses"])


def test_paging_parameters_state_their_bounds(alice_api: APIClient) -> None:
    parameters = {
        p["name"]: p["schema"] for p in schema_of(alice_api)["paths"]["/api/events/"]["get"]["parameters"]
    }
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    assert parameters["offset"] == {"type": "integer", "minimum": 0}


# --- bad query parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/accounts?offset=null", "offset"),
        ("/api/accounts?limit=abc", "limit"),
        ("/api/accounts?limit=0", "limit"),
        ("/api/accounts?limit=1001", "limit"),
        ("/api/accounts?offset=-1", "offset"),
        ("/api/events?offset=null", "offset"),
        ("/api/events?limit=2.5", "limit"),
        ("/api/events?since=yesterday", "since"),
        ("/api/events?since=2026-13-45", "since"),
        ("/api/events?since=0001-01-01T00:00:00", "since"),  # before year 1 in UTC
        ("/api/events?since=9999-12-31T23:59:59-12:00", "since"),  # after year 9999 in UTC
        ("/api/events?kind=explosion", "kind"),
        ("/api/logs?level=LOUD", "level"),
        ("/api/logs?limit=abc", "limit"),
        ("/api/logs?limit=0", "limit"),
    ],
)
def test_a_bad_query_parameter_is_a_400_naming_it(
    bob_api: APIClient, live_redis: redis.Redis, url: str, parameter: str
) -> None:
    response = bob_api.get(url)
    assert response.status_code == 400, (url, response.content)
    body = response.json()
    assert list(body) == [parameter], body
    assert all(isinstance(reason, str) and reason for reason in body[parameter]), body


def test_good_paging_still_pages(bob_api: APIClient) -> None:
    for name in ("sim-a", "sim-b", "sim-c"):
        MarketDataAccount.objects.create(id=name, gateway_type="sim")
    page = bob_api.get("/api/accounts?limit=2&offset=1").json()
    assert page["count"] == 3
    assert [item["id"] for item in page["results"]] == ["sim-b", "sim-c"]


def test_a_since_without_a_zone_is_exchange_time(bob_api: APIClient) -> None:
    # 13:00 UTC is 21:00 in Shanghai: the night session's opening.
    Event.objects.create(
        ts=datetime(2026, 12, 1, 13, 0, tzinfo=UTC), account="sim-a", kind="state", reason="x"
    )
    at_open = bob_api.get("/api/events?since=2026-12-01T21:00:00").json()
    after_open = bob_api.get("/api/events?since=2026-12-01T21:00:01").json()
    assert at_open["count"] == 1
    assert after_open["count"] == 0


def test_a_locked_out_login_is_a_429_with_a_detail_like_every_error(bob: Any, api: APIClient) -> None:
    cache.clear()  # the login throttle (10/min per address) counts other tests' logins there
    wrong = {"username": "bob", "password": "wrong"}
    answers = [api.post("/api/auth/token", wrong, format="json") for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert [a.status_code for a in answers[:-1]] == [401] * (settings.AXES_FAILURE_LIMIT - 1)
    # Even the right password, once locked out.
    for answer in (answers[-1], api.post("/api/auth/token", {"username": "bob", "password": "bob-pass-123"})):
        assert answer.status_code == 429
        assert answer["Content-Type"] == "application/json"
        assert "wait 15 minutes" in answer.json()["detail"]
