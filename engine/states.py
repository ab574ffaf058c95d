"""The engine's vocabularies as ``StrEnum``s: source states, operator commands, event kinds
and failover modes. Each member is its own string value, so JSON, the API, the metrics and
the WebSocket carry the same spelling the engine compares against."""

from __future__ import annotations

from enum import StrEnum


class SourceState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    CONNECTED = "connected"
    HEALTHY = "healthy"
    STALE = "stale"
    DISCONNECTED = "disconnected"
    UNHEALTHY = "unhealthy"
    RESTARTING = "restarting"
    FAILED = "failed"


# States of a source whose worker runs and is judged by ``SourceHealth.judge``.
RUNNING_STATES = frozenset(
    {
        SourceState.STARTING,
        SourceState.CONNECTED,
        SourceState.HEALTHY,
        SourceState.STALE,
        SourceState.DISCONNECTED,
    }
)
# States an operator should look at (logged at WARNING).
TROUBLE_STATES = frozenset({SourceState.UNHEALTHY, SourceState.FAILED, SourceState.STALE})


class Command(StrEnum):
    """Operator commands for one source (``POST /api/accounts/{id}/{command}``)."""

    START = "start"
    STOP = "stop"
    RESTART = "restart"


class EventKind(StrEnum):
    """What an engine event records (``monitoring.models.Event.kind``)."""

    STATE = "state"  # a state transition
    COMMAND = "command"  # an operator's command or an account change
    RESTART = "restart"  # a worker ended to be relaunched
    FAILOVER = "failover"  # a new primary, or a warm standby taking over / handing back


class FailoverMode(StrEnum):
    HOT = "hot"
    WARM = "warm"


class AccountChange(StrEnum):
    """What ``accounts.changed`` says happened to one account row."""

    SAVED = "saved"
    DELETED = "deleted"
