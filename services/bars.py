"""Bars aligned to trading sections: ``bar.<interval>.<vt_symbol>`` (docs/services.md).

Rules (each has a test in tests/test_bars.py):
* intervals 1m, 5m, 15m, 30m, 1h align to the section's start (``services.sections``), and
  ``d`` is the trading day (its night session included);
* a bar closes when a tick of a later bar comes or, at the latest, when the exchange clock
  passes its end (plus the grace a closing tick may take), never waiting for the next tick;
* auction ticks go into the first bar, section-end ticks into the last;
* prices come from trades only (a tick whose cumulative volume grew); volume and turnover
  are differences of the cumulative figures, counted from 0 at the trading day's start;
* a tick whose bar has already ended by the clock (the snapshot CTP replays at login, the
  hub's snapshot when this service starts) makes no bar; it only sets the volume baseline;
* a bar the service did not see from its start (it started mid-bar) says ``complete: False``;
* a bar without a trade is emitted flat at the last price (``flat: True``) when
  ``emit_flat``, else not; flat bars run from a contract's first tick of the trading day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from aggregation.wire import datetime_from_ns, datetime_ns
from services.base import Record, Service
from services.sections import CHINA_TZ, SessionClock, Slot, SlotKey

INTERVALS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
}
DAILY = "d"  # vn.py's Interval.DAILY value
ALL_INTERVALS = (*INTERVALS, DAILY)
# Flat bars made per contract and interval in one timer call: a clock jump (a laptop that
# slept) must not stall the service.
MAX_FLAT_PER_CALL = 500


@dataclass(slots=True)
class _Bar:
    slot: Slot
    interval: str
    trading_day: date
    complete: bool
    open_price: float = 0.0
    high_price: float = 0.0
    low_price: float = 0.0
    close_price: float = 0.0
    volume: float = 0.0
    turnover: float = 0.0
    open_interest: float = 0.0
    ticks: int = 0
    traded: bool = False

    def add(self, price: float, volume: float, turnover: float, open_interest: float) -> None:
        self.ticks += 1
        self.open_interest = open_interest
        if volume <= 0:
            return
        if not self.traded:
            self.open_price = self.high_price = self.low_price = price
            self.traded = True
        else:
            self.high_price = max(self.high_price, price)
            self.low_price = min(self.low_price, price)
        self.close_price = price
        self.volume += volume
        self.turnover += turnover


@dataclass(slots=True)
class _Contract:
    symbol: str
    exchange: str
    trading_day: date | None = None
    # Cumulative volume/turnover of the last tick; None until a baseline is known.
    volume: float | None = None
    turnover: float = 0.0
    open_interest: float = 0.0
    last_price: float = 0.0  # the last trade's price: a flat bar's OHLC
    last_ns: int = 0
    # Whether the last tick was taken live (not a replay older than its bar): only then
    # does the volume since it belong to the bar the next tick opens.
    live: bool = False
    bars: dict[str, _Bar] = field(default_factory=dict)
    # The last slot closed per interval (this trading day): flat bars continue from it.
    cursor: dict[str, SlotKey] = field(default_factory=dict)
    day: _Bar | None = None


class BarService(Service):
    """Session-aligned bars for every contract in the stream."""

    name = "bars"

    def __init__(
        self,
        clock: SessionClock,
        intervals: tuple[str, ...] = ALL_INTERVALS,
        emit_flat: bool = True,
        prefixes: tuple[str, ...] = ("tick.",),
    ) -> None:
        super().__init__()
        unknown = [i for i in intervals if interval_step(i) is None and i != DAILY]
        if unknown:
            raise ValueError(
                f"unknown bar intervals {unknown}: choose from {', '.join(ALL_INTERVALS)} (or seconds: 5s)"
            )
        self.clock = clock
        self.intervals = tuple(i for i in intervals if i != DAILY)
        self.steps = {i: step for i in self.intervals if (step := interval_step(i)) is not None}
        self.daily = DAILY in intervals
        self.emit_flat = emit_flat
        self.prefixes = prefixes
        self.contracts: dict[str, _Contract] = {}

    def topics(self) -> list[str]:
        return list(self.prefixes)

    # -- ticks -----------------------------------------------------------------------------

    def on_tick(self, tick: dict[str, Any], now: datetime) -> list[Record]:
        try:
            symbol = str(tick["symbol"])
            exchange = str(tick["exchange"])
            dt_ns = int(tick["datetime"])
            volume = float(tick["volume"])
            turnover = float(tick.get("turnover") or 0.0)
            open_interest = float(tick.get("open_interest") or 0.0)
            price = float(tick["last_price"])
        except (KeyError, TypeError, ValueError):
            self.counters["bad_tick"] += 1
            return []
        vt_symbol = f"{symbol}.{exchange}"
        at = datetime_from_ns(dt_ns, CHINA_TZ)
        where = self.clock.locate(vt_symbol, at)
        if where is None:
            self.counters["outside_session"] += 1
            return []
        trading_day, index, section = where
        contract = self.contracts.get(vt_symbol)
        if contract is None:
            contract = self.contracts[vt_symbol] = _Contract(symbol, exchange)
        if dt_ns < contract.last_ns or (contract.trading_day and trading_day < contract.trading_day):
            self.counters["out_of_order"] += 1
            return []
        out: list[Record] = []
        if contract.trading_day != trading_day:
            out += self._close_day(contract, now=None)
            contract.trading_day = trading_day
            contract.cursor.clear()
            contract.volume = None
            contract.live = False
        contract.last_ns = dt_ns
        first = self.clock.slot(trading_day, index, section, at, INTERVALS["1m"])
        if contract.volume is None and first.key[1:] == (0, 0):
            # Cumulative figures count from the trading day's start: known at its first bar.
            contract.volume, contract.turnover = 0.0, 0.0
            contract.live = True
        baseline_known = contract.volume is not None and contract.live
        if contract.volume is None or volume < contract.volume:
            if contract.volume is not None:
                self.counters["volume_backwards"] += 1
            d_volume, d_turnover = 0.0, 0.0
        else:
            d_volume, d_turnover = volume - contract.volume, max(0.0, turnover - contract.turnover)
        contract.volume, contract.turnover, contract.open_interest = volume, turnover, open_interest
        if d_volume > 0 or (not baseline_known and volume > 0 and price > 0):
            # A replayed snapshot with trades today still tells the last price (flat bars).
            contract.last_price = price

        stale = 0
        for interval in self.intervals:
            step = self.steps[interval]
            slot = first if interval == "1m" else self.clock.slot(trading_day, index, section, at, step)
            bar = contract.bars.get(interval)
            if bar is not None and bar.slot.key < slot.key:
                out += self._close(contract, interval, bar)
                bar = None
            if bar is None:
                cursor = contract.cursor.get(interval)
                if cursor is not None and slot.key <= cursor:
                    self.counters["late_tick"] += 1
                    continue
                if slot.end + self.clock.grace <= now:
                    stale += 1  # the login replay / a snapshot older than the current bar
                    continue
                out += self._flat_until(contract, interval, slot.key)
                bar = contract.bars[interval] = _Bar(slot, interval, trading_day, complete=baseline_known)
            bar.add(price, d_volume, d_turnover, open_interest)
        contract.live = not stale
        if stale:
            self.counters["stale_tick"] += 1
        if self.daily:
            if contract.day is None:
                end = self.clock.day_end(vt_symbol, trading_day) or section.end
                day_slot = Slot((trading_day, 0, 0), _midnight(trading_day), end)
                contract.day = _Bar(day_slot, DAILY, trading_day, complete=baseline_known)
            contract.day.add(price, d_volume, d_turnover, open_interest)
        return out

    # -- the clock -------------------------------------------------------------------------

    def on_timer(self, now: datetime) -> list[Record]:
        out: list[Record] = []
        grace = self.clock.grace
        for contract in self.contracts.values():
            for interval in self.intervals:
                bar = contract.bars.get(interval)
                if bar is not None and bar.slot.end + grace <= now:
                    out += self._close(contract, interval, bar)
                if contract.bars.get(interval) is None and contract.cursor.get(interval) is not None:
                    out += self._flat_until(contract, interval, None, now)
            if contract.day is not None and contract.trading_day is not None:
                end = self.clock.day_end(f"{contract.symbol}.{contract.exchange}", contract.trading_day)
                if end is not None and end + grace <= now:
                    out += self._close_day(contract, now)
        return out

    # -- closing ---------------------------------------------------------------------------

    def _close(self, contract: _Contract, interval: str, bar: _Bar) -> list[Record]:
        del contract.bars[interval]
        contract.cursor[interval] = bar.slot.key
        return self._emit(contract, bar)

    def _close_day(self, contract: _Contract, now: datetime | None) -> list[Record]:
        """Close what is open of the contract's trading day (all of it on a new day)."""
        out: list[Record] = []
        for interval, bar in list(contract.bars.items()):
            out += self._close(contract, interval, bar)
        if contract.day is not None:
            day, contract.day = contract.day, None
            out += self._emit(contract, day)
        return out

    def _flat_until(
        self, contract: _Contract, interval: str, before: SlotKey | None, now: datetime | None = None
    ) -> list[Record]:
        """Flat bars for the slots after the interval's cursor: up to ``before`` (a tick's
        slot), or those the clock ``now`` has closed."""
        cursor = contract.cursor.get(interval)
        if not self.emit_flat or cursor is None:
            return []
        vt_symbol = f"{contract.symbol}.{contract.exchange}"
        step = self.steps[interval]
        out: list[Record] = []
        for _ in range(MAX_FLAT_PER_CALL):
            slot = self.clock.next_slot(vt_symbol, cursor, step)
            if slot is None or (before is not None and slot.key >= before):
                break
            if now is not None and slot.end + self.clock.grace > now:
                break
            cursor = slot.key
            contract.cursor[interval] = cursor
            assert contract.trading_day is not None
            out += self._emit(contract, _Bar(slot, interval, contract.trading_day, complete=True))
        return out

    def _emit(self, contract: _Contract, bar: _Bar) -> list[Record]:
        if not bar.traded:
            if not self.emit_flat:
                return []
            if contract.last_price <= 0:
                self.counters["flat_without_price"] += 1
                return []
            price = contract.last_price
            bar.open_price = bar.high_price = bar.low_price = bar.close_price = price
            if not bar.ticks:
                bar.open_interest = contract.open_interest
        start_ns = datetime_ns(bar.slot.start)
        fields: dict[str, Any] = {
            "symbol": contract.symbol,
            "exchange": contract.exchange,
            "datetime": start_ns,
            "end": datetime_ns(bar.slot.end),
            "interval": bar.interval,
            "volume": bar.volume,
            "turnover": bar.turnover,
            "open_interest": bar.open_interest,
            "open_price": bar.open_price,
            "high_price": bar.high_price,
            "low_price": bar.low_price,
            "close_price": bar.close_price,
            "flat": not bar.traded,
            "complete": bar.complete,
            "ticks": bar.ticks,
            "trading_day": bar.trading_day.isoformat(),
        }
        topic = f"bar.{bar.interval}.{contract.symbol}.{contract.exchange}"
        return [Record(topic, start_ns, fields)]


def interval_step(name: str) -> timedelta | None:
    """The length of a bar interval: the named ones, or whole seconds (``5s``: the
    end-to-end test and fast charts; sections align them like the others)."""
    if name in INTERVALS:
        return INTERVALS[name]
    if name.endswith("s") and name[:-1].isdigit() and int(name[:-1]) > 0:
        return timedelta(seconds=int(name[:-1]))
    return None


def _midnight(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time(), CHINA_TZ)
