"""The data services the hub supervises (issue 16): one process each, judged by heartbeat.

A service (``python -m services.runner --service bars``) reads the hub's stream as a client
and pushes its records into the hub's ingest like a worker; its status frames, under the
account ``svc-<name>``, are its heartbeat. The engine starts it, judges it and restarts it
with the same backoff and budget as a worker (``engine.restart_policy``), but it is not a
source: it is kept out of failover, the primary, the first-arrival share and the sources
list of the status document (it has a ``services`` list of its own). The engine never
imports ``services``: it knows a service by its name and command line only.

The verdict is a pure function of what the hub observed, tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.health import HealthConfig, Transition
from engine.restart_policy import RestartBudget
from engine.states import SourceState

# The states a service can be in: a subset of a source's (it has no login and no canaries).
SERVICE_RUNNING_STATES = frozenset({SourceState.STARTING, SourceState.HEALTHY})


@dataclass(frozen=True)
class ServiceConfig:
    name: str  # "bars", "greeks": ``services.runner --service``
    # Its own settings as runner flags (``--intervals 1m,5m``); the engine adds where to
    # read and publish, its account, the calendar and the parent pid.
    args: tuple[str, ...] = ()

    @property
    def account(self) -> str:
        """The heartbeat's and the records' ``source`` (the runner's default)."""
        return f"svc-{self.name}"


@dataclass(frozen=True)
class ServiceObservation:
    since_start: float  # seconds since launch
    heartbeat_age: float | None  # None: no status frame from this process yet
    connected: bool  # the service's client reads the hub's stream


def service_verdict(obs: ServiceObservation, config: HealthConfig) -> tuple[SourceState, str]:
    """A running service's state: ``healthy`` while it heartbeats and reads the stream,
    ``unhealthy`` (restart) when its heartbeat lapses or it never connects."""
    if obs.heartbeat_age is None:
        if obs.since_start > config.first_heartbeat_timeout:
            return SourceState.UNHEALTHY, f"no heartbeat {obs.since_start:.0f} s after launch (hung)"
        return SourceState.STARTING, "service launched, waiting for its first status"
    if obs.heartbeat_age > config.heartbeat_timeout:
        return SourceState.UNHEALTHY, f"no heartbeat for {obs.heartbeat_age:.1f} s (hung)"
    if not obs.connected:
        if obs.since_start > config.login_timeout:
            return SourceState.UNHEALTHY, f"not reading the hub's stream {obs.since_start:.0f} s after launch"
        return SourceState.STARTING, "waiting for the hub's stream"
    return SourceState.HEALTHY, "heartbeat and stream flowing"


@dataclass
class SupervisedService:
    config: ServiceConfig
    budget: RestartBudget
    state: SourceState = SourceState.STOPPED
    reason: str = "not started"
    since: float = 0.0  # monotonic time of the last transition
    launched_at: float | None = None  # monotonic; None while no process runs
    pid: int | None = None
    stop_due: float | None = None
    launch_due: float | None = None
    restarts: int = 0

    @property
    def account(self) -> str:
        return self.config.account

    @property
    def running(self) -> bool:
        return self.launched_at is not None

    def set(self, state: SourceState, reason: str, now: float) -> Transition | None:
        """Move to ``state``; a transition (for the event log) when the state changed."""
        if state == self.state:
            self.reason = reason
            return None
        previous = self.state
        self.state, self.reason, self.since = state, reason, now
        return Transition(self.account, previous, state, reason, now)


def connect_address(bound: str) -> str:
    """The address a local process connects to for one the hub binds (``tcp://*:5555``)."""
    return bound.replace("://*:", "://127.0.0.1:").replace("://0.0.0.0:", "://127.0.0.1:")
