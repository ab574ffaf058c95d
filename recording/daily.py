"""Record every closed trading day not yet recorded, then apply retention (docs/recording.md).

What the daily schedule (``monitoring.tape_tasks``, run by django-q2's qcluster, never by the
hub) and ``python -m recording record --closed`` both run. A trading day is *closed* once the
journal has rolled to the next one (``aggregation.journal_day.NIGHT_STARTS``, 18:00 exchange
time): its file takes no more ticks. No Django import: the caller passes the calendar's
``is_trading_day`` (the admin-edited holidays on the web side, the built-in ones in the CLI).

A day that fails to record (a full disk, an unreadable file) is logged at ERROR (which mails
the operator) and left for the next run; the other days are still recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from aggregation.journal_day import TradingDayRule, trading_day, weekdays
from recording import layout
from recording.writer import DayRecord, JournalNotFound, journal_days, record_day

log = logging.getLogger("mdhub.recording")


@dataclass(slots=True)
class DailyRun:
    """What one run did: the days recorded, the days that failed, the days retention deleted."""

    today: date
    recorded: list[DayRecord] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    deleted: list[date] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "today": self.today.isoformat(),
            "recorded": {r.day: r.ticks for r in self.recorded},
            "failed": dict(self.failed),
            "deleted": [d.isoformat() for d in self.deleted],
        }


def closed_days(journal_dir: Path, root: Path, today: date, keep_days: int = 0) -> list[date]:
    """The journal's days before ``today`` (the trading day now) that the recording lacks,
    less those retention would delete at once (``keep_days`` calendar days; 0 keeps all):
    an old journal file must not be recorded and deleted again on every run."""
    done = set(layout.recorded_days(root))
    if not journal_dir.is_dir():
        return []
    oldest = today - timedelta(days=keep_days) if keep_days > 0 else date.min
    return [d for d in journal_days(journal_dir) if oldest <= d < today and d not in done]


def record_closed_days(
    journal_dir: Path,
    root: Path,
    now_ns: int,
    *,
    is_trading_day: TradingDayRule = weekdays,
    keep_days: int = 0,
) -> DailyRun:
    """Record the closed days not yet recorded, oldest first, then delete the recorded days
    older than ``keep_days`` calendar days (0 keeps all)."""
    today = trading_day(now_ns, is_trading_day)
    run = DailyRun(today)
    for day in closed_days(journal_dir, root, today, keep_days):
        try:
            run.recorded.append(record_day(journal_dir, root, day, is_trading_day=is_trading_day))
        except JournalNotFound as exc:
            run.failed[day.isoformat()] = str(exc)  # deleted between the listing and now
        except OSError as exc:
            run.failed[day.isoformat()] = str(exc)
            log.error("recording trading day %s failed, left for the next run: %s", day, exc)
    run.deleted = layout.cleanup(root, keep_days, today)
    for day in run.deleted:
        log.info("recording: trading day %s deleted (retention %d days)", day, keep_days)
    return run
