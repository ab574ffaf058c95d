"""The django-q2 schedule that records each trading day when it closes (docs/recording.md).

Created once by a ``post_migrate`` hook (``MonitoringConfig.ready``), so every deployment
that migrates has it and nobody has to remember a setup step; an existing schedule of that
name is left as it is, so an operator's change in the admin (another time, paused with
repeats 0) survives the next migrate.

Daily at 18:05 exchange time (Asia/Shanghai): the journal rolls to the next trading day's
file at 18:00 (``aggregation.journal_day.NIGHT_STARTS``), after the day session's close at
15:00 (15:15 for bond futures), so the day's file is complete then. The task records every
closed day not yet recorded, so a run missed while the cluster was down is caught up by the
next one, and a weekend or holiday run finds nothing to do.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from aggregation.exchange_time import CHINA_TZ
from monitoring.tape_tasks import TASK

NAME = "mdhub: record closed trading days"
RUN_AT = time(18, 5)
# A long trading day takes minutes to write (bench/recording.py: ~50 000 ticks/s); the
# cluster's default timeout (60 s) would kill it half way.
TIMEOUT_SECONDS = 3600


def next_run_after(now: datetime) -> datetime:
    """The next ``RUN_AT`` exchange time after ``now``."""
    local = now.astimezone(CHINA_TZ)
    at = datetime.combine(local.date(), RUN_AT, CHINA_TZ)
    return at if at > local else at + timedelta(days=1)


def ensure_schedule(using: str = "default", **kwargs: Any) -> bool:
    """Create the schedule if there is none of that name; whether it created one."""
    from django.utils import timezone
    from django_q.models import Schedule

    if Schedule.objects.using(using).filter(name=NAME).exists():
        return False
    Schedule.objects.using(using).create(
        name=NAME,
        func=TASK,
        kwargs=repr({"q_options": {"timeout": TIMEOUT_SECONDS}}),
        schedule_type=Schedule.DAILY,
        repeats=-1,
        next_run=next_run_after(timezone.now()),
    )
    return True
