"""The real pinned CTP gateway under the real hub, against fronts that do not work.

One ``ctp`` account points at a loopback port with nothing listening, one at a listener
that accepts and closes every connection. Both must be marked unhealthy and restarted
with a growing backoff, never hang or flood the hub, while a sim source next to them
stays healthy and the hub keeps publishing its state every second.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregation.contract_codes import exchange_today, main_contract
from tests.hub_process import HubProcess
from tests.zmq_helpers import free_port

MAIN_REBAR = main_contract("rb", exchange_today()).vt_symbol  # a canary that is live today

RUN_SECONDS = 30.0


class AcceptAndClose(threading.Thread):
    """A 'front' that takes every connection and closes it at once."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            conn.close()
        self.server.close()


@pytest.fixture
def front() -> Iterator[AcceptAndClose]:
    listener = AcceptAndClose()
    listener.start()
    yield listener
    listener.stopped.set()
    listener.join(2)


def add_ctp_account(hub: HubProcess, account: str, port: int) -> None:
    hub.manage(
        "shell",
        "-c",
        "from accounts.models import MarketDataAccount as M; "
        f"M.objects.create(id={account!r}, gateway_type='ctp', priority=5, is_enabled=True, "
        f"canaries=[{MAIN_REBAR!r}], settings={{'userID': '0001', 'password': 'pw-x', 'brokerID': '9999', "
        f"'mdAddress': 'tcp://127.0.0.1:{port}'}})",
    )


def test_dead_fronts_are_unhealthy_and_restarted_with_backoff_while_the_hub_carries_on(
    tmp_path: Path, front: AcceptAndClose
) -> None:
    hub = HubProcess(
        tmp_path,
        MDHUB_LOGIN_TIMEOUT="4",
        MDHUB_RESTART_COOLDOWN="0.5",
        MDHUB_RESTART_GRACE="1",
        MDHUB_SIM_RATE="4",
    )
    hub.manage("migrate", "--noinput")
    hub.manage("seed_demo")
    hub.sql("UPDATE market_data_accounts SET is_enabled = 0 WHERE id IN ('sim-b', 'sim-c')")
    add_ctp_account(hub, "ctp-closed", free_port())
    add_ctp_account(hub, "ctp-flaky", front.port)
    hub.start()
    try:
        started = time.monotonic()
        worst_staleness = 0.0
        sim_states: set[str] = set()
        while time.monotonic() - started < RUN_SECONDS:
            state = hub.state()
            if state:
                worst_staleness = max(worst_staleness, time.time() - state["updated_at"])
                if time.monotonic() - started > 8:
                    sim_states.add(hub.gateway("sim-a")["state"])
            time.sleep(0.2)
        final = {g["id"]: g for g in hub.state()["gateways"]}
    finally:
        hub.stop()

    # The hub stayed responsive: its state snapshot never went more than ~2 s stale.
    assert worst_staleness < 2.5, worst_staleness
    assert sim_states == {"healthy"}, sim_states
    assert front.accepted > 0  # the gateway really talked to the accept-and-close front

    for account in ("ctp-closed", "ctp-flaky"):
        events = hub.events(account)
        unhealthy = [e["reason"] for e in events if e["state_to"] == "unhealthy"]
        assert unhealthy, events
        assert any("not logged in" in r or "storm" in r for r in unhealthy), unhealthy
        delays = [
            float(m.group(1))
            for e in events
            if e["state_to"] == "restarting" and (m := re.search(r"in (\d+) s", e["reason"]))
        ]
        assert len(delays) >= 2, events
        assert delays == sorted(delays) and delays[-1] > delays[0], delays  # backoff grows
        assert final[account]["restarts"] >= 2
        assert final[account]["state"] in {"starting", "restarting", "unhealthy", "failed"}

    log = hub.log()
    assert "pw-x" not in log
    # No flood: a bounded number of lines from the two dead gateways over the run.
    ctp_lines = [line for line in log.splitlines() if "ctp-" in line]
    assert len(ctp_lines) < 400, len(ctp_lines)
