"""The tape: every tick the hub forwards, on local disk, one file per trading day (docs/journal.md).

The hub's tick path only appends ``(topic, key, seq, payload)`` to ``Journal.queue`` (a deque:
an append costs ~0.1 us and never waits) after checking its length against ``capacity``; the
writer thread does the rest: framing (``aggregation.journal_format``), the write, the index
the recovery service reads (``aggregation.journal_service``). No Django import.

* **Holes, not stalls.** When the hand-off is full (the disk is too slow) the hub drops the
  tick for the journal and counts it (``overflow``); when a write fails (disk full, file-size
  limit) the writer drops its batch (``lost``), cuts any partial record back off the file and
  retries once a second. Either way the next tick the writer does write for that topic shows
  the jump in ``seq``, and a hole record saying exactly which seqs are missing goes before
  it. One ERROR log per incident (ERROR logs become alert mails).
* **Torn tails.** Opening a day's file reads it back record by record; a torn tail (a hub
  killed -9 mid-write) is cut off, counted and logged, and this run appends after the last
  whole record, under a new epoch (``epoch``: larger than any before it in this directory).
* **Readers.** The index is per topic a list of ``Run``s (one epoch, contiguous seqs): the
  file offset and exchange time of every tick, 16 bytes a tick in arrays. Index entries are
  added only after their bytes are in the file (the page cache: a kill -9 does not lose
  them; only a machine crash can, as no fsync is made per batch), so a reader on another
  thread never sees an entry it cannot read. The GIL makes an array append atomic.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import mmap
import os
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from aggregation.journal_day import TradingDayRule, trading_day, weekdays
from aggregation.journal_format import (
    EPOCH,
    HEADER,
    HOLE,
    NUMS,
    SUFFIX,
    TICK,
    epoch_record,
    hole_record,
    iter_bodies,
    scan,
    tick_payload,
    tick_record,
)

log = logging.getLogger("mdhub.journal")

# The writer's framing and index, compiled (aggregation/_journal_core.pyx: the GIL is held only
# to read the batch, so the hub's tick path does not wait for it), else the Python loop below,
# byte-identical; ``MDHUB_PURE_PYTHON=1`` picks the Python one, as for the tick codec.
_core: Any = None
if os.environ.get("MDHUB_PURE_PYTHON") != "1":
    try:
        from aggregation import _journal_core as _core
    except ImportError:  # not built
        _core = None

# Ticks the hand-off holds at most (references to payloads the hub built anyway; ~40 MB of
# payloads when full): about 3 s of a whole-market stream.
DEFAULT_CAPACITY = 100_000
# Ticks framed per write: small, because the writer holds the GIL while it reads the batch
# and indexes it (the compiled framing, and ``os.write``, release it), and the hub's tick path
# waits for the GIL: 256 keep each hold to some tens of microseconds.
WRITE_BATCH = 256
# The writer thread's nice value (Linux: per thread): the CPU goes to the hub's tick path and
# the clients first when the machine is busy, and the journal, which may run behind by up to
# ``capacity`` ticks, catches up when it is not. Most of its CPU is the kernel's copy into the
# page cache (~1.5 us a tick), which no framing change removes.
WRITER_NICE = 5
IDLE_SLEEP = 0.002
RETRY_INTERVAL = 1.0
ROLL_CHECK_INTERVAL = 1.0
# A new ERROR for holes only after this long without one (a storm is one alert).
ALERT_INTERVAL = 60.0
READ_WINDOW = 1 << 16

_from_bytes = int.from_bytes

# What the hub hands over: (topic, content key, seq, payload).
Item = tuple[bytes, bytes, int, bytes]


@dataclass(slots=True)
class Run:
    """Contiguous seqs ``first, first+1, ...`` of one topic in one epoch, as found on disk."""

    epoch: int
    first: int
    offsets: array[int] = field(default_factory=lambda: array("q"))
    times: array[int] = field(default_factory=lambda: array("q"))

    @property
    def last(self) -> int:
        return self.first + len(self.offsets) - 1

    def after_time(self, since_ns: int) -> int:
        """Index of the first tick with exchange time > ``since_ns`` (times never go back
        within a topic: the hub forwards in exchange-time order)."""
        return bisect.bisect_right(self.times, since_ns)


@dataclass(frozen=True, slots=True)
class Hole:
    topic: bytes
    epoch: int
    from_seq: int
    to_seq: int


@dataclass(slots=True)
class Day:
    """One trading day's file, its index and holes (what readers look at)."""

    day: date
    path: Path
    index: dict[bytes, list[Run]] = field(default_factory=dict)
    holes: list[Hole] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    read_fd: int = -1

    def add(self, topic: bytes, epoch: int, seq: int, offset: int, exchange_ns: int) -> None:
        runs = self.index.get(topic)
        if runs is None:
            runs = self.index[topic] = []
        if not runs or runs[-1].epoch != epoch or runs[-1].last + 1 != seq:
            runs.append(Run(epoch, seq))
        run = runs[-1]
        run.times.append(exchange_ns)
        # The offset last: a reader takes len(offsets) as the run's extent.
        run.offsets.append(offset)

    def last_seq(self, topic: bytes, epoch: int) -> int:
        runs = self.index.get(topic, ())
        for run in reversed(runs):
            if run.epoch == epoch:
                return run.last
        return 0

    def read_payloads(self, offsets: list[int]) -> Iterator[tuple[bytes, bytes]]:
        """``(topic, payload)`` of the tick records at ``offsets`` (ascending), reading the
        file in windows so that neighbouring records cost one ``pread``."""
        window = b""
        window_at = 0
        for offset in offsets:
            rel = offset - window_at
            if rel < 0 or rel + HEADER.size > len(window):
                window, window_at, rel = os.pread(self.read_fd, READ_WINDOW, offset), offset, 0
            length, _crc = HEADER.unpack_from(window, rel)
            end = rel + HEADER.size + length
            if end > len(window):
                window = os.pread(self.read_fd, max(READ_WINDOW, HEADER.size + length), offset)
                window_at, rel, end = offset, 0, HEADER.size + length
            yield tick_payload(window[rel + HEADER.size : end])

    def close(self) -> None:
        if self.read_fd >= 0:
            os.close(self.read_fd)
            self.read_fd = -1

    def __del__(self) -> None:
        # A rolled-over day is closed when its last reader lets go of it.
        self.close()


@dataclass(slots=True)
class JournalStats:
    written: int = 0  # tick records this run wrote
    bytes: int = 0  # bytes this run appended
    overflow: int = 0  # ticks the hub could not hand over (the hand-off was full)
    lost: int = 0  # ticks handed over that could not be written (disk full, I/O error)
    holes: int = 0  # hole records written
    hole_ticks: int = 0  # ticks those holes stand for
    write_errors: int = 0
    torn_tails: int = 0  # torn tails cut when a file was opened
    torn_bytes: int = 0
    files: int = 0  # day files opened


class Journal:
    """The writer and the index of one hub run's journal directory (see the module docstring).

    ``start`` opens today's file and starts the writer; the hub appends to ``queue`` while
    ``len(queue) < capacity`` and adds 1 to ``stats.overflow`` otherwise; ``close`` drains
    the queue, records the holes at the end (``final_seqs``: the hub's last seq per topic)
    and stops the writer.
    """

    def __init__(
        self,
        directory: Path,
        *,
        capacity: int = DEFAULT_CAPACITY,
        is_trading_day: TradingDayRule = weekdays,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.capacity = capacity
        self.is_trading_day = is_trading_day
        self.clock = clock
        # The compiled framing when it is built (tests compare it with the Python one), and
        # then its hand-off: a ring the compiled hub core pushes to with a C call.
        self.compiled = _core is not None
        self.queue: Any = _core.HandOff(capacity) if self.compiled else deque()
        # The compiled index's runs per topic for ``_tails_day`` (``_core.add_entries``).
        self._tails: dict[bytes, Any] = {}
        self._tails_day: Day | None = None
        self.stats = JournalStats()
        self.epoch = self._next_epoch()
        self.day: Day | None = None
        self.failing = False
        # Committed last seq per topic in this epoch: a tick written after anything else
        # than last + 1 gets a hole record before it.
        self._last: dict[bytes, int] = {}
        self._fd = -1
        self._end = 0
        self._retry_at = 0.0
        self._roll_at = 0.0
        self._alert_at = -ALERT_INTERVAL
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Notified after every batch written: the recovery service waits on it for the
        # writer to reach a range the hub has published already.
        self.written = threading.Condition()

    # -- epochs and files --------------------------------------------------------------

    def _next_epoch(self) -> int:
        """The start time in ms, made larger than every epoch this directory has seen (a
        clock stepped back must not give a restarted hub an older epoch than its last)."""
        path = self.directory / "epoch"
        try:
            last = int(path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            last = 0
        epoch = max(self.clock() // 1_000_000, last + 1)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{epoch}\n")
        tmp.replace(path)
        return epoch

    def path_for(self, day: date) -> Path:
        return self.directory / f"{day.isoformat()}{SUFFIX}"

    def _open_day(self, day: date) -> None:
        path = self.path_for(day)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        loaded = load_day(day, path, fd)
        if loaded.torn:
            self.stats.torn_tails += 1
            self.stats.torn_bytes += loaded.torn
            os.ftruncate(fd, loaded.good_end)
            log.warning(
                "journal %s: cut a torn tail of %d bytes after its last whole record (offset %d): "
                "a hub stopped mid-write",
                path,
                loaded.torn,
                loaded.good_end,
            )
        previous, previous_fd = self.day, self._fd
        self._fd, self._end = fd, loaded.good_end
        record = epoch_record(self.epoch, self.clock())
        self._write(record)
        self._end += len(record)
        loaded.day.epochs.append(self.epoch)
        self.day = loaded.day
        self.stats.files += 1
        if previous is not None:
            # Its read descriptor stays open for readers still holding it (``Day.__del__``).
            os.close(previous_fd)
        log.info("journal %s open (epoch %d, %d bytes before this run)", path, self.epoch, loaded.good_end)

    def _maybe_roll(self, now: float) -> None:
        if now < self._roll_at:
            return
        self._roll_at = now + ROLL_CHECK_INTERVAL
        day = trading_day(self.clock(), self.is_trading_day)
        if self.day is None or day != self.day.day:
            self._open_day(day)

    # -- the writer thread ---------------------------------------------------------------

    def start(self) -> None:
        self._maybe_roll(time.monotonic())
        self._thread = threading.Thread(target=self._run, name="mdhub-journal", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # Not allowed or not Linux: the writer runs at the hub's priority.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)
        queue = self.queue
        while True:
            if not queue:
                if self._stop.is_set():
                    return
                time.sleep(IDLE_SLEEP)
                self._maybe_roll(time.monotonic())
                continue
            if isinstance(queue, deque):
                self.write_batch([queue.popleft() for _ in range(min(len(queue), WRITE_BATCH))])
            else:
                self.write_from(queue)

    def write_from(self, handoff: Any) -> None:
        """``write_batch`` of up to ``WRITE_BATCH`` ticks taken from the compiled hand-off."""
        now = time.monotonic()
        if self.failing and now < self._retry_at:
            self.stats.lost += handoff.drop(WRITE_BATCH)
            return
        self._maybe_roll(now)
        *framed, taken = _core.frame_from(handoff, WRITE_BATCH, self.epoch, self._last, self._end, self._fd)
        self._commit_compiled(tuple(framed), taken)

    def write_batch(self, items: list[Item]) -> None:
        """Frame ``items`` with the holes before them and append them (writer thread)."""
        now = time.monotonic()
        if self.failing and now < self._retry_at:
            self.stats.lost += len(items)
            return
        self._maybe_roll(now)
        day = self.day
        assert day is not None
        epoch = self.epoch
        last = self._last
        if _core is not None and self.compiled:
            # Framed and written in one stretch without the GIL (aggregation/_journal_core.pyx).
            self._commit_compiled(_core.frame_batch(items, epoch, last, self._end, self._fd), len(items))
            return
        data, entries, holes, new_last, at = self._frame(items)
        try:
            self._write(data)
        except OSError as exc:
            self._failed(exc, len(items))
            return
        self._end = at
        last.update(new_last)
        add = day.add
        for topic, seq, offset, exchange_ns in entries:
            add(topic, epoch, seq, offset, exchange_ns)
        self._committed(len(entries), len(data), holes)

    def _commit_compiled(self, framed: tuple[Any, ...], count: int) -> None:
        """After ``_core.frame_batch``/``frame_from`` wrote a batch: index it, or count it
        lost when the write failed."""
        _, size, err, done, entries, spans, new_last, at = framed
        if err:
            self._cut(done)
            self._failed(OSError(err, os.strerror(err)), count)
            return
        day = self.day
        assert day is not None
        epoch = self.epoch
        self._end = at
        self._last.update(new_last)
        if self._tails_day is not day:
            self._tails, self._tails_day = {}, day
        _core.add_entries(day.index, entries, epoch, Run, self._tails)
        self._committed(len(entries), size, [Hole(topic, epoch, lo, hi) for topic, lo, hi in spans])

    def _committed(self, written: int, size: int, holes: list[Hole]) -> None:
        """Count a written batch, record its holes, tell readers."""
        day = self.day
        assert day is not None
        stats = self.stats
        stats.written += written
        stats.bytes += size
        if holes:
            day.holes.extend(holes)
            missing = sum(h.to_seq - h.from_seq + 1 for h in holes)
            stats.holes += len(holes)
            stats.hole_ticks += missing
            self._alert_holes(holes, missing)
        if self.failing:
            self.failing = False
            log.warning(
                "journal %s: writing again; the ticks it could not write are recorded as holes",
                day.path,
            )
        with self.written:
            self.written.notify_all()

    def _frame(
        self, items: list[Item]
    ) -> tuple[bytes, list[tuple[bytes, int, int, int]], list[Hole], dict[bytes, int], int]:
        """The Python framing of a batch (``_journal_core.frame_batch``'s twin): the bytes,
        the index entries, the holes put before seq jumps, the last seq per topic, the end."""
        epoch = self.epoch
        last = self._last
        new_last: dict[bytes, int] = {}
        parts: list[bytes] = []
        entries: list[tuple[bytes, int, int, int]] = []
        holes: list[Hole] = []
        at = self._end
        for topic, key, seq, payload in items:
            prev = new_last.get(topic)
            if prev is None:
                prev = last.get(topic, 0)
            if seq != prev + 1:
                if seq <= prev:
                    continue  # cannot happen (the hub's seq only grows); never write it twice
                record = hole_record(topic, epoch, prev + 1, seq - 1)
                parts.append(record)
                holes.append(Hole(topic, epoch, prev + 1, seq - 1))
                at += len(record)
            exchange_ns = _from_bytes(key[:8], "big", signed=True)
            record = tick_record(topic, epoch, seq, exchange_ns, payload)
            parts.append(record)
            entries.append((topic, seq, at, exchange_ns))
            at += len(record)
            new_last[topic] = seq
        return b"".join(parts), entries, holes, new_last, at

    def _write(self, data: bytes) -> None:
        """Append all of ``data`` or nothing: a partial write (the disk filled up in the
        middle) is cut back off, so the file always ends with a whole record."""
        view = memoryview(data)
        done = 0
        try:
            while done < len(data):
                done += os.write(self._fd, view[done:])
        except OSError:
            self._cut(done)
            raise

    def _cut(self, done: int) -> None:
        """Cut the ``done`` bytes of a write that failed part-way back off the file."""
        if done:
            try:
                os.ftruncate(self._fd, self._end)
            except OSError:
                log.exception("journal: cannot cut a partial record off; the next open cuts it")

    def _failed(self, exc: OSError, count: int) -> None:
        self.stats.lost += count
        self.stats.write_errors += 1
        self._retry_at = time.monotonic() + RETRY_INTERVAL
        if not self.failing:
            self.failing = True
            path = self.day.path if self.day else self.directory
            log.error(
                "journal %s: cannot write (%s). Ticks keep flowing to clients; the journal has a "
                "hole from here until the disk takes writes again (free space under %s)",
                path,
                exc.strerror or exc,
                self.directory,
            )

    def _alert_holes(self, holes: list[Hole], missing: int) -> None:
        now = time.monotonic()
        if now - self._alert_at < ALERT_INTERVAL:
            return
        self._alert_at = now
        first = holes[0]
        log.error(
            "journal: %d ticks in %d holes were not journaled (first: %s epoch %d seq %d..%d): the "
            "disk was too slow or full; clients cannot fill gaps in these ranges",
            missing,
            len(holes),
            first.topic.decode(errors="replace"),
            first.epoch,
            first.from_seq,
            first.to_seq,
        )

    def close(self, final_seqs: dict[bytes, int] | None = None, timeout: float = 10.0) -> None:
        """Write what is queued, then a hole for every topic whose last ticks never reached
        the journal (``final_seqs``: the hub's last seq per topic), and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if final_seqs and self._fd >= 0 and self.day is not None:
            holes = [
                Hole(topic, self.epoch, self._last.get(topic, 0) + 1, seq)
                for topic, seq in final_seqs.items()
                if seq > self._last.get(topic, 0)
            ]
            if holes:
                data = b"".join(hole_record(h.topic, h.epoch, h.from_seq, h.to_seq) for h in holes)
                try:
                    self._write(data)
                except OSError as exc:
                    self._failed(exc, 0)
                else:
                    self._end += len(data)
                    self.day.holes.extend(holes)
                    self.stats.holes += len(holes)
                    self.stats.hole_ticks += sum(h.to_seq - h.from_seq + 1 for h in holes)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self.day is not None:
            self.day.close()

    def stats_dict(self) -> dict[str, int | bool]:
        out: dict[str, int | bool] = {name: getattr(self.stats, name) for name in JournalStats.__slots__}
        out["queued"] = len(self.queue)
        out["epoch"] = self.epoch
        out["failing"] = self.failing
        return out


@dataclass(slots=True)
class Loaded:
    day: Day
    good_end: int
    torn: int


def load_day(day: date, path: Path, fd: int) -> Loaded:
    """Read a day's file back (``fd`` open on it): its index and holes, and where its last
    whole record ends."""
    size = os.fstat(fd).st_size
    loaded = Day(day, path, read_fd=os.open(path, os.O_RDONLY))
    good_end = 0
    if size:
        with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as data:
            for offset, body in iter_bodies(data):
                kind = body[0]
                if kind == TICK:
                    end = 2 + body[1]
                    topic = body[2:end]
                    epoch, seq, exchange_ns = NUMS.unpack_from(body, end)
                    loaded.add(topic, epoch, seq, offset, exchange_ns)
                elif kind == HOLE:
                    end = 2 + body[1]
                    epoch, lo, hi = NUMS.unpack_from(body, end)
                    loaded.holes.append(Hole(body[2:end], epoch, lo, hi))
                elif kind == EPOCH:
                    loaded.epochs.append(_from_bytes(body[1:9], "big", signed=True))
                else:
                    break
                good_end = offset + HEADER.size + len(body)
    return Loaded(loaded, good_end, size - good_end)


def read_journal(path: Path) -> tuple[list[tuple[bytes, int, int, bytes]], list[Hole], int]:
    """Every tick ``(topic, epoch, seq, payload)`` and hole of a journal file, and its torn
    bytes (for tests and tools; the hub uses the index)."""
    result = scan(path.read_bytes())
    ticks = [(r.topic, r.epoch, r.seq, r.payload) for r in result.records if r.kind == TICK]
    holes = [Hole(r.topic, r.epoch, r.seq, r.to_seq) for r in result.records if r.kind == HOLE]
    return ticks, holes, result.torn_bytes


def open_journal(directory: Path | None, is_trading_day: TradingDayRule | None = None) -> Journal | None:
    """The hub's journal in ``directory`` (``MDHUB_JOURNAL_DIR``), or None when it is off;
    ``is_trading_day`` is the trading calendar's (holidays), weekdays without one."""
    if directory is None:
        return None
    return Journal(directory, is_trading_day=is_trading_day or weekdays)
