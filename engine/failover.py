"""Which source is primary, and in warm mode which sources subscribe (FR7). Pure Python.

Hot mode: every healthy source subscribes everything; first arrival wins, so the primary
is only a label (the best-priority healthy source) that operators and events follow.
Warm mode: only the best ``n`` healthy sources subscribe the contract list; the others
stay logged in on their canaries as standbys, and the next one takes over when an active
source stops being healthy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.states import SourceState


@dataclass(frozen=True)
class Candidate:
    account: str
    priority: int
    state: SourceState


def ranked_healthy(candidates: Iterable[Candidate]) -> list[str]:
    """Healthy sources, best first: lower priority number, then id for a stable order."""
    healthy = [c for c in candidates if c.state == SourceState.HEALTHY]
    return [c.account for c in sorted(healthy, key=lambda c: (c.priority, c.account))]


def choose_primary(candidates: Iterable[Candidate]) -> str | None:
    ranked = ranked_healthy(candidates)
    return ranked[0] if ranked else None


def warm_active(candidates: Iterable[Candidate], n: int, current: set[str]) -> set[str]:
    """The sources that should hold the subscriptions in warm mode.

    The best ``n`` healthy ones. While none is healthy (start-up, or every source down)
    the current set is kept rather than emptied: unsubscribing a source that might recover
    only makes the gap longer.
    """
    ranked = ranked_healthy(candidates)
    if not ranked:
        return set(current)
    return set(ranked[: max(n, 1)])
