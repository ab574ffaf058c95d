"""Query parameters and answers of the recorded-tape API (``/api/ticks``, ``/api/recording``)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from aggregation.wire import NUMBER_FIELDS

VT_SYMBOL = r"^[^.\s]+\.[A-Z]+$"


class TickQuerySerializer(serializers.Serializer[dict[str, Any]]):
    symbol = serializers.RegexField(
        VT_SYMBOL,
        help_text="The contract as vn.py's vt_symbol: symbol.EXCHANGE, e.g. rb2605.SHFE.",
        error_messages={"invalid": "Give the contract as symbol.EXCHANGE, e.g. rb2605.SHFE."},
    )
    day = serializers.DateField(
        help_text="The trading day, e.g. 2026-12-01 (a night session belongs to the next one)."
    )


class RecordedTickSerializer(serializers.Serializer[dict[str, Any]]):
    """One recorded tick: the wire protocol's fields (docs/wire-protocol.md)."""

    exchange_time = serializers.CharField(help_text="`datetime` as exchange time (Asia/Shanghai), ISO 8601.")
    v = serializers.IntegerField(allow_null=True)
    symbol = serializers.CharField()
    exchange = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    datetime = serializers.IntegerField(help_text="Exchange time, epoch nanoseconds.")
    localtime = serializers.IntegerField(allow_null=True, help_text="vn.py's local time, epoch ns.")
    recv_ns = serializers.IntegerField(allow_null=True, help_text="When the worker received it, epoch ns.")
    epoch = serializers.IntegerField(help_text="The hub run.")
    seq = serializers.IntegerField(help_text="Per topic and epoch, +1 per forwarded tick.")
    ord = serializers.IntegerField(help_text="Place in the day's tape (the order the hub forwarded in).")


# ``source`` would shadow the serializer field attribute of that name, and the numbers are
# the wire's list: both are added by name.
RecordedTickSerializer._declared_fields["source"] = serializers.CharField(
    allow_null=True, help_text="The account whose copy arrived first."
)
for _name in NUMBER_FIELDS:
    RecordedTickSerializer._declared_fields[_name] = serializers.FloatField(allow_null=True)


class TickPageSerializer(serializers.Serializer[dict[str, Any]]):
    count = serializers.IntegerField(help_text="Ticks of the contract that day.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RecordedTickSerializer(many=True)


class RecordedDaySerializer(serializers.Serializer[dict[str, Any]]):
    day = serializers.DateField()
    bytes = serializers.IntegerField()
    ticks = serializers.IntegerField(allow_null=True)
    holes = serializers.IntegerField(allow_null=True, help_text="Seq ranges the journal did not hold.")


class RecordingSerializer(serializers.Serializer[dict[str, Any]]):
    days = serializers.IntegerField()
    bytes = serializers.IntegerField(help_text="Disk use of the whole recording.")
    first_day = serializers.DateField(allow_null=True)
    last_day = serializers.DateField(allow_null=True)
    retention_days = serializers.IntegerField(help_text="Calendar days kept (0: all).")
    recorded = RecordedDaySerializer(many=True)
