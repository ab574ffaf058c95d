"""What real CTP fronts do, reproduced by the loopback front, through the pinned
CtpGateway in a real worker into the real hub and out to a client.

One simulated exchange, one loopback front and one hub for the module; each test logs in
its own account, whose quirks the front switches for that user alone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import zmq

from tests.loopback_helpers import FUTURES, Client, InProcessHub, LoopbackWorld, broker_spec
from tests.stream_check import assert_exactly_once_in_order, snapshot_key
from tests.zmq_helpers import wait_for

CZCE = [s for s in FUTURES if s.endswith(".CZCE")]
RB = next(s for s in FUTURES if s.startswith("rb"))


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoopbackWorld, InProcessHub]]:
    tmp = tmp_path_factory.mktemp("loopback")
    world = LoopbackWorld(tmp, rate=4.0)
    world.start()
    try:
        with InProcessHub(tmp) as hub:
            yield world, hub
    finally:
        world.stop()


@pytest.fixture
def client(loop: tuple[LoopbackWorld, InProcessHub]) -> Iterator[Client]:
    world, hub = loop
    ctx: zmq.Context[Any] = zmq.Context()
    yield Client(ctx, hub, world)
    ctx.destroy(linger=0)


@contextmanager
def gateway(
    loop: tuple[LoopbackWorld, InProcessHub], account: str, subscriptions: list[str], **quirks: Any
) -> Iterator[None]:
    """A ctp worker logged in to the loopback front as ``account``, with these quirks."""
    world, hub = loop
    if quirks:
        assert world.control(cmd="quirks", user=account, set=quirks)["ok"]
    hub.manager.start(broker_spec(world, hub, account, subscriptions=subscriptions))
    try:
        hub.wait_logged_in(account)
        yield
    finally:
        hub.manager.stop(account)
        deadline = time.monotonic() + 4
        while hub.manager.stopping and time.monotonic() < deadline:
            hub.manager.step()
            time.sleep(0.05)


def subscribed_at_front(world: LoopbackWorld, user: str) -> list[str]:
    connections = world.control(cmd="status")["connections"]
    return next((list(c["subscribed"]) for c in connections if c["user"] == user), [])


def from_source(client: Client, account: str) -> list[dict[str, Any]]:
    return [t for ticks in client.got.values() for t in ticks if t["source"] == account]


def test_empty_price_fields_at_dbl_max_become_zero_and_the_tick_is_kept(
    loop: tuple[LoopbackWorld, InProcessHub], client: Client
) -> None:
    hub = loop[1]
    with gateway(loop, "q-dbl", [RB, CZCE[0]], dbl_max=True, empty_levels=2):
        client.read(1.5)
        status = hub.status("q-dbl")
    ticks = from_source(client, "q-dbl")
    assert len(ticks) >= 10
    for tick in ticks:
        # The two deepest levels came as DBL_MAX with volume 0; the tick is kept, with 0s.
        assert tick["bid_price_4"] == tick["bid_price_5"] == tick["ask_price_4"] == tick["ask_price_5"] == 0
        assert tick["ask_volume_5"] == 0 and tick["bid_price_3"] > 0 and tick["last_price"] > 0
    assert status["drops"] == {} and status["received"] == status["sent"] > 0


def test_the_stale_snapshot_replayed_right_after_login_is_dropped_before_the_client(
    loop: tuple[LoopbackWorld, InProcessHub], client: Client
) -> None:
    hub = loop[1]
    subscriptions = FUTURES[:4]
    with gateway(loop, "q-stale", subscriptions, stale_login=3600.0):
        client.read(1.5)
        status = hub.status("q-stale")
    # One stale replay per contract at login, an hour old: the cleanser's clock_skew rule.
    assert status["drops"] == {"clock_skew": len(subscriptions)}, status
    ticks = from_source(client, "q-stale")
    assert ticks and all(abs(t["datetime"] - t["recv_ns"]) < 60e9 for t in ticks)


def test_czce_snapshots_sharing_one_whole_second_each_reach_the_client_once(
    loop: tuple[LoopbackWorld, InProcessHub], client: Client
) -> None:
    with gateway(loop, "q-czce", CZCE, czce_whole_seconds=True):
        client.read(3.5)
    client.stop_truth()
    client.read(0.5)
    got = {s: client.got[s] for s in CZCE}
    truth = {s: [snapshot_key(f) for f in client.truth[s]] for s in CZCE}
    assert_exactly_once_in_order(truth, got, contracts=len(CZCE))
    for ticks in got.values():
        stamps = [t["datetime"] for t in ticks]
        assert all(stamp % 1_000_000_000 == 0 for stamp in stamps)  # UpdateMillisec 0
        assert len(set(stamps)) < len(stamps)  # several snapshots in one second, all kept


def test_a_disconnect_then_reconnect_with_replay_costs_the_client_nothing(
    loop: tuple[LoopbackWorld, InProcessHub], client: Client
) -> None:
    world, hub = loop
    with gateway(loop, "q-dis-b", FUTURES), gateway(loop, "q-dis-a", FUTURES):
        client.read(1.0)
        assert world.control(cmd="disconnect", user="q-dis-a")["connections"] == 1
        wait_for(lambda: hub.status("q-dis-a").get("reconnects") == 1, timeout=5)
        hub.wait_logged_in("q-dis-a", timeout=5)
        client.read(2.5)
        client.stop_truth()
        client.read(0.5)
        logs = hub.logs("q-dis-a")
    truth = {s: [snapshot_key(f) for f in fields] for s, fields in client.truth.items()}
    assert_exactly_once_in_order(truth, dict(client.got), contracts=len(FUTURES))
    # The front closed the connection: the vendor's 0x1001, then a login again.
    assert any("行情服务器连接断开，原因4097" in line for line in logs), logs
    assert sum("行情服务器登录成功" in line for line in logs) == 2, logs


def test_an_unknown_instrument_gets_an_error_answer_and_the_others_flow(
    loop: tuple[LoopbackWorld, InProcessHub], client: Client
) -> None:
    hub = loop[1]
    with gateway(loop, "q-unknown", [RB, "zz17.SHFE"]):
        client.read(2.0)
        logs = hub.logs("q-unknown")
    # ErrorMsg travelled as GB18030 from the front and reached the log readable.
    assert any("行情订阅失败，代码：16，信息：CTP:找不到合约" in line for line in logs), logs
    assert {t["symbol"] for t in from_source(client, "q-unknown")} == {RB.split(".")[0]}


def test_a_front_that_stalls_with_the_connection_open_is_left_on_heartbeat_timeout_and_rejoined(
    loop: tuple[LoopbackWorld, InProcessHub], client: Client
) -> None:
    world, hub = loop
    with gateway(loop, "q-stall", [RB]):
        assert world.control(cmd="stall", user="q-stall", seconds=30)["connections"] == 1
        stalled_at = time.monotonic()
        # No frame for the front's heartbeat timeout (3 s): the library gives up on it.
        wait_for(lambda: not hub.status("q-stall").get("logged_in"), timeout=6)
        left_after = time.monotonic() - stalled_at
        wait_for(lambda: hub.status("q-stall").get("logged_in"), timeout=6)
        since = time.time_ns()
        client.read(1.5)
        logs = hub.logs("q-stall")
        status = hub.status("q-stall")
    assert 2.5 < left_after < 5.0, left_after
    assert any("行情服务器连接断开，原因8193" in line for line in logs), logs  # 0x2001
    assert status["reconnects"] == 1
    assert any(t["recv_ns"] > since for t in from_source(client, "q-stall"))  # flowing again


def test_a_warm_standby_unsubscribes_through_the_gateway_and_stops_delivering(
    loop: tuple[LoopbackWorld, InProcessHub], client: Client
) -> None:
    world, hub = loop
    with gateway(loop, "q-standby", [RB, CZCE[0]]):
        client.read(1.0)
        hub.calls.put(lambda tick_hub: tick_hub.unsubscribe_upstream([RB], "q-standby"))
        wait_for(lambda: subscribed_at_front(world, "q-standby") == [CZCE[0].split(".")[0]])
        since = time.time_ns()
        client.read(1.5)
    after = [t["symbol"] for t in from_source(client, "q-standby") if t["recv_ns"] > since + 50_000_000]
    assert after and set(after) == {CZCE[0].split(".")[0]}, after
