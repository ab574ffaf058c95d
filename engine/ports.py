"""Where the engine's status, events and failovers go (``monitoring.publisher`` in the hub).

Every method only enqueues: the tick path never waits on Redis or the database."""

from __future__ import annotations

from typing import Protocol

from engine.records import EngineEvent, FailoverChange, StatusDocument


class Publisher(Protocol):
    def state(self, document: StatusDocument) -> None: ...
    def event(self, event: EngineEvent) -> None: ...
    def failover(self, change: FailoverChange) -> None: ...


class NullPublisher:
    """For an engine that reports to nobody (benchmarks, step tests that read ``engine``)."""

    def state(self, document: StatusDocument) -> None:
        pass

    def event(self, event: EngineEvent) -> None:
        pass

    def failover(self, change: FailoverChange) -> None:
        pass
