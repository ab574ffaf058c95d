"""1-minute bars of a recorded day into vn.py's database: the recording's rows
(``recording.vnpy_export``) through the live bar rules (``services.offline_bars``) with the
admin's trading calendar. Here, on the web side, because the two rooms do not import each
other (pyproject.toml's layers)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.conf import settings

from monitoring.calendar_store import load_calendar
from recording.vnpy_export import BarExport, export_bars
from services.offline_bars import bars_from_ticks
from services.sections import SessionClock


def export_day_bars(
    day: date, symbols: Iterable[str] | None = None, emit_flat: bool | None = None
) -> BarExport:
    """Save ``day``'s 1-minute bars into vn.py's database; flat bars as the live service
    makes them (``MDHUB_BARS_FLAT``) unless ``emit_flat`` says otherwise."""
    # The live service's settings (services.runner): the same grace, the same flat bars.
    clock = SessionClock(load_calendar(), grace=timedelta(milliseconds=settings.MDHUB_BARS_GRACE_MS))
    flat = settings.MDHUB_BARS_FLAT if emit_flat is None else emit_flat

    def make_bars(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [record.fields for record in bars_from_ticks(rows, clock, ("1m",), flat)]

    return export_bars(settings.MDHUB_RECORDING_DIR, day, make_bars, symbols)
