"""``GET /api/gateway-types``: the gateway types and the settings each one takes.

Served from ``accounts.gateway_settings`` (the specs the server checks accounts against), so
the dashboard's account form renders exactly what the server will accept instead of keeping
a copy that drifts.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.gateway_settings import SettingKind, SettingSpec, specs_for
from accounts.models import GatewayType

# These serializers describe the answer for the OpenAPI schema. ``label`` and ``required``
# shadow attributes of DRF's Field at class level only: the serializer metaclass moves
# declared fields off the class, so they do not clash at run time.


class SettingSpecSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(help_text="Key in the account's `settings`.")
    label = serializers.CharField(help_text="What a form calls the field.")  # type: ignore[assignment]
    kind = serializers.ChoiceField(
        choices=[kind.value for kind in SettingKind],
        help_text="secret: write-only (never returned; blank on update keeps it); address: tcp://host:port; "
        "number: ≥ 0; fraction: 0..1.",
    )
    required = serializers.BooleanField()  # type: ignore[assignment]
    help = serializers.CharField()


class GatewayTypeSerializer(serializers.Serializer[dict[str, Any]]):
    gateway_type = serializers.ChoiceField(choices=GatewayType.choices, help_text="As in an account.")
    label = serializers.CharField()  # type: ignore[assignment]
    settings = SettingSpecSerializer(many=True, help_text="In the order a form shows them.")


def spec_document(spec: SettingSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "label": spec.label,
        "kind": spec.kind.value,
        "required": spec.required,
        "help": spec.help,
    }


def gateway_types() -> list[dict[str, Any]]:
    """Every gateway type, in the model's order, with its setting specs."""
    return [
        {
            "gateway_type": value,
            "label": str(label),
            "settings": [spec_document(spec) for spec in specs_for(value)],
        }
        for value, label in GatewayType.choices
    ]


class GatewayTypesView(APIView):
    @extend_schema(
        responses={
            200: GatewayTypeSerializer(many=True),
            403: OpenApiResponse(description="Not logged in."),
        },
        summary="Gateway types and their settings",
        description="The settings each gateway type takes, as the server checks them on "
        "`POST/PUT/PATCH /api/accounts`: a form renders one field per entry.",
    )
    def get(self, request: Request) -> Response:
        return Response(gateway_types())
