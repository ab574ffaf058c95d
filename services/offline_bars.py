"""Bars from a recorded day's ticks, offline, by the live bar service's own rules.

The recording (``recording``) holds the ticks the hub forwarded, in tape order; fed through
``services.bars.BarService`` with the exchange clock standing where each tick stood, they
make the bars the live service made (docs/services.md): the same sections, the same
auction and closing-tick rules, the same flat bars. The live service's timer runs every
0.25 s on a clock close to the ticks' exchange time; here it runs once per exchange minute
a tick enters (the earliest a 1-minute bar can close), and at the end once past the day,
which closes what is still open. No Django import, no recording import: the caller reads
the ticks (``recording.vnpy_export.export_bars`` takes this as its bar maker).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from aggregation.wire import datetime_from_ns
from services.bars import BarService
from services.base import Record
from services.sections import CHINA_TZ, SessionClock

_MINUTE_NS = 60_000_000_000
# ``BarService`` makes at most 500 flat bars a call (a clock jump must not stall the live
# service); a day has fewer 1-minute slots than this many calls' worth.
_MAX_FINAL_CALLS = 20


def bars_from_ticks(
    ticks: Iterable[dict[str, Any]],
    clock: SessionClock,
    intervals: tuple[str, ...] = ("1m",),
    emit_flat: bool = True,
) -> list[Record]:
    """The bars of ``ticks`` (one trading day of one or more contracts, in tape order)."""
    service = BarService(clock, intervals=intervals, emit_flat=emit_flat)
    out: list[Record] = []
    minute = None
    last: datetime | None = None
    for tick in ticks:
        stamp = tick.get("datetime")
        if not isinstance(stamp, int):
            service.counters["bad_tick"] += 1  # as the live service counts it
            continue
        at = datetime_from_ns(stamp, CHINA_TZ)
        if stamp // _MINUTE_NS != minute:
            minute = stamp // _MINUTE_NS
            out += service.on_timer(at)
        out += service.on_tick(tick, at)
        last = at if last is None or at > last else last
    if last is not None:
        past = last + timedelta(days=1)
        for _ in range(_MAX_FINAL_CALLS):
            closed = service.on_timer(past)
            if not closed:
                break
            out += closed
    return out
