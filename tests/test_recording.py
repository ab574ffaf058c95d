"""A trading day's journal becomes Parquet (recording.writer) and reads back through DuckDB
(recording.query) exactly as the hub published it; partitions follow the trading calendar."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import msgpack
import pyarrow.parquet as pq
import pytest

from aggregation.journal import Journal
from aggregation.sessions import default_calendar
from aggregation.wire import decode_payload
from recording import layout
from recording.query import DayNotFound, exchange_time, ticks
from recording.schema import COLUMNS, SCHEMA
from recording.writer import JournalNotFound, record_day
from tests.recording_helpers import china, write_journal

PROJECT = Path(__file__).resolve().parent.parent
CALENDAR = default_calendar()
DAY = date(2026, 12, 1)


def session(vt_symbols: list[str], start: str, count: int, step_ms: int = 500) -> list[tuple[str, datetime]]:
    at = china(start)
    return [(vt_symbols[i % len(vt_symbols)], at + timedelta(milliseconds=step_ms * i)) for i in range(count)]


def test_a_recorded_day_reads_back_exactly_as_the_hub_published_it(tmp_path: Path) -> None:
    journal, root = tmp_path / "journal", tmp_path / "recording"
    contracts = ["rb2605.SHFE", "au2606.SHFE", "SR605.CZCE", "IF2612.CFFEX"]
    # Monday night (belongs to Tuesday 1 December), then Tuesday's day session.
    published = write_journal(
        journal, session(contracts, "2026-11-30 21:00:00", 400), is_trading_day=CALENDAR.is_trading_day
    )
    more = write_journal(
        journal, session(contracts, "2026-12-01 09:00:00", 400), is_trading_day=CALENDAR.is_trading_day
    )
    for topic, payloads in more.items():
        published[topic] += payloads

    result = record_day(journal, root, DAY, is_trading_day=CALENDAR.is_trading_day)

    assert result.ticks == 800 and result.bad == 0 and result.misdated == 0
    assert result.exchanges == {"CFFEX": 200, "CZCE": 200, "SHFE": 400}
    assert sorted(p.relative_to(root).as_posix() for p in layout.day_parts(root, DAY)) == [
        "day=2026-12-01/exchange=CFFEX/part-0.parquet",
        "day=2026-12-01/exchange=CZCE/part-0.parquet",
        "day=2026-12-01/exchange=SHFE/part-0.parquet",
    ]
    shfe = pq.read_table(layout.part_path(root, DAY, "SHFE"))
    assert shfe.schema.equals(SCHEMA)
    # Sorted by contract, then time.
    keys = list(zip(shfe["symbol"].to_pylist(), shfe["datetime"].to_pylist(), strict=True))
    assert keys == sorted(keys)
    for vt_symbol in contracts:
        page = ticks(root, vt_symbol, DAY)
        wire = [decode_payload(p) for p in published[f"tick.{vt_symbol}".encode()]]
        assert page.total == len(wire) == 200
        # Every field of every tick, with the wire's values and types.
        assert [{k: row[k] for k in w} for row, w in zip(page.rows, wire, strict=True)] == wire
        # Nothing more than the wire's fields but the tape's order.
        assert set(page.rows[0]) - set(wire[0]) == {"ord"}
        assert all(isinstance(row["datetime"], int) and isinstance(row["seq"], int) for row in page.rows)
    # Two hub runs, each numbering from 1 in its own epoch.
    rb = ticks(root, "rb2605.SHFE", DAY).rows
    assert [r["seq"] for r in rb] == list(range(1, 101)) * 2
    assert rb[0]["epoch"] < rb[-1]["epoch"]
    assert exchange_time(rb[0]["datetime"]) == "2026-11-30T21:00:00.000+08:00"


def test_pages_come_in_order_and_a_missing_day_is_an_error_not_an_empty_answer(tmp_path: Path) -> None:
    journal, root = tmp_path / "journal", tmp_path / "recording"
    write_journal(
        journal, session(["rb2605.SHFE"], "2026-12-01 09:00:00", 50), is_trading_day=CALENDAR.is_trading_day
    )
    record_day(journal, root, DAY, is_trading_day=CALENDAR.is_trading_day)
    whole = ticks(root, "rb2605.SHFE", DAY).rows
    pages = [ticks(root, "rb2605.SHFE", DAY, limit=20, offset=at) for at in (0, 20, 40)]
    assert [len(p.rows) for p in pages] == [20, 20, 10] and {p.total for p in pages} == {50}
    assert [r for p in pages for r in p.rows] == whole
    # A contract not traded that day, or an exchange with nothing: an existing day, no ticks.
    assert ticks(root, "hc2605.SHFE", DAY).total == 0
    assert ticks(root, "m2605.DCE", DAY).rows == []
    with pytest.raises(DayNotFound, match="2026-12-02 is not recorded"):
        ticks(root, "rb2605.SHFE", date(2026, 12, 2))
    with pytest.raises(JournalNotFound, match="no journal for trading day 2026-12-02"):
        record_day(journal, root, date(2026, 12, 2))


def test_friday_night_and_the_night_before_a_holiday_land_in_the_right_partition(tmp_path: Path) -> None:
    journal, root = tmp_path / "journal", tmp_path / "recording"
    rule = CALENDAR.is_trading_day
    ticks_at = [
        ("au2606.SHFE", china("2026-11-27 14:59:00")),  # Friday's day session → Friday
        ("au2606.SHFE", china("2026-11-27 21:00:00")),  # Friday night → Monday
        ("au2606.SHFE", china("2026-11-28 02:29:00")),  # Saturday's small hours → Monday
        ("au2606.SHFE", china("2026-11-30 09:00:00")),  # Monday
        ("au2606.SHFE", china("2026-09-30 14:00:00")),  # before National Day → 30 September
        ("au2606.SHFE", china("2026-10-08 09:00:00")),  # after it → 8 October
        ("au2606.SHFE", china("2026-10-08 21:00:00")),  # Thursday night → Friday 9th
    ]
    write_journal(journal, sorted(ticks_at, key=lambda t: t[1]), is_trading_day=rule)
    for day in ("2026-09-30", "2026-10-08", "2026-10-09", "2026-11-27", "2026-11-30"):
        record_day(journal, root, date.fromisoformat(day), is_trading_day=rule)
    found = {
        day.isoformat(): [exchange_time(r["datetime"])[:16] for r in ticks(root, "au2606.SHFE", day).rows]
        for day in layout.recorded_days(root)
    }
    assert found == {
        "2026-09-30": ["2026-09-30T14:00"],
        "2026-10-08": ["2026-10-08T09:00"],
        "2026-10-09": ["2026-10-08T21:00"],
        "2026-11-27": ["2026-11-27T14:59"],
        "2026-11-30": ["2026-11-27T21:00", "2026-11-28T02:29", "2026-11-30T09:00"],
    }


def test_bad_records_and_other_days_are_counted_and_dropped_and_the_rest_recorded(tmp_path: Path) -> None:
    journal_dir, root = tmp_path / "journal", tmp_path / "recording"
    now = [0]
    good = write_journal(journal_dir, session(["rb2605.SHFE"], "2026-12-01 10:00:00", 10))
    payload = good[b"tick.rb2605.SHFE"][0]
    from aggregation.wire import datetime_ns

    now[0] = datetime_ns(china("2026-12-01 10:01:00"))
    journal = Journal(journal_dir, clock=lambda: now[0])
    key = now[0].to_bytes(8, "big", signed=True) + bytes(8)
    journal.write_batch(
        [
            (b"tick.rb2605.SHFE", key, 1, b"\xc1 not msgpack"),
            (b"tick.rb2605.SHFE", key, 2, msgpack.packb([1, 2, 3])),
            (b"tick.rb2605.SHFE", key, 3, msgpack.packb({**decode_payload(payload), "last_price": "high"})),
            (
                b"tick.rb2605.SHFE",
                key,
                4,
                msgpack.packb({**decode_payload(payload), "recv_ns": (1 << 64) - 1}),
            ),
            (b"bar.rb2605.SHFE.1m", key, 1, msgpack.packb({"close": 1.0})),
            # Stamped a day later than the hub's clock (the journal's file): not this day.
            (
                b"tick.rb2605.SHFE",
                (now[0] + 86_400 * 10**9).to_bytes(8, "big", signed=True) + bytes(8),
                5,
                payload,
            ),
            (b"tick.rb2605.SHFE", key, 6, payload),
        ]
    )
    journal.close()
    result = record_day(journal_dir, root, DAY)
    assert (result.bad, result.other_topics, result.misdated) == (4, 1, 1)
    assert result.ticks == 11
    assert layout.read_manifest(root, DAY)["bad"] == 4


def test_recording_a_day_again_replaces_it_whole_and_retention_deletes_old_days(tmp_path: Path) -> None:
    journal, root = tmp_path / "journal", tmp_path / "recording"
    write_journal(journal, session(["rb2605.SHFE", "cu2605.SHFE"], "2026-11-02 09:00:00", 20))
    write_journal(journal, session(["rb2605.SHFE"], "2026-12-01 09:00:00", 30))
    record_day(journal, root, date(2026, 11, 2))
    record_day(journal, root, DAY)
    record_day(journal, root, DAY)
    assert ticks(root, "rb2605.SHFE", DAY).total == 30
    # Nothing left over from writing a day twice (no temporary or old directories).
    assert sorted(p.name for p in root.iterdir()) == ["day=2026-11-02", "day=2026-12-01"]
    use = layout.disk_use(root)
    assert use.days == 2 and use.bytes == sum(use.by_day.values()) > 0
    assert use.as_dict()["first_day"] == "2026-11-02"
    assert layout.cleanup(root, 0, date(2027, 6, 1)) == []
    assert layout.cleanup(root, 20, DAY) == [date(2026, 11, 2)]
    assert layout.recorded_days(root) == [DAY]


def test_the_cli_prints_a_contract_day_and_says_when_a_day_does_not_exist(tmp_path: Path) -> None:
    journal, root = tmp_path / "journal", tmp_path / "recording"
    write_journal(
        journal, session(["rb2605.SHFE"], "2026-12-01 09:00:00", 5), is_trading_day=CALENDAR.is_trading_day
    )
    env = {**os.environ, "MDHUB_JOURNAL_DIR": str(journal), "MDHUB_RECORDING_DIR": str(root)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "recording", *args],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    recorded = cli("record", "--day", "2026-12-01")
    assert recorded.returncode == 0, recorded.stderr
    assert "5 ticks" in recorded.stdout
    table = cli("ticks", "rb2605.SHFE", "--day", "2026-12-01")
    assert table.returncode == 0, table.stderr
    assert "2026-12-01T09:00:00.500+08:00" in table.stdout and "5 of 5 ticks" in table.stderr
    as_csv = cli("ticks", "rb2605.SHFE", "--day", "2026-12-01", "--csv")
    lines = as_csv.stdout.splitlines()
    assert lines[0].split(",") == ["exchange_time", *COLUMNS] and len(lines) == 6
    missing = cli("ticks", "rb2605.SHFE", "--day", "2026-12-02")
    assert missing.returncode == 2 and "2026-12-02 is not recorded" in missing.stderr
    assert "recorded days: 2026-12-01 to 2026-12-01" in missing.stderr
    no_journal = cli("record", "--day", "2026-12-03")
    assert no_journal.returncode == 2 and "no journal for trading day 2026-12-03" in no_journal.stderr
    bad_day = cli("ticks", "rb2605.SHFE", "--day", "1 December")
    assert bad_day.returncode == 2 and "write it as 2026-12-01" in bad_day.stderr
