"""The client library reads the data services' records like ticks: ``bar.`` and ``greeks.``
topics from a real hub (runhub with three sim sources, its bar and Greeks services)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import BarData

from aggregation.client import HubAddress, HubClient, Subscription, normalise_topic
from aggregation.records import record_key, to_bar_data
from gateways.simoptions import SIM_RATE

# 42 contracts: the demo's plus IF2612's at-the-money IO pair (gateways.simexchange order).
CONTRACTS = "42"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.hub_process import HubProcess

    process = HubProcess(
        tmp_path_factory.mktemp("records"),
        MDHUB_SIM_RATE="5",
        MDHUB_SIM_CONTRACTS=CONTRACTS,
        MDHUB_SERVICES="bars,greeks",
        MDHUB_BARS_INTERVALS="5s,1m",
        MDHUB_BARS_GRACE_MS="300",
        MDHUB_GREEKS_THROTTLE_MS="200",
        MDHUB_GREEKS_RATE=str(SIM_RATE),
    )
    process.manage("migrate", "--noinput")
    process.manage("seed_demo")
    process.start()
    yield process
    process.stop()


def address(hub: Any) -> HubAddress:
    return HubAddress(hub.pub_addr, hub.snap_addr)


def test_record_topics_stay_record_topics() -> None:
    assert normalise_topic("bar.1m.") == "bar.1m."
    assert normalise_topic("bar.5s.rb2705.SHFE") == "bar.5s.rb2705.SHFE"
    assert normalise_topic("greeks") == "greeks."
    assert normalise_topic("bar") == "bar."
    assert normalise_topic("rb") == "tick.rb"
    sub = Subscription.parse(["bar", "greeks.IO", "rb"])
    assert sub.prefixes == (b"bar.", b"greeks.IO", b"tick.rb")
    assert sub.wants(b"bar.1m.rb2705.SHFE") and sub.wants(b"greeks.IO2612-C-4600.CFFEX")
    assert not sub.wants(b"greeks.MO2612-C-7200.CFFEX") and not sub.wants(b"tick.rbx")


def test_a_bar_record_becomes_vnpy_bar_data_with_what_vnpy_has_no_field_for_in_extra() -> None:
    fields: dict[str, Any] = {
        "v": 1, "symbol": "rb2705", "exchange": "SHFE", "datetime": 1_796_000_000_000_000_000,
        "interval": "1m", "volume": 12.0, "turnover": 372_000.0, "open_interest": 9.0,
        "open_price": 3100.0, "high_price": 3102.0, "low_price": 3099.0, "close_price": 3101.0,
        "end": 1_796_000_060_000_000_000, "trading_day": "2026-12-01", "flat": False,
        "complete": True, "ticks": 30, "source": "svc-bars", "seq": 4, "epoch": 7,
    }  # fmt: skip
    bar = to_bar_data(fields)
    assert (bar.vt_symbol, bar.interval, bar.close_price, bar.volume) == (
        "rb2705.SHFE",
        Interval.MINUTE,
        3101.0,
        12.0,
    )
    assert bar.datetime.utcoffset() == timedelta(hours=8)  # exchange time, Asia/Shanghai
    assert bar.extra is not None and bar.extra["trading_day"] == "2026-12-01" and bar.extra["seq"] == 4
    assert to_bar_data({**fields, "interval": "5s"}).interval is None  # vn.py has no 5s Interval
    # The content key leaves out the hub's own fields: the same bar from two hubs is one bar.
    other_hub = {**fields, "source": "svc-bars-2", "seq": 99, "epoch": 8}
    assert record_key(fields["datetime"], fields) == record_key(fields["datetime"], other_hub)
    assert record_key(fields["datetime"], fields) != record_key(
        fields["datetime"], {**fields, "volume": 13.0}
    )


def atm_pair(greeks: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
    """A priced call and put of one IO month at the simulator's centre strike (4600)."""
    for symbol in sorted(greeks):
        match = re.fullmatch(r"IO(\d{4})-C-4600", symbol)
        if match and f"IO{match.group(1)}-P-4600" in greeks:
            return symbol, f"IO{match.group(1)}-P-4600"
    return None


def test_a_client_gets_bars_as_vnpy_bar_data_and_greeks_from_a_running_hub(hub: Any) -> None:
    bars: list[BarData] = []
    greeks: dict[str, dict[str, Any]] = {}
    with HubClient(address(hub), ["bar.5s.", "greeks.IO"], as_tick_data=True) as client:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and (len({b.vt_symbol for b in bars}) < 5 or not atm_pair(greeks)):
            item = client.recv(0.5)
            if isinstance(item, BarData):
                bars.append(item)
            elif isinstance(item, dict):
                # The first records of an option may come before its underlying's first tick
                # (no model yet, and a reason saying so): keep the priced ones.
                if item.get("model") is not None:
                    greeks[item["symbol"]] = item
            else:
                assert item is None, f"a tick came on record topics: {item!r}"
        stats = client.stats()
    assert len({b.vt_symbol for b in bars}) >= 5, (stats, hub.log()[-3000:])
    bar = bars[-1]
    assert bar.extra is not None and bar.extra["interval"] == "5s" and bar.interval is None
    assert bar.gateway_name == "svc-bars" and bar.high_price >= bar.low_price > 0
    assert bar.datetime.tzinfo is not None and bar.datetime.second % 5 == 0
    assert {b.exchange for b in bars} <= set(Exchange)
    assert stats["bad"] == 0 and stats["gaps"] == 0
    # The at-the-money IO pair over the front IF month (whichever it is today): the
    # simulator's smile is 18 % at the money.
    pair = atm_pair(greeks)
    assert pair, sorted(greeks)
    for symbol in pair:
        record = greeks[symbol]
        assert record["source"] == "svc-greeks" and record["model"] == "black76"
        assert record["iv_mid"] == pytest.approx(0.18, abs=0.03), record
        assert record["reason"] is None and record["delta"] is not None


def test_a_late_client_starts_from_the_hubs_last_bars_then_goes_live_without_duplicates(hub: Any) -> None:
    # The hub keeps the last record per topic for snapshots, as for ticks.
    with HubClient(address(hub), ["bar.5s."]) as client:
        first = [client.recv(10.0) for _ in range(3)]
        assert all(isinstance(item, dict) for item in first), first
        deadline = time.monotonic() + 12
        seen: dict[str, list[int]] = {}
        while time.monotonic() < deadline:
            item = client.recv(0.5)
            if item is not None:
                seen.setdefault(item["symbol"], []).append(item["datetime"])
        stats = client.stats()
    assert stats["snapshot_ticks"] >= 3, stats
    assert stats["duplicates"] == 0 and stats["gaps"] == 0 and stats["bad"] == 0, stats
    # Live bars went on after the snapshot, each bar start once per contract, in order.
    assert any(len(starts) >= 2 for starts in seen.values()), seen
    for starts in seen.values():
        assert starts == sorted(set(starts)), starts
