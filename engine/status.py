"""The status document, built by pure functions from what the engine and the hub know.

Nothing here changes state: the tick rate and latency histogram are updated beforehand
(``Source.measures.update``), so building a document twice gives the same document."""

from __future__ import annotations

from typing import Any

from aggregation.hub import HubStats, SourceStats
from aggregation.source_speed import SpeedSummary
from engine.records import (
    HubStatus,
    LatencyHistogram,
    LatencyQuantiles,
    ServiceStatus,
    SourceStatus,
    StatusDocument,
    StreamClientStatus,
)
from engine.services import SupervisedService
from engine.source import LATENCY_BUCKETS, Source
from engine.states import FailoverMode


def quantile(ordered: list[int], q: float) -> float:
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def source_status(
    source: Source, stats: SourceStats, now: float, wall: float, forwarded: int, primary: str | None
) -> SourceStatus:
    """One source's line of ``/api/gateways``; ``now`` is monotonic, ``wall`` the epoch."""
    samples = sorted(stats.late_ns)
    running = source.running
    canaries: dict[str, float | None] = {}
    for canary in source.config.canaries:
        seen = stats.last_tick_by_topic.get(f"tick.{canary}".encode(), 0.0)
        canaries[canary] = round(now - seen, 3) if seen else None
    # A stopped source's last status frame is history, not its state.
    status = stats.last_status if running else {}
    health = source.health
    measures = source.measures
    return SourceStatus(
        id=source.id,
        gateway_type=source.config.gateway_type,
        priority=source.config.priority,
        is_enabled=source.config.enabled,
        state=health.state,
        state_reason=health.reason,
        state_since=wall - (now - health.since) if health.since else None,
        is_primary=source.id == primary,
        is_active=source.active,
        pid=source.pid,
        # No process, no ticks: the last rate measured would be a figure from the past.
        tick_rate=round(measures.tick_rate, 2) if running else 0.0,
        last_tick_age=round(now - stats.last_tick_mono, 3) if stats.last_tick_mono else None,
        canaries=canaries,
        first_share=round(stats.first / forwarded, 4) if forwarded else 0.0,
        latency_ms=LatencyQuantiles(
            p50=round(quantile(samples, 0.5) / 1e6, 3) if samples else None,
            p99=round(quantile(samples, 0.99) / 1e6, 3) if samples else None,
        ),
        latency_hist=LatencyHistogram(
            le=list(LATENCY_BUCKETS),
            counts=list(measures.hist_counts),
            count=measures.hist_count,
            sum=round(measures.hist_sum, 6),
        ),
        restarts=source.restarts,
        received=stats.received,
        first=stats.first,
        duplicates=stats.duplicates,
        too_late=stats.too_late,
        backpressure=int(status.get("backpressure") or 0),
        drops={str(k): int(v) for k, v in (status.get("drops") or {}).items() if v},
        logged_in=bool(status.get("logged_in")),
        reconnects=int(status.get("reconnects") or 0),
        error=str(status.get("error") or ""),
    )


def service_status(service: SupervisedService, stats: SourceStats, now: float, wall: float) -> ServiceStatus:
    """One service's line of the ``services`` list; its counters come from its heartbeat."""
    running = service.running
    # A stopped service's last status frame is history, not its state.
    status = stats.last_status if running else {}
    launched = service.launched_at
    heard = stats.last_status_mono if launched is not None and stats.last_status_mono >= launched else 0.0
    return ServiceStatus(
        id=service.account,
        service=service.config.name,
        state=service.state,
        state_reason=service.reason,
        state_since=wall - (now - service.since) if service.since else None,
        pid=service.pid,
        restarts=service.restarts,
        last_heartbeat_age=round(now - heard, 3) if heard else None,
        ticks=int(status.get("ticks") or 0),
        records=int(status.get("records") or 0),
        forwarded=stats.first,
        dropped=int(status.get("dropped") or 0),
        handler_errors=int(status.get("errors") or 0),
    )


def status_document(
    lines: list[SourceStatus],
    hub: HubStats,
    subscriptions: int,
    mode: FailoverMode,
    primary: str | None,
    wall: float,
    pid: int,
    started_at: float,
    speed: SpeedSummary | None = None,
    services: list[ServiceStatus] | None = None,
    stream_clients: list[StreamClientStatus] | None = None,
) -> StatusDocument:
    return StatusDocument(
        updated_at=wall,
        mode=mode,
        primary=primary,
        hub=HubStatus(
            forwarded=hub.forwarded,
            malformed=hub.malformed,
            snapshot_requests=hub.snapshot_requests,
            upstream_subscriptions=hub.upstream_subscriptions,
            upstream_refused=hub.upstream_refused,
            subscriptions=subscriptions,
            pid=pid,
            started_at=started_at,
        ),
        gateways=sorted(lines, key=lambda line: (line.priority, line.id)),
        services=sorted(services or [], key=lambda line: line.id),
        speed=speed,
        stream_clients=stream_clients,
    )


def stream_client_status(row: dict[str, Any]) -> StreamClientStatus:
    """A row of ``StreamAccess.clients`` as the status document's record."""
    subscriptions = [str(s) for s in row["subscriptions"]]
    return StreamClientStatus(
        name=str(row["name"]),
        enabled=bool(row["enabled"]),
        addresses=[str(a) for a in row["addresses"]],
        connections=int(row["connections"]),
        open_connections=int(row["open_connections"]),
        subscriptions=subscriptions[:100],
        subscription_count=len(subscriptions),
        upstream=int(row["upstream"]),
        refused_subscriptions=int(row["refused_subscriptions"]),
        requests=int(row["requests"]),
        refused_requests=int(row["refused_requests"]),
        quota_refusals=int(row["quota_refusals"]),
        drops=int(row["drops"]),
        conflation_ms=int(row["conflation_ms"]),
        last_activity=float(row["last_activity"]),
    )
