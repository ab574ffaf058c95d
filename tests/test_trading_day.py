"""Every tick belongs to one trading day (aggregation.journal_day.trading_day, with the
trading calendar's holidays): a night session to the next trading day, Friday night to
Monday, holidays skipped. The journal names its files by it and the recording partitions
by it."""

from __future__ import annotations

from datetime import date

import pytest

from aggregation.journal_day import trading_day, weekdays
from aggregation.sessions import default_calendar
from aggregation.wire import datetime_ns
from tests.recording_helpers import china

CALENDAR = default_calendar()


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        # A day session is its own trading day.
        ("2026-12-01 08:59:00", "2026-12-01"),
        ("2026-12-01 15:00:00", "2026-12-01"),
        # Tuesday night and its small hours belong to Wednesday.
        ("2026-12-01 20:59:00", "2026-12-02"),
        ("2026-12-01 23:59:59.500", "2026-12-02"),
        ("2026-12-02 00:00:00", "2026-12-02"),
        ("2026-12-02 02:30:00", "2026-12-02"),
        # Friday night and Saturday's small hours belong to Monday.
        ("2026-11-27 21:00:00", "2026-11-30"),
        ("2026-11-28 01:00:00", "2026-11-30"),
        # Before Qingming (Monday 2026-04-06 closed): Friday's night would be Tuesday's.
        ("2026-04-03 21:00:00", "2026-04-07"),
        # The last day before National Day (1-7 October closed, 8th trades).
        ("2026-09-30 14:59:00", "2026-09-30"),
        ("2026-09-30 21:00:00", "2026-10-08"),
        # A weekend or holiday afternoon (no market) counts towards the next trading day.
        ("2026-10-03 10:00:00", "2026-10-08"),
        ("2026-11-29 10:00:00", "2026-11-30"),
    ],
)
def test_a_tick_belongs_to_the_trading_day_of_the_calendar(moment: str, day: str) -> None:
    assert trading_day(datetime_ns(china(moment)), CALENDAR.is_trading_day) == date.fromisoformat(day)


def test_without_a_calendar_only_weekends_are_skipped() -> None:
    # Qingming is a holiday of the calendar, not of the weekday rule.
    assert trading_day(datetime_ns(china("2026-04-03 21:00:00")), weekdays) == date(2026, 4, 6)
    assert trading_day(datetime_ns(china("2026-04-06 10:00:00")), weekdays) == date(2026, 4, 6)
    assert trading_day(datetime_ns(china("2026-04-06 10:00:00")), CALENDAR.is_trading_day) == date(2026, 4, 7)


def test_the_day_turns_at_the_evening_not_at_midnight_utc() -> None:
    # 16:00 UTC is midnight in Beijing: the server's zone must not matter.
    assert trading_day(datetime_ns(china("2026-12-01 17:59:59")), CALENDAR.is_trading_day) == date(
        2026, 12, 1
    )
    assert trading_day(datetime_ns(china("2026-12-01 18:00:00")), CALENDAR.is_trading_day) == date(
        2026, 12, 2
    )
