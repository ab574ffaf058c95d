"""The engine's book-keeping for one account: its configuration, health, restart budget,
process and what the status document measures of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from aggregation.hub import SourceStats
from engine.config import AccountConfig
from engine.health import SourceHealth
from engine.restart_policy import RestartBudget

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
# A tick rate over a shorter span than this is mostly noise: keep the last one.
RATE_MIN_SPAN = 0.5


@dataclass
class Measures:
    """Tick rate and latency histogram, updated once per status document (``update``)."""

    rate_received: int = 0
    rate_at: float = 0.0
    tick_rate: float = 0.0
    hist_counts: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    hist_count: int = 0
    hist_sum: float = 0.0
    seen_duplicates: int = 0

    def restart(self, stats: SourceStats, now: float) -> None:
        """A fresh worker: its rate starts from zero."""
        self.rate_at, self.rate_received, self.tick_rate = now, stats.received, 0.0

    def update(self, stats: SourceStats, now: float) -> None:
        elapsed = now - self.rate_at
        if elapsed >= RATE_MIN_SPAN:
            self.tick_rate = (stats.received - self.rate_received) / elapsed
            self.rate_at, self.rate_received = now, stats.received
        # The lateness samples that arrived since the last update. At most the deque's
        # length per interval is seen: above that rate the histogram is a sample.
        new = stats.duplicates - self.seen_duplicates
        self.seen_duplicates = stats.duplicates
        if new <= 0:
            return
        for late_ns in list(stats.late_ns)[-new:]:
            seconds = late_ns / 1e9
            self.hist_count += 1
            self.hist_sum += seconds
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    self.hist_counts[i] += 1


@dataclass
class Source:
    config: AccountConfig
    health: SourceHealth
    budget: RestartBudget
    launched_at: float | None = None  # monotonic; None while no worker runs
    pid: int | None = None
    stop_due: float | None = None  # end of the cool-down: SIGTERM then
    launch_due: float | None = None  # when to launch (after backoff, once the old one ended)
    restarts: int = 0
    active: bool = False  # warm mode: holds the subscriptions
    measures: Measures = field(default_factory=Measures)

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def running(self) -> bool:
        return self.launched_at is not None
