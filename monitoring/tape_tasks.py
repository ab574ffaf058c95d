"""The recording's django-q2 task: record the closed trading days, then apply retention.

Run by ``manage.py qcluster`` from the schedule ``monitoring.tape_schedule`` creates (after
each trading day's close) and on demand (``manage.py record_days``), never by the hub: the
tick path never waits on the disk work of a recording. It reads the admin-edited trading
calendar (``monitoring.calendar_store``), so a holiday added in the admin moves the night
before it to the right trading day here too.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from monitoring.calendar_store import load_calendar
from recording.daily import record_closed_days

TASK = "monitoring.tape_tasks.record_closed_days_task"


def record_closed_days_task(now_ns: int | None = None) -> dict[str, Any]:
    """Record every closed day of ``MDHUB_JOURNAL_DIR`` not yet in ``MDHUB_RECORDING_DIR``,
    then delete the days past ``MDHUB_RECORDING_RETENTION_DAYS``; what it did (the task's
    result, shown in the admin's successful tasks)."""
    calendar = load_calendar()
    run = record_closed_days(
        settings.MDHUB_JOURNAL_DIR,
        settings.MDHUB_RECORDING_DIR,
        time.time_ns() if now_ns is None else now_ns,
        is_trading_day=calendar.is_trading_day,
        keep_days=settings.MDHUB_RECORDING_RETENTION_DAYS,
    )
    return run.as_dict()
