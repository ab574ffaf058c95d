"""Recording runs by itself: migrate creates a daily django-q2 schedule (once, and leaves an
operator's edit alone); its task records every closed day not yet recorded with the
admin-edited holidays, then applies retention; a real qcluster runs it when it is due."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django_q.models import Schedule

from aggregation.exchange_time import CHINA_TZ
from aggregation.wire import datetime_ns
from monitoring.calendar_store import load_calendar
from monitoring.models import Holiday
from monitoring.tape_schedule import NAME, ensure_schedule, next_run_after
from monitoring.tape_tasks import TASK, record_closed_days_task
from recording import layout
from recording.query import ticks
from tests.hub_process import PROJECT, HubProcess
from tests.recording_helpers import china, write_journal


def night_and_day(start: str, count: int = 40) -> list[tuple[str, datetime]]:
    """``count`` rb ticks half a second apart from ``start``, then as many at 09:00 the next day."""
    night = china(start)
    morning = china(f"{(night + timedelta(days=1)).date()} 09:00:00")
    return [
        ("rb2605.SHFE", at + timedelta(milliseconds=500 * i)) for at in (night, morning) for i in range(count)
    ]


def test_migrate_creates_one_daily_schedule_after_the_journal_rolls_and_keeps_an_operators_edit(
    db: Any,
) -> None:
    schedule = Schedule.objects.get(name=NAME)
    assert schedule.func == TASK and schedule.schedule_type == Schedule.DAILY and schedule.repeats == -1
    assert schedule.next_run.astimezone(CHINA_TZ).time().isoformat() == "18:05:00"
    assert "timeout" in schedule.kwargs
    schedule.repeats = 0  # paused by an operator in the admin
    schedule.save()
    assert ensure_schedule() is False  # the next migrate
    assert Schedule.objects.filter(name=NAME).count() == 1
    assert Schedule.objects.get(name=NAME).repeats == 0
    afternoon = datetime(2026, 12, 1, 17, 0, tzinfo=CHINA_TZ)
    assert next_run_after(afternoon) == datetime(2026, 12, 1, 18, 5, tzinfo=CHINA_TZ)
    assert next_run_after(afternoon + timedelta(hours=2)) == datetime(2026, 12, 2, 18, 5, tzinfo=CHINA_TZ)


def test_the_task_records_closed_days_by_the_admins_holidays_and_applies_retention(
    db: Any, tmp_path: Path
) -> None:
    journal, root = tmp_path / "journal", tmp_path / "recording"
    # The admin makes Tuesday 1 December a holiday: Monday night now belongs to Wednesday.
    Holiday.objects.create(date=date(2026, 12, 1), name="test holiday")
    rule = load_calendar().is_trading_day
    write_journal(journal, night_and_day("2026-11-30 21:00:00"), is_trading_day=rule)
    write_journal(journal, night_and_day("2026-09-01 21:00:00", 5), is_trading_day=rule)  # old day
    write_journal(journal, night_and_day("2026-12-02 21:00:00", 5), is_trading_day=rule)  # still open
    wednesday_evening = datetime_ns(china("2026-12-03 17:00:00"))  # Thursday's day not closed yet
    with override_settings(
        MDHUB_JOURNAL_DIR=journal, MDHUB_RECORDING_DIR=root, MDHUB_RECORDING_RETENTION_DAYS=60
    ):
        done = record_closed_days_task(wednesday_evening)
        again = record_closed_days_task(wednesday_evening)
    assert done["today"] == "2026-12-03"
    # With the built-in calendar the Monday night ticks would be "of another day" and dropped.
    # The old journal day is past retention: not recorded (and deleted again on every run).
    assert done["recorded"] == {"2026-12-02": 80}
    assert done["failed"] == {}
    assert layout.recorded_days(root) == [date(2026, 12, 2)]
    assert layout.read_manifest(root, date(2026, 12, 2))["misdated"] == 0
    assert ticks(root, "rb2605.SHFE", date(2026, 12, 2)).total == 80
    assert again["recorded"] == {}
    # A recorded day past retention is deleted.
    (root / "day=2026-09-02").mkdir()
    with override_settings(
        MDHUB_JOURNAL_DIR=journal, MDHUB_RECORDING_DIR=root, MDHUB_RECORDING_RETENTION_DAYS=60
    ):
        assert record_closed_days_task(wednesday_evening)["deleted"] == ["2026-09-02"]
    assert layout.recorded_days(root) == [date(2026, 12, 2)]


def test_record_days_on_demand_records_one_day_and_says_when_there_is_no_journal(
    db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal, root = tmp_path / "journal", tmp_path / "recording"
    write_journal(
        journal, night_and_day("2026-11-30 21:00:00", 10), is_trading_day=load_calendar().is_trading_day
    )
    with override_settings(MDHUB_JOURNAL_DIR=journal, MDHUB_RECORDING_DIR=root):
        call_command("record_days", "--day", "2026-12-01")
        assert json.loads(capsys.readouterr().out)["ticks"] == 20
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="no journal for trading day 2026-12-04"):
            call_command("record_days", "--day", "2026-12-04")


def test_a_real_qcluster_records_the_closed_days_when_the_schedule_is_due(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path)  # a private database, run directory and Redis database
    hub.manage("migrate", "--noinput")
    journal = hub.run_dir / "journal"
    write_journal(journal, night_and_day("2026-11-30 21:00:00", 10))
    # Due a minute ago (Django keeps SQLite times as naive UTC). django-q2's own scheduler
    # queues it on Redis, as the cluster's guard does every 30 s; the cluster then runs it.
    due = datetime.now(UTC) - timedelta(minutes=1)
    hub.sql(
        "UPDATE django_q_schedule SET next_run = ? WHERE name = ?", due.strftime("%Y-%m-%d %H:%M:%S"), NAME
    )
    hub.manage("shell", "-c", "from django_q.scheduler import scheduler; scheduler()")
    with sqlite3.connect(hub.db_path) as db:
        (next_run,) = db.execute("SELECT next_run FROM django_q_schedule WHERE name = ?", (NAME,)).fetchone()
    assert next_run > due.strftime("%Y-%m-%d %H:%M:%S")  # the scheduler took it: tomorrow's run
    log = (tmp_path / "qcluster.log").open("wb")
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=PROJECT,
        env=hub.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    day = layout.day_dir(hub.run_dir / "recording", date(2026, 12, 1))
    try:
        deadline = time.monotonic() + 40
        while not day.is_dir() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        cluster.terminate()
        try:
            cluster.wait(15)
        except subprocess.TimeoutExpired:
            cluster.kill()
            cluster.wait()
    assert day.is_dir(), (tmp_path / "qcluster.log").read_text(errors="replace")[-3000:]
    assert layout.read_manifest(hub.run_dir / "recording", date(2026, 12, 1))["ticks"] == 20
