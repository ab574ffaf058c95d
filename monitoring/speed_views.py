"""Where each source's speed comes from (docs/api.md): the speed table, the charts' history,
the state timeline and the contracts' table.

Speed and contracts come from the hub's speed summary in Redis, history from its samples
there (``monitoring.history``), the timeline from the stored events: all answer at once
whether or not the hub runs (empty while it does not).
"""

from __future__ import annotations

import time
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring import history
from monitoring.speed_serializers import (
    ContractQuerySerializer,
    ContractSerializer,
    HistorySerializer,
    SpeedQuerySerializer,
    SpeedSerializer,
    TimelineSerializer,
    WindowQuerySerializer,
)
from monitoring.state_timeline import timeline
from webbase.redis_client import get_redis


def fastest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per exchange, product and session: the source first most often, and how much later
    the runner-up's copies came."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["exchange"], row["product"], row["session"]), []).append(row)
    answer = []
    for (exchange, product, session), members in sorted(groups.items()):
        ranked = sorted(members, key=lambda r: (-r["first_share"], r["late_p50_ms"] or 0.0, r["source"]))
        best = ranked[0]
        second = ranked[1] if len(ranked) > 1 else None
        answer.append(
            {
                "exchange": exchange,
                "product": product,
                "session": session,
                "source": best["source"],
                "first_share": best["first_share"],
                "runner_up": second["source"] if second else None,
                "runner_up_late_p50_ms": second["late_p50_ms"] if second else None,
            }
        )
    return answer


def _rows(speed: dict[str, Any]) -> list[dict[str, Any]]:
    keys = ("source", "exchange", "product", "session", "first_share")
    return [r for r in speed.get("rows", []) if isinstance(r, dict) and all(k in r for k in keys)]


class SourceSpeedView(APIView):
    @extend_schema(
        parameters=[SpeedQuerySerializer],
        responses=SpeedSerializer,
        summary="Which source is fastest for which exchange, product and session",
        description="Every source's copies since the hub started, per exchange, product and session "
        "(day, or night: 18:00–06:00 exchange time): how many it delivered first, how many came late "
        "and how late (p50/p99 ms, and the histogram), plus per product the fastest source and how "
        "much later the runner-up came. Refreshed by the hub every 5 s; empty while it is offline.",
    )
    def get(self, request: Request) -> Response:
        query = SpeedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        speed = history.read_speed(get_redis())
        if speed is None:
            return Response(
                {"engine": "offline", "updated_at": None, "session": None, "rows": [], "fastest": []}
            )
        rows = [r for r in _rows(speed) if all(r.get(name) == value for name, value in filters.items())]
        return Response(
            {
                "engine": "online",
                "updated_at": speed.get("updated_at"),
                "session": speed.get("session"),
                "rows": rows,
                "fastest": fastest(rows),
            }
        )


class SourceHistoryView(APIView):
    @extend_schema(
        parameters=[WindowQuerySerializer],
        responses=HistorySerializer,
        summary="Per source tick rate, latency p50/p99 and first-arrival share over the last minutes",
        description=f"One point every {history.HISTORY_STEP:g} s from the hub's state snapshots, "
        f"kept {history.HISTORY_KEEP * history.HISTORY_STEP / 3600:g} hours in Redis.",
    )
    def get(self, request: Request) -> Response:
        query = WindowQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        samples = history.read_history(get_redis(), query.validated_data["minutes"], time.time())
        return Response(history.series(samples))


class StateTimelineView(APIView):
    @extend_schema(
        parameters=[WindowQuerySerializer],
        responses=TimelineSerializer,
        summary="When each source was healthy, stale, restarting… over the last minutes",
        description="From the stored state-change events: per source, segments of one state each.",
    )
    def get(self, request: Request) -> Response:
        query = WindowQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        until = time.time()
        return Response(timeline(until - query.validated_data["minutes"] * 60, until))


@extend_schema(
    parameters=[ContractQuerySerializer],
    summary="Per contract: last price and age, seq, which source wins, how late the others are",
    description="The most active contracts (up to 500, by seq) of the hub's current session, from its "
    "speed summary (refreshed every 5 s); empty while the hub is offline.",
)
class ContractListView(generics.ListAPIView[Any]):
    serializer_class = ContractSerializer

    def get_queryset(self) -> Any:
        query = ContractQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        speed = history.read_speed(get_redis()) or {}
        contracts = [c for c in speed.get("contracts", []) if isinstance(c, dict) and "vt_symbol" in c]
        needle = str(query.validated_data.get("q", "")).lower()
        if needle:
            contracts = [c for c in contracts if needle in str(c["vt_symbol"]).lower()]
        return contracts
