"""A recorded day into vn.py's own database layer (``vnpy.trader.database.get_database()``).

Whatever database the user configured for vn.py (``database.name`` in its
``.vntrader/vt_setting.json``; ``vnpy_sqlite`` by default) gets the day's ticks as vn.py
``TickData``, so vn.py's backtester and data manager read them as their own. vn.py is
imported only when an export runs: importing it creates its ``.vntrader`` home and reads its
settings, which nothing else in mdhub needs.

vn.py keys its tick table by (symbol, exchange, datetime): two snapshots of one contract
with the same exchange time (CZCE stamps carry no milliseconds) are one row there, the later
one; ``collapsed`` counts the ticks that cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from aggregation.exchange_time import CHINA_TZ
from aggregation.wire import NUMBER_FIELDS, datetime_from_ns
from recording import layout
from recording.query import DayNotFound

if TYPE_CHECKING:
    from vnpy.trader.object import BarData, TickData

GATEWAY_NAME = "MDHUB"
# Bars of one contract-day's recorded rows (in tape order), as the bar service's payloads:
# ``services.offline_bars.bars_from_ticks``, passed in by the caller (this room does not
# import the services room; the web side joins them, ``monitoring.tape_bars``).
BarMaker = Callable[[list[dict[str, Any]]], Iterable[dict[str, Any]]]
# Ticks handed to the database per call (vnpy_sqlite upserts them in one transaction).
CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class Export:
    day: str
    ticks: int
    contracts: int
    collapsed: int
    database: str


def tick_data(row: dict[str, Any]) -> TickData:
    """A vn.py ``TickData`` from a recorded row (a field the payload lacked is 0, as vn.py's
    own default)."""
    from vnpy.trader.constant import Exchange
    from vnpy.trader.object import TickData

    localtime = row.get("localtime")
    numbers = {name: float(row[name]) if row.get(name) is not None else 0.0 for name in NUMBER_FIELDS}
    return TickData(
        gateway_name=GATEWAY_NAME,
        symbol=row["symbol"],
        exchange=Exchange(row["exchange"]),
        datetime=datetime_from_ns(row["datetime"], CHINA_TZ),
        name=row.get("name") or "",
        localtime=datetime_from_ns(localtime, CHINA_TZ) if localtime is not None else None,
        **numbers,
    )


def _rows_by_contract(root: Path, day: date, symbols: Iterable[str] | None) -> Iterable[list[dict[str, Any]]]:
    wanted = set(symbols) if symbols is not None else None
    cur = duckdb.connect(":memory:")
    try:
        for path in layout.day_parts(root, day):
            literal = str(path).replace("'", "''")
            contracts = [
                r[0]
                for r in cur.execute(
                    f"SELECT DISTINCT symbol FROM read_parquet('{literal}') ORDER BY 1"
                ).fetchall()
            ]
            for symbol in contracts:
                exchange = path.parent.name[len(layout.EXCHANGE_PREFIX) :]
                if wanted is not None and f"{symbol}.{exchange}" not in wanted:
                    continue
                result = cur.execute(
                    f"SELECT * FROM read_parquet('{literal}') WHERE symbol = ? ORDER BY datetime, ord",
                    [symbol],
                )
                names = [d[0] for d in result.description]
                yield [dict(zip(names, values, strict=True)) for values in result.fetchall()]
    finally:
        cur.close()


def export_day(root: Path, day: date, symbols: Iterable[str] | None = None) -> Export:
    """Save ``day``'s ticks (of ``symbols``, vt_symbols, or all) into vn.py's database."""
    if not layout.day_dir(root, day).is_dir():
        raise DayNotFound(f"trading day {day.isoformat()} is not recorded")
    from vnpy.trader.database import get_database
    from vnpy.trader.setting import SETTINGS

    database = get_database()
    ticks = contracts = collapsed = 0
    for rows in _rows_by_contract(root, day, symbols):
        contracts += 1
        batch = [tick_data(row) for row in rows]
        collapsed += len(batch) - len({t.datetime for t in batch})
        for at in range(0, len(batch), CHUNK):
            database.save_tick_data(batch[at : at + CHUNK])
        ticks += len(batch)
    return Export(day.isoformat(), ticks, contracts, collapsed, str(SETTINGS["database.name"]))


@dataclass(frozen=True, slots=True)
class BarExport:
    day: str
    bars: int
    contracts: int
    database: str


def bar_data(fields: dict[str, Any]) -> BarData:
    """A vn.py 1-minute ``BarData`` from a bar payload (``services.bars``): vn.py stamps a
    bar with its start, as the payload's ``datetime`` is."""
    from vnpy.trader.constant import Exchange, Interval
    from vnpy.trader.object import BarData

    return BarData(
        gateway_name=GATEWAY_NAME,
        symbol=fields["symbol"],
        exchange=Exchange(fields["exchange"]),
        datetime=datetime_from_ns(fields["datetime"], CHINA_TZ),
        interval=Interval.MINUTE,
        volume=float(fields["volume"]),
        turnover=float(fields["turnover"]),
        open_interest=float(fields["open_interest"]),
        open_price=float(fields["open_price"]),
        high_price=float(fields["high_price"]),
        low_price=float(fields["low_price"]),
        close_price=float(fields["close_price"]),
    )


def export_bars(
    root: Path, day: date, make_bars: BarMaker, symbols: Iterable[str] | None = None
) -> BarExport:
    """Save ``day``'s 1-minute bars, made by ``make_bars`` from each contract's recorded
    ticks, into vn.py's database (``save_bar_data``)."""
    if not layout.day_dir(root, day).is_dir():
        raise DayNotFound(f"trading day {day.isoformat()} is not recorded")
    from vnpy.trader.database import get_database
    from vnpy.trader.setting import SETTINGS

    database = get_database()
    bars = contracts = 0
    for rows in _rows_by_contract(root, day, symbols):
        batch = [bar_data(fields) for fields in make_bars(rows) if fields.get("interval") == "1m"]
        contracts += 1
        if batch:
            database.save_bar_data(batch)
        bars += len(batch)
    return BarExport(day.isoformat(), bars, contracts, str(SETTINGS["database.name"]))
