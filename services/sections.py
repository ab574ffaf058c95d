"""Trading sections of a contract's trading day, and the bar slots inside them.

A *section* is one continuous-trading window of the calendar, widened to the front by the
call auction just before it (its ticks go into the first bar) and to the back by a closing
auction that follows it directly (SSE/SZSE 14:57–15:00). Bars align to the section's start,
never to the wall clock, so no bar straddles a break (10:15–10:30, lunch, the night/day gap).

A trading day ``T`` is the night session of the evening before (when the calendar holds
one: it may run past midnight into Saturday) followed by ``T``'s day session. All times are
Asia/Shanghai aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from aggregation.exchange_time import CHINA_TZ as CHINA_TZ  # re-exported to bars, greeks, runner

if TYPE_CHECKING:
    from aggregation.sessions import SessionWindow, TradingCalendar

_AUCTION = "auction"
# How far back to look for the trading day before a long holiday.
_MAX_GAP_DAYS = 16

# A slot: (trading day, section index, bar index within the section); tuples order in time.
SlotKey = tuple[date, int, int]


@dataclass(frozen=True, slots=True)
class Section:
    opens: datetime  # first tick time that counts (the auction's start, else ``start``)
    start: datetime  # bars align here
    end: datetime  # the section's last bar closes here (ticks stamped ``end`` belong to it)


@dataclass(frozen=True, slots=True)
class Slot:
    key: SlotKey
    start: datetime
    end: datetime


class SessionClock:
    """The sections of each contract's trading days, from the trading calendar (cached).

    ``grace``: how long after a section's end a tick still belongs to its last bar (the
    closing ticks stamped 10:15:00/11:30:00/15:00:00, or a few hundred ms after), and how
    long a bar waits for such a tick before the clock closes it.
    """

    def __init__(self, calendar: TradingCalendar, grace: timedelta = timedelta(seconds=2)) -> None:
        self.calendar = calendar
        self.grace = grace
        self._sections: dict[tuple[str, date], tuple[Section, ...]] = {}

    def sections(self, vt_symbol: str, trading_day: date) -> tuple[Section, ...]:
        cached = self._sections.get((vt_symbol, trading_day))
        if cached is None:
            cached = self._sections[(vt_symbol, trading_day)] = self._build(vt_symbol, trading_day)
        return cached

    def _build(self, vt_symbol: str, trading_day: date) -> tuple[Section, ...]:
        cal = self.calendar
        if not cal.is_trading_day(trading_day):
            return ()
        day, night = cal.sessions(vt_symbol)
        windows: list[tuple[datetime, datetime, str]] = []
        evening = self._previous_trading_day(trading_day)
        if night and evening is not None and cal.has_night_session(evening):
            for w in night:
                # Night windows starting in the morning hours are the after-midnight part.
                on = evening + timedelta(days=1) if w.start < time(12) else evening
                windows.append(_absolute(on, w))
        windows.extend(_absolute(trading_day, w) for w in day)
        sections: list[Section] = []
        auction_from: datetime | None = None
        for start, end, kind in windows:
            if kind == _AUCTION:
                if sections and sections[-1].end == start and auction_from is None:
                    # A closing auction right after continuous trading: part of its last bar.
                    last = sections[-1]
                    sections[-1] = Section(last.opens, last.start, end)
                elif auction_from is None:
                    auction_from = start
                continue
            sections.append(Section(auction_from or start, start, end))
            auction_from = None
        return tuple(sections)

    def _previous_trading_day(self, d: date) -> date | None:
        for back in range(1, _MAX_GAP_DAYS):
            prev = d - timedelta(days=back)
            if self.calendar.is_trading_day(prev):
                # The night of ``prev`` belongs to ``d`` only if ``d`` is the next trading day.
                return prev if self.calendar.next_trading_day(prev) == d else None
        return None

    def locate(self, vt_symbol: str, at: datetime) -> tuple[date, int, Section] | None:
        """The trading day and section a tick stamped ``at`` belongs to, or None (outside
        every section, e.g. a holiday, a break, a login replay stamped at night)."""
        local = at.astimezone(CHINA_TZ)
        d = local.date()
        cal = self.calendar
        candidates = {d, cal.next_trading_day(d), cal.next_trading_day(d - timedelta(days=1))}
        for trading_day in sorted(candidates):
            for index, section in enumerate(self.sections(vt_symbol, trading_day)):
                if section.opens <= local < section.end + self.grace:
                    return trading_day, index, section
        return None

    def slot(self, trading_day: date, index: int, section: Section, at: datetime, step: timedelta) -> Slot:
        """The bar slot of ``step`` that a tick at ``at`` (inside ``section``) goes into:
        auction ticks into the first, section-end ticks into the last."""
        last = _last_index(section, step)
        k = 0 if at < section.start else min(int((at - section.start) // step), last)
        return _slot(trading_day, index, section, k, step)

    def next_slot(self, vt_symbol: str, key: SlotKey, step: timedelta) -> Slot | None:
        """The slot after ``key`` in the same trading day, or None after the day's last."""
        trading_day, index, k = key
        sections = self.sections(vt_symbol, trading_day)
        if index >= len(sections):
            return None
        if k < _last_index(sections[index], step):
            return _slot(trading_day, index, sections[index], k + 1, step)
        if index + 1 < len(sections):
            return _slot(trading_day, index + 1, sections[index + 1], 0, step)
        return None

    def day_end(self, vt_symbol: str, trading_day: date) -> datetime | None:
        sections = self.sections(vt_symbol, trading_day)
        return sections[-1].end if sections else None


def _last_index(section: Section, step: timedelta) -> int:
    return max(0, -(-(section.end - section.start) // step) - 1)


def _slot(trading_day: date, index: int, section: Section, k: int, step: timedelta) -> Slot:
    start = section.start + k * step
    return Slot((trading_day, index, k), start, min(start + step, section.end))


def _absolute(d: date, w: SessionWindow) -> tuple[datetime, datetime, str]:
    start = datetime.combine(d, w.start, CHINA_TZ)
    end = datetime.combine(d, w.end, CHINA_TZ)
    if end <= start:
        end += timedelta(days=1)
    return start, end, w.kind
