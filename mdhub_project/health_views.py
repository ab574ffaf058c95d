"""``GET /api/health``: is the web side able to reach what it needs?"""

from __future__ import annotations

from typing import Any

from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webbase.redis_client import redis_ping


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable" here
        return False


REACHABLE = ["ok", "unreachable"]


class HealthView(APIView):
    @extend_schema(
        summary="Whether the web side reaches its database and Redis",
        description="Always 200 when the web side answers at all; `status` is "
        '"degraded" when the database or Redis is unreachable.',
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.ChoiceField(choices=["ok", "degraded"]),
                "database": serializers.ChoiceField(choices=REACHABLE),
                "redis": serializers.ChoiceField(choices=REACHABLE),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        checks: dict[str, Any] = {
            "database": "ok" if _database_ok() else "unreachable",
            "redis": "ok" if redis_ping() else "unreachable",
        }
        checks["status"] = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
        return Response(checks)
