"""The compiled tick path against the Python rule: for any interleaving of lossy, delayed
sources (and bad frames among them), the hub's compiled core (``aggregation/_hub_core.pyx``)
and its Python loop forward exactly what ``aggregation.dedup.FirstArrival`` forwards, in
the same order, from the same sources, with seq 1, 2, …, and count the same duplicates,
late copies and malformed frames. Real hubs on real ipc sockets; the same scenarios as
tests/test_dedup_property.py. The journal's compiled framing is checked byte for byte
against its Python twin here too.
"""

from __future__ import annotations

import itertools
import os
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregation import (
    _hub_core,  # built by aggregation.build_ext
    _journal_core,
)
from aggregation.dedup import FirstArrival
from aggregation.hub import TickHub
from aggregation.journal import Journal, Run
from aggregation.journal_format import scan
from aggregation.wire import KIND_STATUS, content_key, pack, tick_frame
from tests.test_dedup_property import Snapshot, scenario, truth_stream

_topics = itertools.count()
# Frames that are not good ticks: each is one message the hub must count as malformed (or,
# the status message, take in) and drop, wherever it falls among the ticks.
BAD_FRAMES = (
    b"",  # empty
    b"T\x05",  # a tick frame cut inside its head
    b"T\x05\x0ctick.",  # cut inside account and topic
    b"T\x05\x0fs-badtick.x.SHFE" + bytes(16) + b"\x91\x00",  # body not a map16
    b"T\x05\x0fs-badnope.x.SHFE" + bytes(16) + b"\xde\x00\x10",  # topic not an ingest prefix
    b"T\x00\x05tick." + bytes(16) + b"\xde\x00\x10",  # no account
    b"X-not-a-kind",
)


@st.composite
def lagging_scenario(draw: st.DrawFn) -> tuple[list[Snapshot], list[tuple[float, int, Snapshot]]]:
    """Many snapshots per exchange second (CZCE) and a source that lags more than the
    ``RECENT_KEYS`` window behind: the rule must still forward each snapshot once."""
    seconds = draw(st.lists(st.integers(min_value=1, max_value=24), min_size=1, max_size=4))
    truth = truth_stream(seconds)
    arrivals: list[tuple[float, int, Snapshot]] = []
    for source in range(draw(st.integers(min_value=2, max_value=3))):
        delay = draw(st.floats(min_value=0, max_value=30))
        for snap in truth:
            if not draw(st.integers(0, 5)):
                continue
            arrivals.append((snap.index * 0.1 + delay + draw(st.floats(0, 1)), source, snap))
    arrivals.sort(key=lambda a: (a[0], a[1]))
    return truth, arrivals


def body(index: int) -> bytes:
    """A worker body: a msgpack map16 (more than 15 entries) naming its snapshot."""
    fields: dict[str, Any] = {"v": 1, "index": index}
    fields.update((f"f{i}", i) for i in range(16))
    packed: bytes = msgpack.packb(fields)
    return packed


@dataclass
class Bench:
    """One hub driven from the test's thread: frames in through a PUSH, out on a SUB."""

    hub: TickHub
    push: zmq.Socket[Any]
    sub: zmq.Socket[Any]

    def run(
        self, frames: list[bytes | tuple[bytes, ...]], forwarded: int
    ) -> list[tuple[bytes, dict[str, Any]]]:
        for frame in frames:
            if isinstance(frame, tuple):
                self.push.send_multipart(frame)
            else:
                self.push.send(frame)
        handled = 0
        deadline = time.monotonic() + 10
        while handled < len(frames):
            handled += self.hub.pump(max_batch=7)  # small batches: the counts cross batch ends
            assert time.monotonic() < deadline, f"only {handled} of {len(frames)} messages reached the hub"
        out = []
        for _ in range(forwarded):
            assert self.sub.poll(5000), "a forwarded tick did not reach the client"
            topic, payload = self.sub.recv_multipart()
            out.append((topic, msgpack.unpackb(payload)))
        return out


def make_bench(tmp: Path, name: str, compiled: bool) -> Iterator[Bench]:
    ctx: zmq.Context[Any] = zmq.Context()
    hub = TickHub(
        f"ipc://{tmp}/{name}-in",
        f"ipc://{tmp}/{name}-pub",
        f"ipc://{tmp}/{name}-snap",
        f"ipc://{tmp}/{name}-ctl",
        ctx=ctx,
    )
    if not compiled:
        hub.use_python_loop()
    elif hub._core is None:  # MDHUB_PURE_PYTHON=1: this test still compares the compiled core
        hub._core = _hub_core.Core(hub)
    assert (hub._core is not None) is compiled
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.SNDHWM, 0)
    push.connect(f"ipc://{tmp}/{name}-in")
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"tick.")
    sub.connect(f"ipc://{tmp}/{name}-pub")
    bench = Bench(hub, push, sub)
    # The subscription must reach the XPUB before anything is forwarded: probe until it has.
    deadline = time.monotonic() + 10
    probe = b"tick.probe.SHFE"
    for n in itertools.count(1):
        assert time.monotonic() < deadline, "the client's subscription never reached the hub"
        hub._on_subscriptions()
        push.send(tick_frame(b"probe", probe, content_key(n, (float(n),)), body(0)))
        while not hub.pump():
            pass
        if sub.poll(50):
            sub.recv_multipart()
            while sub.poll(50):
                sub.recv_multipart()
            break
    yield bench
    hub.close()
    ctx.destroy(linger=0)


@pytest.fixture(scope="module")
def benches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bench, Bench]]:
    tmp = tmp_path_factory.mktemp("core")
    compiled = make_bench(tmp, "c", compiled=True)
    python = make_bench(tmp, "p", compiled=False)
    yield next(compiled), next(python)
    for gen in (compiled, python):
        next(gen, None)


def counts(hub: TickHub) -> dict[str, tuple[int, int, int]]:
    return {s.name: (s.first, s.duplicates, s.too_late) for s in hub.sources.values() if s.name != "probe"}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(scenario(), lagging_scenario()),
    st.lists(st.tuples(st.integers(min_value=0), st.sampled_from([*BAD_FRAMES, None])), max_size=6),
)
def test_both_loops_forward_exactly_what_the_python_rule_forwards(
    benches: tuple[Bench, Bench],
    case: tuple[list[Snapshot], list[tuple[float, int, Snapshot]]],
    bad: list[tuple[int, bytes | None]],
) -> None:
    _, arrivals = case
    topic = f"tick.SR{next(_topics)}.CZCE".encode()  # a fresh topic: no state from other examples
    rule = FirstArrival()
    expected = []
    verdicts: dict[str, list[int]] = {}
    frames: list[bytes | tuple[bytes, ...]] = []
    for clock, (_, source, snap) in enumerate(arrivals):
        verdict = rule.offer(topic, snap.key, f"s{source}", clock)
        tally = verdicts.setdefault(f"s{source}", [0, 0, 0])
        if verdict.forward:
            expected.append((snap.index, f"s{source}"))
            tally[0] += 1
        else:
            tally[1 if verdict.winner is not None else 2] += 1
        frames.append(tick_frame(f"s{source}".encode(), topic, snap.key, body(snap.index)))
    malformed = 0
    for at, frame in sorted(bad, key=lambda b: b[0] % (len(frames) + 1), reverse=True):
        if frame is None:  # a status message (three frames) among the ticks: taken in, not a tick
            frames.insert(at % (len(frames) + 1), (KIND_STATUS, b"s0", pack({"connected": True})))
        else:
            frames.insert(at % (len(frames) + 1), frame)
            malformed += 1
    for bench in benches:
        before = counts(bench.hub)
        malformed_before = bench.hub.stats.malformed
        out = bench.run(frames, len(expected))
        assert all(t == topic for t, _ in out)
        assert [(tick["index"], tick["source"]) for _, tick in out] == expected
        assert [tick["seq"] for _, tick in out] == list(range(1, len(expected) + 1))
        state = bench.hub.topics.get(topic)
        assert (state.seq if state is not None else 0) == len(expected)
        assert bench.hub.stats.malformed - malformed_before == malformed
        after = counts(bench.hub)
        for name, tally in verdicts.items():
            old = before.get(name, (0, 0, 0))
            assert tuple(a - b for a, b in zip(after[name], old, strict=True)) == tuple(tally), name
    compiled, python = benches
    assert counts(compiled.hub) == counts(python.hub)
    if expected:
        # The same last value byte for byte, but for each hub run's own epoch.
        assert (
            compiled.hub.last_value[topic].replace(
                compiled.hub.epoch.to_bytes(8, "big"), python.hub.epoch.to_bytes(8, "big")
            )
            == python.hub.last_value[topic]
        )


def test_a_duplicate_costs_the_compiled_core_no_forward_and_lands_in_its_lateness_slot(
    benches: tuple[Bench, Bench],
) -> None:
    compiled, _ = benches
    topic = b"tick.rb2601.SHFE"
    key = content_key(1_700_000_000_000_000_000, (1.0,))
    frames: list[bytes | tuple[bytes, ...]] = [
        tick_frame(b"fast", topic, key, body(1)),
        tick_frame(b"slow", topic, key, body(1)),
    ]
    compiled.run(frames, 1)
    slow = compiled.hub.sources[b"slow"]
    assert (slow.first, slow.duplicates, slow.too_late) == (0, 1, 0)
    assert len(slow.late_ns) == 1 and slow.late_ns[0] > 0
    cell = compiled.hub.speed.cells[b"T\x04" + bytes((len(topic),)) + b"slow" + topic]
    assert cell[slow.late_ns[0].bit_length()] == 1


# -- the journal's framing ------------------------------------------------------------------


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[bytes, bytes, int, bytes]]:
    topics = [f"tick.c{i}.SHFE".encode() for i in range(draw(st.integers(1, 4)))]
    seqs = dict.fromkeys(topics, 0)
    items = []
    for _ in range(draw(st.integers(0, 40))):
        topic = draw(st.sampled_from(topics))
        seqs[topic] += draw(st.sampled_from([1, 1, 1, 2, 5]))  # now and then a hole
        key = content_key(draw(st.integers(-(2**62), 2**62)), (float(seqs[topic]),))
        items.append((topic, key, seqs[topic], draw(st.binary(min_size=0, max_size=300))))
    return items


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches(), st.dictionaries(st.sampled_from([b"tick.c0.SHFE", b"tick.c1.SHFE"]), st.integers(0, 3)))
def test_the_compiled_journal_framing_writes_the_python_framings_bytes(
    tmp_path: Path, items: list[tuple[bytes, bytes, int, bytes]], committed: dict[bytes, int]
) -> None:
    journal = Journal(tmp_path / "j")
    journal._last = dict(committed)
    journal._end = 1000
    data, entries, holes, new_last, end = journal._frame(items)
    c_data, size, err, done, c_entries, c_holes, c_new_last, c_end = _journal_core.frame_batch(
        items, journal.epoch, committed, 1000
    )
    assert c_data == data
    assert (size, err, done) == (len(data), 0, 0)
    assert c_entries.as_tuples() == entries
    assert c_holes == [(h.topic, h.from_seq, h.to_seq) for h in holes]
    assert (c_new_last, c_end) == (new_last, end)
    assert scan(data).torn_bytes == 0
    # Given a file, the same bytes go into it, in one write.
    path = tmp_path / f"batch-{next(_topics)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        written = _journal_core.frame_batch(items, journal.epoch, committed, 1000, fd)
    finally:
        os.close(fd)
    assert written[0] is None and written[1:4] == (len(data), 0, len(data))
    assert path.read_bytes() == data
    # Indexed in two batches, as the writer does, with its runs per topic kept between them.
    half = len(items) // 2
    first = _journal_core.frame_batch(items[:half], journal.epoch, committed, 1000)
    second = _journal_core.frame_batch(items[half:], journal.epoch, {**committed, **first[6]}, first[7])
    assert first[4].as_tuples() + second[4].as_tuples() == entries
    index: dict[bytes, list[Run]] = {}
    tails: dict[bytes, Any] = {}
    for part in (first, second):
        _journal_core.add_entries(index, part[4], journal.epoch, Run, tails)
    expected: dict[bytes, list[Run]] = {}
    for topic, seq, offset, exchange_ns in entries:
        runs = expected.setdefault(topic, [])
        if not runs or runs[-1].last + 1 != seq:
            runs.append(Run(journal.epoch, seq))
        runs[-1].offsets.append(offset)
        runs[-1].times.append(exchange_ns)
    assert index == expected


def test_the_compiled_modules_are_the_ones_in_use() -> None:
    # ./dev setup builds them (python -m aggregation.build_ext); a hub without them still
    # runs (the Python loop), but this suite must exercise the compiled path.
    assert _hub_core.Core is not None
    from aggregation import hub_core, journal

    pure = os.environ.get("MDHUB_PURE_PYTHON") == "1"
    assert hub_core.COMPILED or pure
    assert journal._core is not None or pure


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.integers(0, 2**32 - 1))
def test_the_folded_crc_is_zlibs(data: bytes, start: int) -> None:
    # The records' CRC must stay zlib.crc32's: readers (aggregation.journal_format) check it.
    assert _journal_core.crc32(data, start) == zlib.crc32(data, start)
    assert _journal_core.crc32(data) == zlib.crc32(data)


def test_the_hand_off_ring_keeps_order_across_its_end_and_refuses_past_its_capacity(tmp_path: Path) -> None:
    ring = _journal_core.HandOff(3)
    topic = b"tick.rb2601.SHFE"

    def tick(seq: int) -> tuple[bytes, bytes, int, bytes]:
        return (topic, content_key(seq * 1000, (float(seq),)), seq, body(seq))

    for seq in (1, 2, 3):
        ring.append(tick(seq))
    with pytest.raises(OverflowError):
        ring.append(tick(4))
    first = _journal_core.frame_from(ring, 2, 7, {}, 0, -1)
    ring.append(tick(4))
    ring.append(tick(5))  # these two wrap around the ring's end
    assert len(ring) == 3
    rest = _journal_core.frame_from(ring, 10, 7, first[6], first[7], -1)
    assert (first[8], rest[8], len(ring)) == (2, 3, 0)
    assert [e[1] for e in first[4].as_tuples() + rest[4].as_tuples()] == [1, 2, 3, 4, 5]
    assert [e[3] for e in rest[4].as_tuples()] == [3000, 4000, 5000]
    ring.append(tick(6))
    assert ring.drop(5) == 1 and len(ring) == 0
