"""Follow the hub's tape (its journal, docs/journal.md) as a data service's input. No Django.

Why: a service that subscribes to the hub's PUB makes the hub's process send it every tick
(one pipe write in the hub's thread and one TCP send in its I/O thread per subscriber per
tick); measured, one full-stream subscriber cost the hub ~40 % more CPU per tick and ~10 %
of its ingress ceiling (docs/services.md, "What a service costs the tick path"). The hub
writes every tick to its journal anyway, off the tick path; a service reading that file
costs the hub's process nothing per tick (the page cache serves both).

``TapeFollower.read`` is called at the runner's cadence: it ``pread``s the current trading
day's file from the end of the last whole record it took to EOF (at most ``CHUNK`` bytes),
decodes whole records with ``aggregation.journal_format``, and leaves a partial last record
in the file for the next read. It reads from that record's start again rather than keeping
its bytes: a hub restarted after a kill -9 cuts a torn tail off and appends after the last
whole record, so the bytes after it may change under a reader that kept them.

* Only tick records on the wanted topics are returned (decoded payloads, as published):
  the hub journals the services' own ``bar.``/``greeks.`` records too, and a service must
  not read its own output.
* A hole record (ticks the hub forwarded but could not journal) adds its range to
  ``missed`` when its topic is wanted; an epoch record (a hub run starts) is counted.
* The day's file is ``YYYY-MM-DD.mdj`` in the journal directory. On start the follower
  takes the newest file whose trading day is not before today's (by any calendar, the
  trading day is at least today, tomorrow from 18:00 Beijing time: so it never replays an
  old day when the hub has not yet opened today's file); it waits while there is none.
  It moves on to a newer file once the current one is read to its end, after one last read
  (the hub's writer opens the next day's file only after its last write to this one).
* A corrupt record (a wrong CRC or a length no record has) with whole records after it is
  not a tail being written: the follower waits at it for ``resync_grace`` (or until the file
  has grown past it by more than a whole record can be), then resumes at the next offset
  where a whole record begins (``journal_format.next_record_start``), counts the bytes it
  skipped and logs a WARNING. A torn tail has no whole record after it and is waited on as
  before. A hub restarted after that cuts the file back at the corrupt record and appends
  there (``aggregation.journal``): the follower sees a whole record appear where the corrupt
  one was and goes back to read the new run from there.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgpack

from aggregation.client import Subscription
from aggregation.exchange_time import CHINA_TZ
from aggregation.journal_day import NIGHT_STARTS
from aggregation.journal_format import (
    EPOCH,
    HEADER,
    HOLE,
    MAX_RECORD,
    SUFFIX,
    TICK,
    decode,
    iter_bodies,
    next_record_start,
    tick_payload,
)

# Bytes read at most per call: ~5 000 ticks of ~840 bytes, the runner's batch. A whole
# record (< MAX_RECORD, 1 MB) always fits.
CHUNK = 4 << 20
# How often to look for the next day's file (a listdir) while the current one has no news.
ROLL_CHECK_INTERVAL = 1.0
# How long to wait at a record that is not whole, with whole ones after it, before skipping
# it: the writer finishes a record within one write, so one not whole after this is corrupt.
RESYNC_GRACE = 5.0
# No record is longer: a record start this far behind the end of the file that is still not
# whole is corrupt, not being written.
WHOLE_RECORD = HEADER.size + MAX_RECORD
START = "start"
END = "end"
TAPE_FROM = (START, END)
TICK_PREFIX = b"tick."

_unpackb = msgpack.unpackb
log = logging.getLogger("mdhub.services")


def earliest_trading_day(wall_ns: int) -> date:
    """The earliest trading day ``wall_ns`` can belong to under any holiday list: today, or
    tomorrow from ``NIGHT_STARTS`` (the journal's roll, aggregation/journal_day.py)."""
    at = datetime.fromtimestamp(wall_ns / 1e9, CHINA_TZ)
    if at.time() >= NIGHT_STARTS:
        return at.date() + timedelta(days=1)
    # Before NIGHT_ENDS it is the night session begun the evening before: its trading day
    # is after yesterday, so at least today, as in the day.
    return at.date()


def day_of(path: Path) -> date | None:
    try:
        return date.fromisoformat(path.name.removesuffix(SUFFIX))
    except ValueError:
        return None


@dataclass(slots=True)
class TapeStats:
    records: int = 0  # whole records read
    ticks: int = 0  # tick records handed to the service
    skipped: int = 0  # records on other topics (the services' own bars and Greeks, others')
    holes: int = 0  # hole records on wanted topics
    missed: int = 0  # ticks those holes stand for
    epochs: int = 0  # hub runs seen starting (epoch records)
    bad: int = 0  # whole records (right CRC) that did not decode: counted, skipped
    files: int = 0  # day files opened
    torn_left: int = 0  # bytes left unread at the end of a file rolled away from
    resyncs: int = 0  # corrupt records with whole ones after them, skipped
    corrupt_skipped_bytes: int = 0  # bytes skipped at those
    rewound: int = 0  # times a restarted hub cut the file back at a skipped record: read again from there


class TapeFollower:
    """Reads a hub's journal directory as it grows (see the module docstring)."""

    def __init__(
        self,
        directory: Path,
        topics: Sequence[str],
        *,
        start: str = START,
        clock: Any = time.time_ns,
        chunk: int = CHUNK,
        roll_check: float = ROLL_CHECK_INTERVAL,
        resync_grace: float = RESYNC_GRACE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start not in TAPE_FROM:
            raise ValueError(f"unknown tape start {start!r}: choose {' or '.join(TAPE_FROM)}")
        self.directory = Path(directory)
        self.subscription = Subscription.parse(list(topics))
        self.from_end = start == END
        self.clock = clock
        self.chunk = chunk
        self.roll_check = roll_check
        self.resync_grace = resync_grace
        self.monotonic = monotonic
        self.stats = TapeStats()
        self.path: Path | None = None
        self.day: date | None = None
        self.offset = 0  # where the next whole record starts
        self.size = 0  # the file's size at the last read
        self._fd = -1
        self._wanted: dict[bytes, bool] = {}
        self._roll_at = 0.0
        self.behind = False
        self._forget_corrupt()

    def _forget_corrupt(self) -> None:
        self._stuck_at = -1  # the offset of the record we wait at that is not whole
        self._stuck_since = 0.0
        self._scanned_to = 0  # from there, the offsets before this are no record's start
        self._scanned_size = -1  # the file's size when a scan to its end last found none
        # The first record skipped in this file: where a restarted hub cuts the file.
        self._cut_at = -1

    @property
    def connected(self) -> bool:
        """Whether a day's file is open (the status frame's ``connected``)."""
        return self._fd >= 0

    @property
    def caught_up(self) -> bool:
        """Whether the last read took every whole record there was (not a full chunk)."""
        return self._fd >= 0 and not self.behind

    def wants(self, topic: bytes) -> bool:
        wanted = self._wanted.get(topic)
        if wanted is None:
            wanted = self._wanted[topic] = topic.startswith(TICK_PREFIX) and self.subscription.wants(topic)
        return wanted

    # -- files -------------------------------------------------------------------------------

    def _newest(self, after: date | None) -> Path | None:
        """The newest day file later than ``after`` (None: not before today's trading day)."""
        floor = earliest_trading_day(self.clock()) if after is None else after + timedelta(days=1)
        best: tuple[date, Path] | None = None
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return None
        for name in names:
            if not name.endswith(SUFFIX):
                continue
            path = self.directory / name
            day = day_of(path)
            if day is not None and day >= floor and (best is None or day > best[0]):
                best = (day, path)
        return best[1] if best else None

    def _open(self, path: Path, *, at_end: bool) -> None:
        self.close()
        self._fd = os.open(path, os.O_RDONLY)
        self.path, self.day = path, day_of(path)
        self.offset = 0
        self.size = os.fstat(self._fd).st_size
        self.stats.files += 1
        self._forget_corrupt()
        if at_end:
            # From the end: skip the whole records there now (a torn tail is read again), and
            # a corrupt one with whole ones after it, as they too were there before.
            while True:
                data = os.pread(self._fd, self.chunk, self.offset)
                end = self.offset
                for at, body in iter_bodies(data):
                    end = self.offset + at + HEADER.size + len(body)
                if end == self.offset and not (data and self._resync(at_once=True)):
                    break
                self.offset = max(end, self.offset)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # -- reading -----------------------------------------------------------------------------

    def read(self) -> list[dict[str, Any]]:
        """The wanted ticks written since the last read (at most ``chunk`` bytes' worth), as
        decoded payloads in file order; [] when there are none yet."""
        if self._fd >= 0:
            ticks = self._read_chunk()
            if ticks or self.behind:
                return ticks
        # Nothing new: time to look for the first file, or the next day's?
        now = time.monotonic()
        if now < self._roll_at:
            return []
        self._roll_at = now + self.roll_check
        newer = self._newest(self.day)
        if newer is None:
            return []
        first = self._fd < 0
        if not first:
            # The writer opens the next day's file only after its last write to this one:
            # one more read takes what it wrote since ours; what is left then is a torn
            # tail nobody will finish.
            before = self.offset
            # The writer is done with this file: a corrupt record in it is skipped at once.
            ticks = self._read_chunk(at_once=True)
            if ticks or self.behind or self.offset != before:
                self._roll_at = 0.0
                return ticks  # the roll waits for the next read
            self.stats.torn_left += self.size - self.offset
        self._open(newer, at_end=first and self.from_end)
        return self._read_chunk()

    def _read_chunk(self, *, at_once: bool = False) -> list[dict[str, Any]]:
        ticks, end, left = self._take()
        if end == 0 and (self._rewound() or (left and self._resync(at_once=at_once))):
            ticks, _, _ = self._take()
        elif left and not self.behind:
            # Stopped short of the end: the grace for what stopped it runs from this read.
            self._stuck_here(self.monotonic())
        return ticks

    def _take(self) -> tuple[list[dict[str, Any]], int, int]:
        """Decode the whole records from ``offset``: the wanted ticks, the bytes taken, and
        the bytes read after them (a partial or corrupt record)."""
        data = os.pread(self._fd, self.chunk, self.offset)
        self.size = self.offset + len(data)
        stats = self.stats
        out: list[dict[str, Any]] = []
        end = 0
        for at, body in iter_bodies(data):
            end = at + HEADER.size + len(body)
            stats.records += 1
            kind = body[0]
            try:
                if kind == TICK:
                    topic, payload = tick_payload(body)
                    if self.wants(topic):
                        out.append(_unpackb(payload))
                        stats.ticks += 1
                    else:
                        stats.skipped += 1
                elif kind == HOLE:
                    hole = decode(self.offset + at, body)
                    if self.wants(hole.topic):
                        stats.holes += 1
                        stats.missed += hole.to_seq - hole.seq + 1
                elif kind == EPOCH:
                    stats.epochs += 1
                else:
                    stats.bad += 1
            except (ValueError, IndexError, struct.error, msgpack.UnpackException):
                # A right CRC but unreadable (a newer hub's record kind?): skip this one only.
                stats.bad += 1
        self.offset += end
        # A full chunk: more whole records are waiting (a catch-up). Otherwise what is left
        # after ``end`` is a partial record the writer is finishing (or a torn one, or a
        # corrupt one: ``_resync``).
        self.behind = len(data) == self.chunk and end > 0
        return out, end, len(data) - end

    # -- corrupt records ---------------------------------------------------------------------

    def _resync(self, *, at_once: bool) -> bool:
        """At a record that is not whole: move ``offset`` to the next whole record when this
        one is corrupt (it has waited ``resync_grace``, the file has grown past it by more
        than a whole record, or ``at_once``) and there is one; whether it moved."""
        now = self.monotonic()
        self._stuck_here(now)
        size = os.fstat(self._fd).st_size
        waiting = not at_once and now - self._stuck_since <= self.resync_grace
        if (waiting and size - self.offset <= WHOLE_RECORD) or size == self._scanned_size:
            return False  # a tail being written, or nothing new since a scan to the end found none
        # One window a call: a long run of garbage is scanned over several reads, not in one.
        window = os.pread(self._fd, self.chunk + WHOLE_RECORD, self._scanned_to)
        to_end = len(window) < self.chunk + WHOLE_RECORD
        found = next_record_start(window, 0, None if to_end else self.chunk)
        if found is None:
            if to_end:
                # Offsets within a whole record of the end may yet start one (a tail being
                # written): scanned again once the file grows.
                self._scanned_size = self._scanned_to + len(window)
                self._scanned_to += max(0, len(window) - WHOLE_RECORD)
            else:
                self._scanned_to += self.chunk
            return False
        start = self._scanned_to + found
        skipped = start - self.offset
        self.stats.resyncs += 1
        self.stats.corrupt_skipped_bytes += skipped
        log.warning(
            "tape %s: a corrupt record at offset %d with whole records after it: skipped %d bytes, "
            "reading on from offset %d",
            self.path,
            self.offset,
            skipped,
            start,
        )
        if self._cut_at < 0:
            self._cut_at = self.offset
        self.offset = start
        self._stuck_at = -1
        return True

    def _stuck_here(self, now: float) -> None:
        if self._stuck_at != self.offset:
            self._stuck_at, self._stuck_since, self._scanned_to = self.offset, now, self.offset + 1
            self._scanned_size = -1

    def _rewound(self) -> bool:
        """Whether a whole record now begins at the first record skipped in this file: a
        restarted hub cut the file back there and appends from there (the records after it
        that were read are gone), so ``offset`` goes back to it."""
        at = self._cut_at
        if at < 0:
            return False
        head = os.pread(self._fd, HEADER.size, at)
        if len(head) < HEADER.size:
            return False
        length = HEADER.unpack(head)[0]
        if not 0 < length <= MAX_RECORD:
            return False
        if next(iter_bodies(head + os.pread(self._fd, length, at + HEADER.size)), None) is None:
            return False
        log.warning(
            "tape %s: cut back to offset %d (a hub restarted after the corrupt record there): "
            "reading again from there",
            self.path,
            at,
        )
        self.stats.rewound += 1
        self.offset = at
        self._forget_corrupt()
        return True
