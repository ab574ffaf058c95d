"""Each cleansing rule, built from quirks real CTP fronts show."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from vnpy.trader.constant import Exchange
from vnpy.trader.object import TickData

from aggregation.cleanse import RULES, Cleanser
from aggregation.sessions import CHINA_TZ, default_calendar
from aggregation.wire import datetime_ns

DBL_MAX = 1.7976931348623157e308
# A Wednesday, 10:00 in Shanghai: the day session is open.
OPEN = datetime(2026, 11, 18, 10, 0, 0, tzinfo=CHINA_TZ)


def make_tick(dt: datetime = OPEN, **fields: Any) -> TickData:
    values: dict[str, Any] = {
        "volume": 1000.0,
        "turnover": 3.1e7,
        "open_interest": 2e5,
        "last_price": 3100.0,
        "limit_up": 3300.0,
        "limit_down": 2900.0,
        "open_price": 3090.0,
        "high_price": 3110.0,
        "low_price": 3080.0,
        "pre_close": 3095.0,
    }
    for level in range(1, 6):
        values[f"bid_price_{level}"] = 3100.0 - level
        values[f"ask_price_{level}"] = 3100.0 + level
        values[f"bid_volume_{level}"] = 10.0
        values[f"ask_volume_{level}"] = 12.0
    values.update(fields)
    symbol = values.pop("symbol", "rb2601")
    exchange = values.pop("exchange", Exchange.SHFE)
    return TickData(gateway_name="t", symbol=symbol, exchange=exchange, datetime=dt, **values)


def cleanser(now: datetime = OPEN, calendar: bool = True) -> Cleanser:
    return Cleanser(calendar=default_calendar() if calendar else None, clock_ns=lambda: datetime_ns(now))


def test_a_normal_tick_passes() -> None:
    c = cleanser()
    assert c.check(make_tick()) is None
    assert c.passed == 1 and not c.drops


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_a_price_that_is_not_finite_or_negative_is_dropped(value: float) -> None:
    assert cleanser().check(make_tick(last_price=value)) == "price_invalid"


def test_ctp_empty_value_in_the_book_becomes_zero_and_the_tick_is_kept() -> None:
    # CTP sends DBL_MAX for book levels that have no order.
    tick = make_tick(bid_price_5=DBL_MAX, ask_price_5=DBL_MAX, open_price=DBL_MAX)
    assert cleanser().check(tick) is None
    assert (tick.bid_price_5, tick.ask_price_5, tick.open_price) == (0.0, 0.0, 0.0)


def test_a_tick_with_no_price_at_all_is_dropped() -> None:
    tick = make_tick(last_price=DBL_MAX, bid_price_1=DBL_MAX, ask_price_1=DBL_MAX)
    assert cleanser().check(tick) == "no_price"


def test_an_option_quote_with_no_trade_and_zero_volume_is_kept() -> None:
    quote = make_tick(
        symbol="10008888",
        exchange=Exchange.SSE,
        last_price=0.0,
        volume=0.0,
        turnover=0.0,
        limit_up=0.0,
        limit_down=0.0,
        bid_price_1=0.2,
        ask_price_1=0.21,
        dt=OPEN.replace(hour=10),
    )
    assert cleanser().check(quote) is None


@pytest.mark.parametrize("field", ["volume", "turnover", "open_interest"])
def test_negative_quantities_are_dropped(field: str) -> None:
    values: dict[str, Any] = {field: -5.0}
    assert cleanser().check(make_tick(OPEN, **values)) == "quantity_negative"


def test_cumulative_volume_going_backwards_within_a_day_is_dropped() -> None:
    c = cleanser()
    assert c.check(make_tick(volume=1000.0)) is None
    assert c.check(make_tick(OPEN + timedelta(seconds=1), volume=990.0)) == "volume_backwards"
    assert c.check(make_tick(OPEN + timedelta(seconds=2), volume=1000.0)) is None


def test_volume_restarting_at_a_new_trading_day_is_kept() -> None:
    day_end = OPEN.replace(hour=14, minute=59)
    night = OPEN.replace(hour=21, minute=1)
    c = cleanser(now=night)
    c.clock_ns = lambda: datetime_ns(day_end)
    assert c.check(make_tick(day_end, volume=500_000.0)) is None
    c.clock_ns = lambda: datetime_ns(night)
    assert c.check(make_tick(night, volume=120.0)) is None


def test_last_price_outside_the_limits_is_dropped() -> None:
    assert cleanser().check(make_tick(last_price=3301.0)) == "outside_limits"
    assert cleanser().check(make_tick(last_price=2899.0)) == "outside_limits"


def test_a_crossed_book_is_dropped_in_continuous_trading_but_kept_in_the_auction() -> None:
    assert cleanser().check(make_tick(bid_price_1=3102.0, ask_price_1=3101.0)) == "crossed_book"
    auction = OPEN.replace(hour=8, minute=58)
    assert cleanser(now=auction).check(make_tick(auction, bid_price_1=3102.0, ask_price_1=3101.0)) is None


def test_the_stale_snapshot_replayed_at_login_is_dropped_by_the_clock_rule() -> None:
    # At login CTP replays the last snapshot of the previous session: minutes or hours old.
    c = cleanser(now=OPEN)
    assert c.check(make_tick(OPEN - timedelta(minutes=5))) == "clock_skew"
    assert c.check(make_tick(OPEN + timedelta(minutes=2))) == "clock_skew"


def test_ticks_outside_the_session_are_dropped_but_the_closing_ticks_are_kept() -> None:
    lunch = OPEN.replace(hour=12, minute=30)
    assert cleanser(now=lunch).check(make_tick(lunch)) == "outside_session"
    for hour, minute in ((10, 15), (11, 30), (15, 0)):
        closing = OPEN.replace(hour=hour, minute=minute, second=0, microsecond=500_000)
        assert cleanser(now=closing).check(make_tick(closing)) is None, (hour, minute)
    auction = OPEN.replace(hour=20, minute=59)
    assert cleanser(now=auction).check(make_tick(auction)) is None


def test_a_malformed_tick_is_counted_not_raised() -> None:
    tick = make_tick()
    setattr(tick, "last_price", "3100")  # noqa: B010 - a wrong type on purpose
    c = cleanser()
    assert c.check(tick) == "malformed"
    assert c.drops["malformed"] == 1


def test_every_drop_is_counted_by_rule() -> None:
    c = cleanser()
    c.check(make_tick(last_price=-1.0))
    c.check(make_tick(last_price=-2.0))
    c.check(make_tick(volume=-1.0))
    assert c.counts() == {"price_invalid": 2, "quantity_negative": 1}
    assert set(c.counts()) <= set(RULES)
