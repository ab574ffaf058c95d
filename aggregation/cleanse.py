"""Cleansing rules (FR5, DESIGN §4), applied in the gateway worker on the callback thread.

Each rule has a name, a counter and a test (tests/test_cleanse.py); docs/cleansing.md
lists them. ``Cleanser.check`` normalises a vn.py ``TickData`` in place (CTP's "empty"
value becomes 0) and returns the name of the first rule it breaks, or ``None`` to keep it.
State is per source (this worker) and per contract. No Django import.

Where the worker's compiled tick path is built (``aggregation.emit_core``), the rules run in
C over C state (``_emit_core.CleanseCore``): the same rules, names, counters and results;
``_check_py`` below is the reference it is held to and the fallback (``MDHUB_PURE_PYTHON=1``).
"""

from __future__ import annotations

import operator
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aggregation import emit_core
from aggregation.sessions import AUCTION, CHINA_TZ, TradingCalendar
from aggregation.tick_codec import stateless_rule
from aggregation.wire import BOOK_FIELDS, NUMBER_FIELDS, datetime_from_ns, datetime_ns

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
_numbers = operator.attrgetter(*NUMBER_FIELDS)
# The fast paths (gateways.kinds.fast_record) hand the cleanser a list of the numbers in
# NUMBER_FIELDS order instead of a TickData: the rules read it by index.
PRICE_INDEX = tuple(NUMBER_FIELDS.index(name) for name in PRICE_FIELDS)
_I = {name: i for i, name in enumerate(NUMBER_FIELDS)}
_LAST, _BID, _ASK = _I["last_price"], _I["bid_price_1"], _I["ask_price_1"]
_VOLUME, _UP, _DOWN = _I["volume"], _I["limit_up"], _I["limit_down"]
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
    _contracts: dict[str, Any] = field(default_factory=dict)
    # False: the Python rules even where the compiled ones are built (to compare them).
    compiled: bool = field(default=True, repr=False)
    # The compiled rules (None: the Python ones); they read the settings above, so setting
    # one of them afterwards tells the core (``__setattr__``).
    _core: Any = field(default=None, init=False, repr=False, compare=False)
    _passed: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.compiled and emit_core.COMPILED:
            self._core = emit_core.core_module.CleanseCore(self)
            self.check_values = self._core.check_values  # type: ignore[method-assign]
            self._check = self._core.rule  # type: ignore[method-assign]

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in _CORE_SETTINGS:
            core = self.__dict__.get("_core")
            if core is not None:
                core.configure()

    @property
    def passed(self) -> int:
        """Ticks that broke no rule."""
        core = self._core
        return int(core.passed) if core is not None else self._passed

    @passed.setter
    def passed(self, value: int) -> None:
        if self._core is not None:
            self._core.passed = value
        else:
            self._passed = value

    def check(self, tick: TickData, dt_ns: int | None = None) -> str | None:
        """``dt_ns``: ``datetime_ns(tick.datetime)`` when the caller has it already."""
        try:
            if dt_ns is None:
                dt_ns = datetime_ns(tick.datetime)
            original = _numbers(tick)
            numbers = list(original)
            rule = self._check(tick.vt_symbol, numbers, dt_ns)
            # CTP's empty prices became 0.0 in the list (new objects): the same on the tick.
            for i in PRICE_INDEX:
                if numbers[i] is not original[i]:
                    setattr(tick, NUMBER_FIELDS[i], numbers[i])
        except (AttributeError, TypeError, ValueError, OverflowError):
            rule = "malformed"
        if rule is None:
            self.passed += 1
        else:
            self.drops[rule] += 1
        return rule

    def check_values(self, vt_symbol: str, numbers: list[float], dt_ns: int) -> str | None:
        """The rules on a tick given as its ``NUMBER_FIELDS`` values (a list, normalised in
        place: CTP's empty value becomes 0.0) and exchange time: what ``check`` does to a
        ``TickData``, without one."""
        try:
            rule = self._check(vt_symbol, numbers, dt_ns)
        except (AttributeError, TypeError, ValueError, OverflowError, IndexError):
            rule = "malformed"
        if rule is None:
            self.passed += 1
        else:
            self.drops[rule] += 1
        return rule

    def _check(self, vt_symbol: str, numbers: list[float], dt_ns: int) -> str | None:
        """The first rule the tick breaks, or None (uncounted)."""
        return self._check_py(vt_symbol, numbers, dt_ns)

    def _check_py(self, vt_symbol: str, numbers: list[float], dt_ns: int) -> str | None:
        # Prices (finite, not negative; CTP's empty value becomes 0.0), some price at all,
        # quantities: compiled (aggregation.tick_codec), no state.
        rule = stateless_rule(numbers)
        if rule is not None:
            return rule
        last = numbers[_LAST]
        bid, ask = numbers[_BID], numbers[_ASK]

        state = self._contracts.get(vt_symbol)
        if state is None:
            state = self._contracts[vt_symbol] = _ContractState()
        if dt_ns - state.last_time_ns > NEW_TRADING_DAY_GAP_NS:
            state.last_volume = -1.0
        volume = numbers[_VOLUME]
        if volume < state.last_volume:
            return "volume_backwards"

        up, down = numbers[_UP], numbers[_DOWN]
        if last and up and down and not down <= last <= up:
            return "outside_limits"

        now_ns = self.clock_ns()
        if abs(dt_ns - now_ns) > self.max_skew_ns:
            return "clock_skew"

        in_auction = False
        if self.calendar is not None:
            if not state.open_from_ns <= dt_ns < state.open_until_ns and not self._refresh_session(
                vt_symbol, dt_ns, state
            ):
                return "outside_session"
            in_auction = any(start <= dt_ns < end for start, end in state.auctions)
        if bid and ask and bid >= ask and not in_auction:
            return "crossed_book"

        state.last_volume = volume
        state.last_time_ns = dt_ns
        return None

    def _refresh_session(self, vt_symbol: str, dt_ns: int, state: Any) -> bool:
        """Find the session window ``dt_ns`` falls in and keep it (and the day's auctions) on
        ``state`` (a ``_ContractState``, or the compiled core's ``ContractState``)."""
        assert self.calendar is not None
        local = datetime_from_ns(dt_ns, CHINA_TZ)
        interval = self.calendar.open_interval(vt_symbol, local, self.session_grace)
        if interval is None:
            return False
        state.open_from_ns, state.open_until_ns = (datetime_ns(edge) for edge in interval)
        state.auctions = self._auctions(vt_symbol, local)
        return True

    def _auctions(self, vt_symbol: str, local: datetime) -> tuple[tuple[int, int], ...]:
        """Today's auction windows of the contract, in epoch ns (crossed books are normal there)."""
        assert self.calendar is not None
        day, night = self.calendar.sessions(vt_symbol)
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


# Cleanser settings the compiled core copies (``CleanseCore.configure``).
_CORE_SETTINGS = frozenset({"calendar", "max_skew_ns", "clock_ns", "drops", "_contracts"})
