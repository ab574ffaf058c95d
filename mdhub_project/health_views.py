"""``GET /api/health``: is the web side able to reach what it needs?"""

from __future__ import annotations

from typing import Any

from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mdhub_project.redis_client import redis_ping


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable" here
        return False


class HealthView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.CharField(),
                "database": serializers.CharField(),
                "redis": serializers.CharField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        checks: dict[str, Any] = {
            "database": "ok" if _database_ok() else "unreachable",
            "redis": "ok" if redis_ping() else "unreachable",
        }
        checks["status"] = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
        return Response(checks)
