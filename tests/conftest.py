"""Shared fixtures: a few named people rather than a factory library.

alice is an operator (staff), bob a viewer (logged in, read-only), charlie has no access.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import zmq
from django.contrib.auth.models import User
from rest_framework.test import APIClient


@pytest.fixture
def alice(db: Any) -> User:
    return User.objects.create_user(
        "alice", "alice@example.com", "alice-pass-123", is_staff=True, is_superuser=True
    )


@pytest.fixture
def bob(db: Any) -> User:
    return User.objects.create_user("bob", "bob@example.com", "bob-pass-123")


@pytest.fixture
def charlie(db: Any) -> User:
    return User.objects.create_user("charlie", "charlie@example.com", "charlie-pass-123", is_active=False)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def alice_api(alice: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def bob_api(bob: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(bob)
    return client


CTP_SETTINGS = {
    "userID": "0001",
    "password": "s3cret-pw",
    "brokerID": "9999",
    "mdAddress": "tcp://127.0.0.1:41213",
    "tdAddress": "tcp://127.0.0.1:41205",
    "appID": "client_mdhub_1.0",
    "authCode": "AUTHCODE-XYZ",
}


@pytest.fixture
def ctp_payload() -> dict[str, Any]:
    return {
        "id": "ctp-main",
        "gateway_type": "ctp",
        "settings": dict(CTP_SETTINGS),
        "priority": 1,
        "is_enabled": True,
        "description": "main CTP account",
        "canaries": ["rb2501.SHFE"],
    }


@pytest.fixture
def zmq_ctx() -> Iterator[zmq.Context[Any]]:
    """A ZMQ context destroyed with linger 0 however the test ends: a context left to the
    garbage collector with open sockets blocks in ``term()`` and hangs a later test."""
    ctx: zmq.Context[Any] = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)
