"""What leaves the engine, as typed records: the status document (``/api/gateways``,
docs/api.md), events and failovers. ``as_dict`` gives the JSON shape at the boundary (the
publisher's Redis and database writes); inside the hub they stay typed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from aggregation.source_speed import SpeedSummary
from engine.states import EventKind, FailoverMode, SourceState


@dataclass(frozen=True, slots=True)
class EngineEvent:
    ts: float  # wall clock (epoch seconds)
    account: str  # "" for the hub itself
    kind: EventKind
    reason: str
    state_from: SourceState | None = None  # set for EventKind.STATE only
    state_to: SourceState | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "account": self.account,
            "kind": str(self.kind),
            "state_from": str(self.state_from or ""),
            "state_to": str(self.state_to or ""),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class FailoverChange:
    previous: str | None
    primary: str | None
    reason: str
    ts: float

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.previous, "to": self.primary, "reason": self.reason, "ts": self.ts}


@dataclass(frozen=True, slots=True)
class LatencyQuantiles:
    p50: float | None
    p99: float | None


@dataclass(frozen=True, slots=True)
class LatencyHistogram:
    """Cumulative counts per upper bound ``le`` (seconds), Prometheus style."""

    le: list[float]
    counts: list[int]
    count: int
    sum: float


@dataclass(frozen=True, slots=True)
class SourceStatus:
    id: str
    gateway_type: str
    priority: int
    is_enabled: bool
    state: SourceState
    state_reason: str
    state_since: float | None
    is_primary: bool
    is_active: bool
    pid: int | None
    tick_rate: float
    last_tick_age: float | None
    canaries: dict[str, float | None]
    first_share: float
    latency_ms: LatencyQuantiles
    latency_hist: LatencyHistogram
    restarts: int
    received: int
    first: int
    duplicates: int
    too_late: int
    backpressure: int
    drops: dict[str, int]
    logged_in: bool
    reconnects: int
    error: str


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """One data service's line of the status document (``services``, not ``gateways``)."""

    id: str  # its account, ``svc-<name>``: the ``source`` of its records
    service: str  # ``bars``, ``greeks``
    state: SourceState
    state_reason: str
    state_since: float | None
    pid: int | None
    restarts: int
    last_heartbeat_age: float | None
    ticks: int  # ticks it has read (its heartbeat's counters)
    records: int  # records it has pushed into the hub
    forwarded: int  # of those, what the hub forwarded (first arrival per topic)
    dropped: int  # records it could not hand to the hub
    handler_errors: int  # on_tick/on_timer calls that raised (the heartbeat's errors)


@dataclass(frozen=True, slots=True)
class StreamClientStatus:
    """One stream client the hub has seen since it started (CURVE on: docs/access.md), from
    ``aggregation.access.StreamAccess.clients``."""

    name: str  # its User-Id; ``mdhub-internal``: the hub's own services and bridge
    enabled: bool
    addresses: list[str]  # the hosts it connected from
    connections: int  # handshakes accepted since the hub started
    open_connections: int  # TCP connections open now from those hosts (shared by clients on one host)
    # What it is subscribed to now (conflated ones as conflated:<prefix>), at most 100.
    subscriptions: list[str]
    subscription_count: int
    upstream: int  # contracts its subscriptions made the hub subscribe upstream
    refused_subscriptions: int
    requests: int  # snapshot, fill, resume and conflation requests served
    refused_requests: int
    quota_refusals: int
    drops: int  # conflated values it could not take (its queue was full)
    conflation_ms: int  # its conflation interval; 0: none
    last_activity: float  # wall clock (epoch seconds)


@dataclass(frozen=True, slots=True)
class HubStatus:
    forwarded: int
    malformed: int
    snapshot_requests: int
    upstream_subscriptions: int
    # Clients' on-demand subscriptions refused: not in the contract universe (zz17.SHFE).
    upstream_refused: int
    subscriptions: int
    pid: int
    started_at: float


@dataclass(frozen=True, slots=True)
class StatusDocument:
    updated_at: float
    mode: FailoverMode
    primary: str | None
    hub: HubStatus
    gateways: list[SourceStatus] = field(default_factory=list)
    services: list[ServiceStatus] = field(default_factory=list)
    engine: str = "online"
    # Every SUMMARY_INTERVAL (aggregation.source_speed); the publisher stores it apart.
    speed: SpeedSummary | None = None
    # Who reads the stream; None: CURVE is off, the hub does not know its readers.
    stream_clients: list[StreamClientStatus] | None = None

    def as_dict(self) -> dict[str, Any]:
        # StrEnum members are str: json.dumps writes their values as they are.
        return dataclasses.asdict(self)
