"""The hub engine behind ``manage.py runhub``: workers in, one clean stream out.

Written like healthchecks' ``sendalerts``: a ``while not self.shutdown`` loop over small
steps; SIGTERM/SIGINT only set the flag; workers are ended before exit. The loop's hot
step is ``TickHub.poll``; the rest runs between polls and never blocks (database reads
happen before the loop or on another thread).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aggregation.hub import TickHub
from gateways.manager import PROJECT_DIR, ProcessManager

log = logging.getLogger("mdhub.engine")

SUPERVISE_INTERVAL = 0.25
RESTART_BACKOFF_FIRST = 1.0
RESTART_BACKOFF_MAX = 60.0


@dataclass
class AccountConfig:
    id: str
    gateway_type: str
    settings: dict[str, Any]
    priority: int
    canaries: list[str] = field(default_factory=list)


@dataclass
class EngineConfig:
    run_dir: Path
    pub_addr: str
    snapshot_addr: str
    accounts: list[AccountConfig]
    subscriptions: list[str]
    contracts: list[dict[str, Any]]
    calendar: dict[str, Any] | None
    sim_addr: str = ""
    sim_contracts: int = 13
    sim_rate: float = 2.0
    max_skew: float = 60.0
    log_level: str = "INFO"


@dataclass
class RestartPlan:
    attempts: int = 0
    due: float = 0.0


class Engine:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        run_dir = config.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_addr = f"ipc://{run_dir / 'ingest.ipc'}"
        self.control_addr = f"ipc://{run_dir / 'control.ipc'}"
        self.sim_addr = config.sim_addr or f"ipc://{run_dir / 'sim.ipc'}"
        self.sim_control_addr = f"ipc://{run_dir / 'simctl.ipc'}"
        watch = {f"tick.{c}".encode() for a in config.accounts for c in a.canaries}
        self.hub = TickHub(
            self.ingest_addr, config.pub_addr, config.snapshot_addr, self.control_addr, watch_topics=watch
        )
        self.hub.subscribed.update(config.subscriptions)
        self.manager = ProcessManager()
        self.accounts = {a.id: a for a in config.accounts}
        self.restarts: dict[str, RestartPlan] = {}
        self.sim_process: subprocess.Popen[bytes] | None = None
        self.shutdown = False
        self._next_supervise = 0.0

    # -- start and stop ----------------------------------------------------------------

    def start(self) -> None:
        if any(a.gateway_type == "sim" for a in self.accounts.values()) and not self.config.sim_addr:
            self.start_sim_exchange()
        for account in self.accounts.values():
            self.start_worker(account.id)

    def start_sim_exchange(self) -> None:
        self.sim_process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateways.simexchange",
                "serve",
                "--pub",
                self.sim_addr,
                "--control",
                self.sim_control_addr,
                "--contracts",
                str(self.config.sim_contracts),
                "--rate",
                str(self.config.sim_rate),
            ],
            cwd=PROJECT_DIR,
        )
        log.info("simulated exchange started (pid %d) on %s", self.sim_process.pid, self.sim_addr)

    def worker_spec(self, account: AccountConfig) -> dict[str, Any]:
        return {
            "account": account.id,
            "gateway_type": account.gateway_type,
            "settings": account.settings,
            "ingest": self.ingest_addr,
            "control": self.control_addr,
            "sim_addr": account.settings.get("exchange") or self.sim_addr,
            "workdir": str(self.config.run_dir / "flows" / account.id),
            "subscriptions": sorted(self.hub.subscribed | set(account.canaries)),
            "contracts": self.config.contracts,
            # The simulated market trades around the clock: no session rule for it.
            "calendar": None if account.gateway_type == "sim" else self.config.calendar,
            "max_skew": self.config.max_skew,
            "log_level": self.config.log_level,
        }

    def start_worker(self, account_id: str) -> int:
        return self.manager.start(self.worker_spec(self.accounts[account_id]))

    def stop(self) -> None:
        self.manager.stop_all()
        if self.sim_process is not None:
            self.sim_process.terminate()
            try:
                self.sim_process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.sim_process.kill()
        self.hub.close()

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> None:
        self.start()
        try:
            while not self.shutdown:
                self.step()
        finally:
            self.stop()

    def step(self) -> None:
        self.hub.poll(20)
        now = time.monotonic()
        if now >= self._next_supervise:
            self._next_supervise = now + SUPERVISE_INTERVAL
            self.supervise(now)

    def supervise(self, now: float) -> None:
        for account_id, code in self.manager.step():
            plan = self.restarts.setdefault(account_id, RestartPlan())
            delay = min(RESTART_BACKOFF_FIRST * 2**plan.attempts, RESTART_BACKOFF_MAX)
            plan.attempts += 1
            plan.due = now + delay
            log.error("%s: worker exited (code %s); restarting in %.0f s", account_id, code, delay)
        for account_id, plan in list(self.restarts.items()):
            if plan.due and now >= plan.due and account_id in self.accounts:
                plan.due = 0.0
                self.start_worker(account_id)
