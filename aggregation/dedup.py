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

# How many recent keys a topic remembers to tell a duplicate (and how late it came) from a
# copy too old to place. Only statistics depend on it: the forwarding rule remembers every
# key of the newest exchange time (``at_last``), however many snapshots share that stamp,
# so a slow source's copy is never forwarded twice however far behind it is.
RECENT_KEYS = 16


@dataclass(slots=True)
class TopicState:
    last_time: int = -(2**63)
    # Every key forwarded with exchange time ``last_time``: a handful (CZCE stamps have
    # whole seconds, so several snapshots can share one); cleared when time moves on.
    at_last: set[bytes] = field(default_factory=set)
    # key → when it was forwarded (ns), the RECENT_KEYS newest, oldest first.
    recent: dict[bytes, int] = field(default_factory=dict)
    # key → who forwarded it, for the keys in ``recent`` (FirstArrival only).
    winners: dict[bytes, str] = field(default_factory=dict)
    # The hub's per-topic sequence: the last seq forwarded.
    seq: int = 0


@dataclass(slots=True)
class Verdict:
    forward: bool
    # For a duplicate: who forwarded it and how much earlier (ns); None when unknown (too old).
    winner: str | None = None
    late_ns: int | None = None


FORWARD = Verdict(True)
LATE = Verdict(False)


class FirstArrival:
    """Per-topic first-arrival filter. ``offer`` is called once per received copy.

    The hub runs the same rule inlined in ``TickHub._first`` (its Python loop) and in C in
    ``aggregation/_hub_core.pyx`` (its compiled core, ``TopicCore.place``); a change here must
    be made in both (tests/test_hub_core_property.py checks that both forward exactly what
    this class forwards)."""

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
            return Verdict(False, state.winners[key], now_ns - seen)
        ktime = key_time(key)
        if ktime > state.last_time:
            state.last_time = ktime
            state.at_last.clear()
        elif ktime < state.last_time or key in state.at_last:
            return LATE
        state.at_last.add(key)
        recent[key] = now_ns
        state.winners[key] = source
        if len(recent) > RECENT_KEYS:
            oldest = next(iter(recent))
            del recent[oldest], state.winners[oldest]
        return FORWARD
