"""The JetStream bridge against a real 3-node NATS cluster on loopback: two hubs of one
simulated exchange publish into one stream, through node and hub crashes and a NATS outage,
and a consumer gets every snapshot exactly once, in order per contract."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregation.client import HubClient
from bridge.cluster import Cluster
from bridge.consumer import JetStreamSource
from bridge.subjects import message_id
from tests.jetstream_helpers import Bridge, Hub, Proc, sim_exchange, union
from tests.zmq_helpers import wait_for

# NATS is down this long under a running hub: 30 s, far past the bridge's acknowledgement
# timeout and its buffer, so the catch-up has to come from the journal.
OUTAGE = 30.0


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    nats = Cluster(tmp_path / "nats")
    nats.start()
    yield nats
    nats.stop()


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[str]:
    sim, address = sim_exchange(tmp_path, contracts=6, rate=5.0)
    sim.start()
    yield address
    sim.stop()


def read_all(cluster: Cluster, quiet: float = 2.0) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The whole stream as a consumer reads it, until nothing comes for ``quiet`` seconds."""
    env = cluster.env("READER")
    with JetStreamSource(
        cluster.url,
        [""],
        start="all",
        user=env["MDHUB_NATS_READER_USER"],
        password=env["MDHUB_NATS_READER_PASSWORD"],
    ) as source:
        ticks: list[dict[str, Any]] = []
        while (tick := source.recv(quiet)) is not None:
            ticks.append(tick)
        return ticks, source.stats()


def settled(*bridges: Bridge) -> bool:
    statuses = [b.status() for b in bridges]
    return all(s and s["buffered"] == 0 and s["inflight"] == 0 and s["connected"] for s in statuses)


def check_exactly_once(
    ticks: list[dict[str, Any]], stats: dict[str, int], truth: dict[str, set[str]]
) -> None:
    assert stats["duplicates"] == 0 and stats["late"] == 0, f"the stream stored a copy twice: {stats}"
    seen: dict[str, list[str]] = {}
    last_time: dict[str, int] = {}
    for tick in ticks:
        topic = f"tick.{tick['symbol']}.{tick['exchange']}"
        seen.setdefault(topic, []).append(message_id(topic, tick))
        assert tick["datetime"] >= last_time.get(topic, 0), f"{topic} out of order"
        last_time[topic] = tick["datetime"]
    for topic, in_order in seen.items():
        assert len(in_order) == len(set(in_order)), f"{topic}: a snapshot delivered twice"
    assert set(seen) == set(truth)
    for topic, ids in truth.items():
        delivered = set(seen[topic])
        missing = ids - delivered
        extra = delivered - ids
        assert not missing, f"{topic}: {len(missing)} of {len(ids)} snapshots never reached the stream"
        assert not extra, f"{topic}: {len(extra)} snapshots no hub journaled"


def wait_settled(bridge: Bridge, timeout: float, *, caught_up: bool = False) -> None:
    def done() -> bool:
        status = bridge.status()
        if caught_up:  # the hub still runs: something is always in flight
            return bool(status) and status["connected"] and status["buffered"] == 0 and status["lag_s"] < 1
        return settled(bridge)

    try:
        wait_for(done, timeout)
    except AssertionError:
        raise AssertionError(f"bridge not settled: {bridge.status()}\n{bridge.log()[-3000:]}") from None


def stop_all(*procs: Proc) -> None:
    for proc in procs:
        proc.stop()


def test_two_hubs_store_each_snapshot_once_through_a_nats_node_and_a_hub_killed(
    tmp_path: Path, cluster: Cluster, exchange: str
) -> None:
    hub_a = Hub(tmp_path, "a", exchange, "sim-a1,sim-a2")
    hub_b = Hub(tmp_path, "b", exchange, "sim-b1")
    bridge_a = Bridge(tmp_path, "a", hub_a, cluster)
    bridge_b = Bridge(tmp_path, "b", hub_b, cluster)
    try:
        hub_a.start()
        hub_b.start()
        # Bridge A first, caught up, then B: hub A ran a moment longer and has snapshots B
        # never saw. Published by A's catch-up after B's first live ones, they would be
        # stored behind newer ones (what a second hub joining a running pair does is the
        # same: B's tape is all copies). docs/jetstream.md, "Limits".
        bridge_a.start()
        wait_settled(bridge_a, 20, caught_up=True)
        bridge_b.start()
        wait_for(
            lambda: bridge_a.status().get("stored", 0) > 20 and bridge_b.status().get("read", 0) > 20, 20
        )
        time.sleep(2)
        cluster.kill(cluster.nodes[0])  # kill -9 one NATS node (a stream replica, maybe its leader)
        time.sleep(3)
        # The stream goes on with two nodes (a new leader, seconds on a busy machine): both
        # bridges catch up. Then the next fault, not on top of this one: a hub down while
        # the other hub's bridge still catches up would see its own snapshots of that time
        # stored behind the restarted hub's newer ones (docs/jetstream.md, "Limits").
        wait_settled(bridge_a, 30, caught_up=True)
        wait_settled(bridge_b, 30, caught_up=True)
        hub_a.kill9()  # then one hub: its workers die with it, its bridge waits for it
        time.sleep(2)
        cluster.start_node(cluster.nodes[0])
        hub_a.start()
        time.sleep(4)
        stop_all(hub_a, hub_b)  # the tape ends; the bridges publish what they still hold
        wait_for(lambda: settled(bridge_a, bridge_b), 30)
        status_a, status_b = bridge_a.status(), bridge_b.status()
    finally:
        stop_all(bridge_a, bridge_b, hub_a, hub_b)
    truth = union(hub_a, hub_b)
    assert sum(len(ids) for ids in truth.values()) > 200
    # Both hubs published the same snapshots: the stream kept one copy of each.
    assert status_a["duplicates"] + status_b["duplicates"] > 50, (status_a, status_b)
    ticks, stats = read_all(cluster)
    check_exactly_once(ticks, stats, truth)
    assert "Traceback" not in bridge_a.log() + bridge_b.log()


def test_nothing_is_lost_when_nats_is_down_under_a_running_hub(
    tmp_path: Path, cluster: Cluster, exchange: str
) -> None:
    hub = Hub(tmp_path, "a", exchange, "sim-a")
    # A small buffer: the outage overfills it, so the bridge lets go of the hub and catches
    # up from the hub's journal (the resume protocol), not from memory.
    bridge = Bridge(tmp_path, "a", hub, cluster, MDHUB_BRIDGE_BUFFER="40", MDHUB_BRIDGE_ACK_TIMEOUT="1")
    try:
        hub.start()
        bridge.start()
        wait_for(lambda: bridge.status().get("stored", 0) > 20, 20)
        cluster.stop()
        during: list[dict[str, Any]] = []
        with HubClient(hub.address, [""], snapshot=False) as client:
            until = time.monotonic() + OUTAGE
            while time.monotonic() < until:
                if (tick := client.recv(0.2)) is not None:
                    during.append(tick)
        # ZeroMQ went on without NATS: about 6 contracts × 5 a second.
        assert len(during) > OUTAGE * 15
        outage = bridge.status()
        assert not outage["connected"] and outage["lag_s"] > 2, outage
        assert outage["behind_hub"] or outage["hub_let_go"] >= 1, outage
        cluster.start()
        wait_settled(bridge, 40, caught_up=True)
        hub.stop()
        wait_settled(bridge, 20)
        after = bridge.status()
    finally:
        stop_all(bridge, hub)
    assert after["hub_let_go"] >= 1 and after["hub_gaps"] == 0, after
    ticks, stats = read_all(cluster)
    check_exactly_once(ticks, stats, union(hub))
