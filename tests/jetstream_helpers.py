"""Processes for the JetStream tests and benchmark: a simulated exchange, hubs with a journal
(``tests.jetstream_hub``), bridges (``python -m bridge.run``), and a reading of the truth
(every distinct snapshot any hub forwarded, from their journals)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aggregation.client import HubAddress
from aggregation.journal import read_journal
from aggregation.wire import decode_payload
from bridge.cluster import Cluster
from bridge.status import read_status
from bridge.subjects import message_id
from tests.zmq_helpers import free_port

PROJECT = Path(__file__).resolve().parent.parent


class Proc:
    """A child process with its output in a log file."""

    def __init__(self, log: Path, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.log_path = log
        self.argv = argv
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready: str | None = None, timeout: float = 20.0) -> None:
        before = len(self.log())
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv, cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        deadline = time.monotonic() + timeout
        while ready is not None and ready not in self.log()[before:]:
            assert self.proc.poll() is None, self.log()[-3000:]
            assert time.monotonic() < deadline, self.log()[-3000:]
            time.sleep(0.05)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def sim_exchange(tmp: Path, contracts: int = 6, rate: float = 5.0) -> tuple[Proc, str]:
    pub = f"ipc://{tmp}/sim.ipc"
    argv = [sys.executable, "-m", "gateways.simexchange", "serve", "--pub", pub, "--control"]
    argv += [f"ipc://{tmp}/simctl.ipc", "--contracts", str(contracts), "--rate", str(rate), "--seed", "7"]
    return Proc(tmp / "sim.log", argv), pub


class Hub(Proc):
    def __init__(self, tmp: Path, name: str, sim_addr: str, accounts: str) -> None:
        self.journal_dir = tmp / f"journal-{name}"
        self.address = HubAddress(
            f"tcp://127.0.0.1:{free_port()}",
            f"tcp://127.0.0.1:{free_port()}",
            f"tcp://127.0.0.1:{free_port()}",
        )
        assert self.address.snapshot is not None and self.address.recovery is not None
        argv = [sys.executable, "-m", "tests.jetstream_hub", str(self.journal_dir), self.address.pub]
        argv += [self.address.snapshot, self.address.recovery, "--sim", sim_addr, "--accounts", accounts]
        super().__init__(tmp / f"hub-{name}.log", argv)

    def start(self, ready: str | None = "READY", timeout: float = 20.0) -> None:
        super().start(ready, timeout)

    def forwarded(self) -> dict[str, set[str]]:
        """topic → message ids of every tick this hub journaled (all its runs)."""
        ids: dict[str, set[str]] = {}
        for path in self.journal_dir.glob("*.mdj"):
            ticks, _holes, _torn = read_journal(path)
            for topic, _epoch, _seq, payload in ticks:
                ids.setdefault(topic.decode(), set()).add(message_id(topic.decode(), decode_payload(payload)))
        return ids


class Bridge(Proc):
    def __init__(self, tmp: Path, name: str, hub: Hub, cluster: Cluster, **env: str) -> None:
        self.state_dir = tmp / f"bridge-{name}"
        self.name = name
        full_env = dict(os.environ)
        full_env.update(cluster.env())
        full_env.update(
            MDHUB_BRIDGE_HUB=f"{hub.address.pub},{hub.address.snapshot},{hub.address.recovery}",
            MDHUB_BRIDGE_NAME=name,
            MDHUB_BRIDGE_STATE_DIR=str(self.state_dir),
            PYTHONUNBUFFERED="1",
        )
        full_env.update(env)
        super().__init__(tmp / f"bridge-{name}.log", [sys.executable, "-m", "bridge.run"], full_env)

    def status(self) -> dict[str, Any]:
        return read_status(self.state_dir / f"bridge-{self.name}.json") or {}


def union(*hubs: Hub) -> dict[str, set[str]]:
    merged: dict[str, set[str]] = {}
    for hub in hubs:
        for topic, ids in hub.forwarded().items():
            merged.setdefault(topic, set()).update(ids)
    return merged
