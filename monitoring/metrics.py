"""``/metrics``: the hub's snapshot (``live_state.STATE_KEY``) in Prometheus text format.

Built per scrape from the snapshot the hub refreshes every second, so the web process
keeps no metric state of its own and every web worker answers the same. The hub's
counters are cumulative since it started (``mdhub_hub_started_at_seconds``): Prometheus
sees a restart of the hub as a counter reset, which ``rate()`` handles.

When the snapshot has lapsed only ``mdhub_engine_up 0`` is exported: repeating the last
known per-source numbers would show a dead hub as alive.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from aggregation.source_speed import HIST_SLOTS, dense, quantile_ms
from monitoring.bridge_status import bridge_metrics
from webbase import live_state

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Per-source counters of the snapshot: (snapshot key, metric name, help).
SOURCE_COUNTERS = (
    ("received", "mdhub_source_ticks_received", "Ticks received from the source (every copy, before dedup)."),
    ("first", "mdhub_source_ticks_first", "Ticks this source delivered first (the copies forwarded)."),
    ("duplicates", "mdhub_source_ticks_duplicate", "Copies dropped because another source was first."),
    (
        "too_late",
        "mdhub_source_ticks_too_late",
        "Copies that came after the dedup window had forgotten the key.",
    ),
    (
        "backpressure",
        "mdhub_source_ticks_backpressure",
        "Ticks the worker dropped because the hub was not keeping up.",
    ),
    ("restarts", "mdhub_source_restarts", "Hard restarts of the source's gateway process."),
)
# Hub-wide counters: (key in snapshot["hub"], metric name, help).
HUB_COUNTERS = (
    ("forwarded", "mdhub_hub_forwarded", "Ticks the hub published."),
    ("malformed", "mdhub_hub_malformed", "Frames from workers the hub could not read."),
    ("snapshot_requests", "mdhub_hub_snapshot_requests", "Snapshot requests answered."),
    (
        "upstream_refused",
        "mdhub_hub_upstream_refused",
        "Client subscriptions not sent upstream: not in the contract universe.",
    ),
)


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None when the snapshot holds no usable number there."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def _gateways(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [g for g in state.get("gateways", []) if isinstance(g, dict) and isinstance(g.get("id"), str)]


def _histogram_buckets(hist: Any) -> tuple[list[tuple[str, float]], float] | None:
    """``latency_hist`` → Prometheus buckets (with +Inf) and sum; None when malformed."""
    if not isinstance(hist, dict):
        return None
    bounds, counts = hist.get("le"), hist.get("counts")
    total, seconds = number(hist.get("count")), number(hist.get("sum"))
    if not isinstance(bounds, list) or not isinstance(counts, list) or len(bounds) != len(counts):
        return None
    if total is None or seconds is None:
        return None
    buckets: list[tuple[str, float]] = []
    for bound, count in zip(bounds, counts, strict=True):
        if bound == math.inf:
            continue  # The +Inf bucket is the total count, added below.
        le, cumulative = number(bound), number(count)
        if le is None or cumulative is None:
            return None
        buckets.append((repr(le), cumulative))
    buckets.append(("+Inf", total))
    return buckets, seconds


def speed_by_exchange(speed: dict[str, Any] | None) -> dict[tuple[str, str, str], list[int]]:
    """The speed summary's rows summed over products, per (source, exchange, session): the
    labels stay bounded whatever the contract list (products are the API's, not Prometheus's).
    Each value: first, late, too late, then the late histogram's ``HIST_SLOTS`` counts."""
    sums: dict[tuple[str, str, str], list[int]] = {}
    rows = speed.get("rows") if isinstance(speed, dict) else None
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        labels = (row.get("source"), row.get("exchange"), row.get("session"))
        counts = [number(row.get(k)) for k in ("first", "late", "too_late")]
        if not all(isinstance(v, str) for v in labels) or any(c is None for c in counts):
            continue
        acc = sums.setdefault(labels, [0] * (3 + HIST_SLOTS))  # type: ignore[arg-type]
        for i, count in enumerate(counts):
            acc[i] += int(count or 0)
        for i, count in enumerate(dense(row.get("late_hist") or [])):
            acc[3 + i] += count
    return sums


class SnapshotCollector(Collector):
    def __init__(self, state: dict[str, Any], now: float, speed: dict[str, Any] | None = None) -> None:
        self.state = state
        self.now = now
        self.speed = speed

    def collect(self) -> Iterator[Metric]:
        online = self.state.get("engine") == "online"
        up = GaugeMetricFamily("mdhub_engine_up", "1 while the hub engine refreshes its state snapshot.")
        up.add_metric([], 1.0 if online else 0.0)
        yield up
        if not online:
            return
        yield from self._hub()
        yield from self._sources(_gateways(self.state))
        yield from self._speed()
        yield from bridge_metrics(self.state)

    def _speed(self) -> Iterable[Metric]:
        labels = ["source", "exchange", "session"]
        names = (
            ("mdhub_source_speed_first", "Copies the source delivered first, per exchange and session."),
            ("mdhub_source_speed_late", "Copies that came after another source's, per exchange and session."),
            (
                "mdhub_source_speed_too_late",
                "Copies older than the last forwarded tick, per exchange and session.",
            ),
        )
        sums = speed_by_exchange(self.speed)
        for i, (name, doc) in enumerate(names):
            counter = CounterMetricFamily(name, doc, labels=labels)
            for key, acc in sorted(sums.items()):
                counter.add_metric(list(key), float(acc[i]))
            yield counter
        for q, name in (
            (0.5, "mdhub_source_speed_late_p50_seconds"),
            (0.99, "mdhub_source_speed_late_p99_seconds"),
        ):
            gauge = GaugeMetricFamily(
                name, f"How late the source's late copies came, quantile {q}.", labels=labels
            )
            for key, acc in sorted(sums.items()):
                ms = quantile_ms(acc[3:], q)
                if ms is not None:
                    gauge.add_metric(list(key), ms / 1000)
            yield gauge

    def _hub(self) -> Iterable[Metric]:
        updated = number(self.state.get("updated_at"))
        if updated is not None:
            age = GaugeMetricFamily("mdhub_engine_snapshot_age_seconds", "Age of the hub's state snapshot.")
            age.add_metric([], max(0.0, self.now - updated))
            yield age
        hub = self.state.get("hub")
        hub = hub if isinstance(hub, dict) else {}
        for key, name, doc in HUB_COUNTERS:
            value = number(hub.get(key))
            if value is not None:
                counter = CounterMetricFamily(name, doc)
                counter.add_metric([], value)
                yield counter
        subscriptions = number(hub.get("upstream_subscriptions"))
        if subscriptions is not None:
            gauge = GaugeMetricFamily("mdhub_hub_upstream_subscriptions", "Contracts subscribed upstream.")
            gauge.add_metric([], subscriptions)
            yield gauge
        started = number(hub.get("started_at"))
        if started is not None:
            gauge = GaugeMetricFamily("mdhub_hub_started_at_seconds", "When the hub engine started (epoch).")
            gauge.add_metric([], started)
            yield gauge

    def _sources(self, gateways: list[dict[str, Any]]) -> Iterable[Metric]:
        for key, name, doc in SOURCE_COUNTERS:
            counter = CounterMetricFamily(name, doc, labels=["source"])
            for gateway in gateways:
                value = number(gateway.get(key))
                if value is not None:
                    counter.add_metric([gateway["id"]], value)
            yield counter

        drops = CounterMetricFamily(
            "mdhub_source_ticks_dropped", "Ticks dropped by a cleansing rule.", labels=["source", "rule"]
        )
        for gateway in gateways:
            rules = gateway.get("drops")
            for rule, count in rules.items() if isinstance(rules, dict) else []:
                value = number(count)
                if value is not None:
                    drops.add_metric([gateway["id"], str(rule)], value)
        yield drops

        gauges = (
            (
                "first_share",
                "mdhub_source_first_share",
                "Share (0..1) of forwarded ticks this source delivered first.",
            ),
            ("tick_rate", "mdhub_source_tick_rate", "Ticks per second received from the source."),
            ("last_tick_age", "mdhub_source_last_tick_age_seconds", "Seconds since the source's last tick."),
        )
        for key, name, doc in gauges:
            gauge = GaugeMetricFamily(name, doc, labels=["source"])
            for gateway in gateways:
                value = number(gateway.get(key))
                if value is not None:
                    gauge.add_metric([gateway["id"]], value)
            yield gauge

        primary = GaugeMetricFamily(
            "mdhub_source_primary", "1 for the current primary source.", labels=["source"]
        )
        enabled = GaugeMetricFamily(
            "mdhub_source_enabled", "1 when the account is enabled.", labels=["source"]
        )
        # One series per state, 1 for the current one: `mdhub_source_state{state="healthy"} == 1`.
        states = GaugeMetricFamily(
            "mdhub_source_state",
            "1 for the state the source is in, 0 for the others.",
            labels=["source", "state"],
        )
        for gateway in gateways:
            primary.add_metric([gateway["id"]], 1.0 if gateway.get("is_primary") else 0.0)
            enabled.add_metric([gateway["id"]], 1.0 if gateway.get("is_enabled") else 0.0)
            for state in live_state.STATES:
                states.add_metric([gateway["id"], state], 1.0 if gateway.get("state") == state else 0.0)
        yield primary
        yield enabled
        yield states

        latency = HistogramMetricFamily(
            "mdhub_source_latency_seconds",
            "How late this source's copy of a tick came after the first copy (copies that were not first).",
            labels=["source"],
        )
        for gateway in gateways:
            parsed = _histogram_buckets(gateway.get("latency_hist"))
            if parsed is not None:
                buckets, seconds = parsed
                latency.add_metric([gateway["id"]], buckets, seconds)
        yield latency


def render(state: dict[str, Any], now: float, speed: dict[str, Any] | None = None) -> bytes:
    """The exposition for snapshot ``state`` (``live_state.read_state``) at time ``now``,
    with the hub's speed summary (``history.read_speed``) when there is one."""
    return generate_latest(SnapshotCollector(state, now, speed))
