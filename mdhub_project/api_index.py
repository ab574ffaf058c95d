"""``GET /api/``: where everything of the REST API is, for a person or a script arriving there.

Open to anyone: it holds only links, the same ones the schema and the README give, and a
newcomer must be able to find the login and the docs before having logged in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


@dataclass(frozen=True)
class Link:
    name: str
    url_name: str
    description: str


LINKS = (
    Link(
        "accounts",
        "account-list",
        "Market-data accounts: list, create, read, change, delete. "
        "POST /api/accounts/{id}/start, /stop, /restart command the account's gateway (202).",
    ),
    Link("gateways", "gateways", "Live state of every gateway: the hub's snapshot, refreshed every second."),
    Link("events", "events", "State changes, failovers, restarts and operator commands, newest first."),
    Link("logs", "logs", "The newest hub and gateway log records, filterable by level and account."),
    Link("health", "health", "Whether the web side reaches its database and Redis."),
    Link("session", "auth-session", "Log in and out with a session cookie (the dashboard does)."),
    Link("token", "auth-token", "Trade a username and password for a token: `Authorization: Token <key>`."),
    Link("metrics", "metrics", "Prometheus metrics of the hub (text format)."),
    Link("schema", "schema", "The OpenAPI 3 schema (YAML; `?format=json` for JSON)."),
    Link("docs", "swagger-ui", "The schema as browsable docs (Swagger UI), with “Try it out”."),
)


class LinkSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField()
    url = serializers.URLField()
    description = serializers.CharField()


class ApiIndexSerializer(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField()
    version = serializers.CharField()
    schema = serializers.URLField(help_text="The OpenAPI schema.")
    docs = serializers.URLField(help_text="Swagger UI.")
    links = LinkSerializer(many=True, help_text="Every endpoint group, the schema and the docs.")


def api_index(request: Request) -> dict[str, Any]:
    def url(url_name: str) -> str:
        # reverse() of the routes' optional trailing slash ("/?") gives the bare form.
        return request.build_absolute_uri(reverse(url_name))

    return {
        "title": settings.SPECTACULAR_SETTINGS["TITLE"],
        "version": settings.SPECTACULAR_SETTINGS["VERSION"],
        "schema": url("schema"),
        "docs": url("swagger-ui"),
        "links": [
            {"name": link.name, "url": url(link.url_name), "description": link.description} for link in LINKS
        ],
    }


class ApiIndexView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses=ApiIndexSerializer, summary="Index of the API: its endpoint groups, schema and docs"
    )
    def get(self, request: Request) -> Response:
        return Response(api_index(request))
