"""First arrival wins (FR4, DESIGN §3). No Django import: the client library reuses it to
merge several hubs.

A tick is forwarded when its content key has not been forwarded for that topic and its
exchange time is not older than the last forwarded one. Keys, not timestamps, decide
sameness: CZCE stamps have whole seconds, so different snapshots can share a time; they
are all kept. A copy older than what was already forwarded is late and dropped: by then
the stream has moved past it, and forwarding it would put the stream out of order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aggregation.wire import key_time

# How many recent keys a topic remembers, to recognise duplicates and measure how late a
# slower source's copy is. Snapshots that share a timestamp number a handful at most.
RECENT_KEYS = 16


@dataclass(slots=True)
class TopicState:
    last_time: int = -(2**63)
    # key → when it was forwarded (ns) and by whom, oldest first.
    recent: dict[bytes, tuple[int, str]] = field(default_factory=dict)


@dataclass(slots=True)
class Verdict:
    forward: bool
    # For a duplicate: who forwarded it and how much earlier (ns); None when unknown (too old).
    winner: str | None = None
    late_ns: int | None = None


FORWARD = Verdict(True)
LATE = Verdict(False)


class FirstArrival:
    """Per-topic first-arrival filter. ``offer`` is called once per received copy."""

    __slots__ = ("topics",)

    def __init__(self) -> None:
        self.topics: dict[bytes, TopicState] = {}

    def offer(self, topic: bytes, key: bytes, source: str, now_ns: int) -> Verdict:
        state = self.topics.get(topic)
        if state is None:
            state = self.topics[topic] = TopicState()
        recent = state.recent
        seen = recent.get(key)
        if seen is not None:
            return Verdict(False, seen[1], now_ns - seen[0])
        ktime = key_time(key)
        if ktime < state.last_time:
            return LATE
        state.last_time = ktime
        recent[key] = (now_ns, source)
        if len(recent) > RECENT_KEYS:
            del recent[next(iter(recent))]
        return FORWARD

    def forget(self, topic: bytes) -> None:
        self.topics.pop(topic, None)
