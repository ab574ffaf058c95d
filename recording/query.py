"""One contract-day of the recording, through DuckDB over its Parquet file. No Django import.

The day's file for the contract's exchange is named by the layout (no glob over the whole
store), and it is sorted by contract, so DuckDB reads only the row groups whose ``symbol``
statistics can hold the contract.
"""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from aggregation.exchange_time import CHINA_TZ
from aggregation.sessions import split_vt_symbol
from aggregation.wire import datetime_from_ns
from recording import layout
from recording.schema import COLUMNS


class DayNotFound(LookupError):
    """The recording holds no such trading day."""


@dataclass(frozen=True, slots=True)
class Page:
    total: int
    rows: list[dict[str, Any]]


_lock = threading.Lock()
_connection: duckdb.DuckDBPyConnection | None = None


def _cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of one in-memory DuckDB per process (a cursor per query: a DuckDB connection
    must not be used by two threads at once, its cursors may)."""
    global _connection
    with _lock:
        if _connection is None:
            _connection = duckdb.connect(":memory:")
            # Closed before the interpreter tears DuckDB's bindings down (else they report leaks).
            atexit.register(_connection.close)
        return _connection.cursor()


def exchange_time(ns: int) -> str:
    """Epoch ns as exchange time (Asia/Shanghai), ISO 8601 with milliseconds and offset."""
    return datetime_from_ns(ns, CHINA_TZ).isoformat(timespec="milliseconds")


def ticks(root: Path, vt_symbol: str, day: date, limit: int | None = None, offset: int = 0) -> Page:
    """The contract's ticks of ``day`` in exchange-time order (tape order among equal
    times), ``limit`` from ``offset``; raises ``DayNotFound`` when ``day`` was not recorded,
    ``ValueError`` for a ``vt_symbol`` that is not ``symbol.EXCHANGE``."""
    symbol, exchange = split_vt_symbol(vt_symbol)
    if not layout.day_dir(root, day).is_dir():
        raise DayNotFound(f"trading day {day.isoformat()} is not recorded")
    path = layout.part_path(root, day, exchange)
    if not path.is_file():
        return Page(0, [])  # the day is there, with no tick of that exchange
    source = f"read_parquet('{_quoted(path)}')"
    cur = _cursor()
    try:
        count_row = cur.execute(f"SELECT count(*) FROM {source} WHERE symbol = ?", [symbol]).fetchone()
        total = int(count_row[0]) if count_row else 0
        page = f" LIMIT {int(limit)}" if limit is not None else ""
        cur.execute(
            f"SELECT {', '.join(COLUMNS)} FROM {source} WHERE symbol = ? "
            f"ORDER BY datetime, ord{page} OFFSET {int(offset)}",
            [symbol],
        )
        rows = [dict(zip(COLUMNS, values, strict=True)) for values in cur.fetchall()]
    finally:
        cur.close()
    return Page(total, rows)


def _quoted(path: Path) -> str:
    # A path inside a SQL string literal: DuckDB's table functions take no bound parameter
    # for the file name in every position, so quote it the SQL way.
    return str(path).replace("'", "''")
