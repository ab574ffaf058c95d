"""When to hard-restart a source (FR8): cool-down, exponential backoff, a restart budget.

Pure Python; the engine asks ``RestartBudget.next_delay`` each time a worker has ended and
must come back. Restarts older than ``budget_window`` are forgotten, so a source that
stayed up for a while starts again from the shortest delay.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RestartConfig:
    # Wait this long after ``unhealthy`` before ending the worker (a last chance to log).
    cooldown: float = 2.0
    # SIGTERM, then SIGKILL after this many seconds.
    grace: float = 3.0
    backoff_first: float = 1.0
    backoff_max: float = 60.0
    # More than ``budget`` restarts within ``budget_window`` seconds: ``failed``, and from
    # then on retried only every ``failed_retry`` seconds.
    budget: int = 5
    budget_window: float = 600.0
    failed_retry: float = 300.0


@dataclass(frozen=True)
class RestartDelay:
    seconds: float
    attempt: int  # restarts within the budget window, this one included
    exhausted: bool  # the budget is spent: the source is ``failed``


@dataclass
class RestartBudget:
    config: RestartConfig = field(default_factory=RestartConfig)
    _history: deque[float] = field(default_factory=deque)

    def next_delay(self, now: float) -> RestartDelay:
        """Record a restart at ``now`` and say how long to wait before launching."""
        cfg = self.config
        while self._history and now - self._history[0] > cfg.budget_window:
            self._history.popleft()
        self._history.append(now)
        attempt = len(self._history)
        if attempt > cfg.budget:
            return RestartDelay(cfg.failed_retry, attempt, True)
        delay = min(cfg.backoff_first * 2 ** (attempt - 1), cfg.backoff_max)
        return RestartDelay(delay, attempt, False)

    def reset(self) -> None:
        """An operator's start or restart begins a fresh budget."""
        self._history.clear()

    @property
    def recent(self) -> int:
        return len(self._history)
