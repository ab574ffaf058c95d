"""``manage.py export_vnpy --day 2026-12-01 [--symbol rb2605.SHFE ...] [--no-ticks]``: a
recorded day's ticks and 1-minute bars into vn.py's database (``vnpy.trader.database``),
the bars made by the live bar rules with the admin's trading calendar (docs/recording.md)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.tape_bars import export_day_bars
from recording.query import DayNotFound


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date: write it as 2026-12-01") from None


class Command(BaseCommand):
    help = "Export a recorded trading day's ticks and 1-minute bars into vn.py's database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", type=_day, required=True)
        parser.add_argument("--symbol", action="append", default=None, help="vt_symbol (repeatable)")
        parser.add_argument("--no-ticks", action="store_true", help="bars only")

    def handle(self, *args: Any, **options: Any) -> None:
        from recording.vnpy_export import export_day

        day: date = options["day"]
        out: dict[str, Any] = {}
        try:
            if not options["no_ticks"]:
                out["ticks"] = dataclasses.asdict(
                    export_day(settings.MDHUB_RECORDING_DIR, day, options["symbol"])
                )
            out["bars"] = dataclasses.asdict(export_day_bars(day, options["symbol"]))
        except DayNotFound as exc:
            raise CommandError(f"{exc}; record it first (manage.py record_days --day {day}).") from None
        self.stdout.write(json.dumps(out))
