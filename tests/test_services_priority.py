"""A service process runs below the hub (a service may lag, a tick may not) and says how far
behind it is: the real runner against a real ``TickHub`` on real ZeroMQ sockets."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgpack
import pytest

from aggregation.wire import tick_frame
from tests.hub_helpers import RunningHub
from tests.hub_process import PROJECT
from tests.zmq_helpers import tick_frames, wait_for


class Hub(RunningHub):
    """The hub with one worker's PUSH, for ticks a service process then reads."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.ingest = self.push()

    def send_tick(self, vt_symbol: str, volume: float, recv_ns: int) -> None:
        topic, key, body = tick_frames(vt_symbol, time.time_ns(), volume)
        fields = msgpack.unpackb(body)
        fields["recv_ns"] = recv_ns  # when the worker got it: the service's lag counts from here
        self.ingest.send(tick_frame(b"sim-a", topic, key, msgpack.packb(fields)))


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    running = Hub(tmp_path)
    yield running
    running.close()


def start_service(hub: Hub, tmp_path: Path, *flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.runner",
            "--calendar=sim",
            f"--pub={hub.pub_addr}",
            f"--snapshot={hub.snap_addr}",
            f"--ingest={hub.ingest_addr}",
            *flags,
        ],
        cwd=PROJECT,
        env={k: v for k, v in os.environ.items() if k != "MDHUB_SERVICES_PRIORITY"},
        stdout=(tmp_path / "service.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def services() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.terminate()
        proc.wait(10)


def thread_ids(pid: int) -> list[int]:
    return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]


@pytest.mark.parametrize(
    ("flag", "policy", "nice"),
    [
        ("--priority=idle", os.SCHED_IDLE, 19),
        ("--priority=nice", os.SCHED_OTHER, 19),
        ("--priority=normal", os.SCHED_OTHER, os.getpriority(os.PRIO_PROCESS, 0)),
    ],
)
def test_the_greeks_service_and_every_thread_it_starts_run_at_the_priority_asked(
    hub: Hub, tmp_path: Path, services: list[subprocess.Popen[bytes]], flag: str, policy: int, nice: int
) -> None:
    # The Greeks service: its ZeroMQ I/O threads and numpy's are started after the runner
    # lowers its priority, so they must have inherited it (the default is idle).
    args = ["--service=greeks"] if flag == "--priority=idle" else ["--service=greeks", flag]
    proc = start_service(hub, tmp_path, *args)
    services.append(proc)
    status = wait_for(lambda: hub.status_of("svc-greeks"), timeout=30)
    assert status["pid"] == proc.pid
    tids = thread_ids(proc.pid)
    assert len(tids) >= 2, "no ZeroMQ I/O thread: the check below would only see the main thread"
    assert {tid: os.sched_getscheduler(tid) for tid in tids} == dict.fromkeys(tids, policy)
    assert {tid: os.getpriority(os.PRIO_PROCESS, tid) for tid in tids} == dict.fromkeys(tids, nice)


def test_a_service_reads_in_batches_and_its_status_says_how_far_behind_it_is(
    hub: Hub, tmp_path: Path, services: list[subprocess.Popen[bytes]]
) -> None:
    proc = start_service(hub, tmp_path, "--service=bars", "--intervals=5s", "--cadence-ms=200")
    services.append(proc)
    wait_for(lambda: hub.status_of("svc-bars").get("connected"), timeout=30)
    # Ticks that reached their worker 3 s ago: the service handles them 3 s after that.
    stale = time.time_ns() - 3_000_000_000
    for n in range(400):
        hub.send_tick("rb2705.SHFE", 1000.0 + n, stale)
        time.sleep(0.001)  # a 200 ms cadence takes these ~0.4 s in a few batches, not 400 wakes
    status = wait_for(lambda: (s := hub.status_of("svc-bars")).get("ticks", 0) >= 400 and s, timeout=15)
    assert status["lag_max_ms"] >= 3000, status
    assert 1 <= status["batches"] <= 20, status
    assert status["missed"] == 0 and status["dropped"] == 0, status

    # Fresh ticks: the lag reported falls back once the service is up to date.
    for n in range(50):
        hub.send_tick("rb2705.SHFE", 2000.0 + n, time.time_ns())
    status = wait_for(
        lambda: (s := hub.status_of("svc-bars"))["ticks"] >= 450 and s["lag_max_ms"] < 1000 and s
    )
    assert status["lag_ms"] < 1000, status


def test_a_service_reads_only_the_topics_it_is_given_by_flag_or_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Fewer topics, fewer ticks for the hub to send it: the Greeks service of an IO desk.
    from services.runner import build_service, parser

    flagged = build_service(parser().parse_args(["--service=greeks", "--calendar=sim", "--topics=IO, IF"]))
    assert flagged.topics() == ["IO", "IF"]
    monkeypatch.setenv("MDHUB_BARS_TOPICS", "rb,hc")
    assert build_service(parser().parse_args(["--service=bars", "--calendar=sim"])).topics() == ["rb", "hc"]
    monkeypatch.delenv("MDHUB_BARS_TOPICS")
    assert build_service(parser().parse_args(["--service=bars", "--calendar=sim"])).topics() == ["tick."]


def test_runhub_passes_the_priority_cadence_and_topics_to_its_services() -> None:
    from django.test import override_settings

    from mdhub_project.engine_config import service_args

    assert {"--priority=idle", "--cadence-ms=20"} <= set(service_args("bars"))
    assert not any(a.startswith("--topics") for a in service_args("greeks"))
    with override_settings(MDHUB_GREEKS_TOPICS="IO,IF", MDHUB_SERVICES_PRIORITY="nice"):
        assert {"--topics=IO,IF", "--priority=nice"} <= set(service_args("greeks"))


@pytest.mark.parametrize(
    ("name", "value"), [("MDHUB_SERVICES_PRIORITY", "low"), ("MDHUB_SERVICES_CADENCE_MS", -1.0)]
)
def test_a_bad_service_priority_or_cadence_is_a_system_check_error(name: str, value: object) -> None:
    from django.test import override_settings

    from mdhub_project import checks

    with override_settings(**{name: value}):
        errors = checks.check_services()
    assert [e.id for e in errors] == ["mdhub.E010"] and name in errors[0].msg


def test_a_bad_priority_in_the_environment_stops_the_runner_with_a_message(tmp_path: Path) -> None:
    env = {**os.environ, "MDHUB_SERVICES_PRIORITY": "low"}
    done = subprocess.run(
        [sys.executable, "-m", "services.runner", "--service=bars", "--calendar=sim"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "unknown service priority 'low'" in done.stderr
