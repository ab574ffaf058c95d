"""Trading-session calendar: is a contract's market open at a given moment?

Pure Python on purpose (no Django): the hub's hot loop and the gateway workers import it.
The Django side (``monitoring.models`` / ``monitoring.calendar_store``) turns database rows
into the same :class:`SessionRule` rows and builds a :class:`TradingCalendar` from them.

All clock times are Beijing time (Asia/Shanghai). A night session on calendar day D belongs
to the next trading day; windows after midnight (e.g. 00:00–02:30 of a 21:00–02:30 night)
fall on D+1, which may be a Saturday.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

# Re-exported: the calendar's callers have long taken the zone from here.
from aggregation.exchange_time import CHINA_TZ as CHINA_TZ

AUCTION = "auction"
CONTINUOUS = "continuous"
KINDS = (AUCTION, CONTINUOUS)

# How far next_open() looks ahead: longer than the longest exchange holiday (Spring
# Festival / National Day are 8–9 days including weekends).
NEXT_OPEN_HORIZON_DAYS = 12


@dataclass(frozen=True, slots=True)
class SessionWindow:
    start: time
    end: time  # exclusive; end <= start means the window runs past midnight
    kind: str  # AUCTION or CONTINUOUS


@dataclass(frozen=True, slots=True)
class SessionRule:
    """One window of a session template; mirrors a ``SessionTemplate`` database row.

    ``product == ""`` is the exchange-wide default. A product's day rows replace the
    exchange's day rows and its night rows replace the exchange's night rows, so a product
    with the default day session only needs its night rows.
    """

    exchange: str
    product: str
    window: SessionWindow
    is_night: bool = False


@dataclass(frozen=True, slots=True)
class _Sessions:
    day: tuple[SessionWindow, ...]
    night: tuple[SessionWindow, ...]


_PRODUCT = re.compile(r"[A-Za-z]+")


def product_of(symbol: str) -> str:
    """The product code of a contract symbol: ``rb2501`` → ``rb``, ``SR501`` → ``SR``,
    ``IO2501-C-4000`` → ``IO``. Stock-option codes are all digits (``10005678``) and
    give ``""``: their exchange's sessions apply."""
    match = _PRODUCT.match(symbol)
    return match.group(0) if match else ""


def split_vt_symbol(vt_symbol: str) -> tuple[str, str]:
    """``"rb2501.SHFE"`` → ``("rb2501", "SHFE")``."""
    symbol, dot, exchange = vt_symbol.rpartition(".")
    if not dot or not symbol or not exchange:
        raise ValueError(f"{vt_symbol!r} is not a vt_symbol: expected symbol.EXCHANGE, e.g. rb2501.SHFE")
    return symbol, exchange.upper()


def china_time(at: datetime) -> datetime:
    """``at`` as naive Beijing wall-clock time; naive input is taken as Beijing time already."""
    if at.tzinfo is None:
        return at
    return at.astimezone(CHINA_TZ).replace(tzinfo=None)


class TradingCalendar:
    """Session templates per exchange/product plus exchange holidays. Never changes once
    built (the per-contract cache only memoises), so one instance can be shared by threads;
    build a new one to apply edits."""

    def __init__(self, rules: Iterable[SessionRule], holidays: Iterable[date]) -> None:
        # Kept as given, so the hub can hand the same calendar to its workers.
        self.rules: tuple[SessionRule, ...] = tuple(rules)
        day: dict[tuple[str, str], list[SessionWindow]] = {}
        night: dict[tuple[str, str], list[SessionWindow]] = {}
        for rule in self.rules:
            # Exchanges spell products in different cases (rb, SR, IF); editors may not.
            key = (rule.exchange.upper(), rule.product.lower())
            (night if rule.is_night else day).setdefault(key, []).append(rule.window)
        self._day = {key: tuple(sorted(ws, key=lambda w: w.start)) for key, ws in day.items()}
        self._night = {key: tuple(sorted(ws, key=_night_order)) for key, ws in night.items()}
        self._holidays = frozenset(holidays)
        # is_open() runs per tick in the hub: remember each contract's resolved sessions.
        self._resolved: dict[str, _Sessions] = {}

    @property
    def holidays(self) -> frozenset[date]:
        return self._holidays

    def is_trading_day(self, d: date) -> bool:
        return d.weekday() < 5 and d not in self._holidays

    def next_trading_day(self, d: date) -> date:
        d += timedelta(days=1)
        while not self.is_trading_day(d):
            d += timedelta(days=1)
        return d

    def has_night_session(self, d: date) -> bool:
        """Whether the evening of ``d`` has a night session: ``d`` trades and no holiday
        lies between it and the next trading day (Friday night exists; the night before a
        long holiday does not)."""
        if not self.is_trading_day(d):
            return False
        following = self.next_trading_day(d)
        between = (d + timedelta(days=n) for n in range(1, (following - d).days))
        return not any(day in self._holidays for day in between)

    def sessions(self, vt_symbol: str) -> tuple[tuple[SessionWindow, ...], tuple[SessionWindow, ...]]:
        """The (day, night) windows that apply to ``vt_symbol``; empty for an unknown exchange."""
        resolved = self._sessions(vt_symbol)
        return resolved.day, resolved.night

    def is_open(self, vt_symbol: str, at: datetime, grace: timedelta = timedelta(seconds=0)) -> bool:
        """Whether ``vt_symbol``'s market is in a session (auctions included) at ``at``.

        Windows are half-open, [start, end); ``grace`` widens each window on both sides, so
        with a few seconds of grace the closing ticks stamped 10:15:00 / 11:30:00 / 15:00:00
        still count. Naive ``at`` is Beijing time. An unknown exchange is never open.
        """
        return self.open_interval(vt_symbol, at, grace) is not None

    def open_interval(
        self, vt_symbol: str, at: datetime, grace: timedelta = timedelta(seconds=0)
    ) -> tuple[datetime, datetime] | None:
        """The session window (widened by ``grace``, Asia/Shanghai aware) that contains
        ``at``, or ``None`` when closed. Callers on a hot path cache it: every tick until
        its end is inside without asking again."""
        now = china_time(at)
        resolved = self._sessions(vt_symbol)
        # A window that counts now started today or (past midnight) yesterday evening.
        for d in (now.date() - timedelta(days=1), now.date()):
            for start, end in self._intervals(resolved, d):
                if start - grace <= now < end + grace:
                    return (start - grace).replace(tzinfo=CHINA_TZ), (end + grace).replace(tzinfo=CHINA_TZ)
        return None

    def next_open(self, vt_symbol: str, at: datetime) -> datetime | None:
        """When ``vt_symbol``'s market is next open at or after ``at`` (``at`` itself if it
        is open now), as an Asia/Shanghai aware datetime; ``None`` if nothing opens within
        the search horizon (unknown exchange, or a calendar with no sessions)."""
        now = china_time(at)
        resolved = self._sessions(vt_symbol)
        for offset in range(-1, NEXT_OPEN_HORIZON_DAYS):
            for start, end in self._intervals(resolved, now.date() + timedelta(days=offset)):
                if end > now:
                    return max(start, now).replace(tzinfo=CHINA_TZ)
        return None

    def _intervals(self, resolved: _Sessions, d: date) -> list[tuple[datetime, datetime]]:
        """The absolute (naive Beijing) windows of trading calendar day ``d``, in time order:
        its day session, then its evening's night session."""
        intervals: list[tuple[datetime, datetime]] = []
        if self.is_trading_day(d):
            intervals.extend(_absolute(d, w) for w in resolved.day)
        if resolved.night and self.has_night_session(d):
            for w in resolved.night:
                # Night windows starting in the morning hours are the after-midnight part.
                on = d + timedelta(days=1) if w.start < time(12) else d
                intervals.append(_absolute(on, w))
        return intervals

    def _sessions(self, vt_symbol: str) -> _Sessions:
        cached = self._resolved.get(vt_symbol)
        if cached is not None:
            return cached
        symbol, exchange = split_vt_symbol(vt_symbol)
        product = (exchange, product_of(symbol).lower())
        default = (exchange, "")
        resolved = _Sessions(
            day=self._day.get(product, self._day.get(default, ())),
            night=self._night.get(product, self._night.get(default, ())),
        )
        self._resolved[vt_symbol] = resolved
        return resolved


def _absolute(d: date, w: SessionWindow) -> tuple[datetime, datetime]:
    start = datetime.combine(d, w.start)
    end = datetime.combine(d, w.end)
    if end <= start:
        end += timedelta(days=1)
    return start, end


def _night_order(w: SessionWindow) -> tuple[bool, time]:
    return (w.start < time(12), w.start)


# ---------------------------------------------------------------------------------------
# Defaults. A fresh database is loaded with these by migration monitoring/0002; after that
# the admin (Monitoring → Session templates / Holidays) is the source of truth.


def _w(start: str, end: str, kind: str = CONTINUOUS) -> SessionWindow:
    return SessionWindow(time.fromisoformat(start), time.fromisoformat(end), kind)


_COMMODITY_DAY = (
    _w("08:55", "09:00", AUCTION),
    _w("09:00", "10:15"),
    _w("10:30", "11:30"),
    _w("13:30", "15:00"),
)
_CFFEX_INDEX_DAY = (_w("09:25", "09:30", AUCTION), _w("09:30", "11:30"), _w("13:00", "15:00"))
_CFFEX_TREASURY_DAY = (_w("09:25", "09:30", AUCTION), _w("09:30", "11:30"), _w("13:00", "15:15"))
_STOCK_OPTION_DAY = (
    _w("09:15", "09:25", AUCTION),
    _w("09:30", "11:30"),
    _w("13:00", "14:57"),
    _w("14:57", "15:00", AUCTION),
)


def _night(end: str) -> tuple[SessionWindow, ...]:
    return (_w("20:55", "21:00", AUCTION), _w("21:00", end))


# (exchange, products, night windows). Products not listed have no night session
# (e.g. SHFE wr, INE ec, DCE lh/jd, all of GFEX, CFFEX).
_NIGHTS: tuple[tuple[str, str, tuple[SessionWindow, ...]], ...] = (
    ("SHFE", "au ag", _night("02:30")),
    ("INE", "sc", _night("02:30")),
    ("SHFE", "cu al zn pb ni sn ss ao bc", _night("01:00")),
    ("INE", "bc", _night("01:00")),
    ("SHFE", "rb hc fu bu ru sp br", _night("23:00")),
    ("INE", "lu nr", _night("23:00")),
    ("DCE", "a b m y p c cs i j jm l pp v eg eb pg rr", _night("23:00")),
    ("CZCE", "SR CF TA MA FG RM OI ZC SA PF PX SH CY", _night("23:00")),
)


def _default_templates() -> tuple[SessionRule, ...]:
    rules: list[SessionRule] = []
    for exchange in ("SHFE", "INE", "DCE", "CZCE", "GFEX"):
        rules += [SessionRule(exchange, "", w) for w in _COMMODITY_DAY]
    rules += [SessionRule("CFFEX", "", w) for w in _CFFEX_INDEX_DAY]
    for product in ("T", "TF", "TS", "TL"):
        rules += [SessionRule("CFFEX", product, w) for w in _CFFEX_TREASURY_DAY]
    for exchange in ("SSE", "SZSE"):
        rules += [SessionRule(exchange, "", w) for w in _STOCK_OPTION_DAY]
    for exchange, products, windows in _NIGHTS:
        for product in products.split():
            rules += [SessionRule(exchange, product, w, is_night=True) for w in windows]
    return tuple(rules)


DEFAULT_TEMPLATES: tuple[SessionRule, ...] = _default_templates()


def _closed(name: str, *days: str) -> dict[date, str]:
    return {date.fromisoformat(d): name for d in days}


# Weekday exchange closures (weekends are closed anyway, and exchanges do not open on the
# make-up working Saturdays/Sundays). Drawn from the State Council holiday arrangements for
# 2025 and 2026: CHECK EVERY YEAR against the exchanges' own closure notice (published each
# December) and correct it in the admin (Monitoring → Holidays), which is what the hub reads.
DEFAULT_HOLIDAYS: dict[date, str] = {
    **_closed("New Year", "2025-01-01"),
    **_closed("Spring Festival", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31"),
    **_closed("Spring Festival", "2025-02-03", "2025-02-04"),
    **_closed("Qingming", "2025-04-04"),
    **_closed("Labour Day", "2025-05-01", "2025-05-02", "2025-05-05"),
    **_closed("Dragon Boat", "2025-06-02"),
    **_closed("National Day / Mid-Autumn", "2025-10-01", "2025-10-02", "2025-10-03"),
    **_closed("National Day / Mid-Autumn", "2025-10-06", "2025-10-07", "2025-10-08"),
    **_closed("New Year", "2026-01-01", "2026-01-02"),
    **_closed("Spring Festival", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19"),
    **_closed("Spring Festival", "2026-02-20", "2026-02-23"),
    **_closed("Qingming", "2026-04-06"),
    **_closed("Labour Day", "2026-05-01", "2026-05-04", "2026-05-05"),
    **_closed("Dragon Boat", "2026-06-19"),
    **_closed("Mid-Autumn", "2026-09-25"),
    **_closed("National Day", "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"),
}


def default_calendar() -> TradingCalendar:
    return TradingCalendar(DEFAULT_TEMPLATES, DEFAULT_HOLIDAYS)


def calendar_from_spec(data: dict[str, Any] | None) -> TradingCalendar | None:
    """The calendar from its JSON form (``engine_config.calendar_spec``), as the hub hands it
    to workers and its own health monitor; ``None`` (no session rules) for ``None``."""
    if not data:
        return None
    rules = [
        SessionRule(
            exchange=r["exchange"],
            product=r["product"],
            window=SessionWindow(time.fromisoformat(r["start"]), time.fromisoformat(r["end"]), r["kind"]),
            is_night=r["is_night"],
        )
        for r in data["rules"]
    ]
    return TradingCalendar(rules, [date.fromisoformat(d) for d in data["holidays"]])
