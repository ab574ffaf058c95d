"""1-minute bars of a recorded day, made offline by the live bar rules (services.offline_bars),
saved into vn.py's database (``manage.py export_vnpy``: ``save_bar_data``) and read back with
vn.py's ``load_bar_data`` field by field, in a tmp HOME (vn.py's ``.vntrader``)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from aggregation.exchange_time import CHINA_TZ
from aggregation.sessions import default_calendar
from aggregation.wire import datetime_from_ns
from recording.query import ticks
from recording.writer import record_day
from services.offline_bars import bars_from_ticks
from services.sections import SessionClock
from tests.hub_process import PROJECT, HubProcess
from tests.recording_helpers import china, write_journal

DAY = date(2026, 12, 1)  # Tuesday: Monday night belongs to it
CONTRACT = "rb2605.SHFE"


def by_hand(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bars the rules say, computed plainly: per exchange minute, OHLC of the trades,
    volume and turnover as differences of the cumulative figures from 0 at the day's start."""
    bars: dict[int, dict[str, Any]] = {}
    volume = turnover = 0.0
    for row in rows:
        start = datetime_from_ns(row["datetime"], CHINA_TZ).replace(second=0, microsecond=0)
        key = int(start.timestamp())
        bar = bars.get(key)
        if bar is None:
            price = row["last_price"]
            bar = bars[key] = {
                "datetime": start,
                "open_price": price,
                "high_price": price,
                "low_price": price,
            }
            bar |= {"volume": 0.0, "turnover": 0.0}
        bar["high_price"] = max(bar["high_price"], row["last_price"])
        bar["low_price"] = min(bar["low_price"], row["last_price"])
        bar["close_price"] = row["last_price"]
        bar["volume"] += row["volume"] - volume
        # The helper's turnover is not cumulative (price × volume): a fall counts as none.
        bar["turnover"] += max(0.0, row["turnover"] - turnover)
        bar["open_interest"] = row["open_interest"]
        volume, turnover = row["volume"], row["turnover"]
    return [bars[k] for k in sorted(bars)]


def recorded_day(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    journal, root = tmp_path / "journal", tmp_path / "recording"
    night = china("2026-11-30 21:00:00.250")
    morning = china("2026-12-01 09:00:00.250")
    stamps = [(CONTRACT, at + timedelta(milliseconds=500 * i)) for at in (night, morning) for i in range(300)]
    calendar = default_calendar()
    write_journal(journal, stamps, is_trading_day=calendar.is_trading_day)
    record_day(journal, root, DAY, is_trading_day=calendar.is_trading_day)
    return root, ticks(root, CONTRACT, DAY).rows


def test_offline_bars_of_a_recorded_day_follow_the_live_rules(tmp_path: Path) -> None:
    _root, rows = recorded_day(tmp_path)
    clock = SessionClock(default_calendar())
    made = [r.fields for r in bars_from_ticks(rows, clock, ("1m",), emit_flat=False)]
    expected = by_hand(rows)
    assert len(made) == len(expected) == 6  # 2.5 minutes at night and 2.5 in the morning: 3 + 3
    for bar, want in zip(made, expected, strict=True):
        assert datetime_from_ns(bar["datetime"], CHINA_TZ) == want["datetime"]
        assert bar["trading_day"] == DAY.isoformat() and bar["complete"]
        for name in ("open_price", "high_price", "low_price", "close_price", "volume", "open_interest"):
            assert bar[name] == want[name], name
        assert abs(bar["turnover"] - want["turnover"]) < 1e-6
    # With flat bars (the live default) the quiet minutes of the day's sections are there too.
    flat = [r.fields for r in bars_from_ticks(rows, clock, ("1m",), emit_flat=True)]
    assert len(flat) > 300 and sum(not b["flat"] for b in flat) == 6
    assert datetime_from_ns(flat[-1]["datetime"], CHINA_TZ) == china("2026-12-01 14:59:00")


def test_a_days_minute_bars_saved_into_vnpys_database_read_back_with_load_bar_data(tmp_path: Path) -> None:
    root, rows = recorded_day(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    hub = HubProcess(tmp_path, MDHUB_RECORDING_DIR=str(root), HOME=str(home), MDHUB_BARS_FLAT="0")
    hub.manage("migrate", "--noinput")
    summary = json.loads(hub.manage("export_vnpy", "--day", DAY.isoformat()).stdout.splitlines()[-1])
    assert summary["ticks"]["ticks"] == 600 and summary["bars"]["bars"] == 6
    loaded = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.vnpy_bar_reader",
            "rb2605",
            "SHFE",
            "2026-11-30T00:00",
            "2026-12-02T00:00",
        ],
        cwd=PROJECT,
        env={**hub.env, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    back = [json.loads(line) for line in loaded.stdout.splitlines()]
    assert len(back) == 6
    for got, want in zip(back, by_hand(rows), strict=True):
        assert got["interval"] == "1m" and got["gateway_name"] == "DB"
        # vn.py's database keeps the machine's zone; the instant is the exchange's.
        assert datetime.fromisoformat(got["datetime"]) == want["datetime"]
        for name in ("open_price", "high_price", "low_price", "close_price", "volume", "open_interest"):
            assert got[name] == want[name], name
        assert abs(got["turnover"] - want["turnover"]) < 1e-6
    assert not (PROJECT / ".vntrader").exists()
