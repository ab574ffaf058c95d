"""The JetStream bridges beside this hub (docs/jetstream.md) on the operations side: their
status lines in the hub's state document (``bridges``, read by the publisher from the files
each bridge writes once a second), their schema for ``/api/gateways`` and their ``/metrics``.

A bridge whose file is older than ``bridge.status.STALE_AFTER_S`` is shown offline with
its last figures: a dead bridge must not look like one that keeps up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from rest_framework import serializers

# (status key, metric name, help)
BRIDGE_COUNTERS = (
    ("read", "mdhub_bridge_read", "Messages the bridge read from the hub."),
    ("stored", "mdhub_bridge_stored", "Messages JetStream acknowledged as new."),
    (
        "duplicates",
        "mdhub_bridge_duplicates",
        "Messages JetStream already had (another hub's copy, or a resend).",
    ),
    ("failures", "mdhub_bridge_failures", "Publishes JetStream did not acknowledge (NATS down or slow)."),
    ("bad", "mdhub_bridge_bad", "Hub messages the bridge could not read (counted and dropped)."),
    (
        "hub_let_go",
        "mdhub_bridge_hub_let_go",
        "Times the bridge's buffer filled and it resumed from the journal.",
    ),
    ("hub_gaps", "mdhub_bridge_hub_gaps", "Sequence gaps the bridge could not fill from the hub."),
)
BRIDGE_GAUGES = (
    (
        "lag_s",
        "mdhub_bridge_lag_seconds",
        "Seconds since the worker received the oldest tick JetStream has not acknowledged (0: all stored).",
    ),
    ("buffered", "mdhub_bridge_buffered", "Messages waiting in the bridge for NATS."),
    ("inflight", "mdhub_bridge_inflight", "Publishes awaiting JetStream's acknowledgement."),
    ("age_s", "mdhub_bridge_status_age_seconds", "Age of the bridge's status file."),
)


def bridge_lines(state: dict[str, Any]) -> list[dict[str, Any]]:
    lines = state.get("bridges")
    if not isinstance(lines, list):
        return []
    return [b for b in lines if isinstance(b, dict) and isinstance(b.get("name"), str)]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def bridge_metrics(state: dict[str, Any]) -> Iterator[Metric]:
    """``mdhub_bridge_*`` per bridge; the figures of an offline bridge are left out (only
    ``mdhub_bridge_up 0``), as ``mdhub_engine_up 0`` does for the hub."""
    lines = bridge_lines(state)
    up = GaugeMetricFamily("mdhub_bridge_up", "1 while the bridge refreshes its status.", labels=["bridge"])
    connected = GaugeMetricFamily(
        "mdhub_bridge_connected", "1 while the bridge is connected to NATS.", labels=["bridge"]
    )
    for line in lines:
        up.add_metric([line["name"]], 1.0 if line.get("online") else 0.0)
        connected.add_metric([line["name"]], 1.0 if line.get("online") and line.get("connected") else 0.0)
    yield up
    yield connected
    online = [line for line in lines if line.get("online")]
    for key, name, doc in BRIDGE_GAUGES:
        gauge = GaugeMetricFamily(name, doc, labels=["bridge"])
        for line in online:
            value = _number(line.get(key))
            if value is not None:
                gauge.add_metric([line["name"]], value)
        yield gauge
    for key, name, doc in BRIDGE_COUNTERS:
        counter = CounterMetricFamily(name, doc, labels=["bridge"])
        for line in online:
            value = _number(line.get(key))
            if value is not None:
                counter.add_metric([line["name"]], value)
        yield counter


class BridgeStatusSerializer(serializers.Serializer[dict[str, Any]]):
    """One JetStream bridge beside the hub (bridge.status.status_line)."""

    name = serializers.CharField(help_text="MDHUB_BRIDGE_NAME: one per hub.")
    hub = serializers.CharField(help_text="The hub address it reads.")
    stream = serializers.CharField(help_text="The JetStream stream it fills.")
    online = serializers.BooleanField(help_text="False when its status is older than 3 s (bridge down).")
    connected = serializers.BooleanField(help_text="Connected to NATS (false while offline).")
    behind_hub = serializers.BooleanField(help_text="Its buffer filled: it let go of the hub for now.")
    lag_s = serializers.FloatField(
        help_text="Seconds the oldest tick not yet stored has waited; 0: all stored."
    )
    age_s = serializers.FloatField(help_text="Seconds since the bridge last wrote its status.")
    read = serializers.IntegerField()
    sent = serializers.IntegerField()
    stored = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    failures = serializers.IntegerField()
    resent = serializers.IntegerField()
    bad = serializers.IntegerField()
    buffered = serializers.IntegerField()
    inflight = serializers.IntegerField()
    hub_let_go = serializers.IntegerField()
    hub_gaps = serializers.IntegerField()
