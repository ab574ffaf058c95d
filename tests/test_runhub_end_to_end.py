"""``runhub`` with three simulated sources and a real client, checked against the exchange."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from gateways.simexchange import SNAP_TOPIC
from tests.hub_process import HubProcess
from tests.stream_check import assert_exactly_once_in_order, snapshot_key
from tests.zmq_helpers import wait_for


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    # 13 contracts at 5 snapshots/s each: 65 exchange snapshots a second, three copies each.
    # 200 ms between two snapshots of a contract: lossless sim-a would have to stall that long
    # behind a lossy source for a snapshot to come too late (first arrival is in order).
    process = HubProcess(tmp_path, MDHUB_SIM_RATE="5")
    process.manage("migrate", "--noinput")
    process.manage("seed_demo")
    yield process
    if process.proc is not None:
        process.stop()


def test_every_exchange_snapshot_reaches_the_client_once_and_in_order(
    hub: HubProcess, zmq_ctx: zmq.Context[Any]
) -> None:
    ctx = zmq_ctx
    truth_sub = ctx.socket(zmq.SUB)
    truth_sub.setsockopt(zmq.SUBSCRIBE, SNAP_TOPIC)
    truth_sub.connect(hub.sim_addr)  # the exchange's own output: ground truth
    client = ctx.socket(zmq.SUB)
    client.setsockopt(zmq.SUBSCRIBE, b"tick.")
    client.connect(hub.pub_addr)
    hub.start()

    truth: dict[str, list[bytes]] = defaultdict(list)
    got: dict[str, list[dict[str, Any]]] = defaultdict(list)
    poller = zmq.Poller()
    poller.register(truth_sub, zmq.POLLIN)
    poller.register(client, zmq.POLLIN)
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and sum(map(len, got.values())) < 800:
        for sock, _ in poller.poll(500):
            _, data = sock.recv_multipart()
            fields = msgpack.unpackb(data)
            vt_symbol = f"{fields['symbol']}.{fields['exchange']}"
            if sock is truth_sub:
                truth[vt_symbol].append(snapshot_key(fields))
            else:
                got[vt_symbol].append(fields)
    # Stop the truth here; give the hub a moment for the copies still in flight (the
    # sources add a few ms of latency), reading only the client, for a bounded time.
    truth_sub.close()
    drain_until = time.monotonic() + 1.0
    while time.monotonic() < drain_until:
        if client.poll(100):
            _, data = client.recv_multipart()
            fields = msgpack.unpackb(data)
            got[f"{fields['symbol']}.{fields['exchange']}"].append(fields)
    assert hub.proc is not None and hub.proc.poll() is None, hub.log()

    assert_exactly_once_in_order(truth, got)
    sources: dict[str, int] = defaultdict(int)
    for ticks in got.values():
        for t in ticks:
            sources[t["source"]] += 1
    assert set(sources) <= {"sim-a", "sim-b", "sim-c"}
    assert sources["sim-a"] > 0


def test_the_hub_ends_its_workers_when_it_stops(hub: HubProcess) -> None:
    hub.start()
    flows = hub.run_dir / "flows"
    wait_for(lambda: flows.exists() and len(list(flows.iterdir())) == 3, timeout=20)
    wait_for(lambda: "logged in to the simulated exchange" in hub.log(), timeout=20)
    pids = [
        int(line.rsplit("pid ", 1)[1].rstrip(")"))
        for line in hub.log().splitlines()
        if "worker started (pid" in line
    ]
    assert len(pids) == 3
    assert hub.stop() == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    # vn.py flow files go to one directory per account.
    assert sorted(p.name for p in flows.iterdir()) == ["sim-a", "sim-b", "sim-c"]
