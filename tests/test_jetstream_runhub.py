"""The bridge against the real hub (``manage.py runhub``, journal and recovery on) and a real
nats-server: NATS stopped under the running hub, the bridge overfills its buffer, lets go of
the hub and catches up from runhub's journal once NATS is back: every tick runhub journaled
is in the stream once, in order per contract. The bridge's status reaches the hub's state
document (``bridges``) and ``/metrics`` through the hub's publisher."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregation.journal import read_journal
from aggregation.wire import decode_payload
from bridge.cluster import Cluster
from bridge.consumer import JetStreamSource
from bridge.status import read_status
from bridge.subjects import message_id
from monitoring.metrics import render
from tests.hub_process import HubProcess
from tests.jetstream_helpers import Proc
from tests.zmq_helpers import wait_for

OUTAGE = 5.0


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[Cluster]:
    server = Cluster(tmp_path / "nats", size=1)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path, MDHUB_SIM_RATE="5", MDHUB_SIM_CONTRACTS="6", MDHUB_SERVICES="")
    process.manage("migrate", "--noinput")
    process.manage("seed_demo")
    yield process
    if process.proc is not None:
        process.stop()


def bridge_for(tmp_path: Path, hub: HubProcess, server: Cluster, **env: str) -> Proc:
    full = dict(hub.env)
    full.update(server.env())
    full.update(
        MDHUB_BRIDGE_HUB=f"{hub.pub_addr},{hub.snap_addr},{hub.env['MDHUB_RECOVERY_ADDR']}",
        MDHUB_BRIDGE_NAME="a",
        # The hub's run directory: where the hub's publisher looks for bridges' status.
        MDHUB_BRIDGE_STATE_DIR=str(hub.run_dir),
        MDHUB_NATS_REPLICAS="1",
    )
    full.update(env)
    return Proc(tmp_path / "bridge.log", [sys.executable, "-m", "bridge.run"], full)


def journaled(hub: HubProcess) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = {}
    for path in (hub.run_dir / "journal").glob("*.mdj"):
        ticks, _holes, _torn = read_journal(path)
        for topic_b, _epoch, _seq, payload in ticks:
            topic = topic_b.decode()
            ids.setdefault(topic, set()).add(message_id(topic, decode_payload(payload)))
    return ids


def the_stream(server: Cluster) -> tuple[list[dict[str, Any]], dict[str, int]]:
    user, password = server.creds.reader
    with JetStreamSource(server.url, [""], start="all", user=user, password=password) as source:
        ticks: list[dict[str, Any]] = []
        while (tick := source.recv(1.5)) is not None:
            ticks.append(tick)
        return ticks, source.stats()


def bridge_file(hub: HubProcess) -> dict[str, Any]:
    """What the bridge wrote last (after the hub has stopped, no state document)."""
    return read_status(hub.run_dir / "bridge-a.json") or {}


def bridge_line(hub: HubProcess) -> dict[str, Any]:
    """The bridge's line in the running hub's state document."""
    bridges = hub.state().get("bridges") or []
    return dict(bridges[0]) if bridges else {}


def test_the_bridge_catches_up_from_runhubs_journal_after_a_nats_outage(
    tmp_path: Path, hub: HubProcess, nats_server: Cluster
) -> None:
    bridge = bridge_for(tmp_path, hub, nats_server, MDHUB_BRIDGE_BUFFER="40", MDHUB_BRIDGE_ACK_TIMEOUT="1")
    hub.start()
    try:
        wait_for(lambda: hub.gateway("sim-a").get("state") == "healthy", 40)
        bridge.start()
        wait_for(lambda: bridge_line(hub).get("stored", 0) > 20, 30)
        assert bridge_line(hub)["online"] is True
        nats_server.stop()
        time.sleep(OUTAGE)
        during = bridge_line(hub)
        assert not during["connected"] and during["lag_s"] > 2, during
        assert during["hub_let_go"] >= 1, during
        # /metrics shows the lag from the same document.
        exposition = render(hub.state(), time.time()).decode()
        assert 'mdhub_bridge_lag_seconds{bridge="a"}' in exposition
        assert 'mdhub_bridge_connected{bridge="a"} 0.0' in exposition
        nats_server.start()

        def caught_up() -> bool:
            line = bridge_line(hub)
            return bool(line.get("connected")) and line.get("buffered") == 0 and line.get("lag_s", 9) < 1

        wait_for(caught_up, 40)
        hub.stop()

        def settled() -> bool:
            status = bridge_file(hub)
            return status.get("buffered") == 0 and status.get("inflight") == 0

        wait_for(settled, 20)
        after = bridge_file(hub)
    finally:
        bridge.stop()
        hub.stop()
    assert after["hub_let_go"] >= 1 and after["hub_gaps"] == 0, after
    truth = journaled(hub)
    assert sum(map(len, truth.values())) > 200
    ticks, stats = the_stream(nats_server)
    assert stats["duplicates"] == 0 and stats["late"] == 0, stats
    seen: dict[str, list[str]] = {}
    last: dict[str, int] = {}
    for tick in ticks:
        topic = f"tick.{tick['symbol']}.{tick['exchange']}"
        seen.setdefault(topic, []).append(message_id(topic, tick))
        assert tick["datetime"] >= last.get(topic, 0), f"{topic} out of order"
        last[topic] = tick["datetime"]
    assert set(seen) == set(truth)
    for topic, ids in truth.items():
        assert len(seen[topic]) == len(set(seen[topic])), f"{topic}: a snapshot stored twice"
        assert set(seen[topic]) == ids, f"{topic}: {len(ids - set(seen[topic]))} missing"
    assert "Traceback" not in bridge.log()
