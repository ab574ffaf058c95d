"""Dates on ticks: the worker dates vnpy_ctp's DCE ticks from the exchange's clock, across
midnight, under a controlled clock (the loopback front's and the worker's, shifted alike to
a Friday night just before midnight); and each exchange's ActionDay/TradingDay habits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zmq

from aggregation.exchange_time import CHINA_TZ
from gateways.exchange_date import ExchangeDate
from gateways.loopback.front import exchange_days, trading_day
from tests.loopback_helpers import FUTURES, Client, InProcessHub, LoopbackWorld, broker_spec

FRIDAY_NIGHT = datetime(2026, 12, 4, 21, 30, tzinfo=CHINA_TZ)
MIDNIGHT = datetime(2026, 12, 5, 0, 0, tzinfo=CHINA_TZ)  # Friday → Saturday


def ns(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000_000


def test_exchange_date_keeps_a_late_stamp_on_the_day_before_and_an_early_one_on_the_day() -> None:
    now = [ns(MIDNIGHT) + 200_000_000]  # 00:00:00.2 Saturday
    dates = ExchangeDate(lambda: now[0])
    assert dates.for_time("23:59:59") == "20261204"
    assert dates.for_time("00:00:00") == "20261205"
    now[0] = ns(MIDNIGHT) - 1_000_000_000  # 23:59:59 Friday
    assert dates.for_time("23:59:59") == "20261204"
    assert dates.for_time("00:00:01") == "20261205"  # a fast front's clock, a second ahead
    now[0] = ns(MIDNIGHT) + 9 * 3600 * 1_000_000_000  # 09:00 Saturday, a day later
    assert dates.for_time("09:00:00") == "20261205"


def test_the_front_fills_trading_and_action_days_as_each_exchange_does() -> None:
    assert trading_day(FRIDAY_NIGHT).isoformat() == "2026-12-07"  # Friday night → Monday
    # DCE: ActionDay is the trading day at night; CZCE: TradingDay is the calendar day.
    assert exchange_days("DCE", FRIDAY_NIGHT, True) == ("20261207", "20261207")
    assert exchange_days("CZCE", FRIDAY_NIGHT, True) == ("20261204", "20261204")
    assert exchange_days("SHFE", FRIDAY_NIGHT, True) == ("20261207", "20261204")
    assert exchange_days("DCE", FRIDAY_NIGHT, False) == ("20261207", "20261204")
    saturday_early = MIDNIGHT + timedelta(hours=1)
    assert exchange_days("SHFE", saturday_early, True) == ("20261207", "20261205")


@pytest.fixture
def midnight_world(tmp_path: Path) -> Iterator[tuple[LoopbackWorld, InProcessHub, float]]:
    # The worker needs ~3 s to import vn.py and log in: start 4 s before midnight.
    offset = (ns(MIDNIGHT) - 4_000_000_000 - time.time_ns()) / 1e9
    world = LoopbackWorld(tmp_path, rate=4.0, clock_offset=offset)
    world.start()
    try:
        with InProcessHub(tmp_path) as hub:
            yield world, hub, offset
    finally:
        world.stop()


def test_a_worker_that_lives_across_midnight_dates_the_new_days_dce_ticks_right(
    midnight_world: tuple[LoopbackWorld, InProcessHub, float],
) -> None:
    world, hub, offset = midnight_world
    ctx: zmq.Context[Any] = zmq.Context()
    try:
        client = Client(ctx, hub)
        subscriptions = [s for s in FUTURES if s.split(".")[1] in ("DCE", "CZCE", "SHFE")]
        spec = broker_spec(world, hub, "ctp-night", subscriptions=subscriptions, loopback_clock_offset=offset)
        hub.manager.start(spec)
        hub.wait_logged_in("ctp-night")
        # Read until the front's clock is 2.5 s into Saturday.
        client.read(8.0, until=lambda: time.time() + offset > MIDNIGHT.timestamp() + 2.5)
        status = hub.status("ctp-night")
    finally:
        ctx.destroy(linger=0)
    assert status["drops"] == {}, status  # vn.py's frozen current_date: every DCE tick clock_skew
    for vt_symbol in subscriptions:
        ticks = client.got[vt_symbol]
        stamps = [datetime.fromtimestamp(t["datetime"] / 1e9, CHINA_TZ) for t in ticks]
        assert {s.date().isoformat() for s in stamps} == {"2026-12-04", "2026-12-05"}, (vt_symbol, stamps)
        # Each dated within a second of the (shifted) moment it was received.
        for tick in ticks:
            assert abs(tick["datetime"] - (tick["recv_ns"] + offset * 1e9)) < 1.5e9, (vt_symbol, tick)
