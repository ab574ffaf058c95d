"""The pinned CtpGateway and SoptGateway, unchanged, deliver the simulated exchange's
snapshots through the loopback front into the real hub (``manage.py runhub``) and out to a
client (``aggregation.client``) exactly once and in order."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from aggregation.client import HubAddress, HubClient
from gateways.loopback.build import library_path
from gateways.loopback.preload import mapped_libraries
from tests.hub_process import HubProcess
from tests.loopback_helpers import FUTURES, SSE, LoopbackWorld
from tests.stream_check import assert_exactly_once_in_order, snapshot_key
from tests.zmq_helpers import wait_for


@pytest.fixture
def world(tmp_path: Path) -> Iterator[LoopbackWorld]:
    loopback = LoopbackWorld(tmp_path / "world", rate=4.0)
    (tmp_path / "world").mkdir()
    loopback.start()
    yield loopback
    loopback.stop()


def add_account(hub: HubProcess, account: str, gateway_type: str, md_address: str, canary: str) -> None:
    hub.manage(
        "shell",
        "-c",
        "from accounts.models import MarketDataAccount as M; "
        f"M.objects.create(id={account!r}, gateway_type={gateway_type!r}, priority=5, is_enabled=True, "
        f"canaries=[{canary!r}], settings={{'userID': {account!r}, 'password': 'pw-loop-e2e', "
        f"'brokerID': '9999', 'mdAddress': {md_address!r}, 'loopback': True}})",
    )


def sopt_time(fields: dict[str, Any]) -> dict[str, Any]:
    """vnpy_sopt reads UpdateMillisec in tenths of a second (``int(ms / 100)``): the truth,
    as that gateway can carry it."""
    if fields["exchange"] != "SSE":
        return fields
    return {**fields, "datetime": fields["datetime"] - fields["datetime"] % 100_000_000}


def test_pinned_ctp_and_sopt_gateways_deliver_every_snapshot_once_through_the_loopback_front(
    tmp_path: Path, world: LoopbackWorld
) -> None:
    hub = HubProcess(tmp_path)
    hub.manage("migrate", "--noinput")
    hub.manage("seed_demo")
    hub.sql("UPDATE market_data_accounts SET is_enabled = 0 WHERE gateway_type = 'sim'")
    # The canary is a contract the simulated exchange trades today: its universe follows the
    # date (a hard-coded rb2601 expired and left both ctp sources "stale" for ever).
    add_account(hub, "ctp-a", "ctp", world.md_address, FUTURES[0])
    add_account(hub, "ctp-b", "ctp", world.md_address, FUTURES[0])
    add_account(hub, "sopt-a", "sopt", world.md_address, SSE)
    ctx = zmq.Context()
    truth_sub = ctx.socket(zmq.SUB)
    truth_sub.setsockopt(zmq.SUBSCRIBE, b"snap")
    truth_sub.connect(world.sim_addr)
    client = HubClient(HubAddress(hub.pub_addr, hub.snap_addr), [""], snapshot=False, recover=False)
    hub.start()
    truth: dict[str, list[bytes]] = defaultdict(list)
    got: dict[str, list[dict[str, Any]]] = defaultdict(list)
    try:
        # Until all three gateways are logged in and delivering.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(world.control(cmd="status").get("connections", [])) < 3:
            time.sleep(0.2)
        for _ in range(40):
            if client.recv(timeout=0.25) is not None:
                break
        started = time.monotonic()
        while time.monotonic() - started < 6:
            tick = client.recv(timeout=0.05)
            if tick is not None:
                got[f"{tick['symbol']}.{tick['exchange']}"].append(sopt_time(tick))
            while truth_sub.poll(0):
                fields = msgpack.unpackb(truth_sub.recv_multipart()[1])
                truth[f"{fields['symbol']}.{fields['exchange']}"].append(snapshot_key(sopt_time(fields)))
        truth_sub.close()
        drain = time.monotonic() + 1.0
        while time.monotonic() < drain:
            tick = client.recv(timeout=0.1)
            if tick is not None:
                got[f"{tick['symbol']}.{tick['exchange']}"].append(sopt_time(tick))
        front = world.control(cmd="status")

        def live_states() -> dict[str, dict[str, Any]] | None:
            # Each broker source logged in and delivering. Under load a source can read
            # "stale" for a moment between two of its ticks; a dead one never comes back.
            found = {g["id"]: g for g in hub.state().get("gateways", [])}
            states = {found.get(a, {}).get("state") for a in ("ctp-a", "ctp-b", "sopt-a")}
            return found if states <= {"connected", "healthy"} else None

        try:
            state = wait_for(live_states, 20, step=0.25)
        except AssertionError:
            state = {g["id"]: g for g in hub.state().get("gateways", [])}
        workers = {
            int(line.rsplit("pid ", 1)[1].rstrip(")")): line.split(":")[-2].split()[-1]
            for line in hub.log().splitlines()
            if "worker started (pid" in line
        }
        maps = {pid: mapped_libraries(pid) for pid in workers}
    finally:
        client.close()
        hub.stop()
        ctx.destroy(linger=0)

    assert {c["user"] for c in front["connections"]} == {"ctp-a", "ctp-b", "sopt-a"}, front
    checked = assert_exactly_once_in_order(truth, got, contracts=13)
    assert checked > 13 * 15
    sources: defaultdict[str, int] = defaultdict(int)
    for ticks in got.values():
        for tick in ticks:
            sources[tick["source"]] += 1
    assert set(sources) <= {"ctp-a", "ctp-b", "sopt-a"} and sources["sopt-a"] > 0, sources
    assert sources["ctp-a"] + sources["ctp-b"] > 0, sources
    assert {state[a]["state"] for a in ("ctp-a", "ctp-b", "sopt-a")} <= {"connected", "healthy"}, {
        a: (state[a]["state"], state[a].get("reason")) for a in ("ctp-a", "ctp-b", "sopt-a")
    }
    # Each worker mapped the loopback library, never the vendor's market-data library.
    for libs in maps.values():
        loopback = {str(library_path("ctp")), str(library_path("sopt"))} & libs
        assert len(loopback) == 1, libs
        assert not any(lib.endswith("site-packages/vnpy_ctp/api/libthostmduserapi_se.so") for lib in libs)
        assert not any(
            lib.endswith("site-packages/vnpy_sopt/api/libsoptthostmduserapi_se.so") for lib in libs
        )
    assert "pw-loop-e2e" not in hub.log() and "pw-loop-e2e" not in world.front_log()
