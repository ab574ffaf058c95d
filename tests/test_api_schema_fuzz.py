"""The REST API against its own schema: schemathesis generates requests from /api/schema and
sends them to the real Django app (in process, through WSGI and every middleware), logged in
as alice the operator with a token, with Redis real (a private database, tests.live_helpers).

Every answer must be no server error, have a status the schema documents for the operation,
and a body that matches the schema for that status. Bounded (a few examples per operation)
so that it stays a part of the default suite.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import schemathesis
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.signals import request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import MarketDataAccount
from clients_access.keys import new_key_pair
from clients_access.models import StreamClient
from monitoring.models import Event
from tests.live_helpers import gateway, live_redis, log_record, push_logs, snapshot, write_snapshot

__all__ = ["live_redis"]  # the fixture, imported to be used here

pytestmark = pytest.mark.django_db

# Per operation: about 20 operations, each answered in a few milliseconds in process.
EXAMPLES = 12
# What the fixture puts behind each path parameter: a valid request names one of these about
# half the time, so that detail answers (200, 204, the 400 of a bad update) are checked too; a
# random name (matching the parameter's pattern) is only ever a 404.
SEEDED = {"id": ("sim-a", "sim-b"), "name": ("cta-desk", "risk")}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def alice_token(alice: User) -> str:
    key: str = Token.objects.create(user=alice).key
    return key


@pytest.fixture
def api_schema(alice_token: str, live_redis: redis.Redis) -> Iterator[Any]:
    # Something behind every list and detail, so that answers with bodies are checked too,
    # not only the 404s of random ids.
    for number, name in enumerate(SEEDED["id"], start=1):
        MarketDataAccount.objects.create(
            id=name, gateway_type="sim", priority=number * 10, is_enabled=True, canaries=["rb2601.SHFE"]
        )
    for name in SEEDED["name"]:
        StreamClient.objects.create(name=name, public_key=new_key_pair().public, prefixes=["tick.rb"])
    Event.objects.create(
        ts=timezone.now(),
        account="sim-a",
        kind="state",
        state_from="starting",
        state_to="healthy",
        reason="up",
    )
    write_snapshot(live_redis, snapshot(gateway("sim-a"), gateway("sim-b"), primary="sim-a"))
    push_logs(live_redis, [log_record("hello"), log_record("boom", level="ERROR", account=None)])
    # The fuzzer calls the real WSGI handler, which closes the database connection at each
    # request's start; inside the test's transaction that breaks it on MariaDB (SQLite's
    # in-memory test database ignores the close). Django's own test client does the same.
    request_started.disconnect(close_old_connections)
    try:
        headers = {"Authorization": f"Token {alice_token}"}
        app = get_wsgi_application()
        schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", app, headers=headers)
        yield schema
    finally:
        request_started.connect(close_old_connections)
    # The login throttle counts in the cache: leave none of the fuzzer's attempts to later tests.
    cache.clear()


def _operations() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Every operation, and those that take input (parameters or a body), read at collection
    time from the same generator that serves the schema (no request, no database), so that
    each one is a test of its own."""
    document = SchemaGenerator().get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
    every: list[tuple[str, str]] = []
    with_input: list[tuple[str, str]] = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            every.append((method.upper(), path))
            if operation.get("parameters") or operation.get("requestBody"):
                with_input.append((method.upper(), path))
    return every, with_input


OPERATIONS, WITH_INPUT = _operations()


def _ids(operations: list[tuple[str, str]]) -> list[str]:
    return [f"{method} {path}" for method, path in operations]


def _cases(operation: Any, mode: GenerationMode) -> st.SearchStrategy[Any]:
    cases: st.SearchStrategy[Any] = operation.as_strategy(generation_mode=mode)
    names = [name for name in re.findall(r"\{(\w+)\}", operation.path) if name in SEEDED]
    if mode is not GenerationMode.POSITIVE or not names:
        return cases  # a negative case's path parameter is one that breaks the schema: keep it

    def naming_a_seeded_one(case: Any, seeded: dict[str, str]) -> Any:
        case.path_parameters = {**case.path_parameters, **seeded}
        return case

    seeded = st.fixed_dictionaries({name: st.sampled_from(SEEDED[name]) for name in names})
    return st.one_of(cases, st.builds(naming_a_seeded_one, cases, seeded))


def fuzz(operation: Any, token: str, mode: GenerationMode, checks: list[Any]) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=_cases(operation, mode))
    def run(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=checks)

    run()


def test_the_fuzzer_sees_every_operation(api_schema: Any) -> None:
    # What schemathesis loaded over HTTP is what the tests below were built from.
    loaded = {(result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()}
    assert loaded == set(OPERATIONS)
    assert len(OPERATIONS) >= 18, OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=_ids(OPERATIONS))
def test_valid_requests_get_documented_answers_and_no_server_error(
    method: str, path: str, api_schema: Any, alice_token: str
) -> None:
    fuzz(api_schema[path][method], alice_token, GenerationMode.POSITIVE, CHECKS)


@pytest.mark.parametrize(("method", "path"), WITH_INPUT, ids=_ids(WITH_INPUT))
def test_invalid_input_gets_a_documented_answer_and_no_server_error(
    method: str, path: str, api_schema: Any, alice_token: str
) -> None:
    # Parameters and bodies that break the schema (offset=null, limit=abc, a date that is
    # none, a wrong type in the body): a documented 4xx, never a 500. The body of such an
    # answer may be Django's own (a path that matches no route), so its shape is not checked.
    fuzz(api_schema[path][method], alice_token, GenerationMode.NEGATIVE, CHECKS[:2])
