"""The hub engine behind ``manage.py runhub``: workers in, one clean stream out.

Written like healthchecks' ``sendalerts``: a ``while not self.shutdown`` loop over small
steps; SIGTERM/SIGINT only set the flag; children are ended before exit. The loop's hot
step is ``TickHub.poll``; between polls, every ``SUPERVISE_INTERVAL``, ``supervise`` runs
the other steps, each callable alone with a given ``now`` (the step tests do):

* ``reap`` — workers that exited on their own are scheduled for a relaunch;
* ``run_commands`` — operator commands and account changes (``engine.commands``);
* ``judge`` — each running source's health (``engine.health``), cool-down on ``unhealthy``;
* ``restart_due`` — hard restarts whose cool-down is over, launches whose backoff is over
  (``engine.restart_policy``);
* ``failover`` — the primary and, in warm mode, which sources subscribe (``engine.failover``);
* ``judge_service`` / ``service_restart_due`` — the data services (``engine.services``):
  judged by heartbeat and restarted like workers, but never sources (no failover, no primary).

None of that blocks: commands arrive on a queue filled by another thread, and the status
document, events and failovers leave through a ``Publisher`` whose methods only enqueue.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aggregation.access import ClientIdentity, StreamAccess
from aggregation.exchange_time import CHINA_TZ
from aggregation.hub import SourceStats, TickHub
from aggregation.journal import open_journal
from aggregation.sessions import TradingCalendar, calendar_from_spec
from engine.commands import AccountsUpdate, OperatorCommand, Queued, run_queued
from engine.config import AccountConfig, EngineConfig
from engine.failover import Candidate, choose_primary, warm_active
from engine.health import Observation, SourceHealth, Transition
from engine.ports import NullPublisher, Publisher
from engine.records import EngineEvent, FailoverChange, StatusDocument
from engine.restart_policy import RestartBudget
from engine.services import (
    SERVICE_RUNNING_STATES,
    ServiceConfig,
    ServiceObservation,
    SupervisedService,
    connect_address,
    service_verdict,
)
from engine.source import Source
from engine.states import (
    RUNNING_STATES,
    TROUBLE_STATES,
    AccountChange,
    Command,
    EventKind,
    FailoverMode,
    SourceState,
)
from engine.status import service_status, source_status, status_document, stream_client_status
from engine.universe_roll import UniverseRoll, roll_universe
from gateways.kinds import is_simulated
from gateways.manager import ProcessManager

log = logging.getLogger("mdhub.engine")

SUPERVISE_INTERVAL = 0.25
SNAPSHOT_INTERVAL = 1.0
# Widen each session by this much before a silent canary counts: the first ticks after
# the open and the last before the close come a little off the bell.
CANARY_SESSION_GRACE = timedelta(seconds=30)
# The hub's heartbeat on the control socket; a worker that hears none for
# HUB_SILENCE_TIMEOUT ends itself (a hung hub, or one that is not its parent).
HUB_HEARTBEAT_INTERVAL = 1.0
HUB_SILENCE_TIMEOUT = 10.0


class Engine:
    def __init__(
        self,
        config: EngineConfig,
        publisher: Publisher | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock, self.wall_clock = clock, wall_clock
        run_dir = config.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_addr = f"ipc://{run_dir / 'ingest.ipc'}"
        self.control_addr = f"ipc://{run_dir / 'control.ipc'}"
        self.sim_addr = config.sim_addr or f"ipc://{run_dir / 'sim.ipc'}"
        self.sim_control_addr = f"ipc://{run_dir / 'simctl.ipc'}"
        self.manager = ProcessManager(grace=config.restart.grace, pid_dir=run_dir / "pids")
        # Before binding: a worker an earlier hub left running would push into our ingest.
        self.manager.end_leftovers()
        calendar = calendar_from_spec(config.calendar)
        self.hub = TickHub(
            self.ingest_addr,
            config.pub_addr,
            config.snapshot_addr,
            self.control_addr,
            journal=open_journal(config.journal_dir, calendar.is_trading_day if calendar else None),
            recovery_addr=config.recovery_addr or None,
            access=(
                StreamAccess(config.stream_keys, config.clients, internal=config.internal_keys)
                if config.stream_keys
                else None
            ),
            conflate_addr=config.conflate_addr or None,
        )
        # Subscription names (contracts, products ``rb``, main contracts ``rb.main``) for
        # the exchange day, rolled daily by ``roll_universe``; it also gates clients'
        # on-demand subscriptions (the hub counts the refusals).
        self.universe = UniverseRoll(list(config.subscriptions), list(config.contracts))
        self.hub.upstream_allowed = self.universe.allowed
        self.publisher: Publisher = publisher or NullPublisher()
        self.calendar: TradingCalendar | None = calendar_from_spec(config.calendar)
        self.sources: dict[str, Source] = {}
        for account in config.accounts:
            self.add_source(account)
        roll_universe(self)
        self.watch_canaries()
        self.services: dict[str, SupervisedService] = {
            c.account: SupervisedService(c, RestartBudget(config.restart)) for c in config.services
        }
        self._services_calendar_file = ""
        # Filled by other threads (the publisher's command receiver), emptied by the loop.
        self.commands: queue.SimpleQueue[Queued] = queue.SimpleQueue()
        self.primary: str | None = None
        self.shutdown = False
        self.started_at = wall_clock()
        self._next_supervise = 0.0
        self._next_snapshot = 0.0
        self._next_heartbeat = 0.0
        self._open_cache: dict[str, tuple[float, bool]] = {}

    def add_source(self, account: AccountConfig) -> Source:
        source = Source(
            account, SourceHealth(account.id, self.config.health), RestartBudget(self.config.restart)
        )
        self.sources[account.id] = source
        return source

    def watch_canaries(self) -> None:
        self.hub.watch_topics = {
            f"tick.{c}".encode() for s in self.sources.values() for c in s.config.canaries
        }

    def stats(self, source: Source) -> SourceStats:
        # Registered on first use if no frame came yet: the hub and the engine share one record.
        return self.hub.source(source.id.encode())

    # -- thread-safe entry points (the publisher's ``CommandSink``) -------------------------

    def command(self, command: Command, account: str) -> None:
        """Queue an operator command for ``account``."""
        self.commands.put(OperatorCommand(command, account))

    def clients_changed(self, clients: list[ClientIdentity]) -> None:
        """The stream clients' table changed (any thread): the hub's policy takes it at once and
        cuts off the revoked clients; nothing waits on the engine's loop."""
        if self.hub.access is not None:
            self.hub.access.update(clients)

    def accounts_changed(
        self, accounts: list[AccountConfig], account: str = "", change: AccountChange = AccountChange.SAVED
    ) -> None:
        """Queue the accounts as now stored, after ``account`` was saved or deleted."""
        self.commands.put(AccountsUpdate(accounts, account, change))

    # -- start, loop, stop -------------------------------------------------------------------

    def start(self) -> None:
        if (
            any(is_simulated(s.config.gateway_type) for s in self.sources.values())
            and not self.config.sim_addr
        ):
            self.manager.start_exchange(
                self.sim_addr, self.sim_control_addr, self.config.sim_contracts, self.config.sim_rate
            )
        now = self.clock()
        for source in self.sources.values():
            if source.config.enabled:
                self.launch(source, now)
        if self.services and self.config.calendar is not None:
            # Once, before the loop: the services read the hub's calendar (the admin's rules).
            path = self.config.run_dir / "services-calendar.json"
            path.write_text(json.dumps(self.config.calendar))
            self._services_calendar_file = str(path)
        for service in self.services.values():
            self.launch_service(service, now)

    def run(self) -> None:
        self.start()
        try:
            while not self.shutdown:
                self.step()
        finally:
            self.stop()

    def step(self) -> None:
        self.hub.poll(20)
        now = self.clock()
        if now < self._next_supervise:
            return
        self._next_supervise = now + SUPERVISE_INTERVAL
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + HUB_HEARTBEAT_INTERVAL
            self.hub.heartbeat()
        self.supervise(now)
        if now >= self._next_snapshot:
            self._next_snapshot = now + SNAPSHOT_INTERVAL
            self.measure(now)
            self.publisher.state(self.status(now))

    def stop(self) -> None:
        self.manager.stop_all()
        self.hub.close()

    # -- the steps ---------------------------------------------------------------------------

    def supervise(self, now: float) -> None:
        self.reap(now)
        self.run_commands(now)
        roll_universe(self)
        for source in self.sources.values():
            self.judge(source, now)
            self.restart_due(source, now)
        self.failover(now)
        for service in self.services.values():
            self.judge_service(service, now)
            self.service_restart_due(service, now)

    def reap(self, now: float) -> None:
        """Workers that exited without being asked to: unhealthy, relaunched after a backoff."""
        for account_id, code in self.manager.step():
            source = self.sources.get(account_id)
            if source is None:
                service = self.services.get(account_id)
                if service is not None:
                    self.reap_service(service, code, now)
                continue
            source.launched_at = source.pid = None
            source.stop_due = None
            self.transition(source.health.set(SourceState.UNHEALTHY, f"worker exited with code {code}", now))
            self.schedule_launch(source, now, f"worker exited with code {code}")

    def run_commands(self, now: float) -> None:
        while True:
            try:
                queued = self.commands.get_nowait()
            except queue.Empty:
                return
            run_queued(self, queued, now)

    def judge(self, source: Source, now: float) -> None:
        if source.health.state not in RUNNING_STATES or not source.running:
            return
        transition = source.health.judge(self.observe(source, now))
        self.transition(transition)
        if transition is not None and transition.state_to == SourceState.UNHEALTHY:
            # A last chance to log before it is ended.
            source.stop_due = now + self.config.restart.cooldown

    def restart_due(self, source: Source, now: float) -> None:
        if source.stop_due is not None and now >= source.stop_due:
            source.stop_due = None
            self.hard_restart(source, now, source.health.reason)
        if (
            source.launch_due is not None
            and now >= source.launch_due
            and not self.manager.is_ending(source.id)
        ):
            self.launch(source, now)

    def failover(self, now: float) -> None:
        candidates = [Candidate(s.id, s.config.priority, s.health.state) for s in self.sources.values()]
        if self.config.mode == FailoverMode.WARM:
            self._warm_handover(candidates)
        primary = choose_primary(candidates)
        if primary == self.primary:
            return
        previous, self.primary = self.primary, primary
        reason = self._primary_reason(previous, primary)
        self.publisher.failover(FailoverChange(previous, primary, reason, self.wall_clock()))
        before = f"primary {previous}" if previous else "no primary yet"
        self.record(EventKind.FAILOVER, primary or "", f"{before} → {primary or 'none'}: {reason}")

    def _warm_handover(self, candidates: list[Candidate]) -> None:
        current = {s.id for s in self.sources.values() if s.active}
        target = warm_active(candidates, self.config.warm_sources, current)
        for source in self.sources.values():
            if source.id in target and not source.active and source.running:
                source.active = True
                self.hub.subscribe_upstream(sorted(self.hub.subscribed), source.id)
                self.record(EventKind.FAILOVER, source.id, "warm standby takes the subscriptions")
            elif source.id not in target and source.active:
                source.active = False
                if source.running:
                    # Back to its canaries: it stays logged in, ready to take over again.
                    symbols = sorted(self.hub.subscribed - set(source.config.canaries))
                    self.hub.unsubscribe_upstream(symbols, source.id)
                    self.record(EventKind.FAILOVER, source.id, "back to standby")

    def _primary_reason(self, previous: str | None, primary: str | None) -> str:
        if primary is None:
            return "no healthy source"
        if previous is None:
            return f"{primary} is the best-priority healthy source"
        old = self.sources.get(previous)
        if old is None:
            why = f"{previous} was removed"
        elif old.health.state == SourceState.HEALTHY:
            why = f"{primary} has a better priority"
        else:
            why = f"{previous} is {old.health.state}"
        return f"{why}; {primary} is the best-priority healthy source"

    # -- observing a source ------------------------------------------------------------------

    def observe(self, source: Source, now: float) -> Observation:
        stats = self.stats(source)
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
                self.stats(other).last_tick_by_topic.get(topic, 0.0)
                for other in self.sources.values()
                if other is not source and other.running
            ]
            latest = max(peers, default=0.0)
            peer_age[canary] = now - latest if latest else None
            canary_open[canary] = self.session_open(source, canary, now)
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

    def session_open(self, source: Source, vt_symbol: str, now: float) -> bool:
        if is_simulated(source.config.gateway_type) or self.calendar is None:
            return True  # the simulated market never closes
        cached = self._open_cache.get(vt_symbol)
        if cached is not None and now < cached[0]:
            return cached[1]
        at = datetime.fromtimestamp(self.wall_clock(), CHINA_TZ)
        interval = self.calendar.open_interval(vt_symbol, at, CANARY_SESSION_GRACE)
        if interval is not None:
            # Open until the window ends: no need to ask again before then.
            until = now + (interval[1] - at).total_seconds()
            self._open_cache[vt_symbol] = (until, True)
            return True
        self._open_cache[vt_symbol] = (now + 15.0, False)
        return False

    # -- processes ---------------------------------------------------------------------------

    def worker_spec(self, account: AccountConfig, subscriptions: list[str]) -> dict[str, Any]:
        simulated = is_simulated(account.gateway_type)
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
            "calendar": None if simulated else self.config.calendar,
            "max_skew": self.config.max_skew,
            "log_level": self.config.log_level,
            "hub_silence_timeout": HUB_SILENCE_TIMEOUT,
        }

    def launch(self, source: Source, now: float) -> None:
        # Warm mode: a fresh worker starts as a standby on its canaries; it gets the
        # contract list when the failover step makes it active.
        warm = self.config.mode == FailoverMode.WARM
        subscriptions = [] if warm else sorted(self.hub.subscribed)
        source.active = not warm
        source.pid = self.manager.start(self.worker_spec(source.config, subscriptions))
        source.launched_at = now
        source.launch_due = None
        source.measures.restart(self.stats(source), now)
        self.transition(source.health.set(SourceState.STARTING, f"worker launched (pid {source.pid})", now))

    def stop_source(self, source: Source, now: float, reason: str) -> None:
        self.manager.stop(source.id)
        source.launched_at = source.pid = None
        source.stop_due = source.launch_due = None
        source.active = False
        self.transition(source.health.set(SourceState.STOPPED, reason, now))

    def hard_restart(self, source: Source, now: float, reason: str, manual: bool = False) -> None:
        """End the worker (SIGTERM, SIGKILL after the grace) and plan a fresh one."""
        pid = self.manager.stop(source.id)
        source.launched_at = source.pid = None
        source.stop_due = None
        what = "operator restart" if manual else "hard restart"
        ended = f": SIGTERM to pid {pid}" if pid else ""
        self.record(EventKind.RESTART, source.id, f"{what}{ended} ({reason})")
        if manual:
            source.budget.reset()
        self.schedule_launch(source, now, reason, immediate=manual)

    def schedule_launch(self, source: Source, now: float, reason: str, immediate: bool = False) -> None:
        source.restarts += 1
        if immediate:
            source.launch_due = now
            self.transition(source.health.set(SourceState.RESTARTING, f"restarting now ({reason})", now))
            return
        delay = source.budget.next_delay(now)
        source.launch_due = now + delay.seconds
        if delay.exhausted:
            window = self.config.restart.budget_window
            self.transition(
                source.health.set(
                    SourceState.FAILED,
                    f"{delay.attempt - 1} restarts within {window:.0f} s; "
                    f"retrying every {delay.seconds:.0f} s (last: {reason})",
                    now,
                )
            )
        else:
            self.transition(
                source.health.set(
                    SourceState.RESTARTING,
                    f"restart {delay.attempt} in {delay.seconds:.0f} s (after: {reason})",
                    now,
                )
            )

    # -- the data services -------------------------------------------------------------------

    def services_calendar(self) -> str:
        """The calendar a service reads: ``sim`` (always open, as the simulated exchange is)
        when every source is simulated, else the hub's calendar file ("" : built-in rules)."""
        if self.sources and all(is_simulated(s.config.gateway_type) for s in self.sources.values()):
            return "sim"
        return self._services_calendar_file

    def service_argv(self, config: ServiceConfig) -> list[str]:
        """``services.runner``'s command line (no secrets: it goes into the pid file)."""
        argv = [
            "-m",
            "services.runner",
            f"--service={config.name}",
            f"--account={config.account}",
            f"--pub={connect_address(self.config.pub_addr)}",
            f"--snapshot={connect_address(self.config.snapshot_addr)}",
            f"--ingest={self.ingest_addr}",
        ]
        calendar = self.services_calendar()
        if calendar:
            argv.append(f"--calendar={calendar}")
        if self.config.internal_key_file is not None:
            # CURVE on: the service reads as the hub's internal client; a path, not the key.
            argv.append(f"--curve-key-file={self.config.internal_key_file}")
        return [*argv, *config.args]

    def launch_service(self, service: SupervisedService, now: float) -> None:
        service.pid = self.manager.start_program(service.account, self.service_argv(service.config))
        service.launched_at = now
        service.launch_due = None
        self.transition(service.set(SourceState.STARTING, f"service launched (pid {service.pid})", now))

    def observe_service(self, service: SupervisedService, now: float) -> ServiceObservation:
        stats = self.hub.source(service.account.encode())
        launched = service.launched_at or now
        status = stats.last_status
        # A frame from the process before (same account) says nothing of this one.
        current = status.get("pid") == service.pid and stats.last_status_mono >= launched
        return ServiceObservation(
            since_start=now - launched,
            heartbeat_age=now - stats.last_status_mono if current else None,
            connected=bool(status.get("connected")) if current else False,
        )

    def judge_service(self, service: SupervisedService, now: float) -> None:
        if service.state not in SERVICE_RUNNING_STATES or not service.running:
            return
        state, reason = service_verdict(self.observe_service(service, now), self.config.health)
        transition = service.set(state, reason, now)
        self.transition(transition)
        if transition is not None and state == SourceState.UNHEALTHY:
            service.stop_due = now + self.config.restart.cooldown

    def service_restart_due(self, service: SupervisedService, now: float) -> None:
        if service.stop_due is not None and now >= service.stop_due:
            service.stop_due = None
            pid = self.manager.stop(service.account)
            service.launched_at = service.pid = None
            ended = f": SIGTERM to pid {pid}" if pid else ""
            self.record(EventKind.RESTART, service.account, f"hard restart{ended} ({service.reason})")
            self.schedule_service(service, now, service.reason)
        if (
            service.launch_due is not None
            and now >= service.launch_due
            and not self.manager.is_ending(service.account)
        ):
            self.launch_service(service, now)

    def reap_service(self, service: SupervisedService, code: int, now: float) -> None:
        """A service that exited without being asked to: relaunched after a backoff."""
        service.launched_at = service.pid = None
        service.stop_due = None
        reason = f"service exited with code {code}"
        self.transition(service.set(SourceState.UNHEALTHY, reason, now))
        self.schedule_service(service, now, reason)

    def schedule_service(self, service: SupervisedService, now: float, reason: str) -> None:
        service.restarts += 1
        delay = service.budget.next_delay(now)
        service.launch_due = now + delay.seconds
        if delay.exhausted:
            window = self.config.restart.budget_window
            state = SourceState.FAILED
            why = f"{delay.attempt - 1} restarts within {window:.0f} s; retrying every {delay.seconds:.0f} s"
            self.transition(service.set(state, f"{why} (last: {reason})", now))
        else:
            why = f"restart {delay.attempt} in {delay.seconds:.0f} s (after: {reason})"
            self.transition(service.set(SourceState.RESTARTING, why, now))

    # -- events and status -------------------------------------------------------------------

    def transition(self, transition: Transition | None) -> None:
        if transition is None:
            return
        level = logging.WARNING if transition.state_to in TROUBLE_STATES else logging.INFO
        log.log(
            level,
            "%s: %s → %s (%s)",
            transition.account,
            transition.state_from,
            transition.state_to,
            transition.reason,
            extra={"account": transition.account},
        )
        self.publisher.event(
            EngineEvent(
                ts=self.wall_clock(),
                account=transition.account,
                kind=EventKind.STATE,
                reason=transition.reason,
                state_from=transition.state_from,
                state_to=transition.state_to,
            )
        )

    def record(self, kind: EventKind, account: str, reason: str) -> None:
        log.info("%s: %s", account or "hub", reason, extra={"account": account})
        self.publisher.event(EngineEvent(ts=self.wall_clock(), account=account, kind=kind, reason=reason))

    def measure(self, now: float) -> None:
        """Tick rates and latency histograms, once per status document."""
        for source in self.sources.values():
            source.measures.update(self.stats(source), now)

    def status(self, now: float) -> StatusDocument:
        """The ``/api/gateways`` document (docs/api.md), also the source of ``/metrics``."""
        wall = self.wall_clock()
        services = [
            service_status(s, self.hub.source(s.account.encode()), now, wall) for s in self.services.values()
        ]
        # The first-arrival share is of ticks: the services' records are not the sources' race.
        forwarded = self.hub.stats.forwarded - sum(line.forwarded for line in services)
        lines = [
            source_status(s, self.stats(s), now, wall, forwarded, self.primary) for s in self.sources.values()
        ]
        return status_document(
            lines,
            self.hub.stats,
            len(self.hub.subscribed),
            self.config.mode,
            self.primary,
            wall,
            os.getpid(),
            self.started_at,
            speed=self.hub.speed.summary(self.hub.topics, self.hub.last_value),
            services=services,
            stream_clients=(
                [stream_client_status(row) for row in self.hub.access.clients()]
                if self.hub.access is not None
                else None
            ),
        )
