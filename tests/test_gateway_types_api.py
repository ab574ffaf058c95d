from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.gateway_settings import SPECS, SettingKind
from accounts.models import GatewayType, MarketDataAccount

pytestmark = pytest.mark.django_db


def test_anonymous_gets_no_gateway_types(api: APIClient) -> None:
    response = api.get("/api/gateway-types")
    assert response.status_code in (401, 403)


def test_a_viewer_gets_every_type_with_the_specs_the_server_checks(bob_api: APIClient) -> None:
    response = bob_api.get("/api/gateway-types")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [item["gateway_type"] for item in body] == [value for value, _ in GatewayType.choices]
    assert {item["gateway_type"]: item["label"] for item in body}["ctp"] == "CTP (futures)"
    for item in body:
        served = [(s["name"], s["label"], s["kind"], s["required"], s["help"]) for s in item["settings"]]
        expected = [(s.name, s.label, str(s.kind), s.required, s.help) for s in SPECS[item["gateway_type"]]]
        assert served == expected
    ctp = {s["name"]: s for s in body[0]["settings"]}
    assert ctp["password"]["kind"] == "secret" and ctp["password"]["required"] is True
    assert bob_api.get("/api/gateway-types/").status_code == 200


def test_a_form_filled_from_the_served_specs_is_accepted(alice_api: APIClient) -> None:
    """What the dashboard does: one value per served setting, by kind."""
    sample = {
        SettingKind.TEXT: "0001",
        SettingKind.SECRET: "pw-123",
        SettingKind.ADDRESS: "tcp://127.0.0.1:41213",
        SettingKind.NUMBER: 5,
        SettingKind.FRACTION: 0.25,
    }
    for item in alice_api.get("/api/gateway-types").json():
        settings = {spec["name"]: sample[SettingKind(spec["kind"])] for spec in item["settings"]}
        created = alice_api.post(
            "/api/accounts",
            {"id": f"{item['gateway_type']}-x", "gateway_type": item["gateway_type"], "settings": settings},
            format="json",
        )
        assert created.status_code == 201, (item["gateway_type"], created.content)
        # Leaving out a required one is refused at that setting.
        required = [spec["name"] for spec in item["settings"] if spec["required"]]
        if required:
            missing = {k: v for k, v in settings.items() if k != required[0]}
            refused = alice_api.post(
                "/api/accounts",
                {
                    "id": f"{item['gateway_type']}-y",
                    "gateway_type": item["gateway_type"],
                    "settings": missing,
                },
                format="json",
            )
            assert refused.status_code == 400
            assert required[0] in str(refused.json())
    assert MarketDataAccount.objects.count() == len(GatewayType.choices)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` and a lone ``allOf`` (drf-spectacular's wrapper for a described enum)."""
    while True:
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        elif len(node.get("allOf", ())) == 1:
            node = node["allOf"][0]
        else:
            return node


def test_the_schema_describes_gateway_types(tmp_path: Any) -> None:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--validate")
    schema = yaml.safe_load(out.read_text())
    operation = schema["paths"]["/api/gateway-types/"]["get"]
    assert {"200", "403"} <= set(operation["responses"])
    listed = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["type"] == "array"
    type_schema = _resolve(schema, listed["items"])
    assert set(type_schema["required"]) == {"gateway_type", "label", "settings"}
    assert _resolve(schema, type_schema["properties"]["gateway_type"])["enum"] == [
        v for v, _ in GatewayType.choices
    ]
    spec_schema = _resolve(schema, type_schema["properties"]["settings"]["items"])
    assert set(spec_schema["required"]) == {"name", "label", "kind", "required", "help"}
    kind = _resolve(schema, spec_schema["properties"]["kind"])
    assert sorted(kind["enum"]) == sorted(k.value for k in SettingKind)


def test_api_datetimes_carry_china_time(alice_api: APIClient) -> None:
    """Times in the API are exchange time: ISO 8601 with +08:00, whatever the server's zone."""
    MarketDataAccount.objects.create(id="sim-a", gateway_type="sim")
    body = alice_api.get("/api/accounts/sim-a").json()
    assert body["created_at"].endswith("+08:00"), body["created_at"]
    assert body["updated_at"].endswith("+08:00"), body["updated_at"]
