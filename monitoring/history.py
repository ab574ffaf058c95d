"""Per-source figures over the last hours, and the hub's speed summary, kept in Redis.

Kept in Redis rather than in the web process: the hub's publisher already writes its state
there every second, every web worker then answers the same, and a restarted web process
keeps its charts. Bounded both ways: one sample every ``HISTORY_STEP`` seconds in a list
trimmed to ``HISTORY_KEEP`` (6 hours, ~1.5 MB), and one speed summary under a key with a TTL.

The publisher (hub side) calls ``HistoryRecorder.record`` with the Redis pipeline that
writes the state: it takes the speed summary out of the state document (so the WebSocket's
``gateway.status`` stays small) and appends a sample when one is due. The web side reads
with ``read_history``, ``read_speed`` and shapes with ``series``.

A sample keeps cumulative counters (each source's ``first``, the hub's ``forwarded``): the
first-arrival share of each step is worked out between two samples, so a hub restart in
between (a new ``started_at``) gives no share for that step rather than a wrong one.

No Django import at module level: the hub and the web side both use it.
"""

from __future__ import annotations

import json
import math
from typing import Any

HISTORY_KEY = "mdhub:history"
SPEED_KEY = "mdhub:speed"
HISTORY_STEP = 5.0
HISTORY_KEEP = int(6 * 3600 / HISTORY_STEP)
MAX_MINUTES = 360
# The summary comes every few seconds (aggregation.source_speed.SUMMARY_INTERVAL); it
# lapses a little after the engine state does.
SPEED_TTL_SECONDS = 15


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sample_of(state: dict[str, Any]) -> dict[str, Any] | None:
    """The compact sample of one state document; None when it has no time."""
    ts = _num(state.get("updated_at"))
    if ts is None:
        return None
    hub = _map(state.get("hub"))
    sources: dict[str, Any] = {}
    for gateway in state.get("gateways") or []:
        if not isinstance(gateway, dict) or not isinstance(gateway.get("id"), str):
            continue
        latency = _map(gateway.get("latency_ms"))
        sources[gateway["id"]] = {
            "rate": _num(gateway.get("tick_rate")),
            "p50": _num(latency.get("p50")),
            "p99": _num(latency.get("p99")),
            "first": _num(gateway.get("first")),
            "state": str(gateway.get("state") or ""),
        }
    return {
        "ts": ts,
        "started_at": _num(hub.get("started_at")),
        "forwarded": _num(hub.get("forwarded")),
        "sources": sources,
    }


class HistoryRecorder:
    """Hub side, on the publisher's thread: what to add to the pipeline that writes the state."""

    def __init__(self, step: float = HISTORY_STEP, keep: int = HISTORY_KEEP) -> None:
        self.step = step
        self.keep = keep
        self._last_ts = -math.inf

    def record(self, pipe: Any, state: dict[str, Any]) -> None:
        """Queue the speed summary and (when due) a history sample on ``pipe``; takes
        ``speed`` out of ``state``."""
        speed = state.pop("speed", None)
        if isinstance(speed, dict):
            pipe.set(SPEED_KEY, json.dumps(speed), ex=SPEED_TTL_SECONDS)
        sample = sample_of(state)
        if sample is None or sample["ts"] - self._last_ts < self.step - 0.05:
            return
        self._last_ts = sample["ts"]
        pipe.rpush(HISTORY_KEY, json.dumps(sample, separators=(",", ":")))
        pipe.ltrim(HISTORY_KEY, -self.keep, -1)


def read_history(client: Any, minutes: int, now: float, step: float = HISTORY_STEP) -> list[dict[str, Any]]:
    """The samples of the last ``minutes`` (oldest first); empty when Redis is down.
    Unreadable entries are skipped."""
    import redis

    count = int(minutes * 60 / step) + 2
    try:
        raw = client.lrange(HISTORY_KEY, -count, -1)
    except redis.RedisError:
        return []
    since = now - minutes * 60
    samples = []
    for item in raw:
        try:
            sample = json.loads(item)
        except ValueError:
            continue
        if isinstance(sample, dict) and (_num(sample.get("ts")) or 0) >= since:
            samples.append(sample)
    return samples


def read_speed(client: Any) -> dict[str, Any] | None:
    """The hub's newest speed summary (``aggregation.source_speed.SpeedSummary`` as JSON);
    None when it has lapsed, is unreadable or Redis is down."""
    import redis

    try:
        raw = client.get(SPEED_KEY)
    except redis.RedisError:
        return None
    if not raw:
        return None
    try:
        speed = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(speed, dict) or not isinstance(speed.get("rows"), list):
        return None
    return speed


def series(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Samples → what the charts draw: every source seen, and per point each source's tick
    rate, latency p50/p99 (ms), first-arrival share of that step and state."""
    names: set[str] = set()
    points = []
    previous: dict[str, Any] | None = None
    for sample in samples:
        sources = _map(sample.get("sources"))
        same_run = previous is not None and previous.get("started_at") == sample.get("started_at")
        forwarded = _num(sample.get("forwarded"))
        before = _num(previous.get("forwarded")) if previous is not None and same_run else None
        step_forwarded = forwarded - before if forwarded is not None and before is not None else None
        values = {}
        for name, figures in sources.items():
            if not isinstance(figures, dict):
                continue
            names.add(name)
            share = None
            if step_forwarded and step_forwarded > 0 and previous is not None:
                old = _map(_map(previous.get("sources")).get(name))
                first, old_first = _num(figures.get("first")), _num(old.get("first"))
                if first is not None and old_first is not None and first >= old_first:
                    share = round(min(1.0, (first - old_first) / step_forwarded), 4)
            values[name] = {
                "tick_rate": _num(figures.get("rate")),
                "latency_p50_ms": _num(figures.get("p50")),
                "latency_p99_ms": _num(figures.get("p99")),
                "first_share": share,
                "state": str(figures.get("state") or ""),
            }
        points.append({"ts": sample["ts"], "values": values})
        previous = sample
    return {"step_seconds": HISTORY_STEP, "sources": sorted(names), "points": points}
