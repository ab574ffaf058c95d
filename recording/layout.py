"""Where a recording lives on disk, how much room it takes, and retention. No Django import.

``<root>/day=2026-12-01/exchange=SHFE/part-0.parquet`` (hive style, so DuckDB, Spark or
pandas read the partitions by name) and ``<root>/day=2026-12-01/_day.json``, what recording
that day found (ticks, holes, dropped records). A day is written under a hidden
``.tmp-day=...`` directory and renamed into place whole, so a reader never sees half a day
and a glob over ``day=*`` never picks up a day being written.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

DAY_PREFIX = "day="
EXCHANGE_PREFIX = "exchange="
PART = "part-0.parquet"
MANIFEST = "_day.json"


def day_dir(root: Path, day: date) -> Path:
    return root / f"{DAY_PREFIX}{day.isoformat()}"


def part_path(root: Path, day: date, exchange: str) -> Path:
    return day_dir(root, day) / f"{EXCHANGE_PREFIX}{exchange}" / PART


def day_parts(root: Path, day: date) -> list[Path]:
    """The day's Parquet files, one per exchange, sorted by exchange."""
    return sorted(day_dir(root, day).glob(f"{EXCHANGE_PREFIX}*/{PART}"))


def recorded_days(root: Path) -> list[date]:
    days: list[date] = []
    if not root.is_dir():
        return days
    for entry in root.iterdir():
        if entry.is_dir() and entry.name.startswith(DAY_PREFIX):
            try:
                days.append(date.fromisoformat(entry.name[len(DAY_PREFIX) :]))
            except ValueError:
                continue  # not ours: leave it alone
    return sorted(days)


def read_manifest(root: Path, day: date) -> dict[str, Any]:
    path = day_dir(root, day) / MANIFEST
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data


def _tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@dataclass(frozen=True, slots=True)
class DiskUse:
    """What the recording takes on disk: for the API, the metrics and the dashboard."""

    days: int
    bytes: int
    first_day: date | None
    last_day: date | None
    by_day: dict[date, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "bytes": self.bytes,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
        }


def disk_use(root: Path) -> DiskUse:
    by_day = {day: _tree_bytes(day_dir(root, day)) for day in recorded_days(root)}
    days = sorted(by_day)
    return DiskUse(
        days=len(days),
        bytes=sum(by_day.values()),
        first_day=days[0] if days else None,
        last_day=days[-1] if days else None,
        by_day=by_day,
    )


def cleanup(root: Path, keep_days: int, today: date) -> list[date]:
    """Delete the recorded days older than ``keep_days`` calendar days before ``today``
    (``keep_days`` 0 keeps everything); returns the days deleted."""
    if keep_days <= 0:
        return []
    oldest_kept = today - timedelta(days=keep_days)
    gone = [day for day in recorded_days(root) if day < oldest_kept]
    for day in gone:
        shutil.rmtree(day_dir(root, day), ignore_errors=True)
    return gone
