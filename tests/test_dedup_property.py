"""First-arrival dedup against ground truth, for any interleaving of lossy, delayed sources."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregation.dedup import FirstArrival
from aggregation.wire import content_key, key_time

TOPIC = b"tick.SR601.CZCE"


@dataclass(frozen=True)
class Snapshot:
    index: int
    key: bytes


def truth_stream(seconds: list[int]) -> list[Snapshot]:
    """Exchange snapshots in order. ``seconds[i]`` snapshots share second i (CZCE stamps
    have whole seconds), each with different content (volume grows)."""
    snaps: list[Snapshot] = []
    volume = 0
    for second, count in enumerate(seconds):
        for _ in range(count):
            volume += 1
            key = content_key(1_700_000_000_000_000_000 + second * 1_000_000_000, (float(volume),))
            snaps.append(Snapshot(len(snaps), key))
    return snaps


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[Snapshot], list[tuple[float, int, Snapshot]]]:
    seconds = draw(st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=25))
    truth = truth_stream(seconds)
    arrivals: list[tuple[float, int, Snapshot]] = []
    for source in range(draw(st.integers(min_value=1, max_value=4))):
        base_delay = draw(st.floats(min_value=0, max_value=5))
        for snap in truth:
            if draw(st.booleans()) and draw(st.booleans()):  # lossy: drops ~1 in 4
                continue
            jitter = draw(st.floats(min_value=0, max_value=3))
            # Exchange emits snapshot i at time i; a source delivers it later, in any order
            # relative to other sources (each source's own copies may overtake each other too).
            arrivals.append((snap.index + base_delay + jitter, source, snap))
    arrivals.sort(key=lambda a: (a[0], a[1]))
    return truth, arrivals


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_output_holds_every_snapshot_delivered_in_time_exactly_once_in_order(
    case: tuple[list[Snapshot], list[tuple[float, int, Snapshot]]],
) -> None:
    truth, arrivals = case
    dedup = FirstArrival()
    forwarded: list[Snapshot] = []
    for clock, (_, source, snap) in enumerate(arrivals):
        # Ground truth of "in time": no snapshot of a later exchange time forwarded yet.
        newest = max((key_time(s.key) for s in forwarded), default=None)
        in_time = newest is None or key_time(snap.key) >= newest
        already = snap in forwarded
        verdict = dedup.offer(TOPIC, snap.key, f"s{source}", clock)
        if verdict.forward:
            forwarded.append(snap)
        else:
            assert already or not in_time, "an in-time snapshot was dropped"
        assert not (verdict.forward and already), "a snapshot was forwarded twice"
    times = [key_time(s.key) for s in forwarded]
    assert times == sorted(times), "output is not in exchange-time order"
    assert len(set(forwarded)) == len(forwarded)
    assert set(forwarded) <= set(truth)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=30),
    st.lists(st.floats(min_value=0, max_value=2), min_size=2, max_size=4),
)
def test_one_complete_in_order_source_means_the_whole_stream_goes_out(
    seconds: list[int], delays: list[float]
) -> None:
    # Each source delivers every snapshot in order with a fixed delay: nothing is late,
    # so the output is the true stream, CZCE same-second snapshots included.
    truth = truth_stream(seconds)
    arrivals = sorted(
        ((snap.index + delay, source, snap) for source, delay in enumerate(delays) for snap in truth),
        key=lambda a: (a[0], a[1]),
    )
    dedup = FirstArrival()
    out = [
        snap
        for clock, (_, source, snap) in enumerate(arrivals)
        if dedup.offer(TOPIC, snap.key, f"s{source}", clock).forward
    ]
    assert out == truth


def test_a_duplicate_reports_the_winner_and_how_late_it_was() -> None:
    dedup = FirstArrival()
    key = content_key(10, (1.0,))
    assert dedup.offer(TOPIC, key, "fast", 1_000).forward
    verdict = dedup.offer(TOPIC, key, "slow", 4_500)
    assert (verdict.forward, verdict.winner, verdict.late_ns) == (False, "fast", 3_500)


def test_an_older_copy_after_a_newer_snapshot_is_late_and_dropped() -> None:
    dedup = FirstArrival()
    assert dedup.offer(TOPIC, content_key(20, (2.0,)), "a", 0).forward
    verdict = dedup.offer(TOPIC, content_key(10, (1.0,)), "b", 1)
    assert not verdict.forward
    assert verdict.late_ns is None
