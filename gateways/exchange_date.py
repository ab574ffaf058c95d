"""The calendar date (exchange time, Asia/Shanghai) to put on a tick that carries only a
time of day, as vnpy_ctp's DCE ticks do.

vnpy_ctp dates every DCE tick with ``md_api.current_date``, which only the trading side's
timer refreshes (``CtpGateway.connect`` → ``init_query`` → ``EVENT_TIMER`` →
``update_date``), and from the machine's local date (UTC on most servers, eight hours
behind the exchange). A market-data-only worker never runs that timer: after midnight it
dates the next day's ticks a day early and the cleanser drops them all as ``clock_skew``.
The kind sets ``current_date`` from this class before vn.py converts each tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from aggregation.exchange_time import CHINA_TZ

DAY_NS = 86_400 * 1_000_000_000
HALF_DAY_S = 43_200


class ExchangeDate:
    def __init__(self, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.clock_ns = clock_ns
        self._day_start_ns = 0
        self._dates = ("", "", "")  # yesterday, today, tomorrow as YYYYMMDD

    def for_time(self, update_time: str) -> str:
        """The date that puts ``update_time`` (``HH:MM:SS``) nearest to now: a 23:59:59
        snapshot read at 00:00:00.2 keeps the day before, one read at 00:00:01 the day."""
        now_ns = self.clock_ns()
        offset_ns = now_ns - self._day_start_ns
        if not 0 <= offset_ns < DAY_NS:
            self._new_day(now_ns)
            offset_ns = now_ns - self._day_start_ns
        try:
            tick_s = int(update_time[0:2]) * 3600 + int(update_time[3:5]) * 60 + int(update_time[6:8])
        except ValueError:
            return self._dates[1]  # vn.py rejects the stamp itself
        diff = tick_s - offset_ns // 1_000_000_000
        if diff > HALF_DAY_S:
            return self._dates[0]
        if diff < -HALF_DAY_S:
            return self._dates[2]
        return self._dates[1]

    def _new_day(self, now_ns: int) -> None:
        today = datetime.fromtimestamp(now_ns / 1e9, CHINA_TZ).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        self._day_start_ns = int(today.timestamp()) * 1_000_000_000
        self._dates = tuple(  # type: ignore[assignment]
            (today + timedelta(days=d)).strftime("%Y%m%d") for d in (-1, 0, 1)
        )
