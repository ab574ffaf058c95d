"""Canaries may be names the engine resolves each day: ``rb.main`` (the product's main
contract) or ``rb`` (its nearest contract), for a product the rules or the contract table know."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from aggregation.models import Contract
from tests.conftest import CTP_SETTINGS

pytestmark = pytest.mark.django_db


def _account(canaries: list[str]) -> dict[str, Any]:
    return {"id": "ctp-names", "gateway_type": "ctp", "settings": dict(CTP_SETTINGS), "canaries": canaries}


def test_main_contract_and_product_names_are_accepted_as_canaries(alice_api: APIClient) -> None:
    response = alice_api.post(
        "/api/accounts", _account(["rb.main", "IF", "510050.main", "cu2701.SHFE"]), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["canaries"] == ["rb.main", "IF", "510050.main", "cu2701.SHFE"]


@pytest.mark.parametrize("name", ["zz.main", "zz", "rb.main.SHFE", ".main", ""])
def test_a_name_the_engine_cannot_resolve_is_refused_with_what_is_allowed(
    alice_api: APIClient, name: str
) -> None:
    response = alice_api.post("/api/accounts", _account([name]), format="json")
    assert response.status_code == 400
    assert "main contract (rb.main)" in str(response.json()["canaries"])


def test_a_product_known_only_from_the_contract_table_is_accepted(alice_api: APIClient) -> None:
    assert alice_api.post("/api/accounts", _account(["lc.main"]), format="json").status_code == 400
    Contract.objects.create(vt_symbol="lc2707.GFEX", symbol="lc2707", exchange="GFEX", product_code="lc")
    assert alice_api.post("/api/accounts", _account(["lc.main"]), format="json").status_code == 201
