"""Which contracts an exchange lists on a given day, and which one is the main contract.

Pure calendar arithmetic (no Django, no I/O), so the simulated exchange, ``seed_demo`` and
the tests all agree on the same codes for the same day. The rules are the exchanges' own
listing and last-trading-day rules, simplified where noted (docs/contracts.md):

* listed months: a number of consecutive calendar months from the front month, the months
  of a product's cycle within a window, and quarter months after those;
* last trading day: SHFE the 15th, DCE/CZCE/GFEX the 10th trading day of the delivery
  month, CFFEX the third Friday, SSE ETF options the fourth Wednesday (each moved to the
  next trading day when it is not one), INE crude the last trading day of the month
  before delivery;
* a contract is live through its last trading day (it trades until that day's close).

Trading days are weekdays not in ``holidays``; pass the exchange holiday list
(``aggregation.sessions.DEFAULT_HOLIDAYS`` or the admin's) to get the holiday moves right.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from aggregation.exchange_time import CHINA_TZ as EXCHANGE_TZ

ALL_MONTHS = frozenset(range(1, 13))
QUARTER_MONTHS = frozenset({3, 6, 9, 12})
# How far ahead any product lists (INE crude: three years) plus a margin for the front.
_HORIZON_MONTHS = 48


class Expiry(StrEnum):
    """Last-trading-day rules."""

    DAY_15 = "15th"  # SHFE: the 15th of the delivery month
    TRADING_DAY_10 = "10th trading day"  # DCE, CZCE, GFEX
    THIRD_FRIDAY = "third Friday"  # CFFEX index futures and options
    FOURTH_WEDNESDAY = "fourth Wednesday"  # SSE ETF options
    PREVIOUS_MONTH_END = "last trading day of the previous month"  # INE crude oil


class CodeStyle(StrEnum):
    """How a contract code is spelled."""

    YYMM = "yymm"  # rb2701, IF2612
    CZCE = "ymm"  # SR705: the year's last digit and the month
    CFFEX_OPTION = "cffex option"  # IO2612-C-4600
    SSE_OPTION = "sse option"  # eight digits (see sse_option_code)


@dataclass(frozen=True)
class Listing:
    """The months an exchange lists, counted from the front (nearest live) month.

    ``consecutive`` calendar months from the front, plus the months of ``cycle`` within
    ``within`` months of the front, plus the next ``quarters`` quarter months after the
    consecutive ones.
    """

    consecutive: int = 0
    cycle: frozenset[int] = ALL_MONTHS
    within: int = 0
    quarters: int = 0


@dataclass(frozen=True)
class OptionSeries:
    """Strikes for an option product. Real strikes follow the underlying's price; the
    simulation centres them on a fixed level."""

    underlying: str  # how names spell the underlying: "50ETF", "沪深300"
    centre: float
    step: float
    strike_scale: int = 1  # SSE strikes are shown in thousandths of a yuan: 3.000 → 3000


@dataclass(frozen=True)
class ProductSpec:
    code: str
    exchange: str
    name: str
    listing: Listing
    expiry: Expiry
    style: CodeStyle = CodeStyle.YYMM
    # The main contract: the first listed month of main_months at least main_lead calendar
    # months after today's month and not in its last trading day (docs/contracts.md).
    main_months: frozenset[int] = ALL_MONTHS
    main_lead: int = 0
    option: OptionSeries | None = None


@dataclass(frozen=True)
class ListedContract:
    symbol: str
    exchange: str
    name: str
    product: str
    year: int
    month: int
    last_trading_day: date
    call: bool | None = None  # None for futures
    strike: float | None = None
    vt_symbol: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vt_symbol", f"{self.symbol}.{self.exchange}")


_MONTHLY_12 = Listing(cycle=ALL_MONTHS, within=12)
_ODD_MONTHS = frozenset({1, 3, 5, 7, 9, 11})
_EVEN_MONTHS = frozenset({2, 4, 6, 8, 10, 12})
_MAIN_1_5_9 = frozenset({1, 5, 9})
_INDEX_FUTURES = Listing(consecutive=2, quarters=2)  # this month, next month, two quarter months


# The exchanges' listing rules for the products the simulated exchange trades.
PRODUCT_RULES: dict[str, ProductSpec] = {
    spec.code: spec
    for spec in (
        # SHFE rebar and hot coil: every month for a year; the market trades 01/05/10.
        ProductSpec(
            "rb", "SHFE", "螺纹钢", _MONTHLY_12, Expiry.DAY_15, main_months=frozenset({1, 5, 10}), main_lead=2
        ),
        ProductSpec(
            "hc",
            "SHFE",
            "热轧卷板",
            _MONTHLY_12,
            Expiry.DAY_15,
            main_months=frozenset({1, 5, 10}),
            main_lead=2,
        ),
        # Copper: every month; the main contract is usually next month's or the one after.
        ProductSpec("cu", "SHFE", "沪铜", _MONTHLY_12, Expiry.DAY_15, main_lead=1),
        # Gold: three consecutive months plus the even months within 13 months.
        ProductSpec(
            "au",
            "SHFE",
            "黄金",
            Listing(consecutive=3, cycle=_EVEN_MONTHS, within=13),
            Expiry.DAY_15,
            main_months=_EVEN_MONTHS,
            main_lead=2,
        ),
        ProductSpec("ag", "SHFE", "白银", _MONTHLY_12, Expiry.DAY_15, main_months=_EVEN_MONTHS, main_lead=2),
        # CFFEX index futures: the front month is the most traded until its expiry day.
        ProductSpec("IF", "CFFEX", "沪深300指数", _INDEX_FUTURES, Expiry.THIRD_FRIDAY),
        ProductSpec("IC", "CFFEX", "中证500指数", _INDEX_FUTURES, Expiry.THIRD_FRIDAY),
        ProductSpec("IH", "CFFEX", "上证50指数", _INDEX_FUTURES, Expiry.THIRD_FRIDAY),
        ProductSpec("IM", "CFFEX", "中证1000指数", _INDEX_FUTURES, Expiry.THIRD_FRIDAY),
        # DCE: soybean meal 1,3,5,7,8,9,11,12; iron ore every month; soybean No.1 odd months.
        ProductSpec(
            "m",
            "DCE",
            "豆粕",
            Listing(cycle=frozenset({1, 3, 5, 7, 8, 9, 11, 12}), within=12),
            Expiry.TRADING_DAY_10,
            main_months=_MAIN_1_5_9,
            main_lead=2,
        ),
        ProductSpec(
            "i", "DCE", "铁矿石", _MONTHLY_12, Expiry.TRADING_DAY_10, main_months=_MAIN_1_5_9, main_lead=2
        ),
        ProductSpec(
            "a",
            "DCE",
            "豆一",
            Listing(cycle=_ODD_MONTHS, within=12),
            Expiry.TRADING_DAY_10,
            main_months=_MAIN_1_5_9,
            main_lead=2,
        ),
        # CZCE: three-digit codes; sugar odd months, PTA and methanol every month.
        ProductSpec(
            "SR",
            "CZCE",
            "白糖",
            Listing(cycle=_ODD_MONTHS, within=12),
            Expiry.TRADING_DAY_10,
            style=CodeStyle.CZCE,
            main_months=_MAIN_1_5_9,
            main_lead=2,
        ),
        ProductSpec(
            "TA",
            "CZCE",
            "PTA",
            _MONTHLY_12,
            Expiry.TRADING_DAY_10,
            style=CodeStyle.CZCE,
            main_months=_MAIN_1_5_9,
            main_lead=2,
        ),
        ProductSpec(
            "MA",
            "CZCE",
            "甲醇",
            _MONTHLY_12,
            Expiry.TRADING_DAY_10,
            style=CodeStyle.CZCE,
            main_months=_MAIN_1_5_9,
            main_lead=2,
        ),
        # INE crude: 12 consecutive months, then quarter months out to about three years.
        ProductSpec(
            "sc", "INE", "原油", Listing(consecutive=12, quarters=8), Expiry.PREVIOUS_MONTH_END, main_lead=2
        ),
        ProductSpec(
            "si", "GFEX", "工业硅", _MONTHLY_12, Expiry.TRADING_DAY_10, main_months=_MAIN_1_5_9, main_lead=2
        ),
        # CFFEX index options: this month, the next two, then three quarter months.
        ProductSpec(
            "IO",
            "CFFEX",
            "沪深300股指期权",
            Listing(consecutive=3, quarters=3),
            Expiry.THIRD_FRIDAY,
            style=CodeStyle.CFFEX_OPTION,
            option=OptionSeries("沪深300", 4600.0, 50.0),
        ),
        ProductSpec(
            "MO",
            "CFFEX",
            "中证1000股指期权",
            Listing(consecutive=3, quarters=3),
            Expiry.THIRD_FRIDAY,
            style=CodeStyle.CFFEX_OPTION,
            option=OptionSeries("中证1000", 7200.0, 100.0),
        ),
        # SSE ETF options: this month, next month, then two quarter months.
        ProductSpec(
            "510050",
            "SSE",
            "50ETF",
            Listing(consecutive=2, quarters=2),
            Expiry.FOURTH_WEDNESDAY,
            style=CodeStyle.SSE_OPTION,
            option=OptionSeries("50ETF", 3.0, 0.05, 1000),
        ),
        ProductSpec(
            "510300",
            "SSE",
            "300ETF",
            Listing(consecutive=2, quarters=2),
            Expiry.FOURTH_WEDNESDAY,
            style=CodeStyle.SSE_OPTION,
            option=OptionSeries("300ETF", 4.6, 0.1, 1000),
        ),
    )
}


def exchange_today(now: datetime | None = None) -> date:
    """Today's date in exchange time (Asia/Shanghai), whatever the machine's zone."""
    return (now or datetime.now(EXCHANGE_TZ)).astimezone(EXCHANGE_TZ).date()


# -- calendar ----------------------------------------------------------------------------


def is_trading_day(d: date, holidays: Collection[date] = ()) -> bool:
    return d.weekday() < 5 and d not in holidays


def _next_trading_day(d: date, holidays: Collection[date]) -> date:
    while not is_trading_day(d, holidays):
        d += timedelta(days=1)
    return d


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def last_trading_day(spec: ProductSpec, year: int, month: int, holidays: Collection[date] = ()) -> date:
    """The last day contract ``year``/``month`` of ``spec`` trades."""
    if spec.expiry is Expiry.DAY_15:
        return _next_trading_day(date(year, month, 15), holidays)
    if spec.expiry is Expiry.THIRD_FRIDAY:
        return _next_trading_day(_nth_weekday(year, month, calendar.FRIDAY, 3), holidays)
    if spec.expiry is Expiry.FOURTH_WEDNESDAY:
        return _next_trading_day(_nth_weekday(year, month, calendar.WEDNESDAY, 4), holidays)
    if spec.expiry is Expiry.TRADING_DAY_10:
        d, seen = date(year, month, 1), 0
        while True:
            if is_trading_day(d, holidays):
                seen += 1
                if seen == 10:
                    return d
            d += timedelta(days=1)
    # PREVIOUS_MONTH_END: step back from the last day of the previous month.
    d = date(year, month, 1) - timedelta(days=1)
    while not is_trading_day(d, holidays):
        d -= timedelta(days=1)
    return d


# -- codes -------------------------------------------------------------------------------


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def _from_index(index: int) -> tuple[int, int]:
    return index // 12, index % 12 + 1


def sse_option_code(spec: ProductSpec, year: int, month: int, call: bool, slot: int) -> str:
    """A stand-in for an SSE option's eight-digit code.

    The exchange numbers its options as it lists them (10009xxx), which no rule can
    predict; the simulation spells ``9`` + underlying (``0`` 50ETF, ``3`` 300ETF) + yymm +
    ``1`` call / ``2`` put + a strike slot, so a code says what it is and never collides
    with a real one of this decade.
    """
    underlying = "3" if spec.code == "510300" else "0"
    return f"9{underlying}{year % 100:02d}{month:02d}{1 if call else 2}{slot % 10}"


def _strike_text(option: OptionSeries, strike: float) -> str:
    return str(round(strike * option.strike_scale))


def _future_contract(spec: ProductSpec, year: int, month: int, expiry: date) -> ListedContract:
    digits = f"{year % 10}{month:02d}" if spec.style is CodeStyle.CZCE else f"{year % 100:02d}{month:02d}"
    return ListedContract(
        spec.code + digits, spec.exchange, spec.name + digits, spec.code, year, month, expiry
    )


def _option_contracts(
    spec: ProductSpec, year: int, month: int, expiry: date, strikes: int
) -> list[ListedContract]:
    assert spec.option is not None
    option = spec.option
    out: list[ListedContract] = []
    # ATM first, then outwards: +1, -1, +2, -2 ... steps (strikes each side), never ≤ 0.
    offsets = [0] + [k * sign for k in range(1, strikes + 1) for sign in (1, -1)]
    for slot, offset in enumerate(offsets):
        strike = round(option.centre + offset * option.step, 6)
        if strike <= 0:
            continue
        for call in (True, False):
            text = _strike_text(option, strike)
            if spec.style is CodeStyle.SSE_OPTION:
                symbol = sse_option_code(spec, year, month, call, slot)
                name = f"{option.underlying}{'购' if call else '沽'}{month}月{text}"
            else:
                symbol = f"{spec.code}{year % 100:02d}{month:02d}-{'C' if call else 'P'}-{text}"
                name = f"{spec.name}{year % 100:02d}{month:02d}{'购' if call else '沽'}{text}"
            out.append(
                ListedContract(symbol, spec.exchange, name, spec.code, year, month, expiry, call, strike)
            )
    return out


# -- listing -----------------------------------------------------------------------------


def _spec(product: str | ProductSpec) -> ProductSpec:
    if isinstance(product, ProductSpec):
        return product
    try:
        return PRODUCT_RULES[product]
    except KeyError:
        raise ValueError(f"unknown product {product!r}; known: {', '.join(PRODUCT_RULES)}") from None


def listed_months(
    product: str | ProductSpec, today: date, holidays: Collection[date] = ()
) -> list[tuple[int, int, date]]:
    """(year, month, last trading day) of every month ``product`` lists on ``today``."""
    spec = _spec(product)
    rule = spec.listing
    start = _month_index(today.year, today.month)
    # The front: the nearest month (of the cycle, unless consecutive months are listed)
    # that has not passed its last trading day. A new month is listed the day after.
    front = next(
        i
        for i in range(start, start + _HORIZON_MONTHS)
        if (rule.consecutive or _from_index(i)[1] in rule.cycle)
        and last_trading_day(spec, *_from_index(i), holidays) >= today
    )
    months = {front + k for k in range(rule.consecutive)}
    months |= {front + k for k in range(rule.within) if _from_index(front + k)[1] in rule.cycle}
    after = front + rule.consecutive
    while rule.quarters and sum(1 for m in months if m >= front + rule.consecutive) < rule.quarters:
        if _from_index(after)[1] in QUARTER_MONTHS:
            months.add(after)
        after += 1
    return [(*_from_index(i), last_trading_day(spec, *_from_index(i), holidays)) for i in sorted(months)]


def live_contracts(
    product: str | ProductSpec, today: date, holidays: Collection[date] = (), strikes: int = 0
) -> list[ListedContract]:
    """Every contract of ``product`` live on ``today``, nearest expiry first.

    Options come as a call and a put per strike: the centre strike and ``strikes`` more on
    each side, per listed month.
    """
    spec = _spec(product)
    out: list[ListedContract] = []
    for year, month, expiry in listed_months(spec, today, holidays):
        if spec.option is None:
            out.append(_future_contract(spec, year, month, expiry))
        else:
            out.extend(_option_contracts(spec, year, month, expiry, strikes))
    return out


def main_contract(product: str | ProductSpec, today: date, holidays: Collection[date] = ()) -> ListedContract:
    """The contract most of the market trades, by the usual convention (docs/contracts.md):
    the first listed month of the product's main months at least ``main_lead`` months after
    today's month, skipping a contract in its last trading day; for options, that month's
    centre-strike call."""
    spec = _spec(product)
    this_month = _month_index(today.year, today.month)
    for contract in live_contracts(spec, today, holidays):
        if (
            contract.month in spec.main_months
            and _month_index(contract.year, contract.month) - this_month >= spec.main_lead
            and contract.last_trading_day > today
        ):
            return contract
    raise ValueError(f"{spec.code} lists no main contract on {today}")  # a rule table mistake


def parse_contract(
    symbol: str, exchange: str, today: date, holidays: Collection[date] = ()
) -> tuple[ProductSpec, date] | None:
    """The product and last trading day of a futures or CFFEX option code of a known
    product (``rb2601``, ``SR601``, ``IO2601-C-4000``), or None. CZCE's one-digit year is
    read as the decade that puts the contract nearest to ``today``."""
    if exchange == "SSE":
        return _parse_sse_option(symbol, holidays)
    head = symbol.split("-", 1)[0]
    code = head.rstrip("0123456789")
    digits = head[len(code) :]
    spec = PRODUCT_RULES.get(code)
    if spec is None or spec.exchange != exchange:
        return None
    if spec.style is CodeStyle.CZCE and len(digits) == 3:
        decade = today.year - today.year % 10
        year = min((decade - 10, decade, decade + 10), key=lambda y: abs(y + int(digits[0]) - today.year))
        year += int(digits[0])
    elif spec.style is not CodeStyle.CZCE and len(digits) == 4:
        year = 2000 + int(digits[:2])
    else:
        return None
    month = int(digits[-2:])
    if not 1 <= month <= 12:
        return None
    return spec, last_trading_day(spec, year, month, holidays)


def _parse_sse_option(symbol: str, holidays: Collection[date]) -> tuple[ProductSpec, date] | None:
    """The inverse of sse_option_code; None for anything else (real SSE codes included)."""
    if len(symbol) != 8 or not symbol.isdigit() or symbol[0] != "9" or symbol[1] not in "03":
        return None
    spec = PRODUCT_RULES["510300" if symbol[1] == "3" else "510050"]
    year, month = 2000 + int(symbol[2:4]), int(symbol[4:6])
    if not 1 <= month <= 12:
        return None
    return spec, last_trading_day(spec, year, month, holidays)
