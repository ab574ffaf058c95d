"""Run the real hub (``manage.py runhub``) as a child process for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis

from tests.zmq_helpers import free_port

PROJECT = Path(__file__).resolve().parent.parent
# The hub under test keeps its state and commands in a Redis database of its own.
HUB_REDIS_DB = 13
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


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
            MDHUB_RECOVERY_ADDR=f"tcp://127.0.0.1:{free_port()}",
            # Not the fixed default 5558: two hubs of one run (or two runs) would clash.
            MDHUB_CONFLATE_ADDR=f"tcp://127.0.0.1:{free_port()}",
            REDIS_URL=redis_url_with_db(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL), HUB_REDIS_DB),
            PYTHONUNBUFFERED="1",
        )
        self.env.update(env)  # the caller's settings win, REDIS_URL included
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = tmp_path / "runhub.log"
        self.db_path = tmp_path / "hub.sqlite3"
        self.redis = redis.Redis.from_url(self.env["REDIS_URL"], socket_timeout=2)
        self.redis.flushdb()

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

    # -- what the running hub says about itself ---------------------------------------------

    def state(self) -> dict[str, Any]:
        raw = self.redis.get("mdhub:state")
        return json.loads(raw) if raw else {}

    def gateway(self, account: str) -> dict[str, Any]:
        for gateway in self.state().get("gateways", []):
            if gateway["id"] == account:
                return dict(gateway)
        return {}

    def wait_state(self, account: str, states: set[str], timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        gateway: dict[str, Any] = {}
        while time.monotonic() < deadline:
            gateway = self.gateway(account)
            if gateway.get("state") in states:
                return gateway
            time.sleep(0.1)
        raise AssertionError(f"{account} not in {states} after {timeout} s: {gateway}\n{self.log()[-4000:]}")

    def events(self, account: str | None = None) -> list[dict[str, Any]]:
        with sqlite3.connect(self.db_path) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM monitoring_event ORDER BY id").fetchall()
        events = [dict(r) for r in rows]
        return [e for e in events if account is None or e["account"] == account]

    def sql(self, statement: str, *args: Any) -> None:
        with sqlite3.connect(self.db_path) as db:
            db.execute(statement, args)


def redis_url_with_db(url: str, db: int) -> str:
    """``url`` with its database number replaced by ``db``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))
