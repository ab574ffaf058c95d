"""Every step of the engine alone (as healthchecks tests ``sendalerts``' ``handle_one``):
a fixed clock, a real TickHub on ipc and real sim workers, no loop."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from engine.config import AccountConfig, EngineConfig
from engine.health import HealthConfig
from engine.loop import Engine
from engine.records import EngineEvent, FailoverChange, StatusDocument
from engine.restart_policy import RestartConfig
from engine.source import Source
from engine.states import Command, EventKind, FailoverMode, SourceState


class RecordingPublisher:
    """Keeps what the engine publishes, for the assertions."""

    def __init__(self) -> None:
        self.events: list[EngineEvent] = []
        self.failovers: list[FailoverChange] = []

    def state(self, document: StatusDocument) -> None:
        pass

    def event(self, event: EngineEvent) -> None:
        self.events.append(event)

    def failover(self, change: FailoverChange) -> None:
        self.failovers.append(change)

    def reasons(self, account: str) -> list[str]:
        return [e.reason for e in self.events if e.account == account]


def sim(account: str, priority: int = 1, enabled: bool = True) -> AccountConfig:
    return AccountConfig(account, "sim", {}, priority, canaries=[], enabled=enabled)


@pytest.fixture
def run_dir() -> Iterator[Path]:
    # A short path: an ipc:// address must fit a Unix socket name (107 bytes).
    path = Path(tempfile.mkdtemp(prefix="eng", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Clock:
    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


def make_engine(
    run_dir: Path, accounts: list[AccountConfig], **overrides: object
) -> tuple[Engine, RecordingPublisher]:
    config = EngineConfig(
        run_dir=run_dir,
        pub_addr=f"ipc://{run_dir}/pub.ipc",
        snapshot_addr=f"ipc://{run_dir}/snap.ipc",
        accounts=accounts,
        subscriptions=["rb2601.SHFE"],
        contracts=[],
        calendar=None,
        # No exchange runs: the sim workers log in and stay silent, which is all these need.
        sim_addr=f"ipc://{run_dir}/no-exchange.ipc",
        health=HealthConfig(heartbeat_timeout=3.0),
        restart=RestartConfig(cooldown=2.0, grace=1.0, backoff_first=1.0, budget=2, budget_window=600.0),
    )
    config = replace(config, **overrides)  # type: ignore[arg-type]
    publisher = RecordingPublisher()
    return Engine(config, publisher, clock=Clock(), wall_clock=lambda: 1_800_000_000.0), publisher


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for engine in made:
        for source in engine.sources.values():
            if source.pid:
                os.kill(source.pid, signal.SIGCONT)  # a stopped process cannot take SIGTERM
        engine.stop()


def wait_heartbeat(engine: Engine, source: Source, timeout: float = 20.0) -> float:
    """Poll the real hub until the source's own worker has reported; its arrival time."""
    deadline = time.monotonic() + timeout
    stats = engine.stats(source)
    while time.monotonic() < deadline:
        engine.hub.poll(50)
        if stats.last_status.get("pid") == source.pid and stats.last_status.get("logged_in"):
            return stats.last_status_mono
    raise AssertionError(f"no heartbeat from {source.id}")


def healthy(engine: Engine, source: Source) -> float:
    """Launched at the engine's clock, judged healthy on its first real heartbeat."""
    seen = wait_heartbeat(engine, source)
    engine.judge(source, seen + 0.1)
    assert source.health.state == SourceState.HEALTHY, source.health.reason
    return seen


def test_an_added_enabled_account_is_launched(run_dir: Path, engines: list[Engine]) -> None:
    engine, published = make_engine(run_dir, [])
    engines.append(engine)
    engine.accounts_changed([sim("sim-a")], "sim-a")
    engine.run_commands(engine.clock())
    source = engine.sources["sim-a"]
    assert source.pid is not None and source.health.state == SourceState.STARTING
    assert "account added" in published.reasons("sim-a")
    wait_heartbeat(engine, source)


def test_a_removed_account_is_stopped_and_forgotten(run_dir: Path, engines: list[Engine]) -> None:
    engine, published = make_engine(run_dir, [sim("sim-a")])
    engines.append(engine)
    engine.start()
    pid = engine.sources["sim-a"].pid
    engine.accounts_changed([], "sim-a")
    engine.run_commands(engine.clock())
    assert "sim-a" not in engine.sources
    assert pid in engine.manager.stopping
    assert published.reasons("sim-a")[-1] == "account deleted"


def test_a_disabled_account_stops_and_an_enabled_one_starts(run_dir: Path, engines: list[Engine]) -> None:
    engine, published = make_engine(run_dir, [sim("sim-a", enabled=False)])
    engines.append(engine)
    engine.start()
    source = engine.sources["sim-a"]
    assert source.pid is None and source.health.state == SourceState.STOPPED
    engine.accounts_changed([sim("sim-a")], "sim-a")
    engine.run_commands(engine.clock())
    assert source.pid is not None and "account enabled" in published.reasons("sim-a")
    engine.accounts_changed([sim("sim-a", enabled=False)], "sim-a")
    engine.run_commands(engine.clock())
    assert source.pid is None and source.health.state == SourceState.STOPPED
    assert source.health.reason == "account disabled"


def test_a_priority_change_re_ranks_without_a_restart(run_dir: Path, engines: list[Engine]) -> None:
    engine, published = make_engine(run_dir, [sim("sim-a", priority=1)])
    engines.append(engine)
    engine.start()
    pid = engine.sources["sim-a"].pid
    engine.accounts_changed([sim("sim-a", priority=5)], "sim-a")
    engine.run_commands(engine.clock())
    assert engine.sources["sim-a"].pid == pid
    assert engine.sources["sim-a"].config.priority == 5
    assert published.reasons("sim-a")[-1] == "priority 1 → 5"


def test_a_settings_change_restarts_the_worker_at_once(run_dir: Path, engines: list[Engine]) -> None:
    engine, published = make_engine(run_dir, [sim("sim-a")])
    engines.append(engine)
    engine.start()
    changed = replace(sim("sim-a"), settings={"latency_ms": 5})
    engine.accounts_changed([changed], "sim-a")
    engine.run_commands(engine.clock())
    source = engine.sources["sim-a"]
    assert source.health.state == SourceState.RESTARTING and source.launch_due == engine.clock()
    assert any(r.startswith("operator restart: SIGTERM to pid") for r in published.reasons("sim-a"))


def test_a_heartbeat_lapse_is_unhealthy_then_a_cool_down_then_a_restart_with_backoff(
    run_dir: Path, engines: list[Engine]
) -> None:
    engine, published = make_engine(run_dir, [sim("sim-a")])
    engines.append(engine)
    engine.start()
    source = engine.sources["sim-a"]
    first_pid = source.pid
    assert first_pid is not None
    seen = healthy(engine, source)
    os.kill(first_pid, signal.SIGSTOP)  # hung: no heartbeat any more

    lapse = seen + 3.5
    engine.judge(source, lapse)
    assert source.health.state == SourceState.UNHEALTHY and "no heartbeat" in source.health.reason
    assert source.stop_due == lapse + 2.0  # the cool-down

    engine.restart_due(source, lapse + 1.9)
    assert source.pid == first_pid  # still cooling down
    engine.restart_due(source, lapse + 2.0)
    assert source.pid is None and source.health.state == SourceState.RESTARTING
    assert source.health.reason.startswith("restart 1 in 1 s")
    assert any(e.kind == EventKind.RESTART for e in published.events)

    os.kill(first_pid, signal.SIGCONT)  # let the SIGTERM in
    deadline = time.monotonic() + 5
    while engine.manager.is_ending("sim-a") and time.monotonic() < deadline:
        engine.manager.step()
        time.sleep(0.05)
    engine.restart_due(source, lapse + 2.9)
    assert source.pid is None  # the backoff is not over
    engine.restart_due(source, lapse + 3.0)
    assert source.pid not in (None, first_pid) and source.health.state == SourceState.STARTING


def test_a_spent_budget_is_failed_and_retried_slowly(run_dir: Path, engines: list[Engine]) -> None:
    engine, _ = make_engine(run_dir, [sim("sim-a", enabled=False)])
    engines.append(engine)
    source = engine.sources["sim-a"]
    now = engine.clock()
    delays = []
    for attempt in range(3):
        engine.schedule_launch(source, now + attempt, "worker exited with code 1")
        assert source.launch_due is not None
        delays.append(source.launch_due - (now + attempt))
    assert delays == pytest.approx([1.0, 2.0, 300.0])  # doubling, then the failed-retry pace
    assert source.health.state == SourceState.FAILED
    assert source.health.reason.startswith("2 restarts within 600 s; retrying every 300 s")


def test_an_operator_stop_and_start_go_through_the_command_table(
    run_dir: Path, engines: list[Engine]
) -> None:
    engine, published = make_engine(run_dir, [sim("sim-a")])
    engines.append(engine)
    engine.start()
    engine.command(Command.STOP, "sim-a")
    engine.run_commands(engine.clock())
    source = engine.sources["sim-a"]
    assert source.pid is None and source.health.reason == "stopped by operator"
    engine.command(Command.START, "sim-a")
    engine.run_commands(engine.clock())
    # The stopped worker has not exited yet: the new one is launched once it has.
    assert source.launch_due == engine.clock() and engine.manager.is_ending("sim-a")
    assert published.reasons("sim-a")[-3:] == ["operator: stop", "stopped by operator", "operator: start"]
    deadline = time.monotonic() + 5
    while engine.manager.is_ending("sim-a") and time.monotonic() < deadline:
        engine.manager.step()
        time.sleep(0.05)
    engine.restart_due(source, engine.clock())
    assert source.pid is not None and source.health.state == SourceState.STARTING


def test_a_warm_standby_takes_over_when_the_active_source_lapses(
    run_dir: Path, engines: list[Engine]
) -> None:
    engine, published = make_engine(
        run_dir, [sim("sim-a", priority=1), sim("sim-b", priority=2)], mode=FailoverMode.WARM
    )
    engines.append(engine)
    engine.start()
    a, b = engine.sources["sim-a"], engine.sources["sim-b"]
    seen = max(healthy(engine, a), healthy(engine, b))
    engine.failover(seen + 0.1)
    assert (a.active, b.active, engine.primary) == (True, False, "sim-a")
    assert published.failovers[-1].reason == "sim-a is the best-priority healthy source"
    assert (
        published.reasons("sim-a")[-1] == "no primary yet → sim-a: sim-a is the best-priority healthy source"
    )

    assert a.pid is not None
    os.kill(a.pid, signal.SIGSTOP)
    a_last = engine.stats(a).last_status_mono
    deadline = time.monotonic() + 5
    while engine.stats(b).last_status_mono < a_last + 1.0 and time.monotonic() < deadline:
        engine.hub.poll(50)  # b keeps reporting, a does not
    lapse = a_last + 3.5
    engine.judge(a, lapse)
    engine.judge(b, lapse)
    engine.failover(lapse)
    assert (a.active, b.active, engine.primary) == (False, True, "sim-b")
    assert "warm standby takes the subscriptions" in published.reasons("sim-b")
    assert "back to standby" in published.reasons("sim-a")
    assert published.failovers[-1].reason.startswith("sim-a is unhealthy; sim-b is")


def test_a_stopped_source_shows_no_tick_rate(run_dir: Path, engines: list[Engine]) -> None:
    engine, _ = make_engine(run_dir, [sim("sim-a")])
    engines.append(engine)
    engine.start()
    source = engine.sources["sim-a"]
    source.measures.tick_rate = 42.0  # measured while it ran
    engine.stop_source(source, engine.clock(), "stopped by operator")
    (line,) = engine.status(engine.clock()).gateways
    assert line.tick_rate == 0.0 and line.state == SourceState.STOPPED
    assert engine.status(engine.clock()) == engine.status(engine.clock())  # building it changes nothing
