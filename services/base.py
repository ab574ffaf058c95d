"""What a data service is: a small class the runner feeds ticks and clock times.

Contract (as vn.py states it for gateways):
* ``topics()`` names the tick prefixes the service reads (``"tick."`` for everything).
* ``on_tick(tick, now)`` gets every tick the hub forwards on those topics, in hub order, as
  the decoded payload (vn.py ``TickData`` field names, ``datetime`` in epoch ns); ``now`` is
  the exchange clock (Asia/Shanghai, aware). It returns the records to publish.
* ``on_timer(now)`` is called about every ``timer_interval`` seconds; it returns what the
  clock alone completes (a bar closes at its section's end even when no tick comes).
* Neither may block or raise for bad input: a bad tick is counted in ``counters`` and
  dropped. Records passed on must not be mutated later.

The runner (``services.runner``) owns the sockets, the clock and the process; a service is
plain Python, so its rules are tested with hand-built ticks and a fixed ``now``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    """One message a service publishes: ``topic`` (``bar.1m.rb2601.SHFE``), the exchange
    time it stands for (epoch ns; the hub's first-arrival rule wants it non-decreasing per
    topic) and its payload fields (msgpack-able, vn.py names where vn.py has one)."""

    topic: str
    time_ns: int
    fields: dict[str, Any]


@dataclass
class ServiceStats:
    ticks: int = 0
    records: int = 0
    counters: Counter[str] = field(default_factory=Counter)


class Service(ABC):
    """Base of the data services (``bars``, ``greeks``)."""

    name: str = "service"
    timer_interval: float = 0.25

    def __init__(self) -> None:
        # Why a tick was dropped or a record not made, by reason: travels in the status frame.
        self.counters: Counter[str] = Counter()

    @abstractmethod
    def topics(self) -> list[str]:
        """Tick topic prefixes to read (``HubClient`` topics)."""

    @abstractmethod
    def on_tick(self, tick: dict[str, Any], now: datetime) -> list[Record]:
        """Records completed by this tick (often none)."""

    def on_timer(self, now: datetime) -> list[Record]:
        """Records completed by the clock alone; none by default."""
        return []

    def status(self) -> dict[str, Any]:
        """Extra fields for the service's status frame."""
        return {"counters": dict(self.counters)}
