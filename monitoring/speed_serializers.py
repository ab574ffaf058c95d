"""Shapes of the source-speed API (docs/api.md): query parameters in, documents out.

The documents come from the hub's speed summary and the history samples as they are (see
``aggregation.source_speed`` and ``monitoring.history``); these serializers validate the
queries and describe the answers for the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from aggregation.source_speed import SESSIONS
from monitoring.history import MAX_MINUTES
from webbase.live_state import ENGINE_STATES, STATES


class SpeedQuerySerializer(serializers.Serializer[dict[str, Any]]):
    session = serializers.ChoiceField(choices=SESSIONS, required=False, help_text="day or night.")
    exchange = serializers.CharField(required=False, max_length=8, help_text="e.g. SHFE.")
    product = serializers.CharField(required=False, max_length=16, help_text="e.g. rb (case as listed).")
    source = serializers.CharField(required=False, max_length=64, help_text="An account id.")  # type: ignore[assignment]  # a field, not Field.source


class WindowQuerySerializer(serializers.Serializer[dict[str, Any]]):
    minutes = serializers.IntegerField(
        required=False, default=180, min_value=1, max_value=MAX_MINUTES, help_text="The last N minutes."
    )


class ContractQuerySerializer(serializers.Serializer[dict[str, Any]]):
    q = serializers.CharField(
        required=False, max_length=32, help_text="Part of a vt_symbol, any case (rb26, .SHFE)."
    )


class SpeedRowSerializer(serializers.Serializer[dict[str, Any]]):
    source = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.source
    exchange = serializers.CharField()
    product = serializers.CharField()
    session = serializers.ChoiceField(choices=SESSIONS)
    copies = serializers.IntegerField(help_text="Every copy received of this product's ticks.")
    first = serializers.IntegerField(help_text="Copies this source delivered first (forwarded).")
    late = serializers.IntegerField(help_text="Copies that came after another source's.")
    too_late = serializers.IntegerField(help_text="Copies older than the last forwarded tick.")
    first_share = serializers.FloatField(help_text="Share (0..1) of the product's forwarded ticks.")
    late_p50_ms = serializers.FloatField(allow_null=True, help_text="How much later than the first copy.")
    late_p99_ms = serializers.FloatField(allow_null=True)
    late_hist = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(), min_length=2, max_length=2),
        help_text="[[bit length of the lateness in ns, copies], …]: slot b holds 2^(b-1)..2^b ns.",
    )


class FastestSerializer(serializers.Serializer[dict[str, Any]]):
    exchange = serializers.CharField()
    product = serializers.CharField()
    session = serializers.ChoiceField(choices=SESSIONS)
    source = serializers.CharField(help_text="The source with the largest first-arrival share.")  # type: ignore[assignment]  # a field, not Field.source
    first_share = serializers.FloatField()
    runner_up = serializers.CharField(allow_null=True)
    runner_up_late_p50_ms = serializers.FloatField(
        allow_null=True, help_text="How much later the runner-up's copies came (median)."
    )


class SpeedSerializer(serializers.Serializer[dict[str, Any]]):
    engine = serializers.ChoiceField(choices=ENGINE_STATES)
    updated_at = serializers.FloatField(allow_null=True, help_text="Epoch seconds.")
    session = serializers.ChoiceField(choices=SESSIONS, allow_null=True, help_text="The hub's current one.")
    rows = SpeedRowSerializer(many=True)
    fastest = FastestSerializer(many=True)


class HistoryValueSerializer(serializers.Serializer[dict[str, Any]]):
    tick_rate = serializers.FloatField(allow_null=True, help_text="Ticks per second received.")
    latency_p50_ms = serializers.FloatField(allow_null=True)
    latency_p99_ms = serializers.FloatField(allow_null=True)
    first_share = serializers.FloatField(
        allow_null=True, help_text="Share (0..1) of the step's forwarded ticks; null across a hub restart."
    )
    state = serializers.CharField(help_text="The source's state at the sample (empty if unknown).")


class HistoryPointSerializer(serializers.Serializer[dict[str, Any]]):
    ts = serializers.FloatField(help_text="Epoch seconds.")
    values = serializers.DictField(child=HistoryValueSerializer(), help_text="By source id.")


class HistorySerializer(serializers.Serializer[dict[str, Any]]):
    step_seconds = serializers.FloatField()
    sources = serializers.ListField(child=serializers.CharField())
    points = HistoryPointSerializer(many=True)


class SegmentSerializer(serializers.Serializer[dict[str, Any]]):
    state = serializers.ChoiceField(choices=STATES)
    start = serializers.FloatField(help_text="Epoch seconds.")
    end = serializers.FloatField(help_text="Epoch seconds.")
    reason = serializers.CharField()


class SourceTimelineSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.CharField()
    segments = SegmentSerializer(many=True)


class TimelineSerializer(serializers.Serializer[dict[str, Any]]):
    since = serializers.FloatField()
    until = serializers.FloatField()
    truncated = serializers.BooleanField(
        help_text="More changes than the answer holds: the oldest are left out."
    )
    sources = SourceTimelineSerializer(many=True)


class ContractSourceSerializer(serializers.Serializer[dict[str, Any]]):
    source = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.source
    first = serializers.IntegerField()
    late = serializers.IntegerField()
    late_p50_ms = serializers.FloatField(allow_null=True)


class ContractSerializer(serializers.Serializer[dict[str, Any]]):
    vt_symbol = serializers.CharField()
    exchange = serializers.CharField()
    product = serializers.CharField()
    last_price = serializers.FloatField(allow_null=True)
    exchange_time = serializers.FloatField(
        allow_null=True, help_text="The tick's exchange time, epoch seconds."
    )
    received_at = serializers.FloatField(allow_null=True, help_text="When the winning worker received it.")
    seq = serializers.IntegerField()
    winner = serializers.CharField(help_text="The source of the last forwarded tick.")
    sources = ContractSourceSerializer(many=True)
