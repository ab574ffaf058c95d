"""``./dev run --nats``'s programs (devtools.devnats) under the real supervisor of ./dev run:
a local NATS server and the bridge from a running hub into it, wired by the env file the
cluster runner writes; kill -9 the supervisor and the bridge and nats-server go with it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.cluster import read_env_file
from bridge.status import read_status
from tests.jetstream_helpers import PROJECT, Hub, sim_exchange
from tests.zmq_helpers import free_port, wait_for

SUPERVISE = """
import sys
from pathlib import Path
from devtools.devnats import nats_programs
from devtools.supervise import Supervisor
run_dir, port = Path(sys.argv[1]), int(sys.argv[2])
sys.exit(0 if Supervisor(nats_programs(run_dir, local=True, port=port)).run() else 1)
"""


def answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not yet reaped by init) counts as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def pids_running(argument: str) -> list[int]:
    """The processes whose command line has ``argument`` (this test's own config path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argument.encode() in cmdline:
                found.append(int(entry.name))
    return found


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    sim, address = sim_exchange(tmp_path, contracts=4, rate=5.0)
    sim.start()
    process = Hub(tmp_path, "a", address, "sim-a")
    process.start()
    yield process
    process.stop()
    sim.stop()


def test_dev_run_nats_starts_a_server_and_the_bridge_and_both_die_with_it(tmp_path: Path, hub: Hub) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["MDHUB_BRIDGE_HUB"] = f"{hub.address.pub},{hub.address.snapshot},{hub.address.recovery}"
    for name in [n for n in env if n.startswith("MDHUB_NATS_")]:
        del env[name]  # the env file's settings, not the caller's
    log_path = tmp_path / "dev.log"
    with log_path.open("wb") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-c", SUPERVISE, str(run_dir), str(port)],
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_for(lambda: (read_status(run_dir / "bridge-dev.json") or {}).get("stored", 0) > 10, 30)
        except AssertionError:
            raise AssertionError(log_path.read_text(errors="replace")[-3000:]) from None
        settings = read_env_file(run_dir / "nats.env")
        assert settings["MDHUB_NATS_URL"] == f"nats://127.0.0.1:{port}"
        assert oct((run_dir / "nats.env").stat().st_mode & 0o777) == "0o600"  # passwords inside
        assert settings["MDHUB_NATS_PASSWORD"] not in log_path.read_text()  # never logged
        servers = pids_running(str(run_dir / "nats" / "n1.conf"))
        assert servers and answers(port)
        supervisor.send_signal(signal.SIGKILL)  # as a crash of ./dev run would
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
        supervisor.wait(5)

    def gone() -> bool:
        status = read_status(run_dir / "bridge-dev.json") or {}
        stale = time.time_ns() - status.get("updated_ns", 0) > 2e9
        return stale and not answers(port) and not any(pid_alive(p) for p in servers)

    wait_for(gone, 15)
