"""The journal with a real hub, real sockets and real files: framing, torn tails, holes,
the recovery service's answers and refusals, resume."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgpack
import pytest
import zmq

from aggregation import wire
from aggregation.client import HubAddress, HubClient
from aggregation.journal import Journal, read_journal
from aggregation.journal_day import trading_day
from aggregation.journal_format import HEADER, tick_record
from tests.journal_helpers import SYMBOLS, JournalHub
from tests.zmq_helpers import tick_frames, wait_for

CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[JournalHub]:
    run = tmp_path / "run"
    run.mkdir()
    running = JournalHub(tmp_path / "journal", run)
    yield running
    running.close()


def day_file(directory: Path) -> Path:
    (path,) = directory.glob("*.mdj")
    return path


def ask(hub: JournalHub, kind: bytes, body: Any, raw: bool = False) -> tuple[bytes, Any, list[bytes]]:
    """One request to the recovery service: (reply kind, END/ERR map, DATA payloads)."""
    dealer: zmq.Socket[Any] = hub.ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(hub.recovery_addr)
    try:
        dealer.send_multipart((kind, body if raw else msgpack.packb(body)))
        payloads: list[bytes] = []
        while True:
            assert dealer.poll(5000), "no answer from the recovery service"
            frames = dealer.recv_multipart()
            if frames[0] == wire.REP_DATA:
                payloads.extend(frames[3::2])
                continue
            return frames[0], msgpack.unpackb(frames[1]), payloads
    finally:
        dealer.close()


def china_ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=CHINA).timestamp() * 1e9)


def test_a_night_session_belongs_to_the_next_trading_day() -> None:
    assert trading_day(china_ns("2026-01-05 10:00")) == date(2026, 1, 5)  # Monday day session
    assert trading_day(china_ns("2026-01-05 21:00")) == date(2026, 1, 6)  # Monday night → Tuesday
    assert trading_day(china_ns("2026-01-06 01:30")) == date(2026, 1, 6)  # after midnight, still Tuesday
    assert trading_day(china_ns("2026-01-09 21:00")) == date(2026, 1, 12)  # Friday night → Monday
    assert trading_day(china_ns("2026-01-10 02:00")) == date(2026, 1, 12)  # Saturday small hours → Monday
    holiday = {date(2026, 1, 12)}
    assert trading_day(china_ns("2026-01-09 21:00"), lambda d: d.weekday() < 5 and d not in holiday) == date(
        2026, 1, 13
    )


def write_ticks(journal: Journal, topic: bytes, seqs: range, base_ns: int = 1_000) -> None:
    items = []
    for seq in seqs:
        _, key, body = tick_frames("rb2601.SHFE", base_ns + seq, float(seq))
        items.append(
            (topic, key, seq, wire.extend_body(body, wire.source_suffix("sim-a", journal.epoch), seq))
        )
    journal.write_batch(items)


def test_a_torn_tail_is_cut_counted_and_the_next_run_appends_under_a_new_epoch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    topic = b"tick.rb2601.SHFE"
    first = Journal(tmp_path)
    first.start()
    write_ticks(first, topic, range(1, 11))
    first.close()
    path = day_file(tmp_path)
    whole = path.stat().st_size
    torn = tick_record(topic, first.epoch, 11, 0, b"x" * 300)[:-7]  # killed mid-write
    with path.open("ab") as f:
        f.write(torn)

    second = Journal(tmp_path)
    with caplog.at_level(logging.WARNING, "mdhub.journal"):
        second.start()
    write_ticks(second, topic, range(1, 4))
    second.close()

    assert second.epoch > first.epoch
    assert second.stats.torn_tails == 1
    assert second.stats.torn_bytes == len(torn)
    assert "torn tail" in caplog.text
    ticks, holes, left = read_journal(path)
    assert left == 0
    assert [(e, s) for _, e, s, _ in ticks] == [(first.epoch, s) for s in range(1, 11)] + [
        (second.epoch, s) for s in range(1, 4)
    ]
    assert holes == []
    assert path.stat().st_size > whole


def test_garbage_in_the_middle_stops_the_read_back_there(tmp_path: Path) -> None:
    topic = b"tick.rb2601.SHFE"
    journal = Journal(tmp_path)
    journal.start()
    write_ticks(journal, topic, range(1, 6))
    journal.close()
    path = day_file(tmp_path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # a flipped bit in the last record: its CRC fails
    path.write_bytes(bytes(data))
    ticks, _, left = read_journal(path)
    assert [s for _, _, s, _ in ticks] == [1, 2, 3, 4]
    assert left > HEADER.size


def test_every_forwarded_tick_is_journaled_and_a_fill_returns_exactly_the_range(hub: JournalHub) -> None:
    hub.push(400)
    hub.settle()
    ticks, holes, _ = read_journal(day_file(hub.journal.directory))  # type: ignore[union-attr]
    assert len(ticks) == hub.hub.stats.forwarded == 400
    assert holes == []
    kind, end, payloads = ask(
        hub,
        wire.REQ_FILL,
        {"id": 7, "topic": "tick.rb2601.SHFE", "epoch": hub.hub.epoch, "from": 10, "to": 20},
    )
    assert kind == wire.REP_END
    assert end["id"] == 7 and end["count"] == 11 and end["holes"] == [] and not end["more"]
    decoded = [msgpack.unpackb(p) for p in payloads]
    assert [t["seq"] for t in decoded] == list(range(10, 21))
    assert {t["epoch"] for t in decoded} == {hub.hub.epoch}
    assert {t["symbol"] for t in decoded} == {"rb2601"}


def test_a_full_hand_off_records_the_hole_and_alerts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    # A hand-off of 8 ticks: the burst below outruns the writer, as a slow disk would.
    small = JournalHub(tmp_path / "journal", run, capacity=8)
    try:
        with caplog.at_level(logging.ERROR, "mdhub.journal"):
            small.push(3000)
            small.settle()
            small.push(len(SYMBOLS))  # one more tick per topic shows each hole's end
            small.settle()
        small.close()  # records the holes at the end too
        journal = small.journal
        assert journal is not None
        assert journal.stats.overflow > 0
        assert "not journaled" in caplog.text
        ticks, holes, _ = read_journal(day_file(journal.directory))
        # Every seq forwarded is either on disk or inside a recorded hole, exactly once.
        for symbol in SYMBOLS:
            topic = wire.topic_for(symbol)
            on_disk = [s for t, _, s, _ in ticks if t == topic]
            in_holes = [s for h in holes if h.topic == topic for s in range(h.from_seq, h.to_seq + 1)]
            assert sorted(on_disk + in_holes) == list(range(1, small.hub.topics[topic].seq + 1))
        assert journal.stats.hole_ticks == journal.stats.overflow
    finally:
        small.close()


def test_a_fill_over_a_hole_says_so_and_the_client_reports_only_the_hole(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    small = JournalHub(tmp_path / "journal", run, capacity=8)
    gaps: list[tuple[str, int, int]] = []
    address = HubAddress(small.pub_addr, small.snap_addr, small.recovery_addr)
    try:
        with HubClient(address, ["rb2601.SHFE"], on_gap=lambda _h, t, a, b: gaps.append((t, a, b))) as client:
            wait_for(lambda: client.recv(0.05) is None and client.connected_hubs)
            seen = [0]

            def lose(topic: bytes, payload: bytes) -> bool:
                seen[0] += 1
                return seen[0] > 1  # lose all but the first live tick

            client._lose = lose
            small.push(3000, ("rb2601.SHFE",))
            wait_for(lambda: small.hub.stats.forwarded == 3000)
            first = client.recv(2.0)
            assert first is not None and first["seq"] == 1
            assert client.recv(1.0) is None
            client._lose = None
            small.push(1, ("rb2601.SHFE",))  # shows the gap
            got = [1]
            while (tick := client.recv(2.0)) is not None:
                got.append(tick["seq"])
        journal = small.journal
        assert journal is not None
        _, holes, _ = read_journal(day_file(journal.directory))
        hole_seqs = {s for h in holes for s in range(h.from_seq, h.to_seq + 1)}
        assert hole_seqs, "the burst should have overflowed the hand-off"
        assert got == sorted(set(range(1, 3002)) - hole_seqs)
        assert sum(b - a for _, a, b in gaps) == len(hole_seqs) == client.gaps
    finally:
        small.close()


@pytest.mark.parametrize(
    ("kind", "body", "code"),
    [
        (
            wire.REQ_FILL,
            {"id": 1, "topic": "tick.rb2601.SHFE", "epoch": 0, "from": 5, "to": 4},
            wire.ERR_BAD_RANGE,
        ),
        (
            wire.REQ_FILL,
            {"id": 1, "topic": "tick.rb2601.SHFE", "epoch": 0, "from": 0, "to": 4},
            wire.ERR_BAD_RANGE,
        ),
        (
            wire.REQ_FILL,
            {"id": 1, "topic": "tick.rb2601.SHFE", "epoch": 0, "from": 1, "to": 10**12},
            wire.ERR_TOO_LARGE,
        ),
        (
            wire.REQ_FILL,
            {"id": 1, "topic": "tick.zz9999.SHFE", "epoch": 1, "from": 1, "to": 4},
            wire.ERR_UNKNOWN_TOPIC,
        ),
        (
            wire.REQ_FILL,
            {"id": 1, "topic": "tick.rb2601.SHFE", "epoch": 1, "from": 1, "to": 4},
            wire.ERR_UNKNOWN_EPOCH,
        ),
        (wire.REQ_FILL, {"id": 1, "topic": "rb2601", "epoch": 1, "from": 1, "to": 4}, wire.ERR_BAD_REQUEST),
        (
            wire.REQ_FILL,
            {"id": 1, "topic": "tick.rb2601.SHFE", "epoch": "x", "from": 1, "to": 4},
            wire.ERR_BAD_REQUEST,
        ),
        (wire.REQ_FILL, {"id": 1, "v": 99}, wire.ERR_VERSION),
        (wire.REQ_AFTER, {"id": 1, "after": {"tick.rb2601.SHFE": 5}}, wire.ERR_BAD_REQUEST),
        (wire.REQ_AFTER, {"id": 1, "after": [1, 2]}, wire.ERR_BAD_REQUEST),
        (b"DROP", {"id": 1}, wire.ERR_BAD_REQUEST),
        (wire.REQ_FILL, [1, 2, 3], wire.ERR_BAD_REQUEST),
    ],
)
def test_bad_requests_get_a_clear_error_and_the_service_goes_on(
    hub: JournalHub, kind: bytes, body: Any, code: str
) -> None:
    hub.push(8)
    hub.settle()
    reply, answer, payloads = ask(hub, kind, body)
    assert reply == wire.REP_ERR
    assert answer["error"] == code
    assert answer["message"]
    assert payloads == []
    good = {"id": 2, "topic": "tick.rb2601.SHFE", "epoch": hub.hub.epoch, "from": 1, "to": 2}
    assert ask(hub, wire.REQ_FILL, good)[0] == wire.REP_END


def test_a_body_that_is_not_msgpack_is_refused(hub: JournalHub) -> None:
    reply, answer, _ = ask(hub, wire.REQ_FILL, b"\xc1\xc1", raw=True)
    assert reply == wire.REP_ERR and answer["error"] == wire.ERR_BAD_REQUEST


def test_a_long_fill_comes_in_pages_the_client_follows(hub: JournalHub) -> None:
    assert hub.hub.recovery is not None
    hub.hub.recovery.page = 100
    hub.push(1200, ("rb2601.SHFE",))
    hub.settle()
    kind, end, payloads = ask(
        hub,
        wire.REQ_FILL,
        {"id": 1, "topic": "tick.rb2601.SHFE", "epoch": hub.hub.epoch, "from": 1, "to": 1000},
    )
    assert kind == wire.REP_END and end["more"] and end["count"] == 100 == len(payloads)
    assert end["last"] == {b"tick.rb2601.SHFE": [hub.hub.epoch, 100]}
    address = HubAddress(hub.pub_addr, hub.snap_addr, hub.recovery_addr)
    with HubClient(address, ["rb"], snapshot=False, resume_since_ns=0) as client:
        seqs = []
        while (tick := client.recv(2.0)) is not None:
            seqs.append(tick["seq"])
        assert seqs == list(range(1, 1201))
        assert client.fill_requests == 12  # one AFTER, answered in 12 pages
        assert client.recovered == 1200


def test_a_client_resumes_after_its_saved_positions_or_after_a_time(hub: JournalHub) -> None:
    address = HubAddress(hub.pub_addr, hub.snap_addr, hub.recovery_addr)
    with HubClient(address, [""], resume_since_ns=0) as first:
        hub.push(40)
        got = [first.recv(2.0) for _ in range(40)]
        assert all(t is not None for t in got)
        positions = first.positions()
    assert positions[hub.pub_addr]["tick.rb2601.SHFE"] == (hub.hub.epoch, 10)
    hub.push(40)  # while no client runs
    hub.settle()
    with HubClient(address, [""], resume=positions) as second:
        later = []
        while (tick := second.recv(1.0)) is not None:
            later.append((tick["symbol"], tick["seq"]))
        assert sorted(later) == sorted((s.split(".")[0], q) for s in SYMBOLS for q in range(11, 21))
        assert second.gaps == 0 and second.recovered == 40
    cut = got[-1]
    assert cut is not None
    with HubClient(address, ["IF"], snapshot=False, resume_since_ns=cut["datetime"]) as third:
        since = []
        while (tick := third.recv(1.0)) is not None:
            since.append(tick["seq"])
        assert since == list(range(11, 21))


def test_positions_on_disk_survive_a_hub_restart_in_the_same_day(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    first = JournalHub(tmp_path / "journal", run)
    first.push(20)
    first.settle()
    epoch = first.hub.epoch
    first.close()
    second = JournalHub(tmp_path / "journal", run)
    try:
        assert second.hub.epoch > epoch
        assert second.journal is not None and second.journal.day is not None
        assert second.journal.day.epochs == [epoch, second.hub.epoch]
        address = HubAddress(second.pub_addr, second.snap_addr, second.recovery_addr)
        resume = {second.pub_addr: {"tick.rb2601.SHFE": (epoch, 2)}}
        with HubClient(address, ["rb2601.SHFE"], snapshot=False, resume=resume) as client:
            seqs = []
            while (tick := client.recv(1.0)) is not None:
                seqs.append((tick["epoch"], tick["seq"]))
            second.push(8)  # the new run's ticks, live
            while (tick := client.recv(1.0)) is not None:
                seqs.append((tick["epoch"], tick["seq"]))
        assert seqs == [(epoch, s) for s in range(3, 6)] + [(second.hub.epoch, s) for s in (1, 2)]
    finally:
        second.close()
    assert os.path.getsize(day_file(tmp_path / "journal")) > 0
