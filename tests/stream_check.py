"""Checks a client's tick stream against the simulated exchange's own output (the truth)."""

from __future__ import annotations

from typing import Any

from aggregation.wire import CONTENT_FIELDS, content_key, key_time


def snapshot_key(fields: dict[str, Any]) -> bytes:
    return content_key(fields["datetime"], tuple(fields[name] for name in CONTENT_FIELDS))


def assert_exactly_once_in_order(
    truth: dict[str, list[bytes]], got: dict[str, list[dict[str, Any]]], contracts: int = 13
) -> int:
    """From the first snapshot the client saw, every snapshot the exchange sent reached it
    once, in the exchange's order, with consecutive ``seq``, and nothing the exchange never
    sent (garbage) did. Returns how many snapshots were checked."""
    assert len(got) == contracts, sorted(got)
    checked = 0
    for vt_symbol, ticks in got.items():
        keys = [snapshot_key(t) for t in ticks]
        assert len(set(keys)) == len(keys), f"{vt_symbol}: a snapshot arrived twice"
        seqs = [t["seq"] for t in ticks]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"{vt_symbol}: seq gap"
        times = [t["datetime"] for t in ticks]
        assert times == sorted(times), f"{vt_symbol}: out of exchange-time order"
        expected = truth[vt_symbol]
        known = set(expected)
        # The truth socket may join the exchange a moment after the client joined the hub:
        # compare from the first snapshot both saw.
        first_seen = next(i for i, key in enumerate(keys) if key in known)
        assert all(key_time(k) <= key_time(expected[0]) for k in keys[:first_seen]), vt_symbol
        keys = keys[first_seen:]
        # The client reads on for a moment after the truth stopped: the tail is unknown
        # (strictly before the last stamp: CZCE snapshots share a whole second).
        last_truth = key_time(expected[-1])
        leaked = [k for k in keys if k not in known and key_time(k) < last_truth]
        assert not leaked, f"{vt_symbol}: {len(leaked)} tick(s) the exchange never sent (garbage leaked)"
        since_first = expected[expected.index(keys[0]) :]
        missing = len(set(since_first) - set(keys))
        assert keys[: len(since_first)] == since_first, f"{vt_symbol}: {missing} missing, or reordered"
        assert len(since_first) > 10, f"{vt_symbol}: too few snapshots to judge"
        checked += len(since_first)
    return checked
