"""Starts and ends the hub's child processes: one gateway worker per account and the
simulated exchange. Never blocks: ``stop`` sends SIGTERM and ``step`` escalates to SIGKILL
once the grace period is over and reaps what has exited. No Django import.

Every child is spawned from the thread that calls ``start`` (the hub's main thread) and
arms the kernel's parent-death signal at its own start (``gateways.parent_death``), so it
dies with the hub however the hub dies. With a ``pid_dir`` each child also has a pid file
(``gateways.pidfiles``), so the next hub can end what a hub it replaced left behind.
"""

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

from gateways.pidfiles import Leftover, PidFiles

log = logging.getLogger("mdhub.manager")

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXCHANGE = "simexchange"


@dataclass
class ChildProcess:
    name: str  # the pid file's name: ``worker-<account>``, ``program-<account>``, ``simexchange``
    account: str  # "" for the simulated exchange
    proc: subprocess.Popen[bytes]
    started: float
    kill_at: float | None = None  # SIGKILL deadline once a stop was asked for

    @property
    def pid(self) -> int:
        return self.proc.pid


class ProcessManager:
    def __init__(self, python: str = sys.executable, grace: float = 5.0, pid_dir: Path | None = None) -> None:
        self.python = python
        self.grace = grace
        self.pidfiles = PidFiles(pid_dir) if pid_dir is not None else None
        self.workers: dict[str, ChildProcess] = {}
        self.stopping: dict[int, ChildProcess] = {}  # pid → a process being ended
        self.exchange: ChildProcess | None = None

    def end_leftovers(self) -> list[Leftover]:
        """End the children an earlier hub on this run directory left running (call it
        before binding sockets: a leftover worker would push into the new hub's ingest)."""
        return self.pidfiles.end_leftovers() if self.pidfiles is not None else []

    def _spawn(
        self, name: str, argv: list[str], prefix: list[str] | None = None, **popen: Any
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` (after ``prefix``, a program that ``exec``s it: the pid file
        records ``argv``, the command line the process has once it runs)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = str(PROJECT_DIR) + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.Popen(
            [*(prefix or []), *argv],
            env=env,
            # Its own process group: a Ctrl-C in the terminal reaches the hub, which then
            # ends its children in order, instead of every process at once.
            start_new_session=True,
            **popen,
        )
        if self.pidfiles is not None:
            self.pidfiles.write(name, proc.pid, argv)
        return proc

    def _forget(self, child: ChildProcess) -> None:
        if self.pidfiles is not None:
            self.pidfiles.remove(child.name)

    # -- workers -----------------------------------------------------------------------

    def start(self, spec: dict[str, Any]) -> int:
        account = spec["account"]
        if account in self.workers:
            raise RuntimeError(f"{account} already has a worker (pid {self.workers[account].pid})")
        Path(spec["workdir"]).mkdir(parents=True, exist_ok=True)
        spec = {**spec, "parent_pid": os.getpid()}
        # The work directory on the command line says whose worker it is (``ps``, and the
        # next hub's pid-file check); the spec itself, secrets included, goes through a pipe.
        argv = [self.python, "-m", "gateways.worker", str(spec["workdir"])]
        proc = self._spawn(f"worker-{account}", argv, stdin=subprocess.PIPE, cwd=spec["workdir"])
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(spec).encode())
        proc.stdin.close()
        self.workers[account] = ChildProcess(f"worker-{account}", account, proc, time.monotonic())
        log.info("%s: worker started (pid %d)", account, proc.pid)
        return proc.pid

    def stop(self, account: str, grace: float | None = None) -> int | None:
        """Ask the worker to end (SIGTERM); it is SIGKILLed after ``grace`` seconds."""
        worker = self.workers.pop(account, None)
        if worker is None:
            return None
        self._end(worker, grace)
        return worker.pid

    def _end(self, child: ChildProcess, grace: float | None = None) -> None:
        child.kill_at = time.monotonic() + (self.grace if grace is None else grace)
        self._signal(child, signal.SIGTERM)
        self.stopping[child.pid] = child

    def _signal(self, child: ChildProcess, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, sig)

    def step(self) -> list[tuple[str, int]]:
        """Reap exited children and escalate overdue stops; returns ``(account, exit code)``
        of workers that exited without being asked to."""
        now = time.monotonic()
        for pid, child in list(self.stopping.items()):
            if child.proc.poll() is not None:
                del self.stopping[pid]
                self._forget(child)
                log.info("%s: %d ended (exit %s)", child.name, pid, child.proc.returncode)
            elif child.kill_at is not None and now >= child.kill_at:
                log.warning("%s: %d did not end on SIGTERM: SIGKILL", child.name, pid)
                self._signal(child, signal.SIGKILL)
                child.kill_at = None
        exited = []
        for account, worker in list(self.workers.items()):
            code = worker.proc.poll()
            if code is not None:
                del self.workers[account]
                self._forget(worker)
                exited.append((account, code))
        exchange = self.exchange
        if exchange is not None and exchange.proc.poll() is not None:
            self.exchange = None
            self._forget(exchange)
            log.error(
                "the simulated exchange (pid %d) exited with code %s", exchange.pid, exchange.proc.returncode
            )
        return exited

    def is_ending(self, account: str) -> bool:
        """Whether a stopped worker of ``account`` has not exited yet (its successor waits:
        two vn.py instances must not share one flow directory)."""
        return any(c.account == account for c in self.stopping.values())

    # -- supervised programs (the data services) ---------------------------------------

    def start_program(self, account: str, argv: list[str]) -> int:
        """Start a supervised program that is not a gateway worker (``python -m
        services.runner ...``) under ``account``, its heartbeat's account (``svc-bars``).

        It is kept with the workers, so ``stop``, ``is_ending``, ``step`` and ``stop_all``
        treat it alike. It dies with the hub through ``gateways.child_exec``, which arms
        the parent-death signal before it ``exec``s ``argv``: the program need not import
        ``gateways`` for that (the services room stays independent of this one).
        """
        if account in self.workers:
            raise RuntimeError(f"{account} already runs (pid {self.workers[account].pid})")
        name = f"program-{account}"
        prefix = [self.python, "-m", "gateways.child_exec", str(os.getpid())]
        proc = self._spawn(name, [self.python, *argv], prefix=prefix, cwd=PROJECT_DIR)
        self.workers[account] = ChildProcess(name, account, proc, time.monotonic())
        log.info("%s: started (pid %d)", account, proc.pid)
        return proc.pid

    # -- the simulated exchange --------------------------------------------------------

    def start_exchange(self, pub_addr: str, control_addr: str, contracts: int, rate: float) -> int:
        """Start the simulated exchange the ``sim`` workers read (DESIGN §10)."""
        if self.exchange is not None:
            return self.exchange.pid
        argv = [
            self.python,
            "-m",
            "gateways.simexchange",
            "serve",
            "--pub",
            pub_addr,
            "--control",
            control_addr,
            "--contracts",
            str(contracts),
            "--rate",
            str(rate),
            "--parent-pid",
            str(os.getpid()),
        ]
        proc = self._spawn(EXCHANGE, argv, cwd=PROJECT_DIR)
        self.exchange = ChildProcess(EXCHANGE, "", proc, time.monotonic())
        log.info("simulated exchange started (pid %d) on %s", proc.pid, pub_addr)
        return proc.pid

    # -- the end -----------------------------------------------------------------------

    def stop_all(self, timeout: float = 8.0) -> None:
        """End every worker, then the exchange they read (a worker must not see its
        exchange vanish and log a disconnect on the way out)."""
        for account in list(self.workers):
            self.stop(account)
        self._wait_stopping(timeout)
        if self.exchange is not None:
            self._end(self.exchange, grace=3.0)
            self.exchange = None
            self._wait_stopping(timeout)

    def _wait_stopping(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.stopping and time.monotonic() < deadline:
            self.step()
            time.sleep(0.05)
        for child in list(self.stopping.values()):
            self._signal(child, signal.SIGKILL)
            child.proc.wait(timeout=2)
            self._forget(child)
        self.stopping.clear()
