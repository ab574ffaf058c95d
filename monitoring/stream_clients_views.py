"""Who reads the stream now (docs/access.md): the stream clients the running hub has seen,
from its state snapshot in Redis (``stream_clients``), so it answers at once whether or not
the hub runs (offline: empty)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.stream_clients_serializers import ConnectedStreamClientsSerializer
from webbase import live_state
from webbase.redis_client import get_redis


def connected_clients(state: dict[str, Any]) -> dict[str, Any]:
    """The answer for one state snapshot; most recently active first."""
    if state.get("engine") != "online":
        return {"engine": "offline", "curve": False, "updated_at": None, "clients": []}
    rows = state.get("stream_clients")
    clients = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    clients.sort(key=lambda r: (-float(r.get("last_activity") or 0), str(r.get("name"))))
    return {
        "engine": "online",
        "curve": rows is not None,
        "updated_at": state.get("updated_at"),
        "clients": clients,
    }


class ConnectedStreamClientsView(APIView):
    @extend_schema(
        responses=ConnectedStreamClientsSerializer,
        summary="The stream clients the running hub has seen",
        description="Every client that connected since the hub started: identity, addresses, open "
        "connections, subscriptions, refusals, conflation and its drops, last activity. Refreshed by the "
        "hub every second. Needs CURVE (MDHUB_CURVE): an open hub does not know its readers (`curve` "
        'false). While the hub is not running, `engine` is "offline" and the list is empty.',
    )
    def get(self, request: Request) -> Response:
        return Response(connected_clients(live_state.read_state(get_redis())))
