"""Shapes of the live-state API (docs/api.md): query parameters in, documents out.

The gateway documents come from the hub's snapshot as they are; their serializers here
describe them for the OpenAPI schema, they do not build them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# Times people type are exchange time (a trader's "since 21:00" is the night session's).
from aggregation.exchange_time import CHINA_TZ as EXCHANGE_TZ
from monitoring.bridge_status import BridgeStatusSerializer
from monitoring.models import Event, EventKind
from webbase import live_state

# Levels a log filter may name, lowest first.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def level_number(name: object) -> int:
    """``logging``'s number for a level name; 0 for anything unknown (shown at any filter)."""
    if not isinstance(name, str):
        return 0
    number = logging.getLevelName(name.upper())
    return number if isinstance(number, int) else 0


def epoch(value: datetime) -> float:
    return value.timestamp()


class LatencySerializer(serializers.Serializer[dict[str, Any]]):
    p50 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class GatewayStatusSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.CharField()
    gateway_type = serializers.CharField()
    priority = serializers.IntegerField()
    is_enabled = serializers.BooleanField()
    state = serializers.ChoiceField(choices=live_state.STATES)
    state_reason = serializers.CharField()
    state_since = serializers.FloatField(allow_null=True, help_text="Epoch seconds.")
    is_primary = serializers.BooleanField()
    pid = serializers.IntegerField(allow_null=True)
    tick_rate = serializers.FloatField(allow_null=True, help_text="Ticks/s received from this source.")
    last_tick_age = serializers.FloatField(allow_null=True, help_text="Seconds; null if no tick yet.")
    canaries = serializers.DictField(child=serializers.FloatField(allow_null=True))
    first_share = serializers.FloatField(allow_null=True)
    latency_ms = LatencySerializer(allow_null=True)
    restarts = serializers.IntegerField()
    drops = serializers.DictField(child=serializers.IntegerField(), required=False)


class ServiceStatusSerializer(serializers.Serializer[dict[str, Any]]):
    """A data service the hub supervises (engine.records.ServiceStatus): not a source."""

    id = serializers.CharField(help_text="Its account, svc-<service>: the source of its records.")
    service = serializers.CharField()
    state = serializers.ChoiceField(choices=live_state.STATES)
    state_reason = serializers.CharField()
    state_since = serializers.FloatField(allow_null=True, help_text="Epoch seconds.")
    pid = serializers.IntegerField(allow_null=True)
    restarts = serializers.IntegerField()
    last_heartbeat_age = serializers.FloatField(allow_null=True, help_text="Seconds; null if none yet.")
    ticks = serializers.IntegerField(help_text="Ticks it has read.")
    records = serializers.IntegerField(help_text="Records it has pushed into the hub.")
    forwarded = serializers.IntegerField(help_text="Of those, what the hub forwarded.")
    dropped = serializers.IntegerField()
    # Not "errors": that name is the serializer's own validation result.
    handler_errors = serializers.IntegerField(help_text="Its on_tick/on_timer calls that raised.")


class GatewaysSnapshotSerializer(serializers.Serializer[dict[str, Any]]):
    engine = serializers.ChoiceField(choices=live_state.ENGINE_STATES)
    updated_at = serializers.FloatField(allow_null=True)
    mode = serializers.CharField(allow_null=True)
    primary = serializers.CharField(allow_null=True)
    gateways = GatewayStatusSerializer(many=True)
    # Absent while the engine is offline (the document is then built from the accounts).
    services = ServiceStatusSerializer(many=True, required=False)
    # The JetStream bridges beside the hub (docs/jetstream.md); absent while the engine is
    # offline or no bridge state directory is set.
    bridges = BridgeStatusSerializer(many=True, required=False)


@extend_schema_field(OpenApiTypes.STR)
class SinceField(serializers.Field[datetime, datetime, Any, Any]):
    """A point in time given as epoch seconds or ISO 8601 (naive means exchange time,
    Asia/Shanghai)."""

    default_error_messages = {"invalid": "'{value}' is not a time: give epoch seconds or ISO 8601."}

    def to_internal_value(self, data: Any) -> datetime:
        text = str(data).strip()
        try:
            return datetime.fromtimestamp(float(text), tz=UTC)
        except (ValueError, OverflowError, OSError):
            pass
        try:
            parsed = parse_datetime(text)
            if parsed is not None:
                # In UTC here, so that a time near year 1 or 9999 fails now, as a 400,
                # instead of in the database query as a 500.
                return (parsed.replace(tzinfo=EXCHANGE_TZ) if is_naive(parsed) else parsed).astimezone(UTC)
        except (ValueError, OverflowError):
            pass
        self.fail("invalid", value=text)

    def to_representation(self, value: datetime) -> Any:
        return epoch(value)


class EventQuerySerializer(serializers.Serializer[dict[str, Any]]):
    account = serializers.CharField(required=False, help_text="Only this account's events.")
    kind = serializers.ChoiceField(choices=EventKind.choices, required=False)
    since = SinceField(
        required=False,
        help_text="Only events at or after this time: epoch seconds (1764594000) or ISO 8601 "
        "(2026-12-01T21:00:00; without a zone it is exchange time, Asia/Shanghai).",
    )


class EventSerializer(serializers.ModelSerializer[Event]):
    ts = serializers.SerializerMethodField(help_text="Epoch seconds.")
    account = serializers.SerializerMethodField(help_text="null: the hub itself.")
    state_from = serializers.SerializerMethodField()
    state_to = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "ts", "account", "kind", "state_from", "state_to", "reason"]

    def get_ts(self, event: Event) -> float:
        return epoch(event.ts)

    # The model stores "" for "none"; the API says null, as the log records do.
    def get_account(self, event: Event) -> str | None:
        return event.account or None

    def get_state_from(self, event: Event) -> str | None:
        return event.state_from or None

    def get_state_to(self, event: Event) -> str | None:
        return event.state_to or None


class LevelField(serializers.ChoiceField):
    """A log level name, any case."""

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(str(data).strip().upper())


class LogQuerySerializer(serializers.Serializer[dict[str, Any]]):
    level = LevelField(choices=LOG_LEVELS, required=False, help_text="Minimum level; all levels if absent.")
    account = serializers.CharField(required=False, help_text="Only this account's records.")
    limit = serializers.IntegerField(
        required=False,
        default=200,
        min_value=1,
        max_value=live_state.LOG_KEEP,
        help_text="How many of the newest matching records.",
    )


class LogRecordSerializer(serializers.Serializer[dict[str, Any]]):
    ts = serializers.FloatField(help_text="Epoch seconds.")
    level = serializers.CharField()
    account = serializers.CharField(allow_null=True, help_text="null: the hub itself.")
    logger = serializers.CharField()
    msg = serializers.CharField()


class LogsSerializer(serializers.Serializer[dict[str, Any]]):
    results = LogRecordSerializer(many=True, help_text="Oldest first, newest last.")
