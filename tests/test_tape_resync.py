"""The tape follower goes on past a corrupt record in the middle of a day's file, and waits at
a torn tail as before (services/tape.py, docs/services.md "Input: the tape").

Files written by the real ``Journal`` writer, then corrupted in place; a restarted hub is a
second real ``Journal`` on the same directory."""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from aggregation.journal_format import (
    HEADER,
    MAX_RECORD,
    TICK,
    decode,
    epoch_record,
    frame,
    iter_bodies,
    next_record_start,
)
from services.tape import CHUNK, END, START, TapeFollower
from tests.test_services_tape import Tape, china_ns

DAY_NS = china_ns("2026-03-09 14:00")  # a Monday's day session: the file is 2026-03-09.mdj
GRACE = 5.0


class Clock:
    """The follower's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def follower_of(directory: Path, clock: Clock, start: str = START, chunk: int = CHUNK) -> TapeFollower:
    return TapeFollower(
        directory,
        ["rb"],
        start=start,
        clock=lambda: DAY_NS,
        chunk=chunk,
        roll_check=0.0,
        resync_grace=GRACE,
        monotonic=clock,
    )


def write_ticks(tape: Tape, count: int, batch: int = 10) -> None:
    for start in range(0, count, batch):
        n = min(batch, count - start)
        tape.write(
            [tape.tick("rb2610.SHFE", DAY_NS + start + i, 100.0 + start + i, 3000.0) for i in range(n)]
        )


def tick_span(path: Path, seq: int) -> tuple[int, int]:
    """``(offset, length)`` of the tick record with this seq."""
    for at, body in iter_bodies(path.read_bytes()):
        if body[0] == TICK and decode(at, body).seq == seq:
            return at, HEADER.size + len(body)
    raise AssertionError(f"no tick {seq} in {path}")


def flip_crc(path: Path, seq: int) -> tuple[int, int]:
    """Flip a byte of that tick's CRC in place (the writer may still have the file open)."""
    at, length = tick_span(path, seq)
    with path.open("r+b") as f:
        f.seek(at + 4)
        byte = f.read(1)[0]
        f.seek(at + 4)
        f.write(bytes((byte ^ 0xFF,)))
    return at, length


def insert_garbage(path: Path, seq: int, size: int = 1_500) -> tuple[int, int]:
    """Put bytes no writer wrote before that tick: a header whose length fits and whose CRC
    does not, then noise; the same file (inode), so an open writer appends after it."""
    at, _ = tick_span(path, seq)
    noise = random.Random(7).randbytes(size)
    garbage = HEADER.pack(200, 0x12345678) + noise
    data = path.read_bytes()
    with path.open("r+b") as f:
        f.write(data[:at] + garbage + data[at:])
    return at, len(garbage)


def seqs(ticks: list[dict[str, object]]) -> list[object]:
    return [t["seq"] for t in ticks]


@pytest.mark.parametrize(
    ("corrupt", "after"),
    [(flip_crc, list(range(12, 31))), (insert_garbage, list(range(11, 31)))],
    ids=["crc", "garbage"],
)
def test_a_corrupt_record_mid_file_is_skipped_after_the_grace_and_what_follows_read_once(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    corrupt: Callable[[Path, int], tuple[int, int]],
    after: list[int],
) -> None:
    directory = tmp_path / "journal"
    tape = Tape(directory, clock=lambda: DAY_NS)
    write_ticks(tape, 30)
    path = directory / "2026-03-09.mdj"
    at, skipped = corrupt(path, 11)
    clock = Clock()
    follower = follower_of(directory, clock)
    with caplog.at_level(logging.WARNING, logger="mdhub.services"):
        assert seqs(follower.read()) == list(range(1, 11))
        assert follower.read() == []
        clock.now += GRACE - 0.1
        assert follower.read() == [] and follower.offset == at  # within the grace it waits
        clock.now += 0.2
        assert seqs(follower.read()) == after
        assert follower.read() == []
        write_ticks(tape, 5)  # the live writer goes on appending: read from there as usual
        assert seqs(follower.read()) == list(range(31, 36))
    tape.close()

    stats = follower.stats
    assert stats.resyncs == 1 and stats.corrupt_skipped_bytes == skipped
    assert stats.ticks == 10 + len(after) + 5 and stats.bad == 0 and stats.rewound == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert str(path) in warnings[0] and f"offset {at}" in warnings[0] and f"{skipped} bytes" in warnings[0]


def test_a_file_grown_past_a_corrupt_record_by_more_than_a_whole_record_is_read_on_at_once(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "journal"
    tape = Tape(directory, clock=lambda: DAY_NS)
    write_ticks(tape, 10)
    write_ticks(tape, 3_000, batch=250)  # ~2.5 MB after the corrupt record
    tape.close()
    path = directory / "2026-03-09.mdj"
    at, skipped = flip_crc(path, 11)
    assert path.stat().st_size - at > HEADER.size + MAX_RECORD
    clock = Clock()  # never moves: the grace does not run out
    follower = follower_of(directory, clock)
    got = seqs(follower.read())
    while ticks := follower.read():
        got += seqs(ticks)
    assert got == [*range(1, 11), *range(12, 3_011)]
    assert follower.stats.resyncs == 1 and follower.stats.corrupt_skipped_bytes == skipped


def test_garbage_longer_than_a_chunk_is_scanned_over_several_reads_to_the_next_record(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    tape = Tape(directory, clock=lambda: DAY_NS)
    write_ticks(tape, 10)
    write_ticks(tape, 2_000, batch=250)  # > 1 MB after the garbage: no need to wait the grace
    tape.close()
    at, skipped = insert_garbage(directory / "2026-03-09.mdj", 11, size=20_000)
    follower = follower_of(directory, Clock(), chunk=4_096)
    got: list[object] = []
    while ticks := follower.read():  # a few chunks up to the garbage
        got += seqs(ticks)
    assert got == list(range(1, 11)) and follower.offset == at
    reads = 0
    while not (ticks := follower.read()) and reads < 20:
        reads += 1
        assert follower.offset == at
    got += seqs(ticks)
    while ticks := follower.read():
        got += seqs(ticks)
    assert reads >= 3, "the scan took the whole garbage in one read"
    assert got == list(range(1, 2_011))
    assert follower.stats.resyncs == 1 and follower.stats.corrupt_skipped_bytes == skipped


def test_a_torn_tail_is_waited_on_past_the_grace_and_read_when_the_writer_completes_it(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "journal"
    tape = Tape(directory, clock=lambda: DAY_NS)
    write_ticks(tape, 10)
    write_ticks(tape, 1)
    path = directory / "2026-03-09.mdj"
    whole = path.read_bytes()
    os.truncate(path, len(whole) - 40)  # the writer is mid-write
    clock = Clock()
    follower = follower_of(directory, clock)
    assert seqs(follower.read()) == list(range(1, 11))
    torn_at = follower.offset
    clock.now += 1.0
    assert follower.read() == []
    clock.now += 60 * GRACE  # long past the grace: still nothing whole after it to go to
    assert follower.read() == [] and follower.offset == torn_at
    with path.open("ab") as f:
        f.write(whole[-40:])
    assert seqs(follower.read()) == [11]
    write_ticks(tape, 1)
    tape.close()
    assert seqs(follower.read()) == [12]
    assert follower.stats.resyncs == 0 and follower.stats.corrupt_skipped_bytes == 0


def test_a_torn_tail_cut_by_a_restarted_hub_is_not_skipped_and_the_new_run_is_read(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    tape = Tape(directory, clock=lambda: DAY_NS)
    write_ticks(tape, 10)
    write_ticks(tape, 1)
    tape.close()
    path = directory / "2026-03-09.mdj"
    os.truncate(path, path.stat().st_size - 40)  # killed -9 mid-write
    clock = Clock()
    follower = follower_of(directory, clock)
    assert seqs(follower.read()) == list(range(1, 11))
    clock.now += 60 * GRACE
    assert follower.read() == []

    again = Tape(directory, clock=lambda: DAY_NS)  # cuts the torn tail, appends after seq 10
    write_ticks(again, 3)
    again.close()
    assert again.journal.stats.torn_tails == 1
    got = follower.read()
    assert [(t["epoch"], t["seq"]) for t in got] == [(again.journal.epoch, s) for s in (1, 2, 3)]
    assert follower.stats.resyncs == 0 and follower.stats.rewound == 0 and follower.stats.epochs == 2


def test_a_hub_restarted_after_a_skip_cuts_the_file_there_and_the_follower_goes_back_to_read_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "journal"
    tape = Tape(directory, clock=lambda: DAY_NS)
    write_ticks(tape, 30)
    tape.close()
    path = directory / "2026-03-09.mdj"
    at, _ = flip_crc(path, 11)
    clock = Clock()
    follower = follower_of(directory, clock)
    assert seqs(follower.read()) == list(range(1, 11))
    clock.now += GRACE + 1
    assert seqs(follower.read()) == list(range(12, 31))
    assert follower.read() == []

    # A restarted hub reads the file back, stops at the corrupt record, cuts everything from
    # it and appends its run there: before the offset the follower had read to.
    again = Tape(directory, clock=lambda: DAY_NS)
    write_ticks(again, 3)
    again.close()
    assert path.stat().st_size < follower.offset
    with caplog.at_level(logging.WARNING, logger="mdhub.services"):
        got = follower.read()
    assert [(t["epoch"], t["seq"]) for t in got] == [(again.journal.epoch, s) for s in (1, 2, 3)]
    assert follower.stats.rewound == 1 and follower.stats.epochs == 2
    assert any(f"offset {at}" in r.getMessage() for r in caplog.records)
    assert follower.read() == []


def test_at_the_days_roll_a_corrupt_record_in_the_old_file_is_skipped_at_once(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    tape = Tape(directory, clock=lambda: DAY_NS)
    write_ticks(tape, 30)
    tape.close()
    flip_crc(directory / "2026-03-09.mdj", 11)
    clock = Clock()  # never moves: only the roll says the old file is done
    follower = follower_of(directory, clock)
    assert seqs(follower.read()) == list(range(1, 11))
    assert follower.read() == []

    night_ns = china_ns("2026-03-09 20:00")  # the next trading day's file
    night = Tape(directory, clock=lambda: night_ns)
    night.write([night.tick("rb2610.SHFE", night_ns, 5.0, 3010.0)])
    night.close()
    assert seqs(follower.read()) == list(range(12, 31))
    assert follower.path == directory / "2026-03-09.mdj"
    assert seqs(follower.read()) == [1]
    assert follower.path == directory / "2026-03-10.mdj" and follower.stats.torn_left == 0


def test_a_follower_from_the_end_skips_a_corrupt_record_with_what_was_there_before_it(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    tape = Tape(directory, clock=lambda: DAY_NS)
    write_ticks(tape, 30)
    flip_crc(directory / "2026-03-09.mdj", 11)
    clock = Clock()
    follower = follower_of(directory, clock, start=END)
    assert follower.read() == []
    write_ticks(tape, 1)
    tape.close()
    assert seqs(follower.read()) == [31]
    assert follower.stats.resyncs == 1


def test_next_record_start_finds_only_whole_records_with_a_right_crc() -> None:
    records = [frame(b"T" + bytes(range(40))), epoch_record(7, 8), frame(b"E" + bytes(16))]
    data = b"".join(records)
    assert next_record_start(data) == 0
    assert next_record_start(data, 1) == len(records[0])
    bad = bytearray(data)
    bad[5] ^= 1  # the first record's CRC
    assert next_record_start(bytes(bad)) == len(records[0])
    assert next_record_start(data, 1, len(records[0])) is None  # ``stop`` bounds the offsets tried
    # Zeros are no record, though crc32 of nothing is 0; a torn last record is none either.
    assert next_record_start(bytes(64) + records[1]) == 64
    assert next_record_start(bytes(64) + records[1][:-1]) is None
    assert next_record_start(HEADER.pack(MAX_RECORD + 1, 0) + bytes(MAX_RECORD + 1)) is None
