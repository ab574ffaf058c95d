"""The data services supervised by the hub like workers (issue 16): launched with the hub,
judged by heartbeat, restarted with backoff and a budget, kept out of the sources; a
service crash never touches the tick stream. Real processes, a real TickHub, real sockets."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
from django.test import override_settings

from engine.config import EngineConfig
from engine.health import HealthConfig
from engine.loop import Engine
from engine.records import EngineEvent, FailoverChange, StatusDocument
from engine.restart_policy import RestartConfig
from engine.services import ServiceConfig, ServiceObservation, SupervisedService, service_verdict
from engine.states import EventKind, SourceState
from gateways.pidfiles import cmdline_of, is_running
from mdhub_project import checks
from mdhub_project.engine_config import services_config
from tests.hub_process import HubProcess
from tests.zmq_helpers import wait_for

# -- the verdict alone ------------------------------------------------------------------------

CONFIG = HealthConfig(heartbeat_timeout=3.0, first_heartbeat_timeout=20.0, login_timeout=30.0)


@pytest.mark.parametrize(
    ("obs", "state", "reason"),
    [
        (ServiceObservation(5.0, None, False), SourceState.STARTING, "waiting for its first status"),
        (ServiceObservation(21.0, None, False), SourceState.UNHEALTHY, "no heartbeat 21 s after launch"),
        (ServiceObservation(9.0, 0.5, True), SourceState.HEALTHY, "heartbeat and stream flowing"),
        (ServiceObservation(9.0, 3.5, True), SourceState.UNHEALTHY, "no heartbeat for 3.5 s"),
        (ServiceObservation(9.0, 0.5, False), SourceState.STARTING, "waiting for the hub's stream"),
        (ServiceObservation(31.0, 0.5, False), SourceState.UNHEALTHY, "not reading the hub's stream"),
    ],
)
def test_a_service_is_judged_by_its_heartbeat_and_its_stream(
    obs: ServiceObservation, state: SourceState, reason: str
) -> None:
    got, why = service_verdict(obs, CONFIG)
    assert got == state and reason in why


# -- the engine's steps, a fixed clock, a real service process --------------------------------


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[EngineEvent] = []
        self.failovers: list[FailoverChange] = []

    def state(self, document: StatusDocument) -> None:
        pass

    def event(self, event: EngineEvent) -> None:
        self.events.append(event)

    def failover(self, change: FailoverChange) -> None:
        self.failovers.append(change)


class Clock:
    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine() -> Iterator[tuple[Engine, RecordingPublisher]]:
    # A short path: an ipc:// address must fit a Unix socket name (107 bytes).
    run_dir = Path(tempfile.mkdtemp(prefix="svc", dir="/tmp"))
    config = EngineConfig(
        run_dir=run_dir,
        pub_addr=f"ipc://{run_dir}/pub.ipc",
        snapshot_addr=f"ipc://{run_dir}/snap.ipc",
        accounts=[],
        subscriptions=[],
        contracts=[],
        calendar=None,
        health=HealthConfig(heartbeat_timeout=3.0),
        restart=RestartConfig(cooldown=2.0, grace=1.0, backoff_first=1.0, budget=2, budget_window=600.0),
        services=[ServiceConfig("bars", ("--intervals=5s",))],
    )
    publisher = RecordingPublisher()
    made = Engine(config, publisher, clock=Clock(), wall_clock=lambda: 1_800_000_000.0)
    yield made, publisher
    made.stop()
    shutil.rmtree(run_dir, ignore_errors=True)


def wait_service_heartbeat(engine: Engine, service: SupervisedService, timeout: float = 30.0) -> float:
    """Poll the real hub until this very process has reported; its arrival time."""
    deadline = time.monotonic() + timeout
    stats = engine.hub.source(service.account.encode())
    while time.monotonic() < deadline:
        engine.hub.poll(50)
        if stats.last_status.get("pid") == service.pid and stats.last_status.get("connected"):
            return stats.last_status_mono
    raise AssertionError(f"no heartbeat from {service.account} (pid {service.pid})")


def state_of(service: SupervisedService) -> SourceState:
    return service.state  # read afresh each time (the engine's steps change it)


def reaped(engine: Engine, now: float, done: Callable[[], bool]) -> Callable[[], bool]:
    """A ``wait_for`` predicate: reap what exited (at the fixed ``now``), then ask ``done``."""

    def check() -> bool:
        engine.reap(now)
        return done()

    return check


def wait_ended(engine: Engine, account: str, now: float) -> None:
    wait_for(reaped(engine, now, lambda: not engine.manager.is_ending(account)), timeout=10)


def test_a_service_is_launched_judged_restarted_with_backoff_and_fails_when_its_budget_is_spent(
    engine: tuple[Engine, RecordingPublisher],
) -> None:
    hub, published = engine
    hub.start()
    service = hub.services["svc-bars"]
    assert state_of(service) == SourceState.STARTING and service.pid
    first_pid = service.pid
    # The pid file names the real program: child_exec armed the parent-death signal and
    # exec'd it in the same process.
    record = hub.config.run_dir / "pids" / "program-svc-bars.pid"
    assert record.exists()
    wait_for(lambda: (cmdline_of(first_pid) or [""])[1:3] == ["-m", "services.runner"], timeout=10)

    seen = wait_service_heartbeat(hub, service)
    hub.judge_service(service, seen + 0.1)
    assert state_of(service) == SourceState.HEALTHY, service.reason

    # It is not a source: no line in gateways, no failover, no primary; a line of its own.
    document = hub.status(seen + 0.1)
    assert document.gateways == [] and document.primary is None and not published.failovers
    (line,) = document.services
    assert (line.id, line.service, line.state, line.pid) == (
        "svc-bars",
        "bars",
        SourceState.HEALTHY,
        first_pid,
    )
    assert line.last_heartbeat_age is not None
    assert document.as_dict()["services"][0]["state"] == "healthy"

    # A heartbeat lapse (the fixed clock runs ahead): unhealthy, a cool-down, SIGTERM.
    lapse = seen + 3.5
    hub.judge_service(service, lapse)
    assert state_of(service) == SourceState.UNHEALTHY and "no heartbeat" in service.reason
    hub.service_restart_due(service, lapse + 1.0)
    assert service.running  # still in its cool-down
    hub.service_restart_due(service, lapse + 2.0)
    assert not service.running and state_of(service) == SourceState.RESTARTING
    assert "restart 1 in 1 s" in service.reason
    assert any(e.kind == EventKind.RESTART and "SIGTERM" in e.reason for e in published.events)
    wait_ended(hub, "svc-bars", lapse + 2.5)
    hub.service_restart_due(service, lapse + 2.5)
    assert not service.running  # the backoff is not over
    hub.service_restart_due(service, lapse + 3.0)
    second_pid = service.pid
    assert state_of(service) == SourceState.STARTING and second_pid and second_pid != first_pid

    # kill -9: reaped, restarted after a longer backoff (2 s).
    os.kill(second_pid, signal.SIGKILL)
    crash = lapse + 4.0
    wait_for(reaped(hub, crash, lambda: not service.running), timeout=10)
    assert state_of(service) == SourceState.RESTARTING and "restart 2 in 2 s" in service.reason
    assert "service exited with code -9" in service.reason
    hub.service_restart_due(service, crash + 2.0)
    third_pid = service.pid
    assert third_pid and third_pid not in (first_pid, second_pid)

    # A third crash within the window spends the budget (2): failed, retried slowly.
    os.kill(third_pid, signal.SIGKILL)
    wait_for(reaped(hub, crash + 3.0, lambda: not service.running), timeout=10)
    assert state_of(service) == SourceState.FAILED and "2 restarts within 600 s" in service.reason
    assert service.launch_due == pytest.approx(crash + 3.0 + hub.config.restart.failed_retry)
    states = [(e.state_from, e.state_to) for e in published.events if e.account == "svc-bars"]
    assert (SourceState.UNHEALTHY, SourceState.FAILED) in states
    assert all(e.account == "svc-bars" for e in published.events)
    assert not is_running(third_pid)


# -- settings: what runhub passes, and the system checks --------------------------------------


def ids(errors: list[Any]) -> list[str]:
    return [e.id for e in errors]


def test_default_services_run_the_bar_service_with_its_settings() -> None:
    (bars,) = services_config()
    assert bars.name == "bars" and bars.account == "svc-bars"
    assert "--intervals=1m,5m,15m,30m,1h,d" in bars.args and "--flat" in bars.args
    assert checks.check_services() == []
    with override_settings(MDHUB_SERVICES=["bars", "greeks", "bars"], MDHUB_OPTION_CONTRACTS="x.json"):
        assert [s.name for s in services_config()] == ["bars", "greeks"]
        assert "--contracts=x.json" in services_config()[1].args
        assert checks.check_services() == []
    with override_settings(MDHUB_SERVICES=[]):
        assert services_config() == [] and checks.check_services() == []


def test_an_unknown_service_name_is_a_system_check_error() -> None:
    with override_settings(MDHUB_SERVICES=["bars", "vwap"]):
        errors = checks.check_services()
    assert ids(errors) == ["mdhub.E007"] and "vwap" in errors[0].msg and "greeks" in str(errors[0].hint)


@pytest.mark.parametrize("intervals", [["1m", "7x"], ["0s"], []])
def test_bad_bar_intervals_are_a_system_check_error(intervals: list[str]) -> None:
    with override_settings(MDHUB_BARS_INTERVALS=intervals):
        errors = checks.check_services()
    assert ids(errors) == ["mdhub.E008"]


@pytest.mark.parametrize("name", ["MDHUB_GREEKS_THROTTLE_MS", "MDHUB_BARS_GRACE_MS"])
def test_a_negative_throttle_or_grace_is_a_system_check_error(name: str) -> None:
    with override_settings(**{name: -5.0}):
        errors = checks.check_services()
    assert ids(errors) == ["mdhub.E009"] and name in errors[0].msg


# -- end to end: kill -9 the bar service under a running hub ----------------------------------


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    process = HubProcess(
        tmp_path,
        MDHUB_SIM_RATE="5",
        MDHUB_BARS_INTERVALS="5s",
        MDHUB_BARS_GRACE_MS="300",
        MDHUB_SERVICES="bars",
    )
    process.manage("migrate", "--noinput")
    process.manage("seed_demo")
    yield process
    if process.proc is not None:
        process.stop()


def service_line(hub: HubProcess) -> dict[str, Any]:
    """The bar service's line in a state document written by this very hub (an earlier
    hub's last document may linger in Redis for its TTL)."""
    state = hub.state()
    if hub.proc is None or state.get("hub", {}).get("pid") != hub.proc.pid:
        return {}
    for line in state.get("services", []):
        if line["id"] == "svc-bars":
            return dict(line)
    return {}


def test_killing_the_bar_service_leaves_the_tick_stream_whole_and_the_hub_brings_it_back(
    hub: HubProcess, zmq_ctx: zmq.Context[Any]
) -> None:
    ticks = zmq_ctx.socket(zmq.SUB)
    ticks.setsockopt(zmq.RCVHWM, 0)  # the test reader must not drop what the hub sent
    ticks.setsockopt(zmq.SUBSCRIBE, b"tick.")
    ticks.connect(hub.pub_addr)
    bars = zmq_ctx.socket(zmq.SUB)
    bars.setsockopt(zmq.SUBSCRIBE, b"bar.5s.")
    bars.connect(hub.pub_addr)
    hub.start()
    last_seq: dict[bytes, int] = {}
    gaps: list[tuple[bytes, int, int]] = []
    bar_sources: list[tuple[str, float]] = []

    def drain(seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            if ticks.poll(50):
                while True:
                    try:
                        topic, payload = ticks.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    seq = msgpack.unpackb(payload)["seq"]
                    before = last_seq.get(topic)
                    if before is not None and seq != before + 1:
                        gaps.append((topic, before, seq))
                    last_seq[topic] = seq
            while bars.poll(0):
                _, payload = bars.recv_multipart()
                bar_sources.append((msgpack.unpackb(payload)["source"], time.monotonic()))

    def healthy_service() -> dict[str, Any]:
        drain(0.2)
        line = service_line(hub)
        return line if line.get("state") == "healthy" and line.get("pid") else {}

    first = wait_for(healthy_service, timeout=60)
    state = hub.state()
    assert "svc-bars" not in {g["id"] for g in state["gateways"]}
    assert state["primary"] != "svc-bars"

    def bars_came() -> bool:
        drain(0.2)
        return bool(bar_sources)

    wait_for(bars_came, timeout=30)  # its bars reach a client
    drain(2.0)
    assert len(last_seq) >= 3, f"ticks of {len(last_seq)} topics\n{hub.log()[-3000:]}"
    ticks_before = sum(last_seq.values())

    # The hub's own record of its child names the same process as the status document.
    record = json.loads((hub.run_dir / "pids" / "program-svc-bars.pid").read_text())
    assert record["pid"] == first["pid"] and is_running(first["pid"]), (
        f"{record} {first}\n{hub.log()[-3000:]}"
    )
    os.kill(first["pid"], signal.SIGKILL)
    killed_at = time.monotonic()

    def replaced() -> dict[str, Any]:
        line = healthy_service()
        return line if line and line["pid"] != first["pid"] else {}

    second = wait_for(replaced, timeout=60)
    assert second["restarts"] >= 1
    drain(6.0)  # a 5 s bar of the new process closes
    assert not gaps, f"seq gaps in the tick stream across the service's crash: {gaps[:5]}"
    assert sum(last_seq.values()) > ticks_before + 50  # ticks kept flowing meanwhile
    assert any(source == "svc-bars" and at > killed_at for source, at in bar_sources)
    assert all(g["state"] == "healthy" for g in hub.state()["gateways"])
    log = hub.log()
    assert "svc-bars" in log and "service exited with code -9" in log
