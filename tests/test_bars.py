"""Bar rules against hand-built tick sequences (services.bars); the clock is a fixed ``now``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from aggregation.sessions import default_calendar
from aggregation.wire import datetime_ns
from services.bars import BarService
from services.base import Record
from services.sections import CHINA_TZ, SessionClock


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def tick(vt_symbol: str, when: str, volume: float, price: float, turnover: float = 0.0) -> dict[str, Any]:
    symbol, exchange = vt_symbol.rsplit(".", 1)
    return {
        "symbol": symbol,
        "exchange": exchange,
        "datetime": datetime_ns(at(when)),
        "volume": volume,
        "turnover": turnover,
        "open_interest": 1000.0,
        "last_price": price,
    }


class Feed:
    """A bar service fed ticks that arrive 100 ms after their exchange time."""

    def __init__(self, **kwargs: Any) -> None:
        self.service = BarService(SessionClock(default_calendar()), **kwargs)
        self.records: list[Record] = []

    def tick(self, vt_symbol: str, when: str, volume: float, price: float, turnover: float = 0.0) -> None:
        now = at(when) + timedelta(milliseconds=100)
        self.records += self.service.on_tick(tick(vt_symbol, when, volume, price, turnover), now)

    def clock(self, when: str) -> None:
        self.records += self.service.on_timer(at(when))

    def bars(self, interval: str = "1m") -> list[dict[str, Any]]:
        return [r.fields for r in self.records if r.topic.startswith(f"bar.{interval}.")]

    def starts(self, interval: str = "1m") -> list[str]:
        return [
            datetime.fromtimestamp(b["datetime"] / 1e9, CHINA_TZ).strftime("%H:%M")
            for b in self.bars(interval)
        ]


def test_it_puts_the_auction_tick_into_the_first_bar_and_counts_volume_from_the_day_start() -> None:
    # Live hogs (DCE lh) have no night session: 09:00 starts their trading day.
    feed = Feed(intervals=("1m",))
    feed.tick("lh2605.DCE", "2026-03-09 08:59:00", 100, 3500, 3_500_000)
    feed.tick("lh2605.DCE", "2026-03-09 09:00:30", 130, 3510, 4_553_000)
    feed.tick("lh2605.DCE", "2026-03-09 09:01:10", 150, 3490, 5_251_000)
    [bar] = feed.bars()
    assert feed.records[0].topic == "bar.1m.lh2605.DCE"
    assert feed.starts() == ["09:00"]
    assert (bar["open_price"], bar["high_price"], bar["low_price"], bar["close_price"]) == (
        3500,
        3510,
        3500,
        3510,
    )
    assert bar["volume"] == 130 and bar["turnover"] == 4_553_000
    assert bar["complete"] and not bar["flat"] and bar["trading_day"] == "2026-03-09"


def test_it_closes_a_sections_last_bar_by_the_clock_with_the_section_end_tick_in_it() -> None:
    feed = Feed(intervals=("1m", "1h"))
    feed.tick("lh2605.DCE", "2026-03-09 08:59:00", 100, 3500)
    feed.tick("lh2605.DCE", "2026-03-09 10:14:59.500000", 200, 3501)
    feed.tick("lh2605.DCE", "2026-03-09 10:15:00", 210, 3502)
    feed.clock("2026-03-09 10:15:01")  # within the grace a closing tick may take
    assert "10:14" not in feed.starts()
    feed.clock("2026-03-09 10:15:02.100000")
    last = feed.bars()[-1]
    assert feed.starts()[-1] == "10:14" and last["close_price"] == 3502 and last["volume"] == 110
    assert feed.starts("1h") == ["09:00", "10:00"]
    assert feed.bars("1h")[-1]["end"] == datetime_ns(at("2026-03-09 10:15:00"))


def test_an_hour_bar_does_not_straddle_the_morning_break() -> None:
    feed = Feed(intervals=("1h",))
    feed.tick("lh2605.DCE", "2026-03-09 09:00:00.500000", 10, 3500)
    feed.tick("lh2605.DCE", "2026-03-09 10:10:00", 20, 3501)
    feed.tick("lh2605.DCE", "2026-03-09 10:30:00.500000", 30, 3502)
    feed.tick("lh2605.DCE", "2026-03-09 11:29:00", 40, 3503)
    feed.tick("lh2605.DCE", "2026-03-09 13:30:00.500000", 50, 3504)
    assert feed.starts("1h") == ["09:00", "10:00", "10:30"]
    assert [b["volume"] for b in feed.bars("1h")] == [10, 10, 20]


def test_a_day_first_seen_after_its_night_session_counts_no_volume_it_did_not_see() -> None:
    # rb trades at night: the 08:59 auction tick's cumulative volume includes the night's.
    feed = Feed(intervals=("1m",))
    feed.tick("rb2605.SHFE", "2026-03-09 08:59:00", 100, 3500)
    feed.tick("rb2605.SHFE", "2026-03-09 09:00:30", 130, 3510)
    feed.clock("2026-03-09 09:01:03")
    [bar] = feed.bars()
    assert bar["volume"] == 30 and bar["complete"] is False


def test_night_session_past_midnight_belongs_to_the_next_trading_day() -> None:
    # Friday night gold runs into Saturday 02:30; it is Monday's trading day.
    feed = Feed(intervals=("1h", "d"), emit_flat=False)
    feed.tick("au2606.SHFE", "2026-03-06 20:59:00", 5, 600.0)
    feed.tick("au2606.SHFE", "2026-03-06 23:59:59", 15, 601.0)
    feed.tick("au2606.SHFE", "2026-03-07 00:30:00", 25, 602.0)
    feed.tick("au2606.SHFE", "2026-03-07 02:30:00", 30, 603.0)
    feed.clock("2026-03-07 02:30:03")
    assert feed.starts("1h") == ["21:00", "23:00", "00:00", "02:00"]
    assert {b["trading_day"] for b in feed.bars("1h")} == {"2026-03-09"}
    assert feed.bars("1h")[-1]["close_price"] == 603.0
    feed.tick("au2606.SHFE", "2026-03-09 09:00:00.500000", 40, 604.0)
    feed.clock("2026-03-09 15:00:03")
    [day] = feed.bars("d")
    assert day["trading_day"] == "2026-03-09" and day["datetime"] == datetime_ns(at("2026-03-09 00:00"))
    assert (day["open_price"], day["close_price"], day["volume"]) == (600.0, 604.0, 40)


def test_czce_night_close_tick_goes_into_the_last_bar_and_same_second_stamps_are_fine() -> None:
    feed = Feed(intervals=("1m",))
    feed.tick("SR605.CZCE", "2026-03-09 21:00:00", 10, 6000)
    feed.tick("SR605.CZCE", "2026-03-09 22:59:59", 20, 6001)
    feed.tick("SR605.CZCE", "2026-03-09 22:59:59", 25, 6002)
    feed.tick("SR605.CZCE", "2026-03-09 23:00:00", 30, 6003)
    feed.clock("2026-03-09 23:00:03")
    last = feed.bars()[-1]
    assert feed.starts()[-1] == "22:59" and last["volume"] == 20 and last["close_price"] == 6003
    assert last["trading_day"] == "2026-03-10"


def test_no_night_session_before_a_holiday_and_the_day_after_starts_at_its_morning() -> None:
    feed = Feed(intervals=("1m",))
    # 2026-09-30 (Wednesday) is followed by the National Day closure: no night session.
    feed.tick("rb2701.SHFE", "2026-09-30 21:30:00", 10, 3500)
    assert feed.records == [] and feed.service.counters["outside_session"] == 1
    feed.tick("rb2701.SHFE", "2026-10-08 08:59:00", 50, 3520)
    feed.tick("rb2701.SHFE", "2026-10-08 09:01:00.500000", 60, 3521)
    [bar] = feed.bars()
    assert feed.starts() == ["09:00"] and bar["volume"] == 50 and bar["trading_day"] == "2026-10-08"


def test_the_login_replay_makes_no_bar_and_a_bar_joined_midway_says_it_is_incomplete() -> None:
    service = BarService(SessionClock(default_calendar()), intervals=("1m",))
    now = at("2026-03-09 10:05:20")
    # CTP replays the last snapshot at login: stamped minutes ago.
    assert service.on_tick(tick("rb2605.SHFE", "2026-03-09 09:58:00", 500, 3500), now) == []
    assert service.counters["stale_tick"] == 1
    service.on_tick(tick("rb2605.SHFE", "2026-03-09 10:05:20", 520, 3505), now)
    [record] = service.on_timer(at("2026-03-09 10:06:03"))
    assert record.fields["volume"] == 20 and record.fields["complete"] is False


def test_flat_bars_carry_the_last_price_and_can_be_switched_off() -> None:
    for emit_flat in (True, False):
        feed = Feed(intervals=("1m",), emit_flat=emit_flat)
        feed.tick("lh2605.DCE", "2026-03-09 09:00:10", 10, 3500)
        feed.tick("lh2605.DCE", "2026-03-09 09:00:20", 10, 3500)  # a quote change, no trade
        feed.clock("2026-03-09 09:03:03")
        if emit_flat:
            assert feed.starts() == ["09:00", "09:01", "09:02"]
            assert [b["flat"] for b in feed.bars()] == [False, True, True]
            assert feed.bars()[1]["close_price"] == 3500 and feed.bars()[1]["volume"] == 0
        else:
            assert feed.starts() == ["09:00"]


def test_cffex_auction_lunch_and_close() -> None:
    feed = Feed(intervals=("30m",))
    feed.tick("IF2603.CFFEX", "2026-03-09 09:25:00", 100, 4000)
    feed.tick("IF2603.CFFEX", "2026-03-09 11:30:00", 200, 4010)
    feed.tick("IF2603.CFFEX", "2026-03-09 13:00:00.500000", 250, 4020)
    feed.clock("2026-03-09 15:00:03")
    assert feed.starts("30m") == ["09:30", "10:00", "10:30", "11:00", "13:00", "13:30", "14:00", "14:30"]
    bars = feed.bars("30m")
    assert bars[0]["volume"] == 100 and bars[3]["close_price"] == 4010 and bars[3]["volume"] == 100
    assert [b["flat"] for b in bars] == [False, True, True, False, False, True, True, True]


def test_sse_closing_auction_is_part_of_the_last_bar() -> None:
    feed = Feed(intervals=("5m",), emit_flat=False)
    feed.tick("10008123.SSE", "2026-03-09 14:56:00", 10, 0.1)
    feed.tick("10008123.SSE", "2026-03-09 15:00:00", 30, 0.12)
    feed.clock("2026-03-09 15:00:03")
    [bar] = feed.bars("5m")
    assert feed.starts("5m") == ["14:55"] and bar["volume"] == 20 and bar["close_price"] == 0.12


def test_bad_ticks_are_counted_and_dropped() -> None:
    service = BarService(SessionClock(default_calendar()))
    assert service.on_tick({"symbol": "rb2605"}, at("2026-03-09 09:00:00")) == []
    assert service.counters["bad_tick"] == 1


def test_an_unknown_interval_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="1m, 5m"):
        BarService(SessionClock(default_calendar()), intervals=("2m",))
