"""The engine's configuration, read once by ``runhub`` (``mdhub_project.engine_config``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aggregation.access import ClientIdentity
from aggregation.curve import CurveKeys
from engine.health import HealthConfig
from engine.restart_policy import RestartConfig
from engine.services import ServiceConfig
from engine.states import FailoverMode


@dataclass
class AccountConfig:
    id: str
    gateway_type: str
    settings: dict[str, Any]
    priority: int
    canaries: list[str] = field(default_factory=list)
    enabled: bool = True

    def same_process(self, other: AccountConfig) -> bool:
        """Whether ``other`` can keep running the same worker (only priority changed)."""
        return (self.gateway_type, self.settings, self.canaries) == (
            other.gateway_type,
            other.settings,
            other.canaries,
        )


@dataclass
class EngineConfig:
    run_dir: Path
    pub_addr: str
    snapshot_addr: str
    accounts: list[AccountConfig]
    subscriptions: list[str]
    contracts: list[dict[str, Any]]
    calendar: dict[str, Any] | None
    sim_addr: str = ""
    sim_contracts: int = 13
    sim_rate: float = 2.0
    max_skew: float = 60.0
    log_level: str = "INFO"
    mode: FailoverMode = FailoverMode.HOT
    warm_sources: int = 1
    subscribe_batch: int = 200
    health: HealthConfig = field(default_factory=HealthConfig)
    restart: RestartConfig = field(default_factory=RestartConfig)
    # The journal's directory (None: no journal) and the recovery ROUTER ("": none).
    journal_dir: Path | None = None
    recovery_addr: str = ""
    # The data services to run and supervise (``MDHUB_SERVICES``); not sources.
    services: list[ServiceConfig] = field(default_factory=list)
    # Who may read the stream (docs/access.md): the hub's CURVE key pair (None: no CURVE, open)
    # and the stream clients' table.
    stream_keys: CurveKeys | None = None
    clients: list[ClientIdentity] = field(default_factory=list)
    # The hub's own readers' key pair (services, bridge) and the file they read it from
    # (aggregation.curve.write_internal_keys); None with CURVE off.
    internal_keys: CurveKeys | None = None
    internal_key_file: Path | None = None
    # The conflation ROUTER ("" : none), aggregation.conflation.
    conflate_addr: str = ""
