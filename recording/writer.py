"""A trading day's journal → Parquet, one file per exchange, sorted by contract and time.

Two passes over the journal file (``aggregation.journal_format``'s reader, on an mmap), so
memory stays bounded by one batch however long the day: the first reads only the records'
headers (topic, epoch, seq, exchange time) and keeps, per topic, where each tick is; the
second visits the topics exchange by exchange in contract order, decodes their payloads
(msgpack) and writes row groups of ``BATCH`` rows.

What is dropped is counted, never fatal (the recording of a day must not stop at one bad
record): payloads that do not decode or do not fit the columns (``bad``), records of other
topics than ticks (``other_topics``: bars and Greeks are derived, not the tape), and ticks
whose exchange time belongs to another trading day than the journal's (``misdated``; the
journal names its file by the hub's clock, the partition goes by the exchange's).
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import shutil
import struct
import time
from array import array
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import msgpack
import pyarrow as pa
import pyarrow.parquet as pq

from aggregation.journal_day import TradingDayRule, trading_day, weekdays
from aggregation.journal_format import HEADER, HOLE, NUMS, SUFFIX, TICK, decode, iter_bodies
from aggregation.wire import TOPIC_PREFIX
from recording import layout
from recording.schema import SCHEMA, to_batch, valid

log = logging.getLogger("mdhub.recording")

BATCH = 65_536
COMPRESSION = "zstd"
_MINUTE_NS = 60_000_000_000


class JournalNotFound(FileNotFoundError):
    pass


@dataclass(slots=True)
class DayRecord:
    """What recording one day did (also written to the day's ``_day.json``)."""

    day: str
    ticks: int = 0
    exchanges: dict[str, int] = field(default_factory=dict)
    contracts: int = 0
    bad: int = 0
    misdated: int = 0
    other_topics: int = 0
    holes: list[dict[str, Any]] = field(default_factory=list)
    journal_bytes: int = 0
    parquet_bytes: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class _Topic:
    """Where one topic's ticks are in the journal file, in tape order."""

    symbol: str
    exchange: str
    offsets: array[int] = field(default_factory=lambda: array("q"))
    ords: array[int] = field(default_factory=lambda: array("q"))
    times: array[int] = field(default_factory=lambda: array("q"))


def journal_path(journal_dir: Path, day: date) -> Path:
    return journal_dir / f"{day.isoformat()}{SUFFIX}"


def journal_days(journal_dir: Path) -> list[date]:
    days = []
    for path in journal_dir.glob(f"*{SUFFIX}"):
        try:
            days.append(date.fromisoformat(path.name[: -len(SUFFIX)]))
        except ValueError:
            continue
    return sorted(days)


def _split_topic(topic: bytes) -> tuple[str, str] | None:
    if not topic.startswith(TOPIC_PREFIX):
        return None
    symbol, dot, exchange = topic[len(TOPIC_PREFIX) :].decode(errors="replace").rpartition(".")
    if not dot or not symbol or not exchange:
        return None
    return symbol, exchange


def _index(
    data: mmap.mmap, day: date, is_trading_day: TradingDayRule, result: DayRecord
) -> dict[bytes, _Topic]:
    """Pass one: per tick topic, the offsets, tape order and exchange times of its ticks."""
    topics: dict[bytes, _Topic] = {}
    # The trading day of an exchange time, by the minute: one calendar look-up per minute.
    day_of_minute: dict[int, date] = {}
    ord_ = 0
    for offset, body in iter_bodies(data):
        kind = body[0]
        if kind == HOLE:
            hole = decode(offset, body)
            result.holes.append(
                {
                    "topic": hole.topic.decode(errors="replace"),
                    "epoch": hole.epoch,
                    "from": hole.seq,
                    "to": hole.to_seq,
                }
            )
            continue
        if kind != TICK:
            continue
        end = 2 + body[1]
        topic = body[2:end]
        entry = topics.get(topic)
        if entry is None:
            split = _split_topic(topic)
            if split is None:
                result.other_topics += 1
                continue
            entry = topics[topic] = _Topic(*split)
        _epoch, _seq, exchange_ns = NUMS.unpack_from(body, end)
        minute = exchange_ns // _MINUTE_NS
        its_day = day_of_minute.get(minute)
        if its_day is None:
            its_day = day_of_minute[minute] = trading_day(exchange_ns, is_trading_day)
        if its_day != day:
            result.misdated += 1
            continue
        entry.offsets.append(offset)
        entry.ords.append(ord_)
        entry.times.append(exchange_ns)
        ord_ += 1
    return topics


def _rows(data: mmap.mmap, entry: _Topic, result: DayRecord) -> Iterator[dict[str, Any]]:
    """Pass two for one topic: its decoded ticks, sorted by exchange time then tape order
    (the hub forwards a topic in time order, so this is almost always the tape's order)."""
    order: list[int] | range = range(len(entry.offsets))
    times = entry.times
    if any(times[i] > times[i + 1] for i in range(len(times) - 1)):
        order = sorted(order, key=lambda i: (times[i], entry.ords[i]))
    unpack = msgpack.unpackb
    for i in order:
        at = entry.offsets[i]
        length, _crc = HEADER.unpack_from(data, at)
        record = decode(at, data[at + HEADER.size : at + HEADER.size + length])
        try:
            fields = unpack(record.payload)
        except (ValueError, msgpack.UnpackException, struct.error):
            result.bad += 1
            continue
        if not isinstance(fields, dict):
            result.bad += 1
            continue
        # The journal's header is the tape's truth for where the tick sits; the topic names
        # the contract the way clients subscribe to it.
        fields["symbol"], fields["exchange"] = entry.symbol, entry.exchange
        fields["epoch"], fields["seq"], fields["ord"] = record.epoch, record.seq, entry.ords[i]
        yield fields


def _write_rows(writer: pq.ParquetWriter, rows: list[dict[str, Any]], result: DayRecord) -> int:
    try:
        batch = to_batch(rows)
    except (pa.ArrowException, OverflowError, TypeError):
        # Slow path: find the records that do not fit and drop only those.
        good = [row for row in rows if valid(row)]
        result.bad += len(rows) - len(good)
        if not good:
            return 0
        batch = to_batch(good)
    writer.write_batch(batch)
    return int(batch.num_rows)


def record_day(
    journal_dir: Path,
    root: Path,
    day: date,
    *,
    is_trading_day: TradingDayRule = weekdays,
) -> DayRecord:
    """Write ``day``'s journal as Parquet under ``root`` (replacing an earlier recording of
    that day whole); raises ``JournalNotFound`` when the journal has no file for it.
    ``is_trading_day`` is the calendar's (``TradingCalendar.is_trading_day``)."""
    started = time.monotonic()
    path = journal_path(journal_dir, day)
    if not path.is_file():
        raise JournalNotFound(f"no journal for trading day {day.isoformat()} (looked for {path})")
    result = DayRecord(day.isoformat(), journal_bytes=path.stat().st_size)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{layout.DAY_PREFIX}{day.isoformat()}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size:
                with mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as data:
                    _write_exchanges(data, day, is_trading_day, tmp, result)
        (tmp / layout.MANIFEST).write_text(json.dumps(asdict(result) | {"seconds": None}, indent=1))
        _swap_in(root, day, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result.parquet_bytes = sum(p.stat().st_size for p in layout.day_parts(root, day))
    result.seconds = time.monotonic() - started
    log.info(
        "recorded trading day %s: %d ticks of %d contracts, %d bytes of Parquet in %.1f s "
        "(dropped: %d bad, %d of another day; %d holes in the journal)",
        result.day,
        result.ticks,
        result.contracts,
        result.parquet_bytes,
        result.seconds,
        result.bad,
        result.misdated,
        len(result.holes),
    )
    return result


def _write_exchanges(
    data: mmap.mmap, day: date, is_trading_day: TradingDayRule, tmp: Path, result: DayRecord
) -> None:
    topics = _index(data, day, is_trading_day, result)
    by_exchange: dict[str, list[_Topic]] = {}
    for entry in topics.values():
        if entry.offsets:
            by_exchange.setdefault(entry.exchange, []).append(entry)
    for exchange, entries in sorted(by_exchange.items()):
        out = tmp / f"{layout.EXCHANGE_PREFIX}{exchange}" / layout.PART
        out.parent.mkdir(parents=True)
        written = 0
        with pq.ParquetWriter(out, SCHEMA, compression=COMPRESSION) as writer:
            rows: list[dict[str, Any]] = []
            for entry in sorted(entries, key=lambda e: e.symbol):
                for row in _rows(data, entry, result):
                    rows.append(row)
                    if len(rows) >= BATCH:
                        written += _write_rows(writer, rows, result)
                        rows = []
                result.contracts += 1
            if rows:
                written += _write_rows(writer, rows, result)
        result.exchanges[exchange] = written
        result.ticks += written


def _swap_in(root: Path, day: date, tmp: Path) -> None:
    """Put the new day in place of the old one, the directory renamed whole."""
    final = layout.day_dir(root, day)
    old = root / f".old-{final.name}-{os.getpid()}"
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
