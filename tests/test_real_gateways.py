"""The real pinned vn.py gateways (``ctp``, ``sopt``) in a worker, against loopback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from gateways.manager import ProcessManager
from tests.zmq_helpers import free_port


@pytest.mark.parametrize("gateway_type", ["ctp", "sopt"])
def test_a_real_gateway_reports_not_connected_against_a_closed_port_and_stops_within_a_bound(
    gateway_type: str, tmp_path: Path, zmq_ctx: zmq.Context[Any]
) -> None:
    ctx = zmq_ctx
    ingest = ctx.socket(zmq.PULL)
    ingest.bind(f"ipc://{tmp_path}/ingest.ipc")
    closed_port = free_port()  # nothing listens here
    account = f"{gateway_type}-loopback"
    spec: dict[str, Any] = {
        "account": account,
        "gateway_type": gateway_type,
        "settings": {
            "userID": "0001",
            "password": "pw-never-logged",
            "brokerID": "9999",
            "mdAddress": f"tcp://127.0.0.1:{closed_port}",
        },
        "ingest": f"ipc://{tmp_path}/ingest.ipc",
        "control": f"ipc://{tmp_path}/control.ipc",
        "workdir": str(tmp_path / "flows" / gateway_type),
        "subscriptions": ["rb2601.SHFE"],
        "contracts": [{"symbol": "rb2601", "exchange": "SHFE", "name": "rb2601"}],
        "calendar": None,
    }
    manager = ProcessManager(grace=3.0)
    pid = manager.start(spec)
    statuses: list[dict[str, Any]] = []
    logs: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(statuses) < 6:
        if ingest.poll(500):
            frames = ingest.recv_multipart()
            if frames[0] == b"S":
                statuses.append(msgpack.unpackb(frames[2]))
            elif frames[0] == b"L":
                logs.append(msgpack.unpackb(frames[2])["msg"])
    assert len(statuses) >= 6, f"no heartbeat from the {gateway_type} worker"
    assert all(s["pid"] == pid for s in statuses)
    # connect_status is true once the API exists; login_status is what tells the truth.
    assert not any(s["connected"] or s["logged_in"] for s in statuses)
    assert statuses[-1]["subscribed"] == 1
    assert not any("pw-never-logged" in line for line in logs)
    # vn.py flow files go to the account's own work directory.
    assert (tmp_path / "flows" / gateway_type / ".vntrader").is_dir()

    started = time.monotonic()
    manager.stop(account)
    while manager.stopping and time.monotonic() - started < 6:
        manager.step()
        time.sleep(0.05)
    assert not manager.stopping, "the worker did not end"
    assert time.monotonic() - started < 4.0
