"""The hub owns its children (issue 10): nothing outlives a ``kill -9`` of ``runhub``, and a
new hub ends what an earlier one left running before it binds its sockets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateways.manager import ProcessManager
from gateways.pidfiles import PidFiles, is_running
from tests.hub_process import HubProcess
from tests.zmq_helpers import wait_for

SOURCES = ("sim-a", "sim-b", "sim-c")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path, MDHUB_SIM_RATE="4")
    process.manage("migrate", "--noinput")
    process.manage("seed_demo")
    yield process
    if process.proc is not None:
        process.stop()


def child_pids(hub: HubProcess) -> dict[str, int]:
    """The hub's children as its pid files name them."""
    pids = {}
    for path in (hub.run_dir / "pids").glob("*.pid"):
        pids[path.stem] = int(json.loads(path.read_text())["pid"])
    return pids


def wait_logged_in_under(hub: HubProcess, hub_pid: int) -> dict[str, dict[str, Any]]:
    """Every source's worker running and logged in, in a state document written by the hub
    with ``hub_pid`` (a dead hub's last document lingers in Redis for its TTL)."""

    def gateways() -> dict[str, dict[str, Any]]:
        state = hub.state()
        if state.get("hub", {}).get("pid") != hub_pid:
            return {}
        return {g["id"]: g for g in state["gateways"] if g["pid"] and g["logged_in"]}

    wait_for(lambda: set(gateways()) == set(SOURCES), timeout=30)
    return gateways()


def test_no_child_survives_a_kill_9_of_the_hub_and_a_new_hub_starts_clean(hub: HubProcess) -> None:
    hub.start()
    assert hub.proc is not None
    first = wait_logged_in_under(hub, hub.proc.pid)
    pids = child_pids(hub)
    # The bar service (MDHUB_SERVICES' default) is a child too: it must die with the hub as well.
    assert set(pids) == {"simexchange", "program-svc-bars", *(f"worker-{a}" for a in SOURCES)}, pids
    assert {pids[f"worker-{a}"] for a in SOURCES} == {first[a]["pid"] for a in SOURCES}

    hub.proc.send_signal(signal.SIGKILL)
    hub.proc.wait()
    killed_at = time.monotonic()
    while any(is_running(pid) for pid in pids.values()) and time.monotonic() - killed_at < 2.0:
        time.sleep(0.02)
    survivors = {name: pid for name, pid in pids.items() if is_running(pid)}
    assert not survivors, f"still running 2 s after the hub's kill -9: {survivors}"

    hub.start()
    again = wait_logged_in_under(hub, hub.proc.pid)
    assert all(again[a]["pid"] != first[a]["pid"] for a in SOURCES)
    assert "left over from an earlier hub" not in hub.log()  # nothing was left to end


def sim_worker_spec(run_dir: Path, account: str) -> dict[str, Any]:
    return {
        "account": account,
        "gateway_type": "sim",
        "settings": {},
        "ingest": f"ipc://{run_dir / 'ingest.ipc'}",
        "control": f"ipc://{run_dir / 'control.ipc'}",
        "sim_addr": f"ipc://{run_dir / 'sim.ipc'}",
        "workdir": str(run_dir / "flows" / account),
        "subscriptions": ["*"],
        "contracts": [],
        "calendar": None,
    }


def test_a_new_hub_ends_the_children_an_earlier_hub_left_running(hub: HubProcess) -> None:
    # Children of a "hub" that cannot die: this test process, with the hub's run directory.
    # The parent-death signal never fires for them; only the pid files can find them.
    earlier = ProcessManager(pid_dir=hub.run_dir / "pids")
    earlier.start_exchange(
        f"ipc://{hub.run_dir / 'sim.ipc'}", f"ipc://{hub.run_dir / 'simctl.ipc'}", contracts=13, rate=4
    )
    for account in SOURCES:
        earlier.start(sim_worker_spec(hub.run_dir, account))
    leftovers = [earlier.exchange, *earlier.workers.values()]
    assert len(child_pids(hub)) == 4
    try:
        hub.start()
        assert hub.proc is not None
        wait_for(lambda: all(c is not None and c.proc.poll() is not None for c in leftovers), timeout=30)
        assert all(c is not None and c.proc.returncode == -signal.SIGKILL for c in leftovers)
        assert hub.log().count("left over from an earlier hub") == 4
        state = wait_logged_in_under(hub, hub.proc.pid)
        old_pids = {c.pid for c in leftovers if c is not None}
        assert not old_pids & {state[a]["pid"] for a in SOURCES}
    finally:
        for child in leftovers:
            if child is not None and child.proc.poll() is None:
                child.proc.kill()
                child.proc.wait()


def test_a_pid_file_whose_pid_now_runs_another_program_is_left_alone(tmp_path: Path) -> None:
    pidfiles = PidFiles(tmp_path / "pids")
    stranger = subprocess.Popen(["sleep", "30"])
    mine = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        # The kernel gave a dead worker's pid to `sleep`: the recorded command line differs.
        pidfiles.write("worker-sim-a", stranger.pid, [sys.executable, "-m", "gateways.worker", "/x"])
        pidfiles.write("worker-sim-b", mine.pid, [sys.executable, "-c", "import time; time.sleep(30)"])
        ended = pidfiles.end_leftovers()
        assert [(x.name, x.pid) for x in ended] == [("worker-sim-b", mine.pid)]
        assert mine.wait(timeout=3) == -signal.SIGKILL
        assert stranger.poll() is None
        assert not list((tmp_path / "pids").iterdir())  # both files dealt with
    finally:
        for proc in (stranger, mine):
            proc.kill()
            proc.wait()


def test_a_worker_whose_hub_falls_silent_ends_itself(tmp_path: Path) -> None:
    manager = ProcessManager(pid_dir=tmp_path / "pids")
    spec = {**sim_worker_spec(tmp_path, "sim-a"), "hub_silence_timeout": 1.0}
    pid = manager.start(spec)
    started = time.monotonic()
    worker = manager.workers["sim-a"]
    try:
        assert worker.proc.wait(timeout=10) == 0
        assert 1.0 <= time.monotonic() - started < 5.0
        assert manager.step() == [("sim-a", 0)]
        assert not (tmp_path / "pids" / "worker-sim-a.pid").exists()
    finally:
        if worker.proc.poll() is None:
            os.kill(pid, signal.SIGKILL)
