"""Run the real hub (``manage.py runhub``) as a child process for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.zmq_helpers import free_port

PROJECT = Path(__file__).resolve().parent.parent


class HubProcess:
    """A private database, run directory and ports; ``manage`` runs any command there."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.run_dir = tmp_path / "run"
        self.pub_port, self.snap_port = free_port(), free_port()
        self.pub_addr = f"tcp://127.0.0.1:{self.pub_port}"
        self.snap_addr = f"tcp://127.0.0.1:{self.snap_port}"
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=f"sqlite:///{tmp_path}/hub.sqlite3",
            MDHUB_RUN_DIR=str(self.run_dir),
            MDHUB_PUB_ADDR=f"tcp://127.0.0.1:{self.pub_port}",
            MDHUB_SNAPSHOT_ADDR=f"tcp://127.0.0.1:{self.snap_port}",
            PYTHONUNBUFFERED="1",
            **env,
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = tmp_path / "runhub.log"

    @property
    def sim_addr(self) -> str:
        return f"ipc://{self.run_dir / 'sim.ipc'}"

    @property
    def sim_control_addr(self) -> str:
        return f"ipc://{self.run_dir / 'simctl.ipc'}"

    def manage(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
            **kwargs,
        )

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "runhub"],
            cwd=PROJECT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
