"""The journal's record framing (docs/journal.md). No Django import.

A journal file is a run of records, each ``u32 length + u32 crc32 + body`` (big-endian;
``crc32`` of the body, zlib's). The length and the CRC let a reader find where a hub killed
-9 mid-write stopped: a short header, a short body or a wrong CRC is a torn tail, and
everything from there on is cut (``scan`` says where the last whole record ends).

Bodies, by their first byte:

* ``T`` tick: ``u8 len(topic) + topic + i64 epoch + i64 seq + i64 exchange_ns + payload``
  (the payload exactly as published, so a fill is sent without re-encoding);
* ``H`` hole: ``u8 len(topic) + topic + i64 epoch + i64 from_seq + i64 to_seq``: ticks the
  hub forwarded that this journal does not hold (the disk was full or too slow);
* ``E`` epoch: ``i64 epoch + i64 wall_ns``: a hub run starts writing here.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

HEADER = struct.Struct(">II")
NUMS = struct.Struct(">qqq")
_EPOCH = struct.Struct(">qq")
TICK = 0x54  # "T"
HOLE = 0x48  # "H"
EPOCH = 0x45  # "E"
# A record longer than this is not one we wrote (a payload is < 1 KB): the length is torn.
MAX_RECORD = 1 << 20
SUFFIX = ".mdj"

_crc32 = zlib.crc32
_pack_header = HEADER.pack
_pack_nums = NUMS.pack


def frame(body: bytes) -> bytes:
    return _pack_header(len(body), _crc32(body)) + body


def tick_record(topic: bytes, epoch: int, seq: int, exchange_ns: int, payload: bytes) -> bytes:
    body = b"".join((b"T", bytes((len(topic),)), topic, _pack_nums(epoch, seq, exchange_ns), payload))
    return _pack_header(len(body), _crc32(body)) + body


def hole_record(topic: bytes, epoch: int, from_seq: int, to_seq: int) -> bytes:
    return frame(b"".join((b"H", bytes((len(topic),)), topic, _pack_nums(epoch, from_seq, to_seq))))


def epoch_record(epoch: int, wall_ns: int) -> bytes:
    return frame(b"E" + _EPOCH.pack(epoch, wall_ns))


@dataclass(frozen=True, slots=True)
class Record:
    """One decoded record; for a hole ``seq`` is ``from_seq`` and ``to_seq`` its end; for an
    epoch record ``exchange_ns`` is the wall clock when the run started."""

    offset: int
    kind: int
    topic: bytes
    epoch: int
    seq: int
    exchange_ns: int = 0
    to_seq: int = 0
    payload: bytes = b""


def decode(offset: int, body: bytes) -> Record:
    kind = body[0]
    if kind == EPOCH:
        epoch, wall_ns = _EPOCH.unpack_from(body, 1)
        return Record(offset, kind, b"", epoch, 0, wall_ns)
    end = 2 + body[1]
    topic = body[2:end]
    a, b, c = NUMS.unpack_from(body, end)
    if kind == TICK:
        return Record(offset, kind, topic, a, b, c, payload=body[end + NUMS.size :])
    if kind == HOLE:
        return Record(offset, kind, topic, a, b, to_seq=c)
    raise ValueError(f"unknown journal record kind {kind:#x}")


def tick_payload(body: bytes) -> tuple[bytes, bytes]:
    """``(topic, payload)`` of a tick record's body, without decoding the numbers."""
    end = 2 + body[1]
    return body[2:end], body[end + NUMS.size :]


@dataclass(slots=True)
class Scan:
    """What ``scan`` found: the records, where the last whole one ends, what was torn."""

    records: list[Record]
    good_end: int
    size: int

    @property
    def torn_bytes(self) -> int:
        return self.size - self.good_end


def iter_bodies(data: bytes | mmap.mmap, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """``(offset, body)`` of every whole record from ``start``; stops at the first torn one."""
    at = start
    size = len(data)
    while at + HEADER.size <= size:
        length, crc = HEADER.unpack_from(data, at)
        end = at + HEADER.size + length
        if length == 0 or length > MAX_RECORD or end > size:
            return
        body = bytes(data[at + HEADER.size : end])
        if _crc32(body) != crc:
            return
        yield at, body
        at = end


def scan(data: bytes) -> Scan:
    """Every whole record of a journal file's bytes, and where the whole ones end."""
    records: list[Record] = []
    good_end = 0
    for offset, body in iter_bodies(data):
        try:
            records.append(decode(offset, body))
        except (ValueError, IndexError, struct.error):
            # A body with a right CRC but that we cannot read: written by a newer hub?
            # Stop here like at a torn tail rather than guess at what follows.
            break
        good_end = offset + HEADER.size + len(body)
    return Scan(records, good_end, len(data))


def next_record_start(data: bytes | mmap.mmap, start: int = 0, stop: int | None = None) -> int | None:
    """The first offset in ``[start, stop)`` (``stop``: the end of ``data``) where a whole
    record begins, one ``iter_bodies`` would yield (its length in range, its CRC right), or
    None. A reader that finds a corrupt record with whole ones after it resumes there; a
    record running past the end of ``data`` is not whole, so a torn tail is never found."""
    size = len(data)
    last = size - HEADER.size if stop is None else min(size - HEADER.size, stop - 1)
    unpack = HEADER.unpack_from
    for at in range(start, last + 1):
        # The length alone rejects nearly every offset: only a plausible one costs a CRC.
        length = unpack(data, at)[0]
        if 0 < length <= MAX_RECORD and at + HEADER.size + length <= size:
            for _ in iter_bodies(data, at):
                return at
    return None
