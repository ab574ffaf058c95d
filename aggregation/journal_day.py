"""Which trading day a moment belongs to, for naming the day's journal. No Django import.

The rule is the calendar's (``aggregation/sessions.py``): a night session belongs to the next
trading day. The journal rolls over at ``NIGHT_STARTS`` Beijing time, between the day
session's close (15:00, 15:15 for bond futures) and the night auction (20:55): from then on,
and through the small hours (a night session ends by 02:30), it writes the next trading
day's file. The holiday list comes from the trading calendar when the engine has one
(``is_trading_day``); weekdays otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from aggregation.exchange_time import CHINA_TZ as CHINA

NIGHT_STARTS = time(18, 0)
NIGHT_ENDS = time(3, 0)

TradingDayRule = Callable[[date], bool]


def weekdays(d: date) -> bool:
    return d.weekday() < 5


def next_trading_day(d: date, is_trading_day: TradingDayRule = weekdays) -> date:
    d += timedelta(days=1)
    # Bounded: no exchange closes for more than a few weeks.
    for _ in range(60):
        if is_trading_day(d):
            return d
        d += timedelta(days=1)
    return d


def trading_day(wall_ns: int, is_trading_day: TradingDayRule = weekdays) -> date:
    """The trading day of the moment ``wall_ns`` (epoch ns), Beijing time."""
    at = datetime.fromtimestamp(wall_ns / 1e9, CHINA)
    today = at.date()
    clock = at.time()
    if clock >= NIGHT_STARTS:
        return next_trading_day(today, is_trading_day)
    if clock < NIGHT_ENDS:
        # The small hours of a night session that began the evening before.
        return next_trading_day(today - timedelta(days=1), is_trading_day)
    return today if is_trading_day(today) else next_trading_day(today, is_trading_day)
