"""MdhubGateway on vn.py's own EventEngine, against a running hub (docs/vnpy.md)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vnpy.event import Event, EventEngine
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Product
from vnpy.trader.event import EVENT_CONTRACT, EVENT_LOG, EVENT_TICK
from vnpy.trader.object import ContractData, OrderRequest, SubscribeRequest, TickData

from mdhub_client.vnpy_gateway import MdhubGateway
from tests.hub_process import HubProcess
from tests.zmq_helpers import free_port, wait_for


class Seen:
    """What vn.py's event engine carried, as an app would see it."""

    def __init__(self, engine: EventEngine) -> None:
        self.lock = threading.Lock()
        self.contracts: dict[str, ContractData] = {}
        self.ticks: list[TickData] = []
        self.logs: list[str] = []
        engine.register(EVENT_CONTRACT, self.on_contract)
        engine.register(EVENT_TICK, self.on_tick)
        engine.register(EVENT_LOG, self.on_log)

    def on_contract(self, event: Event) -> None:
        self.contracts[event.data.vt_symbol] = event.data  # as vn.py's OmsEngine stores them

    def on_tick(self, event: Event) -> None:
        with self.lock:
            self.ticks.append(event.data)

    def on_log(self, event: Event) -> None:
        self.logs.append(event.data.msg)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path_factory.mktemp("hub"), MDHUB_SIM_RATE="5")
    process.manage("migrate", "--noinput")
    process.manage("seed_demo")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def engine() -> Iterator[EventEngine]:
    events = EventEngine()
    yield events
    events.stop()


def test_it_lists_the_hubs_contracts_and_gives_a_snapshot_then_live_ticks(
    hub: HubProcess, engine: EventEngine
) -> None:
    seen = Seen(engine)
    gateway = MdhubGateway(engine)
    engine.start()
    dead_hub = f"tcp://127.0.0.1:{free_port()}"  # a second hub that is down: costs nothing
    gateway.connect(
        {
            "hub PUB addresses": f"{dead_hub},{hub.pub_addr}",
            "snapshot addresses": f"tcp://127.0.0.1:{free_port()},{hub.snap_addr}",
            "recovery addresses": "",
            "topics": "",
        }
    )
    try:
        wait_for(
            lambda: any(c.vt_symbol.startswith("rb") for c in seen.contracts.values()), timeout=45, step=0.2
        )
        rb = next(c for c in seen.contracts.values() if c.vt_symbol.startswith("rb"))
        assert rb.gateway_name == "MDHUB" and rb.product is Product.FUTURES and rb.exchange is Exchange.SHFE
        options = [c for c in seen.contracts.values() if c.product is Product.OPTION]
        assert all(c.gateway_name == "MDHUB" for c in seen.contracts.values())
        assert not seen.ticks, "ticks before any subscription"

        gateway.subscribe(SubscribeRequest(rb.symbol, rb.exchange))
        wait_for(lambda: len(seen.ticks) >= 8, timeout=10)
    finally:
        gateway.close()
    with seen.lock:
        ticks = list(seen.ticks)
    assert {t.vt_symbol for t in ticks} == {rb.vt_symbol}
    assert {t.gateway_name for t in ticks} == {"MDHUB"}
    assert all(str(t.datetime.tzinfo) == "Asia/Shanghai" for t in ticks)
    # The snapshot first, then every live tick once, in exchange-time order.
    stamps = [t.datetime for t in ticks]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert any(f"connected to hub {hub.pub_addr}" in log for log in seen.logs), seen.logs
    assert any("contracts from hub" in log for log in seen.logs), seen.logs
    assert options or len(seen.contracts) >= 5


def test_it_refuses_orders_and_says_why(engine: EventEngine) -> None:
    seen = Seen(engine)
    gateway = MdhubGateway(engine)
    engine.start()
    order = OrderRequest("rb2601", Exchange.SHFE, Direction.LONG, OrderType.LIMIT, 1, 3500.0, Offset.OPEN)

    assert gateway.send_order(order) == ""
    wait_for(lambda: seen.logs)
    assert "rb2601.SHFE refused" in seen.logs[0] and "route_market_data" in seen.logs[0]
    assert gateway.refused_orders == 1


def test_a_trading_gateways_contract_wins_even_when_the_hubs_comes_later(engine: EventEngine) -> None:
    seen = Seen(engine)
    gateway = MdhubGateway(engine)
    engine.start()
    terms: dict[str, Any] = {
        "symbol": "IF2601",
        "exchange": Exchange.CFFEX,
        "name": "IF2601",
        "product": Product.FUTURES,
    }
    theirs = ContractData(gateway_name="CTP", size=300, pricetick=0.2, **terms)
    ours = ContractData(gateway_name="MDHUB", size=1, pricetick=0.01, **terms)
    engine.put(Event(EVENT_CONTRACT, theirs))
    # Ours queued right behind theirs, as when the hub's universe arrives in that instant.
    gateway.on_contract(ours)
    wait_for(lambda: seen.contracts.get("IF2601.CFFEX") is theirs, timeout=5)
    # And a later universe read does not list it again.
    assert gateway._push_contracts({"IF2601.CFFEX": {"symbol": "IF2601", "exchange": "CFFEX"}}) == 0


def test_a_setting_it_cannot_use_is_logged_with_what_to_write(engine: EventEngine, tmp_path: Path) -> None:
    seen = Seen(engine)
    gateway = MdhubGateway(engine)
    engine.start()
    setting: dict[str, Any] = {
        "hub PUB addresses": "tcp://127.0.0.1:5555,tcp://127.0.0.2:5555",
        "snapshot addresses": "tcp://127.0.0.1:5556",
    }
    gateway.connect(setting)
    gateway.connect({"hub PUB addresses": "127.0.0.1:5555"})
    wait_for(lambda: len(seen.logs) >= 2)
    assert "lists 1 addresses for 2 hubs" in seen.logs[0]
    assert "tcp://127.0.0.1:5555" in seen.logs[1] and "not a ZeroMQ endpoint" in seen.logs[1]
    assert gateway._thread is None
