"""The live-state API (docs/api.md): gateways, events, logs, and ``/metrics``.

Gateways, logs and metrics come from what the hub keeps in Redis (``webbase.live_state``),
never from the hub process itself, so these answer at once whether or not it runs; events
come from the database the hub writes them to.
"""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import MarketDataAccount
from monitoring import history, metrics, tape_metrics
from monitoring.models import Event
from monitoring.serializers import (
    EventQuerySerializer,
    EventSerializer,
    GatewaysSnapshotSerializer,
    LogQuerySerializer,
    LogsSerializer,
    level_number,
)
from webbase import live_state
from webbase.redis_client import get_redis


def offline_gateways() -> dict[str, Any]:
    """The ``/api/gateways`` document while the hub is not running: every account, stopped,
    so the dashboard still lists them (and offers Start, which the hub gets once it is up)."""
    document = live_state.offline_state()
    document["gateways"] = [
        {
            "id": account.id,
            "gateway_type": account.gateway_type,
            "priority": account.priority,
            "is_enabled": account.is_enabled,
            "state": "stopped",
            "state_reason": "engine offline",
            "state_since": None,
            "is_primary": False,
            "pid": None,
            "tick_rate": None,
            "last_tick_age": None,
            "canaries": {str(symbol): None for symbol in account.canaries or []},
            "first_share": None,
            "latency_ms": None,
            "restarts": 0,
        }
        for account in MarketDataAccount.objects.all()
    ]
    return document


def current_gateways() -> dict[str, Any]:
    """The hub's snapshot, or the offline document when it has lapsed or Redis is down."""
    state = live_state.read_state(get_redis())
    return state if state.get("engine") == "online" else offline_gateways()


class GatewaysView(APIView):
    @extend_schema(
        responses=GatewaysSnapshotSerializer,
        summary="Live state of every gateway",
        description="The hub's state snapshot, refreshed every second. While the hub is not running, "
        '`engine` is "offline" and every account is listed with state "stopped". An online snapshot '
        "also carries the hub's counters (`hub`, and per gateway `received`, `first`, `duplicates`, "
        "`too_late`, `backpressure`, `latency_hist`), which `/metrics` exports.",
    )
    def get(self, request: Request) -> Response:
        return Response(current_gateways())


@extend_schema(
    parameters=[EventQuerySerializer],
    summary="State changes, failovers, restarts and operator commands, newest first",
)
class EventListView(generics.ListAPIView[Event]):
    serializer_class = EventSerializer

    def get_queryset(self) -> Any:
        query = EventQuerySerializer(data=self.request.query_params)
        # 400 naming the parameter and the reason, e.g. {"kind": ['"x" is not a valid choice.']}.
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        events = Event.objects.all()
        if "account" in filters:
            events = events.filter(account=filters["account"])
        if "kind" in filters:
            events = events.filter(kind=filters["kind"])
        if "since" in filters:
            events = events.filter(ts__gte=filters["since"])
        return events


class LogsView(APIView):
    @extend_schema(
        parameters=[LogQuerySerializer],
        responses=LogsSerializer,
        summary="The newest hub and gateway log records, newest last",
        description="From the hub's bounded log ring in Redis (empty while Redis is down).",
    )
    def get(self, request: Request) -> Response:
        query = LogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        # Filter the whole ring, then keep the newest `limit`: a rare ERROR among thousands
        # of INFO lines must still be found.
        records = live_state.read_logs(get_redis(), live_state.LOG_KEEP)
        if "level" in filters:
            minimum = level_number(filters["level"])
            records = [r for r in records if level_number(r.get("level")) >= minimum]
        if "account" in filters:
            records = [r for r in records if r.get("account") == filters["account"]]
        return Response({"results": records[-filters["limit"] :]})


class MetricsView(APIView):
    # Any logged-in user or token may scrape: the numbers are no secret, but not public.
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description="Prometheus text format 0.0.4."
            ),
        },
        summary="Prometheus metrics of the hub",
        description="Per source: ticks received, first, duplicates, drops by rule, first-arrival share, "
        "latency histogram, state, restarts; engine up/down; hub forwarded/malformed. Send "
        "`Authorization: Token <key>`.",
    )
    def get(self, request: Request) -> HttpResponse:
        state = live_state.read_state(get_redis())
        speed = history.read_speed(get_redis()) if state.get("engine") == "online" else None
        # The recording's gauges come from its files, not from the hub's snapshot.
        body = metrics.render(state, time.time(), speed) + tape_metrics.exposition()
        return HttpResponse(body, content_type=metrics.CONTENT_TYPE)
