"""The recorded tape over HTTP: one contract-day of ticks, paged, and the recording's disk use
(docs/recording.md). Both read the Parquet files through ``recording`` (DuckDB); neither
touches the hub, Redis or the database."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.tape_serializers import RecordingSerializer, TickPageSerializer, TickQuerySerializer
from recording import layout
from recording.query import DayNotFound, exchange_time, ticks
from webbase.api_errors import error
from webbase.pagination import PageQuerySerializer, StrictLimitOffsetPagination


class TicksView(APIView):
    @extend_schema(
        parameters=[TickQuerySerializer, PageQuerySerializer],
        responses={200: TickPageSerializer, 404: error("The trading day is not recorded.")},
        summary="One contract's recorded ticks of a trading day, in exchange-time order",
        description="From the recording (Parquet, queried through DuckDB): closed trading days "
        "and days recorded on demand. A day that is not recorded is a 404 that says which days "
        "are; a recorded day without ticks of the contract is an empty page.",
    )
    def get(self, request: Request) -> Response:
        query = TickQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        pager = StrictLimitOffsetPagination()
        limit = pager.get_limit(request) or StrictLimitOffsetPagination.max_limit
        offset = pager.get_offset(request)
        root = settings.MDHUB_RECORDING_DIR
        day = query.validated_data["day"]
        try:
            page = ticks(root, query.validated_data["symbol"], day, limit, offset)
        except DayNotFound:
            known = layout.recorded_days(root)
            span = f"recorded days run from {known[0]} to {known[-1]}" if known else "nothing is recorded yet"
            raise NotFound(f"Trading day {day.isoformat()} is not recorded; {span}.") from None
        pager.limit, pager.offset, pager.count, pager.request = limit, offset, page.total, request
        results = [{"exchange_time": exchange_time(row["datetime"]), **row} for row in page.rows]
        return pager.get_paginated_response(results)


def recording_summary() -> dict[str, Any]:
    """Disk use of the recording, per day: for this API, the metrics and the dashboard."""
    root = settings.MDHUB_RECORDING_DIR
    use = layout.disk_use(root)
    recorded = []
    for day, size in sorted(use.by_day.items()):
        manifest = layout.read_manifest(root, day)
        holes = manifest.get("holes")
        recorded.append(
            {
                "day": day.isoformat(),
                "bytes": size,
                "ticks": manifest.get("ticks"),
                "holes": len(holes) if isinstance(holes, list) else None,
            }
        )
    return {**use.as_dict(), "retention_days": settings.MDHUB_RECORDING_RETENTION_DAYS, "recorded": recorded}


class RecordingView(APIView):
    @extend_schema(
        responses=RecordingSerializer,
        summary="The recording's trading days and disk use",
        description="Every recorded trading day with its size on disk, ticks and journal holes.",
    )
    def get(self, request: Request) -> Response:
        return Response(recording_summary())
