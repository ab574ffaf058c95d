"""Cleansing rules (FR5, DESIGN §4), applied in the gateway worker on the callback thread.

Each rule has a name, a counter and a test (tests/test_cleanse.py); docs/cleansing.md
lists them. ``Cleanser.check`` normalises a vn.py ``TickData`` in place (CTP's "empty"
value becomes 0) and returns the name of the first rule it breaks, or ``None`` to keep it.
State is per source (this worker) and per contract. No Django import.
"""

from __future__ import annotations

import math
import operator
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from aggregation.sessions import AUCTION, CHINA_TZ, TradingCalendar
from aggregation.wire import BOOK_FIELDS, datetime_ns

if TYPE_CHECKING:
    from vnpy.trader.object import TickData

# CTP fills a price it has no value for with DBL_MAX (1.797e308); anything this large is
# "no value", not a price.
EMPTY_PRICE = 1e300
PRICE_FIELDS = (
    "last_price",
    "open_price",
    "high_price",
    "low_price",
    "pre_close",
    "limit_up",
    "limit_down",
    *(name for name in BOOK_FIELDS if "_price_" in name),
)
QUANTITY_FIELDS = ("volume", "turnover", "open_interest", "last_volume")
_prices = operator.attrgetter(*PRICE_FIELDS)
_quantities = operator.attrgetter(*QUANTITY_FIELDS)
# Cumulative volume restarts with each trading day. Inside one, ticks of a contract are at
# most the lunch break (2 h) apart; between trading days at least ~5 h. A gap longer than
# this therefore starts a new day for the "volume going backwards" rule.
NEW_TRADING_DAY_GAP_NS = 3 * 3600 * 1_000_000_000

RULES = (
    "malformed",
    "price_invalid",
    "no_price",
    "quantity_negative",
    "volume_backwards",
    "outside_limits",
    "crossed_book",
    "clock_skew",
    "outside_session",
)


@dataclass(slots=True)
class _ContractState:
    last_volume: float = -1.0
    last_time_ns: int = 0
    # The session window (epoch ns, grace included) the last tick fell in: every tick
    # inside it is in session without asking the calendar again.
    open_from_ns: int = 0
    open_until_ns: int = 0
    auctions: tuple[tuple[int, int], ...] = ()


@dataclass
class Cleanser:
    calendar: TradingCalendar | None = None
    max_skew_ns: int = 60 * 1_000_000_000
    session_grace: timedelta = timedelta(seconds=60)
    clock_ns: Callable[[], int] = time.time_ns
    drops: Counter[str] = field(default_factory=Counter)
    passed: int = 0
    _contracts: dict[str, _ContractState] = field(default_factory=dict)

    def check(self, tick: TickData, dt_ns: int | None = None) -> str | None:
        """``dt_ns``: ``datetime_ns(tick.datetime)`` when the caller has it already."""
        try:
            rule = self._check(tick, dt_ns)
        except (AttributeError, TypeError, ValueError, OverflowError):
            rule = "malformed"
        if rule is None:
            self.passed += 1
        else:
            self.drops[rule] += 1
        return rule

    def _check(self, tick: TickData, dt_ns: int | None) -> str | None:
        # Fast path for the usual tick: all prices >= 0 and a finite sum below EMPTY_PRICE
        # mean every one is a finite, non-empty price (a NaN makes the sum NaN, and the
        # comparison false). Otherwise look at each one.
        prices = _prices(tick)
        if not (min(prices) >= 0.0 and sum(prices) < EMPTY_PRICE):
            for name, value in zip(PRICE_FIELDS, prices, strict=True):
                if not math.isfinite(value) or value < 0:
                    return "price_invalid"
                if value >= EMPTY_PRICE:
                    setattr(tick, name, 0.0)
        last = tick.last_price
        bid, ask = tick.bid_price_1, tick.ask_price_1
        # An option quote may carry only bid/ask and no trade yet (volume 0): that is a
        # tick worth keeping. A tick with no price at all is not.
        if last == 0 and bid == 0 and ask == 0:
            return "no_price"
        quantities = _quantities(tick)
        if not (min(quantities) >= 0.0 and math.isfinite(sum(quantities))):
            for value in quantities:
                if not math.isfinite(value) or value < 0:
                    return "quantity_negative"

        if dt_ns is None:
            dt_ns = datetime_ns(tick.datetime)
        state = self._contracts.get(tick.vt_symbol)
        if state is None:
            state = self._contracts[tick.vt_symbol] = _ContractState()
        if dt_ns - state.last_time_ns > NEW_TRADING_DAY_GAP_NS:
            state.last_volume = -1.0
        if tick.volume < state.last_volume:
            return "volume_backwards"

        up, down = tick.limit_up, tick.limit_down
        if last and up and down and not down <= last <= up:
            return "outside_limits"

        now_ns = self.clock_ns()
        if abs(dt_ns - now_ns) > self.max_skew_ns:
            return "clock_skew"

        in_auction = False
        if self.calendar is not None:
            if not state.open_from_ns <= dt_ns < state.open_until_ns and not self._refresh_session(
                tick, state
            ):
                return "outside_session"
            in_auction = any(start <= dt_ns < end for start, end in state.auctions)
        if bid and ask and bid >= ask and not in_auction:
            return "crossed_book"

        state.last_volume = tick.volume
        state.last_time_ns = dt_ns
        return None

    def _refresh_session(self, tick: TickData, state: _ContractState) -> bool:
        assert self.calendar is not None
        interval = self.calendar.open_interval(tick.vt_symbol, tick.datetime, self.session_grace)
        if interval is None:
            return False
        state.open_from_ns, state.open_until_ns = (datetime_ns(edge) for edge in interval)
        state.auctions = self._auctions(tick)
        return True

    def _auctions(self, tick: TickData) -> tuple[tuple[int, int], ...]:
        """Today's auction windows of the contract, in epoch ns (crossed books are normal there)."""
        assert self.calendar is not None
        day, night = self.calendar.sessions(tick.vt_symbol)
        local = tick.datetime.astimezone(CHINA_TZ)
        windows = []
        for window in (*day, *night):
            if window.kind != AUCTION:
                continue
            start = local.replace(hour=window.start.hour, minute=window.start.minute, second=0, microsecond=0)
            end = local.replace(hour=window.end.hour, minute=window.end.minute, second=0, microsecond=0)
            windows.append((datetime_ns(start), datetime_ns(end)))
        return tuple(windows)

    def counts(self) -> dict[str, int]:
        return dict(self.drops)
