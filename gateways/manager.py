"""Starts and ends gateway worker processes. Never blocks: ``stop`` sends SIGTERM and
``step`` escalates to SIGKILL once the grace period is over and reaps what has exited.
No Django import."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("mdhub.manager")

PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass
class WorkerProcess:
    account: str
    proc: subprocess.Popen[bytes]
    started: float
    kill_at: float | None = None  # SIGKILL deadline once a stop was asked for
    stopping: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid


class ProcessManager:
    def __init__(self, python: str = sys.executable, grace: float = 5.0) -> None:
        self.python = python
        self.grace = grace
        self.workers: dict[str, WorkerProcess] = {}
        self.stopping: dict[int, WorkerProcess] = {}  # pid → a process being ended

    def start(self, spec: dict[str, Any]) -> int:
        account = spec["account"]
        if account in self.workers:
            raise RuntimeError(f"{account} already has a worker (pid {self.workers[account].pid})")
        Path(spec["workdir"]).mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = str(PROJECT_DIR) + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.Popen(
            [self.python, "-m", "gateways.worker"],
            stdin=subprocess.PIPE,
            cwd=spec["workdir"],
            env=env,
            # Its own process group: a Ctrl-C in the terminal reaches the hub, which then
            # ends the workers in order, instead of every process at once.
            start_new_session=True,
        )
        assert proc.stdin is not None
        # The spec carries the secrets: through a pipe, never argv or a file.
        proc.stdin.write(json.dumps(spec).encode())
        proc.stdin.close()
        self.workers[account] = WorkerProcess(account, proc, time.monotonic())
        log.info("%s: worker started (pid %d)", account, proc.pid)
        return proc.pid

    def stop(self, account: str, grace: float | None = None) -> int | None:
        """Ask the worker to end (SIGTERM); it is SIGKILLed after ``grace`` seconds."""
        worker = self.workers.pop(account, None)
        if worker is None:
            return None
        worker.stopping = True
        worker.kill_at = time.monotonic() + (self.grace if grace is None else grace)
        self._signal(worker, signal.SIGTERM)
        self.stopping[worker.pid] = worker
        return worker.pid

    def kill(self, account: str) -> int | None:
        """End a worker at once (SIGKILL): a hung process does not honour SIGTERM."""
        pid = self.stop(account, grace=0)
        self.step()
        return pid

    def _signal(self, worker: WorkerProcess, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, sig)

    def step(self) -> list[tuple[str, int]]:
        """Reap exited workers and escalate overdue stops; returns ``(account, exit code)``
        of workers that exited without being asked to."""
        now = time.monotonic()
        for pid, worker in list(self.stopping.items()):
            if worker.proc.poll() is not None:
                del self.stopping[pid]
                log.info("%s: worker %d ended (exit %s)", worker.account, pid, worker.proc.returncode)
            elif worker.kill_at is not None and now >= worker.kill_at:
                log.warning("%s: worker %d did not end on SIGTERM: SIGKILL", worker.account, pid)
                self._signal(worker, signal.SIGKILL)
                worker.kill_at = None
        exited = []
        for account, worker in list(self.workers.items()):
            code = worker.proc.poll()
            if code is not None:
                del self.workers[account]
                exited.append((account, code))
        return exited

    def is_ending(self, account: str) -> bool:
        """Whether a stopped worker of ``account`` has not exited yet (its successor waits:
        two vn.py instances must not share one flow directory)."""
        return any(w.account == account for w in self.stopping.values())

    def pid(self, account: str) -> int | None:
        worker = self.workers.get(account)
        return worker.pid if worker else None

    def stop_all(self, timeout: float = 8.0) -> None:
        for account in list(self.workers):
            self.stop(account)
        deadline = time.monotonic() + timeout
        while self.stopping and time.monotonic() < deadline:
            self.step()
            time.sleep(0.05)
        for worker in list(self.stopping.values()):
            self._signal(worker, signal.SIGKILL)
            worker.proc.wait(timeout=2)
        self.stopping.clear()
