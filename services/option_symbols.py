"""What an option symbol says: underlying, call/put, strike, expiry (docs/services.md).

One function, ``parse_option``, for every exchange's spelling:

* CFFEX index options ``IO2612-C-4000`` (also MO, HO): the underlying is the same month's
  index future (IF, IM, IH), which expires with the option on the third Friday;
* DCE and GFEX ``m2605-C-3000``; SHFE and INE ``cu2605C80000``; CZCE ``SR605C6000``: the
  underlying is the future of the same code;
* SSE/SZSE ETF options are numbered as listed (``10008123``): nothing in the code says what
  it is, so they come from a contract table (the gateway's ``ContractData``, saved as JSON).

Expiry (last trading day) rules, moved back to a trading day by the calendar's holidays:
CFFEX the third Friday of the contract month; SSE/SZSE the fourth Wednesday (from the table
when it has one); SHFE/INE the 5th-last trading day of the month before delivery; DCE the
12th trading day of the month before; CZCE the 3rd-last trading day on or before the 15th of
the month before; GFEX the 5th trading day of the month before. These follow the exchanges'
current rules; a contract table entry always wins.
"""

from __future__ import annotations

import calendar as calmod
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

BLACK76 = "black76"  # a futures underlying (or a forward)
BSM = "bsm"  # a spot underlying (ETF) with carry

_DASHED = re.compile(r"^([A-Za-z]+)(\d{3,4})-([CP])-(\d+(?:\.\d+)?)$")
_PLAIN = re.compile(r"^([A-Za-z]+)(\d{3,4})([CP])(\d+(?:\.\d+)?)$")
_CFFEX_UNDERLYING = {"IO": "IF", "MO": "IM", "HO": "IH"}
_FUTURE_OPTION_EXCHANGES = ("SHFE", "INE", "DCE", "CZCE", "GFEX")


@dataclass(frozen=True, slots=True)
class OptionContract:
    symbol: str
    exchange: str
    underlying: str  # vt_symbol
    call: bool
    strike: float
    expiry: date
    model: str  # BLACK76 or BSM

    @property
    def vt_symbol(self) -> str:
        return f"{self.symbol}.{self.exchange}"


IsTradingDay = Callable[[date], bool]


def _weekday_rule(d: date, is_trading_day: IsTradingDay) -> date:
    while not is_trading_day(d):
        d += timedelta(days=1)
    return d


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _trading_days(
    year: int, month: int, is_trading_day: IsTradingDay, until: int | None = None
) -> list[date]:
    last = until or calmod.monthrange(year, month)[1]
    return [date(year, month, d) for d in range(1, last + 1) if is_trading_day(date(year, month, d))]


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def option_expiry(exchange: str, year: int, month: int, is_trading_day: IsTradingDay) -> date:
    """The last trading day of ``exchange``'s options on contract month ``year``/``month``."""
    if exchange == "CFFEX":
        return _weekday_rule(_nth_weekday(year, month, calmod.FRIDAY, 3), is_trading_day)
    if exchange in ("SSE", "SZSE"):
        return _weekday_rule(_nth_weekday(year, month, calmod.WEDNESDAY, 4), is_trading_day)
    py, pm = _month_before(year, month)
    if exchange in ("SHFE", "INE"):
        return _trading_days(py, pm, is_trading_day)[-5]
    if exchange == "DCE":
        return _trading_days(py, pm, is_trading_day)[11]
    if exchange == "CZCE":
        return _trading_days(py, pm, is_trading_day, until=15)[-3]
    if exchange == "GFEX":
        return _trading_days(py, pm, is_trading_day)[4]
    raise ValueError(f"no option expiry rule for {exchange}")


def _year(digits: str, today: date) -> tuple[int, int] | None:
    if len(digits) == 4:
        year, month = 2000 + int(digits[:2]), int(digits[2:])
    else:
        # CZCE writes one digit of the year: the decade that puts it nearest to today.
        decade = today.year - today.year % 10
        year = min((decade - 10, decade, decade + 10), key=lambda y: abs(y + int(digits[0]) - today.year))
        year, month = year + int(digits[0]), int(digits[1:])
    return (year, month) if 1 <= month <= 12 else None


def parse_option(
    symbol: str,
    exchange: str,
    today: date,
    is_trading_day: IsTradingDay,
    table: Mapping[str, OptionContract] | None = None,
) -> OptionContract | None:
    """The option ``symbol`` on ``exchange`` is, or None when it is not an option (or an
    SSE/SZSE code missing from ``table``)."""
    if table:
        known = table.get(f"{symbol}.{exchange}")
        if known is not None:
            return known
    if exchange in ("SSE", "SZSE"):
        return None
    match = (_DASHED if exchange in ("CFFEX", "DCE", "GFEX") else _PLAIN).match(symbol)
    if match is None or (exchange == "CZCE") != (len(match.group(2)) == 3):
        return None
    product, digits, kind, strike_text = match.groups()
    when = _year(digits, today)
    if when is None:
        return None
    if exchange == "CFFEX":
        future = _CFFEX_UNDERLYING.get(product)
        if future is None:
            return None
        underlying = f"{future}{digits}.CFFEX"
    elif exchange in _FUTURE_OPTION_EXCHANGES:
        underlying = f"{product}{digits}.{exchange}"
    else:
        return None
    return OptionContract(
        symbol,
        exchange,
        underlying,
        kind == "C",
        float(strike_text),
        option_expiry(exchange, *when, is_trading_day),
        BLACK76,
    )


def load_contract_table(path: str | Path) -> dict[str, OptionContract]:
    """Options from a JSON list of ``{symbol, exchange, underlying, option_type ("C"/"P"),
    strike, expiry ("YYYY-MM-DD")}`` (vn.py ``ContractData``'s option fields). A spot
    underlying (an ETF, an index) is priced with carry (BSM); a future with Black-76."""
    rows: list[dict[str, Any]] = json.loads(Path(path).read_text())
    table: dict[str, OptionContract] = {}
    for row in rows:
        exchange = str(row["exchange"])
        underlying = str(row["underlying"])
        if "." not in underlying:
            underlying = f"{underlying}.{exchange}"
        spot = underlying.rsplit(".", 1)[1] in ("SSE", "SZSE")
        contract = OptionContract(
            str(row["symbol"]),
            exchange,
            underlying,
            str(row["option_type"]).upper().startswith("C"),
            float(row["strike"]),
            date.fromisoformat(str(row["expiry"])),
            BSM if spot else BLACK76,
        )
        table[contract.vt_symbol] = contract
    return table
