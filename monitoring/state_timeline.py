"""When each source was healthy, stale, restarting…: its stored state changes as segments.

Built from the ``Event`` rows the hub writes (kind ``state``), so it covers hub restarts and
web restarts alike. Bounded: at most ``MAX_EVENTS`` changes in the window are read (the
newest; the answer then says ``truncated``), plus, per source, the last change before the
window, which gives the state the window opens with.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitoring.models import Event, EventKind

MAX_EVENTS = 5000


@dataclass(frozen=True, slots=True)
class Segment:
    state: str
    start: float  # epoch seconds
    end: float
    reason: str


def _epoch(at: datetime) -> float:
    return at.timestamp()


def segments_of(
    changes: list[tuple[float, str, str]], opening: tuple[str, str] | None, since: float, until: float
) -> list[Segment]:
    """``changes`` (time, new state, reason), oldest first, into segments covering
    ``[since, until]`` from the first known state on; ``opening`` is (state, reason) at ``since``."""
    segments: list[Segment] = []
    current = (since, *opening) if opening is not None else None
    for ts, state, reason in changes:
        if current is not None and ts > current[0]:
            segments.append(Segment(current[1], current[0], ts, current[2]))
        current = (max(ts, since), state, reason)
    if current is not None and until > current[0]:
        segments.append(Segment(current[1], current[0], until, current[2]))
    return segments


def timeline(since: float, until: float) -> dict[str, Any]:
    start, end = datetime.fromtimestamp(since, tz=UTC), datetime.fromtimestamp(until, tz=UTC)
    states = Event.objects.filter(kind=EventKind.STATE).exclude(account="")
    window = list(
        states.filter(ts__gte=start, ts__lte=end)
        .order_by("-ts", "-id")[: MAX_EVENTS + 1]
        .values_list("ts", "account", "state_to", "reason")
    )
    truncated = len(window) > MAX_EVENTS
    window = window[:MAX_EVENTS]
    window.reverse()
    by_account: dict[str, list[tuple[float, str, str]]] = {}
    for ts, account, state, reason in window:
        by_account.setdefault(account, []).append((_epoch(ts), state, reason))
    accounts = set(by_account) | set(states.filter(ts__lt=start).values_list("account", flat=True).distinct())
    sources = []
    for account in sorted(accounts):
        before = states.filter(account=account, ts__lt=start).order_by("-ts", "-id").first()
        opening = (before.state_to, before.reason) if before is not None else None
        changes = by_account.get(account, [])
        if truncated and changes:
            opening = None  # what came before the newest MAX_EVENTS is not known here
        segments = [dataclasses.asdict(s) for s in segments_of(changes, opening, since, until)]
        sources.append({"id": account, "segments": segments})
    return {"since": since, "until": until, "truncated": truncated, "sources": sources}
