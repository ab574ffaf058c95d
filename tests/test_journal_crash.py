"""A hub process killed -9 mid-session: its journal reads back, the restarted hub continues
it, and a client (and the example strategy) recover across the restart without a gap."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aggregation.client import HubAddress, HubClient
from aggregation.journal import read_journal
from tests.zmq_helpers import free_port

PROJECT = Path(__file__).resolve().parent.parent


class HubProc:
    """``tests.journal_helpers`` as a process: a hub with a journal and a feeder of its own."""

    def __init__(self, journal_dir: Path, log: Path, rate: float = 1000.0) -> None:
        self.journal_dir = journal_dir
        self.log_path = log
        self.rate = rate
        self.pub = f"tcp://127.0.0.1:{free_port()}"
        self.snap = f"tcp://127.0.0.1:{free_port()}"
        self.recovery = f"tcp://127.0.0.1:{free_port()}"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> HubAddress:
        return HubAddress(self.pub, self.snap, self.recovery)

    def start(self, **popen: Any) -> None:
        log = self.log_path.open("ab")
        args = [self.journal_dir, self.pub, self.snap, self.recovery, "--rate", str(self.rate)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.journal_helpers", *map(str, args)],
            cwd=PROJECT,
            stdout=log,
            stderr=subprocess.STDOUT,
            **popen,
        )
        deadline = time.monotonic() + 20
        while "READY" not in self.log().split("STOPPED")[-1]:
            assert time.monotonic() < deadline, self.log()
            assert self.proc.poll() is None, self.log()
            time.sleep(0.05)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def receive(client: HubClient[dict[str, Any]], seconds: float, into: list[dict[str, Any]]) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        tick = client.recv(0.1)
        if tick is not None:
            into.append(tick)


def test_a_hub_killed_mid_session_leaves_a_journal_the_next_run_continues_and_clients_recover(
    tmp_path: Path,
) -> None:
    journal_dir = tmp_path / "journal"
    hub = HubProc(journal_dir, tmp_path / "hub.log")
    hub.start()
    strategy_err = (tmp_path / "strategy.err").open("wb")
    spec = f"{hub.pub},{hub.snap},{hub.recovery}"
    strategy = subprocess.Popen(
        [sys.executable, "-m", "examples.strategy", "rb", "--hub", spec],
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=strategy_err,
    )
    got: list[dict[str, Any]] = []
    try:
        with HubClient(hub.address, [""], resume_since_ns=0, fill_timeout=10.0) as client:
            receive(client, 1.5, got)
            hub.kill9()
            (path,) = journal_dir.glob("*.mdj")
            first_run, _, _torn = read_journal(path)  # whatever the kill left reads back
            assert len(first_run) > 500
            time.sleep(0.5)  # the hub is down a while
            hub.start()
            receive(client, 2.5, got)
            assert client.restarts >= 1
            assert client.gaps == 0, client.stats()
    finally:
        strategy.send_signal(signal.SIGINT)
        strategy.wait(15)
        hub.stop()
    log = hub.log()
    assert "READY" in log and "STOPPED" in log
    ticks, holes, left = read_journal(path)
    assert left == 0
    assert holes == []
    epochs = sorted({e for _, e, _, _ in ticks})
    assert len(epochs) == 2, "the second run appends to the same day's file, under its own epoch"
    # The client: per topic, every (epoch, seq) once, in order, and no seq skipped within a run.
    journaled: dict[str, set[tuple[int, int]]] = {}
    for topic, epoch, seq, _ in ticks:
        journaled.setdefault(topic.decode(), set()).add((epoch, seq))
    by_topic: dict[str, list[tuple[int, int]]] = {}
    for tick in got:
        by_topic.setdefault(f"tick.{tick['symbol']}.{tick['exchange']}", []).append(
            (tick["epoch"], tick["seq"])
        )
    assert len(by_topic) == 4
    for name, seen in by_topic.items():
        assert seen == sorted(set(seen)), f"{name}: out of order or twice"
        for epoch in epochs:
            seqs = [s for e, s in seen if e == epoch]
            assert seqs == list(range(1, seqs[-1] + 1)), f"{name} epoch {epoch}: a seq is missing"
        # Every tick the journal holds up to the client's last one was delivered.
        assert {p for p in journaled[name] if p <= seen[-1]} <= set(seen)
    # The example strategy went through the same restart without a gap.
    err = (tmp_path / "strategy.err").read_text()
    assert "missed" not in err, err
    assert "gaps=0" in err and "restarts=0" not in err and "delivered=0" not in err, err
