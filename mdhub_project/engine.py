"""The hub engine behind ``manage.py runhub``: workers in, one clean stream out.

Written like healthchecks' ``sendalerts``: a ``while not self.shutdown`` loop over small
steps; SIGTERM/SIGINT only set the flag; workers are ended before exit. The loop's hot
step is ``TickHub.poll``; between polls, every ``SUPERVISE_INTERVAL``, the engine judges
each source's health (``monitoring.health``), runs hard restarts (``monitoring.restart_policy``),
picks the primary and, in warm mode, the subscribing sources (``monitoring.failover``), and
applies operator commands. None of that blocks: commands arrive on a queue filled by
another thread, and state, events and logs leave through ``Publisher`` methods that only
enqueue (``monitoring.publisher`` does the Redis and database work on its own thread).
"""

from __future__ import annotations

import logging
import os
import queue
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from aggregation.hub import SourceStats, TickHub
from aggregation.wire import pack
from gateways.manager import ProcessManager
from monitoring.failover import HOT, WARM, Candidate, choose_primary, warm_active
from monitoring.health import RUNNING_STATES, HealthConfig, Observation, SourceHealth, Transition
from monitoring.restart_policy import RestartBudget, RestartConfig
from monitoring.sessions import CHINA_TZ, TradingCalendar, calendar_from_spec

log = logging.getLogger("mdhub.engine")

SUPERVISE_INTERVAL = 0.25
SNAPSHOT_INTERVAL = 1.0
# Widen each session by this much before a silent canary counts: the first ticks after
# the open and the last before the close come a little off the bell.
CANARY_SESSION_GRACE = timedelta(seconds=30)
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
EVENT_MEMORY = 1000
# The hub's heartbeat on the control socket; a worker that hears none for
# HUB_SILENCE_TIMEOUT ends itself (a hung hub, or one that is not its parent).
HUB_HEARTBEAT_INTERVAL = 1.0
HUB_SILENCE_TIMEOUT = 10.0


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
    mode: str = HOT
    warm_sources: int = 1
    subscribe_batch: int = 200
    health: HealthConfig = field(default_factory=HealthConfig)
    restart: RestartConfig = field(default_factory=RestartConfig)


class Publisher(Protocol):
    """Where the engine's state, events and logs go; every method only enqueues."""

    def state(self, snapshot: dict[str, Any]) -> None: ...
    def event(self, event: dict[str, Any]) -> None: ...
    def failover(self, change: dict[str, Any]) -> None: ...


class NullPublisher:
    def state(self, snapshot: dict[str, Any]) -> None:
        pass

    def event(self, event: dict[str, Any]) -> None:
        pass

    def failover(self, change: dict[str, Any]) -> None:
        pass


@dataclass
class Source:
    """The engine's book-keeping for one account."""

    config: AccountConfig
    health: SourceHealth
    budget: RestartBudget
    launched_at: float | None = None  # monotonic; None while no worker runs
    pid: int | None = None
    stop_due: float | None = None  # end of the cool-down: SIGTERM then
    launch_due: float | None = None  # when to launch (after backoff, once the old one ended)
    restarts: int = 0
    active: bool = False  # warm mode: holds the subscriptions
    # Tick-rate book-keeping for the snapshot.
    rate_received: int = 0
    rate_at: float = 0.0
    tick_rate: float = 0.0
    # Latency histogram (cumulative per LATENCY_BUCKETS) from the hub's lateness samples.
    hist_counts: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    hist_count: int = 0
    hist_sum: float = 0.0
    hist_seen_duplicates: int = 0


class Engine:
    def __init__(self, config: EngineConfig, publisher: Publisher | None = None) -> None:
        self.config = config
        run_dir = config.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_addr = f"ipc://{run_dir / 'ingest.ipc'}"
        self.control_addr = f"ipc://{run_dir / 'control.ipc'}"
        self.sim_addr = config.sim_addr or f"ipc://{run_dir / 'sim.ipc'}"
        self.sim_control_addr = f"ipc://{run_dir / 'simctl.ipc'}"
        self.manager = ProcessManager(grace=config.restart.grace, pid_dir=run_dir / "pids")
        # Before binding: a worker an earlier hub left running would push into our ingest.
        self.manager.end_leftovers()
        self.hub = TickHub(self.ingest_addr, config.pub_addr, config.snapshot_addr, self.control_addr)
        self.hub.subscribed.update(config.subscriptions)
        self.publisher: Publisher = publisher or NullPublisher()
        self.calendar: TradingCalendar | None = calendar_from_spec(config.calendar)
        self.sources: dict[str, Source] = {}
        for account in config.accounts:
            self._add_source(account)
        self._watch_canaries()
        # Commands from other threads: ("start"|"stop"|"restart", account) or
        # ("accounts", [AccountConfig, ...]) after the accounts changed in the database.
        self.commands: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENT_MEMORY)
        self.primary: str | None = None
        self.shutdown = False
        self.started_at = time.time()
        self._next_supervise = 0.0
        self._next_snapshot = 0.0
        self._next_heartbeat = 0.0
        self._open_cache: dict[str, tuple[float, bool]] = {}

    def _add_source(self, account: AccountConfig) -> Source:
        source = Source(
            account, SourceHealth(account.id, self.config.health), RestartBudget(self.config.restart)
        )
        self.sources[account.id] = source
        return source

    def _watch_canaries(self) -> None:
        self.hub.watch_topics = {
            f"tick.{c}".encode() for s in self.sources.values() for c in s.config.canaries
        }

    # -- start and stop ----------------------------------------------------------------

    def start(self) -> None:
        if any(s.config.gateway_type == "sim" for s in self.sources.values()) and not self.config.sim_addr:
            self.start_sim_exchange()
        now = time.monotonic()
        for source in self.sources.values():
            if source.config.enabled:
                self.launch(source, now)

    def start_sim_exchange(self) -> None:
        self.manager.start_exchange(
            self.sim_addr, self.sim_control_addr, self.config.sim_contracts, self.config.sim_rate
        )

    def worker_spec(self, account: AccountConfig, subscriptions: list[str]) -> dict[str, Any]:
        return {
            "account": account.id,
            "gateway_type": account.gateway_type,
            "settings": account.settings,
            "ingest": self.ingest_addr,
            "control": self.control_addr,
            "sim_addr": account.settings.get("exchange") or self.sim_addr,
            "workdir": str(self.config.run_dir / "flows" / account.id),
            "subscriptions": sorted(set(subscriptions) | set(account.canaries)),
            "subscribe_batch": self.config.subscribe_batch,
            "contracts": self.config.contracts,
            # The simulated market trades around the clock: no session rule for it.
            "calendar": None if account.gateway_type == "sim" else self.config.calendar,
            "max_skew": self.config.max_skew,
            "log_level": self.config.log_level,
            "hub_silence_timeout": HUB_SILENCE_TIMEOUT,
        }

    def launch(self, source: Source, now: float) -> None:
        # Warm mode: a fresh worker starts as a standby on its canaries; it gets the
        # contract list when the failover step makes it active.
        warm = self.config.mode == WARM
        subscriptions = [] if warm else sorted(self.hub.subscribed)
        source.active = not warm
        source.pid = self.manager.start(self.worker_spec(source.config, subscriptions))
        source.launched_at = now
        source.launch_due = None
        source.rate_at, source.rate_received, source.tick_rate = now, self._stats(source).received, 0.0
        self._transition(source.health.set("starting", f"worker launched (pid {source.pid})", now))

    def stop(self) -> None:
        self.manager.stop_all()
        self.hub.close()

    # -- commands (thread-safe entry points) --------------------------------------------

    def command(self, command: str, account: str) -> None:
        """Queue an operator command (``start``, ``stop``, ``restart``) for ``account``."""
        self.commands.put((command, account))

    def accounts_changed(self, accounts: list[AccountConfig]) -> None:
        """Queue the accounts as now stored (enabled and disabled alike)."""
        self.commands.put(("accounts", accounts))

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> None:
        self.start()
        try:
            while not self.shutdown:
                self.step()
        finally:
            self.stop()

    def step(self) -> None:
        self.hub.poll(20)
        now = time.monotonic()
        if now >= self._next_supervise:
            self._next_supervise = now + SUPERVISE_INTERVAL
            if now >= self._next_heartbeat:
                self._next_heartbeat = now + HUB_HEARTBEAT_INTERVAL
                self.hub.control.send_multipart((b"*", pack({"cmd": "heartbeat"})))
            self.supervise(now)
            if now >= self._next_snapshot:
                self._next_snapshot = now + SNAPSHOT_INTERVAL
                self.publisher.state(self.snapshot(now))

    def supervise(self, now: float) -> None:
        for account_id, code in self.manager.step():
            source = self.sources.get(account_id)
            if source is None:
                continue
            source.launched_at = source.pid = None
            self._transition(source.health.set("unhealthy", f"worker exited with code {code}", now))
            source.stop_due = None
            self._schedule_launch(source, now, f"worker exited with code {code}")
        self._apply_commands(now)
        for source in self.sources.values():
            if source.health.state in RUNNING_STATES and source.launched_at is not None:
                transition = source.health.judge(self._observe(source, now))
                self._transition(transition)
                if transition is not None and transition.state_to == "unhealthy":
                    source.stop_due = now + self.config.restart.cooldown
            if source.stop_due is not None and now >= source.stop_due:
                source.stop_due = None
                self._hard_restart(source, now, source.health.reason)
            if (
                source.launch_due is not None
                and now >= source.launch_due
                and not self.manager.is_ending(source.config.id)
            ):
                self.launch(source, now)
        self._failover(now)

    # -- health ------------------------------------------------------------------------

    def _stats(self, source: Source) -> SourceStats:
        # Registered on first use if no frame came yet: the hub and the engine share one record.
        return self.hub.source(source.config.id.encode())

    def _observe(self, source: Source, now: float) -> Observation:
        stats = self._stats(source)
        launched = source.launched_at or now
        status = stats.last_status
        current = status.get("pid") == source.pid and stats.last_status_mono >= launched
        canary_age: dict[str, float | None] = {}
        peer_age: dict[str, float | None] = {}
        canary_open: dict[str, bool] = {}
        for canary in source.config.canaries:
            topic = f"tick.{canary}".encode()
            seen = stats.last_tick_by_topic.get(topic, 0.0)
            canary_age[canary] = now - seen if seen >= launched else None
            peers = [
                other_stats.last_tick_by_topic.get(topic, 0.0)
                for other in self.sources.values()
                if other is not source and other.launched_at is not None
                for other_stats in (self._stats(other),)
            ]
            latest = max(peers, default=0.0)
            peer_age[canary] = now - latest if latest else None
            canary_open[canary] = self._session_open(source, canary, now)
        return Observation(
            now=now,
            since_start=now - launched,
            heartbeat_age=now - stats.last_status_mono if current else None,
            logged_in=bool(status.get("logged_in")) if current else False,
            reconnects=int(status.get("reconnects") or 0) if current else 0,
            error=str(status.get("error") or "") if current else "",
            canary_age=canary_age,
            peer_canary_age=peer_age,
            canary_open=canary_open,
        )

    def _session_open(self, source: Source, vt_symbol: str, now: float) -> bool:
        if source.config.gateway_type == "sim" or self.calendar is None:
            return True  # the simulated market never closes
        cached = self._open_cache.get(vt_symbol)
        if cached is not None and now < cached[0]:
            return cached[1]
        at = datetime.now(CHINA_TZ)
        interval = self.calendar.open_interval(vt_symbol, at, CANARY_SESSION_GRACE)
        if interval is not None:
            # Open until the window ends: no need to ask again before then.
            until = now + (interval[1] - at).total_seconds()
            self._open_cache[vt_symbol] = (until, True)
            return True
        self._open_cache[vt_symbol] = (now + 15.0, False)
        return False

    # -- restarts ------------------------------------------------------------------------

    def _hard_restart(self, source: Source, now: float, reason: str, manual: bool = False) -> None:
        """End the worker (SIGTERM, SIGKILL after the grace) and plan a fresh one."""
        pid = self.manager.stop(source.config.id)
        source.launched_at = source.pid = None
        source.stop_due = None
        what = "operator restart" if manual else "hard restart"
        ended = f": SIGTERM to pid {pid}" if pid else ""
        self._record("restart", source.config.id, f"{what}{ended} ({reason})")
        if manual:
            source.budget.reset()
        self._schedule_launch(source, now, reason, immediate=manual)

    def _schedule_launch(self, source: Source, now: float, reason: str, immediate: bool = False) -> None:
        source.restarts += 1
        if immediate:
            source.launch_due = now
            self._transition(source.health.set("restarting", f"restarting now ({reason})", now))
            return
        delay = source.budget.next_delay(now)
        source.launch_due = now + delay.seconds
        if delay.exhausted:
            self._transition(
                source.health.set(
                    "failed",
                    f"{delay.attempt - 1} restarts within {self.config.restart.budget_window:.0f} s; "
                    f"retrying every {delay.seconds:.0f} s (last: {reason})",
                    now,
                )
            )
        else:
            self._transition(
                source.health.set(
                    "restarting", f"restart {delay.attempt} in {delay.seconds:.0f} s (after: {reason})", now
                )
            )

    # -- commands --------------------------------------------------------------------------

    def _apply_commands(self, now: float) -> None:
        while True:
            try:
                command, argument = self.commands.get_nowait()
            except queue.Empty:
                return
            if command == "accounts":
                self._apply_accounts(argument, now)
                continue
            source = self.sources.get(argument)
            if source is None:
                log.warning("command %s for unknown account %r ignored", command, argument)
                continue
            self._record("command", source.config.id, f"operator: {command}")
            if command == "start":
                source.budget.reset()
                if source.launched_at is None and not self.manager.is_ending(source.config.id):
                    source.stop_due = None
                    self.launch(source, now)
                elif source.launched_at is None:
                    source.launch_due = now
            elif command == "stop":
                self._stop_source(source, now, "stopped by operator")
            elif command == "restart":
                self._hard_restart(source, now, "requested by operator", manual=True)
            else:
                log.warning("unknown command %r ignored", command)

    def _stop_source(self, source: Source, now: float, reason: str) -> None:
        self.manager.stop(source.config.id)
        source.launched_at = source.pid = None
        source.stop_due = source.launch_due = None
        source.active = False
        self._transition(source.health.set("stopped", reason, now))

    def _apply_accounts(self, accounts: list[AccountConfig], now: float) -> None:
        """Start what was enabled, stop what was disabled or deleted, restart what changed;
        a priority change only re-ranks (no restart)."""
        wanted = {a.id: a for a in accounts}
        for account_id, gone in list(self.sources.items()):
            if account_id not in wanted:
                self._stop_source(gone, now, "account deleted")
                del self.sources[account_id]
        for account in wanted.values():
            existing = self.sources.get(account.id)
            if existing is None:
                added = self._add_source(account)
                if account.enabled:
                    self._record("command", account.id, "account added")
                    self.launch(added, now)
                continue
            source = existing
            old, source.config = source.config, account
            running = source.launched_at is not None or source.launch_due is not None
            if not account.enabled and (running or source.health.state != "stopped"):
                self._stop_source(source, now, "account disabled")
            elif account.enabled and not running and not self.manager.is_ending(account.id):
                self._record("command", account.id, "account enabled")
                source.budget.reset()
                self.launch(source, now)
            elif account.enabled and running and not old.same_process(account):
                self._hard_restart(source, now, "account settings changed", manual=True)
            elif old.priority != account.priority:
                self._record("command", account.id, f"priority {old.priority} → {account.priority}")
        self._watch_canaries()

    # -- failover ----------------------------------------------------------------------------

    def _failover(self, now: float) -> None:
        candidates = [
            Candidate(s.config.id, s.config.priority, s.health.state) for s in self.sources.values()
        ]
        if self.config.mode == WARM:
            current = {s.config.id for s in self.sources.values() if s.active}
            target = warm_active(candidates, self.config.warm_sources, current)
            for source in self.sources.values():
                account = source.config.id
                if account in target and not source.active and source.launched_at is not None:
                    source.active = True
                    self.hub.subscribe_upstream(sorted(self.hub.subscribed), account)
                    self._record("failover", account, "warm standby takes the subscriptions")
                elif account not in target and source.active:
                    source.active = False
                    if source.launched_at is not None:
                        symbols = sorted(self.hub.subscribed - set(source.config.canaries))
                        self.hub.control.send_multipart(
                            (account.encode(), pack({"cmd": "unsubscribe", "symbols": symbols}))
                        )
                        self._record("failover", account, "back to standby")
        primary = choose_primary(candidates)
        if primary != self.primary:
            previous, self.primary = self.primary, primary
            if primary is None:
                reason = "no healthy source"
            elif previous is None:
                reason = f"{primary} is the best-priority healthy source"
            else:
                old = self.sources.get(previous)
                why = f"{previous} is {old.health.state}" if old else f"{previous} was removed"
                if old is not None and old.health.state == "healthy":
                    why = f"{primary} has a better priority"
                reason = f"{why}; {primary} is the best-priority healthy source"
            change = {"from": previous, "to": primary, "reason": reason, "ts": time.time()}
            self.publisher.failover(change)
            before = f"primary {previous}" if previous else "no primary yet"
            self._record("failover", primary or "", f"{before} → {primary or 'none'}: {reason}")

    # -- events and state ------------------------------------------------------------------

    def _transition(self, transition: Transition | None) -> None:
        if transition is None:
            return
        level = logging.WARNING if transition.state_to in ("unhealthy", "failed", "stale") else logging.INFO
        log.log(
            level,
            "%s: %s → %s (%s)",
            transition.account,
            transition.state_from,
            transition.state_to,
            transition.reason,
            extra={"account": transition.account},
        )
        self._emit(
            {
                "ts": time.time(),
                "account": transition.account,
                "kind": "state",
                "state_from": transition.state_from,
                "state_to": transition.state_to,
                "reason": transition.reason,
            }
        )

    def _record(self, kind: str, account: str, reason: str) -> None:
        log.info("%s: %s", account or "hub", reason, extra={"account": account})
        self._emit(
            {
                "ts": time.time(),
                "account": account,
                "kind": kind,
                "state_from": "",
                "state_to": "",
                "reason": reason,
            }
        )

    def _emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.publisher.event(event)

    def snapshot(self, now: float) -> dict[str, Any]:
        """The ``/api/gateways`` document (docs/api.md) plus counters for ``/metrics``."""
        wall = time.time()
        forwarded = self.hub.stats.forwarded
        gateways = [self._source_state(s, now, wall, forwarded) for s in self.sources.values()]
        gateways.sort(key=lambda g: (g["priority"], g["id"]))
        stats = self.hub.stats
        return {
            "engine": "online",
            "updated_at": wall,
            "mode": self.config.mode,
            "primary": self.primary,
            "hub": {
                "forwarded": stats.forwarded,
                "malformed": stats.malformed,
                "snapshot_requests": stats.snapshot_requests,
                "upstream_subscriptions": stats.upstream_subscriptions,
                "subscriptions": len(self.hub.subscribed),
                "pid": os.getpid(),
                "started_at": self.started_at,
            },
            "gateways": gateways,
        }

    def _source_state(self, source: Source, now: float, wall: float, forwarded: int) -> dict[str, Any]:
        stats = self._stats(source)
        elapsed = now - source.rate_at
        if elapsed >= 0.5:
            source.tick_rate = (stats.received - source.rate_received) / elapsed
            source.rate_at, source.rate_received = now, stats.received
        self._fold_latency(source, stats)
        samples = sorted(stats.late_ns)
        running = source.launched_at is not None
        canaries: dict[str, float | None] = {}
        for canary in source.config.canaries:
            seen = stats.last_tick_by_topic.get(f"tick.{canary}".encode(), 0.0)
            canaries[canary] = round(now - seen, 3) if seen else None
        status = stats.last_status if running else {}
        return {
            "id": source.config.id,
            "gateway_type": source.config.gateway_type,
            "priority": source.config.priority,
            "is_enabled": source.config.enabled,
            "state": source.health.state,
            "state_reason": source.health.reason,
            "state_since": wall - (now - source.health.since) if source.health.since else None,
            "is_primary": source.config.id == self.primary,
            "is_active": source.active,
            "pid": source.pid,
            # No process, no ticks: the last rate measured would be a figure from the past.
            "tick_rate": round(source.tick_rate, 2) if running else 0.0,
            "last_tick_age": round(now - stats.last_tick_mono, 3) if stats.last_tick_mono else None,
            "canaries": canaries,
            "first_share": round(stats.first / forwarded, 4) if forwarded else 0.0,
            "latency_ms": {
                "p50": round(_quantile(samples, 0.5) / 1e6, 3) if samples else None,
                "p99": round(_quantile(samples, 0.99) / 1e6, 3) if samples else None,
            },
            "latency_hist": {
                "le": list(LATENCY_BUCKETS),
                "counts": list(source.hist_counts),
                "count": source.hist_count,
                "sum": round(source.hist_sum, 6),
            },
            "restarts": source.restarts,
            "ticks": stats.received,
            "received": stats.received,
            "first": stats.first,
            "duplicates": stats.duplicates,
            "too_late": stats.too_late,
            "backpressure": int(status.get("backpressure") or 0),
            "drops": {str(k): int(v) for k, v in (status.get("drops") or {}).items() if v},
            "logged_in": bool(status.get("logged_in")),
            "reconnects": int(status.get("reconnects") or 0),
            "error": str(status.get("error") or ""),
        }

    def _fold_latency(self, source: Source, stats: SourceStats) -> None:
        """Add the lateness samples that arrived since the last snapshot to the histogram.
        At most the deque's length per interval is seen: above that rate it is a sample."""
        new = stats.duplicates - source.hist_seen_duplicates
        source.hist_seen_duplicates = stats.duplicates
        if new <= 0:
            return
        recent = list(stats.late_ns)[-new:]
        for late_ns in recent:
            seconds = late_ns / 1e9
            source.hist_count += 1
            source.hist_sum += seconds
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    source.hist_counts[i] += 1


def _quantile(ordered: list[int], q: float) -> float:
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])
