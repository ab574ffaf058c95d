"""Chaos: the real hub, three sim sources, faults on random sources, a real client.

Hot mode: kill -9, freeze, disconnect, garbage and hang on random sources (one at a time,
so at least two stay healthy); the client must get every exchange snapshot exactly once
and in order, and nothing else; each faulted source must come back to ``healthy``; the
events must tell the story. Warm mode: the gap a client sees when the active source dies
must stay under a stated bound. The ctp kind: kill -9, a frozen front and a disconnect on
a source running the pinned CtpGateway through the loopback front, beside a sim source.

The detection and recovery times printed here (``pytest -s``) are the README's figures.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from aggregation.contract_codes import exchange_today
from gateways.loopback.build import main as build_loopback
from gateways.loopback.front import send_control
from gateways.simexchange import SNAP_TOPIC, send_fault
from mdhub_project.management.commands.seed_demo import demo_canaries
from tests.hub_process import PROJECT, HubProcess
from tests.stream_check import assert_exactly_once_in_order, snapshot_key
from tests.zmq_helpers import free_port

SOURCES = ("sim-a", "sim-b", "sim-c")
CANARIES = set(demo_canaries(exchange_today()))  # what seed_demo gives the sim sources today
# Fast detection for a short test; the defaults are longer (see README, Health).
FAST = {
    "MDHUB_SIM_RATE": "4",
    "MDHUB_HEARTBEAT_TIMEOUT": "2",
    "MDHUB_CANARY_STALE_AFTER": "1.5",
    "MDHUB_STALE_TIMEOUT": "1.5",
    "MDHUB_DISCONNECTED_TIMEOUT": "2",
    "MDHUB_RESTART_COOLDOWN": "0.5",
    "MDHUB_RESTART_GRACE": "1",
    "MDHUB_RESTART_BUDGET": "20",
}
# Warm mode: the client's longest silence when the active source is killed.
WARM_KILL_GAP_BOUND = 2.0
# ... and when it freezes: a standby takes over as soon as the active source is no longer
# healthy, i.e. once it is stale (canary silent 1.5 s), plus 2 s for the takeover.
WARM_FREEZE_GAP_BOUND = 1.5 + 2.0


class Recorder(threading.Thread):
    """Reads the exchange's own output (the truth) and the hub's client stream."""

    def __init__(self, hub: HubProcess) -> None:
        super().__init__(daemon=True)
        self.hub = hub
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.truth_sub = self.ctx.socket(zmq.SUB)
        self.truth_sub.setsockopt(zmq.SUBSCRIBE, SNAP_TOPIC)
        self.truth_sub.connect(hub.sim_addr)
        self.client = self.ctx.socket(zmq.SUB)
        self.client.setsockopt(zmq.SUBSCRIBE, b"tick.")
        self.client.connect(hub.pub_addr)
        self.truth: dict[str, list[bytes]] = defaultdict(list)
        self.got: dict[str, list[dict[str, Any]]] = defaultdict(list)
        # vt_symbol → arrival times (wall clock) at the client
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.stop_truth = threading.Event()
        self.stop_all = threading.Event()

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.truth_sub, zmq.POLLIN)
        poller.register(self.client, zmq.POLLIN)
        truth_open = True
        while not self.stop_all.is_set():
            if truth_open and self.stop_truth.is_set():
                poller.unregister(self.truth_sub)
                truth_open = False
            for sock, _ in poller.poll(100):
                _, data = sock.recv_multipart()
                fields = msgpack.unpackb(data)
                vt_symbol = f"{fields['symbol']}.{fields['exchange']}"
                if sock is self.truth_sub:
                    self.truth[vt_symbol].append(snapshot_key(fields))
                else:
                    self.arrivals[vt_symbol].append(time.time())
                    self.got[vt_symbol].append(fields)
        self.truth_sub.close()
        self.client.close()
        self.ctx.term()

    def finish(self) -> None:
        # Stop the truth first, then give the copies in flight a moment to reach the client.
        self.stop_truth.set()
        time.sleep(1.0)
        self.stop_all.set()
        self.join(5)


@pytest.fixture
def lossless_hub(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[HubProcess]:
    extra: dict[str, str] = getattr(request, "param", {})
    process = HubProcess(tmp_path, **FAST, **extra)
    process.manage("migrate", "--noinput")
    process.manage("seed_demo")
    # No loss at the sources: then "every snapshot" is the truth the client must get
    # (with lossy sources a snapshot all live sources lost is gone for good).
    process.sql("UPDATE market_data_accounts SET settings = json_set(settings, '$.loss', 0.0)")
    yield process
    if process.proc is not None:
        process.stop()


@pytest.fixture
def rec(lossless_hub: HubProcess) -> Iterator[Recorder]:
    """The truth and client reader, started before the hub and stopped however the test ends."""
    recorder = Recorder(lossless_hub)
    recorder.start()
    yield recorder
    recorder.stop_all.set()
    recorder.join(5)


def inject(hub: HubProcess, account: str, fault: str) -> None:
    if fault == "kill -9":
        pid = hub.gateway(account)["pid"]
        os.kill(pid, signal.SIGKILL)
        return
    seconds = {"freeze": 60.0, "disconnect": 60.0, "garbage": 60.0, "hang": 0.0}[fault]
    reply = send_fault(hub.sim_control_addr, account, fault, seconds)
    assert reply.get("ok"), reply


def watch_recovery(
    hub: HubProcess, account: str, injected: float, timeout: float = 40.0
) -> tuple[float, float]:
    """Seconds from the fault (``injected``, wall clock) until the hub noticed (the source
    left ``healthy``) and until it was ``healthy`` again, from the stored events' times (the
    state snapshot in Redis is only refreshed once a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        changes = [e for e in hub.events(account) if e["kind"] == "state" and _epoch(e["ts"]) >= injected]
        left = next((e for e in changes if e["state_from"] == "healthy"), None)
        back = next(
            (e for e in changes if left is not None and e["id"] > left["id"] and e["state_to"] == "healthy"),
            None,
        )
        if left is not None and back is not None:
            return _epoch(left["ts"]) - injected, _epoch(back["ts"]) - injected
        time.sleep(0.1)
    raise AssertionError(f"{account} did not recover: {hub.gateway(account)}\n{hub.log()[-6000:]}")


def _epoch(ts: str) -> float:
    """An ``Event.ts`` as SQLite stores it (UTC, ISO 8601) in epoch seconds."""
    return datetime.fromisoformat(ts).replace(tzinfo=UTC).timestamp()


def wait_all_healthy(hub: HubProcess, timeout: float = 40.0) -> None:
    for account in SOURCES:
        hub.wait_state(account, {"healthy"}, timeout)


def test_hot_mode_survives_every_fault_without_losing_or_duplicating_a_tick(
    lossless_hub: HubProcess, rec: Recorder
) -> None:
    hub = lossless_hub
    hub.start()
    wait_all_healthy(hub)
    seed = int(os.environ.get("CHAOS_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    faults = ["kill -9", "freeze", "disconnect", "garbage", "hang"]
    rng.shuffle(faults)
    report: list[tuple[str, str, float, float]] = []
    pids_before: dict[str, int] = {}
    for fault in faults:
        wait_all_healthy(hub)
        time.sleep(1.0)
        account = rng.choice(SOURCES)
        pids_before.setdefault(account, hub.gateway(account)["pid"])
        injected = time.time()
        inject(hub, account, fault)
        detected, recovered = watch_recovery(hub, account, injected)
        report.append((fault, account, detected, recovered))
    wait_all_healthy(hub)
    time.sleep(1.0)
    rec.finish()
    assert hub.proc is not None and hub.proc.poll() is None, hub.log()[-4000:]

    print(f"\nchaos seed {seed}")
    for fault, account, detected, recovered in report:
        print(f"{fault:>10} on {account}: detected after {detected:.1f} s, healthy after {recovered:.1f} s")
    delivered = assert_exactly_once_in_order(rec.truth, rec.got)
    assert delivered > 1000, delivered

    for fault, account, _, _ in report:
        events = hub.events(account)
        states = [(e["state_from"], e["state_to"]) for e in events if e["kind"] == "state"]
        assert any(frm == "healthy" and to != "healthy" for frm, to in states), (fault, states)
        assert states[-1][1] == "healthy", (fault, states)
        # Every fault here ends in a hard restart (or a dead process being replaced).
        assert any(e["kind"] == "restart" for e in events) or any("exited" in e["reason"] for e in events), (
            fault,
            events,
        )
        assert hub.gateway(account)["pid"] != pids_before[account]
    if any(account == "sim-a" for _, account, _, _ in report):
        failovers = [e["reason"] for e in hub.events() if e["kind"] == "failover"]
        assert any("sim-a → sim-b" in r for r in failovers), failovers
        assert any("sim-b → sim-a" in r for r in failovers), failovers


@pytest.mark.parametrize("lossless_hub", [{"MDHUB_FAILOVER_MODE": "warm"}], indirect=True)
def test_warm_mode_standby_takes_over_within_the_gap_bound(lossless_hub: HubProcess, rec: Recorder) -> None:
    hub = lossless_hub
    hub.start()
    wait_all_healthy(hub)
    assert hub.state()["mode"] == "warm"
    time.sleep(2.0)
    active = {g["id"] for g in hub.state()["gateways"] if g["is_active"]}
    assert active == {"sim-a"}, active
    # Standbys carry only their canaries: every other tick comes from the active source.
    carriers = {t["source"] for vt, ticks in list(rec.got.items()) if vt not in CANARIES for t in ticks[-8:]}
    assert carriers == {"sim-a"}, carriers

    gaps = {}
    for fault, bound in (("kill -9", WARM_KILL_GAP_BOUND), ("freeze", WARM_FREEZE_GAP_BOUND)):
        wait_all_healthy(hub)
        hub.wait_state("sim-a", {"healthy"})
        time.sleep(2.0)
        injected = time.time()
        inject(hub, "sim-a", fault)
        watch_recovery(hub, "sim-a", injected)
        time.sleep(2.0)
        # sim-a is back and, being the best, active again; the standby has let go.
        tail = {t["source"] for vt, ticks in list(rec.got.items()) if vt not in CANARIES for t in ticks[-4:]}
        assert tail == {"sim-a"}, tail
        # The longest silence of any contract the standbys do not carry (they keep their
        # canaries, so those never go quiet).
        gap = 0.0
        for vt_symbol, times in list(rec.arrivals.items()):
            if vt_symbol in CANARIES:
                continue
            recent = [t for t in times if t >= injected - 1.0]
            gap = max([gap, *(b - a for a, b in itertools.pairwise(recent))])
        gaps[fault] = gap
        assert gap < bound, f"{fault}: clients saw no tick for {gap:.2f} s (bound {bound} s)"
    rec.finish()
    print(f"\nwarm-mode failover gaps: {', '.join(f'{f} {g:.2f} s' for f, g in gaps.items())}")
    takeovers = [
        e for e in hub.events() if e["kind"] == "failover" and "takes the subscriptions" in e["reason"]
    ]
    assert {e["account"] for e in takeovers} >= {"sim-a", "sim-b"}, takeovers


# -- the ctp kind: the pinned CtpGateway through the loopback front -----------------------

BROKER_SOURCES = ("ctp-a", "ctp-b")


@pytest.fixture
def broker_hub(tmp_path: Path) -> Iterator[tuple[HubProcess, str]]:
    """The real hub with sim-a and two ctp accounts on a loopback front that the hub's own
    simulated exchange feeds (as ``./dev run --broker-loopback`` runs them): one truth for
    both kinds. sim-a, never faulted, carries the SSE option the ctp kind does not serve."""
    build_loopback()  # a no-op once ./dev setup has built the libraries
    process = HubProcess(tmp_path, **FAST)
    control = f"ipc://{tmp_path}/loopctl.ipc"
    md_address = f"tcp://127.0.0.1:{free_port()}"
    front_argv = ["-m", "gateways.loopback.front", "serve", "--listen", md_address]
    front_argv += ["--sim", process.sim_addr, "--control", control]
    front = subprocess.Popen(
        [sys.executable, *front_argv],
        cwd=PROJECT,
        stdout=(tmp_path / "front.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        process.manage("migrate", "--noinput")
        process.manage("seed_demo", "--broker-loopback", md_address)
        process.sql("UPDATE market_data_accounts SET settings = json_set(settings, '$.loss', 0.0)")
        process.sql("UPDATE market_data_accounts SET is_enabled = 0 WHERE id IN ('sim-b', 'sim-c', 'sopt-a')")
        yield process, control
    finally:
        if process.proc is not None:
            process.stop()
        front.terminate()
        front.wait(5)


def front_connections(control: str, user: str) -> list[dict[str, Any]]:
    reply = send_control(control, cmd="status")
    return [c for c in reply.get("connections", []) if c["user"] == user]


def wait_reconnected(
    hub: HubProcess, control: str, account: str, before: set[int], timeout: float = 40.0
) -> float:
    """Seconds until ``account`` is logged in to the front on a new connection (not one of
    ``before``) and healthy again, whether or not the hub saw it leave ``healthy`` (a
    reconnect within one status second may not show)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        fresh = [
            c for c in front_connections(control, account) if c["number"] not in before and c["logged_in"]
        ]
        if fresh and fresh[0]["subscribed"] and hub.gateway(account).get("state") == "healthy":
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{account} did not come back: {hub.gateway(account)}\n{hub.log()[-4000:]}")


def test_hot_mode_survives_kill_freeze_and_disconnect_of_a_ctp_source(
    broker_hub: tuple[HubProcess, str],
) -> None:
    hub, control = broker_hub
    recorder = Recorder(hub)
    recorder.start()
    try:
        hub.start()
        for account in ("sim-a", *BROKER_SOURCES):
            hub.wait_state(account, {"healthy"}, 40.0)
        time.sleep(1.0)
        report: list[tuple[str, str, float]] = []
        faults = [("kill -9", "ctp-a"), ("freeze", "ctp-b"), ("disconnect", "ctp-a")]
        for fault, account in faults:
            for other in BROKER_SOURCES:
                hub.wait_state(other, {"healthy"}, 40.0)
            before = {c["number"] for c in front_connections(control, account)}
            pid = hub.gateway(account)["pid"]
            if fault == "kill -9":
                os.kill(pid, signal.SIGKILL)
            elif fault == "freeze":
                # The front goes silent with the connection open, heartbeats included: the
                # loopback library gives up after its heartbeat timeout (0x2001) and rejoins.
                assert send_control(control, cmd="stall", user=account, seconds=30)["ok"]
            else:
                assert send_control(control, cmd="disconnect", user=account)["ok"]
            back = wait_reconnected(hub, control, account, before)
            report.append((fault, account, back))
            if fault == "kill -9":
                assert hub.gateway(account)["pid"] != pid
        time.sleep(1.0)
        recorder.finish()
        assert hub.proc is not None and hub.proc.poll() is None, hub.log()[-4000:]
    finally:
        recorder.stop_all.set()
        recorder.join(5)
    print()
    for fault, account, back in report:
        print(f"{fault:>10} on {account} (ctp, loopback front): logged in and healthy after {back:.1f} s")
    delivered = assert_exactly_once_in_order(recorder.truth, recorder.got)
    assert delivered > 13 * 4 * 5, delivered  # 13 contracts at 4 a second, over 5 s at least
    sources = {t["source"] for ticks in recorder.got.values() for t in ticks}
    assert sources & set(BROKER_SOURCES), sources  # the ctp kind won copies too
