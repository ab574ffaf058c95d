"""``manage.py record_days``: record trading days now, with the admin's trading calendar.

    manage.py record_days                  # every closed day not yet recorded, then retention
    manage.py record_days --day 2026-12-01 # that day (again), closed or not
    manage.py record_days --queue          # hand the closed days to the qcluster instead

The daily schedule (``monitoring.tape_schedule``) runs the same task by itself.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.calendar_store import load_calendar
from monitoring.tape_tasks import TASK, record_closed_days_task
from recording.writer import JournalNotFound, record_day


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date: write it as 2026-12-01") from None


class Command(BaseCommand):
    help = "Record closed trading days (or one day) from the journal as Parquet."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--day", type=_day, help="record this trading day now (again)")
        which.add_argument("--queue", action="store_true", help="queue the task for the qcluster")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["queue"]:
            from django_q.tasks import async_task

            task_id = async_task(TASK, q_options={"timeout": 3600})
            self.stdout.write(f"queued {TASK} ({task_id})")
            return
        day: date | None = options["day"]
        if day is None:
            self.stdout.write(json.dumps(record_closed_days_task()))
            return
        try:
            result = record_day(
                settings.MDHUB_JOURNAL_DIR,
                settings.MDHUB_RECORDING_DIR,
                day,
                is_trading_day=load_calendar().is_trading_day,
            )
        except JournalNotFound as exc:
            raise CommandError(f"{exc}. Is MDHUB_JOURNAL_DIR the hub's journal directory?") from None
        self.stdout.write(
            json.dumps({"day": result.day, "ticks": result.ticks, "bytes": result.parquet_bytes})
        )
