"""The data services' records for the dashboard (docs/api.md): a contract's recent bars and an
underlying's volatility smile, both asked of the running hub (``monitoring.hub_records``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from aggregation.curve import internal_key_file, read_internal_keys
from monitoring.hub_records import MAX_BARS, HubEndpoints, recent_bars, smile
from webbase.live_state import ENGINE_STATES

_VT_SYMBOL = re.compile(r"^[A-Za-z0-9_-]{1,40}\.[A-Z]{2,6}$")
_INTERVAL = re.compile(r"^(?:1m|5m|15m|30m|1h|d|\d{1,4}s)$")


def _vt_symbol(value: str) -> None:
    if not _VT_SYMBOL.match(value):
        raise serializers.ValidationError("a vt_symbol: contract code, a dot, the exchange (rb2705.SHFE)")


class BarsQuerySerializer(serializers.Serializer[dict[str, Any]]):
    symbol = serializers.CharField(
        max_length=48, validators=[_vt_symbol], help_text="vt_symbol, e.g. rb2705.SHFE."
    )
    interval = serializers.RegexField(
        _INTERVAL,
        required=False,
        default="1m",
        help_text="1m (default), 5m, 15m, 30m, 1h, d, or seconds (5s).",
    )
    limit = serializers.IntegerField(required=False, default=120, min_value=1, max_value=MAX_BARS)


class BarSerializer(serializers.Serializer[dict[str, Any]]):
    datetime = serializers.IntegerField(help_text="Bar start, epoch ns (show it in exchange time).")
    end = serializers.IntegerField(help_text="Bar end, epoch ns.")
    open_price = serializers.FloatField()
    high_price = serializers.FloatField()
    low_price = serializers.FloatField()
    close_price = serializers.FloatField()
    volume = serializers.FloatField()
    flat = serializers.BooleanField(help_text="No trade in the bar: OHLC is the last price.")
    complete = serializers.BooleanField(
        help_text="False when the service did not see the bar from its start."
    )


class BarsSerializer(serializers.Serializer[dict[str, Any]]):
    hub = serializers.ChoiceField(choices=ENGINE_STATES)
    symbol = serializers.CharField()
    interval = serializers.CharField()
    bars = BarSerializer(many=True)


class SmileQuerySerializer(serializers.Serializer[dict[str, Any]]):
    underlying = serializers.CharField(
        max_length=48,
        validators=[_vt_symbol],
        help_text="The options' underlying vt_symbol, e.g. IF2612.CFFEX.",
    )


class SmilePointSerializer(serializers.Serializer[dict[str, Any]]):
    strike = serializers.FloatField()
    call_iv = serializers.FloatField(
        allow_null=True, help_text="The call's IV (from the mid, else the last)."
    )
    put_iv = serializers.FloatField(allow_null=True)
    call = serializers.CharField(allow_null=True, help_text="The call's vt_symbol.")
    put = serializers.CharField(allow_null=True)
    call_reason = serializers.CharField(
        allow_null=True,
        help_text="Why the call has no IV (the Greeks service's reason: no quote, no underlying "
        "price, price below intrinsic value, ...); null when it has one or is not listed.",
    )
    put_reason = serializers.CharField(allow_null=True, help_text="Why the put has no IV.")


class SmileExpirySerializer(serializers.Serializer[dict[str, Any]]):
    expiry = serializers.CharField(help_text="Last trading day, YYYY-MM-DD.")
    days_to_expiry = serializers.FloatField(allow_null=True)
    forward = serializers.FloatField(allow_null=True)
    points = SmilePointSerializer(many=True)


class SmileSerializer(serializers.Serializer[dict[str, Any]]):
    hub = serializers.ChoiceField(choices=ENGINE_STATES)
    underlying = serializers.CharField()
    expiries = SmileExpirySerializer(many=True)


def hub_endpoints() -> HubEndpoints | None:
    """Where the hub answers, and as whom; None: CURVE is on and the hub has not written its
    internal client's key file yet (it does at start), so it cannot be asked."""
    recovery = settings.MDHUB_RECOVERY_ADDR if settings.MDHUB_JOURNAL else None
    curve = None
    if settings.MDHUB_CURVE:
        try:
            curve = read_internal_keys(internal_key_file(Path(settings.MDHUB_CURVE_KEY_FILE)))
        except ValueError:
            return None
    return HubEndpoints(settings.MDHUB_SNAPSHOT_ADDR, recovery or None, curve)


_BAR_FIELDS = tuple(BarSerializer().fields)


class BarsView(APIView):
    @extend_schema(
        parameters=[BarsQuerySerializer],
        responses=BarsSerializer,
        summary="A contract's recent closed bars (bar. records of the bar service)",
        description="The last `limit` closed bars of `symbol`, oldest first: the hub's last bar from its "
        "snapshot service and the ones before it from its journal (today's run). Bars are aligned to the "
        "trading sections (docs/services.md). `hub: offline` and no bars when the hub does not answer.",
    )
    def get(self, request: Request) -> Response:
        query = BarsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        symbol, interval = query.validated_data["symbol"], query.validated_data["interval"]
        hub = hub_endpoints()
        bars = recent_bars(hub, symbol, interval, query.validated_data["limit"]) if hub else None
        rows = [
            {name: bar.get(name) for name in _BAR_FIELDS}
            for bar in bars or []
            if all(bar.get(name) is not None for name in _BAR_FIELDS)
        ]
        return Response(
            {
                "hub": "offline" if bars is None else "online",
                "symbol": symbol,
                "interval": interval,
                "bars": rows,
            }
        )


class SmileView(APIView):
    @extend_schema(
        parameters=[SmileQuerySerializer],
        responses=SmileSerializer,
        summary="An underlying's volatility smile: IV by strike per expiry (greeks. records)",
        description="From the hub's last `greeks.` record of every option on `underlying`: per expiry "
        "(nearest first) the call's and the put's implied volatility at each strike. Empty when the Greeks "
        "service does not run (MDHUB_SERVICES) or no option has that underlying.",
    )
    def get(self, request: Request) -> Response:
        query = SmileQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        underlying = query.validated_data["underlying"]
        hub = hub_endpoints()
        expiries = smile(hub, underlying) if hub else None
        return Response(
            {
                "hub": "offline" if expiries is None else "online",
                "underlying": underlying,
                "expiries": expiries or [],
            }
        )
