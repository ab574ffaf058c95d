"""A recorded day exported into vn.py's own database layer (recording.vnpy_export, through
``vnpy.trader.database.get_database()``: vnpy_sqlite by default) reads back with vn.py's
``load_tick_data`` field by field. vn.py runs in child processes whose HOME is a tmp dir,
so its ``.vntrader`` settings and database land there, never in the tree or in $HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aggregation.exchange_time import CHINA_TZ
from aggregation.sessions import default_calendar
from aggregation.wire import NUMBER_FIELDS, datetime_from_ns
from recording.query import ticks
from recording.writer import record_day
from tests.recording_helpers import china, write_journal

PROJECT = Path(__file__).resolve().parent.parent
DAY = date(2026, 12, 1)
SPAN = ("2026-11-30T00:00", "2026-12-02T00:00")


def vnpy_env(home: Path) -> dict[str, str]:
    # cwd is the project, which has no .vntrader: vn.py then uses HOME's.
    return {**os.environ, "HOME": str(home), "PYTHONPATH": str(PROJECT)}


def test_a_day_exported_to_vnpys_database_reads_back_field_by_field(tmp_path: Path) -> None:
    journal, root, home = tmp_path / "journal", tmp_path / "recording", tmp_path / "home"
    home.mkdir()
    at = china("2026-11-30 21:00:00")
    # Night and day session; CZCE stamps in whole seconds, so two snapshots share a time.
    stamps = [("rb2605.SHFE", at + timedelta(milliseconds=500 * i)) for i in range(60)]
    stamps += [("SR605.CZCE", at + timedelta(seconds=i // 2)) for i in range(40)]
    stamps += [
        ("rb2605.SHFE", china("2026-12-01 09:00:00") + timedelta(milliseconds=500 * i)) for i in range(60)
    ]
    calendar = default_calendar()
    write_journal(journal, sorted(stamps, key=lambda s: s[1]), is_trading_day=calendar.is_trading_day)
    record_day(journal, root, DAY, is_trading_day=calendar.is_trading_day)

    exported = subprocess.run(
        [sys.executable, "-m", "recording", "--root", str(root), "export-vnpy", "--day", DAY.isoformat()],
        cwd=PROJECT,
        env=vnpy_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert exported.returncode == 0, exported.stderr
    summary = json.loads(exported.stdout.splitlines()[-1])
    # vn.py keys ticks by (symbol, exchange, datetime): the CZCE pairs become one row each.
    assert summary == {
        "day": "2026-12-01",
        "ticks": 160,
        "contracts": 2,
        "collapsed": 20,
        "database": "sqlite",
    }
    assert (home / ".vntrader" / "database.db").is_file()
    assert not (PROJECT / ".vntrader").exists()

    for vt_symbol, expected_rows in (("rb2605.SHFE", 120), ("SR605.CZCE", 20)):
        symbol, exchange = vt_symbol.split(".")
        loaded = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.vnpy_db_reader",
                symbol,
                exchange,
                "2026-11-30T00:00",
                "2026-12-02T00:00",
            ],
            cwd=PROJECT,
            env=vnpy_env(home),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert loaded.returncode == 0, loaded.stderr
        back = [json.loads(line) for line in loaded.stdout.splitlines()]
        recorded = ticks(root, vt_symbol, DAY).rows
        # The last snapshot of each exchange time is what vn.py keeps.
        last_of_time: dict[int, dict[str, Any]] = {}
        for row in recorded:
            last_of_time[row["datetime"]] = row
        assert len(back) == len(last_of_time) == expected_rows
        for got, row in zip(back, sorted(last_of_time.values(), key=lambda r: r["datetime"]), strict=True):
            assert got["symbol"] == row["symbol"] and got["exchange"] == row["exchange"]
            assert got["name"] == row["name"] and got["gateway_name"] == "DB"
            # vn.py's database zone is the machine's; the instant is the exchange's.
            assert _instant(got["datetime"]) == datetime_from_ns(row["datetime"], CHINA_TZ)
            assert _instant(got["localtime"]) == datetime_from_ns(row["localtime"], CHINA_TZ)
            for name in NUMBER_FIELDS:
                assert got[name] == row[name], name


def _instant(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)
